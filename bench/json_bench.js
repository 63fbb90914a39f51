// Node side of bench/json_bench.sh: JSON.parse / JSON.stringify throughput.
// Usage: node json_bench.js FILE...   → "<file> <parse MB/s> <stringify MB/s>" per file.
// MB/s are 10^6 bytes of the input file per second of CPU time, best of 5 rounds of ~0.2 s (same
// method as json_bench.c). JSON.parse gets the already-decoded JS string.
'use strict';
const fs = require('fs');
const path = require('path');

// Process CPU time (user + system, all threads: GC helpers included), as in json_bench.c.
function now() { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; }

function bench(bytes, fn) {
  let iters = 1;
  for (;;) {
    const t0 = now();
    for (let i = 0; i < iters; i++) fn();
    if (now() - t0 > 0.2) break;
    iters *= 2;
  }
  let best = 0;
  for (let r = 0; r < 5; r++) {
    const t0 = now();
    for (let i = 0; i < iters; i++) fn();
    const mbs = bytes * iters / (now() - t0) / 1e6;
    if (mbs > best) best = mbs;
  }
  return best;
}

let sink = 0;
for (const file of process.argv.slice(2)) {
  const buf = fs.readFileSync(file);
  const text = buf.toString('utf8');
  const value = JSON.parse(text);
  const p = bench(buf.length, () => { sink += JSON.parse(text) ? 1 : 0; });
  const w = bench(buf.length, () => { sink += JSON.stringify(value).length; });
  console.log(`${path.basename(file)} ${p.toFixed(1)} ${w.toFixed(1)}`);
}
if (sink < 0) console.log(sink);
