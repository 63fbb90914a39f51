/* Request-id middleware: UUID v4 format and uniqueness (threads, fork), incoming-value
 * sanitizing, propagation/generation through the pipeline, configuration. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/mw.h"
#include "spikard.h"
#include "spikard/middleware.h"
#include "spikard/testclient.h"
#include "test.h"

static int is_uuid4(const char *s) {
  if (strlen(s) != 36) return 0;
  for (int i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return 0;
    } else if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f'))) {
      return 0;
    }
  }
  return s[14] == '4' && strchr("89ab", s[19]) != NULL;
}

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, 37); }

#define N_IDS 20000
static void test_uuid_format_and_uniqueness(void) {
  char(*ids)[37] = malloc(sizeof(*ids) * N_IDS);
  CHECK(ids != NULL);
  if (!ids) return;
  int bad = 0;
  for (int i = 0; i < N_IDS; i++) {
    CHECK_INT(spk__uuid4(ids[i]), SPK_OK);
    if (!is_uuid4(ids[i])) bad++;
  }
  CHECK_INT(bad, 0);
  qsort(ids, N_IDS, sizeof(*ids), cmp_id);
  int dup = 0;
  for (int i = 1; i < N_IDS; i++) dup += !memcmp(ids[i - 1], ids[i], 37);
  CHECK_INT(dup, 0);
  /* Every hex digit outside the fixed nibbles shows up: the bytes are not stuck. */
  int seen[16] = {0};
  for (int i = 0; i < 64; i++)
    for (int j = 0; j < 8; j++) seen[ids[i][j] <= '9' ? ids[i][j] - '0' : ids[i][j] - 'a' + 10]++;
  for (int d = 0; d < 16; d++) CHECK(seen[d] > 0);
  free(ids);
}

#define T_IDS 2000
static void *gen_thread(void *arg) {
  char(*out)[37] = arg;
  for (int i = 0; i < T_IDS; i++) spk__uuid4(out[i]);
  return NULL;
}

static void test_uuid_threads(void) {
  enum { NT = 4 };
  char(*ids)[37] = malloc(sizeof(*ids) * NT * T_IDS);
  CHECK(ids != NULL);
  if (!ids) return;
  pthread_t t[NT];
  for (int i = 0; i < NT; i++) pthread_create(&t[i], NULL, gen_thread, ids + i * T_IDS);
  for (int i = 0; i < NT; i++) pthread_join(t[i], NULL);
  qsort(ids, NT * T_IDS, sizeof(*ids), cmp_id);
  int dup = 0, bad = 0;
  for (int i = 0; i < NT * T_IDS; i++) {
    bad += !is_uuid4(ids[i]);
    if (i) dup += !memcmp(ids[i - 1], ids[i], 37);
  }
  CHECK_INT(bad, 0);
  CHECK_INT(dup, 0);
  free(ids);
}

/* A forked child must not replay the parent's buffered random bytes. */
static void test_uuid_fork(void) {
  char a[37], parent[37], child[37] = "";
  CHECK_INT(spk__uuid4(a), SPK_OK); /* the pool is now filled */
  int fds[2];
  CHECK_INT(pipe(fds), 0);
  pid_t pid = fork();
  if (pid == 0) {
    char id[37];
    spk__uuid4(id);
    ssize_t w = write(fds[1], id, 37);
    _exit(w == 37 ? 0 : 1);
  }
  CHECK(pid > 0);
  CHECK_INT(spk__uuid4(parent), SPK_OK);
  CHECK_INT(read(fds[0], child, 37), 37);
  int st = 0;
  waitpid(pid, &st, 0);
  close(fds[0]);
  close(fds[1]);
  CHECK(is_uuid4(child));
  CHECK(strcmp(parent, child) != 0);
}

static void test_sane(void) {
  CHECK(spk__reqid_sane("trace-123", 9));
  CHECK(spk__reqid_sane("a", 1));
  CHECK(spk__reqid_sane("~!@#$%^&*()_+{}|:\"<>?", 21));
  CHECK(!spk__reqid_sane("", 0));
  CHECK(!spk__reqid_sane("a b", 3));
  CHECK(!spk__reqid_sane("a\tb", 3));
  CHECK(!spk__reqid_sane("caf\xc3\xa9", 5));
  CHECK(!spk__reqid_sane("a\x7f", 2));
  char long_id[130];
  memset(long_id, 'x', sizeof(long_id));
  CHECK(spk__reqid_sane(long_id, 128));
  CHECK(!spk__reqid_sane(long_id, 129));
}

/* The handler answers with the id it sees. */
static int h_echo(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  spk_str_t id = spk_req_id(req);
  spk_res_send(res, 200, "text/plain", id.ptr, id.len);
  return SPK_HANDLER_DONE;
}

static spk_test_client_t *client_for(const char *config, spk_app_t **app_out) {
  spk_app_t *app = spk_app_new();
  if (config) CHECK_INT(spk_app_configure(app, config), SPK_OK);
  spk_route_options_t o = {0};
  o.middleware = "{\"body_limit\": {\"max_bytes\": 4}}";
  CHECK_INT(spk_app_route(app, "GET", "/id", h_echo, NULL), SPK_OK);
  CHECK_INT(spk_app_route_ex(app, "POST", "/small", h_echo, NULL, &o), SPK_OK);
  *app_out = app;
  return spk_test_client_new(app);
}

static void send_id(spk_test_client_t *tc, const char *hname, const char *value,
                    spk_test_response_t *r) {
  spk_test_header_t h = {hname, value};
  spk_test_request_t req = {.method = "GET", .target = "/id", .headers = &h,
                            .header_count = value ? 1 : 0};
  CHECK_INT(spk_test_client_send(tc, &req, r), 0);
}

static void test_pipeline(void) {
  spk_app_t *app;
  spk_test_client_t *tc = client_for("{\"request_id\": {\"enabled\": true}}", &app);
  spk_test_response_t r;
  /* propagated */
  send_id(tc, "X-Request-ID", "trace-123", &r);
  CHECK_STR(spk_test_response_header(&r, "x-request-id"), "trace-123");
  CHECK_MEM(r.body, r.body_len, "trace-123");
  spk_test_response_free(&r);
  /* generated, and the handler saw the same */
  send_id(tc, "X-Request-ID", NULL, &r);
  const char *g = spk_test_response_header(&r, "x-request-id");
  CHECK(g && is_uuid4(g));
  CHECK(g && r.body_len == 36 && !memcmp(r.body, g, 36));
  spk_test_response_free(&r);
  /* insane incoming values are replaced */
  const char *insane[] = {"has space", "caf\xc3\xa9", "",
                          ("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
                           "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx")};
  for (size_t i = 0; i < sizeof(insane) / sizeof(insane[0]); i++) {
    send_id(tc, "X-Request-ID", insane[i], &r);
    g = spk_test_response_header(&r, "x-request-id");
    CHECK(g && is_uuid4(g));
    spk_test_response_free(&r);
  }
  /* errors carry it: 404, 405, and a 413 answered before the pipeline ran */
  CHECK_INT(spk_test_client_get(tc, "GET", "/missing", &r), 0);
  CHECK_INT(r.status, 404);
  g = spk_test_response_header(&r, "x-request-id");
  CHECK(g && is_uuid4(g));
  spk_test_response_free(&r);
  static const char raw[] = "POST /small HTTP/1.1\r\nHost: x\r\nX-Request-ID: up-1\r\n"
                            "Content-Length: 100\r\n\r\n";
  CHECK_INT(spk_test_client_send_raw(tc, raw, sizeof(raw) - 1, &r), 0);
  CHECK_INT(r.status, 413);
  CHECK_STR(spk_test_response_header(&r, "x-request-id"), "up-1");
  spk_test_response_free(&r);
  static const char bad[] = "GET /id HTTP/1.1\r\nHost x\r\n\r\n";
  CHECK_INT(spk_test_client_send_raw(tc, bad, sizeof(bad) - 1, &r), 0);
  CHECK_INT(r.status, 400);
  g = spk_test_response_header(&r, "x-request-id");
  CHECK(g && is_uuid4(g));
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);

  /* off: no header, empty spk_req_id */
  tc = client_for(NULL, &app);
  send_id(tc, "X-Request-ID", "trace-123", &r);
  CHECK(spk_test_response_header(&r, "x-request-id") == NULL);
  CHECK_INT(r.body_len, 0);
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);

  /* custom header, trust_incoming false */
  tc = client_for("{\"request_id\": {\"header\": \"X-Trace\", \"trust_incoming\": false}}", &app);
  send_id(tc, "X-Trace", "abc", &r);
  g = spk_test_response_header(&r, "x-trace");
  CHECK(g && is_uuid4(g));
  CHECK(spk_test_response_header(&r, "x-request-id") == NULL);
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);

  /* custom (not well-known) header propagated; generate false → none when absent */
  tc = client_for("{\"request_id\": {\"header\": \"X-Corr\", \"generate\": false}}", &app);
  send_id(tc, "x-corr", "c-9", &r);
  CHECK_STR(spk_test_response_header(&r, "x-corr"), "c-9");
  spk_test_response_free(&r);
  send_id(tc, "x-corr", NULL, &r);
  CHECK(spk_test_response_header(&r, "x-corr") == NULL);
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
}

static void test_configure(void) {
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_configure(app, "{\"request_id\": true}"), SPK_EINVAL);
  CHECK_INT(spk_app_configure(app, "{\"request_id\": {\"header\": \"bad name\"}}"), SPK_EINVAL);
  CHECK_INT(spk_app_configure(app, "{\"request_id\": {\"header\": \"\"}}"), SPK_EINVAL);
  CHECK_INT(spk_app_configure(app, "{\"request_id\": {\"enabled\": 1}}"), SPK_EINVAL);
  CHECK_INT(spk_app_configure(app, "{\"request_id\": {\"prefix\": \"x\"}}"), SPK_EINVAL);
  CHECK(strstr(spk_app_last_error(app), "prefix") != NULL);
  CHECK_INT(spk_app_configure(app, "{\"request_id\": {}}"), SPK_OK);
  CHECK_INT(spk_app_configure(app, "{\"request_id\": {\"enabled\": false}}"), SPK_OK);
  spk_app_free(app);
}

int main(void) {
  RUN(test_uuid_format_and_uniqueness);
  RUN(test_uuid_threads);
  RUN(test_uuid_fork);
  RUN(test_sane);
  RUN(test_pipeline);
  RUN(test_configure);
  return test_report("mw_reqid");
}
