/* Background tasks from JS over the core's pool (include/spikard/background.h).
 *
 * A JS task is a core task: the core holds it until the response has been sent, drops it when
 * the handler fails, bounds the queue (a full one answers 503), runs the tasks of one request
 * in spawn order and those of different requests concurrently (max_concurrency). The pool
 * thread running a task hands it to the JS thread through the app's threadsafe function and
 * waits until the JS function has returned or its promise settled, so the core's accounting
 * (ordering, concurrency, stats, drain) covers the JS work. The JS thread never waits for a
 * pool thread. A task holds one user of the app from spawn to release, so the app (whose free
 * waits for running tasks) cannot be freed under it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "spikard/background.h"

typedef struct spkn_bgsync {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int done, ok;
  char msg[200];
} spkn_bgsync_t;

typedef struct spkn_bgtask {
  int kind; /* SPKN_KIND_BG, first like every threadsafe function item */
  int release; /* the item asks for the release of the task, not its run */
  spkn_app_t *app;
  napi_ref fn;
  spkn_bgsync_t *sync; /* the waiting pool thread's, while running */
} spkn_bgtask_t;

/* The JS handle of one run: bgDone(handle, ok, message) signals the waiting pool thread. */
typedef struct spkn_bgrun {
  spkn_bgsync_t *sync; /* NULL once signalled */
} spkn_bgrun_t;

static void signal_run(spkn_bgrun_t *r, int ok, const char *msg) {
  spkn_bgsync_t *s = r->sync;
  if (!s) return;
  r->sync = NULL;
  pthread_mutex_lock(&s->mu);
  s->ok = ok;
  snprintf(s->msg, sizeof(s->msg), "%s", msg ? msg : "");
  s->done = 1;
  pthread_cond_signal(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static void run_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  signal_run(data, 0, "the task never finished"); /* never leave a pool thread waiting */
  free(data);
}

static void task_release(napi_env env, spkn_bgtask_t *t) {
  if (t->fn) napi_delete_reference(env, t->fn);
  spkn_app_t *a = t->app;
  free(t);
  spkn_app_unuse(a);
}

/* On the JS thread: call fn(runHandle); the JS wrapper calls bgDone when the task is over. */
static void run_js(napi_env env, spkn_bgtask_t *t, spkn_bgsync_t *sync) {
  napi_handle_scope hs;
  napi_value fn, undef, argv[1], ret;
  spkn_bgrun_t *r = calloc(1, sizeof(*r));
  if (!r) {
    spkn_bgrun_t tmp = {sync};
    signal_run(&tmp, 0, "out of memory");
    return;
  }
  r->sync = sync;
  if (napi_open_handle_scope(env, &hs) != napi_ok) {
    signal_run(r, 0, "handle scope");
    free(r);
    return;
  }
  napi_get_undefined(env, &undef);
  if (napi_get_reference_value(env, t->fn, &fn) != napi_ok || !fn ||
      spkn_wrap(env, r, run_finalize, &argv[0]) != napi_ok) {
    signal_run(r, 0, "the task function is gone");
    free(r);
  } else if (napi_call_function(env, undef, fn, 1, argv, &ret) != napi_ok) {
    napi_value exc;
    napi_get_and_clear_last_exception(env, &exc);
    signal_run(r, 0, "the task threw");
  }
  napi_close_handle_scope(env, hs);
}

void spkn_bg_call_js(napi_env env, napi_value js_cb, void *data) {
  (void)js_cb;
  spkn_bgtask_t *t = data;
  if (t->release) {
    if (env) task_release(env, t); /* else: the environment is gone, and the app with it */
    return;
  }
  if (!env) {
    spkn_bgrun_t tmp = {t->sync};
    signal_run(&tmp, 0, "the JavaScript environment is shutting down");
    return;
  }
  run_js(env, t, t->sync);
}

/* The core's task body, on a pool thread. */
static int task_run(spk_bg_task_t *task, void *data) {
  spkn_bgtask_t *t = data;
  spkn_app_t *a = t->app;
  spkn_bgsync_t s;
  memset(&s, 0, sizeof(s));
  pthread_mutex_init(&s.mu, NULL);
  pthread_cond_init(&s.cv, NULL);
  t->sync = &s;
  t->release = 0;
  if (a->tsfn && napi_call_threadsafe_function(a->tsfn, t, napi_tsfn_blocking) == napi_ok) {
    pthread_mutex_lock(&s.mu);
    while (!s.done) pthread_cond_wait(&s.cv, &s.mu);
    pthread_mutex_unlock(&s.mu);
  } else {
    snprintf(s.msg, sizeof(s.msg), "the JavaScript environment is shutting down");
  }
  t->sync = NULL;
  pthread_cond_destroy(&s.cv);
  pthread_mutex_destroy(&s.mu);
  if (s.ok) return 0;
  spk_bg_task_error(task, s.msg[0] ? s.msg : "the task failed");
  return SPK_EIO;
}

/* After the run, or when the task is dropped: the reference goes on the JS thread. */
static void task_free(void *data) {
  spkn_bgtask_t *t = data;
  spkn_app_t *a = t->app;
  if (pthread_equal(pthread_self(), a->js_thread)) {
    task_release(a->env, t);
    return;
  }
  t->release = 1;
  if (!a->tsfn || napi_call_threadsafe_function(a->tsfn, t, napi_tsfn_blocking) != napi_ok)
    return; /* the environment is going away: left to it */
}

/* bgSpawn(handle, fromResponseHook, fn) → 0 or a negative SPK_E* (SPK_EQUEUEFULL: the queue
 * is full, SPK_ESTATE: the response was sent) */
static napi_value js_bg_spawn(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], out;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  bool res_hook = false;
  napi_valuetype t = napi_undefined;
  if (argc < 3 || napi_get_value_bool(env, argv[1], &res_hook) != napi_ok ||
      napi_typeof(env, argv[2], &t) != napi_ok || t != napi_function) {
    napi_throw_type_error(env, NULL, "bgSpawn(handle, fromResponseHook, fn)");
    return NULL;
  }
  spkn_app_t *a = NULL;
  spk_req_t *req = res_hook ? spkn_rhandle_req(env, argv[0], &a) : spkn_handle_req(env, argv[0], &a);
  if (!req) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, "SPK_ESTATE", "background: the response was already sent");
    return NULL;
  }
  if (spkn_check(env, spkn_app_ensure_tsfn(env, a), "background: threadsafe function")) return NULL;
  spkn_bgtask_t *task = calloc(1, sizeof(*task));
  if (!task || napi_create_reference(env, argv[2], 1, &task->fn) != napi_ok) {
    free(task);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  task->kind = SPKN_KIND_BG;
  task->app = a;
  a->users++;
  int rc = spk_bg_spawn(req, task_run, task, task_free);
  if (rc < 0) task_release(env, task); /* not taken: still ours */
  napi_create_int32(env, rc < 0 ? rc : 0, &out);
  return out;
}

/* bgDone(runHandle, ok, message): the JS task is over (returned, or its promise settled). */
static napi_value js_bg_done(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_bgrun_t *r = argc >= 2 ? spkn_unwrap(env, argv[0], "bgDone: not a task handle") : NULL;
  if (!r) return NULL;
  bool ok = false;
  char msg[200] = "";
  size_t len = 0;
  napi_get_value_bool(env, argv[1], &ok);
  if (argc >= 3) napi_get_value_string_utf8(env, argv[2], msg, sizeof(msg), &len);
  signal_run(r, ok, msg);
  return NULL;
}

napi_status spkn_init_bg(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
      {"bgDone", NULL, js_bg_done, NULL, NULL, NULL, napi_enumerable, NULL},
      {"bgSpawn", NULL, js_bg_spawn, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof(d) / sizeof(d[0]), d);
}
