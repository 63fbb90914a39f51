/* The in-memory test client from JS: each send runs spk_test_client_send on a libuv pool
 * thread (it blocks until the response is ended), so the JS thread stays free to run the
 * handlers the exchange is handed to. Resolves {status, headers: [n0, v0, ...], body}. */
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "spikard/testclient.h"

typedef struct spkn_tc {
  spkn_app_t *app;
  spk_test_client_t *client;
  napi_async_work free_work;
} spkn_tc_t;

typedef struct spkn_send {
  spkn_tc_t *tc;
  napi_async_work work;
  napi_deferred deferred;
  napi_ref self; /* keeps the client handle alive while the send runs */
  char *method, *target;
  spk_test_header_t *headers;
  size_t header_count;
  char **strings; /* header names and values */
  void *body;
  size_t body_len;
  int raw; /* `body` is the whole request, sent with spk_test_client_send_raw */
  int rc;
  spk_test_response_t res;
} spkn_send_t;

/* spk_test_client_free waits for exchanges a request timeout answered while their handlers
 * still run — handlers that need this (JS) thread to finish. So the client is freed on a pool
 * thread, and the app released back here afterwards. */
static void free_execute(napi_env env, void *data) {
  (void)env;
  spkn_tc_t *tc = data;
  spk_test_client_free(tc->client);
}

static void free_complete(napi_env env, napi_status status, void *data) {
  (void)status;
  spkn_tc_t *tc = data;
  napi_delete_async_work(env, tc->free_work);
  spkn_app_unuse(tc->app);
  free(tc);
}

static void tc_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  spkn_tc_t *tc = data;
  napi_value name;
  /* At environment teardown no JS runs again: an exchange still in a JS handler's hands would
   * never end and the free would wait forever. The process (or worker) is ending; the client
   * and its app are left to it. */
  if (spkn_env_closing(env)) return;
  if (napi_create_string_utf8(env, "spikard.testclient.free", NAPI_AUTO_LENGTH, &name) ==
          napi_ok &&
      napi_create_async_work(env, NULL, name, free_execute, free_complete, tc, &tc->free_work) ==
          napi_ok &&
      napi_queue_async_work(env, tc->free_work) == napi_ok)
    return;
  /* Out of memory for the work item: the client is leaked rather than risking a deadlock. */
}

/* testClient(app) → handle */
static napi_value js_tc_new(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_app_t *a = argc ? spkn_unwrap(env, argv[0], "testClient: not an app handle") : NULL;
  if (!a) return NULL;
  if (spkn_check(env, spkn_app_ensure_tsfn(env, a), "testClient: threadsafe function")) return NULL;
  int rc = spk_app_freeze(a->app);
  if (rc != SPK_OK) {
    const char *why = spk_app_last_error(a->app);
    napi_throw_error(env, spk_err_name(rc), why && *why ? why : spk_strerror(rc));
    return NULL;
  }
  spkn_tc_t *tc = calloc(1, sizeof(*tc));
  if (!tc || !(tc->client = spk_test_client_new(a->app))) {
    free(tc);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  tc->app = a;
  a->users++;
  if (spkn_check(env, spkn_wrap(env, tc, tc_finalize, &out), "testClient: wrap")) {
    tc_finalize(env, tc, NULL);
    return NULL;
  }
  return out;
}

static void send_free(napi_env env, spkn_send_t *s) {
  if (s->self) napi_delete_reference(env, s->self);
  if (s->work) napi_delete_async_work(env, s->work);
  for (size_t i = 0; i < s->header_count * 2; i++) free(s->strings[i]);
  free(s->strings);
  free(s->headers);
  free(s->method);
  free(s->target);
  free(s->body);
  spk_test_response_free(&s->res);
  free(s);
}

static void send_execute(napi_env env, void *data) {
  (void)env;
  spkn_send_t *s = data;
  if (s->raw) {
    s->rc = spk_test_client_send_raw(s->tc->client, s->body, s->body_len, &s->res);
    return;
  }
  spk_test_request_t r = {s->method, s->target, s->headers, s->header_count, s->body,
                          s->body_len, 0};
  s->rc = spk_test_client_send(s->tc->client, &r, &s->res);
}

static void send_complete(napi_env env, napi_status status, void *data) {
  spkn_send_t *s = data;
  napi_value out, v, arr, body;
  if (status != napi_ok || s->rc != SPK_OK) {
    napi_value msg, err;
    napi_create_string_utf8(env, status != napi_ok ? "send cancelled" : spk_strerror(s->rc),
                            NAPI_AUTO_LENGTH, &msg);
    napi_create_error(env, NULL, msg, &err);
    napi_reject_deferred(env, s->deferred, err);
    send_free(env, s);
    return;
  }
  napi_create_object(env, &out);
  napi_create_int32(env, s->res.status, &v);
  napi_set_named_property(env, out, "status", v);
  napi_create_array_with_length(env, s->res.header_count * 2, &arr);
  for (size_t i = 0; i < s->res.header_count; i++) {
    napi_create_string_utf8(env, s->res.headers[i].name, NAPI_AUTO_LENGTH, &v);
    napi_set_element(env, arr, (uint32_t)(2 * i), v);
    napi_create_string_utf8(env, s->res.headers[i].value, NAPI_AUTO_LENGTH, &v);
    napi_set_element(env, arr, (uint32_t)(2 * i + 1), v);
  }
  napi_set_named_property(env, out, "headers", arr);
  napi_create_buffer_copy(env, s->res.body_len, s->res.body_len ? s->res.body : "", NULL, &body);
  napi_set_named_property(env, out, "body", body);
  napi_resolve_deferred(env, s->deferred, out);
  send_free(env, s);
}

static char *dup_string(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *p = malloc(len + 1);
  if (p) napi_get_value_string_utf8(env, v, p, len + 1, &len);
  return p;
}

/* send(client, method, target, [n0, v0, ...], body: Buffer | undefined, raw: bool) → Promise */
static napi_value js_tc_send(napi_env env, napi_callback_info info) {
  size_t argc = 6;
  napi_value argv[6], promise, name;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_tc_t *tc = argc >= 1 ? spkn_unwrap(env, argv[0], "send: not a test client") : NULL;
  if (!tc) return NULL;
  if (argc < 6) {
    napi_throw_type_error(env, NULL, "send(client, method, target, headers, body, raw)");
    return NULL;
  }
  spkn_send_t *s = calloc(1, sizeof(*s));
  if (!s) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  s->tc = tc;
  bool raw = false;
  napi_get_value_bool(env, argv[5], &raw);
  s->raw = raw;
  s->method = dup_string(env, argv[1]);
  s->target = dup_string(env, argv[2]);
  uint32_t n = 0;
  bool is_arr = false;
  if (napi_is_array(env, argv[3], &is_arr) == napi_ok && is_arr)
    napi_get_array_length(env, argv[3], &n);
  s->header_count = n / 2;
  int bad = !s->method || !s->target;
  if (s->header_count) {
    s->headers = calloc(s->header_count, sizeof(*s->headers));
    s->strings = calloc(s->header_count * 2, sizeof(char *));
    bad |= !s->headers || !s->strings;
    for (uint32_t i = 0; !bad && i < s->header_count * 2; i++) {
      napi_value e;
      napi_get_element(env, argv[3], i, &e);
      if (!(s->strings[i] = dup_string(env, e))) bad = 1;
    }
    for (size_t i = 0; !bad && i < s->header_count; i++) {
      s->headers[i].name = s->strings[2 * i];
      s->headers[i].value = s->strings[2 * i + 1];
    }
  }
  bool is_buf = false;
  if (!bad && napi_is_buffer(env, argv[4], &is_buf) == napi_ok && is_buf) {
    void *data = NULL;
    size_t len = 0;
    napi_get_buffer_info(env, argv[4], &data, &len);
    s->body = malloc(len ? len : 1);
    if (!s->body) bad = 1;
    else if (len) memcpy(s->body, data, len);
    s->body_len = len;
  }
  if (bad) {
    send_free(env, s);
    napi_throw_type_error(env, NULL, "send: method, target and headers must be strings");
    return NULL;
  }
  napi_create_string_utf8(env, "spikard.testclient.send", NAPI_AUTO_LENGTH, &name);
  if (napi_create_reference(env, argv[0], 1, &s->self) != napi_ok ||
      napi_create_promise(env, &s->deferred, &promise) != napi_ok ||
      napi_create_async_work(env, NULL, name, send_execute, send_complete, s, &s->work) !=
          napi_ok ||
      napi_queue_async_work(env, s->work) != napi_ok) {
    send_free(env, s); /* a created deferred is left pending: the promise is never returned */
    napi_throw_error(env, NULL, "send: could not queue the request");
    return NULL;
  }
  return promise;
}

spk_test_client_t *spkn_tc_client(napi_env env, napi_value handle) {
  spkn_tc_t *tc = spkn_unwrap(env, handle, "not a test client");
  return tc ? tc->client : NULL;
}

napi_status spkn_init_testclient(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
      {"testClient", NULL, js_tc_new, NULL, NULL, NULL, napi_enumerable, NULL},
      {"testClientSend", NULL, js_tc_send, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof(d) / sizeof(d[0]), d);
}
