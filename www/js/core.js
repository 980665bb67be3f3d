// @ts-check
/**
 * The only module that touches the wasm bindings. It checks what the browser can do, loads the
 * core, opens the backends, applies `?backend=` from the URL and publishes the API as
 * `globalThis.convlab` (for the devtools console and for automation).
 *
 * @typedef {import('./types').BackendsReport} BackendsReport
 * @typedef {import('./types').Tensor} Tensor
 * @typedef {import('./types').Conv2dOptions} Conv2dOptions
 * @typedef {import('./types').OpResult} OpResult
 * @typedef {import('./types').Convlab} Convlab
 */
import { CpuPool } from './cpu-pool.js';
import { checkArguments, packImages, pixelStatistics } from './user-data.js';
import { loadPretrained, classify, PRETRAINED } from './pretrained.js';

/** The smallest module that uses a SIMD128 instruction (i8x16.popcnt of v128.const 0). */
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11,
]);

/** @returns {string | null} what the browser lacks for the core, or null */
export function missingFeatures() {
  if (typeof WebAssembly !== 'object') return 'This browser has no WebAssembly, which convlab needs to run.';
  if (!WebAssembly.validate(SIMD_PROBE)) {
    return 'This browser lacks WebAssembly SIMD (128-bit), which convlab\'s CPU kernels need. ' +
      'Chrome/Edge 91+, Firefox 89+ and Safari 16.4+ have it.';
  }
  return null;
}

/**
 * Text about the WebGPU adapter that wgpu does not pass on (vendor, architecture, fallback flag),
 * used only to recognise software adapters such as SwiftShader.
 * @returns {Promise<string>}
 */
async function adapterHint() {
  try {
    /** @type {any} */
    const gpu = /** @type {any} */ (navigator).gpu;
    if (!gpu) return '';
    const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
    if (!adapter) return '';
    const info = adapter.info || {};
    const fallback = info.isFallbackAdapter || adapter.isFallbackAdapter ? 'fallback software' : '';
    return [info.vendor, info.architecture, info.description, fallback].filter(Boolean).join(' ');
  } catch {
    return '';
  }
}

/** @param {string | null} value */
function backendFromUrl(value) {
  return value === 'webgpu' || value === 'cpu' || value === 'auto' ? value : null;
}

/**
 * Loads the core and opens the backends.
 * @returns {Promise<{bindings: any, report: BackendsReport, urlProblem: string | null}>}
 */
async function load() {
  const missing = missingFeatures();
  if (missing) throw new Error(missing);
  const bindings = await import(new URL('../convlab.js', import.meta.url).href);
  await bindings.default({ module_or_path: new URL('../convlab_bg.wasm', import.meta.url) });
  let report = await bindings.initBackends({ adapterHint: await adapterHint() });
  let urlProblem = null;
  const raw = new URLSearchParams(location.search).get('backend');
  const wanted = backendFromUrl(raw);
  if (raw !== null && !wanted) {
    urlProblem = `?backend=${raw} is not a backend; use webgpu, cpu or auto`;
  } else if (wanted) {
    try {
      report = bindings.setBackend(wanted);
    } catch (e) {
      urlProblem = `?backend=${wanted} could not be used: ${/** @type {Error} */ (e).message}`;
    }
  }
  return { bindings, report, urlProblem };
}

const loading = load();

/** @type {CpuPool | null} */
let pool = null;

/**
 * conv2d, split across the CPU pool when one is set (convlab.setThreads) and the call runs on
 * the CPU path; in this thread otherwise, or if a worker has failed.
 * @param {any} x @param {any} filters @param {any} options
 */
async function conv2d(x, filters, options) {
  const { bindings } = await loading;
  const backend = options?.backend ?? 'auto';
  const onCpu = backend === 'cpu' || (backend === 'auto' && bindings.backends().active === 'cpu');
  if (!pool || pool.broken || !onCpu || (options?.groups ?? 1) !== 1) {
    return bindings.conv2d(x, filters, options);
  }
  const shape = bindings.conv2dShape(x?.shape, filters?.shape, options); // throws as conv2d would
  try {
    return await pool.conv2d(x, filters, options, shape, bindings);
  } catch (e) {
    if (!(/** @type {any} */ (e).poolFailure)) throw e;
    console.warn(`convlab: ${/** @type {Error} */ (e).message}; computing in this thread`);
    return bindings.conv2d(x, filters, options);
  }
}

/**
 * An op of the core, called once it has loaded.
 * @param {string} name the wasm export
 */
const op = (name) => async (/** @type {any[]} */ ...args) => (await loading).bindings[name](...args);

/** @type {Convlab} */
const api = {
  ready: loading.then((l) => l.report),
  urlProblem: loading.then((l) => l.urlProblem, () => null),
  backends() {
    return requireBindings().backends();
  },
  setBackend(choice) {
    return requireBindings().setBackend(choice);
  },
  conv2d,
  threads() {
    return pool ? pool.size : 1;
  },
  setThreads(n) {
    if (!Number.isInteger(n) || n < 1 || n > 16) {
      throw new Error(`setThreads: argument 'n': expected an integer from 1 to 16, got ${JSON.stringify(n) ?? String(n)}`);
    }
    pool?.terminate();
    pool = n > 1 ? new CpuPool(n) : null;
    return n;
  },
  depthwiseConv2d: op('depthwiseConv2d'),
  separableConv2d: op('separableConv2d'),
  maxPool: op('maxPool'),
  avgPool: op('avgPool'),
  globalAvgPool: op('globalAvgPool'),
  globalMaxPool: op('globalMaxPool'),
  depthMaxPool: op('depthMaxPool'),
  batchNorm: op('batchNorm'),
  localResponseNormalization: op('localResponseNormalization'),
  relu: op('relu'),
  sigmoid: op('sigmoid'),
  tanh: op('tanh'),
  softmax: op('softmax'),
  dense: op('dense'),
  keep(x) {
    return requireBindings().keep(x);
  },
  read(t) {
    return requireBindings().read(t);
  },
  dispose(t) {
    const id = typeof t === 'number' ? t : t?.kept;
    if (pool && typeof id === 'number') pool.forget(id);
    return requireBindings().dispose(t);
  },
  kept() {
    const [count, floats] = requireBindings().keptCount();
    return { count, bytes: floats * 4 };
  },
  __destroyWebGpuDevice: op('__destroyWebGpuDevice'),
  __kernelCalls: () => requireBindings().__kernelCalls(),
  __transfers: () => /** @type {[number, number]} */ (Array.from(requireBindings().__transfers())),
  Model: {
    fromSpec: (spec) => requireBindings().Model.fromSpec(spec),
    fromUrl: (link) => requireBindings().Model.fromUrl(link),
    fromKerasJson: (json) => requireBindings().Model.fromKerasJson(json),
    fromKerasCode: (code) => requireBindings().Model.fromKerasCode(code),
  },
  zoo: {
    names: () => requireBindings().zooNames(),
    spec: (name) => requireBindings().zooSpec(name),
  },
  editor: {
    expand: (spec) => requireBindings().expandSpec(spec),
    layerTypes: () => requireBindings().layerTypes(),
  },
  data: { fromIdx, load: loadData, fromImages, preview },
  pretrained: {
    names: () => Object.keys(PRETRAINED),
    load: async (name, options) => loadPretrained((await loading).bindings, name, options),
  },
  training: {
    pause: () => control('pause'),
    resume: () => control('resume'),
    stop: () => control('stop'),
    active: () => trainingWorker !== null,
  },
};

/** @type {Worker | null} */
let trainingWorker = null;

/**
 * `model.fit(train, options)`: the training loop runs in a dedicated worker with its own core;
 * this thread only posts the spec, the weights and the data's bytes, and receives progress.
 * Resolves to `{history, stopped}` once the worker is done and the trained weights are loaded
 * into `model`. `resume` (bytes of `trainer.checkpoint()`, which `onEpoch` receives as
 * `checkpoint`) goes to the worker's Trainer, which continues that run bit for bit.
 * @param {any} model @param {any} train @param {any} options
 */
async function fit(model, train, options = {}) {
  const { validation, onProgress, onEpoch, ...trainerOptions } = options ?? {};
  if (!train || !(train.images instanceof Uint8Array) || !(train.labels instanceof Uint8Array)) {
    throw new Error('fit: argument \'train\': expected a data set from convlab.data.fromIdx');
  }
  if (trainingWorker) throw new Error('fit: a model is already training; stop it first (convlab.training.stop())');
  const worker = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module' });
  trainingWorker = worker;
  try {
    return await new Promise((resolve, reject) => {
      worker.onmessage = (event) => {
        const msg = event.data;
        if (msg.type === 'progress') onProgress?.(msg);
        else if (msg.type === 'epoch') onEpoch?.(msg);
        else if (msg.type === 'error') reject(new Error(msg.message));
        else if (msg.type === 'done') {
          try {
            model.loadWeights(msg.weights);
            resolve({ history: msg.history, stopped: msg.stopped, backend: msg.backend });
          } catch (e) {
            reject(e); // e.g. the model was freed while it trained
          }
        }
      };
      worker.onerror = (e) => reject(new Error(`fit: the training worker failed: ${e.message}`));
      const source = (/** @type {any} */ d) => d && { images: d.images, labels: d.labels, options: d.options };
      worker.postMessage({
        type: 'start', spec: model.spec(), weights: model.saveWeights(),
        train: source(train), validation: source(validation), options: trainerOptions,
      });
    });
  } finally {
    worker.terminate();
    if (trainingWorker === worker) trainingWorker = null;
  }
}

/** @param {'pause' | 'resume' | 'stop'} type */
function control(type) {
  if (!trainingWorker) return false;
  trainingWorker.postMessage({ type });
  return true;
}

/**
 * A data set from IDX bytes (gzip or not): `{images, labels, options, length, imageShape,
 * dataset}`; the bytes travel to the training worker, `dataset` serves `evaluate` here.
 * @param {Uint8Array} images @param {Uint8Array} labels @param {any} [options]
 */
function fromIdx(images, labels, options) {
  const dataset = requireBindings().Dataset.fromIdx(images, labels, options);
  return { images, labels, options, length: dataset.length, imageShape: dataset.imageShape, dataset };
}

/**
 * `convlab.data.fromImages([{name, files}], {height, width, channels, mean?, std?})`: the user's
 * own images, one list of files per class (see www/js/user-data.js for the decoding: centre crop,
 * resize, grey for one channel). Returns what `fromIdx` returns plus `classNames`, `counts` (images
 * kept per class) and `skipped` (`[{file, reason}]`: empty, not an image, undecodable). `mean` and
 * `std` default to the pixels' own. A class left without images is an error that names it.
 * @param {any} classes @param {any} options
 */
async function fromImages(classes, options) {
  requireBindings();
  const checked = checkArguments(classes, options);
  const { images, labels, skipped, counts } = await packImages(checked.classes, checked);
  const empty = checked.classes.filter((_, k) => counts[k] === 0).map((c) => JSON.stringify(c.name));
  if (empty.length > 0) {
    const why = skipped.length > 0 ? `; skipped: ${skipped.map((s) => s.reason).join('; ')}` : '';
    throw new Error(`data.fromImages: class ${empty.join(', ')} has no usable images${why}`);
  }
  const own = pixelStatistics(images, checked.channels === 1 ? 16 : 20);
  const dataOptions = {
    classes: checked.classes.length, mean: options.mean ?? own.mean, std: options.std ?? own.std,
    imagesName: 'your images', labelsName: 'your labels',
  };
  return { ...fromIdx(images, labels, dataOptions), classNames: checked.classes.map((c) => c.name), counts, skipped };
}

/**
 * `convlab.data.preview(dataset, {augment, seed, count, start})`: images `start..start + count`
 * of a data set (default the first 8) after augmentation (Trainer's options: maxShift, flip,
 * rotation, zoom, contrast, brightness), as NHWC floats in [0, 1] for display.
 * @param {any} dataset @param {any} [options]
 */
async function preview(dataset, options = {}) {
  const { bindings } = await loading;
  const core = dataset?.dataset;
  if (!(core instanceof bindings.Dataset)) {
    throw new Error('data.preview: argument \'dataset\': expected a data set from convlab.data.fromIdx, load or fromImages');
  }
  if (options === null || typeof options !== 'object') {
    throw new Error(`data.preview: argument 'options': expected an object, got ${String(options)}`);
  }
  const allowed = ['augment', 'seed', 'count', 'start'];
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new Error(`data.preview: argument 'options': unknown option ${JSON.stringify(key)}; the options are ${allowed.join(', ')}`);
  }
  return core.preview(options.start ?? 0, options.count ?? Math.min(8, core.length), options.augment ?? {}, options.seed ?? 0);
}

/** The built-in data sets (scripts/fetch-data.sh puts them into assets/data/). */
const DATASETS = {
  fashion_mnist: {
    dir: 'fashion-mnist', mean: 0.2860, std: 0.3530,
    classNames: ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'],
  },
  mnist: { dir: 'mnist', mean: 0.1307, std: 0.3081, classNames: ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'] },
};

/**
 * The class names of a built-in data set ('fashion_mnist', 'mnist'), or null.
 * @param {string} name @returns {string[] | null}
 */
export function datasetClassNames(name) {
  return /** @type {Record<string, {classNames: string[]}>} */ (DATASETS)[name]?.classNames.slice() ?? null;
}

/**
 * Fetches a gzip file and decompresses it (the browser's DecompressionStream), reporting bytes.
 * @param {string} url @param {(bytes: number, total: number) => void} onBytes
 */
async function fetchGunzipped(url, onBytes) {
  const response = await fetch(url);
  if (!response.ok || !response.body) throw new Error(`data: ${url} could not be fetched (HTTP ${response.status})`);
  const total = Number(response.headers.get('content-length') ?? 0);
  let seen = 0;
  const counted = response.body.pipeThrough(new TransformStream({
    transform(chunk, controller) { seen += chunk.byteLength; onBytes(seen, total); controller.enqueue(chunk); },
  }));
  const raw = await new Response(counted.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer();
  return new Uint8Array(raw);
}

/**
 * Images `start..end` of IDX image and label files, as IDX files of their own.
 * @param {Uint8Array} images @param {Uint8Array} labels @param {number} start @param {number} end
 */
function sliceIdx(images, labels, start, end) {
  const view = new DataView(images.buffer, images.byteOffset);
  const per = view.getUint32(8) * view.getUint32(12);
  const outImages = new Uint8Array(16 + (end - start) * per);
  outImages.set(images.subarray(0, 16));
  new DataView(outImages.buffer).setUint32(4, end - start);
  outImages.set(images.subarray(16 + start * per, 16 + end * per), 16);
  const outLabels = new Uint8Array(8 + end - start);
  outLabels.set(labels.subarray(0, 8));
  new DataView(outLabels.buffer).setUint32(4, end - start);
  outLabels.set(labels.subarray(8 + start, 8 + end), 8);
  return { images: outImages, labels: outLabels };
}

/**
 * `convlab.data.load("fashion_mnist" | "mnist", {onProgress, validation})`: the official
 * train/test split, with the last `validation` (default 5,000, the chapter's) training images
 * held out. `onProgress(fraction)` follows the download.
 * @param {string} name @param {{onProgress?: (fraction: number) => void, validation?: number}} [options]
 */
async function loadData(name, options = {}) {
  const info = /** @type {any} */ (DATASETS)[name];
  if (!info) throw new Error(`data.load: no data set ${JSON.stringify(name)}; use ${Object.keys(DATASETS).join(' or ')}`);
  const held = options.validation ?? 5000;
  const base = new URL(`../assets/data/${info.dir}/`, import.meta.url);
  const files = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
  const progress = files.map(() => [0, 0]);
  const report = () => {
    const [seen, total] = progress.reduce(([a, b], [c, d]) => [a + c, b + d], [0, 0]);
    options.onProgress?.(total > 0 ? seen / total : 0);
  };
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all(files.map((f, i) =>
    fetchGunzipped(new URL(`${f}.gz`, base).href, (seen, total) => { progress[i] = [seen, total]; report(); })));
  options.onProgress?.(1);
  const n = trainLabels.length - 8;
  if (!Number.isInteger(held) || held < 0 || held >= n) throw new Error(`data.load: validation must be an integer from 0 to ${n - 1}, got ${held}`);
  const opts = (/** @type {string} */ part) => ({ mean: info.mean, std: info.std, classes: 10, imagesName: `${name} ${part} images`, labelsName: `${name} ${part} labels` });
  const first = sliceIdx(trainImages, trainLabels, 0, n - held);
  const train = fromIdx(first.images, first.labels, opts('train'));
  let validation = null;
  if (held > 0) {
    const last = sliceIdx(trainImages, trainLabels, n - held, n);
    validation = fromIdx(last.images, last.labels, opts('validation'));
  }
  const test = fromIdx(testImages, testLabels, opts('test'));
  return { train, validation, test, classNames: info.classNames };
}

/** @type {any} */
let loaded = null;
loading.then((l) => {
  loaded = l.bindings;
  // Models train in the worker (see fit); evaluate takes a data set from convlab.data.fromIdx.
  const proto = loaded.Model.prototype;
  const evaluateHere = proto.evaluate;
  proto.fit = function (/** @type {any} */ train, /** @type {any} */ options) { return fit(this, train, options); };
  proto.evaluate = function (/** @type {any} */ data) { return evaluateHere.call(this, data?.dataset ?? data); };
  proto.classify = classify; // www/js/pretrained.js
}, () => {});

function requireBindings() {
  if (!loaded) throw new Error('convlab is still loading: await convlab.ready first');
  return loaded;
}

/** @type {any} */ (globalThis).convlab = api;
export default api;
