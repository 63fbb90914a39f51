/* HTTP/1.1 response head writer, reason phrases, the cached IMF-fixdate and chunk framing
 * (RFC 9110 §5.6.7, §15; RFC 9112 §4, §6, §7.1). */
#include <string.h>
#include <time.h>

#include "proto/http1.h"
#include "util/strutil.h"

/* IANA HTTP Status Code Registry (permanent entries). */
const char *spk_h1_reason(int status) {
  switch (status) {
    case 100: return "Continue";
    case 101: return "Switching Protocols";
    case 102: return "Processing";
    case 103: return "Early Hints";
    case 200: return "OK";
    case 201: return "Created";
    case 202: return "Accepted";
    case 203: return "Non-Authoritative Information";
    case 204: return "No Content";
    case 205: return "Reset Content";
    case 206: return "Partial Content";
    case 207: return "Multi-Status";
    case 208: return "Already Reported";
    case 226: return "IM Used";
    case 300: return "Multiple Choices";
    case 301: return "Moved Permanently";
    case 302: return "Found";
    case 303: return "See Other";
    case 304: return "Not Modified";
    case 305: return "Use Proxy";
    case 306: return "(Unused)";
    case 307: return "Temporary Redirect";
    case 308: return "Permanent Redirect";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 402: return "Payment Required";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 406: return "Not Acceptable";
    case 407: return "Proxy Authentication Required";
    case 408: return "Request Timeout";
    case 409: return "Conflict";
    case 410: return "Gone";
    case 411: return "Length Required";
    case 412: return "Precondition Failed";
    case 413: return "Content Too Large";
    case 414: return "URI Too Long";
    case 415: return "Unsupported Media Type";
    case 416: return "Range Not Satisfiable";
    case 417: return "Expectation Failed";
    case 418: return "(Unused)";
    case 421: return "Misdirected Request";
    case 422: return "Unprocessable Content";
    case 423: return "Locked";
    case 424: return "Failed Dependency";
    case 425: return "Too Early";
    case 426: return "Upgrade Required";
    case 428: return "Precondition Required";
    case 429: return "Too Many Requests";
    case 431: return "Request Header Fields Too Large";
    case 451: return "Unavailable For Legal Reasons";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 502: return "Bad Gateway";
    case 503: return "Service Unavailable";
    case 504: return "Gateway Timeout";
    case 505: return "HTTP Version Not Supported";
    case 506: return "Variant Also Negotiates";
    case 507: return "Insufficient Storage";
    case 508: return "Loop Detected";
    case 510: return "Not Extended";
    case 511: return "Network Authentication Required";
    default: return "Unknown";
  }
}

static void put2(char *p, int v) {
  p[0] = (char)('0' + v / 10 % 10);
  p[1] = (char)('0' + v % 10);
}

void spk_h1_date_update(spk_h1_date_t *d, int64_t unix_sec) {
  static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  struct tm tm;
  time_t t = (time_t)unix_sec;
  if (d->text[0] && d->sec == unix_sec) return;
  /* IMF-fixdate needs a 4-digit year: clamp to [1970, 9999]. */
  if (unix_sec < 0 || (int64_t)t != unix_sec || !gmtime_r(&t, &tm) || tm.tm_year + 1900 > 9999) {
    t = 0;
    if (!gmtime_r(&t, &tm)) return;
  }
  char *p = d->text; /* "Sun, 06 Nov 1994 08:49:37 GMT" */
  memcpy(p, days[tm.tm_wday % 7], 3);
  p[3] = ',';
  p[4] = ' ';
  put2(p + 5, tm.tm_mday);
  p[7] = ' ';
  memcpy(p + 8, months[tm.tm_mon % 12], 3);
  p[11] = ' ';
  int year = tm.tm_year + 1900;
  put2(p + 12, year / 100);
  put2(p + 14, year % 100);
  p[16] = ' ';
  put2(p + 17, tm.tm_hour);
  p[19] = ':';
  put2(p + 20, tm.tm_min);
  p[22] = ':';
  put2(p + 23, tm.tm_sec);
  memcpy(p + 25, " GMT", 5); /* with the NUL */
  d->sec = unix_sec;
}

static int is_token(const char *p, size_t n) {
  if (n == 0) return 0;
  for (size_t i = 0; i < n; i++)
    if (!spk__is_tchar((unsigned char)p[i])) return 0;
  return 1;
}

/* field-value: field-vchar / SP / HTAB. Refusing CR, LF and NUL here is what prevents response
 * splitting through application-supplied values. */
static int is_field_value(const char *p, size_t n) {
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)p[i];
    if (c < 0x20 ? c != '\t' : c == 0x7f) return 0;
  }
  return 1;
}

#define APPEND_LIT(b, lit) spk__buf_append((b), (lit), sizeof(lit) - 1)

int spk_h1_write_head(spk__buf_t *out, const spk_h1_response_head_t *h) {
  size_t start = out->len;
  int st = h->status;
  if (st < 100 || st > 999) return SPK_EINVAL;

  /* Validate first, so that a refused head leaves `out` untouched. */
  size_t need = 64;
  int app_date = 0;
  if (h->header_count && !h->headers) return SPK_EINVAL;
  for (size_t k = 0; k < h->header_count; k++) {
    const spk_h1_header_t *f = &h->headers[k];
    if (!is_token(f->name.ptr, f->name.len) || !is_field_value(f->value.ptr, f->value.len))
      return SPK_EINVAL;
    if (f->name.len == 4 && spk__strieq(f->name.ptr, 4, "date", 4)) app_date = 1;
    need += f->name.len + f->value.len + 4;
  }
  if (spk__buf_reserve(out, need + 128)) return SPK_ENOMEM;

  /* Framing (RFC 9112 §6.3, RFC 9110 §8.6): never for 1xx and 204; not when the caller says
   * the response has no content framing (304, HEAD handled by the caller's content_length). */
  int no_framing = h->no_body_framing || (st >= 100 && st < 200) || st == 204;
  int http10 = h->minor_version == 0;
  int keep_alive = h->keep_alive ? 1 : 0;
  /* HTTP/1.0 cannot carry chunked: an unknown length is delimited by closing the connection. */
  if (!no_framing && h->content_length < 0 && http10) keep_alive = 0;

  /* Always answer HTTP/1.1 (RFC 9110 §6.2: the highest minor version we conform to). */
  char line[16] = "HTTP/1.1 ";
  line[9] = (char)('0' + st / 100);
  line[10] = (char)('0' + st / 10 % 10);
  line[11] = (char)('0' + st % 10);
  line[12] = ' ';
  int rc = spk__buf_append(out, line, 13);
  rc |= spk__buf_append_str(out, spk_h1_reason(st));
  rc |= APPEND_LIT(out, "\r\n");

  for (size_t k = 0; k < h->header_count && !rc; k++) {
    const spk_h1_header_t *f = &h->headers[k];
    /* Message framing is ours: an application Content-Length or Transfer-Encoding would
     * contradict (or duplicate) the one derived below. */
    if ((f->name.len == 14 && spk__strieq(f->name.ptr, 14, "content-length", 14)) ||
        (f->name.len == 17 && spk__strieq(f->name.ptr, 17, "transfer-encoding", 17)))
      continue;
    rc |= spk__buf_append(out, f->name.ptr, f->name.len);
    rc |= APPEND_LIT(out, ": ");
    rc |= spk__buf_append(out, f->value.ptr, f->value.len);
    rc |= APPEND_LIT(out, "\r\n");
  }
  if (h->date && h->date[0] && !app_date && !rc) { /* an application Date wins */
    rc |= APPEND_LIT(out, "Date: ");
    rc |= spk__buf_append_str(out, h->date);
    rc |= APPEND_LIT(out, "\r\n");
  }
  if (!no_framing && !rc) {
    if (h->content_length >= 0) {
      rc |= APPEND_LIT(out, "Content-Length: ");
      rc |= spk__buf_append_u64(out, (unsigned long long)h->content_length);
      rc |= APPEND_LIT(out, "\r\n");
    } else if (!http10) {
      rc |= APPEND_LIT(out, "Transfer-Encoding: chunked\r\n");
    }
  }
  if (!rc) {
    if (!keep_alive)
      rc |= APPEND_LIT(out, "Connection: close\r\n");
    else if (http10)
      rc |= APPEND_LIT(out, "Connection: keep-alive\r\n");
  }
  if (!rc) rc |= APPEND_LIT(out, "\r\n");
  if (rc) {
    out->len = start;
    return SPK_ENOMEM;
  }
  return SPK_OK;
}

size_t spk_h1_chunk_header(char *out, uint64_t chunk_len) {
  static const char hex[] = "0123456789abcdef";
  char tmp[16];
  size_t n = 0;
  do {
    tmp[n++] = hex[chunk_len & 0xf];
    chunk_len >>= 4;
  } while (chunk_len);
  for (size_t k = 0; k < n; k++) out[k] = tmp[n - 1 - k];
  out[n] = '\r';
  out[n + 1] = '\n';
  return n + 2;
}
