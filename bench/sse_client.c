/* SSE fan-out load client for bench/sse_fanout.sh: opens C connections to
 * http://127.0.0.1:PORT/events, reads for WARMUP + DURATION seconds and prints the events
 * ("\n\n"-terminated blocks) received per second during DURATION, in total and the slowest
 * and fastest connection. One thread, epoll, no parsing beyond counting.
 *
 *   sse_client PORT CONNECTIONS DURATION_S [WARMUP_S] */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef struct conn {
  int fd;
  char last; /* last byte seen: "\n\n" may straddle two reads */
  unsigned long long events;
} conn_t;

int main(int argc, char **argv) {
  if (argc < 4) {
    fprintf(stderr, "usage: sse_client PORT CONNECTIONS DURATION_S [WARMUP_S]\n");
    return 2;
  }
  int port = atoi(argv[1]), n = atoi(argv[2]);
  double duration = atof(argv[3]), warmup = argc > 4 ? atof(argv[4]) : 1.0;
  conn_t *c = calloc((size_t)n, sizeof(*c));
  int ep = epoll_create1(0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);
  const char req[] = "GET /events HTTP/1.1\r\nHost: bench\r\nAccept: text/event-stream\r\n\r\n";
  for (int i = 0; i < n; i++) {
    c[i].fd = socket(AF_INET, SOCK_STREAM, 0);
    if (connect(c[i].fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        write(c[i].fd, req, sizeof(req) - 1) != (ssize_t)(sizeof(req) - 1)) {
      perror("connect");
      return 1;
    }
    struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
    epoll_ctl(ep, EPOLL_CTL_ADD, c[i].fd, &ev);
  }
  static char buf[1 << 16];
  double start = now_s(), measure = start + warmup, end = measure + duration;
  int measuring = 0;
  unsigned long long total = 0;
  struct epoll_event evs[256];
  for (;;) {
    double t = now_s();
    if (!measuring && t >= measure) {
      measuring = 1;
      for (int i = 0; i < n; i++) c[i].events = 0;
      total = 0;
    }
    if (t >= end) break;
    int k = epoll_wait(ep, evs, 256, 50);
    for (int e = 0; e < k; e++) {
      conn_t *x = &c[evs[e].data.u32];
      ssize_t r = read(x->fd, buf, sizeof(buf));
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        fprintf(stderr, "connection %u closed\n", evs[e].data.u32);
        epoll_ctl(ep, EPOLL_CTL_DEL, x->fd, NULL);
        continue;
      }
      unsigned long long got = 0;
      char prev = x->last;
      for (ssize_t j = 0; j < r; j++) {
        if (buf[j] == '\n' && prev == '\n') got++;
        prev = buf[j];
      }
      x->last = prev;
      x->events += got;
      total += got;
    }
  }
  unsigned long long lo = ~0ull, hi = 0;
  for (int i = 0; i < n; i++) {
    if (c[i].events < lo) lo = c[i].events;
    if (c[i].events > hi) hi = c[i].events;
    close(c[i].fd);
  }
  printf("events_per_s %.0f per_conn_min %.0f per_conn_max %.0f\n", (double)total / duration,
         (double)lo / duration, (double)hi / duration);
  return 0;
}
