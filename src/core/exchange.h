/* One request/response exchange: the request as parsed, the response as built, and the arena
 * that owns both. Created by the connection when a head is complete, freed after the response
 * bytes have been written (or discarded). */
#ifndef SPK_CORE_EXCHANGE_H
#define SPK_CORE_EXCHANGE_H

#include <stdatomic.h>

#include "core/conn.h"
#include "core/router.h"
#include "proto/http1.h"
#include "spikard/request.h"
#include "spikard/response.h"
#include "util/arena.h"
#include "util/buf.h"

struct spk_req {
  spk_method_t method;
  spk_str_t method_str;
  spk_str_t target;
  spk_str_t raw_path;
  spk_str_t path; /* decoded, NUL-terminated */
  spk_str_t query_string;
  int minor_version;
  spk_h1_header_t *headers;
  unsigned char *header_ids; /* spk_header_id_t per field */
  size_t header_count;
  spk_str_t body;
  spk_str_t validated; /* JSON text of coerced params + body (routes with a contract) */
  /* routing */
  const spk__route_t *route;
  size_t param_count;
  spk_str_t params[SPK__MAX_PARAMS]; /* decoded, NUL-terminated */
  /* lazily parsed */
  spk_h1_header_t *query;
  size_t query_count;
  int query_parsed;
  spk_h1_header_t *cookies;
  size_t cookie_count;
  int cookies_parsed;
  char remote[64];
  int remote_port;
};

struct spk_json_writer {
  spk_res_t *res;
  spk__buf_t out;
  int error;
  int depth;
  /* bit i: container at depth i is an object; need_comma / expect_value per depth */
  uint64_t is_object;
  uint64_t has_items;
  int after_key;
};

struct spk_res {
  int status;
  spk_h1_header_t *headers;
  size_t header_count;
  size_t header_cap;
  const char *body;
  size_t body_len;
  void (*release)(void *);
  void *release_data;
  spk__buf_t owned_body; /* heap body (JSON writer, files) released with the exchange */
  spk_json_writer_t *json;
  /* A file body (has_file): bytes [file_off, file_off + file_len) of file_fd, owned and closed
   * with the exchange. body/body_len are then unused. The connection sends it in chunks
   * through file_buf (conn.c) so that a large file is never read in one go. */
  int has_file;
  int file_fd;
  uint64_t file_off;
  uint64_t file_len;
  char *file_buf;
  struct spk_stream *stream; /* a streamed body (core/stream.c), or NULL */
};

/* Dispatch state: who owns the response right now. */
enum {
  SPK__EX_DISPATCHING = 0, /* the handler is running on the owner thread */
  SPK__EX_ASYNC = 1,       /* the handler returned ASYNC; someone will call spk_res_end */
  SPK__EX_ENDED_EARLY = 2, /* ended before the handler returned (or handler returned DONE) */
  SPK__EX_ENDED = 3,       /* ended after ASYNC: wake sent */
  /* A suspended step (async hook, DI factory, remote rate limiter) asked to go on: */
  SPK__EX_CONTINUE_EARLY = 4, /* before the step returned ASYNC: the dispatcher goes on */
  SPK__EX_CONTINUED = 5       /* after ASYNC: wake sent, the owner loop resumes the pipeline */
};

struct spk__exchange {
  struct spk_req req;
  struct spk_res res;
  spk__arena_t arena;
  const spk_app_t *app;
  spk__conn_t *conn; /* owner connection; NULL once orphaned (owner thread only) */
  void (*wake)(void *wake_data, spk__exchange_t *ex);
  void *wake_data;
  void (*wake_stream)(void *wake_data, struct spk_stream *s); /* the driver's, for streams */
  atomic_int state;
  atomic_int ended;
  atomic_int orphaned; /* its connection gave it up (request timeout): free it when it ends */
  int keep_alive;
  /* Pipeline position and middleware state (owner thread, or whoever the state hands it to). */
  int step;                          /* next pipeline step (pipeline.c) */
  size_t hook_i;                     /* next hook within the current phase */
  int resp_phase;                    /* response hooks: the phase running (0: not started) */
  int fin_step;                      /* spk__pipeline_finish's position (0: not started) */
  int origin;                        /* SPK__ORIGIN_*: who made the response */
  const struct spk__endpoint *ep;    /* the matched route's endpoint, once routed */
  const struct spk__mw_cors *cors;   /* CORS config that admitted the request (finish) */
  spk_str_t request_id;              /* empty when request ids are off */
  spk_str_t jwt_claims;              /* compact JSON, empty without JWT auth */
  uint64_t start_ns;                 /* monotonic, when dispatch began (timeouts, access log) */
  uint32_t timeout_ms;               /* request timeout armed by the connection (0: none) */
  struct spk__di_req *di;            /* dependencies resolved for this request */
  /* Admitted by the rate limiter with headers on: finish adds RateLimit-* (mw_ratelimit.c). */
  const struct spk__mw_ratelimit *ratelimit;
  uint32_t rl_remaining, rl_reset_s;
  struct spk_bg_task *bg; /* background tasks spawned for this request, newest first (bg.c) */
  struct spk_bg_task *bg_mark; /* ex->bg when the handler started: its own tasks come after */
  int handler_error; /* spk_res_fail's code (< 0), applied when the response is finished */
  struct spk__ws_upgrade *ws_upgrade; /* a valid WebSocket handshake (101): switch protocols */
  struct spk__ws_upgrade *ws_offer;   /* checked, awaiting the route's on_handshake decision */
  spk__buf_t head_out; /* serialized response head */
  spk__buf_t body_in;  /* request body being received (heap) */
};

spk__exchange_t *spk__exchange_new(const spk_app_t *app);
void spk__exchange_free(spk__exchange_t *ex);

/* Run the pipeline (middleware, hooks, route, contract, DI, handler). Returns 1 when the
 * response is complete now, 0 when it is suspended and a wake will follow (an async handler,
 * hook, dependency or rate-limit backend). */
int spk__pipeline_dispatch(spk__exchange_t *ex);
/* On the owner thread after a wake: go on where the pipeline stopped. Same return values. */
int spk__pipeline_resume(spk__exchange_t *ex);
/* Thread-safe: a suspended step is done, let the pipeline go on (SPK_ESTATE if not suspended
 * or already ended). */
int spk__exchange_continue(spk__exchange_t *ex);
/* Monotonic clock in ns. */
uint64_t spk__now_ns(void);

/* Last step before the response is serialized (on the connection's thread): optional response
 * validation. */
/* Response hooks, contract and response middleware, once the response has ended. 1 when it is
 * ready to write, 0 when a response hook went asynchronous: a wake follows (its continue), then
 * the owner calls this again. */
int spk__pipeline_finish(spk__exchange_t *ex);

/* Fill the response with an error (problem details) for a protocol-level status. */
void spk__exchange_error(spk__exchange_t *ex, int status, const char *detail);

/* Make the body bytes [off, off + len) of `fd`, taking ownership of fd (closed with the
 * exchange, or now on failure). Replaces any other body. */
int spk__res_file_body(spk_res_t *res, int fd, uint64_t off, uint64_t len);
/* Size of the response body, whichever kind it is. */
static inline uint64_t spk__res_body_size(const spk_res_t *res) {
  return res->has_file ? res->file_len : res->body_len;
}

/* Replace the response with a plain problem-details body (resets headers and body). */
int spk__res_problem_reset(spk_res_t *res, int status, const char *slug, const char *title,
                           const char *detail);

static inline spk__exchange_t *spk__exchange_of_res(spk_res_t *res) {
  return (spk__exchange_t *)(void *)((char *)res - offsetof(spk__exchange_t, res));
}
static inline spk__exchange_t *spk__exchange_of_req(const spk_req_t *req) {
  return (spk__exchange_t *)(void *)((char *)req - offsetof(spk__exchange_t, req));
}

#endif
