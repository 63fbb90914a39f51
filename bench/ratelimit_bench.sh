#!/usr/bin/env bash
# Rate-limit costs: in-memory check (1 and 2 threads) and per-request overhead of the memory and
# Redis backends through the in-memory test client. Not part of `make test`.
#
#   bench/ratelimit_bench.sh       (after `make`; starts its own redis-server on a free port)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
CC="${CC:-gcc}"
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

"$CC" -std=c11 -D_GNU_SOURCE -O2 -I"$root/include" -I"$root/src" "$here/ratelimit_bench.c" \
  "$root/build/libspikard.a" $(pkg-config --libs libuv libpcre2-8 zlib libbrotlienc \
  libbrotlidec libzstd libcrypto hiredis) -lpthread -lm -o "$work/bench"

port=""
if command -v redis-server >/dev/null; then
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  redis-server --port "$port" --bind 127.0.0.1 --save '' --appendonly no --dir "$work" >/dev/null &
  pid=$!
  for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.05; done
else
  echo "redis-server not found: Redis numbers left out" >&2
fi
"$work/bench" $port
