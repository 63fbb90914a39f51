/* Background-task costs: the per-request overhead of spawning (test client, a route spawning
 * one task with a copied body vs the same route without), and the pool's throughput for no-op
 * tasks (spawn → run → free) at 1 and 2 workers. Not part of `make test`.
 *   bench/bg_bench.sh */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <spikard.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int noop(spk_bg_task_t *t, void *data) {
  (void)t, (void)data;
  return 0;
}

static int h_plain(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  return spk_res_send(res, 202, "application/json", "{}", 2);
}

static int h_spawn(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  spk_str_t body = spk_req_body(req);
  int rc = spk_bg_spawn_copy(req, noop, body.ptr, body.len);
  if (rc < 0) return rc;
  return spk_res_send(res, 202, "application/json", "{}", 2);
}

static double per_request_us(const char *target, int n) {
  spk_app_t *app = spk_app_new();
  spk_app_configure(app, "{\"background_tasks\": {\"max_queue\": 1000000, \"max_concurrency\": 1}}");
  spk_app_route(app, "POST", "/plain", h_plain, NULL);
  spk_app_route(app, "POST", "/spawn", h_spawn, NULL);
  spk_test_client_t *tc = spk_test_client_new(app);
  static const char body[] = "{\"event\":\"signup\",\"user\":\"someone@example.com\"}";
  spk_test_request_t rq = {.method = "POST", .target = target, .body = body,
                           .body_len = sizeof(body) - 1};
  double t0 = now_s();
  for (int i = 0; i < n; i++) {
    spk_test_response_t r;
    if (spk_test_client_send(tc, &rq, &r) != SPK_OK || r.status != 202) {
      fprintf(stderr, "request failed\n");
      return -1;
    }
    spk_test_response_free(&r);
  }
  spk_test_client_drain(tc, 60000);
  double dt = now_s() - t0;
  spk_test_client_free(tc);
  spk_app_free(app);
  return dt / n * 1e6;
}

static void pool_throughput(int workers, int n) {
  char conf[128];
  snprintf(conf, sizeof(conf),
           "{\"background_tasks\": {\"max_queue\": 10000000, \"max_concurrency\": %d}}", workers);
  spk_app_t *app = spk_app_new();
  spk_app_configure(app, conf);
  spk_app_freeze(app);
  double t0 = now_s();
  for (int i = 0; i < n; i++) spk_app_bg_spawn(app, noop, NULL, NULL);
  double spawned = now_s();
  spk_app_bg_wait(app, 60000);
  double done = now_s();
  spk_bg_stats_t st;
  spk_app_bg_stats(app, &st);
  printf("pool, %d worker(s): %d no-op tasks: spawn %.0f ns/task, all done in %.3f s "
         "(%.2f M tasks/s), completed %llu\n",
         workers, n, (spawned - t0) / n * 1e9, done - t0, n / (done - t0) / 1e6,
         (unsigned long long)st.completed);
  spk_app_free(app);
}

int main(void) {
  int n = 200000;
  double best_plain = 1e9, best_spawn = 1e9;
  for (int round = 0; round < 3; round++) { /* alternate, best of 3 */
    double p = per_request_us("/plain", n), s = per_request_us("/spawn", n);
    if (p < best_plain) best_plain = p;
    if (s < best_spawn) best_spawn = s;
  }
  printf("test client, %d requests (best of 3): plain %.3f us/request, spawning one task "
         "%.3f us/request (+%.0f ns)\n",
         n, best_plain, best_spawn, (best_spawn - best_plain) * 1000);
  pool_throughput(1, 1000000);
  pool_throughput(2, 1000000);
  return 0;
}
