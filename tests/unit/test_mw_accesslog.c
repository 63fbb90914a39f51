/* Access log: line format (common and JSON), escaping, one whole line per request from several
 * threads, configuration. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/exchange.h"
#include "core/mw.h"
#include "proto/json.h"
#include "spikard.h"
#include "spikard/middleware.h"
#include "spikard/testclient.h"
#include "test.h"
#include "util/arena.h"

static int h_ok(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  spk_res_send(res, 200, "text/plain", "hello", 5);
  return SPK_HANDLER_DONE;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *s = malloc((size_t)n + 1);
  if (s && fread(s, 1, (size_t)n, f) != (size_t)n) n = 0;
  if (s) s[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return s;
}

static void temp_path(char *buf, size_t cap) {
  snprintf(buf, cap, "/tmp/spk_accesslog_%d_%ld.log", (int)getpid(), (long)random());
  unlink(buf);
}

/* Check a common line: "<remote> - - [dd/Mon/yyyy:HH:MM:SS +0000] "<req>" status bytes us id" */
static int common_ok(const char *line, const char *req, int status, int bytes, const char *id) {
  char remote[64], date[40], rest[512];
  if (sscanf(line, "%63s - - [%39[^]]] \"%511[^\n]", remote, date, rest) != 3) return 0;
  if (strlen(date) != 26 || date[2] != '/' || date[6] != '/' || strcmp(date + 20, " +0000"))
    return 0;
  size_t rl = strlen(req);
  if (strncmp(rest, req, rl) || rest[rl] != '"') return 0;
  int st, by;
  unsigned long us;
  char rid[200];
  if (sscanf(rest + rl + 1, " %d %d %lu %199s", &st, &by, &us, rid) != 4) return 0;
  if (st != status || by != bytes || us > 10000000) return 0;
  return !id || !strcmp(id, rid) || (!strcmp(id, "<uuid>") && strlen(rid) == 36);
}

static void test_common_file(void) {
  char path[128], cfg[300];
  temp_path(path, sizeof(path));
  snprintf(cfg, sizeof(cfg),
           "{\"access_log\": {\"path\": \"%s\"}, \"request_id\": {\"enabled\": true}}", path);
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_configure(app, cfg), SPK_OK);
  CHECK_INT(spk_app_route(app, "GET", "/hello", h_ok, NULL), SPK_OK);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  spk_test_header_t h = {"X-Request-ID", "rid-1"};
  spk_test_request_t req = {.method = "GET", .target = "/hello?x=1", .headers = &h,
                            .header_count = 1};
  CHECK_INT(spk_test_client_send(tc, &req, &r), 0);
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_get(tc, "HEAD", "/hello", &r), 0);
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_get(tc, "GET", "/nope", &r), 0);
  spk_test_response_free(&r);
  static const char bad[] = "GET /hello HTTP/1.0\r\nHost x\r\n\r\n";
  CHECK_INT(spk_test_client_send_raw(tc, bad, sizeof(bad) - 1, &r), 0);
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);

  size_t len;
  char *log = slurp(path, &len);
  CHECK(log != NULL);
  if (!log) return;
  char *save = NULL, *lines[8];
  int n = 0;
  for (char *l = strtok_r(log, "\n", &save); l && n < 8; l = strtok_r(NULL, "\n", &save))
    lines[n++] = l;
  CHECK_INT(n, 4);
  if (n == 4) {
    CHECK(common_ok(lines[0], "GET /hello?x=1 HTTP/1.1", 200, 5, "rid-1"));
    CHECK(common_ok(lines[1], "HEAD /hello HTTP/1.1", 200, 0, "<uuid>"));
    CHECK(common_ok(lines[2], "GET /nope HTTP/1.1", 404, -1, NULL) ||
          strstr(lines[2], "\"GET /nope HTTP/1.1\" 404 ") != NULL);
    /* A head the parser refused: method and target unknown. */
    CHECK(strstr(lines[3], "\"- - HTTP/1.1\" 400 ") != NULL);
    CHECK(strncmp(lines[0], "test - - [", 10) == 0); /* the test client's remote */
  }
  free(log);
  unlink(path);
}

static int h_stream(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  spk_stream_t *s;
  int rc = spk_res_stream(res, NULL, &s);
  if (rc) return rc;
  spk_stream_write_str(s, "chunk");
  spk_stream_end(s);
  return SPK_HANDLER_DONE;
}

static int h_file(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  return spk_res_file(res, ud, "text/plain");
}

/* A file body logs its size; a streamed body's size is unknown when the line is written. */
static void test_file_and_stream_bytes(void) {
  char path[128], file[128], cfg[300];
  temp_path(path, sizeof(path));
  temp_path(file, sizeof(file));
  FILE *f = fopen(file, "wb");
  CHECK(f != NULL);
  if (!f) return;
  fputs("0123456789abc", f); /* 13 bytes */
  fclose(f);
  snprintf(cfg, sizeof(cfg), "{\"access_log\": {\"path\": \"%s\", \"format\": \"%s\"}}", path,
           "common");
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_configure(app, cfg), SPK_OK);
  CHECK_INT(spk_app_route(app, "GET", "/file", h_file, file), SPK_OK);
  CHECK_INT(spk_app_route(app, "GET", "/stream", h_stream, NULL), SPK_OK);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  CHECK_INT(spk_test_client_get(tc, "GET", "/file", &r), 0);
  CHECK_INT((int)r.body_len, 13);
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_get(tc, "GET", "/stream", &r), 0);
  CHECK_INT(r.status, 200);
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
  size_t len;
  char *log = slurp(path, &len);
  CHECK(log != NULL);
  if (log) {
    CHECK(strstr(log, "\"GET /file HTTP/1.1\" 200 13 ") != NULL);
    CHECK(strstr(log, "\"GET /stream HTTP/1.1\" 200 - ") != NULL);
  }
  free(log);
  unlink(path);
  unlink(file);
}

typedef struct worker {
  spk_app_t *app;
  int n;
} worker_t;

static void *worker(void *arg) {
  worker_t *w = arg;
  spk_test_client_t *tc = spk_test_client_new(w->app);
  for (int i = 0; i < w->n; i++) {
    spk_test_response_t r;
    if (spk_test_client_get(tc, "GET", "/hello", &r) == 0) spk_test_response_free(&r);
  }
  spk_test_client_free(tc);
  return NULL;
}

static void test_json_threads(void) {
  char path[128], cfg[300];
  temp_path(path, sizeof(path));
  snprintf(cfg, sizeof(cfg), "{\"access_log\": {\"path\": \"%s\", \"format\": \"json\"}}", path);
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_configure(app, cfg), SPK_OK);
  CHECK_INT(spk_app_route(app, "GET", "/hello", h_ok, NULL), SPK_OK);
  CHECK_INT(spk_app_freeze(app), SPK_OK);
  enum { NT = 4, PER = 150 };
  pthread_t t[NT];
  worker_t w = {app, PER};
  for (int i = 0; i < NT; i++) pthread_create(&t[i], NULL, worker, &w);
  for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
  spk_app_free(app);

  size_t len;
  char *log = slurp(path, &len);
  CHECK(log != NULL);
  if (!log) return;
  int lines = 0, bad = 0;
  spk__arena_t a;
  spk__arena_init(&a, 4096);
  for (char *p = log; *p;) {
    char *nl = strchr(p, '\n');
    if (!nl) {
      bad++;
      break;
    }
    spk_json_value_t *v;
    spk_json_error_t e;
    if (spk_json_parse(&a, p, (size_t)(nl - p), NULL, &v, &e) != SPK_OK ||
        v->type != SPK_JSON_OBJECT) {
      bad++;
    } else {
      const spk_json_value_t *st = spk_json_get(v, "status", 6);
      const spk_json_value_t *by = spk_json_get(v, "bytes", 5);
      const spk_json_value_t *rid = spk_json_get(v, "request_id", 10);
      const spk_json_value_t *tm = spk_json_get(v, "time", 4);
      const spk_json_value_t *us = spk_json_get(v, "duration_us", 11);
      if (!st || st->u.integer != 200 || !by || by->u.integer != 5 || !rid ||
          rid->type != SPK_JSON_NULL || !tm || tm->type != SPK_JSON_STRING ||
          tm->u.string.len != 27 || !us || us->type != SPK_JSON_INT)
        bad++;
    }
    lines++;
    p = nl + 1;
  }
  spk__arena_free(&a);
  CHECK_INT(lines, NT * PER);
  CHECK_INT(bad, 0);
  free(log);
  unlink(path);
}

/* Escaping, straight on a hand-made exchange. */
static void test_escaping(void) {
  spk_app_t *app = spk_app_new();
  spk__exchange_t *ex = spk__exchange_new(app);
  ex->req.method_str = (spk_str_t){"GET", 3};
  ex->req.target = (spk_str_t){"/a\"b\\c\x01\xc3\xa9 d", 11};
  ex->req.minor_version = 1;
  ex->res.status = 201;
  ex->res.body_len = 7;
  ex->request_id = (spk_str_t){"id\"1", 4};
  ex->start_ns = 1000;
  struct timespec now = {86400 * 365, 123456000}; /* 1971-01-01 */
  char buf[4096];
  size_t n = spk__mw_accesslog_line(ex, 0, &now, 1000 + 42000, buf, sizeof(buf));
  buf[n] = '\0';
  CHECK_STR(buf, "unknown - - [01/Jan/1971:00:00:00 +0000] "
                 "\"GET /a\\x22b\\x5cc\\x01\\xc3\\xa9\\x20d HTTP/1.1\" 201 7 42 id\\x221\n");
  n = spk__mw_accesslog_line(ex, 1, &now, 1000 + 42000, buf, sizeof(buf));
  buf[n] = '\0';
  CHECK_STR(buf, "{\"time\":\"1971-01-01T00:00:00.123456Z\",\"remote\":\"unknown\","
                 "\"method\":\"GET\",\"target\":\"/a\\\"b\\\\c\\u0001\\u00c3\\u00a9 d\","
                 "\"status\":201,\"bytes\":7,\"duration_us\":42,\"request_id\":\"id\\\"1\"}\n");
  /* A huge target is cut, the line still ends with a newline and stays in bounds. */
  static char big[10000];
  memset(big, 'x', sizeof(big));
  ex->req.target = (spk_str_t){big, sizeof(big)};
  n = spk__mw_accesslog_line(ex, 1, &now, 0, buf, sizeof(buf));
  CHECK(n < sizeof(buf) && buf[n - 1] == '\n');
  CHECK(memmem(buf, n, "...", 3) != NULL);
  n = spk__mw_accesslog_line(ex, 0, &now, 0, buf, 100);
  CHECK_INT(n, 100);
  CHECK(buf[99] == '\n');
  spk__exchange_free(ex);
  spk_app_free(app);
}

static void test_configure(void) {
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_configure(app, "{\"access_log\": {\"format\": \"xml\"}}"), SPK_EINVAL);
  CHECK_INT(spk_app_configure(app, "{\"access_log\": {\"path\": 3}}"), SPK_EINVAL);
  CHECK_INT(spk_app_configure(app, "{\"access_log\": {\"colour\": 3}}"), SPK_EINVAL);
  CHECK_INT(spk_app_configure(app, "{\"access_log\": {\"path\": \"/nonexistent-dir/x.log\"}}"),
            SPK_EIO);
  CHECK(strstr(spk_app_last_error(app), "cannot open") != NULL);
  CHECK_INT(spk_app_configure(app, "{\"access_log\": {\"enabled\": false}}"), SPK_OK);
  CHECK_INT(spk_app_configure(app, "{\"access_log\": {\"path\": \"stderr\"}}"), SPK_OK);
  CHECK_INT(spk_app_configure(app, "{\"access_log\": {\"enabled\": false}}"), SPK_OK);
  spk_app_free(app);
}

int main(void) {
  srandom((unsigned)time(NULL) ^ (unsigned)getpid());
  RUN(test_common_file);
  RUN(test_json_threads);
  RUN(test_escaping);
  RUN(test_file_and_stream_bytes);
  RUN(test_configure);
  return test_report("mw_accesslog");
}
