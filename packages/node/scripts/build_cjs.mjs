// The CommonJS build, generated from the ESM sources (lib/): one bundle dist/index.cjs made by
// esbuild (a pinned dev dependency), and dist/index.d.cts, the same declarations as
// lib/index.d.ts for `require` resolution. lib/ stays the only source; dist/ is not committed.
// import.meta.url (lib/native.js finds the addon relative to itself) becomes the bundle's own
// file URL: dist/ sits beside lib/, so the relative paths hold.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const dist = path.join(pkg, 'dist');
mkdirSync(dist, { recursive: true });

// Written beside the target and renamed: a test process loading dist/ never sees half a file.
function put(name, text) {
  const tmp = path.join(dist, `.${name}.${process.pid}.tmp`);
  writeFileSync(tmp, text);
  renameSync(tmp, path.join(dist, name));
}

const out = await build({
  entryPoints: [path.join(pkg, 'lib', 'index.js')],
  bundle: true,
  format: 'cjs',
  platform: 'node',
  target: 'node20',
  write: false,
  logLevel: 'error',
  define: { 'import.meta.url': '__spikard_import_meta_url' },
  banner: { js: "'use strict';\nconst __spikard_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
});
put('index.cjs', out.outputFiles[0].text);
put('index.d.cts', '// Generated from lib/index.d.ts by scripts/build_cjs.mjs (CommonJS resolution).\n' +
  readFileSync(path.join(pkg, 'lib', 'index.d.ts'), 'utf8'));
