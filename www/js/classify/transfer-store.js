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

const DB = 'convlab-transfer';
const STORE = 'state';
const KEY = 'current';

/** @returns {Promise<IDBDatabase>} */
function openDb() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB could not be opened'));
  });
}

/**
 * @param {IDBTransactionMode} mode @param {(store: IDBObjectStore) => IDBRequest} action
 * @returns {Promise<any>}
 */
async function withStore(mode, action) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request.result);
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  } finally {
    db.close();
  }
}

/** @returns {Promise<SavedTransfer | null>} */
export async function loadTransfer() {
  return (await withStore('readonly', (s) => s.get(KEY))) ?? null;
}

/** @param {SavedTransfer} state */
export function saveTransfer(state) {
  return withStore('readwrite', (s) => s.put(state, KEY));
}

export function clearTransfer() {
  return withStore('readwrite', (s) => s.delete(KEY));
}
