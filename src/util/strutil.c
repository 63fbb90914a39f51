#include "util/strutil.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "spikard/common.h"

int spk__strieq(const char *a, size_t alen, const char *b, size_t blen) {
  if (alen != blen) return 0;
  for (size_t i = 0; i < alen; i++)
    if (spk__tolower(a[i]) != spk__tolower(b[i])) return 0;
  return 1;
}

int spk__is_tchar(unsigned char c) {
  /* tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" /
   *         "~" / DIGIT / ALPHA */
  if ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')) return 1;
  return c && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

size_t spk__pct_decode(char *dst, const char *src, size_t len, int plus_as_space) {
  size_t o = 0;
  for (size_t i = 0; i < len; i++) {
    char c = src[i];
    if (c == '%' && i + 2 < len) {
      int h = hexval(src[i + 1]), l = hexval(src[i + 2]);
      if (h >= 0 && l >= 0) {
        dst[o++] = (char)(h * 16 + l);
        i += 2;
        continue;
      }
    }
    dst[o++] = (plus_as_space && c == '+') ? ' ' : c;
  }
  return o;
}

int spk__parse_i64(const char *s, size_t len, int64_t *out) {
  size_t i = 0;
  int neg = 0;
  if (i < len && (s[i] == '-' || s[i] == '+')) neg = s[i++] == '-';
  if (i == len) return SPK_EINVAL;
  uint64_t v = 0;
  uint64_t limit = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
  for (; i < len; i++) {
    if (s[i] < '0' || s[i] > '9') return SPK_EINVAL;
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (limit - d) / 10) return SPK_ERANGE;
    v = v * 10 + d;
  }
  *out = neg ? (int64_t)(0 - v) : (int64_t)v;
  return SPK_OK;
}

int spk__parse_double(const char *s, size_t len, double *out) {
  char tmp[64];
  if (len == 0 || len >= sizeof(tmp)) return SPK_EINVAL;
  for (size_t i = 0; i < len; i++) {
    char c = s[i];
    if (!((c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'))
      return SPK_EINVAL;
  }
  memcpy(tmp, s, len);
  tmp[len] = '\0';
  char *end;
  errno = 0;
  double v = strtod(tmp, &end);
  if (end != tmp + len || !isfinite(v)) return SPK_EINVAL;
  *out = v;
  return SPK_OK;
}

void spk__trim_ows(const char **s, size_t *len) {
  const char *p = *s;
  size_t n = *len;
  while (n && (p[0] == ' ' || p[0] == '\t')) p++, n--;
  while (n && (p[n - 1] == ' ' || p[n - 1] == '\t')) n--;
  *s = p;
  *len = n;
}

int spk__utf8_valid(const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  while (p < end) {
    unsigned c = *p;
    if (c < 0x80) {
      p++;
      continue;
    }
    size_t n;
    unsigned min;
    if ((c & 0xe0) == 0xc0) n = 1, min = 0x80, c &= 0x1f;
    else if ((c & 0xf0) == 0xe0) n = 2, min = 0x800, c &= 0x0f;
    else if ((c & 0xf8) == 0xf0) n = 3, min = 0x10000, c &= 0x07;
    else return 0;
    if ((size_t)(end - p) <= n) return 0;
    for (size_t i = 1; i <= n; i++) {
      if ((p[i] & 0xc0) != 0x80) return 0;
      c = (c << 6) | (p[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) return 0;
    p += n + 1;
  }
  return 1;
}
