/* The request pipeline: route → contract (parameters, body) → handler → (async) completion.
 * Everything a binding or the test client gets goes through spk__pipeline_dispatch. */
#include <stdio.h>
#include <string.h>

#include "core/app_internal.h"
#include "core/contract.h"
#include "core/exchange.h"
#include "util/alloc.h"
#include "util/strutil.h"

spk__exchange_t *spk__exchange_new(const spk_app_t *app) {
  spk__exchange_t *ex = spk__calloc(1, sizeof(*ex));
  if (!ex) return NULL;
  spk__arena_init(&ex->arena, 2048);
  ex->app = app;
  ex->res.status = 200;
  atomic_init(&ex->state, SPK__EX_DISPATCHING);
  atomic_init(&ex->ended, 0);
  ex->keep_alive = 1;
  strcpy(ex->req.remote, "unknown");
  return ex;
}

void spk__exchange_free(spk__exchange_t *ex) {
  if (!ex) return;
  if (ex->res.release) ex->res.release(ex->res.release_data);
  if (ex->res.json) spk__buf_free(&ex->res.json->out);
  spk__buf_free(&ex->res.owned_body);
  spk__buf_free(&ex->head_out);
  spk__buf_free(&ex->body_in);
  spk__arena_free(&ex->arena);
  spk__free(ex);
}

static const char *status_slug(int status, const char **title) {
  switch (status) {
    case 400: *title = "Bad Request"; return "bad-request";
    case 404: *title = "Resource Not Found"; return "not-found";
    case 405: *title = "Method Not Allowed"; return "method-not-allowed";
    case 408: *title = "Request Timeout"; return "request-timeout";
    case 413: *title = "Payload Too Large"; return "payload-too-large";
    case 414: *title = "URI Too Long"; return "uri-too-long";
    case 431: *title = "Request Header Fields Too Large"; return "request-header-fields-too-large";
    case 501: *title = "Not Implemented"; return "not-implemented";
    case 503: *title = "Service Unavailable"; return "service-unavailable";
    default: *title = "Internal Server Error"; return "internal-server-error";
  }
}

void spk__exchange_error(spk__exchange_t *ex, int status, const char *detail) {
  const char *title;
  const char *slug = status_slug(status, &title);
  if (spk__res_problem_reset(&ex->res, status, slug, title, detail) != SPK_OK) {
    /* Out of memory while describing the error: send the status with an empty body. */
    ex->res.status = status;
    ex->res.header_count = 0;
    ex->res.body = NULL;
    ex->res.body_len = 0;
  }
}

static int decode_params(spk__exchange_t *ex, const spk__route_match_t *m) {
  spk_req_t *req = &ex->req;
  req->param_count = m->param_count;
  for (size_t i = 0; i < m->param_count; i++) {
    char *d = spk__arena_alloc(&ex->arena, m->values[i].len + 1);
    if (!d) return SPK_ENOMEM;
    size_t n = spk__pct_decode(d, m->values[i].ptr, m->values[i].len, 0);
    d[n] = '\0';
    req->params[i] = (spk_str_t){d, n};
  }
  return SPK_OK;
}

/* The pipeline steps before the handler. Returns 1 when they produced the response. */
static int pre_handler(spk__exchange_t *ex) {
  spk_req_t *req = &ex->req;
  spk__route_match_t m;
  spk__router_match(ex->app->router, req->method_str.ptr, req->method_str.len, req->raw_path.ptr,
                    req->raw_path.len, &m);
  switch (m.status) {
    case SPK__MATCH_FOUND: break;
    case SPK__MATCH_NOT_FOUND:
      spk__exchange_error(ex, 404, "No route matches this path");
      return 1;
    case SPK__MATCH_METHOD_NOT_ALLOWED:
      spk__exchange_error(ex, 405, "Method not allowed for this path");
      if (m.allow) spk_res_set_header(&ex->res, "Allow", m.allow);
      return 1;
    case SPK__MATCH_OPTIONS:
      spk_res_status(&ex->res, 204);
      if (m.allow) spk_res_set_header(&ex->res, "Allow", m.allow);
      return 1;
  }
  req->route = m.route;
  const spk__endpoint_t *ep = m.route->user_data;
  int rc = decode_params(ex, &m);
  if (rc == SPK_OK && ep->broken) rc = SPK_EINVAL;
  if (rc == SPK_OK && ep->contract) rc = spk__contract_check(ep->contract, ex);
  if (rc < 0) {
    spk__exchange_error(ex, 500, "Internal server error");
    return 1;
  }
  return rc == 1;
}

int spk__pipeline_dispatch(spk__exchange_t *ex) {
  if (pre_handler(ex)) {
    atomic_store(&ex->ended, 1);
    atomic_store(&ex->state, SPK__EX_ENDED_EARLY);
    return 1;
  }
  const spk__endpoint_t *ep = ex->req.route->user_data;
  int rc = ep->handler(&ex->req, &ex->res, ep->user_data);
  if (rc == SPK_HANDLER_ASYNC) {
    int s = SPK__EX_DISPATCHING;
    if (atomic_compare_exchange_strong(&ex->state, &s, SPK__EX_ASYNC)) return 0;
    return 1; /* ended from another thread before we got here */
  }
  /* The handler failed: answer 500 unless it already ended the response itself. */
  if (rc < 0 && !atomic_load(&ex->ended)) spk__exchange_error(ex, 500, "Internal server error");
  /* DONE (or an error): the response is complete. */
  atomic_store(&ex->ended, 1);
  atomic_store(&ex->state, SPK__EX_ENDED_EARLY);
  return 1;
}

void spk__pipeline_finish(spk__exchange_t *ex) {
  const spk__route_t *route = ex->req.route;
  const spk__endpoint_t *ep = route ? route->user_data : NULL;
  if (ep && ep->contract) spk__contract_check_response(ep->contract, ex);
}
