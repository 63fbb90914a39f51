/* A sans-I/O HTTP/1.1 server connection: bytes in, bytes out, requests dispatched to the app.
 *
 * The io layer (libuv) and the in-memory test client both drive this same object, so the test
 * client exercises exactly the server's parsing, framing, keep-alive, pipelining and error
 * paths. The connection owns a read buffer and processes one request at a time: pipelined
 * requests wait in the buffer until the previous response has been handed to `write`, which
 * keeps responses in request order.
 *
 * Threading: every function here runs on the connection's owner thread (the loop). The only
 * cross-thread event is an async handler's spk_res_end, which calls io->wake from the ending
 * thread; the owner must then call spk__conn_resume on its own thread. */
#ifndef SPK_CORE_CONN_H
#define SPK_CORE_CONN_H

#include <stddef.h>
#include <stdint.h>

#include "spikard/app.h"

typedef struct spk__conn spk__conn_t;
typedef struct spk__exchange spk__exchange_t;
struct spk_stream;

typedef struct spk__iov {
  const void *base;
  size_t len;
} spk__iov_t;

typedef struct spk__conn_io {
  /* Queue bytes for writing, in order. The memory stays valid until the driver calls
   * spk__conn_write_done(conn, token) — the driver must call it exactly once per write, after the
   * bytes are written or the connection died. */
  void (*write)(void *io_data, const spk__iov_t *iov, size_t iov_count, void *token);
  /* From any thread: an async response is ready. Called with the loop-level `wake_data` given to
   * spk__conn_new (not io_data: the connection may be gone by then). The owner thread must then
   * look up spk__exchange_conn(ex): a connection → spk__conn_resume(conn, ex); NULL (the
   * connection was freed meanwhile) → spk__exchange_release_orphan(ex). */
  void (*wake)(void *wake_data, spk__exchange_t *ex);
  /* Timers. The core asks for one timer per connection: arm (ms > 0) or disarm (ms == 0).
   * On expiry the driver calls spk__conn_timeout. */
  void (*set_timer)(void *io_data, uint32_t ms);
  /* On the owner thread, may be NULL: an exchange was handed out (+1: a step suspended; its
   * wake will follow exactly once, and the driver counts -1 when it processes that wake). A
   * driver keeps its loop alive while exchanges are out, even after their connections closed
   * (a request timeout answers 408 without waiting for the handler), so that the late end
   * always finds a live loop. */
  void (*hold)(void *wake_data, int delta);
  /* From any thread, may be NULL (no streamed responses then): a streamed response has bytes
   * or news for the loop. Called with the loop-level `wake_data`; the owner thread must then
   * call spk__stream_deliver(s) and, when it returns a connection, spk__conn_stream_wake on
   * it. A wake that can no longer be delivered (the loop has exited) is dropped with
   * spk__stream_wake_drop. */
  void (*wake_stream)(void *wake_data, struct spk_stream *s);
} spk__conn_io_t;

/* What the driver must do next, returned by most calls. */
typedef enum spk__conn_action {
  SPK__CONN_CONTINUE = 0, /* keep reading */
  SPK__CONN_PAUSE = 1,    /* stop reading until a write completes or a resume (back-pressure) */
  SPK__CONN_CLOSE = 2     /* flush queued writes, then close the socket */
} spk__conn_action_t;

/* `remote` is text such as "127.0.0.1", copied. */
spk__conn_t *spk__conn_new(const spk_app_t *app, const spk__conn_io_t *io, void *io_data,
                           void *wake_data, const char *remote, int remote_port);
void *spk__conn_io_data(const spk__conn_t *c);

/* The driver's bytes: appended to the connection's buffer and processed. */
spk__conn_action_t spk__conn_feed(spk__conn_t *c, const char *data, size_t len);

/* Zero-copy read path: a buffer of at least `suggested` bytes inside the connection, to read
 * into; then spk__conn_commit(c, n) processes n bytes written there. */
char *spk__conn_read_buffer(spk__conn_t *c, size_t suggested, size_t *avail);
spk__conn_action_t spk__conn_commit(spk__conn_t *c, size_t n);

/* The exchange in the pipeline right now (NULL between requests). Owner thread only. */
spk__exchange_t *spk__conn_current(const spk__conn_t *c);
/* The current exchange is in a handler's (hook's, factory's) hands: freeing the connection
 * leaves it to its wake (spk__exchange_release_orphan). */
int spk__conn_in_handler(const spk__conn_t *c);

/* A write finished (or was abandoned because the socket died). */
spk__conn_action_t spk__conn_write_done(spk__conn_t *c, void *token);

/* On the owner thread after io->wake(ex). */
spk__conn_action_t spk__conn_resume(spk__conn_t *c, spk__exchange_t *ex);

/* The armed timer fired. */
spk__conn_action_t spk__conn_timeout(spk__conn_t *c);

/* The peer closed its side (EOF). */
spk__conn_action_t spk__conn_eof(spk__conn_t *c);

/* 1 when no request is in progress and nothing is queued (safe to close on shutdown). */
int spk__conn_is_idle(const spk__conn_t *c);

/* Graceful shutdown: the current response (if any) is sent with Connection: close and no
 * further request is read. Returns CLOSE when the connection is idle now. */
spk__conn_action_t spk__conn_shutdown(spk__conn_t *c);

/* The socket is gone (reset, closed): the remaining writes will be reported as done, but no
 * further bytes are produced (a file body being streamed stops). */
void spk__conn_abort(spk__conn_t *c);

/* Streams (core/stream.c): the owner thread delivers a wake_stream. Returns the connection to
 * run spk__conn_stream_wake on, or NULL (the stream is gone from its connection). */
spk__conn_t *spk__stream_deliver(struct spk_stream *s);
void spk__stream_wake_drop(struct spk_stream *s);
spk__conn_action_t spk__conn_stream_wake(spk__conn_t *c);

/* Update the cached Date (once a second per loop is enough). */
void spk__conn_set_now(spk__conn_t *c, int64_t unix_sec);

/* Free, on the owner thread, after every write has been reported with spk__conn_write_done
 * (libuv: write callbacks run, with UV_ECANCELED, before the close callback). An async
 * exchange still in a handler's hands is detached: spk__exchange_conn returns NULL for it from
 * now on and the driver releases it when its wake arrives. */
void spk__conn_free(spk__conn_t *c);
/* For the WebSocket session (ws_conn.c), owner thread only: queue a write (counted like a
 * response's), arm the connection's timer for it, the io and its wake data. */
void spk__conn_ws_write(spk__conn_t *c, const spk__iov_t *iov, size_t n, void *token);
void spk__conn_ws_timer(spk__conn_t *c, uint32_t ms);
size_t spk__conn_ws_pending(const spk__conn_t *c);
const spk__conn_io_t *spk__conn_io(const spk__conn_t *c);
void *spk__conn_wake_data(const spk__conn_t *c);

/* Owner thread only. */
spk__conn_t *spk__exchange_conn(const spk__exchange_t *ex);
void spk__exchange_release_orphan(spk__exchange_t *ex);

#endif
