// A chat room: dependency injection (a message store, the current user from a header),
// WebSocket routes with a pub/sub hub and a Zod message schema validated by the core, and a
// background task after each post. Run: node chat.mjs, then connect to ws://127.0.0.1:8000/chat.
import { z } from 'zod';
import { Spikard, WebSocketHub } from 'spikard';

export function createApp() {
  const app = new Spikard();
  const hub = new WebSocketHub();
  const audit = [];

  app.provide('store', () => ({ messages: [] }), { singleton: true });
  app.provide('user', (_deps, req) => req.headers['x-user'] ?? 'anonymous');

  app.get('/messages', { dependencies: ['store'] }, (req) => req.dependencies.store.messages);

  app.post('/messages', {
    body: z.object({ text: z.string().min(1).max(500) }),
    dependencies: ['store', 'user'],
  }, (req) => {
    const { store, user } = req.dependencies;
    const msg = { user, text: req.json().text };
    store.messages.push(msg);
    hub.publish('room', msg);
    req.background(() => audit.push(`${user} posted`)); // after the response
    return msg;
  });
  app.get('/audit', () => audit);

  app.websocket('/chat', {
    open(ws, req) {
      ws.data.user = req.query.user ?? 'anonymous';
      hub.subscribe(ws, 'room');
      ws.sendJson({ joined: ws.data.user });
    },
    message(ws, msg) {
      hub.publish('room', { user: ws.data.user, text: msg.text });
    },
  }, { schema: z.object({ text: z.string().min(1) }), permessageDeflate: true });

  return app;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const server = await createApp().run({ port: Number(process.env.PORT ?? 8000) });
  console.log(`chat on http://127.0.0.1:${server.port}`);
}
