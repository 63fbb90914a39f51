/* libFuzzer target: Accept-Encoding parsing and negotiation (proto/compress.c).
 *
 * Input: the first byte is the mask of enabled codings, the rest the field value. Checks: the
 * choice is identity or an enabled coding whose effective weight is > 0; with nothing enabled
 * it is identity; the answer is deterministic; disabling codings other than the chosen one
 * never changes the choice; splitting the value at a comma into two fields gives the same
 * choice (RFC 9110: several fields are one list). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/compress.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)     \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static spk_coding_t choose(const char *s, size_t len, unsigned enabled) {
  spk_accept_encoding_t ae;
  spk_accept_encoding_init(&ae);
  spk_accept_encoding_parse(&ae, s, len);
  return spk_accept_encoding_choose(&ae, enabled);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (size < 1) return 0;
  unsigned all = (SPK_CODING_BIT(SPK_CODING_COUNT) - 1) & ~SPK_CODING_BIT(SPK_CODING_IDENTITY);
  unsigned enabled = (unsigned)data[0] & all;
  /* A private copy: the parser must not read past len (ASan sees the exact size). */
  size_t len = size - 1;
  char *s = malloc(len ? len : 1);
  REQUIRE(s);
  memcpy(s, data + 1, len);

  spk_accept_encoding_t ae;
  spk_accept_encoding_init(&ae);
  spk_accept_encoding_parse(&ae, s, len);
  for (int i = 0; i < SPK_CODING_COUNT; i++) REQUIRE(ae.q[i] >= -1 && ae.q[i] <= 1000);
  REQUIRE(ae.star >= -1 && ae.star <= 1000);
  spk_coding_t c = spk_accept_encoding_choose(&ae, enabled);
  REQUIRE(c >= SPK_CODING_IDENTITY && c < SPK_CODING_COUNT);
  if (c != SPK_CODING_IDENTITY) {
    REQUIRE(enabled & SPK_CODING_BIT(c));
    int q = ae.q[c] >= 0 ? ae.q[c] : ae.star;
    REQUIRE(q > 0);
  }
  REQUIRE(spk_accept_encoding_choose(&ae, 0) == SPK_CODING_IDENTITY);
  REQUIRE(choose(s, len, enabled) == c);
  REQUIRE(spk_accept_encoding_negotiate(s, len, enabled) == c);
  if (c != SPK_CODING_IDENTITY) REQUIRE(choose(s, len, SPK_CODING_BIT(c)) == c);

  const char *comma = len ? memchr(s, ',', len) : NULL;
  if (comma) {
    size_t k = (size_t)(comma - s);
    spk_accept_encoding_t two;
    spk_accept_encoding_init(&two);
    spk_accept_encoding_parse(&two, s, k);
    spk_accept_encoding_parse(&two, comma + 1, len - k - 1);
    REQUIRE(spk_accept_encoding_choose(&two, enabled) == c);
  }
  free(s);
  return 0;
}
