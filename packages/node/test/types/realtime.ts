// Type-checked (not run) by types.test.mjs: dependency injection and WebSocket routes.
import { Spikard, Provide, Value } from '../../lib/index.js';

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
