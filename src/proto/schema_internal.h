/* JSON Schema internals shared by schema_compile.c, schema_validate.c, schema_format.c,
 * schema_regex.c and schema_uri.c. Never installed.
 *
 * Shape of a compiled schema
 * --------------------------
 * spk_schema_compile copies the root document (and every registry document it reaches) into the
 * schema's own arena, indexes the schema resources ($id), anchors ($anchor, $dynamicAnchor,
 * draft-07 "#name" ids) and turns every reachable subschema into one sch_node_t. Keyword values
 * are pre-extracted (limits as integers, `required` names, property tables with a hash index),
 * `$ref`s are resolved to node pointers, regexes are compiled once with PCRE2 (UTF mode, JIT
 * when available). After compilation nothing in the schema is written again: any number of
 * threads may validate against it at the same time.
 *
 * Regex matching and threads
 * --------------------------
 * pcre2_code is read-only during matching, so it is shared. Everything PCRE2 needs at match
 * time (a general context, a match context with limits and one match-data block) is created
 * lazily per validation call, with PCRE2's memory functions routed to the caller's arena. So a
 * validation never touches the heap and never shares mutable state with another thread. */
#ifndef SPK_PROTO_SCHEMA_INTERNAL_H
#define SPK_PROTO_SCHEMA_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "proto/json.h"
#include "proto/schema.h"
#include "util/arena.h"

/* ---- dialects and vocabularies ---------------------------------------------------------- */

/* Internal dialects: the two public drafts plus 2019-09, so that documents declaring it (the
 * test suite's cross-draft remotes) get 2019-09 keyword semantics. Draft-04/06 map to 07. */
enum { SCH_D2020 = 0, SCH_D07 = 1, SCH_D2019 = 2 };

#define SCH_V_CORE 0x01u
#define SCH_V_APPLICATOR 0x02u
#define SCH_V_UNEVALUATED 0x04u
#define SCH_V_VALIDATION 0x08u
#define SCH_V_METADATA 0x10u
#define SCH_V_FORMAT_ANNOTATION 0x20u
#define SCH_V_FORMAT_ASSERTION 0x40u
#define SCH_V_CONTENT 0x80u
/* The default vocabulary set of a dialect (format is an annotation unless options say so). */
#define SCH_V_DEFAULT (SCH_V_CORE | SCH_V_APPLICATOR | SCH_V_UNEVALUATED | SCH_V_VALIDATION | \
                       SCH_V_METADATA | SCH_V_FORMAT_ANNOTATION | SCH_V_CONTENT)

/* ---- regexes (schema_regex.c) ----------------------------------------------------------- */

typedef struct spk__sch_regex {
  pcre2_code *code;
  const char *source; /* the ECMA-262 pattern as written (NUL-terminated copy) */
  size_t source_len;
  struct spk__sch_regex *next; /* owner's list, for freeing */
} spk__sch_regex_t;

/* Per-validation PCRE2 state, all of it allocated from `arena` on first use. */
typedef struct spk__sch_match_state {
  spk__arena_t *arena;
  pcre2_general_context *gctx;
  pcre2_match_context *mctx;
  pcre2_match_data *md;
} spk__sch_match_state_t;

/* Translate an ECMA-262 pattern (the `u` flag semantics JSON Schema uses) into PCRE2 syntax.
 * out == NULL only checks the syntax. Returns 0, SPK_EINVAL (syntax error; *err is a static
 * message) or SPK_ENOMEM. *out is spk__malloc'ed and NUL-terminated. */
int spk__sch_regex_translate(const char *pat, size_t len, char **out, size_t *out_len,
                             const char **err);
/* Compile pattern[0..len) (ECMA-262). Returns 0 or SPK_EINVAL (message in errbuf) or
 * SPK_ENOMEM. The result is heap-allocated; free with spk__sch_regex_free. */
int spk__sch_regex_compile(const char *pattern, size_t len, spk__sch_regex_t **out, char *errbuf,
                           size_t errbuf_len);
void spk__sch_regex_free(spk__sch_regex_t *re);
/* Search for the pattern in s[0..len). 1 match, 0 no match, SPK_ENOMEM, or SPK_ERANGE when a
 * match/heap limit was hit or the subject is not valid UTF-8 (callers treat it as no match). */
int spk__sch_regex_match(const spk__sch_regex_t *re, spk__sch_match_state_t *st, const char *s,
                         size_t len);
/* `format: regex`: 1 when s is a syntactically valid ECMA-262 pattern. Allocation-free. */
int spk__sch_regex_is_valid(const char *s, size_t len);

/* ---- formats (schema_format.c) ---------------------------------------------------------- */

/* 1 when s[0..len) conforms. */
typedef int (*spk__sch_format_fn)(const char *s, size_t len);
/* The checker for a format name, or NULL when the name is unknown (unknown formats pass). */
spk__sch_format_fn spk__sch_format_lookup(const char *name, size_t len);

/* ---- URIs (schema_uri.c) ------------------------------------------------------------------ */

/* Resolve `ref` against the absolute `base` (RFC 3986 §5.2). Writes a NUL-terminated,
 * spk__malloc'ed result to *out. 0 or SPK_ENOMEM. */
int spk__sch_uri_resolve(const char *base, size_t base_len, const char *ref, size_t ref_len,
                         char **out, size_t *out_len);
/* Length of uri without its fragment (the '#' and what follows). */
size_t spk__sch_uri_strip_fragment(const char *uri, size_t len);
/* 1 when s starts with a URI scheme ("x:"). */
int spk__sch_uri_has_scheme(const char *s, size_t len);

/* ---- compiled form ---------------------------------------------------------------------- */

typedef struct sch_node sch_node_t;
typedef struct sch_res sch_res_t;

typedef struct sch_dyn {
  const char *name;
  size_t name_len;
  sch_node_t *node;
} sch_dyn_t;

/* A schema resource: the document root or a subschema with $id. */
struct sch_res {
  const char *uri; /* absolute, without fragment */
  size_t uri_len;
  const spk_json_value_t *root;
  unsigned char draft;
  unsigned vocab;
  /* $dynamicAnchor (and 2019-09 $recursiveAnchor, name "") targets, filled after compiling. */
  sch_dyn_t *dyn;
  size_t n_dyn;
  sch_res_t *next;
};

enum { SCH_NODE_TRUE = 0, SCH_NODE_FALSE = 1, SCH_NODE_OBJECT = 2 };

/* `type` bits */
#define SCH_T_NULL 0x01u
#define SCH_T_BOOLEAN 0x02u
#define SCH_T_INTEGER 0x04u
#define SCH_T_NUMBER 0x08u
#define SCH_T_STRING 0x10u
#define SCH_T_ARRAY 0x20u
#define SCH_T_OBJECT 0x40u

typedef struct sch_prop {
  spk_str_t key;
  sch_node_t *schema;
} sch_prop_t;

typedef struct sch_pattern_prop {
  const spk__sch_regex_t *re;
  sch_node_t *schema;
} sch_pattern_prop_t;

typedef struct sch_dep_required {
  spk_str_t key;
  const spk_json_value_t *names; /* array of strings */
  const char *keyword;           /* "dependentRequired" or "dependencies" */
} sch_dep_required_t;

typedef struct sch_dep_schema {
  spk_str_t key;
  sch_node_t *schema;
  const char *keyword; /* "dependentSchemas" or "dependencies" */
} sch_dep_schema_t;

typedef struct sch_required {
  spk_str_t name;
  long prop; /* index into props when the name is also a property, else -1 */
} sch_required_t;

/* Which groups of keywords a node has, so validation skips whole sections. */
#define SCH_H_NUMERIC 0x0001u
#define SCH_H_STRING 0x0002u
#define SCH_H_ARRAY 0x0004u
#define SCH_H_OBJECT 0x0008u
#define SCH_H_INPLACE 0x0010u /* allOf anyOf oneOf not if dependentSchemas */
#define SCH_H_MEMBERS 0x0020u /* properties patternProperties additionalProperties */

struct sch_node {
  unsigned char kind;
  unsigned char draft;
  unsigned has;
  const spk_json_value_t *json; /* this schema (object or boolean) */
  const sch_res_t *res;

  /* references */
  sch_node_t *ref;
  const spk_json_value_t *ref_kw;
  sch_node_t *dyn_ref; /* static target of $dynamicRef / $recursiveRef */
  const spk_json_value_t *dyn_ref_kw;
  const char *dyn_name; /* non-NULL when the reference is dynamic (bookended anchor) */
  size_t dyn_name_len;

  /* any type */
  unsigned types;
  const spk_json_value_t *type_kw, *enum_kw, *const_kw;

  /* numbers */
  const spk_json_value_t *minimum, *maximum, *exclusive_minimum, *exclusive_maximum,
      *multiple_of;

  /* strings */
  size_t min_length, max_length; /* max_length SIZE_MAX when absent */
  const spk_json_value_t *min_length_kw, *max_length_kw;
  const spk__sch_regex_t *pattern;
  const spk_json_value_t *pattern_kw;
  spk__sch_format_fn format;
  const spk_json_value_t *format_kw;
  /* draft-07 content assertion: contentEncoding "base64", contentMediaType JSON */
  int content_base64, content_json;
  const spk_json_value_t *content_encoding_kw, *content_media_type_kw;

  /* arrays */
  size_t min_items, max_items;
  const spk_json_value_t *min_items_kw, *max_items_kw;
  int unique_items;
  const spk_json_value_t *unique_items_kw;
  sch_node_t **prefix; /* prefixItems, or draft-07 array-form items */
  size_t n_prefix;
  const spk_json_value_t *prefix_kw;
  sch_node_t *items; /* applies after the prefix: items (2020-12) / additionalItems (07) */
  const spk_json_value_t *items_kw;
  const char *items_keyword;
  sch_node_t *contains;
  const spk_json_value_t *contains_kw;
  size_t min_contains, max_contains;
  const spk_json_value_t *min_contains_kw, *max_contains_kw;
  sch_node_t *unevaluated_items;
  const spk_json_value_t *unevaluated_items_kw;

  /* objects */
  size_t min_properties, max_properties;
  const spk_json_value_t *min_properties_kw, *max_properties_kw;
  sch_required_t *required;
  size_t n_required;
  const spk_json_value_t *required_kw;
  sch_prop_t *props;
  size_t n_props;
  const spk_json_value_t *props_kw;
  uint32_t *props_index; /* open addressing over props (index + 1; 0 = empty), or NULL */
  size_t props_index_mask;
  sch_pattern_prop_t *pattern_props;
  size_t n_pattern_props;
  sch_node_t *additional_props;
  const spk_json_value_t *additional_props_kw;
  sch_node_t *property_names;
  sch_dep_required_t *dep_required;
  size_t n_dep_required;
  sch_dep_schema_t *dep_schemas;
  size_t n_dep_schemas;
  sch_node_t *unevaluated_props;
  const spk_json_value_t *unevaluated_props_kw;

  /* in-place applicators */
  sch_node_t **all_of, **any_of, **one_of;
  size_t n_all_of, n_any_of, n_one_of;
  const spk_json_value_t *any_of_kw, *one_of_kw;
  sch_node_t *not_;
  const spk_json_value_t *not_kw;
  sch_node_t *if_, *then_, *else_;
};

struct spk_schema {
  spk__arena_t arena; /* nodes, resources, copied documents */
  sch_node_t *root;
  sch_res_t *resources;
  spk__sch_regex_t *regexes;
};

/* Hash of a property name (FNV-1a), shared by compile (index build) and validate (lookup). */
static inline uint32_t spk__sch_hash(const char *s, size_t n) {
  uint32_t h = 2166136261u;
  for (size_t i = 0; i < n; i++) {
    h ^= (unsigned char)s[i];
    h *= 16777619u;
  }
  return h;
}

#endif
