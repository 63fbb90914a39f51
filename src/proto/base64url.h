/* base64url (RFC 4648 §5) without padding, as JOSE uses it (RFC 7515 §2). Pure: no I/O, no
 * allocation. Decoding is strict: only the URL alphabet, no '=', no whitespace, a length that
 * is not 1 mod 4, and zero bits in the unused tail of the last character, so every byte string
 * has exactly one accepted spelling (a token cannot be re-spelled to dodge a cache or a replay
 * check). */
#ifndef SPK_PROTO_BASE64URL_H
#define SPK_PROTO_BASE64URL_H

#include <stddef.h>

/* Bytes needed to decode n characters (an upper bound; exact for valid input). */
static inline size_t spk_base64url_decoded_max(size_t n) { return n / 4 * 3 + (n % 4) * 3 / 4; }
/* Characters produced by encoding n bytes (no padding, no terminator). */
static inline size_t spk_base64url_encoded_len(size_t n) { return n / 3 * 4 + (n % 3 ? n % 3 + 1 : 0); }

/* Encode n bytes into out (spk_base64url_encoded_len(n) characters, no NUL). Returns the
 * number of characters written. */
size_t spk_base64url_encode(char *out, const void *in, size_t n);

/* Decode n characters into out (spk_base64url_decoded_max(n) bytes). 0 and *out_len, or
 * SPK_EPROTO when the text is not canonical unpadded base64url. */
int spk_base64url_decode(void *out, size_t *out_len, const char *in, size_t n);

#endif
