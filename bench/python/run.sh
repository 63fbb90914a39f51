#!/usr/bin/env bash
# Spikard-Python vs uvicorn+starlette, uvicorn+FastAPI, uvicorn+Litestar (uvloop + httptools),
# Granian (Rust server, serving the Starlette app) and Robyn (Rust server), same machine,
# same wrk settings, servers run one at a time. Reports req/s and requests per server CPU-second
# (utime+stime of the server process from /proc, over the measured run).
#   bench/python/run.sh            (DURATION=5s CONNECTIONS=64 ROUNDS=1)
# Needs: wrk (scripts/bootstrap.sh bench); the servers of requirements.txt are pip-installed here
# when one is missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
python3 -c 'import uvicorn, uvloop, httptools, starlette, fastapi, litestar, granian, robyn' 2>/dev/null ||
  python3 -m pip install -q -r "$here/requirements.txt"
DURATION="${DURATION:-5s}"; CONNECTIONS="${CONNECTIONS:-64}"; ROUNDS="${ROUNDS:-1}"
pkg="$("$root/packages/python/build.sh" "${BUILD_DIR:-$root/build}")"
export PYTHONPATH="$pkg:$here"
port=18931
tick=$(getconf CLK_TCK)
# CPU ticks of the server and its pre-forked workers.
cpu() { local t=0 p; for p in $1 $(pgrep -P "$1"); do t=$((t + $(awk '{print $14+$15}' "/proc/$p/stat"))); done; echo $t; }
# kind:N — spikard N = pre-forked processes (app.run(workers=N)); uvicorn rows run 1 process.
servers="${SERVERS:-spikard-sync:1 spikard-async:1 spikard-sync:2 spikard-async:2 starlette:1 fastapi:1 litestar:1 granian:1 robyn:1}"
printf '| server | workers | endpoint | req/s | req per server CPU-s | non-2xx |\n|---|---|---|---|---|---|\n'
for r in $(seq "$ROUNDS"); do
for s in $servers; do
  kind="${s%%:*}"; workers="${s##*:}"
  python3 "$here/apps.py" "$kind" "$port" "$workers" 2>/dev/null &
  pid=$!
  for _ in $(seq 100); do curl -sf "http://127.0.0.1:$port/json" >/dev/null && break; sleep 0.1; done
  for ep in json items big post; do
    case $ep in
      json) url=/json; extra=() ;;
      items) url="/items/42?limit=5"; extra=() ;;
      big) url=/big; extra=() ;;
      post) url=/items; extra=(-s "$here/post.lua") ;;
    esac
    wrk -t1 -c"$CONNECTIONS" -d1s "${extra[@]}" "http://127.0.0.1:$port$url" >/dev/null 2>&1 || true
    c0=$(cpu $pid)
    out="$(wrk -t1 -c"$CONNECTIONS" -d"$DURATION" "${extra[@]}" "http://127.0.0.1:$port$url" 2>&1)"
    c1=$(cpu $pid)
    rps=$(awk '/Requests\/sec/ {print $2}' <<<"$out")
    reqs=$(awk '/requests in/ {print $1}' <<<"$out")
    bad=$(awk '/Non-2xx/ {print $5}' <<<"$out"); bad=${bad:-0}
    per=$(awk -v n="$reqs" -v d="$((c1 - c0))" -v t="$tick" 'BEGIN { if (d > 0) printf "%.0f", n / (d / t); else print "-" }')
    label=$ep; [ $ep = post ] && label="post (validated)"; [ $ep = items ] && label="path+query"; [ $ep = big ] && label="16 KB JSON"
    printf '| %s | %s | %s | %s | %s | %s |\n' "$kind" "$workers" "$label" "$rps" "$per" "$bad"
  done
  # TERM (background jobs ignore SIGINT); Robyn ignores TERM too: KILL after 5 s.
  kids="$(pgrep -P $pid || true)"
  kill -TERM $pid
  for _ in $(seq 50); do kill -0 $pid 2>/dev/null || break; sleep 0.1; done
  if kill -0 $pid 2>/dev/null; then kill -KILL $pid $kids 2>/dev/null || true; fi
  wait $pid 2>/dev/null || true
done
done
