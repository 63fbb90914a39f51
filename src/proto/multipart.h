/* multipart/form-data (RFC 7578) parser: an incremental state machine fed with any split of
 * the body, reporting parts through callbacks, plus a whole-body convenience that collects
 * parts into an arena. */
#ifndef SPK_PROTO_MULTIPART_H
#define SPK_PROTO_MULTIPART_H

#include <stddef.h>

#include "spikard/common.h"
#include "util/arena.h"

typedef struct spk_multipart_limits {
  size_t max_parts;        /* 0 → 1000 */
  size_t max_part_headers; /* bytes of one part's header block; 0 → 16384 */
  size_t max_boundary;     /* 0 → 200 (RFC 2046 allows 70; be lenient but bounded) */
} spk_multipart_limits_t;

typedef struct spk_multipart_header {
  spk_str_t name;  /* as sent (compare case-insensitively) */
  spk_str_t value; /* OWS-trimmed, raw (quotes and escapes kept); obs-folds become spaces */
} spk_multipart_header_t;

/* Lifetime: in on_part_begin, every slice (and `headers`) points into the parser's own buffers,
 * valid only for the duration of the callback (they are reused by the next part): copy what you
 * keep. spk_multipart_parse hands out arena copies (NUL-terminated) instead. */
typedef struct spk_multipart_part_info {
  spk_str_t name;         /* form field name from Content-Disposition (decoded quotes) */
  spk_str_t filename;     /* ptr NULL when the part is not a file */
  spk_str_t content_type; /* len 0 when absent */
  /* Additions: every header line of the part, in order (Content-Disposition and Content-Type
   * included). `filename` prefers a valid RFC 8187 filename*=UTF-8''... over filename=. */
  const spk_multipart_header_t *headers;
  size_t header_count;
} spk_multipart_part_info_t;

typedef struct spk_multipart_callbacks {
  /* Each returns 0 to continue or a negative SPK_E* code to stop the parse with that code. */
  int (*on_part_begin)(void *ud, const spk_multipart_part_info_t *info);
  int (*on_part_data)(void *ud, const char *data, size_t len);
  int (*on_part_end)(void *ud);
} spk_multipart_callbacks_t;

typedef struct spk_multipart_parser spk_multipart_parser_t;

/* Boundary from a Content-Type's parameter (already extracted) — validated (1..max chars,
 * RFC 2046 bchars). The parser keeps its own copy. */
spk_multipart_parser_t *spk_multipart_parser_new(spk__arena_t *arena, const char *boundary,
                                                 size_t boundary_len,
                                                 const spk_multipart_limits_t *limits,
                                                 const spk_multipart_callbacks_t *cb, void *ud);
/* Feed the next bytes. Returns 0 (continue), 1 (the closing delimiter was seen; trailing
 * epilogue ignored), or an error: SPK_EPROTO (malformed, *errmsg set to a static text such as
 * "missing Content-Disposition", "unexpected end of data"), SPK_ERANGE (limits). */
int spk_multipart_feed(spk_multipart_parser_t *p, const char *data, size_t len,
                       const char **errmsg);
/* End of input: 0 when the body was complete, SPK_EPROTO otherwise. */
int spk_multipart_finish(spk_multipart_parser_t *p, const char **errmsg);

typedef struct spk_multipart_part {
  spk_multipart_part_info_t info;
  spk_str_t data; /* contiguous copy in the arena */
} spk_multipart_part_t;

/* Whole body at once. */
int spk_multipart_parse(spk__arena_t *arena, const char *body, size_t len, const char *boundary,
                        size_t boundary_len, const spk_multipart_limits_t *limits,
                        spk_multipart_part_t **parts, size_t *count, const char **errmsg);

#endif
