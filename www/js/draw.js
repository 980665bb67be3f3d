// @ts-check
/** Drawing tensors as pictures. */

/**
 * Draws channel `k` of image `n` of an NHWC tensor in grayscale, scaled so that its minimum is
 * black and its maximum white (as matplotlib's `imshow(cmap="gray")` does for the chapter's
 * figure). A constant map is drawn mid-gray.
 * @param {HTMLCanvasElement} canvas
 * @param {{shape: number[], data: Float32Array}} t
 * @param {number} n
 * @param {number} k
 * @returns {{min: number, max: number}}
 */
export function featureMap(canvas, t, n, k) {
  const [, h, w, c] = t.shape;
  canvas.width = w;
  canvas.height = h;
  const base = n * h * w * c;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < h * w; i++) {
    const v = t.data[base + i * c + k];
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const range = max - min;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  const img = ctx.createImageData(w, h);
  for (let i = 0; i < h * w; i++) {
    const v = t.data[base + i * c + k];
    const g = range > 0 ? Math.round(((v - min) / range) * 255) : 128;
    img.data[i * 4] = g;
    img.data[i * 4 + 1] = g;
    img.data[i * 4 + 2] = g;
    img.data[i * 4 + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
  return { min, max };
}

/**
 * Draws an RGB image in [0, 1] (HWC, no batch axis).
 * @param {HTMLCanvasElement} canvas
 * @param {{width: number, height: number, pixels: Float32Array}} image
 */
export function rgb(canvas, image) {
  canvas.width = image.width;
  canvas.height = image.height;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  const img = ctx.createImageData(image.width, image.height);
  for (let i = 0, j = 0; j < image.pixels.length; i += 4, j += 3) {
    img.data[i] = image.pixels[j] * 255;
    img.data[i + 1] = image.pixels[j + 1] * 255;
    img.data[i + 2] = image.pixels[j + 2] * 255;
    img.data[i + 3] = 255;
  }
  ctx.putImageData(img, 0, 0);
}
