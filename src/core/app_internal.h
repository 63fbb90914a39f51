/* The app's internals, shared by the core modules. */
#ifndef SPK_CORE_APP_INTERNAL_H
#define SPK_CORE_APP_INTERNAL_H

#include "core/mw.h"
#include "core/router.h"
#include "proto/http1.h"
#include "spikard/app.h"

/* What the router's user_data points at: the user's handler plus the route's contract. */
typedef struct spk__endpoint {
  spk_handler_fn handler;
  void *user_data;
  struct spk__contract *contract; /* NULL: nothing to validate */
  int broken;                     /* the contract failed to compile */
  spk__mw_route_t mw;             /* per-route middleware overrides */
  struct spk__dep_list *deps;     /* dependency names + overrides as registered (freeze → di) */
  struct spk__di_plan *di;        /* dependencies to resolve before the handler; NULL: none */
  struct spk__endpoint *next;     /* app-owned list, for freeing */
} spk__endpoint_t;

/* A copy of a dependency list and route overrides (one allocation), kept until freeze. */
typedef struct spk__dep_list {
  const char *const *names; /* NULL-terminated */
  const struct spk_dep_def *overrides;
  size_t override_count;
} spk__dep_list_t;
spk__dep_list_t *spk__dep_list_copy(const char *const *names, const struct spk_dep_def *overrides,
                                    size_t override_count);

struct spk_app {
  spk__router_t *router;
  spk__endpoint_t *endpoints;
  char last_error[256];
  int broken; /* a registration left a broken route: freezing (serving) is refused */
  spk_limits_t limits;
  spk_h1_limits_t h1_limits; /* derived from limits at freeze */
  spk__mw_app_t mw;          /* app-wide middleware (NULL members: off) */
  int cors_any;              /* the app or some route has CORS: check OPTIONS preflights */
  int route_body_limits;     /* some route has its own body limit (conn.c checks at head) */
  struct spk__hooks *hooks;  /* NULL: no hook registered */
  struct spk__di *di;        /* NULL: no provider registered */
  struct spk__bg *bg;        /* background-task pool (thread-safe; mutable after freeze) */
  struct spk__ws_route *ws_routes; /* WebSocket routes' data (ws_route.c) */
  int frozen;
};

#endif
