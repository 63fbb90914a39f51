/* Fixture runner — finding, reading and classifying fixtures.
 *
 * A fixture directory holds one sub-directory per category, each with one JSON object per file
 * (`schema.json` describes the format and is not a fixture; `*.json.disabled` is excluded).
 * Every fixture is parsed with the project's own JSON parser. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fx.h"

/* Categories that are not REST request/response fixtures: counted as not run. (sse/ and
 * websockets/ are loaded: websockets/ AsyncAPI message files run through fx_ws.c; sse/ ones
 * have no request/expected_response and end up not run; our REST-shaped sse ones are pending
 * below.) */
static const char *const fx_not_rest[] = {
    "graphql", "protobuf", "jsonrpc", "asyncapi_schemas", "openapi_schemas", "openrpc_schemas",
    "schemas", "sql_handlers",
};

/* Features the project does not have yet. A fixture that uses one is reported PENDING with the
 * feature's name, never run and never counted as failed. Shrink this table as features land.
 *   where: 'm' = key of handler.middleware, 'h' = key of handler, 't' = top-level key of the
 *          fixture, 'c' = the whole category, 'n' = the category `key` when handler.middleware
 *          has no `key` section. */
static const struct fx_pending_feature {
  char where;
  const char *key;
  const char *feature;
} fx_pending[] = {
    {'h', "health_check", "health check"},
    /* External request_id/02 expects propagation with no request_id section, but the
     * reference's default is off (enable_request_id = false) and so is ours. */
    {'n', "request_id", "request id without a request_id section (the reference default is off)"},
};

const spk_json_value_t *fx_get(const spk_json_value_t *obj, const char *key) {
  if (!obj || obj->type != SPK_JSON_OBJECT) return NULL;
  return spk_json_get(obj, key, strlen(key));
}

const char *fx_get_str(const spk_json_value_t *obj, const char *key) {
  const spk_json_value_t *v = fx_get(obj, key);
  return v && v->type == SPK_JSON_STRING ? v->u.string.ptr : NULL;
}

int fx_is(const spk_json_value_t *v, spk_json_type_t t) { return v && v->type == t; }

char *fx_json_text(spk__arena_t *a, const spk_json_value_t *v, size_t *len) {
  spk__buf_t b = {0};
  char *out = NULL;
  if (spk_json_write(&b, v, 0) == SPK_OK) out = spk__arena_strndup(a, b.data ? b.data : "", b.len);
  if (out && len) *len = b.len;
  spk__buf_free(&b);
  return out;
}

/* ---- templates: {{ repeat 'x' N times }} ---- */

/* Parse one template at s (which starts with "{{"). On success sets the unit and count and
 * returns the template's length; 0 when s is not a template. */
static size_t parse_template(const char *s, size_t len, const char **unit, size_t *unit_len,
                             size_t *count) {
  size_t i = 2;
#define SKIP_WS()                                                  \
  while (i < len && (s[i] == ' ' || s[i] == '\t')) i++
#define EXPECT(lit)                                                \
  do {                                                             \
    size_t l_ = strlen(lit);                                       \
    if (len - i < l_ || memcmp(s + i, lit, l_) != 0) return 0;     \
    i += l_;                                                       \
  } while (0)
  SKIP_WS();
  EXPECT("repeat");
  SKIP_WS();
  if (i >= len || (s[i] != '\'' && s[i] != '"')) return 0;
  char q = s[i++];
  size_t u0 = i;
  while (i < len && s[i] != q) i++;
  if (i >= len) return 0;
  *unit = s + u0;
  *unit_len = i - u0;
  i++;
  SKIP_WS();
  size_t n = 0, digits = 0;
  while (i < len && s[i] >= '0' && s[i] <= '9' && digits < 9) n = n * 10 + (size_t)(s[i++] - '0'), digits++;
  if (!digits) return 0;
  SKIP_WS();
  EXPECT("times");
  SKIP_WS();
  EXPECT("}}");
#undef SKIP_WS
#undef EXPECT
  *count = n;
  return i;
}

const char *fx_expand(spk__arena_t *a, const char *s, size_t len, size_t *out_len) {
  *out_len = len;
  if (!s || len < 4 || !memmem(s, len, "{{", 2)) return s;
  spk__buf_t b = {0};
  int changed = 0;
  for (size_t i = 0; i < len;) {
    const char *unit;
    size_t unit_len, count, tl;
    if (s[i] == '{' && i + 1 < len && s[i + 1] == '{' &&
        (tl = parse_template(s + i, len - i, &unit, &unit_len, &count)) != 0) {
      for (size_t k = 0; k < count; k++) spk__buf_append(&b, unit, unit_len);
      i += tl;
      changed = 1;
    } else {
      spk__buf_append_char(&b, s[i++]);
    }
  }
  const char *out = s;
  if (changed) {
    char *copy = spk__arena_strndup(a, b.data ? b.data : "", b.len);
    if (copy) {
      out = copy;
      *out_len = b.len;
    }
  }
  spk__buf_free(&b);
  return out;
}

void fx_expand_dom(spk__arena_t *a, spk_json_value_t *v) {
  if (!v) return;
  switch (v->type) {
  case SPK_JSON_STRING: {
    size_t n;
    const char *s = fx_expand(a, v->u.string.ptr, v->u.string.len, &n);
    v->u.string.ptr = s;
    v->u.string.len = n;
    break;
  }
  case SPK_JSON_ARRAY:
    for (size_t i = 0; i < v->u.array.len; i++) fx_expand_dom(a, v->u.array.items[i]);
    break;
  case SPK_JSON_OBJECT:
    for (size_t i = 0; i < v->u.object.len; i++) fx_expand_dom(a, v->u.object.members[i].value);
    break;
  default:
    break;
  }
}

/* ---- classification ---- */

static char *xstrdup(const char *s) {
  size_t n = strlen(s);
  char *p = malloc(n + 1);
  if (p) memcpy(p, s, n + 1);
  return p;
}

static char *xprintf_msg(const char *a, const char *b) {
  size_t n = strlen(a) + strlen(b) + 1;
  char *p = malloc(n);
  if (p) snprintf(p, n, "%s%s", a, b);
  return p;
}

static void classify(fx_fixture_t *fx) {
  const spk_json_value_t *root = fx->root;
  if (!fx_is(root, SPK_JSON_OBJECT)) {
    fx->state = FX_NOT_RUN;
    fx->why = xstrdup("not a REST fixture (not a JSON object)");
    return;
  }
  const spk_json_value_t *skip = fx_get(root, "skip");
  if (skip && (skip->type == SPK_JSON_OBJECT ||
               (skip->type == SPK_JSON_BOOL && skip->u.boolean))) {
    const char *r = fx_get_str(root, "skip_reason");
    fx->state = FX_NOT_RUN;
    fx->why = xprintf_msg("skipped by the fixture: ", r ? r : "(no reason)");
    return;
  }
  fx->request = fx_get(root, "request");
  fx->expected = fx_get(root, "expected_response");
  fx->handler = fx_get(root, "handler");
  if (fx_ws_is_message_fixture(fx)) {
    fx->state = FX_RUNNABLE;
    return;
  }
  if (!fx->request && !fx->expected) fx_asyncapi_sse(fx); /* sse/ message files */
  if (!fx_is(fx->request, SPK_JSON_OBJECT) || !fx_is(fx->expected, SPK_JSON_OBJECT)) {
    fx->state = FX_NOT_RUN;
    fx->why = xstrdup("not a REST fixture (no request/expected_response)");
    return;
  }
  if (fx->handler && fx->handler->type != SPK_JSON_OBJECT) fx->handler = NULL;
  const spk_json_value_t *st = fx_get(fx->expected, "status_code");
  if (!fx_is(st, SPK_JSON_INT) || st->u.integer < 100 || st->u.integer > 999) {
    fx->state = FX_NOT_RUN;
    fx->why = xstrdup("not a REST fixture (status_code is not an HTTP status)");
    return;
  }
  fx->expected_status = (int)st->u.integer;
  if (!fx_get_str(fx->request, "path") || !fx_get_str(fx->request, "method")) {
    fx->state = FX_BROKEN;
    fx->why = xstrdup("request.path or request.method missing");
    return;
  }
  const spk_json_value_t *mw = fx_get(fx->handler, "middleware");
  for (size_t i = 0; i < sizeof(fx_pending) / sizeof(fx_pending[0]); i++) {
    const struct fx_pending_feature *p = &fx_pending[i];
    int hit = 0;
    switch (p->where) {
    case 'm': hit = fx_get(mw, p->key) != NULL; break;
    case 'h': hit = fx_get(fx->handler, p->key) != NULL; break;
    case 't': hit = fx_get(root, p->key) != NULL; break;
    case 'c': hit = strcmp(fx->category, p->key) == 0; break;
    case 'n': hit = strcmp(fx->category, p->key) == 0 && !fx_get(mw, p->key); break;
    default: break;
    }
    if (hit) {
      fx->state = FX_PENDING;
      fx->why = xstrdup(p->feature);
      return;
    }
  }
  /* Expand {{ repeat … }} templates in everything we send. */
  fx_expand_dom(&fx->arena, (spk_json_value_t *)fx->request);
  fx->state = FX_RUNNABLE;
}

static int is_not_rest(const char *category) {
  for (size_t i = 0; i < sizeof(fx_not_rest) / sizeof(fx_not_rest[0]); i++)
    if (strcmp(category, fx_not_rest[i]) == 0) return 1;
  return 0;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted names of entries in dir that are directories (want_dirs) or regular files. */
static char **list_dir(const char *dir, int want_dirs, size_t *count) {
  *count = 0;
  DIR *d = opendir(dir);
  if (!d) return NULL;
  char **names = NULL;
  size_t cap = 0;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    size_t plen = strlen(dir) + strlen(e->d_name) + 2;
    char *full = malloc(plen);
    if (!full) continue;
    snprintf(full, plen, "%s/%s", dir, e->d_name);
    struct stat st;
    int ok = stat(full, &st) == 0 && (want_dirs ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode));
    free(full);
    if (!ok) continue;
    if (*count == cap) {
      cap = cap ? cap * 2 : 32;
      char **n = realloc(names, cap * sizeof(*names));
      if (!n) break;
      names = n;
    }
    names[(*count)++] = xstrdup(e->d_name);
  }
  closedir(d);
  if (names) qsort(names, *count, sizeof(*names), cmp_str);
  return names;
}

static void free_names(char **names, size_t n) {
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}

static int list_push(fx_list_t *l, fx_fixture_t *fx) {
  if (l->len == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 64;
    fx_fixture_t **n = realloc(l->items, cap * sizeof(*n));
    if (!n) return -1;
    l->items = n;
    l->cap = cap;
  }
  l->items[l->len++] = fx;
  return 0;
}

static fx_fixture_t *fixture_new(const char *dir, const char *category, const char *file) {
  fx_fixture_t *fx = calloc(1, sizeof(*fx));
  if (!fx) return NULL;
  size_t flen = strlen(dir) + strlen(category) + strlen(file) + 3;
  fx->file = malloc(flen);
  size_t stem = strlen(file) - (ends_with(file, ".json") ? 5 : 0);
  size_t ilen = strlen(category) + stem + 2;
  fx->id = malloc(ilen);
  fx->category = xstrdup(category);
  if (!fx->file || !fx->id || !fx->category) {
    free(fx->file);
    free(fx->id);
    free(fx->category);
    free(fx);
    return NULL;
  }
  snprintf(fx->file, flen, "%s/%s/%s", dir, category, file);
  snprintf(fx->id, ilen, "%s/%.*s", category, (int)stem, file);
  spk__arena_init(&fx->arena, 16384);
  return fx;
}

static void load_file(fx_fixture_t *fx) {
  FILE *f = fopen(fx->file, "rb");
  if (!f) {
    fx->state = FX_BROKEN;
    fx->why = xprintf_msg("cannot open: ", strerror(errno));
    return;
  }
  spk__buf_t b = {0};
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) spk__buf_append(&b, chunk, n);
  fclose(f);
  spk_json_parse_options_t opts = {.max_depth = 4096, .dup_keys = SPK_JSON_DUP_LAST_WINS};
  spk_json_error_t jerr;
  memset(&jerr, 0, sizeof(jerr));
  int rc = spk_json_parse(&fx->arena, b.data ? b.data : "", b.len, &opts, &fx->root, &jerr);
  spk__buf_free(&b);
  if (rc != SPK_OK) {
    char msg[256];
    snprintf(msg, sizeof(msg), "JSON parse error (%s) at line %zu column %zu: %s",
             spk_err_name(rc), jerr.line, jerr.column, jerr.message ? jerr.message : "?");
    fx->state = FX_BROKEN;
    fx->why = xstrdup(msg);
    fx->root = NULL;
    return;
  }
  classify(fx);
}

int fx_load_dir(const char *dir, const char *const *categories, size_t ncat, fx_list_t *out) {
  size_t ncats;
  struct stat st;
  if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
    fprintf(stderr, "spk-fixtures: %s: not a directory\n", dir);
    return -1;
  }
  char **cats = list_dir(dir, 1, &ncats);
  for (size_t c = 0; c < ncats; c++) {
    if (ncat) {
      size_t k = 0;
      while (k < ncat && strcmp(categories[k], cats[c]) != 0) k++;
      if (k == ncat) continue;
    }
    size_t plen = strlen(dir) + strlen(cats[c]) + 2;
    char *cdir = malloc(plen);
    if (!cdir) continue;
    snprintf(cdir, plen, "%s/%s", dir, cats[c]);
    size_t nfiles;
    char **files = list_dir(cdir, 0, &nfiles);
    free(cdir);
    int not_rest = is_not_rest(cats[c]);
    for (size_t i = 0; i < nfiles; i++) {
      if (!ends_with(files[i], ".json") || strcmp(files[i], "schema.json") == 0) continue;
      fx_fixture_t *fx = fixture_new(dir, cats[c], files[i]);
      if (!fx) continue;
      if (not_rest) {
        fx->state = FX_NOT_RUN;
        fx->why = xstrdup("not REST");
      } else {
        load_file(fx);
      }
      if (list_push(out, fx) != 0) fx_fixture_free(fx);
    }
    free_names(files, nfiles);
  }
  free_names(cats, ncats);
  return 0;
}

void fx_fixture_free(fx_fixture_t *fx) {
  if (!fx) return;
  spk__arena_free(&fx->arena);
  free(fx->id);
  free(fx->category);
  free(fx->file);
  free(fx->why);
  free(fx);
}

void fx_list_free(fx_list_t *list) {
  for (size_t i = 0; i < list->len; i++) fx_fixture_free(list->items[i]);
  free(list->items);
  memset(list, 0, sizeof(*list));
}
