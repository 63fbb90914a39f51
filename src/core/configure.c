/* spk_app_configure: one JSON document → the app's compiled middleware. Sections are compiled
 * into a scratch set first and swapped in only when every section compiled, so a failed call
 * changes nothing. */
#include <stdio.h>
#include <string.h>

#include "core/app_internal.h"
#include "core/bg.h"
#include "core/exchange.h"
#include "core/mw.h"
#include "spikard/middleware.h"
#include "util/alloc.h"
#include "util/arena.h"

void spk__mw_app_free(spk__mw_app_t *mw) {
  spk__mw_compress_free(mw->compress);
  spk__mw_ratelimit_free(mw->ratelimit);
  spk__mw_cors_free(mw->cors);
  spk__mw_auth_free(mw->auth);
  spk__mw_static_free(mw->statics);
  spk__mw_reqid_free(mw->reqid);
  spk__mw_timeout_free(mw->timeout);
  spk__mw_bodylimit_free(mw->bodylimit);
  spk__mw_accesslog_free(mw->accesslog);
  spk__mw_sse_free(mw->sse);
  memset(mw, 0, sizeof(*mw));
}

void spk__mw_route_free(spk__mw_route_t *mw) {
  spk__mw_cors_free(mw->cors);
  spk__mw_compress_free(mw->compress);
  spk__mw_timeout_free(mw->timeout);
  spk__mw_bodylimit_free(mw->bodylimit);
  spk__mw_sse_free(mw->sse);
  memset(mw, 0, sizeof(*mw));
}

static int parse_doc(spk__arena_t *a, const char *json, spk_json_value_t **root, char *err,
                     size_t errlen, const char *what) {
  spk_json_error_t jerr;
  int rc = spk_json_parse(a, json, strlen(json), NULL, root, &jerr);
  if (rc) {
    snprintf(err, errlen, "%s: invalid JSON at line %zu column %zu: %s", what, jerr.line,
             jerr.column, jerr.message ? jerr.message : spk_strerror(rc));
    return rc == SPK_ENOMEM ? rc : SPK_EINVAL;
  }
  if ((*root)->type != SPK_JSON_OBJECT) {
    snprintf(err, errlen, "%s: must be a JSON object", what);
    return SPK_EINVAL;
  }
  return SPK_OK;
}

SPK_EXTERN int spk_app_configure(spk_app_t *app, const char *json) {
  if (!app || !json) return SPK_EINVAL;
  app->last_error[0] = '\0';
  if (app->frozen) return SPK_EFROZEN;
  spk__arena_t a;
  spk__arena_init(&a, 1024);
  spk_json_value_t *root;
  int rc = parse_doc(&a, json, &root, app->last_error, sizeof(app->last_error),
                     "spk_app_configure");
  if (rc) {
    spk__arena_free(&a);
    return rc;
  }
  spk__mw_app_t next = {0};
  unsigned named = 0; /* which sections this call names */
  enum { M_COMP = 1, M_RATE = 2, M_CORS = 4, M_AUTH = 8, M_STATIC = 16, M_REQID = 32,
         M_TIMEOUT = 64, M_BODY = 128, M_LOG = 256, M_SSE = 512 };
  const spk_json_value_t *jwt = NULL, *api_key = NULL;
  spk__bg_config_t bg = {0};
  int bg_named = 0;
  char msg[200] = "";
  for (size_t i = 0; i < root->u.object.len && rc == SPK_OK; i++) {
    const char *key = root->u.object.members[i].key.ptr;
    const spk_json_value_t *v = root->u.object.members[i].value;
    const char *section = key;
    if (!strcmp(key, "compression")) {
      named |= M_COMP;
      rc = spk__mw_compress_configure(v, &next.compress, msg, sizeof(msg));
    } else if (!strcmp(key, "rate_limit")) {
      named |= M_RATE;
      rc = spk__mw_ratelimit_configure(v, &next.ratelimit, msg, sizeof(msg));
    } else if (!strcmp(key, "cors")) {
      named |= M_CORS;
      rc = spk__mw_cors_configure(v, &next.cors, msg, sizeof(msg));
    } else if (!strcmp(key, "jwt_auth")) {
      named |= M_AUTH;
      jwt = v;
    } else if (!strcmp(key, "api_key_auth")) {
      named |= M_AUTH;
      api_key = v;
    } else if (!strcmp(key, "static_files")) {
      named |= M_STATIC;
      rc = spk__mw_static_configure(v, &next.statics, msg, sizeof(msg));
    } else if (!strcmp(key, "request_id")) {
      named |= M_REQID;
      rc = spk__mw_reqid_configure(v, &next.reqid, msg, sizeof(msg));
    } else if (!strcmp(key, "request_timeout")) {
      named |= M_TIMEOUT;
      rc = spk__mw_timeout_configure(v, &next.timeout, msg, sizeof(msg));
    } else if (!strcmp(key, "body_limit")) {
      named |= M_BODY;
      rc = spk__mw_bodylimit_configure(v, &next.bodylimit, msg, sizeof(msg));
    } else if (!strcmp(key, "access_log")) {
      named |= M_LOG;
      rc = spk__mw_accesslog_configure(v, &next.accesslog, msg, sizeof(msg));
    } else if (!strcmp(key, "background_tasks")) {
      bg_named = 1;
      rc = spk__bg_configure(v, &bg, msg, sizeof(msg));
    } else if (!strcmp(key, "sse")) {
      named |= M_SSE;
      rc = spk__mw_sse_configure(v, &next.sse, msg, sizeof(msg));
    } else {
      snprintf(msg, sizeof(msg), "unknown section (known: compression, rate_limit, cors, "
                                 "jwt_auth, api_key_auth, static_files, request_id, "
                                 "request_timeout, body_limit, access_log, "
                                 "background_tasks, sse)");
      rc = SPK_EINVAL;
    }
    if (rc) snprintf(app->last_error, sizeof(app->last_error), "\"%s\": %s", section, msg);
  }
  if (rc == SPK_OK && (named & M_AUTH)) {
    rc = spk__mw_auth_configure2(jwt, api_key, &next.auth, msg, sizeof(msg));
    if (rc) snprintf(app->last_error, sizeof(app->last_error), "auth: %s", msg);
  }
  spk__arena_free(&a);
  if (rc) {
    spk__mw_app_free(&next);
    return rc;
  }
  /* Every section compiled: swap in the named ones. */
  spk__mw_app_t *cur = &app->mw;
#define SWAP(bit, member, freefn)  \
  if (named & (bit)) {             \
    freefn(cur->member);           \
    cur->member = next.member;     \
  }
  SWAP(M_COMP, compress, spk__mw_compress_free)
  SWAP(M_RATE, ratelimit, spk__mw_ratelimit_free)
  SWAP(M_CORS, cors, spk__mw_cors_free)
  SWAP(M_AUTH, auth, spk__mw_auth_free)
  SWAP(M_STATIC, statics, spk__mw_static_free)
  SWAP(M_REQID, reqid, spk__mw_reqid_free)
  SWAP(M_TIMEOUT, timeout, spk__mw_timeout_free)
  SWAP(M_BODY, bodylimit, spk__mw_bodylimit_free)
  SWAP(M_LOG, accesslog, spk__mw_accesslog_free)
  SWAP(M_SSE, sse, spk__mw_sse_free)
#undef SWAP
  if (named & M_BODY) app->limits.max_body_bytes = spk__mw_bodylimit_bytes(cur->bodylimit);
  if (bg_named) spk__bg_set_config(app->bg, &bg);
  return SPK_OK;
}

int spk__mw_route_configure(const char *json, spk__mw_route_t *out, char *err, size_t errlen) {
  memset(out, 0, sizeof(*out));
  spk__arena_t a;
  spk__arena_init(&a, 512);
  spk_json_value_t *root;
  int rc = parse_doc(&a, json, &root, err, errlen, "route middleware");
  char msg[200] = "";
  for (size_t i = 0; rc == SPK_OK && i < root->u.object.len; i++) {
    const char *key = root->u.object.members[i].key.ptr;
    const spk_json_value_t *v = root->u.object.members[i].value;
    if (!strcmp(key, "cors")) {
      rc = spk__mw_cors_configure(v, &out->cors, msg, sizeof(msg));
    } else if (!strcmp(key, "compression")) {
      /* false, {"enabled": false} or every codec off: off for this route (a NULL config
       * would mean "inherit the app's"). */
      rc = spk__mw_compress_configure(v, &out->compress, msg, sizeof(msg));
      if (rc == SPK_OK && !out->compress) out->compress_off = 1;
    } else if (!strcmp(key, "request_timeout")) {
      rc = spk__mw_timeout_configure(v, &out->timeout, msg, sizeof(msg));
    } else if (!strcmp(key, "body_limit")) {
      rc = spk__mw_bodylimit_configure(v, &out->bodylimit, msg, sizeof(msg));
    } else if (!strcmp(key, "sse")) {
      rc = spk__mw_sse_configure(v, &out->sse, msg, sizeof(msg));
    } else {
      snprintf(msg, sizeof(msg),
               "unknown section (per route: cors, compression, request_timeout, body_limit, sse)");
      rc = SPK_EINVAL;
    }
    if (rc) snprintf(err, errlen, "middleware \"%s\": %s", key, msg);
  }
  spk__arena_free(&a);
  if (rc) spk__mw_route_free(out);
  return rc;
}
