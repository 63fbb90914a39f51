// Peer for bench/ws_echo.sh: the Node `ws` echo server (tests/package.json's ws), on one
// thread like one Spikard worker, permessage-deflate off (its server default). Prints the
// same "listening on http://HOST:PORT" line as the example app.
import { WebSocketServer } from '../tests/node_modules/ws/wrapper.mjs';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, path: '/ws/echo', maxPayload: 64 << 20 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on('listening', () => {
  console.log(`ws-echo listening on http://127.0.0.1:${wss.address().port}`);
});
process.on('SIGTERM', () => process.exit(0));
