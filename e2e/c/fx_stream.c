/* Fixture runner — streamed bodies and Server-Sent Events.
 *
 * Three shapes (testing_data/README.md, spikard-behaviour.md §1.5, §1.7, §4):
 *   streaming {content_type, chunks: [{type: text, value} | {type: bytes, base64}]}
 *       the handler produces the chunks with a pull producer (one chunk per pull); the
 *       expected body is the chunks concatenated (the external binary fixture's `body` is an
 *       escaped rendering, so the chunks are the truth), and the response must be chunked;
 *   sse {events: [{data, event?, id?, retry?}]}  (REST shape, ours)
 *       the handler sends the events (data objects as compact JSON); with a Last-Event-ID
 *       request header it resumes after the event of that id — the handler sees the header;
 *       `expected_response.body` is the exact text/event-stream text;
 *   AsyncAPI message files (external sse/: {channel, protocol: "sse", examples, schema})
 *       synthesized here: GET channel with Accept: text/event-stream, 200 text/event-stream;
 *       the handler sends every example as one `data:` event; the runner parses the stream,
 *       JSON-compares each event's data with its example, in order, and validates it against
 *       the message `schema` (the JSON Schema validator of the project). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fx.h"
#include "proto/schema.h"

/* ---- the handlers ---- */

typedef struct fx_chunks {
  size_t n;
  const char **data;
  size_t *len;
  const char *content_type;
  fx_reply_fill_fn fill; /* status + echoed headers of the canned reply */
  const void *reply;
} fx_chunks_t;

typedef struct cursor {
  const fx_chunks_t *c;
  size_t i;
} cursor_t;

static int pull_chunk(spk_stream_t *s, void *ud) {
  cursor_t *cur = ud;
  if (cur->i >= cur->c->n) {
    free(cur);
    return SPK_STREAM_END;
  }
  size_t i = cur->i++;
  int rc = spk_stream_write(s, cur->c->data[i], cur->c->len[i]);
  return rc ? rc : SPK_STREAM_MORE;
}

static void cancel_chunks(spk_stream_t *s, void *ud) {
  free(ud);
  spk_stream_abort(s);
}

static int h_chunks(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  const fx_chunks_t *c = ud;
  c->fill(res, c->reply);
  cursor_t *cur = calloc(1, sizeof(*cur));
  if (!cur) return SPK_ENOMEM;
  cur->c = c;
  spk_stream_options_t o = {.pull = pull_chunk, .cancel = cancel_chunks, .user_data = cur};
  spk_stream_t *s;
  int rc = spk_res_stream(res, &o, &s);
  if (rc) {
    free(cur);
    return rc;
  }
  if (c->content_type) spk_res_set_header(res, "Content-Type", c->content_type);
  return SPK_HANDLER_DONE;
}

typedef struct fx_events {
  size_t n;
  spk_sse_event_t *ev;
} fx_events_t;

static int h_events(spk_req_t *req, spk_res_t *res, void *ud) {
  const fx_events_t *e = ud;
  spk_stream_t *s;
  int rc = spk_res_sse(res, NULL, &s);
  if (rc) return rc;
  size_t from = 0;
  spk_str_t last;
  if (spk_req_last_event_id(req, &last) == SPK_OK)
    for (size_t i = 0; i < e->n; i++)
      if (e->ev[i].id && strlen(e->ev[i].id) == last.len &&
          memcmp(e->ev[i].id, last.ptr, last.len) == 0)
        from = i + 1;
  for (size_t i = from; i < e->n && !rc; i++) rc = spk_sse_send(s, &e->ev[i]);
  if (rc) {
    spk_stream_abort(s);
    return SPK_HANDLER_DONE;
  }
  spk_stream_end(s);
  return SPK_HANDLER_DONE;
}

/* ---- reading the fixture ---- */

/* The expected bytes of a streaming fixture: the chunks concatenated. -1 when malformed. */
static int chunks_of(fx_fixture_t *fx, fx_chunks_t *out, spk__buf_t *all) {
  const spk_json_value_t *st = fx_get(fx->root, "streaming");
  const spk_json_value_t *arr = fx_get(st, "chunks");
  if (!fx_is(arr, SPK_JSON_ARRAY)) return -1;
  spk__arena_t *a = &fx->arena;
  out->n = arr->u.array.len;
  out->data = spk__arena_calloc(a, (out->n + 1) * sizeof(char *));
  out->len = spk__arena_calloc(a, (out->n + 1) * sizeof(size_t));
  out->content_type = fx_get_str(st, "content_type");
  if (!out->data || !out->len) return -1;
  for (size_t i = 0; i < out->n; i++) {
    const spk_json_value_t *ch = arr->u.array.items[i];
    const char *type = fx_get_str(ch, "type");
    spk__buf_t b = {0};
    if (type && !strcmp(type, "text") && fx_get_str(ch, "value")) {
      const spk_json_value_t *v = fx_get(ch, "value");
      size_t n;
      const char *text = fx_expand(a, v->u.string.ptr, v->u.string.len, &n); /* {{ repeat }} */
      spk__buf_append(&b, text, n);
    } else if (type && !strcmp(type, "bytes") && fx_get_str(ch, "base64")) {
      if (fx_base64_decode(&b, fx_get_str(ch, "base64"))) {
        spk__buf_free(&b);
        return -1;
      }
    } else {
      return -1;
    }
    out->data[i] = spk__arena_strndup(a, b.data ? b.data : "", b.len);
    out->len[i] = b.len;
    if (all) spk__buf_append(all, b.data, b.len);
    spk__buf_free(&b);
    if (!out->data[i]) return -1;
  }
  return 0;
}

static char *dup_str(spk__arena_t *a, const spk_json_value_t *v) {
  if (fx_is(v, SPK_JSON_STRING)) return spk__arena_strndup(a, v->u.string.ptr, v->u.string.len);
  if (fx_is(v, SPK_JSON_INT)) {
    char num[32];
    snprintf(num, sizeof(num), "%lld", (long long)v->u.integer);
    return spk__arena_strndup(a, num, strlen(num));
  }
  return NULL;
}

static int events_of(fx_fixture_t *fx, const spk_json_value_t *arr, fx_events_t *out) {
  spk__arena_t *a = &fx->arena;
  out->n = arr->u.array.len;
  out->ev = spk__arena_calloc(a, (out->n + 1) * sizeof(*out->ev));
  if (!out->ev) return -1;
  for (size_t i = 0; i < out->n; i++) {
    const spk_json_value_t *e = arr->u.array.items[i];
    /* An AsyncAPI example is the payload itself; an `sse.events` item has fields. */
    const spk_json_value_t *data = fx->asyncapi ? e : fx_get(e, "data");
    spk_sse_event_t *ev = &out->ev[i];
    if (data) {
      size_t len = 0;
      if (fx_is(data, SPK_JSON_STRING)) {
        ev->data = data->u.string.ptr;
        len = data->u.string.len;
      } else {
        ev->data = fx_json_text(a, data, &len);
      }
      if (!ev->data) return -1;
      ev->data_len = len;
    }
    if (!fx->asyncapi) {
      ev->event = fx_get_str(e, "event");
      ev->id = dup_str(a, fx_get(e, "id"));
      const spk_json_value_t *r = fx_get(e, "retry");
      if (fx_is(r, SPK_JSON_INT)) ev->retry_ms = r->u.integer;
    }
  }
  return 0;
}

int fx_stream_handler(fx_fixture_t *fx, fx_reply_fill_fn fill, const void *reply,
                      spk_handler_fn *h, void **ud, char *err, size_t errlen) {
  if (fx_get(fx->root, "streaming")) {
    fx_chunks_t *c = spk__arena_calloc(&fx->arena, sizeof(*c));
    if (!c || chunks_of(fx, c, NULL)) {
      snprintf(err, errlen, "streaming: chunks must be [{type: text, value} | {type: bytes, "
                            "base64}]");
      return -1;
    }
    c->fill = fill;
    c->reply = reply;
    *h = h_chunks;
    *ud = c;
    return 1;
  }
  const spk_json_value_t *evs =
      fx->asyncapi ? fx_get(fx->root, "examples") : fx_get(fx_get(fx->root, "sse"), "events");
  if (evs) {
    fx_events_t *e = spk__arena_calloc(&fx->arena, sizeof(*e));
    if (!fx_is(evs, SPK_JSON_ARRAY) || !e || events_of(fx, evs, e)) {
      snprintf(err, errlen, "sse: events must be an array of {data, event?, id?, retry?}");
      return -1;
    }
    *h = h_events;
    *ud = e;
    return 1;
  }
  return 0;
}

/* ---- AsyncAPI message files ---- */

int fx_asyncapi_sse(fx_fixture_t *fx) {
  const char *proto = fx_get_str(fx->root, "protocol");
  const char *channel = fx_get_str(fx->root, "channel");
  if (!proto || strcmp(proto, "sse") || !channel || channel[0] != '/' ||
      !fx_is(fx_get(fx->root, "examples"), SPK_JSON_ARRAY))
    return 0;
  spk__buf_t b = {0};
  spk__buf_append_str(&b, "{\"handler\":{\"route\":");
  spk_json_write_string(&b, channel, strlen(channel));
  spk__buf_append_str(&b, ",\"method\":\"GET\"},\"request\":{\"method\":\"GET\",\"path\":");
  spk_json_write_string(&b, channel, strlen(channel));
  spk__buf_append_str(&b, ",\"headers\":{\"Accept\":\"text/event-stream\"}},"
                          "\"expected_response\":{\"status_code\":200,\"headers\":{"
                          "\"content-type\":\"text/event-stream\","
                          "\"cache-control\":\"no-cache\"}}}");
  spk_json_value_t *doc = NULL;
  spk_json_error_t jerr;
  int rc = b.data ? spk_json_parse(&fx->arena, b.data, b.len, NULL, &doc, &jerr) : SPK_ENOMEM;
  spk__buf_free(&b);
  if (rc) return 0;
  fx->handler = fx_get(doc, "handler");
  fx->request = fx_get(doc, "request");
  fx->expected = fx_get(doc, "expected_response");
  fx->asyncapi = 1;
  return 1;
}

/* ---- comparison ---- */

/* The `data` of every event in a text/event-stream body (WHATWG parsing: lines end in \r\n,
 * \r or \n; "data" fields joined with \n; a blank line dispatches; comments ignored). */
static size_t parse_events(const char *s, size_t n, spk__buf_t *datas, size_t max) {
  size_t count = 0, i = 0;
  spk__buf_t cur = {0};
  int has = 0;
  while (i < n && count < max) {
    size_t st = i;
    while (i < n && s[i] != '\r' && s[i] != '\n') i++;
    size_t end = i;
    if (i < n && s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') i++;
    if (i < n) i++;
    if (end == st) {
      if (has) {
        datas[count++] = cur;
        cur = (spk__buf_t){0};
      }
      has = 0;
      continue;
    }
    if (s[st] == ':') continue;
    size_t colon = st;
    while (colon < end && s[colon] != ':') colon++;
    size_t vs = colon < end ? colon + 1 : end;
    if (vs < end && s[vs] == ' ') vs++;
    if (colon - st == 4 && !memcmp(s + st, "data", 4)) {
      if (has) spk__buf_append_char(&cur, '\n');
      spk__buf_append(&cur, s + vs, end - vs);
      has = 1;
    }
  }
  spk__buf_free(&cur);
  return count;
}

int fx_stream_check(const fx_fixture_t *fx, const fx_response_t *res, char *why, size_t cap) {
  int streaming = fx_get(fx->root, "streaming") != NULL;
  if (!streaming && !fx->asyncapi && !fx_get(fx->root, "sse")) return 1;
  const char *te = fx_response_header(res, "transfer-encoding");
  if (!te || !strstr(te, "chunked")) {
    snprintf(why, cap, "the body is not streamed (no Transfer-Encoding: chunked)");
    return 0;
  }
  if (streaming) {
    fx_chunks_t c;
    spk__buf_t all = {0};
    int ok = chunks_of((fx_fixture_t *)fx, &c, &all) == 0;
    ok = ok && res->body_len == all.len && (!all.len || !memcmp(res->body, all.data, all.len));
    if (!ok) snprintf(why, cap, "body: %zu bytes, expected the %zu bytes of the chunks",
                      res->body_len, all.len);
    spk__buf_free(&all);
    return ok;
  }
  if (!fx->asyncapi) return 1; /* the exact text is expected_response.body */
  const spk_json_value_t *ex = fx_get(fx->root, "examples");
  size_t want = ex->u.array.len;
  spk__buf_t datas[64];
  memset(datas, 0, sizeof(datas));
  size_t got = parse_events(res->body, res->body_len, datas, 64);
  int ok = 1;
  spk__arena_t a;
  spk__arena_init(&a, 4096);
  spk_schema_t *schema = NULL;
  const spk_json_value_t *sch = fx_get(fx->root, "schema");
  char err[256] = "";
  if (sch && spk_schema_compile(sch, NULL, &schema, err, sizeof(err)) != SPK_OK) {
    snprintf(why, cap, "the message schema does not compile: %s", err);
    ok = 0;
  }
  if (ok && got != want) {
    snprintf(why, cap, "%zu events, expected %zu", got, want);
    ok = 0;
  }
  for (size_t i = 0; ok && i < got; i++) {
    spk_json_value_t *v = NULL;
    spk_json_error_t jerr;
    if (spk_json_parse(&a, datas[i].data ? datas[i].data : "", datas[i].len, NULL, &v, &jerr)) {
      snprintf(why, cap, "event %zu: data is not JSON", i);
      ok = 0;
    } else if (!spk_json_equal(v, ex->u.array.items[i])) {
      snprintf(why, cap, "event %zu: data differs from example %zu", i, i);
      ok = 0;
    } else if (schema && spk_schema_validate(schema, v, &a, NULL, NULL) != 1) {
      snprintf(why, cap, "event %zu: data does not match the message schema", i);
      ok = 0;
    }
  }
  for (size_t i = 0; i < 64; i++) spk__buf_free(&datas[i]);
  spk_schema_free(schema);
  spk__arena_free(&a);
  return ok;
}
