/* The network driver on Node's own event loop: the core's sans-I/O connection (core/conn.h)
 * fed by libuv handles on the loop napi_get_uv_event_loop returns, so parsing, routing and
 * validation run in C on the JS thread and handlers are called directly (request.c), with no
 * thread hop. Compiled against Node's uv.h and linked to nothing: uv_* are Node's own.
 *
 * Connection states: OPEN (reading unless paused) → FLUSH (the core said CLOSE: queued writes
 * drain) → SHUTDOWN (FIN sent) → CLOSED (uv_close on the stream and its timer; the memory goes
 * in the second close callback, after libuv has reported every write).
 *
 * Every entry from libuv into the core runs inside a handle scope and a callback scope, so the
 * promise jobs and nextTicks JS handlers queue run when the entry returns, as for any Node
 * callback. Completions (spk_res_end → io->wake) are queued and processed from a uv_async_t,
 * since the core is not re-entrant and `end` may come from any thread. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <uv.h>

#include "addon.h"
#include "core/conn.h"

typedef struct spkn_loop spkn_loop_t;
typedef struct spkn_lconn spkn_lconn_t;

enum { LC_OPEN, LC_FLUSH, LC_SHUTDOWN, LC_CLOSED };

struct spkn_lconn {
  uv_tcp_t tcp;
  uv_timer_t timer;
  uv_shutdown_t shutdown_req;
  spkn_loop_t *srv;
  spk__conn_t *conn;
  spkn_lconn_t *prev, *next;
  int state;
  int handles; /* open libuv handles (stream + timer) */
  size_t pending_writes;
  void **deferred; /* tokens of writes libuv refused, reported at close */
  size_t deferred_len, deferred_cap;
  unsigned reading : 1;
  unsigned eof : 1; /* the peer's FIN arrived: libuv stopped reading for good */
  unsigned broken : 1;
};

typedef struct spkn_wreq {
  uv_write_t req;
  spkn_lconn_t *lc;
  void *token;
} spkn_wreq_t;

struct spkn_loop {
  napi_env env;
  spkn_app_t *app;
  uv_loop_t *loop;
  uv_tcp_t listener;
  uv_async_t async;
  int listener_open, async_open;
  napi_async_context actx;
  napi_ref resource;
  napi_ref self; /* the JS handle, held while serving so that GC cannot close the server */
  spkn_lconn_t *conns;
  size_t conn_count;
  long held; /* exchanges out in handlers (spk__conn_io_t.hold) */
  int closing;
  int port;
  napi_deferred close_deferred;
  int finalized; /* the JS handle is gone: free when closed */
  int freed_handles;
  uv_mutex_t mu; /* wake queue */
  spk__exchange_t **wq;
  size_t wq_len, wq_cap;
  struct spk_stream **sq; /* streamed responses with news (wake_stream), under mu */
  size_t sq_len, sq_cap;
};

static void lc_apply(spkn_lconn_t *lc, spk__conn_action_t a);
static void lc_hard_close(spkn_lconn_t *lc);
static void srv_maybe_done(spkn_loop_t *s);

/* ---- entering JS-capable scopes ---- */

typedef struct scope {
  napi_handle_scope hs;
  napi_callback_scope cs;
  int ok;
} scope_t;

static void enter(spkn_loop_t *s, scope_t *sc) {
  napi_value res;
  sc->ok = 0;
  if (napi_open_handle_scope(s->env, &sc->hs) != napi_ok) return;
  if (napi_get_reference_value(s->env, s->resource, &res) != napi_ok ||
      napi_open_callback_scope(s->env, res, s->actx, &sc->cs) != napi_ok) {
    napi_close_handle_scope(s->env, sc->hs);
    return;
  }
  sc->ok = 1;
}

static void leave(spkn_loop_t *s, scope_t *sc) {
  if (!sc->ok) return;
  napi_close_callback_scope(s->env, sc->cs); /* runs the microtasks handlers queued */
  napi_close_handle_scope(s->env, sc->hs);
}

/* ---- the io table ---- */

static void on_write(uv_write_t *req, int status) {
  spkn_wreq_t *w = (spkn_wreq_t *)req;
  spkn_lconn_t *lc = w->lc;
  void *token = w->token;
  free(w);
  lc->pending_writes--;
  spk__conn_action_t a = spk__conn_write_done(lc->conn, token);
  if (status < 0 && lc->state < LC_CLOSED) a = SPK__CONN_CLOSE;
  lc_apply(lc, a);
}

/* A write libuv refused (the socket is already failing): its completion is reported when the
 * connection's handles have closed, never from inside the core call that queued it. */
static void defer_token(spkn_lconn_t *lc, void *token) {
  if (lc->deferred_len == lc->deferred_cap) {
    size_t cap = lc->deferred_cap ? lc->deferred_cap * 2 : 4;
    void **d = realloc(lc->deferred, cap * sizeof(*d));
    if (!d) return; /* out of memory: that response's memory is lost, never a crash */
    lc->deferred = d;
    lc->deferred_cap = cap;
  }
  lc->deferred[lc->deferred_len++] = token;
}

static void io_write(void *io_data, const spk__iov_t *iov, size_t n, void *token) {
  spkn_lconn_t *lc = io_data;
  spkn_wreq_t *w = lc->state < LC_SHUTDOWN ? malloc(sizeof(*w) + n * sizeof(uv_buf_t)) : NULL;
  if (w) {
    uv_buf_t *bufs = (uv_buf_t *)(w + 1);
    for (size_t i = 0; i < n; i++) bufs[i] = uv_buf_init((char *)iov[i].base, (unsigned)iov[i].len);
    w->lc = lc;
    w->token = token;
    if (uv_write(&w->req, (uv_stream_t *)&lc->tcp, bufs, (unsigned)n, on_write) == 0) {
      lc->pending_writes++;
      return;
    }
    free(w);
  }
  defer_token(lc, token);
  lc->broken = 1; /* lc_apply cuts the connection once the core call returns */
}

static void on_timer(uv_timer_t *t) {
  spkn_lconn_t *lc = t->data;
  scope_t sc;
  if (lc->state != LC_OPEN) { /* FLUSH/SHUTDOWN took too long: cut */
    lc_hard_close(lc);
    return;
  }
  enter(lc->srv, &sc);
  lc_apply(lc, spk__conn_timeout(lc->conn));
  leave(lc->srv, &sc);
}

static void io_set_timer(void *io_data, uint32_t ms) {
  spkn_lconn_t *lc = io_data;
  if (lc->state >= LC_CLOSED) return;
  if (ms) uv_timer_start(&lc->timer, on_timer, ms, 0);
  else uv_timer_stop(&lc->timer);
}

static void io_wake(void *wake_data, spk__exchange_t *ex) {
  spkn_loop_t *s = wake_data;
  uv_mutex_lock(&s->mu);
  if (s->wq_len == s->wq_cap) {
    size_t cap = s->wq_cap ? s->wq_cap * 2 : 64;
    spk__exchange_t **q = realloc(s->wq, cap * sizeof(*q));
    while (!q) q = realloc(s->wq, cap * sizeof(*q)); /* never lose a completion */
    s->wq = q;
    s->wq_cap = cap;
  }
  s->wq[s->wq_len++] = ex;
  uv_mutex_unlock(&s->mu);
  uv_async_send(&s->async);
}

static void io_wake_stream(void *wake_data, struct spk_stream *st) {
  spkn_loop_t *s = wake_data;
  uv_mutex_lock(&s->mu);
  if (s->sq_len == s->sq_cap) {
    size_t cap = s->sq_cap ? s->sq_cap * 2 : 64;
    struct spk_stream **q = realloc(s->sq, cap * sizeof(*q));
    while (!q) q = realloc(s->sq, cap * sizeof(*q)); /* never lose a wake */
    s->sq = q;
    s->sq_cap = cap;
  }
  s->sq[s->sq_len++] = st;
  uv_mutex_unlock(&s->mu);
  uv_async_send(&s->async);
}

static void io_hold(void *wake_data, int delta) {
  spkn_loop_t *s = wake_data;
  s->held += delta;
}

static const spk__conn_io_t loop_io = {io_write, io_wake, io_set_timer, io_hold, io_wake_stream};

/* ---- connections ---- */

static void lc_close_cb(uv_handle_t *h) {
  spkn_lconn_t *lc = h->data;
  if (--lc->handles) return;
  spkn_loop_t *s = lc->srv;
  if (lc->conn) {
    for (size_t i = 0; i < lc->deferred_len; i++) spk__conn_write_done(lc->conn, lc->deferred[i]);
    spk__conn_free(lc->conn);
  }
  free(lc->deferred);
  if (lc->prev) lc->prev->next = lc->next;
  else s->conns = lc->next;
  if (lc->next) lc->next->prev = lc->prev;
  s->conn_count--;
  free(lc);
  srv_maybe_done(s);
}

static void lc_hard_close(spkn_lconn_t *lc) {
  if (lc->state == LC_CLOSED) return;
  lc->state = LC_CLOSED;
  spk__conn_abort(lc->conn);
  uv_timer_stop(&lc->timer);
  uv_close((uv_handle_t *)&lc->tcp, lc_close_cb);
  uv_close((uv_handle_t *)&lc->timer, lc_close_cb);
}

static void on_shutdown(uv_shutdown_t *req, int status) {
  (void)status;
  lc_hard_close(req->data);
}

static void lc_flush_done(spkn_lconn_t *lc) {
  lc->state = LC_SHUTDOWN;
  lc->shutdown_req.data = lc;
  uv_timer_start(&lc->timer, on_timer, 2000, 0);
  if (uv_shutdown(&lc->shutdown_req, (uv_stream_t *)&lc->tcp, on_shutdown) != 0)
    lc_hard_close(lc);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf) {
  spkn_lconn_t *lc = h->data;
  size_t avail = 0;
  (void)suggested;
  char *p = spk__conn_read_buffer(lc->conn, 16384, &avail);
  buf->base = p;
  buf->len = p ? avail : 0;
}

static void on_read(uv_stream_t *st, ssize_t nread, const uv_buf_t *buf) {
  spkn_lconn_t *lc = st->data;
  scope_t sc;
  (void)buf;
  if (lc->state != LC_OPEN) return;
  if (nread > 0) {
    spk__conn_set_now(lc->conn, (int64_t)time(NULL));
    enter(lc->srv, &sc);
    lc_apply(lc, spk__conn_commit(lc->conn, (size_t)nread));
    leave(lc->srv, &sc);
  } else if (nread == UV_EOF) {
    lc->reading = 0;
    lc->eof = 1;
    lc_apply(lc, spk__conn_eof(lc->conn));
  } else if (nread < 0) {
    lc_hard_close(lc);
  }
}

static void lc_apply(spkn_lconn_t *lc, spk__conn_action_t a) {
  if (lc->state == LC_CLOSED || lc->state == LC_SHUTDOWN) return;
  if (lc->broken) {
    lc_hard_close(lc);
    return;
  }
  if (lc->state == LC_FLUSH) {
    if (lc->pending_writes == 0) lc_flush_done(lc);
    return;
  }
  switch (a) {
  case SPK__CONN_CONTINUE:
    if (!lc->reading && !lc->eof) {
      if (uv_read_start((uv_stream_t *)&lc->tcp, on_alloc, on_read) != 0) {
        lc_hard_close(lc);
        return;
      }
      lc->reading = 1;
    }
    break;
  case SPK__CONN_PAUSE:
    if (lc->reading) uv_read_stop((uv_stream_t *)&lc->tcp);
    lc->reading = 0;
    break;
  case SPK__CONN_CLOSE:
    if (lc->reading) uv_read_stop((uv_stream_t *)&lc->tcp);
    lc->reading = 0;
    lc->state = LC_FLUSH;
    uv_timer_start(&lc->timer, on_timer, 10000, 0);
    if (lc->pending_writes == 0) lc_flush_done(lc);
    break;
  }
}

static void on_connection(uv_stream_t *server, int status) {
  spkn_loop_t *s = server->data;
  if (status < 0) return;
  spkn_lconn_t *lc = calloc(1, sizeof(*lc));
  if (!lc) return; /* the pending connection stays in the backlog */
  uv_tcp_init(s->loop, &lc->tcp);
  uv_timer_init(s->loop, &lc->timer);
  lc->tcp.data = lc;
  lc->timer.data = lc;
  lc->handles = 2;
  lc->srv = s;
  lc->next = s->conns;
  if (s->conns) s->conns->prev = lc;
  s->conns = lc;
  s->conn_count++;
  char ip[64] = "unknown";
  int port = 0;
  if (uv_accept(server, (uv_stream_t *)&lc->tcp) != 0) {
    lc->state = LC_CLOSED;
    uv_close((uv_handle_t *)&lc->tcp, lc_close_cb);
    uv_close((uv_handle_t *)&lc->timer, lc_close_cb);
    return;
  }
  struct sockaddr_storage ss;
  int len = sizeof(ss);
  if (uv_tcp_getpeername(&lc->tcp, (struct sockaddr *)&ss, &len) == 0) {
    if (ss.ss_family == AF_INET) {
      uv_ip4_name((struct sockaddr_in *)&ss, ip, sizeof(ip));
      port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
    } else if (ss.ss_family == AF_INET6) {
      uv_ip6_name((struct sockaddr_in6 *)&ss, ip, sizeof(ip));
      port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
  }
  uv_tcp_nodelay(&lc->tcp, 1);
  lc->conn = spk__conn_new(s->app->app, &loop_io, lc, s, ip, port);
  if (!lc->conn) {
    lc->state = LC_CLOSED;
    uv_close((uv_handle_t *)&lc->tcp, lc_close_cb);
    uv_close((uv_handle_t *)&lc->timer, lc_close_cb);
    return;
  }
  spk__conn_set_now(lc->conn, (int64_t)time(NULL));
  lc_apply(lc, SPK__CONN_CONTINUE);
}

/* ---- completions ---- */

/* One batch per wake-up (as io/worker.c): a stream that re-queues itself after its burst has
 * sent the async again and waits for the next loop iteration, so it cannot keep Node's loop —
 * JS timers, sockets, shutdown — waiting inside this callback. */
static void on_async(uv_async_t *a) {
  spkn_loop_t *s = a->data;
  uv_mutex_lock(&s->mu);
  size_t n = s->wq_len, ns = s->sq_len;
  spk__exchange_t **q = s->wq;
  struct spk_stream **sq = s->sq;
  s->wq = NULL;
  s->wq_len = s->wq_cap = 0;
  s->sq = NULL;
  s->sq_len = s->sq_cap = 0;
  uv_mutex_unlock(&s->mu);
  if (n || ns) {
    scope_t sc;
    enter(s, &sc);
    for (size_t i = 0; i < ns; i++) {
      spk__conn_t *c = spk__stream_deliver(sq[i]);
      if (c) lc_apply(spk__conn_io_data(c), spk__conn_stream_wake(c));
    }
    for (size_t i = 0; i < n; i++) {
      spk__conn_t *c = spk__exchange_conn(q[i]);
      s->held--;
      if (!c) {
        spk__exchange_release_orphan(q[i]);
        continue;
      }
      spkn_lconn_t *lc = spk__conn_io_data(c);
      lc_apply(lc, spk__conn_resume(c, q[i]));
    }
    leave(s, &sc);
  }
  free(sq);
  free(q);
  srv_maybe_done(s);
}

/* ---- the server object ---- */

static void srv_free(spkn_loop_t *s) {
  napi_async_destroy(s->env, s->actx);
  napi_delete_reference(s->env, s->resource);
  uv_mutex_destroy(&s->mu);
  free(s->wq);
  for (size_t i = 0; i < s->sq_len; i++) spk__stream_wake_drop(s->sq[i]);
  free(s->sq);
  spkn_app_unuse(s->app);
  free(s);
}

static void srv_handle_closed(uv_handle_t *h) {
  spkn_loop_t *s = h->data;
  if (--s->freed_handles > 0) return;
  if (s->close_deferred) {
    /* Inside a callback scope: the promise's reactions must run now, as after any Node
     * callback. Resolved from a bare libuv callback they would wait for the next unrelated
     * callback, and with nothing else alive Node would see an idle loop with a pending promise. */
    scope_t sc;
    napi_value undef;
    enter(s, &sc);
    napi_get_undefined(s->env, &undef);
    napi_resolve_deferred(s->env, s->close_deferred, undef);
    s->close_deferred = NULL;
    leave(s, &sc);
  }
  napi_delete_reference(s->env, s->self);
  s->self = NULL;
  if (s->finalized) srv_free(s);
  else s->closing = 3; /* fully closed; the finalizer frees */
}

/* After close(): once no connection and no handler-held exchange remains, close the handles. */
static void srv_maybe_done(spkn_loop_t *s) {
  if (s->closing != 1 || s->conn_count || s->held > 0 || s->listener_open) return;
  s->closing = 2;
  s->freed_handles = 1;
  s->async_open = 0;
  uv_close((uv_handle_t *)&s->async, srv_handle_closed);
}

static void listener_closed(uv_handle_t *h) {
  spkn_loop_t *s = h->data;
  s->listener_open = 0;
  srv_maybe_done(s);
}

static void srv_begin_close(spkn_loop_t *s) {
  if (s->closing) return;
  s->closing = 1;
  uv_ref((uv_handle_t *)&s->async); /* the loop must run until the last completion */
  if (s->listener_open) uv_close((uv_handle_t *)&s->listener, listener_closed);
  for (spkn_lconn_t *lc = s->conns, *next; lc; lc = next) {
    next = lc->next;
    if (lc->state == LC_OPEN) lc_apply(lc, spk__conn_shutdown(lc->conn));
  }
  srv_maybe_done(s);
}

static void srv_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  spkn_loop_t *s = data;
  s->finalized = 1;
  /* Before close() completes the handle is referenced (s->self): this happens only when the
   * environment is torn down, whose loop no longer runs our callbacks; the process is ending. */
  if (s->closing == 3) srv_free(s);
}

static void free_failed(uv_handle_t *h) {
  spkn_loop_t *s = h->data;
  uv_mutex_destroy(&s->mu);
  free(s);
}

/* Several processes (cluster workers) listening on one port, each with its own socket, the
 * kernel spreading connections (SO_REUSEPORT; libuv 1.46 has no flag for it). */
static int bind_reuseport(uv_tcp_t *h, const struct sockaddr *addr) {
  int fd = socket(addr->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return uv_translate_sys_error(errno);
  int one = 1;
  socklen_t len = addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                              : sizeof(struct sockaddr_in);
  if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
      setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0 ||
      bind(fd, addr, len) != 0) {
    int e = uv_translate_sys_error(errno);
    close(fd);
    return e;
  }
  int err = uv_tcp_open(h, fd);
  if (err) close(fd);
  return err;
}

/* listenOnLoop(app, host, port, reusePort) → handle */
static napi_value js_listen_loop(napi_env env, napi_callback_info info) {
  size_t argc = 4;
  napi_value argv[4], out, res, name;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_app_t *a = argc >= 1 ? spkn_unwrap(env, argv[0], "listenOnLoop: not an app handle") : NULL;
  if (!a) return NULL;
  char host[128] = "127.0.0.1";
  size_t hl = 0;
  int32_t port = 0;
  if (argc >= 2) napi_get_value_string_utf8(env, argv[1], host, sizeof(host), &hl);
  if (argc >= 3) napi_get_value_int32(env, argv[2], &port);
  bool reuse_port = false;
  if (argc >= 4) napi_get_value_bool(env, argv[3], &reuse_port);
  int rc = spk_app_freeze(a->app);
  if (rc != SPK_OK) {
    const char *why = spk_app_last_error(a->app);
    napi_throw_error(env, spk_err_name(rc), why && *why ? why : spk_strerror(rc));
    return NULL;
  }
  struct sockaddr_storage addr;
  if (uv_ip4_addr(host, port, (struct sockaddr_in *)&addr) != 0 &&
      uv_ip6_addr(host, port, (struct sockaddr_in6 *)&addr) != 0) {
    napi_throw_error(env, "SPK_EINVAL", "listen: host must be an IPv4 or IPv6 address");
    return NULL;
  }
  spkn_loop_t *s = calloc(1, sizeof(*s));
  if (!s || uv_mutex_init(&s->mu) != 0) {
    free(s);
    napi_throw_error(env, NULL, "out of memory");
    return NULL;
  }
  s->env = env;
  s->app = a;
  napi_get_uv_event_loop(env, &s->loop);
  uv_tcp_init(s->loop, &s->listener);
  s->listener.data = s;
  s->listener_open = 1;
  int err = reuse_port ? bind_reuseport(&s->listener, (struct sockaddr *)&addr)
                       : uv_tcp_bind(&s->listener, (struct sockaddr *)&addr, 0);
  if (!err) err = uv_listen((uv_stream_t *)&s->listener, 1024, on_connection);
  if (err) {
    uv_close((uv_handle_t *)&s->listener, free_failed); /* the handle lives until its callback */
    napi_throw_error(env, "SPK_EADDR", uv_strerror(err));
    return NULL;
  }
  struct sockaddr_storage bound;
  int blen = sizeof(bound);
  uv_tcp_getsockname(&s->listener, (struct sockaddr *)&bound, &blen);
  s->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
                                              : ((struct sockaddr_in *)&bound)->sin_port);
  uv_async_init(s->loop, &s->async, on_async);
  s->async.data = s;
  s->async_open = 1;
  uv_unref((uv_handle_t *)&s->async); /* the listener keeps the loop alive while serving */
  napi_create_object(env, &res);
  napi_create_reference(env, res, 1, &s->resource);
  napi_create_string_utf8(env, "spikard.request", NAPI_AUTO_LENGTH, &name);
  napi_async_init(env, res, name, &s->actx);
  a->users++;
  if (spkn_wrap(env, s, srv_finalize, &out) != napi_ok) {
    napi_throw_error(env, NULL, "listen: wrap");
    return NULL; /* the listener still runs; unreachable unless out of memory */
  }
  napi_create_reference(env, out, 1, &s->self);
  return out;
}

static spkn_loop_t *unwrap_loop(napi_env env, napi_callback_info info, napi_value *argv) {
  size_t argc = 1;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  return argc ? spkn_unwrap(env, argv[0], "not a loop server") : NULL;
}

static napi_value js_loop_port(napi_env env, napi_callback_info info) {
  napi_value argv[1], v;
  spkn_loop_t *s = unwrap_loop(env, info, argv);
  if (!s) return NULL;
  napi_create_int32(env, s->port, &v);
  return v;
}

/* closeLoop(handle) → Promise: stop accepting, finish in-flight requests, close idle
 * connections; resolved when everything is closed. */
static napi_value js_loop_close(napi_env env, napi_callback_info info) {
  napi_value argv[1], promise, undef;
  spkn_loop_t *s = unwrap_loop(env, info, argv);
  if (!s) return NULL;
  napi_deferred d;
  napi_create_promise(env, &d, &promise);
  if (s->closing || s->close_deferred) {
    napi_get_undefined(env, &undef);
    napi_resolve_deferred(env, d, undef);
    return promise;
  }
  s->close_deferred = d;
  srv_begin_close(s);
  return promise;
}

napi_status spkn_init_loop(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
      {"listenOnLoop", NULL, js_listen_loop, NULL, NULL, NULL, napi_enumerable, NULL},
      {"loopPort", NULL, js_loop_port, NULL, NULL, NULL, napi_enumerable, NULL},
      {"loopClose", NULL, js_loop_close, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof(d) / sizeof(d[0]), d);
}
