/* Server-Sent Events encoder (WHATWG HTML "server-sent events", the text/event-stream format).
 * Pure: bytes in, bytes out; no I/O, no global state.
 *
 * One event is a block of field lines ending with a blank line, written in this order:
 *   event: <name>\n      only when a name is given
 *   id: <id>\n           only when given ("" is sent as "id\n": it resets the last event id)
 *   retry: <ms>\n        only when retry_ms >= 0
 *   data: <line>\n       one per line of data; lines are split on \r\n, \r and \n (a trailing
 *                        newline becomes an empty last data line, so data round-trips exactly)
 *   \n
 * A parser strips exactly one space after the colon, so values that start with a space keep
 * it. Comment lines (": text\n") are ignored by clients; they keep idle connections alive. */
#ifndef SPK_PROTO_SSE_H
#define SPK_PROTO_SSE_H

#include <stddef.h>
#include <stdint.h>

#include "util/buf.h"

typedef struct spk_sse_fields {
  const char *event; /* NULL: no event line (the client dispatches it as "message") */
  size_t event_len;
  const char *id; /* NULL: no id line */
  size_t id_len;
  int64_t retry_ms; /* < 0: no retry line */
  const char *data; /* NULL: no data lines (an id/retry-only block) */
  size_t data_len;
} spk_sse_fields_t;

/* Append one event. SPK_EINVAL when the event name or id contains CR, LF or NUL (they would
 * end the field early or, for ids, be ignored by clients), SPK_ENOMEM. Nothing is appended on
 * error. */
int spk_sse_encode(spk__buf_t *out, const spk_sse_fields_t *f);

/* Append a comment: ": <line>\n" per line of `text` (split like data), no blank line — a
 * comment does not end an event block, but between events it is a complete unit. `len` 0
 * gives ":\n". SPK_ENOMEM. */
int spk_sse_encode_comment(spk__buf_t *out, const char *text, size_t len);

#endif
