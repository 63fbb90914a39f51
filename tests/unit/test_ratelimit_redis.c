/* Rate limiting with the Redis backend, against a real redis-server started here on a free
 * loopback port (no persistence) and stopped at the end. Two apps stand for two instances
 * behind a load balancer: they must share one budget. Then Redis hangs (SIGSTOP: timeouts) and
 * goes away (SIGTERM: connection refused), and on_error decides: allow (fail open) or deny
 * (503). Skipped, with a message, when redis-server is not installed. */
#include <arpa/inet.h>
#include <hiredis/hiredis.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "spikard.h"
#include "test.h"

static int redis_port;
static pid_t redis_pid;

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int free_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sa);
  int port = -1;
  if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
      getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
    port = ntohs(sa.sin_port);
  close(fd);
  return port;
}

static const char *find_redis(void) {
  static char path[512];
  const char *env = getenv("PATH");
  if (!env) env = "/usr/bin:/bin";
  char dirs[2048];
  snprintf(dirs, sizeof(dirs), "%s:/usr/sbin:/usr/local/bin", env);
  for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save)) {
    snprintf(path, sizeof(path), "%s/redis-server", d);
    if (access(path, X_OK) == 0) return path;
  }
  return NULL;
}

/* A synchronous command to the test's Redis (setup and inspection only). */
static redisReply *cmd(const char *fmt, const char *arg) {
  struct timeval tv = {1, 0};
  redisContext *c = redisConnectWithTimeout("127.0.0.1", redis_port, tv);
  if (!c || c->err) {
    if (c) redisFree(c);
    return NULL;
  }
  redisSetTimeout(c, tv);
  redisReply *r = arg ? redisCommand(c, fmt, arg) : redisCommand(c, fmt);
  redisFree(c);
  return r;
}

static int start_redis(const char *bin) {
  redis_port = free_port();
  if (redis_port <= 0) return -1;
  char port[16];
  snprintf(port, sizeof(port), "%d", redis_port);
  redis_pid = fork();
  if (redis_pid < 0) return -1;
  if (redis_pid == 0) {
    freopen("/dev/null", "w", stdout);
    execl(bin, bin, "--port", port, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
          "--daemonize", "no", "--dir", "/tmp", (char *)NULL);
    _exit(127);
  }
  for (double end = now_s() + 10; now_s() < end;) { /* bounded wait for readiness */
    redisReply *r = cmd("PING", NULL);
    int ok = r && r->type == REDIS_REPLY_STATUS;
    if (r) freeReplyObject(r);
    if (ok) return 0;
    int st;
    if (waitpid(redis_pid, &st, WNOHANG) == redis_pid) {
      redis_pid = 0;
      return -1;
    }
    usleep(20000);
  }
  return -1;
}

static void stop_redis(void) {
  if (redis_pid <= 0) return;
  kill(redis_pid, SIGCONT);
  kill(redis_pid, SIGTERM);
  int st;
  for (int i = 0; i < 200 && waitpid(redis_pid, &st, WNOHANG) == 0; i++) usleep(10000);
  if (waitpid(redis_pid, &st, WNOHANG) == 0) {
    kill(redis_pid, SIGKILL);
    waitpid(redis_pid, &st, 0);
  }
  redis_pid = 0;
}

static int ok_handler(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  return spk_res_send(res, 200, "application/json", "{\"ok\":true}", 11);
}

static char prefix_[64];

static spk_app_t *redis_app(const char *extra) {
  char cfg[1024];
  snprintf(cfg, sizeof(cfg),
           "{\"rate_limit\": {\"per_second\": 1, \"burst\": 3, \"backend\": \"redis\", "
           "\"redis\": {\"host\": \"127.0.0.1\", \"port\": %d, \"key_prefix\": \"%s\", "
           "\"timeout_ms\": 100}%s}}",
           redis_port, prefix_, extra ? extra : "");
  spk_app_t *app = spk_app_new();
  spk_app_route(app, "GET", "/x", ok_handler, NULL);
  if (spk_app_configure(app, cfg) != SPK_OK) {
    fprintf(stderr, "configure: %s\n", spk_app_last_error(app));
    spk_app_free(app);
    return NULL;
  }
  return app;
}

static int get(spk_test_client_t *tc, int *has_headers, char *retry, size_t cap) {
  spk_test_response_t res;
  if (spk_test_client_get(tc, "GET", "/x", &res) != SPK_OK) return -1;
  int st = res.status;
  if (has_headers) *has_headers = spk_test_response_header(&res, "ratelimit-limit") != NULL;
  if (retry) {
    const char *r = spk_test_response_header(&res, "retry-after");
    snprintf(retry, cap, "%s", r ? r : "");
  }
  spk_test_response_free(&res);
  return st;
}

static void test_shared_budget(void) {
  spk_app_t *a = redis_app(NULL), *b = redis_app(NULL);
  CHECK(a && b);
  if (!a || !b) return;
  spk_test_client_t *ta = spk_test_client_new(a), *tb = spk_test_client_new(b);
  int h = 0;
  char retry[16];
  /* burst 3 shared by both instances: A, B, A pass; then both refuse */
  CHECK_INT(get(ta, &h, NULL, 0), 200);
  CHECK(h);
  CHECK_INT(get(tb, NULL, NULL, 0), 200);
  CHECK_INT(get(ta, NULL, NULL, 0), 200);
  CHECK_INT(get(tb, NULL, retry, sizeof(retry)), 429);
  CHECK_STR(retry, "1");
  CHECK_INT(get(ta, NULL, NULL, 0), 429);
  /* the state lives in Redis, under the prefix, with an expiry */
  char key[128];
  snprintf(key, sizeof(key), "%sname:test", prefix_);
  redisReply *r = cmd("PTTL %s", key);
  CHECK(r && r->type == REDIS_REPLY_INTEGER && r->integer > 2000 && r->integer <= 3001);
  if (r) freeReplyObject(r);
  /* one token back per second, whichever instance asks */
  usleep(1100000);
  CHECK_INT(get(tb, NULL, NULL, 0), 200);
  CHECK_INT(get(ta, NULL, NULL, 0), 429);
  /* the script cache is flushed (a Redis restart or failover): EVALSHA → NOSCRIPT → EVAL */
  r = cmd("SCRIPT FLUSH", NULL);
  if (r) freeReplyObject(r);
  CHECK_INT(get(ta, &h, NULL, 0), 429);
  CHECK(h); /* answered by Redis, not by the failure policy */
  spk_test_client_free(ta);
  spk_test_client_free(tb);
  spk_app_free(a);
  spk_app_free(b);
}

/* The same through real servers: the async step resumes on the worker loop. */
static int http_get(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct timeval tv = {5, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
    close(fd);
    return -1;
  }
  const char req[] = "GET /x HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n";
  if (send(fd, req, sizeof(req) - 1, 0) < 0) {
    close(fd);
    return -1;
  }
  char buf[2048];
  size_t got = 0;
  ssize_t k;
  while (got < sizeof(buf) - 1 && (k = recv(fd, buf + got, sizeof(buf) - 1 - got, 0)) > 0)
    got += (size_t)k;
  close(fd);
  buf[got] = '\0';
  int st = -1;
  sscanf(buf, "HTTP/1.1 %d", &st);
  return st;
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

static void test_servers(void) {
  snprintf(prefix_ + strlen(prefix_), sizeof(prefix_) - strlen(prefix_), "srv:");
  spk_app_t *a = redis_app(NULL), *b = redis_app(NULL);
  int pa = 0, pb = 0;
  spk_server_t *sa = a ? serve(a, &pa) : NULL, *sb = b ? serve(b, &pb) : NULL;
  CHECK(sa && sb);
  if (sa && sb) {
    CHECK_INT(http_get(pa), 200);
    CHECK_INT(http_get(pb), 200);
    CHECK_INT(http_get(pb), 200);
    CHECK_INT(http_get(pa), 429);
    CHECK_INT(http_get(pb), 429);
  }
  spk_server_free(sa);
  spk_server_free(sb);
  spk_app_free(a);
  spk_app_free(b);
}

static void test_failure_policy(void) {
  snprintf(prefix_ + strlen(prefix_), sizeof(prefix_) - strlen(prefix_), "fail:");
  spk_app_t *open_app = redis_app(NULL);
  spk_app_t *closed = redis_app(", \"on_error\": \"deny\"");
  CHECK(open_app && closed);
  if (!open_app || !closed) return;
  spk_test_client_t *to = spk_test_client_new(open_app), *tcl = spk_test_client_new(closed);
  int h = 0;
  char retry[16];
  CHECK_INT(get(to, &h, NULL, 0), 200); /* connected and answered */
  CHECK(h);
  CHECK_INT(get(tcl, &h, NULL, 0), 200);
  CHECK(h);
  /* Redis hangs: every request is decided by the policy within about timeout_ms */
  kill(redis_pid, SIGSTOP);
  for (int i = 0; i < 5; i++) {
    double t0 = now_s();
    CHECK_INT(get(to, &h, NULL, 0), 200); /* fail open, even past the burst */
    CHECK(!h);
    CHECK_INT(get(tcl, NULL, retry, sizeof(retry)), 503);
    CHECK_STR(retry, "1");
    double dt = now_s() - t0;
    CHECK(dt < 1.0);
  }
  /* Redis resumes: answers come back (the budget counted only what Redis saw) */
  kill(redis_pid, SIGCONT);
  int back = 0;
  for (double end = now_s() + 5; now_s() < end && !back;) {
    int st = get(to, &h, NULL, 0);
    back = h && (st == 200 || st == 429);
    if (!back) usleep(50000);
  }
  CHECK(back);
  /* Redis is gone: connection refused, decided at once */
  stop_redis();
  double t0 = now_s();
  for (int i = 0; i < 10; i++) {
    CHECK_INT(get(to, &h, NULL, 0), 200);
    CHECK(!h);
    CHECK_INT(get(tcl, NULL, NULL, 0), 503);
  }
  CHECK(now_s() - t0 < 3.0);
  spk_test_client_free(to);
  spk_test_client_free(tcl);
  spk_app_free(open_app); /* stops the client threads with nothing pending */
  spk_app_free(closed);
}

int main(void) {
  const char *bin = find_redis();
  if (!bin) {
    printf("ratelimit_redis: SKIPPED — redis-server not found in PATH (apt-get install "
           "redis-server)\n");
    return 0;
  }
  signal(SIGPIPE, SIG_IGN);
  if (start_redis(bin) != 0) {
    fprintf(stderr, "FAIL: redis-server did not start on 127.0.0.1:%d\n", redis_port);
    stop_redis();
    return 1;
  }
  snprintf(prefix_, sizeof(prefix_), "spk:test:%d:", (int)getpid());
  RUN(test_shared_budget);
  RUN(test_servers);
  RUN(test_failure_policy);
  stop_redis();
  return test_report("ratelimit_redis");
}
