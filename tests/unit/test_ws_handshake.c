/* The application's say in the WebSocket handshake (on_handshake): accept now or later from
 * another thread, pick a subprotocol the client offered, or refuse with any HTTP answer — all
 * through the in-memory test client, i.e. the real pipeline and connection code. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "spikard/app.h"
#include "spikard/hooks.h"
#include "spikard/middleware.h"
#include "spikard/request.h"
#include "spikard/response.h"
#include "spikard/testclient.h"
#include "spikard/testclient_ws.h"
#include "spikard/websocket.h"
#include "test.h"

typedef struct state {
  int opens, handshakes;
  int accept_rc; /* what spk_ws_handshake_accept returned */
  pthread_t thread;
  int threaded;
  void *conn_data;  /* the open connection's user data */
  int dropped;      /* on_dropped calls */
  void *dropped_data;
} state_t;

static void on_dropped(void *conn_user_data, void *ud) {
  state_t *s = ud;
  s->dropped++;
  s->dropped_data = conn_user_data;
}

static void on_open(spk_ws_t *ws, const spk_req_t *req, void *ud) {
  (void)req;
  state_t *s = ud;
  s->opens++;
  s->conn_data = spk_ws_get_user_data(ws); /* what the accept attached */
  const char *sp = spk_ws_subprotocol(ws);
  spk_ws_send_text(ws, sp ? sp : "-", strlen(sp ? sp : "-"));
}

static void on_message(spk_ws_t *ws, spk_ws_kind_t kind, const char *data, size_t len, void *ud) {
  (void)kind, (void)ud;
  spk_ws_send_text(ws, data, len);
}

/* Synchronous decision from the request: ?token=ok accepts (with ?proto= as subprotocol when
 * given), anything else is refused 403 the way an auth check would. */
static int decide_now(spk_req_t *req, spk_res_t *res, void *ud) {
  state_t *s = ud;
  s->handshakes++;
  spk_str_t token = {0}, proto = {0};
  spk_req_query(req, "token", &token);
  if (token.len != 2 || memcmp(token.ptr, "ok", 2) != 0) {
    spk_res_problem(res, 403, "forbidden", "Forbidden", "A valid token is required");
    return SPK_HANDLER_DONE;
  }
  char name[32] = "";
  if (spk_req_query(req, "proto", &proto) == SPK_OK && proto.len < sizeof(name))
    memcpy(name, proto.ptr, proto.len), name[proto.len] = '\0';
  s->accept_rc = spk_ws_handshake_accept(res, name[0] ? name : NULL, s);
  if (s->accept_rc != SPK_OK) spk_res_problem(res, 400, "bad-subprotocol", "Bad Request", NULL);
  return SPK_HANDLER_DONE;
}

typedef struct later {
  spk_res_t *res;
  int accept;
} later_t;

static void *decide_on_thread(void *arg) {
  later_t *l = arg;
  if (l->accept)
    spk_ws_handshake_accept(l->res, NULL, l);
  else
    spk_res_problem(l->res, 403, "forbidden", "Forbidden", "Refused later");
  spk_res_end(l->res);
  return NULL;
}

static later_t later_slot;

/* Asynchronous decision: another thread answers; ?accept=1 accepts. */
static int decide_later(spk_req_t *req, spk_res_t *res, void *ud) {
  state_t *s = ud;
  s->handshakes++;
  spk_str_t v = {0};
  later_slot.res = res;
  later_slot.accept = spk_req_query(req, "accept", &v) == SPK_OK && v.len == 1 && v.ptr[0] == '1';
  s->threaded = pthread_create(&s->thread, NULL, decide_on_thread, &later_slot) == 0;
  return SPK_HANDLER_ASYNC;
}

static spk_test_ws_t *ws_connect(spk_test_client_t *c, const char *target,
                              const spk_test_header_t *h, size_t nh, spk_test_response_t *hs) {
  spk_test_request_t req = {.target = target, .headers = h, .header_count = nh};
  spk_test_ws_t *ws = NULL;
  CHECK_INT(spk_test_ws_connect(c, &req, &ws, hs), 0);
  return ws;
}

static void expect_text(spk_test_ws_t *ws, const char *want) {
  spk_test_ws_frame_t f;
  CHECK_INT(spk_test_ws_recv(ws, &f, 2000), 0);
  CHECK_INT(f.opcode, 1);
  CHECK_MEM(f.data, f.len, want);
}

static void test_sync_decisions(void) {
  state_t s = {0};
  spk_ws_callbacks_t cb = {.on_open = on_open, .on_message = on_message, .on_handshake = decide_now};
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_ws(app, "/ws", &cb, &s), 0);
  spk_test_client_t *c = spk_test_client_new(app);
  spk_test_response_t hs;

  /* Refused: an ordinary problem-details answer, no session, no on_open. */
  spk_test_ws_t *ws = ws_connect(c, "/ws?token=bad", NULL, 0, &hs);
  CHECK(ws == NULL);
  CHECK_INT(hs.status, 403);
  CHECK(strstr(spk_test_response_header(&hs, "content-type"), "application/problem+json") != NULL);
  CHECK(strstr(hs.body, "A valid token is required") != NULL);
  CHECK(spk_test_response_header(&hs, "sec-websocket-accept") == NULL);
  spk_test_response_free(&hs);
  CHECK_INT(s.opens, 0);

  /* Accepted, no subprotocol. */
  ws = ws_connect(c, "/ws?token=ok", NULL, 0, &hs);
  CHECK_INT(hs.status, 101);
  CHECK_STR(spk_test_response_header(&hs, "sec-websocket-accept"), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
  CHECK(spk_test_response_header(&hs, "sec-websocket-protocol") == NULL);
  spk_test_response_free(&hs);
  expect_text(ws, "-");
  CHECK(s.conn_data == &s);
  spk_test_ws_send(ws, 1, "hi", 2);
  expect_text(ws, "hi");
  spk_test_ws_free(ws);

  /* Accepted with a subprotocol the client offered (the route lists none). */
  spk_test_header_t offer[] = {{"Sec-WebSocket-Protocol", "graphql-ws, graphql-transport-ws"}};
  ws = ws_connect(c, "/ws?token=ok&proto=graphql-transport-ws", offer, 1, &hs);
  CHECK_INT(hs.status, 101);
  CHECK_STR(spk_test_response_header(&hs, "sec-websocket-protocol"), "graphql-transport-ws");
  spk_test_response_free(&hs);
  expect_text(ws, "graphql-transport-ws");
  spk_test_ws_free(ws);

  /* One the client did not offer cannot be accepted. */
  ws = ws_connect(c, "/ws?token=ok&proto=mqtt", offer, 1, &hs);
  CHECK(ws == NULL);
  CHECK_INT(s.accept_rc, SPK_EINVAL);
  CHECK_INT(hs.status, 400);
  spk_test_response_free(&hs);

  /* The core's own checks still come first: no upgrade header, no application call. */
  int before = s.handshakes;
  spk_test_request_t plain = {.target = "/ws?token=ok"};
  CHECK_INT(spk_test_client_send(c, &plain, &hs), 0);
  CHECK_INT(hs.status, 426);
  spk_test_response_free(&hs);
  CHECK_INT(s.handshakes, before);
  CHECK_INT(s.opens, 2);

  spk_test_client_free(c);
  spk_app_free(app);
}

static void test_async_decisions(void) {
  for (int accept = 0; accept <= 1; accept++) {
    state_t s = {0};
    spk_ws_callbacks_t cb = {.on_open = on_open, .on_message = on_message,
                             .on_handshake = decide_later};
    spk_app_t *app = spk_app_new();
    CHECK_INT(spk_app_ws(app, "/ws", &cb, &s), 0);
    spk_test_client_t *c = spk_test_client_new(app);
    spk_test_response_t hs;
    spk_test_ws_t *ws = ws_connect(c, accept ? "/ws?accept=1" : "/ws", NULL, 0, &hs);
    if (s.threaded) pthread_join(s.thread, NULL);
    CHECK_INT(hs.status, accept ? 101 : 403);
    spk_test_response_free(&hs);
    CHECK_INT(s.opens, accept);
    CHECK(accept ? ws != NULL : ws == NULL);
    if (accept) CHECK(s.conn_data == &later_slot);
    if (ws) {
      expect_text(ws, "-");
      spk_test_ws_send(ws, 1, "later", 5);
      expect_text(ws, "later");
      spk_test_ws_free(ws);
    }
    spk_test_client_free(c);
    spk_app_free(app);
  }
}

/* Accepted, but the connection never switches: on_dropped gets the accept's user data. */
static int replace_101(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req, (void)ud;
  spk_res_problem(res, 503, "unavailable", "Service Unavailable", "Going away");
  return SPK_HOOK_CONTINUE;
}

static void *accept_late(void *arg) {
  later_t *l = arg;
  struct timespec ts = {0, 200 * 1000000L}; /* after the 50 ms request timeout */
  nanosleep(&ts, NULL);
  spk_ws_handshake_accept(l->res, NULL, l);
  spk_res_end(l->res);
  return NULL;
}

static int decide_too_late(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  state_t *s = ud;
  later_slot.res = res;
  s->threaded = pthread_create(&s->thread, NULL, accept_late, &later_slot) == 0;
  return SPK_HANDLER_ASYNC;
}

static void test_dropped(void) {
  /* A response hook replaces the 101. */
  state_t s = {0};
  spk_ws_callbacks_t cb = {.on_open = on_open, .on_handshake = decide_now, .on_dropped = on_dropped};
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_ws(app, "/ws", &cb, &s), 0);
  CHECK_INT(spk_app_add_hook(app, SPK_HOOK_ON_RESPONSE, replace_101, NULL), 0);
  spk_test_client_t *c = spk_test_client_new(app);
  spk_test_response_t hs;
  spk_test_ws_t *ws = ws_connect(c, "/ws?token=ok", NULL, 0, &hs);
  CHECK(ws == NULL);
  CHECK_INT(hs.status, 503);
  spk_test_response_free(&hs);
  CHECK_INT(s.opens, 0);
  CHECK_INT(s.dropped, 1);
  CHECK(s.dropped_data == &s);
  spk_test_client_free(c);
  spk_app_free(app);

  /* The request timed out before the application accepted: 408, and the late accept's user
   * data still comes back once its exchange is released. */
  state_t t = {0};
  spk_ws_callbacks_t cb2 = {.on_open = on_open, .on_handshake = decide_too_late,
                            .on_dropped = on_dropped};
  app = spk_app_new();
  CHECK_INT(spk_app_configure(app, "{\"request_timeout\":{\"seconds\":0.05}}"), 0);
  CHECK_INT(spk_app_ws(app, "/ws", &cb2, &t), 0);
  c = spk_test_client_new(app);
  ws = ws_connect(c, "/ws", NULL, 0, &hs);
  CHECK(ws == NULL);
  CHECK_INT(hs.status, 408);
  spk_test_response_free(&hs);
  if (t.threaded) pthread_join(t.thread, NULL);
  spk_test_client_free(c); /* waits for the orphan, which the late end released */
  CHECK_INT(t.opens, 0);
  CHECK_INT(t.dropped, 1);
  CHECK(t.dropped_data == &later_slot);
  spk_app_free(app);
}

/* Outside a pending handshake there is nothing to accept. */
static int plain_route(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  *(int *)ud = spk_ws_handshake_accept(res, NULL, NULL);
  return spk_res_status(res, 204);
}

static void test_accept_outside_handshake(void) {
  int rc = 0;
  spk_app_t *app = spk_app_new();
  spk_app_route(app, "GET", "/plain", plain_route, &rc);
  spk_test_client_t *c = spk_test_client_new(app);
  spk_test_request_t req = {.target = "/plain"};
  spk_test_response_t r;
  CHECK_INT(spk_test_client_send(c, &req, &r), 0);
  CHECK_INT(r.status, 204);
  spk_test_response_free(&r);
  CHECK_INT(rc, SPK_ESTATE);
  CHECK_INT(spk_ws_handshake_accept(NULL, NULL, NULL), SPK_EINVAL);
  spk_test_client_free(c);
  spk_app_free(app);
}

int main(void) {
  RUN(test_sync_decisions);
  RUN(test_async_decisions);
  RUN(test_dropped);
  RUN(test_accept_outside_handshake);
  return test_report("ws_handshake");
}
