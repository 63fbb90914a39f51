/* The request pipeline, as a resumable sequence of steps (the order is in core/mw.h):
 * middleware, hooks, routing, contract, dependencies, handler, then the response side.
 * Any step may suspend (async hook, dependency, rate-limit backend, handler); whoever completes
 * it calls spk_req_continue / spk_res_end from any thread, the owner loop is woken and
 * spk__pipeline_resume goes on at ex->step. Everything a binding, the server or the test
 * client does goes through here. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/app_internal.h"
#include "core/bg.h"
#include "core/contract.h"
#include "core/di_internal.h"
#include "core/exchange.h"
#include "core/hooks.h"
#include "core/mw.h"
#include "core/stream_internal.h"
#include "core/ws_internal.h"
#include "util/alloc.h"
#include "util/strutil.h"

uint64_t spk__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

spk__exchange_t *spk__exchange_new(const spk_app_t *app) {
  spk__exchange_t *ex = spk__calloc(1, sizeof(*ex));
  if (!ex) return NULL;
  spk__arena_init(&ex->arena, 2048);
  ex->app = app;
  ex->start_ns = spk__now_ns(); /* the head is complete: duration starts (access log) */
  ex->res.status = 200;
  atomic_init(&ex->state, SPK__EX_DISPATCHING);
  atomic_init(&ex->ended, 0);
  atomic_init(&ex->orphaned, 0);
  ex->keep_alive = 1;
  strcpy(ex->req.remote, "unknown");
  return ex;
}

void spk__exchange_free(spk__exchange_t *ex) {
  if (!ex) return;
  if (ex->di) spk__di_request_end(ex);
  if (ex->res.stream) spk__stream_detach(ex->res.stream);
  if (ex->bg) spk__bg_request_end(ex); /* the response is out (or discarded): run its tasks */
  if (ex->ws_upgrade) spk__ws_upgrade_end(ex->ws_upgrade);
  if (ex->res.release) ex->res.release(ex->res.release_data);
  if (ex->res.json) spk__buf_free(&ex->res.json->out);
  if (ex->res.has_file) close(ex->res.file_fd);
  spk__free(ex->res.file_buf);
  spk__buf_free(&ex->res.owned_body);
  spk__buf_free(&ex->head_out);
  spk__buf_free(&ex->body_in);
  spk__arena_free(&ex->arena);
  spk__free(ex);
}

static const char *status_slug(int status, const char **title) {
  switch (status) {
    case 400: *title = "Bad Request"; return "bad-request";
    case 403: *title = "Forbidden"; return "forbidden";
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

enum {
  S_BEGIN = 0,
  S_ON_REQUEST,
  S_ROUTE,
  S_CORS,
  S_RATELIMIT,
  S_AUTH,
  S_PRE_VALIDATION,
  S_VALIDATE,
  S_PRE_HANDLER,
  S_DEPS,
  S_HANDLER,
  S_DONE
};

/* Routing, with the two middleware that answer paths no route owns: CORS preflights and static
 * files. */
static int step_route(spk__exchange_t *ex) {
  const spk_app_t *app = ex->app;
  spk_req_t *req = &ex->req;
  if (app->cors_any && req->method == SPK_METHOD_OPTIONS) {
    int r = spk__mw_cors_preflight(ex, app->mw.cors);
    if (r != SPK__STEP_NEXT) return r;
  }
  spk__route_match_t m;
  spk__router_match(app->router, req->method_str.ptr, req->method_str.len, req->raw_path.ptr,
                    req->raw_path.len, &m);
  if (m.status != SPK__MATCH_FOUND && app->mw.statics &&
      (req->method == SPK_METHOD_GET || req->method == SPK_METHOD_HEAD)) {
    int r = spk__mw_static_serve(ex, app->mw.statics);
    if (r != SPK__STEP_NEXT) return r;
  }
  switch (m.status) {
    case SPK__MATCH_FOUND: break;
    case SPK__MATCH_NOT_FOUND:
      spk__exchange_error(ex, 404, "No route matches this path");
      return SPK__STEP_RESPOND;
    case SPK__MATCH_METHOD_NOT_ALLOWED:
      spk__exchange_error(ex, 405, "Method not allowed for this path");
      if (m.allow) spk_res_set_header(&ex->res, "Allow", m.allow);
      return SPK__STEP_RESPOND;
    case SPK__MATCH_OPTIONS:
      spk_res_status(&ex->res, 204);
      if (m.allow) spk_res_set_header(&ex->res, "Allow", m.allow);
      ex->origin = SPK__ORIGIN_HANDLER;
      return SPK__STEP_RESPOND;
  }
  req->route = m.route;
  const spk__endpoint_t *ep = m.route->user_data;
  ex->ep = ep;
  uint32_t t = spk__mw_timeout_ms(ep->mw.timeout ? ep->mw.timeout : app->mw.timeout);
  if (t) ex->timeout_ms = t;
  if (decode_params(ex, &m) != SPK_OK || ep->broken) {
    spk__exchange_error(ex, 500, "Internal server error");
    return SPK__STEP_RESPOND;
  }
  return SPK__STEP_NEXT;
}

/* The handler failed with `rc` (returned it, or spk_res_fail): 500 problem details (503 when
 * the background queue is full), on_error hooks, and the tasks it spawned are dropped — they
 * follow up on work that did not happen. */
static void handler_failed(spk__exchange_t *ex, int rc) {
  if (ex->bg != ex->bg_mark) spk__bg_discard_since(ex, ex->bg_mark);
  if (rc == SPK_EQUEUEFULL) {
    spk__res_problem_reset(&ex->res, 503, "service-unavailable", "Service Unavailable",
                           "The background task queue is full; retry later");
    spk_res_set_header(&ex->res, "Retry-After", "1");
  } else {
    spk__exchange_error(ex, 500, "Internal server error");
  }
  ex->origin = SPK__ORIGIN_ERROR;
}

static int step_handler(spk__exchange_t *ex) {
  const spk__endpoint_t *ep = ex->ep;
  ex->origin = SPK__ORIGIN_HANDLER;
  ex->bg_mark = ex->bg;
  int rc = ep->handler(&ex->req, &ex->res, ep->user_data);
  if (rc == SPK_HANDLER_ASYNC) return SPK__STEP_ASYNC;
  /* Unless it already ended the response itself (then spk_res_fail decides). */
  if (rc < 0 && !atomic_load(&ex->ended)) handler_failed(ex, rc);
  return SPK__STEP_RESPOND;
}

/* One step; advances ex->step when the step is complete (a suspended step that must be
 * re-entered, like a hook phase or DI, keeps its own position and ex->step). */
static int run_step(spk__exchange_t *ex) {
  const spk_app_t *app = ex->app;
  const spk__endpoint_t *ep = ex->ep;
  int r = SPK__STEP_NEXT;
  switch (ex->step) {
    case S_BEGIN:
      if (app->mw.timeout) ex->timeout_ms = spk__mw_timeout_ms(app->mw.timeout);
      if (app->mw.reqid) spk__mw_reqid_begin(ex, app->mw.reqid);
      break;
    case S_ON_REQUEST:
      if (app->hooks) r = spk__hooks_run_request(ex, SPK_HOOK_ON_REQUEST);
      if (r == SPK__STEP_ASYNC) return r; /* same step again after the continue */
      break;
    case S_ROUTE:
      ex->origin = SPK__ORIGIN_ERROR; /* until a handler runs, a response is the core's */
      r = step_route(ex);
      break;
    case S_CORS: {
      const struct spk__mw_cors *c = ep->mw.cors ? ep->mw.cors : app->mw.cors;
      if (c) r = spk__mw_cors_request(ex, c);
      break;
    }
    case S_RATELIMIT:
      if (app->mw.ratelimit) {
        ex->step++; /* an async answer continues after this step */
        return spk__mw_ratelimit_check(ex, app->mw.ratelimit);
      }
      break;
    case S_AUTH:
      if (app->mw.auth) r = spk__mw_auth_check(ex, app->mw.auth);
      break;
    case S_PRE_VALIDATION:
      if (app->hooks) r = spk__hooks_run_request(ex, SPK_HOOK_PRE_VALIDATION);
      if (r == SPK__STEP_ASYNC) return r;
      break;
    case S_VALIDATE:
      if (ep->contract) {
        int rc = spk__contract_check(ep->contract, ex);
        if (rc < 0) {
          spk__exchange_error(ex, 500, "Internal server error");
          r = SPK__STEP_RESPOND;
        } else if (rc == 1) {
          r = SPK__STEP_RESPOND;
        }
      }
      break;
    case S_PRE_HANDLER:
      if (app->hooks) r = spk__hooks_run_request(ex, SPK_HOOK_PRE_HANDLER);
      if (r == SPK__STEP_ASYNC) return r;
      break;
    case S_DEPS:
      if (ep->di) r = spk__di_resolve(ex, ep->di);
      if (r == SPK__STEP_ASYNC) return r;
      break;
    case S_HANDLER:
      ex->step++;
      return step_handler(ex);
    default:
      return SPK__STEP_RESPOND;
  }
  ex->step++;
  return r;
}

/* Drive the steps until the response is complete (1) or a step suspended (0). */
static int run(spk__exchange_t *ex) {
  for (;;) {
    int r = run_step(ex);
    if (r == SPK__STEP_NEXT) continue;
    if (r == SPK__STEP_RESPOND) {
      atomic_store(&ex->ended, 1);
      atomic_store(&ex->state, SPK__EX_ENDED_EARLY);
      return 1;
    }
    /* ASYNC: hand the exchange over unless the completer was faster than our return. */
    int s = SPK__EX_DISPATCHING;
    if (atomic_compare_exchange_strong(&ex->state, &s, SPK__EX_ASYNC)) return 0;
    if (s == SPK__EX_CONTINUE_EARLY) {
      atomic_store(&ex->state, SPK__EX_DISPATCHING);
      continue;
    }
    return 1; /* ended (spk_res_end) before we got here */
  }
}

int spk__pipeline_dispatch(spk__exchange_t *ex) { return run(ex); }

int spk__pipeline_resume(spk__exchange_t *ex) {
  if (ex->fin_step) return 1; /* a response hook continued: spk__pipeline_finish goes on */
  int s = SPK__EX_CONTINUED;
  if (atomic_compare_exchange_strong(&ex->state, &s, SPK__EX_DISPATCHING)) return run(ex);
  return 1; /* ENDED: the response is complete */
}

int spk__exchange_continue(spk__exchange_t *ex) {
  if (atomic_load(&ex->ended)) return SPK_ESTATE;
  for (;;) {
    int s = atomic_load(&ex->state);
    if (s == SPK__EX_DISPATCHING) {
      if (atomic_compare_exchange_weak(&ex->state, &s, SPK__EX_CONTINUE_EARLY)) return SPK_OK;
    } else if (s == SPK__EX_ASYNC) {
      if (atomic_compare_exchange_weak(&ex->state, &s, SPK__EX_CONTINUED)) {
        ex->wake(ex->wake_data, ex);
        return SPK_OK;
      }
    } else {
      return SPK_ESTATE;
    }
  }
}

SPK_EXTERN int spk_req_continue(spk_req_t *req) {
  return req ? spk__exchange_continue(spk__exchange_of_req(req)) : SPK_EINVAL;
}

enum { F_START = 0, F_HOOKS, F_REST };

int spk__pipeline_finish(spk__exchange_t *ex) {
  const spk_app_t *app = ex->app;
  const spk__endpoint_t *ep = ex->ep;
  /* The handler (or a response hook, after its continue) has let go of the response and only
   * this thread holds it: reopen it so that response hooks and middleware use the ordinary
   * setters. */
  atomic_store(&ex->ended, 0);
  if (ex->fin_step == F_START) {
    if (ex->handler_error) handler_failed(ex, ex->handler_error);
    if (ep && ep->contract && ex->origin == SPK__ORIGIN_HANDLER)
      spk__contract_check_response(ep->contract, ex);
    ex->fin_step = F_HOOKS;
  }
  while (app->hooks && ex->fin_step == F_HOOKS) {
    /* The same hand-over as the request steps (run): a hook's spk_req_continue either beats
     * our return (CONTINUE_EARLY: go on here) or wakes the owner, which calls us again. */
    atomic_store(&ex->state, SPK__EX_DISPATCHING);
    if (spk__hooks_run_response(ex) != SPK__STEP_ASYNC) break;
    int s = SPK__EX_DISPATCHING;
    if (atomic_compare_exchange_strong(&ex->state, &s, SPK__EX_ASYNC)) return 0;
    atomic_store(&ex->ended, 0); /* continued early (or ended instead of continuing) */
  }
  ex->fin_step = F_REST;
  if (ex->cors) spk__mw_cors_finish(ex);
  if (ex->ratelimit) spk__mw_ratelimit_finish(ex);
  if (app->mw.reqid) spk__mw_reqid_finish(ex, app->mw.reqid);
  if (!(ep && ep->mw.compress_off)) {
    const struct spk__mw_compress *c = ep && ep->mw.compress ? ep->mw.compress : app->mw.compress;
    if (c) spk__mw_compress_finish(ex, c);
  }
  if (app->mw.accesslog) spk__mw_accesslog_write(ex, app->mw.accesslog);
  atomic_store(&ex->ended, 1);
  return 1;
}
