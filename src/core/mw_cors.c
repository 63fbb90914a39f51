/* Middleware "cors": Cross-Origin Resource Sharing, app-wide and per route.
 *
 *   {"allowed_origins": ["https://app.example.com"] | ["*"],   required (may be [])
 *    "allowed_methods": ["GET", "POST"],                        default [] (case-insensitive)
 *    "allowed_headers": ["Content-Type"],                       default [] (case-insensitive)
 *    "expose_headers":  ["X-Total-Count"],                      default none
 *    "max_age": 600,                                            default none (seconds)
 *    "allow_credentials": false,                                default false
 *    "enabled": true}                                           false: off
 *
 * Behaviour (reference §7, core cors.rs):
 *   - Preflight (OPTIONS with Origin and Access-Control-Request-Method) on a path whose route
 *     for the requested method carries CORS (else any route of the path that does, else the
 *     app's config), unless the path has an explicit OPTIONS route:
 *       origin not allowed (exact, case-sensitive; `*` any) → 403 {"detail":"CORS request from
 *       origin '<o>' not allowed"}; method not allowed (case-insensitive, `*`) or any requested
 *       header not allowed (case-insensitive, `*`) → 403 empty; else 204 with
 *       Access-Control-Allow-Origin: <origin>, -Allow-Methods / -Allow-Headers: the configured
 *       lists joined ", " (with credentials a `*` list echoes the request instead, since browsers
 *       take `*` literally on credentialed requests), -Max-Age, -Allow-Credentials: true,
 *       Vary: Origin.
 *     An OPTIONS without Origin or without Access-Control-Request-Method is not a preflight: it
 *     goes to the router (an OPTIONS route, or the automatic 204 + Allow). (The reference answers
 *     a missing Origin 403 on its auto-OPTIONS; a plain OPTIONS is not a CORS request.)
 *   - Other requests with an Origin: disallowed → 403 with the same JSON body; allowed → the
 *     response gets Access-Control-Allow-Origin (`*` for a wildcard config without
 *     credentials, else the origin echoed plus Vary: Origin, merged into an existing Vary),
 *     Access-Control-Expose-Headers and -Allow-Credentials. Without Origin: nothing at all.
 *     With credentials `*` is never sent. */
#include <stdio.h>
#include <string.h>

#include "core/app_internal.h"
#include "core/exchange.h"
#include "core/mw.h"
#include "core/res_finish.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/strutil.h"

typedef struct cors_list {
  char **items;
  size_t n;
  int any;      /* "*" listed */
  char *joined; /* items joined ", " as configured (NULL when empty) */
} cors_list_t;

struct spk__mw_cors {
  cors_list_t origins, methods, headers, expose;
  int has_expose;
  int credentials;
  int has_max_age;
  char max_age[24];
};

static void list_free(cors_list_t *l) {
  for (size_t i = 0; i < l->n; i++) spk__free(l->items[i]);
  spk__free(l->items);
  spk__free(l->joined);
  memset(l, 0, sizeof(*l));
}

void spk__mw_cors_free(struct spk__mw_cors *c) {
  if (!c) return;
  list_free(&c->origins);
  list_free(&c->methods);
  list_free(&c->headers);
  list_free(&c->expose);
  spk__free(c);
}

enum { K_ORIGIN, K_TOKEN };

/* A valid list entry: origins are any visible ASCII (no CTL, no comma, no space); methods and
 * header names are RFC 9110 tokens; `*` is the wildcard. */
static int valid_item(const spk_str_t *s, int kind) {
  if (!s->len) return 0;
  for (size_t i = 0; i < s->len; i++) {
    unsigned char ch = (unsigned char)s->ptr[i];
    if (kind == K_TOKEN ? !spk__is_tchar(ch) : (ch <= 0x20 || ch >= 0x7f || ch == ','))
      return 0;
  }
  return 1;
}

static int compile_list(const spk_json_value_t *cfg, const char *key, int kind, int required,
                        cors_list_t *out, int *present, char *err, size_t errlen) {
  const spk_json_value_t *v = spk_json_get(cfg, key, strlen(key));
  if (present) *present = v != NULL && v->type != SPK_JSON_NULL;
  if (!v || v->type == SPK_JSON_NULL) {
    if (!required) return SPK_OK;
    snprintf(err, errlen, "\"%s\" is required (a list of strings)", key);
    return SPK_EINVAL;
  }
  if (v->type != SPK_JSON_ARRAY) {
    snprintf(err, errlen, "\"%s\" must be a list of strings", key);
    return SPK_EINVAL;
  }
  size_t n = v->u.array.len;
  if (n) {
    out->items = spk__calloc(n, sizeof(char *));
    if (!out->items) return SPK_ENOMEM;
  }
  spk__buf_t b = {0};
  for (size_t i = 0; i < n; i++) {
    const spk_json_value_t *it = v->u.array.items[i];
    if (it->type != SPK_JSON_STRING || !valid_item(&it->u.string, kind)) {
      spk__buf_free(&b);
      snprintf(err, errlen, "\"%s\"[%zu] must be %s", key, i,
               kind == K_TOKEN ? "a token (e.g. \"GET\", \"Content-Type\") or \"*\""
                               : "an origin like \"https://example.com\" or \"*\"");
      return SPK_EINVAL;
    }
    out->items[i] = spk__strndup(it->u.string.ptr, it->u.string.len);
    if (!out->items[i]) {
      spk__buf_free(&b);
      return SPK_ENOMEM;
    }
    out->n = i + 1;
    if (it->u.string.len == 1 && it->u.string.ptr[0] == '*') out->any = 1;
    if (i && spk__buf_append_str(&b, ", ")) goto nomem;
    if (spk__buf_append(&b, it->u.string.ptr, it->u.string.len)) goto nomem;
  }
  if (n) {
    out->joined = spk__strndup(b.data, b.len);
    if (!out->joined) goto nomem;
  }
  spk__buf_free(&b);
  return SPK_OK;
nomem:
  spk__buf_free(&b);
  return SPK_ENOMEM;
}

int spk__mw_cors_configure(const spk_json_value_t *cfg, struct spk__mw_cors **out, char *err,
                           size_t errlen) {
  *out = NULL;
  if (!cfg || cfg->type != SPK_JSON_OBJECT) {
    snprintf(err, errlen,
             "\"cors\" must be an object like {\"allowed_origins\": [\"https://example.com\"]}");
    return SPK_EINVAL;
  }
  static const char *const known[] = {"allowed_origins", "allowed_methods", "allowed_headers",
                                      "expose_headers",  "max_age",         "allow_credentials",
                                      "enabled"};
  for (size_t i = 0; i < cfg->u.object.len; i++) {
    const char *k = cfg->u.object.members[i].key.ptr;
    size_t j = 0;
    while (j < sizeof(known) / sizeof(known[0]) && strcmp(k, known[j])) j++;
    if (j == sizeof(known) / sizeof(known[0])) {
      snprintf(err, errlen, "unknown key \"%s\"", k);
      return SPK_EINVAL;
    }
  }
  const spk_json_value_t *en = spk_json_get(cfg, "enabled", 7);
  if (en && en->type != SPK_JSON_BOOL) {
    snprintf(err, errlen, "\"enabled\" must be true or false");
    return SPK_EINVAL;
  }
  if (en && !en->u.boolean) return SPK_OK;
  struct spk__mw_cors *c = spk__calloc(1, sizeof(*c));
  if (!c) return SPK_ENOMEM;
  int rc = compile_list(cfg, "allowed_origins", K_ORIGIN, 1, &c->origins, NULL, err, errlen);
  if (!rc) rc = compile_list(cfg, "allowed_methods", K_TOKEN, 0, &c->methods, NULL, err, errlen);
  if (!rc) rc = compile_list(cfg, "allowed_headers", K_TOKEN, 0, &c->headers, NULL, err, errlen);
  if (!rc)
    rc = compile_list(cfg, "expose_headers", K_TOKEN, 0, &c->expose, &c->has_expose, err, errlen);
  const spk_json_value_t *v;
  if (!rc && (v = spk_json_get(cfg, "max_age", 7)) && v->type != SPK_JSON_NULL) {
    if (v->type != SPK_JSON_INT || v->u.integer < 0 || v->u.integer > 0x7fffffff) {
      snprintf(err, errlen, "\"max_age\" must be a number of seconds (0 to 2147483647)");
      rc = SPK_EINVAL;
    } else {
      c->has_max_age = 1;
      snprintf(c->max_age, sizeof(c->max_age), "%lld", (long long)v->u.integer);
    }
  }
  if (!rc && (v = spk_json_get(cfg, "allow_credentials", 17)) && v->type != SPK_JSON_NULL) {
    if (v->type != SPK_JSON_BOOL) {
      snprintf(err, errlen, "\"allow_credentials\" must be true or false");
      rc = SPK_EINVAL;
    } else {
      c->credentials = v->u.boolean;
    }
  }
  if (rc) {
    if (rc == SPK_ENOMEM) snprintf(err, errlen, "out of memory");
    spk__mw_cors_free(c);
    return rc;
  }
  *out = c;
  return SPK_OK;
}

/* ---- matching ---- */

static int origin_allowed(const struct spk__mw_cors *c, spk_str_t o) {
  if (!o.len) return 0;
  if (c->origins.any) return 1;
  for (size_t i = 0; i < c->origins.n; i++)
    if (strlen(c->origins.items[i]) == o.len && !memcmp(c->origins.items[i], o.ptr, o.len))
      return 1;
  return 0;
}

static int in_list_ci(const cors_list_t *l, const char *s, size_t len) {
  if (l->any) return 1;
  for (size_t i = 0; i < l->n; i++)
    if (spk__strieq(l->items[i], strlen(l->items[i]), s, len)) return 1;
  return 0;
}

/* Every comma-separated entry of Access-Control-Request-Headers is allowed (empty entries are
 * ignored). */
static int headers_allowed(const struct spk__mw_cors *c, spk_str_t req) {
  if (c->headers.any) return 1;
  size_t i = 0;
  while (i < req.len) {
    size_t s = i;
    while (i < req.len && req.ptr[i] != ',') i++;
    const char *p = req.ptr + s;
    size_t n = i - s;
    spk__trim_ows(&p, &n);
    if (n && !in_list_ci(&c->headers, p, n)) return 0;
    i++;
  }
  return 1;
}

/* 403 {"detail":"CORS request from origin '<o>' not allowed"} (JSON-escaped). */
static int forbid_origin(spk__exchange_t *ex, spk_str_t origin) {
  spk_res_t *res = &ex->res;
  res->header_count = 0;
  spk__buf_t msg = {0};
  int ok = !spk__buf_append_str(&msg, "CORS request from origin '") &&
           !spk__buf_append(&msg, origin.ptr, origin.len) &&
           !spk__buf_append_str(&msg, "' not allowed");
  spk_json_writer_t *w = ok ? spk_res_json_begin(res) : NULL;
  if (w) {
    spk_json_object_open(w);
    spk_json_key(w, "detail");
    spk_json_string_n(w, msg.data, msg.len);
    spk_json_object_close(w);
    ok = spk_res_json_end(w) == SPK_OK;
  } else {
    ok = 0;
  }
  spk__buf_free(&msg);
  if (!ok) res->body_len = 0;
  spk_res_status(res, 403);
  ex->origin = SPK__ORIGIN_ERROR;
  return SPK__STEP_RESPOND;
}

static int forbid_empty(spk__exchange_t *ex) {
  ex->res.header_count = 0;
  spk_res_body(&ex->res, "", 0);
  spk_res_status(&ex->res, 403);
  ex->origin = SPK__ORIGIN_ERROR;
  return SPK__STEP_RESPOND;
}

static const struct spk__mw_cors *route_cors(const spk__route_match_t *m) {
  if (m->status != SPK__MATCH_FOUND) return NULL;
  const spk__endpoint_t *ep = m->route->user_data;
  return ep->mw.cors;
}

/* The config that governs a preflight for `acrm` on this path (see the header comment), or
 * NULL: not ours to answer. */
static const struct spk__mw_cors *preflight_config(const spk__exchange_t *ex, spk_str_t acrm,
                                                   const struct spk__mw_cors *app_cors) {
  const spk_app_t *app = ex->app;
  const spk_req_t *req = &ex->req;
  spk__route_match_t m;
  spk__router_match(app->router, "OPTIONS", 7, req->raw_path.ptr, req->raw_path.len, &m);
  if (m.status == SPK__MATCH_NOT_FOUND) return app_cors;
  if (m.status == SPK__MATCH_FOUND && !strcmp(m.route->method, "OPTIONS"))
    return NULL; /* an explicit OPTIONS route answers */
  const char *allow = m.allow;
  spk__router_match(app->router, acrm.ptr, acrm.len, req->raw_path.ptr, req->raw_path.len, &m);
  const struct spk__mw_cors *c = route_cors(&m);
  if (c) return c;
  if (m.status != SPK__MATCH_FOUND && allow) {
    /* The requested method has no route here (or the name's case differs): any route of the
     * path that carries CORS decides, so that a disallowed method is answered 403. */
    const char *p = allow;
    while (*p) {
      while (*p == ' ' || *p == ',') p++;
      const char *s = p;
      while (*p && *p != ',') p++;
      if (p > s) {
        spk__router_match(app->router, s, (size_t)(p - s), req->raw_path.ptr, req->raw_path.len,
                          &m);
        if ((c = route_cors(&m))) return c;
      }
    }
  }
  return app_cors;
}

int spk__mw_cors_preflight(spk__exchange_t *ex, const struct spk__mw_cors *app_cors) {
  spk_req_t *req = &ex->req;
  spk_str_t origin, acrm, acrh = {NULL, 0};
  if (spk_req_header_id(req, SPK_HEADER_ORIGIN, 0, &origin) != SPK_OK ||
      spk_req_header_id(req, SPK_HEADER_ACCESS_CONTROL_REQUEST_METHOD, 0, &acrm) != SPK_OK)
    return SPK__STEP_NEXT; /* not a preflight */
  int has_acrh =
      spk_req_header_id(req, SPK_HEADER_ACCESS_CONTROL_REQUEST_HEADERS, 0, &acrh) == SPK_OK;
  const struct spk__mw_cors *c = preflight_config(ex, acrm, app_cors);
  if (!c) return SPK__STEP_NEXT;
  if (!origin_allowed(c, origin)) return forbid_origin(ex, origin);
  if (acrm.len && !in_list_ci(&c->methods, acrm.ptr, acrm.len)) return forbid_empty(ex);
  if (has_acrh && !headers_allowed(c, acrh)) return forbid_empty(ex);
  spk_res_t *res = &ex->res;
  int rc = spk_res_status(res, 204);
  if (!rc) rc = spk_res_header_n(res, "Access-Control-Allow-Origin", 27, origin.ptr, origin.len);
  if (!rc) {
    if (c->methods.any && c->credentials)
      rc = spk_res_header_n(res, "Access-Control-Allow-Methods", 28, acrm.ptr, acrm.len);
    else if (c->methods.joined)
      rc = spk_res_header(res, "Access-Control-Allow-Methods", c->methods.joined);
  }
  if (!rc) {
    if (c->headers.any && c->credentials) {
      if (has_acrh && acrh.len)
        rc = spk_res_header_n(res, "Access-Control-Allow-Headers", 28, acrh.ptr, acrh.len);
    } else if (c->headers.joined) {
      rc = spk_res_header(res, "Access-Control-Allow-Headers", c->headers.joined);
    }
  }
  if (!rc && c->has_max_age) rc = spk_res_header(res, "Access-Control-Max-Age", c->max_age);
  if (!rc && c->credentials) rc = spk_res_header(res, "Access-Control-Allow-Credentials", "true");
  if (!rc) rc = spk_res_header(res, "Vary", "Origin");
  if (rc) {
    spk__exchange_error(ex, 500, "Internal server error");
    return SPK__STEP_RESPOND;
  }
  ex->origin = SPK__ORIGIN_HANDLER; /* a normal answer: on_response hooks see it */
  return SPK__STEP_RESPOND;
}

int spk__mw_cors_request(spk__exchange_t *ex, const struct spk__mw_cors *c) {
  spk_str_t origin;
  if (spk_req_header_id(&ex->req, SPK_HEADER_ORIGIN, 0, &origin) != SPK_OK)
    return SPK__STEP_NEXT; /* not a CORS request */
  if (!origin_allowed(c, origin)) return forbid_origin(ex, origin);
  ex->cors = c;
  return SPK__STEP_NEXT;
}

void spk__mw_cors_early(spk__exchange_t *ex) {
  const spk_app_t *app = ex->app;
  const struct spk__mw_cors *c = app->mw.cors;
  spk__route_match_t m;
  spk__router_match(app->router, ex->req.method_str.ptr, ex->req.method_str.len,
                    ex->req.raw_path.ptr, ex->req.raw_path.len, &m);
  if (m.status == SPK__MATCH_FOUND) {
    const spk__endpoint_t *ep = m.route->user_data;
    if (ep->mw.cors) c = ep->mw.cors;
  }
  spk_str_t origin;
  if (c && spk_req_header_id(&ex->req, SPK_HEADER_ORIGIN, 0, &origin) == SPK_OK &&
      origin_allowed(c, origin))
    ex->cors = c;
}

void spk__mw_cors_finish(spk__exchange_t *ex) {
  const struct spk__mw_cors *c = ex->cors;
  spk_str_t origin;
  if (!c || spk_req_header_id(&ex->req, SPK_HEADER_ORIGIN, 0, &origin) != SPK_OK) return;
  /* Out of memory here leaves a response without CORS headers: the browser refuses it, which
   * is the safe failure. */
  if (c->origins.any && !c->credentials) {
    spk__res_set_header_final(ex, "Access-Control-Allow-Origin", "*", 1);
  } else {
    spk__res_set_header_final(ex, "Access-Control-Allow-Origin", origin.ptr, origin.len);
    spk__res_vary_final(ex, "Origin");
  }
  if (c->has_expose && c->expose.joined)
    spk__res_set_header_final(ex, "Access-Control-Expose-Headers", c->expose.joined,
                              strlen(c->expose.joined));
  if (c->credentials) spk__res_set_header_final(ex, "Access-Control-Allow-Credentials", "true", 4);
}
