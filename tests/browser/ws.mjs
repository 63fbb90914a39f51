// Headless Chromium opens WebSockets to the example server: echo (the browser offers
// permessage-deflate), binary, and a two-socket chat broadcast; asserts what the page received.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServer, withBrowser } from './harness.mjs';

test('chromium WebSocket echo and chat against the example server', async () => {
  await withServer(async (base) => {
    await withBrowser(async (page) => {
      await page.goto(base + '/json');
      const result = await page.evaluate(async (wsBase) => {
        const open = (path) => new Promise((resolve, reject) => {
          const ws = new WebSocket(wsBase + path);
          ws.binaryType = 'arraybuffer';
          ws.onopen = () => resolve(ws);
          ws.onerror = () => reject(new Error('ws error ' + path));
        });
        const next = (ws) => new Promise((resolve) => { ws.onmessage = (e) => resolve(e.data); });
        const out = {};
        const echo = await open('/ws/echo');
        out.extensions = echo.extensions;
        let p = next(echo);
        echo.send('hello from chromium ✓');
        out.text = await p;
        p = next(echo);
        echo.send(new Uint8Array([0, 1, 2, 255]));
        out.binary = Array.from(new Uint8Array(await p));
        p = next(echo);
        const big = 'x'.repeat(200000);
        echo.send(big);
        out.bigOk = (await p) === big;
        const closed = new Promise((resolve) => { echo.onclose = (e) => resolve(e.code); });
        echo.close(1000);
        out.closeCode = await closed;

        const a = await open('/ws/chat?room=browser');
        const b = await open('/ws/chat?room=browser');
        const pa = next(a), pb = next(b);
        b.send('hi all');
        out.chat = [await pa, await pb];
        a.close(); b.close();

        const bye = new WebSocket(wsBase + '/ws/goodbye');
        out.goodbye = await new Promise((resolve) => {
          let msg = null;
          bye.onmessage = (e) => { msg = e.data; };
          bye.onclose = (e) => resolve({ msg, code: e.code, reason: e.reason });
        });
        return out;
      }, base.replace('http:', 'ws:'));
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
