/* Fixture runner — shared types. One job per file:
 *   fx_load.c     find, read and parse fixtures; pending-feature table; template expansion
 *   fx_app.c      build an app (route + contracts + canned handler) from a fixture
 *   fx_request.c  serialize the fixture's request to HTTP/1.1 bytes (query, cookies, forms,
 *                 multipart)
 *   fx_http.c     response parsing, in-memory and loopback-socket transports
 *   fx_compare.c  compare a response with expected_response (tier 1 / tier 2)
 *   fx_stream.c   streamed bodies and SSE (handlers, AsyncAPI message files, checks)
 *   fixture_runner.c  command line, run loop, report, JSON results, floor ratchet
 *
 * The fixture format is described in ../shared/reference/spikard-behaviour.md §1. */
#ifndef SPK_E2E_FX_H
#define SPK_E2E_FX_H

#include <stddef.h>

#include <spikard.h>

#include "proto/json.h"
#include "util/arena.h"
#include "util/buf.h"

/* ---- fixtures (fx_load.c) ---- */

typedef enum fx_state {
  FX_RUNNABLE = 0,
  FX_PENDING = 1, /* needs a feature the project does not have yet (`why` names it) */
  FX_NOT_RUN = 2, /* not a REST fixture, or marked skip (`why` says which) */
  FX_BROKEN = 3   /* could not be read or parsed: counted as a failure (`why`) */
} fx_state_t;

typedef struct fx_fixture {
  char *id;       /* "category/file-stem" */
  char *category;
  char *file;     /* full path */
  fx_state_t state;
  char *why;      /* reason for PENDING / NOT_RUN / BROKEN, NULL otherwise */
  spk__arena_t arena; /* owns the DOM and everything derived from it */
  spk_json_value_t *root;
  const spk_json_value_t *handler;  /* may be NULL */
  const spk_json_value_t *request;
  const spk_json_value_t *expected;
  int expected_status;
  int asyncapi;     /* an AsyncAPI SSE message file, request synthesized (fx_stream.c) */
  char *tmpdirs[8]; /* directories the runner created for this fixture (static_files) */
  size_t ntmpdirs;
  struct fx_bg *bg; /* the `background` state of the app being run (fx_bg.c), or NULL */
} fx_fixture_t;

typedef struct fx_list {
  fx_fixture_t **items;
  size_t len, cap;
} fx_list_t;

/* Append every fixture under `dir` (one sub-directory per category) to `out`, sorted by id.
 * `categories` (count `ncat`) filters when non-empty. Non-REST categories are added as NOT_RUN
 * entries (one per file). Returns 0, or -1 when `dir` cannot be read (message on stderr). */
int fx_load_dir(const char *dir, const char *const *categories, size_t ncat, fx_list_t *out);
void fx_list_free(fx_list_t *list);
void fx_fixture_free(fx_fixture_t *fx);

/* Object member by NUL-terminated key (NULL when absent or `obj` is not an object). */
const spk_json_value_t *fx_get(const spk_json_value_t *obj, const char *key);
/* String member or NULL. */
const char *fx_get_str(const spk_json_value_t *obj, const char *key);
int fx_is(const spk_json_value_t *v, spk_json_type_t t);
/* Compact JSON text of v into the arena (NULL when out of memory). */
char *fx_json_text(spk__arena_t *a, const spk_json_value_t *v, size_t *len);
/* Expand `{{ repeat 'x' N times }}` in s; returns s itself when there is no template. */
const char *fx_expand(spk__arena_t *a, const char *s, size_t len, size_t *out_len);
/* Expand templates in every string of a DOM, in place. */
void fx_expand_dom(spk__arena_t *a, spk_json_value_t *v);

/* ---- the app (fx_app.c) ---- */

/* Build the app for a runnable fixture. On failure returns NULL and writes a one-line reason. */
spk_app_t *fx_app_build(fx_fixture_t *fx, char *err, size_t errlen);

/* ---- middleware (fx_mw.c) ---- */

/* The spk_app_configure document for handler.middleware `mw`: every section the core knows,
 * translated where the fixture format differs, without the directives the runner plays itself
 * (warm-up requests, handler sleeps, files to create, hooks). Returns "" when nothing is left,
 * NULL + reason on failure. Arena-owned. */
const char *fx_mw_config(fx_fixture_t *fx, const spk_json_value_t *mw, char *err,
                         size_t errlen);

/* ---- hooks and dependencies (fx_hooks.c) ---- */

/* Register handler.middleware.lifecycle_hooks from the runner's library of named hooks. */
int fx_hooks_register(fx_fixture_t *fx, spk_app_t *app, char *err, size_t errlen);
/* Register handler.dependencies (app providers), route_overrides and handler_dependencies
 * (into opts), and the binding-level type check of expected_types. */
int fx_deps_register(fx_fixture_t *fx, spk_app_t *app, spk_route_options_t *opts, char *err,
                     size_t errlen);
/* Remove what the translators created on disk for the app just freed (static_files
 * directories). Safe to call when nothing was created. */
void fx_mw_cleanup(fx_fixture_t *fx);

/* ---- background tasks (fx_bg.c) ---- */

typedef struct fx_bg fx_bg_t;
/* For a fixture with a `background` section: a fresh state and its GET state_path route. */
int fx_bg_setup(fx_fixture_t *fx, spk_app_t *app, char *err, size_t errlen);
/* Free the state (after the app). Safe without one. */
void fx_bg_cleanup(fx_fixture_t *fx);
/* The handler's part: spawn a task per body[value_field]; a negative SPK_E* code on failure. */
int fx_bg_spawn_from_body(fx_fixture_t *fx, spk_req_t *req);
/* A hook's part: spawn a task appending `value`. */
int fx_bg_spawn_string(fx_fixture_t *fx, spk_req_t *req, const char *value);
/* A dependency with "cleanup": true records <resource>_opened / _closed into the state. */
int fx_bg_wrap_cleanup(fx_fixture_t *fx, const spk_json_value_t *d, spk_dep_def_t *def);
/* `background.before` requests (socket_port 0: in process). 0 or -1 + why. */
int fx_bg_before(fx_fixture_t *fx, spk_app_t *app, int socket_port, int timeout_ms,
                 const char *host, char *why, size_t whylen);
/* After the response: the state must become expected_state. 0 or -1 + why. */
int fx_bg_check(fx_fixture_t *fx, spk_app_t *app, int socket_port, int timeout_ms, char *why,
                size_t whylen);

/* ---- the request (fx_request.c) ---- */

typedef struct fx_request {
  spk__buf_t bytes;   /* head + body, exactly as sent */
  int is_head;        /* HEAD: the response has no body */
  int short_body;     /* a fixture-given Content-Length promises more than the body has */
} fx_request_t;

/* `host` is the Host header value used unless the fixture sends its own. 0 or -1 + reason. */
int fx_request_build(fx_fixture_t *fx, const char *host, fx_request_t *out, char *err,
                     size_t errlen);
void fx_request_free(fx_request_t *r);

/* ---- responses and transports (fx_http.c) ---- */

typedef struct fx_header {
  char *name; /* lower-case */
  char *value;
} fx_header_t;

typedef struct fx_response {
  int status;
  fx_header_t *headers;
  size_t nheaders;
  char *body;
  size_t body_len;
} fx_response_t;

void fx_response_free(fx_response_t *r);
/* First value of a header (name in any case), or NULL. */
const char *fx_response_header(const fx_response_t *r, const char *name);

/* Parse raw response bytes (a 101 counts as final). 1 complete, 0 incomplete, -1 malformed. */
int fx_parse_response(const char *raw, size_t len, int is_head, int eof, fx_response_t *out);

/* In memory, through spk_test_client_send_raw. 0 or a reason in err. */
int fx_send_inproc(spk_app_t *app, const fx_request_t *req, fx_response_t *out, char *err,
                   size_t errlen);
/* Over loopback to a running server on 127.0.0.1:port; every step bounded by timeout_ms. */
int fx_send_socket(int port, const fx_request_t *req, int timeout_ms, fx_response_t *out,
                   char *err, size_t errlen);

/* ---- streams and SSE (fx_stream.c) ---- */

typedef void (*fx_reply_fill_fn)(spk_res_t *res, const void *reply);
/* fx_app.c: status and echoed headers of the canned reply. */
void fx_reply_fill(spk_res_t *res, const void *reply);
/* A `streaming` / `sse` / AsyncAPI fixture: the handler that streams it (1), not one (0), or
 * -1 with a reason. */
int fx_stream_handler(fx_fixture_t *fx, fx_reply_fill_fn fill, const void *reply,
                      spk_handler_fn *h, void **ud, char *err, size_t errlen);
/* An AsyncAPI message file with protocol "sse": synthesize handler/request/expected (1). */
int fx_asyncapi_sse(fx_fixture_t *fx);
/* The streaming-specific checks (1 = ok, 0 = reason in why). */
int fx_stream_check(const fx_fixture_t *fx, const fx_response_t *res, char *why, size_t cap);
/* Standard base64 (padding optional) appended to b; -1 on a bad character (fx_request.c). */
int fx_base64_decode(spk__buf_t *b, const char *s);
/* ---- WebSocket fixtures (fx_ws.c) ---- */

/* An AsyncAPI message fixture of the websockets category (examples + schema, no request). */
int fx_ws_is_message_fixture(const fx_fixture_t *fx);
/* Mount the fixture's WebSocket route (handler.websocket, or a message fixture's channel). */
int fx_ws_register(fx_fixture_t *fx, spk_app_t *app, const char *route, char *err, size_t errlen);
/* Handshake with `req` (port 0: in memory) into `res`; after a 101, play websocket.messages.
 * 0, or -1 with the first mismatch. */
int fx_ws_session(fx_fixture_t *fx, spk_app_t *app, int port, const fx_request_t *req,
                  int timeout_ms, fx_response_t *res, char *err, size_t errlen);
/* A message fixture: connect to its channel, send every example, check the replies. */
int fx_ws_run_messages(fx_fixture_t *fx, spk_app_t *app, int port, int timeout_ms, char *err,
                       size_t errlen);

/* ---- comparison (fx_compare.c) ---- */

typedef struct fx_verdict {
  int tier1_ok;
  int tier2_ok;
  char tier1_why[512]; /* first tier-1 mismatch ("" when ok) */
  char tier2_why[512]; /* first tier-2 mismatch ("" when ok) */
} fx_verdict_t;

void fx_compare(const fx_fixture_t *fx, const fx_response_t *res, fx_verdict_t *out);

#endif
