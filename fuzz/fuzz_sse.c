/* libFuzzer target: the SSE encoder (proto/sse.c) against a tiny reference parser of the
 * text/event-stream format (WHATWG HTML §9.2.6, written here independently).
 *
 * The input is split into fields: event name, id, retry, data, comment (separated by 0xFF
 * bytes; missing ones are absent). The encoder must refuse exactly the names/ids containing
 * CR, LF or NUL; otherwise the encoded bytes, after an optional comment block, must parse into
 * exactly one event whose type, data, last-event-id and retry are what was given — data byte
 * for byte after normalising its line breaks (\r\n and \r read as \n). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/sse.h"
#include "spikard/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)     \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

typedef struct parsed {
  int events;
  spk__buf_t type, data, id;
  int id_set;
  long long retry;
} parsed_t;

/* The reference parser: feeds lines, dispatches on blank lines. */
static void ref_parse(const char *s, size_t n, parsed_t *p) {
  spk__buf_t dbuf = {0}, tbuf = {0};
  int has_data = 0;
  size_t i = 0;
  while (i < n) {
    size_t st = i;
    while (i < n && s[i] != '\r' && s[i] != '\n') i++;
    REQUIRE(i < n); /* every line the encoder writes ends */
    size_t end = i;
    if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') i++;
    i++;
    if (end == st) { /* dispatch */
      if (has_data) {
        p->events++;
        p->type.len = 0;
        spk__buf_append(&p->type, tbuf.data, tbuf.len);
        p->data.len = 0;
        spk__buf_append(&p->data, dbuf.data, dbuf.len);
        if (p->data.len && p->data.data[p->data.len - 1] == '\n') p->data.len--;
      }
      dbuf.len = tbuf.len = 0;
      has_data = 0;
      continue;
    }
    if (s[st] == ':') continue;
    size_t colon = st;
    while (colon < end && s[colon] != ':') colon++;
    const char *f = s + st;
    size_t flen = colon - st;
    size_t vs = colon < end ? colon + 1 : end;
    if (vs < end && s[vs] == ' ') vs++;
    const char *v = s + vs;
    size_t vlen = end - vs;
    if (flen == 5 && !memcmp(f, "event", 5)) {
      tbuf.len = 0;
      spk__buf_append(&tbuf, v, vlen);
    } else if (flen == 4 && !memcmp(f, "data", 4)) {
      spk__buf_append(&dbuf, v, vlen);
      spk__buf_append_char(&dbuf, '\n');
      has_data = 1;
    } else if (flen == 2 && !memcmp(f, "id", 2)) {
      if (!memchr(v, '\0', vlen)) {
        p->id.len = 0;
        spk__buf_append(&p->id, v, vlen);
        p->id_set = 1;
      }
    } else if (flen == 5 && !memcmp(f, "retry", 5)) {
      long long r = 0;
      int ok = vlen > 0;
      for (size_t k = 0; k < vlen; k++) {
        if (v[k] < '0' || v[k] > '9' || r > 100000000000LL) ok = 0;
        else r = r * 10 + (v[k] - '0');
      }
      if (ok) p->retry = r;
    }
  }
  spk__buf_free(&dbuf);
  spk__buf_free(&tbuf);
}

static int has_break(const uint8_t *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] == '\r' || s[i] == '\n' || s[i] == 0) return 1;
  return 0;
}

/* The data as a client sees it: \r\n and \r become \n. */
static void normalise(const uint8_t *s, size_t n, spk__buf_t *out) {
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '\r') {
      spk__buf_append_char(out, '\n');
      if (i + 1 < n && s[i + 1] == '\n') i++;
    } else {
      spk__buf_append_char(out, (char)s[i]);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const uint8_t *part[5] = {0};
  size_t plen[5] = {0};
  int present[5] = {0};
  size_t k = 0, st = 0;
  for (size_t i = 0; i <= size && k < 5; i++) {
    if (i == size || data[i] == 0xFF) {
      part[k] = data + st;
      plen[k] = i - st;
      present[k] = plen[k] > 0 || k == 3; /* empty data is still data */
      k++;
      st = i + 1;
    }
  }
  long long retry = -1;
  if (present[2]) {
    retry = 0;
    for (size_t i = 0; i < plen[2] && i < 12; i++) retry = (retry * 31 + part[2][i]) % 1000000000;
  }
  spk_sse_fields_t f = {
      .event = present[0] ? (const char *)part[0] : NULL,
      .event_len = plen[0],
      .id = present[1] ? (const char *)part[1] : NULL,
      .id_len = plen[1],
      .retry_ms = retry,
      .data = present[3] ? (const char *)part[3] : NULL,
      .data_len = plen[3],
  };
  spk__buf_t out = {0};
  if (present[4]) REQUIRE(spk_sse_encode_comment(&out, (const char *)part[4], plen[4]) == 0);
  size_t comment_len = out.len;
  int rc = spk_sse_encode(&out, &f);
  int bad = (present[0] && has_break(part[0], plen[0])) || (present[1] && has_break(part[1], plen[1]));
  if (bad) {
    REQUIRE(rc == SPK_EINVAL);
    REQUIRE(out.len == comment_len);
    spk__buf_free(&out);
    return 0;
  }
  REQUIRE(rc == 0);
  parsed_t p = {.retry = -1};
  ref_parse(out.data, out.len, &p);
  if (present[3]) {
    REQUIRE(p.events == 1);
    spk__buf_t want = {0};
    normalise(part[3], plen[3], &want);
    REQUIRE(p.data.len == want.len && (!want.len || !memcmp(p.data.data, want.data, want.len)));
    spk__buf_free(&want);
    REQUIRE(p.type.len == (present[0] ? plen[0] : 0));
    if (present[0]) REQUIRE(!memcmp(p.type.data, part[0], plen[0]));
  } else {
    REQUIRE(p.events == 0); /* no data: nothing is dispatched */
  }
  REQUIRE(p.id_set == present[1]);
  if (present[1]) REQUIRE(p.id.len == plen[1] && !memcmp(p.id.data, part[1], plen[1]));
  REQUIRE(p.retry == (retry >= 0 ? retry : -1));
  spk__buf_free(&out);
  spk__buf_free(&p.type);
  spk__buf_free(&p.data);
  spk__buf_free(&p.id);
  return 0;
}
