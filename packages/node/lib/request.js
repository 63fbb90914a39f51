import { HttpError } from './response.js';
import './raw.js'; // registers the constructor the addon builds requests with

// The request a handler receives. Built from the addon's flat arrays; everything is decoded
// lazily, once. Where the route declared parameter or body schemas, the values are the core's
// validated ones (coerced to their schema types, defaults applied).

function toObject(flat, lower, multi) {
  const out = Object.create(null);
  for (let i = 0; i + 1 < flat.length; i += 2) {
    const k = lower ? flat[i].toLowerCase() : flat[i];
    const v = flat[i + 1];
    if (!(k in out)) out[k] = v;
    else if (multi) out[k] = Array.isArray(out[k]) ? [...out[k], v] : [out[k], v];
    else if (lower) out[k] = `${out[k]}, ${v}`;
  }
  return out;
}

export class Request {
  #raw;
  #validated;
  #params;
  #query;
  #headers;
  #cookies;

  #parse;
  #json;

  constructor(raw, parse = null) {
    this.#raw = raw;
    this.#parse = parse;
    this.method = raw.method;
    this.path = raw.path;
  }

  /** The validated request as the core produced it ({path, query, headers, cookies, body}). */
  get validated() {
    if (this.#validated === undefined)
      this.#validated = this.#raw.validated ? JSON.parse(this.#raw.validated) : null;
    return this.#validated;
  }

  get params() {
    if (!this.#params)
      this.#params = { ...toObject(this.#raw.params, false, false), ...this.validated?.path };
    return this.#params;
  }

  /** Query parameters: strings (arrays when repeated), declared ones validated and coerced. */
  get query() {
    if (!this.#query)
      this.#query = { ...toObject(this.#raw.query, false, true), ...this.validated?.query };
    return this.#query;
  }

  get queryString() { return this.#raw.queryString; }

  /** The peer's address ("127.0.0.1", "::1"; "test" through TestClient). */
  get ip() { return this.#raw.ip; }

  /** Headers by lowercase name; repeated fields joined with ", ". */
  get headers() {
    if (!this.#headers) this.#headers = toObject(this.#raw.headers, true, false);
    return this.#headers;
  }

  /** Header fields in order as [name, value] pairs (names as sent). */
  get headerList() {
    const out = [];
    const f = this.#raw.headers;
    for (let i = 0; i + 1 < f.length; i += 2) out.push([f[i], f[i + 1]]);
    return out;
  }

  get cookies() {
    if (!this.#cookies)
      this.#cookies = { ...toObject(this.#raw.cookies, false, false), ...this.validated?.cookies };
    return this.#cookies;
  }

  /** The raw body bytes. */
  get body() { return this.#raw.body; }

  text() { return this.#raw.body.toString('utf8'); }

  /** The body as JSON: the validated body when the route has a body schema. */
  json() {
    if (this.#json !== undefined) return this.#json.value;
    const v = this.validated;
    let value;
    if (v && 'body' in v) value = v.body;
    else value = this.#raw.body.length ? JSON.parse(this.#raw.body.toString('utf8')) : undefined;
    if (this.#parse) {
      const r = this.#parse.safeParse(value);
      if (!r.success) {
        throw new HttpError(422, 'Request body failed the route\'s Zod schema', {
          type: 'https://spikard.dev/errors/validation-error', title: 'Request Validation Failed',
          extra: { errors: r.error.issues.map((i) => ({ type: i.code, loc: ['body', ...i.path], msg: i.message })) },
        });
      }
      value = r.data;
    }
    this.#json = { value };
    return value;
  }
}
