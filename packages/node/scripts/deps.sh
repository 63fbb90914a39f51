#!/usr/bin/env bash
# The package's npm dev dependencies (pinned in package.json/package-lock.json: zod, typescript,
# @types/node, esbuild, vitest) when missing or stale, then the CommonJS build dist/ when lib/
# changed (scripts/build_cjs.mjs). Serialised with flock like scripts/node_deps.sh: build.sh and
# the ctest entry can run at the same time, and npm must not write one node_modules twice.
# After the first fetch npm works from its cache (--prefer-offline).
set -euo pipefail
pkg="$(cd "$(dirname "$0")/.." && pwd)"
cd "$pkg"
exec 9>"$pkg/.deps.lock"
flock 9
stamp="node_modules/.spikard-stamp"
if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || [ package-lock.json -nt "$stamp" ]; then
  npm install --no-audit --no-fund --prefer-offline --loglevel=error >/tmp/spikard-node-npm.$$.log 2>&1 || {
    echo "deps.sh: npm install failed in $pkg:" >&2
    tail -20 /tmp/spikard-node-npm.$$.log >&2
    rm -f /tmp/spikard-node-npm.$$.log
    exit 1
  }
  rm -f /tmp/spikard-node-npm.$$.log
  touch "$stamp"
fi
if [ ! -f dist/index.cjs ] || [ -n "$(find lib -newer dist/index.cjs -print -quit)" ]; then
  node scripts/build_cjs.mjs
fi
