// @ts-check
/**
 * Images for transfer learning: webcam frames captured as square 224x224 JPEGs (the centre
 * of the picture, as MobileNetV2 sees it), uploaded files scaled down to 256 px on the short
 * side (MobileNetV2's resize), and their MobileNetV2 embeddings, computed in the worker once per
 * image and cached with it.
 */
import * as infer from '../infer.js';
import { prepareOffThread } from './prepare-off.js';
import { MOBILENET_KEY } from './models.js';
import { decode } from './sources.js';

/** MobileNetV2's input side. */
const SIDE = 224;
/** The short side an uploaded image is kept at. */
const KEEP = 256;

/** @param {HTMLCanvasElement} canvas @returns {Promise<Blob>} */
function jpeg(canvas) {
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('the image could not be encoded'))), 'image/jpeg', 0.9));
}

/**
 * The centre square of the camera's current frame, 224x224, as a JPEG.
 * @param {HTMLVideoElement} video
 */
export function captureFrame(video) {
  const w = video.videoWidth;
  const h = video.videoHeight;
  if (!w || !h) throw new Error('the camera has no picture yet');
  const side = Math.min(w, h);
  const canvas = document.createElement('canvas');
  canvas.width = SIDE;
  canvas.height = SIDE;
  /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d')).drawImage(video, (w - side) / 2, (h - side) / 2, side, side, 0, 0, SIDE, SIDE);
  return jpeg(canvas);
}

/**
 * A user's file, decoded and kept at 256 px on the short side (never enlarged), as a JPEG.
 * Throws naming the file when it is not an image.
 * @param {File} file
 */
export async function fromFile(file) {
  const { bitmap } = await decode(file);
  const scale = Math.min(1, KEEP / Math.min(bitmap.width, bitmap.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d')).drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close();
  return jpeg(canvas);
}

/**
 * MobileNetV2's embedding of an image (the backbone must be loaded).
 * @param {Blob} blob @returns {Promise<Float32Array>}
 */
export async function embed(blob) {
  const prepared = await prepareOffThread(blob, 'imagenet', [SIDE, SIDE, 3]);
  const r = await infer.call('embed', { key: MOBILENET_KEY, input: prepared.input });
  const v = r instanceof Float32Array ? r : r?.data ?? r?.embedding?.data ?? r?.embedding;
  if (!(v instanceof Float32Array)) throw new Error('the backbone gave no embedding');
  return v;
}
