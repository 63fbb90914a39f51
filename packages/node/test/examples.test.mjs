// Every app in examples/node/ runs: installed with npm like a user would (`spikard` from
// packages/node as a file: dependency), then exercised through TestClient and over a socket.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { installExample } from './support/example_deps.mjs';

const here = path.dirname(fileURLToPath(import.meta.url));
const dir = path.join(here, '..', '..', '..', 'examples', 'node');

test('examples/node/app.mjs: todo API through TestClient and a live server', async () => {
  installExample();
  const { createApp } = await import(path.join(dir, 'app.mjs'));
  const { TestClient } = await import(path.join(dir, 'node_modules', 'spikard', 'lib', 'index.js'));
  const c = new TestClient(createApp());
  let r = await c.post('/todos', { json: { title: 'write docs' } });
  assert.equal(r.status, 201);
  assert.equal(r.headers.location, '/todos/1');
  assert.deepEqual(r.json(), { id: 1, title: 'write docs', done: false });
  assert.ok(r.headers['x-request-id']);
  r = await c.post('/todos', { json: { title: '' } });
  assert.equal(r.status, 422);
  assert.deepEqual((await c.get('/todos?limit=5')).json(), [{ id: 1, title: 'write docs', done: false }]);
  assert.equal((await c.get('/todos?limit=0')).status, 422);
  assert.equal((await c.get('/todos/2')).status, 404);
  assert.equal((await c.delete('/todos/1')).status, 204);

  const server = await createApp().listen({ port: 0 });
  try {
    const res = await fetch(`http://127.0.0.1:${server.port}/health`);
    assert.deepEqual(await res.json(), { status: 'ok' });
  } finally {
    await server.close();
  }
});

test('examples/node/chat.mjs: dependencies, WebSockets with pub/sub, background tasks', async () => {
  installExample();
  const { createApp } = await import(path.join(dir, 'chat.mjs'));
  const { TestClient } = await import(path.join(dir, 'node_modules', 'spikard', 'lib', 'index.js'));
  const c = new TestClient(createApp());
  const ws = await c.websocket('/chat?user=ann');
  assert.deepEqual(await ws.receiveJson(), { joined: 'ann' });
  let r = await c.post('/messages', { json: { text: 'hello' }, headers: { 'x-user': 'bob' } });
  assert.deepEqual(r.json(), { user: 'bob', text: 'hello' });
  assert.deepEqual(await ws.receiveJson(), { user: 'bob', text: 'hello' });
  await ws.sendJson({ text: 'hi bob' });
  assert.deepEqual(await ws.receiveJson(), { user: 'ann', text: 'hi bob' });
  await ws.sendJson({ text: '' });
  assert.deepEqual(await ws.receiveJson(), { error: 'Message validation failed' });
  assert.equal((await c.post('/messages', { json: { text: '' } })).status, 422);
  assert.deepEqual((await c.get('/messages')).json(), [{ user: 'bob', text: 'hello' }]);
  for (let i = 0; i < 100 && (await c.get('/audit')).json().length === 0; i++) await new Promise((res) => setTimeout(res, 10));
  assert.deepEqual((await c.get('/audit')).json(), ['bob posted']);
  await ws.terminate();
});
