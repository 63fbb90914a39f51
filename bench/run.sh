#!/usr/bin/env bash
# Load benchmark: spikard-example vs nginx on GET /json over loopback. See bench/README.md.
#
# Environment (defaults in brackets):
#   ROUNDS [3]        alternating rounds per server (ours, nginx, ours, nginx, ...)
#   DURATION [10s]    wrk duration per run (wrk syntax: 10, 10s, 1m)
#   CONNECTIONS [64]  wrk connections
#   THREADS [1]       wrk threads
#   WARMUP [1s]       unrecorded wrk run against each server before the rounds ("0" to skip)
#   STARTUP_RUNS [10] exec -> first answer samples per configuration
#   QUICK=1           smoke test: ROUNDS=1, DURATION=3s, STARTUP_RUNS=3 (unless set explicitly)
#   PIN=1             pin wrk to CPU 0 and the servers to CPU 1 (off by default)
#   EXAMPLE_BIN=path  use this server binary instead of building build-release/spikard-example
#   NGINX=path        nginx binary [nginx from PATH, else /usr/sbin/nginx]
#   STRICT=1          exit 1 when any problem (errors, non-2xx, crash) was flagged
#   KEEP_TMP=1        keep the temp dir (wrk outputs, server logs) and print its path
#   OUT=path          where to write the report [bench/results/latest.md; with QUICK=1
#                     bench/results/quick.md, so a smoke test never replaces the real results]
# Output: markdown on stdout, also written to $OUT.
set -euo pipefail

BENCH_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$BENCH_DIR/.." && pwd)"

if [ "${QUICK:-0}" = 1 ]; then
  ROUNDS="${ROUNDS:-1}"; DURATION="${DURATION:-3s}"; STARTUP_RUNS="${STARTUP_RUNS:-3}"
  OUT="${OUT:-$BENCH_DIR/results/quick.md}"
fi
OUT="${OUT:-$BENCH_DIR/results/latest.md}"
ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-10s}"
CONNECTIONS="${CONNECTIONS:-64}"
THREADS="${THREADS:-1}"
WARMUP="${WARMUP:-1s}"
STARTUP_RUNS="${STARTUP_RUNS:-10}"
PIN="${PIN:-0}"
HOST=127.0.0.1
EXPECT_BODY='{"message":"Hello, World!"}'

log() { printf 'bench: %s\n' "$*" >&2; }
DIED=0
die() { printf 'bench: error: %s\n' "$*" >&2; DIED=1; exit 1; }

# ---- tools -------------------------------------------------------------------------------------
need() { command -v "$1" >/dev/null 2>&1 || die "$1 not found. $2"; }
need wrk "Install it with 'scripts/bootstrap.sh bench' (Debian package wrk) or run 'make bench'."
if [ -z "${NGINX:-}" ]; then
  NGINX="$(command -v nginx 2>/dev/null || true)"
  [ -z "$NGINX" ] && [ -x /usr/sbin/nginx ] && NGINX=/usr/sbin/nginx
fi
[ -n "$NGINX" ] && [ -x "$NGINX" ] ||
  die "nginx not found. Install it with 'scripts/bootstrap.sh bench' (Debian package nginx-light) or run 'make bench'."
need python3 "It parses wrk output and measures startup."
need curl "It checks each server's answer before and after every run."
need setsid "(util-linux)"
need pgrep "(procps)"
[[ "$ROUNDS" =~ ^[1-9][0-9]*$ ]] || die "ROUNDS must be a positive integer (got '$ROUNDS')"
[[ "$CONNECTIONS" =~ ^[1-9][0-9]*$ ]] || die "CONNECTIONS must be a positive integer"
[[ "$THREADS" =~ ^[1-9][0-9]*$ ]] || die "THREADS must be a positive integer"
[[ "$STARTUP_RUNS" =~ ^[0-9]+$ ]] || die "STARTUP_RUNS must be a non-negative integer"

# wrk time argument -> whole seconds (for the bound on each wrk run).
to_seconds() {
  local v=$1 n
  case "$v" in
    *ms) echo 1; return ;;
    *s) n=${v%s}; ;;
    *m) n=$(( ${v%m} * 60 )) ;;
    *h) n=$(( ${v%h} * 3600 )) ;;
    *) n=$v ;;
  esac
  [[ "$n" =~ ^[0-9]+$ ]] || die "cannot parse duration '$v' (use e.g. 10s)"
  echo "$n"
}
DURATION_S=$(to_seconds "$DURATION")
[ "$DURATION_S" -ge 1 ] || die "DURATION must be at least 1s"
[ "$WARMUP" = 0 ] || WARMUP_S=$(to_seconds "$WARMUP")

CLK_TCK=$(getconf CLK_TCK)
NPROC=$(nproc)
WRK_PIN=(); SRV_PIN=()
if [ "$PIN" = 1 ]; then
  need taskset "(util-linux)"
  [ "$NPROC" -ge 2 ] || die "PIN=1 needs at least 2 CPUs"
  WRK_PIN=(taskset -c 0); SRV_PIN=(taskset -c 1)
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/spikard-bench.XXXXXX")"
STARTED=()   # session ids (= pids) of every server we started
WRK_PID=""

# ---- process control ---------------------------------------------------------------------------
# alive PID: the process exists and is not a zombie.
alive() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  [ "${s:0:1}" != Z ] && [ "${s:0:1}" != X ]
}

# session_alive SID: some process of the session is still running (zombies do not count).
session_alive() {
  local p
  for p in $(pgrep -s "$1" 2>/dev/null); do alive "$p" && return 0; done
  return 1
}

# stop_session SID: SIGTERM the whole session, SIGKILL what is left after 5 s, reap.
stop_session() {
  local sid=$1 i p
  kill -TERM -- "-$sid" 2>/dev/null || true
  for ((i = 0; i < 50; i++)); do
    session_alive "$sid" || break
    sleep 0.1
  done
  kill -KILL -- "-$sid" 2>/dev/null || true
  for p in $(pgrep -s "$sid" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
  wait "$sid" 2>/dev/null || true
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  [ -n "$WRK_PID" ] && kill -TERM "$WRK_PID" 2>/dev/null || true
  local sid
  for sid in "${STARTED[@]}"; do stop_session "$sid"; done
  if [ "$rc" -ne 0 ] && [ "$rc" -ne 130 ] && [ "$DIED" = 0 ]; then
    log "aborted unexpectedly (exit status $rc); keeping $WORK for inspection"
    KEEP_TMP=1
  fi
  if [ "${KEEP_TMP:-0}" = 1 ]; then
    log "temp dir kept: $WORK"
  else
    rm -rf "$WORK"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'log "interrupted"; exit 130' INT TERM

# start_server NAME CMD... : starts CMD in its own session, stdout/stderr appended to
# $WORK/NAME.{out,err}.
# Sets SERVER_PID.
start_server() {
  local name=$1; shift
  setsid "${SRV_PIN[@]}" "$@" </dev/null >>"$WORK/$name.out" 2>>"$WORK/$name.err" &
  SERVER_PID=$!
  STARTED+=("$SERVER_PID")
}

free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

# check_answer URL: GET once; 0 if 200 + application/json + the expected body. Message in CHECK_MSG.
check_answer() {
  local out code ctype body
  if ! out=$(curl -sS -m 3 -o "$WORK/check.body" -w '%{http_code} %{content_type}' "$1" 2>&1); then
    CHECK_MSG="curl failed: $out"; return 1
  fi
  code=${out%% *}; ctype=${out#* }; body=$(cat "$WORK/check.body")
  if [ "$code" != 200 ]; then CHECK_MSG="status $code"; return 1; fi
  case "$ctype" in application/json*) ;; *) CHECK_MSG="Content-Type '$ctype'"; return 1 ;; esac
  if [ "$body" != "$EXPECT_BODY" ]; then CHECK_MSG="unexpected body '$body'"; return 1; fi
  CHECK_MSG=ok
}

# wait_ready SID URL NAME: bounded wait (10 s) until URL answers correctly.
wait_ready() {
  local sid=$1 url=$2 name=$3 deadline=$((SECONDS + 10))
  CHECK_MSG="not started"
  while [ "$SECONDS" -lt "$deadline" ]; do
    alive "$sid" || die "$name exited during startup; stderr:
$(tail -20 "$WORK/$name.err" 2>/dev/null)"
    check_answer "$url" && return 0
    sleep 0.05
  done
  die "$name did not answer $url correctly within 10 s ($CHECK_MSG); stderr:
$(tail -20 "$WORK/$name.err" 2>/dev/null)"
}

# utime+stime (ticks) summed over every process of session SID (threads are included in
# /proc/PID/stat of the process).
session_ticks() {
  local sid=$1 p s sum=0
  local -a f
  for p in $(pgrep -s "$sid" 2>/dev/null); do
    s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    s=${s##*) }
    read -r -a f <<<"$s"
    sum=$((sum + f[11] + f[12]))
  done
  echo "$sum"
}

# status_kb SID FIELD: sum of FIELD (VmRSS, VmHWM) in kB over the session's processes.
status_kb() {
  local sid=$1 field=$2 p v sum=0
  for p in $(pgrep -s "$sid" 2>/dev/null); do
    v=$(awk -v f="$field:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null || true)
    sum=$((sum + ${v:-0}))
  done
  echo "$sum"
}

session_pids() { { pgrep -s "$1" 2>/dev/null || true; } | sort -n | tr '\n' ' '; }

# ---- build -------------------------------------------------------------------------------------
if [ -z "${EXAMPLE_BIN:-}" ]; then
  need cmake "Run 'scripts/bootstrap.sh core'."
  need ninja "Run 'scripts/bootstrap.sh core'."
  log "building release (build-release/, -DCMAKE_BUILD_TYPE=Release -DSPK_TESTS=OFF)"
  if ! { cmake -S "$ROOT" -B "$ROOT/build-release" -G Ninja -DCMAKE_BUILD_TYPE=Release -DSPK_TESTS=OFF &&
         cmake --build "$ROOT/build-release" --target spikard-example; } >"$WORK/build.log" 2>&1; then
    tail -40 "$WORK/build.log" >&2
    die "release build failed (above: the last 40 lines of the build output)"
  fi
  EXAMPLE_BIN="$ROOT/build-release/spikard-example"
  BUILD_DESC="Release build"
fi
BUILD_DESC="${BUILD_DESC:-given by EXAMPLE_BIN}"
[ -x "$EXAMPLE_BIN" ] || die "server binary '$EXAMPLE_BIN' is not executable"

# ---- nginx config ------------------------------------------------------------------------------
# render_nginx DIR PORT: writes DIR/nginx.conf (PORT may be the literal @PORT@ for startup.py).
render_nginx() {
  local dir=$1 port=$2
  mkdir -p "$dir"
  sed -e "s#@PREFIX@#$dir#g" -e "s#@PORT@#$port#g" "$BENCH_DIR/nginx.conf.in" >"$dir/nginx.conf"
}
# nginx_argv DIR: sets NGINX_ARGV to the command line running DIR/nginx.conf.
nginx_argv() { NGINX_ARGV=("$NGINX" -p "$1/" -e "$1/error.log" -c "$1/nginx.conf"); }

# ---- metadata ----------------------------------------------------------------------------------
META="$WORK/meta.tsv"
meta() { printf '%s\t%s\n' "$1" "$2" >>"$META"; }
# event NAME TEXT: something went wrong outside a recorded run; listed under Problems.
event() { printf '%s\t%s\n' "$1" "$2" >>"$WORK/events.tsv"; }
meta date "$(date -u '+%Y-%m-%d %H:%M:%S UTC')"
meta nproc "$NPROC"
meta cpu "$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || echo unknown)"
meta kernel "$(uname -srm)"
commit=$(git -C "$ROOT" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ "$commit" != unknown ] && ! git -C "$ROOT" diff --quiet HEAD -- 2>/dev/null; then
  commit="$commit (with uncommitted changes)"
fi
meta commit "$commit"
meta nginx_version "$("$NGINX" -v 2>&1 | sed 's#^nginx version: nginx/##')"
meta wrk_version "$(wrk -v 2>&1 | head -1 | awk '{print $2}')"
meta build "$BUILD_DESC"
if [ "$BUILD_DESC" = "Release build" ]; then
  cc_path=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$ROOT/build-release/CMakeCache.txt" 2>/dev/null || true)
  [ -n "$cc_path" ] && meta compiler "$("$cc_path" --version 2>/dev/null | head -1)"
fi
meta libuv "$(pkg-config --modversion libuv 2>/dev/null || echo unknown)"
meta example_bin "${EXAMPLE_BIN#"$ROOT/"}"
meta rounds "$ROUNDS"; meta duration "$DURATION"; meta connections "$CONNECTIONS"
meta threads "$THREADS"; meta clk_tck "$CLK_TCK"; meta pin "$PIN"; meta quick "${QUICK:-0}"
meta startup_runs "$STARTUP_RUNS"

# ---- idle memory -------------------------------------------------------------------------------
# Ours: wait for the "listening" line (no request is sent), 1 s idle, read VmRSS.
idle_rss_ours() { # KEY [extra args...]
  local key=$1; shift
  local port i; port=$(free_port)
  start_server "mem-$key" "$EXAMPLE_BIN" --host "$HOST" --port "$port" "$@"
  local sid=$SERVER_PID
  for ((i = 0; i < 100; i++)); do
    grep -q "listening on" "$WORK/mem-$key.out" 2>/dev/null && break
    alive "$sid" || die "spikard-example $* exited during startup: $(tail -5 "$WORK/mem-$key.err")"
    sleep 0.1
  done
  grep -q "listening on" "$WORK/mem-$key.out" || die "spikard-example $* printed no 'listening' line within 10 s"
  sleep 1
  meta "rss_$key" "$(status_kb "$sid" VmRSS)"
  meta "threads_$key" "$(awk '$1 == "Threads:" { print $2 }' "/proc/$sid/status")"
  stop_session "$sid"
}
log "idle RSS: spikard-example --workers 1 and default workers"
idle_rss_ours ours_w1 --workers 1
idle_rss_ours ours_default

log "idle RSS: nginx (master + 1 worker)"
port=$(free_port); render_nginx "$WORK/nginx-mem" "$port"
nginx_argv "$WORK/nginx-mem"
start_server nginx-mem "${NGINX_ARGV[@]}"
sid=$SERVER_PID
for ((i = 0; i < 100; i++)); do
  [ "$(pgrep -s "$sid" | wc -l)" -ge 2 ] && break
  alive "$sid" || die "nginx exited during startup: $(tail -5 "$WORK/nginx-mem.err" "$WORK/nginx-mem/error.log" 2>/dev/null)"
  sleep 0.1
done
sleep 1
meta rss_nginx "$(status_kb "$sid" VmRSS)"
meta procs_nginx "$(pgrep -s "$sid" | wc -l)"
stop_session "$sid"

# ---- startup time ------------------------------------------------------------------------------
if [ "$STARTUP_RUNS" -gt 0 ]; then
  log "startup: exec -> first answered GET /json, $STARTUP_RUNS runs each"
  python3 "$BENCH_DIR/startup.py" --runs "$STARTUP_RUNS" -- \
    "${SRV_PIN[@]}" "$EXAMPLE_BIN" --host "$HOST" --port @PORT@ --workers 1 >"$WORK/startup_ours_w1.json" ||
    log "startup measurement failed for spikard-example --workers 1 (see report)"
  python3 "$BENCH_DIR/startup.py" --runs "$STARTUP_RUNS" -- \
    "${SRV_PIN[@]}" "$EXAMPLE_BIN" --host "$HOST" --port @PORT@ >"$WORK/startup_ours_default.json" ||
    log "startup measurement failed for spikard-example (default workers) (see report)"
  render_nginx "$WORK/nginx-startup" @PORT@
  mv "$WORK/nginx-startup/nginx.conf" "$WORK/nginx-startup/nginx.conf.in"
  nginx_argv "$WORK/nginx-startup"
  python3 "$BENCH_DIR/startup.py" --runs "$STARTUP_RUNS" \
    --render "$WORK/nginx-startup/nginx.conf.in:$WORK/nginx-startup/nginx.conf" -- \
    "${SRV_PIN[@]}" "${NGINX_ARGV[@]}" >"$WORK/startup_nginx.json" ||
    log "startup measurement failed for nginx (see report)"
fi

# ---- load --------------------------------------------------------------------------------------
declare -A SID URL RESTARTS
start_ours() {
  local port; port=$(free_port)
  start_server "ours" "$EXAMPLE_BIN" --host "$HOST" --port "$port" --workers 1
  SID[ours]=$SERVER_PID; URL[ours]="http://$HOST:$port/json"
  wait_ready "${SID[ours]}" "${URL[ours]}" spikard-example
}
start_nginx() {
  local port; port=$(free_port)
  render_nginx "$WORK/nginx" "$port"
  nginx_argv "$WORK/nginx"
  start_server "nginx" "${NGINX_ARGV[@]}"
  SID[nginx]=$SERVER_PID; URL[nginx]="http://$HOST:$port/json"
  wait_ready "${SID[nginx]}" "${URL[nginx]}" nginx
}
RESTARTS[ours]=0; RESTARTS[nginx]=0

# children_ticks: sets CT to cutime+cstime of this shell (CPU of its reaped children); no fork.
children_ticks() {
  local s
  local -a f
  read -r s </proc/$$/stat
  s=${s##*) }
  read -r -a f <<<"$s"
  CT=$((f[13] + f[14]))
}

# machine_ticks: sets MT to the machine-wide user+nice+system ticks (/proc/stat). During a run,
# MT's growth minus the server's and wrk's CPU is what other processes took.
machine_ticks() {
  local _c u n s _r
  read -r _c u n s _r </proc/stat
  MT=$((u + n + s))
}

# run_wrk NAME DURATION OUTFILE: wrk against NAME (bounded by timeout). Sets WRK_RC and
# CLIENT_TICKS (wrk's CPU: the growth of this shell's children time across the wait, during which
# nothing else is reaped).
run_wrk() {
  local name=$1 dur=$2 out=$3 bound k0 k1
  bound=$(( $(to_seconds "$dur") + 30 ))
  children_ticks; k0=$CT
  timeout -k 5 "$bound" "${WRK_PIN[@]}" \
    wrk -t "$THREADS" -c "$CONNECTIONS" -d "$dur" --latency "${URL[$name]}" >"$out" 2>&1 &
  WRK_PID=$!
  WRK_RC=0
  wait "$WRK_PID" || WRK_RC=$?
  WRK_PID=""
  children_ticks; k1=$CT
  CLIENT_TICKS=$((k1 - k0))
  [ "$WRK_RC" != 124 ] || echo "bench: wrk did not finish within ${bound}s and was killed" >>"$out"
}

log "starting servers: spikard-example --workers 1, nginx (1 worker)"
start_ours
start_nginx

# Other work on the machine skews the figures; record how busy it was just before the load runs
# (machine-wide CPU use over 1 s from /proc/stat, while nothing of ours is active).
cpu_sample() { read -r _ u n s i w q sq st _ </proc/stat; BUSY=$((u + n + s + q + sq + st)); ALL=$((BUSY + i + w)); }
cpu_sample; b0=$BUSY; a0=$ALL; sleep 1; cpu_sample
idle_busy=$(( (BUSY - b0) * 100 / (ALL - a0 > 0 ? ALL - a0 : 1) ))
meta idle_busy "$idle_busy"
[ "$idle_busy" -lt 10 ] || log "warning: the machine was ${idle_busy}% busy before the load runs — figures will be noisy"
busy=$(ps -eo pcpu=,etimes=,comm= --sort=-pcpu 2>/dev/null |
       awk '$1 >= 20 && $2 >= 2 { printf "%s(%s%%) ", $3, $1 }' | head -c 300 || true)
if [ -n "$busy" ]; then
  log "warning: other busy processes on the machine: $busy— figures will be noisy"
  meta busy "$busy"
fi

if [ "$WARMUP" != 0 ]; then
  log "warm-up: $WARMUP each (not recorded)"
  for name in ours nginx; do
    run_wrk "$name" "$WARMUP" "$WORK/warmup-$name.txt"
    if ! alive "${SID[$name]}"; then
      event "$name" "died during the warm-up run (wrk exit $WRK_RC); wrk said: $(grep -iE 'error|non-2xx' "$WORK/warmup-$name.txt" | tr '\n' ' '); stderr: $(tail -c 600 "$WORK/$name.err" | tr '\t\n' '  ')"
    fi
  done
fi

RUNS="$WORK/runs.tsv"
: >"$RUNS"
for ((r = 1; r <= ROUNDS; r++)); do
  for name in ours nginx; do
    label=$([ "$name" = ours ] && echo spikard-example || echo nginx)
    if ! alive "${SID[$name]}"; then
      log "$label is not running before round $r; restarting it"
      event "$name" "was not running before round $r and was restarted"
      RESTARTS[$name]=$((RESTARTS[$name] + 1))
      if [ "$name" = ours ]; then start_ours; else start_nginx; fi
    fi
    out="$WORK/wrk-$name-$r.txt"
    log "round $r/$ROUNDS: $label, $DURATION, $CONNECTIONS connections, $THREADS thread(s)"
    pids0=$(session_pids "${SID[$name]}")
    t0=$(date +%s%N); c0=$(session_ticks "${SID[$name]}"); machine_ticks; m0=$MT
    run_wrk "$name" "$DURATION" "$out"
    machine_ticks; m1=$MT; c1=$(session_ticks "${SID[$name]}"); t1=$(date +%s%N)
    pids1=$(session_pids "${SID[$name]}")
    wrk_rc=$WRK_RC; client_ticks=$CLIENT_TICKS; server_ticks=$((c1 - c0))
    note=""
    health=ok
    if ! alive "${SID[$name]}"; then
      wait "${SID[$name]}" 2>/dev/null && st=0 || st=$?
      health=dead
      # The dead server's own counters are gone and its CPU went to this shell's children time.
      server_ticks=NA; client_ticks=NA
      note="server exited during the run (wait status $st); last stderr: $(tail -c 600 "$WORK/$name.err" | tr '\t\n' '  ')"
      stop_session "${SID[$name]}"
    elif ! check_answer "${URL[$name]}"; then
      health=unresponsive
      note="no correct answer after the run ($CHECK_MSG); last stderr: $(tail -c 600 "$WORK/$name.err" | tr '\t\n' '  ')"
    elif [ "$pids0" != "$pids1" ]; then
      note="process set changed during the run ($pids0-> $pids1); CPU figure unreliable"
    fi
    [ "$wrk_rc" = 0 ] || note="${note:+$note; }wrk exit status $wrk_rc"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$r" "$name" "$out" "$wrk_rc" "$server_ticks" \
      "$(( (t1 - t0) / 1000000 ))" "$client_ticks" "$health" "$note" "$((m1 - m0))" >>"$RUNS"
    if [ "$health" = unresponsive ]; then
      log "$label does not answer after round $r; restarting it"
      event "$name" "did not answer correctly after round $r and was restarted"
      stop_session "${SID[$name]}"
      RESTARTS[$name]=$((RESTARTS[$name] + 1))
      if [ "$name" = ours ]; then start_ours; else start_nginx; fi
    fi
  done
done

# Memory after load (current and peak), then stop.
for name in ours nginx; do
  if alive "${SID[$name]}"; then
    meta "rss_after_$name" "$(status_kb "${SID[$name]}" VmRSS)"
    meta "hwm_$name" "$(status_kb "${SID[$name]}" VmHWM)"
  fi
  meta "restarts_$name" "${RESTARTS[$name]}"
  stop_session "${SID[$name]}"
  # Anything on stderr is worth seeing (warnings, sanitizer reports, errors).
  if [ -s "$WORK/$name.err" ]; then
    tail -c 2000 "$WORK/$name.err" >"$WORK/stderr_$name.txt"
  fi
done
[ -s "$WORK/nginx/error.log" ] && tail -c 2000 "$WORK/nginx/error.log" >>"$WORK/stderr_nginx.txt"

# ---- report ------------------------------------------------------------------------------------
mkdir -p "$(dirname "$OUT")"
python3 "$BENCH_DIR/summarize.py" "$WORK" >"$WORK/report.md"
cp "$WORK/report.md" "$OUT"
cat "$WORK/report.md"
log "report written to ${OUT#"$ROOT/"}"
problems=$(cat "$WORK/problems" 2>/dev/null || echo 0)
if [ "$problems" != 0 ]; then
  log "WARNING: $problems problem(s) flagged; see the 'Problems' section of the report"
  [ "${STRICT:-0}" = 1 ] && exit 1
fi
exit 0
