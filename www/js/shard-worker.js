// @ts-check
/**
 * A data-parallel shard worker for the training worker (www/js/train-worker.js): its own core
 * instance computes one shard of each batch's gradients, so CPU training uses more than one
 * core without SharedArrayBuffer (any static host, no special headers).
 *
 * Messages in: `{type: 'init', spec}`, then `{type: 'step', weights: Float32Array, task:
 * ShardTask}` (the trainer's weights, flat, and this worker's shard). Out: `{ok: true, result:
 * ShardResult}` (the shard's gradients, flat, its loss, correct count and size) or
 * `{ok: false, error}` (the core's message).
 */
/** @type {Promise<any>} */
const ready = (async () => {
  const core = await import(new URL('../convlab.js', import.meta.url).href);
  await core.default({ module_or_path: new URL('../convlab_bg.wasm', import.meta.url) });
  return core;
})();

/** @type {any} */
let shard = null;

self.onmessage = async (/** @type {MessageEvent} */ event) => {
  const msg = event.data;
  try {
    const core = await ready;
    if (msg.type === 'init') {
      shard?.free();
      const model = core.Model.fromSpec(msg.spec);
      shard = new core.ShardWorker(model);
      model.free();
      self.postMessage({ ok: true, result: null });
    } else if (msg.type === 'step') {
      if (!shard) throw new Error('the shard worker got a step before its model');
      shard.setWeights(msg.weights);
      const { x, shape, labels, stepSeed, offset, total } = msg.task;
      const result = shard.gradients(x, shape, labels, stepSeed, offset, total);
      self.postMessage({ ok: true, result }, { transfer: [result.grads.buffer] });
    }
  } catch (e) {
    self.postMessage({ ok: false, error: e instanceof Error ? e.message : String(e) });
  }
};
