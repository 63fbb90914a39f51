/* Spikard — lifecycle hooks.
 *
 * Phases, in the order a request meets them:
 *   SPK_HOOK_ON_REQUEST      first, before routing (the request id is already assigned)
 *   SPK_HOOK_PRE_VALIDATION  after routing, CORS, rate limiting and auth; before the contract
 *   SPK_HOOK_PRE_HANDLER     after validation (spk_req_validated is readable), before DI and the
 *                            handler
 *   SPK_HOOK_ON_RESPONSE     after the handler ended its response (status of any value)
 *   SPK_HOOK_ON_ERROR        instead of ON_RESPONSE when the response is an error the core
 *                            produced (404, 405, 4xx from validation, limits or auth, 5xx) or a
 *                            handler failed (negative return)
 * Several hooks per phase run in registration order. A request-phase hook (the first three)
 * may short-circuit: it fills `res` and returns SPK_HOOK_RESPOND; no later hook, validation or
 * handler runs, and neither ON_RESPONSE nor ON_ERROR runs for that response. Response-phase
 * hooks (the last two) all run, in order, and may change status, headers and body; their
 * return value only reports failure.
 *
 * A hook returning a negative SPK_E* code fails the request: the response becomes
 * 500 {"error":"<phase> hook failed: <reason>"} and the ON_ERROR hooks run (a failing ON_ERROR
 * hook leaves that response as it is).
 *
 * Asynchronous request-phase hooks return SPK_HOOK_ASYNC and later, from any thread, call
 * exactly one of spk_req_continue(req) (go on with the pipeline) or spk_res_end(res) (answer
 * with the response they built). Asynchronous response-phase hooks return SPK_HOOK_ASYNC too,
 * may edit `res` from their thread meanwhile, and call spk_req_continue(req) when done (the
 * next hook runs); the request timeout, if any, still applies while they run.
 *
 * With no hook registered for a phase the phase costs one pointer test. */
#ifndef SPIKARD_HOOKS_H
#define SPIKARD_HOOKS_H

#include "app.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum spk_hook_phase {
  SPK_HOOK_ON_REQUEST = 0,
  SPK_HOOK_PRE_VALIDATION = 1,
  SPK_HOOK_PRE_HANDLER = 2,
  SPK_HOOK_ON_RESPONSE = 3,
  SPK_HOOK_ON_ERROR = 4
} spk_hook_phase_t;

typedef enum spk_hook_result {
  SPK_HOOK_CONTINUE = 0, /* go on */
  SPK_HOOK_RESPOND = 1,  /* request phases: `res` is the answer, stop here */
  SPK_HOOK_ASYNC = 2     /* spk_req_continue (or, request phases, spk_res_end) will follow */
} spk_hook_result_t;

/* Runs on the connection's thread. `res` is the response so far (request phases: empty 200). */
typedef int (*spk_hook_fn)(spk_req_t *req, spk_res_t *res, void *user_data);

/* Register a hook. `dependencies` (NULL-terminated names, may be NULL) are resolved through the
 * DI container (di.h) before the hook runs and readable with spk_req_dep; response-phase hooks
 * may only use dependencies the request already resolved. Errors: SPK_EINVAL (bad phase, NULL
 * fn), SPK_EFROZEN, SPK_ENOMEM. */
SPK_EXTERN int spk_app_add_hook(spk_app_t *app, spk_hook_phase_t phase, spk_hook_fn fn,
                                void *user_data);
SPK_EXTERN int spk_app_add_hook_ex(spk_app_t *app, spk_hook_phase_t phase, spk_hook_fn fn,
                                   void *user_data, const char *const *dependencies);

/* After SPK_HOOK_ASYNC (or a dependency factory's SPK_DEP_ASYNC is handled internally): let the
 * pipeline go on. Thread-safe, at most once per suspension; SPK_ESTATE when the request is not
 * suspended. */
SPK_EXTERN int spk_req_continue(spk_req_t *req);

#ifdef __cplusplus
}
#endif
#endif
