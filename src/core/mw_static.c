/* Middleware "static_files": directories mounted under path prefixes, served for GET/HEAD
 * requests no route matched (routes win).
 *
 *   "static_files": [{"directory": "./public", "route_prefix": "/static",
 *                     "index_file": true, "cache_control": "public, max-age=60",
 *                     "precompressed": true}]
 *
 * Safety: the request path is split on '/' and each segment percent-decoded once
 * (spk_fs_path): ".", "..", '\\', NUL and encoded '/' are refused, so a path can only name
 * something below the mount. Files are opened relative to a directory fd taken at configure
 * time with openat2(RESOLVE_BENEATH): a symlink that resolves outside the root (absolute or
 * through "..") fails the open; symlinks that stay inside are followed. Where openat2 is
 * missing (older kernels, other systems) the path is canonicalized with realpath() and must
 * stay under the root's canonical path (racy against someone swapping links inside the root
 * between the check and the open — only a writer of the served tree can do that). Every
 * refusal is a plain 404 (NEXT), like a missing file, so nothing leaks about what exists.
 *
 * Answers: 200 (small files read at once, larger ones as a file body the connection streams),
 * 206 for one satisfiable byte range, 416 for none, 304 for If-None-Match / If-Modified-Since,
 * 412 for If-Match / If-Unmodified-Since, 307 to "dir/" for a directory asked without its
 * slash. Precompressed siblings (file.br, file.zst, file.gz — not older than the file) are
 * chosen by Accept-Encoding q-values. */

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#if defined(__linux__)
#include <linux/openat2.h>
#include <sys/syscall.h>
#endif

#include "core/exchange.h"
#include "core/mw.h"
#include "proto/compress.h"
#include "proto/fileserve.h"
#include "util/alloc.h"
#include "util/strutil.h"

/* Files up to this size are read into the response at once; larger ones are streamed. */
#define STATIC_INLINE_MAX 65536
#define STATIC_PATH_MAX 4096

typedef struct mount {
  char *prefix; /* without trailing '/': "" for the root mount */
  size_t prefix_len;
  char *directory; /* as configured (messages) */
  char *real;      /* canonical root (fallback containment check) */
  int dirfd;
  int index_file;
  int precompressed;
  char *cache_control; /* NULL: none */
} mount_t;

struct spk__mw_static {
  mount_t *mounts; /* longest prefix first */
  size_t count;
  int no_openat2; /* tests force the fallback; also set when the kernel lacks openat2 */
};

static void mount_free(mount_t *m) {
  if (m->dirfd >= 0) close(m->dirfd);
  spk__free(m->prefix);
  spk__free(m->directory);
  spk__free(m->real);
  spk__free(m->cache_control);
}

void spk__mw_static_free(struct spk__mw_static *c) {
  if (!c) return;
  for (size_t i = 0; i < c->count; i++) mount_free(&c->mounts[i]);
  spk__free(c->mounts);
  spk__free(c);
}

static char *dup_str(const spk_json_value_t *v) {
  return spk__strndup(v->u.string.ptr, v->u.string.len);
}

static int compile_mount(const spk_json_value_t *o, mount_t *m, char *err, size_t errlen) {
  if (!o || o->type != SPK_JSON_OBJECT) {
    snprintf(err, errlen, "each mount must be an object like {\"directory\": \"./public\", "
                          "\"route_prefix\": \"/static\"}");
    return SPK_EINVAL;
  }
  for (size_t i = 0; i < o->u.object.len; i++) {
    const char *k = o->u.object.members[i].key.ptr;
    const spk_json_value_t *v = o->u.object.members[i].value;
    int ok;
    if (!strcmp(k, "directory") || !strcmp(k, "route_prefix") || !strcmp(k, "cache_control"))
      ok = v->type == SPK_JSON_STRING;
    else if (!strcmp(k, "index_file") || !strcmp(k, "precompressed"))
      ok = v->type == SPK_JSON_BOOL;
    else {
      snprintf(err, errlen, "unknown key \"%s\" (known: directory, route_prefix, index_file, "
                            "cache_control, precompressed)", k);
      return SPK_EINVAL;
    }
    if (!ok) {
      snprintf(err, errlen, "\"%s\" has the wrong type", k);
      return SPK_EINVAL;
    }
  }
  const spk_json_value_t *dir = spk_json_get(o, "directory", 9);
  const spk_json_value_t *pre = spk_json_get(o, "route_prefix", 12);
  const spk_json_value_t *idx = spk_json_get(o, "index_file", 10);
  const spk_json_value_t *cc = spk_json_get(o, "cache_control", 13);
  const spk_json_value_t *pc = spk_json_get(o, "precompressed", 13);
  if (!dir || !dir->u.string.len) {
    snprintf(err, errlen, "a mount needs \"directory\"");
    return SPK_EINVAL;
  }
  if (!pre || pre->u.string.len == 0 || pre->u.string.ptr[0] != '/') {
    snprintf(err, errlen, "a mount needs \"route_prefix\" starting with '/'");
    return SPK_EINVAL;
  }
  for (size_t i = 0; i < pre->u.string.len; i++) {
    unsigned char ch = (unsigned char)pre->u.string.ptr[i];
    if (ch <= 0x20 || ch >= 0x7f || ch == '?' || ch == '#' || ch == '%') {
      snprintf(err, errlen, "\"route_prefix\" must be a plain path (no spaces, '?', '#', '%%')");
      return SPK_EINVAL;
    }
  }
  if (cc) {
    for (size_t i = 0; i < cc->u.string.len; i++) {
      char ch = cc->u.string.ptr[i];
      if (ch == '\r' || ch == '\n' || ch == '\0') {
        snprintf(err, errlen, "\"cache_control\" must be one header line");
        return SPK_EINVAL;
      }
    }
  }
  size_t plen = pre->u.string.len;
  while (plen > 0 && pre->u.string.ptr[plen - 1] == '/') plen--; /* "/" → "", "/a/" → "/a" */
  m->prefix = spk__strndup(pre->u.string.ptr, plen);
  m->prefix_len = plen;
  m->directory = dup_str(dir);
  m->cache_control = cc ? dup_str(cc) : NULL;
  m->index_file = idx ? idx->u.boolean : 1;
  m->precompressed = pc ? pc->u.boolean : 1;
  if (!m->prefix || !m->directory || (cc && !m->cache_control)) return SPK_ENOMEM;
  m->dirfd = open(m->directory, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (m->dirfd < 0) {
    snprintf(err, errlen, "\"directory\" %s cannot be opened: %s", m->directory, strerror(errno));
    return SPK_ENOENT;
  }
  m->real = realpath(m->directory, NULL); /* malloc'd by libc: re-owned below */
  if (!m->real) {
    snprintf(err, errlen, "\"directory\" %s: %s", m->directory, strerror(errno));
    return SPK_ENOENT;
  }
  char *own = spk__strndup(m->real, strlen(m->real));
  free(m->real);
  m->real = own;
  return m->real ? SPK_OK : SPK_ENOMEM;
}

static int by_prefix_len(const void *a, const void *b) {
  const mount_t *x = a, *y = b;
  return (x->prefix_len < y->prefix_len) - (x->prefix_len > y->prefix_len);
}

int spk__mw_static_configure(const spk_json_value_t *cfg, struct spk__mw_static **out, char *err,
                             size_t errlen) {
  *out = NULL;
  if (!cfg || (cfg->type != SPK_JSON_ARRAY && cfg->type != SPK_JSON_OBJECT)) {
    snprintf(err, errlen, "must be a list of mounts like [{\"directory\": \"./public\", "
                          "\"route_prefix\": \"/static\"}]");
    return SPK_EINVAL;
  }
  size_t n = cfg->type == SPK_JSON_ARRAY ? cfg->u.array.len : 1;
  if (n == 0) return SPK_OK; /* [] : off */
  struct spk__mw_static *c = spk__calloc(1, sizeof(*c));
  if (!c || !(c->mounts = spk__calloc(n, sizeof(*c->mounts)))) {
    spk__free(c);
    return SPK_ENOMEM;
  }
  int rc = SPK_OK;
  for (size_t i = 0; i < n && rc == SPK_OK; i++) {
    c->mounts[i].dirfd = -1;
    c->count++;
    rc = compile_mount(cfg->type == SPK_JSON_ARRAY ? cfg->u.array.items[i] : cfg, &c->mounts[i],
                       err, errlen);
  }
  if (rc) {
    spk__mw_static_free(c);
    return rc;
  }
  qsort(c->mounts, c->count, sizeof(*c->mounts), by_prefix_len);
  *out = c;
  return SPK_OK;
}

/* Test hook: 1 forces the realpath fallback instead of openat2. */
void spk__mw_static_force_fallback(struct spk__mw_static *c, int on) {
  if (c) c->no_openat2 = on;
}

/* ---- opening below the root ---- */

/* Open `rel` ("" = the root itself) below the mount without escaping it. -1 on any failure. */
static int open_beneath(const struct spk__mw_static *c, const mount_t *m, const char *rel) {
  /* O_NONBLOCK: a FIFO in the tree must not block the loop (it is refused below anyway). */
  const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
  const char *p = rel[0] ? rel : ".";
#if defined(__linux__) && defined(SYS_openat2)
  if (!c->no_openat2) {
    struct open_how how;
    memset(&how, 0, sizeof(how));
    how.flags = (uint64_t)flags;
    how.resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS;
    long fd;
    do fd = syscall(SYS_openat2, m->dirfd, p, &how, sizeof(how));
    while (fd < 0 && errno == EINTR);
    if (fd >= 0 || (errno != ENOSYS && errno != EPERM)) return (int)fd;
    /* ENOSYS (old kernel) or EPERM (seccomp): the portable way below. */
  }
#endif
  (void)c;
  char full[STATIC_PATH_MAX * 2 + 2];
  int n = snprintf(full, sizeof(full), "%s/%s", m->real, rel);
  if (n < 0 || (size_t)n >= sizeof(full)) return -1;
  char *real = realpath(full, NULL);
  if (!real) return -1;
  size_t rl = strlen(m->real);
  int inside = strncmp(real, m->real, rl) == 0 &&
               (real[rl] == '\0' || real[rl] == '/' || (rl == 1 && m->real[0] == '/'));
  int fd = inside ? open(real, flags | O_NOFOLLOW) : -1;
  free(real);
  return fd;
}

/* ---- conditional requests and headers ---- */

static spk_str_t header(const spk__exchange_t *ex, const char *name) {
  spk_str_t v = {NULL, 0};
  if (spk_req_header(&ex->req, name, &v) != SPK_OK) v = (spk_str_t){NULL, 0};
  return v;
}

typedef struct variant {
  int fd;
  struct stat st;
  const char *encoding; /* NULL: identity */
} variant_t;

static void etag_of(const variant_t *v, char *out, size_t cap) {
  uint64_t ns = (uint64_t)v->st.st_mtim.tv_sec * 1000000000u + (uint64_t)v->st.st_mtim.tv_nsec;
  snprintf(out, cap, "\"%llx-%llx-%llx%s%s\"", (unsigned long long)v->st.st_ino,
           (unsigned long long)v->st.st_size, (unsigned long long)ns, v->encoding ? "-" : "",
           v->encoding ? v->encoding : "");
}

/* The precompressed sibling to send instead of `base`: the fresh siblings present (never one
 * older than the file) are the candidate codings, and the compression middleware's negotiation
 * (proto/compress.c: q-values, "*", identity, ties br > zstd > gzip) picks among them. Sets
 * *vary when any sibling exists. */
static int pick_variant(const struct spk__mw_static *c, const mount_t *m, const char *rel,
                        size_t rel_len, const variant_t *base, const spk_accept_encoding_t *ae,
                        variant_t *out, int *vary) {
  static const struct {
    spk_coding_t coding;
    const char *ext;
  } codings[] = {{SPK_CODING_BR, ".br"}, {SPK_CODING_ZSTD, ".zst"}, {SPK_CODING_GZIP, ".gz"}};
  int fds[3] = {-1, -1, -1};
  struct stat sts[3];
  unsigned present = 0;
  char path[STATIC_PATH_MAX + 8];
  if (rel_len + 5 > sizeof(path)) return 0;
  memcpy(path, rel, rel_len);
  for (size_t i = 0; i < sizeof(codings) / sizeof(codings[0]); i++) {
    strcpy(path + rel_len, codings[i].ext);
    int fd = open_beneath(c, m, path);
    if (fd < 0) continue;
    if (fstat(fd, &sts[i]) != 0 || !S_ISREG(sts[i].st_mode) ||
        sts[i].st_mtim.tv_sec < base->st.st_mtim.tv_sec) {
      close(fd);
      continue;
    }
    fds[i] = fd;
    present |= SPK_CODING_BIT(codings[i].coding);
  }
  if (present) *vary = 1;
  spk_coding_t pick = present ? spk_accept_encoding_choose(ae, present) : SPK_CODING_IDENTITY;
  int chosen = 0;
  for (size_t i = 0; i < sizeof(codings) / sizeof(codings[0]); i++) {
    if (fds[i] < 0) continue;
    if (codings[i].coding == pick) {
      out->fd = fds[i];
      out->st = sts[i];
      out->encoding = spk_coding_name(pick);
      chosen = 1;
    } else {
      close(fds[i]);
    }
  }
  return chosen;
}

static int not_modified(const spk__exchange_t *ex, const char *etag, int64_t mtime) {
  spk_str_t inm = header(ex, "If-None-Match");
  if (inm.ptr) return spk_etag_match(inm.ptr, inm.len, etag, strlen(etag), 1);
  spk_str_t ims = header(ex, "If-Modified-Since");
  int64_t t;
  return ims.ptr && spk_http_date_parse(ims.ptr, ims.len, &t) == SPK_OK && mtime <= t;
}

static int precondition_failed(const spk__exchange_t *ex, const char *etag, int64_t mtime) {
  spk_str_t im = header(ex, "If-Match");
  if (im.ptr) return !spk_etag_match(im.ptr, im.len, etag, strlen(etag), 0);
  spk_str_t ius = header(ex, "If-Unmodified-Since");
  int64_t t;
  return ius.ptr && spk_http_date_parse(ius.ptr, ius.len, &t) == SPK_OK && mtime > t;
}

/* If-Range: the Range applies only when the validator still matches (a strong ETag, or the
 * exact Last-Modified date). */
static int if_range_ok(const spk__exchange_t *ex, const char *etag, const char *last_mod) {
  spk_str_t ir = header(ex, "If-Range");
  if (!ir.ptr) return 1;
  if (ir.len && (ir.ptr[0] == '"' || ir.ptr[0] == 'W'))
    return spk_etag_match(ir.ptr, ir.len, etag, strlen(etag), 0);
  return ir.len == strlen(last_mod) && memcmp(ir.ptr, last_mod, ir.len) == 0;
}

/* Read [off, off + len) into the response body (small files). */
static int read_body(spk_res_t *res, int fd, uint64_t off, size_t len) {
  char *buf = spk__malloc(len ? len : 1);
  if (!buf) return SPK_ENOMEM;
  size_t got = 0;
  while (got < len) {
    ssize_t n = pread(fd, buf + got, len - got, (off_t)(off + got));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += (size_t)n;
  }
  int rc = got == len ? spk_res_body(res, buf, len) : SPK_EIO;
  spk__free(buf);
  return rc;
}

static int respond_problem(spk__exchange_t *ex, int status, const char *slug, const char *title,
                           const char *detail) {
  spk__res_problem_reset(&ex->res, status, slug, title, detail);
  ex->origin = SPK__ORIGIN_ERROR;
  return SPK__STEP_RESPOND;
}

/* Serve the open regular file `fd` (ownership taken). */
static int serve_file(spk__exchange_t *ex, const struct spk__mw_static *c, const mount_t *m,
                      const char *rel, size_t rel_len, int fd, const struct stat *st) {
  spk_res_t *res = &ex->res;
  variant_t v = {fd, *st, NULL};
  int vary = 0;
  spk_accept_encoding_t ae;
  spk_accept_encoding_init(&ae);
  spk_str_t aev;
  for (size_t n = 0; spk_req_header_id(&ex->req, SPK_HEADER_ACCEPT_ENCODING, n, &aev) == SPK_OK;
       n++)
    spk_accept_encoding_parse(&ae, aev.ptr, aev.len);
  if (m->precompressed && ae.present) {
    variant_t alt = {-1, {0}, NULL};
    if (pick_variant(c, m, rel, rel_len, &v, &ae, &alt, &vary)) {
      close(fd);
      v = alt;
    }
  }
  char etag[96], last_mod[30];
  etag_of(&v, etag, sizeof(etag));
  int64_t mtime = (int64_t)v.st.st_mtim.tv_sec;
  spk_http_date_format(mtime, last_mod);
  const char *type = spk_fs_content_type(rel, rel_len);
  uint64_t size = (uint64_t)v.st.st_size;

  if (precondition_failed(ex, etag, mtime)) {
    close(v.fd);
    return respond_problem(ex, 412, "precondition-failed", "Precondition Failed",
                           "The representation does not match the request's preconditions");
  }
  int rc = spk_res_header(res, "ETag", etag);
  if (!rc) rc = spk_res_header(res, "Last-Modified", last_mod);
  if (!rc && m->cache_control) rc = spk_res_header(res, "Cache-Control", m->cache_control);
  if (!rc && vary) rc = spk_res_header(res, "Vary", "Accept-Encoding");
  if (!rc && not_modified(ex, etag, mtime)) {
    close(v.fd);
    spk_res_status(res, 304);
    ex->origin = SPK__ORIGIN_HANDLER;
    return SPK__STEP_RESPOND;
  }
  if (!rc) rc = spk_res_header(res, "Content-Type", type);
  if (!rc && v.encoding) rc = spk_res_header(res, "Content-Encoding", v.encoding);
  if (!rc) rc = spk_res_header(res, "Accept-Ranges", "bytes");
  uint64_t first = 0, len = size;
  int status = 200;
  spk_str_t range = header(ex, "Range");
  if (!rc && range.ptr && ex->req.method == SPK_METHOD_GET && if_range_ok(ex, etag, last_mod)) {
    uint64_t a, b;
    switch (spk_range_parse(range.ptr, range.len, size, &a, &b)) {
      case SPK_RANGE_OK: {
        char cr[80];
        snprintf(cr, sizeof(cr), "bytes %llu-%llu/%llu", (unsigned long long)a,
                 (unsigned long long)b, (unsigned long long)size);
        rc = spk_res_header(res, "Content-Range", cr);
        first = a;
        len = b - a + 1;
        status = 206;
        break;
      }
      case SPK_RANGE_UNSAT: {
        close(v.fd);
        respond_problem(ex, 416, "range-not-satisfiable", "Range Not Satisfiable",
                        "No requested range overlaps the representation");
        char cr[40];
        snprintf(cr, sizeof(cr), "bytes */%llu", (unsigned long long)size);
        spk_res_header(res, "Content-Range", cr);
        return SPK__STEP_RESPOND;
      }
      default: /* syntax we ignore, or several ranges: the whole representation */
        break;
    }
  }
  if (!rc) rc = spk_res_status(res, status);
  if (!rc) {
    if (ex->req.method == SPK_METHOD_GET && len <= STATIC_INLINE_MAX) {
      rc = read_body(res, v.fd, first, (size_t)len);
      close(v.fd);
    } else {
      rc = spk__res_file_body(res, v.fd, first, len); /* HEAD: Content-Length, no read */
    }
  } else {
    close(v.fd);
  }
  if (rc) return respond_problem(ex, 500, "internal-server-error", "Internal Server Error",
                                 "The file could not be read");
  ex->origin = SPK__ORIGIN_HANDLER;
  return SPK__STEP_RESPOND;
}

/* 307 to the same path with a trailing slash (a directory asked without it, so that relative
 * links in its index resolve inside it). */
static int redirect_slash(spk__exchange_t *ex) {
  spk_req_t *req = &ex->req;
  size_t n = req->raw_path.len + 2 + req->query_string.len;
  char *loc = spk__arena_alloc(&ex->arena, n + 1);
  if (!loc) return respond_problem(ex, 500, "internal-server-error", "Internal Server Error", NULL);
  size_t o = 0;
  memcpy(loc, req->raw_path.ptr, req->raw_path.len);
  o = req->raw_path.len;
  loc[o++] = '/';
  if (req->query_string.len) {
    loc[o++] = '?';
    memcpy(loc + o, req->query_string.ptr, req->query_string.len);
    o += req->query_string.len;
  }
  loc[o] = '\0';
  spk_res_status(&ex->res, 307);
  spk_res_header(&ex->res, "Location", loc);
  ex->origin = SPK__ORIGIN_HANDLER;
  return SPK__STEP_RESPOND;
}

/* Try one mount: RESPOND, or NEXT when it has nothing for this path. */
static int serve_mount(spk__exchange_t *ex, const struct spk__mw_static *c, const mount_t *m,
                       const char *rest, size_t rest_len) {
  char rel[STATIC_PATH_MAX + 16];
  size_t rel_len;
  int dir;
  if (spk_fs_path(rest, rest_len, rel, STATIC_PATH_MAX, &rel_len, &dir) != SPK_OK)
    return SPK__STEP_NEXT;
  if (rest_len == 0) dir = 0; /* "/static" itself: redirected to "/static/" below */
  int fd = open_beneath(c, m, rel);
  if (fd < 0) return SPK__STEP_NEXT;
  struct stat st;
  if (fstat(fd, &st) != 0) {
    close(fd);
    return SPK__STEP_NEXT;
  }
  if (S_ISDIR(st.st_mode)) {
    close(fd);
    if (!m->index_file) return SPK__STEP_NEXT;
    if (!dir) return redirect_slash(ex);
    static const char index[] = "index.html";
    if (rel_len) rel[rel_len++] = '/';
    memcpy(rel + rel_len, index, sizeof(index));
    rel_len += sizeof(index) - 1;
    fd = open_beneath(c, m, rel);
    if (fd < 0) return SPK__STEP_NEXT;
    if (fstat(fd, &st) != 0) {
      close(fd);
      return SPK__STEP_NEXT;
    }
  } else if (dir) { /* "file.txt/": not a directory */
    close(fd);
    return SPK__STEP_NEXT;
  }
  if (!S_ISREG(st.st_mode)) { /* FIFOs, devices, sockets are never served */
    close(fd);
    return SPK__STEP_NEXT;
  }
  return serve_file(ex, c, m, rel, rel_len, fd, &st);
}

int spk__mw_static_serve(spk__exchange_t *ex, const struct spk__mw_static *c) {
  const spk_str_t p = ex->req.raw_path;
  for (size_t i = 0; i < c->count; i++) {
    const mount_t *m = &c->mounts[i];
    if (p.len < m->prefix_len || memcmp(p.ptr, m->prefix, m->prefix_len) != 0) continue;
    if (p.len > m->prefix_len && p.ptr[m->prefix_len] != '/') continue; /* "/staticx" */
    int r = serve_mount(ex, c, m, p.ptr + m->prefix_len, p.len - m->prefix_len);
    if (r != SPK__STEP_NEXT) return r;
  }
  return SPK__STEP_NEXT;
}
