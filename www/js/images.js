// @ts-check
/**
 * Input images: the chapter's two sample photos, or the user's own (picked, dropped or pasted).
 * Each becomes RGB floats in [0, 1] (the seed's `load_sample_image(...) / 255`).
 */
import * as store from './store.js';

/** Long side beyond which a user's image is scaled down, so the demo stays interactive. */
export const MAX_SIDE = 1024;

export const SAMPLES = [
  { name: 'china.jpg', url: new URL('../assets/photos/china.jpg', import.meta.url).href },
  { name: 'flower.jpg', url: new URL('../assets/photos/flower.jpg', import.meta.url).href },
];

/**
 * @param {CanvasImageSource & {width: number, height: number}} source
 * @param {string} name
 * @param {string} url
 * @returns {import('./store.js').InputImage}
 */
function toPixels(source, name, url) {
  const scale = Math.min(1, MAX_SIDE / Math.max(source.width, source.height));
  const width = Math.max(1, Math.round(source.width * scale));
  const height = Math.max(1, Math.round(source.height * scale));
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d', { willReadFrequently: true }));
  ctx.drawImage(source, 0, 0, width, height);
  const rgba = ctx.getImageData(0, 0, width, height).data;
  const pixels = new Float32Array(width * height * 3);
  for (let i = 0, j = 0; i < rgba.length; i += 4, j += 3) {
    pixels[j] = rgba[i] / 255;
    pixels[j + 1] = rgba[i + 1] / 255;
    pixels[j + 2] = rgba[i + 2] / 255;
  }
  return { name, width, height, pixels, url };
}

/** @param {string} url @param {string} name */
async function fromUrl(url, name) {
  const img = new Image();
  img.src = url;
  try {
    await img.decode();
  } catch {
    throw new Error(`${name} could not be loaded from ${url}`);
  }
  return toPixels(img, name, url);
}

export async function loadSamples() {
  const images = await Promise.all(SAMPLES.map((s) => fromUrl(s.url, s.name)));
  store.update({ images, samples: true });
}

/**
 * Decodes a user's file. Anything that is not a decodable image is refused with a message that
 * names the file; the current images stay.
 * @param {File} file
 * @returns {Promise<string>} a note for the user
 */
export async function loadFile(file) {
  if (!file.type.startsWith('image/')) {
    throw new Error(`${file.name || 'the pasted item'} is not an image (type ${file.type || 'unknown'})`);
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error(`${file.name || 'the pasted image'} could not be decoded as an image`);
  }
  const image = toPixels(bitmap, file.name || 'pasted image', URL.createObjectURL(file));
  const scaled = image.width !== bitmap.width;
  bitmap.close();
  store.update({ images: [image], samples: false });
  return scaled
    ? `${image.name}: scaled from ${bitmap.width}x${bitmap.height} to ${image.width}x${image.height} to keep the demo interactive.`
    : `${image.name}: ${image.width}x${image.height}.`;
}

/**
 * The batch as one NHWC tensor. All images of a batch share a size (the two samples are both
 * 640x427; a user's image is a batch of one).
 * @param {import('./store.js').InputImage[]} images
 */
export function batchTensor(images) {
  const { width, height } = images[0];
  const per = width * height * 3;
  const data = new Float32Array(per * images.length);
  images.forEach((im, n) => data.set(im.pixels, n * per));
  return { shape: [images.length, height, width, 3], data };
}
