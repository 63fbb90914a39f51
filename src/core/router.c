/* Router: a compressed radix tree (httprouter / matchit model).
 *
 * Shape of the tree
 *   - Every node ends at a fixed position of every pattern that goes through it. A node is one
 *     of three kinds:
 *       STATIC   a compressed run of literal bytes (`prefix`), slashes included;
 *       PARAM    one whole, non-empty path segment ({name}, {name:type}, :name);
 *       CATCHALL the non-empty rest of the path ({name:path}); always a leaf.
 *   - Children: any number of STATIC children, distinct by first byte (`indices[i]` is the
 *     first byte of `children[i]`), at most one PARAM child and at most one CATCHALL child.
 *     Only a node whose position ends right after a '/' can have PARAM / CATCHALL children,
 *     because a parameter always fills a whole segment.
 *   - The root is a STATIC node with an empty prefix; every pattern starts with '/'.
 *   - A node with at least one endpoint is terminal: its patterns end there. All endpoints of
 *     one node share the same path shape and differ by method only.
 *   - Trailing-slash twins are real: a pattern that does not end in '/' (and is not a
 *     catch-all) also puts a `twin` endpoint on the static "/" node below its own node, so a
 *     twin competes in the normal priority order (`/a/` reaches `/a` before `/{p:path}`), and
 *     an endpoint declared on `/a/` itself beats the twin for the same method.
 *
 * Matching
 *   A depth-first walk that tries, at each node, the static child first, then the parameter
 *   child, then the catch-all child, and backtracks when a branch cannot reach a terminal node
 *   (so /users/me + /users/{id}/posts still matches /users/me/posts to the parameter route).
 *   The first terminal node reached wins; the method is dispatched afterwards (405 when that
 *   node has no endpoint for it — the axum / matchit behaviour).
 *
 *   The walk needs no stack: each node keeps a parent pointer, a STATIC node knows how many
 *   bytes it consumed (its prefix length) and a PARAM / CATCHALL node finds where it started
 *   from the value slice it recorded. So matching allocates nothing, recurses nowhere, and only
 *   reads the tree: concurrent readers are safe once registration is over. Every node is
 *   entered at most once per walk, so the walk is linear in the size of the tree in the worst
 *   case and in the length of the path in practice.
 *
 * Registration validates the whole pattern and checks every conflict before the tree is
 * touched; after that the only possible failure is ENOMEM, which prunes the empty nodes it
 * may have left behind. Allow strings are rebuilt for the node on every registration, so
 * matching is complete (405 / OPTIONS included) before as well as after freeze. */
#include "core/router.h"

#include <stdlib.h>
#include <string.h>

#include "spikard/common.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/strutil.h"

enum { NODE_STATIC = 0, NODE_PARAM = 1, NODE_CATCHALL = 2 };

typedef struct endpoint {
  const char *method; /* == route->method */
  size_t method_len;
  const spk__route_t *route;
  int twin; /* registered for the route's pattern without this node's final '/' */
} endpoint_t;

typedef struct node node_t;
struct node {
  node_t *parent;
  int kind;
  /* STATIC: the literal bytes this node consumes (root: empty). */
  char *prefix;
  size_t prefix_len;
  /* PARAM / CATCHALL: declared name and type, for conflict detection. */
  char *name;
  spk__param_type_t type;
  /* Children. */
  size_t nchildren;
  char *indices;
  node_t **children;
  node_t *param;
  node_t *catchall;
  /* Endpoints and the precomputed Allow value (NULL while there are none). */
  size_t neps;
  endpoint_t *eps;
  char *allow;
};

/* A registered route and everything it points to, in one allocation. */
typedef struct route_block {
  spk__route_t pub;
  const char *names[SPK__MAX_PARAMS];
  spk__param_type_t types[SPK__MAX_PARAMS];
  char strings[]; /* method\0 pattern\0 name0\0 name1\0 … */
} route_block_t;

struct spk__router {
  node_t root;
  route_block_t **routes; /* registration order; owns the blocks */
  size_t nroutes;
  size_t routes_cap;
  int frozen;
};

/* ------------------------------------------------------------------------------------------ */
/* Pattern parsing                                                                            */

enum { TOK_STATIC = 0, TOK_PARAM = 1, TOK_CATCHALL = 2 };

typedef struct token {
  int kind;
  const char *s; /* STATIC: literal bytes; PARAM / CATCHALL: the name */
  size_t len;
  spk__param_type_t type;
} token_t;

/* A static run precedes every parameter, so there are at most 2 * params + 1 tokens. */
#define MAX_TOKENS (2 * SPK__MAX_PARAMS + 1)

typedef struct parsed {
  token_t toks[MAX_TOKENS];
  size_t ntoks;
  size_t nparams;
  const token_t *params[SPK__MAX_PARAMS];
} parsed_t;

static int is_alnum(unsigned char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* {name}: letters, digits, '_', '-', '.' (OpenAPI-style names such as {user-id}). */
static int is_brace_name_char(unsigned char c) {
  return is_alnum(c) || c == '_' || c == '-' || c == '.';
}

/* :name (Express style): letters, digits, '_' — anything else makes the segment invalid, so
 * /:file.json is rejected instead of silently becoming a parameter named "file.json". */
static int is_colon_name_char(unsigned char c) { return is_alnum(c) || c == '_'; }

static int is_type_char(unsigned char c) { return is_alnum(c) || c == '_' || c == '-'; }

/* Bytes allowed in a literal segment: anything visible except braces (reserved for
 * parameters) and the characters that cannot occur in a request path ('?', '#'). Bytes
 * >= 0x80 are accepted as they are. */
static int is_static_char(unsigned char c) {
  if (c <= 0x20 || c == 0x7f) return 0;
  return c != '{' && c != '}' && c != '?' && c != '#';
}

int spk__param_type_from_name(const char *s, size_t len, spk__param_type_t *out) {
  static const struct {
    const char *name;
    spk__param_type_t type;
  } known[] = {
      {"str", SPK__PT_STRING},     {"string", SPK__PT_STRING},   {"int", SPK__PT_INT},
      {"integer", SPK__PT_INT},    {"float", SPK__PT_FLOAT},     {"number", SPK__PT_FLOAT},
      {"bool", SPK__PT_BOOL},      {"boolean", SPK__PT_BOOL},    {"uuid", SPK__PT_UUID},
      {"date", SPK__PT_DATE},      {"datetime", SPK__PT_DATETIME},
      {"date-time", SPK__PT_DATETIME},                            {"path", SPK__PT_PATH},
  };
  for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
    if (strlen(known[i].name) == len && memcmp(known[i].name, s, len) == 0) {
      *out = known[i].type;
      return 1;
    }
  }
  *out = SPK__PT_STRING;
  return 0;
}

static int push_token(parsed_t *p, int kind, const char *s, size_t len, spk__param_type_t type) {
  if (p->ntoks == MAX_TOKENS) return SPK_EINVAL;
  token_t *t = &p->toks[p->ntoks++];
  t->kind = kind;
  t->s = s;
  t->len = len;
  t->type = type;
  return SPK_OK;
}

static int push_param(parsed_t *p, int kind, const char *name, size_t len,
                      spk__param_type_t type) {
  if (p->nparams == SPK__MAX_PARAMS) return SPK_EINVAL;
  for (size_t i = 0; i < p->nparams; i++)
    if (p->params[i]->len == len && memcmp(p->params[i]->s, name, len) == 0) return SPK_EINVAL;
  if (push_token(p, kind, name, len, type)) return SPK_EINVAL;
  p->params[p->nparams++] = &p->toks[p->ntoks - 1];
  return SPK_OK;
}

/* Split a pattern into static runs and parameters; validates everything syntactic. */
static int parse_pattern(const char *pat, size_t n, parsed_t *p) {
  p->ntoks = 0;
  p->nparams = 0;
  if (n == 0 || pat[0] != '/') return SPK_EINVAL;
  size_t run = 0; /* start of the pending static run */
  size_t i = 0;
  while (i < n) {
    /* pat[i] == '/': a segment starts after it. */
    size_t seg = i + 1, end = seg;
    while (end < n && pat[end] != '/') end++;
    const char *s = pat + seg;
    size_t len = end - seg;
    if (len && (s[0] == '{' || s[0] == ':')) {
      const char *name;
      size_t name_len;
      spk__param_type_t type = SPK__PT_STRING;
      if (s[0] == '{') {
        if (len < 2 || s[len - 1] != '}') return SPK_EINVAL; /* unclosed, or {x}.json */
        const char *in = s + 1;
        size_t in_len = len - 2;
        const char *colon = memchr(in, ':', in_len);
        name = in;
        name_len = colon ? (size_t)(colon - in) : in_len;
        if (colon) {
          const char *ty = colon + 1;
          size_t ty_len = in_len - name_len - 1;
          if (ty_len == 0) return SPK_EINVAL;
          for (size_t k = 0; k < ty_len; k++)
            if (!is_type_char((unsigned char)ty[k])) return SPK_EINVAL;
          (void)spk__param_type_from_name(ty, ty_len, &type);
        }
        if (name_len == 0) return SPK_EINVAL;
        for (size_t k = 0; k < name_len; k++)
          if (!is_brace_name_char((unsigned char)name[k])) return SPK_EINVAL;
      } else {
        name = s + 1;
        name_len = len - 1;
        if (name_len == 0) return SPK_EINVAL;
        for (size_t k = 0; k < name_len; k++)
          if (!is_colon_name_char((unsigned char)name[k])) return SPK_EINVAL;
      }
      if (type == SPK__PT_PATH && end != n) return SPK_EINVAL; /* catch-all must be last */
      /* The static run up to and including this segment's '/'. */
      if (push_token(p, TOK_STATIC, pat + run, seg - run, SPK__PT_STRING)) return SPK_EINVAL;
      int rc = push_param(p, type == SPK__PT_PATH ? TOK_CATCHALL : TOK_PARAM, name, name_len,
                          type);
      if (rc) return rc;
      run = end;
    } else {
      for (size_t k = 0; k < len; k++)
        if (!is_static_char((unsigned char)s[k])) return SPK_EINVAL;
    }
    i = end;
  }
  if (run < n && push_token(p, TOK_STATIC, pat + run, n - run, SPK__PT_STRING)) return SPK_EINVAL;
  return SPK_OK;
}

static int valid_method(const char *m, size_t len) {
  if (len == 0) return 0;
  for (size_t i = 0; i < len; i++)
    if (!spk__is_tchar((unsigned char)m[i])) return 0;
  return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* Nodes                                                                                      */

static node_t *node_new(int kind, node_t *parent) {
  node_t *n = spk__calloc(1, sizeof(*n));
  if (!n) return NULL;
  n->kind = kind;
  n->parent = parent;
  return n;
}

/* Free one node's own storage (not its children; routes are owned by the router). */
static void node_free_fields(node_t *n) {
  spk__free(n->prefix);
  spk__free(n->name);
  spk__free(n->indices);
  spk__free(n->children);
  spk__free(n->eps);
  spk__free(n->allow);
}

static void node_free_one(node_t *n) {
  node_free_fields(n);
  spk__free(n);
}

/* Detach and return one child of n, or NULL when it has none. */
static node_t *node_pop_child(node_t *n) {
  node_t *c;
  if (n->nchildren) {
    c = n->children[--n->nchildren];
  } else if (n->param) {
    c = n->param;
    n->param = NULL;
  } else if (n->catchall) {
    c = n->catchall;
    n->catchall = NULL;
  } else {
    return NULL;
  }
  return c;
}

/* Free every node below `top` without recursion: descend to a leaf, free it, climb back. */
static void free_descendants(node_t *top) {
  node_t *n = top;
  for (;;) {
    node_t *c = node_pop_child(n);
    if (c) {
      n = c;
      continue;
    }
    if (n == top) return;
    node_t *p = n->parent;
    node_free_one(n);
    n = p;
  }
}

static long find_index(const node_t *n, char c) {
  if (!n->nchildren) return -1;
  const char *hit = memchr(n->indices, c, n->nchildren);
  return hit ? (long)(hit - n->indices) : -1;
}

/* Append a static child; the arrays are grown exactly (trees are built once). */
static int add_static_child(node_t *n, node_t *c) {
  char *idx = spk__realloc(n->indices, n->nchildren + 1);
  if (!idx) return SPK_ENOMEM;
  n->indices = idx;
  node_t **ch = spk__realloc(n->children, (n->nchildren + 1) * sizeof(*ch));
  if (!ch) return SPK_ENOMEM;
  n->children = ch;
  n->indices[n->nchildren] = c->prefix[0];
  n->children[n->nchildren] = c;
  n->nchildren++;
  return SPK_OK;
}

static node_t *new_static(node_t *parent, const char *s, size_t len) {
  node_t *c = node_new(NODE_STATIC, parent);
  if (!c) return NULL;
  c->prefix = spk__strndup(s, len);
  if (!c->prefix) {
    spk__free(c);
    return NULL;
  }
  c->prefix_len = len;
  return c;
}

/* Split parent->children[i] after `at` bytes of its prefix: a new node with the common part
 * takes its place and adopts the old node (which keeps its own children untouched). */
static node_t *split_child(node_t *parent, size_t i, size_t at) {
  node_t *old = parent->children[i];
  node_t *up = new_static(parent, old->prefix, at);
  if (!up) return NULL;
  up->indices = spk__malloc(1);
  up->children = spk__malloc(sizeof(*up->children));
  if (!up->indices || !up->children) {
    node_free_one(up);
    return NULL;
  }
  memmove(old->prefix, old->prefix + at, old->prefix_len - at + 1);
  old->prefix_len -= at;
  old->parent = up;
  up->indices[0] = old->prefix[0];
  up->children[0] = old;
  up->nchildren = 1;
  parent->children[i] = up;
  return up;
}

/* Walk/extend the static children of n with s[0..len); returns the node that ends there.
 * On ENOMEM returns NULL and *last is the deepest node reached (for pruning). */
static node_t *insert_static(node_t *n, const char *s, size_t len, node_t **last) {
  while (len) {
    *last = n;
    long i = find_index(n, s[0]);
    if (i < 0) {
      node_t *c = new_static(n, s, len);
      if (!c) return NULL;
      if (add_static_child(n, c)) {
        node_free_one(c);
        return NULL;
      }
      return c;
    }
    node_t *c = n->children[i];
    size_t k = 1, max = c->prefix_len < len ? c->prefix_len : len;
    while (k < max && c->prefix[k] == s[k]) k++;
    if (k < c->prefix_len) {
      c = split_child(n, (size_t)i, k);
      if (!c) return NULL;
    }
    s += k;
    len -= k;
    n = c;
  }
  return n;
}

static node_t *get_param_child(node_t *n, int catchall, const token_t *t) {
  node_t **slot = catchall ? &n->catchall : &n->param;
  if (*slot) return *slot; /* compatibility already checked */
  node_t *c = node_new(catchall ? NODE_CATCHALL : NODE_PARAM, n);
  if (!c) return NULL;
  c->name = spk__strndup(t->s, t->len);
  if (!c->name) {
    spk__free(c);
    return NULL;
  }
  c->type = t->type;
  *slot = c;
  return c;
}

/* Remove n and its ancestors while they are empty (no endpoint, no child). */
static void prune_up(spk__router_t *r, node_t *n) {
  while (n && n != &r->root && !n->neps && !n->nchildren && !n->param && !n->catchall) {
    node_t *p = n->parent;
    if (p->param == n) {
      p->param = NULL;
    } else if (p->catchall == n) {
      p->catchall = NULL;
    } else {
      for (size_t i = 0; i < p->nchildren; i++) {
        if (p->children[i] == n) {
          memmove(p->children + i, p->children + i + 1, (p->nchildren - i - 1) * sizeof(node_t *));
          memmove(p->indices + i, p->indices + i + 1, p->nchildren - i - 1);
          p->nchildren--;
          break;
        }
      }
    }
    node_free_one(n);
    n = p;
  }
}

/* Read-only dry run of an insertion: SPK_EEXIST when the pattern would conflict. */
static int check_conflicts(const spk__router_t *r, const parsed_t *p, const char *method,
                           size_t method_len) {
  const node_t *n = &r->root;
  for (size_t t = 0; t < p->ntoks; t++) {
    const token_t *tok = &p->toks[t];
    if (tok->kind == TOK_STATIC) {
      const char *s = tok->s;
      size_t len = tok->len;
      while (len) {
        long i = find_index(n, s[0]);
        if (i < 0) return SPK_OK; /* new branch from here on: nothing to conflict with */
        const node_t *c = n->children[i];
        if (c->prefix_len > len || memcmp(c->prefix, s, c->prefix_len) != 0)
          return SPK_OK; /* would split: new branch */
        s += c->prefix_len;
        len -= c->prefix_len;
        n = c;
      }
    } else {
      const node_t *c = tok->kind == TOK_CATCHALL ? n->catchall : n->param;
      if (!c) return SPK_OK;
      if (c->type != tok->type || strlen(c->name) != tok->len ||
          memcmp(c->name, tok->s, tok->len) != 0)
        return SPK_EEXIST;
      n = c;
    }
  }
  for (size_t i = 0; i < n->neps; i++)
    if (!n->eps[i].twin && n->eps[i].method_len == method_len &&
        memcmp(n->eps[i].method, method, method_len) == 0)
      return SPK_EEXIST;
  return SPK_OK;
}

/* ------------------------------------------------------------------------------------------ */
/* Allow strings                                                                              */

static int cmp_cstr(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* "GET, HEAD, OPTIONS, POST" for n's endpoints plus `extra` (may be NULL): sorted, unique,
 * HEAD implied by GET, OPTIONS always present, "*" left out. NULL on ENOMEM. */
static char *build_allow(const node_t *n, const char *extra) {
  size_t cap = n->neps + 3;
  const char **names = spk__malloc(cap * sizeof(*names));
  if (!names) return NULL;
  size_t k = 0;
  int has_get = 0;
  for (size_t i = 0; i <= n->neps; i++) {
    const char *m = i < n->neps ? n->eps[i].method : extra;
    if (!m || strcmp(m, "*") == 0) continue;
    if (strcmp(m, "GET") == 0) has_get = 1;
    names[k++] = m;
  }
  if (has_get) names[k++] = "HEAD";
  names[k++] = "OPTIONS";
  qsort(names, k, sizeof(*names), cmp_cstr);
  spk__buf_t b = {0};
  int rc = SPK_OK;
  for (size_t i = 0; i < k && !rc; i++) {
    if (i && strcmp(names[i], names[i - 1]) == 0) continue;
    if (b.len) rc = spk__buf_append(&b, ", ", 2);
    if (!rc) rc = spk__buf_append_str(&b, names[i]);
  }
  if (!rc) rc = spk__buf_append_char(&b, '\0');
  spk__free(names);
  if (rc) {
    spk__buf_free(&b);
    return NULL;
  }
  return b.data; /* allocated with spk__realloc: ours to spk__free */
}

/* ------------------------------------------------------------------------------------------ */
/* Public: life cycle and registration                                                        */

spk__router_t *spk__router_new(void) {
  spk__router_t *r = spk__calloc(1, sizeof(*r));
  if (!r) return NULL;
  r->root.kind = NODE_STATIC;
  return r;
}

void spk__router_free(spk__router_t *r) {
  if (!r) return;
  free_descendants(&r->root);
  node_free_fields(&r->root);
  for (size_t i = 0; i < r->nroutes; i++) spk__free(r->routes[i]);
  spk__free(r->routes);
  spk__free(r);
}

static route_block_t *route_new(const char *method, size_t method_len, const char *pattern,
                                size_t pattern_len, const parsed_t *p, spk_handler_fn handler,
                                void *user_data) {
  size_t strings = method_len + 1 + pattern_len + 1;
  for (size_t i = 0; i < p->nparams; i++) strings += p->params[i]->len + 1;
  route_block_t *b = spk__malloc(sizeof(*b) + strings);
  if (!b) return NULL;
  memset(b, 0, sizeof(*b));
  char *w = b->strings;
  memcpy(w, method, method_len + 1);
  b->pub.method = w;
  w += method_len + 1;
  memcpy(w, pattern, pattern_len + 1);
  b->pub.pattern = w;
  w += pattern_len + 1;
  for (size_t i = 0; i < p->nparams; i++) {
    memcpy(w, p->params[i]->s, p->params[i]->len);
    w[p->params[i]->len] = '\0';
    b->names[i] = w;
    b->types[i] = p->params[i]->type;
    w += p->params[i]->len + 1;
  }
  b->pub.handler = handler;
  b->pub.user_data = user_data;
  b->pub.param_count = p->nparams;
  b->pub.param_names = b->names;
  b->pub.param_types = b->types;
  return b;
}

int spk__router_add(spk__router_t *r, const char *method, const char *pattern,
                    spk_handler_fn handler, void *user_data) {
  if (!r || !method || !pattern) return SPK_EINVAL;
  if (r->frozen) return SPK_EFROZEN;
  size_t method_len = strlen(method), pattern_len = strlen(pattern);
  if (!valid_method(method, method_len)) return SPK_EINVAL;
  parsed_t p;
  int rc = parse_pattern(pattern, pattern_len, &p);
  if (rc) return rc;
  rc = check_conflicts(r, &p, method, method_len);
  if (rc) return rc;

  /* Everything that can fail except the tree insertion itself is allocated up front. */
  if (r->nroutes == r->routes_cap) {
    size_t cap = r->routes_cap ? r->routes_cap * 2 : 16;
    route_block_t **rs = spk__realloc(r->routes, cap * sizeof(*rs));
    if (!rs) return SPK_ENOMEM;
    r->routes = rs;
    r->routes_cap = cap;
  }
  route_block_t *b = route_new(method, method_len, pattern, pattern_len, &p, handler, user_data);
  if (!b) return SPK_ENOMEM;

  node_t *n = &r->root, *last = n;
  for (size_t t = 0; t < p.ntoks && n; t++) {
    const token_t *tok = &p.toks[t];
    last = n;
    if (tok->kind == TOK_STATIC)
      n = insert_static(n, tok->s, tok->len, &last);
    else
      n = get_param_child(n, tok->kind == TOK_CATCHALL, tok);
  }
  /* The trailing-slash twin: a pattern that does not end in '/' (and is not a catch-all, which
   * takes the slash as data) is also reachable at its own path + "/", as a real static node,
   * so that the twin takes part in the static > param > catch-all priority like any route. */
  node_t *twin = NULL;
  int want_twin = n && pattern[pattern_len - 1] != '/' && n->kind != NODE_CATCHALL;
  if (want_twin) {
    last = n;
    twin = insert_static(n, "/", 1, &last);
  }
  char *allow = NULL, *twin_allow = NULL;
  int ok = n && (!want_twin || twin);
  if (ok) {
    endpoint_t *eps = spk__realloc(n->eps, (n->neps + 1) * sizeof(*eps));
    if (eps) n->eps = eps; /* neps unchanged until commit: extra room is harmless */
    ok = eps != NULL;
  }
  if (ok && twin) {
    endpoint_t *eps = spk__realloc(twin->eps, (twin->neps + 1) * sizeof(*eps));
    if (eps) twin->eps = eps;
    ok = eps != NULL;
  }
  if (ok) ok = (allow = build_allow(n, b->pub.method)) != NULL;
  if (ok && twin) ok = (twin_allow = build_allow(twin, b->pub.method)) != NULL;
  if (!ok) {
    spk__free(allow);
    spk__free(twin_allow);
    spk__free(b);
    prune_up(r, twin ? twin : n ? n : last);
    return SPK_ENOMEM;
  }
  n->eps[n->neps++] = (endpoint_t){b->pub.method, method_len, &b->pub, 0};
  spk__free(n->allow);
  n->allow = allow;
  if (twin) {
    twin->eps[twin->neps++] = (endpoint_t){b->pub.method, method_len, &b->pub, 1};
    spk__free(twin->allow);
    twin->allow = twin_allow;
  }
  r->routes[r->nroutes++] = b;
  return SPK_OK;
}

int spk__router_freeze(spk__router_t *r) {
  if (!r) return SPK_EINVAL;
  /* Allow strings are already maintained per registration; freezing only forbids further
   * mutation so that readers on other threads can never observe a change. */
  r->frozen = 1;
  return SPK_OK;
}

size_t spk__router_route_count(const spk__router_t *r) { return r ? r->nroutes : 0; }

const spk__route_t *spk__router_route_at(const spk__router_t *r, size_t i) {
  return r && i < r->nroutes ? &r->routes[i]->pub : NULL;
}

/* ------------------------------------------------------------------------------------------ */
/* Matching                                                                                   */

/* Find the first terminal node (static > param > catch-all, depth first) whose patterns cover
 * path[0..len) exactly. Parameter values go to vals; *np gets their count. */
static const node_t *lookup(const node_t *root, const char *path, size_t len, spk_str_t *vals,
                            size_t *np_out) {
  const node_t *n = root; /* entered: path[0..pos) consumed up to and including n */
  size_t pos = 0, np = 0;
  int next = NODE_STATIC; /* the next kind of child of n to try */
  for (;;) {
    if (pos == len) {
      if (n->neps) {
        *np_out = np;
        return n;
      }
      next = NODE_CATCHALL + 1; /* every child needs at least one more byte */
    }
    const node_t *c;
    if (next == NODE_STATIC) {
      next = NODE_PARAM;
      long i = find_index(n, path[pos]);
      if (i >= 0) {
        c = n->children[i];
        if (c->prefix_len <= len - pos && memcmp(c->prefix, path + pos, c->prefix_len) == 0) {
          pos += c->prefix_len;
          n = c;
          next = NODE_STATIC;
        }
      }
      continue;
    }
    if (next == NODE_PARAM) {
      next = NODE_CATCHALL;
      c = n->param;
      if (c && path[pos] != '/' && np < SPK__MAX_PARAMS) {
        const char *slash = memchr(path + pos, '/', len - pos);
        size_t end = slash ? (size_t)(slash - path) : len;
        vals[np].ptr = path + pos;
        vals[np].len = end - pos;
        np++;
        pos = end;
        n = c;
        next = NODE_STATIC;
      }
      continue;
    }
    if (next == NODE_CATCHALL) {
      next = NODE_CATCHALL + 1;
      c = n->catchall;
      if (c && np < SPK__MAX_PARAMS) {
        vals[np].ptr = path + pos;
        vals[np].len = len - pos;
        np++;
        pos = len;
        n = c;
        next = NODE_STATIC;
      }
      continue;
    }
    /* n is exhausted: give back what it consumed and resume at its parent. */
    if (!n->parent) return NULL;
    if (n->kind == NODE_STATIC) {
      pos -= n->prefix_len;
    } else {
      np--;
      pos = (size_t)(vals[np].ptr - path);
    }
    next = n->kind + 1;
    n = n->parent;
  }
}

static int method_is(const char *m, size_t len, const char *lit, size_t lit_len) {
  return len == lit_len && memcmp(m, lit, len) == 0;
}

/* The endpoint of n serving `method`, most specific first: the exact method, then GET for
 * HEAD, then "*"; at each level an endpoint of a pattern declared for this very path beats a
 * trailing-slash twin. */
static const endpoint_t *dispatch(const node_t *n, const char *method, size_t method_len) {
  const endpoint_t *best = NULL;
  int best_rank = 6;
  int is_head = method_is(method, method_len, "HEAD", 4);
  for (size_t i = 0; i < n->neps; i++) {
    const endpoint_t *e = &n->eps[i];
    int rank;
    if (e->method_len == method_len && memcmp(e->method, method, method_len) == 0)
      rank = 0;
    else if (is_head && method_is(e->method, e->method_len, "GET", 3))
      rank = 2;
    else if (method_is(e->method, e->method_len, "*", 1))
      rank = 4;
    else
      continue;
    rank += e->twin;
    if (rank == 0) return e;
    if (rank < best_rank) {
      best_rank = rank;
      best = e;
    }
  }
  return best;
}

void spk__router_match(const spk__router_t *r, const char *method, size_t method_len,
                       const char *path, size_t path_len, spk__route_match_t *m) {
  m->status = SPK__MATCH_NOT_FOUND;
  m->route = NULL;
  m->param_count = 0;
  m->allow = NULL;
  if (!r || !path || !path_len) return;
  size_t np = 0;
  const node_t *hit = lookup(&r->root, path, path_len, m->values, &np);
  if (!hit) return;
  const endpoint_t *e = dispatch(hit, method, method_len);
  if (e) {
    m->status = SPK__MATCH_FOUND;
    m->route = e->route;
    m->param_count = np;
    return;
  }
  m->status = method_is(method, method_len, "OPTIONS", 7) ? SPK__MATCH_OPTIONS
                                                          : SPK__MATCH_METHOD_NOT_ALLOWED;
  m->allow = hit->allow;
}
