/* The bridge between a core exchange and a JS handler.
 *
 * spkn_route_handler runs on a core thread: it queues the exchange on the app's threadsafe
 * function and answers SPK_HANDLER_ASYNC. spkn_call_js runs on the JS thread: it builds the
 * request object, hands it to the JS dispatcher with a response handle, and the JS side answers
 * through respond(). Every exchange is ended exactly once: by respond(), or with a 500 problem
 * when the dispatcher throws, or (safety net) when the handle is collected unanswered. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "spikard/hooks.h"
#include "spikard/request.h"
#include "spikard/response.h"
#include "spikard/stream.h"
#include "spikard/websocket.h"

typedef struct spkn_call {
  int kind; /* SPKN_KIND_CALL (see addon.h) */
  spkn_route_t *route;
  spk_req_t *req;
  spk_res_t *res;
  int ended;
  int in_handler; /* called directly from the core: the handler's return ends the response */
  int is_hook;    /* a request-phase hook: continue() goes on with the pipeline */
  int continued;
  int failed; /* fail() while called directly: the handler's return reports it (SPK_E*) */
  /* The body crosses to JS only when read (requestBody): a validated JSON route reads the
   * core's validated value and never needs the bytes as a Buffer. The exchange may be gone
   * once answered, so the bytes are copied here at that moment if JS has not taken them. */
  int body_lazy;
  int body_saved;
  char *body_copy;
  size_t body_len;
} spkn_call_t;

static void save_body(spkn_call_t *c) {
  if (!c->body_lazy || c->body_saved) return;
  spk_str_t b = spk_req_body(c->req);
  c->body_saved = 1;
  c->body_copy = b.len ? malloc(b.len) : NULL;
  c->body_len = c->body_copy ? b.len : 0;
  if (c->body_copy) memcpy(c->body_copy, b.ptr, b.len);
}

static void end(spkn_call_t *c) {
  save_body(c);
  c->ended = 1;
  if (!c->in_handler) spk_res_end(c->res);
}

static void end_problem(spkn_call_t *c, int status, const char *slug, const char *title,
                        const char *detail) {
  if (c->ended) return;
  spk_res_problem(c->res, status, slug, title, detail);
  end(c);
}

static void dispatch(napi_env env, napi_value js_cb, spkn_call_t *c);

static int call(spk_req_t *req, spk_res_t *res, spkn_route_t *r, int is_hook) {
  spkn_call_t *c = calloc(1, sizeof(*c));
  if (!c) return SPK_ENOMEM;
  c->route = r;
  c->req = req;
  c->res = res;
  c->is_hook = is_hook;
  if (pthread_equal(pthread_self(), r->app->js_thread)) {
    /* The driver on Node's loop (loop.c): call JS now. A handler that answers synchronously
     * (respond() before returning) completes the exchange here; otherwise it is async. */
    napi_env env = r->app->env;
    napi_handle_scope hs;
    napi_value fn;
    if (napi_open_handle_scope(env, &hs) != napi_ok) {
      free(c);
      return SPK_ENOMEM;
    }
    c->in_handler = 1;
    if (napi_get_reference_value(env, r->app->dispatch, &fn) == napi_ok) dispatch(env, fn, c);
    else end_problem(c, 500, "internal-server-error", "Internal Server Error", "dispatcher");
    c->in_handler = 0;
    /* `c` now belongs to its JS handle */
    int done = c->ended, continued = c->continued, failed = c->failed;
    napi_close_handle_scope(env, hs);
    if (is_hook)
      return continued ? SPK_HOOK_CONTINUE : done ? SPK_HOOK_RESPOND : SPK_HOOK_ASYNC;
    return failed ? failed : done ? SPK_HANDLER_DONE : SPK_HANDLER_ASYNC;
  }
  if (!r->app->tsfn ||
      napi_call_threadsafe_function(r->app->tsfn, c, napi_tsfn_blocking) != napi_ok) {
    free(c);
    spk_res_problem(res, 503, "service-unavailable", "Service Unavailable",
                    "the JavaScript environment is shutting down");
    return is_hook ? SPK_HOOK_RESPOND : SPK_HANDLER_DONE;
  }
  return is_hook ? SPK_HOOK_ASYNC : SPK_HANDLER_ASYNC;
}

int spkn_route_handler(spk_req_t *req, spk_res_t *res, void *user_data) {
  return call(req, res, user_data, 0);
}

int spkn_hook_handler(spk_req_t *req, spk_res_t *res, void *user_data) {
  return call(req, res, user_data, 1);
}

static napi_value text(napi_env env, const char *p, size_t len);
static napi_value str(napi_env env, spk_str_t s) { return text(env, s.ptr, s.len); }

static void set(napi_env env, napi_value obj, const char *key, napi_value v) {
  if (v) napi_set_named_property(env, obj, key, v);
}

/* [[name, value], ...] from an indexed accessor. */
typedef int (*pair_at_fn)(spk_req_t *req, size_t i, spk_str_t *n, spk_str_t *v);

static int header_at(spk_req_t *req, size_t i, spk_str_t *n, spk_str_t *v) {
  return spk_req_header_at(req, i, n, v);
}
static int param_at(spk_req_t *req, size_t i, spk_str_t *n, spk_str_t *v) {
  return spk_req_param_at(req, i, n, v);
}

static napi_value pairs(napi_env env, spk_req_t *req, size_t count, pair_at_fn at) {
  napi_value arr;
  if (napi_create_array_with_length(env, count * 2, &arr) != napi_ok) return NULL;
  for (size_t i = 0; i < count; i++) {
    spk_str_t n, v;
    if (at(req, i, &n, &v) != SPK_OK) continue;
    napi_set_element(env, arr, (uint32_t)(2 * i), str(env, n));
    napi_set_element(env, arr, (uint32_t)(2 * i + 1), str(env, v));
  }
  return arr;
}

/* Strings from request bytes: pure ASCII (the common case) skips UTF-8 decoding. */
static napi_value text(napi_env env, const char *p, size_t len) {
  napi_value v;
  size_t i = 0;
  if (!p) p = "";
  while (i < len && !((unsigned char)p[i] & 0x80)) i++;
  napi_status st = i == len ? napi_create_string_latin1(env, p, len, &v)
                            : napi_create_string_utf8(env, p, len, &v);
  return st == napi_ok ? v : NULL;
}

static napi_value stext(napi_env env, spk_str_t s) { return text(env, s.ptr, s.len); }

/* A flat pair list, or null when empty (lib/raw.js turns null into []). */
static napi_value pairs_or_null(napi_env env, spk_req_t *req, size_t count, pair_at_fn at) {
  napi_value v;
  if (count == 0) return napi_get_null(env, &v) == napi_ok ? v : NULL;
  return pairs(env, req, count, at);
}

/* The header fields as one string "n0\0v0\0n1\0v1…", split by lib/raw.js on first use: one
 * string crosses instead of two per field. A field holding a NUL (the parser refuses them, but
 * the encoding must never be ambiguous) falls back to the flat array. */
static napi_value headers_packed(napi_env env, spk_req_t *req) {
  size_t n = spk_req_header_count(req), total = 0;
  for (size_t i = 0; i < n; i++) {
    spk_str_t k, v;
    if (spk_req_header_at(req, i, &k, &v) != SPK_OK || (k.len && memchr(k.ptr, 0, k.len)) ||
        (v.len && memchr(v.ptr, 0, v.len)))
      return pairs(env, req, n, header_at);
    total += k.len + v.len + 2;
  }
  if (n == 0) return text(env, "", 0);
  size_t cap = 0, o = 0;
  char *buf = spkn_env_scratch(env, total, &cap);
  if (!buf) return pairs(env, req, n, header_at);
  for (size_t i = 0; i < n; i++) {
    spk_str_t k, v;
    spk_req_header_at(req, i, &k, &v);
    if (k.len) memcpy(buf + o, k.ptr, k.len);
    o += k.len;
    buf[o++] = '\0';
    if (v.len) memcpy(buf + o, v.ptr, v.len);
    o += v.len;
    buf[o++] = '\0';
  }
  return text(env, buf, o - 1); /* no trailing separator */
}

/* The request for JS. With lib/raw.js loaded (always, through lib/request.js) one constructor
 * call with positional parts: the object gets its shape in JS instead of eleven named
 * properties set from C, each interning its key. The plain object is the fallback.
 * `lazy_body`: a response handle passed in place of the body, which JS then fetches with
 * requestBody(handle) when it is read (route handlers, see spkn_call_t.body_lazy). */
/* A failed build leaves no pending JS exception behind (the callers answer 500 and go on). */
static napi_value build_failed(napi_env env) {
  bool pending = false;
  napi_value exc;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
    napi_get_and_clear_last_exception(env, &exc);
  return NULL;
}

static napi_value build_request(napi_env env, spk_req_t *req, napi_value lazy_body) {
  napi_value ctor = spkn_env_request_class(env);
  spk_str_t b = spk_req_body(req);
  napi_value body = lazy_body;
  if (!ctor || !body) {
    if (napi_create_buffer_copy(env, b.len, b.len ? b.ptr : "", NULL, &body) != napi_ok)
      return build_failed(env);
  }
  if (ctor) {
    napi_value o, argv[11] = {
        stext(env, spk_req_method_str(req)),
        stext(env, spk_req_path(req)),
        stext(env, spk_req_raw_path(req)),
        stext(env, spk_req_query_string(req)),
        pairs_or_null(env, req, spk_req_param_count(req), param_at),
        pairs_or_null(env, req, spk_req_query_count(req), spk_req_query_at),
        headers_packed(env, req),
        pairs_or_null(env, req, spk_req_cookie_count(req), spk_req_cookie_at),
        stext(env, spk_req_validated(req)),
        stext(env, spk_req_remote_addr(req)),
        body,
    };
    for (size_t i = 0; i < 11; i++)
      if (!argv[i]) return build_failed(env);
    if (napi_new_instance(env, ctor, 11, argv, &o) != napi_ok) return build_failed(env);
    return o;
  }
  napi_value o;
  if (napi_create_object(env, &o) != napi_ok) return build_failed(env);
  set(env, o, "method", str(env, spk_req_method_str(req)));
  set(env, o, "path", str(env, spk_req_path(req)));
  set(env, o, "rawPath", str(env, spk_req_raw_path(req)));
  set(env, o, "queryString", str(env, spk_req_query_string(req)));
  set(env, o, "params", pairs(env, req, spk_req_param_count(req), param_at));
  set(env, o, "query", pairs(env, req, spk_req_query_count(req), spk_req_query_at));
  set(env, o, "headers", pairs(env, req, spk_req_header_count(req), header_at));
  set(env, o, "cookies", pairs(env, req, spk_req_cookie_count(req), spk_req_cookie_at));
  set(env, o, "validated", str(env, spk_req_validated(req)));
  set(env, o, "ip", str(env, spk_req_remote_addr(req)));
  set(env, o, "body", body);
  return o;
}

napi_value spkn_build_request(napi_env env, spk_req_t *req) { return build_request(env, req, NULL); }

static void call_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  spkn_call_t *c = data;
  end_problem(c, 500, "internal-server-error", "Internal Server Error",
              "the handler never answered");
  free(c->body_copy);
  free(c);
}

void spkn_call_js(napi_env env, napi_value js_cb, void *context, void *data) {
  (void)context;
  if (*(int *)data == SPKN_KIND_RESHOOK) {
    spkn_rcall_js(env, js_cb, data);
    return;
  }
  if (*(int *)data == SPKN_KIND_BG) {
    spkn_bg_call_js(env, js_cb, data);
    return;
  }
  if (*(int *)data == SPKN_KIND_WS) {
    spkn_ws_call_js(env, js_cb, data);
    return;
  }
  if (*(int *)data >= SPKN_KIND_DEP) {
    spkn_di_call_js(env, js_cb, data);
    return;
  }
  spkn_call_t *c = data;
  if (!env) { /* the environment is going away: answer, never drop */
    end_problem(c, 503, "service-unavailable", "Service Unavailable",
                "the JavaScript environment is shutting down");
    free(c);
    return;
  }
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) {
    end_problem(c, 500, "internal-server-error", "Internal Server Error", "handle scope");
    free(c);
    return;
  }
  dispatch(env, js_cb, c);
  napi_close_handle_scope(env, scope);
}

/* Calls dispatch(routeIndex, request, responseHandle); the handle owns `c` from then on. */
static void dispatch(napi_env env, napi_value js_cb, spkn_call_t *c) {
  napi_value argv[3], undef, result;
  napi_get_undefined(env, &undef);
  if (napi_create_uint32(env, c->route->index, &argv[0]) != napi_ok ||
      spkn_wrap(env, c, call_finalize, &argv[2]) != napi_ok) {
    end_problem(c, 500, "internal-server-error", "Internal Server Error",
                "could not build the request object");
    free(c);
    return;
  }
  /* From here the handle owns `c` (freed by its finalizer). A hook's body stays eager: the
   * lazy copy is taken at the answer, and a hook may run before the body is complete. */
  c->body_lazy = !c->is_hook && spkn_env_request_class(env) != NULL;
  argv[1] = build_request(env, c->req, c->body_lazy ? argv[2] : NULL);
  if (!argv[1]) {
    c->body_lazy = 0;
    end_problem(c, 500, "internal-server-error", "Internal Server Error",
                "could not build the request object");
    return;
  }
  if (napi_call_function(env, undef, js_cb, 3, argv, &result) != napi_ok) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    end_problem(c, 500, "internal-server-error", "Internal Server Error",
                "the dispatcher threw");
  }
}

/* A JS string's UTF-8 bytes in the environment's scratch buffer, in one pass when they fit
 * (the usual case: no separate length pass, no allocation per response). V8 never splits a
 * character, so output ending 4 or more bytes before the buffer's end is complete. */
static const char *string_bytes(napi_env env, napi_value v, size_t *len) {
  size_t cap = 0;
  char *buf = spkn_env_scratch(env, 0, &cap);
  if (!buf || napi_get_value_string_utf8(env, v, buf, cap, len) != napi_ok) return NULL;
  if (*len + 4 < cap) return buf;
  if (napi_get_value_string_utf8(env, v, NULL, 0, len) != napi_ok ||
      !(buf = spkn_env_scratch(env, *len + 1, &cap)) ||
      napi_get_value_string_utf8(env, v, buf, cap, len) != napi_ok)
    return NULL;
  return buf;
}

/* respond(handle, status, [n0, v0, ...], body: Buffer | string | undefined) → true, or
 * false when the response was already ended. Invalid headers end it with a 500 problem. */
static napi_value js_respond(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], ret;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_call_t *c = argc >= 1 ? spkn_unwrap(env, argv[0], "respond: not a response handle") : NULL;
  if (!c) return NULL;
  if (c->ended) {
    napi_get_boolean(env, false, &ret);
    return ret;
  }
  int32_t status = 200;
  if (argc >= 2) napi_get_value_int32(env, argv[1], &status);
  if (status < 100 || status > 999) status = 500;
  const char *fail = NULL;
  if (spk_res_status(c->res, status) != SPK_OK) fail = "invalid status";
  uint32_t n = 0;
  bool is_arr = false;
  if (argc >= 3 && napi_is_array(env, argv[2], &is_arr) == napi_ok && is_arr)
    napi_get_array_length(env, argv[2], &n);
  char small[2][512];
  for (uint32_t i = 0; !fail && i + 1 < n; i += 2) {
    napi_value nv, vv;
    size_t nl = 0, vl = 0;
    char *name = small[0], *value = small[1];
    napi_get_element(env, argv[2], i, &nv);
    napi_get_element(env, argv[2], i + 1, &vv);
    if (napi_get_value_string_utf8(env, nv, NULL, 0, &nl) != napi_ok ||
        napi_get_value_string_utf8(env, vv, NULL, 0, &vl) != napi_ok) {
      fail = "header names and values must be strings";
      break;
    }
    if (nl >= sizeof(small[0])) name = malloc(nl + 1);
    if (vl >= sizeof(small[1])) value = malloc(vl + 1);
    if (name && value) {
      napi_get_value_string_utf8(env, nv, name, nl + 1, &nl);
      napi_get_value_string_utf8(env, vv, value, vl + 1, &vl);
      if (spk_res_header_n(c->res, name, nl, value, vl) != SPK_OK)
        fail = "invalid response header";
    } else {
      fail = "out of memory";
    }
    if (name != small[0]) free(name);
    if (value != small[1]) free(value);
  }
  if (!fail && argc >= 4) {
    napi_valuetype t;
    size_t len_out = 0;
    bool is_buf = false;
    napi_typeof(env, argv[3], &t);
    if (t == napi_string) {
      const char *s = string_bytes(env, argv[3], &len_out);
      if (!s) fail = "out of memory";
      else if (spk_res_body(c->res, s, len_out) != SPK_OK) fail = "could not set the body";
    } else if (napi_is_buffer(env, argv[3], &is_buf) == napi_ok && is_buf) {
      void *data = NULL;
      size_t len = 0;
      napi_get_buffer_info(env, argv[3], &data, &len);
      if (spk_res_body(c->res, data, len) != SPK_OK) fail = "could not set the body";
    }
  }
  if (fail) {
    end_problem(c, 500, "internal-server-error", "Internal Server Error", fail);
  } else {
    end(c);
  }
  napi_get_boolean(env, true, &ret);
  return ret;
}

/* wsAccept(handle, subprotocol | null): a WebSocket handshake handler accepts — 101 (the core's
 * spk_ws_handshake_accept), the connection switches and `open` follows. Throws on a subprotocol
 * the client did not offer. */
static napi_value js_ws_accept(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], ret;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_call_t *c = argc >= 1 ? spkn_unwrap(env, argv[0], "wsAccept: not a response handle") : NULL;
  if (!c) return NULL;
  if (c->ended || c->is_hook) {
    napi_get_boolean(env, false, &ret);
    return ret;
  }
  char sp[256];
  size_t spl = 0;
  napi_valuetype t = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &t);
  if (t == napi_string && (napi_get_value_string_utf8(env, argv[1], sp, sizeof(sp), &spl) != napi_ok ||
                           spl >= sizeof(sp) - 1)) {
    napi_throw_type_error(env, "SPK_EINVAL", "wsAccept: invalid subprotocol");
    return NULL;
  }
  int rc = spk_ws_handshake_accept(c->res, t == napi_string ? sp : NULL, NULL);
  if (rc != SPK_OK) {
    napi_throw_error(env, spk_err_name(rc),
                     rc == SPK_EINVAL ? "the client did not offer that subprotocol" : spk_strerror(rc));
    return NULL;
  }
  end(c);
  napi_get_boolean(env, true, &ret);
  return ret;
}

/* respondStream(handle, status, [n0, v0, ...], sse: bool) → stream handle: the response
 * becomes a (push) stream or an event stream, its head goes out as the exchange ends now. */
static napi_value js_respond_stream(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_call_t *c = argc >= 1 ? spkn_unwrap(env, argv[0], "respondStream: not a handle") : NULL;
  if (!c) return NULL;
  if (c->ended || c->is_hook) {
    napi_throw_error(env, "SPK_ESTATE", "respondStream: the response was already sent");
    return NULL;
  }
  bool sse = false;
  if (argc >= 4) napi_get_value_bool(env, argv[3], &sse);
  spk_stream_t *stream = NULL;
  int rc = sse ? spk_res_sse(c->res, NULL, &stream) : spk_res_stream(c->res, NULL, &stream);
  if (rc != SPK_OK) {
    end_problem(c, 500, "internal-server-error", "Internal Server Error", spk_strerror(rc));
    napi_throw_error(env, spk_err_name(rc), spk_strerror(rc));
    return NULL;
  }
  int32_t status = 200;
  if (!sse && argc >= 2) napi_get_value_int32(env, argv[1], &status);
  if (!sse) spk_res_status(c->res, status);
  uint32_t n = 0;
  bool is_arr = false;
  if (argc >= 3 && napi_is_array(env, argv[2], &is_arr) == napi_ok && is_arr)
    napi_get_array_length(env, argv[2], &n);
  for (uint32_t i = 0; i + 1 < n; i += 2) {
    napi_value nv, vv;
    char name[256], value[2048];
    size_t nl = 0, vl = 0;
    napi_get_element(env, argv[2], i, &nv);
    napi_get_element(env, argv[2], i + 1, &vv);
    if (napi_get_value_string_utf8(env, nv, name, sizeof(name), &nl) == napi_ok &&
        napi_get_value_string_utf8(env, vv, value, sizeof(value), &vl) == napi_ok)
      spk_res_header_n(c->res, name, nl, value, vl);
  }
  napi_value handle = spkn_stream_wrap(env, stream);
  end(c);
  return handle;
}

/* proceed(handle): a request-phase hook lets the pipeline go on. false when already answered. */
static napi_value js_proceed(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], ret;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_call_t *c = argc ? spkn_unwrap(env, argv[0], "proceed: not a response handle") : NULL;
  if (!c) return NULL;
  if (c->ended || !c->is_hook) {
    napi_get_boolean(env, false, &ret);
    return ret;
  }
  c->ended = 1;
  if (c->in_handler) c->continued = 1; /* the hook's return says CONTINUE */
  else spk_req_continue(c->req);
  napi_get_boolean(env, true, &ret);
  return ret;
}

/* fail(handle) → bool: the route handler failed (a thrown error or a rejected promise that is
 * not an HttpError). The core answers it as any failed handler: 500 problem details, on_error
 * hooks, the handler's background tasks dropped (spk_res_fail; a negative return when the
 * handler was called directly). false when the response was already ended. */
static napi_value js_fail(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], ret;
  int32_t code = SPK_EIO; /* fail(handle, code): SPK_EQUEUEFULL answers 503 */
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_call_t *c = argc >= 1 ? spkn_unwrap(env, argv[0], "fail: not a response handle") : NULL;
  if (!c) return NULL;
  if (c->ended || c->is_hook) {
    napi_get_boolean(env, false, &ret);
    return ret;
  }
  if (argc >= 2 && (napi_get_value_int32(env, argv[1], &code) != napi_ok || code >= 0))
    code = SPK_EIO;
  save_body(c);
  c->ended = 1;
  if (c->in_handler)
    c->failed = code;
  else
    spk_res_fail(c->res, code);
  napi_get_boolean(env, true, &ret);
  return ret;
}

/* hookSetHeader(handle, name, value): a request-phase hook sets a header of the eventual
 * response (the core's `res` of the hook). */
static napi_value js_hook_set_header(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_call_t *c = argc >= 3 ? spkn_unwrap(env, argv[0], "hookSetHeader: not a hook handle") : NULL;
  if (!c) return NULL;
  if (!c->is_hook || c->ended) {
    napi_throw_error(env, "SPK_ESTATE", "setHeader: the hook has finished");
    return NULL;
  }
  char name[256], value[4096];
  size_t nl = 0, vl = 0;
  if (napi_get_value_string_utf8(env, argv[1], name, sizeof(name), &nl) != napi_ok ||
      napi_get_value_string_utf8(env, argv[2], value, sizeof(value), &vl) != napi_ok ||
      nl >= sizeof(name) - 1 || vl >= sizeof(value) - 1 ||
      spk_res_set_header(c->res, name, value) != SPK_OK)
    napi_throw_type_error(env, "SPK_EINVAL", "setHeader: invalid header");
  return NULL;
}

spk_req_t *spkn_handle_req(napi_env env, napi_value handle, spkn_app_t **app) {
  spkn_call_t *c = spkn_unwrap(env, handle, "not a response handle");
  if (c && app) *app = c->route->app;
  return c && !c->ended ? c->req : NULL;
}

/* requestBody(handle) → Buffer: the body of a route handler's request (lazy, see
 * spkn_call_t.body_lazy): from the exchange while it is unanswered, else the copy taken then. */
static napi_value js_request_body(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_call_t *c = argc >= 1 ? spkn_unwrap(env, argv[0], "requestBody: not a handle") : NULL;
  if (!c) return NULL;
  spk_str_t b = {"", 0};
  if (c->body_saved) b = (spk_str_t){c->body_copy ? c->body_copy : "", c->body_len};
  else if (!c->ended) b = spk_req_body(c->req);
  if (napi_create_buffer_copy(env, b.len, b.len ? b.ptr : "", NULL, &out) != napi_ok) {
    spkn_check(env, napi_generic_failure, "requestBody failed");
    return NULL;
  }
  return out;
}

napi_status spkn_init_respond(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
      {"requestBody", NULL, js_request_body, NULL, NULL, NULL, napi_enumerable, NULL},
      {"respond", NULL, js_respond, NULL, NULL, NULL, napi_enumerable, NULL},
      {"proceed", NULL, js_proceed, NULL, NULL, NULL, napi_enumerable, NULL},
      {"fail", NULL, js_fail, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hookSetHeader", NULL, js_hook_set_header, NULL, NULL, NULL, napi_enumerable, NULL},
      {"wsAccept", NULL, js_ws_accept, NULL, NULL, NULL, napi_enumerable, NULL},
      {"respondStream", NULL, js_respond_stream, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof(d) / sizeof(d[0]), d);
}
