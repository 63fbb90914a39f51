#include "util/deadline.h"

void spk__deadline_in(struct timespec *ts, clockid_t clock, uint32_t ms) {
  clock_gettime(clock, ts);
  ts->tv_sec += ms / 1000u;
  ts->tv_nsec += (long)(ms % 1000u) * 1000000L;
  if (ts->tv_nsec >= 1000000000L) ts->tv_sec++, ts->tv_nsec -= 1000000000L;
}
