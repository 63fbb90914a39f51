// Interop with the Node `ws` client (npm) against the example server over real sockets: echo of
// text and binary, large messages, fragmented sends, permessage-deflate on and off, ping/pong,
// close codes both ways and pub/sub broadcast.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import WebSocket from 'ws';
import { withServer } from '../browser/harness.mjs';

function open(url, opts = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false, ...opts });
    ws.once('upgrade', (res) => { ws.upgradeHeaders = res.headers; });
    const t = setTimeout(() => reject(new Error('open timeout')), 5000);
    ws.once('open', () => { clearTimeout(t); resolve(ws); });
    ws.once('error', (e) => { clearTimeout(t); reject(e); });
  });
}

function next(ws) {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('message timeout')), 10000);
    ws.once('message', (data, isBinary) => { clearTimeout(t); resolve({ data, isBinary }); });
  });
}

function closed(ws) {
  return new Promise((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
}

const url = (base, path) => base.replace('http:', 'ws:') + path;

for (const deflate of [false, true]) {
  test(`echo text, binary and large messages (permessage-deflate ${deflate ? 'on' : 'off'})`, async () => {
    await withServer(async (base) => {
      const ws = await open(url(base, '/ws/echo'), { perMessageDeflate: deflate });
      assert.equal(ws.extensions.includes('permessage-deflate'), deflate);
      let p = next(ws);
      ws.send('héllo wörld');
      let m = await p;
      assert.equal(m.isBinary, false);
      assert.equal(m.data.toString(), 'héllo wörld');

      const bin = randomBytes(1000);
      p = next(ws);
      ws.send(bin);
      m = await p;
      assert.equal(m.isBinary, true);
      assert.deepEqual(Buffer.from(m.data), bin);

      for (const big of [randomBytes(3 << 20), Buffer.alloc(8 << 20, 'spikard ')]) {
        p = next(ws);
        ws.send(big);
        m = await p;
        assert.equal(m.data.length, big.length);
        assert.ok(Buffer.from(m.data).equals(big));
      }
      const c = closed(ws);
      ws.close(1000, 'done');
      assert.equal((await c).code, 1000);
    });
  });
}

test('fragmented sends, ping/pong and many messages in order', async () => {
  await withServer(async (base) => {
    const ws = await open(url(base, '/ws/echo'));
    let p = next(ws);
    ws.send('frag', { fin: false });
    ws.send('men', { fin: false });
    ws.send('ted', { fin: true });
    assert.equal((await p).data.toString(), 'fragmented');

    const pong = new Promise((resolve) => ws.once('pong', (d) => resolve(d.toString())));
    ws.ping('are you there');
    assert.equal(await pong, 'are you there');

    const got = [];
    const all = new Promise((resolve) => ws.on('message', (d) => { got.push(d.toString()); if (got.length === 1000) resolve(); }));
    for (let i = 0; i < 1000; i++) ws.send(`m${i}`);
    await all;
    assert.deepEqual(got, Array.from({ length: 1000 }, (_, i) => `m${i}`));
    ws.terminate();
  });
});

test('close codes both ways', async () => {
  await withServer(async (base) => {
    let ws = await open(url(base, '/ws/echo'));
    let c = closed(ws);
    ws.close(4000, 'client says bye');
    assert.equal((await c).code, 4000);

    ws = new WebSocket(url(base, '/ws/goodbye'));
    const msg = next(ws);
    c = closed(ws);
    assert.equal((await msg).data.toString(), 'goodbye');
    assert.deepEqual(await c, { code: 4001, reason: 'done' });
  });
});

test('pub/sub chat broadcasts to the room only', async () => {
  await withServer(async (base) => {
    const a = await open(url(base, '/ws/chat?room=r1'));
    const b = await open(url(base, '/ws/chat?room=r1'), { perMessageDeflate: true });
    const other = await open(url(base, '/ws/chat?room=r2'));
    let stray = 0;
    other.on('message', () => { stray++; });
    const pa = next(a), pb = next(b);
    a.send('hi room');
    assert.equal((await pa).data.toString(), 'hi room');
    assert.equal((await pb).data.toString(), 'hi room');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(stray, 0);
    for (const ws of [a, b, other]) ws.terminate();
  });
});

test('a plain GET to a WebSocket route is 426', async () => {
  await withServer(async (base) => {
    const r = await fetch(base + '/ws/echo');
    assert.equal(r.status, 426);
    assert.equal(r.headers.get('upgrade'), 'websocket');
  });
});

test('permessage-deflate parameters: no context takeover and window bits', async () => {
  await withServer(async (base) => {
    const ws = await open(url(base, '/ws/echo'), {
      perMessageDeflate: { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 10, threshold: 0 },
    });
    const ext = ws.upgradeHeaders['sec-websocket-extensions'];
    assert.match(ext, /^permessage-deflate/);
    assert.match(ext, /server_no_context_takeover/);
    assert.match(ext, /client_no_context_takeover/);
    assert.match(ext, /server_max_window_bits=10/);
    for (let i = 0; i < 5; i++) {
      const msg = 'compress me '.repeat(500) + i;
      const p = next(ws);
      ws.send(msg);
      assert.equal((await p).data.toString(), msg);
    }
    ws.terminate();
  });
});

// Raw bytes over TCP: what the ws client would never send.
function raw(base, bytes) {
  return new Promise((resolve, reject) => {
    const { hostname, port } = new URL(base);
    const sock = net.connect(Number(port), hostname);
    let buf = Buffer.alloc(0);
    let sent = false;
    const t = setTimeout(() => { sock.destroy(); reject(new Error('raw timeout')); }, 5000);
    sock.on('connect', () => sock.write('GET /ws/echo HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n'));
    sock.on('data', (d) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (!sent && end >= 0) { sent = true; buf = buf.subarray(end + 4); sock.write(bytes); }
    });
    sock.on('close', () => { clearTimeout(t); resolve(buf); });
    sock.on('error', () => {});
  });
}

test('protocol violations close with 1002 / 1007 and the server hangs up', async () => {
  await withServer(async (base) => {
    // unmasked text frame
    let got = await raw(base, Buffer.from([0x81, 0x02, 0x68, 0x69]));
    assert.equal(got[0], 0x88);
    assert.equal(got.readUInt16BE(2), 1002);
    // masked text frame with invalid UTF-8 (0xff)
    const mask = [1, 2, 3, 4];
    got = await raw(base, Buffer.from([0x81, 0x81, ...mask, 0xff ^ 1]));
    assert.equal(got[0], 0x88);
    assert.equal(got.readUInt16BE(2), 1007);
  });
});
