// @ts-check
/**
 * Transfer learning, Teachable-Machine style: MobileNetV2's pretrained layers stay frozen and
 * only a new softmax head learns. The user names two or more classes and gives each a few
 * images (hold a button to capture a burst from the webcam, or upload files); "Train the head"
 * computes each image's MobileNetV2 embedding in the worker (once: cached with the image) and
 * trains a Dense softmax layer on them with the core's Trainer (transfer-handlers.js); then the
 * model picker offers "your own classes" (backbone + head), live on the webcam too. The head
 * downloads as a safetensors file with its class names and loads back, or travels in a link
 * (head-link.js; opening one never replaces a kept head without asking: it can be used beside
 * it); classes, images, embeddings and head are kept in IndexedDB (transfer-store.js).
 */
import * as infer from '../infer.js';
import { el, say, messageOf, percent } from './dom.js';
import { MOBILENET_KEY, withMetadata, backendChoice } from './models.js';
import { headFragment, headPart, readHeadFragment } from './head-link.js';
import { captureFrame, fromFile, embed } from './transfer-images.js';
import { loadTransfer, saveTransfer } from './transfer-store.js';

/** The most images a class keeps. */
const MAX_PER_CLASS = 200;
/** Frames captured per second while the capture button is held. */
const BURST_HZ = 6;
const HEAD_KEY = 'classify:transfer-head';
const LINKED_KEY = 'classify:linked-head';

/**
 * @typedef {{blob: Blob, url: string, embedding: Float32Array | null}} TImage
 * @typedef {{count: HTMLElement, thumbs: HTMLElement, remove: HTMLButtonElement, uploadText: HTMLElement}} ClassView
 * @typedef {{id: number, name: string, images: TImage[], view?: ClassView}} TClass
 * @typedef {import('./transfer-store.js').SavedHead} Head
 * @typedef {import('./models.js').Classifier} Classifier
 * @typedef {{
 *   camera: import('./camera.js').Camera, startCamera: () => Promise<void>,
 *   backbone: () => Promise<Classifier>,
 *   offer: (value: 'transfer' | 'linked', text: string, loader: (() => Promise<Classifier>) | null) => void,
 *   choose: (value: 'transfer' | 'linked') => void,
 * }} Deps
 */

export class Transfer {
  /** @param {HTMLElement} host @param {Deps} deps */
  constructor(host, deps) {
    this.deps = deps;
    /** @type {TClass[]} */
    this.classes = [];
    this.nextId = 1;
    /** @type {Head | null} */
    this.head = null;
    this.list = el('ol', { id: 'cl-tl-classes', className: 'cl-tl-classes' });
    this.addButton = el('button', { type: 'button', id: 'cl-tl-add' }, ['Add a class']);
    this.trainButton = el('button', { type: 'button', id: 'cl-tl-train' }, ['Train the head']);
    this.downloadButton = el('button', { type: 'button', id: 'cl-tl-download', disabled: true }, ['Download the head']);
    this.headInput = el('input', { type: 'file', id: 'cl-tl-load', accept: '.safetensors,application/octet-stream' });
    this.linkButton = el('button', { type: 'button', id: 'cl-tl-link', disabled: true }, ['Copy a link to the head']);
    this.linkField = el('input', { type: 'text', id: 'cl-tl-link-field', readOnly: true, hidden: true, 'aria-label': 'Link to the head' });
    /** Where a link's head waits for the user's choice. */
    this.linked = el('div', { id: 'cl-tl-linked', className: 'cl-tl-linked', role: 'group', 'aria-label': 'A head from a link', hidden: true });
    this.status = el('p', { id: 'cl-tl-status', className: 'note', role: 'status' });
    this.problems = el('p', { id: 'cl-tl-message', className: 'note', role: 'alert', hidden: true });
    host.append(
      el('h3', { id: 'cl-tl-h' }, ['Teach it your own classes (transfer learning)']),
      el('p', { className: 'note' }, ['MobileNetV2\'s pretrained layers stay frozen; only a new last layer learns, from a few images per class, in seconds. Hold a capture button to take a burst from the webcam, or upload images.']),
      this.list,
      el('div', { className: 'cl-buttons' }, [this.addButton, this.trainButton, this.downloadButton, this.linkButton,
        el('label', { className: 'file-button' }, ['Load a head (.safetensors)', this.headInput])]),
      this.linkField, this.linked, this.problems, this.status,
    );
    this.addButton.addEventListener('click', () => { this.addClass(`Class ${this.classes.length + 1}`); this.changed(true); });
    this.trainButton.addEventListener('click', () => this.train());
    this.downloadButton.addEventListener('click', () => this.download());
    this.linkButton.addEventListener('click', () => this.copyLink());
    this.headInput.addEventListener('change', () => this.loadFromInput());
    /** @type {ReturnType<typeof setTimeout> | null} */
    this.saveTimer = null;
    /** @type {Set<() => void>} the stop functions of the captures running */
    this.captures = new Set();
  }

  /** Restores what IndexedDB keeps, else starts with two empty classes. */
  async restore() {
    let saved = null;
    try { saved = await loadTransfer(); } catch (e) { say(this.problems, `Your classes could not be read from this browser: ${messageOf(e)}`, true); }
    for (const c of saved?.classes ?? []) {
      this.addClass(c.name, c.images.map((i) => ({ blob: i.blob, url: URL.createObjectURL(i.blob), embedding: i.embedding ?? null })));
    }
    while (this.classes.length < 2) this.addClass(`Class ${this.classes.length + 1}`);
    this.render();
    if (saved?.head) {
      this.setHead(saved.head);
      say(this.status, `Kept in this browser: a head for ${saved.head.classNames.join(', ')}, trained ${new Date(saved.head.trainedAt).toLocaleString()}.`);
    }
  }

  /** @param {string} name @param {TImage[]} [images] */
  addClass(name, images = []) {
    this.classes.push({ id: this.nextId++, name, images });
  }

  /**
   * Shows the change and saves (debounced). `structure`: classes were added or removed, so the
   * list is rebuilt (any capture stops); otherwise each class's count, names and thumbnails are
   * updated in place, so a held capture button stays the same element.
   * @param {boolean} [structure]
   */
  changed(structure = false) {
    if (structure) this.render();
    else this.classes.forEach((c) => this.refreshClass(c));
    this.list.dataset.images = String(this.classes.reduce((a, c) => a + c.images.length, 0));
    this.staleNote();
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => this.save(), 300);
  }

  /** Says when the classes no longer match the head the picker offers. */
  staleNote() {
    const names = this.classes.map((c) => c.name);
    const stale = this.head && (names.length !== this.head.classNames.length || names.some((n, i) => n !== this.head?.classNames[i]));
    this.trainButton.textContent = stale ? 'Train the head again (the classes changed)' : 'Train the head';
  }

  async save() {
    try {
      await saveTransfer({
        classes: this.classes.map((c) => ({ name: c.name, images: c.images.map((i) => ({ blob: i.blob, embedding: i.embedding })) })),
        head: this.head, savedAt: Date.now(),
      });
      this.list.dataset.saved = String(Date.now());
    } catch (e) {
      say(this.problems, `Your classes could not be kept in this browser: ${messageOf(e)}`, true);
    }
  }

  /** Rebuilds the list of classes. */
  render() {
    for (const stop of [...this.captures]) stop();
    this.list.replaceChildren(...this.classes.map((c, n) => this.classItem(c, n)));
    this.list.dataset.images = String(this.classes.reduce((a, c) => a + c.images.length, 0));
  }

  /** @param {TClass} c @param {number} n */
  classItem(c, n) {
    const nameId = `cl-tl-name-${c.id}`;
    const name = el('input', { type: 'text', id: nameId, value: c.name, maxLength: 60, className: 'cl-tl-name' });
    name.addEventListener('change', () => { c.name = name.value.trim() || `Class ${n + 1}`; name.value = c.name; this.changed(); });
    const capture = el('button', { type: 'button', className: 'cl-tl-capture', dataset: { cls: String(c.id) } }, ['Hold to capture from the webcam']);
    this.wireCapture(capture, c);
    const upload = el('input', { type: 'file', multiple: true, accept: 'image/*', className: 'cl-tl-upload' });
    upload.addEventListener('change', () => { const files = [...(upload.files ?? [])]; upload.value = ''; this.upload(c, files); });
    const uploadText = el('span');
    const remove = el('button', { type: 'button', className: 'cl-tl-remove', disabled: this.classes.length <= 2 });
    remove.addEventListener('click', () => this.removeClass(c));
    const count = el('span', { className: 'cl-tl-count' });
    const thumbs = el('ul', { className: 'cl-thumbs' });
    c.view = { count, thumbs, remove, uploadText };
    this.refreshClass(c);
    return el('li', { className: 'cl-tl-class', dataset: { cls: String(c.id) } }, [
      el('div', { className: 'cl-tl-row' }, [el('label', { for: nameId }, [`Class ${n + 1} name `]), name, count]),
      el('div', { className: 'cl-buttons' }, [capture, el('label', { className: 'file-button' }, [uploadText, upload]), remove]),
      thumbs,
    ]);
  }

  /** Brings a class's count, labels and thumbnails up to date (new thumbnails only). @param {TClass} c */
  refreshClass(c) {
    const v = c.view;
    if (!v) return;
    v.count.textContent = `${c.images.length} image${c.images.length === 1 ? '' : 's'}`;
    v.uploadText.textContent = `Upload images for ${c.name}`;
    v.remove.textContent = `Remove ${c.name}`;
    v.thumbs.setAttribute('aria-label', `Images of ${c.name}`);
    const shown = /** @type {HTMLButtonElement[]} */ ([...v.thumbs.querySelectorAll('.cl-thumb')]);
    const keep = new Set(c.images);
    for (const b of shown) if (!keep.has(/** @type {any} */ (b).image)) b.closest('li')?.remove();
    const present = new Set(shown.map((b) => /** @type {any} */ (b).image));
    for (const img of c.images) {
      if (present.has(img)) continue;
      const del = el('button', { type: 'button', className: 'cl-thumb', title: 'Delete this image' }, [el('img', { src: img.url, alt: '', width: 48, height: 48 })]);
      Object.assign(del, { image: img });
      del.addEventListener('click', () => {
        const at = c.images.indexOf(img);
        if (at >= 0) c.images.splice(at, 1);
        URL.revokeObjectURL(img.url);
        this.changed();
      });
      v.thumbs.append(el('li', {}, [del]));
    }
    v.thumbs.querySelectorAll('.cl-thumb').forEach((b, i) => b.setAttribute('aria-label', `Delete image ${i + 1} of ${c.name}`));
  }

  /** @param {TClass} c */
  removeClass(c) {
    if (this.classes.length <= 2) return;
    for (const i of c.images) URL.revokeObjectURL(i.url);
    this.classes = this.classes.filter((x) => x !== c);
    this.changed(true);
  }

  /**
   * Hold (pointer, or Space / Enter) to capture a burst; a click captures one frame.
   * @param {HTMLButtonElement} button @param {TClass} c
   */
  wireCapture(button, c) {
    /** @type {ReturnType<typeof setInterval> | null} */
    let timer = null;
    let held = false;
    const stop = () => {
      held = false;
      if (!timer) return;
      clearInterval(timer);
      timer = null;
      this.captures.delete(stop);
      button.classList.remove('capturing');
      this.changed();
    };
    const start = async () => {
      if (held) return;
      held = true;
      say(this.problems, '');
      if (!this.deps.camera.running) {
        await this.deps.startCamera();
        // Released while the camera started: one frame, as a click would take.
        if (!this.deps.camera.running) { held = false; return; }
      }
      button.classList.add('capturing');
      const grab = () => this.capture(c).catch((e) => { stop(); say(this.problems, messageOf(e), true); });
      timer = setInterval(grab, 1000 / BURST_HZ);
      this.captures.add(stop);
      grab();
      if (!held) setTimeout(stop, 0);
    };
    button.addEventListener('pointerdown', (e) => { e.preventDefault(); button.setPointerCapture(e.pointerId); start(); });
    button.addEventListener('pointerup', stop);
    button.addEventListener('pointercancel', stop);
    button.addEventListener('keydown', (e) => { if ((e.key === ' ' || e.key === 'Enter') && !e.repeat) { e.preventDefault(); start(); } });
    button.addEventListener('keyup', (e) => { if (e.key === ' ' || e.key === 'Enter') stop(); });
    button.addEventListener('blur', stop);
  }

  /** @param {TClass} c */
  async capture(c) {
    if (c.images.length >= MAX_PER_CLASS) throw new Error(`${c.name} has ${MAX_PER_CLASS} images, the most a class keeps`);
    if (!this.deps.camera.ready()) return;
    const blob = await captureFrame(this.deps.camera.video);
    c.images.push({ blob, url: URL.createObjectURL(blob), embedding: null });
    this.refreshClass(c);
    this.list.dataset.images = String(this.classes.reduce((a, x) => a + x.images.length, 0));
  }

  /** @param {TClass} c @param {File[]} files */
  async upload(c, files) {
    const skipped = [];
    for (const file of files) {
      if (c.images.length >= MAX_PER_CLASS) { skipped.push(`${file.name} (${c.name} has ${MAX_PER_CLASS} images, the most a class keeps)`); continue; }
      try {
        const blob = await fromFile(file);
        c.images.push({ blob, url: URL.createObjectURL(blob), embedding: null });
      } catch (e) {
        skipped.push(messageOf(e));
      }
    }
    say(this.problems, skipped.length ? `Skipped: ${skipped.join('; ')}.` : '', true);
    this.changed();
  }

  /** Embeds the images that have no embedding yet, then trains the head in the worker. */
  async train() {
    say(this.problems, '');
    const empty = this.classes.find((c) => c.images.length === 0);
    if (empty) { say(this.problems, `${empty.name} has no images: capture or upload at least one.`, true); return; }
    const names = this.classes.map((c) => c.name);
    const dup = names.find((n, i) => names.indexOf(n) !== i);
    if (dup) { say(this.problems, `Two classes are called ${JSON.stringify(dup)}: give each its own name.`, true); return; }
    this.trainButton.disabled = true;
    try {
      say(this.status, 'Loading MobileNetV2...');
      await this.deps.backbone();
      const todo = this.classes.flatMap((c) => c.images).filter((i) => !i.embedding);
      let done = 0;
      const started = performance.now();
      for (const img of todo) {
        say(this.status, `Computing MobileNetV2 features: ${done} of ${todo.length} new images...`);
        img.embedding = await embed(img.blob);
        done += 1;
      }
      const embedMs = performance.now() - started;
      const all = this.classes.flatMap((c, label) => c.images.map((i) => ({ v: /** @type {Float32Array} */ (i.embedding), label })));
      const dim = all[0].v.length;
      const features = new Float32Array(all.length * dim);
      all.forEach((a, i) => features.set(a.v, i * dim));
      say(this.status, `Training the head on ${all.length} images...`);
      await infer.use('./transfer-handlers.js');
      const r = await infer.call('trainHead', { headKey: HEAD_KEY, features, labels: all.map((a) => a.label), classNames: names }, [features.buffer]);
      this.setHead({ spec: r.spec, weights: r.weights, classNames: names, scale: r.scale, accuracy: r.accuracy, trainedAt: Date.now(), source: 'trained' }, true);
      say(this.status, `Trained the head on ${all.length} images in ${(r.ms / 1000).toFixed(2)} s (${r.steps} steps of Adam`
        + `${todo.length ? `; features of ${todo.length} new images took ${(embedMs / 1000).toFixed(1)} s` : ''}): ${percent(r.accuracy)} of the training images right.`);
      this.status.dataset.accuracy = String(r.accuracy);
      this.deps.choose('transfer');
      this.changed();
    } catch (e) {
      say(this.problems, `The head could not be trained: ${messageOf(e)}`, true);
      say(this.status, '');
    } finally {
      this.trainButton.disabled = false;
    }
  }

  /**
   * Keeps a head and offers it in the model picker (loaded into the worker when chosen).
   * @param {Head} head @param {boolean} [loaded] whether the worker already holds it
   */
  setHead(head, loaded = false) {
    this.head = head;
    this.downloadButton.disabled = false;
    this.linkButton.disabled = false;
    this.deps.offer('transfer', `Your own classes: ${head.classNames.join(', ')} (MobileNetV2 + a trained head)`, this.loader(head, HEAD_KEY, 'transfer', loaded));
  }

  /**
   * The picker's loader for a head held in the worker under `headKey`.
   * @param {Head} head @param {string} headKey @param {'transfer' | 'linked'} id @param {boolean} loaded
   * @returns {() => Promise<Classifier>}
   */
  loader(head, headKey, id, loaded) {
    let ready = loaded ? Promise.resolve() : null;
    const k = Math.min(5, head.classNames.length);
    const whose = id === 'linked' ? 'the linked head' : 'your head';
    return async () => {
      const backbone = await this.deps.backbone();
      ready ??= infer.use('./transfer-handlers.js').then(() => infer.call('loadHead', { headKey, spec: head.spec, weights: head.weights.slice(), classNames: head.classNames, scale: head.scale }));
      await ready.catch((e) => { ready = null; throw e; });
      return {
        id, label: `${id === 'linked' ? 'the linked head' : 'your classes'} (${head.classNames.join(', ')})`, inputShape: backbone.inputShape, classNames: head.classNames,
        recipe: /** @type {const} */ ('imagenet'), normalisation: null,
        note: `MobileNetV2's frozen features and ${whose}: ${head.classNames.length} classes.`,
        run: async (input) => {
          try {
            const r = await infer.call('classifyHead', { backboneKey: MOBILENET_KEY, headKey, input, topK: k, backend: backendChoice() });
            return { top: r.top, ms: r.ms, backend: r.backend };
          } catch (e) {
            if (/no head is trained|no model is loaded|the inference worker has no/.test(messageOf(e))) ready = null; // the worker lost it: load it again
            throw e;
          }
        },
      };
    };
  }

  /** The head as a safetensors file with its class names (what Download saves and a link carries). */
  headFile() {
    if (!this.head) return null;
    return withMetadata(this.head.weights, {
      convlab_kind: 'transfer-head', backbone: 'mobilenet_v2',
      class_names: JSON.stringify(this.head.classNames), feature_scale: String(this.head.scale),
    });
  }

  /** Puts a link that carries the head in a field and on the clipboard. */
  async copyLink() {
    const file = this.headFile();
    if (!file) return;
    const url = new URL(location.href);
    url.searchParams.set('view', 'classify');
    url.hash = await headFragment(file);
    this.linkField.hidden = false;
    this.linkField.value = url.href;
    this.linkField.select();
    let copied = false;
    try { await navigator.clipboard.writeText(url.href); copied = true; } catch { /* refused: the field has it */ }
    say(this.status, `${copied ? 'The link is on the clipboard' : 'The link is in the field above (the browser did not allow the clipboard)'}: ${url.href.length} characters; it carries the head and its class names, not your images.`);
  }

  /**
   * Opens the head a link carries (`#head=1....`). With no kept head it becomes the head;
   * with one, the user chooses: use it beside the kept one (a second picker entry; nothing
   * kept changes), replace the kept one, or ignore it. A bad link is named and changes nothing.
   */
  async openLink() {
    const part = headPart(location.hash);
    if (part === null) return;
    /** @type {Awaited<ReturnType<typeof import('./models.js').readWeightsFile>>} */
    let read;
    try {
      const bytes = await readHeadFragment(part);
      const { readWeightsFile } = await import('./models.js');
      read = await readWeightsFile(new File([/** @type {Uint8Array<ArrayBuffer>} */ (bytes)], 'the link'));
      if (read.kind !== 'head') throw new Error('it carries a model\'s weights, not a transfer head');
      if (!read.classNames || read.classNames.length < 2) throw new Error('the head\'s class names are missing');
    } catch (e) {
      say(this.problems, `The link's head could not be opened: ${messageOf(e).replace(/^the link: /, '')}. Nothing was changed.`, true);
      forgetLink();
      return;
    }
    const names = read.classNames.join(', ');
    if (!this.head) {
      await this.loadHeadFile(read, 'the link');
      forgetLink();
      return;
    }
    const choose = (/** @type {string} */ id, /** @type {string} */ text, /** @type {() => Promise<void>} */ act) => {
      const b = el('button', { type: 'button', id }, [text]);
      b.addEventListener('click', async () => {
        this.linked.hidden = true;
        forgetLink();
        try { await act(); } catch (e) { say(this.problems, `The link's head could not be used: ${messageOf(e)}`, true); }
      });
      return b;
    };
    const head = /** @type {Head} */ ({ spec: read.spec, weights: read.bytes, classNames: /** @type {string[]} */ (read.classNames), scale: read.scale, accuracy: null, trainedAt: Date.now(), source: 'a link' });
    this.linked.replaceChildren(
      el('p', {}, [`This link carries a head for: ${names}. This browser keeps your own head (${this.head.classNames.join(', ')}). What should happen?`]),
      el('div', { className: 'cl-buttons' }, [
        choose('cl-tl-linked-beside', 'Use it beside mine', async () => {
          this.deps.offer('linked', `The linked head: ${names} (MobileNetV2 + a head from a link)`, this.loader(head, LINKED_KEY, 'linked', false));
          this.deps.choose('linked');
          say(this.status, `The linked head (${names}) is in the model picker; your own head and classes are unchanged.`);
        }),
        choose('cl-tl-linked-replace', 'Replace mine with it', () => this.loadHeadFile(/** @type {any} */ (read), 'the link')),
        choose('cl-tl-linked-ignore', 'Ignore the link', async () => say(this.status, 'The link\'s head was not used.')),
      ]),
    );
    this.linked.hidden = false;
  }

  download() {
    const bytes = this.headFile();
    if (!bytes) return;
    const a = el('a', { href: URL.createObjectURL(new Blob([/** @type {Uint8Array<ArrayBuffer>} */ (bytes)])), download: 'transfer-head.safetensors' });
    a.click();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
  }

  async loadFromInput() {
    const file = this.headInput.files?.[0];
    this.headInput.value = '';
    if (!file) return;
    try {
      const { readWeightsFile } = await import('./models.js');
      const read = await readWeightsFile(file);
      if (read.kind !== 'head') throw new Error('it is a model\'s weights, not a transfer head: load it with the model picker above');
      await this.loadHeadFile(read, file.name);
    } catch (e) {
      say(this.problems, `${file.name} could not be loaded: ${messageOf(e).replace(`${file.name}: `, '')}`, true);
    }
  }

  /**
   * A head file read by models.readWeightsFile.
   * @param {{bytes: Uint8Array, spec: any, classNames: string[] | null, scale: number}} read @param {string} name
   */
  async loadHeadFile(read, name) {
    if (!read.classNames || read.classNames.length < 2) throw new Error(`${name}: the head's class names are missing from its metadata`);
    await this.deps.backbone();
    await infer.use('./transfer-handlers.js');
    await infer.call('loadHead', { headKey: HEAD_KEY, spec: read.spec, weights: read.bytes.slice(), classNames: read.classNames, scale: read.scale });
    this.setHead({ spec: read.spec, weights: read.bytes, classNames: read.classNames, scale: read.scale, accuracy: null, trainedAt: Date.now(), source: name }, true);
    this.deps.choose('transfer');
    this.changed();
    // Kept at once (not after the usual debounce): it replaced the kept head.
    if (this.saveTimer) clearTimeout(this.saveTimer);
    await this.save();
    say(this.status, `Loaded the head from ${name}: ${read.classNames.join(', ')}.`);
  }
}

/** Takes the head out of the address bar once it has been dealt with (a reload does not ask again). */
function forgetLink() {
  const params = new URLSearchParams(location.hash.replace(/^#+/, ''));
  params.delete('head');
  const rest = params.toString();
  history.replaceState(history.state, '', `${location.pathname}${location.search}${rest ? `#${rest}` : ''}`);
}
