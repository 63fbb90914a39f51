/* JSON Web Tokens (RFC 7519) in JWS compact form (RFC 7515), verified with OpenSSL 3.
 *
 * Pure: no I/O, no global state. A key (spk_jwt_key_t) is built once from configuration and is
 * read-only afterwards, so any number of threads may verify with it at once. Per-token memory
 * comes from the caller's arena.
 *
 * Security rules:
 *  - the algorithm is the key's, fixed at configuration; the token's "alg" must equal it (the
 *    token never chooses: no "none", no HS256 with an RSA public key as the secret);
 *  - signatures are checked before any claim is looked at; HMAC tags are compared in constant
 *    time (CRYPTO_memcmp);
 *  - base64url is decoded strictly (canonical, unpadded), header and claims must be JSON
 *    objects without duplicate keys, a "crit" header is refused (no extension is understood);
 *  - exp and nbf must be numbers (NumericDate); exp and sub are required. */
#ifndef SPK_PROTO_JWT_H
#define SPK_PROTO_JWT_H

#include <stddef.h>
#include <stdint.h>

#include "proto/json.h"
#include "spikard/common.h"
#include "util/arena.h"

typedef enum spk_jwt_alg {
  SPK_JWT_ALG_INVALID = 0,
  SPK_JWT_HS256 = 1,
  SPK_JWT_HS384 = 2,
  SPK_JWT_HS512 = 3,
  SPK_JWT_RS256 = 4,
  SPK_JWT_RS384 = 5,
  SPK_JWT_RS512 = 6,
  SPK_JWT_ES256 = 7,
  SPK_JWT_ES384 = 8,
  SPK_JWT_PS256 = 9,
  SPK_JWT_PS384 = 10,
  SPK_JWT_PS512 = 11
} spk_jwt_alg_t;

/* "HS256" → SPK_JWT_HS256 (exact, case-sensitive); SPK_JWT_ALG_INVALID for anything else,
 * "none" included. */
spk_jwt_alg_t spk_jwt_alg_parse(const char *name, size_t len);
const char *spk_jwt_alg_name(spk_jwt_alg_t alg); /* "HS256"; "" for invalid */
/* 1 for HS*, 0 for the public-key algorithms. */
int spk_jwt_alg_is_hmac(spk_jwt_alg_t alg);

typedef struct spk_jwt_key spk_jwt_key_t;

/* A verification key. HS*: `secret` (non-empty, copied). RS/PS/ES: `pem` holds a PEM
 * "PUBLIC KEY" (SubjectPublicKeyInfo) of the right kind: RSA ≥ 2048 bits for RS and PS, an EC key
 * on P-256 for ES256 and P-384 for ES384. 0, SPK_EINVAL with a reason in err, or SPK_ENOMEM. */
int spk_jwt_key_new(spk_jwt_alg_t alg, const void *secret, size_t secret_len, const char *pem,
                    size_t pem_len, spk_jwt_key_t **out, char *err, size_t errlen);
void spk_jwt_key_free(spk_jwt_key_t *key);
spk_jwt_alg_t spk_jwt_key_alg(const spk_jwt_key_t *key);

/* What the claims must satisfy. */
typedef struct spk_jwt_policy {
  const spk_str_t *audience; /* accepted audiences (any-of); NULL/0: a token with "aud" fails */
  size_t audience_count;
  const char *issuer; /* required "iss" (exact); NULL: not checked */
  size_t issuer_len;
  int64_t leeway; /* seconds of clock skew allowed for exp and nbf */
  int64_t now;    /* current time, seconds since the epoch */
} spk_jwt_policy_t;

typedef enum spk_jwt_status {
  SPK_JWT_OK = 0,
  SPK_JWT_MALFORMED = 1,      /* not three dot-separated parts (see parts) */
  SPK_JWT_INVALID = 2,        /* header or claims not base64url JSON objects, "crit" present */
  SPK_JWT_BAD_ALG = 3,        /* header "alg" missing or not the key's algorithm */
  SPK_JWT_BAD_SIGNATURE = 4,  /* signature does not decode or does not verify */
  SPK_JWT_EXPIRED = 5,        /* exp < now - leeway */
  SPK_JWT_NOT_YET_VALID = 6,  /* nbf > now + leeway */
  SPK_JWT_BAD_AUDIENCE = 7,   /* aud not a string/array of strings, or none accepted */
  SPK_JWT_BAD_ISSUER = 8,     /* iss differs (or is not a string) */
  SPK_JWT_MISSING_CLAIM = 9,  /* a required claim is absent (claim names it) */
  SPK_JWT_BAD_CLAIM = 10,     /* exp/nbf not a number (claim names it) */
  SPK_JWT_NOMEM = 11
} spk_jwt_status_t;

typedef struct spk_jwt_result {
  size_t parts;              /* dot-separated parts seen */
  spk_json_value_t *header;  /* parsed JOSE header (when it decoded) */
  spk_json_value_t *claims;  /* parsed claims (only after the signature verified) */
  const char *claim;         /* MISSING_CLAIM / BAD_CLAIM: "exp", "sub", "iss", "aud", "nbf" */
} spk_jwt_result_t;

/* Verify a compact JWS token (without the "Bearer " prefix). Every status but OK leaves
 * claims NULL (except the claim checks after a valid signature, which set it). */
spk_jwt_status_t spk_jwt_verify(spk__arena_t *arena, const spk_jwt_key_t *key,
                                const spk_jwt_policy_t *policy, const char *token, size_t len,
                                spk_jwt_result_t *out);

/* Sign header.payload with a private key: for tests, benchmarks and tools only (the server
 * never signs). `pem` is a PEM private key for RS/PS/ES, `secret` for HS. Appends the
 * compact token "b64(header).b64(claims).b64(sig)" to out. 0 or SPK_EINVAL/SPK_ENOMEM. */
int spk_jwt_sign(spk_jwt_alg_t alg, const void *secret, size_t secret_len, const char *pem,
                 size_t pem_len, const char *header_json, const char *claims_json,
                 spk__buf_t *out);

#endif
