/* text/event-stream encoder: see sse.h. */
#include "proto/sse.h"

#include <stdio.h>
#include <string.h>

#include "spikard/common.h"

static int has_line_break(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (s[i] == '\r' || s[i] == '\n' || s[i] == '\0') return 1;
  return 0;
}

/* "<prefix><line>\n" for every line of s (\r\n, \r, \n all end a line). */
static int prefixed_lines(spk__buf_t *out, const char *prefix, size_t plen, const char *s,
                          size_t n) {
  size_t i = 0;
  for (;;) {
    size_t start = i;
    while (i < n && s[i] != '\r' && s[i] != '\n') i++;
    if (spk__buf_append(out, prefix, plen) || spk__buf_append(out, s + start, i - start) ||
        spk__buf_append_char(out, '\n'))
      return SPK_ENOMEM;
    if (i >= n) return SPK_OK;
    if (s[i] == '\r' && i + 1 < n && s[i + 1] == '\n') i++;
    i++; /* past the line break: a break at the very end yields one empty last line */
  }
}

int spk_sse_encode(spk__buf_t *out, const spk_sse_fields_t *f) {
  if ((f->event && has_line_break(f->event, f->event_len)) ||
      (f->id && has_line_break(f->id, f->id_len)))
    return SPK_EINVAL;
  size_t mark = out->len;
  int rc = SPK_OK;
  if (f->event) rc = prefixed_lines(out, "event: ", 7, f->event, f->event_len);
  if (!rc && f->id) {
    if (f->id_len)
      rc = prefixed_lines(out, "id: ", 4, f->id, f->id_len);
    else
      rc = spk__buf_append(out, "id\n", 3);
  }
  if (!rc && f->retry_ms >= 0) {
    char num[40];
    int k = snprintf(num, sizeof(num), "retry: %lld\n", (long long)f->retry_ms);
    rc = spk__buf_append(out, num, (size_t)k);
  }
  if (!rc && f->data) rc = prefixed_lines(out, "data: ", 6, f->data, f->data_len);
  if (!rc) rc = spk__buf_append_char(out, '\n');
  if (rc) out->len = mark;
  return rc;
}

int spk_sse_encode_comment(spk__buf_t *out, const char *text, size_t len) {
  size_t mark = out->len;
  int rc = len ? prefixed_lines(out, ": ", 2, text, len) : spk__buf_append(out, ":\n", 2);
  if (rc) out->len = mark;
  return rc;
}
