#!/usr/bin/env bash
# Spikard-Node vs node:http, fastify, hono and express (and nginx on GET /json, the issue's
# yardstick): GET /json, GET /big (16 KB JSON) and a validated POST /items, one server
# process pinned to CPU 0, wrk pinned to CPU 1 (1 thread, CONNS connections), ROUNDS interleaved
# rounds, median per row. Also requests per server CPU-second (utime+stime of the server over
# the run, from /proc). Not part of make test. Writes bench/results/node.md.
#
#   bench/node/run.sh      ROUNDS=3 SECS=5 CONNS=64 SPIKARD_NODE_ADDON=build-release/node/spikard.node
#   SERVERS="spikard-node fastify" WORKLOADS="big post" OUT=/tmp/x.md bench/node/run.sh   (a subset)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
ROUNDS="${ROUNDS:-3}"; SECS="${SECS:-5}"; CONNS="${CONNS:-64}"
SERVERS="${SERVERS:-spikard-node spikard-threads node-http fastify hono express nginx}"
WORKLOADS="${WORKLOADS:-get big post}"
OUT="${OUT:-$root/bench/results/node.md}"
if [ -z "${SPIKARD_NODE_ADDON:-}" ]; then
  cmake -S "$root" -B "$root/build-release" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSPK_TESTS=OFF >/dev/null
  cmake --build "$root/build-release" --target spikard_node -j2 >/dev/null
  export SPIKARD_NODE_ADDON="$root/build-release/node/spikard.node"
fi
[ -d "$here/node_modules/fastify" ] || (cd "$here" && npm install --no-audit --no-fund >/dev/null)
work="$(mktemp -d)"; pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
tck=$(getconf CLK_TCK)
# The server and its children (nginx's worker).
cpu_ticks() { local t=0 p; for p in $1 $(pgrep -P "$1"); do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $t; }

# run NAME ENV... -- SCRIPT : one server, both workloads; appends "name workload rps rps_per_cpu"
run() {
  local name="$1" script="$2"; shift 2
  local port="" wls="$WORKLOADS"
  if [ "$script" = nginx ]; then # bench/nginx.conf.in, one worker, GET /json only
    port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    mkdir -p "$work/nginx"
    sed -e "s#@PREFIX@#$work/nginx#g" -e "s#@PORT@#$port#g" "$root/bench/nginx.conf.in" > "$work/nginx/nginx.conf"
    taskset -c 0 "$(command -v nginx || echo /usr/sbin/nginx)" -p "$work/nginx/" -e "$work/nginx/error.log" \
      -c "$work/nginx/nginx.conf" > "$work/out" 2>&1 &
    pid=$!
    for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/json" >/dev/null && break; sleep 0.1; done
    wls=""; for wl in $WORKLOADS; do [ "$wl" = get ] && wls=get; done
  else
    env "$@" taskset -c 0 node "$here/$script" > "$work/out" 2>&1 &
    pid=$!
    for _ in $(seq 100); do
      port=$(sed -n 's/.*listening on http:\/\/127.0.0.1:\([0-9]*\).*/\1/p' "$work/out")
      [ -n "$port" ] && break; sleep 0.1
    done
  fi
  [ -n "$port" ] || { cat "$work/out"; exit 1; }
  for wl in $wls; do
    local args=(-t1 -c"$CONNS" -d"${SECS}s")
    local url="http://127.0.0.1:$port/json"
    [ "$wl" = post ] && { args+=(-s "$here/post.lua"); url="http://127.0.0.1:$port/items"; }
    [ "$wl" = big ] && url="http://127.0.0.1:$port/big"
    taskset -c 1 wrk -t1 -c"$CONNS" -d1s $( [ "$wl" = post ] && echo "-s $here/post.lua") "$url" >/dev/null 2>&1 || true
    local c0; c0=$(cpu_ticks "$pid")
    local out; out=$(taskset -c 1 wrk "${args[@]}" "$url") || {
      echo "$name $wl: wrk failed; the server said:" >&2; cat "$work/out" >&2; exit 1; }
    local c1; c1=$(cpu_ticks "$pid")
    local rps; rps=$(echo "$out" | awk '/Requests\/sec/ {print $2}')
    local non2xx; non2xx=$(echo "$out" | awk '/Non-2xx/ {print $NF}')
    [ -n "$non2xx" ] && { echo "$name $wl: $non2xx non-2xx responses" >&2; exit 1; }
    local total; total=$(echo "$out" | awk '/requests in/ {print $1}')
    local cpu; cpu=$(echo "($c1 - $c0) / $tck" | bc -l)
    echo "$name $wl $rps $(echo "$total / $cpu" | bc -l)" >> "$work/rows"
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
}

for r in $(seq "$ROUNDS"); do
  for srv in $SERVERS; do
    case "$srv" in
      spikard-node) run spikard-node spikard_server.mjs ENGINE=node ;;
      spikard-threads) run spikard-threads spikard_server.mjs ENGINE=threads ;;
      # BASE_LIB / BASE_ADDON: a saved copy of lib/ and the addon (before a change), same run.
      spikard-base) run spikard-base spikard_server.mjs ENGINE=node SPIKARD_LIB="$BASE_LIB" \
                      SPIKARD_NODE_ADDON="$BASE_ADDON" ;;
      node-http) run node-http http_server.mjs ;;
      fastify) run fastify fastify_server.mjs ;;
      hono) run hono hono_server.mjs ;;
      express) run express express_server.mjs ;;
      nginx) run nginx nginx ;;
      *) echo "unknown server $srv" >&2; exit 2 ;;
    esac
  done
done

mkdir -p "$(dirname "$OUT")"
{
  echo "# Spikard-Node vs node:http, fastify, hono and express"
  echo
  echo "$(date -u +%F) · node $(node -v) · server on CPU 0, wrk -t1 -c$CONNS on CPU 1, ${SECS}s × $ROUNDS interleaved rounds, medians."
  echo "Requests per server CPU-second: requests served / (utime+stime of the server process)."
  echo
  echo "| server | GET /json req/s | req/CPU-s | GET /big (16 KB) req/s | req/CPU-s | validated POST req/s | req/CPU-s |"
  echo "|---|---:|---:|---:|---:|---:|---:|"
  python3 - "$work/rows" <<'PY'
import sys, statistics, collections
rows = collections.defaultdict(list)
for line in open(sys.argv[1]):
    n, wl, rps, per = line.split()
    rows[(n, wl)].append((float(rps), float(per)))
med = lambda xs, i: statistics.median(x[i] for x in xs)
for n in ["spikard-node", "spikard-base", "spikard-threads", "node-http", "fastify", "hono", "express", "nginx"]:
    cells = []
    for wl in ["get", "big", "post"]:
        xs = rows[(n, wl)]
        cells += [f"{med(xs,0):,.0f}", f"{med(xs,1):,.0f}"] if xs else ["–", "–"]
    if any(rows[(n, wl)] for wl in ["get", "big", "post"]):
        print(f"| {n} | " + " | ".join(cells) + " |")
PY
} > "$OUT"
cat "$OUT"
