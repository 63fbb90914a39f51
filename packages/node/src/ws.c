/* WebSocket routes from JS over the core's WebSocket API (include/spikard/websocket.h).
 *
 * The core calls on_open/on_message/on_close on the connection's thread:
 *   - on the JS thread (the `node` engine) the JS dispatcher is called right there;
 *   - on a core thread (`threads` engine, test client) events go through the app's threadsafe
 *     function in order (SPKN_KIND_WS). on_open waits until JS has run `open` (the upgrade
 *     request is only valid during the call; the JS thread never waits for a core thread).
 * dispatch(index, 0, handle, request) → the JS connection object, kept (strongly) until the
 * close event; then dispatch(index, 1|2, conn, data) per message and dispatch(index, 3, conn,
 * [code, reason]) once. JS sends and closes through the handle (any thread is fine for the
 * core); the handle retains the spk_ws_t, so calls after the close answer SPK_ESTATE. */
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "spikard/websocket.h"

typedef struct spkn_wsconn {
  spk_ws_t *ws; /* retained */
  spkn_route_t *slot;
  napi_ref conn; /* the JS connection object, until the close event */
  int refs;      /* JS thread only: the core's (until the close event) + the handle's */
} spkn_wsconn_t;

enum { EV_OPEN = 0, EV_TEXT = 1, EV_BINARY = 2, EV_CLOSE = 3 };

typedef struct spkn_wsev {
  int kind; /* SPKN_KIND_WS, first like every threadsafe function item */
  int ev;
  spkn_wsconn_t *wc;
  const spk_req_t *req; /* open */
  pthread_mutex_t *mu;  /* open: the waiting core thread's */
  pthread_cond_t *cv;
  int *done;
  int code; /* close */
  size_t len;
  char data[];
} spkn_wsev_t;

static void wc_unref(spkn_wsconn_t *wc) {
  if (--wc->refs > 0) return;
  spk_ws_release(wc->ws);
  free(wc);
}

static void handle_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  wc_unref(data);
}

static void swallow(napi_env env) {
  napi_value exc;
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending)
    napi_get_and_clear_last_exception(env, &exc);
}

/* One event on the JS thread (inside a handle scope). */
static void deliver(napi_env env, napi_value fn, spkn_wsev_t *e) {
  spkn_wsconn_t *wc = e->wc;
  napi_value argv[4], undef, ret;
  napi_get_undefined(env, &undef);
  napi_create_uint32(env, wc->slot->index, &argv[0]);
  napi_create_int32(env, e->ev, &argv[1]);
  if (e->ev == EV_OPEN) {
    argv[3] = spkn_build_request(env, (spk_req_t *)e->req);
    if (!argv[3] || spkn_wrap(env, wc, handle_finalize, &argv[2]) != napi_ok) {
      spk_ws_close(wc->ws, 1011, "server error");
      return;
    }
    wc->refs++; /* the handle's */
    napi_valuetype t = napi_undefined;
    if (napi_call_function(env, undef, fn, 4, argv, &ret) != napi_ok ||
        napi_typeof(env, ret, &t) != napi_ok || t != napi_object ||
        napi_create_reference(env, ret, 1, &wc->conn) != napi_ok) {
      swallow(env);
      wc->conn = NULL;
      spk_ws_close(wc->ws, 1011, "handler failed");
    }
    return;
  }
  if (!wc->conn || napi_get_reference_value(env, wc->conn, &argv[2]) != napi_ok || !argv[2]) {
    if (e->ev == EV_CLOSE) goto closed;
    return;
  }
  if (e->ev == EV_TEXT) {
    napi_create_string_utf8(env, e->data, e->len, &argv[3]);
  } else if (e->ev == EV_BINARY) {
    napi_create_buffer_copy(env, e->len, e->len ? e->data : "", NULL, &argv[3]);
  } else {
    napi_value code, reason;
    napi_create_array_with_length(env, 2, &argv[3]);
    napi_create_int32(env, e->code, &code);
    napi_create_string_utf8(env, e->data, e->len, &reason);
    napi_set_element(env, argv[3], 0, code);
    napi_set_element(env, argv[3], 1, reason);
  }
  if (napi_call_function(env, undef, fn, 4, argv, &ret) != napi_ok) {
    swallow(env);
    if (e->ev != EV_CLOSE) spk_ws_close(wc->ws, 1011, "handler failed");
  }
  if (e->ev != EV_CLOSE) return;
closed:
  if (wc->conn) napi_delete_reference(env, wc->conn);
  wc->conn = NULL;
  wc_unref(wc); /* the core's */
}

static void signal_open(spkn_wsev_t *e) {
  if (!e->mu) return;
  pthread_mutex_lock(e->mu);
  *e->done = 1;
  pthread_cond_signal(e->cv);
  pthread_mutex_unlock(e->mu);
}

void spkn_ws_call_js(napi_env env, napi_value js_cb, void *data) {
  spkn_wsev_t *e = data;
  if (env) {
    napi_handle_scope hs;
    if (napi_open_handle_scope(env, &hs) == napi_ok) {
      deliver(env, js_cb, e);
      napi_close_handle_scope(env, hs);
    }
  } else if (e->ev == EV_OPEN) {
    spk_ws_close(e->wc->ws, 1001, "going away");
  }
  if (e->ev == EV_OPEN) signal_open(e); /* the waiter owns `e` */
  else free(e);
}

/* Run an event: directly on the JS thread, through the threadsafe function elsewhere. */
static void post(spkn_app_t *a, spkn_wsev_t *e) {
  if (pthread_equal(pthread_self(), a->js_thread)) {
    napi_env env = a->env;
    napi_handle_scope hs;
    napi_value fn;
    if (napi_open_handle_scope(env, &hs) == napi_ok) {
      if (napi_get_reference_value(env, a->dispatch, &fn) == napi_ok) deliver(env, fn, e);
      napi_close_handle_scope(env, hs);
    }
    if (e->ev != EV_OPEN) free(e);
    return;
  }
  if (e->ev == EV_OPEN) {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int done = 0;
    pthread_mutex_init(&mu, NULL);
    pthread_cond_init(&cv, NULL);
    e->mu = &mu;
    e->cv = &cv;
    e->done = &done;
    if (a->tsfn && napi_call_threadsafe_function(a->tsfn, e, napi_tsfn_blocking) == napi_ok) {
      pthread_mutex_lock(&mu);
      while (!done) pthread_cond_wait(&cv, &mu);
      pthread_mutex_unlock(&mu);
    } else {
      spk_ws_close(e->wc->ws, 1001, "going away");
    }
    pthread_cond_destroy(&cv);
    pthread_mutex_destroy(&mu);
    return;
  }
  if (!a->tsfn || napi_call_threadsafe_function(a->tsfn, e, napi_tsfn_blocking) != napi_ok)
    free(e); /* the environment is going away */
}

static spkn_wsev_t *event(int ev, spkn_wsconn_t *wc, const char *data, size_t len) {
  spkn_wsev_t *e = malloc(sizeof(*e) + len + 1);
  if (!e) return NULL;
  memset(e, 0, sizeof(*e));
  e->kind = SPKN_KIND_WS;
  e->ev = ev;
  e->wc = wc;
  e->len = len;
  if (len) memcpy(e->data, data, len);
  e->data[len] = 0;
  return e;
}

static void on_open(spk_ws_t *ws, const spk_req_t *req, void *user_data) {
  spkn_route_t *slot = user_data;
  spkn_wsconn_t *wc = calloc(1, sizeof(*wc));
  spkn_wsev_t *e = wc ? event(EV_OPEN, wc, NULL, 0) : NULL;
  if (!e) {
    free(wc);
    spk_ws_close(ws, 1011, "out of memory");
    return;
  }
  spk_ws_retain(ws);
  wc->ws = ws;
  wc->slot = slot;
  wc->refs = 1; /* the core's, given back with the close event */
  spk_ws_set_user_data(ws, wc);
  e->req = req;
  post(slot->app, e);
  free(e);
}

static void on_message(spk_ws_t *ws, spk_ws_kind_t kind, const char *data, size_t len,
                       void *user_data) {
  spkn_route_t *slot = user_data;
  spkn_wsconn_t *wc = spk_ws_get_user_data(ws);
  if (!wc) return;
  spkn_wsev_t *e = event(kind == SPK_WS_BINARY ? EV_BINARY : EV_TEXT, wc, data, len);
  if (!e) {
    spk_ws_close(ws, 1011, "out of memory");
    return;
  }
  post(slot->app, e);
}

static void on_close(spk_ws_t *ws, int code, const char *reason, size_t reason_len,
                     void *user_data) {
  spkn_route_t *slot = user_data;
  spkn_wsconn_t *wc = spk_ws_get_user_data(ws);
  if (!wc) return;
  spk_ws_set_user_data(ws, NULL);
  spkn_wsev_t *e = event(EV_CLOSE, wc, reason, reason ? reason_len : 0);
  if (!e) return; /* out of memory: the connection object is leaked, never freed twice */
  e->code = code;
  post(slot->app, e);
}

/* A route with a JS handshake handler: the upgrade request goes to it like a route handler's
 * request (both engines), and it answers with wsAccept or any response (a refusal). */
static int on_handshake(spk_req_t *req, spk_res_t *res, void *user_data) {
  spkn_route_t *slot = user_data;
  return spkn_route_handler(req, res, slot->handshake);
}

static const spk_ws_callbacks_t callbacks = {
    .on_open = on_open, .on_message = on_message, .on_close = on_close};
static const spk_ws_callbacks_t callbacks_with_handshake = {
    .on_open = on_open, .on_message = on_message, .on_close = on_close,
    .on_handshake = on_handshake};

static napi_value prop(napi_env env, napi_value o, const char *key) {
  napi_value v = NULL;
  bool has = false;
  if (napi_has_named_property(env, o, key, &has) != napi_ok || !has ||
      napi_get_named_property(env, o, key, &v) != napi_ok)
    return NULL;
  napi_valuetype t;
  if (napi_typeof(env, v, &t) != napi_ok || t == napi_undefined || t == napi_null) return NULL;
  return v;
}

static char *dup_str(napi_env env, napi_value v, int *bad) {
  size_t len = 0;
  if (!v) return NULL;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) {
    *bad = 1;
    return NULL;
  }
  char *p = malloc(len + 1);
  if (!p) *bad = 1;
  else napi_get_value_string_utf8(env, v, p, len + 1, &len);
  return p;
}

static char **strings_of(napi_env env, napi_value arr, size_t *count, int *bad) {
  bool is_arr = false;
  uint32_t n = 0;
  *count = 0;
  if (!arr) return NULL;
  if (napi_is_array(env, arr, &is_arr) != napi_ok || !is_arr) {
    *bad = 1;
    return NULL;
  }
  napi_get_array_length(env, arr, &n);
  if (!n || n > 256) {
    if (n) *bad = 1;
    return NULL;
  }
  char **out = calloc(n, sizeof(char *));
  if (!out) {
    *bad = 1;
    return NULL;
  }
  for (uint32_t i = 0; i < n; i++) {
    napi_value e;
    napi_get_element(env, arr, i, &e);
    out[i] = dup_str(env, e, bad);
  }
  *count = n;
  return out;
}

static void strings_free(char **s, size_t n) {
  for (size_t i = 0; s && i < n; i++) free(s[i]);
  free(s);
}

static uint32_t num(napi_env env, napi_value o, const char *key, int *bad) {
  napi_value v = prop(env, o, key);
  double d = 0;
  if (!v) return 0;
  if (napi_get_value_double(env, v, &d) != napi_ok || !(d >= 0) || d > 4294967295.0) *bad = 1;
  return *bad ? 0 : (uint32_t)d;
}

static int flag(napi_env env, napi_value o, const char *key) {
  napi_value v = prop(env, o, key);
  bool b = false;
  if (v) napi_coerce_to_bool(env, v, &v), napi_get_value_bool(env, v, &b);
  return b;
}

/* addWebSocket(app, path, index, {subprotocols, requireSubprotocol, origins, maxMessageBytes,
 * idleTimeoutMs, pingIntervalMs, permessageDeflate, deflateNoContext, json, schema (JSON text)}
 * [, handshakeIndex]) */
static napi_value js_add_ws(napi_env env, napi_callback_info info) {
  size_t argc = 5;
  napi_value argv[5];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_app_t *a = argc >= 1 ? spkn_unwrap(env, argv[0], "addWebSocket: not an app handle") : NULL;
  if (!a) return NULL;
  int bad = 0;
  uint32_t index = 0;
  napi_valuetype t = napi_undefined;
  if (argc < 4 || napi_get_value_uint32(env, argv[2], &index) != napi_ok ||
      napi_typeof(env, argv[3], &t) != napi_ok || t != napi_object) {
    napi_throw_type_error(env, NULL, "addWebSocket(app, path, index, options)");
    return NULL;
  }
  char *path = dup_str(env, argv[1], &bad);
  napi_value o = argv[3];
  spk_ws_options_t opts;
  spk_ws_options_default(&opts);
  size_t nproto = 0, norig = 0;
  char **protos = strings_of(env, prop(env, o, "subprotocols"), &nproto, &bad);
  char **origins = strings_of(env, prop(env, o, "origins"), &norig, &bad);
  char *schema = dup_str(env, prop(env, o, "schema"), &bad);
  opts.subprotocols = (const char *const *)protos;
  opts.subprotocol_count = nproto;
  opts.require_subprotocol = flag(env, o, "requireSubprotocol");
  opts.origins = (const char *const *)origins;
  opts.origin_count = norig;
  uint32_t max = num(env, o, "maxMessageBytes", &bad);
  if (max) opts.max_message_bytes = max;
  opts.idle_timeout_ms = num(env, o, "idleTimeoutMs", &bad);
  opts.ping_interval_ms = num(env, o, "pingIntervalMs", &bad);
  opts.permessage_deflate = flag(env, o, "permessageDeflate");
  opts.deflate_no_context = flag(env, o, "deflateNoContext");
  opts.json_messages = flag(env, o, "json");
  opts.message_schema = schema;
  uint32_t hs_index = 0;
  int with_hs = argc >= 5 && napi_get_value_uint32(env, argv[4], &hs_index) == napi_ok;
  spkn_route_t *slot = NULL;
  if (bad || !path) {
    napi_throw_type_error(env, NULL, "addWebSocket: path, subprotocols and origins must be strings, limits numbers");
  } else if (!(slot = spkn_app_new_slot(a, index)) ||
             (with_hs && !(slot->handshake = spkn_app_new_slot(a, hs_index)))) {
    napi_throw_error(env, NULL, "out of memory");
  } else {
    int rc = spk_app_ws_ex(a->app, path, with_hs ? &callbacks_with_handshake : &callbacks, &opts,
                           slot);
    if (rc != SPK_OK) {
      const char *why = spk_app_last_error(a->app);
      napi_throw_error(env, spk_err_name(rc), why && *why ? why : spk_strerror(rc));
    }
  }
  free(path);
  free(schema);
  strings_free(protos, nproto);
  strings_free(origins, norig);
  return NULL;
}

static spkn_wsconn_t *unwrap_ws(napi_env env, napi_callback_info info, size_t *argc,
                                napi_value *argv) {
  napi_get_cb_info(env, info, argc, argv, NULL, NULL);
  return *argc ? spkn_unwrap(env, argv[0], "not a WebSocket handle") : NULL;
}

static napi_value rc_value(napi_env env, int rc) {
  napi_value v;
  napi_create_int32(env, rc, &v);
  return v;
}

/* wsSend(handle, data: string | Buffer) → 0, or a negative SPK_E* (SPK_ESTATE once closed) */
static napi_value js_ws_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  spkn_wsconn_t *wc = unwrap_ws(env, info, &argc, argv);
  if (!wc) return NULL;
  bool is_buf = false;
  if (argc >= 2 && napi_is_buffer(env, argv[1], &is_buf) == napi_ok && is_buf) {
    void *p = NULL;
    size_t len = 0;
    napi_get_buffer_info(env, argv[1], &p, &len);
    return rc_value(env, spk_ws_send_binary(wc->ws, len ? p : "", len));
  }
  size_t len = 0;
  if (argc < 2 || napi_get_value_string_utf8(env, argv[1], NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "wsSend: a string or a Buffer is required");
    return NULL;
  }
  char small[1024];
  char *s = len < sizeof(small) ? small : malloc(len + 1);
  if (!s) return rc_value(env, SPK_ENOMEM);
  napi_get_value_string_utf8(env, argv[1], s, len + 1, &len);
  int rc = spk_ws_send_text(wc->ws, s, len);
  if (s != small) free(s);
  return rc_value(env, rc);
}

/* wsClose(handle, code, reason) → 0 or a negative SPK_E* */
static napi_value js_ws_close(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  spkn_wsconn_t *wc = unwrap_ws(env, info, &argc, argv);
  if (!wc) return NULL;
  int32_t code = 1000;
  char reason[128] = "";
  size_t len = 0;
  if (argc >= 2) napi_get_value_int32(env, argv[1], &code);
  if (argc >= 3 && napi_get_value_string_utf8(env, argv[2], reason, sizeof(reason), &len) == napi_ok &&
      len > 123) {
    napi_throw_range_error(env, NULL, "close: the reason is limited to 123 bytes");
    return NULL;
  }
  if (code < 1000 || code > 4999) {
    napi_throw_range_error(env, NULL, "close: the code must be within 1000..4999");
    return NULL;
  }
  return rc_value(env, spk_ws_close(wc->ws, code, reason));
}

static napi_value js_ws_subprotocol(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], v;
  spkn_wsconn_t *wc = unwrap_ws(env, info, &argc, argv);
  if (!wc) return NULL;
  const char *p = spk_ws_subprotocol(wc->ws);
  if (p) napi_create_string_utf8(env, p, NAPI_AUTO_LENGTH, &v);
  else napi_get_null(env, &v);
  return v;
}

/* ---- pub/sub ---- */

static void hub_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  spk_ws_hub_free(data);
}

static napi_value js_hub_new(napi_env env, napi_callback_info info) {
  (void)info;
  napi_value out;
  spk_ws_hub_t *hub = spk_ws_hub_new();
  if (!hub || spkn_wrap(env, hub, hub_finalize, &out) != napi_ok) {
    spk_ws_hub_free(hub);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  return out;
}

/* hubOp(hub, op 0 subscribe | 1 unsubscribe | 2 unsubscribe all, handle, topic) → rc */
static napi_value js_hub_op(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spk_ws_hub_t *hub = argc >= 3 ? spkn_unwrap(env, argv[0], "not a hub") : NULL;
  spkn_wsconn_t *wc = hub ? spkn_unwrap(env, argv[2], "not a WebSocket handle") : NULL;
  if (!wc) return NULL;
  int32_t op = 0;
  napi_get_value_int32(env, argv[1], &op);
  if (op == 2) {
    spk_ws_hub_unsubscribe_all(hub, wc->ws);
    return rc_value(env, SPK_OK);
  }
  char topic[512];
  size_t len = 0;
  if (argc < 4 || napi_get_value_string_utf8(env, argv[3], topic, sizeof(topic), &len) != napi_ok ||
      len >= sizeof(topic) - 1) {
    napi_throw_type_error(env, NULL, "hub: a topic (string, < 511 bytes) is required");
    return NULL;
  }
  return rc_value(env, op == 0 ? spk_ws_hub_subscribe(hub, topic, wc->ws)
                               : spk_ws_hub_unsubscribe(hub, topic, wc->ws));
}

/* hubPublish(hub, topic, data: string | Buffer) → subscribers reached, or a negative SPK_E* */
static napi_value js_hub_publish(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spk_ws_hub_t *hub = argc >= 3 ? spkn_unwrap(env, argv[0], "not a hub") : NULL;
  if (!hub) return NULL;
  char topic[512];
  size_t tlen = 0;
  if (napi_get_value_string_utf8(env, argv[1], topic, sizeof(topic), &tlen) != napi_ok ||
      tlen >= sizeof(topic) - 1) {
    napi_throw_type_error(env, NULL, "publish: a topic (string, < 511 bytes) is required");
    return NULL;
  }
  bool is_buf = false;
  if (napi_is_buffer(env, argv[2], &is_buf) == napi_ok && is_buf) {
    void *p = NULL;
    size_t len = 0;
    napi_get_buffer_info(env, argv[2], &p, &len);
    return rc_value(env, spk_ws_hub_publish(hub, topic, SPK_WS_BINARY, len ? p : "", len));
  }
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[2], NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "publish: a string or a Buffer is required");
    return NULL;
  }
  char *s = malloc(len + 1);
  if (!s) return rc_value(env, SPK_ENOMEM);
  napi_get_value_string_utf8(env, argv[2], s, len + 1, &len);
  int rc = spk_ws_hub_publish(hub, topic, SPK_WS_TEXT, s, len);
  free(s);
  return rc_value(env, rc);
}

napi_status spkn_init_ws(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
      {"addWebSocket", NULL, js_add_ws, NULL, NULL, NULL, napi_enumerable, NULL},
      {"wsSend", NULL, js_ws_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"wsClose", NULL, js_ws_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"wsSubprotocol", NULL, js_ws_subprotocol, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hubNew", NULL, js_hub_new, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hubOp", NULL, js_hub_op, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hubPublish", NULL, js_hub_publish, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof(d) / sizeof(d[0]), d);
}
