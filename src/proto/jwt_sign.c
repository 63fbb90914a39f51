/* JWT signing: for tests, benchmarks and tools (the server only verifies). */
#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <string.h>

#include "proto/base64url.h"
#include "proto/jwt.h"
#include "proto/jwt_alg.h"
#include "util/alloc.h"
#include "util/buf.h"

static int append_b64(spk__buf_t *out, const void *data, size_t n) {
  int rc = spk__buf_reserve(out, spk_base64url_encoded_len(n) + 1);
  if (rc) return rc;
  out->len += spk_base64url_encode(out->data + out->len, data, n);
  return SPK_OK;
}

/* DER ECDSA signature → JOSE r || s (each `size` bytes). */
static int der_to_raw(const unsigned char *der, size_t der_len, size_t size, unsigned char *raw) {
  const unsigned char *p = der;
  ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
  if (!es) return 0;
  const BIGNUM *r, *s;
  ECDSA_SIG_get0(es, &r, &s);
  int ok = BN_bn2binpad(r, raw, (int)size) == (int)size &&
           BN_bn2binpad(s, raw + size, (int)size) == (int)size;
  ECDSA_SIG_free(es);
  return ok;
}

static int sign_pkey(const spk__jwt_alg_info_t *info, const char *pem, size_t pem_len,
                     const char *data, size_t n, unsigned char *sig, size_t *siglen) {
  BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
  EVP_PKEY *pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL) : NULL;
  BIO_free(bio);
  EVP_MD *md = EVP_MD_fetch(NULL, info->md, NULL);
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  EVP_PKEY_CTX *pctx = NULL;
  int ok = 0;
  unsigned char der[1024];
  size_t der_len = sizeof(der);
  if (pkey && md && ctx && EVP_DigestSignInit(ctx, &pctx, md, NULL, pkey) == 1) {
    int setup = 1;
    if (info->kind == SPK__JWT_PSS)
      setup = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
              EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, md) > 0;
    if (setup && EVP_DigestSign(ctx, der, &der_len, (const unsigned char *)data, n) == 1) {
      if (info->kind == SPK__JWT_EC) {
        ok = der_to_raw(der, der_len, info->ec_size, sig);
        *siglen = 2 * info->ec_size;
      } else if (der_len <= *siglen) {
        memcpy(sig, der, der_len);
        *siglen = der_len;
        ok = 1;
      }
    }
  }
  EVP_MD_CTX_free(ctx);
  EVP_MD_free(md);
  EVP_PKEY_free(pkey);
  ERR_clear_error();
  return ok;
}

int spk_jwt_sign(spk_jwt_alg_t alg, const void *secret, size_t secret_len, const char *pem,
                 size_t pem_len, const char *header_json, const char *claims_json,
                 spk__buf_t *out) {
  const spk__jwt_alg_info_t *info = spk__jwt_alg_info(alg);
  if (!info || !header_json || !claims_json) return SPK_EINVAL;
  size_t start = out->len;
  int rc = append_b64(out, header_json, strlen(header_json));
  if (!rc) rc = spk__buf_append_char(out, '.');
  if (!rc) rc = append_b64(out, claims_json, strlen(claims_json));
  if (rc) return rc;
  unsigned char sig[1024];
  size_t siglen = sizeof(sig);
  const char *data = out->data + start;
  size_t n = out->len - start;
  int ok;
  if (info->kind == SPK__JWT_HMAC) {
    unsigned int len = 0;
    EVP_MD *md = EVP_MD_fetch(NULL, info->md, NULL);
    ok = md && secret && HMAC(md, secret, (int)secret_len, (const unsigned char *)data, n, sig, &len);
    siglen = len;
    EVP_MD_free(md);
  } else {
    ok = pem && sign_pkey(info, pem, pem_len, data, n, sig, &siglen);
  }
  if (!ok) {
    out->len = start;
    return SPK_EINVAL;
  }
  rc = spk__buf_append_char(out, '.');
  if (!rc) rc = append_b64(out, sig, siglen);
  if (!rc && (rc = spk__buf_reserve(out, 1)) == 0) out->data[out->len] = '\0';
  return rc;
}
