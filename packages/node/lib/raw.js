// The request's parts as the addon hands them to JS (src/request.c, spkn_build_request): one
// constructor call with positional values, so every request object has the same shape, built
// by JIT-compiled code instead of property by property from C. lib/request.js reads these fields;
// headers and body are decoded on first read.
import { native } from './native.js';

const EMPTY = '';

export class RawRequest {
  #headers;
  #body;

  constructor(method, path, rawPath, queryString, params, query, headers, cookies, validated, ip, body) {
    this.method = method;
    this.path = path;
    this.rawPath = rawPath;
    this.queryString = queryString;
    this.params = params ?? [];
    this.query = query ?? [];
    this.#headers = headers;
    this.cookies = cookies ?? [];
    this.validated = validated;
    this.ip = ip;
    this.#body = body;
  }

  /** The body bytes. A route handler's request gets its response handle here instead, and the
   * bytes cross when first read (native.requestBody). */
  get body() {
    const b = this.#body;
    if (Buffer.isBuffer(b)) return b;
    return (this.#body = native.requestBody(b));
  }

  /** Header fields flat [n0, v0, ...]; they cross as one "n0\0v0\0…" string, split on first use. */
  get headers() {
    const h = this.#headers;
    if (typeof h !== 'string') return h;
    return (this.#headers = h === EMPTY ? [] : h.split('\0'));
  }
}

native.setRequestClass(RawRequest);
