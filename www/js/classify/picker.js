// @ts-check
/**
 * The model picker: MobileNetV2 (pretrained), the user's trained model when there is one, the
 * transfer-learning head once trained, a head opened from a link beside it, and a weights file. A choice is loaded into the worker
 * when first needed and kept until what it stands for changes (new weights, a new head).
 */
import { el, say, messageOf } from './dom.js';
import * as models from './models.js';

/** @typedef {import('./models.js').Classifier} Classifier */

export class ModelPicker {
  /**
   * @param {HTMLElement} host
   * @param {{onChange: () => void, onHeadFile: (file: Awaited<ReturnType<typeof models.readWeightsFile>>, name: string) => Promise<void>}} hooks
   */
  constructor(host, hooks) {
    this.hooks = hooks;
    this.select = el('select', { id: 'cl-model' }, [
      el('option', { value: 'mobilenet' }, ['MobileNetV2, pretrained on ImageNet (1,000 classes)']),
      el('option', { value: 'trained', disabled: true, hidden: true }, ['Your trained model']),
      el('option', { value: 'transfer', disabled: true, hidden: true }, ['Your own classes (MobileNetV2 + a trained head)']),
      el('option', { value: 'linked', disabled: true, hidden: true }, ['The linked head (MobileNetV2 + a head from a link)']),
      el('option', { value: 'file', disabled: true, hidden: true }, ['A weights file']),
    ]);
    this.fileInput = el('input', { type: 'file', id: 'cl-weights', accept: '.safetensors,application/octet-stream' });
    this.note = el('p', { id: 'cl-model-note', className: 'note', role: 'status' });
    host.append(
      el('div', { className: 'cl-model-row' }, [
        el('label', { for: 'cl-model' }, ['Model ']), this.select,
        el('label', { className: 'file-button' }, ['Load a weights file (.safetensors)', this.fileInput]),
      ]),
      this.note,
    );
    /** @type {Map<string, Promise<Classifier>>} */
    this.loaded = new Map();
    /** @type {Map<string, () => Promise<Classifier>>} */
    this.loaders = new Map([['mobilenet', () => models.pretrained()]]);
    /** @type {Uint8Array | null} */
    this.trainedWeights = null;
    this.select.addEventListener('change', () => this.changed());
    this.fileInput.addEventListener('change', () => {
      const file = this.fileInput.files?.[0];
      this.fileInput.value = '';
      if (file) this.loadFile(file);
    });
  }

  /** @param {string} value */
  option(value) {
    return /** @type {HTMLOptionElement} */ (this.select.querySelector(`option[value="${value}"]`));
  }

  /**
   * Offers a choice (or withdraws it, with a null loader).
   * @param {string} value @param {string} text @param {(() => Promise<Classifier>) | null} loader
   */
  offer(value, text, loader) {
    const option = this.option(value);
    this.loaded.delete(value);
    if (loader) this.loaders.set(value, loader);
    else this.loaders.delete(value);
    option.textContent = text;
    option.disabled = !loader;
    option.hidden = !loader;
    if (!loader && this.select.value === value) this.select.value = 'mobilenet';
  }

  /** @param {string} value */
  choose(value) {
    this.select.value = value;
    this.changed();
  }

  changed() {
    this.hooks.onChange();
    const value = this.select.value;
    this.current().then((m) => { if (this.select.value === value) say(this.note, m.note); }, () => { /* said in the note */ });
  }

  /** Looks for the user's trained model again (the store, IndexedDB). */
  async refreshTrained() {
    const t = await models.trainedModel();
    if (t?.weights === this.trainedWeights && t) return;
    this.trainedWeights = t?.weights ?? null;
    if (!t) { this.offer('trained', 'Your trained model', null); return; }
    const label = `Your trained model: ${t.name} (${t.where})`;
    this.offer('trained', label, () => models.loadWithWeights('classify:trained', t.spec, t.weights, t.classNames, t.data, `your trained model (${t.name})`));
    if (this.select.value === 'trained') this.hooks.onChange();
  }

  /** The chosen model, loaded. @returns {Promise<Classifier>} */
  current() {
    const value = this.select.value;
    const had = this.loaded.has(value);
    const p = this.load(value);
    if (!had) {
      say(this.note, value === 'mobilenet' ? 'Loading MobileNetV2 and its ImageNet weights (14 MB) into the worker...' : 'Loading the model into the worker...');
      p.then((m) => { if (this.select.value === value) say(this.note, m.note); }, (e) => {
        if (this.select.value === value) say(this.note, this.problem(value, e), true);
      });
    }
    return p;
  }

  /**
   * Choice `value`, loaded once (a failed load is tried again next time). Its `run` reloads it
   * and tries once more when the worker has lost it (a worker that failed starts afresh).
   * @param {string} value @returns {Promise<Classifier>}
   */
  load(value) {
    let p = this.loaded.get(value);
    if (p) return p;
    const loader = this.loaders.get(value);
    if (!loader) return Promise.reject(new Error('no model is chosen'));
    p = loader().then((m) => ({
      ...m,
      run: (input) => m.run(input).catch(async (e) => {
        if (!/no model is loaded under|no head is trained|the inference worker has no/.test(messageOf(e))) throw e;
        this.loaded.delete(value);
        if (value === 'mobilenet' || value === 'transfer') models.forgetPretrained();
        const again = await this.load(value);
        return again.run(input);
      }),
    }));
    this.loaded.set(value, p);
    p.catch(() => { if (this.loaded.get(value) === p) this.loaded.delete(value); });
    return p;
  }

  /** A model for the drawing pad: the chosen one if it takes 28x28x1, else the trained one if it does. */
  async padModel() {
    const fits = (/** @type {Classifier} */ m) => m.inputShape[0] === 28 && m.inputShape[1] === 28 && m.inputShape[2] === 1;
    for (const value of new Set([this.select.value, 'trained', 'file'])) {
      if (value === 'mobilenet' || value === 'transfer' || !this.loaders.has(value)) continue;
      const m = await this.load(value).catch(() => null);
      if (m && fits(m)) return m;
    }
    return null;
  }

  /** @param {string} value @param {unknown} e */
  problem(value, e) {
    const text = messageOf(e);
    if (value === 'mobilenet') {
      return /missing|HTTP 404|could not be fetched/i.test(text)
        ? `MobileNetV2's pretrained weights are not on this site, so it cannot classify: ${text.replace(/^pretrained: /, '')}. Pick another model meanwhile.`
        : `MobileNetV2 could not be loaded: ${text}`;
    }
    return `The model could not be loaded: ${text}`;
  }

  /** Loads a weights file: a model (its spec in the metadata) or a transfer head. @param {File} file */
  async loadFile(file) {
    say(this.note, `Reading ${file.name}...`);
    try {
      const read = await models.readWeightsFile(file);
      if (read.kind === 'head') { await this.hooks.onHeadFile(read, file.name); return; }
      const load = () => models.loadWithWeights('classify:file', read.spec, read.bytes, read.classNames, read.data, `${file.name} (${read.spec.name ?? 'a model'})`);
      /** @type {Classifier | null} loaded once here, to refuse a bad file at once; again if the worker loses it */
      let first = await load();
      this.offer('file', `Weights file: ${file.name}`, async () => {
        const m = first ?? await load();
        first = null;
        return m;
      });
      this.choose('file');
    } catch (e) {
      say(this.note, `${file.name} could not be used: ${messageOf(e).replace(`${file.name}: `, '')}`, true);
    }
  }
}
