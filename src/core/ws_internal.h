/* WebSocket glue between the HTTP/1.1 connection (conn.c) and the WebSocket session
 * (ws_conn.c), plus the route data (ws_route.c). */
#ifndef SPK_CORE_WS_INTERNAL_H
#define SPK_CORE_WS_INTERNAL_H

#include <stdatomic.h>

#include "core/conn.h"
#include "proto/schema.h"
#include "proto/ws.h"
#include "proto/ws_deflate.h"
#include "spikard/websocket.h"

/* One registered WebSocket route (app-owned, immutable after registration). */
typedef struct spk__ws_route {
  spk_ws_callbacks_t cb;
  void *user_data;
  spk_ws_options_t opts; /* arrays below are owned copies */
  char **subprotocols;
  char **origins;
  spk_schema_t *schema;
  struct spk__ws_route *next;
} spk__ws_route_t;

/* What the handshake decided, in the upgrade exchange's arena (exchange.h: ws_upgrade). */
typedef struct spk__ws_upgrade {
  const spk__ws_route_t *route;
  int deflate;
  spk_ws_deflate_params_t deflate_params;
  const char *subprotocol; /* the route's string, or NULL */
  char accept[SPK_WS_ACCEPT_LEN + 1];
  char extensions[160]; /* the Sec-WebSocket-Extensions answer when deflate is on */
  void *conn_user_data; /* from spk_ws_handshake_accept: on_open's, or on_dropped's */
  int started;          /* the session began (on_open ran or is running) */
} spk__ws_upgrade_t;

/* The exchange of an accepted handshake is freed: on_dropped unless the session started. */
void spk__ws_upgrade_end(spk__ws_upgrade_t *up);

void spk__ws_routes_free(spk__ws_route_t *r);

/* A frame shared by the connections it is queued on (pub/sub encodes once). */
typedef struct spk__ws_frame {
  atomic_int refs;
  int opcode;
  size_t len;
  uint8_t data[];
} spk__ws_frame_t;

spk__ws_frame_t *spk__ws_frame_new(int opcode, int rsv1, const void *payload, size_t len);
void spk__ws_frame_release(spk__ws_frame_t *f);
/* Queue a frame (takes a reference of its own). Any thread. SPK_ESTATE when closed. */
int spk__ws_send_frame(spk_ws_t *ws, spk__ws_frame_t *f);
int spk__ws_is_open(spk_ws_t *ws);

/* ---- the session, driven by conn.c on the owner thread ---- */
/* The 101 has been queued: take over the connection. The exchange stays alive with the session
 * (it is the handle of cross-thread wakes). NULL when out of memory. */
spk_ws_t *spk__ws_conn_start(spk__conn_t *c, spk__exchange_t *ex);
spk__conn_action_t spk__ws_conn_input(spk_ws_t *ws, spk__buf_t *in);
void spk__ws_conn_write_done(spk_ws_t *ws, void *token);
spk__conn_action_t spk__ws_conn_wake(spk_ws_t *ws);
spk__conn_action_t spk__ws_conn_timeout(spk_ws_t *ws);
spk__conn_action_t spk__ws_conn_eof(spk_ws_t *ws);
spk__conn_action_t spk__ws_conn_shutdown(spk_ws_t *ws);
/* The connection is being freed. */
void spk__ws_conn_detach(spk_ws_t *ws);

#endif
