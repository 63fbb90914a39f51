/* A route's contract: parameter specs and body schema, compiled at registration, and the
 * validation that turns a raw request into coerced values or one 4xx problem-details answer.
 * Immutable after registration; shared by every worker. */
#ifndef SPK_CORE_CONTRACT_H
#define SPK_CORE_CONTRACT_H

#include "core/router.h"
#include "proto/json.h"
#include "proto/schema.h"
#include "spikard/app.h"

typedef enum spk__source {
  SPK__SRC_PATH = 0,
  SPK__SRC_QUERY = 1,
  SPK__SRC_HEADER = 2,
  SPK__SRC_COOKIE = 3
} spk__source_t;

/* Coercion target, from the schema's "type". */
typedef enum spk__coerce {
  SPK__CO_STRING = 0,
  SPK__CO_INTEGER,
  SPK__CO_NUMBER,
  SPK__CO_BOOLEAN,
  SPK__CO_ARRAY,
  SPK__CO_ANY /* no type given: parameters stay text; form fields get numbers/booleans */
} spk__coerce_t;

typedef struct spk__param_spec {
  spk__source_t source;
  const char *name;   /* as declared: the key in validated output and in error locations */
  const char *lookup; /* header: lowercase with '_' → '-'; otherwise the name */
  int required;
  const spk_json_value_t *default_value; /* NULL: none */
  spk__coerce_t coerce;
  spk__coerce_t item_coerce; /* arrays */
  const char *format;        /* uuid, date, date-time, … (coercion errors are *_parsing) */
  const char *item_format;
  spk_schema_t *schema;      /* full schema for constraints; NULL when only a type */
} spk__param_spec_t;

/* An upload field (parameters.files): presence, allowed media types, content sniffing. */
typedef struct spk__file_spec {
  const char *name;
  int required;
  const spk_json_value_t *content_types; /* array of strings, NULL: any */
  int check_magic;
} spk__file_spec_t;

typedef struct spk__contract {
  spk__arena_t arena; /* specs, names, defaults */
  spk__param_spec_t *params;
  size_t param_count;
  spk__file_spec_t *files;
  size_t file_count;
  spk_schema_t *body_schema;
  const spk_json_value_t *body_schema_doc; /* for coercing form/multipart text fields */
  spk_schema_t *response_schema;
  size_t max_body_bytes;
} spk__contract_t;

/* Build from route options and the route's typed segments. *out is NULL when there is nothing
 * to check. SPK_EINVAL with a reason in errbuf. */
int spk__contract_new(const spk__route_t *route, const spk_route_options_t *opts,
                      spk__contract_t **out, char *errbuf, size_t errbuf_len);
void spk__contract_free(spk__contract_t *c);

typedef struct spk__exchange spk__exchange_t;
/* Validate the handler's response (routes with a response schema): a 2xx JSON body that does
 * not conform becomes a 500 problem-details answer. Runs before serialization, on the
 * connection's thread. */
void spk__contract_check_response(const spk__contract_t *c, spk__exchange_t *ex);

/* Validate the exchange's request. Returns 0 (valid: the coerced JSON is stored on the request)
 * or 1 (the response has been filled with the error), or a negative SPK_E* code. */
int spk__contract_check(const spk__contract_t *c, spk__exchange_t *ex);

#endif
