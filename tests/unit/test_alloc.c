/* The replaceable allocator: every byte goes through it, every allocation is released, and a
 * failing allocation anywhere on the request path becomes an error response or an error code —
 * never a crash or a leak. */
#include <stdlib.h>

#include "spikard.h"
#include "test.h"

static long live_;
static long count_;
static long fail_at_; /* 0: never */

static void *t_malloc(size_t n) {
  if (fail_at_ && ++count_ == fail_at_) return NULL;
  char *p = malloc(n + 16);
  if (!p) return NULL;
  live_++;
  return p + 16;
}
static void t_free(void *p) {
  if (!p) return;
  live_--;
  free((char *)p - 16);
}
/* The block header stores the size, so realloc can copy. */
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
static void *t_malloc_sized(size_t n) {
  void *p = t_malloc(n);
  if (p) memcpy((char *)p - 16, &n, sizeof(n));
  return p;
}
static void *t_calloc_sized(size_t c, size_t n) {
  void *p = t_malloc_sized(c * n);
  if (p) memset(p, 0, c * n);
  return p;
}
static void *t_realloc_sized(void *p, size_t n) {
  void *q = t_realloc(p, n);
  if (q) memcpy((char *)q - 16, &n, sizeof(n));
  return q;
}

static int h_json(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  spk_str_t id;
  spk_req_param(req, "id", &id);
  spk_str_t q;
  spk_req_query(req, "q", &q);
  spk_json_writer_t *w = spk_res_json_begin(res);
  if (!w) return SPK_ENOMEM;
  spk_json_object_open(w);
  spk_json_key(w, "id");
  spk_json_string_n(w, id.ptr, id.len);
  spk_json_object_close(w);
  int rc = spk_res_json_end(w);
  if (rc) return rc;
  return spk_res_header(res, "X-Extra", "1");
}

static void one_round(int *status) {
  spk_app_t *app = spk_app_new();
  if (!app) {
    *status = -1;
    return;
  }
  if (spk_app_route(app, "POST", "/items/{id:int}", h_json, NULL) != 0) {
    spk_app_free(app);
    *status = -2;
    return;
  }
  spk_test_client_t *tc = spk_test_client_new(app);
  if (!tc) {
    spk_app_free(app);
    *status = -3;
    return;
  }
  spk_test_header_t h[] = {{"Cookie", "a=b"}};
  spk_test_request_t req = {.method = "POST", .target = "/items/42?q=x", .headers = h,
                            .header_count = 1, .body = "hello", .body_len = 5, .chunked = 1};
  spk_test_response_t r;
  int rc = spk_test_client_send(tc, &req, &r);
  *status = rc == 0 ? r.status : rc;
  if (rc == 0) spk_test_response_free(&r);
  spk_test_client_free(tc);
  spk_app_free(app);
}

int main(void) {
  CHECK_INT(spk_replace_allocator(NULL, NULL, NULL, NULL), SPK_EINVAL);
  CHECK_INT(spk_replace_allocator(t_malloc_sized, t_realloc_sized, t_calloc_sized, t_free), 0);

  test_current_ = "counting";
  int status;
  one_round(&status);
  CHECK_INT(status, 200);
  CHECK_INT(live_, 0);

  /* Fail the Nth allocation for every N until a round completes without hitting it. */
  test_current_ = "fail-nth";
  long n;
  int outcomes_500 = 0, outcomes_err = 0;
  for (n = 1; n < 10000; n++) {
    fail_at_ = n;
    count_ = 0;
    one_round(&status);
    CHECK_INT(live_, 0);
    if (live_ != 0) {
      fprintf(stderr, "  leak when allocation #%ld fails\n", n);
      live_ = 0;
    }
    if (count_ < n) break; /* the failure point is past the end of the round */
    if (status == 500) outcomes_500++;
    else if (status != 200) outcomes_err++;
  }
  fail_at_ = 0;
  printf("fail-nth: %ld allocation points, %d answered 500, %d returned an error code\n", n - 1,
         outcomes_500, outcomes_err);
  CHECK(n > 10);
  return test_report("alloc");
}
