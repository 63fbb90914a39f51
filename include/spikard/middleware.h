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
 *     " \"access_log\":  {\"format\": \"json\", \"path\": \"/var/log/app.log\"}}");
 *
 * Summary of the sections built so far (details: docs/middleware.md):
 *   cors        {allowed_origins (required), allowed_methods, allowed_headers, expose_headers,
 *               max_age, allow_credentials, enabled} — preflights answered 204/403, other
 *               requests with a disallowed Origin 403 {"detail": …}, allowed ones get
 *               Access-Control-Allow-Origin (+ Vary: Origin, Expose-Headers, Credentials).
 *   request_id  {enabled, header "X-Request-ID", generate true, trust_incoming true} — off
 *               without the section; a sane incoming value (1–128 visible ASCII) is kept, else
 *               a UUID v4; sent on every response; spk_req_id() below.
 *   access_log  {enabled, format "common"|"json", path "-"|"stderr"|file} — one line per
 *               request (one write(), O_APPEND): remote, time, request line, status, bytes,
 *               duration µs, request id.
 *   body_limit  {max_bytes >= 1} — app-wide or per route (the route's replaces the app's);
 *               413 from Content-Length before the body is read, or while a chunked body
 *               streams in; the connection is closed after it.
 *
 * Each top-level key is optional; an unknown key or a malformed section is SPK_EINVAL with the
 * reason (naming the key) in spk_app_last_error, and nothing of that call is applied. Calls
 * accumulate: a later call replaces only the sections it names. Only before freeze
 * (SPK_EFROZEN after). The sections and their defaults are documented in docs/middleware.md.
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
