/* IP addresses for client identification: parse text addresses into 16 bytes (IPv4 as
 * ::ffff:a.b.c.d), CIDR blocks, and pick the client out of an X-Forwarded-For chain.
 * Pure functions: no I/O, no global state (fuzz target fuzz/fuzz_ipaddr.c). */
#ifndef SPK_PROTO_IPADDR_H
#define SPK_PROTO_IPADDR_H

#include <stddef.h>
#include <stdint.h>

typedef struct spk__cidr {
  uint8_t addr[16]; /* network address, host bits cleared */
  uint8_t prefix;   /* 0..128 (IPv4 blocks are stored as 96 + n) */
} spk__cidr_t;

/* "1.2.3.4", "::1", "[::1]", "1.2.3.4:8080", "[::1]:8080" (surrounding blanks allowed) →
 * 16 bytes. 0, or -1 when the text is not an address. */
int spk__ip_parse(const char *s, size_t len, uint8_t out[16]);
/* An address or a block: "10.0.0.0/8", "fd00::/8", "127.0.0.1" (= /32). 0 or -1. */
int spk__cidr_parse(const char *s, size_t len, spk__cidr_t *out);
int spk__cidr_match(const spk__cidr_t *c, const uint8_t ip[16]);
/* Text form of a 16-byte address (IPv4-mapped ones as dotted quads) into out (≥ 46 bytes). */
void spk__ip_format(const uint8_t ip[16], char *out, size_t cap);

/* The client address behind trusted proxies: walk the X-Forwarded-For entries of `values`
 * (n header fields, in the order received; each a comma-separated list) from the right,
 * skip addresses inside `trusted`, and return the first one that is not trusted (1).
 * When every entry is trusted the left-most one is the client (1). 0 when there is no entry,
 * -1 when an entry that would have to be read is not an address (the caller then falls back
 * to the peer address: a forged or broken chain must not pick the key). */
int spk__xff_client(const char *const *values, const size_t *lens, size_t n,
                    const spk__cidr_t *trusted, size_t ntrusted, uint8_t out[16]);

#endif
