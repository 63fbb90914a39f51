/* JSON-Schema-Test-Suite runner: argv[1] is the shared directory (…/shared); the suite lives in
 * conformance/json-schema-test-suite and the official meta-schemas in
 * conformance/json-schema-metaschemas. Skips (exit 0) when the suite is absent.
 *
 * Every remote (everything under remotes/) is registered as http://localhost:1234/<path>, every meta-schema
 * under its $id. Each test is validated twice — collecting errors and "valid?" only — and both
 * answers must agree with the expectation (and an invalid answer must come with errors).
 * Required tests of both drafts must all pass: the exit status says whether they did. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proto/json.h"
#include "proto/schema.h"
#include "util/arena.h"

#define MAX_SHOWN_FAILURES 60

typedef struct counts {
  int pass, fail;
} counts_t;

static spk__arena_t g_docs; /* parsed files live as long as the run */
static int g_shown;

static char *read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) != 0) {
    fclose(f);
    return NULL;
  }
  long sz = ftell(f);
  if (sz < 0 || fseek(f, 0, SEEK_SET) != 0) {
    fclose(f);
    return NULL;
  }
  char *buf = malloc((size_t)sz + 1);
  if (!buf) {
    fclose(f);
    return NULL;
  }
  size_t got = fread(buf, 1, (size_t)sz, f);
  fclose(f);
  buf[got] = '\0';
  *len = got;
  return buf;
}

static spk_json_value_t *parse_file(const char *path) {
  size_t len;
  char *buf = read_file(path, &len);
  if (!buf) {
    fprintf(stderr, "cannot read %s\n", path);
    return NULL;
  }
  spk_json_parse_options_t po = {1000, SPK_JSON_DUP_LAST_WINS};
  spk_json_value_t *v = NULL;
  spk_json_error_t err;
  if (spk_json_parse(&g_docs, buf, len, &po, &v, &err) != 0) {
    fprintf(stderr, "%s: JSON error at line %zu column %zu: %s\n", path, err.line, err.column,
            err.message ? err.message : "?");
    v = NULL;
  }
  free(buf);
  return v;
}

/* out = a + b + c, or "" when it does not fit. */
static void join3(char *out, size_t cap, const char *a, const char *b, const char *c) {
  size_t la = strlen(a), lb = strlen(b), lc = strlen(c);
  if (la + lb + lc + 1 > cap) {
    out[0] = '\0';
    return;
  }
  memcpy(out, a, la);
  memcpy(out + la, b, lb);
  memcpy(out + la + lb, c, lc + 1);
}

static int is_dir(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static int ends_with(const char *s, const char *suffix) {
  size_t a = strlen(s), b = strlen(suffix);
  return a >= b && strcmp(s + a - b, suffix) == 0;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Sorted entry names of a directory (caller frees). */
static char **list_dir(const char *path, size_t *count) {
  *count = 0;
  DIR *d = opendir(path);
  if (!d) return NULL;
  size_t cap = 16, n = 0;
  char **names = malloc(cap * sizeof(*names));
  struct dirent *e;
  while (names && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (n == cap) {
      cap *= 2;
      char **nn = realloc(names, cap * sizeof(*names));
      if (!nn) break;
      names = nn;
    }
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  if (names) qsort(names, n, sizeof(*names), cmp_names);
  *count = n;
  return names;
}

static void free_list(char **names, size_t n) {
  for (size_t i = 0; i < n; i++) free(names[i]);
  free(names);
}

/* Register every .json file under dir as prefix + relative path. */
static int load_remotes(spk_schema_registry_t *reg, const char *dir, const char *prefix) {
  size_t n;
  char **names = list_dir(dir, &n);
  int loaded = 0;
  for (size_t i = 0; i < n; i++) {
    char path[4096], uri[4096];
    join3(path, sizeof(path), dir, "/", names[i]);
    join3(uri, sizeof(uri), prefix, names[i], "");
    if (is_dir(path)) {
      char sub[4096];
      join3(sub, sizeof(sub), uri, "/", "");
      loaded += load_remotes(reg, path, sub);
    } else if (ends_with(names[i], ".json")) {
      spk_json_value_t *doc = parse_file(path);
      if (doc && spk_schema_registry_add(reg, uri, doc) == 0) loaded++;
    }
  }
  free_list(names, n);
  return loaded;
}

/* Register every .json file under dir by its $id. */
static int load_metaschemas(spk_schema_registry_t *reg, const char *dir) {
  size_t n;
  char **names = list_dir(dir, &n);
  int loaded = 0;
  for (size_t i = 0; i < n; i++) {
    char path[4096];
    join3(path, sizeof(path), dir, "/", names[i]);
    if (is_dir(path)) {
      loaded += load_metaschemas(reg, path);
    } else if (ends_with(names[i], ".json")) {
      spk_json_value_t *doc = parse_file(path);
      const spk_json_value_t *id = doc ? spk_json_get(doc, "$id", 3) : NULL;
      if (id && id->type == SPK_JSON_STRING) {
        char uri[4096];
        snprintf(uri, sizeof(uri), "%.*s", (int)id->u.string.len, id->u.string.ptr);
        size_t ul = strlen(uri);
        if (ul && uri[ul - 1] == '#') uri[ul - 1] = '\0';
        if (spk_schema_registry_add(reg, uri, doc) == 0) loaded++;
      }
    }
  }
  free_list(names, n);
  return loaded;
}

static void show_failure(const char *file, const char *cas, const char *test, const char *why) {
  if (g_shown++ >= MAX_SHOWN_FAILURES) return;
  printf("  FAIL %s | %s | %s: %s\n", file, cas, test, why);
}

static const char *str_of(const spk_json_value_t *obj, const char *key) {
  const spk_json_value_t *v = spk_json_get(obj, key, strlen(key));
  return v && v->type == SPK_JSON_STRING ? v->u.string.ptr : "?";
}

static void run_file(const char *path, const char *label, spk_schema_draft_t draft,
                     const spk_schema_registry_t *reg, int format_assertion, counts_t *cnt) {
  spk_json_value_t *cases = parse_file(path);
  if (!cases || cases->type != SPK_JSON_ARRAY) {
    cnt->fail++;
    show_failure(label, "-", "-", "unreadable test file");
    return;
  }
  for (size_t c = 0; c < cases->u.array.len; c++) {
    const spk_json_value_t *cs = cases->u.array.items[c];
    const spk_json_value_t *schema = spk_json_get(cs, "schema", 6);
    const spk_json_value_t *tests = spk_json_get(cs, "tests", 5);
    if (!schema || !tests || tests->type != SPK_JSON_ARRAY) continue;
    spk_schema_options_t opts = {draft, reg, format_assertion};
    spk_schema_t *compiled = NULL;
    char err[512];
    int rc = spk_schema_compile(schema, &opts, &compiled, err, sizeof(err));
    for (size_t t = 0; t < tests->u.array.len; t++) {
      const spk_json_value_t *tc = tests->u.array.items[t];
      const spk_json_value_t *data = spk_json_get(tc, "data", 4);
      const spk_json_value_t *valid = spk_json_get(tc, "valid", 5);
      int expect = valid && valid->type == SPK_JSON_BOOL && valid->u.boolean;
      if (rc != 0) {
        cnt->fail++;
        show_failure(label, str_of(cs, "description"), str_of(tc, "description"), err);
        continue;
      }
      spk__arena_t arena;
      spk__arena_init(&arena, 4096);
      spk_schema_error_t *errors = NULL;
      size_t n_errors = 0;
      int full = spk_schema_validate(compiled, data, &arena, &errors, &n_errors);
      int quick = spk_schema_validate(compiled, data, &arena, NULL, NULL);
      const char *why = NULL;
      char buf[600];
      if (full < 0 || quick < 0) why = "validation returned an error code";
      else if (full != quick) why = "collecting and quick validation disagree";
      else if (full != expect) {
        if (full == 0 && n_errors) {
          snprintf(buf, sizeof(buf), "expected valid, got: %s", errors[0].message);
          why = buf;
        } else {
          why = expect ? "expected valid" : "expected invalid";
        }
      } else if (full == 0 && n_errors == 0) {
        why = "invalid without any error";
      }
      if (why) {
        cnt->fail++;
        show_failure(label, str_of(cs, "description"), str_of(tc, "description"), why);
      } else {
        cnt->pass++;
      }
      spk__arena_free(&arena);
    }
    spk_schema_free(compiled);
  }
}

static void run_dir(const char *dir, const char *rel, spk_schema_draft_t draft,
                    const spk_schema_registry_t *reg, int format_assertion, counts_t *cnt) {
  size_t n;
  char **names = list_dir(dir, &n);
  for (size_t i = 0; i < n; i++) {
    if (!ends_with(names[i], ".json")) continue;
    char path[4096], label[512];
    join3(path, sizeof(path), dir, "/", names[i]);
    join3(label, sizeof(label), rel, names[i], "");
    run_file(path, label, draft, reg, format_assertion, cnt);
  }
  free_list(names, n);
}

int main(int argc, char **argv) {
  const char *shared = argc > 1 ? argv[1] : getenv("SPK_SHARED_DIR");
  if (!shared) shared = "../shared";
  char suite[4096], metas[4096], remotes[4096];
  join3(suite, sizeof(suite), shared, "/conformance/json-schema-test-suite", "");
  join3(metas, sizeof(metas), shared, "/conformance/json-schema-metaschemas", "");
  join3(remotes, sizeof(remotes), suite, "/remotes", "");
  if (!is_dir(suite)) {
    printf("json_schema_suite: %s not found, skipping\n", suite);
    return 0;
  }
  spk__arena_init(&g_docs, 1 << 16);
  spk_schema_registry_t *reg = spk_schema_registry_new();
  if (!reg) return 2;
  int nrem = load_remotes(reg, remotes, "http://localhost:1234/");
  int nmeta = is_dir(metas) ? load_metaschemas(reg, metas) : 0;
  printf("json_schema_suite: %d remotes, %d meta-schemas registered\n", nrem, nmeta);

  static const struct {
    const char *name;
    spk_schema_draft_t draft;
  } drafts[] = {{"draft2020-12", SPK_SCHEMA_DRAFT_2020_12}, {"draft7", SPK_SCHEMA_DRAFT_07}};
  int required_failed = 0;
  char lines[2][256];
  for (size_t d = 0; d < 2; d++) {
    char dir[4096], opt[4096], fmt[4096], rel[128];
    join3(dir, sizeof(dir), suite, "/tests/", drafts[d].name);
    join3(opt, sizeof(opt), dir, "/optional", "");
    join3(fmt, sizeof(fmt), dir, "/optional/format", "");
    counts_t req = {0, 0}, op = {0, 0}, fo = {0, 0};
    g_shown = 0;
    printf("%s:\n", drafts[d].name);
    join3(rel, sizeof(rel), drafts[d].name, "/", "");
    run_dir(dir, rel, drafts[d].draft, reg, 0, &req);
    join3(rel, sizeof(rel), drafts[d].name, "/optional/", "");
    run_dir(opt, rel, drafts[d].draft, reg, 0, &op);
    join3(rel, sizeof(rel), drafts[d].name, "/optional/format/", "");
    run_dir(fmt, rel, drafts[d].draft, reg, 1, &fo);
    if (g_shown > MAX_SHOWN_FAILURES)
      printf("  ... %d more failures not shown\n", g_shown - MAX_SHOWN_FAILURES);
    snprintf(lines[d], sizeof(lines[d]),
             "%s: required %d passed, %d failed; optional %d passed, %d failed; format %d "
             "passed, %d failed",
             drafts[d].name, req.pass, req.fail, op.pass, op.fail, fo.pass, fo.fail);
    required_failed += req.fail;
  }
  for (size_t d = 0; d < 2; d++) printf("%s\n", lines[d]);
  spk_schema_registry_free(reg);
  spk__arena_free(&g_docs);
  return required_failed ? 1 : 0;
}
