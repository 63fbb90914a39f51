// Headless Chromium loads a page from the example server: proves the browser harness works on
// this machine before the SSE and WebSocket browser tests rely on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServer, withBrowser } from './harness.mjs';

test('chromium fetches JSON from the example server', async () => {
  await withServer(async (base) => {
    await withBrowser(async (page) => {
      await page.goto(base + '/json');
      const body = await page.evaluate(() => document.body.innerText);
      assert.ok(JSON.parse(body));
    });
  });
});
