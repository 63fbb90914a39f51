/* proto/base64url and proto/jwt: strict decoding, every algorithm (keys generated here with
 * OpenSSL), tampering, algorithm confusion, alg "none", time claims with leeway, aud, iss,
 * malformed input. */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>

#include "proto/base64url.h"
#include "proto/jwt.h"
#include "test.h"
#include "util/arena.h"
#include "util/buf.h"

#define NOW 1700000000
#define SECRET "a-test-secret-of-reasonable-length!"

/* ---- base64url ---- */

static int dec(const char *s, char *out, size_t *n) {
  return spk_base64url_decode(out, n, s, strlen(s));
}

static void test_base64url(void) {
  char out[64];
  size_t n = 0;
  /* RFC 4648 §10 vectors, unpadded */
  const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
  const char *coded[] = {"", "Zg", "Zm8", "Zm9v", "Zm9vYg", "Zm9vYmE", "Zm9vYmFy"};
  for (int i = 0; i < 7; i++) {
    size_t len = strlen(plain[i]);
    CHECK_INT(spk_base64url_encoded_len(len), strlen(coded[i]));
    CHECK_INT(spk_base64url_encode(out, plain[i], len), strlen(coded[i]));
    CHECK_MEM(out, strlen(coded[i]), coded[i]);
    CHECK_INT(dec(coded[i], out, &n), 0);
    CHECK_MEM(out, n, plain[i]);
    CHECK(spk_base64url_decoded_max(strlen(coded[i])) >= n);
  }
  /* URL alphabet: 0xfb 0xff → "-_8" */
  unsigned char b[2] = {0xfb, 0xff};
  CHECK_INT(spk_base64url_encode(out, b, 2), 3);
  CHECK_MEM(out, 3, "-_8");
  CHECK_INT(dec("-_8", out, &n), 0);
  CHECK_INT(n, 2);
  CHECK(memcmp(out, b, 2) == 0);
  /* strictness */
  CHECK_INT(dec("+/8", out, &n), SPK_EPROTO);      /* standard alphabet */
  CHECK_INT(dec("Zg==", out, &n), SPK_EPROTO);     /* padding */
  CHECK_INT(dec("Zm9v Yg", out, &n), SPK_EPROTO);  /* whitespace */
  CHECK_INT(dec("Z", out, &n), SPK_EPROTO);        /* 1 mod 4 */
  CHECK_INT(dec("Zh", out, &n), SPK_EPROTO);       /* non-zero tail bits */
  CHECK_INT(dec("Zm9", out, &n), SPK_EPROTO);      /* non-zero tail bits */
  CHECK_INT(dec("Zm\x80v", out, &n), SPK_EPROTO);  /* non-ASCII */
  /* round trip over every byte value and length */
  unsigned char all[256];
  char enc[400], back[300];
  for (int i = 0; i < 256; i++) all[i] = (unsigned char)i;
  for (size_t len = 0; len <= 256; len += 17) {
    size_t e = spk_base64url_encode(enc, all, len);
    CHECK_INT(spk_base64url_decode(back, &n, enc, e), 0);
    CHECK_INT(n, len);
    CHECK(memcmp(back, all, len) == 0);
  }
}

/* ---- keys ---- */

typedef struct keypair {
  char *pub;
  char *priv;
} keypair_t;

static char *bio_text(BIO *bio) {
  char *data = NULL;
  long n = BIO_get_mem_data(bio, &data);
  char *s = malloc((size_t)n + 1);
  memcpy(s, data, (size_t)n);
  s[n] = '\0';
  return s;
}

static keypair_t gen(const char *type, const char *param, size_t bits) {
  EVP_PKEY *pk = strcmp(type, "RSA") == 0 ? EVP_PKEY_Q_keygen(NULL, NULL, "RSA", bits)
                                          : EVP_PKEY_Q_keygen(NULL, NULL, "EC", param);
  keypair_t kp = {NULL, NULL};
  if (!pk) return kp;
  BIO *a = BIO_new(BIO_s_mem()), *b = BIO_new(BIO_s_mem());
  PEM_write_bio_PUBKEY(a, pk);
  PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
  kp.pub = bio_text(a);
  kp.priv = bio_text(b);
  BIO_free(a);
  BIO_free(b);
  EVP_PKEY_free(pk);
  return kp;
}

static keypair_t rsa2048, rsa1024, p256, p384;

static void free_kp(keypair_t *k) {
  free(k->pub);
  free(k->priv);
}

/* ---- helpers ---- */

static spk_jwt_key_t *key_for(spk_jwt_alg_t alg, const keypair_t *kp) {
  spk_jwt_key_t *k = NULL;
  char err[200];
  int rc = spk_jwt_alg_is_hmac(alg)
               ? spk_jwt_key_new(alg, SECRET, strlen(SECRET), NULL, 0, &k, err, sizeof(err))
               : spk_jwt_key_new(alg, NULL, 0, kp->pub, strlen(kp->pub), &k, err, sizeof(err));
  if (rc) fprintf(stderr, "key_new(%s): %s\n", spk_jwt_alg_name(alg), err);
  return k;
}

/* Sign; returns a heap string. */
static char *sign(spk_jwt_alg_t alg, const keypair_t *kp, const char *header, const char *claims) {
  spk__buf_t b = {0};
  int rc = spk_jwt_alg_is_hmac(alg)
               ? spk_jwt_sign(alg, SECRET, strlen(SECRET), NULL, 0, header, claims, &b)
               : spk_jwt_sign(alg, NULL, 0, kp->priv, strlen(kp->priv), header, claims, &b);
  if (rc) {
    spk__buf_free(&b);
    return NULL;
  }
  return b.data;
}

static spk_jwt_status_t verify(const spk_jwt_key_t *k, const spk_jwt_policy_t *p, const char *tok) {
  spk__arena_t a;
  spk__arena_init(&a, 1024);
  spk_jwt_result_t r;
  spk_jwt_status_t st = spk_jwt_verify(&a, k, p, tok, tok ? strlen(tok) : 0, &r);
  if (st == SPK_JWT_OK && !r.claims) st = (spk_jwt_status_t)99;
  spk__arena_free(&a);
  return st;
}

static const spk_jwt_policy_t plain_policy = {.now = NOW};

#define CLAIMS "{\"sub\":\"u1\",\"exp\":4102444800}"

static const keypair_t *kp_for(spk_jwt_alg_t alg) {
  switch (alg) {
    case SPK_JWT_ES256: return &p256;
    case SPK_JWT_ES384: return &p384;
    default: return &rsa2048;
  }
}

static char *header_for(spk_jwt_alg_t alg, char *buf, size_t n) {
  snprintf(buf, n, "{\"alg\":\"%s\",\"typ\":\"JWT\"}", spk_jwt_alg_name(alg));
  return buf;
}

/* Every algorithm: a good token verifies; flipping any byte of header, payload or signature
 * fails; a token signed for another algorithm is refused. */
static void test_every_algorithm(void) {
  for (int a = SPK_JWT_HS256; a <= SPK_JWT_PS512; a++) {
    spk_jwt_alg_t alg = (spk_jwt_alg_t)a;
    const keypair_t *kp = kp_for(alg);
    spk_jwt_key_t *k = key_for(alg, kp);
    CHECK(k != NULL);
    if (!k) continue;
    CHECK_INT(spk_jwt_key_alg(k), alg);
    char h[80];
    char *tok = sign(alg, kp, header_for(alg, h, sizeof(h)), CLAIMS);
    CHECK(tok != NULL);
    if (!tok) {
      spk_jwt_key_free(k);
      continue;
    }
    if (verify(k, &plain_policy, tok) != SPK_JWT_OK)
      fprintf(stderr, "alg %s did not verify\n", spk_jwt_alg_name(alg));
    CHECK_INT(verify(k, &plain_policy, tok), SPK_JWT_OK);
    /* Tamper: change one character in each part (keeping the base64url alphabet). */
    size_t len = strlen(tok);
    const char *d1 = strchr(tok, '.'), *d2 = strrchr(tok, '.');
    size_t spots[3] = {1, (size_t)(d1 - tok) + 3, (size_t)(d2 - tok) + 3};
    for (int i = 0; i < 3; i++) {
      char *t = strdup(tok);
      t[spots[i]] = t[spots[i]] == 'A' ? 'B' : 'A';
      spk_jwt_status_t st = verify(k, &plain_policy, t);
      CHECK(st != SPK_JWT_OK);
      if (i == 2) CHECK_INT(st, SPK_JWT_BAD_SIGNATURE);
      free(t);
    }
    /* Truncated signature, empty signature. */
    char *t = strdup(tok);
    t[len - 4] = '\0';
    CHECK(verify(k, &plain_policy, t) == SPK_JWT_BAD_SIGNATURE);
    t[d2 - tok + 1] = '\0';
    CHECK_INT(verify(k, &plain_policy, t), SPK_JWT_BAD_SIGNATURE);
    free(t);
    free(tok);
    spk_jwt_key_free(k);
  }
}

/* The key decides the algorithm, never the token. */
static void test_algorithm_confusion(void) {
  spk_jwt_key_t *rs = key_for(SPK_JWT_RS256, &rsa2048);
  spk_jwt_key_t *hs = key_for(SPK_JWT_HS256, NULL);
  char *hs_tok = sign(SPK_JWT_HS256, NULL, "{\"alg\":\"HS256\"}", CLAIMS);
  CHECK_INT(verify(rs, &plain_policy, hs_tok), SPK_JWT_BAD_ALG);
  /* Classic confusion: HS256 "signed" with the RSA public key's PEM as the secret. */
  spk__buf_t b = {0};
  CHECK_INT(spk_jwt_sign(SPK_JWT_HS256, rsa2048.pub, strlen(rsa2048.pub), NULL, 0,
                         "{\"alg\":\"HS256\"}", CLAIMS, &b), 0);
  CHECK_INT(verify(rs, &plain_policy, b.data), SPK_JWT_BAD_ALG);
  spk__buf_free(&b);
  /* Same key, header claims another HMAC size. */
  char *t384 = sign(SPK_JWT_HS384, NULL, "{\"alg\":\"HS384\"}", CLAIMS);
  CHECK_INT(verify(hs, &plain_policy, t384), SPK_JWT_BAD_ALG);
  /* RS256 token presented to an RS256 key but with header PS256. */
  char *ps = sign(SPK_JWT_PS256, &rsa2048, "{\"alg\":\"PS256\"}", CLAIMS);
  CHECK_INT(verify(rs, &plain_policy, ps), SPK_JWT_BAD_ALG);
  /* alg none, in every spelling, with and without a signature. */
  const char *nones[] = {
      "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ1MSIsImV4cCI6NDEwMjQ0NDgwMH0.",        /* {"alg":"none"} */
      "eyJhbGciOiJOb25lIn0.eyJzdWIiOiJ1MSIsImV4cCI6NDEwMjQ0NDgwMH0.",        /* None */
      "eyJhbGciOiJOT05FIn0.eyJzdWIiOiJ1MSIsImV4cCI6NDEwMjQ0NDgwMH0.AAAA",    /* NONE */
      "eyJ0eXAiOiJKV1QifQ.eyJzdWIiOiJ1MSIsImV4cCI6NDEwMjQ0NDgwMH0.",         /* no alg */
  };
  for (size_t i = 0; i < 4; i++) {
    CHECK_INT(verify(hs, &plain_policy, nones[i]), SPK_JWT_BAD_ALG);
    CHECK_INT(verify(rs, &plain_policy, nones[i]), SPK_JWT_BAD_ALG);
  }
  CHECK_INT(spk_jwt_alg_parse("none", 4), SPK_JWT_ALG_INVALID);
  CHECK_INT(spk_jwt_alg_parse("hs256", 5), SPK_JWT_ALG_INVALID);
  CHECK_INT(spk_jwt_alg_parse("ES512", 5), SPK_JWT_ALG_INVALID);
  CHECK_INT(spk_jwt_alg_parse("PS384", 5), SPK_JWT_PS384);
  /* Header alg not a string; crit present. */
  char *t = sign(SPK_JWT_HS256, NULL, "{\"alg\":[\"HS256\"]}", CLAIMS);
  CHECK_INT(verify(hs, &plain_policy, t), SPK_JWT_BAD_ALG);
  free(t);
  t = sign(SPK_JWT_HS256, NULL, "{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", CLAIMS);
  CHECK_INT(verify(hs, &plain_policy, t), SPK_JWT_INVALID);
  free(t);
  free(hs_tok);
  free(t384);
  free(ps);
  spk_jwt_key_free(rs);
  spk_jwt_key_free(hs);
}

static void test_keys(void) {
  spk_jwt_key_t *k = NULL;
  char err[200] = "";
  CHECK_INT(spk_jwt_key_new(SPK_JWT_HS256, "", 0, NULL, 0, &k, err, sizeof(err)), SPK_EINVAL);
  CHECK(strstr(err, "non-empty") != NULL);
  CHECK_INT(spk_jwt_key_new(SPK_JWT_HS256, "s", 1, rsa2048.pub, strlen(rsa2048.pub), &k, err,
                            sizeof(err)), SPK_EINVAL);
  CHECK_INT(spk_jwt_key_new(SPK_JWT_RS256, "s", 1, NULL, 0, &k, err, sizeof(err)), SPK_EINVAL);
  CHECK(strstr(err, "public key") != NULL);
  CHECK_INT(spk_jwt_key_new(SPK_JWT_RS256, NULL, 0, NULL, 0, &k, err, sizeof(err)), SPK_EINVAL);
  CHECK_INT(spk_jwt_key_new(SPK_JWT_RS256, NULL, 0, "junk", 4, &k, err, sizeof(err)), SPK_EINVAL);
  CHECK(strstr(err, "BEGIN PUBLIC KEY") != NULL);
  /* a private key where a public one belongs */
  CHECK_INT(spk_jwt_key_new(SPK_JWT_RS256, NULL, 0, rsa2048.priv, strlen(rsa2048.priv), &k, err,
                            sizeof(err)), SPK_EINVAL);
  /* wrong kind of key for the algorithm */
  CHECK_INT(spk_jwt_key_new(SPK_JWT_RS256, NULL, 0, p256.pub, strlen(p256.pub), &k, err,
                            sizeof(err)), SPK_EINVAL);
  CHECK(strstr(err, "not an RSA key") != NULL);
  CHECK_INT(spk_jwt_key_new(SPK_JWT_ES256, NULL, 0, rsa2048.pub, strlen(rsa2048.pub), &k, err,
                            sizeof(err)), SPK_EINVAL);
  CHECK(strstr(err, "not an EC key") != NULL);
  CHECK_INT(spk_jwt_key_new(SPK_JWT_ES256, NULL, 0, p384.pub, strlen(p384.pub), &k, err,
                            sizeof(err)), SPK_EINVAL);
  CHECK(strstr(err, "P-256") != NULL);
  CHECK_INT(spk_jwt_key_new(SPK_JWT_ES384, NULL, 0, p256.pub, strlen(p256.pub), &k, err,
                            sizeof(err)), SPK_EINVAL);
  CHECK(strstr(err, "P-384") != NULL);
  CHECK_INT(spk_jwt_key_new(SPK_JWT_PS256, NULL, 0, rsa1024.pub, strlen(rsa1024.pub), &k, err,
                            sizeof(err)), SPK_EINVAL);
  CHECK(strstr(err, "2048") != NULL);
  CHECK_INT(spk_jwt_key_new(SPK_JWT_ALG_INVALID, "s", 1, NULL, 0, &k, err, sizeof(err)),
            SPK_EINVAL);
  CHECK(k == NULL);
  spk_jwt_key_free(NULL);
}

/* ES signatures must be exactly r||s of the curve size (a DER signature is refused). */
static void test_ecdsa_format(void) {
  spk_jwt_key_t *k = key_for(SPK_JWT_ES256, &p256);
  char *tok = sign(SPK_JWT_ES256, &p256, "{\"alg\":\"ES256\"}", CLAIMS);
  CHECK_INT(verify(k, &plain_policy, tok), SPK_JWT_OK);
  const char *sig = strrchr(tok, '.') + 1;
  CHECK_INT(strlen(sig), spk_base64url_encoded_len(64));
  /* r||s with s = 0 or r = 0 */
  unsigned char raw[64];
  size_t n = 0;
  CHECK_INT(spk_base64url_decode(raw, &n, sig, strlen(sig)), 0);
  char t[600];
  size_t prefix = (size_t)(sig - tok);
  unsigned char zero[64];
  memcpy(zero, raw, 64);
  memset(zero + 32, 0, 32);
  memcpy(t, tok, prefix);
  t[prefix + spk_base64url_encode(t + prefix, zero, 64)] = '\0';
  CHECK_INT(verify(k, &plain_policy, t), SPK_JWT_BAD_SIGNATURE);
  /* 65 bytes (one extra) */
  unsigned char longer[65];
  memcpy(longer, raw, 64);
  longer[64] = 0;
  t[prefix + spk_base64url_encode(t + prefix, longer, 65)] = '\0';
  CHECK_INT(verify(k, &plain_policy, t), SPK_JWT_BAD_SIGNATURE);
  free(tok);
  spk_jwt_key_free(k);
}

static spk_jwt_status_t hs_claims(const spk_jwt_policy_t *p, const char *claims, const char **claim) {
  spk_jwt_key_t *k = key_for(SPK_JWT_HS256, NULL);
  char *tok = sign(SPK_JWT_HS256, NULL, "{\"alg\":\"HS256\",\"typ\":\"JWT\"}", claims);
  spk__arena_t a;
  spk__arena_init(&a, 1024);
  spk_jwt_result_t r;
  spk_jwt_status_t st = spk_jwt_verify(&a, k, p, tok, strlen(tok), &r);
  if (claim) *claim = r.claim;
  if (st == SPK_JWT_OK) CHECK(r.claims && r.claims->type == SPK_JSON_OBJECT);
  spk__arena_free(&a);
  free(tok);
  spk_jwt_key_free(k);
  return st;
}

static void test_time_claims(void) {
  spk_jwt_policy_t p = {.now = NOW};
  const char *claim = NULL;
  CHECK_INT(hs_claims(&p, "{\"sub\":\"u\",\"exp\":1700000000}", NULL), SPK_JWT_OK); /* exp == now */
  CHECK_INT(hs_claims(&p, "{\"sub\":\"u\",\"exp\":1699999999}", NULL), SPK_JWT_EXPIRED);
  CHECK_INT(hs_claims(&p, "{\"sub\":\"u\",\"exp\":1699999999.5}", NULL), SPK_JWT_EXPIRED);
  CHECK_INT(hs_claims(&p, "{\"sub\":\"u\",\"exp\":1700000000.5}", NULL), SPK_JWT_OK);
  CHECK_INT(hs_claims(&p, "{\"sub\":\"u\",\"exp\":1e10}", NULL), SPK_JWT_OK);
  CHECK_INT(hs_claims(&p, "{\"sub\":\"u\",\"exp\":\"4102444800\"}", &claim), SPK_JWT_BAD_CLAIM);
  CHECK_STR(claim, "exp");
  CHECK_INT(hs_claims(&p, "{\"sub\":\"u\",\"exp\":null}", NULL), SPK_JWT_BAD_CLAIM);
  CHECK_INT(hs_claims(&p, "{\"sub\":\"u\",\"exp\":1e400}", NULL), SPK_JWT_BAD_CLAIM);
  CHECK_INT(hs_claims(&p, "{\"sub\":\"u\"}", &claim), SPK_JWT_MISSING_CLAIM);
  CHECK_STR(claim, "exp");
  CHECK_INT(hs_claims(&p, "{\"exp\":4102444800}", &claim), SPK_JWT_MISSING_CLAIM);
  CHECK_STR(claim, "sub");
  CHECK_INT(hs_claims(&p, "{\"sub\":7,\"exp\":4102444800}", &claim), SPK_JWT_BAD_CLAIM);
  CHECK_STR(claim, "sub");
  /* nbf */
  CHECK_INT(hs_claims(&p, "{\"sub\":\"u\",\"exp\":4102444800,\"nbf\":1700000000}", NULL), SPK_JWT_OK);
  CHECK_INT(hs_claims(&p, "{\"sub\":\"u\",\"exp\":4102444800,\"nbf\":1700000001}", NULL),
            SPK_JWT_NOT_YET_VALID);
  CHECK_INT(hs_claims(&p, "{\"sub\":\"u\",\"exp\":4102444800,\"nbf\":\"x\"}", &claim), SPK_JWT_BAD_CLAIM);
  CHECK_STR(claim, "nbf");
  /* leeway widens both ends */
  p.leeway = 60;
  CHECK_INT(hs_claims(&p, "{\"sub\":\"u\",\"exp\":1699999940}", NULL), SPK_JWT_OK);
  CHECK_INT(hs_claims(&p, "{\"sub\":\"u\",\"exp\":1699999939}", NULL), SPK_JWT_EXPIRED);
  CHECK_INT(hs_claims(&p, "{\"sub\":\"u\",\"exp\":4102444800,\"nbf\":1700000060}", NULL), SPK_JWT_OK);
  CHECK_INT(hs_claims(&p, "{\"sub\":\"u\",\"exp\":4102444800,\"nbf\":1700000061}", NULL),
            SPK_JWT_NOT_YET_VALID);
  /* expiry is checked before nbf (the reference's order) */
  CHECK_INT(hs_claims(&p, "{\"sub\":\"u\",\"exp\":1,\"nbf\":4102444800}", NULL), SPK_JWT_EXPIRED);
}

static void test_aud_iss(void) {
  spk_str_t auds[2] = {{"https://a.example", 17}, {"https://b.example", 17}};
  spk_jwt_policy_t p = {.now = NOW, .audience = auds, .audience_count = 2,
                        .issuer = "https://iss.example", .issuer_len = 19};
  const char *claim = NULL;
#define C(x) "{\"sub\":\"u\",\"exp\":4102444800," x "}"
  CHECK_INT(hs_claims(&p, C("\"aud\":\"https://b.example\",\"iss\":\"https://iss.example\""), NULL), SPK_JWT_OK);
  CHECK_INT(hs_claims(&p, C("\"aud\":[\"x\",\"https://a.example\"],\"iss\":\"https://iss.example\""), NULL), SPK_JWT_OK);
  CHECK_INT(hs_claims(&p, C("\"aud\":[\"x\",\"y\"],\"iss\":\"https://iss.example\""), NULL), SPK_JWT_BAD_AUDIENCE);
  CHECK_INT(hs_claims(&p, C("\"aud\":[],\"iss\":\"https://iss.example\""), NULL), SPK_JWT_BAD_AUDIENCE);
  CHECK_INT(hs_claims(&p, C("\"aud\":[\"https://a.example\",5],\"iss\":\"https://iss.example\""), NULL), SPK_JWT_BAD_AUDIENCE);
  CHECK_INT(hs_claims(&p, C("\"aud\":\"https://a.examplE\",\"iss\":\"https://iss.example\""), NULL), SPK_JWT_BAD_AUDIENCE);
  CHECK_INT(hs_claims(&p, C("\"aud\":{},\"iss\":\"https://iss.example\""), NULL), SPK_JWT_BAD_AUDIENCE);
  CHECK_INT(hs_claims(&p, C("\"iss\":\"https://iss.example\""), &claim), SPK_JWT_MISSING_CLAIM);
  CHECK_STR(claim, "aud");
  CHECK_INT(hs_claims(&p, C("\"aud\":\"https://a.example\",\"iss\":\"https://iss.example/\""), NULL), SPK_JWT_BAD_ISSUER);
  CHECK_INT(hs_claims(&p, C("\"aud\":\"https://a.example\",\"iss\":7"), NULL), SPK_JWT_BAD_ISSUER);
  CHECK_INT(hs_claims(&p, C("\"aud\":\"https://a.example\""), &claim), SPK_JWT_MISSING_CLAIM);
  CHECK_STR(claim, "iss");
  /* issuer checked before audience */
  CHECK_INT(hs_claims(&p, C("\"aud\":\"zz\",\"iss\":\"zz\""), NULL), SPK_JWT_BAD_ISSUER);
  /* no audience configured: a token naming one is refused (RFC 7519 §4.1.3), none is fine */
  spk_jwt_policy_t q = {.now = NOW};
  CHECK_INT(hs_claims(&q, C("\"aud\":\"https://a.example\""), NULL), SPK_JWT_BAD_AUDIENCE);
  CHECK_INT(hs_claims(&q, C("\"iss\":\"anyone\""), NULL), SPK_JWT_OK);
#undef C
}

static void test_malformed(void) {
  spk_jwt_key_t *k = key_for(SPK_JWT_HS256, NULL);
  struct {
    const char *tok;
    spk_jwt_status_t st;
    size_t parts;
  } cases[] = {
      {"", SPK_JWT_MALFORMED, 1},
      {"abc", SPK_JWT_MALFORMED, 1},
      {"a.b", SPK_JWT_MALFORMED, 2},
      {"a.b.c.d", SPK_JWT_MALFORMED, 4},
      {"a.b.c.d.e", SPK_JWT_MALFORMED, 5},
      {"...", SPK_JWT_MALFORMED, 4},
      {"..", SPK_JWT_INVALID, 3},
      {"e30.e30.", SPK_JWT_BAD_ALG, 3},                 /* {} header */
      {"W10.e30.", SPK_JWT_INVALID, 3},                 /* [] header */
      {"eyJhbGciOiJIUzI1NiJ9=.e30.", SPK_JWT_INVALID, 3}, /* padded */
      {"eyJhbGciOiJIUzI1NiIsImFsZyI6IkhTMjU2In0.e30.", SPK_JWT_INVALID, 3}, /* dup key */
      {"bm90IGpzb24.e30.", SPK_JWT_INVALID, 3},         /* not json */
      {"eyJhbGciOiJIUzI1NiJ9.e30.!!!", SPK_JWT_BAD_SIGNATURE, 3},
      {"eyJhbGciOiJIUzI1NiJ9.e30.invalid_signature_here", SPK_JWT_BAD_SIGNATURE, 3},
  };
  for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
    spk__arena_t a;
    spk__arena_init(&a, 256);
    spk_jwt_result_t r;
    spk_jwt_status_t st = spk_jwt_verify(&a, k, &plain_policy, cases[i].tok, strlen(cases[i].tok), &r);
    if (st != cases[i].st) fprintf(stderr, "case %zu: %s → %d\n", i, cases[i].tok, st);
    CHECK_INT(st, cases[i].st);
    CHECK_INT(r.parts, cases[i].parts);
    CHECK(r.claims == NULL);
    spk__arena_free(&a);
  }
  /* Valid signature over a payload that is not an object. */
  char *t = sign(SPK_JWT_HS256, NULL, "{\"alg\":\"HS256\"}", "[1]");
  CHECK_INT(verify(k, &plain_policy, t), SPK_JWT_INVALID);
  free(t);
  t = sign(SPK_JWT_HS256, NULL, "{\"alg\":\"HS256\"}", "{\"sub\":\"u\",\"sub\":\"v\",\"exp\":4102444800}");
  CHECK_INT(verify(k, &plain_policy, t), SPK_JWT_INVALID); /* duplicate claim */
  free(t);
  /* Embedded NUL inside the token text. */
  char *good = sign(SPK_JWT_HS256, NULL, "{\"alg\":\"HS256\"}", CLAIMS);
  size_t len = strlen(good);
  good[5] = '\0';
  spk__arena_t a;
  spk__arena_init(&a, 256);
  spk_jwt_result_t r;
  CHECK(spk_jwt_verify(&a, k, &plain_policy, good, len, &r) != SPK_JWT_OK);
  spk__arena_free(&a);
  free(good);
  spk_jwt_key_free(k);
}

/* The reference fixtures' HS256 tokens (secret from the fixtures). */
static void test_reference_vector(void) {
  const char *secret = "test-secret-key-do-not-use-in-production";
  spk_jwt_key_t *k = NULL;
  char err[100];
  CHECK_INT(spk_jwt_key_new(SPK_JWT_HS256, secret, strlen(secret), NULL, 0, &k, err, sizeof(err)), 0);
  spk_str_t aud = {"https://api.example.com", 23};
  spk_jwt_policy_t p = {.now = NOW, .audience = &aud, .audience_count = 1,
                        .issuer = "https://auth.example.com", .issuer_len = 24};
  CHECK_INT(verify(k, &p,
                   "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyMTIzIiwiZXhwIjoyNjI2NzgzOTQ2LCJp"
                   "YXQiOjE3NjI3ODM5NDYsImF1ZCI6WyJodHRwczovL2FwaS5leGFtcGxlLmNvbSJdLCJpc3MiOiJodHRwczovL2F1"
                   "dGguZXhhbXBsZS5jb20ifQ.TpRpCJeXROQ12-ehRCVZm6EgN7Dn6QpfoekxJvnzgQg"),
            SPK_JWT_OK);
  spk_jwt_key_free(k);
}

int main(void) {
  rsa2048 = gen("RSA", NULL, 2048);
  rsa1024 = gen("RSA", NULL, 1024);
  p256 = gen("EC", "P-256", 0);
  p384 = gen("EC", "P-384", 0);
  CHECK(rsa2048.pub && rsa1024.pub && p256.pub && p384.pub);
  RUN(test_base64url);
  RUN(test_keys);
  RUN(test_every_algorithm);
  RUN(test_algorithm_confusion);
  RUN(test_ecdsa_format);
  RUN(test_time_claims);
  RUN(test_aud_iss);
  RUN(test_malformed);
  RUN(test_reference_vector);
  free_kp(&rsa2048);
  free_kp(&rsa1024);
  free_kp(&p256);
  free_kp(&p384);
  return test_report("jwt");
}
