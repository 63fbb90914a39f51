/* proto/mediatype: Content-Type parsing (RFC 9110 §8.3.1). */
#include <string.h>

#include "proto/mediatype.h"
#include "spikard/common.h"
#include "test.h"

static int parse(const char *s, spk_media_type_t *mt) { return spk_media_type_parse(s, strlen(s), mt); }

static void test_basic(void) {
  spk_media_type_t mt;
  CHECK_INT(parse("application/json", &mt), 0);
  CHECK_MEM(mt.type.ptr, mt.type.len, "application");
  CHECK_MEM(mt.subtype.ptr, mt.subtype.len, "json");
  CHECK_INT(mt.param_count, 0);
  CHECK(spk_media_type_is_json(&mt));
  CHECK(spk_media_type_is(&mt, "application", "json"));
  CHECK(spk_media_type_is(&mt, "APPLICATION", "Json"));
  CHECK(!spk_media_type_is(&mt, "application", "jso"));
  CHECK(!spk_media_type_is(&mt, "text", "json"));

  CHECK_INT(parse("text/plain; charset=utf-8", &mt), 0);
  CHECK_MEM(mt.type.ptr, mt.type.len, "text");
  CHECK_MEM(mt.subtype.ptr, mt.subtype.len, "plain");
  CHECK_INT(mt.param_count, 1);
  CHECK_MEM(mt.params[0].name.ptr, mt.params[0].name.len, "charset");
  CHECK_MEM(mt.params[0].value.ptr, mt.params[0].value.len, "utf-8");
  CHECK_INT(mt.params[0].value_escaped, 0);
  CHECK(!spk_media_type_is_json(&mt));

  /* tokens may hold the tchar specials */
  CHECK_INT(parse("application/x-www-form-urlencoded", &mt), 0);
  CHECK(spk_media_type_is(&mt, "application", "x-www-form-urlencoded"));
  CHECK_INT(parse("application/vnd.api+json", &mt), 0);
  CHECK_MEM(mt.subtype.ptr, mt.subtype.len, "vnd.api+json");
  CHECK_INT(parse("*/*", &mt), 0);
  CHECK_MEM(mt.type.ptr, mt.type.len, "*");
}

static void test_case_insensitive(void) {
  spk_media_type_t mt;
  CHECK_INT(parse("APPLICATION/JSON", &mt), 0); /* content_types/14 */
  CHECK(spk_media_type_is_json(&mt));
  CHECK(spk_media_type_is(&mt, "application", "json"));
  CHECK_INT(parse("Multipart/Form-Data; BOUNDARY=abc", &mt), 0);
  CHECK(spk_media_type_is(&mt, "multipart", "form-data"));
  spk_str_t v = {0};
  CHECK_INT(spk_media_type_param(&mt, "boundary", &v), 0);
  CHECK_MEM(v.ptr, v.len, "abc");
  CHECK_INT(spk_media_type_param(&mt, "Boundary", NULL), 0);
  CHECK_INT(spk_media_type_param(&mt, "charset", &v), SPK_ENOENT);
}

static void test_json_suffix(void) {
  spk_media_type_t mt;
  const char *yes[] = {"application/json", "application/vnd.api+json", "application/problem+json",
                       "application/merge-patch+json; charset=utf-8", "text/foo+JSON",
                       "Application/LD+Json", "application/json;charset=UTF-8"};
  for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
    CHECK_INT(parse(yes[i], &mt), 0);
    CHECK(spk_media_type_is_json(&mt));
  }
  const char *no[] = {"application/jsonx", "application/json-seq", "text/plain",
                      "application/x-json+xml", "application/+json", "application/xjson",
                      "multipart/form-data; boundary=json"};
  for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
    CHECK_INT(parse(no[i], &mt), 0);
    CHECK(!spk_media_type_is_json(&mt));
  }
}

static void test_params(void) {
  spk_media_type_t mt;
  CHECK_INT(parse("multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW", &mt), 0);
  spk_str_t v;
  CHECK_INT(spk_media_type_param(&mt, "boundary", &v), 0);
  CHECK_MEM(v.ptr, v.len, "----WebKitFormBoundary7MA4YWxkTrZu0gW");

  /* quoted value with spaces and separators, OWS around ';' */
  CHECK_INT(parse("multipart/form-data ;boundary=\"a b;c=d\"  ;  charset=utf-8", &mt), 0);
  CHECK_INT(mt.param_count, 2);
  CHECK_MEM(mt.params[0].value.ptr, mt.params[0].value.len, "a b;c=d");
  CHECK_INT(mt.params[0].value_escaped, 0);
  CHECK_MEM(mt.params[1].name.ptr, mt.params[1].name.len, "charset");
  CHECK_MEM(mt.params[1].value.ptr, mt.params[1].value.len, "utf-8");

  /* quoted-pair: slice keeps the escapes, unescape removes them */
  CHECK_INT(parse("text/plain; title=\"say \\\"hi\\\" \\\\ ok\"", &mt), 0);
  CHECK_INT(mt.param_count, 1);
  CHECK_INT(mt.params[0].value_escaped, 1);
  CHECK_MEM(mt.params[0].value.ptr, mt.params[0].value.len, "say \\\"hi\\\" \\\\ ok");
  char tmp[64];
  size_t n = spk_media_param_unescape(tmp, mt.params[0].value.ptr, mt.params[0].value.len);
  CHECK_MEM(tmp, n, "say \"hi\" \\ ok");

  /* empty quoted string, first of duplicate names wins */
  CHECK_INT(parse("a/b; x=\"\"; y=1; Y=2", &mt), 0);
  CHECK_INT(mt.param_count, 3);
  CHECK_INT(mt.params[0].value.len, 0);
  CHECK_INT(spk_media_type_param(&mt, "y", &v), 0);
  CHECK_MEM(v.ptr, v.len, "1");

  /* empty parameters are allowed by the grammar */
  CHECK_INT(parse("text/plain;", &mt), 0);
  CHECK_INT(mt.param_count, 0);
  CHECK_INT(parse("text/plain;;charset=x;", &mt), 0);
  CHECK_INT(mt.param_count, 1);
  CHECK_INT(parse("text/plain; ; charset=x", &mt), 0);
  CHECK_INT(mt.param_count, 1);

  /* surrounding whitespace of the whole value is tolerated */
  CHECK_INT(parse("  application/json \t", &mt), 0);
  CHECK_MEM(mt.subtype.ptr, mt.subtype.len, "json");

  /* max params */
  CHECK_INT(parse("a/b;p1=1;p2=2;p3=3;p4=4;p5=5;p6=6;p7=7;p8=8", &mt), 0);
  CHECK_INT(mt.param_count, SPK_MEDIATYPE_MAX_PARAMS);
  CHECK_INT(parse("a/b;p1=1;p2=2;p3=3;p4=4;p5=5;p6=6;p7=7;p8=8;p9=9", &mt), SPK_EINVAL);
}

static void test_invalid(void) {
  spk_media_type_t mt;
  const char *bad[] = {
      "",                          /* empty */
      "   ",                       /* only OWS */
      "json",                      /* no '/' */
      "application",               /* no '/' */
      "/json",                     /* empty type */
      "application/",              /* empty subtype */
      "application /json",         /* space inside */
      "application/ json",         /* space inside */
      "application/json x",        /* junk after subtype */
      "appli cation/json",         /* space inside type */
      "application/json/extra",    /* second '/' */
      "text/plain; charset",       /* parameter without '=' */
      "text/plain; charset=",      /* empty value */
      "text/plain; =utf-8",        /* empty name */
      "text/plain; charset =utf-8", /* OWS before '=' */
      "text/plain; charset= utf-8", /* OWS after '=' */
      "text/plain; charset=\"utf-8", /* unterminated quote */
      "text/plain; charset=\"utf-8\"x", /* junk after quote */
      "text/plain; a=b c",         /* space in token value */
      "text/plain, text/html",     /* list, not one type */
      "text/plain; a=\"\\",        /* dangling backslash */
      "application/json\x01",      /* control */
      "text/plain; a=\"x\ny\"",   /* LF in quoted string */
      "appl\xc3\xa9/json",          /* non-ASCII in token */
      "text/plain; a=\"caf\xc3\xa9\"", /* non-ASCII in quoted string */
      "text/plain; a=caf\xc3\xa9", /* non-ASCII in token value */
      "(comment)/json",            /* delimiter in token */
      "text/plain;a=b;c",          /* trailing parameter without '=' */
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int rc = parse(bad[i], &mt);
    if (rc != SPK_EINVAL) fprintf(stderr, "accepted invalid media type #%zu: %s\n", i, bad[i]);
    CHECK_INT(rc, SPK_EINVAL);
  }
  /* embedded NUL */
  CHECK_INT(spk_media_type_parse("a/b\0c", 5, &mt), SPK_EINVAL);
  CHECK_INT(spk_media_type_parse(NULL, 0, &mt), SPK_EINVAL);
  CHECK_INT(spk_media_type_parse("a/b", 3, NULL), SPK_EINVAL);
  /* length is honoured: no read past len */
  CHECK_INT(spk_media_type_parse("text/plainXXXX", 10, &mt), 0);
  CHECK_MEM(mt.subtype.ptr, mt.subtype.len, "plain");
  CHECK_INT(spk_media_type_parse("text/plain; a=\"b\"", 16, &mt), SPK_EINVAL);
}

/* Every Content-Type value the fixtures send or expect parses. */
static void test_fixture_values(void) {
  static const char *const values[] = {
      "application/json", "application/grpc", "application/x-www-form-urlencoded",
      "application/octet-stream", "text/plain; charset=utf-8", "text/plain",
      "text/html; charset=utf-8", "text/csv; charset=utf-8", "image/jpeg", "application/xml",
      "application/x-ndjson", "application/pdf", "application/json; charset=utf-8",
      "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
      "application/vnd.api+json", "APPLICATION/JSON", "application/problem+json; charset=utf-8"};
  for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
    spk_media_type_t mt;
    int rc = parse(values[i], &mt);
    if (rc) fprintf(stderr, "fixture value refused: %s\n", values[i]);
    CHECK_INT(rc, 0);
  }
  /* multipart without boundary: the parameter lookup says so (core answers 400) */
  spk_media_type_t mt;
  CHECK_INT(parse("multipart/form-data", &mt), 0);
  CHECK(spk_media_type_is(&mt, "multipart", "form-data"));
  CHECK_INT(spk_media_type_param(&mt, "boundary", NULL), SPK_ENOENT);
  /* a quoted boundary comes back without its quotes */
  spk_str_t v;
  CHECK_INT(parse("multipart/form-data; boundary=\"simple boundary\"", &mt), 0);
  CHECK_INT(spk_media_type_param(&mt, "boundary", &v), 0);
  CHECK_MEM(v.ptr, v.len, "simple boundary");
}

static void test_helpers_null(void) {
  spk_media_type_t mt;
  memset(&mt, 0, sizeof(mt));
  CHECK(!spk_media_type_is_json(NULL));
  CHECK(!spk_media_type_is_json(&mt));
  CHECK(!spk_media_type_is(&mt, "a", "b"));
  CHECK_INT(spk_media_type_param(&mt, "x", NULL), SPK_ENOENT);
  CHECK_INT(spk_media_type_param(NULL, "x", NULL), SPK_EINVAL);
}

int main(void) {
  RUN(test_basic);
  RUN(test_case_insensitive);
  RUN(test_json_suffix);
  RUN(test_params);
  RUN(test_invalid);
  RUN(test_fixture_values);
  RUN(test_helpers_null);
  return test_report("mediatype");
}
