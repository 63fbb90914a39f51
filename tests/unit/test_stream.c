/* Streaming responses: push and pull producers through the in-memory client, chunk framing,
 * end/abort, bounded buffering, pushes from another thread, back-pressure and cancellation
 * on the sans-I/O connection (writes completed by hand), compression per chunk. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <brotli/decode.h>
#include <zlib.h>
#include <zstd.h>

#include "core/conn.h"
#include "util/buf.h"
#include "spikard.h"
#include "test.h"

/* ---- helpers ---- */

typedef struct ctx {
  spk_stream_options_t opt;
  int mode; /* what the handler does, see h_stream */
  int pulls;
  int limit; /* chunks a pull producer writes before END */
  atomic_int cancels;
  pthread_t th;
  int th_started;
  spk_stream_t *s;
  int rc_after_cancel, closed_after_cancel, end_after_cancel;
  int eagain;
} ctx_t;

enum { M_PUSH3, M_PULL, M_EMPTY, M_ABORT, M_THREAD, M_BOUNDED, M_LENGTH, M_PULL_FOREVER };

static void sleep_ms(long ms) {
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static int pull_counted(spk_stream_t *s, void *ud) {
  ctx_t *c = ud;
  c->pulls++;
  if (c->pulls > c->limit) return SPK_STREAM_END;
  char line[32];
  snprintf(line, sizeof(line), "line %d\n", c->pulls);
  spk_stream_write_str(s, line);
  return SPK_STREAM_MORE;
}

static int pull_forever(spk_stream_t *s, void *ud) {
  ctx_t *c = ud;
  c->pulls++;
  spk_stream_write_str(s, "x");
  return SPK_STREAM_MORE;
}

static void on_cancel(spk_stream_t *s, void *ud) {
  ctx_t *c = ud;
  atomic_fetch_add(&c->cancels, 1);
  (void)s;
}

/* The usual cancel: release our ownership there. */
static void on_cancel_release(spk_stream_t *s, void *ud) {
  on_cancel(s, ud);
  spk_stream_abort(s);
}

static void *pusher(void *arg) {
  ctx_t *c = arg;
  for (int i = 0; i < 100; i++) {
    char buf[16];
    snprintf(buf, sizeof(buf), "%03d,", i);
    int rc;
    while ((rc = spk_stream_write_str(c->s, buf)) == SPK_EAGAIN) sleep_ms(1);
    if (rc) break;
    if (i % 10 == 0) sleep_ms(1);
  }
  spk_stream_end(c->s);
  return NULL;
}

static int h_stream(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  ctx_t *c = ud;
  spk_stream_options_t o = c->opt;
  o.user_data = c;
  if (!o.cancel) o.cancel = on_cancel_release;
  if (c->mode == M_PULL) o.pull = pull_counted;
  if (c->mode == M_PULL_FOREVER) o.pull = pull_forever;
  if (c->mode == M_BOUNDED) o.max_buffered = 10;
  if (c->mode == M_LENGTH) o.content_length = 6, o.has_content_length = 1;
  spk_stream_t *s;
  if (spk_res_stream(res, &o, &s) != SPK_OK) return SPK_ENOMEM;
  c->s = s;
  spk_res_header(res, "Content-Type", "text/plain");
  switch (c->mode) {
    case M_PUSH3:
      spk_stream_write_str(s, "one;");
      spk_stream_write_str(s, "two;");
      spk_stream_write_str(s, "three");
      spk_stream_end(s);
      break;
    case M_EMPTY:
      spk_stream_end(s);
      break;
    case M_ABORT:
      spk_stream_write_str(s, "partial");
      spk_stream_abort(s);
      break;
    case M_THREAD:
      c->th_started = pthread_create(&c->th, NULL, pusher, c) == 0;
      break;
    case M_BOUNDED:
      CHECK_INT(spk_stream_write(s, "12345678", 8), 0);
      c->eagain = spk_stream_write(s, "12345678", 8);
      CHECK_INT(spk_stream_buffered(s), 8);
      spk_stream_end(s);
      break;
    case M_LENGTH:
      spk_stream_write_str(s, "abc");
      CHECK_INT(spk_stream_write_str(s, "defg"), SPK_ERANGE);
      spk_stream_write_str(s, "def");
      spk_stream_end(s);
      break;
    default:
      break;
  }
  return SPK_HANDLER_DONE;
}

static spk_app_t *app_with(ctx_t *c, const char *config) {
  spk_app_t *app = spk_app_new();
  if (config) CHECK_INT(spk_app_configure(app, config), 0);
  CHECK_INT(spk_app_route(app, "GET", "/s", h_stream, c), 0);
  return app;
}

static int send(ctx_t *c, const char *config, const spk_test_request_t *req,
                spk_test_response_t *out) {
  spk_app_t *app = app_with(c, config);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_request_t def = {.target = "/s"};
  int rc = spk_test_client_send(tc, req ? req : &def, out);
  if (c->th_started) pthread_join(c->th, NULL), c->th_started = 0;
  spk_test_client_free(tc);
  spk_app_free(app);
  return rc;
}

/* ---- through the test client ---- */

static void test_push_chunks(void) {
  ctx_t c = {.mode = M_PUSH3};
  spk_test_response_t r;
  CHECK_INT(send(&c, NULL, NULL, &r), 0);
  CHECK_INT(r.status, 200);
  CHECK_STR(spk_test_response_header(&r, "transfer-encoding"), "chunked");
  CHECK(spk_test_response_header(&r, "content-length") == NULL);
  CHECK_MEM(r.body, r.body_len, "one;two;three");
  CHECK_INT(r.chunk_count, 3);
  if (r.chunk_count == 3) {
    CHECK_INT(r.chunk_sizes[0], 4);
    CHECK_INT(r.chunk_sizes[2], 5);
  }
  CHECK_INT(r.incomplete, 0);
  CHECK_INT(atomic_load(&c.cancels), 0);
  CHECK(strstr(r.raw, "\r\n0\r\n\r\n") != NULL);
  spk_test_response_free(&r);
}

static void test_pull_chunks(void) {
  ctx_t c = {.mode = M_PULL, .limit = 200};
  spk_test_response_t r;
  CHECK_INT(send(&c, NULL, NULL, &r), 0);
  CHECK_INT(r.chunk_count, 200);
  CHECK_INT(c.pulls, 201);
  CHECK(r.body_len > 0 && memcmp(r.body, "line 1\nline 2\n", 14) == 0);
  CHECK(r.body_len >= 10 && memcmp(r.body + r.body_len - 9, "line 200\n", 9) == 0);
  CHECK_INT(r.incomplete, 0);
  CHECK_INT(atomic_load(&c.cancels), 0);
  spk_test_response_free(&r);
}

static void test_empty(void) {
  ctx_t c = {.mode = M_EMPTY};
  spk_test_response_t r;
  CHECK_INT(send(&c, NULL, NULL, &r), 0);
  CHECK_INT(r.status, 200);
  CHECK_INT(r.body_len, 0);
  CHECK_INT(r.chunk_count, 0);
  CHECK_INT(r.incomplete, 0);
  spk_test_response_free(&r);
}

static void test_abort(void) {
  ctx_t c = {.mode = M_ABORT};
  spk_test_response_t r;
  CHECK_INT(send(&c, NULL, NULL, &r), 0);
  CHECK_INT(r.incomplete, 1);
  /* Abort discards what was queued: nothing was sent before it. */
  CHECK_INT(r.body_len, 0);
  CHECK(strstr(r.raw, "\r\n0\r\n\r\n") == NULL);
  CHECK_INT(atomic_load(&c.cancels), 0); /* the user aborted: no cancel */
  spk_test_response_free(&r);
}

static void test_thread_push(void) {
  ctx_t c = {.mode = M_THREAD};
  c.opt.max_buffered = 64; /* force EAGAIN round trips */
  spk_test_response_t r;
  CHECK_INT(send(&c, NULL, NULL, &r), 0);
  CHECK_INT(r.body_len, 400);
  int ok = 1;
  for (int i = 0; i < 100 && r.body_len == 400; i++) {
    char buf[8];
    snprintf(buf, sizeof(buf), "%03d,", i);
    if (memcmp(r.body + i * 4, buf, 4) != 0) ok = 0;
  }
  CHECK(ok);
  CHECK_INT(r.chunk_count, 100);
  CHECK_INT(r.incomplete, 0);
  spk_test_response_free(&r);
}

static void test_bounded(void) {
  ctx_t c = {.mode = M_BOUNDED};
  spk_test_response_t r;
  CHECK_INT(send(&c, NULL, NULL, &r), 0);
  CHECK_INT(c.eagain, SPK_EAGAIN);
  CHECK_MEM(r.body, r.body_len, "12345678");
  spk_test_response_free(&r);
}

static void test_content_length(void) {
  ctx_t c = {.mode = M_LENGTH};
  spk_test_response_t r;
  CHECK_INT(send(&c, NULL, NULL, &r), 0);
  CHECK_STR(spk_test_response_header(&r, "content-length"), "6");
  CHECK(spk_test_response_header(&r, "transfer-encoding") == NULL);
  CHECK_MEM(r.body, r.body_len, "abcdef");
  spk_test_response_free(&r);
}

static void test_head_cancels(void) {
  ctx_t c = {.mode = M_PULL, .limit = 5};
  spk_test_request_t req = {.method = "HEAD", .target = "/s"};
  spk_test_response_t r;
  CHECK_INT(send(&c, NULL, &req, &r), 0);
  CHECK_INT(r.status, 200);
  CHECK_INT(r.body_len, 0);
  CHECK_INT(c.pulls, 0);
  CHECK_INT(atomic_load(&c.cancels), 1);
  spk_test_response_free(&r);
}

static void test_http10(void) {
  ctx_t c = {.mode = M_PUSH3};
  spk_app_t *app = app_with(&c, NULL);
  spk_test_client_t *tc = spk_test_client_new(app);
  const char raw[] = "GET /s HTTP/1.0\r\n\r\n";
  spk_test_response_t r;
  CHECK_INT(spk_test_client_send_raw(tc, raw, sizeof(raw) - 1, &r), 0);
  CHECK(spk_test_response_header(&r, "transfer-encoding") == NULL);
  CHECK_MEM(r.body, r.body_len, "one;two;three");
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
}

static void test_connection_close(void) {
  ctx_t c = {.mode = M_THREAD};
  spk_test_header_t h = {"Connection", "close"};
  spk_test_request_t req = {.target = "/s", .headers = &h, .header_count = 1};
  spk_test_response_t r;
  CHECK_INT(send(&c, NULL, &req, &r), 0);
  CHECK_INT(r.body_len, 400);
  CHECK_INT(r.incomplete, 0);
  spk_test_response_free(&r);
}

static int inflate_gzip(const char *in, size_t len, spk__buf_t *out) {
  z_stream z;
  memset(&z, 0, sizeof(z));
  if (inflateInit2(&z, 15 + 16) != Z_OK) return -1;
  z.next_in = (Bytef *)(uintptr_t)in;
  z.avail_in = (uInt)len;
  char buf[4096];
  int rc;
  do {
    z.next_out = (Bytef *)buf;
    z.avail_out = sizeof(buf);
    rc = inflate(&z, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR) break;
    spk__buf_append(out, buf, sizeof(buf) - z.avail_out);
  } while (rc == Z_OK && (z.avail_in || z.avail_out == 0));
  inflateEnd(&z);
  return rc == Z_STREAM_END ? 0 : rc == Z_OK || rc == Z_BUF_ERROR ? 1 : -1;
}

static void test_compressed(void) {
  ctx_t c = {.mode = M_PULL, .limit = 50};
  spk_test_header_t h = {"Accept-Encoding", "gzip"};
  spk_test_request_t req = {.target = "/s", .headers = &h, .header_count = 1};
  spk_test_response_t r;
  CHECK_INT(send(&c, "{\"compression\": {\"min_size\": 100000}}", &req, &r), 0);
  CHECK_STR(spk_test_response_header(&r, "content-encoding"), "gzip");
  CHECK_STR(spk_test_response_header(&r, "vary"), "Accept-Encoding");
  spk__buf_t dec = {0};
  CHECK_INT(inflate_gzip(r.body, r.body_len, &dec), 0);
  CHECK(dec.len > 14 && memcmp(dec.data, "line 1\nline 2\n", 14) == 0);
  CHECK(dec.len > 9 && memcmp(dec.data + dec.len - 8, "line 50\n", 8) == 0);
  spk__buf_free(&dec);
  /* Flushed per chunk: the first chunk alone decodes to the first line. */
  if (r.chunk_count > 1) {
    spk__buf_t first = {0};
    CHECK_INT(inflate_gzip(r.body, r.chunk_sizes[0], &first), 1);
    CHECK_MEM(first.data, first.len, "line 1\n");
    spk__buf_free(&first);
  }
  CHECK(r.chunk_count >= 50);
  spk_test_response_free(&r);
}

/* br and zstd streams decode whole; an event stream stays identity even when asked. */
static void test_compressed_br_zstd(void) {
  const char *codings[] = {"br", "zstd"};
  for (int k = 0; k < 2; k++) {
    ctx_t c = {.mode = M_PULL, .limit = 40};
    spk_test_header_t h = {"Accept-Encoding", codings[k]};
    spk_test_request_t req = {.target = "/s", .headers = &h, .header_count = 1};
    spk_test_response_t r;
    CHECK_INT(send(&c, "{\"compression\": true}", &req, &r), 0);
    CHECK_STR(spk_test_response_header(&r, "content-encoding"), codings[k]);
    static char out[65536];
    size_t n = sizeof(out);
    if (k == 0) {
      CHECK_INT(BrotliDecoderDecompress(r.body_len, (const uint8_t *)r.body, &n, (uint8_t *)out),
                BROTLI_DECODER_RESULT_SUCCESS);
    } else {
      size_t z = ZSTD_decompress(out, sizeof(out), r.body, r.body_len);
      CHECK(!ZSTD_isError(z));
      n = ZSTD_isError(z) ? 0 : z;
    }
    CHECK(n > 8 && memcmp(out + n - 8, "line 40\n", 8) == 0);
    CHECK(r.chunk_count >= 40);
    spk_test_response_free(&r);
  }
}

/* ---- the sans-I/O connection with writes completed by hand ---- */

typedef struct fake {
  void *tokens[64];
  size_t ntokens;
  spk__buf_t out;
} fake_t;

static void f_write(void *io_data, const spk__iov_t *iov, size_t n, void *token) {
  fake_t *f = io_data;
  for (size_t i = 0; i < n; i++) spk__buf_append(&f->out, iov[i].base, iov[i].len);
  if (f->ntokens < 64) f->tokens[f->ntokens++] = token;
}
static void f_wake(void *wd, spk__exchange_t *ex) { (void)wd, (void)ex; }
static void f_timer(void *io_data, uint32_t ms) { (void)io_data, (void)ms; }
static void f_wake_stream(void *wd, struct spk_stream *s) {
  (void)wd;
  spk__stream_wake_drop(s); /* unused: everything here happens on this thread */
}
static const spk__conn_io_t fake_io = {f_write, f_wake, f_timer, NULL, f_wake_stream};

static void *pop_token(fake_t *f) {
  void *t = f->tokens[0];
  memmove(f->tokens, f->tokens + 1, --f->ntokens * sizeof(void *));
  return t;
}

static void test_backpressure(void) {
  ctx_t c = {.mode = M_PULL_FOREVER};
  spk_app_t *app = app_with(&c, NULL);
  CHECK_INT(spk_app_freeze(app), 0);
  fake_t f = {0};
  spk__conn_t *conn = spk__conn_new(app, &fake_io, &f, NULL, "test", 0);
  const char req[] = "GET /s HTTP/1.1\r\nHost: x\r\n\r\n";
  spk__conn_feed(conn, req, sizeof(req) - 1);
  /* Head + the first chunk are out; the producer ran once. */
  CHECK_INT(c.pulls, 1);
  CHECK_INT(f.ntokens, 2);
  /* The head's write completes: the chunk is still in flight, no new pull. */
  spk__conn_write_done(conn, pop_token(&f));
  CHECK_INT(c.pulls, 1);
  for (int round = 0; round < 10; round++) {
    CHECK_INT(f.ntokens, 1); /* never more than one stream write in flight */
    spk__conn_write_done(conn, pop_token(&f));
    CHECK_INT(c.pulls, round + 2);
  }
  /* The client goes away: the driver reports the write done after an abort. */
  CHECK_INT(atomic_load(&c.cancels), 0);
  spk__conn_abort(conn);
  while (f.ntokens) spk__conn_write_done(conn, pop_token(&f));
  CHECK_INT(atomic_load(&c.cancels), 1);
  int pulls = c.pulls;
  spk__conn_free(conn);
  CHECK_INT(c.pulls, pulls);
  CHECK_INT(atomic_load(&c.cancels), 1);
  spk__buf_free(&f.out);
  spk_app_free(app);
}

/* A push stream whose client disconnects while another thread still writes: cancel is called
 * once on the loop, the writer sees SPK_ECLOSED and releases its handle. */
static void *late_writer(void *arg) {
  ctx_t *c = arg;
  while (!atomic_load(&c->cancels)) sleep_ms(1);
  c->rc_after_cancel = spk_stream_write_str(c->s, "late");
  c->closed_after_cancel = spk_stream_is_closed(c->s);
  c->end_after_cancel = spk_stream_end(c->s);
  return NULL; /* checked by the main thread: the CHECK counters are not thread-safe */
}

static int h_idle_push(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  ctx_t *c = ud;
  spk_stream_options_t o = {.cancel = on_cancel, .user_data = c};
  if (spk_res_stream(res, &o, &c->s)) return SPK_ENOMEM;
  spk_stream_write_str(c->s, "hello");
  c->th_started = pthread_create(&c->th, NULL, late_writer, c) == 0;
  return SPK_HANDLER_DONE;
}

/* An app with GET /s → handler on the sans-I/O connection, the request fed. */
static spk__conn_t *conn_get_s(spk_app_t **app, spk_handler_fn h, void *ud, fake_t *f) {
  *app = spk_app_new();
  CHECK_INT(spk_app_route(*app, "GET", "/s", h, ud), 0);
  CHECK_INT(spk_app_freeze(*app), 0);
  spk__conn_t *conn = spk__conn_new(*app, &fake_io, f, NULL, "test", 0);
  const char req[] = "GET /s HTTP/1.1\r\nHost: x\r\n\r\n";
  spk__conn_feed(conn, req, sizeof(req) - 1);
  return conn;
}

static void test_cancel_with_writer(void) {
  ctx_t c = {0};
  spk_app_t *app;
  fake_t f = {0};
  spk__conn_t *conn = conn_get_s(&app, h_idle_push, &c, &f);
  CHECK(f.out.len > 0 && strstr(f.out.data, "5\r\nhello\r\n") != NULL);
  spk__conn_abort(conn);
  while (f.ntokens) spk__conn_write_done(conn, pop_token(&f));
  spk__conn_free(conn);
  CHECK_INT(atomic_load(&c.cancels), 1);
  if (c.th_started) pthread_join(c.th, NULL);
  CHECK_INT(c.rc_after_cancel, SPK_ECLOSED);
  CHECK_INT(c.closed_after_cancel, 1);
  CHECK_INT(c.end_after_cancel, SPK_ECLOSED);
  spk__buf_free(&f.out);
  spk_app_free(app);
}

/* End from another thread while a callback runs on the loop: it returns only once the callback
 * has, so that the caller may free user_data at once. The callbacks sleep to hold the window
 * open; without the wait, end returned in the middle of the callback (and the Python binding
 * freed the object the callback was using). */
typedef struct slow_ctx {
  spk_stream_t *s;
  int pull; /* 1: the slow callback is pull, 0: cancel */
  atomic_int started, done, seen_at_end;
  pthread_t th;
  int th_started;
} slow_ctx_t;

static void slow_cb(slow_ctx_t *c) {
  if (atomic_exchange(&c->started, 1)) return; /* only the first call is slow */
  sleep_ms(100);
  atomic_store(&c->done, 1);
}

static void slow_cancel(spk_stream_t *s, void *ud) {
  (void)s;
  slow_cb(ud);
}

static int slow_pull(spk_stream_t *s, void *ud) {
  slow_cb(ud);
  spk_stream_write_str(s, "x");
  return SPK_STREAM_PAUSE;
}

static void *ender(void *arg) {
  slow_ctx_t *c = arg;
  for (int i = 0; i < 5000 && !atomic_load(&c->started); i++) sleep_ms(1);
  spk_stream_end(c->s);
  atomic_store(&c->seen_at_end, 1 + atomic_load(&c->done));
  return NULL;
}

static int h_slow(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  slow_ctx_t *c = ud;
  spk_stream_options_t o = {.cancel = slow_cancel, .user_data = c};
  if (c->pull) o.pull = slow_pull;
  if (spk_res_stream(res, &o, &c->s)) return SPK_ENOMEM;
  if (!c->pull) spk_stream_write_str(c->s, "hello");
  c->th_started = pthread_create(&c->th, NULL, ender, c) == 0;
  return SPK_HANDLER_DONE;
}

static void test_end_waits_for_callback(void) {
  for (int pull = 0; pull <= 1; pull++) {
    slow_ctx_t c = {.pull = pull};
    spk_app_t *app;
    fake_t f = {0};
    spk__conn_t *conn = conn_get_s(&app, h_slow, &c, &f); /* pull: the slow pull runs here */
    spk__conn_abort(conn);
    while (f.ntokens) spk__conn_write_done(conn, pop_token(&f));
    spk__conn_free(conn); /* cancel: the slow cancel runs here */
    CHECK(c.th_started);
    if (c.th_started) pthread_join(c.th, NULL);
    CHECK_INT(atomic_load(&c.started), 1);
    CHECK_INT(atomic_load(&c.seen_at_end), 2); /* the callback had returned */
    spk__buf_free(&f.out);
    spk_app_free(app);
  }
}

/* A response replaced after the stream was made (the handler fails): cancel, 500. */
static int h_fail_after_stream(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  ctx_t *c = ud;
  spk_stream_options_t o = {.cancel = on_cancel, .user_data = c};
  spk_stream_t *s;
  if (spk_res_stream(res, &o, &s)) return SPK_ENOMEM;
  c->s = s;
  return SPK_EIO;
}

static void test_replaced(void) {
  ctx_t c = {0};
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_route(app, "GET", "/s", h_fail_after_stream, &c), 0);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  CHECK_INT(spk_test_client_get(tc, "GET", "/s", &r), 0);
  CHECK_INT(r.status, 500);
  CHECK_INT(atomic_load(&c.cancels), 1);
  CHECK_INT(spk_stream_write_str(c.s, "x"), SPK_ECLOSED);
  CHECK_INT(spk_stream_abort(c.s), SPK_ECLOSED);
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
}

/* An async handler makes the stream on another thread, pushes before and after ending the
 * response: the bytes queued before the head are sent first. */
typedef struct async_ctx {
  spk_res_t *res;
  pthread_t th;
} async_ctx_t;

static void *async_streamer(void *arg) {
  async_ctx_t *a = arg;
  spk_stream_t *s;
  if (spk_res_stream(a->res, NULL, &s) != SPK_OK) return NULL;
  spk_res_header(a->res, "Content-Type", "text/plain");
  spk_stream_write_str(s, "early;");
  spk_res_end(a->res);
  sleep_ms(5);
  spk_stream_write_str(s, "late");
  spk_stream_end(s);
  return NULL;
}

static int h_async(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  async_ctx_t *a = ud;
  a->res = res;
  if (pthread_create(&a->th, NULL, async_streamer, a) != 0) return SPK_EIO;
  return SPK_HANDLER_ASYNC;
}

static void test_async_handler(void) {
  async_ctx_t a = {0};
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_route(app, "GET", "/s", h_async, &a), 0);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  CHECK_INT(spk_test_client_get(tc, "GET", "/s", &r), 0);
  pthread_join(a.th, NULL);
  CHECK_MEM(r.body, r.body_len, "early;late");
  CHECK_INT(r.chunk_count, 2);
  CHECK_INT(r.incomplete, 0);
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
}

int main(void) {
  RUN(test_push_chunks);
  RUN(test_pull_chunks);
  RUN(test_empty);
  RUN(test_abort);
  RUN(test_thread_push);
  RUN(test_bounded);
  RUN(test_content_length);
  RUN(test_head_cancels);
  RUN(test_http10);
  RUN(test_connection_close);
  RUN(test_compressed);
  RUN(test_compressed_br_zstd);
  RUN(test_backpressure);
  RUN(test_cancel_with_writer);
  RUN(test_end_waits_for_callback);
  RUN(test_replaced);
  RUN(test_async_handler);
  return test_report("test_stream");
}
