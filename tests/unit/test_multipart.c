/* proto/multipart: incremental multipart/form-data parser. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"
#include "proto/multipart.h"
#include "spikard/common.h"
#include "test.h"
#include "util/arena.h"
#include "util/buf.h"

#define BND "XyZ"

/* ---- a recording consumer ----------------------------------------------------------------- */

typedef struct rec {
  spk__buf_t t; /* transcript: [name|file|ct|headers]{data} … */
  int in_part;
  int bad_calls; /* zero-length data, data outside a part, unbalanced begin/end */
  size_t emitted;
  int abort_begin_at; /* 1-based part number whose begin fails (0: never) */
  int abort_data;     /* fail on the first data callback */
  int parts;
} rec_t;

static void put_str(spk__buf_t *b, spk_str_t s) {
  if (!s.ptr) spk__buf_append_str(b, "(none)");
  else spk__buf_append(b, s.ptr, s.len);
}

static int on_begin(void *ud, const spk_multipart_part_info_t *info) {
  rec_t *r = ud;
  if (r->in_part) r->bad_calls++;
  r->in_part = 1;
  r->parts++;
  if (r->abort_begin_at && r->parts == r->abort_begin_at) return SPK_ERANGE;
  spk__buf_append_char(&r->t, '[');
  put_str(&r->t, info->name);
  spk__buf_append_char(&r->t, '|');
  put_str(&r->t, info->filename);
  spk__buf_append_char(&r->t, '|');
  spk__buf_append(&r->t, info->content_type.ptr, info->content_type.len);
  for (size_t i = 0; i < info->header_count; i++) {
    spk__buf_append_char(&r->t, '|');
    put_str(&r->t, info->headers[i].name);
    spk__buf_append_char(&r->t, ':');
    put_str(&r->t, info->headers[i].value);
  }
  spk__buf_append_str(&r->t, "]{");
  return 0;
}

static int on_data(void *ud, const char *d, size_t n) {
  rec_t *r = ud;
  if (n == 0 || !r->in_part) r->bad_calls++;
  if (r->abort_data) return SPK_EIO;
  spk__buf_append(&r->t, d, n);
  r->emitted += n;
  return 0;
}

static int on_end(void *ud) {
  rec_t *r = ud;
  if (!r->in_part) r->bad_calls++;
  r->in_part = 0;
  spk__buf_append_char(&r->t, '}');
  return 0;
}

static const spk_multipart_callbacks_t CB = {on_begin, on_data, on_end};

/* Feed `body` in chunks: sizes[] cycled (0-terminated list), each chunk in its own exact-size
 * heap copy so that reads past a chunk are caught by ASan. The result string holds the
 * transcript, then "=>rc" and the error message. */
static char *run(const char *body, size_t n, const char *bnd, const spk_multipart_limits_t *lim,
                 const size_t *sizes, rec_t *r_out) {
  spk__arena_t a;
  spk__arena_init(&a, 512);
  rec_t r;
  memset(&r, 0, sizeof r);
  if (r_out) {
    r.abort_begin_at = r_out->abort_begin_at;
    r.abort_data = r_out->abort_data;
  }
  spk_multipart_parser_t *p = spk_multipart_parser_new(&a, bnd, strlen(bnd), lim, &CB, &r);
  CHECK(p != NULL);
  int rc = 0;
  const char *msg = NULL;
  size_t i = 0, k = 0;
  while (p && i < n && rc == 0) {
    size_t sz = sizes[k] ? sizes[k++] : (k = 0, sizes[k++]);
    if (sz > n - i) sz = n - i;
    char *chunk = malloc(sz ? sz : 1);
    memcpy(chunk, body + i, sz);
    rc = spk_multipart_feed(p, chunk, sz, &msg);
    free(chunk);
    i += sz;
  }
  if (p && rc == 0) rc = spk_multipart_finish(p, &msg);
  if (rc == 1) {
    /* the closing delimiter was seen: the rest is epilogue and finish reports success */
    CHECK_INT(spk_multipart_feed(p, "more", 4, &msg), 1);
    rc = spk_multipart_finish(p, &msg);
  }
  char tail[160];
  snprintf(tail, sizeof tail, "=>%d %s", rc, msg ? msg : "");
  spk__buf_append_str(&r.t, tail);
  spk__buf_append_char(&r.t, '\0');
  if (r.bad_calls) fprintf(stderr, "bad callback sequence for: %.*s\n", (int)n, body);
  CHECK_INT(r.bad_calls, 0);
  if (r_out) *r_out = r;
  spk__arena_free(&a);
  return r.t.data;
}

static const size_t WHOLE[] = {(size_t)-1, 0};
static const size_t BYTE[] = {1, 0};

/* Every single split point, byte-at-a-time, and a few irregular chunkings must all give the
 * transcript of the one-shot parse. */
static void check_splits(const char *body, size_t n, const char *bnd, const spk_multipart_limits_t *lim) {
  char *whole = run(body, n, bnd, lim, WHOLE, NULL);
  int diffs = 0;
  for (size_t k = 0; k <= n; k++) {
    size_t sizes[3] = {k, (size_t)-1, 0};
    if (k == 0) sizes[0] = (size_t)-1;
    char *t = run(body, n, bnd, lim, sizes, NULL);
    if (strcmp(t, whole) != 0) {
      if (!diffs++) fprintf(stderr, "split at %zu:\n  %s\nvs\n  %s\n", k, t, whole);
    }
    free(t);
  }
  CHECK_INT(diffs, 0);
  char *t = run(body, n, bnd, lim, BYTE, NULL);
  CHECK_STR(t, whole);
  free(t);
  static const size_t odd[][5] = {{2, 0}, {3, 0}, {7, 1, 0}, {5, 11, 2, 0}, {13, 0}};
  for (size_t s = 0; s < sizeof odd / sizeof odd[0]; s++) {
    t = run(body, n, bnd, lim, odd[s], NULL);
    CHECK_STR(t, whole);
    free(t);
  }
  free(whole);
}

/* One-shot transcript must equal `expected`, and so must every split. */
static void expect_at(const char *body, size_t n, const char *expected, int line) {
  char *t = run(body, n, BND, NULL, WHOLE, NULL);
  if (strcmp(t, expected) != 0) fprintf(stderr, "line %d:\n", line);
  CHECK_STR(t, expected);
  free(t);
  check_splits(body, n, BND, NULL);
}
#define EXPECT(body, expected) expect_at((body), sizeof(body) - 1, (expected), __LINE__)

/* ---- tests ------------------------------------------------------------------------------- */

static void test_basic(void) {
  EXPECT("--XyZ\r\n"
         "Content-Disposition: form-data; name=\"some\"\r\n"
         "\r\n"
         "data\r\n"
         "--XyZ--\r\n",
         "[some|(none)||Content-Disposition:form-data; name=\"some\"]{data}=>0 ");
  EXPECT("--XyZ\r\n"
         "Content-Disposition: form-data; name=\"test\"; filename=\"test.txt\"\r\n"
         "Content-Type: text/plain\r\n"
         "\r\n"
         "<file content>\r\n"
         "--XyZ\r\n"
         "Content-Disposition: form-data; name=\"username\"\r\n"
         "\r\n"
         "testuser\r\n"
         "--XyZ--",
         "[test|test.txt|text/plain|Content-Disposition:form-data; name=\"test\"; "
         "filename=\"test.txt\"|Content-Type:text/plain]{<file content>}"
         "[username|(none)||Content-Disposition:form-data; name=\"username\"]{testuser}=>0 ");
  /* empty data, empty file, part without any data line */
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n"
         "--XyZ\r\nContent-Disposition: form-data; name=b; filename=\"\"\r\n\r\n\r\n--XyZ--",
         "[a|(none)||Content-Disposition:form-data; name=a]{}"
         "[b|||Content-Disposition:form-data; name=b; filename=\"\"]{}=>0 ");
  /* no parts at all */
  EXPECT("--XyZ--", "=>0 ");
  EXPECT("--XyZ--\r\n", "=>0 ");
}

static void test_preamble_epilogue_padding(void) {
  /* preamble (with CRLFs and things that look like the boundary), then the first delimiter
   * after a CRLF; transport padding after boundaries; epilogue ignored */
  EXPECT("This is the preamble.\r\n-- XyZ\r\n--Xy\r\n\r\n--XyZ \t \r\n"
         "Content-Disposition: form-data; name=\"f\"\r\n\r\n"
         "v\r\n--XyZ\t\r\n"
         "Content-Disposition: form-data; name=\"g\"\r\n\r\n"
         "w\r\n--XyZ--  \r\nepilogue --XyZ\r\n garbage",
         "[f|(none)||Content-Disposition:form-data; name=\"f\"]{v}"
         "[g|(none)||Content-Disposition:form-data; name=\"g\"]{w}=>0 ");
  /* body starting with CRLF before the first delimiter */
  EXPECT("\r\n--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--XyZ--",
         "[a|(none)||Content-Disposition:form-data; name=a]{x}=>0 ");
  /* preamble containing partial delimiters right before the real one */
  EXPECT("\r\r\n\r\n-\r\n--X\r\n--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--XyZ--",
         "[a|(none)||Content-Disposition:form-data; name=a]{x}=>0 ");
}

static void test_binary_data(void) {
  /* CR, LF, CRLF, partial delimiters, the boundary without CRLF, a longer boundary-like
   * string not at a line start, NUL bytes: all are data */
  static const char body[] =
      "--XyZ\r\n"
      "Content-Disposition: form-data; name=\"bin\"; filename=\"b.bin\"\r\n"
      "Content-Type: application/octet-stream\r\n"
      "\r\n"
      "\r\r\n\n\r\n-\r\n--\r\n--X\r\n--Xy--XyZ\x00\xff\r\r\n--Xy\r\n\r\n\r"
      "\r\n--XyZ--";
  static const char expect[] =
      "[bin|b.bin|application/octet-stream|Content-Disposition:form-data; name=\"bin\"; "
      "filename=\"b.bin\"|Content-Type:application/octet-stream]{"
      "\r\r\n\n\r\n-\r\n--\r\n--X\r\n--Xy--XyZ\x00\xff\r\r\n--Xy\r\n\r\n\r"
      "}=>0 ";
  char *t = run(body, sizeof body - 1, BND, NULL, WHOLE, NULL);
  CHECK(memcmp(t, expect, sizeof expect - 1) == 0 && strlen(t + sizeof expect - 1) == 0);
  free(t);
  check_splits(body, sizeof body - 1, BND, NULL);

  /* all 256 byte values, in a part whose data ends with "\r" and "\r\n-" */
  spk__buf_t b = {0};
  spk__buf_append_str(&b, "--" BND "\r\nContent-Disposition: form-data; name=x\r\n\r\n");
  for (int i = 0; i < 256; i++) spk__buf_append_char(&b, (char)i);
  spk__buf_append_str(&b, "\r\n-\r\r\n--" BND "--");
  rec_t r;
  memset(&r, 0, sizeof r);
  char *tt = run(b.data, b.len, BND, NULL, WHOLE, &r);
  CHECK_INT(r.emitted, 256 + 4);
  free(tt);
  check_splits(b.data, b.len, BND, NULL);
  spk__buf_free(&b);
}

static void test_disposition_params(void) {
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=\"a \\\"q\\\" \\\\ b\"; "
         "filename=\"C:\\dir\\f.txt\"\r\n\r\nx\r\n--XyZ--",
         "[a \"q\" \\ b|C:\\dir\\f.txt||Content-Disposition:form-data; name=\"a \\\"q\\\" \\\\ b\"; "
         "filename=\"C:\\dir\\f.txt\"]{x}=>0 ");
  /* case-insensitive names and type, OWS, unknown parameters ignored, ';' inside quotes */
  EXPECT("--XyZ\r\ncontent-disposition:FORM-DATA ;  NAME = \"n;x=1\" ; size=3;FileName=f.txt\r\n"
         "CONTENT-TYPE:  image/png  \r\n\r\nx\r\n--XyZ--",
         "[n;x=1|f.txt|image/png|content-disposition:FORM-DATA ;  NAME = \"n;x=1\" ; "
         "size=3;FileName=f.txt|CONTENT-TYPE:image/png]{x}=>0 ");
  /* RFC 8187 filename* preferred over filename, whichever comes first */
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=f; filename*=UTF-8''na%C3%AFve%20file.txt; "
         "filename=\"naive file.txt\"\r\n\r\nx\r\n--XyZ--",
         "[f|na\xc3\xafve file.txt||Content-Disposition:form-data; name=f; "
         "filename*=UTF-8''na%C3%AFve%20file.txt; filename=\"naive file.txt\"]{x}=>0 ");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=f; filename=\"fallback\"; "
         "filename*=utf-8'en'%E2%82%AC.txt\r\n\r\nx\r\n--XyZ--",
         "[f|\xe2\x82\xac.txt||Content-Disposition:form-data; name=f; filename=\"fallback\"; "
         "filename*=utf-8'en'%E2%82%AC.txt]{x}=>0 ");
  /* unusable filename* (other charset, bad escape, invalid UTF-8): filename= is used */
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=f; filename*=ISO-8859-1''%E9.txt; "
         "filename=\"e.txt\"\r\n\r\nx\r\n--XyZ--",
         "[f|e.txt||Content-Disposition:form-data; name=f; filename*=ISO-8859-1''%E9.txt; "
         "filename=\"e.txt\"]{x}=>0 ");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=f; filename*=UTF-8''%FF; "
         "filename=\"e.txt\"\r\n\r\nx\r\n--XyZ--",
         "[f|e.txt||Content-Disposition:form-data; name=f; filename*=UTF-8''%FF; "
         "filename=\"e.txt\"]{x}=>0 ");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=f; filename*=UTF-8''%G1\r\n\r\nx\r\n--XyZ--",
         "[f|(none)||Content-Disposition:form-data; name=f; filename*=UTF-8''%G1]{x}=>0 ");
  /* raw UTF-8 in quoted strings (what browsers send) */
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=\"caf\xc3\xa9\"; filename=\"\xe2\x98\x95.txt\"\r\n"
         "\r\nx\r\n--XyZ--",
         "[caf\xc3\xa9|\xe2\x98\x95.txt||Content-Disposition:form-data; name=\"caf\xc3\xa9\"; "
         "filename=\"\xe2\x98\x95.txt\"]{x}=>0 ");
  /* empty name is a name; trailing ';' is fine */
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=\"\";\r\n\r\nx\r\n--XyZ--",
         "[|(none)||Content-Disposition:form-data; name=\"\";]{x}=>0 ");
}

static void test_headers(void) {
  /* custom headers are reported in order (multipart/05), folded lines are unfolded */
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=\"test2\"; filename=\"test2.txt\"\r\n"
         "Content-Type: text/plain\r\nx-custom: f2\r\nX-Long: a\r\n  b\r\n\r\n"
         "<file2 content>\r\n--XyZ--",
         "[test2|test2.txt|text/plain|Content-Disposition:form-data; name=\"test2\"; "
         "filename=\"test2.txt\"|Content-Type:text/plain|x-custom:f2|X-Long:a    b]"
         "{<file2 content>}=>0 ");
  /* a header value with an empty value */
  EXPECT("--XyZ\r\nX-Empty:\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--XyZ--",
         "[a|(none)||X-Empty:|Content-Disposition:form-data; name=a]{x}=>0 ");
  /* large header values grow the buffer and it is reused by the next part */
  spk__buf_t b = {0};
  spk__buf_append_str(&b, "--" BND "\r\nContent-Disposition: form-data; name=big; filename=\"");
  for (int i = 0; i < 5000; i++) spk__buf_append_char(&b, (char)('a' + i % 26));
  spk__buf_append_str(&b, "\"\r\n\r\n1\r\n--" BND "\r\nContent-Disposition: form-data; name=small\r\n\r\n2\r\n--" BND "--");
  spk__arena_t a;
  spk__arena_init(&a, 256);
  spk_multipart_part_t *parts = NULL;
  size_t count = 0;
  const char *msg = NULL;
  CHECK_INT(spk_multipart_parse(&a, b.data, b.len, BND, 3, NULL, &parts, &count, &msg), 0);
  CHECK_INT(count, 2);
  if (count == 2) {
    CHECK_INT(parts[0].info.filename.len, 5000);
    CHECK(parts[0].info.filename.ptr[4999] == (char)('a' + 4999 % 26));
    CHECK_MEM(parts[1].info.name.ptr, parts[1].info.name.len, "small");
    CHECK(parts[1].info.filename.ptr == NULL);
  }
  spk__arena_free(&a);
  spk__buf_free(&b);
}

static void test_malformed(void) {
  /* missing closing boundary, in every state */
  EXPECT("", "=>-7 missing opening boundary");
  EXPECT("just text, no boundary", "=>-7 missing opening boundary");
  EXPECT("--XyZ", "=>-7 unexpected end of data");
  EXPECT("--XyZ\r\n", "=>-7 unexpected end of data");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=a\r\n", "=>-7 unexpected end of data");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\ndata",
         "[a|(none)||Content-Disposition:form-data; name=a]{data=>-7 unexpected end of data");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\ndata\r\n--XyZ",
         "[a|(none)||Content-Disposition:form-data; name=a]{data}=>-7 unexpected end of data");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\ndata\r\n--XyZ-",
         "[a|(none)||Content-Disposition:form-data; name=a]{data}=>-7 unexpected end of data");
  /* the boundary inside data without a preceding CRLF is data, so the part never ends */
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\ndata--XyZ--",
         "[a|(none)||Content-Disposition:form-data; name=a]{data--XyZ--=>-7 unexpected end of data");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\ndata\n--XyZ--",
         "[a|(none)||Content-Disposition:form-data; name=a]{data\n--XyZ--=>-7 unexpected end of data");
  /* junk after a boundary (a longer boundary is not ours) */
  EXPECT("--XyZW\r\n", "=>-7 unexpected data after boundary");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nd\r\n--XyZW\r\n",
         "[a|(none)||Content-Disposition:form-data; name=a]{d}=>-7 unexpected data after boundary");
  EXPECT("--XyZ \tx\r\n", "=>-7 unexpected data after boundary");
  EXPECT("--XyZ\rx", "=>-7 unexpected data after boundary");
  EXPECT("--XyZ\n", "=>-7 unexpected data after boundary"); /* bare LF */
  EXPECT("--XyZ-x", "=>-7 unexpected data after boundary");
  /* header block problems */
  EXPECT("--XyZ\r\n\r\nx\r\n--XyZ--", "=>-7 missing Content-Disposition");
  EXPECT("--XyZ\r\nContent-Type: text/plain\r\n\r\nx\r\n--XyZ--", "=>-7 missing Content-Disposition");
  EXPECT("--XyZ\r\nContent-Disposition: form-data\r\n\r\nx\r\n--XyZ--",
         "=>-7 missing name in Content-Disposition");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; filename=\"a.txt\"\r\n\r\nx\r\n--XyZ--",
         "=>-7 missing name in Content-Disposition");
  EXPECT("--XyZ\r\nContent-Disposition: attachment; name=a\r\n\r\nx\r\n--XyZ--",
         "=>-7 Content-Disposition is not form-data");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=\"a\r\n\r\nx\r\n--XyZ--",
         "=>-7 unterminated quoted string in Content-Disposition");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=a; name=b\r\n\r\nx\r\n--XyZ--",
         "=>-7 duplicate name in Content-Disposition");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=a; filename=x; filename=y\r\n\r\nx\r\n--XyZ--",
         "=>-7 duplicate filename in Content-Disposition");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=a\r\nContent-Disposition: form-data; name=b\r\n"
         "\r\nx\r\n--XyZ--",
         "=>-7 duplicate Content-Disposition");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=a\r\nContent-Type: a/b\r\ncontent-type: c/d\r\n"
         "\r\nx\r\n--XyZ--",
         "=>-7 duplicate Content-Type");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name\r\n\r\nx\r\n--XyZ--",
         "=>-7 malformed Content-Disposition");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=\r\n\r\nx\r\n--XyZ--",
         "=>-7 malformed Content-Disposition");
  EXPECT("--XyZ\r\nContent-Disposition: form-data name=a\r\n\r\nx\r\n--XyZ--",
         "=>-7 malformed Content-Disposition");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=\"a\"b\r\n\r\nx\r\n--XyZ--",
         "=>-7 malformed Content-Disposition");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=a\"b\"\r\n\r\nx\r\n--XyZ--",
         "=>-7 malformed Content-Disposition");
  EXPECT("--XyZ\r\nNo colon here\r\n\r\nx\r\n--XyZ--", "=>-7 invalid part header");
  EXPECT("--XyZ\r\n: empty name\r\n\r\nx\r\n--XyZ--", "=>-7 invalid part header");
  EXPECT("--XyZ\r\nBad Name: v\r\n\r\nx\r\n--XyZ--", "=>-7 invalid part header");
  EXPECT("--XyZ\r\nName : v\r\n\r\nx\r\n--XyZ--", "=>-7 invalid part header");
  EXPECT("--XyZ\r\n folded-first: v\r\n\r\nx\r\n--XyZ--", "=>-7 invalid part header");
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=a\nX: y\r\n\r\nx\r\n--XyZ--",
         "=>-7 invalid part header"); /* bare LF */
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=a\rX: y\r\n\r\nx\r\n--XyZ--",
         "=>-7 invalid part header"); /* bare CR */
  EXPECT("--XyZ\r\nX: a\x01" "b\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--XyZ--",
         "=>-7 invalid part header");
  /* an error stops everything: the second part is never reported */
  EXPECT("--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--XyZ\r\n"
         "Content-Disposition: form-data\r\n\r\ny\r\n--XyZ\r\n"
         "Content-Disposition: form-data; name=c\r\n\r\nz\r\n--XyZ--",
         "[a|(none)||Content-Disposition:form-data; name=a]{x}=>-7 missing name in Content-Disposition");
}

static void test_limits(void) {
  /* huge headers */
  spk__buf_t b = {0};
  spk__buf_append_str(&b, "--" BND "\r\nContent-Disposition: form-data; name=a\r\nX-Big: ");
  for (int i = 0; i < 20000; i++) spk__buf_append_char(&b, 'h');
  spk__buf_append_str(&b, "\r\n\r\nx\r\n--" BND "--");
  char *t = run(b.data, b.len, BND, NULL, WHOLE, NULL);
  CHECK_STR(t, "=>-17 part headers too large");
  free(t);
  t = run(b.data, b.len, BND, NULL, BYTE, NULL);
  CHECK_STR(t, "=>-17 part headers too large");
  free(t);
  /* exactly at the limit passes, one more byte fails */
  static const char hdr[] = "Content-Disposition: form-data; name=a\r\n\r\n";
  static const char body[] = "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--XyZ--";
  spk_multipart_limits_t lim = {0, sizeof hdr - 1, 0};
  t = run(body, sizeof body - 1, BND, &lim, WHOLE, NULL);
  CHECK_STR(t, "[a|(none)||Content-Disposition:form-data; name=a]{x}=>0 ");
  free(t);
  lim.max_part_headers = sizeof hdr - 2;
  t = run(body, sizeof body - 1, BND, &lim, WHOLE, NULL);
  CHECK_STR(t, "=>-17 part headers too large");
  free(t);
  check_splits(body, sizeof body - 1, BND, &lim);
  spk__buf_free(&b);

  /* too many parts */
  for (int i = 0; i < 4; i++)
    spk__buf_append_str(&b, "--" BND "\r\nContent-Disposition: form-data; name=p\r\n\r\nv\r\n");
  spk__buf_append_str(&b, "--" BND "--");
  spk_multipart_limits_t three = {3, 0, 0};
  t = run(b.data, b.len, BND, &three, WHOLE, NULL);
  CHECK(strstr(t, "=>-17 too many parts") != NULL);
  free(t);
  spk_multipart_limits_t four = {4, 0, 0};
  t = run(b.data, b.len, BND, &four, WHOLE, NULL);
  CHECK(strstr(t, "=>0 ") != NULL);
  free(t);
  check_splits(b.data, b.len, BND, &three);
  spk__buf_free(&b);
}

static void test_boundary_validation(void) {
  spk__arena_t a;
  spk__arena_init(&a, 256);
  CHECK(spk_multipart_parser_new(&a, "", 0, NULL, &CB, NULL) == NULL);
  CHECK(spk_multipart_parser_new(&a, NULL, 3, NULL, &CB, NULL) == NULL);
  CHECK(spk_multipart_parser_new(&a, "ab ", 3, NULL, &CB, NULL) == NULL);  /* trailing space */
  CHECK(spk_multipart_parser_new(&a, "a\rb", 3, NULL, &CB, NULL) == NULL);
  CHECK(spk_multipart_parser_new(&a, "a\"b", 3, NULL, &CB, NULL) == NULL);
  CHECK(spk_multipart_parser_new(&a, "a;b", 3, NULL, &CB, NULL) == NULL);
  CHECK(spk_multipart_parser_new(&a, "a\xc3\xa9", 3, NULL, &CB, NULL) == NULL);
  CHECK(spk_multipart_parser_new(NULL, "abc", 3, NULL, &CB, NULL) == NULL);
  CHECK(spk_multipart_parser_new(&a, "a b'()+_,-./:=?Z9", 17, NULL, &CB, NULL) != NULL);
  CHECK(spk_multipart_parser_new(&a, "abc", 3, NULL, NULL, NULL) != NULL); /* no callbacks */
  char longb[201];
  memset(longb, 'b', sizeof longb);
  CHECK(spk_multipart_parser_new(&a, longb, 200, NULL, &CB, NULL) != NULL);
  CHECK(spk_multipart_parser_new(&a, longb, 201, NULL, &CB, NULL) == NULL);
  spk_multipart_limits_t lim = {0, 0, 70};
  CHECK(spk_multipart_parser_new(&a, longb, 70, &lim, &CB, NULL) != NULL);
  CHECK(spk_multipart_parser_new(&a, longb, 71, &lim, &CB, NULL) == NULL);
  spk_multipart_part_t *parts = NULL;
  size_t count = 7;
  const char *msg = NULL;
  CHECK_INT(spk_multipart_parse(&a, "--a--", 5, "a;", 2, NULL, &parts, &count, &msg), SPK_EINVAL);
  CHECK_STR(msg, "invalid boundary");
  CHECK_INT(count, 0);
  spk__arena_free(&a);

  /* a boundary with spaces and specials works end to end */
  static const char body[] = "--a b'()+_,-./:=?Z\r\nContent-Disposition: form-data; name=x\r\n\r\n"
                             "1\r\n--a b'()+_,-./:=?Z--";
  char *t = run(body, sizeof body - 1, "a b'()+_,-./:=?Z", NULL, WHOLE, NULL);
  CHECK_STR(t, "[x|(none)||Content-Disposition:form-data; name=x]{1}=>0 ");
  free(t);
  check_splits(body, sizeof body - 1, "a b'()+_,-./:=?Z", NULL);
  /* a one-character boundary */
  static const char b1[] = "--q\r\nContent-Disposition: form-data; name=x\r\n\r\n-\r\n-q\r\n--\r\n--q--";
  t = run(b1, sizeof b1 - 1, "q", NULL, WHOLE, NULL);
  CHECK_STR(t, "[x|(none)||Content-Disposition:form-data; name=x]{-\r\n-q\r\n--}=>0 ");
  free(t);
  check_splits(b1, sizeof b1 - 1, "q", NULL);
}

static void test_callbacks_and_state(void) {
  static const char body[] = "--XyZ\r\nContent-Disposition: form-data; name=a\r\n\r\nx\r\n--XyZ\r\n"
                             "Content-Disposition: form-data; name=b\r\n\r\ny\r\n--XyZ--";
  rec_t r;
  memset(&r, 0, sizeof r);
  r.abort_begin_at = 2;
  char *t = run(body, sizeof body - 1, BND, NULL, WHOLE, &r);
  CHECK_STR(t, "[a|(none)||Content-Disposition:form-data; name=a]{x}=>-17 aborted by callback");
  free(t);
  memset(&r, 0, sizeof r);
  r.abort_data = 1;
  t = run(body, sizeof body - 1, BND, NULL, BYTE, &r);
  CHECK_STR(t, "[a|(none)||Content-Disposition:form-data; name=a]{=>-12 aborted by callback");
  free(t);

  /* errors are sticky; success after the close delimiter is sticky too */
  spk__arena_t a;
  spk__arena_init(&a, 256);
  const char *msg = NULL;
  spk_multipart_parser_t *p = spk_multipart_parser_new(&a, BND, 3, NULL, NULL, NULL);
  CHECK_INT(spk_multipart_feed(p, "--XyZ?", 6, &msg), SPK_EPROTO);
  CHECK_STR(msg, "unexpected data after boundary");
  msg = NULL;
  CHECK_INT(spk_multipart_feed(p, "\r\n", 2, &msg), SPK_EPROTO);
  CHECK_STR(msg, "unexpected data after boundary");
  CHECK_INT(spk_multipart_finish(p, &msg), SPK_EPROTO);
  CHECK_STR(msg, "unexpected data after boundary");

  p = spk_multipart_parser_new(&a, BND, 3, NULL, NULL, NULL);
  CHECK_INT(spk_multipart_feed(p, NULL, 0, &msg), 0);
  CHECK(msg == NULL);
  CHECK_INT(spk_multipart_feed(p, "--XyZ-", 6, &msg), 0);
  CHECK_INT(spk_multipart_feed(p, "-trailing", 9, &msg), 1);
  CHECK_INT(spk_multipart_feed(p, "anything", 8, &msg), 1);
  CHECK_INT(spk_multipart_feed(p, NULL, 0, &msg), 1);
  CHECK_INT(spk_multipart_finish(p, &msg), 0);
  CHECK_INT(spk_multipart_finish(p, NULL), 0);
  CHECK_INT(spk_multipart_feed(NULL, "x", 1, &msg), SPK_EINVAL);
  CHECK_INT(spk_multipart_finish(NULL, &msg), SPK_EINVAL);
  p = spk_multipart_parser_new(&a, BND, 3, NULL, NULL, NULL);
  CHECK_INT(spk_multipart_feed(p, NULL, 3, &msg), SPK_EINVAL);
  spk__arena_free(&a);
}

/* Data must stream: after each chunk, everything but a possible partial delimiter (less than
 * the delimiter's length) has been reported. */
static void test_streaming(void) {
  spk__buf_t b = {0};
  spk__buf_append_str(&b, "--" BND "\r\nContent-Disposition: form-data; name=f; filename=big\r\n\r\n");
  size_t head = b.len;
  /* 200 KB of data that keeps producing partial delimiters */
  static const char pieces[][8] = {"abcdefg", "\r\n--Xy", "\r", "\r\n", "\r\n-", "z\r\n--X"};
  size_t data_len = 0;
  for (int i = 0; data_len < 200000; i++) {
    const char *s = pieces[(i * 7 + i / 3) % 6];
    spk__buf_append_str(&b, s);
    data_len += strlen(s);
  }
  size_t data_end = b.len;
  spk__buf_append_str(&b, "\r\n--" BND "--\r\n");

  spk__arena_t a;
  spk__arena_init(&a, 256);
  rec_t r;
  memset(&r, 0, sizeof r);
  spk_multipart_parser_t *p = spk_multipart_parser_new(&a, BND, 3, NULL, &CB, &r);
  const size_t delim_len = 4 + 3;
  int streamed = 1;
  for (size_t i = 0; i < b.len;) {
    size_t sz = 997;
    if (sz > b.len - i) sz = b.len - i;
    int rc = spk_multipart_feed(p, b.data + i, sz, NULL);
    i += sz;
    if (rc < 0) {
      streamed = 0;
      break;
    }
    if (i > head && i <= data_end) {
      size_t fed = i - head;
      if (r.emitted > fed || fed - r.emitted >= delim_len) streamed = 0;
    }
  }
  CHECK(streamed);
  CHECK_INT(spk_multipart_finish(p, NULL), 0);
  CHECK_INT(r.emitted, data_len);
  spk__buf_free(&r.t);
  spk__arena_free(&a);

  /* the collecting parser agrees */
  spk__arena_init(&a, 256);
  spk_multipart_part_t *parts = NULL;
  size_t count = 0;
  CHECK_INT(spk_multipart_parse(&a, b.data, b.len, BND, 3, NULL, &parts, &count, NULL), 0);
  CHECK_INT(count, 1);
  if (count == 1) {
    CHECK_INT(parts[0].data.len, data_len);
    CHECK(memcmp(parts[0].data.ptr, b.data + head, data_len) == 0);
    CHECK(parts[0].data.ptr[data_len] == '\0');
  }
  spk__arena_free(&a);
  spk__buf_free(&b);
}

static void test_parse_whole(void) {
  static const char body[] =
      "preamble\r\n--XyZ\r\n"
      "Content-Disposition: form-data; name=\"file\"; filename=\"upload.txt\"\r\n"
      "Content-Type: text/plain\r\n\r\n"
      "file data here\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"username\"\r\n\r\ntestuser\r\n"
      "--XyZ\r\nContent-Disposition: form-data; name=\"empty\"\r\n\r\n\r\n"
      "--XyZ--\r\n";
  spk__arena_t a;
  spk__arena_init(&a, 64);
  spk_multipart_part_t *parts = NULL;
  size_t count = 0;
  const char *msg = "junk";
  CHECK_INT(spk_multipart_parse(&a, body, sizeof body - 1, BND, 3, NULL, &parts, &count, &msg), 0);
  CHECK(msg == NULL);
  CHECK_INT(count, 3);
  if (count == 3) {
    CHECK_STR(parts[0].info.name.ptr, "file");
    CHECK_STR(parts[0].info.filename.ptr, "upload.txt");
    CHECK_STR(parts[0].info.content_type.ptr, "text/plain");
    CHECK_INT(parts[0].info.header_count, 2);
    CHECK_STR(parts[0].info.headers[1].name.ptr, "Content-Type");
    CHECK_STR(parts[0].data.ptr, "file data here");
    CHECK_INT(parts[0].data.len, 14);
    CHECK_STR(parts[1].info.name.ptr, "username");
    CHECK(parts[1].info.filename.ptr == NULL);
    CHECK_INT(parts[1].info.content_type.len, 0);
    CHECK_STR(parts[1].data.ptr, "testuser");
    CHECK_STR(parts[2].data.ptr, "");
    CHECK_INT(parts[2].data.len, 0);
  }
  /* errors: message and no parts */
  CHECK_INT(spk_multipart_parse(&a, body, sizeof body - 12, BND, 3, NULL, &parts, &count, &msg),
            SPK_EPROTO);
  CHECK_STR(msg, "unexpected end of data");
  CHECK_INT(count, 0);
  CHECK(parts == NULL);
  CHECK_INT(spk_multipart_parse(&a, NULL, 0, BND, 3, NULL, &parts, &count, &msg), SPK_EPROTO);
  CHECK_STR(msg, "missing opening boundary");
  CHECK_INT(spk_multipart_parse(NULL, body, 3, BND, 3, NULL, &parts, &count, &msg), SPK_EINVAL);
  /* many parts: the part array grows */
  spk__buf_t b = {0};
  for (int i = 0; i < 1000; i++) {
    char tmp[96];
    snprintf(tmp, sizeof tmp, "--XyZ\r\nContent-Disposition: form-data; name=\"f%d\"\r\n\r\n%d\r\n", i, i);
    spk__buf_append_str(&b, tmp);
  }
  spk__buf_append_str(&b, "--XyZ--");
  CHECK_INT(spk_multipart_parse(&a, b.data, b.len, BND, 3, NULL, &parts, &count, &msg), 0);
  CHECK_INT(count, 1000);
  if (count == 1000) {
    CHECK_STR(parts[999].info.name.ptr, "f999");
    CHECK_STR(parts[999].data.ptr, "999");
    CHECK_STR(parts[0].data.ptr, "0");
  }
  spk__buf_free(&b);
  spk__arena_free(&a);
}

/* ---- fixtures: build bodies from the multipart fixtures' files/data ------------------------ */

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  spk__buf_t b = {0};
  char tmp[4096];
  size_t n;
  while ((n = fread(tmp, 1, sizeof tmp, f)) > 0) spk__buf_append(&b, tmp, n);
  fclose(f);
  spk__buf_append_char(&b, '\0');
  *len = b.len - 1;
  return b.data;
}

typedef struct want {
  const char *name, *filename, *ct;
  spk__buf_t data;
} want_t;

static const char *str_or_null(spk_json_value_t *v) {
  return v && v->type == SPK_JSON_STRING ? v->u.string.ptr : NULL;
}

static int fixtures_run;

static void run_fixture(const char *path) {
  size_t len;
  char *text = read_file(path, &len);
  if (!text) return;
  spk__arena_t a;
  spk__arena_init(&a, 4096);
  spk_json_value_t *fx = NULL;
  want_t want[32];
  size_t nw = 0;
  spk__buf_t body = {0};
  if (spk_json_parse(&a, text, len, NULL, &fx, NULL) != 0) goto done;
  spk_json_value_t *req = spk_json_get(fx, "request", 7);
  if (!req) goto done;
  spk_json_value_t *files = spk_json_get(req, "files", 5);
  spk_json_value_t *data = spk_json_get(req, "data", 4);
  if (!(files && files->type == SPK_JSON_ARRAY) && !(data && data->type == SPK_JSON_OBJECT)) goto done;
  const char *bnd = "----spikardFixtureBoundary7MA4YWxkTrZu0gW";
  spk_json_value_t *exp_headers = NULL;
  if (files && files->type == SPK_JSON_ARRAY)
    for (size_t i = 0; i < files->u.array.len && nw < 32; i++) {
      spk_json_value_t *f = files->u.array.items[i];
      want_t *w = &want[nw++];
      memset(w, 0, sizeof *w);
      w->name = str_or_null(spk_json_get(f, "field_name", 10));
      w->filename = str_or_null(spk_json_get(f, "filename", 8));
      w->ct = str_or_null(spk_json_get(f, "content_type", 12));
      const char *content = str_or_null(spk_json_get(f, "content", 7));
      const char *magic = str_or_null(spk_json_get(f, "magic_bytes", 11));
      if (content) spk__buf_append_str(&w->data, content);
      else if (magic)
        for (size_t k = 0; magic[k] && magic[k + 1]; k += 2)
          spk__buf_append_char(&w->data, (char)(hexval(magic[k]) * 16 + hexval(magic[k + 1])));
      spk__buf_append_str(&body, "--");
      spk__buf_append_str(&body, bnd);
      spk__buf_append_str(&body, "\r\nContent-Disposition: form-data; name=\"");
      spk__buf_append_str(&body, w->name ? w->name : "");
      spk__buf_append_char(&body, '"');
      if (w->filename) {
        spk__buf_append_str(&body, "; filename=\"");
        spk__buf_append_str(&body, w->filename);
        spk__buf_append_char(&body, '"');
      }
      spk__buf_append_str(&body, "\r\n");
      if (w->ct) {
        spk__buf_append_str(&body, "Content-Type: ");
        spk__buf_append_str(&body, w->ct);
        spk__buf_append_str(&body, "\r\n");
      }
      spk_json_value_t *hs = spk_json_get(f, "headers", 7);
      if (hs && hs->type == SPK_JSON_OBJECT) {
        for (size_t k = 0; k < hs->u.object.len; k++) {
          spk__buf_append(&body, hs->u.object.members[k].key.ptr, hs->u.object.members[k].key.len);
          spk__buf_append_str(&body, ": ");
          spk__buf_append_str(&body, str_or_null(hs->u.object.members[k].value));
          spk__buf_append_str(&body, "\r\n");
        }
        /* multipart/05: the handler echoes the part's headers */
        spk_json_value_t *exp = spk_json_get(fx, "expected_response", 17);
        spk_json_value_t *eb = exp ? spk_json_get(exp, "body", 4) : NULL;
        spk_json_value_t *ef = eb && w->name ? spk_json_get(eb, w->name, strlen(w->name)) : NULL;
        exp_headers = ef ? spk_json_get(ef, "headers", 7) : NULL;
      }
      spk__buf_append_str(&body, "\r\n");
      spk__buf_append(&body, w->data.data ? w->data.data : "", w->data.len);
      spk__buf_append_str(&body, "\r\n");
    }
  if (data && data->type == SPK_JSON_OBJECT)
    for (size_t i = 0; i < data->u.object.len && nw < 32; i++) {
      spk_json_member_t *m = &data->u.object.members[i];
      size_t nv = m->value->type == SPK_JSON_ARRAY ? m->value->u.array.len : 1;
      for (size_t k = 0; k < nv && nw < 32; k++) {
        spk_json_value_t *item = m->value->type == SPK_JSON_ARRAY ? m->value->u.array.items[k] : m->value;
        want_t *w = &want[nw++];
        memset(w, 0, sizeof *w);
        w->name = m->key.ptr;
        spk__buf_append_str(&w->data, str_or_null(item) ? str_or_null(item) : "");
        spk__buf_append_str(&body, "--");
        spk__buf_append_str(&body, bnd);
        spk__buf_append_str(&body, "\r\nContent-Disposition: form-data; name=\"");
        spk__buf_append_str(&body, w->name);
        spk__buf_append_str(&body, "\"\r\n\r\n");
        spk__buf_append(&body, w->data.data ? w->data.data : "", w->data.len);
        spk__buf_append_str(&body, "\r\n");
      }
    }
  spk__buf_append_str(&body, "--");
  spk__buf_append_str(&body, bnd);
  spk__buf_append_str(&body, "--\r\n");
  fixtures_run++;

  spk_multipart_part_t *parts = NULL;
  size_t count = 0;
  const char *msg = NULL;
  int rc = spk_multipart_parse(&a, body.data, body.len, bnd, strlen(bnd), NULL, &parts, &count, &msg);
  if (rc) fprintf(stderr, "fixture %s: %d %s\n", path, rc, msg ? msg : "");
  CHECK_INT(rc, 0);
  CHECK_INT(count, nw);
  for (size_t i = 0; rc == 0 && i < count && i < nw; i++) {
    CHECK_STR(parts[i].info.name.ptr, want[i].name ? want[i].name : "");
    if (want[i].filename) CHECK_STR(parts[i].info.filename.ptr, want[i].filename);
    else CHECK(parts[i].info.filename.ptr == NULL);
    if (want[i].ct) CHECK_STR(parts[i].info.content_type.ptr, want[i].ct);
    else CHECK_INT(parts[i].info.content_type.len, 0);
    CHECK_INT(parts[i].data.len, want[i].data.len);
    CHECK(parts[i].data.len == want[i].data.len &&
          (want[i].data.len == 0 || memcmp(parts[i].data.ptr, want[i].data.data, want[i].data.len) == 0));
  }
  if (rc == 0 && exp_headers && exp_headers->type == SPK_JSON_ARRAY && count == 1) {
    CHECK_INT(parts[0].info.header_count, exp_headers->u.array.len);
    for (size_t k = 0; k < exp_headers->u.array.len && k < parts[0].info.header_count; k++) {
      spk_json_value_t *pair = exp_headers->u.array.items[k];
      const spk_multipart_header_t *h = &parts[0].info.headers[k];
      char lower[64];
      size_t n = h->name.len < sizeof lower - 1 ? h->name.len : sizeof lower - 1;
      for (size_t c = 0; c < n; c++)
        lower[c] = (char)(h->name.ptr[c] >= 'A' && h->name.ptr[c] <= 'Z' ? h->name.ptr[c] + 32 : h->name.ptr[c]);
      lower[n] = '\0';
      CHECK_STR(lower, str_or_null(pair->u.array.items[0]));
      CHECK_STR(h->value.ptr, str_or_null(pair->u.array.items[1]));
    }
  }
  /* every fixture body also parses identically in any split */
  check_splits(body.data, body.len, bnd, NULL);
done:
  for (size_t i = 0; i < nw; i++) spk__buf_free(&want[i].data);
  spk__buf_free(&body);
  spk__arena_free(&a);
  free(text);
}

static void test_fixtures(void) {
  const char *shared = getenv("SPK_SHARED_DIR");
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/spikard-fixtures/testing_data/multipart", shared ? shared : "../shared");
  DIR *d = opendir(dir);
  if (!d) {
    printf("multipart fixtures not found under %s: skipped\n", dir);
    return;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t n = strlen(e->d_name);
    if (n < 6 || strcmp(e->d_name + n - 5, ".json") != 0 || strcmp(e->d_name, "schema.json") == 0)
      continue;
    char path[2048];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    run_fixture(path);
  }
  closedir(d);
  printf("multipart fixtures replayed: %d\n", fixtures_run);
  CHECK(fixtures_run >= 10);
}

int main(void) {
  RUN(test_basic);
  RUN(test_preamble_epilogue_padding);
  RUN(test_binary_data);
  RUN(test_disposition_params);
  RUN(test_headers);
  RUN(test_malformed);
  RUN(test_limits);
  RUN(test_boundary_validation);
  RUN(test_callbacks_and_state);
  RUN(test_streaming);
  RUN(test_parse_whole);
  RUN(test_fixtures);
  return test_report("multipart");
}
