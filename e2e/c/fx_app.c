/* Fixture runner — building the app for one fixture.
 *
 * Route: handler.route + handler.method; without a handler, request.path minus the query and
 * request.method. Contracts (handler.parameters, handler.body_schema, body limit) go to
 * spk_app_route_ex as JSON text, exactly as the fixture gives them.
 *
 * "The server must earn every error": for an expected status >= 400 the handler answers a
 * placeholder 200 {"placeholder":true}, so only the framework (validation, limits, routing) can
 * produce the expected error. For other statuses (2xx, and 3xx which only a handler can decide)
 * the handler answers the fixture's expected status, headers, cookies and body.
 *
 * Headers a middleware produces are not echoed, or the handler would hand the middleware a
 * response it must leave alone: with compression configured, Content-Encoding and Vary (the
 * server must earn them). `handler.response_headers` are headers the handler sets itself, as
 * given (an ETag to weaken, a Vary to merge into, a body already encoded); an expected header
 * of the same name is then not echoed. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "fx.h"

#define PLACEHOLDER_BODY "{\"placeholder\":true}"

typedef struct fx_reply {
  fx_fixture_t *fx;
  int fail; /* handler.raises: the handler fails (the core answers 500) */
  long sleep_ms; /* middleware.request_timeout.sleep_ms: the handler takes this long */
  int status;
  const char **names;
  const char **values;
  size_t nheaders;
  const char *body;
  size_t body_len;
} fx_reply_t;

static void fill(spk_res_t *res, const fx_reply_t *r) {
  spk_res_status(res, r->status);
  for (size_t i = 0; i < r->nheaders; i++) spk_res_header(res, r->names[i], r->values[i]);
  if (r->body_len) spk_res_body_ref(res, r->body, r->body_len, NULL, NULL);
}

void fx_reply_fill(spk_res_t *res, const void *reply) { fill(res, reply); }

/* middleware.request_timeout.sleep_ms: the handler takes that long, off the loop (an awaited
 * sleep), then answers. */
typedef struct fx_sleeper {
  spk_res_t *res;
  const fx_reply_t *reply;
} fx_sleeper_t;

static void *sleep_then_answer(void *arg) {
  fx_sleeper_t *s = arg;
  struct timespec ts = {s->reply->sleep_ms / 1000, (long)(s->reply->sleep_ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
  fill(s->res, s->reply);
  spk_res_end(s->res);
  free(s);
  return NULL;
}

static int fx_handler(spk_req_t *req, spk_res_t *res, void *user_data) {
  const fx_reply_t *r = user_data;
  /* `background`: the handler's tasks first (a full queue fails the request: 503). */
  int rc = fx_bg_spawn_from_body(r->fx, req);
  if (rc < 0) return rc;
  if (r->fail) return SPK_EIO;
  if (r->sleep_ms > 0) {
    fx_sleeper_t *s = malloc(sizeof(*s));
    pthread_t th;
    if (s) {
      s->res = res;
      s->reply = r;
      if (pthread_create(&th, NULL, sleep_then_answer, s) == 0) {
        pthread_detach(th);
        return SPK_HANDLER_ASYNC;
      }
      free(s);
    }
    return SPK_EIO;
  }
  fill(res, r);
  return SPK_HANDLER_DONE;
}

/* Headers a configured middleware or hook produces: a canned reply never sets them, so only
 * the core can make such a fixture pass. */
static int middleware_owned(const fx_fixture_t *fx, const char *name) {
  static const char *const owned[] = {"access-control-", "vary", "content-encoding",
                                      "ratelimit", "x-ratelimit", "retry-after",
                                      "www-authenticate"};
  const spk_json_value_t *mw = fx_get(fx->handler, "middleware");
  if (fx_get(mw, "lifecycle_hooks") && strcasecmp(name, "content-type") != 0) return 1;
  if (!mw && !fx_get(fx->handler, "cors")) return 0;
  const spk_json_value_t *rid = fx_get(mw, "request_id");
  if (fx_is(rid, SPK_JSON_OBJECT)) {
    const char *h = fx_get_str(rid, "header");
    if (strcasecmp(name, h ? h : "x-request-id") == 0) return 1;
  }
  for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
    if (strncasecmp(name, owned[i], strlen(owned[i])) == 0) return 1;
  return 0;
}

/* Serialized expected body with its tokens made concrete, as a real handler's output would be:
 * "<<uuid>>" → a fresh UUID, "<<present>>" → "present". */
static char *concrete_body(spk__arena_t *a, const spk_json_value_t *body, size_t *len) {
  char *text = fx_json_text(a, body, len);
  if (!text) return NULL;
  static const char uuid_tok[] = "\"<<uuid>>\"", present_tok[] = "\"<<present>>\"";
  spk__buf_t b = {0};
  const char *s = text;
  for (;;) {
    const char *u = strstr(s, uuid_tok), *q = strstr(s, present_tok);
    const char *hit = u && (!q || u < q) ? u : q;
    if (!hit) break;
    spk__buf_append(&b, s, (size_t)(hit - s));
    if (hit == u) {
      spk__buf_append_str(&b, "\"3f2b8c1e-9d4a-4e6b-a1c2-5d7e9f0a1b2c\"");
      s = hit + sizeof(uuid_tok) - 1;
    } else {
      spk__buf_append_str(&b, "\"present\"");
      s = hit + sizeof(present_tok) - 1;
    }
  }
  spk__buf_append_str(&b, s);
  char *out = spk__arena_strndup(a, b.data ? b.data : "", b.len);
  if (out) *len = b.len;
  spk__buf_free(&b);
  return out;
}

/* Header names the core owns (the handler may not set them). */
static int core_owned(const char *name) {
  static const char *const owned[] = {"content-length", "transfer-encoding", "connection",
                                      "date"};
  for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
    if (strcasecmp(name, owned[i]) == 0) return 1;
  return 0;
}

static int is_token_value(const char *v) { return strncmp(v, "<<", 2) == 0; }

/* Set-Cookie value for one entry of expected_response.cookies. */
static char *set_cookie_value(spk__arena_t *a, const char *name, const spk_json_value_t *c) {
  spk__buf_t b = {0};
  spk__buf_append_str(&b, name);
  spk__buf_append_char(&b, '=');
  const char *value = fx_is(c, SPK_JSON_STRING) ? c->u.string.ptr : fx_get_str(c, "value");
  if (value) spk__buf_append_str(&b, value);
  const spk_json_value_t *v;
  if ((v = fx_get(c, "max_age")) && v->type == SPK_JSON_INT) {
    spk__buf_append_str(&b, "; Max-Age=");
    char num[32];
    snprintf(num, sizeof(num), "%lld", (long long)v->u.integer);
    spk__buf_append_str(&b, num);
  }
  const char *s;
  if ((s = fx_get_str(c, "domain"))) spk__buf_append_str(&b, "; Domain="), spk__buf_append_str(&b, s);
  if ((s = fx_get_str(c, "path"))) spk__buf_append_str(&b, "; Path="), spk__buf_append_str(&b, s);
  if ((v = fx_get(c, "secure")) && v->type == SPK_JSON_BOOL && v->u.boolean)
    spk__buf_append_str(&b, "; Secure");
  if ((v = fx_get(c, "httponly")) && v->type == SPK_JSON_BOOL && v->u.boolean)
    spk__buf_append_str(&b, "; HttpOnly");
  if ((s = fx_get_str(c, "samesite"))) {
    spk__buf_append_str(&b, "; SameSite=");
    char cap[32];
    snprintf(cap, sizeof(cap), "%s", s);
    for (char *p = cap; *p; p++) *p = (char)(p == cap ? (*p >= 'a' && *p <= 'z' ? *p - 32 : *p)
                                                     : (*p >= 'A' && *p <= 'Z' ? *p + 32 : *p));
    spk__buf_append_str(&b, cap);
  }
  char *out = spk__arena_strndup(a, b.data ? b.data : "", b.len);
  spk__buf_free(&b);
  return out;
}

static int has_compression(const fx_fixture_t *fx) {
  return fx_get(fx_get(fx->handler, "middleware"), "compression") ||
         fx_get(fx->handler, "compression");
}

/* Is `name` produced by a configured middleware, or set by handler.response_headers? */
static int not_echoed(const fx_fixture_t *fx, const char *name) {
  if (has_compression(fx) &&
      (strcasecmp(name, "content-encoding") == 0 || strcasecmp(name, "vary") == 0))
    return 1;
  const spk_json_value_t *own = fx_get(fx->handler, "response_headers");
  if (fx_is(own, SPK_JSON_OBJECT))
    for (size_t i = 0; i < own->u.object.len; i++)
      if (strcasecmp(own->u.object.members[i].key.ptr, name) == 0) return 1;
  return 0;
}

static fx_reply_t *make_reply(fx_fixture_t *fx) {
  spk__arena_t *a = &fx->arena;
  fx_reply_t *r = spk__arena_calloc(a, sizeof(*r));
  if (!r) return NULL;
  r->fx = fx;
  r->fail = fx_get(fx->handler, "raises") != NULL;
  const spk_json_value_t *sleep =
      fx_get(fx_get(fx_get(fx->handler, "middleware"), "request_timeout"), "sleep_ms");
  if (fx_is(sleep, SPK_JSON_INT) && sleep->u.integer > 0) r->sleep_ms = (long)sleep->u.integer;
  if (fx->expected_status >= 400) {
    r->status = 200;
    r->names = spk__arena_alloc(a, sizeof(char *));
    r->values = spk__arena_alloc(a, sizeof(char *));
    if (!r->names || !r->values) return NULL;
    r->names[0] = "Content-Type";
    r->values[0] = "application/json";
    r->nheaders = 1;
    r->body = PLACEHOLDER_BODY;
    r->body_len = strlen(PLACEHOLDER_BODY);
    return r;
  }
  r->status = fx->expected_status;
  const spk_json_value_t *hdrs = fx_get(fx->expected, "headers");
  const spk_json_value_t *cookies = fx_get(fx->expected, "cookies");
  const spk_json_value_t *own = fx_get(fx->handler, "response_headers");
  size_t cap = (fx_is(hdrs, SPK_JSON_OBJECT) ? hdrs->u.object.len : 0) +
               (fx_is(cookies, SPK_JSON_OBJECT) ? cookies->u.object.len : 0) +
               (fx_is(own, SPK_JSON_OBJECT) ? own->u.object.len : 0) + 1;
  r->names = spk__arena_alloc(a, cap * sizeof(char *));
  r->values = spk__arena_alloc(a, cap * sizeof(char *));
  if (!r->names || !r->values) return NULL;
  int has_ct = 0;
  if (fx_is(hdrs, SPK_JSON_OBJECT))
    for (size_t i = 0; i < hdrs->u.object.len; i++) {
      const spk_json_member_t *m = &hdrs->u.object.members[i];
      if (m->value->type != SPK_JSON_STRING) continue;
      if (is_token_value(m->value->u.string.ptr) || core_owned(m->key.ptr) ||
          middleware_owned(fx, m->key.ptr) || not_echoed(fx, m->key.ptr))
        continue;
      if (strcasecmp(m->key.ptr, "content-type") == 0) has_ct = 1;
      r->names[r->nheaders] = m->key.ptr;
      r->values[r->nheaders++] = m->value->u.string.ptr;
    }
  if (fx_is(own, SPK_JSON_OBJECT))
    for (size_t i = 0; i < own->u.object.len; i++) {
      const spk_json_member_t *m = &own->u.object.members[i];
      if (m->value->type != SPK_JSON_STRING) continue;
      if (strcasecmp(m->key.ptr, "content-type") == 0) has_ct = 1;
      r->names[r->nheaders] = m->key.ptr;
      r->values[r->nheaders++] = m->value->u.string.ptr;
    }
  if (fx_is(cookies, SPK_JSON_OBJECT))
    for (size_t i = 0; i < cookies->u.object.len; i++) {
      const spk_json_member_t *m = &cookies->u.object.members[i];
      char *v = set_cookie_value(a, m->key.ptr, m->value);
      if (!v) return NULL;
      r->names[r->nheaders] = "Set-Cookie";
      r->values[r->nheaders++] = v;
    }
  const spk_json_value_t *body = fx_get(fx->expected, "body");
  if (body && body->type == SPK_JSON_STRING) {
    r->body = body->u.string.ptr;
    r->body_len = body->u.string.len;
    if (!has_ct && r->body_len) {
      memmove(r->names + 1, r->names, r->nheaders * sizeof(char *));
      memmove(r->values + 1, r->values, r->nheaders * sizeof(char *));
      r->names[0] = "Content-Type";
      r->values[0] = "text/plain; charset=utf-8";
      r->nheaders++;
    }
  } else if (body && body->type != SPK_JSON_NULL) {
    r->body = concrete_body(a, body, &r->body_len);
    if (!r->body) return NULL;
    if (!has_ct) {
      memmove(r->names + 1, r->names, r->nheaders * sizeof(char *));
      memmove(r->values + 1, r->values, r->nheaders * sizeof(char *));
      r->names[0] = "Content-Type";
      r->values[0] = "application/json";
      r->nheaders++;
    }
  }
  return r;
}

/* Methods the core answers by itself for a route of another method: HEAD from GET, and
 * OPTIONS (the automatic 204 + Allow, or the CORS preflight where CORS is configured). A second
 * route there would hide them. */
static int core_answers(const fx_fixture_t *fx, const char *req_method, const char *method) {
  (void)fx;
  if (strcmp(req_method, "HEAD") == 0) return strcmp(method, "GET") == 0;
  if (strcmp(req_method, "OPTIONS") == 0) return 1;
  return 0;
}

/* request.path without its query. */
static char *path_only(spk__arena_t *a, const char *path) {
  const char *q = strchr(path, '?');
  return spk__arena_strndup(a, path, q ? (size_t)(q - path) : strlen(path));
}

static size_t size_member(const spk_json_value_t *obj, const char *key) {
  const spk_json_value_t *v = fx_get(obj, key);
  return fx_is(v, SPK_JSON_INT) && v->u.integer > 0 ? (size_t)v->u.integer : 0;
}

spk_app_t *fx_app_build(fx_fixture_t *fx, char *err, size_t errlen) {
  if (fx_ws_is_message_fixture(fx)) { /* no request: a WebSocket route on its channel */
    spk_app_t *app = spk_app_new();
    if (app && fx_ws_register(fx, app, NULL, err, errlen) == 0) return app;
    spk_app_free(app);
    return NULL;
  }
  spk__arena_t *a = &fx->arena;
  const char *req_method = fx_get_str(fx->request, "method");
  const char *route = fx_get_str(fx->handler, "route");
  const char *method = fx_get_str(fx->handler, "method");
  if (!route) route = path_only(a, fx_get_str(fx->request, "path"));
  if (!method) method = req_method;
  fx_reply_t *reply = make_reply(fx);
  if (!route || !reply) {
    snprintf(err, errlen, "out of memory building the app");
    return NULL;
  }
  /* Streamed bodies and event streams have handlers of their own (fx_stream.c). */
  spk_handler_fn handler = fx_handler;
  void *handler_data = reply;
  if (fx_stream_handler(fx, fx_reply_fill, reply, &handler, &handler_data, err, errlen) < 0)
    return NULL;

  spk_route_options_t opts;
  memset(&opts, 0, sizeof(opts));
  const spk_json_value_t *params = fx_get(fx->handler, "parameters");
  if (fx_is(params, SPK_JSON_OBJECT)) opts.parameters = fx_json_text(a, params, NULL);
  const spk_json_value_t *schema = fx_get(fx->handler, "body_schema");
  if (schema && schema->type != SPK_JSON_NULL) opts.body_schema = fx_json_text(a, schema, NULL);
  const spk_json_value_t *mw = fx_get(fx->handler, "middleware");
  opts.max_body_bytes = size_member(fx->handler, "max_body_size");

  /* Route-level sections: handler.cors, the body limit (the reference's per-route
   * body_limit, answered with problem details "for this route") and handler.compression (the
   * reference's per-route compression: a section, or false). */
  const spk_json_value_t *route_cors = fx_get(fx->handler, "cors");
  const spk_json_value_t *body_limit = fx_get(mw, "body_limit");
  const spk_json_value_t *route_comp = fx_get(fx->handler, "compression");
  if (route_cors || body_limit || route_comp) {
    spk__buf_t b = {0};
    spk__buf_append_char(&b, '{');
    const struct {
      const char *key;
      const spk_json_value_t *v;
    } parts[] = {{"cors", route_cors}, {"body_limit", body_limit}, {"compression", route_comp}};
    size_t kept = 0;
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
      if (!parts[i].v) continue;
      if (kept++) spk__buf_append_char(&b, ',');
      spk__buf_append_char(&b, '"');
      spk__buf_append_str(&b, parts[i].key);
      spk__buf_append_str(&b, "\":");
      spk__buf_append_str(&b, fx_json_text(a, parts[i].v, NULL));
    }
    spk__buf_append_char(&b, '}');
    opts.middleware = spk__arena_strndup(a, b.data, b.len);
    spk__buf_free(&b);
    if (!opts.middleware) {
      snprintf(err, errlen, "out of memory building the app");
      return NULL;
    }
  }

  spk_app_t *app = spk_app_new();
  if (!app) {
    snprintf(err, errlen, "spk_app_new: out of memory");
    return NULL;
  }
  /* App middleware: handler.middleware, minus what the runner itself plays (fx_mw.c). */
  if (fx_is(mw, SPK_JSON_OBJECT)) {
    const char *config = fx_mw_config(fx, mw, err, errlen);
    if (!config) {
      spk_app_free(app);
      return NULL;
    }
    int rc = config[0] ? spk_app_configure(app, config) : SPK_OK;
    if (rc != SPK_OK) {
      snprintf(err, errlen, "spk_app_configure: %s (%s)", spk_err_name(rc),
               spk_app_last_error(app));
      spk_app_free(app);
      return NULL;
    }
  }
  /* Server limits from the handler (status_codes fixtures). */
  size_t max_header = size_member(fx->handler, "max_header_size");
  size_t max_uri = size_member(fx->handler, "max_uri_length");
  if (max_header || max_uri) {
    spk_limits_t lim = *spk_app_limits(app);
    if (max_header) lim.max_header_bytes = max_header;
    if (max_uri) lim.max_request_line = max_uri;
    int rc = spk_app_set_limits(app, &lim);
    if (rc != SPK_OK) {
      snprintf(err, errlen, "spk_app_set_limits: %s", spk_err_name(rc));
      spk_app_free(app);
      return NULL;
    }
  }
  if (fx_bg_setup(fx, app, err, errlen) || fx_hooks_register(fx, app, err, errlen) ||
      fx_deps_register(fx, app, &opts, err, errlen)) {
    if (!err[0]) snprintf(err, errlen, "out of memory building the app");
    spk_app_free(app);
    return NULL;
  }
  /* Static files: the mounted directory answers; the reference generator registers no route
   * for these fixtures (a route would win over the mount). */
  if (fx_get(mw, "static_files")) return app;
  if (fx_get(fx->handler, "websocket")) {
    if (fx_ws_register(fx, app, route, err, errlen) == 0) return app;
    spk_app_free(app);
    return NULL;
  }
  int rc = spk_app_route_ex(app, method, route, handler, handler_data, &opts);
  if (rc != SPK_OK) {
    snprintf(err, errlen, "route registration %s %s failed: %s (%s)", method, route,
             spk_err_name(rc), spk_app_last_error(app));
    spk_app_free(app);
    return NULL;
  }
  /* The request uses another method than the handler declares (CORS preflight, TRACE): the old
   * generator registered both, except where the core answers that method itself (HEAD, OPTIONS
   * without CORS). Only for successes — for an expected error a placeholder route
   * under the request's method could only hide the error (405, CORS rejection) the server must
   * produce. */
  if (req_method && strcmp(req_method, method) != 0 && fx->expected_status < 400 &&
      !core_answers(fx, req_method, method)) {
    rc = spk_app_route_ex(app, req_method, route, handler, handler_data, &opts);
    if (rc != SPK_OK && rc != SPK_EEXIST) {
      snprintf(err, errlen, "route registration %s %s failed: %s (%s)", req_method, route,
               spk_err_name(rc), spk_app_last_error(app));
      spk_app_free(app);
      return NULL;
    }
  }
  return app;
}
