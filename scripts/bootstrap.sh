#!/usr/bin/env bash
# Install the Debian packages the project needs, when missing. Idempotent and silent when there
# is nothing to do. Usage: scripts/bootstrap.sh [core|bench|all]   (default: core)
set -euo pipefail

core=(build-essential cmake ninja-build pkg-config libuv1-dev libpcre2-dev clang libclang-rt-14-dev curl python3
      zlib1g-dev libbrotli-dev libzstd-dev libssl-dev libhiredis-dev redis-server
      python3-pytest  # pytest for packages/python (toolchain-notes §2, option D)
      chromium)  # headless browser for tests/browser (driven by playwright-core from npm)
bench=(wrk nginx-light)

want=("${core[@]}")
case "${1:-core}" in
  core) ;;
  bench) want+=("${bench[@]}") ;;
  all) want+=("${bench[@]}") ;;
  *) echo "bootstrap: unknown set '$1' (core|bench|all)" >&2; exit 2 ;;
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
