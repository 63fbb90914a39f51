/* Rate limiting under allocation failure: configuring the section and serving requests through
 * it (admitted with RateLimit headers, refused with a 429) with every allocation point failing
 * in turn — an error code or an error response, never a crash or a leak. */
#include <stdlib.h>

#include "spikard.h"
#include "test.h"

static long live_, count_, fail_at_;

static void *t_malloc(size_t n) {
  if (fail_at_ && ++count_ == fail_at_) return NULL;
  char *p = malloc(n + 16);
  if (!p) return NULL;
  memcpy(p, &n, sizeof(n));
  live_++;
  return p + 16;
}
static void t_free(void *p) {
  if (!p) return;
  live_--;
  free((char *)p - 16);
}
static void *t_realloc(void *p, size_t n) {
  if (!p) return t_malloc(n);
  size_t old;
  memcpy(&old, (char *)p - 16, sizeof(old));
  void *q = t_malloc(n);
  if (!q) return NULL;
  memcpy(q, p, old < n ? old : n);
  t_free(p);
  return q;
}
static void *t_calloc(size_t c, size_t n) {
  void *p = t_malloc(c * n);
  if (p) memset(p, 0, c * n);
  return p;
}

static int ok_handler(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  return spk_res_send(res, 200, "application/json", "{\"ok\":true}", 11);
}

/* One full run; returns how many requests got a plausible answer. */
static int scenario(void) {
  spk_app_t *app = spk_app_new();
  if (!app) return -1;
  int answered = 0;
  if (spk_app_route(app, "GET", "/x", ok_handler, NULL) == SPK_OK &&
      spk_app_configure(app, "{\"rate_limit\": {\"per_second\": 1, \"burst\": 2, "
                             "\"max_clients\": 50, \"trusted_proxies\": [\"10.0.0.0/8\"]}}") ==
          SPK_OK) {
    spk_test_client_t *tc = spk_test_client_new(app);
    for (int i = 0; tc && i < 3; i++) {
      spk_test_response_t res;
      if (spk_test_client_get(tc, "GET", "/x", &res) == SPK_OK) {
        answered += res.status == 200 || res.status == 429 || res.status == 500;
        spk_test_response_free(&res);
      }
    }
    spk_test_client_free(tc);
  }
  spk_app_free(app);
  return answered;
}

static void test_every_allocation_fails_once(void) {
  CHECK_INT(spk_replace_allocator(t_malloc, t_realloc, t_calloc, t_free), 0);
  CHECK_INT(scenario(), 3);
  CHECK_INT(live_, 0);
  long n;
  for (n = 1; n < 5000; n++) {
    fail_at_ = n;
    count_ = 0;
    scenario();
    CHECK_INT(live_, 0);
    if (live_ != 0) {
      fprintf(stderr, "  leak with allocation #%ld failing\n", n);
      live_ = 0;
    }
    if (count_ < n) break; /* the run no longer reaches allocation n: all points covered */
  }
  CHECK(n < 5000);
  fail_at_ = 0;
}

int main(void) {
  RUN(test_every_allocation_fails_once);
  return test_report("ratelimit_alloc");
}
