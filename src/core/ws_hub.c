/* Publish/subscribe for WebSocket connections: topic → subscribers, one frame per publish.
 *
 * A flat array of (topic, connection) pairs under one mutex is enough for the sizes this is for
 * (thousands of subscribers); publish frames the message once and queues the same refcounted
 * bytes on every subscriber, so a broadcast costs one allocation plus one write per peer. */
#include <pthread.h>
#include <string.h>

#include "core/ws_internal.h"
#include "proto/ws.h"
#include "util/alloc.h"
#include "util/strutil.h"

typedef struct sub {
  char *topic;
  spk_ws_t *ws; /* a reference */
} sub_t;

struct spk_ws_hub {
  pthread_mutex_t mu;
  sub_t *subs;
  size_t len, cap;
};

SPK_EXTERN spk_ws_hub_t *spk_ws_hub_new(void) {
  spk_ws_hub_t *h = spk__calloc(1, sizeof(*h));
  if (h) pthread_mutex_init(&h->mu, NULL);
  return h;
}

static void drop(spk_ws_hub_t *h, size_t i) {
  spk__free(h->subs[i].topic);
  spk_ws_release(h->subs[i].ws);
  h->subs[i] = h->subs[--h->len];
}

SPK_EXTERN void spk_ws_hub_free(spk_ws_hub_t *h) {
  if (!h) return;
  while (h->len) drop(h, h->len - 1);
  spk__free(h->subs);
  pthread_mutex_destroy(&h->mu);
  spk__free(h);
}

SPK_EXTERN int spk_ws_hub_subscribe(spk_ws_hub_t *h, const char *topic, spk_ws_t *ws) {
  if (!h || !topic || !ws) return SPK_EINVAL;
  pthread_mutex_lock(&h->mu);
  for (size_t i = 0; i < h->len; i++)
    if (h->subs[i].ws == ws && strcmp(h->subs[i].topic, topic) == 0) {
      pthread_mutex_unlock(&h->mu);
      return SPK_OK;
    }
  if (h->len == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 16;
    sub_t *s = spk__realloc(h->subs, cap * sizeof(*s));
    if (!s) {
      pthread_mutex_unlock(&h->mu);
      return SPK_ENOMEM;
    }
    h->subs = s;
    h->cap = cap;
  }
  char *t = spk__strndup(topic, strlen(topic));
  if (!t) {
    pthread_mutex_unlock(&h->mu);
    return SPK_ENOMEM;
  }
  spk_ws_retain(ws);
  h->subs[h->len++] = (sub_t){t, ws};
  pthread_mutex_unlock(&h->mu);
  return SPK_OK;
}

static void remove_matching(spk_ws_hub_t *h, const char *topic, spk_ws_t *ws) {
  pthread_mutex_lock(&h->mu);
  for (size_t i = h->len; i-- > 0;)
    if (h->subs[i].ws == ws && (!topic || strcmp(h->subs[i].topic, topic) == 0)) drop(h, i);
  pthread_mutex_unlock(&h->mu);
}

SPK_EXTERN int spk_ws_hub_unsubscribe(spk_ws_hub_t *h, const char *topic, spk_ws_t *ws) {
  if (!h || !topic || !ws) return SPK_EINVAL;
  remove_matching(h, topic, ws);
  return SPK_OK;
}

SPK_EXTERN void spk_ws_hub_unsubscribe_all(spk_ws_hub_t *h, spk_ws_t *ws) {
  if (h && ws) remove_matching(h, NULL, ws);
}

SPK_EXTERN int spk_ws_hub_publish(spk_ws_hub_t *h, const char *topic, spk_ws_kind_t kind,
                                  const void *data, size_t len) {
  if (!h || !topic || (!data && len)) return SPK_EINVAL;
  if (kind == SPK_WS_TEXT && !spk_utf8_valid(data, len)) return SPK_EINVAL;
  spk__ws_frame_t *f = spk__ws_frame_new(kind == SPK_WS_TEXT ? SPK_WS_OP_TEXT : SPK_WS_OP_BINARY,
                                         0, data, len);
  if (!f) return SPK_ENOMEM;
  int sent = 0;
  pthread_mutex_lock(&h->mu);
  for (size_t i = h->len; i-- > 0;) {
    if (strcmp(h->subs[i].topic, topic) != 0) continue;
    int rc = spk__ws_send_frame(h->subs[i].ws, f);
    if (rc == SPK_OK)
      sent++;
    else if (rc == SPK_ESTATE)
      drop(h, i); /* closed: forget it */
  }
  pthread_mutex_unlock(&h->mu);
  spk__ws_frame_release(f);
  return sent;
}
