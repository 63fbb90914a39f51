// The hand-written declarations (lib/index.d.ts) type-check a TypeScript app (test/types/app.ts)
// with tsc --strict, Zod inference included. Skipped when the dev dependency is not installed.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const tsc = path.join(pkg, 'node_modules', 'typescript', 'bin', 'tsc');

test('lib/index.d.ts: a strict TypeScript app type-checks', { skip: !existsSync(tsc) }, () => {
  const out = execFileSync(process.execPath, [tsc, '-p', path.join(pkg, 'test', 'types')], { encoding: 'utf8' });
  assert.equal(out.trim(), '');
});
