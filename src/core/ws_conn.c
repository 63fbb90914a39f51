/* A WebSocket session on a switched HTTP/1.1 connection (RFC 6455 §5-§7).
 *
 * Threads: everything here runs on the connection's owner thread except the send/close entry
 * points, which lock `mu`. Off the owner thread a frame goes into `outbox` and the loop is woken
 * through the connection's wake (the upgrade exchange is the wake handle, exactly like an
 * async response). Exactly one wake is "armed" at a time, with one hold counted for it, so the
 * driver's hold bookkeeping stays balanced (conn.h: hold). */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "core/exchange.h"
#include "core/ws_internal.h"
#include "proto/json.h"
#include "proto/ws.h"
#include "util/alloc.h"

#define DEFAULT_MAX_MESSAGE (16u << 20)
#define DEFAULT_IDLE_MS 300000u
#define CLOSE_WAIT_MS 5000u /* after our close frame, how long the peer has to answer */
/* Stop reading while this many frames are queued (an echo client that does not read). */
#define MAX_PENDING_FRAMES 64
/* A subscriber that does not read is cut once this much is queued for it. */
#define MAX_QUEUED_BYTES (64u << 20)

#define MAX_BATCH 32

static const char invalid_json_reply[] = "{\"type\":\"error\",\"message\":\"Invalid JSON\"}";
static const char invalid_message_reply[] = "{\"error\":\"Message validation failed\"}";

struct spk_ws {
  atomic_int refs;
  pthread_mutex_t mu;
  /* under mu */
  int open; /* sends accepted */
  spk__ws_frame_t **outbox;
  size_t out_len, out_cap;
  int wake_armed;
  atomic_size_t queued_bytes;
  /* fixed at start */
  pthread_t owner;
  spk__exchange_t *ex;
  void (*wake)(void *wake_data, spk__exchange_t *ex);
  void (*hold)(void *wake_data, int delta);
  void *wake_data;
  const spk__ws_route_t *route;
  const char *subprotocol;
  /* owner thread */
  spk__conn_t *conn; /* NULL once detached */
  spk_ws_parser_t parser;
  int deflate_on;
  spk_ws_deflate_t deflate;
  spk__buf_t inflated;
  int close_sent, close_received, finished, closed_cb;
  uint64_t last_rx_ms;
  int ping_outstanding;
  void *user_data;
  /* Frames produced while one read is processed go out in one vectored write (an echo of N
   * pipelined messages costs one syscall, not N). */
  int batching;
  size_t npend;
  spk__ws_frame_t *pend[MAX_BATCH];
};

/* A write token is a frame, or a batch with its low bit set (frames and batches are heap
 * blocks, so the bit is free). */
typedef struct batch {
  size_t n;
  spk__ws_frame_t *f[];
} batch_t;

static uint64_t now_ms(void) { return spk__now_ns() / 1000000u; }

/* ---- frames ---- */

spk__ws_frame_t *spk__ws_frame_new(int opcode, int rsv1, const void *payload, size_t len) {
  uint8_t h[SPK_WS_MAX_HEADER];
  size_t hl = spk_ws_frame_header(h, 1, rsv1, opcode, len, NULL);
  spk__ws_frame_t *f = spk__malloc(sizeof(*f) + hl + len);
  if (!f) return NULL;
  atomic_init(&f->refs, 1);
  f->opcode = opcode;
  f->len = hl + len;
  memcpy(f->data, h, hl);
  if (len) memcpy(f->data + hl, payload, len);
  return f;
}

void spk__ws_frame_release(spk__ws_frame_t *f) {
  if (f && atomic_fetch_sub(&f->refs, 1) == 1) spk__free(f);
}

/* ---- owner-thread output ---- */

static void flush(spk_ws_t *ws) {
  size_t n = ws->npend;
  ws->npend = 0;
  if (n == 0) return;
  if (n == 1) {
    spk__iov_t iov = {ws->pend[0]->data, ws->pend[0]->len};
    spk__conn_ws_write(ws->conn, &iov, 1, ws->pend[0]);
    return;
  }
  batch_t *b = spk__malloc(sizeof(*b) + n * sizeof(b->f[0]));
  if (!b) { /* one write per frame then */
    for (size_t i = 0; i < n; i++) {
      spk__iov_t iov = {ws->pend[i]->data, ws->pend[i]->len};
      spk__conn_ws_write(ws->conn, &iov, 1, ws->pend[i]);
    }
    return;
  }
  spk__iov_t iov[MAX_BATCH];
  b->n = n;
  for (size_t i = 0; i < n; i++) {
    b->f[i] = ws->pend[i];
    iov[i] = (spk__iov_t){ws->pend[i]->data, ws->pend[i]->len};
  }
  spk__conn_ws_write(ws->conn, iov, n, (void *)((uintptr_t)b | 1));
}

static void write_frame(spk_ws_t *ws, spk__ws_frame_t *f) {
  if (!ws->conn || ws->close_sent) {
    spk__ws_frame_release(f);
    return;
  }
  if (f->opcode == SPK_WS_OP_CLOSE) ws->close_sent = 1;
  atomic_fetch_add(&ws->queued_bytes, f->len);
  if (ws->npend == MAX_BATCH) flush(ws);
  ws->pend[ws->npend++] = f;
  if (!ws->batching) flush(ws);
}

static void arm_timer(spk_ws_t *ws) {
  if (!ws->conn) return;
  const spk_ws_options_t *o = &ws->route->opts;
  uint32_t ms = o->ping_interval_ms ? o->ping_interval_ms : o->idle_timeout_ms;
  if (ws->close_sent) ms = CLOSE_WAIT_MS;
  spk__conn_ws_timer(ws->conn, ms);
}

static void send_control(spk_ws_t *ws, int opcode, const void *payload, size_t len) {
  spk__ws_frame_t *f = spk__ws_frame_new(opcode, 0, payload, len);
  if (f) write_frame(ws, f);
}

static void notify_closed(spk_ws_t *ws, int code, const char *reason, size_t reason_len) {
  if (ws->closed_cb) return;
  ws->closed_cb = 1;
  pthread_mutex_lock(&ws->mu);
  ws->open = 0;
  pthread_mutex_unlock(&ws->mu);
  if (ws->route->cb.on_close)
    ws->route->cb.on_close(ws, code, reason ? reason : "", reason_len, ws->route->user_data);
}

/* Send our close frame (once) and tell the application. */
static void start_close(spk_ws_t *ws, int code, const char *reason) {
  size_t rl = reason ? strlen(reason) : 0;
  if (!ws->close_sent) {
    uint8_t payload[SPK_WS_MAX_CONTROL];
    size_t n = code == SPK_WS_CLOSE_NO_STATUS ? 0 : spk_ws_close_payload(payload, (unsigned)code, reason, rl);
    send_control(ws, SPK_WS_OP_CLOSE, payload, n);
    ws->close_sent = 1;
  }
  notify_closed(ws, code, reason, rl);
  arm_timer(ws);
}

/* ---- messages ---- */

static void reply_text(spk_ws_t *ws, const char *s, size_t n) {
  spk_ws_send_text(ws, s, n);
}

/* JSON routes: parse (and validate) before the application sees the message. 1: deliver. */
static int json_gate(spk_ws_t *ws, const char *data, size_t len) {
  const spk__ws_route_t *r = ws->route;
  spk__arena_t arena;
  spk__arena_init(&arena, 4096);
  spk_json_value_t *v = NULL;
  int deliver = 1;
  if (spk_json_parse(&arena, data, len, NULL, &v, NULL) != 0) {
    reply_text(ws, invalid_json_reply, sizeof(invalid_json_reply) - 1);
    deliver = 0;
  } else if (r->schema && spk_schema_validate(r->schema, v, &arena, NULL, NULL) != 1) {
    reply_text(ws, invalid_message_reply, sizeof(invalid_message_reply) - 1);
    deliver = 0;
  }
  spk__arena_free(&arena);
  return deliver;
}

static void on_message(spk_ws_t *ws) {
  spk_ws_parser_t *p = &ws->parser;
  const char *data = (const char *)p->payload;
  size_t len = p->payload_len;
  if (p->compressed) {
    if (!ws->deflate_on) {
      start_close(ws, SPK_WS_CLOSE_PROTOCOL, "Unexpected compressed frame");
      return;
    }
    int rc = spk_ws_deflate_decompress(&ws->deflate, data, len, ws->route->opts.max_message_bytes,
                                       &ws->inflated);
    if (rc == SPK_ERANGE) {
      start_close(ws, SPK_WS_CLOSE_TOO_BIG, "Message too big");
      return;
    }
    if (rc != SPK_OK) {
      start_close(ws, SPK_WS_CLOSE_INVALID_DATA, "Invalid compressed data");
      return;
    }
    data = ws->inflated.data;
    len = ws->inflated.len;
    if (p->opcode == SPK_WS_OP_TEXT && !spk_utf8_valid(data, len)) {
      start_close(ws, SPK_WS_CLOSE_INVALID_DATA, "Invalid UTF-8");
      return;
    }
  }
  if (p->opcode == SPK_WS_OP_TEXT && ws->route->opts.json_messages && !json_gate(ws, data, len))
    return;
  if (ws->route->cb.on_message)
    ws->route->cb.on_message(ws, p->opcode == SPK_WS_OP_TEXT ? SPK_WS_TEXT : SPK_WS_BINARY, data,
                             len, ws->route->user_data);
  if (ws->inflated.cap > (1u << 20)) spk__buf_free(&ws->inflated); /* don't keep a big one */
}

static const char *error_reason(int code) {
  switch (code) {
    case SPK_WS_CLOSE_INVALID_DATA: return "Invalid UTF-8";
    case SPK_WS_CLOSE_TOO_BIG: return "Message too big";
    default: return "Protocol error";
  }
}

spk__conn_action_t spk__ws_conn_input(spk_ws_t *ws, spk__buf_t *in) {
  if (ws->finished) return SPK__CONN_CLOSE;
  ws->batching = 1;
  size_t off = 0;
  while (off < in->len) {
    if (ws->close_received || (ws->close_sent && ws->closed_cb && !ws->close_received &&
                               ws->parser.failed)) {
      off = in->len; /* nothing after a close counts */
      break;
    }
    if (spk__conn_ws_pending(ws->conn) >= MAX_PENDING_FRAMES) break; /* back-pressure */
    size_t used = 0;
    int ev = spk_ws_parse(&ws->parser, (const uint8_t *)in->data + off, in->len - off, &used);
    off += used;
    if (ev < 0) {
      start_close(ws, ws->parser.error_code, error_reason(ws->parser.error_code));
      off = in->len;
      break;
    }
    if (ev == SPK_WS_EV_NONE) break;
    ws->last_rx_ms = now_ms();
    ws->ping_outstanding = 0;
    const spk_ws_parser_t *p = &ws->parser;
    switch (ev) {
      case SPK_WS_EV_MESSAGE:
        if (!ws->close_sent) on_message(ws);
        break;
      case SPK_WS_EV_PING:
        if (!ws->close_sent) send_control(ws, SPK_WS_OP_PONG, p->payload, p->payload_len);
        break;
      case SPK_WS_EV_PONG:
        break;
      case SPK_WS_EV_CLOSE: {
        ws->close_received = 1;
        int code = (int)p->close_code;
        if (!ws->close_sent) {
          /* Echo the code (RFC 6455 §5.5.1); an empty close is answered empty. */
          uint8_t payload[SPK_WS_MAX_CONTROL];
          size_t n = code == SPK_WS_CLOSE_NO_STATUS ? 0 : spk_ws_close_payload(payload, (unsigned)code, NULL, 0);
          send_control(ws, SPK_WS_OP_CLOSE, payload, n);
        }
        notify_closed(ws, code, (const char *)p->payload, p->payload_len);
        break;
      }
    }
  }
  spk__buf_consume(in, off);
  ws->batching = 0;
  flush(ws);
  if (ws->close_received || (ws->close_sent && ws->parser.failed)) {
    /* The handshake is complete (or the peer broke the protocol): the server closes the TCP
     * connection first (§7.1.1) once our frames are flushed. */
    ws->finished = 1;
    return SPK__CONN_CLOSE;
  }
  return spk__conn_ws_pending(ws->conn) >= MAX_PENDING_FRAMES ? SPK__CONN_PAUSE
                                                              : SPK__CONN_CONTINUE;
}

static void frame_done(spk_ws_t *ws, spk__ws_frame_t *f) {
  atomic_fetch_sub(&ws->queued_bytes, f->len);
  spk__ws_frame_release(f);
}

void spk__ws_conn_write_done(spk_ws_t *ws, void *token) {
  if (!token) return; /* the 101 head */
  if ((uintptr_t)token & 1) {
    batch_t *b = (batch_t *)((uintptr_t)token & ~(uintptr_t)1);
    for (size_t i = 0; i < b->n; i++) frame_done(ws, b->f[i]);
    spk__free(b);
    return;
  }
  frame_done(ws, token);
}

/* ---- wakes (cross-thread sends) ---- */

static void arm_wake(spk_ws_t *ws) {
  /* Owner thread: one hold per armed wake, released by the driver when it processes it. */
  if (ws->hold) ws->hold(ws->wake_data, 1);
  pthread_mutex_lock(&ws->mu);
  ws->wake_armed = 1;
  int pending = ws->out_len > 0;
  if (pending) ws->wake_armed = 0;
  pthread_mutex_unlock(&ws->mu);
  if (pending) ws->wake(ws->wake_data, ws->ex); /* queued while the wake was being processed */
}

spk__conn_action_t spk__ws_conn_wake(spk_ws_t *ws) {
  pthread_mutex_lock(&ws->mu);
  spk__ws_frame_t **q = ws->outbox;
  size_t n = ws->out_len;
  ws->outbox = NULL;
  ws->out_len = ws->out_cap = 0;
  pthread_mutex_unlock(&ws->mu);
  ws->batching = 1;
  for (size_t i = 0; i < n; i++) {
    int was_close = q[i]->opcode == SPK_WS_OP_CLOSE && !ws->close_sent;
    write_frame(ws, q[i]);
    if (was_close) {
      notify_closed(ws, SPK_WS_CLOSE_NORMAL, NULL, 0);
      arm_timer(ws);
    }
  }
  ws->batching = 0;
  flush(ws);
  spk__free(q);
  arm_wake(ws);
  return ws->finished ? SPK__CONN_CLOSE : SPK__CONN_CONTINUE;
}

/* ---- public sends ---- */

int spk__ws_is_open(spk_ws_t *ws) {
  pthread_mutex_lock(&ws->mu);
  int open = ws->open;
  pthread_mutex_unlock(&ws->mu);
  return open;
}

int spk__ws_send_frame(spk_ws_t *ws, spk__ws_frame_t *f) {
  if (!ws || !f) return SPK_EINVAL;
  int owner = pthread_equal(pthread_self(), ws->owner);
  pthread_mutex_lock(&ws->mu);
  if (!ws->open) {
    pthread_mutex_unlock(&ws->mu);
    return SPK_ESTATE;
  }
  if (atomic_load(&ws->queued_bytes) > MAX_QUEUED_BYTES) {
    pthread_mutex_unlock(&ws->mu);
    return SPK_ERANGE;
  }
  atomic_fetch_add(&f->refs, 1);
  if (f->opcode == SPK_WS_OP_CLOSE) ws->open = 0;
  /* On the owner thread while this connection's own input is processed (the usual echo / reply
   * case): into the batch that leaves at the end of the pass. Any other send (another
   * connection's callback publishing to this one, another thread) goes through the outbox
   * and a wake, so everything sent to a connection during one loop iteration leaves in one
   * write. */
  if (owner && ws->batching && ws->out_len == 0) {
    pthread_mutex_unlock(&ws->mu);
    write_frame(ws, f);
    return SPK_OK;
  }
  if (ws->out_len == ws->out_cap) {
    size_t cap = ws->out_cap ? ws->out_cap * 2 : 8;
    spk__ws_frame_t **q = spk__realloc(ws->outbox, cap * sizeof(*q));
    if (!q) {
      pthread_mutex_unlock(&ws->mu);
      spk__ws_frame_release(f);
      return SPK_ENOMEM;
    }
    ws->outbox = q;
    ws->out_cap = cap;
  }
  ws->outbox[ws->out_len++] = f;
  int wake = ws->wake_armed;
  ws->wake_armed = 0;
  /* The wake is sent under the lock: detach disarms under it, so the exchange is alive. */
  if (wake) ws->wake(ws->wake_data, ws->ex);
  pthread_mutex_unlock(&ws->mu);
  return SPK_OK;
}

static int send_data(spk_ws_t *ws, int opcode, const void *data, size_t len) {
  if (!ws || (!data && len)) return SPK_EINVAL;
  int compress = 0;
  spk__buf_t z = {0};
  /* Compression state belongs to the owner thread: other threads send uncompressed. */
  if (ws->deflate_on && len >= 64 && pthread_equal(pthread_self(), ws->owner) && ws->conn) {
    if (spk_ws_deflate_compress(&ws->deflate, data, len, &z) == SPK_OK) compress = 1;
  }
  spk__ws_frame_t *f = compress ? spk__ws_frame_new(opcode, 1, z.data, z.len)
                                : spk__ws_frame_new(opcode, 0, data, len);
  spk__buf_free(&z);
  if (!f) return SPK_ENOMEM;
  int rc = spk__ws_send_frame(ws, f);
  spk__ws_frame_release(f);
  return rc;
}

SPK_EXTERN int spk_ws_send_text(spk_ws_t *ws, const char *data, size_t len) {
  return send_data(ws, SPK_WS_OP_TEXT, data, len);
}

SPK_EXTERN int spk_ws_send_binary(spk_ws_t *ws, const void *data, size_t len) {
  return send_data(ws, SPK_WS_OP_BINARY, data, len);
}

SPK_EXTERN int spk_ws_close(spk_ws_t *ws, int code, const char *reason) {
  if (!ws || !spk_ws_close_code_valid((unsigned)code) || code < 1000) return SPK_EINVAL;
  size_t rl = reason ? strlen(reason) : 0;
  if (rl > SPK_WS_MAX_CONTROL - 2 || !spk_utf8_valid(reason ? reason : "", rl)) return SPK_EINVAL;
  uint8_t payload[SPK_WS_MAX_CONTROL];
  size_t n = spk_ws_close_payload(payload, (unsigned)code, reason, rl);
  spk__ws_frame_t *f = spk__ws_frame_new(SPK_WS_OP_CLOSE, 0, payload, n);
  if (!f) return SPK_ENOMEM;
  int owner = pthread_equal(pthread_self(), ws->owner);
  int rc = spk__ws_send_frame(ws, f);
  spk__ws_frame_release(f);
  if (rc == SPK_OK && owner && ws->conn && ws->close_sent) {
    notify_closed(ws, code, reason, rl);
    arm_timer(ws);
  }
  return rc;
}

SPK_EXTERN void spk_ws_set_user_data(spk_ws_t *ws, void *data) {
  if (ws) ws->user_data = data;
}
SPK_EXTERN void *spk_ws_get_user_data(const spk_ws_t *ws) { return ws ? ws->user_data : NULL; }
SPK_EXTERN const char *spk_ws_subprotocol(const spk_ws_t *ws) {
  return ws ? ws->subprotocol : NULL;
}

SPK_EXTERN void spk_ws_retain(spk_ws_t *ws) {
  if (ws) atomic_fetch_add(&ws->refs, 1);
}

SPK_EXTERN void spk_ws_release(spk_ws_t *ws) {
  if (!ws || atomic_fetch_sub(&ws->refs, 1) != 1) return;
  for (size_t i = 0; i < ws->out_len; i++) spk__ws_frame_release(ws->outbox[i]);
  spk__free(ws->outbox);
  pthread_mutex_destroy(&ws->mu);
  spk__free(ws);
}

/* ---- lifecycle ---- */

spk_ws_t *spk__ws_conn_start(spk__conn_t *c, spk__exchange_t *ex) {
  spk__ws_upgrade_t *up = ex->ws_upgrade;
  /* The subprotocol may live in the upgrade's arena (chosen by on_handshake): the session,
   * which can outlive the exchange, keeps its own copy right after itself. */
  size_t sp_len = up->subprotocol ? strlen(up->subprotocol) + 1 : 0;
  spk_ws_t *ws = spk__calloc(1, sizeof(*ws) + sp_len);
  if (!ws) return NULL;
  atomic_init(&ws->refs, 1);
  atomic_init(&ws->queued_bytes, 0);
  pthread_mutex_init(&ws->mu, NULL);
  ws->open = 1;
  ws->owner = pthread_self();
  ws->ex = ex;
  ws->wake = ex->wake;
  ws->wake_data = spk__conn_wake_data(c);
  ws->hold = spk__conn_io(c)->hold;
  ws->route = up->route;
  if (sp_len) ws->subprotocol = memcpy(ws + 1, up->subprotocol, sp_len);
  ws->conn = c;
  spk_ws_parser_init(&ws->parser, 0, up->route->opts.max_message_bytes);
  if (up->deflate) {
    ws->deflate_on = 1;
    ws->parser.rsv1_ok = 1;
    spk_ws_deflate_init(&ws->deflate, &up->deflate_params);
  }
  ws->last_rx_ms = now_ms();
  ws->user_data = up->conn_user_data;
  up->started = 1;
  arm_wake(ws);
  arm_timer(ws);
  ws->batching = 1;
  if (ws->route->cb.on_open) ws->route->cb.on_open(ws, &ex->req, ws->route->user_data);
  ws->batching = 0;
  flush(ws);
  return ws;
}

spk__conn_action_t spk__ws_conn_timeout(spk_ws_t *ws) {
  if (ws->close_sent) { /* the peer never answered our close */
    ws->finished = 1;
    notify_closed(ws, SPK_WS_CLOSE_ABNORMAL, NULL, 0);
    return SPK__CONN_CLOSE;
  }
  const spk_ws_options_t *o = &ws->route->opts;
  uint64_t idle = now_ms() - ws->last_rx_ms;
  if (o->ping_interval_ms && ws->ping_outstanding) {
    start_close(ws, SPK_WS_CLOSE_GOING_AWAY, "Ping timeout");
    return SPK__CONN_CONTINUE;
  }
  if (idle + 5 >= o->idle_timeout_ms) {
    start_close(ws, SPK_WS_CLOSE_GOING_AWAY, "Idle timeout");
    return SPK__CONN_CONTINUE;
  }
  if (o->ping_interval_ms && idle + 5 >= o->ping_interval_ms) {
    send_control(ws, SPK_WS_OP_PING, NULL, 0);
    ws->ping_outstanding = 1;
  }
  arm_timer(ws);
  return SPK__CONN_CONTINUE;
}

spk__conn_action_t spk__ws_conn_eof(spk_ws_t *ws) {
  ws->finished = 1;
  notify_closed(ws, SPK_WS_CLOSE_ABNORMAL, NULL, 0);
  return SPK__CONN_CLOSE;
}

spk__conn_action_t spk__ws_conn_shutdown(spk_ws_t *ws) {
  start_close(ws, SPK_WS_CLOSE_GOING_AWAY, "Server shutting down");
  return SPK__CONN_CONTINUE;
}

void spk__ws_conn_detach(spk_ws_t *ws) {
  notify_closed(ws, SPK_WS_CLOSE_ABNORMAL, NULL, 0);
  pthread_mutex_lock(&ws->mu);
  ws->open = 0;
  int armed = ws->wake_armed;
  ws->wake_armed = 0;
  pthread_mutex_unlock(&ws->mu);
  if (armed) {
    if (ws->hold) ws->hold(ws->wake_data, -1);
    spk__exchange_free(ws->ex);
  } else {
    ws->ex->conn = NULL; /* a wake is on its way: the driver releases the orphan */
  }
  ws->ex = NULL;
  ws->conn = NULL;
  for (size_t i = 0; i < ws->npend; i++) spk__ws_frame_release(ws->pend[i]);
  ws->npend = 0;
  spk_ws_parser_free(&ws->parser);
  if (ws->deflate_on) spk_ws_deflate_free(&ws->deflate);
  spk__buf_free(&ws->inflated);
  spk_ws_release(ws);
}
