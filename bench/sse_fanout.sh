#!/usr/bin/env bash
# SSE fan-out: Spikard (bench/sse_fanout.c, one worker + one publisher thread) against Node's
# node:http (bench/sse_fanout_node.mjs, one thread), same contract, same client, same run.
# Each server broadcasts events as fast as it can to C subscribers; bench/sse_client.c counts
# the events delivered per second. Alternating rounds, best of ROUNDS per server and level.
# Not a test. Writes bench/results/sse.md.
#
#   bench/sse_fanout.sh                 CONNS="10 100 250" DURATION=4 WARMUP=1 ROUNDS=2
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
CONNS="${CONNS:-10 100 250}"
DURATION="${DURATION:-4}"
WARMUP="${WARMUP:-1}"
ROUNDS="${ROUNDS:-2}"
build="${BUILD:-$root/build-release}"
work="$(mktemp -d)"
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSPK_TESTS=OFF >/dev/null
cmake --build "$build" --target spk-sse-fanout >/dev/null
"${CC:-cc}" -std=c11 -D_GNU_SOURCE -O2 "$here/sse_client.c" -o "$work/sse_client"

start() { # start SERVER, sets pid and port
  rm -f "$work/out" && : >"$work/out" # never read the previous server's port
  case "$1" in
    spikard) "$build/bench/spk-sse-fanout" >"$work/out" 2>"$work/err" & ;;
    node) node "$here/sse_fanout_node.mjs" >"$work/out" 2>"$work/err" & ;;
  esac
  pid=$!
  for _ in $(seq 100); do
    port="$(sed -n 's/^PORT //p' "$work/out")"
    [ -n "$port" ] && return 0
    sleep 0.05
  done
  echo "server $1 did not start: $(cat "$work/err")" >&2
  exit 1
}
stop() { kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=""; }

declare -A best slow
for c in $CONNS; do
  for r in $(seq "$ROUNDS"); do
    for s in spikard node; do
      start "$s"
      line="$("$work/sse_client" "$port" "$c" "$DURATION" "$WARMUP")"
      stop
      v="$(echo "$line" | awk '{print $2}')"
      echo "conns=$c round=$r $s: $line" >&2
      k="$s/$c"
      if [ -z "${best[$k]:-}" ] || [ "${v%.*}" -gt "${best[$k]%.*}" ]; then
        best[$k]="$v"
        slow[$k]="$(echo "$line" | awk '{print $4}')"
      fi
    done
  done
done

{
  echo "# SSE fan-out: Spikard vs node:http"
  echo
  echo "$(date -u +%Y-%m-%d), $(uname -m), $(nproc) cores shared with other jobs; node $(node --version)."
  echo "Each server broadcasts events (~90 bytes: id + JSON data) as fast as it can to every"
  echo "subscriber, encoding each event once; a subscriber with 1 MiB queued misses events"
  echo "(SPK_EAGAIN / writableLength). Spikard: 1 worker loop + 1 publisher thread; Node: one"
  echo "thread. Client: bench/sse_client.c (epoll, one thread) counts events received over"
  echo "${DURATION} s after ${WARMUP} s warm-up; best of ${ROUNDS} alternating rounds."
  echo
  echo "| subscribers | Spikard events/s | node:http events/s | ratio | slowest subscriber (Spikard / node), events/s |"
  echo "|---:|---:|---:|---:|---:|"
  for c in $CONNS; do
    a="${best[spikard/$c]}"; b="${best[node/$c]}"
    ratio="$(awk -v a="$a" -v b="$b" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }')"
    echo "| $c | $a | $b | ${ratio}x | ${slow[spikard/$c]} / ${slow[node/$c]} |"
  done
} | tee "$here/results/sse.md"
