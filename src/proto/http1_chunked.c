/* Chunked transfer coding decoder (RFC 9112 §7.1), incremental and in place.
 *
 *   chunked-body = *chunk last-chunk trailer-section CRLF
 *   chunk        = chunk-size [ chunk-ext ] CRLF chunk-data CRLF
 *   chunk-size   = 1*HEXDIG
 *   last-chunk   = 1*("0") [ chunk-ext ] CRLF
 *   chunk-ext    = *( BWS ";" BWS chunk-ext-name [ BWS "=" BWS chunk-ext-val ] )
 *   chunk-ext-val = token / quoted-string
 *   trailer-section = *( field-line CRLF )
 *
 * A byte-at-a-time state machine: the state survives between calls, so no input is ever scanned
 * twice and any split of the input decodes to the same bytes with the same result. Chunk data is
 * moved down with memmove in runs; the output never overtakes the input. Errors are sticky. */
#include <string.h>

#include "proto/http1.h"

#define MAX_SIZE_LINE 4096u     /* chunk-size + extensions, per line */
#define MAX_TRAILER_BYTES 8192u /* whole trailer section */
/* Largest accepted chunk: < 2^62 (the value is shifted by 4 per digit: refuse before it can
 * exceed this). */
#define MAX_CHUNK_BEFORE_SHIFT ((UINT64_C(1) << 58) - 1)

enum {
  S_SIZE_START = 0, /* first hex digit of a chunk-size */
  S_SIZE,           /* more hex digits */
  S_SIZE_BWS,       /* whitespace after the size: only ";" may follow */
  S_EXT_PRE_NAME,   /* after ";": BWS then a name */
  S_EXT_NAME,
  S_EXT_POST_NAME,  /* BWS after a name: "=", ";" or CR */
  S_EXT_PRE_VALUE,  /* after "=": BWS then token or quoted-string */
  S_EXT_TOKEN,
  S_EXT_QUOTED,
  S_EXT_QUOTED_PAIR,
  S_EXT_POST_VALUE, /* BWS after a value: ";" or CR */
  S_SIZE_LF,        /* CR seen at the end of the size line */
  S_DATA,
  S_DATA_CR,
  S_DATA_LF,
  S_TRAILER_START, /* start of a trailer line, or of the final CRLF */
  S_TRAILER_NAME,
  S_TRAILER_VALUE,
  S_TRAILER_LF,
  S_END_LF, /* CR of the final empty line seen */
  S_DONE,
  S_ERROR /* aux holds the negated error code */
};

/* Bits: 1 tchar, 4 field-vchar/SP/HTAB, 8 HEXDIG, 0x20 qdtext. Same table as the head parser. */
static const unsigned char ctab[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 00 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 10 */
    0x24, 0x37, 0x06, 0x27, 0x37, 0x27, 0x37, 0x37, 0x36, 0x36, 0x37, 0x37, 0x36, 0x37, 0x37, 0x26, /* 20 */
    0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x26, 0x36, 0x26, 0x36, 0x26, 0x26, /* 30 */
    0x26, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, /* 40 */
    0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x26, 0x06, 0x26, 0x27, 0x37, /* 50 */
    0x27, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, /* 60 */
    0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x26, 0x27, 0x26, 0x37, 0x00, /* 70 */
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, /* 80 */
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, /* 90 */
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, /* a0 */
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, /* b0 */
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, /* c0 */
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, /* d0 */
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, /* e0 */
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, /* f0 */
};
#define IS_TCHAR(c) (ctab[(unsigned char)(c)] & 0x01)
#define IS_VALUE(c) (ctab[(unsigned char)(c)] & 0x04)
#define IS_QDTEXT(c) (ctab[(unsigned char)(c)] & 0x20)
#define IS_BWS(c) ((c) == ' ' || (c) == '\t')

void spk_h1_chunked_init(spk_h1_chunked_t *d) {
  d->state = S_SIZE_START;
  d->remaining = 0;
  d->aux = 0;
  d->trailer_bytes = 0;
}

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* One byte of the size line, extension or trailer grammar; returns 0 or an error code. */
static int step(spk_h1_chunked_t *d, unsigned char c) {
  int h;
  switch (d->state) {
    case S_SIZE_START:
      if ((h = hexval(c)) < 0) return SPK_EPROTO;
      d->remaining = (uint64_t)h;
      d->state = S_SIZE;
      return 0;
    case S_SIZE:
      if ((h = hexval(c)) >= 0) {
        if (d->remaining > MAX_CHUNK_BEFORE_SHIFT) return SPK_ERANGE;
        d->remaining = (d->remaining << 4) | (uint64_t)h;
        return 0;
      }
      if (c == '\r') d->state = S_SIZE_LF;
      else if (c == ';') d->state = S_EXT_PRE_NAME;
      else if (IS_BWS(c)) d->state = S_SIZE_BWS;
      else return SPK_EPROTO;
      return 0;
    case S_SIZE_BWS:
      if (c == ';') d->state = S_EXT_PRE_NAME;
      else if (!IS_BWS(c)) return SPK_EPROTO;
      return 0;
    case S_EXT_PRE_NAME:
      if (IS_TCHAR(c)) d->state = S_EXT_NAME;
      else if (!IS_BWS(c)) return SPK_EPROTO;
      return 0;
    case S_EXT_NAME:
      if (IS_TCHAR(c)) return 0;
      /* fall through */
    case S_EXT_POST_NAME:
      if (c == '=') d->state = S_EXT_PRE_VALUE;
      else if (c == ';') d->state = S_EXT_PRE_NAME;
      else if (c == '\r') d->state = S_SIZE_LF;
      else if (IS_BWS(c)) d->state = S_EXT_POST_NAME;
      else return SPK_EPROTO;
      return 0;
    case S_EXT_PRE_VALUE:
      if (c == '"') d->state = S_EXT_QUOTED;
      else if (IS_TCHAR(c)) d->state = S_EXT_TOKEN;
      else if (!IS_BWS(c)) return SPK_EPROTO;
      return 0;
    case S_EXT_TOKEN:
      if (IS_TCHAR(c)) return 0;
      /* fall through */
    case S_EXT_POST_VALUE:
      if (c == ';') d->state = S_EXT_PRE_NAME;
      else if (c == '\r') d->state = S_SIZE_LF;
      else if (IS_BWS(c)) d->state = S_EXT_POST_VALUE;
      else return SPK_EPROTO;
      return 0;
    case S_EXT_QUOTED:
      if (c == '"') d->state = S_EXT_POST_VALUE;
      else if (c == '\\') d->state = S_EXT_QUOTED_PAIR;
      else if (!IS_QDTEXT(c)) return SPK_EPROTO;
      return 0;
    case S_EXT_QUOTED_PAIR: /* quoted-pair = "\" ( HTAB / SP / VCHAR / obs-text ) */
      if (!IS_VALUE(c)) return SPK_EPROTO;
      d->state = S_EXT_QUOTED;
      return 0;
    case S_SIZE_LF:
      if (c != '\n') return SPK_EPROTO;
      d->aux = 0;
      d->state = d->remaining ? S_DATA : S_TRAILER_START;
      return 0;
    case S_DATA_CR:
      if (c != '\r') return SPK_EPROTO;
      d->state = S_DATA_LF;
      return 0;
    case S_DATA_LF:
      if (c != '\n') return SPK_EPROTO;
      d->state = S_SIZE_START;
      d->aux = 0;
      return 0;
    case S_TRAILER_START:
      if (c == '\r') d->state = S_END_LF;
      else if (IS_TCHAR(c)) d->state = S_TRAILER_NAME; /* SP/HTAB here would be obs-fold */
      else return SPK_EPROTO;
      return 0;
    case S_TRAILER_NAME:
      if (c == ':') d->state = S_TRAILER_VALUE;
      else if (!IS_TCHAR(c)) return SPK_EPROTO;
      return 0;
    case S_TRAILER_VALUE:
      if (c == '\r') d->state = S_TRAILER_LF;
      else if (!IS_VALUE(c)) return SPK_EPROTO;
      return 0;
    case S_TRAILER_LF:
      if (c != '\n') return SPK_EPROTO;
      d->state = S_TRAILER_START;
      return 0;
    case S_END_LF:
      if (c != '\n') return SPK_EPROTO;
      d->state = S_DONE;
      return 0;
    default:
      return SPK_EPROTO;
  }
}

int spk_h1_chunked_decode(spk_h1_chunked_t *d, char *buf, size_t *len) {
  size_t n = *len, i = 0, o = 0;
  int rc;

  if (d->state == S_ERROR) {
    *len = 0;
    return -(int)d->aux;
  }
  while (i < n) {
    switch (d->state) {
      case S_DONE: {
        /* Everything from i on belongs to the next message: move it after the decoded data. */
        size_t rest = n - i;
        if (o != i) memmove(buf + o, buf + i, rest);
        *len = o;
        return rest > (size_t)0x7fffffff ? 0x7fffffff : (int)rest;
      }
      case S_DATA: {
        size_t run = n - i;
        if ((uint64_t)run > d->remaining) run = (size_t)d->remaining;
        if (o != i) memmove(buf + o, buf + i, run);
        o += run;
        i += run;
        d->remaining -= run;
        if (!d->remaining) d->state = S_DATA_CR;
        continue;
      }
      default:
        break;
    }
    unsigned char c = (unsigned char)buf[i++];
    int in_trailer = d->state >= S_TRAILER_START && d->state <= S_END_LF;
    if (in_trailer) {
      if (++d->trailer_bytes > MAX_TRAILER_BYTES) {
        rc = SPK_EHDRTOOLARGE;
        goto fail;
      }
    } else if (d->state <= S_SIZE_LF) { /* size line, extensions and its CRLF */
      if (++d->aux > MAX_SIZE_LINE) {
        rc = SPK_EHDRTOOLARGE;
        goto fail;
      }
    }
    rc = step(d, c);
    if (rc) goto fail;
  }
  *len = o;
  if (d->state == S_DONE) return 0;
  return SPK_EAGAIN;

fail:
  d->state = S_ERROR;
  d->aux = (size_t)(-rc);
  *len = o;
  return rc;
}
