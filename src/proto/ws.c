/* WebSocket codec (RFC 6455): see ws.h. */
#include "proto/ws.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <string.h>

#include "spikard/common.h"
#include "util/strutil.h"

/* ---- handshake ---- */

int spk_ws_key_valid(const char *key, size_t len) {
  /* 16 bytes encode to 24 characters: 22 of the alphabet and "==". */
  if (len != 24 || key[22] != '=' || key[23] != '=') return 0;
  unsigned char out[24];
  if (EVP_DecodeBlock(out, (const unsigned char *)key, 24) != 18) return 0;
  /* The unused low bits of the last character must be zero for a canonical 16-byte value. */
  static const char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const char *c = memchr(alphabet, key[21], 64);
  return c && ((c - alphabet) & 0x0f) == 0;
}

int spk_ws_accept(const char *key, size_t len, char out[SPK_WS_ACCEPT_LEN + 1]) {
  if (!spk_ws_key_valid(key, len)) return SPK_EINVAL;
  unsigned char digest[SHA_DIGEST_LENGTH];
  char joined[24 + sizeof(SPK_WS_GUID)];
  memcpy(joined, key, len);
  memcpy(joined + len, SPK_WS_GUID, sizeof(SPK_WS_GUID) - 1);
  SHA1((const unsigned char *)joined, len + sizeof(SPK_WS_GUID) - 1, digest);
  EVP_EncodeBlock((unsigned char *)out, digest, SHA_DIGEST_LENGTH);
  out[SPK_WS_ACCEPT_LEN] = '\0';
  return SPK_OK;
}

/* Next comma-separated element of [*p, end), OWS trimmed; 0 at the end. */
static int next_elem(const char **p, const char *end, const char **s, size_t *n) {
  while (*p < end) {
    const char *start = *p;
    const char *comma = memchr(start, ',', (size_t)(end - start));
    const char *stop = comma ? comma : end;
    *p = comma ? comma + 1 : end;
    const char *v = start;
    size_t vl = (size_t)(stop - start);
    spk__trim_ows(&v, &vl);
    if (vl) {
      *s = v;
      *n = vl;
      return 1;
    }
  }
  return 0;
}

int spk_ws_has_token(const char *list, size_t len, const char *token) {
  const char *p = list, *end = list + len, *s;
  size_t n, tl = strlen(token);
  while (next_elem(&p, end, &s, &n))
    if (spk__strieq(s, n, token, tl)) return 1;
  return 0;
}

int spk_ws_pick_subprotocol(const char *offered, size_t len, const char *const *supported,
                            size_t supported_count) {
  const char *p = offered, *end = offered + len, *s;
  size_t n;
  while (next_elem(&p, end, &s, &n))
    for (size_t i = 0; i < supported_count; i++)
      if (strlen(supported[i]) == n && memcmp(supported[i], s, n) == 0) return (int)i;
  return -1;
}

int spk_ws_close_code_valid(unsigned code) {
  if (code >= 1000 && code <= 1003) return 1;
  if (code >= 1007 && code <= 1011) return 1;
  /* 1012-1014 are registered with IANA (restart, try again later, bad gateway). */
  if (code >= 1012 && code <= 1014) return 1;
  return code >= 3000 && code <= 4999;
}

/* ---- UTF-8 ---- */

int spk_utf8_feed(spk_utf8_t *u, const uint8_t *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    if (u->need == 0) {
      /* ASCII fast path, 8 bytes at a time. */
      while (i + 8 <= n) {
        uint64_t w;
        memcpy(&w, s + i, 8);
        if (w & 0x8080808080808080ull) break;
        i += 8;
      }
      if (i >= n) break;
      uint8_t b = s[i++];
      if (b < 0x80) continue;
      if (b >= 0xC2 && b <= 0xDF) {
        u->need = 1, u->lo = 0x80, u->hi = 0xBF;
      } else if (b == 0xE0) {
        u->need = 2, u->lo = 0xA0, u->hi = 0xBF;
      } else if (b == 0xED) {
        u->need = 2, u->lo = 0x80, u->hi = 0x9F; /* no surrogates */
      } else if (b >= 0xE1 && b <= 0xEF) {
        u->need = 2, u->lo = 0x80, u->hi = 0xBF;
      } else if (b == 0xF0) {
        u->need = 3, u->lo = 0x90, u->hi = 0xBF;
      } else if (b >= 0xF1 && b <= 0xF3) {
        u->need = 3, u->lo = 0x80, u->hi = 0xBF;
      } else if (b == 0xF4) {
        u->need = 3, u->lo = 0x80, u->hi = 0x8F; /* ≤ U+10FFFF */
      } else {
        return -1;
      }
    } else {
      uint8_t b = s[i++];
      if (b < u->lo || b > u->hi) return -1;
      u->need--;
      u->lo = 0x80, u->hi = 0xBF;
    }
  }
  return 0;
}

int spk_utf8_valid(const void *s, size_t n) {
  spk_utf8_t u = {0, 0, 0};
  return spk_utf8_feed(&u, s, n) == 0 && spk_utf8_complete(&u);
}

/* ---- parser ---- */

void spk_ws_parser_init(spk_ws_parser_t *p, int client, uint64_t max_message) {
  memset(p, 0, sizeof(*p));
  p->client = client;
  p->max_message = max_message;
  p->hdr_need = 2;
}

void spk_ws_parser_free(spk_ws_parser_t *p) { spk__buf_free(&p->msg); }

static int fail(spk_ws_parser_t *p, int code) {
  p->failed = 1;
  p->error_code = code;
  return SPK_EPROTO;
}

static int is_control(int op) { return op >= 8; }

/* The header is complete: check it against the rules of §5.2-5.5. */
static int header_done(spk_ws_parser_t *p) {
  uint8_t b0 = p->hdr[0], b1 = p->hdr[1];
  p->fin = b0 >> 7;
  p->rsv1 = (b0 >> 6) & 1;
  p->op = b0 & 0x0f;
  p->masked = b1 >> 7;
  uint64_t len = b1 & 0x7f;
  size_t at = 2;
  if (len == 126) {
    len = (uint64_t)p->hdr[2] << 8 | p->hdr[3];
    if (len < 126) return fail(p, SPK_WS_CLOSE_PROTOCOL); /* not minimal */
    at = 4;
  } else if (len == 127) {
    len = 0;
    for (int i = 0; i < 8; i++) len = len << 8 | p->hdr[2 + i];
    if (len >> 63) return fail(p, SPK_WS_CLOSE_PROTOCOL); /* MSB must be 0 */
    if (len < 65536) return fail(p, SPK_WS_CLOSE_PROTOCOL);
    at = 10;
  }
  if (p->masked) memcpy(p->mask, p->hdr + at, 4);
  if (b0 & 0x30) return fail(p, SPK_WS_CLOSE_PROTOCOL); /* RSV2/RSV3: no extension uses them */
  if (p->client ? p->masked : !p->masked) return fail(p, SPK_WS_CLOSE_PROTOCOL);
  int op = p->op;
  if ((op > 2 && op < 8) || op > 10) return fail(p, SPK_WS_CLOSE_PROTOCOL);
  if (is_control(op)) {
    if (!p->fin || len > SPK_WS_MAX_CONTROL || p->rsv1) return fail(p, SPK_WS_CLOSE_PROTOCOL);
    if (op == SPK_WS_OP_CLOSE && len == 1) return fail(p, SPK_WS_CLOSE_PROTOCOL);
    p->ctl_len = 0;
  } else if (op == SPK_WS_OP_CONT) {
    if (!p->in_message || p->rsv1) return fail(p, SPK_WS_CLOSE_PROTOCOL);
  } else {
    if (p->in_message) return fail(p, SPK_WS_CLOSE_PROTOCOL); /* a new message inside one */
    if (p->rsv1 && !p->rsv1_ok) return fail(p, SPK_WS_CLOSE_PROTOCOL);
    p->in_message = 1;
    p->msg_opcode = op;
    p->msg_compressed = p->rsv1;
    p->msg.len = 0;
    p->utf8 = (spk_utf8_t){0, 0, 0};
  }
  if (!is_control(op) && p->max_message && p->msg.len + len > p->max_message)
    return fail(p, SPK_WS_CLOSE_TOO_BIG);
  if (!is_control(op) && len && spk__buf_reserve(&p->msg, (size_t)len + 1))
    return fail(p, SPK_WS_CLOSE_TOO_BIG);
  p->remaining = len;
  p->frame_pos = 0;
  return 0;
}

/* The frame's payload is complete: an event, or 0 for a non-final fragment. */
static int frame_done(spk_ws_parser_t *p) {
  p->hdr_len = 0;
  p->hdr_need = 2;
  if (is_control(p->op)) {
    p->opcode = p->op;
    p->payload = p->ctl;
    p->payload_len = p->ctl_len;
    if (p->op == SPK_WS_OP_PING) return SPK_WS_EV_PING;
    if (p->op == SPK_WS_OP_PONG) return SPK_WS_EV_PONG;
    p->close_code = SPK_WS_CLOSE_NO_STATUS;
    if (p->ctl_len >= 2) {
      p->close_code = (unsigned)p->ctl[0] << 8 | p->ctl[1];
      if (!spk_ws_close_code_valid(p->close_code)) return fail(p, SPK_WS_CLOSE_PROTOCOL);
      if (!spk_utf8_valid(p->ctl + 2, p->ctl_len - 2)) return fail(p, SPK_WS_CLOSE_INVALID_DATA);
      p->payload = p->ctl + 2;
      p->payload_len = p->ctl_len - 2;
    }
    return SPK_WS_EV_CLOSE;
  }
  if (!p->fin) return 0;
  p->in_message = 0;
  if (p->msg_opcode == SPK_WS_OP_TEXT && !p->msg_compressed && !spk_utf8_complete(&p->utf8))
    return fail(p, SPK_WS_CLOSE_INVALID_DATA);
  p->opcode = p->msg_opcode;
  p->compressed = p->msg_compressed;
  if (p->msg.data) p->msg.data[p->msg.len] = '\0'; /* room reserved in header_done */
  p->payload = p->msg.data ? (const uint8_t *)p->msg.data : (const uint8_t *)"";
  p->payload_len = p->msg.len;
  return SPK_WS_EV_MESSAGE;
}

int spk_ws_parse(spk_ws_parser_t *p, const uint8_t *in, size_t len, size_t *used) {
  size_t i = 0;
  *used = 0;
  if (p->failed) return SPK_EPROTO;
  for (;;) {
    if (p->hdr_need) {
      while (p->hdr_len < p->hdr_need && i < len) {
        p->hdr[p->hdr_len++] = in[i++];
        if (p->hdr_len == 2) { /* the length field's size and the mask are known now */
          uint8_t l7 = p->hdr[1] & 0x7f;
          p->hdr_need = (uint8_t)(2 + (l7 == 126 ? 2 : l7 == 127 ? 8 : 0) +
                                  ((p->hdr[1] & 0x80) ? 4 : 0));
        }
      }
      if (p->hdr_len < p->hdr_need) {
        *used = i;
        return SPK_WS_EV_NONE;
      }
      p->hdr_need = 0;
      if (header_done(p) < 0) {
        *used = i;
        return SPK_EPROTO;
      }
    }
    size_t n = len - i < p->remaining ? len - i : (size_t)p->remaining;
    if (n) {
      uint8_t *dst;
      if (is_control(p->op)) {
        dst = p->ctl + p->ctl_len;
        p->ctl_len += n;
      } else {
        dst = (uint8_t *)p->msg.data + p->msg.len;
        p->msg.len += n;
      }
      memcpy(dst, in + i, n);
      if (p->masked) spk_ws_mask(dst, n, p->mask, p->frame_pos);
      p->frame_pos += n;
      p->remaining -= n;
      i += n;
      if (!is_control(p->op) && p->msg_opcode == SPK_WS_OP_TEXT && !p->msg_compressed &&
          spk_utf8_feed(&p->utf8, dst, n) < 0) {
        *used = i;
        return fail(p, SPK_WS_CLOSE_INVALID_DATA);
      }
    }
    if (p->remaining) {
      *used = i;
      return SPK_WS_EV_NONE;
    }
    int ev = frame_done(p);
    if (ev != 0) {
      *used = i;
      return ev;
    }
    if (i == len) {
      *used = i;
      return SPK_WS_EV_NONE;
    }
  }
}

/* ---- writer ---- */

size_t spk_ws_frame_header(uint8_t out[SPK_WS_MAX_HEADER], int fin, int rsv1, int opcode,
                           uint64_t len, const uint8_t *mask) {
  size_t n = 2;
  out[0] = (uint8_t)((fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | (opcode & 0x0f));
  uint8_t m = mask ? 0x80 : 0;
  if (len < 126) {
    out[1] = (uint8_t)(m | len);
  } else if (len < 65536) {
    out[1] = m | 126;
    out[2] = (uint8_t)(len >> 8);
    out[3] = (uint8_t)len;
    n = 4;
  } else {
    out[1] = m | 127;
    for (int i = 0; i < 8; i++) out[2 + i] = (uint8_t)(len >> (56 - 8 * i));
    n = 10;
  }
  if (mask) {
    memcpy(out + n, mask, 4);
    n += 4;
  }
  return n;
}

void spk_ws_mask(uint8_t *data, size_t n, const uint8_t mask[4], uint64_t pos) {
  size_t i = 0;
  unsigned k = (unsigned)(pos & 3);
  /* Align the key to the data position, then XOR 8 bytes at a time. */
  uint8_t rot[8];
  for (int j = 0; j < 8; j++) rot[j] = mask[(k + (unsigned)j) & 3];
  uint64_t w8;
  memcpy(&w8, rot, 8);
  for (; i + 8 <= n; i += 8) {
    uint64_t d;
    memcpy(&d, data + i, 8);
    d ^= w8;
    memcpy(data + i, &d, 8);
  }
  for (; i < n; i++) data[i] ^= rot[i & 7];
}

int spk_ws_frame_append(spk__buf_t *out, int fin, int rsv1, int opcode, const void *payload,
                        size_t len, const uint8_t *mask) {
  uint8_t h[SPK_WS_MAX_HEADER];
  size_t hl = spk_ws_frame_header(h, fin, rsv1, opcode, len, mask);
  if (spk__buf_reserve(out, hl + len)) return SPK_ENOMEM;
  spk__buf_append(out, h, hl);
  size_t at = out->len;
  if (len) spk__buf_append(out, payload, len);
  if (mask) spk_ws_mask((uint8_t *)out->data + at, len, mask, 0);
  return SPK_OK;
}

size_t spk_ws_close_payload(uint8_t out[SPK_WS_MAX_CONTROL], unsigned code, const char *reason,
                            size_t reason_len) {
  out[0] = (uint8_t)(code >> 8);
  out[1] = (uint8_t)code;
  if (reason_len > SPK_WS_MAX_CONTROL - 2) {
    reason_len = SPK_WS_MAX_CONTROL - 2;
    /* Never cut a code point in half: the peer would fail the close with 1007. */
    while (reason_len && ((uint8_t)reason[reason_len] & 0xC0) == 0x80) reason_len--;
  }
  if (reason_len) memcpy(out + 2, reason, reason_len);
  return 2 + reason_len;
}
