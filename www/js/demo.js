// @ts-check
/**
 * The Figure 14-5 panel: convolves the input batch with the two filters whenever the images,
 * the filters, the stride, the padding or the backend change, and draws the feature maps.
 * Runs are "latest wins": edits made during a run are folded into one follow-up run.
 */
import * as store from './store.js';
import * as draw from './draw.js';
import { toTensor } from './filters.js';
import { batchTensor } from './images.js';

const FILTER_NAMES = ['filter 0', 'filter 1'];

/**
 * The last run, for the devtools console and the browser tests (`globalThis.convlabDemo`).
 * @type {{input: any, filters: any, options: any, result: any, runs: number, error: string | null}}
 */
export const last = { input: null, filters: null, options: null, result: null, runs: 0, error: null };
/** @type {any} */ (globalThis).convlabDemo = last;

/**
 * @param {HTMLElement} mapsEl
 * @param {HTMLElement} statusEl
 * @param {HTMLElement} thumbsEl
 */
export function mount(mapsEl, statusEl, thumbsEl) {
  let running = false;
  let pending = false;

  async function run() {
    if (running) {
      pending = true;
      return;
    }
    running = true;
    do {
      pending = false;
      await runOnce(mapsEl, statusEl);
    } while (pending);
    running = false;
  }

  store.subscribe((s, changed) => {
    if (changed.has('images')) drawInputs(thumbsEl, s.images);
    const relevant = ['images', 'filters', 'stride', 'padding', 'backend'];
    if (s.images.length && relevant.some((k) => changed.has(k))) run();
  });
}

/** @param {HTMLElement} el @param {import('./store.js').InputImage[]} images */
function drawInputs(el, images) {
  el.replaceChildren(...images.map((im, n) => {
    const fig = document.createElement('figure');
    const canvas = document.createElement('canvas');
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `input ${n}: ${im.name}`);
    draw.rgb(canvas, im);
    const cap = document.createElement('figcaption');
    cap.textContent = `${n}: ${im.name} (${im.width}x${im.height})`;
    fig.append(canvas, cap);
    return fig;
  }));
}

/** @param {HTMLElement} mapsEl @param {HTMLElement} statusEl */
async function runOnce(mapsEl, statusEl) {
  const s = store.get();
  const input = batchTensor(s.images);
  const filters = toTensor(s.filters, 3);
  const options = { strides: s.stride, padding: s.padding };
  statusEl.dataset.state = 'running';
  try {
    const result = await globalThis.convlab.conv2d(input, filters, options);
    Object.assign(last, { input, filters, options, result, error: null, runs: last.runs + 1 });
    drawMaps(mapsEl, result, s.images);
    const [n, h, w, c] = result.shape;
    statusEl.textContent =
      `conv2d [${input.shape}] * [${filters.shape}] -> [${n}, ${h}, ${w}, ${c}], stride ${s.stride}, ` +
      `"${s.padding}" padding: ${result.ms.toFixed(1)} ms on ${result.backend === 'webgpu' ? 'WebGPU' : 'the CPU (wasm SIMD128)'}`;
    statusEl.dataset.backend = result.backend;
    statusEl.dataset.ms = String(result.ms);
    statusEl.dataset.state = 'done';
  } catch (e) {
    const message = /** @type {Error} */ (e).message;
    Object.assign(last, { error: message, runs: last.runs + 1 });
    statusEl.textContent = `conv2d failed: ${message}`;
    statusEl.dataset.state = 'error';
  }
  statusEl.dataset.runs = String(last.runs);
  // A backend can drop out mid-run (a lost device): publish the new report so the header says so.
  const report = globalThis.convlab.backends();
  if (JSON.stringify(report) !== JSON.stringify(s.backend)) store.update({ backend: report });
}

/**
 * @param {HTMLElement} el
 * @param {{shape: number[], data: Float32Array}} result
 * @param {import('./store.js').InputImage[]} images
 */
function drawMaps(el, result, images) {
  const [n, h, w, c] = result.shape;
  const figures = [];
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < c; k++) {
      const fig = document.createElement('figure');
      const canvas = document.createElement('canvas');
      const { min, max } = draw.featureMap(canvas, result, i, k);
      const label = `${images[i]?.name ?? `image ${i}`}, ${FILTER_NAMES[k] ?? `filter ${k}`}`;
      canvas.setAttribute('role', 'img');
      canvas.setAttribute('aria-label', `feature map: ${label}`);
      const cap = document.createElement('figcaption');
      cap.textContent = `${label}: ${w}x${h}, values ${min.toFixed(2)} to ${max.toFixed(2)}`;
      fig.append(canvas, cap);
      figures.push(fig);
    }
  }
  el.style.setProperty('--columns', String(c));
  el.replaceChildren(...figures);
}
