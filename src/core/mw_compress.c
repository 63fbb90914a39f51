/* Middleware "compression": negotiate a content coding from Accept-Encoding and encode the
 * finished response body (gzip, deflate, br, zstd — proto/compress.c).
 *
 * Section (app level, or per route where `false` turns it off for that route):
 *   true | false | {
 *     "enabled":  true,            false = off
 *     "gzip":     true,            each codec: true, false, or {"quality": n} (on, own level)
 *     "brotli":   true,
 *     "zstd":     true,
 *     "deflate":  false,           zlib-wrapped deflate (RFC 9110 §8.4.1.2)
 *     "min_size": 1024,            bodies shorter than this stay identity
 *     "quality":  6                0–11, every codec's level unless it has its own, clamped
 *   }                              to the codec's range (gzip/deflate 0–9, br 0–11, zstd 1–19)
 * Every codec off means off. Unknown keys and out-of-range values are refused with the reason.
 *
 * The decision (finish, after every other response step but the access log):
 *   1. never for 1xx/204/304/206, a body that already has Content-Encoding or Content-Range,
 *      Cache-Control: no-transform, a body under min_size, or a non-compressible type (images
 *      but SVG, audio, video, fonts woff/woff2, archives and compressed formats,
 *      application/octet-stream, text/event-stream, gRPC);
 *   2. otherwise the representation depends on Accept-Encoding: `Vary: Accept-Encoding` is
 *      added (merged into an existing Vary, no duplicate, nothing after `*`) whether or not this
 *      client gets a compressed body — a cache must not hand a gzip body to the next client;
 *   3. the coding is chosen (proto/compress.h: q-values, `*`, identity;q=0, server order br,
 *      zstd, gzip, deflate); identity → done;
 *   4. HEAD: negotiated, but the body the handler produced is not encoded (it is never sent):
 *      the headers describe the identity representation, which RFC 9110 allows the server to
 *      pick. Documented simplification;
 *   5. the body is encoded with an output limit of its own size − 1: an encoding that does not
 *      shrink the body is abandoned and the identity body is sent;
 *   6. the encoded body replaces the old one (owned buffer), Content-Encoding is set and a
 *      strong ETag is weakened (W/"…": the bytes differ from the identity representation's).
 *
 * Streamed bodies (stream.h) of unknown length follow the same rules minus min_size (the size
 * is not known when the head goes out): the stream gets a streaming encoder and every chunk is
 * fed and flushed (each arrives decodable). Event streams are never compressed (the type rule
 * above), nor streams with a Content-Length announced up front. */
#include <stdio.h>
#include <string.h>

#include "core/exchange.h"
#include "core/mw.h"
#include "core/stream_internal.h"
#include "proto/compress.h"
#include "util/alloc.h"
#include "util/strutil.h"

struct spk__mw_compress {
  unsigned enabled;             /* SPK_CODING_BIT mask */
  int level[SPK_CODING_COUNT];  /* per coding, already clamped */
  uint64_t min_size;
};

/* ---- configuration ---- */

static const struct {
  const char *key;
  spk_coding_t coding;
  int on_by_default;
} codecs[] = {
    {"gzip", SPK_CODING_GZIP, 1},
    {"brotli", SPK_CODING_BR, 1},
    {"zstd", SPK_CODING_ZSTD, 1},
    {"deflate", SPK_CODING_DEFLATE, 0},
};
#define NCODECS (sizeof(codecs) / sizeof(codecs[0]))

static int int_in(const spk_json_value_t *v, int64_t lo, int64_t hi, int64_t *out) {
  int64_t x;
  if (v->type == SPK_JSON_INT)
    x = v->u.integer;
  else if (v->type == SPK_JSON_NUMBER && v->u.number.is_integer && v->u.number.value >= -1e18 &&
           v->u.number.value <= 1e18)
    x = (int64_t)v->u.number.value;
  else
    return 0;
  if (x < lo || x > hi) return 0;
  *out = x;
  return 1;
}

/* One codec member: true | false | {"quality": n}. */
static int codec_member(const spk_json_value_t *v, const char *key, spk_coding_t c, int *on,
                        int *level, char *err, size_t errlen) {
  if (v->type == SPK_JSON_BOOL) {
    *on = v->u.boolean;
    return SPK_OK;
  }
  int lo = 0, hi = 0;
  spk_coding_levels(c, &lo, &hi);
  if (v->type != SPK_JSON_OBJECT) {
    snprintf(err, errlen, "\"%s\" must be true, false or {\"quality\": %d-%d}", key, lo, hi);
    return SPK_EINVAL;
  }
  *on = 1;
  for (size_t i = 0; i < v->u.object.len; i++) {
    const spk_json_member_t *m = &v->u.object.members[i];
    int64_t q;
    if (strcmp(m->key.ptr, "quality") != 0) {
      snprintf(err, errlen, "\"%s\": unknown key \"%.40s\" (known: quality)", key, m->key.ptr);
      return SPK_EINVAL;
    }
    if (!int_in(m->value, lo, hi, &q)) {
      snprintf(err, errlen, "\"%s.quality\" must be an integer %d-%d", key, lo, hi);
      return SPK_EINVAL;
    }
    *level = (int)q;
  }
  return SPK_OK;
}

int spk__mw_compress_configure(const spk_json_value_t *cfg, struct spk__mw_compress **out,
                               char *err, size_t errlen) {
  *out = NULL;
  int on[NCODECS], own[NCODECS];
  int64_t quality = 6, min_size = 1024;
  int enabled = 1;
  for (size_t k = 0; k < NCODECS; k++) on[k] = codecs[k].on_by_default, own[k] = -1;
  if (cfg->type == SPK_JSON_BOOL) {
    enabled = cfg->u.boolean; /* true: the defaults */
  } else if (cfg->type != SPK_JSON_OBJECT) {
    snprintf(err, errlen, "must be an object, true or false");
    return SPK_EINVAL;
  } else {
    for (size_t i = 0; i < cfg->u.object.len; i++) {
      const char *key = cfg->u.object.members[i].key.ptr;
      const spk_json_value_t *v = cfg->u.object.members[i].value;
      size_t k = 0;
      while (k < NCODECS && strcmp(key, codecs[k].key) != 0) k++;
      if (k < NCODECS) {
        int rc = codec_member(v, key, codecs[k].coding, &on[k], &own[k], err, errlen);
        if (rc) return rc;
      } else if (!strcmp(key, "enabled")) {
        if (v->type != SPK_JSON_BOOL) {
          snprintf(err, errlen, "\"enabled\" must be a boolean");
          return SPK_EINVAL;
        }
        enabled = v->u.boolean;
      } else if (!strcmp(key, "min_size")) {
        if (!int_in(v, 0, INT64_MAX, &min_size)) {
          snprintf(err, errlen, "\"min_size\" must be a non-negative integer (bytes)");
          return SPK_EINVAL;
        }
      } else if (!strcmp(key, "quality")) {
        if (!int_in(v, 0, 11, &quality)) {
          snprintf(err, errlen,
                   "\"quality\" must be an integer 0-11 (clamped per codec: gzip/deflate 0-9, "
                   "zstd 1-19)");
          return SPK_EINVAL;
        }
      } else {
        snprintf(err, errlen,
                 "unknown key \"%.40s\" (known: enabled, gzip, brotli, zstd, deflate, min_size, "
                 "quality)",
                 key);
        return SPK_EINVAL;
      }
    }
  }
  unsigned mask = 0;
  for (size_t k = 0; k < NCODECS; k++)
    if (on[k]) mask |= SPK_CODING_BIT(codecs[k].coding);
  if (!enabled || !mask) return SPK_OK; /* off */
  struct spk__mw_compress *c = spk__calloc(1, sizeof(*c));
  if (!c) {
    snprintf(err, errlen, "out of memory");
    return SPK_ENOMEM;
  }
  c->enabled = mask;
  c->min_size = (uint64_t)min_size;
  for (size_t k = 0; k < NCODECS; k++)
    c->level[codecs[k].coding] =
        own[k] >= 0 ? own[k] : spk_coding_clamp(codecs[k].coding, (int)quality);
  *out = c;
  return SPK_OK;
}

void spk__mw_compress_free(struct spk__mw_compress *c) { spk__free(c); }

/* ---- response headers (the response is ended: the public setters refuse) ---- */

static int hdr_is(const spk_h1_header_t *h, const char *name) {
  return spk__strieq(h->name.ptr, h->name.len, name, strlen(name));
}

static spk_h1_header_t *res_find(spk_res_t *res, const char *name) {
  for (size_t i = 0; i < res->header_count; i++)
    if (hdr_is(&res->headers[i], name)) return &res->headers[i];
  return NULL;
}

static int res_add(spk__exchange_t *ex, const char *name, const char *value, size_t vlen) {
  spk_res_t *res = &ex->res;
  if (res->header_count == res->header_cap) {
    size_t cap = res->header_cap ? res->header_cap * 2 : 4;
    spk_h1_header_t *h = spk__arena_realloc(&ex->arena, res->headers,
                                            res->header_cap * sizeof(*h), cap * sizeof(*h));
    if (!h) return SPK_ENOMEM;
    res->headers = h;
    res->header_cap = cap;
  }
  res->headers[res->header_count].name = (spk_str_t){name, strlen(name)};
  res->headers[res->header_count].value = (spk_str_t){value, vlen};
  res->header_count++;
  return SPK_OK;
}

/* Does a comma-separated field value list `token` (case-insensitive, parameters ignored)? */
static int list_has(spk_str_t v, const char *token) {
  const char *s = v.ptr, *end = v.ptr + v.len;
  size_t tlen = strlen(token);
  while (s < end) {
    const char *comma = memchr(s, ',', (size_t)(end - s));
    const char *e = comma ? comma : end;
    const char *semi = memchr(s, ';', (size_t)(e - s));
    const char *te = semi ? semi : e;
    const char *tb = s;
    size_t n = (size_t)(te - tb);
    spk__trim_ows(&tb, &n);
    if (spk__strieq(tb, n, token, tlen)) return 1;
    s = comma ? comma + 1 : end;
  }
  return 0;
}

static int any_has(spk_res_t *res, const char *name, const char *token) {
  for (size_t i = 0; i < res->header_count; i++)
    if (hdr_is(&res->headers[i], name) && list_has(res->headers[i].value, token)) return 1;
  return 0;
}

/* Vary: Accept-Encoding, merged into the last existing Vary field. */
static void add_vary(spk__exchange_t *ex) {
  spk_res_t *res = &ex->res;
  if (any_has(res, "vary", "accept-encoding") || any_has(res, "vary", "*")) return;
  spk_h1_header_t *last = NULL;
  for (size_t i = 0; i < res->header_count; i++)
    if (hdr_is(&res->headers[i], "vary")) last = &res->headers[i];
  const char *v = last ? last->value.ptr : NULL;
  size_t vlen = last ? last->value.len : 0;
  spk__trim_ows(&v, &vlen);
  if (!last || vlen == 0) {
    if (last) last->value = SPK_STR("Accept-Encoding");
    else res_add(ex, "Vary", "Accept-Encoding", 15);
    return;
  }
  static const char tail[] = ", Accept-Encoding";
  char *merged = spk__arena_alloc(&ex->arena, vlen + sizeof(tail));
  if (!merged) return;
  memcpy(merged, v, vlen);
  memcpy(merged + vlen, tail, sizeof(tail));
  last->value = (spk_str_t){merged, vlen + sizeof(tail) - 1};
}

/* ETag "x" → W/"x" (a weak validator still matches the identity representation semantically,
 * RFC 9110 §8.8.3; the strong one would claim byte equality). */
static void weaken_etag(spk__exchange_t *ex) {
  for (size_t i = 0; i < ex->res.header_count; i++) {
    spk_h1_header_t *h = &ex->res.headers[i];
    if (!hdr_is(h, "etag")) continue;
    const char *v = h->value.ptr;
    size_t n = h->value.len;
    spk__trim_ows(&v, &n);
    if (n < 2 || v[0] != '"') continue; /* already weak (W/"…") or not an entity-tag */
    char *w = spk__arena_alloc(&ex->arena, n + 3);
    if (!w) continue;
    memcpy(w, "W/", 2);
    memcpy(w + 2, v, n);
    w[n + 2] = '\0';
    h->value = (spk_str_t){w, n + 2};
  }
}

/* ---- what may be compressed ---- */

static int compressible_type(spk_res_t *res) {
  spk_h1_header_t *h = res_find(res, "content-type");
  if (!h) return 1;
  const char *s = h->value.ptr;
  const char *semi = memchr(s, ';', h->value.len);
  size_t n = semi ? (size_t)(semi - s) : h->value.len;
  spk__trim_ows(&s, &n);
  char t[96];
  if (n == 0 || n >= sizeof(t)) return 1;
  for (size_t i = 0; i < n; i++) t[i] = spk__tolower(s[i]);
  t[n] = '\0';
  if (!strncmp(t, "image/", 6)) return !strcmp(t, "image/svg+xml");
  if (!strncmp(t, "video/", 6) || !strncmp(t, "audio/", 6)) return 0;
  if (!strncmp(t, "application/grpc", 16)) return 0;
  static const char *const never[] = {
      "text/event-stream",          /* streamed events: buffering would stall them */
      "application/octet-stream",   /* opaque: usually binary or already packed */
      "application/zip",           "application/gzip",          "application/x-gzip",
      "application/zstd",          "application/x-bzip2",       "application/x-xz",
      "application/x-7z-compressed", "application/x-rar-compressed", "application/vnd.rar",
      "application/x-brotli",      "font/woff",                 "font/woff2",
  };
  for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
    if (!strcmp(t, never[i])) return 0;
  return 1;
}

static int eligible(spk__exchange_t *ex, const struct spk__mw_compress *c) {
  spk_res_t *res = &ex->res;
  int st = res->status;
  if (st < 200 || st == 204 || st == 304 || st == 206) return 0;
  if (res->has_file) return 0; /* streamed from disk (large static files): bytes not in memory */
  if (res->body_len < c->min_size || res->body_len == 0) return 0;
  if (res_find(res, "content-encoding") || res_find(res, "content-range")) return 0;
  if (any_has(res, "cache-control", "no-transform")) return 0;
  return compressible_type(res);
}

static spk_coding_t negotiate(const spk__exchange_t *ex, unsigned enabled) {
  spk_accept_encoding_t ae;
  spk_accept_encoding_init(&ae);
  spk_str_t v;
  for (size_t n = 0; spk_req_header_id(&ex->req, SPK_HEADER_ACCEPT_ENCODING, n, &v) == SPK_OK;
       n++)
    spk_accept_encoding_parse(&ae, v.ptr, v.len);
  return spk_accept_encoding_choose(&ae, enabled);
}

static void stream_finish(spk__exchange_t *ex, const struct spk__mw_compress *c) {
  spk_res_t *res = &ex->res;
  int st = res->status;
  if (st < 200 || st == 204 || st == 304 || st == 206) return;
  if (spk__stream_is_sse(res->stream) || spk__stream_content_length(res->stream) >= 0) return;
  if (res_find(res, "content-encoding") || res_find(res, "content-range")) return;
  if (any_has(res, "cache-control", "no-transform") || !compressible_type(res)) return;
  add_vary(ex);
  spk_coding_t coding = negotiate(ex, c->enabled);
  if (coding == SPK_CODING_IDENTITY || ex->req.method == SPK_METHOD_HEAD) return;
  spk_encoder_t *enc;
  if (spk_encoder_new(&enc, coding, c->level[coding], 0) != SPK_OK) return; /* identity */
  const char *name = spk_coding_name(coding);
  if (res_add(ex, "Content-Encoding", name, strlen(name)) != SPK_OK) {
    spk_encoder_free(enc);
    return;
  }
  spk__stream_set_encoder(res->stream, enc);
  weaken_etag(ex);
}

void spk__mw_compress_finish(spk__exchange_t *ex, const struct spk__mw_compress *c) {
  if (ex->res.stream) {
    stream_finish(ex, c);
    return;
  }
  if (!eligible(ex, c)) return;
  add_vary(ex);
  spk_coding_t coding = negotiate(ex, c->enabled);
  if (coding == SPK_CODING_IDENTITY || ex->req.method == SPK_METHOD_HEAD) return;
  spk_res_t *res = &ex->res;
  spk__buf_t enc = {0};
  if (spk_compress(coding, c->level[coding], res->body, res->body_len, res->body_len - 1,
                   &enc) != SPK_OK) {
    spk__buf_free(&enc); /* did not shrink, or no memory: the identity body goes out */
    return;
  }
  const char *name = spk_coding_name(coding);
  if (res_add(ex, "Content-Encoding", name, strlen(name)) != SPK_OK) {
    spk__buf_free(&enc);
    return;
  }
  if (res->release) res->release(res->release_data);
  res->release = NULL;
  res->release_data = NULL;
  spk__buf_free(&res->owned_body);
  res->owned_body = enc;
  res->body = enc.data;
  res->body_len = enc.len;
  weaken_etag(ex);
}
