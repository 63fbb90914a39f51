/* Body limits: the route's limit applied by the connection before reading (Content-Length) and
 * while reading (chunked), replacing the app's limit in both directions. */
#include <string.h>

#include "core/app_internal.h"
#include "core/mw.h"
#include "spikard.h"
#include "spikard/middleware.h"
#include "spikard/testclient.h"
#include "test.h"

static int h_len(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  char n[32];
  int k = snprintf(n, sizeof(n), "%zu", spk_req_body(req).len);
  spk_res_send(res, 200, "text/plain", n, (size_t)k);
  return SPK_HANDLER_DONE;
}

#define ROUTE_DETAIL "The request body exceeds the maximum size allowed for this route"

static void test_limits(void) {
  spk_app_t *app = spk_app_new();
  spk_limits_t lim = *spk_app_limits(app);
  lim.max_body_bytes = 100;
  CHECK_INT(spk_app_set_limits(app, &lim), SPK_OK);
  spk_route_options_t small = {0}, big = {0}, capi = {0};
  small.middleware = "{\"body_limit\": {\"max_bytes\": 8}}";
  big.middleware = "{\"body_limit\": {\"max_bytes\": 1000}}";
  capi.max_body_bytes = 16; /* the C option, same effect */
  CHECK_INT(spk_app_route_ex(app, "POST", "/small", h_len, NULL, &small), SPK_OK);
  CHECK_INT(spk_app_route_ex(app, "POST", "/big", h_len, NULL, &big), SPK_OK);
  CHECK_INT(spk_app_route_ex(app, "POST", "/capi/{id}", h_len, NULL, &capi), SPK_OK);
  CHECK_INT(spk_app_route(app, "POST", "/plain", h_len, NULL), SPK_OK);
  spk_test_client_t *tc = spk_test_client_new(app);

  CHECK_INT(spk__route_body_limit(app, "POST", 4, "/small", 6), 8);
  CHECK_INT(spk__route_body_limit(app, "POST", 4, "/small/", 7), 8);
  CHECK_INT(spk__route_body_limit(app, "POST", 4, "/capi/7", 7), 16);
  CHECK_INT(spk__route_body_limit(app, "PUT", 3, "/small", 6), 0);
  CHECK_INT(spk__route_body_limit(app, "POST", 4, "/plain", 6), 0);
  CHECK_INT(spk__route_body_limit(app, "POST", 4, "/none", 5), 0);

  static char body[2000];
  memset(body, 'b', sizeof(body));
  struct {
    const char *path;
    size_t len;
    int chunked, status;
    const char *detail;
  } cases[] = {
      {"/small", 8, 0, 200, NULL},          {"/small", 9, 0, 413, ROUTE_DETAIL},
      {"/small", 8, 1, 200, NULL},          {"/small", 9, 1, 413, ROUTE_DETAIL},
      {"/big", 1000, 0, 200, NULL},         {"/big", 1000, 1, 200, NULL},
      {"/big", 1001, 0, 413, ROUTE_DETAIL}, {"/big", 1001, 1, 413, ROUTE_DETAIL},
      {"/capi/1", 17, 0, 413, ROUTE_DETAIL}, {"/plain", 100, 0, 200, NULL},
      {"/plain", 101, 0, 413, "The request body exceeds the maximum size allowed\""},
      {"/plain", 101, 1, 413, "The request body exceeds the maximum size allowed\""},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    spk_test_request_t req = {.method = "POST", .target = cases[i].path, .body = body,
                              .body_len = cases[i].len, .chunked = cases[i].chunked};
    spk_test_response_t r;
    CHECK_INT(spk_test_client_send(tc, &req, &r), 0);
    if (r.status != cases[i].status) {
      fprintf(stderr, "FAIL case %zu: status %d\n", i, r.status);
      test_failures_++;
    }
    if (cases[i].detail) {
      CHECK(strstr(r.body, cases[i].detail) != NULL);
      CHECK_STR(spk_test_response_header(&r, "connection"), "close");
    }
    spk_test_response_free(&r);
  }
  /* Decided from the head: no body bytes follow and the answer is there. */
  static const char head[] = "POST /small HTTP/1.1\r\nHost: x\r\nContent-Length: 9\r\n\r\n";
  spk_test_response_t r;
  CHECK_INT(spk_test_client_send_raw(tc, head, sizeof(head) - 1, &r), 0);
  CHECK_INT(r.status, 413);
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);

  app = spk_app_new();
  CHECK_INT(spk_app_configure(app, "{\"body_limit\": {\"max_bytes\": 0}}"), SPK_EINVAL);
  CHECK_INT(spk_app_configure(app, "{\"body_limit\": {\"max_bytes\": 1}}"), SPK_OK);
  CHECK_INT(spk_app_limits(app)->max_body_bytes, 1);
  spk_route_options_t zero = {0};
  zero.middleware = "{\"body_limit\": {\"max_bytes\": 0}}";
  CHECK_INT(spk_app_route_ex(app, "POST", "/z", h_len, NULL, &zero), SPK_EINVAL);
  spk_app_free(app);
}

int main(void) {
  RUN(test_limits);
  return test_report("mw_bodylimit");
}
