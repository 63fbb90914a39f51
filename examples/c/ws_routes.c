/* WebSocket endpoints of the example app.
 *
 *   /ws/echo             every message comes back as it came (text or binary); permessage-
 *                        deflate when the client offers it; messages up to 64 MiB.
 *   /ws/chat?room=NAME   every text message is broadcast to everyone in the room (default
 *                        "lobby") through a pub/sub hub: the frame is built once per message.
 *   /ws/goodbye          says "goodbye" and closes with 4001 "done" (server-initiated close). */
#include "ws_routes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spikard/request.h>
#include <spikard/websocket.h>

static void echo_message(spk_ws_t *ws, spk_ws_kind_t kind, const char *data, size_t len,
                         void *user_data) {
  (void)user_data;
  if (kind == SPK_WS_TEXT)
    spk_ws_send_text(ws, data, len);
  else
    spk_ws_send_binary(ws, data, len);
}

/* The room name is kept per connection (user data) for on_close. */
static void chat_open(spk_ws_t *ws, const spk_req_t *req, void *user_data) {
  spk_ws_hub_t *hub = user_data;
  spk_str_t room = {"lobby", 5};
  spk_req_query((spk_req_t *)req, "room", &room);
  if (room.len == 0 || room.len > 64) room = (spk_str_t){"lobby", 5};
  char *name = malloc(room.len + 1);
  if (!name) {
    spk_ws_close(ws, 1011, "out of memory");
    return;
  }
  memcpy(name, room.ptr, room.len);
  name[room.len] = '\0';
  spk_ws_set_user_data(ws, name);
  spk_ws_hub_subscribe(hub, name, ws);
}

static void chat_message(spk_ws_t *ws, spk_ws_kind_t kind, const char *data, size_t len,
                         void *user_data) {
  const char *room = spk_ws_get_user_data(ws);
  if (room) spk_ws_hub_publish(user_data, room, kind, data, len);
}

static void chat_close(spk_ws_t *ws, int code, const char *reason, size_t reason_len,
                       void *user_data) {
  (void)code, (void)reason, (void)reason_len;
  spk_ws_hub_unsubscribe_all(user_data, ws);
  free(spk_ws_get_user_data(ws));
  spk_ws_set_user_data(ws, NULL);
}

static void goodbye_open(spk_ws_t *ws, const spk_req_t *req, void *user_data) {
  (void)req, (void)user_data;
  spk_ws_send_text(ws, "goodbye", 7);
  spk_ws_close(ws, 4001, "done");
}

int ws_routes_register(spk_app_t *app, spk_ws_hub_t **hub_out) {
  spk_ws_hub_t *chat_hub = *hub_out = spk_ws_hub_new();
  if (!chat_hub) return SPK_ENOMEM;
  spk_ws_options_t o;
  spk_ws_options_default(&o);
  o.permessage_deflate = 1;
  o.max_message_bytes = 64u << 20;
  static const spk_ws_callbacks_t echo = {.on_message = echo_message};
  static const spk_ws_callbacks_t chat = {
      .on_open = chat_open, .on_message = chat_message, .on_close = chat_close};
  static const spk_ws_callbacks_t goodbye = {.on_open = goodbye_open};
  int rc = spk_app_ws_ex(app, "/ws/echo", &echo, &o, NULL);
  if (!rc) rc = spk_app_ws_ex(app, "/ws/chat", &chat, &o, chat_hub);
  if (!rc) rc = spk_app_ws(app, "/ws/goodbye", &goodbye, NULL);
  return rc;
}
