/* proto/form: application/x-www-form-urlencoded → JSON DOM. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/form.h"
#include "proto/json.h"
#include "spikard/common.h"
#include "test.h"
#include "util/arena.h"
#include "util/buf.h"

/* Parse `body` and compare the compact JSON serialization with `expected`. */
static void expect_form_at(const char *body, size_t len, const char *expected, int line) {
  spk__arena_t a;
  spk__arena_init(&a, 256);
  spk_json_value_t *v = NULL;
  char err[256] = "";
  int rc = spk_form_parse(&a, body, len, NULL, &v, err, sizeof err);
  if (rc != 0) fprintf(stderr, "line %d: form parse failed (%d): %s\n", line, rc, err);
  CHECK_INT(rc, 0);
  if (rc == 0) {
    spk__buf_t out = {0};
    CHECK_INT(spk_json_write(&out, v, 0), 0);
    if (out.len != strlen(expected) || memcmp(out.data, expected, out.len) != 0)
      fprintf(stderr, "line %d: body %.*s\n", line, (int)len, body);
    CHECK_MEM(out.data, out.len, expected);
    spk__buf_free(&out);
  }
  spk__arena_free(&a);
}
#define expect_form(body, expected) expect_form_at((body), strlen(body), (expected), __LINE__)

/* Parse `body` expecting error `code`; `msg` (when not NULL) must equal the error text. */
static void expect_error_at(const char *body, const spk_form_limits_t *lim, int code,
                            const char *msg, int line) {
  spk__arena_t a;
  spk__arena_init(&a, 256);
  spk_json_value_t *v = (spk_json_value_t *)&a; /* must be reset to NULL */
  char err[256] = "junk";
  int rc = spk_form_parse(&a, body, strlen(body), lim, &v, err, sizeof err);
  if (rc != code) fprintf(stderr, "line %d: body %s → %d (%s)\n", line, body, rc, err);
  CHECK_INT(rc, code);
  CHECK(v == NULL);
  CHECK(err[0] != '\0');
  if (msg) CHECK_STR(err, msg);
  spk__arena_free(&a);
}
#define expect_error(body, code, msg) expect_error_at((body), NULL, (code), (msg), __LINE__)

static void test_flat(void) {
  expect_form("", "{}");
  expect_form("a=1", "{\"a\":\"1\"}");
  expect_form("a=1&b=&a=2", "{\"a\":[\"1\",\"2\"],\"b\":\"\"}"); /* header example */
  expect_form("b=1&a=2&c=3", "{\"b\":\"1\",\"a\":\"2\",\"c\":\"3\"}"); /* order kept */
  expect_form("a=1&a=2&a=3&b=x&a=4", "{\"a\":[\"1\",\"2\",\"3\",\"4\"],\"b\":\"x\"}");
  expect_form("flag", "{\"flag\":\"\"}");                       /* no '=' */
  expect_form("flag&x=1", "{\"flag\":\"\",\"x\":\"1\"}");
  expect_form("a=", "{\"a\":\"\"}");
  expect_form("&&a=1&&b=2&", "{\"a\":\"1\",\"b\":\"2\"}");     /* empty pairs skipped */
  expect_form("&", "{}");
  expect_form("=x", "{\"\":\"x\"}");                            /* empty name kept */
  expect_form("a==b=c", "{\"a\":\"=b=c\"}");                    /* value keeps later '=' */
}

static void test_decoding(void) {
  expect_form("name=John+Doe&description=Test+%26+Development",
              "{\"name\":\"John Doe\",\"description\":\"Test & Development\"}");
  expect_form("a+b=c+d", "{\"a b\":\"c d\"}");
  expect_form("email=x%40test.com&q=%26%40A.ac", "{\"email\":\"x@test.com\",\"q\":\"&@A.ac\"}");
  expect_form("name=caf%C3%A9", "{\"name\":\"café\"}");
  expect_form("name=caf\xc3\xa9", "{\"name\":\"café\"}");       /* raw UTF-8 */
  expect_form("e=%F0%9F%98%80", "{\"e\":\"\xf0\x9f\x98\x80\"}"); /* emoji */
  expect_form("p=%2B1&s=%20", "{\"p\":\"+1\",\"s\":\" \"}");
  /* invalid escapes are kept literally */
  expect_form("a=%zz&b=100%&c=%4&d=%%41", "{\"a\":\"%zz\",\"b\":\"100%\",\"c\":\"%4\",\"d\":\"%A\"}");
  expect_form("k%3Dv=1", "{\"k=v\":\"1\"}");          /* encoded '=' inside the key */
  expect_form("k=a%26b", "{\"k\":\"a&b\"}");          /* encoded '&' inside a value */
  /* U+0000 is a valid string character (length-delimited) */
  {
    spk__arena_t a;
    spk__arena_init(&a, 256);
    spk_json_value_t *v = NULL;
    CHECK_INT(spk_form_parse(&a, "z=a%00b", 7, NULL, &v, NULL, 0), 0);
    spk_json_value_t *z = v ? spk_json_get(v, "z", 1) : NULL;
    CHECK(z && z->type == SPK_JSON_STRING && z->u.string.len == 3 && z->u.string.ptr[1] == '\0');
    spk__arena_free(&a);
  }
  /* invalid UTF-8 after decoding */
  expect_error("a=%FF", SPK_EPROTO, "invalid UTF-8 in the value of 'a'");
  expect_error("a=%C0%80", SPK_EPROTO, NULL);            /* overlong */
  expect_error("a=%ED%A0%80", SPK_EPROTO, NULL);         /* surrogate */
  expect_error("a=%F4%90%80%80", SPK_EPROTO, NULL);      /* > U+10FFFF */
  expect_error("a=%E2%82", SPK_EPROTO, NULL);            /* truncated */
  expect_error("a=\xff", SPK_EPROTO, NULL);              /* raw invalid byte */
  expect_error("%C3=1", SPK_EPROTO, "invalid UTF-8 in a key");
}

static void test_brackets(void) {
  expect_form("tags[]=python&tags[]=rust&tags[]=typescript",
              "{\"tags\":[\"python\",\"rust\",\"typescript\"]}"); /* url_encoded/13 */
  expect_form("tags[]=single", "{\"tags\":[\"single\"]}");           /* url_encoded/19 */
  expect_form("user[name]=A&user[address][city]=B",
              "{\"user\":{\"name\":\"A\",\"address\":{\"city\":\"B\"}}}");
  expect_form("items[0]=a&items[1]=b", "{\"items\":[\"a\",\"b\"]}");
  expect_form("items[1]=b&items[0]=a", "{\"items\":[\"a\",\"b\"]}"); /* any order */
  expect_form("items[2]=c&items[0]=a&items[1]=b", "{\"items\":[\"a\",\"b\",\"c\"]}");
  expect_form("a[00]=x&a[1]=y", "{\"a\":[\"x\",\"y\"]}"); /* leading zeros: same index */
  expect_form("items[0][name]=a&items[0][id]=1&items[1][name]=b",
              "{\"items\":[{\"name\":\"a\",\"id\":\"1\"},{\"name\":\"b\"}]}");
  expect_form("a[][name]=x&a[][name]=y", "{\"a\":[{\"name\":\"x\"},{\"name\":\"y\"}]}");
  expect_form("a[][]=1&a[][]=2", "{\"a\":[[\"1\"],[\"2\"]]}");
  expect_form("m[0][]=x&m[0][]=y&m[1][]=z", "{\"m\":[[\"x\",\"y\"],[\"z\"]]}");
  expect_form("o[a][0]=1&o[b][0]=2&o[a][1]=3", "{\"o\":{\"a\":[\"1\",\"3\"],\"b\":[\"2\"]}}");
  /* repeated leaves become arrays at any level */
  expect_form("user[name]=A&user[name]=B", "{\"user\":{\"name\":[\"A\",\"B\"]}}");
  expect_form("a[0]=x&a[0]=y", "{\"a\":[[\"x\",\"y\"]]}");
  /* a plain value and [] are both "list of values" */
  expect_form("a=1&a[]=2", "{\"a\":[\"1\",\"2\"]}");
  expect_form("a[]=1&a=2&a[]=3", "{\"a\":[\"1\",\"2\",\"3\"]}");
  /* brackets may be percent-encoded (recognised after decoding) */
  expect_form("a%5Bb%5D=1&a%5Bc%5D=2", "{\"a\":{\"b\":\"1\",\"c\":\"2\"}}");
  expect_form("a%5B%5D=1", "{\"a\":[\"1\"]}");
  /* not bracket notation: kept literally */
  expect_form("a[b=1", "{\"a[b\":\"1\"}");
  expect_form("[a]=1", "{\"[a]\":\"1\"}");
  expect_form("[]=1", "{\"[]\":\"1\"}");
  expect_form("a[b]c=1", "{\"a[b]c\":\"1\"}");
  expect_form("a]=1", "{\"a]\":\"1\"}");
  expect_form("a][b]=1", "{\"a][b]\":\"1\"}");
  expect_form("a[b[c]]=1", "{\"a[b[c]]\":\"1\"}");
  expect_form("a[b]]=1", "{\"a[b]]\":\"1\"}");
  /* dotted / dashed names are plain keys (url_encoded/15) */
  expect_form("user-name=JohnDoe&contact.email=john%40example.com",
              "{\"user-name\":\"JohnDoe\",\"contact.email\":\"john@example.com\"}");
  /* segments with spaces, signs and special characters are member names */
  expect_form("a[x y]=1&a[-1]=2&a[1.5]=3", "{\"a\":{\"x y\":\"1\",\"-1\":\"2\",\"1.5\":\"3\"}}");
  /* a literal key and a bracketed key with the same base are different keys */
  expect_form("a[b=1&a[c]=2", "{\"a[b\":\"1\",\"a\":{\"c\":\"2\"}}");
}

static void test_sparse(void) {
  /* edge_cases/24 (serde_qs wording) */
  expect_error("items[0]=first&items[2]=third&items[5]=sixth", SPK_EPROTO,
               "missing index, expected: 1 got 2");
  expect_error("items[1]=x", SPK_EPROTO, "missing index, expected: 0 got 1");
  expect_error("items[5]=x&items[0]=y", SPK_EPROTO, "missing index, expected: 1 got 5");
  expect_error("a[b][0]=x&a[b][2]=y", SPK_EPROTO, "missing index, expected: 1 got 2");
  expect_error("a[0][1]=x", SPK_EPROTO, "missing index, expected: 0 got 1");
  expect_error("a[1234567890]=x", SPK_EPROTO, "array index too large: 1234567890");
  expect_error("a[999999999]=x", SPK_EPROTO, "missing index, expected: 0 got 999999999");
}

static void test_conflicts(void) {
  expect_error("a=1&a[b]=2", SPK_EPROTO, "key 'a' is used both as a value and as an object");
  expect_error("a[b]=2&a=1", SPK_EPROTO, "key 'a' is used both as an object and as a value");
  expect_error("a[]=1&a[b]=2", SPK_EPROTO, "key 'a' is used both as an array and as an object");
  expect_error("a[0]=1&a[b]=2", SPK_EPROTO,
               "key 'a' is used both as an indexed array and as an object");
  expect_error("a[b]=2&a[0]=1", SPK_EPROTO,
               "key 'a' is used both as an object and as an indexed array");
  expect_error("a[]=1&a[0]=2", SPK_EPROTO,
               "key 'a' is used both as an array and as an indexed array");
  expect_error("a[0]=1&a[]=2", SPK_EPROTO,
               "key 'a' is used both as an indexed array and as an array");
  expect_error("a=1&a[0]=2", SPK_EPROTO, "key 'a' is used both as a value and as an indexed array");
  expect_error("a[0]=2&a=1", SPK_EPROTO, "key 'a' is used both as an indexed array and as a value");
  /* the message names the path of the conflicting node */
  expect_error("u[addr][city]=x&u[addr]=y", SPK_EPROTO,
               "key 'u[addr]' is used both as an object and as a value");
  expect_error("u[addr]=y&u[addr][city]=x", SPK_EPROTO,
               "key 'u[addr]' is used both as a value and as an object");
  expect_error("i[0]=y&i[0][x]=1", SPK_EPROTO,
               "key 'i[0]' is used both as a value and as an object");
}

static void test_limits(void) {
  spk_form_limits_t lim = {3, 2};
  expect_error_at("a=1&b=2&c=3&d=4", &lim, SPK_ERANGE, "too many fields (limit 3)", __LINE__);
  {
    spk__arena_t a;
    spk__arena_init(&a, 256);
    spk_json_value_t *v = NULL;
    const char *ok = "a=1&&b=2&c[x][y]=3&"; /* empty pairs do not count; depth 2 */
    CHECK_INT(spk_form_parse(&a, ok, strlen(ok), &lim, &v, NULL, 0), 0);
    spk__arena_free(&a);
  }
  expect_error_at("c[x][y][z]=3", &lim, SPK_ERANGE, "key 'c[x][y][z]' nests deeper than 2 levels",
                  __LINE__);
  /* every [] counts as a level */
  spk_form_limits_t one = {0, 1};
  expect_error_at("a[][]=1", &one, SPK_ERANGE, NULL, __LINE__);

  /* defaults: 1000 fields, depth 32 */
  spk__buf_t b = {0};
  for (int i = 0; i < 1000; i++) {
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%sk%d=%d", i ? "&" : "", i, i);
    spk__buf_append_str(&b, tmp);
  }
  {
    spk__arena_t a;
    spk__arena_init(&a, 256);
    spk_json_value_t *v = NULL;
    CHECK_INT(spk_form_parse(&a, b.data, b.len, NULL, &v, NULL, 0), 0);
    CHECK(v && v->type == SPK_JSON_OBJECT && v->u.object.len == 1000);
    spk_json_value_t *k999 = v ? spk_json_get(v, "k999", 4) : NULL;
    CHECK(k999 && k999->type == SPK_JSON_STRING);
    if (k999) CHECK_MEM(k999->u.string.ptr, k999->u.string.len, "999");
    spk__buf_append_str(&b, "&one=more");
    CHECK_INT(spk_form_parse(&a, b.data, b.len, NULL, &v, NULL, 0), SPK_ERANGE);
    spk__arena_free(&a);
  }
  spk__buf_free(&b);

  /* dense array of 1000 indexed items, given in reverse */
  for (int i = 999; i >= 0; i--) {
    char tmp[32];
    snprintf(tmp, sizeof tmp, "%sx[%d]=%d", i != 999 ? "&" : "", i, i);
    spk__buf_append_str(&b, tmp);
  }
  {
    spk__arena_t a;
    spk__arena_init(&a, 256);
    spk_json_value_t *v = NULL;
    CHECK_INT(spk_form_parse(&a, b.data, b.len, NULL, &v, NULL, 0), 0);
    spk_json_value_t *x = v ? spk_json_get(v, "x", 1) : NULL;
    CHECK(x && x->type == SPK_JSON_ARRAY && x->u.array.len == 1000);
    if (x && x->u.array.len == 1000) {
      int ordered = 1;
      for (size_t i = 0; i < 1000; i++) {
        char tmp[16];
        int n = snprintf(tmp, sizeof tmp, "%zu", i);
        spk_json_value_t *it = x->u.array.items[i];
        if (it->type != SPK_JSON_STRING || it->u.string.len != (size_t)n ||
            memcmp(it->u.string.ptr, tmp, (size_t)n) != 0)
          ordered = 0;
      }
      CHECK(ordered);
    }
    spk__arena_free(&a);
  }
  spk__buf_free(&b);

  /* depth 32 accepted, 33 refused (default) */
  spk__buf_append_str(&b, "d");
  for (int i = 0; i < 32; i++) spk__buf_append_str(&b, "[k]");
  spk__buf_append_str(&b, "=v");
  {
    spk__arena_t a;
    spk__arena_init(&a, 256);
    spk_json_value_t *v = NULL;
    CHECK_INT(spk_form_parse(&a, b.data, b.len, NULL, &v, NULL, 0), 0);
    spk__buf_t deeper = {0};
    spk__buf_append_str(&deeper, "d[k]");
    spk__buf_append(&deeper, b.data + 1, b.len - 1);
    CHECK_INT(spk_form_parse(&a, deeper.data, deeper.len, NULL, &v, NULL, 0), SPK_ERANGE);
    spk__buf_free(&deeper);
    /* a generous limit: deep nesting must not recurse on the C stack */
    spk__buf_t huge = {0};
    spk__buf_append_str(&huge, "d");
    for (int i = 0; i < 100000; i++) spk__buf_append_str(&huge, "[]");
    spk__buf_append_str(&huge, "=v");
    spk_form_limits_t deep = {0, 200000};
    CHECK_INT(spk_form_parse(&a, huge.data, huge.len, &deep, &v, NULL, 0), 0);
    spk__buf_free(&huge);
    spk__arena_free(&a);
  }
  spk__buf_free(&b);
}

static void test_api(void) {
  spk__arena_t a;
  spk__arena_init(&a, 256);
  spk_json_value_t *v = NULL;
  char err[64];
  CHECK_INT(spk_form_parse(NULL, "a=1", 3, NULL, &v, err, sizeof err), SPK_EINVAL);
  CHECK_INT(spk_form_parse(&a, "a=1", 3, NULL, NULL, err, sizeof err), SPK_EINVAL);
  CHECK_INT(spk_form_parse(&a, NULL, 3, NULL, &v, err, sizeof err), SPK_EINVAL);
  CHECK_INT(spk_form_parse(&a, NULL, 0, NULL, &v, err, sizeof err), 0);
  CHECK(v && v->type == SPK_JSON_OBJECT && v->u.object.len == 0);
  /* the body is not modified, and length is honoured */
  char body[] = "a=%41+b&c=d";
  CHECK_INT(spk_form_parse(&a, body, 7, NULL, &v, NULL, 0), 0);
  CHECK_STR(body, "a=%41+b&c=d");
  spk_json_value_t *x = v ? spk_json_get(v, "a", 1) : NULL;
  CHECK(x && x->type == SPK_JSON_STRING);
  if (x) CHECK_MEM(x->u.string.ptr, x->u.string.len, "A b");
  CHECK(v && spk_json_get(v, "c", 1) == NULL);
  /* a tiny error buffer is truncated, never overrun */
  char small[8];
  CHECK_INT(spk_form_parse(&a, "a[1]=x", 6, NULL, &v, small, sizeof small), SPK_EPROTO);
  CHECK_STR(small, "missing");
  CHECK_INT(spk_form_parse(&a, "a[1]=x", 6, NULL, &v, NULL, 0), SPK_EPROTO);
  /* strings are NUL-terminated */
  CHECK_INT(spk_form_parse(&a, "k=value", 7, NULL, &v, NULL, 0), 0);
  x = v ? spk_json_get(v, "k", 1) : NULL;
  CHECK(x && x->u.string.ptr[x->u.string.len] == '\0');
  spk__arena_free(&a);
}

/* ---- fixtures ---------------------------------------------------------------------------- */

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

static void urlencode(spk__buf_t *b, const char *s, size_t len) {
  static const char hex[] = "0123456789ABCDEF";
  for (size_t i = 0; i < len; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
        strchr("-._*", c)) {
      spk__buf_append_char(b, (char)c);
    } else if (c == ' ') {
      spk__buf_append_char(b, '+');
    } else {
      char e[3] = {'%', hex[c >> 4], hex[c & 15]};
      spk__buf_append(b, e, 3);
    }
  }
}

static int fixtures_run;

static void run_fixture(const char *path) {
  size_t len;
  char *text = read_file(path, &len);
  if (!text) return;
  spk__arena_t a;
  spk__arena_init(&a, 4096);
  spk_json_value_t *fx = NULL;
  if (spk_json_parse(&a, text, len, NULL, &fx, NULL) != 0) goto done;
  spk_json_value_t *req = spk_json_get(fx, "request", 7);
  spk_json_value_t *exp = spk_json_get(fx, "expected_response", 17);
  if (!req || !exp) goto done;
  spk_json_value_t *body = spk_json_get(req, "body", 4);
  spk_json_value_t *form = spk_json_get(req, "form_data", 9);
  spk__buf_t enc = {0};
  if (body && body->type == SPK_JSON_STRING) {
    spk__buf_append(&enc, body->u.string.ptr, body->u.string.len);
  } else if (form && form->type == SPK_JSON_OBJECT) {
    int first = 1;
    for (size_t i = 0; i < form->u.object.len; i++) {
      spk_json_member_t *m = &form->u.object.members[i];
      size_t nv = m->value->type == SPK_JSON_ARRAY ? m->value->u.array.len : 1;
      for (size_t k = 0; k < nv; k++) {
        spk_json_value_t *item = m->value->type == SPK_JSON_ARRAY ? m->value->u.array.items[k]
                                                                    : m->value;
        if (item->type != SPK_JSON_STRING) continue;
        if (!first) spk__buf_append_char(&enc, '&');
        first = 0;
        urlencode(&enc, m->key.ptr, m->key.len);
        spk__buf_append_char(&enc, '=');
        urlencode(&enc, item->u.string.ptr, item->u.string.len);
      }
    }
  } else {
    goto done;
  }
  fixtures_run++;

  spk_json_value_t *v = NULL;
  char err[256] = "";
  int rc = spk_form_parse(&a, enc.data ? enc.data : "", enc.len, NULL, &v, err, sizeof err);
  spk_json_value_t *status = spk_json_get(exp, "status_code", 11);
  spk_json_value_t *ebody = spk_json_get(exp, "body", 4);
  spk_json_value_t *eerr = ebody ? spk_json_get(ebody, "error", 5) : NULL;
  static const char prefix[] = "Failed to parse URL-encoded form data: ";
  if (eerr && eerr->type == SPK_JSON_STRING &&
      strncmp(eerr->u.string.ptr, prefix, sizeof prefix - 1) == 0) {
    if (rc != SPK_EPROTO) fprintf(stderr, "fixture %s: expected a parse error\n", path);
    CHECK_INT(rc, SPK_EPROTO);
    CHECK_STR(err, eerr->u.string.ptr + sizeof prefix - 1);
  } else {
    if (rc != 0) fprintf(stderr, "fixture %s: %s\n", path, err);
    CHECK_INT(rc, 0);
    if (rc == 0 && form && form->type == SPK_JSON_OBJECT) /* every sent field round-trips */
      for (size_t i = 0; i < form->u.object.len; i++) {
        spk_json_member_t *m = &form->u.object.members[i];
        spk_json_value_t *got = spk_json_get(v, m->key.ptr, m->key.len);
        int same = got && spk_json_equal(got, m->value);
        if (!same) fprintf(stderr, "fixture %s: field %s differs\n", path, m->key.ptr);
        CHECK(same);
      }
    /* string-only 200 responses echo the parsed form exactly (url_encoded/13, 15) */
    if (rc == 0 && status && status->type == SPK_JSON_INT && status->u.integer == 200 && ebody &&
        body && body->type == SPK_JSON_STRING) {
      int same = spk_json_equal(v, ebody);
      if (!same) fprintf(stderr, "fixture %s: body differs\n", path);
      CHECK(same);
    }
  }
  spk__buf_free(&enc);
done:
  spk__arena_free(&a);
  free(text);
}

static void test_fixtures(void) {
  const char *shared = getenv("SPK_SHARED_DIR");
  char dir[1024];
  snprintf(dir, sizeof dir, "%s/spikard-fixtures/testing_data/url_encoded",
           shared ? shared : "../shared");
  DIR *d = opendir(dir);
  if (!d) {
    printf("form fixtures not found under %s: skipped\n", dir);
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
  char path[2048];
  snprintf(path, sizeof path, "%s/spikard-fixtures/testing_data/edge_cases/24_array_with_holes.json",
           shared ? shared : "../shared");
  run_fixture(path);
  printf("form fixtures replayed: %d\n", fixtures_run);
  CHECK(fixtures_run >= 10);
}

int main(void) {
  RUN(test_flat);
  RUN(test_decoding);
  RUN(test_brackets);
  RUN(test_sparse);
  RUN(test_conflicts);
  RUN(test_limits);
  RUN(test_api);
  RUN(test_fixtures);
  return test_report("form");
}
