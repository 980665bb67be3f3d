// @ts-check
/**
 * Pillow's bilinear resize (`Image.resize(size, Image.BILINEAR)`), bit for bit: what
 * torchvision's `Resize` does to a PIL image, so the page feeds MobileNetV2 the pixels it was
 * evaluated with. A port of Pillow's src/libImaging/Resample.c (`precompute_coeffs`,
 * `normalize_coeffs_8bpc`, `ImagingResampleHorizontal_8bpc` / `Vertical_8bpc`): the triangle
 * filter is widened by the scale factor when shrinking (antialiasing), the weights are
 * normalised and turned into 22-bit fixed point, and the horizontal pass runs first, rounding to
 * bytes before the vertical one. tests/golden/imagenet/ holds Pillow's own output; the browser
 * test compares.
 */

const PRECISION_BITS = 32 - 8 - 2;
const ONE = 2 ** PRECISION_BITS;

/** @param {number} x */
function triangle(x) {
  const a = Math.abs(x);
  return a < 1 ? 1 - a : 0;
}

/**
 * Each output cell's first source cell, count of cells and fixed-point weights.
 * @param {number} inSize @param {number} outSize
 */
function coefficients(inSize, outSize) {
  const scale = inSize / outSize;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // the bilinear filter's support is 1
  const ksize = Math.ceil(support) * 2 + 1;
  const bounds = new Int32Array(outSize * 2);
  const weights = new Int32Array(outSize * ksize);
  const w = new Float64Array(ksize);
  const ss = 1 / filterScale; // Pillow multiplies by the reciprocal: the same doubles
  for (let xx = 0; xx < outSize; xx++) {
    const center = (xx + 0.5) * scale;
    const xmin = Math.max(0, Math.trunc(center - support + 0.5));
    const count = Math.min(inSize, Math.trunc(center + support + 0.5)) - xmin;
    let sum = 0;
    for (let x = 0; x < count; x++) {
      w[x] = triangle((x + xmin - center + 0.5) * ss);
      sum += w[x];
    }
    for (let x = 0; x < count; x++) {
      const k = sum !== 0 ? w[x] / sum : w[x];
      weights[xx * ksize + x] = Math.trunc(k < 0 ? -0.5 + k * ONE : 0.5 + k * ONE);
    }
    bounds[2 * xx] = xmin;
    bounds[2 * xx + 1] = count;
  }
  return { bounds, weights, ksize };
}

/** @param {number} ss */
function clip8(ss) {
  const v = Math.floor(ss / ONE);
  return v < 0 ? 0 : v > 255 ? 255 : v;
}

/**
 * One pass along x (`horizontal`) or y, every channel of interleaved bytes.
 * @param {Uint8ClampedArray} src @param {number} width @param {number} height
 * @param {number} channels @param {number} outSize @param {boolean} horizontal
 */
function pass(src, width, height, channels, outSize, horizontal) {
  const { bounds, weights, ksize } = coefficients(horizontal ? width : height, outSize);
  const [outW, outH] = horizontal ? [outSize, height] : [width, outSize];
  const out = new Uint8ClampedArray(outW * outH * channels);
  // Distance between neighbouring source cells along the pass, in bytes.
  const step = horizontal ? channels : width * channels;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const cell = horizontal ? x : y;
      const first = bounds[2 * cell];
      const count = bounds[2 * cell + 1];
      const base = horizontal ? (y * width + first) * channels : (first * width + x) * channels;
      const k = cell * ksize;
      for (let c = 0; c < channels; c++) {
        let ss = ONE / 2;
        for (let i = 0; i < count; i++) ss += src[base + i * step + c] * weights[k + i];
        out[(y * outW + x) * channels + c] = clip8(ss);
      }
    }
  }
  return out;
}

/**
 * Interleaved bytes `src` (`width x height`, `channels` per pixel) resized to
 * `outWidth x outHeight` as Pillow's bilinear filter does (a pass is skipped when its size does
 * not change, as in Pillow).
 * @param {Uint8ClampedArray} src @param {number} width @param {number} height @param {number} channels
 * @param {number} outWidth @param {number} outHeight
 * @returns {Uint8ClampedArray}
 */
export function resizeBilinear(src, width, height, channels, outWidth, outHeight) {
  let data = src;
  if (outWidth !== width) data = pass(data, width, height, channels, outWidth, true);
  if (outHeight !== height) data = pass(data, outWidth, height, channels, outHeight, false);
  return data === src ? src.slice() : data;
}
