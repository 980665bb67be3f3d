// @ts-check
/**
 * Still images for the Classify view: a file picked, dropped or pasted, or one of the sample
 * photos. Each is decoded to an ImageBitmap; anything that is not a decodable image is refused
 * with a message naming it.
 */

/** The sample photos the site ships (www/assets/photos/). */
export const SAMPLES = [
  { name: 'china.jpg', url: new URL('../../assets/photos/china.jpg', import.meta.url).href },
  { name: 'flower.jpg', url: new URL('../../assets/photos/flower.jpg', import.meta.url).href },
];

/** Files larger than this are refused before decoding (a photo is a few MB). */
export const MAX_BYTES = 64 * 1024 * 1024;

/** @typedef {{name: string, bitmap: ImageBitmap}} Still */

/**
 * Decodes a user's file or blob.
 * @param {Blob} file @param {string} [fallbackName] @returns {Promise<Still>}
 */
export async function decode(file, fallbackName = 'the pasted item') {
  const name = /** @type {File} */ (file).name || fallbackName;
  if (file.type && !file.type.startsWith('image/')) throw new Error(`${name} is not an image (its type is ${file.type})`);
  if (file.size > MAX_BYTES) throw new Error(`${name} is ${(file.size / 1048576).toFixed(0)} MB, more than the ${MAX_BYTES / 1048576} MB an image may be`);
  try {
    return { name, bitmap: await createImageBitmap(file) };
  } catch {
    throw new Error(`${name} could not be decoded as an image${file.type ? '' : ' (its type is unknown)'}`);
  }
}

/** @param {{name: string, url: string}} sample @returns {Promise<Still>} */
export async function loadSample(sample) {
  const response = await fetch(sample.url);
  if (!response.ok) throw new Error(`${sample.name} could not be loaded (HTTP ${response.status}); run \`make photos\``);
  return decode(Object.assign(await response.blob(), { name: sample.name }), sample.name);
}

/**
 * Wires a drop zone (drag and drop; its file input is the keyboard's way in), a file input and paste on
 * the document (only while `active()` says the view is shown) to `take(file)`.
 * @param {{zone: HTMLElement, input: HTMLInputElement, active: () => boolean, take: (file: File) => void}} parts
 */
export function wireImageInputs({ zone, input, active, take }) {
  input.addEventListener('change', () => {
    const file = input.files?.[0];
    if (file) take(file);
    input.value = '';
  });
  zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
  zone.addEventListener('dragleave', () => zone.classList.remove('over'));
  zone.addEventListener('drop', (e) => {
    e.preventDefault();
    zone.classList.remove('over');
    const file = e.dataTransfer?.files?.[0];
    if (file) take(file);
  });
  document.addEventListener('paste', (e) => {
    if (!active()) return;
    const item = [...(e.clipboardData?.items ?? [])].find((i) => i.kind === 'file');
    const file = item?.getAsFile();
    if (file) { e.preventDefault(); take(file); }
  });
}
