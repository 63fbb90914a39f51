// WebSocket routes over the core's WebSocket API (include/spikard/websocket.h): the handshake
// runs through the whole pipeline (hooks, middleware, auth); framing, fragmentation, UTF-8
// checks, permessage-deflate, ping/pong, size limits and JSON/schema validation of messages
// run in C. JS sees whole messages and answers through the connection object.
import { native } from './native.js';
import { Request } from './request.js';
import { toJsonSchema } from './schema.js';

const OPEN = 0, TEXT = 1, BINARY = 2, CLOSE = 3;
const NO_DEPS = Object.freeze({});
const ESTATE = -15; // SPK_ESTATE (include/spikard/common.h)

function payloadOf(data) {
  if (typeof data === 'string' || Buffer.isBuffer(data)) return data;
  if (data instanceof Uint8Array) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  const s = JSON.stringify(data);
  if (s === undefined) throw new TypeError('spikard: WebSocket send: the value is not JSON-serializable');
  return s;
}

function check(rc, what) {
  if (rc === 0) return true;
  if (rc === ESTATE) return false; // closing or closed
  throw new Error(`spikard: ${what} failed (${rc})`);
}

/** One server-side WebSocket connection (valid from open until close). */
export class WebSocketConnection {
  #h;
  #hubs = new Set();

  constructor(h, request) {
    this.#h = h;
    /** The upgrade request. */
    this.request = request;
    /** Per-connection state, yours to fill. */
    this.data = {};
    this.closed = false;
  }

  /** Strings → text, bytes → binary, other values → JSON text. false once the connection is closing. */
  send(data) { return check(native.wsSend(this.#h, payloadOf(data)), 'send'); }
  sendText(text) { return check(native.wsSend(this.#h, String(text)), 'send'); }
  sendBinary(bytes) { return check(native.wsSend(this.#h, Buffer.from(bytes)), 'send'); }
  sendJson(value) { return check(native.wsSend(this.#h, JSON.stringify(value)), 'send'); }

  /** Start the close handshake (code 1000..4999, reason ≤ 123 bytes). */
  close(code = 1000, reason = '') { return check(native.wsClose(this.#h, code, String(reason)), 'close'); }

  /** The negotiated subprotocol, or null. */
  get subprotocol() { return native.wsSubprotocol(this.#h); }

  subscribe(hub, topic) { hub.subscribe(this, topic); return this; }
  unsubscribe(hub, topic) { hub.unsubscribe(this, topic); return this; }

  static handleOf(ws) { return ws.#h; }
  static hubsOf(ws) { return ws.#hubs; }
}

/** Publish/subscribe over the core's hub: a message is framed once and queued on every subscriber. */
export class WebSocketHub {
  #h = native.hubNew();

  subscribe(ws, topic) {
    if (!(ws instanceof WebSocketConnection)) throw new TypeError('spikard: hub.subscribe(ws, topic): a WebSocket is required');
    if (ws.closed) return false;
    WebSocketConnection.hubsOf(ws).add(this);
    return native.hubOp(this.#h, 0, WebSocketConnection.handleOf(ws), String(topic)) === 0;
  }

  unsubscribe(ws, topic) {
    return native.hubOp(this.#h, 1, WebSocketConnection.handleOf(ws), String(topic)) === 0;
  }

  unsubscribeAll(ws) {
    WebSocketConnection.hubsOf(ws).delete(this);
    native.hubOp(this.#h, 2, WebSocketConnection.handleOf(ws));
  }

  /** Returns the number of connections the message was queued on. */
  publish(topic, data) {
    const rc = native.hubPublish(this.#h, String(topic), payloadOf(data));
    if (rc < 0) throw new Error(`spikard: publish failed (${rc})`);
    return rc;
  }
}

const OPTION_KEYS = ['subprotocols', 'requireSubprotocol', 'origins', 'maxMessageBytes', 'idleTimeoutMs',
  'pingIntervalMs', 'permessageDeflate', 'deflateNoContext', 'json'];

/** The route entry and the core's options for app.websocket(path, handlers, options). */
export function wsRoute(path, handlers, options = {}) {
  if (typeof handlers === 'function') handlers = { message: handlers };
  if (!handlers || typeof handlers !== 'object') throw new TypeError('spikard: websocket(path, { open, message, close }): handlers are required');
  for (const k of ['handshake', 'open', 'message', 'close'])
    if (handlers[k] !== undefined && typeof handlers[k] !== 'function') throw new TypeError(`spikard: websocket: ${k} must be a function`);
  const opts = {};
  for (const k of OPTION_KEYS) if (options[k] !== undefined) opts[k] = options[k];
  const schemaIn = options.schema ?? options.messageSchema;
  const schema = toJsonSchema(schemaIn);
  if (schema) opts.schema = JSON.stringify(schema);
  const json = Boolean(opts.json || schema);
  const parse = schemaIn && typeof schemaIn.safeParse === 'function' ? schemaIn : null;
  return { entry: { ws: true, path, handlers, json, parse }, options: opts };
}

function failed(ws) {
  try { ws.close(1011, 'handler failed'); } catch { /* closed already */ }
}

function settle(ws, out) {
  if (out && typeof out.then === 'function') {
    out.then((v) => { if (v !== undefined && !ws.closed) ws.send(v); }, () => failed(ws));
  } else if (out !== undefined) {
    ws.send(out);
  }
}

// The dispatcher's part for WebSocket routes: open → the connection object; messages and the
// close event with it.
export function wsEvent(route, ev, h, payload) {
  const { handlers } = route;
  if (ev === OPEN) {
    const req = new Request(payload, null);
    req.dependencies = NO_DEPS; // WebSocket routes declare none (the core's WS routes have no DI)
    const ws = new WebSocketConnection(h, req);
    try {
      const out = handlers.open?.(ws, ws.request);
      if (out && typeof out.then === 'function') out.then(undefined, () => failed(ws));
    } catch {
      failed(ws);
    }
    return ws;
  }
  const ws = h;
  if (ev === CLOSE) {
    ws.closed = true;
    for (const hub of [...WebSocketConnection.hubsOf(ws)]) hub.unsubscribeAll(ws);
    try {
      const out = handlers.close?.(ws, payload[0], payload[1]);
      if (out && typeof out.then === 'function') out.then(undefined, () => {});
    } catch { /* the connection is gone */ }
    return undefined;
  }
  if (!handlers.message) return undefined;
  try {
    let data = payload;
    if (ev === TEXT && route.json) {
      data = JSON.parse(payload); // the core validated it
      if (route.parse) {
        const r = route.parse.safeParse(data);
        if (!r.success) { ws.send({ error: 'Message validation failed' }); return undefined; }
        data = r.data;
      }
    }
    settle(ws, handlers.message(ws, data, ev === BINARY));
  } catch {
    failed(ws);
  }
  return undefined;
}

// ---- the test client's side ----

const OPCODES = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };
const NAMES = Object.fromEntries(Object.entries(OPCODES).map(([k, v]) => [v, k]));

/** One frame from the server. */
export class TestFrame {
  constructor(raw) {
    this.opcode = raw.opcode;
    this.type = NAMES[raw.opcode] ?? 'unknown';
    this.fin = raw.fin;
    this.rsv1 = raw.rsv1;
    this.data = raw.data;
    if (raw.opcode === 8) {
      this.closeCode = raw.closeCode;
      this.closeReason = raw.closeReason;
    }
  }

  text() { return this.data.toString('utf8'); }
  json() { return JSON.parse(this.text()); }
}

/** A WebSocket on the app's in-memory pipeline (TestClient.websocket). */
export class TestWebSocket {
  #h;
  #queue = Promise.resolve();

  constructor(h, handshake) {
    this.#h = h;
    this.handshake = handshake;
    this.subprotocol = handshake.headers['sec-websocket-protocol'] ?? null;
  }

  #op(...args) {
    const p = this.#queue.then(() => native.wsOp(this.#h, ...args));
    this.#queue = p.catch(() => {});
    return p;
  }

  /** Strings → text, bytes → binary, other values → JSON text; one masked frame. */
  send(data) {
    const p = payloadOf(data);
    return this.sendFrame({ opcode: typeof p === 'string' ? 1 : 2, data: p });
  }
  sendText(text) { return this.sendFrame({ opcode: 1, data: String(text) }); }
  sendBytes(bytes) { return this.sendFrame({ opcode: 2, data: Buffer.from(bytes) }); }
  sendJson(value) { return this.sendFrame({ opcode: 1, data: JSON.stringify(value) }); }
  ping(data = '') { return this.sendFrame({ opcode: 9, data }); }

  /** Any frame (protocol tests): opcode as a number or a name. */
  sendFrame({ fin = true, rsv1 = false, opcode, data = '' }) {
    const op = typeof opcode === 'string' ? OPCODES[opcode] : opcode;
    if (!Number.isInteger(op)) throw new TypeError('spikard: sendFrame: unknown opcode');
    return this.#op(1, Boolean(fin), Boolean(rsv1), op, Buffer.isBuffer(data) ? data : Buffer.from(String(data))).then(() => undefined);
  }

  /** Raw bytes (unmasked frames, garbage, any split). */
  sendRaw(bytes) { return this.#op(2, Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes)).then(() => undefined); }

  /** A close frame (code 0: empty). */
  close(code = 1000, reason = '') { return this.#op(3, code, Buffer.from(String(reason))).then(() => undefined); }

  /** The next frame from the server (rejects with code SPK_ETIMEDOUT, or SPK_ESTATE once closed). */
  async receive({ timeout = 5000 } = {}) {
    // The wait runs on a libuv pool thread: in short slices, so that waiting sockets never
    // hold the pool (4 threads) away from the requests that would send them something.
    const deadline = Date.now() + timeout;
    for (;;) {
      const slice = Math.max(0, Math.min(25, deadline - Date.now()));
      try {
        return new TestFrame(await this.#op(4, slice));
      } catch (e) {
        if (e?.code !== 'SPK_ETIMEDOUT' || Date.now() >= deadline) throw e;
      }
    }
  }

  async receiveText(o) { return (await this.#expect(o, 1)).text(); }
  async receiveJson(o) { return (await this.#expect(o, 1)).json(); }
  async receiveBytes(o) { return (await this.#expect(o, 2)).data; }

  async #expect(o, opcode) {
    const f = await this.receive(o);
    if (f.opcode !== opcode) throw new Error(`spikard: expected a ${NAMES[opcode]} frame, got ${f.type}${f.opcode === 8 ? ` (${f.closeCode})` : ''}`);
    return f;
  }

  /** Drop the connection (the server sees 1006) and free it. */
  terminate() { return this.#op(5).then(() => undefined); }
}

export class WebSocketHandshakeError extends Error {
  constructor(response) {
    super(`spikard: WebSocket handshake answered ${response.status}`);
    this.response = response;
  }
}

export function upgradeBytes(path, { headers = {}, subprotocols, query } = {}) {
  let target = path;
  if (query) {
    const q = new URLSearchParams(query).toString();
    if (q) target += (target.includes('?') ? '&' : '?') + q;
  }
  const list = Array.isArray(headers) ? headers : Object.entries(headers);
  const has = (n) => list.some(([k]) => k.toLowerCase() === n);
  const lines = [`GET ${target} HTTP/1.1`];
  for (const [k, v] of list) lines.push(`${k}: ${v}`);
  if (!has('host')) lines.push('Host: testclient');
  if (!has('upgrade')) lines.push('Upgrade: websocket');
  if (!has('connection')) lines.push('Connection: Upgrade');
  if (!has('sec-websocket-key')) lines.push('Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==');
  if (!has('sec-websocket-version')) lines.push('Sec-WebSocket-Version: 13');
  if (subprotocols?.length && !has('sec-websocket-protocol')) lines.push(`Sec-WebSocket-Protocol: ${subprotocols.join(', ')}`);
  return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
}
