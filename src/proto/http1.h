/* HTTP/1.1 request parser and response writer (RFC 9112). Pure: no I/O, no allocation, no global
 * state. Parsed strings are slices into the caller's buffer.
 *
 * The head parser is re-entrant over a growing buffer: call it again with the same buffer plus
 * the new bytes until it stops returning SPK_EAGAIN. Any split of the input gives the same
 * result. Limits are checked on partial input too, so an over-long head is refused before it is
 * complete ("too large" and "malformed" are distinct errors: 414/431 versus 400). */
#ifndef SPK_PROTO_HTTP1_H
#define SPK_PROTO_HTTP1_H

#include <stddef.h>
#include <stdint.h>

#include "spikard/common.h"
#include "util/buf.h"

typedef struct spk_h1_header {
  spk_str_t name;
  spk_str_t value; /* optional whitespace around the value removed */
} spk_h1_header_t;

typedef struct spk_h1_limits {
  size_t max_request_line; /* bytes of the request line without CRLF → SPK_EURITOOLONG */
  size_t max_header_count; /* → SPK_EHDRTOOLARGE */
  size_t max_header_bytes; /* whole head incl. request line → SPK_EHDRTOOLARGE */
  int allow_connect;       /* authority-form CONNECT; otherwise SPK_EMETHOD */
} spk_h1_limits_t;

typedef enum spk_h1_target_form {
  SPK_H1_ORIGIN_FORM = 1,    /* /path?query */
  SPK_H1_ABSOLUTE_FORM = 2,  /* http://host/path?query */
  SPK_H1_AUTHORITY_FORM = 3, /* host:port (CONNECT only) */
  SPK_H1_ASTERISK_FORM = 4   /* * (OPTIONS only) */
} spk_h1_target_form_t;

typedef struct spk_h1_request {
  spk_str_t method;
  spk_str_t target; /* as sent */
  spk_str_t path;   /* "/…" part of target ("*" for asterisk-form, authority for CONNECT) */
  spk_str_t query;  /* after '?', without it; len 0 when absent */
  spk_str_t host;   /* authority of absolute-form, else the Host header; len 0 when absent */
  int target_form;  /* spk_h1_target_form_t */
  int minor_version; /* 0 or 1 */
  spk_h1_header_t *headers; /* the caller's array */
  size_t header_count;
  /* Framing, derived and checked (RFC 9112 §6): */
  int64_t content_length; /* -1 when absent */
  unsigned chunked : 1;   /* Transfer-Encoding: chunked (last coding) */
  unsigned keep_alive : 1; /* after Connection tokens and version defaults */
  unsigned expect_continue : 1; /* Expect: 100-continue */
  unsigned upgrade : 1;   /* Connection: upgrade with an Upgrade header */
  size_t head_len;        /* bytes of request line + headers + final CRLF */
} spk_h1_request_t;

/* Parse the request head at buf[0..len). `headers` has room for `header_cap` fields (use
 * limits->max_header_count). Leading empty lines (RFC 9112 §2.2) are skipped.
 * Returns the head length (> 0) when complete, or:
 *   SPK_EAGAIN        need more bytes
 *   SPK_EPROTO        malformed (400)
 *   SPK_EURITOOLONG   request line over the limit (414)
 *   SPK_EHDRTOOLARGE  header count or bytes over the limit (431)
 *   SPK_ESMUGGLE      Transfer-Encoding with Content-Length, differing Content-Length (400)
 *   SPK_ENOTIMPL      a transfer coding other than a final "chunked" (501)
 *   SPK_EMETHOD       CONNECT without allow_connect (405) */
int spk_h1_parse_request(const char *buf, size_t len, const spk_h1_limits_t *limits,
                         spk_h1_header_t *headers, size_t header_cap, spk_h1_request_t *out);

/* Notes on spk_h1_parse_request (implementation in http1_parse.c):
 * - `out` and `headers` are meaningful only when the return value is > 0.
 * - Framing, Host, Transfer-Encoding and Content-Length rules are checked at the line that breaks
 *   them, so a smuggling attempt is refused as early as a syntax error.
 * - content_length == -1 && !chunked: no body (RFC 9112 §6.3 rule 7).
 * - Absolute-form without a path ("http://h?q"): path is "/" and points at the "/" of "HTTP/1.x"
 *   in the same buffer (every slice stays inside the head). A fragment ("#...") is dropped from
 *   path and query; target keeps it. Userinfo in an authority is refused (RFC 9110 §4.2.4).
 * - CONNECT: path and host are the authority. Methods are case-sensitive tokens.
 * Defaults used when `limits` is NULL or one of its size fields is 0. */
#define SPK_H1_DEFAULT_MAX_REQUEST_LINE 8192
#define SPK_H1_DEFAULT_MAX_HEADER_COUNT 100
#define SPK_H1_DEFAULT_MAX_HEADER_BYTES 65536

/* Named leniencies for spk_h1_parse_request_ex (strict is the default, DESIGN §6). */
#define SPK_H1_LENIENT_MISSING_HOST 0x1u /* accept HTTP/1.1 without Host (RFC 9112 §3.2 says 400);
                                            a duplicate or malformed Host is still refused */
/* spk_h1_parse_request with leniency flags; flags == 0 is exactly spk_h1_parse_request. */
int spk_h1_parse_request_ex(const char *buf, size_t len, const spk_h1_limits_t *limits,
                            spk_h1_header_t *headers, size_t header_cap, unsigned flags,
                            spk_h1_request_t *out);

/* Chunked body decoder (RFC 9112 §7.1), incremental and in place. Chunk extensions are skipped
 * (bounded), trailer fields are syntax-checked and dropped. */
typedef struct spk_h1_chunked {
  int state;
  uint64_t remaining;   /* bytes left in the current chunk */
  size_t aux;           /* bytes seen in the current size/extension/trailer line */
  size_t trailer_bytes; /* total trailer bytes (bounded) */
} spk_h1_chunked_t;

void spk_h1_chunked_init(spk_h1_chunked_t *d);
/* Decode buf[0..*len) in place. On return buf[0..*len) holds the decoded body bytes from this
 * call. Returns SPK_EAGAIN when all input was consumed and the body is not finished, or n >= 0
 * when the body is complete: the n bytes that followed the chunked message (the next pipelined
 * request) have been moved to buf[*len .. *len + n). Errors: SPK_EPROTO (malformed),
 * SPK_ERANGE (chunk size overflow), SPK_EHDRTOOLARGE (trailers or extension over the bound). */
int spk_h1_chunked_decode(spk_h1_chunked_t *d, char *buf, size_t *len);

/* Cached IMF-fixdate ("Sun, 06 Nov 1994 08:49:37 GMT", 29 chars), refreshed once a second. */
typedef struct spk_h1_date {
  int64_t sec;
  char text[32]; /* NUL-terminated */
} spk_h1_date_t;
/* Recompute when unix_sec differs from d->sec. */
void spk_h1_date_update(spk_h1_date_t *d, int64_t unix_sec);

/* Reason phrase for a status code ("OK"), "Unknown" for unregistered codes. */
const char *spk_h1_reason(int status);

typedef struct spk_h1_response_head {
  int status;
  int minor_version;              /* of the request: 0 → HTTP/1.0 framing rules */
  const spk_h1_header_t *headers; /* application headers, written in order */
  size_t header_count;
  int64_t content_length;         /* -1: chunked (1.1) or close-delimited (1.0) */
  int keep_alive;                 /* 0: "Connection: close"; 1 on 1.0: "Connection: keep-alive" */
  const char *date;               /* 29-char date or NULL to omit */
  int no_body_framing;            /* 1xx/204/304: no Content-Length / Transfer-Encoding */
} spk_h1_response_head_t;

/* Append the status line, headers, Date, framing headers and the blank line to `out`.
 * 0 or SPK_ENOMEM; SPK_EINVAL (nothing appended) for a status outside 100..999, or an
 * application header whose name is not a token or whose value holds CR, LF, NUL or another CTL
 * (response splitting). Application Content-Length / Transfer-Encoding fields are dropped (the
 * framing is derived from content_length); an application Date replaces `date`. */
int spk_h1_write_head(spk__buf_t *out, const spk_h1_response_head_t *h);

/* Chunk framing: "<hex>\r\n" into out (>= 20 bytes), returns its length. The data follows, then
 * "\r\n". The last chunk is "0\r\n\r\n". */
size_t spk_h1_chunk_header(char *out, uint64_t chunk_len);

#endif
