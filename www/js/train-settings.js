// @ts-check
/**
 * Training settings: the defaults of each model (the chapter's recipes), their validation, and
 * their place in the share link: `#model=1.<spec>&train=<base64url JSON>`. Nothing a link holds
 * is trusted: every field is checked, and a bad one is named in a message (the defaults then
 * apply, as a whole, so a half-read link never trains something nobody asked for).
 *
 * @typedef {{
 *   data: 'fashion_mnist' | 'mnist' | 'images' | 'idx', optimizer: string, learningRate: number,
 *   schedule: 'constant' | 'step' | 'cosine', weightDecay: number, batchSize: number, epochs: number,
 *   seed: number, maxShift: number, flip: boolean, rotation: number, zoom: number,
 *   contrast: number, brightness: number, trainImages: number, holdout: number,
 * }} TrainSettings
 *
 * `images` and `idx` are the user's own data (www/js/own-data.js): a link carries the choice
 * and the settings, never the images. `holdout` is the percentage of each class held out from
 * the user's own data for validation and the test (stratified).
 */

export const OPTIMIZERS = ['sgd', 'momentum', 'nesterov', 'adam', 'nadam', 'rmsprop'];
export const SCHEDULES = ['constant', 'step', 'cosine'];
export const DATASETS = { fashion_mnist: 'Fashion-MNIST', mnist: 'MNIST (digits)', images: 'Your own images', idx: 'Your IDX files' };
/** The built-in data sets (the rest are the user's own). */
export const BUILT_IN = ['fashion_mnist', 'mnist'];
/** The augmentation settings, as fit and data.preview take them. */
export const AUGMENT_KEYS = /** @type {const} */ (['maxShift', 'flip', 'rotation', 'zoom', 'contrast', 'brightness']);

/** The small CNN chosen for speed (tests/browser/training.test.mjs: 88.51% after one epoch).
 * @type {import('./types').ModelSpec} */
export const SMALL_CNN = {
  format: 'convlab-model', version: 1, name: 'fashion_small', input: { shape: [28, 28, 1] },
  layers: [
    { class_name: 'Conv2D', config: { filters: 16, kernel_size: 3, padding: 'same', activation: 'relu' } },
    { class_name: 'MaxPool2D' },
    { class_name: 'Conv2D', config: { filters: 32, kernel_size: 3, padding: 'same', activation: 'relu' } },
    { class_name: 'MaxPool2D' },
    { class_name: 'Flatten' },
    { class_name: 'Dense', config: { units: 10, activation: 'softmax' } },
  ],
};

/** @type {TrainSettings} */
const BASE = {
  data: 'fashion_mnist', optimizer: 'adam', learningRate: 1e-3, schedule: 'constant', weightDecay: 0,
  batchSize: 32, epochs: 5, seed: 1, maxShift: 0, flip: false, rotation: 0, zoom: 0, contrast: 0,
  brightness: 0, trainImages: 0, holdout: 20,
};

/** @type {Record<string, Partial<TrainSettings>>} */
const RECIPES = {
  // examples/train_fashion.rs: the chapter's Nadam and batch 32, cosine decay to 1%, shifts of
  // up to 2 pixels and horizontal flips (the recipe for the chapter's 92%).
  fashion_mnist_cnn: { optimizer: 'nadam', learningRate: 1e-3, schedule: 'cosine', batchSize: 32, epochs: 20, seed: 42, maxShift: 2, flip: true },
  fashion_small: { optimizer: 'adam', learningRate: 3e-3, schedule: 'cosine', batchSize: 32, epochs: 1, seed: 1 },
  lenet5_modern: { optimizer: 'adam', learningRate: 1e-3, schedule: 'cosine', batchSize: 32, epochs: 5, seed: 1, maxShift: 1 },
};

/**
 * The defaults for a model on a data set: flips are off for digits (a mirrored 2 is no 2).
 * @param {string} model @param {TrainSettings['data']} [data]
 * @returns {TrainSettings}
 */
export function defaults(model, data = 'fashion_mnist') {
  const s = { ...BASE, ...(RECIPES[model] ?? {}), data };
  // The recipes' flips are for Fashion-MNIST: off for digits, and for the user's own data
  // until the user says a mirrored picture keeps its class.
  if (data !== 'fashion_mnist') s.flip = false;
  return s;
}

/** Each field's rule: a check that returns a problem or null. */
const RULES = /** @type {Record<keyof TrainSettings, (v: any) => string | null>} */ ({
  data: (v) => (Object.hasOwn(DATASETS, v) ? null : `must be ${Object.keys(DATASETS).join(' or ')}`),
  optimizer: (v) => (OPTIMIZERS.includes(v) ? null : `must be one of ${OPTIMIZERS.join(', ')}`),
  learningRate: (v) => number(v, 1e-7, 10),
  schedule: (v) => (SCHEDULES.includes(v) ? null : `must be ${SCHEDULES.join(' or ')}`),
  weightDecay: (v) => number(v, 0, 1),
  batchSize: (v) => integer(v, 1, 1024),
  epochs: (v) => integer(v, 1, 1000),
  seed: (v) => integer(v, 0, 2 ** 32 - 1),
  maxShift: (v) => integer(v, 0, 8),
  flip: (v) => (typeof v === 'boolean' ? null : 'must be true or false'),
  rotation: (v) => number(v, 0, 180),
  zoom: (v) => (number(v, 0, 0.95) ? 'must be a number from 0 to 0.95' : null),
  contrast: (v) => number(v, 0, 1),
  brightness: (v) => number(v, 0, 1),
  trainImages: (v) => integer(v, 0, 60000),
  holdout: (v) => integer(v, 5, 50),
});

/**
 * The augmentation options of `settings`, as fit and data.preview take them.
 * @param {TrainSettings} settings
 */
export function augmentOf(settings) {
  return Object.fromEntries(AUGMENT_KEYS.map((k) => [k, settings[k]]));
}

/** @param {any} v @param {number} lo @param {number} hi */
function number(v, lo, hi) {
  return typeof v === 'number' && Number.isFinite(v) && v >= lo && v <= hi ? null : `must be a number from ${lo} to ${hi}`;
}
/** @param {any} v @param {number} lo @param {number} hi */
function integer(v, lo, hi) {
  return Number.isInteger(v) && v >= lo && v <= hi ? null : `must be a whole number from ${lo} to ${hi}`;
}

/**
 * Checks a settings object (from a link or a form); missing fields take `base`'s values.
 * @param {unknown} value @param {TrainSettings} base
 * @returns {{settings: TrainSettings, problems: string[]}}
 */
export function validate(value, base) {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return { settings: base, problems: ['expected an object of settings'] };
  }
  const problems = [];
  const settings = /** @type {any} */ ({ ...base });
  for (const [key, v] of Object.entries(value)) {
    const rule = /** @type {any} */ (RULES)[key];
    if (!rule) { problems.push(`unknown setting "${key.slice(0, 40)}"`); continue; }
    const problem = rule(v);
    if (problem) problems.push(`${key} ${problem}, got ${JSON.stringify(v)?.slice(0, 40)}`);
    else settings[key] = v;
  }
  return { settings: problems.length ? base : settings, problems };
}

/** @param {TrainSettings} settings @returns {string} the `train=` value */
export function encode(settings) {
  const bytes = new TextEncoder().encode(JSON.stringify(settings));
  let text = '';
  for (const b of bytes) text += String.fromCharCode(b);
  return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/**
 * Reads a `train=` value. Throws an Error that says what is wrong.
 * @param {string} value @returns {unknown}
 */
export function decode(value) {
  if (value.length > 2000) throw new Error(`it is ${value.length} characters long, over the limit of 2000`);
  if (!/^[A-Za-z0-9_-]*$/.test(value)) throw new Error('it is not base64url text (A-Z, a-z, 0-9, - and _)');
  let text;
  try {
    const binary = atob(value.replace(/-/g, '+').replace(/_/g, '/'));
    text = new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(binary, (c) => c.charCodeAt(0)));
  } catch {
    throw new Error('it does not decode as base64url UTF-8 text');
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new Error('it is not JSON');
  }
}

/**
 * The parts of a location hash: `model` (the `model=...` text, for Model.fromUrl) and `train`.
 * @param {string} hash
 */
export function parseHash(hash) {
  const params = new URLSearchParams(hash.replace(/^#+/, ''));
  const model = params.get('model');
  return { model: model === null ? null : `model=${model}`, train: params.get('train') };
}

/** @param {string} modelPart `#model=1.<...>` (Model.toUrl) @param {TrainSettings} settings */
export function shareHash(modelPart, settings) {
  return `#${modelPart.replace(/^#+/, '')}&train=${encode(settings)}`;
}
