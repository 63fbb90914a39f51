// The package is dual: installed with npm into a fresh project (a file: dependency, as a user
// would), `require('spikard')` loads the CommonJS build (dist/index.cjs) and `import` the ES
// module sources (lib/index.js), with the same exports. test/dual/app.ts is compiled by tsc
// (--strict, NodeNext) once as an ES module and once as CommonJS against the installed
// package's types (lib/index.d.ts and dist/index.d.cts), and both outputs run.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const pkg = path.join(here, '..');
const src = path.join(here, 'dual');
const tsc = path.join(pkg, 'node_modules', 'typescript', 'bin', 'tsc');
let proj;

const run = (file, cwd = proj) =>
  JSON.parse(execFileSync(process.execPath, [file], { cwd, encoding: 'utf8', timeout: 60000 }));

before(() => {
  proj = mkdtempSync(path.join(os.tmpdir(), 'spikard-dual-'));
  writeFileSync(path.join(proj, 'package.json'), JSON.stringify({
    name: 'spikard-dual-check', private: true, dependencies: { spikard: `file:${pkg}` } }));
  execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error'],
    { cwd: proj, stdio: 'ignore', timeout: 120000 });
});

after(() => { if (proj) rmSync(proj, { recursive: true, force: true }); });

const EXPECTED_EXPORTS = ['HttpError', 'Request', 'Response', 'Spikard', 'StreamResponse',
  'TestClient', 'TestResponse', 'addonPath', 'toJsonSchema', 'version'];

test('require("spikard") from a .cjs file loads the CommonJS build', () => {
  cpSync(path.join(src, 'main.cjs'), path.join(proj, 'main.cjs'));
  const out = run('main.cjs');
  assert.match(out.resolved, /dist[\\/]index\.cjs$/);
  assert.equal(out.status, 200);
  assert.deepEqual(out.body, { hello: 'cjs' });
  for (const name of EXPECTED_EXPORTS) assert.ok(out.exports.includes(name), name);
});

test('import from "spikard" in an .mjs file loads the ES module sources', () => {
  cpSync(path.join(src, 'main.mjs'), path.join(proj, 'main.mjs'));
  const out = run('main.mjs');
  assert.match(out.resolved, /lib[\\/]index\.js$/);
  assert.equal(out.status, 200);
  assert.deepEqual(out.body, { hello: 'esm' });
  for (const name of EXPECTED_EXPORTS) assert.ok(out.exports.includes(name), name);
  assert.equal(out.cjsVersion, true);
});

test('both builds export the same names', () => {
  const cjs = run('main.cjs').exports;
  const esm = run('main.mjs').exports;
  assert.deepEqual(cjs, esm);
});

for (const mode of ['module', 'commonjs']) {
  test(`test/dual/app.ts: tsc --strict as ${mode === 'module' ? 'ESM' : 'CommonJS'} type-checks and runs`,
    { skip: !existsSync(tsc) }, () => {
      // NodeNext takes the module format from the nearest package.json "type".
      const dir = path.join(proj, `ts-${mode}`);
      cpSync(path.join(src, 'app.ts'), path.join(dir, 'app.ts'));
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ type: mode }));
      writeFileSync(path.join(dir, 'tsconfig.json'), JSON.stringify({
        compilerOptions: { target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext',
          strict: true, outDir: 'out', skipLibCheck: false, types: ['node'],
          typeRoots: [path.join(pkg, 'node_modules', '@types')] },
        files: ['app.ts'] }));
      const diag = execFileSync(process.execPath, [tsc, '-p', dir], { encoding: 'utf8', timeout: 120000 });
      assert.equal(diag.trim(), '');
      const js = readFileSync(path.join(dir, 'out', 'app.js'), 'utf8');
      if (mode === 'commonjs') assert.match(js, /require\("spikard"\)/);
      else assert.match(js, /from 'spikard'/);
      const out = run(path.join('out', 'app.js'), dir);
      assert.deepEqual(out, {
        created: [201, { name: 'pen', price: 2, id: 1 }],
        found: [200, { id: 1 }],
        missing: 404,
        invalid: 422,
      });
    });
}

test('the packed tarball (npm pack) installs and loads in both forms', () => {
  // A copy, not a link: only what package.json "files" lists reaches the user.
  const dir = mkdtempSync(path.join(os.tmpdir(), 'spikard-pack-'));
  try {
    const out = execFileSync('npm', ['pack', '--pack-destination', dir, '--loglevel=error'],
      { cwd: pkg, encoding: 'utf8', timeout: 120000 });
    const tgz = path.join(dir, out.trim().split('\n').pop());
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'spikard-pack-check', private: true }));
    execFileSync('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tgz],
      { cwd: dir, stdio: 'ignore', timeout: 120000 });
    assert.ok(existsSync(path.join(dir, 'node_modules', 'spikard', 'dist', 'index.cjs')));
    for (const main of ['main.cjs', 'main.mjs']) {
      cpSync(path.join(src, main), path.join(dir, main));
      const got = run(main, dir);
      assert.match(got.resolved, new RegExp(`node_modules[\\\\/]spikard[\\\\/]${main === 'main.cjs' ? 'dist' : 'lib'}`));
      assert.equal(got.status, 200);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
