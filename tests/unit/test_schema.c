/* proto/schema: compilation, every keyword, error collection (locations, keywords, messages,
 * properties), drafts, references and the registry, formats, regex dialect, number exactness,
 * recursion guards and concurrent validation of one compiled schema. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"
#include "proto/schema.h"
#include "test.h"
#include "util/arena.h"

static spk__arena_t g_arena; /* parsed documents */

static spk_json_value_t *J(const char *text) {
  spk_json_value_t *v = NULL;
  spk_json_parse_options_t po = {256, SPK_JSON_DUP_LAST_WINS};
  int rc = spk_json_parse(&g_arena, text, strlen(text), &po, &v, NULL);
  if (rc != 0) {
    fprintf(stderr, "bad test JSON: %s\n", text);
    return NULL;
  }
  return v;
}

static spk_schema_t *compile_opts(const char *schema, spk_schema_draft_t draft, int formats,
                                  const spk_schema_registry_t *reg) {
  spk_schema_options_t o = {draft, reg, formats};
  spk_schema_t *s = NULL;
  char err[256];
  int rc = spk_schema_compile(J(schema), &o, &s, err, sizeof(err));
  if (rc != 0) fprintf(stderr, "compile failed (%s): %s\n", err, schema);
  return s;
}

static spk_schema_t *compile(const char *schema) {
  return compile_opts(schema, SPK_SCHEMA_DRAFT_2020_12, 1, NULL);
}

/* Validate; also checks that the quick mode agrees. Returns 1/0. */
typedef struct result {
  int valid;
  spk_schema_error_t *errors;
  size_t count;
} result_t;

static spk__arena_t g_varena;

static result_t run(const spk_schema_t *s, const char *instance) {
  result_t r = {-1, NULL, 0};
  if (!s) return r;
  const spk_json_value_t *inst = J(instance);
  if (!inst) return r;
  r.valid = spk_schema_validate(s, inst, &g_varena, &r.errors, &r.count);
  int quick = spk_schema_validate(s, inst, &g_varena, NULL, NULL);
  CHECK_INT(quick, r.valid);
  if (r.valid == 0) CHECK(r.count > 0);
  if (r.valid == 1) CHECK_INT(r.count, 0);
  return r;
}

static int valid(const char *schema, const char *instance) {
  spk_schema_t *s = compile(schema);
  result_t r = run(s, instance);
  spk_schema_free(s);
  return r.valid;
}

/* The instance location of an error as a JSON pointer. */
static const char *ptr_of(const spk_schema_error_t *e) {
  static char buf[256];
  size_t o = 0;
  buf[0] = '\0';
  for (size_t i = 0; i < e->path_len && o < sizeof(buf) - 32; i++) {
    if (e->path[i].index >= 0)
      o += (size_t)snprintf(buf + o, sizeof(buf) - o, "/%lld", e->path[i].index);
    else
      o += (size_t)snprintf(buf + o, sizeof(buf) - o, "/%.*s", (int)e->path[i].key.len,
                            e->path[i].key.ptr);
  }
  return buf;
}

/* One error expected: check keyword, location and message. */
static void expect1(const char *schema, const char *instance, const char *keyword,
                    const char *location, const char *message) {
  spk_schema_t *s = compile(schema);
  CHECK(s != NULL);
  result_t r = run(s, instance);
  CHECK_INT(r.valid, 0);
  CHECK_INT(r.count, 1);
  if (r.count >= 1) {
    CHECK_STR(r.errors[0].keyword, keyword);
    CHECK_STR(ptr_of(&r.errors[0]), location);
    if (message) CHECK_STR(r.errors[0].message, message);
  }
  spk_schema_free(s);
}

/* ---- keywords ---------------------------------------------------------------------------- */

static void test_type(void) {
  CHECK_INT(valid("{\"type\":\"integer\"}", "1"), 1);
  CHECK_INT(valid("{\"type\":\"integer\"}", "1.0"), 1);
  CHECK_INT(valid("{\"type\":\"integer\"}", "1e3"), 1);
  CHECK_INT(valid("{\"type\":\"integer\"}", "1.5"), 0);
  CHECK_INT(valid("{\"type\":\"number\"}", "7"), 1);
  CHECK_INT(valid("{\"type\":\"string\"}", "\"x\""), 1);
  CHECK_INT(valid("{\"type\":[\"null\",\"boolean\"]}", "null"), 1);
  CHECK_INT(valid("{\"type\":[\"null\",\"boolean\"]}", "false"), 1);
  CHECK_INT(valid("{\"type\":[\"null\",\"boolean\"]}", "0"), 0);
  CHECK_INT(valid("{\"type\":\"object\"}", "[]"), 0);
  CHECK_INT(valid("{\"type\":\"array\"}", "[]"), 1);
  expect1("{\"type\":\"string\"}", "42", "type", "", "42 is not of type \"string\"");
  expect1("{\"type\":[\"string\",\"null\"]}", "42", "type", "",
          "42 is not of types \"string\", \"null\"");
}

static void test_enum_const(void) {
  CHECK_INT(valid("{\"enum\":[1,\"a\",{\"b\":[1]}]}", "1.0"), 1);
  CHECK_INT(valid("{\"enum\":[1,\"a\",{\"b\":[1]}]}", "{\"b\":[1]}"), 1);
  CHECK_INT(valid("{\"enum\":[1,\"a\",{\"b\":[1]}]}", "\"b\""), 0);
  expect1("{\"enum\":[\"light\",\"dark\"]}", "\"blue\"", "enum", "",
          "\"blue\" is not one of [\"light\",\"dark\"]");
  CHECK_INT(valid("{\"const\":{\"a\":1,\"b\":2}}", "{\"b\":2,\"a\":1}"), 1);
  CHECK_INT(valid("{\"const\":null}", "0"), 0);
  CHECK_INT(valid("{\"const\":false}", "0"), 0);
  expect1("{\"const\":\"x\"}", "\"y\"", "const", "", "\"x\" was expected");
}

static void test_numbers(void) {
  CHECK_INT(valid("{\"minimum\":10}", "10"), 1);
  CHECK_INT(valid("{\"exclusiveMinimum\":10}", "10"), 0);
  CHECK_INT(valid("{\"maximum\":1.5}", "1.5"), 1);
  CHECK_INT(valid("{\"exclusiveMaximum\":1.5}", "1.4999999999999999999999"), 1);
  CHECK_INT(valid("{\"maximum\":18446744073709551615}", "18446744073709551616"), 0);
  CHECK_INT(valid("{\"minimum\":-9223372036854775808}", "-9223372036854775808"), 1);
  CHECK_INT(valid("{\"minimum\":-9223372036854775808}", "-9223372036854775809"), 0);
  expect1("{\"minimum\":10}", "5", "minimum", "", "5 is less than the minimum of 10");
  expect1("{\"maximum\":3}", "3.5", "maximum", "", "3.5 is greater than the maximum of 3");
  expect1("{\"exclusiveMinimum\":0}", "0", "exclusiveMinimum", "",
          "0 is less than or equal to the minimum of 0");
  expect1("{\"exclusiveMaximum\":100}", "100", "exclusiveMaximum", "",
          "100 is greater than or equal to the maximum of 100");
  /* multipleOf is exact on the decimal text */
  CHECK_INT(valid("{\"multipleOf\":0.0001}", "0.0075"), 1);
  CHECK_INT(valid("{\"multipleOf\":0.1}", "0.3"), 1);
  CHECK_INT(valid("{\"multipleOf\":0.01}", "19.99"), 1);
  CHECK_INT(valid("{\"multipleOf\":0.01}", "19.999"), 0);
  CHECK_INT(valid("{\"multipleOf\":0.5}", "1e308"), 1);
  CHECK_INT(valid("{\"multipleOf\":3}", "1e2"), 0);
  CHECK_INT(valid("{\"multipleOf\":1e-5}", "12345.67891"), 1);
  CHECK_INT(valid("{\"multipleOf\":7}", "-21"), 1);
  CHECK_INT(valid("{\"multipleOf\":2}", "\"not a number\""), 1);
  expect1("{\"multipleOf\":2}", "7", "multipleOf", "", "7 is not a multiple of 2");
}

static void test_strings(void) {
  CHECK_INT(valid("{\"minLength\":2}", "\"\\u00e9\\u00e9\""), 1); /* 2 code points, 4 bytes */
  CHECK_INT(valid("{\"maxLength\":2}", "\"\\u00e9\\u00e9\""), 1);
  CHECK_INT(valid("{\"minLength\":2}", "\"\\ud83d\\udca9\""), 0); /* one code point */
  CHECK_INT(valid("{\"maxLength\":1}", "\"\\ud83d\\udca9\""), 1);
  CHECK_INT(valid("{\"minLength\":2.0}", "\"ab\""), 1);
  expect1("{\"minLength\":3}", "\"a\"", "minLength", "", "\"a\" is shorter than 3 characters");
  expect1("{\"minLength\":1}", "\"\"", "minLength", "", "\"\" is shorter than 1 character");
  expect1("{\"maxLength\":2}", "\"abc\"", "maxLength", "", "\"abc\" is longer than 2 characters");
  CHECK_INT(valid("{\"pattern\":\"^[a-z]+$\"}", "\"abc\""), 1);
  CHECK_INT(valid("{\"pattern\":\"^[a-z]+$\"}", "\"abC\""), 0);
  CHECK_INT(valid("{\"pattern\":\"b\"}", "\"abc\""), 1); /* not anchored */
  CHECK_INT(valid("{\"pattern\":\"^[a-z]+$\"}", "12"), 1);
  expect1("{\"pattern\":\"^\\\\d+$\"}", "\"x1\"", "pattern", "", "\"x1\" does not match \"^\\\\d+$\"");
}

static void test_regex_dialect(void) {
  CHECK_INT(valid("{\"pattern\":\"^abc$\"}", "\"abc\\n\""), 0);        /* $ only at the end */
  CHECK_INT(valid("{\"pattern\":\"^\\\\d$\"}", "\"\\u0660\""), 0);       /* \d is ASCII */
  CHECK_INT(valid("{\"pattern\":\"^\\\\w$\"}", "\"\\u00e9\""), 0);       /* \w is ASCII */
  CHECK_INT(valid("{\"pattern\":\"^\\\\s$\"}", "\"\\u00a0\""), 1);       /* \s is Unicode */
  CHECK_INT(valid("{\"pattern\":\"^\\\\S$\"}", "\"\\u2003\""), 0);
  CHECK_INT(valid("{\"pattern\":\"^[^\\\\S]$\"}", "\"\\u2003\""), 1);   /* \S inside a class */
  CHECK_INT(valid("{\"pattern\":\"^[x\\\\S]$\"}", "\" \""), 0);
  CHECK_INT(valid("{\"pattern\":\"^.$\"}", "\"\\n\""), 0);              /* . excludes \n */
  CHECK_INT(valid("{\"pattern\":\"^.$\"}", "\"\\ud83d\\udc32\""), 1);   /* UTF mode */
  CHECK_INT(valid("{\"pattern\":\"^\\\\u00e9$\"}", "\"\\u00e9\""), 1);
  CHECK_INT(valid("{\"pattern\":\"^\\\\ud83d\\\\udc32$\"}", "\"\\ud83d\\udc32\""), 1);
  CHECK_INT(valid("{\"pattern\":\"^\\\\p{Lu}\\\\p{Letter}*$\"}", "\"\\u00c9t\\u00e9\""), 1);
  CHECK_INT(valid("{\"pattern\":\"^[]$\"}", "\"a\""), 0);
  CHECK_INT(valid("{\"pattern\":\"^[^]$\"}", "\"\\n\""), 1);
  CHECK_INT(valid("{\"pattern\":\"^(?<y>\\\\d{4})-\\\\k<y>$\"}", "\"2024-2024\""), 1);
  CHECK_INT(valid("{\"pattern\":\"^\\\\cJ$\"}", "\"\\n\""), 1);
  /* catastrophic backtracking is cut by the match limit: no hang, just "no match" */
  CHECK_INT(valid("{\"pattern\":\"^(a+)+$\"}",
                  "\"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa!\""),
           0);
  /* PCRE-only syntax is not ECMA-262 */
  static const char *const bad[] = {"(?P<n>x)", "(?#c)", "(?i)a", "\\\\a", "a**", "(", "[b-a]",
                                    "x{2,1}", "\\\\1", "a{", "\\\\x{41}"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    char schema[128];
    snprintf(schema, sizeof(schema), "{\"pattern\":\"%s\"}", bad[i]);
    spk_schema_t *s = NULL;
    char err[200];
    spk_schema_options_t o = {SPK_SCHEMA_DRAFT_2020_12, NULL, 1};
    CHECK_INT(spk_schema_compile(J(schema), &o, &s, err, sizeof(err)), SPK_EINVAL);
    CHECK(strstr(err, "pattern") != NULL);
    CHECK(s == NULL);
  }
}

static void test_arrays(void) {
  CHECK_INT(valid("{\"minItems\":1,\"maxItems\":2}", "[1]"), 1);
  expect1("{\"minItems\":2}", "[1]", "minItems", "", "[1] has less than 2 items");
  expect1("{\"maxItems\":1}", "[1,2]", "maxItems", "", "[1,2] has more than 1 item");
  CHECK_INT(valid("{\"uniqueItems\":true}", "[1,\"1\",[1],{\"a\":1}]"), 1);
  CHECK_INT(valid("{\"uniqueItems\":true}", "[{\"a\":1,\"b\":2},{\"b\":2,\"a\":1}]"), 0);
  CHECK_INT(valid("{\"uniqueItems\":true}", "[1,1.0]"), 0);
  CHECK_INT(valid("{\"uniqueItems\":false}", "[1,1]"), 1);
  expect1("{\"uniqueItems\":true}", "[1,2,1]", "uniqueItems", "", "[1,2,1] has non-unique elements");
  /* the hashed path (more than 16 items) */
  char big[4096];
  size_t o = 0;
  o += (size_t)snprintf(big + o, sizeof(big) - o, "[");
  for (int i = 0; i < 200; i++) o += (size_t)snprintf(big + o, sizeof(big) - o, "%s%d", i ? "," : "", i);
  snprintf(big + o, sizeof(big) - o, "]");
  CHECK_INT(valid("{\"uniqueItems\":true}", big), 1);
  big[o] = '\0';
  snprintf(big + o, sizeof(big) - o, ",150.0]");
  CHECK_INT(valid("{\"uniqueItems\":true}", big), 0);

  const char *tuple = "{\"prefixItems\":[{\"type\":\"integer\"},{\"type\":\"string\"}],\"items\":false}";
  CHECK_INT(valid(tuple, "[1,\"a\"]"), 1);
  CHECK_INT(valid(tuple, "[1]"), 1);
  expect1(tuple, "[\"x\",\"a\"]", "type", "/0", NULL);
  expect1(tuple, "[1,\"a\",true,null]", "items", "",
          "Additional items are not allowed (true, null were unexpected)");
  expect1("{\"items\":{\"type\":\"integer\"}}", "[1,2,\"3\"]", "type", "/2", NULL);
  CHECK_INT(valid("{\"contains\":{\"const\":3}}", "[1,2,3]"), 1);
  expect1("{\"contains\":{\"const\":3}}", "[1,2]", "contains", "",
          "None of [1,2] are valid under the given schema");
  CHECK_INT(valid("{\"contains\":{\"const\":1},\"minContains\":2}", "[1,2,1]"), 1);
  CHECK_INT(valid("{\"contains\":{\"const\":1},\"minContains\":2}", "[1,2]"), 0);
  CHECK_INT(valid("{\"contains\":{\"const\":1},\"maxContains\":1}", "[1,1]"), 0);
  CHECK_INT(valid("{\"contains\":{\"const\":1},\"minContains\":0}", "[]"), 1);
  CHECK_INT(valid("{\"minContains\":5}", "[]"), 1); /* without contains: ignored */
}

static void test_objects(void) {
  const char *s1 = "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"},"
                   "\"age\":{\"type\":\"integer\",\"minimum\":0}},\"required\":[\"name\",\"age\"],"
                   "\"additionalProperties\":false}";
  CHECK_INT(valid(s1, "{\"name\":\"a\",\"age\":3}"), 1);
  spk_schema_t *s = compile(s1);
  result_t r = run(s, "{\"age\":-1,\"extra\":1,\"more\":true}");
  CHECK_INT(r.valid, 0);
  CHECK_INT(r.count, 4);
  if (r.count == 4) {
    /* sorted by location: the object's own errors first, in evaluation order */
    CHECK_STR(r.errors[0].keyword, "additionalProperties");
    CHECK_MEM(r.errors[0].property.ptr, r.errors[0].property.len, "extra");
    CHECK_STR(r.errors[0].message, "Additional properties are not allowed ('extra' was unexpected)");
    CHECK_STR(r.errors[1].keyword, "additionalProperties");
    CHECK_MEM(r.errors[1].property.ptr, r.errors[1].property.len, "more");
    CHECK_STR(r.errors[2].keyword, "required");
    CHECK_MEM(r.errors[2].property.ptr, r.errors[2].property.len, "name");
    CHECK_STR(r.errors[2].message, "\"name\" is a required property");
    CHECK(r.errors[2].keyword_value && r.errors[2].keyword_value->type == SPK_JSON_ARRAY);
    CHECK_STR(r.errors[3].keyword, "minimum");
    CHECK_STR(ptr_of(&r.errors[3]), "/age");
    CHECK(r.errors[3].instance && r.errors[3].instance->type == SPK_JSON_INT);
    CHECK(r.errors[3].keyword_value && r.errors[3].keyword_value->u.integer == 0);
  }
  spk_schema_free(s);

  CHECK_INT(valid("{\"minProperties\":1}", "{}"), 0);
  expect1("{\"maxProperties\":1}", "{\"a\":1,\"b\":2}", "maxProperties", "",
          "{\"a\":1,\"b\":2} has more than 1 property");
  CHECK_INT(valid("{\"patternProperties\":{\"^x-\":{\"type\":\"string\"}},\"additionalProperties\":false}",
                  "{\"x-a\":\"1\"}"), 1);
  expect1("{\"patternProperties\":{\"^x-\":{\"type\":\"string\"}}}", "{\"x-a\":1}", "type", "/x-a", NULL);
  expect1("{\"additionalProperties\":{\"type\":\"integer\"}}", "{\"a\":\"b\"}", "type", "/a", NULL);
  /* propertyNames: the error is at the object, with the offending name */
  s = compile("{\"propertyNames\":{\"maxLength\":3}}");
  r = run(s, "{\"ok\":1,\"toolong\":2}");
  CHECK_INT(r.count, 1);
  if (r.count == 1) {
    CHECK_STR(r.errors[0].keyword, "maxLength");
    CHECK_STR(ptr_of(&r.errors[0]), "");
    CHECK_MEM(r.errors[0].property.ptr, r.errors[0].property.len, "toolong");
    CHECK_STR(r.errors[0].message, "\"toolong\" is longer than 3 characters");
  }
  spk_schema_free(s);
  /* dependentRequired / dependentSchemas */
  s = compile("{\"dependentRequired\":{\"card\":[\"billing\"]}}");
  r = run(s, "{\"card\":1}");
  CHECK_INT(r.count, 1);
  if (r.count) {
    CHECK_STR(r.errors[0].keyword, "dependentRequired");
    CHECK_MEM(r.errors[0].property.ptr, r.errors[0].property.len, "billing");
  }
  CHECK_INT(run(s, "{\"billing\":1}").valid, 1);
  spk_schema_free(s);
  CHECK_INT(valid("{\"dependentSchemas\":{\"a\":{\"required\":[\"b\"]}}}", "{\"a\":1}"), 0);
  CHECK_INT(valid("{\"dependentSchemas\":{\"a\":{\"required\":[\"b\"]}}}", "{\"c\":1}"), 1);
  /* many properties use the hash index */
  char schema[4096];
  size_t o = (size_t)snprintf(schema, sizeof(schema), "{\"properties\":{");
  for (int i = 0; i < 40; i++)
    o += (size_t)snprintf(schema + o, sizeof(schema) - o, "%s\"p%d\":{\"type\":\"integer\"}", i ? "," : "", i);
  snprintf(schema + o, sizeof(schema) - o, "},\"required\":[\"p7\",\"p39\"],\"additionalProperties\":false}");
  CHECK_INT(valid(schema, "{\"p7\":1,\"p39\":2,\"p20\":3}"), 1);
  CHECK_INT(valid(schema, "{\"p7\":1,\"p39\":\"x\"}"), 0);
  CHECK_INT(valid(schema, "{\"p7\":1}"), 0);
  CHECK_INT(valid(schema, "{\"p7\":1,\"p39\":2,\"p40\":3}"), 0);
}

static void test_applicators(void) {
  CHECK_INT(valid("{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}", "3"), 1);
  CHECK_INT(valid("{\"allOf\":[{\"type\":\"integer\"},{\"minimum\":2}]}", "1"), 0);
  expect1("{\"anyOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", "1", "anyOf", "",
          "1 is not valid under any of the schemas listed in the 'anyOf' keyword");
  expect1("{\"oneOf\":[{\"type\":\"integer\"},{\"minimum\":0}]}", "1", "oneOf", "",
          "1 is valid under more than one of the schemas listed in the 'oneOf' keyword");
  expect1("{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", "1", "oneOf", "",
          "1 is not valid under any of the schemas listed in the 'oneOf' keyword");
  CHECK_INT(valid("{\"oneOf\":[{\"type\":\"string\"},{\"type\":\"null\"}]}", "null"), 1);
  expect1("{\"not\":{\"type\":\"string\"}}", "\"x\"", "not", "",
          "{\"type\":\"string\"} is not allowed for \"x\"");
  const char *cond = "{\"if\":{\"properties\":{\"kind\":{\"const\":\"a\"}}},\"then\":{\"required\":[\"x\"]},"
                     "\"else\":{\"required\":[\"y\"]}}";
  CHECK_INT(valid(cond, "{\"kind\":\"a\",\"x\":1}"), 1);
  CHECK_INT(valid(cond, "{\"kind\":\"b\",\"y\":1}"), 1);
  expect1(cond, "{\"kind\":\"a\",\"y\":1}", "required", "", "\"x\" is a required property");
  expect1("false", "1", "false", "", "False schema does not allow 1");
  CHECK_INT(valid("true", "{\"anything\":[1,2]}"), 1);
  expect1("{\"properties\":{\"a\":false}}", "{\"a\":1}", "false", "/a", NULL);
}

static void test_unevaluated(void) {
  const char *s = "{\"properties\":{\"a\":true},\"anyOf\":[{\"properties\":{\"b\":true}},"
                  "{\"properties\":{\"c\":true}}],\"unevaluatedProperties\":false}";
  CHECK_INT(valid(s, "{\"a\":1,\"b\":2,\"c\":3}"), 1);
  expect1(s, "{\"a\":1,\"d\":2}", "unevaluatedProperties", "",
          "Unevaluated properties are not allowed ('d' was unexpected)");
  /* annotations of a failed branch do not count */
  const char *s2 = "{\"anyOf\":[{\"properties\":{\"b\":{\"type\":\"string\"}},\"required\":[\"b\"]},"
                   "{\"required\":[\"c\"]}],\"unevaluatedProperties\":false}";
  CHECK_INT(valid(s2, "{\"b\":\"x\"}"), 1);
  CHECK_INT(valid(s2, "{\"b\":1,\"c\":2}"), 0);
  /* through $ref and if/then */
  const char *s3 = "{\"$defs\":{\"base\":{\"properties\":{\"id\":true}}},\"$ref\":\"#/$defs/base\","
                   "\"if\":{\"required\":[\"t\"]},\"then\":{\"properties\":{\"t\":true,\"x\":true}},"
                   "\"unevaluatedProperties\":false}";
  CHECK_INT(valid(s3, "{\"id\":1,\"t\":1,\"x\":1}"), 1);
  CHECK_INT(valid(s3, "{\"id\":1,\"x\":1}"), 0);
  /* nested: the inner unevaluatedProperties does not see the outer properties */
  CHECK_INT(valid("{\"properties\":{\"a\":true},\"allOf\":[{\"unevaluatedProperties\":false}]}", "{\"a\":1}"), 0);
  /* items */
  const char *s4 = "{\"prefixItems\":[true],\"contains\":{\"type\":\"string\"},\"unevaluatedItems\":false}";
  CHECK_INT(valid(s4, "[1,\"a\",\"b\"]"), 1);
  expect1(s4, "[1,\"a\",2]", "unevaluatedItems", "", "Unevaluated items are not allowed (2 was unexpected)");
  CHECK_INT(valid("{\"unevaluatedItems\":{\"type\":\"integer\"}}", "[1,2]"), 1);
  expect1("{\"unevaluatedItems\":{\"type\":\"integer\"}}", "[1,\"x\"]", "type", "/1", NULL);
}

static void test_refs(void) {
  const char *tree = "{\"$id\":\"https://example.com/tree\",\"type\":\"object\","
                     "\"properties\":{\"value\":{\"type\":\"number\"},"
                     "\"kids\":{\"type\":\"array\",\"items\":{\"$ref\":\"#\"}}},\"required\":[\"value\"]}";
  CHECK_INT(valid(tree, "{\"value\":1,\"kids\":[{\"value\":2,\"kids\":[]}]}"), 1);
  expect1(tree, "{\"value\":1,\"kids\":[{\"value\":2,\"kids\":[{\"value\":\"x\"}]}]}", "type",
          "/kids/0/kids/0/value", NULL);
  /* escaped pointers */
  CHECK_INT(valid("{\"$defs\":{\"a/b\":{\"type\":\"integer\"},\"c~d\":{\"type\":\"string\"},\"e%f\":{\"minimum\":3}},"
                  "\"allOf\":[{\"$ref\":\"#/$defs/a~1b\"},{\"not\":{\"$ref\":\"#/$defs/c~0d\"}},{\"$ref\":\"#/$defs/e%25f\"}]}",
                  "4"), 1);
  /* anchors, relative $id, 2020-12 $ref with siblings */
  const char *anc = "{\"$id\":\"http://x.test/root.json\",\"$defs\":{\"s\":{\"$id\":\"sub/s.json\",\"$anchor\":\"str\","
                    "\"type\":\"string\"}},\"properties\":{\"a\":{\"$ref\":\"sub/s.json\"},"
                    "\"b\":{\"$ref\":\"http://x.test/sub/s.json#str\",\"maxLength\":2}}}";
  CHECK_INT(valid(anc, "{\"a\":\"x\",\"b\":\"yy\"}"), 1);
  CHECK_INT(valid(anc, "{\"b\":\"yyy\"}"), 0);
  CHECK_INT(valid(anc, "{\"a\":1}"), 0);
  /* draft-07: $ref siblings are ignored, items array + additionalItems, definitions */
  spk_schema_t *s = compile_opts("{\"definitions\":{\"i\":{\"type\":\"integer\"}},\"properties\":{"
                                 "\"a\":{\"$ref\":\"#/definitions/i\",\"maximum\":1}},"
                                 "\"items\":[{\"type\":\"string\"}],\"additionalItems\":false}",
                                 SPK_SCHEMA_DRAFT_07, 1, NULL);
  CHECK(s != NULL);
  CHECK_INT(run(s, "{\"a\":5}").valid, 1);
  CHECK_INT(run(s, "{\"a\":\"x\"}").valid, 0);
  CHECK_INT(run(s, "[\"a\"]").valid, 1);
  result_t r = run(s, "[\"a\",1]");
  CHECK_INT(r.valid, 0);
  if (r.count) CHECK_STR(r.errors[0].keyword, "additionalItems");
  spk_schema_free(s);
  /* $schema selects the dialect over the default */
  s = compile_opts("{\"$schema\":\"http://json-schema.org/draft-07/schema#\",\"items\":[{\"type\":\"string\"}]}",
                   SPK_SCHEMA_DRAFT_2020_12, 1, NULL);
  CHECK(s != NULL);
  CHECK_INT(run(s, "[1]").valid, 0);
  spk_schema_free(s);
  /* $dynamicRef: the outermost dynamic anchor wins */
  const char *dyn = "{\"$id\":\"https://e.test/strict\",\"$dynamicAnchor\":\"node\",\"$ref\":\"list\","
                    "\"$defs\":{"
                    "\"list\":{\"$id\":\"list\",\"$defs\":{\"n\":{\"$dynamicAnchor\":\"node\"}},"
                    "\"type\":\"array\",\"items\":{\"$dynamicRef\":\"#node\"}}}}";
  CHECK_INT(valid(dyn, "[[],[[]]]"), 1);
  CHECK_INT(valid(dyn, "[[],[1]]"), 0);
  /* 2019-09 documents: $recursiveRef, array-form items */
  const char *rec = "{\"$schema\":\"https://json-schema.org/draft/2019-09/schema\",\"$recursiveAnchor\":true,"
                    "\"type\":\"object\",\"additionalProperties\":{\"$recursiveRef\":\"#\"},"
                    "\"items\":[{\"type\":\"string\"}]}";
  CHECK_INT(valid(rec, "{\"a\":{\"b\":{}}}"), 1);
  CHECK_INT(valid(rec, "{\"a\":{\"b\":1}}"), 0);
}

static void test_registry(void) {
  spk_schema_registry_t *reg = spk_schema_registry_new();
  CHECK(reg != NULL);
  CHECK_INT(spk_schema_registry_add(reg, "https://api.test/common.json",
                                    J("{\"$defs\":{\"id\":{\"type\":\"string\",\"format\":\"uuid\"}}}")), 0);
  CHECK_INT(spk_schema_registry_add(reg, "https://api.test/x.json#frag", J("{}")), SPK_EINVAL);
  spk_schema_t *s = compile_opts("{\"properties\":{\"id\":{\"$ref\":\"https://api.test/common.json#/$defs/id\"}}}",
                                 SPK_SCHEMA_DRAFT_2020_12, 1, reg);
  CHECK(s != NULL);
  /* the compiled schema owns its copies: the registry may go away */
  spk_schema_registry_free(reg);
  CHECK_INT(run(s, "{\"id\":\"2eb8aa08-aa98-11ea-b4aa-73b441d16380\"}").valid, 1);
  result_t r = run(s, "{\"id\":\"nope\"}");
  CHECK_INT(r.valid, 0);
  if (r.count) {
    CHECK_STR(r.errors[0].keyword, "format");
    CHECK_STR(r.errors[0].message, "\"nope\" is not a \"uuid\"");
  }
  spk_schema_free(s);
}

static void test_compile_errors(void) {
  static const char *const bad[] = {
      "{\"$ref\":\"#/$defs/missing\"}",
      "{\"$ref\":\"https://nowhere.test/x.json\"}",
      "{\"minLength\":-1}",
      "{\"minLength\":\"3\"}",
      "{\"type\":\"int\"}",
      "{\"required\":\"a\"}",
      "{\"properties\":{\"a\":3}}",
      "{\"allOf\":[]}",
      "{\"multipleOf\":0}",
      "{\"items\":[{}]}",
      "{\"$ref\":\"#nope\"}",
      "[]",
      "3",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    spk_schema_t *s = (spk_schema_t *)1;
    char err[200] = "";
    spk_schema_options_t o = {SPK_SCHEMA_DRAFT_2020_12, NULL, 1};
    int rc = spk_schema_compile(J(bad[i]), &o, &s, err, sizeof(err));
    CHECK_INT(rc, SPK_EINVAL);
    CHECK(s == NULL);
    CHECK(err[0] != '\0');
  }
  /* a tiny error buffer is fine */
  spk_schema_t *s = NULL;
  char tiny[4];
  CHECK_INT(spk_schema_compile(J("{\"$ref\":\"#/x\"}"), NULL, &s, tiny, sizeof(tiny)), SPK_EINVAL);
  CHECK(strlen(tiny) < sizeof(tiny));
  /* opts NULL: 2020-12 with format assertion */
  CHECK_INT(spk_schema_compile(J("{\"format\":\"email\"}"), NULL, &s, NULL, 0), 0);
  spk__arena_t a;
  spk__arena_init(&a, 256);
  CHECK_INT(spk_schema_validate(s, J("\"not-an-email\""), &a, NULL, NULL), 0);
  CHECK_INT(spk_schema_validate(s, J("\"a@b.test\""), &a, NULL, NULL), 1);
  CHECK_INT(spk_schema_validate(NULL, J("1"), &a, NULL, NULL), SPK_EINVAL);
  spk__arena_free(&a);
  spk_schema_free(s);
  spk_schema_free(NULL);
}

static void test_formats(void) {
  struct {
    const char *format, *value;
    int ok;
  } cases[] = {
      {"date", "2024-02-29", 1},
      {"date", "2023-02-29", 0},
      {"date-time", "2024-01-15T10:20:30.5+01:00", 1},
      {"date-time", "2024-01-15 10:20:30Z", 0},
      {"time", "23:59:60Z", 1},
      {"time", "12:00:00", 0},
      {"duration", "P1Y2M3DT4H5M6S", 1},
      {"duration", "PT", 0},
      {"email", "john@example.com", 1},
      {"email", "john..doe@example.com", 0},
      {"hostname", "api.example.com", 1},
      {"hostname", "-bad.example.com", 0},
      {"ipv4", "192.168.0.1", 1},
      {"ipv4", "192.168.0.01", 0},
      {"ipv6", "::ffff:192.168.0.1", 1},
      {"ipv6", "1::2::3", 0},
      {"uri", "https://example.com/a?b#c", 1},
      {"uri", "/relative", 0},
      {"uri-reference", "/relative", 1},
      {"uuid", "2eb8aa08-aa98-11ea-b4aa-73b441d16380", 1},
      {"uuid", "2eb8aa08aa9811eab4aa73b441d16380", 0},
      {"json-pointer", "/a~1b", 1},
      {"json-pointer", "a", 0},
      {"relative-json-pointer", "0#", 1},
      {"regex", "^[a-z]+$", 1},
      {"regex", "^(abc", 0},
      {"idn-hostname", "\\uc2e4\\ub840.\\ud14c\\uc2a4\\ud2b8", 1},
      {"unknown-format", "anything", 1},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    char schema[128], inst[128];
    snprintf(schema, sizeof(schema), "{\"format\":\"%s\"}", cases[i].format);
    snprintf(inst, sizeof(inst), "\"%s\"", cases[i].value);
    int v = valid(schema, inst);
    if (v != cases[i].ok) fprintf(stderr, "format %s on %s\n", cases[i].format, cases[i].value);
    CHECK_INT(v, cases[i].ok);
  }
  /* format is only an annotation when assertion is off */
  spk_schema_t *s = compile_opts("{\"format\":\"ipv4\"}", SPK_SCHEMA_DRAFT_2020_12, 0, NULL);
  CHECK_INT(run(s, "\"x\"").valid, 1);
  spk_schema_free(s);
  CHECK_INT(valid("{\"format\":\"ipv4\"}", "12"), 1); /* non-strings pass */
}

static void test_recursion_guards(void) {
  /* a $ref cycle that never consumes the instance: invalid, with an error, quickly */
  expect1("{\"$ref\":\"#\"}", "1", "$ref", "", NULL);
  CHECK_INT(valid("{\"anyOf\":[{\"$ref\":\"#\"},{\"$ref\":\"#\"}]}", "1"), 0);
  CHECK_INT(valid("{\"$defs\":{\"a\":{\"$ref\":\"#/$defs/b\"},\"b\":{\"$ref\":\"#/$defs/a\"}},\"$ref\":\"#/$defs/a\"}", "{}"), 0);
  /* recursion that consumes the instance is fine */
  CHECK_INT(valid("{\"items\":{\"$ref\":\"#\"}}", "[[[[[[]]]]]]"), 1);
  /* deep instances: fine up to the evaluation depth limit, then an error (never a crash) */
  char *deep = malloc(2 * 1000 + 1);
  for (int depth = 100; depth <= 1000; depth += 900) {
    for (int i = 0; i < depth; i++) deep[i] = '[', deep[depth + i] = ']';
    deep[2 * depth] = '\0';
    spk_json_value_t *v = NULL;
    spk_json_parse_options_t po = {2000, SPK_JSON_DUP_LAST_WINS};
    CHECK_INT(spk_json_parse(&g_arena, deep, (size_t)(2 * depth), &po, &v, NULL), 0);
    spk_schema_t *s = compile("{\"items\":{\"$ref\":\"#\"}}");
    spk_schema_error_t *errs = NULL;
    size_t n = 0;
    int r = spk_schema_validate(s, v, &g_varena, &errs, &n);
    CHECK_INT(r, depth == 100 ? 1 : 0);
    if (depth > 100 && n) CHECK_STR(errs[0].message, "Schema evaluation is nested too deeply");
    spk_schema_free(s);
  }
  free(deep);
}

static void test_messages_bounded(void) {
  /* a huge instance is cut in messages */
  size_t n = 20000;
  char *big = malloc(n + 3);
  big[0] = '"';
  memset(big + 1, 'x', n);
  big[n + 1] = '"';
  big[n + 2] = '\0';
  spk_schema_t *s = compile("{\"maxLength\":1}");
  result_t r = run(s, big);
  CHECK_INT(r.count, 1);
  if (r.count) {
    CHECK(strlen(r.errors[0].message) < 700);
    CHECK(strstr(r.errors[0].message, "...") != NULL);
  }
  spk_schema_free(s);
  free(big);
  /* strings with quotes and control characters are escaped */
  expect1("{\"const\":1}", "\"a\\\"b\\n\"", "const", "", "1 was expected");
  expect1("{\"type\":\"integer\"}", "\"a\\\"b\\n\"", "type", "", "\"a\\\"b\\n\" is not of type \"integer\"");
}

static void test_error_order(void) {
  spk_schema_t *s = compile("{\"type\":\"array\",\"items\":{\"type\":\"object\",\"properties\":{"
                            "\"b\":{\"type\":\"string\"},\"a\":{\"type\":\"string\"}},\"required\":[\"z\"]}}");
  result_t r = run(s, "[{\"b\":1,\"a\":2},{\"a\":3},{}]");
  CHECK_INT(r.count, 6);
  const char *want[] = {"/0", "/0/a", "/0/b", "/1", "/1/a", "/2"};
  for (size_t i = 0; i < r.count && i < 6; i++) CHECK_STR(ptr_of(&r.errors[i]), want[i]);
  spk_schema_free(s);
}

/* ---- threads ------------------------------------------------------------------------------ */

typedef struct worker {
  const spk_schema_t *schema;
  const spk_json_value_t *good, *bad;
  int failures;
} worker_t;

static void *worker_main(void *arg) {
  worker_t *w = arg;
  for (int i = 0; i < 2000; i++) {
    spk__arena_t a;
    spk__arena_init(&a, 1024);
    spk_schema_error_t *errs = NULL;
    size_t n = 0;
    if (spk_schema_validate(w->schema, w->good, &a, &errs, &n) != 1) w->failures++;
    if (spk_schema_validate(w->schema, w->bad, &a, &errs, &n) != 0 || n != 3) w->failures++;
    spk__arena_free(&a);
  }
  return NULL;
}

static void test_threads(void) {
  spk_schema_t *s = compile("{\"type\":\"object\",\"properties\":{\"email\":{\"format\":\"email\"},"
                            "\"code\":{\"pattern\":\"^[A-Z]{3}-\\\\d{4}$\"},"
                            "\"tags\":{\"type\":\"array\",\"uniqueItems\":true,\"items\":{\"pattern\":\"^[a-z]+$\"}}},"
                            "\"patternProperties\":{\"^x-\":{\"type\":\"string\"}},"
                            "\"unevaluatedProperties\":false}");
  CHECK(s != NULL);
  worker_t w[4];
  pthread_t th[4];
  const spk_json_value_t *good = J("{\"email\":\"a@b.test\",\"code\":\"ABC-1234\",\"tags\":[\"x\",\"y\"],\"x-y\":\"z\"}");
  const spk_json_value_t *bad = J("{\"email\":\"nope\",\"code\":\"abc\",\"tags\":[\"x\"],\"other\":1}");
  for (int i = 0; i < 4; i++) {
    w[i] = (worker_t){s, good, bad, 0};
    CHECK_INT(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
  }
  for (int i = 0; i < 4; i++) {
    pthread_join(th[i], NULL);
    CHECK_INT(w[i].failures, 0);
  }
  spk_schema_free(s);
}

int main(void) {
  spk__arena_init(&g_arena, 1 << 16);
  spk__arena_init(&g_varena, 1 << 16);
  RUN(test_type);
  RUN(test_enum_const);
  RUN(test_numbers);
  RUN(test_strings);
  RUN(test_regex_dialect);
  RUN(test_arrays);
  RUN(test_objects);
  RUN(test_applicators);
  RUN(test_unevaluated);
  RUN(test_refs);
  RUN(test_registry);
  RUN(test_compile_errors);
  RUN(test_formats);
  RUN(test_recursion_guards);
  RUN(test_messages_bounded);
  RUN(test_error_order);
  RUN(test_threads);
  spk__arena_free(&g_varena);
  spk__arena_free(&g_arena);
  return test_report("test_schema");
}
