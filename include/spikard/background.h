/* Spikard — background tasks: work that runs after the response has been sent.
 *
 *   static int send_mail(spk_bg_task_t *task, void *data) {
 *     const char *address = data;              // the task's own copy
 *     if (mail(address) != 0) { spk_bg_task_error(task, "SMTP refused"); return -1; }
 *     return 0;
 *   }
 *   static int signup(spk_req_t *req, spk_res_t *res, void *ud) {
 *     spk_str_t body = spk_req_body(req);
 *     int rc = spk_bg_spawn_copy(req, send_mail, body.ptr, body.len);
 *     if (rc < 0) return rc;                    // SPK_EQUEUEFULL → the core answers 503
 *     return spk_res_send(res, 202, "application/json", NULL, 0);
 *   }
 *
 * When tasks run. A task spawned for a request is held by the request until its response has
 * been written to the socket (in the test client: produced in full), or discarded because the
 * client went away; then it is queued on the app's worker pool. The response never waits for
 * its tasks. Tasks spawned during one request run in spawn order, one after another; tasks of
 * different requests run concurrently, at most `max_concurrency` at a time. A task spawned by
 * a handler that then fails (returns a negative code, answered 500/503 by the core) is
 * discarded with it: the work it would follow up on did not happen. Tasks spawned by hooks
 * (an ON_ERROR hook reporting the failure, an ON_RESPONSE hook auditing) run whatever the
 * status.
 *
 * The pool. Every app owns one, shared by all its servers and test clients, configured with
 * spk_app_configure (middleware.h):
 *   {"background_tasks": {"max_queue": 1024,        tasks waiting (spawned, not yet started)
 *                         "max_concurrency": 8,     worker threads, started on demand
 *                         "drain_timeout_ms": 30000}}  graceful-shutdown bound
 * (the reference's names max_queue_size, max_concurrent_tasks and drain_timeout_secs are
 * accepted too). Threads are created the first time they are needed, so an app that never
 * spawns has none.
 *
 * Back-pressure. A spawned task occupies a queue slot from the spawn call until it starts, so
 * the bound holds before the response is even sent. A full queue makes the spawn fail with
 * SPK_EQUEUEFULL and nothing is kept (the caller still owns `data`: free it). What a handler
 * should do: give up on the request — return the code, and the core answers 503 problem
 * details (`service-unavailable`, `Retry-After: 1`) and discards the tasks it spawned before —
 * or answer on its own terms (do the work inline, or record it elsewhere).
 *
 * Errors. A task returning non-zero is logged to stderr, one line:
 *   spikard: background task failed (POST /signup): SPK_EIO: SMTP refused
 * (its spk_bg_task_error message, else the code's text). Failures never affect other tasks,
 * later tasks of the same request included. spk_app_bg_stats counts them.
 *
 * Shutdown. spk_server_wait (and so spk_server_run / spk_server_free) drains the pool once the
 * connections are done: it waits until no task is queued or running, at most
 * `drain_timeout_ms`. Tasks still queued at the deadline are dropped — never run, their
 * free_fn called, their number logged — and running ones are asked to stop: spk_bg_cancelled
 * turns 1 for them. spk_app_free does the same drain and then waits for running tasks to
 * return (a thread cannot be killed safely), so a task must not block forever: poll
 * spk_bg_cancelled in long loops.
 *
 * Ownership — the rule that keeps tasks safe. A task runs after its request is gone: its
 * arena, the strings spk_req_* returned, the response, the dependencies are all freed by then.
 * A task must therefore own everything it reads: copy what it needs at spawn time
 * (spk_bg_spawn_copy copies bytes into the task), or hand over heap memory with a free_fn.
 * The task function gets no request, only its data. `data` belongs to the pool from a
 * successful spawn on; free_fn(data) is called exactly once — after fn returns, or when the
 * task is dropped without running. On a failed spawn nothing is taken.
 *
 * Threads. spk_bg_spawn may be called by the thread that currently owns the request (handler,
 * hook, dependency factory — see request.h), before spk_res_end (afterwards: SPK_ESTATE; the
 * response-phase hooks may spawn, the core reopens the response for them). spk_app_bg_spawn,
 * spk_app_bg_wait and spk_app_bg_stats are thread-safe. Task functions run on the pool's
 * threads, never on a connection's loop. */
#ifndef SPIKARD_BACKGROUND_H
#define SPIKARD_BACKGROUND_H

#include "app.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct spk_bg_task spk_bg_task_t;

/* A task body: 0 on success, anything else is a failure (logged). Runs on a pool thread. */
typedef int (*spk_bg_fn)(spk_bg_task_t *task, void *data);
/* Releases a task's data; may be NULL when there is nothing to free. */
typedef void (*spk_bg_free_fn)(void *data);

/* Schedule fn(task, data) to run after this request's response has been sent.
 * Errors: SPK_EQUEUEFULL (the queue bound is reached), SPK_ESTATE (after spk_res_end),
 * SPK_EINVAL (NULL req or fn), SPK_ENOMEM. On error the caller keeps `data`. */
SPK_EXTERN int spk_bg_spawn(spk_req_t *req, spk_bg_fn fn, void *data, spk_bg_free_fn free_fn);

/* Same, with a private copy of bytes[0, len) (NUL-terminated for convenience) as the data:
 * the safe way to hand request bytes (body, a header, a parameter) to a task. */
SPK_EXTERN int spk_bg_spawn_copy(spk_req_t *req, spk_bg_fn fn, const void *bytes, size_t len);

/* Queue a task now, outside any request (a task spawning follow-up work, a timer, a WebSocket
 * message). Same errors and ownership, plus SPK_ESTATE once spk_app_free has begun. */
SPK_EXTERN int spk_app_bg_spawn(spk_app_t *app, spk_bg_fn fn, void *data,
                                spk_bg_free_fn free_fn);

/* Inside a task: 1 once shutdown wants the task to stop (drain timeout, spk_app_free). */
SPK_EXTERN int spk_bg_cancelled(const spk_bg_task_t *task);
/* Inside a task: the reason logged if the task fails (copied, truncated to 200 bytes). */
SPK_EXTERN void spk_bg_task_error(spk_bg_task_t *task, const char *message);
/* Inside a task: the app whose pool runs it (for spk_app_bg_spawn of follow-up work). */
SPK_EXTERN spk_app_t *spk_bg_task_app(const spk_bg_task_t *task);

/* Wait until no task is queued or running (tasks held by requests still in flight are not
 * waited for), at most timeout_ms (0: do not wait, just check). SPK_OK or SPK_ETIMEDOUT.
 * Nothing is dropped. Must not be called from a task. */
SPK_EXTERN int spk_app_bg_wait(spk_app_t *app, uint32_t timeout_ms);

typedef struct spk_bg_stats {
  uint64_t spawned;   /* accepted by a spawn call */
  uint64_t completed; /* ran and returned 0 */
  uint64_t failed;    /* ran and returned non-zero */
  uint64_t rejected;  /* spawn calls refused with SPK_EQUEUEFULL */
  uint64_t discarded; /* never ran: their handler failed, or dropped at shutdown */
  size_t queued;      /* waiting now (held by requests, or queued) */
  size_t running;     /* running now */
  size_t threads;     /* pool threads started */
} spk_bg_stats_t;

SPK_EXTERN int spk_app_bg_stats(const spk_app_t *app, spk_bg_stats_t *out);

#ifdef __cplusplus
}
#endif
#endif
