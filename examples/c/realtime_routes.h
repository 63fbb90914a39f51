/* Real-time routes of the example app: Server-Sent Events and a streamed export.
 *
 *   GET /events?count=N      N events (default 3) with ids 1..N, a named "status" event, then
 *                            the stream ends; an EventSource reconnects with Last-Event-ID and
 *                            gets the rest, or a named "done" event once it has seen them all
 *   GET /events/ticker       a "tick" event every second to every subscriber (one ticker
 *                            thread fans out), keep-alive comments from the core in between
 *   GET /export.ndjson?rows=N  N rows (default 1000) of NDJSON, produced on demand (pull) as
 *                            the client reads: a slow reader slows the producer down */
#ifndef SPIKARD_EXAMPLE_REALTIME_ROUTES_H
#define SPIKARD_EXAMPLE_REALTIME_ROUTES_H

#include <spikard.h>

typedef struct realtime realtime_t;

/* Registers the SSE and streaming routes. `*out` receives their shared state (also on failure,
 * then free it); free it with realtime_free after the server is freed, before the app. */
int realtime_routes_register(spk_app_t *app, realtime_t **out);
void realtime_free(realtime_t *rt);

#endif
