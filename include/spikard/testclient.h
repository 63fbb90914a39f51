/* Spikard — the in-memory test client.
 *
 * Sends a request through the very pipeline the server uses — the request is serialized to
 * HTTP/1.1 bytes, parsed by the same parser, routed, handled (async handlers included) and the
 * response serialized and parsed back — without sockets or threads of its own. */
#ifndef SPIKARD_TESTCLIENT_H
#define SPIKARD_TESTCLIENT_H

#include "app.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct spk_test_client spk_test_client_t;

typedef struct spk_test_header {
  const char *name;
  const char *value;
} spk_test_header_t;

typedef struct spk_test_request {
  const char *method;              /* "GET" when NULL */
  const char *target;              /* "/path?query" */
  const spk_test_header_t *headers;
  size_t header_count;
  const void *body;
  size_t body_len;
  int chunked;                     /* send the body with Transfer-Encoding: chunked */
} spk_test_request_t;

typedef struct spk_test_response {
  int status;
  spk_test_header_t *headers;      /* owned by the response; lowercase names */
  size_t header_count;
  char *body;                      /* NUL-terminated for convenience; body_len excludes it */
  size_t body_len;
  char *raw;                       /* the exact bytes the pipeline produced (NUL-terminated) */
  size_t raw_len;
  /* A chunked (streamed) body: the size of every chunk as it was framed, in order, and whether
   * the terminating chunk was missing (an aborted stream: the connection closed mid-body). The
   * body is then what arrived. NULL / 0 for other bodies. */
  size_t *chunk_sizes;
  size_t chunk_count;
  int incomplete;
} spk_test_response_t;

/* Freezes the app. NULL when out of memory. */
SPK_EXTERN spk_test_client_t *spk_test_client_new(spk_app_t *app);
SPK_EXTERN void spk_test_client_free(spk_test_client_t *client);

/* Send one request and wait for its response (async handlers: blocks until spk_res_end).
 * Returns 0 and fills `out`, or an SPK_E* code. Free `out` with spk_test_response_free. */
SPK_EXTERN int spk_test_client_send(spk_test_client_t *client, const spk_test_request_t *req,
                                    spk_test_response_t *out);

/* Send raw HTTP/1.1 bytes (one request); for malformed-input tests. */
SPK_EXTERN int spk_test_client_send_raw(spk_test_client_t *client, const void *bytes,
                                        size_t len, spk_test_response_t *out);

/* Convenience: method + target, no headers or body. */
SPK_EXTERN int spk_test_client_get(spk_test_client_t *client, const char *method,
                                   const char *target, spk_test_response_t *out);

/* Wait until the background tasks (background.h) spawned by the requests sent so far have run:
 * first for requests a request timeout left in their handlers' hands (their tasks are queued
 * when they end), then for the app's pool to be idle; at most timeout_ms in all. SPK_OK, or
 * SPK_ETIMEDOUT (nothing is dropped). Makes tests that look at a task's effects
 * deterministic: send, drain, then assert. */
SPK_EXTERN int spk_test_client_drain(spk_test_client_t *client, uint32_t timeout_ms);

/* First header value by case-insensitive name, or NULL. */
SPK_EXTERN const char *spk_test_response_header(const spk_test_response_t *res, const char *name);
SPK_EXTERN void spk_test_response_free(spk_test_response_t *res);

#ifdef __cplusplus
}
#endif
#endif
