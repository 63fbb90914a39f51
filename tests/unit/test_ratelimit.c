/* Rate limiting: GCRA arithmetic (clock injected), the bounded client table (eviction, bound,
 * threads), addresses / CIDR / X-Forwarded-For, and the middleware through the test client and
 * a real loopback server (trusted proxies). The Redis backend: test_ratelimit_redis.c. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "core/rl_table.h"
#include "proto/ipaddr.h"
#include "spikard.h"
#include "test.h"

#define S 1000000000ull /* one second in ns */

static void test_gcra_burst_and_rate(void) {
  spk__gcra_t g;
  CHECK_INT(spk__gcra_init(&g, 10, 3), 0); /* 10/s: one every 100 ms, bucket of 3 */
  CHECK_INT(g.interval_ns, 100000000);
  CHECK_INT(g.tau_ns, 300000000);
  spk__gcra_result_t r;
  uint64_t now = 1000 * S, tat = 0;
  for (int i = 0; i < 3; i++) {
    tat = spk__gcra_step(&g, tat, now, &r);
    CHECK(r.allowed);
    CHECK_INT(r.remaining, 2 - i);
    CHECK_INT(r.reset_ns, (uint64_t)(i + 1) * 100000000u);
  }
  uint64_t before = tat;
  tat = spk__gcra_step(&g, tat, now, &r);
  CHECK(!r.allowed);
  CHECK_INT(tat, before); /* a refusal costs nothing */
  CHECK_INT(r.retry_ns, 100000000);
  CHECK_INT(r.remaining, 0);
  CHECK_INT(r.reset_ns, 300000000);
  /* 99 ms later: still refused, 1 ms to go */
  tat = spk__gcra_step(&g, tat, now + 99000000u, &r);
  CHECK(!r.allowed);
  CHECK_INT(r.retry_ns, 1000000);
  /* exactly one interval later: one more, then refused again */
  tat = spk__gcra_step(&g, tat, now + 100000000u, &r);
  CHECK(r.allowed);
  CHECK_INT(r.remaining, 0);
  tat = spk__gcra_step(&g, tat, now + 100000000u, &r);
  CHECK(!r.allowed);
  /* steady state: one request per interval is always admitted, for a long time */
  uint64_t t = now + 200000000u;
  int refused = 0;
  for (int i = 0; i < 1000; i++, t += 100000000u) {
    tat = spk__gcra_step(&g, tat, t, &r);
    refused += !r.allowed;
  }
  CHECK_INT(refused, 0);
  /* idle long enough: the full burst is back */
  t += 10 * S;
  for (int i = 0; i < 3; i++) {
    tat = spk__gcra_step(&g, tat, t, &r);
    CHECK(r.allowed);
  }
  spk__gcra_step(&g, tat, t, &r);
  CHECK(!r.allowed);
}

static void test_gcra_slow_rates_and_ranges(void) {
  spk__gcra_t g;
  CHECK_INT(spk__gcra_init(&g, 0.5, 1), 0); /* one every 2 s */
  spk__gcra_result_t r;
  uint64_t tat = spk__gcra_step(&g, 0, 5 * S, &r);
  CHECK(r.allowed);
  tat = spk__gcra_step(&g, tat, 5 * S + 1, &r);
  CHECK(!r.allowed);
  CHECK_INT(r.retry_ns, 2 * S - 1);
  CHECK_INT(spk__gcra_init(&g, 0, 1), -1);
  CHECK_INT(spk__gcra_init(&g, -1, 1), -1);
  CHECK_INT(spk__gcra_init(&g, 1, 0), -1);
  CHECK_INT(spk__gcra_init(&g, 1e-9, 1000000), -1); /* tau would overflow */
  CHECK_INT(spk__gcra_init(&g, 1e12, 5), 0);        /* faster than 1 ns: clamped */
  CHECK_INT(g.interval_ns, 1);
}

static spk__rl_key_t key_n(uint32_t n) {
  spk__rl_key_t k = {{0}};
  k.b[10] = k.b[11] = 0xff;
  k.b[12] = (uint8_t)(n >> 24), k.b[13] = (uint8_t)(n >> 16);
  k.b[14] = (uint8_t)(n >> 8), k.b[15] = (uint8_t)n;
  return k;
}

static void test_table_separate_clients(void) {
  spk__rl_table_t *t = spk__rl_table_new(1000);
  spk__gcra_t g;
  spk__gcra_init(&g, 1, 2);
  spk__gcra_result_t r;
  spk__rl_key_t a = key_n(1), b = key_n(2);
  uint64_t now = 100 * S;
  spk__rl_table_check(t, &g, &a, now, &r);
  CHECK(r.allowed);
  spk__rl_table_check(t, &g, &a, now, &r);
  CHECK(r.allowed);
  spk__rl_table_check(t, &g, &a, now, &r);
  CHECK(!r.allowed);
  spk__rl_table_check(t, &g, &b, now, &r); /* b has its own bucket */
  CHECK(r.allowed);
  CHECK_INT(r.remaining, 1);
  spk__rl_table_check(t, &g, &a, now + S, &r); /* a token back after 1 s */
  CHECK(r.allowed);
  CHECK_INT(spk__rl_table_count(t), 2);
  spk__rl_table_free(t);
}

static void test_table_bound_and_eviction(void) {
  spk__rl_table_t *t = spk__rl_table_new(10);
  CHECK_INT(spk__rl_table_bound(t), 10);
  spk__gcra_t g;
  spk__gcra_init(&g, 1, 1);
  spk__gcra_result_t r;
  uint64_t now = 50 * S;
  for (uint32_t i = 0; i < 10; i++) {
    spk__rl_key_t k = key_n(i);
    spk__rl_table_check(t, &g, &k, now, &r);
  }
  CHECK_INT(spk__rl_table_count(t), 10);
  /* 2 s later every entry is idle: a new client sweeps them all out */
  now += 2 * S;
  spk__rl_key_t k = key_n(100);
  spk__rl_table_check(t, &g, &k, now, &r);
  CHECK(r.allowed);
  CHECK_INT(spk__rl_table_count(t), 1);
  /* ... and that client is still limited (its state survived the sweep) */
  spk__rl_table_check(t, &g, &k, now, &r);
  CHECK(!r.allowed);
  /* A flood of distinct live clients never grows the table beyond its bound, and the client
   * with the most debt keeps it longest. */
  spk__gcra_t g2;
  spk__gcra_init(&g2, 1, 1000);
  spk__rl_key_t heavy = key_n(7777);
  for (int i = 0; i < 900; i++) spk__rl_table_check(t, &g2, &heavy, now, &r);
  for (uint32_t i = 0; i < 5000; i++) {
    spk__rl_key_t c = key_n(1000 + i);
    spk__rl_table_check(t, &g2, &c, now, &r);
    CHECK(spk__rl_table_count(t) <= 10);
  }
  spk__rl_table_check(t, &g2, &heavy, now, &r);
  CHECK(r.allowed);
  CHECK_INT(r.remaining, 1000 - 901); /* its 901st request: the debt was kept */
  spk__rl_table_free(t);
  /* A large table: many shards, the bound holds overall. */
  t = spk__rl_table_new(20000);
  CHECK(spk__rl_table_bound(t) >= 20000 && spk__rl_table_bound(t) < 20100);
  for (uint32_t i = 0; i < 100000; i++) {
    spk__rl_key_t c = key_n(i);
    spk__rl_table_check(t, &g, &c, now, &r);
    CHECK(r.allowed);
  }
  CHECK(spk__rl_table_count(t) <= spk__rl_table_bound(t));
  spk__rl_table_free(t);
}

typedef struct hammer {
  spk__rl_table_t *t;
  const spk__gcra_t *g;
  int distinct;
  int id;
  int allowed;
} hammer_t;

static void *hammer_main(void *arg) {
  hammer_t *h = arg;
  spk__gcra_result_t r;
  for (int i = 0; i < 20000; i++) {
    spk__rl_key_t k = key_n(h->distinct ? (uint32_t)(h->id * 100000 + i % 500) : 42);
    spk__rl_table_check(h->t, h->g, &k, 10 * S, &r); /* a frozen clock: only the burst */
    h->allowed += r.allowed;
  }
  return NULL;
}

static void test_table_threads(void) {
  spk__rl_table_t *t = spk__rl_table_new(100000);
  spk__gcra_t g;
  spk__gcra_init(&g, 1, 777);
  enum { N = 4 };
  hammer_t h[N];
  pthread_t th[N];
  for (int d = 0; d < 2; d++) {
    int total = 0;
    for (int i = 0; i < N; i++) {
      h[i] = (hammer_t){t, &g, d, i + d * 10, 0};
      pthread_create(&th[i], NULL, hammer_main, &h[i]);
    }
    for (int i = 0; i < N; i++) pthread_join(th[i], NULL), total += h[i].allowed;
    /* one shared key: exactly the burst across all threads; distinct keys: 500 clients per
     * thread × burst 777 ≥ 40 requests each, so everything passes */
    CHECK_INT(total, d ? N * 20000 : 777);
  }
  CHECK_INT(spk__rl_table_count(t), 1 + N * 500);
  spk__rl_table_free(t);
}

static int ip(const char *s, uint8_t out[16]) { return spk__ip_parse(s, strlen(s), out); }

static void test_ip_parse(void) {
  uint8_t a[16], b[16];
  CHECK_INT(ip("192.168.1.2", a), 0);
  CHECK_INT(a[10], 0xff);
  CHECK_INT(a[15], 2);
  CHECK_INT(ip(" 192.168.1.2:8080 ", b), 0);
  CHECK(!memcmp(a, b, 16));
  CHECK_INT(ip("::ffff:192.168.1.2", b), 0); /* the same client in its v6 spelling */
  CHECK(!memcmp(a, b, 16));
  CHECK_INT(ip("2001:db8::1", a), 0);
  CHECK_INT(ip("[2001:db8::1]:443", b), 0);
  CHECK(!memcmp(a, b, 16));
  CHECK_INT(ip("[2001:db8::1]", b), 0);
  CHECK_INT(ip("fe80::1%eth0", b), 0);
  const char *bad[] = {"", "unknown", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4:", "1.2.3.4:x",
                       "[::1", "[::1]x", "::g", "1.2.3.4:123456", "test", "unix"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) CHECK_INT(ip(bad[i], a), -1);
  char txt[64];
  ip("10.1.2.3", a);
  spk__ip_format(a, txt, sizeof(txt));
  CHECK_STR(txt, "10.1.2.3");
  ip("2001:db8::1", a);
  spk__ip_format(a, txt, sizeof(txt));
  CHECK_STR(txt, "2001:db8::1");
}

static void test_cidr(void) {
  spk__cidr_t c;
  uint8_t a[16];
  CHECK_INT(spk__cidr_parse("10.0.0.0/8", 10, &c), 0);
  ip("10.200.3.4", a);
  CHECK(spk__cidr_match(&c, a));
  ip("11.0.0.1", a);
  CHECK(!spk__cidr_match(&c, a));
  CHECK_INT(spk__cidr_parse("192.168.1.77/26", 15, &c), 0); /* host bits cleared */
  ip("192.168.1.64", a);
  CHECK(spk__cidr_match(&c, a));
  ip("192.168.1.128", a);
  CHECK(!spk__cidr_match(&c, a));
  CHECK_INT(spk__cidr_parse("127.0.0.1", 9, &c), 0);
  ip("127.0.0.1", a);
  CHECK(spk__cidr_match(&c, a));
  ip("127.0.0.2", a);
  CHECK(!spk__cidr_match(&c, a));
  CHECK_INT(spk__cidr_parse("fd00::/8", 8, &c), 0);
  ip("fd12::5", a);
  CHECK(spk__cidr_match(&c, a));
  ip("fe12::5", a);
  CHECK(!spk__cidr_match(&c, a));
  CHECK_INT(spk__cidr_parse("0.0.0.0/0", 9, &c), 0);
  ip("8.8.8.8", a);
  CHECK(spk__cidr_match(&c, a));
  ip("2001:db8::1", a); /* an IPv4 /0 covers IPv4 only */
  CHECK(!spk__cidr_match(&c, a));
  const char *bad[] = {"10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "nope/8", "/8",
                       "10.0.0.0/1234"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
    CHECK_INT(spk__cidr_parse(bad[i], strlen(bad[i]), &c), -1);
}

static int xff(const char *const *vals, size_t n, const char *want) {
  spk__cidr_t t[2];
  spk__cidr_parse("10.0.0.0/8", 10, &t[0]);
  spk__cidr_parse("2001:db8::/32", 13, &t[1]);
  size_t lens[8];
  for (size_t i = 0; i < n; i++) lens[i] = strlen(vals[i]);
  uint8_t out[16];
  int rc = spk__xff_client(vals, lens, n, t, 2, out);
  if (rc != 1) return rc;
  char txt[64];
  spk__ip_format(out, txt, sizeof(txt));
  return strcmp(txt, want) == 0 ? 1 : 99;
}

static void test_xff(void) {
  const char *v1[] = {"203.0.113.7, 10.0.0.2, 10.1.1.1"};
  CHECK_INT(xff(v1, 1, "203.0.113.7"), 1);
  /* a client-supplied prefix is ignored: right-most untrusted wins */
  const char *v2[] = {"6.6.6.6, 203.0.113.7, 10.0.0.2"};
  CHECK_INT(xff(v2, 1, "203.0.113.7"), 1);
  /* several fields form one list, in order */
  const char *v3[] = {"6.6.6.6", "198.51.100.4", "10.0.0.9,2001:db8::7"};
  CHECK_INT(xff(v3, 3, "198.51.100.4"), 1);
  /* all trusted: the left-most */
  const char *v4[] = {"10.9.9.9 , 10.0.0.1"};
  CHECK_INT(xff(v4, 1, "10.9.9.9"), 1);
  /* ports, brackets, empty elements */
  const char *v5[] = {"[2001:db9::1]:80, , 10.0.0.1:1234,"};
  CHECK_INT(xff(v5, 1, "2001:db9::1"), 1);
  /* garbage before an untrusted address is found: refuse */
  const char *v6[] = {"203.0.113.7, bogus, 10.0.0.1"};
  CHECK_INT(xff(v6, 1, ""), -1);
  /* garbage further left than the client does not matter */
  const char *v7[] = {"bogus, 203.0.113.7, 10.0.0.1"};
  CHECK_INT(xff(v7, 1, "203.0.113.7"), 1);
  const char *v8[] = {"", " , "};
  CHECK_INT(xff(v8, 2, ""), 0);
}

/* ---- the middleware ---- */

static int ok_handler(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  return spk_res_send(res, 200, "application/json", "{\"ok\":true}", 11);
}

static spk_app_t *app_with(const char *cfg) {
  spk_app_t *app = spk_app_new();
  spk_app_route(app, "GET", "/x", ok_handler, NULL);
  spk_app_route(app, "GET", "/n/{id:int}", ok_handler, NULL);
  if (cfg && spk_app_configure(app, cfg) != SPK_OK) {
    fprintf(stderr, "configure: %s\n", spk_app_last_error(app));
    spk_app_free(app);
    return NULL;
  }
  return app;
}

static void test_configure_errors(void) {
  const char *bad[] = {
      "{\"rate_limit\": 5}",
      "{\"rate_limit\": {\"per_second\": 0}}",
      "{\"rate_limit\": {\"per_second\": -1}}",
      "{\"rate_limit\": {\"per_second\": \"10\"}}",
      "{\"rate_limit\": {\"burst\": 0}}",
      "{\"rate_limit\": {\"burst\": 1.5}}",
      "{\"rate_limit\": {\"ip_based\": 1}}",
      "{\"rate_limit\": {\"max_clients\": 0}}",
      "{\"rate_limit\": {\"trusted_proxies\": [\"10.0.0.0/99\"]}}",
      "{\"rate_limit\": {\"trusted_proxies\": \"10.0.0.1\"}}",
      "{\"rate_limit\": {\"backend\": \"memcached\"}}",
      "{\"rate_limit\": {\"redis\": {\"port\": 1}}}",
      "{\"rate_limit\": {\"backend\": \"redis\", \"redis\": {\"port\": 70000}}}",
      "{\"rate_limit\": {\"backend\": \"redis\", \"redis\": {\"timeout_ms\": 0}}}",
      "{\"rate_limit\": {\"backend\": \"redis\", \"redis\": {\"db\": 1}}}",
      "{\"rate_limit\": {\"on_error\": \"maybe\"}}",
      "{\"rate_limit\": {\"warmup_requests\": 1}}",
      "{\"rate_limit\": {\"per_second\": 0.000000001, \"burst\": 1000000}}",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    spk_app_t *app = spk_app_new();
    int rc = spk_app_configure(app, bad[i]);
    CHECK_INT(rc, SPK_EINVAL);
    if (rc != SPK_EINVAL) fprintf(stderr, "  accepted: %s\n", bad[i]);
    CHECK(strstr(spk_app_last_error(app), "rate_limit") != NULL);
    spk_app_free(app);
  }
  spk_app_t *app = app_with("{\"rate_limit\": {\"enabled\": false, \"burst\": 1}}");
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t res;
  for (int i = 0; i < 3; i++) {
    spk_test_client_get(tc, "GET", "/x", &res);
    CHECK_INT(res.status, 200); /* off */
    CHECK(spk_test_response_header(&res, "ratelimit-limit") == NULL);
    spk_test_response_free(&res);
  }
  spk_test_client_free(tc);
  spk_app_free(app);
}

static void test_middleware_answers(void) {
  spk_app_t *app = app_with("{\"rate_limit\": {\"per_second\": 2, \"burst\": 3}}");
  spk_test_client_t *tc = spk_test_client_new(app);
  spk_test_response_t res;
  for (int i = 0; i < 3; i++) {
    spk_test_client_get(tc, "GET", "/x", &res);
    CHECK_INT(res.status, 200);
    CHECK_STR(spk_test_response_header(&res, "ratelimit-limit"), "3");
    char want[8];
    snprintf(want, sizeof(want), "%d", 2 - i);
    CHECK_STR(spk_test_response_header(&res, "ratelimit-remaining"), want);
    /* full again after (i + 1) half-seconds: rounded up to whole seconds */
    snprintf(want, sizeof(want), "%d", (i + 2) / 2);
    CHECK_STR(spk_test_response_header(&res, "ratelimit-reset"), want);
    spk_test_response_free(&res);
  }
  spk_test_client_get(tc, "GET", "/x", &res);
  CHECK_INT(res.status, 429);
  CHECK_MEM(res.body, res.body_len, "Too Many Requests! Wait for 1s");
  CHECK_STR(spk_test_response_header(&res, "content-type"), "text/plain; charset=utf-8");
  CHECK_STR(spk_test_response_header(&res, "retry-after"), "1");
  CHECK_STR(spk_test_response_header(&res, "x-ratelimit-after"), "1");
  CHECK_STR(spk_test_response_header(&res, "ratelimit-limit"), "3");
  CHECK_STR(spk_test_response_header(&res, "ratelimit-remaining"), "0");
  CHECK_STR(spk_test_response_header(&res, "ratelimit-reset"), "2");
  spk_test_response_free(&res);
  /* the limiter runs before validation: a 422 spends a token too, and a 404 does not reach it */
  spk_test_client_get(tc, "GET", "/nowhere", &res);
  CHECK_INT(res.status, 404);
  spk_test_response_free(&res);
  spk_test_client_free(tc);
  spk_app_free(app);

  /* A slow rate: the wait is reported in whole seconds, rounded up. */
  app = app_with("{\"rate_limit\": {\"per_second\": 0.25, \"burst\": 1, \"headers\": false}}");
  tc = spk_test_client_new(app);
  spk_test_client_get(tc, "GET", "/x", &res);
  CHECK_INT(res.status, 200);
  CHECK(spk_test_response_header(&res, "ratelimit-limit") == NULL); /* headers: false */
  spk_test_response_free(&res);
  spk_test_client_get(tc, "GET", "/x", &res);
  CHECK_INT(res.status, 429);
  CHECK_STR(spk_test_response_header(&res, "retry-after"), "4");
  CHECK_MEM(res.body, res.body_len, "Too Many Requests! Wait for 4s");
  CHECK(spk_test_response_header(&res, "ratelimit-limit") == NULL);
  spk_test_response_free(&res);
  spk_test_client_free(tc);
  spk_app_free(app);

  /* Validation failures use the budget; the 422 still carries the RateLimit headers. */
  app = app_with("{\"rate_limit\": {\"per_second\": 1, \"burst\": 1}}");
  tc = spk_test_client_new(app);
  spk_test_client_get(tc, "GET", "/n/abc", &res);
  CHECK(res.status == 422 || res.status == 404);
  spk_test_response_free(&res);
  spk_test_client_get(tc, "GET", "/x", &res);
  CHECK_INT(res.status, 429);
  spk_test_response_free(&res);
  spk_test_client_free(tc);
  spk_app_free(app);
}

/* ---- over loopback: peers and X-Forwarded-For ---- */

static int http_get(int port, const char *extra) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  char req[512];
  int n = snprintf(req, sizeof(req), "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n%s\r\n",
                   extra ? extra : "");
  if (send(fd, req, (size_t)n, 0) != n) {
    close(fd);
    return -1;
  }
  char buf[4096];
  size_t got = 0;
  ssize_t k;
  while (got < sizeof(buf) - 1 && (k = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
    got += (size_t)k;
  close(fd);
  buf[got] = '\0';
  int status = -1;
  if (sscanf(buf, "HTTP/1.1 %d", &status) != 1) return -1;
  return status;
}

static spk_server_t *serve(spk_app_t *app, int *port) {
  spk_server_config_t cfg;
  spk_server_config_default(&cfg);
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  cfg.workers = 2;
  cfg.handle_signals = 0;
  cfg.shutdown_timeout_ms = 1000;
  spk_server_t *srv = NULL;
  if (spk_server_new(&srv, app, &cfg) != SPK_OK || spk_server_start(srv) != SPK_OK) {
    spk_server_free(srv);
    return NULL;
  }
  *port = spk_server_port(srv);
  return srv;
}

static void test_forwarded_for(void) {
  /* Behind a trusted proxy (loopback here): one bucket per forwarded client. */
  spk_app_t *app = app_with("{\"rate_limit\": {\"per_second\": 1, \"burst\": 1, "
                            "\"trusted_proxies\": [\"127.0.0.0/8\", \"10.0.0.0/8\"]}}");
  int port = 0;
  spk_server_t *srv = serve(app, &port);
  CHECK(srv != NULL);
  if (srv) {
    CHECK_INT(http_get(port, "X-Forwarded-For: 203.0.113.1\r\n"), 200);
    CHECK_INT(http_get(port, "X-Forwarded-For: 203.0.113.1\r\n"), 429);
    CHECK_INT(http_get(port, "X-Forwarded-For: 203.0.113.2, 10.0.0.5\r\n"), 200);
    /* a client cannot escape by prepending addresses: the right-most untrusted one counts */
    CHECK_INT(http_get(port, "X-Forwarded-For: 1.1.1.1, 203.0.113.2\r\n"), 429);
    /* no header: the proxy itself is the client */
    CHECK_INT(http_get(port, NULL), 200);
    CHECK_INT(http_get(port, NULL), 429);
    /* a broken chain falls back to the peer (already limited) */
    CHECK_INT(http_get(port, "X-Forwarded-For: 203.0.113.9, ???\r\n"), 429);
    spk_server_free(srv);
  }
  spk_app_free(app);
  /* Without trusted proxies the header is the client's own claim: ignored. */
  app = app_with("{\"rate_limit\": {\"per_second\": 1, \"burst\": 1}}");
  srv = serve(app, &port);
  CHECK(srv != NULL);
  if (srv) {
    CHECK_INT(http_get(port, "X-Forwarded-For: 203.0.113.1\r\n"), 200);
    CHECK_INT(http_get(port, "X-Forwarded-For: 203.0.113.2\r\n"), 429);
    spk_server_free(srv);
  }
  spk_app_free(app);
}

int main(void) {
  RUN(test_gcra_burst_and_rate);
  RUN(test_gcra_slow_rates_and_ranges);
  RUN(test_table_separate_clients);
  RUN(test_table_bound_and_eviction);
  RUN(test_table_threads);
  RUN(test_ip_parse);
  RUN(test_cidr);
  RUN(test_xff);
  RUN(test_configure_errors);
  RUN(test_middleware_answers);
  RUN(test_forwarded_for);
  return test_report("ratelimit");
}
