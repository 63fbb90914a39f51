/* libFuzzer target: the JSON parser and writer.
 *
 * The input is parsed twice: with the default options (depth 32, duplicate keys LAST_WINS) and
 * with depth 100000 + duplicate keys rejected. Every accepted document is written compactly and
 * pretty; each output must parse again (with a limit deep enough for what was accepted), be
 * spk_json_equal to the first tree, and serialize to the very same bytes a second time. A
 * rejection must come with a consistent error report (code, offset within the input, message).
 * The two option sets must agree on everything but the depth limit and duplicate keys: a
 * document accepted under the strict dup mode must be accepted under LAST_WINS. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"
#include "util/arena.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)     \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static void round_trip(spk__arena_t *a, const spk_json_value_t *v, int pretty, size_t depth) {
  spk__buf_t o1 = {0}, o2 = {0};
  REQUIRE(spk_json_write(&o1, v, pretty) == 0);
  spk_json_parse_options_t opts = {depth, SPK_JSON_DUP_ERROR}; /* written objects have no dups */
  spk_json_value_t *w = NULL;
  spk_json_error_t err;
  REQUIRE(spk_json_parse(a, o1.data, o1.len, &opts, &w, &err) == 0);
  REQUIRE(spk_json_equal(v, w));
  REQUIRE(spk_json_equal(w, v));
  REQUIRE(spk_json_write(&o2, w, pretty) == 0);
  REQUIRE(o1.len == o2.len && memcmp(o1.data, o2.data, o1.len) == 0);
  spk__buf_free(&o1);
  spk__buf_free(&o2);
}

static int parse_one(const uint8_t *data, size_t size, size_t depth, spk_json_dup_keys_t dup) {
  spk__arena_t a;
  spk__arena_init(&a, 1024);
  spk_json_parse_options_t opts = {depth, dup};
  spk_json_value_t *v = NULL;
  spk_json_error_t err;
  int rc = spk_json_parse(&a, (const char *)data, size, &opts, &v, &err);
  if (rc == 0) {
    REQUIRE(v != NULL);
    REQUIRE(spk_json_equal(v, v));
    round_trip(&a, v, 0, depth ? depth : 32);
    round_trip(&a, v, 1, depth ? depth : 32);
  } else {
    REQUIRE(v == NULL);
    REQUIRE(rc == SPK_EPROTO || rc == SPK_ERANGE);
    REQUIRE(err.code == rc);
    REQUIRE(err.offset <= size);
    REQUIRE(err.line >= 1 && err.column >= 1);
    REQUIRE(err.message != NULL);
  }
  spk__arena_free(&a);
  return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  int rc_default = parse_one(data, size, 0, SPK_JSON_DUP_LAST_WINS);
  int rc_deep = parse_one(data, size, 100000, SPK_JSON_DUP_ERROR);
  int rc_deep_lw = parse_one(data, size, 100000, SPK_JSON_DUP_LAST_WINS);
  if (rc_deep == 0) REQUIRE(rc_deep_lw == 0);
  if (rc_default == 0) REQUIRE(rc_deep_lw == 0);
  if (rc_deep_lw == SPK_EPROTO) REQUIRE(rc_default == SPK_EPROTO || rc_default == SPK_ERANGE);
  /* formatting doubles taken from the input never breaks the round trip */
  if (size >= 8) {
    double d;
    memcpy(&d, data, sizeof(d));
    char buf[32];
    size_t n = spk_json_format_double(buf, d);
    REQUIRE(n < 32);
    if (d == d && d - d == 0) { /* finite */
      spk__arena_t a;
      spk__arena_init(&a, 256);
      spk_json_value_t *v = NULL;
      REQUIRE(spk_json_parse(&a, buf, n, NULL, &v, NULL) == 0);
      double back = spk_json_as_double(v);
      REQUIRE(back == d);
      REQUIRE(memcmp(&back, &d, sizeof(d)) == 0 || d == 0); /* -0 reads back as INT 0 */
      spk__arena_free(&a);
    }
  }
  return 0;
}
