// @ts-check
/** "Check backends" and Grad-CAM: two actions on the current model and input, in the worker. */
import * as infer from '../infer.js';
import { overlay, fmt } from './draw.js';

/** Differences above this share of a layer's largest |value| are marked. */
export const TOLERANCE = 1e-3;

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @param {string} tag @param {string} text */
function cell(tag, text) {
  const el = document.createElement(tag);
  el.textContent = text;
  return el;
}

/**
 * @param {() => {key: string, input: {shape: number[], data: Float32Array}} | null} current
 */
export function wireCompare(current) {
  const button = /** @type {HTMLButtonElement} */ ($('inside-compare-run'));
  const status = $('inside-compare-status');
  const table = /** @type {HTMLTableElement} */ ($('inside-compare-table'));
  button.addEventListener('click', async () => {
    const now = current();
    if (!now) {
      status.textContent = 'Run a model on an image first.';
      return;
    }
    button.disabled = true;
    status.dataset.state = 'running';
    status.textContent = 'Running on WebGPU and on the CPU path...';
    table.hidden = true;
    try {
      const r = await infer.call('insideCompare', { key: now.key, input: now.input });
      if (r.missing) {
        status.textContent = r.missing;
        status.dataset.state = 'missing';
        return;
      }
      const rows = r.layers.slice(1).map((/** @type {any} */ l) => {
        const tr = document.createElement('tr');
        const over = !(l.maxRel <= TOLERANCE);
        if (over) tr.className = 'over';
        tr.dataset.rel = String(l.maxRel);
        tr.append(cell('th', l.name), cell('td', fmt(l.maxAbs)), cell('td', `${fmt(l.maxRel)}${over ? ' (over the tolerance)' : ''}`), cell('td', fmt(l.gpuMs)), cell('td', fmt(l.cpuMs)));
        /** @type {HTMLElement} */ (tr.firstChild).setAttribute('scope', 'row');
        return tr;
      });
      table.tBodies[0].replaceChildren(...rows);
      table.hidden = false;
      const worst = Math.max(...r.layers.slice(1).map((/** @type {any} */ l) => l.maxRel));
      const bad = rows.filter((/** @type {HTMLElement} */ tr) => tr.className === 'over').length;
      status.textContent = `WebGPU (${r.adapter || 'adapter without a name'}${r.software ? ', a software adapter' : ''}) against the CPU path: ` +
        `${rows.length} layers, largest relative difference ${fmt(worst)}; ${bad ? `${bad} over` : 'all within'} the tolerance of ${TOLERANCE}.`;
      status.dataset.state = bad ? 'over' : 'ok';
    } catch (e) {
      status.textContent = `Could not compare: ${/** @type {Error} */ (e).message}`;
      status.dataset.state = 'error';
    } finally {
      button.disabled = false;
    }
  });
}

/**
 * @param {() => {key: string, input: {shape: number[], data: Float32Array}, display: {shape: number[], data: Float32Array}, classNames: string[] | null} | null} current
 * @param {(result: any) => void} [onResult] hears each Grad-CAM result
 */
export function wireGradCam(current, onResult = (/** @type {any} */ _r) => {}) {
  const button = /** @type {HTMLButtonElement} */ ($('inside-cam-run'));
  const status = $('inside-cam-status');
  const classSel = /** @type {HTMLSelectElement} */ ($('inside-cam-class'));
  const layerSel = /** @type {HTMLSelectElement} */ ($('inside-cam-layer'));
  const fig = /** @type {HTMLElement} */ ($('inside-cam').parentElement);
  button.addEventListener('click', async () => {
    const now = current();
    if (!now) {
      status.textContent = 'Run a model on an image first.';
      return;
    }
    button.disabled = true;
    status.dataset.state = 'running';
    status.textContent = 'Computing Grad-CAM on the CPU path...';
    try {
      const args = { key: now.key, input: now.input, layer: layerSel.value || undefined, classIndex: classSel.value === '' ? undefined : Number(classSel.value) };
      const r = await infer.call('insideGradCam', args);
      const canvas = /** @type {HTMLCanvasElement} */ ($('inside-cam'));
      overlay(canvas, now.display, r.heatmap);
      const name = now.classNames?.[r.classIndex];
      const label = `class ${r.classIndex}${name ? ` (${name})` : ''}`;
      canvas.setAttribute('aria-label', `Grad-CAM of ${label} at layer ${r.layer} over the input`);
      const peak = Math.max(...r.cam);
      $('inside-cam-cap').textContent = `${label}, score (logit) ${fmt(r.score)}, from layer ${r.layer} ` +
        `(${r.camShape.join('x')} map scaled to ${r.heatmapShape.join('x')})${peak > 0 ? '' : ': the map is zero everywhere (no positive evidence at this layer)'}; ${fmt(r.ms)} ms.`;
      fig.hidden = false;
      status.textContent = '';
      status.dataset.state = 'done';
      canvas.dataset.classIndex = String(r.classIndex);
      onResult(r);
    } catch (e) {
      status.textContent = `Could not compute Grad-CAM: ${/** @type {Error} */ (e).message}`;
      status.dataset.state = 'error';
    } finally {
      button.disabled = false;
    }
  });
  return {
    /**
     * Fills the pickers for a new pass.
     * @param {{name: string, shape: number[]}[]} layers @param {string[] | null} classNames
     */
    reset(layers, classNames) {
      fig.hidden = true;
      status.textContent = '';
      const out = layers[layers.length - 1];
      const classes = out.shape.length === 2 ? out.shape[1] : 0;
      const classOptions = Array.from({ length: Math.min(classes, 1000) }, (_, k) => {
        const o = document.createElement('option');
        o.value = String(k);
        o.textContent = `${k}${classNames?.[k] ? `: ${classNames[k]}` : ''}`;
        return o;
      });
      classSel.replaceChildren(classSel.options[0], ...classOptions);
      const spatial = layers.slice(1).filter((l) => l.shape.length === 4 && l.shape[1] * l.shape[2] > 1);
      const layerOptions = spatial.map((l) => {
        const o = document.createElement('option');
        o.value = l.name;
        o.textContent = `${l.name} [${l.shape.slice(1).join(', ')}]`;
        return o;
      });
      layerSel.replaceChildren(layerSel.options[0], ...layerOptions);
      button.disabled = classes === 0 || spatial.length === 0;
      if (button.disabled) status.textContent = 'Grad-CAM needs a classifier (one score per class) with a spatial layer.';
    },
  };
}
