/* JSON parse/serialize throughput of spk_json_parse / spk_json_write (see json_bench.sh).
 *
 *   json_bench gen DIR          write small.json (~100 B), medium.json (~10 KB) and
 *                               large.json (~1 MB) into DIR, deterministically
 *   json_bench run FILE...      print "<file> <parse MB/s> <write MB/s>" per file
 *
 * MB/s are 10^6 bytes of the input document per second of process CPU time, best of 5 rounds
 * of ~0.2 s each.
 * Parse includes what a request would pay: a fresh arena per document (first block 4 KB),
 * the full DOM, and freeing the arena. Write serializes the parsed DOM compactly into a reused
 * buffer. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/json.h"
#include "util/arena.h"
#include "util/buf.h"

/* Process CPU time: the host is often shared, and CPU time is what a parser costs. */
static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* ---------------------------------------------------------------------------------------- */
/* Deterministic documents */

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint32_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return (uint32_t)(rng >> 16);
}

static const char *words[] = {"alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf",
                              "hotel", "india", "juliett", "kilo", "lima", "mike", "november",
                              "oscar", "papa", "quebec", "romeo", "sierra", "tango",
                              "caf\xC3\xA9", "na\xC3\xAFve", "\xE2\x82\xAC\x34\x32",
                              "line\\nbreak", "tab\\tbed", "quote\\\"d"};
#define NWORDS (sizeof(words) / sizeof(words[0]))

static void put(spk__buf_t *b, const char *s) { spk__buf_append_str(b, s); }
static void put_int(spk__buf_t *b, long long v) {
  char t[32];
  int n = snprintf(t, sizeof(t), "%lld", v);
  spk__buf_append(b, t, (size_t)n);
}

/* Every rnd() call is its own statement: argument evaluation order is unspecified in C, and the
 * documents must be the same whatever the compiler. */
static void put_double(spk__buf_t *b) {
  char t[40];
  size_t n;
  unsigned kind = rnd() % 4, r1 = rnd(), r2 = rnd();
  switch (kind) {
    case 0: n = (size_t)snprintf(t, sizeof(t), "%u.%02u", r1 % 1000, r2 % 100); break;
    case 1: n = (size_t)snprintf(t, sizeof(t), "-%u.%06u", r1 % 100, r2 % 1000000); break;
    case 2: n = spk_json_format_double(t, (double)r1 / 7.0); break;
    default: {
      int e = (int)(rnd() % 40) - 20;
      n = (size_t)snprintf(t, sizeof(t), "%u.%ue%d", r1 % 10, r2 % 1000, e);
      break;
    }
  }
  spk__buf_append(b, t, n);
}

static const char *word(void) { return words[rnd() % NWORDS]; }

static void record(spk__buf_t *b, unsigned id) {
  put(b, "{\"id\":");
  put_int(b, (long long)id);
  put(b, ",");
  put(b, "\"name\":\"");
  put(b, word());
  put(b, " ");
  put(b, word());
  put(b, "\",\"email\":\"user");
  put_int(b, (long long)(rnd() % 100000));
  put(b, "@example.com\",");
  put(b, rnd() % 2 ? "\"active\":true," : "\"active\":false,");
  put(b, "\"score\":");
  put_double(b);
  put(b, ",\"balance\":");
  {
    long long magnitude = (long long)rnd();
    put_int(b, rnd() % 2 ? magnitude : -1000 * magnitude);
  }
  put(b, ",\"tags\":[");
  unsigned nt = rnd() % 5;
  for (unsigned i = 0; i < nt; i++) {
    if (i) put(b, ",");
    put(b, "\"");
    put(b, word());
    put(b, "\"");
  }
  put(b, "],\"location\":{\"lat\":");
  put_double(b);
  put(b, ",\"lon\":");
  put_double(b);
  put(b, ",\"city\":\"");
  put(b, word());
  put(b, "\"},\"parent\":");
  if (rnd() % 3) put_int(b, (long long)(rnd() % 1000));
  else put(b, "null");
  put(b, ",\"history\":[");
  unsigned nh = rnd() % 4;
  for (unsigned i = 0; i < nh; i++) {
    if (i) put(b, ",");
    put(b, "{\"t\":");
    put_int(b, 1700000000ll + rnd() % 1000000);
    put(b, ",\"v\":");
    put_double(b);
    put(b, "}");
  }
  put(b, "]}");
}

static int write_file(const char *dir, const char *name, const spk__buf_t *b) {
  char path[4096];
  snprintf(path, sizeof(path), "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  fwrite(b->data, 1, b->len, f);
  fclose(f);
  printf("%s %zu bytes\n", path, b->len);
  return 0;
}

static int gen(const char *dir) {
  spk__buf_t b = {0};
  put(&b, "{\"id\":12345,\"name\":\"Alice\",\"email\":\"alice@example.com\",\"active\":true,"
          "\"score\":98.6,\"tags\":[\"a\",\"b\"]}");
  if (write_file(dir, "small.json", &b)) return 1;
  b.len = 0;
  put(&b, "{\"page\":1,\"items\":[");
  for (unsigned i = 0; b.len < 10000; i++) {
    if (i) put(&b, ",");
    record(&b, i);
  }
  put(&b, "]}");
  if (write_file(dir, "medium.json", &b)) return 1;
  b.len = 0;
  put(&b, "[");
  for (unsigned i = 0; b.len < 1000000; i++) {
    if (i) put(&b, ",");
    record(&b, i);
  }
  put(&b, "]");
  if (write_file(dir, "large.json", &b)) return 1;
  spk__buf_free(&b);
  return 0;
}

/* ---------------------------------------------------------------------------------------- */

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
  *len = (size_t)n;
  return d;
}

static volatile size_t sink;

static double bench_parse(const char *doc, size_t len) {
  size_t iters = 1;
  double best = 0;
  /* calibrate to ~0.2 s per round */
  for (;;) {
    double t0 = now();
    for (size_t i = 0; i < iters; i++) {
      spk__arena_t a;
      spk__arena_init(&a, 4096);
      spk_json_value_t *v;
      if (spk_json_parse(&a, doc, len, NULL, &v, NULL) != 0) {
        fprintf(stderr, "parse failed\n");
        exit(1);
      }
      sink += v->type;
      spk__arena_free(&a);
    }
    double dt = now() - t0;
    if (dt > 0.2) break;
    iters *= 2;
  }
  for (int round = 0; round < 5; round++) {
    double t0 = now();
    for (size_t i = 0; i < iters; i++) {
      spk__arena_t a;
      spk__arena_init(&a, 4096);
      spk_json_value_t *v;
      spk_json_parse(&a, doc, len, NULL, &v, NULL);
      sink += v->type;
      spk__arena_free(&a);
    }
    double mbs = (double)len * (double)iters / (now() - t0) / 1e6;
    if (mbs > best) best = mbs;
  }
  return best;
}

static double bench_write(const char *doc, size_t len) {
  spk__arena_t a;
  spk__arena_init(&a, 4096);
  spk_json_value_t *v;
  spk_json_parse_options_t o = {0, SPK_JSON_DUP_LAST_WINS};
  if (spk_json_parse(&a, doc, len, &o, &v, NULL) != 0) exit(1);
  spk__buf_t out = {0};
  size_t iters = 1;
  double best = 0;
  for (;;) {
    double t0 = now();
    for (size_t i = 0; i < iters; i++) {
      out.len = 0;
      spk_json_write(&out, v, 0);
    }
    if (now() - t0 > 0.2) break;
    iters *= 2;
  }
  for (int round = 0; round < 5; round++) {
    double t0 = now();
    for (size_t i = 0; i < iters; i++) {
      out.len = 0;
      spk_json_write(&out, v, 0);
      sink += out.len;
    }
    double mbs = (double)len * (double)iters / (now() - t0) / 1e6;
    if (mbs > best) best = mbs;
  }
  spk__buf_free(&out);
  spk__arena_free(&a);
  return best;
}

int main(int argc, char **argv) {
  if (argc >= 3 && strcmp(argv[1], "gen") == 0) return gen(argv[2]);
  if (argc >= 3 && strcmp(argv[1], "run") == 0) {
    for (int i = 2; i < argc; i++) {
      size_t len;
      char *doc = slurp(argv[i], &len);
      if (!doc) {
        fprintf(stderr, "cannot read %s\n", argv[i]);
        return 1;
      }
      double p = bench_parse(doc, len);
      double w = bench_write(doc, len);
      const char *base = strrchr(argv[i], '/');
      printf("%s %.1f %.1f\n", base ? base + 1 : argv[i], p, w);
      fflush(stdout);
      free(doc);
    }
    return 0;
  }
  fprintf(stderr, "usage: %s gen DIR | run FILE...\n", argv[0]);
  return 2;
}
