// SSE fan-out server with node:http, the same contract as bench/sse_fanout.c: GET /events
// subscribes; a publisher loop broadcasts events as fast as it can, each encoded once; a
// subscriber with more than 1 MiB buffered (writableLength) misses that event. Prints
// "PORT n". Not a test.
import http from 'node:http';

const LIMIT = 1 << 20;
const PAD = '0123456789abcdef0123456789abcdef';
const clients = new Set();
const server = http.createServer((req, res) => {
  if (req.url !== '/events') { res.writeHead(404); res.end(); return; }
  res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' });
  res.flushHeaders();
  clients.add(res);
  req.on('close', () => clients.delete(res));
});
let seq = 0;
function publish() {
  // A batch per turn of the event loop so that writes get flushed between batches.
  for (let b = 0; b < 32; b++) {
    seq++;
    const msg = `id: ${seq}\ndata: {"seq":${seq},"pad":"${PAD}"}\n\n`;
    let sent = 0;
    for (const res of clients) {
      if (res.writableLength < LIMIT) { res.write(msg); sent++; }
    }
    if (!sent) break;
  }
  setImmediate(publish);
}
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () => {
  console.log(`PORT ${server.address().port}`);
  publish();
});
process.on('SIGTERM', () => { for (const r of clients) r.destroy(); server.close(() => process.exit(0)); });
