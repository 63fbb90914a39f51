/* Middleware "jwt_auth/api_key_auth" — placeholder until the feature lands: configuring it is refused, so no
 * configuration is ever silently ignored. */
#include <stdio.h>

#include "core/exchange.h"
#include "core/mw.h"

int spk__mw_auth_configure(const spk_json_value_t *cfg, struct spk__mw_auth **out, char *err,
                              size_t errlen) {
  (void)cfg;
  *out = NULL;
  snprintf(err, errlen, "\"jwt_auth/api_key_auth\" is not implemented yet");
  return SPK_ENOTIMPL;
}

void spk__mw_auth_free(struct spk__mw_auth *c) { (void)c; }

int spk__mw_auth_configure2(const spk_json_value_t *jwt, const spk_json_value_t *api_key,
                            struct spk__mw_auth **out, char *err, size_t errlen) {
  (void)api_key;
  return spk__mw_auth_configure(jwt, out, err, errlen);
}

int spk__mw_auth_check(spk__exchange_t *ex, const struct spk__mw_auth *c) {
  (void)ex, (void)c;
  return SPK__STEP_NEXT;
}
