/* ECMA-262 regular expressions on PCRE2.
 *
 * JSON Schema patterns are ECMA-262 with the `u` flag. PCRE2 is close but not identical, so every
 * pattern goes through a small recursive-descent parser that both checks ECMA syntax (this is
 * also the `format: "regex"` checker) and writes an equivalent PCRE2 pattern:
 *   - `.` excludes only the ECMA line terminators (\n \r U+2028 U+2029);
 *   - `\s` / `\S` use the ECMA white-space set (Unicode Zs plus BOM and line terminators), while
 *     `\d` `\w` `\b` stay ASCII (PCRE2 without UCP);
 *   - `\uHHHH`, `\u{H…}` (surrogate pairs joined), `\xHH`, `\cX`, `\0`, `\v` become `\x{…}`;
 *   - `$` matches only at the very end (PCRE2_DOLLAR_ENDONLY);
 *   - `[]` matches nothing, `[^]` matches anything;
 *   - PCRE2-only syntax (`(?P<…>`, `(?#…)`, inline flags, `\A`, `\z`, POSIX classes …) is
 *     rejected, as ECMA-262 does.
 * Known gaps: lookbehind must be of bounded length (PCRE2 10.42), `\p{…}` names are passed to
 * PCRE2 as written (after stripping `gc=`/`General_Category=`/`sc=`/`Script=`), and group names
 * are limited to [A-Za-z0-9_].
 *
 * Matching: see schema_internal.h (per-validation state in the caller's arena). Limits keep a
 * pathological pattern from running away: match limit 10^6 steps, interpreter heap 2 MiB; a
 * match that hits them counts as "no match". */
#include <string.h>

#include "proto/schema_internal.h"
#include "spikard/common.h"
#include "util/alloc.h"

#define SCH_RE_MATCH_LIMIT 1000000u
#define SCH_RE_HEAP_LIMIT_KIB 2048u
#define SCH_RE_MAX_NEST 256

/* ECMA white space + line terminators, as PCRE2 class items (UTF mode). */
#define WS_ITEMS "\\t\\n\\x{0b}\\f\\r\\x{20}\\x{a0}\\x{1680}\\x{2000}-\\x{200a}\\x{2028}\\x{2029}" \
                 "\\x{202f}\\x{205f}\\x{3000}\\x{feff}"

typedef struct tr {
  const char *p;
  size_t n, i;
  char *out; /* NULL: check only */
  size_t olen, ocap;
  int emit;
  int oom;
  const char *err;
  unsigned ngroups;
  int depth;
} tr_t;

static void put(tr_t *t, const char *s, size_t len) {
  if (!t->emit || t->oom) return;
  if (t->olen + len + 1 > t->ocap) {
    size_t cap = t->ocap ? t->ocap : 64;
    while (cap < t->olen + len + 1) cap *= 2;
    char *o = spk__realloc(t->out, cap);
    if (!o) {
      t->oom = 1;
      return;
    }
    t->out = o;
    t->ocap = cap;
  }
  memcpy(t->out + t->olen, s, len);
  t->olen += len;
  t->out[t->olen] = '\0';
}
static void puts_(tr_t *t, const char *s) { put(t, s, strlen(s)); }

static void put_cp(tr_t *t, unsigned cp) {
  char b[16];
  static const char hex[] = "0123456789abcdef";
  size_t k = 0;
  char tmp[8];
  size_t nd = 0;
  do {
    tmp[nd++] = hex[cp & 0xF];
    cp >>= 4;
  } while (cp);
  b[k++] = '\\';
  b[k++] = 'x';
  b[k++] = '{';
  while (nd) b[k++] = tmp[--nd];
  b[k++] = '}';
  put(t, b, k);
}

static int fail(tr_t *t, const char *msg) {
  if (!t->err) t->err = msg;
  return -1;
}

static int at_end(const tr_t *t) { return t->i >= t->n; }
static char cur(const tr_t *t) { return t->i < t->n ? t->p[t->i] : '\0'; }

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}
static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_syntax_char(char c) { return c && strchr("^$\\.*+?()[]{}|/", c) != NULL; }

/* Decode one UTF-8 code point at t->i. -1 on invalid UTF-8. */
static long decode_utf8(tr_t *t) {
  const unsigned char *s = (const unsigned char *)t->p + t->i;
  size_t left = t->n - t->i;
  unsigned c = s[0];
  if (c < 0x80) {
    t->i += 1;
    return c;
  }
  size_t len;
  unsigned cp;
  if (c >= 0xC2 && c <= 0xDF) len = 2, cp = c & 0x1F;
  else if (c >= 0xE0 && c <= 0xEF) len = 3, cp = c & 0x0F;
  else if (c >= 0xF0 && c <= 0xF4) len = 4, cp = c & 0x07;
  else return -1;
  if (left < len) return -1;
  for (size_t k = 1; k < len; k++) {
    if ((s[k] & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (s[k] & 0x3F);
  }
  if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10FFFF)) ||
      (cp >= 0xD800 && cp <= 0xDFFF))
    return -1;
  t->i += len;
  return (long)cp;
}

/* Count capturing groups (for back-reference checks). */
static unsigned count_groups(const char *p, size_t n) {
  unsigned g = 0;
  int in_class = 0;
  for (size_t i = 0; i < n; i++) {
    char c = p[i];
    if (c == '\\') {
      i++;
      continue;
    }
    if (in_class) {
      if (c == ']') in_class = 0;
      continue;
    }
    if (c == '[') in_class = 1;
    else if (c == '(') {
      if (i + 1 < n && p[i + 1] == '?') {
        if (i + 3 < n && p[i + 2] == '<' && p[i + 3] != '=' && p[i + 3] != '!') g++;
      } else {
        g++;
      }
    }
  }
  return g;
}

/* Is there a group named name[0..len)? */
static int has_group_name(const char *p, size_t n, const char *name, size_t len) {
  for (size_t i = 0; i < n; i++) {
    if (p[i] == '\\') {
      i++;
      continue;
    }
    if (p[i] == '(' && i + 3 + len <= n && p[i + 1] == '?' && p[i + 2] == '<' &&
        memcmp(p + i + 3, name, len) == 0 && i + 3 + len < n && p[i + 3 + len] == '>')
      return 1;
  }
  return 0;
}

static int parse_group_name(tr_t *t, size_t *start, size_t *len) {
  /* at the character after '<' */
  *start = t->i;
  if (at_end(t) || !(is_alpha(cur(t)) || cur(t) == '_')) return fail(t, "invalid group name");
  while (!at_end(t) && (is_alpha(cur(t)) || is_digit(cur(t)) || cur(t) == '_')) t->i++;
  if (cur(t) != '>') return fail(t, "invalid group name");
  *len = t->i - *start;
  t->i++;
  return 0;
}

/* \u escape after the 'u'. Returns the code point or -1. Joins surrogate pairs. */
static long parse_u_escape(tr_t *t) {
  if (cur(t) == '{') {
    t->i++;
    unsigned long v = 0;
    size_t nd = 0;
    while (!at_end(t) && hexval(cur(t)) >= 0) {
      v = v * 16 + (unsigned long)hexval(cur(t));
      if (v > 0x10FFFF) return fail(t, "\\u{} escape out of range");
      t->i++;
      nd++;
    }
    if (!nd || cur(t) != '}') return fail(t, "invalid \\u{} escape");
    t->i++;
    return (long)v;
  }
  if (t->n - t->i < 4) return fail(t, "invalid \\u escape");
  long v = 0;
  for (int k = 0; k < 4; k++) {
    int h = hexval(t->p[t->i + (size_t)k]);
    if (h < 0) return fail(t, "invalid \\u escape");
    v = v * 16 + h;
  }
  t->i += 4;
  if (v >= 0xD800 && v <= 0xDBFF && t->n - t->i >= 6 && t->p[t->i] == '\\' &&
      t->p[t->i + 1] == 'u') {
    long lo = 0;
    int ok = 1;
    for (int k = 0; k < 4; k++) {
      int h = hexval(t->p[t->i + 2 + (size_t)k]);
      if (h < 0) {
        ok = 0;
        break;
      }
      lo = lo * 16 + h;
    }
    if (ok && lo >= 0xDC00 && lo <= 0xDFFF) {
      t->i += 6;
      return 0x10000 + ((v - 0xD800) << 10) + (lo - 0xDC00);
    }
  }
  return v;
}

/* \p{...} / \P{...} after the letter. */
static int parse_property(tr_t *t, int negated) {
  if (cur(t) != '{') return fail(t, "invalid property escape");
  size_t s = ++t->i;
  while (!at_end(t) && cur(t) != '}') {
    char c = cur(t);
    if (!(is_alpha(c) || is_digit(c) || c == '_' || c == '=')) return fail(t, "invalid property escape");
    t->i++;
  }
  if (at_end(t) || t->i == s) return fail(t, "invalid property escape");
  const char *name = t->p + s;
  size_t len = t->i - s;
  t->i++;
  const char *eq = memchr(name, '=', len);
  const char *prefix = "";
  if (eq) {
    size_t kl = (size_t)(eq - name);
    if ((kl == 2 && memcmp(name, "gc", 2) == 0) || (kl == 16 && memcmp(name, "General_Category", 16) == 0)) {
      prefix = "";
    } else if ((kl == 2 && memcmp(name, "sc", 2) == 0) || (kl == 6 && memcmp(name, "Script", 6) == 0)) {
      prefix = "sc:";
    } else if ((kl == 3 && memcmp(name, "scx", 3) == 0) ||
               (kl == 17 && memcmp(name, "Script_Extensions", 17) == 0)) {
      prefix = "scx:";
    } else {
      return fail(t, "invalid property name");
    }
    len -= kl + 1;
    name = eq + 1;
    if (!len || memchr(name, '=', len)) return fail(t, "invalid property escape");
  }
  /* PCRE2 10.42 knows the short General_Category names only. */
  static const struct {
    const char *lng, *shrt;
  } gc[] = {{"Letter", "L"}, {"Cased_Letter", "L&"}, {"Uppercase_Letter", "Lu"},
            {"Lowercase_Letter", "Ll"}, {"Titlecase_Letter", "Lt"}, {"Modifier_Letter", "Lm"},
            {"Other_Letter", "Lo"}, {"Mark", "M"}, {"Combining_Mark", "M"},
            {"Nonspacing_Mark", "Mn"}, {"Spacing_Mark", "Mc"}, {"Enclosing_Mark", "Me"},
            {"Number", "N"}, {"Decimal_Number", "Nd"}, {"digit", "Nd"}, {"Letter_Number", "Nl"},
            {"Other_Number", "No"}, {"Punctuation", "P"}, {"punct", "P"},
            {"Connector_Punctuation", "Pc"}, {"Dash_Punctuation", "Pd"},
            {"Open_Punctuation", "Ps"}, {"Close_Punctuation", "Pe"},
            {"Initial_Punctuation", "Pi"}, {"Final_Punctuation", "Pf"},
            {"Other_Punctuation", "Po"}, {"Symbol", "S"}, {"Math_Symbol", "Sm"},
            {"Currency_Symbol", "Sc"}, {"Modifier_Symbol", "Sk"}, {"Other_Symbol", "So"},
            {"Separator", "Z"}, {"Space_Separator", "Zs"}, {"Line_Separator", "Zl"},
            {"Paragraph_Separator", "Zp"}, {"Other", "C"}, {"Control", "Cc"}, {"cntrl", "Cc"},
            {"Format", "Cf"}, {"Surrogate", "Cs"}, {"Private_Use", "Co"},
            {"Unassigned", "Cn"}};
  if (!*prefix) {
    for (size_t i = 0; i < sizeof(gc) / sizeof(gc[0]); i++) {
      if (strlen(gc[i].lng) == len && memcmp(gc[i].lng, name, len) == 0) {
        name = gc[i].shrt;
        len = strlen(name);
        break;
      }
    }
  }
  puts_(t, negated ? "\\P{" : "\\p{");
  puts_(t, prefix);
  put(t, name, len);
  puts_(t, "}");
  return 0;
}

/* Character escapes shared by atoms and classes (after the backslash, at the letter).
 * Returns the code point, -1 on error, -2 when the escape is not a character escape. */
static long char_escape(tr_t *t, int in_class) {
  char c = cur(t);
  switch (c) {
    case 'f': t->i++; return 0x0C;
    case 'n': t->i++; return 0x0A;
    case 'r': t->i++; return 0x0D;
    case 't': t->i++; return 0x09;
    case 'v': t->i++; return 0x0B;
    case 'c':
      if (t->i + 1 < t->n && is_alpha(t->p[t->i + 1])) {
        long v = t->p[t->i + 1] % 32;
        t->i += 2;
        return v;
      }
      return fail(t, "invalid \\c escape");
    case '0':
      if (t->i + 1 < t->n && is_digit(t->p[t->i + 1])) return fail(t, "invalid octal escape");
      t->i++;
      return 0;
    case 'x': {
      if (t->n - t->i < 3 || hexval(t->p[t->i + 1]) < 0 || hexval(t->p[t->i + 2]) < 0)
        return fail(t, "invalid \\x escape");
      long v = hexval(t->p[t->i + 1]) * 16 + hexval(t->p[t->i + 2]);
      t->i += 3;
      return v;
    }
    case 'u': {
      t->i++;
      long v = parse_u_escape(t);
      if (v < 0) return -1;
      if (v >= 0xD800 && v <= 0xDFFF && t->emit) return fail(t, "lone surrogate escapes are not supported");
      return v;
    }
    case '-':
      if (in_class) {
        t->i++;
        return '-';
      }
      return fail(t, "invalid escape");
    default:
      if (is_syntax_char(c)) {
        t->i++;
        return (unsigned char)c;
      }
      return -2;
  }
}

static int disjunction(tr_t *t);

static int quantifier(tr_t *t, int quantifiable) {
  char c = cur(t);
  if (c == '*' || c == '+' || c == '?') {
    if (!quantifiable) return fail(t, "nothing to repeat");
    t->i++;
    put(t, &c, 1);
  } else if (c == '{') {
    size_t s = t->i;
    t->i++;
    unsigned long lo = 0, hi = 0;
    size_t nd = 0;
    while (is_digit(cur(t))) {
      if (lo < 100000000ul) lo = lo * 10 + (unsigned long)(cur(t) - '0');
      t->i++;
      nd++;
    }
    if (!nd) return fail(t, "lone '{' (use \\{)");
    int has_hi = 0, open = 0;
    if (cur(t) == ',') {
      t->i++;
      size_t nd2 = 0;
      while (is_digit(cur(t))) {
        if (hi < 100000000ul) hi = hi * 10 + (unsigned long)(cur(t) - '0');
        t->i++;
        nd2++;
      }
      if (nd2) has_hi = 1;
      else open = 1;
    }
    if (cur(t) != '}') return fail(t, "lone '{' (use \\{)");
    t->i++;
    if (!quantifiable) return fail(t, "nothing to repeat");
    if (has_hi && hi < lo) return fail(t, "numbers out of order in {} quantifier");
    (void)open;
    put(t, t->p + s, t->i - s);
  } else {
    return 0;
  }
  if (cur(t) == '?') {
    t->i++;
    put(t, "?", 1);
  }
  c = cur(t);
  if (c == '*' || c == '+' || c == '?' || c == '{') return fail(t, "nothing to repeat");
  return 0;
}

/* Emit one literal code point outside a class. */
static void put_literal(tr_t *t, long cp, const char *raw, size_t raw_len) {
  if (cp < 0x80) {
    char c = (char)cp;
    if (is_alpha(c) || is_digit(c)) put(t, &c, 1);
    else put_cp(t, (unsigned)cp);
  } else if (raw) {
    put(t, raw, raw_len);
  } else {
    put_cp(t, (unsigned)cp);
  }
}

/* A character class, at the '[' */
static int char_class(tr_t *t) {
  t->i++;
  int negated = 0;
  if (cur(t) == '^') {
    negated = 1;
    t->i++;
  }
  size_t body_start = t->olen;
  int has_S = 0, empty = 1;
  long prev = -1; /* last single code point, for ranges; -1 when last item was a set */
  int pending_range = 0;
  for (;;) {
    if (at_end(t)) return fail(t, "unterminated character class");
    char c = cur(t);
    if (c == ']') {
      t->i++;
      break;
    }
    long cp;
    int is_set = 0;
    if (c == '\\') {
      t->i++;
      if (at_end(t)) return fail(t, "\\ at end of pattern");
      char e = cur(t);
      if (e == 'd' || e == 'D' || e == 'w' || e == 'W') {
        char b[2] = {'\\', e};
        t->i++;
        put(t, b, 2);
        is_set = 1;
        cp = -1;
      } else if (e == 's') {
        t->i++;
        puts_(t, WS_ITEMS);
        is_set = 1;
        cp = -1;
      } else if (e == 'S') {
        t->i++;
        has_S = 1;
        is_set = 1;
        cp = -1;
      } else if (e == 'p' || e == 'P') {
        t->i++;
        if (parse_property(t, e == 'P')) return -1;
        is_set = 1;
        cp = -1;
      } else if (e == 'b') {
        t->i++;
        cp = 0x08;
      } else {
        cp = char_escape(t, 1);
        if (cp == -2) return fail(t, "invalid escape in character class");
        if (cp < 0) return -1;
      }
    } else {
      cp = decode_utf8(t);
      if (cp < 0) return fail(t, "invalid UTF-8 in pattern");
    }
    empty = 0;
    if (pending_range) {
      if (is_set || prev < 0) return fail(t, "invalid character class range");
      if (cp < prev) return fail(t, "range out of order in character class");
      put(t, "-", 1);
      put_cp(t, (unsigned)cp);
      pending_range = 0;
      prev = -1;
      continue;
    }
    if (!is_set) put_cp(t, (unsigned)cp);
    /* A '-' that is followed by something other than ']' makes a range. */
    if (cur(t) == '-' && t->i + 1 < t->n && t->p[t->i + 1] != ']') {
      if (is_set) return fail(t, "invalid character class range");
      t->i++;
      pending_range = 1;
      prev = cp;
    } else {
      prev = is_set ? -1 : cp;
    }
  }
  if (!t->emit) return 0;
  /* Assemble: the body was written at body_start. */
  size_t body_len = t->olen - body_start;
  char *body = NULL;
  if (body_len) {
    body = spk__malloc(body_len);
    if (!body) {
      t->oom = 1;
      return 0;
    }
    memcpy(body, t->out + body_start, body_len);
  }
  t->olen = body_start;
  if (empty) {
    puts_(t, negated ? "[\\s\\S]" : "(?!)");
  } else if (!has_S) {
    puts_(t, negated ? "[^" : "[");
    put(t, body, body_len);
    puts_(t, "]");
  } else if (!negated) {
    /* [items\S] = items ∪ ¬WS */
    puts_(t, "(?:[^" WS_ITEMS "]");
    if (body_len) {
      puts_(t, "|[");
      put(t, body, body_len);
      puts_(t, "]");
    }
    puts_(t, ")");
  } else {
    /* [^items\S] = WS ∖ items */
    puts_(t, "(?:");
    if (body_len) {
      puts_(t, "(?![");
      put(t, body, body_len);
      puts_(t, "])");
    }
    puts_(t, "[" WS_ITEMS "])");
  }
  spk__free(body);
  return 0;
}

/* An atom escape outside a class, after the backslash. *quantifiable set accordingly. */
static int atom_escape(tr_t *t, int *quantifiable) {
  if (at_end(t)) return fail(t, "\\ at end of pattern");
  char e = cur(t);
  *quantifiable = 1;
  switch (e) {
    case 'b':
    case 'B': {
      char b[2] = {'\\', e};
      t->i++;
      put(t, b, 2);
      *quantifiable = 0;
      return 0;
    }
    case 'd':
    case 'D':
    case 'w':
    case 'W': {
      char b[2] = {'\\', e};
      t->i++;
      put(t, b, 2);
      return 0;
    }
    case 's':
      t->i++;
      puts_(t, "[" WS_ITEMS "]");
      return 0;
    case 'S':
      t->i++;
      puts_(t, "[^" WS_ITEMS "]");
      return 0;
    case 'p':
    case 'P':
      t->i++;
      return parse_property(t, e == 'P');
    case 'k': {
      t->i++;
      if (cur(t) != '<') return fail(t, "invalid named reference");
      t->i++;
      size_t s, l;
      if (parse_group_name(t, &s, &l)) return -1;
      if (!has_group_name(t->p, t->n, t->p + s, l)) return fail(t, "reference to a non-existent group");
      puts_(t, "\\k<");
      put(t, t->p + s, l);
      puts_(t, ">");
      return 0;
    }
    default:
      break;
  }
  if (e >= '1' && e <= '9') {
    unsigned long v = 0;
    while (is_digit(cur(t))) {
      if (v < 100000) v = v * 10 + (unsigned long)(cur(t) - '0');
      t->i++;
    }
    if (v > t->ngroups) return fail(t, "reference to a non-existent group");
    char b[32];
    size_t k = 0;
    b[k++] = '\\';
    b[k++] = 'g';
    b[k++] = '{';
    char d[12];
    size_t nd = 0;
    do {
      d[nd++] = (char)('0' + v % 10);
      v /= 10;
    } while (v);
    while (nd) b[k++] = d[--nd];
    b[k++] = '}';
    put(t, b, k);
    return 0;
  }
  long cp = char_escape(t, 0);
  if (cp == -2) return fail(t, "invalid escape");
  if (cp < 0) return -1;
  put_literal(t, cp, NULL, 0);
  return 0;
}

static int term(tr_t *t) {
  char c = cur(t);
  int quantifiable = 1;
  switch (c) {
    case '^':
    case '$':
      t->i++;
      put(t, &c, 1);
      quantifiable = 0;
      break;
    case '.':
      t->i++;
      puts_(t, "[^\\n\\r\\x{2028}\\x{2029}]");
      break;
    case '[':
      if (char_class(t)) return -1;
      break;
    case '\\':
      t->i++;
      if (atom_escape(t, &quantifiable)) return -1;
      break;
    case '(': {
      t->i++;
      if (cur(t) == '?') {
        t->i++;
        char k = cur(t);
        if (k == ':') {
          t->i++;
          puts_(t, "(?:");
        } else if (k == '=' || k == '!') {
          t->i++;
          puts_(t, k == '=' ? "(?=" : "(?!");
          quantifiable = 0;
        } else if (k == '<') {
          t->i++;
          char k2 = cur(t);
          if (k2 == '=' || k2 == '!') {
            t->i++;
            puts_(t, k2 == '=' ? "(?<=" : "(?<!");
            quantifiable = 0;
          } else {
            size_t s, l;
            if (parse_group_name(t, &s, &l)) return -1;
            puts_(t, "(?<");
            put(t, t->p + s, l);
            puts_(t, ">");
          }
        } else {
          return fail(t, "invalid group");
        }
      } else {
        puts_(t, "(");
      }
      if (++t->depth > SCH_RE_MAX_NEST) return fail(t, "groups nested too deeply");
      if (disjunction(t)) return -1;
      t->depth--;
      if (cur(t) != ')') return fail(t, "missing )");
      t->i++;
      puts_(t, ")");
      break;
    }
    case '*':
    case '+':
    case '?':
      return fail(t, "nothing to repeat");
    case '{':
      return fail(t, "nothing to repeat or lone '{'");
    case '}':
    case ']':
      return fail(t, "lone quantifier bracket");
    default: {
      const char *raw = t->p + t->i;
      size_t start = t->i;
      long cp = decode_utf8(t);
      if (cp < 0) return fail(t, "invalid UTF-8 in pattern");
      put_literal(t, cp, raw, t->i - start);
      break;
    }
  }
  return quantifier(t, quantifiable);
}

static int disjunction(tr_t *t) {
  for (;;) {
    while (!at_end(t) && cur(t) != '|' && cur(t) != ')') {
      if (term(t)) return -1;
    }
    if (cur(t) == '|' && !at_end(t)) {
      t->i++;
      put(t, "|", 1);
      continue;
    }
    return 0;
  }
}

int spk__sch_regex_translate(const char *pat, size_t len, char **out, size_t *out_len,
                             const char **err) {
  tr_t t;
  memset(&t, 0, sizeof(t));
  t.p = pat;
  t.n = len;
  t.emit = out != NULL;
  t.ngroups = count_groups(pat, len);
  int rc = disjunction(&t);
  if (!rc && !at_end(&t)) rc = fail(&t, "unmatched )");
  if (t.oom) {
    spk__free(t.out);
    return SPK_ENOMEM;
  }
  if (rc) {
    spk__free(t.out);
    if (err) *err = t.err ? t.err : "invalid pattern";
    return SPK_EINVAL;
  }
  if (out) {
    if (!t.out) {
      t.out = spk__malloc(1);
      if (!t.out) return SPK_ENOMEM;
      t.out[0] = '\0';
    }
    *out = t.out;
    *out_len = t.olen;
  }
  return 0;
}

int spk__sch_regex_is_valid(const char *s, size_t len) {
  return spk__sch_regex_translate(s, len, NULL, NULL, NULL) == 0;
}

/* ---- PCRE2 ---------------------------------------------------------------------------- */

static void *heap_malloc(size_t size, void *data) {
  (void)data;
  return spk__malloc(size);
}
static void heap_free(void *p, void *data) {
  (void)data;
  spk__free(p);
}

static void copy_msg(char *buf, size_t cap, const char *a, const char *b) {
  if (!buf || !cap) return;
  size_t o = 0;
  for (const char *s = a; s && *s && o + 1 < cap; s++) buf[o++] = *s;
  for (const char *s = b; s && *s && o + 1 < cap; s++) buf[o++] = *s;
  buf[o] = '\0';
}

int spk__sch_regex_compile(const char *pattern, size_t len, spk__sch_regex_t **out, char *errbuf,
                           size_t errbuf_len) {
  *out = NULL;
  char *tr = NULL;
  size_t tr_len = 0;
  const char *terr = NULL;
  int rc = spk__sch_regex_translate(pattern, len, &tr, &tr_len, &terr);
  if (rc == SPK_ENOMEM) return rc;
  if (rc) {
    copy_msg(errbuf, errbuf_len, "invalid regular expression: ", terr);
    return SPK_EINVAL;
  }
  spk__sch_regex_t *re = spk__malloc(sizeof(*re) + len + 1);
  pcre2_general_context *g = pcre2_general_context_create(heap_malloc, heap_free, NULL);
  pcre2_compile_context *cc = g ? pcre2_compile_context_create(g) : NULL;
  if (!re || !cc) {
    spk__free(re);
    spk__free(tr);
    if (cc) pcre2_compile_context_free(cc);
    if (g) pcre2_general_context_free(g);
    return SPK_ENOMEM;
  }
  char *src = (char *)(re + 1);
  memcpy(src, pattern, len);
  src[len] = '\0';
  re->source = src;
  re->source_len = len;
  re->next = NULL;
  int errcode = 0;
  PCRE2_SIZE erroff = 0;
  re->code = pcre2_compile((PCRE2_SPTR)tr, tr_len, PCRE2_UTF | PCRE2_DOLLAR_ENDONLY, &errcode,
                           &erroff, cc);
  pcre2_compile_context_free(cc);
  pcre2_general_context_free(g);
  spk__free(tr);
  if (!re->code) {
    spk__free(re);
    if (errcode == PCRE2_ERROR_NOMEMORY) return SPK_ENOMEM;
    PCRE2_UCHAR msg[160];
    if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0) msg[0] = '\0';
    copy_msg(errbuf, errbuf_len, "unsupported regular expression: ", (const char *)msg);
    return SPK_EINVAL;
  }
  /* JIT when the platform has it; otherwise pcre2_match interprets. */
  (void)pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE);
  *out = re;
  return 0;
}

void spk__sch_regex_free(spk__sch_regex_t *re) {
  if (!re) return;
  pcre2_code_free(re->code);
  spk__free(re);
}

static void *arena_malloc(size_t size, void *data) { return spk__arena_alloc(data, size); }
static void arena_free(void *p, void *data) {
  (void)p;
  (void)data;
}

int spk__sch_regex_match(const spk__sch_regex_t *re, spk__sch_match_state_t *st, const char *s,
                         size_t len) {
  if (!st->md) {
    st->gctx = pcre2_general_context_create(arena_malloc, arena_free, st->arena);
    if (!st->gctx) return SPK_ENOMEM;
    st->mctx = pcre2_match_context_create(st->gctx);
    st->md = pcre2_match_data_create(1, st->gctx);
    if (!st->mctx || !st->md) {
      st->md = NULL;
      return SPK_ENOMEM;
    }
    pcre2_set_match_limit(st->mctx, SCH_RE_MATCH_LIMIT);
    pcre2_set_heap_limit(st->mctx, SCH_RE_HEAP_LIMIT_KIB);
  }
  int rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, st->md, st->mctx);
  if (rc == PCRE2_ERROR_JIT_STACKLIMIT)
    rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, PCRE2_NO_JIT, st->md, st->mctx);
  if (rc >= 0) return 1;
  if (rc == PCRE2_ERROR_NOMATCH) return 0;
  if (rc == PCRE2_ERROR_NOMEMORY) return SPK_ENOMEM;
  return SPK_ERANGE;
}
