/* spk-test-server: routes for the streaming black-box tests (tests/blackbox/test_stream.py).
 *
 *   GET /stream/pull?chunk=N&limit=M  a pull producer writing N-byte chunks (default 16384),
 *                                     M chunks (default: without end)
 *   GET /stream/sse?keepalive=MS      an event stream that never sends an event: keep-alive
 *                                     comments every MS ms (default 100)
 *   GET /stream/stats                 {"pulls":…,"bytes":…,"cancels":…} since start */
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spikard.h"

int stream_routes_register(spk_app_t *app);

static atomic_long pulls, bytes, cancels;

typedef struct producer {
  size_t chunk;
  long limit, done;
} producer_t;

static long query_num(spk_req_t *req, const char *name, long def) {
  spk_str_t v;
  if (spk_req_query(req, name, &v) != SPK_OK || !v.len || v.len > 12) return def;
  char buf[16];
  memcpy(buf, v.ptr, v.len);
  buf[v.len] = '\0';
  return strtol(buf, NULL, 10);
}

static int pull(spk_stream_t *s, void *ud) {
  producer_t *p = ud;
  if (p->limit >= 0 && p->done >= p->limit) {
    free(p);
    return SPK_STREAM_END;
  }
  static const char pattern[] = "0123456789abcdef";
  char *buf = malloc(p->chunk);
  if (!buf) return SPK_ENOMEM;
  for (size_t i = 0; i < p->chunk; i++) buf[i] = pattern[i % 16];
  int rc = spk_stream_write(s, buf, p->chunk);
  free(buf);
  atomic_fetch_add(&pulls, 1);
  if (rc == SPK_OK) atomic_fetch_add(&bytes, (long)p->chunk);
  p->done++;
  return rc ? rc : SPK_STREAM_MORE;
}

static void cancel_pull(spk_stream_t *s, void *ud) {
  free(ud);
  atomic_fetch_add(&cancels, 1);
  spk_stream_abort(s);
}

static int pull_route(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  producer_t *p = calloc(1, sizeof(*p));
  if (!p) return SPK_ENOMEM;
  long chunk = query_num(req, "chunk", 16384);
  p->chunk = chunk > 0 && chunk <= (1 << 20) ? (size_t)chunk : 16384;
  p->limit = query_num(req, "limit", -1);
  spk_stream_options_t o = {.pull = pull, .cancel = cancel_pull, .user_data = p};
  spk_stream_t *s;
  int rc = spk_res_stream(res, &o, &s);
  if (rc) free(p);
  return rc ? rc : spk_res_set_header(res, "Content-Type", "text/plain");
}

static void cancel_sse(spk_stream_t *s, void *ud) {
  (void)ud;
  atomic_fetch_add(&cancels, 1);
  spk_stream_abort(s);
}

static int sse_route(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  spk_sse_options_t o = {.cancel = cancel_sse,
                         .keepalive_ms = (int32_t)query_num(req, "keepalive", 100)};
  spk_stream_t *s;
  return spk_res_sse(res, &o, &s);
}

static int stats_route(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  (void)ud;
  char buf[160];
  int n = snprintf(buf, sizeof(buf), "{\"pulls\":%ld,\"bytes\":%ld,\"cancels\":%ld}",
                   atomic_load(&pulls), atomic_load(&bytes), atomic_load(&cancels));
  return spk_res_send(res, 200, "application/json", buf, (size_t)n);
}

int stream_routes_register(spk_app_t *app) {
  int rc = spk_app_route(app, "GET", "/stream/pull", pull_route, NULL);
  if (!rc) rc = spk_app_route(app, "GET", "/stream/sse", sse_route, NULL);
  if (!rc) rc = spk_app_route(app, "GET", "/stream/stats", stats_route, NULL);
  return rc;
}
