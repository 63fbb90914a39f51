// The network server: real sockets (127.0.0.1, port 0), fetch as the client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Spikard } from '../lib/index.js';

for (const engine of ['node', 'threads'])
test(`${engine} engine: listen, serve sync/async/failing handlers concurrently, close gracefully`, async () => {
  const app = new Spikard();
  app.get('/json', () => ({ message: 'hi' }));
  app.get('/slow', async () => { await new Promise((r) => setTimeout(r, 30)); return 'done'; });
  app.post('/echo', { body: { type: 'object' } }, (req) => req.json());
  app.get('/boom', () => { throw new Error('x'); });
  app.get('/ip', (req) => ({ ip: req.ip }));
  const server = await app.listen({ host: '127.0.0.1', port: 0, engine });
  try {
    assert.ok(server.port > 0);
    const base = `http://127.0.0.1:${server.port}`;
    const [a, b, c, d] = await Promise.all([
      fetch(`${base}/json`), fetch(`${base}/slow`),
      fetch(`${base}/echo`, { method: 'POST', body: '{"k":1}', headers: { 'content-type': 'application/json' } }),
      fetch(`${base}/boom`)]);
    assert.deepEqual(await a.json(), { message: 'hi' });
    assert.equal(await b.text(), 'done');
    assert.deepEqual(await c.json(), { k: 1 });
    assert.equal(d.status, 500);
    assert.deepEqual(await (await fetch(`${base}/ip`)).json(), { ip: '127.0.0.1' });
    const many = await Promise.all(Array.from({ length: 40 }, () => fetch(`${base}/json`).then((r) => r.status)));
    assert.ok(many.every((s) => s === 200));
  } finally {
    await server.close();
  }
});

test('run({ workers: 2 }): cluster workers share the port (SO_REUSEPORT) and close on SIGTERM', async () => {
  const { createServer } = await import('node:net');
  const { execFile } = await import('node:child_process');
  const path = await import('node:path');
  const { fileURLToPath } = await import('node:url');
  const port = await new Promise((resolve) => {
    const probe = createServer().listen(0, '127.0.0.1', () => { const p = probe.address().port; probe.close(() => resolve(p)); });
  });
  const script = path.join(path.dirname(fileURLToPath(import.meta.url)), 'support', 'cluster_app.mjs');
  const out = await new Promise((resolve, reject) => {
    execFile(process.execPath, [script], { env: { ...process.env, PORT: String(port) }, timeout: 30000 },
      (err, stdout, stderr) => (err ? reject(new Error(`${err.message}\n${stderr}`)) : resolve(stdout)));
  });
  assert.deepEqual(JSON.parse(out.trim().split('\n').pop()), { pids: 2 });
});
