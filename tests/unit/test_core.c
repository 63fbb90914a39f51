/* Core pipeline through the in-memory test client: routing outcomes, request accessors,
 * response building, async completion, protocol errors. */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "core/testclient_internal.h"
#include "spikard.h"
#include "test.h"

static int h_text(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  return spk_res_send(res, 200, "text/plain", ud, strlen(ud));
}

/* Echo everything the request API exposes, as JSON. */
static int h_echo(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  spk_json_writer_t *w = spk_res_json_begin(res);
  spk_json_object_open(w);
  spk_json_key(w, "method");
  spk_str_t m = spk_req_method_str(req);
  spk_json_string_n(w, m.ptr, m.len);
  spk_json_key(w, "path");
  spk_json_string(w, spk_req_path(req).ptr);
  spk_json_key(w, "params");
  spk_json_object_open(w);
  for (size_t i = 0; i < spk_req_param_count(req); i++) {
    spk_str_t n, v;
    spk_req_param_at(req, i, &n, &v);
    char key[64];
    snprintf(key, sizeof(key), "%.*s", (int)n.len, n.ptr);
    spk_json_key(w, key);
    spk_json_string_n(w, v.ptr, v.len);
  }
  spk_json_object_close(w);
  spk_json_key(w, "query");
  spk_json_array_open(w);
  for (size_t i = 0; i < spk_req_query_count(req); i++) {
    spk_str_t n, v;
    spk_req_query_at(req, i, &n, &v);
    spk_json_array_open(w);
    spk_json_string_n(w, n.ptr, n.len);
    spk_json_string_n(w, v.ptr, v.len);
    spk_json_array_close(w);
  }
  spk_json_array_close(w);
  spk_str_t v;
  spk_json_key(w, "x_token");
  if (spk_req_header(req, "X-TOKEN", &v) == 0) spk_json_string_n(w, v.ptr, v.len);
  else spk_json_null(w);
  spk_json_key(w, "session");
  if (spk_req_cookie(req, "session", &v) == 0) spk_json_string_n(w, v.ptr, v.len);
  else spk_json_null(w);
  spk_json_key(w, "body");
  spk_str_t b = spk_req_body(req);
  spk_json_string_n(w, b.ptr, b.len);
  spk_json_object_close(w);
  return spk_res_json_end(w);
}

static int h_fail(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)res, (void)ud;
  return SPK_EIO;
}

static int h_cookies(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  spk_res_header(res, "Set-Cookie", "a=1; Path=/");
  spk_res_header(res, "Set-Cookie", "b=2; HttpOnly");
  CHECK_INT(spk_res_header(res, "X-Bad", "a\r\nInjected: yes"), SPK_EINVAL);
  CHECK_INT(spk_res_header(res, "Bad Name", "v"), SPK_EINVAL);
  CHECK_INT(spk_res_header(res, "Content-Length", "5"), SPK_EINVAL);
  return spk_res_status(res, 204);
}

/* Async: a thread ends the response later. */
typedef struct { spk_res_t *res; int delay_ms; } later_t;
static void *finish_later(void *arg) {
  later_t *l = arg;
  struct timespec ts = {0, l->delay_ms * 1000000L};
  nanosleep(&ts, NULL);
  spk_res_send(l->res, 202, "text/plain", "later", 5);
  CHECK_INT(spk_res_end(l->res), 0);
  free(l);
  return NULL;
}
static int h_async(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  later_t *l = malloc(sizeof(*l));
  l->res = res;
  l->delay_ms = 30;
  pthread_t t;
  pthread_create(&t, NULL, finish_later, l);
  pthread_detach(t);
  return SPK_HANDLER_ASYNC;
}
/* Async whose end happens before the handler even returns. */
static void *finish_now(void *arg) {
  spk_res_t *res = arg;
  spk_res_send(res, 200, "text/plain", "fast", 4);
  spk_res_end(res);
  return NULL;
}
static int h_async_fast(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  pthread_t t;
  pthread_create(&t, NULL, finish_now, res);
  pthread_join(t, NULL);
  CHECK_INT(spk_res_end(res), SPK_ESTATE); /* exactly once */
  return SPK_HANDLER_ASYNC;
}

static spk_app_t *make_app(void) {
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_route(app, "GET", "/hello", h_text, "hello"), 0);
  CHECK_INT(spk_app_route(app, "POST", "/hello", h_text, "posted"), 0);
  CHECK_INT(spk_app_route(app, "*", "/echo/{name}/{id:int}", h_echo, NULL), 0);
  CHECK_INT(spk_app_route(app, "POST", "/echo", h_echo, NULL), 0);
  CHECK_INT(spk_app_route(app, "GET", "/items/{id:uuid}/on/{day:date}", h_echo, NULL), 0);
  CHECK_INT(spk_app_route(app, "GET", "/files/{p:path}", h_echo, NULL), 0);
  CHECK_INT(spk_app_route(app, "GET", "/fail", h_fail, NULL), 0);
  CHECK_INT(spk_app_route(app, "GET", "/cookies", h_cookies, NULL), 0);
  CHECK_INT(spk_app_route(app, "GET", "/async", h_async, NULL), 0);
  CHECK_INT(spk_app_route(app, "GET", "/async-fast", h_async_fast, NULL), 0);
  return app;
}

static spk_app_t *app_;
static spk_test_client_t *tc_;

static void get(const char *method, const char *target, spk_test_response_t *r) {
  CHECK_INT(spk_test_client_get(tc_, method, target, r), 0);
}

static void test_basic_routes(void) {
  spk_test_response_t r;
  get("GET", "/hello", &r);
  CHECK_INT(r.status, 200);
  CHECK_STR(r.body, "hello");
  CHECK_STR(spk_test_response_header(&r, "content-type"), "text/plain");
  CHECK_STR(spk_test_response_header(&r, "content-length"), "5");
  CHECK(spk_test_response_header(&r, "date") != NULL);
  spk_test_response_free(&r);

  get("GET", "/hello/", &r); /* trailing-slash twin */
  CHECK_INT(r.status, 200);
  spk_test_response_free(&r);

  get("HEAD", "/hello", &r);
  CHECK_INT(r.status, 200);
  CHECK_INT(r.body_len, 0);
  CHECK_STR(spk_test_response_header(&r, "content-length"), "5");
  CHECK(strstr(r.raw, "hello") == NULL);
  spk_test_response_free(&r);
}

static void test_not_found_and_methods(void) {
  spk_test_response_t r;
  get("GET", "/nope", &r);
  CHECK_INT(r.status, 404);
  CHECK_STR(spk_test_response_header(&r, "content-type"), "application/problem+json; charset=utf-8");
  CHECK_STR(r.body, "{\"type\":\"https://spikard.dev/errors/not-found\",\"title\":\"Resource Not "
                    "Found\",\"status\":404,\"detail\":\"No route matches this path\"}");
  spk_test_response_free(&r);

  get("DELETE", "/hello", &r);
  CHECK_INT(r.status, 405);
  CHECK_STR(spk_test_response_header(&r, "allow"), "GET, HEAD, OPTIONS, POST");
  spk_test_response_free(&r);

  get("OPTIONS", "/hello", &r);
  CHECK_INT(r.status, 204);
  CHECK_STR(spk_test_response_header(&r, "allow"), "GET, HEAD, OPTIONS, POST");
  CHECK(spk_test_response_header(&r, "content-length") == NULL);
  spk_test_response_free(&r);

  get("TRACE", "/hello", &r);
  CHECK_INT(r.status, 405);
  spk_test_response_free(&r);
}

static void test_request_accessors(void) {
  spk_test_header_t hdrs[] = {{"x-token", "  abc  "}, {"Cookie", "theme=dark; session=s%20id"},
                              {"Cookie", "session=second"}};
  spk_test_request_t req = {.method = "PATCH",
                            .target = "/echo/caf%C3%A9/42?a=1&b=x+y&a=2&empty=&flag&pct=%26%40",
                            .headers = hdrs,
                            .header_count = 3,
                            .body = "payload",
                            .body_len = 7};
  spk_test_response_t r;
  CHECK_INT(spk_test_client_send(tc_, &req, &r), 0);
  CHECK_INT(r.status, 200);
  CHECK_STR(r.body,
            "{\"method\":\"PATCH\",\"path\":\"/echo/café/42\",\"params\":{\"name\":\"café\",\"id\":\"42\"},"
            "\"query\":[[\"a\",\"1\"],[\"b\",\"x y\"],[\"a\",\"2\"],[\"empty\",\"\"],[\"flag\",\"\"],"
            "[\"pct\",\"&@\"]],\"x_token\":\"abc\",\"session\":\"s%20id\",\"body\":\"payload\"}");
  spk_test_response_free(&r);
}

static void test_bodies(void) {
  spk_test_request_t req = {.method = "POST", .target = "/echo", .body = "chunky body", .body_len = 11,
                            .chunked = 1};
  spk_test_response_t r;
  CHECK_INT(spk_test_client_send(tc_, &req, &r), 0);
  CHECK_INT(r.status, 200);
  CHECK(strstr(r.body, "\"body\":\"chunky body\"") != NULL);
  spk_test_response_free(&r);

  const char raw[] = "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc";
  CHECK_INT(spk_test_client_send_raw(tc_, raw, sizeof(raw) - 1, &r), 0);
  CHECK(strstr(r.body, "\"body\":\"abc\"") != NULL);
  spk_test_response_free(&r);
}

static void test_typed_params(void) {
  spk_test_response_t r;
  get("GET", "/echo/x/notanint", &r);
  CHECK_INT(r.status, 422);
  CHECK_STR(spk_test_response_header(&r, "content-type"), "application/json");
  CHECK_STR(r.body,
            "{\"type\":\"https://spikard.dev/errors/validation-error\",\"title\":\"Request Validation "
            "Failed\",\"status\":422,\"detail\":\"1 validation error in request\",\"errors\":[{\"type\":"
            "\"int_parsing\",\"loc\":[\"path\",\"id\"],\"msg\":\"Input should be a valid integer, "
            "unable to parse string as an integer\",\"input\":\"notanint\"}]}");
  spk_test_response_free(&r);

  get("GET", "/items/not-a-uuid/on/2025-13-45", &r);
  CHECK_INT(r.status, 422);
  CHECK(strstr(r.body, "\"detail\":\"2 validation errors in request\"") != NULL);
  CHECK(strstr(r.body, "uuid_parsing") != NULL);
  CHECK(strstr(r.body, "date_parsing") != NULL);
  spk_test_response_free(&r);

  get("GET", "/items/550e8400-e29b-41d4-a716-446655440000/on/2024-02-29", &r);
  CHECK_INT(r.status, 200);
  spk_test_response_free(&r);

  get("GET", "/files/home/john/file.txt", &r);
  CHECK_INT(r.status, 200);
  CHECK(strstr(r.body, "\"p\":\"home/john/file.txt\"") != NULL);
  spk_test_response_free(&r);
}

static void test_handler_errors_and_headers(void) {
  spk_test_response_t r;
  get("GET", "/fail", &r);
  CHECK_INT(r.status, 500);
  CHECK(strstr(r.body, "internal-server-error") != NULL);
  spk_test_response_free(&r);

  get("GET", "/cookies", &r);
  CHECK_INT(r.status, 204);
  CHECK(strstr(r.raw, "Set-Cookie: a=1; Path=/\r\nSet-Cookie: b=2; HttpOnly\r\n") != NULL);
  CHECK(strstr(r.raw, "Injected") == NULL);
  spk_test_response_free(&r);
}

static void test_async(void) {
  spk_test_response_t r;
  get("GET", "/async", &r);
  CHECK_INT(r.status, 202);
  CHECK_STR(r.body, "later");
  spk_test_response_free(&r);
  get("GET", "/async-fast", &r);
  CHECK_INT(r.status, 200);
  CHECK_STR(r.body, "fast");
  spk_test_response_free(&r);
}

static void raw_status(const char *raw, int status) {
  spk_test_response_t r;
  CHECK_INT(spk_test_client_send_raw(tc_, raw, strlen(raw), &r), 0);
  CHECK_INT(r.status, status);
  if (r.status != status) fprintf(stderr, "  request was: %s\n", raw);
  CHECK_STR(spk_test_response_header(&r, "connection"), "close");
  spk_test_response_free(&r);
}

static void test_protocol_errors(void) {
  raw_status("GET /hello HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", 400);
  raw_status("POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd", 400);
  raw_status("GET /hello HTTP/1.1\r\nHost: x\r\nX: a\r\n b\r\n\r\n", 400);
  raw_status("GET /hello HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n", 501);
  raw_status("GARBAGE\r\n\r\n", 400);
  char big[9000];
  memset(big, 'a', sizeof(big));
  memcpy(big, "GET /", 5);
  strcpy(big + 8900, " HTTP/1.1\r\nHost: x\r\n\r\n");
  raw_status(big, 414);
}

static void test_limits(void) {
  spk_app_t *app = spk_app_new();
  spk_limits_t lim;
  spk_limits_default(&lim);
  lim.max_body_bytes = 8;
  lim.max_header_count = 4;
  CHECK_INT(spk_app_set_limits(app, &lim), 0);
  CHECK_INT(spk_app_route(app, "POST", "/echo", h_echo, NULL), 0);
  spk_test_client_t *tc = spk_test_client_new(app);
  CHECK_INT(spk_app_route(app, "GET", "/late", h_echo, NULL), SPK_EFROZEN);
  spk_test_request_t req = {.method = "POST", .target = "/echo", .body = "123456789", .body_len = 9};
  spk_test_response_t r;
  CHECK_INT(spk_test_client_send(tc, &req, &r), 0);
  CHECK_INT(r.status, 413);
  spk_test_response_free(&r);
  req.chunked = 1;
  CHECK_INT(spk_test_client_send(tc, &req, &r), 0);
  CHECK_INT(r.status, 413);
  spk_test_response_free(&r);
  const char many[] = "GET /echo HTTP/1.1\r\nHost: x\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
  CHECK_INT(spk_test_client_send_raw(tc, many, sizeof(many) - 1, &r), 0);
  CHECK_INT(r.status, 431);
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
}

/* JSON writer output, via a handler that exercises it. */
static int h_json(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  spk_json_writer_t *w = spk_res_json_begin(res);
  spk_json_array_open(w);
  spk_json_double(w, 3.141592653589793);
  spk_json_double(w, 0.1);
  spk_json_double(w, 1e300);
  spk_json_double(w, -0.0);
  spk_json_double(w, 1.0 / 0.0);
  spk_json_int(w, INT64_MIN);
  spk_json_string(w, "q\"\\\n\x01é");
  spk_json_bool(w, 1);
  spk_json_null(w);
  spk_json_object_open(w);
  CHECK_INT(spk_json_string(w, "value without key"), SPK_ESTATE); /* sticky from here */
  return spk_res_json_end(w) == SPK_ESTATE ? spk_res_send(res, 200, "text/plain", "ok", 2) : SPK_EIO;
}
static int h_json_ok(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  spk_json_writer_t *w = spk_res_json_begin(res);
  spk_json_array_open(w);
  spk_json_double(w, 3.141592653589793);
  spk_json_double(w, 0.1);
  spk_json_double(w, 1e300);
  spk_json_double(w, -0.0);
  spk_json_double(w, 1.0 / 0.0);
  spk_json_int(w, INT64_MIN);
  spk_json_string(w, "q\"\\\n\x01é");
  spk_json_object_open(w);
  spk_json_key(w, "k");
  spk_json_bool(w, 0);
  spk_json_object_close(w);
  spk_json_array_close(w);
  return spk_res_json_end(w);
}

static void test_json_writer(void) {
  spk_app_t *app = spk_app_new();
  spk_app_route(app, "GET", "/bad", h_json, NULL);
  spk_app_route(app, "GET", "/ok", h_json_ok, NULL);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  CHECK_INT(spk_test_client_get(tc, "GET", "/ok", &r), 0);
  CHECK_STR(r.body, "[3.141592653589793,0.1,1e+300,-0,null,-9223372036854775808,"
                    "\"q\\\"\\\\\\n\\u0001é\",{\"k\":false}]");
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_get(tc, "GET", "/bad", &r), 0);
  CHECK_STR(r.body, "ok");
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
}

static int h_header_ids(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  spk_str_t v;
  CHECK_INT(spk_req_header_id(req, SPK_HEADER_CONTENT_TYPE, 0, &v), 0);
  CHECK_MEM(v.ptr, v.len, "text/x");
  CHECK_INT(spk_req_header_id(req, SPK_HEADER_ACCEPT, 1, &v), 0);
  CHECK_MEM(v.ptr, v.len, "b");
  CHECK_INT(spk_req_header_id(req, SPK_HEADER_ACCEPT, 2, &v), SPK_ENOENT);
  CHECK_INT(spk_req_header_id(req, SPK_HEADER_UNKNOWN, 0, &v), SPK_EINVAL);
  CHECK_INT(spk_req_header_nth(req, "ACCEPT", 1, &v), 0); /* string lookup of a known name */
  CHECK_MEM(v.ptr, v.len, "b");
  CHECK_INT(spk_req_header(req, "x-custom", &v), 0);
  CHECK_MEM(v.ptr, v.len, "c");
  return spk_res_status(res, 204);
}

static void test_header_ids(void) {
  CHECK_INT(spk_header_lookup("Content-Type", 12), SPK_HEADER_CONTENT_TYPE);
  CHECK_INT(spk_header_lookup("X-REQUEST-ID", 12), SPK_HEADER_X_REQUEST_ID);
  CHECK_INT(spk_header_lookup("x-unknown", 9), SPK_HEADER_UNKNOWN);
  CHECK_INT(spk_header_lookup("content-typ", 11), SPK_HEADER_UNKNOWN);
  spk_app_t *app = spk_app_new();
  spk_app_route(app, "POST", "/h", h_header_ids, NULL);
  spk_test_client_t *tc = spk_test_client_new(app);
  const char raw[] = "POST /h HTTP/1.1\r\nHost: x\r\nAccept: a\r\ncontent-TYPE: text/x\r\n"
                     "X-Custom: c\r\naccept: b\r\nContent-Length: 0\r\n\r\n";
  spk_test_response_t r;
  CHECK_INT(spk_test_client_send_raw(tc, raw, sizeof(raw) - 1, &r), 0);
  CHECK_INT(r.status, 204);
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
}

static void test_errors_and_version(void) {
  CHECK_STR(spk_strerror(SPK_EINVAL), "invalid argument");
  CHECK_STR(spk_err_name(SPK_EFROZEN), "SPK_EFROZEN");
  CHECK_STR(spk_strerror(-9999), "unknown error");
  CHECK_STR(spk_version(), SPK_VERSION_STRING);
  CHECK_INT(spk_version_hex(), SPK_VERSION_HEX);
  CHECK_INT(spk_app_route(app_, "GET", "/x", h_text, "x"), SPK_EFROZEN);
}

/* The test client's response parser reads only `len` bytes: the buffer it gets (a 101 head
 * from the WebSocket client) is not NUL-terminated. Exact-size heap copies let ASan catch a read
 * past the end; malformed status lines are refused, not guessed. */
static void test_parse_response_bounds(void) {
  static const char head[] = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n";
  size_t n = sizeof(head) - 1;
  char *raw = malloc(n);
  memcpy(raw, head, n);
  spk_test_response_t r;
  memset(&r, 0, sizeof(r));
  CHECK_INT(spk__test_parse_response(raw, n, 0, &r), 1);
  CHECK_INT(r.status, 101);
  CHECK_STR(spk_test_response_header(&r, "upgrade"), "websocket");
  spk_test_response_free(&r);
  free(raw);
  static const char *const bad[] = {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/2.0 200 OK\r\n\r\n",
                                    "HTTP/1.1 abc OK\r\n\r\n", "HTTP/1.1 099 x\r\n\r\n"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    n = strlen(bad[i]);
    raw = malloc(n);
    memcpy(raw, bad[i], n);
    memset(&r, 0, sizeof(r));
    CHECK_INT(spk__test_parse_response(raw, n, 0, &r), 0);
    spk_test_response_free(&r);
    free(raw);
  }
}

int main(void) {
  RUN(test_parse_response_bounds);
  app_ = make_app();
  tc_ = spk_test_client_new(app_);
  RUN(test_basic_routes);
  RUN(test_not_found_and_methods);
  RUN(test_request_accessors);
  RUN(test_bodies);
  RUN(test_typed_params);
  RUN(test_handler_errors_and_headers);
  RUN(test_async);
  RUN(test_protocol_errors);
  RUN(test_limits);
  RUN(test_json_writer);
  RUN(test_header_ids);
  RUN(test_errors_and_version);
  spk_test_client_free(tc_);
  spk_app_free(app_);
  return test_report("core");
}
