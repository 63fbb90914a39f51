/* JWT verification (RFC 7519 / 7515 / 7518) over OpenSSL 3 EVP. See jwt.h for the rules. */
#include "proto/jwt.h"

#include <math.h>
#include <openssl/bio.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <string.h>

#include "proto/base64url.h"
#include "proto/jwt_alg.h"
#include "util/alloc.h"

struct spk_jwt_key {
  spk_jwt_alg_t alg;
  const spk__jwt_alg_info_t *info;
  EVP_MD *md;             /* fetched once: no per-token lookup */
  unsigned char *secret;  /* HS* */
  size_t secret_len;
  EVP_PKEY *pkey;         /* RS/PS/ES: public key (read-only, shared by threads) */
};

static const spk__jwt_alg_info_t alg_table[] = {
    [SPK_JWT_HS256] = {"HS256", "SHA256", SPK__JWT_HMAC, 0, NULL},
    [SPK_JWT_HS384] = {"HS384", "SHA384", SPK__JWT_HMAC, 0, NULL},
    [SPK_JWT_HS512] = {"HS512", "SHA512", SPK__JWT_HMAC, 0, NULL},
    [SPK_JWT_RS256] = {"RS256", "SHA256", SPK__JWT_RSA, 0, NULL},
    [SPK_JWT_RS384] = {"RS384", "SHA384", SPK__JWT_RSA, 0, NULL},
    [SPK_JWT_RS512] = {"RS512", "SHA512", SPK__JWT_RSA, 0, NULL},
    [SPK_JWT_ES256] = {"ES256", "SHA256", SPK__JWT_EC, 32, "prime256v1"},
    [SPK_JWT_ES384] = {"ES384", "SHA384", SPK__JWT_EC, 48, "secp384r1"},
    [SPK_JWT_PS256] = {"PS256", "SHA256", SPK__JWT_PSS, 0, NULL},
    [SPK_JWT_PS384] = {"PS384", "SHA384", SPK__JWT_PSS, 0, NULL},
    [SPK_JWT_PS512] = {"PS512", "SHA512", SPK__JWT_PSS, 0, NULL},
};
#define ALG_MAX ((int)(sizeof(alg_table) / sizeof(alg_table[0])))

const spk__jwt_alg_info_t *spk__jwt_alg_info(spk_jwt_alg_t alg) {
  return (int)alg > 0 && (int)alg < ALG_MAX ? &alg_table[alg] : NULL;
}

spk_jwt_alg_t spk_jwt_alg_parse(const char *name, size_t len) {
  for (int i = 1; i < ALG_MAX; i++)
    if (len == 5 && memcmp(name, alg_table[i].name, 5) == 0) return (spk_jwt_alg_t)i;
  return SPK_JWT_ALG_INVALID;
}

const char *spk_jwt_alg_name(spk_jwt_alg_t alg) {
  const spk__jwt_alg_info_t *i = spk__jwt_alg_info(alg);
  return i ? i->name : "";
}

int spk_jwt_alg_is_hmac(spk_jwt_alg_t alg) {
  const spk__jwt_alg_info_t *i = spk__jwt_alg_info(alg);
  return i && i->kind == SPK__JWT_HMAC;
}

spk_jwt_alg_t spk_jwt_key_alg(const spk_jwt_key_t *key) { return key->alg; }

void spk_jwt_key_free(spk_jwt_key_t *key) {
  if (!key) return;
  if (key->secret) {
    OPENSSL_cleanse(key->secret, key->secret_len);
    spk__free(key->secret);
  }
  EVP_MD_free(key->md);
  EVP_PKEY_free(key->pkey);
  spk__free(key);
}

/* Does the public key fit the algorithm? NULL when it does, else the reason. */
static const char *check_pkey(const spk__jwt_alg_info_t *info, EVP_PKEY *pkey) {
  if (info->kind == SPK__JWT_EC) {
    if (!EVP_PKEY_is_a(pkey, "EC")) return "is not an EC key";
    char group[64] = "";
    if (!EVP_PKEY_get_utf8_string_param(pkey, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof(group),
                                        NULL) ||
        strcmp(group, info->curve) != 0)
      return info->ec_size == 32 ? "is not on curve P-256" : "is not on curve P-384";
    return NULL;
  }
  int rsa = EVP_PKEY_is_a(pkey, "RSA") || (info->kind == SPK__JWT_PSS && EVP_PKEY_is_a(pkey, "RSA-PSS"));
  if (!rsa) return "is not an RSA key";
  if (EVP_PKEY_get_bits(pkey) < 2048) return "is an RSA key shorter than 2048 bits (RFC 7518 §3.3)";
  return NULL;
}

int spk_jwt_key_new(spk_jwt_alg_t alg, const void *secret, size_t secret_len, const char *pem,
                    size_t pem_len, spk_jwt_key_t **out, char *err, size_t errlen) {
  *out = NULL;
  const spk__jwt_alg_info_t *info = spk__jwt_alg_info(alg);
  if (!info) {
    snprintf(err, errlen, "unsupported algorithm");
    return SPK_EINVAL;
  }
  if (info->kind == SPK__JWT_HMAC) {
    if (pem) {
      snprintf(err, errlen, "%s verifies with \"secret\"; a public key is for RS*, PS* and ES*",
               info->name);
      return SPK_EINVAL;
    }
    if (!secret || !secret_len) {
      snprintf(err, errlen, "%s needs a non-empty \"secret\"", info->name);
      return SPK_EINVAL;
    }
  } else {
    if (secret) {
      snprintf(err, errlen, "%s verifies with a public key (\"public_key\" or "
                            "\"public_key_file\"), not a \"secret\"", info->name);
      return SPK_EINVAL;
    }
    if (!pem || !pem_len) {
      snprintf(err, errlen, "%s needs \"public_key\" (PEM) or \"public_key_file\"", info->name);
      return SPK_EINVAL;
    }
    if (pem_len > 1u << 20) {
      snprintf(err, errlen, "public key is too large");
      return SPK_EINVAL;
    }
  }
  spk_jwt_key_t *k = spk__calloc(1, sizeof(*k));
  if (!k) return SPK_ENOMEM;
  k->alg = alg;
  k->info = info;
  k->md = EVP_MD_fetch(NULL, info->md, NULL);
  if (!k->md) goto nomem;
  if (info->kind == SPK__JWT_HMAC) {
    k->secret = spk__malloc(secret_len);
    if (!k->secret) goto nomem;
    memcpy(k->secret, secret, secret_len);
    k->secret_len = secret_len;
  } else {
    BIO *bio = BIO_new_mem_buf(pem, (int)pem_len);
    if (!bio) goto nomem;
    k->pkey = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    BIO_free(bio);
    ERR_clear_error();
    if (!k->pkey) {
      snprintf(err, errlen, "the public key is not a PEM \"PUBLIC KEY\" "
                            "(-----BEGIN PUBLIC KEY-----)");
      spk_jwt_key_free(k);
      return SPK_EINVAL;
    }
    const char *why = check_pkey(info, k->pkey);
    if (why) {
      snprintf(err, errlen, "the public key %s: it does not fit %s", why, info->name);
      spk_jwt_key_free(k);
      return SPK_EINVAL;
    }
  }
  *out = k;
  return SPK_OK;
nomem:
  ERR_clear_error();
  spk_jwt_key_free(k);
  return SPK_ENOMEM;
}

/* ---- signatures ---- */

static int verify_hmac(const spk_jwt_key_t *k, const char *data, size_t n, const unsigned char *sig,
                       size_t siglen) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int maclen = 0;
  if (!HMAC(k->md, k->secret, (int)k->secret_len, (const unsigned char *)data, n, mac, &maclen))
    return 0;
  int ok = siglen == maclen && CRYPTO_memcmp(mac, sig, maclen) == 0;
  OPENSSL_cleanse(mac, sizeof(mac));
  return ok;
}

/* JOSE's ECDSA signature is r || s, each left-padded to the curve size; OpenSSL wants DER. */
static unsigned char *ec_raw_to_der(const spk__jwt_alg_info_t *info, const unsigned char *sig,
                                    size_t siglen, int *der_len) {
  if (siglen != 2 * info->ec_size) return NULL;
  ECDSA_SIG *es = ECDSA_SIG_new();
  BIGNUM *r = BN_bin2bn(sig, (int)info->ec_size, NULL);
  BIGNUM *s = BN_bin2bn(sig + info->ec_size, (int)info->ec_size, NULL);
  unsigned char *der = NULL;
  if (es && r && s && ECDSA_SIG_set0(es, r, s)) {
    r = s = NULL; /* owned by es now */
    *der_len = i2d_ECDSA_SIG(es, &der);
    if (*der_len <= 0) der = NULL;
  }
  BN_free(r);
  BN_free(s);
  ECDSA_SIG_free(es);
  return der;
}

static int verify_pkey(const spk_jwt_key_t *k, const char *data, size_t n, const unsigned char *sig,
                       size_t siglen) {
  unsigned char *der = NULL;
  int der_len = 0;
  if (k->info->kind == SPK__JWT_EC) {
    der = ec_raw_to_der(k->info, sig, siglen, &der_len);
    if (!der) return 0;
    sig = der;
    siglen = (size_t)der_len;
  }
  int ok = 0;
  EVP_PKEY_CTX *pctx = NULL;
  EVP_MD_CTX *ctx = EVP_MD_CTX_new();
  if (ctx && EVP_DigestVerifyInit(ctx, &pctx, k->md, NULL, k->pkey) == 1) {
    int setup = 1;
    if (k->info->kind == SPK__JWT_PSS)
      setup = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) > 0 &&
              EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) > 0 &&
              EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, k->md) > 0;
    else if (k->info->kind == SPK__JWT_RSA)
      setup = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) > 0;
    ok = setup && EVP_DigestVerify(ctx, sig, siglen, (const unsigned char *)data, n) == 1;
  }
  EVP_MD_CTX_free(ctx);
  OPENSSL_free(der);
  ERR_clear_error(); /* a failed verification leaves entries on this thread's error queue */
  return ok;
}

/* ---- parsing ---- */

/* Decode one base64url part and parse it as a JSON object. NULL when it is not one. */
static spk_json_value_t *decode_object(spk__arena_t *a, const char *s, size_t n, int *nomem) {
  char *buf = spk__arena_alloc(a, spk_base64url_decoded_max(n) + 1);
  if (!buf) {
    *nomem = 1;
    return NULL;
  }
  size_t len = 0;
  if (spk_base64url_decode(buf, &len, s, n) != SPK_OK) return NULL;
  spk_json_parse_options_t opts = {.max_depth = 32, .dup_keys = SPK_JSON_DUP_ERROR};
  spk_json_value_t *v = NULL;
  int rc = spk_json_parse(a, buf, len, &opts, &v, NULL);
  if (rc == SPK_ENOMEM) *nomem = 1;
  return rc == SPK_OK && v->type == SPK_JSON_OBJECT ? v : NULL;
}

static int is_number(const spk_json_value_t *v) {
  return v->type == SPK_JSON_INT || (v->type == SPK_JSON_NUMBER && isfinite(v->u.number.value));
}

/* v < t (cmp < 0), == (0), > (> 0) for a numeric claim v and an integer time t. */
static int cmp_time(const spk_json_value_t *v, int64_t t) {
  if (v->type == SPK_JSON_INT) return v->u.integer < t ? -1 : v->u.integer > t;
  double d = v->u.number.value, td = (double)t;
  return d < td ? -1 : d > td;
}

static int str_eq(const spk_json_value_t *v, const char *s, size_t n) {
  return v->type == SPK_JSON_STRING && v->u.string.len == n && memcmp(v->u.string.ptr, s, n) == 0;
}

static int audience_ok(const spk_jwt_policy_t *p, const spk_json_value_t *aud) {
  if (aud->type == SPK_JSON_STRING) {
    for (size_t i = 0; i < p->audience_count; i++)
      if (str_eq(aud, p->audience[i].ptr, p->audience[i].len)) return 1;
    return 0;
  }
  if (aud->type != SPK_JSON_ARRAY) return 0;
  int hit = 0;
  for (size_t j = 0; j < aud->u.array.len; j++) {
    const spk_json_value_t *item = aud->u.array.items[j];
    if (item->type != SPK_JSON_STRING) return 0; /* a malformed list is not a match */
    for (size_t i = 0; i < p->audience_count; i++)
      if (str_eq(item, p->audience[i].ptr, p->audience[i].len)) hit = 1;
  }
  return hit;
}

static spk_jwt_status_t check_claims(const spk_jwt_policy_t *p, const spk_json_value_t *c,
                                     spk_jwt_result_t *out) {
  const spk_json_value_t *exp = spk_json_get(c, "exp", 3);
  const spk_json_value_t *sub = spk_json_get(c, "sub", 3);
  if (!exp) return out->claim = "exp", SPK_JWT_MISSING_CLAIM;
  if (!sub) return out->claim = "sub", SPK_JWT_MISSING_CLAIM;
  if (!is_number(exp)) return out->claim = "exp", SPK_JWT_BAD_CLAIM;
  if (sub->type != SPK_JSON_STRING) return out->claim = "sub", SPK_JWT_BAD_CLAIM;
  int64_t leeway = p->leeway < 0 ? 0 : p->leeway;
  if (cmp_time(exp, p->now - leeway) < 0) return SPK_JWT_EXPIRED;
  const spk_json_value_t *nbf = spk_json_get(c, "nbf", 3);
  if (nbf) {
    if (!is_number(nbf)) return out->claim = "nbf", SPK_JWT_BAD_CLAIM;
    if (cmp_time(nbf, p->now + leeway) > 0) return SPK_JWT_NOT_YET_VALID;
  }
  if (p->issuer) {
    const spk_json_value_t *iss = spk_json_get(c, "iss", 3);
    if (!iss) return out->claim = "iss", SPK_JWT_MISSING_CLAIM;
    if (!str_eq(iss, p->issuer, p->issuer_len)) return SPK_JWT_BAD_ISSUER;
  }
  const spk_json_value_t *aud = spk_json_get(c, "aud", 3);
  if (aud) {
    /* RFC 7519 §4.1.3: a recipient that does not identify with a value in "aud" rejects. */
    if (!audience_ok(p, aud)) return SPK_JWT_BAD_AUDIENCE;
  } else if (p->audience_count) {
    return out->claim = "aud", SPK_JWT_MISSING_CLAIM;
  }
  return SPK_JWT_OK;
}

spk_jwt_status_t spk_jwt_verify(spk__arena_t *arena, const spk_jwt_key_t *key,
                                const spk_jwt_policy_t *policy, const char *token, size_t len,
                                spk_jwt_result_t *out) {
  memset(out, 0, sizeof(*out));
  const char *dot[2] = {NULL, NULL};
  size_t parts = 1;
  for (size_t i = 0; i < len; i++)
    if (token[i] == '.') {
      if (parts <= 2) dot[parts - 1] = token + i;
      parts++;
    }
  out->parts = parts;
  if (parts != 3) return SPK_JWT_MALFORMED;
  const char *h = token, *p = dot[0] + 1, *s = dot[1] + 1;
  size_t hl = (size_t)(dot[0] - h), pl = (size_t)(dot[1] - p), sl = (size_t)(token + len - s);
  int nomem = 0;

  spk_json_value_t *header = decode_object(arena, h, hl, &nomem);
  if (nomem) return SPK_JWT_NOMEM;
  if (!header) return SPK_JWT_INVALID;
  out->header = header;
  /* No extension is understood, so a critical one must be refused (RFC 7515 §4.1.11). */
  if (spk_json_get(header, "crit", 4)) return SPK_JWT_INVALID;
  const spk_json_value_t *alg = spk_json_get(header, "alg", 3);
  const char *want = key->info->name;
  if (!alg || !str_eq(alg, want, strlen(want))) return SPK_JWT_BAD_ALG;

  unsigned char *sig = spk__arena_alloc(arena, spk_base64url_decoded_max(sl) + 1);
  if (!sig) return SPK_JWT_NOMEM;
  size_t siglen = 0;
  if (spk_base64url_decode(sig, &siglen, s, sl) != SPK_OK) return SPK_JWT_BAD_SIGNATURE;
  /* The signing input is the ASCII text "header.payload" exactly as received. */
  size_t signed_len = (size_t)(dot[1] - token);
  int ok = key->info->kind == SPK__JWT_HMAC ? verify_hmac(key, token, signed_len, sig, siglen)
                                            : verify_pkey(key, token, signed_len, sig, siglen);
  if (!ok) return SPK_JWT_BAD_SIGNATURE;

  spk_json_value_t *claims = decode_object(arena, p, pl, &nomem);
  if (nomem) return SPK_JWT_NOMEM;
  if (!claims) return SPK_JWT_INVALID;
  out->claims = claims;
  return check_claims(policy, claims, out);
}
