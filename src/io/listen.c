/* Listening sockets: address parsing, SO_REUSEPORT groups (one socket per worker) with a shared
 * socket as the fallback, and Unix domain sockets with stale-file cleanup. */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "io/worker.h"
#include "spikard/common.h"
#include "util/alloc.h"

#define SPK__UNIX_PREFIX "unix:"

static void close_all(int *fds, int count) {
  for (int i = 0; i < count; i++) {
    if (fds[i] >= 0) close(fds[i]);
    fds[i] = -1;
  }
}

/* Resolve host (numeric address, optionally in brackets, or a name) for binding. */
static int resolve(const char *host, struct sockaddr_storage *ss, socklen_t *len) {
  char buf[256];
  size_t n = strlen(host);
  if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
    n -= 2;
    host++;
  }
  if (n == 0 || n >= sizeof(buf)) return SPK_EINVAL;
  memcpy(buf, host, n);
  buf[n] = '\0';

  struct addrinfo hints;
  memset(&hints, 0, sizeof(hints));
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  struct addrinfo *res = NULL;
  if (getaddrinfo(buf, NULL, &hints, &res) != 0 || !res) return SPK_EADDR;
  int rc = SPK_EADDR;
  for (struct addrinfo *ai = res; ai; ai = ai->ai_next) {
    if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6) &&
        ai->ai_addrlen <= sizeof(*ss)) {
      memset(ss, 0, sizeof(*ss));
      memcpy(ss, ai->ai_addr, ai->ai_addrlen);
      *len = (socklen_t)ai->ai_addrlen;
      rc = 0;
      break;
    }
  }
  freeaddrinfo(res);
  return rc;
}

static void set_port(struct sockaddr_storage *ss, int port) {
  if (ss->ss_family == AF_INET)
    ((struct sockaddr_in *)ss)->sin_port = htons((uint16_t)port);
  else
    ((struct sockaddr_in6 *)ss)->sin6_port = htons((uint16_t)port);
}

static int get_port(int fd) {
  struct sockaddr_storage ss;
  socklen_t len = sizeof(ss);
  if (getsockname(fd, (struct sockaddr *)&ss, &len) != 0) return -1;
  if (ss.ss_family == AF_INET) return ntohs(((struct sockaddr_in *)&ss)->sin_port);
  if (ss.ss_family == AF_INET6) return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
  return -1;
}

/* A bound, listening TCP socket. `reuseport`: 1 require SO_REUSEPORT (fails with
 * SPK_ENOTIMPL when unavailable), 0 without. */
static int open_tcp(const struct sockaddr_storage *ss, socklen_t len, int backlog, int reuseport,
                    int do_listen, int *out) {
  int fd = socket(ss->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return SPK_EADDR;
  int one = 1;
  (void)setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (reuseport) {
#ifdef SO_REUSEPORT
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0) {
      close(fd);
      return SPK_ENOTIMPL;
    }
#else
    close(fd);
    return SPK_ENOTIMPL;
#endif
  }
  if (bind(fd, (const struct sockaddr *)ss, len) != 0 ||
      (do_listen && listen(fd, backlog) != 0)) {
    close(fd);
    return SPK_EADDR;
  }
  *out = fd;
  return 0;
}

/* Share fds[0] with every worker (dup). */
static int share_first(int count, int *fds) {
  for (int i = 1; i < count; i++) {
    fds[i] = fcntl(fds[0], F_DUPFD_CLOEXEC, 0);
    if (fds[i] < 0) {
      close_all(fds, count);
      return SPK_EADDR;
    }
  }
  return 0;
}

static int listen_tcp(const char *host, int port, int backlog, int count, int join, int *fds,
                      int *bound_port, int *shared) {
  struct sockaddr_storage ss;
  socklen_t len = 0;
  int rc = resolve(host, &ss, &len);
  if (rc < 0) return rc;
  set_port(&ss, port);

  /* SO_REUSEPORT would let us join another live server's group on the same port without any
   * error. A probe bind without it fails when anyone listens there already. */
  if (port != 0 && !join) {
    int probe = -1;
    rc = open_tcp(&ss, len, backlog, 0, 0, &probe);
    if (rc < 0) return rc;
    close(probe);
  }

  *shared = 0;
  rc = open_tcp(&ss, len, backlog, 1, 1, &fds[0]);
  if (rc == SPK_ENOTIMPL) {
    *shared = 1;
    rc = open_tcp(&ss, len, backlog, 0, 1, &fds[0]);
  }
  if (rc < 0) return rc;
  int p = get_port(fds[0]);
  if (p < 0) {
    close_all(fds, count);
    return SPK_EADDR;
  }
  *bound_port = p;
  if (*shared) return share_first(count, fds);

  set_port(&ss, p);
  for (int i = 1; i < count; i++) {
    rc = open_tcp(&ss, len, backlog, 1, 1, &fds[i]);
    if (rc < 0) {
      /* Fall back to one shared socket rather than failing. */
      for (int j = 1; j < i; j++) {
        close(fds[j]);
        fds[j] = -1;
      }
      *shared = 1;
      return share_first(count, fds);
    }
  }
  return 0;
}

static int listen_unix(const char *path, int backlog, int count, int *fds, char **unix_path) {
  struct sockaddr_un sun;
  size_t n = strlen(path);
  if (n == 0 || n >= sizeof(sun.sun_path)) return SPK_EINVAL;
  memset(&sun, 0, sizeof(sun));
  sun.sun_family = AF_UNIX;
  memcpy(sun.sun_path, path, n + 1);

  struct stat st;
  if (lstat(path, &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) return SPK_EADDR; /* never remove a regular file */
    /* A live server answers connect(); a stale file refuses it. */
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return SPK_EADDR;
    int r = connect(probe, (struct sockaddr *)&sun, sizeof(sun));
    int err = errno;
    close(probe);
    if (r == 0 || err != ECONNREFUSED) return SPK_EADDR;
    if (unlink(path) != 0) return SPK_EADDR;
  }

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return SPK_EADDR;
  if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) != 0) {
    close(fd);
    return SPK_EADDR;
  }
  if (listen(fd, backlog) != 0) {
    close(fd);
    unlink(path);
    return SPK_EADDR;
  }
  char *copy = spk__strdup(path);
  if (!copy) {
    close(fd);
    unlink(path);
    return SPK_ENOMEM;
  }
  fds[0] = fd;
  int rc = share_first(count, fds);
  if (rc < 0) {
    unlink(path);
    spk__free(copy);
    return rc;
  }
  *unix_path = copy;
  return 0;
}

int spk__listen_open(const char *host, int port, int backlog, int count, int join, int *fds,
                     int *bound_port, int *shared, char **unix_path) {
  for (int i = 0; i < count; i++) fds[i] = -1;
  *bound_port = 0;
  *shared = 0;
  *unix_path = NULL;
  if (count < 1 || !host) return SPK_EINVAL;
  if (strncmp(host, SPK__UNIX_PREFIX, sizeof(SPK__UNIX_PREFIX) - 1) == 0) {
    *shared = 1;
    return listen_unix(host + sizeof(SPK__UNIX_PREFIX) - 1, backlog, count, fds, unix_path);
  }
  if (port < 0 || port > 65535) return SPK_EINVAL;
  return listen_tcp(host, port, backlog, count, join, fds, bound_port, shared);
}
