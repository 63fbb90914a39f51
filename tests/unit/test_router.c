/* Router tests: pattern syntax, priorities and backtracking, trailing slashes, methods
 * (HEAD, OPTIONS, "*", 405 + Allow), conflicts, invalid patterns, allocation failures,
 * many routes, concurrent readers, and a randomized comparison with a naive matcher. */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/router.h"
#include "spikard/common.h"
#include "test.h"

/* ------------------------------------------------------------------------------------------ */
/* Allocation failure injection: the allocator is replaced once, before anything else.        */

static long alloc_budget = -1; /* < 0: unlimited; otherwise allocations left before failing */

static int alloc_take(void) {
  if (alloc_budget < 0) return 1;
  if (alloc_budget == 0) return 0;
  alloc_budget--;
  return 1;
}
static void *t_malloc(size_t n) { return alloc_take() ? malloc(n) : NULL; }
static void *t_realloc(void *p, size_t n) { return alloc_take() ? realloc(p, n) : NULL; }
static void *t_calloc(size_t c, size_t n) { return alloc_take() ? calloc(c, n) : NULL; }
static void t_free(void *p) { free(p); }

/* ------------------------------------------------------------------------------------------ */
/* Helpers                                                                                    */

static int h(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)req;
  (void)res;
  (void)ud;
  return 0;
}

static int add(spk__router_t *r, const char *method, const char *pattern, const char *tag) {
  return spk__router_add(r, method, pattern, h, (void *)(uintptr_t)tag);
}

static spk__route_match_t M; /* last match */

static void match(const spk__router_t *r, const char *method, const char *path) {
  memset(&M, 0xAB, sizeof(M)); /* the router must set every field it reports */
  spk__router_match(r, method, strlen(method), path, strlen(path), &M);
}

/* "404", "405", "204" or the tag of the matched route. */
static const char *tag(void) {
  switch (M.status) {
    case SPK__MATCH_FOUND: return (const char *)M.route->user_data;
    case SPK__MATCH_NOT_FOUND: return "404";
    case SPK__MATCH_METHOD_NOT_ALLOWED: return "405";
    case SPK__MATCH_OPTIONS: return "204";
  }
  return "?";
}

#define EXPECT(r, method, path, want) \
  do {                                \
    match((r), (method), (path));     \
    CHECK_STR(tag(), (want));         \
  } while (0)

/* ------------------------------------------------------------------------------------------ */

static void test_static(void) {
  spk__router_t *r = spk__router_new();
  CHECK(r != NULL);
  CHECK_INT(add(r, "GET", "/", "root"), 0);
  CHECK_INT(add(r, "GET", "/users", "users"), 0);
  CHECK_INT(add(r, "GET", "/users/me", "me"), 0);
  CHECK_INT(add(r, "GET", "/user", "user"), 0);
  CHECK_INT(add(r, "GET", "/about/team", "team"), 0);
  CHECK_INT(add(r, "GET", "/a:b", "colon-literal"), 0);
  CHECK_INT(add(r, "GET", "/v1/things:batchGet", "batch"), 0);
  EXPECT(r, "GET", "/", "root");
  EXPECT(r, "GET", "/users", "users");
  CHECK_INT(M.param_count, 0);
  CHECK(M.allow == NULL);
  EXPECT(r, "GET", "/users/me", "me");
  EXPECT(r, "GET", "/user", "user");
  EXPECT(r, "GET", "/about/team", "team");
  EXPECT(r, "GET", "/a:b", "colon-literal");
  EXPECT(r, "GET", "/v1/things:batchGet", "batch");
  EXPECT(r, "GET", "/use", "404");
  CHECK(M.allow == NULL);
  CHECK_INT(M.param_count, 0);
  EXPECT(r, "GET", "/usersX", "404");
  EXPECT(r, "GET", "/users/meX", "404");
  EXPECT(r, "GET", "/users/m", "404");
  EXPECT(r, "GET", "/about", "404");
  EXPECT(r, "GET", "/about/", "404");
  EXPECT(r, "GET", "", "404");
  EXPECT(r, "GET", "users", "404");
  EXPECT(r, "GET", "*", "404");
  EXPECT(r, "GET", "//", "404");
  /* Raw matching: no decoding, no case folding. */
  EXPECT(r, "GET", "/Users", "404");
  EXPECT(r, "GET", "/user%73", "404");
  /* The path need not be NUL-terminated: only path_len bytes count. */
  spk__router_match(r, "GET", 3, "/users/meXYZ", 9, &M);
  CHECK_STR(tag(), "me");
  spk__router_match(r, "GET", 3, "/users/meXYZ", 6, &M);
  CHECK_STR(tag(), "users");
  spk__router_free(r);
}

static void test_params(void) {
  spk__router_t *r = spk__router_new();
  CHECK_INT(add(r, "GET", "/users/{id}", "user"), 0);
  CHECK_INT(add(r, "GET", "/users/{id}/posts/{post_id}", "post"), 0);
  CHECK_INT(add(r, "GET", "/{a}/{b}/{c}/{d}", "abcd"), 0);
  CHECK_INT(add(r, "GET", "/q/{x.y-z}", "dotted"), 0);

  const char *path = "/users/42";
  match(r, "GET", path);
  CHECK_STR(tag(), "user");
  CHECK_INT(M.param_count, 1);
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "42");
  CHECK(M.values[0].ptr == path + 7); /* a slice of the request path */
  CHECK_STR(M.route->pattern, "/users/{id}");
  CHECK_STR(M.route->method, "GET");
  CHECK_INT(M.route->param_count, 1);
  CHECK_STR(M.route->param_names[0], "id");
  CHECK_INT(M.route->param_types[0], SPK__PT_STRING);

  match(r, "GET", "/users/a%20b/posts/7");
  CHECK_STR(tag(), "post");
  CHECK_INT(M.param_count, 2);
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "a%20b"); /* raw, not decoded */
  CHECK_MEM(M.values[1].ptr, M.values[1].len, "7");
  CHECK_STR(M.route->param_names[1], "post_id");

  match(r, "GET", "/1/2/3/4");
  CHECK_STR(tag(), "abcd");
  CHECK_INT(M.param_count, 4);
  CHECK_MEM(M.values[3].ptr, M.values[3].len, "4");

  match(r, "GET", "/q/v");
  CHECK_STR(tag(), "dotted");
  CHECK_STR(M.route->param_names[0], "x.y-z");

  /* A parameter never matches an empty segment, nor more than one segment. */
  EXPECT(r, "GET", "/users/", "404");
  EXPECT(r, "GET", "/users//posts/7", "404");
  EXPECT(r, "GET", "/users/1/posts/", "404");
  EXPECT(r, "GET", "/users/1/2", "404");
  EXPECT(r, "GET", "/1/2/3/4/5", "404");
  EXPECT(r, "GET", "/1/2/3", "404");
  spk__router_free(r);
}

static void test_typed_params(void) {
  static const struct {
    const char *pattern;
    spk__param_type_t type;
  } cases[] = {
      {"/t/{v:int}", SPK__PT_INT},         {"/t1/{v:integer}", SPK__PT_INT},
      {"/t2/{v:float}", SPK__PT_FLOAT},    {"/t3/{v:number}", SPK__PT_FLOAT},
      {"/t4/{v:bool}", SPK__PT_BOOL},      {"/t5/{v:boolean}", SPK__PT_BOOL},
      {"/t6/{v:uuid}", SPK__PT_UUID},      {"/t7/{v:date}", SPK__PT_DATE},
      {"/t8/{v:datetime}", SPK__PT_DATETIME}, {"/t9/{v:date-time}", SPK__PT_DATETIME},
      {"/ta/{v:str}", SPK__PT_STRING},     {"/tb/{v:string}", SPK__PT_STRING},
      {"/tc/{v:slug}", SPK__PT_STRING},    {"/td/{v:Int}", SPK__PT_STRING},
      {"/te/{v:intt}", SPK__PT_STRING},    {"/tf/{v:path}", SPK__PT_PATH},
      {"/tg/{v:my_type-2}", SPK__PT_STRING},
  };
  spk__router_t *r = spk__router_new();
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    CHECK_INT(add(r, "GET", cases[i].pattern, cases[i].pattern), 0);
    char path[64];
    snprintf(path, sizeof(path), "%.*s/xyz", (int)(strchr(cases[i].pattern + 1, '/') -
                                                      cases[i].pattern), cases[i].pattern);
    match(r, "GET", path);
    CHECK_STR(tag(), cases[i].pattern); /* types never influence matching */
    CHECK_INT(M.param_count, 1);
    CHECK_MEM(M.values[0].ptr, M.values[0].len, "xyz");
    if (M.status == SPK__MATCH_FOUND) {
      CHECK_INT(M.route->param_types[0], cases[i].type);
      CHECK_STR(M.route->param_names[0], "v");
    }
  }
  /* Mixed types in one pattern keep their order. */
  CHECK_INT(add(r, "GET", "/m/{a:int}/{b}/{c:uuid}/{d:path}", "mixed"), 0);
  match(r, "GET", "/m/1/two/3/four/five");
  CHECK_STR(tag(), "mixed");
  CHECK_INT(M.param_count, 4);
  CHECK_MEM(M.values[3].ptr, M.values[3].len, "four/five");
  if (M.status == SPK__MATCH_FOUND) {
    CHECK_INT(M.route->param_types[0], SPK__PT_INT);
    CHECK_INT(M.route->param_types[1], SPK__PT_STRING);
    CHECK_INT(M.route->param_types[2], SPK__PT_UUID);
    CHECK_INT(M.route->param_types[3], SPK__PT_PATH);
    CHECK_STR(M.route->param_names[3], "d");
  }

  spk__param_type_t t;
  CHECK_INT(spk__param_type_from_name("int", 3, &t), 1);
  CHECK_INT(t, SPK__PT_INT);
  CHECK_INT(spk__param_type_from_name("date-time", 9, &t), 1);
  CHECK_INT(t, SPK__PT_DATETIME);
  CHECK_INT(spk__param_type_from_name("intx", 3, &t), 1); /* length-bounded */
  CHECK_INT(spk__param_type_from_name("intx", 4, &t), 0);
  CHECK_INT(t, SPK__PT_STRING);
  CHECK_INT(spk__param_type_from_name("", 0, &t), 0);
  spk__router_free(r);
}

static void test_colon_params(void) {
  spk__router_t *r = spk__router_new();
  CHECK_INT(add(r, "GET", "/users/:id", "colon"), 0);
  CHECK_INT(add(r, "GET", "/users/:id/books/:book_id", "colon2"), 0);
  match(r, "GET", "/users/7");
  CHECK_STR(tag(), "colon");
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "7");
  CHECK_STR(M.route->param_names[0], "id");
  CHECK_INT(M.route->param_types[0], SPK__PT_STRING);
  match(r, "GET", "/users/7/books/x");
  CHECK_STR(tag(), "colon2");
  CHECK_MEM(M.values[1].ptr, M.values[1].len, "x");
  /* {id} and :id are the same parameter: same method twice is a duplicate, another method
   * shares the node. */
  CHECK_INT(add(r, "GET", "/users/{id}", "brace"), SPK_EEXIST);
  CHECK_INT(add(r, "POST", "/users/{id}", "brace-post"), 0);
  EXPECT(r, "POST", "/users/9", "brace-post");
  EXPECT(r, "GET", "/users/9", "colon");
  spk__router_free(r);
}

static void test_catchall(void) {
  spk__router_t *r = spk__router_new();
  CHECK_INT(add(r, "GET", "/files/{file_path:path}", "files"), 0);
  const char *path = "/files/home/johndoe/myfile.txt";
  match(r, "GET", path);
  CHECK_STR(tag(), "files");
  CHECK_INT(M.param_count, 1);
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "home/johndoe/myfile.txt");
  CHECK(M.values[0].ptr == path + 7);
  match(r, "GET", "/files/a");
  CHECK_STR(tag(), "files");
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "a");
  /* Trailing slash and empty segments are data for a catch-all. */
  match(r, "GET", "/files/a/b/");
  CHECK_STR(tag(), "files");
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "a/b/");
  match(r, "GET", "/files//x");
  CHECK_STR(tag(), "files");
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "/x");
  /* Never empty. */
  EXPECT(r, "GET", "/files/", "404");
  EXPECT(r, "GET", "/files", "404");
  EXPECT(r, "GET", "/filesX/a", "404");

  /* A catch-all at the root, next to "/" itself. */
  CHECK_INT(add(r, "GET", "/{rest:path}", "root-rest"), 0);
  EXPECT(r, "GET", "/", "404");
  CHECK_INT(add(r, "GET", "/", "root"), 0);
  EXPECT(r, "GET", "/", "root");
  match(r, "GET", "/anything/else");
  CHECK_STR(tag(), "root-rest");
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "anything/else");
  /* /files/{…} still wins for its prefix; /files/ falls through to the root catch-all. */
  EXPECT(r, "GET", "/files/x", "files");
  match(r, "GET", "/files/");
  CHECK_STR(tag(), "root-rest");
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "files/");

  /* A parameter and a catch-all may share a position; the parameter has priority. */
  CHECK_INT(add(r, "GET", "/s/{name}", "s-param"), 0);
  CHECK_INT(add(r, "GET", "/s/{all:path}", "s-rest"), 0);
  EXPECT(r, "GET", "/s/one", "s-param");
  match(r, "GET", "/s/one/two");
  CHECK_STR(tag(), "s-rest");
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "one/two");
  EXPECT(r, "GET", "/s/one/", "s-param"); /* the param route's trailing-slash twin */
  spk__router_free(r);
}

static void test_priority_backtracking(void) {
  spk__router_t *r = spk__router_new();
  CHECK_INT(add(r, "GET", "/users/me", "me"), 0);
  CHECK_INT(add(r, "GET", "/users/{id}", "user"), 0);
  CHECK_INT(add(r, "GET", "/users/{id}/posts", "posts"), 0);
  EXPECT(r, "GET", "/users/me", "me");
  EXPECT(r, "GET", "/users/5", "user");
  match(r, "GET", "/users/me/posts"); /* static "me" leads nowhere: back to {id} */
  CHECK_STR(tag(), "posts");
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "me");
  match(r, "GET", "/users/mex");
  CHECK_STR(tag(), "user");
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "mex");
  match(r, "GET", "/users/m");
  CHECK_STR(tag(), "user");

  /* Static > param > catch-all, several levels deep. */
  CHECK_INT(add(r, "GET", "/a/b/c", "abc"), 0);
  CHECK_INT(add(r, "GET", "/a/{x}/d", "axd"), 0);
  CHECK_INT(add(r, "GET", "/a/{x}/{y}/e", "axye"), 0);
  CHECK_INT(add(r, "GET", "/a/{rest:path}", "arest"), 0);
  CHECK_INT(add(r, "GET", "/{top:path}", "top"), 0);
  EXPECT(r, "GET", "/a/b/c", "abc");
  match(r, "GET", "/a/b/d");
  CHECK_STR(tag(), "axd");
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "b");
  match(r, "GET", "/a/b/c/e");
  CHECK_STR(tag(), "axye");
  CHECK_INT(M.param_count, 2);
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "b");
  CHECK_MEM(M.values[1].ptr, M.values[1].len, "c");
  match(r, "GET", "/a/b/c/f");
  CHECK_STR(tag(), "arest");
  CHECK_INT(M.param_count, 1); /* the abandoned {x}, {y} values are not reported */
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "b/c/f");
  match(r, "GET", "/b/c");
  CHECK_STR(tag(), "top");
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "b/c");
  match(r, "GET", "/users/me/posts/x");
  CHECK_STR(tag(), "top");
  CHECK_INT(M.param_count, 1);
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "users/me/posts/x");

  /* Static runs sharing prefixes across segment boundaries. */
  CHECK_INT(add(r, "GET", "/ab", "ab"), 0);
  CHECK_INT(add(r, "GET", "/abc/{z}", "abcz"), 0);
  CHECK_INT(add(r, "GET", "/ab/{z}", "abz"), 0);
  EXPECT(r, "GET", "/ab", "ab");
  EXPECT(r, "GET", "/abc/1", "abcz");
  EXPECT(r, "GET", "/ab/1", "abz");
  EXPECT(r, "GET", "/abc", "top");
  EXPECT(r, "GET", "/abd/1", "top");

  /* The path decides first, then the method (axum semantics): a POST on /users/me does not
   * fall back to a POST route on /users/{id}. */
  CHECK_INT(add(r, "POST", "/users/{id}", "user-post"), 0);
  EXPECT(r, "POST", "/users/5", "user-post");
  EXPECT(r, "POST", "/users/me", "405");
  CHECK_STR(M.allow, "GET, HEAD, OPTIONS");
  spk__router_free(r);
}

static void test_trailing_slash(void) {
  spk__router_t *r = spk__router_new();
  CHECK_INT(add(r, "GET", "/items", "items"), 0);
  CHECK_INT(add(r, "GET", "/dir/", "dir"), 0);
  CHECK_INT(add(r, "GET", "/users/{id}", "user"), 0);
  CHECK_INT(add(r, "GET", "/", "root"), 0);
  EXPECT(r, "GET", "/items", "items");
  EXPECT(r, "GET", "/items/", "items");
  EXPECT(r, "GET", "/items//", "404");
  EXPECT(r, "GET", "/dir/", "dir");
  EXPECT(r, "GET", "/dir", "404");
  EXPECT(r, "GET", "/dir//", "404");
  EXPECT(r, "GET", "/", "root");
  EXPECT(r, "GET", "//", "404");
  match(r, "GET", "/users/5/");
  CHECK_STR(tag(), "user");
  CHECK_INT(M.param_count, 1);
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "5");

  /* The twin ranks as a static segment: /api/items beats a catch-all for /api/items/. */
  CHECK_INT(add(r, "GET", "/api/items", "api-items"), 0);
  CHECK_INT(add(r, "GET", "/api/{rest:path}", "api-rest"), 0);
  EXPECT(r, "GET", "/api/items/", "api-items");
  match(r, "GET", "/api/other/");
  CHECK_STR(tag(), "api-rest");
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "other/");
  CHECK_INT(add(r, "GET", "/p/{id}", "p-param"), 0);
  CHECK_INT(add(r, "GET", "/p/{all:path}", "p-rest"), 0);
  match(r, "GET", "/p/5/");
  CHECK_STR(tag(), "p-param");
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "5");

  /* /x and /x/ side by side: each path keeps its own routes; the twin only adds. */
  CHECK_INT(add(r, "GET", "/x", "x-get"), 0);
  CHECK_INT(add(r, "POST", "/x/", "xs-post"), 0);
  EXPECT(r, "GET", "/x", "x-get");
  EXPECT(r, "GET", "/x/", "x-get");
  EXPECT(r, "HEAD", "/x/", "x-get");
  EXPECT(r, "POST", "/x/", "xs-post");
  EXPECT(r, "POST", "/x", "405");
  CHECK_STR(M.allow, "GET, HEAD, OPTIONS");
  EXPECT(r, "DELETE", "/x/", "405");
  CHECK_STR(M.allow, "GET, HEAD, OPTIONS, POST");
  /* An explicit /y/ route beats /y's twin for the same method, in either order. */
  CHECK_INT(add(r, "GET", "/y", "y"), 0);
  CHECK_INT(add(r, "GET", "/y/", "y-slash"), 0);
  CHECK_INT(add(r, "GET", "/z/", "z-slash"), 0);
  CHECK_INT(add(r, "GET", "/z", "z"), 0);
  EXPECT(r, "GET", "/y", "y");
  EXPECT(r, "GET", "/y/", "y-slash");
  EXPECT(r, "GET", "/z", "z");
  EXPECT(r, "GET", "/z/", "z-slash");
  /* Twins are not registrations: they never make a later explicit route a duplicate. */
  CHECK_INT(add(r, "GET", "/items/", "items-slash"), 0);
  EXPECT(r, "GET", "/items/", "items-slash");
  /* A "*" on the twin loses to an exact method on the path itself, and vice versa. */
  CHECK_INT(add(r, "*", "/w", "w-any"), 0);
  CHECK_INT(add(r, "PUT", "/w/", "ws-put"), 0);
  EXPECT(r, "PUT", "/w/", "ws-put");
  EXPECT(r, "PATCH", "/w/", "w-any");
  EXPECT(r, "PUT", "/w", "w-any");
  spk__router_free(r);
}

static void test_head(void) {
  spk__router_t *r = spk__router_new();
  CHECK_INT(add(r, "GET", "/g", "g-get"), 0);
  CHECK_INT(add(r, "GET", "/gh", "gh-get"), 0);
  CHECK_INT(add(r, "HEAD", "/gh", "gh-head"), 0);
  CHECK_INT(add(r, "GET", "/ga", "ga-get"), 0);
  CHECK_INT(add(r, "*", "/ga", "ga-any"), 0);
  CHECK_INT(add(r, "*", "/a", "a-any"), 0);
  CHECK_INT(add(r, "POST", "/p", "p-post"), 0);
  CHECK_INT(add(r, "HEAD", "/h", "h-head"), 0);
  EXPECT(r, "HEAD", "/g", "g-get");
  EXPECT(r, "HEAD", "/gh", "gh-head");
  EXPECT(r, "GET", "/gh", "gh-get");
  EXPECT(r, "HEAD", "/ga", "ga-get"); /* GET is more specific than "*" for HEAD */
  EXPECT(r, "POST", "/ga", "ga-any");
  EXPECT(r, "HEAD", "/a", "a-any");
  EXPECT(r, "HEAD", "/p", "405");
  CHECK_STR(M.allow, "OPTIONS, POST");
  EXPECT(r, "GET", "/h", "405"); /* no reverse fallback */
  CHECK_STR(M.allow, "HEAD, OPTIONS");
  EXPECT(r, "head", "/g", "405"); /* methods are case-sensitive */
  spk__router_free(r);
}

static void test_405_allow(void) {
  spk__router_t *r = spk__router_new();
  CHECK_INT(add(r, "POST", "/m", "m-post"), 0);
  CHECK_INT(add(r, "GET", "/m", "m-get"), 0);
  CHECK_INT(add(r, "DELETE", "/m", "m-delete"), 0);
  CHECK_INT(add(r, "PUT", "/put", "put"), 0);
  CHECK_INT(add(r, "GET", "/gh", "gh"), 0);
  CHECK_INT(add(r, "HEAD", "/gh", "gh-head"), 0);
  CHECK_INT(add(r, "OPTIONS", "/o", "o"), 0);
  CHECK_INT(add(r, "get", "/lower", "lower"), 0);
  CHECK_INT(add(r, "GET", "/p/{id}", "p-get"), 0);
  CHECK_INT(add(r, "PATCH", "/p/{id}", "p-patch"), 0);

  EXPECT(r, "PATCH", "/m", "405");
  CHECK_STR(M.allow, "DELETE, GET, HEAD, OPTIONS, POST");
  CHECK_INT(M.param_count, 0);
  CHECK(M.route == NULL);
  EXPECT(r, "GET", "/put", "405");
  CHECK_STR(M.allow, "OPTIONS, PUT");
  EXPECT(r, "POST", "/gh", "405");
  CHECK_STR(M.allow, "GET, HEAD, OPTIONS"); /* HEAD listed once */
  EXPECT(r, "GET", "/o", "405");
  CHECK_STR(M.allow, "OPTIONS");
  EXPECT(r, "GET", "/lower", "405");
  CHECK_STR(M.allow, "OPTIONS, get");
  EXPECT(r, "get", "/lower", "lower");
  EXPECT(r, "GET", "/m/", "m-get");
  EXPECT(r, "PUT", "/m/", "405"); /* the twin has the same methods */
  CHECK_STR(M.allow, "DELETE, GET, HEAD, OPTIONS, POST");
  EXPECT(r, "DELETE", "/p/3", "405");
  CHECK_STR(M.allow, "GET, HEAD, OPTIONS, PATCH");
  CHECK_INT(M.param_count, 0);
  EXPECT(r, "PATCH", "/p/3", "p-patch");
  EXPECT(r, "PATCH", "/nothing", "404");
  CHECK(M.allow == NULL);
  /* Unusual but valid tokens are fine as methods. */
  CHECK_INT(add(r, "M-SEARCH", "/m", "m-search"), 0);
  EXPECT(r, "M-SEARCH", "/m", "m-search");
  EXPECT(r, "PATCH", "/m", "405");
  CHECK_STR(M.allow, "DELETE, GET, HEAD, M-SEARCH, OPTIONS, POST");
  spk__router_free(r);
}

static void test_options(void) {
  spk__router_t *r = spk__router_new();
  CHECK_INT(add(r, "GET", "/a", "a-get"), 0);
  CHECK_INT(add(r, "POST", "/a", "a-post"), 0);
  CHECK_INT(add(r, "GET", "/b", "b-get"), 0);
  CHECK_INT(add(r, "OPTIONS", "/b", "b-options"), 0);
  CHECK_INT(add(r, "*", "/c", "c-any"), 0);
  CHECK_INT(add(r, "GET", "/d/{id}", "d"), 0);
  EXPECT(r, "OPTIONS", "/a", "204");
  CHECK(M.status == SPK__MATCH_OPTIONS);
  CHECK_STR(M.allow, "GET, HEAD, OPTIONS, POST");
  CHECK(M.route == NULL);
  CHECK_INT(M.param_count, 0);
  EXPECT(r, "OPTIONS", "/a/", "204");
  CHECK_STR(M.allow, "GET, HEAD, OPTIONS, POST");
  EXPECT(r, "OPTIONS", "/b", "b-options");
  EXPECT(r, "OPTIONS", "/c", "c-any");
  EXPECT(r, "OPTIONS", "/d/7", "204");
  CHECK_STR(M.allow, "GET, HEAD, OPTIONS");
  EXPECT(r, "OPTIONS", "/zzz", "404");
  EXPECT(r, "OPTIONS", "*", "404");
  EXPECT(r, "options", "/a", "405");
  spk__router_free(r);
}

static void test_any_method(void) {
  spk__router_t *r = spk__router_new();
  CHECK_INT(add(r, "*", "/any", "any"), 0);
  CHECK_INT(add(r, "POST", "/any", "any-post"), 0);
  CHECK_INT(add(r, "*", "/any/{id}", "any-id"), 0);
  EXPECT(r, "GET", "/any", "any");
  EXPECT(r, "PATCH", "/any", "any");
  EXPECT(r, "BREW", "/any", "any");
  EXPECT(r, "POST", "/any", "any-post");
  EXPECT(r, "DELETE", "/any/1", "any-id");
  CHECK_MEM(M.values[0].ptr, M.values[0].len, "1");
  CHECK_INT(add(r, "*", "/any", "dup"), SPK_EEXIST);
  spk__router_free(r);
}

static void test_conflicts(void) {
  spk__router_t *r = spk__router_new();
  CHECK_INT(add(r, "GET", "/users", "u"), 0);
  CHECK_INT(add(r, "GET", "/users", "u2"), SPK_EEXIST);
  CHECK_INT(add(r, "POST", "/users", "u-post"), 0);
  CHECK_INT(add(r, "GET", "/users/{id}", "uid"), 0);
  CHECK_INT(add(r, "GET", "/users/{id}", "uid2"), SPK_EEXIST);
  CHECK_INT(add(r, "GET", "/users/:id", "uid3"), SPK_EEXIST);
  CHECK_INT(add(r, "DELETE", "/users/{uid}", "name"), SPK_EEXIST);
  CHECK_INT(add(r, "DELETE", "/users/{id:int}", "type"), SPK_EEXIST);
  CHECK_INT(add(r, "DELETE", "/users/{uid}/posts", "name-deeper"), SPK_EEXIST);
  CHECK_INT(add(r, "DELETE", "/users/{id}/posts", "ok"), 0);
  CHECK_INT(add(r, "DELETE", "/users/{id}", "ok2"), 0);
  CHECK_INT(add(r, "GET", "/users/me", "static-ok"), 0);
  CHECK_INT(add(r, "GET", "/usersX/{uid}", "other-position"), 0);
  CHECK_INT(add(r, "GET", "/t/{a:int}", "typed"), 0);
  CHECK_INT(add(r, "POST", "/t/{a:integer}", "typed-synonym"), 0); /* same type */
  CHECK_INT(add(r, "PUT", "/t/{a}", "typed-string"), SPK_EEXIST);
  CHECK_INT(add(r, "PUT", "/t/{a:slug}", "typed-other"), SPK_EEXIST);
  CHECK_INT(add(r, "GET", "/f/{p:path}", "f"), 0);
  CHECK_INT(add(r, "GET", "/f/{q:path}", "f-other"), SPK_EEXIST);
  CHECK_INT(add(r, "POST", "/f/{p:path}", "f-post"), 0);
  CHECK_INT(add(r, "GET", "/f/{p}", "f-param"), 0);
  /* A rejected pattern leaves nothing behind: no half-built branch blocks later routes. */
  CHECK_INT(add(r, "GET", "/k/{a}/{b}", "kab"), 0);
  CHECK_INT(add(r, "GET", "/k/{a}/{c}/more", "kac"), SPK_EEXIST);
  CHECK_INT(add(r, "GET", "/k/{a}/{b}/more", "kab-more"), 0);
  CHECK_INT(add(r, "GET", "/k/{z}/new", "kz"), SPK_EEXIST);
  EXPECT(r, "GET", "/k/1/2/more", "kab-more");
  EXPECT(r, "GET", "/k/1/new", "kab");
  EXPECT(r, "GET", "/k/1/new/x", "404");
  EXPECT(r, "GET", "/users/7", "uid");
  EXPECT(r, "DELETE", "/users/7", "ok2");
  EXPECT(r, "GET", "/users/me", "static-ok");
  CHECK_INT(spk__router_route_count(r), 14);
  spk__router_free(r);
}

static void test_invalid(void) {
  static const char *const bad[] = {
      "",
      "users",
      "users/{id}",
      "/{",
      "/{}",
      "/{x",
      "/x}",
      "/{x}}",
      "/{{x}}",
      "/a-{x}.json",
      "/{x}.json",
      "/{x}y",
      "/x{y}",
      "/{x:}",
      "/{:int}",
      "/{:}",
      "/{x:in t}",
      "/{x:a/b}",
      "/{x y}",
      "/{x}/{x}",
      "/{x}/:x",
      "/{x:int}/{x:path}",
      "/{p:path}/more",
      "/{p:path}/",
      "/a/{p:path}/{q}",
      "/:",
      "/:/x",
      "/:file.json",
      "/:a-b",
      "/::a",
      "/a b",
      "/a\tb",
      "/a?b",
      "/a#b",
      "/a\x7f",
      "/{x}\n",
  };
  spk__router_t *r = spk__router_new();
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    int rc = add(r, "GET", bad[i], "bad");
    if (rc != SPK_EINVAL) fprintf(stderr, "  pattern \"%s\" -> %d\n", bad[i], rc);
    CHECK_INT(rc, SPK_EINVAL);
  }
  CHECK_INT(spk__router_add(r, "GET", NULL, h, NULL), SPK_EINVAL);
  CHECK_INT(spk__router_add(r, NULL, "/", h, NULL), SPK_EINVAL);
  CHECK_INT(spk__router_add(NULL, "GET", "/", h, NULL), SPK_EINVAL);
  static const char *const bad_methods[] = {"", "GE T", "GET\n", "GET/", "(GET)", "G\"", "\x80"};
  for (size_t i = 0; i < sizeof(bad_methods) / sizeof(bad_methods[0]); i++)
    CHECK_INT(add(r, bad_methods[i], "/m", "bad-method"), SPK_EINVAL);
  CHECK_INT(spk__router_route_count(r), 0);
  EXPECT(r, "GET", "/m", "404");

  /* Exactly SPK__MAX_PARAMS parameters is fine; one more is not. */
  char pat[1024] = "";
  char path[1024] = "";
  for (int i = 0; i < SPK__MAX_PARAMS; i++) {
    size_t l = strlen(pat);
    snprintf(pat + l, sizeof(pat) - l, "/{p%d}", i);
    l = strlen(path);
    snprintf(path + l, sizeof(path) - l, "/v%d", i);
  }
  CHECK_INT(add(r, "GET", pat, "max"), 0);
  match(r, "GET", path);
  CHECK_STR(tag(), "max");
  CHECK_INT(M.param_count, SPK__MAX_PARAMS);
  CHECK_MEM(M.values[SPK__MAX_PARAMS - 1].ptr, M.values[SPK__MAX_PARAMS - 1].len, "v31");
  char pat2[1100];
  snprintf(pat2, sizeof(pat2), "%s/{one_more}", pat);
  CHECK_INT(add(r, "GET", pat2, "too-many"), SPK_EINVAL);
  snprintf(pat2, sizeof(pat2), "/x%s/{rest:path}", pat);
  CHECK_INT(add(r, "GET", pat2, "too-many-rest"), SPK_EINVAL);

  /* Things that look odd but are valid. */
  CHECK_INT(add(r, "GET", "/a//b", "double-slash"), 0);
  EXPECT(r, "GET", "/a//b", "double-slash");
  EXPECT(r, "GET", "/a/b", "404");
  CHECK_INT(add(r, "GET", "/caf%C3%A9", "pct"), 0);
  EXPECT(r, "GET", "/caf%C3%A9", "pct");
  CHECK_INT(add(r, "GET", "/\xc3\xa9t\xc3\xa9", "utf8"), 0);
  EXPECT(r, "GET", "/\xc3\xa9t\xc3\xa9", "utf8");
  CHECK_INT(add(r, "GET", "/n/{_x9}", "underscore"), 0);
  CHECK_INT(add(r, "GET", "/n2/:_x9", "underscore2"), 0);
  CHECK_INT(add(r, "GET", "/n3/{9}", "digit-name"), 0);
  spk__router_free(r);
}

static void test_freeze(void) {
  spk__router_t *r = spk__router_new();
  CHECK_INT(add(r, "GET", "/a", "a"), 0);
  /* Fully functional before freeze, Allow included. */
  EXPECT(r, "POST", "/a", "405");
  CHECK_STR(M.allow, "GET, HEAD, OPTIONS");
  CHECK_INT(spk__router_freeze(r), 0);
  CHECK_INT(spk__router_freeze(r), 0);
  CHECK_INT(add(r, "GET", "/b", "b"), SPK_EFROZEN);
  EXPECT(r, "GET", "/a", "a");
  EXPECT(r, "GET", "/b", "404");
  EXPECT(r, "POST", "/a", "405");
  CHECK_STR(M.allow, "GET, HEAD, OPTIONS");
  CHECK_INT(spk__router_route_count(r), 1);
  CHECK_STR(spk__router_route_at(r, 0)->pattern, "/a");
  CHECK(spk__router_route_at(r, 1) == NULL);
  spk__router_free(r);
  spk__router_free(NULL);
  CHECK_INT(spk__router_freeze(NULL), SPK_EINVAL);
  spk__router_match(NULL, "GET", 3, "/", 1, &M);
  CHECK_STR(tag(), "404");
}

/* ------------------------------------------------------------------------------------------ */
/* Allocation failures: every failing allocation gives SPK_ENOMEM and leaves the router as it
 * was (LSan checks that nothing leaks). */

static int build_base(spk__router_t *r) {
  int rc = 0;
  rc |= add(r, "GET", "/abc", "abc");
  rc |= add(r, "GET", "/users/{id}", "user");
  rc |= add(r, "GET", "/users/me", "me");
  rc |= add(r, "POST", "/x/", "x");
  return rc;
}

static void check_base(spk__router_t *r) {
  EXPECT(r, "GET", "/abc", "abc");
  EXPECT(r, "GET", "/abc/", "abc");
  EXPECT(r, "GET", "/users/1", "user");
  EXPECT(r, "GET", "/users/me", "me");
  EXPECT(r, "POST", "/x/", "x");
  EXPECT(r, "POST", "/users/me", "405");
  CHECK_STR(M.allow, "GET, HEAD, OPTIONS");
}

static void test_enomem(void) {
  static const struct {
    const char *method, *pattern, *path, *conflicting;
  } cases[] = {
      {"GET", "/ab/{q}/z", "/ab/1/z", "/ab/{other}"},    /* splits "/abc", new param */
      {"GET", "/users/{id}/p/{pid}", "/users/1/p/2", "/users/{id}/p/{other}"},
      {"PUT", "/x", "/x", NULL},                         /* twin joins the existing /x/ */
      {"GET", "/abc", "/abc", NULL},                     /* duplicate: no allocation at all */
      {"DELETE", "/abc", "/abc", NULL},                  /* new method on existing nodes */
      {"GET", "/f/{p:path}", "/f/a/b", "/f/{other:path}"},
  };
  for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
    int succeeded = 0;
    for (long k = 0; k < 200 && !succeeded; k++) {
      spk__router_t *r = spk__router_new();
      CHECK(r != NULL);
      CHECK_INT(build_base(r), 0);
      alloc_budget = k;
      int rc = add(r, cases[c].method, cases[c].pattern, "new");
      alloc_budget = -1;
      if (c == 3) { /* a duplicate is detected before any allocation */
        CHECK_INT(rc, SPK_EEXIST);
        succeeded = 1;
      } else if (rc == 0) {
        succeeded = 1;
        EXPECT(r, cases[c].method, cases[c].path, "new");
        check_base(r);
      } else {
        CHECK_INT(rc, SPK_ENOMEM);
        check_base(r);
        if (strcmp(cases[c].method, "GET") == 0) EXPECT(r, "GET", cases[c].path, "404");
        /* No dangling parameter node blocks a differently named parameter. */
        if (cases[c].conflicting) CHECK_INT(add(r, "GET", cases[c].conflicting, "other"), 0);
        /* And the same registration succeeds once memory is back. */
        if (!cases[c].conflicting) {
          CHECK_INT(add(r, cases[c].method, cases[c].pattern, "new"), 0);
          EXPECT(r, cases[c].method, cases[c].path, "new");
        }
      }
      spk__router_free(r);
    }
    CHECK(succeeded);
  }
  for (long k = 0; k < 3; k++) {
    alloc_budget = k;
    spk__router_t *r = spk__router_new();
    alloc_budget = -1;
    int was_null = r == NULL;
    spk__router_free(r);
    CHECK_INT(was_null, k == 0);
  }
}

/* ------------------------------------------------------------------------------------------ */
/* Many routes                                                                                */

static void test_many_routes(void) {
  enum { N = 1000 };
  spk__router_t *r = spk__router_new();
  static char tags[4 * N][16];
  int fails = 0;
  for (int i = 0; i < N; i++) {
    char pat[128];
    snprintf(tags[4 * i], 16, "s%d", i);
    snprintf(pat, sizeof(pat), "/api/v%d/res%d/leaf", i % 7, i);
    fails += add(r, "GET", pat, tags[4 * i]) != 0;
    snprintf(tags[4 * i + 1], 16, "p%d", i);
    snprintf(pat, sizeof(pat), "/api/v%d/res%d/{id}/sub/{sid:int}", i % 7, i);
    fails += add(r, "GET", pat, tags[4 * i + 1]) != 0;
    snprintf(tags[4 * i + 2], 16, "c%d", i);
    snprintf(pat, sizeof(pat), "/c%d/:name", i);
    fails += add(r, i % 2 ? "POST" : "GET", pat, tags[4 * i + 2]) != 0;
    snprintf(tags[4 * i + 3], 16, "f%d", i);
    snprintf(pat, sizeof(pat), "/files%d/{rest:path}", i);
    fails += add(r, "GET", pat, tags[4 * i + 3]) != 0;
  }
  CHECK_INT(fails, 0);
  CHECK_INT(spk__router_route_count(r), 4 * N);
  CHECK_INT(spk__router_freeze(r), 0);
  int bad = 0;
  for (int i = 0; i < N; i++) {
    char path[128], v[32];
    snprintf(path, sizeof(path), "/api/v%d/res%d/leaf", i % 7, i);
    match(r, "GET", path);
    bad += strcmp(tag(), tags[4 * i]) != 0;
    snprintf(path, sizeof(path), "/api/v%d/res%d/x%d/sub/%d/", i % 7, i, i, i * 3);
    match(r, "GET", path);
    bad += strcmp(tag(), tags[4 * i + 1]) != 0;
    snprintf(v, sizeof(v), "x%d", i);
    bad += M.param_count != 2 || M.values[0].len != strlen(v) ||
           memcmp(M.values[0].ptr, v, M.values[0].len) != 0;
    snprintf(path, sizeof(path), "/c%d/who", i);
    match(r, i % 2 ? "POST" : "GET", path);
    bad += strcmp(tag(), tags[4 * i + 2]) != 0;
    match(r, "PUT", path);
    bad += M.status != SPK__MATCH_METHOD_NOT_ALLOWED;
    snprintf(path, sizeof(path), "/files%d/a/b%d", i, i);
    match(r, "GET", path);
    bad += strcmp(tag(), tags[4 * i + 3]) != 0;
    snprintf(path, sizeof(path), "/api/v%d/res%d/leaf", (i + 1) % 7, i);
    match(r, "GET", path);
    bad += M.status != SPK__MATCH_NOT_FOUND;
  }
  CHECK_INT(bad, 0);
  EXPECT(r, "GET", "/api/v0/res1000/leaf", "404");
  EXPECT(r, "GET", "/c1000/x", "404");
  EXPECT(r, "GET", "/files1000/x", "404");
  EXPECT(r, "GET", "/files999/x", "f999");
  EXPECT(r, "GET", "/c98/x/", "c98");
  /* A long path with many segments walks without trouble. */
  static char longpath[64 * 1024];
  size_t l = 0;
  memcpy(longpath, "/files7", 7);
  l = 7;
  while (l + 2 < sizeof(longpath)) {
    longpath[l++] = '/';
    longpath[l++] = 'x';
  }
  longpath[l] = '\0';
  match(r, "GET", longpath);
  CHECK_STR(tag(), "f7");
  CHECK_INT(M.values[0].len, l - 8);
  spk__router_free(r);
}

/* ------------------------------------------------------------------------------------------ */
/* Concurrent readers                                                                         */

typedef struct reader_arg {
  const spk__router_t *r;
  int errors;
} reader_arg_t;

static void *reader(void *p) {
  reader_arg_t *a = p;
  spk__route_match_t m;
  for (int i = 0; i < 20000; i++) {
    char path[64];
    int n = snprintf(path, sizeof(path), "/users/%d/posts/%d", i, i % 13);
    spk__router_match(a->r, "GET", 3, path, (size_t)n, &m);
    if (m.status != SPK__MATCH_FOUND || m.param_count != 2 ||
        strcmp((const char *)m.route->user_data, "posts") != 0)
      a->errors++;
    spk__router_match(a->r, "PUT", 3, "/users/me", 9, &m);
    if (m.status != SPK__MATCH_METHOD_NOT_ALLOWED || strcmp(m.allow, "GET, HEAD, OPTIONS") != 0)
      a->errors++;
  }
  return NULL;
}

static void test_concurrent_readers(void) {
  spk__router_t *r = spk__router_new();
  CHECK_INT(add(r, "GET", "/users/me", "me"), 0);
  CHECK_INT(add(r, "GET", "/users/{id}/posts/{pid}", "posts"), 0);
  CHECK_INT(spk__router_freeze(r), 0);
  enum { T = 4 };
  pthread_t th[T];
  reader_arg_t args[T];
  for (int i = 0; i < T; i++) {
    args[i].r = r;
    args[i].errors = 0;
    CHECK_INT(pthread_create(&th[i], NULL, reader, &args[i]), 0);
  }
  for (int i = 0; i < T; i++) {
    pthread_join(th[i], NULL);
    CHECK_INT(args[i].errors, 0);
  }
  spk__router_free(r);
}

/* ------------------------------------------------------------------------------------------ */
/* Randomized comparison with a naive matcher                                                 */
/*
 * The naive model: a route is a list of segments (static text, parameter, catch-all). A path
 * matches a route when every segment matches (parameters need a non-empty segment, a
 * catch-all a non-empty rest). Every route whose pattern does not end in '/' and is not a
 * catch-all also has a twin with one more, empty, static segment. Among the matching
 * shapes, the one whose segment kinds are lexicographically smallest (static < parameter <
 * catch-all) wins; then the method is chosen among all routes (and twins) of that shape. */

enum { NK_STATIC = 0, NK_PARAM = 1, NK_CATCH = 2 };

typedef struct nseg {
  int kind;
  char text[16]; /* static text, or the parameter name */
  spk__param_type_t type;
} nseg_t;

typedef struct nroute {
  char method[16];
  char pattern[160];
  nseg_t segs[12];
  int nsegs;
  char key[200]; /* shape: "/a/{}/{*}" */
} nroute_t;

typedef struct nentry {
  const nroute_t *route;
  int twin;
} nentry_t;

static uint64_t rng_state;
static uint64_t rnd(void) {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}
static size_t rndn(size_t n) { return (size_t)(rnd() % n); }

static void naive_parse(nroute_t *nr) {
  const char *p = nr->pattern + 1;
  nr->nsegs = 0;
  nr->key[0] = '\0';
  for (;;) {
    const char *e = strchr(p, '/');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    nseg_t *s = &nr->segs[nr->nsegs++];
    memset(s, 0, sizeof(*s));
    if (len && p[0] == '{') {
      const char *colon = memchr(p, ':', len);
      size_t nl = colon ? (size_t)(colon - p - 1) : len - 2;
      memcpy(s->text, p + 1, nl);
      s->type = SPK__PT_STRING;
      if (colon) spk__param_type_from_name(colon + 1, (size_t)(p + len - 1 - colon - 1), &s->type);
      s->kind = s->type == SPK__PT_PATH ? NK_CATCH : NK_PARAM;
    } else if (len && p[0] == ':') {
      memcpy(s->text, p + 1, len - 1);
      s->kind = NK_PARAM;
      s->type = SPK__PT_STRING;
    } else {
      memcpy(s->text, p, len);
      s->kind = NK_STATIC;
    }
    size_t kl = strlen(nr->key);
    snprintf(nr->key + kl, sizeof(nr->key) - kl, "/%s",
             s->kind == NK_STATIC ? s->text : s->kind == NK_PARAM ? "{}" : "{*}");
    if (!e) break;
    p = e + 1;
  }
}

/* Expected result of registering nr on top of routes[0..n). */
static int naive_add_rc(const nroute_t *routes, int n, const nroute_t *nr) {
  for (int i = 0; i < nr->nsegs; i++) {
    if (nr->segs[i].kind == NK_CATCH && i != nr->nsegs - 1) return SPK_EINVAL;
    if (nr->segs[i].kind == NK_STATIC) continue;
    for (int j = 0; j < i; j++)
      if (nr->segs[j].kind != NK_STATIC && strcmp(nr->segs[j].text, nr->segs[i].text) == 0)
        return SPK_EINVAL;
  }
  for (int k = 0; k < n; k++) {
    const nroute_t *o = &routes[k];
    int m = o->nsegs < nr->nsegs ? o->nsegs : nr->nsegs;
    for (int i = 0; i < m; i++) {
      const nseg_t *a = &o->segs[i], *b = &nr->segs[i];
      if (a->kind != b->kind) break;
      if (a->kind == NK_STATIC) {
        if (strcmp(a->text, b->text) != 0) break;
      } else if (strcmp(a->text, b->text) != 0 || a->type != b->type) {
        return SPK_EEXIST;
      }
    }
    if (strcmp(o->key, nr->key) == 0 && strcmp(o->method, nr->method) == 0) return SPK_EEXIST;
  }
  return 0;
}

typedef struct nresult {
  int status;
  const nroute_t *route;
  size_t nvals;
  size_t off[12], len[12];
  char allow[200];
} nresult_t;

/* Does the shape (segs, plus an empty static segment when twin) match the path? */
static int naive_shape_match(const nroute_t *nr, int twin, const char *path, size_t plen,
                             nresult_t *res) {
  /* Path segments: starts and lengths. */
  size_t starts[256], lens[256];
  int np = 0;
  size_t i = 1;
  for (;;) {
    size_t j = i;
    while (j < plen && path[j] != '/') j++;
    if (np == 256) return 0;
    starts[np] = i;
    lens[np] = j - i;
    np++;
    if (j >= plen) break;
    i = j + 1;
  }
  int nsegs = nr->nsegs + twin;
  res->nvals = 0;
  for (int s = 0; s < nsegs; s++) {
    const nseg_t *seg = s < nr->nsegs ? &nr->segs[s] : NULL;
    if (s >= np) return 0;
    if (!seg) { /* the twin's empty segment */
      if (lens[s] != 0) return 0;
      continue;
    }
    if (seg->kind == NK_CATCH) {
      if (starts[s] >= plen) return 0;
      res->off[res->nvals] = starts[s];
      res->len[res->nvals++] = plen - starts[s];
      return 1;
    }
    if (seg->kind == NK_STATIC) {
      if (lens[s] != strlen(seg->text) || memcmp(path + starts[s], seg->text, lens[s]) != 0)
        return 0;
    } else {
      if (lens[s] == 0) return 0;
      res->off[res->nvals] = starts[s];
      res->len[res->nvals++] = lens[s];
    }
  }
  return nsegs == np;
}

static int kind_at(const nentry_t *e, int i) {
  return i < e->route->nsegs ? e->route->segs[i].kind : NK_STATIC;
}
static int nsegs_of(const nentry_t *e) { return e->route->nsegs + e->twin; }

/* <0 when a has priority over b. */
static int shape_cmp(const nentry_t *a, const nentry_t *b) {
  int n = nsegs_of(a) < nsegs_of(b) ? nsegs_of(a) : nsegs_of(b);
  for (int i = 0; i < n; i++) {
    int d = kind_at(a, i) - kind_at(b, i);
    if (d) return d;
  }
  return 0;
}

static void shape_key(const nentry_t *e, char *out, size_t cap) {
  snprintf(out, cap, "%s%s", e->route->key, e->twin ? "/" : "");
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void naive_match(const nroute_t *routes, int n, const char *method, const char *path,
                        nresult_t *res) {
  size_t plen = strlen(path);
  memset(res, 0, sizeof(*res));
  res->status = SPK__MATCH_NOT_FOUND;
  if (plen == 0 || path[0] != '/') return;
  nentry_t best = {NULL, 0};
  for (int k = 0; k < n; k++) {
    for (int twin = 0; twin < 2; twin++) {
      const nroute_t *nr = &routes[k];
      if (twin) {
        const nseg_t *last = &nr->segs[nr->nsegs - 1];
        if (last->kind == NK_CATCH || (last->kind == NK_STATIC && last->text[0] == '\0'))
          continue;
      }
      nresult_t tmp;
      if (!naive_shape_match(nr, twin, path, plen, &tmp)) continue;
      nentry_t e = {nr, twin};
      if (!best.route || shape_cmp(&e, &best) < 0) best = e;
    }
  }
  if (!best.route) return;
  char best_key[220];
  shape_key(&best, best_key, sizeof(best_key));
  /* All entries of that shape: dispatch and Allow. */
  const nroute_t *chosen = NULL;
  int chosen_rank = 6;
  const char *names[64];
  size_t nn = 0;
  int has_get = 0;
  int is_head = strcmp(method, "HEAD") == 0;
  for (int k = 0; k < n; k++) {
    for (int twin = 0; twin < 2; twin++) {
      nentry_t e = {&routes[k], twin};
      char key[220];
      shape_key(&e, key, sizeof(key));
      if (strcmp(key, best_key) != 0) continue;
      if (twin) {
        const nseg_t *last = &routes[k].segs[routes[k].nsegs - 1];
        if (last->kind == NK_CATCH || (last->kind == NK_STATIC && last->text[0] == '\0'))
          continue;
      }
      const char *m = routes[k].method;
      int rank = -1;
      if (strcmp(m, method) == 0) rank = 0;
      else if (is_head && strcmp(m, "GET") == 0) rank = 2;
      else if (strcmp(m, "*") == 0) rank = 4;
      if (rank >= 0 && rank + twin < chosen_rank) {
        chosen_rank = rank + twin;
        chosen = &routes[k];
      }
      if (strcmp(m, "*") != 0) names[nn++] = m;
      if (strcmp(m, "GET") == 0) has_get = 1;
    }
  }
  if (chosen) {
    /* Values come from the chosen route's shape (possibly as a twin). */
    int twin = strcmp(chosen->key, best_key) == 0 ? 0 : 1;
    naive_shape_match(chosen, twin, path, plen, res);
    res->status = SPK__MATCH_FOUND;
    res->route = chosen;
    return;
  }
  if (has_get) names[nn++] = "HEAD";
  names[nn++] = "OPTIONS";
  qsort(names, nn, sizeof(names[0]), cmp_str);
  for (size_t i = 0; i < nn; i++) {
    if (i && strcmp(names[i], names[i - 1]) == 0) continue;
    size_t l = strlen(res->allow);
    snprintf(res->allow + l, sizeof(res->allow) - l, "%s%s", l ? ", " : "", names[i]);
  }
  res->status = strcmp(method, "OPTIONS") == 0 ? SPK__MATCH_OPTIONS
                                                : SPK__MATCH_METHOD_NOT_ALLOWED;
}

static const char *const seg_pool[] = {
    "a", "b", "ab", "abc", "x", "", "{id}", "{id:int}", "{name}", ":id", ":name",
    "{rest:path}", "{p:path}", "{v:uuid}",
};
static const char *const route_methods[] = {"GET", "POST", "PUT", "*", "HEAD", "OPTIONS"};
static const char *const req_methods[] = {"GET", "POST", "HEAD", "OPTIONS", "DELETE", "PUT"};
static const char *const path_pool[] = {"a", "b", "ab", "abc", "x", "", "1", "42", "a.b", "abcd"};

static void random_pattern(char *out, size_t cap) {
  size_t nseg = rndn(5);
  out[0] = '\0';
  if (nseg == 0) {
    snprintf(out, cap, "/");
    return;
  }
  for (size_t i = 0; i < nseg; i++) {
    /* Mostly static segments, so that routes share prefixes. */
    const char *s = rndn(3) ? seg_pool[rndn(6)] : seg_pool[6 + rndn(8)];
    size_t l = strlen(out);
    snprintf(out + l, cap - l, "/%s", s);
  }
  if (rndn(4) == 0) {
    size_t l = strlen(out);
    snprintf(out + l, cap - l, "/");
  }
}

static void random_path(const nroute_t *routes, int n, char *out, size_t cap) {
  out[0] = '\0';
  if (n && rndn(3)) {
    /* Instantiate a registered route. */
    const nroute_t *nr = &routes[rndn((size_t)n)];
    for (int i = 0; i < nr->nsegs; i++) {
      const nseg_t *s = &nr->segs[i];
      const char *v = s->kind == NK_STATIC ? s->text
                      : s->kind == NK_PARAM ? path_pool[rndn(10)]
                                            : (rndn(2) ? "a/b" : path_pool[rndn(10)]);
      size_t l = strlen(out);
      snprintf(out + l, cap - l, "/%s", v);
    }
  } else {
    size_t nseg = 1 + rndn(5);
    for (size_t i = 0; i < nseg; i++) {
      size_t l = strlen(out);
      snprintf(out + l, cap - l, "/%s", path_pool[rndn(10)]);
    }
  }
  int extra = (int)rndn(6);
  if (extra == 0) {
    size_t l = strlen(out);
    snprintf(out + l, cap - l, "/");
  } else if (extra == 1 && strlen(out) > 1) {
    out[strlen(out) - 1] = '\0'; /* chop a byte */
  }
}

static void test_random_vs_naive(void) {
  enum { ROUNDS = 40, ROUTES = 60, PATHS = 2500 };
  static nroute_t routes[ROUTES];
  long paths_checked = 0, found = 0, mismatches = 0, add_mismatches = 0;
  long not_allowed = 0, options = 0, added = 0, eexist = 0, einval = 0;
  for (int round = 0; round < ROUNDS; round++) {
    rng_state = 0x9E3779B97F4A7C15ull * (uint64_t)(round + 1);
    spk__router_t *r = spk__router_new();
    int n = 0;
    for (int k = 0; k < ROUTES * 3 && n < ROUTES; k++) {
      nroute_t *nr = &routes[n];
      memset(nr, 0, sizeof(*nr));
      snprintf(nr->method, sizeof(nr->method), "%s", route_methods[rndn(6)]);
      random_pattern(nr->pattern, sizeof(nr->pattern));
      naive_parse(nr);
      int want = naive_add_rc(routes, n, nr);
      int got = spk__router_add(r, nr->method, nr->pattern, h, nr);
      if (want != got) {
        if (add_mismatches++ < 10)
          fprintf(stderr, "  round %d: add %s %s -> %d, naive %d\n", round, nr->method,
                  nr->pattern, got, want);
      }
      if (got == 0) n++;
      added += got == 0;
      eexist += got == SPK_EEXIST;
      einval += got == SPK_EINVAL;
    }
    if (round % 2) CHECK_INT(spk__router_freeze(r), 0);
    for (int i = 0; i < PATHS; i++) {
      char path[256];
      random_path(routes, n, path, sizeof(path));
      const char *method = req_methods[rndn(6)];
      nresult_t want;
      naive_match(routes, n, method, path, &want);
      spk__route_match_t m;
      spk__router_match(r, method, strlen(method), path, strlen(path), &m);
      int ok = (int)m.status == want.status;
      not_allowed += m.status == SPK__MATCH_METHOD_NOT_ALLOWED;
      options += m.status == SPK__MATCH_OPTIONS;
      if (ok && m.status == SPK__MATCH_FOUND) {
        found++;
        ok = m.route->user_data == (const void *)want.route && m.param_count == want.nvals;
        for (size_t v = 0; ok && v < want.nvals; v++)
          ok = m.values[v].ptr == path + want.off[v] && m.values[v].len == want.len[v];
      } else if (ok && (m.status == SPK__MATCH_METHOD_NOT_ALLOWED ||
                        m.status == SPK__MATCH_OPTIONS)) {
        ok = m.allow && strcmp(m.allow, want.allow) == 0;
      }
      paths_checked++;
      if (!ok && mismatches++ < 10) {
        fprintf(stderr, "  round %d: %s %s -> %d %s, naive %d %s\n", round, method, path,
                m.status, m.status == SPK__MATCH_FOUND ? m.route->pattern : (m.allow ? m.allow : ""),
                want.status, want.status == SPK__MATCH_FOUND ? want.route->pattern : want.allow);
      }
    }
    spk__router_free(r);
  }
  CHECK_INT(add_mismatches, 0);
  CHECK_INT(mismatches, 0);
  CHECK(paths_checked == (long)ROUNDS * PATHS);
  /* The generators do reach every outcome. */
  CHECK(found > paths_checked / 10);
  CHECK(not_allowed > paths_checked / 50);
  CHECK(options > paths_checked / 100);
  CHECK(eexist > 100);
  CHECK(einval > 100);
  printf("random: %ld routes added (%ld EEXIST, %ld EINVAL), %ld paths compared (%ld found, "
         "%ld 405, %ld OPTIONS)\n",
         added, eexist, einval, paths_checked, found, not_allowed, options);
}

int main(void) {
  CHECK_INT(spk_replace_allocator(t_malloc, t_realloc, t_calloc, t_free), 0);
  RUN(test_static);
  RUN(test_params);
  RUN(test_typed_params);
  RUN(test_colon_params);
  RUN(test_catchall);
  RUN(test_priority_backtracking);
  RUN(test_trailing_slash);
  RUN(test_head);
  RUN(test_405_allow);
  RUN(test_options);
  RUN(test_any_method);
  RUN(test_conflicts);
  RUN(test_invalid);
  RUN(test_freeze);
  RUN(test_enomem);
  RUN(test_many_routes);
  RUN(test_concurrent_readers);
  RUN(test_random_vs_naive);
  return test_report("router");
}
