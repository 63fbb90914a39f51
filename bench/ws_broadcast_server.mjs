// Peer for bench/ws_echo.sh's broadcast rows: a Node `ws` chat room on /ws/chat, the idiomatic
// broadcast (every client.send of every message), one thread, permessage-deflate off.
import { WebSocketServer, WebSocket } from '../tests/node_modules/ws/wrapper.mjs';

const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 << 20 });
wss.on('connection', (ws) => {
  ws.on('message', (data, isBinary) => {
    for (const c of wss.clients) if (c.readyState === WebSocket.OPEN) c.send(data, { binary: isBinary });
  });
});
wss.on('listening', () => console.log(`ws-broadcast listening on http://127.0.0.1:${wss.address().port}`));
process.on('SIGTERM', () => process.exit(0));
