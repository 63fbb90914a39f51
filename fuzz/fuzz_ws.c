/* libFuzzer target: the WebSocket frame parser and the permessage-deflate path (proto/ws.c,
 * proto/ws_deflate.c).
 *
 * Input: byte 0 selects the role (bit 0: client parser), the split step (bits 1-4) and whether
 * deflate is negotiated (bit 5); byte 1 the extension offer length n, then n bytes of
 * Sec-WebSocket-Extensions text, then the frame bytes. Checks: the parser gives the same events
 * (kind, opcode, payload bytes, close code, error code) for the whole input and for the split
 * feed; a data message never exceeds the limit; a text message that is not compressed is valid
 * UTF-8; compressed messages inflate within the limit or fail cleanly; a negotiated offer
 * gives parameters in range; whatever is inflated can be deflated and inflated back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ws.h"
#include "proto/ws_deflate.h"
#include "spikard/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)     \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

#define LIMIT 65536

typedef struct trace {
  spk__buf_t log; /* kind, opcode, code, payload for every event */
  int error;
} trace_t;

static void record(trace_t *t, int ev, const spk_ws_parser_t *p) {
  int head[3] = {ev, p->opcode, ev == SPK_WS_EV_CLOSE ? (int)p->close_code : p->compressed};
  spk__buf_append(&t->log, head, sizeof(head));
  spk__buf_append(&t->log, &p->payload_len, sizeof(p->payload_len));
  spk__buf_append(&t->log, p->payload, p->payload_len);
}

static void run(const uint8_t *in, size_t len, int client, int rsv1_ok, size_t step,
                spk_ws_deflate_t *d, trace_t *t) {
  spk_ws_parser_t p;
  spk_ws_parser_init(&p, client, LIMIT);
  p.rsv1_ok = rsv1_ok;
  size_t off = 0;
  spk__buf_t out = {0};
  while (off < len) {
    size_t n = step && len - off > step ? step : len - off;
    /* A private copy of each chunk: no read may pass its end. */
    uint8_t *chunk = malloc(n);
    REQUIRE(chunk);
    memcpy(chunk, in + off, n);
    size_t used = 0;
    int ev = spk_ws_parse(&p, chunk, n, &used);
    free(chunk);
    REQUIRE(used <= n);
    off += used;
    if (ev < 0) {
      t->error = p.error_code;
      REQUIRE(p.error_code == 1002 || p.error_code == 1007 || p.error_code == 1009);
      break;
    }
    if (ev == SPK_WS_EV_NONE) {
      REQUIRE(used == n);
      continue;
    }
    record(t, ev, &p);
    if (ev == SPK_WS_EV_MESSAGE) {
      REQUIRE(p.payload_len <= LIMIT);
      if (p.opcode == SPK_WS_OP_TEXT && !p.compressed) REQUIRE(spk_utf8_valid(p.payload, p.payload_len));
      if (p.compressed && d) {
        int rc = spk_ws_deflate_decompress(d, p.payload, p.payload_len, LIMIT, &out);
        REQUIRE(rc == SPK_OK || rc == SPK_ERANGE || rc == SPK_EPROTO);
        if (rc == SPK_OK) {
          REQUIRE(out.len <= LIMIT);
          /* Round trip through a fresh pair of codecs. */
          spk_ws_deflate_params_t params = {1, 1, 15, 0};
          spk_ws_deflate_t tx, rx;
          spk_ws_deflate_init(&tx, &params);
          spk_ws_deflate_init(&rx, &params);
          spk__buf_t z = {0}, back = {0};
          REQUIRE(spk_ws_deflate_compress(&tx, out.data, out.len, &z) == SPK_OK);
          REQUIRE(spk_ws_deflate_decompress(&rx, z.data, z.len, 0, &back) == SPK_OK);
          REQUIRE(back.len == out.len && (out.len == 0 || memcmp(back.data, out.data, out.len) == 0));
          spk__buf_free(&z);
          spk__buf_free(&back);
          spk_ws_deflate_free(&tx);
          spk_ws_deflate_free(&rx);
        } else {
          /* A failed stream is not reused (the session closes). */
          spk_ws_deflate_free(d);
          spk_ws_deflate_params_t params = {0, 0, 15, 0};
          spk_ws_deflate_init(d, &params);
        }
      }
    }
    if (ev == SPK_WS_EV_CLOSE && p.close_code != SPK_WS_CLOSE_NO_STATUS)
      REQUIRE(spk_ws_close_code_valid(p.close_code));
  }
  spk__buf_free(&out);
  spk_ws_parser_free(&p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 2) return 0;
  int client = data[0] & 1;
  size_t step = (size_t)((data[0] >> 1) & 15);
  int deflate = (data[0] >> 5) & 1;
  size_t n = data[1];
  if (n > size - 2) n = size - 2;
  const char *offer = (const char *)data + 2;
  spk_ws_deflate_params_t params;
  char resp[160];
  char *copy = malloc(n ? n : 1);
  REQUIRE(copy);
  memcpy(copy, offer, n);
  if (spk_ws_deflate_negotiate(copy, n, data[0] >> 7, &params, resp, sizeof(resp))) {
    REQUIRE(params.server_max_window_bits >= 9 && params.server_max_window_bits <= 15);
    REQUIRE(params.client_max_window_bits == 0 ||
            (params.client_max_window_bits >= 8 && params.client_max_window_bits <= 15));
    REQUIRE(strncmp(resp, "permessage-deflate", 18) == 0);
  }
  free(copy);
  const uint8_t *frames = data + 2 + n;
  size_t len = size - 2 - n;
  spk_ws_deflate_params_t dp = {0, 0, 15, 0};
  spk_ws_deflate_t d;
  spk_ws_deflate_init(&d, &dp);
  trace_t whole = {{0}, 0}, split = {{0}, 0};
  run(frames, len, client, deflate, 0, &d, &whole);
  run(frames, len, client, deflate, step ? step : 1, NULL, &split);
  REQUIRE(whole.error == split.error);
  REQUIRE(whole.log.len == split.log.len);
  REQUIRE(whole.log.len == 0 || memcmp(whole.log.data, split.log.data, whole.log.len) == 0);
  spk__buf_free(&whole.log);
  spk__buf_free(&split.log);
  spk_ws_deflate_free(&d);
  return 0;
}
