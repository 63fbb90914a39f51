// fastify peer: same routes, body validated by fastify's schema (ajv).
import Fastify from 'fastify';

import { big } from './payload.mjs';

const app = Fastify({ logger: false });
app.get('/json', async () => ({ message: 'Hello, World!' }));
app.get('/big', async () => big);
app.post('/items', {
  schema: { body: {
    type: 'object',
    properties: { name: { type: 'string', minLength: 1 }, price: { type: 'number', minimum: 0 },
      tags: { type: 'array', items: { type: 'string' } } },
    required: ['name', 'price'],
  } },
}, async (req) => ({ ok: true, name: req.body.name }));
await app.listen({ port: Number(process.env.PORT || 0), host: '127.0.0.1' });
console.log(`listening on http://127.0.0.1:${app.server.address().port}`);
