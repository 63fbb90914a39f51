/* The rate limiter's client table: N shards, each a mutex and an open-addressing (linear
 * probing) array of {key, TAT}. A slot with TAT 0 is empty. The table is bounded: when a shard
 * holds its share of max_clients and a new client arrives, the shard is swept — every entry
 * whose TAT is in the past is dropped (it carries no information: a fresh entry would decide
 * the same). If that frees too little (a flood of distinct live clients), the entries closest
 * to idle go next (their clients get a little of their budget back early); each sweep frees at
 * least 1/8 of the shard, so its O(shard) cost is amortized over many insertions. Nothing is
 * allocated after creation. */
#include "core/rl_table.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "util/alloc.h"

typedef struct entry {
  spk__rl_key_t key;
  uint64_t tat;
} entry_t;

typedef struct shard {
  pthread_mutex_t mu;
  entry_t *slots;
  size_t count;
  char pad[128 - sizeof(pthread_mutex_t) - sizeof(entry_t *) - sizeof(size_t)];
} shard_t; /* 128 bytes: two shards never share a cache line */

struct spk__rl_table {
  shard_t *shards;
  size_t nshards;     /* power of two */
  size_t cap;         /* slots per shard, power of two */
  size_t per_shard;   /* bound per shard (<= 3/4 cap) */
  uint64_t seed[2];   /* per table: hash flooding with chosen addresses stays unpredictable */
};

int spk__gcra_init(spk__gcra_t *g, double per_second, uint32_t burst) {
  if (!(per_second > 0) || burst < 1) return -1;
  double iv = 1e9 / per_second;
  if (!(iv >= 1)) iv = 1; /* above 1e9 per second the limit is effectively none */
  if (iv * (double)burst > 9.2e18) return -1;
  g->interval_ns = (uint64_t)(iv + 0.5);
  g->burst = burst;
  g->tau_ns = g->interval_ns * burst;
  return 0;
}

static uint64_t mix64(uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  x ^= x >> 33;
  return x;
}

static uint64_t hash_key(const spk__rl_table_t *t, const spk__rl_key_t *k) {
  uint64_t a, b;
  memcpy(&a, k->b, 8);
  memcpy(&b, k->b + 8, 8);
  return mix64(mix64(a ^ t->seed[0]) ^ b ^ t->seed[1]);
}

static size_t pow2_at_least(size_t n) {
  size_t p = 1;
  while (p < n) p <<= 1;
  return p;
}

spk__rl_table_t *spk__rl_table_new(size_t max_clients) {
  if (max_clients < 1) max_clients = 1;
  spk__rl_table_t *t = spk__calloc(1, sizeof(*t));
  if (!t) return NULL;
  /* Small tables keep one shard so that the bound is exact; large ones spread contention. */
  size_t ns = 1;
  while (ns < 64 && max_clients / (ns * 2) >= 256) ns *= 2;
  t->nshards = ns;
  t->per_shard = (max_clients + ns - 1) / ns;
  t->cap = pow2_at_least(t->per_shard + t->per_shard / 3 + 1);
  if (getrandom(t->seed, sizeof(t->seed), GRND_NONBLOCK) != (ssize_t)sizeof(t->seed)) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    t->seed[0] = mix64((uint64_t)ts.tv_nsec ^ (uint64_t)(uintptr_t)t);
    t->seed[1] = mix64((uint64_t)ts.tv_sec);
  }
  t->shards = spk__calloc(ns, sizeof(shard_t));
  if (!t->shards) {
    spk__free(t);
    return NULL;
  }
  for (size_t i = 0; i < ns; i++) {
    pthread_mutex_init(&t->shards[i].mu, NULL);
    t->shards[i].slots = spk__calloc(t->cap, sizeof(entry_t));
    if (!t->shards[i].slots) {
      t->nshards = i + 1;
      spk__rl_table_free(t);
      return NULL;
    }
  }
  return t;
}

void spk__rl_table_free(spk__rl_table_t *t) {
  if (!t) return;
  for (size_t i = 0; i < t->nshards; i++) {
    pthread_mutex_destroy(&t->shards[i].mu);
    spk__free(t->shards[i].slots);
  }
  spk__free(t->shards);
  spk__free(t);
}

size_t spk__rl_table_bound(const spk__rl_table_t *t) { return t->per_shard * t->nshards; }

/* Re-seat every entry after some were cleared: start right after an empty slot and reinsert
 * each entry of the circle in order; an entry can only move back toward its home slot, so one
 * pass restores the probing invariant without scratch memory. */
static void reseat(const spk__rl_table_t *t, shard_t *s) {
  size_t mask = t->cap - 1, start = 0;
  while (start < t->cap && s->slots[start].tat) start++;
  if (start == t->cap) return; /* cannot happen: the load is at most 3/4 */
  for (size_t n = 1; n <= t->cap; n++) {
    size_t i = (start + n) & mask;
    if (!s->slots[i].tat) continue;
    entry_t e = s->slots[i];
    s->slots[i].tat = 0;
    size_t j = hash_key(t, &e.key) & mask;
    while (s->slots[j].tat) j = (j + 1) & mask;
    s->slots[j] = e;
  }
}

/* Drop entries with TAT <= threshold; returns how many. */
static size_t drop_below(const spk__rl_table_t *t, shard_t *s, uint64_t threshold,
                         uint64_t *max_tat) {
  size_t freed = 0;
  for (size_t i = 0; i < t->cap; i++) {
    uint64_t tat = s->slots[i].tat;
    if (!tat) continue;
    if (tat <= threshold) {
      s->slots[i].tat = 0;
      freed++;
    } else if (tat > *max_tat) {
      *max_tat = tat;
    }
  }
  s->count -= freed;
  return freed;
}

static void sweep(const spk__rl_table_t *t, shard_t *s, uint64_t now) {
  size_t want = t->per_shard / 8 ? t->per_shard / 8 : 1, freed = 0;
  uint64_t threshold = now;
  for (int round = 0; round < 64 && freed < want && s->count; round++) {
    uint64_t max_tat = 0;
    freed += drop_below(t, s, threshold, &max_tat);
    if (!max_tat) break;
    /* still short: the older half of what is left (closest to idle) goes next */
    threshold = threshold + (max_tat - threshold) / 2;
    if (max_tat - threshold <= 1) threshold = max_tat;
  }
  reseat(t, s);
}

void spk__rl_table_check(spk__rl_table_t *t, const spk__gcra_t *g, const spk__rl_key_t *key,
                         uint64_t now, spk__gcra_result_t *r) {
  uint64_t h = hash_key(t, key);
  shard_t *s = &t->shards[(h >> 48) & (t->nshards - 1)];
  size_t mask = t->cap - 1;
  pthread_mutex_lock(&s->mu);
  size_t i = h & mask;
  while (s->slots[i].tat && memcmp(&s->slots[i].key, key, sizeof(*key)) != 0) i = (i + 1) & mask;
  if (s->slots[i].tat) {
    s->slots[i].tat = spk__gcra_step(g, s->slots[i].tat, now, r);
  } else {
    uint64_t tat = spk__gcra_step(g, 0, now, r);
    if (s->count >= t->per_shard) {
      sweep(t, s, now);
      i = h & mask;
      while (s->slots[i].tat) i = (i + 1) & mask;
    }
    s->slots[i].key = *key;
    s->slots[i].tat = tat;
    s->count++;
  }
  pthread_mutex_unlock(&s->mu);
}

size_t spk__rl_table_count(spk__rl_table_t *t) {
  size_t n = 0;
  for (size_t i = 0; i < t->nshards; i++) {
    pthread_mutex_lock(&t->shards[i].mu);
    n += t->shards[i].count;
    pthread_mutex_unlock(&t->shards[i].mu);
  }
  return n;
}
