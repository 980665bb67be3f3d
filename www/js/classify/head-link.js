// @ts-check
/**
 * A transfer head in a link: the head's safetensors file (weights, spec and class names in its
 * metadata, exactly what "Download the head" saves) deflated and written in base64url after
 * `#head=1.` (1: this format's version). A 3-class head is 19,496 characters. Reading
 * a link checks every step and names what is wrong; the inflated size is capped, so a hostile
 * link cannot exhaust memory.
 */

/** The most bytes a link's head may inflate to (a 1,000-class head is about 5 MB). */
export const MAX_HEAD_BYTES = 8 << 20;
const PREFIX = 'head=1.';

/** The `#head=1....` fragment of a head file. @param {Uint8Array} file @returns {Promise<string>} */
export async function headFragment(file) {
  const packed = await collect(new Blob([/** @type {Uint8Array<ArrayBuffer>} */ (file)]).stream().pipeThrough(new CompressionStream('deflate-raw')), Infinity);
  return `#${PREFIX}${base64url(packed)}`;
}

/** The link's head text (after `#head=`), or null when the hash carries none. @param {string} hash */
export function headPart(hash) {
  const text = new URLSearchParams(hash.replace(/^#+/, '')).get('head');
  return text === null ? null : `head=${text}`;
}

/**
 * The head file a link carries. Throws an Error saying what is wrong with the link.
 * @param {string} part `head=1.<base64url>` @returns {Promise<Uint8Array>}
 */
export async function readHeadFragment(part) {
  if (!part.startsWith(PREFIX)) {
    const version = part.slice(5).split('.')[0];
    throw new Error(`the link's head is in format "${version.slice(0, 20)}", which this convlab does not read (it reads 1)`);
  }
  const text = part.slice(PREFIX.length);
  if (!/^[A-Za-z0-9_-]*$/.test(text)) throw new Error('the link\'s head holds characters that are not base64url (was the link cut or changed?)');
  let packed;
  try {
    packed = Uint8Array.from(atob(text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - text.length % 4) % 4)), (c) => c.charCodeAt(0));
  } catch {
    throw new Error('the link\'s head is not valid base64url (was the link cut?)');
  }
  try {
    return await collect(new Blob([packed]).stream().pipeThrough(new DecompressionStream('deflate-raw')), MAX_HEAD_BYTES);
  } catch (e) {
    const why = /** @type {Error} */ (e).message;
    throw new Error(/over/.test(why) ? why : 'the link\'s head does not decompress (was the link cut or changed?)');
  }
}

/** All of a byte stream, refusing more than `max` bytes. @param {ReadableStream<Uint8Array>} stream @param {number} max */
async function collect(stream, max) {
  const reader = stream.getReader();
  /** @type {Uint8Array[]} */
  const parts = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > max) {
      await reader.cancel();
      throw new Error(`the link's head inflates to over ${max} bytes, more than a head can hold`);
    }
    parts.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

/** @param {Uint8Array} bytes */
function base64url(bytes) {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
