// @ts-check
/**
 * A worker of the CPU pool: its own instance of the core (CPU path only), computing a range
 * of a convolution's output rows. Messages: `{id, x, filters, options, first, end, collect?}`
 * in, `{id, data, ms, finishMs?}` (the buffer transferred) or `{id, error}` out; with `collect:
 * {total, perRow}` the worker returns the whole result (its rows written, the rest touched).
 * Tensors kept in the calling thread arrive as mirrors (below); `{forget}` drops one.
 */
const ready = (async () => {
  const core = await import(new URL('../convlab.js', import.meta.url).href);
  await core.default({ module_or_path: new URL('../convlab_bg.wasm', import.meta.url) });
  await core.initBackends({ webgpu: false });
  // V8 first runs wasm on its baseline compiler and moves hot functions to the optimising one
  // after they have run a while: a first large convolution in a cold worker measured 20x
  // slower. A few small convolutions (both CPU kernels) at start-up warm them up.
  const t = (/** @type {number[]} */ shape) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
  for (let i = 0; i < 40; i++) {
    core.conv2dRows(t([1, 8, 8, 16]), t([3, 3, 16, 16]), { padding: 'same' }, 0, 8);
    core.conv2dRows(t([1, 8, 8, 3]), t([3, 3, 3, 2]), { padding: 'same' }, 0, 8);
  }
  return core;
})();

/**
 * Copies of the calling thread's kept tensors, by its id: `{shape, mirror: id, data?}` arrives
 * with the data the first time, then without (kept tensors never change). `{forget: id}` drops
 * one when the calling thread disposes it.
 * @type {Map<number, any>}
 */
const mirrors = new Map();

/** A tensor argument as the core takes it: mirrored ones from (or into) `mirrors`. */
function resolve(/** @type {any} */ core, /** @type {any} */ t) {
  if (t?.mirror === undefined) return t;
  if (t.data !== undefined) {
    const old = mirrors.get(t.mirror);
    if (old) core.dispose(old);
    mirrors.set(t.mirror, core.keep({ shape: t.shape, data: t.data }));
  }
  const kept = mirrors.get(t.mirror);
  if (!kept) throw new Error(`the pool's copy of kept tensor ${t.mirror} is missing`);
  // The shape the caller gave: a kept tensor can be read reshaped.
  return { shape: t.shape, kept: kept.kept };
}

self.onmessage = async (event) => {
  if (event.data.forget !== undefined) {
    const core = await ready;
    const kept = mirrors.get(event.data.forget);
    if (kept) core.dispose(kept);
    mirrors.delete(event.data.forget);
    return;
  }
  const { id, options, first, end, collect } = event.data;
  try {
    const core = await ready;
    const x = resolve(core, event.data.x);
    const filters = resolve(core, event.data.filters);
    if (collect === undefined) {
      const r = core.conv2dRows(x, filters, options, first, end);
      self.postMessage({ id, data: r.data, ms: r.ms }, { transfer: [r.data.buffer] });
      return;
    }
    // The collecting worker: allocate the whole result, write its rows into it, and touch the
    // rest (fresh pages fault on first write, which costs as much as a small layer here), so
    // that the calling thread only copies its share into memory that is ready.
    const t0 = performance.now();
    const { total, perRow } = collect;
    const data = new Float32Array(total);
    const ms = core.conv2dRowsInto(x, filters, options, first, end, data, first * perRow);
    data.fill(0, 0, first * perRow);
    data.fill(0, end * perRow);
    self.postMessage({ id, data, ms, finishMs: performance.now() - t0 - ms }, { transfer: [data.buffer] });
  } catch (e) {
    self.postMessage({ id, error: /** @type {Error} */ (e).message ?? String(e) });
  }
};
