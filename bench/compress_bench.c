/* Compression cost per response: a ~10 KB JSON body encoded by spk_compress (encoder setup
 * included, as the middleware does it per response) for each codec at the default quality 6,
 * plus a few other levels for context. Prints a markdown table: median µs per response over
 * BATCHES batches of ITERS encodings, encoded size and ratio. Not a test; see
 * bench/compress_bench.sh. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/compress.h"

#define BATCHES 21
#define ITERS 100

static double now_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* A deterministic API-style JSON document of about `target` bytes. */
static char *json_body(size_t target, size_t *len) {
  static const char *const first[] = {"Alice", "Bob", "Carol", "Dave", "Erin", "Frank",
                                      "Grace", "Heidi", "Ivan", "Judy"};
  static const char *const city[] = {"Berlin", "Lisbon", "Osaka", "Toronto", "Nairobi", "Lima"};
  size_t cap = target + 512;
  char *p = malloc(cap);
  size_t n = (size_t)snprintf(p, cap, "{\"items\":[");
  unsigned seed = 42;
  for (int i = 0; n < target - 200; i++) {
    seed = seed * 1103515245u + 12345u;
    unsigned r = seed >> 8;
    n += (size_t)snprintf(
        p + n, cap - n,
        "%s{\"id\":%d,\"uuid\":\"%08x-%04x-4%03x-a%03x-%012x\",\"name\":\"%s %c.\","
        "\"email\":\"%s.%u@example.com\",\"city\":\"%s\",\"active\":%s,\"score\":%u.%02u,"
        "\"created_at\":\"2024-%02u-%02uT%02u:%02u:00Z\"}",
        i ? "," : "", 1000 + i, r, r & 0xffff, r & 0xfff, (r >> 4) & 0xfff, r * 7919u,
        first[r % 10], 'A' + (int)(r % 26), first[r % 10], r % 1000, city[r % 6],
        r & 1 ? "true" : "false", r % 100, r % 97, 1 + r % 12, 1 + r % 28, r % 24, r % 60);
  }
  n += (size_t)snprintf(p + n, cap - n, "],\"total\":%d}", 0);
  *len = n;
  return p;
}

int main(void) {
  size_t len;
  char *body = json_body(10240, &len);
  static const struct {
    spk_coding_t c;
    int level;
  } runs[] = {
      {SPK_CODING_GZIP, 6}, {SPK_CODING_DEFLATE, 6}, {SPK_CODING_BR, 6}, {SPK_CODING_ZSTD, 6},
      {SPK_CODING_GZIP, 1}, {SPK_CODING_BR, 4},      {SPK_CODING_BR, 11}, {SPK_CODING_ZSTD, 3},
  };
  printf("body: %zu bytes of JSON; median of %d batches x %d encodings (setup included)\n\n",
         len, BATCHES, ITERS);
  printf("| codec | level | µs per response | encoded bytes | ratio | MB/s |\n");
  printf("|---|---|---|---|---|---|\n");
  for (size_t i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
    spk__buf_t out = {0};
    double t[BATCHES];
    size_t size = 0;
    int iters = runs[i].c == SPK_CODING_BR && runs[i].level == 11 ? 5 : ITERS;
    for (int b = 0; b < BATCHES; b++) {
      double t0 = now_us();
      for (int k = 0; k < iters; k++) {
        out.len = 0;
        if (spk_compress(runs[i].c, runs[i].level, body, len, SIZE_MAX, &out) != 0) {
          fprintf(stderr, "compress failed\n");
          return 1;
        }
      }
      t[b] = (now_us() - t0) / iters;
      size = out.len;
    }
    qsort(t, BATCHES, sizeof(double), cmp);
    double med = t[BATCHES / 2];
    printf("| %s | %d | %.1f | %zu | %.2f | %.0f |\n", spk_coding_name(runs[i].c), runs[i].level,
           med, size, (double)len / (double)size, (double)len / med);
    spk__buf_free(&out);
  }
  /* What the per-response encoder setup alone costs (create + free, no data). */
  printf("\n| codec | level | setup µs (encoder create + free) |\n|---|---|---|\n");
  for (size_t i = 0; i < 4; i++) {
    double t[BATCHES];
    for (int b = 0; b < BATCHES; b++) {
      double t0 = now_us();
      for (int k = 0; k < ITERS; k++) {
        spk_encoder_t *e;
        if (spk_encoder_new(&e, runs[i].c, runs[i].level, len) != 0) return 1;
        spk__buf_t out = {0};
        spk_encoder_finish(e, NULL, 0, &out); /* zstd/brotli allocate lazily, on first use */
        spk__buf_free(&out);
        spk_encoder_free(e);
      }
      t[b] = (now_us() - t0) / ITERS;
    }
    qsort(t, BATCHES, sizeof(double), cmp);
    printf("| %s | %d | %.1f |\n", spk_coding_name(runs[i].c), runs[i].level, t[BATCHES / 2]);
  }
  free(body);
  return 0;
}
