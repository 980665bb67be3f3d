// @ts-check
/**
 * Transfer learning in the inference worker (added with `infer.use('./transfer-handlers.js')`):
 * a softmax head on MobileNetV2's frozen 1280-feature embedding (classify-handlers.js's `embed`),
 * trained by the core's own `Trainer` and run together with the backbone.
 *
 * The core's data sets hold pixels as bytes (`Dataset.fromIdx`), so the embeddings travel as an
 * IDX "image" of one row, `[n, 1, dim]`, quantised to 0..255 over `[0, scale]` and normalised
 * back by the data set (`mean` 0, `std` 1 / scale: input = byte / 255 * scale). MobileNetV2's
 * embedding is an average of ReLU6 outputs, so it lies in [0, 6]; `scale` is the largest value
 * seen, and the rounding error (at most scale / 510 per feature, under 0.012) is far below the
 * differences a linear head separates classes by. At inference the head gets the embedding
 * itself, clamped to the same range.
 *
 * Calls:
 * - `trainHead` `{headKey, features: Float32Array (n * dim), labels: number[], classNames,
 *   epochs?, learningRate?, seed?}`: trains, loads the head under `headKey`, returns
 *   `{weights (safetensors), accuracy, loss, ms, steps, scale, spec}`;
 * - `loadHead` `{headKey, spec, weights, classNames, scale}`: a head saved earlier;
 * - `classifyHead` `{backboneKey, headKey, input, topK?}`: backbone then head, top-K
 *   `[{label, index, probability}]`, `ms`, `backend`.
 */
import { handlers as classify } from './classify-handlers.js';
import { topK } from './classify/topk.js';

/** The most classes a head may have (labels travel as IDX bytes). */
export const MAX_CLASSES = 64;
/** The most images one head trains on. */
export const MAX_IMAGES = 2000;

/** @type {Map<string, {classNames: string[], scale: number, dim: number}>} */
const heads = new Map();

/**
 * The head's spec: the embedding as a `[1, dim, 1]` "image", flattened, one Dense softmax layer.
 * @param {number} dim @param {number} classes
 */
export function headSpec(dim, classes) {
  return {
    format: 'convlab-model', version: 1, name: 'transfer_head',
    input: { shape: [1, dim, 1] },
    layers: [
      { name: 'flatten', class_name: 'Flatten' },
      { name: 'head', class_name: 'Dense', config: { units: classes, activation: 'softmax' } },
    ],
  };
}

/**
 * Embeddings and labels as IDX files: images `[n, 1, dim]` (bytes over [0, scale]), labels `[n]`.
 * @param {Float32Array} features n * dim values @param {number[]} labels @param {number} dim
 */
export function featureIdx(features, labels, dim) {
  const n = labels.length;
  if (!Number.isInteger(dim) || dim < 1 || features.length !== n * dim) {
    throw new Error(`trainHead: ${features.length} feature values are not ${n} embeddings of ${dim}`);
  }
  let scale = 0;
  for (const v of features) {
    if (!Number.isFinite(v)) throw new Error('trainHead: an embedding holds a value that is not a finite number');
    if (v > scale) scale = v;
  }
  scale = scale > 0 ? scale : 1;
  const images = new Uint8Array(16 + n * dim);
  const head = new DataView(images.buffer);
  head.setUint32(0, 0x0803);
  head.setUint32(4, n);
  head.setUint32(8, 1);
  head.setUint32(12, dim);
  for (let i = 0; i < features.length; i++) images[16 + i] = Math.round(Math.min(Math.max(features[i], 0), scale) / scale * 255);
  const labelBytes = new Uint8Array(8 + n);
  const lhead = new DataView(labelBytes.buffer);
  lhead.setUint32(0, 0x0801);
  lhead.setUint32(4, n);
  labels.forEach((l, i) => { labelBytes[8 + i] = l; });
  return { images, labels: labelBytes, scale };
}

/** @param {any} result what `embed` answered @returns {Float32Array} */
function vectorOf(result) {
  const v = result instanceof Float32Array ? result : result?.data ?? result?.embedding?.data ?? result?.embedding;
  if (!(v instanceof Float32Array)) throw new Error('the backbone gave no embedding');
  return v;
}

/** @param {string[]} classNames @param {number[]} labels */
function checkClasses(classNames, labels) {
  if (!Array.isArray(classNames) || classNames.length < 2) throw new Error('trainHead: a head needs at least two classes');
  if (classNames.length > MAX_CLASSES) throw new Error(`trainHead: ${classNames.length} classes are more than ${MAX_CLASSES}`);
  if (labels.length > MAX_IMAGES) throw new Error(`trainHead: ${labels.length} images are more than ${MAX_IMAGES}`);
  const counts = classNames.map(() => 0);
  for (const l of labels) {
    if (!Number.isInteger(l) || l < 0 || l >= classNames.length) throw new Error(`trainHead: label ${l} is not one of the ${classNames.length} classes`);
    counts[l] += 1;
  }
  const empty = counts.findIndex((c) => c === 0);
  if (empty >= 0) throw new Error(`trainHead: class ${JSON.stringify(classNames[empty])} has no images`);
}

/** @type {Record<string, (ctx: any, args: any) => Promise<any>>} */
export const handlers = {
  async trainHead(ctx, { headKey, features, labels, classNames, epochs, learningRate = 3e-3, seed = 1 }) {
    await ctx.backends();
    checkClasses(classNames, labels);
    const n = labels.length;
    const dim = features.length / n;
    const idx = featureIdx(features, labels, dim);
    const started = performance.now();
    const data = ctx.core.Dataset.fromIdx(idx.images, idx.labels, { classes: classNames.length, mean: 0, std: 1 / idx.scale, imagesName: 'embeddings', labelsName: 'labels' });
    const spec = headSpec(dim, classNames.length);
    const model = ctx.core.Model.fromSpec(spec);
    const batchSize = Math.min(16, n);
    // At least 30 epochs and 200 steps: a few images make one step an epoch.
    epochs ??= Math.max(30, Math.ceil(200 / Math.floor(n / batchSize)));
    const trainer = new ctx.core.Trainer(model, data, { optimizer: 'adam', learningRate, batchSize, epochs, seed });
    let steps = 0;
    try {
      let p = trainer.runSteps(0);
      while (!p.done) p = trainer.runSteps(64);
      steps = p.epochs * p.stepsPerEpoch;
      const weights = trainer.saveWeights();
      const evaluation = trainer.evaluate(data);
      model.loadWeights(weights);
      ctx.models.get(headKey)?.free?.();
      ctx.models.set(headKey, model);
      heads.set(headKey, { classNames: [...classNames], scale: idx.scale, dim });
      return { weights, accuracy: evaluation.accuracy, loss: evaluation.loss, ms: performance.now() - started, steps, scale: idx.scale, spec };
    } finally {
      trainer.free();
      data.free();
    }
  },

  async loadHead(ctx, { headKey, spec, weights, classNames, scale }) {
    await ctx.backends();
    const model = ctx.core.Model.fromSpec(spec);
    model.loadWeights(weights);
    const shape = model.spec().input.shape;
    const units = spec.layers?.[spec.layers.length - 1]?.config?.units;
    if (shape.length !== 3 || shape[0] !== 1 || shape[2] !== 1 || units !== classNames.length) {
      model.free();
      throw new Error(`the head takes input ${JSON.stringify(shape)} with ${units} outputs; a MobileNetV2 head takes [1, 1280, 1] with one output per class (${classNames.length})`);
    }
    ctx.models.get(headKey)?.free?.();
    ctx.models.set(headKey, model);
    heads.set(headKey, { classNames: [...classNames], scale: Number(scale) > 0 ? Number(scale) : 6, dim: shape[1] });
    return { headKey, classes: classNames.length, dim: shape[1] };
  },

  async classifyHead(ctx, { backboneKey, headKey, input, topK: k = 5, backend }) {
    const head = heads.get(headKey);
    const model = ctx.models.get(headKey);
    if (!head || !model) throw new Error('no head is trained yet: train one first');
    const started = performance.now();
    const embedded = await classify.embed(ctx, { key: backboneKey, input, backend });
    const embedding = vectorOf(embedded);
    if (embedding.length !== head.dim) throw new Error(`the backbone gives ${embedding.length} features, the head takes ${head.dim}`);
    const x = embedding.map((v) => Math.min(Math.max(v, 0), head.scale));
    const out = await model.predict({ shape: [1, 1, head.dim, 1], data: x }, { backend: 'cpu' });
    const ms = performance.now() - started;
    // The backbone is where the time goes: its backend is the one to report.
    return { top: topK(out.data, head.classNames, k), ms, backend: embedded?.backend ?? out.backend, probabilities: out.data };
  },
};
