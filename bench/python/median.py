"""Medians per (server, workers, endpoint) of bench/python/run.sh rows (ROUNDS > 1).

    bench/python/run.sh > raw.md; python3 bench/python/median.py raw.md
"""
import statistics
import sys
from collections import OrderedDict

rows: "OrderedDict[tuple, list]" = OrderedDict()
for line in open(sys.argv[1]):
    cells = [c.strip() for c in line.strip().strip("|").split("|")]
    if len(cells) != 6 or not cells[3].replace(".", "").isdigit():
        continue
    key = tuple(cells[:3])
    rows.setdefault(key, []).append((float(cells[3]), None if cells[4] == "-" else float(cells[4]), int(cells[5])))

print("| server | workers | endpoint | req/s (median) | req per server CPU-s (median) | rounds | non-2xx |")
print("|---|---|---|---|---|---|---|")
for (server, workers, endpoint), vals in rows.items():
    rps = statistics.median(v[0] for v in vals)
    cpu = [v[1] for v in vals if v[1] is not None]
    per = f"{statistics.median(cpu):.0f}" if cpu else "-"
    print(f"| {server} | {workers} | {endpoint} | {rps:.0f} | {per} | {len(vals)} | {sum(v[2] for v in vals)} |")
