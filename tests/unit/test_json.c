/* proto/json: parser, writer, number formatting, builders, lookup, equality. */
#include <locale.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "proto/json.h"
#include "spikard/common.h"
#include "test.h"
#include "util/alloc.h"
#include "util/arena.h"
#include "util/buf.h"

static spk__arena_t A;

static spk_json_value_t *parse_opts(const char *s, size_t len, size_t max_depth, int dup_error,
                                    int *rc, spk_json_error_t *err) {
  spk_json_parse_options_t o = {max_depth,
                                dup_error ? SPK_JSON_DUP_ERROR : SPK_JSON_DUP_LAST_WINS};
  spk_json_value_t *v = (spk_json_value_t *)1;
  spk_json_error_t e;
  *rc = spk_json_parse(&A, s, len, &o, &v, err ? err : &e);
  return v;
}

static spk_json_value_t *P(const char *s) {
  int rc;
  spk_json_value_t *v = parse_opts(s, strlen(s), 0, 0, &rc, NULL);
  if (rc) fprintf(stderr, "  parse failed (%d) for: %.80s\n", rc, s);
  return v;
}

static int prc(const char *s, size_t len) {
  spk_json_value_t *v;
  return spk_json_parse(&A, s, len, NULL, &v, NULL);
}
#define ACCEPT(lit) CHECK_INT(prc(lit, sizeof(lit) - 1), 0)
#define REJECT(lit) CHECK_INT(prc(lit, sizeof(lit) - 1), SPK_EPROTO)

/* Compact serialization into a static buffer (returns a NUL-terminated string). */
static const char *W(const spk_json_value_t *v, int pretty) {
  static char out[8192];
  spk__buf_t b = {0};
  if (!v || spk_json_write(&b, v, pretty)) {
    spk__buf_free(&b);
    return "(error)";
  }
  size_t n = b.len < sizeof(out) - 1 ? b.len : sizeof(out) - 1;
  memcpy(out, b.data, n);
  out[n] = 0;
  spk__buf_free(&b);
  return out;
}

static const char *FD(double d) {
  static char out[32];
  size_t n = spk_json_format_double(out, d);
  out[n] = 0;
  return out;
}

/* ---------------------------------------------------------------------------------------- */

static void test_scalars(void) {
  spk_json_value_t *v = P("null");
  CHECK(v && v->type == SPK_JSON_NULL);
  v = P(" true ");
  CHECK(v && v->type == SPK_JSON_BOOL && v->u.boolean == 1);
  v = P("\t\r\nfalse\n");
  CHECK(v && v->type == SPK_JSON_BOOL && v->u.boolean == 0);
  v = P("42");
  CHECK(v && v->type == SPK_JSON_INT && v->u.integer == 42);
  v = P("\"hi\"");
  CHECK(v && v->type == SPK_JSON_STRING);
  if (v) {
    CHECK_MEM(v->u.string.ptr, v->u.string.len, "hi");
    CHECK(v->u.string.ptr[2] == 0);
  }
  v = P("\"\"");
  CHECK(v && v->type == SPK_JSON_STRING && v->u.string.len == 0 && v->u.string.ptr[0] == 0);
  REJECT("");
  REJECT("   ");
  REJECT("nul");
  REJECT("nulll");
  REJECT("True");
  REJECT("tru");
  REJECT("fals");
  REJECT("null null");
  REJECT("\xEF\xBB\xBF{}"); /* BOM */
  REJECT("\f1");            /* form feed is not JSON whitespace */
  REJECT("\x00");
  REJECT("'a'");
  REJECT("NaN");
  REJECT("Infinity");
  REJECT("undefined");
}

static void test_containers(void) {
  spk_json_value_t *v = P("[]");
  CHECK(v && v->type == SPK_JSON_ARRAY && v->u.array.len == 0);
  v = P("{}");
  CHECK(v && v->type == SPK_JSON_OBJECT && v->u.object.len == 0);
  v = P(" [ 1 , \"a\" , [ ] , { } , null ] ");
  CHECK(v && v->type == SPK_JSON_ARRAY && v->u.array.len == 5);
  if (v && v->u.array.len == 5) {
    CHECK(v->u.array.items[0]->type == SPK_JSON_INT);
    CHECK(v->u.array.items[1]->type == SPK_JSON_STRING);
    CHECK(v->u.array.items[2]->type == SPK_JSON_ARRAY);
    CHECK(v->u.array.items[3]->type == SPK_JSON_OBJECT);
    CHECK(v->u.array.items[4]->type == SPK_JSON_NULL);
    CHECK(v->u.array.cap == 5);
  }
  v = P("{\"a\": {\"b\": [1, 2, {\"c\": true}]}, \"d\": \"e\"}");
  CHECK(v && v->type == SPK_JSON_OBJECT && v->u.object.len == 2);
  spk_json_value_t *a = spk_json_get(v, "a", 1);
  CHECK(a && a->type == SPK_JSON_OBJECT);
  spk_json_value_t *b = spk_json_get(a, "b", 1);
  CHECK(b && b->type == SPK_JSON_ARRAY && b->u.array.len == 3);
  if (b && b->u.array.len == 3) {
    spk_json_value_t *c = spk_json_get(b->u.array.items[2], "c", 1);
    CHECK(c && c->type == SPK_JSON_BOOL && c->u.boolean);
  }
  CHECK(spk_json_get(v, "x", 1) == NULL);
  CHECK(spk_json_get(b, "a", 1) == NULL); /* not an object */
  CHECK(spk_json_get(NULL, "a", 1) == NULL);
  if (v && v->u.object.len == 2) {
    CHECK_STR(v->u.object.members[0].key.ptr, "a");
    CHECK_STR(v->u.object.members[1].key.ptr, "d");
  }
  /* a large array and a large object: the temporary stacks move to the heap */
  spk__buf_t big = {0};
  spk__buf_append_char(&big, '[');
  for (int i = 0; i < 5000; i++) {
    char t[32];
    int n = snprintf(t, sizeof(t), "%s%d", i ? "," : "", i);
    spk__buf_append(&big, t, (size_t)n);
  }
  spk__buf_append_char(&big, ']');
  int rc;
  v = parse_opts(big.data, big.len, 0, 0, &rc, NULL);
  CHECK_INT(rc, 0);
  CHECK(v && v->u.array.len == 5000);
  if (v && v->u.array.len == 5000) CHECK_INT(v->u.array.items[4999]->u.integer, 4999);
  big.len = 0;
  spk__buf_append_char(&big, '{');
  for (int i = 0; i < 3000; i++) {
    char t[48];
    int n = snprintf(t, sizeof(t), "%s\"k%d\":[%d]", i ? "," : "", i, i);
    spk__buf_append(&big, t, (size_t)n);
  }
  spk__buf_append_char(&big, '}');
  v = parse_opts(big.data, big.len, 0, 1, &rc, NULL);
  CHECK_INT(rc, 0);
  CHECK(v && v->u.object.len == 3000);
  spk_json_value_t *k = spk_json_get(v, "k2999", 5);
  CHECK(k && k->type == SPK_JSON_ARRAY && k->u.array.items[0]->u.integer == 2999);
  spk__buf_free(&big);

  REJECT("[");
  REJECT("]");
  REJECT("[1,]");
  REJECT("[,1]");
  REJECT("[1 2]");
  REJECT("[1,,2]");
  REJECT("{");
  REJECT("{\"a\"}");
  REJECT("{\"a\":}");
  REJECT("{\"a\":1,}");
  REJECT("{,}");
  REJECT("{\"a\" 1}");
  REJECT("{\"a\"::1}");
  REJECT("{1:1}");
  REJECT("{a:1}");
  REJECT("{'a':1}");
  REJECT("[1]]");
  REJECT("[1]x");
  REJECT("{\"a\":1}}");
  REJECT("[\"a\":1]");
  REJECT("{\"a\":1 \"b\":2}");
}

static void test_strings(void) {
  spk_json_value_t *v = P("\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t\"");
  CHECK(v && v->type == SPK_JSON_STRING);
  if (v) CHECK_MEM(v->u.string.ptr, v->u.string.len, "\" \\ / \b \f \n \r \t");
  v = P("\"\\u0041\\u00e9\\u20AC\\uD83D\\uDE00\"");
  if (v) CHECK_MEM(v->u.string.ptr, v->u.string.len, "A\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  v = P("\"a\\u0000b\"");
  CHECK(v && v->u.string.len == 3 && v->u.string.ptr[1] == 0 && v->u.string.ptr[2] == 'b');
  v = P("\"\\uDBFF\\uDFFF\""); /* U+10FFFF */
  if (v) CHECK_MEM(v->u.string.ptr, v->u.string.len, "\xF4\x8F\xBF\xBF");
  v = P("\"\\uFFFF\\uFDD0\""); /* noncharacters are scalar values */
  if (v) CHECK_MEM(v->u.string.ptr, v->u.string.len, "\xEF\xBF\xBF\xEF\xB7\x90");
  /* raw UTF-8, long strings crossing the 8-byte scanning blocks */
  v = P("\"h\xC3\xA9llo w\xE2\x82\xACrld \xF0\x9F\x98\x80 and more plain ascii text here\"");
  if (v)
    CHECK_MEM(v->u.string.ptr, v->u.string.len,
              "h\xC3\xA9llo w\xE2\x82\xACrld \xF0\x9F\x98\x80 and more plain ascii text here");
  v = P("\"0123456789abcdef0123456789\\n0123456789abcdef\"");
  if (v) CHECK_MEM(v->u.string.ptr, v->u.string.len, "0123456789abcdef0123456789\n0123456789abcdef");
  v = P("\"\x7F\""); /* DEL is not a control character for JSON */
  CHECK(v && v->u.string.len == 1);

  /* escapes */
  REJECT("\"\\a\"");
  REJECT("\"\\x41\"");
  REJECT("\"\\U0041\"");
  REJECT("\"\\u004\"");
  REJECT("\"\\u00G1\"");
  REJECT("\"\\u\"");
  REJECT("\"\\\"");
  REJECT("\"\\");
  REJECT("\"\\'\"");
  REJECT("\"\\\xC3\xA9\"");
  /* surrogates in escapes */
  REJECT("\"\\uD800\"");
  REJECT("\"\\uDC00\"");
  REJECT("\"\\uD800x\"");
  REJECT("\"\\uD800\\n\"");
  REJECT("\"\\uD800\\uD800\"");
  REJECT("\"\\uDE00\\uD83D\"");
  REJECT("\"\\uD83D\\u0041\"");
  REJECT("\"\\uD83D\\uDE0\"");
  /* control characters */
  REJECT("\"a\nb\"");
  REJECT("\"\t\"");
  REJECT("\"\x01\"");
  REJECT("\"\x1F\"");
  CHECK_INT(prc("\"a\0b\"", 5), SPK_EPROTO);
  /* unterminated */
  REJECT("\"abc");
  REJECT("\"abcdefghijklmnopqrstuvwxyz");
  REJECT("[\"a]");
}

static void test_utf8(void) {
  ACCEPT("\"\xC2\x80\"");         /* U+0080 */
  ACCEPT("\"\xDF\xBF\"");         /* U+07FF */
  ACCEPT("\"\xE0\xA0\x80\"");     /* U+0800 */
  ACCEPT("\"\xED\x9F\xBF\"");     /* U+D7FF */
  ACCEPT("\"\xEE\x80\x80\"");     /* U+E000 */
  ACCEPT("\"\xEF\xBF\xBF\"");     /* U+FFFF */
  ACCEPT("\"\xF0\x90\x80\x80\""); /* U+10000 */
  ACCEPT("\"\xF4\x8F\xBF\xBF\""); /* U+10FFFF */
  REJECT("\"\x80\"");             /* lone continuation */
  REJECT("\"\xBF\"");
  REJECT("\"\xC0\xAF\"");             /* overlong '/' */
  REJECT("\"\xC1\xBF\"");             /* overlong */
  REJECT("\"\xE0\x80\xAF\"");         /* overlong 3-byte */
  REJECT("\"\xE0\x9F\xBF\"");         /* overlong U+07FF */
  REJECT("\"\xF0\x80\x80\xAF\"");     /* overlong 4-byte */
  REJECT("\"\xF0\x8F\xBF\xBF\"");     /* overlong U+FFFF */
  REJECT("\"\xED\xA0\x80\"");         /* U+D800 encoded */
  REJECT("\"\xED\xBF\xBF\"");         /* U+DFFF encoded */
  REJECT("\"\xED\xA0\xBD\xED\xB8\x80\""); /* CESU-8 pair */
  REJECT("\"\xF4\x90\x80\x80\"");     /* U+110000 */
  REJECT("\"\xF5\x80\x80\x80\"");
  REJECT("\"\xF8\x88\x80\x80\x80\"");
  REJECT("\"\xFE\"");
  REJECT("\"\xFF\"");
  REJECT("\"\xC3\"");                 /* truncated before the quote */
  REJECT("\"\xE2\x82\"");
  REJECT("\"\xF0\x9F\x98\"");
  REJECT("\"\xC3");                   /* truncated at end of input */
  REJECT("\"\xF0\x9F");
  REJECT("\"\xC3\x28\"");             /* bad continuation */
  REJECT("\"\xE2\x28\xA1\"");
  REJECT("\"\xE2\x82\x28\"");
  REJECT("\"\xF0\x9F\x98\x28\"");
  REJECT("\xC3\xA9");                 /* non-ASCII outside strings */
  /* error offset points at the start of the bad sequence */
  spk_json_error_t e;
  int rc;
  parse_opts("[\"ab\xE0\x80\xAF\"]", 9, 0, 0, &rc, &e);
  CHECK_INT(rc, SPK_EPROTO);
  CHECK_INT(e.offset, 4);
  /* long valid text in a long string */
  spk__buf_t b = {0};
  spk__buf_append_char(&b, '"');
  for (int i = 0; i < 300; i++) spk__buf_append_str(&b, "x\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
  spk__buf_append_char(&b, '"');
  spk_json_value_t *v = parse_opts(b.data, b.len, 0, 0, &rc, NULL);
  CHECK_INT(rc, 0);
  CHECK(v && v->u.string.len == b.len - 2);
  spk__buf_free(&b);
}

static void test_integers(void) {
  struct {
    const char *s;
    int64_t v;
  } ok[] = {{"0", 0},
            {"-0", 0},
            {"7", 7},
            {"-7", -7},
            {"1234567890", 1234567890},
            {"9223372036854775807", INT64_MAX},
            {"-9223372036854775808", INT64_MIN},
            {"-9223372036854775807", -INT64_MAX},
            {"1000000000000000000", 1000000000000000000ll}};
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    spk_json_value_t *v = P(ok[i].s);
    CHECK(v && v->type == SPK_JSON_INT);
    if (v && v->type == SPK_JSON_INT) CHECK(v->u.integer == ok[i].v);
    CHECK_STR(W(v, 0), ok[i].s[0] == '-' && ok[i].s[1] == '0' ? "0" : ok[i].s);
  }
  /* just beyond int64: NUMBER, integral, raw kept */
  spk_json_value_t *v = P("9223372036854775808");
  CHECK(v && v->type == SPK_JSON_NUMBER);
  if (v && v->type == SPK_JSON_NUMBER) {
    CHECK(v->u.number.is_integer);
    CHECK(v->u.number.value == 9223372036854775808.0);
    CHECK_MEM(v->u.number.raw.ptr, v->u.number.raw.len, "9223372036854775808");
  }
  v = P("-9223372036854775809");
  CHECK(v && v->type == SPK_JSON_NUMBER && v->u.number.is_integer);
  if (v) CHECK(v->u.number.value == -9223372036854775808.0);
  v = P("18446744073709551616");
  CHECK(v && v->type == SPK_JSON_NUMBER && v->u.number.is_integer);
  if (v) CHECK(v->u.number.value == 18446744073709551616.0);
  v = P("123456789012345678901234567890");
  CHECK(v && v->type == SPK_JSON_NUMBER && v->u.number.is_integer);
  if (v) CHECK(v->u.number.value == 1.2345678901234568e29);
  CHECK_STR(W(v, 0), "123456789012345678901234567890");
  v = P("10000000000000000999");
  CHECK(v && v->type == SPK_JSON_NUMBER && v->u.number.is_integer);
  if (v) CHECK(v->u.number.value == 1e19);
}

static void test_numbers(void) {
  struct {
    const char *s;
    double v;
    int is_int;
  } ok[] = {{"1.5", 1.5, 0},
            {"-1.5", -1.5, 0},
            {"0.1", 0.1, 0},
            {"1.0", 1.0, 1},
            {"1.00", 1.0, 1},
            {"-0.0", -0.0, 1},
            {"0e0", 0.0, 1},
            {"1e3", 1000.0, 1},
            {"1E3", 1000.0, 1},
            {"1e+3", 1000.0, 1},
            {"1.5e1", 15.0, 1},
            {"1.25e1", 12.5, 0},
            {"150e-2", 1.5, 0},
            {"100e-2", 1.0, 1},
            {"1e-3", 0.001, 0},
            {"3.141592653589793", 3.141592653589793, 0},
            {"2.2250738585072014e-308", 2.2250738585072014e-308, 0},
            {"5e-324", 5e-324, 0},
            {"1.7976931348623157e308", 1.7976931348623157e308, 1},
            {"1e22", 1e22, 1},
            {"1e23", 1e23, 1},
            {"123e30", 123e30, 1},
            {"9007199254740993.0", 9007199254740992.0, 1},
            {"0.30000000000000004", 0.30000000000000004, 0},
            {"1.000000000000000005", 1.0, 0},
            {"1.0000000000000000000000000000001e31", 1e31, 1},
            {"2.4703282292062328e-324", 5e-324, 0},
            {"2.4703282292062327e-324", 0.0, 0},
            {"-1e-400", -0.0, 0},
            {"1e-999", 0.0, 0},
            {"0.000000000000000000000000000000000000000000001e45", 1.0, 1},
            {"1e400", INFINITY, 1},
            {"-1e400", -INFINITY, 1},
            {"1e99999999999999999999", INFINITY, 1}};
  for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
    spk_json_value_t *v = P(ok[i].s);
    CHECK(v && v->type == SPK_JSON_NUMBER);
    if (!v || v->type != SPK_JSON_NUMBER) continue;
    if (v->u.number.value != ok[i].v || signbit(v->u.number.value) != signbit(ok[i].v) ||
        v->u.number.is_integer != ok[i].is_int) {
      fprintf(stderr, "  number %s: got %.17g is_integer=%d\n", ok[i].s, v->u.number.value,
              v->u.number.is_integer);
    }
    CHECK(v->u.number.value == ok[i].v);
    CHECK(signbit(v->u.number.value) == signbit(ok[i].v));
    CHECK_INT(v->u.number.is_integer, ok[i].is_int);
    CHECK_MEM(v->u.number.raw.ptr, v->u.number.raw.len, ok[i].s);
    CHECK_STR(W(v, 0), ok[i].s); /* raw is written back verbatim */
  }
  /* 0.1 + digits beyond 780 significant: still correctly rounded via the sticky digit */
  spk__buf_t b = {0};
  spk__buf_append_str(&b, "0.");
  for (int i = 0; i < 1000; i++) spk__buf_append_char(&b, '1');
  int rc;
  spk_json_value_t *v = parse_opts(b.data, b.len, 0, 0, &rc, NULL);
  CHECK_INT(rc, 0);
  CHECK(v && v->u.number.value == 0.11111111111111111 && !v->u.number.is_integer);
  /* 1 followed by 1000 zeros .0 → inf, integral */
  b.len = 0;
  spk__buf_append_char(&b, '1');
  for (int i = 0; i < 1000; i++) spk__buf_append_char(&b, '0');
  spk__buf_append_str(&b, ".000");
  v = parse_opts(b.data, b.len, 0, 0, &rc, NULL);
  CHECK_INT(rc, 0);
  CHECK(v && isinf(v->u.number.value) && v->u.number.is_integer);
  /* halfway case just above 2^53 with a tail beyond 780 digits: rounds up */
  b.len = 0;
  spk__buf_append_str(&b, "9007199254740993");
  spk__buf_append_char(&b, '.');
  for (int i = 0; i < 900; i++) spk__buf_append_char(&b, '0');
  spk__buf_append_char(&b, '1');
  v = parse_opts(b.data, b.len, 0, 0, &rc, NULL);
  CHECK_INT(rc, 0);
  CHECK(v && v->u.number.value == 9007199254740994.0 && !v->u.number.is_integer);
  spk__buf_free(&b);

  REJECT("01");
  REJECT("-01");
  REJECT("00");
  REJECT("+1");
  REJECT("-");
  REJECT("1.");
  REJECT(".1");
  REJECT("1.e3");
  REJECT("1e");
  REJECT("1e+");
  REJECT("1e-");
  REJECT("-a");
  REJECT("1.5.2");
  REJECT("0x10");
  REJECT("1_000");
  REJECT("- 1");
  REJECT("[1e]");
  REJECT("[-]");
  REJECT("1ee3");
  REJECT("-Infinity");
  REJECT("\xEF\xBC\x91"); /* fullwidth digit */
}

static void test_numbers_locale(void) {
  /* A locale with a decimal comma must not change parsing or formatting. */
  const char *loc = setlocale(LC_NUMERIC, "de_DE.UTF-8");
  if (!loc) loc = setlocale(LC_NUMERIC, "fr_FR.UTF-8");
  spk_json_value_t *v = P("[1.5, 2.5e-300, 123456789.123456789]");
  CHECK(v && v->u.array.len == 3);
  if (v && v->u.array.len == 3) {
    CHECK(v->u.array.items[0]->u.number.value == 1.5);
    CHECK(v->u.array.items[1]->u.number.value == 2.5e-300);
    CHECK(v->u.array.items[2]->u.number.value == 123456789.123456789);
  }
  CHECK_STR(FD(1.5), "1.5");
  CHECK_STR(FD(0.1), "0.1");
  CHECK_STR(FD(2.5e-300), "2.5e-300");
  setlocale(LC_NUMERIC, "C");
}

static void test_format_double(void) {
  CHECK_STR(FD(0.0), "0");
  CHECK_STR(FD(-0.0), "-0");
  CHECK_STR(FD(1.0), "1");
  CHECK_STR(FD(-1.0), "-1");
  CHECK_STR(FD(0.1), "0.1");
  CHECK_STR(FD(0.1 + 0.2), "0.30000000000000004");
  CHECK_STR(FD(3.141592653589793), "3.141592653589793");
  CHECK_STR(FD(1.5), "1.5");
  CHECK_STR(FD(123.456), "123.456");
  CHECK_STR(FD(100.0), "100");
  CHECK_STR(FD(1e20), "100000000000000000000");
  CHECK_STR(FD(1e21), "1e+21");
  CHECK_STR(FD(1.5e21), "1.5e+21");
  CHECK_STR(FD(1e300), "1e+300");
  CHECK_STR(FD(-1e300), "-1e+300");
  CHECK_STR(FD(0.000001), "0.000001");
  CHECK_STR(FD(0.0000012), "0.0000012");
  CHECK_STR(FD(1e-7), "1e-7");
  CHECK_STR(FD(1.5e-7), "1.5e-7");
  CHECK_STR(FD(5e-324), "5e-324");
  CHECK_STR(FD(2.2250738585072014e-308), "2.2250738585072014e-308");
  CHECK_STR(FD(1.7976931348623157e308), "1.7976931348623157e+308");
  CHECK_STR(FD(9007199254740993.0), "9007199254740992");
  CHECK_STR(FD(123456789012345680.0), "123456789012345680");
  CHECK_STR(FD(5e-7), "5e-7");
  CHECK_STR(FD(2.0 / 3.0), "0.6666666666666666");
  CHECK_STR(FD(INFINITY), "Infinity");
  CHECK_STR(FD(-INFINITY), "-Infinity");
  CHECK_STR(FD(NAN), "NaN");
  /* round trip on a deterministic sample of bit patterns */
  uint64_t x = 0x123456789abcdefull;
  int bad = 0;
  for (int i = 0; i < 20000; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    double d;
    memcpy(&d, &x, sizeof(d));
    if (!isfinite(d)) continue;
    char buf[32];
    size_t n = spk_json_format_double(buf, d);
    buf[n] = 0;
    if (n >= 32 || strtod(buf, NULL) != d) bad++;
    spk_json_value_t *v;
    if (spk_json_parse(&A, buf, n, NULL, &v, NULL) != 0) bad++;
    else if (spk_json_as_double(v) != d) bad++;
  }
  CHECK_INT(bad, 0);
}

static void test_depth(void) {
  char buf[20001];
  int rc;
  spk_json_error_t e;
  for (size_t depth = 1; depth <= 40; depth++) {
    size_t n = 0;
    for (size_t i = 0; i < depth; i++) buf[n++] = '[';
    for (size_t i = 0; i < depth; i++) buf[n++] = ']';
    spk_json_value_t *v = parse_opts(buf, n, 0, 0, &rc, &e);
    if (depth <= 32) {
      CHECK_INT(rc, 0);
      CHECK(v != NULL);
    } else {
      CHECK_INT(rc, SPK_ERANGE);
      CHECK_INT(e.offset, 32); /* the 33rd bracket */
      CHECK_INT(e.code, SPK_ERANGE);
    }
  }
  /* explicit limits, objects count too */
  CHECK(parse_opts("[[1]]", 5, 2, 0, &rc, NULL) && rc == 0);
  parse_opts("[[1]]", 5, 1, 0, &rc, NULL);
  CHECK_INT(rc, SPK_ERANGE);
  CHECK(parse_opts("1", 1, 1, 0, &rc, NULL) && rc == 0);
  CHECK(parse_opts("[]", 2, 1, 0, &rc, NULL) && rc == 0);
  parse_opts("{\"a\":[{}]}", 10, 2, 0, &rc, NULL);
  CHECK_INT(rc, SPK_ERANGE);
  CHECK(parse_opts("{\"a\":[{}]}", 10, 3, 0, &rc, NULL) && rc == 0);
  /* deep: 10000 levels with a large limit, no recursion */
  size_t n = 0;
  for (int i = 0; i < 10000; i++) buf[n++] = i % 2 ? '[' : '[';
  for (int i = 0; i < 10000; i++) buf[n++] = ']';
  spk_json_value_t *v = parse_opts(buf, n, 10000, 0, &rc, NULL);
  CHECK_INT(rc, 0);
  parse_opts(buf, n, 9999, 0, &rc, NULL);
  CHECK_INT(rc, SPK_ERANGE);
  /* writer and equality on the deep tree (explicit stacks too) */
  spk__buf_t out = {0};
  CHECK_INT(spk_json_write(&out, v, 0), 0);
  CHECK(out.len == n && memcmp(out.data, buf, n) == 0);
  out.len = 0;
  CHECK_INT(spk_json_write(&out, v, 1), 0);
  spk_json_value_t *v2 = parse_opts(out.data, out.len, 20000, 0, &rc, NULL);
  CHECK_INT(rc, 0);
  CHECK(spk_json_equal(v, v2));
  spk__buf_free(&out);
  /* unterminated deep input with a huge limit: rejected, not crashed */
  n = 0;
  for (int i = 0; i < 20000; i++) buf[n++] = '[';
  parse_opts(buf, n, (size_t)-1, 0, &rc, &e);
  CHECK_INT(rc, SPK_EPROTO);
  CHECK_INT(e.offset, 20000);
}

static void test_dup_keys(void) {
  int rc;
  spk_json_error_t e;
  const char *s = "{\"a\":1,\"b\":2,\"a\":3}";
  spk_json_value_t *v = parse_opts(s, strlen(s), 0, 0, &rc, NULL);
  CHECK_INT(rc, 0);
  CHECK(v && v->u.object.len == 2);
  if (v && v->u.object.len == 2) {
    CHECK_STR(v->u.object.members[0].key.ptr, "a");
    CHECK_INT(v->u.object.members[0].value->u.integer, 3);
    CHECK_STR(v->u.object.members[1].key.ptr, "b");
  }
  CHECK_STR(W(v, 0), "{\"a\":3,\"b\":2}");
  parse_opts(s, strlen(s), 0, 1, &rc, &e);
  CHECK_INT(rc, SPK_EPROTO);
  CHECK_INT(e.offset, 13);
  CHECK_STR(e.message, "duplicate key");
  /* escaped and raw spellings are the same key */
  s = "{\"a\":1,\"\\u0061\":2}";
  v = parse_opts(s, strlen(s), 0, 0, &rc, NULL);
  CHECK(rc == 0 && v && v->u.object.len == 1 && v->u.object.members[0].value->u.integer == 2);
  parse_opts(s, strlen(s), 0, 1, &rc, NULL);
  CHECK_INT(rc, SPK_EPROTO);
  /* three occurrences, the last wins at the first position */
  s = "{\"x\":0,\"a\":1,\"a\":2,\"y\":0,\"a\":3}";
  v = parse_opts(s, strlen(s), 0, 0, &rc, NULL);
  CHECK_STR(W(v, 0), "{\"x\":0,\"a\":3,\"y\":0}");
  /* empty key, and keys that are prefixes of each other */
  s = "{\"\":1,\"ab\":2,\"a\":3,\"\":4}";
  v = parse_opts(s, strlen(s), 0, 0, &rc, NULL);
  CHECK_STR(W(v, 0), "{\"\":4,\"ab\":2,\"a\":3}");
  CHECK(spk_json_get(v, "", 0) && spk_json_get(v, "", 0)->u.integer == 4);
  /* big objects go through the hash table */
  spk__buf_t b = {0};
  spk__buf_append_char(&b, '{');
  for (int i = 0; i < 100; i++) {
    char t[40];
    int n = snprintf(t, sizeof(t), "%s\"key_%d\":%d", i ? "," : "", i % 40, i);
    spk__buf_append(&b, t, (size_t)n);
  }
  spk__buf_append_char(&b, '}');
  v = parse_opts(b.data, b.len, 0, 0, &rc, NULL);
  CHECK_INT(rc, 0);
  CHECK(v && v->u.object.len == 40);
  if (v && v->u.object.len == 40) {
    CHECK_STR(v->u.object.members[0].key.ptr, "key_0");
    CHECK_INT(v->u.object.members[0].value->u.integer, 80);
    CHECK_STR(v->u.object.members[39].key.ptr, "key_39");
    CHECK_INT(v->u.object.members[39].value->u.integer, 79);
  }
  parse_opts(b.data, b.len, 0, 1, &rc, &e);
  CHECK_INT(rc, SPK_EPROTO);
  CHECK(e.offset > 0 && e.offset < b.len && b.data[e.offset] == '"');
  CHECK(strncmp(b.data + e.offset, "\"key_0\"", 7) == 0);
  /* dups in nested objects are independent of the parent's keys */
  s = "{\"a\":{\"a\":1},\"b\":{\"a\":2}}";
  parse_opts(s, strlen(s), 0, 1, &rc, NULL);
  CHECK_INT(rc, 0);
  spk__buf_free(&b);
}

static void test_errors(void) {
  int rc;
  spk_json_error_t e;
  parse_opts("{\n  \"a\": 1,\n  \"b\": x\n}", 22, 0, 0, &rc, &e);
  CHECK_INT(rc, SPK_EPROTO);
  CHECK_INT(e.code, SPK_EPROTO);
  CHECK_INT(e.offset, 19);
  CHECK_INT(e.line, 3);
  CHECK_INT(e.column, 8);
  CHECK_STR(e.message, "unexpected character");
  parse_opts("[1, 2", 5, 0, 0, &rc, &e);
  CHECK_INT(e.offset, 5);
  CHECK_INT(e.line, 1);
  CHECK_INT(e.column, 6);
  CHECK_STR(e.message, "unexpected end of input");
  parse_opts("[1 2]", 5, 0, 0, &rc, &e);
  CHECK_INT(e.offset, 3);
  CHECK_STR(e.message, "expected ',' or ']'");
  parse_opts("{\"a\" 2}", 7, 0, 0, &rc, &e);
  CHECK_INT(e.offset, 5);
  CHECK_STR(e.message, "expected ':'");
  parse_opts("\"ab\\qc\"", 7, 0, 0, &rc, &e);
  CHECK_INT(e.offset, 3);
  CHECK_STR(e.message, "invalid escape");
  parse_opts("\"\\uD800\"", 8, 0, 0, &rc, &e);
  CHECK_INT(e.offset, 1);
  parse_opts("[\"a\x01\"]", 5, 0, 0, &rc, &e);
  CHECK_INT(e.offset, 3);
  CHECK_STR(e.message, "control character in string");
  parse_opts("  01", 4, 0, 0, &rc, &e);
  CHECK_INT(e.offset, 2);
  parse_opts("1 2", 3, 0, 0, &rc, &e);
  CHECK_INT(e.offset, 2);
  CHECK_STR(e.message, "unexpected data after the JSON value");
  parse_opts("", 0, 0, 0, &rc, &e);
  CHECK_INT(rc, SPK_EPROTO);
  CHECK_INT(e.offset, 0);
  CHECK_INT(e.line, 1);
  CHECK_INT(e.column, 1);
  /* success clears err; failure sets *out to NULL */
  spk_json_value_t *v = (spk_json_value_t *)&e;
  CHECK_INT(spk_json_parse(&A, "[", 1, NULL, &v, NULL), SPK_EPROTO);
  CHECK(v == NULL);
  CHECK_INT(spk_json_parse(&A, "1", 1, NULL, &v, &e), 0);
  CHECK(e.code == 0 && e.message == NULL);
  /* bad arguments */
  CHECK_INT(spk_json_parse(NULL, "1", 1, NULL, &v, NULL), SPK_EINVAL);
  CHECK_INT(spk_json_parse(&A, NULL, 1, NULL, &v, NULL), SPK_EINVAL);
  CHECK_INT(spk_json_parse(&A, "1", 1, NULL, NULL, NULL), SPK_EINVAL);
  CHECK_INT(spk_json_parse(&A, NULL, 0, NULL, &v, NULL), SPK_EPROTO);
  /* input is not read past len */
  char *exact = malloc(3);
  memcpy(exact, "[12", 3);
  CHECK_INT(spk_json_parse(&A, exact, 3, NULL, &v, NULL), SPK_EPROTO);
  memcpy(exact, "\"ab", 3);
  CHECK_INT(spk_json_parse(&A, exact, 3, NULL, &v, NULL), SPK_EPROTO);
  memcpy(exact, "tru", 3);
  CHECK_INT(spk_json_parse(&A, exact, 3, NULL, &v, NULL), SPK_EPROTO);
  CHECK_INT(spk_json_parse(&A, exact, 2, NULL, &v, NULL), SPK_EPROTO);
  memcpy(exact, "123", 3);
  CHECK_INT(spk_json_parse(&A, exact, 3, NULL, &v, NULL), 0);
  CHECK(v && v->u.integer == 123);
  CHECK_INT(spk_json_parse(&A, exact, 1, NULL, &v, NULL), 0);
  CHECK(v && v->u.integer == 1);
  free(exact);
}

static void test_write(void) {
  spk_json_value_t *v = P("{\"a\":[1,2.50,{\"b\":null}],\"c\":\"x\\ny\",\"d\":{},\"e\":[],"
                          "\"f\":true,\"g\":-0.0,\"h\":1E400}");
  CHECK_STR(W(v, 0), "{\"a\":[1,2.50,{\"b\":null}],\"c\":\"x\\ny\",\"d\":{},\"e\":[],\"f\":true,"
                     "\"g\":-0.0,\"h\":1E400}");
  CHECK_STR(W(v, 1), "{\n"
                     "  \"a\": [\n"
                     "    1,\n"
                     "    2.50,\n"
                     "    {\n"
                     "      \"b\": null\n"
                     "    }\n"
                     "  ],\n"
                     "  \"c\": \"x\\ny\",\n"
                     "  \"d\": {},\n"
                     "  \"e\": [],\n"
                     "  \"f\": true,\n"
                     "  \"g\": -0.0,\n"
                     "  \"h\": 1E400\n"
                     "}");
  CHECK_STR(W(P("[]"), 1), "[]");
  CHECK_STR(W(P("{}"), 1), "{}");
  CHECK_STR(W(P("\"s\""), 1), "\"s\"");
  CHECK_STR(W(P("[[[]]]"), 1), "[\n  [\n    []\n  ]\n]");
  CHECK_STR(W(P("[[1,[2]]]"), 0), "[[1,[2]]]");
  CHECK_STR(W(P(" [ 3.141592653589793 ] "), 0), "[3.141592653589793]");

  /* string escaping */
  spk__buf_t b = {0};
  CHECK_INT(spk_json_write_string(&b, "a\"b\\c/\b\f\n\r\t\x01\x1f\x7f\xC3\xA9", 16), 0);
  CHECK_MEM(b.data, b.len,
            "\"a\\\"b\\\\c/\\b\\f\\n\\r\\t\\u0001\\u001f\x7f\xC3\xA9\"");
  b.len = 0;
  CHECK_INT(spk_json_write_string(&b, "a\0b", 3), 0);
  CHECK_MEM(b.data, b.len, "\"a\\u0000b\"");
  b.len = 0;
  CHECK_INT(spk_json_write_string(&b, "", 0), 0);
  CHECK_MEM(b.data, b.len, "\"\"");
  b.len = 0;
  /* long strings with escapes at every position of the 8-byte blocks */
  char s[64];
  for (int pos = 0; pos < 40; pos++) {
    for (int i = 0; i < 40; i++) s[i] = (char)('a' + i % 26);
    s[pos] = '\n';
    b.len = 0;
    spk_json_write_string(&b, s, 40);
    CHECK_INT(b.len, 43);
    CHECK(b.data[pos + 1] == '\\' && b.data[pos + 2] == 'n');
  }
  spk__buf_free(&b);

  /* round trips: parse → write → parse gives an equal value and the same bytes again */
  const char *docs[] = {
      "{\"k\":[1,-2,3.5e-7,\"\\u0000\\u001f\\\"\\\\\",true,false,null,{\"\":[]}]}",
      "[\"\xF0\x9F\x98\x80\\uD83D\\uDE00\",\"\\u2028\\u2029\",1e308,-1e-308,0.1]",
      "[9223372036854775807,-9223372036854775808,9223372036854775808,1.0,-0]",
      "{\"a\":{\"b\":{\"c\":{\"d\":[[[[{}]]]]}}}}",
  };
  for (size_t i = 0; i < sizeof(docs) / sizeof(docs[0]); i++) {
    spk_json_value_t *x = P(docs[i]);
    for (int pretty = 0; pretty < 2; pretty++) {
      spk__buf_t o1 = {0}, o2 = {0};
      CHECK_INT(spk_json_write(&o1, x, pretty), 0);
      spk_json_value_t *y;
      CHECK_INT(spk_json_parse(&A, o1.data, o1.len, NULL, &y, NULL), 0);
      CHECK(spk_json_equal(x, y));
      CHECK_INT(spk_json_write(&o2, y, pretty), 0);
      CHECK(o1.len == o2.len && memcmp(o1.data, o2.data, o1.len) == 0);
      spk__buf_free(&o1);
      spk__buf_free(&o2);
    }
  }
  CHECK_INT(spk_json_write(&b, NULL, 0), SPK_EINVAL);
}

static void test_builders(void) {
  spk_json_value_t *o = spk_json_new_object(&A, 0);
  CHECK(o && o->type == SPK_JSON_OBJECT && o->u.object.len == 0);
  CHECK_INT(spk_json_object_set(&A, o, "name", 4, spk_json_new_string(&A, "Ada", 3)), 0);
  CHECK_INT(spk_json_object_set(&A, o, "age", 3, spk_json_new_int(&A, 36)), 0);
  CHECK_INT(spk_json_object_set(&A, o, "pi", 2, spk_json_new_double(&A, 3.141592653589793)), 0);
  CHECK_INT(spk_json_object_set(&A, o, "ok", 2, spk_json_new_bool(&A, 7)), 0);
  CHECK_INT(spk_json_object_set(&A, o, "none", 4, spk_json_new_null(&A)), 0);
  spk_json_value_t *arr = spk_json_new_array(&A, 2);
  CHECK(arr && arr->u.array.cap == 2);
  for (int i = 0; i < 100; i++) {
    CHECK_INT(spk_json_array_push(&A, arr, spk_json_new_int(&A, i)), 0);
    /* interleaved allocations: the array is not the last arena allocation */
    spk_json_new_null(&A);
  }
  CHECK_INT(arr->u.array.len, 100);
  CHECK(arr->u.array.cap >= 100);
  CHECK_INT(arr->u.array.items[99]->u.integer, 99);
  CHECK_INT(spk_json_object_set(&A, o, "list", 4, arr), 0);
  CHECK_INT(spk_json_object_set(&A, o, "age", 3, spk_json_new_int(&A, 37)), 0); /* replace */
  CHECK_INT(o->u.object.len, 6);
  CHECK_INT(spk_json_get(o, "age", 3)->u.integer, 37);
  CHECK_STR(spk_json_get(o, "name", 4)->u.string.ptr, "Ada");

  spk__buf_t b = {0};
  spk_json_value_t *small = spk_json_new_object(&A, 1);
  spk_json_object_set(&A, small, "a", 1, spk_json_new_double(&A, 0.5));
  spk_json_object_set(&A, small, "b", 1, spk_json_new_double(&A, -0.0));
  spk_json_object_set(&A, small, "c", 1, spk_json_new_double(&A, NAN));
  spk_json_object_set(&A, small, "d", 1, spk_json_new_double(&A, INFINITY));
  spk_json_object_set(&A, small, "e", 1, spk_json_new_double(&A, 1e21));
  spk_json_object_set(&A, small, "f", 1, spk_json_new_string(&A, "q\"", 2));
  spk_json_object_set(&A, small, "\n", 1, spk_json_new_array(&A, 0));
  CHECK_INT(spk_json_write(&b, small, 0), 0);
  CHECK_MEM(b.data, b.len,
            "{\"a\":0.5,\"b\":-0,\"c\":null,\"d\":null,\"e\":1e+21,\"f\":\"q\\\"\",\"\\n\":[]}");
  spk__buf_free(&b);
  CHECK(spk_json_new_double(&A, 2.0)->u.number.is_integer);
  CHECK(!spk_json_new_double(&A, 2.5)->u.number.is_integer);
  CHECK(!spk_json_new_double(&A, INFINITY)->u.number.is_integer);

  /* pushing onto a parsed (exact-size) array and setting on a parsed object */
  spk_json_value_t *pa = P("[1,2,3]");
  CHECK_INT(spk_json_array_push(&A, pa, spk_json_new_int(&A, 4)), 0);
  CHECK_STR(W(pa, 0), "[1,2,3,4]");
  spk_json_value_t *po = P("{\"a\":1}");
  CHECK_INT(spk_json_object_set(&A, po, "b", 1, spk_json_new_int(&A, 2)), 0);
  CHECK_STR(W(po, 0), "{\"a\":1,\"b\":2}");
  /* a hand-built array with cap 0 */
  spk_json_value_t *items[2] = {spk_json_new_int(&A, 1), spk_json_new_int(&A, 2)};
  spk_json_value_t hand;
  memset(&hand, 0, sizeof(hand));
  hand.type = SPK_JSON_ARRAY;
  hand.u.array.items = items;
  hand.u.array.len = 2;
  CHECK_INT(spk_json_array_push(&A, &hand, spk_json_new_int(&A, 3)), 0);
  CHECK(hand.u.array.items != items);
  CHECK_STR(W(&hand, 0), "[1,2,3]");
  /* wrong types */
  CHECK_INT(spk_json_array_push(&A, o, arr), SPK_EINVAL);
  CHECK_INT(spk_json_object_set(&A, arr, "a", 1, o), SPK_EINVAL);
  CHECK_INT(spk_json_array_push(&A, arr, NULL), SPK_EINVAL);
  spk_json_value_t *s = spk_json_new_string(&A, "a\0b", 3);
  CHECK(s && s->u.string.len == 3 && s->u.string.ptr[3] == 0);
}

static void test_equal(void) {
  CHECK(spk_json_equal(P("1"), P("1.0")));
  CHECK(spk_json_equal(P("1"), P("1e0")));
  CHECK(spk_json_equal(P("100"), P("1e2")));
  CHECK(spk_json_equal(P("100"), P("10.0e1")));
  CHECK(spk_json_equal(P("0"), P("-0.0")));
  CHECK(spk_json_equal(P("0.5"), P("5e-1")));
  CHECK(spk_json_equal(P("0.00123"), P("1.230e-3")));
  CHECK(!spk_json_equal(P("1"), P("2")));
  CHECK(!spk_json_equal(P("1"), P("1.0000000000000001"))); /* exact on the text */
  CHECK(!spk_json_equal(P("1"), P("-1")));
  CHECK(!spk_json_equal(P("1e400"), P("2e400")));
  CHECK(spk_json_equal(P("9223372036854775807"), P("9223372036854775807.0")));
  CHECK(!spk_json_equal(P("9223372036854775807"), P("9223372036854775808")));
  CHECK(spk_json_equal(P("1"), spk_json_new_double(&A, 1.0)));
  CHECK(spk_json_equal(spk_json_new_double(&A, 0.1), P("0.1")));
  CHECK(!spk_json_equal(spk_json_new_int(&A, INT64_MAX), spk_json_new_double(&A, 9223372036854775807.0)));
  CHECK(spk_json_equal(spk_json_new_int(&A, 1 << 20), spk_json_new_double(&A, 1048576.0)));
  CHECK(spk_json_equal(P("\"a\""), P("\"\\u0061\"")));
  CHECK(!spk_json_equal(P("\"a\""), P("\"a \"")));
  CHECK(!spk_json_equal(P("\"1\""), P("1")));
  CHECK(!spk_json_equal(P("null"), P("false")));
  CHECK(!spk_json_equal(P("true"), P("false")));
  CHECK(spk_json_equal(P("true"), spk_json_new_bool(&A, 5)));
  CHECK(spk_json_equal(P("{\"a\":1,\"b\":[1,2]}"), P("{\"b\":[1,2.0],\"a\":1}")));
  CHECK(!spk_json_equal(P("{\"a\":1,\"b\":[1,2]}"), P("{\"b\":[2,1],\"a\":1}")));
  CHECK(!spk_json_equal(P("{\"a\":1}"), P("{\"b\":1}")));
  CHECK(!spk_json_equal(P("{\"a\":1}"), P("{\"a\":1,\"b\":1}")));
  CHECK(!spk_json_equal(P("[1,2]"), P("[1,2,3]")));
  CHECK(!spk_json_equal(P("[]"), P("{}")));
  CHECK(spk_json_equal(P("[[],{}]"), P("[[],{}]")));
  CHECK(!spk_json_equal(P("[[[[1]]]]"), P("[[[[2]]]]")));
  CHECK(spk_json_equal(NULL, NULL));
  CHECK(!spk_json_equal(P("1"), NULL));
  CHECK(spk_json_as_double(P("3")) == 3.0);
  CHECK(spk_json_as_double(P("2.5")) == 2.5);
  CHECK(spk_json_as_double(P("\"2\"")) == 0.0);
  CHECK(spk_json_as_double(NULL) == 0.0);
}

static void test_transform_cases(void) {
  /* The JSONTestSuite transform cases: what we answer for each. */
  struct {
    const char *in, *out;
    int rc;
  } t[] = {
      {"[-9223372036854775808]\n", "[-9223372036854775808]", 0},
      {"[-9223372036854775809]\n", "[-9223372036854775809]", 0},
      {"[1.0]\n", "[1.0]", 0},
      {"[1.000000000000000005]\n", "[1.000000000000000005]", 0},
      {"[1000000000000000]\n", "[1000000000000000]", 0},
      {"[10000000000000000999]\n", "[10000000000000000999]", 0},
      {"[1E-999]\n", "[1E-999]", 0},
      {"[1E6]\n", "[1E6]", 0},
      {"{\"a\":1,\"a\":2}", "{\"a\":2}", 0},
      {"{\"a\":1,\"a\":1}", "{\"a\":1}", 0},
      {"{\"a\":0, \"a\":-0}\n", "{\"a\":0}", 0},
      {"[\"\\uDFAA\"]", NULL, SPK_EPROTO},
      {"[\"\\uDADA\\uDADA\"]", NULL, SPK_EPROTO},
      {"[\"\xED\xB0\x80\"]", NULL, SPK_EPROTO},
      {"[\"\\u0000\"]", "[\"\\u0000\"]", 0},
  };
  for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
    int rc;
    spk_json_value_t *v = parse_opts(t[i].in, strlen(t[i].in), 0, 0, &rc, NULL);
    CHECK_INT(rc, t[i].rc);
    if (t[i].out) CHECK_STR(W(v, 0), t[i].out);
  }
}

/* An allocator that fails once `fail_after` more allocations have succeeded (-1: never). */
static long fail_after = -1;
static int take(void) {
  if (fail_after < 0) return 1;
  if (fail_after == 0) return 0;
  fail_after--;
  return 1;
}
static void *t_malloc(size_t n) { return take() ? malloc(n) : NULL; }
static void *t_realloc(void *p, size_t n) { return take() ? realloc(p, n) : NULL; }
static void *t_calloc(size_t c, size_t n) { return take() ? calloc(c, n) : NULL; }
static void t_free(void *p) { free(p); }

static void test_allocation_failures(void) {
  CHECK_INT(spk_replace_allocator(t_malloc, t_realloc, t_calloc, t_free), 0);
  /* big enough to need several arena blocks, heap stacks and the duplicate-key table */
  spk__buf_t doc = {0};
  spk__buf_append_str(&doc, "{");
  for (int i = 0; i < 200; i++) {
    char t[96];
    int n = snprintf(t, sizeof(t), "%s\"key%d\":[%d,1.5,\"s\\n%d\",{\"x\":[[[]]]}]", i ? "," : "",
                     i, i, i);
    spk__buf_append(&doc, t, (size_t)n);
  }
  spk__buf_append_str(&doc, ",\"deep\":");
  for (int i = 0; i < 100; i++) spk__buf_append_char(&doc, '[');
  for (int i = 0; i < 100; i++) spk__buf_append_char(&doc, ']');
  spk__buf_append_str(&doc, "}");
  spk_json_parse_options_t o = {1000, SPK_JSON_DUP_ERROR};
  int ok = 0, nomem = 0, other = 0;
  for (long k = 0; k < 400; k++) {
    spk__arena_t a;
    spk__arena_init(&a, 256);
    spk_json_value_t *v;
    spk_json_error_t e;
    fail_after = k;
    int rc = spk_json_parse(&a, doc.data, doc.len, &o, &v, &e);
    if (rc == 0) {
      spk__buf_t out = {0};
      int wrc = spk_json_write(&out, v, (int)(k & 1));
      if (wrc != 0 && wrc != SPK_ENOMEM) other++;
      fail_after = -1;
      spk__buf_free(&out);
      ok++;
    } else if (rc == SPK_ENOMEM && e.code == SPK_ENOMEM) {
      nomem++;
    } else {
      other++;
    }
    fail_after = -1;
    spk__arena_free(&a);
  }
  fail_after = -1;
  CHECK(nomem > 0);
  CHECK(ok > 0);
  CHECK_INT(other, 0);
  spk__buf_free(&doc);
  CHECK_INT(spk_replace_allocator(malloc, realloc, calloc, free), 0);
}

int main(void) {
  spk__arena_init(&A, 4096);
  RUN(test_scalars);
  RUN(test_containers);
  RUN(test_strings);
  RUN(test_utf8);
  RUN(test_integers);
  RUN(test_numbers);
  RUN(test_numbers_locale);
  RUN(test_format_double);
  RUN(test_depth);
  RUN(test_dup_keys);
  RUN(test_errors);
  RUN(test_write);
  RUN(test_builders);
  RUN(test_equal);
  RUN(test_transform_cases);
  RUN(test_allocation_failures);
  spk__arena_free(&A);
  return test_report("json");
}
