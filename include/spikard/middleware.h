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
 * static_files: a list of mounts {directory, route_prefix, index_file (true), cache_control,
 * precompressed (true)} serving GET/HEAD for paths no route matched: ETag/Last-Modified with
 * 304/412, single byte ranges (206/416), precompressed .br/.zst/.gz siblings by
 * Accept-Encoding, 307 to "dir/" for directories; traversal and symlinks out of the root are
 * 404. Large files are streamed in chunks. Details in docs/middleware.md.
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
