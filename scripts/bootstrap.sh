#!/usr/bin/env bash
# Install the Debian packages the project needs, when missing. Idempotent and silent when there
# is nothing to do. Usage: scripts/bootstrap.sh [core|test|bench|all]   (default: core)
#   core   what `make` and `make run` need to build the library and the example
#   test   core + what `make test` drives: clang (second compiler, libFuzzer), redis-server
#          (rate-limit backend), curl, python3-pytest (packages/python), headless Chromium
#          (tests/browser; npm packages come from tests/package.json via scripts/node_deps.sh)
#   bench  core + wrk and nginx for `make bench`
set -euo pipefail

core=(build-essential cmake ninja-build pkg-config python3 libuv1-dev libpcre2-dev
      zlib1g-dev libbrotli-dev libzstd-dev libssl-dev libhiredis-dev)
test=(clang libclang-rt-14-dev curl redis-server chromium
      python3-pytest)  # pytest for packages/python (toolchain-notes §2, option D)
bench=(wrk nginx-light)

want=("${core[@]}")
case "${1:-core}" in
  core) ;;
  test) want+=("${test[@]}") ;;
  bench) want+=("${bench[@]}") ;;
  all) want+=("${test[@]}" "${bench[@]}") ;;
  *) echo "bootstrap: unknown set '$1' (core|test|bench|all)" >&2; exit 2 ;;
esac

missing=()
for p in "${want[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "bootstrap: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
# A stale package index is the usual reason for a failed install on a fresh machine.
if ! $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/tmp/spikard-bootstrap.log 2>&1; then
  $SUDO apt-get update -qq >>/tmp/spikard-bootstrap.log 2>&1
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >>/tmp/spikard-bootstrap.log 2>&1 || {
    echo "bootstrap: apt-get failed, see /tmp/spikard-bootstrap.log" >&2
    tail -20 /tmp/spikard-bootstrap.log >&2
    exit 1
  }
fi
