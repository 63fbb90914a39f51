#!/usr/bin/env bash
# Every test, in the order that fails fastest. With an argument, one stage only:
#   gcc | asan | clang | fuzz-smoke
set -euo pipefail
cd "$(dirname "$0")/.."
shared="$(cd .. && pwd)/shared"
jobs=$(nproc)
common=(-G Ninja -DSPK_SHARED_DIR="$shared")

stage() { printf '\n== %s == (t+%ss)\n' "$*" "$SECONDS"; }

run_gcc() {
  stage "gcc -Werror, RelWithDebInfo: ctest"
  CC=gcc cmake -S . -B build "${common[@]}" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build build -j "$jobs"
  scripts/node_deps.sh >/dev/null # npm packages of the browser/interop tests, once, before ctest
  ctest --test-dir build --output-on-failure -j "$jobs"
  stage "fixture conformance (in-process + loopback)"
  scripts/conformance.sh build
  stage "install: pkg-config and CMake consumers, exported symbols"
  scripts/check_install.sh build
}
run_asan() {
  stage "gcc ASan+UBSan: ctest"
  CC=gcc cmake -S . -B build-asan "${common[@]}" -DCMAKE_BUILD_TYPE=Debug -DSPK_SANITIZE=ON >/dev/null
  cmake --build build-asan -j "$jobs"
  scripts/node_deps.sh >/dev/null
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
    ctest --test-dir build-asan --output-on-failure -j "$jobs"
  stage "fixture conformance under ASan+UBSan"
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 scripts/conformance.sh build-asan
}
run_clang() {
  stage "clang -Werror: build + unit tests"
  CC=clang cmake -S . -B build-clang "${common[@]}" -DCMAKE_BUILD_TYPE=Release >/dev/null
  cmake --build build-clang -j "$jobs"
  ctest --test-dir build-clang --output-on-failure -j "$jobs" -R '^unit/'
}
run_fuzz() {
  stage "fuzz smoke"
  scripts/fuzz.sh smoke
}

case "${1:-all}" in
  gcc) run_gcc ;;
  asan) run_asan ;;
  clang) run_clang ;;
  fuzz-smoke) run_fuzz ;;
  all) run_gcc; run_asan; run_clang; run_fuzz; printf '\nall test stages passed in %ss\n' "$SECONDS" ;;
  *) echo "usage: $0 [gcc|asan|clang|fuzz-smoke]" >&2; exit 2 ;;
esac
