#!/usr/bin/env bash
# Build (build.sh) then run the pytest suite. Used by ctest (python/pytest).
#   packages/python/run_tests.sh [CMAKE_BUILD_DIR] [pytest args…]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build_dir="${1:-}"; [ $# -ge 1 ] && shift
pkg="$("$here/build.sh" ${build_dir:+"$build_dir"})"
# The CMake build whose libspikard.a the tests link (test_packaging builds a wheel against it).
[ -n "$build_dir" ] && export SPK_CMAKE_BUILD_DIR="$(cd "$build_dir" && pwd)"
# Test-only dependency from PyPI: a real WebSocket client for the live-server tests.
if ! "${PYTHON:-python3}" -c 'import websockets.sync.client' 2>/dev/null; then
  "${PYTHON:-python3}" -m pip install -q --disable-pip-version-check 'websockets>=12' >&2
fi
export PYTHONPATH="$pkg${PYTHONPATH:+:$PYTHONPATH}"
if ! "${PYTHON:-python3}" -c 'import pytest' 2>/dev/null && [ -d "$here/build/pytest-shim" ]; then
  PYTHONPATH="$PYTHONPATH:$here/build/pytest-shim"
fi
# A sanitizer build of the core: the runtime must be loaded before the interpreter's libraries.
if [ -n "${SPK_PY_SANITIZE:-}" ]; then
  export LD_PRELOAD="$(gcc -print-file-name=libasan.so):$(gcc -print-file-name=libubsan.so)"
  # The interpreter (and every child the tests start under LD_PRELOAD) never frees its own heap at
  # exit, so LeakSanitizer reports only Python's allocations here; the core's leak checks are the
  # C tests'. Last option wins: append, so a caller's detect_leaks=1 (scripts/test.sh) cannot
  # turn it back on.
  export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
fi
cd "$here"
exec "${PYTHON:-python3}" -m pytest -q -p no:cacheprovider "$@" tests
