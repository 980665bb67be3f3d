// @ts-check
/**
 * The selected layer: statistics, histogram, its feature maps and (for convolutions) its
 * filters, a page at a time, fetched from the worker and drawn progressively.
 */
import * as infer from '../infer.js';
import { drawTiles, tileCanvas, histogram, fmt } from './draw.js';

export const MAPS_PER_PAGE = 64;
export const FILTERS_PER_PAGE = 32;
const CONV = ['Conv2D', 'DepthwiseConv2D', 'SeparableConv2D'];

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * @typedef {{name: string, className: string, shape: number[], ms: number, gpuMs?: number, min: number,
 *   max: number, mean: number, zeros: number, histogram: {lo: number, hi: number, counts: Uint32Array}}} LayerInfo
 */

export function createDetail() {
  let key = '';
  /** @type {LayerInfo | null} */
  let layer = null;
  let mapsStart = 0;
  let filtersStart = 0;
  let generation = 0;

  /** @param {string} which @param {number} start @param {number} per @param {number} total @param {string} noun */
  function pager(which, start, per, total, noun) {
    $(`inside-${which}-page`).textContent = total
      ? `${noun} ${start + 1} to ${Math.min(total, start + per)} of ${total}` : '';
    /** @type {HTMLButtonElement} */ ($(`inside-${which}-prev`)).disabled = start === 0;
    /** @type {HTMLButtonElement} */ ($(`inside-${which}-next`)).disabled = start + per >= total;
  }

  async function drawMaps() {
    if (!layer) return;
    const mine = ++generation;
    const l = layer;
    const grid = $('inside-maps');
    grid.dataset.state = 'drawing';
    const r = await infer.call('insideMaps', { key, layer: l.name, start: mapsStart, count: MAPS_PER_PAGE });
    if (mine !== generation) return;
    grid.replaceChildren();
    const n = r.ranges.length;
    pager('maps', r.start, MAPS_PER_PAGE, r.channels, 'channels');
    if (r.vector) $('inside-maps-page').textContent = `a vector: its ${l.shape.slice(1).reduce((a, b) => a * b, 1)} values drawn as one grid`;
    const done = await drawTiles(grid, n, (i) => {
      const k = r.start + i;
      const [lo, hi] = r.ranges[i];
      const what = r.vector ? `${l.name}: the ${l.shape.slice(1).reduce((a, b) => a * b, 1)} values as one grid` : `${l.name} channel ${k}`;
      return {
        canvases: [tileCanvas(r.pixels, i * r.h * r.w, r.w, r.h)],
        label: `${what}, ${r.w}x${r.h}, from ${fmt(lo)} (black) to ${fmt(hi)} (white)`,
        caption: `${r.vector ? '' : `${k}: `}[${fmt(lo)}, ${fmt(hi)}]`,
      };
    }, () => mine !== generation);
    if (done) grid.dataset.state = 'done';
    grid.dataset.tiles = String(grid.children.length);
  }

  async function drawFilters() {
    const part = $('inside-filters-part');
    const grid = $('inside-filters');
    if (!layer || !CONV.includes(layer.className)) {
      part.hidden = true;
      grid.replaceChildren();
      grid.dataset.state = 'none';
      return;
    }
    part.hidden = false;
    const mine = generation;
    const l = layer;
    grid.dataset.state = 'drawing';
    const r = await infer.call('insideFilters', { key, layer: l.name, start: filtersStart, count: FILTERS_PER_PAGE });
    if (mine !== generation) return;
    grid.replaceChildren();
    $('inside-filters-note').textContent = r.rgb
      ? `${r.outputs} filters of ${r.fh}x${r.fw} over the 3 input channels, drawn in colour (each scaled to its own range).`
      : r.depthwise
        ? `${r.outputs} depthwise filters of ${r.fh}x${r.fw}, one per input channel (and multiplier).`
        : `${r.outputs} filters of ${r.fh}x${r.fw}x${r.inputs}: one grey square per input channel${r.shownInputs < r.inputs ? ` (the first ${r.shownInputs} of ${r.inputs} shown)` : ''}, each filter scaled to its own range.`;
    pager('filters', r.start, FILTERS_PER_PAGE, r.outputs, 'filters');
    const per = r.fh * r.fw * r.shownInputs * (r.rgb ? 3 : 1);
    const done = await drawTiles(grid, r.ranges.length, (i) => {
      const o = r.start + i;
      const [lo, hi] = r.ranges[i];
      const canvases = r.rgb
        ? [tileCanvas(r.pixels, i * per, r.fw, r.fh, true)]
        : Array.from({ length: r.shownInputs }, (_, j) => tileCanvas(r.pixels, i * per + j * r.fh * r.fw, r.fw, r.fh));
      return {
        canvases,
        label: `${l.name} filter ${o}, ${r.fh}x${r.fw}${r.rgb ? ' in colour' : ` over ${r.shownInputs} input channel${r.shownInputs > 1 ? 's' : ''}`}, weights from ${fmt(lo)} to ${fmt(hi)}`,
        caption: `${o}: [${fmt(lo)}, ${fmt(hi)}]`,
      };
    }, () => mine !== generation);
    if (done) grid.dataset.state = 'done';
    grid.dataset.tiles = String(grid.children.length);
  }

  /** @param {string} where @param {unknown} e */
  const failed = (where, e) => {
    const grid = $(where);
    grid.dataset.state = 'error';
    grid.textContent = `Could not draw this: ${/** @type {Error} */ (e)?.message ?? e}`;
  };

  async function redraw() {
    await drawMaps().catch((e) => failed('inside-maps', e));
    await drawFilters().catch((e) => failed('inside-filters', e));
  }

  for (const [which, per, move] of /** @type {const} */ ([['maps', MAPS_PER_PAGE, 'maps'], ['filters', FILTERS_PER_PAGE, 'filters']])) {
    for (const [dir, sign] of /** @type {const} */ ([['prev', -1], ['next', 1]])) {
      $(`inside-${which}-${dir}`).addEventListener('click', () => {
        if (move === 'maps') {
          mapsStart = Math.max(0, mapsStart + sign * per);
          drawMaps().catch((e) => failed('inside-maps', e));
        } else {
          filtersStart = Math.max(0, filtersStart + sign * per);
          drawFilters().catch((e) => failed('inside-filters', e));
        }
      });
    }
  }

  return {
    /** Shows `l` of the pass held under `k` in the worker. @param {string} k @param {LayerInfo} l */
    show(k, l) {
      key = k;
      layer = l;
      mapsStart = 0;
      filtersStart = 0;
      // Both grids are pending from now on (not 'done' with the last layer's tiles) until redrawn.
      $('inside-maps').dataset.state = 'drawing';
      $('inside-filters').dataset.state = 'drawing';
      $('inside-layer-h').textContent = `${l.name} (${l.className}), output [${l.shape.join(', ')}]`;
      $('inside-stats').textContent = `min ${fmt(l.min)}, max ${fmt(l.max)}, mean ${fmt(l.mean)}, ` +
        `${(100 * l.zeros).toFixed(1)}% exactly zero; ${fmt(l.ms)} ms${l.gpuMs !== undefined ? ` (${fmt(l.gpuMs)} ms on the GPU)` : ''}`;
      const canvas = /** @type {HTMLCanvasElement} */ ($('inside-histogram'));
      histogram(canvas, l.histogram);
      canvas.setAttribute('aria-label', `histogram of ${l.name}'s activations from ${fmt(l.min)} to ${fmt(l.max)}, ${(100 * l.zeros).toFixed(1)}% zero`);
      return redraw();
    },
  };
}
