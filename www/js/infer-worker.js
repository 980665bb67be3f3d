// @ts-check
/**
 * The inference worker: its own instance of the core runs every model the views show (classify,
 * look inside), so the page never computes a kernel and never freezes, however big the model.
 *
 * Protocol (www/js/infer.js is the client): in `{id, type, args}`, out `{id, ok: true, result}`
 * or `{id, ok: false, error}` (the core's message). Built-in types:
 * - `init` `{webgpu?: boolean}`: opens the backends once (WebGPU where the browser has it),
 *   returns the backends report;
 * - `load` `{key, spec, weights?}`: builds a Model (weights: safetensors bytes) under `key`,
 *   returns `{key, layers: string[], inputShape: number[]}`;
 * - `predict` `{key, input: {shape, data}, backend?}`: the model's output (OpResult);
 * - `featureMaps` `{key, input, layers?, backend?}`: each named layer's output;
 * - `dispose` `{key}`; `use` `{url}`: imports a handler module (see below).
 *
 * Handler modules extend the worker without editing it: a module (URL relative to this file or
 * absolute, same origin) exports `handlers`, an object of `async (ctx, args) => result`, where
 * `ctx` is `{core, models, backends}`; `models` maps keys to loaded `Model`s.
 * Float32Array / Uint8Array results are transferred, not copied.
 */

/** @type {Promise<any>} */
const ready = (async () => {
  const core = await import(new URL('../convlab.js', import.meta.url).href);
  await core.default({ module_or_path: new URL('../convlab_bg.wasm', import.meta.url) });
  return core;
})();

/** @type {Map<string, any>} */
const models = new Map();
/** @type {Promise<any> | null} */
let opened = null;

/** @param {any} core @param {boolean} webgpu */
function backends(core, webgpu = true) {
  opened ??= core.initBackends({ webgpu });
  return opened;
}

/** @param {string} key */
function model(key) {
  const m = models.get(key);
  if (!m) throw new Error(`no model is loaded under ${JSON.stringify(key)}: load it first`);
  return m;
}

/** @type {Record<string, (ctx: any, args: any) => Promise<any> | any>} */
const handlers = {
  async init(ctx, args) {
    await backends(ctx.core, args?.webgpu !== false);
    return ctx.core.backends();
  },
  async load(ctx, { key, spec, weights }) {
    await backends(ctx.core);
    const m = ctx.core.Model.fromSpec(spec);
    if (weights) m.loadWeights(weights);
    models.get(key)?.free?.();
    models.set(key, m);
    return { key, layers: m.layerNames(), inputShape: m.spec().input.shape };
  },
  async predict(ctx, { key, input, backend }) {
    await backends(ctx.core);
    return model(key).predict(input, backend ? { backend } : undefined);
  },
  async featureMaps(ctx, { key, input, layers, backend }) {
    await backends(ctx.core);
    const options = {};
    if (layers) Object.assign(options, { layers });
    if (backend) Object.assign(options, { backend });
    return model(key).featureMaps(input, options);
  },
  dispose(ctx, { key }) {
    models.get(key)?.free?.();
    models.delete(key);
    return true;
  },
  async use(ctx, { url }) {
    const mod = await import(new URL(url, import.meta.url).href);
    if (!mod.handlers || typeof mod.handlers !== 'object') throw new Error(`${url} exports no handlers`);
    Object.assign(handlers, mod.handlers);
    return Object.keys(mod.handlers);
  },
};

/** Buffers to transfer out of a result (typed arrays up to three levels down). @param {any} result */
function transferables(result) {
  /** @type {Transferable[]} */
  const out = [];
  const seen = new Set();
  /** @param {any} v @param {number} depth */
  const walk = (v, depth) => {
    if (!v || typeof v !== 'object' || depth > 3) return;
    if (ArrayBuffer.isView(v)) {
      if (!seen.has(v.buffer) && v.byteOffset === 0 && v.byteLength === v.buffer.byteLength) {
        seen.add(v.buffer);
        out.push(/** @type {ArrayBuffer} */ (v.buffer));
      }
      return;
    }
    for (const k of Object.keys(v)) walk(v[k], depth + 1);
  };
  walk(result, 0);
  return out;
}

/** Calls run one at a time, in order (a model is not re-entrant). */
let queue = Promise.resolve();

self.onmessage = (/** @type {MessageEvent} */ e) => {
  const { id, type, args } = e.data ?? {};
  queue = queue.then(async () => {
    try {
      const core = await ready;
      const handler = handlers[type];
      if (!handler) throw new Error(`the inference worker has no ${JSON.stringify(type)} call`);
      const result = await handler({ core, models, backends: (/** @type {boolean} */ w) => backends(core, w) }, args ?? {});
      self.postMessage({ id, ok: true, result }, { transfer: transferables(result) });
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      self.postMessage({ id, ok: false, error });
    }
  });
};
