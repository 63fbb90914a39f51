/* libFuzzer target: HTTP/1 request head parser, then the chunked decoder on what follows.
 *
 * Checked for every input:
 *   - the return value is SPK_EAGAIN, a documented error, or a head length within the input;
 *   - on success every slice lies inside the head, and the derived fields are consistent;
 *   - parsing is deterministic and split-invariant: every prefix gives SPK_EAGAIN or the whole
 *     input's answer with identical fields (all prefixes for small inputs, a sample otherwise);
 *   - for a chunked request, decoding the rest in one call, byte by byte and at one split point
 *     gives the same bytes, result and leftover. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http1.h"

#define CAP 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)   \
  do {               \
    if (!(c)) abort(); \
  } while (0)

static int is_known(int rc) {
  return rc == SPK_EAGAIN || rc == SPK_EPROTO || rc == SPK_EURITOOLONG || rc == SPK_EHDRTOOLARGE ||
         rc == SPK_ESMUGGLE || rc == SPK_ENOTIMPL || rc == SPK_EMETHOD;
}

static void in_head(const char *base, size_t head, spk_str_t s) {
  if (s.len == 0) return;
  REQUIRE(s.ptr >= base && s.ptr + s.len <= base + head);
}

/* Fields as offsets, so that two parses of two copies can be compared. */
static void same(const char *ba, const spk_h1_request_t *a, const char *bb, const spk_h1_request_t *b) {
#define SAME(f) REQUIRE(a->f.len == b->f.len && (a->f.len == 0 || a->f.ptr - ba == b->f.ptr - bb))
  SAME(method);
  SAME(target);
  SAME(path);
  SAME(query);
  SAME(host);
  REQUIRE(a->header_count == b->header_count);
  for (size_t i = 0; i < a->header_count; i++) {
    SAME(headers[i].name);
    SAME(headers[i].value);
  }
#undef SAME
  REQUIRE(a->target_form == b->target_form && a->minor_version == b->minor_version);
  REQUIRE(a->content_length == b->content_length && a->chunked == b->chunked);
  REQUIRE(a->keep_alive == b->keep_alive && a->upgrade == b->upgrade);
  REQUIRE(a->expect_continue == b->expect_continue && a->head_len == b->head_len);
}

static int parse_copy(const uint8_t *data, size_t n, const spk_h1_limits_t *l, unsigned flags,
                      spk_h1_header_t *hs, spk_h1_request_t *r, char **out) {
  char *b = malloc(n ? n : 1); /* exact size: ASan flags any read past n */
  REQUIRE(b);
  memcpy(b, data, n);
  int rc = spk_h1_parse_request_ex(b, n, l, hs, CAP, flags, r);
  *out = b;
  return rc;
}

typedef struct decoded {
  int rc;
  char *out;
  size_t out_len;
  size_t rest_len; /* leftover bytes (rc >= 0) */
} decoded_t;

/* Decode body[0..n) handing the decoder `step` bytes per call. */
static void decode(const char *body, size_t n, size_t step, decoded_t *d) {
  spk_h1_chunked_t st;
  spk_h1_chunked_init(&st);
  d->out = malloc(n + 1);
  REQUIRE(d->out);
  d->out_len = 0;
  d->rest_len = 0;
  d->rc = SPK_EAGAIN;
  size_t i = 0;
  while (i < n) {
    size_t k = n - i < step ? n - i : step;
    char *b = malloc(k);
    REQUIRE(b);
    memcpy(b, body + i, k);
    size_t len = k;
    int rc = spk_h1_chunked_decode(&st, b, &len);
    REQUIRE(len <= k);
    memcpy(d->out + d->out_len, b, len);
    d->out_len += len;
    if (rc >= 0) {
      REQUIRE((size_t)rc <= k - len);
      /* the leftover is exactly the tail of what was handed in */
      REQUIRE(memcmp(b + len, body + i + k - (size_t)rc, (size_t)rc) == 0);
      d->rest_len = (size_t)rc + (n - i - k);
      d->rc = 0;
      free(b);
      return;
    }
    free(b);
    d->rc = rc;
    REQUIRE(rc == SPK_EAGAIN || rc == SPK_EPROTO || rc == SPK_ERANGE || rc == SPK_EHDRTOOLARGE);
    if (rc != SPK_EAGAIN) return;
    i += k;
  }
}

static void check_chunked(const char *body, size_t n, size_t split) {
  decoded_t whole, bytes, two;
  decode(body, n, n ? n : 1, &whole);
  decode(body, n, 1, &bytes);
  decode(body, n, split ? split : 1, &two);
  const decoded_t *v[2] = {&bytes, &two};
  for (int i = 0; i < 2; i++) {
    REQUIRE(v[i]->rc == whole.rc);
    REQUIRE(v[i]->out_len == whole.out_len);
    REQUIRE(memcmp(v[i]->out, whole.out, whole.out_len) == 0);
    REQUIRE(v[i]->rest_len == whole.rest_len);
  }
  free(whole.out);
  free(bytes.out);
  free(two.out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Configuration from the input without a prefix byte, so that seeds are plain requests. */
  unsigned cfg = size ? (unsigned)(data[size - 1] ^ size) : 0;
  spk_h1_limits_t lim = {8192, CAP, 65536, (int)(cfg & 1)};
  if (cfg & 2) { /* small limits: reach 414/431 on short inputs */
    lim.max_request_line = 24 + (cfg >> 4 & 7);
    lim.max_header_count = 3;
    lim.max_header_bytes = 96 + (cfg >> 3 & 31);
  }
  unsigned flags = (cfg & 4) ? SPK_H1_LENIENT_MISSING_HOST : 0;

  spk_h1_header_t hs[CAP], hp[CAP];
  spk_h1_request_t r, p;
  char *buf, *pb;
  int rc = parse_copy(data, size, &lim, flags, hs, &r, &buf);
  REQUIRE(rc > 0 || is_known(rc));

  if (rc > 0) {
    size_t head = (size_t)rc;
    REQUIRE(head <= size && r.head_len == head);
    REQUIRE(r.headers == hs && r.header_count <= lim.max_header_count);
    REQUIRE(head <= lim.max_header_bytes);
    in_head(buf, head, r.method);
    in_head(buf, head, r.target);
    in_head(buf, head, r.path);
    in_head(buf, head, r.query);
    in_head(buf, head, r.host);
    for (size_t i = 0; i < r.header_count; i++) {
      REQUIRE(hs[i].name.len > 0);
      in_head(buf, head, hs[i].name);
      in_head(buf, head, hs[i].value);
    }
    REQUIRE(r.method.len > 0 && r.target.len > 0 && r.path.len > 0);
    REQUIRE(r.minor_version == 0 || r.minor_version == 1);
    REQUIRE(r.target_form >= SPK_H1_ORIGIN_FORM && r.target_form <= SPK_H1_ASTERISK_FORM);
    REQUIRE(r.content_length >= -1);
    REQUIRE(!r.chunked || (r.content_length == -1 && r.minor_version == 1));
    REQUIRE(!r.upgrade || r.minor_version == 1);
    /* the head alone gives the same answer */
    int rh = parse_copy(data, head, &lim, flags, hp, &p, &pb);
    REQUIRE(rh == rc);
    same(buf, &r, pb, &p);
    free(pb);
  }

  /* Determinism */
  int again = parse_copy(data, size, &lim, flags, hp, &p, &pb);
  REQUIRE(again == rc);
  if (rc > 0) same(buf, &r, pb, &p);
  free(pb);

  /* Split invariance: every prefix for small inputs, 32 of them otherwise. */
  size_t limit = rc > 0 ? (size_t)rc : size;
  size_t stride = limit <= 256 ? 1 : limit / 32;
  for (size_t k = 0; k < limit; k += stride) {
    int rk = parse_copy(data, k, &lim, flags, hp, &p, &pb);
    REQUIRE(rk == SPK_EAGAIN || rk == rc);
    if (rk > 0) same(buf, &r, pb, &p);
    free(pb);
  }

  if (rc > 0 && r.chunked) {
    size_t head = (size_t)rc;
    size_t split = size > head ? 1 + (size_t)data[head] % (size - head) : 1;
    check_chunked(buf + head, size - head, split);
  }
  free(buf);
  return 0;
}
