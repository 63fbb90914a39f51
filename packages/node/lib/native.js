// Loads the N-API addon: $SPIKARD_NODE_ADDON, then the package's build/spikard.node
// (scripts/build.sh), then the repository build's build/node/spikard.node (in-tree use).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';

const require = createRequire(import.meta.url);
const here = path.dirname(fileURLToPath(import.meta.url));
const candidates = [
  process.env.SPIKARD_NODE_ADDON,
  path.join(here, '..', 'build', 'spikard.node'),
  path.join(here, '..', '..', '..', 'build', 'node', 'spikard.node'),
].filter(Boolean);
const found = candidates.map((p) => path.resolve(p)).find((p) => existsSync(p));
if (!found) {
  throw new Error(
    `spikard: native addon not found (looked in ${candidates.join(', ')}); ` +
      'run packages/node/scripts/build.sh');
}
export const native = require(found);
export const addonPath = found;
