/* WebSocket codec, grouped like the Autobahn test suite: framing, pings/pongs, reserved bits,
 * opcodes, fragmentation, UTF-8, close codes, limits, compression. Every case is fed whole,
 * byte by byte and in odd splits: the parser must give the same result. */
#include <stdlib.h>
#include <string.h>

#include "proto/ws.h"
#include "spikard/common.h"
#include "proto/ws_deflate.h"
#include "test.h"

static const uint8_t MASK[4] = {0x37, 0xfa, 0x21, 0x3d};

/* A client frame (masked) appended to b. */
static void frame(spk__buf_t *b, int fin, int rsv1, int op, const void *p, size_t n) {
  spk_ws_frame_append(b, fin, rsv1, op, p, n, MASK);
}

typedef struct result {
  int events[16];
  int opcodes[16];
  size_t lens[16];
  int n;
  int error; /* close code on failure, 0 when all was accepted */
  spk__buf_t last;
} result_t;

static void run(const spk__buf_t *in, size_t step, uint64_t max, int rsv1_ok, result_t *r) {
  memset(r, 0, sizeof(*r));
  spk_ws_parser_t p;
  spk_ws_parser_init(&p, 0, max);
  p.rsv1_ok = rsv1_ok;
  size_t off = 0;
  while (off < in->len) {
    size_t n = step && in->len - off > step ? step : in->len - off;
    size_t used;
    int ev = spk_ws_parse(&p, (const uint8_t *)in->data + off, n, &used);
    off += used;
    if (ev < 0) {
      r->error = p.error_code;
      break;
    }
    if (ev > 0 && r->n < 16) {
      r->events[r->n] = ev;
      r->opcodes[r->n] = p.opcode;
      r->lens[r->n++] = p.payload_len;
      r->last.len = 0;
      spk__buf_append(&r->last, p.payload, p.payload_len);
      if (ev == SPK_WS_EV_CLOSE) r->opcodes[r->n - 1] = (int)p.close_code;
    }
  }
  spk_ws_parser_free(&p);
}

/* Same outcome for every split. */
static void expect(const spk__buf_t *in, uint64_t max, int rsv1_ok, int nevents, int error,
                   result_t *out) {
  static const size_t steps[] = {0, 1, 2, 3, 5, 13};
  result_t first;
  run(in, 0, max, rsv1_ok, &first);
  CHECK_INT(first.n, nevents);
  CHECK_INT(first.error, error);
  for (size_t i = 1; i < sizeof(steps) / sizeof(steps[0]); i++) {
    result_t r;
    run(in, steps[i], max, rsv1_ok, &r);
    CHECK_INT(r.n, first.n);
    CHECK_INT(r.error, first.error);
    for (int k = 0; k < r.n && k < first.n; k++) {
      CHECK_INT(r.events[k], first.events[k]);
      CHECK_INT(r.lens[k], first.lens[k]);
    }
    CHECK(r.last.len == first.last.len && (r.last.len == 0 || memcmp(r.last.data, first.last.data, r.last.len) == 0));
    spk__buf_free(&r.last);
  }
  if (out)
    *out = first;
  else
    spk__buf_free(&first.last);
}

/* 1.x framing: text and binary of lengths around the 7/16/64-bit boundaries. */
static void test_framing(void) {
  static const size_t sizes[] = {0, 1, 125, 126, 127, 65535, 65536, 200000};
  for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
    size_t n = sizes[i];
    char *payload = malloc(n + 1);
    for (size_t k = 0; k < n; k++) payload[k] = (char)('a' + k % 26);
    for (int op = 1; op <= 2; op++) {
      spk__buf_t b = {0};
      frame(&b, 1, 0, op, payload, n);
      result_t r;
      expect(&b, 0, 0, 1, 0, &r);
      CHECK_INT(r.events[0], SPK_WS_EV_MESSAGE);
      CHECK_INT(r.opcodes[0], op);
      CHECK(r.last.len == n && (n == 0 || memcmp(r.last.data, payload, n) == 0));
      spk__buf_free(&r.last);
      spk__buf_free(&b);
    }
    free(payload);
  }
  /* A non-minimal 16-bit length and a 64-bit length with the top bit set are errors. */
  spk__buf_t b = {0};
  spk__buf_append(&b, "\x81\xfe\x00\x05", 4);
  spk__buf_append(&b, MASK, 4);
  spk__buf_append(&b, "hello", 5);
  expect(&b, 0, 0, 0, 1002, NULL);
  b.len = 0;
  spk__buf_append(&b, "\x82\xff\x80\x00\x00\x00\x00\x00\x00\x00", 10);
  spk__buf_append(&b, MASK, 4);
  expect(&b, 0, 0, 0, 1002, NULL);
  /* Unmasked client frame. */
  b.len = 0;
  spk__buf_append(&b, "\x81\x05hello", 7);
  expect(&b, 0, 0, 0, 1002, NULL);
  spk__buf_free(&b);
}

/* 2.x pings and pongs. */
static void test_pings(void) {
  spk__buf_t b = {0};
  frame(&b, 1, 0, SPK_WS_OP_PING, "", 0);
  frame(&b, 1, 0, SPK_WS_OP_PING, "payload", 7);
  frame(&b, 1, 0, SPK_WS_OP_PONG, "unsolicited", 11);
  char big[125];
  memset(big, 0xfe, sizeof(big));
  frame(&b, 1, 0, SPK_WS_OP_PING, big, 125);
  result_t r;
  expect(&b, 0, 0, 4, 0, &r);
  CHECK_INT(r.events[0], SPK_WS_EV_PING);
  CHECK_INT(r.lens[1], 7);
  CHECK_INT(r.events[2], SPK_WS_EV_PONG);
  CHECK_INT(r.lens[3], 125);
  spk__buf_free(&r.last);
  /* 126-byte ping, fragmented ping. */
  b.len = 0;
  char big2[126] = {0};
  frame(&b, 1, 0, SPK_WS_OP_PING, big2, 126);
  expect(&b, 0, 0, 0, 1002, NULL);
  b.len = 0;
  frame(&b, 0, 0, SPK_WS_OP_PING, "ab", 2);
  expect(&b, 0, 0, 0, 1002, NULL);
  spk__buf_free(&b);
}

/* 3.x reserved bits. */
static void test_reserved_bits(void) {
  for (int bit = 0; bit < 3; bit++) {
    spk__buf_t b = {0};
    frame(&b, 1, 0, SPK_WS_OP_TEXT, "hi", 2);
    b.data[0] |= (char)(0x40 >> bit);
    expect(&b, 0, 0, 0, 1002, NULL);
    /* RSV1 is allowed on a data message once deflate is negotiated, never RSV2/3. */
    expect(&b, 0, 1, bit == 0 ? 1 : 0, bit == 0 ? 0 : 1002, NULL);
    spk__buf_free(&b);
  }
  spk__buf_t b = {0};
  frame(&b, 1, 1, SPK_WS_OP_PING, "", 0); /* never on control frames */
  expect(&b, 0, 1, 0, 1002, NULL);
  spk__buf_free(&b);
}

/* 4.x opcodes. */
static void test_opcodes(void) {
  static const int bad[] = {3, 4, 5, 6, 7, 11, 12, 13, 14, 15};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    spk__buf_t b = {0};
    frame(&b, 1, 0, SPK_WS_OP_TEXT, "ok", 2);
    frame(&b, 1, 0, bad[i], "", 0);
    expect(&b, 0, 0, 1, 1002, NULL); /* the message before is still delivered */
    spk__buf_free(&b);
  }
}

/* 5.x fragmentation. */
static void test_fragmentation(void) {
  spk__buf_t b = {0};
  frame(&b, 0, 0, SPK_WS_OP_TEXT, "frag", 4);
  frame(&b, 1, 0, SPK_WS_OP_PING, "in between", 10); /* control frames may interleave */
  frame(&b, 0, 0, SPK_WS_OP_CONT, "men", 3);
  frame(&b, 1, 0, SPK_WS_OP_CONT, "ted", 3);
  result_t r;
  expect(&b, 0, 0, 2, 0, &r);
  CHECK_INT(r.events[0], SPK_WS_EV_PING);
  CHECK_INT(r.events[1], SPK_WS_EV_MESSAGE);
  CHECK_MEM(r.last.data, r.last.len, "fragmented");
  spk__buf_free(&r.last);
  /* Continuation without a start; a new message inside a fragmented one. */
  b.len = 0;
  frame(&b, 1, 0, SPK_WS_OP_CONT, "x", 1);
  expect(&b, 0, 0, 0, 1002, NULL);
  b.len = 0;
  frame(&b, 0, 0, SPK_WS_OP_TEXT, "a", 1);
  frame(&b, 1, 0, SPK_WS_OP_BINARY, "b", 1);
  expect(&b, 0, 0, 0, 1002, NULL);
  /* Many empty fragments. */
  b.len = 0;
  frame(&b, 0, 0, SPK_WS_OP_BINARY, "", 0);
  for (int i = 0; i < 50; i++) frame(&b, 0, 0, SPK_WS_OP_CONT, "", 0);
  frame(&b, 1, 0, SPK_WS_OP_CONT, "", 0);
  expect(&b, 0, 0, 1, 0, NULL);
  spk__buf_free(&b);
}

/* 6.x UTF-8, checked as the fragments arrive. */
static void test_utf8(void) {
  static const char *const good[] = {"", "κόσμε", "\xf0\x9f\x98\x80", "\xef\xbf\xbf",
                                     "\xf4\x8f\xbf\xbf", "\xed\x9f\xbf"};
  static const char *const bad[] = {"\xc0\xaf", "\xe0\x80\xaf", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                                    "\xff", "\x80", "\xce\xba\xe1\xbd", "\xf8\x88\x80\x80\x80"};
  for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
    CHECK(spk_utf8_valid(good[i], strlen(good[i])));
    /* Split at every byte into two fragments. */
    size_t n = strlen(good[i]);
    for (size_t cut = 0; cut <= n; cut++) {
      spk__buf_t b = {0};
      frame(&b, 0, 0, SPK_WS_OP_TEXT, good[i], cut);
      frame(&b, 1, 0, SPK_WS_OP_CONT, good[i] + cut, n - cut);
      expect(&b, 0, 0, 1, 0, NULL);
      spk__buf_free(&b);
    }
  }
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    CHECK(!spk_utf8_valid(bad[i], strlen(bad[i])));
    spk__buf_t b = {0};
    frame(&b, 1, 0, SPK_WS_OP_TEXT, bad[i], strlen(bad[i]));
    expect(&b, 0, 0, 0, 1007, NULL);
    spk__buf_free(&b);
  }
  /* Binary is not checked. */
  spk__buf_t b = {0};
  frame(&b, 1, 0, SPK_WS_OP_BINARY, "\xff\xfe", 2);
  expect(&b, 0, 0, 1, 0, NULL);
  /* A fragmented message failing in its first fragment fails before the end arrives. */
  b.len = 0;
  frame(&b, 0, 0, SPK_WS_OP_TEXT, "\xc0", 1);
  expect(&b, 0, 0, 0, 1007, NULL);
  spk__buf_free(&b);
}

/* 7.x close codes and reasons. */
static void test_close(void) {
  spk__buf_t b = {0};
  frame(&b, 1, 0, SPK_WS_OP_CLOSE, "", 0);
  result_t r;
  expect(&b, 0, 0, 1, 0, &r);
  CHECK_INT(r.opcodes[0], 1005);
  spk__buf_free(&r.last);
  b.len = 0;
  frame(&b, 1, 0, SPK_WS_OP_CLOSE, "\x03", 1); /* 1-byte payload */
  expect(&b, 0, 0, 0, 1002, NULL);
  b.len = 0;
  frame(&b, 1, 0, SPK_WS_OP_CLOSE, "\x03\xe8" "bye", 5);
  expect(&b, 0, 0, 1, 0, &r);
  CHECK_INT(r.opcodes[0], 1000);
  CHECK_MEM(r.last.data, r.last.len, "bye");
  spk__buf_free(&r.last);
  b.len = 0;
  frame(&b, 1, 0, SPK_WS_OP_CLOSE, "\x03\xe8\xff", 3); /* reason not UTF-8 */
  expect(&b, 0, 0, 0, 1007, NULL);
  spk__buf_free(&b);
  uint8_t p[SPK_WS_MAX_CONTROL];
  char reason[200];
  memset(reason, 'x', sizeof(reason));
  memcpy(reason + 122, "\xce\xba", 2); /* a 2-byte character straddling the 123-byte cut */
  size_t n = spk_ws_close_payload(p, 1000, reason, sizeof(reason));
  CHECK_INT(n, 124);
  CHECK(spk_utf8_valid(p + 2, n - 2));
}

/* 9.x limits. */
static void test_limits(void) {
  spk__buf_t b = {0};
  char big[1000];
  memset(big, 'a', sizeof(big));
  frame(&b, 1, 0, SPK_WS_OP_TEXT, big, 1000);
  expect(&b, 1000, 0, 1, 0, NULL);
  expect(&b, 999, 0, 0, 1009, NULL);
  /* The limit covers the whole message, across fragments. */
  b.len = 0;
  frame(&b, 0, 0, SPK_WS_OP_BINARY, big, 600);
  frame(&b, 1, 0, SPK_WS_OP_CONT, big, 600);
  expect(&b, 1000, 0, 0, 1009, NULL);
  /* A 64-bit length far beyond the limit fails at the header, before any payload. */
  b.len = 0;
  spk__buf_append(&b, "\x82\xff\x00\x00\x00\x10\x00\x00\x00\x00", 10);
  spk__buf_append(&b, MASK, 4);
  expect(&b, 1 << 20, 0, 0, 1009, NULL);
  spk__buf_free(&b);
}

/* 12.x/13.x compression: negotiation and round trips with and without context takeover. */
static void test_compression(void) {
  spk_ws_deflate_params_t p;
  char resp[160];
  CHECK_INT(spk_ws_deflate_negotiate("permessage-deflate; client_max_window_bits", 42, 0, &p, resp,
                                     sizeof(resp)), 1);
  CHECK_STR(resp, "permessage-deflate");
  const char *offer = "permessage-deflate; server_max_window_bits=8, permessage-deflate; "
                      "server_no_context_takeover; client_no_context_takeover; "
                      "server_max_window_bits=10; client_max_window_bits=12";
  CHECK_INT(spk_ws_deflate_negotiate(offer, strlen(offer), 0, &p, resp, sizeof(resp)), 1);
  CHECK_STR(resp, "permessage-deflate; server_no_context_takeover; client_no_context_takeover; "
                  "server_max_window_bits=10; client_max_window_bits=12");
  CHECK_INT(p.server_max_window_bits, 10);
  CHECK_INT(spk_ws_deflate_negotiate("permessage-deflate; foo", 23, 0, &p, resp, sizeof(resp)), 0);
  CHECK_INT(spk_ws_deflate_negotiate("x-webkit-deflate-frame", 22, 0, &p, resp, sizeof(resp)), 0);
  CHECK_INT(spk_ws_deflate_negotiate("permessage-deflate; server_max_window_bits=16", 45, 0, &p,
                                     resp, sizeof(resp)), 0);
  CHECK_INT(spk_ws_deflate_negotiate("permessage-deflate;server_no_context_takeover;"
                                     "server_no_context_takeover", 72, 0, &p, resp, sizeof(resp)), 0);
  CHECK_INT(spk_ws_deflate_negotiate("permessage-deflate", 18, 1, &p, resp, sizeof(resp)), 1);
  CHECK_STR(resp, "permessage-deflate; server_no_context_takeover");

  for (int takeover = 0; takeover <= 1; takeover++) {
    spk_ws_deflate_params_t params = {!takeover, !takeover, 15, 0};
    spk_ws_deflate_t tx, rx;
    spk_ws_deflate_init(&tx, &params);
    spk_ws_deflate_init(&rx, &params);
    spk__buf_t z = {0}, out = {0};
    char msg[5000];
    for (size_t i = 0; i < sizeof(msg); i++) msg[i] = (char)("spikard "[i % 8]);
    for (int round = 0; round < 3; round++) {
      z.len = 0;
      CHECK_INT(spk_ws_deflate_compress(&tx, msg, sizeof(msg), &z), 0);
      CHECK(z.len < sizeof(msg) / 10);
      CHECK_INT(spk_ws_deflate_decompress(&rx, z.data, z.len, 0, &out), 0);
      CHECK(out.len == sizeof(msg) && memcmp(out.data, msg, sizeof(msg)) == 0);
    }
    z.len = 0;
    CHECK_INT(spk_ws_deflate_compress(&tx, "", 0, &z), 0);
    CHECK(z.len >= 1);
    CHECK_INT(spk_ws_deflate_decompress(&rx, z.data, z.len, 0, &out), 0);
    CHECK_INT(out.len, 0);
    spk__buf_free(&z);
    spk__buf_free(&out);
    spk_ws_deflate_free(&tx);
    spk_ws_deflate_free(&rx);
  }
  /* A zip bomb stops at the limit; garbage is an error. */
  spk_ws_deflate_params_t params = {0, 0, 15, 0};
  spk_ws_deflate_t tx, rx;
  spk_ws_deflate_init(&tx, &params);
  spk_ws_deflate_init(&rx, &params);
  char *zeros = calloc(1, 10u << 20);
  spk__buf_t z = {0}, out = {0};
  CHECK_INT(spk_ws_deflate_compress(&tx, zeros, 10u << 20, &z), 0);
  CHECK(z.len < 20000);
  CHECK_INT(spk_ws_deflate_decompress(&rx, z.data, z.len, 1u << 20, &out), SPK_ERANGE);
  CHECK(out.cap <= (4u << 20)); /* stopped near the limit, not at 10 MiB */
  spk_ws_deflate_free(&rx);
  spk_ws_deflate_init(&rx, &params);
  CHECK_INT(spk_ws_deflate_decompress(&rx, "\xff\xff\xff\xff", 4, 0, &out), SPK_EPROTO);
  free(zeros);
  spk__buf_free(&z);
  spk__buf_free(&out);
  spk_ws_deflate_free(&tx);
  spk_ws_deflate_free(&rx);
}

static void test_handshake_helpers(void) {
  CHECK(spk_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ==", 24));
  CHECK(!spk_ws_key_valid("dGhlIHNhbXBsZSBub25jZQ=", 23));
  CHECK(!spk_ws_key_valid("dGhlIHNhbXBsZSBub25jZR==", 24)); /* non-zero unused bits */
  CHECK(!spk_ws_key_valid("dGhlIHNhbXBsZSBub25j*Q==", 24));
  CHECK(!spk_ws_key_valid("aGVsbG8gd29ybGQhIQ==abcd", 24));
  CHECK(spk_ws_has_token("keep-alive, Upgrade", 19, "upgrade"));
  CHECK(!spk_ws_has_token("keep-alive, Upgrades", 20, "upgrade"));
  CHECK(spk_ws_has_token(" WebSocket ", 11, "websocket"));
  static const char *const sup[] = {"v2.chat", "v1.chat"};
  CHECK_INT(spk_ws_pick_subprotocol("v1.chat, v2.chat", 16, sup, 2), 1);
  CHECK_INT(spk_ws_pick_subprotocol("v3", 2, sup, 2), -1);
}

int main(void) {
  RUN(test_framing);
  RUN(test_pings);
  RUN(test_reserved_bits);
  RUN(test_opcodes);
  RUN(test_fragmentation);
  RUN(test_utf8);
  RUN(test_close);
  RUN(test_limits);
  RUN(test_compression);
  RUN(test_handshake_helpers);
  return test_report("ws_frames");
}
