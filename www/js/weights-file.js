// @ts-check
/**
 * Reads the header of a safetensors weights file (8 bytes little-endian header length, then
 * that much JSON) for the model spec that convlab keeps in its `__metadata__` (src/io/
 * safetensors.rs). Only the header is read here; the core checks every tensor when it loads.
 */

/** The largest header read (convlab's own headers are a few kB plus the spec). */
const MAX_HEADER = 16 * 1024 * 1024;

/**
 * The spec in a weights file's metadata, or null when it has none (a file from elsewhere).
 * Throws an Error that says what is wrong with the file.
 * @param {Uint8Array} bytes
 * @returns {any}
 */
export function readSafetensorsSpec(bytes) {
  if (bytes.length < 8) throw new Error(`it is ${bytes.length} bytes long, too short for a safetensors file`);
  const length = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true));
  if (length < 2 || length > MAX_HEADER || length > bytes.length - 8) {
    throw new Error(`it is not a safetensors file: its first 8 bytes give a header of ${length} bytes, in a file of ${bytes.length}`);
  }
  let header;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + length)));
  } catch {
    throw new Error('it is not a safetensors file: its header is not JSON');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new Error('its safetensors header is not a JSON object');
  const meta = header.__metadata__;
  if (meta?.format !== undefined && meta.format !== 'convlab-weights') {
    throw new Error(`its metadata says format ${JSON.stringify(meta.format)}, not "convlab-weights"`);
  }
  if (typeof meta?.spec !== 'string') return null;
  try {
    return JSON.parse(meta.spec);
  } catch {
    throw new Error('the model spec in its metadata is not JSON');
  }
}
