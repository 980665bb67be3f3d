// @ts-check
/**
 * The "Look inside" view's calls for the inference worker (`infer.use('./inside-handlers.js')`;
 * see infer-worker.js for the protocol). The worker keeps the last pass of each model (every
 * layer's output) and hands the page only what it draws: per-layer statistics first, then one
 * page of feature maps or filters at a time as 8-bit greys, each scaled to its own range.
 *
 * - `insideRun {key, input, backend?}`: every layer's output through `model.inspect` (the time
 *   each layer took on the backend that ran it); returns `{backend, ms, layers: [{name,
 *   className, shape, ms, gpuMs?, min, max, mean, zeros, histogram: {lo, hi, counts}}]}`.
 * - `insideMaps {key, layer, start, count}`: channels `start..start+count` of that layer for
 *   image 0: `{h, w, channels, start, ranges: [[min, max]], pixels: Uint8Array}` (count * h * w
 *   greys). A vector (Dense, pooled) is one map, wrapped into a near-square grid.
 * - `insideFilters {key, layer, start, count}`: a convolution's filters (per output channel;
 *   RGB when it reads 3 channels, else one grey per input channel, up to MAX_INPUTS), each
 *   scaled to its own range: `{fh, fw, inputs, shownInputs, outputs, rgb, start, ranges,
 *   pixels}`.
 * - `insideCompare {key, input}`: the pass on WebGPU and on the CPU path, per layer the largest
 *   absolute difference and that divided by the layer's largest |value| on the CPU path;
 *   `{missing: reason}` when the worker has no WebGPU adapter.
 * - `insideGradCam {key, input, classIndex?, layer?}`: `model.gradCam` (CPU path).
 */

export const BINS = 40;
/** Input channels drawn per filter (a filter over 512 channels is not 512 pictures). */
export const MAX_INPUTS = 8;

/** @type {Map<string, {model: any, layers: any[]}>} */
const passes = new Map();
/** @type {WeakMap<object, Map<string, {shape: number[], data: Float32Array}>>} */
const weightCache = new WeakMap();

/** @param {any} ctx @param {string} key */
function model(ctx, key) {
  const m = ctx.models.get(key);
  if (!m) throw new Error(`no model is loaded under ${JSON.stringify(key)}: load it first`);
  return m;
}

/** @param {string} key @param {string} name @param {any} m */
function layerOf(key, name, m) {
  const pass = passes.get(key);
  if (!pass || pass.model !== m) throw new Error('run the model on an image first');
  const layer = pass.layers.find((l) => l.name === name);
  if (!layer) throw new Error(`the model has no layer ${JSON.stringify(name)}`);
  return layer;
}

/** Minimum, maximum, mean, share of zeros and a histogram. @param {Float32Array} d */
export function stats(d) {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < d.length; i++) {
    const v = d[i];
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
    if (v === 0) zeros++;
  }
  const counts = new Uint32Array(BINS);
  const span = max - min;
  for (let i = 0; i < d.length; i++) {
    const b = span > 0 ? Math.min(BINS - 1, Math.floor(((d[i] - min) / span) * BINS)) : 0;
    counts[b]++;
  }
  return { min, max, mean: d.length ? sum / d.length : 0, zeros: d.length ? zeros / d.length : 0, histogram: { lo: min, hi: max, counts } };
}

/** @param {any} input @param {string} op */
function checkInput(input, op) {
  if (!input || !Array.isArray(input.shape) || !(input.data instanceof Float32Array)) {
    throw new Error(`${op}: argument 'input': expected {shape, data: Float32Array}`);
  }
}

/** @param {number} v @param {number} lo @param {number} hi */
const grey = (v, lo, hi) => (hi > lo ? Math.round(((v - lo) / (hi - lo)) * 255) : 128);

/** @param {unknown} v @param {string} what @param {number} fallback */
function count(v, what, fallback) {
  if (v === undefined) return fallback;
  if (!Number.isInteger(v) || /** @type {number} */ (v) < 0) throw new Error(`argument '${what}': expected a whole number, got ${JSON.stringify(v)}`);
  return /** @type {number} */ (v);
}

/** The model's parameters by name (`layer/param`), read once from its safetensors. @param {any} m */
function weights(m) {
  let map = weightCache.get(m);
  if (map) return map;
  const bytes = m.saveWeights();
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  map = new Map();
  for (const [name, t] of Object.entries(header)) {
    if (name === '__metadata__' || t.dtype !== 'F32') continue;
    const [a, b] = t.data_offsets;
    const data = new Float32Array(bytes.slice(8 + n + a, 8 + n + b).buffer);
    map.set(name, { shape: t.shape, data });
  }
  weightCache.set(m, map);
  return map;
}

/** @type {Record<string, (ctx: any, args: any) => Promise<any>>} */
export const handlers = {
  async insideRun(ctx, { key, input, backend }) {
    const m = model(ctx, key);
    checkInput(input, 'insideRun');
    await ctx.backends();
    const out = await m.inspect(input, backend ? { backend } : undefined);
    passes.set(key, { model: m, layers: out.layers });
    return {
      backend: out.backend,
      ms: out.ms,
      layers: out.layers.map((/** @type {any} */ l) => ({
        name: l.name, className: l.className, shape: l.shape, ms: l.ms, gpuMs: l.gpuMs, ...stats(l.data),
      })),
    };
  },

  async insideMaps(ctx, { key, layer, start, count: n }) {
    const l = layerOf(key, layer, model(ctx, key));
    const shape = l.shape;
    let h;
    let w;
    let channels;
    if (shape.length === 4) [, h, w, channels] = shape;
    else {
      // A vector: one map, wrapped into a near-square grid (padding cells mid-grey).
      const len = shape.slice(1).reduce((/** @type {number} */ a, /** @type {number} */ b) => a * b, 1);
      w = Math.ceil(Math.sqrt(len));
      h = Math.ceil(len / w);
      channels = 1;
    }
    const first = Math.min(count(start, 'start', 0), channels);
    const last = Math.min(channels, first + count(n, 'count', channels));
    const pixels = new Uint8Array((last - first) * h * w);
    const ranges = [];
    for (let k = first; k < last; k++) {
      const s = (k - first) * h * w;
      if (shape.length === 4) {
        let lo = Infinity;
        let hi = -Infinity;
        for (let i = 0; i < h * w; i++) {
          const v = l.data[i * channels + k];
          if (v < lo) lo = v;
          if (v > hi) hi = v;
        }
        for (let i = 0; i < h * w; i++) pixels[s + i] = grey(l.data[i * channels + k], lo, hi);
        ranges.push([lo, hi]);
      } else {
        const len = shape.slice(1).reduce((/** @type {number} */ a, /** @type {number} */ b) => a * b, 1);
        const v = l.data.subarray(0, len);
        const { min: lo, max: hi } = stats(v);
        for (let i = 0; i < h * w; i++) pixels[s + i] = i < len ? grey(v[i], lo, hi) : 128;
        ranges.push([lo, hi]);
      }
    }
    return { h, w, channels, start: first, ranges, pixels, vector: shape.length !== 4 };
  },

  async insideFilters(ctx, { key, layer, start, count: n }) {
    const m = model(ctx, key);
    const l = layerOf(key, layer, m);
    const depthwise = l.className === 'DepthwiseConv2D' || l.className === 'SeparableConv2D';
    const k = weights(m).get(`${layer}/${depthwise ? 'depthwise_kernel' : 'kernel'}`);
    if (!k || k.shape.length !== 4 || !['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D'].includes(l.className)) {
      throw new Error(`layer ${JSON.stringify(layer)} (${l.className}) has no convolution filters`);
    }
    // Conv2D [fh, fw, in, out]; depthwise [fh, fw, in, multiplier]: output c*m + j reads input c.
    const [fh, fw, inputs, outs] = k.shape;
    const outputs = depthwise ? inputs * outs : outs;
    const rgb = !depthwise && inputs === 3;
    const shownInputs = depthwise ? 1 : rgb ? 1 : Math.min(inputs, MAX_INPUTS);
    const per = fh * fw * shownInputs * (rgb ? 3 : 1);
    const first = Math.min(count(start, 'start', 0), outputs);
    const last = Math.min(outputs, first + count(n, 'count', outputs));
    const pixels = new Uint8Array((last - first) * per);
    const ranges = [];
    /** @param {number} y @param {number} x @param {number} i @param {number} o */
    const at = (y, x, i, o) => k.data[((y * fw + x) * inputs + i) * outs + o];
    for (let o = first; o < last; o++) {
      /** @type {(y: number, x: number, i: number) => number} */
      const value = depthwise
        ? (y, x) => at(y, x, Math.floor(o / outs), o % outs)
        : (y, x, i) => at(y, x, i, o);
      const channelsRead = rgb ? 3 : shownInputs;
      let lo = Infinity;
      let hi = -Infinity;
      for (let i = 0; i < channelsRead; i++) {
        for (let y = 0; y < fh; y++) for (let x = 0; x < fw; x++) { const v = value(y, x, i); if (v < lo) lo = v; if (v > hi) hi = v; }
      }
      const s = (o - first) * per;
      let p = 0;
      if (rgb) {
        for (let y = 0; y < fh; y++) for (let x = 0; x < fw; x++) for (let c = 0; c < 3; c++) pixels[s + p++] = grey(value(y, x, c), lo, hi);
      } else {
        for (let i = 0; i < shownInputs; i++) for (let y = 0; y < fh; y++) for (let x = 0; x < fw; x++) pixels[s + p++] = grey(value(y, x, i), lo, hi);
      }
      ranges.push([lo, hi]);
    }
    return { fh, fw, inputs: depthwise ? 1 : inputs, shownInputs, outputs, rgb, depthwise, start: first, ranges, pixels };
  },

  async insideCompare(ctx, { key, input }) {
    const m = model(ctx, key);
    checkInput(input, 'insideCompare');
    await ctx.backends();
    const report = ctx.core.backends();
    if (!report.available.includes('webgpu')) {
      return { missing: `WebGPU is missing in this browser: ${report.webgpuProblem ?? 'no adapter'}; only the CPU path can run` };
    }
    const gpu = await m.inspect(input, { backend: 'webgpu' });
    const cpu = await m.inspect(input, { backend: 'cpu' });
    const layers = cpu.layers.map((/** @type {any} */ c, /** @type {number} */ i) => {
      const g = gpu.layers[i];
      let maxAbs = 0;
      let scale = 0;
      for (let j = 0; j < c.data.length; j++) {
        const d = Math.abs(c.data[j] - g.data[j]);
        if (d > maxAbs || Number.isNaN(d)) maxAbs = Number.isNaN(d) ? Infinity : d;
        const a = Math.abs(c.data[j]);
        if (a > scale) scale = a;
      }
      return { name: c.name, className: c.className, maxAbs, maxRel: scale > 0 ? maxAbs / scale : maxAbs, scale, cpuMs: c.ms, gpuMs: g.ms, gpuKernelMs: g.gpuMs };
    });
    return { adapter: report.adapter?.name ?? null, software: !!report.adapter?.software, cpuMs: cpu.ms, gpuMs: gpu.ms, layers };
  },

  async insideGradCam(ctx, { key, input, classIndex, layer }) {
    const m = model(ctx, key);
    checkInput(input, 'insideGradCam');
    await ctx.backends();
    const options = {};
    if (classIndex !== undefined && classIndex !== null) Object.assign(options, { classIndex });
    if (layer) Object.assign(options, { layer });
    return m.gradCam(input, options);
  },
};
