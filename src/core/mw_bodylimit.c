/* Middleware "body_limit": {"max_bytes": N} (N >= 1). App-wide it replaces
 * spk_limits_t.max_body_bytes (default 10 MiB; 413 problem details "The request body exceeds the
 * maximum size allowed"); per route it replaces the app's limit for that route, smaller or
 * larger (413 payload-too-large "... for this route").
 *
 * Enforcement (conn.c): the route is looked up when the head is complete; a Content-Length over
 * the limit is answered at once, before any body byte is read, and a chunked body as soon as
 * the decoded bytes pass the limit. Either way the connection is closed after the 413 (the io
 * layer drains what the client still sends for a moment so it reads the answer rather than a
 * reset). The contract re-checks after reading (a body that reaches the pipeline otherwise). */
#include <stdio.h>

#include "core/app_internal.h"
#include "core/contract.h"
#include "core/exchange.h"
#include "core/mw.h"
#include "util/alloc.h"

struct spk__mw_bodylimit {
  uint64_t max_bytes;
};

int spk__mw_bodylimit_configure(const spk_json_value_t *cfg, struct spk__mw_bodylimit **out,
                                char *err, size_t errlen) {
  *out = NULL;
  const spk_json_value_t *mb = cfg && cfg->type == SPK_JSON_OBJECT
                                   ? spk_json_get(cfg, "max_bytes", 9) : NULL;
  /* 0 is refused: as a route's limit it would read as "none" while the app-wide 0 refuses
   * every body; neither is worth the surprise. */
  if (!mb || mb->type != SPK_JSON_INT || mb->u.integer < 1) {
    snprintf(err, errlen, "\"body_limit\" must be an object like {\"max_bytes\": 1048576} "
                          "(max_bytes at least 1)");
    return SPK_EINVAL;
  }
  struct spk__mw_bodylimit *c = spk__calloc(1, sizeof(*c));
  if (!c) return SPK_ENOMEM;
  c->max_bytes = (uint64_t)mb->u.integer;
  *out = c;
  return SPK_OK;
}

void spk__mw_bodylimit_free(struct spk__mw_bodylimit *c) { spk__free(c); }

uint64_t spk__mw_bodylimit_bytes(const struct spk__mw_bodylimit *c) {
  return c ? c->max_bytes : 0;
}

uint64_t spk__route_body_limit(const spk_app_t *app, const char *method, size_t method_len,
                               const char *raw_path, size_t raw_path_len) {
  if (!app->route_body_limits) return 0;
  spk__route_match_t m;
  spk__router_match(app->router, method, method_len, raw_path, raw_path_len, &m);
  if (m.status != SPK__MATCH_FOUND) return 0;
  const spk__endpoint_t *ep = m.route->user_data;
  return ep->contract ? ep->contract->max_body_bytes : 0;
}
