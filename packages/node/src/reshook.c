/* Response-phase hooks (on_response, on_error) from JS, called on the connection's thread:
 *   - on the JS thread (the `node` engine) the JS hook is called right here;
 *   - on a core thread (test client, `threads` engine) the call goes through the app's
 *     threadsafe function and this thread waits until JS has called the hook (the JS thread
 *     never waits for a core thread, so this cannot deadlock).
 * While the hook runs, JS reads and edits the response through the handle: status, headers,
 * body (resStatus/resHeader/resSetHeader/resSetBody). A hook returning a promise suspends the
 * response (SPK_HOOK_ASYNC, the core's resumable response phase): the handle stays usable until
 * the dispatcher reports the promise settled (resHookDone), which continues the pipeline. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "spikard/hooks.h"
#include "spikard/response.h"

typedef struct spkn_rsync {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done;
  int failed; /* the JS hook threw */
  int async;  /* the JS hook returned a promise */
} spkn_rsync_t;

typedef struct spkn_rcall {
  int kind; /* SPKN_KIND_RESHOOK: first, like spkn_call_t's (the threadsafe function's data) */
  spkn_route_t *route;
  spk_req_t *req;
  spk_res_t *res;
  spkn_rsync_t *sync; /* the waiting core thread's; NULL once signalled or when direct */
  int active;         /* the hook is running: the response may be touched */
  int failed;         /* direct calls: the JS hook threw */
  int async;          /* the hook returned a promise: resHookDone continues */
} spkn_rcall_t;

static void signal_done(spkn_rcall_t *c, int failed) {
  if (!c->async) c->active = 0; /* a pending promise keeps the response until resHookDone */
  c->failed = failed;
  spkn_rsync_t *s = c->sync;
  if (!s) return;
  c->sync = NULL;
  pthread_mutex_lock(&s->mu);
  s->done = 1;
  s->failed = failed;
  s->async = c->async;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static void rcall_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  spkn_rcall_t *c = data;
  if (c->async && c->active) { /* collected with its promise pending: let the pipeline go on */
    c->active = 0;
    spk_req_continue(c->req);
  }
  c->async = 0;
  signal_done(c, 1); /* never leave a core thread waiting */
  free(c);
}

/* Calls dispatch(index, request, handle) with a response-phase handle (JS thread). With no
 * environment (the threadsafe function is being torn down) the waiter is released at once. */
void spkn_rcall_js(napi_env env, napi_value js_cb, void *data) {
  spkn_rcall_t *c = data;
  if (!env) {
    signal_done(c, 1);
    free(c);
    return;
  }
  napi_value argv[3], undef, result;
  napi_get_undefined(env, &undef);
  argv[1] = spkn_build_request(env, c->req);
  if (!argv[1] || napi_create_uint32(env, c->route->index, &argv[0]) != napi_ok ||
      spkn_wrap(env, c, rcall_finalize, &argv[2]) != napi_ok) {
    signal_done(c, 1);
    free(c);
    return;
  }
  /* The JS dispatcher returns true (done), false (it threw) or 2 (a promise: resHookDone
   * follows). */
  bool ok = false;
  napi_valuetype t = napi_undefined;
  if (napi_call_function(env, undef, js_cb, 3, argv, &result) != napi_ok) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
  } else if (napi_typeof(env, result, &t) == napi_ok && t == napi_number) {
    c->async = ok = true;
  } else if (napi_get_value_bool(env, result, &ok) != napi_ok) {
    ok = false;
  }
  signal_done(c, !ok);
}

int spkn_reshook_handler(spk_req_t *req, spk_res_t *res, void *user_data) {
  spkn_route_t *r = user_data;
  spkn_rcall_t *c = calloc(1, sizeof(*c));
  if (!c) return SPK_ENOMEM;
  c->kind = SPKN_KIND_RESHOOK;
  c->route = r;
  c->req = req;
  c->res = res;
  c->active = 1;
  if (pthread_equal(pthread_self(), r->app->js_thread)) {
    napi_env env = r->app->env;
    napi_handle_scope hs;
    napi_value fn;
    if (napi_open_handle_scope(env, &hs) != napi_ok) {
      free(c);
      return SPK_ENOMEM;
    }
    int failed = 1;
    if (napi_get_reference_value(env, r->app->dispatch, &fn) == napi_ok) {
      spkn_rcall_js(env, fn, c); /* `c` now belongs to its JS handle, alive until collected */
      failed = c->failed;
      if (!failed && c->async) {
        napi_close_handle_scope(env, hs);
        return SPK_HOOK_ASYNC;
      }
    } else {
      free(c);
    }
    napi_close_handle_scope(env, hs);
    return failed ? SPK_EIO : SPK_OK;
  }
  spkn_rsync_t s;
  pthread_mutex_init(&s.mu, NULL);
  pthread_cond_init(&s.cv, NULL);
  s.done = 0;
  s.failed = 0;
  c->sync = &s;
  int rc = SPK_OK;
  if (!r->app->tsfn ||
      napi_call_threadsafe_function(r->app->tsfn, c, napi_tsfn_blocking) !=
          napi_ok) {
    free(c);
    rc = SPK_ESTATE;
  } else {
    pthread_mutex_lock(&s.mu);
    while (!s.done) pthread_cond_wait(&s.cv, &s.mu);
    if (s.failed) rc = SPK_EIO;
    else if (s.async) rc = SPK_HOOK_ASYNC;
    pthread_mutex_unlock(&s.mu);
  }
  pthread_cond_destroy(&s.cv);
  pthread_mutex_destroy(&s.mu);
  return rc;
}

static spkn_rcall_t *active_call(napi_env env, napi_callback_info info, size_t *argc,
                                 napi_value *argv) {
  napi_get_cb_info(env, info, argc, argv, NULL, NULL);
  spkn_rcall_t *c = *argc ? spkn_unwrap(env, argv[0], "not a response-hook handle") : NULL;
  if (c && !c->active) {
    napi_throw_error(env, "SPK_ESTATE", "the response hook has returned; the response is gone");
    return NULL;
  }
  return c;
}

spk_req_t *spkn_rhandle_req(napi_env env, napi_value handle, spkn_app_t **app) {
  spkn_rcall_t *c = spkn_unwrap(env, handle, "not a response-hook handle");
  if (c && app) *app = c->route->app;
  if (c && !c->active) {
    napi_throw_error(env, "SPK_ESTATE", "the response hook has returned");
    return NULL;
  }
  return c ? c->req : NULL;
}

static char *str_arg(napi_env env, napi_value v) {
  size_t len = 0;
  if (napi_get_value_string_utf8(env, v, NULL, 0, &len) != napi_ok) return NULL;
  char *p = malloc(len + 1);
  if (p) napi_get_value_string_utf8(env, v, p, len + 1, &len);
  return p;
}

/* resStatus(h[, status]) → status */
static napi_value js_res_status(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], v;
  spkn_rcall_t *c = active_call(env, info, &argc, argv);
  if (!c) return NULL;
  int32_t st;
  if (argc >= 2 && napi_get_value_int32(env, argv[1], &st) == napi_ok &&
      spk_res_status(c->res, st) != SPK_OK) {
    napi_throw_range_error(env, NULL, "invalid status");
    return NULL;
  }
  napi_create_int32(env, spk_res_get_status(c->res), &v);
  return v;
}

/* resHeader(h, name) → first value or undefined */
static napi_value js_res_header(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2], v = NULL;
  spkn_rcall_t *c = active_call(env, info, &argc, argv);
  if (!c || argc < 2) return NULL;
  char *name = str_arg(env, argv[1]);
  spk_str_t val;
  if (name && spk_res_get_header(c->res, name, &val) == SPK_OK)
    napi_create_string_utf8(env, val.ptr, val.len, &v);
  free(name);
  return v;
}

/* resSetHeader(h, name, value): replaces every field of that name */
static napi_value js_res_set_header(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  spkn_rcall_t *c = active_call(env, info, &argc, argv);
  if (!c || argc < 3) return NULL;
  char *name = str_arg(env, argv[1]), *value = str_arg(env, argv[2]);
  int rc = name && value ? spk_res_set_header(c->res, name, value) : SPK_EINVAL;
  free(name);
  free(value);
  if (rc != SPK_OK) napi_throw_type_error(env, spk_err_name(rc), "invalid header");
  return NULL;
}

/* resSetBody(h, Buffer | string) */
static napi_value js_res_set_body(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  spkn_rcall_t *c = active_call(env, info, &argc, argv);
  if (!c || argc < 2) return NULL;
  bool is_buf = false;
  int rc = SPK_EINVAL;
  if (napi_is_buffer(env, argv[1], &is_buf) == napi_ok && is_buf) {
    void *data;
    size_t len;
    napi_get_buffer_info(env, argv[1], &data, &len);
    rc = spk_res_body(c->res, data, len);
  } else {
    char *s = str_arg(env, argv[1]);
    if (s) rc = spk_res_body(c->res, s, strlen(s));
    free(s);
  }
  if (rc != SPK_OK) napi_throw_type_error(env, spk_err_name(rc), "body must be a Buffer or a string");
  return NULL;
}

/* resHookDone(h, failed): an async response hook's promise settled (JS thread). A rejected one
 * answers 500 problem details, as a failing request hook does; then the next hook runs. */
static napi_value js_res_hook_done(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  spkn_rcall_t *c = active_call(env, info, &argc, argv);
  if (!c) return NULL;
  if (!c->async) {
    napi_throw_error(env, "SPK_ESTATE", "resHookDone: the hook did not go asynchronous");
    return NULL;
  }
  bool failed = false;
  if (argc >= 2) napi_get_value_bool(env, argv[1], &failed);
  if (failed)
    spk_res_problem(c->res, 500, "internal-server-error", "Internal Server Error",
                    "A lifecycle hook failed");
  c->active = 0;
  c->async = 0;
  spk_req_continue(c->req);
  return NULL;
}

/* addResponseHook(app, phase 3|4, index) */
static napi_value js_add_reshook(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_app_t *a = argc >= 1 ? spkn_unwrap(env, argv[0], "addResponseHook: not an app") : NULL;
  if (!a) return NULL;
  uint32_t phase = 0, index = 0;
  if (argc < 3 || napi_get_value_uint32(env, argv[1], &phase) != napi_ok || phase < 3 ||
      phase > 4 || napi_get_value_uint32(env, argv[2], &index) != napi_ok) {
    napi_throw_type_error(env, NULL, "addResponseHook(app, phase 3..4, index)");
    return NULL;
  }
  spkn_route_t *r = spkn_app_new_slot(a, index);
  if (!r) {
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  int rc = spk_app_add_hook(a->app, (spk_hook_phase_t)phase, spkn_reshook_handler, r);
  if (rc != SPK_OK) napi_throw_error(env, spk_err_name(rc), spk_strerror(rc));
  return NULL;
}

napi_status spkn_init_reshook(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
      {"addResponseHook", NULL, js_add_reshook, NULL, NULL, NULL, napi_enumerable, NULL},
      {"resStatus", NULL, js_res_status, NULL, NULL, NULL, napi_enumerable, NULL},
      {"resHeader", NULL, js_res_header, NULL, NULL, NULL, napi_enumerable, NULL},
      {"resSetHeader", NULL, js_res_set_header, NULL, NULL, NULL, napi_enumerable, NULL},
      {"resSetBody", NULL, js_res_set_body, NULL, NULL, NULL, napi_enumerable, NULL},
      {"resHookDone", NULL, js_res_hook_done, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof(d) / sizeof(d[0]), d);
}
