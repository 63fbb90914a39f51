#!/usr/bin/env bash
# Fixture conformance with the e2e runner, in-process and over loopback.
#   scripts/conformance.sh BUILD_DIR            our testing_data/ (must all pass), then the
#                                               external ../shared suite against e2e/floor.json
#   scripts/conformance.sh BUILD_DIR DIR        any other fixture directory (must all pass)
set -euo pipefail
cd "$(dirname "$0")/.."
runner="${1:?usage: conformance.sh BUILD_DIR [FIXTURES_DIR]}/e2e/spk-fixtures"
if [ -n "${2:-}" ]; then
  exec "$runner" --fixtures "$2" --mode both
fi
rc=0
if [ -d testing_data ]; then
  "$runner" --fixtures testing_data --mode both || rc=1
else
  echo "conformance: no testing_data/ yet, skipping the project's own fixtures"
fi
external=../shared/spikard-fixtures/testing_data
if [ -d "$external" ]; then
  floor=()
  [ -f e2e/floor.json ] && floor=(--floor e2e/floor.json)
  "$runner" --fixtures "$external" --mode both --allow-failures "${floor[@]}" | tail -n 60 || rc=1
else
  echo "conformance: $external not found, skipping the external suite"
fi
exit $rc
