// Spikard for Node — type declarations (hand-written; the runtime is ESM JavaScript in lib/).

/** A JSON Schema object (draft 2020-12 as the core understands it). */
export type JsonSchema = { [key: string]: unknown };

/** Anything with a Zod v4-style `toJSONSchema()` (and `safeParse` for body parsing). */
export interface ZodLike<T = unknown> {
  toJSONSchema(params?: { io?: 'input' | 'output' }): JsonSchema;
  safeParse(value: unknown): { success: true; data: T } | { success: false; error: { issues: unknown[] } };
}

export type Schema<T = unknown> = JsonSchema | ZodLike<T>;
type Infer<S> = S extends ZodLike<infer T> ? T : unknown;

/** Per-parameter schema plus the core's flags (docs/validation.md). */
export type ParamSchema = JsonSchema & { optional?: boolean; required?: boolean; default?: unknown };
/** A group: a map name → schema, or an object schema (Zod z.object) whose properties are the parameters. */
export type ParamGroup = Record<string, ParamSchema> | ZodLike;

export interface Parameters {
  path?: ParamGroup;
  query?: ParamGroup;
  headers?: ParamGroup;
  cookies?: ParamGroup;
  files?: Record<string, { required?: boolean; content_type?: string[]; validate_magic_numbers?: boolean }>;
}

/** Per-route middleware overrides (docs/middleware.md). */
export interface RouteMiddleware {
  cors?: Record<string, unknown>;
  compression?: Record<string, unknown> | false;
  request_timeout?: { seconds: number };
  body_limit?: { max_bytes: number };
}

export interface RouteOptions<B = unknown> {
  /** Body schema (alias: request_schema, body_schema). */
  body?: Schema<B>;
  request_schema?: Schema<B>;
  body_schema?: Schema<B>;
  /** Response schema: 2xx JSON bodies that do not conform become a 500 problem. */
  response?: Schema;
  response_schema?: Schema;
  parameters?: Parameters;
  parameter_schema?: Parameters;
  middleware?: RouteMiddleware;
  max_body_bytes?: number;
  maxBodyBytes?: number;
  /** Providers the handler needs (app.provide), resolved by the core before it runs: req.dependencies. */
  dependencies?: string[];
  /** Route-level providers replacing the app's of the same name. */
  overrides?: Record<string, ProviderTarget>;
}

/** The seeds' registration metadata. */
export interface RouteMetadata<B = unknown> extends RouteOptions<B> {
  method: string;
  path: string;
  handler_name?: string;
  is_async?: boolean;
}

export declare class Request<B = unknown> {
  readonly method: string;
  /** Percent-decoded path. */
  readonly path: string;
  readonly queryString: string;
  /** The peer's address ("127.0.0.1", "::1"; "test" through TestClient). */
  readonly ip: string;
  /** Path parameters; validated and coerced where declared ({id:int} → number). */
  readonly params: Record<string, any>;
  /** Query parameters: strings (arrays when repeated), declared ones validated and coerced. */
  readonly query: Record<string, any>;
  /** Headers by lowercase name (repeated fields joined with ", "). */
  readonly headers: Record<string, string>;
  readonly headerList: [string, string][];
  readonly cookies: Record<string, any>;
  /** Raw body bytes. */
  readonly body: Buffer;
  /** The core's validated request ({path, query, headers, cookies, body}) or null. */
  readonly validated: Record<string, any> | null;
  /** The resolved dependencies the route (or hook) declared in `dependencies`, by name. */
  dependencies: Record<string, any>;
  /**
   * Run `task` after the response has been sent (the core's background pool). Throws
   * BackgroundQueueFullError when the queue is full (let it through: the request is answered 503).
   */
  background(task: () => unknown | Promise<unknown>): void;
  text(): string;
  /** The body as JSON (validated; parsed by the route's Zod schema when it has one). */
  json(): B;
}

export type HeaderInit = Record<string, string | string[]> | [string, string][];

export declare class Response {
  constructor(body?: unknown, init?: { status?: number; headers?: HeaderInit });
  status: number;
  headers: HeaderInit;
  body: unknown;
  static json(value: unknown, init?: { status?: number; headers?: HeaderInit }): Response;
  static text(text: string, init?: { status?: number; headers?: HeaderInit }): Response;
  /** A streamed body (chunked): strings/bytes as they are, other values as JSON lines. */
  static stream(iterable: AsyncIterable<unknown> | Iterable<unknown>, init?: { status?: number; headers?: HeaderInit }): StreamResponse;
  /** Server-Sent Events: a string is one data event; or {data, event, id, retry}. */
  static sse(iterable: AsyncIterable<SseEvent | string> | Iterable<SseEvent | string>, init?: { headers?: HeaderInit }): StreamResponse;
}

export interface SseEvent { data?: unknown; event?: string; id?: string | number; retry?: number }

export declare class StreamResponse {
  readonly status: number;
  readonly headers: HeaderInit;
  readonly sse: boolean;
}

/** Thrown from a handler: answered as RFC 9457 problem details with this status. */
export declare class HttpError extends Error {
  constructor(status: number, detail?: string, options?: { title?: string; type?: string; extra?: Record<string, unknown> });
  status: number;
}

/** What a handler may return: JSON values, strings, bytes, a Response (or a WHATWG Response), undefined (204). */
export type HandlerResult = unknown;
export type Handler<B = unknown> = (req: Request<B>) => HandlerResult | Promise<HandlerResult>;

export type HookPhase = 'onRequest' | 'preValidation' | 'preHandler';
/** A request-phase hook's second argument: headers for the eventual response (whatever answers it). */
export interface RequestHookResponse { setHeader(name: string, value: string | number): RequestHookResponse }
export type Hook = (req: Request, res: RequestHookResponse) => HandlerResult | undefined | Promise<HandlerResult | undefined>;

/** The response as a response-phase hook sees it (valid while the hook runs). */
export interface HookResponse {
  status: number;
  header(name: string): string | undefined;
  setHeader(name: string, value: string | number): HookResponse;
  setBody(body: string | Buffer | unknown): HookResponse;
}
export type ResponseHook = (req: Request, res: HookResponse) => void | Promise<void>;

export interface Server {
  readonly port: number;
  readonly host: string;
  readonly engine: 'node' | 'threads';
  /** Graceful: stop accepting, finish in-flight requests, close connections. */
  close(): Promise<void>;
}

export interface ListenOptions {
  host?: string;
  port?: number;
  /** engine 'threads': core worker threads. run() with engine 'node': cluster worker processes sharing the port (SO_REUSEPORT). */
  workers?: number;
  /** Bind with SO_REUSEPORT (engine 'node'), so several processes can listen on one port. */
  reusePort?: boolean;
  /** 'node' (default): Node's own event loop, handlers called directly. 'threads': the core's own server threads. */
  engine?: 'node' | 'threads';
}

/** App-wide middleware sections (docs/middleware.md): compression, cors, rate_limit, jwt_auth, api_key_auth, request_id, request_timeout, body_limit, static_files, … */
export type AppConfig = Record<string, unknown>;

type RouteMethod = {
  <S extends Schema | undefined = undefined>(path: string, options: RouteOptions & { body?: S }, handler: Handler<Infer<S>>): Spikard;
  (path: string, handler: Handler): Spikard;
};

export declare class Spikard {
  constructor(config?: AppConfig);
  configure(config: AppConfig | string): this;
  setLimits(limits: { max_request_line?: number; max_header_count?: number; max_header_bytes?: number;
    max_body_bytes?: number; header_timeout_ms?: number; body_timeout_ms?: number; keepalive_timeout_ms?: number }): this;
  addRoute<S extends Schema | undefined = undefined>(meta: RouteMetadata & { request_schema?: S; body?: S }, handler: Handler<Infer<S>>): this;
  readonly routes: { method: string; path: string; handler_name: string }[];
  get: RouteMethod;
  post: RouteMethod;
  put: RouteMethod;
  patch: RouteMethod;
  delete: RouteMethod;
  head: RouteMethod;
  options: RouteMethod;
  /** Request-phase hooks: return undefined to go on, anything else is the response. */
  addHook(phase: HookPhase, hook: Hook, options?: HookOptions): this;
  addHook(phase: 'onResponse' | 'onError', hook: ResponseHook): this;
  onRequest(hook: Hook, options?: HookOptions): this;
  preValidation(hook: Hook, options?: HookOptions): this;
  preHandler(hook: Hook, options?: HookOptions): this;
  /**
   * A dependency provider in the core's container: a value, or a factory `(deps, req) => value`
   * (async, generator or async generator: code after the yield is the cleanup, run after the
   * response). A failing factory answers 503 problem details; unknown names and cycles 500.
   */
  provide<T>(name: string, target: ProviderTarget<T>, options?: ProvideOptions<T>): this;
  /** A WebSocket route (handshake through the whole pipeline; framing, limits and message validation in the core). */
  websocket<S extends Schema | undefined = undefined>(path: string,
    handlers: WebSocketHandlers<S extends Schema ? Infer<S> : unknown> | WebSocketHandlers<S extends Schema ? Infer<S> : unknown>['message'],
    options?: WebSocketOptions & { schema?: S }): this;
  /** Response-phase hooks, sync or async (a promise suspends only its own response). */
  onResponse(hook: ResponseHook): this;
  onError(hook: ResponseHook): this;
  listen(options?: ListenOptions): Promise<Server>;
  /** listen() and close on SIGINT/SIGTERM; with workers > 1 (engine 'node') a cluster primary forking that many workers. */
  run(options?: ListenOptions): Promise<Server | (Omit<Server, 'engine'> & { engine: 'node'; workers: number })>;
}

export interface TestRequestOptions {
  headers?: HeaderInit;
  query?: Record<string, string | number | boolean | (string | number | boolean)[]>;
  json?: unknown;
  body?: string | Buffer;
  form?: Record<string, string>;
  cookies?: Record<string, string>;
}

export declare class TestResponse {
  readonly status: number;
  readonly statusCode: number;
  /** Lowercase names; repeated fields joined with ", ". */
  readonly headers: Record<string, string>;
  readonly headerList: [string, string][];
  readonly body: Buffer;
  text(): string;
  json<T = any>(): T;
}

/** Requests through the app's in-memory core pipeline (same parser, router, validation, writer as the server). */
export declare class TestClient {
  constructor(app: Spikard);
  request(method: string, path: string, options?: TestRequestOptions): Promise<TestResponse>;
  /** One raw HTTP/1.1 request (malformed-input tests). */
  raw(bytes: string | Buffer): Promise<TestResponse>;
  get(path: string, options?: TestRequestOptions): Promise<TestResponse>;
  post(path: string, options?: TestRequestOptions): Promise<TestResponse>;
  put(path: string, options?: TestRequestOptions): Promise<TestResponse>;
  patch(path: string, options?: TestRequestOptions): Promise<TestResponse>;
  delete(path: string, options?: TestRequestOptions): Promise<TestResponse>;
  head(path: string, options?: TestRequestOptions): Promise<TestResponse>;
  options(path: string, options?: TestRequestOptions): Promise<TestResponse>;
  /** A WebSocket on the in-memory pipeline; rejects with WebSocketHandshakeError unless 101. */
  websocket(path: string, options?: { headers?: HeaderInit; subprotocols?: string[]; query?: Record<string, string> }): Promise<TestWebSocket>;
  /** The upgrade request as raw bytes. */
  websocketRaw(bytes: string | Buffer): Promise<{ response: TestResponse; ws: TestWebSocket | null }>;
}

export declare function toJsonSchema(schema: Schema | null | undefined): JsonSchema | undefined;
export declare const version: string;
export declare const addonPath: string;

/** Request-phase hook options: dependencies resolved before the hook runs (req.dependencies). */
export interface HookOptions { dependencies?: string[] }

export type DependencyScope = 'request' | 'singleton' | 'transient';

export interface ProvideOptions<T = unknown> {
  /** Providers the factory receives in its first argument. */
  dependsOn?: string[];
  /** 'request' (default): once per request; 'singleton': once per app; 'transient': per use. */
  scope?: DependencyScope;
  /** Shorthand for scope 'singleton'. */
  singleton?: boolean;
  /** false: scope 'transient'. */
  useCache?: boolean;
  /** After the response (request/transient scopes), in reverse resolution order. */
  cleanup?: (value: T) => void | Promise<void>;
}

export type DependencyFactory<T = unknown> = (deps: Record<string, any>, req: Request) =>
  T | Promise<T> | Generator<T, void, unknown> | AsyncGenerator<T, void, unknown>;

/** A value, a factory, a factory with options (Provide) or a function used as a value (Value). */
export type ProviderTarget<T = unknown> = DependencyFactory<T> | Provide<T> | Value<T> | T;

export declare class Provide<T = unknown> {
  constructor(factory: DependencyFactory<T>, options?: ProvideOptions<T>);
  readonly factory: DependencyFactory<T>;
  readonly options: ProvideOptions<T>;
}

export declare class Value<T = unknown> {
  constructor(value: T);
  readonly value: T;
}

/** Data sent on a WebSocket: strings → text, bytes → binary, other values → JSON text. */
export type WebSocketData = string | Buffer | Uint8Array | ArrayBuffer | unknown;

/** A server-side WebSocket connection, valid from open until close. */
export declare class WebSocketConnection {
  /** The upgrade request (its response was the 101: no background tasks on it). */
  readonly request: Omit<Request, 'background'>;
  /** Per-connection state. */
  data: Record<string, any>;
  readonly closed: boolean;
  /** The negotiated subprotocol, or null. */
  readonly subprotocol: string | null;
  /** false once the connection is closing or closed. */
  send(data: WebSocketData): boolean;
  sendText(text: string): boolean;
  sendBinary(bytes: Uint8Array): boolean;
  sendJson(value: unknown): boolean;
  /** Close handshake: code 1000..4999, reason ≤ 123 bytes. */
  close(code?: number, reason?: string): boolean;
  subscribe(hub: WebSocketHub, topic: string): this;
  unsubscribe(hub: WebSocketHub, topic: string): this;
}

export interface WebSocketHandlers<M = unknown> {
  /**
   * Decide the upgrade before the switch (auth, a subprotocol chosen at run time): true or
   * undefined accepts, a string accepts with that subprotocol (one the client offered), false
   * refuses with 403, any other value (a Response, an object) is sent as the HTTP answer instead.
   */
  handshake?(req: Request): boolean | string | void | Response | object | Promise<boolean | string | void | Response | object>;
  open?(ws: WebSocketConnection, req: Omit<Request, 'background'>): void | Promise<void>;
  /** Text messages are strings (parsed JSON with `json`/`schema`), binary ones Buffers. A returned value is sent back. */
  message?(ws: WebSocketConnection, data: M | string | Buffer, isBinary: boolean): unknown;
  close?(ws: WebSocketConnection, code: number, reason: string): void | Promise<void>;
}

export interface WebSocketOptions {
  /** Supported subprotocols; the client's order of preference decides. */
  subprotocols?: string[];
  /** Refuse (400) clients offering none of them. */
  requireSubprotocol?: boolean;
  /** Allowed Origin values (default: any). */
  origins?: string[];
  /** Larger messages close with 1009 (default 16 MiB). */
  maxMessageBytes?: number;
  /** Close 1001 after this long without a frame (default 300 s). */
  idleTimeoutMs?: number;
  /** Ping after this long without a frame (default off). */
  pingIntervalMs?: number;
  /** Accept permessage-deflate offers. */
  permessageDeflate?: boolean;
  deflateNoContext?: boolean;
  /** Text messages are JSON: invalid ones are answered by the core and never reach `message`. */
  json?: boolean;
  /** Message schema (JSON Schema or Zod), validated by the core; implies json. */
  schema?: Schema;
  messageSchema?: Schema;
}

/** Publish/subscribe: a message is framed once and queued on every subscriber. */
export declare class WebSocketHub {
  subscribe(ws: WebSocketConnection, topic: string): boolean;
  unsubscribe(ws: WebSocketConnection, topic: string): boolean;
  unsubscribeAll(ws: WebSocketConnection): void;
  /** The number of connections the message was queued on. */
  publish(topic: string, data: WebSocketData): number;
}

export declare class TestFrame {
  readonly opcode: number;
  readonly type: 'continuation' | 'text' | 'binary' | 'close' | 'ping' | 'pong' | 'unknown';
  readonly fin: boolean;
  readonly rsv1: boolean;
  readonly data: Buffer;
  readonly closeCode?: number;
  readonly closeReason?: string;
  text(): string;
  json<T = any>(): T;
}

export declare class TestWebSocket {
  readonly handshake: TestResponse;
  readonly subprotocol: string | null;
  send(data: WebSocketData): Promise<void>;
  sendText(text: string): Promise<void>;
  sendBytes(bytes: Uint8Array): Promise<void>;
  sendJson(value: unknown): Promise<void>;
  ping(data?: string | Buffer): Promise<void>;
  sendFrame(frame: { fin?: boolean; rsv1?: boolean; opcode: number | 'continuation' | 'text' | 'binary' | 'close' | 'ping' | 'pong'; data?: string | Buffer }): Promise<void>;
  sendRaw(bytes: string | Buffer): Promise<void>;
  /** A close frame (code 0: empty). */
  close(code?: number, reason?: string): Promise<void>;
  receive(options?: { timeout?: number }): Promise<TestFrame>;
  receiveText(options?: { timeout?: number }): Promise<string>;
  receiveJson<T = any>(options?: { timeout?: number }): Promise<T>;
  receiveBytes(options?: { timeout?: number }): Promise<Buffer>;
  /** Drop the connection (the server sees 1006). */
  terminate(): Promise<void>;
}

export declare class WebSocketHandshakeError extends Error {
  readonly response: TestResponse;
}

/** req.background() with a full task queue; a handler letting it through is answered 503. */
export declare class BackgroundQueueFullError extends Error {
  readonly code: 'SPK_EQUEUEFULL';
}
