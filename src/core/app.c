#include <string.h>

#include <stdio.h>

#include "core/app_internal.h"
#include "core/bg.h"
#include "core/ws_internal.h"
#include "core/contract.h"
#include "core/di_internal.h"
#include "core/hooks.h"
#include "util/alloc.h"

SPK_EXTERN void spk_limits_default(spk_limits_t *out) {
  memset(out, 0, sizeof(*out));
  out->max_request_line = 8192;
  out->max_header_count = 100;
  out->max_header_bytes = 65536;
  out->max_body_bytes = 10u * 1024 * 1024;
  out->header_timeout_ms = 10000;
  out->body_timeout_ms = 30000;
  out->keepalive_timeout_ms = 5000;
  out->allow_connect = 0;
}

SPK_EXTERN spk_app_t *spk_app_new(void) {
  spk_app_t *app = spk__calloc(1, sizeof(*app));
  if (!app) return NULL;
  app->router = spk__router_new();
  if (!app->router) {
    spk__free(app);
    return NULL;
  }
  spk_limits_default(&app->limits);
  app->bg = spk__bg_new(app);
  if (!app->bg) {
    spk__router_free(app->router);
    spk__free(app);
    return NULL;
  }
  return app;
}

SPK_EXTERN void spk_app_free(spk_app_t *app) {
  if (!app) return;
  spk__bg_free(app->bg); /* first: running tasks may still spawn follow-ups into it */
  spk__router_free(app->router);
  while (app->endpoints) {
    spk__endpoint_t *next = app->endpoints->next;
    spk__contract_free(app->endpoints->contract);
    spk__mw_route_free(&app->endpoints->mw);
    spk__di_plan_free(app->endpoints->di);
    spk__free(app->endpoints->deps);
    spk__free(app->endpoints);
    app->endpoints = next;
  }
  spk__mw_app_free(&app->mw);
  spk__hooks_free(app->hooks);
  spk__di_free(app->di);
  spk__ws_routes_free(app->ws_routes);
  spk__free(app);
}

/* The route's dependency names and overrides are compiled into a plan at freeze (the providers
 * may be registered after the route); until then keep a copy. */
static int keep_deps(spk__endpoint_t *ep, const spk_route_options_t *o) {
  ep->deps = spk__dep_list_copy(o->dependencies, o->overrides, o->override_count);
  return ep->deps ? SPK_OK : SPK_ENOMEM;
}

SPK_EXTERN int spk_app_route(spk_app_t *app, const char *method, const char *pattern,
                             spk_handler_fn handler, void *user_data) {
  return spk_app_route_ex(app, method, pattern, handler, user_data, NULL);
}

SPK_EXTERN int spk_app_route_ex(spk_app_t *app, const char *method, const char *pattern,
                                spk_handler_fn handler, void *user_data,
                                const spk_route_options_t *options) {
  if (!app) return SPK_EINVAL;
  app->last_error[0] = '\0';
  if (!method || !pattern || !handler) {
    snprintf(app->last_error, sizeof(app->last_error), "method, pattern and handler are required");
    return SPK_EINVAL;
  }
  if (app->frozen) return SPK_EFROZEN;
  spk__endpoint_t *ep = spk__calloc(1, sizeof(*ep));
  if (!ep) return SPK_ENOMEM;
  ep->handler = handler;
  ep->user_data = user_data;
  size_t before = spk__router_route_count(app->router);
  int rc = spk__router_add(app->router, method, pattern, handler, ep);
  if (rc) {
    snprintf(app->last_error, sizeof(app->last_error), "%s %s: %s", method, pattern,
             rc == SPK_EEXIST ? "conflicts with an existing route" : spk_strerror(rc));
    spk__free(ep);
    return rc;
  }
  /* The route is in; its contract needs the parsed pattern (typed segments). A contract that
   * fails to compile leaves the route answering 500 rather than unvalidated: registration
   * errors are reported, and the app should not be served. */
  const spk__route_t *route = spk__router_route_at(app->router, before);
  char err[200] = "";
  rc = SPK_OK;
  spk_route_options_t eff; /* a route's body_limit section is its max_body_bytes */
  if (options) {
    eff = *options;
    options = &eff;
    if (options->middleware)
      rc = spk__mw_route_configure(options->middleware, &ep->mw, err, sizeof(err));
    if (rc == SPK_OK && ep->mw.bodylimit && !eff.max_body_bytes)
      eff.max_body_bytes = (size_t)spk__mw_bodylimit_bytes(ep->mw.bodylimit);
  }
  if (rc == SPK_OK) rc = spk__contract_new(route, options, &ep->contract, err, sizeof(err));
  if (rc == SPK_OK && options && (options->dependencies || options->override_count))
    rc = keep_deps(ep, options);
  ep->next = app->endpoints;
  app->endpoints = ep;
  if (rc) {
    ep->broken = 1;
    snprintf(app->last_error, sizeof(app->last_error), "%s %s: %s", method, pattern,
             err[0] ? err : spk_strerror(rc));
    app->broken = 1;
  }
  return rc;
}

SPK_EXTERN const char *spk_app_last_error(const spk_app_t *app) {
  return app ? app->last_error : "";
}

SPK_EXTERN int spk_app_set_limits(spk_app_t *app, const spk_limits_t *limits) {
  if (!app || !limits) return SPK_EINVAL;
  if (app->frozen) return SPK_EFROZEN;
  if (limits->max_header_count == 0 || limits->max_header_bytes < 64 ||
      limits->max_request_line < 16)
    return SPK_EINVAL;
  app->limits = *limits;
  return SPK_OK;
}

SPK_EXTERN const spk_limits_t *spk_app_limits(const spk_app_t *app) { return &app->limits; }

SPK_EXTERN int spk_app_freeze(spk_app_t *app) {
  if (!app) return SPK_EINVAL;
  if (app->frozen) return SPK_OK;
  if (app->broken) return SPK_EINVAL; /* a route's contract failed to compile */
  int rc = spk__router_freeze(app->router);
  if (rc) return rc;
  app->cors_any = app->mw.cors != NULL;
  for (spk__endpoint_t *ep = app->endpoints; ep; ep = ep->next) {
    if (ep->mw.cors) app->cors_any = 1;
    if (ep->contract && ep->contract->max_body_bytes) app->route_body_limits = 1;
    if (ep->deps && !ep->di) {
      char err[200] = "";
      rc = spk__di_plan_new(app, ep->deps->names, ep->deps->overrides, ep->deps->override_count,
                            &ep->di, err, sizeof(err));
      if (rc == SPK_ENOMEM) return rc;
      if (err[0]) snprintf(app->last_error, sizeof(app->last_error), "%s", err);
    }
  }
  if (app->hooks && (rc = spk__hooks_freeze(app)) != SPK_OK) return rc;
  app->h1_limits.max_request_line = app->limits.max_request_line;
  app->h1_limits.max_header_count = app->limits.max_header_count;
  app->h1_limits.max_header_bytes = app->limits.max_header_bytes;
  app->h1_limits.allow_connect = app->limits.allow_connect;
  app->frozen = 1;
  return SPK_OK;
}

SPK_EXTERN int spk_app_is_frozen(const spk_app_t *app) { return app && app->frozen; }
