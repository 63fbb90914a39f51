/* WebSocket side of the in-memory test client: a spk__conn driven like the io layer drives
 * it, with the server's bytes collected in memory and decoded frame by frame. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/conn.h"
#include "core/exchange.h"
#include "core/testclient_internal.h"
#include "proto/ws.h"
#include "spikard/testclient_ws.h"
#include "util/alloc.h"
#include "util/deadline.h"
#include "util/buf.h"
#include "util/strutil.h"

struct spk_test_ws {
  spk__conn_t *conn;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  spk__exchange_t *woken; /* under mu: one armed wake at a time */
  size_t orphans;         /* handshakes answered 408 still in the application's hands (mu) */
  spk__buf_t out;         /* server bytes not yet decoded */
  void **tokens;
  size_t ntokens, cap_tokens;
  uint32_t timer_ms;
  int closed;
  spk__buf_t frame;
  char reason[SPK_WS_MAX_CONTROL];
  uint32_t seed;
};

static void ws_write(void *io_data, const spk__iov_t *iov, size_t n, void *token) {
  spk_test_ws_t *ws = io_data;
  for (size_t i = 0; i < n; i++) spk__buf_append(&ws->out, iov[i].base, iov[i].len);
  if (ws->ntokens == ws->cap_tokens) {
    size_t cap = ws->cap_tokens ? ws->cap_tokens * 2 : 16;
    void **t = spk__realloc(ws->tokens, cap * sizeof(*t));
    if (!t) return; /* the write is then never reported: only under memory exhaustion */
    ws->tokens = t;
    ws->cap_tokens = cap;
  }
  ws->tokens[ws->ntokens++] = token;
}

static void ws_wake(void *wake_data, spk__exchange_t *ex) {
  spk_test_ws_t *ws = wake_data;
  pthread_mutex_lock(&ws->mu);
  if (atomic_load(&ex->orphaned)) { /* set under mu when the handshake timed out */
    pthread_mutex_unlock(&ws->mu);
    spk__exchange_release_orphan(ex); /* outside mu, as the HTTP client does (testclient.c) */
    pthread_mutex_lock(&ws->mu);
    ws->orphans--;
  } else {
    ws->woken = ex;
  }
  pthread_cond_broadcast(&ws->cv);
  pthread_mutex_unlock(&ws->mu);
}

#define HANDSHAKE_WAIT_MS 30000u /* an async handshake without a request timeout */

static int handle_wake(spk_test_ws_t *ws);

static void ws_set_timer(void *io_data, uint32_t ms) { ((spk_test_ws_t *)io_data)->timer_ms = ms; }

static const spk__conn_io_t ws_io = {ws_write, ws_wake, ws_set_timer, NULL, NULL};

/* Report queued writes as done (like a socket that took them), until nothing is left. */
static void pump(spk_test_ws_t *ws, spk__conn_action_t a) {
  for (;;) {
    if (a == SPK__CONN_CLOSE) ws->closed = 1;
    if (!ws->ntokens) return;
    void *token = ws->tokens[0];
    memmove(ws->tokens, ws->tokens + 1, --ws->ntokens * sizeof(void *));
    a = spk__conn_write_done(ws->conn, token);
  }
}

static void append_header(spk__buf_t *b, const char *name, const char *value) {
  spk__buf_append_str(b, name);
  spk__buf_append_str(b, ": ");
  spk__buf_append_str(b, value);
  spk__buf_append_str(b, "\r\n");
}

static int has_header(const spk_test_request_t *req, const char *name) {
  for (size_t i = 0; i < req->header_count; i++)
    if (spk__strieq(req->headers[i].name, strlen(req->headers[i].name), name, strlen(name)))
      return 1;
  return 0;
}

static int head_written(const spk_test_ws_t *ws) {
  return ws->out.len && memmem(ws->out.data, ws->out.len, "\r\n\r\n", 4) != NULL;
}

/* An application deciding the handshake later (on_handshake returned async): wait for its
 * answer like the HTTP test client waits for an async handler, or for the request timeout. */
static int await_head(spk_test_ws_t *ws) {
  while (!head_written(ws) && !ws->closed && spk__conn_in_handler(ws->conn)) {
    uint32_t ms = ws->timer_ms ? ws->timer_ms : HANDSHAKE_WAIT_MS;
    struct timespec deadline;
    spk__deadline_in(&deadline, CLOCK_REALTIME, ms);
    pthread_mutex_lock(&ws->mu);
    int timed_out = 0;
    while (!ws->woken && !timed_out)
      timed_out = pthread_cond_timedwait(&ws->cv, &ws->mu, &deadline) == ETIMEDOUT;
    if (!ws->woken && ws->timer_ms && spk__conn_in_handler(ws->conn)) {
      /* The request timeout will answer 408 and give the exchange up; under mu, so that its
       * late end frees it (ws_wake). */
      atomic_store(&spk__conn_current(ws->conn)->orphaned, 1);
      ws->orphans++;
    }
    pthread_mutex_unlock(&ws->mu);
    if (handle_wake(ws)) continue;
    if (!ws->timer_ms) return SPK_ETIMEDOUT;
    ws->timer_ms = 0;
    pump(ws, spk__conn_timeout(ws->conn)); /* the request timeout answers 408 */
  }
  return SPK_OK;
}

SPK_EXTERN int spk_test_ws_connect_raw(spk_test_client_t *client, const void *bytes, size_t len,
                                       spk_test_ws_t **out, spk_test_response_t *handshake) {
  if (!client || (!bytes && len) || !out || !handshake) return SPK_EINVAL;
  *out = NULL;
  memset(handshake, 0, sizeof(*handshake));
  spk_test_ws_t *ws = spk__calloc(1, sizeof(*ws));
  if (!ws) return SPK_ENOMEM;
  pthread_mutex_init(&ws->mu, NULL);
  pthread_cond_init(&ws->cv, NULL);
  ws->seed = 0x9e3779b9u;
  ws->conn = spk__conn_new(spk__test_client_app(client), &ws_io, ws, ws, "test", 0);
  if (!ws->conn) {
    spk_test_ws_free(ws);
    return SPK_ENOMEM;
  }
  pump(ws, spk__conn_feed(ws->conn, bytes, len));
  int rc = await_head(ws);
  if (rc != SPK_OK) {
    spk_test_ws_free(ws);
    return rc;
  }
  const char *end = ws->out.len ? memmem(ws->out.data, ws->out.len, "\r\n\r\n", 4) : NULL;
  if (!end || !spk__test_parse_response(ws->out.data, ws->out.len, 0, handshake)) {
    spk_test_ws_free(ws);
    return SPK_EPROTO;
  }
  size_t head = (size_t)(end + 4 - ws->out.data);
  handshake->raw = spk__strndup(ws->out.data, handshake->status == 101 ? head : ws->out.len);
  handshake->raw_len = handshake->raw ? strlen(handshake->raw) : 0;
  if (handshake->status != 101) { /* an HTTP answer: no WebSocket */
    spk_test_ws_free(ws);
    return SPK_OK;
  }
  spk__buf_consume(&ws->out, head);
  *out = ws;
  return SPK_OK;
}

SPK_EXTERN int spk_test_ws_connect(spk_test_client_t *client, const spk_test_request_t *req,
                                   spk_test_ws_t **out, spk_test_response_t *handshake) {
  if (!client || !req || !req->target || !out || !handshake) return SPK_EINVAL;
  spk__buf_t b = {0};
  spk__buf_append_str(&b, req->method ? req->method : "GET");
  spk__buf_append_char(&b, ' ');
  spk__buf_append_str(&b, req->target);
  spk__buf_append_str(&b, " HTTP/1.1\r\n");
  for (size_t i = 0; i < req->header_count; i++)
    append_header(&b, req->headers[i].name, req->headers[i].value);
  if (!has_header(req, "host")) append_header(&b, "Host", "testclient");
  if (!has_header(req, "upgrade")) append_header(&b, "Upgrade", "websocket");
  if (!has_header(req, "connection")) append_header(&b, "Connection", "Upgrade");
  if (!has_header(req, "sec-websocket-key"))
    append_header(&b, "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==");
  if (!has_header(req, "sec-websocket-version")) append_header(&b, "Sec-WebSocket-Version", "13");
  spk__buf_append_str(&b, "\r\n");
  int rc = b.data ? spk_test_ws_connect_raw(client, b.data, b.len, out, handshake) : SPK_ENOMEM;
  spk__buf_free(&b);
  return rc;
}

SPK_EXTERN int spk_test_ws_send_raw(spk_test_ws_t *ws, const void *bytes, size_t len) {
  if (!ws || (!bytes && len)) return SPK_EINVAL;
  if (ws->closed) return SPK_ESTATE;
  pump(ws, spk__conn_feed(ws->conn, bytes, len));
  return SPK_OK;
}

SPK_EXTERN int spk_test_ws_send_frame(spk_test_ws_t *ws, int fin, int rsv1, int opcode,
                                      const void *data, size_t len) {
  if (!ws) return SPK_EINVAL;
  uint8_t mask[4];
  for (int i = 0; i < 4; i++) { /* a fixed-seed LCG: reproducible, and not all zeros */
    ws->seed = ws->seed * 1103515245u + 12345u;
    mask[i] = (uint8_t)(ws->seed >> 16);
  }
  spk__buf_t b = {0};
  int rc = spk_ws_frame_append(&b, fin, rsv1, opcode, data, len, mask);
  if (rc == SPK_OK) rc = spk_test_ws_send_raw(ws, b.data, b.len);
  spk__buf_free(&b);
  return rc;
}

SPK_EXTERN int spk_test_ws_send(spk_test_ws_t *ws, int opcode, const void *data, size_t len) {
  return spk_test_ws_send_frame(ws, 1, 0, opcode, data, len);
}

SPK_EXTERN int spk_test_ws_send_close(spk_test_ws_t *ws, int code, const char *reason) {
  uint8_t p[SPK_WS_MAX_CONTROL];
  size_t n = code ? spk_ws_close_payload(p, (unsigned)code, reason, reason ? strlen(reason) : 0)
                  : 0;
  return spk_test_ws_send_frame(ws, 1, 0, SPK_WS_OP_CLOSE, p, n);
}

/* Decode one whole frame at the front of `out`. 1 when there was one. */
static int take_frame(spk_test_ws_t *ws, spk_test_ws_frame_t *f) {
  const uint8_t *p = (const uint8_t *)ws->out.data;
  size_t n = ws->out.len;
  if (n < 2) return 0;
  uint64_t len = p[1] & 0x7f;
  size_t at = 2;
  if (len == 126) {
    if (n < 4) return 0;
    len = (uint64_t)p[2] << 8 | p[3];
    at = 4;
  } else if (len == 127) {
    if (n < 10) return 0;
    len = 0;
    for (int i = 0; i < 8; i++) len = len << 8 | p[2 + i];
    at = 10;
  }
  const uint8_t *mask = NULL;
  if (p[1] & 0x80) {
    if (n < at + 4) return 0;
    mask = p + at;
    at += 4;
  }
  if (n - at < len) return 0;
  memset(f, 0, sizeof(*f));
  f->fin = p[0] >> 7;
  f->rsv1 = (p[0] >> 6) & 1;
  f->opcode = p[0] & 0x0f;
  ws->frame.len = 0;
  if (spk__buf_reserve(&ws->frame, (size_t)len + 1)) return 0;
  memcpy(ws->frame.data, p + at, (size_t)len);
  if (mask) spk_ws_mask((uint8_t *)ws->frame.data, (size_t)len, mask, 0);
  ws->frame.len = (size_t)len;
  ws->frame.data[len] = '\0';
  f->data = ws->frame.data;
  f->len = (size_t)len;
  if (f->opcode == SPK_WS_OP_CLOSE) {
    f->close_code = len >= 2 ? ((uint8_t)f->data[0] << 8 | (uint8_t)f->data[1]) : 1005;
    size_t rl = len >= 2 ? (size_t)len - 2 : 0;
    memcpy(ws->reason, len >= 2 ? f->data + 2 : "", rl);
    ws->reason[rl] = '\0';
    f->close_reason = ws->reason;
  }
  spk__buf_consume(&ws->out, at + (size_t)len);
  return 1;
}

/* Process a wake delivered by another thread's send. */
static int handle_wake(spk_test_ws_t *ws) {
  pthread_mutex_lock(&ws->mu);
  spk__exchange_t *ex = ws->woken;
  ws->woken = NULL;
  pthread_mutex_unlock(&ws->mu);
  if (!ex) return 0;
  if (!ws->closed && spk__exchange_conn(ex)) pump(ws, spk__conn_resume(ws->conn, ex));
  return 1;
}

SPK_EXTERN int spk_test_ws_recv(spk_test_ws_t *ws, spk_test_ws_frame_t *out, uint32_t timeout_ms) {
  if (!ws || !out) return SPK_EINVAL;
  struct timespec deadline;
  spk__deadline_in(&deadline, CLOCK_REALTIME, timeout_ms);
  for (;;) {
    handle_wake(ws);
    if (take_frame(ws, out)) return SPK_OK;
    if (ws->closed) return SPK_ESTATE;
    pthread_mutex_lock(&ws->mu);
    int timed_out = 0;
    while (!ws->woken && !timed_out)
      timed_out = pthread_cond_timedwait(&ws->cv, &ws->mu, &deadline) == ETIMEDOUT;
    int woken = ws->woken != NULL;
    pthread_mutex_unlock(&ws->mu);
    if (!woken) return SPK_ETIMEDOUT;
  }
}

SPK_EXTERN int spk_test_ws_server_closed(const spk_test_ws_t *ws) { return ws && ws->closed; }

SPK_EXTERN int spk_test_ws_fire_timer(spk_test_ws_t *ws) {
  if (!ws || ws->closed) return SPK_ESTATE;
  if (!ws->timer_ms) return SPK_ESTATE;
  pump(ws, spk__conn_timeout(ws->conn));
  return SPK_OK;
}

SPK_EXTERN void spk_test_ws_free(spk_test_ws_t *ws) {
  if (!ws) return;
  if (ws->conn) {
    pthread_mutex_lock(&ws->mu);
    if (spk__conn_in_handler(ws->conn)) { /* an unanswered async handshake: its end frees it */
      atomic_store(&spk__conn_current(ws->conn)->orphaned, 1);
      ws->orphans++;
    }
    pthread_mutex_unlock(&ws->mu);
    spk__conn_abort(ws->conn);
    pump(ws, SPK__CONN_CLOSE);
    spk__conn_free(ws->conn);
  }
  /* A wake sent before the session detached is delivered by now (it is sent under the
   * session's lock, which detaching takes): release its orphan. */
  pthread_mutex_lock(&ws->mu);
  spk__exchange_t *ex = ws->woken;
  ws->woken = NULL;
  pthread_mutex_unlock(&ws->mu);
  if (ex && !spk__exchange_conn(ex)) spk__exchange_release_orphan(ex);
  pthread_mutex_lock(&ws->mu);
  while (ws->orphans) pthread_cond_wait(&ws->cv, &ws->mu); /* their wakes still target us */
  pthread_mutex_unlock(&ws->mu);
  spk__buf_free(&ws->out);
  spk__buf_free(&ws->frame);
  spk__free(ws->tokens);
  pthread_mutex_destroy(&ws->mu);
  pthread_cond_destroy(&ws->cv);
  spk__free(ws);
}
