/* Spikard — dependency injection.
 *
 * The app holds named providers: plain values, or factories (sync or async) that may depend on
 * other providers. A route lists the names its handler needs (spk_route_options_t.dependencies);
 * before the handler runs, the core resolves them and everything they depend on, in
 * topological batches (every provider of a batch only needs earlier batches; the async
 * factories of one batch run concurrently). The handler reads them with spk_req_dep.
 *
 * Scopes:
 *   SPK_DEP_SINGLETON  resolved once per app, on first use, shared by every request and thread
 *   SPK_DEP_REQUEST    resolved once per request, shared by every user within it (default)
 *   SPK_DEP_TRANSIENT  not cached: resolved afresh for each resolution plan that needs it (the
 *                      handler's, each hook's); within one plan its dependents share it, and
 *                      spk_req_dep returns the latest
 * Cleanup: `drop(value, drop_data)` runs after the response has been sent, for every request
 * or transient value, in reverse resolution order; singletons and plain values are dropped when
 * the app is freed.
 *
 * Errors, answered as problem details (application/json):
 *   unknown name (anywhere in the graph)    500 dependency-error "Required dependency not found"
 *   a cycle                                 500 dependency-error "Circular dependency detected"
 *                                           (errors[0].cycle lists it, e.g. ["a","b","a"])
 *   a factory fails (negative return, or spk_dep_fail)
 *                                           503 dependency-error "Service Unavailable"
 * Unknown names and cycles are found when the app is frozen; the route then answers 500 and
 * spk_app_last_error names the problem. */
#ifndef SPIKARD_DI_H
#define SPIKARD_DI_H

#include "app.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum spk_dep_scope {
  SPK_DEP_REQUEST = 0,
  SPK_DEP_SINGLETON = 1,
  SPK_DEP_TRANSIENT = 2
} spk_dep_scope_t;

/* One resolution in progress: handed to a factory, completed by spk_dep_resolve/spk_dep_fail. */
typedef struct spk_dep spk_dep_t;

enum { SPK_DEP_DONE = 0, SPK_DEP_ASYNC = 2 };

/* A factory. Runs on the connection's thread with the request (for a singleton: the request
 * that first needed it). Reads its own dependencies with spk_req_dep. Either resolves before
 * returning SPK_DEP_DONE, or returns SPK_DEP_ASYNC and resolves (or fails) later from any
 * thread. A negative return fails the resolution (503). */
typedef int (*spk_dep_factory_fn)(spk_req_t *req, spk_dep_t *dep, void *user_data);
typedef void (*spk_dep_drop_fn)(void *value, void *drop_data);

typedef struct spk_dep_def {
  const char *name;
  /* A factory, or NULL for a plain value (`value`, scope ignored: it is an app-wide value). */
  spk_dep_factory_fn factory;
  void *user_data;               /* for the factory */
  void *value;                   /* the plain value when factory is NULL */
  const char *const *depends_on; /* NULL-terminated names, may be NULL */
  spk_dep_scope_t scope;
  spk_dep_drop_fn drop;          /* cleanup, may be NULL */
  void *drop_data;
} spk_dep_def_t;

/* Register (or replace, before freeze) a provider. Strings are copied. SPK_EINVAL (no name),
 * SPK_EFROZEN, SPK_ENOMEM. */
SPK_EXTERN int spk_app_provide(spk_app_t *app, const spk_dep_def_t *def);

/* Complete a factory's resolution with `value`. Thread-safe; exactly once per spk_dep_t (a
 * second call, or one after spk_dep_fail, returns SPK_ESTATE). */
SPK_EXTERN int spk_dep_resolve(spk_dep_t *dep, void *value);
/* Fail it: the request is answered 503 (`reason` goes to the log, may be NULL). */
SPK_EXTERN int spk_dep_fail(spk_dep_t *dep, const char *reason);
/* The provider name a factory is resolving (for factories shared by several names). */
SPK_EXTERN const char *spk_dep_name(const spk_dep_t *dep);

/* A resolved dependency of this request: SPK_ENOENT when `name` was not resolved for it. */
SPK_EXTERN int spk_req_dep(const spk_req_t *req, const char *name, void **value);

#ifdef __cplusplus
}
#endif
#endif
