/* Server-Sent Events on top of streams: the response head, the event encoder (proto/sse.c)
 * and the keep-alive setting ("sse" section of spk_app_configure or of a route:
 * {"keepalive_seconds": 15} or {"keepalive_ms": 15000}; 0 turns keep-alives off). */
#include <stdio.h>
#include <string.h>

#include "core/app_internal.h"
#include "core/exchange.h"
#include "core/mw.h"
#include "core/stream_internal.h"
#include "proto/sse.h"
#include "util/alloc.h"

#define DEFAULT_KEEPALIVE_MS 15000u

struct spk__mw_sse {
  uint32_t keepalive_ms;
};

int spk__mw_sse_configure(const spk_json_value_t *cfg, struct spk__mw_sse **out, char *err,
                          size_t errlen) {
  *out = NULL;
  if (cfg->type != SPK_JSON_OBJECT) {
    snprintf(err, errlen, "must be an object such as {\"keepalive_seconds\": 15}");
    return SPK_EINVAL;
  }
  int64_t ms = DEFAULT_KEEPALIVE_MS;
  for (size_t i = 0; i < cfg->u.object.len; i++) {
    const char *key = cfg->u.object.members[i].key.ptr;
    const spk_json_value_t *v = cfg->u.object.members[i].value;
    int64_t scale;
    if (!strcmp(key, "keepalive_seconds"))
      scale = 1000;
    else if (!strcmp(key, "keepalive_ms"))
      scale = 1;
    else {
      snprintf(err, errlen, "unknown key \"%.40s\" (known: keepalive_seconds, keepalive_ms)", key);
      return SPK_EINVAL;
    }
    double x;
    if (v->type == SPK_JSON_INT)
      x = (double)v->u.integer;
    else if (v->type == SPK_JSON_NUMBER)
      x = v->u.number.value;
    else
      x = -1;
    if (!(x >= 0 && x * (double)scale <= 86400000.0)) {
      snprintf(err, errlen, "\"%s\" must be a number from 0 (off) to one day", key);
      return SPK_EINVAL;
    }
    ms = (int64_t)(x * (double)scale);
  }
  struct spk__mw_sse *c = spk__calloc(1, sizeof(*c));
  if (!c) {
    snprintf(err, errlen, "out of memory");
    return SPK_ENOMEM;
  }
  c->keepalive_ms = (uint32_t)ms;
  *out = c;
  return SPK_OK;
}

void spk__mw_sse_free(struct spk__mw_sse *c) { spk__free(c); }

static uint32_t keepalive_for(const spk__exchange_t *ex, int32_t asked) {
  if (asked < 0) return 0;
  if (asked > 0) return (uint32_t)asked;
  const struct spk__mw_sse *c = ex->ep && ex->ep->mw.sse ? ex->ep->mw.sse : ex->app->mw.sse;
  return c ? c->keepalive_ms : DEFAULT_KEEPALIVE_MS;
}

SPK_EXTERN int spk_res_sse(spk_res_t *res, const spk_sse_options_t *o, spk_stream_t **out) {
  if (!res || !out) return SPK_EINVAL;
  spk_stream_options_t so = {0};
  if (o) {
    so.pull = o->pull;
    so.cancel = o->cancel;
    so.user_data = o->user_data;
    so.max_buffered = o->max_buffered;
  }
  int rc = spk_res_status(res, 200);
  if (!rc) rc = spk_res_set_header(res, "Content-Type", "text/event-stream");
  if (!rc) rc = spk_res_set_header(res, "Cache-Control", "no-cache");
  if (!rc) rc = spk_res_stream(res, &so, out);
  if (rc) return rc;
  spk__stream_make_sse(*out, keepalive_for(spk__exchange_of_res(res), o ? o->keepalive_ms : 0));
  return SPK_OK;
}

SPK_EXTERN int spk_sse_send(spk_stream_t *s, const spk_sse_event_t *ev) {
  if (!s || !ev || (!ev->data && ev->data_len)) return SPK_EINVAL;
  spk_sse_fields_t f = {
      .event = ev->event,
      .event_len = ev->event ? strlen(ev->event) : 0,
      .id = ev->id,
      .id_len = ev->id ? strlen(ev->id) : 0,
      .retry_ms = ev->retry_ms > 0 ? ev->retry_ms : -1,
      .data = ev->data,
      .data_len = ev->data_len,
  };
  spk__buf_t b = {0};
  int rc = spk_sse_encode(&b, &f);
  if (!rc) rc = spk_stream_write(s, b.data, b.len); /* one event, one chunk */
  spk__buf_free(&b);
  return rc;
}

SPK_EXTERN int spk_sse_send_data(spk_stream_t *s, const char *data, const char *id) {
  if (!data) return SPK_EINVAL;
  spk_sse_event_t ev = {.id = id, .data = data, .data_len = strlen(data)};
  return spk_sse_send(s, &ev);
}

SPK_EXTERN int spk_sse_comment(spk_stream_t *s, const char *text) {
  if (!s || !text) return SPK_EINVAL;
  spk__buf_t b = {0};
  int rc = spk_sse_encode_comment(&b, text, strlen(text));
  if (!rc) rc = spk_stream_write(s, b.data, b.len);
  spk__buf_free(&b);
  return rc;
}
