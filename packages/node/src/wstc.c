/* The in-memory test client's WebSocket side from JS (include/spikard/testclient_ws.h).
 *
 * Every operation (connect, send, receive, free) runs on a libuv pool thread as async work:
 * the in-memory connection runs the server's code on the calling thread, and that code hands
 * the events to JS (ws.c) and, for `open`, waits for the JS thread — which must therefore stay
 * free. JS serializes the operations of one socket (lib/ws.js). The socket handle keeps its
 * test client's handle alive, so the client is freed after its sockets. */
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "spikard/testclient_ws.h"

typedef struct spkn_tws {
  spk_test_ws_t *ws;
  napi_ref client; /* the JS test client handle */
  int freeing;     /* free() was asked for: no more operations */
} spkn_tws_t;

enum { OP_CONNECT, OP_FRAME, OP_RAW, OP_CLOSE, OP_RECV, OP_FREE };

typedef struct spkn_twork {
  napi_async_work work;
  napi_deferred deferred;
  int op;
  spk_test_client_t *tc; /* connect */
  spkn_tws_t *t;
  napi_ref self;         /* keeps the socket handle (or, for connect, the client) alive */
  int owns_t;            /* a free queued by the handle's finalizer: `t` goes with it */
  int fin, rsv1, opcode, code;
  uint32_t timeout_ms;
  char *data;
  size_t len;
  int rc;
  spk_test_response_t hs;
  spk_test_ws_t *opened;
  spk_test_ws_frame_t frame;
  char *frame_data; /* copied: the client's buffer is only valid until the next receive */
  char *frame_reason;
} spkn_twork_t;

static void twork_free(napi_env env, spkn_twork_t *w) {
  if (w->self) napi_delete_reference(env, w->self);
  if (w->work) napi_delete_async_work(env, w->work);
  spk_test_response_free(&w->hs);
  free(w->data);
  free(w->frame_data);
  free(w->frame_reason);
  free(w);
}

static void execute(napi_env env, void *data) {
  (void)env;
  spkn_twork_t *w = data;
  switch (w->op) {
  case OP_CONNECT:
    w->rc = spk_test_ws_connect_raw(w->tc, w->data, w->len, &w->opened, &w->hs);
    break;
  case OP_FRAME:
    w->rc = spk_test_ws_send_frame(w->t->ws, w->fin, w->rsv1, w->opcode, w->data, w->len);
    break;
  case OP_RAW:
    w->rc = spk_test_ws_send_raw(w->t->ws, w->data, w->len);
    break;
  case OP_CLOSE:
    w->rc = spk_test_ws_send_close(w->t->ws, w->code, w->data);
    break;
  case OP_RECV:
    w->rc = spk_test_ws_recv(w->t->ws, &w->frame, w->timeout_ms);
    if (w->rc == SPK_OK) {
      w->frame_data = malloc(w->frame.len + 1);
      if (w->frame_data && w->frame.len) memcpy(w->frame_data, w->frame.data, w->frame.len);
      if (w->frame.close_reason) w->frame_reason = strdup(w->frame.close_reason);
      if (!w->frame_data) w->rc = SPK_ENOMEM;
    }
    break;
  default:
    spk_test_ws_free(w->t->ws);
    w->t->ws = NULL;
    break;
  }
}

static void tws_finalize(napi_env env, void *data, void *hint);

static napi_value str(napi_env env, const char *s, size_t len) {
  napi_value v;
  napi_create_string_utf8(env, s ? s : "", s ? len : 0, &v);
  return v;
}

static void complete(napi_env env, napi_status status, void *data) {
  spkn_twork_t *w = data;
  napi_value out = NULL, v;
  if (w->op == OP_FREE) {
    spkn_tws_t *t = w->t;
    if (t->client) napi_delete_reference(env, t->client);
    t->client = NULL;
    if (w->owns_t) {
      free(t);
    } else {
      napi_get_undefined(env, &v);
      napi_resolve_deferred(env, w->deferred, v);
    }
    twork_free(env, w);
    return;
  }
  if (status != napi_ok || w->rc != SPK_OK) {
    napi_value msg, err, code;
    napi_create_string_utf8(env, status != napi_ok ? "cancelled" : spk_strerror(w->rc),
                            NAPI_AUTO_LENGTH, &msg);
    napi_create_string_utf8(env, spk_err_name(status != napi_ok ? SPK_ESTATE : w->rc),
                            NAPI_AUTO_LENGTH, &code);
    napi_create_error(env, code, msg, &err);
    napi_reject_deferred(env, w->deferred, err);
    if (w->opened) spk_test_ws_free(w->opened); /* not reached: a failed connect opens none */
    twork_free(env, w);
    return;
  }
  napi_create_object(env, &out);
  if (w->op == OP_CONNECT) {
    napi_create_int32(env, w->hs.status, &v);
    napi_set_named_property(env, out, "status", v);
    napi_value arr;
    napi_create_array_with_length(env, w->hs.header_count * 2, &arr);
    for (size_t i = 0; i < w->hs.header_count; i++) {
      napi_set_element(env, arr, (uint32_t)(2 * i),
                       str(env, w->hs.headers[i].name, strlen(w->hs.headers[i].name)));
      napi_set_element(env, arr, (uint32_t)(2 * i + 1),
                       str(env, w->hs.headers[i].value, strlen(w->hs.headers[i].value)));
    }
    napi_set_named_property(env, out, "headers", arr);
    napi_create_buffer_copy(env, w->hs.body_len, w->hs.body_len ? w->hs.body : "", NULL, &v);
    napi_set_named_property(env, out, "body", v);
    if (w->opened) {
      spkn_tws_t *t = calloc(1, sizeof(*t));
      if (!t || spkn_wrap(env, t, tws_finalize, &v) != napi_ok) {
        free(t);
        spk_test_ws_free(w->opened); /* on the JS thread: its close event is queued, no wait */
      } else {
        t->ws = w->opened;
        t->client = w->self; /* the client handle stays referenced by the socket */
        w->self = NULL;
        napi_set_named_property(env, out, "ws", v);
      }
    }
  } else if (w->op == OP_RECV) {
    napi_create_int32(env, w->frame.opcode, &v);
    napi_set_named_property(env, out, "opcode", v);
    napi_get_boolean(env, w->frame.fin, &v);
    napi_set_named_property(env, out, "fin", v);
    napi_get_boolean(env, w->frame.rsv1, &v);
    napi_set_named_property(env, out, "rsv1", v);
    napi_create_buffer_copy(env, w->frame.len, w->frame.len ? w->frame_data : "", NULL, &v);
    napi_set_named_property(env, out, "data", v);
    if (w->frame.opcode == 8) {
      napi_create_int32(env, w->frame.close_code, &v);
      napi_set_named_property(env, out, "closeCode", v);
      napi_set_named_property(env, out, "closeReason",
                              str(env, w->frame_reason, w->frame_reason ? strlen(w->frame_reason) : 0));
    }
  }
  napi_resolve_deferred(env, w->deferred, out);
  twork_free(env, w);
}

static napi_value queue(napi_env env, spkn_twork_t *w, napi_value keep) {
  napi_value promise, name;
  napi_create_string_utf8(env, "spikard.testclient.ws", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, keep, 1, &w->self) != napi_ok ||
      napi_create_promise(env, &w->deferred, &promise) != napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, w, &w->work) != napi_ok ||
      napi_queue_async_work(env, w->work) != napi_ok) {
    twork_free(env, w);
    napi_throw_error(env, NULL, "could not queue the WebSocket operation");
    return NULL;
  }
  return promise;
}

static void tws_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  spkn_tws_t *t = data;
  if (!t->ws) { /* freed already (free() completed: no work can be pending on the handle) */
    free(t);
    return;
  }
  /* At environment teardown no JS runs again: the in-memory connection is left to the
   * process, like the test client itself (testclient.c). */
  if (spkn_env_closing(env)) return;
  spkn_twork_t *w = calloc(1, sizeof(*w));
  napi_value name;
  if (!w) return;
  w->op = OP_FREE;
  w->t = t;
  w->owns_t = 1;
  if (napi_create_string_utf8(env, "spikard.testclient.ws.free", NAPI_AUTO_LENGTH, &name) !=
          napi_ok ||
      napi_create_async_work(env, NULL, name, execute, complete, w, &w->work) != napi_ok ||
      napi_queue_async_work(env, w->work) != napi_ok)
    twork_free(env, w);
}

/* Copy a Buffer or string argument. */
static int bytes_of(napi_env env, napi_value v, char **out, size_t *len) {
  bool is_buf = false;
  *out = NULL;
  *len = 0;
  if (napi_is_buffer(env, v, &is_buf) == napi_ok && is_buf) {
    void *p = NULL;
    napi_get_buffer_info(env, v, &p, len);
    *out = malloc(*len + 1);
    if (!*out) return -1;
    if (*len) memcpy(*out, p, *len);
    (*out)[*len] = 0;
    return 0;
  }
  if (napi_get_value_string_utf8(env, v, NULL, 0, len) != napi_ok) return -1;
  *out = malloc(*len + 1);
  if (!*out) return -1;
  napi_get_value_string_utf8(env, v, *out, *len + 1, len);
  return 0;
}

/* wsConnect(client, rawUpgradeRequest) → Promise<{status, headers, body, ws?}> */
static napi_value js_connect(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spk_test_client_t *tc = argc >= 2 ? spkn_tc_client(env, argv[0]) : NULL;
  if (!tc) return NULL;
  spkn_twork_t *w = calloc(1, sizeof(*w));
  if (!w || bytes_of(env, argv[1], &w->data, &w->len) != 0) {
    if (w) free(w->data);
    free(w);
    napi_throw_type_error(env, NULL, "wsConnect(client, bytes)");
    return NULL;
  }
  w->op = OP_CONNECT;
  w->tc = tc;
  return queue(env, w, argv[0]);
}

/* wsOp(socket, op, ...): frame (fin, rsv1, opcode, data), raw (data), close (code, reason),
 * recv (timeoutMs), free. → Promise */
static napi_value js_op(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_tws_t *t = argc >= 2 ? spkn_unwrap(env, argv[0], "not a test WebSocket") : NULL;
  if (!t) return NULL;
  int32_t op = -1;
  napi_get_value_int32(env, argv[1], &op);
  if (!t->ws || t->freeing) {
    napi_throw_error(env, "SPK_ESTATE", "the test WebSocket was closed");
    return NULL;
  }
  spkn_twork_t *w = calloc(1, sizeof(*w));
  if (!w) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  w->op = op;
  w->t = t;
  int bad = 0;
  switch (op) {
  case OP_FRAME: {
    bool fin = true, rsv1 = false;
    bad = argc < 6 || napi_get_value_bool(env, argv[2], &fin) != napi_ok ||
          napi_get_value_bool(env, argv[3], &rsv1) != napi_ok ||
          napi_get_value_int32(env, argv[4], &w->opcode) != napi_ok ||
          w->opcode < 0 || w->opcode > 15 || bytes_of(env, argv[5], &w->data, &w->len) != 0;
    w->fin = fin;
    w->rsv1 = rsv1;
    break;
  }
  case OP_RAW:
    bad = argc < 3 || bytes_of(env, argv[2], &w->data, &w->len) != 0;
    break;
  case OP_CLOSE:
    bad = argc < 4 || napi_get_value_int32(env, argv[2], &w->code) != napi_ok ||
          bytes_of(env, argv[3], &w->data, &w->len) != 0 || w->len > 123;
    break;
  case OP_RECV:
    bad = argc < 3 || napi_get_value_uint32(env, argv[2], &w->timeout_ms) != napi_ok;
    break;
  case OP_FREE:
    t->freeing = 1;
    break;
  default:
    bad = 1;
  }
  if (bad) {
    free(w->data);
    free(w);
    napi_throw_type_error(env, NULL, "wsOp: bad arguments");
    return NULL;
  }
  return queue(env, w, argv[0]);
}

napi_status spkn_init_wstc(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
      {"wsConnect", NULL, js_connect, NULL, NULL, NULL, napi_enumerable, NULL},
      {"wsOp", NULL, js_op, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof(d) / sizeof(d[0]), d);
}
