/* Streamed responses and Server-Sent Events from JS (include/spikard/stream.h, push mode): the
 * response becomes a stream, its head is sent when the exchange ends, and JS writes chunks (or
 * events) as its async iterable yields them, from the JS thread. The JS handle owns the stream
 * until streamEnd/streamAbort; a handle collected unreleased aborts it. */
#include <stdlib.h>
#include <string.h>

#include "addon.h"
#include "spikard/stream.h"

typedef struct spkn_stream {
  spk_stream_t *stream;
  int released;
} spkn_stream_t;

static void stream_finalize(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  spkn_stream_t *s = data;
  if (!s->released) spk_stream_abort(s->stream);
  free(s);
}

/* Called by request.c's respondStream once the response is a stream. */
napi_value spkn_stream_wrap(napi_env env, spk_stream_t *stream) {
  napi_value out;
  spkn_stream_t *s = calloc(1, sizeof(*s));
  if (!s) {
    spk_stream_abort(stream);
    return NULL;
  }
  s->stream = stream;
  if (spkn_wrap(env, s, stream_finalize, &out) != napi_ok) {
    stream_finalize(env, s, NULL);
    return NULL;
  }
  return out;
}

static spkn_stream_t *live_stream(napi_env env, napi_callback_info info, size_t *argc,
                                  napi_value *argv) {
  napi_get_cb_info(env, info, argc, argv, NULL, NULL);
  spkn_stream_t *s = *argc ? spkn_unwrap(env, argv[0], "not a stream handle") : NULL;
  if (s && s->released) {
    napi_throw_error(env, "SPK_ESTATE", "the stream was ended");
    return NULL;
  }
  return s;
}

static napi_value result(napi_env env, int rc) {
  napi_value v;
  napi_create_int32(env, rc, &v);
  return v;
}

/* streamWrite(s, Buffer | string) → 0, SPK_EAGAIN (queue full: retry later), SPK_ECLOSED… */
static napi_value js_stream_write(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  spkn_stream_t *s = live_stream(env, info, &argc, argv);
  if (!s || argc < 2) return NULL;
  bool is_buf = false;
  if (napi_is_buffer(env, argv[1], &is_buf) == napi_ok && is_buf) {
    void *data;
    size_t len;
    napi_get_buffer_info(env, argv[1], &data, &len);
    return result(env, spk_stream_write(s->stream, data, len));
  }
  size_t len = 0;
  if (napi_get_value_string_utf8(env, argv[1], NULL, 0, &len) != napi_ok) {
    napi_throw_type_error(env, NULL, "streamWrite: a Buffer or a string");
    return NULL;
  }
  char *p = malloc(len + 1);
  if (!p) return result(env, SPK_ENOMEM);
  napi_get_value_string_utf8(env, argv[1], p, len + 1, &len);
  int rc = spk_stream_write(s->stream, p, len);
  free(p);
  return result(env, rc);
}

static char *opt_str(napi_env env, napi_value obj, const char *key, size_t *len) {
  napi_value v;
  napi_valuetype t;
  size_t n = 0;
  if (napi_get_named_property(env, obj, key, &v) != napi_ok || napi_typeof(env, v, &t) != napi_ok ||
      t != napi_string || napi_get_value_string_utf8(env, v, NULL, 0, &n) != napi_ok)
    return NULL;
  char *p = malloc(n + 1);
  if (p) napi_get_value_string_utf8(env, v, p, n + 1, &n);
  if (len) *len = n;
  return p;
}

/* sseSend(s, {event?, id?, data?, retry?}) → as streamWrite (SPK_EINVAL for CR/LF in event/id) */
static napi_value js_sse_send(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  spkn_stream_t *s = live_stream(env, info, &argc, argv);
  if (!s || argc < 2) return NULL;
  spk_sse_event_t ev;
  memset(&ev, 0, sizeof(ev));
  char *event = opt_str(env, argv[1], "event", NULL);
  char *id = opt_str(env, argv[1], "id", NULL);
  char *data = opt_str(env, argv[1], "data", &ev.data_len);
  napi_value rv;
  double retry = 0;
  if (napi_get_named_property(env, argv[1], "retry", &rv) == napi_ok &&
      napi_get_value_double(env, rv, &retry) == napi_ok && retry > 0)
    ev.retry_ms = (int64_t)retry;
  ev.event = event;
  ev.id = id;
  ev.data = data;
  int rc = spk_sse_send(s->stream, &ev);
  free(event);
  free(id);
  free(data);
  return result(env, rc);
}

static napi_value release(napi_env env, napi_callback_info info, int abort) {
  size_t argc = 1;
  napi_value argv[1];
  spkn_stream_t *s = live_stream(env, info, &argc, argv);
  if (!s) return NULL;
  s->released = 1;
  return result(env, abort ? spk_stream_abort(s->stream) : spk_stream_end(s->stream));
}

static napi_value js_stream_end(napi_env env, napi_callback_info info) {
  return release(env, info, 0);
}

static napi_value js_stream_abort(napi_env env, napi_callback_info info) {
  return release(env, info, 1);
}

static napi_value js_stream_closed(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], v;
  spkn_stream_t *s = live_stream(env, info, &argc, argv);
  if (!s) return NULL;
  napi_get_boolean(env, spk_stream_is_closed(s->stream) != 0, &v);
  return v;
}

napi_status spkn_init_stream(napi_env env, napi_value exports) {
  napi_property_descriptor d[] = {
      {"streamWrite", NULL, js_stream_write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"sseSend", NULL, js_sse_send, NULL, NULL, NULL, napi_enumerable, NULL},
      {"streamEnd", NULL, js_stream_end, NULL, NULL, NULL, napi_enumerable, NULL},
      {"streamAbort", NULL, js_stream_abort, NULL, NULL, NULL, napi_enumerable, NULL},
      {"streamClosed", NULL, js_stream_closed, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  return napi_define_properties(env, exports, sizeof(d) / sizeof(d[0]), d);
}
