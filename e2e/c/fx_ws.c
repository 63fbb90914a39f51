/* Fixture runner — WebSocket fixtures.
 *
 * Two shapes (reference §4):
 *  - our REST-shaped fixtures: `request` is the upgrade, `expected_response` the handshake answer
 *    and `websocket.messages` a scripted session (send / receive frames in order), ended by a
 *    close with `websocket.close_code` unless the script closed already;
 *  - the external AsyncAPI message fixtures (`examples` + `schema`, no request): the app mounts
 *    a WebSocket route on the fixture's `channel` validating incoming messages against
 *    `schema` (payload-only messages, without a channel, on /ws/<name> without validation:
 *    their schema describes what a server sends); the runner sends every example and expects, when an
 *    operation declares a reply, the first example of the reply message's own fixture (a
 *    sibling file), otherwise the message echoed with "validated": true (reference §1.7).
 * Both run in memory (the test client's WebSocket API) and over a loopback socket (a small
 * masked-frame client here). */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/evp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "fx.h"
#include "proto/ws.h"

/* ---- the app side ---- */

typedef struct ws_handler {
  int behavior; /* 0 echo, 1 no_response, 2 echo + validated (message fixtures) */
  char *reply;  /* message fixtures: the declared reply's example (JSON text), or NULL */
} ws_handler_t;

static void h_message(spk_ws_t *ws, spk_ws_kind_t kind, const char *data, size_t len, void *ud) {
  const ws_handler_t *h = ud;
  if (h->behavior == 1) return;
  if (kind == SPK_WS_BINARY) {
    spk_ws_send_binary(ws, data, len);
    return;
  }
  if (h->behavior == 0) {
    spk_ws_send_text(ws, data, len);
    return;
  }
  if (h->reply) {
    spk_ws_send_text(ws, h->reply, strlen(h->reply));
    return;
  }
  /* Echo plus "validated": true — the message is a JSON object (the schema said so). */
  spk__arena_t a;
  spk__arena_init(&a, 1024);
  spk_json_value_t *v = NULL;
  spk__buf_t out = {0};
  if (spk_json_parse(&a, data, len, NULL, &v, NULL) == 0 && v->type == SPK_JSON_OBJECT &&
      spk_json_object_set(&a, v, "validated", 9, spk_json_new_bool(&a, 1)) == 0 &&
      spk_json_write(&out, v, 0) == 0)
    spk_ws_send_text(ws, out.data, out.len);
  else
    spk_ws_send_text(ws, data, len);
  spk__buf_free(&out);
  spk__arena_free(&a);
}

static const spk_ws_callbacks_t h_callbacks = {.on_message = h_message};

int fx_ws_is_message_fixture(const fx_fixture_t *fx) {
  return strcmp(fx->category, "websockets") == 0 && !fx_get(fx->root, "request") &&
         fx_is(fx_get(fx->root, "examples"), SPK_JSON_ARRAY) &&
         fx_is(fx_get(fx->root, "schema"), SPK_JSON_OBJECT);
}

/* The example of the message named `name` (a sibling fixture file), as JSON text. */
static char *sibling_example(fx_fixture_t *fx, const char *name) {
  const char *slash = strrchr(fx->file, '/');
  if (!slash) return NULL;
  char path[1024];
  snprintf(path, sizeof(path), "%.*s/%s.json", (int)(slash - fx->file), fx->file, name);
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  spk__buf_t b = {0};
  char chunk[4096];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) spk__buf_append(&b, chunk, n);
  fclose(f);
  spk_json_value_t *root = NULL;
  char *out = NULL;
  if (b.data && spk_json_parse(&fx->arena, b.data, b.len, NULL, &root, NULL) == 0) {
    const spk_json_value_t *ex = fx_get(root, "examples");
    if (fx_is(ex, SPK_JSON_ARRAY) && ex->u.array.len)
      out = fx_json_text(&fx->arena, ex->u.array.items[0], NULL);
  }
  spk__buf_free(&b);
  return out;
}

static const char *message_channel(fx_fixture_t *fx) {
  const char *ch = fx_get_str(fx->root, "channel");
  if (ch) return ch;
  const char *name = fx_get_str(fx->root, "name");
  char buf[256];
  snprintf(buf, sizeof(buf), "/ws/%s", name ? name : "message");
  return spk__arena_strndup(&fx->arena, buf, strlen(buf));
}

int fx_ws_register(fx_fixture_t *fx, spk_app_t *app, const char *route, char *err, size_t errlen) {
  ws_handler_t *h = spk__arena_calloc(&fx->arena, sizeof(*h));
  if (!h) return -1;
  spk_ws_options_t o;
  spk_ws_options_default(&o);
  const spk_json_value_t *spec = fx_get(fx->handler, "websocket");
  const char *protos[16];
  if (fx_ws_is_message_fixture(fx)) {
    h->behavior = 2;
    route = message_channel(fx);
    /* A channel's messages are received by the server: validate them. A payload-only message
     * (no channel: chatAck, statusUpdate, systemAlert) is one the server sends; its schema
     * does not describe input (two of their examples do not even satisfy it). */
    if (fx_get_str(fx->root, "channel"))
      o.message_schema = fx_json_text(&fx->arena, fx_get(fx->root, "schema"), NULL);
    else
      o.json_messages = 1;
    const spk_json_value_t *ops = fx_get(fx->root, "operations");
    for (size_t i = 0; fx_is(ops, SPK_JSON_ARRAY) && i < ops->u.array.len && !h->reply; i++) {
      const spk_json_value_t *rep = fx_get(ops->u.array.items[i], "replies");
      if (fx_is(rep, SPK_JSON_ARRAY) && rep->u.array.len &&
          fx_is(rep->u.array.items[0], SPK_JSON_STRING)) {
        h->reply = sibling_example(fx, rep->u.array.items[0]->u.string.ptr);
        if (!h->reply) {
          snprintf(err, errlen, "reply message %s: no sibling fixture with an example",
                   rep->u.array.items[0]->u.string.ptr);
          return -1;
        }
      }
    }
  } else {
    const char *b = fx_get_str(spec, "behavior");
    h->behavior = b && strcmp(b, "no_response") == 0 ? 1 : 0;
    /* Text routes take JSON (reference: invalid JSON is answered, not echoed). */
    o.json_messages = 1;
    const spk_json_value_t *schema = fx_get(spec, "message_schema");
    if (schema) o.message_schema = fx_json_text(&fx->arena, schema, NULL);
    const spk_json_value_t *max = fx_get(spec, "max_message_bytes");
    if (fx_is(max, SPK_JSON_INT) && max->u.integer > 0) o.max_message_bytes = (size_t)max->u.integer;
    const spk_json_value_t *sp = fx_get(spec, "subprotocols");
    if (fx_is(sp, SPK_JSON_ARRAY)) {
      for (size_t i = 0; i < sp->u.array.len && i < 16; i++)
        if (fx_is(sp->u.array.items[i], SPK_JSON_STRING))
          protos[o.subprotocol_count++] = sp->u.array.items[i]->u.string.ptr;
      o.subprotocols = protos;
    }
    const spk_json_value_t *pd = fx_get(spec, "permessage_deflate");
    o.permessage_deflate = fx_is(pd, SPK_JSON_BOOL) && pd->u.boolean;
  }
  int rc = spk_app_ws_ex(app, route, &h_callbacks, &o, h);
  if (rc != SPK_OK) {
    snprintf(err, errlen, "spk_app_ws_ex %s: %s (%s)", route, spk_err_name(rc),
             spk_app_last_error(app));
    return -1;
  }
  return 0;
}

/* ---- transports ---- */

typedef struct frame {
  int opcode, fin;
  spk__buf_t data;
  int close_code;
} frame_t;

typedef struct link {
  /* in memory */
  spk_test_client_t *tc;
  spk_test_ws_t *tws;
  /* socket */
  int fd;
  spk__buf_t in;
  int timeout_ms;
  uint32_t seed;
} link_t;

static long long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int sock_write(link_t *l, const void *p, size_t n) {
  const char *s = p;
  while (n) {
    ssize_t w = send(l->fd, s, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -1;
    s += w;
    n -= (size_t)w;
  }
  return 0;
}

/* Read more bytes into l->in before the deadline. 1 read, 0 EOF, -1 timeout/error. */
static int sock_fill(link_t *l, long long deadline) {
  long long left = deadline - now_ms();
  if (left <= 0) return -1;
  struct pollfd p = {l->fd, POLLIN, 0};
  if (poll(&p, 1, (int)left) <= 0) return -1;
  char buf[65536];
  ssize_t n = recv(l->fd, buf, sizeof(buf), 0);
  if (n < 0) return errno == EINTR ? 1 : -1;
  if (n == 0) return 0;
  spk__buf_append(&l->in, buf, (size_t)n);
  return 1;
}

static int link_open(link_t *l, spk_app_t *app, int port, const fx_request_t *req,
                     fx_response_t *res, char *err, size_t errlen) {
  if (!port) {
    l->tc = spk_test_client_new(app);
    spk_test_response_t hs;
    int rc = l->tc ? spk_test_ws_connect_raw(l->tc, req->bytes.data, req->bytes.len, &l->tws, &hs)
                   : SPK_ENOMEM;
    if (rc != SPK_OK) {
      snprintf(err, errlen, "handshake in-process: %s", spk_err_name(rc));
      return -1;
    }
    int p = fx_parse_response(hs.raw, hs.raw_len, 0, 1, res);
    spk_test_response_free(&hs);
    if (p != 1) snprintf(err, errlen, "malformed handshake response");
    return p == 1 ? 0 : -1;
  }
  l->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof(sa));
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)port);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int one = 1;
  setsockopt(l->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  if (l->fd < 0 || connect(l->fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 ||
      sock_write(l, req->bytes.data, req->bytes.len) != 0) {
    snprintf(err, errlen, "connect/write: %s", strerror(errno));
    return -1;
  }
  long long deadline = now_ms() + l->timeout_ms;
  for (;;) {
    const char *end = l->in.len ? memmem(l->in.data, l->in.len, "\r\n\r\n", 4) : NULL;
    if (end) {
      size_t head = (size_t)(end + 4 - l->in.data);
      int p = fx_parse_response(l->in.data, head, 0, 0, res);
      if (p == 1 && res->status == 101) {
        spk__buf_consume(&l->in, head);
        return 0;
      }
      /* Not switching: the whole answer (its body too). */
      p = fx_parse_response(l->in.data, l->in.len, 0, 0, res);
      if (p == 1) return 0;
      if (p < 0) break;
    }
    int r = sock_fill(l, deadline);
    if (r == 0) {
      if (fx_parse_response(l->in.data ? l->in.data : "", l->in.len, 0, 1, res) == 1) return 0;
      break;
    }
    if (r < 0) break;
  }
  snprintf(err, errlen, "no handshake response over the socket");
  return -1;
}

static void link_close(link_t *l) {
  spk_test_ws_free(l->tws);
  spk_test_client_free(l->tc);
  if (l->fd > 0) close(l->fd);
  spk__buf_free(&l->in);
}

static int link_send(link_t *l, int fin, int opcode, const void *data, size_t len) {
  if (l->tws) return spk_test_ws_send_frame(l->tws, fin, 0, opcode, data, len) == SPK_OK ? 0 : -1;
  uint8_t mask[4];
  for (int i = 0; i < 4; i++) {
    l->seed = l->seed * 1103515245u + 12345u;
    mask[i] = (uint8_t)(l->seed >> 16);
  }
  spk__buf_t b = {0};
  int rc = spk_ws_frame_append(&b, fin, 0, opcode, data, len, mask) == SPK_OK
               ? sock_write(l, b.data, b.len)
               : -1;
  spk__buf_free(&b);
  return rc;
}

/* The next frame from the server: 0, or -1 (timeout, closed) with a reason. */
static int link_recv(link_t *l, frame_t *f, char *err, size_t errlen) {
  f->data.len = 0;
  if (l->tws) {
    spk_test_ws_frame_t tf;
    int rc = spk_test_ws_recv(l->tws, &tf, (uint32_t)l->timeout_ms);
    if (rc != SPK_OK) {
      snprintf(err, errlen, "no frame from the server (%s)", spk_err_name(rc));
      return -1;
    }
    f->opcode = tf.opcode;
    f->fin = tf.fin;
    f->close_code = tf.close_code;
    spk__buf_append(&f->data, tf.data, tf.len);
    return 0;
  }
  long long deadline = now_ms() + l->timeout_ms;
  spk_ws_parser_t p;
  for (;;) {
    /* A server frame is whole once its header and payload are in: parse a copy each time
     * (frames here are small). */
    spk_ws_parser_init(&p, 1, 0);
    size_t used = 0;
    int ev = l->in.len ? spk_ws_parse(&p, (const uint8_t *)l->in.data, l->in.len, &used) : 0;
    if (ev > 0) {
      f->opcode = p.opcode;
      f->fin = 1;
      f->close_code = ev == SPK_WS_EV_CLOSE ? (int)p.close_code : 0;
      if (ev == SPK_WS_EV_CLOSE && p.payload_len) {
        spk__buf_append(&f->data, "\0\0", 2); /* keep the layout of a close payload */
        spk__buf_append(&f->data, p.payload, p.payload_len);
      } else if (ev != SPK_WS_EV_CLOSE) {
        spk__buf_append(&f->data, p.payload, p.payload_len);
      }
      spk_ws_parser_free(&p);
      spk__buf_consume(&l->in, used);
      return 0;
    }
    spk_ws_parser_free(&p);
    if (ev < 0) {
      snprintf(err, errlen, "malformed frame from the server (close code %d)", p.error_code);
      return -1;
    }
    int r = sock_fill(l, deadline);
    if (r <= 0) {
      snprintf(err, errlen, r == 0 ? "the server closed the connection" : "no frame in time");
      return -1;
    }
  }
}

/* ---- sessions ---- */

static const char *op_name(int op) {
  switch (op) {
    case 0: return "continuation";
    case 1: return "text";
    case 2: return "binary";
    case 8: return "close";
    case 9: return "ping";
    case 10: return "pong";
    default: return "?";
  }
}

static int opcode_of(const char *t) {
  static const char *const names[] = {"continuation", "text", "binary", "close", "ping", "pong"};
  static const int ops[] = {0, 1, 2, 8, 9, 10};
  for (int i = 0; t && i < 6; i++)
    if (strcmp(t, names[i]) == 0) return ops[i];
  return -1;
}

/* A message's payload bytes: payload (JSON, compact), raw_text or payload_base64. */
static int payload_of(fx_fixture_t *fx, const spk_json_value_t *m, spk__buf_t *out) {
  out->len = 0;
  const spk_json_value_t *p = fx_get(m, "payload");
  const char *raw = fx_get_str(m, "raw_text");
  const char *b64 = fx_get_str(m, "payload_base64");
  if (p) {
    size_t n;
    char *t = fx_json_text(&fx->arena, p, &n);
    return t ? spk__buf_append(out, t, n) : -1;
  }
  if (raw) return spk__buf_append(out, raw, strlen(raw));
  if (b64) {
    size_t n = strlen(b64);
    if (spk__buf_reserve(out, n + 4)) return -1;
    int k = EVP_DecodeBlock((unsigned char *)out->data, (const unsigned char *)b64, (int)n);
    if (k < 0) return -1;
    while (n && b64[n - 1] == '=') n--, k--; /* EVP_DecodeBlock counts the padding */
    out->len = (size_t)k;
  }
  return 0;
}

/* Compare a received frame with the expected message. */
static int check_frame(fx_fixture_t *fx, const spk_json_value_t *m, const frame_t *f, char *why,
                       size_t whylen) {
  int want = opcode_of(fx_get_str(m, "frame_type"));
  if (f->opcode != want) {
    snprintf(why, whylen, "expected a %s frame, got %s", op_name(want), op_name(f->opcode));
    return -1;
  }
  if (want == 8) {
    const spk_json_value_t *cc = fx_get(m, "close_code");
    if (fx_is(cc, SPK_JSON_INT) && cc->u.integer != f->close_code) {
      snprintf(why, whylen, "close code %d, expected %lld", f->close_code, (long long)cc->u.integer);
      return -1;
    }
    return 0;
  }
  const spk_json_value_t *p = fx_get(m, "payload");
  if (p) { /* JSON equality */
    spk_json_value_t *got = NULL;
    if (spk_json_parse(&fx->arena, f->data.data ? f->data.data : "", f->data.len, NULL, &got, NULL) != 0 ||
        !spk_json_equal(got, p)) {
      snprintf(why, whylen, "payload %.*s, expected %.200s", (int)(f->data.len > 200 ? 200 : f->data.len),
               f->data.data ? f->data.data : "", fx_json_text(&fx->arena, p, NULL));
      return -1;
    }
    return 0;
  }
  spk__buf_t want_bytes = {0};
  payload_of(fx, m, &want_bytes);
  int same = want_bytes.len == f->data.len &&
             (f->data.len == 0 || memcmp(want_bytes.data, f->data.data, f->data.len) == 0);
  spk__buf_free(&want_bytes);
  if (!same) {
    snprintf(why, whylen, "%s payload differs (%zu bytes)", op_name(f->opcode), f->data.len);
    return -1;
  }
  return 0;
}

int fx_ws_session(fx_fixture_t *fx, spk_app_t *app, int port, const fx_request_t *req,
                  int timeout_ms, fx_response_t *res, char *err, size_t errlen) {
  link_t l;
  memset(&l, 0, sizeof(l));
  l.fd = -1;
  l.timeout_ms = timeout_ms;
  l.seed = 0x2545f491u;
  int rc = link_open(&l, app, port, req, res, err, errlen);
  if (rc != 0 || res->status != 101) {
    link_close(&l);
    return rc;
  }
  const spk_json_value_t *ws = fx_get(fx->root, "websocket");
  const spk_json_value_t *msgs = fx_get(ws, "messages");
  int closed = 0;
  frame_t f;
  memset(&f, 0, sizeof(f));
  spk__buf_t payload = {0};
  for (size_t i = 0; rc == 0 && fx_is(msgs, SPK_JSON_ARRAY) && i < msgs->u.array.len; i++) {
    const spk_json_value_t *m = msgs->u.array.items[i];
    const char *dir = fx_get_str(m, "direction");
    int op = opcode_of(fx_get_str(m, "frame_type"));
    char why[400] = "";
    if (dir && strcmp(dir, "send") == 0) {
      const spk_json_value_t *fin = fx_get(m, "fin");
      if (op == 8) {
        const spk_json_value_t *cc = fx_get(m, "close_code");
        uint8_t p[SPK_WS_MAX_CONTROL];
        size_t n = fx_is(cc, SPK_JSON_INT) ? spk_ws_close_payload(p, (unsigned)cc->u.integer, NULL, 0) : 0;
        rc = link_send(&l, 1, 8, p, n);
        closed = 1;
      } else {
        rc = payload_of(fx, m, &payload) == 0
                 ? link_send(&l, fx_is(fin, SPK_JSON_BOOL) ? fin->u.boolean : 1, op, payload.data, payload.len)
                 : -1;
      }
      if (rc) snprintf(why, sizeof(why), "could not send");
    } else {
      rc = link_recv(&l, &f, why, sizeof(why));
      if (rc == 0) rc = check_frame(fx, m, &f, why, sizeof(why));
      if (rc == 0 && f.opcode == 8) closed = 1;
    }
    if (rc) snprintf(err, errlen, "websocket message %zu: %s", i + 1, why);
  }
  if (rc == 0 && !closed) { /* end the session: our close, echoed with the same code */
    const spk_json_value_t *cc = fx_get(ws, "close_code");
    int code = fx_is(cc, SPK_JSON_INT) ? (int)cc->u.integer : 1000;
    uint8_t p[SPK_WS_MAX_CONTROL];
    size_t n = spk_ws_close_payload(p, (unsigned)code, NULL, 0);
    char why[400] = "";
    rc = link_send(&l, 1, 8, p, n);
    if (rc == 0) rc = link_recv(&l, &f, why, sizeof(why));
    if (rc == 0 && (f.opcode != 8 || f.close_code != code)) {
      snprintf(why, sizeof(why), "closing: got %s (code %d), expected close %d", op_name(f.opcode),
               f.close_code, code);
      rc = -1;
    }
    if (rc) snprintf(err, errlen, "websocket close: %s", why);
  }
  spk__buf_free(&payload);
  spk__buf_free(&f.data);
  link_close(&l);
  return rc;
}

int fx_ws_run_messages(fx_fixture_t *fx, spk_app_t *app, int port, int timeout_ms, char *err,
                       size_t errlen) {
  /* The upgrade request for the channel, as a browser would send it. */
  fx_request_t req;
  memset(&req, 0, sizeof(req));
  const char *ch = message_channel(fx);
  spk__buf_append_str(&req.bytes, "GET ");
  spk__buf_append_str(&req.bytes, ch);
  spk__buf_append_str(&req.bytes, " HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\n"
                                   "Connection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
                                   "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
  link_t l;
  memset(&l, 0, sizeof(l));
  l.fd = -1;
  l.timeout_ms = timeout_ms;
  l.seed = 0x2545f491u;
  fx_response_t res;
  memset(&res, 0, sizeof(res));
  int rc = link_open(&l, app, port, &req, &res, err, errlen);
  if (rc == 0 && res.status != 101) {
    snprintf(err, errlen, "handshake on %s answered %d", ch, res.status);
    rc = -1;
  }
  const spk_json_value_t *examples = fx_get(fx->root, "examples");
  const char *reply = NULL;
  const spk_json_value_t *ops = fx_get(fx->root, "operations");
  for (size_t i = 0; fx_is(ops, SPK_JSON_ARRAY) && i < ops->u.array.len && !reply; i++) {
    const spk_json_value_t *rep = fx_get(ops->u.array.items[i], "replies");
    if (fx_is(rep, SPK_JSON_ARRAY) && rep->u.array.len && fx_is(rep->u.array.items[0], SPK_JSON_STRING))
      reply = sibling_example(fx, rep->u.array.items[0]->u.string.ptr);
  }
  frame_t f;
  memset(&f, 0, sizeof(f));
  for (size_t i = 0; rc == 0 && i < examples->u.array.len; i++) {
    const spk_json_value_t *ex = examples->u.array.items[i];
    size_t n;
    char *text = fx_json_text(&fx->arena, ex, &n);
    char why[400] = "";
    rc = text ? link_send(&l, 1, 1, text, n) : -1;
    if (rc == 0) rc = link_recv(&l, &f, why, sizeof(why));
    if (rc == 0) {
      /* Expected: the declared reply, or the example plus "validated": true. */
      spk_json_value_t *want = NULL, *got = NULL;
      if (reply) {
        spk_json_parse(&fx->arena, reply, strlen(reply), NULL, &want, NULL);
      } else {
        spk_json_parse(&fx->arena, text, n, NULL, &want, NULL);
        if (want && want->type == SPK_JSON_OBJECT)
          spk_json_object_set(&fx->arena, want, "validated", 9, spk_json_new_bool(&fx->arena, 1));
      }
      if (f.opcode != 1 ||
          spk_json_parse(&fx->arena, f.data.data ? f.data.data : "", f.data.len, NULL, &got, NULL) != 0 ||
          !want || !spk_json_equal(got, want)) {
        snprintf(why, sizeof(why), "example %zu: got %.*s", i + 1,
                 (int)(f.data.len > 200 ? 200 : f.data.len), f.data.data ? f.data.data : "");
        rc = -1;
      }
    }
    if (rc) snprintf(err, errlen, "%s", why[0] ? why : "could not send");
  }
  spk__buf_free(&f.data);
  fx_response_free(&res);
  fx_request_free(&req);
  link_close(&l);
  return rc;
}
