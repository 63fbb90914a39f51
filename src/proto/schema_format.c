/* `format` checkers (JSON Schema 2020-12 §7.3, draft-07 §7.3). Every checker takes the decoded
 * string and its length (strings may contain U+0000) and allocates nothing.
 *
 * Covered: date, time, date-time, duration (RFC 3339 + its appendix A), email, idn-email
 * (RFC 5321/6531 mailbox), hostname, idn-hostname (RFC 1123 + IDNA2008: Punycode, the
 * contextual rules and the Bidi rule, with compact approximations of the Unicode tables),
 * ipv4, ipv6, uri, uri-reference, iri, iri-reference (RFC 3986/3987), uri-template
 * (RFC 6570), uuid, json-pointer, relative-json-pointer, regex (ECMA-262). Unknown names are
 * not checked (annotation only). */
#include <string.h>

#include "proto/schema_internal.h"

static int is_digit(unsigned char c) { return c >= '0' && c <= '9'; }
static int is_alpha(unsigned char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_hex(unsigned char c) {
  return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static int lower(int c) { return (c >= 'A' && c <= 'Z') ? c + 32 : c; }

/* Decode one UTF-8 code point; returns its length (0 when invalid). */
static size_t utf8_next(const char *s, size_t n, unsigned long *cp) {
  const unsigned char *u = (const unsigned char *)s;
  if (!n) return 0;
  if (u[0] < 0x80) {
    *cp = u[0];
    return 1;
  }
  size_t len;
  unsigned long c;
  if (u[0] >= 0xC2 && u[0] <= 0xDF) len = 2, c = u[0] & 0x1F;
  else if (u[0] >= 0xE0 && u[0] <= 0xEF) len = 3, c = u[0] & 0x0F;
  else if (u[0] >= 0xF0 && u[0] <= 0xF4) len = 4, c = u[0] & 0x07;
  else return 0;
  if (n < len) return 0;
  for (size_t k = 1; k < len; k++) {
    if ((u[k] & 0xC0) != 0x80) return 0;
    c = (c << 6) | (u[k] & 0x3F);
  }
  if ((len == 3 && c < 0x800) || (len == 4 && (c < 0x10000 || c > 0x10FFFF)) ||
      (c >= 0xD800 && c <= 0xDFFF))
    return 0;
  *cp = c;
  return len;
}

static int digits(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!is_digit((unsigned char)s[i])) return 0;
  return 1;
}

static int num2(const char *s) { return (s[0] - '0') * 10 + (s[1] - '0'); }

/* ==== dates and times (RFC 3339) ========================================================= */

static int leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

static int check_date(const char *s, size_t n) {
  if (n != 10 || s[4] != '-' || s[7] != '-' || !digits(s, 4) || !digits(s + 5, 2) ||
      !digits(s + 8, 2))
    return 0;
  int y = num2(s) * 100 + num2(s + 2), m = num2(s + 5), d = num2(s + 8);
  static const int mdays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m < 1 || m > 12 || d < 1) return 0;
  int max = mdays[m - 1] + (m == 2 && leap(y));
  return d <= max;
}

static int check_time(const char *s, size_t n) {
  /* HH:MM:SS[.frac](Z|±HH:MM) */
  if (n < 9 || s[2] != ':' || s[5] != ':' || !digits(s, 2) || !digits(s + 3, 2) ||
      !digits(s + 6, 2))
    return 0;
  int h = num2(s), mi = num2(s + 3), se = num2(s + 6);
  size_t i = 8;
  if (i < n && s[i] == '.') {
    size_t st = ++i;
    while (i < n && is_digit((unsigned char)s[i])) i++;
    if (i == st) return 0;
  }
  if (i >= n) return 0;
  int oh = 0, om = 0, sign = 0;
  if (s[i] == 'Z' || s[i] == 'z') {
    if (i + 1 != n) return 0;
  } else if (s[i] == '+' || s[i] == '-') {
    if (n - i != 6 || s[i + 3] != ':' || !digits(s + i + 1, 2) || !digits(s + i + 4, 2)) return 0;
    sign = s[i] == '+' ? 1 : -1;
    oh = num2(s + i + 1);
    om = num2(s + i + 4);
    if (oh > 23 || om > 59) return 0;
  } else {
    return 0;
  }
  if (h > 23 || mi > 59 || se > 60) return 0;
  if (se == 60) {
    /* a leap second only at 23:59:60 UTC */
    int utc = h * 60 + mi - sign * (oh * 60 + om);
    utc = ((utc % 1440) + 1440) % 1440;
    if (utc != 23 * 60 + 59) return 0;
  }
  return 1;
}

static int check_date_time(const char *s, size_t n) {
  if (n < 20 || (s[10] != 'T' && s[10] != 't')) return 0;
  return check_date(s, 10) && check_time(s + 11, n - 11);
}

static int check_duration(const char *s, size_t n) {
  /* RFC 3339 appendix A: P (date [time] / time / week) */
  if (n < 2 || s[0] != 'P') return 0;
  size_t i = 1;
  static const char date_units[] = "YMD";
  static const char time_units[] = "HMS";
  int any = 0;
  /* week form */
  {
    size_t j = i;
    while (j < n && is_digit((unsigned char)s[j])) j++;
    if (j > i && j < n && s[j] == 'W') return j + 1 == n;
  }
  int pos = 0; /* next allowed date unit index */
  int last = -1;
  while (i < n && s[i] != 'T') {
    size_t st = i;
    while (i < n && is_digit((unsigned char)s[i])) i++;
    if (i == st || i >= n) return 0;
    const char *u = strchr(date_units, s[i]);
    if (!u || s[i] == '\0') return 0;
    int idx = (int)(u - date_units);
    if (idx < pos) return 0;
    /* Y may be followed only by M; M only by D (no gaps) */
    if (last >= 0 && idx != last + 1) return 0;
    last = idx;
    pos = idx + 1;
    i++;
    any = 1;
  }
  if (i < n && s[i] == 'T') {
    i++;
    if (i >= n) return 0;
    pos = 0;
    last = -1;
    while (i < n) {
      size_t st = i;
      while (i < n && is_digit((unsigned char)s[i])) i++;
      if (i == st || i >= n) return 0;
      const char *u = strchr(time_units, s[i]);
      if (!u || s[i] == '\0') return 0;
      int idx = (int)(u - time_units);
      if (idx < pos) return 0;
      if (last >= 0 && idx != last + 1) return 0;
      last = idx;
      pos = idx + 1;
      i++;
      any = 1;
    }
  }
  return any && i == n;
}

/* ==== IP addresses ======================================================================= */

static int check_ipv4(const char *s, size_t n) {
  size_t i = 0;
  for (int part = 0; part < 4; part++) {
    if (part) {
      if (i >= n || s[i] != '.') return 0;
      i++;
    }
    size_t st = i;
    int v = 0;
    while (i < n && is_digit((unsigned char)s[i]) && i - st < 3) v = v * 10 + (s[i++] - '0');
    size_t len = i - st;
    if (!len || v > 255 || (len > 1 && s[st] == '0')) return 0;
    if (i < n && is_digit((unsigned char)s[i])) return 0;
  }
  return i == n;
}

static int check_ipv6(const char *s, size_t n) {
  if (n < 2) return 0;
  int groups = 0, dbl = 0;
  size_t i = 0;
  if (s[0] == ':') {
    if (s[1] != ':') return 0;
    dbl = 1;
    i = 2;
    if (i == n) return 1;
  }
  for (;;) {
    /* an IPv4 tail? */
    size_t j = i;
    while (j < n && s[j] != ':' && s[j] != '.') j++;
    if (j < n && s[j] == '.') {
      if (!check_ipv4(s + i, n - i)) return 0;
      groups += 2;
      i = n;
      break;
    }
    size_t st = i;
    while (i < n && is_hex((unsigned char)s[i])) i++;
    size_t len = i - st;
    if (len < 1 || len > 4) return 0;
    groups++;
    if (i == n) break;
    if (s[i] != ':') return 0;
    i++;
    if (i < n && s[i] == ':') {
      if (dbl) return 0;
      dbl = 1;
      i++;
      if (i == n) break;
    } else if (i == n) {
      return 0;
    }
  }
  return dbl ? groups < 8 : groups == 8;
}

/* ==== hostnames and IDNA ================================================================= */

typedef struct range {
  unsigned long lo, hi;
} range_t;

static int in_ranges(unsigned long c, const range_t *r, size_t n) {
  size_t lo = 0, hi = n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (c < r[mid].lo) hi = mid;
    else if (c > r[mid].hi) lo = mid + 1;
    else return 1;
  }
  return 0;
}

/* Combining marks (Mn, Mc, Me) of the common scripts. */
static const range_t marks[] = {
    {0x0300, 0x036F}, {0x0483, 0x0489}, {0x0591, 0x05BD}, {0x05BF, 0x05BF}, {0x05C1, 0x05C2},
    {0x05C4, 0x05C5}, {0x05C7, 0x05C7}, {0x0610, 0x061A}, {0x064B, 0x065F}, {0x0670, 0x0670},
    {0x06D6, 0x06DC}, {0x06DF, 0x06E4}, {0x06E7, 0x06E8}, {0x06EA, 0x06ED}, {0x0711, 0x0711},
    {0x0730, 0x074A}, {0x07A6, 0x07B0}, {0x07EB, 0x07F3}, {0x0816, 0x082D}, {0x0859, 0x085B},
    {0x08D3, 0x0903}, {0x093A, 0x093C}, {0x093E, 0x094F}, {0x0951, 0x0957}, {0x0962, 0x0963},
    {0x0981, 0x0983}, {0x09BC, 0x09BC}, {0x09BE, 0x09CD}, {0x09D7, 0x09D7}, {0x09E2, 0x09E3},
    {0x0A01, 0x0A03}, {0x0A3C, 0x0A51}, {0x0A70, 0x0A71}, {0x0A75, 0x0A75}, {0x0A81, 0x0A83},
    {0x0ABC, 0x0ABC}, {0x0ABE, 0x0ACD}, {0x0AE2, 0x0AE3}, {0x0B01, 0x0B03}, {0x0B3C, 0x0B3C},
    {0x0B3E, 0x0B57}, {0x0B62, 0x0B63}, {0x0B82, 0x0B82}, {0x0BBE, 0x0BCD}, {0x0BD7, 0x0BD7},
    {0x0C00, 0x0C04}, {0x0C3E, 0x0C56}, {0x0C62, 0x0C63}, {0x0C81, 0x0C83}, {0x0CBC, 0x0CBC},
    {0x0CBE, 0x0CD6}, {0x0CE2, 0x0CE3}, {0x0D00, 0x0D03}, {0x0D3B, 0x0D3C}, {0x0D3E, 0x0D4D},
    {0x0D57, 0x0D57}, {0x0D62, 0x0D63}, {0x0D82, 0x0D83}, {0x0DCA, 0x0DDF}, {0x0DF2, 0x0DF3},
    {0x0E31, 0x0E31}, {0x0E34, 0x0E3A}, {0x0E47, 0x0E4E}, {0x0EB1, 0x0EB1}, {0x0EB4, 0x0EBC},
    {0x0EC8, 0x0ECD}, {0x0F18, 0x0F19}, {0x0F35, 0x0F35}, {0x0F37, 0x0F37}, {0x0F39, 0x0F39},
    {0x0F3E, 0x0F3F}, {0x0F71, 0x0F84}, {0x0F86, 0x0F87}, {0x0F8D, 0x0FBC}, {0x0FC6, 0x0FC6},
    {0x102B, 0x103E}, {0x1056, 0x1059}, {0x105E, 0x1060}, {0x1062, 0x1064}, {0x1067, 0x106D},
    {0x1071, 0x1074}, {0x1082, 0x108D}, {0x108F, 0x108F}, {0x109A, 0x109D}, {0x135D, 0x135F},
    {0x1712, 0x1714}, {0x1732, 0x1734}, {0x1752, 0x1753}, {0x1772, 0x1773}, {0x17B4, 0x17D3},
    {0x17DD, 0x17DD}, {0x180B, 0x180D}, {0x1885, 0x1886}, {0x18A9, 0x18A9}, {0x1920, 0x193B},
    {0x1A17, 0x1A1B}, {0x1A55, 0x1A7F}, {0x1AB0, 0x1AFF}, {0x1B00, 0x1B04}, {0x1B34, 0x1B44},
    {0x1B6B, 0x1B73}, {0x1B80, 0x1B82}, {0x1BA1, 0x1BAD}, {0x1BE6, 0x1BF3}, {0x1C24, 0x1C37},
    {0x1CD0, 0x1CF9}, {0x1DC0, 0x1DFF}, {0x20D0, 0x20FF}, {0x2CEF, 0x2CF1}, {0x2D7F, 0x2D7F},
    {0x2DE0, 0x2DFF}, {0x302A, 0x302F}, {0x3099, 0x309A}, {0xA66F, 0xA672}, {0xA674, 0xA67D},
    {0xA69E, 0xA69F}, {0xA6F0, 0xA6F1}, {0xA802, 0xA802}, {0xA806, 0xA806}, {0xA80B, 0xA80B},
    {0xA823, 0xA827}, {0xA880, 0xA881}, {0xA8B4, 0xA8C5}, {0xA8E0, 0xA8F1}, {0xA926, 0xA92D},
    {0xA947, 0xA953}, {0xA980, 0xA983}, {0xA9B3, 0xA9C0}, {0xAA29, 0xAA36}, {0xAA43, 0xAA43},
    {0xAA4C, 0xAA4D}, {0xAAEB, 0xAAEF}, {0xAAF5, 0xAAF6}, {0xABE3, 0xABEA}, {0xABEC, 0xABED},
    {0xFB1E, 0xFB1E}, {0xFE00, 0xFE0F}, {0xFE20, 0xFE2F}, {0x101FD, 0x101FD},
    {0x1D165, 0x1D169}, {0x1D16D, 0x1D172}, {0x1D17B, 0x1D182}, {0x1E000, 0x1E02A},
    {0xE0100, 0xE01EF}};

static const range_t viramas[] = {
    {0x094D, 0x094D}, {0x09CD, 0x09CD}, {0x0A4D, 0x0A4D}, {0x0ACD, 0x0ACD}, {0x0B4D, 0x0B4D},
    {0x0BCD, 0x0BCD}, {0x0C4D, 0x0C4D}, {0x0CCD, 0x0CCD}, {0x0D3B, 0x0D3C}, {0x0D4D, 0x0D4D},
    {0x0DCA, 0x0DCA}, {0x0E3A, 0x0E3A}, {0x0EBA, 0x0EBA}, {0x0F84, 0x0F84}, {0x1039, 0x103A},
    {0x1714, 0x1714}, {0x1734, 0x1734}, {0x17D2, 0x17D2}, {0x1A60, 0x1A60}, {0x1B44, 0x1B44},
    {0x1BAA, 0x1BAB}, {0x1BF2, 0x1BF3}, {0x2D7F, 0x2D7F}, {0xA806, 0xA806}, {0xA8C4, 0xA8C4},
    {0xA953, 0xA953}, {0xA9C0, 0xA9C0}, {0xAAF6, 0xAAF6}, {0xABED, 0xABED}, {0x10A3F, 0x10A3F},
    {0x11046, 0x11046}, {0x1107F, 0x1107F}, {0x110B9, 0x110B9}, {0x11133, 0x11134},
    {0x111C0, 0x111C0}, {0x11235, 0x11235}, {0x112EA, 0x112EA}, {0x1134D, 0x1134D},
    {0x11442, 0x11442}, {0x114C2, 0x114C2}, {0x115BF, 0x115BF}, {0x1163F, 0x1163F},
    {0x116B6, 0x116B6}, {0x1172B, 0x1172B}, {0x11839, 0x11839}, {0x119E0, 0x119E0},
    {0x11A34, 0x11A34}, {0x11A47, 0x11A47}, {0x11A99, 0x11A99}, {0x11C3F, 0x11C3F},
    {0x11D44, 0x11D45}, {0x11D97, 0x11D97}};

/* Right-to-left scripts (Bidi classes R and AL), approximately. */
static const range_t rtl[] = {{0x0590, 0x05FF}, {0x0600, 0x065F}, {0x066A, 0x06EF},
                              {0x06FA, 0x08FF}, {0xFB1D, 0xFDFF}, {0xFE70, 0xFEFF},
                              {0x10800, 0x10FFF}, {0x1E800, 0x1EFFF}};

/* Code points IDNA2008 disallows (a compact approximation of RFC 5892). */
static int idna_disallowed(unsigned long c) {
  static const unsigned long pvalid_exceptions[] = {0x00DF, 0x03C2, 0x06FD, 0x06FE, 0x0F0B, 0x3007};
  for (size_t i = 0; i < sizeof(pvalid_exceptions) / sizeof(pvalid_exceptions[0]); i++)
    if (c == pvalid_exceptions[i]) return 0;
  static const range_t bad[] = {
      {0x0000, 0x002C}, {0x002E, 0x002F}, {0x003A, 0x0040}, {0x005B, 0x0060}, {0x007B, 0x00B6},
      {0x00B8, 0x00BF}, {0x00D7, 0x00D7}, {0x00F7, 0x00F7}, {0x02B0, 0x02FF}, {0x0340, 0x0341},
      {0x0343, 0x0345}, {0x037A, 0x037A}, {0x037E, 0x037E}, {0x0384, 0x0385}, {0x0387, 0x0387},
      {0x0640, 0x0640}, {0x07FA, 0x07FA}, {0x1806, 0x1806}, {0x2000, 0x200B}, {0x200E, 0x2BFF},
      {0x3000, 0x3006}, {0x3008, 0x3029}, {0x302E, 0x303F}, {0x309B, 0x309C}, {0xD800, 0xF8FF},
      {0xFE10, 0xFE1F}, {0xFE30, 0xFE6F}, {0xFF00, 0xFFEF}, {0xFFF0, 0xFFFF}};
  return in_ranges(c, bad, sizeof(bad) / sizeof(bad[0]));
}

static int is_greek(unsigned long c) { return (c >= 0x0370 && c <= 0x03FF) || (c >= 0x1F00 && c <= 0x1FFF); }
static int is_hebrew(unsigned long c) { return c >= 0x0590 && c <= 0x05FF; }
static int is_kana_han(unsigned long c) {
  return (c >= 0x3040 && c <= 0x309F) || (c >= 0x30A0 && c <= 0x30FF && c != 0x30FB) ||
         (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) ||
         (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x20000 && c <= 0x2FFFF);
}
static int is_mark(unsigned long c) { return in_ranges(c, marks, sizeof(marks) / sizeof(marks[0])); }
static int is_rtl(unsigned long c) {
  if ((c >= 0x0660 && c <= 0x0669) || (c >= 0x06F0 && c <= 0x06F9)) return 0;
  return in_ranges(c, rtl, sizeof(rtl) / sizeof(rtl[0])) && !is_mark(c);
}
/* Arabic letters with a joining type (for ZWNJ between joining letters). */
static int is_joining(unsigned long c) {
  return (c >= 0x0620 && c <= 0x064A) || (c >= 0x066E && c <= 0x06D3) || (c >= 0x06FA && c <= 0x06FF) ||
         (c >= 0x0710 && c <= 0x074F) || (c >= 0x0750 && c <= 0x077F);
}

#define MAX_LABEL_CPS 256

/* Validate a U-label given as code points. */
static int ulabel_ok(const unsigned long *cp, size_t n) {
  if (!n) return 0;
  if (cp[0] == '-' || cp[n - 1] == '-') return 0;
  if (n >= 4 && cp[2] == '-' && cp[3] == '-') return 0;
  if (is_mark(cp[0])) return 0;
  int arabic_digits = 0, ext_digits = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned long c = cp[i];
    if (c >= 'A' && c <= 'Z') continue;
    if (c == 0x00B7) {
      if (!(i > 0 && i + 1 < n && cp[i - 1] == 'l' && cp[i + 1] == 'l')) return 0;
      continue;
    }
    if (c == 0x0375) {
      if (!(i + 1 < n && is_greek(cp[i + 1]))) return 0;
      continue;
    }
    if (c == 0x05F3 || c == 0x05F4) {
      if (!(i > 0 && is_hebrew(cp[i - 1]))) return 0;
      continue;
    }
    if (c == 0x30FB) {
      int ok = 0;
      for (size_t k = 0; k < n; k++)
        if (is_kana_han(cp[k])) ok = 1;
      if (!ok) return 0;
      continue;
    }
    if (c == 0x200D) {
      if (!(i > 0 && in_ranges(cp[i - 1], viramas, sizeof(viramas) / sizeof(viramas[0])))) return 0;
      continue;
    }
    if (c == 0x200C) {
      if (i > 0 && in_ranges(cp[i - 1], viramas, sizeof(viramas) / sizeof(viramas[0]))) continue;
      /* (Joining_Type L|D) T* ZWNJ T* (R|D): approximated with joining Arabic letters */
      size_t a = i, b = i + 1;
      while (a > 0 && is_mark(cp[a - 1])) a--;
      while (b < n && is_mark(cp[b])) b++;
      if (a > 0 && b < n && is_joining(cp[a - 1]) && is_joining(cp[b])) continue;
      return 0;
    }
    if (c >= 0x0660 && c <= 0x0669) arabic_digits = 1;
    if (c >= 0x06F0 && c <= 0x06F9) ext_digits = 1;
    if (idna_disallowed(c)) return 0;
  }
  return !(arabic_digits && ext_digits);
}

/* RFC 5893 Bidi rule for one label. */
static int bidi_ok(const unsigned long *cp, size_t n) {
  int rtl_label = is_rtl(cp[0]);
  int en = 0, an = 0;
  size_t last = n;
  while (last > 0 && is_mark(cp[last - 1])) last--;
  if (!last) return 0;
  for (size_t i = 0; i < n; i++) {
    unsigned long c = cp[i];
    int is_en = (c >= '0' && c <= '9') || (c >= 0x06F0 && c <= 0x06F9);
    int is_an = (c >= 0x0660 && c <= 0x0669);
    en |= is_en;
    an |= is_an;
    if (c == 0x200C || c == 0x200D) continue; /* Bidi class BN */
    if (rtl_label) {
      if (!is_rtl(c) && !is_en && !is_an && !is_mark(c) && c != '-') return 0;
    } else {
      if (is_rtl(c) || is_an) return 0;
    }
  }
  unsigned long e = cp[last - 1];
  int e_en = (e >= '0' && e <= '9') || (e >= 0x06F0 && e <= 0x06F9);
  if (rtl_label) {
    if (en && an) return 0;
    return is_rtl(e) || e_en || (e >= 0x0660 && e <= 0x0669);
  }
  if (!(is_alpha((unsigned char)(cp[0] < 0x80 ? cp[0] : 'a')) && !(cp[0] >= '0' && cp[0] <= '9')))
    return 0;
  if (cp[0] >= '0' && cp[0] <= '9') return 0;
  return !is_mark(e) && e != '-';
}

/* Punycode (RFC 3492) decoding into code points; 0 on failure. */
static int puny_decode(const char *s, size_t n, unsigned long *out, size_t *out_n, size_t cap) {
  const unsigned long base = 36, tmin = 1, tmax = 26, skew = 38, damp = 700;
  size_t b = 0;
  for (size_t j = 0; j < n; j++)
    if (s[j] == '-') b = j;
  size_t k = 0;
  if (b > 0) {
    for (size_t j = 0; j < b; j++) {
      if ((unsigned char)s[j] >= 0x80 || k >= cap) return 0;
      out[k++] = (unsigned char)s[j];
    }
  }
  unsigned long nn = 128, bias = 72, i = 0;
  size_t in = b > 0 ? b + 1 : 0;
  if (b == 0 && n && s[0] == '-') in = 1;
  while (in < n) {
    unsigned long oldi = i, w = 1;
    for (unsigned long kk = base;; kk += base) {
      if (in >= n) return 0;
      int ch = lower((unsigned char)s[in++]);
      unsigned long digit;
      if (ch >= 'a' && ch <= 'z') digit = (unsigned long)(ch - 'a');
      else if (ch >= '0' && ch <= '9') digit = (unsigned long)(ch - '0' + 26);
      else return 0;
      if (digit > (0xFFFFFFFFul - i) / w) return 0;
      i += digit * w;
      unsigned long t = kk <= bias ? tmin : kk >= bias + tmax ? tmax : kk - bias;
      if (digit < t) break;
      if (w > 0xFFFFFFFFul / (base - t)) return 0;
      w *= base - t;
    }
    /* adapt */
    unsigned long delta = i - oldi, numpoints = (unsigned long)k + 1;
    delta = oldi == 0 ? delta / damp : delta / 2;
    delta += delta / numpoints;
    unsigned long kk = 0;
    while (delta > ((base - tmin) * tmax) / 2) {
      delta /= base - tmin;
      kk += base;
    }
    bias = kk + (base - tmin + 1) * delta / (delta + skew);
    if (i / numpoints > 0x10FFFF - nn) return 0;
    nn += i / numpoints;
    i %= numpoints;
    if (nn > 0x10FFFF || (nn >= 0xD800 && nn <= 0xDFFF) || k >= cap) return 0;
    memmove(out + i + 1, out + i, (k - i) * sizeof(*out));
    out[i++] = nn;
    k++;
  }
  *out_n = k;
  return 1;
}

/* Punycode encoding length check and round trip: writes the ASCII form to buf. */
static size_t puny_encode(const unsigned long *cp, size_t n, char *buf, size_t cap) {
  const unsigned long base = 36, tmin = 1, tmax = 26, skew = 38, damp = 700;
  size_t o = 0, b = 0;
  for (size_t j = 0; j < n; j++) {
    if (cp[j] < 0x80) {
      if (o >= cap) return 0;
      buf[o++] = (char)cp[j];
      b++;
    }
  }
  size_t h = b;
  if (b > 0) {
    if (o >= cap) return 0;
    buf[o++] = '-';
  }
  unsigned long nn = 128, delta = 0, bias = 72;
  while (h < n) {
    unsigned long m = 0xFFFFFFFFul;
    for (size_t j = 0; j < n; j++)
      if (cp[j] >= nn && cp[j] < m) m = cp[j];
    delta += (m - nn) * (h + 1);
    nn = m;
    for (size_t j = 0; j < n; j++) {
      if (cp[j] < nn) delta++;
      if (cp[j] == nn) {
        unsigned long q = delta;
        for (unsigned long kk = base;; kk += base) {
          unsigned long t = kk <= bias ? tmin : kk >= bias + tmax ? tmax : kk - bias;
          if (q < t) break;
          unsigned long d = t + (q - t) % (base - t);
          if (o >= cap) return 0;
          buf[o++] = (char)(d < 26 ? 'a' + d : '0' + d - 26);
          q = (q - t) / (base - t);
        }
        if (o >= cap) return 0;
        buf[o++] = (char)(q < 26 ? 'a' + q : '0' + q - 26);
        /* adapt */
        unsigned long dd = h == b ? delta / damp : delta / 2;
        dd += dd / (h + 1);
        unsigned long kk = 0;
        while (dd > ((base - tmin) * tmax) / 2) {
          dd /= base - tmin;
          kk += base;
        }
        bias = kk + (base - tmin + 1) * dd / (dd + skew);
        delta = 0;
        h++;
      }
    }
    delta++;
    nn++;
  }
  return o;
}

/* Check the labels of a host name. `idn`: U-labels and the IDN dot separators allowed. */
static int check_host(const char *s, size_t n, int idn) {
  if (!n) return 0;
  unsigned long cps[MAX_LABEL_CPS];
  size_t total_ascii = 0;
  int bidi_domain = 0;
  /* Two passes: the first finds whether this is a Bidi domain name. */
  for (int pass = 0; pass < 2; pass++) {
    size_t i = 0;
    total_ascii = 0;
    int first = 1;
    while (i <= n) {
      /* find the label end */
      size_t st = i, k = 0;
      int ascii_only = 1;
      int ended = 0;
      size_t sep_len = 0;
      while (i < n) {
        unsigned long c;
        size_t l = utf8_next(s + i, n - i, &c);
        if (!l) return 0;
        if (c == '.' || (idn && (c == 0x3002 || c == 0xFF0E || c == 0xFF61))) {
          ended = 1;
          sep_len = l;
          break;
        }
        if (c >= 0x80) {
          if (!idn) return 0;
          ascii_only = 0;
        }
        if (k >= MAX_LABEL_CPS) return 0;
        cps[k++] = c;
        i += l;
      }
      size_t label_bytes = i - st;
      (void)label_bytes;
      if (!k) return 0; /* empty label (leading, trailing or double dot) */
      size_t ascii_len;
      if (ascii_only) {
        for (size_t j = 0; j < k; j++) {
          unsigned long c = cps[j];
          if (!(is_alpha((unsigned char)c) || is_digit((unsigned char)c) || c == '-')) return 0;
        }
        if (cps[0] == '-' || cps[k - 1] == '-') return 0;
        ascii_len = k;
        if (ascii_len > 63) return 0;
        if (k >= 4 && lower((int)cps[0]) == 'x' && lower((int)cps[1]) == 'n' && cps[2] == '-' &&
            cps[3] == '-') {
          /* A-label: decode, validate, re-encode */
          char lab[64];
          for (size_t j = 0; j < k; j++) lab[j] = (char)cps[j];
          unsigned long u[MAX_LABEL_CPS];
          size_t un = 0;
          if (!puny_decode(lab + 4, k - 4, u, &un, MAX_LABEL_CPS) || !un) return 0;
          int all_ascii = 1;
          for (size_t j = 0; j < un; j++)
            if (u[j] >= 0x80) all_ascii = 0;
          if (all_ascii) return 0;
          if (!ulabel_ok(u, un)) return 0;
          char re[80];
          size_t rl = puny_encode(u, un, re, sizeof(re));
          if (!rl || rl != k - 4) return 0;
          for (size_t j = 0; j < rl; j++)
            if (lower((unsigned char)re[j]) != lower((unsigned char)lab[4 + j])) return 0;
          int has_rtl = 0;
          for (size_t j = 0; j < un; j++) has_rtl |= is_rtl(u[j]) || (u[j] >= 0x0660 && u[j] <= 0x0669);
          if (pass == 0) bidi_domain |= has_rtl;
          else if (bidi_domain && !bidi_ok(u, un)) return 0;
        } else if (k >= 4 && cps[2] == '-' && cps[3] == '-' && idn) {
          return 0;
        } else if (pass == 1 && bidi_domain && !bidi_ok(cps, k)) {
          return 0;
        }
      } else {
        if (!ulabel_ok(cps, k)) return 0;
        char enc[80];
        size_t el = puny_encode(cps, k, enc, sizeof(enc));
        if (!el || el + 4 > 63) return 0;
        ascii_len = el + 4;
        int has_rtl = 0;
        for (size_t j = 0; j < k; j++) has_rtl |= is_rtl(cps[j]) || (cps[j] >= 0x0660 && cps[j] <= 0x0669);
        if (pass == 0) bidi_domain |= has_rtl;
        else if (bidi_domain && !bidi_ok(cps, k)) return 0;
      }
      total_ascii += ascii_len + (first ? 0 : 1);
      first = 0;
      if (!ended) break;
      i += sep_len;
      if (i == n) return 0; /* trailing dot */
    }
  }
  return total_ascii <= 253;
}

static int check_hostname(const char *s, size_t n) { return check_host(s, n, 0); }
static int check_idn_hostname(const char *s, size_t n) { return check_host(s, n, 1); }

/* ==== email ============================================================================== */

static int is_atext(unsigned char c) {
  return is_alpha(c) || is_digit(c) || (c && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

static int check_mailbox(const char *s, size_t n, int idn) {
  /* split at the last '@' that is outside a quoted local part */
  size_t at = n;
  size_t i = 0;
  if (n && s[0] == '"') {
    i = 1;
    while (i < n && s[i] != '"') {
      unsigned char c = (unsigned char)s[i];
      if (c == '\\') {
        if (i + 1 >= n) return 0;
        unsigned char q = (unsigned char)s[i + 1];
        if (q < 32 || (q > 126 && !idn)) return 0;
        i += 2;
        continue;
      }
      if (c < 32 || c == 127 || (c >= 0x80 && !idn)) return 0;
      i++;
    }
    if (i >= n) return 0;
    i++;
    if (i >= n || s[i] != '@') return 0;
    at = i;
  } else {
    for (i = 0; i < n; i++) {
      unsigned char c = (unsigned char)s[i];
      if (c == '@') {
        at = i;
        break;
      }
      if (c == '.') {
        if (i == 0 || s[i - 1] == '.') return 0;
        continue;
      }
      if (c >= 0x80 && idn) continue;
      if (!is_atext(c)) return 0;
    }
    if (at == n || at == 0 || s[at - 1] == '.') return 0;
  }
  if (at > 64) return 0;
  const char *d = s + at + 1;
  size_t dn = n - at - 1;
  if (!dn) return 0;
  if (d[0] == '[') {
    if (d[dn - 1] != ']') return 0;
    if (dn > 7 && memcmp(d + 1, "IPv6:", 5) == 0) return check_ipv6(d + 6, dn - 7);
    return check_ipv4(d + 1, dn - 2);
  }
  /* A deliverable address needs a dotted domain: RFC 5321 allows "user@localhost", but no
   * public address looks like that and every mainstream validator (pydantic's email-validator,
   * the original Spikard's pattern) rejects it. Address literals ([…]) are handled above. */
  if (!memchr(d, '.', dn) || d[dn - 1] == '.') return 0;
  return idn ? check_idn_hostname(d, dn) : check_hostname(d, dn);
}

static int check_email(const char *s, size_t n) { return check_mailbox(s, n, 0); }
static int check_idn_email(const char *s, size_t n) { return check_mailbox(s, n, 1); }

/* ==== URIs and IRIs (RFC 3986 / 3987) ==================================================== */

static int is_unreserved(unsigned char c) {
  return is_alpha(c) || is_digit(c) || c == '-' || c == '.' || c == '_' || c == '~';
}
static int is_sub_delim(unsigned char c) { return c && strchr("!$&'()*+,;=", c) != NULL; }

/* One character of a component. `extra` lists additional allowed ASCII; returns the number of
 * bytes consumed or 0. IRIs accept non-ASCII (ucschar / iprivate). */
static size_t uri_char(const char *s, size_t n, const char *extra, int iri) {
  unsigned char c = (unsigned char)s[0];
  if (c == '%') return (n >= 3 && is_hex((unsigned char)s[1]) && is_hex((unsigned char)s[2])) ? 3 : 0;
  if (c < 0x80) return (is_unreserved(c) || is_sub_delim(c) || (c && strchr(extra, c))) ? 1 : 0;
  if (!iri) return 0;
  unsigned long cp;
  size_t l = utf8_next(s, n, &cp);
  if (!l || cp < 0xA0) return 0;
  if ((cp >= 0xFDD0 && cp <= 0xFDEF) || (cp & 0xFFFE) == 0xFFFE) return 0;
  return l;
}

static int uri_run(const char *s, size_t n, const char *extra, int iri) {
  for (size_t i = 0; i < n;) {
    size_t l = uri_char(s + i, n - i, extra, iri);
    if (!l) return 0;
    i += l;
  }
  return 1;
}

static int check_authority(const char *s, size_t n, int iri) {
  const char *at = NULL;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '@') at = s + i;
  size_t i = 0;
  if (at) {
    size_t ul = (size_t)(at - s);
    if (!uri_run(s, ul, ":", iri)) return 0;
    i = ul + 1;
  }
  const char *h = s + i;
  size_t hn = n - i;
  size_t host_len;
  if (hn && h[0] == '[') {
    const char *close = memchr(h, ']', hn);
    if (!close) return 0;
    size_t in = (size_t)(close - h) - 1;
    const char *ip = h + 1;
    if (in && (ip[0] == 'v' || ip[0] == 'V')) {
      size_t k = 1;
      while (k < in && is_hex((unsigned char)ip[k])) k++;
      if (k == 1 || k >= in || ip[k] != '.' || k + 1 >= in) return 0;
      for (size_t j = k + 1; j < in; j++) {
        unsigned char c = (unsigned char)ip[j];
        if (!is_unreserved(c) && !is_sub_delim(c) && c != ':') return 0;
      }
    } else if (!check_ipv6(ip, in)) {
      return 0;
    }
    host_len = in + 2;
  } else {
    host_len = 0;
    while (host_len < hn && h[host_len] != ':') host_len++;
    if (!uri_run(h, host_len, "", iri)) return 0;
  }
  if (host_len < hn) {
    if (h[host_len] != ':') return 0;
    return digits(h + host_len + 1, hn - host_len - 1);
  }
  return 1;
}

/* path, query and fragment after the scheme/authority split */
static int check_uri_tail(const char *s, size_t n, int iri, int has_authority, int relative) {
  size_t i = 0;
  size_t pe = 0;
  while (pe < n && s[pe] != '?' && s[pe] != '#') pe++;
  /* path: segments of pchar separated by '/' */
  if (has_authority && pe && s[0] != '/') return 0;
  if (relative && !has_authority) {
    /* path-noscheme: the first segment has no ':' */
    size_t k = 0;
    while (k < pe && s[k] != '/') {
      if (s[k] == ':') return 0;
      k++;
    }
  }
  if (!uri_run(s, pe, ":@/", iri)) return 0;
  i = pe;
  if (i < n && s[i] == '?') {
    size_t qs = ++i;
    while (i < n && s[i] != '#') i++;
    if (!uri_run(s + qs, i - qs, ":@/?", iri)) return 0;
    /* iprivate is allowed in IRI queries: covered by the non-ASCII rule above */
  }
  if (i < n && s[i] == '#') {
    i++;
    if (!uri_run(s + i, n - i, ":@/?", iri)) return 0;
  }
  return 1;
}

static int check_uri_like(const char *s, size_t n, int iri, int allow_relative) {
  size_t sl = 0;
  if (n && is_alpha((unsigned char)s[0])) {
    sl = 1;
    while (sl < n && (is_alpha((unsigned char)s[sl]) || is_digit((unsigned char)s[sl]) ||
                      s[sl] == '+' || s[sl] == '-' || s[sl] == '.'))
      sl++;
    if (sl >= n || s[sl] != ':') sl = 0;
  }
  int relative = sl == 0;
  if (relative && !allow_relative) return 0;
  size_t i = relative ? 0 : sl + 1;
  int has_auth = 0;
  if (n - i >= 2 && s[i] == '/' && s[i + 1] == '/') {
    size_t a = i + 2, e = a;
    while (e < n && s[e] != '/' && s[e] != '?' && s[e] != '#') e++;
    if (!check_authority(s + a, e - a, iri)) return 0;
    has_auth = 1;
    i = e;
  }
  return check_uri_tail(s + i, n - i, iri, has_auth, relative);
}

static int check_uri(const char *s, size_t n) { return check_uri_like(s, n, 0, 0); }
static int check_uri_reference(const char *s, size_t n) { return check_uri_like(s, n, 0, 1); }
static int check_iri(const char *s, size_t n) { return check_uri_like(s, n, 1, 0); }
static int check_iri_reference(const char *s, size_t n) { return check_uri_like(s, n, 1, 1); }

/* ==== URI templates (RFC 6570) =========================================================== */

static int check_uri_template(const char *s, size_t n) {
  size_t i = 0;
  while (i < n) {
    unsigned char c = (unsigned char)s[i];
    if (c == '{') {
      i++;
      if (i < n && strchr("+#./;?&", s[i]) && s[i]) i++;
      for (;;) {
        /* varname */
        size_t st = i;
        int prev_dot = 1;
        while (i < n) {
          unsigned char v = (unsigned char)s[i];
          if (is_alpha(v) || is_digit(v) || v == '_') {
            prev_dot = 0;
            i++;
          } else if (v == '%') {
            if (i + 2 >= n || !is_hex((unsigned char)s[i + 1]) || !is_hex((unsigned char)s[i + 2])) return 0;
            prev_dot = 0;
            i += 3;
          } else if (v == '.') {
            if (prev_dot) return 0;
            prev_dot = 1;
            i++;
          } else {
            break;
          }
        }
        if (i == st || prev_dot) return 0;
        if (i < n && s[i] == ':') {
          i++;
          size_t ds = i;
          while (i < n && is_digit((unsigned char)s[i])) i++;
          if (i == ds || i - ds > 4 || s[ds] == '0') return 0;
        } else if (i < n && s[i] == '*') {
          i++;
        }
        if (i < n && s[i] == ',') {
          i++;
          continue;
        }
        break;
      }
      if (i >= n || s[i] != '}') return 0;
      i++;
      continue;
    }
    if (c == '}') return 0;
    if (c == '%') {
      if (i + 2 >= n || !is_hex((unsigned char)s[i + 1]) || !is_hex((unsigned char)s[i + 2])) return 0;
      i += 3;
      continue;
    }
    if (c < 0x80) {
      if (c <= 0x20 || c == 0x7F || strchr("\"<>\\^`|", c)) return 0;
      i++;
      continue;
    }
    unsigned long cp;
    size_t l = utf8_next(s + i, n - i, &cp);
    if (!l || cp < 0xA0) return 0;
    i += l;
  }
  return 1;
}

/* ==== the rest =========================================================================== */

static int check_uuid(const char *s, size_t n) {
  if (n != 36) return 0;
  for (size_t i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return 0;
    } else if (!is_hex((unsigned char)s[i])) {
      return 0;
    }
  }
  return 1;
}

static int check_json_pointer(const char *s, size_t n) {
  if (n && s[0] != '/') return 0;
  for (size_t i = 0; i < n; i++)
    if (s[i] == '~' && (i + 1 >= n || (s[i + 1] != '0' && s[i + 1] != '1'))) return 0;
  return 1;
}

static int check_relative_json_pointer(const char *s, size_t n) {
  size_t i = 0;
  while (i < n && is_digit((unsigned char)s[i])) i++;
  if (i == 0 || (i > 1 && s[0] == '0')) return 0;
  if (i == n) return 1;
  if (s[i] == '#') return i + 1 == n;
  return check_json_pointer(s + i, n - i);
}

static int check_regex(const char *s, size_t n) { return spk__sch_regex_is_valid(s, n); }

spk__sch_format_fn spk__sch_format_lookup(const char *name, size_t len) {
  static const struct {
    const char *name;
    spk__sch_format_fn fn;
  } table[] = {
      {"date", check_date},
      {"time", check_time},
      {"date-time", check_date_time},
      {"duration", check_duration},
      {"email", check_email},
      {"idn-email", check_idn_email},
      {"hostname", check_hostname},
      {"idn-hostname", check_idn_hostname},
      {"ipv4", check_ipv4},
      {"ipv6", check_ipv6},
      {"uri", check_uri},
      {"uri-reference", check_uri_reference},
      {"iri", check_iri},
      {"iri-reference", check_iri_reference},
      {"uri-template", check_uri_template},
      {"uuid", check_uuid},
      {"json-pointer", check_json_pointer},
      {"relative-json-pointer", check_relative_json_pointer},
      {"regex", check_regex},
  };
  for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
    if (strlen(table[i].name) == len && memcmp(table[i].name, name, len) == 0) return table[i].fn;
  return NULL;
}
