// @ts-check
/**
 * The training panel's memory across reloads, in IndexedDB (database `convlab`, store
 * `training`): one record, `current`, holding the model's spec, the latest weights
 * (safetensors bytes, rewritten after every epoch while a model trains; with the trainer's
 * checkpoint where the core makes one), the settings, the
 * epoch history and, once a run has finished, its test result. A reload during training so
 * loses at most the epoch in progress. Failures (private windows, quota) are reported, never
 * thrown at the page.
 *
 * @typedef {{
 *   spec: any, weights: Uint8Array, checkpoint?: Uint8Array | null,
 *   settings: import('./train-settings.js').TrainSettings,
 *   modelChoice: string, history: any[], epoch: number, status: 'training' | 'done' | 'stopped' | 'uploaded',
 *   test: {accuracy: number, loss: number} | null, savedAt: number,
 *   classNames?: string[] | null,
 * }} SavedRun
 */

const DB = 'convlab';
const STORE = 'training';
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
 * @template T
 * @param {IDBTransactionMode} mode @param {(store: IDBObjectStore) => IDBRequest} action
 * @returns {Promise<T>}
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

/** @returns {Promise<SavedRun | null>} */
export async function loadRun() {
  const run = await withStore('readonly', (s) => s.get(KEY));
  return /** @type {SavedRun | undefined} */ (run) ?? null;
}

/** @param {SavedRun} run */
export function saveRun(run) {
  return withStore('readwrite', (s) => s.put(run, KEY));
}

export function clearRun() {
  return withStore('readwrite', (s) => s.delete(KEY));
}

/**
 * Another thing the page keeps across reloads in the same store (the training form's
 * settings, the user's own images): `null` when nothing is kept.
 * @param {string} key @returns {Promise<any>}
 */
export async function loadItem(key) {
  return (await withStore('readonly', (s) => s.get(key))) ?? null;
}

/** @param {string} key @param {any} value (structured-clonable: Files and bytes are fine) */
export function saveItem(key, value) {
  return withStore('readwrite', (s) => s.put(value, key));
}
