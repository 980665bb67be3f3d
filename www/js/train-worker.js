// @ts-check
/**
 * The training worker: its own instance of the core runs the whole training loop, so the page
 * never computes a kernel while a model trains. Messages in: `{type: 'start', spec, weights,
 * train: {images, labels, options}, validation?, options}`, then `pause`, `resume`, `stop`.
 * Messages out: `progress` (after each slice of steps, about every 150 ms), `epoch` (with the
 * validation evaluation, that epoch's `weights`, safetensors bytes, and, where the core has
 * `Trainer.checkpoint`, the run's whole state as `checkpoint`, so that a page can keep them),
 * `done` (`weights`, `history`) or `error`. Progress, epoch and done messages say the `backend`.
 *
 * `options.backend` picks where the steps run: 'cpu' (the default), 'webgpu' (refused with the
 * reason when this worker has no device), or 'auto' (WebGPU on a hardware adapter, the CPU path
 * on a software one, where training runs many times slower). The worker opens a device only
 * when the run asks for one.
 *
 * It also evaluates, for the training panel (www/js/train-panel.js), with per-image answers:
 * `{type: 'evaluate', spec, weights, data: {images, labels, options}}` (raw IDX bytes) posts
 * `evalProgress` (`{done, total}`) and then `evaluated` (`{accuracy, loss, confusion,
 * predicted: Uint8Array}`), all computed here so that the page stays responsive.
 */
/** @type {Promise<any>} */
const ready = (async () => {
  const core = await import(new URL('../convlab.js', import.meta.url).href);
  await core.default({ module_or_path: new URL('../convlab_bg.wasm', import.meta.url) });
  return core;
})();

/** @type {Promise<any> | null} */
let backendsOpened = null;

/**
 * The backend a run asked for, resolved: opens the device on first need.
 * @param {any} core @param {string | undefined} wanted @returns {Promise<'cpu' | 'webgpu'>}
 */
async function resolveBackend(core, wanted) {
  if (wanted === undefined || wanted === 'cpu') {
    backendsOpened ??= core.initBackends({ webgpu: false });
    await backendsOpened;
    return 'cpu';
  }
  if (wanted !== 'auto' && wanted !== 'webgpu') {
    throw new Error(`fit: option 'backend': ${JSON.stringify(wanted)} is not 'auto', 'cpu' or 'webgpu'`);
  }
  backendsOpened ??= core.initBackends({ webgpu: true });
  await backendsOpened;
  const report = core.backends();
  const available = report.available.includes('webgpu');
  if (wanted === 'webgpu') {
    if (!available) throw new Error(`fit: WebGPU is unavailable in the training worker (${report.webgpuProblem ?? 'no adapter'})`);
    return 'webgpu';
  }
  return available && !report.adapter?.software ? 'webgpu' : 'cpu';
}

/**
 * The number of data-parallel workers a run asked for: 1 (the default), a whole number up to
 * 16, or 'auto' (one per core the browser reports, at most 4, on the CPU path; 1 on WebGPU).
 * @param {unknown} wanted @param {'cpu' | 'webgpu'} backend @param {number} batch
 */
function resolveWorkers(wanted, backend, batch) {
  if (wanted === undefined || wanted === 1) return 1;
  if (wanted === 'auto') {
    if (backend !== 'cpu') return 1;
    return Math.max(1, Math.min(4, navigator.hardwareConcurrency || 1, batch));
  }
  if (typeof wanted !== 'number' || !Number.isInteger(wanted) || wanted < 1 || wanted > 16) {
    throw new Error(`fit: option 'workers': ${JSON.stringify(wanted)} is not 'auto' or a whole number from 1 to 16`);
  }
  if (backend !== 'cpu') throw new Error(`fit: option 'workers': ${wanted} workers are for the CPU path; this run trains on WebGPU`);
  if (wanted > batch) throw new Error(`fit: option 'workers': ${wanted} workers for a batch of ${batch}: at most one worker per image`);
  return wanted;
}

/**
 * The shard workers of a data-parallel run: `step(trainer)` takes one optimisation step with
 * the batch cut into `1 + helpers.length` shards (this worker computes the first).
 * @param {number} count helpers to start @param {any} spec
 */
async function shardPool(count, spec) {
  const helpers = Array.from({ length: count }, () => new Worker(new URL('./shard-worker.js', import.meta.url), { type: 'module' }));
  /** @param {Worker} w @param {any} message @param {Transferable[]} transfer @returns {Promise<any>} */
  const ask = (w, message, transfer = []) => new Promise((resolve, reject) => {
    w.onmessage = (e) => (e.data.ok ? resolve(e.data.result) : reject(new Error(`a shard worker: ${e.data.error}`)));
    w.onerror = (e) => { e.preventDefault(); reject(new Error(`a shard worker failed: ${e.message || 'it could not start'}`)); };
    w.postMessage(message, transfer);
  });
  await Promise.all(helpers.map((w) => ask(w, { type: 'init', spec })));
  return {
    /** @param {any} trainer @returns {Promise<any>} the trainer's progress */
    async step(trainer) {
      const tasks = trainer.beginShards(count + 1);
      if (tasks === null) return trainer.runSteps(0);
      const flat = trainer.weightsFlat();
      const replies = tasks.map((/** @type {any} */ task, /** @type {number} */ i) => {
        const weights = i === tasks.length - 1 ? flat : flat.slice();
        return ask(helpers[i], { type: 'step', weights, task }, [weights.buffer, task.x.buffer, task.labels.buffer]);
      });
      trainer.ownShard();
      return trainer.finishShards(await Promise.all(replies));
    },
    close() { helpers.forEach((w) => w.terminate()); },
  };
}

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
  const { workers: wantedWorkers, ...options } = msg.options ?? {};
  const trainer = new core.Trainer(model, train, { ...options, backend: await resolveBackend(core, options.backend) });
  // What the trainer itself runs on (the reports say it, and the tests read it).
  const backend = trainer.backend;
  const workers = resolveWorkers(wantedWorkers, backend, options.batchSize ?? 32);
  const pool = workers > 1 ? await shardPool(workers - 1, msg.spec) : null;
  try {
    return await loop(trainer, validation, pool, backend, workers, msg);
  } finally {
    pool?.close();
  }
}

/**
 * The epochs: slices of steps, progress, each epoch's evaluation, weights and checkpoint.
 * @param {any} trainer @param {any} validation @param {any} pool @param {string} backend
 * @param {number} workers @param {any} msg
 */
async function loop(trainer, validation, pool, backend, workers, msg) {
  const history = [];
  let steps = 1;
  // A run resumed from a checkpoint (options.resume, where the core has Trainer.checkpoint)
  // starts at its saved epoch; zero steps report where the trainer stands.
  let lastEpoch = msg.options?.resume ? trainer.runSteps(0).epoch : 0;
  const started = performance.now();
  for (;;) {
    while (paused && !stopped) await new Promise((resolve) => setTimeout(resolve, 50));
    if (stopped) break;
    const t = performance.now();
    let p;
    if (pool) {
      // Whole data-parallel steps for about 150 ms, stopping at an epoch's end.
      do p = await pool.step(trainer);
      while (!p.done && p.step !== 0 && performance.now() - t < 150);
    } else {
      p = await trainer.runStepsAsync(steps);
    }
    const ms = performance.now() - t;
    // Slices of about 150 ms: responsive to pause and stop, cheap in messages.
    steps = Math.max(1, Math.min(1000, Math.round(steps * (150 / Math.max(ms, 1)))));
    const elapsed = (performance.now() - started) / 1000;
    self.postMessage({ type: 'progress', ...p, elapsed, backend, workers });
    if (p.epoch > lastEpoch || p.done) {
      lastEpoch = p.epoch;
      const entry = { epoch: p.epoch, elapsed, backend, workers, validation: validation ? await trainer.evaluateAsync(validation) : null };
      history.push(entry);
      await trainer.sync();
      const weights = trainer.saveWeights();
      // The whole state (optimizer slots, position) where the core can checkpoint a run.
      const checkpoint = typeof trainer.checkpoint === 'function' ? trainer.checkpoint() : null;
      const transfer = checkpoint ? [weights.buffer, checkpoint.buffer] : [weights.buffer];
      self.postMessage({ type: 'epoch', ...entry, weights, checkpoint }, { transfer });
    }
    if (p.done) break;
    await yieldToMessages();
  }
  await trainer.sync();
  const weights = trainer.saveWeights();
  self.postMessage({ type: 'done', weights, history, stopped, backend, workers }, { transfer: [weights.buffer] });
}

self.onmessage = (event) => {
  const msg = event.data;
  if (msg.type === 'pause') paused = true;
  else if (msg.type === 'resume') paused = false;
  else if (msg.type === 'stop') stopped = true;
  else if (msg.type === 'evaluate') {
    evaluate(msg).catch((e) => self.postMessage({ type: 'error', message: e?.message ?? String(e) }));
  } else if (msg.type === 'start') {
    paused = false;
    stopped = false;
    run(msg).catch((e) => self.postMessage({ type: 'error', message: e?.message ?? String(e) }));
  }
};

/**
 * Inference on every image of an IDX data set, in batches, with each image's predicted class.
 * Inputs are `(pixel / 255 - mean) / std`, as the core's Dataset makes them; the loss is the
 * mean cross-entropy of the model's softmax output (a softmax is applied when the outputs are
 * not probabilities already).
 * @param {any} msg
 */
async function evaluate(msg) {
  const core = await ready;
  await resolveBackend(core, 'cpu');
  const model = core.Model.fromSpec(msg.spec);
  model.loadWeights(msg.weights);
  const { images, labels } = msg.data;
  const { mean = 0, std = 1, classes = 10 } = msg.data.options ?? {};
  // The header says the shape: [n, h, w] (magic 0x803, 16 bytes) or [n, h, w, c] (0x804, 20).
  const view = new DataView(images.buffer, images.byteOffset, images.byteLength);
  const dims = view.getUint8(3);
  const header = 4 + 4 * dims;
  const n = view.getUint32(4);
  const [h, w] = [view.getUint32(8), view.getUint32(12)];
  const c = dims >= 4 ? view.getUint32(16) : 1;
  const per = h * w * c;
  const predicted = new Uint8Array(n);
  const confusion = Array.from({ length: classes }, () => new Array(classes).fill(0));
  let correct = 0;
  let loss = 0;
  const batch = msg.batch ?? 200;
  for (let start = 0; start < n; start += batch) {
    const count = Math.min(batch, n - start);
    const data = new Float32Array(count * per);
    const pixels = images.subarray(header + start * per, header + (start + count) * per);
    for (let i = 0; i < data.length; i++) data[i] = (pixels[i] / 255 - mean) / std;
    const out = await model.predict({ shape: [count, h, w, c], data }, { backend: 'cpu' });
    const k = out.shape[1];
    for (let i = 0; i < count; i++) {
      const row = probabilities(out.data.subarray(i * k, (i + 1) * k));
      let best = 0;
      for (let c = 1; c < k; c++) if (row[c] > row[best]) best = c;
      const label = labels[8 + start + i];
      predicted[start + i] = best;
      if (best === label) correct++;
      if (label < classes && best < classes) confusion[label][best]++;
      loss -= Math.log(Math.max(row[label] ?? 0, 1e-12));
    }
    self.postMessage({ type: 'evalProgress', done: start + count, total: n });
  }
  self.postMessage({ type: 'evaluated', accuracy: correct / Math.max(n, 1), loss: loss / Math.max(n, 1), confusion, predicted },
    { transfer: [predicted.buffer] });
}

/** @param {Float32Array} row outputs of one image @returns {ArrayLike<number>} */
function probabilities(row) {
  let sum = 0;
  let negative = false;
  for (const v of row) { sum += v; if (v < 0) negative = true; }
  if (!negative && Math.abs(sum - 1) < 1e-3) return row;
  const max = Math.max(...row);
  const e = Array.from(row, (v) => Math.exp(v - max));
  const z = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / z);
}
