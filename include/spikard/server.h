/* Spikard — serving an app over the network (libuv).
 *
 * A server runs N worker threads, each with its own event loop and its own listening socket on
 * the same address (SO_REUSEPORT; one shared listener where the OS lacks it). The app must not
 * be freed before the server. */
#ifndef SPIKARD_SERVER_H
#define SPIKARD_SERVER_H

#include "app.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct spk_server spk_server_t;

typedef struct spk_server_config {
  /* "127.0.0.1", "::1", "0.0.0.0", "::" or "unix:/path/to/socket". Default "127.0.0.1". */
  const char *host;
  /* TCP port; 0 picks a free one (read it back with spk_server_port). Default 8000. */
  int port;
  /* Worker threads; 0 means one per CPU core. Default 0. */
  int workers;
  /* listen() backlog. Default 1024. */
  int backlog;
  /* Graceful shutdown: how long in-flight requests may take before connections are cut.
   * Default 10000 ms. */
  uint32_t shutdown_timeout_ms;
  /* Install SIGINT/SIGTERM handlers that start a graceful shutdown (spk_server_run only).
   * Default 1. */
  int handle_signals;
  /* Join an SO_REUSEPORT group that other processes already listen in on this TCP port
   * (pre-forked workers of one app, e.g. the Python binding's workers=N): the check that
   * refuses a port in use is skipped, so the caller must have made sure the port is its own.
   * Default 0. */
  int join_port_group;
} spk_server_config_t;

SPK_EXTERN void spk_server_config_default(spk_server_config_t *out);

/* Create a server for `app` (frozen here). Binds and listens immediately so that the port is
 * known and errors are reported here: SPK_EADDR (bind/listen failed), SPK_EINVAL. */
SPK_EXTERN int spk_server_new(spk_server_t **out, spk_app_t *app,
                              const spk_server_config_t *config);

/* The bound TCP port (useful with port 0), or 0 for Unix sockets. */
SPK_EXTERN int spk_server_port(const spk_server_t *server);

/* Start the workers and return at once. */
SPK_EXTERN int spk_server_start(spk_server_t *server);

/* Start (if needed) and block until the server has stopped (signal or spk_server_stop).
 * With handle_signals, SIGINT/SIGTERM are handled on the calling thread from the moment the
 * handlers exist (the worker threads block them). A program that must not die from a signal
 * arriving before this call should block SIGINT/SIGTERM before spk_server_new; run unblocks
 * them once its handlers are installed and restores the previous mask on return. A second
 * signal during a graceful shutdown cuts every connection at once. */
SPK_EXTERN int spk_server_run(spk_server_t *server);

/* Begin a graceful shutdown: stop accepting, finish in-flight requests, close idle connections,
 * cut whatever remains after shutdown_timeout_ms. Thread-safe and async-signal-safe. */
SPK_EXTERN void spk_server_stop(spk_server_t *server);

/* Wait for the workers to exit (after spk_server_stop). */
SPK_EXTERN int spk_server_wait(spk_server_t *server);

/* Stop, wait and free. Every async handler must have called spk_res_end before this: the
 * worker that would receive the completion is gone afterwards. */
SPK_EXTERN void spk_server_free(spk_server_t *server);

#ifdef __cplusplus
}
#endif
#endif
