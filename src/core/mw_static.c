/* Middleware "static_files" — placeholder until the feature lands: configuring it is refused, so no
 * configuration is ever silently ignored. */
#include <stdio.h>

#include "core/exchange.h"
#include "core/mw.h"

int spk__mw_static_configure(const spk_json_value_t *cfg, struct spk__mw_static **out, char *err,
                              size_t errlen) {
  (void)cfg;
  *out = NULL;
  snprintf(err, errlen, "\"static_files\" is not implemented yet");
  return SPK_ENOTIMPL;
}

void spk__mw_static_free(struct spk__mw_static *c) { (void)c; }

int spk__mw_static_serve(spk__exchange_t *ex, const struct spk__mw_static *c) {
  (void)ex, (void)c;
  return SPK__STEP_NEXT;
}
