/* permessage-deflate (RFC 7692): offer negotiation and the per-connection codec. Pure: zlib
 * streams, no I/O. */
#ifndef SPK_PROTO_WS_DEFLATE_H
#define SPK_PROTO_WS_DEFLATE_H

#include <stddef.h>
#include <zlib.h>

#include "util/buf.h"

typedef struct spk_ws_deflate_params {
  int server_no_context_takeover; /* we reset our compressor after each message */
  int client_no_context_takeover; /* the client resets its compressor (we may reset inflate) */
  int server_max_window_bits;     /* 9..15: our LZ77 window */
  int client_max_window_bits;     /* 8..15, or 0 when not in the answer */
} spk_ws_deflate_params_t;

/* Pick the first acceptable permessage-deflate offer in a Sec-WebSocket-Extensions value.
 * `force_no_context` asks for server_no_context_takeover whatever the client offered (saves
 * memory per idle connection). Returns 1 and fills `out` and the answer text `resp` (NUL-
 * terminated), or 0 when nothing is acceptable (the connection goes on uncompressed). */
int spk_ws_deflate_negotiate(const char *value, size_t len, int force_no_context,
                             spk_ws_deflate_params_t *out, char *resp, size_t resp_cap);

typedef struct spk_ws_deflate {
  spk_ws_deflate_params_t params;
  z_stream def, inf;
  int def_ok, inf_ok; /* streams are created on first use */
} spk_ws_deflate_t;

void spk_ws_deflate_init(spk_ws_deflate_t *d, const spk_ws_deflate_params_t *params);
void spk_ws_deflate_free(spk_ws_deflate_t *d);
/* Compress one whole message, appending the payload (without the 00 00 ff ff tail) to out. */
int spk_ws_deflate_compress(spk_ws_deflate_t *d, const void *in, size_t n, spk__buf_t *out);
/* Inflate one whole message into out (replacing its contents). SPK_ERANGE when the result
 * would exceed `limit` bytes (0: unlimited) — a zip bomb stops there; SPK_EPROTO for corrupt
 * data. */
int spk_ws_deflate_decompress(spk_ws_deflate_t *d, const void *in, size_t n, size_t limit,
                              spk__buf_t *out);

#endif
