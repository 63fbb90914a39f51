/* WebSocket routes: registration and the opening handshake (RFC 6455 §4.2, RFC 7692 §5).
 *
 * The route is an ordinary GET route, so hooks, CORS, auth and rate limits apply to the upgrade
 * request like to any other. Its handler checks the handshake, answers 101 with the accept key
 * and marks the exchange; the connection switches protocols when it writes that 101. */
#include <stdio.h>
#include <string.h>

#include "core/app_internal.h"
#include "core/exchange.h"
#include "core/ws_internal.h"
#include "proto/json.h"
#include "proto/ws.h"
#include "spikard/request.h"
#include "spikard/response.h"
#include "util/alloc.h"
#include "util/strutil.h"

SPK_EXTERN void spk_ws_options_default(spk_ws_options_t *out) {
  if (!out) return;
  memset(out, 0, sizeof(*out));
  out->max_message_bytes = 16u << 20;
  out->idle_timeout_ms = 300000;
}

static void free_strs(char **v, size_t n) {
  if (!v) return;
  for (size_t i = 0; i < n; i++) spk__free(v[i]);
  spk__free(v);
}

void spk__ws_routes_free(spk__ws_route_t *r) {
  while (r) {
    spk__ws_route_t *next = r->next;
    free_strs(r->subprotocols, r->opts.subprotocol_count);
    free_strs(r->origins, r->opts.origin_count);
    spk_schema_free(r->schema);
    spk__free(r);
    r = next;
  }
}

static char **copy_strs(const char *const *v, size_t n, int *fail) {
  if (!v || !n) return NULL;
  char **out = spk__calloc(n, sizeof(*out));
  if (!out) return *fail = 1, NULL;
  for (size_t i = 0; i < n; i++) {
    out[i] = v[i] ? spk__strndup(v[i], strlen(v[i])) : NULL;
    if (!out[i]) *fail = 1;
  }
  return out;
}

static int compile_schema(spk_app_t *app, spk__ws_route_t *r, const char *text) {
  spk__arena_t arena;
  spk__arena_init(&arena, 4096);
  spk_json_value_t *v = NULL;
  char err[160] = "";
  int rc = spk_json_parse(&arena, text, strlen(text), NULL, &v, NULL);
  if (rc == 0) rc = spk_schema_compile(v, NULL, &r->schema, err, sizeof(err));
  spk__arena_free(&arena);
  if (rc != 0)
    snprintf(app->last_error, sizeof(app->last_error), "websocket message_schema: %s",
             err[0] ? err : "invalid JSON");
  return rc ? SPK_EINVAL : SPK_OK;
}

static int ws_handler(spk_req_t *req, spk_res_t *res, void *user_data);

SPK_EXTERN int spk_app_ws_ex(spk_app_t *app, const char *path, const spk_ws_callbacks_t *callbacks,
                             const spk_ws_options_t *opts, void *user_data) {
  if (!app || !path || !callbacks) return SPK_EINVAL;
  if (app->frozen) return SPK_ESTATE;
  spk__ws_route_t *r = spk__calloc(1, sizeof(*r));
  if (!r) return SPK_ENOMEM;
  r->cb = *callbacks;
  r->user_data = user_data;
  if (opts)
    r->opts = *opts;
  else
    spk_ws_options_default(&r->opts);
  if (!r->opts.max_message_bytes) r->opts.max_message_bytes = 16u << 20;
  if (!r->opts.idle_timeout_ms) r->opts.idle_timeout_ms = 300000;
  int fail = 0;
  r->subprotocols = copy_strs(r->opts.subprotocols, r->opts.subprotocol_count, &fail);
  r->origins = copy_strs(r->opts.origins, r->opts.origin_count, &fail);
  r->opts.subprotocols = (const char *const *)r->subprotocols;
  r->opts.origins = (const char *const *)r->origins;
  if (!r->subprotocols) r->opts.subprotocol_count = 0;
  if (!r->origins) r->opts.origin_count = 0;
  r->opts.message_schema = NULL; /* compiled below; the text is not kept */
  r->next = app->ws_routes;
  app->ws_routes = r; /* owned by the app from here, whatever happens next */
  if (fail) return SPK_ENOMEM;
  if (opts && opts->message_schema) {
    r->opts.json_messages = 1;
    if (compile_schema(app, r, opts->message_schema)) return SPK_EINVAL;
  }
  return spk_app_route(app, "GET", path, ws_handler, r);
}

SPK_EXTERN int spk_app_ws(spk_app_t *app, const char *path, const spk_ws_callbacks_t *callbacks,
                          void *user_data) {
  return spk_app_ws_ex(app, path, callbacks, NULL, user_data);
}

/* ---- handshake ---- */

static int header(const spk_req_t *req, const char *name, spk_str_t *v) {
  return spk_req_header(req, name, v) == SPK_OK;
}

/* A token in any field of that name (a list may be split over several fields). */
static int has_token(const spk_req_t *req, const char *name, const char *token) {
  spk_str_t v;
  for (size_t n = 0; spk_req_header_nth(req, name, n, &v) == SPK_OK; n++)
    if (spk_ws_has_token(v.ptr, v.len, token)) return 1;
  return 0;
}

static int reject(spk_res_t *res, int status, const char *detail) {
  spk_res_problem(res, status, status == 426 ? "upgrade-required" : "bad-websocket-handshake",
                  status == 426 ? "Upgrade Required" : status == 403 ? "Forbidden" : "Bad Request",
                  detail);
  return SPK_HANDLER_DONE;
}

static void answer_101(spk_res_t *res, spk__exchange_t *ex, spk__ws_upgrade_t *up) {
  spk_res_status(res, 101);
  spk_res_header(res, "Upgrade", "websocket");
  /* Connection is reserved for the connection's own framing in the public API; the switch is
   * ours, so the field is added under a placeholder name and renamed (a static string). */
  if (spk_res_header(res, "X-Spk-Connection", "Upgrade") == SPK_OK)
    res->headers[res->header_count - 1].name = (spk_str_t){"Connection", 10};
  spk_res_header(res, "Sec-WebSocket-Accept", up->accept);
  if (up->subprotocol) spk_res_header(res, "Sec-WebSocket-Protocol", up->subprotocol);
  if (up->deflate) spk_res_header(res, "Sec-WebSocket-Extensions", up->extensions);
  ex->ws_upgrade = up;
}

static int ws_handler(spk_req_t *req, spk_res_t *res, void *user_data) {
  const spk__ws_route_t *r = user_data;
  spk_str_t v;
  if (!has_token(req, "upgrade", "websocket")) {
    spk_res_header(res, "Upgrade", "websocket");
    return reject(res, 426, "This endpoint requires a WebSocket upgrade");
  }
  if (spk_req_method(req) != SPK_METHOD_GET) /* HEAD reaches GET routes too */
    return reject(res, 400, "A WebSocket upgrade must be a GET request");
  if (spk_req_http_minor(req) < 1)
    return reject(res, 400, "WebSocket requires HTTP/1.1");
  if (!has_token(req, "connection", "upgrade"))
    return reject(res, 400, "Connection header must contain Upgrade");
  if (!header(req, "sec-websocket-version", &v) || v.len != 2 || memcmp(v.ptr, "13", 2) != 0) {
    spk_res_header(res, "Sec-WebSocket-Version", "13");
    return reject(res, 426, "Unsupported WebSocket version (13 is supported)");
  }
  spk__exchange_t *ex = spk__exchange_of_res(res);
  spk__ws_upgrade_t *up = spk__arena_calloc(&ex->arena, sizeof(*up));
  if (!up) return reject(res, 500, "Out of memory");
  if (!header(req, "sec-websocket-key", &v) || spk_ws_accept(v.ptr, v.len, up->accept) != SPK_OK)
    return reject(res, 400, "Missing or invalid Sec-WebSocket-Key");
  if (r->opts.origin_count) {
    int ok = 0;
    if (header(req, "origin", &v))
      for (size_t i = 0; i < r->opts.origin_count && !ok; i++)
        ok = spk__strieq(v.ptr, v.len, r->origins[i], strlen(r->origins[i]));
    if (!ok) return reject(res, 403, "Origin not allowed");
  }
  up->route = r;
  if (r->opts.subprotocol_count) {
    /* The list may be split over several fields (RFC 9110 §5.3): try each in order. */
    int k = -1;
    for (size_t n = 0; k < 0 && spk_req_header_nth(req, "sec-websocket-protocol", n, &v) == SPK_OK; n++)
      k = spk_ws_pick_subprotocol(v.ptr, v.len, r->opts.subprotocols, r->opts.subprotocol_count);
    if (k >= 0)
      up->subprotocol = r->subprotocols[k];
    else if (r->opts.require_subprotocol)
      return reject(res, 400, "No supported subprotocol offered");
  }
  for (size_t n = 0; r->opts.permessage_deflate && !up->deflate &&
                     spk_req_header_nth(req, "sec-websocket-extensions", n, &v) == SPK_OK; n++)
    up->deflate = spk_ws_deflate_negotiate(v.ptr, v.len, r->opts.deflate_no_context,
                                           &up->deflate_params, up->extensions,
                                           sizeof(up->extensions));
  if (!r->cb.on_handshake) {
    answer_101(res, ex, up);
    return SPK_HANDLER_DONE;
  }
  ex->ws_offer = up; /* the application accepts (spk_ws_handshake_accept) or answers otherwise */
  return r->cb.on_handshake(req, res, r->user_data);
}

SPK_EXTERN int spk_ws_handshake_accept(spk_res_t *res, const char *subprotocol,
                                       void *conn_user_data) {
  if (!res) return SPK_EINVAL;
  spk__exchange_t *ex = spk__exchange_of_res(res);
  spk__ws_upgrade_t *up = ex->ws_offer;
  if (!up || ex->ws_upgrade) return SPK_ESTATE;
  if (subprotocol) {
    /* Only one the client offered (RFC 6455 §4.2.2): anything else fails its handshake. */
    size_t len = strlen(subprotocol);
    int offered = 0;
    spk_str_t v;
    for (size_t n = 0;
         !offered && spk_req_header_nth(&ex->req, "sec-websocket-protocol", n, &v) == SPK_OK; n++)
      offered = len > 0 && spk_ws_has_token(v.ptr, v.len, subprotocol);
    if (!offered) return SPK_EINVAL;
    char *copy = spk__arena_alloc(&ex->arena, len + 1);
    if (!copy) return SPK_ENOMEM;
    memcpy(copy, subprotocol, len + 1);
    up->subprotocol = copy;
  }
  up->conn_user_data = conn_user_data;
  answer_101(res, ex, up);
  return SPK_OK;
}

void spk__ws_upgrade_end(spk__ws_upgrade_t *up) {
  if (up->started || !up->route->cb.on_dropped) return;
  up->started = 1; /* once */
  up->route->cb.on_dropped(up->conn_user_data, up->route->user_data);
}
