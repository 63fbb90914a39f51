/* One accepted connection: a libuv stream (TCP or Unix) driving a sans-I/O spk__conn.
 *
 * States:
 *   OPEN      reading (unless paused) and writing as the core asks
 *   FLUSH     the core said CLOSE: no more reads, queued writes drain
 *   SHUTDOWN  writes done, uv_shutdown (FIN) queued
 *   LINGER    FIN sent: read and discard until the peer closes or a short timer fires, so
 *             that closing never turns unread input into an RST that would destroy the
 *             response in the client's receive buffer
 *   CLOSED    uv_close called; the memory goes in the last close callback
 * The one timer serves the core (OPEN) and bounds FLUSH/SHUTDOWN/LINGER. */
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "io/worker.h"
#include "spikard/common.h"
#include "util/alloc.h"

enum {
  SPK__TC_OPEN = 0,
  SPK__TC_FLUSH = 1,
  SPK__TC_SHUTDOWN = 2,
  SPK__TC_LINGER = 3,
  SPK__TC_CLOSED = 4
};

#define SPK__READ_SIZE 16384
#define SPK__FLUSH_TIMEOUT_MS 10000 /* no byte left the write queue while closing */
#define SPK__LINGER_MS 2000
#define SPK__LINGER_STOPPING_MS 500
#define SPK__IOV_STACK 16

static void io_write(void *io_data, const spk__iov_t *iov, size_t iov_count, void *token);
static void io_set_timer(void *io_data, uint32_t ms);
static void on_close(uv_handle_t *h);

static const spk__conn_io_t spk__tcp_io = {io_write, spk__worker_wake, io_set_timer,
                                           spk__worker_hold, spk__worker_wake_stream};

/* ---- helpers ---- */

static void sync_now(spk__tcp_conn_t *tc) {
  int64_t sec = spk__worker_now(tc->w);
  if (sec != tc->seen_sec) {
    tc->seen_sec = sec;
    spk__conn_set_now(tc->conn, sec);
  }
}

static void hard_close(spk__tcp_conn_t *tc) {
  if (tc->state == SPK__TC_CLOSED) return;
  tc->state = SPK__TC_CLOSED;
  tc->reading = 0;
  if (tc->conn) spk__conn_abort(tc->conn); /* no more bytes: a streamed file stops here */
  uv_timer_stop(&tc->timer);
  uv_close(&tc->h.handle, on_close);
  uv_close((uv_handle_t *)&tc->timer, on_close);
}

static void defer_token(spk__tcp_conn_t *tc, void *token) {
  if (tc->deferred_len == tc->deferred_cap) {
    size_t cap = tc->deferred_cap * 2;
    void **d;
    if (tc->deferred == tc->deferred_inline) {
      d = spk__malloc(cap * sizeof(*d));
      if (d) memcpy(d, tc->deferred, tc->deferred_len * sizeof(*d));
    } else {
      d = spk__realloc(tc->deferred, cap * sizeof(*d));
    }
    if (!d) {
      /* Cannot happen in practice (4 inline slots, then the heap); losing a completion would
       * leak the response's memory, never crash. */
      spk__io_log("out of memory: a write completion is lost");
      return;
    }
    tc->deferred = d;
    tc->deferred_cap = cap;
  }
  tc->deferred[tc->deferred_len++] = token;
}

static void arm(spk__tcp_conn_t *tc, uv_timer_cb cb, uint64_t ms) {
  uv_timer_start(&tc->timer, cb, ms, 0);
}

/* ---- closing ---- */

static void on_bound_timer(uv_timer_t *t) {
  spk__tcp_conn_t *tc = t->data;
  /* FLUSH: keep going while the peer reads (bytes left the write queue since the last tick). */
  if (tc->state == SPK__TC_FLUSH) {
    size_t queued = tc->h.stream.write_queue_size;
    if (queued < tc->flush_queued) {
      tc->flush_queued = queued;
      arm(tc, on_bound_timer, SPK__FLUSH_TIMEOUT_MS);
      return;
    }
  }
  /* FLUSH without progress, SHUTDOWN stuck, or LINGER over: cut. */
  hard_close(tc);
}

static void discard_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  spk__tcp_conn_t *tc = h->data;
  (void)suggested;
  buf->base = tc->w->discard;
  buf->len = sizeof(tc->w->discard);
}

static void discard_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  (void)buf;
  if (nread < 0) hard_close(s->data); /* EOF (or error): the peer has what we sent */
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  spk__tcp_conn_t *tc = req->data;
  if (tc->state != SPK__TC_SHUTDOWN) return; /* cancelled by a hard close */
  if (status < 0 || tc->eof) {
    hard_close(tc);
    return;
  }
  tc->state = SPK__TC_LINGER;
  if (uv_read_start(&tc->h.stream, discard_alloc, discard_read) != 0) {
    hard_close(tc);
    return;
  }
  arm(tc, on_bound_timer, tc->w->stopping ? SPK__LINGER_STOPPING_MS : SPK__LINGER_MS);
}

static void start_shutdown(spk__tcp_conn_t *tc) {
  tc->state = SPK__TC_SHUTDOWN;
  tc->shutdown_req.data = tc;
  if (uv_shutdown(&tc->shutdown_req, &tc->h.stream, on_shutdown) != 0) {
    hard_close(tc);
    return;
  }
  arm(tc, on_bound_timer, SPK__FLUSH_TIMEOUT_MS);
}

static void graceful_close(spk__tcp_conn_t *tc) {
  if (tc->state != SPK__TC_OPEN) return;
  if (tc->reading) {
    uv_read_stop(&tc->h.stream);
    tc->reading = 0;
  }
  tc->state = SPK__TC_FLUSH;
  if (tc->pending_writes == 0) {
    start_shutdown(tc);
  } else {
    tc->flush_queued = tc->h.stream.write_queue_size;
    arm(tc, on_bound_timer, SPK__FLUSH_TIMEOUT_MS);
  }
}

static void on_close(uv_handle_t *h) {
  spk__tcp_conn_t *tc = h->data;
  if (--tc->open_handles > 0) return;
  /* Both handles are closed and libuv has run every write callback (with UV_ECANCELED for the
   * unsent ones). Report the writes that never reached libuv, in order; the core may queue more
   * while we do (they land here too). */
  if (tc->conn) {
    if (tc->sync_done) spk__conn_write_done(tc->conn, tc->sync_token);
    for (size_t i = 0; i < tc->deferred_len; i++) spk__conn_write_done(tc->conn, tc->deferred[i]);
    spk__conn_free(tc->conn);
    tc->conn = NULL;
  }
  if (tc->deferred != tc->deferred_inline) spk__free(tc->deferred);
  spk__worker_conn_removed(tc->w, tc);
  spk__free(tc);
}

/* ---- reading ---- */

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  spk__tcp_conn_t *tc = h->data;
  size_t avail = 0;
  (void)suggested;
  char *p = spk__conn_read_buffer(tc->conn, SPK__READ_SIZE, &avail);
  buf->base = p;
  buf->len = p ? avail : 0;
}

static void apply(spk__tcp_conn_t *tc, spk__conn_action_t action);
static void settle(spk__tcp_conn_t *tc, spk__conn_action_t action);

static void on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf) {
  spk__tcp_conn_t *tc = s->data;
  (void)buf;
  if (tc->state != SPK__TC_OPEN) return;
  if (nread > 0) {
    sync_now(tc);
    settle(tc, spk__conn_commit(tc->conn, (size_t)nread));
  } else if (nread == UV_EOF) {
    tc->eof = 1;
    tc->reading = 0; /* libuv stopped reading */
    sync_now(tc);
    settle(tc, spk__conn_eof(tc->conn));
  } else if (nread < 0) {
    /* ECONNRESET, or UV_ENOBUFS when the connection has no room for input. */
    hard_close(tc);
  }
}

static void read_start(spk__tcp_conn_t *tc) {
  if (tc->reading || tc->eof || tc->state != SPK__TC_OPEN) return;
  if (uv_read_start(&tc->h.stream, on_alloc, on_read) != 0) {
    hard_close(tc);
    return;
  }
  tc->reading = 1;
}

/* Report a write uv_try_write completed (see worker.h), then act on the core's answer. The
 * core is not re-entrant, so completions are reported here, after the call that queued them. */
static void settle(spk__tcp_conn_t *tc, spk__conn_action_t action) {
  while (tc->sync_done && tc->state <= SPK__TC_FLUSH) {
    void *token = tc->sync_token;
    tc->sync_done = 0;
    tc->sync_token = NULL;
    tc->pending_writes--;
    action = spk__conn_write_done(tc->conn, token);
    if (tc->state == SPK__TC_FLUSH) {
      if (tc->pending_writes == 0) start_shutdown(tc);
      return;
    }
  }
  apply(tc, action);
}

static void apply(spk__tcp_conn_t *tc, spk__conn_action_t action) {
  if (tc->state != SPK__TC_OPEN) return;
  switch (action) {
    case SPK__CONN_CONTINUE:
      read_start(tc);
      break;
    case SPK__CONN_PAUSE:
      if (tc->reading) {
        uv_read_stop(&tc->h.stream);
        tc->reading = 0;
      }
      break;
    case SPK__CONN_CLOSE:
    default:
      graceful_close(tc);
      break;
  }
}

/* ---- the core's io callbacks ---- */

static void on_write(uv_write_t *req, int status) {
  spk__wreq_t *wr = (spk__wreq_t *)req;
  spk__tcp_conn_t *tc = wr->tc;
  void *token = wr->token;
  spk__worker_wreq_put(tc->w, wr);
  tc->pending_writes--;
  spk__conn_action_t action = spk__conn_write_done(tc->conn, token);
  if (status < 0) {
    hard_close(tc); /* no-op when already closing (UV_ECANCELED) */
    return;
  }
  switch (tc->state) {
    case SPK__TC_OPEN:
      settle(tc, action);
      break;
    case SPK__TC_FLUSH:
      if (tc->pending_writes == 0)
        start_shutdown(tc);
      else
        arm(tc, on_bound_timer, SPK__FLUSH_TIMEOUT_MS); /* progress: restart the bound */
      tc->flush_queued = tc->h.stream.write_queue_size;
      break;
    default:
      break;
  }
}

static void io_write(void *io_data, const spk__iov_t *iov, size_t iov_count, void *token) {
  spk__tcp_conn_t *tc = io_data;
  if (tc->state >= SPK__TC_SHUTDOWN) {
    defer_token(tc, token);
    return;
  }
  spk__wreq_t *wr = spk__worker_wreq_get(tc->w);
  uv_buf_t stack_bufs[SPK__IOV_STACK];
  uv_buf_t *bufs = stack_bufs;
  if (wr && iov_count > SPK__IOV_STACK) bufs = spk__malloc(iov_count * sizeof(*bufs));
  if (!wr || !bufs) {
    if (wr) spk__worker_wreq_put(tc->w, wr);
    defer_token(tc, token);
    hard_close(tc);
    return;
  }
  size_t total = 0;
  for (size_t i = 0; i < iov_count; i++) {
    bufs[i].base = (char *)(uintptr_t)iov[i].base;
    bufs[i].len = iov[i].len;
    total += iov[i].len;
  }
  if (iov_count == 0) { /* libuv asserts nbufs > 0: an empty write still completes in order */
    bufs[0] = uv_buf_init((char *)"", 0);
    iov_count = 1;
  }
  /* Fast path: nothing queued, so try the write now; a full write needs no request. */
  if (tc->state == SPK__TC_OPEN && tc->pending_writes == 0 && !tc->sync_done &&
      tc->h.stream.write_queue_size == 0) {
    int n = uv_try_write(&tc->h.stream, bufs, (unsigned)iov_count);
    if (n >= 0 && (size_t)n == total) {
      if (bufs != stack_bufs) spk__free(bufs);
      spk__worker_wreq_put(tc->w, wr);
      tc->pending_writes++;
      tc->sync_token = token;
      tc->sync_done = 1;
      return;
    }
    for (size_t i = 0, left = n > 0 ? (size_t)n : 0; left && i < iov_count; i++) {
      size_t take = bufs[i].len < left ? bufs[i].len : left; /* skip what was sent */
      bufs[i].base += take;
      bufs[i].len -= take;
      left -= take;
    }
  }
  wr->tc = tc;
  wr->token = token;
  /* uv_write copies the buffer descriptors, not the bytes. */
  int r = uv_write(&wr->req, &tc->h.stream, bufs, (unsigned)iov_count, on_write);
  if (bufs != stack_bufs) spk__free(bufs);
  if (r != 0) {
    spk__worker_wreq_put(tc->w, wr);
    defer_token(tc, token);
    hard_close(tc);
    return;
  }
  tc->pending_writes++;
  if (tc->state == SPK__TC_FLUSH) tc->flush_queued += total; /* not a stall */
}

static void on_conn_timer(uv_timer_t *t) {
  spk__tcp_conn_t *tc = t->data;
  if (tc->state != SPK__TC_OPEN) {
    hard_close(tc);
    return;
  }
  sync_now(tc);
  settle(tc, spk__conn_timeout(tc->conn));
}

static void io_set_timer(void *io_data, uint32_t ms) {
  spk__tcp_conn_t *tc = io_data;
  if (tc->state != SPK__TC_OPEN) return; /* closing: our own bounds own the timer */
  if (ms == 0)
    uv_timer_stop(&tc->timer);
  else
    uv_timer_start(&tc->timer, on_conn_timer, ms, 0);
}

/* ---- entry points from the worker ---- */

static void peer_name(spk__tcp_conn_t *tc, int is_unix, char *out, size_t cap, int *port) {
  *port = 0;
  if (is_unix) {
    snprintf(out, cap, "unix");
    return;
  }
  struct sockaddr_storage ss;
  int len = (int)sizeof(ss);
  snprintf(out, cap, "unknown");
  if (uv_tcp_getpeername(&tc->h.tcp, (struct sockaddr *)&ss, &len) != 0) return;
  if (ss.ss_family == AF_INET) {
    const struct sockaddr_in *a = (const struct sockaddr_in *)&ss;
    uv_ip4_name(a, out, cap);
    *port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)&ss;
    uv_ip6_name(a, out, cap);
    *port = ntohs(a->sin6_port);
  }
}

int spk__tcp_conn_accept(spk__worker_t *w) {
  spk_server_t *s = w->server;
  spk__tcp_conn_t *tc = spk__calloc(1, sizeof(*tc));
  if (!tc) return SPK_ENOMEM;
  tc->w = w;
  tc->seen_sec = -1;
  tc->deferred = tc->deferred_inline;
  tc->deferred_cap = sizeof(tc->deferred_inline) / sizeof(tc->deferred_inline[0]);
  if (s->is_unix)
    uv_pipe_init(&w->loop, &tc->h.pipe, 0);
  else
    uv_tcp_init(&w->loop, &tc->h.tcp);
  tc->h.handle.data = tc;
  uv_timer_init(&w->loop, &tc->timer);
  tc->timer.data = tc;
  tc->open_handles = 2;
  spk__worker_conn_added(w, tc);

  int r = uv_accept(&w->listener.stream, &tc->h.stream);
  if (r != 0) {
    hard_close(tc);
    return SPK_EIO;
  }
  if (!s->is_unix) uv_tcp_nodelay(&tc->h.tcp, 1);

  char remote[64];
  int port = 0;
  peer_name(tc, s->is_unix, remote, sizeof(remote), &port);
  tc->conn = spk__conn_new(s->app, &spk__tcp_io, tc, w, remote, port);
  if (!tc->conn) {
    hard_close(tc); /* accepted, then dropped: out of memory */
    return 0;
  }
  sync_now(tc);
  read_start(tc);
  return 0;
}

void spk__tcp_conn_resume(spk__tcp_conn_t *tc, spk__exchange_t *ex) {
  /* The connection object is alive (not yet freed) even when the socket is closing: the core
   * still needs the resume to finish the exchange; its writes are then reported as failed. */
  sync_now(tc);
  settle(tc, spk__conn_resume(tc->conn, ex));
}

void spk__tcp_conn_stream_wake(spk__tcp_conn_t *tc) {
  if (tc->state != SPK__TC_OPEN) {
    /* Closing: the stream is detached when the connection is freed; until then a write that
     * completes still pumps. Nothing to do for the wake itself. */
    return;
  }
  sync_now(tc);
  settle(tc, spk__conn_stream_wake(tc->conn));
}

void spk__tcp_conn_shutdown(spk__tcp_conn_t *tc) {
  if (tc->state != SPK__TC_OPEN) return;
  sync_now(tc);
  settle(tc, spk__conn_shutdown(tc->conn));
}

void spk__tcp_conn_force_close(spk__tcp_conn_t *tc) { hard_close(tc); }
