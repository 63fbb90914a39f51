// Type-checked (not run) by types.test.mjs: the declarations accept the documented API and
// infer request bodies from Zod.
import { z } from 'zod';
import { Spikard, TestClient, Response, HttpError, type Request } from '../../lib/index.js';

const User = z.object({ name: z.string(), age: z.number().int().optional() });

const app = new Spikard({ request_id: { enabled: true } });
app.addRoute({ method: 'POST', path: '/users', handler_name: 'createUser', is_async: true,
  request_schema: User, response_schema: { type: 'object' } }, async (req) => {
  const body = req.json();
  const name: string = body.name;          // inferred from the Zod schema
  const age: number | undefined = body.age;
  // @ts-expect-error: name is a string, not a number (inference is real, not any)
  const wrong: number = body.name;
  void wrong;
  return { name, age };
});
app.get('/items/{id:int}', { parameters: { query: { limit: { type: 'integer', default: 10 } } } },
  (req: Request) => {
    if (!req.params.id) throw new HttpError(404, 'missing');
    return new Response({ id: req.params.id }, { status: 200, headers: { 'X-Id': String(req.params.id) } });
  });
app.post('/plain', { body: { type: 'object' } }, (req) => req.json());
app.delete('/x', () => undefined);
app.onRequest((req) => (req.headers['x-block'] ? Response.text('blocked', { status: 403 }) : undefined));

async function main(): Promise<void> {
  const client = new TestClient(app);
  const r = await client.post('/users', { json: { name: 'a' }, headers: { 'X-Test': '1' } });
  const status: number = r.status;
  const data = r.json<{ name: string }>();
  console.log(status, data.name, r.headers['content-type']);
  const server = await app.listen({ port: 0, engine: 'node' });
  await server.close();
  // @ts-expect-error: a handler is required
  app.get('/bad');
}
void main;
