/* JSON DOM: writer (compact and pretty), shortest double formatting, builders, lookup,
 * equality (see json.h).
 *
 * - The writer and spk_json_equal walk the tree with an explicit stack (O(depth) memory,
 *   inline for the first 32 levels), so documents parsed with a large max_depth cannot blow
 *   the C stack.
 * - Pretty output matches JavaScript's JSON.stringify(v, null, 2): members and items on their
 *   own lines indented by 2 spaces per level, "key": value, and empty containers as [] / {}.
 * - spk_json_format_double is locale-independent: digits come from snprintf("%.*e") with the
 *   decimal point skipped whatever it is, the round-trip check reads "<digits>e<exp>" (no
 *   decimal point) with strtod, and the layout is built here, following JavaScript's
 *   Number.prototype.toString (1e21 → "1e+21", 1e-7 → "1e-7", 0.000001 → "0.000001"), except
 *   that negative zero is "-0". Precisions 15, 16, 17 are tried in turn (1..17 for subnormals);
 *   the first that reads back exactly wins. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"
#include "util/alloc.h"

#define JW_INLINE_FRAMES 32

/* ---------------------------------------------------------------------------------------- */
/* Doubles */

static size_t put_u64_rev(char *tmp, uint64_t u) {
  size_t n = 0;
  do {
    tmp[n++] = (char)('0' + u % 10);
    u /= 10;
  } while (u);
  return n;
}

static size_t put_i64(char *o, int64_t v) {
  char tmp[24];
  size_t k = 0;
  uint64_t u = (uint64_t)v;
  if (v < 0) {
    o[k++] = '-';
    u = (uint64_t)0 - u;
  }
  size_t n = put_u64_rev(tmp, u);
  while (n) o[k++] = tmp[--n];
  return k;
}

/* Digits (no leading/trailing zeros) and decimal exponent X of |d| at `prec` significant
 * digits: |d| ≈ D[0].D[1..] × 10^X. Returns the digit count. */
static size_t digits_at(double d, int prec, char *D, int *X) {
  char tmp[64];
  int n = snprintf(tmp, sizeof(tmp), "%.*e", prec - 1, fabs(d));
  if (n <= 0 || (size_t)n >= sizeof(tmp)) return 0;
  size_t k = 0;
  const char *p = tmp;
  for (; *p && *p != 'e' && *p != 'E'; p++) {
    if (*p >= '0' && *p <= '9') D[k++] = *p; /* skips the locale's decimal point */
  }
  int x = 0, neg = 0;
  if (*p) {
    p++;
    if (*p == '-' || *p == '+') neg = *p++ == '-';
    while (*p >= '0' && *p <= '9') x = x * 10 + (*p++ - '0');
  }
  *X = neg ? -x : x;
  while (k > 1 && D[k - 1] == '0') k--;
  return k;
}

static int reads_back(const char *D, size_t k, int X, double want) {
  char buf[48];
  memcpy(buf, D, k);
  size_t n = k;
  buf[n++] = 'e';
  n += put_i64(buf + n, (int64_t)X - (int64_t)(k - 1));
  buf[n] = '\0';
  int saved = errno;
  double v = strtod(buf, NULL);
  errno = saved;
  return v == want;
}

size_t spk_json_format_double(char *out, double d) {
  if (isnan(d)) {
    memcpy(out, "NaN", 4);
    return 3;
  }
  if (isinf(d)) {
    if (d < 0) {
      memcpy(out, "-Infinity", 10);
      return 9;
    }
    memcpy(out, "Infinity", 9);
    return 8;
  }
  size_t o = 0;
  if (signbit(d)) out[o++] = '-';
  if (d == 0) {
    out[o++] = '0';
    out[o] = '\0';
    return o;
  }
  double a = fabs(d);
  char D[24];
  int X = 0;
  size_t k = 0;
  int first = a < DBL_MIN ? 1 : 15;
  for (int prec = first; prec <= 17; prec++) {
    k = digits_at(a, prec, D, &X);
    if (k && (prec == 17 || reads_back(D, k, X, a))) break;
  }
  int n = X + 1; /* value = 0.D × 10^n */
  int ki = (int)k;
  if (ki <= n && n <= 21) {
    memcpy(out + o, D, k);
    o += k;
    for (int i = ki; i < n; i++) out[o++] = '0';
  } else if (0 < n && n <= 21) {
    memcpy(out + o, D, (size_t)n);
    o += (size_t)n;
    out[o++] = '.';
    memcpy(out + o, D + n, k - (size_t)n);
    o += k - (size_t)n;
  } else if (-6 < n && n <= 0) {
    out[o++] = '0';
    out[o++] = '.';
    for (int i = 0; i < -n; i++) out[o++] = '0';
    memcpy(out + o, D, k);
    o += k;
  } else {
    out[o++] = D[0];
    if (k > 1) {
      out[o++] = '.';
      memcpy(out + o, D + 1, k - 1);
      o += k - 1;
    }
    out[o++] = 'e';
    out[o++] = n - 1 >= 0 ? '+' : '-';
    o += put_i64(out + o, n - 1 >= 0 ? n - 1 : 1 - n);
  }
  out[o] = '\0';
  return o;
}

/* ---------------------------------------------------------------------------------------- */
/* Strings */

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* High bit set in (at least the first) byte that is '"', '\\' or < 0x20. */
static inline uint64_t swar_escape(uint64_t x) {
  uint64_t q = x ^ (ONES * '"');
  uint64_t b = x ^ (ONES * '\\');
  uint64_t t = ((q - ONES) & ~q) | ((b - ONES) & ~b) | ((x - ONES * 0x20) & ~x);
  return t & ~x & HIGHS;
}

static const char hexdig[] = "0123456789abcdef";

/* Room for n more bytes; the common case stays inline. */
static inline int ensure(spk__buf_t *b, size_t n) {
  if (b->cap - b->len >= n) return 0;
  return spk__buf_reserve(b, n);
}

/* Length of the well-formed UTF-8 sequence at p (1..4), or 0 when it is not one. */
static size_t utf8_seq(const unsigned char *p, const unsigned char *end) {
  unsigned c = p[0];
  size_t n;
  unsigned min, cp;
  if (c < 0x80) return 1;
  if ((c & 0xe0) == 0xc0) n = 2, min = 0x80, cp = c & 0x1f;
  else if ((c & 0xf0) == 0xe0) n = 3, min = 0x800, cp = c & 0x0f;
  else if ((c & 0xf8) == 0xf0) n = 4, min = 0x10000, cp = c & 0x07;
  else return 0;
  if ((size_t)(end - p) < n) return 0;
  for (size_t i = 1; i < n; i++) {
    if ((p[i] & 0xc0) != 0x80) return 0;
    cp = (cp << 6) | (p[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

static int write_string_utf8(spk__buf_t *out, const char *s, size_t len);

/* Text from outside (percent-decoded query values, form fields, file names) may be invalid
 * UTF-8; JSON output never is: each invalid byte becomes U+FFFD. */
int spk_json_write_string(spk__buf_t *out, const char *s, size_t len) {
  const unsigned char *p = (const unsigned char *)s, *end = p + len;
  size_t i = 0;
  while (i < len && p[i] < 0x80) i++;
  if (i == len) return write_string_utf8(out, s, len);
  for (const unsigned char *q = p + i; q < end;) {
    size_t n = utf8_seq(q, end);
    if (!n) goto sanitize;
    q += n;
  }
  return write_string_utf8(out, s, len);
sanitize:;
  spk__buf_t clean = {0};
  int rc = 0;
  for (const unsigned char *q = p; q < end && !rc;) {
    size_t n = utf8_seq(q, end);
    rc = n ? spk__buf_append(&clean, q, n) : spk__buf_append(&clean, "\xef\xbf\xbd", 3);
    q += n ? n : 1;
  }
  if (!rc) rc = write_string_utf8(out, clean.data ? clean.data : "", clean.len);
  spk__buf_free(&clean);
  return rc;
}

static int write_string_utf8(spk__buf_t *out, const char *s, size_t len) {
  if (len > SIZE_MAX / 2 - 2 || ensure(out, len + 2)) return SPK_ENOMEM;
  char *o = out->data + out->len;
  *o++ = '"';
  const unsigned char *p = (const unsigned char *)s, *end = p + len, *run = p;
  for (;;) {
    while (end - p >= 8) {
      uint64_t x;
      memcpy(&x, p, 8);
      if (swar_escape(x)) break;
      p += 8;
    }
    while (p < end && *p >= 0x20 && *p != '"' && *p != '\\') p++;
    if (p == end) break;
    /* flush the run, then the escape (at most 6 bytes); keep room for the rest + the quote */
    size_t rl = (size_t)(p - run);
    memcpy(o, run, rl);
    o += rl;
    out->len = (size_t)(o - out->data);
    if (ensure(out, 6 + (size_t)(end - p) + 1)) return SPK_ENOMEM;
    o = out->data + out->len;
    unsigned c = *p++;
    run = p;
    char e = 0;
    switch (c) {
      case '"': e = '"'; break;
      case '\\': e = '\\'; break;
      case '\b': e = 'b'; break;
      case '\f': e = 'f'; break;
      case '\n': e = 'n'; break;
      case '\r': e = 'r'; break;
      case '\t': e = 't'; break;
      default: break;
    }
    if (e) {
      o[0] = '\\';
      o[1] = e;
      o += 2;
    } else {
      memcpy(o, "\\u00", 4);
      o[4] = hexdig[c >> 4];
      o[5] = hexdig[c & 15];
      o += 6;
    }
  }
  size_t rl = (size_t)(p - run);
  memcpy(o, run, rl);
  o += rl;
  *o++ = '"';
  out->len = (size_t)(o - out->data);
  return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Writer */

typedef struct jw_frame {
  const spk_json_value_t *v;
  size_t i;
} jw_frame_t;

typedef struct jstack {
  jw_frame_t *f;
  size_t len, cap;
  jw_frame_t inline_f[JW_INLINE_FRAMES];
} jstack_t;

static void jstack_init(jstack_t *s) {
  s->f = s->inline_f;
  s->len = 0;
  s->cap = JW_INLINE_FRAMES;
}

static void jstack_free(jstack_t *s) {
  if (s->f != s->inline_f) spk__free(s->f);
}

static int jstack_grow(jstack_t *s) {
  size_t ncap = s->cap * 2;
  if (ncap > SIZE_MAX / sizeof(jw_frame_t)) return SPK_ENOMEM;
  jw_frame_t *n;
  if (s->f == s->inline_f) {
    n = spk__malloc(ncap * sizeof(*n));
    if (n) memcpy(n, s->f, s->len * sizeof(*n));
  } else {
    n = spk__realloc(s->f, ncap * sizeof(*n));
  }
  if (!n) return SPK_ENOMEM;
  s->f = n;
  s->cap = ncap;
  return 0;
}

static inline int jstack_push(jstack_t *s, const spk_json_value_t *v) {
  if (s->len == s->cap && jstack_grow(s)) return SPK_ENOMEM;
  s->f[s->len].v = v;
  s->f[s->len].i = 0;
  s->len++;
  return 0;
}

/* A newline and 2 spaces per level, plus `extra` bytes of room after them. */
static int put_indent(spk__buf_t *out, size_t depth, size_t extra) {
  if (depth > (SIZE_MAX / 2 - 2 - extra) / 2) return SPK_ENOMEM;
  size_t n = depth * 2;
  if (ensure(out, n + 1 + extra)) return SPK_ENOMEM;
  char *o = out->data + out->len;
  *o++ = '\n';
  memset(o, ' ', n);
  out->len += n + 1;
  return 0;
}

/* Scalars and empty containers are written at once (returns 0); a non-empty container writes
 * its bracket and returns 1: the caller pushes it. */
static inline int write_scalar(spk__buf_t *out, const spk_json_value_t *v) {
  switch (v->type) {
    case SPK_JSON_NULL:
      if (ensure(out, 4)) return SPK_ENOMEM;
      memcpy(out->data + out->len, "null", 4);
      out->len += 4;
      return 0;
    case SPK_JSON_BOOL:
      if (ensure(out, 5)) return SPK_ENOMEM;
      if (v->u.boolean) {
        memcpy(out->data + out->len, "true", 4);
        out->len += 4;
      } else {
        memcpy(out->data + out->len, "false", 5);
        out->len += 5;
      }
      return 0;
    case SPK_JSON_INT:
      if (ensure(out, 24)) return SPK_ENOMEM;
      out->len += put_i64(out->data + out->len, v->u.integer);
      return 0;
    case SPK_JSON_NUMBER:
      if (v->u.number.raw.len) {
        if (ensure(out, v->u.number.raw.len)) return SPK_ENOMEM;
        memcpy(out->data + out->len, v->u.number.raw.ptr, v->u.number.raw.len);
        out->len += v->u.number.raw.len;
        return 0;
      }
      if (ensure(out, 32)) return SPK_ENOMEM;
      if (!isfinite(v->u.number.value)) {
        memcpy(out->data + out->len, "null", 4);
        out->len += 4;
        return 0;
      }
      out->len += spk_json_format_double(out->data + out->len, v->u.number.value);
      return 0;
    case SPK_JSON_STRING: return spk_json_write_string(out, v->u.string.ptr, v->u.string.len);
    case SPK_JSON_ARRAY:
    case SPK_JSON_OBJECT: {
      int obj = v->type == SPK_JSON_OBJECT;
      size_t n = obj ? v->u.object.len : v->u.array.len;
      if (ensure(out, 2)) return SPK_ENOMEM;
      out->data[out->len++] = obj ? '{' : '[';
      if (n) return 1;
      out->data[out->len++] = obj ? '}' : ']';
      return 0;
    }
  }
  return SPK_EINVAL;
}

int spk_json_write(spk__buf_t *out, const spk_json_value_t *v, int pretty) {
  if (!out || !v) return SPK_EINVAL;
  jstack_t st;
  jstack_init(&st);
  int rc = write_scalar(out, v);
  if (rc == 1) rc = jstack_push(&st, v);
  while (rc == 0 && st.len) {
    jw_frame_t *f = &st.f[st.len - 1];
    const spk_json_value_t *c = f->v;
    int is_obj = c->type == SPK_JSON_OBJECT;
    size_t len = is_obj ? c->u.object.len : c->u.array.len;
    if (f->i == len) {
      st.len--;
      if (pretty) {
        if ((rc = put_indent(out, st.len, 1))) break;
      } else if ((rc = ensure(out, 1))) {
        break;
      }
      out->data[out->len++] = is_obj ? '}' : ']';
      continue;
    }
    size_t i = f->i++;
    if (pretty) {
      if (i) {
        if ((rc = ensure(out, 1))) break;
        out->data[out->len++] = ',';
      }
      if ((rc = put_indent(out, st.len, 0))) break;
    } else if (i) {
      if ((rc = ensure(out, 1))) break;
      out->data[out->len++] = ',';
    }
    const spk_json_value_t *child;
    if (is_obj) {
      const spk_json_member_t *m = &c->u.object.members[i];
      if ((rc = spk_json_write_string(out, m->key.ptr, m->key.len))) break;
      if ((rc = ensure(out, 2))) break;
      out->data[out->len++] = ':';
      if (pretty) out->data[out->len++] = ' ';
      child = m->value;
    } else {
      child = c->u.array.items[i];
    }
    if (!child) {
      rc = SPK_EINVAL;
      break;
    }
    rc = write_scalar(out, child);
    if (rc == 1) rc = jstack_push(&st, child);
  }
  jstack_free(&st);
  return rc < 0 ? rc : 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Lookup, numbers, equality */

spk_json_value_t *spk_json_get(const spk_json_value_t *obj, const char *key, size_t key_len) {
  if (!obj || obj->type != SPK_JSON_OBJECT || (!key && key_len)) return NULL;
  const spk_json_member_t *m = obj->u.object.members;
  for (size_t i = 0, n = obj->u.object.len; i < n; i++) {
    if (m[i].key.len == key_len && (key_len == 0 || memcmp(m[i].key.ptr, key, key_len) == 0))
      return m[i].value;
  }
  return NULL;
}

double spk_json_as_double(const spk_json_value_t *v) {
  if (!v) return 0;
  if (v->type == SPK_JSON_INT) return (double)v->u.integer;
  if (v->type == SPK_JSON_NUMBER) return v->u.number.value;
  return 0;
}

/* A JSON number literal seen as ±0.d1d2…dn × 10^q (d1, dn nonzero), digits read in place. */
typedef struct dec {
  int neg, zero;
  const char *first; /* first significant digit */
  const char *mend;  /* end of the mantissa text (int part, '.', frac part) */
  size_t n;          /* significant digits */
  int64_t q;
} dec_t;

#define DEC_EXP_SATURATE 1000000000000000ll

static void dec_parse(const char *s, size_t len, dec_t *d) {
  const char *p = s, *e = s + len;
  d->neg = p < e && *p == '-';
  if (d->neg) p++;
  const char *ms = p;
  while (p < e && ((*p >= '0' && *p <= '9') || *p == '.')) p++;
  d->mend = p;
  int64_t exp = 0;
  if (p < e && (*p == 'e' || *p == 'E')) {
    p++;
    int eneg = 0;
    if (p < e && (*p == '-' || *p == '+')) eneg = *p++ == '-';
    for (; p < e && *p >= '0' && *p <= '9'; p++)
      if (exp < DEC_EXP_SATURATE) exp = exp * 10 + (*p - '0');
    if (eneg) exp = -exp;
  }
  /* position of the point: digits before it count positively */
  int64_t int_digits = 0, lead_frac_zeros = 0;
  int in_frac = 0;
  d->first = NULL;
  const char *last = NULL;
  size_t n = 0, since_first = 0;
  for (const char *c = ms; c < d->mend; c++) {
    if (*c == '.') {
      in_frac = 1;
      continue;
    }
    if (!d->first) {
      if (*c == '0') {
        if (in_frac) lead_frac_zeros++;
        continue;
      }
      d->first = c;
    }
    since_first++;
    if (!in_frac) int_digits++;
    if (*c != '0') {
      last = c;
      n = since_first;
    }
  }
  d->zero = d->first == NULL;
  d->n = n;
  d->mend = last ? last + 1 : d->mend;
  d->q = (int_digits ? int_digits : -lead_frac_zeros) + exp;
}

static int dec_equal(const char *a, size_t alen, const char *b, size_t blen) {
  dec_t x, y;
  dec_parse(a, alen, &x);
  dec_parse(b, blen, &y);
  if (x.zero || y.zero) return x.zero && y.zero;
  if (x.neg != y.neg || x.n != y.n || x.q != y.q) return 0;
  const char *p = x.first, *q = y.first;
  for (size_t i = 0; i < x.n; i++, p++, q++) {
    if (*p == '.') p++;
    if (*q == '.') q++;
    if (*p != *q) return 0;
  }
  return 1;
}

static int int_equals_double(int64_t i, double d) {
  /* [-2^63, 2^63) is exactly representable at its ends */
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return 0;
  if (d != floor(d)) return 0;
  return (int64_t)d == i;
}

static int numbers_equal(const spk_json_value_t *a, const spk_json_value_t *b) {
  if (a->type == SPK_JSON_INT && b->type == SPK_JSON_INT) return a->u.integer == b->u.integer;
  if (a->type == SPK_JSON_NUMBER && b->type == SPK_JSON_INT) {
    const spk_json_value_t *t = a;
    a = b;
    b = t;
  }
  if (a->type == SPK_JSON_INT) { /* b is NUMBER */
    if (b->u.number.raw.len) {
      char tmp[24];
      size_t n = put_i64(tmp, a->u.integer);
      return dec_equal(tmp, n, b->u.number.raw.ptr, b->u.number.raw.len);
    }
    return int_equals_double(a->u.integer, b->u.number.value);
  }
  if (a->u.number.raw.len && b->u.number.raw.len)
    return dec_equal(a->u.number.raw.ptr, a->u.number.raw.len, b->u.number.raw.ptr,
                     b->u.number.raw.len);
  return a->u.number.value == b->u.number.value;
}

static int is_num(spk_json_type_t t) { return t == SPK_JSON_INT || t == SPK_JSON_NUMBER; }

/* 0 unequal, 1 equal, 2 equal-looking containers whose children must be compared. */
static int shallow_equal(const spk_json_value_t *a, const spk_json_value_t *b) {
  if (!a || !b) return a == b;
  if (is_num(a->type) && is_num(b->type)) return numbers_equal(a, b);
  if (a->type != b->type) return 0;
  switch (a->type) {
    case SPK_JSON_NULL: return 1;
    case SPK_JSON_BOOL: return !a->u.boolean == !b->u.boolean;
    case SPK_JSON_STRING:
      return a->u.string.len == b->u.string.len &&
             (a->u.string.len == 0 ||
              memcmp(a->u.string.ptr, b->u.string.ptr, a->u.string.len) == 0);
    case SPK_JSON_ARRAY:
      if (a->u.array.len != b->u.array.len) return 0;
      return a->u.array.len ? 2 : 1;
    case SPK_JSON_OBJECT:
      if (a->u.object.len != b->u.object.len) return 0;
      return a->u.object.len ? 2 : 1;
    default: return 0;
  }
}

typedef struct eq_frame {
  const spk_json_value_t *a, *b;
  size_t i;
} eq_frame_t;

int spk_json_equal(const spk_json_value_t *a, const spk_json_value_t *b) {
  int r = shallow_equal(a, b);
  if (r != 2) return r;
  eq_frame_t inline_f[JW_INLINE_FRAMES];
  eq_frame_t *st = inline_f;
  size_t len = 0, cap = JW_INLINE_FRAMES;
  st[len++] = (eq_frame_t){a, b, 0};
  int result = 1;
  while (len) {
    eq_frame_t *f = &st[len - 1];
    const spk_json_value_t *ca, *cb;
    if (f->a->type == SPK_JSON_ARRAY) {
      if (f->i == f->a->u.array.len) {
        len--;
        continue;
      }
      ca = f->a->u.array.items[f->i];
      cb = f->b->u.array.items[f->i];
    } else {
      size_t n = f->a->u.object.len;
      if (f->i == n) {
        len--;
        continue;
      }
      const spk_json_member_t *ma = &f->a->u.object.members[f->i];
      const spk_json_member_t *mb = &f->b->u.object.members[f->i];
      ca = ma->value;
      /* same order is the common case; otherwise search */
      if (mb->key.len == ma->key.len &&
          (ma->key.len == 0 || memcmp(mb->key.ptr, ma->key.ptr, ma->key.len) == 0)) {
        cb = mb->value;
      } else {
        cb = spk_json_get(f->b, ma->key.ptr, ma->key.len);
        if (!cb) {
          result = 0;
          break;
        }
      }
    }
    f->i++;
    r = shallow_equal(ca, cb);
    if (r == 0) {
      result = 0;
      break;
    }
    if (r == 2) {
      if (len == cap) {
        size_t ncap = cap * 2;
        eq_frame_t *n;
        if (st == inline_f) {
          n = spk__malloc(ncap * sizeof(*n));
          if (n) memcpy(n, st, len * sizeof(*n));
        } else {
          n = spk__realloc(st, ncap * sizeof(*n));
        }
        if (!n) { /* cannot finish the comparison: report "not equal" */
          result = 0;
          break;
        }
        st = n;
        cap = ncap;
      }
      st[len++] = (eq_frame_t){ca, cb, 0};
    }
  }
  if (st != inline_f) spk__free(st);
  return result;
}

/* ---------------------------------------------------------------------------------------- */
/* Builders */

static spk_json_value_t *new_value(spk__arena_t *a, spk_json_type_t t) {
  if (!a) return NULL;
  spk_json_value_t *v = spk__arena_alloc(a, sizeof(*v));
  if (!v) return NULL;
  memset(v, 0, sizeof(*v));
  v->type = t;
  return v;
}

spk_json_value_t *spk_json_new_null(spk__arena_t *a) { return new_value(a, SPK_JSON_NULL); }

spk_json_value_t *spk_json_new_bool(spk__arena_t *a, int b) {
  spk_json_value_t *v = new_value(a, SPK_JSON_BOOL);
  if (v) v->u.boolean = b ? 1 : 0;
  return v;
}

spk_json_value_t *spk_json_new_int(spk__arena_t *a, int64_t i) {
  spk_json_value_t *v = new_value(a, SPK_JSON_INT);
  if (v) v->u.integer = i;
  return v;
}

spk_json_value_t *spk_json_new_double(spk__arena_t *a, double d) {
  spk_json_value_t *v = new_value(a, SPK_JSON_NUMBER);
  if (!v) return NULL;
  v->u.number.value = d;
  v->u.number.raw.ptr = "";
  v->u.number.raw.len = 0;
  v->u.number.is_integer = isfinite(d) && d == floor(d);
  return v;
}

spk_json_value_t *spk_json_new_string(spk__arena_t *a, const char *s, size_t len) {
  if (!s && len) return NULL;
  spk_json_value_t *v = new_value(a, SPK_JSON_STRING);
  if (!v) return NULL;
  char *c = spk__arena_strndup(a, s ? s : "", len);
  if (!c) return NULL;
  v->u.string.ptr = c;
  v->u.string.len = len;
  return v;
}

spk_json_value_t *spk_json_new_array(spk__arena_t *a, size_t capacity) {
  spk_json_value_t *v = new_value(a, SPK_JSON_ARRAY);
  if (!v || !capacity) return v;
  if (capacity > SIZE_MAX / sizeof(spk_json_value_t *)) return NULL;
  v->u.array.items = spk__arena_alloc(a, capacity * sizeof(spk_json_value_t *));
  if (!v->u.array.items) return NULL;
  v->u.array.cap = capacity;
  return v;
}

spk_json_value_t *spk_json_new_object(spk__arena_t *a, size_t capacity) {
  spk_json_value_t *v = new_value(a, SPK_JSON_OBJECT);
  if (!v || !capacity) return v;
  if (capacity > SIZE_MAX / sizeof(spk_json_member_t)) return NULL;
  v->u.object.members = spk__arena_alloc(a, capacity * sizeof(spk_json_member_t));
  if (!v->u.object.members) return NULL;
  v->u.object.cap = capacity;
  return v;
}

/* Make room for one more element of `elem` bytes; *cap below len means "full". */
static int grow(spk__arena_t *a, void **ptr, size_t len, size_t *cap, size_t elem) {
  if (*cap > len) return 0;
  size_t ncap = len < 4 ? 8 : len * 2;
  if (ncap <= len || ncap > SIZE_MAX / elem) return SPK_ENOMEM;
  void *n = spk__arena_realloc(a, *ptr, len * elem, ncap * elem);
  if (!n) return SPK_ENOMEM;
  *ptr = n;
  *cap = ncap;
  return 0;
}

int spk_json_array_push(spk__arena_t *a, spk_json_value_t *arr, spk_json_value_t *item) {
  if (!a || !arr || !item || arr->type != SPK_JSON_ARRAY) return SPK_EINVAL;
  void *items = arr->u.array.items;
  if (grow(a, &items, arr->u.array.len, &arr->u.array.cap, sizeof(spk_json_value_t *)))
    return SPK_ENOMEM;
  arr->u.array.items = items;
  arr->u.array.items[arr->u.array.len++] = item;
  return 0;
}

int spk_json_object_set(spk__arena_t *a, spk_json_value_t *obj, const char *key, size_t key_len,
                        spk_json_value_t *value) {
  if (!a || !obj || !value || obj->type != SPK_JSON_OBJECT || (!key && key_len))
    return SPK_EINVAL;
  spk_json_member_t *m = obj->u.object.members;
  for (size_t i = 0; i < obj->u.object.len; i++) {
    if (m[i].key.len == key_len && (key_len == 0 || memcmp(m[i].key.ptr, key, key_len) == 0)) {
      m[i].value = value;
      return 0;
    }
  }
  char *k = spk__arena_strndup(a, key ? key : "", key_len);
  if (!k) return SPK_ENOMEM;
  void *members = obj->u.object.members;
  if (grow(a, &members, obj->u.object.len, &obj->u.object.cap, sizeof(spk_json_member_t)))
    return SPK_ENOMEM;
  obj->u.object.members = members;
  m = &obj->u.object.members[obj->u.object.len++];
  m->key.ptr = k;
  m->key.len = key_len;
  m->value = value;
  return 0;
}
