/* Dependency injection from JS over the core's container (include/spikard/di.h).
 *
 * A provider is an entry of the JS dispatch table: the core calls spkn_dep_factory on the
 * connection's thread; on the JS thread the dispatcher is called at once, elsewhere the
 * resolution is handed over through the app's threadsafe function (SPKN_KIND_DEP). JS answers
 * with depResolve/depFail. Values are JS objects ({v, gen?, cleanup?}, built by lib/di.js) held
 * by a napi_ref in a spkn_dval_t; the core owns that pointer and drops it: request/transient
 * values after the response (the JS cleanup runs, then the reference goes, on the JS thread),
 * singletons and plain values with the app (the reference only: no JS runs while an app is
 * being finalized). */
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "spikard/di.h"
#include "spikard/hooks.h"

typedef struct spkn_dval {
  napi_env env;
  napi_ref ref;
} spkn_dval_t;

/* A resolution in progress (the threadsafe function's item, then the JS handle's data). */
typedef struct spkn_depcall {
  int kind; /* SPKN_KIND_DEP, first like every threadsafe function item */
  spkn_route_t *slot;
  spk_req_t *req;
  spk_dep_t *dep; /* NULL once settled */
} spkn_depcall_t;

/* A cleanup to run on the JS thread. */
typedef struct spkn_depdrop {
  int kind; /* SPKN_KIND_DROP */
  spkn_route_t *slot;
  spkn_dval_t *val;
} spkn_depdrop_t;

static int on_js_thread(spkn_app_t *a) { return pthread_equal(pthread_self(), a->js_thread); }

static void dval_free(spkn_dval_t *d) {
  if (!d) return;
  if (d->ref) napi_delete_reference(d->env, d->ref);
  free(d);
}

/* Singletons and plain values, dropped with the app (JS thread, possibly in a finalizer). */
static void dval_release(void *value, void *drop_data) {
  spkn_app_t *a = drop_data;
  if (on_js_thread(a)) dval_free(value);
  /* elsewhere the reference cannot be touched: left to the environment */
}

static void call_cleanup(napi_env env, spkn_route_t *slot, spkn_dval_t *val) {
  napi_handle_scope hs;
  napi_value fn, argv[3], undef, ret;
  if (napi_open_handle_scope(env, &hs) != napi_ok) return;
  if (napi_get_reference_value(env, slot->app->dispatch, &fn) == napi_ok &&
      napi_get_reference_value(env, val->ref, &argv[1]) == napi_ok && argv[1]) {
    napi_get_undefined(env, &undef);
    napi_create_uint32(env, slot->index, &argv[0]);
    napi_get_null(env, &argv[2]);
    if (napi_call_function(env, undef, fn, 3, argv, &ret) != napi_ok) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
    }
  }
  napi_close_handle_scope(env, hs);
}

/* Request and transient values: after the response, the JS cleanup (generator or `cleanup`). */
static void dval_drop(void *value, void *drop_data) {
  spkn_route_t *slot = drop_data;
  spkn_app_t *a = slot->app;
  spkn_dval_t *val = value;
  if (!val) return;
  if (on_js_thread(a)) {
    if (!a->dying && !spkn_env_closing(a->env)) call_cleanup(a->env, slot, val);
    dval_free(val);
    return;
  }
  spkn_depdrop_t *d = calloc(1, sizeof(*d));
  if (!d) return;
  d->kind = SPKN_KIND_DROP;
  d->slot = slot;
  d->val = val;
  if (!a->tsfn || napi_call_threadsafe_function(a->tsfn, d, napi_tsfn_blocking) != napi_ok)
    free(d); /* shutting down: the value is left to the environment */
}

static void depcall_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  spkn_depcall_t *c = data;
  if (c->dep) spk_dep_fail(c->dep, "the dependency factory never answered");
  free(c);
}

/* dispatch(providerIndex, request, depHandle); the handle owns `c` from then on. -1: `c` was
 * freed (the resolution failed before JS saw it). */
static int dispatch(napi_env env, napi_value fn, spkn_depcall_t *c) {
  napi_value argv[3], undef, ret;
  napi_get_undefined(env, &undef);
  argv[1] = spkn_build_request(env, c->req);
  if (!argv[1] || napi_create_uint32(env, c->slot->index, &argv[0]) != napi_ok ||
      spkn_wrap(env, c, depcall_finalize, &argv[2]) != napi_ok) {
    spk_dep_fail(c->dep, "could not build the request object");
    free(c);
    return -1;
  }
  if (napi_call_function(env, undef, fn, 3, argv, &ret) != napi_ok) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    if (c->dep) {
      spk_dep_t *dep = c->dep;
      c->dep = NULL;
      spk_dep_fail(dep, "the dependency dispatcher threw");
    }
  }
  return 0;
}

static int dep_factory(spk_req_t *req, spk_dep_t *dep, void *user_data) {
  spkn_route_t *slot = user_data;
  spkn_app_t *a = slot->app;
  spkn_depcall_t *c = calloc(1, sizeof(*c));
  if (!c) return SPK_ENOMEM;
  c->kind = SPKN_KIND_DEP;
  c->slot = slot;
  c->req = req;
  c->dep = dep;
  if (on_js_thread(a)) {
    napi_env env = a->env;
    napi_handle_scope hs;
    napi_value fn;
    if (napi_open_handle_scope(env, &hs) != napi_ok) {
      free(c);
      return SPK_ENOMEM;
    }
    int settled = 1;
    if (napi_get_reference_value(env, a->dispatch, &fn) != napi_ok) {
      free(c);
      spk_dep_fail(dep, "dispatcher");
    } else if (dispatch(env, fn, c) == 0) {
      settled = c->dep == NULL; /* `c` belongs to its JS handle, alive within this scope */
    }
    napi_close_handle_scope(env, hs);
    return settled ? SPK_DEP_DONE : SPK_DEP_ASYNC;
  }
  if (!a->tsfn || napi_call_threadsafe_function(a->tsfn, c, napi_tsfn_blocking) != napi_ok) {
    free(c);
    spk_dep_fail(dep, "the JavaScript environment is shutting down");
  }
  return SPK_DEP_ASYNC;
}

/* The threadsafe function's half (request.c routes SPKN_KIND_DEP/DROP items here). */
void spkn_di_call_js(napi_env env, napi_value js_cb, void *data) {
  if (*(int *)data == SPKN_KIND_DROP) {
    spkn_depdrop_t *d = data;
    if (env && !d->slot->app->dying) call_cleanup(env, d->slot, d->val);
    if (env) dval_free(d->val);
    free(d);
    return;
  }
  spkn_depcall_t *c = data;
  if (!env) {
    spk_dep_fail(c->dep, "the JavaScript environment is shutting down");
    free(c);
    return;
  }
  napi_handle_scope hs;
  if (napi_open_handle_scope(env, &hs) != napi_ok) {
    spk_dep_fail(c->dep, "handle scope");
    free(c);
    return;
  }
  dispatch(env, js_cb, c);
  napi_close_handle_scope(env, hs);
}

static char *dup_str(napi_env env, napi_value v) {
  size_t len = 0;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_string ||
      napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok)
    return NULL;
  char *p = malloc(len + 1);
  if (p) napi_get_value_string_utf8(env, v, p, len + 1, &len);
  return p;
}

/* A NULL-terminated copy of a JS string array (NULL for undefined/empty). *bad on errors. */
static char **names_of(napi_env env, napi_value arr, int *bad) {
  bool is_arr = false;
  uint32_t n = 0;
  if (!arr || napi_is_array(env, arr, &is_arr) != napi_ok || !is_arr) return NULL;
  napi_get_array_length(env, arr, &n);
  if (n == 0 || n > 4096) {
    if (n) *bad = 1;
    return NULL;
  }
  char **out = calloc(n + 1, sizeof(char *));
  if (!out) {
    *bad = 1;
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_get_element(env, arr, i, &e);
    if (!(out[i] = dup_str(env, e))) *bad = 1;
  }
  return out;
}

static void names_free(char **names) {
  for (size_t i = 0; names && names[i]; i++) free(names[i]);
  free(names);
}

static napi_value prop(napi_env env, napi_value o, const char *key) {
  napi_value v = NULL;
  if (napi_get_named_property(env, o, key, &v) != napi_ok) return NULL;
  return v;
}

/* A provider definition from JS {name, index, dependsOn, scope, factory: bool, value}. The
 * strings stay in *name / *deps for the caller to free (the core copies them). */
static int def_from(napi_env env, spkn_app_t *a, napi_value desc, spk_dep_def_t *d, char **name,
                    char ***deps) {
  int bad = 0;
  memset(d, 0, sizeof(*d));
  *name = NULL;
  *deps = NULL;
  napi_valuetype t;
  if (napi_typeof(env, desc, &t) != napi_ok || t != napi_object) return -1;
  napi_value nv = prop(env, desc, "name");
  if (!nv || !(*name = dup_str(env, nv)) || !**name) return -1;
  d->name = *name;
  bool factory = false;
  uint32_t scope = 0, index = 0;
  napi_get_value_bool(env, prop(env, desc, "factory"), &factory);
  napi_get_value_uint32(env, prop(env, desc, "scope"), &scope);
  if (scope > 2) return -1;
  spkn_dval_t *val = NULL;
  if (!factory) {
    napi_value v = prop(env, desc, "value");
    if (!v || !(val = calloc(1, sizeof(*val)))) return -1;
    val->env = env;
    if (napi_create_reference(env, v, 1, &val->ref) != napi_ok) {
      free(val);
      return -1;
    }
    d->value = val;
    d->drop = dval_release;
    d->drop_data = a;
    return 0;
  }
  if (napi_get_value_uint32(env, prop(env, desc, "index"), &index) != napi_ok) return -1;
  *deps = names_of(env, prop(env, desc, "dependsOn"), &bad);
  if (bad) return -1;
  spkn_route_t *slot = spkn_app_new_slot(a, index);
  if (!slot) return -1;
  d->factory = dep_factory;
  d->user_data = slot;
  d->depends_on = (const char *const *)*deps;
  d->scope = (spk_dep_scope_t)scope;
  d->drop = scope == SPK_DEP_SINGLETON ? dval_release : dval_drop;
  d->drop_data = scope == SPK_DEP_SINGLETON ? (void *)a : (void *)slot;
  return 0;
}

/* A plain value's definition failed after its reference was made. */
static void def_undo(spk_dep_def_t *d) {
  if (!d->factory) dval_free(d->value);
}

/* provide(app, {name, index, dependsOn, scope, factory, value}) */
static napi_value js_provide(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_app_t *a = argc >= 1 ? spkn_unwrap(env, argv[0], "provide: not an app handle") : NULL;
  if (!a) return NULL;
  spk_dep_def_t d;
  char *name = NULL, **deps = NULL;
  if (argc < 2 || def_from(env, a, argv[1], &d, &name, &deps) != 0) {
    free(name);
    names_free(deps);
    napi_throw_type_error(env, NULL, "provide: a name and a value or factory are required");
    return NULL;
  }
  int rc = spk_app_provide(a->app, &d);
  if (rc != SPK_OK) {
    def_undo(&d);
    napi_throw_error(env, spk_err_name(rc), spk_strerror(rc));
  }
  free(name);
  names_free(deps);
  return NULL;
}

struct spkn_di_route {
  char **deps;
  spk_dep_def_t *defs;
  char **names;
  char ***dep_names;
  uint32_t n;
};

/* Route options `dependencies` (string array) and `overrides` (array of provider
 * definitions): filled into `o`, owned by the returned holder (spkn_di_route_free after the
 * route was registered, which copies them). NULL and nothing set without either; *bad when
 * they are malformed. */
spkn_di_route_t *spkn_di_route_options(napi_env env, spkn_app_t *a, napi_value opts,
                                       spk_route_options_t *o, int *bad) {
  napi_value deps = prop(env, opts, "dependencies"), over = prop(env, opts, "overrides");
  bool is_arr = false;
  uint32_t n = 0;
  if (over && napi_is_array(env, over, &is_arr) == napi_ok && is_arr)
    napi_get_array_length(env, over, &n);
  char **names = names_of(env, deps, bad);
  if (!names && n == 0) return NULL;
  spkn_di_route_t *r = calloc(1, sizeof(*r));
  if (!r) {
    names_free(names);
    *bad = 1;
    return NULL;
  }
  r->deps = names;
  if (n) {
    r->defs = calloc(n, sizeof(*r->defs));
    r->names = calloc(n, sizeof(char *));
    r->dep_names = calloc(n, sizeof(char **));
    if (!r->defs || !r->names || !r->dep_names) {
      *bad = 1;
      return r;
    }
    for (uint32_t i = 0; i < n; i++) {
      napi_value e;
      napi_get_element(env, over, i, &e);
      if (def_from(env, a, e, &r->defs[i], &r->names[i], &r->dep_names[i]) != 0) {
        free(r->names[i]);
        names_free(r->dep_names[i]);
        r->names[i] = NULL;
        r->dep_names[i] = NULL;
        *bad = 1;
        return r;
      }
      r->n = i + 1;
    }
  }
  o->dependencies = (const char *const *)r->deps;
  o->overrides = r->defs;
  o->override_count = r->n;
  return r;
}

void spkn_di_route_free(spkn_di_route_t *r, int registered) {
  if (!r) return;
  names_free(r->deps);
  for (uint32_t i = 0; i < r->n; i++) {
    if (!registered) def_undo(&r->defs[i]);
    free(r->names[i]);
    names_free(r->dep_names[i]);
  }
  free(r->defs);
  free(r->names);
  free(r->dep_names);
  free(r);
}

static spkn_depcall_t *unwrap_dep(napi_env env, napi_value v) {
  return spkn_unwrap(env, v, "not a dependency handle");
}

static napi_value dep_value(napi_env env, const spk_req_t *req, napi_value namev) {
  char name[256];
  size_t len = 0;
  void *v = NULL;
  napi_value out;
  napi_get_undefined(env, &out);
  if (napi_get_value_string_utf8(env, namev, name, sizeof(name), &len) != napi_ok) return out;
  if (spk_req_dep(req, name, &v) != SPK_OK || !v) return out;
  spkn_dval_t *val = v;
  napi_value got;
  if (napi_get_reference_value(env, val->ref, &got) == napi_ok && got) return got;
  return out;
}

/* depGet(depHandle, name) → the stored value object of a dependency the factory depends on */
static napi_value js_dep_get(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_depcall_t *c = argc >= 2 ? unwrap_dep(env, argv[0]) : NULL;
  if (!c) return NULL;
  if (!c->dep) {
    napi_throw_error(env, "SPK_ESTATE", "depGet: the resolution is over");
    return NULL;
  }
  return dep_value(env, c->req, argv[1]);
}

/* reqDep(responseHandle, name) → the stored value object of a resolved dependency */
static napi_value js_req_dep(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spk_req_t *req = argc >= 2 ? spkn_handle_req(env, argv[0], NULL) : NULL;
  if (!req) return NULL;
  return dep_value(env, req, argv[1]);
}

/* depResolve(depHandle, valueObject) → bool */
static napi_value js_dep_resolve(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], ret;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_depcall_t *c = argc >= 2 ? unwrap_dep(env, argv[0]) : NULL;
  if (!c) return NULL;
  int ok = 0;
  if (c->dep) {
    spk_dep_t *dep = c->dep;
    c->dep = NULL;
    spkn_dval_t *val = calloc(1, sizeof(*val));
    if (!val || napi_create_reference(env, argv[1], 1, &val->ref) != napi_ok) {
      free(val);
      spk_dep_fail(dep, "out of memory");
    } else {
      val->env = env;
      if (spk_dep_resolve(dep, val) == SPK_OK) ok = 1;
      else dval_free(val);
    }
  }
  napi_get_boolean(env, ok, &ret);
  return ret;
}

/* depFail(depHandle, reason) → bool: the request is answered 503 */
static napi_value js_dep_fail(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], ret;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_depcall_t *c = argc >= 1 ? unwrap_dep(env, argv[0]) : NULL;
  if (!c) return NULL;
  int ok = 0;
  if (c->dep) {
    char why[256] = "";
    size_t len = 0;
    if (argc >= 2) napi_get_value_string_utf8(env, argv[1], why, sizeof(why), &len);
    spk_dep_t *dep = c->dep;
    c->dep = NULL;
    ok = spk_dep_fail(dep, why) == SPK_OK;
  }
  napi_get_boolean(env, ok, &ret);
  return ret;
}

/* addHookDeps(app, phase 0..2, index, [names]): a request-phase hook whose dependencies the
 * core resolves before it runs (readable with reqDep). */
static napi_value js_add_hook_deps(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_app_t *a = argc >= 1 ? spkn_unwrap(env, argv[0], "addHookDeps: not an app handle") : NULL;
  if (!a) return NULL;
  uint32_t phase = 99, index = 0;
  int bad = 0;
  if (argc < 4 || napi_get_value_uint32(env, argv[1], &phase) != napi_ok || phase > 2 ||
      napi_get_value_uint32(env, argv[2], &index) != napi_ok) {
    napi_throw_type_error(env, NULL, "addHookDeps(app, phase 0..2, index, names)");
    return NULL;
  }
  char **names = names_of(env, argv[3], &bad);
  spkn_route_t *r = bad ? NULL : spkn_app_new_slot(a, index);
  if (!r) {
    names_free(names);
    napi_throw_type_error(env, NULL, "addHookDeps: dependency names must be strings");
    return NULL;
  }
  int rc = spk_app_add_hook_ex(a->app, (spk_hook_phase_t)phase, spkn_hook_handler, r,
                               (const char *const *)names);
  names_free(names);
  if (rc != SPK_OK) napi_throw_error(env, spk_err_name(rc), spk_strerror(rc));
  return NULL;
}

napi_status spkn_init_di(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
      {"provide", NULL, js_provide, NULL, NULL, NULL, napi_enumerable, NULL},
      {"depGet", NULL, js_dep_get, NULL, NULL, NULL, napi_enumerable, NULL},
      {"reqDep", NULL, js_req_dep, NULL, NULL, NULL, napi_enumerable, NULL},
      {"depResolve", NULL, js_dep_resolve, NULL, NULL, NULL, napi_enumerable, NULL},
      {"depFail", NULL, js_dep_fail, NULL, NULL, NULL, napi_enumerable, NULL},
      {"addHookDeps", NULL, js_add_hook_deps, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof(d) / sizeof(d[0]), d);
}
