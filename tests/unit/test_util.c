/* util: arena, growable buffer, string helpers. */
#include <stdint.h>

#include "spikard/common.h"
#include "test.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/strutil.h"

static void test_arena(void) {
  spk__arena_t a;
  spk__arena_init(&a, 64);
  char *p = spk__arena_alloc(&a, 10);
  CHECK(p != NULL);
  CHECK(((uintptr_t)p & 15) == 0);
  char *s = spk__arena_strndup(&a, "hello world", 5);
  CHECK_STR(s, "hello");
  /* Many small and a few large allocations, all usable. */
  for (int i = 0; i < 1000; i++) {
    char *q = spk__arena_alloc(&a, (size_t)(i % 50) + 1);
    CHECK(q != NULL);
    memset(q, 0xab, (size_t)(i % 50) + 1);
  }
  char *big = spk__arena_alloc(&a, 1 << 20);
  CHECK(big != NULL);
  memset(big, 1, 1 << 20);
  /* realloc in place when last, copying otherwise */
  char *r = spk__arena_alloc(&a, 8);
  memcpy(r, "abcdefgh", 8);
  char *r2 = spk__arena_realloc(&a, r, 8, 16);
  CHECK(r2 != NULL);
  CHECK(memcmp(r2, "abcdefgh", 8) == 0);
  char *z = spk__arena_calloc(&a, 32);
  CHECK(z[0] == 0 && z[31] == 0);
  CHECK(spk__arena_alloc(&a, SIZE_MAX) == NULL);
  spk__arena_free(&a);
}

static void test_buf(void) {
  spk__buf_t b = {0};
  CHECK_INT(spk__buf_append_str(&b, "abc"), 0);
  CHECK_INT(spk__buf_append_u64(&b, 0), 0);
  CHECK_INT(spk__buf_append_u64(&b, 18446744073709551615ull), 0);
  CHECK_MEM(b.data, b.len, "abc018446744073709551615");
  spk__buf_consume(&b, 3);
  CHECK_MEM(b.data, b.len, "018446744073709551615");
  spk__buf_consume(&b, 100);
  CHECK_INT(b.len, 0);
  for (int i = 0; i < 10000; i++) spk__buf_append_char(&b, 'x');
  CHECK_INT(b.len, 10000);
  spk__buf_free(&b);
}

static void test_strutil(void) {
  char out[64];
  size_t n = spk__pct_decode(out, "a%20b+c%zz%4", 12, 1);
  CHECK_MEM(out, n, "a b c%zz%4");
  n = spk__pct_decode(out, "a+b%2B", 6, 0);
  CHECK_MEM(out, n, "a+b+");
  int64_t v;
  CHECK_INT(spk__parse_i64("0123", 4, &v), 0);
  CHECK_INT(v, 123);
  CHECK_INT(spk__parse_i64("-9223372036854775808", 20, &v), 0);
  CHECK(v == INT64_MIN);
  CHECK_INT(spk__parse_i64("9223372036854775808", 19, &v), SPK_ERANGE);
  CHECK_INT(spk__parse_i64("42.5", 4, &v), SPK_EINVAL);
  CHECK_INT(spk__parse_i64("-", 1, &v), SPK_EINVAL);
  CHECK_INT(spk__parse_i64("", 0, &v), SPK_EINVAL);
  double d;
  CHECK_INT(spk__parse_double("1.5e-3", 6, &d), 0);
  CHECK(d == 0.0015);
  CHECK_INT(spk__parse_double("nan", 3, &d), SPK_EINVAL);
  CHECK_INT(spk__parse_double("1e999", 5, &d), SPK_EINVAL);
  CHECK_INT(spk__parse_double("0x10", 4, &d), SPK_EINVAL);
  CHECK(spk__strieq("Content-Type", 12, "content-type", 12));
  CHECK(!spk__strieq("Content-Type", 12, "content-typ", 11));
  CHECK(spk__is_tchar('!') && !spk__is_tchar(' ') && !spk__is_tchar(':') && !spk__is_tchar(0));
  CHECK(spk__utf8_valid("caf\xc3\xa9 \xf0\x9f\x98\x80", 10));
  CHECK(!spk__utf8_valid("\x89PNG", 4));
  CHECK(!spk__utf8_valid("\xc0\xaf", 2));         /* overlong */
  CHECK(!spk__utf8_valid("\xed\xa0\x80", 3));     /* surrogate */
  CHECK(!spk__utf8_valid("\xf4\x90\x80\x80", 4)); /* above U+10FFFF */
  CHECK(!spk__utf8_valid("\xe2\x82", 2));         /* truncated */
  const char *s = " \t x y \t";
  size_t len = strlen(s);
  spk__trim_ows(&s, &len);
  CHECK_MEM(s, len, "x y");
}

int main(void) {
  RUN(test_arena);
  RUN(test_buf);
  RUN(test_strutil);
  return test_report("util");
}
