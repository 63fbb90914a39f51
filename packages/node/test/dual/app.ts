// One TypeScript file compiled twice by test/dual.test.mjs: in an ESM project (import resolves
// lib/index.js with lib/index.d.ts) and in a CommonJS one (tsc emits require('spikard'), which
// resolves dist/index.cjs with dist/index.d.cts). Both runs must print the same answers.
import { Spikard, TestClient, HttpError, Response, type Request } from 'spikard';

type Item = { name: string; price: number };

const app = new Spikard();
app.post('/items', {
  body: { type: 'object', properties: { name: { type: 'string' }, price: { type: 'number' } },
    required: ['name', 'price'] },
}, (req: Request) => {
  const item = req.json() as Item;
  return new Response({ ...item, id: 1 }, { status: 201 });
});
app.get('/items/{id:int}', (req: Request) => {
  const id: number = req.params.id;
  if (id !== 1) throw new HttpError(404, 'no such item');
  return { id };
});

async function main(): Promise<void> {
  const client = new TestClient(app);
  const created = await client.post('/items', { json: { name: 'pen', price: 2 } });
  const found = await client.get('/items/1');
  const missing = await client.get('/items/2');
  const invalid = await client.post('/items', { json: { name: 'pen' } });
  const status: number = created.status;
  console.log(JSON.stringify({
    created: [status, created.json<Item & { id: number }>()],
    found: [found.status, found.json()],
    missing: missing.status,
    invalid: invalid.status,
  }));
}

main().catch((err: unknown) => { console.error(err); process.exitCode = 1; });
