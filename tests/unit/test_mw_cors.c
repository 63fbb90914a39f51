/* CORS middleware: configuration, the preflight matrix, simple requests, Vary merging. */
#include <stdlib.h>
#include <string.h>

#include "spikard.h"
#include "spikard/middleware.h"
#include "spikard/testclient.h"
#include "test.h"

/* user_data: a Vary value the handler sets, or NULL. */
static int h_ok(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  if (ud) spk_res_header(res, "Vary", ud);
  spk_res_send(res, 200, "text/plain", "ok", 2);
  return SPK_HANDLER_DONE;
}

static int h_explicit(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  spk_res_send(res, 200, "text/plain", "explicit", 8);
  return SPK_HANDLER_DONE;
}

#define CORS_A                                                                                \
  "{\"cors\": {\"allowed_origins\": [\"https://a.example\"], \"allowed_methods\": [\"GET\", " \
  "\"POST\"], \"allowed_headers\": [\"Content-Type\", \"X-Req\"], \"expose_headers\": "       \
  "[\"X-Total\", \"X-Page\"], \"max_age\": 600}}"
#define CORS_CRED                                                                             \
  "{\"cors\": {\"allowed_origins\": [\"*\"], \"allowed_methods\": [\"*\"], "                   \
  "\"allowed_headers\": [\"*\"], \"allow_credentials\": true}}"

static spk_app_t *make_app(void) {
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_configure(app, "{\"cors\": {\"allowed_origins\": [\"*\"], "
                                   "\"allowed_methods\": [\"GET\"]}}"),
            SPK_OK);
  spk_route_options_t a = {0}, cred = {0};
  a.middleware = CORS_A;
  cred.middleware = CORS_CRED;
  CHECK_INT(spk_app_route_ex(app, "POST", "/api/items", h_ok, NULL, &a), SPK_OK);
  CHECK_INT(spk_app_route(app, "GET", "/api/items", h_ok, NULL), SPK_OK);
  CHECK_INT(spk_app_route(app, "PUT", "/other", h_ok, NULL), SPK_OK);
  CHECK_INT(spk_app_route_ex(app, "GET", "/cred", h_ok, NULL, &cred), SPK_OK);
  CHECK_INT(spk_app_route_ex(app, "GET", "/explicit", h_ok, NULL, &a), SPK_OK);
  CHECK_INT(spk_app_route_ex(app, "OPTIONS", "/explicit", h_explicit, NULL, &a), SPK_OK);
  CHECK_INT(spk_app_route_ex(app, "POST", "/vary/ae", h_ok, "Accept-Encoding", &a), SPK_OK);
  CHECK_INT(spk_app_route_ex(app, "POST", "/vary/star", h_ok, "*", &a), SPK_OK);
  CHECK_INT(spk_app_route_ex(app, "POST", "/vary/lower", h_ok, "accept, origin", &a), SPK_OK);
  return app;
}

/* Expected header values: NULL = not checked, "-" = must be absent. */
typedef struct pf_case {
  const char *method, *path, *origin, *acrm, *acrh;
  int status;
  const char *acao, *acam, *acah, *max_age, *cred, *vary, *expose, *body;
} pf_case_t;

static const char *const DENY_EVIL = "{\"detail\":\"CORS request from origin 'https://evil.example' not allowed\"}";

static const pf_case_t cases[] = {
    /* preflights answered by the route's config */
    {"OPTIONS", "/api/items", "https://a.example", "POST", "Content-Type", 204,
     "https://a.example", "GET, POST", "Content-Type, X-Req", "600", "-", "Origin", "-", ""},
    {"OPTIONS", "/api/items", "https://a.example", "post", "Content-Type", 204,
     "https://a.example", "GET, POST", NULL, NULL, NULL, NULL, NULL, NULL},
    {"OPTIONS", "/api/items", "https://a.example", "POST", "content-type, x-req", 204,
     "https://a.example", NULL, NULL, NULL, NULL, NULL, NULL, NULL},
    {"OPTIONS", "/api/items", "https://a.example", "POST", NULL, 204, "https://a.example",
     NULL, NULL, NULL, NULL, NULL, NULL, NULL},
    {"OPTIONS", "/api/items", "https://a.example", "POST", "", 204, NULL, NULL, NULL, NULL,
     NULL, NULL, NULL, NULL},
    {"OPTIONS", "/api/items", "https://a.example", "POST", " , Content-Type ,,", 204, NULL,
     NULL, NULL, NULL, NULL, NULL, NULL, NULL},
    {"OPTIONS", "/api/items/", "https://a.example", "POST", "Content-Type", 204,
     "https://a.example", NULL, NULL, NULL, NULL, NULL, NULL, NULL},
    /* refusals */
    {"OPTIONS", "/api/items", "https://a.example", "POST", "Content-Type, X-Evil", 403, "-",
     "-", "-", "-", "-", NULL, NULL, ""},
    {"OPTIONS", "/api/items", "https://a.example", "DELETE", NULL, 403, "-", "-", NULL, NULL,
     NULL, NULL, NULL, ""},
    {"OPTIONS", "/api/items", "https://A.example", "POST", NULL, 403, "-", NULL, NULL, NULL,
     NULL, NULL, NULL,
     "{\"detail\":\"CORS request from origin 'https://A.example' not allowed\"}"},
    {"OPTIONS", "/api/items", "https://evil.example", "POST", NULL, 403, "-", "-", NULL, NULL,
     NULL, NULL, NULL, NULL},
    {"OPTIONS", "/api/items", "null", "POST", NULL, 403, "-", NULL, NULL, NULL, NULL, NULL, NULL,
     "{\"detail\":\"CORS request from origin 'null' not allowed\"}"},
    {"OPTIONS", "/api/items", "https://\"q\\", "POST", NULL, 403, "-", NULL, NULL, NULL, NULL,
     NULL, NULL, "{\"detail\":\"CORS request from origin 'https://\\\"q\\\\' not allowed\"}"},
    /* not preflights: the router's automatic OPTIONS answer, no CORS headers */
    {"OPTIONS", "/api/items", NULL, "POST", NULL, 204, "-", "-", NULL, NULL, NULL, NULL, NULL,
     NULL},
    {"OPTIONS", "/api/items", "https://a.example", NULL, NULL, 204, "-", "-", NULL, NULL, NULL,
     NULL, NULL, NULL},
    /* a route without CORS for the requested method: the app's config decides */
    {"OPTIONS", "/api/items", "https://z.example", "GET", NULL, 204, "https://z.example", "GET",
     "-", "-", NULL, NULL, NULL, NULL},
    {"OPTIONS", "/other", "https://z.example", "PUT", NULL, 403, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, ""},
    {"OPTIONS", "/other", "https://z.example", "GET", NULL, 204, "https://z.example", "GET", "-",
     NULL, NULL, NULL, NULL, NULL},
    {"OPTIONS", "/other", "https://z.example", "GET", "X-A", 403, NULL, NULL, NULL, NULL, NULL,
     NULL, NULL, ""},
    {"OPTIONS", "/nowhere", "https://z.example", "GET", NULL, 204, "https://z.example", NULL,
     NULL, NULL, NULL, NULL, NULL, NULL},
    /* credentials + wildcards: the request is echoed, never `*` */
    {"OPTIONS", "/cred", "https://c.example", "PATCH", "X-Anything, Y", 204, "https://c.example",
     "PATCH", "X-Anything, Y", "-", "true", "Origin", NULL, NULL},
    /* an explicit OPTIONS route answers itself (CORS headers added as for any request) */
    {"OPTIONS", "/explicit", "https://a.example", "GET", NULL, 200, "https://a.example", "-",
     NULL, NULL, NULL, NULL, NULL, "explicit"},
    /* simple / actual requests */
    {"GET", "/api/items", "https://z.example", NULL, NULL, 200, "*", NULL, NULL, NULL, "-", "-",
     "-", "ok"},
    {"POST", "/api/items", "https://a.example", NULL, NULL, 200, "https://a.example", "-", "-",
     "-", "-", "Origin", "X-Total, X-Page", "ok"},
    {"POST", "/api/items", "https://evil.example", NULL, NULL, 403, "-", NULL, NULL, NULL, NULL,
     NULL, "-", NULL},
    {"POST", "/api/items", NULL, NULL, NULL, 200, "-", NULL, NULL, NULL, "-", "-", "-", "ok"},
    {"GET", "/cred", "https://c.example", NULL, NULL, 200, "https://c.example", NULL, NULL, NULL,
     "true", "Origin", NULL, "ok"},
    {"GET", "/cred", NULL, NULL, NULL, 200, "-", NULL, NULL, NULL, "-", "-", NULL, "ok"},
    {"POST", "/vary/ae", "https://a.example", NULL, NULL, 200, "https://a.example", NULL, NULL,
     NULL, NULL, "Accept-Encoding, Origin", NULL, NULL},
    {"POST", "/vary/star", "https://a.example", NULL, NULL, 200, "https://a.example", NULL, NULL,
     NULL, NULL, "*", NULL, NULL},
    {"POST", "/vary/lower", "https://a.example", NULL, NULL, 200, NULL, NULL, NULL, NULL, NULL,
     "accept, origin", NULL, NULL},
    /* 404 on a path without route still refuses a bad origin? No: no route, app `*` allows. */
    {"GET", "/nowhere", "https://z.example", NULL, NULL, 404, "-", NULL, NULL, NULL, NULL, NULL,
     NULL, NULL},
};

static void expect_header(const spk_test_response_t *r, const char *name, const char *want,
                          size_t i) {
  if (!want) return;
  const char *got = spk_test_response_header(r, name);
  test_checks_++;
  int ok = !strcmp(want, "-") ? got == NULL : (got && !strcmp(got, want));
  if (!ok) {
    test_failures_++;
    fprintf(stderr, "FAIL case %zu: %s = \"%s\", expected \"%s\"\n", i, name,
            got ? got : "(absent)", want);
  }
}

static void test_matrix(void) {
  spk_app_t *app = make_app();
  spk_test_client_t *tc = spk_test_client_new(app);
  CHECK(tc != NULL);
  CHECK(sizeof(cases) / sizeof(cases[0]) >= 20);
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    const pf_case_t *c = &cases[i];
    spk_test_header_t h[3];
    size_t n = 0;
    if (c->origin) h[n++] = (spk_test_header_t){"Origin", c->origin};
    if (c->acrm) h[n++] = (spk_test_header_t){"Access-Control-Request-Method", c->acrm};
    if (c->acrh) h[n++] = (spk_test_header_t){"Access-Control-Request-Headers", c->acrh};
    spk_test_request_t req = {.method = c->method, .target = c->path, .headers = h,
                              .header_count = n};
    spk_test_response_t r;
    CHECK_INT(spk_test_client_send(tc, &req, &r), 0);
    if (r.status != c->status) {
      fprintf(stderr, "FAIL case %zu (%s %s): status %d, expected %d\n", i, c->method, c->path,
              r.status, c->status);
      test_failures_++;
    }
    expect_header(&r, "access-control-allow-origin", c->acao, i);
    expect_header(&r, "access-control-allow-methods", c->acam, i);
    expect_header(&r, "access-control-allow-headers", c->acah, i);
    expect_header(&r, "access-control-max-age", c->max_age, i);
    expect_header(&r, "access-control-allow-credentials", c->cred, i);
    expect_header(&r, "vary", c->vary, i);
    expect_header(&r, "access-control-expose-headers", c->expose, i);
    if (c->body && (r.body_len != strlen(c->body) || memcmp(r.body, c->body, r.body_len))) {
      fprintf(stderr, "FAIL case %zu: body %s, expected %s\n", i, r.body, c->body);
      test_failures_++;
    }
    spk_test_response_free(&r);
  }
  /* The 403 for a disallowed origin is JSON. */
  spk_test_header_t h = {"Origin", "https://evil.example"};
  spk_test_request_t req = {.method = "POST", .target = "/api/items", .headers = &h,
                            .header_count = 1};
  spk_test_response_t r;
  CHECK_INT(spk_test_client_send(tc, &req, &r), 0);
  CHECK_MEM(r.body, r.body_len, DENY_EVIL);
  CHECK_STR(spk_test_response_header(&r, "content-type"), "application/json");
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
}

static void test_configure(void) {
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_configure(app, "{\"cors\": {}}"), SPK_EINVAL);
  CHECK(strstr(spk_app_last_error(app), "allowed_origins") != NULL);
  CHECK_INT(spk_app_configure(app, "{\"cors\": {\"allowed_origins\": \"*\"}}"), SPK_EINVAL);
  CHECK_INT(spk_app_configure(app, "{\"cors\": {\"allowed_origins\": [\"*\"], "
                                   "\"allowed_methods\": [\"GE T\"]}}"),
            SPK_EINVAL);
  CHECK_INT(spk_app_configure(app, "{\"cors\": {\"allowed_origins\": [\"a b\"]}}"), SPK_EINVAL);
  CHECK_INT(spk_app_configure(app, "{\"cors\": {\"allowed_origins\": [\"*\"], \"max_age\": -1}}"),
            SPK_EINVAL);
  CHECK_INT(spk_app_configure(app, "{\"cors\": {\"allowed_origins\": [\"*\"], \"colour\": 1}}"),
            SPK_EINVAL);
  CHECK(strstr(spk_app_last_error(app), "colour") != NULL);
  CHECK_INT(spk_app_configure(app, "{\"cors\": {\"allowed_origins\": [\"*\"], "
                                   "\"allow_credentials\": \"yes\"}}"),
            SPK_EINVAL);
  CHECK_INT(spk_app_configure(app, "{\"cors\": {\"allowed_origins\": []}}"), SPK_OK);
  /* enabled: false → off: no 403, no headers */
  CHECK_INT(spk_app_configure(app, "{\"cors\": {\"enabled\": false, \"allowed_origins\": []}}"),
            SPK_OK);
  CHECK_INT(spk_app_route(app, "GET", "/x", h_ok, NULL), SPK_OK);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_header_t h = {"Origin", "https://evil.example"};
  spk_test_request_t req = {.method = "GET", .target = "/x", .headers = &h, .header_count = 1};
  spk_test_response_t r;
  CHECK_INT(spk_test_client_send(tc, &req, &r), 0);
  CHECK_INT(r.status, 200);
  CHECK(spk_test_response_header(&r, "access-control-allow-origin") == NULL);
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);

  /* An empty origin list refuses every Origin. */
  app = spk_app_new();
  CHECK_INT(spk_app_configure(app, "{\"cors\": {\"allowed_origins\": []}}"), SPK_OK);
  CHECK_INT(spk_app_route(app, "GET", "/x", h_ok, NULL), SPK_OK);
  tc = spk_test_client_new(app);
  CHECK_INT(spk_test_client_send(tc, &req, &r), 0);
  CHECK_INT(r.status, 403);
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);

  /* A route's section is checked at registration. */
  app = spk_app_new();
  spk_route_options_t o = {0};
  o.middleware = "{\"cors\": {\"allowed_origins\": [1]}}";
  CHECK_INT(spk_app_route_ex(app, "GET", "/x", h_ok, NULL, &o), SPK_EINVAL);
  spk_app_free(app);
}

/* Errors after the origin was admitted still carry the CORS headers (a browser must be able to
 * read a 404/422 body). */
static void test_headers_on_errors(void) {
  spk_app_t *app = spk_app_new();
  spk_route_options_t o = {0};
  o.middleware = CORS_A;
  o.parameters = "{\"query\": {\"n\": {\"type\": \"integer\"}}}";
  CHECK_INT(spk_app_route_ex(app, "GET", "/q", h_ok, NULL, &o), SPK_OK);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_header_t h = {"Origin", "https://a.example"};
  spk_test_request_t req = {.method = "GET", .target = "/q?n=x", .headers = &h,
                            .header_count = 1};
  spk_test_response_t r;
  CHECK_INT(spk_test_client_send(tc, &req, &r), 0);
  CHECK_INT(r.status, 422);
  CHECK_STR(spk_test_response_header(&r, "access-control-allow-origin"), "https://a.example");
  CHECK_STR(spk_test_response_header(&r, "vary"), "Origin");
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
}

/* A 413 answered from Content-Length, before the pipeline runs, still carries the CORS headers
 * of the route (or the app) for an allowed origin, and none for another origin. */
static void test_headers_on_early_413(void) {
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_configure(app, "{\"body_limit\": {\"max_bytes\": 8}, \"cors\": "
                                   "{\"allowed_origins\": [\"https://app.example\"]}}"),
            SPK_OK);
  spk_route_options_t o = {0};
  o.middleware = CORS_A;
  CHECK_INT(spk_app_route_ex(app, "POST", "/route", h_ok, NULL, &o), SPK_OK);
  CHECK_INT(spk_app_route(app, "POST", "/app", h_ok, NULL), SPK_OK);
  spk_test_client_t *tc = spk_test_client_new(app);
  static const struct {
    const char *target, *origin, *acao;
  } early[] = {{"/route", "https://a.example", "https://a.example"},
               {"/app", "https://app.example", "https://app.example"},
               {"/route", "https://app.example", NULL}, /* the route's config decides */
               {"/nowhere", "https://app.example", "https://app.example"}};
  for (size_t i = 0; i < sizeof(early) / sizeof(early[0]); i++) {
    spk_test_header_t h = {"Origin", early[i].origin};
    spk_test_request_t req = {.method = "POST", .target = early[i].target, .headers = &h,
                              .header_count = 1, .body = "0123456789abcdef", .body_len = 16};
    spk_test_response_t r;
    CHECK_INT(spk_test_client_send(tc, &req, &r), 0);
    CHECK_INT(r.status, 413);
    const char *acao = spk_test_response_header(&r, "access-control-allow-origin");
    if (early[i].acao)
      CHECK_STR(acao, early[i].acao);
    else
      CHECK(acao == NULL);
    spk_test_response_free(&r);
  }
  spk_test_client_free(tc);
  spk_app_free(app);
}

int main(void) {
  RUN(test_matrix);
  RUN(test_configure);
  RUN(test_headers_on_errors);
  RUN(test_headers_on_early_413);
  return test_report("mw_cors");
}
