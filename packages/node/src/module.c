/* Spikard's N-API module: the low-level binding that lib/ builds the public API on. */
#include "addon.h"

static napi_value init(napi_env env, napi_value exports) {
  if (spkn_init_app(env, exports) != napi_ok || spkn_init_respond(env, exports) != napi_ok ||
      spkn_init_testclient(env, exports) != napi_ok || spkn_init_server(env, exports) != napi_ok ||
      spkn_init_loop(env, exports) != napi_ok)
    return NULL;
  return exports;
}

NAPI_MODULE(spikard, init)
