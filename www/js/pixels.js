// @ts-check
/**
 * Pixels of anything an image can come as, and the small picture helpers of preprocess.js and
 * grey.js: interleaved bytes (`Pixels`) to and from canvases, crops. Sources over MAX_PIXELS are
 * scaled down by the browser first, so a huge photo cannot exhaust memory.
 */

/** @typedef {{width: number, height: number, channels: number, data: Uint8ClampedArray}} Pixels */

/** Larger sources are first scaled down (by the browser) to this many pixels at most. */
export const MAX_PIXELS = 4096 * 4096;
const SOURCES = 'an ImageData, ImageBitmap, HTMLImageElement, HTMLCanvasElement or HTMLVideoElement';

/** @param {unknown} v */
function describe(v) {
  if (v === null || typeof v !== 'object') return typeof v === 'string' ? `the string ${JSON.stringify(v.slice(0, 40))}` : String(v);
  return `a ${v.constructor?.name ?? 'object'}`;
}

/**
 * A canvas (a DOM one on the page, an OffscreenCanvas in a worker) and its 2-D context.
 * @param {number} width @param {number} height
 */
export function canvas2d(width, height) {
  /** @type {any} */
  const c = typeof document !== 'undefined'
    ? Object.assign(document.createElement('canvas'), { width, height })
    : new OffscreenCanvas(width, height);
  /** @type {CanvasRenderingContext2D | null} */
  const ctx = c.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('preprocess: this browser gives no 2-D canvas');
  return { canvas: /** @type {HTMLCanvasElement} */ (c), ctx };
}

/** The source's size, or throws saying why it has no pixels. @param {any} source */
function sizeOf(source) {
  /** @type {Record<string, any>} */
  const scope = globalThis;
  const has = (/** @type {string} */ name) => typeof scope[name] === 'function' && source instanceof scope[name];
  if (has('HTMLImageElement')) {
    if (!source.complete) throw new Error('preprocess: the image has not finished loading (await img.decode() first)');
    if (source.naturalWidth === 0) throw new Error('preprocess: the image has no pixels (0x0: it failed to load or decode)');
    return [source.naturalWidth, source.naturalHeight];
  }
  if (has('HTMLVideoElement')) {
    if (source.readyState < 2 || source.videoWidth === 0) throw new Error('preprocess: the video has no frame yet (wait for "loadeddata")');
    return [source.videoWidth, source.videoHeight];
  }
  if (has('ImageData') || has('ImageBitmap') || has('HTMLCanvasElement') || has('OffscreenCanvas')) {
    if (!(source.width > 0 && source.height > 0)) {
      const what = has('ImageBitmap') ? 'image bitmap (closed?)' : has('ImageData') ? 'image data' : 'canvas';
      throw new Error(`preprocess: the ${what} is ${source.width}x${source.height}: it has no pixels`);
    }
    return [source.width, source.height];
  }
  throw new Error(`preprocess: argument 'source': expected ${SOURCES}, got ${describe(source)}`);
}

/**
 * The source's RGBA bytes (scaled down by the browser when over MAX_PIXELS).
 * @param {any} source @returns {Pixels}
 */
export function readPixels(source) {
  const [w, h] = sizeOf(source);
  if (typeof ImageData === 'function' && source instanceof ImageData && w * h <= MAX_PIXELS) {
    return { width: w, height: h, channels: 4, data: source.data };
  }
  const shrink = Math.min(1, Math.sqrt(MAX_PIXELS / (w * h)));
  const [cw, ch] = [Math.max(1, Math.floor(w * shrink)), Math.max(1, Math.floor(h * shrink))];
  const { ctx } = canvas2d(cw, ch);
  let drawable = source;
  if (typeof ImageData === 'function' && source instanceof ImageData) {
    const full = canvas2d(w, h);
    full.ctx.putImageData(source, 0, 0);
    drawable = full.canvas;
  }
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(drawable, 0, 0, cw, ch);
  try {
    return { width: cw, height: ch, channels: 4, data: ctx.getImageData(0, 0, cw, ch).data };
  } catch (e) {
    throw new Error(`preprocess: the image's pixels cannot be read (${/** @type {Error} */ (e).name}: an image from another site without CORS permission?)`);
  }
}

/**
 * A canvas showing interleaved bytes (1, 3 or 4 channels).
 * @param {Pixels} p @returns {HTMLCanvasElement}
 */
export function toCanvas(p) {
  const { canvas, ctx } = canvas2d(p.width, p.height);
  const img = ctx.createImageData(p.width, p.height);
  for (let i = 0, n = p.width * p.height; i < n; i++) {
    for (let c = 0; c < 3; c++) img.data[4 * i + c] = p.data[i * p.channels + (p.channels >= 3 ? c : 0)];
    img.data[4 * i + 3] = p.channels === 4 ? p.data[4 * i + 3] : 255;
  }
  ctx.putImageData(img, 0, 0);
  return canvas;
}

/** A rectangle of interleaved bytes. @param {Pixels} p @param {number} left @param {number} top @param {number} w @param {number} h @returns {Pixels} */
export function crop(p, left, top, w, h) {
  const out = new Uint8ClampedArray(w * h * p.channels);
  for (let y = 0; y < h; y++) {
    const from = ((top + y) * p.width + left) * p.channels;
    out.set(p.data.subarray(from, from + w * p.channels), y * w * p.channels);
  }
  return { width: w, height: h, channels: p.channels, data: out };
}

/**
 * A float tensor `[h, w, c]` drawn from its min (black) to its max (white).
 * @param {Float32Array} data @param {number} w @param {number} h @param {number} c
 */
export function tensorCanvas(data, w, h, c) {
  let [lo, hi] = [Infinity, -Infinity];
  for (const v of data) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
  const span = hi > lo ? hi - lo : 1;
  const bytes = Uint8ClampedArray.from(data, (v) => ((v - lo) / span) * 255);
  return toCanvas({ width: w, height: h, channels: c, data: bytes });
}
