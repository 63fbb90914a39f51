// npm install in examples/node (spikard as a file: dependency, zod, vitest), once and serialised:
// node --test runs the test files in parallel and two of them use the example, so the check and
// the install run under one flock (the lock scripts/deps.sh takes for the package itself).
// --prefer-offline: after the first fetch npm works from its cache.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const pkg = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const exampleDir = path.join(pkg, '..', '..', 'examples', 'node');

export function installExample() {
  const script = `
    stamp=node_modules/.spikard-stamp
    if [ ! -f "$stamp" ] || [ package.json -nt "$stamp" ] || [ ! -e node_modules/spikard ]; then
      npm install --no-audit --no-fund --prefer-offline --loglevel=error && touch "$stamp"
    fi`;
  execFileSync('flock', [path.join(pkg, '.deps.lock'), 'bash', '-c', script],
    { cwd: exampleDir, stdio: ['ignore', 'ignore', 'inherit'], timeout: 300000 });
  return exampleDir;
}
