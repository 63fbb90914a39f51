/* Spikard's N-API module: the low-level binding that lib/ builds the public API on. */
#include "addon.h"

#include <stdlib.h>

/* Per-environment state: whether the environment is being torn down (its cleanup hooks run
 * before Node's N-API finalizers, so finalizers see the flag). */
typedef struct spkn_env_state {
  napi_env env;
  int closing;
  napi_ref request_class; /* lib/raw.js's RawRequest (setRequestClass), NULL before */
  char *scratch;          /* respond(): string bodies are encoded here once (request.c) */
  size_t scratch_cap;
} spkn_env_state_t;

static void env_cleanup(void *arg) {
  spkn_env_state_t *st = arg;
  st->closing = 1;
}

static void env_state_free(napi_env env, void *data, void *hint) {
  (void)hint;
  spkn_env_state_t *st = data;
  napi_remove_env_cleanup_hook(env, env_cleanup, data);
  if (st->request_class) napi_delete_reference(env, st->request_class);
  free(st->scratch);
  free(data);
}

int spkn_env_closing(napi_env env) {
  spkn_env_state_t *st = NULL;
  if (napi_get_instance_data(env, (void **)&st) != napi_ok || !st) return 1;
  return st->closing;
}

static spkn_env_state_t *env_state(napi_env env) {
  spkn_env_state_t *st = NULL;
  if (napi_get_instance_data(env, (void **)&st) != napi_ok) return NULL;
  return st;
}

napi_value spkn_env_request_class(napi_env env) {
  spkn_env_state_t *st = env_state(env);
  napi_value v = NULL;
  if (!st || !st->request_class || napi_get_reference_value(env, st->request_class, &v) != napi_ok)
    return NULL;
  return v;
}

char *spkn_env_scratch(napi_env env, size_t need, size_t *cap) {
  spkn_env_state_t *st = env_state(env);
  if (!st) return NULL;
  if (st->scratch_cap < need || !st->scratch) {
    size_t n = st->scratch_cap ? st->scratch_cap : 65536;
    while (n < need) n *= 2;
    char *p = malloc(n);
    if (!p) return NULL;
    free(st->scratch);
    st->scratch = p;
    st->scratch_cap = n;
  }
  *cap = st->scratch_cap;
  return st->scratch;
}

/* setRequestClass(ctor): the constructor spkn_build_request instantiates (lib/raw.js). */
static napi_value js_set_request_class(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  napi_valuetype t = napi_undefined;
  napi_get_cb_info(env, info, &argc, argv, NULL, NULL);
  spkn_env_state_t *st = env_state(env);
  if (argc < 1 || napi_typeof(env, argv[0], &t) != napi_ok || t != napi_function || !st) {
    napi_throw_type_error(env, NULL, "setRequestClass(ctor): a constructor is required");
    return NULL;
  }
  if (st->request_class) napi_delete_reference(env, st->request_class);
  st->request_class = NULL;
  if (napi_create_reference(env, argv[0], 1, &st->request_class) != napi_ok)
    spkn_check(env, napi_generic_failure, "setRequestClass failed");
  return NULL;
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
  napi_property_descriptor d = {"setRequestClass", NULL, js_set_request_class, NULL, NULL, NULL,
                                napi_enumerable, NULL};
  if (napi_define_properties(env, exports, 1, &d) != napi_ok) return NULL;
  return exports;
}

NAPI_MODULE(spikard, init)
