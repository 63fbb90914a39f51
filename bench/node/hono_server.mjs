// hono peer (@hono/node-server): same routes; the POST body checked by hand (hono has no
// built-in JSON Schema validator; the checks match the schema).
import { Hono } from 'hono';
import { serve } from '@hono/node-server';
import { big } from './payload.mjs';

const app = new Hono();
app.get('/json', (c) => c.json({ message: 'Hello, World!' }));
app.get('/big', (c) => c.json(big));
app.post('/items', async (c) => {
  let v;
  try { v = await c.req.json(); } catch { v = null; }
  const ok = v && typeof v === 'object' && typeof v.name === 'string' && v.name.length > 0 &&
    typeof v.price === 'number' && v.price >= 0 &&
    (v.tags === undefined || (Array.isArray(v.tags) && v.tags.every((t) => typeof t === 'string')));
  return ok ? c.json({ ok: true, name: v.name }) : c.json({ error: 'invalid' }, 422);
});
const server = serve({ fetch: app.fetch, port: Number(process.env.PORT || 0), hostname: '127.0.0.1' }, (info) =>
  console.log(`listening on http://127.0.0.1:${info.port}`));
void server;
