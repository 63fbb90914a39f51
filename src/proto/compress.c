/* Content-coding encoders over zlib, brotli and zstd (see compress.h). One driver loop per
 * library; the one-shot path is the streaming encoder fed once, with the output reserved up
 * front from the library's bound so a typical body is encoded in a single library call. */
#include "proto/compress.h"

#include <limits.h>
#include <string.h>

#include <brotli/encode.h>
#include <zlib.h>
#define ZSTD_STATIC_LINKING_ONLY /* ZSTD_createCCtx_advanced: our allocator */
#include <zstd.h>
#include <zstd_errors.h>

#include "util/alloc.h"

enum { OP_PROCESS = 0, OP_FLUSH = 1, OP_FINISH = 2 };
enum { ST_OPEN = 0, ST_DONE = 1, ST_FAILED = 2 };

struct spk_encoder {
  spk_coding_t coding;
  int state;
  uint64_t produced;
  union {
    z_stream z;
    BrotliEncoderState *br;
    ZSTD_CCtx *zs;
  } u;
};

const char *spk_coding_name(spk_coding_t c) {
  switch (c) {
  case SPK_CODING_IDENTITY: return "identity";
  case SPK_CODING_BR: return "br";
  case SPK_CODING_ZSTD: return "zstd";
  case SPK_CODING_GZIP: return "gzip";
  case SPK_CODING_DEFLATE: return "deflate";
  }
  return NULL;
}

int spk_coding_levels(spk_coding_t c, int *min, int *max) {
  int lo, hi;
  switch (c) {
  case SPK_CODING_GZIP:
  case SPK_CODING_DEFLATE: lo = 0, hi = 9; break;
  case SPK_CODING_BR: lo = BROTLI_MIN_QUALITY, hi = BROTLI_MAX_QUALITY; break;
  case SPK_CODING_ZSTD: lo = 1, hi = 19; break;
  default: return SPK_EINVAL;
  }
  if (min) *min = lo;
  if (max) *max = hi;
  return SPK_OK;
}

int spk_coding_clamp(spk_coding_t c, int level) {
  int lo = 0, hi = 0;
  if (spk_coding_levels(c, &lo, &hi)) return 0;
  return level < lo ? lo : level > hi ? hi : level;
}

/* ---- allocator bridges ---- */

static voidpf z_alloc(voidpf opaque, uInt items, uInt size) {
  (void)opaque;
  if (size && items > UINT_MAX / size) return Z_NULL;
  return spk__malloc((size_t)items * size);
}
static void z_free(voidpf opaque, voidpf p) { (void)opaque, spk__free(p); }
static void *lib_alloc(void *opaque, size_t size) { (void)opaque; return spk__malloc(size); }
static void lib_free(void *opaque, void *p) { (void)opaque, spk__free(p); }

/* ---- output space ---- */

/* Reserve room for the next library call: `want` bytes, but never past `limit` total output.
 * Returns the usable room (0 when the limit is reached) or (size_t)-1 when out of memory. */
static size_t room(spk__buf_t *out, uint64_t produced_here, size_t limit, size_t want) {
  if (want < 64) want = 64;
  if (limit != SIZE_MAX) {
    if (produced_here >= limit) return 0;
    if (want > limit - produced_here) want = (size_t)(limit - produced_here);
  }
  if (out->cap - out->len < want && spk__buf_reserve(out, want)) return (size_t)-1;
  size_t avail = out->cap - out->len;
  if (limit != SIZE_MAX && avail > limit - produced_here) avail = (size_t)(limit - produced_here);
  return avail;
}

/* ---- per-library drivers: consume in[0..len) under `op`, append to out ---- */

static int run_zlib(spk_encoder_t *e, const unsigned char *in, size_t len, int op,
                    spk__buf_t *out, size_t limit, size_t first_want) {
  z_stream *z = &e->u.z;
  size_t produced = 0, want = first_want;
  int flush = op == OP_PROCESS ? Z_NO_FLUSH : op == OP_FLUSH ? Z_SYNC_FLUSH : Z_FINISH;
  for (;;) {
    /* zlib counts in uInt: hand it the input in pieces. */
    if (z->avail_in == 0 && len) {
      uInt piece = len > UINT_MAX ? UINT_MAX : (uInt)len;
      z->next_in = (Bytef *)(uintptr_t)in;
      z->avail_in = piece;
      in += piece;
      len -= piece;
    }
    int last = len == 0; /* every byte has been handed to zlib */
    size_t avail = room(out, produced, limit, want);
    if (avail == (size_t)-1) return SPK_ENOMEM;
    if (avail == 0) return SPK_ERANGE;
    if (avail > UINT_MAX) avail = UINT_MAX;
    want = 16384;
    z->next_out = (Bytef *)out->data + out->len;
    z->avail_out = (uInt)avail;
    int rc = deflate(z, last ? flush : Z_NO_FLUSH);
    size_t got = avail - z->avail_out;
    out->len += got, produced += got, e->produced += got;
    if (rc == Z_STREAM_ERROR) return SPK_EPROTO;
    if (!last) continue;
    if (flush == Z_FINISH) {
      if (rc == Z_STREAM_END) return SPK_OK;
    } else if (z->avail_in == 0 && z->avail_out != 0) {
      return SPK_OK; /* everything consumed, and (for a flush) the flush is complete */
    }
  }
}

static int run_brotli(spk_encoder_t *e, const unsigned char *in, size_t len, int op,
                      spk__buf_t *out, size_t limit, size_t first_want) {
  BrotliEncoderOperation bop = op == OP_PROCESS ? BROTLI_OPERATION_PROCESS
                               : op == OP_FLUSH ? BROTLI_OPERATION_FLUSH
                                                : BROTLI_OPERATION_FINISH;
  size_t produced = 0, want = first_want;
  const uint8_t *next_in = in;
  size_t avail_in = len;
  for (;;) {
    size_t avail = room(out, produced, limit, want);
    if (avail == (size_t)-1) return SPK_ENOMEM;
    if (avail == 0) return SPK_ERANGE;
    want = 16384;
    uint8_t *next_out = (uint8_t *)out->data + out->len;
    size_t avail_out = avail;
    if (!BrotliEncoderCompressStream(e->u.br, bop, &avail_in, &next_in, &avail_out, &next_out,
                                     NULL))
      return SPK_EPROTO;
    size_t got = avail - avail_out;
    out->len += got, produced += got, e->produced += got;
    if (bop == BROTLI_OPERATION_FINISH) {
      if (BrotliEncoderIsFinished(e->u.br)) return SPK_OK;
    } else if (avail_in == 0 && !BrotliEncoderHasMoreOutput(e->u.br)) {
      return SPK_OK;
    }
  }
}

static int run_zstd(spk_encoder_t *e, const unsigned char *in, size_t len, int op,
                    spk__buf_t *out, size_t limit, size_t first_want) {
  ZSTD_EndDirective mode = op == OP_PROCESS ? ZSTD_e_continue
                           : op == OP_FLUSH ? ZSTD_e_flush
                                            : ZSTD_e_end;
  ZSTD_inBuffer ib = {in, len, 0};
  size_t produced = 0, want = first_want;
  for (;;) {
    size_t avail = room(out, produced, limit, want);
    if (avail == (size_t)-1) return SPK_ENOMEM;
    if (avail == 0) return SPK_ERANGE;
    want = 16384;
    ZSTD_outBuffer ob = {out->data + out->len, avail, 0};
    size_t r = ZSTD_compressStream2(e->u.zs, &ob, &ib, mode);
    out->len += ob.pos, produced += ob.pos, e->produced += ob.pos;
    if (ZSTD_isError(r))
      return ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? SPK_ENOMEM : SPK_EPROTO;
    if (mode == ZSTD_e_continue) {
      if (ib.pos == ib.size) return SPK_OK;
    } else if (r == 0) {
      return SPK_OK; /* flushed / frame complete */
    }
  }
}

/* ---- encoder object ---- */

int spk_encoder_new(spk_encoder_t **out, spk_coding_t c, int level, uint64_t size_hint) {
  if (!out) return SPK_EINVAL;
  *out = NULL;
  if (spk_coding_levels(c, NULL, NULL)) return SPK_EINVAL;
  level = spk_coding_clamp(c, level);
  spk_encoder_t *e = spk__calloc(1, sizeof(*e));
  if (!e) return SPK_ENOMEM;
  e->coding = c;
  switch (c) {
  case SPK_CODING_GZIP:
  case SPK_CODING_DEFLATE: {
    e->u.z.zalloc = z_alloc;
    e->u.z.zfree = z_free;
    int bits = c == SPK_CODING_GZIP ? 15 + 16 : 15;
    int rc = deflateInit2(&e->u.z, level, Z_DEFLATED, bits, 8, Z_DEFAULT_STRATEGY);
    if (rc != Z_OK) {
      spk__free(e);
      return rc == Z_MEM_ERROR ? SPK_ENOMEM : SPK_EPROTO;
    }
    break;
  }
  case SPK_CODING_BR: {
    e->u.br = BrotliEncoderCreateInstance(lib_alloc, lib_free, NULL);
    if (!e->u.br) {
      spk__free(e);
      return SPK_ENOMEM;
    }
    BrotliEncoderSetParameter(e->u.br, BROTLI_PARAM_QUALITY, (uint32_t)level);
    BrotliEncoderSetParameter(e->u.br, BROTLI_PARAM_LGWIN, BROTLI_DEFAULT_WINDOW);
    if (size_hint)
      BrotliEncoderSetParameter(e->u.br, BROTLI_PARAM_SIZE_HINT,
                                size_hint > (1u << 30) ? (1u << 30) : (uint32_t)size_hint);
    break;
  }
  case SPK_CODING_ZSTD: {
    ZSTD_customMem mem = {lib_alloc, lib_free, NULL};
    e->u.zs = ZSTD_createCCtx_advanced(mem);
    if (!e->u.zs) {
      spk__free(e);
      return SPK_ENOMEM;
    }
    size_t r = ZSTD_CCtx_setParameter(e->u.zs, ZSTD_c_compressionLevel, level);
    /* A size hint tunes the parameters; the exact size goes in the frame header only when
     * it is pledged, which the one-shot path does (spk_compress). */
    if (!ZSTD_isError(r) && size_hint)
      r = ZSTD_CCtx_setParameter(e->u.zs, ZSTD_c_srcSizeHint,
                                 size_hint > (1u << 30) ? (1 << 30) : (int)size_hint);
    if (ZSTD_isError(r)) {
      ZSTD_freeCCtx(e->u.zs);
      spk__free(e);
      return ZSTD_getErrorCode(r) == ZSTD_error_memory_allocation ? SPK_ENOMEM : SPK_EPROTO;
    }
    break;
  }
  default: break;
  }
  *out = e;
  return SPK_OK;
}

static int step(spk_encoder_t *e, const void *in, size_t len, int op, spk__buf_t *out,
                size_t limit, size_t first_want) {
  if (!e || !out || (!in && len)) return SPK_EINVAL;
  if (e->state != ST_OPEN) return SPK_ESTATE;
  size_t mark = out->len;
  int rc;
  switch (e->coding) {
  case SPK_CODING_BR: rc = run_brotli(e, in, len, op, out, limit, first_want); break;
  case SPK_CODING_ZSTD: rc = run_zstd(e, in, len, op, out, limit, first_want); break;
  default: rc = run_zlib(e, in, len, op, out, limit, first_want); break;
  }
  if (rc) {
    e->produced -= out->len - mark;
    out->len = mark; /* nothing half-written stays behind */
    e->state = ST_FAILED;
  } else if (op == OP_FINISH) {
    e->state = ST_DONE;
  }
  return rc;
}

int spk_encoder_feed(spk_encoder_t *e, const void *in, size_t len, spk__buf_t *out) {
  return step(e, in, len, OP_PROCESS, out, SIZE_MAX, len / 2);
}

int spk_encoder_flush(spk_encoder_t *e, spk__buf_t *out) {
  return step(e, NULL, 0, OP_FLUSH, out, SIZE_MAX, 1024);
}

int spk_encoder_finish(spk_encoder_t *e, const void *in, size_t len, spk__buf_t *out) {
  return step(e, in, len, OP_FINISH, out, SIZE_MAX, len / 2 + 1024);
}

uint64_t spk_encoder_produced(const spk_encoder_t *e) { return e ? e->produced : 0; }

void spk_encoder_free(spk_encoder_t *e) {
  if (!e) return;
  switch (e->coding) {
  case SPK_CODING_BR: BrotliEncoderDestroyInstance(e->u.br); break;
  case SPK_CODING_ZSTD: ZSTD_freeCCtx(e->u.zs); break;
  default: deflateEnd(&e->u.z); break;
  }
  spk__free(e);
}

/* Worst-case encoded size of `len` bytes, to reserve the output once. */
static size_t bound(spk_encoder_t *e, size_t len) {
  size_t b = 0;
  switch (e->coding) {
  case SPK_CODING_BR: b = BrotliEncoderMaxCompressedSize(len); break;
  case SPK_CODING_ZSTD: b = ZSTD_compressBound(len); break;
  default:
    b = len <= ULONG_MAX ? (size_t)deflateBound(&e->u.z, (uLong)len) : 0;
    break;
  }
  return b ? b : len + len / 8 + 1024;
}

int spk_compress(spk_coding_t c, int level, const void *in, size_t len, size_t limit,
                 spk__buf_t *out) {
  if (!out || (!in && len)) return SPK_EINVAL;
  spk_encoder_t *e;
  int rc = spk_encoder_new(&e, c, level, len);
  if (rc) return rc;
  if (c == SPK_CODING_ZSTD && ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(e->u.zs, len))) {
    spk_encoder_free(e);
    return SPK_EPROTO;
  }
  size_t want = bound(e, len);
  rc = step(e, in, len, OP_FINISH, out, limit, want);
  spk_encoder_free(e);
  return rc;
}

/* ---- Accept-Encoding ---- */

void spk_accept_encoding_init(spk_accept_encoding_t *ae) {
  for (int i = 0; i < SPK_CODING_COUNT; i++) ae->q[i] = -1;
  ae->star = -1;
  ae->present = 0;
}

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int token_is(const char *s, size_t len, const char *lit) {
  size_t n = strlen(lit);
  if (len != n) return 0;
  for (size_t i = 0; i < n; i++)
    if (lower((unsigned char)s[i]) != lit[i]) return 0;
  return 1;
}

/* qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ); -1 when malformed. */
static int parse_qvalue(const char *s, size_t len) {
  if (len == 0 || (s[0] != '0' && s[0] != '1')) return -1;
  int v = (s[0] - '0') * 1000;
  if (len == 1) return v;
  if (s[1] != '.' || len > 5) return -1;
  int scale = 100;
  for (size_t i = 2; i < len; i++, scale /= 10) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v += (s[i] - '0') * scale;
  }
  return v > 1000 ? -1 : v;
}

static int is_ows(char c) { return c == ' ' || c == '\t'; }

/* Trimmed [*b, *e). */
static void trim(const char **b, const char **e) {
  while (*b < *e && is_ows(**b)) (*b)++;
  while (*e > *b && is_ows((*e)[-1])) (*e)--;
}

/* One list element "coding *( OWS ";" OWS param )". */
static void parse_element(spk_accept_encoding_t *ae, const char *s, const char *end) {
  const char *semi = memchr(s, ';', (size_t)(end - s));
  const char *tb = s, *te = semi ? semi : end;
  trim(&tb, &te);
  if (tb == te) return;
  int q = 1000;
  const char *p = semi;
  while (p && p < end) {
    const char *pb = p + 1;
    const char *next = memchr(pb, ';', (size_t)(end - pb));
    const char *pe = next ? next : end;
    const char *eq = memchr(pb, '=', (size_t)(pe - pb));
    if (eq) {
      const char *nb = pb, *ne = eq, *vb = eq + 1, *ve = pe;
      trim(&nb, &ne);
      trim(&vb, &ve);
      if (ne - nb == 1 && lower((unsigned char)*nb) == 'q') {
        q = parse_qvalue(vb, (size_t)(ve - vb));
        if (q < 0) return; /* malformed weight: the element means nothing reliable */
      }
    }
    p = next;
  }
  size_t n = (size_t)(te - tb);
  int16_t *slot = NULL;
  if (token_is(tb, n, "*"))
    slot = &ae->star;
  else if (token_is(tb, n, "identity"))
    slot = &ae->q[SPK_CODING_IDENTITY];
  else if (token_is(tb, n, "br"))
    slot = &ae->q[SPK_CODING_BR];
  else if (token_is(tb, n, "zstd"))
    slot = &ae->q[SPK_CODING_ZSTD];
  else if (token_is(tb, n, "gzip") || token_is(tb, n, "x-gzip"))
    slot = &ae->q[SPK_CODING_GZIP];
  else if (token_is(tb, n, "deflate"))
    slot = &ae->q[SPK_CODING_DEFLATE];
  if (slot && *slot < 0) *slot = (int16_t)q;
}

void spk_accept_encoding_parse(spk_accept_encoding_t *ae, const char *s, size_t len) {
  ae->present = 1;
  if (!s) return;
  const char *end = s + len;
  while (s < end) {
    const char *comma = memchr(s, ',', (size_t)(end - s));
    const char *ee = comma ? comma : end;
    parse_element(ae, s, ee);
    s = comma ? comma + 1 : end;
  }
}

spk_coding_t spk_accept_encoding_choose(const spk_accept_encoding_t *ae, unsigned enabled) {
  if (!ae->present) return SPK_CODING_IDENTITY;
  spk_coding_t best = SPK_CODING_IDENTITY;
  int best_q = 0;
  for (int c = SPK_CODING_BR; c < SPK_CODING_COUNT; c++) {
    if (!(enabled & SPK_CODING_BIT(c))) continue;
    int q = ae->q[c] >= 0 ? ae->q[c] : ae->star >= 0 ? ae->star : 0;
    if (q > best_q) best = (spk_coding_t)c, best_q = q; /* strict: earlier wins ties */
  }
  if (best == SPK_CODING_IDENTITY) return best;
  /* identity competes only when the client gave it a weight (itself or through "*"). */
  int id_q = ae->q[SPK_CODING_IDENTITY] >= 0 ? ae->q[SPK_CODING_IDENTITY] : ae->star;
  return id_q > best_q ? SPK_CODING_IDENTITY : best;
}

spk_coding_t spk_accept_encoding_negotiate(const char *s, size_t len, unsigned enabled) {
  spk_accept_encoding_t ae;
  spk_accept_encoding_init(&ae);
  spk_accept_encoding_parse(&ae, s, len);
  return spk_accept_encoding_choose(&ae, enabled);
}
