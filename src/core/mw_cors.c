/* Middleware "cors" — placeholder until the feature lands: configuring it is refused, so no
 * configuration is ever silently ignored. */
#include <stdio.h>

#include "core/exchange.h"
#include "core/mw.h"

int spk__mw_cors_configure(const spk_json_value_t *cfg, struct spk__mw_cors **out, char *err,
                              size_t errlen) {
  (void)cfg;
  *out = NULL;
  snprintf(err, errlen, "\"cors\" is not implemented yet");
  return SPK_ENOTIMPL;
}

void spk__mw_cors_free(struct spk__mw_cors *c) { (void)c; }

int spk__mw_cors_preflight(spk__exchange_t *ex, const struct spk__mw_cors *c) {
  (void)ex, (void)c;
  return SPK__STEP_NEXT;
}

int spk__mw_cors_request(spk__exchange_t *ex, const struct spk__mw_cors *c) {
  (void)ex, (void)c;
  return SPK__STEP_NEXT;
}

void spk__mw_cors_finish(spk__exchange_t *ex) { (void)ex; }
