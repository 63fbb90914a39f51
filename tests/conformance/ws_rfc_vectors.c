/* The byte-exact RFC 6455 / RFC 7692 examples (../shared/conformance/websocket/
 * rfc-examples.json): handshake accept key, every §5.7 frame through the parser (whole and
 * byte by byte) and the writer, the §7.2.3 permessage-deflate messages, and the close-code
 * lists. Skipped with a message when the shared directory is absent. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"
#include "proto/ws.h"
#include "proto/ws_deflate.h"
#include "test.h"
#include "util/arena.h"

static spk_json_value_t *root;

static const spk_json_value_t *get(const spk_json_value_t *o, const char *k) {
  return spk_json_get(o, k, strlen(k));
}

static const char *str(const spk_json_value_t *o, const char *k) {
  const spk_json_value_t *v = get(o, k);
  return v && v->type == SPK_JSON_STRING ? v->u.string.ptr : NULL;
}

static size_t unhex(const char *h, uint8_t *out) {
  size_t n = strlen(h) / 2;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    sscanf(h + 2 * i, "%2x", &v);
    out[i] = (uint8_t)v;
  }
  return n;
}

static void test_handshake(void) {
  const spk_json_value_t *h = get(root, "handshake");
  const char *key = str(h, "sec_websocket_key");
  char accept[SPK_WS_ACCEPT_LEN + 1];
  CHECK_INT(spk_ws_accept(key, strlen(key), accept), 0);
  CHECK_STR(accept, str(h, "sec_websocket_accept"));
  const char *req = str(h, "client_request");
  CHECK(strstr(req, "Sec-WebSocket-Protocol: chat, superchat") != NULL);
  static const char *const supported[] = {"superchat", "chat"};
  CHECK_INT(spk_ws_pick_subprotocol("chat, superchat", 15, supported, 2), 1); /* client order */
  CHECK(strstr(str(h, "server_response"), accept) != NULL);
}

/* Parse frames (client=1 for server-to-client) whole and byte by byte; returns the message. */
static int parse_all(const uint8_t *buf, size_t len, int client, int step, spk__buf_t *msg,
                     int *opcode) {
  spk_ws_parser_t p;
  spk_ws_parser_init(&p, client, 0);
  size_t off = 0;
  int ev = 0;
  while (off < len) {
    size_t n = step ? (len - off < (size_t)step ? len - off : (size_t)step) : len - off;
    size_t used;
    ev = spk_ws_parse(&p, buf + off, n, &used);
    off += used;
    if (ev < 0) break;
    if (ev > 0) {
      *opcode = p.opcode;
      spk__buf_append(msg, p.payload, p.payload_len);
    }
  }
  spk_ws_parser_free(&p);
  return ev;
}

static void test_frames(void) {
  const spk_json_value_t *frames = get(root, "frames");
  for (size_t i = 0; i < frames->u.array.len; i++) {
    const spk_json_value_t *f = frames->u.array.items[i];
    test_current_ = str(f, "name");
    int client = strcmp(str(f, "direction"), "server-to-client") == 0;
    const spk_json_value_t *list = get(f, "frames_hex");
    uint8_t buf[70000];
    size_t len = 0;
    if (!list) { /* header only: build the payload */
      len = unhex(str(f, "header_hex"), buf);
      size_t pl = (size_t)get(f, "payload_length")->u.integer;
      memset(buf + len, 0xAB, pl);
      uint8_t h[SPK_WS_MAX_HEADER];
      size_t hl = spk_ws_frame_header(h, 1, 0, 2, pl, NULL);
      CHECK_INT(hl, len);
      CHECK(memcmp(h, buf, hl) == 0);
      len += pl;
      for (int step = 0; step <= 1; step++) {
        spk__buf_t msg = {0};
        int op = 0;
        CHECK_INT(parse_all(buf, len, client, step ? 7 : 0, &msg, &op), SPK_WS_EV_MESSAGE);
        CHECK_INT(msg.len, pl);
        spk__buf_free(&msg);
      }
      continue;
    }
    for (size_t k = 0; k < list->u.array.len; k++) len += unhex(list->u.array.items[k]->u.string.ptr, buf + len);
    const spk_json_value_t *m = get(f, "message");
    const spk_json_value_t *c = get(f, "control");
    const char *text = m ? str(m, "text") : str(c, "payload_text");
    int want_op = (int)get(m ? m : c, "opcode")->u.integer;
    for (int step = 0; step <= 1; step++) {
      spk__buf_t msg = {0};
      int op = -1;
      int ev = parse_all(buf, len, client, step, &msg, &op);
      CHECK(ev > 0);
      CHECK_INT(op, want_op);
      CHECK_MEM(msg.data, msg.len, text);
      spk__buf_free(&msg);
    }
    /* The server's parser rejects unmasked client frames and vice versa. */
    spk__buf_t msg = {0};
    int op;
    CHECK(parse_all(buf, len, !client, 0, &msg, &op) < 0);
    spk__buf_free(&msg);
    /* The writer produces the same bytes for a single frame. */
    if (list->u.array.len == 1) {
      uint8_t mask[4];
      const char *mk = str(f, "mask_key_hex");
      if (mk) unhex(mk, mask);
      spk__buf_t out = {0};
      spk_ws_frame_append(&out, 1, 0, want_op, text, strlen(text), mk ? mask : NULL);
      CHECK_INT(out.len, len);
      CHECK(memcmp(out.data, buf, len) == 0);
      spk__buf_free(&out);
    }
  }
  test_current_ = "";
}

static void test_deflate(void) {
  const spk_json_value_t *ex = get(get(root, "permessage_deflate"), "examples");
  for (size_t i = 0; i < ex->u.array.len; i++) {
    const spk_json_value_t *e = ex->u.array.items[i];
    test_current_ = str(e, "name");
    const spk_json_value_t *frames = get(e, "frames_hex");
    const spk_json_value_t *msgs = get(e, "messages");
    spk_ws_deflate_params_t params = {0, 0, 15, 0};
    spk_ws_deflate_t d;
    spk_ws_deflate_init(&d, &params);
    spk_ws_parser_t p;
    spk_ws_parser_init(&p, 1, 0);
    p.rsv1_ok = 1;
    size_t got = 0;
    for (size_t k = 0; k < frames->u.array.len; k++) {
      uint8_t buf[64];
      size_t len = unhex(frames->u.array.items[k]->u.string.ptr, buf), used;
      int ev = spk_ws_parse(&p, buf, len, &used);
      CHECK_INT(used, len);
      if (ev != SPK_WS_EV_MESSAGE) continue;
      CHECK(p.compressed);
      spk__buf_t out = {0};
      CHECK_INT(spk_ws_deflate_decompress(&d, p.payload, p.payload_len, 0, &out), 0);
      const char *want = msgs ? msgs->u.array.items[got]->u.string.ptr : str(e, "text");
      CHECK_MEM(out.data, out.len, want);
      got++;
      spk__buf_free(&out);
    }
    CHECK_INT(got, msgs ? msgs->u.array.len : 1);
    spk_ws_parser_free(&p);
    spk_ws_deflate_free(&d);
  }
  /* Our compressor reproduces 7.2.3.1/7.2.3.2 (zlib's output for "Hello" with takeover). */
  spk_ws_deflate_params_t params = {0, 0, 15, 0};
  spk_ws_deflate_t d;
  spk_ws_deflate_init(&d, &params);
  spk__buf_t a = {0}, b = {0};
  spk_ws_deflate_compress(&d, "Hello", 5, &a);
  spk_ws_deflate_compress(&d, "Hello", 5, &b);
  CHECK_INT(a.len, 7);
  CHECK(a.len == 7 && memcmp(a.data, "\xf2\x48\xcd\xc9\xc9\x07\x00", 7) == 0);
  CHECK(b.len == 5 && memcmp(b.data, "\xf2\x00\x11\x00\x00", 5) == 0);
  spk__buf_free(&a);
  spk__buf_free(&b);
  spk_ws_deflate_free(&d);
  test_current_ = "";
}

/* Parse a masked close frame carrying `code`: the event (or error) and the parser's verdict. */
static int parse_close(unsigned code, unsigned *got, int *error_code) {
  uint8_t payload[2] = {(uint8_t)(code >> 8), (uint8_t)code}, mask[4] = {1, 2, 3, 4};
  spk__buf_t f = {0};
  spk_ws_frame_append(&f, 1, 0, SPK_WS_OP_CLOSE, payload, 2, mask);
  spk_ws_parser_t p;
  spk_ws_parser_init(&p, 0, 0);
  size_t used;
  int ev = spk_ws_parse(&p, (uint8_t *)f.data, f.len, &used);
  *got = p.close_code;
  *error_code = p.error_code;
  spk_ws_parser_free(&p);
  spk__buf_free(&f);
  return ev;
}

static void test_close_codes(void) {
  const spk_json_value_t *cc = get(root, "close_codes");
  const spk_json_value_t *valid = get(cc, "valid_on_the_wire"), *invalid = get(cc, "invalid_on_the_wire");
  unsigned got;
  int error_code;
  for (size_t i = 0; i < valid->u.array.len; i++) {
    unsigned code = (unsigned)valid->u.array.items[i]->u.integer;
    CHECK(spk_ws_close_code_valid(code));
    CHECK_INT(parse_close(code, &got, &error_code), SPK_WS_EV_CLOSE);
    CHECK_INT(got, code);
  }
  for (size_t i = 0; i < invalid->u.array.len; i++) {
    unsigned code = (unsigned)invalid->u.array.items[i]->u.integer;
    CHECK(!spk_ws_close_code_valid(code));
    CHECK(parse_close(code, &got, &error_code) < 0);
    CHECK_INT(error_code, 1002);
  }
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : getenv("SPK_SHARED_DIR");
  char path[1024];
  snprintf(path, sizeof(path), "%s/conformance/websocket/rfc-examples.json", dir ? dir : "");
  FILE *fp = dir ? fopen(path, "rb") : NULL;
  if (!fp) {
    printf("SKIP: %s not found\n", path);
    return 0;
  }
  static char text[1 << 20];
  size_t n = fread(text, 1, sizeof(text), fp);
  fclose(fp);
  spk__arena_t arena;
  spk__arena_init(&arena, 65536);
  if (spk_json_parse(&arena, text, n, NULL, &root, NULL) != 0) {
    printf("FAIL: cannot parse %s\n", path);
    return 1;
  }
  RUN(test_handshake);
  RUN(test_frames);
  RUN(test_deflate);
  RUN(test_close_codes);
  spk__arena_free(&arena);
  return test_report("ws_rfc_vectors");
}
