// @ts-check
/**
 * Boots the page: checks the browser, wires the panels to the store, loads the sample photos
 * and shows which backend runs and why.
 */
import api, { missingFeatures } from './core.js';
import * as store from './store.js';
import * as filters from './filters.js';
import * as images from './images.js';
import * as demo from './demo.js';
import * as trainPanel from './train-panel.js';
import * as views from './views.js';

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @param {string} message */
function fatal(message) {
  const el = $('fatal');
  el.textContent = message;
  el.hidden = false;
  $('run-status').textContent = 'not running: see the message above';
}

/** @param {import('./types').BackendsReport} report @param {string | null} note */
function showBackend(report, note) {
  const select = /** @type {HTMLSelectElement} */ ($('backend-choice'));
  select.value = report.choice;
  const gpuOption = /** @type {HTMLOptionElement} */ (select.querySelector('option[value="webgpu"]'));
  gpuOption.disabled = !report.available.includes('webgpu');
  gpuOption.textContent = gpuOption.disabled ? 'WebGPU (unavailable)' : 'WebGPU';
  const name = report.active === 'webgpu' ? 'WebGPU' : 'CPU (wasm SIMD128)';
  const status = $('backend-status');
  const slow = report.active === 'webgpu' && report.adapter?.software
    ? ' (a software adapter: expect it to be much slower than the CPU path)' : '';
  status.textContent = `${name}: ${report.reason}${slow}${note ? `. ${note}` : ''}`;
  status.dataset.active = report.active;
  status.title = report.webgpuProblem ? `WebGPU: ${report.webgpuProblem}` : `adapter: ${report.adapter?.name ?? 'none'}`;
}

function wireInputs() {
  const note = $('input-note');
  const reset = $('reset-images');
  /** @param {File | null | undefined} file */
  const take = async (file) => {
    if (!file) return;
    try {
      note.textContent = await images.loadFile(file);
      note.classList.remove('error');
      reset.hidden = false;
    } catch (e) {
      note.textContent = /** @type {Error} */ (e).message;
      note.classList.add('error');
    }
  };
  const input = /** @type {HTMLInputElement} */ ($('file-input'));
  input.addEventListener('change', () => take(input.files?.[0]));
  const zone = $('drop-zone');
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    take(e.dataTransfer?.files?.[0]);
  });
  document.addEventListener('paste', (e) => {
    if (views.shown() !== 'lesson') return; // another view (Classify) takes its own pastes
    const item = [...(e.clipboardData?.items ?? [])].find((i) => i.kind === 'file');
    if (item) take(item.getAsFile());
  });
  reset.addEventListener('click', async () => {
    await images.loadSamples();
    reset.hidden = true;
    note.textContent = '';
  });
}

function wireHyperParameters() {
  const stride = /** @type {HTMLSelectElement} */ ($('stride'));
  const padding = /** @type {HTMLSelectElement} */ ($('padding'));
  stride.addEventListener('change', () => store.update({ stride: Number(stride.value) }));
  padding.addEventListener('change', () => {
    store.update({ padding: padding.value === 'valid' ? 'valid' : 'same' });
  });
}

function wireBackendChoice() {
  const select = /** @type {HTMLSelectElement} */ ($('backend-choice'));
  select.addEventListener('change', () => {
    const choice = /** @type {'auto' | 'webgpu' | 'cpu'} */ (select.value);
    try {
      const report = api.setBackend(choice);
      const url = new URL(location.href);
      if (choice === 'auto') url.searchParams.delete('backend');
      else url.searchParams.set('backend', choice);
      history.replaceState(null, '', url);
      store.update({ backend: report });
    } catch (e) {
      showBackend(api.backends(), /** @type {Error} */ (e).message);
    }
  });
}

async function boot() {
  views.register('build', async (host) => (await import('./editor/editor.js')).mount(host));
  views.register('classify', async (host) => (await import('./classify/classify.js')).mount(host));
  views.register('inside', async (host) => (await import('./inside/inside.js')).mount(host));
  views.start();
  const missing = missingFeatures();
  if (missing) return fatal(missing);
  filters.mount($('filter-grid'), document.querySelectorAll('#demo [role="tab"]'), document.querySelectorAll('[data-preset]'));
  demo.mount($('feature-maps'), $('run-status'), $('input-images'));
  wireInputs();
  wireHyperParameters();
  store.update({ filters: [filters.preset('vertical'), filters.preset('horizontal')], editing: 0 });
  let report;
  try {
    report = await api.ready;
  } catch (e) {
    return fatal(`convlab could not start: ${/** @type {Error} */ (e).message}`);
  }
  const urlNote = await api.urlProblem;
  showBackend(report, urlNote);
  store.subscribe((s, changed) => {
    if (changed.has('backend') && s.backend) showBackend(s.backend, urlNote);
  });
  wireBackendChoice();
  store.update({ backend: report });
  import('./lesson/lesson.js').then((m) => m.mount($('lesson-live'))).catch((e) => {
    $('lesson-live').textContent = `The lesson's live pictures could not start: ${/** @type {Error} */ (e).message}`;
  });
  trainPanel.mount($('train')).catch((e) => {
    $('train').textContent = `The training panel could not start: ${/** @type {Error} */ (e).message}`;
  });
  try {
    await images.loadSamples();
  } catch (e) {
    fatal(`${/** @type {Error} */ (e).message}. Run \`make photos\` (part of \`make build\`) to fetch the sample photos.`);
  }
}

boot();
