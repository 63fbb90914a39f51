/* Strict RFC 8259 JSON parser into the arena DOM (see json.h).
 *
 * Design
 * - Single pass, iterative: an explicit frame stack (one entry per open container) replaces
 *   recursion, so any max_depth is safe for the C stack. The frame stack, and the temporary
 *   stacks that collect array items and object members until their container closes, start in
 *   the parser struct (on the C stack) and move to the heap only for big or deep documents.
 *   A closing bracket copies its items once into an exact-size arena array.
 * - Values are carved from arena slabs (no per-value arena call, no per-value 16-byte rounding);
 *   decoded strings and number literals are carved from one text region (see text_alloc).
 * - Strings: phase 1 finds the closing quote 8 bytes at a time (SWAR), validating UTF-8 and
 *   rejecting control characters as it goes; phase 2 copies (memcpy when there is no escape) or
 *   decodes escapes into room of the raw length, which always suffices.
 * - Duplicate keys are resolved when an object closes: pairwise up to 16 members (pre-filtered
 *   by a length/first/last-byte tag), with a temporary open-addressing hash table above.
 * - Numbers: integers of up to 19 digits that fit int64 become SPK_JSON_INT. Other numbers take
 *   Clinger's exact fast path (<= 2^53 significand, |exp| <= 22) or else a locale-independent
 *   strtod: the literal is rewritten as "<digits>e<exp>" (no decimal point, so LC_NUMERIC cannot
 *   matter), with at most 780 significant digits plus a sticky digit, which keeps the result
 *   correctly rounded (a double midpoint never needs more than 768 significant digits).
 *
 * Decisions (strictness)
 * - Input must be exactly one JSON text; whitespace is SP, HT, LF, CR only. A UTF-8 byte order
 *   mark is rejected (RFC 8259 §8.1 lets parsers ignore it; we do not).
 * - Strings must be well-formed UTF-8 (Unicode Table 3-7): overlong forms, UTF-8-encoded
 *   surrogates (ED A0..BF), code points above U+10FFFF and truncated sequences are rejected.
 *   Noncharacters (U+FFFE, U+FDD0...) are valid Unicode scalar values and are accepted.
 * - \uXXXX escapes: a high surrogate must be followed by an escaped low surrogate; a lone high
 *   or low surrogate is rejected (it has no UTF-8 encoding, and we never produce invalid
 *   UTF-8). \u0000 is accepted: strings carry their length.
 * - Numbers: "-0" is an integer literal and becomes SPK_JSON_INT 0 (JSON Schema treats -0 and 0
 *   alike; the sign of an integer zero is not kept). "-0.0" is SPK_JSON_NUMBER -0.0.
 *   is_integer is decided on the decimal text, exactly: 1.0, 1e3, 1.5e1, 1e400 (value +inf)
 *   are integers; 1.000000000000000005 and 1e-999 (value 0) are not.
 * - Duplicate keys are compared after decoding ("a" and "\u0061" are the same key).
 * - Errors: offset points at the offending byte (the start of a bad UTF-8 sequence, the
 *   backslash of a bad escape, the opening quote of a duplicate key, the bracket that exceeds
 *   max_depth, or len for a premature end). Lines count LF bytes.
 * - On failure, memory already taken from the arena stays there until the arena is freed. */
#include <errno.h>
#include <float.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"
#include "util/alloc.h"

#define JP_INLINE_FRAMES 32
#define JP_INLINE_ITEMS 128
#define JP_INLINE_MEMBERS 64
#define JP_SLAB_MIN 16
#define JP_SLAB_MAX 1024
#define JP_PAIRWISE_MAX 16 /* objects up to this size check duplicates pairwise */
#define JP_MAX_SIG_DIGITS 780

typedef struct jp_member {
  spk_str_t key;
  spk_json_value_t *value; /* NULL marks a duplicate dropped by LAST_WINS */
  size_t key_off;          /* offset of the key's opening quote (error reporting) */
  uint32_t tag;            /* length and first/last bytes: a cheap pre-filter for equality */
} jp_member_t;

typedef struct jp_frame {
  size_t start; /* first index in the items or members stack */
  int is_object;
} jp_frame_t;

typedef struct jp {
  spk__arena_t *arena;
  const unsigned char *base;
  const unsigned char *end;
  size_t max_depth;
  int dup_error;

  spk_json_value_t *slab;
  size_t slab_left;
  size_t slab_next;

  char *text;     /* decoded strings and number literals are carved from here */
  char *text_end;

  jp_frame_t *frames;
  size_t frames_cap;
  spk_json_value_t **items;
  size_t items_len, items_cap;
  jp_member_t *members;
  size_t members_len, members_cap;
  uint32_t *table; /* duplicate-key hash table (heap), reused across objects */
  size_t table_cap;

  int code;
  const char *msg;
  const unsigned char *err_at;

  jp_frame_t frames_inline[JP_INLINE_FRAMES];
  spk_json_value_t *items_inline[JP_INLINE_ITEMS];
  jp_member_t members_inline[JP_INLINE_MEMBERS];
} jp_t;

/* ---------------------------------------------------------------------------------------- */
/* Memory */

static void *grow_stack(void *inline_buf, void *cur, size_t *cap, size_t elem) {
  size_t ncap = *cap * 2;
  if (ncap < *cap || ncap > SIZE_MAX / elem) return NULL;
  void *n;
  if (cur == inline_buf) {
    n = spk__malloc(ncap * elem);
    if (n) memcpy(n, cur, *cap * elem);
  } else {
    n = spk__realloc(cur, ncap * elem);
  }
  if (n) *cap = ncap;
  return n;
}

static spk_json_value_t *refill_slab(jp_t *P) {
  size_t n = P->slab_next;
  spk_json_value_t *s = spk__arena_alloc(P->arena, n * sizeof(*s));
  if (!s) return NULL;
  if (P->slab_next < JP_SLAB_MAX) P->slab_next *= 2;
  P->slab = s + 1;
  P->slab_left = n - 1;
  return s;
}

static inline spk_json_value_t *new_value(jp_t *P) {
  if (P->slab_left) {
    P->slab_left--;
    return P->slab++;
  }
  return refill_slab(P);
}

/* Room for n bytes of text (a decoded string or a number literal, NUL included) taken from
 * the input at `from`. Every string or number still to come lies in [from, end), and each one's
 * text plus NUL fits in its own input span plus the byte after it (a closing quote, a delimiter,
 * or the end), so a region of (end - from + 1) bytes, taken at the first need, serves the rest
 * of the document: one arena call and no per-string rounding. Big documents take the region in
 * 64 KB chunks instead (a string that does not fit the rest of a chunk starts a new one). */
#define JP_TEXT_CHUNK 65536

static char *refill_text(jp_t *P, const unsigned char *from, size_t n) {
  size_t want = (size_t)(P->end - from) + 1;
  if (want > JP_TEXT_CHUNK) want = JP_TEXT_CHUNK; /* big documents: chunks, small tail waste */
  if (want < n) want = n;
  char *t = spk__arena_alloc(P->arena, want);
  if (!t) return NULL;
  P->text = t + n;
  P->text_end = t + want;
  return t;
}

static inline char *text_alloc(jp_t *P, const unsigned char *from, size_t n) {
  if ((size_t)(P->text_end - P->text) >= n) {
    char *t = P->text;
    P->text += n;
    return t;
  }
  return refill_text(P, from, n);
}

/* ---------------------------------------------------------------------------------------- */
/* Errors */

static int fail(jp_t *P, int code, const unsigned char *at, const char *msg) {
  P->code = code;
  P->err_at = at;
  P->msg = msg;
  return code;
}

static void fill_error(const jp_t *P, spk_json_error_t *err) {
  size_t off = (size_t)(P->err_at - P->base);
  size_t line = 1, col = 1;
  for (size_t i = 0; i < off; i++) {
    if (P->base[i] == '\n') {
      line++;
      col = 1;
    } else {
      col++;
    }
  }
  err->code = P->code;
  err->offset = off;
  err->line = line;
  err->column = col;
  err->message = P->msg;
}

/* ---------------------------------------------------------------------------------------- */
/* Strings */

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* High bit set in (at least the first) byte that is '"', '\\', < 0x20 or >= 0x80. */
static inline uint64_t swar_special(uint64_t x) {
  uint64_t q = x ^ (ONES * '"');
  uint64_t b = x ^ (ONES * '\\');
  uint64_t t = ((q - ONES) & ~q) | ((b - ONES) & ~b) | ((x - ONES * 0x20) & ~x) | x;
  return t & HIGHS;
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && defined(__ORDER_LITTLE_ENDIAN__)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define JP_CTZ_FIRST_BYTE(t) ((size_t)__builtin_ctzll(t) >> 3)
#endif
#endif

static inline int hexval(unsigned c) {
  if (c - '0' < 10u) return (int)(c - '0');
  c |= 0x20;
  if (c - 'a' < 6u) return (int)(c - 'a' + 10);
  return -1;
}

static int hex4(const unsigned char *p) {
  int a = hexval(p[0]), b = hexval(p[1]), c = hexval(p[2]), d = hexval(p[3]);
  if ((a | b | c | d) < 0) return -1;
  return (a << 12) | (b << 8) | (c << 4) | d;
}

/* Decode escapes of raw[0..n) (known to contain a backslash) into dst; returns the decoded
 * length, or (size_t)-1 with the error recorded. */
static size_t decode_escapes(jp_t *P, const unsigned char *raw, size_t n, unsigned char *dst) {
  const unsigned char *q = raw, *e = raw + n;
  unsigned char *d = dst;
  while (q < e) {
    const unsigned char *bs = memchr(q, '\\', (size_t)(e - q));
    if (!bs) {
      memcpy(d, q, (size_t)(e - q));
      d += e - q;
      break;
    }
    memcpy(d, q, (size_t)(bs - q));
    d += bs - q;
    q = bs + 1; /* phase 1 guarantees a byte after the backslash */
    switch (*q) {
      case '"': *d++ = '"'; q++; continue;
      case '\\': *d++ = '\\'; q++; continue;
      case '/': *d++ = '/'; q++; continue;
      case 'b': *d++ = '\b'; q++; continue;
      case 'f': *d++ = '\f'; q++; continue;
      case 'n': *d++ = '\n'; q++; continue;
      case 'r': *d++ = '\r'; q++; continue;
      case 't': *d++ = '\t'; q++; continue;
      case 'u': break;
      default: fail(P, SPK_EPROTO, bs, "invalid escape"); return (size_t)-1;
    }
    int cp = (e - q >= 5) ? hex4(q + 1) : -1;
    if (cp < 0) {
      fail(P, SPK_EPROTO, bs, "invalid \\u escape");
      return (size_t)-1;
    }
    q += 5;
    if (cp >= 0xD800 && cp <= 0xDFFF) {
      int lo = -1;
      if (cp <= 0xDBFF && e - q >= 6 && q[0] == '\\' && q[1] == 'u') lo = hex4(q + 2);
      if (lo < 0xDC00 || lo > 0xDFFF) {
        fail(P, SPK_EPROTO, bs, "lone surrogate in \\u escape");
        return (size_t)-1;
      }
      q += 6;
      uint32_t u = 0x10000u + (((uint32_t)cp - 0xD800u) << 10) + ((uint32_t)lo - 0xDC00u);
      d[0] = (unsigned char)(0xF0 | (u >> 18));
      d[1] = (unsigned char)(0x80 | ((u >> 12) & 0x3F));
      d[2] = (unsigned char)(0x80 | ((u >> 6) & 0x3F));
      d[3] = (unsigned char)(0x80 | (u & 0x3F));
      d += 4;
    } else if (cp < 0x80) {
      *d++ = (unsigned char)cp;
    } else if (cp < 0x800) {
      d[0] = (unsigned char)(0xC0 | (cp >> 6));
      d[1] = (unsigned char)(0x80 | (cp & 0x3F));
      d += 2;
    } else {
      d[0] = (unsigned char)(0xE0 | (cp >> 12));
      d[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
      d[2] = (unsigned char)(0x80 | (cp & 0x3F));
      d += 3;
    }
  }
  return (size_t)(d - dst);
}

/* p points just after the opening quote. Returns the position after the closing quote, or
 * NULL with the error recorded. */
#if defined(__GNUC__)
__attribute__((always_inline))
#endif
static inline const unsigned char *parse_string(jp_t *P, const unsigned char *p, spk_str_t *out) {
  const unsigned char *s = p, *end = P->end;
  int escaped = 0;
  for (;;) {
    while (end - p >= 8) {
      uint64_t x;
      memcpy(&x, p, 8);
      uint64_t t = swar_special(x);
      if (t) {
#ifdef JP_CTZ_FIRST_BYTE
        p += JP_CTZ_FIRST_BYTE(t);
#else
        while (!(*p == '"' || *p == '\\' || *p < 0x20 || *p >= 0x80)) p++;
#endif
        break;
      }
      p += 8;
    }
    if (p == end) {
      fail(P, SPK_EPROTO, end, "unterminated string");
      return NULL;
    }
    unsigned c = *p;
    if (c == '"') break;
    if (c == '\\') {
      escaped = 1;
      if (end - p < 2) {
        fail(P, SPK_EPROTO, end, "unterminated string");
        return NULL;
      }
      p += 2;
      continue;
    }
    if (c < 0x20) {
      fail(P, SPK_EPROTO, p, "control character in string");
      return NULL;
    }
    if (c < 0x80) {
      p++;
      continue;
    }
    /* UTF-8 (Unicode Table 3-7, well-formed byte sequences). */
    size_t avail = (size_t)(end - p);
    if (c < 0xC2) goto bad_utf8;
    if (c < 0xE0) {
      if (avail < 2 || (p[1] & 0xC0) != 0x80) goto bad_utf8;
      p += 2;
    } else if (c < 0xF0) {
      if (avail < 3) goto bad_utf8;
      unsigned c1 = p[1];
      unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
      if (c1 < lo || c1 > hi || (p[2] & 0xC0) != 0x80) goto bad_utf8;
      p += 3;
    } else if (c < 0xF5) {
      if (avail < 4) goto bad_utf8;
      unsigned c1 = p[1];
      unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
      if (c1 < lo || c1 > hi || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) goto bad_utf8;
      p += 4;
    } else {
      goto bad_utf8;
    }
  }
  {
    size_t n = (size_t)(p - s);
    unsigned char *dst = (unsigned char *)text_alloc(P, s, n + 1);
    if (!dst) {
      fail(P, SPK_ENOMEM, s, "out of memory");
      return NULL;
    }
    if (escaped) {
      n = decode_escapes(P, s, n, dst);
      if (n == (size_t)-1) return NULL;
      P->text = (char *)dst + n + 1; /* dst was the last carve: give back what decoding saved */
    } else if (n <= 16 && end - s >= 16 && P->text_end - (char *)dst >= 16) {
      /* short string: two fixed-size moves instead of a memcpy call (the text region is carved
       * in order, so the bytes after dst are free scratch) */
      memcpy(dst, s, 8);
      memcpy(dst + 8, s + 8, 8);
    } else if (n) {
      memcpy(dst, s, n);
    }
    dst[n] = '\0';
    out->ptr = (const char *)dst;
    out->len = n;
    return p + 1;
  }
bad_utf8:
  fail(P, SPK_EPROTO, p, "invalid UTF-8 in string");
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Numbers */

static const double pow10_dbl[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,
                                   1e8,  1e9,  1e10, 1e11, 1e12, 1e13, 1e14, 1e15,
                                   1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
static const uint64_t pow10_u64[] = {1ull,
                                     10ull,
                                     100ull,
                                     1000ull,
                                     10000ull,
                                     100000ull,
                                     1000000ull,
                                     10000000ull,
                                     100000000ull,
                                     1000000000ull,
                                     10000000000ull,
                                     100000000000ull,
                                     1000000000000ull,
                                     10000000000000ull,
                                     100000000000000ull,
                                     1000000000000000ull,
                                     10000000000000000ull,
                                     100000000000000000ull,
                                     1000000000000000000ull,
                                     10000000000000000000ull};

#define EXP_SATURATE 100000000 /* exponent digits beyond this no longer change anything */

static char *put_i64(char *o, int64_t v) {
  char tmp[24];
  size_t n = 0;
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  if (v < 0) *o++ = '-';
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  while (n) *o++ = tmp[--n];
  return o;
}

/* Exact decimal analysis + correctly rounded conversion of a validated JSON number [s, e). */
static double slow_number(const unsigned char *s, const unsigned char *e, int *is_integer) {
  char buf[JP_MAX_SIG_DIGITS + 40];
  const unsigned char *p = s;
  int neg = 0;
  if (*p == '-') {
    neg = 1;
    p++;
  }
  size_t nd = 0;     /* significant digits stored in buf */
  size_t nz_len = 0; /* length of buf up to its last nonzero digit */
  size_t extra = 0;  /* significant digits that did not fit */
  int sticky = 0;    /* a nonzero digit among them */
  int64_t nfrac = 0; /* digits after the point */
  int64_t tz = 0;    /* zeros after the last nonzero mantissa digit */
  int seen_nonzero = 0;
  int in_frac = 0;
  for (; p < e; p++) {
    unsigned c = *p;
    if (c == '.') {
      in_frac = 1;
      continue;
    }
    if (c - '0' >= 10u) break;
    if (in_frac) nfrac++;
    if (c == '0') {
      tz++;
      if (!seen_nonzero) continue;
    } else {
      tz = 0;
      seen_nonzero = 1;
    }
    if (nd < JP_MAX_SIG_DIGITS) {
      buf[nd++] = (char)c;
      if (c != '0') nz_len = nd;
    } else {
      extra++;
      if (c != '0') sticky = 1;
    }
  }
  int64_t exp = 0;
  if (p < e) { /* 'e' or 'E' */
    p++;
    int eneg = 0;
    if (*p == '-' || *p == '+') eneg = *p++ == '-';
    for (; p < e; p++) {
      if (exp < EXP_SATURATE) exp = exp * 10 + (*p - '0');
    }
    if (eneg) exp = -exp;
  }
  if (!seen_nonzero) {
    *is_integer = 1;
    return neg ? -0.0 : 0.0;
  }
  *is_integer = exp - nfrac + tz >= 0;
  int64_t E;
  size_t len;
  if (sticky) {
    buf[JP_MAX_SIG_DIGITS] = '1';
    len = JP_MAX_SIG_DIGITS + 1;
    E = exp - nfrac + (int64_t)extra - 1;
  } else {
    len = nz_len;
    E = exp - nfrac + (int64_t)extra + (int64_t)(nd - nz_len);
  }
  if (E > 999999999) E = 999999999;
  if (E < -999999999) E = -999999999;
  char *o = buf + len;
  *o++ = 'e';
  o = put_i64(o, E);
  *o = '\0';
  /* No decimal point in the text: strtod reads it the same in every locale. */
  int saved_errno = errno; /* ERANGE (overflow to inf, underflow) is expected and fine */
  double v = strtod(buf, NULL);
  errno = saved_errno;
  return neg ? -v : v;
}

/* p points at '-' or a digit. Returns the position after the number, or NULL. */
static const unsigned char *parse_number(jp_t *P, const unsigned char *p, spk_json_value_t *v) {
  const unsigned char *s = p, *end = P->end;
  int neg = 0;
  if (*p == '-') {
    neg = 1;
    p++;
  }
  uint64_t mant = 0;
  int overflow = 0;
  if (p == end) goto bad;
  if (*p == '0') {
    p++;
    if (p < end && (unsigned)(*p - '0') < 10u) {
      fail(P, SPK_EPROTO, s, "leading zeros are not allowed");
      return NULL;
    }
  } else if ((unsigned)(*p - '1') < 9u) {
    const unsigned char *d0 = p;
    do {
      mant = mant * 10 + (unsigned)(*p - '0');
      p++;
    } while (p < end && (unsigned)(*p - '0') < 10u && p - d0 < 19);
    if (p < end && (unsigned)(*p - '0') < 10u) {
      overflow = 1;
      while (p < end && (unsigned)(*p - '0') < 10u) p++;
    }
  } else {
    goto bad;
  }
  int simple_int = 1;
  int64_t exp10 = 0;
  if (p < end && *p == '.') {
    simple_int = 0;
    p++;
    if (p == end || (unsigned)(*p - '0') >= 10u) goto bad;
    do {
      if (mant < 1000000000000000000ull) {
        mant = mant * 10 + (unsigned)(*p - '0');
        exp10--;
      } else {
        overflow = 1;
      }
      p++;
    } while (p < end && (unsigned)(*p - '0') < 10u);
  }
  if (p < end && (*p | 0x20) == 'e') {
    simple_int = 0;
    p++;
    int eneg = 0;
    if (p < end && (*p == '+' || *p == '-')) eneg = *p++ == '-';
    if (p == end || (unsigned)(*p - '0') >= 10u) goto bad;
    int64_t e = 0;
    do {
      if (e < EXP_SATURATE) e = e * 10 + (*p - '0');
      p++;
    } while (p < end && (unsigned)(*p - '0') < 10u);
    exp10 += eneg ? -e : e;
  }

  if (simple_int && !overflow) {
    if (!neg && mant <= (uint64_t)INT64_MAX) {
      v->type = SPK_JSON_INT;
      v->u.integer = (int64_t)mant;
      return p;
    }
    if (neg && mant <= (uint64_t)INT64_MAX + 1) {
      v->type = SPK_JSON_INT;
      v->u.integer = mant == (uint64_t)INT64_MAX + 1 ? INT64_MIN : -(int64_t)mant;
      return p;
    }
  }

  double d;
  int is_int;
  int fast = 0;
  if (!overflow) {
    if (mant == 0) {
      d = 0.0;
      is_int = 1;
      fast = 1;
    } else {
      if (exp10 >= 0) {
        is_int = 1;
      } else {
        is_int = exp10 >= -19 && mant % pow10_u64[-exp10] == 0;
      }
#if defined(FLT_EVAL_METHOD) && FLT_EVAL_METHOD == 0
      if (mant <= (1ull << 53)) {
        if (exp10 >= -22 && exp10 <= 22) {
          d = exp10 >= 0 ? (double)mant * pow10_dbl[exp10] : (double)mant / pow10_dbl[-exp10];
          fast = 1;
        } else if (exp10 > 22 && exp10 <= 22 + 15) {
          uint64_t m2 = mant;
          int64_t k = exp10 - 22;
          if (m2 <= (1ull << 53) / pow10_u64[k]) {
            d = (double)(m2 * pow10_u64[k]) * 1e22;
            fast = 1;
          }
        }
      }
#endif
    }
    if (fast && neg) d = -d;
  }
  if (!fast) d = slow_number(s, p, &is_int);

  size_t n = (size_t)(p - s);
  char *raw = text_alloc(P, s, n + 1);
  if (!raw) {
    fail(P, SPK_ENOMEM, s, "out of memory");
    return NULL;
  }
  memcpy(raw, s, n);
  raw[n] = '\0';
  v->type = SPK_JSON_NUMBER;
  v->u.number.value = d;
  v->u.number.raw.ptr = raw;
  v->u.number.raw.len = n;
  v->u.number.is_integer = is_int;
  return p;
bad:
  fail(P, SPK_EPROTO, p, "invalid number");
  return NULL;
}

/* ---------------------------------------------------------------------------------------- */
/* Containers */

static inline uint32_t key_hash(const char *k, size_t n) {
  uint64_t h = 0x9E3779B97F4A7C15ull ^ n;
  while (n >= 8) {
    uint64_t x;
    memcpy(&x, k, 8);
    h = (h ^ x) * 0xFF51AFD7ED558CCDull;
    h ^= h >> 32;
    k += 8;
    n -= 8;
  }
  uint64_t x = 0; /* the tail in a register (a short memcpy into x would stall on the load) */
  for (size_t i = 0; i < n; i++) x |= (uint64_t)(unsigned char)k[i] << (i * 8);
  h = (h ^ x) * 0xC4CEB9FE1A85EC53ull;
  h ^= h >> 29;
  return (uint32_t)h;
}

static inline int key_eq(const spk_str_t *a, const spk_str_t *b) {
  return a->len == b->len &&
         (a->len == 0 || (a->ptr[0] == b->ptr[0] && memcmp(a->ptr, b->ptr, a->len) == 0));
}

static inline const unsigned char *key_pos(const jp_t *P, const jp_member_t *m) {
  return P->base + m->key_off;
}

/* Resolve duplicate keys among m[0..n). Returns the number of members kept (duplicates get
 * value NULL), or (size_t)-1 with an error recorded. */
static size_t resolve_dups(jp_t *P, jp_member_t *m, size_t n) {
  size_t dropped = 0;
  if (n <= JP_PAIRWISE_MAX) {
    for (size_t j = 1; j < n; j++) {
      for (size_t i = 0; i < j; i++) {
        if (m[i].tag == m[j].tag && m[i].value && key_eq(&m[i].key, &m[j].key)) {
          if (P->dup_error) {
            fail(P, SPK_EPROTO, key_pos(P, &m[j]), "duplicate key");
            return (size_t)-1;
          }
          m[i].value = m[j].value;
          m[j].value = NULL;
          dropped++;
          break;
        }
      }
    }
    return n - dropped;
  }
#if SIZE_MAX > UINT32_MAX
  if (n >= UINT32_MAX / 2) {
    fail(P, SPK_ENOMEM, key_pos(P, &m[0]), "object too large");
    return (size_t)-1;
  }
#endif
  size_t cap = 16;
  while (cap < n * 2) cap *= 2;
  if (cap > P->table_cap) {
    uint32_t *t = spk__realloc(P->table, cap * sizeof(*t));
    if (!t) {
      fail(P, SPK_ENOMEM, key_pos(P, &m[0]), "out of memory");
      return (size_t)-1;
    }
    P->table = t;
    P->table_cap = cap;
  }
  uint32_t *t = P->table;
  memset(t, 0, cap * sizeof(*t));
  size_t mask = cap - 1;
  for (size_t j = 0; j < n; j++) {
    size_t h = key_hash(m[j].key.ptr, m[j].key.len) & mask;
    for (;;) {
      uint32_t slot = t[h];
      if (!slot) {
        t[h] = (uint32_t)(j + 1);
        break;
      }
      jp_member_t *o = &m[slot - 1];
      if (o->tag == m[j].tag && key_eq(&o->key, &m[j].key)) {
        if (P->dup_error) {
          fail(P, SPK_EPROTO, key_pos(P, &m[j]), "duplicate key");
          return (size_t)-1;
        }
        o->value = m[j].value;
        m[j].value = NULL;
        dropped++;
        break;
      }
      h = (h + 1) & mask;
    }
  }
  return n - dropped;
}

static int close_object(jp_t *P, size_t start, spk_json_value_t *v) {
  jp_member_t *m = P->members + start;
  size_t n = P->members_len - start;
  size_t kept = n;
  if (n > 1) {
    kept = resolve_dups(P, m, n);
    if (kept == (size_t)-1) return P->code;
  }
  spk_json_member_t *out = spk__arena_alloc(P->arena, kept * sizeof(*out));
  if (!out) return fail(P, SPK_ENOMEM, key_pos(P, &m[0]), "out of memory");
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    if (!m[i].value) continue;
    out[k].key = m[i].key;
    out[k].value = m[i].value;
    k++;
  }
  v->type = SPK_JSON_OBJECT;
  v->u.object.members = out;
  v->u.object.len = kept;
  v->u.object.cap = kept;
  P->members_len = start;
  return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Driver */

#define SKIP_WS()                                                                   \
  while (p < end) {                                                                 \
    unsigned c_ = *p;                                                               \
    if (c_ > ' ' || !(c_ == ' ' || c_ == '\n' || c_ == '\r' || c_ == '\t')) break; \
    p++;                                                                            \
  }

static int run(jp_t *P, spk_json_value_t **out) {
  const unsigned char *p = P->base, *end = P->end;
  size_t depth = 0;
  spk_json_value_t *val;

value:
  SKIP_WS();
  if (p == end) return fail(P, SPK_EPROTO, p, "unexpected end of input");
  if (*p == '{' || *p == '[') {
    int obj = *p == '{';
    if (depth >= P->max_depth) return fail(P, SPK_ERANGE, p, "nesting too deep");
    p++;
    SKIP_WS();
    if (p < end && *p == (obj ? '}' : ']')) {
      p++;
      val = new_value(P);
      if (!val) return fail(P, SPK_ENOMEM, p, "out of memory");
      memset(val, 0, sizeof(*val));
      val->type = obj ? SPK_JSON_OBJECT : SPK_JSON_ARRAY;
      goto done;
    }
    if (depth == P->frames_cap) {
      jp_frame_t *f = grow_stack(P->frames_inline, P->frames, &P->frames_cap, sizeof(*f));
      if (!f) return fail(P, SPK_ENOMEM, p, "out of memory");
      P->frames = f;
    }
    /* The container's node is created when it closes, after its children. */
    P->frames[depth].is_object = obj;
    P->frames[depth].start = obj ? P->members_len : P->items_len;
    depth++;
    if (obj) goto key;
    goto value;
  }
  val = new_value(P);
  if (!val) return fail(P, SPK_ENOMEM, p, "out of memory");
  switch (*p) {
    case '"':
      p = parse_string(P, p + 1, &val->u.string);
      if (!p) return P->code;
      val->type = SPK_JSON_STRING;
      break;
    case 't':
      if (end - p < 4 || memcmp(p, "true", 4) != 0) goto bad_literal;
      val->type = SPK_JSON_BOOL;
      val->u.boolean = 1;
      p += 4;
      break;
    case 'f':
      if (end - p < 5 || memcmp(p, "false", 5) != 0) goto bad_literal;
      val->type = SPK_JSON_BOOL;
      val->u.boolean = 0;
      p += 5;
      break;
    case 'n':
      if (end - p < 4 || memcmp(p, "null", 4) != 0) goto bad_literal;
      val->type = SPK_JSON_NULL;
      p += 4;
      break;
    case '-':
    case '0': case '1': case '2': case '3': case '4':
    case '5': case '6': case '7': case '8': case '9':
      p = parse_number(P, p, val);
      if (!p) return P->code;
      break;
    default:
      return fail(P, SPK_EPROTO, p, "unexpected character");
  }

done:
  if (depth == 0) goto finish;
  {
    jp_frame_t *f = &P->frames[depth - 1];
    if (f->is_object) {
      P->members[P->members_len - 1].value = val;
      SKIP_WS();
      if (p < end && *p == ',') {
        p++;
        goto key;
      }
      if (p < end && *p == '}') {
        p++;
        val = new_value(P);
        if (!val) return fail(P, SPK_ENOMEM, p, "out of memory");
        if (close_object(P, f->start, val)) return P->code;
        depth--;
        goto done;
      }
      return fail(P, SPK_EPROTO, p, p == end ? "unexpected end of input" : "expected ',' or '}'");
    }
    if (P->items_len == P->items_cap) {
      spk_json_value_t **it = grow_stack(P->items_inline, P->items, &P->items_cap, sizeof(*it));
      if (!it) return fail(P, SPK_ENOMEM, p, "out of memory");
      P->items = it;
    }
    P->items[P->items_len++] = val;
    SKIP_WS();
    if (p < end && *p == ',') {
      p++;
      goto value;
    }
    if (p < end && *p == ']') {
      p++;
      size_t n = P->items_len - f->start;
      spk_json_value_t **items = spk__arena_alloc(P->arena, n * sizeof(*items));
      val = new_value(P);
      if (!items || !val) return fail(P, SPK_ENOMEM, p, "out of memory");
      memcpy(items, P->items + f->start, n * sizeof(*items));
      val->type = SPK_JSON_ARRAY;
      val->u.array.items = items;
      val->u.array.len = n;
      val->u.array.cap = n;
      P->items_len = f->start;
      depth--;
      goto done;
    }
    return fail(P, SPK_EPROTO, p, p == end ? "unexpected end of input" : "expected ',' or ']'");
  }

key:
  SKIP_WS();
  if (p == end) return fail(P, SPK_EPROTO, p, "unexpected end of input");
  if (*p != '"') return fail(P, SPK_EPROTO, p, "expected a string key");
  if (P->members_len == P->members_cap) {
    jp_member_t *m = grow_stack(P->members_inline, P->members, &P->members_cap, sizeof(*m));
    if (!m) return fail(P, SPK_ENOMEM, p, "out of memory");
    P->members = m;
  }
  {
    jp_member_t *m = &P->members[P->members_len++];
    m->key_off = (size_t)(p - P->base);
    m->value = NULL;
    p = parse_string(P, p + 1, &m->key);
    if (!p) return P->code;
    size_t kl = m->key.len;
    m->tag = kl ? ((uint32_t)kl << 16) ^ ((uint32_t)(unsigned char)m->key.ptr[0] << 8) ^
                      (uint32_t)(unsigned char)m->key.ptr[kl - 1]
                : 0;
  }
  SKIP_WS();
  if (p == end) return fail(P, SPK_EPROTO, p, "unexpected end of input");
  if (*p != ':') return fail(P, SPK_EPROTO, p, "expected ':'");
  p++;
  goto value;

finish:
  SKIP_WS();
  if (p != end) return fail(P, SPK_EPROTO, p, "unexpected data after the JSON value");
  *out = val;
  return 0;

bad_literal:
  return fail(P, SPK_EPROTO, p, "invalid literal");
}

int spk_json_parse(spk__arena_t *arena, const char *buf, size_t len,
                   const spk_json_parse_options_t *opts, spk_json_value_t **out,
                   spk_json_error_t *err) {
  if (out) *out = NULL;
  if (!arena || !out || (!buf && len)) {
    if (err) {
      err->code = SPK_EINVAL;
      err->offset = 0;
      err->line = 1;
      err->column = 1;
      err->message = "invalid argument";
    }
    return SPK_EINVAL;
  }
  jp_t state; /* about 4 KB: mostly the inline stacks */
  jp_t *P = &state;
  static const unsigned char empty[1] = {0};
  P->arena = arena;
  P->base = buf ? (const unsigned char *)buf : empty;
  P->end = P->base + len;
  P->max_depth = opts && opts->max_depth ? opts->max_depth : 32;
  P->dup_error = opts && opts->dup_keys == SPK_JSON_DUP_ERROR;
  P->slab = NULL;
  P->slab_left = 0;
  P->slab_next = len < 64 ? 2 : JP_SLAB_MIN;
  P->text = NULL;
  P->text_end = NULL;
  P->frames = P->frames_inline;
  P->frames_cap = JP_INLINE_FRAMES;
  P->items = P->items_inline;
  P->items_len = 0;
  P->items_cap = JP_INLINE_ITEMS;
  P->members = P->members_inline;
  P->members_len = 0;
  P->members_cap = JP_INLINE_MEMBERS;
  P->table = NULL;
  P->table_cap = 0;
  P->code = 0;
  P->msg = NULL;
  P->err_at = P->base;

  int rc = run(P, out);
  if (rc) {
    *out = NULL;
    if (err) fill_error(P, err);
  } else if (err) {
    memset(err, 0, sizeof(*err));
  }
  if (P->frames != P->frames_inline) spk__free(P->frames);
  if (P->items != P->items_inline) spk__free(P->items);
  if (P->members != P->members_inline) spk__free(P->members);
  spk__free(P->table);
  return rc;
}
