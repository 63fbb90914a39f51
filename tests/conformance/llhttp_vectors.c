/* Conformance runner: the llhttp request vectors (markdown files with ```http input and ```log
 * expected-event blocks) replayed through spk_h1_parse_request_ex + spk_h1_chunked_decode.
 *
 * Usage: llhttp_vectors <shared-dir>   (reads <shared-dir>/conformance/http1/llhttp)
 *
 * Model. Each input is parsed as a connection would: head, then the body by its framing
 * (Content-Length or our chunked decoder), then the next pipelined request. CONNECT and
 * upgrades stop the parse (llhttp pauses there, code 22). After a message that is not
 * keep-alive, any further non-CRLF byte counts as an error (llhttp's "Data after Connection:
 * close"). A case passes when accept/reject agrees with the log (an `error=` line means
 * reject) and, for every message the log completes the head of, method, target, version,
 * header fields, Content-Length, chunked and upgrade flags and the body bytes agree. Every case
 * is also replayed byte by byte (every prefix) to check that the head parser is
 * split-invariant.
 *
 * Host: nearly all llhttp vectors are HTTP/1.1 requests without a Host header, which RFC 9112
 * §3.2 makes a 400 and which our default mode refuses. llhttp leaves that rule to the server.
 * The vectors are run with the named leniency SPK_H1_LENIENT_MISSING_HOST so that they test
 * everything else; the runner prints how many accepted cases rely on it.
 *
 * Vector kinds: "request" (and pause variants, whose pause lines are ignored) are applicable;
 * "request-finish" compares the EOF verdict; "request-lenient-*" cases are applicable only when
 * the log still expects a rejection (whatever a lenient llhttp rejects, strict parsing must
 * reject too); lenient accepts are skipped. url.md cases are wrapped in a request line. */
#include <ctype.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/http1.h"

/* ------------------------------------------------------------------------------------------ */
/* Deliberate divergences from llhttp: one line each. */

typedef struct skip_entry {
  const char *file;
  const char *name;
  const char *reason;
} skip_entry_t;

#define R_HTTP09 "HTTP/0.9 (no version) is not supported: RFC 9112 only"
#define R_METHODS "extension methods are tokens (RFC 9110 §9.1); llhttp has a fixed method table"
#define R_PROTO "ICE/RTSP request lines are not HTTP"
#define R_ASTERISK "asterisk-form is for OPTIONS only (RFC 9112 §3.2.4); M-SEARCH * is SSDP"
#define R_CODINGS "transfer codings other than a lone final chunked are answered 501 (we decode none)"
#define R_USERINFO "userinfo in an http(s) authority is refused (RFC 9110 §4.2.4)"
#define R_SKIPBODY "skipBody is an llhttp callback feature (on_headers_complete returning 1)"

static const skip_entry_t skips[] = {
    {"sample.md", "No HTTP version", R_HTTP09},
    {"invalid.md", "HTTP protocol and ANNOUNCE method", R_METHODS},
    {"invalid.md", "Invalid method", R_METHODS},
    {"method.md", "M-SEARCH request", R_ASTERISK},
    {"method.md", "SOURCE request with ICE", R_PROTO},
    {"method.md", "OPTIONS request with RTSP", R_PROTO},
    {"method.md", "ANNOUNCE request with RTSP", R_PROTO},
    {"transfer-encoding.md", "POST with `chunked` as last transfer-encoding", R_CODINGS},
    {"transfer-encoding.md", "POST with `chunked` as last transfer-encoding (multiple headers)",
     R_CODINGS},
    {"uri.md", "`host:port` and basic auth", R_USERINFO},
    {"url.md", "Complex URL with basic auth from node.js url parser doc", R_USERINFO},
    {"url.md", "Proxy basic auth with url encoded space", R_USERINFO},
    {"url.md", "Proxy basic auth with unreserved chars", R_USERINFO},
};

#define R_LENIENT "llhttp lenient mode accepts it; strict parsing is our default (DESIGN §6)"
#define R_RESPONSE "response parsing is not in scope (request parser)"

/* ------------------------------------------------------------------------------------------ */
/* Small byte strings */

typedef struct bytes {
  char *p;
  size_t n, cap;
} bytes_t;

static void b_put(bytes_t *b, const void *d, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t cap = b->cap ? b->cap : 64;
    while (cap < b->n + n + 1) cap *= 2;
    char *q = realloc(b->p, cap);
    if (!q) {
      fprintf(stderr, "out of memory\n");
      exit(2);
    }
    b->p = q;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->n, d, n);
  b->n += n;
  b->p[b->n] = '\0';
}
static void b_putc(bytes_t *b, char c) { b_put(b, &c, 1); }
static void b_clear(bytes_t *b) {
  b->n = 0;
  if (b->p) b->p[0] = '\0';
}
static void b_free(bytes_t *b) {
  free(b->p);
  b->p = NULL;
  b->n = b->cap = 0;
}
static int b_eq(const bytes_t *b, const char *p, size_t n) {
  return b->n == n && (n == 0 || memcmp(b->p, p, n) == 0);
}

/* ------------------------------------------------------------------------------------------ */
/* Input unescaping, as llhttp's md-test does it. */

static int is_octal(char c) { return c >= '0' && c <= '7'; }
static int hexv(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The harness builds a JS string and hands it to the parser UTF-8 encoded: an escaped code point
 * >= 0x80 (\xff, \325) becomes two bytes, exactly like the UTF-8 text of the file itself. */
static void put_code_point(bytes_t *b, unsigned v) {
  v &= 0xff; /* only \xNN and 3-digit octal escapes occur */
  if (v < 0x80) {
    b_putc(b, (char)v);
  } else {
    b_putc(b, (char)(0xc0 | (v >> 6)));
    b_putc(b, (char)(0x80 | (v & 0x3f)));
  }
}

/* One pass replacing "\<ch>" with `to`. */
static void pass_simple(bytes_t *s, char ch, char to) {
  bytes_t o = {0};
  for (size_t i = 0; i < s->n; i++) {
    if (s->p[i] == '\\' && i + 1 < s->n && s->p[i + 1] == ch) {
      b_putc(&o, to);
      i++;
    } else {
      b_putc(&o, s->p[i]);
    }
  }
  b_free(s);
  *s = o;
}

static void unescape_input(const bytes_t *raw, bytes_t *out) {
  bytes_t s = {0}, o = {0};
  b_put(&s, raw->p, raw->n);
  /* 1. remove the trailing newline */
  if (s.n && s.p[s.n - 1] == '\n') s.n--;
  /* 2. remove escaped newlines: "\" followed by CRLF, CR or LF */
  for (size_t i = 0; i < s.n; i++) {
    if (s.p[i] == '\\' && i + 1 < s.n && (s.p[i + 1] == '\r' || s.p[i + 1] == '\n')) {
      if (s.p[i + 1] == '\r' && i + 2 < s.n && s.p[i + 2] == '\n') i++;
      i++;
      continue;
    }
    b_putc(&o, s.p[i]);
  }
  b_free(&s);
  s = o;
  memset(&o, 0, sizeof o);
  /* 3. normalise newlines to CRLF */
  for (size_t i = 0; i < s.n; i++) {
    if (s.p[i] == '\r' || s.p[i] == '\n') {
      if (s.p[i] == '\r' && i + 1 < s.n && s.p[i + 1] == '\n') i++;
      b_put(&o, "\r\n", 2);
    } else {
      b_putc(&o, s.p[i]);
    }
  }
  b_free(&s);
  s = o;
  memset(&o, 0, sizeof o);
  /* 4. escapes, one global pass each, in llhttp's order */
  pass_simple(&s, 'r', '\r');
  pass_simple(&s, 'n', '\n');
  pass_simple(&s, 't', '\t');
  pass_simple(&s, 'f', '\f');
  for (size_t i = 0; i < s.n; i++) { /* \x<hex>+ */
    if (s.p[i] == '\\' && i + 2 < s.n && s.p[i + 1] == 'x' && hexv(s.p[i + 2]) >= 0) {
      unsigned v = 0;
      size_t j = i + 2;
      while (j < s.n && hexv(s.p[j]) >= 0) v = v * 16 + (unsigned)hexv(s.p[j++]);
      put_code_point(&o, v);
      i = j - 1;
    } else {
      b_putc(&o, s.p[i]);
    }
  }
  b_free(&s);
  s = o;
  memset(&o, 0, sizeof o);
  for (size_t i = 0; i < s.n; i++) { /* \<octal>{1,3} */
    if (s.p[i] == '\\' && i + 1 < s.n && is_octal(s.p[i + 1])) {
      unsigned v = 0;
      size_t j = i + 1;
      while (j < s.n && j < i + 4 && is_octal(s.p[j])) v = v * 8 + (unsigned)(s.p[j++] - '0');
      put_code_point(&o, v);
      i = j - 1;
    } else {
      b_putc(&o, s.p[i]);
    }
  }
  b_free(&s);
  *out = o;
}

/* ------------------------------------------------------------------------------------------ */
/* Expected events from the ```log block */

#define MAX_MSGS 8
#define MAX_HDRS 64

typedef struct exp_msg {
  bytes_t method, url;
  bytes_t hname[MAX_HDRS], hvalue[MAX_HDRS];
  size_t nh;
  int last_span_field; /* the previous span was a header_field (split spans are appended) */
  int headers_complete;
  int vmaj, vmin;
  unsigned flags;
  long long content_length;
  bytes_t body;
  int has_body;
  int complete;
} exp_msg_t;

typedef struct expect {
  exp_msg_t msg[MAX_MSGS];
  size_t nmsg;
  int error;         /* a real error (not the upgrade pause) */
  int error_code;
  int upgrade_pause; /* code 22 */
  int finish;        /* -1 when absent */
  bytes_t url_schema, url_host, url_path, url_query, url_fragment;
  int url_has_schema;
} expect_t;

static void expect_free(expect_t *e) {
  for (size_t m = 0; m < MAX_MSGS; m++) {
    exp_msg_t *x = &e->msg[m];
    b_free(&x->method);
    b_free(&x->url);
    b_free(&x->body);
    for (size_t h = 0; h < MAX_HDRS; h++) {
      b_free(&x->hname[h]);
      b_free(&x->hvalue[h]);
    }
  }
  b_free(&e->url_schema);
  b_free(&e->url_host);
  b_free(&e->url_path);
  b_free(&e->url_query);
  b_free(&e->url_fragment);
}

/* A log string: the bytes between the first '"' after "]=" and the last '"' of the line, or the
 * tokens cr / lf. Escapes \t and \f are replaced as llhttp's harness does. */
static void log_value(const char *line, size_t n, bytes_t *out) {
  const char *eq = strstr(line, "]=");
  b_clear(out);
  if (!eq) return;
  const char *v = eq + 2;
  const char *end = line + n;
  if (end - v >= 2 && strncmp(v, "cr", 2) == 0 && (end - v == 2)) {
    b_putc(out, '\r');
    return;
  }
  if (end - v >= 2 && strncmp(v, "lf", 2) == 0 && (end - v == 2)) {
    b_putc(out, '\n');
    return;
  }
  if (v >= end || *v != '"') return;
  v++;
  const char *q = end;
  while (q > v && q[-1] != '"') q--;
  if (q <= v) return;
  q--; /* at the closing quote */
  for (const char *p = v; p < q; p++) {
    if (*p == '\\' && p + 1 < q && p[1] == 't') {
      b_putc(out, '\t');
      p++;
    } else if (*p == '\\' && p + 1 < q && p[1] == 'f') {
      b_putc(out, '\f');
      p++;
    } else {
      b_putc(out, *p);
    }
  }
}

static exp_msg_t *cur_msg(expect_t *e) {
  if (e->nmsg == 0) e->nmsg = 1;
  return &e->msg[e->nmsg - 1];
}

static void parse_log(const bytes_t *log, expect_t *e) {
  memset(e, 0, sizeof *e);
  e->finish = -1;
  bytes_t val = {0};
  size_t i = 0;
  while (i < log->n) {
    size_t j = i;
    while (j < log->n && log->p[j] != '\n') j++;
    char *line = malloc(j - i + 1);
    memcpy(line, log->p + i, j - i);
    line[j - i] = '\0';
    size_t ln = j - i;
    i = j + 1;
    const char *sp = strchr(line, ' ');
    if (strncmp(line, "off=", 4) != 0 || !sp) {
      free(line);
      continue;
    }
    const char *rest = sp + 1;
    if (strcmp(rest, "message begin") == 0) {
      if (e->nmsg < MAX_MSGS) e->nmsg++;
    } else if (strncmp(rest, "len=", 4) == 0) {
      const char *kind = strstr(rest, "span[");
      if (!kind) {
        free(line);
        continue;
      }
      kind += 5;
      log_value(line, ln, &val);
      exp_msg_t *m = cur_msg(e);
#define KIND(k) (strncmp(kind, k "]", sizeof(k)) == 0)
      if (KIND("method")) {
        b_put(&m->method, val.p, val.n);
      } else if (KIND("url")) {
        b_put(&m->url, val.p, val.n);
      } else if (KIND("header_field")) {
        if (!m->headers_complete) { /* after the head: trailers, not compared */
          if (!m->last_span_field && m->nh < MAX_HDRS) m->nh++;
          if (m->nh) b_put(&m->hname[m->nh - 1], val.p, val.n);
          m->last_span_field = 1;
        }
      } else if (KIND("header_value")) {
        if (!m->headers_complete && m->nh) b_put(&m->hvalue[m->nh - 1], val.p, val.n);
        m->last_span_field = 0;
      } else if (KIND("body")) {
        b_put(&m->body, val.p, val.n);
        m->has_body = 1;
      } else if (KIND("url.schema")) {
        b_put(&e->url_schema, val.p, val.n);
        e->url_has_schema = 1;
      } else if (KIND("url.host")) {
        b_put(&e->url_host, val.p, val.n);
      } else if (KIND("url.path")) {
        b_put(&e->url_path, val.p, val.n);
      } else if (KIND("url.query")) {
        b_put(&e->url_query, val.p, val.n);
      } else if (KIND("url.fragment")) {
        b_put(&e->url_fragment, val.p, val.n);
      }
#undef KIND
    } else if (strncmp(rest, "headers complete", 16) == 0) {
      exp_msg_t *m = cur_msg(e);
      m->headers_complete = 1;
      const char *v = strstr(rest, " v=");
      const char *f = strstr(rest, " flags=");
      const char *c = strstr(rest, " content_length=");
      if (v) sscanf(v, " v=%d/%d", &m->vmaj, &m->vmin);
      if (f) m->flags = (unsigned)strtoul(f + 7, NULL, 16);
      if (c) m->content_length = strtoll(c + 16, NULL, 10);
    } else if (strcmp(rest, "message complete") == 0) {
      cur_msg(e)->complete = 1;
    } else if (strncmp(rest, "error code=", 11) == 0) {
      int code = atoi(rest + 11);
      if (code == 22) {
        e->upgrade_pause = 1;
      } else {
        e->error = 1;
        e->error_code = code;
      }
    } else if (strncmp(rest, "finish=", 7) == 0) {
      e->finish = atoi(rest + 7);
    }
    free(line);
  }
  b_free(&val);
  /* llhttp spans keep trailing whitespace of a value; ours are trimmed (OWS). */
  for (size_t m = 0; m < e->nmsg; m++)
    for (size_t h = 0; h < e->msg[m].nh; h++) {
      bytes_t *v = &e->msg[m].hvalue[h];
      while (v->n && (v->p[v->n - 1] == ' ' || v->p[v->n - 1] == '\t')) v->n--;
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Our side */

typedef struct act_msg {
  spk_h1_request_t req;
  spk_h1_header_t hdr[MAX_HDRS];
  bytes_t body;
  int complete;
} act_msg_t;

typedef struct actual {
  act_msg_t msg[MAX_MSGS];
  size_t nmsg;
  int error; /* SPK_E* or 1 for "data after close" */
  int idle;  /* input ended at a message boundary (EOF would be clean) */
  int stopped_upgrade;
} actual_t;

static spk_h1_limits_t vector_limits(void) {
  spk_h1_limits_t l = {8192, MAX_HDRS, 65536, 1};
  return l;
}

static int only_crlf(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (p[i] != '\r' && p[i] != '\n') return 0;
  return 1;
}

/* buf is modified in place (chunked decoding). */
static void run_model(char *buf, size_t len, unsigned flags, actual_t *a) {
  spk_h1_limits_t lim = vector_limits();
  size_t pos = 0;
  memset(a, 0, sizeof *a);
  for (;;) {
    if (pos == len || only_crlf(buf + pos, len - pos)) {
      a->idle = 1;
      return;
    }
    if (a->nmsg == MAX_MSGS) return;
    act_msg_t *m = &a->msg[a->nmsg];
    int r = spk_h1_parse_request_ex(buf + pos, len - pos, &lim, m->hdr, MAX_HDRS, flags, &m->req);
    if (r == SPK_EAGAIN) return;
    if (r < 0) {
      a->error = r;
      return;
    }
    a->nmsg++;
    pos += (size_t)r;
    if (m->req.method.len == 7 && memcmp(m->req.method.ptr, "CONNECT", 7) == 0) {
      m->complete = 1;
      a->stopped_upgrade = 1;
      return;
    }
    if (m->req.chunked) {
      spk_h1_chunked_t d;
      spk_h1_chunked_init(&d);
      size_t n = len - pos;
      int rc = spk_h1_chunked_decode(&d, buf + pos, &n);
      b_put(&m->body, buf + pos, n);
      if (rc == SPK_EAGAIN) return;
      if (rc < 0) {
        a->error = rc;
        return;
      }
      pos += n;
      len = pos + (size_t)rc;
    } else if (m->req.content_length > 0) {
      size_t avail = len - pos;
      size_t take = (uint64_t)m->req.content_length < avail ? (size_t)m->req.content_length : avail;
      b_put(&m->body, buf + pos, take);
      pos += take;
      if (take < (uint64_t)m->req.content_length) return;
    }
    m->complete = 1;
    if (m->req.upgrade) {
      a->stopped_upgrade = 1;
      return;
    }
    if (!m->req.keep_alive) {
      if (!only_crlf(buf + pos, len - pos)) a->error = 1; /* the connection is closed */
      else a->idle = 1;
      return;
    }
  }
}

/* Every prefix of the first head gives SPK_EAGAIN or the whole input's answer. */
static int split_invariant(const char *in, size_t n, unsigned flags, char *why, size_t whylen) {
  spk_h1_limits_t lim = vector_limits();
  spk_h1_header_t h1[MAX_HDRS], h2[MAX_HDRS];
  spk_h1_request_t r1, r2;
  int whole = spk_h1_parse_request_ex(in, n, &lim, h1, MAX_HDRS, flags, &r1);
  for (size_t k = 0; k < n; k++) {
    char *c = malloc(k ? k : 1);
    memcpy(c, in, k);
    int r = spk_h1_parse_request_ex(c, k, &lim, h2, MAX_HDRS, flags, &r2);
    free(c);
    if (r != SPK_EAGAIN && r != whole) {
      snprintf(why, whylen, "prefix %zu/%zu gives %s, whole input %s", k, n, spk_err_name(r),
               spk_err_name(whole));
      return 0;
    }
    if (r >= 0 && (r2.header_count != r1.header_count || r2.head_len != r1.head_len ||
                   r2.content_length != r1.content_length || r2.chunked != r1.chunked)) {
      snprintf(why, whylen, "prefix %zu/%zu gives different fields", k, n);
      return 0;
    }
  }
  return 1;
}

/* ------------------------------------------------------------------------------------------ */
/* One case */

typedef struct tcase {
  char file[64];
  char name[256];
  int line;
  char type[64]; /* meta type ("" for url.md) */
  int skip_body;
  int is_url;
  bytes_t input, log;
} tcase_t;

enum { RES_PASS, RES_FAIL, RES_SKIP };

static int show_msg_diff(char *why, size_t wl, size_t i, const char *what) {
  snprintf(why, wl, "message %zu: %s differs", i + 1, what);
  return RES_FAIL;
}

/* Accepted input: every message whose head llhttp completed must match ours, one for one.
 * Rejected input: the messages llhttp completed before the error must match (llhttp reports
 * some framing errors from inside on_headers_complete, we report them at the offending line,
 * so a head it "completed" right before its error may be one we refused). */
static int compare_messages(const expect_t *e, const actual_t *a, char *why, size_t wl) {
  size_t eh = 0;
  for (size_t i = 0; i < e->nmsg; i++)
    if (e->error ? e->msg[i].complete : e->msg[i].headers_complete) eh++;
  if (e->error ? a->nmsg < eh : eh != a->nmsg) {
    snprintf(why, wl, "%zu complete heads expected, %zu parsed", eh, a->nmsg);
    return RES_FAIL;
  }
  size_t k = 0;
  for (size_t i = 0; i < e->nmsg && k < eh; i++) {
    const exp_msg_t *x = &e->msg[i];
    if (!(e->error ? x->complete : x->headers_complete)) continue;
    const act_msg_t *m = &a->msg[k];
    const spk_h1_request_t *r = &m->req;
    if (!b_eq(&x->method, r->method.ptr, r->method.len)) return show_msg_diff(why, wl, k, "method");
    if (!b_eq(&x->url, r->target.ptr, r->target.len)) return show_msg_diff(why, wl, k, "target");
    if (x->vmaj != 1 || x->vmin != r->minor_version) return show_msg_diff(why, wl, k, "version");
    if (x->nh != r->header_count) return show_msg_diff(why, wl, k, "header count");
    for (size_t h = 0; h < x->nh; h++) {
      if (!b_eq(&x->hname[h], r->headers[h].name.ptr, r->headers[h].name.len))
        return show_msg_diff(why, wl, k, "header name");
      if (!b_eq(&x->hvalue[h], r->headers[h].value.ptr, r->headers[h].value.len))
        return show_msg_diff(why, wl, k, "header value");
    }
    int is_connect = r->method.len == 7 && memcmp(r->method.ptr, "CONNECT", 7) == 0;
    if ((x->flags & 0x20) && r->content_length != x->content_length)
      return show_msg_diff(why, wl, k, "content-length");
    if (!(x->flags & 0x20) && !(x->flags & 0x200) && r->content_length != -1)
      return show_msg_diff(why, wl, k, "content-length presence");
    if (!!(x->flags & 0x08) != r->chunked) return show_msg_diff(why, wl, k, "chunked flag");
    if (!is_connect && r->minor_version == 1 && ((x->flags & 0x14) == 0x14) != r->upgrade)
      return show_msg_diff(why, wl, k, "upgrade flag");
    if (!b_eq(&x->body, m->body.p, m->body.n)) return show_msg_diff(why, wl, k, "body");
    k++;
  }
  return RES_PASS;
}

static const char *find_skip(const tcase_t *t) {
  for (size_t i = 0; i < sizeof(skips) / sizeof(skips[0]); i++)
    if (strcmp(skips[i].file, t->file) == 0 && strcmp(skips[i].name, t->name) == 0)
      return skips[i].reason;
  return NULL;
}

static int host_reliant; /* accepted only thanks to SPK_H1_LENIENT_MISSING_HOST */

static int run_case(const tcase_t *t, const char **skip_reason, char *why, size_t wl) {
  expect_t e;
  actual_t a;
  bytes_t in = {0};
  int res = RES_PASS;
  const unsigned flags = SPK_H1_LENIENT_MISSING_HOST;
  *skip_reason = NULL;
  why[0] = '\0';

  parse_log(&t->log, &e);
  const char *sk = find_skip(t);
  int lenient = strncmp(t->type, "request-lenient", 15) == 0;
  if (!sk && strncmp(t->type, "response", 8) == 0) sk = R_RESPONSE;
  if (!sk && t->skip_body) sk = R_SKIPBODY;
  if (!sk && lenient && !e.error) sk = R_LENIENT;
  if (sk) {
    *skip_reason = sk;
    expect_free(&e);
    return RES_SKIP;
  }

  bytes_t un = {0};
  unescape_input(&t->input, &un);
  if (t->is_url) {
    b_put(&in, "GET ", 4);
    b_put(&in, un.p, un.n);
    static const char tail[] = " HTTP/1.1\r\nHost: example.com\r\n\r\n";
    b_put(&in, tail, sizeof tail - 1);
  } else {
    b_put(&in, un.p, un.n);
  }
  b_free(&un);

  char *work = malloc(in.n ? in.n : 1);
  memcpy(work, in.p, in.n);
  run_model(work, in.n, flags, &a);
  int rejected = a.error != 0;

  if (e.error != rejected) {
    snprintf(why, wl, "%s expected, got %s", e.error ? "rejection" : "acceptance",
             a.error == 1 ? "data after close" : a.error ? spk_err_name(a.error) : "acceptance");
    res = RES_FAIL;
  } else if (t->is_url) {
    if (!rejected) {
      const spk_h1_request_t *r = &a.msg[0].req;
      if (a.nmsg != 1) {
        snprintf(why, wl, "no request parsed");
        res = RES_FAIL;
      } else if (e.url_has_schema && !b_eq(&e.url_host, r->host.ptr, r->host.len)) {
        snprintf(why, wl, "host differs: \"%.*s\"", (int)r->host.len, r->host.ptr);
        res = RES_FAIL;
      } else if (!b_eq(&e.url_path, r->path.ptr, r->path.len)) {
        snprintf(why, wl, "path differs: \"%.*s\"", (int)r->path.len, r->path.ptr);
        res = RES_FAIL;
      } else if (!b_eq(&e.url_query, r->query.ptr, r->query.len)) {
        snprintf(why, wl, "query differs: \"%.*s\"", (int)r->query.len, r->query.ptr);
        res = RES_FAIL;
      }
    }
  } else if (!lenient) {
    res = compare_messages(&e, &a, why, wl);
    if (res == RES_PASS && e.finish >= 0 && (e.finish == 0) != (a.idle && !a.error)) {
      snprintf(why, wl, "EOF verdict differs (finish=%d)", e.finish);
      res = RES_FAIL;
    }
    if (res == RES_PASS && e.upgrade_pause && !a.stopped_upgrade) {
      snprintf(why, wl, "expected a stop for CONNECT/Upgrade");
      res = RES_FAIL;
    }
  }
  if (res == RES_PASS && !split_invariant(in.p, in.n, flags, why, wl)) res = RES_FAIL;

  /* How many accepted vectors lack a Host header that the default mode requires? */
  if (res == RES_PASS && !rejected && a.nmsg) {
    spk_h1_limits_t lim = vector_limits();
    spk_h1_header_t hs[MAX_HDRS];
    spk_h1_request_t r;
    if (spk_h1_parse_request(in.p, in.n, &lim, hs, MAX_HDRS, &r) == SPK_EPROTO) host_reliant++;
  }

  free(work);
  for (size_t i = 0; i < MAX_MSGS; i++) b_free(&a.msg[i].body);
  b_free(&in);
  expect_free(&e);
  return res;
}

/* ------------------------------------------------------------------------------------------ */
/* Markdown reading */

typedef struct file_stats {
  int applicable, passed, failed, skipped;
} file_stats_t;

typedef struct reason_count {
  const char *reason;
  int n;
} reason_count_t;

static reason_count_t reasons[32];
static size_t nreasons;
static char failures[16384];

static void count_reason(const char *r) {
  for (size_t i = 0; i < nreasons; i++)
    if (reasons[i].reason == r || strcmp(reasons[i].reason, r) == 0) {
      reasons[i].n++;
      return;
    }
  if (nreasons < 32) reasons[nreasons++] = (reason_count_t){r, 1};
}

static char *read_file(const char *path, size_t *n) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  bytes_t b = {0};
  char tmp[8192];
  size_t k;
  while ((k = fread(tmp, 1, sizeof tmp, f)) > 0) b_put(&b, tmp, k);
  fclose(f);
  *n = b.n;
  if (!b.p) b_put(&b, "", 0);
  return b.p;
}

static void extract_type(const char *meta, char *type, size_t tl, int *skip_body) {
  type[0] = '\0';
  const char *t = strstr(meta, "\"type\"");
  if (t) {
    t = strchr(t + 6, '"');
    if (t) {
      const char *e = strchr(t + 1, '"');
      if (e && (size_t)(e - t - 1) < tl) {
        memcpy(type, t + 1, (size_t)(e - t - 1));
        type[e - t - 1] = '\0';
      }
    }
  }
  const char *sb = strstr(meta, "\"skipBody\"");
  *skip_body = sb && strstr(sb, "true") != NULL;
}

static void run_file(const char *path, const char *fname, file_stats_t *st, int verbose) {
  size_t n;
  char *md = read_file(path, &n);
  if (!md) {
    fprintf(stderr, "cannot read %s\n", path);
    return;
  }
  int is_url_file = strcmp(fname, "url.md") == 0;
  tcase_t t;
  memset(&t, 0, sizeof t);
  snprintf(t.file, sizeof t.file, "%s", fname);
  char meta[512] = "";
  int have_input = 0, in_block = 0, lineno = 0;
  bytes_t *block = NULL;
  char lang[16] = "";
  size_t i = 0;
  while (i < n) {
    size_t j = i;
    while (j < n && md[j] != '\n') j++;
    size_t ln = j - i;
    const char *line = md + i;
    i = j + 1;
    lineno++;
    if (in_block) {
      if (ln >= 3 && strncmp(line, "```", 3) == 0) {
        in_block = 0;
        if (strcmp(lang, "log") == 0 && have_input) {
          /* a complete case */
          int sb = 0;
          extract_type(meta, t.type, sizeof t.type, &sb);
          t.skip_body = sb;
          t.is_url = is_url_file;
          const char *reason;
          char why[256];
          int res = run_case(&t, &reason, why, sizeof why);
          if (res == RES_SKIP) {
            st->skipped++;
            count_reason(reason);
            if (verbose) printf("  skip  %s: %s (%s)\n", fname, t.name, reason);
          } else {
            st->applicable++;
            if (res == RES_PASS) {
              st->passed++;
            } else {
              st->failed++;
              size_t fl = strlen(failures);
              snprintf(failures + fl, sizeof failures - fl, "  FAIL %s:%d %s: %s\n", fname, t.line,
                       t.name, why);
            }
          }
          have_input = 0;
          b_clear(&t.input);
          b_clear(&t.log);
        }
        continue;
      }
      b_put(block, line, ln);
      b_putc(block, '\n');
      continue;
    }
    if (ln >= 3 && strncmp(line, "```", 3) == 0) {
      size_t l = ln - 3 < sizeof lang - 1 ? ln - 3 : sizeof lang - 1;
      memcpy(lang, line + 3, l);
      lang[l] = '\0';
      while (l && isspace((unsigned char)lang[l - 1])) lang[--l] = '\0';
      in_block = 1;
      if (strcmp(lang, "http") == 0 || strcmp(lang, "url") == 0) {
        b_clear(&t.input);
        block = &t.input;
        have_input = 1;
        t.line = lineno;
      } else {
        b_clear(&t.log);
        block = &t.log;
      }
      continue;
    }
    if (ln && line[0] == '#') {
      size_t k = 0;
      while (k < ln && line[k] == '#') k++;
      while (k < ln && line[k] == ' ') k++;
      size_t l = ln - k < sizeof t.name - 1 ? ln - k : sizeof t.name - 1;
      memcpy(t.name, line + k, l);
      t.name[l] = '\0';
      meta[0] = '\0';
      have_input = 0;
      continue;
    }
    if (ln > 9 && strncmp(line, "<!-- meta=", 10) == 0) {
      size_t l = ln < sizeof meta - 1 ? ln : sizeof meta - 1;
      memcpy(meta, line, l);
      meta[l] = '\0';
    }
  }
  b_free(&t.input);
  b_free(&t.log);
  free(md);
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv) {
  const char *shared = argc > 1 ? argv[1] : getenv("SPK_SHARED_DIR");
  int verbose = getenv("SPK_VERBOSE") != NULL;
  char dir[4096], reqdir[4200], path[8400];
  if (!shared) {
    printf("llhttp_vectors: SKIP (no shared directory given)\n");
    return 0;
  }
  snprintf(dir, sizeof dir, "%s/conformance/http1/llhttp", shared);
  snprintf(reqdir, sizeof reqdir, "%s/request", dir);
  DIR *d = opendir(reqdir);
  if (!d) {
    printf("llhttp_vectors: SKIP (%s not found)\n", reqdir);
    return 0;
  }
  char *names[64];
  size_t nn = 0;
  struct dirent *de;
  while ((de = readdir(d)) && nn < 63) {
    size_t l = strlen(de->d_name);
    if (l > 3 && strcmp(de->d_name + l - 3, ".md") == 0) names[nn++] = strdup(de->d_name);
  }
  closedir(d);
  qsort(names, nn, sizeof names[0], cmp_str);

  file_stats_t total = {0, 0, 0, 0};
  printf("%-38s %10s %7s %7s %8s\n", "file", "applicable", "passed", "failed", "skipped");
  for (size_t k = 0; k <= nn; k++) {
    file_stats_t st = {0, 0, 0, 0};
    const char *fname = k < nn ? names[k] : "url.md";
    if (k < nn)
      snprintf(path, sizeof path, "%s/%s", reqdir, fname);
    else
      snprintf(path, sizeof path, "%s/url.md", dir);
    run_file(path, fname, &st, verbose);
    printf("%-38s %10d %7d %7d %8d\n", k < nn ? fname : "url.md", st.applicable, st.passed,
           st.failed, st.skipped);
    total.applicable += st.applicable;
    total.passed += st.passed;
    total.failed += st.failed;
    total.skipped += st.skipped;
    if (k < nn) free(names[k]);
  }
  printf("%-38s %10d %7d %7d %8d\n", "TOTAL", total.applicable, total.passed, total.failed,
         total.skipped);
  printf("\nskipped, by reason:\n");
  for (size_t i = 0; i < nreasons; i++) printf("  %3d  %s\n", reasons[i].n, reasons[i].reason);
  printf("\n%d passing vectors are HTTP/1.1 without Host: run with SPK_H1_LENIENT_MISSING_HOST; "
         "the default mode answers them 400 (RFC 9112 §3.2)\n",
         host_reliant);
  if (failures[0]) printf("\nfailures:\n%s", failures);
  double rate = total.applicable ? (double)total.passed / total.applicable : 0.0;
  printf("\npass rate %.1f%% (%d/%d)\n", rate * 100.0, total.passed, total.applicable);
  return (total.applicable == 0 || rate < 0.95) ? 1 : 0;
}
