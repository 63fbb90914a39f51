/* Shared rate-limit budget in Redis: a small asynchronous client with its own thread and libuv
 * loop (hiredis async + its libuv adapter). Workers submit a decision request from any thread;
 * the answer comes back on the client's thread through the request's `done` callback — always
 * exactly once, within about timeout_ms: answered (status 0), or failed (SPK_ETIMEDOUT: Redis
 * too slow; SPK_EIO: Redis unreachable or an unexpected reply; SPK_ECLOSED: client stopping).
 *
 * The decision is an atomic Lua GCRA script (EVALSHA, EVAL on NOSCRIPT) that reads Redis' own
 * clock (TIME), so every instance sharing the key agrees on time as well as on state. Keys
 * expire when their bucket is full again, so Redis holds only clients that are limited now. */
#ifndef SPK_IO_RL_REDIS_H
#define SPK_IO_RL_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "core/rl_table.h"

typedef struct spk__rl_redis spk__rl_redis_t;

typedef struct spk__rl_redis_req {
  struct spk__rl_redis_req *next; /* the client's queue */
  const char *key;                /* full Redis key, valid until done */
  size_t key_len;
  uint64_t deadline_ns; /* set by submit */
  /* On the client's thread, exactly once. `r` is valid when status is 0. */
  void (*done)(struct spk__rl_redis_req *req, int status, const spk__gcra_result_t *r);
  void *data;
} spk__rl_redis_req_t;

/* The client does nothing (no thread, no socket) until the first submit. */
spk__rl_redis_t *spk__rl_redis_new(const char *host, int port, uint32_t timeout_ms,
                                   const spk__gcra_t *g);
/* Stops the thread; requests still pending are failed with SPK_ECLOSED first. */
void spk__rl_redis_free(spk__rl_redis_t *c);
/* Thread-safe. SPK_OK: `done` will be called (possibly already on return, from the client's
 * thread); otherwise (SPK_ENOMEM: the thread cannot start) it will not. */
int spk__rl_redis_submit(spk__rl_redis_t *c, spk__rl_redis_req_t *req);

#endif
