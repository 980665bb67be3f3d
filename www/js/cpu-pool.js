// @ts-check
/**
 * A pool of Web Workers, each with its own instance of the core, that splits one convolution
 * by output rows so that every core of the machine works on it. It needs no cross-origin
 * isolation (no SharedArrayBuffer): the input and filters are copied to each worker and each
 * worker's rows are transferred back. The pieces are bit-identical to the single-thread result.
 */

/**
 * @typedef {{resolve: (v: {data: Float32Array, ms: number}) => void, reject: (e: Error) => void}} Pending
 */

export class CpuPool {
  /** @param {number} size */
  constructor(size) {
    this.size = size;
    /** @type {Map<number, Pending>} */
    this.pending = new Map();
    this.nextId = 0;
    /** Set when a worker fails to load or crashes; callers then compute in this thread. */
    this.broken = /** @type {string | null} */ (null);
    this.workers = Array.from({ length: size }, () => {
      const w = new Worker(new URL('./cpu-worker.js', import.meta.url), { type: 'module' });
      w.onmessage = (e) => this.#settle(e.data);
      w.onerror = (e) => this.#fail(`a CPU worker failed: ${e.message || 'it could not start'}`);
      w.onmessageerror = () => this.#fail('a CPU worker sent a message that could not be read');
      return w;
    });
  }

  /** @param {{id: number, data?: Float32Array, ms?: number, error?: string}} msg */
  #settle(msg) {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.error !== undefined) p.reject(new Error(msg.error));
    else p.resolve({ data: /** @type {Float32Array} */ (msg.data), ms: msg.ms ?? 0 });
  }

  /** @param {string} why */
  #fail(why) {
    this.broken = why;
    for (const p of this.pending.values()) p.reject(Object.assign(new Error(why), { poolFailure: true }));
    this.pending.clear();
  }

  /**
   * Rows `first..end` of a convolution on worker `k`.
   * @param {number} k @param {any} x @param {any} filters @param {any} options @param {number} first @param {number} end
   * @returns {Promise<{data: Float32Array, ms: number}>}
   */
  #rows(k, x, filters, options, first, end) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.workers[k].postMessage({ id, x, filters, options, first, end });
    });
  }

  /**
   * conv2d split across the workers. `shape` is the output shape (from the core's
   * conv2dShape, which has validated the arguments).
   * @param {any} x @param {any} filters @param {any} options @param {number[]} shape
   */
  async conv2d(x, filters, options, shape) {
    const [n, oh, ow, c] = shape;
    const rows = n * oh;
    const parts = Math.max(1, Math.min(this.size, rows));
    const bounds = Array.from({ length: parts + 1 }, (_, i) => Math.round((i * rows) / parts));
    const t0 = performance.now();
    const pieces = await Promise.all(
      bounds.slice(0, -1).map((first, k) => this.#rows(k, x, filters, options, first, bounds[k + 1])),
    );
    const data = new Float32Array(n * oh * ow * c);
    pieces.forEach((p, k) => data.set(p.data, bounds[k] * ow * c));
    return { shape, data, backend: 'cpu', ms: performance.now() - t0, threads: parts };
  }

  terminate() {
    for (const w of this.workers) w.terminate();
    this.#fail('the pool was closed');
  }
}
