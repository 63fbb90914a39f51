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
 * different parameter name/type already at the same position), SPK_ENOMEM,
 * SPK_EFROZEN (after spk__router_freeze). On any error no route is added and matching is
 * unchanged.
 *
 * Details (router.c):
 *   - A parameter fills a whole segment: `/a-{x}.json`, `/{x}y`, `/x{y}` → SPK_EINVAL.
 *     `{name}` names: [A-Za-z0-9_.-]+; `:name` names: [A-Za-z0-9_]+ (so `/:file.json` is
 *     SPK_EINVAL). A ':' that does not start a segment is literal (`/v1/x:batchGet`).
 *   - Type names: [A-Za-z0-9_-]+ (empty or other characters → SPK_EINVAL). Known names map to
 *     their type (see spk__param_type_from_name); any other name means SPK__PT_STRING, as in
 *     the reference. Types never influence matching: they are checked after the match.
 *   - Literal segments may not contain '{', '}', '?', '#', spaces or control bytes.
 *   - `{x:path}` matches the rest of the path, slashes included, and never matches an empty
 *     rest: `/files/{p:path}` does not answer `/files/` (nor `/files`).
 *   - `{id}` and `:id` at one position are the same parameter; `{id}` vs `{id:int}` or `{id}`
 *     vs `{uid}` at one position → SPK_EEXIST. A parameter and a catch-all may share a
 *     position (the parameter has priority).
 *   - Method: an RFC 9110 token, compared case-sensitively; "*" means any method. */
int spk__router_add(spk__router_t *r, const char *method, const char *pattern,
                    spk_handler_fn handler, void *user_data);

/* Precompute per-node data for matching (e.g. Allow strings). Called once by freeze.
 * (Allow strings are in fact kept up to date by every add; freeze makes the router read-only:
 * later adds return SPK_EFROZEN. Idempotent.) */
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

/* Match method + raw path (no query). Never allocates; read-only, so any number of threads may
 * match concurrently once registration is over. Works the same before and after freeze (Allow
 * strings are maintained at registration).
 *   - Path first: the first pattern in priority order static > parameter > catch-all (per
 *     segment, with backtracking) that covers the path; then the method on that path: the exact
 *     method, else GET for HEAD, else "*"; none → 405 (or SPK__MATCH_OPTIONS for OPTIONS).
 *     Like axum / matchit, a route on a lower-priority pattern is not consulted for a method
 *     the winning path lacks.
 *   - Trailing slash: a pattern that does not end in '/' (and is not a catch-all) also answers
 *     its path + "/" — a twin that ranks as a static "/" segment, so `/a` beats `/{p:path}` for
 *     `/a/`. A pattern declared with a trailing '/' does not answer without it. On a path where
 *     both `/x` (twin) and `/x/` endpoints exist, `/x/`'s win for the same method, and Allow is
 *     the union.
 *   - Values are raw slices of `path`, in the route's parameter order.
 * An empty path or one not starting with '/' is NOT_FOUND. */
void spk__router_match(const spk__router_t *r, const char *method, size_t method_len,
                       const char *path, size_t path_len, spk__route_match_t *m);

/* The type named in `{x:<name>}`. Returns 1 for a known name (int, integer, float, number, bool,
 * boolean, uuid, date, datetime, date-time, path, str, string), else 0 with *out =
 * SPK__PT_STRING — callers may warn about a probable typo. */
int spk__param_type_from_name(const char *name, size_t len, spk__param_type_t *out);

/* Registered routes in registration order (e.g. for OpenAPI generation). The pointers live as
 * long as the router. */
size_t spk__router_route_count(const spk__router_t *r);
const spk__route_t *spk__router_route_at(const spk__router_t *r, size_t i);

#endif
