/* libFuzzer target: proto/fileserve — request path → relative file path, Range, HTTP dates,
 * ETag lists.
 *
 * The input is used whole by every parser. Checks: spk_fs_path's result never contains a "."
 * or ".." segment, a backslash, an empty segment or a NUL, and is no longer than the input;
 * a Range accepted as OK lies inside the representation; a parsed date formats and parses
 * back to itself (when in the IMF range); q-values stay in 0..1000. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/fileserve.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)     \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static void check_rel(const char *rel, size_t n) {
  REQUIRE(strlen(rel) == n);
  size_t start = 0;
  for (size_t i = 0; i <= n; i++) {
    if (i < n && rel[i] != '/') {
      REQUIRE(rel[i] != '\\');
      continue;
    }
    size_t seg = i - start;
    if (n) REQUIRE(seg > 0);
    REQUIRE(!(seg == 1 && rel[start] == '.'));
    REQUIRE(!(seg == 2 && rel[start] == '.' && rel[start + 1] == '.'));
    start = i + 1;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  char *out = malloc(size + 1);
  REQUIRE(out);
  size_t n = 0;
  int dir = 0;
  if (spk_fs_path(s, size, out, size + 1, &n, &dir) == SPK_OK) {
    REQUIRE(n <= size);
    check_rel(out, n);
  }
  free(out);

  uint64_t sizes[] = {0, 1, 13, 1u << 20, UINT64_MAX};
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    uint64_t a = 0, b = 0;
    int r = spk_range_parse(s, size, sizes[i], &a, &b);
    REQUIRE(r >= SPK_RANGE_IGNORE && r <= SPK_RANGE_MULTI);
    if (r == SPK_RANGE_OK || r == SPK_RANGE_MULTI) REQUIRE(a <= b && b < sizes[i]);
  }

  int64_t t;
  if (spk_http_date_parse(s, size, &t) == SPK_OK && t >= 0 && t <= 253402300799) {
    char d[30];
    int64_t t2;
    spk_http_date_format(t, d);
    REQUIRE(spk_http_date_parse(d, 29, &t2) == SPK_OK && t2 == t);
  }

  (void)spk_etag_match(s, size, "\"abc\"", 5, 1);
  (void)spk_etag_match(s, size, "W/\"abc\"", 7, 0);
  (void)spk_fs_content_type(s, size);
  return 0;
}
