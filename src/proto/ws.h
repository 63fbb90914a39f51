/* WebSocket (RFC 6455) codec: handshake helpers, an incremental frame parser and a frame
 * writer. Pure: no sockets, no threads, no global state; the parser owns only its message
 * buffer. The same parser serves the server (clients must mask) and the test client (servers
 * must not mask).
 *
 * The parser is fed arbitrary splits of the input and yields complete events: a whole data
 * message (fragments reassembled, unmasked, text checked as UTF-8 while it arrives), a ping, a
 * pong or a close. Any violation is a negative return with the close code to send in
 * `p->error_code` (1002 protocol, 1007 bad UTF-8, 1009 too big). */
#ifndef SPK_PROTO_WS_H
#define SPK_PROTO_WS_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

#define SPK_WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define SPK_WS_ACCEPT_LEN 28 /* base64 of a SHA-1 */
#define SPK_WS_MAX_HEADER 14
#define SPK_WS_MAX_CONTROL 125

enum spk_ws_opcode {
  SPK_WS_OP_CONT = 0,
  SPK_WS_OP_TEXT = 1,
  SPK_WS_OP_BINARY = 2,
  SPK_WS_OP_CLOSE = 8,
  SPK_WS_OP_PING = 9,
  SPK_WS_OP_PONG = 10
};

enum spk_ws_close_code {
  SPK_WS_CLOSE_NORMAL = 1000,
  SPK_WS_CLOSE_GOING_AWAY = 1001,
  SPK_WS_CLOSE_PROTOCOL = 1002,
  SPK_WS_CLOSE_UNSUPPORTED = 1003,
  SPK_WS_CLOSE_NO_STATUS = 1005, /* never on the wire: a close frame without a code */
  SPK_WS_CLOSE_ABNORMAL = 1006,  /* never on the wire: the connection dropped */
  SPK_WS_CLOSE_INVALID_DATA = 1007,
  SPK_WS_CLOSE_POLICY = 1008,
  SPK_WS_CLOSE_TOO_BIG = 1009,
  SPK_WS_CLOSE_MANDATORY_EXT = 1010,
  SPK_WS_CLOSE_INTERNAL = 1011
};

/* ---- handshake ---- */

/* 1 when `key` is a valid Sec-WebSocket-Key (base64 of exactly 16 bytes, RFC 6455 §4.1). */
int spk_ws_key_valid(const char *key, size_t len);
/* accept = base64(SHA1(key + GUID)): writes SPK_WS_ACCEPT_LEN characters and a NUL. 0, or
 * SPK_EINVAL for an invalid key. */
int spk_ws_accept(const char *key, size_t len, char out[SPK_WS_ACCEPT_LEN + 1]);
/* 1 when the comma-separated header value contains `token` (case-insensitive, OWS trimmed). */
int spk_ws_has_token(const char *list, size_t len, const char *token);
/* Subprotocol negotiation: the first entry of the client's list (in the client's order of
 * preference) that the server supports (exact match, RFC 6455 §4.2.2). Returns its index in
 * `supported`, or -1. */
int spk_ws_pick_subprotocol(const char *offered, size_t len, const char *const *supported,
                            size_t supported_count);
/* 1 when `code` may appear in a close frame (RFC 6455 §7.4: 1000-1003, 1007-1011, 3000-4999). */
int spk_ws_close_code_valid(unsigned code);

/* ---- UTF-8, incrementally (a code point may straddle fragments) ---- */

typedef struct spk_utf8 {
  uint8_t need; /* continuation bytes still expected */
  uint8_t lo, hi; /* range of the next continuation byte (overlongs, surrogates, > U+10FFFF) */
} spk_utf8_t;

/* 0 while valid so far, -1 at the first invalid byte. */
int spk_utf8_feed(spk_utf8_t *u, const uint8_t *s, size_t n);
static inline int spk_utf8_complete(const spk_utf8_t *u) { return u->need == 0; }
/* Whole-buffer check: 1 when valid. */
int spk_utf8_valid(const void *s, size_t n);

/* ---- frame parser ---- */

enum spk_ws_event {
  SPK_WS_EV_NONE = 0,    /* all input consumed, no complete event */
  SPK_WS_EV_MESSAGE = 1, /* data message: opcode TEXT/BINARY, payload in msg (compressed: rsv1) */
  SPK_WS_EV_PING = 2,
  SPK_WS_EV_PONG = 3,
  SPK_WS_EV_CLOSE = 4 /* close_code (1005 when absent) and close reason in the payload */
};

typedef struct spk_ws_parser {
  /* configuration */
  int client;            /* 1: parse a server's frames (must not be masked) */
  int rsv1_ok;           /* permessage-deflate negotiated: RSV1 marks a compressed message */
  uint64_t max_message;  /* 0: unlimited */
  /* outputs of the last event */
  int opcode;         /* of the message / control frame */
  int compressed;     /* the message had RSV1 (the caller inflates, then checks UTF-8) */
  const uint8_t *payload;
  size_t payload_len;
  unsigned close_code;
  int error_code; /* close code to send after a negative return */
  /* state */
  uint8_t hdr[SPK_WS_MAX_HEADER];
  uint8_t hdr_len, hdr_need;
  uint8_t fin, op, masked, rsv1;
  uint8_t mask[4];
  uint64_t remaining; /* payload bytes still to read in the current frame */
  uint64_t frame_pos; /* payload bytes read (mask index) */
  int in_message;     /* a fragmented data message is open */
  int msg_opcode, msg_compressed;
  spk_utf8_t utf8;
  spk__buf_t msg;
  uint8_t ctl[SPK_WS_MAX_CONTROL];
  size_t ctl_len;
  int failed;
} spk_ws_parser_t;

void spk_ws_parser_init(spk_ws_parser_t *p, int client, uint64_t max_message);
void spk_ws_parser_free(spk_ws_parser_t *p);
/* Consume input until one event is complete or the input is exhausted. Returns the event
 * (> 0) with `*used` bytes consumed, SPK_WS_EV_NONE with all bytes consumed, or a negative
 * SPK_E* with p->error_code set (the parser then stays failed). Event payloads stay valid
 * until the next call. */
int spk_ws_parse(spk_ws_parser_t *p, const uint8_t *in, size_t len, size_t *used);

/* ---- frame writer ---- */

/* Write a frame header for a payload of `len` bytes; `mask` (client side) may be NULL. Returns
 * the header length (2..14). */
size_t spk_ws_frame_header(uint8_t out[SPK_WS_MAX_HEADER], int fin, int rsv1, int opcode,
                           uint64_t len, const uint8_t *mask);
/* XOR `data` with `mask`, starting at payload offset `pos`. */
void spk_ws_mask(uint8_t *data, size_t n, const uint8_t mask[4], uint64_t pos);
/* Append a whole frame (header + payload, masked with `mask` when given) to `out`. */
int spk_ws_frame_append(spk__buf_t *out, int fin, int rsv1, int opcode, const void *payload,
                        size_t len, const uint8_t *mask);
/* A close payload: code (big-endian) + reason, truncated to fit 125 bytes. Returns its length. */
size_t spk_ws_close_payload(uint8_t out[SPK_WS_MAX_CONTROL], unsigned code, const char *reason,
                            size_t reason_len);

#endif
