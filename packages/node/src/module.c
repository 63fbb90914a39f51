/* Spikard's N-API module: the low-level binding that lib/ builds the public API on. */
#include "addon.h"

#include <stdlib.h>

/* Per-environment state: whether the environment is being torn down (its cleanup hooks run
 * before Node's N-API finalizers, so finalizers see the flag). */
typedef struct spkn_env_state {
  napi_env env;
  int closing;
} spkn_env_state_t;

static void env_cleanup(void *arg) {
  spkn_env_state_t *st = arg;
  st->closing = 1;
}

static void env_state_free(napi_env env, void *data, void *hint) {
  (void)hint;
  napi_remove_env_cleanup_hook(env, env_cleanup, data);
  free(data);
}

int spkn_env_closing(napi_env env) {
  spkn_env_state_t *st = NULL;
  if (napi_get_instance_data(env, (void **)&st) != napi_ok || !st) return 1;
  return st->closing;
}

static napi_value init(napi_env env, napi_value exports) {
  spkn_env_state_t *st = calloc(1, sizeof(*st));
  if (!st) return NULL;
  st->env = env;
  if (napi_set_instance_data(env, st, env_state_free, NULL) != napi_ok) {
    free(st);
    return NULL;
  }
  napi_add_env_cleanup_hook(env, env_cleanup, st);
  if (spkn_init_app(env, exports) != napi_ok || spkn_init_respond(env, exports) != napi_ok ||
      spkn_init_testclient(env, exports) != napi_ok || spkn_init_server(env, exports) != napi_ok ||
      spkn_init_loop(env, exports) != napi_ok ||
      spkn_init_reshook(env, exports) != napi_ok ||
      spkn_init_stream(env, exports) != napi_ok || spkn_init_di(env, exports) != napi_ok ||
      spkn_init_ws(env, exports) != napi_ok || spkn_init_wstc(env, exports) != napi_ok ||
      spkn_init_bg(env, exports) != napi_ok)
    return NULL;
  return exports;
}

NAPI_MODULE(spikard, init)
