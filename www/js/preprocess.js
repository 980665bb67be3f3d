// @ts-check
/**
 * An image (ImageData, ImageBitmap, HTMLImageElement, HTMLCanvasElement, OffscreenCanvas or
 * HTMLVideoElement's current frame) as a model's input, the way the model's training data was
 * made. `prepare(source, recipe, inputShape, options)` returns `{input: {shape: [1, h, w, c],
 * data}, steps}`; each step `{name, detail, canvas}` is a picture of one stage, for the Classify
 * view to show. Pure functions of pixels; nothing here touches the core.
 *
 * Recipes:
 * - `imagenet`: torchvision's evaluation transform. The short side is resized to 256 (for a 224
 *   input; 8/7 of the input in general) with Pillow's antialiased bilinear filter (resample.js,
 *   bit for bit), the centre `h x w` is cropped (`round((H - h) / 2)`, Python's rounding), then
 *   `/255`, minus the ImageNet mean (0.485, 0.456, 0.406), over the std (0.229, 0.224, 0.225).
 * - `mnist`: as MNIST was made (LeCun et al.): grey, inverted when the background is light (so
 *   the ink is bright on black), contrast stretched from the background level, cropped to the
 *   ink's bounding box, resized to fit a 20x20 box (for 28x28; 5/7 of the input) keeping the
 *   aspect ratio, and placed in the 28x28 frame with its centre of mass at the centre.
 * - `fashion`: as Fashion-MNIST was made (Xiao et al. 2017): the same grey, inversion and crop,
 *   but the longest side fills the frame and the box is centred.
 * - `plain`: what `convlab.data.fromImages` does to the user's own training images: the largest
 *   centred crop with the input's aspect ratio, resized with the browser's high-quality
 *   smoothing, grey (BT.601 luma) for one channel, transparent pixels black.
 * The grey recipes and `plain` then apply `(v / 255 - mean) / std` with `options.mean` and
 * `options.std` (default 0 and 1: the data set's normalisation, e.g. 0.1307 and 0.3081 for
 * MNIST). A transparent pixel counts as white in the grey recipes (a drawing on a clear canvas).
 */

import { resizeBilinear } from './resample.js';
import { greyDigit } from './grey.js';
import { MAX_PIXELS, canvas2d, readPixels, toCanvas, crop, tensorCanvas } from './pixels.js';

export { MAX_PIXELS, readPixels };

/** @typedef {'imagenet' | 'mnist' | 'fashion' | 'plain'} Recipe */
/** @typedef {{name: string, detail: string, canvas: HTMLCanvasElement}} Step */
/** @typedef {{input: {shape: number[], data: Float32Array}, steps: Step[]}} Prepared */
/** @typedef {import('./pixels.js').Pixels} Pixels */

export const RECIPES = ['imagenet', 'mnist', 'fashion', 'plain'];
export const IMAGENET_MEAN = [0.485, 0.456, 0.406];
export const IMAGENET_STD = [0.229, 0.224, 0.225];

/** Python's round(): halves go to the even neighbour. @param {number} x */
export function roundHalfEven(x) {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** @param {Pixels} p */
const size = (p) => `${p.width}x${p.height}`;

/**
 * torchvision's Resize(short side) + CenterCrop + ToTensor + Normalize.
 * @param {Pixels} rgba @param {number} h @param {number} w @param {Step[]} steps
 */
function imagenet(rgba, h, w, steps) {
  const short = Math.round((Math.min(h, w) * 256) / 224);
  const [sw, sh] = rgba.width <= rgba.height
    ? [short, Math.floor((short * rgba.height) / rgba.width)]
    : [Math.floor((short * rgba.width) / rgba.height), short];
  const resized = { width: sw, height: sh, channels: 4, data: resizeBilinear(rgba.data, rgba.width, rgba.height, 4, sw, sh) };
  steps.push({ name: 'resize', detail: `short side to ${short}: ${size(resized)} (bilinear, antialiased, as Pillow)`, canvas: toCanvas(resized) });
  if (sw < w || sh < h) throw new Error(`preprocess: the resized image ${size(resized)} is smaller than the input ${w}x${h}`);
  const [top, left] = [roundHalfEven((sh - h) / 2), roundHalfEven((sw - w) / 2)];
  const cropped = crop(resized, left, top, w, h);
  steps.push({ name: 'centre crop', detail: `${w}x${h} from (${left}, ${top})`, canvas: toCanvas(cropped) });
  const data = new Float32Array(h * w * 3);
  for (let i = 0; i < h * w; i++) {
    for (let c = 0; c < 3; c++) data[3 * i + c] = (cropped.data[4 * i + c] / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c];
  }
  steps.push({
    name: 'normalise',
    detail: `/255, minus mean (${IMAGENET_MEAN.join(', ')}), over std (${IMAGENET_STD.join(', ')})`,
    canvas: tensorCanvas(data, w, h, 3),
  });
  return data;
}

/**
 * The model's input for `source` (see the module docs for the recipes).
 * @param {any} source
 * @param {Recipe} recipe
 * @param {number[]} inputShape `[h, w, c]` (or `[1, h, w, c]`)
 * @param {{mean?: number, std?: number}} [options] the grey and plain recipes' normalisation
 * @returns {Prepared}
 */
export function prepare(source, recipe, inputShape, options = {}) {
  if (!RECIPES.includes(recipe)) throw new Error(`preprocess: unknown recipe ${JSON.stringify(recipe)}; the recipes are ${RECIPES.join(', ')}`);
  const shape = Array.isArray(inputShape) && inputShape.length === 4 && inputShape[0] === 1 ? inputShape.slice(1) : inputShape;
  if (!Array.isArray(shape) || shape.length !== 3 || !shape.every((d) => Number.isInteger(d) && d > 0 && d <= 4096)) {
    throw new Error(`preprocess: argument 'inputShape': expected [height, width, channels] of positive integers, got ${JSON.stringify(inputShape)}`);
  }
  const [h, w, c] = shape;
  if (recipe === 'imagenet' && c !== 3) throw new Error(`preprocess: the imagenet recipe makes 3 channels; the input has ${c}`);
  if (recipe !== 'imagenet' && c !== 1 && c !== 3) throw new Error(`preprocess: the ${recipe} recipe makes 1 or 3 channels; the input has ${c}`);
  const mean = options.mean ?? 0;
  const std = options.std ?? 1;
  if (!Number.isFinite(mean) || !(Number.isFinite(std) && std > 0)) {
    throw new Error(`preprocess: options mean and std must be finite numbers with std > 0, got ${mean} and ${std}`);
  }
  const rgba = readPixels(source);
  /** @type {Step[]} */
  const steps = [{ name: 'original', detail: size(rgba), canvas: toCanvas(rgba) }];
  /** @type {Float32Array} */
  let data;
  if (recipe === 'imagenet') {
    data = imagenet(rgba, h, w, steps);
  } else {
    const bytes = recipe === 'plain' ? plain(rgba, h, w, c, steps) : greyDigit(rgba, h, w, recipe, steps);
    data = Float32Array.from(bytes, (v) => (v / 255 - mean) / std);
    const channels = recipe === 'plain' ? c : 1;
    const grey = data;
    if (channels !== c) data = Float32Array.from({ length: h * w * c }, (_, i) => grey[Math.floor(i / c)]);
    if (mean !== 0 || std !== 1) steps.push({ name: 'normalise', detail: `/255, minus ${mean}, over ${std}`, canvas: tensorCanvas(data, w, h, c) });
  }
  return { input: { shape: [1, h, w, c], data }, steps };
}

/**
 * convlab.data.fromImages's decoding: cover crop, high-quality smoothing, BT.601 grey.
 * @param {Pixels} rgba @param {number} h @param {number} w @param {number} c @param {Step[]} steps
 */
function plain(rgba, h, w, c, steps) {
  const scale = Math.min(rgba.width / w, rgba.height / h);
  const [sw, sh] = [w * scale, h * scale];
  const { canvas, ctx } = canvas2d(w, h);
  ctx.imageSmoothingEnabled = true;
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(toCanvas(rgba), (rgba.width - sw) / 2, (rgba.height - sh) / 2, sw, sh, 0, 0, w, h);
  const px = ctx.getImageData(0, 0, w, h).data;
  steps.push({ name: 'crop and resize', detail: `centred ${Math.round(sw)}x${Math.round(sh)} to ${w}x${h}`, canvas });
  if (c === 3) return Uint8ClampedArray.from({ length: w * h * 3 }, (_, i) => px[4 * Math.floor(i / 3) + (i % 3)]);
  const grey = Uint8ClampedArray.from({ length: w * h }, (_, p) => Math.round(0.299 * px[4 * p] + 0.587 * px[4 * p + 1] + 0.114 * px[4 * p + 2]));
  steps.push({ name: 'grey', detail: 'BT.601 luma', canvas: toCanvas({ width: w, height: h, channels: 1, data: grey }) });
  return grey;
}
