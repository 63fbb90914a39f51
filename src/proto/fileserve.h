/* Pure helpers for serving files (RFC 9110): request-path → relative file path, the content
 * type table, HTTP dates, byte ranges and entity-tag lists (Accept-Encoding: proto/compress.h).
 * No I/O, no globals: every function works on (ptr, len) and is fuzzable. */
#ifndef SPK_PROTO_FILESERVE_H
#define SPK_PROTO_FILESERVE_H

#include <stddef.h>
#include <stdint.h>

#include "spikard/common.h"

/* The raw (still percent-encoded) part of a request path below a mount prefix — "" or
 * "/a/b.txt" — to a relative path "a/b.txt" (NUL-terminated in out, cap >= len + 1).
 * Each segment is percent-decoded exactly once, so "%252e%252e" stays the literal name
 * "%2e%2e". Refused with SPK_EINVAL: a decoded segment that is "." or "..", or contains
 * '/', '\\' or NUL (so "%2e%2e", "..%2f", "%00" cannot reach the file system), and an empty
 * segment other than the last ("a//b"). SPK_ERANGE when it does not fit. `*dir` is set when
 * the path is empty or ends with '/' (a directory was asked for). */
int spk_fs_path(const char *raw, size_t len, char *out, size_t cap, size_t *out_len, int *dir);

/* Content-Type for a file name by its extension (case-insensitive), without charset
 * parameters (the reference serves "text/plain", "text/html"); "application/octet-stream"
 * for an unknown one. */
const char *spk_fs_content_type(const char *name, size_t len);

/* IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT"): 29 chars + NUL into out[30]. Years outside
 * 1970..9999 are clamped. */
void spk_http_date_format(int64_t unix_sec, char out[30]);
/* Parse an HTTP-date (IMF-fixdate, obsolete RFC 850 and asctime forms, RFC 9110 §5.6.7).
 * 0 or SPK_EINVAL. */
int spk_http_date_parse(const char *s, size_t len, int64_t *unix_sec);

/* A Range header against a representation of `size` bytes (RFC 9110 §14.2). */
enum {
  SPK_RANGE_IGNORE = 0, /* not a bytes range we serve (syntax error, other unit): send 200 */
  SPK_RANGE_OK = 1,     /* one satisfiable range: [*first, *last] inclusive */
  SPK_RANGE_UNSAT = 2,  /* no range satisfiable: 416 with Content-Range: bytes * /size */
  SPK_RANGE_MULTI = 3   /* several ranges: we send the whole representation (200) */
};
int spk_range_parse(const char *s, size_t len, uint64_t size, uint64_t *first, uint64_t *last);

/* Whether an If-None-Match / If-Match field value matches `etag` (quoted, possibly W/): "*"
 * matches anything. `weak` selects the weak comparison (If-None-Match) instead of the strong
 * one (If-Match, If-Range: a W/ tag never matches). */
int spk_etag_match(const char *list, size_t len, const char *etag, size_t etag_len, int weak);


#endif
