/* HTTP/1 parser, chunked decoder and writer: unit tests. */
#include <stdlib.h>
#include <string.h>

#include "proto/http1.h"
#include "test.h"
#include "util/buf.h"

#define MAXH 64

static spk_h1_limits_t lim_default(void) {
  spk_h1_limits_t l = {8192, 100, 65536, 0};
  return l;
}

/* Parse s[0..n) from an exact-size heap copy, so that ASan sees any read past the end. */
static int parse_n(const char *s, size_t n, const spk_h1_limits_t *l, unsigned flags,
                   spk_h1_request_t *r, spk_h1_header_t *hs, size_t cap, char **copy) {
  if (copy) *copy = NULL;
  char *b = calloc(1, n ? n : 1);
  if (!b) return SPK_ENOMEM;
  if (n) memcpy(b, s, n);
  int rc = spk_h1_parse_request_ex(b, n, l, hs, cap, flags, r);
  if (copy)
    *copy = b;
  else
    free(b);
  return rc;
}

static int P(const char *s) {
  spk_h1_limits_t l = lim_default();
  spk_h1_request_t r;
  spk_h1_header_t hs[MAXH];
  return parse_n(s, strlen(s), &l, 0, &r, hs, MAXH, NULL);
}

static int PC(const char *s) { /* with CONNECT allowed */
  spk_h1_limits_t l = lim_default();
  l.allow_connect = 1;
  spk_h1_request_t r;
  spk_h1_header_t hs[MAXH];
  return parse_n(s, strlen(s), &l, 0, &r, hs, MAXH, NULL);
}

/* Parse a NUL-free literal into r/hs using the static buffer `s` itself. */
static int PR(const char *s, spk_h1_request_t *r, spk_h1_header_t *hs) {
  spk_h1_limits_t l = lim_default();
  l.allow_connect = 1;
  return spk_h1_parse_request(s, strlen(s), &l, hs, MAXH, r);
}

static size_t off(const char *base, spk_str_t s) { return s.ptr ? (size_t)(s.ptr - base) : (size_t)-1; }

/* Same result, same fields (as offsets into their own buffers). */
static int same_request(const char *ba, const spk_h1_request_t *a, const char *bb,
                        const spk_h1_request_t *b) {
#define EQS(f) (off(ba, a->f) == off(bb, b->f) && a->f.len == b->f.len)
  if (!(EQS(method) && EQS(target) && EQS(path) && EQS(query))) return 0;
  if (a->host.len != b->host.len || (a->host.len && off(ba, a->host) != off(bb, b->host))) return 0;
  if (a->target_form != b->target_form || a->minor_version != b->minor_version) return 0;
  if (a->header_count != b->header_count || a->content_length != b->content_length) return 0;
  if (a->chunked != b->chunked || a->keep_alive != b->keep_alive) return 0;
  if (a->expect_continue != b->expect_continue || a->upgrade != b->upgrade) return 0;
  if (a->head_len != b->head_len) return 0;
  for (size_t i = 0; i < a->header_count; i++)
    if (!(EQS(headers[i].name) && EQS(headers[i].value))) return 0;
#undef EQS
  return 1;
}

/* Feed every prefix 1..n: each must return SPK_EAGAIN or the final result, and once a prefix
 * gives a final result every longer prefix gives the identical one (same fields). */
static void check_split_l(const char *s, size_t n, const spk_h1_limits_t *l, unsigned flags) {
  spk_h1_request_t full, part;
  spk_h1_header_t hf[MAXH], hp[MAXH];
  char *bf, *bp;
  int rf = parse_n(s, n, l, flags, &full, hf, MAXH, &bf);
  int decided = 0;
  for (size_t k = 1; k <= n; k++) {
    int rp = parse_n(s, k, l, flags, &part, hp, MAXH, &bp);
    if (rp == SPK_EAGAIN) {
      if (decided) {
        fprintf(stderr, "  split: EAGAIN after a decision at %zu/%zu: %.*s\n", k, n, (int)n, s);
        CHECK(0);
      }
    } else {
      decided = 1;
      if (rp != rf) {
        fprintf(stderr, "  split: prefix %zu/%zu gave %d, whole gave %d: %.*s\n", k, n, rp, rf,
                (int)(n > 200 ? 200 : n), s);
        CHECK(0);
      } else if (rf >= 0 && !same_request(bp, &part, bf, &full)) {
        fprintf(stderr, "  split: fields differ at %zu/%zu\n", k, n);
        CHECK(0);
      }
    }
    free(bp);
  }
  if (rf == SPK_EAGAIN) CHECK(!decided);
  test_checks_++;
  free(bf);
}

static void check_split(const char *s) {
  spk_h1_limits_t l = lim_default();
  l.allow_connect = 1;
  check_split_l(s, strlen(s), &l, 0);
}

/* ---------------------------------------------------------------------------------------- */

static void test_simple_get(void) {
  const char *s = "GET /hello?x=1 HTTP/1.1\r\nHost: example.com\r\nAccept:  */*  \r\n\r\nBODY";
  spk_h1_request_t r;
  spk_h1_header_t hs[MAXH];
  int rc = PR(s, &r, hs);
  CHECK_INT(rc, (int)strlen(s) - 4);
  CHECK_INT(r.head_len, rc);
  CHECK_MEM(r.method.ptr, r.method.len, "GET");
  CHECK_MEM(r.target.ptr, r.target.len, "/hello?x=1");
  CHECK_MEM(r.path.ptr, r.path.len, "/hello");
  CHECK_MEM(r.query.ptr, r.query.len, "x=1");
  CHECK_MEM(r.host.ptr, r.host.len, "example.com");
  CHECK_INT(r.target_form, SPK_H1_ORIGIN_FORM);
  CHECK_INT(r.minor_version, 1);
  CHECK_INT(r.header_count, 2);
  CHECK_MEM(hs[0].name.ptr, hs[0].name.len, "Host");
  CHECK_MEM(hs[1].name.ptr, hs[1].name.len, "Accept");
  CHECK_MEM(hs[1].value.ptr, hs[1].value.len, "*/*");
  CHECK(r.headers == hs);
  CHECK_INT(r.content_length, -1);
  CHECK_INT(r.chunked, 0);
  CHECK_INT(r.keep_alive, 1);
  CHECK_INT(r.expect_continue, 0);
  CHECK_INT(r.upgrade, 0);
}

static void test_values_and_ows(void) {
  spk_h1_request_t r;
  spk_h1_header_t hs[MAXH];
  const char *s = "GET / HTTP/1.1\r\nHost: h\r\nA:\t v a l \t \r\nB:\r\nC: \r\nD: \x80\xff ok\r\n\r\n";
  CHECK(PR(s, &r, hs) > 0);
  CHECK_INT(r.header_count, 5);
  CHECK_MEM(hs[1].value.ptr, hs[1].value.len, "v a l");
  CHECK_INT(hs[2].value.len, 0);
  CHECK_INT(hs[3].value.len, 0);
  CHECK_MEM(hs[4].value.ptr, hs[4].value.len, "\x80\xff ok");
  /* Odd but valid tokens as names and methods. */
  CHECK(P("M-SEARCH! /x HTTP/1.1\r\nHost: h\r\n!#$%&'*+-.^_`|~09azAZ: v\r\n\r\n") > 0);
  CHECK(P("get / HTTP/1.1\r\nHost: h\r\n\r\n") > 0); /* methods are case-sensitive tokens */
}

static void test_versions_keepalive(void) {
  spk_h1_request_t r;
  spk_h1_header_t hs[MAXH];
  CHECK(PR("GET / HTTP/1.0\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.minor_version, 0);
  CHECK_INT(r.keep_alive, 0);
  CHECK_INT(r.host.len, 0);
  CHECK(PR("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.keep_alive, 1);
  CHECK(PR("GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.keep_alive, 0);
  CHECK(PR("GET / HTTP/1.1\r\nHost: h\r\nConnection: foo,  CLOSE \r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.keep_alive, 0);
  CHECK(PR("GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.keep_alive, 1);
  CHECK(PR("GET / HTTP/1.1\r\nHost: h\r\nConnection: closed\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.keep_alive, 1);
  CHECK(PR("GET / HTTP/1.1\r\nHost: h\r\nConnection: x\r\nConnection: close\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.keep_alive, 0);
  CHECK_INT(P("GET / HTTP/1.2\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/2.0\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/0.9\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / http/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1 \r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.10\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET /\r\n\r\n"), SPK_EPROTO); /* HTTP/0.9 */
  CHECK_INT(P("GET / HTTP/5.6"), SPK_EPROTO); /* refused before the line ends */
}

static void test_expect_upgrade(void) {
  spk_h1_request_t r;
  spk_h1_header_t hs[MAXH];
  CHECK(PR("POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\n", &r,
           hs) > 0);
  CHECK_INT(r.expect_continue, 1);
  CHECK(PR("POST / HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 1\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.expect_continue, 0);
  CHECK(PR("GET / HTTP/1.1\r\nHost: h\r\nExpect: 200-ok\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.expect_continue, 0);
  CHECK(PR("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\nUpgrade: websocket\r\n\r\n",
           &r, hs) > 0);
  CHECK_INT(r.upgrade, 1);
  CHECK_INT(r.keep_alive, 1);
  CHECK(PR("GET /ws HTTP/1.1\r\nHost: h\r\nConnection: upgrade\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.upgrade, 0);
  CHECK(PR("GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.upgrade, 0);
  CHECK(PR("GET /ws HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.upgrade, 0);
}

static void test_target_forms(void) {
  spk_h1_request_t r;
  spk_h1_header_t hs[MAXH];
  CHECK(PR("GET http://Example.com:8080/a/b?c=d#frag HTTP/1.1\r\nHost: other\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.target_form, SPK_H1_ABSOLUTE_FORM);
  CHECK_MEM(r.host.ptr, r.host.len, "Example.com:8080");
  CHECK_MEM(r.path.ptr, r.path.len, "/a/b");
  CHECK_MEM(r.query.ptr, r.query.len, "c=d");
  CHECK_MEM(r.target.ptr, r.target.len, "http://Example.com:8080/a/b?c=d#frag");
  const char *s = "GET HTTPS://h?x=1 HTTP/1.1\r\nHost: h\r\n\r\n";
  CHECK(PR(s, &r, hs) > 0);
  CHECK_MEM(r.host.ptr, r.host.len, "h");
  CHECK_MEM(r.path.ptr, r.path.len, "/");
  CHECK(r.path.ptr >= s && r.path.ptr < s + strlen(s)); /* inside the buffer */
  CHECK_MEM(r.query.ptr, r.query.len, "x=1");
  CHECK(PR("GET http://[::1]:80 HTTP/1.1\r\nHost: h\r\n\r\n", &r, hs) > 0);
  CHECK_MEM(r.host.ptr, r.host.len, "[::1]:80");
  CHECK_MEM(r.path.ptr, r.path.len, "/");
  CHECK(PR("GET /p#f HTTP/1.1\r\nHost: h\r\n\r\n", &r, hs) > 0);
  CHECK_MEM(r.path.ptr, r.path.len, "/p");
  CHECK_INT(r.query.len, 0);
  CHECK(PR("GET /p?a?b=/c HTTP/1.1\r\nHost: h\r\n\r\n", &r, hs) > 0);
  CHECK_MEM(r.query.ptr, r.query.len, "a?b=/c");
  CHECK(PR("GET //x HTTP/1.1\r\nHost: h\r\n\r\n", &r, hs) > 0);
  CHECK_MEM(r.path.ptr, r.path.len, "//x");
  CHECK(PR("OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.target_form, SPK_H1_ASTERISK_FORM);
  CHECK_MEM(r.path.ptr, r.path.len, "*");
  CHECK_INT(P("GET * HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("OPTIONS *x HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK(PR("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.target_form, SPK_H1_AUTHORITY_FORM);
  CHECK_MEM(r.path.ptr, r.path.len, "example.com:443");
  CHECK_MEM(r.host.ptr, r.host.len, "example.com:443");
  CHECK_INT(P("CONNECT example.com:443 HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EMETHOD);
  CHECK_INT(P("CONNECT"), SPK_EAGAIN);
  CHECK_INT(P("CONNECT "), SPK_EMETHOD); /* decided at the end of the method */
  CHECK_INT(PC("CONNECT /x HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(PC("CONNECT example.com HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(PC("CONNECT example.com: HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(PC("CONNECT http://example.com:443/ HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(PC("GET example.com:443 HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET foo HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET ftp://h/ HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET http:///p HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET http://u:p@h/ HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET http://h:99999/ HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET http://[::1/ HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET http://h%zz/ HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK(P("GET http://h%41:/ HTTP/1.1\r\nHost: h\r\n\r\n") > 0);
}

static void test_target_bytes(void) {
  CHECK_INT(P("GET /a\x80 HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET /a\x7f HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET /a\x01 HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET /a\tb HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET /a b HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET  / HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET /  HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET\t/ HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P(" GET / HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GE(T / HTTP/1.1\r\nHost: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\r\n"), SPK_EPROTO);
  CHECK(P("GET /\"q\"|{}^`\\ HTTP/1.1\r\nHost: h\r\n\r\n") > 0); /* visible ASCII is accepted */
  char nul_in_target[] = "GET /a\0b HTTP/1.1\r\nHost: h\r\n\r\n";
  spk_h1_limits_t l = lim_default();
  spk_h1_request_t r;
  spk_h1_header_t hs[MAXH];
  CHECK_INT(parse_n(nul_in_target, sizeof(nul_in_target) - 1, &l, 0, &r, hs, MAXH, NULL), SPK_EPROTO);
}

static void test_header_syntax(void) {
  CHECK_INT(P("GET / HTTP/1.1\r\nHost : h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost\t: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: h\r\n: v\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: h\r\nNoColon\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: h\r\nA(b: v\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: h\r\nA: v\r\n folded\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: h\r\nA: v\r\n\tfolded\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\n Host: h\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\n Host: h"), SPK_EPROTO); /* early */
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: h\nA: b\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: h\r\nA: b\rC: d\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: h\r\n\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: h\r\n\rX"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: h\r\nA: b\x7f\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: h\r\nA: b\x0b\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: h\r\nA: \x0c\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: h\r\nA\x80: b\r\n\r\n"), SPK_EPROTO);
  char nulv[] = "GET / HTTP/1.1\r\nHost: h\r\nA: b\0c\r\n\r\n";
  char nuln[] = "GET / HTTP/1.1\r\nHost: h\r\nA\0: b\r\n\r\n";
  spk_h1_limits_t l = lim_default();
  spk_h1_request_t r;
  spk_h1_header_t hs[MAXH];
  CHECK_INT(parse_n(nulv, sizeof(nulv) - 1, &l, 0, &r, hs, MAXH, NULL), SPK_EPROTO);
  CHECK_INT(parse_n(nuln, sizeof(nuln) - 1, &l, 0, &r, hs, MAXH, NULL), SPK_EPROTO);
}

static void test_leading_crlf(void) {
  spk_h1_request_t r;
  spk_h1_header_t hs[MAXH];
  const char *s = "\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n";
  CHECK_INT(PR(s, &r, hs), (int)strlen(s));
  CHECK_INT(r.head_len, strlen(s));
  CHECK_MEM(r.method.ptr, r.method.len, "GET");
  CHECK_INT(P("\r\n"), SPK_EAGAIN);
  CHECK_INT(P("\r"), SPK_EAGAIN);
  CHECK_INT(P("\n"), SPK_EPROTO);
  CHECK_INT(P("\rG"), SPK_EPROTO);
  CHECK_INT(P("\r\n\nGET / HTTP/1.1\r\n"), SPK_EPROTO);
  CHECK_INT(P(""), SPK_EAGAIN);
}

static void test_host_rules(void) {
  spk_h1_limits_t l = lim_default();
  spk_h1_request_t r;
  spk_h1_header_t hs[MAXH];
  CHECK_INT(P("GET / HTTP/1.1\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: a\r\nHost: a\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.0\r\nHost: a\r\nhost: b\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: a@b\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: a b\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: a/b\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: a:80x\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("GET / HTTP/1.1\r\nHost: :80\r\n\r\n"), SPK_EPROTO);
  CHECK(P("GET / HTTP/1.1\r\nHost:\r\n\r\n") > 0); /* empty: allowed (RFC 9110 §7.2) */
  CHECK(P("GET / HTTP/1.1\r\nHost: [2001:db8::1]:8080\r\n\r\n") > 0);
  CHECK(P("GET / HTTP/1.1\r\nHost: 0.0.0.0=5000\r\n\r\n") > 0);
  CHECK(P("GET / HTTP/1.1\r\nHost: a.b-c_d~e:\r\n\r\n") > 0);
  const char *s = "GET / HTTP/1.1\r\n\r\n";
  CHECK(parse_n(s, strlen(s), &l, SPK_H1_LENIENT_MISSING_HOST, &r, hs, MAXH, NULL) > 0);
  s = "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n";
  CHECK_INT(parse_n(s, strlen(s), &l, SPK_H1_LENIENT_MISSING_HOST, &r, hs, MAXH, NULL), SPK_EPROTO);
  CHECK(PR("GET / HTTP/1.1\r\nhOsT: x.y\r\n\r\n", &r, hs) > 0);
  CHECK_MEM(r.host.ptr, r.host.len, "x.y");
}

static void test_content_length(void) {
  spk_h1_request_t r;
  spk_h1_header_t hs[MAXH];
  CHECK(PR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.content_length, 10);
  CHECK(PR("POST / HTTP/1.1\r\nHost: h\r\ncontent-length:  007 \r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.content_length, 7);
  CHECK(PR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\nContent-Length: 5\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.content_length, 5);
  CHECK(PR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.content_length, 0);
  CHECK(PR("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775807\r\n\r\n", &r, hs) > 0);
  CHECK(r.content_length == INT64_MAX);
  CHECK_INT(P("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 9223372036854775808\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1000000000000000000000\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n"), SPK_ESMUGGLE);
  CHECK_INT(P("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1, 2\r\n\r\n"), SPK_ESMUGGLE);
  CHECK_INT(P("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 01\r\nContent-Length: 2\r\n\r\n"), SPK_ESMUGGLE);
  CHECK_INT(P("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: abc\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: -1\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: +1\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 0x10\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 4 2\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("POST / HTTP/1.1\r\nHost: h\r\nContent-Length:\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5,\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1.0\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("POST / HTTP/1.1\r\nHost: h\r\nContent-Length : 1\r\n\r\n"), SPK_EPROTO);
}

static void test_transfer_encoding(void) {
  spk_h1_request_t r;
  spk_h1_header_t hs[MAXH];
  CHECK(PR("POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.chunked, 1);
  CHECK_INT(r.content_length, -1);
  CHECK(PR("POST / HTTP/1.1\r\nHost: h\r\ntransfer-encoding:\t CHUNKED \t\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.chunked, 1);
#define TE(v) P("POST / HTTP/1.1\r\nHost: h\r\n" v "\r\n\r\n")
  /* CL.TE and TE.CL */
  CHECK_INT(TE("Content-Length: 5\r\nTransfer-Encoding: chunked"), SPK_ESMUGGLE);
  CHECK_INT(TE("Transfer-Encoding: chunked\r\nContent-Length: 5"), SPK_ESMUGGLE);
  CHECK_INT(TE("Content-Length: 5\r\nTransfer-Encoding: identity"), SPK_ESMUGGLE);
  /* decided at the first offending line: "identity" is refused before the Content-Length */
  CHECK_INT(TE("Transfer-Encoding: identity\r\nContent-Length: 5"), SPK_ENOTIMPL);
  CHECK_INT(TE("Content-Length: 5\r\nTransfer-Encoding:"), SPK_ESMUGGLE);
  /* obfuscations */
  CHECK_INT(TE("Transfer-Encoding: xchunked"), SPK_ENOTIMPL);
  CHECK_INT(TE("Transfer-Encoding: chunkedx"), SPK_ENOTIMPL);
  CHECK_INT(TE("Transfer-Encoding: chunked-false"), SPK_ENOTIMPL);
  CHECK_INT(TE("Transfer-Encoding: identity"), SPK_ENOTIMPL);
  CHECK_INT(TE("Transfer-Encoding: gzip"), SPK_ENOTIMPL);
  CHECK_INT(TE("Transfer-Encoding: gzip, chunked"), SPK_ENOTIMPL);
  CHECK_INT(TE("Transfer-Encoding: chunked, gzip"), SPK_ENOTIMPL);
  CHECK_INT(TE("Transfer-Encoding: chunked, chunked"), SPK_ENOTIMPL);
  CHECK_INT(TE("Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked"), SPK_ENOTIMPL);
  CHECK_INT(TE("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked"), SPK_ENOTIMPL);
  CHECK_INT(TE("Transfer-Encoding: chunked\r\nTransfer-Encoding: gzip"), SPK_ENOTIMPL);
  CHECK_INT(TE("Transfer-Encoding: chunkedchunked"), SPK_ENOTIMPL);
  CHECK_INT(TE("Transfer-Encoding: \"chunked\""), SPK_EPROTO);
  CHECK_INT(TE("Transfer-Encoding: chunked;q=1"), SPK_EPROTO);
  CHECK_INT(TE("Transfer-Encoding: chunked,"), SPK_EPROTO);
  CHECK_INT(TE("Transfer-Encoding: ,chunked"), SPK_EPROTO);
  CHECK_INT(TE("Transfer-Encoding: chu nked"), SPK_EPROTO);
  CHECK_INT(TE("Transfer-Encoding:"), SPK_EPROTO);
  CHECK_INT(TE("Transfer-Encoding: chunked\x0b"), SPK_EPROTO);
  CHECK_INT(TE("Transfer-Encoding: \x0b" "chunked"), SPK_EPROTO);
  CHECK_INT(TE("Transfer-Encoding : chunked"), SPK_EPROTO);
  CHECK_INT(TE(" Transfer-Encoding: chunked"), SPK_EPROTO);
  CHECK_INT(TE("Transfer-Encoding:\r\n chunked"), SPK_EPROTO);
  CHECK_INT(TE("Transfer-Encoding: chunked\r\n , identity"), SPK_EPROTO);
  CHECK_INT(TE("Transfer-Encoding: chunked\nX: y"), SPK_EPROTO);
  CHECK_INT(TE("Transfer-Encoding: chunked\rX: y"), SPK_EPROTO);
#undef TE
  /* Not Transfer-Encoding at all: ignored, so no body. */
  CHECK(PR("POST / HTTP/1.1\r\nHost: h\r\nTransfer_Encoding: chunked\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.chunked, 0);
  CHECK(PR("POST / HTTP/1.1\r\nHost: h\r\nX-Transfer-Encoding: chunked\r\n\r\n", &r, hs) > 0);
  CHECK_INT(r.chunked, 0);
  /* HTTP/1.0 with Transfer-Encoding: faulty framing. */
  CHECK_INT(P("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n"), SPK_EPROTO);
  CHECK_INT(P("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n"), SPK_EPROTO);
}

static void test_limits(void) {
  spk_h1_limits_t l = {32, 4, 256, 0};
  spk_h1_request_t r;
  spk_h1_header_t hs[MAXH];
  char line[64];
  /* "GET /xxx HTTP/1.1" with the line exactly 32 bytes: accepted; 33: 414. */
  snprintf(line, sizeof line, "GET /%s HTTP/1.1\r\nHost: h\r\n\r\n", "aaaaaaaaaaaaaaaaaa"); /* 32 */
  CHECK(parse_n(line, strlen(line), &l, 0, &r, hs, MAXH, NULL) > 0);
  snprintf(line, sizeof line, "GET /%s HTTP/1.1\r\nHost: h\r\n\r\n", "aaaaaaaaaaaaaaaaaaa"); /* 33 */
  CHECK_INT(parse_n(line, strlen(line), &l, 0, &r, hs, MAXH, NULL), SPK_EURITOOLONG);
  /* Partial: no CRLF yet, the 33rd byte of the line decides. */
  CHECK_INT(parse_n("GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaa", 33, &l, 0, &r, hs, MAXH, NULL),
            SPK_EURITOOLONG);
  CHECK_INT(parse_n("GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaa", 32, &l, 0, &r, hs, MAXH, NULL), SPK_EAGAIN);
  CHECK_INT(parse_n("GETGETGETGETGETGETGETGETGETGETGETGET", 36, &l, 0, &r, hs, MAXH, NULL),
            SPK_EURITOOLONG);
  /* Leading CRLFs are not part of the request line. */
  snprintf(line, sizeof line, "\r\n\r\nGET /%s HTTP/1.1\r\nHost: h\r\n\r\n", "aaaaaaaaaaaaaaaaaa");
  CHECK(parse_n(line, strlen(line), &l, 0, &r, hs, MAXH, NULL) > 0);

  /* Header count: 4 allowed, the 5th refused (complete and partial). */
  const char *h4 = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
  const char *h5 = "GET / HTTP/1.1\r\nHost: h\r\nA: 1\r\nB: 2\r\nC: 3\r\nD: 4\r\n\r\n";
  CHECK(parse_n(h4, strlen(h4), &l, 0, &r, hs, MAXH, NULL) > 0);
  CHECK_INT(r.header_count, 4);
  CHECK_INT(parse_n(h5, strlen(h5), &l, 0, &r, hs, MAXH, NULL), SPK_EHDRTOOLARGE);
  CHECK_INT(parse_n(h5, strlen(h4) - 1, &l, 0, &r, hs, MAXH, NULL), SPK_EHDRTOOLARGE);
  CHECK_INT(parse_n(h4, strlen(h4) - 2, &l, 0, &r, hs, MAXH, NULL), SPK_EAGAIN);
  /* header_cap below the limit is a limit too */
  CHECK_INT(parse_n(h4, strlen(h4), &l, 0, &r, hs, 3, NULL), SPK_EHDRTOOLARGE);
  CHECK_INT(parse_n(h4, strlen(h4), &l, 0, &r, NULL, 0, NULL), SPK_EHDRTOOLARGE);
  CHECK(parse_n("GET / HTTP/1.0\r\n\r\n", 18, &l, 0, &r, NULL, 0, NULL) > 0);

  /* Head bytes: exactly max_header_bytes accepted, one more refused, also on partial input. */
  char big[600];
  size_t n = (size_t)snprintf(big, sizeof big, "GET / HTTP/1.1\r\nHost: h\r\nX: ");
  size_t fill = 256 - n - 4;
  memset(big + n, 'v', fill);
  memcpy(big + n + fill, "\r\n\r\n", 4);
  CHECK_INT(parse_n(big, 256, &l, 0, &r, hs, MAXH, NULL), 256);
  memset(big + n, 'v', fill + 1);
  memcpy(big + n + fill + 1, "\r\n\r\n", 4);
  CHECK_INT(parse_n(big, 257, &l, 0, &r, hs, MAXH, NULL), SPK_EHDRTOOLARGE);
  CHECK_INT(parse_n(big, 256, &l, 0, &r, hs, MAXH, NULL), SPK_EHDRTOOLARGE);
  CHECK_INT(parse_n(big, 255, &l, 0, &r, hs, MAXH, NULL), SPK_EAGAIN);
  memset(big + n, 'v', 400);
  CHECK_INT(parse_n(big, 500, &l, 0, &r, hs, MAXH, NULL), SPK_EHDRTOOLARGE);
  /* A flood of empty lines is bounded by the head size. */
  char crlf[600];
  for (size_t i = 0; i < sizeof crlf; i += 2) memcpy(crlf + i, "\r\n", 2);
  CHECK_INT(parse_n(crlf, sizeof crlf, &l, 0, &r, hs, MAXH, NULL), SPK_EHDRTOOLARGE);
  /* NULL limits → defaults */
  CHECK(spk_h1_parse_request("GET / HTTP/1.1\r\nHost: h\r\n\r\n", 27, NULL, hs, MAXH, &r) == 27);
  CHECK_INT(spk_h1_parse_request("CONNECT a:1 HTTP/1.1\r\n", 22, NULL, hs, MAXH, &r), SPK_EMETHOD);
}

static void test_eagain(void) {
  const char *s = "POST /p HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\n";
  size_t n = strlen(s);
  spk_h1_limits_t l = lim_default();
  spk_h1_request_t r;
  spk_h1_header_t hs[MAXH];
  for (size_t k = 0; k < n; k++)
    CHECK_INT(parse_n(s, k, &l, 0, &r, hs, MAXH, NULL), SPK_EAGAIN);
  CHECK_INT(parse_n(s, n, &l, 0, &r, hs, MAXH, NULL), (int)n);
}

static const char *split_cases[] = {
    "GET / HTTP/1.1\r\nHost: h\r\n\r\n",
    "\r\n\r\nGET /a/b?c=d#e HTTP/1.1\r\nHost: example.com:80\r\nAccept: */*\r\n\r\nXYZ",
    "GET http://ex.com HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET https://ex.com:8443/p?q HTTP/1.1\r\nHost: x\r\n\r\n",
    "OPTIONS * HTTP/1.0\r\n\r\n",
    "CONNECT a.b:443 HTTP/1.1\r\nHost: a.b:443\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 5, 5\r\nConnection: close\r\n\r\nhello",
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n",
    "GET /ws HTTP/1.1\r\nHost: h\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    "GET / HTTP/1.0\r\nConnection: keep-alive\r\nX:\r\nY: \x80\xff\r\n\r\n",
    /* invalid */
    "GET / HTTP/1.1\r\nHost: h\r\nA: b\r\n folded\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\nX: y\r\n\r\n",
    "GET / HTTP/1.1\r\nHost : h\r\n\r\n",
    "GET / HTTP/2.0\r\nHost: h\r\n\r\n",
    "GET / HTTP/1.1\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\nContent-Length: 1\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: xchunked\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: x\r\n\r\n",
    "GET * HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET /\x80 HTTP/1.1\r\nHost: h\r\n\r\n",
    "GET http://u@h/ HTTP/1.1\r\nHost: h\r\n\r\n",
    "\r\n\nGET / HTTP/1.1\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: h\r\n\rX",
    "GET / HTTP/5.6",
};

static void test_split_equivalence(void) {
  for (size_t i = 0; i < sizeof(split_cases) / sizeof(split_cases[0]); i++)
    check_split(split_cases[i]);
  /* with limits reached on partial input */
  spk_h1_limits_t l = {20, 2, 80, 0};
  check_split_l("GET /aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n", 48, &l, 0);
  check_split_l("GET / HTTP/1.1\r\nHost: h\r\nA: b\r\nC: d\r\n\r\n", 39, &l, 0);
  check_split_l("GET / HTTP/1.1\r\nHost: hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh\r\n\r\n",
                93, &l, 0);
  /* Both limits at once: the request line reaches max_header_bytes and max_request_line. */
  spk_h1_limits_t l2 = {10, 2, 10, 0};
  check_split_l("GET /aaaaaaaaaaaaaaaa HTTP/1.1\r\n\r\n", 34, &l2, 0);
  check_split_l("GET /aaaa\r\n", 11, &l2, 0);
  char nul[] = "GET / HTTP/1.1\r\nHost: h\r\nA: \0\r\n\r\n";
  spk_h1_limits_t l3 = lim_default();
  check_split_l(nul, sizeof(nul) - 1, &l3, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Chunked decoder */

typedef struct dec_result {
  int rc;           /* final return code */
  char out[4096];   /* decoded bytes */
  size_t out_len;
  char rest[4096];  /* leftover after the body */
  size_t rest_len;
} dec_result_t;

/* Decode s[0..n) delivering `step` bytes per call (the caller's view: each call gets only new
 * bytes, in a fresh exact-size buffer). */
static void decode_steps(const char *s, size_t n, size_t step, dec_result_t *res) {
  spk_h1_chunked_t d;
  spk_h1_chunked_init(&d);
  memset(res, 0, sizeof(*res));
  res->rc = SPK_EAGAIN;
  size_t i = 0;
  while (i < n || n == 0) {
    size_t k = n - i < step ? n - i : step;
    char *b = malloc(k ? k : 1);
    memcpy(b, s + i, k);
    size_t len = k;
    int rc = spk_h1_chunked_decode(&d, b, &len);
    memcpy(res->out + res->out_len, b, len);
    res->out_len += len;
    if (rc >= 0) {
      memcpy(res->rest, b + len, (size_t)rc);
      res->rest_len = (size_t)rc;
      /* bytes not given yet are leftover too */
      memcpy(res->rest + res->rest_len, s + i + k, n - i - k);
      res->rest_len += n - i - k;
      res->rc = 0;
      free(b);
      return;
    }
    res->rc = rc;
    free(b);
    if (rc != SPK_EAGAIN) return;
    i += k;
    if (n == 0) break;
  }
}

static void check_chunked(const char *s, size_t n, int want_rc, const char *want_body,
                          const char *want_rest) {
  dec_result_t whole, part;
  decode_steps(s, n, n ? n : 1, &whole);
  CHECK_INT(whole.rc, want_rc);
  if (want_rc == 0 || want_rc == SPK_EAGAIN) {
    if (want_body) CHECK_MEM(whole.out, whole.out_len, want_body);
    if (want_rest) CHECK_MEM(whole.rest, whole.rest_len, want_rest);
  }
  for (size_t step = 1; step < n; step++) {
    decode_steps(s, n, step, &part);
    if (part.rc != whole.rc || part.out_len != whole.out_len ||
        memcmp(part.out, whole.out, whole.out_len) != 0 || part.rest_len != whole.rest_len ||
        memcmp(part.rest, whole.rest, whole.rest_len) != 0) {
      fprintf(stderr, "  chunked: step %zu differs (rc %d vs %d)\n", step, part.rc, whole.rc);
      CHECK(0);
      break;
    }
  }
}

#define CHK(s, rc, body, rest) check_chunked((s), sizeof(s) - 1, (rc), (body), (rest))

static void test_chunked_basic(void) {
  CHK("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 0, "hello world", "");
  CHK("5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n", 0, "hello", "GET / HTTP/1.1\r\n");
  CHK("A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n", 0, "01234567890123456789", "");
  CHK("000\r\n\r\n", 0, "", "");
  CHK("0\r\n\r\n", 0, "", "");
  CHK("0000000001\r\nx\r\n0\r\n\r\nrest", 0, "x", "rest");
  CHK("5\r\nhel", SPK_EAGAIN, "hel", NULL);
  CHK("5\r\nhello\r\n0\r\n", SPK_EAGAIN, "hello", NULL);
  CHK("", SPK_EAGAIN, "", NULL);
  /* data may contain anything, including CRLF and NUL */
  CHK("4\r\n\r\n\0\xff\r\n0\r\n\r\n", 0, NULL, "");
}

static void test_chunked_extensions(void) {
  CHK("5;ext\r\nhello\r\n0\r\n\r\n", 0, "hello", "");
  CHK("5;a=b;c=d\r\nhello\r\n0;last\r\n\r\n", 0, "hello", "");
  CHK("5 ;a=b\r\nhello\r\n0\r\n\r\n", 0, "hello", "");
  CHK("5\t; a = b ; c\r\nhello\r\n0\r\n\r\n", 0, "hello", "");
  CHK("5;a=\"q \\\"x\\\" ;\\\\\"\r\nhello\r\n0\r\n\r\n", 0, "hello", "");
  CHK("5;a=\"\xff\"\r\nhello\r\n0\r\n\r\n", 0, "hello", "");
  CHK("5 \r\nhello\r\n0\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("5;\r\nhello\r\n0\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("5;a=\r\nhello\r\n0\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("5;a=b c\r\nhello\r\n0\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("5;=b\r\nhello\r\n0\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("5 x\r\nhello\r\n0\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("5;a=\"abc\r\nhello\r\n0\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("5;a=\"a\x01\"\r\nhello\r\n0\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("5;a\x7f\r\nhello\r\n0\r\n\r\n", SPK_EPROTO, NULL, NULL);
  /* bounded: 4096 bytes per size line */
  static char big[6000];
  memcpy(big, "5;a=", 4);
  memset(big + 4, 'x', 4100);
  memcpy(big + 4104, "\r\nhello\r\n0\r\n\r\n", 14);
  check_chunked(big, 4118, SPK_EHDRTOOLARGE, NULL, NULL);
  memset(big + 4, 'x', 4088); /* 4092 + CRLF = 4094 bytes: fine */
  memcpy(big + 4092, "\r\nhello\r\n0\r\n\r\n", 14);
  check_chunked(big, 4106, 0, "hello", "");
}

static void test_chunked_errors(void) {
  CHK("5\r\nhelloX\r\n0\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("5\r\nhello\n0\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("5\r\nhello\rX", SPK_EPROTO, NULL, NULL);
  CHK("5\nhello\r\n0\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("5\r\r\nhello\r\n0\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("\r\n", SPK_EPROTO, NULL, NULL);
  CHK("x\r\n", SPK_EPROTO, NULL, NULL);
  CHK("-1\r\n", SPK_EPROTO, NULL, NULL);
  CHK("+1\r\n", SPK_EPROTO, NULL, NULL);
  CHK("0x5\r\n", SPK_EPROTO, NULL, NULL);
  CHK(" 5\r\n", SPK_EPROTO, NULL, NULL);
  CHK("3\r\nfoo\r\n\r\n", SPK_EPROTO, NULL, NULL); /* missing last-chunk */
  CHK("0\r\n\n", SPK_EPROTO, NULL, NULL);
  CHK("0\r\n\rX", SPK_EPROTO, NULL, NULL);
  /* overflow: the largest chunk is 2^62 - 1 */
  CHK("fffffffffffffffffffff\r\n", SPK_ERANGE, NULL, NULL);
  CHK("10000000000000000\r\n", SPK_ERANGE, NULL, NULL);
  CHK("4000000000000000\r\n", SPK_ERANGE, NULL, NULL);
  CHK("3fffffffffffffff\r\nabc", SPK_EAGAIN, "abc", NULL);
  CHK("00000000000000000000000000000001\r\nx\r\n0\r\n\r\n", 0, "x", "");
  /* errors are sticky */
  spk_h1_chunked_t d;
  spk_h1_chunked_init(&d);
  char b1[] = "zz";
  size_t len = 2;
  CHECK_INT(spk_h1_chunked_decode(&d, b1, &len), SPK_EPROTO);
  char b2[] = "0\r\n\r\n";
  len = 5;
  CHECK_INT(spk_h1_chunked_decode(&d, b2, &len), SPK_EPROTO);
  CHECK_INT(len, 0);
}

static void test_chunked_trailers(void) {
  CHK("5\r\nhello\r\n0\r\nVary: *\r\nContent-Type: text/plain\r\n\r\nNEXT", 0, "hello", "NEXT");
  CHK("0\r\nX:\r\n\r\n", 0, "", "");
  CHK("0\r\nX: \x80\xff\t\r\n\r\n", 0, "", "");
  CHK("0\r\n X: y\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("0\r\nX: y\r\n\tz\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("0\r\nX y\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("0\r\nX : y\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("0\r\n: y\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("0\r\nX: y\x01\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("0\r\nX: y\ny\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("0\r\nX: y\r\r\n\r\n", SPK_EPROTO, NULL, NULL);
  CHK("0\r\nX: y\0\r\n\r\n", SPK_EPROTO, NULL, NULL);
  static char big[10000];
  size_t n = 0;
  memcpy(big, "0\r\n", 3);
  n = 3;
  while (n < 8300) {
    memcpy(big + n, "X-Some-Trailer: 0123456789\r\n", 28);
    n += 28;
  }
  memcpy(big + n, "\r\n", 2);
  check_chunked(big, n + 2, SPK_EHDRTOOLARGE, NULL, NULL);
}

static void test_chunked_in_place_leftover(void) {
  /* The whole pipeline: head, chunked body, next request, all in one buffer. */
  char buf[] = "POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n"
               "3\r\nabc\r\n2;x=y\r\nde\r\n0\r\nT: v\r\n\r\nGET /next HTTP/1.1\r\nHost: h\r\n\r\n";
  size_t total = sizeof(buf) - 1;
  spk_h1_request_t r;
  spk_h1_header_t hs[MAXH];
  int h = spk_h1_parse_request(buf, total, NULL, hs, MAXH, &r);
  CHECK(h > 0);
  CHECK_INT(r.chunked, 1);
  spk_h1_chunked_t d;
  spk_h1_chunked_init(&d);
  char *body = buf + h;
  size_t len = total - (size_t)h;
  int n = spk_h1_chunked_decode(&d, body, &len);
  CHECK_INT(n, 31);
  CHECK_MEM(body, len, "abcde");
  CHECK_MEM(body + len, (size_t)n, "GET /next HTTP/1.1\r\nHost: h\r\n\r\n");
  int h2 = spk_h1_parse_request(body + len, (size_t)n, NULL, hs, MAXH, &r);
  CHECK_INT(h2, n);
  CHECK_MEM(r.path.ptr, r.path.len, "/next");
  /* once done, further input is all leftover */
  char more[] = "xyz";
  len = 3;
  CHECK_INT(spk_h1_chunked_decode(&d, more, &len), 3);
  CHECK_INT(len, 0);
}

/* ---------------------------------------------------------------------------------------- */
/* Writer */

static const char *DATE = "Sun, 06 Nov 1994 08:49:37 GMT";

static void check_head(const spk_h1_response_head_t *h, int want_rc, const char *want) {
  spk__buf_t b = {0};
  int rc = spk_h1_write_head(&b, h);
  CHECK_INT(rc, want_rc);
  if (want) CHECK_MEM(b.data, b.len, want);
  spk__buf_free(&b);
}

static void test_write_head(void) {
  spk_h1_header_t hs[3] = {{SPK_STR("Content-Type"), SPK_STR("text/plain")},
                           {SPK_STR("X-A"), SPK_STR("")},
                           {SPK_STR("content-length"), SPK_STR("99")}};
  spk_h1_response_head_t h = {200, 1, hs, 2, 5, 1, NULL, 0};
  h.date = DATE;
  check_head(&h, 0,
             "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-A: \r\n"
             "Date: Sun, 06 Nov 1994 08:49:37 GMT\r\nContent-Length: 5\r\n\r\n");
  /* chunked on 1.1 */
  h.header_count = 0;
  h.content_length = -1;
  h.date = NULL;
  check_head(&h, 0, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n");
  /* 1.0, unknown length: close-delimited, keep-alive forced off */
  h.minor_version = 0;
  check_head(&h, 0, "HTTP/1.1 200 OK\r\nConnection: close\r\n\r\n");
  /* 1.0 with length and keep-alive */
  h.content_length = 3;
  check_head(&h, 0, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n");
  h.keep_alive = 0;
  check_head(&h, 0, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n");
  /* 1.1 close */
  h.minor_version = 1;
  h.status = 404;
  h.content_length = 0;
  check_head(&h, 0, "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  /* 204 and 1xx: never framing headers, whatever the caller says */
  spk_h1_response_head_t n204 = {204, 1, NULL, 0, 0, 1, DATE, 0};
  check_head(&n204, 0, "HTTP/1.1 204 No Content\r\nDate: Sun, 06 Nov 1994 08:49:37 GMT\r\n\r\n");
  spk_h1_header_t up[2] = {{SPK_STR("Upgrade"), SPK_STR("websocket")},
                           {SPK_STR("Connection"), SPK_STR("Upgrade")}};
  spk_h1_response_head_t n101 = {101, 1, up, 2, -1, 1, NULL, 0};
  check_head(&n101, 0,
             "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
  spk_h1_response_head_t n100 = {100, 1, NULL, 0, 10, 1, NULL, 0};
  check_head(&n100, 0, "HTTP/1.1 100 Continue\r\n\r\n");
  /* 304: no_body_framing; 1.0 keep-alive stays on (no close-delimited body) */
  spk_h1_response_head_t n304 = {304, 0, NULL, 0, -1, 1, NULL, 1};
  check_head(&n304, 0, "HTTP/1.1 304 Not Modified\r\nConnection: keep-alive\r\n\r\n");
  /* application framing headers are dropped; an application Date wins */
  spk_h1_header_t own[3] = {{SPK_STR("Transfer-Encoding"), SPK_STR("gzip")},
                            {SPK_STR("Content-Length"), SPK_STR("1")},
                            {SPK_STR("date"), SPK_STR("Mon, 07 Nov 1994 08:49:37 GMT")}};
  spk_h1_response_head_t ho = {200, 1, own, 3, 2, 1, DATE, 0};
  check_head(&ho, 0,
             "HTTP/1.1 200 OK\r\ndate: Mon, 07 Nov 1994 08:49:37 GMT\r\nContent-Length: 2\r\n\r\n");
  /* unknown status, odd but valid */
  spk_h1_response_head_t h299 = {299, 1, NULL, 0, 0, 1, NULL, 0};
  check_head(&h299, 0, "HTTP/1.1 299 Unknown\r\nContent-Length: 0\r\n\r\n");
  /* refused: response splitting, bad names, bad status; the buffer is left untouched */
  spk_h1_header_t evil[1] = {{SPK_STR("X"), SPK_STR("a\r\nSet-Cookie: x=y")}};
  spk_h1_response_head_t he = {200, 1, evil, 1, 0, 1, NULL, 0};
  spk__buf_t b = {0};
  spk__buf_append_str(&b, "keep");
  CHECK_INT(spk_h1_write_head(&b, &he), SPK_EINVAL);
  CHECK_MEM(b.data, b.len, "keep");
  spk__buf_free(&b);
  spk_h1_header_t evil2[1] = {{SPK_STR("X Y"), SPK_STR("v")}};
  he.headers = evil2;
  check_head(&he, SPK_EINVAL, NULL);
  spk_h1_header_t evil3[1] = {{SPK_STR("X"), {"a\0b", 3}}};
  he.headers = evil3;
  check_head(&he, SPK_EINVAL, NULL);
  spk_h1_header_t ok_tab[1] = {{SPK_STR("X"), SPK_STR("a\tb \x80")}};
  he.headers = ok_tab;
  check_head(&he, 0, "HTTP/1.1 200 OK\r\nX: a\tb \x80\r\nContent-Length: 0\r\n\r\n");
  spk_h1_response_head_t bad = {42, 1, NULL, 0, 0, 1, NULL, 0};
  check_head(&bad, SPK_EINVAL, NULL);
  bad.status = 1000;
  check_head(&bad, SPK_EINVAL, NULL);
  /* appends to existing content */
  spk__buf_t b2 = {0};
  spk__buf_append_str(&b2, "X");
  spk_h1_response_head_t simple = {500, 1, NULL, 0, 0, 0, NULL, 0};
  CHECK_INT(spk_h1_write_head(&b2, &simple), 0);
  CHECK_MEM(b2.data, b2.len,
            "XHTTP/1.1 500 Internal Server Error\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  spk__buf_free(&b2);
}

static void test_reason(void) {
  CHECK_STR(spk_h1_reason(200), "OK");
  CHECK_STR(spk_h1_reason(103), "Early Hints");
  CHECK_STR(spk_h1_reason(308), "Permanent Redirect");
  CHECK_STR(spk_h1_reason(413), "Content Too Large");
  CHECK_STR(spk_h1_reason(421), "Misdirected Request");
  CHECK_STR(spk_h1_reason(422), "Unprocessable Content");
  CHECK_STR(spk_h1_reason(425), "Too Early");
  CHECK_STR(spk_h1_reason(431), "Request Header Fields Too Large");
  CHECK_STR(spk_h1_reason(451), "Unavailable For Legal Reasons");
  CHECK_STR(spk_h1_reason(511), "Network Authentication Required");
  CHECK_STR(spk_h1_reason(599), "Unknown");
  CHECK_STR(spk_h1_reason(-1), "Unknown");
  /* every registered code in 100..599 has a phrase without CR/LF */
  int known = 0;
  for (int s = 100; s < 600; s++) {
    const char *r = spk_h1_reason(s);
    CHECK(r && !strpbrk(r, "\r\n"));
    if (strcmp(r, "Unknown") != 0) known++;
  }
  CHECK_INT(known, 63);
}

static void test_date(void) {
  spk_h1_date_t d;
  memset(&d, 0, sizeof d);
  spk_h1_date_update(&d, 0); /* zeroed struct: sec == 0 but no text yet */
  CHECK_STR(d.text, "Thu, 01 Jan 1970 00:00:00 GMT");
  spk_h1_date_update(&d, 784111777);
  CHECK_STR(d.text, "Sun, 06 Nov 1994 08:49:37 GMT");
  CHECK(d.sec == 784111777);
  CHECK_INT(strlen(d.text), 29);
  spk_h1_date_update(&d, 951782400);
  CHECK_STR(d.text, "Tue, 29 Feb 2000 00:00:00 GMT");
  spk_h1_date_update(&d, 4102444799LL);
  CHECK_STR(d.text, "Thu, 31 Dec 2099 23:59:59 GMT");
  spk_h1_date_update(&d, 1709251199LL);
  CHECK_STR(d.text, "Thu, 29 Feb 2024 23:59:59 GMT");
  spk_h1_date_update(&d, -5);
  CHECK_STR(d.text, "Thu, 01 Jan 1970 00:00:00 GMT");
}

static void test_chunk_header(void) {
  char b[32];
  size_t n = spk_h1_chunk_header(b, 0);
  CHECK_MEM(b, n, "0\r\n");
  n = spk_h1_chunk_header(b, 255);
  CHECK_MEM(b, n, "ff\r\n");
  n = spk_h1_chunk_header(b, 0x1000);
  CHECK_MEM(b, n, "1000\r\n");
  n = spk_h1_chunk_header(b, UINT64_MAX);
  CHECK_MEM(b, n, "ffffffffffffffff\r\n");
  CHECK(n <= 20);
  /* round trip through the decoder */
  char wire[64];
  size_t w = spk_h1_chunk_header(wire, 11);
  memcpy(wire + w, "hello world\r\n0\r\n\r\n", 18);
  check_chunked(wire, w + 18, 0, "hello world", "");
}

int main(void) {
  RUN(test_simple_get);
  RUN(test_values_and_ows);
  RUN(test_versions_keepalive);
  RUN(test_expect_upgrade);
  RUN(test_target_forms);
  RUN(test_target_bytes);
  RUN(test_header_syntax);
  RUN(test_leading_crlf);
  RUN(test_host_rules);
  RUN(test_content_length);
  RUN(test_transfer_encoding);
  RUN(test_limits);
  RUN(test_eagain);
  RUN(test_split_equivalence);
  RUN(test_chunked_basic);
  RUN(test_chunked_extensions);
  RUN(test_chunked_errors);
  RUN(test_chunked_trailers);
  RUN(test_chunked_in_place_leftover);
  RUN(test_write_head);
  RUN(test_reason);
  RUN(test_date);
  RUN(test_chunk_header);
  return test_report("test_http1");
}
