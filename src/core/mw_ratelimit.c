/* Middleware "rate_limit": GCRA per client (or one global bucket), in memory (rl_table.c) or
 * shared through Redis (io/rl_redis.c).
 *
 *   {"per_second": 100, "burst": 200, "ip_based": true, "trusted_proxies": ["10.0.0.0/8"],
 *    "max_clients": 100000, "headers": true, "backend": "memory" | "redis",
 *    "redis": {"host": "127.0.0.1", "port": 6379, "key_prefix": "spk:rl:", "timeout_ms": 50},
 *    "on_error": "allow" | "deny"}
 *
 * `per_second` is the sustained rate in requests per second and `burst` the bucket size (the
 * reference's tower-governor reads per_second(n) as "one token every n seconds"; we do not copy
 * that quirk — see docs/middleware.md). A refused request is answered 429 with the reference's
 * plain-text body `Too Many Requests! Wait for <n>s` and the headers x-ratelimit-after,
 * Retry-After and RateLimit-Limit/-Remaining/-Reset; an admitted one gets the RateLimit-*
 * headers on its response (unless "headers": false). */
#include <stdio.h>
#include <string.h>

#include "core/exchange.h"
#include "core/mw.h"
#include "core/rl_table.h"
#include "io/rl_redis.h"
#include "proto/ipaddr.h"
#include "util/alloc.h"

#define MAX_TRUSTED 64
#define MAX_XFF_FIELDS 8

struct spk__mw_ratelimit {
  spk__gcra_t g;
  int ip_based;
  int headers;
  int deny_on_error;
  spk__cidr_t trusted[MAX_TRUSTED];
  size_t ntrusted;
  spk__rl_table_t *table;
  spk__rl_redis_t *redis;
  char prefix[128];
};

/* ---- configuration ---- */

static int num(const spk_json_value_t *v, double *out) {
  if (v->type == SPK_JSON_INT) *out = (double)v->u.integer;
  else if (v->type == SPK_JSON_NUMBER) *out = v->u.number.value;
  else return 0;
  return 1;
}

static int int_in(const spk_json_value_t *v, int64_t lo, int64_t hi, int64_t *out) {
  if (v->type != SPK_JSON_INT || v->u.integer < lo || v->u.integer > hi) return 0;
  *out = v->u.integer;
  return 1;
}

static int configure_redis(const spk_json_value_t *r, char *host, size_t hostcap, int *port,
                           char *prefix, size_t prefixcap, uint32_t *timeout_ms, char *err,
                           size_t errlen) {
  snprintf(host, hostcap, "127.0.0.1");
  snprintf(prefix, prefixcap, "spk:rl:");
  *port = 6379;
  *timeout_ms = 50;
  if (!r) return SPK_OK;
  if (r->type != SPK_JSON_OBJECT) {
    snprintf(err, errlen, "\"redis\" must be an object like {\"host\": \"127.0.0.1\", \"port\": 6379}");
    return SPK_EINVAL;
  }
  for (size_t i = 0; i < r->u.object.len; i++) {
    const char *k = r->u.object.members[i].key.ptr;
    const spk_json_value_t *v = r->u.object.members[i].value;
    int64_t n;
    if (!strcmp(k, "host")) {
      if (v->type != SPK_JSON_STRING || !v->u.string.len || v->u.string.len >= hostcap) {
        snprintf(err, errlen, "\"redis.host\" must be a non-empty string");
        return SPK_EINVAL;
      }
      memcpy(host, v->u.string.ptr, v->u.string.len + 1);
    } else if (!strcmp(k, "port")) {
      if (!int_in(v, 1, 65535, &n)) {
        snprintf(err, errlen, "\"redis.port\" must be an integer 1..65535");
        return SPK_EINVAL;
      }
      *port = (int)n;
    } else if (!strcmp(k, "key_prefix")) {
      if (v->type != SPK_JSON_STRING || v->u.string.len >= prefixcap) {
        snprintf(err, errlen, "\"redis.key_prefix\" must be a string of at most %zu bytes",
                 prefixcap - 1);
        return SPK_EINVAL;
      }
      memcpy(prefix, v->u.string.ptr, v->u.string.len + 1);
    } else if (!strcmp(k, "timeout_ms")) {
      if (!int_in(v, 1, 60000, &n)) {
        snprintf(err, errlen, "\"redis.timeout_ms\" must be an integer 1..60000");
        return SPK_EINVAL;
      }
      *timeout_ms = (uint32_t)n;
    } else {
      snprintf(err, errlen, "unknown key \"redis.%s\" (known: host, port, key_prefix, timeout_ms)", k);
      return SPK_EINVAL;
    }
  }
  return SPK_OK;
}

int spk__mw_ratelimit_configure(const spk_json_value_t *cfg, struct spk__mw_ratelimit **out,
                                char *err, size_t errlen) {
  *out = NULL;
  if (!cfg || cfg->type != SPK_JSON_OBJECT) {
    snprintf(err, errlen, "\"rate_limit\" must be an object like {\"per_second\": 100, \"burst\": 200}");
    return SPK_EINVAL;
  }
  double per_second = 100;
  int64_t burst = 200, max_clients = 100000;
  int ip_based = 1, headers = 1, redis = 0, deny = 0;
  const spk_json_value_t *redis_cfg = NULL, *trusted = NULL;
  for (size_t i = 0; i < cfg->u.object.len; i++) {
    const char *k = cfg->u.object.members[i].key.ptr;
    const spk_json_value_t *v = cfg->u.object.members[i].value;
    if (!strcmp(k, "enabled")) {
      if (v->type != SPK_JSON_BOOL) {
        snprintf(err, errlen, "\"enabled\" must be a boolean");
        return SPK_EINVAL;
      }
      if (!v->u.boolean) return SPK_OK;
    } else if (!strcmp(k, "per_second") || !strcmp(k, "requests_per_second")) {
      if (!num(v, &per_second) || !(per_second > 0) || per_second > 1e9) {
        snprintf(err, errlen, "\"%s\" must be a number > 0 (requests per second)", k);
        return SPK_EINVAL;
      }
    } else if (!strcmp(k, "burst")) {
      if (!int_in(v, 1, 1000000000, &burst)) {
        snprintf(err, errlen, "\"burst\" must be an integer 1..1000000000");
        return SPK_EINVAL;
      }
    } else if (!strcmp(k, "max_clients")) {
      if (!int_in(v, 1, 100000000, &max_clients)) {
        snprintf(err, errlen, "\"max_clients\" must be an integer 1..100000000");
        return SPK_EINVAL;
      }
    } else if (!strcmp(k, "ip_based") || !strcmp(k, "headers")) {
      if (v->type != SPK_JSON_BOOL) {
        snprintf(err, errlen, "\"%s\" must be a boolean", k);
        return SPK_EINVAL;
      }
      *(!strcmp(k, "ip_based") ? &ip_based : &headers) = v->u.boolean;
    } else if (!strcmp(k, "trusted_proxies")) {
      trusted = v;
      if (v->type != SPK_JSON_ARRAY || v->u.array.len > MAX_TRUSTED) {
        snprintf(err, errlen, "\"trusted_proxies\" must be an array of at most %d addresses or "
                              "CIDR blocks", MAX_TRUSTED);
        return SPK_EINVAL;
      }
    } else if (!strcmp(k, "backend")) {
      if (v->type == SPK_JSON_STRING && !strcmp(v->u.string.ptr, "redis")) redis = 1;
      else if (v->type == SPK_JSON_STRING && !strcmp(v->u.string.ptr, "memory")) redis = 0;
      else {
        snprintf(err, errlen, "\"backend\" must be \"memory\" or \"redis\"");
        return SPK_EINVAL;
      }
    } else if (!strcmp(k, "redis")) {
      redis_cfg = v;
    } else if (!strcmp(k, "on_error")) {
      if (v->type == SPK_JSON_STRING && !strcmp(v->u.string.ptr, "deny")) deny = 1;
      else if (v->type == SPK_JSON_STRING && !strcmp(v->u.string.ptr, "allow")) deny = 0;
      else {
        snprintf(err, errlen, "\"on_error\" must be \"allow\" or \"deny\"");
        return SPK_EINVAL;
      }
    } else {
      snprintf(err, errlen, "unknown key \"%s\" (known: per_second, burst, ip_based, "
                            "trusted_proxies, max_clients, headers, backend, redis, on_error, "
                            "enabled)", k);
      return SPK_EINVAL;
    }
  }
  if (redis_cfg && !redis) {
    snprintf(err, errlen, "\"redis\" settings need \"backend\": \"redis\"");
    return SPK_EINVAL;
  }
  struct spk__mw_ratelimit *c = spk__calloc(1, sizeof(*c));
  if (!c) return SPK_ENOMEM;
  c->ip_based = ip_based;
  c->headers = headers;
  c->deny_on_error = deny;
  if (spk__gcra_init(&c->g, per_second, (uint32_t)burst) != 0) {
    spk__free(c);
    snprintf(err, errlen, "\"burst\" / \"per_second\" out of range (burst / per_second must "
                          "stay below ~292 years)");
    return SPK_EINVAL;
  }
  for (size_t i = 0; trusted && i < trusted->u.array.len; i++) {
    const spk_json_value_t *t = trusted->u.array.items[i];
    if (t->type != SPK_JSON_STRING ||
        spk__cidr_parse(t->u.string.ptr, t->u.string.len, &c->trusted[i]) != 0) {
      spk__free(c);
      snprintf(err, errlen, "\"trusted_proxies\"[%zu] is not an IP address or CIDR block", i);
      return SPK_EINVAL;
    }
    c->ntrusted++;
  }
  int rc = SPK_OK;
  if (redis) {
    char host[256];
    int port;
    uint32_t timeout_ms;
    rc = configure_redis(redis_cfg, host, sizeof(host), &port, c->prefix, sizeof(c->prefix),
                         &timeout_ms, err, errlen);
    if (rc == SPK_OK) {
      c->redis = spk__rl_redis_new(host, port, timeout_ms, &c->g);
      if (!c->redis) rc = SPK_ENOMEM;
    }
  } else {
    c->table = spk__rl_table_new(ip_based ? (size_t)max_clients : 1);
    if (!c->table) rc = SPK_ENOMEM;
  }
  if (rc) {
    spk__mw_ratelimit_free(c);
    return rc;
  }
  *out = c;
  return SPK_OK;
}

void spk__mw_ratelimit_free(struct spk__mw_ratelimit *c) {
  if (!c) return;
  spk__rl_redis_free(c->redis);
  spk__rl_table_free(c->table);
  spk__free(c);
}

/* ---- the client key ---- */

/* The peer address, or behind a trusted proxy the right-most untrusted X-Forwarded-For entry.
 * A peer that is not an IP address (the in-memory test client, a Unix socket) is keyed by its
 * name, tagged 0xff (multicast space: never a peer address). */
static void client_key(const spk__exchange_t *ex, const struct spk__mw_ratelimit *c,
                       spk__rl_key_t *key) {
  memset(key, 0, sizeof(*key));
  if (!c->ip_based) return;
  const char *remote = ex->req.remote;
  size_t rlen = strnlen(remote, sizeof(ex->req.remote));
  if (spk__ip_parse(remote, rlen, key->b) != 0) {
    key->b[0] = 0xff;
    memcpy(key->b + 1, remote, rlen < 15 ? rlen : 15);
    return;
  }
  if (!c->ntrusted) return;
  size_t i;
  for (i = 0; i < c->ntrusted; i++)
    if (spk__cidr_match(&c->trusted[i], key->b)) break;
  if (i == c->ntrusted) return; /* a direct client: its X-Forwarded-For is its own claim */
  const char *vals[MAX_XFF_FIELDS];
  size_t lens[MAX_XFF_FIELDS], n = 0;
  spk_str_t v;
  while (n < MAX_XFF_FIELDS &&
         spk_req_header_id(&ex->req, SPK_HEADER_X_FORWARDED_FOR, n, &v) == SPK_OK) {
    vals[n] = v.ptr;
    lens[n++] = v.len;
  }
  uint8_t ip[16];
  if (n && spk__xff_client(vals, lens, n, c->trusted, c->ntrusted, ip) == 1)
    memcpy(key->b, ip, 16);
}

/* ---- answers ---- */

static uint64_t ceil_s(uint64_t ns) { return (ns + 999999999u) / 1000000000u; }

/* 429 with the reference's body and headers. */
static void refuse(spk__exchange_t *ex, const struct spk__mw_ratelimit *c,
                   const spk__gcra_result_t *r) {
  spk_res_t *res = &ex->res;
  char body[64], after[24], limit[16], reset[24];
  uint64_t wait = ceil_s(r->retry_ns);
  if (wait < 1) wait = 1;
  int n = snprintf(body, sizeof(body), "Too Many Requests! Wait for %llus", (unsigned long long)wait);
  snprintf(after, sizeof(after), "%llu", (unsigned long long)wait);
  snprintf(limit, sizeof(limit), "%u", c->g.burst);
  snprintf(reset, sizeof(reset), "%llu", (unsigned long long)ceil_s(r->reset_ns));
  res->header_count = 0;
  ex->origin = SPK__ORIGIN_ERROR;
  if (spk_res_send(res, 429, "text/plain; charset=utf-8", body, (size_t)n) != SPK_OK) {
    res->status = 429; /* out of memory: the status alone still says it */
    return;
  }
  spk_res_header(res, "x-ratelimit-after", after);
  spk_res_header(res, "Retry-After", after);
  if (c->headers) {
    spk_res_header(res, "RateLimit-Limit", limit);
    spk_res_header(res, "RateLimit-Remaining", "0");
    spk_res_header(res, "RateLimit-Reset", reset);
  }
}

static void admit(spk__exchange_t *ex, const struct spk__mw_ratelimit *c,
                  const spk__gcra_result_t *r) {
  if (!c->headers) return;
  ex->ratelimit = c;
  ex->rl_remaining = r->remaining;
  uint64_t reset = ceil_s(r->reset_ns);
  ex->rl_reset_s = reset > UINT32_MAX ? UINT32_MAX : (uint32_t)reset;
}

/* The backend failed: on_error "allow" lets the request through (no RateLimit-* headers: there
 * is no budget to report), "deny" answers 503 with Retry-After: 1. */
static int backend_failed(spk__exchange_t *ex, const struct spk__mw_ratelimit *c) {
  if (!c->deny_on_error) return SPK__STEP_NEXT;
  spk__exchange_error(ex, 503, "Rate limiter unavailable");
  spk_res_header(&ex->res, "Retry-After", "1");
  ex->origin = SPK__ORIGIN_ERROR;
  return SPK__STEP_RESPOND;
}

/* ---- Redis backend ---- */

typedef struct redis_call {
  spk__rl_redis_req_t req;
  spk__exchange_t *ex;
  const struct spk__mw_ratelimit *c;
} redis_call_t;

/* On the Redis client's thread: the exchange is suspended (ASYNC) or about to be, and nobody
 * else touches it until we hand it back with continue / end. */
static void redis_done(spk__rl_redis_req_t *req, int status, const spk__gcra_result_t *r) {
  redis_call_t *call = req->data;
  spk__exchange_t *ex = call->ex;
  const struct spk__mw_ratelimit *c = call->c;
  int step;
  if (status != SPK_OK)
    step = backend_failed(ex, c);
  else if (r->allowed) {
    admit(ex, c, r);
    step = SPK__STEP_NEXT;
  } else {
    refuse(ex, c, r);
    step = SPK__STEP_RESPOND;
  }
  if (step == SPK__STEP_NEXT)
    spk__exchange_continue(ex);
  else
    spk_res_end(&ex->res);
}

static int redis_check(spk__exchange_t *ex, const struct spk__mw_ratelimit *c,
                       const spk__rl_key_t *key) {
  size_t plen = strlen(c->prefix);
  redis_call_t *call = spk__arena_alloc(&ex->arena, sizeof(*call));
  char *k = spk__arena_alloc(&ex->arena, plen + 64);
  if (!call || !k) return backend_failed(ex, c);
  memcpy(k, c->prefix, plen);
  static const uint8_t zero[16];
  if (!c->ip_based || !memcmp(key->b, zero, 16))
    snprintf(k + plen, 64, "global");
  else if (key->b[0] == 0xff)
    snprintf(k + plen, 64, "name:%.15s", (const char *)key->b + 1);
  else
    spk__ip_format(key->b, k + plen, 64);
  memset(call, 0, sizeof(*call));
  call->ex = ex;
  call->c = c;
  call->req.key = k;
  call->req.key_len = strlen(k);
  call->req.done = redis_done;
  call->req.data = call;
  if (spk__rl_redis_submit(c->redis, &call->req) != SPK_OK) return backend_failed(ex, c);
  return SPK__STEP_ASYNC; /* redis_done continues or ends the exchange */
}

/* ---- the step ---- */

int spk__mw_ratelimit_check(spk__exchange_t *ex, struct spk__mw_ratelimit *c) {
  spk__rl_key_t key;
  client_key(ex, c, &key);
  if (c->redis) return redis_check(ex, c, &key);
  spk__gcra_result_t r;
  spk__rl_table_check(c->table, &c->g, &key, spk__now_ns(), &r);
  if (!r.allowed) {
    refuse(ex, c, &r);
    return SPK__STEP_RESPOND;
  }
  admit(ex, c, &r);
  return SPK__STEP_NEXT;
}

/* The response is ended, so the public setters refuse: append to the header array directly
 * (arena memory, like every response header). */
static void add_header(spk__exchange_t *ex, const char *name, const char *value) {
  spk_res_t *res = &ex->res;
  if (res->header_count == res->header_cap) {
    size_t cap = res->header_cap ? res->header_cap * 2 : 8;
    spk_h1_header_t *h = spk__arena_realloc(&ex->arena, res->headers,
                                            res->header_cap * sizeof(*h), cap * sizeof(*h));
    if (!h) return;
    res->headers = h;
    res->header_cap = cap;
  }
  size_t vlen = strlen(value);
  char *v = spk__arena_strndup(&ex->arena, value, vlen);
  if (!v) return;
  res->headers[res->header_count].name = (spk_str_t){name, strlen(name)};
  res->headers[res->header_count].value = (spk_str_t){v, vlen};
  res->header_count++;
}

void spk__mw_ratelimit_finish(spk__exchange_t *ex) {
  const struct spk__mw_ratelimit *c = ex->ratelimit;
  char limit[16], remaining[16], reset[16];
  snprintf(limit, sizeof(limit), "%u", c->g.burst);
  snprintf(remaining, sizeof(remaining), "%u", ex->rl_remaining);
  snprintf(reset, sizeof(reset), "%u", ex->rl_reset_s);
  add_header(ex, "RateLimit-Limit", limit);
  add_header(ex, "RateLimit-Remaining", remaining);
  add_header(ex, "RateLimit-Reset", reset);
}
