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

/**
 * A key-value store in IndexedDB: database `name` (version 1) with one object store `store`.
 * Each call opens the database, runs one transaction and closes it; errors (private windows,
 * quota) come back as rejected promises for the caller to report.
 * @param {string} name @param {string} store
 */
export function keyValueStore(name, store) {
  /** @returns {Promise<IDBDatabase>} */
  const openDb = () => new Promise((resolve, reject) => {
    const request = indexedDB.open(name, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(store);
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB could not be opened'));
  });
  /** @param {IDBTransactionMode} mode @param {(s: IDBObjectStore) => IDBRequest} action @returns {Promise<any>} */
  const withStore = async (mode, action) => {
    const db = await openDb();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction(store, mode);
        const request = action(tx.objectStore(store));
        tx.oncomplete = () => resolve(request.result);
        tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
        tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
      });
    } finally {
      db.close();
    }
  };
  return {
    /** @param {string} key @returns {Promise<any>} the value, or null */
    get: async (key) => (await withStore('readonly', (s) => s.get(key))) ?? null,
    /** @param {string} key @param {any} value */
    put: (key, value) => withStore('readwrite', (s) => s.put(value, key)),
    /** @param {string} key */
    delete: (key) => withStore('readwrite', (s) => s.delete(key)),
  };
}

const kept = keyValueStore('convlab', 'training');
const KEY = 'current';

/** @returns {Promise<SavedRun | null>} */
export async function loadRun() {
  return /** @type {SavedRun | null} */ (await kept.get(KEY));
}

/** @param {SavedRun} run */
export function saveRun(run) {
  return kept.put(KEY, run);
}

export function clearRun() {
  return kept.delete(KEY);
}

/**
 * Another thing the page keeps across reloads in the same store (the training form's
 * settings, the user's own images): `null` when nothing is kept.
 * @param {string} key @returns {Promise<any>}
 */
export function loadItem(key) {
  return kept.get(key);
}

/** @param {string} key @param {any} value (structured-clonable: Files and bytes are fine) */
export function saveItem(key, value) {
  return kept.put(key, value);
}
