/* The network server from JS: the core's own server (io/, worker threads with their loops),
 * handlers handed to the JS thread through the app's threadsafe function. A running server
 * keeps Node's loop alive; close() stops it gracefully on a pool thread (in-flight handlers
 * still need the JS thread to finish) and frees it on the JS thread. */
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "spikard/server.h"

typedef struct spkn_srv {
  spkn_app_t *app;
  spk_server_t *server;
  int state; /* 0 running, 1 closing, 2 closed */
  napi_async_work work;
  napi_deferred deferred;
} spkn_srv_t;

static void srv_finalize(napi_env env, void *data, void *hint) {
  (void)hint;
  spkn_srv_t *s = data;
  /* Still running at environment teardown (process.exit): its in-flight handlers can no longer
   * finish, and stopping would wait for them. The process is ending; leave it to the OS. */
  if (s->state != 2 && spkn_env_closing(env)) return;
  if (s->state == 0) { /* collected while running: cannot happen while the loop is referenced */
    spk_server_stop(s->server);
    spk_server_wait(s->server);
    spkn_app_ref_loop(env, s->app, -1);
  }
  if (s->server) spk_server_free(s->server);
  spkn_app_unuse(s->app);
  free(s);
}

/* listen(app, host, port, workers) → handle */
static napi_value js_listen(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_app_t *a = argc >= 1 ? spkn_unwrap(env, argv[0], "listen: not an app handle") : NULL;
  if (!a) return NULL;
  char host[256] = "127.0.0.1";
  size_t hl = 0;
  int32_t port = 0, workers = 1;
  if (argc >= 2) napi_get_value_string_utf8(env, argv[1], host, sizeof(host), &hl);
  if (argc >= 3) napi_get_value_int32(env, argv[2], &port);
  if (argc >= 4) napi_get_value_int32(env, argv[3], &workers);
  if (spkn_check(env, spkn_app_ensure_tsfn(env, a), "listen: threadsafe function")) return NULL;
  spk_server_config_t cfg;
  spk_server_config_default(&cfg);
  cfg.host = host;
  cfg.port = port;
  cfg.workers = workers > 0 ? workers : 1;
  cfg.handle_signals = 0; /* Node owns the process's signals */
  spkn_srv_t *s = calloc(1, sizeof(*s));
  if (!s) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  int rc = spk_server_new(&s->server, a->app, &cfg);
  if (rc == SPK_OK) rc = spk_server_start(s->server);
  if (rc != SPK_OK) {
    const char *why = spk_app_last_error(a->app);
    if (s->server) spk_server_free(s->server);
    free(s);
    napi_throw_error(env, spk_err_name(rc), why && *why ? why : spk_strerror(rc));
    return NULL;
  }
  s->app = a;
  a->users++;
  spkn_app_ref_loop(env, a, +1);
  if (spkn_check(env, spkn_wrap(env, s, srv_finalize, &out), "listen: wrap")) {
    srv_finalize(env, s, NULL);
    return NULL;
  }
  return out;
}

static napi_value js_port(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], v;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_srv_t *s = argc ? spkn_unwrap(env, argv[0], "port: not a server") : NULL;
  if (!s) return NULL;
  napi_create_int32(env, s->state == 2 ? 0 : spk_server_port(s->server), &v);
  return v;
}

static void close_execute(napi_env env, void *data) {
  (void)env;
  spkn_srv_t *s = data;
  spk_server_stop(s->server);
  spk_server_wait(s->server);
}

static void close_complete(napi_env env, napi_status status, void *data) {
  (void)status;
  spkn_srv_t *s = data;
  napi_value undef;
  spk_server_free(s->server);
  s->server = NULL;
  s->state = 2;
  spkn_app_ref_loop(env, s->app, -1);
  napi_delete_async_work(env, s->work);
  s->work = NULL;
  napi_get_undefined(env, &undef);
  napi_resolve_deferred(env, s->deferred, undef);
}

/* close(server) → Promise (resolved at once when already closed or closing) */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], promise, name, undef;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_srv_t *s = argc ? spkn_unwrap(env, argv[0], "close: not a server") : NULL;
  if (!s) return NULL;
  napi_deferred d;
  napi_create_promise(env, &d, &promise);
  if (s->state != 0) {
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, d, undef);
    return promise;
  }
  s->state = 1;
  s->deferred = d;
  napi_create_string_utf8(env, "spikard.server.close", NAPI_AUTO_LENGTH, &name);
  if (napi_create_async_work(env, NULL, name, close_execute, close_complete, s, &s->work) !=
          napi_ok ||
      napi_queue_async_work(env, s->work) != napi_ok) {
    napi_throw_error(env, NULL, "close: could not queue");
    return NULL;
  }
  return promise;
}

napi_status spkn_init_server(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
      {"listen", NULL, js_listen, NULL, NULL, NULL, napi_enumerable, NULL},
      {"serverPort", NULL, js_port, NULL, NULL, NULL, napi_enumerable, NULL},
      {"serverClose", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof(d) / sizeof(d[0]), d);
}
