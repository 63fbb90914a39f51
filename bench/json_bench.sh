#!/usr/bin/env bash
# JSON throughput: spk_json_parse / spk_json_write versus Node's JSON.parse / JSON.stringify
# and Python's orjson, on the same three generated documents (small ~100 B, medium ~10 KB,
# large ~1 MB; deterministic). Not part of `make test`.
#
#   bench/json_bench.sh            (from any directory)
#
# Environment: CC (default gcc), CFLAGS (default -O2), NODE (default node), PYTHON (default
# python3; needs orjson). A missing peer is reported and left out of the table.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/.." && pwd)"
CC="${CC:-gcc}"
CFLAGS="${CFLAGS:--O2}"
NODE="${NODE:-node}"
PYTHON="${PYTHON:-python3}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$CC" -std=c11 -D_GNU_SOURCE $CFLAGS -DNDEBUG -I"$root/include" -I"$root/src" \
  "$root"/src/util/*.c "$root"/src/proto/json_parse.c "$root"/src/proto/json_write.c \
  "$here/json_bench.c" -lm -o "$work/json_bench"

"$work/json_bench" gen "$work" >/dev/null
files=("$work/small.json" "$work/medium.json" "$work/large.json")

echo "spikard ($CC $CFLAGS)..." >&2
"$work/json_bench" run "${files[@]}" >"$work/spk.txt"
# The same with glibc's heap trimming and mmap threshold raised: a per-request arena is
# malloc'd and freed for every document, and by default glibc returns that memory to the kernel
# (brk/munmap + page faults) on every free. Node and Python keep their heaps warm.
MALLOC_TRIM_THRESHOLD_=268435456 MALLOC_MMAP_THRESHOLD_=268435456 \
  "$work/json_bench" run "${files[@]}" >"$work/spk_warm.txt"
have_node=0 have_py=0
if command -v "$NODE" >/dev/null 2>&1; then
  echo "node $("$NODE" --version)..." >&2
  "$NODE" "$here/json_bench.js" "${files[@]}" >"$work/node.txt" && have_node=1
else
  echo "node not found: skipped" >&2
fi
if "$PYTHON" -c 'import orjson' >/dev/null 2>&1; then
  echo "orjson $("$PYTHON" -c 'import orjson; print(orjson.__version__)')..." >&2
  "$PYTHON" "$here/json_bench.py" "${files[@]}" >"$work/orjson.txt" && have_py=1
else
  echo "python orjson not found: skipped" >&2
fi

"$PYTHON" - "$work" "$have_node" "$have_py" <<'PY'
import os, sys
work, have_node, have_py = sys.argv[1], sys.argv[2] == "1", sys.argv[3] == "1"
def load(name):
    rows = {}
    with open(os.path.join(work, name)) as f:
        for line in f:
            n, p, w = line.split()
            rows[n] = (float(p), float(w))
    return rows
spk = load("spk.txt")
warm = load("spk_warm.txt")
peers = []
if have_node: peers.append(("node", load("node.txt")))
if have_py: peers.append(("orjson", load("orjson.txt")))
sizes = {n: os.path.getsize(os.path.join(work, n)) for n in spk}
print("JSON throughput: MB of input document per CPU second, best of 5 rounds.")
print("spikard = glibc malloc defaults; warm = trim/mmap thresholds raised (see script).")
print("ratio = spikard / peer, as default / warm.\n")
hdr = "| document | op | spikard | spikard warm |" + "".join(f" {p} | ratio |" for p, _ in peers)
print(hdr)
print("|" + "---|" * (4 + 2 * len(peers)))
for n in spk:
    label = f"{n[:-5]} ({sizes[n]:,} B)"
    for i, op in enumerate(("parse", "serialize")):
        s, w = spk[n][i], warm[n][i]
        cells = "".join(f" {r[n][i]:.1f} | {s / r[n][i]:.2f}x / {w / r[n][i]:.2f}x |"
                        for _, r in peers)
        print(f"| {label} | {op} | {s:.1f} | {w:.1f} |{cells}")
PY
