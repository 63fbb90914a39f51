/* Conformance runner: JSONTestSuite (github.com/nst/JSONTestSuite) through spk_json_parse.
 *
 * Usage: json_test_suite <shared-dir>   (reads <shared-dir>/conformance/json)
 *
 * test_parsing/: every y_* file must be accepted, every n_* rejected; i_* files are
 * implementation-defined and only have to be answered (no crash, no hang): the verdicts are
 * listed. Parsed with max_depth 1000 (so n_structure_100000_opening_arrays is refused by the
 * depth limit, and i_structure_500_nested_arrays is accepted) and duplicate keys LAST_WINS.
 * Every accepted document is also written compactly, parsed again, compared with
 * spk_json_equal, and written again: the two outputs must be identical bytes.
 *
 * test_transform/: the edge cases are parsed and their compact serialization is printed
 * (verbose) — they have no expected output; the runner only requires that every answer is a
 * clean accept or a clean reject, and that accepted values survive the round trip above.
 *
 * Exit status: 0 when all y are accepted, all n rejected and every round trip holds; 1
 * otherwise. A missing directory is reported as a skip (exit 0). `-v` as a second argument
 * lists every i_ and transform verdict. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto/json.h"
#include "util/arena.h"
#include "util/buf.h"

static int verbose;

static char *read_all(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  size_t cap = 4096, n = 0;
  char *buf = malloc(cap);
  for (;;) {
    if (!buf) break;
    size_t r = fread(buf + n, 1, cap - n, f);
    n += r;
    if (n < cap) break;
    char *nb = realloc(buf, cap * 2);
    if (!nb) {
      free(buf);
      buf = NULL;
      break;
    }
    buf = nb;
    cap *= 2;
  }
  fclose(f);
  *len = n;
  return buf;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted list of regular file names in dir (NULL-terminated). */
static char **list_dir(const char *dir, size_t *count) {
  DIR *d = opendir(dir);
  if (!d) return NULL;
  size_t cap = 64, n = 0;
  char **names = malloc(cap * sizeof(*names));
  struct dirent *e;
  while (names && (e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.') continue;
    if (n + 1 == cap) {
      char **nn = realloc(names, cap * 2 * sizeof(*names));
      if (!nn) break;
      names = nn;
      cap *= 2;
    }
    names[n++] = strdup(e->d_name);
  }
  closedir(d);
  if (!names) return NULL;
  qsort(names, n, sizeof(*names), cmp_names);
  names[n] = NULL;
  *count = n;
  return names;
}

static void free_list(char **names) {
  for (size_t i = 0; names && names[i]; i++) free(names[i]);
  free(names);
}

/* Parse; on success check the round trip. Returns 1 accepted, 0 rejected, -1 round trip broken
 * or an unexpected error code. */
static int check(const char *data, size_t len, spk__buf_t *out, const char *name) {
  spk__arena_t arena;
  spk__arena_init(&arena, 4096);
  spk_json_parse_options_t opts = {1000, SPK_JSON_DUP_LAST_WINS};
  spk_json_value_t *v = NULL, *v2 = NULL;
  spk_json_error_t err;
  int rc = spk_json_parse(&arena, data, len, &opts, &v, &err);
  int result;
  if (rc == SPK_EPROTO || rc == SPK_ERANGE) {
    result = 0;
    if (err.code != rc || err.offset > len || !err.message) {
      fprintf(stderr, "%s: inconsistent error report\n", name);
      result = -1;
    }
  } else if (rc != 0) {
    fprintf(stderr, "%s: unexpected result %d\n", name, rc);
    result = -1;
  } else {
    result = 1;
    out->len = 0;
    spk__buf_t again = {0};
    if (spk_json_write(out, v, 0) != 0 ||
        spk_json_parse(&arena, out->data, out->len, &opts, &v2, NULL) != 0 ||
        !spk_json_equal(v, v2) || spk_json_write(&again, v2, 0) != 0 || again.len != out->len ||
        memcmp(again.data, out->data, out->len) != 0) {
      fprintf(stderr, "%s: round trip failed\n", name);
      result = -1;
    }
    spk__buf_free(&again);
  }
  spk__arena_free(&arena);
  return result;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: %s <shared-dir> [-v]\n", argv[0]);
    return 2;
  }
  verbose = argc > 2 && strcmp(argv[2], "-v") == 0;
  char dir[4096], path[8192];
  snprintf(dir, sizeof(dir), "%s/conformance/json/test_parsing", argv[1]);
  size_t count = 0;
  char **names = list_dir(dir, &count);
  if (!names) {
    printf("json: SKIP (%s not found)\n", dir);
    return 0;
  }
  int y_total = 0, y_ok = 0, n_total = 0, n_ok = 0, i_total = 0, i_acc = 0, i_rej = 0;
  int broken = 0;
  spk__buf_t out = {0};
  for (size_t k = 0; k < count; k++) {
    const char *name = names[k];
    size_t nlen = strlen(name);
    if (nlen < 6 || strcmp(name + nlen - 5, ".json") != 0) continue;
    char kind = name[0];
    if (name[1] != '_' || (kind != 'y' && kind != 'n' && kind != 'i')) continue;
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    size_t len;
    char *data = read_all(path, &len);
    if (!data) {
      fprintf(stderr, "%s: cannot read\n", path);
      broken++;
      continue;
    }
    int r = check(data, len, &out, name);
    free(data);
    if (r < 0) {
      broken++;
      continue;
    }
    if (kind == 'y') {
      y_total++;
      if (r == 1) y_ok++;
      else fprintf(stderr, "FAIL %s: rejected, must be accepted\n", name);
    } else if (kind == 'n') {
      n_total++;
      if (r == 0) n_ok++;
      else fprintf(stderr, "FAIL %s: accepted, must be rejected\n", name);
    } else {
      i_total++;
      if (r == 1) i_acc++;
      else i_rej++;
      if (verbose) printf("  %s: %s\n", name, r ? "accepted" : "rejected");
    }
  }
  free_list(names);

  /* transform cases */
  snprintf(dir, sizeof(dir), "%s/conformance/json/test_transform", argv[1]);
  names = list_dir(dir, &count);
  int t_total = 0, t_acc = 0;
  for (size_t k = 0; names && k < count; k++) {
    snprintf(path, sizeof(path), "%s/%s", dir, names[k]);
    size_t len;
    char *data = read_all(path, &len);
    if (!data) {
      broken++;
      continue;
    }
    int r = check(data, len, &out, names[k]);
    free(data);
    if (r < 0) {
      broken++;
      continue;
    }
    t_total++;
    if (r == 1) t_acc++;
    if (verbose) {
      if (r == 1) printf("  transform %s: %.*s\n", names[k], (int)out.len, out.data);
      else printf("  transform %s: rejected\n", names[k]);
    }
  }
  free_list(names);
  spk__buf_free(&out);

  printf("json: y %d/%d accepted, n %d/%d rejected, i %d answered (%d accepted, %d rejected)\n",
         y_ok, y_total, n_ok, n_total, i_total, i_acc, i_rej);
  printf("json: transform %d answered (%d accepted, %d rejected); round trips %s\n", t_total,
         t_acc, t_total - t_acc, broken ? "BROKEN" : "ok");
  return (y_ok == y_total && n_ok == n_total && !broken && y_total > 0 && n_total > 0) ? 0 : 1;
}
