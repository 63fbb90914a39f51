/* application/x-www-form-urlencoded → JSON DOM (see form.h).
 *
 * Two passes. First every pair is percent-decoded in place (inside one arena copy of the body)
 * and inserted into a small tree whose nodes remember how a key was used:
 *   VALUE    a=1                 one string
 *   LIST     a[]=1, or a=1&a=2   ordered values ([] always appends a new element)
 *   INDEXED  a[0]=x              elements by explicit index (any order, must end up dense)
 *   MAP      a[b]=x              named members, first-appearance order
 * A plain value and [] both mean "list of values" and merge freely (a=1&a[]=2 → ["1","2"]);
 * every other mix (a=1&a[b]=2, a[0]=x&a[b]=y, a[]=x&a[0]=y …) is refused with a message naming
 * the key. Then the tree is turned into JSON top-down with an explicit queue (no recursion, so
 * max_depth cannot turn into stack depth); INDEXED nodes are sorted and must hold 0..n-1
 * exactly, otherwise "missing index, expected: <n> got <m>" as serde_qs words it.
 *
 * Bracket syntax is recognised only when the whole (decoded) key has the shape
 * name ( "[" segment "]" )+ with a non-empty name and no brackets inside segments; anything
 * else ("a[b", "[a]", "a[b]c") is an ordinary key, kept literally. Lookups are linear in the
 * number of siblings, which max_fields bounds. */
#include "proto/form.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/strutil.h"

#define DEFAULT_MAX_FIELDS 1000
#define DEFAULT_MAX_DEPTH 32
#define MAX_INDEX_DIGITS 9

enum { K_NONE = 0, K_VALUE, K_LIST, K_INDEXED, K_MAP };
enum { SEG_KEY, SEG_APPEND, SEG_INDEX };

typedef struct fnode fnode_t;
struct fnode {
  int kind;
  const char *key; /* member name inside a MAP (NUL-terminated) */
  size_t key_len;
  size_t index; /* position inside an INDEXED */
  const char *val; /* K_VALUE (NUL-terminated) */
  size_t val_len;
  fnode_t *first, *last, *next; /* children, in insertion order */
  size_t count;
  spk_json_value_t *json; /* conversion: this container's JSON value */
  fnode_t *qnext;         /* conversion queue */
};

typedef struct form_ctx {
  spk__arena_t *arena;
  char *errbuf;
  size_t errlen;
  fnode_t root;
} form_ctx_t;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int set_err(form_ctx_t *c, int code, const char *fmt, ...) {
  if (c->errbuf && c->errlen) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errbuf, c->errlen, fmt, ap);
    va_end(ap);
  }
  return code;
}

static int oom(form_ctx_t *c) { return set_err(c, SPK_ENOMEM, "out of memory"); }

static int utf8_valid(const unsigned char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned c = s[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    size_t need;
    unsigned min;
    if (c >= 0xC2 && c <= 0xDF) need = 1, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF) need = 2, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4) need = 3, min = 0x10000;
    else return 0;
    if (n - i <= need) return 0;
    unsigned cp = c & (0x3Fu >> need);
    for (size_t k = 1; k <= need; k++) {
      unsigned cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    i += need + 1;
  }
  return 1;
}

static const char *kind_name(int kind) {
  switch (kind) {
    case K_VALUE: return "a value";
    case K_LIST: return "an array";
    case K_INDEXED: return "an indexed array";
    default: return "an object";
  }
}

static int conflict(form_ctx_t *c, const char *key, size_t path_len, int had, int wants) {
  return set_err(c, SPK_EPROTO, "key '%.*s' is used both as %s and as %s",
                 (int)(path_len > 200 ? 200 : path_len), key, kind_name(had), kind_name(wants));
}

static fnode_t *new_node(form_ctx_t *c) { return spk__arena_calloc(c->arena, sizeof(fnode_t)); }

static void add_child(fnode_t *parent, fnode_t *child) {
  if (parent->last) parent->last->next = child;
  else parent->first = child;
  parent->last = child;
  parent->count++;
}

/* VALUE → LIST holding that value as its first element. */
static int value_to_list(form_ctx_t *c, fnode_t *n) {
  fnode_t *v = new_node(c);
  if (!v) return oom(c);
  v->kind = K_VALUE;
  v->val = n->val;
  v->val_len = n->val_len;
  n->kind = K_LIST;
  n->val = NULL;
  n->val_len = 0;
  add_child(n, v);
  return 0;
}

typedef struct seg {
  int type;
  const char *s; /* SEG_KEY: name */
  size_t len;
  size_t index;   /* SEG_INDEX */
  size_t end;     /* offset in the key just past this segment (for messages) */
} seg_t;

/* Step from container `cur` along one segment; *out is the (possibly new, K_NONE) child. */
static int step(form_ctx_t *c, fnode_t *cur, const seg_t *sg, const char *key, size_t cur_end,
                fnode_t **out) {
  static const int wants_of[] = {K_MAP, K_LIST, K_INDEXED};
  int wants = wants_of[sg->type];
  if (cur->kind == K_NONE) cur->kind = wants;
  if (cur->kind == K_VALUE && wants == K_LIST) {
    int rc = value_to_list(c, cur);
    if (rc) return rc;
  }
  if (cur->kind != wants) return conflict(c, key, cur_end, cur->kind, wants);

  if (sg->type == SEG_KEY) {
    for (fnode_t *ch = cur->first; ch; ch = ch->next)
      if (ch->key_len == sg->len && memcmp(ch->key, sg->s, sg->len) == 0) {
        *out = ch;
        return 0;
      }
  } else if (sg->type == SEG_INDEX) {
    for (fnode_t *ch = cur->first; ch; ch = ch->next)
      if (ch->index == sg->index) {
        *out = ch;
        return 0;
      }
  }
  fnode_t *n = new_node(c);
  if (!n) return oom(c);
  if (sg->type == SEG_KEY) {
    n->key = sg->s;
    n->key_len = sg->len;
  }
  n->index = sg->index;
  add_child(cur, n);
  *out = n;
  return 0;
}

/* Split a decoded key into segments; returns the count, or 1 (the whole key) when it is not
 * bracket notation. `segs` must hold key_len + 1 entries. */
static size_t split_key(const char *key, size_t key_len, seg_t *segs) {
  const char *lb = memchr(key, '[', key_len);
  size_t base = lb ? (size_t)(lb - key) : key_len;
  segs[0].type = SEG_KEY;
  segs[0].s = key;
  segs[0].len = key_len;
  segs[0].index = 0;
  segs[0].end = key_len;
  if (!lb || base == 0 || memchr(key, ']', base)) return 1;

  size_t n = 1;
  size_t i = base;
  while (i < key_len) {
    if (key[i] != '[') return 1;
    size_t start = ++i;
    while (i < key_len && key[i] != ']' && key[i] != '[') i++;
    if (i >= key_len || key[i] != ']') return 1;
    seg_t *sg = &segs[n++];
    sg->s = key + start;
    sg->len = i - start;
    sg->index = 0;
    sg->end = ++i;
    if (sg->len == 0) {
      sg->type = SEG_APPEND;
      continue;
    }
    sg->type = SEG_INDEX;
    for (size_t k = 0; k < sg->len; k++)
      if (sg->s[k] < '0' || sg->s[k] > '9') {
        sg->type = SEG_KEY;
        break;
      }
  }
  segs[0].len = base;
  segs[0].end = base;
  return n;
}

static int insert(form_ctx_t *c, const char *key, size_t key_len, const char *val, size_t val_len,
                  size_t max_depth, seg_t *segs) {
  size_t nseg = split_key(key, key_len, segs);
  if (nseg - 1 > max_depth)
    return set_err(c, SPK_ERANGE, "key '%.*s' nests deeper than %zu levels",
                   (int)(key_len > 200 ? 200 : key_len), key, max_depth);
  for (size_t k = 1; k < nseg; k++) {
    seg_t *sg = &segs[k];
    if (sg->type != SEG_INDEX) continue;
    if (sg->len > MAX_INDEX_DIGITS)
      return set_err(c, SPK_EPROTO, "array index too large: %.*s", (int)sg->len, sg->s);
    size_t v = 0;
    for (size_t d = 0; d < sg->len; d++) v = v * 10 + (size_t)(sg->s[d] - '0');
    sg->index = v;
  }

  fnode_t *cur = &c->root;
  size_t cur_end = 0;
  for (size_t k = 0; k < nseg; k++) {
    fnode_t *n = NULL;
    int rc = step(c, cur, &segs[k], key, cur_end, &n);
    if (rc) return rc;
    cur = n;
    cur_end = segs[k].end;
  }
  if (cur->kind == K_NONE) {
    cur->kind = K_VALUE;
    cur->val = val;
    cur->val_len = val_len;
    return 0;
  }
  if (cur->kind == K_VALUE) {
    int rc = value_to_list(c, cur);
    if (rc) return rc;
  }
  if (cur->kind != K_LIST) return conflict(c, key, cur_end, cur->kind, K_VALUE);
  fnode_t *v = new_node(c);
  if (!v) return oom(c);
  v->kind = K_VALUE;
  v->val = val;
  v->val_len = val_len;
  add_child(cur, v);
  return 0;
}

static int cmp_index(const void *a, const void *b) {
  const fnode_t *x = *(const fnode_t *const *)a, *y = *(const fnode_t *const *)b;
  return x->index < y->index ? -1 : x->index > y->index;
}

static spk_json_value_t *json_of(form_ctx_t *c, fnode_t *n) {
  switch (n->kind) {
    case K_VALUE: return spk_json_new_string(c->arena, n->val, n->val_len);
    case K_MAP: return spk_json_new_object(c->arena, n->count);
    default: return spk_json_new_array(c->arena, n->count);
  }
}

static int to_json(form_ctx_t *c, spk_json_value_t **out) {
  fnode_t *root = &c->root;
  root->json = spk_json_new_object(c->arena, root->count);
  if (!root->json) return oom(c);
  fnode_t *head = root, *tail = root;
  fnode_t **sorted = NULL;
  size_t sorted_cap = 0;
  while (head) {
    fnode_t *n = head;
    head = head->qnext;
    fnode_t *ch = n->first;
    if (n->kind == K_INDEXED) {
      if (sorted_cap < n->count) {
        sorted = spk__arena_alloc(c->arena, n->count * sizeof(*sorted));
        if (!sorted) return oom(c);
        sorted_cap = n->count;
      }
      size_t k = 0;
      for (fnode_t *x = n->first; x; x = x->next) sorted[k++] = x;
      qsort(sorted, k, sizeof(*sorted), cmp_index);
      for (size_t i = 0; i < k; i++)
        if (sorted[i]->index != i)
          return set_err(c, SPK_EPROTO, "missing index, expected: %zu got %zu", i,
                         sorted[i]->index);
      /* relink in index order */
      for (size_t i = 0; i < k; i++) sorted[i]->next = i + 1 < k ? sorted[i + 1] : NULL;
      ch = k ? sorted[0] : NULL;
    }
    for (; ch; ch = ch->next) {
      spk_json_value_t *j = json_of(c, ch);
      if (!j) return oom(c);
      int rc = n->kind == K_MAP ? spk_json_object_set(c->arena, n->json, ch->key, ch->key_len, j)
                                : spk_json_array_push(c->arena, n->json, j);
      if (rc) return rc == SPK_ENOMEM ? oom(c) : set_err(c, rc, "internal error");
      if (ch->kind != K_VALUE) {
        ch->json = j;
        ch->qnext = NULL;
        if (head) tail->qnext = ch;
        else head = ch;
        tail = ch;
      }
    }
  }
  *out = root->json;
  return 0;
}

int spk_form_parse(spk__arena_t *arena, const char *body, size_t len,
                   const spk_form_limits_t *limits, spk_json_value_t **out, char *errbuf,
                   size_t errbuf_len) {
  form_ctx_t c;
  memset(&c, 0, sizeof(c));
  c.arena = arena;
  c.errbuf = errbuf;
  c.errlen = errbuf_len;
  c.root.kind = K_MAP;
  if (errbuf && errbuf_len) errbuf[0] = '\0';
  if (out) *out = NULL;
  if (!arena || !out || (!body && len)) return set_err(&c, SPK_EINVAL, "invalid argument");

  size_t max_fields = limits && limits->max_fields ? limits->max_fields : DEFAULT_MAX_FIELDS;
  size_t max_depth = limits && limits->max_depth ? limits->max_depth : DEFAULT_MAX_DEPTH;

  char *buf = spk__arena_alloc(arena, len + 1);
  if (!buf) return oom(&c);
  if (len) memcpy(buf, body, len);
  buf[len] = '\0';

  /* Segment scratch sized for the longest key (each segment takes at least 2 bytes). */
  size_t longest = 0;
  for (size_t i = 0; i < len;) {
    const char *amp = memchr(buf + i, '&', len - i);
    size_t end = amp ? (size_t)(amp - buf) : len;
    if (end - i > longest) longest = end - i;
    i = end + 1;
  }
  seg_t *segs = spk__arena_alloc(arena, (longest / 2 + 2) * sizeof(seg_t));
  if (!segs) return oom(&c);

  size_t fields = 0;
  size_t i = 0;
  while (i < len) {
    char *pair = buf + i;
    char *amp = memchr(pair, '&', len - i);
    size_t plen = amp ? (size_t)(amp - pair) : len - i;
    i += plen + 1;
    if (plen == 0) continue;
    if (++fields > max_fields)
      return set_err(&c, SPK_ERANGE, "too many fields (limit %zu)", max_fields);

    char *eq = memchr(pair, '=', plen);
    size_t raw_klen = eq ? (size_t)(eq - pair) : plen;
    size_t klen = spk__pct_decode(pair, pair, raw_klen, 1);
    pair[klen] = '\0';
    char *val = pair + klen; /* "" when there is no '=' */
    size_t vlen = 0;
    if (eq) {
      val = eq + 1;
      vlen = spk__pct_decode(val, val, plen - raw_klen - 1, 1);
      val[vlen] = '\0';
    }
    if (!utf8_valid((const unsigned char *)pair, klen))
      return set_err(&c, SPK_EPROTO, "invalid UTF-8 in a key");
    if (!utf8_valid((const unsigned char *)val, vlen))
      return set_err(&c, SPK_EPROTO, "invalid UTF-8 in the value of '%.*s'",
                     (int)(klen > 200 ? 200 : klen), pair);
    int rc = insert(&c, pair, klen, val, vlen, max_depth, segs);
    if (rc) return rc;
  }
  return to_json(&c, out);
}
