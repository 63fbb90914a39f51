/* Spikard — the request, as a handler sees it.
 *
 * Lifetime: every pointer and slice returned here stays valid until the response is ended
 * (spk_res_end, or the handler returning SPK_HANDLER_DONE). Copy what you need beyond that.
 * Thread affinity: accessors may be called from any one thread at a time — the handler's thread,
 * or, after SPK_HANDLER_ASYNC, the thread that will end the response. */
#ifndef SPIKARD_REQUEST_H
#define SPIKARD_REQUEST_H

#include "app.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum spk_method {
  SPK_METHOD_OTHER = 0, /* any other token: see spk_req_method_str */
  SPK_METHOD_GET = 1,
  SPK_METHOD_HEAD = 2,
  SPK_METHOD_POST = 3,
  SPK_METHOD_PUT = 4,
  SPK_METHOD_DELETE = 5,
  SPK_METHOD_PATCH = 6,
  SPK_METHOD_OPTIONS = 7,
  SPK_METHOD_TRACE = 8,
  SPK_METHOD_CONNECT = 9
} spk_method_t;

SPK_EXTERN spk_method_t spk_req_method(const spk_req_t *req);
SPK_EXTERN spk_str_t spk_req_method_str(const spk_req_t *req);

/* Path, percent-decoded (a decoded "%2F" stays inside its segment for routing purposes, since
 * routing uses the raw path). NUL-terminated. */
SPK_EXTERN spk_str_t spk_req_path(const spk_req_t *req);
/* Path exactly as sent, without the query. */
SPK_EXTERN spk_str_t spk_req_raw_path(const spk_req_t *req);
/* Query string without '?', raw; empty when absent. */
SPK_EXTERN spk_str_t spk_req_query_string(const spk_req_t *req);
/* The request target as sent. */
SPK_EXTERN spk_str_t spk_req_target(const spk_req_t *req);
/* 0 for HTTP/1.0, 1 for HTTP/1.1. */
SPK_EXTERN int spk_req_http_minor(const spk_req_t *req);

/* Query parameters: percent-decoded, '+' as space, repeated keys kept in order, empty values
 * kept (`a=` → ""; a bare `a` → ""). spk_req_query returns the first value. Out-of-range
 * indexes and unknown names return SPK_ENOENT. Decoded strings are NUL-terminated. */
SPK_EXTERN int spk_req_query(spk_req_t *req, const char *name, spk_str_t *value);
SPK_EXTERN size_t spk_req_query_count(spk_req_t *req);
SPK_EXTERN int spk_req_query_at(spk_req_t *req, size_t index, spk_str_t *name, spk_str_t *value);
/* The n-th value (0-based) of `name`; lets a handler collect `ids=1&ids=2`. */
SPK_EXTERN int spk_req_query_nth(spk_req_t *req, const char *name, size_t n, spk_str_t *value);

/* Path parameters by name (percent-decoded, NUL-terminated). */
SPK_EXTERN int spk_req_param(const spk_req_t *req, const char *name, spk_str_t *value);
SPK_EXTERN size_t spk_req_param_count(const spk_req_t *req);
SPK_EXTERN int spk_req_param_at(const spk_req_t *req, size_t index, spk_str_t *name,
                                spk_str_t *value);
/* Typed accessors; SPK_EINVAL when the text does not parse as the type, SPK_ERANGE on
 * overflow. A route's typed segments have already been checked by the core. */
SPK_EXTERN int spk_req_param_int(const spk_req_t *req, const char *name, int64_t *value);
SPK_EXTERN int spk_req_param_double(const spk_req_t *req, const char *name, double *value);

/* Well-known header names, interned when the request is parsed so that lookups by id compare
 * one byte per field instead of strings. Numbers are stable. */
#define SPK_HEADER_MAP(X)                                                        \
  X(ACCEPT, 1, "accept")                                                         \
  X(ACCEPT_ENCODING, 2, "accept-encoding")                                       \
  X(ACCEPT_LANGUAGE, 3, "accept-language")                                       \
  X(AUTHORIZATION, 4, "authorization")                                           \
  X(CACHE_CONTROL, 5, "cache-control")                                           \
  X(CONNECTION, 6, "connection")                                                 \
  X(CONTENT_ENCODING, 7, "content-encoding")                                     \
  X(CONTENT_LENGTH, 8, "content-length")                                         \
  X(CONTENT_TYPE, 9, "content-type")                                             \
  X(COOKIE, 10, "cookie")                                                        \
  X(EXPECT, 11, "expect")                                                        \
  X(HOST, 12, "host")                                                            \
  X(IF_MODIFIED_SINCE, 13, "if-modified-since")                                  \
  X(IF_NONE_MATCH, 14, "if-none-match")                                          \
  X(LAST_EVENT_ID, 15, "last-event-id")                                          \
  X(ORIGIN, 16, "origin")                                                        \
  X(RANGE, 17, "range")                                                          \
  X(REFERER, 18, "referer")                                                      \
  X(SEC_WEBSOCKET_KEY, 19, "sec-websocket-key")                                  \
  X(SEC_WEBSOCKET_PROTOCOL, 20, "sec-websocket-protocol")                        \
  X(SEC_WEBSOCKET_VERSION, 21, "sec-websocket-version")                          \
  X(TRANSFER_ENCODING, 22, "transfer-encoding")                                  \
  X(UPGRADE, 23, "upgrade")                                                      \
  X(USER_AGENT, 24, "user-agent")                                                \
  X(X_API_KEY, 25, "x-api-key")                                                  \
  X(X_FORWARDED_FOR, 26, "x-forwarded-for")                                      \
  X(X_REQUEST_ID, 27, "x-request-id")                                            \
  X(ACCESS_CONTROL_REQUEST_METHOD, 28, "access-control-request-method")          \
  X(ACCESS_CONTROL_REQUEST_HEADERS, 29, "access-control-request-headers")

typedef enum spk_header_id {
  SPK_HEADER_UNKNOWN = 0,
#define SPK__HDR_ENUM(name, num, text) SPK_HEADER_##name = (num),
  SPK_HEADER_MAP(SPK__HDR_ENUM)
#undef SPK__HDR_ENUM
  SPK_HEADER__COUNT
} spk_header_id_t;

/* The n-th field with a well-known name (0: first). SPK_ENOENT when absent. */
SPK_EXTERN int spk_req_header_id(const spk_req_t *req, spk_header_id_t id, size_t n,
                                 spk_str_t *value);
/* The id of a name (any case), SPK_HEADER_UNKNOWN when it is not well known. */
SPK_EXTERN spk_header_id_t spk_header_lookup(const char *name, size_t len);

/* Headers: names compared case-insensitively (well-known names by their interned id); values with surrounding whitespace removed.
 * spk_req_header returns the first field; spk_req_header_nth the n-th field of that name. */
SPK_EXTERN int spk_req_header(const spk_req_t *req, const char *name, spk_str_t *value);
SPK_EXTERN int spk_req_header_nth(const spk_req_t *req, const char *name, size_t n,
                                  spk_str_t *value);
SPK_EXTERN size_t spk_req_header_count(const spk_req_t *req);
SPK_EXTERN int spk_req_header_at(const spk_req_t *req, size_t index, spk_str_t *name,
                                 spk_str_t *value);

/* Cookies from every Cookie header, parsed on first use; exact-name lookup; first wins. */
SPK_EXTERN int spk_req_cookie(spk_req_t *req, const char *name, spk_str_t *value);
SPK_EXTERN size_t spk_req_cookie_count(spk_req_t *req);
SPK_EXTERN int spk_req_cookie_at(spk_req_t *req, size_t index, spk_str_t *name,
                                 spk_str_t *value);

/* The validated request as compact JSON text (NUL-terminated), for routes registered with
 * options: {"path":{…},"query":{…},"headers":{…},"cookies":{…},"body":…} with values coerced to
 * their schema types and defaults applied ("body" absent when the route has no body schema).
 * Empty ("") for routes without options. */
SPK_EXTERN spk_str_t spk_req_validated(spk_req_t *req);

/* The whole request body (de-chunked). Empty when there is none. */
SPK_EXTERN spk_str_t spk_req_body(const spk_req_t *req);

/* Peer address as text ("127.0.0.1", "::1", "unix", "test"), and port (0 if none). */
SPK_EXTERN spk_str_t spk_req_remote_addr(const spk_req_t *req);
SPK_EXTERN int spk_req_remote_port(const spk_req_t *req);

/* Scratch memory that lives exactly as long as the request (freed in one step with it). Never
 * free it yourself. NULL when out of memory. */
SPK_EXTERN void *spk_req_alloc(spk_req_t *req, size_t size);

#ifdef __cplusplus
}
#endif
#endif
