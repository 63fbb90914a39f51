#!/usr/bin/env bash
# Background-task costs (bench/bg_bench.c). Not part of `make test`.
#   bench/bg_bench.sh       (after `make`)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
CC="${CC:-gcc}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$CC" -std=c11 -D_GNU_SOURCE -O2 -I"$root/include" -I"$root/src" "$here/bg_bench.c" \
  "$root/build/libspikard.a" $(pkg-config --libs libuv libpcre2-8 zlib libbrotlienc \
  libbrotlidec libzstd libcrypto hiredis) -lpthread -lm -o "$work/bench"
"$work/bench"
