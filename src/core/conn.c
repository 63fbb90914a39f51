/* The sans-I/O HTTP/1.1 connection: see conn.h for the contract.
 *
 * States: HEAD (waiting for a complete request head) → BODY (collecting Content-Length or
 * chunked bytes) → HANDLER (dispatched; for async handlers we wait for resume) → HEAD again.
 * Pipelined bytes stay in `in` while a request is being handled, which keeps responses in
 * request order without any queue of exchanges. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/app_internal.h"
#include "core/conn.h"
#include "core/exchange.h"
#include "core/stream_internal.h"
#include "core/ws_internal.h"
#include "util/alloc.h"
#include "util/strutil.h"

enum conn_state { ST_HEAD, ST_BODY, ST_HANDLER, ST_WS };
enum timer_kind { TIMER_NONE, TIMER_KEEPALIVE, TIMER_HEADER, TIMER_BODY, TIMER_WRITE, TIMER_HANDLER,
                  TIMER_STREAM /* a streamed body is idle: SSE keep-alive */, TIMER_WS };

/* Stop reading while this many responses are still being written (back-pressure). */
#define MAX_PENDING_WRITES 8
/* A file body goes out in chunks of this size, one write in flight at a time: the next chunk
 * is read when the previous one has left (back-pressure from the socket), so a large file is
 * never read in one go nor held in memory. */
#define FILE_CHUNK 65536

struct spk__conn {
  const spk_app_t *app;
  const spk__conn_io_t *io;
  void *io_data;
  void *wake_data;
  char remote[64];
  int remote_port;
  spk__buf_t in;
  spk_h1_header_t *hdrs;
  size_t hdr_cap;
  enum conn_state state;
  spk__exchange_t *cur;
  uint64_t body_remaining; /* Content-Length mode */
  size_t body_got;
  char *body_dst;
  int chunked;
  uint64_t body_limit; /* this request's body limit: the route's, else the app's */
  int route_limit;     /* body_limit is the route's (413 says "for this route") */
  spk_h1_chunked_t dec;
  size_t head_scanned; /* bytes of `in` already searched for the end of the head */
  size_t pending_writes;
  int closing;      /* no further requests; close once writes are flushed */
  int shutting_down;
  int peer_eof;
  int aborted;                /* the socket is gone: produce no more bytes */
  spk__exchange_t *streaming; /* its file or stream body is being sent; next requests wait */
  int stream_busy;            /* a write of the stream body is in flight (one at a time) */
  int stream_last;            /* ...and it completes the body */
  enum timer_kind timer;
  spk_h1_date_t date;
  spk_ws_t *ws;          /* after a 101: the WebSocket session owns the connection */
  size_t pre_ws_writes;  /* writes queued before the switch (their tokens are exchanges) */
};

static const char continue_100[] = "HTTP/1.1 100 Continue\r\n\r\n";

/* Arm the connection's one timer for `kind`. The same kind is not re-armed (a header deadline
 * is absolute) unless `progress` says bytes moved (body and write timeouts are idle times). */
static void arm_timer(spk__conn_t *c, enum timer_kind kind, int progress) {
  if (c->timer == kind && !progress) return;
  const spk_limits_t *l = &c->app->limits;
  uint32_t ms = 0;
  switch (kind) {
    case TIMER_NONE: ms = 0; break;
    case TIMER_KEEPALIVE: ms = l->keepalive_timeout_ms; break;
    case TIMER_HEADER: ms = l->header_timeout_ms; break;
    case TIMER_BODY: ms = l->body_timeout_ms; break;
    case TIMER_WRITE: ms = l->body_timeout_ms; break;
    case TIMER_STREAM: ms = spk__stream_idle_ms(c->streaming->res.stream); break;
    case TIMER_WS: return;
    case TIMER_HANDLER: { /* the request timeout, counted from the start of the pipeline */
      uint64_t spent = (spk__now_ns() - c->cur->start_ns) / 1000000u;
      ms = spent >= c->cur->timeout_ms ? 1 : c->cur->timeout_ms - (uint32_t)spent;
      break;
    }
  }
  c->timer = kind;
  if (c->io->set_timer) c->io->set_timer(c->io_data, ms);
}

static void set_timer(spk__conn_t *c, enum timer_kind kind) { arm_timer(c, kind, 0); }

spk__conn_t *spk__conn_new(const spk_app_t *app, const spk__conn_io_t *io, void *io_data,
                           void *wake_data, const char *remote, int remote_port) {
  spk__conn_t *c = spk__calloc(1, sizeof(*c));
  if (!c) return NULL;
  c->app = app;
  c->io = io;
  c->io_data = io_data;
  c->wake_data = wake_data;
  c->hdr_cap = app->limits.max_header_count;
  c->hdrs = spk__malloc(c->hdr_cap * sizeof(*c->hdrs));
  if (!c->hdrs) {
    spk__free(c);
    return NULL;
  }
  snprintf(c->remote, sizeof(c->remote), "%s", remote ? remote : "unknown");
  c->remote_port = remote_port;
  spk_h1_date_update(&c->date, (int64_t)time(NULL));
  c->state = ST_HEAD;
  set_timer(c, TIMER_HEADER); /* a connection that never sends a byte must not live forever */
  return c;
}

void *spk__conn_io_data(const spk__conn_t *c) { return c->io_data; }

void spk__conn_set_now(spk__conn_t *c, int64_t unix_sec) {
  if (c->date.sec != unix_sec) spk_h1_date_update(&c->date, unix_sec);
}

spk__conn_t *spk__exchange_conn(const spk__exchange_t *ex) { return ex->conn; }

spk__exchange_t *spk__conn_current(const spk__conn_t *c) { return c->cur; }

int spk__conn_in_handler(const spk__conn_t *c) { return c->cur && c->state == ST_HANDLER; }

void spk__exchange_release_orphan(spk__exchange_t *ex) { spk__exchange_free(ex); }

void spk__conn_free(spk__conn_t *c) {
  if (!c) return;
  if (c->ws) spk__ws_conn_detach(c->ws);
  if (c->streaming) spk__exchange_free(c->streaming);
  if (c->cur) {
    if (c->state == ST_HANDLER)
      c->cur->conn = NULL; /* still in a handler's hands: freed when its wake arrives */
    else
      spk__exchange_free(c->cur);
  }
  spk__buf_free(&c->in);
  spk__free(c->hdrs);
  spk__free(c);
}

static void write_iov(spk__conn_t *c, const spk__iov_t *iov, size_t n, void *token) {
  c->pending_writes++;
  c->io->write(c->io_data, iov, n, token);
}

/* The write token of a streamed file's chunks: an address inside the exchange, distinct from
 * the exchange itself (whose token means "free me"). */
static void *stream_token(spk__exchange_t *ex) { return &ex->res.file_fd; }
/* ...and of a generated stream's writes. */
static void *gen_token(spk__exchange_t *ex) { return &ex->res.stream; }

/* Write what the stream has next (one write in flight at a time), or finish it. */
static void gen_pump(spk__conn_t *c) {
  spk__exchange_t *ex = c->streaming;
  if (!ex || !ex->res.stream || c->stream_busy) return;
  spk__iov_t iov;
  int last = 0;
  /* Gone, or the server shuts down: an endless stream must not hold the shutdown. */
  int r = c->aborted || c->shutting_down ? SPK__STREAM_ABORT
                                         : spk__stream_next(ex->res.stream, &iov, &last);
  if (r == SPK__STREAM_IDLE) return;
  if (r == SPK__STREAM_WRITE) {
    c->stream_busy = 1;
    c->stream_last = last;
    write_iov(c, &iov, 1, gen_token(ex));
    return;
  }
  /* Done, or aborted: no terminating chunk, and the connection closes so that the client
   * sees an incomplete body. */
  if (r == SPK__STREAM_ABORT) c->closing = 1;
  c->streaming = NULL;
  spk__exchange_free(ex);
}

/* Read the next chunk of the streaming file body and queue it (after `head` when given).
 * Returns 0 when a write was queued. When the file fails (truncated, unreadable) the promised
 * Content-Length cannot be kept, so the connection closes: with `head` the head is still
 * written (owning the exchange, streaming ends), without it -1 (the caller frees). */
static int stream_next(spk__conn_t *c, const spk__iov_t *head) {
  spk__exchange_t *ex = c->streaming;
  spk_res_t *res = &ex->res;
  if (!res->file_buf) res->file_buf = spk__malloc(FILE_CHUNK);
  ssize_t n = -1;
  if (res->file_buf) {
    size_t want = res->file_len < FILE_CHUNK ? (size_t)res->file_len : FILE_CHUNK;
    do n = pread(res->file_fd, res->file_buf, want, (off_t)res->file_off);
    while (n < 0 && errno == EINTR);
  }
  if (n <= 0) {
    c->closing = 1;
    if (!head) return -1;
    /* Nothing sent yet: the head alone (its write frees the exchange); the client sees a
     * short body and the close. */
    c->streaming = NULL;
    write_iov(c, head, 1, ex);
    return 0;
  }
  res->file_off += (uint64_t)n;
  res->file_len -= (uint64_t)n;
  spk__iov_t iov[2];
  size_t k = 0;
  if (head) iov[k++] = *head;
  iov[k++] = (spk__iov_t){res->file_buf, (size_t)n};
  write_iov(c, iov, k, stream_token(ex));
  return 0;
}

/* Serialize and queue the current exchange's response. */
/* Finish the current exchange (response hooks may suspend it) and write its response. 0 when a
 * response hook went asynchronous: the exchange is in the hook's hands again (ST_HANDLER) and
 * spk__conn_resume comes back here. */
static int send_response(spk__conn_t *c) {
  spk__exchange_t *ex = c->cur;
  if (!spk__pipeline_finish(ex)) {
    c->state = ST_HANDLER;
    if (c->io->hold) c->io->hold(c->wake_data, 1);
    if (ex->timeout_ms) set_timer(c, TIMER_HANDLER);
    return 0;
  }
  c->cur = NULL;
  c->state = ST_HEAD;
  spk_res_t *res = &ex->res;
  int status = res->status;
  int no_body = (status >= 100 && status < 200) || status == 204 || status == 304;
  int keep_alive = ex->keep_alive && !c->shutting_down && !c->peer_eof;
  spk_h1_response_head_t h = {
      .status = status,
      .minor_version = ex->req.minor_version,
      .headers = res->headers,
      .header_count = res->header_count,
      .content_length = no_body ? -1
                        : res->stream ? spk__stream_content_length(res->stream)
                                      : (int64_t)spk__res_body_size(res),
      .keep_alive = keep_alive,
      .date = c->date.text,
      .no_body_framing = no_body,
  };
  if (spk_h1_write_head(&ex->head_out, &h) != SPK_OK) {
    spk__exchange_free(ex);
    c->closing = 1;
    return 1;
  }
  spk__iov_t iov[2] = {{ex->head_out.data, ex->head_out.len}, {res->body, res->body_len}};
  if (status == 101 && ex->ws_upgrade && !c->shutting_down) { /* switch to WebSocket */
    write_iov(c, iov, 1, NULL); /* the session keeps the exchange */
    c->pre_ws_writes = c->pending_writes;
    c->ws = spk__ws_conn_start(c, ex);
    if (!c->ws) spk__exchange_free(ex), c->closing = 1;
    else c->state = ST_WS;
    return 1;
  }
  int head_only = no_body || ex->req.method == SPK_METHOD_HEAD ||
                  (!spk__res_body_size(res) && !res->stream);
  if (!keep_alive) c->closing = 1;
  if (!head_only && res->stream) {
    /* The head alone, then the body as the stream produces it (gen_pump). HTTP/1.0 has no
     * chunked coding: an unknown length is delimited by closing the connection. */
    int chunked = h.content_length < 0 && ex->req.minor_version >= 1;
    if (h.content_length < 0 && !chunked) c->closing = 1;
    write_iov(c, iov, 1, NULL);
    c->streaming = ex;
    c->stream_busy = 0;
    c->stream_last = 0;
    spk__stream_start(res->stream, c, chunked);
    gen_pump(c);
    return 1;
  }
  if (!head_only && res->has_file) {
    c->streaming = ex;
    stream_next(c, &iov[0]);
    return 1;
  }
  write_iov(c, iov, head_only ? 1 : 2, ex);
  return 1;
}

/* Send the current exchange's (error) response and close. */
static spk__conn_action_t close_with_response(spk__conn_t *c) {
  c->cur->keep_alive = 0; /* the write closes the connection, now or after a response hook */
  set_timer(c, TIMER_NONE);
  if (!send_response(c)) return SPK__CONN_PAUSE;
  c->closing = 1;
  return SPK__CONN_CLOSE;
}

/* The client ended its side in the middle of a body: answer (a half-closed client still
 * reads) and close. */
static spk__conn_action_t body_cut_short(spk__conn_t *c) {
  spk__res_problem_reset(&c->cur->res, 400, "content-length-mismatch",
                         "Content-Length header mismatch",
                         c->chunked ? "The chunked request body ended before its last chunk"
                                    : "Content-Length header does not match actual body size");
  return close_with_response(c);
}

#define TOO_LARGE_APP "The request body exceeds the maximum size allowed"
#define TOO_LARGE_ROUTE "The request body exceeds the maximum size allowed for this route"

static spk__conn_action_t fail(spk__conn_t *c, int status, const char *detail);

/* 413 before (Content-Length) or while (chunked) reading the body. The connection is closed
 * after the answer (Connection: close): the unread rest of the body is not worth receiving,
 * and the io layer half-closes and drains what the client still sends for a moment (LINGER in
 * tcp_conn.c) so the client reads the 413 instead of a reset. */
static spk__conn_action_t too_large(spk__conn_t *c) {
  if (c->cur) spk__mw_cors_early(c->cur); /* the pipeline never ran: its CORS headers still count */
  return fail(c, 413, c->route_limit ? TOO_LARGE_ROUTE : TOO_LARGE_APP);
}

/* Answer a protocol error and close. */
static spk__conn_action_t fail(spk__conn_t *c, int status, const char *detail) {
  if (!c->cur) {
    c->cur = spk__exchange_new(c->app);
    if (!c->cur) {
      c->closing = 1;
      return SPK__CONN_CLOSE;
    }
    c->cur->conn = c;
    c->cur->req.minor_version = 1;
    c->cur->req.method = SPK_METHOD_OTHER;
  }
  spk__exchange_error(c->cur, status, detail);
  return close_with_response(c);
}

static spk_method_t method_id(spk_str_t m) {
  static const struct { const char *name; spk_method_t id; } methods[] = {
      {"GET", SPK_METHOD_GET},       {"HEAD", SPK_METHOD_HEAD},       {"POST", SPK_METHOD_POST},
      {"PUT", SPK_METHOD_PUT},       {"DELETE", SPK_METHOD_DELETE},   {"PATCH", SPK_METHOD_PATCH},
      {"OPTIONS", SPK_METHOD_OPTIONS}, {"TRACE", SPK_METHOD_TRACE}, {"CONNECT", SPK_METHOD_CONNECT}};
  for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
    if (m.len == strlen(methods[i].name) && memcmp(m.ptr, methods[i].name, m.len) == 0)
      return methods[i].id;
  return SPK_METHOD_OTHER;
}

static spk_str_t rebase(spk_str_t s, const char *from, char *to) {
  if (!s.ptr) return (spk_str_t){to, 0};
  return (spk_str_t){to + (s.ptr - from), s.len};
}

/* Build the exchange from a parsed head; the head bytes are copied into its arena so the read
 * buffer can move on (pipelining, async handlers). */
static spk__exchange_t *start_exchange(spk__conn_t *c, const spk_h1_request_t *h) {
  spk__exchange_t *ex = spk__exchange_new(c->app);
  if (!ex) return NULL;
  ex->conn = c;
  ex->wake = c->io->wake;
  ex->wake_data = c->wake_data;
  ex->wake_stream = c->io->wake_stream;
  spk_req_t *req = &ex->req;
  char *copy = spk__arena_alloc(&ex->arena, h->head_len + 1);
  spk_h1_header_t *hdrs = spk__arena_alloc(&ex->arena, (h->header_count + 1) * sizeof(*hdrs));
  char *path = spk__arena_alloc(&ex->arena, h->path.len + 1);
  unsigned char *ids = spk__arena_alloc(&ex->arena, h->header_count + 1);
  if (!copy || !hdrs || !path || !ids) {
    spk__exchange_free(ex);
    return NULL;
  }
  const char *base = c->in.data;
  memcpy(copy, base, h->head_len);
  copy[h->head_len] = '\0';
  for (size_t i = 0; i < h->header_count; i++) {
    hdrs[i].name = rebase(h->headers[i].name, base, copy);
    hdrs[i].value = rebase(h->headers[i].value, base, copy);
    ids[i] = (unsigned char)spk_header_lookup(hdrs[i].name.ptr, hdrs[i].name.len);
  }
  req->headers = hdrs;
  req->header_ids = ids;
  req->header_count = h->header_count;
  req->method_str = rebase(h->method, base, copy);
  req->method = method_id(req->method_str);
  req->target = rebase(h->target, base, copy);
  req->raw_path = rebase(h->path, base, copy);
  req->query_string = rebase(h->query, base, copy);
  size_t plen = spk__pct_decode(path, req->raw_path.ptr, req->raw_path.len, 0);
  path[plen] = '\0';
  req->path = (spk_str_t){path, plen};
  req->minor_version = h->minor_version;
  snprintf(req->remote, sizeof(req->remote), "%s", c->remote);
  req->remote_port = c->remote_port;
  ex->keep_alive = h->keep_alive;
  return ex;
}

static spk__conn_action_t dispatch(spk__conn_t *c) {
  c->state = ST_HANDLER;
  set_timer(c, TIMER_NONE);
  if (!spk__pipeline_dispatch(c->cur)) { /* suspended: wait for the resume */
    if (c->io->hold) c->io->hold(c->wake_data, 1);
    if (c->cur->timeout_ms) set_timer(c, TIMER_HANDLER);
    return SPK__CONN_PAUSE;
  }
  return send_response(c) ? SPK__CONN_CONTINUE : SPK__CONN_PAUSE;
}

static int error_status(int rc) {
  switch (rc) {
    case SPK_EURITOOLONG: return 414;
    case SPK_EHDRTOOLARGE: return 431;
    case SPK_ENOTIMPL: return 501;
    case SPK_EMETHOD: return 405;
    default: return 400;
  }
}

/* Whether parsing now can give an answer. The parser re-scans the whole buffer on each call,
 * so a client trickling a head byte by byte would cost O(n^2); instead we look for the blank
 * line only in the new bytes (O(n) in total) and parse when it is there, or when the buffer is
 * already past a limit (to answer 414/431 without waiting for the rest). */
static int head_ready(spk__conn_t *c) {
  const spk_h1_limits_t *l = &c->app->h1_limits;
  size_t from = c->head_scanned > 3 ? c->head_scanned - 3 : 0;
  c->head_scanned = c->in.len;
  if (c->in.len > l->max_header_bytes) return 1;
  if (memmem(c->in.data + from, c->in.len - from, "\r\n\r\n", 4)) return 1;
  if (memmem(c->in.data + from, c->in.len - from, "\n\n", 2)) return 1; /* bare LF: 400 now */
  /* Past the request-line limit with no line end yet: the parser reports 414. */
  return c->in.len > l->max_request_line && !memchr(c->in.data, '\n', c->in.len);
}

static spk__conn_action_t on_head(spk__conn_t *c) {
  spk_h1_request_t h;
  int rc = head_ready(c) ? spk_h1_parse_request(c->in.data, c->in.len, &c->app->h1_limits,
                                                c->hdrs, c->hdr_cap, &h)
                         : SPK_EAGAIN;
  if (rc == SPK_EAGAIN) {
    if (c->peer_eof) return SPK__CONN_CLOSE;
    set_timer(c, TIMER_HEADER);
    return SPK__CONN_CONTINUE;
  }
  if (rc < 0) return fail(c, error_status(rc), spk_strerror(rc));
  c->cur = start_exchange(c, &h);
  if (!c->cur) return fail(c, 500, "Out of memory");
  spk__buf_consume(&c->in, h.head_len);
  c->head_scanned = 0;
  c->body_got = 0;
  c->chunked = h.chunked;
  /* A route with its own limit replaces the app's, smaller or larger; one router match, only
   * for requests with a body and only when some route has a limit. */
  c->body_limit = c->app->limits.max_body_bytes;
  c->route_limit = 0;
  if (h.content_length > 0 || h.chunked) {
    const spk_req_t *req = &c->cur->req;
    uint64_t r = spk__route_body_limit(c->app, req->method_str.ptr, req->method_str.len,
                                       req->raw_path.ptr, req->raw_path.len);
    if (r) c->body_limit = r, c->route_limit = 1;
  }
  if (h.content_length > 0 && (uint64_t)h.content_length > c->body_limit) return too_large(c);
  if (h.chunked) {
    spk_h1_chunked_init(&c->dec);
  } else {
    c->body_dst = NULL;
    c->body_remaining = h.content_length > 0 ? (uint64_t)h.content_length : 0;
    if (c->body_remaining) {
      c->body_dst = spk__arena_alloc(&c->cur->arena, (size_t)c->body_remaining + 1);
      if (!c->body_dst) return fail(c, 500, "Out of memory");
    }
  }
  if (h.expect_continue && h.minor_version == 1 && (h.chunked || c->body_remaining) &&
      c->in.len == 0) {
    spk__iov_t iov = {continue_100, sizeof(continue_100) - 1};
    write_iov(c, &iov, 1, NULL);
  }
  c->state = ST_BODY;
  return SPK__CONN_CONTINUE;
}

/* Collect body bytes from `in`. Returns CONTINUE with state still BODY when more are needed. */
static spk__conn_action_t on_body(spk__conn_t *c) {
  spk_req_t *req = &c->cur->req;
  if (!c->chunked) {
    size_t n = c->in.len < c->body_remaining ? c->in.len : (size_t)c->body_remaining;
    if (n) memcpy(c->body_dst + c->body_got, c->in.data, n);
    c->body_got += n;
    c->body_remaining -= n;
    spk__buf_consume(&c->in, n);
    if (c->body_remaining) goto need_more;
    if (c->body_dst) c->body_dst[c->body_got] = '\0';
    req->body = (spk_str_t){c->body_dst ? c->body_dst : "", c->body_got};
    return dispatch(c);
  }
  size_t len = c->in.len;
  int rc = spk_h1_chunked_decode(&c->dec, c->in.data, &len);
  if (rc < 0 && rc != SPK_EAGAIN)
    return rc == SPK_ERANGE ? too_large(c)
                            : fail(c, rc == SPK_EHDRTOOLARGE ? 431 : 400, "Malformed chunked request body");
  spk__buf_t *body = &c->cur->body_in;
  if (body->len + len > c->body_limit) return too_large(c);
  if (spk__buf_append(body, c->in.data, len)) return fail(c, 500, "Out of memory");
  if (rc == SPK_EAGAIN) {
    c->in.len = 0;
    goto need_more;
  }
  /* Complete: the next request's bytes were moved right after the decoded data. */
  memmove(c->in.data, c->in.data + len, (size_t)rc);
  c->in.len = (size_t)rc;
  if (spk__buf_append_char(body, '\0')) return fail(c, 500, "Out of memory");
  body->len--;
  req->body = (spk_str_t){body->data, body->len};
  return dispatch(c);
need_more:
  if (c->peer_eof) return body_cut_short(c);
  arm_timer(c, TIMER_BODY, 1); /* idle time between body reads */
  return SPK__CONN_CONTINUE;
}

/* What a closing connection asks for: CLOSE, except while a generated stream is still
 * producing (Connection: close, HTTP/1.0) — the driver must keep the socket for it, and the
 * stream's last write completion says CLOSE. */
static spk__conn_action_t closing_action(const spk__conn_t *c) {
  return c->streaming && c->streaming->res.stream && !c->aborted ? SPK__CONN_PAUSE
                                                                 : SPK__CONN_CLOSE;
}

static spk__conn_action_t process(spk__conn_t *c) {
  for (;;) {
    if (c->closing) return closing_action(c);
    spk__conn_action_t a;
    switch (c->state) {
      case ST_HANDLER:
        return SPK__CONN_PAUSE;
      case ST_WS:
        return spk__ws_conn_input(c->ws, &c->in);
      case ST_HEAD:
        if (c->pending_writes >= MAX_PENDING_WRITES || c->streaming) {
          /* An idle generated stream waits for its producer, not for the client. */
          set_timer(c, c->streaming && !c->pending_writes && c->streaming->res.stream
                           ? TIMER_STREAM
                           : TIMER_WRITE);
          return SPK__CONN_PAUSE;
        }
        if (c->in.len == 0) {
          if (c->peer_eof || c->shutting_down) {
            c->closing = 1;
            return SPK__CONN_CLOSE;
          }
          /* Idle starts once our responses are written; until then a client that does not
           * read gets the write timeout. */
          set_timer(c, c->pending_writes ? TIMER_WRITE : TIMER_KEEPALIVE);
          return SPK__CONN_CONTINUE;
        }
        if (c->shutting_down) {
          c->closing = 1;
          return SPK__CONN_CLOSE;
        }
        a = on_head(c);
        if (a != SPK__CONN_CONTINUE || c->state == ST_HEAD) return a;
        break;
      case ST_BODY:
        a = on_body(c);
        if (a != SPK__CONN_CONTINUE) return a;
        if (c->state == ST_BODY) return a; /* waiting for more bytes */
        break;
    }
  }
}

char *spk__conn_read_buffer(spk__conn_t *c, size_t suggested, size_t *avail) {
  if (suggested < 4096) suggested = 4096;
  if (spk__buf_reserve(&c->in, suggested)) {
    *avail = 0;
    return NULL;
  }
  *avail = c->in.cap - c->in.len;
  return c->in.data + c->in.len;
}

spk__conn_action_t spk__conn_commit(spk__conn_t *c, size_t n) {
  c->in.len += n;
  if (c->state == ST_HANDLER) return SPK__CONN_PAUSE;
  if (c->state == ST_WS) return spk__ws_conn_input(c->ws, &c->in);
  return process(c);
}

spk__conn_action_t spk__conn_feed(spk__conn_t *c, const char *data, size_t len) {
  if (spk__buf_append(&c->in, data, len)) return SPK__CONN_CLOSE;
  if (c->state == ST_HANDLER) return SPK__CONN_PAUSE;
  return process(c);
}

spk__conn_action_t spk__conn_write_done(spk__conn_t *c, void *token) {
  if (c->pending_writes) c->pending_writes--;
  if (c->ws && c->pre_ws_writes == 0) { /* writes complete in order: this one is a frame */
    spk__ws_conn_write_done(c->ws, token);
    return c->closing ? SPK__CONN_CLOSE : process(c);
  }
  if (c->ws) c->pre_ws_writes--;
  if (c->timer == TIMER_WRITE) arm_timer(c, c->pending_writes ? TIMER_WRITE : TIMER_KEEPALIVE, 1);
  if (c->streaming && token == stream_token(c->streaming)) {
    spk__exchange_t *ex = c->streaming;
    token = NULL;
    if (c->aborted || ex->res.file_len == 0 || stream_next(c, NULL) != 0) {
      c->streaming = NULL;
      spk__exchange_free(ex);
    }
  }
  if (c->streaming && token == gen_token(c->streaming)) {
    token = NULL;
    c->stream_busy = 0;
    spk__stream_written(c->streaming->res.stream);
    if (c->stream_last || c->aborted) {
      spk__exchange_t *ex = c->streaming;
      c->streaming = NULL;
      spk__exchange_free(ex); /* complete, or the socket died: cancel (stream.c) */
    } else {
      gen_pump(c);
    }
  }
  if (token) spk__exchange_free(token);
  if (c->closing) return closing_action(c);
  return process(c);
}

spk__conn_action_t spk__conn_stream_wake(spk__conn_t *c) {
  gen_pump(c);
  return process(c);
}

spk__conn_action_t spk__conn_resume(spk__conn_t *c, spk__exchange_t *ex) {
  if (c->state == ST_WS) return spk__ws_conn_wake(c->ws);
  if (ex != c->cur || c->state != ST_HANDLER) return SPK__CONN_CLOSE; /* contract violation */
  if (!spk__pipeline_resume(ex)) { /* suspended again */
    if (c->io->hold) c->io->hold(c->wake_data, 1);
    return SPK__CONN_PAUSE;
  }
  if (c->timer == TIMER_HANDLER) set_timer(c, TIMER_NONE);
  if (!send_response(c)) return SPK__CONN_PAUSE;
  return process(c);
}

/* The request timeout fired while the exchange is still in a handler's (or hook's, or
 * factory's) hands: we may not touch its response, which another thread may be writing. Answer
 * 408 with static bytes, give the exchange up (it is freed when its end or continue arrives:
 * spk__exchange_release_orphan) and close: the connection's request order is broken. */
static const char timeout_408[] =
    "HTTP/1.1 408 Request Timeout\r\ncontent-length: 0\r\nconnection: close\r\n\r\n";

static spk__conn_action_t handler_timed_out(spk__conn_t *c) {
  spk__exchange_t *ex = c->cur;
  if (!ex || c->state != ST_HANDLER) return SPK__CONN_CONTINUE;
  ex->conn = NULL;
  atomic_store(&ex->orphaned, 1);
  c->cur = NULL;
  c->state = ST_HEAD;
  c->closing = 1;
  spk__iov_t iov = {(char *)timeout_408, sizeof(timeout_408) - 1};
  write_iov(c, &iov, 1, NULL);
  return SPK__CONN_CLOSE;
}

spk__conn_action_t spk__conn_timeout(spk__conn_t *c) {
  enum timer_kind kind = c->timer;
  c->timer = TIMER_NONE;
  if (kind == TIMER_WS && c->ws) return spk__ws_conn_timeout(c->ws);
  switch (kind) {
    case TIMER_HEADER:
    case TIMER_BODY:
      return fail(c, 408, "The request was not received in time");
    case TIMER_HANDLER:
      return handler_timed_out(c);
    case TIMER_STREAM: /* idle event stream: a keep-alive comment */
      if (c->streaming && c->streaming->res.stream) {
        spk__stream_keepalive(c->streaming->res.stream);
        gen_pump(c);
      }
      return process(c);
    case TIMER_KEEPALIVE:
    case TIMER_WRITE: /* the client stopped reading: nothing sensible left to send */
      c->closing = 1;
      return SPK__CONN_CLOSE;
    case TIMER_NONE:
    case TIMER_WS:
      break;
  }
  return c->closing ? SPK__CONN_CLOSE : SPK__CONN_CONTINUE;
}

spk__conn_action_t spk__conn_eof(spk__conn_t *c) {
  c->peer_eof = 1;
  if (c->state == ST_WS) return spk__ws_conn_eof(c->ws);
  if (c->state == ST_HANDLER) return SPK__CONN_PAUSE; /* answer the request, then close */
  return process(c);
}

int spk__conn_is_idle(const spk__conn_t *c) {
  return c->state == ST_HEAD && c->in.len == 0 && c->pending_writes == 0 && !c->streaming;
}

void spk__conn_abort(spk__conn_t *c) {
  c->aborted = 1;
  c->closing = 1;
}

spk__conn_action_t spk__conn_shutdown(spk__conn_t *c) {
  c->shutting_down = 1;
  if (c->state == ST_WS) return spk__ws_conn_shutdown(c->ws);
  if (c->state == ST_HEAD) {
    c->closing = 1;
    return SPK__CONN_CLOSE;
  }
  return c->state == ST_HANDLER ? SPK__CONN_PAUSE : SPK__CONN_CONTINUE;
}

void spk__conn_ws_write(spk__conn_t *c, const spk__iov_t *iov, size_t n, void *token) {
  write_iov(c, iov, n, token);
}

void spk__conn_ws_timer(spk__conn_t *c, uint32_t ms) {
  c->timer = ms ? TIMER_WS : TIMER_NONE;
  if (c->io->set_timer) c->io->set_timer(c->io_data, ms);
}

size_t spk__conn_ws_pending(const spk__conn_t *c) { return c->pending_writes; }
const spk__conn_io_t *spk__conn_io(const spk__conn_t *c) { return c->io; }
void *spk__conn_wake_data(const spk__conn_t *c) { return c->wake_data; }
