// @ts-check
/**
 * The "Look inside" view: pick a model (the current one, a zoo model with its initial weights)
 * and an image (a sample photo, your file, a Fashion-MNIST test image); every layer's output
 * and time come from the inference worker (inside-handlers.js), and the selected layer's
 * feature maps, histogram and filters are drawn a page at a time. "Check backends" and Grad-CAM
 * are in extras.js. `mount(host)` is called once by main.js.
 */
import * as infer from '../infer.js';
import * as store from '../store.js';
import { HTML } from './markup.js';
import { PHOTOS, FASHION_CLASSES, photo, upload, fashionImage, toInput } from './source.js';
import { createDetail } from './detail.js';
import { wireCompare, wireGradCam } from './extras.js';
import { inputPicture, fmt } from './draw.js';
import { prepare, IMAGENET_MEAN, IMAGENET_STD } from '../preprocess.js';

const KEY = 'inside';
/** Zoo models whose full-size pass takes long on the CPU path. */
const LARGE = new Set(['alexnet', 'googlenet', 'vgg16', 'resnet34', 'resnet152', 'xception', 'se_resnet50']);

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * The last pass, for the browser tests and the devtools console (`globalThis.convlabInside`).
 * @type {{runs: number, layers: any[], backend: string | null, error: string | null, model: string | null, input: {shape: number[], data: Float32Array} | null, cam: any}}
 */
export const last = { runs: 0, layers: [], backend: null, error: null, model: null, input: null, cam: null };

/**
 * MobileNetV2's input (torchvision's resize, centre crop and normalisation, preprocess.js) and
 * the same pixels in [0, 1] for drawing.
 * @param {import('./source.js').Picture} pic @param {number[]} shape
 * @returns {[{shape: number[], data: Float32Array}, {shape: number[], data: Float32Array}]}
 */
function imagenetInput(pic, shape) {
  const { input } = prepare(new ImageData(pic.rgba, pic.width, pic.height), 'imagenet', shape);
  const display = Float32Array.from(input.data, (v, i) => v * IMAGENET_STD[i % 3] + IMAGENET_MEAN[i % 3]);
  return [input, { shape: input.shape, data: display }];
}

/** @param {HTMLElement} host */
export async function mount(host) {
  host.insertAdjacentHTML('beforeend', HTML);
  /** @type {any} */ (globalThis).convlabInside = last;
  const modelSel = /** @type {HTMLSelectElement} */ ($('inside-model'));
  const imageSel = /** @type {HTMLSelectElement} */ ($('inside-image'));
  const fashionIndex = /** @type {HTMLInputElement} */ ($('inside-fashion-index'));
  const fileInput = /** @type {HTMLInputElement} */ ($('inside-file'));
  const backendSel = /** @type {HTMLSelectElement} */ ($('inside-backend'));
  const status = $('inside-status');
  const errorEl = $('inside-error');
  const detail = createDetail();

  /** @type {import('./source.js').Picture | null} */
  let uploaded = null;
  /** @type {{choice: string, model: object | null, inputShape: number[], classNames: string[] | null, recipe: string | null} | null} */
  let loaded = null;
  /** @type {{key: string, input: {shape: number[], data: Float32Array}, display: {shape: number[], data: Float32Array}, classNames: string[] | null} | null} */
  let current = null;

  /** @param {string | null} message */
  const showError = (message) => {
    errorEl.hidden = !message;
    errorEl.textContent = message ?? '';
    last.error = message;
  };

  const api = globalThis.convlab;
  await api.ready;
  await infer.use('./inside-handlers.js');

  function fillModels() {
    const keep = modelSel.value;
    const m = store.get().model;
    const options = [];
    if (m) options.push(new Option(`the current model: ${m.name} (${m.origin}${m.weights ? '' : ', initial weights'})`, 'current'));
    options.push(new Option('MobileNetV2, pretrained on ImageNet (fetched on first use, 14 MB)', 'pretrained:mobilenet_v2'));
    for (const name of api.zoo.names()) {
      options.push(new Option(`zoo: ${name} (initial weights${LARGE.has(name) ? '; large, slow on the CPU path' : ''})`, `zoo:${name}`));
    }
    modelSel.replaceChildren(...options);
    modelSel.value = [...modelSel.options].some((o) => o.value === keep) ? keep : (m ? 'current' : 'zoo:lenet5_modern');
  }

  /** The chosen model, loaded into the worker once per choice. */
  async function ensureModel() {
    const choice = modelSel.value;
    const m = store.get().model;
    const ref = choice === 'current' ? m : null;
    if (loaded && loaded.choice === choice && loaded.model === ref) return;
    if (choice.startsWith('pretrained:')) {
      status.textContent = 'Fetching the pretrained weights in the worker...';
      await infer.use('./classify-handlers.js');
      loaded = null;
      const r = await infer.call('loadPretrained', { key: KEY, name: choice.slice(11) });
      loaded = { choice, model: null, inputShape: r.inputShape, classNames: r.classNames, recipe: r.recipe };
      return;
    }
    let spec;
    let weights = null;
    if (choice === 'current') {
      if (!m) throw new Error('there is no current model: build or train one first, or pick a zoo model');
      spec = m.spec;
      weights = m.weights;
    } else {
      spec = api.zoo.spec(choice.slice(4));
    }
    loaded = null;
    await infer.call('load', { key: KEY, spec, weights: weights ? weights.slice() : undefined });
    loaded = { choice, model: ref, inputShape: spec.input.shape, classNames: choice === 'current' ? m?.classNames ?? null : null, recipe: null };
  }

  /** The chosen image. */
  async function picture() {
    const v = imageSel.value;
    if (v.startsWith('photo:')) {
      const p = PHOTOS[Number(v.slice(6))];
      return photo(p.url, p.name);
    }
    if (v === 'fashion') return fashionImage(Number(fashionIndex.value));
    if (!uploaded) throw new Error('choose an image file first');
    return uploaded;
  }

  /** @param {any[]} layers @param {string} backend */
  function fillLayers(layers, backend) {
    const body = /** @type {HTMLTableElement} */ ($('inside-layer-table')).tBodies[0];
    const rows = layers.map((l, i) => {
      const tr = document.createElement('tr');
      const name = document.createElement('button');
      name.type = 'button';
      name.className = 'layer-pick';
      name.textContent = l.name;
      name.dataset.layer = String(i);
      name.setAttribute('aria-pressed', 'false');
      const th = document.createElement('th');
      th.scope = 'row';
      th.append(name);
      const td = (/** @type {string} */ t) => { const c = document.createElement('td'); c.textContent = t; return c; };
      const time = l.gpuMs !== undefined ? `${fmt(l.ms)} (GPU ${fmt(l.gpuMs)})` : fmt(l.ms);
      tr.append(th, td(l.className), td(`[${l.shape.slice(1).join(', ')}]`), td(time), td(backend === 'webgpu' ? 'WebGPU' : 'CPU'));
      return tr;
    });
    body.replaceChildren(...rows);
  }

  let shownLayer = '';
  /** @param {number} i */
  function select(i) {
    const layers = last.layers;
    if (!current || !layers[i]) return;
    shownLayer = layers[i].name;
    for (const b of document.querySelectorAll('#inside-layer-table .layer-pick')) {
      b.setAttribute('aria-pressed', String(/** @type {HTMLElement} */ (b).dataset.layer === String(i)));
    }
    detail.show(current.key, layers[i]).catch((e) => showError(e.message));
  }

  $('inside-layer-table').addEventListener('click', (e) => {
    const b = /** @type {HTMLElement} */ (e.target).closest('.layer-pick');
    if (b instanceof HTMLElement) select(Number(b.dataset.layer));
  });

  const gradcam = wireGradCam(() => current, (r) => { last.cam = r; });
  wireCompare(() => current);

  async function runOnce() {
    showError(null);
    status.dataset.state = 'running';
    status.textContent = 'Running the model in the worker...';
    try {
      await ensureModel();
      const pic = await picture();
      const { inputShape: shape, recipe } = /** @type {NonNullable<typeof loaded>} */ (loaded);
      const [input, display] = recipe === 'imagenet' ? imagenetInput(pic, shape) : [toInput(pic, shape), null];
      const backend = backendSel.value === 'auto' ? undefined : backendSel.value;
      const r = await infer.call('insideRun', { key: KEY, input, backend });
      const names = loaded?.classNames ?? (shape[0] === 28 && shape[2] === 1 && r.layers.at(-1).shape[1] === 10 ? FASHION_CLASSES : null);
      current = { key: KEY, input, display: display ?? input, classNames: names };
      Object.assign(last, { runs: last.runs + 1, layers: r.layers, backend: r.backend, model: modelSel.value, input });
      const canvas = /** @type {HTMLCanvasElement} */ ($('inside-input'));
      inputPicture(canvas, current.display);
      $('inside-input-cap').textContent = `${pic.name} as the model sees it: ${shape[1]}x${shape[0]}x${shape[2]}${recipe ? ` (${recipe} preprocessing; drawn before its normalisation)` : ''}`;
      fillLayers(r.layers, r.backend);
      const sum = r.layers.reduce((/** @type {number} */ a, /** @type {any} */ l) => a + l.ms, 0);
      $('inside-timing').textContent = `${r.layers.length - 1} layers on ${r.backend === 'webgpu' ? 'WebGPU (each layer submitted and read back before the next; GPU time from timestamp queries where the adapter has them; a first pass includes compiling each kernel)' : 'the CPU path'}: ${fmt(sum)} ms in the layers, ${fmt(r.ms)} ms in all.`;
      gradcam.reset(r.layers, names);
      // The layer shown before, when the new pass has it; else the first convolution.
      const kept = r.layers.findIndex((/** @type {any} */ l) => l.name === shownLayer);
      const firstConv = r.layers.findIndex((/** @type {any} */ l) => l.className === 'Conv2D' || l.className === 'DepthwiseConv2D');
      select(kept > 0 ? kept : firstConv > 0 ? firstConv : Math.min(1, r.layers.length - 1));
      status.textContent = `Ran ${modelSel.selectedOptions[0]?.textContent ?? ''} on ${pic.name}.`;
      status.dataset.state = 'done';
    } catch (e) {
      status.dataset.state = 'error';
      status.textContent = 'Not run: see the message below.';
      showError(/** @type {Error} */ (e).message);
    }
    status.dataset.runs = String(Number(status.dataset.runs ?? 0) + 1);
  }

  const run = infer.latest(runOnce);
  const rerun = () => { run(undefined).catch(() => {}); };

  modelSel.addEventListener('change', rerun);
  backendSel.addEventListener('change', rerun);
  imageSel.addEventListener('change', () => {
    $('inside-fashion-wrap').hidden = imageSel.value !== 'fashion';
    rerun();
  });
  fashionIndex.addEventListener('change', rerun);
  fileInput.addEventListener('change', async () => {
    const file = fileInput.files?.[0];
    if (!file) return;
    try {
      uploaded = await upload(file);
      const opt = /** @type {HTMLOptionElement} */ (imageSel.querySelector('option[value="upload"]'));
      opt.disabled = false;
      opt.textContent = `your image: ${uploaded.name}`;
      imageSel.value = 'upload';
      $('inside-fashion-wrap').hidden = true;
      rerun();
    } catch (e) {
      showError(/** @type {Error} */ (e).message);
    }
  });
  store.subscribe((s, changed) => {
    if (!changed.has('model')) return;
    fillModels();
    if (modelSel.value === 'current') rerun();
  });
  fillModels();
  rerun();
}
