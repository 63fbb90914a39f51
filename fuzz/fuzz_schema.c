/* libFuzzer target: JSON Schema compilation and validation.
 *
 * Input: one option byte (bit 0: draft-07 by default, bit 1: format assertion), then the
 * schema JSON, a NUL byte, and the instance JSON. Without a NUL the schema also serves as the
 * instance. Compilation may fail (that is fine); when it succeeds, validation with and without
 * error collection must agree, an invalid answer must carry errors, every error must be
 * well-formed, and nothing may crash or leak. One remote document is registered so that
 * references to http://fuzz.test/r.json exercise the registry path. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"
#include "proto/schema.h"
#include "util/arena.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)     \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static const char k_remote[] =
    "{\"$id\":\"http://fuzz.test/r.json\",\"$defs\":{\"i\":{\"type\":\"integer\"},"
    "\"s\":{\"$anchor\":\"s\",\"type\":\"string\",\"pattern\":\"^[a-z]*$\"},"
    "\"d\":{\"$dynamicAnchor\":\"d\",\"minimum\":0}},\"items\":{\"$dynamicRef\":\"#d\"}}";

static void check_errors(const spk_schema_error_t *e, size_t n) {
  for (size_t i = 0; i < n; i++) {
    REQUIRE(e[i].keyword && e[i].keyword[0]);
    REQUIRE(e[i].message);
    REQUIRE(e[i].instance);
    REQUIRE(e[i].path_len == 0 || e[i].path);
    for (size_t k = 0; k < e[i].path_len; k++)
      REQUIRE(e[i].path[k].index >= 0 || e[i].path[k].key.ptr || e[i].path[k].key.len == 0);
    (void)strlen(e[i].message);
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned flags = data[0];
  const char *text = (const char *)data + 1;
  size_t len = size - 1;
  const char *nul = memchr(text, '\0', len);
  size_t schema_len = nul ? (size_t)(nul - text) : len;
  const char *inst_text = nul ? nul + 1 : text;
  size_t inst_len = nul ? len - schema_len - 1 : len;

  spk__arena_t docs;
  spk__arena_init(&docs, 4096);
  spk_json_parse_options_t po = {64, SPK_JSON_DUP_LAST_WINS};
  spk_json_value_t *schema = NULL, *inst = NULL, *remote = NULL;
  if (spk_json_parse(&docs, text, schema_len, &po, &schema, NULL) != 0) goto out;
  if (spk_json_parse(&docs, inst_text, inst_len, &po, &inst, NULL) != 0) inst = schema;
  REQUIRE(spk_json_parse(&docs, k_remote, sizeof(k_remote) - 1, &po, &remote, NULL) == 0);

  spk_schema_registry_t *reg = spk_schema_registry_new();
  REQUIRE(reg);
  REQUIRE(spk_schema_registry_add(reg, "http://fuzz.test/r.json", remote) == 0);
  spk_schema_options_t opts = {(flags & 1) ? SPK_SCHEMA_DRAFT_07 : SPK_SCHEMA_DRAFT_2020_12, reg,
                               (flags & 2) ? 1 : 0};
  spk_schema_t *compiled = NULL;
  char err[128];
  int rc = spk_schema_compile(schema, &opts, &compiled, err, sizeof(err));
  spk_schema_registry_free(reg);
  if (rc != 0) {
    REQUIRE(compiled == NULL);
    REQUIRE(rc == SPK_EINVAL || rc == SPK_ENOMEM);
    REQUIRE(memchr(err, '\0', sizeof(err)) != NULL);
    goto out;
  }
  for (int round = 0; round < 2; round++) {
    const spk_json_value_t *v = round == 0 ? inst : schema;
    spk__arena_t a;
    spk__arena_init(&a, 1024);
    spk_schema_error_t *errors = NULL;
    size_t n = 0;
    int full = spk_schema_validate(compiled, v, &a, &errors, &n);
    int quick = spk_schema_validate(compiled, v, &a, NULL, NULL);
    REQUIRE(full == 0 || full == 1);
    REQUIRE(full == quick);
    REQUIRE(full == 1 ? n == 0 : n > 0);
    check_errors(errors, n);
    spk__arena_free(&a);
  }
  spk_schema_free(compiled);
out:
  spk__arena_free(&docs);
  return 0;
}
