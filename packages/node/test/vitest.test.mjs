// examples/node/app.test.ts runs under Vitest (the example's pinned dev dependency), as a user's
// `npm test` would: TestClient and a live server inside Vitest's worker processes, and inside
// worker threads (pool "threads", the addon loaded per thread).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { installExample } from './support/example_deps.mjs';

for (const pool of ['forks', 'threads']) {
  test(`examples/node/app.test.ts passes under Vitest (pool ${pool})`, () => {
    const dir = installExample();
    const vitest = path.join(dir, 'node_modules', 'vitest', 'vitest.mjs');
    const out = execFileSync(process.execPath, [vitest, 'run', '--pool', pool, '--reporter', 'verbose'],
      { cwd: dir, encoding: 'utf8', timeout: 120000, env: { ...process.env, NO_COLOR: '1', CI: '1' } });
    assert.match(out, /Tests\s+5 passed \(5\)/);
  });
}
