/* Media types (RFC 9110 §8.3.1): "type/subtype; param=value; param="quoted"". */
#ifndef SPK_PROTO_MEDIATYPE_H
#define SPK_PROTO_MEDIATYPE_H

#include <stddef.h>

#include "spikard/common.h"

#define SPK_MEDIATYPE_MAX_PARAMS 8

typedef struct spk_media_param {
  spk_str_t name;  /* slice of the input; compare case-insensitively */
  spk_str_t value; /* slice, quotes removed; for quoted-pairs see `value_escaped` */
  int value_escaped; /* the quoted value contained backslash escapes (unescape before use) */
} spk_media_param_t;

typedef struct spk_media_type {
  spk_str_t type;    /* "application" (slice; compare case-insensitively) */
  spk_str_t subtype; /* "json", "problem+json", "x-www-form-urlencoded" */
  spk_media_param_t params[SPK_MEDIATYPE_MAX_PARAMS];
  size_t param_count;
} spk_media_type_t;

/* Parse a Content-Type value. SPK_EINVAL when it is not token "/" token *( OWS ";" OWS
 * parameter ), e.g. a token without "/", spaces inside tokens, non-ASCII bytes, more than
 * SPK_MEDIATYPE_MAX_PARAMS parameters. */
int spk_media_type_parse(const char *s, size_t len, spk_media_type_t *out);

/* First parameter by (case-insensitive) name, or SPK_ENOENT. */
int spk_media_type_param(const spk_media_type_t *mt, const char *name, spk_str_t *value);

/* Remove the quoted-pair backslashes of a parameter value with `value_escaped` set:
 * dst receives at most len bytes (dst may equal src). Returns the unescaped length. */
size_t spk_media_param_unescape(char *dst, const char *src, size_t len);

/* application/json or any type with a "+json" suffix, e.g. application/vnd.api+json
 * (case-insensitive). */
int spk_media_type_is_json(const spk_media_type_t *mt);
/* Case-insensitive type and subtype equality. */
int spk_media_type_is(const spk_media_type_t *mt, const char *type, const char *subtype);

#endif
