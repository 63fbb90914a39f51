// import from 'spikard' in an ES module of a project that installed the package.
import * as spikard from 'spikard';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const { Spikard, TestClient } = spikard;
const app = new Spikard();
app.get('/hello/{name}', (req) => ({ hello: req.params.name }));
const r = await new TestClient(app).get('/hello/esm');
console.log(JSON.stringify({ resolved: fileURLToPath(import.meta.resolve('spikard')), status: r.status,
  body: r.json(), exports: Object.keys(spikard).sort(),
  // The same process may also require() the package (the CommonJS copy).
  cjsVersion: createRequire(import.meta.url)('spikard').version === spikard.version }));
