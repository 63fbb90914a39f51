#!/usr/bin/env bash
# Compression cost per response (bench/compress_bench.c): a ~10 KB JSON body through
# spk_compress for gzip, deflate, br and zstd at the default quality 6 (and a few other levels).
# Not part of `make test`. Writes the table to stdout and bench/results/compress.md.
#
#   bench/compress_bench.sh        (from any directory)
#
# Environment: CC (default gcc), CFLAGS (default -O2).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
CC="${CC:-gcc}"
CFLAGS="${CFLAGS:--O2}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$CC" -std=c11 -D_GNU_SOURCE $CFLAGS -DNDEBUG -I"$root/include" -I"$root/src" \
  "$root"/src/util/*.c "$root/src/proto/compress.c" "$here/compress_bench.c" \
  $(pkg-config --cflags --libs zlib libbrotlienc libzstd) -o "$work/compress_bench"
{
  echo "# Compression cost per response"
  echo
  echo "$(date -u +%Y-%m-%d), $(uname -m), $(nproc) cores shared with other jobs, $CC $CFLAGS;"
  echo "zlib $(pkg-config --modversion zlib), brotli $(pkg-config --modversion libbrotlienc), zstd $(pkg-config --modversion libzstd)."
  echo
  "$work/compress_bench"
} | tee "$here/results/compress.md"
