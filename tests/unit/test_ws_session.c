/* WebSocket sessions through the in-memory test client: the real handshake (pipeline, 101),
 * the real session code (ws_conn.c) — echo, control frames, close handshake and codes, limits,
 * UTF-8, JSON/schema routes, subprotocols, origins, compression, cross-thread sends, pub/sub
 * and timeouts. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ws.h"
#include "spikard/app.h"
#include "spikard/testclient.h"
#include "spikard/testclient_ws.h"
#include "spikard/websocket.h"
#include "test.h"

typedef struct state {
  int opens, messages, closes;
  int close_code;
  char close_reason[128];
  spk_ws_hub_t *hub;
  spk_ws_t *last;
  spk_app_t *app;
} state_t;

static void on_open(spk_ws_t *ws, const spk_req_t *req, void *ud) {
  (void)req;
  state_t *s = ud;
  s->opens++;
  spk_ws_set_user_data(ws, s);
  if (s->hub) spk_ws_hub_subscribe(s->hub, "room", ws);
}

static void on_message(spk_ws_t *ws, spk_ws_kind_t kind, const char *data, size_t len, void *ud) {
  state_t *s = ud;
  s->messages++;
  CHECK(spk_ws_get_user_data(ws) == s);
  if (len == 5 && memcmp(data, "close", 5) == 0) {
    spk_ws_close(ws, 4000, "asked to");
    return;
  }
  if (s->hub) {
    spk_ws_hub_publish(s->hub, "room", kind, data, len);
    return;
  }
  if (kind == SPK_WS_TEXT)
    spk_ws_send_text(ws, data, len);
  else
    spk_ws_send_binary(ws, data, len);
}

static void on_close(spk_ws_t *ws, int code, const char *reason, size_t len, void *ud) {
  state_t *s = ud;
  s->closes++;
  s->close_code = code;
  snprintf(s->close_reason, sizeof(s->close_reason), "%.*s", (int)len, reason);
  if (s->hub) spk_ws_hub_unsubscribe_all(s->hub, ws);
}

static const spk_ws_callbacks_t cbs = {
    .on_open = on_open, .on_message = on_message, .on_close = on_close};

static spk_test_client_t *client_with(state_t *s, const spk_ws_options_t *o) {
  s->app = spk_app_new();
  CHECK_INT(spk_app_ws_ex(s->app, "/ws", &cbs, o, s), 0);
  return spk_test_client_new(s->app);
}

static void done(spk_test_client_t *c, state_t *s) {
  spk_test_client_free(c);
  spk_app_free(s->app);
}

static spk_test_ws_t *open_ws(spk_test_client_t *c, const spk_test_header_t *h, size_t nh,
                              spk_test_response_t *hs) {
  spk_test_request_t req = {.target = "/ws", .headers = h, .header_count = nh};
  spk_test_ws_t *ws = NULL;
  CHECK_INT(spk_test_ws_connect(c, &req, &ws, hs), 0);
  return ws;
}

static int recv_frame(spk_test_ws_t *ws, spk_test_ws_frame_t *f) {
  return spk_test_ws_recv(ws, f, 2000);
}

static void test_handshake_and_echo(void) {
  state_t s = {0};
  spk_app_t *app = spk_app_new();
  spk_app_ws(app, "/ws", &cbs, &s);
  spk_test_client_t *c = spk_test_client_new(app);
  spk_test_response_t hs;
  spk_test_ws_t *ws = open_ws(c, NULL, 0, &hs);
  CHECK_INT(hs.status, 101);
  CHECK_STR(spk_test_response_header(&hs, "sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK_STR(spk_test_response_header(&hs, "upgrade"), "websocket");
  CHECK_STR(spk_test_response_header(&hs, "connection"), "Upgrade");
  CHECK(spk_test_response_header(&hs, "sec-websocket-extensions") == NULL);
  spk_test_response_free(&hs);
  CHECK_INT(s.opens, 1);
  spk_test_ws_frame_t f;
  spk_test_ws_send(ws, 1, "hello", 5);
  CHECK_INT(recv_frame(ws, &f), 0);
  CHECK_INT(f.opcode, 1);
  CHECK(f.fin);
  CHECK_MEM(f.data, f.len, "hello");
  spk_test_ws_send(ws, 2, "\x00\xff", 2);
  CHECK_INT(recv_frame(ws, &f), 0);
  CHECK_INT(f.opcode, 2);
  CHECK(f.len == 2 && memcmp(f.data, "\x00\xff", 2) == 0);
  /* A large message in many fragments with pings in between comes back whole. */
  size_t n = 300000;
  char *big = malloc(n);
  for (size_t i = 0; i < n; i++) big[i] = (char)('a' + i % 23);
  spk_test_ws_send_frame(ws, 0, 0, 1, big, 1000);
  spk_test_ws_send_frame(ws, 1, 0, 9, "p", 1);
  spk_test_ws_send_frame(ws, 0, 0, 0, big + 1000, 100000);
  spk_test_ws_send_frame(ws, 1, 0, 0, big + 101000, n - 101000);
  CHECK_INT(recv_frame(ws, &f), 0);
  CHECK_INT(f.opcode, 10);
  CHECK_MEM(f.data, f.len, "p");
  CHECK_INT(recv_frame(ws, &f), 0);
  CHECK(f.len == n && memcmp(f.data, big, n) == 0);
  free(big);
  /* Close handshake: the code is echoed and the server closes the TCP connection. */
  spk_test_ws_send_close(ws, 1000, "bye");
  CHECK_INT(recv_frame(ws, &f), 0);
  CHECK_INT(f.opcode, 8);
  CHECK_INT(f.close_code, 1000);
  CHECK(spk_test_ws_server_closed(ws));
  CHECK_INT(recv_frame(ws, &f), SPK_ESTATE);
  CHECK_INT(s.closes, 1);
  CHECK_INT(s.close_code, 1000);
  CHECK_STR(s.close_reason, "bye");
  spk_test_ws_free(ws);
  CHECK_INT(s.closes, 1);
  spk_test_client_free(c);
  spk_app_free(app);
}

static void test_handshake_rejects(void) {
  state_t s = {0};
  spk_app_t *app = spk_app_new();
  static const char *const origins[] = {"https://ok.example"};
  spk_ws_options_t o;
  spk_ws_options_default(&o);
  o.origins = origins;
  o.origin_count = 1;
  spk_app_ws_ex(app, "/ws", &cbs, &o, &s);
  spk_test_client_t *c = spk_test_client_new(app);
  struct {
    spk_test_header_t h[2];
    size_t n;
    int status;
  } cases[] = {
      {{{"Origin", "https://ok.example"}, {"Sec-WebSocket-Version", "8"}}, 2, 426},
      {{{"Origin", "https://ok.example"}, {"Sec-WebSocket-Key", "short"}}, 2, 400},
      {{{"Origin", "https://ok.example"}, {"Connection", "keep-alive"}}, 2, 400},
      {{{"Origin", "https://ok.example"}, {"Upgrade", "h2c"}}, 2, 426},
      {{{"Origin", "https://evil.example"}}, 1, 403},
      {{{"Origin", "https://ok.example"}}, 1, 101},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    spk_test_response_t hs;
    spk_test_ws_t *ws = open_ws(c, cases[i].h, cases[i].n, &hs);
    CHECK_INT(hs.status, cases[i].status);
    CHECK((ws != NULL) == (cases[i].status == 101));
    if (cases[i].status == 426 && i == 0)
      CHECK_STR(spk_test_response_header(&hs, "sec-websocket-version"), "13");
    spk_test_response_free(&hs);
    spk_test_ws_free(ws);
  }
  /* A plain GET (no upgrade) is 426, POST is 405. */
  spk_test_response_t r;
  spk_test_client_get(c, "GET", "/ws", &r);
  CHECK_INT(r.status, 426);
  spk_test_response_free(&r);
  spk_test_client_get(c, "POST", "/ws", &r);
  CHECK_INT(r.status, 405);
  spk_test_response_free(&r);
  CHECK_INT(s.opens, 1);
  CHECK_INT(s.closes, 1); /* the one opened was dropped: 1006 */
  CHECK_INT(s.close_code, 1006);
  spk_test_client_free(c);
  spk_app_free(app);
}

/* Protocol errors close with the right code and the server hangs up. */
static void expect_close(const void *bytes, size_t len, int raw, int code, size_t max) {
  state_t s = {0};
  spk_ws_options_t o;
  spk_ws_options_default(&o);
  if (max) o.max_message_bytes = max;
  spk_app_t *app = spk_app_new();
  spk_app_ws_ex(app, "/ws", &cbs, &o, &s);
  spk_test_client_t *c = spk_test_client_new(app);
  spk_test_response_t hs;
  spk_test_ws_t *ws = open_ws(c, NULL, 0, &hs);
  spk_test_response_free(&hs);
  if (raw)
    spk_test_ws_send_raw(ws, bytes, len);
  else
    spk_test_ws_send(ws, 1, bytes, len);
  spk_test_ws_frame_t f;
  CHECK_INT(recv_frame(ws, &f), 0);
  CHECK_INT(f.opcode, 8);
  CHECK_INT(f.close_code, code);
  CHECK(spk_test_ws_server_closed(ws));
  CHECK_INT(s.close_code, code);
  CHECK_INT(s.messages, 0);
  spk_test_ws_free(ws);
  spk_test_client_free(c);
  spk_app_free(app);
}

static void test_protocol_errors(void) {
  expect_close("\x81\x02hi", 4, 1, 1002, 0);                      /* unmasked */
  expect_close("\x83\x80\x01\x02\x03\x04", 6, 1, 1002, 0);        /* opcode 3 */
  expect_close("\xc1\x80\x01\x02\x03\x04", 6, 1, 1002, 0);        /* RSV1 without deflate */
  expect_close("\x88\x82\x00\x00\x00\x00\x03\xed", 8, 1, 1002, 0); /* close code 1005 */
  expect_close("\xce\xba\xe1\xbd", 4, 0, 1007, 0);                 /* bad UTF-8 */
  char big[2000];
  memset(big, 'x', sizeof(big));
  expect_close(big, sizeof(big), 0, 1009, 1024);
}

static void test_server_close_and_codes(void) {
  state_t s = {0};
  spk_test_client_t *c = client_with(&s, NULL);
  spk_test_response_t hs;
  spk_test_ws_t *ws = open_ws(c, NULL, 0, &hs);
  spk_test_response_free(&hs);
  spk_test_ws_send(ws, 1, "close", 5);
  spk_test_ws_frame_t f;
  CHECK_INT(recv_frame(ws, &f), 0);
  CHECK_INT(f.close_code, 4000);
  CHECK_STR(f.close_reason, "asked to");
  CHECK(!spk_test_ws_server_closed(ws)); /* waits for the client's close */
  spk_test_ws_send(ws, 1, "ignored", 7);
  spk_test_ws_send_close(ws, 4000, NULL);
  CHECK(spk_test_ws_server_closed(ws));
  CHECK_INT(s.messages, 1);
  CHECK_INT(s.closes, 1);
  spk_test_ws_free(ws);
  /* A client that never answers our close is cut after the close wait. */
  ws = open_ws(c, NULL, 0, &hs);
  spk_test_response_free(&hs);
  spk_test_ws_send(ws, 1, "close", 5);
  CHECK_INT(recv_frame(ws, &f), 0);
  CHECK_INT(spk_test_ws_fire_timer(ws), 0);
  CHECK(spk_test_ws_server_closed(ws));
  spk_test_ws_free(ws);
  /* An empty close is answered with an empty close; the app sees 1005. */
  ws = open_ws(c, NULL, 0, &hs);
  spk_test_response_free(&hs);
  spk_test_ws_send_close(ws, 0, NULL);
  CHECK_INT(recv_frame(ws, &f), 0);
  CHECK_INT(f.len, 0);
  CHECK_INT(s.close_code, 1005);
  spk_test_ws_free(ws);
  done(c, &s);
}

static void test_json_routes(void) {
  state_t s = {0};
  spk_ws_options_t o;
  spk_ws_options_default(&o);
  o.message_schema = "{\"type\":\"object\",\"required\":[\"text\"],\"properties\":{\"text\":{\"type\":\"string\"}}}";
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_ws_ex(app, "/ws", &cbs, &o, &s), 0);
  spk_test_client_t *c = spk_test_client_new(app);
  spk_test_response_t hs;
  spk_test_ws_t *ws = open_ws(c, NULL, 0, &hs);
  spk_test_response_free(&hs);
  spk_test_ws_frame_t f;
  spk_test_ws_send(ws, 1, "{not json", 9);
  CHECK_INT(recv_frame(ws, &f), 0);
  CHECK_MEM(f.data, f.len, "{\"type\":\"error\",\"message\":\"Invalid JSON\"}");
  spk_test_ws_send(ws, 1, "{\"text\":5}", 10);
  CHECK_INT(recv_frame(ws, &f), 0);
  CHECK_MEM(f.data, f.len, "{\"error\":\"Message validation failed\"}");
  spk_test_ws_send(ws, 1, "{\"text\":\"ok\"}", 13);
  CHECK_INT(recv_frame(ws, &f), 0);
  CHECK_MEM(f.data, f.len, "{\"text\":\"ok\"}");
  CHECK_INT(s.messages, 1);
  spk_test_ws_free(ws);
  spk_test_client_free(c);
  /* A broken schema fails registration with a message. */
  spk_app_t *app2 = spk_app_new();
  o.message_schema = "{\"type\":";
  CHECK(spk_app_ws_ex(app2, "/ws", &cbs, &o, &s) != 0);
  CHECK(strstr(spk_app_last_error(app2), "message_schema") != NULL);
  spk_app_free(app2);
  spk_app_free(app);
}

static void test_subprotocol_and_deflate(void) {
  state_t s = {0};
  static const char *const protos[] = {"chat.v2", "chat.v1"};
  spk_ws_options_t o;
  spk_ws_options_default(&o);
  o.subprotocols = protos;
  o.subprotocol_count = 2;
  o.permessage_deflate = 1;
  spk_app_t *app = spk_app_new();
  spk_app_ws_ex(app, "/ws", &cbs, &o, &s);
  spk_test_client_t *c = spk_test_client_new(app);
  spk_test_header_t h[] = {{"Sec-WebSocket-Protocol", "chat.v1, chat.v2"},
                           {"Sec-WebSocket-Extensions", "permessage-deflate; client_max_window_bits"}};
  spk_test_response_t hs;
  spk_test_ws_t *ws = open_ws(c, h, 2, &hs);
  CHECK_STR(spk_test_response_header(&hs, "sec-websocket-protocol"), "chat.v1");
  CHECK_STR(spk_test_response_header(&hs, "sec-websocket-extensions"), "permessage-deflate");
  spk_test_response_free(&hs);
  /* The RFC 7692 §7.2.3.1 message, then the takeover one. */
  spk_test_ws_send_frame(ws, 1, 1, 1, "\xf2\x48\xcd\xc9\xc9\x07\x00", 7);
  spk_test_ws_frame_t f;
  CHECK_INT(recv_frame(ws, &f), 0);
  CHECK_MEM(f.data, f.len, "Hello"); /* short replies go out uncompressed */
  CHECK(!f.rsv1);
  spk_test_ws_send_frame(ws, 1, 1, 1, "\xf2\x00\x11\x00\x00", 5);
  CHECK_INT(recv_frame(ws, &f), 0);
  CHECK_MEM(f.data, f.len, "Hello");
  char text[4096];
  for (size_t i = 0; i < sizeof(text); i++) text[i] = (char)('a' + i % 3);
  spk_test_ws_send(ws, 1, text, sizeof(text));
  CHECK_INT(recv_frame(ws, &f), 0);
  CHECK(f.rsv1);
  CHECK(f.len < 200);
  spk_test_ws_free(ws);
  /* Lists split over several fields. */
  spk_test_header_t h3[] = {{"Sec-WebSocket-Protocol", "mqtt"}, {"Sec-WebSocket-Protocol", "chat.v2"},
                            {"Sec-WebSocket-Extensions", "x-unknown"},
                            {"Sec-WebSocket-Extensions", "permessage-deflate"}};
  ws = open_ws(c, h3, 4, &hs);
  CHECK_STR(spk_test_response_header(&hs, "sec-websocket-protocol"), "chat.v2");
  CHECK_STR(spk_test_response_header(&hs, "sec-websocket-extensions"), "permessage-deflate");
  spk_test_response_free(&hs);
  spk_test_ws_free(ws);
  /* No offer in common: no extension, no subprotocol. */
  spk_test_header_t h2[] = {{"Sec-WebSocket-Protocol", "mqtt"},
                            {"Sec-WebSocket-Extensions", "permessage-deflate; server_max_window_bits=8"}};
  ws = open_ws(c, h2, 2, &hs);
  CHECK_INT(hs.status, 101);
  CHECK(spk_test_response_header(&hs, "sec-websocket-protocol") == NULL);
  CHECK(spk_test_response_header(&hs, "sec-websocket-extensions") == NULL);
  spk_test_response_free(&hs);
  spk_test_ws_send_frame(ws, 1, 1, 1, "\xf2\x48\xcd\xc9\xc9\x07\x00", 7);
  CHECK_INT(recv_frame(ws, &f), 0);
  CHECK_INT(f.close_code, 1002);
  spk_test_ws_free(ws);
  spk_test_client_free(c);
  spk_app_free(app);
}

/* Sends from another thread are handed to the connection's thread. */
typedef struct sender {
  spk_ws_t *ws;
  int n;
} sender_t;

static void *send_thread(void *arg) {
  sender_t *s = arg;
  for (int i = 0; i < s->n; i++) {
    char msg[32];
    int len = snprintf(msg, sizeof(msg), "msg %d", i);
    spk_ws_send_text(s->ws, msg, (size_t)len);
  }
  return NULL;
}

static void on_open_keep(spk_ws_t *ws, const spk_req_t *req, void *ud) {
  (void)req;
  state_t *s = ud;
  spk_ws_retain(ws);
  s->last = ws;
}

static void test_cross_thread(void) {
  state_t s = {0};
  spk_ws_callbacks_t cb = {.on_open = on_open_keep, .on_close = on_close};
  spk_app_t *app = spk_app_new();
  spk_app_ws(app, "/ws", &cb, &s);
  spk_test_client_t *c = spk_test_client_new(app);
  spk_test_response_t hs;
  spk_test_ws_t *ws = open_ws(c, NULL, 0, &hs);
  spk_test_response_free(&hs);
  sender_t snd = {s.last, 500};
  pthread_t t;
  pthread_create(&t, NULL, send_thread, &snd);
  spk_test_ws_frame_t f;
  int got = 0;
  while (got < 500 && recv_frame(ws, &f) == 0) {
    char want[32];
    snprintf(want, sizeof(want), "msg %d", got);
    CHECK_MEM(f.data, f.len, want);
    got++;
  }
  pthread_join(t, NULL);
  CHECK_INT(got, 500);
  spk_test_ws_free(ws);
  CHECK_INT(spk_ws_send_text(s.last, "late", 4), SPK_ESTATE);
  spk_ws_release(s.last);
  spk_test_client_free(c);
  spk_app_free(app);
}

static void test_hub(void) {
  state_t s = {0};
  s.hub = spk_ws_hub_new();
  spk_test_client_t *c = client_with(&s, NULL);
  spk_test_ws_t *peers[5];
  for (int i = 0; i < 5; i++) {
    spk_test_response_t hs;
    peers[i] = open_ws(c, NULL, 0, &hs);
    spk_test_response_free(&hs);
  }
  spk_test_ws_send(peers[2], 1, "hi all", 6);
  for (int i = 0; i < 5; i++) {
    spk_test_ws_frame_t f;
    CHECK_INT(recv_frame(peers[i], &f), 0);
    CHECK_MEM(f.data, f.len, "hi all");
  }
  spk_test_ws_free(peers[0]); /* on_close unsubscribes it */
  CHECK_INT(spk_ws_hub_publish(s.hub, "room", SPK_WS_BINARY, "\x01", 1), 4);
  CHECK_INT(spk_ws_hub_publish(s.hub, "other", SPK_WS_TEXT, "x", 1), 0);
  CHECK_INT(spk_ws_hub_publish(s.hub, "room", SPK_WS_TEXT, "\xff", 1), SPK_EINVAL);
  for (int i = 1; i < 5; i++) spk_test_ws_free(peers[i]);
  spk_ws_hub_free(s.hub);
  done(c, &s);
}

static void test_timeouts(void) {
  state_t s = {0};
  spk_ws_options_t o;
  spk_ws_options_default(&o);
  o.ping_interval_ms = 1;
  o.idle_timeout_ms = 1000000;
  spk_test_client_t *c = client_with(&s, &o);
  spk_test_response_t hs;
  spk_test_ws_t *ws = open_ws(c, NULL, 0, &hs);
  spk_test_response_free(&hs);
  struct timespec ts = {0, 3000000};
  nanosleep(&ts, NULL);
  CHECK_INT(spk_test_ws_fire_timer(ws), 0);
  spk_test_ws_frame_t f;
  CHECK_INT(recv_frame(ws, &f), 0);
  CHECK_INT(f.opcode, 9); /* the server pings */
  nanosleep(&ts, NULL);
  CHECK_INT(spk_test_ws_fire_timer(ws), 0); /* no pong: going away */
  CHECK_INT(recv_frame(ws, &f), 0);
  CHECK_INT(f.opcode, 8);
  CHECK_INT(f.close_code, 1001);
  spk_test_ws_free(ws);
  done(c, &s);
}

int main(void) {
  RUN(test_handshake_and_echo);
  RUN(test_handshake_rejects);
  RUN(test_protocol_errors);
  RUN(test_server_close_and_codes);
  RUN(test_json_routes);
  RUN(test_subprotocol_and_deflate);
  RUN(test_cross_thread);
  RUN(test_hub);
  RUN(test_timeouts);
  return test_report("ws_session");
}
