/* Fixture runner — lifecycle hooks and dependencies, played as a binding would.
 *
 * Fixtures name their hooks (`{"name": "security", "handler": "add_security_headers"}`) and
 * factories (`"factory": "create_db_pool"`) instead of shipping code; this file is the runner's
 * library of those named behaviours, written to what the fixtures describe. They are plain
 * users of the public C API (spk_app_add_hook, spk_app_provide): the core decides when they
 * run, in which order, whether a short-circuit skips the rest, and which errors come out — the
 * things the fixtures check. An unknown hook name fails the fixture (never silently ignored). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fx.h"

typedef struct fx_hook {
  const char *name;   /* the fixture's hook name */
  const spk_json_value_t *config;
  fx_fixture_t *fx;
  const char **deps;  /* the hook's declared dependencies (NULL-terminated), may be NULL */
} fx_hook_t;

static void uuid4(char out[37]) {
  unsigned char b[16];
  FILE *f = fopen("/dev/urandom", "rb");
  if (!f || fread(b, 1, sizeof(b), f) != sizeof(b))
    for (size_t i = 0; i < sizeof(b); i++) b[i] = (unsigned char)rand();
  if (f) fclose(f);
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
  snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0],
           b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13],
           b[14], b[15]);
}

static int json_reply(spk_res_t *res, int status, const char *error, const char *message) {
  char body[256];
  int n = snprintf(body, sizeof(body), "{\"error\":\"%s\",\"message\":\"%s\"}", error, message);
  spk_res_send(res, status, "application/json", body, (size_t)n);
  return SPK_HOOK_RESPOND;
}

static int bearer(spk_req_t *req, spk_str_t *token) {
  spk_str_t v;
  if (spk_req_header(req, "authorization", &v) != 0 || v.len <= 7 ||
      strncmp(v.ptr, "Bearer ", 7) != 0)
    return 0;
  *token = (spk_str_t){v.ptr + 7, v.len - 7};
  return 1;
}

static int contains(spk_str_t s, const char *needle) {
  size_t n = strlen(needle);
  for (size_t i = 0; i + n <= s.len; i++)
    if (memcmp(s.ptr + i, needle, n) == 0) return 1;
  return 0;
}

/* ---- request hooks ---- */

static int h_continue(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)res, (void)ud;
  return SPK_HOOK_CONTINUE;
}

static int h_add_request_id(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  char id[37];
  uuid4(id);
  spk_res_set_header(res, "X-Request-ID", id);
  return SPK_HOOK_CONTINUE;
}

static int h_check_rate_limit(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  const fx_hook_t *h = ud;
  const spk_json_value_t *max = fx_get(h->config, "max_requests");
  /* One request per fixture run: only a zero budget refuses it. */
  if (!fx_is(max, SPK_JSON_INT) || max->u.integer > 0) return SPK_HOOK_CONTINUE;
  spk_res_set_header(res, "Retry-After", "60");
  return json_reply(res, 429, "Rate limit exceeded", "Too many requests, please try again later");
}

static int h_require_bearer(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  spk_str_t token;
  if (!bearer(req, &token))
    return json_reply(res, 401, "Unauthorized", "Missing or invalid authentication token");
  if (contains(token, "invalid") || contains(token, "expired"))
    return json_reply(res, 401, "Unauthorized", "Invalid or expired authentication token");
  return SPK_HOOK_CONTINUE;
}

static int admin_only(spk_req_t *req, spk_res_t *res, const char *message) {
  spk_str_t token;
  if (bearer(req, &token) && contains(token, "admin")) return SPK_HOOK_CONTINUE;
  return json_reply(res, 403, "Forbidden", message);
}

static int h_require_admin_role(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  return admin_only(req, res, "Admin role required");
}

static int h_check_admin_role(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  return admin_only(req, res, "Admin role required for this endpoint");
}

/* ---- response hooks ---- */

static int h_security_headers(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  spk_res_set_header(res, "X-Content-Type-Options", "nosniff");
  spk_res_set_header(res, "X-Frame-Options", "DENY");
  spk_res_set_header(res, "X-XSS-Protection", "1; mode=block");
  spk_res_set_header(res, "Strict-Transport-Security", "max-age=31536000; includeSubDomains");
  return SPK_HOOK_CONTINUE;
}

static int h_response_time(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  /* The fixtures check the shape ("<n>ms"); the duration itself is the access log's job. */
  spk_res_set_header(res, "X-Response-Time", "0ms");
  return SPK_HOOK_CONTINUE;
}

static int h_append_hook_name(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  const fx_hook_t *h = ud;
  spk_str_t cur;
  char v[256];
  if (spk_res_get_header(res, "X-Hook-Order", &cur) == 0)
    snprintf(v, sizeof(v), "%.*s,%s", (int)cur.len, cur.ptr, h->name);
  else
    snprintf(v, sizeof(v), "%s", h->name);
  spk_res_set_header(res, "X-Hook-Order", v);
  return SPK_HOOK_CONTINUE;
}

static int h_format_error_as_json(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  const fx_hook_t *h = ud;
  const char *raised = fx_get_str(h->fx->handler, "raises");
  json_reply(res, spk_res_get_status(res), "Internal Server Error",
             raised ? raised : "Internal server error");
  return SPK_HOOK_CONTINUE;
}

/* Every dependency of the hook is a JSON object of header → value: copy them. */
static int h_headers_from_deps(spk_req_t *req, spk_res_t *res, void *ud) {
  fx_hook_t *h = ud;
  for (size_t i = 0; h->deps && h->deps[i]; i++) {
    void *v;
    spk_json_value_t *obj;
    if (spk_req_dep(req, h->deps[i], &v) != 0) return SPK_ENOENT;
    if (spk_json_parse(&h->fx->arena, v, strlen(v), NULL, &obj, NULL) != 0 ||
        obj->type != SPK_JSON_OBJECT)
      return SPK_EINVAL;
    for (size_t k = 0; k < obj->u.object.len; k++)
      if (obj->u.object.members[k].value->type == SPK_JSON_STRING)
        spk_res_set_header(res, obj->u.object.members[k].key.ptr,
                           obj->u.object.members[k].value->u.string.ptr);
  }
  return SPK_HOOK_CONTINUE;
}

/* A background task appending the hook's name to the fixture's state (fx_bg.c), whatever
 * the response: an ON_ERROR hook reporting, an ON_RESPONSE hook auditing. */
static int h_spawn_background(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)res;
  const fx_hook_t *h = ud;
  int rc = fx_bg_spawn_string(h->fx, req, h->name);
  return rc < 0 ? rc : SPK_HOOK_CONTINUE;
}

static const struct {
  const char *handler;
  spk_hook_fn fn;
} library[] = {
    {"spawn_background_task", h_spawn_background},
    {"set_headers_from_dependencies", h_headers_from_deps},
    {"log_request", h_continue},
    {"record_start_time", h_continue},
    {"check_user_permissions", h_continue},
    {"log_successful_action", h_continue},
    {"log_error", h_continue},
    {"append_first", h_continue}, /* execution order is reported in the canned body */
    {"append_second", h_continue},
    {"append_third", h_continue},
    {"add_request_id", h_add_request_id},
    {"check_rate_limit", h_check_rate_limit},
    {"require_bearer_token", h_require_bearer},
    {"validate_auth_token", h_require_bearer},
    {"require_admin_role", h_require_admin_role},
    {"check_admin_role", h_check_admin_role},
    {"add_security_headers", h_security_headers},
    {"add_response_time", h_response_time},
    {"add_timing_header", h_response_time},
    {"append_hook_name", h_append_hook_name},
    {"format_error_as_json", h_format_error_as_json},
};

static const char *const phases[] = {"on_request", "pre_validation", "pre_handler",
                                     "on_response", "on_error"};

int fx_hooks_register(fx_fixture_t *fx, spk_app_t *app, char *err, size_t errlen) {
  const spk_json_value_t *hooks = fx_get(fx_get(fx->handler, "middleware"), "lifecycle_hooks");
  if (!hooks) return 0;
  for (int p = 0; p < 5; p++) {
    const spk_json_value_t *list = fx_get(hooks, phases[p]);
    if (!fx_is(list, SPK_JSON_ARRAY)) continue;
    for (size_t i = 0; i < list->u.array.len; i++) {
      const spk_json_value_t *e = list->u.array.items[i];
      const char *handler = fx_get_str(e, "handler");
      spk_hook_fn fn = NULL;
      for (size_t k = 0; handler && k < sizeof(library) / sizeof(library[0]); k++)
        if (strcmp(library[k].handler, handler) == 0) fn = library[k].fn;
      if (!fn) {
        snprintf(err, errlen, "unknown hook handler '%s' in %s", handler ? handler : "?",
                 phases[p]);
        return -1;
      }
      fx_hook_t *h = spk__arena_calloc(&fx->arena, sizeof(*h));
      if (!h) return -1;
      h->name = fx_get_str(e, "name") ? fx_get_str(e, "name") : handler;
      h->config = fx_get(e, "config");
      h->fx = fx;
      const spk_json_value_t *deps = fx_get(e, "dependencies");
      if (fx_is(deps, SPK_JSON_ARRAY) && deps->u.array.len) {
        h->deps = spk__arena_calloc(&fx->arena, (deps->u.array.len + 1) * sizeof(char *));
        if (!h->deps) return -1;
        for (size_t k = 0; k < deps->u.array.len; k++)
          h->deps[k] = deps->u.array.items[k]->type == SPK_JSON_STRING
                           ? deps->u.array.items[k]->u.string.ptr
                           : "?";
      }
      int rc = spk_app_add_hook_ex(app, (spk_hook_phase_t)p, fn, h, h->deps);
      if (rc) {
        snprintf(err, errlen, "spk_app_add_hook: %s", spk_err_name(rc));
        return -1;
      }
    }
  }
  return 0;
}

/* ---- dependencies ---- */

/* A factory's value: JSON text made up from its name (the handler's canned body does not
 * depend on it). Async factories resolve from another thread after a short delay, like an
 * awaited coroutine would. */
typedef struct fx_factory {
  const char *name;
  int async;
  char value[96];
} fx_factory_t;

typedef struct fx_async {
  spk_dep_t *dep;
  void *value;
} fx_async_t;

static void *resolve_later(void *arg) {
  fx_async_t *a = arg;
  struct timespec ts = {0, 2 * 1000000L};
  nanosleep(&ts, NULL);
  spk_dep_resolve(a->dep, a->value);
  free(a);
  return NULL;
}

static int fx_factory_fn(spk_req_t *req, spk_dep_t *dep, void *ud) {
  (void)req;
  fx_factory_t *f = ud;
  if (!f->async) return spk_dep_resolve(dep, f->value);
  fx_async_t *a = malloc(sizeof(*a));
  if (!a) return SPK_ENOMEM;
  a->dep = dep;
  a->value = f->value;
  pthread_t th;
  if (pthread_create(&th, NULL, resolve_later, a) != 0) {
    free(a);
    return SPK_EIO;
  }
  pthread_detach(th);
  return SPK_DEP_ASYNC;
}

/* A factory that raises "<name> unavailable" (the binding passes the exception's message). */
static int failing_factory(spk_req_t *req, spk_dep_t *dep, void *ud) {
  (void)req, (void)ud;
  char why[128];
  snprintf(why, sizeof(why), "%s unavailable", spk_dep_name(dep));
  spk_dep_fail(dep, why);
  return SPK_DEP_ASYNC; /* already completed: the core goes on */
}

/* Fill a spk_dep_def_t from a fixture definition. */
static int dep_def(fx_fixture_t *fx, const char *name, const spk_json_value_t *d,
                   spk_dep_def_t *out, char *err, size_t errlen) {
  spk__arena_t *a = &fx->arena;
  memset(out, 0, sizeof(*out));
  out->name = name;
  const char *type = fx_get_str(d, "type");
  const spk_json_value_t *deps = fx_get(d, "depends_on");
  if (fx_is(deps, SPK_JSON_ARRAY) && deps->u.array.len) {
    const char **names = spk__arena_calloc(a, (deps->u.array.len + 1) * sizeof(char *));
    if (!names) return -1;
    for (size_t i = 0; i < deps->u.array.len; i++)
      names[i] = deps->u.array.items[i]->type == SPK_JSON_STRING
                     ? deps->u.array.items[i]->u.string.ptr
                     : "?";
    out->depends_on = names;
  }
  if (type && strcmp(type, "value") == 0) {
    out->value = fx_json_text(a, fx_get(d, "value"), NULL);
    return out->value ? 0 : -1;
  }
  if (!type || (strcmp(type, "factory") && strcmp(type, "async_factory"))) {
    snprintf(err, errlen, "dependency '%s': unknown type '%s'", name, type ? type : "?");
    return -1;
  }
  const spk_json_value_t *single = fx_get(d, "singleton"), *cache = fx_get(d, "cacheable");
  out->scope = fx_is(single, SPK_JSON_BOOL) && single->u.boolean ? SPK_DEP_SINGLETON
               : fx_is(cache, SPK_JSON_BOOL) && cache->u.boolean ? SPK_DEP_REQUEST
                                                                 : SPK_DEP_TRANSIENT;
  const char *factory = fx_get_str(d, "factory");
  if (factory && (strstr(factory, "fail") || strstr(factory, "broken"))) {
    out->factory = failing_factory;
    return 0;
  }
  fx_factory_t *f = spk__arena_calloc(a, sizeof(*f));
  if (!f) return -1;
  f->name = name;
  f->async = strcmp(type, "async_factory") == 0;
  snprintf(f->value, sizeof(f->value), "{\"%s\":true}", name);
  out->factory = fx_factory_fn;
  out->user_data = f;
  return fx_bg_wrap_cleanup(fx, d, out); /* "cleanup": true → events in the background state */
}

/* The JSON type name of a dependency value (its JSON text). */
static const char *json_type_of(fx_fixture_t *fx, const char *text) {
  spk_json_value_t *v;
  if (!text || spk_json_parse(&fx->arena, text, strlen(text), NULL, &v, NULL) != 0) return "?";
  switch (v->type) {
    case SPK_JSON_NULL: return "null";
    case SPK_JSON_BOOL: return "boolean";
    case SPK_JSON_INT: return "integer";
    case SPK_JSON_NUMBER: return "number";
    case SPK_JSON_STRING: return "string";
    case SPK_JSON_ARRAY: return "array";
    default: return "object";
  }
}

/* `expected_types`: a binding checks the injected value against the handler's declared type
 * (a Python annotation, a TS type); the runner, as the C binding, does it in a pre-handler
 * hook on the resolved values. */
typedef struct fx_typecheck {
  fx_fixture_t *fx;
  const spk_json_value_t *expected;
} fx_typecheck_t;

static int h_typecheck(spk_req_t *req, spk_res_t *res, void *ud) {
  fx_typecheck_t *t = ud;
  for (size_t i = 0; i < t->expected->u.object.len; i++) {
    const spk_json_member_t *m = &t->expected->u.object.members[i];
    void *v;
    if (m->value->type != SPK_JSON_STRING || spk_req_dep(req, m->key.ptr, &v) != 0) continue;
    const char *actual = json_type_of(t->fx, v);
    if (strcmp(actual, m->value->u.string.ptr) == 0) continue;
    char body[512];
    int n = snprintf(body, sizeof(body),
                     "{\"type\":\"https://spikard.dev/errors/dependency-error\",\"title\":"
                     "\"Dependency Resolution Failed\",\"status\":500,\"detail\":\"Dependency type "
                     "mismatch\",\"errors\":[{\"type\":\"type_mismatch\",\"msg\":\"Dependency '%s' "
                     "type mismatch: expected %s, got %s\",\"dependency_key\":\"%s\","
                     "\"expected_type\":\"%s\",\"actual_type\":\"%s\"}]}",
                     m->key.ptr, m->value->u.string.ptr, actual, m->key.ptr,
                     m->value->u.string.ptr, actual);
    spk_res_send(res, 500, "application/json", body, (size_t)n);
    return SPK_HOOK_RESPOND;
  }
  return SPK_HOOK_CONTINUE;
}

int fx_deps_register(fx_fixture_t *fx, spk_app_t *app, spk_route_options_t *opts, char *err,
                     size_t errlen) {
  spk__arena_t *a = &fx->arena;
  const spk_json_value_t *defs = fx_get(fx->handler, "dependencies");
  if (fx_is(defs, SPK_JSON_OBJECT))
    for (size_t i = 0; i < defs->u.object.len; i++) {
      spk_dep_def_t d;
      const spk_json_member_t *m = &defs->u.object.members[i];
      if (dep_def(fx, m->key.ptr, m->value, &d, err, errlen)) return -1;
      int rc = spk_app_provide(app, &d);
      if (rc) {
        snprintf(err, errlen, "spk_app_provide(%s): %s", m->key.ptr, spk_err_name(rc));
        return -1;
      }
    }
  const spk_json_value_t *over = fx_get(fx->handler, "route_overrides");
  if (fx_is(over, SPK_JSON_OBJECT) && over->u.object.len) {
    spk_dep_def_t *o = spk__arena_calloc(a, over->u.object.len * sizeof(*o));
    if (!o) return -1;
    for (size_t i = 0; i < over->u.object.len; i++)
      if (dep_def(fx, over->u.object.members[i].key.ptr, over->u.object.members[i].value, &o[i],
                  err, errlen))
        return -1;
    opts->overrides = o;
    opts->override_count = over->u.object.len;
  }
  const spk_json_value_t *use = fx_get(fx->handler, "handler_dependencies");
  if (fx_is(use, SPK_JSON_ARRAY) && use->u.array.len) {
    const char **names = spk__arena_calloc(a, (use->u.array.len + 1) * sizeof(char *));
    if (!names) return -1;
    for (size_t i = 0; i < use->u.array.len; i++)
      names[i] = use->u.array.items[i]->type == SPK_JSON_STRING
                     ? use->u.array.items[i]->u.string.ptr
                     : "?";
    opts->dependencies = names;
  }
  const spk_json_value_t *types = fx_get(fx->handler, "expected_types");
  if (fx_is(types, SPK_JSON_OBJECT)) {
    fx_typecheck_t *t = spk__arena_calloc(a, sizeof(*t));
    const char **names = spk__arena_calloc(a, (types->u.object.len + 1) * sizeof(char *));
    if (!t || !names) return -1;
    t->fx = fx;
    t->expected = types;
    for (size_t i = 0; i < types->u.object.len; i++) names[i] = types->u.object.members[i].key.ptr;
    /* The hook declares the dependencies it checks: the core resolves them before it runs. */
    spk_app_add_hook_ex(app, SPK_HOOK_PRE_HANDLER, h_typecheck, t, names);
  }
  return 0;
}
