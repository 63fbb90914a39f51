/* Lifecycle hooks, dependency injection and request timeouts, through the in-memory client
 * (the same pipeline the server runs). */
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

#include <spikard.h>

#include "test.h"

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* A trace of what ran, shared by the hooks and handlers of one test (single-threaded use). */
typedef struct trace {
  char log[512];
} trace_t;

static void note(trace_t *t, const char *what) {
  size_t n = strlen(t->log);
  snprintf(t->log + n, sizeof(t->log) - n, "%s%s", n ? "," : "", what);
}

typedef struct hook_ctx {
  trace_t *trace;
  const char *name;
  int result; /* what the hook returns */
  int status; /* for RESPOND */
} hook_ctx_t;

static int hook(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  hook_ctx_t *h = ud;
  note(h->trace, h->name);
  if (h->result == SPK_HOOK_RESPOND)
    spk_res_send(res, h->status, "application/json", "{\"error\":\"hook\"}", 16);
  return h->result;
}

static int add_header_hook(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  hook_ctx_t *h = ud;
  note(h->trace, h->name);
  spk_res_header(res, "X-Hook", h->name);
  return SPK_HOOK_CONTINUE;
}

static int h_ok(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  note(ud, "handler");
  return spk_res_send(res, 200, "text/plain", "ok", 2);
}

static int h_fail(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)res;
  note(ud, "handler");
  return SPK_EIO;
}

static void test_hook_order_and_phases(void) {
  trace_t t = {{0}};
  spk_app_t *app = spk_app_new();
  hook_ctx_t a = {&t, "req1", SPK_HOOK_CONTINUE, 0}, b = {&t, "req2", SPK_HOOK_CONTINUE, 0},
             c = {&t, "preval", SPK_HOOK_CONTINUE, 0}, d = {&t, "prehandler", SPK_HOOK_CONTINUE, 0},
             e = {&t, "onresponse", 0, 0}, f = {&t, "onerror", 0, 0};
  CHECK_INT(spk_app_add_hook(app, SPK_HOOK_ON_REQUEST, hook, &a), 0);
  CHECK_INT(spk_app_add_hook(app, SPK_HOOK_ON_REQUEST, hook, &b), 0);
  CHECK_INT(spk_app_add_hook(app, SPK_HOOK_PRE_VALIDATION, hook, &c), 0);
  CHECK_INT(spk_app_add_hook(app, SPK_HOOK_PRE_HANDLER, hook, &d), 0);
  CHECK_INT(spk_app_add_hook(app, SPK_HOOK_ON_RESPONSE, add_header_hook, &e), 0);
  CHECK_INT(spk_app_add_hook(app, SPK_HOOK_ON_ERROR, add_header_hook, &f), 0);
  CHECK_INT(spk_app_add_hook(app, (spk_hook_phase_t)7, hook, &a), SPK_EINVAL);
  spk_route_options_t o = {0};
  o.parameters = "{\"query\":{\"n\":{\"type\":\"integer\"}}}";
  spk_app_route_ex(app, "GET", "/x", h_ok, &t, &o);
  spk_test_client_t *tc = spk_test_client_new(app);
  CHECK_INT(spk_app_add_hook(app, SPK_HOOK_ON_REQUEST, hook, &a), SPK_EFROZEN);
  spk_test_response_t r;

  CHECK_INT(spk_test_client_get(tc, "GET", "/x?n=1", &r), 0);
  CHECK_INT(r.status, 200);
  CHECK_STR(t.log, "req1,req2,preval,prehandler,handler,onresponse");
  CHECK_STR(spk_test_response_header(&r, "x-hook"), "onresponse");
  spk_test_response_free(&r);

  /* Validation fails between pre_validation and pre_handler; the 422 goes to on_error. */
  t.log[0] = '\0';
  CHECK_INT(spk_test_client_get(tc, "GET", "/x?n=abc", &r), 0);
  CHECK_INT(r.status, 422);
  CHECK_STR(t.log, "req1,req2,preval,onerror");
  CHECK_STR(spk_test_response_header(&r, "x-hook"), "onerror");
  spk_test_response_free(&r);

  /* 404: on_request runs (before routing), then on_error. */
  t.log[0] = '\0';
  CHECK_INT(spk_test_client_get(tc, "GET", "/nope", &r), 0);
  CHECK_INT(r.status, 404);
  CHECK_STR(t.log, "req1,req2,onerror");
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
}

static void test_hook_short_circuit_and_failure(void) {
  trace_t t = {{0}};
  spk_app_t *app = spk_app_new();
  hook_ctx_t a = {&t, "auth", SPK_HOOK_RESPOND, 401}, e = {&t, "onresponse", 0, 0},
             f = {&t, "onerror", 0, 0};
  spk_app_add_hook(app, SPK_HOOK_PRE_HANDLER, hook, &a);
  spk_app_add_hook(app, SPK_HOOK_ON_RESPONSE, add_header_hook, &e);
  spk_app_add_hook(app, SPK_HOOK_ON_ERROR, add_header_hook, &f);
  spk_app_route(app, "GET", "/x", h_ok, &t);
  spk_app_route(app, "GET", "/fail", h_fail, &t);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  CHECK_INT(spk_test_client_get(tc, "GET", "/x", &r), 0);
  CHECK_INT(r.status, 401);
  CHECK_STR(r.body, "{\"error\":\"hook\"}");
  CHECK_STR(t.log, "auth"); /* no handler, no response hooks after a short-circuit */
  CHECK(spk_test_response_header(&r, "x-hook") == NULL);
  spk_test_response_free(&r);

  a.result = SPK_HOOK_CONTINUE;
  t.log[0] = '\0';
  CHECK_INT(spk_test_client_get(tc, "GET", "/fail", &r), 0);
  CHECK_INT(r.status, 500);
  CHECK_STR(t.log, "auth,handler,onerror");
  spk_test_response_free(&r);

  /* A failing request hook: 500 {"error":"preHandler hook failed: …"}, then on_error. */
  a.result = SPK_EIO;
  t.log[0] = '\0';
  CHECK_INT(spk_test_client_get(tc, "GET", "/x", &r), 0);
  CHECK_INT(r.status, 500);
  CHECK(strstr(r.body, "\"error\":\"preHandler hook failed: i/o error\"") != NULL);
  CHECK_STR(t.log, "auth,onerror");
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
}

/* An async hook that continues from another thread after a delay. */
static void *continue_later(void *arg) {
  sleep_ms(20);
  spk_req_continue(arg);
  return NULL;
}

static int async_hook(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)res;
  note(ud, "async");
  pthread_t th;
  pthread_create(&th, NULL, continue_later, req);
  pthread_detach(th);
  return SPK_HOOK_ASYNC;
}

static int sync_continue_hook(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)res;
  note(ud, "early");
  CHECK_INT(spk_req_continue(req), 0); /* before returning ASYNC: the pipeline just goes on */
  return SPK_HOOK_ASYNC;
}

static void test_async_hooks(void) {
  trace_t t = {{0}};
  spk_app_t *app = spk_app_new();
  spk_app_add_hook(app, SPK_HOOK_ON_REQUEST, async_hook, &t);
  spk_app_add_hook(app, SPK_HOOK_PRE_HANDLER, sync_continue_hook, &t);
  spk_app_add_hook(app, SPK_HOOK_PRE_HANDLER, async_hook, &t);
  spk_app_route(app, "GET", "/x", h_ok, &t);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  CHECK_INT(spk_test_client_get(tc, "GET", "/x", &r), 0);
  CHECK_INT(r.status, 200);
  CHECK_STR(t.log, "async,early,async,handler");
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
}

/* Response-phase hooks may suspend too: the thread that continues edits the response first. */
typedef struct resp_later {
  spk_req_t *req;
  spk_res_t *res;
  int delay_ms;
} resp_later_t;

static void *edit_then_continue(void *arg) {
  resp_later_t *l = arg;
  sleep_ms(l->delay_ms);
  spk_res_set_header(l->res, "X-Async-Hook", "done");
  spk_req_continue(l->req);
  free(l);
  return NULL;
}

static int async_response_hook(spk_req_t *req, spk_res_t *res, void *ud) {
  note(ud, "async-resp");
  resp_later_t *l = malloc(sizeof(*l));
  *l = (resp_later_t){req, res, 20};
  pthread_t th;
  pthread_create(&th, NULL, edit_then_continue, l);
  pthread_detach(th);
  return SPK_HOOK_ASYNC;
}

static int never_continue_hook(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  resp_later_t *l = malloc(sizeof(*l));
  *l = (resp_later_t){req, res, 300}; /* long after the request timeout */
  pthread_t th;
  pthread_create(&th, NULL, edit_then_continue, l);
  pthread_detach(th);
  return SPK_HOOK_ASYNC;
}

static void test_async_response_hooks(void) {
  trace_t t = {{0}};
  hook_ctx_t after = {&t, "after", 0, 0};
  spk_app_t *app = spk_app_new();
  spk_app_add_hook(app, SPK_HOOK_ON_RESPONSE, async_response_hook, &t);
  spk_app_add_hook(app, SPK_HOOK_ON_RESPONSE, sync_continue_hook, &t);
  spk_app_add_hook(app, SPK_HOOK_ON_RESPONSE, add_header_hook, &after);
  spk_app_add_hook(app, SPK_HOOK_ON_ERROR, async_response_hook, &t);
  spk_app_route(app, "GET", "/x", h_ok, &t);
  spk_app_route(app, "GET", "/fail", h_fail, &t);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  CHECK_INT(spk_test_client_get(tc, "GET", "/x", &r), 0);
  CHECK_INT(r.status, 200);
  CHECK_STR(r.body, "ok");
  CHECK_STR(spk_test_response_header(&r, "x-async-hook"), "done");
  CHECK_STR(spk_test_response_header(&r, "x-hook"), "after");
  CHECK_STR(t.log, "handler,async-resp,early,after");
  spk_test_response_free(&r);
  /* on_error, for a failed handler and for a 404 the core produced. */
  t.log[0] = '\0';
  CHECK_INT(spk_test_client_get(tc, "GET", "/fail", &r), 0);
  CHECK_INT(r.status, 500);
  CHECK_STR(spk_test_response_header(&r, "x-async-hook"), "done");
  CHECK_STR(t.log, "handler,async-resp");
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_get(tc, "GET", "/nowhere", &r), 0);
  CHECK_INT(r.status, 404);
  CHECK_STR(spk_test_response_header(&r, "x-async-hook"), "done");
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);

  /* A response hook outliving the request timeout: 408, and its late continue frees the
   * exchange (no leak, no use after free under ASan). */
  app = spk_app_new();
  CHECK_INT(spk_app_configure(app, "{\"request_timeout\":{\"seconds\":0.05}}"), 0);
  spk_app_add_hook(app, SPK_HOOK_ON_RESPONSE, never_continue_hook, NULL);
  spk_app_route(app, "GET", "/x", h_ok, &t);
  tc = spk_test_client_new(app);
  CHECK_INT(spk_test_client_get(tc, "GET", "/x", &r), 0);
  CHECK_INT(r.status, 408);
  spk_test_response_free(&r);
  sleep_ms(500);
  spk_test_client_free(tc);
  spk_app_free(app);
}

/* ---- dependency injection ---- */

typedef struct dep_state {
  trace_t *trace;
  int created;
  int async;
  int fail;
} dep_state_t;

static void drop_value(void *value, void *drop_data) {
  note(drop_data, value);
}

typedef struct async_resolve {
  spk_dep_t *dep;
  void *value;
} async_resolve_t;

static void *resolve_later(void *arg) {
  async_resolve_t *a = arg;
  sleep_ms(10);
  spk_dep_resolve(a->dep, a->value);
  free(a);
  return NULL;
}

/* Factories resolve with their own name (a static string): the trace shows the order. */
static int factory(spk_req_t *req, spk_dep_t *dep, void *ud) {
  dep_state_t *s = ud;
  const char *name = spk_dep_name(dep);
  s->created++;
  note(s->trace, name);
  if (s->fail) return SPK_EIO;
  /* Its dependencies are resolved already. */
  void *v;
  if (strcmp(name, "service") == 0) CHECK_INT(spk_req_dep(req, "db", &v), 0);
  if (s->async) {
    async_resolve_t *a = malloc(sizeof(*a));
    a->dep = dep;
    a->value = (void *)name;
    pthread_t th;
    pthread_create(&th, NULL, resolve_later, a);
    pthread_detach(th);
    return SPK_DEP_ASYNC;
  }
  return spk_dep_resolve(dep, (void *)name);
}

static int h_deps(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  void *svc = NULL, *cfg = NULL;
  CHECK_INT(spk_req_dep(req, "service", &svc), 0);
  CHECK_INT(spk_req_dep(req, "config", &cfg), 0);
  CHECK_INT(spk_req_dep(req, "unknown", &svc), SPK_ENOENT);
  char body[64];
  int n = snprintf(body, sizeof(body), "%s", cfg ? (const char *)cfg : "?");
  return spk_res_send(res, 200, "text/plain", body, (size_t)n);
}

static void run_graph(int async) {
  trace_t t = {{0}};
  dep_state_t s = {&t, 0, async, 0};
  spk_app_t *app = spk_app_new();
  const char *const db_deps[] = {"config", NULL};
  const char *const svc_deps[] = {"db", "cache", NULL};
  spk_dep_def_t config = {.name = "config", .value = "cfg"};
  spk_dep_def_t db = {.name = "db", .factory = factory, .user_data = &s, .depends_on = db_deps,
                      .drop = drop_value, .drop_data = &t};
  spk_dep_def_t cache = {.name = "cache", .factory = factory, .user_data = &s,
                         .depends_on = db_deps, .drop = drop_value, .drop_data = &t};
  spk_dep_def_t svc = {.name = "service", .factory = factory, .user_data = &s,
                       .depends_on = svc_deps, .drop = drop_value, .drop_data = &t};
  CHECK_INT(spk_app_provide(app, &config), 0);
  CHECK_INT(spk_app_provide(app, &db), 0);
  CHECK_INT(spk_app_provide(app, &cache), 0);
  CHECK_INT(spk_app_provide(app, &svc), 0);
  const char *const names[] = {"service", "config", NULL};
  spk_route_options_t o = {0};
  o.dependencies = names;
  CHECK_INT(spk_app_route_ex(app, "GET", "/x", h_deps, NULL, &o), 0);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  CHECK_INT(spk_test_client_get(tc, "GET", "/x", &r), 0);
  CHECK_INT(r.status, 200);
  CHECK_STR(r.body, "cfg");
  /* Batches: config → {db, cache} → service; cleanup in reverse resolution order after the
   * response. */
  CHECK_STR(t.log, "db,cache,service,service,cache,db");
  CHECK_INT(s.created, 3);
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
}

static void test_di_graph_sync(void) { run_graph(0); }
static void test_di_graph_async(void) { run_graph(1); }

static int h_counter(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  void *a = NULL, *b = NULL;
  spk_req_dep(req, "single", &a);
  spk_req_dep(req, "per_request", &b);
  return spk_res_send(res, 200, "text/plain", a && b ? "ok" : "missing", a && b ? 2 : 7);
}

static void test_di_scopes(void) {
  trace_t t = {{0}};
  dep_state_t single = {&t, 0, 0, 0}, per = {&t, 0, 0, 0};
  spk_app_t *app = spk_app_new();
  spk_dep_def_t d1 = {.name = "single", .factory = factory, .user_data = &single,
                      .scope = SPK_DEP_SINGLETON};
  const char *const needs_single[] = {"single", NULL};
  spk_dep_def_t d2 = {.name = "per_request", .factory = factory, .user_data = &per,
                      .depends_on = needs_single, .scope = SPK_DEP_REQUEST};
  spk_app_provide(app, &d1);
  spk_app_provide(app, &d2);
  const char *const names[] = {"per_request", "single", NULL};
  spk_route_options_t o = {0};
  o.dependencies = names;
  spk_app_route_ex(app, "GET", "/x", h_counter, NULL, &o);
  spk_test_client_t *tc = spk_test_client_new(app);
  for (int i = 0; i < 3; i++) {
    spk_test_response_t r;
    CHECK_INT(spk_test_client_get(tc, "GET", "/x", &r), 0);
    CHECK_STR(r.body, "ok");
    spk_test_response_free(&r);
  }
  CHECK_INT(single.created, 1); /* once per app */
  CHECK_INT(per.created, 3);    /* once per request, shared by its users */
  spk_test_client_free(tc);
  spk_app_free(app);
}

static void test_di_errors(void) {
  trace_t t = {{0}};
  dep_state_t s = {&t, 0, 0, 1};
  spk_app_t *app = spk_app_new();
  const char *const a_deps[] = {"b", NULL}, *const b_deps[] = {"a", NULL};
  spk_dep_def_t a = {.name = "a", .factory = factory, .user_data = &s, .depends_on = a_deps};
  spk_dep_def_t b = {.name = "b", .factory = factory, .user_data = &s, .depends_on = b_deps};
  spk_dep_def_t broken = {.name = "broken", .factory = factory, .user_data = &s};
  spk_app_provide(app, &a);
  spk_app_provide(app, &b);
  spk_app_provide(app, &broken);
  const char *const cyc[] = {"a", NULL}, *const missing[] = {"nothing_here", NULL},
                    *const fails[] = {"broken", NULL};
  spk_route_options_t o = {0};
  o.dependencies = cyc;
  spk_app_route_ex(app, "GET", "/cycle", h_ok, &t, &o);
  o.dependencies = missing;
  spk_app_route_ex(app, "GET", "/missing", h_ok, &t, &o);
  o.dependencies = fails;
  spk_app_route_ex(app, "GET", "/fails", h_ok, &t, &o);
  /* A route override replaces "broken" for one route. */
  spk_dep_def_t fixed = {.name = "broken", .value = "fixed"};
  o.overrides = &fixed;
  o.override_count = 1;
  spk_app_route_ex(app, "GET", "/overridden", h_ok, &t, &o);
  spk_test_client_t *tc = spk_test_client_new(app);
  CHECK(strstr(spk_app_last_error(app), "not registered") != NULL ||
        strstr(spk_app_last_error(app), "circular") != NULL);
  spk_test_response_t r;
  CHECK_INT(spk_test_client_get(tc, "GET", "/cycle", &r), 0);
  CHECK_INT(r.status, 500);
  CHECK(strstr(r.body, "\"detail\":\"Circular dependency detected\"") != NULL);
  CHECK(strstr(r.body, "\"cycle\":[\"a\",\"b\",\"a\"]") != NULL);
  CHECK_STR(spk_test_response_header(&r, "content-type"), "application/json");
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_get(tc, "GET", "/missing", &r), 0);
  CHECK_INT(r.status, 500);
  CHECK(strstr(r.body, "\"dependency_key\":\"nothing_here\"") != NULL);
  CHECK(strstr(r.body, "Dependency 'nothing_here' is not registered") != NULL);
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_get(tc, "GET", "/fails", &r), 0);
  CHECK_INT(r.status, 503);
  CHECK(strstr(r.body, "resolution_failed") != NULL);
  spk_test_response_free(&r);
  t.log[0] = '\0';
  CHECK_INT(spk_test_client_get(tc, "GET", "/overridden", &r), 0);
  CHECK_INT(r.status, 200);
  CHECK_STR(t.log, "handler");
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
}

/* A hook that needs a dependency. */
static int dep_hook(spk_req_t *req, spk_res_t *res, void *ud) {
  void *v = NULL;
  CHECK_INT(spk_req_dep(req, "config", &v), 0);
  spk_res_header(res, "X-Config", v ? v : "none");
  (void)ud;
  return SPK_HOOK_RESPOND;
}

static void test_hook_dependencies(void) {
  spk_app_t *app = spk_app_new();
  spk_dep_def_t config = {.name = "config", .value = "strict"};
  spk_app_provide(app, &config);
  const char *const deps[] = {"config", NULL};
  CHECK_INT(spk_app_add_hook_ex(app, SPK_HOOK_PRE_HANDLER, dep_hook, NULL, deps), 0);
  trace_t t = {{0}};
  spk_app_route(app, "GET", "/x", h_ok, &t);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  CHECK_INT(spk_test_client_get(tc, "GET", "/x", &r), 0);
  CHECK_STR(spk_test_response_header(&r, "x-config"), "strict");
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
}

/* ---- request timeout ---- */

static void *end_later(void *arg) {
  sleep_ms(300);
  spk_res_t *res = arg;
  spk_res_send(res, 200, "text/plain", "late", 4);
  spk_res_end(res);
  return NULL;
}

static int h_slow(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  pthread_t th;
  pthread_create(&th, NULL, end_later, res);
  pthread_detach(th);
  return SPK_HANDLER_ASYNC;
}

/* ---- an asynchronous handler failing: spk_res_fail ---- */

typedef struct fail_job {
  spk_res_t *res;
  int error;
} fail_job_t;

static void *fail_later(void *arg) {
  fail_job_t *j = arg;
  sleep_ms(20);
  /* What the response held is replaced: the failure is the answer. */
  spk_res_send(j->res, 200, "text/plain", "partial", 7);
  spk_res_fail(j->res, j->error);
  return NULL;
}

static int bg_noop(spk_bg_task_t *task, void *data) {
  (void)task, (void)data;
  return 0;
}

typedef struct async_fail_ctx {
  trace_t *trace;
  int error;
  fail_job_t job;
  pthread_t th;
} async_fail_ctx_t;

static int h_fail_async(spk_req_t *req, spk_res_t *res, void *ud) {
  async_fail_ctx_t *c = ud;
  note(c->trace, "handler");
  spk_bg_spawn(req, bg_noop, NULL, NULL); /* follows up on work that will not happen */
  c->job = (fail_job_t){res, c->error};
  pthread_create(&c->th, NULL, fail_later, &c->job);
  return SPK_HANDLER_ASYNC;
}

static void test_async_failure(void) {
  trace_t t = {{0}};
  spk_app_t *app = spk_app_new();
  hook_ctx_t e = {&t, "onresponse", 0, 0}, f = {&t, "onerror", 0, 0};
  spk_app_add_hook(app, SPK_HOOK_ON_RESPONSE, add_header_hook, &e);
  spk_app_add_hook(app, SPK_HOOK_ON_ERROR, add_header_hook, &f);
  async_fail_ctx_t c = {&t, SPK_EIO, {0}, 0};
  spk_app_route(app, "GET", "/fail", h_fail_async, &c);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  CHECK_INT(spk_test_client_get(tc, "GET", "/fail", &r), 0);
  pthread_join(c.th, NULL);
  CHECK_INT(r.status, 500);
  CHECK(strstr(r.body, "Internal server error") != NULL);
  CHECK_STR(t.log, "handler,onerror"); /* on_error, not on_response */
  CHECK_STR(spk_test_response_header(&r, "x-hook"), "onerror");
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_drain(tc, 5000), SPK_OK);
  spk_bg_stats_t st;
  spk_app_bg_stats(app, &st);
  CHECK_INT(st.discarded, 1);

  c.error = SPK_EQUEUEFULL; /* the same 503 a synchronous handler gets */
  t.log[0] = '\0';
  CHECK_INT(spk_test_client_get(tc, "GET", "/fail", &r), 0);
  pthread_join(c.th, NULL);
  CHECK_INT(r.status, 503);
  CHECK_STR(spk_test_response_header(&r, "retry-after"), "1");
  spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);

  CHECK_INT(spk_res_fail(NULL, SPK_EIO), SPK_EINVAL);
}

static void test_request_timeout(void) {
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_configure(app, "{\"request_timeout\":{\"seconds\":0.05}}"), 0);
  spk_app_route(app, "GET", "/slow", h_slow, NULL);
  spk_route_options_t o = {0};
  o.middleware = "{\"request_timeout\":{\"seconds\":2}}";
  spk_app_route_ex(app, "GET", "/patient", h_slow, NULL, &o);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  CHECK_INT(spk_test_client_get(tc, "GET", "/slow", &r), 0);
  CHECK_INT(r.status, 408);
  CHECK_INT(r.body_len, 0);
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_get(tc, "GET", "/patient", &r), 0);
  CHECK_INT(r.status, 200);
  CHECK_STR(r.body, "late");
  spk_test_response_free(&r);
  sleep_ms(400); /* the timed-out handler ends meanwhile: its exchange is freed, not leaked */
  spk_test_client_free(tc);
  spk_app_free(app);
}

static void test_configure_errors(void) {
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_configure(app, "{\"nonsense\":{}}"), SPK_EINVAL);
  CHECK(strstr(spk_app_last_error(app), "\"nonsense\": unknown section") != NULL);
  CHECK_INT(spk_app_configure(app, "{\"request_timeout\":{\"seconds\":-1}}"), SPK_EINVAL);
  CHECK(strstr(spk_app_last_error(app), "request_timeout") != NULL);
  CHECK_INT(spk_app_configure(app, "[1,2]"), SPK_EINVAL);
  CHECK_INT(spk_app_configure(app, "{\"body_limit\":"), SPK_EINVAL);
  CHECK(strstr(spk_app_last_error(app), "line 1") != NULL);
  spk_route_options_t o = {0};
  o.middleware = "{\"bogus\":1}";
  CHECK_INT(spk_app_route_ex(app, "GET", "/x", h_ok, NULL, &o), SPK_EINVAL);
  CHECK(strstr(spk_app_last_error(app), "bogus") != NULL);
  CHECK_INT(spk_app_freeze(app), SPK_EINVAL); /* a broken route is never served */
  spk_app_free(app);
}

int main(void) {
  RUN(test_hook_order_and_phases);
  RUN(test_hook_short_circuit_and_failure);
  RUN(test_async_hooks);
  RUN(test_async_response_hooks);
  RUN(test_di_graph_sync);
  RUN(test_di_graph_async);
  RUN(test_di_scopes);
  RUN(test_di_errors);
  RUN(test_hook_dependencies);
  RUN(test_async_failure);
  RUN(test_request_timeout);
  RUN(test_configure_errors);
  return test_report("hooks_di");
}
