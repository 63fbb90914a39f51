/* Dependency injection (di.c): providers, per-route resolution plans, per-request values. */
#ifndef SPK_CORE_DI_INTERNAL_H
#define SPK_CORE_DI_INTERNAL_H

#include "spikard/di.h"

typedef struct spk__exchange spk__exchange_t;
struct spk__di;
struct spk__di_plan;

/* At freeze: compile the plan for a list of names (route or hook), with route overrides.
 * Unknown names and cycles give a plan that answers 500 (and a reason in err). */
int spk__di_plan_new(spk_app_t *app, const char *const *names, const spk_dep_def_t *overrides,
                     size_t override_count, struct spk__di_plan **out, char *err, size_t errlen);
void spk__di_plan_free(struct spk__di_plan *p);
/* Resolve a plan for this request: NEXT, RESPOND (500/503 problem in ex->res), or ASYNC. Call
 * again after the continue: it picks up where it stopped. */
int spk__di_resolve(spk__exchange_t *ex, const struct spk__di_plan *plan);
/* After the response is out: drop per-request values in reverse resolution order. */
void spk__di_request_end(spk__exchange_t *ex);
void spk__di_free(struct spk__di *di);

#endif
