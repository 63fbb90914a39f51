// The request/response crossing between the core and JS (src/request.c, lib/raw.js), through
// TestClient and a live server on Node's loop: the request's header fields cross as one string,
// its body only when read (copied at the answer if not read by then), and string bodies are
// encoded once into a reusable buffer, growing past its first size. The observable request and
// response must be exactly what a plain copy would give.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { Spikard, TestClient } from '../lib/index.js';

// One request as raw bytes; the JSON body of the answer.
function rawJson(port, bytes) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1', () => s.end(bytes));
    const chunks = [];
    s.setTimeout(5000, () => { s.destroy(); reject(new Error('timeout')); });
    s.on('data', (d) => chunks.push(d));
    s.on('end', () => {
      const out = Buffer.concat(chunks).toString('utf8');
      resolve(JSON.parse(out.slice(out.indexOf('\r\n\r\n') + 4)));
    });
    s.on('error', reject);
  });
}

function makeApp() {
  const app = new Spikard();
  let kept = [];
  app.post('/keep', (req) => { kept.push(req); return 'kept'; });
  app.post('/keep-async', async (req) => { await new Promise((r) => setTimeout(r, 5)); kept.push(req); return 'kept'; });
  app.post('/keep-validated', { body: { type: 'object', properties: { n: { type: 'integer' } } } },
    (req) => { kept.push(req); return { n: req.json().n }; });
  app.get('/kept', () => {
    const out = kept.map((r) => r.body.toString('utf8'));
    kept = [];
    return out;
  });
  app.post('/echo', (req) => ({ text: req.text(), again: req.body.toString('utf8'), len: req.body.length }));
  app.get('/headers', (req) => ({ headers: req.headers, list: req.headerList }));
  app.post('/string', (req) => req.text());
  return app;
}

const strings = [
  'a'.repeat(65531), 'a'.repeat(65532), 'a'.repeat(65530) + '€', 'a'.repeat(65534) + '€',
  'é'.repeat(100000) + '😀', 'x'.repeat(300000), '', 'ünïcödé ✓',
];

async function checkAll(send) {
  // Bodies read after the answer (copied then), read twice, and never read.
  await send('POST', '/keep', 'first body');
  await send('POST', '/keep-async', 'second body ✓');
  await send('POST', '/keep-validated', '{"n":3}', 'application/json');
  await send('POST', '/keep', '');
  let r = await send('GET', '/kept');
  assert.deepEqual(JSON.parse(r.body), ['first body', 'second body ✓', '{"n":3}', '']);
  r = await send('POST', '/echo', 'héllo');
  assert.deepEqual(JSON.parse(r.body), { text: 'héllo', again: 'héllo', len: 6 });
  // String bodies around and past the encoding buffer's size, multi-byte at its edge.
  for (const s of strings) {
    r = await send('POST', '/string', s);
    assert.equal(r.body, s, `string of ${s.length} chars`);
  }
}

test('TestClient: lazy body, string bodies of every size', async () => {
  const c = new TestClient(makeApp());
  await checkAll(async (method, path, body, type) => {
    const r = await c.request(method, path, body === undefined ? {} : { body, headers: type ? { 'content-type': type } : {} });
    return { status: r.status, body: r.text() };
  });
  const r = await c.get('/headers', { headers: { 'X-One': 'café', 'X-Empty': '', 'X-Two': 'a', 'x-two': 'b' } });
  const { headers, list } = r.json();
  assert.equal(headers['x-one'], 'café');
  assert.equal(headers['x-empty'], '');
  assert.equal(headers['x-two'], 'a, b');
  assert.deepEqual(list.filter(([k]) => k.toLowerCase().startsWith('x-')),
    [['X-One', 'café'], ['X-Empty', ''], ['X-Two', 'a'], ['x-two', 'b']]);
});

test('threads engine: lazy body, string bodies of every size', async () => {
  const server = await makeApp().listen({ port: 0, engine: 'threads', workers: 2 });
  try {
    await checkAll(async (method, path, body, type) => {
      const res = await fetch(`http://127.0.0.1:${server.port}${path}`,
        { method, body, headers: type ? { 'content-type': type } : {} });
      return { status: res.status, body: await res.text() };
    });
  } finally {
    await server.close();
  }
});

test('live server on Node\'s loop: lazy body, header fields as sent', async () => {
  const server = await makeApp().listen({ port: 0 });
  try {
    await checkAll(async (method, path, body, type) => {
      const res = await fetch(`http://127.0.0.1:${server.port}${path}`,
        { method, body, headers: type ? { 'content-type': type } : {} });
      return { status: res.status, body: await res.text() };
    });
    // Raw bytes: a UTF-8 header value, and obs-text that is not UTF-8, decode as before.
    const head = (h) => `GET /headers HTTP/1.1\r\nHost: x\r\n${h}\r\nConnection: close\r\n\r\n`;
    let body = await rawJson(server.port, Buffer.from(head('X-Utf8: café'), 'utf8'));
    assert.equal(body.headers['x-utf8'], 'café');
    body = await rawJson(server.port, Buffer.from(head('X-Bin: a\xffb'), 'latin1'));
    assert.equal(body.headers['x-bin'], 'a\ufffdb');
  } finally {
    await server.close();
  }
});

test('a request that cannot be built is a 500 and leaves no pending exception', async () => {
  const { native } = await import('../lib/native.js');
  const { RawRequest } = await import('../lib/raw.js');
  const app = new Spikard();
  app.get('/x', () => 'x');
  const c = new TestClient(app);
  native.setRequestClass(class { constructor() { throw new Error('no request'); } });
  try {
    assert.equal((await c.get('/x')).status, 500);
    const server = await app.listen({ port: 0 });
    try {
      assert.equal((await fetch(`http://127.0.0.1:${server.port}/x`)).status, 500);
    } finally {
      await server.close();
    }
  } finally {
    native.setRequestClass(RawRequest);
  }
  assert.equal((await c.get('/x')).text(), 'x');
});
