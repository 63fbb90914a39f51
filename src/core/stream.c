/* Streaming responses: the public spk_stream_* API and the loop-side producer (see
 * stream_internal.h for the threading and ownership model, include/spikard/stream.h for the
 * contract). */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "core/exchange.h"
#include "core/stream_internal.h"
#include "proto/compress.h"
#include "util/alloc.h"
#include "util/buf.h"

#define DEFAULT_MAX_BUFFERED (1u << 20)
/* Pull calls in a row without going back to the event loop: a producer whose writes the
 * socket takes at once (fast local reader) must not starve the other connections. After this
 * many, the stream wakes itself through the driver's queue and the loop runs in between. */
#define PULL_BURST 64

static const char keepalive_comment[] = ": keep-alive\n\n";

struct spk_stream {
  pthread_mutex_t mu;
  pthread_cond_t cb_done; /* signalled when a pull/cancel call returns */
  atomic_int refs;
  spk_stream_pull_fn pull;
  spk_stream_cancel_fn cancel;
  void *user_data;
  size_t max_buffered;
  int64_t content_length; /* -1: unknown */
  int sse;
  uint32_t keepalive_ms;
  atomic_int in_pull; /* the loop is inside pull: it takes the queue afterwards, no wake */
  /* ---- under mu ---- */
  spk__buf_t q;      /* raw chunks, back to back */
  spk__buf_t qsizes; /* size_t per chunk */
  uint64_t accepted; /* raw bytes accepted in total (content_length check) */
  int user_done;     /* end or abort called: the user's reference is gone */
  int end_req, abort_req;
  int closed; /* client gone / response dropped: writes refused */
  int paused; /* pull said PAUSE (or MORE without writing) */
  int live;   /* started and attached: wakes make sense */
  int attached;
  int wake_pending;
  /* A pull or cancel call is running (entered after checking user_done under mu): end/abort
   * from another thread waits for it, so that once they return user_data is no longer used. */
  int in_cb;
  pthread_t cb_thread;
  void (*wake)(void *, spk_stream_t *);
  void *wake_data;
  /* ---- loop thread only ---- */
  spk__conn_t *conn;
  int chunked;
  int finished; /* the last bytes were produced (or the user aborted) */
  int cancel_called;
  unsigned burst;
  struct spk_encoder *enc;
  spk__buf_t take, takesizes; /* the queue, swapped out */
  spk__buf_t out;             /* framed bytes of the write in flight */
};

static void unref(spk_stream_t *s) {
  if (atomic_fetch_sub(&s->refs, 1) != 1) return;
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cb_done);
  if (s->enc) spk_encoder_free(s->enc);
  spk__buf_free(&s->q);
  spk__buf_free(&s->qsizes);
  spk__buf_free(&s->take);
  spk__buf_free(&s->takesizes);
  spk__buf_free(&s->out);
  spk__free(s);
}

/* Under mu: ask the loop to look at the stream (once until it has). */
static void wake_locked(spk_stream_t *s) {
  if (!s->live || !s->attached || s->wake_pending || atomic_load(&s->in_pull)) return;
  s->wake_pending = 1;
  atomic_fetch_add(&s->refs, 1); /* the queued wake's */
  s->wake(s->wake_data, s);
}

/* ---- public API ---- */

static spk_stream_t *stream_new(spk_res_t *res, spk_stream_pull_fn pull,
                                spk_stream_cancel_fn cancel, void *ud, size_t max_buffered) {
  spk__exchange_t *ex = spk__exchange_of_res(res);
  if (atomic_load(&ex->ended) || !ex->wake_stream) return NULL;
  spk_stream_t *s = spk__calloc(1, sizeof(*s));
  if (!s) return NULL;
  if (pthread_mutex_init(&s->mu, NULL) != 0) {
    spk__free(s);
    return NULL;
  }
  if (pthread_cond_init(&s->cb_done, NULL) != 0) {
    pthread_mutex_destroy(&s->mu);
    spk__free(s);
    return NULL;
  }
  atomic_init(&s->refs, 2); /* the response's and the user's */
  atomic_init(&s->in_pull, 0);
  s->pull = pull;
  s->cancel = cancel;
  s->user_data = ud;
  s->max_buffered = max_buffered ? max_buffered : DEFAULT_MAX_BUFFERED;
  s->content_length = -1;
  s->attached = 1;
  s->wake = ex->wake_stream;
  s->wake_data = ex->wake_data;
  return s;
}

/* Install `s` as the response body (replacing any other). */
static int install(spk_res_t *res, spk_stream_t *s) {
  /* Any previous body goes: spk_res_body with nothing releases it. */
  int rc = spk_res_body(res, NULL, 0);
  if (rc) return rc;
  res->stream = s;
  return SPK_OK;
}

SPK_EXTERN int spk_res_stream(spk_res_t *res, const spk_stream_options_t *o,
                              spk_stream_t **out) {
  if (!res || !out) return SPK_EINVAL;
  *out = NULL;
  spk__exchange_t *ex = spk__exchange_of_res(res);
  if (atomic_load(&ex->ended)) return SPK_ESTATE;
  if (o && o->has_content_length && o->content_length < 0) return SPK_EINVAL;
  spk_stream_t *s = stream_new(res, o ? o->pull : NULL, o ? o->cancel : NULL,
                               o ? o->user_data : NULL, o ? o->max_buffered : 0);
  if (!s) return SPK_ENOMEM;
  if (o && o->has_content_length) s->content_length = o->content_length;
  int rc = install(res, s);
  if (rc) {
    atomic_store(&s->refs, 1);
    unref(s);
    return rc;
  }
  *out = s;
  return SPK_OK;
}

/* Queue raw bytes as one chunk. */
static int enqueue(spk_stream_t *s, const void *data, size_t len) {
  pthread_mutex_lock(&s->mu);
  int rc = SPK_OK;
  if (s->user_done)
    rc = SPK_ESTATE;
  else if (s->closed || s->abort_req)
    rc = SPK_ECLOSED;
  else if (s->content_length >= 0 && s->accepted + len > (uint64_t)s->content_length)
    rc = SPK_ERANGE;
  else if (s->q.len && s->q.len + len > s->max_buffered)
    rc = SPK_EAGAIN;
  if (rc == SPK_OK && len) {
    size_t mark = s->q.len;
    if (spk__buf_append(&s->q, data, len) || spk__buf_append(&s->qsizes, &len, sizeof(len))) {
      s->q.len = mark;
      rc = SPK_ENOMEM;
    } else {
      s->accepted += len;
      s->paused = 0; /* a push is a resume: the producer may have more to say */
      wake_locked(s);
    }
  }
  pthread_mutex_unlock(&s->mu);
  return rc;
}

SPK_EXTERN int spk_stream_write(spk_stream_t *s, const void *data, size_t len) {
  if (!s || (!data && len)) return SPK_EINVAL;
  return enqueue(s, data, len);
}

SPK_EXTERN int spk_stream_write_str(spk_stream_t *s, const char *text) {
  if (!text) return SPK_EINVAL;
  return spk_stream_write(s, text, strlen(text));
}

SPK_EXTERN size_t spk_stream_buffered(spk_stream_t *s) {
  if (!s) return 0;
  pthread_mutex_lock(&s->mu);
  size_t n = s->q.len;
  pthread_mutex_unlock(&s->mu);
  return n;
}

SPK_EXTERN int spk_stream_is_closed(spk_stream_t *s) {
  if (!s) return 1;
  pthread_mutex_lock(&s->mu);
  int c = s->closed || s->abort_req;
  pthread_mutex_unlock(&s->mu);
  return c;
}

SPK_EXTERN int spk_stream_resume(spk_stream_t *s) {
  if (!s) return SPK_EINVAL;
  pthread_mutex_lock(&s->mu);
  int rc = s->user_done ? SPK_ESTATE : s->closed ? SPK_ECLOSED : SPK_OK;
  if (!rc) {
    s->paused = 0;
    wake_locked(s);
  }
  pthread_mutex_unlock(&s->mu);
  return rc;
}

static int finish_user(spk_stream_t *s, int abort) {
  if (!s) return SPK_EINVAL;
  pthread_mutex_lock(&s->mu);
  if (s->user_done) {
    pthread_mutex_unlock(&s->mu);
    return SPK_ESTATE;
  }
  int rc = s->closed ? SPK_ECLOSED : SPK_OK;
  s->user_done = 1;
  if (abort)
    s->abort_req = 1;
  else
    s->end_req = 1;
  wake_locked(s);
  /* A callback that passed its user_done check before ours still runs on the loop: wait for
   * it, so that the caller may free what user_data points to as soon as we return. Not from
   * inside the callback itself (a pull returning END, a cancel releasing the stream). */
  while (s->in_cb && !pthread_equal(s->cb_thread, pthread_self()))
    pthread_cond_wait(&s->cb_done, &s->mu);
  pthread_mutex_unlock(&s->mu);
  unref(s);
  return rc;
}

SPK_EXTERN int spk_stream_end(spk_stream_t *s) { return finish_user(s, 0); }
SPK_EXTERN int spk_stream_abort(spk_stream_t *s) { return finish_user(s, 1); }

/* ---- loop side ---- */

void spk__stream_start(spk_stream_t *s, spk__conn_t *c, int chunked) {
  s->conn = c;
  s->chunked = chunked;
  pthread_mutex_lock(&s->mu);
  s->live = 1;
  pthread_mutex_unlock(&s->mu);
}

uint32_t spk__stream_idle_ms(const spk_stream_t *s) { return s->sse ? s->keepalive_ms : 0; }
int64_t spk__stream_content_length(const spk_stream_t *s) { return s->content_length; }
int spk__stream_is_sse(const spk_stream_t *s) { return s->sse; }
void spk__stream_make_sse(spk_stream_t *s, uint32_t keepalive_ms) {
  s->sse = 1;
  s->keepalive_ms = keepalive_ms;
}

void spk__stream_set_encoder(spk_stream_t *s, struct spk_encoder *enc) {
  if (s->enc) spk_encoder_free(s->enc);
  s->enc = enc;
}

void spk__stream_keepalive(spk_stream_t *s) {
  pthread_mutex_lock(&s->mu);
  if (!s->closed && !s->user_done && !s->abort_req) {
    size_t len = sizeof(keepalive_comment) - 1;
    if (spk__buf_append(&s->q, keepalive_comment, len) == SPK_OK &&
        spk__buf_append(&s->qsizes, &len, sizeof(len)) != SPK_OK)
      s->q.len -= len;
  }
  /* Also after end: the terminator follows when the loop looks. */
  pthread_mutex_unlock(&s->mu);
}

/* Append one framed chunk of `len` bytes to s->out. */
static int frame(spk_stream_t *s, const char *data, size_t len) {
  if (!len) return SPK_OK; /* a zero-size chunk would end the body */
  if (s->chunked) {
    char hex[24];
    int k = snprintf(hex, sizeof(hex), "%zx\r\n", len);
    if (spk__buf_append(&s->out, hex, (size_t)k)) return SPK_ENOMEM;
  }
  if (spk__buf_append(&s->out, data, len)) return SPK_ENOMEM;
  return s->chunked ? spk__buf_append(&s->out, "\r\n", 2) : SPK_OK;
}

/* One raw chunk through the encoder (flushed: decodable on arrival) or as it is. */
static int emit(spk_stream_t *s, const char *data, size_t len) {
  if (!s->enc) return frame(s, data, len);
  spk__buf_t enc = {0};
  int rc = spk_encoder_feed(s->enc, data, len, &enc);
  if (!rc) rc = spk_encoder_flush(s->enc, &enc);
  if (!rc) rc = frame(s, enc.data, enc.len);
  spk__buf_free(&enc);
  return rc;
}

static int emit_end(spk_stream_t *s) {
  int rc = SPK_OK;
  if (s->enc) {
    spk__buf_t enc = {0};
    rc = spk_encoder_finish(s->enc, NULL, 0, &enc);
    if (!rc) rc = frame(s, enc.data, enc.len);
    spk__buf_free(&enc);
  }
  if (!rc && s->chunked) rc = spk__buf_append(&s->out, "0\r\n\r\n", 5);
  return rc;
}

/* Under mu: a user callback is about to run outside the mutex / has returned. */
static void cb_enter(spk_stream_t *s) {
  s->in_cb = 1;
  s->cb_thread = pthread_self();
}
static void cb_leave(spk_stream_t *s) {
  s->in_cb = 0;
  pthread_cond_broadcast(&s->cb_done);
}

/* Call the producer (outside the mutex). Returns with the mutex held. */
static void call_pull(spk_stream_t *s) {
  s->burst++;
  size_t before = s->accepted;
  cb_enter(s);
  pthread_mutex_unlock(&s->mu);
  atomic_store(&s->in_pull, 1);
  int r = s->pull(s, s->user_data);
  if (r == SPK_STREAM_END)
    spk_stream_end(s);
  else if (r < 0)
    spk_stream_abort(s);
  atomic_store(&s->in_pull, 0);
  pthread_mutex_lock(&s->mu);
  cb_leave(s);
  if (r == SPK_STREAM_PAUSE || (r == SPK_STREAM_MORE && s->accepted == before)) s->paused = 1;
}

int spk__stream_next(spk_stream_t *s, spk__iov_t *iov, int *last) {
  *last = 0;
  if (s->finished) return SPK__STREAM_DONE;
  pthread_mutex_lock(&s->mu);
  if (!s->q.len && !s->end_req && !s->abort_req && !s->closed && s->pull && !s->paused &&
      !s->user_done) {
    if (s->burst >= PULL_BURST) {
      /* Yield to the loop: the self-wake brings us back after other work ran. */
      s->burst = 0;
      wake_locked(s);
      pthread_mutex_unlock(&s->mu);
      return SPK__STREAM_IDLE;
    }
    call_pull(s);
  }
  if (s->abort_req) {
    pthread_mutex_unlock(&s->mu);
    s->finished = 1;
    return SPK__STREAM_ABORT;
  }
  /* Take the whole queue: one write for everything queued. */
  spk__buf_t t = s->q, ts = s->qsizes;
  s->q = s->take;
  s->qsizes = s->takesizes;
  s->q.len = s->qsizes.len = 0;
  int end = s->end_req;
  uint64_t accepted = s->accepted;
  pthread_mutex_unlock(&s->mu);
  s->take = t;
  s->takesizes = ts;

  s->out.len = 0;
  int rc = SPK_OK;
  size_t n = ts.len / sizeof(size_t), off = 0;
  for (size_t i = 0; i < n && !rc; i++) {
    size_t len;
    memcpy(&len, ts.data + i * sizeof(size_t), sizeof(len));
    rc = emit(s, t.data + off, len);
    off += len;
  }
  if (!rc && end) {
    /* Fewer bytes than announced cannot be a complete response: close instead. */
    if (s->content_length >= 0 && accepted != (uint64_t)s->content_length) rc = SPK_ERANGE;
    else rc = emit_end(s);
  }
  if (rc) { /* out of memory or a failing codec: the body cannot be completed */
    s->finished = 1;
    return SPK__STREAM_ABORT;
  }
  if (end) {
    s->finished = 1;
    *last = 1;
  }
  if (s->out.len) {
    *iov = (spk__iov_t){s->out.data, s->out.len};
    return SPK__STREAM_WRITE;
  }
  return end ? SPK__STREAM_DONE : SPK__STREAM_IDLE;
}

void spk__stream_written(spk_stream_t *s) { s->out.len = 0; }

void spk__stream_detach(spk_stream_t *s) {
  pthread_mutex_lock(&s->mu);
  s->attached = 0;
  s->live = 0;
  s->closed = 1;
  /* Decided under mu, with the callback marked as running: a concurrent end/abort either
   * comes first (no cancel) or waits until the cancel has returned. */
  int call = !s->finished && !s->user_done && !s->cancel_called && s->cancel;
  if (call) {
    s->cancel_called = 1;
    cb_enter(s);
  }
  pthread_mutex_unlock(&s->mu);
  s->conn = NULL;
  if (call) {
    s->cancel(s, s->user_data);
    pthread_mutex_lock(&s->mu);
    cb_leave(s);
    pthread_mutex_unlock(&s->mu);
  }
  unref(s);
}

/* ---- driver side (conn.h) ---- */

spk__conn_t *spk__stream_deliver(spk_stream_t *s) {
  pthread_mutex_lock(&s->mu);
  s->wake_pending = 0;
  pthread_mutex_unlock(&s->mu);
  s->burst = 0; /* we went through the loop */
  spk__conn_t *c = s->conn; /* the exchange's reference keeps s alive while attached */
  unref(s);
  return c;
}

void spk__stream_wake_drop(spk_stream_t *s) { unref(s); }

/* ---- SSE ---- */

SPK_EXTERN int spk_req_last_event_id(const spk_req_t *req, spk_str_t *value) {
  if (!req || !value) return SPK_EINVAL;
  return spk_req_header(req, "Last-Event-ID", value);
}
