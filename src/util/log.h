/* The library's diagnostic log: one line "spikard: <message>\n" on stderr, written with a
 * single write() so that lines from different threads never interleave. Used for what cannot
 * be reported to a caller (accept failures, shutdown timeouts, failed background tasks). */
#ifndef SPK_UTIL_LOG_H
#define SPK_UTIL_LOG_H

#include <stdarg.h>

void spk__log(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
void spk__vlog(const char *fmt, va_list ap)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 0)))
#endif
    ;

#endif
