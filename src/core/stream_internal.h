/* Streams between the public API (any thread) and the connection (its loop thread).
 *
 * A stream is a separate, reference-counted object: the response holds one reference until
 * the exchange is freed, the user holds one until spk_stream_end/abort, and every wake in a
 * driver's queue holds one. Raw chunks are queued under the stream's mutex by any thread; the
 * loop thread takes the whole queue when nothing is in flight, frames it (chunked coding, the
 * compression encoder) and writes it as one write. The producer (pull) is only called when the
 * queue is empty and the previous write has completed: that is the back-pressure.
 *
 * Wakes: a write from another thread asks the driver to run spk__conn_stream_wake on the loop
 * (conn.h: io->wake_stream). The wake call is made under the stream's mutex while the stream is
 * attached to a live connection, so the driver is alive for it; the connection detaches the
 * stream (under the same mutex) before it goes away. */
#ifndef SPK_CORE_STREAM_INTERNAL_H
#define SPK_CORE_STREAM_INTERNAL_H

#include <stdint.h>

#include "core/conn.h"
#include "spikard/stream.h"

struct spk_encoder;

/* What spk__stream_next asks of the connection. */
enum {
  SPK__STREAM_IDLE = 0,  /* nothing to send now: wait for a wake or the idle timer */
  SPK__STREAM_WRITE = 1, /* write *iov (one write in flight); call spk__stream_written after */
  SPK__STREAM_DONE = 2,  /* complete, nothing more to write */
  SPK__STREAM_ABORT = 3  /* close the connection now, without the terminating chunk */
};

/* Owner thread, in spk_res_stream's exchange: the wake hook of the connection's driver. */
void spk__stream_bind(spk_stream_t *s, void (*wake)(void *, spk_stream_t *), void *wake_data);
/* The head has been queued: start producing. `chunked`: frame each chunk (HTTP/1.1 with an
 * unknown length). */
void spk__stream_start(spk_stream_t *s, spk__conn_t *c, int chunked);
/* Loop thread: the next bytes. *last is set when those bytes complete the stream. */
int spk__stream_next(spk_stream_t *s, spk__iov_t *iov, int *last);
/* Loop thread: the write of spk__stream_next's bytes completed. */
void spk__stream_written(spk_stream_t *s);
/* Idle timer (ms; 0: none): SSE keep-alive interval. */
uint32_t spk__stream_idle_ms(const spk_stream_t *s);
/* The idle timer fired: queue a keep-alive comment. */
void spk__stream_keepalive(spk_stream_t *s);
/* Body size for the head: >= 0 when known up front, else -1. */
int64_t spk__stream_content_length(const spk_stream_t *s);
/* Is it an event stream (never compressed)? */
int spk__stream_is_sse(const spk_stream_t *s);
/* spk_res_sse: an event stream with keep-alive comments every `keepalive_ms` (0: none). */
void spk__stream_make_sse(spk_stream_t *s, uint32_t keepalive_ms);
/* Compression middleware: encode every chunk with `enc` (owned by the stream from now on). */
void spk__stream_set_encoder(spk_stream_t *s, struct spk_encoder *enc);
/* The response lets go (exchange freed, body replaced): no more wakes; `cancel` unless the
 * stream completed or the user already let go; drops the response's reference. */
void spk__stream_detach(spk_stream_t *s);

#endif
