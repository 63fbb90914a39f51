/* Internal to proto/jwt*.c: what each JOSE algorithm means in OpenSSL terms. */
#ifndef SPK_PROTO_JWT_ALG_H
#define SPK_PROTO_JWT_ALG_H

#include "proto/jwt.h"

enum { SPK__JWT_HMAC = 1, SPK__JWT_RSA = 2, SPK__JWT_PSS = 3, SPK__JWT_EC = 4 };

typedef struct spk__jwt_alg_info {
  const char *name;   /* JOSE name */
  const char *md;     /* OpenSSL digest name */
  int kind;           /* SPK__JWT_* */
  size_t ec_size;     /* EC: bytes of r (and of s) in the JOSE signature */
  const char *curve;  /* EC: OpenSSL group name the key must use */
} spk__jwt_alg_info_t;

const spk__jwt_alg_info_t *spk__jwt_alg_info(spk_jwt_alg_t alg);

#endif
