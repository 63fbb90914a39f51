/* libFuzzer target: the encoders of proto/compress.c (one-shot with an output limit, and the
 * streaming encoder with feed / flush / finish at input-chosen points).
 *
 * Input: byte 0 picks the coding, byte 1 the level (clamped), byte 2 the chunk size and flush
 * rhythm; the rest is the body. Checks: every encoding decodes (with zlib/brotli/zstd
 * directly) to the body; a one-shot encode under a limit either fits the limit and decodes, or
 * is SPK_ERANGE with the buffer untouched, and is SPK_ERANGE exactly when the unlimited
 * encoding is longer than the limit; every flush point is decodable up to what was fed. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include "proto/compress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)     \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

/* Decode; `partial`: the stream may stop at a flush point. 0 ok, -1 error. */
static int decode(spk_coding_t c, const char *in, size_t len, int partial, spk__buf_t *out) {
  out->len = 0;
  if (c == SPK_CODING_GZIP || c == SPK_CODING_DEFLATE) {
    z_stream z;
    memset(&z, 0, sizeof(z));
    if (inflateInit2(&z, c == SPK_CODING_GZIP ? 31 : 15) != Z_OK) return -1;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    int rc;
    do {
      REQUIRE(spk__buf_reserve(out, 4096) == 0);
      z.next_out = (Bytef *)out->data + out->len;
      z.avail_out = (uInt)(out->cap - out->len);
      rc = inflate(&z, Z_NO_FLUSH);
      out->len = out->cap - z.avail_out;
    } while (rc == Z_OK && (z.avail_in || z.avail_out == 0));
    inflateEnd(&z);
    if (rc == Z_STREAM_END) return z.avail_in ? -1 : 0;
    return partial && (rc == Z_OK || rc == Z_BUF_ERROR) && !z.avail_in ? 0 : -1;
  }
  if (c == SPK_CODING_BR) {
    BrotliDecoderState *d = BrotliDecoderCreateInstance(NULL, NULL, NULL);
    const uint8_t *ni = (const uint8_t *)in;
    size_t ai = len;
    BrotliDecoderResult r;
    do {
      REQUIRE(spk__buf_reserve(out, 4096) == 0);
      uint8_t *no = (uint8_t *)out->data + out->len;
      size_t ao = out->cap - out->len;
      r = BrotliDecoderDecompressStream(d, &ai, &ni, &ao, &no, NULL);
      out->len = out->cap - ao;
    } while (r == BROTLI_DECODER_RESULT_NEEDS_MORE_OUTPUT);
    BrotliDecoderDestroyInstance(d);
    if (r == BROTLI_DECODER_RESULT_SUCCESS) return ai ? -1 : 0;
    return partial && r == BROTLI_DECODER_RESULT_NEEDS_MORE_INPUT ? 0 : -1;
  }
  ZSTD_DCtx *d = ZSTD_createDCtx();
  ZSTD_inBuffer ib = {in, len, 0};
  size_t r = 1;
  while (ib.pos < ib.size || r != 0) {
    REQUIRE(spk__buf_reserve(out, 4096) == 0);
    ZSTD_outBuffer ob = {out->data + out->len, out->cap - out->len, 0};
    r = ZSTD_decompressStream(d, &ob, &ib);
    out->len += ob.pos;
    if (ZSTD_isError(r) || (ib.pos == ib.size && ob.pos < ob.size)) break;
  }
  ZSTD_freeDCtx(d);
  if (ZSTD_isError(r)) return -1;
  return r == 0 || partial ? 0 : -1;
}

static int same(const spk__buf_t *b, const uint8_t *p, size_t n) {
  return b->len == n && (n == 0 || memcmp(b->data, p, n) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 3) return 0;
  static const spk_coding_t codings[] = {SPK_CODING_GZIP, SPK_CODING_DEFLATE, SPK_CODING_BR,
                                         SPK_CODING_ZSTD};
  spk_coding_t c = codings[data[0] % 4];
  int level = data[1] % 20;
  if (c == SPK_CODING_BR && level > 9) level = 9; /* 10-11 are too slow for a fuzzer */
  size_t chunk = (size_t)(data[2] & 0x3f) + 1;
  int flush_every = (data[2] >> 6) + 1;
  const uint8_t *body = data + 3;
  size_t len = size - 3;
  spk__buf_t enc = {0}, dec = {0};

  /* One-shot, unlimited. */
  REQUIRE(spk_compress(c, level, body, len, SIZE_MAX, &enc) == 0);
  REQUIRE(decode(c, enc.data, enc.len, 0, &dec) == 0 && same(&dec, body, len));
  size_t full = enc.len;

  /* Under a limit: ERANGE exactly when the encoding does not fit; the prefix survives. */
  size_t limit = len ? len - 1 : 0;
  enc.len = 0;
  REQUIRE(spk__buf_append(&enc, "P", 1) == 0);
  int rc = spk_compress(c, level, body, len, limit, &enc);
  REQUIRE(rc == 0 || rc == SPK_ERANGE);
  if (rc == 0) {
    REQUIRE(enc.len - 1 <= limit);
    REQUIRE(decode(c, enc.data + 1, enc.len - 1, 0, &dec) == 0 && same(&dec, body, len));
  } else {
    REQUIRE(enc.len == 1 && enc.data[0] == 'P');
    REQUIRE(full > limit);
  }
  if (full <= limit) REQUIRE(rc == 0);

  /* Streaming with flushes. */
  spk_encoder_t *e = NULL;
  REQUIRE(spk_encoder_new(&e, c, level, 0) == 0);
  enc.len = 0;
  size_t fed = 0;
  for (int k = 1; fed < len; k++) {
    size_t n = len - fed < chunk ? len - fed : chunk;
    REQUIRE(spk_encoder_feed(e, body + fed, n, &enc) == 0);
    fed += n;
    if (k % flush_every == 0) {
      REQUIRE(spk_encoder_flush(e, &enc) == 0);
      REQUIRE(decode(c, enc.data, enc.len, 1, &dec) == 0 && same(&dec, body, fed));
    }
  }
  REQUIRE(spk_encoder_finish(e, NULL, 0, &enc) == 0);
  REQUIRE(spk_encoder_produced(e) == enc.len);
  REQUIRE(decode(c, enc.data, enc.len, 0, &dec) == 0 && same(&dec, body, len));
  REQUIRE(spk_encoder_feed(e, body, len, &enc) == SPK_ESTATE);
  spk_encoder_free(e);
  spk__buf_free(&enc);
  spk__buf_free(&dec);
  return 0;
}
