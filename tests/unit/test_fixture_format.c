/* testing_data/: every fixture file parses with our JSON parser (duplicate keys refused) and
 * validates against testing_data/fixture.schema.json with our JSON Schema validator; file names
 * are well-formed and unique across the tree; `category`, when present, names the folder.
 *
 * The repository root comes from argv[1] or the environment (SPK_SOURCE_DIR, set by ctest). */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "proto/json.h"
#include "proto/schema.h"
#include "test.h"
#include "util/arena.h"
#include "util/buf.h"

#define MIN_FIXTURES 300

static char root_[4096];

/* Whole file into b; 0 or -1. */
static int read_file(const char *path, spk__buf_t *b) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  char chunk[65536];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) spk__buf_append(b, chunk, n);
  fclose(f);
  return 0;
}

static spk_json_value_t *parse_file(spk__arena_t *a, const char *path) {
  spk__buf_t b = {0};
  if (read_file(path, &b) != 0) {
    fprintf(stderr, "  cannot read %s\n", path);
    return NULL;
  }
  spk_json_parse_options_t o = {.max_depth = 128, .dup_keys = SPK_JSON_DUP_ERROR};
  spk_json_value_t *v = NULL;
  spk_json_error_t e;
  memset(&e, 0, sizeof(e));
  int rc = spk_json_parse(a, b.data ? b.data : "", b.len, &o, &v, &e);
  spk__buf_free(&b);
  if (rc != SPK_OK) {
    fprintf(stderr, "  %s: JSON error at line %zu column %zu: %s\n", path, e.line, e.column,
            e.message ? e.message : "?");
    return NULL;
  }
  return v;
}

static int cmp_str(const void *x, const void *y) {
  return strcmp(*(const char *const *)x, *(const char *const *)y);
}

/* Sorted entry names of dir (directories or regular files), NULL-terminated. */
static char **list(const char *dir, int dirs, size_t *n) {
  *n = 0;
  DIR *d = opendir(dir);
  if (!d) return NULL;
  size_t cap = 64;
  char **v = malloc(cap * sizeof(*v));
  struct dirent *e;
  while (v && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    char full[8192];
    snprintf(full, sizeof(full), "%s/%s", dir, e->d_name);
    struct stat st;
    if (stat(full, &st) != 0 || (dirs ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))) continue;
    if (*n + 1 >= cap) {
      char **g = realloc(v, (cap *= 2) * sizeof(*v));
      if (!g) break;
      v = g;
    }
    v[(*n)++] = strdup(e->d_name);
  }
  closedir(d);
  if (!v) return NULL;
  v[*n] = NULL;
  qsort(v, *n, sizeof(*v), cmp_str);
  return v;
}

static void free_list(char **v) {
  for (size_t i = 0; v && v[i]; i++) free(v[i]);
  free(v);
}

/* "NN_slug.json": two or three digits, '_', then [a-z0-9_]+. */
static int well_formed_name(const char *f) {
  size_t n = strlen(f), i = 0;
  if (n < 8 || strcmp(f + n - 5, ".json") != 0) return 0;
  while (i < n && f[i] >= '0' && f[i] <= '9') i++;
  if (i < 2 || i > 3 || f[i] != '_') return 0;
  size_t slug = ++i;
  for (; i < n - 5; i++)
    if (!((f[i] >= 'a' && f[i] <= 'z') || (f[i] >= '0' && f[i] <= '9') || f[i] == '_')) return 0;
  return i > slug;
}

static void print_location(const spk_schema_error_t *e) {
  fputs("    at /", stderr);
  for (size_t k = 0; k < e->path_len; k++) {
    if (e->path[k].index >= 0)
      fprintf(stderr, "%s%lld", k ? "/" : "", e->path[k].index);
    else
      fprintf(stderr, "%s%.*s", k ? "/" : "", (int)e->path[k].key.len, e->path[k].key.ptr);
  }
  fprintf(stderr, " (%s): %s\n", e->keyword ? e->keyword : "?", e->message ? e->message : "");
}

static void test_fixtures(void) {
  char path[4224];
  snprintf(path, sizeof(path), "%s/testing_data/fixture.schema.json", root_);
  spk__arena_t sa;
  spk__arena_init(&sa, 1 << 16);
  spk_json_value_t *schema_doc = parse_file(&sa, path);
  CHECK(schema_doc != NULL);
  if (!schema_doc) {
    spk__arena_free(&sa);
    return;
  }
  spk_schema_options_t so = {.default_draft = SPK_SCHEMA_DRAFT_2020_12, .format_assertion = 1};
  spk_schema_t *schema = NULL;
  char err[512] = "";
  int rc = spk_schema_compile(schema_doc, &so, &schema, err, sizeof(err));
  CHECK_INT(rc, SPK_OK);
  if (rc != SPK_OK) {
    fprintf(stderr, "  fixture.schema.json does not compile: %s\n", err);
    spk__arena_free(&sa);
    return;
  }

  snprintf(path, sizeof(path), "%s/testing_data", root_);
  size_t ncats = 0, total = 0, nnames = 0, names_cap = 512;
  char **cats = list(path, 1, &ncats);
  char **names = malloc(names_cap * sizeof(*names));
  CHECK(cats != NULL && ncats > 0);
  for (size_t c = 0; cats && c < ncats; c++) {
    char cdir[sizeof(path) + 256];
    snprintf(cdir, sizeof(cdir), "%s/%s", path, cats[c]);
    size_t nfiles = 0;
    char **files = list(cdir, 0, &nfiles);
    size_t in_cat = 0;
    for (size_t i = 0; files && i < nfiles; i++) {
      const char *f = files[i];
      char fpath[sizeof(cdir) + 256];
      snprintf(fpath, sizeof(fpath), "%s/%s", cdir, f);
      test_checks_++;
      if (!well_formed_name(f)) {
        test_failures_++;
        fprintf(stderr, "FAIL %s/%s: file name is not NN_slug.json\n", cats[c], f);
        continue;
      }
      total++;
      in_cat++;
      /* Unique across the tree (and the NN prefix unique within a folder). */
      for (size_t k = 0; k < nnames; k++) {
        test_checks_++;
        if (strcmp(names[k], f) == 0) {
          test_failures_++;
          fprintf(stderr, "FAIL %s/%s: file name used twice\n", cats[c], f);
        }
      }
      if (i > 0) {
        size_t pa = strcspn(files[i - 1], "_"), pb = strcspn(f, "_");
        test_checks_++;
        if (pa == pb && strncmp(files[i - 1], f, pa) == 0) {
          test_failures_++;
          fprintf(stderr, "FAIL %s/%s: number prefix shared with %s\n", cats[c], f, files[i - 1]);
        }
      }
      if (nnames == names_cap) {
        char **g = realloc(names, (names_cap *= 2) * sizeof(*names));
        if (!g) break;
        names = g;
      }
      names[nnames++] = strdup(f);

      spk__arena_t a;
      spk__arena_init(&a, 1 << 14);
      spk_json_value_t *doc = parse_file(&a, fpath);
      test_checks_++;
      if (!doc) {
        test_failures_++;
        fprintf(stderr, "FAIL %s/%s: not valid JSON (or duplicate keys)\n", cats[c], f);
        spk__arena_free(&a);
        continue;
      }
      spk_schema_error_t *errs = NULL;
      size_t nerr = 0;
      int v = spk_schema_validate(schema, doc, &a, &errs, &nerr);
      test_checks_++;
      if (v != 1) {
        test_failures_++;
        fprintf(stderr, "FAIL %s/%s: does not match fixture.schema.json (%zu error%s)\n", cats[c],
                f, nerr, nerr == 1 ? "" : "s");
        for (size_t k = 0; k < nerr && k < 5; k++) print_location(&errs[k]);
      }
      const spk_json_value_t *cat = spk_json_get(doc, "category", 8);
      if (cat) {
        test_checks_++;
        if (cat->type != SPK_JSON_STRING || strcmp(cat->u.string.ptr, cats[c]) != 0) {
          test_failures_++;
          fprintf(stderr, "FAIL %s/%s: category \"%s\" is not the folder name\n", cats[c], f,
                  cat->type == SPK_JSON_STRING ? cat->u.string.ptr : "(not a string)");
        }
      }
      spk__arena_free(&a);
    }
    test_checks_++;
    if (in_cat == 0) {
      test_failures_++;
      fprintf(stderr, "FAIL %s: folder without fixtures\n", cats[c]);
    }
    free_list(files);
  }
  printf("fixture_format: %zu fixtures in %zu categories\n", total, ncats);
  test_checks_++;
  if (total < MIN_FIXTURES) {
    test_failures_++;
    fprintf(stderr, "FAIL only %zu fixtures (at least %d expected)\n", total, MIN_FIXTURES);
  }
  for (size_t k = 0; k < nnames; k++) free(names[k]);
  free(names);
  free_list(cats);
  spk_schema_free(schema);
  spk__arena_free(&sa);
}

/* The schema really rejects what it should: a broken fixture of each kind fails. */
static void test_schema_rejects(void) {
  char path[8192];
  snprintf(path, sizeof(path), "%s/testing_data/fixture.schema.json", root_);
  spk__arena_t a;
  spk__arena_init(&a, 1 << 16);
  spk_json_value_t *schema_doc = parse_file(&a, path);
  spk_schema_t *schema = NULL;
  if (!schema_doc || spk_schema_compile(schema_doc, NULL, &schema, NULL, 0) != SPK_OK) {
    CHECK(!"schema compiles");
    spk__arena_free(&a);
    return;
  }
  static const char *const bad[] = {
      /* no expected_response */
      "{\"name\":\"n\",\"description\":\"d\",\"request\":{\"method\":\"GET\",\"path\":\"/\"}}",
      /* unknown top-level key */
      "{\"name\":\"n\",\"description\":\"d\",\"request\":{\"method\":\"GET\",\"path\":\"/\"},"
      "\"expected_response\":{\"status_code\":200},\"expected\":1}",
      /* status out of range */
      "{\"name\":\"n\",\"description\":\"d\",\"request\":{\"method\":\"GET\",\"path\":\"/\"},"
      "\"expected_response\":{\"status_code\":1000}}",
      /* path without a leading slash */
      "{\"name\":\"n\",\"description\":\"d\",\"request\":{\"method\":\"GET\",\"path\":\"items\"},"
      "\"expected_response\":{\"status_code\":200}}",
      /* body and body_base64 together */
      "{\"name\":\"n\",\"description\":\"d\",\"request\":{\"method\":\"POST\",\"path\":\"/\","
      "\"body\":\"a\",\"body_base64\":\"YQ==\"},\"expected_response\":{\"status_code\":200}}",
      /* validation envelope with an error lacking input */
      "{\"name\":\"n\",\"description\":\"d\",\"request\":{\"method\":\"GET\",\"path\":\"/\"},"
      "\"expected_response\":{\"status_code\":422,\"body\":{\"type\":\"https://spikard.dev/errors/"
      "validation-error\",\"title\":\"Request Validation Failed\",\"status\":422,\"detail\":\"1 "
      "validation error in request\",\"errors\":[{\"type\":\"missing\",\"loc\":[\"query\",\"q\"],"
      "\"msg\":\"Field required\"}]}}}",
      /* misspelled middleware */
      "{\"name\":\"n\",\"description\":\"d\",\"handler\":{\"route\":\"/\",\"method\":\"GET\","
      "\"middleware\":{\"body_limits\":{\"max_bytes\":1}}},\"request\":{\"method\":\"GET\","
      "\"path\":\"/\"},\"expected_response\":{\"status_code\":200}}",
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    spk_json_value_t *v = NULL;
    CHECK_INT(spk_json_parse(&a, bad[i], strlen(bad[i]), NULL, &v, NULL), SPK_OK);
    if (v) CHECK_INT(spk_schema_validate(schema, v, &a, NULL, NULL), 0);
  }
  spk_schema_free(schema);
  spk__arena_free(&a);
}

int main(int argc, char **argv) {
  const char *root = argc > 1 ? argv[1] : getenv("SPK_SOURCE_DIR");
  if (!root || !*root) {
    fprintf(stderr, "test_fixture_format: pass the repository root as argv[1] or set SPK_SOURCE_DIR\n");
    return 1;
  }
  snprintf(root_, sizeof(root_), "%s", root);
  RUN(test_fixtures);
  RUN(test_schema_rejects);
  return test_report("fixture_format");
}
