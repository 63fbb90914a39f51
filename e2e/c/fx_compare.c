/* Fixture runner — comparing a response with `expected_response`.
 *
 *   status        exact
 *   headers       listed ones only, names case-insensitive; tokens <<present>>, <<absent>>,
 *                 <<uuid>>, <<same_as:key>> (accepted when present: nothing earlier to compare
 *                 with in a one-request fixture); values with ".*" also tried as a regex
 *   cookies       Set-Cookie by name: value and the listed attributes
 *   body          null/absent: not asserted; string: exact bytes; JSON: deep-equal, numbers by
 *                 value, object key order ignored, tokens as above (<<absent>> for keys)
 *   problem details (body has an `errors` array and a …validation-error type):
 *                 tier 1: type, title, status, detail + the multiset of (error type, loc)
 *                 tier 2: everything, each error matched whole (msg, ctx, input exactly)
 *   validation_errors (multipart): the response body's `errors`, same two tiers (tier 2 checks
 *                 the keys the fixture lists). */
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "fx.h"

typedef struct why {
  char *buf;
  size_t cap;
} why_t;

static void say(why_t *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(why_t *w, const char *fmt, ...) {
  if (!w || !w->buf || w->buf[0]) return; /* keep the first reason */
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(w->buf, w->cap, fmt, ap);
  va_end(ap);
}

/* Compact rendering of a value, at most ~70 characters. */
static void render(const spk_json_value_t *v, char *out, size_t cap) {
  if (!v) {
    snprintf(out, cap, "(absent)");
    return;
  }
  spk__buf_t b = {0};
  spk_json_write(&b, v, 0);
  size_t n = b.len;
  if (n > 70 && cap > 75) {
    snprintf(out, cap, "%.67s...", b.data);
  } else {
    snprintf(out, cap, "%.*s", (int)n, b.data ? b.data : "");
  }
  spk__buf_free(&b);
}

static int is_uuid(const char *s, size_t len) {
  if (len != 36) return 0;
  for (size_t i = 0; i < 36; i++) {
    char c = s[i];
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (c != '-') return 0;
    } else if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'))) {
      return 0;
    }
  }
  return 1;
}

static int is_token(const spk_json_value_t *v, const char *tok) {
  return v && v->type == SPK_JSON_STRING && strcmp(v->u.string.ptr, tok) == 0;
}

static int is_numeric(const spk_json_value_t *v) {
  return v->type == SPK_JSON_INT || v->type == SPK_JSON_NUMBER;
}

/* Deep comparison with tokens. `path` names the place ("body.errors[0].loc"). */
static int match(const spk_json_value_t *exp, const spk_json_value_t *act, const char *path,
                 why_t *w) {
  char e[96], g[96];
  if (exp->type == SPK_JSON_STRING && strncmp(exp->u.string.ptr, "<<", 2) == 0) {
    const char *t = exp->u.string.ptr;
    if (strcmp(t, "<<present>>") == 0 || strncmp(t, "<<same_as:", 10) == 0) return 1;
    if (strcmp(t, "<<uuid>>") == 0) {
      if (act->type == SPK_JSON_STRING && is_uuid(act->u.string.ptr, act->u.string.len)) return 1;
      render(act, g, sizeof(g));
      say(w, "%s: got %s, expected a UUID", path, g);
      return 0;
    }
  }
  if (is_numeric(exp) && is_numeric(act)) {
    int eq = exp->type == SPK_JSON_INT && act->type == SPK_JSON_INT
                 ? exp->u.integer == act->u.integer
                 : spk_json_as_double(exp) == spk_json_as_double(act);
    if (eq) return 1;
  } else if (exp->type == act->type) {
    switch (exp->type) {
    case SPK_JSON_NULL:
      return 1;
    case SPK_JSON_BOOL:
      if (!exp->u.boolean == !act->u.boolean) return 1;
      break;
    case SPK_JSON_STRING:
      if (exp->u.string.len == act->u.string.len &&
          memcmp(exp->u.string.ptr, act->u.string.ptr, exp->u.string.len) == 0)
        return 1;
      break;
    case SPK_JSON_ARRAY: {
      if (exp->u.array.len != act->u.array.len) {
        say(w, "%s: %zu items, expected %zu", path, act->u.array.len, exp->u.array.len);
        return 0;
      }
      for (size_t i = 0; i < exp->u.array.len; i++) {
        char sub[256];
        snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
        if (!match(exp->u.array.items[i], act->u.array.items[i], sub, w)) return 0;
      }
      return 1;
    }
    case SPK_JSON_OBJECT: {
      for (size_t i = 0; i < exp->u.object.len; i++) {
        const spk_json_member_t *m = &exp->u.object.members[i];
        const spk_json_value_t *av = spk_json_get(act, m->key.ptr, m->key.len);
        char sub[256];
        snprintf(sub, sizeof(sub), "%s.%s", path, m->key.ptr);
        if (is_token(m->value, "<<absent>>")) {
          if (av) {
            render(av, g, sizeof(g));
            say(w, "%s: got %s, expected absent", sub, g);
            return 0;
          }
          continue;
        }
        if (!av) {
          render(m->value, e, sizeof(e));
          say(w, "%s: missing, expected %s", sub, e);
          return 0;
        }
        if (!match(m->value, av, sub, w)) return 0;
      }
      for (size_t i = 0; i < act->u.object.len; i++) {
        const spk_json_member_t *m = &act->u.object.members[i];
        if (!spk_json_get(exp, m->key.ptr, m->key.len)) {
          render(m->value, g, sizeof(g));
          say(w, "%s.%s: unexpected (%s)", path, m->key.ptr, g);
          return 0;
        }
      }
      return 1;
    }
    default:
      break;
    }
  }
  render(act, g, sizeof(g));
  render(exp, e, sizeof(e));
  say(w, "%s: got %s, expected %s", path, g, e);
  return 0;
}

/* Like match, but only the keys the expected object lists (tier 2 of validation_errors). */
static int match_subset(const spk_json_value_t *exp, const spk_json_value_t *act,
                        const char *path, why_t *w) {
  if (exp->type != SPK_JSON_OBJECT || act->type != SPK_JSON_OBJECT) return match(exp, act, path, w);
  for (size_t i = 0; i < exp->u.object.len; i++) {
    const spk_json_member_t *m = &exp->u.object.members[i];
    const spk_json_value_t *av = spk_json_get(act, m->key.ptr, m->key.len);
    char sub[256];
    snprintf(sub, sizeof(sub), "%s.%s", path, m->key.ptr);
    if (!av) {
      say(w, "%s: missing", sub);
      return 0;
    }
    if (!match(m->value, av, sub, w)) return 0;
  }
  return 1;
}

/* "int_parsing @ path.item_id" */
static void error_key(const spk_json_value_t *err, char *out, size_t cap) {
  const char *type = fx_get_str(err, "type");
  size_t n = (size_t)snprintf(out, cap, "%s @ ", type ? type : "?");
  const spk_json_value_t *loc = fx_get(err, "loc");
  if (fx_is(loc, SPK_JSON_ARRAY)) {
    for (size_t i = 0; i < loc->u.array.len && n < cap; i++) {
      const spk_json_value_t *p = loc->u.array.items[i];
      if (p->type == SPK_JSON_STRING)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? "." : "", p->u.string.ptr);
      else if (p->type == SPK_JSON_INT)
        n += (size_t)snprintf(out + n, cap - n, "%s%lld", i ? "." : "", (long long)p->u.integer);
      else
        n += (size_t)snprintf(out + n, cap - n, "%s?", i ? "." : "");
    }
  } else if (n < cap) {
    snprintf(out + n, cap - n, "(no loc)");
  }
}

/* Multiset of (type, loc): every expected key used once by an equal actual key. */
static int errors_tier1(const spk_json_value_t *exp, const spk_json_value_t *act,
                        const char *what, why_t *w) {
  if (!fx_is(act, SPK_JSON_ARRAY)) {
    say(w, "%s: missing, expected %zu error(s)", what, exp->u.array.len);
    return 0;
  }
  size_t ne = exp->u.array.len, na = act->u.array.len;
  char *used = calloc(na + 1, 1);
  int ok = 1;
  char ek[256], ak[256];
  for (size_t i = 0; i < ne && ok; i++) {
    error_key(exp->u.array.items[i], ek, sizeof(ek));
    size_t j = 0;
    for (; j < na; j++) {
      if (used[j]) continue;
      error_key(act->u.array.items[j], ak, sizeof(ak));
      if (strcmp(ek, ak) == 0) break;
    }
    if (j == na) {
      if (na) {
        /* Name what was there instead. */
        size_t k = 0;
        while (k < na && used[k]) k++;
        if (k < na) error_key(act->u.array.items[k], ak, sizeof(ak));
        say(w, "%s: missing (%s); got (%s)%s", what, ek, k < na ? ak : "?",
            na > 1 ? " among others" : "");
      } else {
        say(w, "%s: missing (%s); got no errors", what, ek);
      }
      ok = 0;
    } else {
      used[j] = 1;
    }
  }
  for (size_t j = 0; j < na && ok; j++)
    if (!used[j]) {
      error_key(act->u.array.items[j], ak, sizeof(ak));
      say(w, "%s: unexpected (%s)", what, ak);
      ok = 0;
    }
  free(used);
  return ok;
}

/* Every expected error matched whole by one actual error. */
static int errors_tier2(const spk_json_value_t *exp, const spk_json_value_t *act,
                        const char *what, int subset, why_t *w) {
  if (!fx_is(act, SPK_JSON_ARRAY)) {
    say(w, "%s: missing", what);
    return 0;
  }
  size_t ne = exp->u.array.len, na = act->u.array.len;
  char *used = calloc(na + 1, 1);
  int ok = 1;
  for (size_t i = 0; i < ne && ok; i++) {
    const spk_json_value_t *ee = exp->u.array.items[i];
    size_t j = 0;
    for (; j < na; j++) {
      if (used[j]) continue;
      int eq = subset ? match_subset(ee, act->u.array.items[j], "", NULL)
                      : match(ee, act->u.array.items[j], "", NULL);
      if (eq) break;
    }
    if (j < na) {
      used[j] = 1;
      continue;
    }
    ok = 0;
    /* Explain against the actual error with the same (type, loc), if any. */
    char ek[256], ak[256];
    error_key(ee, ek, sizeof(ek));
    for (j = 0; j < na; j++) {
      if (used[j]) continue;
      error_key(act->u.array.items[j], ak, sizeof(ak));
      if (strcmp(ek, ak) == 0) break;
    }
    char sub[300];
    snprintf(sub, sizeof(sub), "%s[%s]", what, ek);
    if (j < na) {
      if (subset)
        match_subset(ee, act->u.array.items[j], sub, w);
      else
        match(ee, act->u.array.items[j], sub, w);
    } else {
      say(w, "%s: missing", sub);
    }
  }
  for (size_t j = 0; j < na && ok; j++)
    if (!used[j]) {
      char ak[256];
      error_key(act->u.array.items[j], ak, sizeof(ak));
      say(w, "%s: unexpected (%s)", what, ak);
      ok = 0;
    }
  free(used);
  return ok;
}

static int is_validation_problem(const spk_json_value_t *body) {
  const char *type = fx_get_str(body, "type");
  return fx_is(fx_get(body, "errors"), SPK_JSON_ARRAY) && type &&
         strstr(type, "validation-error") != NULL;
}

/* ---- headers and cookies ---- */

static int regex_match(const char *pattern, const char *value) {
  size_t n = strlen(pattern) + 4;
  char *anchored = malloc(n);
  if (!anchored) return 0;
  snprintf(anchored, n, "^(%s)", pattern);
  regex_t re;
  int ok = 0;
  if (regcomp(&re, anchored, REG_EXTENDED | REG_NOSUB) == 0) {
    ok = regexec(&re, value, 0, NULL, 0) == 0;
    regfree(&re);
  }
  free(anchored);
  return ok;
}

static int check_headers(const fx_fixture_t *fx, const fx_response_t *res, why_t *w) {
  const spk_json_value_t *hdrs = fx_get(fx->expected, "headers");
  if (!fx_is(hdrs, SPK_JSON_OBJECT)) return 1;
  for (size_t i = 0; i < hdrs->u.object.len; i++) {
    const spk_json_member_t *m = &hdrs->u.object.members[i];
    if (m->value->type != SPK_JSON_STRING) continue;
    const char *exp = m->value->u.string.ptr;
    const char *first = fx_response_header(res, m->key.ptr);
    if (strcmp(exp, "<<absent>>") == 0) {
      if (first) {
        say(w, "header %s: got \"%s\", expected absent", m->key.ptr, first);
        return 0;
      }
      continue;
    }
    if (!first) {
      say(w, "header %s: absent, expected \"%s\"", m->key.ptr, exp);
      return 0;
    }
    if (strcmp(exp, "<<present>>") == 0 || strncmp(exp, "<<same_as:", 10) == 0) continue;
    int ok = 0;
    for (size_t k = 0; k < res->nheaders && !ok; k++) {
      if (strcasecmp(res->headers[k].name, m->key.ptr) != 0) continue;
      const char *v = res->headers[k].value;
      if (strcmp(exp, "<<uuid>>") == 0)
        ok = is_uuid(v, strlen(v));
      else
        ok = strcmp(exp, v) == 0 || (strstr(exp, ".*") && regex_match(exp, v));
    }
    if (!ok) {
      say(w, "header %s: got \"%s\", expected \"%s\"", m->key.ptr, first, exp);
      return 0;
    }
  }
  return 1;
}

/* Attribute `attr` of a Set-Cookie value ("" for flags); NULL when absent. Copies into out. */
static const char *cookie_attr(const char *sc, const char *attr, char *out, size_t cap) {
  const char *p = strchr(sc, ';');
  size_t alen = strlen(attr);
  while (p) {
    p++;
    while (*p == ' ') p++;
    const char *end = strchr(p, ';');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    if (len >= alen && strncasecmp(p, attr, alen) == 0 && (len == alen || p[alen] == '=')) {
      size_t vlen = len > alen ? len - alen - 1 : 0;
      snprintf(out, cap, "%.*s", (int)vlen, len > alen ? p + alen + 1 : "");
      return out;
    }
    p = end;
  }
  return NULL;
}

static int check_cookies(const fx_fixture_t *fx, const fx_response_t *res, why_t *w) {
  const spk_json_value_t *cookies = fx_get(fx->expected, "cookies");
  if (!fx_is(cookies, SPK_JSON_OBJECT)) return 1;
  for (size_t i = 0; i < cookies->u.object.len; i++) {
    const spk_json_member_t *m = &cookies->u.object.members[i];
    const char *name = m->key.ptr;
    size_t nlen = m->key.len;
    const char *sc = NULL;
    for (size_t k = 0; k < res->nheaders && !sc; k++)
      if (strcmp(res->headers[k].name, "set-cookie") == 0 &&
          strncmp(res->headers[k].value, name, nlen) == 0 && res->headers[k].value[nlen] == '=')
        sc = res->headers[k].value;
    if (!sc) {
      say(w, "cookie %s: no Set-Cookie", name);
      return 0;
    }
    const spk_json_value_t *c = m->value;
    const char *value = fx_is(c, SPK_JSON_STRING) ? c->u.string.ptr : fx_get_str(c, "value");
    const char *semi = strchr(sc, ';');
    size_t vlen = semi ? (size_t)(semi - sc) - nlen - 1 : strlen(sc) - nlen - 1;
    if (value && (strlen(value) != vlen || strncmp(sc + nlen + 1, value, vlen) != 0)) {
      say(w, "cookie %s: got \"%.*s\", expected \"%s\"", name, (int)vlen, sc + nlen + 1, value);
      return 0;
    }
    char got[256];
    const spk_json_value_t *v;
    struct {
      const char *key, *attr;
    } strs[] = {{"path", "Path"}, {"domain", "Domain"}, {"samesite", "SameSite"}};
    for (size_t k = 0; k < 3; k++) {
      const char *want = fx_get_str(c, strs[k].key);
      if (!want) continue;
      const char *have = cookie_attr(sc, strs[k].attr, got, sizeof(got));
      if (!have || strcasecmp(have, want) != 0) {
        say(w, "cookie %s: %s %s, expected %s", name, strs[k].attr, have ? have : "absent", want);
        return 0;
      }
    }
    if ((v = fx_get(c, "max_age")) && v->type == SPK_JSON_INT) {
      const char *have = cookie_attr(sc, "Max-Age", got, sizeof(got));
      if (!have || strtoll(have, NULL, 10) != v->u.integer) {
        say(w, "cookie %s: Max-Age %s, expected %lld", name, have ? have : "absent",
            (long long)v->u.integer);
        return 0;
      }
    }
    const char *flags[] = {"secure", "Secure", "httponly", "HttpOnly"};
    for (size_t k = 0; k < 4; k += 2) {
      v = fx_get(c, flags[k]);
      if (!v || v->type != SPK_JSON_BOOL) continue;
      int have = cookie_attr(sc, flags[k + 1], got, sizeof(got)) != NULL;
      if (have != !!v->u.boolean) {
        say(w, "cookie %s: %s %s, expected %s", name, flags[k + 1], have ? "set" : "absent",
            v->u.boolean ? "set" : "absent");
        return 0;
      }
    }
  }
  return 1;
}

/* ---- body ---- */

typedef struct parsed {
  spk__arena_t arena;
  spk_json_value_t *v; /* NULL when the body is not JSON */
} parsed_t;

static void parse_body(const fx_response_t *res, parsed_t *p) {
  spk__arena_init(&p->arena, 4096);
  p->v = NULL;
  if (!res->body_len) return;
  spk_json_parse_options_t o = {.max_depth = 4096, .dup_keys = SPK_JSON_DUP_LAST_WINS};
  spk_json_error_t e;
  if (spk_json_parse(&p->arena, res->body, res->body_len, &o, &p->v, &e) != SPK_OK) p->v = NULL;
}

static void body_snippet(const fx_response_t *res, char *out, size_t cap) {
  size_t n = res->body_len > 60 ? 60 : res->body_len;
  size_t k = 0;
  for (size_t i = 0; i < n && k + 5 < cap; i++) {
    unsigned char c = (unsigned char)res->body[i];
    if (c >= 0x20 && c < 0x7f) {
      out[k++] = (char)c;
    } else {
      k += (size_t)snprintf(out + k, cap - k, "\\x%02x", c);
    }
  }
  out[k < cap ? k : cap - 1] = '\0';
  if (res->body_len > 60 && k + 4 < cap) strcat(out, "...");
}

/* Body checks for one tier (2 = strict). */
static int check_body(const fx_fixture_t *fx, const fx_response_t *res, const parsed_t *p,
                      int tier, why_t *w) {
  /* Streamed fixtures compare against their chunks (fx_stream_check): the external binary
   * one's `body` is an escaped rendering, not the bytes. */
  const spk_json_value_t *exp =
      fx_get(fx->root, "streaming") ? NULL : fx_get(fx->expected, "body");
  char snip[300];
  if (exp && exp->type != SPK_JSON_NULL) {
    if (exp->type == SPK_JSON_STRING) {
      int ok = res->body_len == exp->u.string.len &&
               memcmp(res->body, exp->u.string.ptr, exp->u.string.len) == 0;
      /* A JSON string literal with the same text is the same answer. */
      if (!ok && p->v && p->v->type == SPK_JSON_STRING)
        ok = p->v->u.string.len == exp->u.string.len &&
             memcmp(p->v->u.string.ptr, exp->u.string.ptr, exp->u.string.len) == 0;
      if (!ok) {
        body_snippet(res, snip, sizeof(snip));
        char e[96];
        render(exp, e, sizeof(e));
        say(w, "body: got `%s`, expected %s", snip, e);
        return 0;
      }
    } else if (!p->v) {
      char e[96];
      render(exp, e, sizeof(e));
      body_snippet(res, snip, sizeof(snip));
      if (res->body_len)
        say(w, "body is not JSON: `%s`, expected %s", snip, e);
      else
        say(w, "body: empty, expected %s", e);
      return 0;
    } else if (is_validation_problem(exp)) {
      if (p->v->type != SPK_JSON_OBJECT) {
        char g[96];
        render(p->v, g, sizeof(g));
        say(w, "body: got %s, expected a validation problem", g);
        return 0;
      }
      static const char *const keys[] = {"type", "title", "status", "detail"};
      for (size_t i = 0; i < exp->u.object.len; i++) {
        const spk_json_member_t *m = &exp->u.object.members[i];
        if (strcmp(m->key.ptr, "errors") == 0) continue;
        int core = 0;
        for (size_t k = 0; k < 4; k++) core |= strcmp(m->key.ptr, keys[k]) == 0;
        if (!core && tier < 2) continue;
        const spk_json_value_t *av = spk_json_get(p->v, m->key.ptr, m->key.len);
        char path[128];
        snprintf(path, sizeof(path), "body.%s", m->key.ptr);
        if (!av) {
          char e[96];
          render(m->value, e, sizeof(e));
          say(w, "%s: missing, expected %s", path, e);
          return 0;
        }
        if (!match(m->value, av, path, w)) return 0;
      }
      if (tier >= 2)
        for (size_t i = 0; i < p->v->u.object.len; i++) {
          const spk_json_member_t *m = &p->v->u.object.members[i];
          if (!spk_json_get(exp, m->key.ptr, m->key.len)) {
            say(w, "body.%s: unexpected", m->key.ptr);
            return 0;
          }
        }
      const spk_json_value_t *ee = fx_get(exp, "errors"), *ae = fx_get(p->v, "errors");
      return tier < 2 ? errors_tier1(ee, ae, "body.errors", w)
                      : errors_tier2(ee, ae, "body.errors", 0, w);
    } else if (!match(exp, p->v, "body", w)) {
      return 0;
    }
  }
  const spk_json_value_t *verr = fx_get(fx->expected, "validation_errors");
  if (fx_is(verr, SPK_JSON_ARRAY)) {
    const spk_json_value_t *ae = p->v ? fx_get(p->v, "errors") : NULL;
    if (!ae) {
      body_snippet(res, snip, sizeof(snip));
      say(w, "validation_errors: response has no errors array (body `%s`)", snip);
      return 0;
    }
    return tier < 2 ? errors_tier1(verr, ae, "errors", w) : errors_tier2(verr, ae, "errors", 1, w);
  }
  return 1;
}

void fx_compare(const fx_fixture_t *fx, const fx_response_t *res, fx_verdict_t *out) {
  memset(out, 0, sizeof(*out));
  why_t w1 = {out->tier1_why, sizeof(out->tier1_why)};
  why_t w2 = {out->tier2_why, sizeof(out->tier2_why)};
  if (res->status != fx->expected_status) {
    char snip[300];
    body_snippet(res, snip, sizeof(snip));
    say(&w1, "status %d, expected %d (body `%s`)", res->status, fx->expected_status, snip);
    say(&w2, "%s", out->tier1_why);
    return;
  }
  int ok = check_headers(fx, res, &w1) && check_cookies(fx, res, &w1);
  if (!ok) {
    say(&w2, "%s", out->tier1_why);
    return;
  }
  /* A HEAD response has no body to compare (the headers were checked above). */
  const char *method = fx_get_str(fx->request, "method");
  if (method && strcmp(method, "HEAD") == 0) {
    out->tier1_ok = out->tier2_ok = 1;
    return;
  }
  parsed_t p;
  parse_body(res, &p);
  out->tier1_ok = check_body(fx, res, &p, 1, &w1);
  if (out->tier1_ok && !fx_stream_check(fx, res, out->tier1_why, sizeof(out->tier1_why)))
    out->tier1_ok = 0;
  out->tier2_ok = out->tier1_ok ? check_body(fx, res, &p, 2, &w2) : 0;
  if (!out->tier1_ok) say(&w2, "%s", out->tier1_why);
  spk__arena_free(&p.arena);
}
