/* A worker: one thread running one libuv loop with its own listener and connections, a wake
 * queue for exchanges completed on other threads, and the graceful-shutdown sequence. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "io/worker.h"
#include "spikard/common.h"
#include "util/alloc.h"
#include "util/log.h"

#define SPK__WAKE_INITIAL_CAP 64
#define SPK__WREQ_POOL_MAX 256
#define SPK__ACCEPT_RETRY_MS 100

void spk__io_log(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  spk__vlog(fmt, ap);
  va_end(ap);
}

/* ---- Date ---- */

int64_t spk__worker_now(spk__worker_t *w) {
  uint64_t now = uv_now(&w->loop);
  if (now >= w->date_deadline) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    w->now_sec = (int64_t)ts.tv_sec;
    w->date_deadline = now + (uint64_t)(1000 - ts.tv_nsec / 1000000);
  }
  return w->now_sec;
}

/* ---- write request pool ---- */

spk__wreq_t *spk__worker_wreq_get(spk__worker_t *w) {
  spk__wreq_t *r = w->wreq_free;
  if (r) {
    w->wreq_free = r->next_free;
    w->wreq_free_count--;
    return r;
  }
  return spk__malloc(sizeof(*r));
}

void spk__worker_wreq_put(spk__worker_t *w, spk__wreq_t *r) {
  if (w->wreq_free_count >= SPK__WREQ_POOL_MAX) {
    spk__free(r);
    return;
  }
  r->next_free = w->wreq_free;
  w->wreq_free = r;
  w->wreq_free_count++;
}

/* ---- connections ---- */

void spk__worker_conn_added(spk__worker_t *w, spk__tcp_conn_t *tc) {
  tc->prev = NULL;
  tc->next = w->conns;
  if (w->conns) w->conns->prev = tc;
  w->conns = tc;
  /* While connections exist, the loop must keep running even if every one of them is paused
   * waiting for a handler on another thread: the async handle holds it. */
  if (w->conn_count++ == 0 && w->held == 0) uv_ref((uv_handle_t *)&w->async);
}

/* Exchanges out in handlers keep the loop alive like connections do: their wake must find it. */
void spk__worker_hold(void *wake_data, int delta) {
  spk__worker_t *w = wake_data;
  size_t before = w->held;
  w->held = delta > 0 ? w->held + 1 : (w->held ? w->held - 1 : 0);
  if (w->conn_count) return;
  if (before == 0 && w->held == 1) uv_ref((uv_handle_t *)&w->async);
  if (before == 1 && w->held == 0) uv_unref((uv_handle_t *)&w->async);
}

void spk__worker_conn_removed(spk__worker_t *w, spk__tcp_conn_t *tc) {
  if (tc->prev)
    tc->prev->next = tc->next;
  else
    w->conns = tc->next;
  if (tc->next) tc->next->prev = tc->prev;
  tc->prev = tc->next = NULL;
  if (--w->conn_count == 0) {
    if (w->held == 0) uv_unref((uv_handle_t *)&w->async);
    if (w->stopping) uv_timer_stop(&w->shutdown_timer);
  }
}

static void force_close_all(spk__worker_t *w) {
  w->forced = 1;
  for (spk__tcp_conn_t *tc = w->conns; tc; tc = tc->next) spk__tcp_conn_force_close(tc);
}

/* ---- accepting ---- */

static void accept_one(spk__worker_t *w) {
  int rc = spk__tcp_conn_accept(w);
  if (rc == SPK_ENOMEM) {
    /* libuv stops polling the listener until the pending fd is accepted: retry shortly. */
    w->accept_pending = 1;
    return;
  }
  w->accept_pending = 0;
  if (rc < 0) spk__io_log("accept failed: %s", spk_strerror(rc));
}

static void on_accept_retry(uv_timer_t *t) {
  spk__worker_t *w = t->data;
  if (w->stopping || !w->accept_pending) return;
  accept_one(w);
  if (w->accept_pending) uv_timer_start(&w->accept_timer, on_accept_retry, SPK__ACCEPT_RETRY_MS, 0);
}

static void on_connection(uv_stream_t *server, int status) {
  spk__worker_t *w = server->data;
  if (status < 0) {
    /* EMFILE/ENFILE: libuv has already drained the backlog with its reserve descriptor, so this
     * does not spin. Log at most once a second. */
    uint64_t now = uv_now(&w->loop);
    if (w->last_accept_log == 0 || now - w->last_accept_log >= 1000) {
      w->last_accept_log = now ? now : 1;
      spk__io_log("accept: %s", uv_strerror(status));
    }
    return;
  }
  if (w->stopping) return;
  accept_one(w);
  if (w->accept_pending) uv_timer_start(&w->accept_timer, on_accept_retry, SPK__ACCEPT_RETRY_MS, 0);
}

/* ---- shutdown ---- */

static void on_shutdown_timeout(uv_timer_t *t) {
  spk__worker_t *w = t->data;
  if (w->conn_count > 0)
    spk__io_log("shutdown timeout: closing %zu connection(s)", w->conn_count);
  force_close_all(w);
}

static void begin_shutdown(spk__worker_t *w) {
  if (w->stopping) return;
  w->stopping = 1;
  w->accept_pending = 0;
  uv_timer_stop(&w->accept_timer);
  if (w->listener_open) {
    w->listener_open = 0;
    uv_close(&w->listener.handle, NULL);
  }
  /* spk__tcp_conn_shutdown never frees synchronously, so the list stays walkable. */
  for (spk__tcp_conn_t *tc = w->conns; tc; tc = tc->next) spk__tcp_conn_shutdown(tc);
  if (w->conn_count > 0)
    uv_timer_start(&w->shutdown_timer, on_shutdown_timeout, w->server->config.shutdown_timeout_ms,
                   0);
}

/* ---- wake queue ---- */

/* The wake queue carries exchanges and, tagged with the low bit, streams (whose wakes are not
 * held: a stream is attached to a live connection when it wakes). */
#define STREAM_TAG ((uintptr_t)1)
static int is_stream_item(spk__exchange_t *item) { return ((uintptr_t)item & STREAM_TAG) != 0; }
static struct spk_stream *stream_of(spk__exchange_t *item) {
  return (struct spk_stream *)((uintptr_t)item & ~STREAM_TAG);
}

/* A queued item nobody will process: the loop is gone. */
static void drop_item(spk__exchange_t *item) {
  if (is_stream_item(item))
    spk__stream_wake_drop(stream_of(item));
  else
    spk__exchange_release_orphan(item);
}

static void wake_push(spk__worker_t *w, spk__exchange_t *ex);

void spk__worker_wake(void *wake_data, spk__exchange_t *ex) { wake_push(wake_data, ex); }

void spk__worker_wake_stream(void *wake_data, struct spk_stream *s) {
  wake_push(wake_data, (spk__exchange_t *)((uintptr_t)s | STREAM_TAG));
}

static void wake_push(spk__worker_t *w, spk__exchange_t *ex) {
  for (;;) {
    uv_mutex_lock(&w->wake_mu);
    if (w->dead) {
      /* The loop has exited, so every connection is gone: the exchange is an orphan and no
       * other thread can touch it any more. */
      uv_mutex_unlock(&w->wake_mu);
      drop_item(ex);
      return;
    }
    if (w->wake_len == w->wake_cap) {
      size_t cap = w->wake_cap ? w->wake_cap * 2 : SPK__WAKE_INITIAL_CAP;
      spk__exchange_t **q = spk__realloc(w->wake_q, cap * sizeof(*q));
      if (!q) {
        /* Never drop a completion: wait for memory (or for the loop to drain the queue). */
        uv_mutex_unlock(&w->wake_mu);
        uv_async_send(&w->async);
        usleep(1000);
        continue;
      }
      w->wake_q = q;
      w->wake_cap = cap;
    }
    w->wake_q[w->wake_len++] = ex;
    /* Sent under the lock: once `dead` is set nobody touches the handle from here. */
    uv_async_send(&w->async);
    uv_mutex_unlock(&w->wake_mu);
    return;
  }
}

/* One batch per wake-up: what is queued while it runs (a stream yielding after its burst
 * re-queues itself) has sent the async again and waits for the next loop iteration, so socket
 * I/O, timers and a shutdown request are never starved by a self-waking stream. */
static void drain_wakes(spk__worker_t *w) {
  uv_mutex_lock(&w->wake_mu);
  size_t n = w->wake_len;
  if (n == 0) {
    uv_mutex_unlock(&w->wake_mu);
    return;
  }
  /* Swap the buffers: producers continue into the (empty) other one. */
  spk__exchange_t **q = w->wake_q;
  size_t cap = w->wake_cap;
  w->wake_q = w->drain_q;
  w->wake_cap = w->drain_cap;
  w->wake_len = 0;
  w->drain_q = q;
  w->drain_cap = cap;
  uv_mutex_unlock(&w->wake_mu);

  for (size_t i = 0; i < n; i++) {
    spk__exchange_t *ex = q[i];
    if (is_stream_item(ex)) {
      spk__conn_t *sc = spk__stream_deliver(stream_of(ex));
      if (sc) spk__tcp_conn_stream_wake(spk__conn_io_data(sc));
      continue;
    }
    spk__conn_t *conn = spk__exchange_conn(ex);
    if (conn)
      spk__tcp_conn_resume(spk__conn_io_data(conn), ex);
    else
      spk__exchange_release_orphan(ex);
    spk__worker_hold(w, -1); /* after the resume: a re-suspension holds again first */
  }
}

static void on_async(uv_async_t *a) {
  spk__worker_t *w = a->data;
  drain_wakes(w);
  int stop = atomic_load(&w->server->stop_requested);
  if (stop >= 1) begin_shutdown(w);
  if (stop >= 2 && !w->forced) force_close_all(w);
}

/* ---- life cycle ---- */

int spk__worker_init(spk__worker_t *w, spk_server_t *server, int index, int listen_fd) {
  memset(w, 0, sizeof(*w));
  w->server = server;
  w->index = index;
  int fd_owned = 1;
  int rc = SPK_ENOMEM;
  if (uv_mutex_init(&w->wake_mu) != 0) goto fail;
  w->wake_mu_ok = 1;
  w->wake_q = spk__malloc(SPK__WAKE_INITIAL_CAP * sizeof(*w->wake_q));
  w->drain_q = spk__malloc(SPK__WAKE_INITIAL_CAP * sizeof(*w->drain_q));
  if (!w->wake_q || !w->drain_q) goto fail;
  w->wake_cap = w->drain_cap = SPK__WAKE_INITIAL_CAP;

  rc = SPK_EIO;
  if (uv_loop_init(&w->loop) != 0) goto fail;
  w->loop_ok = 1;
  w->loop.data = w;
  if (uv_async_init(&w->loop, &w->async, on_async) != 0) goto fail;
  w->async_ok = 1;
  w->async.data = w;
  uv_unref((uv_handle_t *)&w->async);
  uv_timer_init(&w->loop, &w->shutdown_timer);
  uv_timer_init(&w->loop, &w->accept_timer);
  w->shutdown_timer.data = w;
  w->accept_timer.data = w;
  uv_unref((uv_handle_t *)&w->shutdown_timer);
  w->timers_ok = 1;

  int r;
  if (server->is_unix) {
    uv_pipe_init(&w->loop, &w->listener.pipe, 0);
    w->listener_open = 1;
    r = uv_pipe_open(&w->listener.pipe, listen_fd);
  } else {
    uv_tcp_init(&w->loop, &w->listener.tcp);
    w->listener_open = 1;
    r = uv_tcp_open(&w->listener.tcp, listen_fd);
  }
  w->listener.handle.data = w;
  if (r != 0) {
    spk__io_log("cannot adopt the listening socket: %s", uv_strerror(r));
    rc = SPK_EADDR;
    goto fail;
  }
  fd_owned = 0;
  return 0;

fail:
  if (fd_owned && listen_fd >= 0) close(listen_fd);
  return rc;
}

void spk__worker_main(void *arg) {
  spk__worker_t *w = arg;
  spk_server_t *s = w->server;

  if (atomic_load(&s->stop_requested) == 0 && w->listener_open) {
    int r = uv_listen(&w->listener.stream, s->config.backlog, on_connection);
    if (r != 0) spk__io_log("worker %d: listen failed: %s", w->index, uv_strerror(r));
  }
  if (atomic_load(&s->stop_requested) != 0) begin_shutdown(w);

  uv_run(&w->loop, UV_RUN_DEFAULT);

  /* No connection is left, so whatever is still queued (or arrives from now on) is an orphan. */
  uv_mutex_lock(&w->wake_mu);
  w->dead = 1;
  size_t n = w->wake_len;
  w->wake_len = 0;
  uv_mutex_unlock(&w->wake_mu);
  for (size_t i = 0; i < n; i++) {
    spk__exchange_t *ex = w->wake_q[i];
    if (is_stream_item(ex)) {
      drop_item(ex);
      continue;
    }
    spk__conn_t *conn = spk__exchange_conn(ex);
    if (conn)
      spk__io_log("worker %d: exchange still attached after loop exit", w->index);
    else
      spk__exchange_release_orphan(ex);
  }

  uv_mutex_lock(&s->mu);
  if (--s->alive == 0 && s->done_async) uv_async_send(s->done_async);
  uv_mutex_unlock(&s->mu);
}

static void close_walk_cb(uv_handle_t *h, void *arg) {
  (void)arg;
  if (!uv_is_closing(h)) uv_close(h, NULL);
}

void spk__worker_destroy(spk__worker_t *w) {
  if (w->loop_ok) {
    /* Normally nothing but the async handle and the timers remain. Connections could remain
     * only if the thread never ran; cut them through their own close path first. */
    spk__tcp_conn_t *tc = w->conns;
    while (tc) {
      spk__tcp_conn_t *next = tc->next;
      spk__tcp_conn_force_close(tc);
      tc = next;
    }
    uv_run(&w->loop, UV_RUN_NOWAIT);
    uv_walk(&w->loop, close_walk_cb, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    int r = uv_loop_close(&w->loop);
    if (r != 0) spk__io_log("worker %d: loop close: %s", w->index, uv_strerror(r));
    w->loop_ok = 0;
  }
  if (w->wake_mu_ok) {
    /* Late wakes (handlers that finished after the workers exited) were released inline. */
    for (size_t i = 0; i < w->wake_len; i++) drop_item(w->wake_q[i]);
    w->wake_len = 0;
    uv_mutex_destroy(&w->wake_mu);
    w->wake_mu_ok = 0;
  }
  spk__free(w->wake_q);
  spk__free(w->drain_q);
  w->wake_q = w->drain_q = NULL;
  while (w->wreq_free) {
    spk__wreq_t *r = w->wreq_free;
    w->wreq_free = r->next_free;
    spk__free(r);
  }
  w->wreq_free_count = 0;
}
