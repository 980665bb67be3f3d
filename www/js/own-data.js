// @ts-check
/**
 * The user's own data for the training panel. Images: a Teachable-Machine-style list of classes
 * (at least two; add, remove, rename), each with a drop zone that takes files and folders
 * (DataTransferItem.webkitGetAsEntry, read recursively) and pickers for files and for a folder
 * (webkitdirectory), with thumbnails and a count. IDX: an images file and a labels file (gzip
 * or not). `build` turns either into training and held-out sets of the model's input shape
 * (convlab.data.fromImages resizes; IDX files must match) with a stratified hold-out
 * (idx-split.js), lists the files that were skipped and why, and caches the result until the
 * files, the shape or the fraction change.
 */
import api from './core.js';
import { idxGeometry, pickIdx, stratifiedSplit } from './idx-split.js';
import { pixelStatistics } from './user-data.js';
import { loadItem, saveItem } from './persist.js';

/** The IndexedDB key of the user's classes and images. */
const SAVED = 'own-images';

/** Thumbnails shown per class at most. */
const THUMBS = 12;

/**
 * @typedef {{id: number, name: string, files: File[], urls: string[]}} OwnClass
 * @typedef {{height: number, width: number, channels: number}} InputShape
 * @typedef {{train: any, held: any, classNames: string[]}} OwnSplit
 */

/** @param {string} tag @param {Record<string, any>} [props] @param {(Node | string)[]} [children] */
function el(tag, props = {}, children = []) {
  const node = Object.assign(document.createElement(tag), props);
  node.append(...children);
  return node;
}

/**
 * Every file under a dropped entry (a file, or a folder read to the bottom).
 * @param {any} entry a FileSystemEntry @returns {Promise<File[]>}
 */
async function filesOf(entry) {
  if (!entry) return [];
  if (entry.isFile) return [await new Promise((resolve, reject) => entry.file(resolve, reject))];
  const reader = entry.createReader();
  const found = [];
  // readEntries answers in batches (100 in Chromium) until an empty one.
  for (;;) {
    /** @type {any[]} */
    const batch = await new Promise((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) found.push(...await filesOf(child));
  }
  return found;
}

/** @param {DataTransfer} transfer @returns {Promise<File[]>} the dropped files, folders opened */
async function droppedFiles(transfer) {
  const entries = [...transfer.items].map((item) => item.webkitGetAsEntry?.()).filter(Boolean);
  if (entries.length === 0) return [...transfer.files];
  const lists = await Promise.all(entries.map(filesOf));
  return lists.flat();
}

/** @param {Uint8Array} bytes gzip or raw @returns {Promise<Uint8Array>} */
async function gunzipped(bytes) {
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return bytes;
  const stream = new Blob([/** @type {Uint8Array<ArrayBuffer>} */ (bytes)]).stream().pipeThrough(new DecompressionStream('gzip'));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export class OwnData {
  /** @param {HTMLElement} host @param {() => void} onChange called when the data changes */
  constructor(host, onChange) {
    this.host = host;
    this.onChange = onChange;
    /** @type {OwnClass[]} */
    this.classes = [];
    this.nextId = 1;
    this.version = 0;
    /** @type {{key: string, promise: Promise<OwnSplit>} | null} */
    this.cache = null;
    this.kind = '';
    // Nothing is saved until restore() has read what was kept: the two empty classes made
    // here must not overwrite the user's images before they come back.
    this.restoring = true;
    /** @type {ReturnType<typeof setTimeout> | undefined} */
    this.saveTimer = undefined;
    this.list = el('ol', { id: 'tp-classes', className: 'own-classes' });
    this.imagesPart = el('div', { id: 'tp-own-images' });
    this.idxPart = el('div', { id: 'tp-own-idx' });
    this.summary = el('p', { id: 'tp-own-summary', className: 'note' });
    this.skipped = el('ul', { id: 'tp-own-skipped', className: 'skipped' });
    this.render();
    this.addClass();
    this.addClass();
  }

  render() {
    const add = el('button', { id: 'tp-add-class', type: 'button', textContent: 'Add a class' });
    add.addEventListener('click', () => this.addClass());
    this.imagesPart.append(
      el('h3', { textContent: 'Your own images' }),
      el('p', { className: 'note', textContent: 'One class per kind of picture, at least two. Drop images or whole folders on a class, or choose them; they are centre-cropped and resized to the model\'s input.' }),
      this.list, add,
    );
    const idxInput = (/** @type {string} */ id, /** @type {string} */ label) => el('label', { textContent: `${label} ` }, [el('input', { id, type: 'file' })]);
    this.idxPart.append(
      el('h3', { textContent: 'Your IDX files' }),
      el('p', { className: 'note', textContent: 'An images file and its labels file (as MNIST\'s, gzip or not), of the model\'s input size.' }),
      idxInput('tp-idx-images', 'Images file'), idxInput('tp-idx-labels', 'Labels file'),
    );
    for (const id of ['tp-idx-images', 'tp-idx-labels']) this.idxPart.querySelector(`#${id}`)?.addEventListener('change', () => this.changed());
    this.summary.setAttribute('aria-live', 'polite');
    this.host.replaceChildren(this.imagesPart, this.idxPart, this.summary, this.skipped);
  }

  /** Shows the part for `kind` ('images' or 'idx'), or hides the section. @param {string} kind */
  show(kind) {
    this.host.hidden = kind !== 'images' && kind !== 'idx';
    this.imagesPart.hidden = kind !== 'images';
    this.idxPart.hidden = kind !== 'idx';
    this.kind = kind;
  }

  /** @param {boolean} disabled */
  setDisabled(disabled) {
    for (const c of /** @type {NodeListOf<HTMLInputElement | HTMLButtonElement>} */ (this.host.querySelectorAll('input, button'))) c.disabled = disabled;
    if (!disabled) this.updateRemoveButtons();
  }

  changed() {
    this.version++;
    this.cache = null;
    this.onChange();
    this.save();
  }

  /** Keeps the classes and their files in IndexedDB (the latest state; failures shown). */
  save() {
    if (this.restoring) return;
    clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => {
      const value = { classes: this.classes.map((c) => ({ name: c.name, files: c.files })) };
      const files = value.classes.reduce((a, c) => a + c.files.length, 0);
      saveItem(SAVED, value).then(() => { this.summary.dataset.keptFiles = String(files); }).catch((e) => {
        const quota = e?.name === 'QuotaExceededError' ? ' (the browser\'s storage quota is full)' : '';
        this.fail(`Your images could not be kept in this browser${quota}: ${e?.message ?? e}. They stay until you reload.`);
      });
    }, 200);
  }

  /** Brings back the classes and images kept in IndexedDB, if any (after a reload or a crash). */
  async restore() {
    /** @type {{classes: {name: string, files: File[]}[]} | null} */
    let saved;
    try {
      saved = await loadItem(SAVED);
    } catch (e) {
      this.restoring = false;
      this.fail(`Your images kept in this browser could not be read: ${/** @type {Error} */ (e).message}`);
      return;
    }
    if (!saved?.classes?.length) {
      this.restoring = false;
      return;
    }
    try {
      for (const c of this.classes) c.urls.forEach((u) => URL.revokeObjectURL(u));
      this.classes = [];
      this.list.replaceChildren();
      for (const kept of saved.classes) {
        this.addClass();
        const c = this.classes[this.classes.length - 1];
        c.name = kept.name;
        /** @type {HTMLInputElement} */ (this.list.querySelector(`#tp-class-${c.id}-name`)).value = kept.name;
        this.addFiles(c, kept.files.filter((f) => f instanceof Blob));
      }
      while (this.classes.length < 2) this.addClass();
    } finally {
      this.restoring = false;
    }
    const n = this.classes.reduce((a, c) => a + c.files.length, 0);
    if (n > 0) this.summary.textContent = `${n} of your images came back from this browser's storage.`;
  }

  addClass() {
    const c = { id: this.nextId++, name: `Class ${this.classes.length + 1}`, files: [], urls: [] };
    this.classes.push(c);
    this.list.append(this.classItem(c));
    this.updateRemoveButtons();
    this.changed();
  }

  /** @param {OwnClass} c */
  removeClass(c) {
    if (this.classes.length <= 2) return;
    c.urls.forEach((u) => URL.revokeObjectURL(u));
    this.classes = this.classes.filter((x) => x !== c);
    this.list.querySelector(`[data-class="${c.id}"]`)?.remove();
    this.updateRemoveButtons();
    this.changed();
  }

  updateRemoveButtons() {
    for (const b of /** @type {NodeListOf<HTMLButtonElement>} */ (this.list.querySelectorAll('.remove-class'))) b.disabled = this.classes.length <= 2;
  }

  /** @param {OwnClass} c @returns {HTMLElement} */
  classItem(c) {
    const name = el('input', { id: `tp-class-${c.id}-name`, className: 'class-name', type: 'text', value: c.name });
    name.setAttribute('aria-label', 'Class name');
    name.addEventListener('input', () => { c.name = name.value.trim(); this.changed(); });
    const files = el('input', { id: `tp-class-${c.id}-files`, className: 'class-files', type: 'file', multiple: true, accept: 'image/*' });
    const folder = el('input', { id: `tp-class-${c.id}-folder`, className: 'class-folder', type: 'file', multiple: true });
    folder.setAttribute('webkitdirectory', '');
    for (const input of [files, folder]) {
      input.addEventListener('change', () => { this.addFiles(c, [...(input.files ?? [])]); input.value = ''; });
    }
    const zone = el('div', { className: 'drop-zone' }, [
      'Drop images or folders here, or ',
      el('label', { className: 'file-button' }, ['choose files', files]), ' ',
      el('label', { className: 'file-button' }, ['a folder', folder]),
    ]);
    zone.addEventListener('dragover', (e) => { e.preventDefault(); zone.classList.add('over'); });
    zone.addEventListener('dragleave', () => zone.classList.remove('over'));
    zone.addEventListener('drop', async (e) => {
      e.preventDefault();
      zone.classList.remove('over');
      if (e.dataTransfer) this.addFiles(c, await droppedFiles(e.dataTransfer));
    });
    const remove = el('button', { type: 'button', className: 'remove-class', textContent: 'Remove class' });
    remove.addEventListener('click', () => this.removeClass(c));
    const clear = el('button', { type: 'button', className: 'clear-class', textContent: 'Clear images' });
    clear.addEventListener('click', () => { c.files = []; this.showFiles(c); this.changed(); });
    const item = el('li', { className: 'own-class' }, [
      el('div', { className: 'class-head' }, [name, el('span', { className: 'class-count', textContent: '0 files' }), clear, remove]),
      zone, el('div', { className: 'thumbs' }),
    ]);
    item.dataset.class = String(c.id);
    return item;
  }

  /** @param {OwnClass} c @param {File[]} files */
  addFiles(c, files) {
    c.files.push(...files);
    this.showFiles(c);
    this.changed();
  }

  /** Thumbnails and the count of a class. @param {OwnClass} c */
  showFiles(c) {
    const item = this.list.querySelector(`[data-class="${c.id}"]`);
    if (!item) return;
    c.urls.forEach((u) => URL.revokeObjectURL(u));
    c.urls = c.files.slice(0, THUMBS).map((f) => URL.createObjectURL(f));
    const thumbs = c.urls.map((src, i) => el('img', { src, alt: c.files[i].name, title: c.files[i].name }));
    const more = c.files.length > THUMBS ? [el('span', { className: 'note', textContent: `+${c.files.length - THUMBS} more` })] : [];
    /** @type {HTMLElement} */ (item.querySelector('.thumbs')).replaceChildren(...thumbs, ...more);
    /** @type {HTMLElement} */ (item.querySelector('.class-count')).textContent = `${c.files.length} file${c.files.length === 1 ? '' : 's'}`;
  }

  /**
   * The training and held-out sets for a model of input `shape`, `holdout`% of each class held
   * out. Throws with a message that names what is wrong (a file, a class, a shape).
   * @param {InputShape} shape @param {number} holdout @returns {Promise<OwnSplit>}
   */
  build(shape, holdout) {
    const key = `${this.kind}|${this.version}|${shape.height}x${shape.width}x${shape.channels}|${holdout}`;
    if (this.cache?.key !== key) {
      const promise = this.load(shape).then((d) => this.split(d, holdout));
      promise.catch(() => { if (this.cache?.promise === promise) this.cache = null; });
      this.cache = { key, promise };
    }
    return this.cache.promise;
  }

  /** @param {InputShape} shape */
  async load(shape) {
    this.skipped.replaceChildren();
    this.summary.textContent = 'Reading your data...';
    if (this.kind === 'idx') return this.loadIdx(shape);
    const channels = /** @type {1 | 3} */ (shape.channels === 3 ? 3 : 1);
    const empty = this.classes.filter((c) => c.files.length === 0).map((c) => JSON.stringify(c.name));
    if (empty.length) throw new Error(`add images to ${empty.length === 1 ? 'class' : 'classes'} ${empty.join(', ')}`);
    if (shape.channels !== 1 && shape.channels !== 3) throw new Error(`the model takes ${shape.channels} channels; your images can feed models of 1 (grey) or 3 (colour) channels`);
    const data = await api.data.fromImages(this.classes.map((c) => ({ name: c.name, files: c.files })), { height: shape.height, width: shape.width, channels });
    this.skipped.replaceChildren(...data.skipped.map((s) => el('li', { textContent: `Skipped ${s.reason}` })));
    return data;
  }

  /** @param {InputShape} shape */
  async loadIdx(shape) {
    const pick = (/** @type {string} */ id) => /** @type {HTMLInputElement} */ (this.idxPart.querySelector(`#${id}`)).files?.[0];
    const [imagesFile, labelsFile] = [pick('tp-idx-images'), pick('tp-idx-labels')];
    if (!imagesFile || !labelsFile) throw new Error('choose an images file and a labels file');
    const images = await gunzipped(new Uint8Array(await imagesFile.arrayBuffer()));
    const labels = await gunzipped(new Uint8Array(await labelsFile.arrayBuffer()));
    let classes = 2;
    for (let i = 8; i < labels.length; i++) classes = Math.max(classes, labels[i] + 1);
    // The core checks magic numbers, lengths and counts, and names the file in its message.
    const names = { imagesName: imagesFile.name, labelsName: labelsFile.name };
    const data = api.data.fromIdx(images, labels, { classes, ...names });
    const [h, w, c] = data.imageShape;
    if (h !== shape.height || w !== shape.width || (c ?? 1) !== shape.channels) {
      throw new Error(`${imagesFile.name} holds ${h}x${w}x${c ?? 1} images; the model takes ${shape.height}x${shape.width}x${shape.channels}`);
    }
    const { mean, std } = pixelStatistics(images, idxGeometry(images).header);
    return { ...data, options: { classes, mean, std, ...names }, classNames: Array.from({ length: classes }, (_, k) => String(k)), skipped: [] };
  }

  /** @param {any} data @param {number} holdout @returns {OwnSplit} */
  split(data, holdout) {
    const { train, held, perClass } = stratifiedSplit(data.labels, holdout);
    if (held.length === 0) throw new Error('too few images to hold any out: give each class at least two');
    const part = (/** @type {number[]} */ indices, /** @type {string} */ what) => {
      const bytes = pickIdx(data.images, data.labels, indices);
      return api.data.fromIdx(bytes.images, bytes.labels, { ...data.options, imagesName: `${data.options.imagesName} (${what})`, labelsName: `${data.options.labelsName} (${what})` });
    };
    const names = data.classNames;
    const each = perClass.map((p, k) => `${names[k]}: ${p.train} + ${p.held}`).join(', ');
    const skipped = data.skipped.length ? `; ${data.skipped.length} file${data.skipped.length === 1 ? '' : 's'} skipped (below)` : '';
    this.summary.textContent = `${train.length} images for training, ${held.length} held out for validation and the test (${each})${skipped}.`;
    return { train: part(train, 'training'), held: part(held, 'held out'), classNames: names };
  }

  /** @param {string} text */
  fail(text) {
    this.summary.textContent = text;
  }
}
