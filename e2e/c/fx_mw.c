/* Fixture runner — handler.middleware → the core's spk_app_configure document.
 *
 * The fixture sections mostly are the core's sections. What differs is listed in `sections`:
 * a section the runner plays itself (lifecycle_hooks: fx_hooks.c) is dropped, and a section
 * with runner directives (warm-up requests, handler sleeps, files to materialize) goes through
 * its translator, which returns the core's part of it. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fx.h"

/* Returns the JSON text of the core section (arena), "" to drop it, NULL + err on failure. */
typedef const char *(*fx_section_fn)(fx_fixture_t *fx, const spk_json_value_t *v, char *err,
                                     size_t errlen);

static const char *drop(fx_fixture_t *fx, const spk_json_value_t *v, char *err, size_t errlen) {
  (void)fx, (void)v, (void)err, (void)errlen;
  return "";
}

/* request_timeout: the core's part; sleep_ms is the handler's (fx_app.c). */
static const char *request_timeout(fx_fixture_t *fx, const spk_json_value_t *v, char *err,
                                   size_t errlen) {
  (void)err, (void)errlen;
  const spk_json_value_t *sec = fx_get(v, "seconds");
  if (!sec) return fx_json_text(&fx->arena, v, NULL);
  char *text = fx_json_text(&fx->arena, sec, NULL);
  char *out = text ? spk__arena_alloc(&fx->arena, strlen(text) + 16) : NULL;
  if (out) sprintf(out, "{\"seconds\":%s}", text);
  return out;
}

/* ---- static_files: materialize `files` into a fresh directory per app ---- */

static int b64val(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

static int b64_decode(spk__buf_t *out, const char *s) {
  unsigned acc = 0;
  int bits = 0;
  for (; *s && *s != '='; s++) {
    int v = b64val(*s);
    if (v < 0) return -1;
    acc = (acc << 6) | (unsigned)v;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      if (spk__buf_append_char(out, (char)((acc >> bits) & 0xff))) return -1;
    }
  }
  return 0;
}

/* mkdir -p for the parents of root/rel. */
static int make_parents(const char *root, const char *rel) {
  char path[8200];
  int n = snprintf(path, sizeof(path), "%s/%s", root, rel);
  if (n < 0 || (size_t)n >= sizeof(path)) return -1;
  for (char *p = path + strlen(root) + 1; *p; p++) {
    if (*p != '/') continue;
    *p = '\0';
    if (mkdir(path, 0755) != 0 && errno != EEXIST) return -1;
    *p = '/';
  }
  return 0;
}

/* One file item: {path, content} | {path, content_base64} | {path, symlink} (a symbolic link
 * to `symlink`, relative to the link or absolute — to test links inside and out of the root) |
 * {path, directory: true} (an empty directory); `mtime` (unix seconds) sets a file's
 * modification time. */
static int write_item(const char *root, const spk_json_value_t *f, char *err, size_t errlen) {
  const char *rel = fx_get_str(f, "path");
  if (!rel || !rel[0] || rel[0] == '/' || strstr(rel, "..")) {
    snprintf(err, errlen, "static_files: bad file path");
    return -1;
  }
  char path[8200];
  snprintf(path, sizeof(path), "%s/%s", root, rel);
  if (make_parents(root, rel) != 0) {
    snprintf(err, errlen, "static_files: cannot create the parents of %s", rel);
    return -1;
  }
  const char *link = fx_get_str(f, "symlink");
  if (link) {
    if (symlink(link, path) != 0) {
      snprintf(err, errlen, "static_files: symlink %s: %s", rel, strerror(errno));
      return -1;
    }
    return 0;
  }
  const spk_json_value_t *isdir = fx_get(f, "directory");
  if (fx_is(isdir, SPK_JSON_BOOL) && isdir->u.boolean)
    return mkdir(path, 0755) == 0 || errno == EEXIST ? 0 : -1;
  const spk_json_value_t *content = fx_get(f, "content");
  const char *b64 = fx_get_str(f, "content_base64");
  spk__buf_t bytes = {0};
  if (fx_is(content, SPK_JSON_STRING))
    spk__buf_append(&bytes, content->u.string.ptr, content->u.string.len);
  else if (!b64 || b64_decode(&bytes, b64) != 0) {
    spk__buf_free(&bytes);
    snprintf(err, errlen, "static_files: %s needs content, content_base64 or symlink", rel);
    return -1;
  }
  FILE *fp = fopen(path, "wb");
  int ok = fp && fwrite(bytes.data ? bytes.data : "", 1, bytes.len, fp) == bytes.len;
  if (fp && fclose(fp) != 0) ok = 0;
  spk__buf_free(&bytes);
  if (!ok) {
    snprintf(err, errlen, "static_files: cannot write %s", rel);
    return -1;
  }
  const spk_json_value_t *mtime = fx_get(f, "mtime"); /* Last-Modified scenarios */
  if (fx_is(mtime, SPK_JSON_INT)) {
    struct timespec ts[2] = {{(time_t)mtime->u.integer, 0}, {(time_t)mtime->u.integer, 0}};
    if (utimensat(AT_FDCWD, path, ts, 0) != 0) {
      snprintf(err, errlen, "static_files: mtime of %s: %s", rel, strerror(errno));
      return -1;
    }
  }
  return 0;
}

/* Each mount: its files written under a fresh temporary directory, then the core's mount
 * ({directory, route_prefix, index_file?, cache_control?, precompressed?}). */
static const char *static_files(fx_fixture_t *fx, const spk_json_value_t *v, char *err,
                                size_t errlen) {
  if (!fx_is(v, SPK_JSON_ARRAY)) {
    snprintf(err, errlen, "static_files must be a list");
    return NULL;
  }
  if (fx->ntmpdirs == sizeof(fx->tmpdirs) / sizeof(fx->tmpdirs[0])) {
    snprintf(err, errlen, "static_files: too many temporary directories");
    return NULL;
  }
  char tmpl[] = "/tmp/spk-static-XXXXXX";
  if (!mkdtemp(tmpl)) {
    snprintf(err, errlen, "static_files: mkdtemp: %s", strerror(errno));
    return NULL;
  }
  char *tmp = spk__arena_strndup(&fx->arena, tmpl, strlen(tmpl));
  if (!tmp) return NULL;
  fx->tmpdirs[fx->ntmpdirs++] = tmp;
  spk__buf_t b = {0};
  spk__buf_append_char(&b, '[');
  for (size_t i = 0; i < v->u.array.len; i++) {
    const spk_json_value_t *m = v->u.array.items[i];
    const char *name = fx_get_str(m, "directory_name");
    char root[512];
    snprintf(root, sizeof(root), "%s/%zu-%.200s", tmp, i,
             name && !strchr(name, '/') ? name : "public");
    if (mkdir(root, 0755) != 0) {
      snprintf(err, errlen, "static_files: mkdir %s: %s", root, strerror(errno));
      spk__buf_free(&b);
      return NULL;
    }
    const spk_json_value_t *files = fx_get(m, "files");
    for (size_t k = 0; fx_is(files, SPK_JSON_ARRAY) && k < files->u.array.len; k++)
      if (write_item(root, files->u.array.items[k], err, errlen) != 0) {
        spk__buf_free(&b);
        return NULL;
      }
    if (i) spk__buf_append_char(&b, ',');
    spk__buf_append_str(&b, "{\"directory\":\"");
    spk__buf_append_str(&b, root); /* /tmp/spk-static-XXXXXX/N-name: nothing to escape */
    spk__buf_append_char(&b, '"');
    for (size_t k = 0; k < m->u.object.len; k++) {
      const char *key = m->u.object.members[k].key.ptr;
      if (!strcmp(key, "files") || !strcmp(key, "directory_name")) continue;
      spk__buf_append_str(&b, ",\"");
      spk__buf_append_str(&b, key);
      spk__buf_append_str(&b, "\":");
      spk__buf_append_str(&b, fx_json_text(&fx->arena, m->u.object.members[k].value, NULL));
    }
    spk__buf_append_char(&b, '}');
  }
  spk__buf_append_char(&b, ']');
  const char *out = spk__arena_strndup(&fx->arena, b.data, b.len);
  spk__buf_free(&b);
  return out;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

void fx_mw_cleanup(fx_fixture_t *fx) {
  for (size_t i = 0; i < fx->ntmpdirs; i++)
    nftw(fx->tmpdirs[i], rm_entry, 16, FTW_DEPTH | FTW_PHYS); /* links removed, not followed */
  fx->ntmpdirs = 0;
}

/* rate_limit: warmup_requests, warmup_expect_status and sleep_ms_between are played by the
 * runner (fixture_runner.c play_warmup); the rest is the core's section. */
static const char *rate_limit(fx_fixture_t *fx, const spk_json_value_t *v, char *err,
                              size_t errlen) {
  static const char *const directives[] = {"warmup_requests", "warmup_expect_status",
                                           "sleep_ms_between"};
  if (!fx_is(v, SPK_JSON_OBJECT)) return fx_json_text(&fx->arena, v, NULL);
  spk__buf_t b = {0};
  size_t kept = 0;
  spk__buf_append_char(&b, '{');
  for (size_t i = 0; i < v->u.object.len; i++) {
    const spk_json_member_t *m = &v->u.object.members[i];
    int directive = 0;
    for (size_t k = 0; k < sizeof(directives) / sizeof(directives[0]); k++)
      directive |= strcmp(m->key.ptr, directives[k]) == 0;
    if (directive) continue;
    if (kept++) spk__buf_append_char(&b, ',');
    spk_json_write_string(&b, m->key.ptr, m->key.len);
    spk__buf_append_char(&b, ':');
    const char *t = fx_json_text(&fx->arena, m->value, NULL);
    spk__buf_append_str(&b, t ? t : "null");
  }
  spk__buf_append_char(&b, '}');
  const char *out = spk__arena_strndup(&fx->arena, b.data, b.len);
  spk__buf_free(&b);
  if (!out) snprintf(err, errlen, "out of memory");
  return out;
}

static const struct {
  const char *key;
  fx_section_fn fn; /* NULL: passed through as is */
} sections[] = {
    {"lifecycle_hooks", drop}, /* fx_hooks.c */
    {"body_limit", drop},      /* a route section: fx_app.c */
    {"request_timeout", request_timeout},
    {"static_files", static_files},
    {"rate_limit", rate_limit},
};

const char *fx_mw_config(fx_fixture_t *fx, const spk_json_value_t *mw, char *err,
                         size_t errlen) {
  spk__arena_t *a = &fx->arena;
  spk__buf_t b = {0};
  size_t kept = 0;
  spk__buf_append_char(&b, '{');
  for (size_t i = 0; i < mw->u.object.len; i++) {
    const spk_json_member_t *m = &mw->u.object.members[i];
    const char *text = NULL;
    fx_section_fn fn = NULL;
    for (size_t k = 0; k < sizeof(sections) / sizeof(sections[0]); k++)
      if (strcmp(m->key.ptr, sections[k].key) == 0) fn = sections[k].fn;
    if (fn) {
      text = fn(fx, m->value, err, errlen);
      if (!text) {
        spk__buf_free(&b);
        return NULL;
      }
      if (!text[0]) continue;
    } else {
      text = fx_json_text(a, m->value, NULL);
    }
    if (kept++) spk__buf_append_char(&b, ',');
    spk__buf_append_char(&b, '"');
    spk__buf_append_str(&b, m->key.ptr);
    spk__buf_append_str(&b, "\":");
    spk__buf_append_str(&b, text ? text : "null");
  }
  spk__buf_append_char(&b, '}');
  const char *out = kept ? spk__arena_strndup(a, b.data, b.len) : "";
  spk__buf_free(&b);
  if (!out) snprintf(err, errlen, "out of memory");
  return out;
}
