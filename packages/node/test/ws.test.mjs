// WebSocket routes (app.websocket) over the core's WebSocket API: TestClient.websocket on the
// in-memory pipeline, and both engines over real sockets with the `ws` npm client
// (tests/package.json).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { Spikard, TestClient, Response, WebSocketHub, WebSocketHandshakeError } from '../lib/index.js';

const here = path.dirname(fileURLToPath(import.meta.url));
let WS = null;
try {
  WS = createRequire(path.join(here, '..', '..', '..', 'tests', 'package.json'))('ws');
} catch { /* skipped below */ }

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

function wsApp(log) {
  const app = new Spikard();
  const hub = new WebSocketHub();
  app.websocket('/echo', {
    open(ws, req) { ws.data.n = 0; log.push(`open ${req.query.who ?? '-'} ${ws.subprotocol}`); },
    message(ws, data, isBinary) { ws.data.n++; return isBinary ? data : `${data}#${ws.data.n}`; },
    close(ws, code, reason) { log.push(`close ${code} ${reason}`); },
  }, { subprotocols: ['chat.v2', 'chat.v1'], permessageDeflate: true });
  app.websocket('/json', async (ws, msg) => { await tick(1); return { got: msg }; },
    { schema: z.object({ a: z.number() }) });
  app.websocket('/raw-json', (ws, msg) => ({ type: typeof msg }), { json: true });
  app.websocket('/room', {
    open(ws) { hub.subscribe(ws, 'room'); },
    message(ws, m) { hub.publish('room', m); },
  });
  app.websocket('/bye', (ws, m) => { ws.close(4001, `bye ${m}`); });
  app.websocket('/throws', () => { throw new Error('boom'); });
  app.websocket('/rejects', async () => { throw new Error('boom'); });
  app.websocket('/open-throws', { open() { throw new Error('no'); }, message: () => 'unreachable' });
  app.websocket('/tiny', (ws, m) => m, { maxMessageBytes: 8 });
  app.websocket('/sendmany', (ws) => {
    ws.sendText('a');
    ws.sendBinary(Buffer.from([7]));
    ws.sendJson({ j: 1 });
    ws.send({ k: 2 });
    return undefined;
  });
  app.get('/plain', () => 'http still works');
  return app;
}

test('TestClient.websocket: echo, state, subprotocol, JSON schema, pub/sub, close codes, failures', async () => {
  const log = [];
  const c = new TestClient(wsApp(log));
  const ws = await c.websocket('/echo?who=ann', { subprotocols: ['mqtt', 'chat.v1'] });
  assert.equal(ws.subprotocol, 'chat.v1');
  await ws.send('hi');
  assert.equal(await ws.receiveText(), 'hi#1');
  await ws.send('again');
  assert.equal(await ws.receiveText(), 'again#2');
  await ws.send(Buffer.from([1, 2, 3]));
  assert.deepEqual([...(await ws.receiveBytes())], [1, 2, 3]);
  await ws.ping('hb');
  const pong = await ws.receive();
  assert.equal(pong.type, 'pong');
  assert.equal(pong.text(), 'hb');
  await ws.close(1000, 'done');
  const cf = await ws.receive();
  assert.equal(cf.type, 'close');
  assert.equal(cf.closeCode, 1000);
  await tick();
  assert.deepEqual(log, ['open ann chat.v1', 'close 1000 done']);

  const j = await c.websocket('/json');
  await j.sendJson({ a: 1 });
  assert.deepEqual(await j.receiveJson(), { got: { a: 1 } });
  await j.sendJson({ a: 'x' });
  assert.deepEqual(await j.receiveJson(), { error: 'Message validation failed' });
  await j.sendText('{not json');
  assert.deepEqual(await j.receiveJson(), { type: 'error', message: 'Invalid JSON' });
  await j.terminate();

  const rj = await c.websocket('/raw-json');
  await rj.sendText('[1]');
  assert.deepEqual(await rj.receiveJson(), { type: 'object' });
  await rj.terminate();

  const r1 = await c.websocket('/room');
  const r2 = await c.websocket('/room');
  await r1.send('to all');
  assert.equal(await r1.receiveText(), 'to all');
  assert.equal(await r2.receiveText(), 'to all');
  await r2.terminate();
  await tick();
  await r1.send('again'); // the closed subscriber is gone from the hub
  assert.equal(await r1.receiveText(), 'again');
  await r1.terminate();

  const b = await c.websocket('/bye');
  await b.send('now');
  const bf = await b.receive();
  assert.equal(bf.closeCode, 4001);
  assert.equal(bf.closeReason, 'bye now');

  for (const p of ['/throws', '/rejects', '/open-throws']) {
    const t = await c.websocket(p);
    if (p !== '/open-throws') await t.send('x');
    const f = await t.receive();
    assert.equal(f.type, 'close', p);
    assert.equal(f.closeCode, 1011, p);
  }

  const tiny = await c.websocket('/tiny');
  await tiny.send('0123456789');
  assert.equal((await tiny.receive()).closeCode, 1009);

  const many = await c.websocket('/sendmany');
  await many.send('go');
  assert.equal(await many.receiveText(), 'a');
  assert.deepEqual([...(await many.receiveBytes())], [7]);
  assert.deepEqual(await many.receiveJson(), { j: 1 });
  assert.deepEqual(await many.receiveJson(), { k: 2 });
  await many.terminate();
  await assert.rejects(many.send('late'), /closed/);

  await assert.rejects(c.websocket('/nowhere'), (e) => e instanceof WebSocketHandshakeError && e.response.status === 404);
  const { response, ws: none } = await c.websocketRaw('GET /echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n');
  assert.equal(response.status, 400);
  assert.equal(none, null);
  const raw = await c.websocket('/echo');
  await raw.sendRaw(Buffer.from([0x81, 0x05, 0x68, 0x65, 0x6c, 0x6c, 0x6f])); // unmasked: a protocol error
  assert.equal((await raw.receive()).closeCode, 1002);
  assert.equal((await c.get('/plain')).text(), 'http still works');
});

function connect(url, opts = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WS(url, opts.protocols ?? [], { perMessageDeflate: false, ...opts });
    const t = setTimeout(() => { ws.terminate(); reject(new Error('connect timeout')); }, 5000);
    ws.once('open', () => { clearTimeout(t); resolve(ws); });
    ws.once('error', (e) => { clearTimeout(t); reject(e); });
    ws.once('unexpected-response', (req, res) => { clearTimeout(t); reject(Object.assign(new Error('rejected'), { status: res.statusCode })); });
  });
}
const next = (ws) => new Promise((resolve, reject) => {
  const t = setTimeout(() => reject(new Error('no message')), 5000);
  ws.once('message', (data, isBinary) => { clearTimeout(t); resolve({ data, isBinary }); });
});
const closed = (ws) => new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));

for (const engine of ['node', 'threads'])
test(`${engine} engine: WebSockets over real sockets with the ws client`, { skip: !WS && 'ws (tests/package.json) not installed' }, async () => {
  const log = [];
  const server = await wsApp(log).listen({ port: 0, engine });
  const base = `ws://127.0.0.1:${server.port}`;
  try {
    const ws = await connect(`${base}/echo?who=bob`, { protocols: ['chat.v2'], perMessageDeflate: true });
    assert.equal(ws.protocol, 'chat.v2');
    assert.match(ws.extensions, /permessage-deflate/);
    ws.send('hello '.repeat(100));
    assert.equal((await next(ws)).data.toString(), `${'hello '.repeat(100)}#1`);
    ws.send(Buffer.from([9, 8, 7]));
    const bin = await next(ws);
    assert.equal(bin.isBinary, true);
    assert.deepEqual([...bin.data], [9, 8, 7]);
    const done = closed(ws);
    ws.close(1000, 'client done');
    assert.equal((await done).code, 1000);

    const j = await connect(`${base}/json`);
    j.send(JSON.stringify({ a: 2 }));
    assert.deepEqual(JSON.parse((await next(j)).data), { got: { a: 2 } });
    j.send(JSON.stringify({ a: 'no' }));
    assert.deepEqual(JSON.parse((await next(j)).data), { error: 'Message validation failed' });
    j.terminate();

    const [r1, r2] = await Promise.all([connect(`${base}/room`), connect(`${base}/room`)]);
    const got2 = next(r2);
    r1.send('broadcast');
    assert.equal((await next(r1)).data.toString(), 'broadcast');
    assert.equal((await got2).data.toString(), 'broadcast');
    r1.terminate();
    r2.terminate();

    const b = await connect(`${base}/bye`);
    const bc = closed(b);
    b.send('x');
    assert.deepEqual(await bc, { code: 4001, reason: 'bye x' });

    const t = await connect(`${base}/throws`);
    const tc = closed(t);
    t.send('x');
    assert.equal((await tc).code, 1011);

    await assert.rejects(connect(`${base}/nowhere`), (e) => e.status === 404);
    assert.equal(await (await fetch(`http://127.0.0.1:${server.port}/plain`)).text(), 'http still works');
    // Many clients at once, each with its own state.
    const clients = await Promise.all(Array.from({ length: 20 }, () => connect(`${base}/echo`)));
    const replies = await Promise.all(clients.map((c, i) => { const p = next(c); c.send(`m${i}`); return p; }));
    replies.forEach((r, i) => assert.equal(r.data.toString(), `m${i}#1`));
    clients.forEach((c) => c.terminate());
    await tick(50);
    assert.ok(log.includes('open bob chat.v2') && log.includes('close 1000 client done'));
  } finally {
    await server.close();
  }
});

test('bad WebSocket route input is a TypeError, never a crash', () => {
  const app = new Spikard();
  assert.throws(() => app.websocket('/a'), TypeError);
  assert.throws(() => app.websocket('/a', { message: 3 }), TypeError);
  assert.throws(() => app.websocket('/a', () => 1, { subprotocols: 'x' }), TypeError);
  assert.throws(() => app.websocket('/a', () => 1, { maxMessageBytes: -1 }), TypeError);
  assert.throws(() => app.websocket('/a', () => 1, { schema: { type: 'nonsense' } }));
  app.websocket('/ok', () => 1);
  assert.throws(() => app.websocket('/ok', () => 1));
});

test('TestClient: sockets waiting for frames never starve the requests that send them', async () => {
  const app = new Spikard();
  const hub = new WebSocketHub();
  app.websocket('/sub', { open(ws) { hub.subscribe(ws, 't'); } });
  app.post('/pub', (req) => ({ n: hub.publish('t', req.text()) }));
  const c = new TestClient(app);
  const socks = await Promise.all(Array.from({ length: 8 }, () => c.websocket('/sub')));
  const waiting = socks.map((s) => s.receiveText({ timeout: 3000 })); // more than the pool's 4 threads
  const t0 = Date.now();
  const r = await c.post('/pub', { body: 'news' });
  assert.deepEqual(r.json(), { n: 8 });
  assert.deepEqual(await Promise.all(waiting), Array(8).fill('news'));
  assert.ok(Date.now() - t0 < 2500);
  await Promise.all(socks.map((s) => s.terminate()));
});

test('the upgrade goes through the pipeline: hooks refuse it, origins and required subprotocols are enforced', async () => {
  const app = new Spikard();
  app.onRequest((req) => (req.path === '/private' && req.headers.authorization !== 'Bearer ok'
    ? new Response({ error: 'unauthorized' }, { status: 401 }) : undefined));
  app.websocket('/private', (ws, m) => m, { json: false });
  app.websocket('/origin', (ws, m) => m, { origins: ['https://good.example'] });
  app.websocket('/proto', (ws, m) => m, { subprotocols: ['v1'], requireSubprotocol: true });
  const c = new TestClient(app);
  await assert.rejects(c.websocket('/private'), (e) => e.response.status === 401 && e.response.json().error === 'unauthorized');
  const ok = await c.websocket('/private', { headers: { Authorization: 'Bearer ok' } });
  await ok.send('in');
  assert.equal(await ok.receiveText(), 'in');
  await ok.terminate();
  await assert.rejects(c.websocket('/origin', { headers: { Origin: 'https://evil.example' } }), (e) => e.response.status === 403);
  (await c.websocket('/origin', { headers: { Origin: 'https://good.example' } })).terminate();
  await assert.rejects(c.websocket('/proto'), (e) => e.response.status === 400);
  const p = await c.websocket('/proto', { subprotocols: ['v0', 'v1'] });
  assert.equal(p.subprotocol, 'v1');
  await p.terminate();
});

test('a handshake handler decides the upgrade: accept, a subprotocol, refuse, any answer; TestClient and both engines', async () => {
  const app = new Spikard();
  const opened = [];
  app.websocket('/auth', {
    async handshake(req) {
      await tick(1);
      if (req.query.token === 'secret') return true;
      if (req.query.token === 'teapot') return new Response({ error: 'not here' }, { status: 418 });
      return false;
    },
    open(ws, req) { opened.push(req.query.token); },
    message: (ws, m) => `echo ${m}`,
  });
  app.websocket('/pick', {
    handshake: (req) => req.query.proto,
    message: (ws) => ws.subprotocol ?? '-',
  });
  app.websocket('/throws', { handshake() { throw new Error('secret detail'); }, message: (ws, m) => m });
  const c = new TestClient(app);
  await assert.rejects(c.websocket('/auth?token=wrong'), (e) => e.response.status === 403);
  await assert.rejects(c.websocket('/auth?token=teapot'), (e) => e.response.status === 418 && e.response.json().error === 'not here');
  await assert.rejects(c.websocket('/throws'), (e) => e.response.status === 500 && !e.response.text().includes('secret'));
  assert.deepEqual(opened, []);
  const ws = await c.websocket('/auth?token=secret');
  await ws.send('hi');
  assert.equal(await ws.receiveText(), 'echo hi');
  await ws.terminate();
  assert.deepEqual(opened, ['secret']);
  const p = await c.websocket('/pick?proto=graphql-ws', { subprotocols: ['mqtt', 'graphql-ws'] });
  assert.equal(p.subprotocol, 'graphql-ws');
  await p.send('x');
  assert.equal(await p.receiveText(), 'graphql-ws');
  await p.terminate();
  // Not offered by the client: the accept fails, answered 500.
  await assert.rejects(c.websocket('/pick?proto=wamp', { subprotocols: ['mqtt'] }), (e) => e.response.status === 500);
  if (!WS) return;
  for (const engine of ['node', 'threads']) {
    const server = await app.listen({ port: 0, engine });
    try {
      const refused = await new Promise((resolve) => {
        const s = new WS(`ws://127.0.0.1:${server.port}/auth?token=wrong`);
        s.on('unexpected-response', (req, res) => { resolve(res.statusCode); s.terminate(); });
        s.on('open', () => { resolve('opened'); s.terminate(); });
        s.on('error', () => {});
      });
      assert.equal(refused, 403, engine);
      const got = await new Promise((resolve, reject) => {
        const s = new WS(`ws://127.0.0.1:${server.port}/auth?token=secret`);
        s.on('open', () => s.send('live'));
        s.on('message', (m) => { resolve(String(m)); s.close(); });
        s.on('error', reject);
      });
      assert.equal(got, 'echo live', engine);
    } finally {
      await server.close();
    }
  }
});
