// Dependency injection through the core's container (include/spikard/di.h). The binding only
// translates: the core plans the resolution when the app is frozen (unknown names and cycles
// answer 500 there), resolves per request / once per app (singleton) / per use (transient),
// runs the async factories of one batch concurrently, answers 503 `dependency-error` when a
// factory fails and runs the cleanups after the response, in reverse resolution order.
import { native } from './native.js';
import { Request } from './request.js';

const SCOPES = { request: 0, singleton: 1, transient: 2 };

/** A factory with its options, usable wherever a provider is expected (provide, overrides). */
export class Provide {
  constructor(factory, options = {}) {
    if (typeof factory !== 'function') throw new TypeError('spikard: Provide(factory): a function is required');
    this.factory = factory;
    this.options = options;
  }
}

/** A provider value used as it is, even when it is a function. */
export class Value {
  constructor(value) { this.value = value; }
}

function scopeOf(o) {
  if (o.scope !== undefined) {
    const s = SCOPES[o.scope];
    if (s === undefined) throw new TypeError(`spikard: unknown dependency scope "${o.scope}" (request, singleton, transient)`);
    return s;
  }
  if (o.singleton) return SCOPES.singleton;
  if (o.useCache === false || o.cacheable === false) return SCOPES.transient;
  return SCOPES.request;
}

function namesOf(list, what) {
  if (list === undefined || list === null) return [];
  if (!Array.isArray(list) || !list.every((n) => typeof n === 'string' && n))
    throw new TypeError(`spikard: ${what} must be an array of names`);
  return [...list];
}

/**
 * The core's provider definition for `target` (a value, a factory, a Provide or a Value);
 * factories become entries of the app's dispatch table through `addEntry(entry) → index`.
 */
export function definition(name, target, options, addEntry) {
  if (typeof name !== 'string' || !name) throw new TypeError('spikard: provide(name, …): a name is required');
  let opts = options ?? {};
  if (target instanceof Provide) {
    opts = { ...target.options, ...opts };
    target = target.factory;
  } else if (target instanceof Value) {
    return { name, factory: false, value: { v: target.value } };
  }
  if (typeof target !== 'function') return { name, factory: false, value: { v: target } };
  const dependsOn = namesOf(opts.dependsOn ?? opts.depends_on, 'dependsOn');
  if (opts.cleanup !== undefined && typeof opts.cleanup !== 'function')
    throw new TypeError('spikard: cleanup must be a function');
  const kind = target.constructor?.name; // GeneratorFunction / AsyncGeneratorFunction: cleanup after the yield
  const index = addEntry({ provider: true, name, factory: target, dependsOn, cleanup: opts.cleanup,
    gen: kind === 'GeneratorFunction' ? 1 : kind === 'AsyncGeneratorFunction' ? 2 : 0 });
  return { name, factory: true, index, dependsOn, scope: scopeOf(opts) };
}


function reason(err) {
  return String(err?.message ?? err ?? 'dependency factory failed').slice(0, 200);
}

function report(name, err) {
  process.emitWarning(`spikard: dependency "${name}" cleanup failed: ${reason(err)}`);
}

/** The value a handler sees (the stored object holds cleanup state beside it). */
export const unwrap = (stored) => (stored && typeof stored === 'object' && 'v' in stored ? stored.v : undefined);

// The dispatcher's part for providers: h is a resolution handle, or null for a cleanup of
// `raw` (the stored value).
export function runProvider(entry, raw, h) {
  if (h === null || h === undefined) return cleanup(entry, raw);
  let deps;
  try {
    deps = {};
    for (const n of entry.dependsOn) deps[n] = unwrap(native.depGet(h, n));
  } catch (err) {
    native.depFail(h, reason(err));
    return;
  }
  const resolve = (stored) => native.depResolve(h, stored);
  const fail = (err) => native.depFail(h, reason(err)); // the error's message, as the reference reports it
  let out;
  try {
    out = entry.factory(deps, new Request(raw, null));
  } catch (err) {
    fail(err);
    return;
  }
  try {
    if (entry.gen === 2) {
      out.next().then((r) => resolve({ v: r.value, gen: out, cleanup: entry.cleanup }), fail);
    } else if (entry.gen === 1) {
      resolve({ v: out.next().value, gen: out, cleanup: entry.cleanup });
    } else if (out && typeof out.then === 'function') {
      out.then((v) => resolve({ v, cleanup: entry.cleanup }), fail);
    } else {
      resolve({ v: out, cleanup: entry.cleanup });
    }
  } catch (err) {
    fail(err);
  }
}

// After the response: the generator goes on past its yield (its finally/after-yield code), then
// the `cleanup` option. Errors are reported, never thrown into the core.
function cleanup(entry, stored) {
  if (!stored || typeof stored !== 'object') return;
  const { gen, cleanup: fn, v } = stored;
  const after = () => {
    if (!fn) return;
    try {
      const r = fn(v);
      if (r && typeof r.then === 'function') r.then(undefined, (e) => report(entry.name, e));
    } catch (e) {
      report(entry.name, e);
    }
  };
  if (!gen) return after();
  try {
    const r = gen.next();
    if (r && typeof r.then === 'function') r.then(after, (e) => { report(entry.name, e); after(); });
    else after();
  } catch (e) {
    report(entry.name, e);
    after();
  }
}

/** The route option `dependencies` as a list of names. */
export function routeDependencies(meta) {
  return namesOf(meta.dependencies, 'dependencies');
}

/** Resolved dependencies of a request (names the route or hook declared). */
export function resolved(h, names) {
  const out = {};
  for (const n of names) out[n] = unwrap(native.reqDep(h, n));
  return out;
}
