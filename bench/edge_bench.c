/* Micro-benchmark of the edge middleware (build target spk-edge-bench):
 *   - request-id generation: spk__uuid4 (per-thread getrandom pool) vs one getrandom(16) per
 *     id;
 *   - whole requests through the in-memory test client (same pipeline as the server, minus
 *     sockets): baseline, request ids on, CORS simple request (allowed Origin), CORS preflight,
 *     access log (to /dev/null).
 * Prints ns per operation; the differences to the baseline are the middleware's cost.
 *   build/bench/spk-edge-bench [iterations]   (default 200000) */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "core/mw.h"
#include "spikard.h"
#include "spikard/middleware.h"
#include "spikard/testclient.h"

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int h_ok(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  spk_res_send(res, 200, "application/json", "{\"ok\":true}", 11);
  return SPK_HANDLER_DONE;
}

static double run_client(const char *config, const char *route_mw, const spk_test_request_t *req,
                         long iters) {
  spk_app_t *app = spk_app_new();
  if (config && spk_app_configure(app, config) != SPK_OK) {
    fprintf(stderr, "configure: %s\n", spk_app_last_error(app));
    exit(1);
  }
  spk_route_options_t o = {0};
  o.middleware = route_mw;
  spk_app_route_ex(app, "GET", "/items", h_ok, NULL, &o);
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t r;
  for (int i = 0; i < 1000; i++) { /* warm-up */
    spk_test_client_send(tc, req, &r);
    spk_test_response_free(&r);
  }
  double t0 = now_ns();
  for (long i = 0; i < iters; i++) {
    if (spk_test_client_send(tc, req, &r) != 0) exit(1);
    spk_test_response_free(&r);
  }
  double dt = (now_ns() - t0) / (double)iters;
  spk_test_client_free(tc);
  spk_app_free(app);
  return dt;
}

int main(int argc, char **argv) {
  long iters = argc > 1 ? atol(argv[1]) : 200000;
  char id[37];
  double t0 = now_ns();
  for (long i = 0; i < iters * 10; i++) spk__uuid4(id);
  double pooled = (now_ns() - t0) / (double)(iters * 10);
  unsigned char b[16];
  t0 = now_ns();
  for (long i = 0; i < iters; i++)
    if (getrandom(b, 16, 0) != 16) return 1;
  double direct = (now_ns() - t0) / (double)iters;
  printf("uuid4 (pooled getrandom, formatted)  %8.1f ns/id\n", pooled);
  printf("getrandom(16) per id (not used)      %8.1f ns/id\n", direct);

  static const char *cors = "{\"cors\": {\"allowed_origins\": [\"https://a.example\"], "
                            "\"allowed_methods\": [\"GET\"], \"allowed_headers\": "
                            "[\"Content-Type\"]}}";
  spk_test_header_t origin = {"Origin", "https://a.example"};
  spk_test_header_t pf[3] = {{"Origin", "https://a.example"},
                             {"Access-Control-Request-Method", "GET"},
                             {"Access-Control-Request-Headers", "content-type"}};
  spk_test_request_t plain = {.method = "GET", .target = "/items"};
  spk_test_request_t with_origin = {.method = "GET", .target = "/items", .headers = &origin,
                                    .header_count = 1};
  spk_test_request_t preflight = {.method = "OPTIONS", .target = "/items", .headers = pf,
                                  .header_count = 3};
  /* Rounds alternate between the configurations and the best round counts: the machine is
   * shared, and noise only ever adds time. */
  enum { ROUNDS = 5, NCFG = 7 };
  double best[NCFG];
  for (int k = 0; k < NCFG; k++) best[k] = 1e18;
  for (int round = 0; round < ROUNDS; round++) {
    double t[NCFG] = {
        run_client(NULL, NULL, &plain, iters / ROUNDS),
        run_client(NULL, NULL, &with_origin, iters / ROUNDS),
        run_client("{\"request_id\": {}}", NULL, &plain, iters / ROUNDS),
        run_client(NULL, cors, &with_origin, iters / ROUNDS),
        run_client(cors, NULL, &with_origin, iters / ROUNDS),
        run_client(NULL, cors, &preflight, iters / ROUNDS),
        run_client("{\"access_log\": {\"path\": \"/dev/null\"}}", NULL, &plain, iters / ROUNDS)};
    for (int k = 0; k < NCFG; k++)
      if (t[k] < best[k]) best[k] = t[k];
  }
  double base = best[0], base_o = best[1], rid = best[2], cors_simple = best[3],
         cors_app = best[4], cors_pf = best[5], log = best[6];
  printf("in-memory request, no middleware      %8.1f ns\n", base);
  printf("  same with an Origin header          %8.1f ns\n", base_o);
  printf("  request_id on (generated)           %8.1f ns  (%+.1f)\n", rid, rid - base);
  printf("  CORS simple request (route config)  %8.1f ns  (%+.1f vs Origin baseline)\n",
         cors_simple, cors_simple - base_o);
  printf("  CORS simple request (app config)    %8.1f ns  (%+.1f vs Origin baseline)\n",
         cors_app, cors_app - base_o);
  printf("  CORS preflight (204)                %8.1f ns\n", cors_pf);
  printf("  access_log common → /dev/null       %8.1f ns  (%+.1f)\n", log, log - base);
  return 0;
}
