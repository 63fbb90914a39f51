/* Absolute deadlines for pthread_cond_timedwait. */
#ifndef SPK_UTIL_DEADLINE_H
#define SPK_UTIL_DEADLINE_H

#include <stdint.h>
#include <time.h>

/* *ts = now on `clock` + ms (the clock the condition variable waits on). */
void spk__deadline_in(struct timespec *ts, clockid_t clock, uint32_t ms);

#endif
