// A small Spikard app for Node: a validated todo API (Zod schemas), served on Node's own
// event loop. Run: node examples/node/app.mjs [port]   (after packages/node/scripts/build.sh,
// or with SPIKARD_NODE_ADDON pointing at build/node/spikard.node).
import { z } from 'zod';
import { Spikard, HttpError, Response } from 'spikard';

const Todo = z.object({ title: z.string().min(1).max(200), done: z.boolean().default(false) });

export function createApp() {
  const app = new Spikard({ request_id: { enabled: true } });
  const todos = new Map();
  let next = 1;

  app.get('/health', () => ({ status: 'ok' }));

  app.get('/todos', { parameters: { query: { limit: { type: 'integer', minimum: 1, maximum: 100, default: 20 } } } },
    (req) => [...todos.values()].slice(0, req.query.limit));

  app.post('/todos', { body: Todo }, (req) => {
    const todo = { id: next++, ...req.json() };
    todos.set(todo.id, todo);
    return new Response(todo, { status: 201, headers: { Location: `/todos/${todo.id}` } });
  });

  app.get('/todos/{id:int}', (req) => {
    const todo = todos.get(req.params.id);
    if (!todo) throw new HttpError(404, `todo ${req.params.id} does not exist`);
    return todo;
  });

  app.delete('/todos/{id:int}', async (req) => {
    if (!todos.delete(req.params.id)) throw new HttpError(404, `todo ${req.params.id} does not exist`);
    return undefined; // 204
  });
  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await createApp().run({ port: Number(process.argv[2] ?? 8000) });
  console.log(`listening on http://127.0.0.1:${server.port}`);
}
