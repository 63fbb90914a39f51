#!/usr/bin/env bash
# ctest entry (node/test): the package's npm dev dependencies and CommonJS build when stale,
# then node --test on test/. SPIKARD_NODE_ADDON names the addon under test (CMake passes the
# build's). An addon built with sanitizers needs the ASan runtime preloaded into node.
set -euo pipefail
pkg="$(cd "$(dirname "$0")/.." && pwd)"
cd "$pkg"
scripts/deps.sh   # npm dev dependencies when stale, dist/ (CommonJS) when lib/ changed
addon="${SPIKARD_NODE_ADDON:-$pkg/build/spikard.node}"
# grep reads all of ldd's output: with -q it would exit at the first match, ldd could die of
# SIGPIPE, and pipefail would then make the test false (the preload silently skipped).
if ldd "$addon" 2>/dev/null | grep libasan >/dev/null; then
  export LD_PRELOAD="$(gcc -print-file-name=libasan.so)"
  export ASAN_OPTIONS="${ASAN_OPTIONS:-}:detect_leaks=0"
fi
# Only the *.test.mjs files: test/support and test/fx hold helpers, not tests.
if [ "$#" -eq 0 ]; then set -- test/*.test.mjs; fi
exec node --test --test-reporter=spec "$@"
