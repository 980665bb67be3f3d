// @ts-check
/**
 * A pool that splits one convolution by output rows so that every core of the machine works
 * on it: `threads - 1` Web Workers, each with its own instance of the core, and this thread,
 * which computes a share itself while the workers compute theirs. It needs no cross-origin
 * isolation (no SharedArrayBuffer): inputs are copied to the workers (kept ones once) and the
 * workers' rows are transferred back. The pieces are bit-identical to the single-thread result.
 *
 * Why this thread takes a share, and a worker allocates the result: with two workers and this
 * thread waiting, the seed's layer (a 12 MB result) took longer than on one thread (32 ms
 * against 23 in the benchmark): each worker's rows became a new array, were transferred and
 * were copied again into a new result, and a new array's pages fault on first write (12 MB:
 * 8.6 ms here). Now the collecting worker allocates the result and touches it while this
 * thread computes, so that memory is ready when this thread copies its share in (see conv2d).
 */

/**
 * @typedef {{resolve: (v: {data: Float32Array, ms: number, finishMs?: number}) => void, reject: (e: Error) => void}} Pending
 */

export class CpuPool {
  /** @param {number} size threads in all (this one and `size - 1` workers) */
  constructor(size) {
    this.size = size;
    /** Kept tensors (by id) that workers hold copies of, and which workers. @type {Map<number, Set<number>>} */
    this.mirrored = new Map();
    /** Estimated milliseconds per multiply-add of this thread's convolutions (15 G/s to start). */
    this.msPerMac = 1 / 15e6;
    /** Estimated milliseconds per float of a new result array, allocated and filled (this VM's
     * page faults: 12 MB in 8.6 ms). */
    this.msPerFloat = 8.6 / 3e6;
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

  /** @param {{id: number, data?: Float32Array, ms?: number, finishMs?: number, error?: string}} msg */
  #settle(msg) {
    const p = this.pending.get(msg.id);
    if (!p) return;
    this.pending.delete(msg.id);
    if (msg.error !== undefined) p.reject(new Error(msg.error));
    else p.resolve({ data: /** @type {Float32Array} */ (msg.data), ms: msg.ms ?? 0, finishMs: msg.finishMs });
  }

  /** @param {string} why */
  #fail(why) {
    this.broken = why;
    for (const p of this.pending.values()) p.reject(Object.assign(new Error(why), { poolFailure: true }));
    this.pending.clear();
  }

  /**
   * Tensor `t` as worker `k` is sent it. Workers cannot see this thread's kept tensors: the
   * first time, a kept tensor's values go with its id and the worker keeps a copy; after that
   * only the id (kept tensors never change; `forget` drops the copies when it is disposed).
   * A kept tensor that lives only on the WebGPU device is read back here first.
   * @param {number} k @param {any} t @param {any} bindings
   */
  async #mirror(k, t, bindings) {
    if (t?.kept === undefined) return t;
    let holders = this.mirrored.get(t.kept);
    if (!holders) this.mirrored.set(t.kept, (holders = new Set()));
    if (holders.has(k)) return { shape: t.shape, mirror: t.kept };
    const copy = { ...(await bindings.read(t)), mirror: t.kept }; // rejects for a disposed tensor
    holders.add(k);
    return copy;
  }

  /**
   * Drops the workers' copies of a kept tensor (convlab.dispose calls it).
   * @param {number} id
   */
  forget(id) {
    const holders = this.mirrored.get(id);
    if (!holders) return;
    for (const k of holders) this.workers[k].postMessage({ forget: id });
    this.mirrored.delete(id);
  }

  /**
   * Rows `first..end` of a convolution on worker `k`; with `collect`, the whole result.
   * @param {number} k @param {any} x @param {any} filters @param {any} options @param {number} first @param {number} end
   * @param {{total: number, perRow: number}} [collect]
   * @returns {Promise<{data: Float32Array, ms: number, finishMs?: number}>}
   */
  #rows(k, x, filters, options, first, end, collect) {
    return new Promise((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      this.workers[k].postMessage({ id, x, filters, options, first, end, collect });
    });
  }

  /**
   * conv2d split across this thread and the workers. `shape` is the output shape (from the
   * core's conv2dShape, which has validated the arguments); `bindings` are the core's exports
   * in this thread.
   *
   * The first worker collects: it allocates the whole result, writes its rows and touches the
   * rest while this thread computes its share into the core (kept), which it then copies into
   * the collector's array; other workers' pieces are copied in too. A new array's pages fault on
   * first write, which here costs about as much as convolving a small layer (the seed's 12 MB
   * result: 8.6 ms), so the collector takes fewer rows: shares are set so that every thread
   * finishes together, from running estimates of the milliseconds per multiply-add and per
   * result float, which each call updates.
   * @param {any} x @param {any} filters @param {any} options @param {number[]} shape @param {any} bindings
   */
  async conv2d(x, filters, options, shape, bindings) {
    const [n, oh, ow, c] = shape;
    const rows = n * oh;
    const perRow = ow * c;
    const total = rows * perRow;
    const parts = Math.max(1, Math.min(this.size, rows));
    const t0 = performance.now();
    if (parts === 1) return { ...(await bindings.conv2d(x, filters, options)), threads: 1 };
    const [fh, fw, cin] = filters.shape;
    const macsPerRow = perRow * fh * fw * cin;
    const compute = rows * macsPerRow * this.msPerMac;
    const finish = total * this.msPerFloat;
    // Equal finishing times: this thread and the other workers s * compute, the collector
    // s0 * compute + finish, the shares summing to 1.
    const s = (1 + finish / compute) / parts;
    const collected = Math.min(Math.max(1, Math.round(rows * (s - finish / compute))), rows - (parts - 1));
    const rest = rows - collected;
    /** @type {number[]} rows of this thread, then of the other workers */
    const shares = Array.from({ length: parts - 1 }, (_, i) => Math.round(((i + 1) * rest) / (parts - 1)) - Math.round((i * rest) / (parts - 1)));
    const mine = shares[0];
    // This thread's share is computed synchronously (conv2dRows): kept inputs that live only on
    // the WebGPU device are read back into the core first; workers get the values of a kept
    // bias (their cores do not know this thread's kept tensors).
    const kept = (/** @type {any} */ t) => t?.kept !== undefined;
    await Promise.all([x, filters, options?.bias].filter(kept).map((t) => bindings.ensureOnCpu(t)));
    const wopts = { ...options, keep: false };
    if (kept(options?.bias)) wopts.bias = (await bindings.read(options.bias)).data;
    // Every worker's inputs before any share starts (a read that fails leaves nothing running).
    /** @type {any[][]} */
    const sent = [];
    for (let k = 0; k < parts - 1; k++) sent.push([await this.#mirror(k, x, bindings), await this.#mirror(k, filters, bindings)]);
    const collector = this.#rows(0, sent[0][0], sent[0][1], wopts, mine, mine + collected, { total, perRow });
    /** @type {number[]} */
    const starts = [];
    let next = mine + collected;
    const others = shares.slice(1).map((count, k) => {
      starts.push(next);
      const piece = this.#rows(k + 1, sent[k + 1][0], sent[k + 1][1], wopts, next, next + count);
      next += count;
      return piece;
    });
    const pending = [collector, ...others];
    let share = null;
    try {
      share = bindings.conv2dRows(x, filters, { ...options, keep: true }, 0, mine);
      const joined = await collector;
      const data = joined.data;
      bindings.readInto(share, data, 0);
      (await Promise.all(others)).forEach((p, k) => data.set(p.data, starts[k] * perRow));
      // Running estimates for the next call (samples under a millisecond are mostly timer
      // resolution).
      if (share.ms >= 1) this.msPerMac += 0.3 * (share.ms / (mine * macsPerRow) - this.msPerMac);
      if (joined.finishMs !== undefined && joined.finishMs >= 1) this.msPerFloat += 0.3 * (joined.finishMs / total - this.msPerFloat);
      const result = options?.keep ? bindings.keep({ shape, data }) : { shape, data };
      return { ...result, backend: 'cpu', ms: performance.now() - t0, threads: parts };
    } finally {
      if (share) bindings.dispose(share);
      // A share that failed here must not leave the workers' promises unobserved; after a
      // failed share the workers' copies are not trusted (one may have failed to keep its copy).
      const settled = await Promise.allSettled(pending);
      if (settled.some((r) => r.status === 'rejected')) for (const id of [...this.mirrored.keys()]) this.forget(id);
    }
  }

  terminate() {
    for (const w of this.workers) w.terminate();
    this.#fail('the pool was closed');
  }
}
