/* Spikard — middleware configuration: compression, rate limiting, timeouts, body limits,
 * request ids, CORS, JWT and API-key auth, static files, access log.
 *
 * Every piece is off until configured and costs nothing while off. Configuration is one JSON
 * document in the shape of the reference ServerConfig, so that every binding (a Python dict, a
 * JS object, a Ruby hash) configures the core the same way:
 *
 *   spk_app_configure(app,
 *     "{\"compression\": {\"gzip\": true, \"brotli\": true, \"zstd\": true, \"min_size\": 1024},"
 *     " \"rate_limit\":  {\"per_second\": 100, \"burst\": 200, \"ip_based\": true},"
 *     " \"request_timeout\": {\"seconds\": 30},"
 *     " \"request_id\":  {\"enabled\": true, \"header\": \"X-Request-ID\"},"
 *     " \"cors\":        {\"allowed_origins\": [\"https://example.com\"], \"allowed_methods\": [\"GET\"]},"
 *     " \"jwt_auth\":    {\"secret\": \"…\", \"algorithm\": \"HS256\", \"audience\": [\"api\"]},"
 *     " \"api_key_auth\": {\"keys\": [\"k1\"], \"header_name\": \"X-API-Key\"},"
 *     " \"static_files\": [{\"directory\": \"./public\", \"route_prefix\": \"/static\"}],"
 *     " \"body_limit\":  {\"max_bytes\": 1048576},"
 *     " \"access_log\":  {\"enabled\": true}}");
 *
 * Each top-level key is optional; an unknown key or a malformed section is SPK_EINVAL with the
 * reason (naming the key) in spk_app_last_error, and nothing of that call is applied. Calls
 * accumulate: a later call replaces only the sections it names. Only before freeze
 * (SPK_EFROZEN after). The sections and their defaults are documented in docs/middleware.md.
 *
 * rate_limit: {"per_second": 100 (requests per second — not the reference's "one token every n
 * seconds"), "burst": 200, "ip_based": true, "trusted_proxies": ["10.0.0.0/8"] (believe
 * X-Forwarded-For from these peers: right-most untrusted entry), "max_clients": 100000,
 * "headers": true (RateLimit-Limit/-Remaining/-Reset), "backend": "memory" | "redis",
 * "redis": {"host", "port", "key_prefix": "spk:rl:", "timeout_ms": 50}, "on_error": "allow" |
 * "deny" (503)}. GCRA after routing, before auth/validation; refusal = 429 text
 * "Too Many Requests! Wait for <n>s" + Retry-After + x-ratelimit-after.
 *
 * Per-route overrides use the same shapes in spk_route_options_t.middleware (cors,
 * compression, request_timeout, body_limit). */
#ifndef SPIKARD_MIDDLEWARE_H
#define SPIKARD_MIDDLEWARE_H

#include "app.h"

#ifdef __cplusplus
extern "C" {
#endif

SPK_EXTERN int spk_app_configure(spk_app_t *app, const char *json);

/* The request id of this request (generated or propagated), or an empty slice when request ids
 * are off. Same lifetime as the request. */
SPK_EXTERN spk_str_t spk_req_id(const spk_req_t *req);

/* The verified JWT claims of this request as compact JSON text (empty when JWT auth is off).
 * Same lifetime as the request. */
SPK_EXTERN spk_str_t spk_req_jwt_claims(const spk_req_t *req);

#ifdef __cplusplus
}
#endif
#endif
