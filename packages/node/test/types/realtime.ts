// Type-checked (not run) by types.test.mjs: dependency injection and WebSocket routes.
import { z } from 'zod';
import { Spikard, Provide, Value, TestClient, WebSocketHub, BackgroundQueueFullError } from '../../lib/index.js';

const app = new Spikard();
app.provide('config', { url: 'pg://x' });
app.provide('db', async (deps) => ({ url: String(deps.config.url) }), { dependsOn: ['config'], scope: 'singleton' });
app.provide('session', function* () { yield { id: 1 }; }, { cleanup: (v) => { void v; } });
app.provide('fn', new Value(() => 1));
app.get('/x', { dependencies: ['db'], overrides: { config: new Provide(() => ({ url: 'test' })) } },
  (req) => ({ url: req.dependencies.db.url }));
app.preHandler((req) => (req.dependencies.session ? undefined : { denied: true }), { dependencies: ['session'] });
// @ts-expect-error: dependsOn is a list of names
app.provide('bad', () => 1, { dependsOn: 'config' });

const hub = new WebSocketHub();
app.websocket('/chat', {
  open(ws, req) { ws.data.user = req.query.user; hub.subscribe(ws, 'room'); },
  message(ws, msg) { hub.publish('room', msg); return undefined; },
  close(ws, code, reason) { void code; void reason; },
}, { subprotocols: ['chat'], permessageDeflate: true, schema: z.object({ text: z.string() }) });
app.websocket('/echo', (ws, data) => data);

async function wsClient(): Promise<void> {
  const client = new TestClient(app);
  const ws = await client.websocket('/chat', { subprotocols: ['chat'] });
  await ws.sendJson({ text: 'hi' });
  const reply: { text: string } = await ws.receiveJson();
  const frame = await ws.receive({ timeout: 100 });
  const code: number | undefined = frame.closeCode;
  void reply; void code;
  await ws.close(1000, 'bye');
}
void wsClient;

app.post('/signup', (req) => {
  try {
    req.background(async () => { await Promise.resolve(); });
  } catch (e) {
    if (e instanceof BackgroundQueueFullError) return { queued: false };
    throw e;
  }
  return { queued: true };
});
