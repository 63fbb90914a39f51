// The app: routes with their contracts, middleware configuration, dispatch of the core's
// exchanges to JS handlers, and the network server.
import { native } from './native.js';
import { Request } from './request.js';
import { HttpError, Response, StreamResponse, encode, problemFor, streamHeaders } from './response.js';
import { toJsonSchema, toParameters } from './schema.js';
import { definition, resolved, routeDependencies, runProvider } from './di.js';
import { wsEvent, wsRoute } from './ws.js';
import { spawn } from './background.js';

export const handleOf = Symbol('spikard.handle');

const HOOK_PHASES = { onRequest: 0, preValidation: 1, preHandler: 2 };

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

function sendResult(h, value) {
  let out;
  try {
    out = encode(value);
  } catch (err) {
    out = problemFor(err);
  }
  native.respond(h, out[0], out[1], out[2]);
}

function sendError(h, err) {
  const out = problemFor(err);
  native.respond(h, out[0], out[1], out[2]);
}

// A route handler threw or rejected. An HttpError is an answer; anything else is a failure the
// core handles like any failed handler (500 problem details, onError hooks, tasks dropped).
function handlerFailed(h, err) {
  if (err instanceof HttpError) return sendError(h, err);
  if (!native.fail(h, err?.code === 'SPK_EQUEUEFULL' ? err.errno : undefined)) sendError(h, err);
}

// A WHATWG Response (globalThis.Response) is read fully, then sent like ours.
async function fromFetchResponse(r) {
  const body = Buffer.from(await r.arrayBuffer());
  return new Response(body.length ? body : undefined, { status: r.status, headers: [...r.headers] });
}

const EAGAIN = -6;
const pause = () => new Promise((r) => setTimeout(r, 1));

function chunkOf(item) {
  if (typeof item === 'string' || Buffer.isBuffer(item)) return item;
  if (item instanceof Uint8Array) return Buffer.from(item);
  return `${JSON.stringify(item)}\n`;
}

function eventOf(item) {
  if (typeof item === 'string') return { data: item };
  const ev = { ...item };
  if (ev.data !== undefined && typeof ev.data !== 'string') ev.data = JSON.stringify(ev.data);
  if (ev.id !== undefined) ev.id = String(ev.id);
  return ev;
}

// Writes what the iterable yields; a full queue (slow client) waits, a gone client stops the
// iteration (its return() runs) and a throwing iterable aborts the stream (incomplete body).
async function pump(sh, iterable, sse) {
  try {
    for await (const item of iterable) {
      for (;;) {
        const rc = sse ? native.sseSend(sh, eventOf(item)) : native.streamWrite(sh, chunkOf(item));
        if (rc === 0) break;
        if (rc === EAGAIN) { await pause(); continue; }
        native.streamAbort(sh); // client gone or a bad event
        return;
      }
    }
    native.streamEnd(sh);
  } catch {
    native.streamAbort(sh);
  }
}

function startStream(h, s) {
  let sh;
  try {
    const flat = streamHeaders(s.headers);
    sh = native.respondStream(h, s.status, flat, s.sse);
  } catch (err) {
    return sendError(h, err);
  }
  pump(sh, s.iterable, s.sse);
}

function finish(h, value) {
  if (value instanceof StreamResponse) return startStream(h, value);
  if (value && typeof value === 'object' && typeof value[Symbol.asyncIterator] === 'function' &&
      !(value instanceof Response))
    return startStream(h, new StreamResponse(value));
  if (typeof globalThis.Response === 'function' && value instanceof globalThis.Response) {
    fromFetchResponse(value).then((v) => sendResult(h, v), (e) => sendError(h, e));
  } else {
    sendResult(h, value);
  }
}

// A request-phase hook: undefined → the pipeline goes on; anything else is the answer.
function hookDone(h, value) {
  if (value === undefined) native.proceed(h);
  else finish(h, value);
}

// The response as a response-phase hook sees it, valid while the hook runs.
class HookResponse {
  #h;
  constructor(h) { this.#h = h; }
  get status() { return native.resStatus(this.#h); }
  set status(v) { native.resStatus(this.#h, v); }
  header(name) { return native.resHeader(this.#h, name); }
  setHeader(name, value) { native.resSetHeader(this.#h, name, String(value)); return this; }
  setBody(body) {
    native.resSetBody(this.#h, typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body));
    return this;
  }
}

// What a request-phase hook may do to the eventual response: set headers on it.
class RequestHookResponse {
  #h;
  constructor(h) { this.#h = h; }
  setHeader(name, value) { native.hookSetHeader(this.#h, String(name), String(value)); return this; }
}

const NO_DEPS = Object.freeze({});

// The request a handler or hook receives: the core's request plus what is bound to this
// exchange (its resolved dependencies, its background tasks), without a closure per request.
class ExchangeRequest extends Request {
  #h;
  #resHook;
  constructor(raw, parse, h, deps, resHook = false) {
    super(raw, parse);
    this.#h = h;
    this.#resHook = resHook;
    this.dependencies = deps ? resolved(h, deps) : NO_DEPS;
  }

  /** Run `fn` after the response has been sent (the core's background pool). */
  background(fn) { spawn(this.#h, this.#resHook, fn); }
}

// A WebSocket route's handshake handler decides the upgrade (the core's on_handshake): true or
// undefined accepts, a string accepts with that subprotocol (one the client offered), false
// refuses with 403; any other value is sent as the HTTP answer instead of the switch, and a
// throw or rejection is answered like a route handler's.
function wsHandshake(route, raw, h) {
  const decide = (v) => {
    if (v === undefined || v === true || typeof v === 'string') {
      try {
        native.wsAccept(h, typeof v === 'string' ? v : null);
      } catch (err) {
        handlerFailed(h, err);
      }
    } else if (v === false) {
      sendError(h, new HttpError(403, 'The WebSocket handshake was refused'));
    } else {
      finish(h, v);
    }
  };
  try {
    const out = route.handler(new ExchangeRequest(raw, null, h, null));
    if (out && typeof out.then === 'function') out.then(decide, (e) => handlerFailed(h, e));
    else decide(out);
  } catch (err) {
    handlerFailed(h, err);
  }
}

function dispatch(routes, index, raw, h, extra) {
  const route = routes[index];
  if (route.provider) return runProvider(route, raw, h);
  if (route.ws) return wsEvent(route, raw, h, extra);
  if (route.wsHandshake) return wsHandshake(route, raw, h);
  if (route.resHook) { // true: done; false: it threw; 2: a promise (the core waits for it)
    try {
      const out = route.handler(new ExchangeRequest(raw, null, h, null, true), new HookResponse(h));
      if (out && typeof out.then === 'function') {
        out.then(() => native.resHookDone(h, false), () => native.resHookDone(h, true));
        return 2;
      }
      return true;
    } catch {
      return false;
    }
  }
  if (route.hook) {
    try {
      const out = route.handler(new ExchangeRequest(raw, null, h, route.deps), new RequestHookResponse(h));
      if (out && typeof out.then === 'function') out.then((v) => hookDone(h, v), (e) => sendError(h, e));
      else hookDone(h, out);
    } catch (err) {
      sendError(h, err);
    }
    return;
  }
  try {
    const out = route.handler(new ExchangeRequest(raw, route.parse, h, route.deps));
    if (out && typeof out.then === 'function') out.then((v) => finish(h, v), (e) => handlerFailed(h, e));
    else finish(h, out);
  } catch (err) {
    handlerFailed(h, err);
  }
}

export class Spikard {
  #routes = [];

  /** @param {object} [config] middleware sections of spk_app_configure (docs/middleware.md) */
  constructor(config) {
    // The addon holds the dispatcher strongly; it must not reach this object (only the route
    // table), or the app could never be collected.
    const routes = this.#routes;
    this[handleOf] = native.createApp((index, raw, h, extra) => dispatch(routes, index, raw, h, extra));
    if (config) this.configure(config);
  }

  /**
   * Server limits (include/spikard/app.h): max_request_line (414), max_header_count and
   * max_header_bytes (431), max_body_bytes (413), header_timeout_ms, body_timeout_ms,
   * keepalive_timeout_ms. Keys left out keep their defaults.
   */
  setLimits(limits) {
    native.setLimits(this[handleOf], limits);
    return this;
  }

  /** Middleware configuration (JSON sections of docs/middleware.md), before serving. */
  configure(config) {
    native.configure(this[handleOf], typeof config === 'string' ? config : JSON.stringify(config));
    return this;
  }

  /**
   * The seeds' registration form: {method, path, handler_name, request_schema,
   * response_schema, parameter_schema, is_async} plus the handler.
   */
  addRoute(meta, handler) {
    if (typeof handler !== 'function') throw new TypeError('spikard: handler must be a function');
    const method = String(meta.method || 'GET').toUpperCase();
    const opts = {};
    const bodyIn = meta.request_schema ?? meta.body_schema ?? meta.body;
    const body = toJsonSchema(bodyIn);
    const resp = toJsonSchema(meta.response_schema ?? meta.response);
    const params = toParameters(meta.parameter_schema ?? meta.parameters);
    if (body) opts.body_schema = JSON.stringify(body);
    if (resp) opts.response_schema = JSON.stringify(resp);
    if (params) opts.parameters = JSON.stringify(params);
    if (meta.middleware) opts.middleware = JSON.stringify(meta.middleware);
    const limit = meta.max_body_bytes ?? meta.maxBodyBytes;
    if (limit) opts.max_body_bytes = limit;
    const deps = routeDependencies(meta);
    if (deps.length) opts.dependencies = deps;
    if (meta.overrides) {
      opts.overrides = Object.entries(meta.overrides).map(([name, target]) =>
        definition(name, target, undefined, (e) => this.#entry(e)));
    }
    const index = this.#routes.length;
    native.addRoute(this[handleOf], method, meta.path, index,
      Object.keys(opts).length ? opts : null);
    // A Zod body schema also parses the (already validated) body: defaults, transforms and
    // refinements JSON Schema cannot express apply to req.json().
    const parse = bodyIn && typeof bodyIn.safeParse === 'function' ? bodyIn : null;
    this.#routes.push({ method, path: meta.path, name: meta.handler_name ?? handler.name, handler, parse,
      deps: deps.length ? deps : null });
    return this;
  }

  /**
   * A WebSocket route: handlers `{ open(ws, req), message(ws, data, isBinary), close(ws, code,
   * reason) }` (or just the message function). A message handler's return value (or resolved
   * value), unless undefined, is sent back. Options: subprotocols, requireSubprotocol, origins,
   * maxMessageBytes, idleTimeoutMs, pingIntervalMs, permessageDeflate, deflateNoContext, json
   * (text messages are JSON: parsed for the handler, invalid ones answered by the core), schema
   * (JSON Schema or Zod; implies json: failing messages are answered by the core).
   */
  websocket(path, handlers, options) {
    const { entry, options: opts } = wsRoute(path, handlers, options);
    const index = this.#routes.length;
    const handshake = entry.handlers.handshake;
    if (handshake) {
      this.#routes.push(entry, { wsHandshake: true, handler: handshake });
      native.addWebSocket(this[handleOf], path, index, opts, index + 1);
    } else {
      this.#routes.push(entry);
      native.addWebSocket(this[handleOf], path, index, opts);
    }
    return this;
  }

  #entry(e) {
    this.#routes.push(e);
    return this.#routes.length - 1;
  }

  /**
   * Register a dependency provider with the core's container: a plain value, or a factory
   * `(deps, req) => value | Promise<value>` (a generator or async generator: the yielded value,
   * the rest runs after the response as its cleanup). Options: `dependsOn` (names of the
   * providers the factory receives in `deps`), `scope` ('request' default, 'singleton',
   * 'transient'; or `singleton: true` / `useCache: false`), `cleanup(value)`. Routes and hooks
   * name what they need with the `dependencies` option and read `req.dependencies`.
   */
  provide(name, target, options) {
    const def = definition(name, target, options, (e) => this.#entry(e));
    native.provide(this[handleOf], def);
    return this;
  }

  /** Registered routes (method, path, handler name), in order. */
  get routes() {
    return this.#routes.filter((r) => !r.hook && !r.provider && !r.ws && !r.wsHandshake)
      .map(({ method, path, name }) => ({ method, path, handler_name: name }));
  }

  /**
   * A request-phase lifecycle hook ('onRequest' before routing, 'preValidation' before the
   * contract, 'preHandler' after validation). Hooks run in registration order; returning
   * (or resolving to) undefined goes on, any other value is sent as the response and stops
   * the request there. A throw is a 500 problem.
   */
  addHook(phase, fn, options) {
    if (phase === 'onResponse' || phase === 'onError') {
      if (typeof fn !== 'function') throw new TypeError('spikard: hook must be a function');
      const index = this.#routes.length;
      native.addResponseHook(this[handleOf], phase === 'onResponse' ? 3 : 4, index);
      this.#routes.push({ hook: true, resHook: true, phase, handler: fn });
      return this;
    }
    const code = HOOK_PHASES[phase];
    if (code === undefined) throw new TypeError(`spikard: unknown hook phase "${phase}" (onRequest, preValidation, preHandler, onResponse, onError)`);
    if (typeof fn !== 'function') throw new TypeError('spikard: hook must be a function');
    const deps = routeDependencies(options ?? {});
    const index = this.#routes.length;
    if (deps.length) native.addHookDeps(this[handleOf], code, index, deps);
    else native.addHook(this[handleOf], code, index);
    this.#routes.push({ hook: true, phase, handler: fn, deps: deps.length ? deps : null });
    return this;
  }

  /** options: `{ dependencies: [names] }`, resolved before the hook runs (req.dependencies). */
  onRequest(fn, options) { return this.addHook('onRequest', fn, options); }
  preValidation(fn, options) { return this.addHook('preValidation', fn, options); }
  preHandler(fn, options) { return this.addHook('preHandler', fn, options); }
  /**
   * Response-phase hooks, sync or async: fn(req, res) with res.status (get/set), res.header(name),
   * res.setHeader(name, value), res.setBody(body). onResponse runs after a handler's response,
   * onError instead of it for errors the core produced or failed handlers. A returned promise
   * suspends only this response until it settles; a throw fails the request (500), a rejection
   * answers 500 problem details.
   */
  onResponse(fn) { return this.addHook('onResponse', fn); }
  onError(fn) { return this.addHook('onError', fn); }

  /**
   * Start serving. engine 'node' (default): the core's connections run on Node's own event
   * loop and handlers are called directly, no thread hop. engine 'threads': the core's server
   * with `workers` threads of its own (parsing, routing and validation there in parallel),
   * handlers handed to this thread.
   * @returns {Promise<{port: number, host: string, close(): Promise<void>}>}
   */
  async listen({ host = '127.0.0.1', port = 8000, workers = 1, engine = 'node', reusePort = false } = {}) {
    if (engine === 'node') {
      const s = native.listenOnLoop(this[handleOf], host, port, reusePort);
      return { port: native.loopPort(s), host, engine, close: () => native.loopClose(s) };
    }
    if (engine !== 'threads') throw new TypeError(`spikard: unknown engine "${engine}"`);
    const s = native.listen(this[handleOf], host, port, workers);
    return { port: native.serverPort(s), host, engine, close: () => native.serverClose(s) };
  }

  /**
   * listen() until SIGINT/SIGTERM, then a graceful close. With the 'node' engine and
   * `workers` > 1 the process becomes a cluster primary forking that many workers; each worker
   * (running the same program) listens on the port with SO_REUSEPORT and the kernel spreads
   * connections. The primary's result closes the workers.
   */
  async run(options = {}) {
    const { workers = 1, engine = 'node' } = options;
    if (workers > 1 && engine === 'node') {
      const { default: cluster } = await import('node:cluster');
      if (cluster.isPrimary) {
        if (!options.port) throw new TypeError('spikard: run({ workers }) needs a fixed port');
        const forked = Array.from({ length: workers }, () => cluster.fork());
        await Promise.all(forked.map((w) => new Promise((resolve, reject) => {
          w.once('message', (m) => (m === 'spikard:listening' ? resolve() : reject(new Error(String(m)))));
          w.once('exit', (code) => reject(new Error(`worker exited with ${code}`)));
        })));
        const close = () => Promise.all(forked.map((w) => new Promise((resolve) => {
          if (w.isDead()) return resolve();
          w.once('exit', resolve);
          w.process.kill('SIGTERM');
        })));
        const stop = () => { process.off('SIGINT', stop); process.off('SIGTERM', stop); close(); };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
        return { port: options.port, host: options.host ?? '127.0.0.1', engine, workers, close };
      }
      // A worker's IPC channel keeps it alive: once its server has closed, let it go.
      const server = await this.#runOne({ ...options, reusePort: true }, () => process.disconnect());
      process.send?.('spikard:listening');
      return server;
    }
    return this.#runOne(options);
  }

  async #runOne(options, closed = () => {}) {
    const server = await this.listen(options);
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      server.close().then(closed);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
    return server;
  }
}

for (const m of METHODS) {
  // app.get(path, handler) / app.get(path, options, handler)
  Spikard.prototype[m.toLowerCase()] = function (path, options, handler) {
    if (typeof options === 'function') [options, handler] = [{}, options];
    return this.addRoute({ ...options, method: m, path }, handler);
  };
}
