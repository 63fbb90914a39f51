/* Middleware "compression" through the in-memory test client (the server's own pipeline): the
 * configuration surface and its refusals, negotiation end to end with real decompression of the
 * answer, every skip rule, Vary merging, ETag weakening, HEAD, per-route overrides. */
#include <stdlib.h>

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include "spikard.h"
#include "test.h"
#include "util/buf.h"

/* ---- reference decoders (the libraries directly) ---- */

static int decode(const char *coding, const void *in, size_t len, spk__buf_t *out) {
  out->len = 0;
  if (!strcmp(coding, "gzip") || !strcmp(coding, "deflate")) {
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, !strcmp(coding, "gzip") ? 15 + 16 : 15) != Z_OK) return -1;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    int rc;
    do {
      spk__buf_reserve(out, 4096);
      z.next_out = (Bytef *)out->data + out->len;
      z.avail_out = (uInt)(out->cap - out->len);
      rc = inflate(&z, Z_NO_FLUSH);
      out->len = out->cap - z.avail_out;
    } while (rc == Z_OK);
    inflateEnd(&z);
    return rc == Z_STREAM_END && z.avail_in == 0 ? 0 : -1;
  }
  if (!strcmp(coding, "br")) {
    BrotliDecoderState *d = BrotliDecoderCreateInstance(NULL, NULL, NULL);
    const uint8_t *ni = in;
    size_t ai = len;
    BrotliDecoderResult r;
    do {
      spk__buf_reserve(out, 4096);
      uint8_t *no = (uint8_t *)out->data + out->len;
      size_t ao = out->cap - out->len;
      r = BrotliDecoderDecompressStream(d, &ai, &ni, &ao, &no, NULL);
      out->len = out->cap - ao;
    } while (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT);
    BrotliDecoderDestroyInstance(d);
    return r == BROTLI_DECODER_RESULT_SUCCESS && ai == 0 ? 0 : -1;
  }
  if (!strcmp(coding, "zstd")) {
    unsigned long long n = ZSTD_getFrameContentSize(in, len);
    if (n == ZSTD_CONTENTSIZE_ERROR || n == ZSTD_CONTENTSIZE_UNKNOWN || n > (1u << 26)) return -1;
    spk__buf_reserve(out, (size_t)n + 1);
    size_t r = ZSTD_decompress(out->data, (size_t)n + 1, in, len);
    if (ZSTD_isError(r) || r != n) return -1;
    out->len = r;
    return 0;
  }
  return -1;
}

/* ---- a configurable handler ---- */

typedef struct reply {
  int status;
  const char *content_type; /* NULL: none */
  const char *h1, *v1;      /* optional extra headers */
  const char *h2, *v2;
  size_t body_len;          /* body: a JSON-ish payload of this length */
  int random_body;          /* incompressible instead */
  int json_writer;          /* build the body with spk_res_json_begin */
} reply_t;

static char *payload(size_t n, int random) {
  char *p = malloc(n + 1);
  unsigned seed = 12345;
  for (size_t i = 0; i < n; i++) {
    if (random) {
      seed = seed * 1103515245u + 12345u;
      p[i] = (char)(seed >> 16);
    } else {
      p[i] = "{\"k\":\"value\",\"n\":12345},"[i % 25];
    }
  }
  p[n] = '\0';
  return p;
}

static int h_reply(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  const reply_t *r = ud;
  spk_res_status(res, r->status ? r->status : 200);
  if (r->content_type) spk_res_header(res, "Content-Type", r->content_type);
  if (r->h1) spk_res_header(res, r->h1, r->v1);
  if (r->h2) spk_res_header(res, r->h2, r->v2);
  if (r->json_writer) {
    spk_json_writer_t *w = spk_res_json_begin(res);
    spk_json_array_open(w);
    for (size_t i = 0; i < r->body_len / 20; i++) spk_json_string(w, "repeated-string-abc");
    spk_json_array_close(w);
    return spk_res_json_end(w);
  }
  if (r->body_len) {
    char *b = payload(r->body_len, r->random_body);
    spk_res_body(res, b, r->body_len);
    free(b);
  }
  return SPK_HANDLER_DONE;
}

/* One app, one GET /x route with `route_mw` (NULL: none), configured with `config` (NULL:
 * none); one request with up to two Accept-Encoding fields (NULL: none). */
static int run(const char *config, const char *route_mw, const reply_t *r, const char *method,
               const char *ae1, const char *ae2, spk_test_response_t *out) {
  spk_app_t *app = spk_app_new();
  if (config && spk_app_configure(app, config) != SPK_OK) {
    fprintf(stderr, "configure: %s\n", spk_app_last_error(app));
    spk_app_free(app);
    return -1;
  }
  spk_route_options_t opts;
  memset(&opts, 0, sizeof(opts));
  opts.middleware = route_mw;
  if (spk_app_route_ex(app, "GET", "/x", h_reply, (void *)r, &opts) != SPK_OK) {
    fprintf(stderr, "route: %s\n", spk_app_last_error(app));
    spk_app_free(app);
    return -1;
  }
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_header_t h[2];
  size_t nh = 0;
  if (ae1) h[nh++] = (spk_test_header_t){"Accept-Encoding", ae1};
  if (ae2) h[nh++] = (spk_test_header_t){"Accept-Encoding", ae2};
  spk_test_request_t req = {.method = method ? method : "GET", .target = "/x", .headers = h,
                            .header_count = nh};
  int rc = spk_test_client_send(tc, &req, out);
  spk_test_client_free(tc);
  spk_app_free(app);
  return rc;
}

static size_t count_header(const spk_test_response_t *r, const char *name) {
  size_t n = 0;
  for (size_t i = 0; i < r->header_count; i++) n += strcasecmp(r->headers[i].name, name) == 0;
  return n;
}

/* The response is `coding`-encoded and decodes to the payload of `r`. */
static void check_encoded(const spk_test_response_t *res, const char *coding, const reply_t *r) {
  const char *ce = spk_test_response_header(res, "content-encoding");
  CHECK_STR(ce, coding);
  CHECK_STR(spk_test_response_header(res, "vary"), "Accept-Encoding");
  if (!ce) return;
  char len[32];
  snprintf(len, sizeof(len), "%zu", res->body_len);
  CHECK_STR(spk_test_response_header(res, "content-length"), len);
  CHECK(res->body_len < r->body_len);
  spk__buf_t dec = {0};
  CHECK_INT(decode(coding, res->body, res->body_len, &dec), 0);
  char *want = payload(r->body_len, r->random_body);
  CHECK(dec.len == r->body_len && memcmp(dec.data, want, dec.len) == 0);
  free(want);
  spk__buf_free(&dec);
}

static void check_identity(const spk_test_response_t *res, const reply_t *r, int vary) {
  CHECK(spk_test_response_header(res, "content-encoding") == NULL);
  if (vary)
    CHECK_STR(spk_test_response_header(res, "vary"), "Accept-Encoding");
  else
    CHECK(spk_test_response_header(res, "vary") == NULL);
  char *want = payload(r->body_len, r->random_body);
  CHECK(res->body_len == r->body_len && memcmp(res->body, want, r->body_len) == 0);
  free(want);
}

#define CFG_ALL \
  "{\"compression\": {\"gzip\": true, \"brotli\": true, \"zstd\": true, \"deflate\": true, " \
  "\"min_size\": 100}}"

/* ---- configuration ---- */

static void test_config(void) {
  static const char *const ok[] = {
      "{\"compression\": {}}",
      "{\"compression\": true}",
      "{\"compression\": false}",
      "{\"compression\": {\"enabled\": false, \"quality\": 3}}",
      "{\"compression\": {\"gzip\": true, \"brotli\": false, \"min_size\": 0, \"quality\": 4}}",
      ("{\"compression\": {\"gzip\": {\"quality\": 9}, \"brotli\": {\"quality\": 11}, "
       "\"zstd\": {\"quality\": 19}, \"deflate\": {\"quality\": 0}}}"),
      "{\"compression\": {\"gzip\": false, \"brotli\": false, \"zstd\": false}}", /* = off */
      "{\"compression\": {\"quality\": 11, \"min_size\": 9007199254740991}}",
      "{\"compression\": {\"quality\": 6.0}}",
  };
  static const struct {
    const char *json;
    const char *reason; /* a piece of the message */
  } bad[] = {
      {"{\"compression\": []}", "must be an object"},
      {"{\"compression\": 1}", "must be an object"},
      {"{\"compression\": {\"gzipp\": true}}", "unknown key \"gzipp\""},
      {"{\"compression\": {\"quality\": 12}}", "\"quality\" must be an integer 0-11"},
      {"{\"compression\": {\"quality\": -1}}", "\"quality\""},
      {"{\"compression\": {\"quality\": \"6\"}}", "\"quality\""},
      {"{\"compression\": {\"quality\": 5.5}}", "\"quality\""},
      {"{\"compression\": {\"min_size\": -1}}", "\"min_size\" must be a non-negative integer"},
      {"{\"compression\": {\"min_size\": \"1k\"}}", "\"min_size\""},
      {"{\"compression\": {\"gzip\": \"yes\"}}", "\"gzip\" must be true, false or {\"quality\": 0-9}"},
      {"{\"compression\": {\"brotli\": 1}}", "\"brotli\" must be true, false or {\"quality\": 0-11}"},
      {"{\"compression\": {\"gzip\": {\"quality\": 10}}}", "\"gzip.quality\" must be an integer 0-9"},
      {"{\"compression\": {\"zstd\": {\"quality\": 0}}}", "\"zstd.quality\" must be an integer 1-19"},
      {"{\"compression\": {\"zstd\": {\"level\": 3}}}", "unknown key \"level\""},
      {"{\"compression\": {\"enabled\": \"no\"}}", "\"enabled\" must be a boolean"},
  };
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    spk_app_t *app = spk_app_new();
    int rc = spk_app_configure(app, ok[i]);
    if (rc) fprintf(stderr, "%s: %s\n", ok[i], spk_app_last_error(app));
    CHECK_INT(rc, 0);
    spk_app_free(app);
  }
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    spk_app_t *app = spk_app_new();
    CHECK_INT(spk_app_configure(app, bad[i].json), SPK_EINVAL);
    const char *msg = spk_app_last_error(app);
    if (!strstr(msg, "\"compression\"") || !strstr(msg, bad[i].reason))
      fprintf(stderr, "%s: message \"%s\" lacks \"%s\"\n", bad[i].json, msg, bad[i].reason);
    CHECK(strstr(msg, "\"compression\"") && strstr(msg, bad[i].reason));
    spk_app_free(app);
  }
  /* Route sections: the same compiler, refusals name the route section. */
  spk_app_t *app = spk_app_new();
  spk_route_options_t opts;
  memset(&opts, 0, sizeof(opts));
  opts.middleware = "{\"compression\": {\"quality\": 99}}";
  CHECK_INT(spk_app_route_ex(app, "GET", "/x", h_reply, NULL, &opts), SPK_EINVAL);
  CHECK(strstr(spk_app_last_error(app), "quality") != NULL);
  spk_app_free(app);
}

/* ---- negotiation end to end ---- */

static void test_each_codec(void) {
  reply_t r = {.content_type = "application/json", .body_len = 5000};
  static const char *const codings[] = {"gzip", "br", "zstd", "deflate"};
  for (size_t i = 0; i < 4; i++) {
    spk_test_response_t res;
    CHECK_INT(run(CFG_ALL, NULL, &r, NULL, codings[i], NULL, &res), 0);
    check_encoded(&res, codings[i], &r);
    spk_test_response_free(&res);
  }
  /* A JSON-writer body (owned by the writer until the end) is replaced just as well. */
  reply_t j = {.body_len = 4000, .json_writer = 1};
  spk_test_response_t res;
  CHECK_INT(run(CFG_ALL, NULL, &j, NULL, "gzip", NULL, &res), 0);
  CHECK_STR(spk_test_response_header(&res, "content-encoding"), "gzip");
  spk__buf_t dec = {0};
  CHECK_INT(decode("gzip", res.body, res.body_len, &dec), 0);
  CHECK(dec.len > 3000 && dec.data[0] == '[' && dec.data[dec.len - 1] == ']');
  spk__buf_free(&dec);
  spk_test_response_free(&res);
}

static void test_preferences(void) {
  reply_t r = {.content_type = "text/plain", .body_len = 3000};
  spk_test_response_t res;
  static const struct {
    const char *config, *ae1, *ae2, *want; /* want NULL: identity */
  } cases[] = {
      {CFG_ALL, "gzip, deflate, br, zstd", NULL, "br"},
      {"{\"compression\": {\"brotli\": false, \"deflate\": true, \"min_size\": 0}}",
       "gzip, deflate, br, zstd", NULL, "zstd"},
      {"{\"compression\": {\"brotli\": false, \"zstd\": false, \"deflate\": true}}",
       "deflate, gzip", NULL, "gzip"},
      {CFG_ALL, "gzip;q=1, br;q=0.5", NULL, "gzip"},
      {CFG_ALL, "*", NULL, "br"},
      {CFG_ALL, "*;q=0, identity", NULL, NULL},
      {CFG_ALL, "identity;q=0, deflate", NULL, "deflate"},
      {CFG_ALL, "gzip;q=0.2", "zstd;q=0.3", "zstd"}, /* two fields, one list */
      {"{\"compression\": {}}", "deflate", NULL, NULL}, /* deflate is off by default */
      {"{\"compression\": {}}", "zstd", NULL, "zstd"},  /* zstd on by default */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    CHECK_INT(run(cases[i].config, NULL, &r, NULL, cases[i].ae1, cases[i].ae2, &res), 0);
    const char *ce = spk_test_response_header(&res, "content-encoding");
    if (cases[i].want ? !ce || strcmp(ce, cases[i].want) : ce != NULL)
      fprintf(stderr, "case %zu (%s): got %s\n", i, cases[i].ae1, ce ? ce : "identity");
    if (cases[i].want)
      check_encoded(&res, cases[i].want, &r);
    else
      check_identity(&res, &r, 1);
    spk_test_response_free(&res);
  }
}

/* Levels: a per-codec quality overrides the shared one. */
static void test_quality(void) {
  reply_t r = {.content_type = "text/plain", .body_len = 60000};
  spk_test_response_t lo, hi;
  CHECK_INT(run("{\"compression\": {\"gzip\": {\"quality\": 1}, \"quality\": 9}}", NULL, &r,
                NULL, "gzip", NULL, &lo),
            0);
  CHECK_INT(run("{\"compression\": {\"quality\": 1, \"gzip\": {\"quality\": 9}}}", NULL, &r,
                NULL, "gzip", NULL, &hi),
            0);
  check_encoded(&lo, "gzip", &r);
  check_encoded(&hi, "gzip", &r);
  CHECK(hi.body_len < lo.body_len); /* level 9 beats level 1 on this payload */
  spk_test_response_free(&lo);
  spk_test_response_free(&hi);
}

/* ---- when not to compress ---- */

static void test_min_size(void) {
  const char *cfg = "{\"compression\": {\"min_size\": 1000}}";
  reply_t at = {.content_type = "text/plain", .body_len = 1000};
  reply_t below = {.content_type = "text/plain", .body_len = 999};
  spk_test_response_t res;
  CHECK_INT(run(cfg, NULL, &at, NULL, "gzip", NULL, &res), 0);
  check_encoded(&res, "gzip", &at); /* min_size itself is compressed */
  spk_test_response_free(&res);
  CHECK_INT(run(cfg, NULL, &below, NULL, "gzip", NULL, &res), 0);
  check_identity(&res, &below, 0); /* never compressed at this size: no Vary */
  spk_test_response_free(&res);
  /* Defaults: 1024. */
  reply_t small = {.content_type = "text/plain", .body_len = 1023};
  CHECK_INT(run("{\"compression\": {}}", NULL, &small, NULL, "gzip", NULL, &res), 0);
  check_identity(&res, &small, 0);
  spk_test_response_free(&res);
  /* min_size 0: an empty body still is not encoded. */
  reply_t empty = {.content_type = "text/plain", .body_len = 0};
  CHECK_INT(run("{\"compression\": {\"min_size\": 0}}", NULL, &empty, NULL, "gzip", NULL, &res), 0);
  CHECK(spk_test_response_header(&res, "content-encoding") == NULL);
  CHECK_INT(res.body_len, 0);
  spk_test_response_free(&res);
}

static void test_not_asked(void) {
  reply_t r = {.content_type = "application/json", .body_len = 3000};
  spk_test_response_t res;
  /* No Accept-Encoding, identity only, gzip refused, a codec we do not have: identity, and
   * Vary so that caches keep the variants apart. */
  const char *aes[] = {NULL, "identity", "gzip;q=0", "compress", ""};
  for (size_t i = 0; i < 5; i++) {
    CHECK_INT(run(CFG_ALL, NULL, &r, NULL, aes[i], NULL, &res), 0);
    check_identity(&res, &r, 1);
    spk_test_response_free(&res);
  }
  /* The codec the client wants is off. */
  CHECK_INT(run("{\"compression\": {\"gzip\": false}}", NULL, &r, NULL, "gzip", NULL, &res), 0);
  check_identity(&res, &r, 1);
  spk_test_response_free(&res);
}

static void test_skipped_types(void) {
  static const char *const never[] = {
      "image/png", "IMAGE/JPEG", "image/webp; q=1", "video/mp4", "audio/ogg", "text/event-stream",
      "application/octet-stream", "application/zip", "application/gzip", "application/zstd",
      "application/grpc+proto", "font/woff2",
  };
  spk_test_response_t res;
  for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
    reply_t r = {.content_type = never[i], .body_len = 3000};
    CHECK_INT(run(CFG_ALL, NULL, &r, NULL, "gzip, br", NULL, &res), 0);
    if (spk_test_response_header(&res, "content-encoding"))
      fprintf(stderr, "%s was compressed\n", never[i]);
    check_identity(&res, &r, 0);
    spk_test_response_free(&res);
  }
  static const char *const yes[] = {"image/svg+xml", "text/html; charset=utf-8",
                                    "application/problem+json", "application/javascript",
                                    NULL /* no Content-Type at all */};
  for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
    reply_t r = {.content_type = yes[i], .body_len = 3000};
    CHECK_INT(run(CFG_ALL, NULL, &r, NULL, "gzip", NULL, &res), 0);
    check_encoded(&res, "gzip", &r);
    spk_test_response_free(&res);
  }
}

static void test_skipped_responses(void) {
  spk_test_response_t res;
  /* Already encoded by the handler: untouched, no Vary added. */
  reply_t enc = {.content_type = "text/plain", .h1 = "Content-Encoding", .v1 = "gzip",
                 .body_len = 3000};
  CHECK_INT(run(CFG_ALL, NULL, &enc, NULL, "gzip, br", NULL, &res), 0);
  CHECK_INT(count_header(&res, "content-encoding"), 1);
  CHECK_STR(spk_test_response_header(&res, "content-encoding"), "gzip");
  CHECK(spk_test_response_header(&res, "vary") == NULL);
  CHECK_INT(res.body_len, 3000);
  spk_test_response_free(&res);
  /* Cache-Control: no-transform (in a list, any case). */
  reply_t nt = {.content_type = "text/plain", .h1 = "Cache-Control", .v1 = "max-age=60, No-Transform",
                .body_len = 3000};
  CHECK_INT(run(CFG_ALL, NULL, &nt, NULL, "gzip", NULL, &res), 0);
  check_identity(&res, &nt, 0);
  spk_test_response_free(&res);
  /* A range answer. */
  reply_t part = {.status = 206, .content_type = "text/plain", .h1 = "Content-Range",
                  .v1 = "bytes 0-2999/9000", .body_len = 3000};
  CHECK_INT(run(CFG_ALL, NULL, &part, NULL, "gzip", NULL, &res), 0);
  CHECK_INT(res.status, 206);
  check_identity(&res, &part, 0);
  spk_test_response_free(&res);
  /* Statuses without a body. */
  int statuses[] = {204, 304};
  for (size_t i = 0; i < 2; i++) {
    reply_t r = {.status = statuses[i], .content_type = "text/plain", .body_len = 3000};
    CHECK_INT(run(CFG_ALL, NULL, &r, NULL, "gzip", NULL, &res), 0);
    CHECK_INT(res.status, statuses[i]);
    CHECK(spk_test_response_header(&res, "content-encoding") == NULL);
    CHECK(spk_test_response_header(&res, "vary") == NULL);
    spk_test_response_free(&res);
  }
  /* Incompressible: encoding would not shrink it, so identity (Vary stays: another body may). */
  reply_t rnd = {.content_type = "text/plain", .body_len = 4000, .random_body = 1};
  static const char *const codings[] = {"gzip", "br", "zstd", "deflate"};
  for (size_t i = 0; i < 4; i++) {
    CHECK_INT(run(CFG_ALL, NULL, &rnd, NULL, codings[i], NULL, &res), 0);
    check_identity(&res, &rnd, 1);
    spk_test_response_free(&res);
  }
  /* Error answers of the core are compressed like any other (none here is big enough). */
  reply_t r = {.content_type = "text/plain", .body_len = 3000};
  spk_app_t *app = spk_app_new();
  spk_app_configure(app, "{\"compression\": {\"min_size\": 0}}");
  spk_app_route(app, "GET", "/x", h_reply, &r);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_header_t h = {"Accept-Encoding", "gzip"};
  spk_test_request_t req = {.method = "GET", .target = "/missing", .headers = &h, .header_count = 1};
  CHECK_INT(spk_test_client_send(tc, &req, &res), 0);
  CHECK_INT(res.status, 404);
  CHECK_STR(spk_test_response_header(&res, "content-encoding"), "gzip");
  spk__buf_t dec = {0};
  CHECK_INT(decode("gzip", res.body, res.body_len, &dec), 0);
  CHECK(dec.len > 10 && memmem(dec.data, dec.len, "\"status\":404", 12) != NULL);
  spk__buf_free(&dec);
  spk_test_response_free(&res);
  spk_test_client_free(tc);
  spk_app_free(app);
}

/* ---- headers ---- */

static void test_vary_merge(void) {
  spk_test_response_t res;
  reply_t origin = {.content_type = "text/plain", .h1 = "Vary", .v1 = "Origin", .body_len = 3000};
  CHECK_INT(run(CFG_ALL, NULL, &origin, NULL, "gzip", NULL, &res), 0);
  CHECK_INT(count_header(&res, "vary"), 1);
  CHECK_STR(spk_test_response_header(&res, "vary"), "Origin, Accept-Encoding");
  spk_test_response_free(&res);
  /* Not asked: merged all the same. */
  CHECK_INT(run(CFG_ALL, NULL, &origin, NULL, NULL, NULL, &res), 0);
  CHECK_STR(spk_test_response_header(&res, "vary"), "Origin, Accept-Encoding");
  spk_test_response_free(&res);
  /* Already there (any case, in a list): no duplicate. */
  reply_t has = {.content_type = "text/plain", .h1 = "Vary", .v1 = "origin, accept-encoding",
                 .body_len = 3000};
  CHECK_INT(run(CFG_ALL, NULL, &has, NULL, "gzip", NULL, &res), 0);
  CHECK_INT(count_header(&res, "vary"), 1);
  CHECK_STR(spk_test_response_header(&res, "vary"), "origin, accept-encoding");
  CHECK_STR(spk_test_response_header(&res, "content-encoding"), "gzip");
  spk_test_response_free(&res);
  /* Two Vary fields: the token in the second counts; "*" means everything already. */
  reply_t two = {.content_type = "text/plain", .h1 = "Vary", .v1 = "Origin", .h2 = "Vary",
                 .v2 = "Accept-Encoding", .body_len = 3000};
  CHECK_INT(run(CFG_ALL, NULL, &two, NULL, "gzip", NULL, &res), 0);
  CHECK_INT(count_header(&res, "vary"), 2);
  spk_test_response_free(&res);
  reply_t star = {.content_type = "text/plain", .h1 = "Vary", .v1 = "*", .body_len = 3000};
  CHECK_INT(run(CFG_ALL, NULL, &star, NULL, "gzip", NULL, &res), 0);
  CHECK_STR(spk_test_response_header(&res, "vary"), "*");
  CHECK_STR(spk_test_response_header(&res, "content-encoding"), "gzip");
  spk_test_response_free(&res);
}

static void test_etag(void) {
  spk_test_response_t res;
  reply_t strong = {.content_type = "text/plain", .h1 = "ETag", .v1 = "\"v1\"", .body_len = 3000};
  CHECK_INT(run(CFG_ALL, NULL, &strong, NULL, "gzip", NULL, &res), 0);
  CHECK_STR(spk_test_response_header(&res, "etag"), "W/\"v1\"");
  spk_test_response_free(&res);
  CHECK_INT(run(CFG_ALL, NULL, &strong, NULL, NULL, NULL, &res), 0);
  CHECK_STR(spk_test_response_header(&res, "etag"), "\"v1\""); /* identity: unchanged */
  spk_test_response_free(&res);
  reply_t weak = {.content_type = "text/plain", .h1 = "ETag", .v1 = "W/\"v1\"", .body_len = 3000};
  CHECK_INT(run(CFG_ALL, NULL, &weak, NULL, "br", NULL, &res), 0);
  CHECK_STR(spk_test_response_header(&res, "etag"), "W/\"v1\"");
  spk_test_response_free(&res);
}

/* HEAD: the GET route answers, the body is not sent; negotiated (Vary) but not encoded, so
 * Content-Length is the identity length. */
static void test_head(void) {
  reply_t r = {.content_type = "text/plain", .body_len = 3000};
  spk_test_response_t res;
  CHECK_INT(run(CFG_ALL, NULL, &r, "HEAD", "gzip", NULL, &res), 0);
  CHECK_INT(res.status, 200);
  CHECK(spk_test_response_header(&res, "content-encoding") == NULL);
  CHECK_STR(spk_test_response_header(&res, "vary"), "Accept-Encoding");
  CHECK_STR(spk_test_response_header(&res, "content-length"), "3000");
  CHECK_INT(res.body_len, 0);
  spk_test_response_free(&res);
}

/* ---- per route ---- */

static void test_per_route(void) {
  reply_t r = {.content_type = "text/plain", .body_len = 3000};
  spk_test_response_t res;
  static const char *const off[] = {"{\"compression\": false}",
                                    "{\"compression\": {\"enabled\": false}}",
                                    ("{\"compression\": {\"gzip\": false, \"brotli\": false, "
                                     "\"zstd\": false}}")};
  for (size_t i = 0; i < 3; i++) {
    CHECK_INT(run(CFG_ALL, off[i], &r, NULL, "gzip, br", NULL, &res), 0);
    check_identity(&res, &r, 0);
    spk_test_response_free(&res);
  }
  /* A route's own section replaces the app's. */
  CHECK_INT(run(CFG_ALL, "{\"compression\": {\"brotli\": false, \"min_size\": 10}}", &r, NULL,
                "br, zstd", NULL, &res),
            0);
  check_encoded(&res, "zstd", &r);
  spk_test_response_free(&res);
  /* A route can compress in an app that does not. */
  CHECK_INT(run(NULL, "{\"compression\": true}", &r, NULL, "gzip", NULL, &res), 0);
  check_encoded(&res, "gzip", &r);
  spk_test_response_free(&res);
  CHECK_INT(run(NULL, NULL, &r, NULL, "gzip", NULL, &res), 0);
  check_identity(&res, &r, 0);
  spk_test_response_free(&res);
}

int main(void) {
  RUN(test_config);
  RUN(test_each_codec);
  RUN(test_preferences);
  RUN(test_quality);
  RUN(test_min_size);
  RUN(test_not_asked);
  RUN(test_skipped_types);
  RUN(test_skipped_responses);
  RUN(test_vary_merge);
  RUN(test_etag);
  RUN(test_head);
  RUN(test_per_route);
  return test_report("mw_compress");
}
