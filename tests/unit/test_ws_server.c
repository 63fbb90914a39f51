/* WebSocket over a real loopback server (io layer): sends from another thread reach the socket
 * through the worker's wake queue, a server-side close from that thread completes the close
 * handshake, and a connection whose session is still referenced elsewhere is freed cleanly
 * when the server stops. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/ws.h"
#include "spikard.h"
#include "test.h"

#define BURST 300

static void *burst(void *arg) {
  spk_ws_t *ws = arg;
  for (int i = 0; i < BURST; i++) {
    char msg[32];
    int n = snprintf(msg, sizeof(msg), "n%d", i);
    spk_ws_send_text(ws, msg, (size_t)n);
  }
  spk_ws_close(ws, 4002, "burst done");
  spk_ws_release(ws);
  return NULL;
}

static void on_message(spk_ws_t *ws, spk_ws_kind_t kind, const char *data, size_t len, void *ud) {
  (void)kind, (void)data, (void)len, (void)ud;
  spk_ws_retain(ws);
  pthread_t t;
  pthread_create(&t, NULL, burst, ws);
  pthread_detach(t);
}

static int read_frame(int fd, spk__buf_t *in, spk_ws_parser_t *p) {
  for (;;) {
    size_t used = 0;
    int ev = in->len ? spk_ws_parse(p, (const uint8_t *)in->data, in->len, &used) : 0;
    if (ev != 0) {
      spk__buf_consume(in, used);
      return ev;
    }
    spk__buf_consume(in, used);
    struct pollfd pf = {fd, POLLIN, 0};
    if (poll(&pf, 1, 5000) <= 0) return -100;
    char buf[4096];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) return -101;
    spk__buf_append(in, buf, (size_t)n);
  }
}

static void test_cross_thread_over_tcp(void) {
  spk_app_t *app = spk_app_new();
  spk_ws_callbacks_t cb = {.on_message = on_message};
  CHECK_INT(spk_app_ws(app, "/ws", &cb, NULL), 0);
  spk_server_config_t cfg;
  spk_server_config_default(&cfg);
  cfg.host = "127.0.0.1";
  cfg.port = 0;
  cfg.workers = 1;
  cfg.handle_signals = 0;
  spk_server_t *srv = NULL;
  CHECK_INT(spk_server_new(&srv, app, &cfg), 0);
  CHECK_INT(spk_server_start(srv), 0);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)spk_server_port(srv))};
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  CHECK_INT(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  const char req[] = "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
  CHECK(send(fd, req, sizeof(req) - 1, 0) == (ssize_t)(sizeof(req) - 1));
  spk__buf_t in = {0};
  char *end = NULL;
  while (!end) {
    char buf[1024];
    ssize_t n = recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    spk__buf_append(&in, buf, (size_t)n);
    end = memmem(in.data, in.len, "\r\n\r\n", 4);
  }
  CHECK(end && strncmp(in.data, "HTTP/1.1 101", 12) == 0);
  if (end) spk__buf_consume(&in, (size_t)(end + 4 - in.data));
  spk__buf_t f = {0};
  static const uint8_t mask[4] = {9, 8, 7, 6};
  spk_ws_frame_append(&f, 1, 0, SPK_WS_OP_TEXT, "go", 2, mask);
  send(fd, f.data, f.len, 0);
  spk_ws_parser_t p;
  spk_ws_parser_init(&p, 1, 0);
  int got = 0, ev;
  while ((ev = read_frame(fd, &in, &p)) == SPK_WS_EV_MESSAGE) {
    char want[32];
    snprintf(want, sizeof(want), "n%d", got++);
    CHECK_MEM(p.payload, p.payload_len, want);
  }
  CHECK_INT(got, BURST);
  CHECK_INT(ev, SPK_WS_EV_CLOSE);
  CHECK_INT(p.close_code, 4002);
  /* Answer the close: the server then closes the TCP connection. */
  f.len = 0;
  uint8_t cp[2] = {0x0f, 0xa2};
  spk_ws_frame_append(&f, 1, 0, SPK_WS_OP_CLOSE, cp, 2, mask);
  send(fd, f.data, f.len, 0);
  char buf[64];
  struct pollfd pf = {fd, POLLIN, 0};
  CHECK(poll(&pf, 1, 5000) == 1);
  CHECK(recv(fd, buf, sizeof(buf), 0) == 0);
  close(fd);
  spk_ws_parser_free(&p);
  spk__buf_free(&in);
  spk__buf_free(&f);
  spk_server_stop(srv);
  CHECK_INT(spk_server_wait(srv), 0);
  spk_server_free(srv);
  spk_app_free(app);
}

int main(void) {
  RUN(test_cross_thread_over_tcp);
  return test_report("ws_server");
}
