/* The in-memory WebSocket handshake when a step of the pipeline answers asynchronously (a
 * binding's hook or handler completing from another thread): the test client waits for the
 * step's wake, then reports the 101 or the hook's own answer. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "spikard/app.h"
#include "spikard/hooks.h"
#include "spikard/request.h"
#include "spikard/response.h"
#include "spikard/testclient.h"
#include "spikard/testclient_ws.h"
#include "spikard/websocket.h"
#include "test.h"

typedef struct later {
  spk_req_t *req;
  spk_res_t *res;
  int refuse;
} later_t;

static void *decide_later(void *arg) {
  later_t *l = arg;
  struct timespec ts = {0, 5 * 1000000L};
  nanosleep(&ts, NULL);
  if (l->refuse) {
    spk_res_send(l->res, 401, "application/json", "{\"error\":\"no\"}", 14);
    spk_res_end(l->res);
  } else {
    spk_req_continue(l->req);
  }
  return NULL;
}

/* An on_request hook that decides on another thread: refuses /ws?deny, lets the rest go on. */
static int async_hook(spk_req_t *req, spk_res_t *res, void *ud) {
  later_t *l = ud;
  spk_str_t q = spk_req_query_string(req);
  l->req = req;
  l->res = res;
  l->refuse = q.len == 4 && memcmp(q.ptr, "deny", 4) == 0;
  pthread_t th;
  CHECK_INT(pthread_create(&th, NULL, decide_later, l), 0);
  pthread_detach(th);
  return SPK_HOOK_ASYNC;
}

static void on_message(spk_ws_t *ws, spk_ws_kind_t kind, const char *data, size_t len, void *ud) {
  (void)ud;
  (void)kind;
  spk_ws_send_text(ws, data, len);
}

static const spk_ws_callbacks_t cbs = {.on_message = on_message};

static void test_async_hook_handshake(void) {
  later_t l;
  memset(&l, 0, sizeof(l));
  spk_app_t *app = spk_app_new();
  CHECK_INT(spk_app_add_hook(app, SPK_HOOK_ON_REQUEST, async_hook, &l), 0);
  CHECK_INT(spk_app_ws(app, "/ws", &cbs, NULL), 0);
  spk_test_client_t *c = spk_test_client_new(app);

  spk_test_request_t req = {.target = "/ws"};
  spk_test_response_t hs;
  spk_test_ws_t *ws = NULL;
  CHECK_INT(spk_test_ws_connect(c, &req, &ws, &hs), 0);
  CHECK_INT(hs.status, 101);
  CHECK(ws != NULL);
  spk_test_response_free(&hs);
  spk_test_ws_frame_t f;
  CHECK_INT(spk_test_ws_send(ws, 1, "hi", 2), 0);
  CHECK_INT(spk_test_ws_recv(ws, &f, 2000), 0);
  CHECK_INT(f.opcode, 1);
  CHECK(f.len == 2 && memcmp(f.data, "hi", 2) == 0);
  spk_test_ws_free(ws);

  spk_test_request_t deny = {.target = "/ws?deny"};
  ws = NULL;
  CHECK_INT(spk_test_ws_connect(c, &deny, &ws, &hs), 0);
  CHECK_INT(hs.status, 401);
  CHECK(ws == NULL);
  CHECK(hs.body_len == 14 && memcmp(hs.body, "{\"error\":\"no\"}", 14) == 0);
  spk_test_response_free(&hs);

  spk_test_client_free(c);
  spk_app_free(app);
}

int main(void) {
  RUN(test_async_hook_handshake);
  return test_report("ws_async_handshake");
}
