/* A minimal test harness: CHECK macros record failures and continue; RUN executes one test
 * function; test_report prints a summary and returns the exit code. Header-only on purpose:
 * every test is a single file and a single binary. */
#ifndef SPK_TEST_H
#define SPK_TEST_H

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static int test_failures_;
static int test_checks_;
static int test_count_;
static const char *test_current_ = "";

#define CHECK(cond)                                                                    \
  do {                                                                                 \
    test_checks_++;                                                                    \
    if (!(cond)) {                                                                     \
      test_failures_++;                                                                \
      fprintf(stderr, "FAIL %s:%d [%s]: %s\n", __FILE__, __LINE__, test_current_, #cond); \
    }                                                                                  \
  } while (0)

#define CHECK_INT(a, b)                                                                \
  do {                                                                                 \
    long long a_ = (long long)(a), b_ = (long long)(b);                                \
    test_checks_++;                                                                    \
    if (a_ != b_) {                                                                    \
      test_failures_++;                                                                \
      fprintf(stderr, "FAIL %s:%d [%s]: %s == %lld, expected %lld\n", __FILE__, __LINE__, \
              test_current_, #a, a_, b_);                                              \
    }                                                                                  \
  } while (0)

/* Compare a (ptr, len) byte range with a C string. */
#define CHECK_MEM(ptr, len, str)                                                       \
  do {                                                                                 \
    const char *p_ = (const char *)(ptr);                                              \
    size_t l_ = (size_t)(len);                                                         \
    const char *s_ = (str);                                                            \
    test_checks_++;                                                                    \
    if (l_ != strlen(s_) || (l_ && memcmp(p_, s_, l_) != 0)) {                         \
      test_failures_++;                                                                \
      fprintf(stderr, "FAIL %s:%d [%s]: %s == \"%.*s\", expected \"%s\"\n", __FILE__, \
              __LINE__, test_current_, #ptr, (int)(l_ > 400 ? 400 : l_), p_ ? p_ : "", s_); \
    }                                                                                  \
  } while (0)

#define CHECK_STR(a, b)                                                                \
  do {                                                                                 \
    const char *x_ = (a), *y_ = (b);                                                   \
    test_checks_++;                                                                    \
    if (!x_ || !y_ || strcmp(x_, y_) != 0) {                                           \
      test_failures_++;                                                                \
      fprintf(stderr, "FAIL %s:%d [%s]: %s == \"%s\", expected \"%s\"\n", __FILE__,    \
              __LINE__, test_current_, #a, x_ ? x_ : "(null)", y_ ? y_ : "(null)");    \
    }                                                                                  \
  } while (0)

#define RUN(fn)                 \
  do {                          \
    test_current_ = #fn;        \
    test_count_++;              \
    fn();                       \
  } while (0)

static inline int test_report(const char *suite) {
  printf("%s: %d tests, %d checks, %d failures\n", suite, test_count_, test_checks_,
         test_failures_);
  return test_failures_ ? 1 : 0;
}

#endif
