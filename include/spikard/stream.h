/* Spikard — streaming responses and Server-Sent Events.
 *
 * A handler turns its response into a stream with spk_res_stream (or spk_res_sse), sets status
 * and headers as usual and ends the response (return SPK_HANDLER_DONE, or spk_res_end later).
 * The head is then sent and the body follows chunk by chunk: HTTP/1.1 chunked transfer coding
 * (one chunk per write), or Content-Length when `content_length` is given up front, or — for
 * an HTTP/1.0 client — the body delimited by closing the connection.
 *
 * Two ways to produce the body, usable together:
 *   pull  `pull(stream, user_data)` is called on the connection's loop thread whenever the
 *         stream has nothing left to send and no write in flight — i.e. when the socket has
 *         taken everything written so far. It writes zero or more chunks with spk_stream_write
 *         and says what next (spk_stream_pull_result_t). A slow reader therefore slows the
 *         producer down: it is not called again before the previous chunks have drained.
 *   push  spk_stream_write / spk_sse_send from ANY thread. The bytes are queued and the loop
 *         thread is woken to send them. The queue is bounded (`max_buffered`, default 1 MiB):
 *         past it a write returns SPK_EAGAIN and queues nothing — the consumer is slow; drop,
 *         retry later, or use `pull` as the "ready for more" signal.
 *
 * Life cycle and ownership: the stream object has two owners, the response and you. You own it
 * from spk_res_stream until you call spk_stream_end or spk_stream_abort (exactly once; a pull
 * returning SPK_STREAM_END or an error counts as that call). After that the handle must not be
 * used. When the client goes away (or the response is dropped), `cancel` is called once on the
 * loop thread; from then on writes return SPK_ECLOSED, and you still release your ownership
 * with spk_stream_end/abort (from the cancel callback if you like). `pull` is never called
 * after `cancel`. Once spk_stream_end/abort has returned, no pull or cancel call is running
 * and none follows, so user_data may be freed at once: called from another thread while a
 * callback is running on the loop, they wait for it to return (do not call them while holding
 * a lock your callbacks take — e.g. a language binding's interpreter lock).
 *
 *   end    everything queued is sent, then the terminating chunk: a complete response; the
 *          connection can serve the next request.
 *   abort  whatever is queued is discarded and the connection is closed without the
 *          terminating chunk, so the client sees an incomplete body (not a short success).
 *
 * Compression middleware encodes chunked streams (gzip/br/zstd as negotiated), flushing after
 * every chunk so that each one is decodable on arrival; SSE streams are never compressed.
 * HEAD requests and 204/304 answers send the head only and cancel the stream. */
#ifndef SPIKARD_STREAM_H
#define SPIKARD_STREAM_H

#include "app.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct spk_stream spk_stream_t;

/* What a pull callback tells the core. */
typedef enum spk_stream_pull_result {
  /* Call me again once what I wrote has been sent. Returning this without having written
   * anything counts as SPK_STREAM_PAUSE (no busy loop). */
  SPK_STREAM_MORE = 0,
  /* Do not call me until spk_stream_resume (or a push from any thread). */
  SPK_STREAM_PAUSE = 1,
  /* The body is complete (same as spk_stream_end). */
  SPK_STREAM_END = 2
  /* A negative SPK_E* code aborts the stream (same as spk_stream_abort). */
} spk_stream_pull_result_t;

typedef int (*spk_stream_pull_fn)(spk_stream_t *stream, void *user_data);
typedef void (*spk_stream_cancel_fn)(spk_stream_t *stream, void *user_data);

typedef struct spk_stream_options {
  spk_stream_pull_fn pull;     /* NULL: push only */
  spk_stream_cancel_fn cancel; /* NULL: not told */
  void *user_data;
  /* Bytes that may wait in the queue before a write answers SPK_EAGAIN (0: 1 MiB). A single
   * write larger than this is accepted when the queue is empty. */
  size_t max_buffered;
  /* The exact body size when known up front (Content-Length framing, no compression); -1 or
   * 0 with `has_content_length` unset: unknown (chunked). Writing more than announced is
   * refused with SPK_ERANGE; ending with less closes the connection. */
  int64_t content_length;
  int has_content_length;
} spk_stream_options_t;

/* Make the response a stream. Call on the thread that owns the response, before it ends.
 * `options` may be NULL (push only). *out receives your handle. Replaces any body.
 * SPK_ESTATE (response ended), SPK_EINVAL, SPK_ENOMEM. */
SPK_EXTERN int spk_res_stream(spk_res_t *res, const spk_stream_options_t *options,
                              spk_stream_t **out);

/* Queue one chunk (copied). Any thread. An empty write is a no-op. SPK_EAGAIN (queue full),
 * SPK_ECLOSED (the client went away or the stream was aborted), SPK_ESTATE (already ended),
 * SPK_ERANGE (beyond content_length), SPK_ENOMEM. */
SPK_EXTERN int spk_stream_write(spk_stream_t *stream, const void *data, size_t len);
/* Same for NUL-terminated text. */
SPK_EXTERN int spk_stream_write_str(spk_stream_t *stream, const char *text);
/* Bytes queued and not yet taken by the loop for writing (any thread; a snapshot). This is
 * what max_buffered bounds; at most one batch more is in flight to the socket. */
SPK_EXTERN size_t spk_stream_buffered(spk_stream_t *stream);
/* Ask for the pull callback again after it returned SPK_STREAM_PAUSE. Any thread. */
SPK_EXTERN int spk_stream_resume(spk_stream_t *stream);
/* Finish normally / abort, releasing your ownership (see above). Any thread, exactly once.
 * spk_stream_end returns SPK_ECLOSED when the client was already gone (the handle is
 * released all the same). */
SPK_EXTERN int spk_stream_end(spk_stream_t *stream);
SPK_EXTERN int spk_stream_abort(spk_stream_t *stream);
/* 1 once the client went away or the stream was aborted (any thread; a snapshot). */
SPK_EXTERN int spk_stream_is_closed(spk_stream_t *stream);

/* ---- Server-Sent Events ---- */

typedef struct spk_sse_options {
  spk_stream_pull_fn pull; /* as for streams: call spk_sse_send from it */
  spk_stream_cancel_fn cancel;
  void *user_data;
  size_t max_buffered; /* 0: 1 MiB */
  /* Keep-alive comment (": keep-alive") after this many ms without an event. 0: the route's
   * "sse" section, else the app's, else 15000; negative: none. */
  int32_t keepalive_ms;
} spk_sse_options_t;

typedef struct spk_sse_event {
  const char *event; /* NULL: unnamed ("message" in the browser) */
  const char *id;    /* NULL: none; "" resets the client's last event id */
  const char *data;  /* NULL: no data lines; split on \r\n, \r and \n into data: lines */
  size_t data_len;   /* bytes of data (use strlen for text) */
  int64_t retry_ms;  /* reconnection time to announce; <= 0: none */
} spk_sse_event_t;

/* Make the response an event stream: 200, Content-Type: text/event-stream, Cache-Control:
 * no-cache, never compressed, keep-alive comments while idle. Same ownership rules as
 * spk_res_stream (release with spk_stream_end/abort). */
SPK_EXTERN int spk_res_sse(spk_res_t *res, const spk_sse_options_t *options,
                           spk_stream_t **out);
/* Queue one event; it is sent as one chunk, at once. Any thread. SPK_EINVAL when `event` or
 * `id` contains CR, LF or NUL; otherwise as spk_stream_write. */
SPK_EXTERN int spk_sse_send(spk_stream_t *stream, const spk_sse_event_t *event);
/* Convenience: an unnamed event with `data` (NUL-terminated) and an optional id. */
SPK_EXTERN int spk_sse_send_data(spk_stream_t *stream, const char *data, const char *id);
/* A comment line (": text"), e.g. a custom heartbeat. */
SPK_EXTERN int spk_sse_comment(spk_stream_t *stream, const char *text);

/* The request's Last-Event-ID header (the id of the last event a reconnecting EventSource
 * saw). SPK_ENOENT when absent. Lifetime: the request's. */
SPK_EXTERN int spk_req_last_event_id(const spk_req_t *req, spk_str_t *value);

#ifdef __cplusplus
}
#endif
#endif
