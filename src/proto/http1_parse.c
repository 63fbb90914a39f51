/* HTTP/1.1 request head parser (RFC 9112 §2-§3, §5-§6; RFC 9110 §5, §7.2, §8.6).
 *
 * Model: the caller keeps the head in one growing buffer and calls us again from offset 0 each
 * time bytes arrive (as picohttpparser). The parse is a single forward pass and every decision is
 * taken at one byte position from the bytes before it, so the answer for a prefix is either
 * SPK_EAGAIN or the answer for the whole input: any split of the input gives the same result.
 * Malformed input and limit violations are therefore reported as soon as the offending byte is
 * seen, without waiting for the end of the head.
 *
 * Strictness: lines end in CRLF only. A bare LF or a CR not followed by LF anywhere in the head
 * is malformed, as is whitespace before a colon, obs-fold, or a control character in a field
 * value. Accepting bare LF (RFC 9112 §2.2 "MAY") is what request smuggling between a lenient
 * and a strict hop is built on, so we do not. */
#include <string.h>

#include "proto/http1.h"
#include "util/strutil.h"

/* Character classes, one bit each. */
enum {
  C_TCHAR = 0x01,  /* RFC 9110 tchar */
  C_TARGET = 0x02, /* request-target byte: visible ASCII (no CTL, SP, DEL, >= 0x80) */
  C_VALUE = 0x04,  /* field-vchar / SP / HTAB, obs-text allowed */
  C_HEX = 0x08,    /* HEXDIG */
  C_REG = 0x10,    /* reg-name: unreserved / sub-delims (pct-encoded handled apart) */
  C_QDTEXT = 0x20  /* qdtext (unused here) */
};

static const unsigned char ctab[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x24, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 00 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 10 */
    0x24, 0x37, 0x06, 0x27, 0x37, 0x27, 0x37, 0x37, 0x36, 0x36, 0x37, 0x37, 0x36, 0x37, 0x37, 0x26, /* 20 */
    0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x26, 0x36, 0x26, 0x36, 0x26, 0x26, /* 30 */
    0x26, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, /* 40 */
    0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x26, 0x06, 0x26, 0x27, 0x37, /* 50 */
    0x27, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, /* 60 */
    0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x37, 0x26, 0x27, 0x26, 0x37, 0x00, /* 70 */
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, /* 80 */
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, /* 90 */
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, /* a0 */
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, /* b0 */
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, /* c0 */
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, /* d0 */
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, /* e0 */
    0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, 0x24, /* f0 */
};

#define IS(c, cls) (ctab[(unsigned char)(c)] & (cls))

/* Byte-position context shared by the request-line helpers. */
typedef struct h1ctx {
  const char *buf;
  size_t len;   /* bytes available */
  size_t maxhb; /* head may not reach this index */
  size_t maxrl; /* request line bytes (without CRLF) */
  size_t rl;    /* index where the request line starts */
} h1ctx_t;

/* Fetch the request-line byte at index i, or a negative code. Precedence is fixed by position
 * only: a non-CR byte at line offset >= maxrl is 414; then the head-size bound (decided without
 * reading the byte: any byte there makes the head too large); then availability. */
static inline int rl_byte(const h1ctx_t *x, size_t i) {
  if (i - x->rl >= x->maxrl) {
    if (i >= x->len) return SPK_EAGAIN;
    if (x->buf[i] != '\r') return SPK_EURITOOLONG;
  }
  if (i >= x->maxhb) return SPK_EHDRTOOLARGE;
  if (i >= x->len) return SPK_EAGAIN;
  return (unsigned char)x->buf[i];
}

/* Byte at index i anywhere in the head (outside the request line). */
static inline int head_byte(const h1ctx_t *x, size_t i) {
  if (i >= x->maxhb) return SPK_EHDRTOOLARGE;
  if (i >= x->len) return SPK_EAGAIN;
  return (unsigned char)x->buf[i];
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* uri-host [ ":" port ] (RFC 3986 §3.2.2-3). No userinfo: RFC 9110 §4.2.4 tells recipients to
 * treat it as an error, and an "@" in an authority is a classic host-confusion trick.
 * With port_required the port must be present and non-empty (authority-form). */
static int valid_authority(const char *p, size_t n, int port_required) {
  size_t i = 0;
  if (n == 0) return 0;
  if (p[0] == '[') {
    /* IP-literal: IPv6address / IPv6addrz / IPvFuture, checked for charset only. */
    i = 1;
    while (i < n && p[i] != ']') {
      char c = p[i];
      if (!(IS(c, C_HEX) || c == ':' || c == '.' || c == '%' || c == '-' || c == '_' ||
            c == '~' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')))
        return 0;
      i++;
    }
    if (i >= n || i == 1) return 0;
    i++; /* ']' */
  } else {
    while (i < n && p[i] != ':') {
      char c = p[i];
      if (c == '%') {
        if (i + 2 >= n || !IS(p[i + 1], C_HEX) || !IS(p[i + 2], C_HEX)) return 0;
        i += 3;
        continue;
      }
      if (!IS(c, C_REG)) return 0;
      i++;
    }
    if (i == 0) return 0; /* empty host */
  }
  if (i == n) return !port_required;
  if (p[i] != ':') return 0;
  i++;
  size_t digits = n - i;
  if (digits == 0) return !port_required;
  if (digits > 5) return 0;
  unsigned port = 0;
  for (; i < n; i++) {
    if (!is_digit(p[i])) return 0;
    port = port * 10 + (unsigned)(p[i] - '0');
  }
  return port <= 65535;
}

/* Split "path[?query][#fragment]" starting at p. The fragment is never sent by conforming
 * clients; when present it is dropped from path and query (target keeps it). */
static void split_path_query(const char *p, size_t n, spk_str_t *path, spk_str_t *query) {
  size_t i = 0;
  while (i < n && p[i] != '?' && p[i] != '#') i++;
  path->ptr = p;
  path->len = i;
  query->ptr = p + i;
  query->len = 0;
  if (i < n && p[i] == '?') {
    size_t q = ++i;
    while (i < n && p[i] != '#') i++;
    query->ptr = p + q;
    query->len = i - q;
  }
}

static int has_prefix_ci(const char *p, size_t n, const char *lit) {
  size_t l = strlen(lit);
  return n >= l && spk__strieq(p, l, lit, l);
}

/* Classify and split the request-target (RFC 9112 §3.2). An absolute-form target without a path
 * gets path.ptr == NULL here; the caller points it at a "/" inside the buffer afterwards. */
static int parse_target(spk_h1_request_t *out) {
  const char *t = out->target.ptr;
  size_t n = out->target.len;
  int is_connect = out->method.len == 7 && memcmp(out->method.ptr, "CONNECT", 7) == 0;
  out->query.ptr = t + n;
  out->query.len = 0;
  out->host.ptr = t;
  out->host.len = 0;
  if (is_connect) { /* authority-form, and nothing else (§3.2.3) */
    if (!valid_authority(t, n, 1)) return SPK_EPROTO;
    out->target_form = SPK_H1_AUTHORITY_FORM;
    out->path = out->target;
    out->host = out->target;
    return 0;
  }
  if (t[0] == '/') {
    out->target_form = SPK_H1_ORIGIN_FORM;
    split_path_query(t, n, &out->path, &out->query);
    return 0;
  }
  if (n == 1 && t[0] == '*') { /* asterisk-form: server-wide OPTIONS only (§3.2.4) */
    if (!(out->method.len == 7 && memcmp(out->method.ptr, "OPTIONS", 7) == 0)) return SPK_EPROTO;
    out->target_form = SPK_H1_ASTERISK_FORM;
    out->path = out->target;
    return 0;
  }
  size_t s;
  if (has_prefix_ci(t, n, "http://"))
    s = 7;
  else if (has_prefix_ci(t, n, "https://"))
    s = 8;
  else
    return SPK_EPROTO;
  size_t a = s;
  while (a < n && t[a] != '/' && t[a] != '?' && t[a] != '#') a++;
  /* RFC 9110 §4.2.1: an http(s) URI with an empty host is invalid. */
  if (!valid_authority(t + s, a - s, 0)) return SPK_EPROTO;
  out->target_form = SPK_H1_ABSOLUTE_FORM;
  out->host.ptr = t + s;
  out->host.len = a - s;
  split_path_query(t + a, n - a, &out->path, &out->query);
  if (out->path.len == 0) out->path.ptr = NULL;
  return 0;
}

/* Iterate the elements of a comma-separated list value (RFC 9110 §5.6.1); each element is
 * returned with OWS trimmed, possibly empty. Returns 0 when the list is exhausted. */
typedef struct list_iter {
  const char *p;
  size_t n;
  size_t i;
  int done;
} list_iter_t;

static int list_next(list_iter_t *it, const char **e, size_t *elen) {
  if (it->done) return 0;
  size_t start = it->i;
  while (it->i < it->n && it->p[it->i] != ',') it->i++;
  *e = it->p + start;
  *elen = it->i - start;
  if (it->i < it->n)
    it->i++; /* skip ',' */
  else
    it->done = 1;
  spk__trim_ows(e, elen);
  return 1;
}

static int name_is(const spk_h1_header_t *h, const char *lit, size_t litlen) {
  return h->name.len == litlen && spk__strieq(h->name.ptr, litlen, lit, litlen);
}

#define NAME_IS(h, lit) name_is((h), lit, sizeof(lit) - 1)

/* Content-Length (RFC 9110 §8.6, RFC 9112 §6.3): one or more fields, each a list of decimal
 * values; all must be identical. */
static int parse_content_length(const spk_str_t *v, int *seen, int64_t *cl) {
  list_iter_t it = {v->ptr, v->len, 0, 0};
  const char *e;
  size_t n;
  while (list_next(&it, &e, &n)) {
    if (n == 0) return SPK_EPROTO;
    uint64_t x = 0;
    for (size_t i = 0; i < n; i++) {
      if (!is_digit(e[i])) return SPK_EPROTO;
      unsigned d = (unsigned)(e[i] - '0');
      if (x > ((uint64_t)INT64_MAX - d) / 10) return SPK_EPROTO; /* overflow */
      x = x * 10 + d;
    }
    if (*seen && (uint64_t)*cl != x) return SPK_ESMUGGLE;
    *seen = 1;
    *cl = (int64_t)x;
  }
  return 0;
}

static int is_token(const char *p, size_t n) {
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++)
    if (!IS(p[i], C_TCHAR)) return 0;
  return 1;
}

/* Framing and connection semantics, checked field by field as each line completes (so that a
 * smuggling attempt is refused at the offending line, as early as a syntax error would be) and
 * finished once the head is complete. */
typedef struct sem {
  int cl_seen, te_seen, host_count;
  int conn_close, conn_keep, conn_upgrade, has_upgrade, expect;
  int64_t cl;
  const spk_h1_header_t *host;
} sem_t;

static int on_field(sem_t *s, const spk_h1_header_t *h, int minor) {
  list_iter_t it = {h->value.ptr, h->value.len, 0, 0};
  const char *e;
  size_t n;
  switch (h->name.len) {
    case 4:
      if (!NAME_IS(h, "host")) break;
      /* RFC 9112 §3.2: more than one Host, or an invalid one, is a 400. An empty value is
       * allowed (RFC 9110 §7.2: no authority). */
      if (++s->host_count > 1) return SPK_EPROTO;
      if (h->value.len && !valid_authority(h->value.ptr, h->value.len, 0)) return SPK_EPROTO;
      s->host = h;
      break;
    case 6:
      if (!NAME_IS(h, "expect")) break;
      while (list_next(&it, &e, &n))
        if (spk__strieq(e, n, "100-continue", 12)) s->expect = 1;
      break;
    case 7:
      if (NAME_IS(h, "upgrade")) s->has_upgrade = 1;
      break;
    case 10:
      if (!NAME_IS(h, "connection")) break;
      while (list_next(&it, &e, &n)) {
        if (spk__strieq(e, n, "close", 5))
          s->conn_close = 1;
        else if (spk__strieq(e, n, "keep-alive", 10))
          s->conn_keep = 1;
        else if (spk__strieq(e, n, "upgrade", 7))
          s->conn_upgrade = 1;
      }
      break;
    case 14:
      if (!NAME_IS(h, "content-length")) break;
      if (s->te_seen) return SPK_ESMUGGLE; /* TE.CL (RFC 9112 §6.3) */
      return parse_content_length(&h->value, &s->cl_seen, &s->cl);
    case 17:
      if (!NAME_IS(h, "transfer-encoding")) break;
      /* RFC 9112 §6.1: Transfer-Encoding is an HTTP/1.1 feature; a 1.0 message carrying it has
       * faulty framing. */
      if (minor == 0) return SPK_EPROTO;
      if (s->cl_seen) return SPK_ESMUGGLE; /* CL.TE */
      while (list_next(&it, &e, &n)) {
        /* Empty elements and parameters are refused: the framing of a request must not depend
         * on how leniently each hop reads this field. */
        if (!is_token(e, n)) return SPK_EPROTO;
        /* We decode no transfer coding but chunked, applied exactly once and last. Any other
         * coding, anywhere, or a second chunked, makes the body length unknowable to us. */
        if (!spk__strieq(e, n, "chunked", 7) || s->te_seen) return SPK_ENOTIMPL;
        s->te_seen = 1;
      }
      break;
    default:
      break;
  }
  return 0;
}

static int finish_head(const sem_t *s, spk_h1_request_t *out, unsigned flags) {
  if (s->host_count == 0 && out->minor_version == 1 && !(flags & SPK_H1_LENIENT_MISSING_HOST))
    return SPK_EPROTO; /* RFC 9112 §3.2 */
  out->content_length = s->cl_seen ? s->cl : -1;
  out->chunked = s->te_seen ? 1 : 0;
  if (out->target_form != SPK_H1_ABSOLUTE_FORM && out->target_form != SPK_H1_AUTHORITY_FORM) {
    if (s->host)
      out->host = s->host->value;
    else
      out->host.len = 0;
  }
  if (out->minor_version == 1) {
    out->keep_alive = !s->conn_close;
    out->expect_continue = s->expect;                 /* RFC 9110 §10.1.1: 1.0 ignores it */
    out->upgrade = s->conn_upgrade && s->has_upgrade; /* RFC 9110 §7.8: 1.0 ignores it */
  } else {
    out->keep_alive = s->conn_keep && !s->conn_close;
    out->expect_continue = 0;
    out->upgrade = 0;
  }
  return 0;
}

int spk_h1_parse_request_ex(const char *buf, size_t len, const spk_h1_limits_t *limits,
                            spk_h1_header_t *headers, size_t header_cap, unsigned flags,
                            spk_h1_request_t *out) {
  h1ctx_t x;
  size_t maxhc;
  int c, rc;
  size_t i = 0;

  if (!out) return SPK_EINVAL;
  x.buf = buf;
  x.len = buf ? len : 0;
  x.maxrl = limits && limits->max_request_line ? limits->max_request_line
                                               : SPK_H1_DEFAULT_MAX_REQUEST_LINE;
  x.maxhb = limits && limits->max_header_bytes ? limits->max_header_bytes
                                               : SPK_H1_DEFAULT_MAX_HEADER_BYTES;
  if (x.maxhb > (size_t)0x7fffffff) x.maxhb = (size_t)0x7fffffff; /* head_len fits an int */
  maxhc = limits && limits->max_header_count ? limits->max_header_count
                                             : SPK_H1_DEFAULT_MAX_HEADER_COUNT;
  if (!headers) header_cap = 0;
  if (maxhc > header_cap) maxhc = header_cap;

  /* RFC 9112 §2.2: ignore empty lines (CRLF) before the request-line. They count towards the
   * head size, so a stream of CRLFs is bounded too. */
  for (;;) {
    if ((c = head_byte(&x, i)) < 0) return c;
    if (c == '\n') return SPK_EPROTO;
    if (c != '\r') break;
    if ((c = head_byte(&x, i + 1)) < 0) return c;
    if (c != '\n') return SPK_EPROTO;
    i += 2;
  }

  /* request-line = method SP request-target SP HTTP-version CRLF */
  x.rl = i;
  size_t m0 = i;
  for (;;) {
    if ((c = rl_byte(&x, i)) < 0) return c;
    if (!IS(c, C_TCHAR)) break;
    i++;
  }
  if (c != ' ' || i == m0) return SPK_EPROTO;
  out->method.ptr = buf + m0;
  out->method.len = i - m0;
  if (out->method.len == 7 && memcmp(buf + m0, "CONNECT", 7) == 0 &&
      !(limits && limits->allow_connect))
    return SPK_EMETHOD;
  i++;

  size_t t0 = i;
  for (;;) {
    if ((c = rl_byte(&x, i)) < 0) return c;
    if (!IS(c, C_TARGET)) break;
    i++;
  }
  if (c != ' ' || i == t0) return SPK_EPROTO;
  out->target.ptr = buf + t0;
  out->target.len = i - t0;
  i++;
  /* The target's form is settled at its end. */
  rc = parse_target(out);
  if (rc) return rc;
  const size_t version_slash = i + 4;

  static const char version[] = "HTTP/1.";
  for (size_t k = 0; k < 7; k++, i++) {
    if ((c = rl_byte(&x, i)) < 0) return c;
    if (c != version[k]) return SPK_EPROTO;
  }
  if ((c = rl_byte(&x, i)) < 0) return c;
  if (c != '0' && c != '1') return SPK_EPROTO; /* HTTP/1.2+ does not exist; 2.0 is not h1 */
  out->minor_version = c - '0';
  /* "http://host?q" has no path: RFC 9112 §3.2.2 makes it "/". Point it at the "/" of "HTTP/"
   * so that every slice stays inside the caller's buffer. */
  if (!out->path.ptr) {
    out->path.ptr = buf + version_slash;
    out->path.len = 1;
  }
  i++;
  if ((c = rl_byte(&x, i)) < 0) return c;
  if (c != '\r') return SPK_EPROTO;
  if ((c = head_byte(&x, i + 1)) < 0) return c;
  if (c != '\n') return SPK_EPROTO;
  i += 2;

  /* field-line = field-name ":" OWS field-value OWS CRLF */
  size_t count = 0;
  sem_t sem;
  memset(&sem, 0, sizeof sem);
  const size_t lim = x.len < x.maxhb ? x.len : x.maxhb;
#define SCAN_END() return (i >= x.maxhb ? SPK_EHDRTOOLARGE : SPK_EAGAIN)
  for (;;) {
    if ((c = head_byte(&x, i)) < 0) return c;
    if (c == '\r') {
      if ((c = head_byte(&x, i + 1)) < 0) return c;
      if (c != '\n') return SPK_EPROTO;
      i += 2;
      break;
    }
    /* A line starting with whitespace: obs-fold, or whitespace between the start-line and the
     * first field (RFC 9112 §2.2, §5.2). Both are refused. */
    if (c == ' ' || c == '\t') return SPK_EPROTO;
    if (count >= maxhc) return SPK_EHDRTOOLARGE;
    size_t n0 = i;
    while (i < lim && IS(buf[i], C_TCHAR)) i++;
    if (i == lim) SCAN_END();
    if (buf[i] != ':' || i == n0) return SPK_EPROTO; /* no whitespace before ':' (§5.1) */
    size_t n1 = i++;
    while (i < lim && (buf[i] == ' ' || buf[i] == '\t')) i++;
    if (i == lim) SCAN_END();
    size_t v0 = i, v1 = i;
    while (i < lim && IS(buf[i], C_VALUE)) {
      if (buf[i] != ' ' && buf[i] != '\t') v1 = i + 1;
      i++;
    }
    if (i == lim) SCAN_END();
    if (buf[i] != '\r') return SPK_EPROTO; /* CTL, DEL, NUL or bare LF inside a value */
    if ((c = head_byte(&x, i + 1)) < 0) return c;
    if (c != '\n') return SPK_EPROTO;
    headers[count].name.ptr = buf + n0;
    headers[count].name.len = n1 - n0;
    headers[count].value.ptr = buf + v0;
    headers[count].value.len = v1 - v0;
    rc = on_field(&sem, &headers[count], out->minor_version);
    if (rc) return rc;
    count++;
    i += 2;
  }
#undef SCAN_END

  out->headers = headers;
  out->header_count = count;
  out->head_len = i;
  rc = finish_head(&sem, out, flags);
  if (rc) return rc;
  return (int)i;
}

int spk_h1_parse_request(const char *buf, size_t len, const spk_h1_limits_t *limits,
                         spk_h1_header_t *headers, size_t header_cap, spk_h1_request_t *out) {
  return spk_h1_parse_request_ex(buf, len, limits, headers, header_cap, 0, out);
}
