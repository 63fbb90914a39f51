// Replays fixtures (testing_data/<category>/*.json, format: testing_data/README.md) through the
// Node binding: the app is built with the public API (routes, schemas, middleware config), the
// handler is a JS function answering like the C runner's canned handler (e2e/c/fx_app.c), and
// the request goes as raw HTTP/1.1 bytes through TestClient.raw (e2e/c/fx_request.c rules).
// Features the binding does not expose yet are counted as skipped, with the reason.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import zlib from 'node:zlib';
import net from 'node:net';
import { Spikard, TestClient, TestResponse, Response } from '../../lib/index.js';
import {
  setupBackground, spawnFromBody, registerHooks, registerDependencies, streamHandler, asyncapiSse,
  checkStream, isWsMessageFixture, registerWebSocket, memoryLink, socketLink, playSession, playMessages,
  upgradeFor, messageChannel, jsonEqual,
} from './canned.mjs';

const PLACEHOLDER = { placeholder: true };
const NOT_REST = ['graphql', 'protobuf', 'jsonrpc', 'asyncapi_schemas', 'openapi_schemas',
  'openrpc_schemas', 'schemas', 'sql_handlers'];
const UNSUPPORTED_KEYS = [];
const UNSUPPORTED_HANDLER = [];
const UNSUPPORTED_MW = [];
const RUNNER_PLAYED = ['body_limit', 'lifecycle_hooks']; // not app configuration (fx_mw.c)
const RUNNER_ONLY = { rate_limit: ['warmup_requests', 'warmup_expect_status', 'sleep_ms_between'],
  request_timeout: ['sleep_ms'] };
const MW_OWNED = ['access-control-', 'vary', 'content-encoding', 'ratelimit', 'x-ratelimit',
  'retry-after', 'www-authenticate'];

export function loadFixtures(dir) {
  const out = [];
  for (const cat of readdirSync(dir).sort()) {
    const d = path.join(dir, cat);
    if (!statSync(d).isDirectory()) continue;
    for (const f of readdirSync(d).sort()) {
      if (!f.endsWith('.json') || f.startsWith('00-') || f === 'schema.json') continue;
      try {
        const fx = JSON.parse(readFileSync(path.join(d, f), 'utf8'));
        if (fx && typeof fx === 'object') fx.__file = path.join(d, f);
        if (fx && (fx.expected_response || isWsMessageFixture(fx, cat) || asyncapiSse(fx)))
          out.push({ id: `${cat}/${f.replace(/\.json$/, '')}`, category: cat, fx });
      } catch { /* not a fixture */ }
    }
  }
  return out;
}

// {{ repeat 'x' N times }} in everything sent (fx_load.c).
const TEMPLATE = /\{\{\s*repeat\s*(['"])(.*?)\1\s*(\d{1,9})\s*times\s*\}\}/g;
function expand(v) {
  if (typeof v === 'string') return v.replace(TEMPLATE, (_, q, unit, n) => unit.repeat(Number(n)));
  if (Array.isArray(v)) return v.map(expand);
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) o[expand(k)] = expand(x);
    return o;
  }
  return v;
}

function skipReason(fx, category) {
  if (NOT_REST.includes(category)) return 'not REST';
  if (isWsMessageFixture(fx, category)) { fx.__wsMessage = true; return null; }
  for (const k of UNSUPPORTED_KEYS) if (fx[k]) return k;
  const h = fx.handler || {};
  for (const k of UNSUPPORTED_HANDLER) if (h[k] != null) return `handler.${k}`;
  for (const k of UNSUPPORTED_MW) if (h.middleware?.[k]) return `middleware.${k}`;
  if (!fx.request) return 'no request';
  return null;
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function concrete(v) {
  if (v === '<<uuid>>') return randomUUID();
  if (v === '<<present>>') return 'present';
  if (Array.isArray(v)) return v.map(concrete);
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) if (x !== '<<absent>>') o[k] = concrete(x);
    return o;
  }
  return v;
}

function isToken(v) { return typeof v === 'string' && v.startsWith('<<') && v.endsWith('>>'); }

function setCookie(name, c) {
  if (typeof c !== 'object' || c === null) return `${name}=${c}`;
  let s = `${name}=${c.value ?? ''}`;
  const attrs = [['path', 'Path'], ['domain', 'Domain'], ['max_age', 'Max-Age'], ['expires', 'Expires'],
    ['samesite', 'SameSite'], ['same_site', 'SameSite']];
  for (const [k, n] of attrs) if (c[k] != null) s += `; ${n}=${c[k]}`;
  if (c.secure) s += '; Secure';
  if (c.httponly || c.http_only) s += '; HttpOnly';
  return s;
}

// The canned reply: the fixture's success answer; a placeholder 200 for expected errors, so only
// the framework can produce them.
function makeReply(fx) {
  const exp = fx.expected_response;
  const h = fx.handler || {};
  const mw = h.middleware;
  if (exp.status_code >= 400) return new Response(PLACEHOLDER, { status: 200 });
  const owned = (name) => {
    const n = name.toLowerCase();
    if (['content-length', 'transfer-encoding', 'connection', 'date'].includes(n)) return true;
    if (mw?.lifecycle_hooks && n !== 'content-type') return true; // a hook's to produce
    if (!mw && !h.cors && h.compression === undefined) return false;
    const rid = mw?.request_id;
    if (rid && typeof rid === 'object' && n === String(rid.header || 'x-request-id').toLowerCase()) return true;
    return MW_OWNED.some((p) => n.startsWith(p));
  };
  const headers = [];
  const own = h.response_headers || {};
  const ownNames = new Set(Object.keys(own).map((k) => k.toLowerCase()));
  for (const [k, v] of Object.entries(exp.headers || {}))
    if (typeof v === 'string' && !isToken(v) && !owned(k) && !ownNames.has(k.toLowerCase())) headers.push([k, v]);
  for (const [k, v] of Object.entries(own)) if (typeof v === 'string') headers.push([k, v]);
  for (const [k, v] of Object.entries(exp.cookies || {})) headers.push(['Set-Cookie', setCookie(k, v)]);
  const hasCt = headers.some(([k]) => k.toLowerCase() === 'content-type');
  let body = exp.body;
  if (typeof body === 'string') {
    if (!hasCt && body.length) headers.unshift(['Content-Type', 'text/plain; charset=utf-8']);
  } else if (body !== undefined && body !== null) {
    body = JSON.stringify(concrete(body));
    if (!hasCt) headers.unshift(['Content-Type', 'application/json']);
  } else {
    body = undefined;
  }
  return new Response(body === '' ? undefined : body, { status: exp.status_code, headers });
}

// static_files: each mount's `files` written into a fresh temporary directory (fx_mw.c),
// passed as the mount's `directory`; `tmpdirs` collects what to remove afterwards.
function staticMounts(mounts, tmpdirs) {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'spk-node-static-'));
  tmpdirs.push(tmp);
  return mounts.map((m, i) => {
    const name = m.directory_name && !m.directory_name.includes('/') ? m.directory_name : 'public';
    const root = path.join(tmp, `${i}-${name}`);
    mkdirSync(root);
    for (const f of m.files || []) {
      if (!f.path || f.path.startsWith('/') || f.path.includes('..')) throw new Error('static_files: bad file path');
      const p = path.join(root, f.path);
      mkdirSync(path.dirname(p), { recursive: true });
      if (f.symlink !== undefined) symlinkSync(f.symlink, p);
      else if (f.directory === true) mkdirSync(p, { recursive: true });
      else {
        writeFileSync(p, f.content !== undefined ? Buffer.from(f.content) : Buffer.from(f.content_base64 ?? '', 'base64'));
        if (Number.isInteger(f.mtime)) utimesSync(p, f.mtime, f.mtime);
      }
    }
    const out = { directory: root };
    for (const [k, v] of Object.entries(m)) if (k !== 'files' && k !== 'directory_name') out[k] = v;
    return out;
  });
}

function appConfig(mw, tmpdirs) {
  const out = {};
  for (const [k, v] of Object.entries(mw || {})) {
    if (RUNNER_PLAYED.includes(k) || UNSUPPORTED_MW.includes(k)) continue;
    if (k === 'static_files') { out[k] = staticMounts(v, tmpdirs); continue; }
    if (RUNNER_ONLY[k] && v && typeof v === 'object') {
      const c = { ...v };
      for (const d of RUNNER_ONLY[k]) delete c[d];
      out[k] = c;
    } else {
      out[k] = v;
    }
  }
  return out;
}

function buildApp(fx, tmpdirs) {
  if (fx.__wsMessage) { // no request: a WebSocket route on its channel
    const app = new Spikard();
    registerWebSocket(fx, app, null);
    return { app };
  }
  const h = fx.handler || {};
  const mw = h.middleware;
  const app = new Spikard();
  const cfg = appConfig(mw, tmpdirs);
  const limits = {};
  if (h.max_header_size > 0) limits.max_header_bytes = h.max_header_size;
  if (h.max_uri_length > 0) limits.max_request_line = h.max_uri_length;
  if (Object.keys(limits).length) app.setLimits(limits);
  if (Object.keys(cfg).length) app.configure(cfg);
  const reqMethod = fx.request.method || 'GET';
  const route = h.route || fx.request.path.split('?')[0];
  const method = h.method || reqMethod;
  const reply = makeReply(fx);
  const sleepMs = mw?.request_timeout?.sleep_ms;
  const st = setupBackground(fx, app);
  registerHooks(fx, app, st);
  const handler = streamHandler(fx, reply) ?? (async (req) => {
    spawnFromBody(st, req); // the handler's tasks first: a full queue fails the request (503)
    if (h.raises) throw new Error(String(h.raises));
    if (sleepMs > 0) await sleep(sleepMs);
    return reply;
  });
  const meta = { method, path: route };
  if (h.parameters) meta.parameters = h.parameters;
  if (h.body_schema != null) meta.request_schema = h.body_schema;
  if (h.max_body_size > 0) meta.max_body_bytes = h.max_body_size;
  const rmw = {};
  if (h.cors) rmw.cors = h.cors;
  if (mw?.body_limit) rmw.body_limit = mw.body_limit;
  if (h.compression !== undefined) rmw.compression = h.compression;
  if (Object.keys(rmw).length) meta.middleware = rmw;
  registerDependencies(fx, app, meta, st);
  if (mw?.static_files) return { app, st }; // the mount answers; no route (fx_app.c)
  if (h.websocket) {
    registerWebSocket(fx, app, route);
    return { app, st };
  }
  app.addRoute(meta, handler);
  const coreAnswers = (reqMethod === 'HEAD' && method === 'GET') || reqMethod === 'OPTIONS';
  if (reqMethod !== method && fx.expected_response.status_code < 400 && !coreAnswers) {
    try { app.addRoute({ ...meta, method: reqMethod }, handler); } catch (e) { if (!/EEXIST/.test(e.code)) throw e; }
  }
  return { app, st };
}

// ---- the request as bytes (fx_request.c) ----
const BOUNDARY = 'spkFixtureBoundary7d93b1c2e4';

function scalar(v) {
  if (v === null || v === undefined) return null;
  if (typeof v === 'object') return null;
  return String(v);
}

function urlencode(obj) {
  const parts = [];
  for (const [k, v] of Object.entries(obj)) {
    for (const x of Array.isArray(v) ? v : [v]) {
      const s = scalar(x);
      if (s !== null) parts.push(`${encodeURIComponent(k)}=${encodeURIComponent(s)}`);
    }
  }
  return parts.join('&');
}

function multipart(r) {
  const chunks = [];
  for (const [k, v] of Object.entries(r.data || {})) {
    for (const x of Array.isArray(v) ? v : [v]) {
      const s = typeof x === 'object' && x !== null ? JSON.stringify(x) : scalar(x);
      if (s === null) continue;
      chunks.push(Buffer.from(`--${BOUNDARY}\r\nContent-Disposition: form-data; name="${k}"\r\n\r\n${s}\r\n`));
    }
  }
  for (const f of r.files || []) {
    let head = `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${f.field_name}"`;
    if (f.filename !== undefined && f.filename !== null) head += `; filename="${f.filename}"`;
    head += '\r\n';
    if (f.content_type) head += `Content-Type: ${f.content_type}\r\n`;
    for (const [k, v] of Object.entries(f.headers || {})) head += `${k}: ${v}\r\n`;
    head += '\r\n';
    let content;
    if (f.content_base64 !== undefined) content = Buffer.from(f.content_base64, 'base64');
    else if (f.magic_bytes !== undefined) content = Buffer.from(f.magic_bytes, 'hex');
    else content = Buffer.from(f.content ?? '');
    chunks.push(Buffer.from(head), content, Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${BOUNDARY}--\r\n`));
  return Buffer.concat(chunks);
}

export function requestBytes(fx) {
  const r = expand(fx.request);
  const method = r.method || 'GET';
  let target = r.path;
  if (!target.includes('?')) {
    if (typeof r.query_string === 'string' && r.query_string) target += `?${r.query_string}`;
    else if (r.query_params) {
      const q = urlencode(r.query_params);
      if (q) target += `?${q}`;
    }
  }
  const headers = [];
  for (const [k, v] of Object.entries(r.headers || {})) { const s = scalar(v); if (s !== null) headers.push([k, s]); }
  const has = (n) => headers.some(([k]) => k.toLowerCase() === n);
  const reqCt = r.content_type;
  let body = Buffer.alloc(0);
  let defaultCt = null;
  if (r.files || r.data || (reqCt && /^multipart\//i.test(reqCt))) {
    body = multipart({ data: { ...r.data, ...(typeof r.form_data === 'object' ? r.form_data : {}) }, files: r.files });
    const base = reqCt || 'multipart/form-data';
    defaultCt = base.includes('boundary=') ? base : `${base}; boundary=${BOUNDARY}`;
  } else if (r.form_data && typeof r.form_data === 'object') {
    body = Buffer.from(urlencode(r.form_data));
    defaultCt = reqCt || 'application/x-www-form-urlencoded';
  } else if (r.body_base64 !== undefined) {
    body = Buffer.from(r.body_base64, 'base64');
    defaultCt = reqCt;
  } else if (typeof r.body === 'string') {
    body = Buffer.from(r.body);
    defaultCt = reqCt;
  } else if (r.body !== undefined && r.body !== null) {
    body = Buffer.from(JSON.stringify(r.body));
    defaultCt = reqCt || (fx.__id === 'content_types/19_missing_content_type_default_json' ? null : 'application/json');
  }
  if (!has('host')) headers.push(['Host', 'testclient']);
  if (r.cookies) {
    const c = Object.entries(r.cookies).map(([k, v]) => [k, scalar(v)]).filter(([, v]) => v !== null)
      .map(([k, v]) => `${k}=${v}`).join('; ');
    if (c) headers.push(['Cookie', c]);
  }
  if (!has('content-type') && defaultCt) headers.push(['Content-Type', defaultCt]);
  if (!has('content-length') && !has('transfer-encoding') &&
      (body.length || ['POST', 'PUT', 'PATCH'].includes(method)))
    headers.push(['Content-Length', String(body.length)]);
  let head = `${method} ${target} HTTP/1.1\r\n`;
  for (const [k, v] of headers) head += `${k}: ${v}\r\n`;
  head += '\r\n';
  return Buffer.concat([Buffer.from(head, 'latin1'), body]);
}

// The body as the client reads it: content codings undone (zstd through the zstd tool; Node
// 20's zlib has none).
function decoded(res) {
  const enc = (res.headers['content-encoding'] || '').trim().toLowerCase();
  if (!enc || enc === 'identity') return res.body;
  if (enc === 'gzip' || enc === 'x-gzip') return zlib.gunzipSync(res.body);
  if (enc === 'deflate') return zlib.inflateSync(res.body);
  if (enc === 'br') return zlib.brotliDecompressSync(res.body);
  if (enc === 'zstd') {
    const p = spawnSync('zstd', ['-dc'], { input: res.body });
    if (p.status !== 0) throw new Error('zstd -dc failed');
    return p.stdout;
  }
  return res.body; /* a coding the client does not know is passed through, as by the C runner */
}

// ---- comparison (fx_compare.c, tier 1) ----
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function match(exp, act, where) {
  if (typeof exp === 'string' && exp.startsWith('<<')) {
    if (exp === '<<present>>' || exp.startsWith('<<same_as:')) return null;
    if (exp === '<<uuid>>') return typeof act === 'string' && UUID.test(act) ? null : `${where}: expected a UUID`;
  }
  if (typeof exp === 'number' && typeof act === 'number') return exp === act ? null : `${where}: ${act} != ${exp}`;
  if (exp === null) return act === null ? null : `${where}: expected null`;
  if (Array.isArray(exp)) {
    if (!Array.isArray(act) || act.length !== exp.length) return `${where}: array length`;
    for (let i = 0; i < exp.length; i++) { const w = match(exp[i], act[i], `${where}[${i}]`); if (w) return w; }
    return null;
  }
  if (typeof exp === 'object') {
    if (!act || typeof act !== 'object' || Array.isArray(act)) return `${where}: expected an object`;
    for (const [k, v] of Object.entries(exp)) {
      if (v === '<<absent>>') { if (k in act) return `${where}.${k}: expected absent`; continue; }
      if (!(k in act)) return `${where}.${k}: missing`;
      const w = match(v, act[k], `${where}.${k}`);
      if (w) return w;
    }
    for (const k of Object.keys(act)) if (!(k in exp)) return `${where}.${k}: unexpected`;
    return null;
  }
  return exp === act ? null : `${where}: ${JSON.stringify(act)} != ${JSON.stringify(exp)}`;
}

function isProblemWithErrors(b) {
  return b && typeof b === 'object' && Array.isArray(b.errors) && /validation-error/.test(String(b.type || ''));
}

function compare(fx, res) {
  const exp = fx.expected_response;
  if (res.status !== exp.status_code) return `status ${res.status}, expected ${exp.status_code}: ${res.text().slice(0, 200)}`;
  for (const [k, v] of Object.entries(exp.headers || {})) {
    const got = res.headerList.filter(([n]) => n === k.toLowerCase()).map(([, x]) => x);
    if (v === '<<absent>>') { if (got.length) return `header ${k}: expected absent`; continue; }
    if (!got.length) return `header ${k}: missing`;
    if (v === '<<present>>' || String(v).startsWith('<<same_as:')) continue;
    if (v === '<<uuid>>') { if (!UUID.test(got[0])) return `header ${k}: expected a UUID`; continue; }
    const joined = got.join(', ');
    if (!got.includes(String(v)) && joined !== String(v)) {
      let ok = false;
      if (String(v).includes('.*')) try { ok = new RegExp(`^${v}$`).test(joined); } catch { /* not a regex */ }
      if (!ok) return `header ${k}: ${joined} != ${v}`;
    }
  }
  for (const [name, c] of Object.entries(exp.cookies || {})) {
    const sc = res.headerList.filter(([n]) => n === 'set-cookie').map(([, x]) => x);
    const hit = sc.find((x) => x.startsWith(`${name}=`));
    if (!hit) return `cookie ${name}: missing`;
    const want = typeof c === 'object' && c !== null ? c.value : c;
    if (want !== undefined && hit.slice(name.length + 1).split(';')[0] !== String(want)) return `cookie ${name}: value`;
  }
  const eb = exp.body;
  if (eb === undefined || eb === null) return null;
  if (fx.streaming) return null; // the chunks are the truth (checkStream); an external body is an escaped rendering
  if ((fx.request.method || 'GET') === 'HEAD') return null; /* no body to compare */
  let text;
  try { text = decoded(res).toString('utf8'); } catch (e) { return `body: ${e.message}`; }
  if (typeof eb === 'string') return text === eb ? null : `body ${JSON.stringify(text.slice(0, 120))} != ${JSON.stringify(eb.slice(0, 120))}`;
  let act;
  try { act = JSON.parse(text); } catch { return `body is not JSON: ${text.slice(0, 120)}`; }
  if (isProblemWithErrors(eb)) {
    for (const k of ['type', 'title', 'status', 'detail']) if (k in eb) { const w = match(eb[k], act?.[k], `body.${k}`); if (w) return w; }
    if (!Array.isArray(act?.errors)) return 'body.errors missing';
    const key = (e) => `${e.type}|${JSON.stringify(e.loc)}`;
    const a = act.errors.map(key).sort(), e = eb.errors.map(key).sort();
    return JSON.stringify(a) === JSON.stringify(e) ? null : `errors ${JSON.stringify(a)} != ${JSON.stringify(e)}`;
  }
  return match(eb, act, 'body');
}

async function runOne(entry, live) {
  const { fx } = entry;
  fx.__id = entry.id;
  const why = skipReason(fx, entry.category);
  if (why) return { result: 'skip', why };
  const tmpdirs = [];
  try {
    return await runBuilt(fx, tmpdirs, live);
  } finally {
    for (const d of tmpdirs) rmSync(d, { recursive: true, force: true });
  }
}

// One raw request over a real socket to a live server; the response read by length, chunks
// or close (1xx interim responses skipped), shaped like a TestClient response.
function parseResponse(buf, isHead) {
  let off = 0;
  for (;;) {
    const end = buf.indexOf('\r\n\r\n', off);
    if (end < 0) return null;
    const lines = buf.subarray(off, end).toString('latin1').split('\r\n');
    const status = Number(lines[0].split(' ')[1]);
    const headers = [];
    for (const l of lines.slice(1)) { const i = l.indexOf(':'); headers.push(l.slice(0, i), l.slice(i + 1).trim()); }
    const bodyStart = end + 4;
    if (status >= 100 && status < 200 && status !== 101) { off = bodyStart; continue; }
    const get = (n) => { for (let i = 0; i < headers.length; i += 2) if (headers[i].toLowerCase() === n) return headers[i + 1]; return undefined; };
    if (isHead || status === 204 || status === 304) return { status, headers, body: Buffer.alloc(0) };
    const cl = get('content-length');
    if (cl !== undefined) {
      const n = Number(cl);
      return buf.length - bodyStart >= n ? { status, headers, body: buf.subarray(bodyStart, bodyStart + n) } : null;
    }
    if (/chunked/i.test(get('transfer-encoding') || '')) {
      const parts = [];
      let p = bodyStart;
      for (;;) {
        const le = buf.indexOf('\r\n', p);
        if (le < 0) return null;
        const size = parseInt(buf.subarray(p, le).toString('latin1'), 16);
        if (size === 0) return buf.indexOf('\r\n', le + 2) >= 0 ? { status, headers, body: Buffer.concat(parts) } : null;
        if (buf.length < le + 2 + size + 2) return null;
        parts.push(buf.subarray(le + 2, le + 2 + size));
        p = le + 2 + size + 2;
      }
    }
    return undefined; // read until close
  }
}

// A declared Content-Length longer than the body: the client half-closes after sending, as the
// C runner does, so the server sees the end of input instead of waiting for the rest.
function shortBody(bytes) {
  const end = bytes.indexOf('\r\n\r\n');
  const m = /\r\ncontent-length:\s*(\d+)/i.exec(bytes.subarray(0, end).toString('latin1'));
  return m ? Number(m[1]) > bytes.length - end - 4 : false;
}

function sendLive(port, bytes, isHead) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let buf = Buffer.alloc(0);
    let done = false;
    const finish = (r) => { if (done) return; done = true; sock.destroy(); clearTimeout(timer); resolve(new TestResponse(r)); };
    const timer = setTimeout(() => { if (!done) { done = true; sock.destroy(); reject(new Error('live: timeout')); } }, 10000);
    sock.on('connect', () => (shortBody(bytes) ? sock.end(bytes) : sock.write(bytes)));
    sock.on('data', (d) => { buf = Buffer.concat([buf, d]); const r = parseResponse(buf, isHead); if (r) finish(r); });
    sock.on('error', (e) => { if (!done) { const r = parseResponse(buf, isHead); if (r) finish(r); else { done = true; clearTimeout(timer); reject(e); } } });
    sock.on('end', () => {
      if (done) return;
      const r = parseResponse(buf, isHead);
      if (r) return finish(r);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) { done = true; clearTimeout(timer); return reject(new Error('live: no response')); }
      const lines = buf.subarray(0, end).toString('latin1').split('\r\n');
      const headers = [];
      for (const l of lines.slice(1)) { const i = l.indexOf(':'); headers.push(l.slice(0, i), l.slice(i + 1).trim()); }
      finish({ status: Number(lines[0].split(' ')[1]), headers, body: buf.subarray(end + 4) });
    });
  });
}

// A JSON value against a JSON Schema through the core's validator (a body contract).
async function coreValidates(schema, value) {
  const app = new Spikard();
  app.post('/v', { body: schema }, () => 'ok');
  const r = await new TestClient(app).post('/v', { json: value });
  return r.status === 200;
}

// The background state: drained by the test client in C; here polled until it matches.
async function checkBackground(fx, send) {
  const sec = fx.background;
  const bytes = Buffer.from(`GET ${sec.state_path} HTTP/1.1\r\nHost: localhost\r\n\r\n`);
  await sleep(20);
  let last = '';
  for (let t = 0; t < 3000; t += 20) {
    const r = await send(bytes);
    if (r.status !== 200) return `background: GET state answered ${r.status}`;
    let got;
    try { got = JSON.parse(r.text())[sec.state_key]; } catch { return 'background: the state is not JSON'; }
    if (jsonEqual(got, sec.expected_state)) {
      if (!(Array.isArray(got) && got.length === 0)) return null;
      if (t >= 100) return null; // an empty state stays empty for a while
    }
    last = r.text();
    await sleep(20);
  }
  return `background: state ${last.slice(0, 200)}, expected ${JSON.stringify(sec.expected_state).slice(0, 200)}`;
}

async function runBefore(fx, send) {
  const list = fx.background?.before;
  if (!Array.isArray(list)) return null;
  for (let i = 0; i < list.length; i++) {
    const item = list[i];
    if (!item?.request || typeof item.request !== 'object') return `background.before[${i}]: no request`;
    const r = await send(requestBytes({ ...fx, request: item.request }));
    if (Number.isInteger(item.expect_status) && r.status !== item.expect_status)
      return `background.before[${i}]: status ${r.status}, expected ${item.expect_status}`;
  }
  return null;
}

async function runWebSocket(fx, app, live) {
  let server, link = null, response;
  try {
    const bytes = fx.__wsMessage ? upgradeFor(messageChannel(fx)) : requestBytes(fx);
    if (live) {
      server = await app.listen({ port: 0, engine: typeof live === 'string' ? live : 'node' });
      ({ response, link } = await socketLink(server.port, bytes));
    } else {
      const r = await new TestClient(app).websocketRaw(bytes);
      response = r.response;
      link = r.ws ? memoryLink(r.ws) : null;
    }
    if (fx.__wsMessage) {
      if (response.status !== 101) return { result: 'fail', why: `handshake answered ${response.status}` };
      const w = await playMessages(fx, link);
      return w ? { result: 'fail', why: w } : { result: 'pass' };
    }
    const w = compare(fx, response) ?? (response.status === 101 ? await playSession(fx, link) : null);
    return w ? { result: 'fail', why: w } : { result: 'pass' };
  } catch (e) {
    return { result: 'fail', why: `websocket: ${e.message}` };
  } finally {
    await link?.close();
    if (server) await server.close();
  }
}

async function runBuilt(fx, tmpdirs, live) {
  let app;
  try { ({ app } = buildApp(fx, tmpdirs)); } catch (e) { return { result: 'fail', why: `build: ${e.message}` }; }
  if (fx.__wsMessage || fx.handler?.websocket) return runWebSocket(fx, app, live);
  let send, server;
  const isHead = (fx.request.method || 'GET') === 'HEAD';
  if (live) {
    server = await app.listen({ port: 0, engine: typeof live === 'string' ? live : 'node' });
    send = (b, head = isHead) => sendLive(server.port, b, head);
  } else {
    const client = new TestClient(app);
    send = (b) => client.raw(b);
  }
  let res, w;
  try {
    w = await runBefore(fx, (b) => send(b, false));
    const rl = fx.handler?.middleware?.rate_limit;
    if (!w && rl?.warmup_requests) {
      for (let i = 0; i < rl.warmup_requests; i++) await send(requestBytes(fx));
      if (rl.sleep_ms_between) await sleep(rl.sleep_ms_between);
    }
    if (!w) res = await send(requestBytes(fx));
    if (!w) w = compare(fx, res) ?? checkStream(fx, { headers: res.headers, body: decoded(res) });
    if (!w && fx.__asyncapi && fx.schema) {
      for (let i = 0; i < fx.examples.length && !w; i++)
        if (!(await coreValidates(fx.schema, fx.examples[i]))) w = `event ${i}: data does not match the message schema`;
    }
    if (!w && fx.background) w = await checkBackground(fx, (b) => send(b, false));
  } catch (e) {
    w = `send: ${e.message}`;
  } finally {
    if (server) await server.close();
  }
  return w ? { result: 'fail', why: w } : { result: 'pass' };
}

/**
 * Replays every fixture of `dir` (TestClient, or a live server with `live`: true for the `node`
 * engine, or an engine name), optionally only `categories`:
 * {categories: {cat: {pass, fail, skip}}, failures: [{id, why}]}
 */
export async function replay(dir, { only, live = false, categories: onlyCategories } = {}) {
  const categories = {};
  const failures = [];
  const skips = {};
  for (const entry of loadFixtures(dir)) {
    if (only && !entry.id.includes(only)) continue;
    if (onlyCategories && !onlyCategories.includes(entry.category)) continue;
    const c = (categories[entry.category] ??= { pass: 0, fail: 0, skip: 0 });
    const r = await runOne(entry, live);
    c[r.result]++;
    if (r.result === 'fail') failures.push({ id: entry.id, why: r.why });
    if (r.result === 'skip') skips[r.why] = (skips[r.why] || 0) + 1;
  }
  return { categories, failures, skips };
}
