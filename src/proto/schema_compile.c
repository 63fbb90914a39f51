/* JSON Schema compilation: registry, document copying, resource/anchor indexing, $ref
 * resolution and keyword pre-extraction. See schema_internal.h for the compiled shape.
 *
 * Compilation never recurses over references: every subschema becomes a node the first time it
 * is seen (memoised by (JSON value, resource)) and is filled from a work list, so reference
 * cycles and long reference chains cost no stack. Only the JSON nesting of one document is
 * walked recursively (bounded by SCH_MAX_NESTING). */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "proto/schema_internal.h"
#include "spikard/common.h"
#include "util/alloc.h"

#define SCH_DEFAULT_BASE "json-schema:///"
#define SCH_MAX_NESTING 2000
#define SCH_MAX_META_DEPTH 8

/* ==== helpers ============================================================================ */

static spk_json_value_t *kw(const spk_json_value_t *obj, const char *name) {
  return spk_json_get(obj, name, strlen(name));
}

static int str_eq(const char *a, size_t alen, const char *b) {
  size_t bl = strlen(b);
  return alen == bl && memcmp(a, b, bl) == 0;
}

/* Length of a URI without a trailing empty fragment ("x#" → "x"). */
static size_t trim_empty_fragment(const char *uri, size_t len) {
  return (len && uri[len - 1] == '#') ? len - 1 : len;
}

/* Deep copy of a JSON value into `a`. *err: SPK_ENOMEM or SPK_ERANGE (too deep). */
static spk_json_value_t *json_copy(spk__arena_t *a, const spk_json_value_t *v, int depth,
                                   int *err) {
  if (depth > SCH_MAX_NESTING) {
    *err = SPK_ERANGE;
    return NULL;
  }
  spk_json_value_t *c = spk__arena_alloc(a, sizeof(*c));
  if (!c) goto oom;
  *c = *v;
  switch (v->type) {
    case SPK_JSON_STRING:
      c->u.string.ptr = spk__arena_strndup(a, v->u.string.ptr ? v->u.string.ptr : "", v->u.string.len);
      if (!c->u.string.ptr) goto oom;
      break;
    case SPK_JSON_NUMBER:
      if (v->u.number.raw.len) {
        c->u.number.raw.ptr = spk__arena_strndup(a, v->u.number.raw.ptr, v->u.number.raw.len);
        if (!c->u.number.raw.ptr) goto oom;
      } else {
        c->u.number.raw.ptr = NULL;
      }
      break;
    case SPK_JSON_ARRAY: {
      size_t n = v->u.array.len;
      c->u.array.items = NULL;
      if (n) {
        if (n > SIZE_MAX / sizeof(*c->u.array.items)) goto oom;
        c->u.array.items = spk__arena_alloc(a, n * sizeof(*c->u.array.items));
        if (!c->u.array.items) goto oom;
        for (size_t i = 0; i < n; i++) {
          c->u.array.items[i] = json_copy(a, v->u.array.items[i], depth + 1, err);
          if (!c->u.array.items[i]) return NULL;
        }
      }
      break;
    }
    case SPK_JSON_OBJECT: {
      size_t n = v->u.object.len;
      c->u.object.members = NULL;
      if (n) {
        if (n > SIZE_MAX / sizeof(*c->u.object.members)) goto oom;
        c->u.object.members = spk__arena_alloc(a, n * sizeof(*c->u.object.members));
        if (!c->u.object.members) goto oom;
        for (size_t i = 0; i < n; i++) {
          const spk_json_member_t *m = &v->u.object.members[i];
          c->u.object.members[i].key.ptr = spk__arena_strndup(a, m->key.ptr ? m->key.ptr : "", m->key.len);
          c->u.object.members[i].key.len = m->key.len;
          if (!c->u.object.members[i].key.ptr) goto oom;
          c->u.object.members[i].value = json_copy(a, m->value, depth + 1, err);
          if (!c->u.object.members[i].value) return NULL;
        }
      }
      break;
    }
    default:
      break;
  }
  return c;
oom:
  *err = SPK_ENOMEM;
  return NULL;
}

/* ==== registry =========================================================================== */

typedef struct reg_entry {
  char *uri;
  size_t uri_len;
  spk_json_value_t *doc;
} reg_entry_t;

struct spk_schema_registry {
  spk__arena_t arena;
  reg_entry_t *e;
  size_t n, cap;
};

spk_schema_registry_t *spk_schema_registry_new(void) {
  spk_schema_registry_t *r = spk__calloc(1, sizeof(*r));
  if (r) spk__arena_init(&r->arena, 4096);
  return r;
}

void spk_schema_registry_free(spk_schema_registry_t *reg) {
  if (!reg) return;
  spk__arena_free(&reg->arena);
  spk__free(reg->e);
  spk__free(reg);
}

int spk_schema_registry_add(spk_schema_registry_t *reg, const char *uri,
                            const spk_json_value_t *document) {
  if (!reg || !uri || !document) return SPK_EINVAL;
  size_t len = trim_empty_fragment(uri, strlen(uri));
  if (memchr(uri, '#', len)) return SPK_EINVAL; /* a document URI has no fragment */
  int err = 0;
  spk_json_value_t *copy = json_copy(&reg->arena, document, 0, &err);
  if (!copy) return err == SPK_ERANGE ? SPK_EINVAL : SPK_ENOMEM;
  for (size_t i = 0; i < reg->n; i++) {
    if (reg->e[i].uri_len == len && memcmp(reg->e[i].uri, uri, len) == 0) {
      reg->e[i].doc = copy; /* the later document replaces the earlier one */
      return 0;
    }
  }
  if (reg->n == reg->cap) {
    size_t cap = reg->cap ? reg->cap * 2 : 16;
    reg_entry_t *e = spk__realloc(reg->e, cap * sizeof(*e));
    if (!e) return SPK_ENOMEM;
    reg->e = e;
    reg->cap = cap;
  }
  char *u = spk__arena_strndup(&reg->arena, uri, len);
  if (!u) return SPK_ENOMEM;
  reg->e[reg->n].uri = u;
  reg->e[reg->n].uri_len = len;
  reg->e[reg->n].doc = copy;
  reg->n++;
  return 0;
}

static const reg_entry_t *reg_find(const spk_schema_registry_t *reg, const char *uri, size_t len) {
  if (!reg) return NULL;
  for (size_t i = 0; i < reg->n; i++)
    if (reg->e[i].uri_len == len && memcmp(reg->e[i].uri, uri, len) == 0) return &reg->e[i];
  return NULL;
}

/* ==== compile context ==================================================================== */

typedef struct pmap_slot {
  const void *k1, *k2;
  void *v;
} pmap_slot_t;

typedef struct pmap {
  pmap_slot_t *s;
  size_t cap, n;
} pmap_t;

typedef struct uri_ent {
  const char *uri;
  size_t len;
  sch_res_t *res;
} uri_ent_t;

typedef struct anchor_ent {
  sch_res_t *res;
  const char *name;
  size_t len;
  const spk_json_value_t *value;
  int dynamic;
} anchor_ent_t;

typedef struct cc {
  spk_schema_t *s;
  const spk_schema_registry_t *reg;
  unsigned char *reg_loaded; /* per registry entry */
  int format_assertion;
  pmap_t nodes; /* (value, res) → node */
  pmap_t roots; /* (value, NULL) → res */
  uri_ent_t *uris;
  size_t n_uris, cap_uris;
  anchor_ent_t *anchors;
  size_t n_anchors, cap_anchors;
  sch_node_t **work;
  size_t n_work, cap_work;
  char *errbuf;
  size_t errbuf_len;
  int rc; /* first error */
} cc_t;

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static int cc_fail(cc_t *c, const char *fmt, ...) {
  if (c->rc) return c->rc;
  c->rc = SPK_EINVAL;
  if (c->errbuf && c->errbuf_len) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->errbuf, c->errbuf_len, fmt, ap);
    va_end(ap);
  }
  return c->rc;
}

static int cc_oom(cc_t *c) {
  if (!c->rc) {
    c->rc = SPK_ENOMEM;
    if (c->errbuf && c->errbuf_len) snprintf(c->errbuf, c->errbuf_len, "out of memory");
  }
  return c->rc;
}

static size_t pmap_hash(const void *a, const void *b) {
  uint64_t x = (uint64_t)(uintptr_t)a * 0x9E3779B97F4A7C15ull;
  x ^= (uint64_t)(uintptr_t)b * 0xC2B2AE3D27D4EB4Full;
  x ^= x >> 29;
  return (size_t)x;
}

static void *pmap_get(const pmap_t *m, const void *k1, const void *k2) {
  if (!m->cap) return NULL;
  size_t i = pmap_hash(k1, k2) & (m->cap - 1);
  while (m->s[i].k1) {
    if (m->s[i].k1 == k1 && m->s[i].k2 == k2) return m->s[i].v;
    i = (i + 1) & (m->cap - 1);
  }
  return NULL;
}

static int pmap_put(pmap_t *m, const void *k1, const void *k2, void *v) {
  if ((m->n + 1) * 2 > m->cap) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    pmap_slot_t *s = spk__calloc(cap, sizeof(*s));
    if (!s) return SPK_ENOMEM;
    for (size_t i = 0; i < m->cap; i++) {
      if (!m->s[i].k1) continue;
      size_t j = pmap_hash(m->s[i].k1, m->s[i].k2) & (cap - 1);
      while (s[j].k1) j = (j + 1) & (cap - 1);
      s[j] = m->s[i];
    }
    spk__free(m->s);
    m->s = s;
    m->cap = cap;
  }
  size_t i = pmap_hash(k1, k2) & (m->cap - 1);
  while (m->s[i].k1) {
    if (m->s[i].k1 == k1 && m->s[i].k2 == k2) {
      m->s[i].v = v;
      return 0;
    }
    i = (i + 1) & (m->cap - 1);
  }
  m->s[i].k1 = k1;
  m->s[i].k2 = k2;
  m->s[i].v = v;
  m->n++;
  return 0;
}

static int grow(void **arr, size_t *cap, size_t n, size_t elem) {
  if (n < *cap) return 0;
  size_t nc = *cap ? *cap * 2 : 16;
  void *p = spk__realloc(*arr, nc * elem);
  if (!p) return SPK_ENOMEM;
  *arr = p;
  *cap = nc;
  return 0;
}

/* ==== resources, URIs, anchors =========================================================== */

static sch_res_t *find_res_uri(const cc_t *c, const char *uri, size_t len) {
  for (size_t i = 0; i < c->n_uris; i++)
    if (c->uris[i].len == len && memcmp(c->uris[i].uri, uri, len) == 0) return c->uris[i].res;
  return NULL;
}

static int add_uri(cc_t *c, const char *uri, size_t len, sch_res_t *res) {
  if (find_res_uri(c, uri, len)) return 0; /* first definition wins */
  if (grow((void **)&c->uris, &c->cap_uris, c->n_uris, sizeof(*c->uris))) return cc_oom(c);
  char *u = spk__arena_strndup(&c->s->arena, uri, len);
  if (!u) return cc_oom(c);
  c->uris[c->n_uris].uri = u;
  c->uris[c->n_uris].len = len;
  c->uris[c->n_uris].res = res;
  c->n_uris++;
  return 0;
}

static sch_res_t *new_res(cc_t *c, const char *uri, size_t len, const spk_json_value_t *root,
                          int draft, unsigned vocab) {
  sch_res_t *r = spk__arena_calloc(&c->s->arena, sizeof(*r));
  char *u = spk__arena_strndup(&c->s->arena, uri, len);
  if (!r || !u) {
    cc_oom(c);
    return NULL;
  }
  r->uri = u;
  r->uri_len = len;
  r->root = root;
  r->draft = (unsigned char)draft;
  r->vocab = vocab;
  r->next = c->s->resources;
  c->s->resources = r;
  if (pmap_put(&c->roots, root, NULL, r)) {
    cc_oom(c);
    return NULL;
  }
  if (add_uri(c, uri, len, r)) return NULL;
  return r;
}

static int add_anchor(cc_t *c, sch_res_t *res, const char *name, size_t len,
                      const spk_json_value_t *v, int dynamic) {
  for (size_t i = 0; i < c->n_anchors; i++) {
    anchor_ent_t *a = &c->anchors[i];
    if (a->res == res && a->len == len && memcmp(a->name, name, len) == 0) {
      if (a->value == v) {
        a->dynamic |= dynamic;
        return 0;
      }
      return cc_fail(c, "invalid schema: duplicate anchor \"%.*s\" in %.*s", (int)len, name,
                     (int)res->uri_len, res->uri);
    }
  }
  if (grow((void **)&c->anchors, &c->cap_anchors, c->n_anchors, sizeof(*c->anchors)))
    return cc_oom(c);
  anchor_ent_t *a = &c->anchors[c->n_anchors++];
  a->res = res;
  a->name = name;
  a->len = len;
  a->value = v;
  a->dynamic = dynamic;
  return 0;
}

static const anchor_ent_t *find_anchor(const cc_t *c, const sch_res_t *res, const char *name,
                                       size_t len) {
  for (size_t i = 0; i < c->n_anchors; i++) {
    const anchor_ent_t *a = &c->anchors[i];
    if (a->res == res && a->len == len && memcmp(a->name, name, len) == 0) return a;
  }
  return NULL;
}

/* ==== dialects =========================================================================== */

static int known_dialect(const char *u, size_t len, int *draft) {
  static const struct {
    const char *uri;
    int draft;
  } known[] = {
      {"https://json-schema.org/draft/2020-12/schema", SCH_D2020},
      {"http://json-schema.org/draft/2020-12/schema", SCH_D2020},
      {"https://json-schema.org/draft/2019-09/schema", SCH_D2019},
      {"http://json-schema.org/draft/2019-09/schema", SCH_D2019},
      {"http://json-schema.org/draft-07/schema", SCH_D07},
      {"https://json-schema.org/draft-07/schema", SCH_D07},
      {"http://json-schema.org/draft-06/schema", SCH_D07},
      {"http://json-schema.org/draft-04/schema", SCH_D07},
  };
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
    if (str_eq(u, len, known[i].uri)) {
      *draft = known[i].draft;
      return 1;
    }
  }
  return 0;
}

static int vocab_bit(const char *u, size_t len, unsigned *bit) {
  static const char *const v2020[] = {"core", "applicator", "unevaluated", "validation",
                                      "meta-data", "format-annotation", "format-assertion",
                                      "content"};
  static const unsigned bits2020[] = {SCH_V_CORE, SCH_V_APPLICATOR, SCH_V_UNEVALUATED,
                                      SCH_V_VALIDATION, SCH_V_METADATA, SCH_V_FORMAT_ANNOTATION,
                                      SCH_V_FORMAT_ASSERTION, SCH_V_CONTENT};
  static const char p2020[] = "https://json-schema.org/draft/2020-12/vocab/";
  static const char p2019[] = "https://json-schema.org/draft/2019-09/vocab/";
  const char *name = NULL;
  size_t nl = 0;
  if (len > sizeof(p2020) - 1 && memcmp(u, p2020, sizeof(p2020) - 1) == 0) {
    name = u + sizeof(p2020) - 1;
    nl = len - (sizeof(p2020) - 1);
    for (size_t i = 0; i < 8; i++)
      if (str_eq(name, nl, v2020[i])) {
        *bit = bits2020[i];
        return 1;
      }
    return 0;
  }
  if (len > sizeof(p2019) - 1 && memcmp(u, p2019, sizeof(p2019) - 1) == 0) {
    name = u + sizeof(p2019) - 1;
    nl = len - (sizeof(p2019) - 1);
    if (str_eq(name, nl, "core")) *bit = SCH_V_CORE;
    else if (str_eq(name, nl, "applicator")) *bit = SCH_V_APPLICATOR | SCH_V_UNEVALUATED;
    else if (str_eq(name, nl, "validation")) *bit = SCH_V_VALIDATION;
    else if (str_eq(name, nl, "meta-data")) *bit = SCH_V_METADATA;
    else if (str_eq(name, nl, "format")) *bit = SCH_V_FORMAT_ANNOTATION;
    else if (str_eq(name, nl, "content")) *bit = SCH_V_CONTENT;
    else return 0;
    return 1;
  }
  return 0;
}

/* The dialect a schema object declares with $schema (or the inherited one). */
static int dialect_of(cc_t *c, const spk_json_value_t *v, int inherit_draft,
                      unsigned inherit_vocab, int *draft, unsigned *vocab, int depth) {
  *draft = inherit_draft;
  *vocab = inherit_vocab;
  const spk_json_value_t *sv = v->type == SPK_JSON_OBJECT ? kw(v, "$schema") : NULL;
  if (!sv) return 0;
  if (sv->type != SPK_JSON_STRING) return cc_fail(c, "invalid schema: \"$schema\" must be a string");
  size_t len = trim_empty_fragment(sv->u.string.ptr, sv->u.string.len);
  if (known_dialect(sv->u.string.ptr, len, draft)) {
    *vocab = SCH_V_DEFAULT;
    return 0;
  }
  /* A custom meta-schema from the registry: its own dialect, and its $vocabulary. */
  const reg_entry_t *meta = reg_find(c->reg, sv->u.string.ptr, len);
  if (!meta || depth > SCH_MAX_META_DEPTH) return 0; /* unknown: keep the inherited dialect */
  const spk_json_value_t *m = meta->doc;
  if (m->type != SPK_JSON_OBJECT) return 0;
  const spk_json_value_t *ms = kw(m, "$schema");
  if (ms && !(ms->type == SPK_JSON_STRING &&
              trim_empty_fragment(ms->u.string.ptr, ms->u.string.len) == len &&
              memcmp(ms->u.string.ptr, sv->u.string.ptr, len) == 0)) {
    if (dialect_of(c, m, inherit_draft, inherit_vocab, draft, vocab, depth + 1)) return c->rc;
  }
  const spk_json_value_t *voc = kw(m, "$vocabulary");
  if (voc && voc->type == SPK_JSON_OBJECT) {
    unsigned bits = SCH_V_CORE;
    for (size_t i = 0; i < voc->u.object.len; i++) {
      const spk_json_member_t *e = &voc->u.object.members[i];
      unsigned b = 0;
      if (vocab_bit(e->key.ptr, e->key.len, &b)) {
        bits |= b;
      } else if (e->value->type == SPK_JSON_BOOL && e->value->u.boolean) {
        return cc_fail(c, "unsupported required vocabulary \"%.*s\"", (int)e->key.len, e->key.ptr);
      }
    }
    *vocab = bits;
  }
  return 0;
}

/* ==== indexing =========================================================================== */

static int walk(cc_t *c, const spk_json_value_t *v, sch_res_t *res, int depth);

static int walk_map(cc_t *c, const spk_json_value_t *m, sch_res_t *res, int depth) {
  if (!m || m->type != SPK_JSON_OBJECT) return 0;
  for (size_t i = 0; i < m->u.object.len; i++)
    if (walk(c, m->u.object.members[i].value, res, depth + 1)) return c->rc;
  return 0;
}

static int walk_list(cc_t *c, const spk_json_value_t *a, sch_res_t *res, int depth) {
  if (!a || a->type != SPK_JSON_ARRAY) return 0;
  for (size_t i = 0; i < a->u.array.len; i++)
    if (walk(c, a->u.array.items[i], res, depth + 1)) return c->rc;
  return 0;
}

static int walk(cc_t *c, const spk_json_value_t *v, sch_res_t *res, int depth) {
  if (v->type != SPK_JSON_OBJECT) return 0;
  if (depth > SCH_MAX_NESTING) return cc_fail(c, "invalid schema: nested too deeply");
  int d07 = res->draft == SCH_D07;
  const spk_json_value_t *idv = kw(v, "$id");
  if (idv && idv->type == SPK_JSON_STRING && !(d07 && kw(v, "$ref"))) {
    const char *s = idv->u.string.ptr;
    size_t sl = idv->u.string.len;
    if (d07 && sl && s[0] == '#') {
      if (sl > 1 && add_anchor(c, res, s + 1, sl - 1, v, 0)) return c->rc;
    } else if (v != res->root) {
      char *full;
      size_t fl;
      if (spk__sch_uri_resolve(res->uri, res->uri_len, s, sl, &full, &fl)) return cc_oom(c);
      size_t bl = spk__sch_uri_strip_fragment(full, fl);
      int draft;
      unsigned vocab;
      if (dialect_of(c, v, res->draft, res->vocab, &draft, &vocab, 0)) {
        spk__free(full);
        return c->rc;
      }
      sch_res_t *nr = new_res(c, full, bl, v, draft, vocab);
      if (nr && d07 && bl + 1 < fl) {
        /* draft-07 "$id": "other.json#name" also names an anchor */
        char *name = spk__arena_strndup(&c->s->arena, full + bl + 1, fl - bl - 1);
        if (!name) cc_oom(c);
        else add_anchor(c, nr, name, fl - bl - 1, v, 0);
      }
      spk__free(full);
      if (!nr || c->rc) return c->rc ? c->rc : cc_oom(c);
      res = nr;
      d07 = res->draft == SCH_D07;
    }
  }
  if (!d07) {
    const spk_json_value_t *a = kw(v, "$anchor");
    if (a && a->type == SPK_JSON_STRING && add_anchor(c, res, a->u.string.ptr, a->u.string.len, v, 0))
      return c->rc;
    if (res->draft == SCH_D2020) {
      a = kw(v, "$dynamicAnchor");
      if (a && a->type == SPK_JSON_STRING &&
          add_anchor(c, res, a->u.string.ptr, a->u.string.len, v, 1))
        return c->rc;
    } else {
      a = kw(v, "$recursiveAnchor");
      if (a && a->type == SPK_JSON_BOOL && a->u.boolean && v == res->root &&
          add_anchor(c, res, "", 0, v, 1))
        return c->rc;
    }
  }
  static const char *const single[] = {"additionalProperties", "propertyNames", "contains",
                                       "not", "if", "then", "else", "additionalItems",
                                       "unevaluatedItems", "unevaluatedProperties",
                                       "contentSchema"};
  static const char *const lists[] = {"allOf", "anyOf", "oneOf", "prefixItems"};
  static const char *const maps[] = {"$defs", "definitions", "properties", "patternProperties",
                                     "dependentSchemas", "dependencies"};
  for (size_t i = 0; i < sizeof(single) / sizeof(single[0]); i++) {
    const spk_json_value_t *x = kw(v, single[i]);
    if (x && walk(c, x, res, depth + 1)) return c->rc;
  }
  const spk_json_value_t *items = kw(v, "items");
  if (items) {
    if (items->type == SPK_JSON_ARRAY) {
      if (walk_list(c, items, res, depth)) return c->rc;
    } else if (walk(c, items, res, depth + 1)) {
      return c->rc;
    }
  }
  for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++)
    if (walk_list(c, kw(v, lists[i]), res, depth)) return c->rc;
  for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
    if (walk_map(c, kw(v, maps[i]), res, depth)) return c->rc;
  return 0;
}

/* Index a document (already copied into the schema arena) under `base`. */
static sch_res_t *index_doc(cc_t *c, const spk_json_value_t *root, const char *base,
                            size_t base_len, int draft, unsigned vocab) {
  int d;
  unsigned voc;
  if (dialect_of(c, root, draft, vocab, &d, &voc, 0)) return NULL;
  char *full = NULL;
  size_t fl = 0;
  const spk_json_value_t *idv = root->type == SPK_JSON_OBJECT ? kw(root, "$id") : NULL;
  if (idv && idv->type == SPK_JSON_STRING && !(d == SCH_D07 && idv->u.string.len &&
                                               idv->u.string.ptr[0] == '#')) {
    if (spk__sch_uri_resolve(base, base_len, idv->u.string.ptr, idv->u.string.len, &full, &fl)) {
      cc_oom(c);
      return NULL;
    }
    fl = spk__sch_uri_strip_fragment(full, fl);
  }
  sch_res_t *r = full ? new_res(c, full, fl, root, d, voc) : new_res(c, base, base_len, root, d, voc);
  spk__free(full);
  if (!r) return NULL;
  if (add_uri(c, base, base_len, r)) return NULL;
  if (walk(c, root, r, 0)) return NULL;
  return r;
}

/* Load a registry document by exact URI. 1 loaded, 0 not there, <0 error. */
static int load_remote(cc_t *c, const char *uri, size_t len, int draft, unsigned vocab) {
  if (!c->reg) return 0;
  for (size_t i = 0; i < c->reg->n; i++) {
    const reg_entry_t *e = &c->reg->e[i];
    if (c->reg_loaded[i] || e->uri_len != len || memcmp(e->uri, uri, len) != 0) continue;
    c->reg_loaded[i] = 1;
    int err = 0;
    spk_json_value_t *doc = json_copy(&c->s->arena, e->doc, 0, &err);
    if (!doc) return err == SPK_ENOMEM ? cc_oom(c) : cc_fail(c, "remote document too deep");
    if (!index_doc(c, doc, e->uri, e->uri_len, draft, vocab)) return c->rc ? c->rc : cc_oom(c);
    return 1;
  }
  return 0;
}

/* Load every registry document not loaded yet (to find identifiers embedded in them). */
static int load_all_remotes(cc_t *c, int draft, unsigned vocab) {
  if (!c->reg) return 0;
  int any = 0;
  for (size_t i = 0; i < c->reg->n; i++) {
    if (c->reg_loaded[i]) continue;
    int rc = load_remote(c, c->reg->e[i].uri, c->reg->e[i].uri_len, draft, vocab);
    if (rc < 0) return rc;
    any |= rc;
  }
  return any;
}

/* ==== reference resolution =============================================================== */

static int hexv(char ch) {
  if (ch >= '0' && ch <= '9') return ch - '0';
  if (ch >= 'a' && ch <= 'f') return ch - 'a' + 10;
  if (ch >= 'A' && ch <= 'F') return ch - 'A' + 10;
  return -1;
}

/* Percent-decode in place; returns the new length. */
static size_t pct_decode(char *s, size_t n) {
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n && hexv(s[i + 1]) >= 0 && hexv(s[i + 2]) >= 0) {
      s[o++] = (char)(hexv(s[i + 1]) * 16 + hexv(s[i + 2]));
      i += 2;
    } else {
      s[o++] = s[i];
    }
  }
  return o;
}

typedef struct target {
  const spk_json_value_t *value;
  sch_res_t *res;
  const anchor_ent_t *anchor; /* when the fragment named an anchor */
} target_t;

static int resolve_pointer(cc_t *c, sch_res_t *r, char *p, size_t n, target_t *t,
                           const char *full) {
  const spk_json_value_t *v = r->root;
  size_t i = 0;
  while (i < n) {
    /* p[i] == '/' */
    size_t s = ++i;
    while (i < n && p[i] != '/') i++;
    /* unescape ~1 ~0 in p[s..i) */
    char *tok = p + s;
    size_t tl = 0;
    for (size_t k = s; k < i; k++) {
      if (p[k] == '~' && k + 1 < i && (p[k + 1] == '0' || p[k + 1] == '1')) {
        tok[tl++] = p[k + 1] == '0' ? '~' : '/';
        k++;
      } else {
        tok[tl++] = p[k];
      }
    }
    if (v->type == SPK_JSON_OBJECT) {
      v = spk_json_get(v, tok, tl);
    } else if (v->type == SPK_JSON_ARRAY) {
      size_t idx = 0;
      int ok = tl > 0 && (tl == 1 || tok[0] != '0');
      for (size_t k = 0; ok && k < tl; k++) {
        if (tok[k] < '0' || tok[k] > '9' || idx > (SIZE_MAX - 9) / 10) ok = 0;
        else idx = idx * 10 + (size_t)(tok[k] - '0');
      }
      v = ok && idx < v->u.array.len ? v->u.array.items[idx] : NULL;
    } else {
      v = NULL;
    }
    if (!v) return cc_fail(c, "unresolvable $ref \"%s\"", full);
    if (v->type == SPK_JSON_OBJECT) {
      sch_res_t *inner = pmap_get(&c->roots, v, NULL);
      if (inner) r = inner;
    }
  }
  t->value = v;
  t->res = r;
  t->anchor = NULL;
  return 0;
}

static int resolve_ref(cc_t *c, const sch_res_t *from, const char *ref, size_t ref_len,
                       target_t *t) {
  char *full;
  size_t fl;
  if (spk__sch_uri_resolve(from->uri, from->uri_len, ref, ref_len, &full, &fl)) return cc_oom(c);
  size_t bl = spk__sch_uri_strip_fragment(full, fl);
  sch_res_t *r = find_res_uri(c, full, bl);
  if (!r) {
    int rc = load_remote(c, full, bl, from->draft, from->vocab);
    if (rc >= 0 && !c->rc) {
      r = find_res_uri(c, full, bl);
      if (!r && load_all_remotes(c, from->draft, from->vocab) >= 0 && !c->rc)
        r = find_res_uri(c, full, bl);
    }
  }
  if (!r) {
    if (!c->rc) cc_fail(c, "unresolvable $ref \"%.*s\" (no such document)", (int)fl, full);
    spk__free(full);
    return c->rc;
  }
  char *frag = bl < fl ? full + bl + 1 : full + fl;
  size_t frag_len = bl < fl ? fl - bl - 1 : 0;
  frag_len = pct_decode(frag, frag_len);
  int rc = 0;
  if (frag_len == 0) {
    t->value = r->root;
    t->res = r;
    t->anchor = NULL;
  } else if (frag[0] == '/') {
    full[fl] = '\0';
    rc = resolve_pointer(c, r, frag, frag_len, t, full);
  } else {
    const anchor_ent_t *a = find_anchor(c, r, frag, frag_len);
    if (!a) {
      rc = cc_fail(c, "unresolvable $ref \"%.*s\" (no such anchor)", (int)ref_len, ref);
    } else {
      t->value = a->value;
      t->res = r;
      t->anchor = a;
    }
  }
  spk__free(full);
  return rc;
}

/* ==== nodes ============================================================================== */

static sch_node_t *get_node(cc_t *c, const spk_json_value_t *v, sch_res_t *res) {
  if (v->type == SPK_JSON_OBJECT) {
    sch_res_t *r = pmap_get(&c->roots, v, NULL);
    if (r) res = r;
  }
  sch_node_t *n = pmap_get(&c->nodes, v, res);
  if (n) return n;
  if (v->type != SPK_JSON_OBJECT && v->type != SPK_JSON_BOOL) {
    cc_fail(c, "invalid schema: a schema must be an object or a boolean");
    return NULL;
  }
  n = spk__arena_calloc(&c->s->arena, sizeof(*n));
  if (!n) {
    cc_oom(c);
    return NULL;
  }
  n->json = v;
  n->res = res;
  n->draft = res->draft;
  n->max_length = n->max_items = n->max_properties = n->max_contains = SIZE_MAX;
  if (v->type == SPK_JSON_BOOL) {
    n->kind = v->u.boolean ? SCH_NODE_TRUE : SCH_NODE_FALSE;
  } else {
    n->kind = SCH_NODE_OBJECT;
    if (grow((void **)&c->work, &c->cap_work, c->n_work, sizeof(*c->work))) {
      cc_oom(c);
      return NULL;
    }
    c->work[c->n_work++] = n;
  }
  if (pmap_put(&c->nodes, v, res, n)) {
    cc_oom(c);
    return NULL;
  }
  return n;
}

/* A non-negative integer keyword value (2, 2.0, 1e300 → clamped). */
static int get_size(cc_t *c, const spk_json_value_t *v, const char *name, size_t *out) {
  if (v->type == SPK_JSON_INT && v->u.integer >= 0) {
    *out = (uint64_t)v->u.integer > SIZE_MAX ? SIZE_MAX : (size_t)v->u.integer;
    return 0;
  }
  if (v->type == SPK_JSON_NUMBER && v->u.number.is_integer && v->u.number.value >= 0) {
    double d = v->u.number.value;
    *out = d >= 18446744073709551615.0 ? SIZE_MAX : (size_t)d;
    return 0;
  }
  return cc_fail(c, "invalid schema: \"%s\" must be a non-negative integer", name);
}

static int is_number(const spk_json_value_t *v) {
  return v->type == SPK_JSON_INT || v->type == SPK_JSON_NUMBER;
}

static sch_node_t *sub(cc_t *c, sch_node_t *n, const spk_json_value_t *v, const char *name) {
  if (v->type != SPK_JSON_OBJECT && v->type != SPK_JSON_BOOL) {
    cc_fail(c, "invalid schema: \"%s\" must be a schema (object or boolean)", name);
    return NULL;
  }
  return get_node(c, v, (sch_res_t *)n->res);
}

static int sub_list(cc_t *c, sch_node_t *n, const spk_json_value_t *v, const char *name,
                    sch_node_t ***out, size_t *count) {
  if (v->type != SPK_JSON_ARRAY || v->u.array.len == 0)
    return cc_fail(c, "invalid schema: \"%s\" must be a non-empty array of schemas", name);
  sch_node_t **arr = spk__arena_alloc(&c->s->arena, v->u.array.len * sizeof(*arr));
  if (!arr) return cc_oom(c);
  for (size_t i = 0; i < v->u.array.len; i++) {
    arr[i] = sub(c, n, v->u.array.items[i], name);
    if (!arr[i]) return c->rc;
  }
  *out = arr;
  *count = v->u.array.len;
  return 0;
}

static int string_array(cc_t *c, const spk_json_value_t *v, const char *name) {
  if (v->type != SPK_JSON_ARRAY)
    return cc_fail(c, "invalid schema: \"%s\" must be an array of strings", name);
  for (size_t i = 0; i < v->u.array.len; i++)
    if (v->u.array.items[i]->type != SPK_JSON_STRING)
      return cc_fail(c, "invalid schema: \"%s\" must be an array of strings", name);
  return 0;
}

static const spk__sch_regex_t *get_regex(cc_t *c, const char *pat, size_t len) {
  for (spk__sch_regex_t *r = c->s->regexes; r; r = r->next)
    if (r->source_len == len && memcmp(r->source, pat, len) == 0) return r;
  spk__sch_regex_t *re;
  char msg[200];
  int rc = spk__sch_regex_compile(pat, len, &re, msg, sizeof(msg));
  if (rc == SPK_ENOMEM) {
    cc_oom(c);
    return NULL;
  }
  if (rc) {
    cc_fail(c, "invalid schema: pattern \"%.*s\": %s", (int)(len > 200 ? 200 : len), pat, msg);
    return NULL;
  }
  re->next = c->s->regexes;
  c->s->regexes = re;
  return re;
}

static int parse_type(cc_t *c, sch_node_t *n, const spk_json_value_t *v) {
  static const char *const names[] = {"null", "boolean", "integer", "number",
                                      "string", "array", "object"};
  static const unsigned bits[] = {SCH_T_NULL, SCH_T_BOOLEAN, SCH_T_INTEGER, SCH_T_NUMBER,
                                  SCH_T_STRING, SCH_T_ARRAY, SCH_T_OBJECT};
  const spk_json_value_t *one = v;
  size_t count = 1;
  if (v->type == SPK_JSON_ARRAY) count = v->u.array.len;
  else if (v->type != SPK_JSON_STRING) return cc_fail(c, "invalid schema: \"type\" must be a string or an array");
  unsigned mask = 0;
  for (size_t i = 0; i < count; i++) {
    if (v->type == SPK_JSON_ARRAY) one = v->u.array.items[i];
    if (one->type != SPK_JSON_STRING) return cc_fail(c, "invalid schema: \"type\" entries must be strings");
    unsigned b = 0;
    for (size_t k = 0; k < 7; k++)
      if (str_eq(one->u.string.ptr, one->u.string.len, names[k])) b = bits[k];
    if (!b)
      return cc_fail(c, "invalid schema: unknown type \"%.*s\"", (int)one->u.string.len,
                     one->u.string.ptr);
    mask |= b;
  }
  n->types = mask;
  n->type_kw = v;
  return 0;
}

static int build_props_index(cc_t *c, sch_node_t *n) {
  if (n->n_props <= 8) return 0;
  size_t cap = 16;
  while (cap < n->n_props * 2) cap *= 2;
  uint32_t *idx = spk__arena_calloc(&c->s->arena, cap * sizeof(*idx));
  if (!idx) return cc_oom(c);
  for (size_t i = 0; i < n->n_props; i++) {
    size_t h = spk__sch_hash(n->props[i].key.ptr, n->props[i].key.len) & (cap - 1);
    while (idx[h]) h = (h + 1) & (cap - 1);
    idx[h] = (uint32_t)(i + 1);
  }
  n->props_index = idx;
  n->props_index_mask = cap - 1;
  return 0;
}

static int fill_node(cc_t *c, sch_node_t *n) {
  const spk_json_value_t *s = n->json;
  const int draft = n->draft;
  const unsigned vocab = n->res->vocab;
  const int d07 = draft == SCH_D07;
  const int app = (vocab & SCH_V_APPLICATOR) != 0;
  const int val = (vocab & SCH_V_VALIDATION) != 0;
  spk__arena_t *A = &c->s->arena;
  const spk_json_value_t *v;

  /* --- references --- */
  if ((v = kw(s, "$ref"))) {
    if (v->type != SPK_JSON_STRING) return cc_fail(c, "invalid schema: \"$ref\" must be a string");
    target_t t;
    if (resolve_ref(c, n->res, v->u.string.ptr, v->u.string.len, &t)) return c->rc;
    n->ref = get_node(c, t.value, t.res);
    if (!n->ref) return c->rc;
    n->ref_kw = v;
    if (d07) return 0; /* draft-07: $ref overrides every sibling keyword */
  }
  if (draft == SCH_D2020 && (v = kw(s, "$dynamicRef"))) {
    if (v->type != SPK_JSON_STRING) return cc_fail(c, "invalid schema: \"$dynamicRef\" must be a string");
    target_t t;
    if (resolve_ref(c, n->res, v->u.string.ptr, v->u.string.len, &t)) return c->rc;
    n->dyn_ref = get_node(c, t.value, t.res);
    if (!n->dyn_ref) return c->rc;
    n->dyn_ref_kw = v;
    if (t.anchor && t.anchor->dynamic) {
      n->dyn_name = t.anchor->name;
      n->dyn_name_len = t.anchor->len;
    }
  }
  if (draft == SCH_D2019 && (v = kw(s, "$recursiveRef"))) {
    if (v->type != SPK_JSON_STRING) return cc_fail(c, "invalid schema: \"$recursiveRef\" must be a string");
    target_t t;
    if (resolve_ref(c, n->res, v->u.string.ptr, v->u.string.len, &t)) return c->rc;
    n->dyn_ref = get_node(c, t.value, t.res);
    if (!n->dyn_ref) return c->rc;
    n->dyn_ref_kw = v;
    const spk_json_value_t *ra = t.value->type == SPK_JSON_OBJECT ? kw(t.value, "$recursiveAnchor") : NULL;
    if (ra && ra->type == SPK_JSON_BOOL && ra->u.boolean) {
      n->dyn_name = "";
      n->dyn_name_len = 0;
    }
  }

  /* --- any instance type --- */
  if (val) {
    if ((v = kw(s, "type")) && parse_type(c, n, v)) return c->rc;
    if ((v = kw(s, "enum"))) {
      if (v->type != SPK_JSON_ARRAY) return cc_fail(c, "invalid schema: \"enum\" must be an array");
      n->enum_kw = v;
    }
    if ((v = kw(s, "const"))) n->const_kw = v;

    /* numbers */
    static const char *const numkw[] = {"minimum", "maximum", "exclusiveMinimum",
                                        "exclusiveMaximum", "multipleOf"};
    const spk_json_value_t **slots[] = {&n->minimum, &n->maximum, &n->exclusive_minimum,
                                        &n->exclusive_maximum, &n->multiple_of};
    for (size_t i = 0; i < 5; i++) {
      if (!(v = kw(s, numkw[i]))) continue;
      if (!is_number(v)) return cc_fail(c, "invalid schema: \"%s\" must be a number", numkw[i]);
      *slots[i] = v;
      n->has |= SCH_H_NUMERIC;
    }
    if (n->multiple_of && !(spk_json_as_double(n->multiple_of) > 0))
      return cc_fail(c, "invalid schema: \"multipleOf\" must be greater than 0");

    /* strings */
    if ((v = kw(s, "minLength"))) {
      if (get_size(c, v, "minLength", &n->min_length)) return c->rc;
      n->min_length_kw = v;
      n->has |= SCH_H_STRING;
    }
    if ((v = kw(s, "maxLength"))) {
      if (get_size(c, v, "maxLength", &n->max_length)) return c->rc;
      n->max_length_kw = v;
      n->has |= SCH_H_STRING;
    }
    if ((v = kw(s, "pattern"))) {
      if (v->type != SPK_JSON_STRING) return cc_fail(c, "invalid schema: \"pattern\" must be a string");
      if (!(n->pattern = get_regex(c, v->u.string.ptr, v->u.string.len))) return c->rc;
      n->pattern_kw = v;
      n->has |= SCH_H_STRING;
    }

    /* arrays */
    if ((v = kw(s, "minItems"))) {
      if (get_size(c, v, "minItems", &n->min_items)) return c->rc;
      n->min_items_kw = v;
      n->has |= SCH_H_ARRAY;
    }
    if ((v = kw(s, "maxItems"))) {
      if (get_size(c, v, "maxItems", &n->max_items)) return c->rc;
      n->max_items_kw = v;
      n->has |= SCH_H_ARRAY;
    }
    if ((v = kw(s, "uniqueItems"))) {
      if (v->type != SPK_JSON_BOOL) return cc_fail(c, "invalid schema: \"uniqueItems\" must be a boolean");
      n->unique_items = v->u.boolean;
      n->unique_items_kw = v;
      if (v->u.boolean) n->has |= SCH_H_ARRAY;
    }
    if (!d07) {
      if ((v = kw(s, "minContains"))) {
        if (get_size(c, v, "minContains", &n->min_contains)) return c->rc;
        n->min_contains_kw = v;
      }
      if ((v = kw(s, "maxContains"))) {
        if (get_size(c, v, "maxContains", &n->max_contains)) return c->rc;
        n->max_contains_kw = v;
      }
    }

    /* objects */
    if ((v = kw(s, "minProperties"))) {
      if (get_size(c, v, "minProperties", &n->min_properties)) return c->rc;
      n->min_properties_kw = v;
      n->has |= SCH_H_OBJECT;
    }
    if ((v = kw(s, "maxProperties"))) {
      if (get_size(c, v, "maxProperties", &n->max_properties)) return c->rc;
      n->max_properties_kw = v;
      n->has |= SCH_H_OBJECT;
    }
    if ((v = kw(s, "required"))) {
      if (string_array(c, v, "required")) return c->rc;
      n->required_kw = v;
      n->n_required = v->u.array.len;
      if (n->n_required) {
        n->required = spk__arena_alloc(A, n->n_required * sizeof(*n->required));
        if (!n->required) return cc_oom(c);
        for (size_t i = 0; i < n->n_required; i++) {
          n->required[i].name = v->u.array.items[i]->u.string;
          n->required[i].prop = -1;
        }
        n->has |= SCH_H_OBJECT;
      }
    }
  }

  /* dependentRequired / dependentSchemas, and draft-07 `dependencies` (also accepted by the
   * later drafts for compatibility): arrays are required names, schemas are applied. */
  {
    const spk_json_value_t *dr = (!d07 && val) ? kw(s, "dependentRequired") : NULL;
    const spk_json_value_t *ds = (!d07 && app) ? kw(s, "dependentSchemas") : NULL;
    const spk_json_value_t *dp = kw(s, "dependencies");
    if (dr && dr->type != SPK_JSON_OBJECT)
      return cc_fail(c, "invalid schema: \"dependentRequired\" must be an object");
    if (ds && ds->type != SPK_JSON_OBJECT)
      return cc_fail(c, "invalid schema: \"dependentSchemas\" must be an object");
    if (dp && dp->type != SPK_JSON_OBJECT)
      return cc_fail(c, "invalid schema: \"dependencies\" must be an object");
    size_t nreq = dr ? dr->u.object.len : 0, nsch = ds ? ds->u.object.len : 0;
    for (size_t i = 0; dp && i < dp->u.object.len; i++) {
      if (dp->u.object.members[i].value->type == SPK_JSON_ARRAY) nreq += val;
      else nsch += app;
    }
    if (nreq) {
      n->dep_required = spk__arena_alloc(A, nreq * sizeof(*n->dep_required));
      if (!n->dep_required) return cc_oom(c);
      n->has |= SCH_H_OBJECT;
    }
    if (nsch) {
      n->dep_schemas = spk__arena_alloc(A, nsch * sizeof(*n->dep_schemas));
      if (!n->dep_schemas) return cc_oom(c);
      n->has |= SCH_H_INPLACE;
    }
    for (int pass = 0; pass < 3; pass++) {
      const spk_json_value_t *m = pass == 0 ? dr : pass == 1 ? ds : dp;
      const char *name = pass == 0 ? "dependentRequired" : pass == 1 ? "dependentSchemas" : "dependencies";
      for (size_t i = 0; m && i < m->u.object.len; i++) {
        const spk_json_member_t *e = &m->u.object.members[i];
        int is_req = pass == 0 || (pass == 2 && e->value->type == SPK_JSON_ARRAY);
        if (is_req) {
          if (pass == 2 && !val) continue;
          if (string_array(c, e->value, name)) return c->rc;
          sch_dep_required_t *d = &n->dep_required[n->n_dep_required++];
          d->key = e->key;
          d->names = e->value;
          d->keyword = name;
        } else {
          if (pass == 2 && !app) continue;
          sch_dep_schema_t *d = &n->dep_schemas[n->n_dep_schemas++];
          d->key = e->key;
          d->keyword = name;
          if (!(d->schema = sub(c, n, e->value, name))) return c->rc;
        }
      }
    }
  }

  /* --- format --- */
  if ((vocab & (SCH_V_FORMAT_ANNOTATION | SCH_V_FORMAT_ASSERTION)) && (v = kw(s, "format")) &&
      v->type == SPK_JSON_STRING) {
    if (c->format_assertion || (vocab & SCH_V_FORMAT_ASSERTION)) {
      n->format = spk__sch_format_lookup(v->u.string.ptr, v->u.string.len);
      if (n->format) {
        n->format_kw = v;
        n->has |= SCH_H_STRING;
      }
    }
  }

  /* --- draft-07 content: asserted (2019-09 and later make it an annotation only) --- */
  if (d07) {
    if ((v = kw(s, "contentEncoding")) && v->type == SPK_JSON_STRING &&
        str_eq(v->u.string.ptr, v->u.string.len, "base64")) {
      n->content_base64 = 1;
      n->content_encoding_kw = v;
      n->has |= SCH_H_STRING;
    }
    if ((v = kw(s, "contentMediaType")) && v->type == SPK_JSON_STRING) {
      const char *mt = v->u.string.ptr;
      size_t ml = v->u.string.len;
      if (str_eq(mt, ml, "application/json") || (ml > 5 && memcmp(mt + ml - 5, "+json", 5) == 0)) {
        n->content_json = 1;
        n->content_media_type_kw = v;
        n->has |= SCH_H_STRING;
      }
    }
  }

  /* --- applicators --- */
  if (app) {
    if ((v = kw(s, "allOf")) && sub_list(c, n, v, "allOf", &n->all_of, &n->n_all_of)) return c->rc;
    if ((v = kw(s, "anyOf"))) {
      if (sub_list(c, n, v, "anyOf", &n->any_of, &n->n_any_of)) return c->rc;
      n->any_of_kw = v;
    }
    if ((v = kw(s, "oneOf"))) {
      if (sub_list(c, n, v, "oneOf", &n->one_of, &n->n_one_of)) return c->rc;
      n->one_of_kw = v;
    }
    if ((v = kw(s, "not"))) {
      if (!(n->not_ = sub(c, n, v, "not"))) return c->rc;
      n->not_kw = v;
    }
    if ((v = kw(s, "if"))) {
      if (!(n->if_ = sub(c, n, v, "if"))) return c->rc;
      if ((v = kw(s, "then")) && !(n->then_ = sub(c, n, v, "then"))) return c->rc;
      if ((v = kw(s, "else")) && !(n->else_ = sub(c, n, v, "else"))) return c->rc;
    }
    if (n->n_all_of || n->n_any_of || n->n_one_of || n->not_ || n->if_) n->has |= SCH_H_INPLACE;
    /* arrays */
    const spk_json_value_t *items = kw(s, "items");
    if (draft == SCH_D2020) {
      if ((v = kw(s, "prefixItems"))) {
        if (sub_list(c, n, v, "prefixItems", &n->prefix, &n->n_prefix)) return c->rc;
        n->prefix_kw = v;
      }
      if (items) {
        if (items->type == SPK_JSON_ARRAY)
          return cc_fail(c, "invalid schema: \"items\" must be a schema in draft 2020-12 (use prefixItems)");
        if (!(n->items = sub(c, n, items, "items"))) return c->rc;
        n->items_kw = items;
        n->items_keyword = "items";
      }
    } else if (items) {
      if (items->type == SPK_JSON_ARRAY) {
        if (items->u.array.len) {
          if (sub_list(c, n, items, "items", &n->prefix, &n->n_prefix)) return c->rc;
        }
        n->prefix_kw = items;
        if ((v = kw(s, "additionalItems"))) {
          if (!(n->items = sub(c, n, v, "additionalItems"))) return c->rc;
          n->items_kw = v;
          n->items_keyword = "additionalItems";
        }
      } else {
        if (!(n->items = sub(c, n, items, "items"))) return c->rc;
        n->items_kw = items;
        n->items_keyword = "items";
      }
    }
    if ((v = kw(s, "contains"))) {
      if (!(n->contains = sub(c, n, v, "contains"))) return c->rc;
      n->contains_kw = v;
      if (!n->min_contains_kw) n->min_contains = 1;
    }
    if (n->n_prefix || n->items || n->contains) n->has |= SCH_H_ARRAY;

    /* objects */
    if ((v = kw(s, "properties"))) {
      if (v->type != SPK_JSON_OBJECT) return cc_fail(c, "invalid schema: \"properties\" must be an object");
      n->props_kw = v;
      if (v->u.object.len) {
        n->props = spk__arena_alloc(A, v->u.object.len * sizeof(*n->props));
        if (!n->props) return cc_oom(c);
        for (size_t i = 0; i < v->u.object.len; i++) {
          n->props[i].key = v->u.object.members[i].key;
          if (!(n->props[i].schema = sub(c, n, v->u.object.members[i].value, "properties")))
            return c->rc;
        }
        n->n_props = v->u.object.len;
        if (build_props_index(c, n)) return c->rc;
        n->has |= SCH_H_MEMBERS;
      }
    }
    if ((v = kw(s, "patternProperties"))) {
      if (v->type != SPK_JSON_OBJECT)
        return cc_fail(c, "invalid schema: \"patternProperties\" must be an object");
      if (v->u.object.len) {
        n->pattern_props = spk__arena_alloc(A, v->u.object.len * sizeof(*n->pattern_props));
        if (!n->pattern_props) return cc_oom(c);
        for (size_t i = 0; i < v->u.object.len; i++) {
          const spk_json_member_t *m = &v->u.object.members[i];
          if (!(n->pattern_props[i].re = get_regex(c, m->key.ptr, m->key.len))) return c->rc;
          if (!(n->pattern_props[i].schema = sub(c, n, m->value, "patternProperties"))) return c->rc;
        }
        n->n_pattern_props = v->u.object.len;
        n->has |= SCH_H_MEMBERS;
      }
    }
    if ((v = kw(s, "additionalProperties"))) {
      if (!(n->additional_props = sub(c, n, v, "additionalProperties"))) return c->rc;
      n->additional_props_kw = v;
      n->has |= SCH_H_MEMBERS;
    }
    if ((v = kw(s, "propertyNames"))) {
      if (!(n->property_names = sub(c, n, v, "propertyNames"))) return c->rc;
      n->has |= SCH_H_OBJECT;
    }
  }

  /* --- unevaluated --- */
  if (!d07 && (vocab & SCH_V_UNEVALUATED)) {
    if ((v = kw(s, "unevaluatedItems"))) {
      if (!(n->unevaluated_items = sub(c, n, v, "unevaluatedItems"))) return c->rc;
      n->unevaluated_items_kw = v;
    }
    if ((v = kw(s, "unevaluatedProperties"))) {
      if (!(n->unevaluated_props = sub(c, n, v, "unevaluatedProperties"))) return c->rc;
      n->unevaluated_props_kw = v;
    }
  }

  /* required names that are also properties: checked from the member pass. */
  if (n->n_required && n->n_props) {
    for (size_t i = 0; i < n->n_required; i++) {
      for (size_t k = 0; k < n->n_props; k++) {
        if (n->props[k].key.len == n->required[i].name.len &&
            memcmp(n->props[k].key.ptr, n->required[i].name.ptr, n->props[k].key.len) == 0) {
          n->required[i].prop = (long)k;
          break;
        }
      }
    }
  }
  return 0;
}

/* Build the $dynamicAnchor tables of resources that have none yet. Returns 1 when new nodes
 * were queued. */
static int build_dynamic_tables(cc_t *c) {
  int queued = 0;
  for (sch_res_t *r = c->s->resources; r; r = r->next) {
    if (r->dyn || c->rc) continue;
    size_t count = 0;
    for (size_t i = 0; i < c->n_anchors; i++)
      if (c->anchors[i].res == r && c->anchors[i].dynamic) count++;
    if (!count) continue;
    sch_dyn_t *d = spk__arena_calloc(&c->s->arena, count * sizeof(*d));
    if (!d) return cc_oom(c);
    size_t k = 0;
    for (size_t i = 0; i < c->n_anchors; i++) {
      const anchor_ent_t *a = &c->anchors[i];
      if (a->res != r || !a->dynamic) continue;
      size_t before = c->n_work;
      d[k].name = a->name;
      d[k].name_len = a->len;
      d[k].node = get_node(c, a->value, r);
      if (!d[k].node) return c->rc;
      if (c->n_work != before) queued = 1;
      k++;
    }
    r->dyn = d;
    r->n_dyn = count;
  }
  return queued;
}

int spk_schema_compile(const spk_json_value_t *schema, const spk_schema_options_t *opts,
                       spk_schema_t **out, char *errbuf, size_t errbuf_len) {
  if (errbuf && errbuf_len) errbuf[0] = '\0';
  if (!out) return SPK_EINVAL;
  *out = NULL;
  if (!schema) {
    if (errbuf && errbuf_len) snprintf(errbuf, errbuf_len, "no schema");
    return SPK_EINVAL;
  }
  spk_schema_options_t defaults = {SPK_SCHEMA_DRAFT_2020_12, NULL, 1};
  if (!opts) opts = &defaults;
  spk_schema_t *s = spk__calloc(1, sizeof(*s));
  if (!s) return SPK_ENOMEM;
  spk__arena_init(&s->arena, 8192);
  cc_t c;
  memset(&c, 0, sizeof(c));
  c.s = s;
  c.reg = opts->registry;
  c.format_assertion = opts->format_assertion;
  c.errbuf = errbuf;
  c.errbuf_len = errbuf_len;
  if (c.reg && c.reg->n) {
    c.reg_loaded = spk__calloc(c.reg->n, 1);
    if (!c.reg_loaded) cc_oom(&c);
  }
  int draft = opts->default_draft == SPK_SCHEMA_DRAFT_07 ? SCH_D07 : SCH_D2020;
  int err = 0;
  spk_json_value_t *doc = c.rc ? NULL : json_copy(&s->arena, schema, 0, &err);
  if (!c.rc && !doc) {
    if (err == SPK_ENOMEM) cc_oom(&c);
    else cc_fail(&c, "invalid schema: nested too deeply");
  }
  if (!c.rc && doc->type != SPK_JSON_OBJECT && doc->type != SPK_JSON_BOOL)
    cc_fail(&c, "invalid schema: a schema must be an object or a boolean");
  sch_res_t *root_res = NULL;
  if (!c.rc)
    root_res = index_doc(&c, doc, SCH_DEFAULT_BASE, sizeof(SCH_DEFAULT_BASE) - 1, draft, SCH_V_DEFAULT);
  if (!c.rc && root_res) s->root = get_node(&c, doc, root_res);
  while (!c.rc) {
    while (!c.rc && c.n_work) {
      sch_node_t *n = c.work[--c.n_work];
      fill_node(&c, n);
    }
    if (c.rc || !build_dynamic_tables(&c)) break;
  }
  int rc = c.rc;
  if (!rc && !s->root) rc = cc_oom(&c);
  spk__free(c.nodes.s);
  spk__free(c.roots.s);
  spk__free(c.uris);
  spk__free(c.anchors);
  spk__free(c.work);
  spk__free(c.reg_loaded);
  if (rc) {
    spk_schema_free(s);
    return rc;
  }
  *out = s;
  return 0;
}

void spk_schema_free(spk_schema_t *schema) {
  if (!schema) return;
  spk__sch_regex_t *r = schema->regexes;
  while (r) {
    spk__sch_regex_t *next = r->next;
    spk__sch_regex_free(r);
    r = next;
  }
  spk__arena_free(&schema->arena);
  spk__free(schema);
}
