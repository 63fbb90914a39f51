/* Request accessors. Query and cookie tables are parsed on first use into the request arena. */
#include <string.h>

#include "core/exchange.h"
#include "util/strutil.h"

static spk__arena_t *arena_of(const spk_req_t *req) {
  return &spk__exchange_of_req(req)->arena;
}

SPK_EXTERN spk_method_t spk_req_method(const spk_req_t *req) { return req->method; }
SPK_EXTERN spk_str_t spk_req_method_str(const spk_req_t *req) { return req->method_str; }
SPK_EXTERN spk_str_t spk_req_path(const spk_req_t *req) { return req->path; }
SPK_EXTERN spk_str_t spk_req_raw_path(const spk_req_t *req) { return req->raw_path; }
SPK_EXTERN spk_str_t spk_req_query_string(const spk_req_t *req) { return req->query_string; }
SPK_EXTERN spk_str_t spk_req_target(const spk_req_t *req) { return req->target; }
SPK_EXTERN int spk_req_http_minor(const spk_req_t *req) { return req->minor_version; }
SPK_EXTERN spk_str_t spk_req_body(const spk_req_t *req) { return req->body; }
SPK_EXTERN spk_str_t spk_req_validated(spk_req_t *req) {
  return req->validated.ptr ? req->validated : (spk_str_t){"", 0};
}
SPK_EXTERN spk_str_t spk_req_remote_addr(const spk_req_t *req) {
  return (spk_str_t){req->remote, strlen(req->remote)};
}
SPK_EXTERN int spk_req_remote_port(const spk_req_t *req) { return req->remote_port; }
SPK_EXTERN void *spk_req_alloc(spk_req_t *req, size_t size) {
  return spk__arena_alloc(arena_of(req), size);
}

/* Split `s` on `sep` into decoded name/value pairs. `trim`: cookie-style OWS around pairs. */
static int parse_pairs(spk__arena_t *a, const char *s, size_t len, char sep, int plus_as_space,
                       int trim, spk_h1_header_t **out, size_t *count) {
  size_t n = 1;
  for (size_t i = 0; i < len; i++) n += s[i] == sep;
  spk_h1_header_t *items = spk__arena_alloc(a, n * sizeof(*items));
  if (!items) return SPK_ENOMEM;
  size_t k = 0, start = 0;
  for (size_t i = 0; i <= len; i++) {
    if (i < len && s[i] != sep) continue;
    const char *p = s + start;
    size_t plen = i - start;
    start = i + 1;
    if (trim) spk__trim_ows(&p, &plen);
    if (plen == 0) continue;
    const char *eq = memchr(p, '=', plen);
    size_t nlen = eq ? (size_t)(eq - p) : plen;
    const char *v = eq ? eq + 1 : p + plen;
    size_t vlen = eq ? plen - nlen - 1 : 0;
    if (trim) {
      spk__trim_ows(&p, &nlen);
      if (vlen >= 2 && v[0] == '"' && v[vlen - 1] == '"') v++, vlen -= 2; /* RFC 6265 DQUOTE */
    }
    char *name = spk__arena_alloc(a, nlen + 1);
    char *value = spk__arena_alloc(a, vlen + 1);
    if (!name || !value) return SPK_ENOMEM;
    size_t dn = plus_as_space ? spk__pct_decode(name, p, nlen, 1) : (memcpy(name, p, nlen), nlen);
    size_t dv = plus_as_space ? spk__pct_decode(value, v, vlen, 1) : (memcpy(value, v, vlen), vlen);
    name[dn] = value[dv] = '\0';
    items[k].name = (spk_str_t){name, dn};
    items[k].value = (spk_str_t){value, dv};
    k++;
  }
  *out = items;
  *count = k;
  return SPK_OK;
}

static int ensure_query(spk_req_t *req) {
  if (req->query_parsed) return SPK_OK;
  int rc = parse_pairs(arena_of(req), req->query_string.ptr, req->query_string.len, '&', 1, 0,
                       &req->query, &req->query_count);
  if (rc == SPK_OK) req->query_parsed = 1;
  return rc;
}

static int nth_pair(const spk_h1_header_t *items, size_t count, const char *name, size_t n,
                    spk_str_t *value) {
  size_t nlen = strlen(name);
  for (size_t i = 0; i < count; i++) {
    if (items[i].name.len == nlen && memcmp(items[i].name.ptr, name, nlen) == 0 && n-- == 0) {
      if (value) *value = items[i].value;
      return SPK_OK;
    }
  }
  return SPK_ENOENT;
}

SPK_EXTERN int spk_req_query(spk_req_t *req, const char *name, spk_str_t *value) {
  return spk_req_query_nth(req, name, 0, value);
}
SPK_EXTERN int spk_req_query_nth(spk_req_t *req, const char *name, size_t n, spk_str_t *value) {
  int rc = ensure_query(req);
  return rc ? rc : nth_pair(req->query, req->query_count, name, n, value);
}
SPK_EXTERN size_t spk_req_query_count(spk_req_t *req) {
  return ensure_query(req) ? 0 : req->query_count;
}
SPK_EXTERN int spk_req_query_at(spk_req_t *req, size_t index, spk_str_t *name, spk_str_t *value) {
  int rc = ensure_query(req);
  if (rc) return rc;
  if (index >= req->query_count) return SPK_ENOENT;
  if (name) *name = req->query[index].name;
  if (value) *value = req->query[index].value;
  return SPK_OK;
}

SPK_EXTERN int spk_req_param(const spk_req_t *req, const char *name, spk_str_t *value) {
  if (!req->route) return SPK_ENOENT;
  for (size_t i = 0; i < req->param_count; i++) {
    if (strcmp(req->route->param_names[i], name) == 0) {
      if (value) *value = req->params[i];
      return SPK_OK;
    }
  }
  return SPK_ENOENT;
}
SPK_EXTERN size_t spk_req_param_count(const spk_req_t *req) { return req->param_count; }
SPK_EXTERN int spk_req_param_at(const spk_req_t *req, size_t index, spk_str_t *name,
                                spk_str_t *value) {
  if (index >= req->param_count) return SPK_ENOENT;
  if (name) *name = (spk_str_t){req->route->param_names[index], strlen(req->route->param_names[index])};
  if (value) *value = req->params[index];
  return SPK_OK;
}
SPK_EXTERN int spk_req_param_int(const spk_req_t *req, const char *name, int64_t *value) {
  spk_str_t s;
  int rc = spk_req_param(req, name, &s);
  return rc ? rc : spk__parse_i64(s.ptr, s.len, value);
}
SPK_EXTERN int spk_req_param_double(const spk_req_t *req, const char *name, double *value) {
  spk_str_t s;
  int rc = spk_req_param(req, name, &s);
  return rc ? rc : spk__parse_double(s.ptr, s.len, value);
}

SPK_EXTERN int spk_req_header_id(const spk_req_t *req, spk_header_id_t id, size_t n,
                                 spk_str_t *value) {
  if (id <= SPK_HEADER_UNKNOWN || id >= SPK_HEADER__COUNT) return SPK_EINVAL;
  for (size_t i = 0; i < req->header_count; i++) {
    if (req->header_ids[i] == id && n-- == 0) {
      if (value) *value = req->headers[i].value;
      return SPK_OK;
    }
  }
  return SPK_ENOENT;
}

SPK_EXTERN int spk_req_header_nth(const spk_req_t *req, const char *name, size_t n,
                                  spk_str_t *value) {
  size_t nlen = strlen(name);
  spk_header_id_t id = spk_header_lookup(name, nlen);
  if (id != SPK_HEADER_UNKNOWN) return spk_req_header_id(req, id, n, value);
  for (size_t i = 0; i < req->header_count; i++) {
    const spk_h1_header_t *h = &req->headers[i];
    if (spk__strieq(h->name.ptr, h->name.len, name, nlen) && n-- == 0) {
      if (value) *value = h->value;
      return SPK_OK;
    }
  }
  return SPK_ENOENT;
}
SPK_EXTERN int spk_req_header(const spk_req_t *req, const char *name, spk_str_t *value) {
  return spk_req_header_nth(req, name, 0, value);
}
SPK_EXTERN size_t spk_req_header_count(const spk_req_t *req) { return req->header_count; }
SPK_EXTERN int spk_req_header_at(const spk_req_t *req, size_t index, spk_str_t *name,
                                 spk_str_t *value) {
  if (index >= req->header_count) return SPK_ENOENT;
  if (name) *name = req->headers[index].name;
  if (value) *value = req->headers[index].value;
  return SPK_OK;
}

/* Cookies from every Cookie field, joined in order. */
static int ensure_cookies(spk_req_t *req) {
  if (req->cookies_parsed) return SPK_OK;
  spk__arena_t *a = arena_of(req);
  spk_h1_header_t *all = NULL;
  size_t total = 0;
  spk_str_t v;
  for (size_t n = 0; spk_req_header_id(req, SPK_HEADER_COOKIE, n, &v) == SPK_OK; n++) {
    spk_h1_header_t *items;
    size_t count;
    int rc = parse_pairs(a, v.ptr, v.len, ';', 0, 1, &items, &count);
    if (rc) return rc;
    if (!all) {
      all = items;
      total = count;
      continue;
    }
    spk_h1_header_t *merged = spk__arena_alloc(a, (total + count) * sizeof(*merged));
    if (!merged) return SPK_ENOMEM;
    memcpy(merged, all, total * sizeof(*merged));
    memcpy(merged + total, items, count * sizeof(*merged));
    all = merged;
    total += count;
  }
  req->cookies = all;
  req->cookie_count = total;
  req->cookies_parsed = 1;
  return SPK_OK;
}

SPK_EXTERN int spk_req_cookie(spk_req_t *req, const char *name, spk_str_t *value) {
  int rc = ensure_cookies(req);
  return rc ? rc : nth_pair(req->cookies, req->cookie_count, name, 0, value);
}
SPK_EXTERN size_t spk_req_cookie_count(spk_req_t *req) {
  return ensure_cookies(req) ? 0 : req->cookie_count;
}
SPK_EXTERN int spk_req_cookie_at(spk_req_t *req, size_t index, spk_str_t *name,
                                 spk_str_t *value) {
  int rc = ensure_cookies(req);
  if (rc) return rc;
  if (index >= req->cookie_count) return SPK_ENOENT;
  if (name) *name = req->cookies[index].name;
  if (value) *value = req->cookies[index].value;
  return SPK_OK;
}
