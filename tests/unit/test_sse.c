/* Server-Sent Events: the encoder's edge cases (proto/sse.c), the response head, Last-Event-ID,
 * keep-alive comments (timing through the in-memory client's timer) and their configuration,
 * no compression even when asked for. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "proto/sse.h"
#include "spikard.h"
#include "test.h"

static void enc(const spk_sse_fields_t *f, const char *want) {
  spk__buf_t b = {0};
  CHECK_INT(spk_sse_encode(&b, f), 0);
  CHECK_MEM(b.data, b.len, want);
  spk__buf_free(&b);
}

static spk_sse_fields_t data_only(const char *d) {
  return (spk_sse_fields_t){.retry_ms = -1, .data = d, .data_len = strlen(d)};
}

static void test_encoder(void) {
  spk_sse_fields_t f = data_only("hello");
  enc(&f, "data: hello\n\n");
  f = data_only("a\nb");
  enc(&f, "data: a\ndata: b\n\n");
  f = data_only("a\r\nb\rc");
  enc(&f, "data: a\ndata: b\ndata: c\n\n");
  f = data_only("a\n"); /* trailing newline survives as an empty last line */
  enc(&f, "data: a\ndata: \n\n");
  f = data_only("\r\n\r\n");
  enc(&f, "data: \ndata: \ndata: \n\n");
  f = data_only("");
  enc(&f, "data: \n\n");
  f = data_only(" lead");
  enc(&f, "data:  lead\n\n");
  f = data_only("x");
  f.event = "update", f.event_len = 6, f.id = "42", f.id_len = 2, f.retry_ms = 3000;
  enc(&f, "event: update\nid: 42\nretry: 3000\ndata: x\n\n");
  spk_sse_fields_t g = {.id = "", .id_len = 0, .retry_ms = -1};
  enc(&g, "id\n\n"); /* resets the client's last event id */
  spk_sse_fields_t h = {.retry_ms = 0};
  enc(&h, "retry: 0\n\n");
  /* NUL inside data is data (binary-unsafe clients aside), not a line break. */
  spk_sse_fields_t n = {.retry_ms = -1, .data = "a\0b", .data_len = 3};
  spk__buf_t b = {0};
  CHECK_INT(spk_sse_encode(&b, &n), 0);
  CHECK_INT(b.len, 11);
  spk__buf_free(&b);
}

static void test_encoder_rejects(void) {
  spk__buf_t b = {0};
  spk_sse_fields_t f = {.event = "a\nb", .event_len = 3, .retry_ms = -1};
  CHECK_INT(spk_sse_encode(&b, &f), SPK_EINVAL);
  f = (spk_sse_fields_t){.id = "1\r", .id_len = 2, .retry_ms = -1};
  CHECK_INT(spk_sse_encode(&b, &f), SPK_EINVAL);
  f = (spk_sse_fields_t){.id = "1\0", .id_len = 2, .retry_ms = -1};
  CHECK_INT(spk_sse_encode(&b, &f), SPK_EINVAL);
  CHECK_INT(b.len, 0);
  CHECK_INT(spk_sse_encode_comment(&b, "one\ntwo", 7), 0);
  CHECK_MEM(b.data, b.len, ": one\n: two\n");
  b.len = 0;
  CHECK_INT(spk_sse_encode_comment(&b, "", 0), 0);
  CHECK_MEM(b.data, b.len, ":\n");
  spk__buf_free(&b);
}

/* ---- through the pipeline ---- */

typedef struct ctx {
  int mode;
  int32_t keepalive;
  pthread_t th;
  int th_started;
  spk_stream_t *s;
  char last_id[64];
} ctx_t;

enum { M_EVENTS, M_LATE, M_BAD };

static void *late_event(void *arg) {
  ctx_t *c = arg;
  struct timespec ts = {0, 250 * 1000000L};
  nanosleep(&ts, NULL);
  spk_sse_send_data(c->s, "late", "9");
  spk_stream_end(c->s);
  return NULL;
}

static int h_sse(spk_req_t *req, spk_res_t *res, void *ud) {
  ctx_t *c = ud;
  spk_str_t v;
  if (spk_req_last_event_id(req, &v) == SPK_OK)
    snprintf(c->last_id, sizeof(c->last_id), "%.*s", (int)v.len, v.ptr);
  spk_sse_options_t o = {.keepalive_ms = c->keepalive};
  if (spk_res_sse(res, &o, &c->s)) return SPK_ENOMEM;
  if (c->mode == M_LATE) {
    c->th_started = pthread_create(&c->th, NULL, late_event, c) == 0;
    return SPK_HANDLER_DONE;
  }
  spk_sse_event_t e1 = {.event = "greeting", .id = "1", .data = "hi\nthere", .data_len = 8};
  CHECK_INT(spk_sse_send(c->s, &e1), 0);
  spk_sse_event_t bad = {.event = "x\ny", .data = "z", .data_len = 1};
  CHECK_INT(spk_sse_send(c->s, &bad), SPK_EINVAL);
  CHECK_INT(spk_sse_comment(c->s, "note"), 0);
  spk_sse_event_t e2 = {.id = "2", .data = "{\"n\":2}", .data_len = 7, .retry_ms = 1500};
  CHECK_INT(spk_sse_send(c->s, &e2), 0);
  spk_stream_end(c->s);
  return SPK_HANDLER_DONE;
}

static int run(ctx_t *c, const char *config, const char *route_mw, const spk_test_header_t *h,
               size_t nh, spk_test_response_t *out) {
  spk_app_t *app = spk_app_new();
  if (config) CHECK_INT(spk_app_configure(app, config), 0);
  spk_route_options_t ro = {.middleware = route_mw};
  CHECK_INT(spk_app_route_ex(app, "GET", "/events", h_sse, c, &ro), 0);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_request_t req = {.target = "/events", .headers = h, .header_count = nh};
  int rc = spk_test_client_send(tc, &req, out);
  if (c->th_started) pthread_join(c->th, NULL), c->th_started = 0;
  spk_test_client_free(tc);
  spk_app_free(app);
  return rc;
}

static void test_events(void) {
  ctx_t c = {.mode = M_EVENTS};
  spk_test_header_t h[] = {{"Accept", "text/event-stream"}, {"Last-Event-ID", "41"},
                           {"Accept-Encoding", "gzip, br"}};
  spk_test_response_t r;
  CHECK_INT(run(&c, "{\"compression\": {\"min_size\": 0}}", NULL, h, 3, &r), 0);
  CHECK_INT(r.status, 200);
  CHECK_STR(spk_test_response_header(&r, "content-type"), "text/event-stream");
  CHECK_STR(spk_test_response_header(&r, "cache-control"), "no-cache");
  CHECK(spk_test_response_header(&r, "content-encoding") == NULL);
  CHECK_STR(c.last_id, "41");
  CHECK_MEM(r.body, r.body_len,
            "event: greeting\nid: 1\ndata: hi\ndata: there\n\n"
            ": note\n"
            "id: 2\nretry: 1500\ndata: {\"n\":2}\n\n");
  CHECK_INT(r.chunk_count, 3); /* one chunk per event: flushed at once */
  spk_test_response_free(&r);
}

static size_t count(const char *hay, size_t len, const char *needle) {
  size_t n = 0, k = strlen(needle);
  for (size_t i = 0; i + k <= len; i++)
    if (memcmp(hay + i, needle, k) == 0) n++;
  return n;
}

static void test_keepalive(void) {
  ctx_t c = {.mode = M_LATE, .keepalive = 40};
  spk_test_response_t r;
  CHECK_INT(run(&c, NULL, NULL, NULL, 0, &r), 0);
  CHECK(count(r.body, r.body_len, ": keep-alive\n\n") >= 2);
  CHECK(strstr(r.body, "id: 9\ndata: late\n\n") != NULL);
  spk_test_response_free(&r);
  /* Off per stream. */
  ctx_t d = {.mode = M_LATE, .keepalive = -1};
  CHECK_INT(run(&d, NULL, NULL, NULL, 0, &r), 0);
  CHECK_INT(count(r.body, r.body_len, ": keep-alive"), 0);
  spk_test_response_free(&r);
  /* From the route's section, then the app's. */
  ctx_t e = {.mode = M_LATE};
  CHECK_INT(run(&e, "{\"sse\": {\"keepalive_seconds\": 0}}", "{\"sse\": {\"keepalive_ms\": 40}}",
                NULL, 0, &r), 0);
  CHECK(count(r.body, r.body_len, ": keep-alive") >= 2);
  spk_test_response_free(&r);
  ctx_t g = {.mode = M_LATE};
  CHECK_INT(run(&g, "{\"sse\": {\"keepalive_ms\": 0}}", NULL, NULL, 0, &r), 0);
  CHECK_INT(count(r.body, r.body_len, ": keep-alive"), 0);
  spk_test_response_free(&r);
}

static void test_config_errors(void) {
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_configure(app, "{\"sse\": {\"keepalive\": 1}}"), SPK_EINVAL);
  CHECK(strstr(spk_app_last_error(app), "keepalive_seconds") != NULL);
  CHECK_INT(spk_app_configure(app, "{\"sse\": {\"keepalive_seconds\": -1}}"), SPK_EINVAL);
  CHECK_INT(spk_app_configure(app, "{\"sse\": 5}"), SPK_EINVAL);
  CHECK_INT(spk_app_configure(app, "{\"sse\": {\"keepalive_seconds\": 2.5}}"), 0);
  spk_route_options_t ro = {.middleware = "{\"sse\": {\"nope\": 1}}"};
  CHECK(spk_app_route_ex(app, "GET", "/e", h_sse, NULL, &ro) != SPK_OK ||
        spk_app_freeze(app) != SPK_OK);
  spk_app_free(app);
}

int main(void) {
  RUN(test_encoder);
  RUN(test_encoder_rejects);
  RUN(test_events);
  RUN(test_keepalive);
  RUN(test_config_errors);
  return test_report("test_sse");
}
