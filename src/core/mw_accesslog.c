/* Middleware "access_log": one line per request, off by default.
 *
 *   {"enabled": true,       false: off
 *    "format": "common",    "common" | "json"
 *    "path": "-"}           "-": standard output, "stderr", or a file (appended to, created
 *                           0644)
 *
 * common:  <remote> - - [<dd/Mon/yyyy:HH:MM:SS +0000>] "<method> <target> HTTP/1.<m>" <status>
 *          <bytes> <duration µs> <request id or ->
 *   e.g.   127.0.0.1 - - [10/Oct/2024:13:55:36 +0000] "GET /items?x=1 HTTP/1.1" 200 27 153 -
 * json:    {"time":"2024-10-10T13:55:36.123456Z","remote":"127.0.0.1","method":"GET",
 *           "target":"/items?x=1","status":200,"bytes":27,"duration_us":153,"request_id":null}
 *
 * `bytes` is the body as sent (after compression; 0 for HEAD, 1xx, 204, 304; a file body its
 * range; "-" / null for a streamed body, whose size is unknown when the line is written); the
 * duration runs
 * from the complete request head to the response being ready (body upload included). Request
 * bytes that are not visible ASCII, `"` and `\` are written \xHH in common lines (a log line
 * cannot be forged with a crafted target); JSON strings are escaped per RFC 8259 (\u00HH).
 *
 * Thread safety: the file is opened once by the configuration (O_APPEND) and each line is one
 * write() — workers never interleave within a line. A line longer than 4 KiB has its target
 * truncated ("..." appended). A failed write is dropped: logging never fails a request. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/exchange.h"
#include "core/mw.h"
#include "util/alloc.h"

#define LINE_MAX_BYTES 4096
#define TARGET_MAX 2048 /* escaped target beyond this is cut */

enum { FMT_COMMON = 0, FMT_JSON = 1 };

struct spk__mw_accesslog {
  int fd;
  int own_fd; /* opened by us: closed by free */
  int format;
};

int spk__mw_accesslog_configure(const spk_json_value_t *cfg, struct spk__mw_accesslog **out,
                                char *err, size_t errlen) {
  *out = NULL;
  if (!cfg || cfg->type != SPK_JSON_OBJECT) {
    snprintf(err, errlen, "\"access_log\" must be an object like {\"enabled\": true}");
    return SPK_EINVAL;
  }
  int enabled = 1, format = FMT_COMMON;
  const char *path = "-";
  for (size_t i = 0; i < cfg->u.object.len; i++) {
    const char *k = cfg->u.object.members[i].key.ptr;
    const spk_json_value_t *v = cfg->u.object.members[i].value;
    if (!strcmp(k, "enabled")) {
      if (v->type != SPK_JSON_BOOL) {
        snprintf(err, errlen, "\"enabled\" must be true or false");
        return SPK_EINVAL;
      }
      enabled = v->u.boolean;
    } else if (!strcmp(k, "format")) {
      if (v->type == SPK_JSON_STRING && !strcmp(v->u.string.ptr, "common")) {
        format = FMT_COMMON;
      } else if (v->type == SPK_JSON_STRING && !strcmp(v->u.string.ptr, "json")) {
        format = FMT_JSON;
      } else {
        snprintf(err, errlen, "\"format\" must be \"common\" or \"json\"");
        return SPK_EINVAL;
      }
    } else if (!strcmp(k, "path")) {
      if (v->type != SPK_JSON_STRING || !v->u.string.len ||
          strlen(v->u.string.ptr) != v->u.string.len) {
        snprintf(err, errlen, "\"path\" must be \"-\", \"stderr\" or a file path");
        return SPK_EINVAL;
      }
      path = v->u.string.ptr;
    } else {
      snprintf(err, errlen, "unknown key \"%s\" (known: enabled, format, path)", k);
      return SPK_EINVAL;
    }
  }
  if (!enabled) return SPK_OK;
  struct spk__mw_accesslog *c = spk__calloc(1, sizeof(*c));
  if (!c) return SPK_ENOMEM;
  c->format = format;
  if (!strcmp(path, "-")) {
    c->fd = STDOUT_FILENO;
  } else if (!strcmp(path, "stderr")) {
    c->fd = STDERR_FILENO;
  } else {
    c->fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (c->fd < 0) {
      snprintf(err, errlen, "cannot open \"%s\": %s", path, strerror(errno));
      spk__free(c);
      return SPK_EIO;
    }
    c->own_fd = 1;
  }
  *out = c;
  return SPK_OK;
}

void spk__mw_accesslog_free(struct spk__mw_accesslog *c) {
  if (!c) return;
  if (c->own_fd) close(c->fd);
  spk__free(c);
}

/* ---- line building (bounded: every append checks the room left) ---- */

typedef struct line {
  char *p;
  size_t len, cap;
} line_t;

static void put(line_t *l, const char *s, size_t n) {
  if (n > l->cap - l->len) n = l->cap - l->len;
  memcpy(l->p + l->len, s, n);
  l->len += n;
}
static void puts_(line_t *l, const char *s) { put(l, s, strlen(s)); }
static void putu(line_t *l, unsigned long long v) {
  char num[24];
  int n = snprintf(num, sizeof(num), "%llu", v);
  put(l, num, (size_t)n);
}

/* Escaped copy of s: common → \xHH for bytes outside 0x21..0x7E (space allowed only when
 * `space_ok`), `"` and `\`; json → RFC 8259 escapes. At most `max` output bytes, then "...". */
static void put_esc(line_t *l, const char *s, size_t n, int json, size_t max) {
  static const char hex[] = "0123456789abcdef";
  size_t start = l->len;
  for (size_t i = 0; i < n; i++) {
    if (l->len - start > max) {
      puts_(l, "...");
      return;
    }
    unsigned char ch = (unsigned char)s[i];
    char e[6];
    if (json) {
      if (ch == '"' || ch == '\\') {
        e[0] = '\\', e[1] = (char)ch;
        put(l, e, 2);
      } else if (ch < 0x20 || ch >= 0x7f) {
        /* Non-ASCII bytes too: the line must stay valid UTF-8 whatever the request held. */
        e[0] = '\\', e[1] = 'u', e[2] = '0', e[3] = '0', e[4] = hex[ch >> 4], e[5] = hex[ch & 15];
        put(l, e, 6);
      } else {
        put(l, (const char *)&ch, 1);
      }
    } else if (ch <= 0x20 || ch >= 0x7f || ch == '"' || ch == '\\') {
      e[0] = '\\', e[1] = 'x', e[2] = hex[ch >> 4], e[3] = hex[ch & 15];
      put(l, e, 4);
    } else {
      put(l, (const char *)&ch, 1);
    }
  }
}

static const char *const months[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                     "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Format one line for the exchange into buf (no trailing NUL); returns its length. Exposed for
 * the unit test through spk__mw_accesslog_line. */
size_t spk__mw_accesslog_line(const spk__exchange_t *ex, int json, const struct timespec *now,
                              uint64_t end_ns, char *buf, size_t cap) {
  const spk_req_t *req = &ex->req;
  const spk_res_t *res = &ex->res;
  line_t l = {buf, 0, cap};
  struct tm tm;
  time_t sec = now->tv_sec;
  gmtime_r(&sec, &tm);
  int st = res->status;
  int no_body = req->method == SPK_METHOD_HEAD || (st >= 100 && st < 200) || st == 204 ||
                st == 304;
  /* A streamed body's size is not known when the line is written: "-" / null, as Apache does
   * for an unknown size. A file body counts its range. */
  int unknown = !no_body && res->stream;
  unsigned long long bytes = no_body ? 0 : (unsigned long long)spk__res_body_size(res);
  unsigned long long us =
      ex->start_ns && end_ns > ex->start_ns ? (end_ns - ex->start_ns) / 1000u : 0;
  const char *remote = req->remote[0] ? req->remote : "-";
  spk_str_t method = req->method_str.len ? req->method_str : (spk_str_t){"-", 1};
  spk_str_t target = req->target.len ? req->target : (spk_str_t){"-", 1};
  char ts[128];
  if (!json) {
    put_esc(&l, remote, strlen(remote), 0, 64);
    snprintf(ts, sizeof(ts), " - - [%02d/%s/%04d:%02d:%02d:%02d +0000] \"", tm.tm_mday,
             months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
    puts_(&l, ts);
    put_esc(&l, method.ptr, method.len, 0, 32);
    puts_(&l, " ");
    put_esc(&l, target.ptr, target.len, 0, TARGET_MAX);
    puts_(&l, req->minor_version == 0 ? " HTTP/1.0\" " : " HTTP/1.1\" ");
    putu(&l, (unsigned long long)st);
    puts_(&l, " ");
    if (unknown)
      puts_(&l, "-");
    else
      putu(&l, bytes);
    puts_(&l, " ");
    putu(&l, us);
    puts_(&l, " ");
    if (ex->request_id.len)
      put_esc(&l, ex->request_id.ptr, ex->request_id.len, 0, 256);
    else
      puts_(&l, "-");
  } else {
    snprintf(ts, sizeof(ts), "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ\",\"remote\":\"",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             now->tv_nsec / 1000);
    puts_(&l, ts);
    put_esc(&l, remote, strlen(remote), 1, 64);
    puts_(&l, "\",\"method\":\"");
    put_esc(&l, method.ptr, method.len, 1, 32);
    puts_(&l, "\",\"target\":\"");
    put_esc(&l, target.ptr, target.len, 1, TARGET_MAX);
    puts_(&l, "\",\"status\":");
    putu(&l, (unsigned long long)st);
    puts_(&l, ",\"bytes\":");
    if (unknown)
      puts_(&l, "null");
    else
      putu(&l, bytes);
    puts_(&l, ",\"duration_us\":");
    putu(&l, us);
    puts_(&l, ",\"request_id\":");
    if (ex->request_id.len) {
      puts_(&l, "\"");
      put_esc(&l, ex->request_id.ptr, ex->request_id.len, 1, 256);
      puts_(&l, "\"}");
    } else {
      puts_(&l, "null}");
    }
  }
  /* The newline always fits: a cut line still ends where it should. */
  if (l.len >= cap) l.len = cap - 1;
  buf[l.len++] = '\n';
  return l.len;
}

void spk__mw_accesslog_write(spk__exchange_t *ex, const struct spk__mw_accesslog *c) {
  char buf[LINE_MAX_BYTES];
  struct timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  size_t n = spk__mw_accesslog_line(ex, c->format == FMT_JSON, &now, spk__now_ns(), buf,
                                    sizeof(buf));
  ssize_t w;
  do {
    w = write(c->fd, buf, n); /* one write per line: O_APPEND keeps lines whole */
  } while (w < 0 && errno == EINTR);
}
