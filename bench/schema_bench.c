/* JSON Schema validation throughput of spk_schema_validate (see schema_bench.sh; the ajv peer is
 * schema_bench.mjs, which follows the same method).
 *
 *   schema_bench check FILE.cand.json     compile every schema, classify every candidate document
 *                                         ("S i ok" / "S i fail MSG", "D j 1|0|P|X")
 *   schema_bench run FILE.json [CASE...]  time the cases, one JSON line per case (standalone)
 *   schema_bench serve FILE.json          the same, driven over stdin/stdout by schema_bench.py
 *                                         ("warm CASE" / "run CASE" / "quit"), which alternates
 *                                         the runs of both validators
 *   schema_bench prof FILE.json CASE N    N passes of one case, no warm-up (for callgrind)
 *
 * Cases (a pass = every document of the list once, in order, each against its own schema):
 *   valid-flag / invalid-flag     pre-parsed DOM, spk_schema_validate(…, NULL, NULL): "valid?"
 *   valid-all / invalid-all       pre-parsed DOM, with the error list (every error + message)
 *   valid-parse / invalid-parse   spk_json_parse of the bytes + validate with the error list
 * Every validation gets a fresh arena (first block 4 KB) that is freed right after it, as a
 * request's arena would be; in the parse cases the same arena also holds the DOM.
 *
 * Timing: process CPU time. Warm-up for SB_WARMUP seconds (default 5); then SB_RUNS runs
 * (default 5), each running passes until at least SB_SECONDS (default 1) have elapsed; the
 * median validations/second is reported with every run ("per_run": the fewest validations a
 * run did, "min_secs": the shortest run). Every pass checks the number of valid results, so nothing can be
 * optimised away and both validators are known to agree on every measured document. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/json.h"
#include "proto/schema.h"
#include "util/arena.h"

static double cpu_now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static double env_num(const char *name, double dflt) {
  const char *s = getenv(name);
  return s && *s ? atof(s) : dflt;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *d = malloc((size_t)n + 1);
  if (d && fread(d, 1, (size_t)n, f) != (size_t)n) {
    free(d);
    d = NULL;
  }
  fclose(f);
  if (d) d[n] = '\0';
  *len = (size_t)n;
  return d;
}

static void die(const char *what) {
  fprintf(stderr, "schema_bench: %s\n", what);
  exit(1);
}

/* ---------------------------------------------------------------------------------------- */

typedef struct doc {
  const spk_schema_t *schema;
  const char *text; /* the bytes (decoded from the workload file's string) */
  size_t len;
  spk_json_value_t *dom; /* pre-parsed */
} doc_t;

typedef struct set {
  doc_t *docs;
  size_t n;
  size_t expect_valid; /* valid results per pass */
} set_t;

static spk__arena_t g_arena; /* workload file, compiled schemas' sources, pre-parsed DOMs */

static spk_json_value_t *load_json(const char *path) {
  size_t len;
  char *buf = slurp(path, &len);
  if (!buf) die("cannot read workload file");
  spk_json_value_t *v;
  spk_json_parse_options_t o = {.max_depth = 100000, .dup_keys = SPK_JSON_DUP_LAST_WINS};
  spk_json_error_t err;
  if (spk_json_parse(&g_arena, buf, len, &o, &v, &err) != 0) {
    fprintf(stderr, "workload file: %s at %zu\n", err.message, err.offset);
    exit(1);
  }
  free(buf);
  return v;
}

static spk_schema_t **compile_all(const spk_json_value_t *schemas, int print) {
  size_t n = schemas->u.array.len;
  spk_schema_t **out = calloc(n ? n : 1, sizeof(*out));
  for (size_t i = 0; i < n; i++) {
    char err[512] = "";
    int rc = spk_schema_compile(schemas->u.array.items[i], NULL, &out[i], err, sizeof(err));
    if (rc != 0) out[i] = NULL;
    if (print) {
      for (char *p = err; *p; p++)
        if (*p == '\n') *p = ' ';
      if (rc == 0) printf("S %zu ok\n", i);
      else printf("S %zu fail %s\n", i, err);
    } else if (rc != 0) {
      fprintf(stderr, "schema %zu does not compile: %s\n", i, err);
      exit(1);
    }
  }
  return out;
}

/* 1 valid, 0 invalid; -1 out of memory. Also checks that the "valid?" and the error-list
 * calls agree (X otherwise). */
static int classify(const spk_schema_t *s, const spk_json_value_t *v) {
  spk__arena_t a;
  spk__arena_init(&a, 4096);
  spk_schema_error_t *errs;
  size_t count = 0;
  int r1 = spk_schema_validate(s, v, &a, &errs, &count);
  int r2 = spk_schema_validate(s, v, &a, NULL, NULL);
  spk__arena_free(&a);
  if (r1 < 0 || r2 < 0) return -1;
  if (r1 != r2 || (r1 == 0 && count == 0)) return 2;
  return r1;
}

static int cmd_check(const char *path) {
  spk_json_value_t *w = load_json(path);
  spk_json_value_t *schemas = spk_json_get(w, "schemas", 7);
  spk_json_value_t *docs = spk_json_get(w, "docs", 4);
  if (!schemas || !docs) die("bad candidate file");
  spk_schema_t **compiled = compile_all(schemas, 1);
  for (size_t j = 0; j < docs->u.array.len; j++) {
    spk_json_value_t *d = docs->u.array.items[j];
    size_t si = (size_t)d->u.array.items[0]->u.integer;
    spk_str_t text = d->u.array.items[1]->u.string;
    if (!compiled[si]) {
      printf("D %zu E\n", j);
      continue;
    }
    spk__arena_t a;
    spk__arena_init(&a, 4096);
    spk_json_value_t *v;
    if (spk_json_parse(&a, text.ptr, text.len, NULL, &v, NULL) != 0) {
      printf("D %zu P\n", j);
    } else {
      int r = classify(compiled[si], v);
      printf("D %zu %s\n", j, r == 1 ? "1" : r == 0 ? "0" : r == 2 ? "X" : "M");
    }
    spk__arena_free(&a);
  }
  return 0;
}

/* ---------------------------------------------------------------------------------------- */
/* Passes: return the number of valid results. */

typedef size_t (*pass_fn)(const set_t *);

static size_t pass_flag(const set_t *s) {
  size_t ok = 0;
  for (size_t i = 0; i < s->n; i++) {
    spk__arena_t a;
    spk__arena_init(&a, 4096);
    int r = spk_schema_validate(s->docs[i].schema, s->docs[i].dom, &a, NULL, NULL);
    spk__arena_free(&a);
    ok += r == 1;
  }
  return ok;
}

static volatile size_t sink;

static size_t pass_all(const set_t *s) {
  size_t ok = 0;
  for (size_t i = 0; i < s->n; i++) {
    spk__arena_t a;
    spk__arena_init(&a, 4096);
    spk_schema_error_t *errs = NULL;
    size_t count = 0;
    int r = spk_schema_validate(s->docs[i].schema, s->docs[i].dom, &a, &errs, &count);
    sink += count;
    spk__arena_free(&a);
    ok += r == 1;
  }
  return ok;
}

static size_t pass_parse(const set_t *s) {
  size_t ok = 0;
  for (size_t i = 0; i < s->n; i++) {
    spk__arena_t a;
    spk__arena_init(&a, 4096);
    spk_json_value_t *v;
    if (spk_json_parse(&a, s->docs[i].text, s->docs[i].len, NULL, &v, NULL) == 0) {
      spk_schema_error_t *errs = NULL;
      size_t count = 0;
      int r = spk_schema_validate(s->docs[i].schema, v, &a, &errs, &count);
      sink += count;
      ok += r == 1;
    }
    spk__arena_free(&a);
  }
  return ok;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void run_pass(const char *name, pass_fn fn, const set_t *s) {
  size_t got = fn(s);
  if (got != s->expect_valid) {
    fprintf(stderr, "%s: %zu valid results per pass, expected %zu\n", name, got, s->expect_valid);
    exit(1);
  }
}

/* Warm-up for SB_WARMUP seconds (at least 3 passes); returns the batch size for one_run: about
 * 1/100 of SB_SECONDS worth of passes. */
static size_t warm(const char *name, pass_fn fn, const set_t *s) {
  double warmup = env_num("SB_WARMUP", 5), seconds = env_num("SB_SECONDS", 1);
  size_t passes = 0;
  double t0 = cpu_now(), dt;
  do {
    run_pass(name, fn, s);
    passes++;
    dt = cpu_now() - t0;
  } while (dt < warmup || passes < 3);
  size_t batch = (size_t)(seconds / 100 / (dt / (double)passes));
  return batch < 1 ? 1 : batch;
}

/* One run: batches of passes until at least SB_SECONDS of CPU time have elapsed. */
static double one_run(const char *name, pass_fn fn, const set_t *s, size_t batch, double *secs,
                      size_t *validations) {
  double seconds = env_num("SB_SECONDS", 1);
  double t = cpu_now(), el;
  size_t p = 0;
  do {
    for (size_t b = 0; b < batch; b++) run_pass(name, fn, s);
    p += batch;
    el = cpu_now() - t;
  } while (el < seconds);
  *secs = el;
  *validations = p * s->n;
  return (double)*validations / el;
}

static void bench_case(const char *name, pass_fn fn, const set_t *s) {
  int runs = (int)env_num("SB_RUNS", 5);
  if (runs < 1 || runs > 99) runs = 5;
  size_t batch = warm(name, fn, s);
  double rates[99], secs[99];
  size_t done[99];
  for (int r = 0; r < runs; r++) rates[r] = one_run(name, fn, s, batch, &secs[r], &done[r]);
  double sorted[99];
  memcpy(sorted, rates, sizeof(double) * (size_t)runs);
  qsort(sorted, (size_t)runs, sizeof(double), cmp_double);
  double min_secs = secs[0];
  size_t min_done = done[0];
  for (int r = 1; r < runs; r++) {
    if (secs[r] < min_secs) min_secs = secs[r];
    if (done[r] < min_done) min_done = done[r];
  }
  printf("{\"case\":\"%s\",\"median\":%.1f,\"runs\":[", name, sorted[runs / 2]);
  for (int r = 0; r < runs; r++) printf("%s%.1f", r ? "," : "", rates[r]);
  printf("],\"per_run\":%zu,\"min_secs\":%.3f,\"docs\":%zu}\n", min_done, min_secs, s->n);
  fflush(stdout);
}

static void load_set(set_t *out, const spk_json_value_t *list, spk_schema_t **compiled,
                     size_t nschemas, int expect_valid) {
  out->n = list->u.array.len;
  out->docs = calloc(out->n ? out->n : 1, sizeof(doc_t));
  out->expect_valid = expect_valid ? out->n : 0;
  for (size_t i = 0; i < out->n; i++) {
    const spk_json_value_t *d = list->u.array.items[i];
    size_t si = (size_t)d->u.array.items[0]->u.integer;
    if (si >= nschemas) die("schema index out of range");
    doc_t *x = &out->docs[i];
    x->schema = compiled[si];
    x->text = d->u.array.items[1]->u.string.ptr;
    x->len = d->u.array.items[1]->u.string.len;
    if (spk_json_parse(&g_arena, x->text, x->len, NULL, &x->dom, NULL) != 0)
      die("document does not parse");
    if (classify(x->schema, x->dom) != expect_valid) {
      fprintf(stderr, "document %zu of the %s list: unexpected result\n", i,
              expect_valid ? "valid" : "invalid");
      exit(1);
    }
  }
}

static const struct {
  const char *name;
  pass_fn fn;
  int valid;
} CASES[] = {
    {"valid-flag", pass_flag, 1},   {"valid-all", pass_all, 1},
    {"invalid-flag", pass_flag, 0}, {"invalid-all", pass_all, 0},
    {"valid-parse", pass_parse, 1}, {"invalid-parse", pass_parse, 0},
};
#define NCASES (sizeof(CASES) / sizeof(CASES[0]))

/* serve: commands on stdin, one answer line each on stdout, so that a driver can alternate the
 * runs of both validators ("warm CASE" → "ok", "run CASE" → one JSON line, "quit"). */
static void serve(set_t *sets) {
  char line[256];
  size_t batch[NCASES] = {0};
  while (fgets(line, sizeof(line), stdin)) {
    line[strcspn(line, "\r\n")] = '\0';
    if (strcmp(line, "quit") == 0) break;
    const char *arg = strchr(line, ' ');
    size_t c = NCASES;
    if (arg)
      for (c = 0; c < NCASES; c++)
        if (strcmp(arg + 1, CASES[c].name) == 0) break;
    if (c == NCASES) die("serve: bad command");
    const set_t *s = &sets[CASES[c].valid];
    if (strncmp(line, "warm ", 5) == 0) {
      batch[c] = warm(CASES[c].name, CASES[c].fn, s);
      printf("ok\n");
    } else if (strncmp(line, "run ", 4) == 0) {
      if (!batch[c]) die("serve: run before warm");
      double secs;
      size_t n;
      double rate = one_run(CASES[c].name, CASES[c].fn, s, batch[c], &secs, &n);
      printf("{\"case\":\"%s\",\"rate\":%.1f,\"secs\":%.3f,\"validations\":%zu}\n",
             CASES[c].name, rate, secs, n);
    } else {
      die("serve: bad command");
    }
    fflush(stdout);
  }
}

static int cmd_run(const char *path, int ncase, char **cases, long prof_passes, int serving) {
  spk_json_value_t *w = load_json(path);
  spk_json_value_t *schemas = spk_json_get(w, "schemas", 7);
  spk_json_value_t *valid = spk_json_get(w, "valid", 5);
  spk_json_value_t *invalid = spk_json_get(w, "invalid", 7);
  if (!schemas || !valid || !invalid) die("bad workload file");
  spk_schema_t **compiled = compile_all(schemas, 0);
  set_t sets[2];
  load_set(&sets[0], invalid, compiled, schemas->u.array.len, 0);
  load_set(&sets[1], valid, compiled, schemas->u.array.len, 1);
  if (serving) serve(sets);
  for (size_t c = 0; c < NCASES && !serving; c++) {
    int wanted = ncase == 0;
    for (int k = 0; k < ncase; k++)
      if (strcmp(cases[k], CASES[c].name) == 0) wanted = 1;
    if (!wanted) continue;
    const set_t *s = &sets[CASES[c].valid];
    if (prof_passes > 0) {
      for (long p = 0; p < prof_passes; p++) run_pass(CASES[c].name, CASES[c].fn, s);
      printf("%s: %ld passes of %zu documents\n", CASES[c].name, prof_passes, s->n);
    } else {
      bench_case(CASES[c].name, CASES[c].fn, s);
    }
  }
  for (size_t i = 0; i < schemas->u.array.len; i++) spk_schema_free(compiled[i]);
  free(compiled);
  free(sets[0].docs);
  free(sets[1].docs);
  return 0;
}

int main(int argc, char **argv) {
  spk__arena_init(&g_arena, 1 << 20);
  int rc = 2;
  if (argc >= 3 && strcmp(argv[1], "check") == 0) rc = cmd_check(argv[2]);
  else if (argc >= 3 && strcmp(argv[1], "run") == 0) rc = cmd_run(argv[2], argc - 3, argv + 3, 0, 0);
  else if (argc == 3 && strcmp(argv[1], "serve") == 0) rc = cmd_run(argv[2], 0, NULL, 0, 1);
  else if (argc == 5 && strcmp(argv[1], "prof") == 0)
    rc = cmd_run(argv[2], 1, argv + 3, atol(argv[4]) > 0 ? atol(argv[4]) : 1, 0);
  else
    fprintf(stderr, "usage: %s check FILE | run FILE [CASE...] | serve FILE | prof FILE CASE N\n",
            argv[0]);
  spk__arena_free(&g_arena);
  return rc;
}
