// @ts-check
/**
 * A worker of the CPU pool: its own instance of the core (CPU path only), computing a range
 * of a convolution's output rows. Messages: `{id, x, filters, options, first, end}` in,
 * `{id, data, ms}` (the buffer transferred) or `{id, error}` out.
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

self.onmessage = async (event) => {
  const { id, x, filters, options, first, end } = event.data;
  try {
    const core = await ready;
    const r = core.conv2dRows(x, filters, options, first, end);
    self.postMessage({ id, data: r.data, ms: r.ms }, { transfer: [r.data.buffer] });
  } catch (e) {
    self.postMessage({ id, error: /** @type {Error} */ (e).message ?? String(e) });
  }
};
