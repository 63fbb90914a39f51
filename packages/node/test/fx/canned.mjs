// The JS versions of the C runner's canned behaviours (e2e/c/fx_hooks.c, fx_bg.c, fx_stream.c,
// fx_ws.c): named lifecycle hooks, dependency factories, the background state, streamed bodies
// and event streams, WebSocket routes and the scripted sessions that replay them (in memory
// through TestClient, and over a real socket with a small masked-frame client). They use only
// the public API; the core decides what the fixtures check.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import net from 'node:net';
import { randomUUID } from 'node:crypto';
import { Response, Value, Provide, TestResponse } from '../../lib/index.js';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const TEMPLATE = /\{\{\s*repeat\s*(['"])(.*?)\1\s*(\d{1,9})\s*times\s*\}\}/g;
const expandText = (s) => s.replace(TEMPLATE, (_, q, unit, n) => unit.repeat(Number(n)));

// ---- background state (fx_bg.c) ----

export function setupBackground(fx, app) {
  const sec = fx.background;
  if (!sec) return null;
  if (!sec.state_path || !sec.state_key) throw new Error('background: state_path and state_key are required');
  const st = { sec, values: [], fail: sec.fail_values ?? [], sleepMs: sec.task_sleep_ms > 0 ? sec.task_sleep_ms : 0 };
  app.get(sec.state_path, () => ({ [sec.state_key]: st.values }));
  return st;
}

// JSON equality, object members in any order (spk_json_equal).
export function jsonEqual(a, b) {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) return a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && jsonEqual(a[k], b[k]));
}

function spawnValue(st, req, v) {
  const fail = st.fail.some((x) => jsonEqual(x, v));
  req.background(async () => {
    if (st.sleepMs) await sleep(st.sleepMs);
    if (fail) throw new Error("the fixture's fail_values lists this value");
    st.values.push(v);
  });
}

export function spawnFromBody(st, req) {
  if (!st?.sec.value_field || !req.body.length) return;
  let root;
  try { root = JSON.parse(req.body.toString('utf8')); } catch { return; }
  const v = root?.[st.sec.value_field];
  if (Array.isArray(v)) for (const x of v) spawnValue(st, req, x);
  else if (v !== undefined) spawnValue(st, req, v);
}

function spawnString(st, req, value) {
  if (!st || req.path === st.sec.state_path) return;
  spawnValue(st, req, value);
}

// ---- lifecycle hooks (fx_hooks.c) ----

const jsonReply = (status, error, message, headers = []) =>
  new Response({ error, message }, { status, headers });

function bearer(req) {
  const v = req.headers.authorization;
  return v && v.length > 7 && v.startsWith('Bearer ') ? v.slice(7) : null;
}

function requireBearer(req) {
  const t = bearer(req);
  if (!t) return jsonReply(401, 'Unauthorized', 'Missing or invalid authentication token');
  if (t.includes('invalid') || t.includes('expired')) return jsonReply(401, 'Unauthorized', 'Invalid or expired authentication token');
  return undefined;
}

const adminOnly = (message) => (req) => (bearer(req)?.includes('admin') ? undefined : jsonReply(403, 'Forbidden', message));

// Request-phase hooks: (ctx) => (req, res) => undefined | answer.
const REQUEST_HOOKS = {
  log_request: () => () => undefined,
  record_start_time: () => () => undefined,
  check_user_permissions: () => () => undefined,
  log_successful_action: () => () => undefined,
  log_error: () => () => undefined,
  append_first: () => () => undefined,
  append_second: () => () => undefined,
  append_third: () => () => undefined,
  add_request_id: () => (req, res) => { res.setHeader('X-Request-ID', randomUUID()); },
  check_rate_limit: ({ config }) => () => {
    const max = config?.max_requests;
    if (!Number.isInteger(max) || max > 0) return undefined;
    return jsonReply(429, 'Rate limit exceeded', 'Too many requests, please try again later', { 'Retry-After': '60' });
  },
  require_bearer_token: () => requireBearer,
  validate_auth_token: () => requireBearer,
  require_admin_role: () => adminOnly('Admin role required'),
  check_admin_role: () => adminOnly('Admin role required for this endpoint'),
  set_headers_from_dependencies: ({ deps }) => (req, res) => {
    for (const d of deps) for (const [k, v] of Object.entries(req.dependencies[d] ?? {})) if (typeof v === 'string') res.setHeader(k, v);
  },
  spawn_background_task: ({ st, name }) => (req) => { spawnString(st, req, name); },
};

// Response-phase hooks: (ctx) => (req, res) => void (synchronous).
const RESPONSE_HOOKS = {
  log_request: () => () => {},
  record_start_time: () => () => {},
  check_user_permissions: () => () => {},
  log_successful_action: () => () => {},
  log_error: () => () => {},
  append_first: () => () => {},
  append_second: () => () => {},
  append_third: () => () => {},
  add_security_headers: () => (req, res) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    res.setHeader('X-Frame-Options', 'DENY');
    res.setHeader('X-XSS-Protection', '1; mode=block');
    res.setHeader('Strict-Transport-Security', 'max-age=31536000; includeSubDomains');
  },
  // The fixtures check the shape ("<n>ms"); the duration itself is the access log's job.
  add_response_time: () => (req, res) => { res.setHeader('X-Response-Time', '0ms'); },
  add_timing_header: () => (req, res) => { res.setHeader('X-Response-Time', '0ms'); },
  append_hook_name: ({ name }) => (req, res) => {
    const cur = res.header('X-Hook-Order');
    res.setHeader('X-Hook-Order', cur ? `${cur},${name}` : name);
  },
  format_error_as_json: ({ fx }) => (req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.setBody({ error: 'Internal Server Error', message: fx.handler?.raises ?? 'Internal server error' });
  },
  spawn_background_task: ({ st, name }) => (req) => { spawnString(st, req, name); },
};

const PHASES = { on_request: 'onRequest', pre_validation: 'preValidation', pre_handler: 'preHandler', on_response: 'onResponse', on_error: 'onError' };

export function registerHooks(fx, app, st) {
  const hooks = fx.handler?.middleware?.lifecycle_hooks;
  if (!hooks) return;
  for (const [phase, method] of Object.entries(PHASES)) {
    const list = hooks[phase];
    if (!Array.isArray(list)) continue;
    const lib = phase === 'on_response' || phase === 'on_error' ? RESPONSE_HOOKS : REQUEST_HOOKS;
    for (const e of list) {
      const make = lib[e.handler];
      if (!make) throw new Error(`unknown hook handler '${e.handler ?? '?'}' in ${phase}`);
      const deps = Array.isArray(e.dependencies) ? e.dependencies.map(String) : [];
      const fn = make({ fx, st, name: e.name ?? e.handler, config: e.config, deps });
      if (lib === RESPONSE_HOOKS) app[method](fn);
      else app[method](fn, deps.length ? { dependencies: deps } : undefined);
    }
  }
}

// ---- dependencies (fx_hooks.c, fx_bg.c cleanup) ----

function resourceOf(name) {
  const us = name.lastIndexOf('_');
  if (us >= 0 && name.slice(us) === '_connection') return name.slice(0, name.indexOf('_'));
  return us >= 0 ? name.slice(us + 1) : name;
}

function providerOf(name, d, st) {
  if (d.type === 'value') return new Value(d.value);
  if (d.type !== 'factory' && d.type !== 'async_factory') throw new Error(`dependency '${name}': unknown type '${d.type ?? '?'}'`);
  const options = {
    dependsOn: Array.isArray(d.depends_on) ? d.depends_on.map(String) : [],
    scope: d.singleton === true ? 'singleton' : d.cacheable === true ? 'request' : 'transient',
  };
  const async = d.type === 'async_factory';
  const failing = typeof d.factory === 'string' && (d.factory.includes('fail') || d.factory.includes('broken'));
  const cleanup = st && d.cleanup === true && !failing;
  const resource = resourceOf(name);
  if (cleanup) options.cleanup = () => { st.values.push(`${resource}_closed`); };
  const factory = async
    ? async () => {
      if (cleanup) st.values.push(`${resource}_opened`);
      await sleep(2);
      if (failing) throw new Error(`${name} unavailable`);
      return { [name]: true };
    }
    : () => {
      if (cleanup) st.values.push(`${resource}_opened`);
      if (failing) throw new Error(`${name} unavailable`);
      return { [name]: true };
    };
  return new Provide(factory, options);
}

function jsonType(v) {
  if (v === null) return 'null';
  if (typeof v === 'boolean') return 'boolean';
  if (typeof v === 'number') return Number.isInteger(v) ? 'integer' : 'number';
  if (typeof v === 'string') return 'string';
  return Array.isArray(v) ? 'array' : 'object';
}

/** Providers, overrides and the route's `dependencies` option (into `meta`). */
export function registerDependencies(fx, app, meta, st) {
  const h = fx.handler ?? {};
  for (const [name, d] of Object.entries(h.dependencies ?? {})) app.provide(name, providerOf(name, d, st));
  if (h.route_overrides && Object.keys(h.route_overrides).length)
    meta.overrides = Object.fromEntries(Object.entries(h.route_overrides).map(([n, d]) => [n, providerOf(n, d, st)]));
  if (Array.isArray(h.handler_dependencies) && h.handler_dependencies.length) meta.dependencies = h.handler_dependencies.map(String);
  const types = h.expected_types;
  if (types && typeof types === 'object') {
    // As a binding checks an injected value against the handler's declared type.
    app.preHandler((req) => {
      for (const [k, want] of Object.entries(types)) {
        if (typeof want !== 'string' || !(k in req.dependencies)) continue;
        const actual = jsonType(req.dependencies[k]);
        if (actual === want) continue;
        return new Response({
          type: 'https://spikard.dev/errors/dependency-error', title: 'Dependency Resolution Failed', status: 500,
          detail: 'Dependency type mismatch',
          errors: [{ type: 'type_mismatch', msg: `Dependency '${k}' type mismatch: expected ${want}, got ${actual}`,
            dependency_key: k, expected_type: want, actual_type: actual }],
        }, { status: 500, headers: { 'Content-Type': 'application/json' } });
      }
      return undefined;
    }, { dependencies: Object.keys(types) });
  }
}

// ---- streams (fx_stream.c) ----

export function chunksOf(fx) {
  const arr = fx.streaming?.chunks;
  if (!Array.isArray(arr)) throw new Error('streaming: chunks must be [{type: text, value} | {type: bytes, base64}]');
  return arr.map((c) => {
    if (c?.type === 'text' && typeof c.value === 'string') return Buffer.from(expandText(c.value));
    if (c?.type === 'bytes' && typeof c.base64 === 'string') return Buffer.from(c.base64, 'base64');
    throw new Error('streaming: chunks must be [{type: text, value} | {type: bytes, base64}]');
  });
}

function sseEvents(fx) {
  const asyncapi = Boolean(fx.__asyncapi);
  const list = asyncapi ? fx.examples : fx.sse?.events;
  if (!Array.isArray(list)) throw new Error('sse: events must be an array of {data, event?, id?, retry?}');
  return list.map((e) => {
    const data = asyncapi ? e : e.data;
    const ev = {};
    if (data !== undefined) ev.data = typeof data === 'string' ? data : JSON.stringify(data);
    if (!asyncapi) {
      if (typeof e.event === 'string') ev.event = e.event;
      if (typeof e.id === 'string' || Number.isInteger(e.id)) ev.id = String(e.id);
      if (Number.isInteger(e.retry)) ev.retry = e.retry;
    }
    return ev;
  });
}

/** A handler for streaming/sse fixtures (null otherwise); `reply` is the canned Response. */
export function streamHandler(fx, reply) {
  if (fx.streaming) {
    const chunks = chunksOf(fx);
    const headers = [...(Array.isArray(reply.headers) ? reply.headers : [])];
    const ct = fx.streaming.content_type;
    const out = ct ? headers.filter(([k]) => k.toLowerCase() !== 'content-type').concat([['Content-Type', ct]]) : headers;
    return () => Response.stream((function* () { yield* chunks; })(), { status: reply.status, headers: out });
  }
  if (fx.sse || fx.__asyncapi) {
    const events = sseEvents(fx);
    return (req) => {
      let from = 0;
      const last = req.headers['last-event-id'];
      if (last !== undefined) events.forEach((e, i) => { if (e.id === last) from = i + 1; });
      return Response.sse(events.slice(from));
    };
  }
  return null;
}

/** The external AsyncAPI SSE message files, as a REST fixture (fx_asyncapi_sse). */
export function asyncapiSse(fx) {
  if (fx.protocol !== 'sse' || typeof fx.channel !== 'string' || !fx.channel.startsWith('/') || !Array.isArray(fx.examples)) return false;
  fx.handler = { route: fx.channel, method: 'GET' };
  fx.request = { method: 'GET', path: fx.channel, headers: { Accept: 'text/event-stream' } };
  fx.expected_response = { status_code: 200, headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' } };
  fx.__asyncapi = true;
  return true;
}

// The `data` of every event of a text/event-stream body (WHATWG parsing).
function parseEvents(text) {
  const out = [];
  let cur = null;
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (line === '') { if (cur !== null) out.push(cur); cur = null; continue; }
    if (line.startsWith(':')) continue;
    const i = line.indexOf(':');
    const field = i < 0 ? line : line.slice(0, i);
    let value = i < 0 ? '' : line.slice(i + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'data') cur = cur === null ? value : `${cur}\n${value}`;
  }
  return out;
}

/** The streamed-body checks of fx_stream_check: null when fine, else why. */
export function checkStream(fx, res, validate) {
  if (!fx.streaming && !fx.sse && !fx.__asyncapi) return null;
  if (!/chunked/.test(res.headers['transfer-encoding'] ?? '')) return 'the body is not streamed (no Transfer-Encoding: chunked)';
  if ((fx.request.method || 'GET') === 'HEAD') return null;
  if (fx.streaming) {
    const all = Buffer.concat(chunksOf(fx));
    return all.equals(res.body) ? null : `body: ${res.body.length} bytes, expected the ${all.length} bytes of the chunks`;
  }
  if (!fx.__asyncapi) return null; // the exact text is expected_response.body
  const datas = parseEvents(res.body.toString('utf8'));
  if (datas.length !== fx.examples.length) return `${datas.length} events, expected ${fx.examples.length}`;
  for (let i = 0; i < datas.length; i++) {
    let v;
    try { v = JSON.parse(datas[i]); } catch { return `event ${i}: data is not JSON`; }
    if (!jsonEqual(v, fx.examples[i])) return `event ${i}: data differs from example ${i}`;
    const w = validate?.(fx.schema, v);
    if (w) return `event ${i}: ${w}`;
  }
  return null;
}

// ---- WebSockets (fx_ws.c) ----

export const isWsMessageFixture = (fx, category) =>
  category === 'websockets' && !fx.request && Array.isArray(fx.examples) && fx.schema && typeof fx.schema === 'object';

function siblingExample(file, name) {
  try {
    const doc = JSON.parse(readFileSync(path.join(path.dirname(file), `${name}.json`), 'utf8'));
    return Array.isArray(doc.examples) && doc.examples.length ? doc.examples[0] : undefined;
  } catch { return undefined; }
}

const messageChannel = (fx) => fx.channel ?? `/ws/${fx.name ?? 'message'}`;

function replyOf(fx) {
  for (const op of Array.isArray(fx.operations) ? fx.operations : []) {
    const rep = op?.replies;
    if (Array.isArray(rep) && typeof rep[0] === 'string') {
      const ex = siblingExample(fx.__file, rep[0]);
      if (ex === undefined) throw new Error(`reply message ${rep[0]}: no sibling fixture with an example`);
      return ex;
    }
  }
  return undefined;
}

export function registerWebSocket(fx, app, route) {
  if (fx.__wsMessage) {
    const reply = replyOf(fx);
    const options = fx.channel ? { schema: fx.schema } : { json: true };
    app.websocket(messageChannel(fx), (ws, msg, isBinary) => {
      if (isBinary) return msg;
      if (reply !== undefined) return reply;
      return msg && typeof msg === 'object' && !Array.isArray(msg) ? { ...msg, validated: true } : msg;
    }, options);
    return;
  }
  const spec = fx.handler.websocket ?? {};
  const silent = spec.behavior === 'no_response';
  const options = { json: true };
  if (spec.message_schema) options.schema = spec.message_schema;
  if (Number.isInteger(spec.max_message_bytes) && spec.max_message_bytes > 0) options.maxMessageBytes = spec.max_message_bytes;
  if (Array.isArray(spec.subprotocols)) options.subprotocols = spec.subprotocols.filter((s) => typeof s === 'string');
  if (spec.permessage_deflate === true) options.permessageDeflate = true;
  // Echo: text messages (JSON, validated by the core) go back as JSON, binary ones as they came.
  app.websocket(route, (ws, msg, isBinary) => {
    if (silent) return undefined;
    return isBinary ? msg : JSON.stringify(msg);
  }, options);
}

const OPS = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 };
const OP_NAMES = Object.fromEntries(Object.entries(OPS).map(([k, v]) => [v, k]));

function payloadOf(m) {
  if (m.payload !== undefined) return Buffer.from(JSON.stringify(m.payload));
  if (typeof m.raw_text === 'string') return Buffer.from(m.raw_text);
  if (typeof m.payload_base64 === 'string') return Buffer.from(m.payload_base64, 'base64');
  return Buffer.alloc(0);
}

function closePayload(code) {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(code);
  return b;
}

function checkFrame(m, f) {
  const want = OPS[m.frame_type];
  if (f.opcode !== want) return `expected a ${OP_NAMES[want] ?? '?'} frame, got ${OP_NAMES[f.opcode] ?? '?'}${f.opcode === 8 ? ` (${f.closeCode})` : ''}`;
  if (want === 8) return Number.isInteger(m.close_code) && m.close_code !== f.closeCode ? `close code ${f.closeCode}, expected ${m.close_code}` : null;
  if (m.payload !== undefined) {
    let got;
    try { got = JSON.parse(f.data.toString('utf8')); } catch { return `payload ${f.data.toString('utf8').slice(0, 200)} is not JSON`; }
    return jsonEqual(got, m.payload) ? null : `payload ${f.data.toString('utf8').slice(0, 200)}, expected ${JSON.stringify(m.payload).slice(0, 200)}`;
  }
  return payloadOf(m).equals(f.data) ? null : `${OP_NAMES[f.opcode]} payload differs (${f.data.length} bytes)`;
}

// A link: in memory (TestWebSocket) or a socket with masked frames.
function memoryLink(tws) {
  return {
    send: (fin, opcode, data) => tws.sendFrame({ fin, opcode, data }),
    recv: async (timeout) => {
      const f = await tws.receive({ timeout });
      return { opcode: f.opcode, data: f.data, closeCode: f.closeCode };
    },
    close: () => tws.terminate().catch(() => {}),
  };
}

function frameBytes(fin, opcode, data) {
  const mask = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);
  const len = data.length;
  const head = len < 126 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | len])
    : len < 65536 ? Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 126, len >> 8, len & 255])
      : Buffer.concat([Buffer.from([(fin ? 0x80 : 0) | opcode, 0x80 | 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(len)); return b; })()]);
  const body = Buffer.from(data);
  for (let i = 0; i < body.length; i++) body[i] ^= mask[i & 3];
  return Buffer.concat([head, mask, body]);
}

// One whole server frame at the front of `buf`: {frame, used} or null.
function parseFrame(buf) {
  if (buf.length < 2) return null;
  const opcode = buf[0] & 0x0f;
  let len = buf[1] & 0x7f, off = 2;
  if (len === 126) { if (buf.length < 4) return null; len = buf.readUInt16BE(2); off = 4; }
  else if (len === 127) { if (buf.length < 10) return null; len = Number(buf.readBigUInt64BE(2)); off = 10; }
  if (buf[1] & 0x80) off += 4; // servers do not mask; tolerated
  if (buf.length < off + len) return null;
  const data = buf.subarray(off, off + len);
  const frame = { opcode, data: opcode === 8 ? data.subarray(2) : data, closeCode: opcode === 8 ? (len >= 2 ? data.readUInt16BE(0) : 1005) : undefined };
  return { frame, used: off + len };
}

/** A socket link after sending the upgrade `bytes`: {response, link} (link null unless 101). */
export function socketLink(port, bytes, timeoutMs = 5000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    sock.setNoDelay(true);
    let buf = Buffer.alloc(0);
    let ended = false;
    let wake = null;
    let opened = false;
    const timer = setTimeout(() => { sock.destroy(); reject(new Error('no handshake response over the socket')); }, timeoutMs);
    const headers = (head) => {
      const lines = head.toString('latin1').split('\r\n');
      const hs = [];
      for (const l of lines.slice(1)) { const i = l.indexOf(':'); if (i > 0) hs.push(l.slice(0, i), l.slice(i + 1).trim()); }
      return { status: Number(lines[0].split(' ')[1]), headers: hs };
    };
    const tryOpen = () => {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const h = headers(buf.subarray(0, end));
      if (h.status === 101) {
        opened = true;
        clearTimeout(timer);
        buf = buf.subarray(end + 4);
        resolve({ response: new TestResponse({ ...h, body: Buffer.alloc(0) }), link });
        return;
      }
      const m = /\r\ncontent-length:\s*(\d+)/i.exec(buf.subarray(0, end + 2).toString('latin1'));
      const n = m ? Number(m[1]) : 0;
      if (buf.length - end - 4 < n && !ended) return;
      opened = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ response: new TestResponse({ ...h, body: buf.subarray(end + 4, end + 4 + n) }), link: null });
    };
    const link = {
      send: (fin, opcode, data) => new Promise((res, rej) => sock.write(frameBytes(fin, opcode, data), (e) => (e ? rej(e) : res()))),
      recv: (timeout) => new Promise((res, rej) => {
        const t = setTimeout(() => { wake = null; rej(new Error('no frame in time')); }, timeout);
        const attempt = () => {
          const p = parseFrame(buf);
          if (p) { clearTimeout(t); wake = null; buf = buf.subarray(p.used); res(p.frame); return true; }
          if (ended) { clearTimeout(t); wake = null; rej(new Error('the server closed the connection')); return true; }
          return false;
        };
        if (!attempt()) wake = attempt;
      }),
      close: () => { sock.destroy(); },
    };
    sock.on('connect', () => sock.write(bytes));
    sock.on('data', (d) => { buf = Buffer.concat([buf, d]); if (!opened) tryOpen(); else wake?.(); });
    const onEnd = () => { ended = true; if (!opened) tryOpen(); if (!opened) { clearTimeout(timer); reject(new Error('no handshake response over the socket')); } else wake?.(); };
    sock.on('end', onEnd);
    sock.on('close', onEnd);
    sock.on('error', () => {});
  });
}

/** Play `websocket.messages` then the closing handshake (fx_ws_session). null, or why. */
export async function playSession(fx, link, timeout = 5000) {
  const ws = fx.websocket ?? {};
  let closed = false;
  const msgs = Array.isArray(ws.messages) ? ws.messages : [];
  for (let i = 0; i < msgs.length; i++) {
    const m = msgs[i];
    const op = OPS[m.frame_type];
    try {
      if (m.direction === 'send') {
        if (op === 8) {
          await link.send(true, 8, Number.isInteger(m.close_code) ? closePayload(m.close_code) : Buffer.alloc(0));
          closed = true;
        } else {
          await link.send(typeof m.fin === 'boolean' ? m.fin : true, op, payloadOf(m));
        }
      } else {
        const f = await link.recv(timeout);
        const why = checkFrame(m, f);
        if (why) return `websocket message ${i + 1}: ${why}`;
        if (f.opcode === 8) closed = true;
      }
    } catch (e) {
      return `websocket message ${i + 1}: ${e.message}`;
    }
  }
  if (closed) return null;
  const code = Number.isInteger(ws.close_code) ? ws.close_code : 1000;
  try {
    await link.send(true, 8, closePayload(code));
    const f = await link.recv(timeout);
    if (f.opcode !== 8 || f.closeCode !== code) return `websocket close: got ${OP_NAMES[f.opcode] ?? '?'} (code ${f.closeCode}), expected close ${code}`;
  } catch (e) {
    return `websocket close: ${e.message}`;
  }
  return null;
}

/** The AsyncAPI message fixtures: every example sent, the reply (or echo + validated) expected. */
export async function playMessages(fx, link, timeout = 5000) {
  const reply = replyOf(fx);
  for (let i = 0; i < fx.examples.length; i++) {
    const ex = fx.examples[i];
    const text = JSON.stringify(ex);
    await link.send(true, 1, Buffer.from(text));
    let f;
    try { f = await link.recv(timeout); } catch (e) { return `example ${i + 1}: ${e.message}`; }
    const want = reply !== undefined ? reply : ex && typeof ex === 'object' && !Array.isArray(ex) ? { ...ex, validated: true } : ex;
    let got;
    try { got = JSON.parse(f.data.toString('utf8')); } catch { got = Symbol('not JSON'); }
    if (f.opcode !== 1 || !jsonEqual(got, want)) return `example ${i + 1}: got ${f.data.toString('utf8').slice(0, 200)}`;
  }
  return null;
}

export const upgradeFor = (channel) => Buffer.from(`GET ${channel} HTTP/1.1\r\nHost: localhost\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`);
export { memoryLink, messageChannel };
