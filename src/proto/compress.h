/* Content codings (RFC 9110 §8.4.1): gzip, deflate, br, zstd — encoders and Accept-Encoding
 * negotiation. Pure: no I/O, no global state; every allocation of the codec libraries (zlib,
 * brotli, zstd) goes through util/alloc.h, so the host's allocator sees it.
 *
 *   "gzip"    RFC 1952 container (zlib, windowBits 15+16)
 *   "deflate" RFC 1950 zlib container around RFC 1951 data — what RFC 9110 §8.4.1.2 calls
 *             "deflate" (not raw deflate, which some old clients sent by mistake)
 *   "br"      RFC 7932 brotli stream (window 2^22)
 *   "zstd"    RFC 8878 zstd frame (content size recorded for one-shot bodies)
 *
 * One-shot: spk_compress. Streaming (chunked responses, SSE): spk_encoder_* — feed pieces,
 * flush when the peer must be able to decode everything fed so far, finish once. The core does
 * not stream response bodies yet; the streaming encoder is built and tested for that wiring. */
#ifndef SPK_PROTO_COMPRESS_H
#define SPK_PROTO_COMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "spikard/common.h"
#include "util/buf.h"

/* The numbers are also the server's preference order on equal q-values (lower wins), see
 * spk_accept_encoding_choose. */
typedef enum spk_coding {
  SPK_CODING_IDENTITY = 0,
  SPK_CODING_BR = 1,
  SPK_CODING_ZSTD = 2,
  SPK_CODING_GZIP = 3,
  SPK_CODING_DEFLATE = 4
} spk_coding_t;

#define SPK_CODING_COUNT 5
#define SPK_CODING_BIT(c) (1u << (unsigned)(c))

/* The Content-Encoding token ("br", "zstd", "gzip", "deflate", "identity"); NULL if unknown. */
const char *spk_coding_name(spk_coding_t c);
/* Valid levels of a coding: gzip/deflate 0–9, br 0–11, zstd 1–19 (the levels without the
 * "ultra" memory cost). SPK_EINVAL for identity or an unknown coding. */
int spk_coding_levels(spk_coding_t c, int *min, int *max);
/* A level clamped into the coding's range (the generic "quality" knob, 0–11, maps this way). */
int spk_coding_clamp(spk_coding_t c, int level);

/* Compress in[0..len) with `c` at `level` (clamped) and append the encoded bytes to `out`.
 * `limit` bounds the encoded size: when the output would exceed it, nothing is appended and
 * SPK_ERANGE is returned (compressing that does not pay is abandoned early). SIZE_MAX: no
 * limit. Errors: SPK_EINVAL (identity/unknown coding), SPK_ENOMEM, SPK_ERANGE, SPK_EPROTO (the
 * codec library failed). */
int spk_compress(spk_coding_t c, int level, const void *in, size_t len, size_t limit,
                 spk__buf_t *out);

/* Streaming encoder. Every call appends the bytes produced so far to `out`. After an error the
 * encoder refuses everything but free (SPK_ESTATE). */
typedef struct spk_encoder spk_encoder_t;

/* `size_hint`: total input size when known (0: unknown) — lets brotli/zstd size their window. */
int spk_encoder_new(spk_encoder_t **out, spk_coding_t c, int level, uint64_t size_hint);
/* Feed input; the codec may keep it buffered (nothing appended yet). */
int spk_encoder_feed(spk_encoder_t *e, const void *in, size_t len, spk__buf_t *out);
/* Emit everything fed so far in a decodable form (zlib Z_SYNC_FLUSH, brotli FLUSH, zstd
 * e_flush): the right call after each chunk of a stream the client reads live. */
int spk_encoder_flush(spk_encoder_t *e, spk__buf_t *out);
/* Feed the last input (may be empty) and close the stream (trailer/checksum). Once. */
int spk_encoder_finish(spk_encoder_t *e, const void *in, size_t len, spk__buf_t *out);
/* Total encoded bytes produced. */
uint64_t spk_encoder_produced(const spk_encoder_t *e);
void spk_encoder_free(spk_encoder_t *e);

/* ---- Accept-Encoding (RFC 9110 §12.5.3) ---- */

/* What a request accepts. Weights are thousandths (q=0.5 → 500); -1 = not mentioned. */
typedef struct spk_accept_encoding {
  int16_t q[SPK_CODING_COUNT]; /* per coding; [SPK_CODING_IDENTITY] = "identity" */
  int16_t star;                /* "*" */
  int present;                 /* at least one Accept-Encoding field was seen */
} spk_accept_encoding_t;

void spk_accept_encoding_init(spk_accept_encoding_t *ae);
/* Add one field value (call once per Accept-Encoding field line). Tolerant: tokens are
 * case-insensitive, whitespace is skipped, parameters other than q are ignored, an element
 * with a malformed q-value (q=2, q=0.1234, q=abc, q=) is ignored as a whole, unknown codings
 * and garbage between commas are skipped. The first mention of a coding wins. "x-gzip" is
 * gzip (RFC 9110 §8.4.1.3). Never fails. */
void spk_accept_encoding_parse(spk_accept_encoding_t *ae, const char *s, size_t len);
/* The coding to send among `enabled` (SPK_CODING_BIT mask; identity is always possible):
 *   - no field at all, or an empty field: identity;
 *   - a coding's weight is its own entry, else "*"'s, else 0 (not acceptable);
 *   - the highest weight > 0 wins; equal weights go to the server's order br, zstd, gzip,
 *     deflate (the enum order);
 *   - identity wins when the client weights it above the best coding (explicitly, or through
 *     "*"); it is never refused outright: when nothing is acceptable the answer is identity
 *     (RFC 9110 allows sending an unacceptable identity rather than 406). */
spk_coding_t spk_accept_encoding_choose(const spk_accept_encoding_t *ae, unsigned enabled);

/* Convenience: parse one value and choose. */
spk_coding_t spk_accept_encoding_negotiate(const char *s, size_t len, unsigned enabled);

#endif
