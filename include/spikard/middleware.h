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
 *   background_tasks {max_queue 1024, max_concurrency 8, drain_timeout_ms 30000} — the app's
 *               pool for tasks run after the response (background.h, docs/background.md).
 *
 * Each top-level key is optional; an unknown key or a malformed section is SPK_EINVAL with the
 * reason (naming the key) in spk_app_last_error, and nothing of that call is applied. Calls
 * accumulate: a later call replaces only the sections it names. Only before freeze
 * (SPK_EFROZEN after). The sections and their defaults are documented in docs/middleware.md.
 *
 * Auth ("jwt_auth", "api_key_auth"; docs/middleware.md#auth): app-wide; with both, a request
 * must pass both (API key first). jwt_auth keys: enabled, algorithm ("HS256" default; HS256/384/
 * 512, RS256/384/512, ES256/384, PS256/384/512), secret (HS*), public_key (PEM text) or
 * public_key_file (RS/PS/ES), audience (string or array; any-of), issuer, leeway (seconds, 0).
 * api_key_auth keys: enabled, keys (required), header_name (alias header; "X-API-Key"); the key
 * comes from that header, else from the query parameter api_key, apiKey or key. Refusals are
 * 401 problem details (type https://spikard.dev/errors/unauthorized) with the reference's
 * titles and details.
 * static_files: a list of mounts {directory, route_prefix, index_file (true), cache_control,
 * precompressed (true)} serving GET/HEAD for paths no route matched: ETag/Last-Modified with
 * 304/412, single byte ranges (206/416), precompressed .br/.zst/.gz siblings by
 * Accept-Encoding, 307 to "dir/" for directories; traversal and symlinks out of the root are
 * 404. Large files are streamed in chunks. Details in docs/middleware.md.
 * rate_limit: {"per_second": 100 (requests per second — not the reference's "one token every n
 * seconds"), "burst": 200, "ip_based": true, "trusted_proxies": ["10.0.0.0/8"] (believe
 * X-Forwarded-For from these peers: right-most untrusted entry), "max_clients": 100000,
 * "headers": true (RateLimit-Limit/-Remaining/-Reset), "backend": "memory" | "redis",
 * "redis": {"host", "port", "key_prefix": "spk:rl:", "timeout_ms": 50}, "on_error": "allow" |
 * "deny" (503)}. GCRA after routing, before auth/validation; refusal = 429 text
 * "Too Many Requests! Wait for <n>s" + Retry-After + x-ratelimit-after.
 *
 * Per-route overrides use the same shapes in spk_route_options_t.middleware (cors,
 * compression, request_timeout, body_limit).
 *
 * "compression" (docs/middleware.md#compression): true | false | {
 *   "enabled": true, "gzip": true, "brotli": true, "zstd": true, "deflate": false,
 *   "min_size": 1024, "quality": 6 }
 * A codec is true, false or {"quality": n} (its own level: gzip/deflate 0-9, brotli 0-11,
 * zstd 1-19); "quality" (0-11) is every other codec's level, clamped to its range. The coding
 * comes from Accept-Encoding (q-values, "*", identity;q=0; equal weights: br, zstd, gzip,
 * deflate). Bodies under min_size, 1xx/204/206/304, responses with Content-Encoding or
 * Content-Range, Cache-Control: no-transform, and non-compressible types (images but SVG,
 * audio, video, archives, octet-stream, text/event-stream, gRPC) are left alone; every other
 * response gets Vary: Accept-Encoding (merged), and is encoded only when that shrinks it
 * (Content-Encoding set, a strong ETag weakened). HEAD is negotiated but not encoded. Per
 * route: a section replaces the app's, false turns it off. */
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

/* The verified JWT claims of this request as compact JSON text (empty when JWT auth is off),
 * e.g. {"sub":"user-1","exp":4102444800,"role":"admin"}: parse it with any JSON parser to read
 * custom claims. Same lifetime as the request. */
SPK_EXTERN spk_str_t spk_req_jwt_claims(const spk_req_t *req);

#ifdef __cplusplus
}
#endif
#endif
