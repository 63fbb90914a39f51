/* Real-time routes of the example app (see realtime_routes.h). */
#include "realtime_routes.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- GET /events ---- */

static long query_long(spk_req_t *req, const char *name, long def, long max) {
  spk_str_t v;
  if (spk_req_query(req, name, &v) != SPK_OK || v.len == 0 || v.len > 9) return def;
  char buf[16];
  memcpy(buf, v.ptr, v.len);
  buf[v.len] = '\0';
  char *end;
  long n = strtol(buf, &end, 10);
  return *end || n < 0 ? def : n > max ? max : n;
}

static int events(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  long count = query_long(req, "count", 3, 1000);
  long after = 0;
  spk_str_t last;
  if (spk_req_last_event_id(req, &last) == SPK_OK && last.len && last.len < 10) {
    char buf[16];
    memcpy(buf, last.ptr, last.len);
    buf[last.len] = '\0';
    after = strtol(buf, NULL, 10);
  }
  spk_stream_t *s;
  int rc = spk_res_sse(res, NULL, &s);
  if (rc) return rc;
  char id[24], data[96];
  if (after >= count) {
    snprintf(data, sizeof(data), "{\"resumed_after\":%ld}", after);
    spk_sse_event_t done = {.event = "done", .data = data, .data_len = strlen(data)};
    spk_sse_send(s, &done);
  } else {
    for (long i = after + 1; i <= count; i++) {
      snprintf(id, sizeof(id), "%ld", i);
      int n = snprintf(data, sizeof(data), "{\"seq\":%ld}", i);
      /* A short retry so that a browser comes back quickly for the rest. */
      spk_sse_event_t ev = {.id = id, .data = data, .data_len = (size_t)n,
                            .retry_ms = i == after + 1 ? 200 : 0};
      spk_sse_send(s, &ev);
    }
    spk_sse_event_t status = {.event = "status", .data = "ready", .data_len = 5};
    spk_sse_send(s, &status);
  }
  spk_stream_end(s); /* the browser reconnects with Last-Event-ID */
  return SPK_HANDLER_DONE;
}

/* ---- GET /events/ticker: one thread fans out to every subscriber ---- */

typedef struct sub {
  spk_stream_t *s;
  struct sub *next;
} sub_t;

/* The ticker's state: owned by main (realtime_routes_register / realtime_free), handed to the
 * routes as user_data. The thread starts with the first subscriber and is stopped and joined
 * by realtime_free. */
struct realtime {
  pthread_mutex_t mu;
  pthread_cond_t cv; /* signalled to stop the ticker early */
  sub_t *subs;
  unsigned long ticks;
  int started, stopping;
  pthread_t thread;
};

static void *ticker(void *arg) {
  realtime_t *rt = arg;
  pthread_mutex_lock(&rt->mu);
  while (!rt->stopping) {
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += 1;
    while (!rt->stopping && pthread_cond_timedwait(&rt->cv, &rt->mu, &until) == 0) {
    }
    if (rt->stopping) break;
    rt->ticks++;
    char id[24], data[64];
    snprintf(id, sizeof(id), "%lu", rt->ticks);
    int n = snprintf(data, sizeof(data), "{\"tick\":%lu}", rt->ticks);
    spk_sse_event_t ev = {.event = "tick", .id = id, .data = data, .data_len = (size_t)n};
    for (sub_t *x = rt->subs; x; x = x->next) spk_sse_send(x->s, &ev); /* EAGAIN: skipped */
  }
  pthread_mutex_unlock(&rt->mu);
  return NULL;
}

/* The client went away: unsubscribe and release the stream. */
static void ticker_cancel(spk_stream_t *s, void *ud) {
  realtime_t *rt = ud;
  pthread_mutex_lock(&rt->mu);
  for (sub_t **p = &rt->subs; *p; p = &(*p)->next)
    if ((*p)->s == s) {
      sub_t *x = *p;
      *p = x->next;
      free(x);
      break;
    }
  pthread_mutex_unlock(&rt->mu);
  spk_stream_abort(s);
}

static int ticker_route(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  realtime_t *rt = ud;
  sub_t *x = malloc(sizeof(*x));
  if (!x) return SPK_ENOMEM;
  spk_sse_options_t o = {.cancel = ticker_cancel, .user_data = rt};
  int rc = spk_res_sse(res, &o, &x->s);
  if (rc) {
    free(x);
    return rc;
  }
  spk_sse_comment(x->s, "subscribed");
  pthread_mutex_lock(&rt->mu);
  x->next = rt->subs;
  rt->subs = x;
  if (!rt->started && !rt->stopping)
    rt->started = pthread_create(&rt->thread, NULL, ticker, rt) == 0;
  pthread_mutex_unlock(&rt->mu);
  return SPK_HANDLER_DONE;
}

/* ---- GET /export.ndjson: pulled as the socket drains ---- */

typedef struct exporter {
  long next, rows;
} exporter_t;

static int export_pull(spk_stream_t *s, void *ud) {
  exporter_t *e = ud;
  if (e->next >= e->rows) {
    free(e);
    return SPK_STREAM_END;
  }
  char buf[8192];
  size_t len = 0;
  while (e->next < e->rows && len < sizeof(buf) - 128) {
    e->next++;
    len += (size_t)snprintf(buf + len, sizeof(buf) - len,
                            "{\"id\":%ld,\"title\":\"item %ld\",\"done\":%s}\n", e->next, e->next,
                            e->next % 3 ? "false" : "true");
  }
  return spk_stream_write(s, buf, len) == SPK_OK ? SPK_STREAM_MORE : SPK_STREAM_PAUSE;
}

static void export_cancel(spk_stream_t *s, void *ud) {
  free(ud);
  spk_stream_abort(s);
}

static int export_route(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  exporter_t *e = calloc(1, sizeof(*e));
  if (!e) return SPK_ENOMEM;
  e->rows = query_long(req, "rows", 1000, 100000000L);
  spk_stream_options_t o = {.pull = export_pull, .cancel = export_cancel, .user_data = e};
  spk_stream_t *s;
  int rc = spk_res_stream(res, &o, &s);
  if (rc) {
    free(e);
    return rc;
  }
  return spk_res_set_header(res, "Content-Type", "application/x-ndjson");
}

int realtime_routes_register(spk_app_t *app, realtime_t **out) {
  realtime_t *rt = calloc(1, sizeof(*rt));
  if (!rt) return SPK_ENOMEM;
  pthread_mutex_init(&rt->mu, NULL);
  pthread_cond_init(&rt->cv, NULL);
  *out = rt;
  int rc = spk_app_route(app, "GET", "/events", events, NULL);
  if (!rc) rc = spk_app_route(app, "GET", "/events/ticker", ticker_route, rt);
  if (!rc) rc = spk_app_route(app, "GET", "/export.ndjson", export_route, NULL);
  return rc;
}

void realtime_free(realtime_t *rt) {
  if (!rt) return;
  pthread_mutex_lock(&rt->mu);
  rt->stopping = 1;
  pthread_cond_broadcast(&rt->cv);
  int started = rt->started;
  pthread_mutex_unlock(&rt->mu);
  if (started) pthread_join(rt->thread, NULL);
  /* The server is gone: its shutdown cancelled every stream, so no subscriber is left unless a
   * cancel never came; free what remains without touching the streams. */
  for (sub_t *x = rt->subs, *next; x; x = next) {
    next = x->next;
    free(x);
  }
  pthread_cond_destroy(&rt->cv);
  pthread_mutex_destroy(&rt->mu);
  free(rt);
}
