/* libFuzzer target: the chunked body decoder alone.
 *
 * The input is a chunked body (plus whatever follows it). Decoding it in one call, one byte per
 * call, and in pieces of a size taken from the input must all agree on the decoded bytes, the
 * result and the leftover; the leftover must be exactly the input's tail; the decoded bytes can
 * never outnumber the input. Errors must be sticky. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http1.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)     \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

typedef struct run {
  int rc;
  char *out;
  size_t out_len;
  size_t rest_len;
} run_t;

static void decode(const uint8_t *in, size_t n, size_t step, run_t *r) {
  spk_h1_chunked_t d;
  spk_h1_chunked_init(&d);
  r->out = malloc(n + 1);
  REQUIRE(r->out);
  r->out_len = r->rest_len = 0;
  r->rc = SPK_EAGAIN;
  size_t i = 0;
  while (i < n) {
    size_t k = n - i < step ? n - i : step;
    char *b = malloc(k); /* exact size */
    REQUIRE(b);
    memcpy(b, in + i, k);
    size_t len = k;
    int rc = spk_h1_chunked_decode(&d, b, &len);
    REQUIRE(len <= k);
    memcpy(r->out + r->out_len, b, len);
    r->out_len += len;
    if (rc >= 0) {
      REQUIRE((size_t)rc <= k - len);
      REQUIRE(memcmp(b + len, in + i + k - (size_t)rc, (size_t)rc) == 0);
      r->rest_len = (size_t)rc + (n - i - k);
      r->rc = 0;
      free(b);
      /* once complete, everything else is leftover */
      if (i + k < n) {
        char extra[8];
        size_t m = n - i - k < sizeof extra ? n - i - k : sizeof extra;
        memcpy(extra, in + i + k, m);
        size_t el = m;
        REQUIRE(spk_h1_chunked_decode(&d, extra, &el) == (int)m && el == 0);
      }
      return;
    }
    free(b);
    r->rc = rc;
    REQUIRE(rc == SPK_EAGAIN || rc == SPK_EPROTO || rc == SPK_ERANGE || rc == SPK_EHDRTOOLARGE);
    if (rc != SPK_EAGAIN) {
      /* sticky */
      char again[4] = "0\r\n";
      size_t al = 3;
      REQUIRE(spk_h1_chunked_decode(&d, again, &al) == rc && al == 0);
      return;
    }
    i += k;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  run_t whole, bytes, pieces;
  size_t step = size ? 1 + (size_t)data[0] % 17 : 1;
  decode(data, size, size ? size : 1, &whole);
  decode(data, size, 1, &bytes);
  decode(data, size, step, &pieces);
  REQUIRE(whole.out_len <= size);
  REQUIRE(whole.out_len + whole.rest_len <= size);
  const run_t *v[2] = {&bytes, &pieces};
  for (int i = 0; i < 2; i++) {
    REQUIRE(v[i]->rc == whole.rc);
    REQUIRE(v[i]->out_len == whole.out_len);
    REQUIRE(memcmp(v[i]->out, whole.out, whole.out_len) == 0);
    REQUIRE(v[i]->rest_len == whole.rest_len);
  }
  /* round trip: re-frame the decoded bytes as one chunk and decode again */
  if (whole.rc == 0) {
    char *wire = malloc(whole.out_len + 32);
    REQUIRE(wire);
    size_t w = 0;
    if (whole.out_len) { /* a zero-size chunk would be the last-chunk */
      w = spk_h1_chunk_header(wire, whole.out_len);
      memcpy(wire + w, whole.out, whole.out_len);
      memcpy(wire + w + whole.out_len, "\r\n", 2);
      w += whole.out_len + 2;
    }
    memcpy(wire + w, "0\r\n\r\n", 5);
    w += 5;
    run_t rt;
    decode((const uint8_t *)wire, w, w, &rt);
    REQUIRE(rt.rc == 0 && rt.rest_len == 0 && rt.out_len == whole.out_len);
    REQUIRE(memcmp(rt.out, whole.out, whole.out_len) == 0);
    free(rt.out);
    free(wire);
  }
  free(whole.out);
  free(bytes.out);
  free(pieces.out);
  return 0;
}
