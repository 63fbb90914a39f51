/* Middleware static_files through the in-memory test client: traversal table (openat2 and
 * the realpath fallback), symlinks in and out of the root, index files, redirects,
 * conditional requests, ranges, precompressed siblings, large (streamed) files, config
 * errors. Every test builds its tree under a fresh temporary directory. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/app_internal.h"
#include "spikard.h"
#include "test.h"

static char tmp[64];
static char root[128];

static void put(const char *rel, const char *data, size_t len) {
  char p[512];
  snprintf(p, sizeof(p), "%s/%s", tmp, rel);
  FILE *f = fopen(p, "wb");
  if (!f) {
    perror(p);
    return;
  }
  fwrite(data, 1, len, f);
  fclose(f);
}

static void put_s(const char *rel, const char *s) { put(rel, s, strlen(s)); }

static void mk(const char *rel) {
  char p[512];
  snprintf(p, sizeof(p), "%s/%s", tmp, rel);
  mkdir(p, 0755);
}

static void set_mtime(const char *rel, time_t t) {
  char p[512];
  snprintf(p, sizeof(p), "%s/%s", tmp, rel);
  struct timeval tv[2] = {{t, 0}, {t, 0}};
  utimes(p, tv);
}

/* tmp/
 *   secret.txt              outside the root
 *   public/                 the root
 *     hello.txt, index.html, big.bin (3 MB), app.js (+ .br .gz .zst), old.css (+ stale .gz)
 *     sub/index.html, sub/page.txt, empty/, %2e%2e (a file literally named so)
 *     in -> hello.txt, indir -> sub, out -> ../secret.txt, abs -> /etc/hostname,
 *     outdir -> .. */
static void build_tree(void) {
  snprintf(tmp, sizeof(tmp), "/tmp/spk-test-static-XXXXXX");
  if (!mkdtemp(tmp)) {
    perror("mkdtemp");
    exit(1);
  }
  snprintf(root, sizeof(root), "%s/public", tmp);
  mk("public");
  mk("public/sub");
  mk("public/empty");
  put_s("secret.txt", "TOP SECRET");
  put_s("public/hello.txt", "Hello, world!");
  put_s("public/index.html", "<h1>root</h1>");
  put_s("public/sub/index.html", "<h1>sub</h1>");
  put_s("public/sub/page.txt", "page");
  put_s("public/%2e%2e", "literal name");
  put_s("public/app.js", "console.log('identity');");
  put_s("public/app.js.br", "BR-BYTES");
  put_s("public/app.js.gz", "GZ-BYTES");
  put_s("public/app.js.zst", "ZSTD-BYTES");
  put_s("public/old.css", "body{}");
  put_s("public/old.css.gz", "STALE-GZ");
  set_mtime("public/old.css.gz", 1000000);
  set_mtime("public/old.css", 2000000);
  set_mtime("public/hello.txt", 784111777);
  size_t big = 3 * 1024 * 1024 + 17;
  char *b = malloc(big);
  for (size_t i = 0; i < big; i++) b[i] = (char)('a' + (i * 7 + i / 4096) % 26);
  put("public/big.bin", b, big);
  free(b);
  char p[512];
  snprintf(p, sizeof(p), "%s/public/in", tmp);
  CHECK_INT(symlink("hello.txt", p), 0);
  snprintf(p, sizeof(p), "%s/public/indir", tmp);
  CHECK_INT(symlink("sub", p), 0);
  snprintf(p, sizeof(p), "%s/public/out", tmp);
  CHECK_INT(symlink("../secret.txt", p), 0);
  snprintf(p, sizeof(p), "%s/public/abs", tmp);
  CHECK_INT(symlink("/etc/hostname", p), 0);
  snprintf(p, sizeof(p), "%s/public/outdir", tmp);
  CHECK_INT(symlink("..", p), 0);
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

static spk_app_t *app_with(const char *extra, int fallback) {
  spk_app_t *app = spk_app_new();
  char cfg[1024];
  snprintf(cfg, sizeof(cfg),
           "{\"static_files\": [{\"directory\": \"%s\", \"route_prefix\": \"/static\", "
           "\"cache_control\": \"public, max-age=60\"%s}]}",
           root, extra ? extra : "");
  int rc = spk_app_configure(app, cfg);
  CHECK_INT(rc, SPK_OK);
  if (rc) fprintf(stderr, "  %s\n", spk_app_last_error(app));
  spk__mw_static_force_fallback(app->mw.statics, fallback);
  return app;
}

static int get(spk_app_t *app, const char *method, const char *target, const char *h1,
               const char *v1, const char *h2, const char *v2, spk_test_response_t *out) {
  spk_test_client_t *c = spk_test_client_new(app);
  spk_test_header_t hs[2] = {{h1, v1}, {h2, v2}};
  spk_test_request_t req = {.method = method, .target = target, .headers = hs,
                            .header_count = h2 ? 2 : h1 ? 1 : 0};
  int rc = spk_test_client_send(c, &req, out);
  spk_test_client_free(c);
  return rc == SPK_OK ? out->status : -1;
}

static int status_of(spk_app_t *app, const char *target) {
  spk_test_response_t r;
  int s = get(app, "GET", target, NULL, NULL, NULL, NULL, &r);
  spk_test_response_free(&r);
  return s;
}

static void traversal_table(int fallback) {
  spk_app_t *app = app_with(NULL, fallback);
  static const struct {
    const char *target;
    int status;
  } cases[] = {
      {"/static/hello.txt", 200},
      {"/static/%68ello.txt", 200},        /* an encoded ordinary letter */
      {"/static/../secret.txt", 404},
      {"/static/%2e%2e/secret.txt", 404},
      {"/static/%2E%2E/secret.txt", 404},
      {"/static/.%2e/secret.txt", 404},
      {"/static/..%2fsecret.txt", 404},
      {"/static/..%2Fsecret.txt", 404},
      {"/static/%252e%252e/secret.txt", 404}, /* no double decoding */
      {"/static/%252e%252e", 200},            /* ... it names the literal file "%2e%2e" */
      {"/static/sub/../../secret.txt", 404},
      {"/static/sub%2f..%2f..%2fsecret.txt", 404},
      {"/static/hello.txt%00.png", 404},
      {"/static/..%5csecret.txt", 404},
      {"/static/sub\\..\\..\\secret.txt", 404},
      {"/static//hello.txt", 404},
      {"/static/./hello.txt", 404},
      {"/static/out", 404},           /* symlink to ../secret.txt */
      {"/static/abs", 404},           /* symlink to /etc/hostname */
      {"/static/outdir/secret.txt", 404}, /* through a symlinked ".." */
      {"/static/in", 200},            /* symlink inside the root */
      {"/static/indir/page.txt", 200},
      {"/static/missing.txt", 404},
      {"/static/hello.txt/", 404},    /* a file is not a directory */
      {"/staticx/hello.txt", 404},    /* the prefix ends at a segment */
      {"/other/hello.txt", 404},
      {"/static/empty/", 404},        /* a directory without index.html */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    int s = status_of(app, cases[i].target);
    if (s != cases[i].status)
      fprintf(stderr, "  %s %s: %d, expected %d\n", fallback ? "fallback" : "openat2",
              cases[i].target, s, cases[i].status);
    CHECK_INT(s, cases[i].status);
  }
  spk_test_response_t r;
  CHECK_INT(get(app, "GET", "/static/in", NULL, NULL, NULL, NULL, &r), 200);
  CHECK_MEM(r.body, r.body_len, "Hello, world!");
  spk_test_response_free(&r);
  spk_app_free(app);
}

static void test_traversal_openat2(void) { traversal_table(0); }
static void test_traversal_fallback(void) { traversal_table(1); }

static void test_basic_headers(void) {
  spk_app_t *app = app_with(NULL, 0);
  spk_test_response_t r;
  CHECK_INT(get(app, "GET", "/static/hello.txt", NULL, NULL, NULL, NULL, &r), 200);
  CHECK_MEM(r.body, r.body_len, "Hello, world!");
  CHECK_STR(spk_test_response_header(&r, "content-type"), "text/plain");
  CHECK_STR(spk_test_response_header(&r, "cache-control"), "public, max-age=60");
  CHECK_STR(spk_test_response_header(&r, "last-modified"), "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK_STR(spk_test_response_header(&r, "accept-ranges"), "bytes");
  CHECK_STR(spk_test_response_header(&r, "content-length"), "13");
  const char *etag = spk_test_response_header(&r, "etag");
  CHECK(etag && etag[0] == '"' && etag[strlen(etag) - 1] == '"');
  CHECK(spk_test_response_header(&r, "vary") == NULL);
  spk_test_response_free(&r);
  /* Index files, and the directory redirect. */
  CHECK_INT(get(app, "GET", "/static/", NULL, NULL, NULL, NULL, &r), 200);
  CHECK_MEM(r.body, r.body_len, "<h1>root</h1>");
  CHECK_STR(spk_test_response_header(&r, "content-type"), "text/html");
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/sub/", NULL, NULL, NULL, NULL, &r), 200);
  CHECK_MEM(r.body, r.body_len, "<h1>sub</h1>");
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/sub?x=1", NULL, NULL, NULL, NULL, &r), 307);
  CHECK_STR(spk_test_response_header(&r, "location"), "/static/sub/?x=1");
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static", NULL, NULL, NULL, NULL, &r), 307);
  CHECK_STR(spk_test_response_header(&r, "location"), "/static/");
  spk_test_response_free(&r);
  /* HEAD: the headers of GET, no body. */
  CHECK_INT(get(app, "HEAD", "/static/hello.txt", NULL, NULL, NULL, NULL, &r), 200);
  CHECK_STR(spk_test_response_header(&r, "content-length"), "13");
  CHECK_INT(r.body_len, 0);
  spk_test_response_free(&r);
  /* Other methods are not served. */
  CHECK_INT(get(app, "POST", "/static/hello.txt", NULL, NULL, NULL, NULL, &r), 404);
  spk_test_response_free(&r);
  spk_app_free(app);
  /* index_file false. */
  app = app_with(", \"index_file\": false", 0);
  CHECK_INT(status_of(app, "/static/"), 404);
  CHECK_INT(status_of(app, "/static/sub"), 404);
  CHECK_INT(status_of(app, "/static/hello.txt"), 200);
  spk_app_free(app);
}

static int h_route(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  return spk_res_send(res, 200, "text/plain", "route", 5);
}

static void test_routes_win(void) {
  spk_app_t *app = app_with(NULL, 0);
  CHECK_INT(spk_app_route(app, "GET", "/static/hello.txt", h_route, NULL), SPK_OK);
  spk_test_response_t r;
  CHECK_INT(get(app, "GET", "/static/hello.txt", NULL, NULL, NULL, NULL, &r), 200);
  CHECK_MEM(r.body, r.body_len, "route");
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/sub/page.txt", NULL, NULL, NULL, NULL, &r), 200);
  CHECK_MEM(r.body, r.body_len, "page");
  spk_test_response_free(&r);
  spk_app_free(app);
}

static void test_conditional(void) {
  spk_app_t *app = app_with(NULL, 0);
  spk_test_response_t r;
  get(app, "GET", "/static/hello.txt", NULL, NULL, NULL, NULL, &r);
  char etag[128];
  snprintf(etag, sizeof(etag), "%s", spk_test_response_header(&r, "etag"));
  spk_test_response_free(&r);
  char weak[140], list[300];
  snprintf(weak, sizeof(weak), "W/%s", etag);
  snprintf(list, sizeof(list), "\"nope\", %s", etag);

  CHECK_INT(get(app, "GET", "/static/hello.txt", "If-None-Match", etag, NULL, NULL, &r), 304);
  CHECK_INT(r.body_len, 0);
  CHECK_STR(spk_test_response_header(&r, "etag"), etag);
  CHECK_STR(spk_test_response_header(&r, "cache-control"), "public, max-age=60");
  CHECK(spk_test_response_header(&r, "content-length") == NULL);
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/hello.txt", "If-None-Match", weak, NULL, NULL, &r), 304);
  spk_test_response_free(&r);
  CHECK_INT(get(app, "HEAD", "/static/hello.txt", "If-None-Match", list, NULL, NULL, &r), 304);
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/hello.txt", "If-None-Match", "*", NULL, NULL, &r), 304);
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/hello.txt", "If-None-Match", "\"other\"", NULL, NULL, &r),
            200);
  spk_test_response_free(&r);
  /* If-Modified-Since */
  CHECK_INT(get(app, "GET", "/static/hello.txt", "If-Modified-Since",
                "Sun, 06 Nov 1994 08:49:37 GMT", NULL, NULL, &r), 304);
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/hello.txt", "If-Modified-Since",
                "Sat, 01 Jan 2000 00:00:00 GMT", NULL, NULL, &r), 304);
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/hello.txt", "If-Modified-Since",
                "Sun, 06 Nov 1994 08:49:36 GMT", NULL, NULL, &r), 200);
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/hello.txt", "If-Modified-Since", "garbage", NULL, NULL, &r),
            200);
  spk_test_response_free(&r);
  /* If-None-Match wins over If-Modified-Since. */
  CHECK_INT(get(app, "GET", "/static/hello.txt", "If-None-Match", "\"other\"",
                "If-Modified-Since", "Sat, 01 Jan 2000 00:00:00 GMT", &r), 200);
  spk_test_response_free(&r);
  /* If-Match / If-Unmodified-Since → 412. */
  CHECK_INT(get(app, "GET", "/static/hello.txt", "If-Match", "\"other\"", NULL, NULL, &r), 412);
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/hello.txt", "If-Match", etag, NULL, NULL, &r), 200);
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/hello.txt", "If-Match", weak, NULL, NULL, &r), 412);
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/hello.txt", "If-Unmodified-Since",
                "Sun, 06 Nov 1994 08:49:36 GMT", NULL, NULL, &r), 412);
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/hello.txt", "If-Unmodified-Since",
                "Sun, 06 Nov 1994 08:49:37 GMT", NULL, NULL, &r), 200);
  spk_test_response_free(&r);
  spk_app_free(app);
}

static void test_ranges(void) {
  spk_app_t *app = app_with(NULL, 0);
  spk_test_response_t r;
  CHECK_INT(get(app, "GET", "/static/hello.txt", "Range", "bytes=0-4", NULL, NULL, &r), 206);
  CHECK_MEM(r.body, r.body_len, "Hello");
  CHECK_STR(spk_test_response_header(&r, "content-range"), "bytes 0-4/13");
  CHECK_STR(spk_test_response_header(&r, "content-length"), "5");
  char etag[128];
  snprintf(etag, sizeof(etag), "%s", spk_test_response_header(&r, "etag"));
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/hello.txt", "Range", "bytes=-6", NULL, NULL, &r), 206);
  CHECK_MEM(r.body, r.body_len, "world!");
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/hello.txt", "Range", "bytes=7-", NULL, NULL, &r), 206);
  CHECK_MEM(r.body, r.body_len, "world!");
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/hello.txt", "Range", "bytes=13-", NULL, NULL, &r), 416);
  CHECK_STR(spk_test_response_header(&r, "content-range"), "bytes */13");
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/hello.txt", "Range", "bytes=0-1,3-4", NULL, NULL, &r), 200);
  CHECK_INT(r.body_len, 13);
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/hello.txt", "Range", "lines=1-2", NULL, NULL, &r), 200);
  spk_test_response_free(&r);
  CHECK_INT(get(app, "HEAD", "/static/hello.txt", "Range", "bytes=0-4", NULL, NULL, &r), 200);
  spk_test_response_free(&r);
  /* If-Range */
  CHECK_INT(get(app, "GET", "/static/hello.txt", "Range", "bytes=0-4", "If-Range", etag, &r), 206);
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/hello.txt", "Range", "bytes=0-4", "If-Range", "\"old\"", &r),
            200);
  CHECK_INT(r.body_len, 13);
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/hello.txt", "Range", "bytes=0-4", "If-Range",
                "Sun, 06 Nov 1994 08:49:37 GMT", &r), 206);
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/hello.txt", "Range", "bytes=0-4", "If-Range",
                "Mon, 07 Nov 1994 08:49:37 GMT", &r), 200);
  spk_test_response_free(&r);
  /* A range of the large (streamed) file. */
  CHECK_INT(get(app, "GET", "/static/big.bin", "Range", "bytes=100000-2200000", NULL, NULL, &r),
            206);
  CHECK_INT(r.body_len, 2100001);
  int ok = 1;
  for (size_t i = 0; i < r.body_len && ok; i++) {
    size_t k = 100000 + i;
    ok = r.body[i] == (char)('a' + (k * 7 + k / 4096) % 26);
  }
  CHECK(ok);
  spk_test_response_free(&r);
  spk_app_free(app);
}

static void test_precompressed(void) {
  spk_app_t *app = app_with(NULL, 0);
  spk_test_response_t r;
  static const struct {
    const char *ae, *body, *encoding;
  } cases[] = {
      {"gzip, br, zstd", "BR-BYTES", "br"},
      {"gzip", "GZ-BYTES", "gzip"},
      {"zstd, gzip;q=0.5", "ZSTD-BYTES", "zstd"},
      {"br;q=0.1, gzip;q=0.9", "GZ-BYTES", "gzip"},
      {"*", "BR-BYTES", "br"},
      {"br;q=0, gzip;q=0, zstd;q=0", "console.log('identity');", NULL},
      {"identity", "console.log('identity');", NULL},
      {"deflate", "console.log('identity');", NULL},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    CHECK_INT(get(app, "GET", "/static/app.js", "Accept-Encoding", cases[i].ae, NULL, NULL, &r),
              200);
    CHECK_MEM(r.body, r.body_len, cases[i].body);
    const char *ce = spk_test_response_header(&r, "content-encoding");
    if (cases[i].encoding)
      CHECK_STR(ce, cases[i].encoding);
    else
      CHECK(ce == NULL);
    CHECK_STR(spk_test_response_header(&r, "content-type"), "text/javascript");
    CHECK_STR(spk_test_response_header(&r, "vary"), "Accept-Encoding");
    spk_test_response_free(&r);
  }
  /* Each variant has its own ETag. */
  get(app, "GET", "/static/app.js", "Accept-Encoding", "br", NULL, NULL, &r);
  char etag_br[128];
  snprintf(etag_br, sizeof(etag_br), "%s", spk_test_response_header(&r, "etag"));
  spk_test_response_free(&r);
  get(app, "GET", "/static/app.js", NULL, NULL, NULL, NULL, &r);
  CHECK(strcmp(etag_br, spk_test_response_header(&r, "etag")) != 0);
  CHECK_MEM(r.body, r.body_len, "console.log('identity');");
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/static/app.js", "Accept-Encoding", "br", "If-None-Match", etag_br,
                &r), 304);
  CHECK_STR(spk_test_response_header(&r, "vary"), "Accept-Encoding");
  spk_test_response_free(&r);
  /* A sibling older than the file is stale: ignored. */
  CHECK_INT(get(app, "GET", "/static/old.css", "Accept-Encoding", "gzip", NULL, NULL, &r), 200);
  CHECK_MEM(r.body, r.body_len, "body{}");
  spk_test_response_free(&r);
  spk_app_free(app);
  /* precompressed: false */
  app = app_with(", \"precompressed\": false", 0);
  CHECK_INT(get(app, "GET", "/static/app.js", "Accept-Encoding", "br", NULL, NULL, &r), 200);
  CHECK_MEM(r.body, r.body_len, "console.log('identity');");
  spk_test_response_free(&r);
  spk_app_free(app);
}

static void test_large_file(void) {
  spk_app_t *app = app_with(NULL, 0);
  spk_test_response_t r;
  CHECK_INT(get(app, "GET", "/static/big.bin", NULL, NULL, NULL, NULL, &r), 200);
  size_t big = 3 * 1024 * 1024 + 17;
  CHECK_INT(r.body_len, big);
  int ok = 1;
  for (size_t i = 0; i < r.body_len && ok; i++)
    ok = r.body[i] == (char)('a' + (i * 7 + i / 4096) % 26);
  CHECK(ok);
  CHECK_STR(spk_test_response_header(&r, "content-type"), "application/octet-stream");
  spk_test_response_free(&r);
  CHECK_INT(get(app, "HEAD", "/static/big.bin", NULL, NULL, NULL, NULL, &r), 200);
  char len[32];
  snprintf(len, sizeof(len), "%zu", big);
  CHECK_STR(spk_test_response_header(&r, "content-length"), len);
  CHECK_INT(r.body_len, 0);
  spk_test_response_free(&r);
  /* Pipelined: a large file, then a small one — in order, both complete. */
  spk_test_client_t *c = spk_test_client_new(app);
  const char raw[] = "GET /static/big.bin HTTP/1.1\r\nHost: x\r\n\r\n"
                     "GET /static/hello.txt HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  CHECK_INT(spk_test_client_send_raw(c, raw, sizeof(raw) - 1, &r), SPK_OK);
  CHECK(r.raw_len > big);
  const char *tail = r.raw + r.raw_len - 13;
  CHECK(r.raw_len > 13 && memcmp(tail, "Hello, world!", 13) == 0);
  spk_test_response_free(&r);
  spk_test_client_free(c);
  spk_app_free(app);
}

static void test_config_errors(void) {
  static const char *const bad[] = {
      "{\"static_files\": 3}",
      "{\"static_files\": [3]}",
      "{\"static_files\": [{\"route_prefix\": \"/s\"}]}",
      "{\"static_files\": [{\"directory\": \"/nonexistent-dir-xyz\", \"route_prefix\": \"/s\"}]}",
      "{\"static_files\": [{\"directory\": \"/tmp\", \"route_prefix\": \"s\"}]}",
      "{\"static_files\": [{\"directory\": \"/tmp\", \"route_prefix\": \"/s\", \"index_file\": 1}]}",
      "{\"static_files\": [{\"directory\": \"/tmp\", \"route_prefix\": \"/s\", \"bogus\": 1}]}",
      ("{\"static_files\": [{\"directory\": \"/tmp\", \"route_prefix\": \"/s\", "
       "\"cache_control\": \"a\\r\\nX: y\"}]}"),
      "{\"static_files\": [{\"directory\": \"/tmp\", \"route_prefix\": \"/a b\"}]}",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    spk_app_t *app = spk_app_new();
    int rc = spk_app_configure(app, bad[i]);
    CHECK(rc != SPK_OK);
    CHECK(strstr(spk_app_last_error(app), "static_files") != NULL);
    spk_app_free(app);
  }
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_configure(app, "{\"static_files\": []}"), SPK_OK);
  CHECK(app->mw.statics == NULL);
  spk_app_free(app);
  /* A root mount and a longer prefix (mounting the parent of the root): the longer one is
   * tried first, the root mount answers what it lacks. */
  app = spk_app_new();
  char cfg[512];
  snprintf(cfg, sizeof(cfg),
           "{\"static_files\": [{\"directory\": \"%s\", \"route_prefix\": \"/\"},"
           "{\"directory\": \"%s\", \"route_prefix\": \"/sub/\"}]}",
           root, tmp);
  CHECK_INT(spk_app_configure(app, cfg), SPK_OK);
  spk_test_response_t r;
  CHECK_INT(get(app, "GET", "/hello.txt", NULL, NULL, NULL, NULL, &r), 200);
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/sub/page.txt", NULL, NULL, NULL, NULL, &r), 200);
  CHECK_MEM(r.body, r.body_len, "page");
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/", NULL, NULL, NULL, NULL, &r), 200);
  CHECK_MEM(r.body, r.body_len, "<h1>root</h1>");
  spk_test_response_free(&r);
  CHECK_INT(get(app, "GET", "/sub/secret.txt", NULL, NULL, NULL, NULL, &r), 200);
  CHECK_MEM(r.body, r.body_len, "TOP SECRET");
  spk_test_response_free(&r);
  spk_app_free(app);
}

int main(void) {
  build_tree();
  RUN(test_traversal_openat2);
  RUN(test_traversal_fallback);
  RUN(test_basic_headers);
  RUN(test_routes_win);
  RUN(test_conditional);
  RUN(test_ranges);
  RUN(test_precompressed);
  RUN(test_large_file);
  RUN(test_config_errors);
  nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  return test_report("static");
}
