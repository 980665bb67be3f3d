// @ts-check
/**
 * The models the Classify view runs, all in the inference worker (www/js/infer-worker.js):
 * MobileNetV2 with its ImageNet weights (classify-handlers.js), the user's trained model (the
 * shared store's, else the one the training panel keeps in IndexedDB), a weights file, and a
 * transfer-learning head on MobileNetV2 (transfer-handlers.js). Each becomes a `Classifier`:
 * its input shape, the preprocessing recipe that matches it (preprocess.js) and the input
 * normalisation it was trained with, and `run(input)`, which answers the top 5.
 */
import * as infer from '../infer.js';
import * as store from '../store.js';
import { loadRun } from '../persist.js';
import { readSafetensorsSpec } from '../weights-file.js';
import { topK } from './topk.js';

/** Fashion-MNIST's and MNIST's classes, as convlab.data.load names them (core.js). */
export const FASHION_NAMES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
export const DIGIT_NAMES = ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'];

/** The per-pixel normalisation each built-in data set trains with (core.js's DATASETS). */
const NORMALISATION = {
  fashion_mnist: { mean: 0.2860, std: 0.3530, names: FASHION_NAMES, label: 'Fashion-MNIST' },
  mnist: { mean: 0.1307, std: 0.3081, names: DIGIT_NAMES, label: 'MNIST' },
};

export const MOBILENET_KEY = 'classify:mobilenet_v2';

/** The backend the header's control asks for ("webgpu" or "cpu"), else undefined: the worker's own choice. */
export function backendChoice() {
  const choice = store.get().backend?.choice;
  return choice === 'cpu' || choice === 'webgpu' ? choice : undefined;
}

/**
 * @typedef {{label: string, index: number, probability: number}} Guess
 * @typedef {{top: Guess[], ms: number, backend: string}} Answer
 * @typedef {{mean: number, std: number} | 'own' | null} Normalisation
 *   What the recipe's [0, 1] pixels go through: `(x - mean) / std` (preprocess.js applies it
 *   and shows the step); `own`, the input's own mean and standard deviation (`data.fromImages`
 *   normalises the user's images by the training set's; one image is all there is here); null:
 *   nothing (the imagenet recipe normalises itself).
 * @typedef {{
 *   id: string, label: string, inputShape: number[], classNames: string[],
 *   recipe: 'imagenet' | 'mnist' | 'fashion' | 'plain', normalisation: Normalisation, note: string,
 *   run: (input: {shape: number[], data: Float32Array}) => Promise<Answer>,
 * }} Classifier
 * @typedef {{spec: any, weights: Uint8Array, classNames: string[] | null, data: string | null,
 *   name: string, where: string}} TrainedModel
 */

/** Applies the normalisation to a prepared input (a copy). @param {Float32Array} data @param {Normalisation} n */
export function normalise(data, n) {
  if (!n) return data;
  let { mean, std } = n === 'own' ? stats(data) : n;
  std = std > 1e-6 ? std : 1;
  return data.map((v) => (v - mean) / std);
}

/** @param {Float32Array} data */
function stats(data) {
  let sum = 0;
  let sq = 0;
  for (const v of data) { sum += v; sq += v * v; }
  const mean = sum / data.length;
  return { mean, std: Math.sqrt(Math.max(0, sq / data.length - mean * mean)) };
}

/** Softmax of logits (stable), for models whose last layer has no softmax. @param {ArrayLike<number>} z */
export function softmax(z) {
  const max = Math.max(...Array.from(z));
  const e = Array.from(z, (v) => Math.exp(v - max));
  const sum = e.reduce((a, b) => a + b, 0);
  return e.map((v) => v / sum);
}

/**
 * The recipe that matches a model: how its training images were made. Fashion-MNIST's and
 * MNIST's own recipes for those data sets; the user's own images went through
 * `data.fromImages`, which `plain` repeats.
 * @param {number[]} shape [h, w, c] @param {string | null} data
 * @returns {'mnist' | 'fashion' | 'plain'}
 */
export function recipeFor(shape, data) {
  if (shape[2] === 1 && data === 'fashion_mnist') return 'fashion';
  if (shape[2] === 1 && data === 'mnist') return 'mnist';
  return 'plain';
}

/**
 * The data set a model was most likely trained on, from what is known about it.
 * @param {string | null} data @param {string[] | null} classNames @param {any} spec
 */
export function guessData(data, classNames, spec) {
  if (data) return data;
  const same = (/** @type {string[]} */ a) => classNames?.length === a.length && a.every((n, i) => classNames[i] === n);
  if (same(FASHION_NAMES)) return 'fashion_mnist';
  if (same(DIGIT_NAMES)) return 'mnist';
  const shape = spec?.input?.shape ?? [];
  const last = spec?.layers?.[spec.layers.length - 1];
  if (!classNames && shape[0] === 28 && shape[1] === 28 && shape[2] === 1 && last?.config?.units === 10) {
    return /fashion/i.test(spec?.name ?? '') ? 'fashion_mnist' : 'mnist';
  }
  return null;
}

/** MobileNetV2 with ImageNet weights, loaded into the worker once. @type {Promise<Classifier> | null} */
let mobilenet = null;

/** Forgets the loaded MobileNetV2 (the worker lost it); the next `pretrained()` loads it again. */
export function forgetPretrained() {
  mobilenet = null;
}

/** @returns {Promise<Classifier>} */
export function pretrained() {
  mobilenet ??= (async () => {
    await infer.use('./classify-handlers.js');
    /** @type {{classNames: string[], inputShape: number[], licence?: string}} */
    const loaded = await infer.call('loadPretrained', { key: MOBILENET_KEY, name: 'mobilenet_v2' });
    return {
      id: 'mobilenet', label: 'MobileNetV2 (ImageNet, pretrained)', inputShape: loaded.inputShape,
      classNames: loaded.classNames, recipe: /** @type {const} */ ('imagenet'), normalisation: null,
      note: `MobileNetV2 with torchvision's ImageNet weights: ${loaded.classNames.length} classes, input ${loaded.inputShape.join('x')}. ${loaded.licence ?? ''}`.trim(),
      run: async (input) => answerOf(await infer.call('classify', { key: MOBILENET_KEY, input, topK: 5, backend: backendChoice() })),
    };
  })();
  mobilenet.catch(() => { mobilenet = null; });
  return mobilenet;
}

/** The worker's answer in one shape: `{top, ms, backend}`. @param {any} r @returns {Answer} */
export function answerOf(r) {
  const top = Array.isArray(r) ? r : r?.top ?? r?.results ?? r?.topK;
  if (!Array.isArray(top)) throw new Error('the worker gave no top-5 answer');
  return { top, ms: Number(r?.ms ?? NaN), backend: String(r?.backend ?? '?') };
}

/**
 * The user's trained model: the store's (a model with weights the other views published),
 * else the training panel's in IndexedDB. Null when there is none.
 * @returns {Promise<TrainedModel | null>}
 */
export async function trainedModel() {
  const m = store.get().model;
  if (m?.weights && m.origin !== 'pretrained') {
    return { spec: m.spec, weights: m.weights, classNames: m.classNames, data: m.data ?? null, name: m.name, where: m.detail ?? (m.origin === 'trained' ? 'just trained' : `from ${m.origin}`) };
  }
  let run = null;
  try { run = await loadRun(); } catch { /* IndexedDB off: nothing kept */ }
  if (!run?.weights) return null;
  const data = run.settings?.data ?? null;
  const known = data && /** @type {any} */ (NORMALISATION)[data];
  return { spec: run.spec, weights: run.weights, classNames: known?.names ?? null, data, name: run.spec?.name ?? 'your model', where: `kept in this browser, epoch ${run.epoch}` };
}

/**
 * Loads a model with weights into the worker under `key`.
 * @param {string} key @param {any} spec @param {Uint8Array} weights @param {string[] | null} classNames
 * @param {string | null} data the data set it was trained on, when known @param {string} label
 * @returns {Promise<Classifier>}
 */
export async function loadWithWeights(key, spec, weights, classNames, data, label) {
  /** @type {{inputShape: number[]}} */
  const loaded = await infer.call('load', { key, spec, weights: weights.slice() });
  const shape = loaded.inputShape;
  const lastLayer = spec.layers?.[spec.layers.length - 1];
  const hasSoftmax = lastLayer?.config?.activation === 'softmax' || lastLayer?.class_name === 'Softmax';
  const guessed = guessData(data, classNames, spec);
  const known = guessed ? /** @type {any} */ (NORMALISATION)[guessed] : null;
  const names = classNames ?? known?.names ?? null;
  /** @type {Normalisation} */
  const normalisation = known ? { mean: known.mean, std: known.std } : 'own';
  const how = known
    ? `${guessed === data ? '' : 'taken to be '}${known.label}: its preprocessing and normalisation (mean ${known.mean}, std ${known.std})`
    : 'preprocessed as your own training images were, each normalised by its own mean and standard deviation';
  return {
    id: key, label, inputShape: shape, classNames: names ?? [], recipe: recipeFor(shape, guessed), normalisation,
    note: `${label}: input ${shape.join('x')}, ${how}.`,
    run: async (input) => {
      const out = await infer.call('predict', { key, input, backend: backendChoice() });
      const p = hasSoftmax ? out.data : softmax(out.data);
      return { top: topK(p, names ?? [], 5), ms: out.ms, backend: out.backend };
    },
  };
}

/**
 * What a weights file holds: a model (its spec in the metadata) or a transfer head (ours).
 * Throws an Error naming the file and what is wrong.
 * @param {File} file
 */
export async function readWeightsFile(file) {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let spec;
  try {
    spec = readSafetensorsSpec(bytes);
  } catch (e) {
    throw new Error(`${file.name}: ${/** @type {Error} */ (e).message}`);
  }
  if (!spec) throw new Error(`${file.name}: its metadata has no model spec (save weights from convlab's training panel, or a transfer head from this view)`);
  const meta = metadataOf(bytes);
  let classNames = null;
  try { classNames = meta.class_names ? JSON.parse(meta.class_names) : null; } catch { /* ignored: numbered classes */ }
  if (classNames !== null && (!Array.isArray(classNames) || !classNames.every((c) => typeof c === 'string'))) classNames = null;
  return { bytes, spec, classNames, kind: meta.convlab_kind === 'transfer-head' ? 'head' : 'model', scale: Number(meta.feature_scale ?? 6), data: meta.data ?? null };
}

/** The `__metadata__` of a safetensors file (already checked by readSafetensorsSpec). @param {Uint8Array} bytes */
export function metadataOf(bytes) {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  return /** @type {Record<string, string>} */ (header.__metadata__ ?? {});
}

/**
 * A safetensors file with more `__metadata__` entries (strings); the tensors are unchanged.
 * @param {Uint8Array} bytes @param {Record<string, string>} extra
 */
export function withMetadata(bytes, extra) {
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + length)));
  header.__metadata__ = { ...(header.__metadata__ ?? {}), ...extra };
  let text = JSON.stringify(header);
  // The data must stay 8-byte aligned: pad the header with spaces (as the format allows).
  while ((new TextEncoder().encode(text).length) % 8 !== 0) text += ' ';
  const json = new TextEncoder().encode(text);
  const out = new Uint8Array(8 + json.length + bytes.length - 8 - length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(bytes.subarray(8 + length), 8 + json.length);
  return out;
}
