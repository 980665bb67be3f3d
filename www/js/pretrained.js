// @ts-check
/**
 * Pretrained models and classification, shared by the page (core.js publishes
 * `convlab.pretrained.load` and `model.classify`) and the inference worker
 * (classify-handlers.js). This module never touches the wasm bindings: the caller passes in the
 * core whose `Model` and `zooSpec` it uses.
 *
 * `PRETRAINED` lists what the site ships (scripts/fetch-pretrained.sh puts the files into
 * assets/models/): MobileNetV2 with torchvision's ImageNet weights (IMAGENET1K_V1, top-1
 * 71.9%), converted to convlab's safetensors layout, and the 1,000 ImageNet class names.
 * Licence: torchvision's code is BSD-3-Clause; the weights were trained on ImageNet and may
 * carry its terms (fine for teaching and research; not relicensed here).
 */

import { prepare, RECIPES } from './preprocess.js';

/**
 * @typedef {{title: string, zoo: string, weights: string, classes: string, recipe: import('./preprocess.js').Recipe,
 *   embedLayer: string, licence: string}} PretrainedInfo
 * @typedef {{label: string, index: number, probability: number}} Prediction
 */

/** @type {Record<string, PretrainedInfo>} */
export const PRETRAINED = {
  mobilenet_v2: {
    title: 'MobileNetV2 (ImageNet, torchvision IMAGENET1K_V1)',
    zoo: 'mobilenet_v2',
    weights: 'assets/models/mobilenet_v2.safetensors',
    classes: 'assets/models/imagenet_classes.json',
    recipe: 'imagenet',
    embedLayer: 'avg_pool',
    licence: 'Weights: torchvision (BSD-3-Clause code), trained on ImageNet, whose terms may apply: for teaching and research.',
  },
};

/** The entry for `name`, or an error listing the known names. @param {unknown} name @param {string} op */
export function pretrainedInfo(name, op) {
  if (typeof name !== 'string' || !Object.hasOwn(PRETRAINED, name)) {
    const got = typeof name === 'string' ? JSON.stringify(name) : String(name);
    throw new Error(`${op}: no pretrained model ${got}; the pretrained models are ${Object.keys(PRETRAINED).join(', ')}`);
  }
  return PRETRAINED[name];
}

/**
 * Fetches one file of the site (relative to www/, resolved against this module), reporting
 * bytes; a missing file says how to get it.
 * @param {string} path @param {(bytes: number, total: number) => void} [onBytes]
 */
async function fetchAsset(path, onBytes) {
  const url = new URL(`../${path}`, import.meta.url).href;
  let response;
  try {
    response = await fetch(url);
  } catch (e) {
    throw new Error(`pretrained: ${url} could not be fetched (${/** @type {Error} */ (e).message})`);
  }
  if (!response.ok || !response.body) {
    throw new Error(`pretrained: ${path} is missing from the site (HTTP ${response.status}): run scripts/fetch-pretrained.sh, then rebuild (trunk build --release)`);
  }
  const total = Number(response.headers.get('content-length') ?? 0);
  const reader = response.body.getReader();
  /** @type {Uint8Array[]} */
  const chunks = [];
  let seen = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    seen += value.byteLength;
    onBytes?.(seen, total);
  }
  const bytes = new Uint8Array(seen);
  let at = 0;
  for (const c of chunks) { bytes.set(c, at); at += c.byteLength; }
  return bytes;
}

/**
 * The weights (safetensors bytes) and class names of pretrained model `name`.
 * @param {string} name @param {{onProgress?: (fraction: number) => void}} [options]
 */
export async function fetchPretrained(name, options = {}) {
  const info = pretrainedInfo(name, 'pretrained.load');
  const onProgress = options.onProgress;
  if (onProgress !== undefined && typeof onProgress !== 'function') {
    throw new Error(`pretrained.load: option 'onProgress': expected a function, got ${typeof onProgress}`);
  }
  const [weights, names] = await Promise.all([
    fetchAsset(info.weights, (seen, total) => onProgress?.(total > 0 ? Math.min(1, seen / total) : 0)),
    fetchAsset(info.classes),
  ]);
  /** @type {unknown} */
  let classNames;
  try {
    classNames = JSON.parse(new TextDecoder().decode(names));
  } catch {
    throw new Error(`pretrained: ${info.classes} is not JSON: run scripts/fetch-pretrained.sh again`);
  }
  if (!Array.isArray(classNames) || !classNames.every((n) => typeof n === 'string')) {
    throw new Error(`pretrained: ${info.classes} is not a list of names: run scripts/fetch-pretrained.sh again`);
  }
  onProgress?.(1);
  return { info, weights, classNames: /** @type {string[]} */ (classNames) };
}

/**
 * A pretrained model built in `core` (the page's or a worker's bindings) with its weights
 * loaded; `classNames` and `pretrained` (its PRETRAINED entry and name) are set on it.
 * @param {any} core @param {string} name @param {{onProgress?: (fraction: number) => void}} [options]
 */
export async function loadPretrained(core, name, options) {
  const { info, weights, classNames } = await fetchPretrained(name, options);
  const model = core.Model.fromSpec(core.zooSpec(info.zoo));
  try {
    model.loadWeights(weights);
  } catch (e) {
    model.free?.();
    throw new Error(`pretrained.load: ${info.weights} does not fit the ${name} model (${/** @type {Error} */ (e).message}): run scripts/fetch-pretrained.sh again`);
  }
  Object.assign(model, { classNames, pretrained: { name, ...info } });
  return model;
}

/** Softmax of `values` (max subtracted first). @param {ArrayLike<number>} values */
export function softmax(values) {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]);
  const out = new Float64Array(values.length);
  let sum = 0;
  for (let i = 0; i < values.length; i++) { out[i] = Math.exp(values[i] - max); sum += out[i]; }
  for (let i = 0; i < out.length; i++) out[i] /= sum;
  return out;
}

/**
 * Whether `spec`'s output is already probabilities: its last layer has a softmax activation
 * (or, when the spec does not say, the values are non-negative and sum to 1).
 * @param {any} spec @param {ArrayLike<number>} output
 */
export function isProbabilities(spec, output) {
  const layers = Array.isArray(spec?.layers) ? spec.layers : [];
  const last = spec?.output ? layers.find((/** @type {any} */ l) => l?.name === spec.output) : layers[layers.length - 1];
  const cls = last?.class_name;
  if (cls === 'Softmax') return true;
  const activation = cls === 'Activation' || cls === 'Dense' ? last?.config?.activation : undefined;
  if (typeof activation === 'string') return activation === 'softmax';
  let sum = 0;
  for (let i = 0; i < output.length; i++) {
    if (!(output[i] >= 0)) return false;
    sum += output[i];
  }
  return Math.abs(sum - 1) < 1e-3;
}

/**
 * The `k` most probable classes, most probable first (ties by index).
 * @param {ArrayLike<number>} probabilities @param {number} k @param {string[] | null | undefined} classNames
 * @returns {Prediction[]}
 */
export function topK(probabilities, k, classNames) {
  const order = Array.from({ length: probabilities.length }, (_, i) => i);
  order.sort((a, b) => probabilities[b] - probabilities[a] || a - b);
  return order.slice(0, k).map((index) => ({ label: classNames?.[index] ?? String(index), index, probability: probabilities[index] }));
}

/**
 * Checks classify's `topK` against the number of classes.
 * @param {unknown} k @param {number} classes @param {string} op
 */
export function checkTopK(k, classes, op) {
  if (!Number.isInteger(k) || /** @type {number} */ (k) < 1 || /** @type {number} */ (k) > classes) {
    const range = classes === Infinity ? 'a positive integer' : `an integer from 1 to ${classes} (the model's classes)`;
    throw new Error(`${op}: option 'topK': expected ${range}, got ${JSON.stringify(k) ?? String(k)}`);
  }
  return /** @type {number} */ (k);
}

/**
 * Checks caller-given class names against the number of outputs.
 * @param {unknown} names @param {number} classes @param {string} op
 * @returns {string[] | null}
 */
export function checkClassNames(names, classes, op) {
  if (names === undefined || names === null) return null;
  if (!Array.isArray(names) || names.length !== classes || !names.every((n) => typeof n === 'string')) {
    const got = Array.isArray(names) ? `${names.length} entries` : typeof names;
    throw new Error(`${op}: option 'classNames': expected ${classes} strings (one per output), got ${got}`);
  }
  return names;
}

/**
 * The preprocessing recipe for a model: its pretrained entry's, else 'mnist' for a 28x28x1
 * input, else 'plain'.
 * @param {any} model @param {number[]} inputShape
 * @returns {import('./preprocess.js').Recipe}
 */
export function recipeFor(model, inputShape) {
  if (model?.pretrained?.recipe) return model.pretrained.recipe;
  const [h, w, c] = inputShape;
  return h === 28 && w === 28 && c === 1 ? 'mnist' : 'plain';
}

const CLASSIFY_OPTIONS = ['topK', 'backend', 'classNames', 'recipe', 'mean', 'std'];

/**
 * `model.classify(image, {topK = 5, backend, classNames, recipe, mean, std})`: the image
 * preprocessed for the model (preprocess.js; the recipe from the model unless given), run on
 * this thread's core, softmax applied when the output is logits; resolves to the top `topK`
 * `[{label, index, probability}]`.
 * @this {any} @param {unknown} image @param {any} [options]
 * @returns {Promise<Prediction[]>}
 */
export async function classify(image, options = {}) {
  const op = 'classify';
  if (options === null || typeof options !== 'object') throw new Error(`${op}: argument 'options': expected an object, got ${String(options)}`);
  for (const key of Object.keys(options)) {
    if (!CLASSIFY_OPTIONS.includes(key)) throw new Error(`${op}: unknown option ${JSON.stringify(key)}; the options are ${CLASSIFY_OPTIONS.join(', ')}`);
  }
  if (options.recipe !== undefined && !RECIPES.includes(options.recipe)) {
    throw new Error(`${op}: option 'recipe': expected one of ${RECIPES.join(', ')}, got ${JSON.stringify(options.recipe)}`);
  }
  if (options.topK !== undefined && !(Number.isInteger(options.topK) && options.topK >= 1)) checkTopK(options.topK, Infinity, op);
  const spec = this.spec();
  const inputShape = spec.input.shape;
  if (inputShape.length !== 3) throw new Error(`${op}: the model's input is ${JSON.stringify(inputShape)}; classify needs an image input [height, width, channels]`);
  const recipe = options.recipe ?? recipeFor(this, inputShape);
  let prepared;
  try {
    prepared = prepare(image, recipe, inputShape, { mean: options.mean, std: options.std });
  } catch (e) {
    throw new Error(`${op}: ${/** @type {Error} */ (e).message.replace(/^preprocess: /, '')}`);
  }
  const out = await this.predict(prepared.input, options.backend ? { backend: options.backend } : undefined);
  const classes = out.data.length;
  const names = checkClassNames(options.classNames, classes, op) ?? this.classNames ?? null;
  const k = checkTopK(options.topK ?? Math.min(5, classes), classes, op);
  const probabilities = isProbabilities(spec, out.data) ? out.data : softmax(out.data);
  return topK(probabilities, k, names);
}
