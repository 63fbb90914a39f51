#!/usr/bin/env bash
# Build and run the libFuzzer targets (fuzz/fuzz_*.c) with clang, ASan and UBSan.
#   scripts/fuzz.sh smoke   every target for a short bounded run (FUZZ_SMOKE_RUNS executions,
#                           default 200000, at most FUZZ_SMOKE_SECONDS, default 30, each)
#   scripts/fuzz.sh long    every target for FUZZ_SECONDS (default 600) each
# Seeds come from fuzz/corpus/<target>/; the run works on a copy in build-fuzz/ so the
# repository stays clean (new inputs found by a long run stay in build-fuzz/corpus/).
# Crash inputs are written to build-fuzz/artifacts/<target>/. Exit status is nonzero when any
# target crashes, leaks, times out or fails to build.
set -euo pipefail
cd "$(dirname "$0")/.."

mode="${1:-smoke}"
build=build-fuzz
case "$mode" in
  smoke) limits=(-runs="${FUZZ_SMOKE_RUNS:-200000}" -max_total_time="${FUZZ_SMOKE_SECONDS:-30}") ;;
  long) limits=(-max_total_time="${FUZZ_SECONDS:-600}") ;;
  *) echo "usage: $0 smoke|long" >&2; exit 2 ;;
esac

command -v clang >/dev/null || { echo "fuzz: clang is required" >&2; exit 1; }
CC=clang cmake -S . -B "$build" -G Ninja -DSPK_FUZZ=ON -DSPK_TESTS=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target spk_fuzzers

failed=0
summary=()
for src in fuzz/fuzz_*.c; do
  name="$(basename "$src" .c)"
  bin="$build/fuzz/$name"
  corpus="$build/corpus/$name"
  artifacts="$build/artifacts/$name"
  mkdir -p "$corpus" "$artifacts"
  if [ -d "fuzz/corpus/$name" ]; then cp -f "fuzz/corpus/$name"/* "$corpus"/ 2>/dev/null || true; fi
  dict=()
  [ -f fuzz/http1.dict ] && dict=(-dict=fuzz/http1.dict)
  log="$build/$name.log"
  printf '\n== %s (%s) ==\n' "$name" "$mode"
  set +e
  ASAN_OPTIONS="detect_leaks=1:abort_on_error=1:allocator_may_return_null=1" \
  UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1" \
    "$bin" "$corpus" "${dict[@]}" "${limits[@]}" -max_len=4096 -timeout=10 -rss_limit_mb=2048 \
      -print_final_stats=1 -artifact_prefix="$artifacts/" >"$log" 2>&1
  rc=$?
  set -e
  execs="$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)"
  cov="$(grep -o 'cov: [0-9]*' "$log" | tail -1 || true)"
  if [ "$rc" -ne 0 ]; then
    failed=1
    tail -n 60 "$log"
    summary+=("$name: FAILED (exit $rc), artifacts in $artifacts")
  else
    summary+=("$name: ok, ${execs:-?} executions, ${cov:-cov: ?}")
  fi
  echo "${summary[-1]}"
done

printf '\n== fuzz %s summary ==\n' "$mode"
printf '%s\n' "${summary[@]}"
exit "$failed"
