"""Python side of bench/json_bench.sh: orjson.loads / orjson.dumps throughput.

Usage: python3 json_bench.py FILE...   -> "<file> <loads MB/s> <dumps MB/s>" per file.
MB/s are 10^6 bytes of the input file per second of process CPU time, best of 5 rounds of ~0.2 s (same
method as json_bench.c). orjson.loads gets the bytes.
"""
import os
import sys
import time

import orjson


def bench(nbytes, fn):
    iters = 1
    while True:
        t0 = time.process_time()
        for _ in range(iters):
            fn()
        if time.process_time() - t0 > 0.2:
            break
        iters *= 2
    best = 0.0
    for _ in range(5):
        t0 = time.process_time()
        for _ in range(iters):
            fn()
        best = max(best, nbytes * iters / (time.process_time() - t0) / 1e6)
    return best


for path in sys.argv[1:]:
    with open(path, "rb") as f:
        data = f.read()
    value = orjson.loads(data)
    p = bench(len(data), lambda: orjson.loads(data))
    w = bench(len(data), lambda: orjson.dumps(value))
    print(f"{os.path.basename(path)} {p:.1f} {w:.1f}", flush=True)
