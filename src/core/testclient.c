/* In-memory test client: drives a spk__conn exactly like the io layer does, with the request
 * serialized to bytes and the response bytes parsed back. Async handlers are awaited on a
 * condition variable (their spk_res_end may come from any thread). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/app_internal.h"
#include "core/conn.h"
#include "core/exchange.h"
#include "spikard/background.h"
#include "core/testclient_internal.h"
#include "spikard/testclient.h"
#include "util/alloc.h"
#include "util/deadline.h"
#include "util/buf.h"
#include "util/strutil.h"

#define ASYNC_WAIT_SECONDS 30
#define MAX_TOKENS 64

struct spk_test_client {
  spk_app_t *app;
  pthread_mutex_t mu;
  pthread_cond_t cv;
  spk__exchange_t *woken; /* one exchange at a time: a connection has one request in flight */
  spk__buf_t stream_wakes; /* spk_stream_t * queued by tc_wake_stream (under mu) */
  size_t orphans;         /* timed-out exchanges still in their handlers' hands (under mu) */
};

typedef struct call {
  spk_test_client_t *client;
  uint32_t timer_ms; /* armed connection timer; only the request timeout matters here */
  spk__buf_t out;
  void *tokens[MAX_TOKENS];
  size_t ntokens;
} call_t;

static void tc_write(void *io_data, const spk__iov_t *iov, size_t n, void *token) {
  call_t *call = io_data;
  for (size_t i = 0; i < n; i++) spk__buf_append(&call->out, iov[i].base, iov[i].len);
  if (call->ntokens < MAX_TOKENS) call->tokens[call->ntokens++] = token;
}

static void tc_wake(void *wake_data, spk__exchange_t *ex) {
  spk_test_client_t *client = wake_data;
  pthread_mutex_lock(&client->mu);
  int orphan = atomic_load(&ex->orphaned); /* set under mu by a request timeout */
  if (orphan) {
    /* Answered 408 already: nobody waits for it. Free it before letting the client go, but
     * outside mu: freeing may detach a stream, whose lock a pushing thread holds while it
     * takes mu (tc_wake_stream). */
    pthread_mutex_unlock(&client->mu);
    spk__exchange_release_orphan(ex);
    pthread_mutex_lock(&client->mu);
    client->orphans--;
  } else {
    client->woken = ex;
  }
  pthread_cond_broadcast(&client->cv);
  pthread_mutex_unlock(&client->mu);
}

/* A streamed response has news: queue it for the run loop (any thread; called under the
 * stream's lock while the stream is attached, so the client is alive). */
static void tc_wake_stream(void *wake_data, struct spk_stream *s) {
  spk_test_client_t *client = wake_data;
  pthread_mutex_lock(&client->mu);
  while (spk__buf_append(&client->stream_wakes, &s, sizeof(s)) != SPK_OK) {
    /* Never lose a wake (the stream's reference rides on it): wait for memory. */
    pthread_mutex_unlock(&client->mu);
    struct timespec ts = {0, 1000000};
    nanosleep(&ts, NULL);
    pthread_mutex_lock(&client->mu);
  }
  pthread_cond_broadcast(&client->cv);
  pthread_mutex_unlock(&client->mu);
}

/* Deliver queued stream wakes (owner thread): the connection pumps (`conn` may be NULL: the
 * run is over and the wakes are only dropped). */
static spk__conn_action_t deliver_stream_wakes(spk__buf_t *wakes, spk__conn_t *conn,
                                               spk__conn_action_t action) {
  size_t n = wakes->len / sizeof(struct spk_stream *);
  for (size_t i = 0; i < n; i++) {
    struct spk_stream *s;
    memcpy(&s, wakes->data + i * sizeof(s), sizeof(s));
    spk__conn_t *c = spk__stream_deliver(s);
    if (c && c == conn) action = spk__conn_stream_wake(c);
  }
  spk__buf_free(wakes);
  return action;
}

/* Header, body and keep-alive timers mean nothing in memory (a request is complete when it is
 * sent); the one that matters is the request timeout, armed while a handler runs. */
static void tc_set_timer(void *io_data, uint32_t ms) {
  call_t *call = io_data;
  call->timer_ms = ms;
}

static const spk__conn_io_t tc_io = {tc_write, tc_wake, tc_set_timer, NULL, tc_wake_stream};

SPK_EXTERN spk_test_client_t *spk_test_client_new(spk_app_t *app) {
  if (!app || spk_app_freeze(app) != SPK_OK) return NULL;
  spk_test_client_t *c = spk__calloc(1, sizeof(*c));
  if (!c) return NULL;
  c->app = app;
  pthread_mutex_init(&c->mu, NULL);
  pthread_cond_init(&c->cv, NULL);
  return c;
}

spk_app_t *spk__test_client_app(spk_test_client_t *client) { return client->app; }

SPK_EXTERN void spk_test_client_free(spk_test_client_t *client) {
  if (!client) return;
  /* A handler that outlived its request timeout still owes its spk_res_end, which lands in
   * tc_wake: wait for it, as a server waits for its held exchanges. */
  pthread_mutex_lock(&client->mu);
  while (client->orphans) pthread_cond_wait(&client->cv, &client->mu);
  spk__buf_t wakes = client->stream_wakes;
  client->stream_wakes = (spk__buf_t){0};
  pthread_mutex_unlock(&client->mu);
  deliver_stream_wakes(&wakes, NULL, SPK__CONN_CLOSE);
  pthread_mutex_destroy(&client->mu);
  pthread_cond_destroy(&client->cv);
  spk__free(client);
}

SPK_EXTERN int spk_test_client_drain(spk_test_client_t *client, uint32_t timeout_ms) {
  if (!client) return SPK_EINVAL;
  uint64_t start = spk__now_ns();
  struct timespec deadline;
  spk__deadline_in(&deadline, CLOCK_REALTIME, timeout_ms);
  int timed_out = 0;
  pthread_mutex_lock(&client->mu);
  while (client->orphans && !timed_out)
    timed_out = pthread_cond_timedwait(&client->cv, &client->mu, &deadline) == ETIMEDOUT;
  timed_out = client->orphans != 0;
  pthread_mutex_unlock(&client->mu);
  if (timed_out) return SPK_ETIMEDOUT;
  uint64_t spent_ms = (spk__now_ns() - start) / 1000000u;
  return spk_app_bg_wait(client->app, spent_ms >= timeout_ms ? 0 : timeout_ms - (uint32_t)spent_ms);
}

/* A chunked body: the data, every chunk's size, and whether the last chunk came. The
 * connection is over when we parse, so a missing end is an incomplete (aborted) body, not a
 * reason to wait. 1, or 0 when malformed / out of memory. */
static int parse_chunked(const char *p, size_t len, spk_test_response_t *out) {
  spk__buf_t body = {0}, sizes = {0};
  size_t i = 0;
  int ok = 1, complete = 0;
  while (ok && i < len) {
    size_t size = 0, k = i;
    int digits = 0;
    for (; k < len; k++) {
      char c = p[k];
      int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                             : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
      if (v < 0 || size > (SIZE_MAX >> 4)) break;
      size = size * 16 + (size_t)v;
      digits++;
    }
    if (k + 1 >= len) break; /* cut inside a size line */
    if (!digits || p[k] != '\r' || p[k + 1] != '\n') {
      ok = 0;
      break;
    }
    i = k + 2;
    if (size == 0) {
      complete = 1;
      break;
    }
    if (len - i < size + 2) break; /* cut inside a chunk: not counted */
    if (spk__buf_append(&body, p + i, size) || spk__buf_append(&sizes, &size, sizeof(size)))
      ok = 0;
    i += size + 2;
  }
  if (ok) {
    out->body = spk__strndup(body.data ? body.data : "", body.len);
    out->body_len = body.len;
    out->chunk_count = sizes.len / sizeof(size_t);
    out->chunk_sizes = out->chunk_count ? (size_t *)(void *)sizes.data : NULL;
    out->incomplete = !complete;
    if (out->chunk_count) sizes.data = NULL; /* owned by the response now */
    ok = out->body != NULL;
  }
  spk__buf_free(&body);
  spk__buf_free(&sizes);
  return ok;
}

/* Parse one response (skipping 1xx) from raw bytes into `out`. 1 when complete. */
int spk__test_parse_response(const char *raw, size_t len, int is_head, spk_test_response_t *out) {
  size_t pos = 0;
  for (;;) {
    const char *end = NULL;
    for (size_t i = pos; i + 3 < len; i++)
      if (raw[i] == '\r' && raw[i + 1] == '\n' && raw[i + 2] == '\r' && raw[i + 3] == '\n') {
        end = raw + i;
        break;
      }
    if (!end || len - pos < 12) return 0;
    /* "HTTP/1.x NNN" read within len: raw is not NUL-terminated, so no sscanf (glibc's scans
     * for the terminator first and ran past the buffer). */
    const char *h = raw + pos;
    if (memcmp(h, "HTTP/1.", 7) != 0 || h[7] < '0' || h[7] > '9' || h[8] != ' ' ||
        h[9] < '1' || h[9] > '9' || h[10] < '0' || h[10] > '9' || h[11] < '0' || h[11] > '9')
      return 0;
    int status = (h[9] - '0') * 100 + (h[10] - '0') * 10 + (h[11] - '0');
    size_t head_end = (size_t)(end - raw) + 4;
    if (status >= 100 && status < 200 && status != 101) {
      pos = head_end;
      continue;
    }
    /* Count and copy headers. */
    size_t nh = 0;
    for (const char *p = raw + pos; p < end; p++) nh += *p == '\n';
    out->headers = spk__calloc(nh + 1, sizeof(*out->headers));
    if (!out->headers) return 0;
    out->status = status;
    int64_t content_length = -1;
    int chunked = 0;
    const char *line = (const char *)memchr(raw + pos, '\n', (size_t)(end + 2 - (raw + pos))) + 1;
    while (line < end) {
      const char *eol = memchr(line, '\r', (size_t)(end + 1 - line));
      if (!eol) break;
      const char *colon = memchr(line, ':', (size_t)(eol - line));
      if (colon) {
        char *name = spk__strndup(line, (size_t)(colon - line));
        const char *v = colon + 1;
        size_t vlen = (size_t)(eol - v);
        spk__trim_ows(&v, &vlen);
        char *value = spk__strndup(v, vlen);
        if (!name || !value) {
          spk__free(name);
          spk__free(value);
          return 0;
        }
        for (char *q = name; *q; q++) *q = spk__tolower(*q);
        out->headers[out->header_count].name = name;
        out->headers[out->header_count].value = value;
        out->header_count++;
        if (strcmp(name, "content-length") == 0) spk__parse_i64(value, vlen, &content_length);
        if (strcmp(name, "transfer-encoding") == 0 && strstr(value, "chunked")) chunked = 1;
      }
      line = eol + 2;
    }
    int bodyless = is_head || status == 204 || status == 304;
    if (chunked && !bodyless) return parse_chunked(raw + head_end, len - head_end, out);
    size_t body_len = content_length > 0 && !is_head ? (size_t)content_length : 0;
    if (content_length < 0 && !bodyless) body_len = len - head_end; /* delimited by close */
    if (len - head_end < body_len) return 0;
    out->body = spk__strndup(raw + head_end, body_len);
    out->body_len = body_len;
    return out->body != NULL;
  }
}

static int run(spk_test_client_t *client, const char *bytes, size_t len, spk_test_response_t *out,
               int is_head) {
  memset(out, 0, sizeof(*out));
  call_t call = {.client = client};
  spk__conn_t *conn = spk__conn_new(client->app, &tc_io, &call, client, "test", 0);
  if (!conn) return SPK_ENOMEM;
  int rc = SPK_OK, eof_sent = 0;
  spk__conn_action_t action = spk__conn_feed(conn, bytes, len);
  for (;;) {
    /* Complete queued writes one by one, as a socket would. */
    while (call.ntokens) {
      void *token = call.tokens[0];
      memmove(call.tokens, call.tokens + 1, --call.ntokens * sizeof(void *));
      action = spk__conn_write_done(conn, token);
    }
    if (action == SPK__CONN_CLOSE || spk__conn_is_idle(conn)) break;
    if (action != SPK__CONN_PAUSE) {
      /* The connection wants more bytes: like a client that half-closes after sending, tell it
       * the input has ended (a short body is answered 400, not waited for). */
      if (eof_sent) break;
      eof_sent = 1;
      action = spk__conn_eof(conn);
      continue;
    }
    /* An async handler: wait for its spk_res_end, or for the request timeout. */
    struct timespec deadline;
    spk__deadline_in(&deadline, CLOCK_REALTIME,
                     call.timer_ms ? call.timer_ms : ASYNC_WAIT_SECONDS * 1000u);
    int timed_out = 0;
    pthread_mutex_lock(&client->mu);
    while (!client->woken && !client->stream_wakes.len && !timed_out)
      if (pthread_cond_timedwait(&client->cv, &client->mu, &deadline) == ETIMEDOUT)
        timed_out = 1;
    spk__exchange_t *ex = client->woken;
    client->woken = NULL;
    spk__buf_t wakes = client->stream_wakes;
    client->stream_wakes = (spk__buf_t){0};
    if (wakes.len) {
      pthread_mutex_unlock(&client->mu);
      action = deliver_stream_wakes(&wakes, conn, action);
      pthread_mutex_lock(&client->mu);
      if (!ex) {
        pthread_mutex_unlock(&client->mu);
        continue;
      }
    }
    spk__exchange_t *cur = spk__conn_current(conn);
    if (!ex && timed_out && call.timer_ms && cur) {
      atomic_store(&cur->orphaned, 1); /* under mu: its late end frees it (tc_wake) */
      client->orphans++;
    }
    pthread_mutex_unlock(&client->mu);
    if (!ex && timed_out) {
      if (!call.timer_ms) {
        rc = SPK_ETIMEDOUT;
        break;
      }
      call.timer_ms = 0;
      action = spk__conn_timeout(conn); /* answers 408 and gives the exchange up */
      continue;
    }
    if (!ex) break;
    action = spk__exchange_conn(ex) ? spk__conn_resume(conn, ex) : SPK__CONN_CLOSE;
  }
  spk__conn_free(conn);
  /* Wakes queued before the stream was detached: nothing to pump any more. */
  pthread_mutex_lock(&client->mu);
  spk__buf_t late = client->stream_wakes;
  client->stream_wakes = (spk__buf_t){0};
  pthread_mutex_unlock(&client->mu);
  deliver_stream_wakes(&late, NULL, SPK__CONN_CLOSE);
  if (spk__buf_append_char(&call.out, '\0') == SPK_OK) call.out.len--; /* raw is a C string too */
  out->raw = call.out.data;
  out->raw_len = call.out.len;
  if (rc == SPK_OK) {
    int complete = spk__test_parse_response(out->raw, out->raw_len, is_head, out);
    if (!complete) rc = SPK_EPROTO;
  }
  if (rc != SPK_OK) spk_test_response_free(out);
  return rc;
}

static int is_head_request(const char *bytes, size_t len) {
  return len >= 5 && memcmp(bytes, "HEAD ", 5) == 0;
}

SPK_EXTERN int spk_test_client_send_raw(spk_test_client_t *client, const void *bytes,
                                        size_t len, spk_test_response_t *out) {
  if (!client || (!bytes && len) || !out) return SPK_EINVAL;
  return run(client, bytes, len, out, is_head_request(bytes, len));
}

SPK_EXTERN int spk_test_client_send(spk_test_client_t *client, const spk_test_request_t *req,
                                    spk_test_response_t *out) {
  if (!client || !req || !req->target || !out) return SPK_EINVAL;
  spk__buf_t b = {0};
  const char *method = req->method ? req->method : "GET";
  int has_host = 0;
  spk__buf_append_str(&b, method);
  spk__buf_append_char(&b, ' ');
  spk__buf_append_str(&b, req->target);
  spk__buf_append_str(&b, " HTTP/1.1\r\n");
  for (size_t i = 0; i < req->header_count; i++) {
    has_host |= spk__strieq(req->headers[i].name, strlen(req->headers[i].name), "host", 4);
    spk__buf_append_str(&b, req->headers[i].name);
    spk__buf_append_str(&b, ": ");
    spk__buf_append_str(&b, req->headers[i].value);
    spk__buf_append_str(&b, "\r\n");
  }
  if (!has_host) spk__buf_append_str(&b, "Host: testclient\r\n");
  if (req->chunked) {
    spk__buf_append_str(&b, "Transfer-Encoding: chunked\r\n\r\n");
    if (req->body_len) {
      char size[24];
      snprintf(size, sizeof(size), "%zx\r\n", req->body_len);
      spk__buf_append_str(&b, size);
      spk__buf_append(&b, req->body, req->body_len);
      spk__buf_append_str(&b, "\r\n");
    }
    spk__buf_append_str(&b, "0\r\n\r\n");
  } else {
    if (req->body_len || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0 ||
        strcmp(method, "PATCH") == 0) {
      spk__buf_append_str(&b, "Content-Length: ");
      spk__buf_append_u64(&b, req->body_len);
      spk__buf_append_str(&b, "\r\n");
    }
    spk__buf_append_str(&b, "\r\n");
    spk__buf_append(&b, req->body, req->body_len);
  }
  int rc = b.data ? run(client, b.data, b.len, out, strcmp(method, "HEAD") == 0) : SPK_ENOMEM;
  spk__buf_free(&b);
  return rc;
}

SPK_EXTERN int spk_test_client_get(spk_test_client_t *client, const char *method,
                                   const char *target, spk_test_response_t *out) {
  spk_test_request_t req = {.method = method, .target = target};
  return spk_test_client_send(client, &req, out);
}

SPK_EXTERN const char *spk_test_response_header(const spk_test_response_t *res, const char *name) {
  for (size_t i = 0; i < res->header_count; i++)
    if (spk__strieq(res->headers[i].name, strlen(res->headers[i].name), name, strlen(name)))
      return res->headers[i].value;
  return NULL;
}

SPK_EXTERN void spk_test_response_free(spk_test_response_t *res) {
  if (!res) return;
  for (size_t i = 0; i < res->header_count; i++) {
    spk__free((void *)res->headers[i].name);
    spk__free((void *)res->headers[i].value);
  }
  spk__free(res->headers);
  spk__free(res->body);
  spk__free(res->raw);
  spk__free(res->chunk_sizes);
  memset(res, 0, sizeof(*res));
}
