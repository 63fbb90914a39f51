// The public API on the in-memory pipeline: routes, contracts (JSON Schema and Zod), request
// accessors, return values, errors, middleware configuration.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { z } from 'zod';
import { Spikard, TestClient, Response, HttpError } from '../lib/index.js';

test('plain values, strings, bytes, undefined and Response objects', async () => {
  const app = new Spikard();
  app.get('/json', () => ({ message: 'hi', n: [1, 2] }));
  app.get('/text', () => 'plain');
  app.get('/bytes', () => Buffer.from([0, 1, 2]));
  app.get('/none', () => undefined);
  app.post('/created', () => new Response({ id: 7 }, { status: 201, headers: { 'X-Id': '7' } }));
  app.get('/cookies', () => new Response('ok', { headers: [['Set-Cookie', 'a=1'], ['Set-Cookie', 'b=2']] }));
  app.get('/fetch', () => new globalThis.Response('from fetch', { status: 202 }));
  const c = new TestClient(app);
  let r = await c.get('/json');
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-type'], 'application/json');
  assert.deepEqual(r.json(), { message: 'hi', n: [1, 2] });
  r = await c.get('/text');
  assert.equal(r.text(), 'plain');
  assert.match(r.headers['content-type'], /^text\/plain/);
  r = await c.get('/bytes');
  assert.deepEqual([...r.body], [0, 1, 2]);
  r = await c.get('/none');
  assert.equal(r.status, 204);
  r = await c.post('/created');
  assert.equal(r.status, 201);
  assert.equal(r.headers['x-id'], '7');
  assert.deepEqual(r.json(), { id: 7 });
  r = await c.get('/cookies');
  assert.deepEqual(r.headerList.filter(([k]) => k === 'set-cookie').map(([, v]) => v), ['a=1', 'b=2']);
  r = await c.get('/fetch');
  assert.equal(r.status, 202);
  assert.equal(r.text(), 'from fetch');
});

test('seeds form: addRoute with metadata, async handler, raw JSON Schema', async () => {
  const app = new Spikard();
  app.addRoute({
    method: 'POST', path: '/users', handler_name: 'createUser', is_async: true,
    request_schema: { type: 'object', properties: { name: { type: 'string', minLength: 1 } },
      required: ['name'] },
    response_schema: { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] },
  }, async (req) => {
    await new Promise((r) => setTimeout(r, 5));
    return { id: 1, name: req.json().name };
  });
  assert.deepEqual(app.routes, [{ method: 'POST', path: '/users', handler_name: 'createUser' }]);
  const c = new TestClient(app);
  let r = await c.post('/users', { json: { name: 'ada' } });
  assert.equal(r.status, 200);
  assert.deepEqual(r.json(), { id: 1, name: 'ada' });
  r = await c.post('/users', { json: { name: '' } });
  assert.equal(r.status, 422);
  const p = r.json();
  assert.equal(p.status, 422);
  assert.deepEqual(p.errors.map((e) => e.loc), [['body', 'name']]);
});

test('response schema: a non-conforming body is never sent', async () => {
  const app = new Spikard();
  app.get('/bad', { response_schema: z.object({ id: z.number().int() }) }, () => ({ id: 'x' }));
  const r = await new TestClient(app).get('/bad');
  assert.equal(r.status, 500);
  assert.match(r.json().type, /response-validation-error/);
});

test('Zod body and parameter schemas, coerced values on the request', async () => {
  const app = new Spikard();
  const Item = z.object({ name: z.string(), price: z.number().positive(), tags: z.array(z.string()).optional() });
  app.post('/items/{id:int}', {
    body: Item,
    parameters: {
      query: z.object({ limit: z.number().int().max(100), verbose: z.boolean() }).partial({ verbose: true }),
      headers: { 'X-Token': { type: 'string', minLength: 3 } },
    },
  }, (req) => ({ id: req.params.id, limit: req.query.limit, token: req.headers['x-token'], item: req.json() }));
  const c = new TestClient(app);
  let r = await c.post('/items/42?limit=10', { json: { name: 'pen', price: 2.5 }, headers: { 'X-Token': 'abcd' } });
  assert.equal(r.status, 200, r.text());
  assert.deepEqual(r.json(), { id: 42, limit: 10, token: 'abcd', item: { name: 'pen', price: 2.5 } });
  r = await c.post('/items/42?limit=1', { json: { name: 'pen', price: -1 }, headers: { 'X-Token': 'abcd' } });
  assert.equal(r.status, 422);
  assert.deepEqual(r.json().errors.map((e) => e.loc.join('.')), ['body.price']);
  r = await c.post('/items/42?limit=1000', { json: { name: 'pen', price: 1 }, headers: { 'X-Token': 'ab' } });
  assert.equal(r.status, 422);
  const locs = r.json().errors.map((e) => e.loc.join('.')).sort();
  assert.deepEqual(locs, ['headers.x-token', 'query.limit']);
  r = await c.post('/items/x?limit=1', { json: { name: 'pen', price: 1 }, headers: { 'X-Token': 'abcd' } });
  assert.equal(r.status, 422);
});

test('request accessors: params, query, headers, cookies, body bytes', async () => {
  const app = new Spikard();
  app.put('/echo/{name}', (req) => ({
    method: req.method, path: req.path, name: req.params.name, q: req.query,
    agent: req.headers['x-agent'], session: req.cookies.session, len: req.body.length, text: req.text(),
  }));
  const r = await new TestClient(app).put('/echo/b%20c', {
    query: { a: '1', tag: ['x', 'y'] }, headers: { 'X-Agent': 't' }, cookies: { session: 's1' }, body: 'hello',
  });
  assert.deepEqual(r.json(), { method: 'PUT', path: '/echo/b c', name: 'b c', q: { a: '1', tag: ['x', 'y'] },
    agent: 't', session: 's1', len: 5, text: 'hello' });
});

test('errors: thrown, rejected, HttpError, unserializable, bad headers — 500/4xx problems, no crash', async () => {
  const app = new Spikard();
  app.get('/throw', () => { throw new Error('secret detail'); });
  app.get('/reject', async () => { throw new TypeError('nope'); });
  app.get('/http', () => { throw new HttpError(409, 'already there', { extra: { id: 3 } }); });
  app.get('/bigint', () => ({ n: 1n }));
  app.get('/badheader', () => new Response('x', { headers: { 'Bad Name': 'v' } }));
  app.get('/nonerror', () => Promise.reject('a string'));
  const c = new TestClient(app);
  for (const p of ['/throw', '/reject', '/bigint', '/badheader', '/nonerror']) {
    const r = await c.get(p);
    assert.equal(r.status, 500, p);
    assert.match(r.headers['content-type'], /problem\+json/, p);
    assert.ok(!r.text().includes('secret'), p);
  }
  const r = await c.get('/http');
  assert.equal(r.status, 409);
  assert.deepEqual(r.json(), { type: 'https://spikard.dev/errors/conflict', title: 'Conflict', status: 409,
    detail: 'already there', id: 3 });
});

test('routing errors come from the core: 404, 405 with Allow, HEAD from GET', async () => {
  const app = new Spikard();
  app.get('/only-get', () => ({ ok: true }));
  const c = new TestClient(app);
  assert.equal((await c.get('/missing')).status, 404);
  const r = await c.delete('/only-get');
  assert.equal(r.status, 405);
  assert.match(r.headers.allow, /GET/);
  const h = await c.head('/only-get');
  assert.equal(h.status, 200);
  assert.equal(h.body.length, 0);
});

test('registration errors are thrown with the core reason', () => {
  const app = new Spikard();
  app.get('/a/{id}', () => 1);
  assert.throws(() => app.get('/a/{id}', () => 2), /SPK_EEXIST|exist/i);
  assert.throws(() => app.post('/b', { body: { type: 'nonsense-type' } }, () => 1));
  assert.throws(() => app.get('/c', 'not a function'), TypeError);
  assert.throws(() => app.configure({ compression: { gzip: 'maybe' } }));
});

test('middleware configuration: request ids and compression', async () => {
  const app = new Spikard({ request_id: { enabled: true }, compression: { gzip: true, min_size: 10 } });
  app.get('/big', () => ({ text: 'x'.repeat(2000) }));
  const r = await new TestClient(app).get('/big', { headers: { 'Accept-Encoding': 'gzip' } });
  assert.equal(r.status, 200);
  assert.equal(r.headers['content-encoding'], 'gzip');
  assert.ok(r.headers['x-request-id']);
});

test('many concurrent async requests through one client', async () => {
  const app = new Spikard();
  app.get('/n/{i:int}', async (req) => { await new Promise((r) => setImmediate(r)); return { i: req.params.i }; });
  const c = new TestClient(app);
  const rs = await Promise.all(Array.from({ length: 50 }, (_, i) => c.get(`/n/${i}`)));
  assert.deepEqual(rs.map((r) => r.json().i), Array.from({ length: 50 }, (_, i) => i));
});

test('request-phase hooks: order, short-circuit (sync and async), failures; node and threads engines', async () => {
  const calls = [];
  const app = new Spikard();
  app.onRequest((req) => { calls.push(`onRequest ${req.path}`); });
  app.preValidation(async (req) => {
    calls.push('preValidation');
    if (req.headers['x-limit'] === 'hit') return new Response({ error: 'slow down' }, { status: 429, headers: { 'Retry-After': '60' } });
  });
  app.preHandler(async (req) => {
    await new Promise((r) => setTimeout(r, 1));
    calls.push(`preHandler ${req.validated?.body?.n}`);
    if (req.headers.authorization !== 'Bearer ok') throw new HttpError(401, 'no token');
  });
  app.post('/n', { body: { type: 'object', properties: { n: { type: 'integer' } }, required: ['n'] } }, (req) => {
    calls.push('handler');
    return { n: req.json().n };
  });
  const c = new TestClient(app);
  let r = await c.post('/n', { json: { n: 3 }, headers: { Authorization: 'Bearer ok' } });
  assert.equal(r.status, 200);
  assert.deepEqual(calls.splice(0), ['onRequest /n', 'preValidation', 'preHandler 3', 'handler']);
  r = await c.post('/n', { json: { n: 3 }, headers: { 'X-Limit': 'hit' } });
  assert.equal(r.status, 429);
  assert.equal(r.headers['retry-after'], '60');
  assert.deepEqual(calls.splice(0), ['onRequest /n', 'preValidation']);
  r = await c.post('/n', { json: { n: 3 } });
  assert.equal(r.status, 401);
  r = await c.post('/n', { json: { n: 'x' }, headers: { Authorization: 'Bearer ok' } });
  assert.equal(r.status, 422); // validation runs between preValidation and preHandler
  assert.deepEqual(calls.splice(0).slice(-2), ['onRequest /n', 'preValidation']);
  for (const engine of ['node', 'threads']) {
    const server = await app.listen({ port: 0, engine });
    try {
      const base = `http://127.0.0.1:${server.port}/n`;
      const ok = await fetch(base, { method: 'POST', body: '{"n":5}', headers: { 'content-type': 'application/json', authorization: 'Bearer ok' } });
      assert.deepEqual(await ok.json(), { n: 5 });
      const limited = await fetch(base, { method: 'POST', body: '{"n":5}', headers: { 'content-type': 'application/json', 'x-limit': 'hit' } });
      assert.equal(limited.status, 429);
    } finally {
      await server.close();
    }
  }
  assert.throws(() => app.addHook('onSomething', () => {}), TypeError);
});

test('setLimits: the core answers 431 and 414 past the configured limits', async () => {
  const app = new Spikard();
  app.setLimits({ max_header_bytes: 512, max_request_line: 200 });
  assert.throws(() => app.setLimits({ max_header_bytes: -1 }), RangeError);
  app.get('/x', () => 'ok');
  const c = new TestClient(app);
  assert.equal((await c.get('/x')).status, 200);
  assert.equal((await c.get('/x', { headers: { 'X-Big': 'a'.repeat(1000) } })).status, 431);
  assert.equal((await c.get(`/x?q=${'b'.repeat(300)}`)).status, 414);
});

test('response-phase hooks: onResponse edits every response, onError sees core errors; all engines', async () => {
  const app = new Spikard();
  app.onResponse((req, res) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Seen-Status', res.status);
    if (req.path === '/rewrite') { res.status = 201; res.setBody({ rewritten: true }); }
  });
  app.onError((req, res) => { res.setHeader('X-Error-Hook', String(res.status)); });
  app.get('/ok', () => ({ ok: true }));
  app.get('/rewrite', () => ({ ok: true }));
  app.get('/fail', () => { throw new Error('x'); });
  const c = new TestClient(app);
  let r = await c.get('/ok');
  assert.equal(r.headers['x-content-type-options'], 'nosniff');
  assert.equal(r.headers['x-seen-status'], '200');
  assert.equal(r.headers['x-error-hook'], undefined);
  r = await c.get('/rewrite');
  assert.equal(r.status, 201);
  assert.deepEqual(r.json(), { rewritten: true });
  r = await c.get('/missing');
  assert.equal(r.status, 404);
  assert.equal(r.headers['x-error-hook'], '404');
  for (const engine of ['node', 'threads']) {
    const server = await app.listen({ port: 0, engine });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/ok`);
      assert.equal(res.headers.get('x-content-type-options'), 'nosniff', engine);
      const miss = await fetch(`http://127.0.0.1:${server.port}/missing`);
      assert.equal(miss.headers.get('x-error-hook'), '404', engine);
    } finally {
      await server.close();
    }
  }
});

test('async response-phase hooks suspend only their own response; all engines', async () => {
  const app = new Spikard();
  let release;
  let waiting = false;
  app.onResponse(async (req, res) => {
    if (req.path === '/slow') {
      waiting = true;
      await new Promise((r) => { release = r; });
    }
    if (req.path === '/reject') throw new Error('audit store down');
    await new Promise((r) => setImmediate(r));
    res.setHeader('X-Audited', req.path);
  });
  app.onResponse((req, res) => { res.setHeader('X-After', res.header('x-audited') ?? '-'); });
  app.onError(async (req, res) => { await new Promise((r) => setImmediate(r)); res.setHeader('X-Error-Hook', String(res.status)); });
  app.get('/slow', () => ({ slow: true }));
  app.get('/fast', () => ({ fast: true }));
  app.get('/reject', () => ({ reject: false }));
  const c = new TestClient(app);
  let r = await c.get('/fast');
  assert.equal(r.status, 200);
  assert.equal(r.headers['x-audited'], '/fast');
  assert.equal(r.headers['x-after'], '/fast');
  r = await c.get('/missing');
  assert.equal(r.status, 404);
  assert.equal(r.headers['x-error-hook'], '404');
  r = await c.get('/reject');
  assert.equal(r.status, 500);
  assert.equal(r.headers['x-audited'], undefined);
  for (const engine of ['node', 'threads']) {
    const server = await app.listen({ port: 0, engine });
    try {
      waiting = false;
      const slow = fetch(`http://127.0.0.1:${server.port}/slow`);
      for (let i = 0; i < 200 && !waiting; i++) await new Promise((res) => setTimeout(res, 10));
      assert.ok(waiting, engine);
      // The slow response's hook is pending: the same server answers another request meanwhile.
      const fast = await fetch(`http://127.0.0.1:${server.port}/fast`);
      assert.equal(fast.headers.get('x-audited'), '/fast', engine);
      release();
      const done = await slow;
      assert.equal(done.status, 200, engine);
      assert.equal(done.headers.get('x-after'), '/slow', engine);
      assert.deepEqual(await done.json(), { slow: true }, engine);
    } finally {
      await server.close();
    }
  }
});

test('a thrown error or rejected promise fails the handler in the core: 500, onError (not onResponse); all engines', async () => {
  const app = new Spikard();
  const seen = [];
  app.onResponse((req) => { seen.push(`onResponse ${req.path}`); });
  app.onError((req, res) => { seen.push(`onError ${req.path} ${res.status}`); });
  app.get('/throw', () => { throw new Error('secret detail'); });
  app.get('/reject', async () => { await new Promise((r) => setImmediate(r)); throw new Error('secret detail'); });
  app.get('/http', () => { throw new HttpError(409, 'taken'); });
  const c = new TestClient(app);
  for (const path of ['/throw', '/reject']) {
    seen.length = 0;
    const r = await c.get(path);
    assert.equal(r.status, 500, path);
    assert.match(r.headers['content-type'], /problem\+json/, path);
    assert.ok(!r.text().includes('secret'), path);
    assert.deepEqual(seen, [`onError ${path} 500`], path);
  }
  seen.length = 0;
  const r = await c.get('/http');
  assert.equal(r.status, 409); // an HttpError is an answer, not a failure
  assert.deepEqual(seen, ['onResponse /http']);
  for (const engine of ['node', 'threads']) {
    const server = await app.listen({ port: 0, engine });
    try {
      for (const path of ['/throw', '/reject']) {
        seen.length = 0;
        const res = await fetch(`http://127.0.0.1:${server.port}${path}`);
        assert.equal(res.status, 500, `${engine} ${path}`);
        await res.arrayBuffer();
        assert.deepEqual(seen, [`onError ${path} 500`], `${engine} ${path}`);
      }
    } finally {
      await server.close();
    }
  }
});

test('a failing response hook fails the request with a 500, never a crash', async () => {
  const app = new Spikard();
  app.onResponse(() => { throw new Error('hook bug'); });
  app.get('/ok', () => ({ ok: true }));
  const r = await new TestClient(app).get('/ok');
  assert.equal(r.status, 500);
});

test('streamed responses and SSE: async iterables, NDJSON, events; through TestClient and a live server', async () => {
  const app = new Spikard();
  app.get('/ndjson', async function* () {
    for (let i = 0; i < 3; i++) { await new Promise((r) => setImmediate(r)); yield { i }; }
  });
  app.get('/text', () => Response.stream(['a', 'b', Buffer.from('c')], { headers: { 'Content-Type': 'text/plain' } }));
  app.get('/events', () => Response.sse((async function* () {
    yield 'hello';
    yield { event: 'tick', id: 2, data: { n: 2 } };
  })()));
  app.get('/broken', () => Response.stream((async function* () { yield 'part'; throw new Error('producer failed'); })()));
  const c = new TestClient(app);
  let r = await c.get('/ndjson');
  assert.equal(r.status, 200);
  assert.equal(r.text(), '{"i":0}\n{"i":1}\n{"i":2}\n');
  r = await c.get('/text');
  assert.equal(r.text(), 'abc');
  assert.equal(r.headers['content-type'], 'text/plain');
  r = await c.get('/events');
  assert.equal(r.headers['content-type'], 'text/event-stream');
  assert.match(r.text(), /data: hello\n\n/);
  assert.match(r.text(), /event: tick\nid: 2\ndata: \{"n":2\}\n\n/);
  for (const engine of ['node', 'threads']) {
    const server = await app.listen({ port: 0, engine });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/ndjson`);
      assert.equal(await res.text(), '{"i":0}\n{"i":1}\n{"i":2}\n', engine);
      await assert.rejects(fetch(`http://127.0.0.1:${server.port}/broken`).then((x) => x.text()), engine);
    } finally {
      await server.close();
    }
  }
});
