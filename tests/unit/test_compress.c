/* proto/compress: every codec at every level round-trips through the reference decoders (zlib,
 * brotli, zstd used directly, not through our code); the output limit; the streaming encoder
 * (feed / flush / finish, each flush decodable on its own); allocations through the
 * replaceable allocator; Accept-Encoding negotiation, table-driven. */
#include <stdlib.h>
#include <string.h>

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include "proto/compress.h"
#include "spikard.h"
#include "test.h"

static const spk_coding_t all_codings[] = {SPK_CODING_GZIP, SPK_CODING_DEFLATE, SPK_CODING_BR,
                                           SPK_CODING_ZSTD};

/* ---- reference decoders. `partial`: the stream may end without its trailer (a flush point).
 * Returns 0 and the decoded bytes in *out, -1 on a decoding error. ---- */

static int decode_zlib(const void *in, size_t len, int gzip, int partial, spk__buf_t *out) {
  z_stream z;
  memset(&z, 0, sizeof(z));
  if (inflateInit2(&z, gzip ? 15 + 16 : 15) != Z_OK) return -1;
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)len;
  int rc;
  do {
    spk__buf_reserve(out, 4096);
    z.next_out = (Bytef *)out->data + out->len;
    z.avail_out = (uInt)(out->cap - out->len);
    rc = inflate(&z, Z_NO_FLUSH);
    out->len = out->cap - z.avail_out;
  } while (rc == Z_OK && (z.avail_in || z.avail_out == 0));
  inflateEnd(&z);
  if (rc == Z_STREAM_END) return z.avail_in == 0 ? 0 : -1;
  return partial && (rc == Z_OK || rc == Z_BUF_ERROR) && z.avail_in == 0 ? 0 : -1;
}

static int decode_br(const void *in, size_t len, int partial, spk__buf_t *out) {
  BrotliDecoderState *d = BrotliDecoderCreateInstance(NULL, NULL, NULL);
  const uint8_t *next_in = in;
  size_t avail_in = len;
  BrotliDecoderResult r;
  do {
    spk__buf_reserve(out, 4096);
    uint8_t *next_out = (uint8_t *)out->data + out->len;
    size_t avail_out = out->cap - out->len;
    r = BrotliDecoderDecompressStream(d, &avail_in, &next_in, &avail_out, &next_out, NULL);
    out->len = out->cap - avail_out;
  } while (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT);
  BrotliDecoderDestroyInstance(d);
  if (r == BROTLI_DECODER_RESULT_SUCCESS) return avail_in == 0 ? 0 : -1;
  return partial && r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT ? 0 : -1;
}

static int decode_zstd(const void *in, size_t len, int partial, spk__buf_t *out) {
  ZSTD_DCtx *d = ZSTD_createDCtx();
  ZSTD_inBuffer ib = {in, len, 0};
  size_t r = 1;
  while (ib.pos < ib.size || r != 0) {
    spk__buf_reserve(out, 4096);
    ZSTD_outBuffer ob = {out->data + out->len, out->cap - out->len, 0};
    r = ZSTD_decompressStream(d, &ob, &ib);
    out->len += ob.pos;
    if (ZSTD_isError(r)) break;
    if (ib.pos == ib.size && ob.pos < ob.size) break; /* all input used, no more output */
  }
  ZSTD_freeDCtx(d);
  if (ZSTD_isError(r)) return -1;
  return r == 0 || partial ? 0 : -1;
}

static int decode(spk_coding_t c, const void *in, size_t len, int partial, spk__buf_t *out) {
  out->len = 0;
  switch (c) {
  case SPK_CODING_GZIP: return decode_zlib(in, len, 1, partial, out);
  case SPK_CODING_DEFLATE: return decode_zlib(in, len, 0, partial, out);
  case SPK_CODING_BR: return decode_br(in, len, partial, out);
  case SPK_CODING_ZSTD: return decode_zstd(in, len, partial, out);
  default: return -1;
  }
}

/* A JSON-ish, compressible payload of n bytes. */
static char *json_payload(size_t n) {
  char *p = malloc(n + 1);
  size_t k = 0, i = 0;
  while (k < n) {
    char item[96];
    int m = snprintf(item, sizeof(item), "{\"id\":%zu,\"name\":\"item-%zu\",\"active\":%s},", i,
                     i * 7 % 1000, i % 3 ? "true" : "false");
    for (int j = 0; j < m && k < n; j++) p[k++] = item[j];
    i++;
  }
  p[n] = '\0';
  return p;
}

static void random_bytes(unsigned char *p, size_t n, unsigned seed) {
  for (size_t i = 0; i < n; i++) {
    seed = seed * 1103515245u + 12345u;
    p[i] = (unsigned char)(seed >> 16);
  }
}

static void test_names_and_levels(void) {
  CHECK_STR(spk_coding_name(SPK_CODING_GZIP), "gzip");
  CHECK_STR(spk_coding_name(SPK_CODING_DEFLATE), "deflate");
  CHECK_STR(spk_coding_name(SPK_CODING_BR), "br");
  CHECK_STR(spk_coding_name(SPK_CODING_ZSTD), "zstd");
  CHECK_STR(spk_coding_name(SPK_CODING_IDENTITY), "identity");
  CHECK(spk_coding_name((spk_coding_t)99) == NULL);
  int lo = -1, hi = -1;
  CHECK_INT(spk_coding_levels(SPK_CODING_GZIP, &lo, &hi), 0);
  CHECK_INT(lo, 0);
  CHECK_INT(hi, 9);
  CHECK_INT(spk_coding_levels(SPK_CODING_BR, &lo, &hi), 0);
  CHECK_INT(lo, 0);
  CHECK_INT(hi, 11);
  CHECK_INT(spk_coding_levels(SPK_CODING_ZSTD, &lo, &hi), 0);
  CHECK_INT(lo, 1);
  CHECK_INT(hi, 19);
  CHECK_INT(spk_coding_levels(SPK_CODING_IDENTITY, &lo, &hi), SPK_EINVAL);
  CHECK_INT(spk_coding_clamp(SPK_CODING_GZIP, 11), 9);
  CHECK_INT(spk_coding_clamp(SPK_CODING_DEFLATE, -3), 0);
  CHECK_INT(spk_coding_clamp(SPK_CODING_ZSTD, 0), 1);
  CHECK_INT(spk_coding_clamp(SPK_CODING_ZSTD, 22), 19);
  CHECK_INT(spk_coding_clamp(SPK_CODING_BR, 6), 6);
}

/* Every codec, every level: JSON shrinks and decodes back; empty and 1-byte inputs too. */
static void test_roundtrip_all_levels(void) {
  size_t n = 20000;
  char *json = json_payload(n);
  spk__buf_t enc = {0}, dec = {0};
  for (size_t i = 0; i < sizeof(all_codings) / sizeof(all_codings[0]); i++) {
    spk_coding_t c = all_codings[i];
    int lo, hi;
    spk_coding_levels(c, &lo, &hi);
    for (int level = lo; level <= hi; level++) {
      enc.len = 0;
      CHECK_INT(spk_compress(c, level, json, n, SIZE_MAX, &enc), 0);
      if (level > 0) CHECK(enc.len < n / 3);
      CHECK_INT(decode(c, enc.data, enc.len, 0, &dec), 0);
      CHECK(dec.len == n && memcmp(dec.data, json, n) == 0);
    }
    const char *small[] = {"", "x", "{}"};
    for (size_t k = 0; k < 3; k++) {
      enc.len = 0;
      size_t len = strlen(small[k]);
      CHECK_INT(spk_compress(c, 6, small[k], len, SIZE_MAX, &enc), 0);
      CHECK(enc.len > 0); /* a valid (if tiny) stream even for empty input */
      CHECK_INT(decode(c, enc.data, enc.len, 0, &dec), 0);
      CHECK_MEM(dec.data, dec.len, small[k]);
    }
  }
  spk__buf_free(&enc);
  spk__buf_free(&dec);
  free(json);
}

/* The output limit: incompressible data under limit len-1 gives SPK_ERANGE and leaves what the
 * buffer held before; a generous limit succeeds; appending keeps the earlier bytes. */
static void test_limit_and_append(void) {
  size_t n = 8192;
  unsigned char *rnd = malloc(n);
  random_bytes(rnd, n, 7);
  char *json = json_payload(n);
  spk__buf_t out = {0}, dec = {0};
  for (size_t i = 0; i < sizeof(all_codings) / sizeof(all_codings[0]); i++) {
    spk_coding_t c = all_codings[i];
    out.len = 0;
    spk__buf_append_str(&out, "PREFIX");
    CHECK_INT(spk_compress(c, 6, rnd, n, n - 1, &out), SPK_ERANGE);
    CHECK_MEM(out.data, out.len, "PREFIX");
    CHECK_INT(spk_compress(c, 6, json, n, n - 1, &out), 0);
    CHECK(out.len > 6 && memcmp(out.data, "PREFIX", 6) == 0);
    CHECK_INT(decode(c, out.data + 6, out.len - 6, 0, &dec), 0);
    CHECK(dec.len == n && memcmp(dec.data, json, n) == 0);
    /* A limit of a few bytes fails even for compressible input. */
    out.len = 0;
    CHECK_INT(spk_compress(c, 6, json, n, 4, &out), SPK_ERANGE);
    CHECK_INT(out.len, 0);
    /* A large incompressible body without limit still round-trips. */
    out.len = 0;
    CHECK_INT(spk_compress(c, 1, rnd, n, SIZE_MAX, &out), 0);
    CHECK_INT(decode(c, out.data, out.len, 0, &dec), 0);
    CHECK(dec.len == n && memcmp(dec.data, rnd, n) == 0);
  }
  CHECK_INT(spk_compress(SPK_CODING_IDENTITY, 6, json, n, SIZE_MAX, &out), SPK_EINVAL);
  CHECK_INT(spk_compress((spk_coding_t)42, 6, json, n, SIZE_MAX, &out), SPK_EINVAL);
  CHECK_INT(spk_compress(SPK_CODING_GZIP, 6, NULL, 5, SIZE_MAX, &out), SPK_EINVAL);
  spk__buf_free(&out);
  spk__buf_free(&dec);
  free(rnd);
  free(json);
}

/* Streaming: chunks of odd sizes, a flush after each makes everything so far decodable; the
 * finished stream decodes to the whole input; all levels at the ends of the range. */
static void test_streaming(void) {
  size_t n = 50000;
  char *json = json_payload(n);
  static const size_t sizes[] = {1, 7, 100, 4096, 10000, 33};
  spk__buf_t out = {0}, dec = {0};
  for (size_t i = 0; i < sizeof(all_codings) / sizeof(all_codings[0]); i++) {
    spk_coding_t c = all_codings[i];
    int lo, hi;
    spk_coding_levels(c, &lo, &hi);
    int levels[] = {lo, 6, hi};
    for (int li = 0; li < 3; li++) {
      spk_encoder_t *e = NULL;
      CHECK_INT(spk_encoder_new(&e, c, levels[li], 0), 0);
      if (!e) continue;
      out.len = 0;
      size_t fed = 0, k = 0;
      while (fed < n) {
        size_t piece = sizes[k++ % (sizeof(sizes) / sizeof(sizes[0]))];
        if (piece > n - fed) piece = n - fed;
        CHECK_INT(spk_encoder_feed(e, json + fed, piece, &out), 0);
        fed += piece;
        if (k % 3 == 0) {
          CHECK_INT(spk_encoder_flush(e, &out), 0);
          CHECK_INT(decode(c, out.data, out.len, 1, &dec), 0);
          CHECK(dec.len == fed && memcmp(dec.data, json, fed) == 0);
        }
      }
      CHECK_INT(spk_encoder_finish(e, NULL, 0, &out), 0);
      CHECK((uint64_t)out.len == spk_encoder_produced(e));
      CHECK_INT(decode(c, out.data, out.len, 0, &dec), 0);
      CHECK(dec.len == n && memcmp(dec.data, json, n) == 0);
      /* Finished: everything else is refused, nothing appended. */
      size_t before = out.len;
      CHECK_INT(spk_encoder_feed(e, "x", 1, &out), SPK_ESTATE);
      CHECK_INT(spk_encoder_flush(e, &out), SPK_ESTATE);
      CHECK_INT(spk_encoder_finish(e, NULL, 0, &out), SPK_ESTATE);
      CHECK(out.len == before);
      spk_encoder_free(e);
    }
    /* finish with the last data in the same call; an empty stream. */
    spk_encoder_t *e = NULL;
    CHECK_INT(spk_encoder_new(&e, c, 6, n), 0);
    out.len = 0;
    CHECK_INT(spk_encoder_feed(e, json, n / 2, &out), 0);
    CHECK_INT(spk_encoder_finish(e, json + n / 2, n - n / 2, &out), 0);
    CHECK_INT(decode(c, out.data, out.len, 0, &dec), 0);
    CHECK(dec.len == n && memcmp(dec.data, json, n) == 0);
    spk_encoder_free(e);
    CHECK_INT(spk_encoder_new(&e, c, 6, 0), 0);
    out.len = 0;
    CHECK_INT(spk_encoder_flush(e, &out), 0);
    CHECK_INT(spk_encoder_finish(e, NULL, 0, &out), 0);
    CHECK_INT(decode(c, out.data, out.len, 0, &dec), 0);
    CHECK_INT(dec.len, 0);
    spk_encoder_free(e);
  }
  spk_encoder_t *e = (spk_encoder_t *)1;
  CHECK_INT(spk_encoder_new(&e, SPK_CODING_IDENTITY, 6, 0), SPK_EINVAL);
  CHECK(e == NULL);
  CHECK_INT(spk_encoder_new(NULL, SPK_CODING_GZIP, 6, 0), SPK_EINVAL);
  CHECK_INT(spk_encoder_feed(NULL, "x", 1, &out), SPK_EINVAL);
  spk_encoder_free(NULL);
  spk__buf_free(&out);
  spk__buf_free(&dec);
  free(json);
}

/* Every codec allocates through the replaceable allocator, frees all of it, and a failed
 * allocation is SPK_ENOMEM (never a crash). */
static long live_, calls_, fail_at_;
static void *t_malloc(size_t n) {
  if (fail_at_ && ++calls_ >= fail_at_) return NULL;
  void *p = malloc(n ? n : 1);
  if (p) live_++;
  return p;
}
static void *t_calloc(size_t a, size_t b) {
  if (fail_at_ && ++calls_ >= fail_at_) return NULL;
  void *p = calloc(a ? a : 1, b ? b : 1);
  if (p) live_++;
  return p;
}
static void *t_realloc(void *p, size_t n) {
  if (fail_at_ && ++calls_ >= fail_at_) return NULL;
  void *q = realloc(p, n ? n : 1);
  if (q && !p) live_++;
  return q;
}
static void t_free(void *p) {
  if (p) live_--, free(p);
}

static void test_allocator(void) {
  size_t n = 10000;
  char *json = json_payload(n);
  CHECK_INT(spk_replace_allocator(t_malloc, t_realloc, t_calloc, t_free), 0);
  for (size_t i = 0; i < sizeof(all_codings) / sizeof(all_codings[0]); i++) {
    spk_coding_t c = all_codings[i];
    live_ = 0, fail_at_ = 0;
    spk__buf_t out = {0};
    CHECK_INT(spk_compress(c, 6, json, n, SIZE_MAX, &out), 0);
    CHECK(live_ >= 1); /* the output buffer */
    spk__buf_free(&out);
    CHECK_INT(live_, 0);
    /* Fail the k-th allocation, for each k until one run succeeds: always ENOMEM or OK.
     * Not brotli: Debian's libbrotlienc 1.0.9 is built to exit() when its allocator fails
     * (BROTLI_ENCODER_EXIT_ON_OOM) — a documented limitation (docs/middleware.md). */
    for (long k = 1; c != SPK_CODING_BR && k < 200; k++) {
      live_ = 0, calls_ = 0, fail_at_ = k;
      spk__buf_t o = {0};
      int rc = spk_compress(c, 6, json, n, SIZE_MAX, &o);
      fail_at_ = 0;
      if (rc != SPK_OK && rc != SPK_ENOMEM) fprintf(stderr, "coding %d k=%ld rc=%d\n", c, k, rc);
      CHECK(rc == SPK_OK || rc == SPK_ENOMEM);
      spk__buf_free(&o);
      CHECK_INT(live_, 0);
      if (rc == SPK_OK) break;
    }
  }
  fail_at_ = 0;
  CHECK_INT(spk_replace_allocator(malloc, realloc, calloc, free), 0);
  free(json);
}

/* ---- negotiation ---- */

#define ALL                                                                              \
  (SPK_CODING_BIT(SPK_CODING_BR) | SPK_CODING_BIT(SPK_CODING_ZSTD) |                    \
   SPK_CODING_BIT(SPK_CODING_GZIP) | SPK_CODING_BIT(SPK_CODING_DEFLATE))
#define GZ SPK_CODING_BIT(SPK_CODING_GZIP)
#define BR SPK_CODING_BIT(SPK_CODING_BR)
#define ZS SPK_CODING_BIT(SPK_CODING_ZSTD)
#define DF SPK_CODING_BIT(SPK_CODING_DEFLATE)

static void test_negotiation_table(void) {
  static const struct {
    const char *header; /* NULL: no Accept-Encoding field */
    unsigned enabled;
    spk_coding_t want;
  } cases[] = {
      {NULL, ALL, SPK_CODING_IDENTITY},
      {"", ALL, SPK_CODING_IDENTITY},
      {"gzip", ALL, SPK_CODING_GZIP},
      {"br", ALL, SPK_CODING_BR},
      {"zstd", ALL, SPK_CODING_ZSTD},
      {"deflate", ALL, SPK_CODING_DEFLATE},
      {"gzip, deflate, br, zstd", ALL, SPK_CODING_BR},          /* tie → server order */
      {"gzip, deflate, br, zstd", GZ | ZS | DF, SPK_CODING_ZSTD},
      {"gzip, deflate", ALL, SPK_CODING_GZIP},
      {"deflate, gzip", GZ | DF, SPK_CODING_GZIP},
      {"gzip;q=0.5, br;q=0.8", ALL, SPK_CODING_BR},
      {"gzip;q=0.9, br;q=0.8", ALL, SPK_CODING_GZIP},           /* client weight beats order */
      {"gzip;q=0", ALL, SPK_CODING_IDENTITY},
      {"gzip;q=0, br", ALL, SPK_CODING_BR},
      {"br;q=0, gzip;q=0.001", ALL, SPK_CODING_GZIP},
      {"*", ALL, SPK_CODING_BR},
      {"*", GZ, SPK_CODING_GZIP},
      {"*;q=0", ALL, SPK_CODING_IDENTITY},
      {"*;q=0, gzip", ALL, SPK_CODING_GZIP},
      {"*, br;q=0", ALL, SPK_CODING_ZSTD},
      {"*;q=0.1, gzip;q=0.5", BR | GZ, SPK_CODING_GZIP},
      {"identity", ALL, SPK_CODING_IDENTITY},
      {"identity;q=0", ALL, SPK_CODING_IDENTITY},               /* nothing else acceptable */
      {"identity;q=0, gzip", ALL, SPK_CODING_GZIP},
      {"gzip;q=0.5, identity", ALL, SPK_CODING_IDENTITY},       /* identity weighted higher */
      {"gzip, identity;q=0.5", ALL, SPK_CODING_GZIP},
      {"gzip, identity", ALL, SPK_CODING_GZIP},                 /* tie: compress */
      {"gzip;q=0.5, *;q=1", GZ, SPK_CODING_IDENTITY},           /* * weights identity above */
      {"GZIP", ALL, SPK_CODING_GZIP},                           /* case-insensitive */
      {"Br", ALL, SPK_CODING_BR},
      {"gzip;Q=0", ALL, SPK_CODING_IDENTITY},
      {"  gzip  ;  q=0.8  ,  br ; q = 0.9 ", ALL, SPK_CODING_BR}, /* whitespace */
      {"x-gzip", ALL, SPK_CODING_GZIP},
      {"compress, gzip", ALL, SPK_CODING_GZIP},                 /* unknown coding skipped */
      {"compress", ALL, SPK_CODING_IDENTITY},
      {"gzip", BR | ZS, SPK_CODING_IDENTITY},                   /* not enabled */
      {"gzip", 0, SPK_CODING_IDENTITY},
      {"br;q=1.000", ALL, SPK_CODING_BR},
      {"br;q=1.001", GZ | BR, SPK_CODING_IDENTITY},             /* malformed weight: ignored */
      {"br;q=2, gzip", ALL, SPK_CODING_GZIP},
      {"br;q=0.1234, gzip;q=0.1", ALL, SPK_CODING_GZIP},        /* 4 decimals: malformed */
      {"br;q=abc, gzip;q=0.1", ALL, SPK_CODING_GZIP},
      {"br;q=, gzip;q=0.1", ALL, SPK_CODING_GZIP},
      {"br;q=-1, gzip;q=0.1", ALL, SPK_CODING_GZIP},
      {"br;q=0., zstd", ALL, SPK_CODING_ZSTD},                  /* "0." is 0 */
      {",,, ,gzip,,", ALL, SPK_CODING_GZIP},                    /* empty elements */
      {";;;", ALL, SPK_CODING_IDENTITY},
      {"gzip;level=9;q=0.7, zstd;q=0.6", ALL, SPK_CODING_GZIP}, /* other params ignored */
      {"gzip;q=0.7;foo, zstd;q=0.6", ALL, SPK_CODING_GZIP},
      {"gzip, gzip;q=0", ALL, SPK_CODING_GZIP},                 /* first mention wins */
      {"gzip;q=0, gzip", ALL, SPK_CODING_IDENTITY},
      {"br;q=0.5, zstd;q=0.5, gzip;q=0.5", ALL, SPK_CODING_BR},
      {"zstd;q=0.5, gzip;q=0.5, deflate;q=0.5", ALL, SPK_CODING_ZSTD},
      {"gzip;q=0.500, deflate;q=0.5", ALL, SPK_CODING_GZIP},
      {"deflate;q=0.6, gzip;q=0.5", ALL, SPK_CODING_DEFLATE},
      {"\xff\xfe, gzip", ALL, SPK_CODING_GZIP},                 /* bytes outside ASCII */
      {"gzip\tbr", ALL, SPK_CODING_IDENTITY},                   /* not a list: one bad token */
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    spk_accept_encoding_t ae;
    spk_accept_encoding_init(&ae);
    if (cases[i].header) spk_accept_encoding_parse(&ae, cases[i].header, strlen(cases[i].header));
    spk_coding_t got = spk_accept_encoding_choose(&ae, cases[i].enabled);
    if (got != cases[i].want)
      fprintf(stderr, "case %zu \"%s\" (enabled %#x): got %s, expected %s\n", i,
              cases[i].header ? cases[i].header : "(none)", cases[i].enabled,
              spk_coding_name(got), spk_coding_name(cases[i].want));
    CHECK_INT(got, cases[i].want);
  }
  CHECK(sizeof(cases) / sizeof(cases[0]) >= 30);
}

/* Several Accept-Encoding fields combine as one list. */
static void test_negotiation_fields(void) {
  spk_accept_encoding_t ae;
  spk_accept_encoding_init(&ae);
  spk_accept_encoding_parse(&ae, "gzip;q=0.3", 10);
  spk_accept_encoding_parse(&ae, "zstd;q=0.4", 10);
  CHECK_INT(spk_accept_encoding_choose(&ae, ALL), SPK_CODING_ZSTD);
  CHECK_INT(spk_accept_encoding_choose(&ae, GZ), SPK_CODING_GZIP);
  CHECK_INT(spk_accept_encoding_negotiate("br", 2, ALL), SPK_CODING_BR);
  CHECK_INT(spk_accept_encoding_negotiate(NULL, 0, ALL), SPK_CODING_IDENTITY);
  /* A length, not a NUL, ends the value. */
  CHECK_INT(spk_accept_encoding_negotiate("gzip, br", 4, ALL), SPK_CODING_GZIP);
}

int main(void) {
  RUN(test_names_and_levels);
  RUN(test_roundtrip_all_levels);
  RUN(test_limit_and_append);
  RUN(test_streaming);
  RUN(test_allocator);
  RUN(test_negotiation_table);
  RUN(test_negotiation_fields);
  return test_report("compress");
}
