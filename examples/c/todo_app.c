/* The Spikard example app: an in-memory todo API plus GET /json.
 *
 *   GET    /json              {"message":"Hello, World!"}
 *   GET    /todos             list
 *   POST   /todos             create from the raw body text: {"id":1,"title":"<body>","done":false}
 *   GET    /todos/{id:int}    one todo or 404
 *   DELETE /todos/{id:int}    204 or 404
 *   GET    /events, /events/ticker, /export.ndjson   see realtime_routes.h
 *
 * Usage: spikard-example [--host H] [--port N] [--workers N]
 * Handlers run on several worker threads, so the store takes a lock. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <spikard.h>

#include "realtime_routes.h"
#include "ws_routes.h"

#define MAX_TODOS 1024
#define MAX_TITLE 256

typedef struct todo {
  int64_t id;
  char title[MAX_TITLE];
  int done;
} todo_t;

typedef struct store {
  pthread_mutex_t mu;
  todo_t items[MAX_TODOS];
  size_t count;
  int64_t next_id;
} store_t;

static const char hello_json[] = "{\"message\":\"Hello, World!\"}";

static int get_json(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  (void)ud;
  /* Static bytes: no copy. */
  spk_res_header(res, "Content-Type", "application/json");
  return spk_res_body_ref(res, hello_json, sizeof(hello_json) - 1, NULL, NULL);
}

static void write_todo(spk_json_writer_t *w, const todo_t *t) {
  spk_json_object_open(w);
  spk_json_key(w, "id");
  spk_json_int(w, t->id);
  spk_json_key(w, "title");
  spk_json_string(w, t->title);
  spk_json_key(w, "done");
  spk_json_bool(w, t->done);
  spk_json_object_close(w);
}

static int list_todos(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  store_t *s = ud;
  spk_json_writer_t *w = spk_res_json_begin(res);
  if (!w) return SPK_ENOMEM;
  spk_json_array_open(w);
  pthread_mutex_lock(&s->mu);
  for (size_t i = 0; i < s->count; i++) write_todo(w, &s->items[i]);
  pthread_mutex_unlock(&s->mu);
  spk_json_array_close(w);
  return spk_res_json_end(w);
}

static int create_todo(spk_req_t *req, spk_res_t *res, void *ud) {
  store_t *s = ud;
  spk_str_t body = spk_req_body(req);
  if (body.len == 0 || body.len >= MAX_TITLE)
    return spk_res_problem(res, 400, "bad-request", "Bad Request",
                           "The body must be the todo title (1 to 255 bytes)");
  todo_t t = {0};
  pthread_mutex_lock(&s->mu);
  if (s->count == MAX_TODOS) {
    pthread_mutex_unlock(&s->mu);
    return spk_res_problem(res, 507, "insufficient-storage", "Insufficient Storage",
                           "The todo list is full");
  }
  t.id = s->next_id++;
  memcpy(t.title, body.ptr, body.len);
  s->items[s->count++] = t;
  pthread_mutex_unlock(&s->mu);
  spk_json_writer_t *w = spk_res_json_begin(res);
  if (!w) return SPK_ENOMEM;
  write_todo(w, &t);
  int rc = spk_res_json_end(w);
  return rc ? rc : spk_res_status(res, 201);
}

static int find(store_t *s, int64_t id) {
  for (size_t i = 0; i < s->count; i++)
    if (s->items[i].id == id) return (int)i;
  return -1;
}

static int not_found(spk_res_t *res, int64_t id) {
  char detail[96];
  snprintf(detail, sizeof(detail), "Todo with ID %lld was not found", (long long)id);
  return spk_res_problem(res, 404, "not-found", "Todo Not Found", detail);
}

static int get_todo(spk_req_t *req, spk_res_t *res, void *ud) {
  store_t *s = ud;
  int64_t id;
  if (spk_req_param_int(req, "id", &id)) return SPK_EINVAL; /* the router checked the type */
  pthread_mutex_lock(&s->mu);
  int i = find(s, id);
  todo_t t = i >= 0 ? s->items[i] : (todo_t){0};
  pthread_mutex_unlock(&s->mu);
  if (i < 0) return not_found(res, id);
  spk_json_writer_t *w = spk_res_json_begin(res);
  if (!w) return SPK_ENOMEM;
  write_todo(w, &t);
  return spk_res_json_end(w);
}

static int delete_todo(spk_req_t *req, spk_res_t *res, void *ud) {
  store_t *s = ud;
  int64_t id;
  if (spk_req_param_int(req, "id", &id)) return SPK_EINVAL;
  pthread_mutex_lock(&s->mu);
  int i = find(s, id);
  if (i >= 0) memmove(&s->items[i], &s->items[i + 1], (s->count - (size_t)i - 1) * sizeof(todo_t));
  if (i >= 0) s->count--;
  pthread_mutex_unlock(&s->mu);
  if (i < 0) return not_found(res, id);
  return spk_res_status(res, 204);
}

int main(int argc, char **argv) {
  spk_server_config_t cfg;
  spk_server_config_default(&cfg);
  for (int i = 1; i + 1 < argc; i += 2) {
    if (strcmp(argv[i], "--host") == 0) cfg.host = argv[i + 1];
    else if (strcmp(argv[i], "--port") == 0) cfg.port = atoi(argv[i + 1]);
    else if (strcmp(argv[i], "--workers") == 0) cfg.workers = atoi(argv[i + 1]);
    else {
      fprintf(stderr, "usage: %s [--host H] [--port N] [--workers N]\n", argv[0]);
      return 2;
    }
  }
  static store_t store = {.mu = PTHREAD_MUTEX_INITIALIZER, .next_id = 1};
  spk_app_t *app = spk_app_new();
  if (!app) return 1;
  int rc = spk_app_route(app, "GET", "/json", get_json, NULL);
  if (!rc) rc = spk_app_route(app, "GET", "/todos", list_todos, &store);
  if (!rc) rc = spk_app_route(app, "POST", "/todos", create_todo, &store);
  if (!rc) rc = spk_app_route(app, "GET", "/todos/{id:int}", get_todo, &store);
  if (!rc) rc = spk_app_route(app, "DELETE", "/todos/{id:int}", delete_todo, &store);
  realtime_t *realtime = NULL; /* SSE + streaming: realtime_routes.h */
  spk_ws_hub_t *chat = NULL;    /* WebSocket rooms: ws_routes.h */
  if (!rc) rc = realtime_routes_register(app, &realtime);
  if (!rc) rc = ws_routes_register(app, &chat);
  spk_server_t *server = NULL;
  if (!rc) rc = spk_server_new(&server, app, &cfg);
  if (rc) {
    fprintf(stderr, "spikard-example: %s\n", spk_strerror(rc));
    realtime_free(realtime);
    spk_app_free(app);
    spk_ws_hub_free(chat);
    return 1;
  }
  printf("spikard-example listening on http://%s:%d\n", cfg.host, spk_server_port(server));
  fflush(stdout);
  rc = spk_server_run(server);
  spk_server_free(server);
  realtime_free(realtime);
  spk_app_free(app);
  spk_ws_hub_free(chat);
  return rc ? 1 : 0;
}
