/* Background tasks (include/spikard/background.h): after the response, bounded queue and
 * concurrency, per-request order, errors logged, handler failures discard, drains on shutdown.
 * Gates (condition variables with bounded waits) make every check deterministic: nothing here
 * depends on how fast a thread runs. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <spikard.h>

#include "test.h"

#define WAIT_MS 5000

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

/* ---- shared test state ---- */

typedef struct state {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  char log[512];  /* values appended by tasks, comma-separated */
  int gate_open;  /* tasks that wait on the gate go on */
  int active, max_active, started;
  int freed;      /* free_fn calls */
  int saw_cancel;
} state_t;

static void state_init(state_t *s) {
  memset(s, 0, sizeof(*s));
  pthread_mutex_init(&s->mu, NULL);
  pthread_cond_init(&s->cv, NULL);
}

static void state_destroy(state_t *s) {
  pthread_mutex_destroy(&s->mu);
  pthread_cond_destroy(&s->cv);
}

static void append(state_t *s, const char *v) {
  pthread_mutex_lock(&s->mu);
  size_t n = strlen(s->log);
  snprintf(s->log + n, sizeof(s->log) - n, "%s%s", n ? "," : "", v);
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

static void open_gate(state_t *s) {
  pthread_mutex_lock(&s->mu);
  s->gate_open = 1;
  pthread_cond_broadcast(&s->cv);
  pthread_mutex_unlock(&s->mu);
}

/* Bounded wait for the gate (a broken implementation fails the test, never hangs it). */
static int wait_gate(state_t *s) {
  struct timespec d;
  clock_gettime(CLOCK_REALTIME, &d);
  d.tv_sec += WAIT_MS / 1000;
  pthread_mutex_lock(&s->mu);
  int ok = 1;
  while (!s->gate_open && ok) ok = pthread_cond_timedwait(&s->cv, &s->mu, &d) == 0;
  ok = s->gate_open;
  pthread_mutex_unlock(&s->mu);
  return ok;
}

/* Poll the pool until `running` tasks run (bounded). */
static int wait_running(spk_app_t *app, size_t running) {
  for (int i = 0; i < WAIT_MS; i++) {
    spk_bg_stats_t st;
    spk_app_bg_stats(app, &st);
    if (st.running == running) return 1;
    sleep_ms(1);
  }
  return 0;
}

/* A task's data: the state plus a value (heap, freed by free_item). */
typedef struct item {
  state_t *s;
  char value[32];
  int gated;  /* wait for the gate before appending */
  int fail;   /* return SPK_EIO with a message */
} item_t;

static item_t *item(state_t *s, const char *value) {
  item_t *it = calloc(1, sizeof(*it));
  it->s = s;
  snprintf(it->value, sizeof(it->value), "%s", value);
  return it;
}

static void free_item(void *p) {
  item_t *it = p;
  pthread_mutex_lock(&it->s->mu);
  it->s->freed++;
  pthread_mutex_unlock(&it->s->mu);
  free(it);
}

static int task(spk_bg_task_t *t, void *data) {
  item_t *it = data;
  state_t *s = it->s;
  pthread_mutex_lock(&s->mu);
  s->started++;
  if (++s->active > s->max_active) s->max_active = s->active;
  pthread_mutex_unlock(&s->mu);
  if (it->gated && !wait_gate(s)) append(s, "gate-timeout");
  if (spk_bg_cancelled(t)) {
    pthread_mutex_lock(&s->mu);
    s->saw_cancel = 1;
    pthread_mutex_unlock(&s->mu);
  }
  pthread_mutex_lock(&s->mu);
  s->active--;
  pthread_mutex_unlock(&s->mu);
  if (it->fail) {
    spk_bg_task_error(t, "boom");
    return SPK_EIO;
  }
  append(s, it->value);
  return 0;
}

/* Until cancelled (the drain timeout), bounded. */
static int task_until_cancelled(spk_bg_task_t *t, void *data) {
  item_t *it = data;
  for (int i = 0; i < WAIT_MS && !spk_bg_cancelled(t); i++) sleep_ms(1);
  if (spk_bg_cancelled(t)) {
    pthread_mutex_lock(&it->s->mu);
    it->s->saw_cancel = 1;
    pthread_mutex_unlock(&it->s->mu);
  }
  return 0;
}

static spk_app_t *app_with(const char *config) {
  spk_app_t *app = spk_app_new();
  if (config && spk_app_configure(app, config) != SPK_OK)
    fprintf(stderr, "configure: %s\n", spk_app_last_error(app));
  return app;
}

static int send_post(spk_test_client_t *tc, const char *target, const char *body,
                     spk_test_response_t *out) {
  spk_test_request_t rq = {.method = "POST", .target = target, .body = body,
                           .body_len = body ? strlen(body) : 0};
  return spk_test_client_send(tc, &rq, out);
}

/* ---- handlers ---- */

/* Spawns one task per comma-separated value of the body ("a,b,c"); a value "!x" fails, "~x"
 * waits for the gate. A spawn error is returned (the core answers it). */
static int h_spawn(spk_req_t *req, spk_res_t *res, void *ud) {
  state_t *s = ud;
  spk_str_t body = spk_req_body(req);
  char buf[256];
  snprintf(buf, sizeof(buf), "%.*s", (int)body.len, body.ptr);
  for (char *save = NULL, *v = strtok_r(buf, ",", &save); v; v = strtok_r(NULL, ",", &save)) {
    item_t *it = item(s, v + (v[0] == '!' || v[0] == '~'));
    it->fail = v[0] == '!';
    it->gated = v[0] == '~';
    int rc = spk_bg_spawn(req, task, it, free_item);
    if (rc < 0) {
      free(it); /* a failed spawn leaves the data with the caller */
      return rc;
    }
  }
  return spk_res_send(res, 202, "application/json", "{}", 2);
}

/* ---- tests ---- */

static void test_runs_after_response(void) {
  state_t s;
  state_init(&s);
  spk_app_t *app = app_with(NULL);
  spk_app_route(app, "POST", "/jobs", h_spawn, &s);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  /* The task waits for the gate, which opens only after the response is back: a response
   * that waited for its task would never come (the client gives up after 30 s). */
  CHECK_INT(send_post(tc, "/jobs", "~late", &r), SPK_OK);
  CHECK_INT(r.status, 202);
  spk_test_response_free(&r);
  CHECK(wait_running(app, 1));
  CHECK_STR(s.log, "");
  open_gate(&s);
  CHECK_INT(spk_test_client_drain(tc, WAIT_MS), SPK_OK);
  CHECK_STR(s.log, "late");
  CHECK_INT(s.freed, 1);
  spk_bg_stats_t st;
  spk_app_bg_stats(app, &st);
  CHECK_INT(st.spawned, 1);
  CHECK_INT(st.completed, 1);
  CHECK_INT(st.queued + st.running, 0);
  spk_test_client_free(tc);
  spk_app_free(app);
  state_destroy(&s);
}

/* The copy belongs to the task: it reads it after the request's arena is gone (ASan checks). */
static int copy_task(spk_bg_task_t *t, void *data) {
  (void)t;
  return strcmp(data, "{\"event\":\"signup\"}") == 0 ? 0 : SPK_EINVAL;
}

static int h_copy(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  spk_str_t body = spk_req_body(req);
  int rc = spk_bg_spawn_copy(req, copy_task, body.ptr, body.len);
  if (rc < 0) return rc;
  return spk_res_send(res, 202, NULL, NULL, 0);
}

static void test_copy_owned_by_task(void) {
  spk_app_t *app = app_with(NULL);
  spk_app_route(app, "POST", "/copy", h_copy, NULL);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  CHECK_INT(send_post(tc, "/copy", "{\"event\":\"signup\"}", &r), SPK_OK);
  CHECK_INT(r.status, 202);
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_drain(tc, WAIT_MS), SPK_OK);
  spk_bg_stats_t st;
  spk_app_bg_stats(app, &st);
  CHECK_INT(st.completed, 1);
  CHECK_INT(st.failed, 0);
  spk_test_client_free(tc);
  spk_app_free(app);
}

static void test_order_within_request(void) {
  state_t s;
  state_init(&s);
  spk_app_t *app = app_with("{\"background_tasks\": {\"max_concurrency\": 8}}");
  spk_app_route(app, "POST", "/jobs", h_spawn, &s);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  CHECK_INT(send_post(tc, "/jobs", "a,b,c,d,e,f", &r), SPK_OK);
  CHECK_INT(r.status, 202);
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_drain(tc, WAIT_MS), SPK_OK);
  CHECK_STR(s.log, "a,b,c,d,e,f");
  CHECK_INT(s.max_active, 1); /* one chain: one after another */
  spk_test_client_free(tc);
  spk_app_free(app);
  state_destroy(&s);
}

static void test_queue_full_in_request(void) {
  state_t s;
  state_init(&s);
  spk_app_t *app = app_with("{\"background_tasks\": {\"max_queue\": 2}}");
  spk_app_route(app, "POST", "/jobs", h_spawn, &s);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  CHECK_INT(send_post(tc, "/jobs", "a,b,c", &r), SPK_OK);
  CHECK_INT(r.status, 503);
  CHECK_STR(spk_test_response_header(&r, "retry-after"), "1");
  CHECK(strstr(r.body, "service-unavailable") != NULL);
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_drain(tc, WAIT_MS), SPK_OK);
  CHECK_STR(s.log, ""); /* the handler failed: what it spawned is discarded */
  CHECK_INT(s.freed, 2);
  spk_bg_stats_t st;
  spk_app_bg_stats(app, &st);
  CHECK_INT(st.rejected, 1);
  CHECK_INT(st.discarded, 2);
  CHECK_INT(st.queued, 0);
  /* The slots came back: two tasks fit again. */
  CHECK_INT(send_post(tc, "/jobs", "x,y", &r), SPK_OK);
  CHECK_INT(r.status, 202);
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_drain(tc, WAIT_MS), SPK_OK);
  CHECK_STR(s.log, "x,y");
  spk_test_client_free(tc);
  spk_app_free(app);
  state_destroy(&s);
}

static void test_queue_bound_with_busy_worker(void) {
  state_t s;
  state_init(&s);
  spk_app_t *app = app_with("{\"background_tasks\": {\"max_queue\": 1, \"max_concurrency\": 1}}");
  item_t *a = item(&s, "a"), *b = item(&s, "b"), *c = item(&s, "c");
  a->gated = 1;
  CHECK_INT(spk_app_bg_spawn(app, task, a, free_item), SPK_OK);
  CHECK(wait_running(app, 1)); /* a runs: its slot is free again */
  CHECK_INT(spk_app_bg_spawn(app, task, b, free_item), SPK_OK);
  CHECK_INT(spk_app_bg_spawn(app, task, c, free_item), SPK_EQUEUEFULL);
  free(c);
  spk_bg_stats_t st;
  spk_app_bg_stats(app, &st);
  CHECK_INT(st.queued, 1);
  CHECK_INT(st.running, 1);
  CHECK_INT(st.rejected, 1);
  open_gate(&s);
  CHECK_INT(spk_app_bg_wait(app, WAIT_MS), SPK_OK);
  CHECK_STR(s.log, "a,b");
  spk_app_free(app);
  CHECK_INT(s.freed, 2);
  state_destroy(&s);
}

static void test_concurrency_bound(void) {
  state_t s;
  state_init(&s);
  spk_app_t *app = app_with("{\"background_tasks\": {\"max_concurrency\": 2}}");
  for (int i = 0; i < 6; i++) {
    char v[8];
    snprintf(v, sizeof(v), "t%d", i);
    item_t *it = item(&s, v);
    it->gated = 1;
    CHECK_INT(spk_app_bg_spawn(app, task, it, free_item), SPK_OK);
  }
  CHECK(wait_running(app, 2));
  sleep_ms(20); /* a third thread, if there were one, would have started by now */
  spk_bg_stats_t st;
  spk_app_bg_stats(app, &st);
  CHECK_INT(st.running, 2);
  CHECK_INT(st.threads, 2);
  CHECK_INT(st.queued, 4);
  open_gate(&s);
  CHECK_INT(spk_app_bg_wait(app, WAIT_MS), SPK_OK);
  CHECK_INT(s.max_active, 2);
  spk_app_bg_stats(app, &st);
  CHECK_INT(st.completed, 6);
  spk_app_free(app);
  state_destroy(&s);
}

/* Errors go to stderr (one line), and the rest of the chain still runs. */
static void test_error_logged(void) {
  state_t s;
  state_init(&s);
  spk_app_t *app = app_with(NULL);
  spk_app_route(app, "POST", "/fail", h_spawn, &s);
  spk_app_route(app, "POST", "/log/{rest:path}", h_spawn, &s);
  spk_test_client_t *tc = spk_test_client_new(app);
  char path[] = "/tmp/spk-bg-log-XXXXXX";
  int fd = mkstemp(path);
  int saved = dup(STDERR_FILENO);
  fflush(stderr);
  dup2(fd, STDERR_FILENO);
  spk_test_response_t r;
  CHECK_INT(send_post(tc, "/fail", "one,!two,three", &r), SPK_OK);
  CHECK_INT(r.status, 202);
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_drain(tc, WAIT_MS), SPK_OK);
  /* A decoded path with a line break must not forge a second log line. */
  CHECK_INT(send_post(tc, "/log/a%0Aspikard:%20forged", "!x", &r), SPK_OK);
  CHECK_INT(r.status, 202);
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_drain(tc, WAIT_MS), SPK_OK);
  fflush(stderr);
  dup2(saved, STDERR_FILENO);
  close(saved);
  char text[1024] = "";
  ssize_t n = pread(fd, text, sizeof(text) - 1, 0);
  text[n > 0 ? n : 0] = '\0';
  close(fd);
  unlink(path);
  CHECK(strstr(text, "spikard: background task failed (POST /fail): SPK_EIO: boom\n") != NULL);
  CHECK(strstr(text, "(POST /log/a?spikard: forged): SPK_EIO: boom\n") != NULL);
  CHECK(strstr(text, "\nspikard: forged") == NULL);
  CHECK_STR(s.log, "one,three");
  spk_bg_stats_t st;
  spk_app_bg_stats(app, &st);
  CHECK_INT(st.failed, 2);
  CHECK_INT(st.completed, 2);
  spk_test_client_free(tc);
  spk_app_free(app);
  state_destroy(&s);
}

/* A failing handler's tasks are discarded; hooks' tasks run whatever the status. */
static int h_spawn_then_fail(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)res;
  item_t *it = item(ud, "handler");
  if (spk_bg_spawn(req, task, it, free_item) < 0) free(it);
  return SPK_EIO;
}

static int hook_spawn(spk_req_t *req, spk_res_t *res, void *ud) {
  state_t *s = ud;
  char v[32];
  snprintf(v, sizeof(v), "hook-%d", spk_res_get_status(res));
  item_t *it = item(s, v);
  if (spk_bg_spawn(req, task, it, free_item) < 0) free(it);
  return SPK_HOOK_CONTINUE;
}

static void test_error_responses(void) {
  state_t s;
  state_init(&s);
  spk_app_t *app = app_with(NULL);
  spk_app_route(app, "POST", "/fail", h_spawn_then_fail, &s);
  spk_app_route(app, "POST", "/ok", h_spawn, &s);
  spk_app_add_hook(app, SPK_HOOK_ON_ERROR, hook_spawn, &s);
  spk_app_add_hook(app, SPK_HOOK_ON_RESPONSE, hook_spawn, &s);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  CHECK_INT(send_post(tc, "/fail", "", &r), SPK_OK);
  CHECK_INT(r.status, 500);
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_drain(tc, WAIT_MS), SPK_OK);
  CHECK_STR(s.log, "hook-500");
  s.log[0] = '\0';
  CHECK_INT(spk_test_client_get(tc, "GET", "/missing", &r), SPK_OK);
  CHECK_INT(r.status, 404);
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_drain(tc, WAIT_MS), SPK_OK);
  CHECK_STR(s.log, "hook-404");
  s.log[0] = '\0';
  CHECK_INT(send_post(tc, "/ok", "first", &r), SPK_OK);
  CHECK_INT(r.status, 202);
  spk_test_response_free(&r);
  CHECK_INT(spk_test_client_drain(tc, WAIT_MS), SPK_OK);
  CHECK_STR(s.log, "first,hook-202"); /* one request: handler's then the hook's */
  CHECK_INT(s.freed, 5);
  spk_test_client_free(tc);
  spk_app_free(app);
  state_destroy(&s);
}

static int h_end_then_spawn(spk_req_t *req, spk_res_t *res, void *ud) {
  int *rc = ud;
  spk_res_send(res, 200, "text/plain", "ok", 2);
  spk_res_end(res);
  *rc = spk_bg_spawn(req, task, NULL, NULL);
  return SPK_HANDLER_DONE;
}

static void test_spawn_after_end(void) {
  int rc = 0;
  spk_app_t *app = app_with(NULL);
  spk_app_route(app, "GET", "/late", h_end_then_spawn, &rc);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  CHECK_INT(spk_test_client_get(tc, "GET", "/late", &r), SPK_OK);
  CHECK_INT(r.status, 200);
  spk_test_response_free(&r);
  CHECK_INT(rc, SPK_ESTATE);
  CHECK_INT(spk_bg_spawn(NULL, task, NULL, NULL), SPK_EINVAL);
  CHECK_INT(spk_app_bg_spawn(app, NULL, NULL, NULL), SPK_EINVAL);
  spk_test_client_free(tc);
  spk_app_free(app);
}

/* spk_app_free drains: queued tasks all run. */
static void test_free_drains(void) {
  state_t s;
  state_init(&s);
  spk_app_t *app = app_with("{\"background_tasks\": {\"max_concurrency\": 1}}");
  for (int i = 0; i < 5; i++) {
    char v[8];
    snprintf(v, sizeof(v), "%d", i);
    CHECK_INT(spk_app_bg_spawn(app, task, item(&s, v), free_item), SPK_OK);
  }
  spk_app_free(app);
  CHECK_STR(s.log, "0,1,2,3,4");
  CHECK_INT(s.freed, 5);
  state_destroy(&s);
}

/* A drain that times out drops what is queued (free_fn called, never run) and cancels what
 * runs; spk_app_free then waits for the running task to return. */
static void test_drain_timeout(void) {
  state_t s;
  state_init(&s);
  spk_app_t *app = app_with(
      "{\"background_tasks\": {\"max_concurrency\": 1, \"drain_timeout_ms\": 50}}");
  CHECK_INT(spk_app_bg_spawn(app, task_until_cancelled, item(&s, "slow"), free_item), SPK_OK);
  CHECK(wait_running(app, 1));
  CHECK_INT(spk_app_bg_spawn(app, task, item(&s, "never"), free_item), SPK_OK);
  CHECK_INT(spk_app_bg_spawn(app, task, item(&s, "never"), free_item), SPK_OK);
  int saved = dup(STDERR_FILENO), devnull = open("/dev/null", O_WRONLY);
  dup2(devnull, STDERR_FILENO); /* the drain-timeout line is expected */
  spk_app_free(app);
  dup2(saved, STDERR_FILENO);
  close(saved);
  close(devnull);
  CHECK_STR(s.log, "");
  CHECK_INT(s.freed, 3);
  CHECK_INT(s.saw_cancel, 1);
  state_destroy(&s);
}

/* A task can queue follow-up work on its app. */
static int follow_up(spk_bg_task_t *t, void *data) {
  item_t *it = data;
  append(it->s, "first");
  item_t *next = item(it->s, "second");
  int rc = spk_app_bg_spawn(spk_bg_task_app(t), task, next, free_item);
  if (rc < 0) free(next);
  return rc;
}

static void test_follow_up(void) {
  state_t s;
  state_init(&s);
  spk_app_t *app = app_with(NULL);
  CHECK_INT(spk_app_bg_spawn(app, follow_up, item(&s, "x"), free_item), SPK_OK);
  /* The follow-up is queued by the first task: wait until both are in. */
  for (int i = 0; i < WAIT_MS; i++) {
    pthread_mutex_lock(&s.mu);
    int done = strcmp(s.log, "first,second") == 0;
    pthread_mutex_unlock(&s.mu);
    if (done) break;
    sleep_ms(1);
  }
  CHECK_STR(s.log, "first,second");
  spk_app_free(app);
  CHECK_INT(s.freed, 2);
  state_destroy(&s);
}

static void test_config(void) {
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_configure(app, "{\"background_tasks\": {\"max_concurrency\": 0}}"),
            SPK_EINVAL);
  CHECK(strstr(spk_app_last_error(app), "\"background_tasks\": \"max_concurrency\"") != NULL);
  CHECK_INT(spk_app_configure(app, "{\"background_tasks\": {\"max_queue\": -1}}"), SPK_EINVAL);
  CHECK_INT(spk_app_configure(app, "{\"background_tasks\": {\"queue\": 1}}"), SPK_EINVAL);
  CHECK(strstr(spk_app_last_error(app), "unknown key \"queue\"") != NULL);
  CHECK_INT(spk_app_configure(app, "{\"background_tasks\": 5}"), SPK_EINVAL);
  /* The reference's names. */
  CHECK_INT(spk_app_configure(app, "{\"background_tasks\": {\"max_queue_size\": 3, "
                                   "\"max_concurrent_tasks\": 2, \"drain_timeout_secs\": 0.5}}"),
            SPK_OK);
  state_t s;
  state_init(&s);
  for (int i = 0; i < 3; i++) {
    item_t *it = item(&s, "g");
    it->gated = 1;
    CHECK_INT(spk_app_bg_spawn(app, task, it, free_item), SPK_OK);
  }
  CHECK(wait_running(app, 2));
  item_t *extra = item(&s, "x");
  CHECK_INT(spk_app_bg_spawn(app, task, extra, free_item), SPK_OK); /* 1 queued + 1 */
  item_t *over = item(&s, "y");
  spk_bg_stats_t st;
  spk_app_bg_stats(app, &st);
  CHECK_INT(st.queued, 2);
  CHECK_INT(spk_app_bg_spawn(app, task, over, free_item), SPK_OK); /* 3 queued: the bound */
  item_t *full = item(&s, "z");
  CHECK_INT(spk_app_bg_spawn(app, task, full, free_item), SPK_EQUEUEFULL);
  free(full);
  open_gate(&s);
  CHECK_INT(spk_app_bg_wait(app, WAIT_MS), SPK_OK);
  spk_app_free(app);
  CHECK_INT(s.freed, 5);
  state_destroy(&s);
}

/* Over a real socket: the task runs after the response was written, and spk_server_free
 * drains it before returning. */
static int h_slow_task(spk_req_t *req, spk_res_t *res, void *ud) {
  item_t *it = item(ud, "served");
  it->gated = 1;
  int rc = spk_bg_spawn(req, task, it, free_item);
  if (rc < 0) {
    free(it);
    return rc;
  }
  return spk_res_send(res, 202, "text/plain", "queued", 6);
}

static void test_server_drain(void) {
  state_t s;
  state_init(&s);
  spk_app_t *app = app_with(NULL);
  spk_app_route(app, "POST", "/jobs", h_slow_task, &s);
  spk_server_config_t cfg;
  spk_server_config_default(&cfg);
  cfg.port = 0;
  cfg.workers = 1;
  cfg.handle_signals = 0;
  spk_server_t *srv = NULL;
  CHECK_INT(spk_server_new(&srv, app, &cfg), SPK_OK);
  CHECK_INT(spk_server_start(srv), SPK_OK);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)spk_server_port(srv))};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  CHECK_INT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  static const char rq[] = "POST /jobs HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n";
  CHECK_INT(write(fd, rq, sizeof(rq) - 1), (long long)(sizeof(rq) - 1));
  char buf[512];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  buf[n > 0 ? n : 0] = '\0';
  CHECK(strncmp(buf, "HTTP/1.1 202", 12) == 0); /* answered while the task waits */
  CHECK_STR(s.log, "");
  close(fd);
  open_gate(&s);
  spk_server_free(srv); /* stop, wait: the drain lets the task finish */
  CHECK_STR(s.log, "served");
  spk_app_free(app);
  state_destroy(&s);
}

int main(void) {
  RUN(test_runs_after_response);
  RUN(test_copy_owned_by_task);
  RUN(test_order_within_request);
  RUN(test_queue_full_in_request);
  RUN(test_queue_bound_with_busy_worker);
  RUN(test_concurrency_bound);
  RUN(test_error_logged);
  RUN(test_error_responses);
  RUN(test_spawn_after_end);
  RUN(test_free_drains);
  RUN(test_drain_timeout);
  RUN(test_follow_up);
  RUN(test_config);
  RUN(test_server_drain);
  return test_report("background");
}
