/* The app's internals, shared by the core modules. */
#ifndef SPK_CORE_APP_INTERNAL_H
#define SPK_CORE_APP_INTERNAL_H

#include "core/router.h"
#include "proto/http1.h"
#include "spikard/app.h"

struct spk_app {
  spk__router_t *router;
  spk_limits_t limits;
  spk_h1_limits_t h1_limits; /* derived from limits at freeze */
  int frozen;
};

#endif
