// Spikard-Node peer: GET /json and a validated POST /items (the core validates the body).
// ENGINE=node (default: Node's loop, no thread hop) or ENGINE=threads.
// SPIKARD_LIB: another copy of lib/index.js (run.sh's spikard-base row: before/after in one run).
const { Spikard } = await import(process.env.SPIKARD_LIB || '../../packages/node/lib/index.js');

import { big } from './payload.mjs';

const app = new Spikard();
app.get('/json', () => ({ message: 'Hello, World!' }));
app.get('/big', () => big);
app.post('/items', {
  body: {
    type: 'object',
    properties: { name: { type: 'string', minLength: 1 }, price: { type: 'number', minimum: 0 },
      tags: { type: 'array', items: { type: 'string' } } },
    required: ['name', 'price'],
  },
}, (req) => ({ ok: true, name: req.json().name }));
const s = await app.listen({ port: Number(process.env.PORT || 0), engine: process.env.ENGINE || 'node' });
console.log(`listening on http://127.0.0.1:${s.port}`);
