/* JSON Schema validation over a compiled schema (schema_internal.h).
 *
 * One recursive walk, v_node(node, instance). Errors are recorded only while `quiet` is 0; the
 * branches of anyOf/oneOf/not/if/contains run quietly and stop at their first failure. The
 * evaluated-properties/items annotations that unevaluated* needs are bitsets over the members
 * (or items) of the current instance; they are only kept when some schema on the way asks for
 * them, so schemas without unevaluated* pay nothing.
 *
 * Everything — errors, paths, messages, bitsets, PCRE2 match state — comes from the caller's
 * arena; the compiled schema is only read. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/schema_internal.h"
#include "spikard/common.h"

/* Nesting of schema evaluations (in-place applicators and children). */
#define SCH_MAX_EVAL_DEPTH 600
/* Instances rendered inside messages are cut after this many bytes. */
#define SCH_MSG_MAX 480

typedef struct vpath {
  const struct vpath *up;
  const char *key;
  size_t key_len;
  long long index; /* >= 0: array index */
} vpath_t;

typedef struct scope {
  const struct scope *up;
  const sch_res_t *res;
} scope_t;

/* The in-place evaluations active on the current instance, to catch infinite recursion. */
typedef struct frame {
  const struct frame *up;
  const sch_node_t *node;
} frame_t;

typedef struct ann {
  unsigned char *bits;
  size_t n;
  int all;
} ann_t;

typedef struct vctx {
  spk__arena_t *arena;
  int quiet;
  int oom;
  int depth;
  const frame_t *inplace;
  spk_schema_error_t *errs;
  size_t n_errs, cap_errs;
  spk__sch_match_state_t re;
} vctx_t;

static int v_node(vctx_t *c, const sch_node_t *n, const spk_json_value_t *inst,
                  const vpath_t *path, const scope_t *sc, ann_t *ann);

/* ==== message building =================================================================== */

typedef struct sb {
  char buf[SCH_MSG_MAX + 96];
  size_t len;
  size_t limit;
  int cut;
} sb_t;

static void sb_init(sb_t *b) {
  b->len = 0;
  b->limit = SCH_MSG_MAX;
  b->cut = 0;
  b->buf[0] = '\0';
}

static void sb_put(sb_t *b, const char *s, size_t n) {
  if (b->cut) return;
  if (b->len + n > b->limit) {
    size_t room = b->limit - b->len;
    /* do not split a UTF-8 sequence */
    while (room && ((unsigned char)s[room] & 0xC0) == 0x80) room--;
    memcpy(b->buf + b->len, s, room);
    b->len += room;
    memcpy(b->buf + b->len, "...", 3);
    b->len += 3;
    b->cut = 1;
  } else {
    memcpy(b->buf + b->len, s, n);
    b->len += n;
  }
  b->buf[b->len] = '\0';
}
static void sb_str(sb_t *b, const char *s) { sb_put(b, s, strlen(s)); }

static void sb_u64(sb_t *b, unsigned long long v) {
  char t[24];
  size_t k = sizeof(t);
  do {
    t[--k] = (char)('0' + v % 10);
    v /= 10;
  } while (v);
  sb_put(b, t + k, sizeof(t) - k);
}

static void sb_i64(sb_t *b, long long v) {
  if (v < 0) {
    sb_put(b, "-", 1);
    sb_u64(b, (unsigned long long)(-(v + 1)) + 1);
  } else {
    sb_u64(b, (unsigned long long)v);
  }
}

static void sb_quoted(sb_t *b, const char *s, size_t n) {
  static const char hex[] = "0123456789abcdef";
  sb_put(b, "\"", 1);
  size_t run = 0;
  for (size_t i = 0; i < n && !b->cut; i++) {
    unsigned char ch = (unsigned char)s[i];
    const char *esc = NULL;
    char u[6];
    if (ch == '"') esc = "\\\"";
    else if (ch == '\\') esc = "\\\\";
    else if (ch == '\n') esc = "\\n";
    else if (ch == '\r') esc = "\\r";
    else if (ch == '\t') esc = "\\t";
    else if (ch < 0x20) {
      u[0] = '\\', u[1] = 'u', u[2] = '0', u[3] = '0', u[4] = hex[ch >> 4], u[5] = hex[ch & 15];
    } else {
      continue;
    }
    sb_put(b, s + run, i - run);
    if (esc) sb_str(b, esc);
    else sb_put(b, u, 6);
    run = i + 1;
  }
  if (run < n) sb_put(b, s + run, n - run);
  sb_put(b, "\"", 1);
}

static void sb_json(sb_t *b, const spk_json_value_t *v, int depth) {
  if (b->cut) return;
  if (!v) {
    sb_str(b, "null");
    return;
  }
  switch (v->type) {
    case SPK_JSON_NULL:
      sb_str(b, "null");
      break;
    case SPK_JSON_BOOL:
      sb_str(b, v->u.boolean ? "true" : "false");
      break;
    case SPK_JSON_INT:
      sb_i64(b, (long long)v->u.integer);
      break;
    case SPK_JSON_NUMBER:
      if (v->u.number.raw.len) {
        sb_put(b, v->u.number.raw.ptr, v->u.number.raw.len);
      } else if (!isfinite(v->u.number.value)) {
        sb_str(b, "null");
      } else {
        char t[32];
        size_t k = spk_json_format_double(t, v->u.number.value);
        sb_put(b, t, k);
      }
      break;
    case SPK_JSON_STRING:
      sb_quoted(b, v->u.string.ptr, v->u.string.len);
      break;
    case SPK_JSON_ARRAY:
      if (depth > 32) {
        sb_str(b, "[...]");
        break;
      }
      sb_put(b, "[", 1);
      for (size_t i = 0; i < v->u.array.len && !b->cut; i++) {
        if (i) sb_put(b, ",", 1);
        sb_json(b, v->u.array.items[i], depth + 1);
      }
      sb_put(b, "]", 1);
      break;
    case SPK_JSON_OBJECT:
      if (depth > 32) {
        sb_str(b, "{...}");
        break;
      }
      sb_put(b, "{", 1);
      for (size_t i = 0; i < v->u.object.len && !b->cut; i++) {
        if (i) sb_put(b, ",", 1);
        sb_quoted(b, v->u.object.members[i].key.ptr, v->u.object.members[i].key.len);
        sb_put(b, ":", 1);
        sb_json(b, v->u.object.members[i].value, depth + 1);
      }
      sb_put(b, "}", 1);
      break;
  }
}

/* ==== errors ============================================================================= */

static void add_error(vctx_t *c, const vpath_t *path, const char *keyword,
                      const spk_json_value_t *inst, const spk_json_value_t *kwv,
                      const char *prop, size_t prop_len, const sb_t *msg) {
  if (c->oom) return;
  if (c->n_errs == c->cap_errs) {
    size_t cap = c->cap_errs ? c->cap_errs * 2 : 8;
    spk_schema_error_t *e = spk__arena_realloc(c->arena, c->errs, c->cap_errs * sizeof(*e),
                                               cap * sizeof(*e));
    if (!e) {
      c->oom = 1;
      return;
    }
    c->errs = e;
    c->cap_errs = cap;
  }
  size_t depth = 0;
  for (const vpath_t *p = path; p; p = p->up) depth++;
  spk_schema_loc_t *locs = NULL;
  if (depth) {
    locs = spk__arena_alloc(c->arena, depth * sizeof(*locs));
    if (!locs) {
      c->oom = 1;
      return;
    }
    size_t i = depth;
    for (const vpath_t *p = path; p; p = p->up) {
      --i;
      locs[i].index = p->index;
      locs[i].key.ptr = p->key;
      locs[i].key.len = p->key_len;
    }
  }
  char *m = spk__arena_strndup(c->arena, msg->buf, msg->len);
  if (!m) {
    c->oom = 1;
    return;
  }
  spk_schema_error_t *e = &c->errs[c->n_errs++];
  e->path = locs;
  e->path_len = depth;
  e->keyword = keyword;
  e->instance = inst;
  e->keyword_value = kwv;
  e->property.ptr = prop;
  e->property.len = prop ? prop_len : 0;
  e->message = m;
}

/* ==== annotations ======================================================================== */

static size_t inst_len(const spk_json_value_t *v) {
  return v->type == SPK_JSON_OBJECT ? v->u.object.len : v->type == SPK_JSON_ARRAY ? v->u.array.len : 0;
}

static void ann_init(ann_t *a, const spk_json_value_t *inst) {
  a->bits = NULL;
  a->n = inst_len(inst);
  a->all = 0;
}

static void ann_mark(vctx_t *c, ann_t *a, size_t i) {
  if (!a || a->all) return;
  if (!a->bits) {
    a->bits = spk__arena_calloc(c->arena, (a->n + 7) / 8);
    if (!a->bits) {
      c->oom = 1;
      return;
    }
  }
  a->bits[i >> 3] |= (unsigned char)(1u << (i & 7));
}

static int ann_has(const ann_t *a, size_t i) {
  return a->all || (a->bits && (a->bits[i >> 3] & (1u << (i & 7))));
}

static void ann_merge(vctx_t *c, ann_t *dst, const ann_t *src) {
  if (!dst || dst->all) return;
  if (src->all) {
    dst->all = 1;
    return;
  }
  if (!src->bits) return;
  if (!dst->bits) {
    dst->bits = spk__arena_calloc(c->arena, (dst->n + 7) / 8);
    if (!dst->bits) {
      c->oom = 1;
      return;
    }
  }
  for (size_t i = 0; i < (dst->n + 7) / 8; i++) dst->bits[i] |= src->bits[i];
}

/* ==== numbers ============================================================================ */

/* A decimal number as 0.DIGITS × 10^exp, DIGITS without leading or trailing zeros, split over
 * up to two runs of the source text (integer and fraction digits). */
typedef struct dec {
  int neg, zero;
  const char *d1, *d2;
  size_t n1, n2;
  long long exp;
  char buf[32];
} dec_t;

static char dec_digit(const dec_t *d, size_t k) { return k < d->n1 ? d->d1[k] : d->d2[k - d->n1]; }

static void dec_parse(dec_t *d, const char *s, size_t n) {
  size_t i = 0;
  d->neg = 0;
  if (i < n && (s[i] == '-' || s[i] == '+')) d->neg = s[i++] == '-';
  d->d1 = s + i;
  while (i < n && s[i] >= '0' && s[i] <= '9') i++;
  d->n1 = (size_t)(s + i - d->d1);
  d->d2 = s + i;
  d->n2 = 0;
  if (i < n && s[i] == '.') {
    i++;
    d->d2 = s + i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    d->n2 = (size_t)(s + i - d->d2);
  }
  long long e = 0;
  if (i < n && (s[i] == 'e' || s[i] == 'E')) {
    i++;
    int eneg = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) eneg = s[i++] == '-';
    while (i < n && s[i] >= '0' && s[i] <= '9') {
      if (e < 1000000000000000ll) e = e * 10 + (s[i] - '0');
      i++;
    }
    if (eneg) e = -e;
  }
  d->exp = (long long)d->n1 + e;
  /* strip leading zeros */
  while (d->n1 && d->d1[0] == '0') d->d1++, d->n1--, d->exp--;
  if (!d->n1)
    while (d->n2 && d->d2[0] == '0') d->d2++, d->n2--, d->exp--;
  /* strip trailing zeros */
  while (d->n2 && d->d2[d->n2 - 1] == '0') d->n2--;
  if (!d->n2)
    while (d->n1 && d->d1[d->n1 - 1] == '0') d->n1--;
  d->zero = d->n1 + d->n2 == 0;
}

/* 0 on success; -1 when v is not a finite number we can express. */
static int dec_of(dec_t *d, const spk_json_value_t *v) {
  if (v->type == SPK_JSON_INT) {
    long long x = (long long)v->u.integer;
    unsigned long long u = x < 0 ? (unsigned long long)(-(x + 1)) + 1 : (unsigned long long)x;
    size_t k = sizeof(d->buf);
    do {
      d->buf[--k] = (char)('0' + u % 10);
      u /= 10;
    } while (u);
    if (x < 0) d->buf[--k] = '-';
    dec_parse(d, d->buf + k, sizeof(d->buf) - k);
    return 0;
  }
  if (v->type != SPK_JSON_NUMBER) return -1;
  if (v->u.number.raw.len) {
    dec_parse(d, v->u.number.raw.ptr, v->u.number.raw.len);
    return 0;
  }
  if (!isfinite(v->u.number.value)) return -1;
  size_t k = spk_json_format_double(d->buf, v->u.number.value);
  dec_parse(d, d->buf, k);
  return 0;
}

static int dec_cmp(const dec_t *a, const dec_t *b) {
  int sa = a->zero ? 0 : a->neg ? -1 : 1;
  int sb = b->zero ? 0 : b->neg ? -1 : 1;
  if (sa != sb) return sa < sb ? -1 : 1;
  if (!sa) return 0;
  int mag;
  if (a->exp != b->exp) {
    mag = a->exp < b->exp ? -1 : 1;
  } else {
    size_t na = a->n1 + a->n2, nb = b->n1 + b->n2;
    size_t n = na > nb ? na : nb;
    mag = 0;
    for (size_t k = 0; k < n && !mag; k++) {
      char x = k < na ? dec_digit(a, k) : '0';
      char y = k < nb ? dec_digit(b, k) : '0';
      if (x != y) mag = x < y ? -1 : 1;
    }
  }
  return sa < 0 ? -mag : mag;
}

/* -1, 0, 1; both are numbers. */
static int num_cmp(const spk_json_value_t *a, const spk_json_value_t *b) {
  if (a->type == SPK_JSON_INT && b->type == SPK_JSON_INT)
    return a->u.integer < b->u.integer ? -1 : a->u.integer > b->u.integer;
  dec_t x, y;
  if (dec_of(&x, a) || dec_of(&y, b)) {
    double p = spk_json_as_double(a), q = spk_json_as_double(b);
    return p < q ? -1 : p > q;
  }
  return dec_cmp(&x, &y);
}

static unsigned long long mulmod(unsigned long long a, unsigned long long b, unsigned long long m) {
  unsigned long long r = 0;
  a %= m;
  while (b) {
    if (b & 1) r = (r + a) % m;
    a = (a * 2) % m;
    b >>= 1;
  }
  return r;
}

static unsigned long long pow10mod(long long k, unsigned long long m) {
  unsigned long long r = 1 % m, base = 10 % m;
  while (k > 0) {
    if (k & 1) r = mulmod(r, base, m);
    base = mulmod(base, base, m);
    k >>= 1;
  }
  return r;
}

/* Is `inst` an integer multiple of `m` (m > 0)? Exact on the decimal text when the divisor,
 * scaled to an integer, has at most 18 digits; floating point otherwise. */
static int is_multiple(const spk_json_value_t *inst, const spk_json_value_t *m) {
  if (inst->type == SPK_JSON_INT && m->type == SPK_JSON_INT) return m->u.integer == 0 || inst->u.integer % m->u.integer == 0;
  dec_t x, d;
  if (!dec_of(&x, inst) && !dec_of(&d, m) && !d.zero) {
    if (x.zero) return 1;
    long long nx = (long long)(x.n1 + x.n2), nm = (long long)(d.n1 + d.n2);
    long long ex = x.exp - nx, em = d.exp - nm;
    long long e = ex < em ? ex : em;
    if (nm + (em - e) <= 18) {
      unsigned long long M = 0;
      for (long long k = 0; k < nm; k++) M = M * 10 + (unsigned long long)(dec_digit(&d, (size_t)k) - '0');
      for (long long k = 0; k < em - e; k++) M *= 10;
      unsigned long long r = 0;
      for (long long k = 0; k < nx; k++) r = (r * 10 + (unsigned long long)(dec_digit(&x, (size_t)k) - '0')) % M;
      r = mulmod(r, pow10mod(ex - e, M), M);
      return r == 0;
    }
  }
  double a = spk_json_as_double(inst), b = spk_json_as_double(m);
  double q = a / b;
  if (!isfinite(q)) return 0;
  return q == floor(q);
}

/* ==== unique items ======================================================================= */

static uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdull;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ull;
  x ^= x >> 33;
  return x;
}

static uint64_t hash_bytes(const char *s, size_t n) {
  uint64_t h = 1469598103934665603ull;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 1099511628211ull;
  }
  return h;
}

/* Consistent with spk_json_equal: numbers hash by their double value. */
static uint64_t json_hash(const spk_json_value_t *v, int depth) {
  switch (v->type) {
    case SPK_JSON_NULL: return 0x9e3779b97f4a7c15ull;
    case SPK_JSON_BOOL: return v->u.boolean ? 0x2545f4914f6cdd1dull : 0x5851f42d4c957f2dull;
    case SPK_JSON_INT:
    case SPK_JSON_NUMBER: {
      double d = spk_json_as_double(v);
      if (d == 0) d = 0; /* -0 */
      uint64_t bits;
      memcpy(&bits, &d, sizeof(bits));
      return mix64(bits ^ 0x1234567ull);
    }
    case SPK_JSON_STRING: return mix64(hash_bytes(v->u.string.ptr, v->u.string.len));
    case SPK_JSON_ARRAY: {
      uint64_t h = 0x27d4eb2f165667c5ull;
      if (depth > 64) return h;
      for (size_t i = 0; i < v->u.array.len; i++) h = mix64(h * 31 + json_hash(v->u.array.items[i], depth + 1));
      return h;
    }
    case SPK_JSON_OBJECT: {
      uint64_t h = 0x165667b19e3779f9ull;
      if (depth > 64) return h;
      for (size_t i = 0; i < v->u.object.len; i++) {
        const spk_json_member_t *m = &v->u.object.members[i];
        h += mix64(hash_bytes(m->key.ptr, m->key.len) ^ (json_hash(m->value, depth + 1) * 0x9e3779b97f4a7c15ull));
      }
      return h;
    }
  }
  return 0;
}

typedef struct hpair {
  uint64_t h;
  size_t i;
} hpair_t;

static void merge_sort_pairs(hpair_t *a, hpair_t *tmp, size_t n) {
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n;
      size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) tmp[k++] = a[j].h < a[i].h ? a[j++] : a[i++];
      while (i < mid) tmp[k++] = a[i++];
      while (j < hi) tmp[k++] = a[j++];
    }
    memcpy(a, tmp, n * sizeof(*a));
  }
}

/* 1 unique, 0 duplicates, -1 out of memory. */
static int items_unique(vctx_t *c, const spk_json_value_t *arr) {
  size_t n = arr->u.array.len;
  spk_json_value_t **it = arr->u.array.items;
  if (n < 2) return 1;
  if (n <= 16) {
    for (size_t i = 0; i < n; i++)
      for (size_t j = i + 1; j < n; j++)
        if (spk_json_equal(it[i], it[j])) return 0;
    return 1;
  }
  hpair_t *p = spk__arena_alloc(c->arena, 2 * n * sizeof(*p));
  if (!p) return -1;
  for (size_t i = 0; i < n; i++) {
    p[i].h = json_hash(it[i], 0);
    p[i].i = i;
  }
  merge_sort_pairs(p, p + n, n);
  for (size_t i = 0; i < n;) {
    size_t j = i + 1;
    while (j < n && p[j].h == p[i].h) j++;
    for (size_t a = i; a < j; a++)
      for (size_t b = a + 1; b < j; b++)
        if (spk_json_equal(it[p[a].i], it[p[b].i])) return 0;
    i = j;
  }
  return 1;
}

/* ==== helpers ============================================================================ */

static size_t utf8_count(const char *s, size_t n) {
  size_t k = 0;
  for (size_t i = 0; i < n; i++) k += ((unsigned char)s[i] & 0xC0) != 0x80;
  return k;
}

static int b64_value(unsigned char ch) {
  if (ch >= 'A' && ch <= 'Z') return ch - 'A';
  if (ch >= 'a' && ch <= 'z') return ch - 'a' + 26;
  if (ch >= '0' && ch <= '9') return ch - '0' + 52;
  if (ch == '+') return 62;
  if (ch == '/') return 63;
  return -1;
}

/* RFC 4648 base64 with padding. 1 decoded, 0 invalid, -1 out of memory. */
static int base64_decode(vctx_t *c, const char *s, size_t n, char **out, size_t *out_len) {
  if (n % 4) return 0;
  char *d = spk__arena_alloc(c->arena, n / 4 * 3 + 1);
  if (!d) return -1;
  size_t o = 0;
  for (size_t i = 0; i < n; i += 4) {
    int v[4];
    int pad = 0;
    for (int k = 0; k < 4; k++) {
      unsigned char ch = (unsigned char)s[i + (size_t)k];
      if (ch == '=' && i + 4 == n && k >= 2) {
        v[k] = 0;
        pad++;
        continue;
      }
      if (pad) return 0;
      v[k] = b64_value(ch);
      if (v[k] < 0) return 0;
    }
    unsigned long w = ((unsigned long)v[0] << 18) | ((unsigned long)v[1] << 12) |
                      ((unsigned long)v[2] << 6) | (unsigned long)v[3];
    d[o++] = (char)(w >> 16);
    if (pad < 2) d[o++] = (char)((w >> 8) & 0xFF);
    if (pad < 1) d[o++] = (char)(w & 0xFF);
  }
  *out = d;
  *out_len = o;
  return 1;
}

static long prop_find(const sch_node_t *n, const char *k, size_t kl) {
  if (n->props_index) {
    size_t h = spk__sch_hash(k, kl) & n->props_index_mask;
    while (n->props_index[h]) {
      size_t i = n->props_index[h] - 1;
      if (n->props[i].key.len == kl && memcmp(n->props[i].key.ptr, k, kl) == 0) return (long)i;
      h = (h + 1) & n->props_index_mask;
    }
    return -1;
  }
  for (size_t i = 0; i < n->n_props; i++)
    if (n->props[i].key.len == kl && memcmp(n->props[i].key.ptr, k, kl) == 0) return (long)i;
  return -1;
}

static int type_matches(unsigned types, const spk_json_value_t *v) {
  switch (v->type) {
    case SPK_JSON_NULL: return (types & SCH_T_NULL) != 0;
    case SPK_JSON_BOOL: return (types & SCH_T_BOOLEAN) != 0;
    case SPK_JSON_INT: return (types & (SCH_T_INTEGER | SCH_T_NUMBER)) != 0;
    case SPK_JSON_NUMBER:
      return (types & SCH_T_NUMBER) || ((types & SCH_T_INTEGER) && v->u.number.is_integer);
    case SPK_JSON_STRING: return (types & SCH_T_STRING) != 0;
    case SPK_JSON_ARRAY: return (types & SCH_T_ARRAY) != 0;
    case SPK_JSON_OBJECT: return (types & SCH_T_OBJECT) != 0;
  }
  return 0;
}

static int regex_match(vctx_t *c, const spk__sch_regex_t *re, const char *s, size_t n) {
  int rc = spk__sch_regex_match(re, &c->re, s, n);
  if (rc == SPK_ENOMEM) {
    c->oom = 1;
    return 0;
  }
  return rc == 1;
}

/* Quiet evaluation of a subschema (used by anyOf, oneOf, not, if, contains). */
static int v_quiet(vctx_t *c, const sch_node_t *n, const spk_json_value_t *inst,
                   const vpath_t *path, const scope_t *sc, ann_t *ann) {
  c->quiet++;
  int ok = v_node(c, n, inst, path, sc, ann);
  c->quiet--;
  return ok;
}

/* A child instance: a fresh in-place chain. */
static int v_child(vctx_t *c, const sch_node_t *n, const spk_json_value_t *inst,
                   const vpath_t *path, const scope_t *sc) {
  const frame_t *saved = c->inplace;
  c->inplace = NULL;
  int ok = v_node(c, n, inst, path, sc, NULL);
  c->inplace = saved;
  return ok;
}

/* The node a $dynamicRef lands on: the outermost resource in the dynamic scope with a matching
 * $dynamicAnchor, else the static target. */
static const sch_node_t *dynamic_target(const sch_node_t *n, const scope_t *sc) {
  const sch_node_t *found = NULL;
  for (const scope_t *s = sc; s; s = s->up) {
    const sch_res_t *r = s->res;
    for (size_t i = 0; i < r->n_dyn; i++) {
      if (r->dyn[i].name_len == n->dyn_name_len &&
          memcmp(r->dyn[i].name, n->dyn_name, n->dyn_name_len) == 0) {
        found = r->dyn[i].node;
        break;
      }
    }
  }
  return found ? found : n->dyn_ref;
}

/* ==== the walk =========================================================================== */

#if defined(__GNUC__)
#define SCH_NOINLINE __attribute__((noinline))
#else
#define SCH_NOINLINE
#endif

/* Record one error. The message is built from a tiny format: %J a JSON value, %s a C string,
 * %Q a (ptr, len) string JSON-quoted, %K a (ptr, len) string as is, %z a size_t. Kept out of
 * line so that the recursive v_node frame stays small. */
SCH_NOINLINE static void report(vctx_t *c, const vpath_t *path, const char *keyword,
                                const spk_json_value_t *inst, const spk_json_value_t *kwv,
                                const char *prop, size_t prop_len, const char *fmt, ...) {
  sb_t m;
  sb_init(&m);
  va_list ap;
  va_start(ap, fmt);
  for (const char *f = fmt; *f; f++) {
    if (*f != '%') {
      const char *e = strchr(f, '%');
      size_t n = e ? (size_t)(e - f) : strlen(f);
      sb_put(&m, f, n);
      f += n - 1;
      continue;
    }
    switch (*++f) {
      case 'J': sb_json(&m, va_arg(ap, const spk_json_value_t *), 0); break;
      case 's': sb_str(&m, va_arg(ap, const char *)); break;
      case 'z': sb_u64(&m, (unsigned long long)va_arg(ap, size_t)); break;
      case 'Q':
      case 'K': {
        const char *p = va_arg(ap, const char *);
        size_t n = va_arg(ap, size_t);
        if (*f == 'Q') sb_quoted(&m, p, n);
        else sb_put(&m, p, n);
        break;
      }
      default: sb_put(&m, f, 1); break;
    }
  }
  va_end(ap);
  add_error(c, path, keyword, inst, kwv, prop, prop_len, &m);
}

/* "Additional items are not allowed (a, b were unexpected)" and the unevaluated variant. */
SCH_NOINLINE static void report_items(vctx_t *c, const vpath_t *path, const char *keyword,
                                      const spk_json_value_t *inst, const spk_json_value_t *kwv,
                                      const char *prefix, const ann_t *skip, size_t from) {
  sb_t m;
  sb_init(&m);
  sb_str(&m, prefix);
  size_t bad = 0;
  for (size_t i = from; i < inst->u.array.len; i++) {
    if (skip && ann_has(skip, i)) continue;
    if (bad++) sb_str(&m, ", ");
    sb_json(&m, inst->u.array.items[i], 0);
  }
  sb_str(&m, bad == 1 ? " was unexpected)" : " were unexpected)");
  add_error(c, path, keyword, inst, kwv, NULL, 0, &m);
}

SCH_NOINLINE static void report_type(vctx_t *c, const vpath_t *path, const spk_json_value_t *inst,
                                     const spk_json_value_t *tk) {
  sb_t m;
  sb_init(&m);
  sb_json(&m, inst, 0);
  if (tk->type == SPK_JSON_STRING || tk->u.array.len == 1) {
    const spk_json_value_t *one = tk->type == SPK_JSON_STRING ? tk : tk->u.array.items[0];
    sb_str(&m, " is not of type ");
    sb_quoted(&m, one->u.string.ptr, one->u.string.len);
  } else {
    sb_str(&m, " is not of types ");
    for (size_t i = 0; i < tk->u.array.len; i++) {
      if (i) sb_str(&m, ", ");
      sb_quoted(&m, tk->u.array.items[i]->u.string.ptr, tk->u.array.items[i]->u.string.len);
    }
  }
  add_error(c, path, "type", inst, tk, NULL, 0, &m);
}

static const char *plural(size_t n, const char *one, const char *many) { return n == 1 ? one : many; }

/* The content keywords of draft-07 (out of line: rare, and it needs buffers). */
SCH_NOINLINE static int check_content(vctx_t *c, const sch_node_t *n, const spk_json_value_t *inst,
                                      const vpath_t *path) {
  const char *doc = inst->u.string.ptr;
  size_t doc_len = inst->u.string.len;
  if (n->content_base64) {
    char *dec = NULL;
    size_t dl = 0;
    int r = base64_decode(c, doc, doc_len, &dec, &dl);
    if (r < 0) {
      c->oom = 1;
      return 0;
    }
    if (r == 0) {
      if (!c->quiet)
        report(c, path, "contentEncoding", inst, n->content_encoding_kw, NULL, 0,
               "%J is not compliant with \"base64\" content encoding", inst);
      return 0;
    }
    doc = dec;
    doc_len = dl;
  }
  if (n->content_json) {
    spk_json_value_t *parsed = NULL;
    spk_json_parse_options_t po = {0, SPK_JSON_DUP_LAST_WINS};
    int r = spk_json_parse(c->arena, doc, doc_len, &po, &parsed, NULL);
    if (r == SPK_ENOMEM) {
      c->oom = 1;
      return 0;
    }
    if (r) {
      const spk_json_value_t *mt = n->content_media_type_kw;
      if (!c->quiet)
        report(c, path, "contentMediaType", inst, mt, NULL, 0, "%J is not compliant with %Q media type",
               inst, mt->u.string.ptr, mt->u.string.len);
      return 0;
    }
  }
  return 1;
}

/* ==== the walk =========================================================================== */

#define FAIL()                 \
  do {                         \
    ok = 0;                    \
    if (c->quiet) goto done;   \
  } while (0)

#define REPORT(...)                         \
  do {                                      \
    if (!c->quiet) report(c, __VA_ARGS__);  \
  } while (0)

static int v_node(vctx_t *c, const sch_node_t *n, const spk_json_value_t *inst,
                  const vpath_t *path, const scope_t *sc, ann_t *out) {
  if (c->oom) return 0;
  if (n->kind == SCH_NODE_TRUE) return 1;
  if (n->kind == SCH_NODE_FALSE) {
    REPORT(path, "false", inst, n->json, NULL, 0, "False schema does not allow %J", inst);
    return 0;
  }
  /* infinite recursion: this node already being evaluated on this very instance */
  for (const frame_t *f = c->inplace; f; f = f->up) {
    if (f->node == n) {
      REPORT(path, "$ref", inst, n->json, NULL, 0,
             "Infinite recursion in the schema (a reference cycle that never consumes the instance)");
      return 0;
    }
  }
  if (c->depth >= SCH_MAX_EVAL_DEPTH) {
    REPORT(path, "$ref", inst, n->json, NULL, 0, "Schema evaluation is nested too deeply");
    return 0;
  }
  c->depth++;
  frame_t frame = {c->inplace, n};
  c->inplace = &frame;
  scope_t scope;
  if (!sc || sc->res != n->res) {
    scope.up = sc;
    scope.res = n->res;
    sc = &scope;
  }

  int ok = 1;
  const spk_json_type_t t = inst->type;
  ann_t local;
  ann_t *ann = out;
  if ((t == SPK_JSON_OBJECT && n->unevaluated_props) || (t == SPK_JSON_ARRAY && n->unevaluated_items)) {
    ann_init(&local, inst);
    ann = &local;
  }
  if (ann && t != SPK_JSON_OBJECT && t != SPK_JSON_ARRAY) ann = NULL;

  /* --- references --- */
  if (n->ref && !v_node(c, n->ref, inst, path, sc, ann)) FAIL();
  if (n->dyn_ref) {
    const sch_node_t *target = n->dyn_name ? dynamic_target(n, sc) : n->dyn_ref;
    if (!v_node(c, target, inst, path, sc, ann)) FAIL();
  }

  /* --- any type --- */
  if (n->types && !type_matches(n->types, inst)) {
    if (!c->quiet) report_type(c, path, inst, n->type_kw);
    FAIL();
  }
  if (n->enum_kw) {
    int found = 0;
    for (size_t i = 0; i < n->enum_kw->u.array.len && !found; i++)
      found = spk_json_equal(inst, n->enum_kw->u.array.items[i]);
    if (!found) {
      REPORT(path, "enum", inst, n->enum_kw, NULL, 0, "%J is not one of %J", inst, n->enum_kw);
      FAIL();
    }
  }
  if (n->const_kw && !spk_json_equal(inst, n->const_kw)) {
    REPORT(path, "const", inst, n->const_kw, NULL, 0, "%J was expected", n->const_kw);
    FAIL();
  }

  /* --- numbers --- */
  if ((n->has & SCH_H_NUMERIC) && (t == SPK_JSON_INT || t == SPK_JSON_NUMBER)) {
    static const char *const names[] = {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"};
    static const char *const texts[] = {"%J is less than the minimum of %J",
                                        "%J is greater than the maximum of %J",
                                        "%J is less than or equal to the minimum of %J",
                                        "%J is greater than or equal to the maximum of %J"};
    const spk_json_value_t *lim[] = {n->minimum, n->maximum, n->exclusive_minimum, n->exclusive_maximum};
    for (int k = 0; k < 4; k++) {
      if (!lim[k]) continue;
      int cmp = num_cmp(inst, lim[k]);
      int bad = k == 0 ? cmp < 0 : k == 1 ? cmp > 0 : k == 2 ? cmp <= 0 : cmp >= 0;
      if (!bad) continue;
      REPORT(path, names[k], inst, lim[k], NULL, 0, texts[k], inst, lim[k]);
      FAIL();
    }
    if (n->multiple_of && !is_multiple(inst, n->multiple_of)) {
      REPORT(path, "multipleOf", inst, n->multiple_of, NULL, 0, "%J is not a multiple of %J", inst,
             n->multiple_of);
      FAIL();
    }
  }

  /* --- strings --- */
  if ((n->has & SCH_H_STRING) && t == SPK_JSON_STRING) {
    const char *s = inst->u.string.ptr;
    size_t len = inst->u.string.len;
    if (n->min_length_kw || n->max_length_kw) {
      /* code points <= bytes: count only when the byte length does not decide */
      size_t cps = len;
      if ((n->min_length_kw && len >= n->min_length && n->min_length > len / 4) ||
          (n->max_length_kw && len > n->max_length))
        cps = utf8_count(s, len);
      if (n->min_length_kw && cps < n->min_length) {
        REPORT(path, "minLength", inst, n->min_length_kw, NULL, 0, "%J is shorter than %z %s", inst,
               n->min_length, plural(n->min_length, "character", "characters"));
        FAIL();
      }
      if (n->max_length_kw && cps > n->max_length) {
        REPORT(path, "maxLength", inst, n->max_length_kw, NULL, 0, "%J is longer than %z %s", inst,
               n->max_length, plural(n->max_length, "character", "characters"));
        FAIL();
      }
    }
    if (n->pattern && !regex_match(c, n->pattern, s, len)) {
      REPORT(path, "pattern", inst, n->pattern_kw, NULL, 0, "%J does not match %Q", inst,
             n->pattern->source, n->pattern->source_len);
      FAIL();
    }
    if (n->format && !n->format(s, len)) {
      REPORT(path, "format", inst, n->format_kw, NULL, 0, "%J is not a %Q", inst,
             n->format_kw->u.string.ptr, n->format_kw->u.string.len);
      FAIL();
    }
    if ((n->content_base64 || n->content_json) && !check_content(c, n, inst, path)) FAIL();
  }

  /* --- arrays --- */
  if ((n->has & SCH_H_ARRAY) && t == SPK_JSON_ARRAY) {
    size_t len = inst->u.array.len;
    if (n->min_items_kw && len < n->min_items) {
      REPORT(path, "minItems", inst, n->min_items_kw, NULL, 0, "%J has less than %z %s", inst,
             n->min_items, plural(n->min_items, "item", "items"));
      FAIL();
    }
    if (n->max_items_kw && len > n->max_items) {
      REPORT(path, "maxItems", inst, n->max_items_kw, NULL, 0, "%J has more than %z %s", inst,
             n->max_items, plural(n->max_items, "item", "items"));
      FAIL();
    }
    if (n->unique_items) {
      int u = items_unique(c, inst);
      if (u < 0) c->oom = 1;
      if (u == 0) {
        REPORT(path, "uniqueItems", inst, n->unique_items_kw, NULL, 0, "%J has non-unique elements", inst);
        FAIL();
      }
    }
    size_t np = n->n_prefix < len ? n->n_prefix : len;
    for (size_t i = 0; i < np; i++) {
      vpath_t cp = {path, NULL, 0, (long long)i};
      if (!v_child(c, n->prefix[i], inst->u.array.items[i], &cp, sc)) FAIL();
      ann_mark(c, ann, i);
    }
    if (n->items && len > np) {
      if (n->items->kind == SCH_NODE_FALSE) {
        if (!c->quiet)
          report_items(c, path, n->items_keyword, inst, n->items_kw,
                       "Additional items are not allowed (", NULL, np);
        FAIL();
      } else if (n->items->kind != SCH_NODE_TRUE) {
        for (size_t i = np; i < len; i++) {
          vpath_t cp = {path, NULL, 0, (long long)i};
          if (!v_child(c, n->items, inst->u.array.items[i], &cp, sc)) FAIL();
        }
      }
      if (ann) ann->all = 1;
    }
    if (n->contains) {
      size_t count = 0;
      int need_all = ann != NULL || n->max_contains != SIZE_MAX;
      for (size_t i = 0; i < len; i++) {
        vpath_t cp = {path, NULL, 0, (long long)i};
        const frame_t *saved = c->inplace;
        c->inplace = NULL;
        int r = v_quiet(c, n->contains, inst->u.array.items[i], &cp, sc, NULL);
        c->inplace = saved;
        if (r) {
          count++;
          ann_mark(c, ann, i);
          if (!need_all && count >= n->min_contains) break;
        }
      }
      if (count < n->min_contains) {
        const char *kw = n->min_contains_kw ? "minContains" : "contains";
        const spk_json_value_t *kv = n->min_contains_kw ? n->min_contains_kw : n->contains_kw;
        if (count == 0)
          REPORT(path, kw, inst, kv, NULL, 0, "None of %J are valid under the given schema", inst);
        else
          REPORT(path, kw, inst, kv, NULL, 0, "%J has less than %z %s valid under the given schema",
                 inst, n->min_contains, plural(n->min_contains, "item", "items"));
        FAIL();
      }
      if (count > n->max_contains) {
        REPORT(path, "maxContains", inst, n->max_contains_kw, NULL, 0,
               "%J has more than %z %s valid under the given schema", inst, n->max_contains,
               plural(n->max_contains, "item", "items"));
        FAIL();
      }
    }
  }

  /* --- objects --- */
  if (t == SPK_JSON_OBJECT && (n->has & (SCH_H_OBJECT | SCH_H_MEMBERS))) {
    size_t len = inst->u.object.len;
    const spk_json_member_t *mem = inst->u.object.members;
    uint64_t seen_small = 0;
    unsigned char *seen = NULL;
    if (n->n_props > 64 && n->n_required) {
      seen = spk__arena_calloc(c->arena, (n->n_props + 7) / 8);
      if (!seen) c->oom = 1;
    }
    if (n->has & SCH_H_MEMBERS) {
      for (size_t i = 0; i < len && !c->oom; i++) {
        const spk_json_member_t *e = &mem[i];
        vpath_t cp = {path, e->key.ptr, e->key.len, -1};
        int matched = 0;
        if (n->n_props) {
          long k = prop_find(n, e->key.ptr, e->key.len);
          if (k >= 0) {
            matched = 1;
            if (seen) seen[k >> 3] |= (unsigned char)(1u << (k & 7));
            else if (k < 64) seen_small |= 1ull << k;
            if (!v_child(c, n->props[k].schema, e->value, &cp, sc)) FAIL();
          }
        }
        for (size_t k = 0; k < n->n_pattern_props; k++) {
          if (!regex_match(c, n->pattern_props[k].re, e->key.ptr, e->key.len)) continue;
          matched = 1;
          if (!v_child(c, n->pattern_props[k].schema, e->value, &cp, sc)) FAIL();
        }
        if (!matched && n->additional_props) {
          matched = 1;
          if (n->additional_props->kind == SCH_NODE_FALSE) {
            REPORT(path, "additionalProperties", inst, n->additional_props_kw, e->key.ptr, e->key.len,
                   "Additional properties are not allowed ('%K' was unexpected)", e->key.ptr, e->key.len);
            FAIL();
          } else if (!v_child(c, n->additional_props, e->value, &cp, sc)) {
            FAIL();
          }
        }
        if (matched) ann_mark(c, ann, i);
      }
    }
    if (n->min_properties_kw && len < n->min_properties) {
      REPORT(path, "minProperties", inst, n->min_properties_kw, NULL, 0, "%J has less than %z %s", inst,
             n->min_properties, plural(n->min_properties, "property", "properties"));
      FAIL();
    }
    if (n->max_properties_kw && len > n->max_properties) {
      REPORT(path, "maxProperties", inst, n->max_properties_kw, NULL, 0, "%J has more than %z %s", inst,
             n->max_properties, plural(n->max_properties, "property", "properties"));
      FAIL();
    }
    for (size_t i = 0; i < n->n_required; i++) {
      const sch_required_t *r = &n->required[i];
      int present;
      if (r->prop >= 0 && (n->has & SCH_H_MEMBERS))
        present = seen ? (seen[r->prop >> 3] >> (r->prop & 7)) & 1
                       : r->prop < 64 ? (int)((seen_small >> r->prop) & 1) : 0;
      else
        present = spk_json_get(inst, r->name.ptr, r->name.len) != NULL;
      if (present) continue;
      REPORT(path, "required", inst, n->required_kw, r->name.ptr, r->name.len,
             "%Q is a required property", r->name.ptr, r->name.len);
      FAIL();
    }
    for (size_t i = 0; i < n->n_dep_required; i++) {
      const sch_dep_required_t *d = &n->dep_required[i];
      if (!spk_json_get(inst, d->key.ptr, d->key.len)) continue;
      for (size_t k = 0; k < d->names->u.array.len; k++) {
        const spk_str_t *name = &d->names->u.array.items[k]->u.string;
        if (spk_json_get(inst, name->ptr, name->len)) continue;
        REPORT(path, d->keyword, inst, d->names, name->ptr, name->len, "%Q is a required property",
               name->ptr, name->len);
        FAIL();
      }
    }
    if (n->property_names) {
      for (size_t i = 0; i < len; i++) {
        spk_json_value_t tmp, *name = &tmp;
        if (!c->quiet) {
          /* errors keep a pointer to the instance: it must live in the arena */
          name = spk__arena_alloc(c->arena, sizeof(*name));
          if (!name) {
            c->oom = 1;
            break;
          }
        }
        memset(name, 0, sizeof(*name));
        name->type = SPK_JSON_STRING;
        name->u.string = mem[i].key;
        size_t before = c->n_errs;
        if (!v_child(c, n->property_names, name, path, sc)) {
          for (size_t k = before; k < c->n_errs; k++) c->errs[k].property = mem[i].key;
          FAIL();
        }
      }
    }
  }

  /* --- in-place applicators --- */
  if (n->has & SCH_H_INPLACE) {
    for (size_t i = 0; i < n->n_all_of; i++)
      if (!v_node(c, n->all_of[i], inst, path, sc, ann)) FAIL();
    if (n->n_any_of) {
      int any = 0;
      for (size_t i = 0; i < n->n_any_of; i++) {
        ann_t sub;
        if (ann) ann_init(&sub, inst);
        if (v_quiet(c, n->any_of[i], inst, path, sc, ann ? &sub : NULL)) {
          any = 1;
          if (!ann) break;
          ann_merge(c, ann, &sub);
        }
      }
      if (!any) {
        REPORT(path, "anyOf", inst, n->any_of_kw, NULL, 0,
               "%J is not valid under any of the schemas listed in the 'anyOf' keyword", inst);
        FAIL();
      }
    }
    if (n->n_one_of) {
      size_t nvalid = 0;
      for (size_t i = 0; i < n->n_one_of; i++) {
        ann_t sub;
        if (ann) ann_init(&sub, inst);
        if (v_quiet(c, n->one_of[i], inst, path, sc, ann ? &sub : NULL)) {
          nvalid++;
          if (ann) ann_merge(c, ann, &sub);
          if (nvalid > 1) break;
        }
      }
      if (nvalid != 1) {
        REPORT(path, "oneOf", inst, n->one_of_kw, NULL, 0,
               nvalid ? "%J is valid under more than one of the schemas listed in the 'oneOf' keyword"
                      : "%J is not valid under any of the schemas listed in the 'oneOf' keyword",
               inst);
        FAIL();
      }
    }
    if (n->not_ && v_quiet(c, n->not_, inst, path, sc, NULL)) {
      REPORT(path, "not", inst, n->not_kw, NULL, 0, "%J is not allowed for %J", n->not_kw, inst);
      FAIL();
    }
    if (n->if_) {
      ann_t sub;
      if (ann) ann_init(&sub, inst);
      if (v_quiet(c, n->if_, inst, path, sc, ann ? &sub : NULL)) {
        if (ann) ann_merge(c, ann, &sub);
        if (n->then_ && !v_node(c, n->then_, inst, path, sc, ann)) FAIL();
      } else if (n->else_ && !v_node(c, n->else_, inst, path, sc, ann)) {
        FAIL();
      }
    }
    if (t == SPK_JSON_OBJECT) {
      for (size_t i = 0; i < n->n_dep_schemas; i++) {
        const sch_dep_schema_t *d = &n->dep_schemas[i];
        if (spk_json_get(inst, d->key.ptr, d->key.len) && !v_node(c, d->schema, inst, path, sc, ann))
          FAIL();
      }
    }
  }

  /* --- unevaluated --- */
  if (ann == &local) {
    if (t == SPK_JSON_OBJECT) {
      const sch_node_t *u = n->unevaluated_props;
      for (size_t i = 0; i < inst->u.object.len; i++) {
        if (ann_has(&local, i)) continue;
        const spk_json_member_t *e = &inst->u.object.members[i];
        if (u->kind == SCH_NODE_FALSE) {
          REPORT(path, "unevaluatedProperties", inst, n->unevaluated_props_kw, e->key.ptr, e->key.len,
                 "Unevaluated properties are not allowed ('%K' was unexpected)", e->key.ptr, e->key.len);
          FAIL();
        } else {
          vpath_t cp = {path, e->key.ptr, e->key.len, -1};
          if (!v_child(c, u, e->value, &cp, sc)) FAIL();
        }
      }
    } else {
      const sch_node_t *u = n->unevaluated_items;
      size_t bad = 0;
      for (size_t i = 0; i < inst->u.array.len; i++) {
        if (ann_has(&local, i)) continue;
        if (u->kind == SCH_NODE_FALSE) {
          bad++;
          break;
        }
        vpath_t cp = {path, NULL, 0, (long long)i};
        if (!v_child(c, u, inst->u.array.items[i], &cp, sc)) FAIL();
      }
      if (bad) {
        if (!c->quiet)
          report_items(c, path, "unevaluatedItems", inst, n->unevaluated_items_kw,
                       "Unevaluated items are not allowed (", &local, 0);
        FAIL();
      }
    }
    if (ok) local.all = 1;
  }

done:
  if (ann == &local && ok && out) ann_merge(c, out, &local);
  c->inplace = frame.up;
  c->depth--;
  return ok;
}

/* ==== entry point ======================================================================== */

static int loc_cmp(const spk_schema_error_t *a, const spk_schema_error_t *b) {
  size_t n = a->path_len < b->path_len ? a->path_len : b->path_len;
  for (size_t i = 0; i < n; i++) {
    const spk_schema_loc_t *x = &a->path[i], *y = &b->path[i];
    if (x->index >= 0 && y->index >= 0) {
      if (x->index != y->index) return x->index < y->index ? -1 : 1;
    } else if (x->index >= 0) {
      return -1;
    } else if (y->index >= 0) {
      return 1;
    } else {
      size_t m = x->key.len < y->key.len ? x->key.len : y->key.len;
      int r = m ? memcmp(x->key.ptr, y->key.ptr, m) : 0;
      if (r) return r < 0 ? -1 : 1;
      if (x->key.len != y->key.len) return x->key.len < y->key.len ? -1 : 1;
    }
  }
  if (a->path_len != b->path_len) return a->path_len < b->path_len ? -1 : 1;
  return 0;
}

/* Stable merge sort by instance location. */
static int sort_errors(vctx_t *c) {
  size_t n = c->n_errs;
  if (n < 2) return 0;
  spk_schema_error_t *tmp = spk__arena_alloc(c->arena, n * sizeof(*tmp));
  if (!tmp) return -1;
  spk_schema_error_t *a = c->errs;
  for (size_t width = 1; width < n; width *= 2) {
    for (size_t lo = 0; lo < n; lo += 2 * width) {
      size_t mid = lo + width < n ? lo + width : n;
      size_t hi = lo + 2 * width < n ? lo + 2 * width : n;
      size_t i = lo, j = mid, k = lo;
      while (i < mid && j < hi) tmp[k++] = loc_cmp(&a[j], &a[i]) < 0 ? a[j++] : a[i++];
      while (i < mid) tmp[k++] = a[i++];
      while (j < hi) tmp[k++] = a[j++];
    }
    memcpy(a, tmp, n * sizeof(*a));
  }
  return 0;
}

int spk_schema_validate(const spk_schema_t *schema, const spk_json_value_t *instance,
                        spk__arena_t *arena, spk_schema_error_t **errors, size_t *count) {
  if (errors) *errors = NULL;
  if (count) *count = 0;
  if (!schema || !instance || !arena) return SPK_EINVAL;
  vctx_t c;
  memset(&c, 0, sizeof(c));
  c.arena = arena;
  c.quiet = errors ? 0 : 1;
  c.re.arena = arena;
  int ok = v_node(&c, schema->root, instance, NULL, NULL, NULL);
  if (c.oom) return SPK_ENOMEM;
  if (ok) return 1;
  if (errors) {
    if (sort_errors(&c)) return SPK_ENOMEM;
    *errors = c.errs;
    if (count) *count = c.n_errs;
  }
  return 0;
}
