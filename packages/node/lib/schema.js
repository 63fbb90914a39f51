// Schemas from users to the core's JSON text: raw JSON Schema objects, or Zod v4 schemas
// (anything with a toJSONSchema() method) converted once, at registration.

export function toJsonSchema(schema) {
  if (schema == null) return undefined;
  if (typeof schema.toJSONSchema === 'function') {
    // Input side: what clients send (defaulted fields optional), which is what the core checks.
    const out = schema.toJSONSchema({ io: 'input' });
    delete out.$schema; // the core speaks 2020-12 anyway; the URI carries no constraint
    return out;
  }
  if (typeof schema === 'object') return schema;
  throw new TypeError('spikard: a schema must be a JSON Schema object or a Zod schema');
}

const GROUPS = ['path', 'query', 'headers', 'cookies'];

// One parameter group: either the core's map {name: schema + optional/default}, or an object
// schema (Zod z.object or {type: 'object', properties, required}) whose properties become the
// parameters, optional unless listed in `required`.
function group(name, g) {
  const s = toJsonSchema(g);
  if (s && s.type === 'object' && s.properties && typeof s.properties === 'object') {
    const required = new Set(s.required || []);
    const out = {};
    for (const [key, prop] of Object.entries(s.properties)) {
      out[key] = { ...prop };
      if (!required.has(key) && name !== 'path') out[key].optional = true;
    }
    return out;
  }
  const out = {};
  for (const [key, prop] of Object.entries(s || {})) out[key] = toJsonSchema(prop);
  return out;
}

export function toParameters(params) {
  if (params == null) return undefined;
  const out = {};
  for (const [k, v] of Object.entries(params)) {
    if (k === 'files') { out.files = v; continue; }
    if (!GROUPS.includes(k)) throw new TypeError(`spikard: unknown parameter group "${k}"`);
    out[k] = group(k, v);
  }
  return out;
}
