// @ts-check
/**
 * Classification calls for the inference worker (`infer.use('./classify-handlers.js')`; see
 * infer-worker.js for the protocol). The page preprocesses (preprocess.js `prepare`, which also
 * draws the steps) and sends the tensor; the worker's own core runs the model.
 *
 * - `loadPretrained {key, name}`: fetches the weights and class names inside the worker,
 *   builds the model under `key`; returns `{key, name, classNames, inputShape, layers, recipe,
 *   licence, embedLayer}`.
 * - `classify {key, input, topK = 5, backend, classNames}`: `input` is `{shape: [1, h, w, c],
 *   data}` as `prepare` makes it; returns `{top: [{label, index, probability}], ms, backend}`,
 *   softmax applied when the model's output is logits. Class names: the call's, else the
 *   pretrained model's, else the indices. Works for any model loaded under `key` (`load` too).
 * - `embed {key, input, layer, backend}`: the features before the classifier, for transfer
 *   learning: for MobileNetV2 the 1,280 global-average-pooled maps (layer `avg_pool`); for
 *   another model the input of its last layer (or `layer` when given). Returns
 *   `{layer, shape, data, ms, backend}`.
 */

import { loadPretrained, isProbabilities, softmax, topK, checkTopK, checkClassNames } from './pretrained.js';

/** @param {any} ctx @param {string} key */
function model(ctx, key) {
  const m = ctx.models.get(key);
  if (!m) throw new Error(`no model is loaded under ${JSON.stringify(key)}: load it first`);
  return m;
}

/** @param {any} input @param {string} op */
function checkInput(input, op) {
  if (!input || !Array.isArray(input.shape) || !(input.data instanceof Float32Array)) {
    throw new Error(`${op}: argument 'input': expected {shape, data: Float32Array} from preprocess.js prepare()`);
  }
}

/** @type {Record<string, (ctx: any, args: any) => Promise<any>>} */
export const handlers = {
  async loadPretrained(ctx, { key, name }) {
    if (typeof key !== 'string' || key === '') throw new Error(`loadPretrained: argument 'key': expected a non-empty string, got ${JSON.stringify(key)}`);
    await ctx.backends();
    const m = await loadPretrained(ctx.core, name);
    ctx.models.get(key)?.free?.();
    ctx.models.set(key, m);
    return {
      key, name, classNames: m.classNames, inputShape: m.spec().input.shape, layers: m.layerNames(),
      recipe: m.pretrained.recipe, licence: m.pretrained.licence, embedLayer: m.pretrained.embedLayer,
    };
  },

  async classify(ctx, { key, input, topK: k, backend, classNames }) {
    const m = model(ctx, key);
    checkInput(input, 'classify');
    if (k !== undefined && !(Number.isInteger(k) && k >= 1)) checkTopK(k, Infinity, 'classify');
    await ctx.backends();
    const out = await m.predict(input, backend ? { backend } : undefined);
    const classes = out.data.length;
    // loadPretrained sets classNames and pretrained on the models it builds.
    const names = checkClassNames(classNames, classes, 'classify') ?? m.classNames ?? null;
    const probabilities = isProbabilities(m.spec(), out.data) ? out.data : softmax(out.data);
    const top = topK(probabilities, checkTopK(k ?? Math.min(5, classes), classes, 'classify'), names);
    return { top, ms: out.ms, backend: out.backend };
  },

  async embed(ctx, { key, input, layer, backend }) {
    const m = model(ctx, key);
    checkInput(input, 'embed');
    const layers = m.layerNames();
    const name = layer ?? m.pretrained?.embedLayer ?? layers[layers.length - 2];
    if (!layers.includes(name)) throw new Error(`embed: the model has no layer ${JSON.stringify(name)}`);
    await ctx.backends();
    const options = { layers: [name], ...(backend ? { backend } : {}) };
    const maps = await m.featureMaps(input, options);
    const out = maps[name];
    return { layer: name, shape: out.shape, data: out.data, ms: out.ms, backend: out.backend };
  },
};
