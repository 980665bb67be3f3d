// @ts-check
/**
 * The training worker: its own instance of the core runs the whole training loop, so the page
 * never computes a kernel while a model trains. Messages in: `{type: 'start', spec, weights,
 * train: {images, labels, options}, validation?, options}`, then `pause`, `resume`, `stop`.
 * Messages out: `progress` (after each slice of steps, about every 150 ms), `epoch` (with the
 * validation evaluation), `done` (`weights`: safetensors bytes, `history`) or `error`.
 */
/** @type {Promise<any>} */
const ready = (async () => {
  const core = await import(new URL('../convlab.js', import.meta.url).href);
  await core.default({ module_or_path: new URL('../convlab_bg.wasm', import.meta.url) });
  await core.initBackends({ webgpu: false });
  return core;
})();

let paused = false;
let stopped = false;

/** @returns {Promise<void>} a macrotask boundary, so that pause/stop messages are handled */
const yieldToMessages = () => new Promise((resolve) => setTimeout(resolve, 0));

/** @param {any} msg */
async function run(msg) {
  const core = await ready;
  const model = core.Model.fromSpec(msg.spec);
  if (msg.weights) model.loadWeights(msg.weights);
  const train = core.Dataset.fromIdx(msg.train.images, msg.train.labels, msg.train.options);
  const validation = msg.validation
    ? core.Dataset.fromIdx(msg.validation.images, msg.validation.labels, msg.validation.options)
    : null;
  const trainer = new core.Trainer(model, train, msg.options);
  const history = [];
  let steps = 1;
  let lastEpoch = 0;
  const started = performance.now();
  for (;;) {
    while (paused && !stopped) await new Promise((resolve) => setTimeout(resolve, 50));
    if (stopped) break;
    const t = performance.now();
    const p = trainer.runSteps(steps);
    const ms = performance.now() - t;
    // Slices of about 150 ms: responsive to pause and stop, cheap in messages.
    steps = Math.max(1, Math.min(1000, Math.round(steps * (150 / Math.max(ms, 1)))));
    const elapsed = (performance.now() - started) / 1000;
    self.postMessage({ type: 'progress', ...p, elapsed });
    if (p.epoch > lastEpoch || p.done) {
      lastEpoch = p.epoch;
      const entry = { epoch: p.epoch, elapsed, validation: validation ? trainer.evaluate(validation) : null };
      history.push(entry);
      self.postMessage({ type: 'epoch', ...entry });
    }
    if (p.done) break;
    await yieldToMessages();
  }
  const weights = trainer.saveWeights();
  self.postMessage({ type: 'done', weights, history, stopped }, { transfer: [weights.buffer] });
}

self.onmessage = (event) => {
  const msg = event.data;
  if (msg.type === 'pause') paused = true;
  else if (msg.type === 'resume') paused = false;
  else if (msg.type === 'stop') stopped = true;
  else if (msg.type === 'start') {
    paused = false;
    stopped = false;
    run(msg).catch((e) => self.postMessage({ type: 'error', message: e?.message ?? String(e) }));
  }
};
