/* Background tasks: see include/spikard/background.h for the contract and core/bg.h for the
 * internal entry points.
 *
 * Accounting (all under mu):
 *   reserved  tasks spawned for requests still in flight (held by their exchange)
 *   queued    tasks in the queue or later in a chain being run (not started)
 *   running   tasks whose fn is executing
 *   releasing tasks finished or skipped whose free_fn runs (outside the lock)
 * The queue bound is reserved + queued < max_queue, checked at spawn, so a request cannot
 * overfill the queue between its spawn and its response. The pool is idle when
 * queued + running + releasing == 0 (reserved tasks belong to requests, not to the pool yet).
 *
 * A task spawned during a request is prepended to ex->bg (owner thread only, no lock); when
 * the exchange is freed the list is reversed into a chain and queued as one unit, which a
 * single worker runs in spawn order. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/app_internal.h"
#include "core/bg.h"
#include "core/exchange.h"
#include "util/alloc.h"
#include "util/deadline.h"
#include "util/log.h"

#define BG_MAX_THREADS 1024

struct spk_bg_task {
  spk_bg_fn fn;
  void *data;
  spk_bg_free_fn free_fn;
  spk_bg_task_t *next;       /* next task of the same chain (spawn order once queued) */
  spk_bg_task_t *chain_next; /* next chain in the queue (chain heads only) */
  spk__bg_t *pool;
  atomic_int cancelled;
  char origin[96]; /* "POST /signup" for the log, "" outside a request */
  char error[201];
  /* spk_bg_spawn_copy's bytes follow the struct */
};

typedef struct bg_thread {
  pthread_t th;
  spk__bg_t *pool;
  spk_bg_task_t *cur;  /* the task it runs, under mu */
  spk_bg_task_t *rest; /* the rest of its chain, not started (linked by next), under mu */
  struct bg_thread *next;
} bg_thread_t;

struct spk__bg {
  spk_app_t *app;
  pthread_mutex_t mu;
  pthread_cond_t work_cv; /* a chain was queued, or stopping */
  pthread_cond_t idle_cv; /* queued + running reached 0 */
  spk__bg_config_t cfg;
  size_t reserved, queued, running;
  size_t releasing; /* tasks done (or skipped) whose free_fn is running */
  spk_bg_task_t *head, *tail; /* queued chains */
  size_t nchains;
  bg_thread_t *threads;
  size_t nthreads, idle_threads;
  int stopping;
  spk_bg_stats_t stats; /* counters only; the gauges are computed */
};

void spk__bg_config_default(spk__bg_config_t *out) {
  out->max_queue = 1024;
  out->max_concurrency = 8;
  out->drain_timeout_ms = 30000;
}

static int json_uint(const spk_json_value_t *v, double max, double scale, double *out) {
  double d;
  if (v->type == SPK_JSON_INT)
    d = (double)v->u.integer;
  else if (v->type == SPK_JSON_NUMBER && scale != 1.0)
    d = v->u.number.value;
  else
    return 0;
  d *= scale;
  if (!(d >= 0) || d > max) return 0;
  *out = d;
  return 1;
}

int spk__bg_configure(const spk_json_value_t *v, spk__bg_config_t *out, char *err,
                      size_t errlen) {
  spk__bg_config_default(out);
  if (!v || v->type != SPK_JSON_OBJECT) {
    snprintf(err, errlen, "must be an object like {\"max_queue\": 1024, \"max_concurrency\": 8}");
    return SPK_EINVAL;
  }
  for (size_t i = 0; i < v->u.object.len; i++) {
    const char *k = v->u.object.members[i].key.ptr;
    const spk_json_value_t *m = v->u.object.members[i].value;
    double d = 0;
    if (!strcmp(k, "max_queue") || !strcmp(k, "max_queue_size")) {
      if (!json_uint(m, 1e9, 1.0, &d)) {
        snprintf(err, errlen, "\"%s\" must be an integer between 0 and 1000000000", k);
        return SPK_EINVAL;
      }
      out->max_queue = (size_t)d;
    } else if (!strcmp(k, "max_concurrency") || !strcmp(k, "max_concurrent_tasks")) {
      if (!json_uint(m, BG_MAX_THREADS, 1.0, &d) || d < 1) {
        snprintf(err, errlen, "\"%s\" must be an integer between 1 and %d", k, BG_MAX_THREADS);
        return SPK_EINVAL;
      }
      out->max_concurrency = (size_t)d;
    } else if (!strcmp(k, "drain_timeout_ms") || !strcmp(k, "drain_timeout_secs")) {
      double scale = k[14] == 's' ? 1000.0 : 1.0;
      if (!json_uint(m, 86400000.0, scale, &d)) {
        snprintf(err, errlen, "\"%s\" must be a non-negative number of at most one day", k);
        return SPK_EINVAL;
      }
      out->drain_timeout_ms = (uint32_t)d;
    } else {
      snprintf(err, errlen, "unknown key \"%s\" (known: max_queue, max_concurrency, "
                            "drain_timeout_ms)", k);
      return SPK_EINVAL;
    }
  }
  return SPK_OK;
}

spk__bg_t *spk__bg_new(spk_app_t *app) {
  spk__bg_t *bg = spk__calloc(1, sizeof(*bg));
  if (!bg) return NULL;
  bg->app = app;
  spk__bg_config_default(&bg->cfg);
  pthread_mutex_init(&bg->mu, NULL);
  pthread_cond_init(&bg->work_cv, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC); /* drain deadlines ignore clock jumps */
  pthread_cond_init(&bg->idle_cv, &ca);
  pthread_condattr_destroy(&ca);
  return bg;
}

void spk__bg_set_config(spk__bg_t *bg, const spk__bg_config_t *cfg) {
  pthread_mutex_lock(&bg->mu);
  bg->cfg = *cfg;
  pthread_mutex_unlock(&bg->mu);
}

static void task_release(spk_bg_task_t *t) {
  if (t->free_fn) t->free_fn(t->data);
  spk__free(t);
}

/* Release a list linked by `next` (outside the lock: free_fn is user code). */
static void release_list(spk_bg_task_t *t) {
  while (t) {
    spk_bg_task_t *next = t->next;
    task_release(t);
    t = next;
  }
}

static void log_failure(const spk_bg_task_t *t, int rc) {
  const char *why = t->error[0] ? t->error : spk_strerror(rc);
  if (t->origin[0])
    spk__log("background task failed (%s): %s: %s", t->origin, spk_err_name(rc), why);
  else
    spk__log("background task failed: %s: %s", spk_err_name(rc), why);
}

static void *worker_main(void *arg) {
  bg_thread_t *self = arg;
  spk__bg_t *bg = self->pool;
  pthread_mutex_lock(&bg->mu);
  for (;;) {
    while (!bg->head && !bg->stopping) {
      bg->idle_threads++;
      pthread_cond_wait(&bg->work_cv, &bg->mu);
      bg->idle_threads--;
    }
    if (!bg->head) break; /* stopping, nothing left */
    spk_bg_task_t *t = bg->head;
    bg->head = t->chain_next;
    if (!bg->head) bg->tail = NULL;
    bg->nchains--;
    while (t) {
      spk_bg_task_t *next = t->next;
      self->rest = next;
      bg->queued--;
      int cancelled = atomic_load(&t->cancelled); /* dropped by a drain while it waited */
      int rc = 0;
      if (!cancelled) {
        bg->running++;
        self->cur = t;
        pthread_mutex_unlock(&bg->mu);
        rc = t->fn(t, t->data);
        if (rc != 0) log_failure(t, rc);
        pthread_mutex_lock(&bg->mu);
        self->cur = NULL; /* before t is freed: a drain walks cur */
        bg->running--;
      }
      /* free_fn runs without the lock (user code) but before the pool may look idle, so that
       * whoever waited for idleness finds every task released. */
      bg->releasing++;
      pthread_mutex_unlock(&bg->mu);
      task_release(t);
      pthread_mutex_lock(&bg->mu);
      bg->releasing--;
      if (cancelled)
        bg->stats.discarded++;
      else if (rc != 0)
        bg->stats.failed++;
      else
        bg->stats.completed++;
      t = next;
      if (!bg->queued && !bg->running && !bg->releasing) pthread_cond_broadcast(&bg->idle_cv);
    }
  }
  pthread_mutex_unlock(&bg->mu);
  return NULL;
}

/* Under mu: a chain was queued; start a thread when none is free and the bound allows. */
static void ensure_worker(spk__bg_t *bg) {
  if (bg->idle_threads >= bg->nchains || bg->nthreads >= bg->cfg.max_concurrency) {
    pthread_cond_signal(&bg->work_cv);
    return;
  }
  bg_thread_t *th = spk__calloc(1, sizeof(*th));
  if (th) {
    th->pool = bg;
    /* Pool threads take no asynchronous signal (SIGPIPE from a task's socket write, SIGINT/
     * SIGTERM meant for the host's threads): they inherit a full mask. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int created = pthread_create(&th->th, NULL, worker_main, th) == 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (created) {
      th->next = bg->threads;
      bg->threads = th;
      bg->nthreads++;
    } else {
      spk__free(th);
      th = NULL;
    }
  }
  /* Without a new thread the chain waits for a busy one; with none at all it waits for the
   * next spawn to try again (or for the drain to drop it). */
  if (!th && bg->nthreads == 0) spk__log("background tasks: cannot start a worker thread");
  pthread_cond_signal(&bg->work_cv);
}

/* Under mu: append a chain of n tasks. */
static void enqueue_chain(spk__bg_t *bg, spk_bg_task_t *chain, size_t n) {
  chain->chain_next = NULL;
  if (bg->tail)
    bg->tail->chain_next = chain;
  else
    bg->head = chain;
  bg->tail = chain;
  bg->nchains++;
  bg->queued += n;
  ensure_worker(bg);
}

static spk_bg_task_t *task_new(spk__bg_t *bg, spk_bg_fn fn, void *data, spk_bg_free_fn free_fn,
                               size_t extra) {
  spk_bg_task_t *t = spk__calloc(1, sizeof(*t) + extra);
  if (!t) return NULL;
  t->fn = fn;
  t->data = data;
  t->free_fn = free_fn;
  t->pool = bg;
  atomic_init(&t->cancelled, 0);
  return t;
}

/* Under mu: take a queue slot. */
static int reserve_slot(spk__bg_t *bg) {
  if (bg->stopping) return SPK_ESTATE;
  if (bg->reserved + bg->queued >= bg->cfg.max_queue) {
    bg->stats.rejected++;
    return SPK_EQUEUEFULL;
  }
  bg->stats.spawned++;
  return SPK_OK;
}

/* "METHOD /path" for the log line, at most `cap` bytes. The path is the decoded one, so bytes
 * that are not visible ASCII become '?': a crafted target must not forge log lines. */
static void describe(const spk_req_t *req, char *out, size_t cap) {
  int n = snprintf(out, cap, "%.*s %.*s", (int)(req->method_str.len > 16 ? 16 : req->method_str.len),
                   req->method_str.ptr ? req->method_str.ptr : "",
                   (int)(req->path.len > 64 ? 64 : req->path.len),
                   req->path.ptr ? req->path.ptr : "");
  for (int i = 0; i < n && (size_t)i < cap - 1; i++)
    if ((unsigned char)out[i] < 0x20 || (unsigned char)out[i] >= 0x7f) out[i] = '?';
}

static int spawn_for_request(spk_req_t *req, spk_bg_fn fn, void *data, spk_bg_free_fn free_fn,
                             const void *copy, size_t copy_len) {
  if (!req || !fn) return SPK_EINVAL;
  if (copy && copy_len > SIZE_MAX / 2) return SPK_ENOMEM;
  spk__exchange_t *ex = spk__exchange_of_req(req);
  if (atomic_load(&ex->ended)) return SPK_ESTATE;
  spk__bg_t *bg = ex->app->bg;
  spk_bg_task_t *t = task_new(bg, fn, data, free_fn, copy ? copy_len + 1 : 0);
  if (!t) return SPK_ENOMEM;
  if (copy) {
    char *bytes = (char *)(t + 1);
    if (copy_len) memcpy(bytes, copy, copy_len);
    bytes[copy_len] = '\0';
    t->data = bytes;
  }
  describe(req, t->origin, sizeof(t->origin));
  pthread_mutex_lock(&bg->mu);
  int rc = reserve_slot(bg);
  if (rc == SPK_OK) bg->reserved++;
  pthread_mutex_unlock(&bg->mu);
  if (rc != SPK_OK) {
    spk__free(t);
    return rc;
  }
  t->next = ex->bg;
  ex->bg = t;
  return SPK_OK;
}

SPK_EXTERN int spk_bg_spawn(spk_req_t *req, spk_bg_fn fn, void *data, spk_bg_free_fn free_fn) {
  return spawn_for_request(req, fn, data, free_fn, NULL, 0);
}

SPK_EXTERN int spk_bg_spawn_copy(spk_req_t *req, spk_bg_fn fn, const void *bytes, size_t len) {
  if (!bytes && len) return SPK_EINVAL;
  return spawn_for_request(req, fn, NULL, NULL, bytes ? bytes : "", bytes ? len : 0);
}

SPK_EXTERN int spk_app_bg_spawn(spk_app_t *app, spk_bg_fn fn, void *data,
                                spk_bg_free_fn free_fn) {
  if (!app || !fn || !app->bg) return SPK_EINVAL;
  spk__bg_t *bg = app->bg;
  spk_bg_task_t *t = task_new(bg, fn, data, free_fn, 0);
  if (!t) return SPK_ENOMEM;
  pthread_mutex_lock(&bg->mu);
  int rc = reserve_slot(bg);
  if (rc == SPK_OK) enqueue_chain(bg, t, 1);
  pthread_mutex_unlock(&bg->mu);
  if (rc != SPK_OK) spk__free(t);
  return rc;
}

void spk__bg_request_end(spk__exchange_t *ex) {
  spk__bg_t *bg = ex->app->bg;
  spk_bg_task_t *chain = NULL;
  size_t n = 0;
  for (spk_bg_task_t *t = ex->bg; t;) { /* reverse into spawn order */
    spk_bg_task_t *next = t->next;
    t->next = chain;
    chain = t;
    t = next;
    n++;
  }
  ex->bg = NULL;
  if (!chain) return;
  pthread_mutex_lock(&bg->mu);
  bg->reserved -= n;
  int drop = bg->stopping;
  if (drop)
    bg->stats.discarded += n;
  else
    enqueue_chain(bg, chain, n);
  pthread_mutex_unlock(&bg->mu);
  if (drop) release_list(chain);
}

void spk__bg_discard_since(spk__exchange_t *ex, spk_bg_task_t *mark) {
  spk_bg_task_t *dropped = ex->bg;
  size_t n = 0;
  spk_bg_task_t **p = &ex->bg;
  while (*p && *p != mark) p = &(*p)->next, n++;
  if (!n) return;
  ex->bg = *p;
  *p = NULL; /* `dropped` now ends before mark */
  spk__bg_t *bg = ex->app->bg;
  pthread_mutex_lock(&bg->mu);
  bg->reserved -= n;
  bg->stats.discarded += n;
  pthread_mutex_unlock(&bg->mu);
  release_list(dropped);
}

/* Under mu: wait until idle or the deadline. 1 when idle. */
static int wait_idle(spk__bg_t *bg, uint32_t ms) {
  struct timespec deadline;
  spk__deadline_in(&deadline, CLOCK_MONOTONIC, ms);
  while (bg->queued || bg->running || bg->releasing)
    if (pthread_cond_timedwait(&bg->idle_cv, &bg->mu, &deadline) == ETIMEDOUT)
      return !bg->queued && !bg->running && !bg->releasing;
  return 1;
}

SPK_EXTERN int spk_app_bg_wait(spk_app_t *app, uint32_t timeout_ms) {
  if (!app || !app->bg) return SPK_EINVAL;
  pthread_mutex_lock(&app->bg->mu);
  int idle = wait_idle(app->bg, timeout_ms);
  pthread_mutex_unlock(&app->bg->mu);
  return idle ? SPK_OK : SPK_ETIMEDOUT;
}

/* Under mu: drop the queued chains (returned as one list to release outside the lock) and
 * flag every running task, and the rest of its chain, as cancelled. */
static spk_bg_task_t *cut_leftovers(spk__bg_t *bg, size_t *dropped, size_t *cancelled) {
  spk_bg_task_t *out = NULL;
  *dropped = *cancelled = 0;
  for (spk_bg_task_t *c = bg->head; c;) {
    spk_bg_task_t *next_chain = c->chain_next;
    for (spk_bg_task_t *t = c; t;) {
      spk_bg_task_t *next = t->next;
      t->next = out;
      out = t;
      (*dropped)++;
      t = next;
    }
    c = next_chain;
  }
  bg->head = bg->tail = NULL;
  bg->nchains = 0;
  bg->queued -= *dropped;
  bg->stats.discarded += *dropped;
  for (bg_thread_t *th = bg->threads; th; th = th->next) {
    if (th->cur) {
      atomic_store(&th->cur->cancelled, 1);
      (*cancelled)++;
    }
    for (spk_bg_task_t *t = th->rest; t; t = t->next) {
      atomic_store(&t->cancelled, 1); /* skipped by its worker, counted as discarded there */
      (*dropped)++;
    }
  }
  if (!bg->queued && !bg->running && !bg->releasing) pthread_cond_broadcast(&bg->idle_cv);
  return out;
}

static int drain(spk__bg_t *bg, int stop) {
  pthread_mutex_lock(&bg->mu);
  int idle = wait_idle(bg, bg->cfg.drain_timeout_ms);
  size_t dropped = 0, cancelled = 0;
  spk_bg_task_t *leftovers = idle ? NULL : cut_leftovers(bg, &dropped, &cancelled);
  if (stop) {
    bg->stopping = 1;
    pthread_cond_broadcast(&bg->work_cv);
  }
  pthread_mutex_unlock(&bg->mu);
  if (!idle)
    spk__log("background tasks: drain timeout: %zu task(s) dropped, %zu running task(s) "
             "asked to stop", dropped, cancelled);
  release_list(leftovers);
  return idle ? SPK_OK : SPK_ETIMEDOUT;
}

int spk__bg_drain(spk__bg_t *bg) { return bg ? drain(bg, 0) : SPK_OK; }

void spk__bg_free(spk__bg_t *bg) {
  if (!bg) return;
  drain(bg, 1);
  pthread_mutex_lock(&bg->mu);
  bg->stopping = 1;
  pthread_cond_broadcast(&bg->work_cv);
  pthread_mutex_unlock(&bg->mu);
  /* Joined without the lock: a running task must be able to finish (and take mu). */
  for (bg_thread_t *th = bg->threads; th;) {
    bg_thread_t *next = th->next;
    pthread_join(th->th, NULL);
    spk__free(th);
    th = next;
  }
  bg->threads = NULL;
  /* No thread ever started (creation failed): what is queued can only be dropped. */
  size_t dropped, cancelled;
  spk_bg_task_t *rest = cut_leftovers(bg, &dropped, &cancelled);
  release_list(rest);
  pthread_mutex_destroy(&bg->mu);
  pthread_cond_destroy(&bg->work_cv);
  pthread_cond_destroy(&bg->idle_cv);
  spk__free(bg);
}

SPK_EXTERN int spk_bg_cancelled(const spk_bg_task_t *task) {
  return task ? atomic_load(&((spk_bg_task_t *)task)->cancelled) : 0;
}

SPK_EXTERN void spk_bg_task_error(spk_bg_task_t *task, const char *message) {
  if (task) snprintf(task->error, sizeof(task->error), "%s", message ? message : "");
}

SPK_EXTERN spk_app_t *spk_bg_task_app(const spk_bg_task_t *task) {
  return task ? task->pool->app : NULL;
}

SPK_EXTERN int spk_app_bg_stats(const spk_app_t *app, spk_bg_stats_t *out) {
  if (!app || !out || !app->bg) return SPK_EINVAL;
  spk__bg_t *bg = app->bg;
  pthread_mutex_lock(&bg->mu);
  *out = bg->stats;
  out->queued = bg->reserved + bg->queued;
  out->running = bg->running;
  out->threads = bg->nthreads;
  pthread_mutex_unlock(&bg->mu);
  return SPK_OK;
}
