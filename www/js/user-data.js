// @ts-check
/**
 * The user's own images, one list of files per class (Teachable-Machine-style), packed into the
 * IDX bytes that the core reads (www/js/core.js turns them into a data set; this module never
 * touches the wasm bindings).
 *
 * Each file is decoded by the browser (createImageBitmap), centre-cropped to the model's aspect
 * ratio (as Teachable Machine does: the middle of the picture is kept whole, nothing is
 * stretched and no bars are added), resized with high-quality smoothing, and turned grey with
 * ITU-R BT.601 luma (0.299 R + 0.587 G + 0.114 B, as PIL's convert('L')) when the model takes
 * one channel. Transparent pixels read as black (a canvas starts transparent black). Grey images
 * go into a 3-D IDX file `[n, height, width]` (as MNIST's), colour ones into a 4-D one
 * `[n, height, width, 3]`, channels last. Images are stored class by class, in the order given.
 *
 * A file that is empty, not an image or that the browser cannot decode is skipped and listed
 * with the reason; everything else is kept.
 */

/** @typedef {{ name: string; files: (File | Blob)[] }} ImageClass */
/** @typedef {{ file: string; reason: string }} Skipped */

/** The most classes: labels are IDX unsigned bytes. */
export const MAX_CLASSES = 256;
/** The largest height or width. */
export const MAX_SIDE = 1024;
/** The most images in one data set. */
export const MAX_IMAGES = 100_000;

/**
 * @param {unknown} value
 * @returns {string}
 */
function describe(value) {
  try {
    const text = JSON.stringify(value);
    if (text !== undefined) return text.length > 60 ? `${text.slice(0, 60)}...` : text;
  } catch { /* a cycle: fall through */ }
  return typeof value;
}

/**
 * Checks the arguments of `fromImages`; throws naming the argument and the value.
 * @param {unknown} classes @param {any} options
 * @returns {{ classes: ImageClass[]; height: number; width: number; channels: number }}
 */
export function checkArguments(classes, options) {
  const op = 'data.fromImages';
  if (!Array.isArray(classes) || classes.length < 2 || classes.length > MAX_CLASSES) {
    throw new Error(`${op}: argument 'classes': expected an array of 2 to ${MAX_CLASSES} {name, files}, got ${describe(classes)}`);
  }
  const names = new Set();
  classes.forEach((c, i) => {
    if (!c || typeof c.name !== 'string' || c.name.trim() === '') {
      throw new Error(`${op}: argument 'classes': class ${i} needs a non-empty name, got ${describe(c?.name)}`);
    }
    if (names.has(c.name)) throw new Error(`${op}: argument 'classes': the name ${JSON.stringify(c.name)} is used twice`);
    names.add(c.name);
    if (!Array.isArray(c.files) || c.files.some((/** @type {unknown} */ f) => !(f instanceof Blob))) {
      throw new Error(`${op}: argument 'classes': class ${JSON.stringify(c.name)} needs files: an array of File or Blob`);
    }
  });
  if (!options || typeof options !== 'object') {
    throw new Error(`${op}: argument 'options': expected {height, width, channels}, got ${describe(options)}`);
  }
  const allowed = ['height', 'width', 'channels', 'mean', 'std'];
  for (const key of Object.keys(options)) {
    if (!allowed.includes(key)) throw new Error(`${op}: argument 'options': unknown option ${JSON.stringify(key)}; the options are ${allowed.join(', ')}`);
  }
  for (const key of ['height', 'width']) {
    const v = options[key];
    if (!Number.isInteger(v) || v < 1 || v > MAX_SIDE) {
      throw new Error(`${op}: argument '${key}': expected an integer from 1 to ${MAX_SIDE}, got ${describe(v)}`);
    }
  }
  if (options.channels !== 1 && options.channels !== 3) {
    throw new Error(`${op}: argument 'channels': expected 1 or 3, got ${describe(options.channels)}`);
  }
  if (options.mean !== undefined && !Number.isFinite(options.mean)) {
    throw new Error(`${op}: argument 'mean': expected a finite number, got ${describe(options.mean)}`);
  }
  if (options.std !== undefined && !(Number.isFinite(options.std) && options.std > 0)) {
    throw new Error(`${op}: argument 'std': expected a positive number, got ${describe(options.std)}`);
  }
  const total = classes.reduce((n, c) => n + c.files.length, 0);
  if (total > MAX_IMAGES) throw new Error(`${op}: argument 'classes': ${total} files, over the limit of ${MAX_IMAGES}`);
  return { classes, height: options.height, width: options.width, channels: options.channels };
}

/**
 * A canvas of the model's size and its 2-D context (OffscreenCanvas where the browser has it).
 * @param {number} width @param {number} height
 */
function canvas(width, height) {
  /** @type {any} */
  const c = typeof OffscreenCanvas === 'function'
    ? new OffscreenCanvas(width, height)
    : Object.assign(document.createElement('canvas'), { width, height });
  /** @type {CanvasRenderingContext2D | null} */
  const ctx = c.getContext('2d', { willReadFrequently: true });
  if (!ctx) throw new Error('data.fromImages: this browser gives no 2-D canvas to decode images with');
  return ctx;
}

/**
 * One file decoded, centre-cropped and resized: RGBA bytes of `width x height`, or the reason it
 * cannot be used.
 * @param {Blob} file @param {number} width @param {number} height
 * @returns {Promise<Uint8ClampedArray | string>}
 */
async function decode(file, width, height) {
  if (file.size === 0) return 'the file is empty';
  /** @type {ImageBitmap} */
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return `not an image this browser can decode (type ${JSON.stringify(file.type || 'unknown')})`;
  }
  try {
    if (bitmap.width === 0 || bitmap.height === 0) return 'the image has no pixels';
    // Cover: the largest centred crop with the model's aspect ratio.
    const scale = Math.min(bitmap.width / width, bitmap.height / height);
    const [sw, sh] = [width * scale, height * scale];
    const [sx, sy] = [(bitmap.width - sw) / 2, (bitmap.height - sh) / 2];
    const ctx = canvas(width, height);
    ctx.imageSmoothingEnabled = true;
    ctx.imageSmoothingQuality = 'high';
    ctx.drawImage(bitmap, sx, sy, sw, sh, 0, 0, width, height);
    return ctx.getImageData(0, 0, width, height).data;
  } finally {
    bitmap.close();
  }
}

/**
 * RGBA to the model's channels, appended to `out` at `at`.
 * @param {Uint8ClampedArray} rgba @param {number} channels @param {Uint8Array} out @param {number} at
 */
function pack(rgba, channels, out, at) {
  const pixels = rgba.length / 4;
  for (let p = 0; p < pixels; p++) {
    const [r, g, b] = [rgba[4 * p], rgba[4 * p + 1], rgba[4 * p + 2]];
    if (channels === 1) {
      out[at + p] = Math.round(0.299 * r + 0.587 * g + 0.114 * b);
    } else {
      out[at + 3 * p] = r;
      out[at + 3 * p + 1] = g;
      out[at + 3 * p + 2] = b;
    }
  }
}

/**
 * The name a skipped file is listed under: its own name, else its class and position.
 * @param {Blob} file @param {string} className @param {number} index
 */
function fileName(file, className, index) {
  const name = /** @type {any} */ (file).name;
  return typeof name === 'string' && name !== '' ? name : `${className} #${index + 1}`;
}

/**
 * Decodes every class's files and packs them as IDX bytes.
 * @param {ImageClass[]} classes @param {{height: number, width: number, channels: number}} size
 * @returns {Promise<{ images: Uint8Array; labels: Uint8Array; skipped: Skipped[]; counts: number[] }>}
 */
export async function packImages(classes, { height, width, channels }) {
  const per = height * width * channels;
  const total = classes.reduce((n, c) => n + c.files.length, 0);
  const header = channels === 1 ? 16 : 20;
  const pixels = new Uint8Array(total * per);
  const labelBytes = new Uint8Array(total);
  /** @type {Skipped[]} */
  const skipped = [];
  const counts = classes.map(() => 0);
  let n = 0;
  for (const [k, c] of classes.entries()) {
    for (const [i, file] of c.files.entries()) {
      const rgba = await decode(file, width, height);
      if (typeof rgba === 'string') {
        const name = fileName(file, c.name, i);
        skipped.push({ file: name, reason: `${name} (class ${JSON.stringify(c.name)}): ${rgba}` });
        continue;
      }
      pack(rgba, channels, pixels, n * per);
      labelBytes[n] = k;
      counts[k]++;
      n++;
    }
  }
  const images = new Uint8Array(header + n * per);
  const view = new DataView(images.buffer);
  view.setUint32(0, channels === 1 ? 0x803 : 0x804);
  view.setUint32(4, n);
  view.setUint32(8, height);
  view.setUint32(12, width);
  if (channels !== 1) view.setUint32(16, channels);
  images.set(pixels.subarray(0, n * per), header);
  const labels = new Uint8Array(8 + n);
  new DataView(labels.buffer).setUint32(0, 0x801);
  new DataView(labels.buffer).setUint32(4, n);
  labels.set(labelBytes.subarray(0, n), 8);
  return { images, labels, skipped, counts };
}

/**
 * The mean and standard deviation of the pixels (as fractions of 255) of packed IDX images.
 * @param {Uint8Array} images @param {number} header
 */
export function pixelStatistics(images, header) {
  let sum = 0;
  let squares = 0;
  const n = images.length - header;
  for (let i = header; i < images.length; i++) {
    const v = images[i] / 255;
    sum += v;
    squares += v * v;
  }
  const mean = n > 0 ? sum / n : 0;
  const std = Math.sqrt(Math.max(squares / Math.max(n, 1) - mean * mean, 0));
  return { mean, std: std > 1e-3 ? std : 1 };
}
