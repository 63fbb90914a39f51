// The todo app (app.mjs) under Vitest: TestClient sends requests through the app's in-memory
// core pipeline (the server's parser, router, validation and writer), no sockets.
// Run: npm test   (vitest run; `npm install` first)
import { describe, it, expect, beforeEach } from 'vitest';
import { TestClient } from 'spikard';
import { createApp } from './app.mjs';

describe('todo API', () => {
  let client: TestClient;
  beforeEach(() => { client = new TestClient(createApp()); });

  it('creates a todo (Zod body, default applied)', async () => {
    const res = await client.post('/todos', { json: { title: 'write docs' } });
    expect(res.status).toBe(201);
    expect(res.headers.location).toBe('/todos/1');
    expect(res.json()).toEqual({ id: 1, title: 'write docs', done: false });
    expect(res.headers['x-request-id']).toBeTruthy();
  });

  it('rejects an invalid body with 422 and the failing location', async () => {
    const res = await client.post('/todos', { json: { title: '' } });
    expect(res.status).toBe(422);
    expect(res.json().errors[0].loc).toEqual(['body', 'title']);
  });

  it('coerces and bounds query parameters', async () => {
    await client.post('/todos', { json: { title: 'a' } });
    await client.post('/todos', { json: { title: 'b' } });
    expect((await client.get('/todos', { query: { limit: 1 } })).json()).toHaveLength(1);
    expect((await client.get('/todos?limit=0')).status).toBe(422);
  });

  it('answers 404 and 204', async () => {
    expect((await client.get('/todos/9')).status).toBe(404);
    await client.post('/todos', { json: { title: 'a' } });
    expect((await client.delete('/todos/1')).status).toBe(204);
  });

  it('serves over a real socket too', async () => {
    const server = await createApp().listen({ port: 0 });
    try {
      const res = await fetch(`http://127.0.0.1:${server.port}/health`);
      expect(await res.json()).toEqual({ status: 'ok' });
    } finally {
      await server.close();
    }
  });
});
