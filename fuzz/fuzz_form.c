/* libFuzzer target: application/x-www-form-urlencoded → JSON DOM (proto/form).
 *
 * The input is the body. Checks: only the documented result codes; an error always leaves
 * *out NULL and a message; a success is an object whose leaves are all strings, whose
 * serialization is valid JSON that parses back equal; parsing twice is deterministic; with
 * tight limits the parse can only succeed with the same result or fail with SPK_ERANGE. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/form.h"
#include "proto/json.h"
#include "util/arena.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)     \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

/* Every leaf is a string; containers are arrays and objects only. Iterative walk. */
static void check_shape(const spk_json_value_t *root) {
  size_t cap = 64, n = 0;
  const spk_json_value_t **stack = malloc(cap * sizeof(*stack));
  REQUIRE(stack);
  stack[n++] = root;
  while (n) {
    const spk_json_value_t *v = stack[--n];
    size_t kids = 0;
    if (v->type == SPK_JSON_STRING) {
      REQUIRE(v->u.string.ptr && v->u.string.ptr[v->u.string.len] == '\0');
      continue;
    }
    REQUIRE(v->type == SPK_JSON_ARRAY || v->type == SPK_JSON_OBJECT);
    kids = v->type == SPK_JSON_ARRAY ? v->u.array.len : v->u.object.len;
    if (v->type == SPK_JSON_ARRAY) REQUIRE(kids > 0); /* arrays only exist with members */
    for (size_t i = 0; i < kids; i++) {
      if (n == cap) {
        cap *= 2;
        stack = realloc(stack, cap * sizeof(*stack));
        REQUIRE(stack);
      }
      stack[n++] = v->type == SPK_JSON_ARRAY ? v->u.array.items[i] : v->u.object.members[i].value;
    }
  }
  free(stack);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *body = (const char *)data;
  spk__arena_t a;
  spk__arena_init(&a, 1024);
  char err[128];
  spk_json_value_t *v = NULL;
  int rc = spk_form_parse(&a, body, size, NULL, &v, err, sizeof err);
  REQUIRE(rc == 0 || rc == SPK_EPROTO || rc == SPK_ERANGE);
  if (rc) {
    REQUIRE(v == NULL);
    REQUIRE(err[0] != '\0' && memchr(err, '\0', sizeof err));
  } else {
    REQUIRE(v && v->type == SPK_JSON_OBJECT);
    check_shape(v);

    /* serialization is valid JSON that reads back equal */
    spk__buf_t out = {0};
    REQUIRE(spk_json_write(&out, v, 0) == 0);
    spk_json_value_t *back = NULL;
    spk_json_parse_options_t opts = {100000, SPK_JSON_DUP_ERROR};
    REQUIRE(spk_json_parse(&a, out.data, out.len, &opts, &back, NULL) == 0);
    REQUIRE(spk_json_equal(v, back));
    spk__buf_free(&out);

    /* deterministic */
    spk_json_value_t *again = NULL;
    REQUIRE(spk_form_parse(&a, body, size, NULL, &again, NULL, 0) == 0);
    REQUIRE(spk_json_equal(v, again));
  }

  /* tight limits: same answer or SPK_ERANGE */
  spk_form_limits_t tight = {4, 2};
  spk_json_value_t *t = NULL;
  int rt = spk_form_parse(&a, body, size, &tight, &t, NULL, 0);
  REQUIRE(rt == 0 || rt == SPK_EPROTO || rt == SPK_ERANGE);
  if (rt == 0) {
    REQUIRE(rc == 0);
    REQUIRE(spk_json_equal(v, t));
  }
  if (rc == 0) REQUIRE(rt == 0 || rt == SPK_ERANGE);
  spk__arena_free(&a);
  return 0;
}
