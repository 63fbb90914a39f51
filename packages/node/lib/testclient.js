// TestClient: requests through the app's in-memory core pipeline (the server's parser,
// router, validation and writer), no sockets. Requests from one client are sent one at a time.
import { native } from './native.js';
import { handleOf } from './app.js';
import { TestWebSocket, WebSocketHandshakeError, upgradeBytes } from './ws.js';

export class TestResponse {
  constructor(raw) {
    this.status = raw.status;
    this.statusCode = raw.status;
    this.body = raw.body;
    this.headerList = [];
    this.headers = Object.create(null);
    for (let i = 0; i + 1 < raw.headers.length; i += 2) {
      const k = raw.headers[i].toLowerCase();
      const v = raw.headers[i + 1];
      this.headerList.push([k, v]);
      this.headers[k] = k in this.headers ? `${this.headers[k]}, ${v}` : v;
    }
  }

  text() { return this.body.toString('utf8'); }

  json() { return JSON.parse(this.text()); }
}

function flat(headers) {
  const out = [];
  if (!headers) return out;
  const entries = Array.isArray(headers) ? headers : Object.entries(headers);
  for (const [k, v] of entries) {
    if (Array.isArray(v)) for (const x of v) out.push(k, String(x));
    else out.push(k, String(v));
  }
  return out;
}

function hasHeader(list, name) {
  for (let i = 0; i < list.length; i += 2) if (list[i].toLowerCase() === name) return true;
  return false;
}

export class TestClient {
  #h;
  #queue = Promise.resolve();

  constructor(app) {
    this.#h = native.testClient(app[handleOf]);
  }

  /**
   * @param {string} method
   * @param {string} path target, may carry a query
   * @param {{headers?: object, query?: object, json?: unknown, body?: string|Buffer,
   *          form?: object, cookies?: object}} [options]
   */
  request(method, path, options = {}) {
    let target = path;
    if (options.query) {
      const q = new URLSearchParams();
      for (const [k, v] of Object.entries(options.query))
        for (const x of Array.isArray(v) ? v : [v]) q.append(k, String(x));
      const s = q.toString();
      if (s) target += (target.includes('?') ? '&' : '?') + s;
    }
    const headers = flat(options.headers);
    let body;
    if (options.json !== undefined) {
      body = Buffer.from(JSON.stringify(options.json));
      if (!hasHeader(headers, 'content-type')) headers.push('Content-Type', 'application/json');
    } else if (options.form !== undefined) {
      body = Buffer.from(new URLSearchParams(options.form).toString());
      if (!hasHeader(headers, 'content-type'))
        headers.push('Content-Type', 'application/x-www-form-urlencoded');
    } else if (options.body !== undefined) {
      body = Buffer.isBuffer(options.body) ? options.body : Buffer.from(String(options.body));
    }
    if (options.cookies) {
      const c = Object.entries(options.cookies).map(([k, v]) => `${k}=${v}`).join('; ');
      if (c) headers.push('Cookie', c);
    }
    return this.#send(method.toUpperCase(), target, headers, body, false);
  }

  /** Raw HTTP/1.1 bytes, one request (malformed-input tests). */
  raw(bytes) {
    return this.#send('', '', [], Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes), true);
  }

  /**
   * Open a WebSocket on the in-memory pipeline: resolves to a TestWebSocket after a 101,
   * rejects with a WebSocketHandshakeError (its `response`) otherwise.
   * @param {{headers?: object, subprotocols?: string[], query?: object}} [options]
   */
  async websocket(path, options = {}) {
    const { response, ws } = await this.websocketRaw(upgradeBytes(path, options));
    if (!ws) throw new WebSocketHandshakeError(response);
    return ws;
  }

  /** The upgrade request as raw bytes: {response, ws} (ws null unless 101). */
  async websocketRaw(bytes) {
    const r = await native.wsConnect(this.#h, Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes));
    const response = new TestResponse(r);
    return { response, ws: r.ws ? new TestWebSocket(r.ws, response) : null };
  }

  #send(method, target, headers, body, raw) {
    const p = this.#queue.then(() =>
      native.testClientSend(this.#h, method, target, headers, body, raw));
    this.#queue = p.catch(() => {});
    return p.then((r) => new TestResponse(r));
  }

  get(path, o) { return this.request('GET', path, o); }
  post(path, o) { return this.request('POST', path, o); }
  put(path, o) { return this.request('PUT', path, o); }
  patch(path, o) { return this.request('PATCH', path, o); }
  delete(path, o) { return this.request('DELETE', path, o); }
  head(path, o) { return this.request('HEAD', path, o); }
  options(path, o) { return this.request('OPTIONS', path, o); }
}
