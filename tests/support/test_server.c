/* spk-test-server: a Spikard server with test-only routes for the black-box tests.
 *
 *   spk-test-server [--host H] [--port N] [--workers N] [--header-timeout-ms N]
 *                   [--body-timeout-ms N] [--keepalive-ms N] [--max-body N]
 *                   [--max-header-count N] [--max-header-bytes N] [--max-request-line N]
 *                   [--shutdown-timeout-ms N] [--configure JSON]
 *
 * --configure passes JSON to spk_app_configure (middleware sections).
 * Prints "PORT <n>" (or "PORT 0" for a Unix socket) once listening, then serves until SIGINT or
 * SIGTERM, shuts down gracefully and exits 0.
 *
 * Routes:
 *   GET  /hello          text "hello"
 *   POST /echo           the request body, with the request's Content-Type
 *   GET  /slow?ms=N      completed from another thread after N ms (async completion)
 * Flags: --request-timeout-ms N configures the request timeout (408 for /slow beyond it).
 *   GET  /json           {"message":"Hello, World!"}
 *   GET  /users/{id:int} the id as text
 *   GET  /headers        the request headers, one "name: value" per line
 *   POST /limited        like /echo, with a route body limit of 64 bytes
 *   POST /cors           like /echo, with route CORS (origin https://a.example, POST,
 *                        Content-Type, credentials)
 *   POST /bg/tasks, GET /bg/state   background tasks (test_server_bg.c)
 *   GET  /stream/...     streaming routes, see stream_routes.c
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spikard.h"

int test_server_bg_routes(spk_app_t *app);
int stream_routes_register(spk_app_t *app); /* stream_routes.c */

/* Async handler threads still running: main waits for them before freeing the server, because
 * spk_res_end wakes the server's loop. */
static pthread_mutex_t slow_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t slow_cv = PTHREAD_COND_INITIALIZER;
static int slow_running;

static int hello(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  (void)ud;
  return spk_res_send(res, 200, "text/plain", "hello", 5);
}

static int json(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  (void)ud;
  static const char body[] = "{\"message\":\"Hello, World!\"}";
  return spk_res_send(res, 200, "application/json", body, sizeof(body) - 1);
}

static int echo(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  spk_str_t ct;
  char type[256];
  if (spk_req_header(req, "content-type", &ct) == 0 && ct.len < sizeof(type)) {
    memcpy(type, ct.ptr, ct.len);
    type[ct.len] = '\0';
  } else {
    snprintf(type, sizeof(type), "application/octet-stream");
  }
  spk_str_t body = spk_req_body(req);
  return spk_res_send(res, 200, type, body.ptr, body.len);
}

static int user(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  int64_t id = 0;
  int rc = spk_req_param_int(req, "id", &id);
  if (rc < 0) return rc;
  char text[32];
  int n = snprintf(text, sizeof(text), "%lld", (long long)id);
  return spk_res_send(res, 200, "text/plain", text, (size_t)n);
}

static int headers(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  size_t n = spk_req_header_count(req);
  size_t cap = 1;
  for (size_t i = 0; i < n; i++) {
    spk_str_t k, v;
    if (spk_req_header_at(req, i, &k, &v) == 0) cap += k.len + v.len + 3;
  }
  char *out = spk_req_alloc(req, cap);
  if (!out) return SPK_ENOMEM;
  size_t len = 0;
  for (size_t i = 0; i < n; i++) {
    spk_str_t k, v;
    if (spk_req_header_at(req, i, &k, &v) != 0) continue;
    memcpy(out + len, k.ptr, k.len);
    len += k.len;
    out[len++] = ':';
    out[len++] = ' ';
    memcpy(out + len, v.ptr, v.len);
    len += v.len;
    out[len++] = '\n';
  }
  return spk_res_send(res, 200, "text/plain", out, len);
}

typedef struct slow_job {
  spk_res_t *res;
  long ms;
} slow_job_t;

static void *slow_thread(void *arg) {
  slow_job_t *job = arg;
  struct timespec ts = {job->ms / 1000, (job->ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  char text[64];
  int n = snprintf(text, sizeof(text), "slow %ld", job->ms);
  spk_res_send(job->res, 200, "text/plain", text, (size_t)n);
  spk_res_end(job->res);
  free(job);
  pthread_mutex_lock(&slow_mu);
  slow_running--;
  pthread_cond_broadcast(&slow_cv);
  pthread_mutex_unlock(&slow_mu);
  return NULL;
}

static int slow(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  long ms = 100;
  spk_str_t v;
  if (spk_req_query(req, "ms", &v) == 0 && v.len > 0 && v.len < 10) {
    char buf[16];
    memcpy(buf, v.ptr, v.len);
    buf[v.len] = '\0';
    ms = strtol(buf, NULL, 10);
    if (ms < 0) ms = 0;
    if (ms > 60000) ms = 60000;
  }
  slow_job_t *job = malloc(sizeof(*job));
  if (!job) return SPK_ENOMEM;
  job->res = res;
  job->ms = ms;
  pthread_attr_t attr;
  pthread_attr_init(&attr);
  pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
  pthread_mutex_lock(&slow_mu);
  slow_running++;
  pthread_mutex_unlock(&slow_mu);
  pthread_t t;
  int rc = pthread_create(&t, &attr, slow_thread, job);
  pthread_attr_destroy(&attr);
  if (rc != 0) {
    pthread_mutex_lock(&slow_mu);
    slow_running--;
    pthread_mutex_unlock(&slow_mu);
    free(job);
    return SPK_EIO;
  }
  return SPK_HANDLER_ASYNC;
}

static void wait_slow_threads(void) {
  struct timespec deadline;
  clock_gettime(CLOCK_REALTIME, &deadline);
  deadline.tv_sec += 70;
  pthread_mutex_lock(&slow_mu);
  while (slow_running > 0)
    if (pthread_cond_timedwait(&slow_cv, &slow_mu, &deadline) == ETIMEDOUT) break;
  pthread_mutex_unlock(&slow_mu);
}

static int parse_num(const char *flag, const char *text, long long *out) {
  char *end = NULL;
  errno = 0;
  long long v = strtoll(text, &end, 10);
  if (errno || !end || *end || v < 0) {
    fprintf(stderr, "spk-test-server: bad value for %s: %s\n", flag, text);
    return -1;
  }
  *out = v;
  return 0;
}

int main(int argc, char **argv) {
  spk_server_config_t cfg;
  spk_server_config_default(&cfg);
  cfg.port = 0;
  cfg.workers = 2;
  spk_limits_t limits;
  spk_limits_default(&limits);
  long long request_timeout_ms = 0;
  const char *static_dir = NULL;
  const char *configure = NULL;

  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    if (i + 1 >= argc) {
      fprintf(stderr, "spk-test-server: missing value for %s\n", a);
      return 2;
    }
    const char *val = argv[++i];
    long long v = 0;
    if (strcmp(a, "--host") == 0) {
      cfg.host = val;
      continue;
    }
    if (strcmp(a, "--static") == 0) { /* mount DIR at /static (static_files middleware) */
      static_dir = val;
      continue;
    }
    if (strcmp(a, "--configure") == 0) { /* a spk_app_configure document */
      configure = val;
      continue;
    }
    if (parse_num(a, val, &v) < 0) return 2;
    if (strcmp(a, "--port") == 0)
      cfg.port = (int)v;
    else if (strcmp(a, "--workers") == 0)
      cfg.workers = (int)v;
    else if (strcmp(a, "--header-timeout-ms") == 0)
      limits.header_timeout_ms = (uint32_t)v;
    else if (strcmp(a, "--body-timeout-ms") == 0)
      limits.body_timeout_ms = (uint32_t)v;
    else if (strcmp(a, "--keepalive-ms") == 0)
      limits.keepalive_timeout_ms = (uint32_t)v;
    else if (strcmp(a, "--max-body") == 0)
      limits.max_body_bytes = (size_t)v;
    else if (strcmp(a, "--max-header-count") == 0)
      limits.max_header_count = (size_t)v;
    else if (strcmp(a, "--max-header-bytes") == 0)
      limits.max_header_bytes = (size_t)v;
    else if (strcmp(a, "--max-request-line") == 0)
      limits.max_request_line = (size_t)v;
    else if (strcmp(a, "--shutdown-timeout-ms") == 0)
      cfg.shutdown_timeout_ms = (uint32_t)v;
    else if (strcmp(a, "--request-timeout-ms") == 0)
      request_timeout_ms = v;
    else {
      fprintf(stderr, "spk-test-server: unknown flag %s\n", a);
      return 2;
    }
  }

  spk_app_t *app = spk_app_new();
  if (!app) return 1;
  int rc = spk_app_set_limits(app, &limits);
  if (!rc && request_timeout_ms > 0) {
    char conf[96];
    snprintf(conf, sizeof(conf), "{\"request_timeout\":{\"ms\":%lld}}", request_timeout_ms);
    rc = spk_app_configure(app, conf);
  }
  if (!rc && static_dir) {
    char conf[1200];
    snprintf(conf, sizeof(conf),
             "{\"static_files\": [{\"directory\": \"%.1000s\", \"route_prefix\": \"/static\"}]}",
             static_dir);
    rc = spk_app_configure(app, conf);
    if (rc) fprintf(stderr, "spk-test-server: %s\n", spk_app_last_error(app));
  }
  if (!rc) rc = spk_app_route(app, "GET", "/hello", hello, NULL);
  if (!rc) rc = spk_app_route(app, "POST", "/echo", echo, NULL);
  if (!rc) rc = spk_app_route(app, "GET", "/slow", slow, NULL);
  if (!rc) rc = spk_app_route(app, "GET", "/json", json, NULL);
  if (!rc) rc = spk_app_route(app, "GET", "/users/{id:int}", user, NULL);
  if (!rc) rc = spk_app_route(app, "GET", "/headers", headers, NULL);
  if (!rc) rc = stream_routes_register(app); /* streaming routes: stream_routes.c */
  spk_route_options_t limited = {0}, cors = {0};
  limited.middleware = "{\"body_limit\": {\"max_bytes\": 64}}";
  cors.middleware = "{\"cors\": {\"allowed_origins\": [\"https://a.example\"], "
                    "\"allowed_methods\": [\"POST\"], \"allowed_headers\": [\"Content-Type\"], "
                    "\"allow_credentials\": true}}";
  if (!rc) rc = spk_app_route_ex(app, "POST", "/limited", echo, NULL, &limited);
  if (!rc) rc = spk_app_route_ex(app, "POST", "/cors", echo, NULL, &cors);
  if (!rc) rc = test_server_bg_routes(app); /* /bg/...: test_server_bg.c */
  if (!rc && configure && (rc = spk_app_configure(app, configure)) != SPK_OK)
    fprintf(stderr, "spk-test-server: --configure: %s\n", spk_app_last_error(app));
  if (rc) {
    fprintf(stderr, "spk-test-server: setup failed: %s\n", spk_strerror(rc));
    spk_app_free(app);
    return 1;
  }

  /* Block SIGINT/SIGTERM until spk_server_run has its handlers (it unblocks them then), so a
   * signal sent right after "PORT" is never fatal. */
  sigset_t sigs;
  sigemptyset(&sigs);
  sigaddset(&sigs, SIGINT);
  sigaddset(&sigs, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &sigs, NULL);

  spk_server_t *srv = NULL;
  rc = spk_server_new(&srv, app, &cfg);
  if (rc) {
    fprintf(stderr, "spk-test-server: %s\n", spk_strerror(rc));
    spk_app_free(app);
    return 1;
  }
  printf("PORT %d\n", spk_server_port(srv));
  fflush(stdout);

  rc = spk_server_run(srv);
  wait_slow_threads();
  spk_server_free(srv);
  spk_app_free(app);
  if (rc) {
    fprintf(stderr, "spk-test-server: %s\n", spk_strerror(rc));
    return 1;
  }
  return 0;
}
