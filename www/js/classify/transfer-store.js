// @ts-check
/**
 * Keeps the transfer-learning classes (names, images as JPEG blobs, their cached MobileNetV2
 * embeddings) and the trained head in IndexedDB, so a reload keeps them. Its own database
 * (`convlab-transfer`, store `state`, record `current`): the training panel's database
 * (persist.js) is at version 1 with one store, and adding one there would need an upgrade
 * both modules agree on. Failures (private windows, quota) are reported, never thrown at the
 * page.
 *
 * @typedef {{blob: Blob, embedding: Float32Array | null}} SavedImage
 * @typedef {{name: string, images: SavedImage[]}} SavedClass
 * @typedef {{spec: any, weights: Uint8Array, classNames: string[], scale: number, accuracy: number | null, trainedAt: number, source: string}} SavedHead
 * @typedef {{classes: SavedClass[], head: SavedHead | null, savedAt: number}} SavedTransfer
 */

import { keyValueStore } from '../persist.js';

const kept = keyValueStore('convlab-transfer', 'state');
const KEY = 'current';

/** @returns {Promise<SavedTransfer | null>} */
export function loadTransfer() {
  return kept.get(KEY);
}

/** @param {SavedTransfer} state */
export function saveTransfer(state) {
  return kept.put(KEY, state);
}

export function clearTransfer() {
  return kept.delete(KEY);
}
