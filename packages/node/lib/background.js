// Background tasks through the core's pool (include/spikard/background.h): a task runs after
// the response has been sent; the core holds, orders, bounds and drops tasks (a handler that
// fails loses the tasks it spawned; a full queue answers 503), the pool thread waits while the
// JS task runs on this thread.
import { native } from './native.js';

const EQUEUEFULL = -20;

/** Thrown by req.background() when the app's task queue is full; a handler letting it through is answered 503. */
export class BackgroundQueueFullError extends Error {
  constructor() {
    super('spikard: the background task queue is full');
    this.code = 'SPK_EQUEUEFULL';
    this.errno = EQUEUEFULL;
  }
}

const reason = (e) => String(e?.message ?? e ?? 'task failed').slice(0, 190);

/** Queue `fn` for the request behind handle `h` (resHook: a response-phase hook's). */
export function spawn(h, resHook, fn) {
  {
    if (typeof fn !== 'function') throw new TypeError('spikard: background(task): a function is required');
    const rc = native.bgSpawn(h, resHook, (run) => {
      let out;
      try {
        out = fn();
      } catch (e) {
        native.bgDone(run, false, reason(e));
        return;
      }
      Promise.resolve(out).then(() => native.bgDone(run, true), (e) => native.bgDone(run, false, reason(e)));
    });
    if (rc === EQUEUEFULL) throw new BackgroundQueueFullError();
    if (rc < 0) throw new Error(`spikard: background task refused (${rc})`);
  }
}
