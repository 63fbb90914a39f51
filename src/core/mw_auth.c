/* Middleware "jwt_auth" + "api_key_auth": one compiled config, one request step.
 *
 * Order (the reference's layering: the API-key layer sits outside the JWT layer, so with both
 * configured a request must satisfy both): API key, then JWT. Every refusal is a 401 problem
 * details `https://spikard.dev/errors/unauthorized` with the reference's exact titles and
 * details; JWT refusals also carry `WWW-Authenticate: Bearer` (RFC 6750 §3, with
 * error="invalid_token" once a token was presented).
 *
 * API keys are stored as SHA-256 digests and every configured key is compared (CRYPTO_memcmp,
 * no early exit), so neither the keys' contents nor their lengths leak through timing. */
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "core/exchange.h"
#include "core/mw.h"
#include "proto/jwt.h"
#include "spikard/middleware.h"
#include "util/alloc.h"

#define KEY_DIGEST 32 /* SHA-256 */
#define MAX_PEM_FILE (1u << 20)

struct spk__mw_auth {
  /* API key (off when nkeys == 0) */
  char *header_name;
  unsigned char (*key_digests)[KEY_DIGEST];
  size_t nkeys;
  char *missing_detail; /* "Expected '<header>' header or 'api_key' query parameter …" */
  EVP_MD *sha256;
  /* JWT (off when key == NULL) */
  spk_jwt_key_t *key;
  spk_str_t *audience; /* owned strings */
  size_t naudience;
  char *issuer;
  size_t issuer_len;
  char *issuer_detail; /* "Token issuer is invalid, expected '<iss>'" */
  int64_t leeway;
};

void spk__mw_auth_free(struct spk__mw_auth *c) {
  if (!c) return;
  spk__free(c->header_name);
  if (c->key_digests) OPENSSL_cleanse(c->key_digests, c->nkeys * KEY_DIGEST);
  spk__free(c->key_digests);
  spk__free(c->missing_detail);
  EVP_MD_free(c->sha256);
  spk_jwt_key_free(c->key);
  for (size_t i = 0; i < c->naudience; i++) spk__free((char *)c->audience[i].ptr);
  spk__free(c->audience);
  spk__free(c->issuer);
  spk__free(c->issuer_detail);
  spk__free(c);
}

/* ---- configuration ---- */

static int is_token_char(unsigned char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
         (ch && strchr("!#$%&'*+-.^_`|~", ch));
}

/* "enabled": false turns the section off. -1 on a bad value. */
static int section_enabled(const spk_json_value_t *sec) {
  const spk_json_value_t *e = spk_json_get(sec, "enabled", 7);
  if (!e) return 1;
  return e->type == SPK_JSON_BOOL ? e->u.boolean : -1;
}

/* pre + arg + post, on the heap. */
static char *dup_join(const char *pre, const char *arg, const char *post) {
  size_t a = strlen(pre), b = strlen(arg), c = strlen(post);
  char *s = spk__malloc(a + b + c + 1);
  if (!s) return NULL;
  memcpy(s, pre, a);
  memcpy(s + a, arg, b);
  memcpy(s + a + b, post, c + 1);
  return s;
}

static int digest(const struct spk__mw_auth *c, const char *s, size_t n,
                  unsigned char out[KEY_DIGEST]) {
  unsigned int len = 0;
  return EVP_Digest(s, n, out, &len, c->sha256, NULL) == 1 && len == KEY_DIGEST;
}

static int configure_api_key(struct spk__mw_auth *c, const spk_json_value_t *sec, char *err,
                             size_t errlen) {
  const spk_json_value_t *keys = NULL;
  const char *header = "X-API-Key";
  for (size_t i = 0; i < sec->u.object.len; i++) {
    const char *k = sec->u.object.members[i].key.ptr;
    const spk_json_value_t *v = sec->u.object.members[i].value;
    if (!strcmp(k, "enabled")) continue;
    if (!strcmp(k, "keys")) {
      keys = v;
    } else if (!strcmp(k, "header_name") || !strcmp(k, "header")) {
      int ok = v->type == SPK_JSON_STRING && v->u.string.len > 0 && v->u.string.len < 128;
      for (size_t j = 0; ok && j < v->u.string.len; j++)
        ok = is_token_char((unsigned char)v->u.string.ptr[j]);
      if (!ok) {
        snprintf(err, errlen, "\"api_key_auth.%s\" must be a header name (a token)", k);
        return SPK_EINVAL;
      }
      header = v->u.string.ptr;
    } else {
      snprintf(err, errlen, "\"api_key_auth\": unknown key \"%.60s\" (known: enabled, keys, "
                            "header_name)", k);
      return SPK_EINVAL;
    }
  }
  if (!keys || keys->type != SPK_JSON_ARRAY || keys->u.array.len == 0) {
    snprintf(err, errlen, "\"api_key_auth.keys\" must be a non-empty array of strings");
    return SPK_EINVAL;
  }
  c->sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
  c->key_digests = spk__calloc(keys->u.array.len, KEY_DIGEST);
  c->header_name = spk__strdup(header);
  c->missing_detail =
      dup_join("Expected '", header, "' header or 'api_key' query parameter with valid API key");
  if (!c->sha256 || !c->key_digests || !c->header_name || !c->missing_detail) return SPK_ENOMEM;
  for (size_t i = 0; i < keys->u.array.len; i++) {
    const spk_json_value_t *k = keys->u.array.items[i];
    if (k->type != SPK_JSON_STRING || k->u.string.len == 0) {
      snprintf(err, errlen, "\"api_key_auth.keys[%zu]\" must be a non-empty string", i);
      return SPK_EINVAL;
    }
    if (!digest(c, k->u.string.ptr, k->u.string.len, c->key_digests[c->nkeys])) return SPK_ENOMEM;
    c->nkeys++;
  }
  return SPK_OK;
}

/* The whole file at path into a heap buffer (NUL-terminated). */
static int read_file(const char *path, char **out, size_t *len, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "\"jwt_auth.public_key_file\": cannot open \"%.100s\": %s", path,
             strerror(errno));
    return SPK_EINVAL;
  }
  char *buf = spk__malloc(MAX_PEM_FILE + 1);
  size_t n = buf ? fread(buf, 1, MAX_PEM_FILE + 1, f) : 0;
  int bad = ferror(f);
  fclose(f);
  if (!buf) return SPK_ENOMEM;
  if (bad || n > MAX_PEM_FILE) {
    spk__free(buf);
    snprintf(err, errlen, "\"jwt_auth.public_key_file\": \"%.100s\" is unreadable or over 1 MiB",
             path);
    return SPK_EINVAL;
  }
  buf[n] = '\0';
  *out = buf;
  *len = n;
  return SPK_OK;
}

static int configure_jwt(struct spk__mw_auth *c, const spk_json_value_t *sec, char *err,
                         size_t errlen) {
  const spk_json_value_t *secret = NULL, *pem = NULL, *pem_file = NULL, *aud = NULL;
  spk_jwt_alg_t alg = SPK_JWT_HS256;
  for (size_t i = 0; i < sec->u.object.len; i++) {
    const char *k = sec->u.object.members[i].key.ptr;
    const spk_json_value_t *v = sec->u.object.members[i].value;
    int is_str = v->type == SPK_JSON_STRING;
    if (!strcmp(k, "enabled")) continue;
    if (!strcmp(k, "algorithm")) {
      alg = is_str ? spk_jwt_alg_parse(v->u.string.ptr, v->u.string.len) : SPK_JWT_ALG_INVALID;
      if (alg == SPK_JWT_ALG_INVALID) {
        snprintf(err, errlen, "\"jwt_auth.algorithm\": unsupported algorithm \"%.40s\" "
                              "(supported: HS256, HS384, HS512, RS256, RS384, RS512, ES256, "
                              "ES384, PS256, PS384, PS512)", is_str ? v->u.string.ptr : "?");
        return SPK_EINVAL;
      }
    } else if (!strcmp(k, "secret") || !strcmp(k, "public_key") || !strcmp(k, "public_key_file") ||
               !strcmp(k, "issuer")) {
      if (!is_str) {
        snprintf(err, errlen, "\"jwt_auth.%s\" must be a string", k);
        return SPK_EINVAL;
      }
      if (!strcmp(k, "secret")) secret = v;
      else if (!strcmp(k, "public_key")) pem = v;
      else if (!strcmp(k, "public_key_file")) pem_file = v;
      else if (!(c->issuer = spk__strndup(v->u.string.ptr, v->u.string.len)) ||
               !(c->issuer_detail = dup_join("Token issuer is invalid, expected '", c->issuer, "'")))
        return SPK_ENOMEM;
      else c->issuer_len = v->u.string.len;
    } else if (!strcmp(k, "audience")) {
      aud = v;
    } else if (!strcmp(k, "leeway")) {
      if (v->type != SPK_JSON_INT || v->u.integer < 0 || v->u.integer > 31536000) {
        snprintf(err, errlen, "\"jwt_auth.leeway\" must be whole seconds from 0 to 31536000");
        return SPK_EINVAL;
      }
      c->leeway = v->u.integer;
    } else {
      snprintf(err, errlen, "\"jwt_auth\": unknown key \"%.60s\" (known: enabled, secret, "
                            "algorithm, audience, issuer, leeway, public_key, public_key_file)", k);
      return SPK_EINVAL;
    }
  }
  if (aud) {
    size_t n = aud->type == SPK_JSON_ARRAY ? aud->u.array.len : 1;
    int ok = aud->type == SPK_JSON_STRING || aud->type == SPK_JSON_ARRAY;
    c->audience = ok ? spk__calloc(n ? n : 1, sizeof(spk_str_t)) : NULL;
    if (ok && !c->audience) return SPK_ENOMEM;
    for (size_t i = 0; ok && i < n; i++) {
      const spk_json_value_t *a = aud->type == SPK_JSON_ARRAY ? aud->u.array.items[i] : aud;
      if (a->type != SPK_JSON_STRING) {
        ok = 0;
        break;
      }
      char *s = spk__strndup(a->u.string.ptr, a->u.string.len);
      if (!s) return SPK_ENOMEM;
      c->audience[c->naudience++] = (spk_str_t){s, a->u.string.len};
    }
    if (!ok) {
      snprintf(err, errlen, "\"jwt_auth.audience\" must be a string or an array of strings");
      return SPK_EINVAL;
    }
  }
  if (pem && pem_file) {
    snprintf(err, errlen, "\"jwt_auth\": give \"public_key\" or \"public_key_file\", not both");
    return SPK_EINVAL;
  }
  char *file_text = NULL;
  size_t file_len = 0;
  if (pem_file) {
    int rc = read_file(pem_file->u.string.ptr, &file_text, &file_len, err, errlen);
    if (rc) return rc;
  }
  const char *pem_text = pem ? pem->u.string.ptr : file_text;
  size_t pem_len = pem ? pem->u.string.len : file_len;
  char why[200] = "";
  int rc = spk_jwt_key_new(alg, secret ? secret->u.string.ptr : NULL,
                           secret ? secret->u.string.len : 0, pem_text, pem_len, &c->key, why,
                           sizeof(why));
  spk__free(file_text);
  if (rc == SPK_EINVAL) snprintf(err, errlen, "\"jwt_auth\": %s", why);
  return rc;
}

int spk__mw_auth_configure2(const spk_json_value_t *jwt, const spk_json_value_t *api_key,
                            struct spk__mw_auth **out, char *err, size_t errlen) {
  *out = NULL;
  int jwt_on = 0, key_on = 0;
  if (jwt) {
    jwt_on = jwt->type == SPK_JSON_OBJECT ? section_enabled(jwt) : -1;
    if (jwt_on < 0) {
      snprintf(err, errlen, "\"jwt_auth\" must be an object like {\"secret\": \"…\", "
                            "\"algorithm\": \"HS256\"} (\"enabled\" a boolean)");
      return SPK_EINVAL;
    }
  }
  if (api_key) {
    key_on = api_key->type == SPK_JSON_OBJECT ? section_enabled(api_key) : -1;
    if (key_on < 0) {
      snprintf(err, errlen, "\"api_key_auth\" must be an object like {\"keys\": [\"…\"]} "
                            "(\"enabled\" a boolean)");
      return SPK_EINVAL;
    }
  }
  if (!jwt_on && !key_on) return SPK_OK;
  struct spk__mw_auth *c = spk__calloc(1, sizeof(*c));
  if (!c) return SPK_ENOMEM;
  int rc = SPK_OK;
  if (key_on) rc = configure_api_key(c, api_key, err, errlen);
  if (!rc && jwt_on) rc = configure_jwt(c, jwt, err, errlen);
  ERR_clear_error();
  if (rc) {
    if (rc == SPK_ENOMEM) snprintf(err, errlen, "out of memory");
    spk__mw_auth_free(c);
    return rc;
  }
  *out = c;
  return SPK_OK;
}

/* The generic compiler signature: `cfg` is a "jwt_auth" section (configure.c uses
 * spk__mw_auth_configure2 for the pair). */
int spk__mw_auth_configure(const spk_json_value_t *cfg, struct spk__mw_auth **out, char *err,
                           size_t errlen) {
  return spk__mw_auth_configure2(cfg, NULL, out, err, errlen);
}

/* ---- request side ---- */

static int deny(spk__exchange_t *ex, const char *title, const char *detail, const char *www) {
  int rc = spk__res_problem_reset(&ex->res, 401, "unauthorized", title, detail);
  if (!rc && www) rc = spk_res_set_header(&ex->res, "WWW-Authenticate", www);
  if (rc) spk__exchange_error(ex, 500, "Internal server error");
  return SPK__STEP_RESPOND;
}

static int check_api_key(spk__exchange_t *ex, const struct spk__mw_auth *c) {
  spk_str_t v;
  static const char *const query_names[] = {"api_key", "apiKey", "key"};
  int found = spk_req_header(&ex->req, c->header_name, &v) == SPK_OK;
  for (size_t i = 0; !found && i < 3; i++)
    found = spk_req_query(&ex->req, query_names[i], &v) == SPK_OK;
  if (!found) return deny(ex, "Missing API key", c->missing_detail, NULL);
  unsigned char d[KEY_DIGEST];
  if (!digest(c, v.ptr, v.len, d)) {
    spk__exchange_error(ex, 500, "Internal server error");
    return SPK__STEP_RESPOND;
  }
  int match = 0;
  for (size_t i = 0; i < c->nkeys; i++) match |= CRYPTO_memcmp(d, c->key_digests[i], KEY_DIGEST) == 0;
  if (!match) return deny(ex, "Invalid API key", "The provided API key is not valid", NULL);
  return SPK__STEP_NEXT;
}

#define INVALID_TOKEN "Bearer error=\"invalid_token\""

static int check_jwt(spk__exchange_t *ex, const struct spk__mw_auth *c) {
  spk_str_t v;
  if (spk_req_header_id(&ex->req, SPK_HEADER_AUTHORIZATION, 0, &v) != SPK_OK)
    return deny(ex, "Missing or invalid Authorization header",
                "Expected 'Authorization: Bearer <token>'", "Bearer");
  if (v.len < 7 || memcmp(v.ptr, "Bearer ", 7) != 0)
    return deny(ex, "Invalid Authorization header format",
                "Authorization header must use Bearer scheme: 'Bearer <token>'", "Bearer");
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  spk_jwt_policy_t policy = {.audience = c->audience,
                             .audience_count = c->naudience,
                             .issuer = c->issuer,
                             .issuer_len = c->issuer_len,
                             .leeway = c->leeway,
                             .now = (int64_t)ts.tv_sec};
  spk_jwt_result_t r;
  spk_jwt_status_t st = spk_jwt_verify(&ex->arena, c->key, &policy, v.ptr + 7, v.len - 7, &r);
  char detail[160];
  const char *title = "JWT validation failed", *d = detail;
  switch (st) {
    case SPK_JWT_OK: {
      spk__buf_t b = {0};
      char *text = NULL;
      if (spk_json_write(&b, r.claims, 0) == SPK_OK)
        text = spk__arena_strndup(&ex->arena, b.data ? b.data : "", b.len);
      size_t len = b.len;
      spk__buf_free(&b);
      if (!text) {
        spk__exchange_error(ex, 500, "Internal server error");
        return SPK__STEP_RESPOND;
      }
      ex->jwt_claims = (spk_str_t){text, len};
      return SPK__STEP_NEXT;
    }
    case SPK_JWT_NOMEM:
      spk__exchange_error(ex, 500, "Internal server error");
      return SPK__STEP_RESPOND;
    case SPK_JWT_MALFORMED:
      title = "Malformed JWT token";
      snprintf(detail, sizeof(detail),
               "Malformed JWT token: expected 3 parts separated by dots, found %zu", r.parts);
      break;
    case SPK_JWT_EXPIRED: d = "Token has expired"; break;
    case SPK_JWT_BAD_SIGNATURE: d = "Token signature is invalid"; break;
    case SPK_JWT_BAD_AUDIENCE: d = "Token audience is invalid"; break;
    case SPK_JWT_BAD_ISSUER: d = c->issuer_detail ? c->issuer_detail : "Token issuer is invalid"; break;
    case SPK_JWT_NOT_YET_VALID: d = "JWT not valid yet, not before claim is in the future"; break;
    case SPK_JWT_BAD_ALG: d = "Token validation failed: InvalidAlgorithm"; break;
    case SPK_JWT_MISSING_CLAIM:
      snprintf(detail, sizeof(detail), "Token validation failed: Missing required claim: %s", r.claim);
      break;
    case SPK_JWT_BAD_CLAIM:
      snprintf(detail, sizeof(detail), "Token validation failed: Invalid claim format: %s", r.claim);
      break;
    case SPK_JWT_INVALID:
    default: d = "Token is invalid"; break;
  }
  return deny(ex, title, d, INVALID_TOKEN);
}

int spk__mw_auth_check(spk__exchange_t *ex, const struct spk__mw_auth *c) {
  if (c->nkeys) {
    int r = check_api_key(ex, c);
    if (r != SPK__STEP_NEXT) return r;
  }
  return c->key ? check_jwt(ex, c) : SPK__STEP_NEXT;
}
