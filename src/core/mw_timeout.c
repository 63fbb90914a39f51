/* Middleware "request_timeout": {"seconds": 30} (or {"ms": 1500}). A request whose response is
 * not complete in time is answered 408 with an empty body and its connection closed; the
 * handler's late spk_res_end is then discarded (conn.c owns the timer). */
#include <stdio.h>

#include "core/exchange.h"
#include "core/mw.h"
#include "util/alloc.h"

struct spk__mw_timeout {
  uint32_t ms;
};

int spk__mw_timeout_configure(const spk_json_value_t *cfg, struct spk__mw_timeout **out,
                              char *err, size_t errlen) {
  *out = NULL;
  if (!cfg || cfg->type != SPK_JSON_OBJECT) {
    snprintf(err, errlen, "\"request_timeout\" must be an object like {\"seconds\": 30}");
    return SPK_EINVAL;
  }
  const spk_json_value_t *en = spk_json_get(cfg, "enabled", 7);
  if (en && en->type == SPK_JSON_BOOL && !en->u.boolean) return SPK_OK;
  const spk_json_value_t *sec = spk_json_get(cfg, "seconds", 7);
  const spk_json_value_t *ms = spk_json_get(cfg, "ms", 2);
  double v;
  if (sec && (sec->type == SPK_JSON_INT || sec->type == SPK_JSON_NUMBER))
    v = (sec->type == SPK_JSON_INT ? (double)sec->u.integer : sec->u.number.value) * 1000.0;
  else if (ms && ms->type == SPK_JSON_INT)
    v = (double)ms->u.integer;
  else {
    snprintf(err, errlen, "\"request_timeout\" needs \"seconds\" (a number)");
    return SPK_EINVAL;
  }
  if (!(v > 0) || v > 86400000.0) {
    snprintf(err, errlen, "\"request_timeout\" must be between 1 ms and one day");
    return SPK_EINVAL;
  }
  struct spk__mw_timeout *c = spk__calloc(1, sizeof(*c));
  if (!c) return SPK_ENOMEM;
  c->ms = (uint32_t)(v < 1 ? 1 : v);
  *out = c;
  return SPK_OK;
}

void spk__mw_timeout_free(struct spk__mw_timeout *c) { spk__free(c); }

uint32_t spk__mw_timeout_ms(const struct spk__mw_timeout *c) { return c ? c->ms : 0; }
