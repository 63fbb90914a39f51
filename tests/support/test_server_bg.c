/* spk-test-server routes for background tasks (tests/blackbox/test_background.py).
 *
 *   POST /bg/tasks?n=N&ms=M   spawns N tasks (default 1) labelled <body>#i that take M ms each
 *                             (default 0), then answers 202 "queued"; a full queue is returned
 *                             to the core (503)
 *   GET  /bg/state            the labels of the finished tasks, comma-separated, in finishing
 *                             order
 * Each finished task also prints "TASK <label>" on stdout, or "TASK-CANCELLED <label>" when
 * shutdown asked it to stop, so a test can see what ran before the process exited. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spikard.h"

static pthread_mutex_t bg_mu = PTHREAD_MUTEX_INITIALIZER;
static char bg_state[4096];

static long query_num(spk_req_t *req, const char *name, long dflt) {
  spk_str_t v;
  if (spk_req_query(req, name, &v) != 0 || v.len == 0 || v.len > 9) return dflt;
  char buf[16];
  memcpy(buf, v.ptr, v.len);
  buf[v.len] = '\0';
  return strtol(buf, NULL, 10);
}

typedef struct bg_job {
  long ms;
  char label[64];
} bg_job_t;

static int bg_run(spk_bg_task_t *task, void *data) {
  bg_job_t *j = data;
  for (long t = 0; t < j->ms && !spk_bg_cancelled(task); t += 5) {
    struct timespec ts = {0, 5 * 1000000L};
    nanosleep(&ts, NULL);
  }
  int cancelled = spk_bg_cancelled(task);
  pthread_mutex_lock(&bg_mu);
  if (!cancelled) {
    size_t n = strlen(bg_state);
    snprintf(bg_state + n, sizeof(bg_state) - n, "%s%s", n ? "," : "", j->label);
  }
  printf("%s %s\n", cancelled ? "TASK-CANCELLED" : "TASK", j->label);
  fflush(stdout);
  pthread_mutex_unlock(&bg_mu);
  return 0;
}

static int bg_tasks(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  long n = query_num(req, "n", 1), ms = query_num(req, "ms", 0);
  spk_str_t body = spk_req_body(req);
  for (long i = 0; i < n && i < 1000; i++) {
    /* The job is the task's own copy: the body is gone when the task runs. */
    bg_job_t *j = malloc(sizeof(*j));
    if (!j) return SPK_ENOMEM;
    j->ms = ms;
    snprintf(j->label, sizeof(j->label), "%.*s#%ld", (int)(body.len > 40 ? 40 : body.len),
             body.ptr, i);
    int rc = spk_bg_spawn(req, bg_run, j, free);
    if (rc < 0) {
      free(j);
      return rc;
    }
  }
  return spk_res_send(res, 202, "text/plain", "queued", 6);
}

static int bg_state_get(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  pthread_mutex_lock(&bg_mu);
  int rc = spk_res_send(res, 200, "text/plain", bg_state, strlen(bg_state));
  pthread_mutex_unlock(&bg_mu);
  return rc;
}

int test_server_bg_routes(spk_app_t *app); /* called by test_server.c */
int test_server_bg_routes(spk_app_t *app) {
  int rc = spk_app_route(app, "POST", "/bg/tasks", bg_tasks, NULL);
  if (!rc) rc = spk_app_route(app, "GET", "/bg/state", bg_state_get, NULL);
  return rc;
}
