/* Middleware "request_id": a per-request identifier, propagated or generated.
 *
 *   {"enabled": true,            false: off (the default: no section = off, as the reference's
 *                                enable_request_id = false)
 *    "header": "X-Request-ID",   the request header read and the response header written
 *    "generate": true,           no usable incoming id: generate a UUID v4 (false: no id)
 *    "trust_incoming": true}     false: always generate, ignore the incoming header
 *
 * An incoming value is used only when it is sane: 1–128 bytes of visible ASCII (0x21–0x7E),
 * else a fresh UUID v4 replaces it. The id is available to handlers (spk_req_id), hooks and the
 * access log, and is sent on every response, errors included (also those the connection
 * answers before the pipeline runs, like an early 413).
 *
 * UUIDs: random bytes from the kernel CSPRNG (getrandom), fetched in blocks into a per-thread
 * buffer so a request costs a copy, not a system call. Per-thread state, no locks; a child
 * after fork() drops the inherited bytes (pthread_atfork) so two processes never share ids. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>

#include "core/exchange.h"
#include "core/mw.h"
#include "core/res_finish.h"
#include "util/alloc.h"
#include "util/strutil.h"

#define REQID_MAX_INCOMING 128
#define RAND_BLOCK 4096 /* 256 ids per getrandom call */

struct spk__mw_reqid {
  char header[65];
  size_t header_len;
  spk_header_id_t header_id; /* SPK_HEADER_UNKNOWN: look up by name */
  int generate;
  int trust_incoming;
};

/* ---- random bytes ---- */

typedef struct rand_pool {
  unsigned char buf[RAND_BLOCK];
  size_t pos; /* bytes of buf already used; RAND_BLOCK (or 0 before the first fill) → refill */
  int filled;
} rand_pool_t;

static _Thread_local rand_pool_t tls_pool;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void pool_drop_child(void) {
  /* The child's one thread is the one that called fork(): its pool is the inherited one. */
  tls_pool.filled = 0;
  tls_pool.pos = RAND_BLOCK;
}

static void register_atfork(void) { pthread_atfork(NULL, NULL, pool_drop_child); }

static int fill(unsigned char *dst, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(dst + got, n - got, 0);
    if (r < 0) {
      if (errno == EINTR) continue;
      return SPK_EIO;
    }
    got += (size_t)r;
  }
  return SPK_OK;
}

/* 16 random bytes. */
static int rand16(unsigned char out[16]) {
  rand_pool_t *p = &tls_pool;
  if (!p->filled || p->pos + 16 > RAND_BLOCK) {
    pthread_once(&atfork_once, register_atfork);
    if (fill(p->buf, RAND_BLOCK) != SPK_OK) return SPK_EIO;
    p->filled = 1;
    p->pos = 0;
  }
  memcpy(out, p->buf + p->pos, 16);
  memset(p->buf + p->pos, 0, 16); /* used bytes do not linger */
  p->pos += 16;
  return SPK_OK;
}

int spk__uuid4(char out[37]) {
  unsigned char b[16];
  if (rand16(b) != SPK_OK) return SPK_EIO;
  b[6] = (unsigned char)((b[6] & 0x0f) | 0x40); /* version 4 */
  b[8] = (unsigned char)((b[8] & 0x3f) | 0x80); /* variant 10xx */
  static const char hex[] = "0123456789abcdef";
  size_t o = 0;
  for (int i = 0; i < 16; i++) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[o++] = '-';
    out[o++] = hex[b[i] >> 4];
    out[o++] = hex[b[i] & 15];
  }
  out[o] = '\0';
  return SPK_OK;
}

/* ---- config ---- */

int spk__mw_reqid_configure(const spk_json_value_t *cfg, struct spk__mw_reqid **out, char *err,
                            size_t errlen) {
  *out = NULL;
  if (!cfg || cfg->type != SPK_JSON_OBJECT) {
    snprintf(err, errlen, "\"request_id\" must be an object like {\"enabled\": true}");
    return SPK_EINVAL;
  }
  struct spk__mw_reqid c = {.generate = 1, .trust_incoming = 1};
  const char *header = "X-Request-ID";
  size_t header_len = 12;
  int enabled = 1;
  for (size_t i = 0; i < cfg->u.object.len; i++) {
    const char *k = cfg->u.object.members[i].key.ptr;
    const spk_json_value_t *v = cfg->u.object.members[i].value;
    int *flag = !strcmp(k, "enabled")          ? &enabled
                : !strcmp(k, "generate")       ? &c.generate
                : !strcmp(k, "trust_incoming") ? &c.trust_incoming
                                               : NULL;
    if (flag) {
      if (v->type != SPK_JSON_BOOL) {
        snprintf(err, errlen, "\"%s\" must be true or false", k);
        return SPK_EINVAL;
      }
      *flag = v->u.boolean;
    } else if (!strcmp(k, "header")) {
      int ok = v->type == SPK_JSON_STRING && v->u.string.len && v->u.string.len < sizeof(c.header);
      for (size_t j = 0; ok && j < v->u.string.len; j++)
        ok = spk__is_tchar((unsigned char)v->u.string.ptr[j]);
      if (!ok) {
        snprintf(err, errlen, "\"header\" must be a header name (a token of 1 to 64 bytes)");
        return SPK_EINVAL;
      }
      header = v->u.string.ptr;
      header_len = v->u.string.len;
    } else {
      snprintf(err, errlen, "unknown key \"%s\" (known: enabled, header, generate, "
                            "trust_incoming)", k);
      return SPK_EINVAL;
    }
  }
  if (!enabled) return SPK_OK;
  memcpy(c.header, header, header_len);
  c.header[header_len] = '\0';
  c.header_len = header_len;
  c.header_id = spk_header_lookup(header, header_len);
  struct spk__mw_reqid *p = spk__malloc(sizeof(*p));
  if (!p) return SPK_ENOMEM;
  *p = c;
  *out = p;
  return SPK_OK;
}

void spk__mw_reqid_free(struct spk__mw_reqid *c) { spk__free(c); }

/* ---- per request ---- */

int spk__reqid_sane(const char *s, size_t len) {
  if (!len || len > REQID_MAX_INCOMING) return 0;
  for (size_t i = 0; i < len; i++)
    if ((unsigned char)s[i] < 0x21 || (unsigned char)s[i] > 0x7e) return 0;
  return 1;
}

void spk__mw_reqid_begin(spk__exchange_t *ex, const struct spk__mw_reqid *c) {
  if (ex->request_id.len) return;
  if (c->trust_incoming) {
    spk_str_t v;
    int rc = c->header_id != SPK_HEADER_UNKNOWN
                 ? spk_req_header_id(&ex->req, c->header_id, 0, &v)
                 : spk_req_header(&ex->req, c->header, &v);
    if (rc == SPK_OK && spk__reqid_sane(v.ptr, v.len)) {
      ex->request_id = v; /* a slice of the head, which the exchange's arena owns */
      return;
    }
  }
  if (!c->generate) return;
  char *id = spk__arena_alloc(&ex->arena, 37);
  if (id && spk__uuid4(id) == SPK_OK) ex->request_id = (spk_str_t){id, 36};
}

void spk__mw_reqid_finish(spk__exchange_t *ex, const struct spk__mw_reqid *c) {
  /* An exchange the connection answered before the pipeline ran (400, 413, 431…) has none
   * yet. */
  if (!ex->request_id.len) spk__mw_reqid_begin(ex, c);
  if (ex->request_id.len)
    spk__res_set_header_final(ex, c->header, ex->request_id.ptr, ex->request_id.len);
}
