/* base64url without padding (RFC 4648 §5), strict decoding. */
#include "proto/base64url.h"

#include <stdint.h>

#include "spikard/common.h"

static const char enc_table[64] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

/* 0..63, or -1 for a character outside the URL alphabet. */
static int dec(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

size_t spk_base64url_encode(char *out, const void *in, size_t n) {
  const unsigned char *p = in;
  size_t o = 0, i = 0;
  for (; i + 3 <= n; i += 3) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
    out[o++] = enc_table[v >> 18];
    out[o++] = enc_table[(v >> 12) & 63];
    out[o++] = enc_table[(v >> 6) & 63];
    out[o++] = enc_table[v & 63];
  }
  if (n - i == 1) {
    uint32_t v = (uint32_t)p[i] << 16;
    out[o++] = enc_table[v >> 18];
    out[o++] = enc_table[(v >> 12) & 63];
  } else if (n - i == 2) {
    uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
    out[o++] = enc_table[v >> 18];
    out[o++] = enc_table[(v >> 12) & 63];
    out[o++] = enc_table[(v >> 6) & 63];
  }
  return o;
}

int spk_base64url_decode(void *out, size_t *out_len, const char *in, size_t n) {
  unsigned char *o = out;
  size_t k = 0, i = 0;
  if (n % 4 == 1) return SPK_EPROTO; /* 6 bits cannot make a byte */
  for (; i + 4 <= n; i += 4) {
    int a = dec((unsigned char)in[i]), b = dec((unsigned char)in[i + 1]);
    int c = dec((unsigned char)in[i + 2]), d = dec((unsigned char)in[i + 3]);
    if ((a | b | c | d) < 0) return SPK_EPROTO;
    uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6 | (uint32_t)d;
    o[k++] = (unsigned char)(v >> 16);
    o[k++] = (unsigned char)(v >> 8);
    o[k++] = (unsigned char)v;
  }
  size_t rest = n - i;
  if (rest >= 2) {
    int a = dec((unsigned char)in[i]), b = dec((unsigned char)in[i + 1]);
    int c = rest == 3 ? dec((unsigned char)in[i + 2]) : 0;
    if ((a | b | c) < 0) return SPK_EPROTO;
    uint32_t v = (uint32_t)a << 18 | (uint32_t)b << 12 | (uint32_t)c << 6;
    /* Canonical form: the bits below the last whole byte must be zero. */
    if (rest == 2 ? (v & 0xFFFF) != 0 : (v & 0xFF) != 0) return SPK_EPROTO;
    o[k++] = (unsigned char)(v >> 16);
    if (rest == 3) o[k++] = (unsigned char)(v >> 8);
  }
  *out_len = k;
  return SPK_OK;
}
