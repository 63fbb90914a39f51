/* proto/fileserve: path normalization, content types, HTTP dates, ranges, ETag lists. */
#include "proto/fileserve.h"
#include "test.h"

static int path_rc(const char *raw, char *out, int *dir) {
  size_t n;
  return spk_fs_path(raw, strlen(raw), out, 256, &n, dir);
}

static void test_path_ok(void) {
  static const struct {
    const char *raw, *rel;
    int dir;
  } ok[] = {
      {"", "", 1},
      {"/", "", 1},
      {"/a.txt", "a.txt", 0},
      {"/css/theme/dark.css", "css/theme/dark.css", 0},
      {"/css/", "css", 1},
      {"/a%20b.txt", "a b.txt", 0},
      {"/%252e%252e/x", "%2e%2e/x", 0}, /* decoded once: a literal name, not ".." */
      {"/...", "...", 0},               /* three dots is a name */
      {"/.hidden", ".hidden", 0},
      {"/a%zz", "a%zz", 0},             /* an invalid escape stays literal */
      {"/caf%C3%A9", "caf\xc3\xa9", 0},
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    char out[256];
    int dir = -1;
    CHECK_INT(path_rc(ok[i].raw, out, &dir), SPK_OK);
    CHECK_STR(out, ok[i].rel);
    CHECK_INT(dir, ok[i].dir);
  }
}

static void test_path_refused(void) {
  static const char *const bad[] = {
      "/..",          "/../etc/passwd", "/a/../../b",   "/%2e%2e/x",   "/%2E%2E/x",
      "/.%2e/x",      "/..%2fetc",      "/a%2fb",       "/a%2Fb",      "/a%00b",
      "/a\\b",        "/a%5cb",         "/a//b",        "//a",         "/./a",
      "/a/.",         "/%2e/a",         "relative",     "/a/..",       "/a/%2e%2e/",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char out[256];
    int dir;
    int rc = path_rc(bad[i], out, &dir);
    if (rc != SPK_EINVAL) fprintf(stderr, "  accepted: %s\n", bad[i]);
    CHECK_INT(rc, SPK_EINVAL);
  }
  char small[4];
  size_t n;
  int dir;
  CHECK_INT(spk_fs_path("/abcdef", 7, small, sizeof(small), &n, &dir), SPK_ERANGE);
  /* A NUL byte in the raw bytes is refused as well. */
  CHECK_INT(spk_fs_path("/a\0b", 4, small, sizeof(small), &n, &dir), SPK_EINVAL);
}

static void test_content_type(void) {
  CHECK_STR(spk_fs_content_type("hello.txt", 9), "text/plain");
  CHECK_STR(spk_fs_content_type("index.HTML", 10), "text/html");
  CHECK_STR(spk_fs_content_type("a/b/site.css", 12), "text/css");
  CHECK_STR(spk_fs_content_type("app.mjs", 7), "text/javascript");
  CHECK_STR(spk_fs_content_type("data.json", 9), "application/json");
  CHECK_STR(spk_fs_content_type("f.woff2", 7), "font/woff2");
  CHECK_STR(spk_fs_content_type("README", 6), "application/octet-stream");
  CHECK_STR(spk_fs_content_type("dir.d/file", 10), "application/octet-stream");
  CHECK_STR(spk_fs_content_type("x.unknownext", 12), "application/octet-stream");
}

static void test_dates(void) {
  char d[30];
  spk_http_date_format(784111777, d);
  CHECK_STR(d, "Sun, 06 Nov 1994 08:49:37 GMT");
  spk_http_date_format(0, d);
  CHECK_STR(d, "Thu, 01 Jan 1970 00:00:00 GMT");
  spk_http_date_format(951782400, d); /* leap day 2000 */
  CHECK_STR(d, "Tue, 29 Feb 2000 00:00:00 GMT");
  int64_t t = 0;
  CHECK_INT(spk_http_date_parse("Sun, 06 Nov 1994 08:49:37 GMT", 29, &t), SPK_OK);
  CHECK_INT(t, 784111777);
  const char *rfc850 = "Sunday, 06-Nov-94 08:49:37 GMT";
  CHECK_INT(spk_http_date_parse(rfc850, strlen(rfc850), &t), SPK_OK);
  CHECK_INT(t, 784111777);
  const char *asc = "Sun Nov  6 08:49:37 1994";
  CHECK_INT(spk_http_date_parse(asc, strlen(asc), &t), SPK_OK);
  CHECK_INT(t, 784111777);
  static const char *const bad[] = {"", "garbage", "Sun, 06 Nov 1994 08:49:37 UTC",
                                    "Sun, 6 Nov 1994 08:49:37 GMT", "Sun, 06 Foo 1994 08:49:37 GMT",
                                    "Sun, 06 Nov 1994 25:49:37 GMT", "Sun, 06 Nov 1994 08:49:37 GMT ",
                                    "Sun, 06 Nov 1969 08:49:37 GMT", "1994-11-06T08:49:37Z"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    CHECK_INT(spk_http_date_parse(bad[i], strlen(bad[i]), &t), SPK_EINVAL);
  /* Round trip over a range of times. */
  for (int64_t x = 0; x < 4000000000LL; x += 12345679) {
    spk_http_date_format(x, d);
    CHECK_INT(spk_http_date_parse(d, 29, &t), SPK_OK);
    if (t != x) {
      CHECK_INT(t, x);
      break;
    }
  }
}

static int range(const char *s, uint64_t size, uint64_t *a, uint64_t *b) {
  *a = *b = 999999;
  return spk_range_parse(s, strlen(s), size, a, b);
}

static void test_ranges(void) {
  uint64_t a, b;
  CHECK_INT(range("bytes=0-4", 10, &a, &b), SPK_RANGE_OK);
  CHECK_INT(a, 0);
  CHECK_INT(b, 4);
  CHECK_INT(range("bytes=5-", 10, &a, &b), SPK_RANGE_OK);
  CHECK_INT(a, 5);
  CHECK_INT(b, 9);
  CHECK_INT(range("bytes=-3", 10, &a, &b), SPK_RANGE_OK);
  CHECK_INT(a, 7);
  CHECK_INT(b, 9);
  CHECK_INT(range("bytes=-30", 10, &a, &b), SPK_RANGE_OK); /* longer suffix: whole file */
  CHECK_INT(a, 0);
  CHECK_INT(b, 9);
  CHECK_INT(range("bytes=8-100", 10, &a, &b), SPK_RANGE_OK); /* last clamped */
  CHECK_INT(b, 9);
  CHECK_INT(range("BYTES=0-0", 10, &a, &b), SPK_RANGE_OK);
  CHECK_INT(range("bytes= 1-2 ", 10, &a, &b), SPK_RANGE_OK);
  CHECK_INT(range("bytes=10-", 10, &a, &b), SPK_RANGE_UNSAT);
  CHECK_INT(range("bytes=20-30", 10, &a, &b), SPK_RANGE_UNSAT);
  CHECK_INT(range("bytes=-0", 10, &a, &b), SPK_RANGE_UNSAT);
  CHECK_INT(range("bytes=0-", 0, &a, &b), SPK_RANGE_UNSAT);
  CHECK_INT(range("bytes=-5", 0, &a, &b), SPK_RANGE_UNSAT);
  CHECK_INT(range("bytes=0-1,5-6", 10, &a, &b), SPK_RANGE_MULTI);
  CHECK_INT(range("bytes=20-30,2-3", 10, &a, &b), SPK_RANGE_MULTI);
  CHECK_INT(range("bytes=20-30,40-50", 10, &a, &b), SPK_RANGE_UNSAT);
  static const char *const ignored[] = {"items=0-1", "bytes=", "bytes=5-2", "bytes=a-b",
                                        "bytes=-",   "bytes=1", "bytes=0-1;x",
                                        "bytes=99999999999999999999-"};
  for (size_t i = 0; i < sizeof(ignored) / sizeof(ignored[0]); i++)
    CHECK_INT(range(ignored[i], 10, &a, &b), SPK_RANGE_IGNORE);
}

static void test_etags(void) {
  const char *e = "\"abc\"";
  CHECK(spk_etag_match("\"abc\"", 5, e, 5, 1));
  CHECK(spk_etag_match("\"x\", \"abc\"", 10, e, 5, 1));
  CHECK(spk_etag_match("W/\"abc\"", 7, e, 5, 1));  /* weak comparison */
  CHECK(!spk_etag_match("W/\"abc\"", 7, e, 5, 0)); /* strong comparison */
  CHECK(spk_etag_match("*", 1, e, 5, 0));
  CHECK(!spk_etag_match("\"abcd\"", 6, e, 5, 1));
  CHECK(!spk_etag_match("abc", 3, e, 5, 1));
  CHECK(!spk_etag_match("\"abc", 4, e, 5, 1));
  CHECK(!spk_etag_match("", 0, e, 5, 1));
}


int main(void) {
  RUN(test_path_ok);
  RUN(test_path_refused);
  RUN(test_content_type);
  RUN(test_dates);
  RUN(test_ranges);
  RUN(test_etags);
  return test_report("fileserve");
}
