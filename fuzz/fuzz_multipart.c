/* libFuzzer target: the incremental multipart/form-data parser (proto/multipart).
 *
 * Input: byte 0 picks the boundary (and the limits), the rest is the body. The body is parsed
 * in one piece, one byte at a time, and in pieces whose sizes come from a PRNG seeded by the
 * input; the three transcripts (part headers, data, ends, result code and message) must be
 * identical. Data must stream (never more than a partial delimiter held back), callbacks must
 * be well nested, errors and completion sticky, and spk_multipart_parse must agree with the
 * streaming transcript. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/multipart.h"
#include "util/arena.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)     \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static const char *const BOUNDARIES[] = {"XyZ", "q", "----WebKitFormBoundary7MA4YWxkTrZu0gW",
                                         "a b", "--"};
#define NB (sizeof BOUNDARIES / sizeof BOUNDARIES[0])

typedef struct rec {
  spk__buf_t t;
  int in_part;
  size_t emitted;
  int rc;
  const char *msg; /* static text */
} rec_t;

static void put(spk__buf_t *b, const void *p, size_t n) { REQUIRE(spk__buf_append(b, p, n) == 0); }

static void put_str(spk__buf_t *b, spk_str_t s) {
  char tag = s.ptr ? 'S' : 'N';
  put(b, &tag, 1);
  put(b, &s.len, sizeof s.len);
  if (s.len) put(b, s.ptr, s.len);
}

static int on_begin(void *ud, const spk_multipart_part_info_t *info) {
  rec_t *r = ud;
  REQUIRE(!r->in_part);
  REQUIRE(info->name.ptr);
  r->in_part = 1;
  put(&r->t, "B", 1);
  put_str(&r->t, info->name);
  put_str(&r->t, info->filename);
  put_str(&r->t, info->content_type);
  put(&r->t, &info->header_count, sizeof info->header_count);
  for (size_t i = 0; i < info->header_count; i++) {
    put_str(&r->t, info->headers[i].name);
    put_str(&r->t, info->headers[i].value);
  }
  return 0;
}

static int on_data(void *ud, const char *d, size_t n) {
  rec_t *r = ud;
  REQUIRE(r->in_part && n > 0);
  put(&r->t, d, n); /* coalesced: chunking must not show */
  r->emitted += n;
  return 0;
}

static int on_end(void *ud) {
  rec_t *r = ud;
  REQUIRE(r->in_part);
  r->in_part = 0;
  put(&r->t, "E", 1);
  return 0;
}

static const spk_multipart_callbacks_t CB = {on_begin, on_data, on_end};

static uint64_t rng_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

/* mode 0: whole, 1: bytes, 2: random pieces */
static void run(const char *body, size_t n, const char *bnd, const spk_multipart_limits_t *lim,
                int mode, uint64_t seed, rec_t *r) {
  spk__arena_t a;
  spk__arena_init(&a, 512);
  memset(r, 0, sizeof *r);
  spk_multipart_parser_t *p = spk_multipart_parser_new(&a, bnd, strlen(bnd), lim, &CB, r);
  REQUIRE(p);
  const size_t delim_len = strlen(bnd) + 4;
  int rc = 0;
  const char *msg = NULL;
  size_t i = 0;
  while (i < n) {
    size_t k = mode == 0 ? n : mode == 1 ? 1 : 1 + (size_t)(rng_next(&seed) % 64);
    if (k > n - i) k = n - i;
    char *chunk = malloc(k);
    REQUIRE(chunk);
    memcpy(chunk, body + i, k);
    size_t before = r->emitted;
    rc = spk_multipart_feed(p, chunk, k, &msg);
    free(chunk);
    REQUIRE(rc == 0 || rc == 1 || rc == SPK_EPROTO || rc == SPK_ERANGE);
    REQUIRE((rc < 0) == (msg != NULL));
    REQUIRE(r->emitted - before <= k + delim_len);
    i += k;
    if (rc != 0) break;
  }
  if (rc == 0) {
    rc = spk_multipart_finish(p, &msg);
    REQUIRE(rc == 0 || rc == SPK_EPROTO);
    if (rc == 0) REQUIRE(!r->in_part);
  } else if (rc == 1) {
    REQUIRE(!r->in_part);
    REQUIRE(spk_multipart_feed(p, "x", 1, NULL) == 1);
    rc = spk_multipart_finish(p, &msg);
    REQUIRE(rc == 0 && msg == NULL);
  } else {
    /* sticky */
    const char *m2 = NULL;
    REQUIRE(spk_multipart_feed(p, "\r\n", 2, &m2) == rc && m2 == msg);
    REQUIRE(spk_multipart_finish(p, &m2) == rc && m2 == msg);
  }
  r->rc = rc;
  r->msg = msg;
  put(&r->t, "R", 1);
  put(&r->t, &rc, sizeof rc);
  if (msg) put(&r->t, msg, strlen(msg));
  spk__arena_free(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  const char *bnd = BOUNDARIES[data[0] % NB];
  spk_multipart_limits_t lim = {0, 0, 0};
  if (data[0] & 0x80) {
    lim.max_parts = 3;
    lim.max_part_headers = 64;
  }
  const char *body = (const char *)data + 1;
  size_t n = size - 1;
  uint64_t seed = 0x9E3779B97F4A7C15ull;
  for (size_t i = 0; i < size; i++) seed = (seed ^ data[i]) * 0x100000001B3ull;
  if (!seed) seed = 1;

  rec_t whole, bytes, pieces;
  run(body, n, bnd, &lim, 0, seed, &whole);
  run(body, n, bnd, &lim, 1, seed, &bytes);
  run(body, n, bnd, &lim, 2, seed, &pieces);
  REQUIRE(whole.t.len == bytes.t.len && memcmp(whole.t.data, bytes.t.data, whole.t.len) == 0);
  REQUIRE(whole.t.len == pieces.t.len && memcmp(whole.t.data, pieces.t.data, whole.t.len) == 0);
  REQUIRE(whole.emitted <= n);

  /* the collecting parser agrees on the outcome and the data */
  spk__arena_t a;
  spk__arena_init(&a, 512);
  spk_multipart_part_t *parts = NULL;
  size_t count = 0;
  const char *msg = NULL;
  int rc = spk_multipart_parse(&a, body, n, bnd, strlen(bnd), &lim, &parts, &count, &msg);
  REQUIRE(rc == whole.rc);
  REQUIRE((msg == NULL) == (whole.msg == NULL) && (!msg || strcmp(msg, whole.msg) == 0));
  if (rc == 0) {
    size_t total = 0;
    for (size_t i = 0; i < count; i++) {
      REQUIRE(parts[i].info.name.ptr && parts[i].info.name.ptr[parts[i].info.name.len] == '\0');
      REQUIRE(parts[i].data.ptr && parts[i].data.ptr[parts[i].data.len] == '\0');
      total += parts[i].data.len;
    }
    REQUIRE(total == whole.emitted);
  } else {
    REQUIRE(count == 0 && parts == NULL && msg != NULL);
  }
  spk__arena_free(&a);

  spk__buf_free(&whole.t);
  spk__buf_free(&bytes.t);
  spk__buf_free(&pieces.t);
  return 0;
}
