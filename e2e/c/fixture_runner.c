/* spk-fixtures — replays REST fixtures (testing_data/CATEGORY/NAME.json) against Spikard, through
 * the in-memory test client, a real server over loopback, or both.
 *
 *   spk-fixtures --fixtures DIR [--fixtures DIR…] [--category NAME…] [--mode inproc|socket|both]
 *                [--tier 1|2] [--json FILE] [--verbose] [--allow-failures]
 *                [--floor FILE] [--write-floor FILE] [--timeout-ms N] [--only SUBSTRING]
 *
 * Every fixture gets its own app (route, contracts, canned handler — see fx_app.c). Fixtures
 * needing features the project lacks are PENDING (named, never counted as failed); non-REST
 * categories are NOT RUN. Output: a per-category table per mode, each failure with a one-line
 * diff, and a last line "N passed, N failed". Exit 1 on any failure (unless --allow-failures)
 * or when a category's tier-1 passes drop below --floor. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fx.h"

enum { MODE_INPROC = 0, MODE_SOCKET = 1, MODE_COUNT = 2 };
static const char *const mode_names[MODE_COUNT] = {"inproc", "socket"};

typedef enum { R_PASS, R_FAIL, R_PENDING, R_NOT_RUN } rkind_t;

typedef struct result {
  rkind_t kind;
  int tier1, tier2;
  char why[512];  /* reason for the selected tier (fail), pending feature, not-run reason */
  char why2[512]; /* tier-2 reason when tier 1 passed but tier 2 did not */
} result_t;

typedef struct counts {
  char *category;
  size_t passed, failed, pending, not_run, tier1, tier2;
} counts_t;

typedef struct opts {
  const char **dirs;
  size_t ndirs;
  const char **cats;
  size_t ncats;
  int modes[MODE_COUNT];
  int tier;
  const char *json;
  const char *floor;
  const char *write_floor;
  const char *only;
  int verbose;
  int allow_failures;
  int timeout_ms;
} opts_t;

static void usage(void) {
  fprintf(stderr,
          "usage: spk-fixtures --fixtures DIR [--fixtures DIR...] [--category NAME...]\n"
          "                    [--mode inproc|socket|both] [--tier 1|2] [--json FILE]\n"
          "                    [--verbose] [--allow-failures] [--floor FILE]\n"
          "                    [--write-floor FILE] [--timeout-ms N] [--only SUBSTRING]\n");
}

static int parse_args(int argc, char **argv, opts_t *o) {
  memset(o, 0, sizeof(*o));
  o->dirs = calloc((size_t)argc, sizeof(char *));
  o->cats = calloc((size_t)argc, sizeof(char *));
  o->modes[MODE_INPROC] = 1;
  o->tier = 1;
  o->timeout_ms = 5000;
  if (!o->dirs || !o->cats) return -1;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i];
    const char *v = i + 1 < argc ? argv[i + 1] : NULL;
#define NEEDS_VALUE()                                                 \
  do {                                                                \
    if (!v) {                                                         \
      fprintf(stderr, "spk-fixtures: %s needs a value\n", a);         \
      return -1;                                                      \
    }                                                                 \
    i++;                                                              \
  } while (0)
    if (strcmp(a, "--fixtures") == 0) {
      NEEDS_VALUE();
      o->dirs[o->ndirs++] = v;
    } else if (strcmp(a, "--category") == 0) {
      NEEDS_VALUE();
      o->cats[o->ncats++] = v;
    } else if (strcmp(a, "--mode") == 0) {
      NEEDS_VALUE();
      int in = strcmp(v, "inproc") == 0, so = strcmp(v, "socket") == 0, both = strcmp(v, "both") == 0;
      if (!in && !so && !both) {
        fprintf(stderr, "spk-fixtures: --mode must be inproc, socket or both\n");
        return -1;
      }
      o->modes[MODE_INPROC] = in || both;
      o->modes[MODE_SOCKET] = so || both;
    } else if (strcmp(a, "--tier") == 0) {
      NEEDS_VALUE();
      o->tier = atoi(v);
      if (o->tier != 1 && o->tier != 2) {
        fprintf(stderr, "spk-fixtures: --tier must be 1 or 2\n");
        return -1;
      }
    } else if (strcmp(a, "--json") == 0) {
      NEEDS_VALUE();
      o->json = v;
    } else if (strcmp(a, "--floor") == 0) {
      NEEDS_VALUE();
      o->floor = v;
    } else if (strcmp(a, "--write-floor") == 0) {
      NEEDS_VALUE();
      o->write_floor = v;
    } else if (strcmp(a, "--timeout-ms") == 0) {
      NEEDS_VALUE();
      o->timeout_ms = atoi(v);
      if (o->timeout_ms <= 0) o->timeout_ms = 5000;
    } else if (strcmp(a, "--only") == 0) {
      NEEDS_VALUE();
      o->only = v;
    } else if (strcmp(a, "--verbose") == 0 || strcmp(a, "-v") == 0) {
      o->verbose = 1;
    } else if (strcmp(a, "--allow-failures") == 0) {
      o->allow_failures = 1;
    } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
      usage();
      exit(0);
    } else {
      fprintf(stderr, "spk-fixtures: unknown argument %s\n", a);
      return -1;
    }
#undef NEEDS_VALUE
  }
  if (!o->ndirs) {
    usage();
    return -1;
  }
  return 0;
}

/* ---- running one fixture in one mode ---- */

static void show_request(const fx_request_t *req) {
  size_t n = req->bytes.len > 600 ? 600 : req->bytes.len;
  fprintf(stderr, "    request (%zu bytes):\n      ", req->bytes.len);
  for (size_t i = 0; i < n; i++) {
    char c = req->bytes.data[i];
    if (c == '\n')
      fputs("\n      ", stderr);
    else if (c != '\r')
      fputc((unsigned char)c >= 0x20 || c == '\t' ? c : '.', stderr);
  }
  fputc('\n', stderr);
}

static void show_response(const fx_response_t *res) {
  fprintf(stderr, "    response %d:", res->status);
  for (size_t i = 0; i < res->nheaders; i++)
    fprintf(stderr, "\n      %s: %s", res->headers[i].name, res->headers[i].value);
  fprintf(stderr, "\n      %.*s\n", (int)(res->body_len > 600 ? 600 : res->body_len),
          res->body ? res->body : "");
}

static void sleep_ms(long ms) {
  if (ms <= 0) return;
  struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) != 0) {
  }
}

/* handler.middleware.rate_limit directives (behaviour §1.7): send `warmup_requests` copies of the
 * request first, back to back, each expected to answer `warmup_expect_status` (default 200),
 * then wait `sleep_ms_between` ms before the real request. Same transport as the real request.
 * 0, or -1 with the reason. */
static int play_warmup(const opts_t *o, fx_fixture_t *fx, spk_app_t *app, int mode, int port,
                       const fx_request_t *req, char *why, size_t whylen) {
  const spk_json_value_t *rl = fx_get(fx_get(fx->handler, "middleware"), "rate_limit");
  const spk_json_value_t *n = fx_get(rl, "warmup_requests");
  const spk_json_value_t *st = fx_get(rl, "warmup_expect_status");
  const spk_json_value_t *gap = fx_get(rl, "sleep_ms_between");
  long count = fx_is(n, SPK_JSON_INT) ? (long)n->u.integer : 0;
  long expect = fx_is(st, SPK_JSON_INT) ? (long)st->u.integer : 200;
  long ms = fx_is(gap, SPK_JSON_INT) ? (long)gap->u.integer : 0;
  if (count > 10000) count = 10000;
  for (long i = 0; i < count; i++) {
    fx_response_t res;
    char err[512] = "";
    memset(&res, 0, sizeof(res));
    int rc = mode == MODE_SOCKET ? fx_send_socket(port, req, o->timeout_ms, &res, err, sizeof(err))
                                 : fx_send_inproc(app, req, &res, err, sizeof(err));
    if (rc != 0) {
      snprintf(why, whylen, "warm-up request %ld: %.400s", i + 1, err);
      return -1;
    }
    int status = res.status;
    fx_response_free(&res);
    if (status != expect) {
      snprintf(why, whylen, "warm-up request %ld: status %d, expected %ld", i + 1, status, expect);
      return -1;
    }
  }
  sleep_ms(ms);
  return 0;
}

static void run_mode(const opts_t *o, fx_fixture_t *fx, spk_app_t *app, int mode, result_t *r) {
  char err[512] = "";
  spk_server_t *srv = NULL;
  char host[64] = "localhost";
  int port = 0;
  if (mode == MODE_SOCKET) {
    spk_server_config_t cfg;
    spk_server_config_default(&cfg);
    cfg.host = "127.0.0.1";
    cfg.port = 0;
    cfg.workers = 1;
    cfg.handle_signals = 0;
    cfg.shutdown_timeout_ms = 1000;
    int rc = spk_server_new(&srv, app, &cfg);
    if (rc == SPK_OK) rc = spk_server_start(srv);
    if (rc != SPK_OK) {
      r->kind = R_FAIL;
      snprintf(r->why, sizeof(r->why), "server: %s (%s)", spk_err_name(rc), spk_strerror(rc));
      spk_server_free(srv);
      return;
    }
    port = spk_server_port(srv);
    snprintf(host, sizeof(host), "127.0.0.1:%d", port);
  }
  if (fx_ws_is_message_fixture(fx)) {
    int ok = fx_ws_run_messages(fx, app, port, o->timeout_ms, err, sizeof(err)) == 0;
    r->kind = ok ? R_PASS : R_FAIL;
    r->tier1 = r->tier2 = ok;
    if (!ok) snprintf(r->why, sizeof(r->why), "%s", err);
    spk_server_free(srv);
    return;
  }
  fx_request_t req;
  fx_response_t res;
  memset(&res, 0, sizeof(res));
  if (fx_request_build(fx, host, &req, err, sizeof(err)) != 0) {
    r->kind = R_FAIL;
    snprintf(r->why, sizeof(r->why), "request: %.400s", err);
    spk_server_free(srv);
    return;
  }
  int rc = play_warmup(o, fx, app, mode, port, &req, err, sizeof(err));
  if (rc == 0) rc = fx_bg_before(fx, app, port, o->timeout_ms, host, err, sizeof(err));
  if (rc == 0 && fx_get(fx->root, "websocket"))
    rc = fx_ws_session(fx, app, mode == MODE_SOCKET ? port : 0, &req, o->timeout_ms, &res, err,
                       sizeof(err));
  else if (rc == 0)
    rc = mode == MODE_SOCKET ? fx_send_socket(port, &req, o->timeout_ms, &res, err, sizeof(err))
                             : fx_send_inproc(app, &req, &res, err, sizeof(err));
  if (rc != 0) {
    r->kind = R_FAIL;
    snprintf(r->why, sizeof(r->why), "%s", err);
    if (o->verbose) show_request(&req);
  } else {
    fx_verdict_t v;
    fx_compare(fx, &res, &v);
    /* `background`: the tasks' effects, once the response is in (both tiers need them). */
    if ((v.tier1_ok || v.tier2_ok) &&
        fx_bg_check(fx, app, port, o->timeout_ms, v.tier1_why, sizeof(v.tier1_why)) != 0) {
      v.tier1_ok = v.tier2_ok = 0;
      snprintf(v.tier2_why, sizeof(v.tier2_why), "%s", v.tier1_why);
    }
    r->tier1 = v.tier1_ok;
    r->tier2 = v.tier2_ok;
    int ok = o->tier == 2 ? v.tier2_ok : v.tier1_ok;
    r->kind = ok ? R_PASS : R_FAIL;
    if (!v.tier1_ok)
      snprintf(r->why, sizeof(r->why), "%s", v.tier1_why);
    else if (!v.tier2_ok) {
      snprintf(r->why2, sizeof(r->why2), "%s", v.tier2_why);
      if (o->tier == 2) snprintf(r->why, sizeof(r->why), "%s", v.tier2_why);
    }
    if (o->verbose && !ok) {
      show_request(&req);
      show_response(&res);
    }
  }
  fx_response_free(&res);
  fx_request_free(&req);
  spk_server_free(srv);
}

static void run_fixture(const opts_t *o, fx_fixture_t *fx, result_t *rs /* [MODE_COUNT] */) {
  for (int m = 0; m < MODE_COUNT; m++) memset(&rs[m], 0, sizeof(rs[m]));
  rkind_t fixed = R_PASS;
  const char *why = NULL;
  if (fx->state == FX_PENDING) fixed = R_PENDING, why = fx->why;
  if (fx->state == FX_NOT_RUN) fixed = R_NOT_RUN, why = fx->why;
  if (fx->state == FX_BROKEN) fixed = R_FAIL, why = fx->why;
  if (fixed != R_PASS) {
    for (int m = 0; m < MODE_COUNT; m++) {
      rs[m].kind = fixed;
      snprintf(rs[m].why, sizeof(rs[m].why), "%s", why ? why : "");
    }
    return;
  }
  /* A fresh app per mode: middleware state (rate-limit buckets, singletons) must not leak from
   * one mode's run into the other's. */
  for (int m = 0; m < MODE_COUNT; m++) {
    if (!o->modes[m]) continue;
    char err[512] = "";
    spk_app_t *app = fx_app_build(fx, err, sizeof(err));
    if (!app) {
      fx_mw_cleanup(fx);
      fx_bg_cleanup(fx);
      rs[m].kind = R_FAIL;
      snprintf(rs[m].why, sizeof(rs[m].why), "%s", err);
      continue;
    }
    run_mode(o, fx, app, m, &rs[m]);
    spk_app_free(app);
    fx_mw_cleanup(fx); /* after the app: its static mounts hold the directories open */
    fx_bg_cleanup(fx); /* after the app: its tasks write into the state until it is freed */
  }
}

/* ---- aggregation and reports ---- */

static counts_t *counts_for(counts_t **arr, size_t *n, const char *category) {
  for (size_t i = 0; i < *n; i++)
    if (strcmp((*arr)[i].category, category) == 0) return &(*arr)[i];
  counts_t *grown = realloc(*arr, (*n + 1) * sizeof(**arr));
  if (!grown) return NULL;
  *arr = grown;
  counts_t *c = &grown[(*n)++];
  memset(c, 0, sizeof(*c));
  c->category = strdup(category);
  return c;
}

static void json_str(FILE *f, const char *s) {
  spk__buf_t b = {0};
  spk_json_write_string(&b, s, strlen(s));
  fwrite(b.data ? b.data : "\"\"", 1, b.data ? b.len : 2, f);
  spk__buf_free(&b);
}

static const char *kind_name(rkind_t k) {
  switch (k) {
  case R_PASS: return "pass";
  case R_FAIL: return "fail";
  case R_PENDING: return "pending";
  default: return "not_run";
  }
}

static int write_json(const opts_t *o, const fx_list_t *list, result_t (*results)[MODE_COUNT],
                      counts_t *const *counts, const size_t *ncounts) {
  FILE *f = fopen(o->json, "w");
  if (!f) {
    perror(o->json);
    return -1;
  }
  fprintf(f, "{\n  \"tier\": %d,\n  \"modes\": [", o->tier);
  int first = 1;
  for (int m = 0; m < MODE_COUNT; m++)
    if (o->modes[m]) fprintf(f, "%s\"%s\"", first ? "" : ", ", mode_names[m]), first = 0;
  fprintf(f, "],\n  \"summary\": {");
  first = 1;
  for (int m = 0; m < MODE_COUNT; m++) {
    if (!o->modes[m]) continue;
    fprintf(f, "%s\n    \"%s\": {", first ? "" : ",", mode_names[m]);
    first = 0;
    for (size_t i = 0; i < ncounts[m]; i++) {
      const counts_t *c = &counts[m][i];
      fprintf(f, "%s\n      ", i ? "," : "");
      json_str(f, c->category);
      fprintf(f,
              ": {\"passed\": %zu, \"failed\": %zu, \"pending\": %zu, \"not_run\": %zu, "
              "\"tier1_passed\": %zu, \"tier2_passed\": %zu}",
              c->passed, c->failed, c->pending, c->not_run, c->tier1, c->tier2);
    }
    fprintf(f, "\n    }");
  }
  fprintf(f, "\n  },\n  \"fixtures\": [");
  first = 1;
  for (size_t i = 0; i < list->len; i++) {
    const fx_fixture_t *fx = list->items[i];
    for (int m = 0; m < MODE_COUNT; m++) {
      if (!o->modes[m]) continue;
      const result_t *r = &results[i][m];
      fprintf(f, "%s\n    {\"id\": ", first ? "" : ",");
      first = 0;
      json_str(f, fx->id);
      fprintf(f, ", \"category\": ");
      json_str(f, fx->category);
      fprintf(f, ", \"mode\": \"%s\", \"result\": \"%s\"", mode_names[m], kind_name(r->kind));
      if (r->kind == R_PASS || r->kind == R_FAIL)
        fprintf(f, ", \"tier1\": %s, \"tier2\": %s", r->tier1 ? "true" : "false",
                r->tier2 ? "true" : "false");
      if (r->why[0]) {
        fprintf(f, ", \"reason\": ");
        json_str(f, r->why);
      }
      if (r->why2[0]) {
        fprintf(f, ", \"tier2_reason\": ");
        json_str(f, r->why2);
      }
      fputc('}', f);
    }
  }
  fprintf(f, "\n  ]\n}\n");
  return fclose(f) == 0 ? 0 : -1;
}

/* --floor: every listed category (that this run covers) keeps at least its tier-1 passes. */
static int check_floor(const opts_t *o, counts_t *const *counts, const size_t *ncounts) {
  FILE *f = fopen(o->floor, "rb");
  if (!f) {
    perror(o->floor);
    return -1;
  }
  spk__buf_t b = {0};
  char chunk[8192];
  size_t n;
  while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) spk__buf_append(&b, chunk, n);
  fclose(f);
  spk__arena_t a;
  spk__arena_init(&a, 4096);
  spk_json_value_t *root = NULL;
  int rc = spk_json_parse(&a, b.data ? b.data : "", b.len, NULL, &root, NULL);
  spk__buf_free(&b);
  int bad = 0;
  if (rc != SPK_OK || !fx_is(root, SPK_JSON_OBJECT)) {
    fprintf(stderr, "spk-fixtures: %s: not a JSON object of category -> count\n", o->floor);
    bad = -1;
  } else {
    for (size_t i = 0; i < root->u.object.len; i++) {
      const spk_json_member_t *m = &root->u.object.members[i];
      if (m->value->type != SPK_JSON_INT) continue;
      if (o->ncats) {
        size_t k = 0;
        while (k < o->ncats && strcmp(o->cats[k], m->key.ptr) != 0) k++;
        if (k == o->ncats) continue;
      }
      for (int md = 0; md < MODE_COUNT; md++) {
        if (!o->modes[md]) continue;
        size_t have = 0;
        for (size_t c = 0; c < ncounts[md]; c++)
          if (strcmp(counts[md][c].category, m->key.ptr) == 0) have = counts[md][c].tier1;
        if ((long long)have < m->value->u.integer) {
          printf("floor: %s (%s): %zu tier-1 passes, floor is %lld\n", m->key.ptr,
                 mode_names[md], have, (long long)m->value->u.integer);
          bad = 1;
        }
      }
    }
  }
  spk__arena_free(&a);
  return bad;
}

static int write_floor(const opts_t *o, counts_t *const *counts, const size_t *ncounts) {
  FILE *f = fopen(o->write_floor, "w");
  if (!f) {
    perror(o->write_floor);
    return -1;
  }
  int first_mode = o->modes[MODE_INPROC] ? MODE_INPROC : MODE_SOCKET;
  fprintf(f, "{");
  int first = 1;
  for (size_t i = 0; i < ncounts[first_mode]; i++) {
    const counts_t *c = &counts[first_mode][i];
    if (!c->passed && !c->failed && !c->pending) continue; /* not a REST category */
    size_t floor = c->tier1;
    for (int m = 0; m < MODE_COUNT; m++) {
      if (!o->modes[m] || m == first_mode) continue;
      for (size_t k = 0; k < ncounts[m]; k++)
        if (strcmp(counts[m][k].category, c->category) == 0 && counts[m][k].tier1 < floor)
          floor = counts[m][k].tier1;
    }
    fprintf(f, "%s\n  ", first ? "" : ",");
    first = 0;
    json_str(f, c->category);
    fprintf(f, ": %zu", floor);
  }
  fprintf(f, "\n}\n");
  return fclose(f) == 0 ? 0 : -1;
}

int main(int argc, char **argv) {
  opts_t o;
  if (parse_args(argc, argv, &o) != 0) {
    free(o.dirs);
    free(o.cats);
    return 2;
  }
  fx_list_t list = {0};
  for (size_t i = 0; i < o.ndirs; i++)
    if (fx_load_dir(o.dirs[i], o.cats, o.ncats, &list) != 0) {
      fx_list_free(&list);
      free(o.dirs);
      free(o.cats);
      return 2;
    }
  /* --only keeps matching ids (a debugging aid). */
  if (o.only) {
    size_t k = 0;
    for (size_t i = 0; i < list.len; i++) {
      if (strstr(list.items[i]->id, o.only)) {
        list.items[k++] = list.items[i];
      } else {
        fx_fixture_free(list.items[i]);
      }
    }
    list.len = k;
  }

  result_t(*results)[MODE_COUNT] = calloc(list.len + 1, sizeof(*results));
  counts_t *counts[MODE_COUNT] = {NULL, NULL};
  size_t ncounts[MODE_COUNT] = {0, 0};
  if (!results) return 2;
  for (size_t i = 0; i < list.len; i++) {
    fx_fixture_t *fx = list.items[i];
    run_fixture(&o, fx, results[i]);
    for (int m = 0; m < MODE_COUNT; m++) {
      if (!o.modes[m]) continue;
      result_t *r = &results[i][m];
      counts_t *c = counts_for(&counts[m], &ncounts[m], fx->category);
      if (!c) continue;
      switch (r->kind) {
      case R_PASS: c->passed++; break;
      case R_FAIL: c->failed++; break;
      case R_PENDING: c->pending++; break;
      default: c->not_run++; break;
      }
      c->tier1 += (size_t)(r->kind <= R_FAIL && r->tier1);
      c->tier2 += (size_t)(r->kind <= R_FAIL && r->tier2);
      if (o.verbose)
        fprintf(stderr, "%-8s %-6s %s%s%s\n",
                r->kind == R_PASS ? "PASS" : r->kind == R_FAIL ? "FAIL"
                                         : r->kind == R_PENDING ? "PENDING" : "NOT-RUN",
                mode_names[m], fx->id, r->why[0] ? ": " : "", r->why);
    }
  }

  /* Tables. */
  size_t total_pass = 0, total_fail = 0;
  for (int m = 0; m < MODE_COUNT; m++) {
    if (!o.modes[m]) continue;
    printf("\n== %s (tier %d) ==\n", mode_names[m], o.tier);
    printf("%-20s %7s %7s %8s %8s   %7s %7s\n", "category", "passed", "failed", "pending",
           "not-run", "tier-1", "tier-2");
    counts_t sum = {0};
    for (size_t i = 0; i < ncounts[m]; i++) {
      const counts_t *c = &counts[m][i];
      if (!c->passed && !c->failed && !c->pending) {
        printf("%-20s %7s %7s %8s %8zu   (not REST)\n", c->category, "-", "-", "-", c->not_run);
      } else {
        printf("%-20s %7zu %7zu %8zu %8zu   %7zu %7zu\n", c->category, c->passed, c->failed,
               c->pending, c->not_run, c->tier1, c->tier2);
      }
      sum.passed += c->passed, sum.failed += c->failed, sum.pending += c->pending;
      sum.not_run += c->not_run, sum.tier1 += c->tier1, sum.tier2 += c->tier2;
    }
    printf("%-20s %7zu %7zu %8zu %8zu   %7zu %7zu\n", "TOTAL", sum.passed, sum.failed,
           sum.pending, sum.not_run, sum.tier1, sum.tier2);
    total_pass += sum.passed;
    total_fail += sum.failed;
  }

  /* Pending features, by name. */
  {
    const char *names[64];
    size_t nums[64], nn = 0;
    for (size_t i = 0; i < list.len; i++) {
      if (list.items[i]->state != FX_PENDING) continue;
      const char *w = list.items[i]->why;
      size_t k = 0;
      while (k < nn && strcmp(names[k], w) != 0) k++;
      if (k == nn && nn < 64) names[nn] = w, nums[nn++] = 0;
      if (k < 64) nums[k]++;
    }
    if (nn) {
      printf("\npending (missing features):");
      for (size_t k = 0; k < nn; k++) printf("%s %s (%zu)", k ? "," : "", names[k], nums[k]);
      printf("\n");
    }
  }

  /* Failures, one line each ("[both]" when the modes agree). */
  if (total_fail) printf("\nfailures:\n");
  for (size_t i = 0; i < list.len; i++) {
    const result_t *ri = &results[i][MODE_INPROC], *rs = &results[i][MODE_SOCKET];
    int fi = o.modes[MODE_INPROC] && ri->kind == R_FAIL;
    int fs = o.modes[MODE_SOCKET] && rs->kind == R_FAIL;
    if (fi && fs && strcmp(ri->why, rs->why) == 0) {
      printf("  %s: %s%s\n", list.items[i]->id, ri->why,
             o.modes[MODE_INPROC] && o.modes[MODE_SOCKET] ? " [both]" : "");
      continue;
    }
    int both = o.modes[MODE_INPROC] && o.modes[MODE_SOCKET];
    if (fi) printf("  %s: %s%s\n", list.items[i]->id, ri->why, both ? " [inproc]" : "");
    if (fs) printf("  %s: %s%s\n", list.items[i]->id, rs->why, both ? " [socket]" : "");
  }
  /* Tier-1 passes that miss tier 2 (only informative in tier-1 runs). */
  if (o.tier == 1 && o.verbose)
    for (size_t i = 0; i < list.len; i++)
      for (int m = 0; m < MODE_COUNT; m++)
        if (o.modes[m] && results[i][m].kind == R_PASS && results[i][m].why2[0])
          printf("  tier-2 only: %s: %s [%s]\n", list.items[i]->id, results[i][m].why2,
                 mode_names[m]);

  int exit_code = 0;
  if (o.json && write_json(&o, &list, results, counts, ncounts) != 0)
    exit_code = 2;
  if (o.floor) {
    int fr = check_floor(&o, counts, ncounts);
    if (fr != 0) exit_code = 1;
  }
  if (o.write_floor && write_floor(&o, counts, ncounts) != 0) exit_code = 2;
  if (total_fail && !o.allow_failures && exit_code == 0) exit_code = 1;

  printf("\n%zu passed, %zu failed\n", total_pass, total_fail);

  for (int m = 0; m < MODE_COUNT; m++) {
    for (size_t i = 0; i < ncounts[m]; i++) free(counts[m][i].category);
    free(counts[m]);
  }
  free(results);
  fx_list_free(&list);
  free(o.dirs);
  free(o.cats);
  return exit_code;
}
