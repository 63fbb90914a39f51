// Headless Chromium opens EventSources to the example server (GET /events, /events/ticker):
// ids, a named event, the retry hint, the reconnect after the stream ends (the browser sends
// Last-Event-ID and the handler answers from there), and the ticker's fan-out events.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { withServer, withBrowser } from './harness.mjs';

test('EventSource receives events, a named event, and resumes with Last-Event-ID', async () => {
  await withServer(async (base) => {
    await withBrowser(async (page) => {
      await page.goto(base + '/json'); // same origin for the EventSource
      const got = await page.evaluate(() => new Promise((resolve, reject) => {
        const out = { messages: [], ids: [], status: [], done: null, opens: 0 };
        const es = new EventSource('/events?count=3');
        const timer = setTimeout(() => { es.close(); reject(new Error('timeout: ' + JSON.stringify(out))); }, 8000);
        es.onopen = () => { out.opens++; };
        es.onmessage = (e) => { out.messages.push(JSON.parse(e.data)); out.ids.push(e.lastEventId); };
        es.addEventListener('status', (e) => { out.status.push(e.data); });
        es.addEventListener('done', (e) => {
          out.done = JSON.parse(e.data);
          clearTimeout(timer);
          es.close();
          resolve(out);
        });
      }));
      assert.deepEqual(got.messages, [{ seq: 1 }, { seq: 2 }, { seq: 3 }]);
      assert.deepEqual(got.ids, ['1', '2', '3']);
      assert.deepEqual(got.status, ['ready']);
      // The stream ended, the browser reconnected with Last-Event-ID: 3 and the handler saw it.
      assert.deepEqual(got.done, { resumed_after: 3 });
      assert.ok(got.opens >= 2, `reconnected (opens: ${got.opens})`);
    });
  });
});

test('EventSource receives ticker events fanned out to two subscribers', async () => {
  await withServer(async (base) => {
    await withBrowser(async (page) => {
      await page.goto(base + '/json');
      const ticks = await page.evaluate(() => new Promise((resolve, reject) => {
        const got = [[], []];
        const sources = [0, 1].map((i) => {
          const es = new EventSource('/events/ticker');
          es.addEventListener('tick', (e) => {
            got[i].push({ id: e.lastEventId, tick: JSON.parse(e.data).tick });
            if (got[0].length >= 2 && got[1].length >= 2) {
              sources.forEach((s) => s.close());
              clearTimeout(timer);
              resolve(got);
            }
          });
          return es;
        });
        const timer = setTimeout(() => { sources.forEach((s) => s.close()); reject(new Error('timeout')); }, 8000);
      }));
      for (const list of ticks) {
        assert.ok(list.length >= 2);
        assert.equal(list[1].tick, list[0].tick + 1);
        assert.equal(list[0].id, String(list[0].tick));
      }
    });
  });
});
