// @ts-check
/**
 * The page side of prepare-handlers.js: `prepareOffThread(source, recipe, inputShape, options)`
 * takes what preprocess.js's `prepare` takes (an image, a canvas, a video's current frame, an
 * ImageBitmap, which is copied, not consumed) and answers what it answers, `{input, steps}` with
 * each step's picture on a canvas, computed in the inference worker.
 */
import * as infer from '../infer.js';

/** @typedef {{name: string, detail: string, canvas: HTMLCanvasElement}} Step */

/** @param {ImageBitmap} bitmap @returns {HTMLCanvasElement} */
function canvasOf(bitmap) {
  const canvas = document.createElement('canvas');
  canvas.width = bitmap.width;
  canvas.height = bitmap.height;
  const ctx = canvas.getContext('bitmaprenderer');
  if (ctx) ctx.transferFromImageBitmap(bitmap);
  else /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d')).drawImage(bitmap, 0, 0);
  return canvas;
}

/**
 * @param {ImageBitmapSource} source @param {string} recipe @param {number[]} inputShape
 * @param {{mean?: number, std?: number}} [options]
 * @param {number} [shortSide] first scale the source (by the browser) to this short side, when
 *   larger: live camera frames, whose first step (the imagenet recipe's resize) this replaces
 * @returns {Promise<{input: {shape: number[], data: Float32Array}, steps: Step[]}>}
 */
export async function prepareOffThread(source, recipe, inputShape, options = {}, shortSide = 0) {
  await infer.use('./classify/prepare-handlers.js');
  let bitmap;
  let scaled = '';
  try {
    bitmap = await createImageBitmap(source);
    const short = Math.min(bitmap.width, bitmap.height);
    if (shortSide > 0 && short > shortSide) {
      const [w, h] = [Math.round(bitmap.width * shortSide / short), Math.round(bitmap.height * shortSide / short)];
      const full = bitmap;
      bitmap = await createImageBitmap(full, { resizeWidth: w, resizeHeight: h, resizeQuality: 'high' });
      scaled = `${full.width}x${full.height} camera frame, scaled by the browser to ${w}x${h}`;
      full.close();
    }
  } catch (e) {
    throw new Error(`the picture could not be read (${/** @type {Error} */ (e).message})`);
  }
  /** @type {{input: {shape: number[], data: Float32Array}, steps: {name: string, detail: string, bitmap: ImageBitmap}[]}} */
  const r = await infer.call('prepare', { source: bitmap, recipe, inputShape, options }, [bitmap]);
  const steps = r.steps.map((s) => ({ name: s.name, detail: s.detail, canvas: canvasOf(s.bitmap) }));
  if (scaled && steps[0]) steps[0].detail = scaled;
  return { input: r.input, steps };
}
