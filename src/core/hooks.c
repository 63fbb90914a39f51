/* Lifecycle hooks — placeholder registry (the runners land with the hooks feature). */
#include "core/app_internal.h"
#include "core/exchange.h"
#include "core/hooks.h"
#include "core/mw.h"

SPK_EXTERN int spk_app_add_hook(spk_app_t *app, spk_hook_phase_t phase, spk_hook_fn fn,
                                void *user_data) {
  return spk_app_add_hook_ex(app, phase, fn, user_data, NULL);
}

SPK_EXTERN int spk_app_add_hook_ex(spk_app_t *app, spk_hook_phase_t phase, spk_hook_fn fn,
                                   void *user_data, const char *const *dependencies) {
  (void)app, (void)phase, (void)fn, (void)user_data, (void)dependencies;
  return SPK_ENOTIMPL;
}

int spk__hooks_run_request(spk__exchange_t *ex, spk_hook_phase_t phase) {
  (void)ex, (void)phase;
  return SPK__STEP_NEXT;
}

void spk__hooks_run_response(spk__exchange_t *ex) { (void)ex; }
int spk__hooks_has(const struct spk__hooks *h, spk_hook_phase_t phase) {
  (void)h, (void)phase;
  return 0;
}
int spk__hooks_freeze(spk_app_t *app) {
  (void)app;
  return SPK_OK;
}
void spk__hooks_free(struct spk__hooks *h) { (void)h; }
