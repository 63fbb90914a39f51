/* libFuzzer target: client addresses (proto/ipaddr) — address and CIDR parsing and the
 * X-Forwarded-For walk that picks the rate-limit key behind trusted proxies.
 *
 * Input: the bytes split on '\n' into header fields; the first field is also tried as an
 * address and as a CIDR block. Checks: results are 0/-1 (walk: -1/0/1); a parsed address
 * formats to text that parses back to the same bytes; a parsed block matches its own network
 * address; the walk's answer is an address that parses, and is not trusted unless every entry
 * was; deterministic. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "proto/ipaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define REQUIRE(c)     \
  do {                 \
    if (!(c)) abort(); \
  } while (0)

static void roundtrip(const uint8_t ip[16]) {
  char txt[64];
  uint8_t back[16];
  spk__ip_format(ip, txt, sizeof(txt));
  REQUIRE(spk__ip_parse(txt, strlen(txt), back) == 0);
  REQUIRE(memcmp(ip, back, 16) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  const char *s = (const char *)data;
  const char *vals[8];
  size_t lens[8], n = 0, start = 0;
  for (size_t i = 0; i <= size && n < 8; i++)
    if (i == size || s[i] == '\n') {
      vals[n] = s + start;
      lens[n++] = i - start;
      start = i + 1;
    }
  uint8_t ip[16], ip2[16];
  int rc = spk__ip_parse(vals[0], lens[0], ip);
  REQUIRE(rc == 0 || rc == -1);
  if (rc == 0) {
    roundtrip(ip);
    REQUIRE(spk__ip_parse(vals[0], lens[0], ip2) == 0 && !memcmp(ip, ip2, 16));
  }
  spk__cidr_t c;
  rc = spk__cidr_parse(vals[0], lens[0], &c);
  REQUIRE(rc == 0 || rc == -1);
  if (rc == 0) {
    REQUIRE(c.prefix <= 128);
    REQUIRE(spk__cidr_match(&c, c.addr));
    roundtrip(c.addr);
  }
  spk__cidr_t trusted[2];
  REQUIRE(spk__cidr_parse("10.0.0.0/8", 10, &trusted[0]) == 0);
  REQUIRE(spk__cidr_parse("fd00::/8", 8, &trusted[1]) == 0);
  rc = spk__xff_client(vals, lens, n, trusted, 2, ip);
  REQUIRE(rc >= -1 && rc <= 1);
  if (rc == 1) {
    roundtrip(ip);
    int rc2 = spk__xff_client(vals, lens, n, trusted, 2, ip2);
    REQUIRE(rc2 == 1 && !memcmp(ip, ip2, 16));
  }
  return 0;
}
