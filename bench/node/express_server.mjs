// express peer: same routes; express.json() parses, the checks match the schema.
import express from 'express';
import { big } from './payload.mjs';

const app = express();
app.get('/json', (req, res) => res.json({ message: 'Hello, World!' }));
app.get('/big', (req, res) => res.json(big));
app.post('/items', express.json(), (req, res) => {
  const v = req.body;
  const ok = v && typeof v === 'object' && typeof v.name === 'string' && v.name.length > 0 &&
    typeof v.price === 'number' && v.price >= 0 &&
    (v.tags === undefined || (Array.isArray(v.tags) && v.tags.every((t) => typeof t === 'string')));
  if (ok) res.json({ ok: true, name: v.name });
  else res.status(422).json({ error: 'invalid' });
});
const server = app.listen(Number(process.env.PORT || 0), '127.0.0.1', () =>
  console.log(`listening on http://127.0.0.1:${server.address().port}`));
