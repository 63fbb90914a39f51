#include "util/log.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

void spk__vlog(const char *fmt, va_list ap) {
  char line[600];
  static const char prefix[] = "spikard: ";
  memcpy(line, prefix, sizeof(prefix) - 1);
  size_t room = sizeof(line) - (sizeof(prefix) - 1) - 1; /* keep one byte for '\n' */
  int n = vsnprintf(line + sizeof(prefix) - 1, room + 1, fmt, ap);
  if (n < 0) return;
  size_t len = sizeof(prefix) - 1 + ((size_t)n < room ? (size_t)n : room);
  line[len++] = '\n';
  ssize_t w;
  do w = write(STDERR_FILENO, line, len);
  while (w < 0 && errno == EINTR);
}

void spk__log(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  spk__vlog(fmt, ap);
  va_end(ap);
}
