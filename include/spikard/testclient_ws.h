/* Spikard — WebSocket side of the in-memory test client.
 *
 * Opens a WebSocket on the very connection code the server runs (handshake through the whole
 * pipeline, then the same session code), without sockets. Frames sent are masked like a
 * browser's; frames received are the server's exact bytes, one frame at a time. */
#ifndef SPIKARD_TESTCLIENT_WS_H
#define SPIKARD_TESTCLIENT_WS_H

#include <stdint.h>

#include "testclient.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct spk_test_ws spk_test_ws_t;

typedef struct spk_test_ws_frame {
  int fin, rsv1, opcode; /* opcode: 1 text, 2 binary, 8 close, 9 ping, 10 pong */
  char *data;            /* payload (owned by the client, valid until the next receive) */
  size_t len;
  int close_code;        /* close frames: the code, 1005 when absent */
  const char *close_reason; /* close frames: the reason (NUL-terminated) */
} spk_test_ws_frame_t;

/* Send the upgrade request `req` (GET; Upgrade, Connection, Sec-WebSocket-Key and -Version are
 * added unless `req` has them). Fills `handshake` (free it with spk_test_response_free); on a
 * 101, *out is the open WebSocket, otherwise NULL. */
SPK_EXTERN int spk_test_ws_connect(spk_test_client_t *client, const spk_test_request_t *req,
                                   spk_test_ws_t **out, spk_test_response_t *handshake);
/* The same with the upgrade request given as raw HTTP/1.1 bytes (sent as they are).
 * handshake->raw holds the response head bytes. */
SPK_EXTERN int spk_test_ws_connect_raw(spk_test_client_t *client, const void *bytes, size_t len,
                                       spk_test_ws_t **out, spk_test_response_t *handshake);
/* One masked frame (any fin/rsv1/opcode, for protocol tests). */
SPK_EXTERN int spk_test_ws_send_frame(spk_test_ws_t *ws, int fin, int rsv1, int opcode,
                                      const void *data, size_t len);
/* A whole text (opcode 1) or binary (2) message in one frame. */
SPK_EXTERN int spk_test_ws_send(spk_test_ws_t *ws, int opcode, const void *data, size_t len);
/* Raw bytes (unmasked frames, garbage, any split). */
SPK_EXTERN int spk_test_ws_send_raw(spk_test_ws_t *ws, const void *bytes, size_t len);
/* A close frame with `code` (0: empty close) and reason. */
SPK_EXTERN int spk_test_ws_send_close(spk_test_ws_t *ws, int code, const char *reason);
/* The next frame from the server, waiting up to timeout_ms for frames sent from other threads.
 * SPK_ETIMEDOUT when none came; SPK_ESTATE when the server closed the connection and no frame
 * is left. */
SPK_EXTERN int spk_test_ws_recv(spk_test_ws_t *ws, spk_test_ws_frame_t *out, uint32_t timeout_ms);
/* 1 once the server closed the TCP connection. */
SPK_EXTERN int spk_test_ws_server_closed(const spk_test_ws_t *ws);
/* Fire the connection's timer now (idle / ping / close-wait timeouts without waiting). */
SPK_EXTERN int spk_test_ws_fire_timer(spk_test_ws_t *ws);
/* Drop the connection (the server sees the peer go away: 1006) and free. */
SPK_EXTERN void spk_test_ws_free(spk_test_ws_t *ws);

#ifdef __cplusplus
}
#endif
#endif
