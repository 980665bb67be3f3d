// @ts-check
/**
 * The augmentation preview: a few training samples as they are and as the training would see
 * them with the current settings and seed (convlab.data.preview, in the page's core: eight
 * small images, no convolution). It refreshes, while open, when the settings or the data
 * change, never while a model trains (the page runs no kernel then). The samples are spread
 * over the data set (the user's images come class by class), each with its own seed.
 */
import api from './core.js';

/** Samples shown. */
const COUNT = 8;

/**
 * Draws one NHWC image of floats in [0, 1] into a new canvas.
 * @param {Float32Array} data @param {number[]} shape [n, h, w, c] @param {number} index
 */
function imageCanvas(data, shape, index) {
  const [, h, w, c] = shape;
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  const out = ctx.createImageData(w, h);
  const base = index * h * w * c;
  for (let p = 0; p < h * w; p++) {
    for (let k = 0; k < 3; k++) out.data[4 * p + k] = Math.round(255 * data[base + p * c + (c === 3 ? k : 0)]);
    out.data[4 * p + 3] = 255;
  }
  ctx.putImageData(out, 0, 0);
  return canvas;
}

export class AugmentPreview {
  /**
   * @param {HTMLDetailsElement} box @param {HTMLElement} strip @param {HTMLElement} note
   * @param {() => Promise<any>} source the training set to sample (may throw a message)
   */
  constructor(box, strip, note, source) {
    this.box = box;
    this.strip = strip;
    this.note = note;
    this.source = source;
    this.blocked = false;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.timer = undefined;
    this.generation = 0;
    /** @type {{augment: object, seed: number} | null} */
    this.wanted = null;
    box.addEventListener('toggle', () => this.schedule());
  }

  /** While a model trains, nothing refreshes. @param {boolean} training */
  setTraining(training) {
    this.blocked = training;
    if (!training) this.schedule();
  }

  /** Refreshes soon with these settings. @param {object} augment @param {number} seed */
  update(augment, seed) {
    this.wanted = { augment, seed };
    this.schedule();
  }

  schedule() {
    clearTimeout(this.timer);
    if (!this.box.open || this.blocked || !this.wanted) return;
    this.timer = setTimeout(() => this.refresh(), 120);
  }

  async refresh() {
    if (!this.wanted || this.blocked) return;
    const { augment, seed } = this.wanted;
    const generation = ++this.generation;
    try {
      const data = await this.source();
      const n = data.length;
      const starts = Array.from({ length: Math.min(COUNT, n) }, (_, i) => Math.floor(i * n / Math.min(COUNT, n)));
      const plain = [];
      const augmented = [];
      for (const [i, start] of starts.entries()) {
        const s = (seed + i) >>> 0;
        plain.push(await api.data.preview(data, { start, count: 1, seed: s }));
        augmented.push(await api.data.preview(data, { start, count: 1, seed: s, augment }));
      }
      if (generation !== this.generation) return;
      const row = (/** @type {any[]} */ results, /** @type {string} */ label) => {
        const div = document.createElement('div');
        div.className = 'preview-row';
        div.setAttribute('aria-label', label);
        div.append(...results.map((r) => imageCanvas(r.data, r.shape, 0)));
        return div;
      };
      this.strip.replaceChildren(row(plain, 'as they are'), row(augmented, 'augmented'));
      this.note.textContent = '';
      this.strip.dataset.version = String(Number(this.strip.dataset.version ?? 0) + 1);
    } catch (e) {
      if (generation !== this.generation) return;
      this.strip.replaceChildren();
      this.note.textContent = `No preview: ${/** @type {Error} */ (e).message}`;
    }
  }
}
