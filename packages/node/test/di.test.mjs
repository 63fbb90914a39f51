// Dependency injection (app.provide, route `dependencies`/`overrides`, hook dependencies) through
// the core's container: scopes, async and generator factories, cleanups, failures — on the
// TestClient and on both engines over real sockets.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Spikard, TestClient, Provide, Value } from '../lib/index.js';

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));

function diApp(events) {
  const app = new Spikard();
  let n = 0;
  app.provide('config', { url: 'pg://x' });
  app.provide('fn', new Value(() => 'a function value'));
  app.provide('db', async ({ config }) => { await tick(2); return { url: config.url, id: ++n }; },
    { dependsOn: ['config'] });
  app.provide('single', () => ({ s: ++n }), { singleton: true });
  app.provide('fresh', () => ++n, { scope: 'transient' });
  app.provide('sess', function* ({ db }) {
    events.push(`open ${db.id}`);
    try { yield { db: db.id }; } finally { events.push(`close ${db.id}`); }
  }, { dependsOn: ['db'] });
  app.provide('agen', async function* () { events.push('aopen'); yield 'A'; events.push('aclose'); });
  app.provide('withCleanup', () => 'res', { cleanup: (v) => events.push(`cleanup ${v}`) });
  app.provide('boom', () => { throw new Error('nope'); });
  app.provide('aboom', async () => { throw new Error('async nope'); });
  app.provide('needsBoom', ({ boom }) => boom, { dependsOn: ['boom'] });
  app.provide('cycA', ({ cycB }) => cycB, { dependsOn: ['cycB'] });
  app.provide('cycB', ({ cycA }) => cycA, { dependsOn: ['cycA'] });
  app.provide('whoami', (_deps, req) => req.headers['x-user'] ?? 'anon');
  app.get('/a', { dependencies: ['db', 'single', 'sess', 'fresh', 'config', 'fn'] },
    (req) => ({ ...req.dependencies, fn: req.dependencies.fn() }));
  app.get('/gen', { dependencies: ['agen', 'withCleanup'] }, (req) => req.dependencies);
  app.get('/b', { dependencies: ['boom'] }, (req) => req.dependencies);
  app.get('/c', { dependencies: ['aboom'] }, (req) => req.dependencies);
  app.get('/nested', { dependencies: ['needsBoom'] }, (req) => req.dependencies);
  app.get('/d', { dependencies: ['missing'] }, (req) => req.dependencies);
  app.get('/cycle', { dependencies: ['cycA'] }, (req) => req.dependencies);
  app.get('/e', { dependencies: ['config'], overrides: { config: { url: 'over' } } }, (req) => req.dependencies);
  app.get('/f', { dependencies: ['config'], overrides: { config: new Provide(async () => ({ url: 'factory' })) } },
    (req) => req.dependencies);
  app.get('/who', { dependencies: ['whoami'] }, (req) => req.dependencies);
  app.get('/none', (req) => req.dependencies);
  app.preHandler((req) => {
    if (req.path === '/hooked' && req.dependencies.whoami === 'anon') return { hook: 'refused' };
    return undefined;
  }, { dependencies: ['whoami'] });
  app.get('/hooked', () => ({ hook: 'passed' }));
  return app;
}

async function exercise(get, events) {
  let r = await get('/a');
  assert.equal(r.status, 200);
  const a = await r.json();
  assert.deepEqual(a.config, { url: 'pg://x' });
  assert.equal(a.fn, 'a function value');
  assert.equal(a.sess.db, a.db.id);
  const r2 = await (await get('/a')).json();
  assert.equal(r2.single.s, a.single.s, 'a singleton is resolved once');
  assert.notEqual(r2.db.id, a.db.id, 'a request-scoped value is resolved per request');
  await tick();
  assert.ok(events.includes(`close ${a.db.id}`), 'the generator cleanup runs after the response');
  r = await get('/gen');
  assert.deepEqual(await r.json(), { agen: 'A', withCleanup: 'res' });
  await tick();
  assert.ok(events.includes('aclose') && events.includes('cleanup res'));
  for (const p of ['/b', '/c', '/nested']) {
    r = await get(p);
    assert.equal(r.status, 503, p);
    const body = await r.json();
    assert.match(body.type, /dependency-error/);
  }
  r = await get('/d');
  assert.equal(r.status, 500);
  assert.match((await r.json()).detail, /not found/);
  r = await get('/cycle');
  assert.equal(r.status, 500);
  assert.deepEqual(await (await get('/e')).json(), { config: { url: 'over' } });
  assert.deepEqual(await (await get('/f')).json(), { config: { url: 'factory' } });
  assert.deepEqual(await (await get('/who', { 'x-user': 'ann' })).json(), { whoami: 'ann' });
  assert.deepEqual(await (await get('/none')).json(), {});
  assert.deepEqual(await (await get('/hooked')).json(), { hook: 'refused' });
  assert.deepEqual(await (await get('/hooked', { 'x-user': 'bob' })).json(), { hook: 'passed' });
}

test('TestClient: scopes, async/generator factories, cleanups, overrides, failures as problem details', async () => {
  const events = [];
  const c = new TestClient(diApp(events));
  await exercise(async (p, headers) => {
    const r = await c.get(p, { headers });
    return { status: r.status, json: async () => r.json() };
  }, events);
});

for (const engine of ['node', 'threads'])
test(`${engine} engine: dependencies over real sockets`, async () => {
  const events = [];
  const server = await diApp(events).listen({ port: 0, engine });
  try {
    await exercise((p, headers) => fetch(`http://127.0.0.1:${server.port}${p}`, { headers }), events);
  } finally {
    await server.close();
  }
});

test('bad provider input is a TypeError, never a crash', () => {
  const app = new Spikard();
  assert.throws(() => app.provide('', 1), TypeError);
  assert.throws(() => app.provide(7, 1), TypeError);
  assert.throws(() => app.provide('x', () => 1, { dependsOn: 'y' }), TypeError);
  assert.throws(() => app.provide('x', () => 1, { scope: 'weekly' }), TypeError);
  assert.throws(() => app.provide('x', () => 1, { cleanup: 3 }), TypeError);
  assert.throws(() => app.get('/x', { dependencies: [1] }, () => 1), TypeError);
  app.get('/ok', () => 'ok');
  new TestClient(app); // frozen
  assert.throws(() => app.provide('late', 1), /FROZEN|frozen/i);
});
