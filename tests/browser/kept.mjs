// For page.evaluate: deletes what the training panel autosaves besides the run (the form's
// settings, the user's own images) from IndexedDB; resolves to whether anything was kept.
export async function forgetKept() {
  const db = await new Promise((resolve, reject) => {
    const q = indexedDB.open('convlab', 1);
    q.onupgradeneeded = () => q.result.createObjectStore('training');
    q.onsuccess = () => resolve(q.result);
    q.onerror = () => reject(q.error);
  });
  const keys = ['train-form', 'own-images'];
  const tx = db.transaction('training', 'readwrite');
  const store = tx.objectStore('training');
  const found = await Promise.all(keys.map((k) => new Promise((r) => { const q = store.count(k); q.onsuccess = () => r(q.result > 0); })));
  keys.forEach((k) => store.delete(k));
  await new Promise((r) => { tx.oncomplete = r; });
  db.close();
  return found.some(Boolean);
}
