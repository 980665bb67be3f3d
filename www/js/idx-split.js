// @ts-check
/**
 * Subsets of IDX data sets for the training panel, re-packed as IDX bytes (the form the core and
 * the training worker read): the first `n` images, and a stratified hold-out that keeps the
 * same fraction of every class for validation and the test. The user's own images arrive class
 * by class (www/js/user-data.js), so "the last 20%" of the file would hold out whole classes; a
 * per-class split does not. Grey images have a 16-byte header `[n, h, w]` (magic 0x803), colour
 * ones a 20-byte header `[n, h, w, c]` (0x804); labels an 8-byte one.
 */

/**
 * The geometry of IDX image bytes, read from their header.
 * @param {Uint8Array} images
 * @returns {{header: number, n: number, height: number, width: number, channels: number, per: number}}
 */
export function idxGeometry(images) {
  const view = new DataView(images.buffer, images.byteOffset, images.byteLength);
  const dims = view.getUint8(3);
  const n = view.getUint32(4);
  const height = view.getUint32(8);
  const width = view.getUint32(12);
  const channels = dims >= 4 ? view.getUint32(16) : 1;
  return { header: 4 + 4 * dims, n, height, width, channels, per: height * width * channels };
}

/**
 * The images at `indices` (in that order) as IDX image and label bytes of their own.
 * @param {Uint8Array} images @param {Uint8Array} labels @param {number[]} indices
 */
export function pickIdx(images, labels, indices) {
  const { header, per } = idxGeometry(images);
  const outImages = new Uint8Array(header + indices.length * per);
  outImages.set(images.subarray(0, header));
  new DataView(outImages.buffer).setUint32(4, indices.length);
  const outLabels = new Uint8Array(8 + indices.length);
  outLabels.set(labels.subarray(0, 8));
  new DataView(outLabels.buffer).setUint32(4, indices.length);
  indices.forEach((i, j) => {
    outImages.set(images.subarray(header + i * per, header + (i + 1) * per), header + j * per);
    outLabels[8 + j] = labels[8 + i];
  });
  return { images: outImages, labels: outLabels };
}

/**
 * A stratified split: of each class's images (in their order), the last `percent`% (rounded,
 * at least one where the class has two or more images) are held out.
 * @param {Uint8Array} labels IDX label bytes @param {number} percent
 * @returns {{train: number[], held: number[], perClass: {train: number, held: number}[]}}
 */
export function stratifiedSplit(labels, percent) {
  /** @type {number[][]} */
  const byClass = [];
  for (let i = 8; i < labels.length; i++) (byClass[labels[i]] ??= []).push(i - 8);
  const train = [];
  const held = [];
  const perClass = [];
  for (let k = 0; k < byClass.length; k++) {
    const members = byClass[k] ?? [];
    const wanted = Math.round(members.length * percent / 100);
    const k0 = members.length >= 2 ? Math.min(Math.max(wanted, 1), members.length - 1) : 0;
    train.push(...members.slice(0, members.length - k0));
    held.push(...members.slice(members.length - k0));
    perClass.push({ train: members.length - k0, held: k0 });
  }
  return { train, held, perClass };
}

/**
 * The first `n` images of IDX bytes (0 or at least all: unchanged).
 * @param {Uint8Array} images @param {Uint8Array} labels @param {number} n
 */
export function firstIdx(images, labels, n) {
  const { n: total } = idxGeometry(images);
  if (!n || n >= total) return { images, labels };
  return pickIdx(images, labels, Array.from({ length: n }, (_, i) => i));
}
