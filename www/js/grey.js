// @ts-check
/**
 * The grey recipes of preprocess.js: a photo or drawing of one object (a digit, a garment) made
 * to look like an MNIST or Fashion-MNIST image, bright ink on a black frame.
 *
 * 1. Grey: ITU-R BT.601 luma (as PIL's convert('L')), transparent pixels composited over white
 *    (a drawing on a clear canvas reads as ink on paper).
 * 2. Invert when the background is light: the background level is the median of the image's
 *    border (its outer 5%, at least one pixel).
 * 3. Stretch the levels so that the background (plus 10% of the ink's range, paper grain and
 *    shadows) is 0 and the brightest ink is 255.
 * 4. Crop to the ink's bounding box.
 * 5. MNIST (LeCun et al., "the images were size normalized to fit in a 20x20 pixel box while
 *    preserving their aspect ratio ... centered in a 28x28 image by computing the center of mass
 *    of the pixels"): fit in 5/7 of the frame, then translate so the centre of mass is the frame's
 *    centre. Fashion-MNIST (Xiao et al. 2017: trimmed, the longest edge resized to 28, centred):
 *    fit the whole frame, centre the box.
 * Resizing is Pillow's antialiased bilinear filter (resample.js).
 */

import { resizeBilinear } from './resample.js';
import { toCanvas, crop } from './pixels.js';

/** @typedef {import('./pixels.js').Pixels} Pixels */
/** @typedef {import('./preprocess.js').Step} Step */

/** Grey levels of RGBA bytes, transparent pixels over white. @param {Pixels} rgba @returns {Pixels} */
function grey(rgba) {
  const n = rgba.width * rgba.height;
  const data = new Uint8ClampedArray(n);
  for (let p = 0; p < n; p++) {
    const d = rgba.data;
    const a = d[4 * p + 3] / 255;
    const luma = 0.299 * d[4 * p] + 0.587 * d[4 * p + 1] + 0.114 * d[4 * p + 2];
    data[p] = Math.round(luma * a + 255 * (1 - a));
  }
  return { width: rgba.width, height: rgba.height, channels: 1, data };
}

/** The median level of the outer 5% of the image (at least its outermost pixels). @param {Pixels} g */
export function borderLevel(g) {
  const band = Math.max(1, Math.round(0.05 * Math.min(g.width, g.height)));
  const counts = new Uint32Array(256);
  let total = 0;
  for (let y = 0; y < g.height; y++) {
    for (let x = 0; x < g.width; x++) {
      if (x < band || y < band || x >= g.width - band || y >= g.height - band) {
        counts[g.data[y * g.width + x]]++;
        total++;
      }
    }
  }
  let seen = 0;
  for (let v = 0; v < 256; v++) {
    seen += counts[v];
    if (2 * seen >= total) return v;
  }
  return 255;
}

/**
 * Levels stretched so that `from` is 0 and `to` 255, and the box around what stays above 0.
 * @param {Pixels} g @param {number} from @param {number} to
 */
function stretch(g, from, to) {
  const data = new Uint8ClampedArray(g.data.length);
  let [left, top, right, bottom] = [g.width, g.height, -1, -1];
  for (let y = 0; y < g.height; y++) {
    for (let x = 0; x < g.width; x++) {
      const v = Math.round(((g.data[y * g.width + x] - from) / (to - from)) * 255);
      data[y * g.width + x] = v;
      if (v > 0) {
        left = Math.min(left, x); right = Math.max(right, x);
        top = Math.min(top, y); bottom = Math.max(bottom, y);
      }
    }
  }
  return { pixels: { ...g, data }, box: { left, top, width: right - left + 1, height: bottom - top + 1 } };
}

/** The centre of mass of grey levels, in pixel units (a pixel's centre is at x + 0.5). @param {Pixels} g */
export function centreOfMass(g) {
  let [sum, sx, sy] = [0, 0, 0];
  for (let y = 0; y < g.height; y++) {
    for (let x = 0; x < g.width; x++) {
      const v = g.data[y * g.width + x];
      sum += v; sx += v * (x + 0.5); sy += v * (y + 0.5);
    }
  }
  return sum > 0 ? { x: sx / sum, y: sy / sum } : { x: g.width / 2, y: g.height / 2 };
}

/**
 * An `h x w` grey image (bright ink on black) of the object in `rgba`, made as `recipe`'s data set
 * was; each stage is pushed onto `steps`.
 * @param {Pixels} rgba @param {number} h @param {number} w @param {'mnist' | 'fashion'} recipe @param {Step[]} steps
 * @returns {Uint8ClampedArray}
 */
export function greyDigit(rgba, h, w, recipe, steps) {
  let g = grey(rgba);
  let background = borderLevel(g);
  const light = background > 127;
  if (light) {
    g = { ...g, data: g.data.map((v) => 255 - v) };
    background = 255 - background;
  }
  steps.push({
    name: 'grey',
    detail: light ? `light background (level ${255 - background}): inverted, ink bright on black` : `dark background (level ${background}): kept`,
    canvas: toCanvas(g),
  });
  let top = 0;
  for (const v of g.data) top = Math.max(top, v);
  if (top - background < 16) {
    throw new Error(`preprocess: no ink to find: the image's levels stay within ${top - background + 1} of its background's`);
  }
  const floor = background + 0.1 * (top - background);
  const { pixels, box } = stretch(g, floor, top);
  const ink = crop(pixels, box.left, box.top, box.width, box.height);
  steps.push({ name: 'crop to the ink', detail: `${box.width}x${box.height} at (${box.left}, ${box.top}), levels ${Math.round(floor)}..${top} stretched to 0..255`, canvas: toCanvas(ink) });
  const share = recipe === 'mnist' ? 20 / 28 : 1;
  const [boxW, boxH] = [Math.max(1, Math.round(w * share)), Math.max(1, Math.round(h * share))];
  const scale = Math.min(boxW / ink.width, boxH / ink.height);
  const [fw, fh] = [Math.max(1, Math.min(boxW, Math.round(ink.width * scale))), Math.max(1, Math.min(boxH, Math.round(ink.height * scale)))];
  const fitted = { width: fw, height: fh, channels: 1, data: resizeBilinear(ink.data, ink.width, ink.height, 1, fw, fh) };
  let [left, down] = [Math.floor((w - fw) / 2), Math.floor((h - fh) / 2)];
  let how = 'box centred';
  if (recipe === 'mnist') {
    const m = centreOfMass(fitted);
    left = Math.min(w - fw, Math.max(0, Math.round(w / 2 - m.x)));
    down = Math.min(h - fh, Math.max(0, Math.round(h / 2 - m.y)));
    how = 'centre of mass at the centre';
  }
  const out = new Uint8ClampedArray(w * h);
  for (let y = 0; y < fh; y++) out.set(fitted.data.subarray(y * fw, (y + 1) * fw), (down + y) * w + left);
  steps.push({ name: 'fit and centre', detail: `${fw}x${fh} in ${w}x${h} at (${left}, ${down}), ${how}`, canvas: toCanvas({ width: w, height: h, channels: 1, data: out }) });
  return out;
}
