// @ts-check
/**
 * The page's state in one place. Panels read it, change it with `update`, and hear about
 * changes through `subscribe`; they never call each other.
 *
 * @typedef {{name: string, width: number, height: number, pixels: Float32Array, url: string}} InputImage
 *   An RGB image scaled to [0, 1], NHWC without the batch axis.
 * @typedef {{
 *   images: InputImage[],
 *   samples: boolean,
 *   filters: number[][],
 *   editing: number,
 *   stride: number,
 *   padding: 'same' | 'valid',
 *   backend: import('./types').BackendsReport | null,
 *   model: CurrentModel | null,
 * }} State
 * @typedef {{
 *   spec: import('./types').ModelSpec,
 *   name: string,
 *   weights: Uint8Array | null,
 *   classNames: string[] | null,
 *   origin: 'zoo' | 'editor' | 'link' | 'trained' | 'pretrained' | 'file',
 *   data?: string | null,
 *   detail?: string,
 * }} CurrentModel
 *   The model the views share: the editor publishes its spec, training publishes weights, and
 *   Classify / Look inside use both. `weights` are a safetensors file (null: initial weights);
 *   `data` names the data set it was trained on ('fashion_mnist', 'mnist', 'images', 'idx'),
 *   `detail` says where it comes from ("just trained", "kept in this browser, epoch 3").
 */

/** @type {State} */
const state = {
  images: [],
  samples: true,
  filters: [[], []],
  editing: 0,
  stride: 1,
  padding: 'same',
  backend: null,
  model: null,
};

/** @type {Set<(s: State, changed: Set<string>) => void>} */
const listeners = new Set();

/** @returns {Readonly<State>} */
export function get() {
  return state;
}

/**
 * Changes some fields and tells every listener which ones changed.
 * @param {Partial<State>} patch
 */
export function update(patch) {
  Object.assign(state, patch);
  const changed = new Set(Object.keys(patch));
  for (const listener of listeners) listener(state, changed);
}

/** @param {(s: State, changed: Set<string>) => void} listener */
export function subscribe(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}
