#!/usr/bin/env bash
# JWT verification throughput (proto/jwt over OpenSSL 3), one thread, per algorithm.
# Not part of `make test`.
#
#   bench/jwt_bench.sh [seconds-per-round] [rounds]      (from any directory)
#
# Environment: CC (default gcc), CFLAGS (default -O2). Prints a markdown table; the committed
# numbers are in bench/results/jwt.md.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
CC="${CC:-gcc}"
CFLAGS="${CFLAGS:--O2}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$CC" -std=c11 -D_GNU_SOURCE $CFLAGS -DNDEBUG -I"$root/include" -I"$root/src" \
  "$root"/src/util/*.c "$root"/src/proto/json_parse.c "$root"/src/proto/json_write.c \
  "$root"/src/proto/base64url.c "$root"/src/proto/jwt.c "$root"/src/proto/jwt_sign.c \
  "$here/jwt_bench.c" -lcrypto -lm -o "$work/jwt_bench"

echo "OpenSSL: $(openssl version 2>/dev/null || echo unknown); CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')"
echo
"$work/jwt_bench" "${1:-1}" "${2:-3}"
