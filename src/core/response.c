/* Response setters and completion. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/exchange.h"
#include "core/stream_internal.h"
#include "util/alloc.h"
#include "util/strutil.h"

static int ended(const spk_res_t *res) {
  return atomic_load(&spk__exchange_of_res((spk_res_t *)res)->ended) != 0;
}

SPK_EXTERN int spk_res_status(spk_res_t *res, int status) {
  if (ended(res)) return SPK_ESTATE;
  if (status < 100 || status > 999) return SPK_EINVAL;
  res->status = status;
  return SPK_OK;
}
SPK_EXTERN int spk_res_get_status(const spk_res_t *res) { return res->status; }
SPK_EXTERN spk_req_t *spk_res_request(spk_res_t *res) { return &spk__exchange_of_res(res)->req; }

static int reserved_header(const char *name, size_t len) {
  static const char *const owned[] = {"content-length", "transfer-encoding", "connection", "date"};
  for (size_t i = 0; i < sizeof(owned) / sizeof(owned[0]); i++)
    if (spk__strieq(name, len, owned[i], strlen(owned[i]))) return 1;
  return 0;
}

SPK_EXTERN int spk_res_header_n(spk_res_t *res, const char *name, size_t name_len,
                                const char *value, size_t value_len) {
  if (ended(res)) return SPK_ESTATE;
  if (!name || !name_len || (!value && value_len)) return SPK_EINVAL;
  for (size_t i = 0; i < name_len; i++)
    if (!spk__is_tchar((unsigned char)name[i])) return SPK_EINVAL;
  for (size_t i = 0; i < value_len; i++)
    if (value[i] == '\r' || value[i] == '\n' || value[i] == '\0') return SPK_EINVAL;
  if (reserved_header(name, name_len)) return SPK_EINVAL;
  spk__arena_t *a = &spk__exchange_of_res(res)->arena;
  if (res->header_count == res->header_cap) {
    size_t cap = res->header_cap ? res->header_cap * 2 : 8;
    spk_h1_header_t *h = spk__arena_realloc(a, res->headers, res->header_cap * sizeof(*h),
                                            cap * sizeof(*h));
    if (!h) return SPK_ENOMEM;
    res->headers = h;
    res->header_cap = cap;
  }
  char *n = spk__arena_strndup(a, name, name_len);
  char *v = spk__arena_strndup(a, value ? value : "", value_len);
  if (!n || !v) return SPK_ENOMEM;
  res->headers[res->header_count].name = (spk_str_t){n, name_len};
  res->headers[res->header_count].value = (spk_str_t){v, value_len};
  res->header_count++;
  return SPK_OK;
}

SPK_EXTERN int spk_res_header(spk_res_t *res, const char *name, const char *value) {
  if (!name || !value) return SPK_EINVAL;
  return spk_res_header_n(res, name, strlen(name), value, strlen(value));
}

SPK_EXTERN int spk_res_set_header(spk_res_t *res, const char *name, const char *value) {
  if (!name || !value) return SPK_EINVAL;
  if (ended(res)) return SPK_ESTATE;
  size_t nlen = strlen(name), k = 0;
  for (size_t i = 0; i < res->header_count; i++)
    if (!spk__strieq(res->headers[i].name.ptr, res->headers[i].name.len, name, nlen))
      res->headers[k++] = res->headers[i];
  res->header_count = k;
  return spk_res_header(res, name, value);
}

SPK_EXTERN int spk_res_get_header(const spk_res_t *res, const char *name, spk_str_t *value) {
  size_t nlen = strlen(name);
  for (size_t i = 0; i < res->header_count; i++) {
    if (spk__strieq(res->headers[i].name.ptr, res->headers[i].name.len, name, nlen)) {
      if (value) *value = res->headers[i].value;
      return SPK_OK;
    }
  }
  return SPK_ENOENT;
}

static void drop_body(spk_res_t *res) {
  if (res->stream) spk__stream_detach(res->stream); /* a replaced stream is cancelled */
  res->stream = NULL;
  if (res->has_file) close(res->file_fd);
  res->has_file = 0;
  if (res->release) res->release(res->release_data);
  res->release = NULL;
  res->release_data = NULL;
  res->body = NULL;
  res->body_len = 0;
  res->owned_body.len = 0;
}

SPK_EXTERN int spk_res_body(spk_res_t *res, const void *data, size_t len) {
  if (ended(res)) return SPK_ESTATE;
  if (!data && len) return SPK_EINVAL;
  drop_body(res);
  if (spk__buf_append(&res->owned_body, data, len)) return SPK_ENOMEM;
  res->body = res->owned_body.data;
  res->body_len = len;
  return SPK_OK;
}

SPK_EXTERN int spk_res_body_ref(spk_res_t *res, const void *data, size_t len,
                                void (*release)(void *), void *release_data) {
  if (ended(res)) return SPK_ESTATE;
  if (!data && len) return SPK_EINVAL;
  drop_body(res);
  res->body = data;
  res->body_len = len;
  res->release = release;
  res->release_data = release_data;
  return SPK_OK;
}

SPK_EXTERN int spk_res_send(spk_res_t *res, int status, const char *content_type,
                            const void *data, size_t len) {
  int rc = spk_res_status(res, status);
  if (!rc && content_type) rc = spk_res_set_header(res, "Content-Type", content_type);
  if (!rc) rc = spk_res_body(res, data, len);
  return rc;
}

static const char *guess_type(const char *path) {
  static const struct { const char *ext, *type; } types[] = {
      {".html", "text/html; charset=utf-8"}, {".htm", "text/html; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},   {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"}, {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"}, {".svg", "image/svg+xml"}, {".png", "image/png"},
      {".jpg", "image/jpeg"}, {".jpeg", "image/jpeg"}, {".gif", "image/gif"},
      {".webp", "image/webp"}, {".ico", "image/x-icon"}, {".wasm", "application/wasm"},
      {".pdf", "application/pdf"}, {".xml", "application/xml"}, {".csv", "text/csv; charset=utf-8"},
      {".woff2", "font/woff2"}, {".woff", "font/woff"}};
  const char *dot = strrchr(path, '.');
  if (dot && !strchr(dot, '/'))
    for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
      if (spk__strieq(dot, strlen(dot), types[i].ext, strlen(types[i].ext))) return types[i].type;
  return "application/octet-stream";
}

int spk__res_file_body(spk_res_t *res, int fd, uint64_t off, uint64_t len) {
  if (ended(res)) {
    close(fd);
    return SPK_ESTATE;
  }
  drop_body(res);
  res->has_file = 1;
  res->file_fd = fd;
  res->file_off = off;
  res->file_len = len;
  return SPK_OK;
}

/* Files up to this size are read at once; larger ones become a file body sent in chunks. */
#define SPK__FILE_INLINE_MAX 65536

SPK_EXTERN int spk_res_file(spk_res_t *res, const char *path, const char *content_type) {
  if (ended(res)) return SPK_ESTATE;
  if (!path) return SPK_EINVAL;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK); /* a FIFO must not block us */
  if (fd < 0) return SPK_ENOENT;
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return SPK_EINVAL;
  }
  const char *type = content_type ? content_type : guess_type(path);
  if (st.st_size > SPK__FILE_INLINE_MAX) {
    int rc = spk__res_file_body(res, fd, 0, (uint64_t)st.st_size);
    return rc ? rc : spk_res_set_header(res, "Content-Type", type);
  }
  drop_body(res);
  int rc = spk__buf_reserve(&res->owned_body, (size_t)st.st_size);
  size_t got = 0;
  while (!rc && got < (size_t)st.st_size) {
    ssize_t n = read(fd, res->owned_body.data + got, (size_t)st.st_size - got);
    if (n < 0) rc = SPK_EIO;
    if (n <= 0) break; /* a file that shrank while reading: send what we got */
    got += (size_t)n;
  }
  close(fd);
  if (rc) return rc;
  res->owned_body.len = got;
  res->body = res->owned_body.data;
  res->body_len = got;
  return spk_res_set_header(res, "Content-Type", type);
}

int spk__res_problem_reset(spk_res_t *res, int status, const char *slug, const char *title,
                           const char *detail) {
  res->header_count = 0;
  drop_body(res);
  return spk_res_problem(res, status, slug, title, detail);
}

SPK_EXTERN int spk_res_problem(spk_res_t *res, int status, const char *slug, const char *title,
                               const char *detail) {
  if (ended(res)) return SPK_ESTATE;
  if (!slug || !title) return SPK_EINVAL;
  spk_json_writer_t *w = spk_res_json_begin(res);
  if (!w) return SPK_ENOMEM;
  char type[256];
  snprintf(type, sizeof(type), "https://spikard.dev/errors/%s", slug);
  spk_json_object_open(w);
  spk_json_key(w, "type");
  spk_json_string(w, type);
  spk_json_key(w, "title");
  spk_json_string(w, title);
  spk_json_key(w, "status");
  spk_json_int(w, status);
  if (detail) {
    spk_json_key(w, "detail");
    spk_json_string(w, detail);
  }
  spk_json_object_close(w);
  int rc = spk_res_json_end(w);
  if (!rc) rc = spk_res_status(res, status);
  if (!rc) rc = spk_res_set_header(res, "Content-Type", "application/problem+json; charset=utf-8");
  return rc;
}

SPK_EXTERN int spk_res_fail(spk_res_t *res, int error) {
  if (!res || error >= 0) return SPK_EINVAL;
  spk__exchange_t *ex = spk__exchange_of_res(res);
  if (atomic_load(&ex->ended)) return SPK_ESTATE;
  /* Read by the owner thread in spk__pipeline_finish, after the end's atomic hand-over. Only
   * the thread that owns the response may end it, so nobody else writes this meanwhile. */
  ex->handler_error = error;
  int rc = spk_res_end(res);
  if (rc != SPK_OK) ex->handler_error = 0;
  return rc;
}

SPK_EXTERN int spk_res_end(spk_res_t *res) {
  spk__exchange_t *ex = spk__exchange_of_res(res);
  int expected = 0;
  if (!atomic_compare_exchange_strong(&ex->ended, &expected, 1)) return SPK_ESTATE;
  /* Hand the response back: during dispatch the dispatcher finishes it; after ASYNC we wake the
   * owner loop. The CAS loop settles the race with a handler that is just returning ASYNC. */
  for (;;) {
    int s = atomic_load(&ex->state);
    if (s == SPK__EX_DISPATCHING) {
      if (atomic_compare_exchange_weak(&ex->state, &s, SPK__EX_ENDED_EARLY)) return SPK_OK;
    } else if (s == SPK__EX_ASYNC) {
      if (atomic_compare_exchange_weak(&ex->state, &s, SPK__EX_ENDED)) {
        ex->wake(ex->wake_data, ex);
        return SPK_OK;
      }
    } else {
      return SPK_ESTATE;
    }
  }
}
