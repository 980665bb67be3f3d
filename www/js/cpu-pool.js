// @ts-check
/**
 * A pool that splits one convolution by output rows so that every core of the machine works
 * on it: `threads - 1` Web Workers, each with its own instance of the core, and this thread,
 * which computes the first share itself while the workers compute theirs. It needs no
 * cross-origin isolation (no SharedArrayBuffer): the input and filters are copied to each
 * worker and each worker's rows are transferred back. The pieces are bit-identical to the
 * single-thread result.
 *
 * Why this thread takes a share: with two workers and this thread waiting, the seed's layer
 * (a 12 MB output) took longer than on one thread (32 ms against 23 in the benchmark): each
 * worker's output became a new array, was transferred, and was copied again into the result.
 * This thread's share is written straight into the result (`conv2dRowsInto`), one copy like
 * the single-thread call, and one worker fewer is one input copy fewer.
 */

/**
 * @typedef {{resolve: (v: {data: Float32Array, ms: number}) => void, reject: (e: Error) => void}} Pending
 */

export class CpuPool {
  /** @param {number} size threads in all (this one and `size - 1` workers) */
  constructor(size) {
    this.size = size;
    /** @type {Map<number, Pending>} */
    this.pending = new Map();
    this.nextId = 0;
    /** Set when a worker fails to load or crashes; callers then compute in this thread. */
    this.broken = /** @type {string | null} */ (null);
    this.workers = Array.from({ length: size - 1 }, () => {
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
   * conv2d split across this thread and the workers. `shape` is the output shape (from the
   * core's conv2dShape, which has validated the arguments); `bindings` are the core's exports
   * in this thread.
   * @param {any} x @param {any} filters @param {any} options @param {number[]} shape @param {any} bindings
   */
  async conv2d(x, filters, options, shape, bindings) {
    const [n, oh, ow, c] = shape;
    const rows = n * oh;
    const parts = Math.max(1, Math.min(this.size, rows));
    const bounds = Array.from({ length: parts + 1 }, (_, i) => Math.round((i * rows) / parts));
    const t0 = performance.now();
    // Workers cannot see this instance's kept tensors: they get the values.
    const [wx, wf] = [x, filters].map((t) => (t?.kept !== undefined ? bindings.read(t) : t));
    // The workers' shares first, so that they run while this thread computes share 0.
    const pieces = bounds.slice(1, -1).map((first, k) => this.#rows(k, wx, wf, options, first, bounds[k + 2]));
    const data = new Float32Array(n * oh * ow * c);
    try {
      bindings.conv2dRowsInto(x, filters, options, 0, bounds[1], data, 0);
    } finally {
      // A share that failed here must not leave the workers' promises unobserved.
      await Promise.allSettled(pieces);
    }
    (await Promise.all(pieces)).forEach((p, k) => data.set(p.data, bounds[k + 1] * ow * c));
    const result = options?.keep ? bindings.keep({ shape, data }) : { shape, data };
    return { ...result, backend: 'cpu', ms: performance.now() - t0, threads: parts };
  }

  terminate() {
    for (const w of this.workers) w.terminate();
    this.#fail('the pool was closed');
  }
}
