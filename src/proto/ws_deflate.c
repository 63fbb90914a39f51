/* permessage-deflate (RFC 7692): see ws_deflate.h. */
#include "proto/ws_deflate.h"

#include <stdio.h>
#include <string.h>

#include "spikard/common.h"
#include "util/strutil.h"

/* One offer's parameters; 0 when the offer is not acceptable. */
static int parse_offer(const char *s, const char *end, spk_ws_deflate_params_t *o,
                       int *client_bits_offered) {
  memset(o, 0, sizeof(*o));
  *client_bits_offered = 0;
  int seen_snct = 0, seen_cnct = 0, seen_smwb = 0;
  const char *p = s;
  /* The extension name. */
  const char *semi = memchr(p, ';', (size_t)(end - p));
  const char *stop = semi ? semi : end;
  const char *name = p;
  size_t nl = (size_t)(stop - p);
  spk__trim_ows(&name, &nl);
  if (!spk__strieq(name, nl, "permessage-deflate", 18)) return 0;
  p = semi ? semi + 1 : end;
  while (p < end) {
    semi = memchr(p, ';', (size_t)(end - p));
    stop = semi ? semi : end;
    const char *k = p;
    size_t kl = (size_t)(stop - p);
    p = semi ? semi + 1 : end;
    spk__trim_ows(&k, &kl);
    const char *eq = memchr(k, '=', kl);
    const char *v = NULL;
    size_t vl = 0;
    if (eq) {
      v = eq + 1;
      vl = (size_t)(k + kl - v);
      kl = (size_t)(eq - k);
      spk__trim_ows(&k, &kl);
      spk__trim_ows(&v, &vl);
      if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') v++, vl -= 2;
    }
    int bits = 0;
    if (v) {
      if (vl < 1 || vl > 2) return 0;
      for (size_t i = 0; i < vl; i++) {
        if (v[i] < '0' || v[i] > '9') return 0;
        bits = bits * 10 + (v[i] - '0');
      }
      if (bits < 8 || bits > 15 || (vl == 2 && v[0] == '0')) return 0;
    }
    if (spk__strieq(k, kl, "server_no_context_takeover", 26)) {
      if (v || seen_snct++) return 0;
      o->server_no_context_takeover = 1;
    } else if (spk__strieq(k, kl, "client_no_context_takeover", 26)) {
      if (v || seen_cnct++) return 0;
      o->client_no_context_takeover = 1;
    } else if (spk__strieq(k, kl, "server_max_window_bits", 22)) {
      /* zlib cannot deflate with an 8-bit window (it silently uses 9): decline. */
      if (!v || seen_smwb++ || bits == 8) return 0;
      o->server_max_window_bits = bits;
    } else if (spk__strieq(k, kl, "client_max_window_bits", 22)) {
      if ((*client_bits_offered)++) return 0;
      o->client_max_window_bits = v ? bits : 0;
    } else {
      return 0;
    }
  }
  return 1;
}

int spk_ws_deflate_negotiate(const char *value, size_t len, int force_no_context,
                             spk_ws_deflate_params_t *out, char *resp, size_t resp_cap) {
  const char *p = value, *end = value + len;
  while (p < end) {
    /* Offers are comma-separated; parameter values here never contain commas. */
    const char *comma = memchr(p, ',', (size_t)(end - p));
    const char *stop = comma ? comma : end;
    spk_ws_deflate_params_t o;
    int cbits;
    if (parse_offer(p, stop, &o, &cbits)) {
      if (force_no_context) o.server_no_context_takeover = 1;
      int n = snprintf(resp, resp_cap, "permessage-deflate%s%s", 
                       o.server_no_context_takeover ? "; server_no_context_takeover" : "",
                       o.client_no_context_takeover ? "; client_no_context_takeover" : "");
      if (n < 0 || (size_t)n >= resp_cap) return 0;
      if (o.server_max_window_bits) {
        int m = snprintf(resp + n, resp_cap - (size_t)n, "; server_max_window_bits=%d",
                         o.server_max_window_bits);
        if (m < 0 || (size_t)(n + m) >= resp_cap) return 0;
        n += m;
      } else {
        o.server_max_window_bits = 15;
      }
      if (o.client_max_window_bits) {
        int m = snprintf(resp + n, resp_cap - (size_t)n, "; client_max_window_bits=%d",
                         o.client_max_window_bits);
        if (m < 0 || (size_t)(n + m) >= resp_cap) return 0;
      }
      *out = o;
      return 1;
    }
    p = comma ? comma + 1 : end;
  }
  return 0;
}

void spk_ws_deflate_init(spk_ws_deflate_t *d, const spk_ws_deflate_params_t *params) {
  memset(d, 0, sizeof(*d));
  d->params = *params;
  if (d->params.server_max_window_bits < 9) d->params.server_max_window_bits = 15;
}

void spk_ws_deflate_free(spk_ws_deflate_t *d) {
  if (d->def_ok) deflateEnd(&d->def);
  if (d->inf_ok) inflateEnd(&d->inf);
  d->def_ok = d->inf_ok = 0;
}

int spk_ws_deflate_compress(spk_ws_deflate_t *d, const void *in, size_t n, spk__buf_t *out) {
  if (!d->def_ok) {
    if (deflateInit2(&d->def, Z_DEFAULT_COMPRESSION, Z_DEFLATED,
                     -d->params.server_max_window_bits, 8, Z_DEFAULT_STRATEGY) != Z_OK)
      return SPK_ENOMEM;
    d->def_ok = 1;
  }
  size_t start = out->len;
  d->def.next_in = (Bytef *)(uintptr_t)in;
  d->def.avail_in = (uInt)n;
  for (;;) {
    size_t room = deflateBound(&d->def, (uLong)n) + 16;
    if (spk__buf_reserve(out, room)) return SPK_ENOMEM;
    d->def.next_out = (Bytef *)out->data + out->len;
    d->def.avail_out = (uInt)(out->cap - out->len);
    int rc = deflate(&d->def, Z_SYNC_FLUSH);
    out->len = out->cap - d->def.avail_out;
    if (rc != Z_OK && rc != Z_BUF_ERROR) return SPK_EPROTO;
    if (d->def.avail_in == 0 && d->def.avail_out > 0) break;
  }
  /* A sync flush ends with an empty stored block 00 00 ff ff: the receiver appends it back. */
  if (out->len - start >= 4 && memcmp(out->data + out->len - 4, "\x00\x00\xff\xff", 4) == 0)
    out->len -= 4;
  if (out->len == start) spk__buf_append_char(out, 0); /* RFC 7692 §7.2.3.6: never empty */
  if (d->params.server_no_context_takeover) deflateReset(&d->def);
  return SPK_OK;
}

int spk_ws_deflate_decompress(spk_ws_deflate_t *d, const void *in, size_t n, size_t limit,
                              spk__buf_t *out) {
  static const unsigned char tail[4] = {0x00, 0x00, 0xff, 0xff};
  if (!d->inf_ok) {
    /* A 15-bit window decodes any smaller window the client picked. */
    if (inflateInit2(&d->inf, -15) != Z_OK) return SPK_ENOMEM;
    d->inf_ok = 1;
  }
  out->len = 0;
  int ended = 0;
  for (int part = 0; part < 2 && !ended; part++) {
    d->inf.next_in = part ? (Bytef *)(uintptr_t)tail : (Bytef *)(uintptr_t)in;
    d->inf.avail_in = part ? 4u : (uInt)n;
    while (d->inf.avail_in > 0) {
      size_t grow = out->len < 16384 ? 16384 : out->len;
      if (limit && out->len + grow > limit + 1) grow = limit + 1 - out->len;
      if (grow == 0) return SPK_ERANGE;
      if (spk__buf_reserve(out, grow)) return SPK_ENOMEM;
      d->inf.next_out = (Bytef *)out->data + out->len;
      d->inf.avail_out = (uInt)grow;
      int rc = inflate(&d->inf, Z_SYNC_FLUSH);
      out->len += grow - d->inf.avail_out;
      if (limit && out->len > limit) return SPK_ERANGE;
      if (rc == Z_STREAM_END) {
        /* A final block (BFINAL) ends the stream; the next message starts a new one. */
        inflateReset(&d->inf);
        ended = 1; /* what follows the final block (the appended tail) is not data */
        break;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) return SPK_EPROTO;
      if (rc == Z_BUF_ERROR && d->inf.avail_out > 0) break; /* needs more input */
    }
  }
  if (d->params.client_no_context_takeover) inflateReset(&d->inf);
  if (spk__buf_reserve(out, 1)) return SPK_ENOMEM;
  out->data[out->len] = '\0';
  return SPK_OK;
}
