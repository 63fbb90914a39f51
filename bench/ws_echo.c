/* WebSocket echo load generator: N connections on one epoll loop, each sending one masked
 * message and waiting for its echo before the next (so messages/s = round trips/s). Prints
 * "messages/s" for the measured window after a warm-up. Not a test.
 *
 *   ws_echo PORT PATH CONNECTIONS MESSAGE_BYTES SECONDS [WARMUP_SECONDS [DEPTH [broadcast]]]
 * DEPTH (default 1): messages kept in flight per connection (sent back to back).
 * broadcast: only the first connection sends (a chat room where everyone, the sender too,
 * receives every message); prints deliveries/s, the frames received by all connections. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

typedef struct conn {
  int fd;
  int open; /* handshake done */
  char *in;
  size_t len, cap;
} conn_t;

static uint8_t *frame;
static size_t frame_len, msg_len, reply_len;

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void die(const char *what) {
  perror(what);
  exit(1);
}

static void send_all(int fd, const void *p, size_t n) {
  const char *s = p;
  while (n) {
    ssize_t w = send(fd, s, n, MSG_NOSIGNAL);
    if (w < 0 && (errno == EINTR || errno == EAGAIN)) continue;
    if (w <= 0) die("send");
    s += w;
    n -= (size_t)w;
  }
}

int main(int argc, char **argv) {
  if (argc < 6) {
    fprintf(stderr, "usage: %s PORT PATH CONNECTIONS MESSAGE_BYTES SECONDS [WARMUP]\n", argv[0]);
    return 2;
  }
  int port = atoi(argv[1]), nconn = atoi(argv[3]);
  const char *path = argv[2];
  msg_len = (size_t)atol(argv[4]);
  double seconds = atof(argv[5]), warmup = argc > 6 ? atof(argv[6]) : 1.0;
  int depth = argc > 7 ? atoi(argv[7]) : 1;
  int broadcast = argc > 8 && strcmp(argv[8], "broadcast") == 0;
  int opened = 0;
  if (depth < 1) depth = 1;
  /* One masked text frame, built once. */
  frame = malloc(msg_len + 14);
  size_t h = 2;
  frame[0] = 0x82;
  if (msg_len < 126) {
    frame[1] = (uint8_t)(0x80 | msg_len);
  } else {
    frame[1] = 0x80 | 126;
    frame[2] = (uint8_t)(msg_len >> 8);
    frame[3] = (uint8_t)msg_len;
    h = 4;
  }
  static const uint8_t mask[4] = {0x12, 0x34, 0x56, 0x78};
  memcpy(frame + h, mask, 4);
  h += 4;
  for (size_t i = 0; i < msg_len; i++) frame[h + i] = (uint8_t)('a' + i % 26) ^ mask[i % 4];
  frame_len = h + msg_len;
  reply_len = (msg_len < 126 ? 2 : 4) + msg_len;

  int ep = epoll_create1(0);
  conn_t *conns = calloc((size_t)nconn, sizeof(*conns));
  char req[512];
  int rl = snprintf(req, sizeof(req),
                    "GET %s HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nUpgrade: websocket\r\n"
                    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                    "Sec-WebSocket-Version: 13\r\n\r\n", path, port);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < nconn; i++) {
    conn_t *c = &conns[i];
    c->fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) die("connect");
    send_all(c->fd, req, (size_t)rl);
    c->cap = (reply_len + 64) * (size_t)depth + 4096;
    c->in = malloc(c->cap);
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
    epoll_ctl(ep, EPOLL_CTL_ADD, c->fd, &ev);
  }
  double start = now(), measure_from = start + warmup, end = measure_from + seconds;
  unsigned long long counted = 0;
  int measuring = 0;
  struct epoll_event evs[256];
  for (;;) {
    double t = now();
    if (!measuring && t >= measure_from) measuring = 1, counted = 0;
    if (t >= end) break;
    int n = epoll_wait(ep, evs, 256, 100);
    for (int k = 0; k < n; k++) {
      conn_t *c = evs[k].data.ptr;
      ssize_t r = recv(c->fd, c->in + c->len, c->cap - c->len, 0);
      if (r <= 0) {
        if (r < 0 && errno == EINTR) continue;
        fprintf(stderr, "connection closed by the server\n");
        return 1;
      }
      c->len += (size_t)r;
      if (!c->open) {
        char *e = memmem(c->in, c->len, "\r\n\r\n", 4);
        if (!e) continue;
        if (strncmp(c->in, "HTTP/1.1 101", 12) != 0) {
          fprintf(stderr, "handshake failed: %.40s\n", c->in);
          return 1;
        }
        size_t head = (size_t)(e + 4 - c->in);
        memmove(c->in, c->in + head, c->len - head);
        c->len -= head;
        c->open = 1;
        /* Broadcast: the publisher starts once every subscriber is in the room. */
        if (!broadcast)
          for (int d = 0; d < depth; d++) send_all(c->fd, frame, frame_len);
        else if (++opened == nconn)
          for (int d = 0; d < depth; d++) send_all(conns[0].fd, frame, frame_len);
      }
      size_t done = c->len / reply_len; /* echoes back: send as many new messages at once */
      if (done) {
        memmove(c->in, c->in + done * reply_len, c->len - done * reply_len);
        c->len -= done * reply_len;
        counted += done;
        if (broadcast && c != &conns[0]) continue;
        static uint8_t *burst;
        static size_t burst_n;
        if (burst_n < done) {
          free(burst);
          burst = malloc(done * frame_len);
          for (size_t i = 0; i < done; i++) memcpy(burst + i * frame_len, frame, frame_len);
          burst_n = done;
        }
        send_all(c->fd, burst, done * frame_len);
      }
    }
  }
  double el = now() - measure_from;
  printf("%.0f\n", (double)counted / el);
  for (int i = 0; i < nconn; i++) close(conns[i].fd), free(conns[i].in);
  free(conns);
  free(frame);
  return 0;
}
