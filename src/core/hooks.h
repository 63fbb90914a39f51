/* Lifecycle hooks (hooks.c): registration and the per-phase runners the pipeline calls. */
#ifndef SPK_CORE_HOOKS_H
#define SPK_CORE_HOOKS_H

#include "spikard/hooks.h"

typedef struct spk__exchange spk__exchange_t;
struct spk__hooks;

/* Run the request-phase hooks of `phase` from ex->hook_i on. SPK__STEP_NEXT when all ran (and
 * ex->hook_i is reset), RESPOND (a hook answered or failed: ex->res, ex->origin set), or ASYNC
 * (a hook or its dependencies suspended; ex->hook_i says where to go on). */
int spk__hooks_run_request(spk__exchange_t *ex, spk_hook_phase_t phase);
/* on_response or on_error, as ex->origin decides (nothing after a hook's short-circuit), from
 * where it stopped. SPK__STEP_NEXT when all ran, ASYNC when a hook suspended (its continue
 * follows). */
int spk__hooks_run_response(spk__exchange_t *ex);
int spk__hooks_has(const struct spk__hooks *h, spk_hook_phase_t phase);
/* Resolve the hooks' dependency lists against the app's providers (at freeze). */
int spk__hooks_freeze(spk_app_t *app);
void spk__hooks_free(struct spk__hooks *h);

#endif
