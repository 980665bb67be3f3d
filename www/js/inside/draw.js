// @ts-check
/**
 * Pictures of the "Look inside" view: grids of small grey (or RGB) tiles drawn a few at a time
 * so a wide layer never blocks the page, a histogram, and the Grad-CAM overlay.
 */

/** Tiles drawn between two yields to the event loop. */
const CHUNK = 24;

/** @returns {Promise<void>} */
const yieldToPage = () => new Promise((r) => setTimeout(r, 0));

/** @param {number} v */
export function fmt(v) {
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return v.toExponential(2);
  return String(Number(v.toPrecision(3)));
}

/**
 * A canvas of `w x h` pixels from greys (or RGB triples when `rgb`).
 * @param {Uint8Array} pixels @param {number} offset @param {number} w @param {number} h @param {boolean} rgb
 */
export function tileCanvas(pixels, offset, w, h, rgb = false) {
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < w * h; i++) {
    const [r, g, b] = rgb
      ? [pixels[offset + 3 * i], pixels[offset + 3 * i + 1], pixels[offset + 3 * i + 2]]
      : [pixels[offset + i], pixels[offset + i], pixels[offset + i]];
    img.data[4 * i] = r;
    img.data[4 * i + 1] = g;
    img.data[4 * i + 2] = b;
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/**
 * Appends `count` figures to `grid`, `make(i)` giving each one's canvases and caption, a chunk at
 * a time. Resolves false when `stale()` turned true on the way (a newer request won).
 * @param {HTMLElement} grid @param {number} count
 * @param {(i: number) => {canvases: HTMLCanvasElement[], label: string, caption: string}} make
 * @param {() => boolean} stale
 */
export async function drawTiles(grid, count, make, stale) {
  for (let i = 0; i < count; i++) {
    if (i > 0 && i % CHUNK === 0) {
      await yieldToPage();
      if (stale()) return false;
    }
    const { canvases, label, caption } = make(i);
    const fig = document.createElement('figure');
    fig.className = 'tile';
    const row = document.createElement('div');
    row.className = 'tile-row';
    row.setAttribute('role', 'img');
    row.setAttribute('aria-label', label);
    row.append(...canvases);
    const cap = document.createElement('figcaption');
    cap.textContent = caption;
    fig.append(row, cap);
    grid.append(fig);
  }
  return true;
}

/**
 * A histogram of `counts` over [lo, hi] on a canvas, with the range on its axis.
 * @param {HTMLCanvasElement} canvas @param {{lo: number, hi: number, counts: ArrayLike<number>}} h
 */
export function histogram(canvas, h) {
  const W = 320;
  const H = 120;
  const pad = 16;
  canvas.width = W;
  canvas.height = H;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  ctx.clearRect(0, 0, W, H);
  const counts = Array.from(h.counts);
  const top = Math.max(1, ...counts);
  const bw = (W - 2) / counts.length;
  ctx.fillStyle = '#3a6ea5';
  counts.forEach((c, i) => {
    // Square-root scale, so a spike of zeros (after a ReLU) does not flatten the rest.
    const bar = Math.sqrt(c / top) * (H - pad - 4);
    ctx.fillRect(1 + i * bw, H - pad - bar, Math.max(1, bw - 1), bar);
  });
  ctx.fillStyle = '#222';
  ctx.font = '11px sans-serif';
  ctx.textBaseline = 'bottom';
  ctx.fillText(fmt(h.lo), 2, H - 1);
  ctx.textAlign = 'right';
  ctx.fillText(fmt(h.hi), W - 2, H - 1);
}

/** A blue-to-red colour for t in [0, 1] (the "jet"-like map Grad-CAM papers use). @param {number} t */
function heatColour(t) {
  const r = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 3)));
  const g = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 2)));
  const b = Math.min(1, Math.max(0, 1.5 - Math.abs(4 * t - 1)));
  return [r * 255, g * 255, b * 255];
}

/**
 * The model's input (HWC in [0, 1], 1 or 3 channels) with a heat map over it, alpha rising
 * with the heat. Returns the share of the heat in each quadrant (for the caption and tests).
 * @param {HTMLCanvasElement} canvas
 * @param {{shape: number[], data: Float32Array}} input
 * @param {Float32Array} heat @param {number} opacity 0..1
 */
export function overlay(canvas, input, heat, opacity = 0.6) {
  const [, h, w, c] = input.shape;
  canvas.width = w;
  canvas.height = h;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  const img = ctx.createImageData(w, h);
  let max = 0;
  for (const v of heat) if (v > max) max = v;
  for (let i = 0; i < h * w; i++) {
    const base = c === 1
      ? [input.data[i], input.data[i], input.data[i]]
      : [input.data[3 * i], input.data[3 * i + 1], input.data[3 * i + 2]];
    const t = max > 0 ? heat[i] / max : 0;
    const a = opacity * t;
    const hc = heatColour(t);
    for (let k = 0; k < 3; k++) {
      const v = Math.min(1, Math.max(0, base[k])) * 255;
      img.data[4 * i + k] = Math.round(v * (1 - a) + hc[k] * a);
    }
    img.data[4 * i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}

/**
 * The model's input as a picture (values clamped to [0, 1]).
 * @param {HTMLCanvasElement} canvas @param {{shape: number[], data: Float32Array}} input
 */
export function inputPicture(canvas, input) {
  overlay(canvas, input, new Float32Array(input.shape[1] * input.shape[2]), 0);
}
