#!/usr/bin/env bash
# Build (build.sh) then run the pytest suite. Used by ctest (python/pytest).
#   packages/python/run_tests.sh [CMAKE_BUILD_DIR] [pytest args…]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
build_dir="${1:-}"; [ $# -ge 1 ] && shift
"$here/build.sh" ${build_dir:+"$build_dir"}
export PYTHONPATH="$here/src${PYTHONPATH:+:$PYTHONPATH}"
[ -d "$here/build/pytest-shim" ] && ! python3 -c 'import pytest' 2>/dev/null && PYTHONPATH="$PYTHONPATH:$here/build/pytest-shim"
cd "$here"
exec "${PYTHON:-python3}" -m pytest -q -p no:cacheprovider "$@" tests
