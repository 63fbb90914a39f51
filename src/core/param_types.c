#include "core/param_types.h"

#include <stdint.h>

#include "util/strutil.h"

static int is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}
static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int digits(const char *s, size_t n, int *out) {
  int v = 0;
  for (size_t i = 0; i < n; i++) {
    if (!is_digit(s[i])) return 0;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 1;
}

int spk__is_uuid(const char *s, size_t len) {
  if (len != 36) return 0;
  for (size_t i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return 0;
    } else if (!is_hex(s[i])) {
      return 0;
    }
  }
  return 1;
}

static int days_in_month(int y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 29;
  return days[m - 1];
}

int spk__is_date(const char *s, size_t len) {
  int y, m, d;
  if (len != 10 || s[4] != '-' || s[7] != '-') return 0;
  if (!digits(s, 4, &y) || !digits(s + 5, 2, &m) || !digits(s + 8, 2, &d)) return 0;
  return m >= 1 && m <= 12 && d >= 1 && d <= days_in_month(y, m);
}

/* RFC 3339 date-time: date "T" HH:MM:SS[.frac] ("Z" / ±HH:MM); 't', 'z' and ' ' accepted. */
int spk__is_datetime(const char *s, size_t len) {
  int hh, mm, ss, oh, om;
  if (len < 20 || !spk__is_date(s, 10)) return 0;
  if (s[10] != 'T' && s[10] != 't' && s[10] != ' ') return 0;
  if (s[13] != ':' || s[16] != ':') return 0;
  if (!digits(s + 11, 2, &hh) || !digits(s + 14, 2, &mm) || !digits(s + 17, 2, &ss)) return 0;
  if (hh > 23 || mm > 59 || ss > 60) return 0;
  size_t i = 19;
  if (i < len && s[i] == '.') {
    size_t start = ++i;
    while (i < len && is_digit(s[i])) i++;
    if (i == start) return 0;
  }
  if (i < len && (s[i] == 'Z' || s[i] == 'z')) return i + 1 == len;
  if (i + 6 != len || (s[i] != '+' && s[i] != '-') || s[i + 3] != ':') return 0;
  if (!digits(s + i + 1, 2, &oh) || !digits(s + i + 4, 2, &om)) return 0;
  return oh <= 23 && om <= 59;
}

int spk__parse_bool(const char *s, size_t len, int *out) {
  if (len == 0 || (len == 1 && s[0] == '0') || spk__strieq(s, len, "false", 5)) {
    *out = 0;
    return 1;
  }
  if ((len == 1 && s[0] == '1') || spk__strieq(s, len, "true", 4)) {
    *out = 1;
    return 1;
  }
  return 0;
}

int spk__param_check(spk__param_type_t t, const char *s, size_t len, spk__param_error_t *err) {
  int64_t i;
  double d;
  int b;
  switch (t) {
    case SPK__PT_INT:
      if (spk__parse_i64(s, len, &i) == 0) return 1;
      *err = (spk__param_error_t){"int_parsing",
                                  "Input should be a valid integer, unable to parse string as an integer"};
      return 0;
    case SPK__PT_FLOAT:
      if (spk__parse_double(s, len, &d) == 0) return 1;
      *err = (spk__param_error_t){"float_parsing",
                                  "Input should be a valid number, unable to parse string as a number"};
      return 0;
    case SPK__PT_BOOL:
      if (spk__parse_bool(s, len, &b)) return 1;
      *err = (spk__param_error_t){"bool_parsing",
                                  "Input should be a valid boolean, unable to interpret input"};
      return 0;
    case SPK__PT_UUID:
      if (spk__is_uuid(s, len)) return 1;
      *err = (spk__param_error_t){"uuid_parsing", "Input should be a valid UUID"};
      return 0;
    case SPK__PT_DATE:
      if (spk__is_date(s, len)) return 1;
      *err = (spk__param_error_t){"date_parsing", "Input should be a valid date"};
      return 0;
    case SPK__PT_DATETIME:
      if (spk__is_datetime(s, len)) return 1;
      *err = (spk__param_error_t){"datetime_parsing", "Input should be a valid datetime"};
      return 0;
    case SPK__PT_STRING:
    case SPK__PT_PATH:
      return 1;
  }
  return 1;
}
