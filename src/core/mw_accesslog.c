/* Middleware "access_log" — placeholder until the feature lands: configuring it is refused, so no
 * configuration is ever silently ignored. */
#include <stdio.h>

#include "core/exchange.h"
#include "core/mw.h"

int spk__mw_accesslog_configure(const spk_json_value_t *cfg, struct spk__mw_accesslog **out, char *err,
                              size_t errlen) {
  (void)cfg;
  *out = NULL;
  snprintf(err, errlen, "\"access_log\" is not implemented yet");
  return SPK_ENOTIMPL;
}

void spk__mw_accesslog_free(struct spk__mw_accesslog *c) { (void)c; }

void spk__mw_accesslog_write(spk__exchange_t *ex, const struct spk__mw_accesslog *c) {
  (void)ex, (void)c;
}
