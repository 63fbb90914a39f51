#!/usr/bin/env bash
# Install the npm packages of tests/package.json (playwright-core, ws) when missing or stale.
# Idempotent and silent when nothing to do. Prints the node_modules path on success.
set -euo pipefail
dir="$(cd "$(dirname "$0")/../tests" && pwd)"
stamp="$dir/node_modules/.spikard-stamp"
# ctest runs the Node tests in parallel and each calls this: one installs (npm ci replaces
# node_modules wholesale), the others wait for it instead of reading a half-written tree.
exec 9>"$dir/.node_deps.lock"
flock 9
if [ ! -f "$stamp" ] || [ "$dir/package-lock.json" -nt "$stamp" ] || [ "$dir/package.json" -nt "$stamp" ]; then
  (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >/tmp/spikard-npm.log 2>&1 \
     || npm install --no-audit --no-fund --loglevel=error >>/tmp/spikard-npm.log 2>&1) || {
    echo "node_deps: npm install failed in $dir, see /tmp/spikard-npm.log" >&2
    tail -20 /tmp/spikard-npm.log >&2
    exit 1
  }
  touch "$stamp"
fi
echo "$dir/node_modules"
