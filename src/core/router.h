/* Router: a radix tree per path, one endpoint table per node (methods). Built before the app is
 * frozen; matching afterwards is read-only and lock-free, and allocates nothing.
 *
 * Pattern syntax and rules: see spk_app_route in include/spikard/app.h. */
#ifndef SPK_CORE_ROUTER_H
#define SPK_CORE_ROUTER_H

#include <stddef.h>

#include "spikard/app.h"

#define SPK__MAX_PARAMS 32

typedef enum spk__param_type {
  SPK__PT_STRING = 0,
  SPK__PT_INT = 1,
  SPK__PT_FLOAT = 2,
  SPK__PT_BOOL = 3,
  SPK__PT_UUID = 4,
  SPK__PT_DATE = 5,
  SPK__PT_DATETIME = 6,
  SPK__PT_PATH = 7
} spk__param_type_t;

/* One registered endpoint: method + pattern. Immutable after registration. */
typedef struct spk__route {
  const char *method;    /* "GET", … or "*" */
  const char *pattern;   /* as registered */
  spk_handler_fn handler;
  void *user_data;
  size_t param_count;
  const char *const *param_names;         /* in order of appearance */
  const spk__param_type_t *param_types;
} spk__route_t;

typedef struct spk__router spk__router_t;

spk__router_t *spk__router_new(void);
void spk__router_free(spk__router_t *r);

/* Register. Errors: SPK_EINVAL (bad pattern: not starting with '/', empty or unclosed '{',
 * bad type name, duplicate parameter name in one pattern, {x:path} not last, more than
 * SPK__MAX_PARAMS parameters, method not a token), SPK_EEXIST (same method + pattern, or a
 * different parameter name/type already at the same position), SPK_ENOMEM. */
int spk__router_add(spk__router_t *r, const char *method, const char *pattern,
                    spk_handler_fn handler, void *user_data);

/* Precompute per-node data for matching (e.g. Allow strings). Called once by freeze. */
int spk__router_freeze(spk__router_t *r);

typedef enum spk__match_status {
  SPK__MATCH_FOUND = 0,
  SPK__MATCH_NOT_FOUND = 404,
  SPK__MATCH_METHOD_NOT_ALLOWED = 405,
  /* OPTIONS on a known path with no OPTIONS (or "*") endpoint: answer 204 + Allow. */
  SPK__MATCH_OPTIONS = 204
} spk__match_status_t;

typedef struct spk__route_match {
  spk__match_status_t status;
  const spk__route_t *route;       /* FOUND only */
  size_t param_count;
  spk_str_t values[SPK__MAX_PARAMS]; /* raw (not decoded) slices into `path`, route order */
  /* For 405 and OPTIONS: "GET, HEAD, POST" (sorted, HEAD implied by GET, OPTIONS included);
   * owned by the router. */
  const char *allow;
} spk__route_match_t;

/* Match method + raw path (no query). HEAD falls back to GET. A path ending in '/' that has no
 * exact match retries without it for patterns that do not end in '/'. Never allocates. */
void spk__router_match(const spk__router_t *r, const char *method, size_t method_len,
                       const char *path, size_t path_len, spk__route_match_t *m);

#endif
