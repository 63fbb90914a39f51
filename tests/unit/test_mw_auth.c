/* Middleware jwt_auth + api_key_auth through the in-memory test client: configuration errors,
 * exact 401 bodies, WWW-Authenticate, claims visible to the handler, both schemes together,
 * public-key algorithms configured by PEM text and by file. */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <unistd.h>

#include "proto/jwt.h"
#include "spikard.h"
#include "spikard/middleware.h"
#include "spikard/testclient.h"
#include "test.h"
#include "util/buf.h"

#define SECRET "unit-secret"
#define CFG_JWT "\"jwt_auth\":{\"secret\":\"" SECRET "\",\"algorithm\":\"HS256\"," \
                "\"audience\":[\"api\"],\"issuer\":\"https://iss\"}"
#define CFG_KEY "\"api_key_auth\":{\"keys\":[\"k-alpha\",\"k-beta\"]}"

/* The handler echoes the verified claims. */
static int h_claims(spk_req_t *req, spk_res_t *res, void *ud) {
  (void)ud;
  spk_str_t c = spk_req_jwt_claims(req);
  return spk_res_send(res, 200, "application/json", c.len ? c.ptr : "{}", c.len ? c.len : 2);
}

static char *hs_token(const char *claims) {
  spk__buf_t b = {0};
  if (spk_jwt_sign(SPK_JWT_HS256, SECRET, strlen(SECRET), NULL, 0,
                   "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims, &b) != 0) {
    spk__buf_free(&b);
    return NULL;
  }
  return b.data;
}

static spk_test_client_t *client(const char *cfg, spk_app_t **appp) {
  spk_app_t *app = spk_app_new();
  int rc = spk_app_configure(app, cfg);
  if (rc) fprintf(stderr, "configure: %s\n", spk_app_last_error(app));
  CHECK_INT(rc, 0);
  spk_app_route(app, "GET", "/p", h_claims, NULL);
  *appp = app;
  return spk_test_client_new(app);
}

static int send(spk_test_client_t *tc, const char *target, const char *hname, const char *hval,
                const char *h2name, const char *h2val, spk_test_response_t *out) {
  spk_test_header_t hs[2] = {{hname, hval}, {h2name, h2val}};
  spk_test_request_t r = {.method = "GET", .target = target, .headers = hs,
                          .header_count = hname ? (h2name ? 2 : 1) : 0};
  return spk_test_client_send(tc, &r, out);
}

#define PROBLEM(title, detail)                                                                \
  "{\"type\":\"https://spikard.dev/errors/unauthorized\",\"title\":\"" title "\",\"status\":401," \
  "\"detail\":\"" detail "\"}"

static void expect(spk_test_client_t *tc, const char *target, const char *hname, const char *hval,
                   const char *h2name, const char *h2val, int status, const char *body,
                   const char *www) {
  spk_test_response_t r;
  CHECK_INT(send(tc, target, hname, hval, h2name, h2val, &r), 0);
  CHECK_INT(r.status, status);
  if (body) CHECK_STR(r.body, body);
  const char *w = spk_test_response_header(&r, "www-authenticate");
  if (www) CHECK_STR(w, www);
  else CHECK(w == NULL);
  if (status == 401) CHECK_STR(spk_test_response_header(&r, "content-type"),
                               "application/problem+json; charset=utf-8");
  spk_test_response_free(&r);
}

static void test_jwt_flow(void) {
  spk_app_t *app;
  spk_test_client_t *tc = client("{" CFG_JWT "}", &app);
  const char *claims = "{\"sub\":\"u1\",\"exp\":4102444800,\"aud\":\"api\",\"iss\":\"https://iss\","
                       "\"role\":\"admin\"}";
  char *tok = hs_token(claims);
  char auth[1024];
  snprintf(auth, sizeof(auth), "Bearer %s", tok);
  expect(tc, "/p", "Authorization", auth, NULL, NULL, 200, claims, NULL);
  expect(tc, "/p", NULL, NULL, NULL, NULL, 401,
         PROBLEM("Missing or invalid Authorization header", "Expected 'Authorization: Bearer <token>'"),
         "Bearer");
  expect(tc, "/p", "Authorization", "Basic dXNlcjpwYXNz", NULL, NULL, 401,
         PROBLEM("Invalid Authorization header format",
                 "Authorization header must use Bearer scheme: 'Bearer <token>'"), "Bearer");
  expect(tc, "/p", "Authorization", "Bearer", NULL, NULL, 401,
         PROBLEM("Invalid Authorization header format",
                 "Authorization header must use Bearer scheme: 'Bearer <token>'"), "Bearer");
  snprintf(auth, sizeof(auth), "bearer %s", tok);
  expect(tc, "/p", "Authorization", auth, NULL, NULL, 401, NULL, "Bearer");
  expect(tc, "/p", "Authorization", "Bearer a.b", NULL, NULL, 401,
         PROBLEM("Malformed JWT token", "Malformed JWT token: expected 3 parts separated by dots, found 2"),
         "Bearer error=\"invalid_token\"");
  /* "Bearer " arrives as "Bearer" (HTTP strips trailing whitespace): a format error. */
  expect(tc, "/p", "Authorization", "Bearer ", NULL, NULL, 401,
         PROBLEM("Invalid Authorization header format",
                 "Authorization header must use Bearer scheme: 'Bearer <token>'"), "Bearer");
  expect(tc, "/p", "Authorization", "Bearer x", NULL, NULL, 401,
         PROBLEM("Malformed JWT token", "Malformed JWT token: expected 3 parts separated by dots, found 1"),
         "Bearer error=\"invalid_token\"");
  /* tampered signature */
  snprintf(auth, sizeof(auth), "Bearer %s", tok);
  size_t n = strlen(auth);
  auth[n - 3] = auth[n - 3] == 'A' ? 'B' : 'A';
  expect(tc, "/p", "Authorization", auth, NULL, NULL, 401,
         PROBLEM("JWT validation failed", "Token signature is invalid"), "Bearer error=\"invalid_token\"");
  free(tok);
  struct {
    const char *claims, *detail;
  } bad[] = {
      {"{\"sub\":\"u1\",\"exp\":1000,\"aud\":\"api\",\"iss\":\"https://iss\"}", "Token has expired"},
      {"{\"sub\":\"u1\",\"exp\":4102444800,\"nbf\":4102444000,\"aud\":\"api\",\"iss\":\"https://iss\"}",
       "JWT not valid yet, not before claim is in the future"},
      {"{\"sub\":\"u1\",\"exp\":4102444800,\"aud\":\"web\",\"iss\":\"https://iss\"}", "Token audience is invalid"},
      {"{\"sub\":\"u1\",\"exp\":4102444800,\"aud\":\"api\",\"iss\":\"https://evil\"}",
       "Token issuer is invalid, expected 'https://iss'"},
      {"{\"sub\":\"u1\",\"aud\":\"api\",\"iss\":\"https://iss\"}",
       "Token validation failed: Missing required claim: exp"},
      {"{\"exp\":4102444800,\"aud\":\"api\",\"iss\":\"https://iss\"}",
       "Token validation failed: Missing required claim: sub"},
      {"{\"sub\":\"u1\",\"exp\":\"soon\",\"aud\":\"api\",\"iss\":\"https://iss\"}",
       "Token validation failed: Invalid claim format: exp"},
      {"[]", "Token is invalid"},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    tok = hs_token(bad[i].claims);
    snprintf(auth, sizeof(auth), "Bearer %s", tok);
    char body[400];
    snprintf(body, sizeof(body), PROBLEM("JWT validation failed", "%s"), bad[i].detail);
    expect(tc, "/p", "Authorization", auth, NULL, NULL, 401, body, "Bearer error=\"invalid_token\"");
    free(tok);
  }
  /* alg none */
  expect(tc, "/p", "Authorization",
         "Bearer eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSIsImV4cCI6NDEwMjQ0NDgwMH0.", NULL, NULL, 401,
         PROBLEM("JWT validation failed", "Token validation failed: InvalidAlgorithm"),
         "Bearer error=\"invalid_token\"");
  spk_test_client_free(tc);
  spk_app_free(app);
}

static void test_api_key(void) {
  spk_app_t *app;
  spk_test_client_t *tc = client("{" CFG_KEY "}", &app);
  const char *missing = PROBLEM("Missing API key",
                                "Expected 'X-API-Key' header or 'api_key' query parameter with valid API key");
  const char *invalid = PROBLEM("Invalid API key", "The provided API key is not valid");
  expect(tc, "/p", "X-API-Key", "k-alpha", NULL, NULL, 200, "{}", NULL);
  expect(tc, "/p", "x-api-key", "k-beta", NULL, NULL, 200, "{}", NULL);
  expect(tc, "/p?api_key=k-alpha", NULL, NULL, NULL, NULL, 200, "{}", NULL);
  expect(tc, "/p?apiKey=k-beta", NULL, NULL, NULL, NULL, 200, "{}", NULL);
  expect(tc, "/p?key=k-alpha", NULL, NULL, NULL, NULL, 200, "{}", NULL);
  expect(tc, "/p?key=k%2Dalpha", NULL, NULL, NULL, NULL, 200, "{}", NULL); /* decoded */
  expect(tc, "/p", NULL, NULL, NULL, NULL, 401, missing, NULL);
  expect(tc, "/p?apikey=k-alpha", NULL, NULL, NULL, NULL, 401, missing, NULL); /* case matters */
  expect(tc, "/p", "X-API-Key", "k-alph", NULL, NULL, 401, invalid, NULL);
  expect(tc, "/p", "X-API-Key", "k-alpha2", NULL, NULL, 401, invalid, NULL);
  expect(tc, "/p", "X-API-Key", "", NULL, NULL, 401, invalid, NULL);
  /* the header wins over the query */
  expect(tc, "/p?api_key=k-alpha", "X-API-Key", "wrong", NULL, NULL, 401, invalid, NULL);
  expect(tc, "/p?api_key=wrong&key=k-alpha", NULL, NULL, NULL, NULL, 401, invalid, NULL);
  spk_test_client_free(tc);
  spk_app_free(app);
  /* custom header name, the fixtures' "header" spelling */
  tc = client("{\"api_key_auth\":{\"keys\":[\"z\"],\"header\":\"X-Token\"}}", &app);
  expect(tc, "/p", "X-Token", "z", NULL, NULL, 200, "{}", NULL);
  expect(tc, "/p", "X-API-Key", "z", NULL, NULL, 401,
         PROBLEM("Missing API key", "Expected 'X-Token' header or 'api_key' query parameter with valid API key"),
         NULL);
  spk_test_client_free(tc);
  spk_app_free(app);
}

static void test_both(void) {
  spk_app_t *app;
  spk_test_client_t *tc = client("{" CFG_JWT "," CFG_KEY "}", &app);
  char *tok = hs_token("{\"sub\":\"u1\",\"exp\":4102444800,\"aud\":[\"api\"],\"iss\":\"https://iss\"}");
  char auth[600];
  snprintf(auth, sizeof(auth), "Bearer %s", tok);
  expect(tc, "/p", "Authorization", auth, "X-API-Key", "k-beta", 200, NULL, NULL);
  /* API key first */
  expect(tc, "/p", "Authorization", auth, NULL, NULL, 401,
         PROBLEM("Missing API key", "Expected 'X-API-Key' header or 'api_key' query parameter with valid API key"),
         NULL);
  expect(tc, "/p", "Authorization", "Bearer x", "X-API-Key", "nope", 401,
         PROBLEM("Invalid API key", "The provided API key is not valid"), NULL);
  expect(tc, "/p", "X-API-Key", "k-beta", NULL, NULL, 401,
         PROBLEM("Missing or invalid Authorization header", "Expected 'Authorization: Bearer <token>'"),
         "Bearer");
  free(tok);
  spk_test_client_free(tc);
  spk_app_free(app);
}

static void test_config(void) {
  struct {
    const char *cfg, *needle;
  } bad[] = {
      {"{\"jwt_auth\":{\"algorithm\":\"HS256\"}}", "non-empty \"secret\""},
      {"{\"jwt_auth\":{\"secret\":\"\"}}", "non-empty"},
      {"{\"jwt_auth\":{\"secret\":\"s\",\"algorithm\":\"none\"}}", "unsupported algorithm \"none\""},
      {"{\"jwt_auth\":{\"secret\":\"s\",\"algorithm\":\"ES512\"}}", "unsupported algorithm"},
      {"{\"jwt_auth\":{\"secret\":\"s\",\"algorithm\":\"RS256\"}}", "not a \"secret\""},
      {"{\"jwt_auth\":{\"algorithm\":\"RS256\"}}", "public_key"},
      {"{\"jwt_auth\":{\"algorithm\":\"ES256\",\"public_key\":\"nope\"}}", "BEGIN PUBLIC KEY"},
      {"{\"jwt_auth\":{\"algorithm\":\"ES256\",\"public_key_file\":\"/nonexistent/k.pem\"}}", "cannot open"},
      {"{\"jwt_auth\":{\"secret\":\"s\",\"leeway\":-1}}", "leeway"},
      {"{\"jwt_auth\":{\"secret\":\"s\",\"leeway\":1.5}}", "leeway"},
      {"{\"jwt_auth\":{\"secret\":\"s\",\"audience\":[1]}}", "audience"},
      {"{\"jwt_auth\":{\"secret\":\"s\",\"issuer\":5}}", "issuer"},
      {"{\"jwt_auth\":{\"secret\":\"s\",\"secrett\":\"s\"}}", "unknown key \"secrett\""},
      {"{\"jwt_auth\":{\"secret\":\"s\",\"enabled\":\"yes\"}}", "enabled"},
      {"{\"jwt_auth\":[]}", "must be an object"},
      {"{\"api_key_auth\":{\"keys\":[]}}", "non-empty array"},
      {"{\"api_key_auth\":{}}", "non-empty array"},
      {"{\"api_key_auth\":{\"keys\":[\"a\",\"\"]}}", "keys[1]"},
      {"{\"api_key_auth\":{\"keys\":[\"a\"],\"header_name\":\"X Key\"}}", "header name"},
      {"{\"api_key_auth\":{\"keys\":[\"a\"],\"extra\":1}}", "unknown key \"extra\""},
  };
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    spk_app_t *app = spk_app_new();
    CHECK_INT(spk_app_configure(app, bad[i].cfg), SPK_EINVAL);
    const char *e = spk_app_last_error(app);
    if (!strstr(e, bad[i].needle)) fprintf(stderr, "config %zu: \"%s\" lacks \"%s\"\n", i, e, bad[i].needle);
    CHECK(strstr(e, bad[i].needle) != NULL);
    spk_app_free(app);
  }
  /* disabled sections: no auth at all */
  spk_app_t *app;
  spk_test_client_t *tc = client("{\"jwt_auth\":{\"enabled\":false},\"api_key_auth\":{\"enabled\":false,"
                                 "\"keys\":[\"a\"]}}", &app);
  expect(tc, "/p", NULL, NULL, NULL, NULL, 200, "{}", NULL);
  spk_test_client_free(tc);
  spk_app_free(app);
  /* a later call replaces auth; a failed call leaves the previous one in place */
  app = spk_app_new();
  CHECK_INT(spk_app_configure(app, "{" CFG_KEY "}"), 0);
  CHECK_INT(spk_app_configure(app, "{\"jwt_auth\":{\"secret\":\"\"}}"), SPK_EINVAL);
  spk_app_route(app, "GET", "/p", h_claims, NULL);
  tc = spk_test_client_new(app);
  expect(tc, "/p", "X-API-Key", "k-alpha", NULL, NULL, 200, "{}", NULL);
  expect(tc, "/p", NULL, NULL, NULL, NULL, 401, NULL, NULL);
  spk_test_client_free(tc);
  spk_app_free(app);
}

static char *pem_of(EVP_PKEY *pk, int priv) {
  BIO *b = BIO_new(BIO_s_mem());
  if (priv) PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
  else PEM_write_bio_PUBKEY(b, pk);
  char *data;
  long n = BIO_get_mem_data(b, &data);
  char *s = malloc((size_t)n + 1);
  memcpy(s, data, (size_t)n);
  s[n] = '\0';
  BIO_free(b);
  return s;
}

/* JSON-escape newlines of a PEM for the configuration text. */
static void json_escape(const char *in, char *out, size_t cap) {
  size_t o = 0;
  for (; *in && o + 3 < cap; in++) {
    if (*in == '\n') out[o++] = '\\', out[o++] = 'n';
    else out[o++] = *in;
  }
  out[o] = '\0';
}

static void test_public_key_algorithms(void) {
  EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  CHECK(ec && rsa);
  if (!ec || !rsa) return;
  char *ec_pub = pem_of(ec, 0), *ec_priv = pem_of(ec, 1);
  char *rsa_pub = pem_of(rsa, 0), *rsa_priv = pem_of(rsa, 1);
  const char *claims = "{\"sub\":\"svc\",\"exp\":4102444800}";
  /* ES256 with the key inline */
  char esc[2000], cfg[2400];
  json_escape(ec_pub, esc, sizeof(esc));
  snprintf(cfg, sizeof(cfg), "{\"jwt_auth\":{\"algorithm\":\"ES256\",\"public_key\":\"%s\"}}", esc);
  spk_app_t *app;
  spk_test_client_t *tc = client(cfg, &app);
  spk__buf_t b = {0};
  CHECK_INT(spk_jwt_sign(SPK_JWT_ES256, NULL, 0, ec_priv, strlen(ec_priv), "{\"alg\":\"ES256\"}",
                         claims, &b), 0);
  char auth[2000];
  snprintf(auth, sizeof(auth), "Bearer %s", b.data);
  expect(tc, "/p", "Authorization", auth, NULL, NULL, 200, claims, NULL);
  spk__buf_free(&b);
  /* an HS256 token made with the public key text as the secret is refused */
  CHECK_INT(spk_jwt_sign(SPK_JWT_HS256, ec_pub, strlen(ec_pub), NULL, 0, "{\"alg\":\"HS256\"}",
                         claims, &b), 0);
  snprintf(auth, sizeof(auth), "Bearer %s", b.data);
  expect(tc, "/p", "Authorization", auth, NULL, NULL, 401, NULL, "Bearer error=\"invalid_token\"");
  spk__buf_free(&b);
  spk_test_client_free(tc);
  spk_app_free(app);
  /* PS256 with the key from a file */
  char path[] = "/tmp/spk_test_jwt_XXXXXX";
  int fd = mkstemp(path);
  CHECK(fd >= 0);
  if (fd >= 0) {
    CHECK_INT(write(fd, rsa_pub, strlen(rsa_pub)), (long long)strlen(rsa_pub));
    close(fd);
    snprintf(cfg, sizeof(cfg), "{\"jwt_auth\":{\"algorithm\":\"PS256\",\"public_key_file\":\"%s\"}}", path);
    tc = client(cfg, &app);
    CHECK_INT(spk_jwt_sign(SPK_JWT_PS256, NULL, 0, rsa_priv, strlen(rsa_priv), "{\"alg\":\"PS256\"}",
                           claims, &b), 0);
    snprintf(auth, sizeof(auth), "Bearer %s", b.data);
    expect(tc, "/p", "Authorization", auth, NULL, NULL, 200, claims, NULL);
    spk__buf_free(&b);
    /* an RS256 signature by the same key is not PS256 */
    CHECK_INT(spk_jwt_sign(SPK_JWT_RS256, NULL, 0, rsa_priv, strlen(rsa_priv), "{\"alg\":\"PS256\"}",
                           claims, &b), 0);
    snprintf(auth, sizeof(auth), "Bearer %s", b.data);
    expect(tc, "/p", "Authorization", auth, NULL, NULL, 401,
           PROBLEM("JWT validation failed", "Token signature is invalid"), "Bearer error=\"invalid_token\"");
    spk__buf_free(&b);
    spk_test_client_free(tc);
    spk_app_free(app);
    unlink(path);
  }
  free(ec_pub);
  free(ec_priv);
  free(rsa_pub);
  free(rsa_priv);
  EVP_PKEY_free(ec);
  EVP_PKEY_free(rsa);
}

int main(void) {
  RUN(test_jwt_flow);
  RUN(test_api_key);
  RUN(test_both);
  RUN(test_config);
  RUN(test_public_key_algorithms);
  return test_report("mw_auth");
}
