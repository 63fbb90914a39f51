/* IP address parsing, CIDR matching and X-Forwarded-For walking (see ipaddr.h). */
#include "proto/ipaddr.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>

static int is_blank(char c) { return c == ' ' || c == '\t'; }

static void trim(const char **s, size_t *len) {
  while (*len && is_blank(**s)) (*s)++, (*len)--;
  while (*len && is_blank((*s)[*len - 1])) (*len)--;
}

/* Strict address text (no brackets, no port) → 16 bytes. */
static int parse_bare(const char *s, size_t len, uint8_t out[16]) {
  char buf[64];
  if (len == 0 || len >= sizeof(buf) || memchr(s, '\0', len)) return -1;
  memcpy(buf, s, len);
  buf[len] = '\0';
  if (memchr(buf, ':', len)) {
    /* a zone id ("fe80::1%eth0") names an interface, not a different client */
    char *pct = strchr(buf, '%');
    if (pct) *pct = '\0';
    return inet_pton(AF_INET6, buf, out) == 1 ? 0 : -1;
  }
  uint8_t v4[4];
  if (inet_pton(AF_INET, buf, v4) != 1) return -1;
  memset(out, 0, 10);
  out[10] = 0xff;
  out[11] = 0xff;
  memcpy(out + 12, v4, 4);
  return 0;
}

static int all_digits(const char *s, size_t len) {
  if (len == 0 || len > 5) return 0;
  for (size_t i = 0; i < len; i++)
    if (s[i] < '0' || s[i] > '9') return 0;
  return 1;
}

int spk__ip_parse(const char *s, size_t len, uint8_t out[16]) {
  trim(&s, &len);
  if (len && s[0] == '[') { /* [v6] or [v6]:port */
    const char *close = memchr(s, ']', len);
    if (!close) return -1;
    size_t rest = len - (size_t)(close + 1 - s);
    if (rest && !(close[1] == ':' && all_digits(close + 2, rest - 1))) return -1;
    return parse_bare(s + 1, (size_t)(close - s - 1), out);
  }
  const char *colon = memchr(s, ':', len);
  if (colon && !memchr(colon + 1, ':', len - (size_t)(colon + 1 - s))) {
    /* exactly one colon: IPv4 with a port */
    if (!all_digits(colon + 1, len - (size_t)(colon + 1 - s))) return -1;
    len = (size_t)(colon - s);
    if (memchr(s, ':', len)) return -1;
  }
  return parse_bare(s, len, out);
}

static void mask(uint8_t a[16], unsigned prefix) {
  for (unsigned i = 0; i < 16; i++) {
    unsigned bits = prefix > i * 8 ? prefix - i * 8 : 0;
    if (bits >= 8) continue;
    a[i] &= (uint8_t)(0xff00u >> bits);
  }
}

int spk__cidr_parse(const char *s, size_t len, spk__cidr_t *out) {
  trim(&s, &len);
  const char *slash = memchr(s, '/', len);
  size_t alen = slash ? (size_t)(slash - s) : len;
  if (parse_bare(s, alen, out->addr) != 0) return -1;
  int v4 = memchr(s, ':', alen) == NULL;
  unsigned max = v4 ? 32 : 128, p = max;
  if (slash) {
    const char *d = slash + 1;
    size_t dl = len - alen - 1;
    if (dl == 0 || dl > 3) return -1;
    p = 0;
    for (size_t i = 0; i < dl; i++) {
      if (d[i] < '0' || d[i] > '9') return -1;
      p = p * 10 + (unsigned)(d[i] - '0');
    }
    if (p > max) return -1;
  }
  out->prefix = (uint8_t)(v4 ? 96 + p : p);
  mask(out->addr, out->prefix);
  return 0;
}

int spk__cidr_match(const spk__cidr_t *c, const uint8_t ip[16]) {
  unsigned full = c->prefix / 8, rem = c->prefix % 8;
  if (memcmp(c->addr, ip, full) != 0) return 0;
  if (rem == 0) return 1;
  uint8_t m = (uint8_t)(0xff00u >> rem);
  return (ip[full] & m) == c->addr[full];
}

void spk__ip_format(const uint8_t ip[16], char *out, size_t cap) {
  static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (memcmp(ip, mapped, 12) == 0) {
    snprintf(out, cap, "%u.%u.%u.%u", ip[12], ip[13], ip[14], ip[15]);
    return;
  }
  char buf[INET6_ADDRSTRLEN];
  if (!inet_ntop(AF_INET6, ip, buf, sizeof(buf))) buf[0] = '\0';
  snprintf(out, cap, "%s", buf);
}

static int trusted_ip(const spk__cidr_t *t, size_t n, const uint8_t ip[16]) {
  for (size_t i = 0; i < n; i++)
    if (spk__cidr_match(&t[i], ip)) return 1;
  return 0;
}

int spk__xff_client(const char *const *values, const size_t *lens, size_t n,
                    const spk__cidr_t *trusted, size_t ntrusted, uint8_t out[16]) {
  int seen = 0;
  uint8_t ip[16];
  for (size_t h = n; h-- > 0;) {
    const char *v = values[h];
    size_t end = lens[h];
    for (;;) { /* entries of this field, right to left */
      size_t start = end;
      while (start > 0 && v[start - 1] != ',') start--;
      const char *e = v + start;
      size_t el = end - start;
      trim(&e, &el);
      if (el) { /* empty list elements are allowed by the list syntax: skip them */
        if (spk__ip_parse(e, el, ip) != 0) return -1;
        memcpy(out, ip, 16);
        seen = 1;
        if (!trusted_ip(trusted, ntrusted, ip)) return 1;
      }
      if (start == 0) break;
      end = start - 1;
    }
  }
  return seen; /* all trusted: the left-most one (already in out) */
}
