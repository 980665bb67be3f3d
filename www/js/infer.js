// @ts-check
/**
 * The client of the inference worker (www/js/infer-worker.js): `call(type, args)` returns a
 * promise of the worker's result, and errors come back as Errors with the core's message.
 * One worker per page, started on first use and shared by the views; `use(url)` adds a view's
 * handler module to it (once per URL).
 *
 * `latest(fn)` wraps a call for live input (a webcam, typing): while one call runs, only the
 * newest request waits, older ones resolve to `null` (dropped), so a slow model never queues up.
 */

/** @type {Worker | null} */
let worker = null;
let nextId = 1;
/** @type {Map<number, {resolve: (v: any) => void, reject: (e: Error) => void}>} */
const pending = new Map();
/** @type {Map<string, Promise<string[]>>} */
const used = new Map();

function start() {
  if (worker) return worker;
  const w = new Worker(new URL('./infer-worker.js', import.meta.url), { type: 'module' });
  w.onmessage = (e) => {
    const { id, ok, result, error } = e.data;
    const p = pending.get(id);
    if (!p) return;
    pending.delete(id);
    if (ok) p.resolve(result);
    else p.reject(new Error(error));
  };
  w.onerror = (e) => {
    e.preventDefault();
    const error = new Error(`the inference worker failed: ${e.message || 'it could not start'}`);
    for (const p of pending.values()) p.reject(error);
    pending.clear();
    worker = null;
    used.clear();
  };
  worker = w;
  return w;
}

/**
 * Runs one call in the worker.
 * @param {string} type @param {any} [args] @param {Transferable[]} [transfer]
 * @returns {Promise<any>}
 */
export function call(type, args = {}, transfer = []) {
  const w = start();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject });
    w.postMessage({ id, type, args }, transfer);
  });
}

/**
 * Adds a handler module (a URL relative to www/js/, e.g. './classify-handlers.js') to the worker.
 * @param {string} url @returns {Promise<string[]>} the calls it added
 */
export function use(url) {
  let p = used.get(url);
  if (!p) {
    p = call('use', { url });
    used.set(url, p);
    p.catch(() => used.delete(url));
  }
  return p;
}

/**
 * A latest-wins wrapper: calls made while one runs collapse into the newest.
 * @template A, R
 * @param {(arg: A) => Promise<R>} fn
 * @returns {(arg: A) => Promise<R | null>}
 */
export function latest(fn) {
  let running = false;
  /** @type {{arg: A, resolve: (v: R | null) => void, reject: (e: any) => void} | null} */
  let waiting = null;
  const pump = async (/** @type {A} */ arg, /** @type {(v: R | null) => void} */ resolve, /** @type {(e: any) => void} */ reject) => {
    running = true;
    try { resolve(await fn(arg)); } catch (e) { reject(e); }
    running = false;
    if (waiting) {
      const next = waiting;
      waiting = null;
      pump(next.arg, next.resolve, next.reject);
    }
  };
  return (arg) => new Promise((resolve, reject) => {
    if (!running) { pump(arg, resolve, reject); return; }
    waiting?.resolve(null);
    waiting = { arg, resolve, reject };
  });
}

/** Stops the worker (its models are lost; the next call starts a fresh one). */
export function terminate() {
  worker?.terminate();
  worker = null;
  used.clear();
  for (const p of pending.values()) p.reject(new Error('the inference worker was stopped'));
  pending.clear();
}
