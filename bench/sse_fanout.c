/* SSE fan-out server for bench/sse_fanout.sh (not a test).
 *
 *   sse_fanout [--port N] [--workers N]
 *
 * GET /events subscribes an event stream. One publisher thread broadcasts events as fast as it
 * can: each event ("id: N\ndata: {"seq":N,"pad":"…"}\n\n", encoded once) is pushed to every
 * subscriber with spk_stream_write; a subscriber whose queue is full (1 MiB, SPK_EAGAIN) misses
 * that event — the slow-consumer rule a real hub needs. Prints "PORT n", serves until SIGTERM. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <spikard.h>

typedef struct sub {
  spk_stream_t *s;
  struct sub *next;
} sub_t;

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static sub_t *subs;
static atomic_int stopping;

static void on_cancel(spk_stream_t *s, void *ud) {
  (void)ud;
  pthread_mutex_lock(&mu);
  for (sub_t **p = &subs; *p; p = &(*p)->next)
    if ((*p)->s == s) {
      sub_t *x = *p;
      *p = x->next;
      free(x);
      break;
    }
  pthread_mutex_unlock(&mu);
  spk_stream_abort(s);
}

static int events(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  (void)ud;
  sub_t *x = malloc(sizeof(*x));
  if (!x) return SPK_ENOMEM;
  spk_sse_options_t o = {.cancel = on_cancel};
  int rc = spk_res_sse(res, &o, &x->s);
  if (rc) {
    free(x);
    return rc;
  }
  pthread_mutex_lock(&mu);
  x->next = subs;
  subs = x;
  pthread_mutex_unlock(&mu);
  return SPK_HANDLER_DONE;
}

static void *publisher(void *arg) {
  (void)arg;
  unsigned long long seq = 0;
  char buf[256];
  while (!atomic_load(&stopping)) {
    seq++;
    int n = snprintf(buf, sizeof(buf), "id: %llu\ndata: {\"seq\":%llu,\"pad\":\"%s\"}\n\n", seq,
                     seq, "0123456789abcdef0123456789abcdef");
    int sent = 0, nsubs = 0;
    pthread_mutex_lock(&mu);
    for (sub_t *x = subs; x; x = x->next, nsubs++)
      sent += spk_stream_write(x->s, buf, (size_t)n) == SPK_OK;
    pthread_mutex_unlock(&mu);
    if (!sent) { /* nobody listening, or everyone is full: let the loop drain */
      struct timespec ts = {0, nsubs ? 50000 : 1000000};
      nanosleep(&ts, NULL);
    }
  }
  return NULL;
}

int main(int argc, char **argv) {
  spk_server_config_t cfg;
  spk_server_config_default(&cfg);
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  cfg.workers = 1;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!strcmp(argv[i], "--port")) cfg.port = atoi(argv[i + 1]);
    else if (!strcmp(argv[i], "--workers")) cfg.workers = atoi(argv[i + 1]);
  }
  spk_app_t *app = spk_app_new();
  spk_server_t *srv = NULL;
  int rc = spk_app_route(app, "GET", "/events", events, NULL);
  if (!rc) rc = spk_server_new(&srv, app, &cfg);
  if (rc) {
    fprintf(stderr, "sse_fanout: %s\n", spk_strerror(rc));
    return 1;
  }
  pthread_t th;
  pthread_create(&th, NULL, publisher, NULL);
  printf("PORT %d\n", spk_server_port(srv));
  fflush(stdout);
  rc = spk_server_run(srv);
  atomic_store(&stopping, 1);
  pthread_join(th, NULL);
  spk_server_free(srv);
  spk_app_free(app);
  return rc ? 1 : 0;
}
