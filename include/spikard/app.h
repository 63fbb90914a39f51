/* Spikard — the application: routes and settings.
 *
 * Life cycle: spk_app_new → spk_app_route… / spk_app_set_… → spk_app_freeze → serve (server or
 * test client, any number of threads) → spk_app_free. Before freeze the app belongs to one
 * thread. After freeze it is read-only and shared by every worker without locks; any mutating
 * call then returns SPK_EFROZEN. */
#ifndef SPIKARD_APP_H
#define SPIKARD_APP_H

#include "common.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct spk_app spk_app_t;
typedef struct spk_req spk_req_t;
typedef struct spk_res spk_res_t;

/* What a handler tells the core when it returns. */
typedef enum spk_handler_result {
  /* The response is complete: the core ends it (calling spk_res_end is allowed but optional). */
  SPK_HANDLER_DONE = 0,
  /* The handler keeps the response and will call spk_res_end later, from any thread. Until then
   * the request and response stay valid and belong to the handler. */
  SPK_HANDLER_ASYNC = 1
} spk_handler_result_t;

/* A route handler. `user_data` is the pointer given to spk_app_route. Runs on the worker thread
 * that owns the connection (or the test client's thread). Returning a negative SPK_E* code
 * makes the core answer 500 with a problem-details body. */
typedef int (*spk_handler_fn)(spk_req_t *req, spk_res_t *res, void *user_data);

/* Create an empty app. Returns NULL only when out of memory. */
SPK_EXTERN spk_app_t *spk_app_new(void);

/* Free the app. Every server and test client using it must be gone first. */
SPK_EXTERN void spk_app_free(spk_app_t *app);

/* Register `handler` for `method` (an HTTP token such as "GET", case-sensitive, or "*" for any
 * method) on `pattern`:
 *   static segments          /users/me
 *   named parameters         /users/{id}  or  /users/:id      (one segment)
 *   typed parameters         /users/{id:int|integer|float|number|bool|boolean|uuid|date|
 *                                       datetime|date-time|path}
 *   rest of the path         /files/{p:path}  (slashes included; must be the last segment)
 * A pattern that does not end in '/' also answers with a trailing slash (`/items` matches
 * `/items/`); one declared with a trailing slash does not answer without it. Registering GET
 * also answers HEAD (same handler, body dropped) unless HEAD is registered explicitly.
 * Errors: SPK_EINVAL (bad pattern or method), SPK_EEXIST (same method and pattern twice, or two
 * parameter names/types conflicting at one position), SPK_EFROZEN, SPK_ENOMEM. */
SPK_EXTERN int spk_app_route(spk_app_t *app, const char *method, const char *pattern,
                             spk_handler_fn handler, void *user_data);

/* Per-route contracts, all optional (NULL / 0 = none). Schemas are JSON text, compiled once at
 * registration (SPK_EINVAL for invalid JSON or schema, with the reason in spk_app_last_error).
 *
 * `parameters`: parameter schemas grouped by source, the fixture format of testing_data:
 *   {"path":    {"id":   {"type":"integer", "minimum":1}},
 *    "query":   {"tags": {"type":"array", "items":{"type":"string"}, "optional":true},
 *                "limit":{"type":"integer", "default":10}},
 *    "headers": {"X-API-Key": {"type":"string"}},
 *    "cookies": {"session": {"type":"string", "optional":true}}}
 * Each entry is a JSON Schema plus `optional`/`required`/`default`. Path parameters are always
 * required; query and header parameters are required unless `optional: true` or they have a
 * `default`; cookies unless `optional: true` or `required: false`. Header names match
 * case-insensitively with '_' read as '-'. Values are coerced from text by the schema's type
 * (integer, number, boolean, array of those) before validation; typed route segments
 * ({id:int}) add a schema for their parameter unless `parameters.path` gives one.
 *
 * `body_schema`: JSON Schema for the decoded body (JSON, url-encoded or multipart by
 * Content-Type). A route with a body schema answers 415 for other media types, 400 for
 * malformed bodies, 422 with every validation error.
 *
 * Failures produce RFC 9457 problem details before the handler runs; the handler then reads
 * the coerced values with spk_req_validated().
 *
 * A route whose options do not compile is still registered but the app refuses to freeze
 * (spk_app_freeze → SPK_EINVAL, reason in spk_app_last_error): a contract is never silently
 * dropped. */
typedef struct spk_route_options {
  const char *parameters;  /* JSON text, see above */
  const char *body_schema; /* JSON text */
  size_t max_body_bytes;   /* per-route body limit (0: the app's limit) → 413 problem details */
  /* Optional response validation (off unless given): JSON Schema for 2xx JSON bodies the
   * handler produces. A body that does not conform is replaced by a 500 problem-details
   * response (`response-validation-error`, with the errors) — a contract bug is never sent. */
  const char *response_schema;
  /* Per-route middleware overrides, JSON text in the shapes of spk_app_configure (middleware.h):
   * {"cors": {...}, "compression": {...} or false, "request_timeout": {"seconds": 5},
   *  "body_limit": {"max_bytes": 1024}}. */
  const char *middleware;
  /* Dependencies the handler needs (di.h), NULL-terminated names; resolved before it runs. */
  const char *const *dependencies;
  /* Route-level providers replacing the app's of the same name for this route only. */
  const struct spk_dep_def *overrides;
  size_t override_count;
} spk_route_options_t;

SPK_EXTERN int spk_app_route_ex(spk_app_t *app, const char *method, const char *pattern,
                                spk_handler_fn handler, void *user_data,
                                const spk_route_options_t *options);

/* A human-readable reason for the last failed registration on this app ("" if none). Valid
 * until the next registration call. */
SPK_EXTERN const char *spk_app_last_error(const spk_app_t *app);

/* Limits and timeouts. Defaults in parentheses. All may be set until freeze. */
typedef struct spk_limits {
  size_t max_request_line;   /* bytes in the request line (8192) → 414 */
  size_t max_header_count;   /* header fields (100) → 431 */
  size_t max_header_bytes;   /* bytes of the whole head (65536) → 431 */
  size_t max_body_bytes;     /* request body (10 MiB) → 413 */
  uint32_t header_timeout_ms;    /* time to receive a full head (10000) → 408 and close */
  uint32_t body_timeout_ms;      /* idle time between body reads (30000) → 408 and close;
                                    also between write progress to a client that does not read */
  uint32_t keepalive_timeout_ms; /* idle time between requests (5000) → close */
  int allow_connect;             /* accept CONNECT authority-form (0: 405) */
} spk_limits_t;

SPK_EXTERN void spk_limits_default(spk_limits_t *out);
SPK_EXTERN int spk_app_set_limits(spk_app_t *app, const spk_limits_t *limits);
SPK_EXTERN const spk_limits_t *spk_app_limits(const spk_app_t *app);

/* Make the app read-only. Called implicitly by servers and test clients. Idempotent. */
SPK_EXTERN int spk_app_freeze(spk_app_t *app);
SPK_EXTERN int spk_app_is_frozen(const spk_app_t *app);

#ifdef __cplusplus
}
#endif
#endif
