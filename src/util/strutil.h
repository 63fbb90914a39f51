/* Small string helpers shared by proto and core. All are pure functions on byte ranges. */
#ifndef SPK_UTIL_STRUTIL_H
#define SPK_UTIL_STRUTIL_H

#include <stddef.h>
#include <stdint.h>

/* ASCII case-insensitive equality of a[0..alen) and b[0..blen). */
int spk__strieq(const char *a, size_t alen, const char *b, size_t blen);
static inline char spk__tolower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c; }
/* RFC 9110 tchar. */
int spk__is_tchar(unsigned char c);
/* Percent-decode src[0..len) into dst (may equal src); '+' becomes ' ' when plus_as_space.
 * Invalid escapes are kept literally. Returns the decoded length; dst gets no NUL. */
size_t spk__pct_decode(char *dst, const char *src, size_t len, int plus_as_space);
/* Parse a whole string as a base-10 int64 (optional sign). 0, SPK_EINVAL or SPK_ERANGE. */
int spk__parse_i64(const char *s, size_t len, int64_t *out);
/* Parse a whole string as a finite double. 0 or SPK_EINVAL. */
int spk__parse_double(const char *s, size_t len, double *out);
/* Well-formed UTF-8 (no overlongs, surrogates or code points above U+10FFFF). */
int spk__utf8_valid(const char *s, size_t len);
/* Trim optional whitespace (SP / HTAB) on both sides. */
void spk__trim_ows(const char **s, size_t *len);

#endif
