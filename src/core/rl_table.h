/* Rate limiting state: GCRA arithmetic and the bounded, sharded table of client buckets.
 *
 * GCRA (generic cell rate algorithm) keeps one number per client, the theoretical arrival time
 * (TAT): the instant at which the client's bucket would be full again. A request at `now` is
 * admitted when max(TAT, now) + interval - now <= burst * interval, and then moves TAT on by
 * one interval. Exact, O(1), no timers, and an entry whose TAT is in the past says nothing that
 * a missing entry does not say — which is what makes eviction of idle clients free. */
#ifndef SPK_CORE_RL_TABLE_H
#define SPK_CORE_RL_TABLE_H

#include <stddef.h>
#include <stdint.h>

typedef struct spk__gcra {
  uint64_t interval_ns; /* one request's worth of time: 1e9 / per_second */
  uint64_t tau_ns;      /* burst * interval_ns: how far ahead of now TAT may run */
  uint32_t burst;
} spk__gcra_t;

typedef struct spk__gcra_result {
  int allowed;
  uint32_t remaining; /* requests still admitted right now (after this one) */
  uint64_t retry_ns;  /* refused: wait this long before one is admitted */
  uint64_t reset_ns;  /* until the bucket is full again */
} spk__gcra_result_t;

/* 0, or -1 when the parameters are out of range (per_second > 0, 1 <= burst, tau < ~292 y). */
int spk__gcra_init(spk__gcra_t *g, double per_second, uint32_t burst);

/* One decision for a client whose TAT is `tat` (0: unknown client). Returns the new TAT. */
static inline uint64_t spk__gcra_step(const spk__gcra_t *g, uint64_t tat, uint64_t now,
                                      spk__gcra_result_t *r) {
  uint64_t base = tat > now ? tat : now;
  uint64_t next = base + g->interval_ns;
  uint64_t limit = now + g->tau_ns;
  if (next > limit) {
    r->allowed = 0;
    r->remaining = 0;
    r->retry_ns = next - limit;
    r->reset_ns = base - now;
    return tat;
  }
  r->allowed = 1;
  r->remaining = (uint32_t)((limit - next) / g->interval_ns);
  r->retry_ns = 0;
  r->reset_ns = next - now;
  return next;
}

/* A client key: 16 address bytes (IPv4 mapped into IPv6; other peers tagged 0xff, see
 * mw_ratelimit.c). */
typedef struct spk__rl_key {
  uint8_t b[16];
} spk__rl_key_t;

typedef struct spk__rl_table spk__rl_table_t;

/* A table holding at most about `max_clients` clients (rounded up to whole shards). */
spk__rl_table_t *spk__rl_table_new(size_t max_clients);
void spk__rl_table_free(spk__rl_table_t *t);
/* Thread-safe: decide for `key` at monotonic time `now` (ns, > 0) and record the outcome. */
void spk__rl_table_check(spk__rl_table_t *t, const spk__gcra_t *g, const spk__rl_key_t *key,
                         uint64_t now, spk__gcra_result_t *r);
/* Number of clients held (for tests; takes every shard's lock). */
size_t spk__rl_table_count(spk__rl_table_t *t);
/* Capacity bound actually applied (max_clients rounded up to shards). */
size_t spk__rl_table_bound(const spk__rl_table_t *t);

#endif
