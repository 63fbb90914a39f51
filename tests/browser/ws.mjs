// Headless Chromium opens WebSockets to the example server: echo (the browser offers
// permessage-deflate), binary, and a two-socket chat broadcast; asserts what the page received.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServer, withBrowser, bounded } from './harness.mjs';

test('chromium WebSocket echo and chat against the example server', { timeout: 60000 }, async () => {
  await withServer(async (base) => {
    await withBrowser(async (page) => {
      await page.goto(base + '/json');
      // Every step is logged in the page, and a stuck step fails the test naming itself (page.evaluate
      // has no timeout of its own).
      const result = await bounded(page.evaluate(async (wsBase) => {
        const steps = [];
        const step = (name, promise) => {
          steps.push(name);
          let timer;
          const limit = new Promise((_, reject) => {
            timer = setTimeout(() => reject(new Error(`stuck at "${name}" after ${steps.join(' > ')}`)), 10000);
          });
          return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
        };
        const open = (path) => new Promise((resolve, reject) => {
          const ws = new WebSocket(wsBase + path);
          ws.binaryType = 'arraybuffer';
          ws.onopen = () => resolve(ws);
          ws.onerror = () => reject(new Error('ws error ' + path));
        });
        const next = (ws) => new Promise((resolve) => { ws.onmessage = (e) => resolve(e.data); });
        const out = {};
        const echo = await step('open echo', open('/ws/echo'));
        out.extensions = echo.extensions;
        let p = next(echo);
        echo.send('hello from chromium ✓');
        out.text = await step('text echo', p);
        p = next(echo);
        echo.send(new Uint8Array([0, 1, 2, 255]));
        out.binary = Array.from(new Uint8Array(await step('binary echo', p)));
        p = next(echo);
        const big = 'x'.repeat(200000);
        echo.send(big);
        out.bigOk = (await step('200 KB echo', p)) === big;
        const closed = new Promise((resolve) => { echo.onclose = (e) => resolve(e.code); });
        echo.close(1000);
        out.closeCode = await step('echo close', closed);

        const a = await step('open chat a', open('/ws/chat?room=browser'));
        const b = await step('open chat b', open('/ws/chat?room=browser'));
        const pa = next(a), pb = next(b);
        b.send('hi all');
        out.chat = await step('chat broadcast', Promise.all([pa, pb]));
        a.close(); b.close();

        const bye = new WebSocket(wsBase + '/ws/goodbye');
        out.goodbye = await step('goodbye', new Promise((resolve) => {
          let msg = null;
          bye.onmessage = (e) => { msg = e.data; };
          bye.onclose = (e) => resolve({ msg, code: e.code, reason: e.reason });
        }));
        return out;
      }, base.replace('http:', 'ws:')), 40000, 'the WebSocket script');
      assert.equal(result.extensions, 'permessage-deflate');
      assert.equal(result.text, 'hello from chromium ✓');
      assert.deepEqual(result.binary, [0, 1, 2, 255]);
      assert.ok(result.bigOk);
      assert.equal(result.closeCode, 1000);
      assert.deepEqual(result.chat, ['hi all', 'hi all']);
      assert.deepEqual(result.goodbye, { msg: 'goodbye', code: 4001, reason: 'done' });
    });
  });
});
