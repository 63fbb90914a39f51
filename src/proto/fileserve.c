/* Pure helpers for serving files: see fileserve.h. */
#include "proto/fileserve.h"

#include <string.h>

#include "util/strutil.h"

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int spk_fs_path(const char *raw, size_t len, char *out, size_t cap, size_t *out_len, int *dir) {
  size_t o = 0, i = 0;
  *dir = 0;
  *out_len = 0;
  if (cap == 0) return SPK_ERANGE;
  if (len && raw[0] == '/') i = 1;
  else if (len) return SPK_EINVAL; /* the caller cut at a segment boundary */
  if (i == len) {
    *dir = 1;
    out[0] = '\0';
    return SPK_OK;
  }
  while (i <= len) {
    size_t start = i;
    while (i < len && raw[i] != '/') i++;
    size_t seg = i - start;
    if (seg == 0) {
      if (i == len) { /* trailing '/' */
        *dir = 1;
        break;
      }
      return SPK_EINVAL; /* "a//b" */
    }
    if (o && o + 1 >= cap) return SPK_ERANGE;
    if (o) out[o++] = '/';
    size_t seg_start = o;
    for (size_t k = start; k < i; k++) {
      char c = raw[k];
      if (c == '%' && k + 2 < i) {
        int h = hexval(raw[k + 1]), l = hexval(raw[k + 2]);
        if (h >= 0 && l >= 0) { /* an invalid escape stays literal, like spk__pct_decode */
          c = (char)(h * 16 + l);
          k += 2;
        }
      }
      if (c == '/' || c == '\\' || c == '\0') return SPK_EINVAL;
      if (o + 1 >= cap) return SPK_ERANGE;
      out[o++] = c;
    }
    size_t dlen = o - seg_start;
    if ((dlen == 1 && out[seg_start] == '.') ||
        (dlen == 2 && out[seg_start] == '.' && out[seg_start + 1] == '.'))
      return SPK_EINVAL;
    if (i == len) break;
    i++; /* skip '/' */
    if (i == len) {
      *dir = 1;
      break;
    }
  }
  out[o] = '\0';
  *out_len = o;
  return SPK_OK;
}

const char *spk_fs_content_type(const char *name, size_t len) {
  static const struct {
    const char *ext, *type;
  } types[] = {
      {"html", "text/html"},        {"htm", "text/html"},
      {"css", "text/css"},          {"js", "text/javascript"},
      {"mjs", "text/javascript"},   {"json", "application/json"},
      {"map", "application/json"},  {"txt", "text/plain"},
      {"md", "text/markdown"},      {"csv", "text/csv"},
      {"xml", "application/xml"},   {"svg", "image/svg+xml"},
      {"png", "image/png"},         {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},       {"gif", "image/gif"},
      {"webp", "image/webp"},       {"avif", "image/avif"},
      {"ico", "image/x-icon"},      {"wasm", "application/wasm"},
      {"pdf", "application/pdf"},   {"woff", "font/woff"},
      {"woff2", "font/woff2"},      {"ttf", "font/ttf"},
      {"otf", "font/otf"},          {"mp4", "video/mp4"},
      {"webm", "video/webm"},       {"mp3", "audio/mpeg"},
      {"ogg", "audio/ogg"},         {"wav", "audio/wav"},
      {"zip", "application/zip"},   {"gz", "application/gzip"},
      {"tar", "application/x-tar"}, {"webmanifest", "application/manifest+json"},
      {"yaml", "application/yaml"}, {"yml", "application/yaml"},
  };
  size_t dot = len;
  while (dot > 0 && name[dot - 1] != '.' && name[dot - 1] != '/') dot--;
  if (dot == 0 || name[dot - 1] != '.') return "application/octet-stream";
  const char *ext = name + dot;
  size_t elen = len - dot;
  for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
    if (spk__strieq(ext, elen, types[i].ext, strlen(types[i].ext))) return types[i].type;
  return "application/octet-stream";
}

/* ---- dates ---- */

static const char days[7][4] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"}; /* from 1970-01-01 */
static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d) {
  z += 719468;
  int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

void spk_http_date_format(int64_t t, char out[30]) {
  const int64_t max = 253402300799; /* 9999-12-31T23:59:59Z */
  if (t < 0) t = 0;
  if (t > max) t = max;
  int64_t day = t / 86400, sec = t % 86400;
  int64_t y;
  unsigned m, d;
  civil_from_days(day, &y, &m, &d);
  const char *wd = days[day % 7];
  int hh = (int)(sec / 3600), mi = (int)(sec / 60 % 60), ss = (int)(sec % 60);
  char *p = out;
  memcpy(p, wd, 3);
  p += 3;
  *p++ = ',';
  *p++ = ' ';
  *p++ = (char)('0' + d / 10);
  *p++ = (char)('0' + d % 10);
  *p++ = ' ';
  memcpy(p, months[m - 1], 3);
  p += 3;
  *p++ = ' ';
  *p++ = (char)('0' + y / 1000);
  *p++ = (char)('0' + y / 100 % 10);
  *p++ = (char)('0' + y / 10 % 10);
  *p++ = (char)('0' + y % 10);
  *p++ = ' ';
  *p++ = (char)('0' + hh / 10);
  *p++ = (char)('0' + hh % 10);
  *p++ = ':';
  *p++ = (char)('0' + mi / 10);
  *p++ = (char)('0' + mi % 10);
  *p++ = ':';
  *p++ = (char)('0' + ss / 10);
  *p++ = (char)('0' + ss % 10);
  memcpy(p, " GMT", 5);
}

/* A tiny cursor over the date text. */
typedef struct cur {
  const char *s;
  size_t len, i;
} cur_t;

static int lit(cur_t *c, const char *t) {
  size_t n = strlen(t);
  if (c->len - c->i < n || memcmp(c->s + c->i, t, n) != 0) return 0;
  c->i += n;
  return 1;
}

/* Exactly `n` digits (n2 > n: between n and n2 digits). */
static int digits(cur_t *c, size_t n, size_t n2, int64_t *v) {
  size_t k = 0;
  *v = 0;
  while (k < n2 && c->i < c->len && c->s[c->i] >= '0' && c->s[c->i] <= '9') {
    *v = *v * 10 + (c->s[c->i] - '0');
    c->i++, k++;
  }
  return k >= n;
}

static int month(cur_t *c, unsigned *m) {
  for (unsigned k = 0; k < 12; k++)
    if (lit(c, months[k])) {
      *m = k + 1;
      return 1;
    }
  return 0;
}

static int hms(cur_t *c, int64_t *h, int64_t *mi, int64_t *s) {
  return digits(c, 2, 2, h) && lit(c, ":") && digits(c, 2, 2, mi) && lit(c, ":") &&
         digits(c, 2, 2, s) && *h < 24 && *mi < 60 && *s < 61;
}

int spk_http_date_parse(const char *s, size_t len, int64_t *out) {
  cur_t c = {s, len, 0};
  int64_t y = 0, d = 0, h = 0, mi = 0, sec = 0;
  unsigned m = 0;
  size_t comma = 0;
  while (comma < len && s[comma] != ',' && s[comma] != ' ') comma++;
  if (comma == len) return SPK_EINVAL;
  int ok;
  if (s[comma] == ',' && comma == 3) { /* IMF-fixdate: Sun, 06 Nov 1994 08:49:37 GMT */
    c.i = 4;
    ok = lit(&c, " ") && digits(&c, 2, 2, &d) && lit(&c, " ") && month(&c, &m) &&
         lit(&c, " ") && digits(&c, 4, 4, &y) && lit(&c, " ") && hms(&c, &h, &mi, &sec) &&
         lit(&c, " GMT");
  } else if (s[comma] == ',') { /* RFC 850: Sunday, 06-Nov-94 08:49:37 GMT */
    c.i = comma + 1;
    ok = lit(&c, " ") && digits(&c, 2, 2, &d) && lit(&c, "-") && month(&c, &m) &&
         lit(&c, "-") && digits(&c, 2, 2, &y) && lit(&c, " ") && hms(&c, &h, &mi, &sec) &&
         lit(&c, " GMT");
    /* Two-digit years: RFC 9110 says a year more than 50 years ahead is in the past; we
     * simply take 70..99 as 19xx and 00..69 as 20xx. */
    y += y >= 70 ? 1900 : 2000;
  } else { /* asctime: Sun Nov  6 08:49:37 1994 */
    c.i = comma;
    ok = comma == 3 && lit(&c, " ") && month(&c, &m) && lit(&c, " ");
    if (ok && c.i < len && s[c.i] == ' ') c.i++;
    ok = ok && digits(&c, 1, 2, &d) && lit(&c, " ") && hms(&c, &h, &mi, &sec) && lit(&c, " ") &&
         digits(&c, 4, 4, &y);
  }
  if (!ok || c.i != len || d < 1 || d > 31 || y < 1970) return SPK_EINVAL;
  if (sec == 60) sec = 59; /* a leap second compares as the second before */
  *out = days_from_civil(y, m, (unsigned)d) * 86400 + h * 3600 + mi * 60 + sec;
  return SPK_OK;
}

/* ---- ranges ---- */

static int skip_ows(const char *s, size_t len, size_t i) {
  while (i < len && (s[i] == ' ' || s[i] == '\t')) i++;
  return (int)i;
}

/* Decimal digits at s[*i]; 0 when there are none or the value overflows. */
static int num(const char *s, size_t len, size_t *i, uint64_t *v) {
  size_t start = *i;
  *v = 0;
  while (*i < len && s[*i] >= '0' && s[*i] <= '9') {
    uint64_t d = (uint64_t)(s[*i] - '0');
    if (*v > (UINT64_MAX - d) / 10) return 0;
    *v = *v * 10 + d;
    (*i)++;
  }
  return *i > start;
}

int spk_range_parse(const char *s, size_t len, uint64_t size, uint64_t *first, uint64_t *last) {
  size_t i = 0;
  if (len < 6 || !spk__strieq(s, 6, "bytes=", 6)) return SPK_RANGE_IGNORE;
  i = 6;
  int count = 0, satisfiable = 0;
  for (;;) {
    i = (size_t)skip_ows(s, len, i);
    if (i < len && s[i] == ',') { /* empty list elements are allowed */
      i++;
      continue;
    }
    if (i == len) break;
    uint64_t a = 0, b = 0;
    int has_a = num(s, len, &i, &a), has_b = 0;
    if (i >= len || s[i] != '-') return SPK_RANGE_IGNORE;
    i++;
    has_b = num(s, len, &i, &b);
    if (!has_a && !has_b) return SPK_RANGE_IGNORE;
    if (has_a && has_b && b < a) return SPK_RANGE_IGNORE; /* invalid: ignore the field */
    i = (size_t)skip_ows(s, len, i);
    if (i < len && s[i] != ',') return SPK_RANGE_IGNORE;
    count++;
    uint64_t f, l;
    int sat;
    if (!has_a) { /* suffix: the last b bytes */
      sat = b > 0 && size > 0;
      f = b >= size ? 0 : size - b;
      l = size ? size - 1 : 0;
    } else {
      sat = a < size;
      f = a;
      l = has_b && b < size ? b : (size ? size - 1 : 0);
    }
    if (sat && !satisfiable) {
      *first = f;
      *last = l;
    }
    satisfiable += sat;
  }
  if (count == 0) return SPK_RANGE_IGNORE;
  if (!satisfiable) return SPK_RANGE_UNSAT;
  return count > 1 ? SPK_RANGE_MULTI : SPK_RANGE_OK;
}

/* ---- entity tags ---- */

int spk_etag_match(const char *list, size_t len, const char *etag, size_t elen, int weak) {
  const char *e = etag;
  int e_weak = elen >= 2 && e[0] == 'W' && e[1] == '/';
  if (e_weak) e += 2, elen -= 2;
  if (e_weak && !weak) return 0;
  size_t i = 0;
  while (i < len) {
    while (i < len && (list[i] == ' ' || list[i] == '\t' || list[i] == ',')) i++;
    if (i == len) break;
    if (list[i] == '*') return 1;
    int t_weak = 0;
    if (len - i >= 2 && list[i] == 'W' && list[i + 1] == '/') t_weak = 1, i += 2;
    if (i >= len || list[i] != '"') return 0; /* malformed: no match */
    size_t start = i++;
    while (i < len && list[i] != '"') i++;
    if (i == len) return 0;
    i++;
    if ((weak || !t_weak) && i - start == elen && memcmp(list + start, e, elen) == 0) return 1;
  }
  return 0;
}

