/* Spikard — WebSocket routes (RFC 6455, permessage-deflate RFC 7692).
 *
 * A WebSocket route is a GET route: the request goes through the whole pipeline (hooks,
 * middleware, auth) and, when the handshake is valid, is answered 101 and the connection
 * switches to WebSocket framing. Callbacks run on the connection's loop thread. The send and
 * close calls may be made from any thread: off the loop thread the frame is handed to the loop.
 *
 * Lifetime: a spk_ws_t is valid from on_open until on_close returns. To keep using it after
 * (e.g. from another thread, or in a pub/sub hub) take a reference with spk_ws_retain; sends
 * on a closed connection return SPK_ESTATE. */
#ifndef SPIKARD_WEBSOCKET_H
#define SPIKARD_WEBSOCKET_H

#include "app.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct spk_ws spk_ws_t;

typedef enum spk_ws_kind { SPK_WS_TEXT = 1, SPK_WS_BINARY = 2 } spk_ws_kind_t;

typedef struct spk_ws_callbacks {
  /* After the 101 was queued. `req` is the upgrade request (valid during the call). */
  void (*on_open)(spk_ws_t *ws, const spk_req_t *req, void *user_data);
  /* One whole message (fragments joined, inflated, text checked as UTF-8). `data` is valid
   * during the call and NUL-terminated. */
  void (*on_message)(spk_ws_t *ws, spk_ws_kind_t kind, const char *data, size_t len,
                     void *user_data);
  /* Once: the peer's close code (1005 none, 1006 connection lost) or ours after an error. */
  void (*on_close)(spk_ws_t *ws, int code, const char *reason, size_t reason_len,
                   void *user_data);
  /* Optional: the application decides the handshake (authentication, a subprotocol chosen at
   * run time, refusing with 403…). Called like a route handler once the core has checked the
   * request; NULL accepts every valid handshake. Accept with spk_ws_handshake_accept, or refuse
   * by answering anything else (spk_res_problem…); either now (return SPK_HANDLER_DONE) or
   * later from any thread (return SPK_HANDLER_ASYNC, then spk_res_end). on_open follows an
   * accept. */
  int (*on_handshake)(spk_req_t *req, spk_res_t *res, void *user_data);
  /* Optional: an accepted handshake whose connection did not switch after all (the client left,
   * the server is shutting down, the request timed out, a hook replaced the 101): release what
   * the accept's `conn_user_data` holds. Exactly one of on_open or on_dropped follows an
   * accept. */
  void (*on_dropped)(void *conn_user_data, void *user_data);
} spk_ws_callbacks_t;

typedef struct spk_ws_options {
  const char *const *subprotocols; /* supported, the client's order of preference decides */
  size_t subprotocol_count;
  int require_subprotocol;  /* reject (400) a client offering none of them */
  const char *const *origins; /* allowed Origin values; NULL: any */
  size_t origin_count;
  size_t max_message_bytes; /* default 16 MiB; larger messages close with 1009 */
  uint32_t idle_timeout_ms; /* close 1001 after this long without a frame; 0: default 300 s */
  uint32_t ping_interval_ms; /* send a ping after this long without a frame; 0: off */
  int permessage_deflate;    /* accept client offers */
  int deflate_no_context;    /* answer server_no_context_takeover (less memory per conn) */
  /* Parse text messages as JSON: invalid → reply {"type":"error","message":"Invalid JSON"}; with
   * a schema, failing messages → reply {"error":"Message validation failed"}; neither reaches
   * on_message. */
  int json_messages;
  const char *message_schema; /* JSON Schema text; implies json_messages */
} spk_ws_options_t;

SPK_EXTERN void spk_ws_options_default(spk_ws_options_t *out);

SPK_EXTERN int spk_app_ws(spk_app_t *app, const char *path, const spk_ws_callbacks_t *callbacks,
                          void *user_data);
/* `opts` (may be NULL) is copied. */
SPK_EXTERN int spk_app_ws_ex(spk_app_t *app, const char *path, const spk_ws_callbacks_t *callbacks,
                             const spk_ws_options_t *opts, void *user_data);

/* From on_handshake (or the thread that will end its response): answer 101 Switching
 * Protocols. `subprotocol` (may be NULL: the one negotiated from the route's list, if any) must
 * be one the client offered, else SPK_EINVAL. `conn_user_data` is the connection's user data
 * from on_open on (spk_ws_get_user_data), or goes to on_dropped. SPK_ESTATE outside a pending
 * handshake. */
SPK_EXTERN int spk_ws_handshake_accept(spk_res_t *res, const char *subprotocol,
                                       void *conn_user_data);

/* Any thread. SPK_ESTATE once the connection is closing or closed. */
SPK_EXTERN int spk_ws_send_text(spk_ws_t *ws, const char *data, size_t len);
SPK_EXTERN int spk_ws_send_binary(spk_ws_t *ws, const void *data, size_t len);
/* Start the close handshake (code 1000..4999, reason ≤ 123 bytes of UTF-8). Any thread. */
SPK_EXTERN int spk_ws_close(spk_ws_t *ws, int code, const char *reason);

SPK_EXTERN void spk_ws_set_user_data(spk_ws_t *ws, void *data);
SPK_EXTERN void *spk_ws_get_user_data(const spk_ws_t *ws);
/* The negotiated subprotocol, or NULL. */
SPK_EXTERN const char *spk_ws_subprotocol(const spk_ws_t *ws);
SPK_EXTERN void spk_ws_retain(spk_ws_t *ws);
SPK_EXTERN void spk_ws_release(spk_ws_t *ws);

/* ---- publish/subscribe: a topic → connections table; a published message is framed once
 * and the same bytes are queued on every subscriber (uncompressed, which RFC 7692 allows on a
 * deflate connection). Thread-safe. The hub holds a reference to each subscriber; closed
 * connections are dropped on the next publish. */
typedef struct spk_ws_hub spk_ws_hub_t;
SPK_EXTERN spk_ws_hub_t *spk_ws_hub_new(void);
SPK_EXTERN void spk_ws_hub_free(spk_ws_hub_t *hub);
SPK_EXTERN int spk_ws_hub_subscribe(spk_ws_hub_t *hub, const char *topic, spk_ws_t *ws);
SPK_EXTERN int spk_ws_hub_unsubscribe(spk_ws_hub_t *hub, const char *topic, spk_ws_t *ws);
/* Every topic (call it from on_close). */
SPK_EXTERN void spk_ws_hub_unsubscribe_all(spk_ws_hub_t *hub, spk_ws_t *ws);
/* Returns the number of connections the message was queued on, or a negative SPK_E*. */
SPK_EXTERN int spk_ws_hub_publish(spk_ws_hub_t *hub, const char *topic, spk_ws_kind_t kind,
                                  const void *data, size_t len);

#ifdef __cplusplus
}
#endif
#endif
