/* The app handle: creation, routes with their contracts, middleware configuration. */
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "spikard/hooks.h"
#include "spikard/middleware.h"

static const napi_type_tag spkn_tag = {0x5b1cad0e11a54f3aULL, 0x9d2f3c4b5a697887ULL};

int spkn_check(napi_env env, napi_status st, const char *what) {
  if (st == napi_ok) return 0;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (!pending) napi_throw_error(env, NULL, what);
  return 1;
}

void *spkn_unwrap(napi_env env, napi_value v, const char *what) {
  bool ok = false;
  void *p = NULL;
  if (napi_check_object_type_tag(env, v, &spkn_tag, &ok) != napi_ok || !ok ||
      napi_get_value_external(env, v, &p) != napi_ok || !p) {
    napi_throw_type_error(env, NULL, what);
    return NULL;
  }
  return p;
}

/* An external carrying the addon's tag, so that handles cannot be confused with user values. */
napi_status spkn_wrap(napi_env env, void *p, napi_finalize fin, napi_value *out) {
  napi_status st = napi_create_external(env, p, fin, NULL, out);
  if (st != napi_ok) return st;
  return napi_type_tag_object(env, *out, &spkn_tag);
}

static void app_destroy(spkn_app_t *a) {
  if (a->dispatch) napi_delete_reference(a->env, a->dispatch);
  for (size_t i = 0; i < a->route_count; i++) free(a->routes[i]);
  free(a->routes);
  spk_app_free(a->app);
  free(a);
}

/* With a threadsafe function the memory goes in its finalizer (tsfn_finalize), which Node runs
 * after the aborted queue has been drained. */
static void app_free(spkn_app_t *a) {
  if (a->tsfn) {
    a->dying = 1;
    napi_release_threadsafe_function(a->tsfn, napi_tsfn_abort);
    return;
  }
  app_destroy(a);
}

void spkn_app_unuse(spkn_app_t *a) {
  if (--a->users == 0) app_free(a);
}

static void app_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  spkn_app_unuse(data);
}

/* Node destroys threadsafe functions itself when the environment is torn down, possibly before
 * the app's own finalizer runs: forget it then, never release it twice. */
static void tsfn_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  spkn_app_t *a = data;
  a->tsfn = NULL;
  if (a->dying) app_destroy(a);
}

napi_status spkn_app_ensure_tsfn(napi_env env, spkn_app_t *a) {
  if (a->tsfn) return napi_ok;
  napi_value fn, name;
  napi_status st = napi_get_reference_value(env, a->dispatch, &fn);
  if (st != napi_ok) return st;
  napi_create_string_utf8(env, "spikard.dispatch", NAPI_AUTO_LENGTH, &name);
  st = napi_create_threadsafe_function(env, fn, NULL, name, 0, 1, a, tsfn_finalize, a, spkn_call_js,
                                       &a->tsfn);
  if (st != napi_ok) return st;
  /* Only running servers keep the process alive; a test client's async work does for itself. */
  return napi_unref_threadsafe_function(env, a->tsfn);
}

void spkn_app_ref_loop(napi_env env, spkn_app_t *a, int delta) {
  int before = a->tsfn_refs;
  a->tsfn_refs += delta;
  if (!a->tsfn) return;
  if (before == 0 && a->tsfn_refs > 0) napi_ref_threadsafe_function(env, a->tsfn);
  if (before > 0 && a->tsfn_refs == 0) napi_unref_threadsafe_function(env, a->tsfn);
}

/* createApp(dispatch) → handle */
static napi_value js_create_app(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  napi_valuetype t;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "createApp(dispatch): a function is required");
    return NULL;
  }
  spkn_app_t *a = calloc(1, sizeof(*a));
  if (!a || !(a->app = spk_app_new())) {
    free(a);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  a->users = 1;
  a->env = env;
  a->js_thread = pthread_self();
  if (napi_create_reference(env, argv[0], 1, &a->dispatch) != napi_ok ||
      spkn_wrap(env, a, app_finalize, &out) != napi_ok) {
    app_free(a);
    spkn_check(env, napi_generic_failure, "createApp failed");
    return NULL;
  }
  return out;
}

/* A JS string argument as a malloc'd C string (NULL for undefined/null). *bad on errors. */
static char *opt_string(napi_env env, napi_value v, int *bad) {
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok) {
    *bad = 1;
    return NULL;
  }
  if (t == napi_undefined || t == napi_null) return NULL;
  size_t len = 0;
  if (t != napi_string || napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    *bad = 1;
    return NULL;
  }
  char *s = malloc(len + 1);
  if (!s || napi_get_value_string_utf8(env, v, s, len + 1, &len) != napi_ok) {
    free(s);
    *bad = 1;
    return NULL;
  }
  return s;
}

static char *prop_string(napi_env env, napi_value obj, const char *key, int *bad) {
  napi_value v;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok) {
    *bad = 1;
    return NULL;
  }
  return opt_string(env, v, bad);
}

static int add_route_slot(spkn_app_t *a, spkn_route_t *r) {
  if (a->route_count == a->route_cap) {
    size_t cap = a->route_cap ? a->route_cap * 2 : 16;
    spkn_route_t **p = realloc(a->routes, cap * sizeof(*p));
    if (!p) return -1;
    a->routes = p;
    a->route_cap = cap;
  }
  a->routes[a->route_count++] = r;
  return 0;
}

/* addRoute(app, method, pattern, index, options|null): options carry JSON text
 * {parameters, body_schema, response_schema, middleware} and max_body_bytes. Throws with the
 * core's reason when the route or its contracts are rejected. */
static napi_value js_add_route(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  if (argc < 4) {
    napi_throw_type_error(env, NULL, "addRoute(app, method, pattern, index, options)");
    return NULL;
  }
  spkn_app_t *a = spkn_unwrap(env, argv[0], "addRoute: not an app handle");
  if (!a) return NULL;
  int bad = 0;
  char *method = opt_string(env, argv[1], &bad);
  char *pattern = opt_string(env, argv[2], &bad);
  uint32_t index = 0;
  if (napi_get_value_uint32(env, argv[3], &index) != napi_ok) bad = 1;
  spk_route_options_t o;
  memset(&o, 0, sizeof(o));
  char *params = NULL, *body = NULL, *resp = NULL, *mw = NULL;
  int has_opts = 0;
  napi_valuetype t = napi_undefined;
  if (argc >= 5) napi_typeof(env, argv[4], &t);
  if (t == napi_object) {
    has_opts = 1;
    params = prop_string(env, argv[4], "parameters", &bad);
    body = prop_string(env, argv[4], "body_schema", &bad);
    resp = prop_string(env, argv[4], "response_schema", &bad);
    mw = prop_string(env, argv[4], "middleware", &bad);
    napi_value v;
    double max = 0;
    if (napi_get_named_property(env, argv[4], "max_body_bytes", &v) == napi_ok &&
        napi_get_value_double(env, v, &max) == napi_ok && max > 0)
      o.max_body_bytes = (size_t)max;
    o.parameters = params;
    o.body_schema = body;
    o.response_schema = resp;
    o.middleware = mw;
  }
  napi_value ret = NULL;
  spkn_route_t *r = NULL;
  spkn_di_route_t *di = has_opts ? spkn_di_route_options(env, a, argv[4], &o, &bad) : NULL;
  int rc = SPK_EINVAL;
  if (bad || !method || !pattern) {
    napi_throw_type_error(env, NULL, "addRoute: method and pattern must be strings");
    goto done;
  }
  r = calloc(1, sizeof(*r));
  if (!r || add_route_slot(a, r) != 0) {
    free(r);
    napi_throw_error(env, NULL, "out of memory");
    goto done;
  }
  r->app = a;
  r->index = index;
  rc = has_opts ? spk_app_route_ex(a->app, method, pattern, spkn_route_handler, r, &o)
                    : spk_app_route(a->app, method, pattern, spkn_route_handler, r);
  if (rc != SPK_OK) {
    const char *why = spk_app_last_error(a->app);
    napi_throw_error(env, spk_err_name(rc), why && *why ? why : spk_strerror(rc));
  }
done:
  spkn_di_route_free(di, rc == SPK_OK);
  free(method);
  free(pattern);
  free(params);
  free(body);
  free(resp);
  free(mw);
  return ret;
}

spkn_route_t *spkn_app_new_slot(spkn_app_t *a, uint32_t index) {
  spkn_route_t *r = calloc(1, sizeof(*r));
  if (!r || add_route_slot(a, r) != 0) {
    free(r);
    return NULL;
  }
  r->app = a;
  r->index = index;
  return r;
}

/* addHook(app, phase, index): a request-phase hook (on_request 0, pre_validation 1,
 * pre_handler 2) dispatched to JS like a route, as entry `index` of the JS table. */
static napi_value js_add_hook(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_app_t *a = argc >= 1 ? spkn_unwrap(env, argv[0], "addHook: not an app handle") : NULL;
  if (!a) return NULL;
  uint32_t phase = 99, index = 0;
  if (argc < 3 || napi_get_value_uint32(env, argv[1], &phase) != napi_ok || phase > 2 ||
      napi_get_value_uint32(env, argv[2], &index) != napi_ok) {
    napi_throw_type_error(env, NULL, "addHook(app, phase 0..2, index)");
    return NULL;
  }
  spkn_route_t *r = spkn_app_new_slot(a, index);
  if (!r) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  int rc = spk_app_add_hook(a->app, (spk_hook_phase_t)phase, spkn_hook_handler, r);
  if (rc != SPK_OK) napi_throw_error(env, spk_err_name(rc), spk_strerror(rc));
  return NULL;
}

/* configure(app, jsonText): spk_app_configure (docs/middleware.md). */
static napi_value js_configure(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_app_t *a = argc >= 1 ? spkn_unwrap(env, argv[0], "configure: not an app handle") : NULL;
  if (!a) return NULL;
  int bad = 0;
  char *json = argc >= 2 ? opt_string(env, argv[1], &bad) : NULL;
  if (bad || !json) {
    free(json);
    napi_throw_type_error(env, NULL, "configure(app, json): JSON text required");
    return NULL;
  }
  int rc = spk_app_configure(a->app, json);
  free(json);
  if (rc != SPK_OK) {
    const char *why = spk_app_last_error(a->app);
    napi_throw_error(env, spk_err_name(rc), why && *why ? why : spk_strerror(rc));
  }
  return NULL;
}

/* setLimits(app, {max_request_line, max_header_count, max_header_bytes, max_body_bytes,
 * header_timeout_ms, body_timeout_ms, keepalive_timeout_ms}): absent keys keep their value. */
static napi_value js_set_limits(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_app_t *a = argc >= 1 ? spkn_unwrap(env, argv[0], "setLimits: not an app handle") : NULL;
  if (!a) return NULL;
  napi_valuetype t = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &t);
  if (t != napi_object) {
    napi_throw_type_error(env, NULL, "setLimits(app, limits): an object is required");
    return NULL;
  }
  spk_limits_t lim = *spk_app_limits(a->app);
  static const char *const keys[] = {"max_request_line", "max_header_count", "max_header_bytes",
                                     "max_body_bytes", "header_timeout_ms", "body_timeout_ms",
                                     "keepalive_timeout_ms"};
  for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
    napi_value v;
    double d;
    bool has = false;
    if (napi_has_named_property(env, argv[1], keys[i], &has) != napi_ok || !has) continue;
    if (napi_get_named_property(env, argv[1], keys[i], &v) != napi_ok ||
        napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > 4294967295.0) {
      napi_throw_range_error(env, NULL, "setLimits: values must be non-negative numbers");
      return NULL;
    }
    switch (i) {
    case 0: lim.max_request_line = (size_t)d; break;
    case 1: lim.max_header_count = (size_t)d; break;
    case 2: lim.max_header_bytes = (size_t)d; break;
    case 3: lim.max_body_bytes = (size_t)d; break;
    case 4: lim.header_timeout_ms = (uint32_t)d; break;
    case 5: lim.body_timeout_ms = (uint32_t)d; break;
    default: lim.keepalive_timeout_ms = (uint32_t)d; break;
    }
  }
  int rc = spk_app_set_limits(a->app, &lim);
  if (rc != SPK_OK) napi_throw_error(env, spk_err_name(rc), spk_strerror(rc));
  return NULL;
}

static napi_value js_version(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value v;
  napi_create_string_utf8(env, spk_version(), NAPI_AUTO_LENGTH, &v);
  return v;
}

napi_status spkn_init_app(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
      {"createApp", NULL, js_create_app, NULL, NULL, NULL, napi_enumerable, NULL},
      {"addRoute", NULL, js_add_route, NULL, NULL, NULL, napi_enumerable, NULL},
      {"addHook", NULL, js_add_hook, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setLimits", NULL, js_set_limits, NULL, NULL, NULL, napi_enumerable, NULL},
      {"configure", NULL, js_configure, NULL, NULL, NULL, napi_enumerable, NULL},
      {"version", NULL, js_version, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof(d) / sizeof(d[0]), d);
}
