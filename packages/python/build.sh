#!/usr/bin/env bash
# Build the Python binding (idempotent; the test step calls it).
#   packages/python/build.sh                   in place: src/spikard/_spikard*.so (core built by
#                                              setup.py under packages/python/build/core)
#   packages/python/build.sh CMAKE_BUILD_DIR   link CMAKE_BUILD_DIR/libspikard.a and put the whole
#                                              package in CMAKE_BUILD_DIR/python/spikard (so gcc,
#                                              ASan and clang builds never share one .so)
# Prints the directory to put on PYTHONPATH. msgspec (not packaged by Debian) comes from PyPI.
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
if [ $# -ge 1 ]; then
  out="$SPIKARD_LIB_DIR/python"
  mkdir -p "$out/spikard"
  cp -p src/spikard/*.py src/spikard/*.pyi src/spikard/py.typed "$out/spikard/"
  "$PY" setup.py -q build_ext --build-lib "$out" --build-temp "$out/tmp" >"$out/build-ext.log" 2>&1 ||
    { cat "$out/build-ext.log" >&2; exit 1; }
  echo "$out"
else
  mkdir -p "$here/build"
  "$PY" setup.py -q build_ext --inplace >"$here/build/build-ext.log" 2>&1 ||
    { cat "$here/build/build-ext.log" >&2; exit 1; }
  echo "$here/src"
fi
