/* Redis rate-limit client (see rl_redis.h). Threading: everything below `loop_*` runs on the
 * client's own thread; submit and free are the only entry points from other threads, and they
 * touch only the queue (mutex) and the uv_async handle. */
#include "io/rl_redis.h"

#include <hiredis/async.h>
#include <hiredis/hiredis.h>
#include <openssl/sha.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <uv.h>

#include "core/exchange.h" /* spk__now_ns */
#include "spikard/common.h"
#include "util/alloc.h"

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wcast-align"
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include <hiredis/adapters/libuv.h>
#pragma GCC diagnostic pop

/* Times in microseconds (Redis TIME resolution; well inside a Lua double's 2^53). The TAT is
 * stored with %.0f: Lua's tostring would switch to an exponent and lose digits. */
static const char script[] =
    "local interval = tonumber(ARGV[1])\n"
    "local tau = tonumber(ARGV[2])\n"
    "local t = redis.call('TIME')\n"
    "local now = tonumber(t[1]) * 1000000 + tonumber(t[2])\n"
    "local tat = tonumber(redis.call('GET', KEYS[1]) or '0') or 0\n"
    "local base = math.max(tat, now)\n"
    "local nxt = base + interval\n"
    "local limit = now + tau\n"
    "if nxt > limit then\n"
    "  return {0, 0, nxt - limit, base - now}\n"
    "end\n"
    "redis.call('SET', KEYS[1], string.format('%.0f', nxt), 'PX',\n"
    "           math.floor((nxt - now) / 1000) + 1)\n"
    "return {1, math.floor((limit - nxt) / interval), 0, nxt - now}\n";

#define MAX_INFLIGHT 4096
#define RECONNECT_MS 200

enum { C_DOWN = 0, C_CONNECTING = 1, C_UP = 2 };

typedef struct slot {
  spk__rl_redis_req_t *req; /* NULL: already answered (timed out), the reply is discarded */
  uint64_t issued_ns;
  int used;
} slot_t;

struct spk__rl_redis {
  /* configuration */
  char host[256];
  int port;
  uint32_t timeout_ms;
  uint64_t interval_us, tau_us;
  char sha[41];
  /* shared with submitters */
  pthread_mutex_t mu;
  spk__rl_redis_req_t *qhead, *qtail;
  int started, stopping, start_failed;
  pthread_t thread;
  uv_loop_t loop;
  uv_async_t async;
  /* loop thread only */
  uv_timer_t tick;
  redisAsyncContext *ac;
  int cstate;
  int closing; /* the loop's copy of `stopping` (no lock needed on this thread) */
  uint64_t connect_at_ns; /* when the current connect began / the next may begin */
  spk__rl_redis_req_t *waiting; /* submitted while connecting */
  slot_t slots[MAX_INFLIGHT];
  int free_slots[MAX_INFLIGHT];
  int nfree;
};

static void fail(spk__rl_redis_req_t *r, int status) { r->done(r, status, NULL); }

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata);

static int issue(spk__rl_redis_t *c, spk__rl_redis_req_t *r, int slot, int with_script) {
  char iv[24], tau[24];
  snprintf(iv, sizeof(iv), "%llu", (unsigned long long)c->interval_us);
  snprintf(tau, sizeof(tau), "%llu", (unsigned long long)c->tau_us);
  const char *argv[6] = {with_script ? "EVAL" : "EVALSHA", with_script ? script : c->sha, "1",
                         r->key, iv, tau};
  size_t lens[6] = {strlen(argv[0]), strlen(argv[1]), 1, r->key_len, strlen(iv), strlen(tau)};
  return redisAsyncCommandArgv(c->ac, on_reply, (void *)(uintptr_t)(slot + 1), 6, argv, lens);
}

static void start_request(spk__rl_redis_t *c, spk__rl_redis_req_t *r) {
  if (c->cstate != C_UP || !c->nfree) {
    fail(r, SPK_EIO);
    return;
  }
  int s = c->free_slots[--c->nfree];
  if (issue(c, r, s, 0) != REDIS_OK) {
    c->free_slots[c->nfree++] = s;
    fail(r, SPK_EIO);
    return;
  }
  c->slots[s] = (slot_t){r, spk__now_ns(), 1};
}

static void on_reply(redisAsyncContext *ac, void *reply, void *privdata) {
  spk__rl_redis_t *c = ac->data;
  int s = (int)((uintptr_t)privdata - 1);
  spk__rl_redis_req_t *r = c->slots[s].req;
  redisReply *rep = reply;
  if (r && rep && rep->type == REDIS_REPLY_ERROR && strncmp(rep->str, "NOSCRIPT", 8) == 0 &&
      !c->closing && issue(c, r, s, 1) == REDIS_OK)
    return; /* the same slot waits for the EVAL */
  c->slots[s] = (slot_t){0};
  c->free_slots[c->nfree++] = s;
  if (!r) return;
  if (rep && rep->type == REDIS_REPLY_ARRAY && rep->elements == 4) {
    long long v[4];
    for (int i = 0; i < 4; i++) {
      if (rep->element[i]->type != REDIS_REPLY_INTEGER) {
        fail(r, SPK_EIO);
        return;
      }
      v[i] = rep->element[i]->integer < 0 ? 0 : rep->element[i]->integer;
    }
    spk__gcra_result_t res = {.allowed = v[0] != 0,
                              .remaining = v[1] > UINT32_MAX ? UINT32_MAX : (uint32_t)v[1],
                              .retry_ns = (uint64_t)v[2] * 1000u,
                              .reset_ns = (uint64_t)v[3] * 1000u};
    r->done(r, 0, &res);
    return;
  }
  fail(r, SPK_EIO);
}

static void drain_waiting(spk__rl_redis_t *c) {
  spk__rl_redis_req_t *w = c->waiting;
  c->waiting = NULL;
  while (w) {
    spk__rl_redis_req_t *n = w->next;
    start_request(c, w); /* fails at once unless the connection is up */
    w = n;
  }
}

static void on_connect(const redisAsyncContext *ac, int status) {
  spk__rl_redis_t *c = ac->data;
  if (status != REDIS_OK) { /* hiredis frees the context after this callback */
    c->ac = NULL;
    c->cstate = C_DOWN;
    c->connect_at_ns = spk__now_ns() + (uint64_t)RECONNECT_MS * 1000000u;
  } else {
    c->cstate = C_UP;
  }
  drain_waiting(c);
}

static void on_disconnect(const redisAsyncContext *ac, int status) {
  spk__rl_redis_t *c = ac->data;
  (void)status;
  c->ac = NULL;
  c->cstate = C_DOWN;
  c->connect_at_ns = spk__now_ns() + (uint64_t)RECONNECT_MS * 1000000u;
}

static void drop_connection(spk__rl_redis_t *c) {
  if (!c->ac) return;
  redisAsyncContext *ac = c->ac;
  c->ac = NULL;
  c->cstate = C_DOWN;
  /* Pending callbacks run now with a NULL reply (their slots come back); the disconnect
   * callback runs only for a connected context. */
  redisAsyncFree(ac);
  c->connect_at_ns = spk__now_ns() + (uint64_t)RECONNECT_MS * 1000000u;
}

static void try_connect(spk__rl_redis_t *c) {
  if (c->cstate != C_DOWN || c->closing || spk__now_ns() < c->connect_at_ns) return;
  redisAsyncContext *ac = redisAsyncConnect(c->host, c->port);
  if (!ac) return;
  if (ac->err || redisLibuvAttach(ac, &c->loop) != REDIS_OK) {
    redisAsyncFree(ac);
    c->connect_at_ns = spk__now_ns() + (uint64_t)RECONNECT_MS * 1000000u;
    return;
  }
  ac->data = c;
  redisAsyncSetConnectCallback(ac, on_connect);
  redisAsyncSetDisconnectCallback(ac, on_disconnect);
  c->ac = ac;
  c->cstate = C_CONNECTING;
  c->connect_at_ns = spk__now_ns();
}

static void fail_everything(spk__rl_redis_t *c, int status) {
  for (int s = 0; s < MAX_INFLIGHT; s++)
    if (c->slots[s].used && c->slots[s].req) {
      spk__rl_redis_req_t *r = c->slots[s].req;
      c->slots[s].req = NULL;
      fail(r, status);
    }
  spk__rl_redis_req_t *w = c->waiting;
  c->waiting = NULL;
  for (; w; w = w->next) fail(w, status);
}

static void on_tick(uv_timer_t *t) {
  spk__rl_redis_t *c = t->data;
  uint64_t now = spk__now_ns(), limit = (uint64_t)c->timeout_ms * 1000000u;
  int stuck = 0;
  for (int s = 0; s < MAX_INFLIGHT; s++) {
    slot_t *sl = &c->slots[s];
    if (!sl->used) continue;
    if (sl->req && now - sl->issued_ns >= limit) {
      spk__rl_redis_req_t *r = sl->req;
      sl->req = NULL;
      fail(r, SPK_ETIMEDOUT);
    }
    /* Replies that never come (Redis hung): give the connection up and start afresh. */
    if (now - sl->issued_ns >= limit * 10 + 1000000000u) stuck = 1;
  }
  /* Requests waiting for a connection. */
  spk__rl_redis_req_t **pp = &c->waiting;
  while (*pp) {
    spk__rl_redis_req_t *r = *pp;
    if (now >= r->deadline_ns) {
      *pp = r->next;
      fail(r, SPK_ETIMEDOUT);
    } else {
      pp = &r->next;
    }
  }
  if (c->cstate == C_CONNECTING && now - c->connect_at_ns >= limit * 10 + 1000000000u) stuck = 1;
  if (stuck) drop_connection(c);
}

static void close_cb(uv_handle_t *h) { (void)h; }

static void on_async(uv_async_t *a) {
  spk__rl_redis_t *c = a->data;
  pthread_mutex_lock(&c->mu);
  spk__rl_redis_req_t *q = c->qhead;
  c->qhead = c->qtail = NULL;
  int stopping = c->stopping;
  pthread_mutex_unlock(&c->mu);
  if (stopping) {
    c->closing = 1;
    for (spk__rl_redis_req_t *n; q; q = n) {
      n = q->next;
      fail(q, SPK_ECLOSED);
    }
    fail_everything(c, SPK_ECLOSED);
    drop_connection(c);
    uv_close((uv_handle_t *)&c->async, close_cb);
    uv_close((uv_handle_t *)&c->tick, close_cb);
    return;
  }
  try_connect(c);
  for (spk__rl_redis_req_t *n; q; q = n) {
    n = q->next;
    if (c->cstate == C_CONNECTING) {
      q->next = c->waiting;
      c->waiting = q;
    } else {
      start_request(c, q);
    }
  }
}

static void *loop_main(void *arg) {
  spk__rl_redis_t *c = arg;
  uv_run(&c->loop, UV_RUN_DEFAULT);
  return NULL;
}

spk__rl_redis_t *spk__rl_redis_new(const char *host, int port, uint32_t timeout_ms,
                                   const spk__gcra_t *g) {
  spk__rl_redis_t *c = spk__calloc(1, sizeof(*c));
  if (!c) return NULL;
  snprintf(c->host, sizeof(c->host), "%s", host);
  c->port = port;
  c->timeout_ms = timeout_ms ? timeout_ms : 1;
  c->interval_us = g->interval_ns / 1000 ? g->interval_ns / 1000 : 1;
  c->tau_us = c->interval_us * g->burst;
  unsigned char d[SHA_DIGEST_LENGTH];
  SHA1((const unsigned char *)script, strlen(script), d);
  for (int i = 0; i < SHA_DIGEST_LENGTH; i++) snprintf(c->sha + 2 * i, 3, "%02x", d[i]);
  pthread_mutex_init(&c->mu, NULL);
  for (int i = 0; i < MAX_INFLIGHT; i++) c->free_slots[i] = MAX_INFLIGHT - 1 - i;
  c->nfree = MAX_INFLIGHT;
  return c;
}

/* First submit: loop, handles, thread. Called with c->mu held. */
static int start(spk__rl_redis_t *c) {
  if (uv_loop_init(&c->loop) != 0) return SPK_ENOMEM;
  uv_async_init(&c->loop, &c->async, on_async);
  c->async.data = c;
  uv_timer_init(&c->loop, &c->tick);
  c->tick.data = c;
  uint64_t period = c->timeout_ms / 4;
  period = period < 1 ? 1 : period > 50 ? 50 : period;
  uv_timer_start(&c->tick, on_tick, period, period);
  if (pthread_create(&c->thread, NULL, loop_main, c) != 0) {
    uv_close((uv_handle_t *)&c->async, close_cb);
    uv_close((uv_handle_t *)&c->tick, close_cb);
    uv_run(&c->loop, UV_RUN_DEFAULT);
    uv_loop_close(&c->loop);
    return SPK_ENOMEM;
  }
  c->started = 1;
  return SPK_OK;
}

int spk__rl_redis_submit(spk__rl_redis_t *c, spk__rl_redis_req_t *req) {
  req->next = NULL;
  req->deadline_ns = spk__now_ns() + (uint64_t)c->timeout_ms * 1000000u;
  pthread_mutex_lock(&c->mu);
  if (c->stopping || c->start_failed || (!c->started && start(c) != SPK_OK)) {
    c->start_failed = !c->stopping && !c->started;
    pthread_mutex_unlock(&c->mu);
    return SPK_ENOMEM;
  }
  if (c->qtail)
    c->qtail->next = req;
  else
    c->qhead = req;
  c->qtail = req;
  uv_async_send(&c->async);
  pthread_mutex_unlock(&c->mu);
  return SPK_OK;
}

void spk__rl_redis_free(spk__rl_redis_t *c) {
  if (!c) return;
  pthread_mutex_lock(&c->mu);
  c->stopping = 1;
  int started = c->started;
  if (started) uv_async_send(&c->async);
  pthread_mutex_unlock(&c->mu);
  if (started) {
    pthread_join(c->thread, NULL);
    uv_loop_close(&c->loop);
  }
  pthread_mutex_destroy(&c->mu);
  spk__free(c);
}
