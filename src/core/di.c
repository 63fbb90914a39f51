/* Dependency injection: providers (app-owned), plans (per route or hook: the dependency closure
 * in topological batches, compiled at freeze), and per-request resolution that may suspend on
 * async factories and resumes through the pipeline's continue.
 *
 * Concurrency: plans and providers are read-only after freeze, except a singleton's cache,
 * which has its own mutex (first use resolves it; requests arriving meanwhile wait in its
 * waiter list). A factory's completion may come from any thread: it only stores the value and
 * decrements the request's `outstanding` counter; whoever brings it to zero continues the
 * pipeline. The launcher holds one count while it launches a batch, so a batch resolved
 * synchronously never suspends. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/app_internal.h"
#include "core/di_internal.h"
#include "core/exchange.h"
#include "core/mw.h"
#include "util/alloc.h"

typedef struct waiter {
  spk__exchange_t *ex;
  struct waiter *next;
} waiter_t;

typedef struct provider {
  char *name;
  spk_dep_factory_fn factory;
  void *user_data;
  void *value;
  char **depends_on; /* NULL-terminated */
  spk_dep_scope_t scope;
  spk_dep_drop_fn drop;
  void *drop_data;
  /* singleton cache */
  pthread_mutex_t mu;
  int s_state; /* 0 none, 1 resolving, 2 ready */
  void *s_value;
  waiter_t *waiters;
} provider_t;

struct spk__di {
  provider_t **p;
  size_t n, cap;
};

typedef struct plan_node {
  provider_t *p;
  size_t batch;
} plan_node_t;

struct spk__di_plan {
  plan_node_t *nodes; /* topological order, batch by batch */
  size_t n;
  size_t nbatches;
  provider_t **owned; /* route overrides (owned by the plan) */
  size_t nowned;
  /* a plan that cannot work answers this 500 */
  int error; /* 0, 1 missing, 2 cycle */
  char *error_body;
};

/* ---- per request ---- */

enum { E_PENDING = 0, E_DONE = 1, E_FAILED = 2 };

struct spk_dep {
  spk__exchange_t *ex;
  provider_t *p;
  atomic_int state; /* E_* */
  atomic_int completed;
  void *value;
  int singleton;
  char reason[160]; /* spk_dep_fail's reason */
};

typedef struct di_entry {
  provider_t *p;
  const struct spk__di_plan *plan; /* transient: the plan that owns this value; else NULL */
  struct spk_dep *dep;
} di_entry_t;

struct spk__di_req {
  di_entry_t *e;
  size_t n, cap;
  atomic_int outstanding;
  atomic_int failed;
  _Atomic(struct spk_dep *) failed_dep; /* the first failure, for the 503 body */
};

/* ---- registration ---- */

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = spk__malloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

static void provider_free(provider_t *p) {
  if (!p) return;
  if (p->drop) {
    if (!p->factory && p->value) p->drop(p->value, p->drop_data);
    if (p->factory && p->s_state == 2) p->drop(p->s_value, p->drop_data);
  }
  if (p->depends_on)
    for (char **d = p->depends_on; *d; d++) spk__free(*d);
  spk__free(p->depends_on);
  spk__free(p->name);
  pthread_mutex_destroy(&p->mu);
  spk__free(p);
}

static provider_t *provider_new(const spk_dep_def_t *def) {
  provider_t *p = spk__calloc(1, sizeof(*p));
  if (!p) return NULL;
  pthread_mutex_init(&p->mu, NULL);
  p->name = dup_str(def->name);
  size_t nd = 0;
  while (def->depends_on && def->depends_on[nd]) nd++;
  p->depends_on = spk__calloc(nd + 1, sizeof(char *));
  if (!p->name || !p->depends_on) goto fail;
  for (size_t i = 0; i < nd; i++)
    if (!(p->depends_on[i] = dup_str(def->depends_on[i]))) goto fail;
  p->factory = def->factory;
  p->user_data = def->user_data;
  p->value = def->value;
  p->scope = def->factory ? def->scope : SPK_DEP_SINGLETON;
  p->drop = def->drop;
  p->drop_data = def->drop_data;
  return p;
fail:
  provider_free(p);
  return NULL;
}

SPK_EXTERN int spk_app_provide(spk_app_t *app, const spk_dep_def_t *def) {
  if (!app || !def || !def->name || !def->name[0]) return SPK_EINVAL;
  if ((unsigned)def->scope > SPK_DEP_TRANSIENT) return SPK_EINVAL;
  if (app->frozen) return SPK_EFROZEN;
  if (!app->di && !(app->di = spk__calloc(1, sizeof(*app->di)))) return SPK_ENOMEM;
  struct spk__di *di = app->di;
  provider_t *p = provider_new(def);
  if (!p) return SPK_ENOMEM;
  for (size_t i = 0; i < di->n; i++)
    if (strcmp(di->p[i]->name, def->name) == 0) {
      provider_free(di->p[i]);
      di->p[i] = p;
      return SPK_OK;
    }
  if (di->n == di->cap) {
    size_t cap = di->cap ? di->cap * 2 : 8;
    provider_t **np = spk__realloc(di->p, cap * sizeof(*np));
    if (!np) {
      provider_free(p);
      return SPK_ENOMEM;
    }
    di->p = np;
    di->cap = cap;
  }
  di->p[di->n++] = p;
  return SPK_OK;
}

void spk__di_free(struct spk__di *di) {
  if (!di) return;
  for (size_t i = 0; i < di->n; i++) provider_free(di->p[i]);
  spk__free(di->p);
  spk__free(di);
}

spk__dep_list_t *spk__dep_list_copy(const char *const *names, const struct spk_dep_def *overrides,
                                    size_t override_count) {
  /* One allocation: the struct, the name pointers, the override defs, then the strings. The
   * overrides' depends_on arrays are copied too: the caller's memory may be gone by freeze. */
  size_t nn = 0, bytes = 0, ndeps = 0;
  while (names && names[nn]) bytes += strlen(names[nn++]) + 1;
  for (size_t i = 0; i < override_count; i++) {
    if (!overrides[i].name) return NULL;
    bytes += strlen(overrides[i].name) + 1;
    for (size_t k = 0; overrides[i].depends_on && overrides[i].depends_on[k]; k++, ndeps++)
      bytes += strlen(overrides[i].depends_on[k]) + 1;
    ndeps++; /* terminator */
  }
  size_t head = sizeof(spk__dep_list_t) + (nn + 1) * sizeof(char *) +
                override_count * sizeof(spk_dep_def_t) + ndeps * sizeof(char *);
  char *mem = spk__calloc(1, head + bytes);
  if (!mem) return NULL;
  spk__dep_list_t *l = (spk__dep_list_t *)(void *)mem;
  const char **np = (const char **)(void *)(mem + sizeof(*l));
  spk_dep_def_t *defs = (spk_dep_def_t *)(void *)(np + nn + 1);
  const char **dp = (const char **)(void *)(defs + override_count);
  char *str = mem + head;
#define COPY(dst, src)               \
  do {                               \
    size_t len_ = strlen(src) + 1;   \
    memcpy(str, src, len_);          \
    dst = str;                       \
    str += len_;                     \
  } while (0)
  for (size_t i = 0; i < nn; i++) COPY(np[i], names[i]);
  np[nn] = NULL;
  for (size_t i = 0; i < override_count; i++) {
    defs[i] = overrides[i];
    COPY(defs[i].name, overrides[i].name);
    defs[i].depends_on = dp;
    for (size_t k = 0; overrides[i].depends_on && overrides[i].depends_on[k]; k++)
      COPY(*dp++, overrides[i].depends_on[k]);
    *dp++ = NULL;
  }
#undef COPY
  l->names = np;
  l->overrides = defs;
  l->override_count = override_count;
  return l;
}

/* ---- plans ---- */

static provider_t *find_provider(const spk_app_t *app, provider_t **owned, size_t nowned,
                                 const char *name) {
  for (size_t i = 0; i < nowned; i++)
    if (strcmp(owned[i]->name, name) == 0) return owned[i];
  const struct spk__di *di = app->di;
  for (size_t i = 0; di && i < di->n; i++)
    if (strcmp(di->p[i]->name, name) == 0) return di->p[i];
  return NULL;
}

/* Problem body for a plan that cannot resolve (JSON-escaped names: they are registration-time
 * identifiers, but may contain anything). */
static void json_str(spk__buf_t *b, const char *s) {
  spk__buf_append_char(b, '"');
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if (c == '"' || c == '\\') {
      spk__buf_append_char(b, '\\');
      spk__buf_append_char(b, (char)c);
    } else if (c < 0x20) {
      char esc[8];
      snprintf(esc, sizeof(esc), "\\u%04x", c);
      spk__buf_append_str(b, esc);
    } else {
      spk__buf_append_char(b, (char)c);
    }
  }
  spk__buf_append_char(b, '"');
}

static char *error_body(const char *detail, const char *type, const char *msg_prefix,
                        const char *key, const char *const *cycle, size_t ncycle) {
  spk__buf_t b = {0};
  spk__buf_append_str(&b, "{\"type\":\"https://spikard.dev/errors/dependency-error\","
                          "\"title\":\"Dependency Resolution Failed\",\"status\":500,"
                          "\"detail\":");
  json_str(&b, detail);
  spk__buf_append_str(&b, ",\"errors\":[{\"type\":");
  json_str(&b, type);
  spk__buf_append_str(&b, ",\"msg\":");
  if (key) {
    spk__buf_t m = {0};
    spk__buf_append_str(&m, "Dependency '");
    spk__buf_append_str(&m, key);
    spk__buf_append_str(&m, msg_prefix);
    spk__buf_append_char(&m, '\0');
    json_str(&b, m.data ? m.data : "");
    spk__buf_free(&m);
    spk__buf_append_str(&b, ",\"dependency_key\":");
    json_str(&b, key);
  } else {
    json_str(&b, msg_prefix);
    spk__buf_append_str(&b, ",\"cycle\":[");
    for (size_t i = 0; i < ncycle; i++) {
      if (i) spk__buf_append_char(&b, ',');
      json_str(&b, cycle[i]);
    }
    spk__buf_append_char(&b, ']');
  }
  spk__buf_append_str(&b, "}]}");
  if (spk__buf_append_char(&b, '\0') != SPK_OK) {
    spk__buf_free(&b);
    return NULL;
  }
  return b.data;
}

/* Depth-first visit for the closure, cycle detection and batch numbers (batch = 1 + the
 * largest batch of its dependencies). */
typedef struct visit {
  const spk_app_t *app;
  struct spk__di_plan *plan;
  provider_t **stack;
  size_t depth;
  int *mark; /* per node index: 0 new, 1 on stack, 2 done */
  size_t cap;
  const char *missing;
  const char **cycle;
  size_t ncycle;
} visit_t;

static long node_index(const struct spk__di_plan *pl, const provider_t *p) {
  for (size_t i = 0; i < pl->n; i++)
    if (pl->nodes[i].p == p) return (long)i;
  return -1;
}

static int visit(visit_t *v, provider_t *p, size_t *batch_out) {
  struct spk__di_plan *pl = v->plan;
  for (size_t i = 0; i < v->depth; i++)
    if (v->stack[i] == p) {
      /* A cycle: stack[i..] + p. */
      v->ncycle = v->depth - i + 1;
      v->cycle = spk__calloc(v->ncycle, sizeof(char *));
      if (!v->cycle) return SPK_ENOMEM;
      for (size_t k = i; k < v->depth; k++) v->cycle[k - i] = v->stack[k]->name;
      v->cycle[v->ncycle - 1] = p->name;
      return 1;
    }
  long idx = node_index(pl, p);
  if (idx >= 0) {
    *batch_out = pl->nodes[idx].batch;
    return 0;
  }
  if (v->depth == v->cap) return SPK_ENOMEM; /* deeper than the number of providers: a bug */
  v->stack[v->depth++] = p;
  size_t batch = 0;
  for (char **d = p->depends_on; d && *d; d++) {
    provider_t *q = find_provider(v->app, pl->owned, pl->nowned, *d);
    if (!q) {
      v->missing = *d;
      return 1;
    }
    size_t b;
    int rc = visit(v, q, &b);
    if (rc) return rc;
    if (b + 1 > batch) batch = b + 1;
  }
  v->depth--;
  pl->nodes[pl->n].p = p;
  pl->nodes[pl->n].batch = batch;
  pl->n++;
  if (batch + 1 > pl->nbatches) pl->nbatches = batch + 1;
  *batch_out = batch;
  return 0;
}

/* Insertion sort by batch: stable (keeps the depth-first order inside a batch, so resolution
 * order is deterministic) and plans are small. */
static void sort_by_batch(plan_node_t *n, size_t count) {
  for (size_t i = 1; i < count; i++) {
    plan_node_t x = n[i];
    size_t j = i;
    for (; j > 0 && n[j - 1].batch > x.batch; j--) n[j] = n[j - 1];
    n[j] = x;
  }
}

int spk__di_plan_new(spk_app_t *app, const char *const *names, const spk_dep_def_t *overrides,
                     size_t override_count, struct spk__di_plan **out, char *err, size_t errlen) {
  *out = NULL;
  struct spk__di_plan *pl = spk__calloc(1, sizeof(*pl));
  if (!pl) return SPK_ENOMEM;
  int rc = SPK_ENOMEM;
  size_t total = (app->di ? app->di->n : 0) + override_count + 1;
  visit_t v = {0};
  pl->owned = spk__calloc(override_count + 1, sizeof(*pl->owned));
  pl->nodes = spk__calloc(total, sizeof(*pl->nodes));
  v.stack = spk__calloc(total, sizeof(*v.stack));
  if (!pl->owned || !pl->nodes || !v.stack) goto done;
  for (size_t i = 0; i < override_count; i++) {
    if (!(pl->owned[i] = provider_new(&overrides[i]))) goto done;
    pl->nowned++;
  }
  v.app = app;
  v.plan = pl;
  v.cap = total;
  rc = SPK_OK;
  for (size_t i = 0; names && names[i] && rc == 0; i++) {
    provider_t *p = find_provider(app, pl->owned, pl->nowned, names[i]);
    size_t b;
    if (!p) {
      v.missing = names[i];
      rc = 1;
    } else {
      rc = visit(&v, p, &b);
    }
  }
  if (rc < 0) goto done;
  if (rc == 1) {
    rc = SPK_OK;
    if (v.missing) {
      pl->error = 1;
      pl->error_body = error_body("Required dependency not found", "missing_dependency",
                                  "' is not registered", v.missing, NULL, 0);
      snprintf(err, errlen, "dependency '%s' is not registered", v.missing);
    } else {
      pl->error = 2;
      pl->error_body =
          error_body("Circular dependency detected", "circular_dependency",
                     "Circular dependency detected in dependency graph", NULL, v.cycle, v.ncycle);
      snprintf(err, errlen, "circular dependency through '%s'", v.cycle[0]);
    }
    if (!pl->error_body) rc = SPK_ENOMEM;
    goto done;
  }
  sort_by_batch(pl->nodes, pl->n);
done:
  spk__free(v.stack);
  spk__free(v.cycle);
  if (rc != SPK_OK) {
    spk__di_plan_free(pl);
    return rc;
  }
  *out = pl;
  return SPK_OK;
}

void spk__di_plan_free(struct spk__di_plan *pl) {
  if (!pl) return;
  for (size_t i = 0; i < pl->nowned; i++) provider_free(pl->owned[i]);
  spk__free(pl->owned);
  spk__free(pl->nodes);
  spk__free(pl->error_body);
  spk__free(pl);
}

/* ---- resolution ---- */

static void release_one(spk__exchange_t *ex) {
  if (atomic_fetch_sub(&ex->di->outstanding, 1) == 1) spk__exchange_continue(ex);
}

SPK_EXTERN int spk_dep_resolve(spk_dep_t *dep, void *value) {
  if (!dep) return SPK_EINVAL;
  int expected = 0;
  if (!atomic_compare_exchange_strong(&dep->completed, &expected, 1)) return SPK_ESTATE;
  dep->value = value;
  provider_t *p = dep->p;
  if (dep->singleton) {
    pthread_mutex_lock(&p->mu);
    p->s_value = value;
    p->s_state = 2;
    waiter_t *w = p->waiters;
    p->waiters = NULL;
    pthread_mutex_unlock(&p->mu);
    while (w) {
      waiter_t *next = w->next;
      release_one(w->ex);
      w = next;
    }
  }
  atomic_store(&dep->state, E_DONE);
  release_one(dep->ex);
  return SPK_OK;
}

SPK_EXTERN int spk_dep_fail(spk_dep_t *dep, const char *reason) {
  if (!dep) return SPK_EINVAL;
  int expected = 0;
  if (!atomic_compare_exchange_strong(&dep->completed, &expected, 1)) return SPK_ESTATE;
  snprintf(dep->reason, sizeof(dep->reason), "%s",
           reason && reason[0] ? reason : "Dependency factory failed");
  struct spk_dep *none = NULL;
  atomic_compare_exchange_strong(&dep->ex->di->failed_dep, &none, dep);
  provider_t *p = dep->p;
  if (dep->singleton) {
    pthread_mutex_lock(&p->mu);
    p->s_state = 0; /* the next request tries again */
    waiter_t *w = p->waiters;
    p->waiters = NULL;
    pthread_mutex_unlock(&p->mu);
    while (w) {
      waiter_t *next = w->next;
      atomic_store(&w->ex->di->failed, 1);
      release_one(w->ex);
      w = next;
    }
  }
  atomic_store(&dep->state, E_FAILED);
  atomic_store(&dep->ex->di->failed, 1);
  release_one(dep->ex);
  return SPK_OK;
}

SPK_EXTERN const char *spk_dep_name(const spk_dep_t *dep) { return dep ? dep->p->name : ""; }

static di_entry_t *find_entry(struct spk__di_req *r, const provider_t *p,
                              const struct spk__di_plan *plan) {
  for (size_t i = 0; i < r->n; i++)
    if (r->e[i].p == p && r->e[i].plan == plan) return &r->e[i];
  return NULL;
}

SPK_EXTERN int spk_req_dep(const spk_req_t *req, const char *name, void **value) {
  if (!req || !name || !value) return SPK_EINVAL;
  const spk__exchange_t *ex = spk__exchange_of_req(req);
  const struct spk__di_req *r = ex->di;
  /* The latest resolution of that name: the handler's plan resolves last. */
  for (size_t i = r ? r->n : 0; i-- > 0;) {
    const di_entry_t *e = &r->e[i];
    if (strcmp(e->p->name, name) == 0 && atomic_load(&e->dep->state) == E_DONE) {
      *value = e->dep->value;
      return SPK_OK;
    }
  }
  return SPK_ENOENT;
}

static void respond_error(spk__exchange_t *ex, int status, const char *body) {
  spk_res_t *res = &ex->res;
  res->header_count = 0;
  if (body) {
    spk_res_send(res, status, "application/json", body, strlen(body));
  } else {
    /* A factory failed: 503 naming it, with its reason. */
    const struct spk_dep *d = ex->di ? atomic_load(&ex->di->failed_dep) : NULL;
    spk__buf_t b = {0};
    spk__buf_append_str(&b, "{\"type\":\"https://spikard.dev/errors/dependency-error\","
                            "\"title\":\"Service Unavailable\",\"status\":503,\"detail\":"
                            "\"Dependency resolution failed\",\"errors\":[{\"type\":"
                            "\"resolution_failed\",\"msg\":");
    json_str(&b, d ? d->reason : "Dependency resolution failed");
    if (d) {
      spk__buf_append_str(&b, ",\"dependency_key\":");
      json_str(&b, d->p->name);
    }
    spk__buf_append_str(&b, "}]}");
    if (b.data) spk_res_send(res, status, "application/json", b.data, b.len);
    else spk__exchange_error(ex, 503, "Dependency resolution failed");
    spk__buf_free(&b);
  }
  ex->origin = SPK__ORIGIN_ERROR;
}

static di_entry_t *new_entry(spk__exchange_t *ex, provider_t *p,
                             const struct spk__di_plan *plan) {
  struct spk__di_req *r = ex->di;
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 8;
    di_entry_t *e = spk__arena_alloc(&ex->arena, cap * sizeof(*e));
    if (!e) return NULL;
    if (r->n) memcpy(e, r->e, r->n * sizeof(*e));
    r->e = e;
    r->cap = cap;
  }
  struct spk_dep *d = spk__arena_calloc(&ex->arena, sizeof(*d));
  if (!d) return NULL;
  d->ex = ex;
  d->p = p;
  atomic_init(&d->state, E_PENDING);
  atomic_init(&d->completed, 0);
  di_entry_t *e = &r->e[r->n++];
  e->p = p;
  e->plan = p->scope == SPK_DEP_TRANSIENT ? plan : NULL;
  e->dep = d;
  return e;
}

/* Start one node. Returns SPK_OK or SPK_ENOMEM. Counts itself in `outstanding` when async. */
static int launch(spk__exchange_t *ex, provider_t *p, const struct spk__di_plan *plan) {
  struct spk__di_req *r = ex->di;
  if (!p->factory) { /* a plain value */
    di_entry_t *e = new_entry(ex, p, NULL);
    if (!e) return SPK_ENOMEM;
    e->dep->value = p->value;
    atomic_store(&e->dep->completed, 1);
    atomic_store(&e->dep->state, E_DONE);
    return SPK_OK;
  }
  int singleton = p->scope == SPK_DEP_SINGLETON;
  if (singleton) {
    pthread_mutex_lock(&p->mu);
    if (p->s_state == 2) {
      void *v = p->s_value;
      pthread_mutex_unlock(&p->mu);
      di_entry_t *e = new_entry(ex, p, NULL);
      if (!e) return SPK_ENOMEM;
      e->dep->value = v;
      atomic_store(&e->dep->completed, 1);
      atomic_store(&e->dep->state, E_DONE);
      e->dep->singleton = 2; /* shared: never dropped per request */
      return SPK_OK;
    }
    if (p->s_state == 1) { /* someone else resolves it: wait, then look again */
      waiter_t *w = spk__arena_alloc(&ex->arena, sizeof(*w));
      if (!w) {
        pthread_mutex_unlock(&p->mu);
        return SPK_ENOMEM;
      }
      w->ex = ex;
      w->next = p->waiters;
      p->waiters = w;
      atomic_fetch_add(&r->outstanding, 1);
      pthread_mutex_unlock(&p->mu);
      return SPK_OK;
    }
    p->s_state = 1;
    pthread_mutex_unlock(&p->mu);
  }
  di_entry_t *e = new_entry(ex, p, plan);
  if (!e) {
    if (singleton) {
      pthread_mutex_lock(&p->mu);
      p->s_state = 0;
      pthread_mutex_unlock(&p->mu);
    }
    return SPK_ENOMEM;
  }
  struct spk_dep *d = e->dep;
  d->singleton = singleton;
  atomic_fetch_add(&r->outstanding, 1);
  int rc = p->factory(&ex->req, d, p->user_data);
  if (rc < 0) {
    char why[128];
    snprintf(why, sizeof(why), "Dependency '%s' failed: %s", p->name, spk_strerror(rc));
    spk_dep_fail(d, why); /* no-op (ESTATE) if it had already completed */
  } else if (rc == SPK_DEP_DONE && !atomic_load(&d->completed)) {
    spk_dep_fail(d, "Dependency factory returned without a value");
  }
  return SPK_OK;
}

/* Done for this request (singletons: resolved by anyone and cached). */
static int node_done(spk__exchange_t *ex, provider_t *p, const struct spk__di_plan *plan) {
  di_entry_t *e = find_entry(ex->di, p, p->scope == SPK_DEP_TRANSIENT ? plan : NULL);
  return e && atomic_load(&e->dep->state) == E_DONE;
}

static int node_started(spk__exchange_t *ex, provider_t *p, const struct spk__di_plan *plan) {
  return find_entry(ex->di, p, p->scope == SPK_DEP_TRANSIENT ? plan : NULL) != NULL;
}

int spk__di_resolve(spk__exchange_t *ex, const struct spk__di_plan *plan) {
  if (plan->error) {
    respond_error(ex, 500, plan->error_body);
    return SPK__STEP_RESPOND;
  }
  if (!ex->di) {
    ex->di = spk__arena_calloc(&ex->arena, sizeof(*ex->di));
    if (!ex->di) goto oom;
    atomic_init(&ex->di->outstanding, 0);
    atomic_init(&ex->di->failed, 0);
    atomic_init(&ex->di->failed_dep, NULL);
  }
  struct spk__di_req *r = ex->di;
  size_t i = 0;
  for (size_t b = 0; b < plan->nbatches; b++) {
    size_t end = i;
    while (end < plan->n && plan->nodes[end].batch == b) end++;
    /* The launcher's own count: nothing can reach zero while we launch. */
    atomic_store(&r->outstanding, 1);
    for (size_t k = i; k < end; k++) {
      provider_t *p = plan->nodes[k].p;
      if (atomic_load(&r->failed)) break;
      if (node_done(ex, p, plan)) continue;
      if (p->scope == SPK_DEP_SINGLETON && node_started(ex, p, plan)) continue; /* in flight */
      if (launch(ex, p, plan) != SPK_OK) {
        atomic_store(&r->failed, 1);
        break;
      }
    }
    if (atomic_fetch_sub(&r->outstanding, 1) != 1) return SPK__STEP_ASYNC;
    if (atomic_load(&r->failed)) {
      respond_error(ex, 503, NULL);
      return SPK__STEP_RESPOND;
    }
    /* Waiters on a singleton come back here: launch() finds it ready now. */
    for (size_t k = i; k < end; k++)
      if (!node_done(ex, plan->nodes[k].p, plan)) {
        b--; /* run this batch again */
        end = i;
        break;
      }
    i = end;
  }
  return SPK__STEP_NEXT;
oom:
  spk__exchange_error(ex, 500, "Internal server error");
  return SPK__STEP_RESPOND;
}

void spk__di_request_end(spk__exchange_t *ex) {
  struct spk__di_req *r = ex->di;
  for (size_t i = r->n; i-- > 0;) {
    di_entry_t *e = &r->e[i];
    provider_t *p = e->p;
    if (!p->factory || p->scope == SPK_DEP_SINGLETON || !p->drop) continue;
    if (atomic_load(&e->dep->state) == E_DONE) p->drop(e->dep->value, p->drop_data);
  }
  ex->di = NULL;
}
