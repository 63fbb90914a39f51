/* The public server API: configuration, listener setup, worker threads, signals, stop/wait. */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "core/app_internal.h"
#include "core/bg.h"
#include "io/worker.h"
#include "spikard/server.h"
#include "util/alloc.h"

#define SPK__MAX_WORKERS 1024

SPK_EXTERN void spk_server_config_default(spk_server_config_t *out) {
  if (!out) return;
  memset(out, 0, sizeof(*out));
  out->host = "127.0.0.1";
  out->port = 8000;
  out->workers = 0;
  out->backlog = 1024;
  out->shutdown_timeout_ms = 10000;
  out->handle_signals = 1;
}

static int default_workers(void) {
#if UV_VERSION_HEX >= 0x012c00 /* 1.44: uv_available_parallelism */
  unsigned n = uv_available_parallelism();
#else
  long n = sysconf(_SC_NPROCESSORS_ONLN);
#endif
  if (n < 1) n = 1;
  if (n > SPK__MAX_WORKERS) n = SPK__MAX_WORKERS;
  return (int)n;
}

static void server_destroy(spk_server_t *s) {
  if (s->workers) {
    for (int i = 0; i < s->nworkers; i++) spk__worker_destroy(&s->workers[i]);
    spk__free(s->workers);
  }
  if (s->unix_path) {
    unlink(s->unix_path);
    spk__free(s->unix_path);
  }
  uv_mutex_destroy(&s->mu);
  spk__free(s->host);
  spk__free(s);
}

SPK_EXTERN int spk_server_new(spk_server_t **out, spk_app_t *app,
                              const spk_server_config_t *config) {
  if (out) *out = NULL;
  if (!out || !app) return SPK_EINVAL;
  spk_server_config_t cfg;
  spk_server_config_default(&cfg);
  if (config) cfg = *config;
  if (!cfg.host || !cfg.host[0]) cfg.host = "127.0.0.1";
  if (cfg.port < 0 || cfg.port > 65535 || cfg.workers < 0 || cfg.backlog < 0)
    return SPK_EINVAL;
  if (cfg.backlog == 0) cfg.backlog = 1024;
  if (cfg.workers > SPK__MAX_WORKERS) cfg.workers = SPK__MAX_WORKERS;

  int rc = spk_app_freeze(app);
  if (rc < 0) return rc;

  spk_server_t *s = spk__calloc(1, sizeof(*s));
  if (!s) return SPK_ENOMEM;
  if (uv_mutex_init(&s->mu) != 0) {
    spk__free(s);
    return SPK_ENOMEM;
  }
  s->app = app;
  s->host = spk__strdup(cfg.host);
  if (!s->host) {
    server_destroy(s);
    return SPK_ENOMEM;
  }
  cfg.host = s->host;
  s->config = cfg;
  s->is_unix = strncmp(cfg.host, "unix:", 5) == 0;
  s->nworkers = cfg.workers > 0 ? cfg.workers : default_workers();
  atomic_init(&s->stop_requested, 0);

  int *fds = spk__calloc((size_t)s->nworkers, sizeof(int));
  if (!fds) {
    server_destroy(s);
    return SPK_ENOMEM;
  }
  rc = spk__listen_open(cfg.host, cfg.port, cfg.backlog, s->nworkers, cfg.join_port_group, fds,
                        &s->port, &s->shared_listener, &s->unix_path);
  if (rc < 0) {
    spk__free(fds);
    server_destroy(s);
    return rc;
  }

  s->workers = spk__calloc((size_t)s->nworkers, sizeof(*s->workers));
  if (!s->workers) {
    for (int i = 0; i < s->nworkers; i++) close(fds[i]);
    spk__free(fds);
    server_destroy(s);
    return SPK_ENOMEM;
  }
  for (int i = 0; i < s->nworkers; i++) {
    rc = spk__worker_init(&s->workers[i], s, i, fds[i]); /* takes fds[i], even on failure */
    if (rc < 0) {
      for (int j = i + 1; j < s->nworkers; j++) close(fds[j]);
      s->nworkers = i + 1; /* destroy the ones initialised so far (including this one) */
      spk__free(fds);
      server_destroy(s);
      return rc;
    }
  }
  spk__free(fds);
  *out = s;
  return 0;
}

SPK_EXTERN int spk_server_port(const spk_server_t *server) {
  return server && !server->is_unix ? server->port : 0;
}

SPK_EXTERN int spk_server_start(spk_server_t *s) {
  if (!s) return SPK_EINVAL;
  if (s->started) return SPK_ESTATE;
  s->started = 1;

  /* Worker threads never take SIGPIPE (a write to a reset socket must return EPIPE, not kill
   * the process), nor SIGINT/SIGTERM (those go to the host's threads, or to spk_server_run's).
   * The mask is inherited from this thread, which gets its own back. */
  sigset_t block, old;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  sigaddset(&block, SIGINT);
  sigaddset(&block, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &block, &old);

  int rc = 0;
  uv_mutex_lock(&s->mu);
  for (int i = 0; i < s->nworkers; i++) {
    spk__worker_t *w = &s->workers[i];
    s->alive++;
    if (uv_thread_create(&w->thread, spk__worker_main, w) != 0) {
      s->alive--;
      rc = SPK_EIO;
      break;
    }
    w->thread_ok = 1;
  }
  uv_mutex_unlock(&s->mu);
  pthread_sigmask(SIG_SETMASK, &old, NULL);
  if (rc < 0) spk_server_stop(s); /* the threads that did start wind down; wait() joins them */
  return rc;
}

SPK_EXTERN void spk_server_stop(spk_server_t *s) {
  /* Async-signal-safe: a lock-free atomic and uv_async_send (an eventfd write). */
  if (!s) return;
  int expected = 0;
  atomic_compare_exchange_strong(&s->stop_requested, &expected, 1);
  for (int i = 0; i < s->nworkers; i++)
    if (s->workers[i].async_ok) uv_async_send(&s->workers[i].async);
}

/* Second signal: cut every connection now. */
static void server_force(spk_server_t *s) {
  atomic_store(&s->stop_requested, 2);
  for (int i = 0; i < s->nworkers; i++)
    if (s->workers[i].async_ok) uv_async_send(&s->workers[i].async);
}

SPK_EXTERN int spk_server_wait(spk_server_t *s) {
  if (!s) return SPK_EINVAL;
  if (!s->started || s->joined) return 0;
  for (int i = 0; i < s->nworkers; i++) {
    spk__worker_t *w = &s->workers[i];
    if (w->thread_ok) {
      uv_thread_join(&w->thread);
      w->thread_ok = 0;
    }
  }
  s->joined = 1;
  /* The connections are done: let the background tasks they spawned finish (bounded). */
  spk__bg_drain(s->app->bg);
  return 0;
}

/* ---- spk_server_run: a small loop on the calling thread for signals ---- */

typedef struct run_ctx {
  spk_server_t *server;
  uv_signal_t sigint, sigterm;
  uv_async_t done;
  int signals;
  sigset_t old_mask;
  int mask_changed;
} run_ctx_t;

static void run_close_all(run_ctx_t *ctx) {
  uv_mutex_lock(&ctx->server->mu);
  ctx->server->done_async = NULL;
  uv_mutex_unlock(&ctx->server->mu);
  /* Restore the caller's mask before the watchers go (libuv then resets the handlers to
   * SIG_DFL): a host that blocked the signals keeps a late signal pending, not fatal. */
  if (ctx->mask_changed) {
    pthread_sigmask(SIG_SETMASK, &ctx->old_mask, NULL);
    ctx->mask_changed = 0;
  }
  if (!uv_is_closing((uv_handle_t *)&ctx->sigint)) uv_close((uv_handle_t *)&ctx->sigint, NULL);
  if (!uv_is_closing((uv_handle_t *)&ctx->sigterm)) uv_close((uv_handle_t *)&ctx->sigterm, NULL);
  if (!uv_is_closing((uv_handle_t *)&ctx->done)) uv_close((uv_handle_t *)&ctx->done, NULL);
}

static void on_run_signal(uv_signal_t *h, int signum) {
  run_ctx_t *ctx = h->data;
  (void)signum;
  if (ctx->signals++ == 0)
    spk_server_stop(ctx->server);
  else
    server_force(ctx->server);
}

static void on_run_done(uv_async_t *h) { run_close_all(h->data); }

static int run_with_signals(spk_server_t *s) {
  uv_loop_t loop;
  run_ctx_t ctx;
  memset(&ctx, 0, sizeof(ctx));
  ctx.server = s;
  if (uv_loop_init(&loop) != 0) return SPK_EIO;
  uv_signal_init(&loop, &ctx.sigint);
  uv_signal_init(&loop, &ctx.sigterm);
  uv_async_init(&loop, &ctx.done, on_run_done);
  ctx.sigint.data = ctx.sigterm.data = ctx.done.data = &ctx;
  uv_signal_start(&ctx.sigint, on_run_signal, SIGINT);
  uv_signal_start(&ctx.sigterm, on_run_signal, SIGTERM);
  /* Now that the watchers exist, take the signals on this thread even if the host blocked them
   * (blocking them before spk_server_new closes the start-up window in which a signal would
   * still have its default action); one that is already pending is delivered here. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  if (pthread_sigmask(SIG_UNBLOCK, &sigs, &ctx.old_mask) == 0) ctx.mask_changed = 1;

  uv_mutex_lock(&s->mu);
  int finished = s->alive == 0;
  if (!finished) s->done_async = &ctx.done;
  uv_mutex_unlock(&s->mu);
  if (finished) run_close_all(&ctx);

  uv_run(&loop, UV_RUN_DEFAULT);
  uv_loop_close(&loop);
  if (ctx.mask_changed) pthread_sigmask(SIG_SETMASK, &ctx.old_mask, NULL);
  return 0;
}

SPK_EXTERN int spk_server_run(spk_server_t *s) {
  if (!s) return SPK_EINVAL;
  if (!s->started) {
    int rc = spk_server_start(s);
    if (rc < 0) {
      spk_server_wait(s);
      return rc;
    }
  }
  if (s->config.handle_signals) {
    int rc = run_with_signals(s);
    if (rc < 0) return rc;
  }
  return spk_server_wait(s);
}

SPK_EXTERN void spk_server_free(spk_server_t *s) {
  if (!s) return;
  spk_server_stop(s);
  spk_server_wait(s);
  server_destroy(s);
}
