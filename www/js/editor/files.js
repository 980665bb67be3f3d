// @ts-check
/**
 * The editor's way out and in: the share link (model + the training panel's settings), the
 * JSON spec and Keras code as downloads or on the clipboard, and imports of a JSON spec or a
 * Keras `model.to_json()` from a file or pasted text, with what is wrong named.
 */
import { parseHash, validate, encode } from '../train-settings.js';
import { readForm } from '../train-form.js';

/**
 * Starts a download of `text` as `filename`.
 * @param {string} filename @param {string} text @param {string} type
 */
export function download(filename, text, type) {
  const url = URL.createObjectURL(new Blob([text], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.hidden = true;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Puts `text` on the clipboard; resolves false when the browser refuses. @param {string} text */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** A file name from a model name. @param {string} name */
export function fileBase(name) {
  return (name || 'model').replace(/[^\w.-]+/g, '_').slice(0, 80) || 'model';
}

/**
 * The `train=` part for a link: the training panel's current settings when its form is on the
 * page and valid, else the one the address already has, else none.
 * @returns {string | null}
 */
export function trainPart() {
  if (document.getElementById('tp-form') && document.getElementById('tp-lr')) {
    try {
      const settings = readForm();
      if (!validate(settings, settings).problems.length) return encode(settings);
    } catch { /* the panel is not ready: use the address's */ }
  }
  return parseHash(location.hash).train;
}

/**
 * The share hash of a model: `#model=1.<...>` plus `&train=<...>` when there are settings.
 * @param {{toUrl(): string}} model
 */
export function shareHash(model) {
  const train = trainPart();
  return `${model.toUrl()}${train ? `&train=${train}` : ''}`;
}

/**
 * Reads an import: a convlab spec (`format: "convlab-model"`), a Keras model.to_json(), or
 * Keras Python code that builds a model (anything not starting with '{').
 * Returns the spec (as the core gives it back) and what it was; throws an Error naming what is
 * wrong, prefixed with `source`.
 * @param {import('../types').Convlab} api @param {string} text @param {string} source
 * @returns {{spec: import('../types').ModelSpec, kind: 'spec' | 'keras' | 'keras-code'}}
 */
export function readImport(api, text, source) {
  if (text.length > 4 << 20) throw new Error(`${source}: ${text.length} characters is over the 4 MiB a spec may have`);
  // JSON starts with '{'; anything else is read as Keras Python code.
  if (!text.trimStart().startsWith('{')) {
    let model;
    try {
      model = api.Model.fromKerasCode(text);
    } catch (e) {
      throw new Error(`${source}: ${/** @type {Error} */ (e).message}`);
    }
    try {
      return { spec: model.spec(), kind: 'keras-code' };
    } finally {
      model.free();
    }
  }
  let value;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`${source}: not JSON (${/** @type {Error} */ (e).message})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`${source}: expected a JSON object (a convlab spec or a Keras model.to_json())`);
  const keras = value.format === undefined && (value.class_name !== undefined || value.config !== undefined);
  let model;
  try {
    model = keras ? api.Model.fromKerasJson(text) : api.Model.fromSpec(text);
  } catch (e) {
    throw new Error(`${source}: ${/** @type {Error} */ (e).message}`);
  }
  try {
    return { spec: model.spec(), kind: keras ? 'keras' : 'spec' };
  } finally {
    model.free();
  }
}
