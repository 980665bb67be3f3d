// @ts-check
/**
 * The training pass of the benchmark page (bench.html?train): the chapter's Fashion-MNIST CNN
 * (1,413,834 parameters) trained at batch 64 by convlab through its public API (`model.fit`, the
 * loop in the training worker) on each backend that `fit` offers, and by TensorFlow.js 4.22 (the same
 * layers as a tf.layers model, `trainOnBatch`) on its cpu, webgl and webgpu
 * backends, in this page, one after the other. Also: main-thread long tasks while each trains
 * (a PerformanceObserver of 'longtask'), and the timed run of the small model that reaches 88% on
 * Fashion-MNIST (tests/browser/training.test.mjs's model, settings and seed).
 *
 * Steady state: convlab's samples/s come from the worker's progress messages (`step`,
 * `elapsed`, measured in the worker from after its set-up), counted from the end of a warm-up to
 * the end of a window of `window` seconds; TensorFlow.js's from wall time around whole steps
 * (each ends by reading the loss back) after one warm-up step. Both use Adam 1e-3 (TensorFlow.js
 * has no Nadam) and real Fashion-MNIST images. Options in the query string: `window` (seconds,
 * default 25), `tfjs` (backends, default wasm,cpu,webgl,webgpu: the
 * wasm backend is tried to show that it cannot train), `convlab` (default cpu,cpu-parallel,webgpu; cpu-parallel = workers 'auto'),
 * `small=0` to skip the 88% run. Results go to `globalThis.benchResults.training`.
 */
import api from './core.js';
import { SMALL_CNN } from './train-settings.js';

/**
 * @typedef {{count: number, totalMs: number, maxMs: number, seconds: number}} LongTasks
 * @typedef {{workload: string, engine: string, msPerStep: number | null, samplesPerSecond: number | null,
 *   steps: number, seconds: number, longTasks: LongTasks | null, accuracy?: number, note?: string}} TrainRow
 */

const BATCH = 64;
const query = new URLSearchParams(location.search);
const WINDOW_S = Number(query.get('window') ?? 25);
const list = (/** @type {string} */ key, /** @type {string} */ fallback) => (query.get(key) ?? fallback).split(',').filter(Boolean);

/**
 * Counts main-thread long tasks (over 50 ms, the browser's definition) from now until the
 * returned function is awaited.
 * @returns {() => Promise<LongTasks>}
 */
function watchLongTasks() {
  /** @type {PerformanceEntry[]} */
  const entries = [];
  const observer = new PerformanceObserver((list) => entries.push(...list.getEntries()));
  observer.observe({ type: 'longtask' });
  const t0 = performance.now();
  return async () => {
    // Let the task that just ended be reported before the count closes.
    await new Promise((resolve) => setTimeout(resolve, 100));
    entries.push(...observer.takeRecords());
    observer.disconnect();
    const durations = entries.map((e) => e.duration);
    return {
      count: durations.length, totalMs: durations.reduce((a, b) => a + b, 0),
      maxMs: Math.max(0, ...durations), seconds: (performance.now() - t0) / 1000,
    };
  };
}

/**
 * Steady-state samples/s of convlab's `fit` on `backend`: warm-up until 2 steps (1 on WebGPU) and
 * 3 s, then a window of WINDOW_S seconds and at least as many more steps, then `convlab.training.stop()`.
 * With `workers: 'auto'` the CPU path cuts each batch over one worker per core (data-parallel).
 * @param {any} train @param {'cpu' | 'webgpu'} backend @param {1 | 'auto'} [workers]
 * @returns {Promise<TrainRow>}
 */
async function convlabThroughput(train, backend, workers = 1) {
  let engine = `convlab ${backend} (fit, worker)`;
  const workload = 'chapter CNN training, batch 64';
  let withBackend = true;
  // On a software adapter one WebGPU step takes minutes: one step of warm-up and one timed.
  const minSteps = backend === 'webgpu' ? 1 : 2;
  for (;;) {
    const model = api.Model.fromSpec(api.zoo.spec('fashion_mnist_cnn'));
    /** @type {{steps: number, elapsed: number} | null} */
    let warm = null;
    /** @type {{steps: number, elapsed: number} | null} */
    let last = null;
    /** @type {string | undefined} */
    let reported;
    const longTasks = watchLongTasks();
    try {
      await model.fit(train, {
        epochs: 1, batchSize: BATCH, optimizer: 'adam', learningRate: 1e-3, seed: 1,
        ...(withBackend ? { backend } : {}),
        ...(workers !== 1 ? { workers } : {}),
        onProgress: (/** @type {any} */ p) => {
          const steps = p.epoch * p.stepsPerEpoch + p.step;
          reported ??= p.backend;
          if (workers !== 1 && p.workers) engine = `convlab ${backend} (fit, ${p.workers} data-parallel workers)`;
          if (!warm) {
            if (steps >= minSteps && p.elapsed >= 3) warm = { steps, elapsed: p.elapsed };
            return;
          }
          last = { steps, elapsed: p.elapsed };
          if (p.elapsed - warm.elapsed >= WINDOW_S && steps - warm.steps >= minSteps) api.training.stop();
        },
      });
    } catch (e) {
      const message = /** @type {Error} */ (e).message;
      await longTasks();
      if (/backend/i.test(message) && withBackend) {
        // fit has no backend option yet: its worker trains on the CPU path, so the CPU row is
        // measured without the option and the WebGPU row says it is not available.
        if (backend === 'cpu') { withBackend = false; continue; }
        return { workload, engine, msPerStep: null, samplesPerSecond: null, steps: 0, seconds: 0, longTasks: null,
          note: `not available: fit refused backend 'webgpu' (${message})` };
      }
      throw e;
    } finally {
      model.free();
    }
    const tasks = await longTasks();
    if (!warm || !last) throw new Error(`${engine}: the run ended before the warm-up did`);
    const { steps: s0, elapsed: e0 } = warm;
    const { steps: s1, elapsed: e1 } = /** @type {{steps: number, elapsed: number}} */ (last);
    const seconds = e1 - e0;
    const notes = [];
    if (!withBackend) notes.push('fit has no backend option yet; its worker trains on the CPU path');
    if (reported && reported !== backend) notes.push(`the worker reported backend ${reported}`);
    return {
      workload, engine, msPerStep: (1000 * seconds) / (s1 - s0), samplesPerSecond: ((s1 - s0) * BATCH) / seconds,
      steps: s1 - s0, seconds, longTasks: tasks, note: notes.join('; ') || undefined,
    };
  }
}

/**
 * The chapter's CNN as a TensorFlow.js Layers model, layer for layer the zoo's
 * `fashion_mnist_cnn` (Keras's defaults: Glorot-uniform kernels, zero biases), compiled with
 * Adam 1e-3 and sparse categorical cross-entropy.
 * @param {any} tf
 */
function tfCnn(tf) {
  const conv = (/** @type {number} */ filters, /** @type {number} */ kernelSize, /** @type {any} */ extra = {}) =>
    tf.layers.conv2d({ filters, kernelSize, padding: 'same', activation: 'relu', ...extra });
  const pool = () => tf.layers.maxPooling2d({ poolSize: 2 });
  const model = tf.sequential({
    layers: [
      conv(64, 7, { inputShape: [28, 28, 1] }), pool(), conv(128, 3), conv(128, 3), pool(), conv(256, 3), conv(256, 3), pool(),
      tf.layers.flatten(), tf.layers.dense({ units: 128, activation: 'relu' }), tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: 64, activation: 'relu' }), tf.layers.dropout({ rate: 0.5 }),
      tf.layers.dense({ units: 10, activation: 'softmax' }),
    ],
  });
  model.compile({ optimizer: tf.train.adam(1e-3), loss: 'sparseCategoricalCrossentropy' });
  return model;
}

/**
 * TensorFlow.js training the chapter's CNN on `backend` (`trainOnBatch`, Adam 1e-3, one batch of
 * 64 real images reused): one warm-up step, then whole steps until WINDOW_S seconds, at least one.
 * @param {any} tf @param {string} backend @param {{x: Float32Array, y: Int32Array}} batch
 * @returns {Promise<TrainRow>}
 */
async function tfThroughput(tf, backend, batch) {
  const workload = 'chapter CNN training, batch 64';
  const engine = `tfjs ${backend}`;
  /** @type {(r: Partial<TrainRow>) => TrainRow} */
  const row = (r) => ({ workload, engine, msPerStep: null, samplesPerSecond: null, steps: 0, seconds: 0, longTasks: null, ...r });
  try {
    if (!(await tf.setBackend(backend))) return row({ note: `not available: TensorFlow.js could not start its ${backend} backend` });
    await tf.ready();
  } catch (e) {
    return row({ note: `not available: ${/** @type {Error} */ (e).message}` });
  }
  const model = tfCnn(tf);
  if (model.countParams() !== 1_413_834) throw new Error(`tfjs CNN has ${model.countParams()} parameters, not 1,413,834`);
  const x = tf.tensor(batch.x, [BATCH, 28, 28, 1]);
  const y = tf.tensor(Float32Array.from(batch.y), [BATCH, 1]);
  // trainOnBatch resolves once the loss is read back: the step is done.
  const step = () => model.trainOnBatch(x, y);
  try {
    const longTasks = watchLongTasks();
    let t0 = performance.now();
    try {
      await step();
    } catch (e) {
      await longTasks();
      return row({ note: `cannot train: ${/** @type {Error} */ (e).message}` });
    }
    const warmMs = performance.now() - t0;
    /** @type {number[]} */
    const ms = [];
    // At least one whole step after the warm-up (whose first step compiles the shaders: on
    // SwiftShader that alone took minutes), more while the window lasts.
    const start = performance.now();
    while (ms.length < 1 || performance.now() - start < 1000 * WINDOW_S) {
      t0 = performance.now();
      await step();
      ms.push(performance.now() - t0);
    }
    const tasks = await longTasks();
    const seconds = ms.reduce((a, b) => a + b, 0) / 1000;
    return row({
      msPerStep: (1000 * seconds) / ms.length, samplesPerSecond: (ms.length * BATCH) / seconds, steps: ms.length, seconds,
      longTasks: tasks, note: `warm-up step ${(warmMs / 1000).toFixed(1)} s`,
    });
  } finally {
    model.dispose();
    x.dispose();
    y.dispose();
  }
}

/**
 * The small model of tests/browser/training.test.mjs, its settings and seed: one epoch of
 * Fashion-MNIST in the worker, then its accuracy on the full test set.
 * @param {any} d the data from convlab.data.load
 * @returns {Promise<TrainRow>}
 */
async function smallModelRun(d) {
  const model = api.Model.fromSpec(SMALL_CNN);
  try {
    const longTasks = watchLongTasks();
    const t0 = performance.now();
    await model.fit(d.train, { epochs: 1, batchSize: 32, optimizer: 'adam', learningRate: 3e-3, schedule: 'cosine', seed: 1 });
    const seconds = (performance.now() - t0) / 1000;
    const tasks = await longTasks();
    const accuracy = model.evaluate(d.test).accuracy;
    const steps = Math.floor(d.train.length / 32);
    return {
      workload: 'small CNN to 88%: 1 epoch, batch 32', engine: 'convlab cpu (fit, worker)', msPerStep: (1000 * seconds) / steps,
      samplesPerSecond: (steps * 32) / seconds, steps, seconds, longTasks: tasks, accuracy,
      note: `${(100 * accuracy).toFixed(2)}% on the 10,000 test images; wall time of fit from the call (worker start-up included)`,
    };
  } finally {
    model.free();
  }
}

/** The first 64 training images, normalised as the data set does, and their labels. */
function firstBatch(/** @type {any} */ train) {
  const { mean = 0, std = 1 } = train.options ?? {};
  const x = new Float32Array(BATCH * 784);
  for (let i = 0; i < x.length; i++) x[i] = (train.images[16 + i] / 255 - mean) / std;
  const y = Int32Array.from(train.labels.subarray(8, 8 + BATCH));
  return { x, y };
}

/**
 * @param {{status: HTMLElement, script: (src: string) => Promise<unknown>, report: (r: TrainRow) => void}} page
 */
export async function mainTrain({ status, script, report }) {
  await api.ready;
  status.textContent = 'loading Fashion-MNIST...';
  const t0 = performance.now();
  const d = await api.data.load('fashion_mnist');
  status.textContent = `Fashion-MNIST loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`;
  for (const backend of list('convlab', 'cpu,cpu-parallel,webgpu')) {
    status.textContent = `convlab ${backend} training...`;
    const parallel = backend === 'cpu-parallel';
    report(await convlabThroughput(d.train, parallel ? 'cpu' : /** @type {'cpu' | 'webgpu'} */ (backend), parallel ? 'auto' : 1));
  }
  if (query.get('small') !== '0') {
    status.textContent = 'the small model\'s 88% run...';
    report(await smallModelRun(d));
  }
  let tf = null;
  try {
    // The union bundle (core, layers, gradients, cpu and webgl backends); tfjs-core's own bundle
    // has no gradient functions, so it cannot train.
    await script('vendor/tf.min.js');
    await script('vendor/tf-backend-webgpu.min.js');
    await script('vendor/tf-backend-wasm.min.js');
    tf = /** @type {any} */ (globalThis).tf;
    tf.wasm.setWasmPaths(new URL('vendor/', location.href).href);
    tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  } catch (e) {
    status.textContent = `TensorFlow.js unavailable: ${/** @type {Error} */ (e).message}`;
  }
  const batch = firstBatch(d.train);
  for (const backend of list('tfjs', 'wasm,cpu,webgl,webgpu')) {
    status.textContent = `TensorFlow.js ${backend} training...`;
    report(tf ? await tfThroughput(tf, backend, batch)
      : { workload: 'chapter CNN training, batch 64', engine: `tfjs ${backend}`, msPerStep: null, samplesPerSecond: null, steps: 0, seconds: 0, longTasks: null, note: 'TensorFlow.js missing' });
  }
}
