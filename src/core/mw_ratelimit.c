/* Middleware "rate_limit" — placeholder until the feature lands: configuring it is refused, so no
 * configuration is ever silently ignored. */
#include <stdio.h>

#include "core/exchange.h"
#include "core/mw.h"

int spk__mw_ratelimit_configure(const spk_json_value_t *cfg, struct spk__mw_ratelimit **out, char *err,
                              size_t errlen) {
  (void)cfg;
  *out = NULL;
  snprintf(err, errlen, "\"rate_limit\" is not implemented yet");
  return SPK_ENOTIMPL;
}

void spk__mw_ratelimit_free(struct spk__mw_ratelimit *c) { (void)c; }

int spk__mw_ratelimit_check(spk__exchange_t *ex, struct spk__mw_ratelimit *c) {
  (void)ex, (void)c;
  return SPK__STEP_NEXT;
}
