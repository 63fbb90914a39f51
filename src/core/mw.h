/* Middleware: the internal interface between the pipeline and each feature module.
 *
 * Every module compiles its JSON section (spk_app_configure, or a route's `middleware`) into an
 * immutable config owned by the app (or the endpoint). A NULL config means "off": the pipeline
 * tests the pointer and calls nothing, so an unconfigured feature costs one branch.
 *
 * Request-side steps return SPK__STEP_*; response-side steps (finish) run on the connection's
 * thread after the response is complete, before it is serialized.
 *
 * Order (pipeline.c):
 *   begin:  request id → on_request hooks → route (CORS preflight, static files on a miss)
 *           → CORS origin check → rate limit → auth (API key, then JWT) → pre_validation hooks
 *           → contract → pre_handler hooks → DI → handler
 *   finish: response validation → on_response / on_error hooks → CORS headers → RateLimit
 *           headers → request id header → compression → access log */
#ifndef SPK_CORE_MW_H
#define SPK_CORE_MW_H

#include <stdint.h>
#include <time.h>

#include "core/router.h"
#include "proto/json.h"

typedef struct spk__exchange spk__exchange_t;

enum {
  SPK__STEP_NEXT = 0,    /* go on */
  SPK__STEP_RESPOND = 1, /* ex->res is the answer (ex->origin says who made it) */
  SPK__STEP_ASYNC = 2    /* suspended: spk__exchange_continue or spk_res_end follows */
};

/* Who produced the final response: decides between on_response and on_error hooks. */
enum {
  SPK__ORIGIN_HANDLER = 0, /* the handler (any status) */
  SPK__ORIGIN_HOOK = 1,    /* a request-phase hook short-circuited: no response hooks */
  SPK__ORIGIN_ERROR = 2    /* the core refused (4xx/5xx) or a handler/hook failed */
};

/* Signature of every section compiler: `cfg` is the JSON section, `*out` receives the compiled
 * config (NULL = off, e.g. {"enabled": false}); on failure a reason in err (without the
 * section's name: the caller prefixes it). `cfg` lives only during the call: copy what you keep.
 * The same compiler serves app-level and route-level sections. */
#define SPK__MW_CONFIGURE(name)                                                               \
  int spk__mw_##name##_configure(const spk_json_value_t *cfg, struct spk__mw_##name **out,  \
                                 char *err, size_t errlen);                                  \
  void spk__mw_##name##_free(struct spk__mw_##name *c)

struct spk__mw_compress;
struct spk__mw_ratelimit;
struct spk__mw_cors;
struct spk__mw_auth;
struct spk__mw_static;
struct spk__mw_reqid;
struct spk__mw_timeout;
struct spk__mw_bodylimit;
struct spk__mw_accesslog;
struct spk__mw_sse;

SPK__MW_CONFIGURE(compress);   /* "compression"   mw_compress.c */
SPK__MW_CONFIGURE(ratelimit);  /* "rate_limit"    mw_ratelimit.c */
SPK__MW_CONFIGURE(cors);       /* "cors"          mw_cors.c */
SPK__MW_CONFIGURE(auth);       /* "jwt_auth" + "api_key_auth" (one config, see mw_auth.c) */
SPK__MW_CONFIGURE(static);     /* "static_files"  mw_static.c */
SPK__MW_CONFIGURE(reqid);      /* "request_id"    mw_reqid.c */
SPK__MW_CONFIGURE(timeout);    /* "request_timeout" mw_timeout.c */
SPK__MW_CONFIGURE(bodylimit);  /* "body_limit"    mw_bodylimit.c */
SPK__MW_CONFIGURE(accesslog);  /* "access_log"    mw_accesslog.c */
SPK__MW_CONFIGURE(sse);        /* "sse"           sse.c (keep-alive interval) */

/* Auth takes two sections; it is configured through this instead of the generic compiler's
 * `cfg` (either may be NULL; both NULL → *out = NULL). */
int spk__mw_auth_configure2(const spk_json_value_t *jwt, const spk_json_value_t *api_key,
                            struct spk__mw_auth **out, char *err, size_t errlen);

/* The app's middleware (NULL members are off). */
typedef struct spk__mw_app {
  struct spk__mw_compress *compress;
  struct spk__mw_ratelimit *ratelimit;
  struct spk__mw_cors *cors;
  struct spk__mw_auth *auth;
  struct spk__mw_static *statics;
  struct spk__mw_reqid *reqid;
  struct spk__mw_timeout *timeout;
  struct spk__mw_bodylimit *bodylimit;
  struct spk__mw_accesslog *accesslog;
  struct spk__mw_sse *sse;
} spk__mw_app_t;

/* A route's overrides (NULL members inherit the app's). */
typedef struct spk__mw_route {
  struct spk__mw_cors *cors;
  struct spk__mw_compress *compress;
  int compress_off; /* "compression": false */
  struct spk__mw_timeout *timeout;
  struct spk__mw_bodylimit *bodylimit;
  struct spk__mw_sse *sse;
} spk__mw_route_t;

void spk__mw_app_free(spk__mw_app_t *mw);
void spk__mw_route_free(spk__mw_route_t *mw);
/* Compile a route's `middleware` JSON text. */
int spk__mw_route_configure(const char *json, spk__mw_route_t *out, char *err, size_t errlen);

/* ---- request side (pipeline.c calls these only when the config is non-NULL) ---- */

/* Assign ex->request_id (propagate a valid incoming one, else generate a UUID v4). */
void spk__mw_reqid_begin(spk__exchange_t *ex, const struct spk__mw_reqid *c);
/* A random (version 4) UUID, lowercase, NUL-terminated (mw_reqid.c). SPK_EIO when the kernel
 * has no randomness to give. Thread-safe. */
int spk__uuid4(char out[37]);
/* An incoming request id is usable: 1–128 bytes of visible ASCII. */
int spk__reqid_sane(const char *s, size_t len);
/* OPTIONS preflight for a path with CORS: answers 204/403 (RESPOND) or NEXT when the request
 * is not a preflight. `m` is the router's answer for the request itself. */
int spk__mw_cors_preflight(spk__exchange_t *ex, const struct spk__mw_cors *c);
/* A non-preflight request with an Origin: 403 for a disallowed origin, else remembers the
 * config for spk__mw_cors_finish. */
int spk__mw_cors_request(spk__exchange_t *ex, const struct spk__mw_cors *c);
/* GET/HEAD under a mount prefix: serve the file (RESPOND) or NEXT when no mount applies. */
int spk__mw_static_serve(spk__exchange_t *ex, const struct spk__mw_static *c);
/* Tests: 1 = resolve paths with the portable realpath check instead of openat2. */
void spk__mw_static_force_fallback(struct spk__mw_static *c, int on);
/* 429 (RESPOND), NEXT, or ASYNC (a remote backend answers later). */
int spk__mw_ratelimit_check(spk__exchange_t *ex, struct spk__mw_ratelimit *c);
/* 401 (RESPOND) or NEXT; stores verified claims in the exchange. */
int spk__mw_auth_check(spk__exchange_t *ex, const struct spk__mw_auth *c);
/* The effective request timeout in ms (0: none). */
uint32_t spk__mw_timeout_ms(const struct spk__mw_timeout *c);
/* The effective body limit in bytes. */
uint64_t spk__mw_bodylimit_bytes(const struct spk__mw_bodylimit *c);
/* The body limit of the route that `method` + `raw_path` reach (0: the route has none, or no
 * route matches). One router match; 0 at once when no route has a limit. For the connection,
 * which applies it before reading the body (mw_bodylimit.c). */
uint64_t spk__route_body_limit(const spk_app_t *app, const char *method, size_t method_len,
                               const char *raw_path, size_t raw_path_len);

/* ---- response side ---- */
void spk__mw_cors_finish(spk__exchange_t *ex);
/* For an answer the connection gives before the pipeline runs (413 from Content-Length): the
 * CORS config the pipeline would have used (the route's, else the app's) when the request's
 * Origin is allowed, so the browser sees the 413 rather than a CORS failure. */
void spk__mw_cors_early(spk__exchange_t *ex);
/* RateLimit-Limit/-Remaining/-Reset on a response the limiter admitted (ex->ratelimit set). */
void spk__mw_ratelimit_finish(spk__exchange_t *ex);
void spk__mw_reqid_finish(spk__exchange_t *ex, const struct spk__mw_reqid *c);
void spk__mw_compress_finish(spk__exchange_t *ex, const struct spk__mw_compress *c);
void spk__mw_accesslog_write(spk__exchange_t *ex, const struct spk__mw_accesslog *c);
/* One access-log line (ending in '\n', at most `cap` bytes) for the exchange, as
 * spk__mw_accesslog_write would write it at wall time `now` and monotonic `end_ns`. json: 0 =
 * common format, 1 = JSON. */
size_t spk__mw_accesslog_line(const spk__exchange_t *ex, int json, const struct timespec *now,
                              uint64_t end_ns, char *buf, size_t cap);

#endif
