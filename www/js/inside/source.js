// @ts-check
/**
 * What the "Look inside" view looks at: the model (the current one from Build / Train, a zoo
 * model with its initial weights) and the image (a sample photo, an uploaded file, a
 * Fashion-MNIST test image), made into the model's input.
 *
 * Images become the model's input as `convlab.data.fromImages` makes training images: the
 * largest centred crop with the input's aspect ratio, resized by the browser, grey (BT.601
 * luma) for one channel, scaled to [0, 1].
 */

/** @typedef {{width: number, height: number, rgba: Uint8ClampedArray<ArrayBuffer>, name: string}} Picture */

export const PHOTOS = [
  { name: 'china.jpg', url: new URL('../../assets/photos/china.jpg', import.meta.url).href },
  { name: 'flower.jpg', url: new URL('../../assets/photos/flower.jpg', import.meta.url).href },
];
const FASHION_TEST = new URL('../../assets/data/fashion-mnist/t10k-images-idx3-ubyte.gz', import.meta.url).href;
export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

/** Long side beyond which an image is scaled down first (the largest zoo input is 299). */
export const MAX_SIDE = 1024;

/**
 * The pixels of `source`, scaled down to MAX_SIDE on its long side.
 * @param {CanvasImageSource} source @param {number} w @param {number} h @param {string} name @returns {Picture}
 */
function toPicture(source, w, h, name) {
  if (!(w > 0 && h > 0)) throw new Error(`${name} has no pixels (${w}x${h})`);
  const scale = Math.min(1, MAX_SIDE / Math.max(w, h));
  const width = Math.max(1, Math.round(w * scale));
  const height = Math.max(1, Math.round(h * scale));
  const canvas = document.createElement('canvas');
  canvas.width = width;
  canvas.height = height;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d', { willReadFrequently: true }));
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(source, 0, 0, width, height);
  return { width, height, rgba: /** @type {Uint8ClampedArray<ArrayBuffer>} */ (ctx.getImageData(0, 0, width, height).data), name };
}

/** @param {string} url @param {string} name */
export async function photo(url, name) {
  const img = new Image();
  img.src = url;
  try {
    await img.decode();
  } catch {
    throw new Error(`${name} could not be loaded`);
  }
  return toPicture(img, img.naturalWidth, img.naturalHeight, name);
}

/**
 * A user's file; anything that is not a decodable image is refused, naming the file.
 * @param {File} file
 */
export async function upload(file) {
  const name = file.name || 'the file';
  if (file.type && !file.type.startsWith('image/')) {
    throw new Error(`${name} is not an image (type ${file.type}); pick a PNG, JPEG, GIF or WebP file`);
  }
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    throw new Error(`${name} could not be decoded as an image; pick a PNG, JPEG, GIF or WebP file`);
  }
  try {
    return toPicture(bitmap, bitmap.width, bitmap.height, name);
  } finally {
    bitmap.close();
  }
}

/** @type {Promise<Uint8Array> | null} */
let fashion = null;

/**
 * Fashion-MNIST test image `index` (0 to 9,999) as a picture, with its label.
 * @param {number} index
 */
export async function fashionImage(index) {
  if (!Number.isInteger(index) || index < 0 || index > 9999) {
    throw new Error(`the Fashion-MNIST test image number must be a whole number from 0 to 9999, got ${index}`);
  }
  fashion ??= (async () => {
    const res = await fetch(FASHION_TEST);
    if (!res.ok || !res.body) throw new Error(`the Fashion-MNIST test images could not be fetched (${res.status}); run make data`);
    const raw = new Uint8Array(await new Response(res.body.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
    return raw;
  })();
  let bytes;
  try {
    bytes = await fashion;
  } catch (e) {
    fashion = null;
    throw e;
  }
  const rgba = new Uint8ClampedArray(28 * 28 * 4);
  for (let i = 0; i < 784; i++) {
    const v = bytes[16 + index * 784 + i];
    rgba.set([v, v, v, 255], i * 4);
  }
  return { width: 28, height: 28, rgba, name: `Fashion-MNIST test image ${index}` };
}

/**
 * The picture as a batch of one of the model's input `[h, w, c]`.
 * @param {Picture} pic @param {number[]} inputShape
 * @returns {{shape: number[], data: Float32Array}}
 */
export function toInput(pic, inputShape) {
  const [h, w, c] = inputShape;
  if (inputShape.length !== 3 || (c !== 1 && c !== 3)) {
    throw new Error(`this view feeds images to models whose input is [height, width, 1 or 3]; this model takes [${inputShape.join(', ')}]`);
  }
  const src = document.createElement('canvas');
  src.width = pic.width;
  src.height = pic.height;
  /** @type {CanvasRenderingContext2D} */ (src.getContext('2d')).putImageData(new ImageData(pic.rgba, pic.width, pic.height), 0, 0);
  // The largest centred crop with the input's aspect ratio.
  const scale = Math.min(pic.width / w, pic.height / h);
  const cw = w * scale;
  const ch = h * scale;
  const dst = document.createElement('canvas');
  dst.width = w;
  dst.height = h;
  const ctx = /** @type {CanvasRenderingContext2D} */ (dst.getContext('2d', { willReadFrequently: true }));
  ctx.imageSmoothingQuality = 'high';
  ctx.drawImage(src, (pic.width - cw) / 2, (pic.height - ch) / 2, cw, ch, 0, 0, w, h);
  const rgba = ctx.getImageData(0, 0, w, h).data;
  const data = new Float32Array(h * w * c);
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = [rgba[4 * i], rgba[4 * i + 1], rgba[4 * i + 2]];
    if (c === 1) data[i] = (0.299 * r + 0.587 * g + 0.114 * b) / 255;
    else data.set([r / 255, g / 255, b / 255], 3 * i);
  }
  return { shape: [1, h, w, c], data };
}
