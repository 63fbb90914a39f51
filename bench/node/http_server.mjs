// node:http peer: same routes, body checked by hand (the fair minimum a raw server does).
import http from 'node:http';
import { big } from './payload.mjs';

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/json') {
    const body = JSON.stringify({ message: 'Hello, World!' });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  if (req.method === 'GET' && req.url === '/big') {
    const body = JSON.stringify(big);
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
    res.end(body);
    return;
  }
  if (req.method === 'POST' && req.url === '/items') {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      let v;
      try { v = JSON.parse(Buffer.concat(chunks)); } catch { v = null; }
      const ok = v && typeof v === 'object' && typeof v.name === 'string' && v.name.length > 0 &&
        typeof v.price === 'number' && v.price >= 0 &&
        (v.tags === undefined || (Array.isArray(v.tags) && v.tags.every((t) => typeof t === 'string')));
      const body = JSON.stringify(ok ? { ok: true, name: v.name } : { error: 'invalid' });
      res.writeHead(ok ? 200 : 422, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) });
      res.end(body);
    });
    return;
  }
  res.writeHead(404).end();
});
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () =>
  console.log(`listening on http://127.0.0.1:${server.address().port}`));
