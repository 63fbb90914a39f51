#!/usr/bin/env bash
# ctest entry for tests written in Node (browser via playwright-core, ws interop):
#   tests/run_node.sh FILE.mjs
# Installs tests/package.json's npm packages on first use (ESM resolves them from tests/node_modules),
# then runs `node --test FILE`. CMake's environment names the binaries under test.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
"$root/scripts/node_deps.sh" >/dev/null
exec node --test --test-reporter=spec "$@"
