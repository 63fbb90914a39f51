/* The app's background-task pool (include/spikard/background.h): a bounded FIFO of task chains
 * (one chain per request, run in spawn order) and up to max_concurrency worker threads started
 * on demand. Everything here is thread-safe except where noted. */
#ifndef SPK_CORE_BG_H
#define SPK_CORE_BG_H

#include <stddef.h>
#include <stdint.h>

#include "proto/json.h"
#include "spikard/background.h"

typedef struct spk__bg spk__bg_t;
typedef struct spk__exchange spk__exchange_t;

typedef struct spk__bg_config {
  size_t max_queue;
  size_t max_concurrency;
  uint32_t drain_timeout_ms;
} spk__bg_config_t;

void spk__bg_config_default(spk__bg_config_t *out);
/* The "background_tasks" section of spk_app_configure. */
int spk__bg_configure(const spk_json_value_t *v, spk__bg_config_t *out, char *err,
                      size_t errlen);

/* One per app (spk_app_new). NULL when out of memory. */
spk__bg_t *spk__bg_new(spk_app_t *app);
/* spk_app_free: drain (bounded), drop the rest, wait for running tasks, join the threads. */
void spk__bg_free(spk__bg_t *bg);
void spk__bg_set_config(spk__bg_t *bg, const spk__bg_config_t *cfg);

/* The exchange is being freed, its response sent or discarded: queue the tasks it holds.
 * Any thread (the one freeing the exchange). */
void spk__bg_request_end(spk__exchange_t *ex);
/* The handler failed: drop the tasks spawned since `mark` (the list head before it ran).
 * Owner thread. */
void spk__bg_discard_since(spk__exchange_t *ex, spk_bg_task_t *mark);

/* Graceful shutdown: wait until idle for at most the drain timeout, then drop what is still
 * queued and flag running tasks as cancelled. SPK_OK (drained) or SPK_ETIMEDOUT. */
int spk__bg_drain(spk__bg_t *bg);

#endif
