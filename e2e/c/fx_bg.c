/* Fixture runner — the `background` section: a state a GET endpoint shows, filled by
 * background tasks and by dependency cleanups, and the check that it ends up as expected.
 *
 *   "background": {"state_path": "/events/state", "state_key": "events",
 *                  "value_field": "event", "expected_state": ["signup"],
 *                  "fail_values": ["broken"], "task_sleep_ms": 50, "before": [request…]}
 *
 * As a binding's handler would (behaviour §1.7): the route's handler spawns a background task
 * (spk_bg_spawn) per value of body[value_field] — one for a scalar, one per element, in order,
 * for an array — which appends the value to the app's state; then it answers. A value listed
 * in `fail_values` makes its task fail (the failure is logged by the core; the value is not
 * appended); `task_sleep_ms` makes every task take that long. A spawn refused by a full queue
 * is returned to the core (503). `GET state_path` answers {state_key: [values…]}.
 *
 * Dependencies with `"cleanup": true` (the generator pattern) append "<resource>_opened" when
 * their factory runs and "<resource>_closed" when the core drops them after the response; the
 * resource is the provider name's last word, or its first for `X_connection`
 * (db_session → session, cache_connection → cache).
 *
 * The hook `spawn_background_task` (lifecycle_hooks) spawns a task appending the hook's name
 * (except for the runner's own GETs of state_path).
 *
 * After the fixture's response has been compared, the runner checks the state: in process it
 * drains the test client (spk_test_client_drain) and reads the state once; over a socket it
 * polls `state_path` until the state matches or the timeout passes. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fx.h"

struct fx_bg {
  pthread_mutex_t mu;
  char **values; /* JSON texts, heap */
  size_t len, cap;
  const spk_json_value_t *section;
  const char *value_field;
  const char *state_key;
  long sleep_ms;
};

static void push_value(fx_bg_t *st, const char *json, size_t len) {
  char *copy = malloc(len + 1);
  if (!copy) return;
  memcpy(copy, json, len);
  copy[len] = '\0';
  pthread_mutex_lock(&st->mu);
  if (st->len == st->cap) {
    size_t cap = st->cap ? st->cap * 2 : 8;
    char **n = realloc(st->values, cap * sizeof(*n));
    if (!n) {
      pthread_mutex_unlock(&st->mu);
      free(copy);
      return;
    }
    st->values = n;
    st->cap = cap;
  }
  st->values[st->len++] = copy;
  pthread_mutex_unlock(&st->mu);
}

static void push_string(fx_bg_t *st, const char *s) {
  spk__buf_t b = {0};
  spk_json_write_string(&b, s, strlen(s));
  if (b.data) push_value(st, b.data, b.len);
  spk__buf_free(&b);
}

/* ---- the state endpoint ---- */

static int state_handler(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  fx_bg_t *st = ud;
  spk__buf_t b = {0};
  spk__buf_append_char(&b, '{');
  spk_json_write_string(&b, st->state_key, strlen(st->state_key));
  spk__buf_append_str(&b, ":[");
  pthread_mutex_lock(&st->mu);
  for (size_t i = 0; i < st->len; i++) {
    if (i) spk__buf_append_char(&b, ',');
    spk__buf_append_str(&b, st->values[i]);
  }
  pthread_mutex_unlock(&st->mu);
  spk__buf_append_str(&b, "]}");
  int rc = b.data ? spk_res_send(res, 200, "application/json", b.data, b.len) : SPK_ENOMEM;
  spk__buf_free(&b);
  return rc;
}

/* ---- tasks ---- */

typedef struct bg_job {
  fx_bg_t *st;
  int fail;
  long sleep_ms;
  size_t len;
  char json[];
} bg_job_t;

static int job_run(spk_bg_task_t *task, void *data) {
  bg_job_t *j = data;
  if (j->sleep_ms > 0) {
    struct timespec ts = {j->sleep_ms / 1000, (j->sleep_ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
  }
  if (j->fail) {
    spk_bg_task_error(task, "the fixture's fail_values lists this value");
    return SPK_EIO;
  }
  push_value(j->st, j->json, j->len);
  return 0;
}

static int is_fail_value(const fx_bg_t *st, const spk_json_value_t *v) {
  const spk_json_value_t *list = fx_get(st->section, "fail_values");
  if (!fx_is(list, SPK_JSON_ARRAY)) return 0;
  for (size_t i = 0; i < list->u.array.len; i++)
    if (spk_json_equal(list->u.array.items[i], v)) return 1;
  return 0;
}

/* Spawn one task appending `v`. The task owns a copy of its JSON text (the request, and the
 * DOM parsed from its body, are gone when it runs). */
static int spawn_value(fx_bg_t *st, spk_req_t *req, const spk_json_value_t *v) {
  spk__buf_t b = {0};
  if (spk_json_write(&b, v, 0) != SPK_OK || !b.data) {
    spk__buf_free(&b);
    return SPK_ENOMEM;
  }
  bg_job_t *j = malloc(sizeof(*j) + b.len + 1);
  if (!j) {
    spk__buf_free(&b);
    return SPK_ENOMEM;
  }
  j->st = st;
  j->fail = is_fail_value(st, v);
  j->sleep_ms = st->sleep_ms;
  j->len = b.len;
  memcpy(j->json, b.data, b.len);
  j->json[b.len] = '\0';
  spk__buf_free(&b);
  int rc = spk_bg_spawn(req, job_run, j, free);
  if (rc < 0) free(j);
  return rc;
}

int fx_bg_spawn_from_body(fx_fixture_t *fx, spk_req_t *req) {
  fx_bg_t *st = fx->bg;
  if (!st || !st->value_field) return SPK_OK;
  spk_str_t body = spk_req_body(req);
  if (!body.len) return SPK_OK;
  spk__arena_t a;
  spk__arena_init(&a, 1024);
  spk_json_value_t *root = NULL;
  int rc = SPK_OK;
  if (spk_json_parse(&a, body.ptr, body.len, NULL, &root, NULL) == SPK_OK) {
    const spk_json_value_t *v = fx_get(root, st->value_field);
    if (fx_is(v, SPK_JSON_ARRAY)) {
      for (size_t i = 0; i < v->u.array.len && rc == SPK_OK; i++)
        rc = spawn_value(st, req, v->u.array.items[i]);
    } else if (v) {
      rc = spawn_value(st, req, v);
    }
  }
  spk__arena_free(&a);
  return rc;
}

int fx_bg_spawn_string(fx_fixture_t *fx, spk_req_t *req, const char *value) {
  if (!fx->bg) return SPK_OK;
  /* The runner's own reads of the state are not part of the scenario (a hook runs for them
   * too, and polling would keep adding to what it reads). */
  const char *state_path = fx_get_str(fx->bg->section, "state_path");
  spk_str_t path = spk_req_path(req);
  if (state_path && path.len == strlen(state_path) && memcmp(path.ptr, state_path, path.len) == 0)
    return SPK_OK;
  spk_json_value_t v = {.type = SPK_JSON_STRING};
  v.u.string.ptr = value;
  v.u.string.len = strlen(value);
  return spawn_value(fx->bg, req, &v);
}

/* ---- dependency cleanup events ---- */

typedef struct fx_cleanup {
  fx_bg_t *st;
  spk_dep_factory_fn factory;
  void *user_data;
  char resource[64];
} fx_cleanup_t;

static int cleanup_factory(spk_req_t *req, spk_dep_t *dep, void *ud) {
  fx_cleanup_t *c = ud;
  char ev[80];
  snprintf(ev, sizeof(ev), "%s_opened", c->resource);
  push_string(c->st, ev);
  return c->factory(req, dep, c->user_data);
}

static void cleanup_drop(void *value, void *drop_data) {
  (void)value;
  fx_cleanup_t *c = drop_data;
  char ev[80];
  snprintf(ev, sizeof(ev), "%s_closed", c->resource);
  push_string(c->st, ev);
}

int fx_bg_wrap_cleanup(fx_fixture_t *fx, const spk_json_value_t *d, spk_dep_def_t *def) {
  const spk_json_value_t *cl = fx_get(d, "cleanup");
  if (!fx->bg || !def->factory || !fx_is(cl, SPK_JSON_BOOL) || !cl->u.boolean) return 0;
  fx_cleanup_t *c = spk__arena_calloc(&fx->arena, sizeof(*c));
  if (!c) return -1;
  c->st = fx->bg;
  c->factory = def->factory;
  c->user_data = def->user_data;
  const char *name = def->name;
  const char *us = strrchr(name, '_');
  if (us && strcmp(us, "_connection") == 0)
    snprintf(c->resource, sizeof(c->resource), "%.*s", (int)(strchr(name, '_') - name), name);
  else
    snprintf(c->resource, sizeof(c->resource), "%s", us ? us + 1 : name);
  def->factory = cleanup_factory;
  def->user_data = c;
  def->drop = cleanup_drop;
  def->drop_data = c;
  return 0;
}

/* ---- set-up, check, clean-up ---- */

int fx_bg_setup(fx_fixture_t *fx, spk_app_t *app, char *err, size_t errlen) {
  fx_bg_cleanup(fx);
  const spk_json_value_t *sec = fx_get(fx->root, "background");
  if (!sec) return 0;
  const char *path = fx_get_str(sec, "state_path");
  const char *key = fx_get_str(sec, "state_key");
  if (!path || !key) {
    snprintf(err, errlen, "background: state_path and state_key are required");
    return -1;
  }
  fx_bg_t *st = calloc(1, sizeof(*st));
  if (!st) return -1;
  pthread_mutex_init(&st->mu, NULL);
  st->section = sec;
  st->state_key = key;
  st->value_field = fx_get_str(sec, "value_field");
  const spk_json_value_t *sl = fx_get(sec, "task_sleep_ms");
  if (fx_is(sl, SPK_JSON_INT) && sl->u.integer > 0 && sl->u.integer < 10000)
    st->sleep_ms = (long)sl->u.integer;
  fx->bg = st;
  int rc = spk_app_route(app, "GET", path, state_handler, st);
  if (rc != SPK_OK && rc != SPK_EEXIST) {
    snprintf(err, errlen, "background: route GET %s: %s", path, spk_err_name(rc));
    return -1;
  }
  return 0;
}

void fx_bg_cleanup(fx_fixture_t *fx) {
  fx_bg_t *st = fx->bg;
  if (!st) return;
  for (size_t i = 0; i < st->len; i++) free(st->values[i]);
  free(st->values);
  pthread_mutex_destroy(&st->mu);
  free(st);
  fx->bg = NULL;
}

static long now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* The state in `res` against expected_state: 1 equal, 0 not (why filled). */
static int state_matches(const fx_fixture_t *fx, const fx_response_t *res, char *why,
                         size_t whylen) {
  const spk_json_value_t *sec = fx_get(fx->root, "background");
  const spk_json_value_t *expected = fx_get(sec, "expected_state");
  const char *key = fx_get_str(sec, "state_key");
  spk__arena_t a;
  spk__arena_init(&a, 1024);
  spk_json_value_t *root = NULL;
  int ok = 0;
  if (res->status != 200) {
    snprintf(why, whylen, "background: GET state answered %d", res->status);
  } else if (spk_json_parse(&a, res->body ? res->body : "", res->body_len, NULL, &root, NULL)) {
    snprintf(why, whylen, "background: the state is not JSON");
  } else {
    const spk_json_value_t *got = fx_get(root, key);
    ok = got && expected && spk_json_equal(got, expected);
    if (!ok) {
      char *e = expected ? fx_json_text(&a, expected, NULL) : NULL;
      snprintf(why, whylen, "background: state %.*s, expected %.200s", (int)(res->body_len > 200 ? 200 : res->body_len),
               res->body ? res->body : "", e ? e : "(none)");
    }
  }
  spk__arena_free(&a);
  return ok;
}

int fx_bg_check(fx_fixture_t *fx, spk_app_t *app, int socket_port, int timeout_ms, char *why,
                size_t whylen) {
  const spk_json_value_t *sec = fx_get(fx->root, "background");
  if (!sec || !fx->bg) return 0;
  fx_request_t req;
  char err[512] = "";
  spk__buf_t b = {0};
  spk__buf_append_str(&b, "GET ");
  spk__buf_append_str(&b, fx_get_str(sec, "state_path"));
  spk__buf_append_str(&b, " HTTP/1.1\r\nHost: localhost\r\n\r\n");
  memset(&req, 0, sizeof(req));
  req.bytes = b;
  int result = -1;
  if (socket_port == 0) {
    spk_test_client_t *tc = spk_test_client_new(app);
    int rc = tc ? spk_test_client_drain(tc, (uint32_t)timeout_ms) : SPK_ENOMEM;
    spk_test_client_free(tc);
    fx_response_t res;
    memset(&res, 0, sizeof(res));
    if (rc != SPK_OK)
      snprintf(why, whylen, "background: tasks did not drain (%s)", spk_err_name(rc));
    else if (fx_send_inproc(app, &req, &res, err, sizeof(err)) != 0)
      snprintf(why, whylen, "background: GET state: %.400s", err);
    else if (state_matches(fx, &res, why, whylen))
      result = 0;
    fx_response_free(&res);
  } else {
    /* The server queues a request's tasks once its response is written, which may be just
     * after the client read it: poll. */
    long deadline = now_ms() + timeout_ms;
    for (;;) {
      spk_app_bg_wait(app, 50);
      fx_response_t res;
      memset(&res, 0, sizeof(res));
      int sent = fx_send_socket(socket_port, &req, timeout_ms, &res, err, sizeof(err));
      int ok = sent == 0 && state_matches(fx, &res, why, whylen);
      if (sent != 0) snprintf(why, whylen, "background: GET state: %.400s", err);
      fx_response_free(&res);
      if (ok) {
        result = 0;
        break;
      }
      if (now_ms() >= deadline) break;
      struct timespec ts = {0, 10 * 1000000L};
      nanosleep(&ts, NULL);
    }
  }
  spk__buf_free(&req.bytes);
  return result;
}

/* `background.before`: [{request, expect_status?}] sent first (other jobs), each expected to
 * answer its `expect_status` (default: any status). */
int fx_bg_before(fx_fixture_t *fx, spk_app_t *app, int socket_port, int timeout_ms,
                 const char *host, char *why, size_t whylen) {
  const spk_json_value_t *list = fx_get(fx_get(fx->root, "background"), "before");
  if (!fx_is(list, SPK_JSON_ARRAY)) return 0;
  const spk_json_value_t *saved = fx->request;
  int result = 0;
  for (size_t i = 0; i < list->u.array.len && result == 0; i++) {
    const spk_json_value_t *item = list->u.array.items[i];
    fx->request = fx_get(item, "request");
    if (!fx_is(fx->request, SPK_JSON_OBJECT)) {
      snprintf(why, whylen, "background.before[%zu]: no request", i);
      result = -1;
      break;
    }
    fx_request_t req;
    fx_response_t res;
    memset(&res, 0, sizeof(res));
    char err[512] = "";
    if (fx_request_build(fx, host, &req, err, sizeof(err)) != 0) {
      snprintf(why, whylen, "background.before[%zu]: %.400s", i, err);
      result = -1;
      break;
    }
    int rc = socket_port ? fx_send_socket(socket_port, &req, timeout_ms, &res, err, sizeof(err))
                         : fx_send_inproc(app, &req, &res, err, sizeof(err));
    const spk_json_value_t *want = fx_get(item, "expect_status");
    if (rc != 0) {
      snprintf(why, whylen, "background.before[%zu]: %.400s", i, err);
      result = -1;
    } else if (fx_is(want, SPK_JSON_INT) && res.status != want->u.integer) {
      snprintf(why, whylen, "background.before[%zu]: status %d, expected %lld", i, res.status,
               (long long)want->u.integer);
      result = -1;
    }
    fx_response_free(&res);
    fx_request_free(&req);
  }
  fx->request = saved;
  return result;
}
