/* application/x-www-form-urlencoded bodies into a JSON DOM (strings only: typing is the
 * schema-guided coercion's job in core, exactly as for query parameters).
 *
 *   a=1&b=&a=2          → {"a":["1","2"],"b":""}     (repeated keys become arrays, order kept)
 *   tags[]=x&tags[]=y   → {"tags":["x","y"]}
 *   user[name]=A&user[address][city]=B → {"user":{"name":"A","address":{"city":"B"}}}
 *   items[0]=a&items[1]=b → {"items":["a","b"]}      (indexes must be dense from 0)
 * '+' is a space, percent-escapes are decoded (invalid escapes kept literally), empty values
 * kept, a key without '=' has value "". Percent-decoded bytes that are not valid UTF-8 are an
 * error. */
#ifndef SPK_PROTO_FORM_H
#define SPK_PROTO_FORM_H

#include "proto/json.h"

typedef struct spk_form_limits {
  size_t max_fields; /* 0 → 1000 */
  size_t max_depth;  /* bracket nesting; 0 → 32 */
} spk_form_limits_t;

/* Returns 0, SPK_EPROTO with a message in errbuf (the text after "Failed to parse URL-encoded
 * form data: ", e.g. "missing index, expected: 1 got 2"), SPK_ERANGE (limits) or SPK_ENOMEM. */
int spk_form_parse(spk__arena_t *arena, const char *body, size_t len,
                   const spk_form_limits_t *limits, spk_json_value_t **out, char *errbuf,
                   size_t errbuf_len);

#endif
