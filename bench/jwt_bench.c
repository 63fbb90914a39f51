/* JWT verification throughput (proto/jwt): verifications per second, one thread, per
 * algorithm, for a typical token (sub, exp, aud, iss). Keys are generated at start; each
 * algorithm runs ROUNDS rounds of about SECONDS each and the median round is reported.
 *   jwt_bench [seconds-per-round] [rounds] */
#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "proto/jwt.h"
#include "util/arena.h"
#include "util/buf.h"

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static char *pem(EVP_PKEY *pk, int priv) {
  BIO *b = BIO_new(BIO_s_mem());
  if (priv) PEM_write_bio_PrivateKey(b, pk, NULL, NULL, 0, NULL, NULL);
  else PEM_write_bio_PUBKEY(b, pk);
  char *d;
  long n = BIO_get_mem_data(b, &d);
  char *s = malloc((size_t)n + 1);
  memcpy(s, d, (size_t)n);
  s[n] = 0;
  BIO_free(b);
  return s;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 1.0;
  int rounds = argc > 2 ? atoi(argv[2]) : 3;
  if (rounds < 1 || rounds > 15) rounds = 3;
  EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
  EVP_PKEY *p256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
  EVP_PKEY *p384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
  if (!rsa || !p256 || !p384) return 1;
  char *rsa_pub = pem(rsa, 0), *rsa_priv = pem(rsa, 1);
  char *p256_pub = pem(p256, 0), *p256_priv = pem(p256, 1);
  char *p384_pub = pem(p384, 0), *p384_priv = pem(p384, 1);
  const char *secret = "bench-secret-32-bytes-long......";
  const char *claims = "{\"sub\":\"user-1\",\"exp\":4102444800,\"iat\":1700000000,"
                       "\"aud\":[\"https://api.example.com\"],\"iss\":\"https://auth.example.com\"}";
  spk_str_t aud = {"https://api.example.com", 23};
  spk_jwt_policy_t policy = {.audience = &aud, .audience_count = 1,
                             .issuer = "https://auth.example.com", .issuer_len = 24,
                             .now = (int64_t)time(NULL)};
  spk_jwt_alg_t algs[] = {SPK_JWT_HS256, SPK_JWT_HS512, SPK_JWT_RS256, SPK_JWT_PS256,
                          SPK_JWT_ES256, SPK_JWT_ES384};
  printf("| algorithm | verifications/s (median of %d × %.1f s) | µs per verification | token bytes |\n",
         rounds, secs);
  printf("|---|---:|---:|---:|\n");
  for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
    spk_jwt_alg_t alg = algs[i];
    const char *pub = NULL, *priv = NULL;
    if (alg == SPK_JWT_RS256 || alg == SPK_JWT_PS256) pub = rsa_pub, priv = rsa_priv;
    if (alg == SPK_JWT_ES256) pub = p256_pub, priv = p256_priv;
    if (alg == SPK_JWT_ES384) pub = p384_pub, priv = p384_priv;
    int hmac = spk_jwt_alg_is_hmac(alg);
    char header[64], err[200];
    snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\"}", spk_jwt_alg_name(alg));
    spk__buf_t tok = {0};
    spk_jwt_key_t *key = NULL;
    if (spk_jwt_sign(alg, hmac ? secret : NULL, hmac ? strlen(secret) : 0, priv,
                     priv ? strlen(priv) : 0, header, claims, &tok) ||
        spk_jwt_key_new(alg, hmac ? secret : NULL, hmac ? strlen(secret) : 0, pub,
                        pub ? strlen(pub) : 0, &key, err, sizeof(err))) {
      fprintf(stderr, "%s: setup failed\n", spk_jwt_alg_name(alg));
      return 1;
    }
    double rates[15];
    for (int r = 0; r < rounds; r++) {
      spk__arena_t a;
      spk__arena_init(&a, 4096);
      long n = 0;
      double t0 = now_s(), t = t0;
      while (t - t0 < secs) {
        for (int k = 0; k < 64; k++) {
          spk_jwt_result_t res;
          spk__arena_free(&a);
          spk__arena_init(&a, 4096); /* a fresh arena per token, as per request */
          if (spk_jwt_verify(&a, key, &policy, tok.data, tok.len, &res) != SPK_JWT_OK) {
            fprintf(stderr, "%s: did not verify\n", spk_jwt_alg_name(alg));
            return 1;
          }
          n++;
        }
        t = now_s();
      }
      spk__arena_free(&a);
      rates[r] = n / (t - t0);
    }
    qsort(rates, (size_t)rounds, sizeof(double), cmp_d);
    double med = rates[rounds / 2];
    printf("| %s | %.0f | %.2f | %zu |\n", spk_jwt_alg_name(alg), med, 1e6 / med, tok.len);
    spk__buf_free(&tok);
    spk_jwt_key_free(key);
  }
  free(rsa_pub), free(rsa_priv), free(p256_pub), free(p256_priv), free(p384_pub), free(p384_priv);
  EVP_PKEY_free(rsa), EVP_PKEY_free(p256), EVP_PKEY_free(p384);
  return 0;
}
