// @ts-check
/**
 * The editor's work kept in the browser (IndexedDB database `convlab-editor`): each piece of
 * work is one record in `works` (the spec, which blocks are expanded, the undo history and
 * where in it the user is), and `meta/current` says which one the editor shows. Opening a
 * shared link "beside" the current work adds a record, so the old one stays listed.
 * Every failure (a private window, a full quota) rejects with the browser's error, for the
 * editor to report; nothing is swallowed here.
 *
 * @typedef {{
 *   id: string, name: string, spec: any, expanded: string[], timeline: string[], cursor: number,
 *   session: string, savedAt: number,
 * }} Work
 */

const DB = 'convlab-editor';

/** @returns {Promise<IDBDatabase>} */
function openDb() {
  return new Promise((resolve, reject) => {
    let request;
    try {
      request = indexedDB.open(DB, 1);
    } catch (e) {
      reject(e);
      return;
    }
    request.onupgradeneeded = () => {
      request.result.createObjectStore('works', { keyPath: 'id' });
      request.result.createObjectStore('meta');
    };
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error ?? new Error('IndexedDB could not be opened'));
  });
}

/**
 * @template T
 * @param {string} store @param {IDBTransactionMode} mode @param {(s: IDBObjectStore) => IDBRequest | void} action
 * @returns {Promise<T>}
 */
async function withStore(store, mode, action) {
  const db = await openDb();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode);
      /** @type {IDBRequest | void} */
      let request;
      try {
        request = action(tx.objectStore(store));
      } catch (e) {
        tx.abort();
        reject(e);
        return;
      }
      tx.oncomplete = () => resolve(request ? request.result : undefined);
      tx.onerror = () => reject(tx.error ?? new Error('IndexedDB transaction failed'));
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  } finally {
    db.close();
  }
}

/** @returns {Promise<{id: string, name: string, savedAt: number}[]>} newest first */
export async function listWorks() {
  /** @type {Work[]} */
  const all = await withStore('works', 'readonly', (s) => s.getAll());
  return all.map((w) => ({ id: w.id, name: w.name, savedAt: w.savedAt })).sort((a, b) => b.savedAt - a.savedAt);
}

/** @param {string} id @returns {Promise<Work | null>} */
export async function loadWork(id) {
  return (await withStore('works', 'readonly', (s) => s.get(id))) ?? null;
}

/** Writes a work and makes it the current one. @param {Work} work */
export async function saveWork(work) {
  await withStore('works', 'readwrite', (s) => { s.put(work); });
  await withStore('meta', 'readwrite', (s) => s.put(work.id, 'current'));
}

/** @returns {Promise<Work | null>} the work the editor showed last */
export async function loadCurrent() {
  /** @type {string | undefined} */
  const id = await withStore('meta', 'readonly', (s) => s.get('current'));
  return id ? loadWork(id) : null;
}

/** @param {string} id */
export function deleteWork(id) {
  return withStore('works', 'readwrite', (s) => s.delete(id));
}

/** A new work's id. */
export function newId() {
  return `w${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
}

/** The words for a storage error: quota errors say so. @param {unknown} e */
export function describe(e) {
  const err = /** @type {{name?: string, message?: string}} */ (e);
  if (err?.name === 'QuotaExceededError') return `the browser's storage quota is full (${err.message || 'QuotaExceededError'}); free some space (other sites' data, or older saved models below) and edit again to retry`;
  return `${err?.name ?? 'Error'}: ${err?.message ?? String(e)}`;
}
