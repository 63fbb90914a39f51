/* Spikard — building and completing a response.
 *
 * A response starts as 200 with no headers and an empty body. Setters copy their arguments into
 * the request arena unless the name says `_ref`. All setters may be called only by the thread
 * that currently owns the response (see request.h) and only before spk_res_end; afterwards they
 * return SPK_ESTATE.
 *
 * spk_res_end is the one thread-safe call: it may be made from any thread, exactly once, and
 * hands the response back to the connection's loop, which writes it. */
#ifndef SPIKARD_RESPONSE_H
#define SPIKARD_RESPONSE_H

#include "app.h"

#ifdef __cplusplus
extern "C" {
#endif

SPK_EXTERN int spk_res_status(spk_res_t *res, int status);
SPK_EXTERN int spk_res_get_status(const spk_res_t *res);

/* Append a header field. Multiple fields with one name are kept (Set-Cookie is never folded).
 * Names must be tokens and values must not contain CR, LF or NUL: SPK_EINVAL otherwise.
 * Content-Length, Transfer-Encoding, Connection and Date are owned by the core (SPK_EINVAL). */
SPK_EXTERN int spk_res_header(spk_res_t *res, const char *name, const char *value);
SPK_EXTERN int spk_res_header_n(spk_res_t *res, const char *name, size_t name_len,
                                const char *value, size_t value_len);
/* Replace every field named `name` by one field (or add it). */
SPK_EXTERN int spk_res_set_header(spk_res_t *res, const char *name, const char *value);
/* First value of a header already set, or SPK_ENOENT. */
SPK_EXTERN int spk_res_get_header(const spk_res_t *res, const char *name, spk_str_t *value);

/* Body from bytes (copied). Replaces any previous body. */
SPK_EXTERN int spk_res_body(spk_res_t *res, const void *data, size_t len);
/* Body by reference, not copied: `release(release_data)` is called once the bytes have been
 * written or the response was discarded (release may be NULL for static data). */
SPK_EXTERN int spk_res_body_ref(spk_res_t *res, const void *data, size_t len,
                                void (*release)(void *release_data), void *release_data);
/* Convenience: status, Content-Type and a copied body in one call. */
SPK_EXTERN int spk_res_send(spk_res_t *res, int status, const char *content_type,
                            const void *data, size_t len);
/* Body from a regular file, read when called. `content_type` NULL guesses from the extension.
 * SPK_ENOENT (missing), SPK_EINVAL (not a regular file), SPK_EIO. */
SPK_EXTERN int spk_res_file(spk_res_t *res, const char *path, const char *content_type);

/* JSON body builder. Appends into the response body (Content-Type application/json is set by
 * spk_res_json_begin). Values inside objects need a key first. Strings are escaped per RFC 8259;
 * non-finite doubles are written as null. Errors are sticky: the first one is returned by
 * every later call and by spk_res_json_end. */
typedef struct spk_json_writer spk_json_writer_t;
SPK_EXTERN spk_json_writer_t *spk_res_json_begin(spk_res_t *res);
SPK_EXTERN int spk_json_object_open(spk_json_writer_t *w);
SPK_EXTERN int spk_json_object_close(spk_json_writer_t *w);
SPK_EXTERN int spk_json_array_open(spk_json_writer_t *w);
SPK_EXTERN int spk_json_array_close(spk_json_writer_t *w);
SPK_EXTERN int spk_json_key(spk_json_writer_t *w, const char *key);
SPK_EXTERN int spk_json_string(spk_json_writer_t *w, const char *s);
SPK_EXTERN int spk_json_string_n(spk_json_writer_t *w, const char *s, size_t len);
SPK_EXTERN int spk_json_int(spk_json_writer_t *w, int64_t v);
SPK_EXTERN int spk_json_double(spk_json_writer_t *w, double v);
SPK_EXTERN int spk_json_bool(spk_json_writer_t *w, int v);
SPK_EXTERN int spk_json_null(spk_json_writer_t *w);
/* Already-serialized JSON, inserted verbatim (caller guarantees validity). */
SPK_EXTERN int spk_json_raw(spk_json_writer_t *w, const char *json, size_t len);
/* Checks that every container is closed and sets the body. */
SPK_EXTERN int spk_res_json_end(spk_json_writer_t *w);

/* Answer with an RFC 9457 problem-details body (application/problem+json):
 * {"type":"https://spikard.dev/errors/<slug>","title":…,"status":…,"detail":…}. */
SPK_EXTERN int spk_res_problem(spk_res_t *res, int status, const char *slug, const char *title,
                               const char *detail);

/* Complete the response. Thread-safe, call exactly once (a second call returns SPK_ESTATE).
 * After it returns, neither the request nor the response may be touched again. If the client
 * went away meanwhile the response is discarded and the memory released. */
SPK_EXTERN int spk_res_end(spk_res_t *res);

/* Complete the response as a failure of its handler instead of spk_res_end — the asynchronous
 * twin of a handler returning a negative code (a rejected promise, an exception in a coroutine).
 * Thread-safe, same once-only rule. Whatever the response held is replaced by 500 problem
 * details (503 + Retry-After for SPK_EQUEUEFULL), the on_error hooks run instead of
 * on_response, and background tasks the handler spawned are discarded. `error` must be a
 * negative SPK_E* code (SPK_EINVAL otherwise). */
SPK_EXTERN int spk_res_fail(spk_res_t *res, int error);

/* The request this response answers (same lifetime). */
SPK_EXTERN spk_req_t *spk_res_request(spk_res_t *res);

#ifdef __cplusplus
}
#endif
#endif
