#!/usr/bin/env bash
# JSON Schema validation throughput: spikard's compiled validators (src/proto/schema.h) versus
# ajv 8 compiled validators (draft 2020-12 build + ajv-formats), same schemas, same documents,
# same run. Not part of `make test`.
#
#   bench/schema_bench.sh          (from any directory; ~9 minutes)
#   QUICK=1 bench/schema_bench.sh  (smoke test: short runs, report not written to results/)
#
# Workloads (prepared by schema_bench.py into a temp dir, deterministic):
#   fixtures   handler.body_schema of every external fixture with a JSON request body
#              ($FIXTURES/*/*.json), its request body + schema-guided mutations
#   adyen      the request-body components of $OPENAPI (Adyen Checkout v71, OpenAPI 3.1), with
#              the spec's request examples, generated instances and mutations
#   synthetic  a medium order schema (nested objects, arrays, $ref, oneOf, patterns, formats)
#              with ~1 KB documents and mutations
# Both validators classify every candidate document first; only documents on which they agree
# are measured (the others are listed in the report). Cases and method: schema_bench.c.
#
# Environment: CC (gcc), CFLAGS (-O2), NODE (node), NPM (npm), PYTHON (python3, needs PyYAML:
# installed with pip --user when missing), SB_WARMUP (5 s per case and side: V8 needs seconds to
# tier up ajv's larger validators; with 2 s ajv still ran 2-3x below its steady state on the
# Adyen workload), SB_SECONDS (1 s per run), SB_RUNS (5), WORKLOADS ("fixtures adyen
# synthetic"), CASES (all six), OUT (results/schema.md; QUICK=1: none), KEEP_TMP=1 keeps the
# temp dir (workloads, raw results), FIXTURES, OPENAPI (inputs).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
CC="${CC:-gcc}"
CFLAGS="${CFLAGS:--O2}"
NODE="${NODE:-node}"
NPM="${NPM:-npm}"
PYTHON="${PYTHON:-python3}"
QUICK="${QUICK:-0}"
if [ "$QUICK" = 1 ]; then
  export SB_WARMUP="${SB_WARMUP:-0.3}" SB_SECONDS="${SB_SECONDS:-0.3}" SB_RUNS="${SB_RUNS:-3}"
  OUT="${OUT-}"
else
  export SB_WARMUP="${SB_WARMUP:-5}" SB_SECONDS="${SB_SECONDS:-1}" SB_RUNS="${SB_RUNS:-5}"
  OUT="${OUT-$here/results/schema.md}"
fi
WORKLOADS="${WORKLOADS:-fixtures adyen synthetic}"
read -r -a cases <<<"${CASES:-}"

command -v "$NODE" >/dev/null 2>&1 || { echo "schema_bench: node not found" >&2; exit 1; }
if ! "$PYTHON" -c 'import yaml' >/dev/null 2>&1; then
  echo "installing PyYAML (pip --user)..." >&2
  "$PYTHON" -m pip install --user --quiet pyyaml >&2 ||
    "$PYTHON" -m pip install --user --quiet --break-system-packages pyyaml >&2
fi

# ajv + ajv-formats at the exact versions of bench/package.json, into bench/node_modules.
pkg_ok() {
  (cd "$here" && "$NODE" -e '
    const want = require("./package.json").dependencies;
    for (const [n, v] of Object.entries(want)) {
      let got;
      try { got = require(`./node_modules/${n}/package.json`).version; } catch { process.exit(1); }
      if (got !== v) process.exit(1);
    }') >/dev/null 2>&1
}
if ! pkg_ok; then
  echo "installing ajv + ajv-formats into bench/node_modules..." >&2
  (cd "$here" && "$NPM" install --no-audit --no-fund --package-lock=false --loglevel=error >&2)
  pkg_ok || { echo "schema_bench: npm install did not give the versions of package.json" >&2; exit 1; }
fi

work="$(mktemp -d)"
if [ "${KEEP_TMP:-0}" = 1 ]; then
  echo "temp dir: $work" >&2
else
  trap 'rm -rf "$work"' EXIT
fi

echo "building schema_bench ($CC $CFLAGS)..." >&2
"$CC" -std=c11 -D_GNU_SOURCE $CFLAGS -DNDEBUG -I"$root/include" -I"$root/src" \
  "$root"/src/util/*.c "$root"/src/proto/*.c "$here/schema_bench.c" -lpcre2-8 -lm \
  -o "$work/schema_bench"

echo "preparing workloads..." >&2
"$PYTHON" "$here/schema_bench.py" prep "$work"
for w in $WORKLOADS; do
  "$work/schema_bench" check "$work/$w.cand.json" >"$work/$w.spk.check"
  "$NODE" "$here/schema_bench.mjs" check "$work/$w.cand.json" >"$work/$w.ajv.check"
  "$PYTHON" "$here/schema_bench.py" merge "$work" "$w"
done

# Machine and versions for the report header.
commit="$(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)"
dirty=0
[ -n "$(git -C "$root" status --porcelain -- src 2>/dev/null)" ] && dirty=1
"$PYTHON" - "$work/env.json" <<PY
import json, sys
env = {
    "date": "$(date -u '+%Y-%m-%d %H:%M UTC')",
    "commit": "$commit", "dirty": $dirty,
    "cpu": """$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//')""",
    "nproc": "$(nproc)", "kernel": "$(uname -r)",
    "cc": """$("$CC" --version | head -1)""", "cflags": "$CFLAGS -DNDEBUG",
    "pcre2": "$(pkg-config --modversion libpcre2-8 2>/dev/null || echo '?')",
    "node": "$("$NODE" --version)",
    "ajv": "$(cd "$here" && "$NODE" -p 'require("./node_modules/ajv/package.json").version')",
    "ajv_formats": "$(cd "$here" && "$NODE" -p 'require("./node_modules/ajv-formats/package.json").version')",
    "warmup": "$SB_WARMUP", "seconds": "$SB_SECONDS", "runs": "$SB_RUNS",
}
json.dump(env, open(sys.argv[1], "w"))
PY

stat_before="$(head -1 /proc/stat)"
for w in $WORKLOADS; do
  echo "$w: spikard and ajv, alternating..." >&2
  "$PYTHON" "$here/schema_bench.py" drive "$work" "$w" "$work/schema_bench" "$NODE" \
    "$here/schema_bench.mjs" ${cases[@]+"${cases[@]}"}
done

stat_after="$(head -1 /proc/stat)"
"$PYTHON" - "$work/env.json" "$stat_before" "$stat_after" <<'PY'
import json, sys
env = json.load(open(sys.argv[1]))
env["stat_before"], env["stat_after"] = sys.argv[2], sys.argv[3]
json.dump(env, open(sys.argv[1], "w"))
PY

if [ -n "$OUT" ]; then
  mkdir -p "$(dirname "$OUT")"
  "$PYTHON" "$here/schema_bench.py" report "$work" "$OUT"
  echo "written to $OUT" >&2
else
  "$PYTHON" "$here/schema_bench.py" report "$work"
fi
