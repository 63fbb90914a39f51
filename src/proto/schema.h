/* JSON Schema validation (draft 2020-12 by default, draft-07 by `$schema`). A schema is compiled
 * once into an immutable validator (thread-safe to share) and then validates any number of
 * instances; validation allocates only from the caller's arena. Remote `$ref`s resolve only
 * through the registry the caller fills — never the network. */
#ifndef SPK_PROTO_SCHEMA_H
#define SPK_PROTO_SCHEMA_H

#include <stddef.h>

#include "proto/json.h"

typedef enum spk_schema_draft {
  SPK_SCHEMA_DRAFT_2020_12 = 0,
  SPK_SCHEMA_DRAFT_07 = 1
} spk_schema_draft_t;

typedef struct spk_schema spk_schema_t;
typedef struct spk_schema_registry spk_schema_registry_t;

/* Documents by absolute URI (the registry copies them). The metaschemas are not preloaded:
 * add them when a schema references them. A URI with a non-empty fragment is SPK_EINVAL ("x#"
 * is "x"); adding a URI again replaces its document. A compiled schema keeps its own copies of
 * the documents it uses, so the registry may be freed right after spk_schema_compile. Not
 * thread-safe while being filled; read-only (shareable) during compilation. A registered
 * document whose $schema is not one of the known drafts can serve as a custom meta-schema: its
 * $vocabulary decides which keywords apply to schemas that declare it. */
spk_schema_registry_t *spk_schema_registry_new(void);
void spk_schema_registry_free(spk_schema_registry_t *reg);
int spk_schema_registry_add(spk_schema_registry_t *reg, const char *uri,
                            const spk_json_value_t *document);

typedef struct spk_schema_options {
  spk_schema_draft_t default_draft; /* when the schema has no $schema */
  const spk_schema_registry_t *registry; /* may be NULL */
  int format_assertion; /* 1 (default for Spikard): `format` is validated, not just annotated */
} spk_schema_options_t;

/* Compile `schema` (copied: the caller's document may go away). On failure returns SPK_EINVAL
 * (invalid schema, unresolvable $ref, bad regex) with a message in errbuf, or SPK_ENOMEM.
 * opts == NULL means draft 2020-12, no registry, format assertion on. errbuf may be NULL.
 * Draft-04/06 `$schema`s get draft-07 semantics; an unknown `$schema` that is not in the
 * registry leaves the default draft.
 * Patterns are ECMA-262 (translated for PCRE2, JIT-compiled when available). The result is
 * immutable: any number of threads may validate against it concurrently. */
int spk_schema_compile(const spk_json_value_t *schema, const spk_schema_options_t *opts,
                       spk_schema_t **out, char *errbuf, size_t errbuf_len);
void spk_schema_free(spk_schema_t *schema);

/* One step of an instance location: an object key or an array index. */
typedef struct spk_schema_loc {
  spk_str_t key;  /* when index < 0 */
  long long index; /* >= 0 for array items */
} spk_schema_loc_t;

typedef struct spk_schema_error {
  const spk_schema_loc_t *path; /* instance location, root first */
  size_t path_len;
  const char *keyword; /* "minLength", "required", "type", "format", …; "false" for a false
                          schema; static storage */
  const spk_json_value_t *instance;     /* the failing value */
  const spk_json_value_t *keyword_value; /* the schema's value for the keyword (limit, enum…) */
  spk_str_t property; /* required: the missing name; additionalProperties/unevaluated…: the
                         unexpected name; dependentRequired: the missing name */
  const char *message; /* human text, jsonschema-crate style, e.g. "\"a\" is a required property" */
} spk_schema_error_t;

/* Validate. Returns 1 (valid), 0 (invalid: *errors holds *count errors, all of them, not only
 * the first, in instance-location order) or SPK_ENOMEM. Errors live in `arena`. `errors` may be
 * NULL to just ask "valid?" (faster: stops at the first failure).
 * Every allocation of the validator (errors, messages, regex match state) comes from `arena`
 * (spk_json_equal may use the heap for very deep values); the schema is only read. Instances rendered inside messages are cut after a few hundred bytes ("..."). A
 * regex that exceeds its match limit (catastrophic backtracking) counts as "no match". A
 * reference cycle that never consumes the instance, or evaluation nested deeper than 600
 * levels, is an error (keyword "$ref") rather than a crash. anyOf/oneOf/not failures are one
 * error of that keyword (their branches' errors are not listed; `if` only selects then/else);
 * propertyNames errors are reported at the object with `property` set to the offending name. */
int spk_schema_validate(const spk_schema_t *schema, const spk_json_value_t *instance,
                        spk__arena_t *arena, spk_schema_error_t **errors, size_t *count);

#endif
