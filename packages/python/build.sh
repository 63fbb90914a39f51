#!/usr/bin/env bash
# Build the Python binding in place (idempotent; the test step calls it).
#   packages/python/build.sh [CMAKE_BUILD_DIR]
# With a CMake build directory holding libspikard.a (the repo's build/), link that; otherwise
# setup.py configures and builds the core under packages/python/build/core.
# Runtime dependency msgspec comes from PyPI (not packaged by Debian), installed when missing.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
PY="${PYTHON:-python3}"
if ! "$PY" -c 'import msgspec' 2>/dev/null; then
  "$PY" -m pip install -q --disable-pip-version-check msgspec >&2
fi
if ! "$PY" -c 'import pytest' 2>/dev/null && [ -d /usr/lib/python3/dist-packages/pytest ]; then
  # Option D of toolchain-notes §2: Debian's python3-pytest through a shim directory.
  mkdir -p "$here/build/pytest-shim"
  for m in pytest _pytest pluggy iniconfig py.py packaging; do
    [ -e "/usr/lib/python3/dist-packages/$m" ] && ln -sfn "/usr/lib/python3/dist-packages/$m" "$here/build/pytest-shim/"
  done
fi
if [ $# -ge 1 ]; then export SPIKARD_LIB_DIR="$(cd "$1" && pwd)"; fi
cd "$here"
"$PY" setup.py -q build_ext --inplace >"$here/build-ext.log" 2>&1 || { cat "$here/build-ext.log" >&2; exit 1; }
