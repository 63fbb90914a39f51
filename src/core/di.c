/* Dependency injection — placeholder (the container lands with the DI feature). */
#include <string.h>

#include "core/app_internal.h"
#include "core/di_internal.h"
#include "core/exchange.h"
#include "core/mw.h"
#include "util/alloc.h"

spk__dep_list_t *spk__dep_list_copy(const char *const *names, const struct spk_dep_def *overrides,
                                    size_t override_count) {
  (void)names, (void)overrides, (void)override_count;
  return NULL;
}

SPK_EXTERN int spk_app_provide(spk_app_t *app, const spk_dep_def_t *def) {
  (void)app, (void)def;
  return SPK_ENOTIMPL;
}
SPK_EXTERN int spk_dep_resolve(spk_dep_t *dep, void *value) {
  (void)dep, (void)value;
  return SPK_ENOTIMPL;
}
SPK_EXTERN int spk_dep_fail(spk_dep_t *dep, const char *reason) {
  (void)dep, (void)reason;
  return SPK_ENOTIMPL;
}
SPK_EXTERN const char *spk_dep_name(const spk_dep_t *dep) {
  (void)dep;
  return "";
}
SPK_EXTERN int spk_req_dep(const spk_req_t *req, const char *name, void **value) {
  (void)req, (void)name, (void)value;
  return SPK_ENOENT;
}
int spk__di_plan_new(spk_app_t *app, const char *const *names, const spk_dep_def_t *overrides,
                     size_t override_count, struct spk__di_plan **out, char *err, size_t errlen) {
  (void)app, (void)names, (void)overrides, (void)override_count, (void)err, (void)errlen;
  *out = NULL;
  return SPK_OK;
}
void spk__di_plan_free(struct spk__di_plan *p) { (void)p; }
int spk__di_resolve(spk__exchange_t *ex, const struct spk__di_plan *plan) {
  (void)ex, (void)plan;
  return SPK__STEP_NEXT;
}
void spk__di_request_end(spk__exchange_t *ex) { (void)ex; }
void spk__di_free(struct spk__di *di) { (void)di; }
