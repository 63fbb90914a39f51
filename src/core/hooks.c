/* Lifecycle hooks: per-phase lists in registration order, run by the pipeline (pipeline.c).
 * Request phases may short-circuit or suspend; response phases run every hook and may suspend
 * between them. */
#include <stdio.h>
#include <string.h>

#include "core/app_internal.h"
#include "core/di_internal.h"
#include "core/exchange.h"
#include "core/hooks.h"
#include "core/mw.h"
#include "util/alloc.h"

#define PHASES 5

typedef struct hook {
  spk_hook_fn fn;
  void *user_data;
  spk__dep_list_t *deps;     /* as registered; compiled into `plan` at freeze */
  struct spk__di_plan *plan; /* NULL: no dependencies */
} hook_t;

struct spk__hooks {
  hook_t *list[PHASES];
  size_t count[PHASES];
  size_t cap[PHASES];
};

/* The names the reference uses in failure bodies. */
static const char *const phase_name[PHASES] = {"onRequest", "preValidation", "preHandler",
                                                "onResponse", "onError"};

SPK_EXTERN int spk_app_add_hook(spk_app_t *app, spk_hook_phase_t phase, spk_hook_fn fn,
                                void *user_data) {
  return spk_app_add_hook_ex(app, phase, fn, user_data, NULL);
}

SPK_EXTERN int spk_app_add_hook_ex(spk_app_t *app, spk_hook_phase_t phase, spk_hook_fn fn,
                                   void *user_data, const char *const *dependencies) {
  if (!app || !fn || (unsigned)phase >= PHASES) return SPK_EINVAL;
  if (app->frozen) return SPK_EFROZEN;
  if (!app->hooks && !(app->hooks = spk__calloc(1, sizeof(*app->hooks)))) return SPK_ENOMEM;
  struct spk__hooks *h = app->hooks;
  if (h->count[phase] == h->cap[phase]) {
    size_t cap = h->cap[phase] ? h->cap[phase] * 2 : 4;
    hook_t *l = spk__realloc(h->list[phase], cap * sizeof(*l));
    if (!l) return SPK_ENOMEM;
    h->list[phase] = l;
    h->cap[phase] = cap;
  }
  hook_t *k = &h->list[phase][h->count[phase]];
  memset(k, 0, sizeof(*k));
  k->fn = fn;
  k->user_data = user_data;
  if (dependencies && dependencies[0]) {
    k->deps = spk__dep_list_copy(dependencies, NULL, 0);
    if (!k->deps) return SPK_ENOMEM;
  }
  h->count[phase]++;
  return SPK_OK;
}

int spk__hooks_has(const struct spk__hooks *h, spk_hook_phase_t phase) {
  return h && (unsigned)phase < PHASES && h->count[phase] > 0;
}

int spk__hooks_freeze(spk_app_t *app) {
  struct spk__hooks *h = app->hooks;
  for (int p = 0; p < PHASES; p++)
    for (size_t i = 0; i < h->count[p]; i++) {
      hook_t *k = &h->list[p][i];
      if (!k->deps || k->plan) continue;
      char err[200] = "";
      int rc = spk__di_plan_new(app, k->deps->names, NULL, 0, &k->plan, err, sizeof(err));
      if (rc) return rc;
      if (err[0])
        snprintf(app->last_error, sizeof(app->last_error), "%s hook #%zu: %s", phase_name[p],
                 i + 1, err);
    }
  return SPK_OK;
}

void spk__hooks_free(struct spk__hooks *h) {
  if (!h) return;
  for (int p = 0; p < PHASES; p++) {
    for (size_t i = 0; i < h->count[p]; i++) {
      spk__free(h->list[p][i].deps);
      spk__di_plan_free(h->list[p][i].plan);
    }
    spk__free(h->list[p]);
  }
  spk__free(h);
}

/* A failing hook: 500 {"error":"<phase> hook failed: <reason>"}. */
static void hook_failed(spk__exchange_t *ex, int phase, int rc) {
  char body[160];
  int n = snprintf(body, sizeof(body), "{\"error\":\"%s hook failed: %s\"}", phase_name[phase],
                   spk_strerror(rc));
  spk_res_t *res = &ex->res;
  res->header_count = 0;
  spk_res_send(res, 500, "application/json", body, (size_t)n);
  ex->origin = SPK__ORIGIN_ERROR;
}

int spk__hooks_run_request(spk__exchange_t *ex, spk_hook_phase_t phase) {
  const struct spk__hooks *h = ex->app->hooks;
  size_t n = h->count[phase];
  ex->origin = SPK__ORIGIN_ERROR; /* before the handler, a response is the core's … */
  while (ex->hook_i < n) {
    const hook_t *k = &h->list[phase][ex->hook_i];
    if (k->plan) {
      /* Resolution is idempotent per request: after a continue it picks up where it was. */
      int r = spk__di_resolve(ex, k->plan);
      if (r != SPK__STEP_NEXT) return r;
    }
    ex->hook_i++;
    ex->origin = SPK__ORIGIN_HOOK; /* … unless a hook answers (now, or after ASYNC) */
    int rc = k->fn(&ex->req, &ex->res, k->user_data);
    if (rc == SPK_HOOK_CONTINUE) {
      ex->origin = SPK__ORIGIN_ERROR;
      continue;
    }
    if (rc == SPK_HOOK_RESPOND) return SPK__STEP_RESPOND;
    if (rc == SPK_HOOK_ASYNC) return SPK__STEP_ASYNC;
    hook_failed(ex, phase, rc < 0 ? rc : SPK_EINVAL);
    return SPK__STEP_RESPOND;
  }
  ex->hook_i = 0;
  return SPK__STEP_NEXT;
}

int spk__hooks_run_response(spk__exchange_t *ex) {
  const struct spk__hooks *h = ex->app->hooks;
  if (ex->origin == SPK__ORIGIN_HOOK) return SPK__STEP_NEXT; /* a short-circuit is final */
  if (!ex->resp_phase) {
    ex->resp_phase = ex->origin == SPK__ORIGIN_HANDLER ? SPK_HOOK_ON_RESPONSE : SPK_HOOK_ON_ERROR;
    ex->hook_i = 0;
  }
  while (ex->hook_i < h->count[ex->resp_phase]) {
    const hook_t *k = &h->list[ex->resp_phase][ex->hook_i++];
    int rc = k->fn(&ex->req, &ex->res, k->user_data);
    if (rc == SPK_HOOK_ASYNC) return SPK__STEP_ASYNC; /* the next one after its continue */
    if (rc >= 0) continue;
    if (ex->resp_phase == SPK_HOOK_ON_ERROR) break; /* nothing left to report it to */
    hook_failed(ex, SPK_HOOK_ON_RESPONSE, rc);
    ex->resp_phase = SPK_HOOK_ON_ERROR; /* the error hooks, from the first */
    ex->hook_i = 0;
  }
  ex->hook_i = 0;
  return SPK__STEP_NEXT;
}
