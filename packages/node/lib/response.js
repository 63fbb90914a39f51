// What handlers return, and how it is sent: plain values → JSON, strings → text/plain,
// bytes → application/octet-stream, a Response → as given, undefined → 204. Errors become RFC
// 9457 problem details; HttpError picks the status.

export class Response {
  /**
   * @param {unknown} body string, Buffer/Uint8Array, or any JSON value
   * @param {{status?: number, headers?: Record<string, string|string[]> | [string, string][]}} init
   */
  constructor(body = undefined, init = {}) {
    this.status = init.status ?? 200;
    this.headers = init.headers ?? {};
    this.body = body;
  }

  static json(value, init = {}) {
    return new Response(JSON.stringify(value), {
      ...init,
      headers: { 'content-type': 'application/json', ...normHeaders(init.headers) },
    });
  }

  static text(text, init = {}) {
    return new Response(String(text), {
      ...init,
      headers: { 'content-type': 'text/plain; charset=utf-8', ...normHeaders(init.headers) },
    });
  }
}

/**
 * A streamed body: each value the (async) iterable yields is one chunk — strings and bytes as
 * they are, anything else as a JSON line (NDJSON). Response.sse: each value is one event —
 * a string (data), or {data, event, id, retry} (data: string or JSON).
 */
export class StreamResponse {
  constructor(iterable, init = {}, sse = false) {
    this.iterable = iterable;
    this.status = init.status ?? 200;
    this.headers = init.headers ?? {};
    this.sse = sse;
  }
}

Response.stream = (iterable, init) => new StreamResponse(iterable, init, false);
Response.sse = (iterable, init) => new StreamResponse(iterable, init, true);

export function streamHeaders(h) { return flatHeaders(h, []); }

export class HttpError extends Error {
  constructor(status, detail, { title, type, extra } = {}) {
    super(detail ?? title ?? `HTTP ${status}`);
    this.status = status;
    this.title = title;
    this.type = type;
    this.extra = extra;
  }
}

function normHeaders(h) {
  if (!h) return {};
  if (Array.isArray(h)) return Object.fromEntries(h);
  return h;
}

// Header object/list → flat [n0, v0, ...]; arrays of values give repeated fields (Set-Cookie).
function flatHeaders(h, out) {
  const push = (k, v) => {
    if (Array.isArray(v)) for (const x of v) out.push(k, String(x));
    else if (v !== undefined && v !== null) out.push(k, String(v));
  };
  if (Array.isArray(h)) for (const [k, v] of h) push(k, v);
  else for (const k of Object.keys(h)) push(k, h[k]);
  return out;
}

function hasHeader(flat, name) {
  for (let i = 0; i < flat.length; i += 2) if (flat[i].toLowerCase() === name) return true;
  return false;
}

const TITLES = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  409: 'Conflict', 422: 'Unprocessable Entity', 429: 'Too Many Requests',
  500: 'Internal Server Error', 503: 'Service Unavailable' };

const SLUGS = { 500: 'internal-server-error', 503: 'service-unavailable', 404: 'not-found',
  400: 'bad-request', 401: 'unauthorized', 403: 'forbidden', 409: 'conflict',
  422: 'unprocessable-entity', 429: 'too-many-requests' };

/** [status, flatHeaders, body] for an error. Unknown errors never leak their message. */
export function problemFor(err) {
  const isHttp = err instanceof HttpError && err.status >= 400 && err.status <= 599;
  const status = isHttp ? err.status : 500;
  const title = (isHttp && err.title) || TITLES[status] || 'Error';
  const body = {
    type: (isHttp && err.type) || `https://spikard.dev/errors/${SLUGS[status] || 'error'}`,
    title,
    status,
    detail: isHttp ? err.message : 'Internal server error',
    ...(isHttp ? err.extra : undefined),
  };
  return [status, ['Content-Type', 'application/problem+json'], JSON.stringify(body)];
}

/** [status, flatHeaders, body] for a handler's return value. Throws when it cannot be sent. */
export function encode(value) {
  if (value instanceof Response) {
    const flat = flatHeaders(value.headers, []);
    let body = value.body;
    if (body === undefined || body === null) return [value.status, flat, undefined];
    if (typeof body === 'string' || Buffer.isBuffer(body)) {
      if (!hasHeader(flat, 'content-type'))
        flat.push('Content-Type', typeof body === 'string' ? 'text/plain; charset=utf-8'
          : 'application/octet-stream');
      return [value.status, flat, body];
    }
    if (body instanceof Uint8Array) return [value.status, flat, Buffer.from(body)];
    if (!hasHeader(flat, 'content-type')) flat.push('Content-Type', 'application/json');
    return [value.status, flat, JSON.stringify(body)];
  }
  if (value === undefined) return [204, [], undefined];
  if (typeof value === 'string') return [200, ['Content-Type', 'text/plain; charset=utf-8'], value];
  if (Buffer.isBuffer(value)) return [200, ['Content-Type', 'application/octet-stream'], value];
  if (value instanceof Uint8Array)
    return [200, ['Content-Type', 'application/octet-stream'], Buffer.from(value)];
  const json = JSON.stringify(value);
  if (json === undefined) throw new TypeError('handler result is not JSON-serializable');
  return [200, ['Content-Type', 'application/json'], json];
}
