/* io layer internals: the server, its workers (one thread + one libuv loop + one listener each)
 * and the per-connection glue between a libuv stream and the sans-I/O spk__conn.
 *
 * Ownership and threads:
 *   - spk_server_t owns the workers; each worker owns its loop, listener, connections.
 *   - Everything in a worker runs on the worker's thread, except spk__worker_wake (any thread)
 *     and the server's stop flag (any thread, signal handlers included).
 *   - A connection (spk__tcp_conn_t) is freed only in its libuv close callback, never
 *     synchronously, so a pointer obtained in a callback stays valid until that callback ends. */
#ifndef SPK_IO_WORKER_H
#define SPK_IO_WORKER_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "core/conn.h"
#include "spikard/server.h"

typedef struct spk__worker spk__worker_t;
typedef struct spk__tcp_conn spk__tcp_conn_t;
typedef struct spk__wreq spk__wreq_t;

typedef union spk__stream {
  uv_handle_t handle;
  uv_stream_t stream;
  uv_tcp_t tcp;
  uv_pipe_t pipe;
} spk__stream_t;

struct spk__worker {
  spk_server_t *server;
  int index;
  int loop_ok;    /* uv_loop_init succeeded: the loop must be torn down */
  int thread_ok;  /* the thread was created: join it */
  uv_loop_t loop;
  uv_thread_t thread;

  spk__stream_t listener;
  int listener_open; /* handle initialised and not closed */
  int accept_pending; /* an accepted fd waits for a connection object (out of memory) */

  /* One async handle for both cross-thread events: completed exchanges and stop requests.
   * Referenced only while connections exist (a paused connection waiting on a handler has no
   * active handle of its own); closed only when the server is freed, so that uv_async_send
   * stays valid for the server's whole life. */
  uv_async_t async;
  int async_ok;
  uv_timer_t shutdown_timer; /* unreferenced: cuts connections after shutdown_timeout_ms */
  uv_timer_t accept_timer;   /* retry an accept after an allocation failure */
  int timers_ok;

  /* Wake queue (exchanges completed on other threads), protected by wake_mu. */
  uv_mutex_t wake_mu;
  int wake_mu_ok;
  spk__exchange_t **wake_q;
  size_t wake_len, wake_cap;
  spk__exchange_t **drain_q; /* the loop's side of the double buffer */
  size_t drain_cap;
  int dead; /* under wake_mu: the loop has exited, wakes release orphans at once */

  int stopping; /* graceful shutdown started on this worker */
  int forced;   /* connections were cut */

  spk__tcp_conn_t *conns; /* intrusive doubly-linked list of live connections */
  size_t conn_count;
  size_t held; /* suspended exchanges whose wake has not been processed yet */

  /* Cached wall-clock second for the Date header, refreshed at second boundaries. */
  int64_t now_sec;
  uint64_t date_deadline; /* uv_now() value at which now_sec must be recomputed */

  spk__wreq_t *wreq_free; /* recycled write requests */
  size_t wreq_free_count;

  uint64_t last_accept_log; /* rate limit for accept error messages */
  char discard[4096];       /* scratch read buffer for lingering closes */
};

struct spk_server {
  spk_app_t *app;
  spk_server_config_t config;
  char *host; /* copy of config.host */
  int is_unix;
  char *unix_path; /* bound socket file, unlinked on free */
  int port;
  int shared_listener; /* 1 when the workers share one socket (no SO_REUSEPORT) */
  int nworkers;
  spk__worker_t *workers;

  atomic_int stop_requested; /* 0, 1 graceful, 2 force */
  int started;
  int joined;

  uv_mutex_t mu; /* alive and done_async */
  int alive;     /* running worker threads */
  uv_async_t *done_async; /* spk_server_run's loop, woken when the last worker exits */
};

/* ---- listen.c ---- */
/* Open `count` listening sockets on host:port (or "unix:/path"). Each fds[i] is a distinct
 * descriptor (SO_REUSEPORT sockets, or dups of one socket when *shared is set). Errors:
 * SPK_EADDR, SPK_EINVAL, SPK_ENOMEM. On error no descriptor is left open. `join`: skip the
 * port-in-use probe (spk_server_config_t.join_port_group). */
int spk__listen_open(const char *host, int port, int backlog, int count, int join, int *fds,
                     int *bound_port, int *shared, char **unix_path);

/* ---- worker.c ---- */
int spk__worker_init(spk__worker_t *w, spk_server_t *server, int index, int listen_fd);
/* Thread entry point. */
void spk__worker_main(void *arg);
/* On the freeing thread, after the worker thread has been joined (or never ran). */
void spk__worker_destroy(spk__worker_t *w);
/* io->wake: any thread. */
void spk__worker_wake(void *wake_data, spk__exchange_t *ex);
/* io->wake_stream: any thread. */
void spk__worker_wake_stream(void *wake_data, struct spk_stream *s);
/* Owner thread: exchanges handed out (spk__conn_io_t.hold). */
void spk__worker_hold(void *wake_data, int delta);
/* The worker's current wall-clock second (loop thread). */
int64_t spk__worker_now(spk__worker_t *w);
/* Connection bookkeeping (loop thread). */
void spk__worker_conn_added(spk__worker_t *w, spk__tcp_conn_t *tc);
void spk__worker_conn_removed(spk__worker_t *w, spk__tcp_conn_t *tc);
/* Write request pool. */
spk__wreq_t *spk__worker_wreq_get(spk__worker_t *w);
void spk__worker_wreq_put(spk__worker_t *w, spk__wreq_t *r);
/* Rate-limited log line to stderr. */
void spk__io_log(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;

/* ---- tcp_conn.c ---- */
struct spk__wreq {
  uv_write_t req;
  spk__tcp_conn_t *tc;
  void *token;
  spk__wreq_t *next_free;
};

struct spk__tcp_conn {
  spk__stream_t h;
  uv_timer_t timer;
  uv_shutdown_t shutdown_req;
  spk__worker_t *w;
  spk__conn_t *conn;
  spk__tcp_conn_t *prev, *next;
  int64_t seen_sec;
  int state;           /* SPK__TC_* in tcp_conn.c */
  int open_handles;    /* stream + timer, until both close callbacks ran */
  size_t pending_writes;
  size_t flush_queued; /* write_queue_size at the last FLUSH tick (progress check) */
  unsigned reading : 1;
  unsigned eof : 1;
  /* Writes that never reached libuv (socket already closing): their spk__conn_write_done
   * is reported in the close callback, in order. */
  void **deferred;
  size_t deferred_len, deferred_cap;
  void *deferred_inline[4];
  /* A write that uv_try_write finished on the spot (only tried when nothing else is queued, so
   * there is at most one): reported by settle() once the core call that queued it returns.
   * This skips libuv's write request, whose completion costs an epoll_ctl per response. */
  void *sync_token;
  unsigned sync_done : 1;
};

/* Accept one pending connection from the worker's listener. 0, or SPK_ENOMEM (nothing was
 * accepted: retry later), or another error (the pending connection was dropped). */
int spk__tcp_conn_accept(spk__worker_t *w);
/* Resume after an async completion (loop thread). */
void spk__tcp_conn_resume(spk__tcp_conn_t *tc, spk__exchange_t *ex);
/* A streamed response of this connection was woken (loop thread). */
void spk__tcp_conn_stream_wake(spk__tcp_conn_t *tc);
/* Graceful shutdown of one connection. */
void spk__tcp_conn_shutdown(spk__tcp_conn_t *tc);
/* Cut the connection now. */
void spk__tcp_conn_force_close(spk__tcp_conn_t *tc);

#endif
