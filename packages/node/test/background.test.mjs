// Background tasks (req.background) through the core's pool: after the response, in spawn
// order, dropped with a failing handler, bounded (a full queue answers 503), spawned from
// hooks whatever the status — on the TestClient and both engines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Spikard, TestClient, BackgroundQueueFullError } from '../lib/index.js';

const tick = (ms = 20) => new Promise((r) => setTimeout(r, ms));
async function until(cond, ms = 3000) {
  for (let t = 0; t < ms && !cond(); t += 10) await tick(10);
  return cond();
}

function bgApp(log, config) {
  const app = new Spikard(config);
  app.post('/events', { body: { type: 'object', required: ['events'] } }, (req) => {
    for (const e of req.json().events) {
      req.background(async () => {
        await tick(e === 'slow' ? 30 : 1);
        if (e === 'bad') throw new Error('task failed on purpose');
        log.push(e);
      });
    }
    log.push('responded');
    return { queued: req.json().events.length };
  });
  app.post('/fails', (req) => {
    req.background(() => log.push('never'));
    throw new Error('handler failed');
  });
  app.get('/sync-task', (req) => { req.background(() => { log.push('sync task'); }); return 'ok'; });
  app.onError((req) => { req.background(() => log.push(`on_error ${req.path}`)); });
  return app;
}

async function exercise(send, log) {
  let r = await send('POST', '/events', { events: ['slow', 'bad', 'b'] });
  assert.equal(r.status, 200);
  assert.ok(await until(() => log.includes('b')));
  assert.deepEqual(log.splice(0), ['responded', 'slow', 'b'], 'in spawn order, after the response; a failing task does not stop the next');
  r = await send('POST', '/fails', {});
  assert.equal(r.status, 500);
  assert.ok(await until(() => log.includes('on_error /fails')));
  await tick(30);
  assert.ok(!log.includes('never'), 'the tasks of a failed handler are dropped');
  log.splice(0);
  r = await send('POST', '/events', { nope: 1 });
  assert.equal(r.status, 422);
  assert.ok(await until(() => log.includes('on_error /events')), 'hooks spawn whatever the status');
  log.splice(0);
  r = await send('GET', '/sync-task');
  assert.equal(r.status, 200);
  assert.ok(await until(() => log.includes('sync task')));
  log.splice(0);
}

test('TestClient: background tasks', async () => {
  const log = [];
  const c = new TestClient(bgApp(log));
  await exercise((m, p, json) => c.request(m, p, json ? { json } : {}), log);
});

for (const engine of ['node', 'threads'])
test(`${engine} engine: background tasks over real sockets`, async () => {
  const log = [];
  const server = await bgApp(log).listen({ port: 0, engine });
  try {
    await exercise((m, p, json) => fetch(`http://127.0.0.1:${server.port}${p}`, {
      method: m, headers: json ? { 'content-type': 'application/json' } : {}, body: json ? JSON.stringify(json) : undefined,
    }), log);
  } finally {
    await server.close();
  }
});

test('a full queue: BackgroundQueueFullError, answered 503 with Retry-After', async () => {
  const log = [];
  const c = new TestClient(bgApp(log, { background_tasks: { max_queue: 2 } }));
  const r = await c.post('/events', { json: { events: ['a', 'b', 'c'] } });
  assert.equal(r.status, 503);
  assert.equal(r.headers['retry-after'], '1');
  assert.match(r.json().type, /service-unavailable/);
  await tick(50);
  assert.deepEqual(log.filter((x) => x !== 'on_error /events'), [], 'the tasks spawned before are dropped');
  const app = new Spikard({ background_tasks: { max_queue: 1 } });
  let caught;
  app.get('/x', (req) => { req.background(() => {}); try { req.background(() => {}); } catch (e) { caught = e; } return 'handled'; });
  assert.equal((await new TestClient(app).get('/x')).text(), 'handled');
  assert.ok(caught instanceof BackgroundQueueFullError);
  const a = new Spikard();
  let te;
  a.get('/y', (req) => { try { req.background(3); } catch (e) { te = e; } return 'ok'; });
  assert.equal((await new TestClient(a).get('/y')).status, 200);
  assert.ok(te instanceof TypeError);
});
