/* The app's internals, shared by the core modules. */
#ifndef SPK_CORE_APP_INTERNAL_H
#define SPK_CORE_APP_INTERNAL_H

#include "core/router.h"
#include "proto/http1.h"
#include "spikard/app.h"

/* What the router's user_data points at: the user's handler plus the route's contract. */
typedef struct spk__endpoint {
  spk_handler_fn handler;
  void *user_data;
  struct spk__contract *contract; /* NULL: nothing to validate */
  int broken;                     /* the contract failed to compile */
  struct spk__endpoint *next;     /* app-owned list, for freeing */
} spk__endpoint_t;

struct spk_app {
  spk__router_t *router;
  spk__endpoint_t *endpoints;
  char last_error[256];
  int broken; /* a registration left a broken route: freezing (serving) is refused */
  spk_limits_t limits;
  spk_h1_limits_t h1_limits; /* derived from limits at freeze */
  int frozen;
};

#endif
