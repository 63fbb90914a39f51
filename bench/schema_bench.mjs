// ajv side of bench/schema_bench.sh: the same cases and method as schema_bench.c.
//
//   node schema_bench.mjs check FILE.cand.json     "S i ok|fail MSG", "D j 1|0|P|X"
//   node schema_bench.mjs run FILE.json [CASE...]  one JSON line per case (standalone)
//   node schema_bench.mjs serve FILE.json          driven by schema_bench.py (see schema_bench.c)
//
// Validators: ajv (draft 2020-12 build, `ajv/dist/2020`) with ajv-formats, compiled once per
// schema; `allErrors: false` for the "valid?" cases (…-flag), `allErrors: true` for the
// error-list cases (…-all, …-parse). `strict: false`: OpenAPI schemas carry keywords ajv does not
// know (discriminator, nullable, x-…), which JSON Schema says to ignore.
// Formats: ajv-formats (full mode) for the formats spikard asserts as well; the other formats
// ajv-formats knows (OpenAPI's int32, int64, byte, double, …, and iso-time, url, …) are
// registered as no-ops, since spikard only annotates them, so both sides do the same work.
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Ajv2020 = require('ajv/dist/2020').default;
const addFormats = require('ajv-formats').default;
const formatNames = require('ajv-formats/dist/formats').formatNames;

const SHARED_FORMATS = ['date', 'time', 'date-time', 'duration', 'email', 'hostname', 'ipv4',
  'ipv6', 'uri', 'uri-reference', 'uri-template', 'uuid', 'json-pointer',
  'relative-json-pointer', 'regex'];
const IGNORED_FORMATS = formatNames.filter((f) => !SHARED_FORMATS.includes(f))
  .concat(['idn-email', 'idn-hostname', 'iri', 'iri-reference']);

function makeAjv(allErrors) {
  const ajv = new Ajv2020({ strict: false, allErrors });
  addFormats(ajv, { mode: 'full', formats: SHARED_FORMATS, keywords: false });
  for (const f of IGNORED_FORMATS) ajv.addFormat(f, true);
  return ajv;
}

// Process CPU time (user + system, every thread: GC and JIT helpers count), as in the C bench.
function cpuNow() { const u = process.cpuUsage(); return (u.user + u.system) / 1e6; }
const envNum = (name, dflt) => (process.env[name] ? Number(process.env[name]) : dflt);

function compileAll(schemas, print) {
  const flag = makeAjv(false), all = makeAjv(true);
  return schemas.map((s, i) => {
    try {
      // structuredClone: ajv may annotate/keep the object; each instance gets its own copy.
      const v = { flag: flag.compile(structuredClone(s)), all: all.compile(structuredClone(s)) };
      if (print) console.log(`S ${i} ok`);
      return v;
    } catch (e) {
      if (print) console.log(`S ${i} fail ${String(e.message).replace(/\n/g, ' ')}`);
      else throw new Error(`schema ${i} does not compile: ${e.message}`);
      return null;
    }
  });
}

function classify(v, value) {
  const a = v.all(value);
  const errs = v.all.errors;
  const b = v.flag(value);
  if (a !== b || (!a && !(errs && errs.length))) return 'X';
  return a ? '1' : '0';
}

function cmdCheck(path) {
  const w = JSON.parse(fs.readFileSync(path, 'utf8'));
  const compiled = compileAll(w.schemas, true);
  const out = [];
  w.docs.forEach(([si, text], j) => {
    if (!compiled[si]) { out.push(`D ${j} E`); return; }
    let value;
    try { value = JSON.parse(text); } catch { out.push(`D ${j} P`); return; }
    out.push(`D ${j} ${classify(compiled[si], value)}`);
  });
  console.log(out.join('\n'));
}

// Passes: return the number of valid results.
function passFlag(docs) {
  let ok = 0;
  for (let i = 0; i < docs.length; i++) { const d = docs[i]; if (d.v.flag(d.value)) ok++; }
  return ok;
}
let sink = 0;
function passAll(docs) {
  let ok = 0;
  for (let i = 0; i < docs.length; i++) {
    const d = docs[i];
    if (d.v.all(d.value)) ok++;
    else sink += d.v.all.errors.length;
  }
  return ok;
}
function passParse(docs) {
  let ok = 0;
  for (let i = 0; i < docs.length; i++) {
    const d = docs[i];
    const value = JSON.parse(d.text);
    if (d.v.all(value)) ok++;
    else sink += d.v.all.errors.length;
  }
  return ok;
}

const CASES = [
  ['valid-flag', passFlag, true], ['valid-all', passAll, true],
  ['invalid-flag', passFlag, false], ['invalid-all', passAll, false],
  ['valid-parse', passParse, true], ['invalid-parse', passParse, false],
];

function runPass(name, fn, set) {
  const got = fn(set.docs);
  if (got !== set.expectValid) {
    throw new Error(`${name}: ${got} valid results per pass, expected ${set.expectValid}`);
  }
}

// Warm-up for SB_WARMUP seconds (at least 3 passes); returns the batch size for oneRun: about
// 1/100 of SB_SECONDS worth of passes.
function warm(name, fn, set) {
  const warmup = envNum('SB_WARMUP', 5), seconds = envNum('SB_SECONDS', 1);
  let passes = 0;
  const t0 = cpuNow();
  let dt;
  do {
    runPass(name, fn, set);
    passes++;
    dt = cpuNow() - t0;
  } while (dt < warmup || passes < 3);
  return Math.max(1, Math.floor(seconds / 100 / (dt / passes)));
}

// One run: batches of passes until at least SB_SECONDS of CPU time have elapsed.
function oneRun(name, fn, set, batch) {
  const seconds = envNum('SB_SECONDS', 1);
  const t = cpuNow();
  let p = 0, el;
  do {
    for (let b = 0; b < batch; b++) runPass(name, fn, set);
    p += batch;
    el = cpuNow() - t;
  } while (el < seconds);
  const validations = p * set.docs.length;
  return { rate: validations / el, secs: el, validations };
}

function benchCase(name, fn, set) {
  let runs = envNum('SB_RUNS', 5);
  if (!(runs >= 1 && runs <= 99)) runs = 5;
  const batch = warm(name, fn, set);
  const res = [];
  for (let r = 0; r < runs; r++) res.push(oneRun(name, fn, set, batch));
  const rates = res.map((x) => x.rate);
  const sorted = [...rates].sort((a, b) => a - b);
  console.log(JSON.stringify({
    case: name, median: +sorted[runs >> 1].toFixed(1), runs: rates.map((x) => +x.toFixed(1)),
    per_run: Math.min(...res.map((x) => x.validations)),
    min_secs: +Math.min(...res.map((x) => x.secs)).toFixed(3), docs: set.docs.length,
  }));
}

// serve: commands on stdin ("warm CASE" → "ok", "run CASE" → one JSON line, "quit"), so that
// schema_bench.py can alternate the runs of both validators.
async function serve(sets) {
  const readline = await import('node:readline');
  const rl = readline.createInterface({ input: process.stdin });
  const batches = {};
  for await (const line of rl) {
    const [cmd, name] = line.trim().split(' ');
    if (cmd === 'quit') break;
    const c = CASES.find((x) => x[0] === name);
    if (!c) throw new Error(`serve: bad command ${line}`);
    const [, fn, valid] = c;
    if (cmd === 'warm') {
      batches[name] = warm(name, fn, sets[valid]);
      process.stdout.write('ok\n');
    } else if (cmd === 'run') {
      if (!batches[name]) throw new Error('serve: run before warm');
      const r = oneRun(name, fn, sets[valid], batches[name]);
      process.stdout.write(JSON.stringify({
        case: name, rate: +r.rate.toFixed(1), secs: +r.secs.toFixed(3), validations: r.validations,
      }) + '\n');
    } else {
      throw new Error(`serve: bad command ${line}`);
    }
  }
  rl.close();
}

async function cmdRun(path, wanted, serving) {
  const w = JSON.parse(fs.readFileSync(path, 'utf8'));
  const compiled = compileAll(w.schemas, false);
  const load = (list, expect) => {
    const docs = list.map(([si, text], i) => {
      const d = { v: compiled[si], text, value: JSON.parse(text) };
      if (classify(d.v, d.value) !== (expect ? '1' : '0')) {
        throw new Error(`document ${i} of the ${expect ? 'valid' : 'invalid'} list: unexpected result`);
      }
      return d;
    });
    return { docs, expectValid: expect ? docs.length : 0 };
  };
  const sets = { true: load(w.valid, true), false: load(w.invalid, false) };
  if (serving) {
    await serve(sets);
    return;
  }
  for (const [name, fn, valid] of CASES) {
    if (wanted.length && !wanted.includes(name)) continue;
    benchCase(name, fn, sets[valid]);
  }
  if (sink < 0) console.log(sink);
}

const [cmd, file, ...rest] = process.argv.slice(2);
if (cmd === 'check' && file) cmdCheck(file);
else if (cmd === 'run' && file) await cmdRun(file, rest, false);
else if (cmd === 'serve' && file) await cmdRun(file, [], true);
else {
  console.error('usage: node schema_bench.mjs check FILE | run FILE [CASE...] | serve FILE');
  process.exit(2);
}
