#!/usr/bin/env bash
# Builds the addon offline (no downloads: Node's headers come from /usr/include/node) into
# packages/node/build/spikard.node, installs the npm dev dependencies and generates the CommonJS
# build (dist/index.cjs, dist/index.d.cts) from the ESM sources. Uses the repository's
# CMake build (target spikard_node) in packages/node/build/cmake unless SPK_BUILD_DIR names an
# existing build directory.
set -euo pipefail
pkg="$(cd "$(dirname "$0")/.." && pwd)"
root="$(cd "$pkg/../.." && pwd)"
bdir="${SPK_BUILD_DIR:-$pkg/build/cmake}"
if [ ! -f "$bdir/CMakeCache.txt" ]; then
  cmake -S "$root" -B "$bdir" -DCMAKE_BUILD_TYPE=Release -DSPK_TESTS=OFF >/dev/null
fi
cmake --build "$bdir" --target spikard_node -j"${JOBS:-2}"
mkdir -p "$pkg/build"
cp "$bdir/node/spikard.node" "$pkg/build/spikard.node"
"$pkg/scripts/deps.sh"   # npm dev dependencies, then the CommonJS build (dist/)
echo "built $pkg/build/spikard.node"
