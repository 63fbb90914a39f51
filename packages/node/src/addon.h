/* Spikard for Node — the N-API addon's shared types.
 *
 * Threads: the app, its routes and every napi_* call belong to the JS thread. Route handlers
 * run on the core's threads (server workers, or the libuv pool thread that drives the test
 * client); each hands its exchange to the JS thread through the app's threadsafe function
 * and returns SPK_HANDLER_ASYNC. JS answers through respond(), which ends the response with
 * spk_res_end (thread-safe), so the core's own async-completion contract does the rest. */
#ifndef SPK_NODE_ADDON_H
#define SPK_NODE_ADDON_H

#include <node_api.h>
#include <pthread.h>

#include "spikard/app.h"

typedef struct spkn_app spkn_app_t;

typedef struct spkn_route {
  spkn_app_t *app;
  uint32_t index; /* the JS side's route number */
  struct spkn_route *handshake; /* WebSocket routes: the JS handshake handler's slot, or NULL */
} spkn_route_t;

struct spkn_app {
  napi_env env;          /* the environment that owns the app */
  pthread_t js_thread;   /* its thread: handlers called there run JS directly */
  spk_app_t *app;
  napi_threadsafe_function tsfn; /* calls the JS dispatcher; NULL until the first server/client */
  int tsfn_refs;                 /* running servers keep Node's loop alive */
  int dying;                     /* freed when the threadsafe function is finalized */
  int users;                     /* the JS app object + live servers/test clients */
  spkn_route_t **routes;
  size_t route_count, route_cap;
  napi_ref dispatch;             /* JS function(routeIndex, request, responseHandle) */
};

/* Release one user; the last one frees the app (JS thread). */
void spkn_app_unuse(spkn_app_t *a);
/* Make sure the threadsafe function exists (JS thread). */
napi_status spkn_app_ensure_tsfn(napi_env env, spkn_app_t *a);
void spkn_app_ref_loop(napi_env env, spkn_app_t *a, int delta);

/* A tagged external (see spkn_unwrap). */
napi_status spkn_wrap(napi_env env, void *p, napi_finalize fin, napi_value *out);
/* Unwrap an external created by this addon. NULL (and a pending TypeError) otherwise. */
void *spkn_unwrap(napi_env env, napi_value v, const char *what);
/* Throw unless status is napi_ok; returns 1 when it threw. */
int spkn_check(napi_env env, napi_status st, const char *what);

/* 1 while the environment is being torn down (no JS will run again). */
int spkn_env_closing(napi_env env);
/* lib/raw.js's request constructor (setRequestClass), or NULL before it registered. */
napi_value spkn_env_request_class(napi_env env);
/* The environment's scratch buffer, grown to at least `need` bytes; *cap is its size. JS thread
 * only; valid until the next call. NULL when out of memory. */
char *spkn_env_scratch(napi_env env, size_t need, size_t *cap);

/* Module parts: each adds its functions to `exports`. */
napi_status spkn_init_app(napi_env env, napi_value exports);
napi_status spkn_init_respond(napi_env env, napi_value exports);
napi_status spkn_init_testclient(napi_env env, napi_value exports);
napi_status spkn_init_server(napi_env env, napi_value exports);
napi_status spkn_init_loop(napi_env env, napi_value exports);

/* What the app's threadsafe function carries: the first int of the item says which. */
enum { SPKN_KIND_CALL = 0, SPKN_KIND_RESHOOK = 1, SPKN_KIND_DEP = 2, SPKN_KIND_DROP = 3,
       SPKN_KIND_WS = 4, SPKN_KIND_BG = 5 };

/* A new route/hook slot of the app for JS table entry `index` (NULL: out of memory). */
spkn_route_t *spkn_app_new_slot(spkn_app_t *a, uint32_t index);

/* streamres.c: streamed responses and SSE from JS. */
struct spk_stream;
napi_value spkn_stream_wrap(napi_env env, struct spk_stream *stream);
napi_status spkn_init_stream(napi_env env, napi_value exports);

/* reshook.c: response-phase hooks (on_response, on_error). */
int spkn_reshook_handler(spk_req_t *req, spk_res_t *res, void *user_data);
void spkn_rcall_js(napi_env env, napi_value js_cb, void *data);
napi_status spkn_init_reshook(napi_env env, napi_value exports);

/* request.c: the C handler every JS route uses, and the JS-thread half of it. */
napi_value spkn_build_request(napi_env env, spk_req_t *req);
int spkn_route_handler(spk_req_t *req, spk_res_t *res, void *user_data);
/* The same for a request-phase hook (SPK_HOOK_* results). */
int spkn_hook_handler(spk_req_t *req, spk_res_t *res, void *user_data);
void spkn_call_js(napi_env env, napi_value js_cb, void *context, void *data);

/* di.c: dependency injection (providers, route dependencies and overrides). */
typedef struct spkn_di_route spkn_di_route_t;
spkn_di_route_t *spkn_di_route_options(napi_env env, spkn_app_t *a, napi_value opts,
                                       spk_route_options_t *o, int *bad);
void spkn_di_route_free(spkn_di_route_t *r, int registered);
void spkn_di_call_js(napi_env env, napi_value js_cb, void *data);
napi_status spkn_init_di(napi_env env, napi_value exports);
/* ws.c / wstc.c: WebSocket routes, pub/sub, the test client's WebSocket side. */
void spkn_ws_call_js(napi_env env, napi_value js_cb, void *data);
napi_status spkn_init_ws(napi_env env, napi_value exports);
napi_status spkn_init_wstc(napi_env env, napi_value exports);
struct spk_test_client;
/* The core test client behind a JS test client handle (NULL and a pending TypeError). */
struct spk_test_client *spkn_tc_client(napi_env env, napi_value handle);
/* bg.c: background tasks. */
void spkn_bg_call_js(napi_env env, napi_value js_cb, void *data);
napi_status spkn_init_bg(napi_env env, napi_value exports);
/* The request behind a response-phase hook handle while the hook runs (else NULL + TypeError). */
spk_req_t *spkn_rhandle_req(napi_env env, napi_value handle, spkn_app_t **app);
/* The request behind a route/hook response handle (NULL and a pending TypeError otherwise). */
spk_req_t *spkn_handle_req(napi_env env, napi_value handle, spkn_app_t **app);

#endif
