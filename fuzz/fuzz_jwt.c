/* libFuzzer target: proto/base64url and proto/jwt with a fixed HS256 key.
 *
 * First byte chooses the mode:
 *   even  the rest is a token: spk_jwt_verify must return a documented status, set parts to
 *         the number of dot-separated parts, and only OK or a claim failure may carry claims
 *         (a fuzzer cannot forge the HMAC, so OK should never appear for random bytes);
 *   odd   the rest (up to a NUL) is the claims text, signed with the fixed key, so the claim
 *         checks run on arbitrary JSON: the result must be OK or a claim/format status.
 * Every input is also base64url-decoded: a success must re-encode to exactly the input
 * (canonical decoding). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/base64url.h"
#include "proto/jwt.h"
#include "util/arena.h"
#include "util/buf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)     \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

#define SECRET "fuzz-secret"

static void check_base64url(const uint8_t *data, size_t size) {
  uint8_t *out = malloc(spk_base64url_decoded_max(size) + 1);
  REQUIRE(out);
  size_t n = 0;
  if (spk_base64url_decode(out, &n, (const char *)data, size) == SPK_OK) {
    REQUIRE(n <= spk_base64url_decoded_max(size));
    REQUIRE(spk_base64url_encoded_len(n) == size);
    char *back = malloc(size + 1);
    REQUIRE(back);
    REQUIRE(spk_base64url_encode(back, out, n) == size);
    REQUIRE(memcmp(back, data, size) == 0);
    free(back);
  }
  free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  check_base64url(data, size);
  if (size < 1) return 0;
  spk_jwt_key_t *key = NULL;
  char err[100];
  REQUIRE(spk_jwt_key_new(SPK_JWT_HS256, SECRET, strlen(SECRET), NULL, 0, &key, err,
                          sizeof(err)) == SPK_OK);
  spk_str_t aud[2] = {{"api", 3}, {"web", 3}};
  spk_jwt_policy_t policy = {.audience = aud, .audience_count = 2, .issuer = "iss",
                             .issuer_len = 3, .leeway = 30, .now = 1700000000};
  spk__arena_t a;
  spk__arena_init(&a, 512);
  spk_jwt_result_t r;
  if ((data[0] & 1) == 0) {
    const char *tok = (const char *)data + 1;
    size_t len = size - 1, dots = 0;
    for (size_t i = 0; i < len; i++) dots += tok[i] == '.';
    spk_jwt_status_t st = spk_jwt_verify(&a, key, &policy, tok, len, &r);
    REQUIRE(st <= SPK_JWT_NOMEM);
    REQUIRE(r.parts == dots + 1);
    if (st == SPK_JWT_MALFORMED) REQUIRE(dots != 2);
    if (st <= SPK_JWT_BAD_SIGNATURE && st != SPK_JWT_OK) REQUIRE(r.claims == NULL);
    if (r.claims) REQUIRE(r.claims->type == SPK_JSON_OBJECT);
  } else {
    char *claims = malloc(size);
    REQUIRE(claims);
    memcpy(claims, data + 1, size - 1);
    claims[size - 1] = '\0';
    spk__buf_t b = {0};
    REQUIRE(spk_jwt_sign(SPK_JWT_HS256, SECRET, strlen(SECRET), NULL, 0,
                         "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims, &b) == SPK_OK);
    spk_jwt_status_t st = spk_jwt_verify(&a, key, &policy, b.data, b.len, &r);
    /* The signature is good: only the claims can fail. */
    REQUIRE(st == SPK_JWT_OK || st == SPK_JWT_INVALID || st >= SPK_JWT_EXPIRED);
    REQUIRE(st != SPK_JWT_NOMEM);
    if (st == SPK_JWT_OK) {
      REQUIRE(r.claims && r.claims->type == SPK_JSON_OBJECT);
      REQUIRE(spk_json_get(r.claims, "sub", 3) && spk_json_get(r.claims, "exp", 3));
    }
    if (st == SPK_JWT_MISSING_CLAIM || st == SPK_JWT_BAD_CLAIM) REQUIRE(r.claim != NULL);
    spk__buf_free(&b);
    free(claims);
  }
  spk__arena_free(&a);
  spk_jwt_key_free(key);
  return 0;
}
