// @ts-check
/**
 * The benchmark page: the chapter's workloads on convlab, on TensorFlow.js's wasm backend
 * (XNNPACK) and on ONNX Runtime Web's wasm execution provider (graphs written by
 * onnx-model.js, NCHW, the same values), with the same seeded inputs, in this browser. Wall time around each awaited call
 * (including the copies in and out), median of several runs after warm-up; GFLOP/s counts
 * 2 x multiply-adds. Results go to the table and to `globalThis.benchResults` for bench/run.mjs.
 *
 * TensorFlow.js is a dev dependency: `make bench` copies its files into dist/vendor/. Without
 * them the page still measures convlab and says TensorFlow.js is missing.
 */
import api from './core.js';
import { model } from './onnx-model.js';

/** @typedef {{workload: string, engine: string, ms: number | null, gflops: number | null, runs: number, note?: string}} Row */

/** @type {Row[]} */
const rows = [];
/** @type {any} */ (globalThis).benchResults = { done: false, rows };

const status = /** @type {HTMLElement} */ (document.getElementById('bench-status'));
const tbody = /** @type {HTMLElement} */ (document.querySelector('#bench-table tbody'));

/** @param {number[]} shape @param {number} seed */
function tensor(shape, seed) {
  let s = seed >>> 0;
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = ((s / 2 ** 32) * 2 - 1) * 0.1;
  }
  return { shape, data };
}

/**
 * Median wall times of several engines on one workload, their runs interleaved (A B A B ...)
 * so that a slow spell of this shared machine hits every engine alike.
 * @param {(() => Promise<unknown>)[]} fs @param {number} runs
 */
async function timeAll(fs, runs, warmMs = 400) {
  // Warm-up: V8 runs wasm in its baseline compiler (Liftoff) first and tiers hot functions up
  // to TurboFan after enough calls, so a fast op needs more than two calls before it shows its
  // steady speed (in a fresh page max pooling took 5.3 ms over its first two calls and
  // 1.1-1.4 ms from then on). Every engine gets at least 5 calls and 400 ms (2 calls on the
  // WebGPU page, where one call can take seconds on a software adapter).
  for (const f of fs) {
    const t0 = performance.now();
    for (let i = 0; i < (warmMs ? 5 : 2) || performance.now() - t0 < warmMs; i++) await f();
  }
  const ms = fs.map(() => /** @type {number[]} */ ([]));
  for (let i = 0; i < runs; i++) {
    for (const [k, f] of fs.entries()) {
      const t0 = performance.now();
      await f();
      ms[k].push(performance.now() - t0);
    }
  }
  return ms.map((m) => m.sort((a, b) => a - b)[Math.floor(runs / 2)]);
}

/** @param {Row} row */
function report(row) {
  rows.push(row);
  const tr = document.createElement('tr');
  const cells = [row.workload, row.engine, row.ms === null ? '-' : row.ms.toFixed(2),
    row.gflops === null ? '-' : row.gflops.toFixed(2), String(row.runs)];
  for (const c of cells) {
    const td = document.createElement('td');
    td.textContent = c;
    tr.append(td);
  }
  if (row.note) tr.title = row.note;
  tbody.append(tr);
}

/** Workers for the pooled rows: one per core (2 on this machine), at least 2. */
const THREADS = Math.max(2, Math.min(navigator.hardwareConcurrency || 2, 8));
/**
 * Served with cross-origin isolation (COOP/COEP headers), TensorFlow.js and ONNX Runtime Web can
 * use shared-memory threads: then they get THREADS threads and their rows say so.
 */
const ISOLATED = globalThis.crossOriginIsolated === true;
const OTHER_THREADS = ISOLATED ? `${THREADS} threads` : '1 thread';

/** The chapter's Fashion-MNIST CNN: [name, kernel, in, out] convs, pools marked 'pool'. */
const CNN = [
  ['conv', 7, 1, 64], ['pool'], ['conv', 3, 64, 128], ['conv', 3, 128, 128], ['pool'],
  ['conv', 3, 128, 256], ['conv', 3, 256, 256], ['pool'],
];
const DENSE = [[2304, 128], [128, 64], [64, 10]];
/** 89,466,496 multiply-adds per image (architectures.md). */
const CNN_MACS = 89_466_496;

function cnnWeights() {
  let seed = 100;
  const convs = CNN.filter((l) => l[0] === 'conv').map((l) => ({
    w: tensor([/** @type {number} */ (l[1]), /** @type {number} */ (l[1]), /** @type {number} */ (l[2]), /** @type {number} */ (l[3])], seed++),
    b: tensor([/** @type {number} */ (l[3])], seed++),
  }));
  const dense = DENSE.map(([i, o]) => ({ w: tensor([i, o], seed++), b: tensor([o], seed++) }));
  return { convs, dense };
}

/**
 * @typedef {import('./types').TensorArg} TensorArg
 * @typedef {{data: Float32Array} | import('./types').KeptTensor} Bias
 * @typedef {{convs: {w: TensorArg, b: Bias}[], dense: {w: TensorArg, b: Bias}[]}} CnnWeights
 * @param {TensorArg} x @param {CnnWeights} W
 * @param {'cpu' | 'webgpu' | undefined} [backend]
 */
async function cnnConvlab(x, W, backend) {
  // Every intermediate stays kept in the core (`keep: true`), as TensorFlow.js keeps its
  // tensors in its heap between layers; only the softmax comes out. Inputs and weights may be
  // kept tensors too (the CPU rows keep them once, as TensorFlow.js's are uploaded once; the
  // WebGPU rows keep the biases too). On WebGPU the kept intermediates stay on the device.
  /** @type {any} */
  let t = x;
  let c = 0;
  const kept = [];
  try {
    for (const layer of CNN) {
      if (layer[0] === 'pool') t = await api.maxPool(t, { poolSize: 2, backend, keep: true });
      else {
        const { w, b } = W.convs[c++];
        t = await api.conv2d(t, w, { padding: 'same', bias: bias(b), activation: 'relu', backend, keep: true });
      }
      kept.push(t);
    }
    t = { shape: [t.shape[0], 2304], kept: t.kept };
    const acts = ['relu', 'relu', 'softmax'];
    for (const [i, { w, b }] of W.dense.entries()) {
      t = await api.dense(t, w, { bias: bias(b), activation: /** @type {any} */ (acts[i]), backend, keep: i < 2 });
      if (i < 2) kept.push(t);
    }
    return t;
  } finally {
    for (const k of kept) api.dispose(k);
  }
}

/** A bias as an op takes it: a kept one as it is, else its values. @param {Bias} b */
const bias = (b) => ('kept' in b ? b : b.data);

/** @param {any} tf @param {any} x @param {any} W */
function cnnTf(tf, x, W) {
  return tf.tidy(() => {
    let t = x;
    let c = 0;
    for (const layer of CNN) {
      if (layer[0] === 'pool') t = tf.maxPool(t, 2, 2, 'valid');
      else {
        const { w, b } = W.convs[c++];
        t = tf.fused.conv2d({ x: t, filter: w, strides: 1, pad: 'same', bias: b, activation: 'relu' });
      }
    }
    t = tf.reshape(t, [t.shape[0], 2304]);
    const acts = ['relu', 'relu', 'linear'];
    for (const [i, { w, b }] of W.dense.entries()) {
      t = tf.fused.matMul({ a: t, b: w, bias: b, activation: acts[i] });
    }
    return tf.softmax(t);
  });
}

/** @param {string} src */
const script = (src) => new Promise((resolve, reject) => {
  const s = document.createElement('script');
  s.src = src;
  s.onload = resolve;
  s.onerror = () => reject(new Error(`${src} is missing: run make bench, which copies TensorFlow.js into dist/vendor/`));
  document.head.append(s);
});

/** Loads TensorFlow.js (core + wasm backend) from dist/vendor/ (threaded only when isolated). */
async function loadTf() {
  await script('vendor/tf-core.min.js');
  await script('vendor/tf-backend-wasm.min.js');
  const tf = /** @type {any} */ (globalThis).tf;
  tf.wasm.setWasmPaths(new URL('vendor/', location.href).href);
  if (ISOLATED) tf.wasm.setThreadsCount(THREADS);
  else tf.env().set('WASM_HAS_MULTITHREAD_SUPPORT', false);
  await tf.setBackend('wasm');
  await tf.ready();
  return tf;
}

/** Loads ONNX Runtime Web (wasm execution provider) from dist/vendor/ (threaded when isolated). */
async function loadOrt() {
  const ort = await import(new URL('vendor/ort.wasm.min.mjs', location.href).href);
  ort.env.wasm.wasmPaths = new URL('vendor/', location.href).href;
  ort.env.wasm.numThreads = ISOLATED ? THREADS : 1;
  return ort;
}

/**
 * An ONNX Runtime session for a graph, and a function that runs it on `x` (NCHW dims).
 * @param {any} ort @param {Parameters<typeof model>[0]} graph @param {string} [ep]
 */
async function ortRunner(ort, graph, ep = 'wasm') {
  const session = await ort.InferenceSession.create(model(graph), { executionProviders: [ep] });
  const input = graph.inputs[0];
  return async (/** @type {Float32Array} */ data) => {
    const out = await session.run({ [input.name]: new ort.Tensor('float32', data, input.dims) });
    return out[graph.outputs[0].name].data;
  };
}

/** NHWC [n, h, w, c] -> NCHW dims, and HWIO [fh, fw, i, o] -> OIHW dims (values reused as they are). */
const nchw = (/** @type {number[]} */ s) => [s[0], s[3], s[1], s[2]];
const oihw = (/** @type {number[]} */ s) => [s[3], s[2], s[0], s[1]];

/** The chapter's CNN as an ONNX graph (NCHW), with `W`'s values as initializers. */
function cnnOnnx(/** @type {ReturnType<typeof cnnWeights>} */ W, /** @type {number} */ batch) {
  const nodes = [];
  const initializers = [];
  let t = 'x';
  let c = 0;
  let k = 0;
  for (const layer of CNN) {
    const out = `t${k++}`;
    if (layer[0] === 'pool') {
      nodes.push({ op: 'MaxPool', inputs: [t], outputs: [out], attrs: { kernel_shape: [2, 2], strides: [2, 2] } });
    } else {
      const { w, b } = W.convs[c];
      const p = (/** @type {number} */ (layer[1]) - 1) / 2;
      initializers.push({ name: `w${c}`, dims: oihw(w.shape), data: w.data }, { name: `b${c}`, dims: b.shape, data: b.data });
      // Explicit strides and dilations: ONNX Runtime's webgpu Conv insists on them.
      nodes.push({ op: 'Conv', inputs: [t, `w${c}`, `b${c}`], outputs: [`${out}c`], attrs: { pads: [p, p, p, p], strides: [1, 1], dilations: [1, 1] } });
      nodes.push({ op: 'Relu', inputs: [`${out}c`], outputs: [out] });
      c++;
    }
    t = out;
  }
  nodes.push({ op: 'Flatten', inputs: [t], outputs: ['flat'], attrs: { axis: 1 } });
  t = 'flat';
  W.dense.forEach(({ w, b }, i) => {
    initializers.push({ name: `dw${i}`, dims: w.shape, data: w.data }, { name: `db${i}`, dims: b.shape, data: b.data });
    nodes.push({ op: 'Gemm', inputs: [t, `dw${i}`, `db${i}`], outputs: [`g${i}`] });
    const act = i < 2 ? 'Relu' : 'Softmax';
    nodes.push({ op: act, inputs: [`g${i}`], outputs: [`a${i}`], attrs: act === 'Softmax' ? { axis: 1 } : {} });
    t = `a${i}`;
  });
  return { nodes, initializers, inputs: [{ name: 'x', dims: [batch, 1, 28, 28] }], outputs: [{ name: t, dims: [batch, 10] }] };
}

const WORKLOADS = [
  { name: '(a) seed conv 150x100x3, 200 5x5, same', x: [1, 150, 100, 3], f: [5, 5, 3, 200], macs: 150 * 100 * 200 * 75, runs: 15 },
  { name: '(b) ResNet 3x3 conv 56x56x64 -> 64', x: [1, 56, 56, 64], f: [3, 3, 64, 64], macs: 56 * 56 * 64 * 576, runs: 15 },
];

async function main() {
  const report0 = await api.ready;
  status.textContent = `convlab ready (${report0.active}); measuring...`;
  let tf = null;
  try {
    tf = await loadTf();
  } catch (e) {
    status.textContent = `TensorFlow.js unavailable: ${/** @type {Error} */ (e).message}`;
  }
  let ort = null;
  try {
    ort = await loadOrt();
  } catch (e) {
    status.textContent += ` ONNX Runtime Web unavailable: ${/** @type {Error} */ (e).message}`;
  }
  /** @type {Map<object, any>} */
  const tfTensors = new Map();
  const tfTensor = (/** @type {{shape: number[], data: Float32Array}} */ t) => {
    if (!tfTensors.has(t)) tfTensors.set(t, tf.tensor(t.data, t.shape));
    return tfTensors.get(t);
  };
  /**
   * @param {string} name @param {number | null} macs @param {number} runs
   * @param {() => Promise<unknown>} ours @param {(() => Promise<unknown>) | null} theirs
   * @param {(() => Promise<unknown>) | null} [onnx]
   */
  const measure = async (name, macs, runs, ours, theirs, onnx = null) => {
    api.setThreads(1);
    const engines = [['convlab cpu (1 thread)', ours], [`tfjs wasm (${OTHER_THREADS})`, theirs],
      [`onnxruntime-web wasm (${OTHER_THREADS})`, onnx]]
      .filter(([, f]) => f);
    const times = await timeAll(engines.map(([, f]) => /** @type {() => Promise<unknown>} */ (f)), runs);
    const gf = (/** @type {number} */ ms) => (macs === null ? null : (2 * macs) / ms / 1e6);
    engines.forEach(([engine], i) => report({ workload: name, engine: /** @type {string} */ (engine), ms: times[i], gflops: gf(times[i]), runs }));
    if (macs !== null) {
      // The same calls with convolutions split across the pool: this thread and a worker per
      // other core.
      api.setThreads(THREADS);
      const [c] = await timeAll([ours], runs);
      api.setThreads(1);
      report({ workload: name, engine: `convlab cpu (${THREADS} threads, pool)`, ms: c, gflops: gf(c), runs });
    }
  };
  for (const w of WORKLOADS) {
    const x = tensor(w.x, 1);
    const f = tensor(w.f, 2);
    const p = (w.f[0] - 1) / 2;
    const onnx = ort && await ortRunner(ort, {
      nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { pads: [p, p, p, p], strides: [1, 1], dilations: [1, 1] } }],
      initializers: [{ name: 'w', dims: oihw(w.f), data: f.data }],
      inputs: [{ name: 'x', dims: nchw(w.x) }],
      outputs: [{ name: 'y', dims: [w.x[0], w.f[3], w.x[1], w.x[2]] }],
    });
    // convlab's input and filters are kept in the core once, as TensorFlow.js's are uploaded
    // once (tfTensor); each call still copies its whole result out, as y.data() does.
    const [kx, kf] = [api.keep(x), api.keep(f)];
    await measure(w.name, w.macs, w.runs, () => api.conv2d(kx, kf, { padding: 'same', backend: 'cpu' }),
      tf && (async () => { const y = tf.conv2d(tfTensor(x), tfTensor(f), 1, 'same'); await y.data(); y.dispose(); }),
      onnx && (() => onnx(x.data)));
    api.dispose(kx);
    api.dispose(kf);
  }
  const pool = tensor([1, 112, 112, 64], 3);
  const onnxPool = ort && await ortRunner(ort, {
    nodes: [{ op: 'MaxPool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } }],
    initializers: [], inputs: [{ name: 'x', dims: [1, 64, 112, 112] }], outputs: [{ name: 'y', dims: [1, 64, 56, 56] }],
  });
  const kpool = api.keep(pool);
  await measure('(c) max pool 2x2/2 on 112x112x64', null, 21, () => api.maxPool(kpool, { poolSize: 2, strides: 2 }),
    tf && (async () => { const y = tf.maxPool(tfTensor(pool), 2, 2, 'valid'); await y.data(); y.dispose(); }),
    onnxPool && (() => onnxPool(pool.data)));
  api.dispose(kpool);
  const batch = tensor([64, 28, 28, 1], 4);
  const W = cnnWeights();
  const tW = tf && {
    convs: W.convs.map(({ w, b }) => ({ w: tfTensor(w), b: tfTensor(b) })),
    dense: W.dense.map(({ w, b }) => ({ w: tfTensor(w), b: tfTensor(b) })),
  };
  const onnxCnn = ort && await ortRunner(ort, cnnOnnx(W, 64));
  const kbatch = api.keep(batch);
  const kW = {
    convs: W.convs.map(({ w, b }) => ({ w: api.keep(w), b })),
    dense: W.dense.map(({ w, b }) => ({ w: api.keep(w), b })),
  };
  await measure('(d) chapter CNN forward, batch 64', CNN_MACS * 64, 5, () => cnnConvlab(kbatch, kW),
    tf && (async () => { const y = cnnTf(tf, tfTensor(batch), tW); await y.data(); y.dispose(); }),
    onnxCnn && (() => onnxCnn(batch.data)));
  for (const k of [kbatch, ...kW.convs.map((l) => l.w), ...kW.dense.map((l) => l.w)]) api.dispose(k);
  /** @type {any} */ (globalThis).benchResults.done = true;
  status.textContent = 'done';
}

/**
 * The WebGPU rows: the same workloads on convlab's WebGPU backend, TensorFlow.js's webgpu
 * backend and ONNX Runtime Web's webgpu execution provider, in this page (bench.html?webgpu).
 * Like with like: convlab's inputs and weights are kept once (`api.keep`) and, once an op on
 * WebGPU has used them, live on the device, as TensorFlow.js's tensors are uploaded once; (d)
 * chains its layers with `keep: true`, so its intermediates stay on the device as the other
 * engines' do. Every engine still reads its final result back on each call (`y.data()`,
 * ONNX Runtime's output tensor, convlab's result copied out).
 */
async function mainWebGpu() {
  await api.ready;
  api.setBackend('webgpu');
  status.textContent = 'convlab ready (webgpu); measuring the WebGPU rows...';
  let tf = null;
  try {
    await script('vendor/tf-core.min.js');
    await script('vendor/tf-backend-webgpu.min.js');
    await script('vendor/tf-backend-webgl.min.js');
    tf = /** @type {any} */ (globalThis).tf;
    if (!(await tf.setBackend('webgpu'))) throw new Error('TensorFlow.js found no WebGPU adapter');
    await tf.ready();
  } catch (e) {
    tf = null;
    status.textContent = `TensorFlow.js webgpu unavailable: ${/** @type {Error} */ (e).message}`;
  }
  let ort = null;
  try {
    ort = await import(new URL('vendor/ort.min.mjs', location.href).href);
    ort.env.wasm.wasmPaths = new URL('vendor/', location.href).href;
    ort.env.wasm.numThreads = 1;
  } catch (e) {
    status.textContent += ` ONNX Runtime Web unavailable: ${/** @type {Error} */ (e).message}`;
  }
  let tfLabel = 'webgpu';
  const pass = async () => {
    /** @type {Map<object, any>} */
    const tfTensors = new Map();
    const tfTensor = (/** @type {{shape: number[], data: Float32Array}} */ t) => {
      if (!tfTensors.has(t)) tfTensors.set(t, tf.tensor(t.data, t.shape));
      return tfTensors.get(t);
    };
    /**
     * @param {string} name @param {number | null} macs @param {number} runs
     * @param {() => Promise<unknown>} ours @param {(() => Promise<unknown>) | null} theirs
     * @param {(() => Promise<unknown>) | null} onnx
     */
    const measure = async (name, macs, runs, ours, theirs, onnx) => {
      // The second pass times TensorFlow.js's WebGL backend alone (convlab and ONNX Runtime
      // were timed in the first).
      const engines = (tfLabel === 'webgl' ? [['tfjs webgl', theirs]]
        : [['convlab webgpu', ours], ['tfjs webgpu', theirs], ['onnxruntime-web webgpu', onnx]])
        .filter(([, f]) => f);
      const times = await timeAll(engines.map(([, f]) => /** @type {() => Promise<unknown>} */ (f)), runs, 0);
      const gf = (/** @type {number} */ ms) => (macs === null ? null : (2 * macs) / ms / 1e6);
      engines.forEach(([engine], i) => report({ workload: name, engine: /** @type {string} */ (engine), ms: times[i], gflops: gf(times[i]), runs }));
    };
    /** @param {Parameters<typeof model>[0]} graph */
    const ortGpu = async (graph) => {
      if (!ort || tfLabel === 'webgl') return null;
      try {
        return await ortRunner(ort, graph, 'webgpu');
      } catch (e) {
        status.textContent += ` ONNX Runtime Web webgpu failed: ${/** @type {Error} */ (e).message}`;
        return null;
      }
    };
    for (const w of WORKLOADS) {
      const x = tensor(w.x, 1);
      const f = tensor(w.f, 2);
      const p = (w.f[0] - 1) / 2;
      const onnx = await ortGpu({
        nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: { pads: [p, p, p, p], strides: [1, 1], dilations: [1, 1] } }],
        initializers: [{ name: 'w', dims: oihw(w.f), data: f.data }],
        inputs: [{ name: 'x', dims: nchw(w.x) }],
        outputs: [{ name: 'y', dims: [w.x[0], w.f[3], w.x[1], w.x[2]] }],
      });
      const [kx, kf] = [api.keep(x), api.keep(f)];
      await measure(w.name, w.macs, 5, () => api.conv2d(kx, kf, { padding: 'same', backend: 'webgpu' }),
        tf && (async () => { const y = tf.conv2d(tfTensor(x), tfTensor(f), 1, 'same'); await y.data(); y.dispose(); }),
        onnx && (() => onnx(x.data)));
      api.dispose(kx);
      api.dispose(kf);
    }
    const pool = tensor([1, 112, 112, 64], 3);
    const onnxPool = await ortGpu({
      nodes: [{ op: 'MaxPool', inputs: ['x'], outputs: ['y'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } }],
      initializers: [], inputs: [{ name: 'x', dims: [1, 64, 112, 112] }], outputs: [{ name: 'y', dims: [1, 64, 56, 56] }],
    });
    const kpool = api.keep(pool);
    await measure('(c) max pool 2x2/2 on 112x112x64', null, 5, () => api.maxPool(kpool, { poolSize: 2, strides: 2, backend: 'webgpu' }),
      tf && (async () => { const y = tf.maxPool(tfTensor(pool), 2, 2, 'valid'); await y.data(); y.dispose(); }),
      onnxPool && (() => onnxPool(pool.data)));
    api.dispose(kpool);
    const batch = tensor([64, 28, 28, 1], 4);
    const W = cnnWeights();
    const tW = tf && {
      convs: W.convs.map(({ w, b }) => ({ w: tfTensor(w), b: tfTensor(b) })),
      dense: W.dense.map(({ w, b }) => ({ w: tfTensor(w), b: tfTensor(b) })),
    };
    const onnxCnn = await ortGpu(cnnOnnx(W, 64));
    const kbatch = api.keep(batch);
    const kW = {
      convs: W.convs.map(({ w, b }) => ({ w: api.keep(w), b: api.keep(b) })),
      dense: W.dense.map(({ w, b }) => ({ w: api.keep(w), b: api.keep(b) })),
    };
    await measure('(d) chapter CNN forward, batch 64', CNN_MACS * 64, 2, () => cnnConvlab(kbatch, kW, 'webgpu'),
      tf && (async () => { const y = cnnTf(tf, tfTensor(batch), tW); await y.data(); y.dispose(); }),
      onnxCnn && (() => onnxCnn(batch.data)));
    for (const l of [...kW.convs, ...kW.dense]) [l.w, l.b].forEach((k) => api.dispose(k));
    api.dispose(kbatch);
  };
  await pass();
  if (tf && await tf.setBackend('webgl')) {
    tfLabel = 'webgl';
    await pass();
  } else {
    status.textContent += ' TensorFlow.js webgl unavailable';
  }
  /** @type {any} */ (globalThis).benchResults.done = true;
  status.textContent = 'done';
}

/** The training pass (bench.html?train, www/js/bench-train.js): its rows go to benchResults.training. */
async function mainTraining() {
  const { mainTrain } = await import('./bench-train.js');
  /** @type {import('./bench-train.js').TrainRow[]} */
  const training = [];
  /** @type {any} */ (globalThis).benchResults.training = training;
  document.getElementById('bench-table')?.setAttribute('hidden', '');
  const table = /** @type {HTMLElement} */ (document.getElementById('bench-train-table'));
  table.removeAttribute('hidden');
  await mainTrain({
    status, script, report: (row) => {
      training.push(row);
      const tr = document.createElement('tr');
      const fixed = (/** @type {number | null} */ v, /** @type {number} */ d) => (v === null ? '-' : v.toFixed(d));
      const lt = row.longTasks;
      for (const c of [row.workload, row.engine, fixed(row.msPerStep, 0), fixed(row.samplesPerSecond, 2),
        lt ? `${lt.count} (${lt.totalMs.toFixed(0)} ms) in ${lt.seconds.toFixed(0)} s` : '-', row.note ?? '']) {
        const td = document.createElement('td');
        td.textContent = c;
        tr.append(td);
      }
      table.querySelector('tbody')?.append(tr);
    },
  });
  /** @type {any} */ (globalThis).benchResults.done = true;
  status.textContent = 'done';
}

const pass = new URLSearchParams(location.search);
// bench.html?idle loads nothing and measures nothing: a page for probe programs
// (bench/kernel-only.mjs) that bring their own engines.
const idle = async () => { status.textContent = 'idle'; };
(pass.has('idle') ? idle() : pass.has('train') ? mainTraining() : pass.has('webgpu') ? mainWebGpu() : main()).catch((e) => {
  status.textContent = `benchmark failed: ${e.message}`;
  /** @type {any} */ (globalThis).benchResults = { done: true, rows, error: e.message };
});
