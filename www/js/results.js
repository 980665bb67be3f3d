// @ts-check
/**
 * The end of a run: test accuracy, per-class accuracy, and a confusion matrix (rows: true
 * class, columns: predicted) whose cells are buttons that open the test images of that cell.
 * The per-image predictions come from the training worker (train-worker.js `evaluate`), which
 * runs the model on the whole test set in batches so that the page never computes a kernel.
 *
 * @typedef {{accuracy: number, loss: number, confusion: number[][], predicted: Uint8Array}} Evaluation
 */

import { idxGeometry } from './idx-split.js';

/** How many images a cell's gallery shows at most. */
const GALLERY_LIMIT = 120;

/**
 * Runs the evaluation in a fresh training worker.
 * @param {object} spec @param {Uint8Array} weights
 * @param {{images: Uint8Array, labels: Uint8Array, options?: any}} data
 * @param {(done: number, total: number) => void} onProgress
 * @returns {Promise<Evaluation>}
 */
export function evaluateInWorker(spec, weights, data, onProgress) {
  const worker = new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module' });
  return new Promise((resolve, reject) => {
    worker.onmessage = (event) => {
      const msg = event.data;
      if (msg.type === 'evalProgress') onProgress(msg.done, msg.total);
      else if (msg.type === 'evaluated') resolve(msg);
      else if (msg.type === 'error') reject(new Error(msg.message));
    };
    worker.onerror = (e) => reject(new Error(`the evaluation worker failed: ${e.message}`));
    worker.postMessage({ type: 'evaluate', spec, weights, data: { images: data.images, labels: data.labels, options: data.options } });
  }).finally(() => worker.terminate());
}

/**
 * Draws image `index` of IDX image bytes (grey or colour, as the header says) into a new canvas.
 * @param {Uint8Array} images @param {number} index
 */
function imageCanvas(images, index) {
  const { header, height: h, width: w, channels: c, per } = idxGeometry(images);
  const canvas = document.createElement('canvas');
  canvas.width = w;
  canvas.height = h;
  const ctx = /** @type {CanvasRenderingContext2D} */ (canvas.getContext('2d'));
  const pixels = ctx.createImageData(w, h);
  const src = images.subarray(header + index * per, header + (index + 1) * per);
  for (let i = 0; i < h * w; i++) {
    const [r, g, b] = c === 3 ? [src[3 * i], src[3 * i + 1], src[3 * i + 2]] : [src[i], src[i], src[i]];
    pixels.data.set([r, g, b, 255], i * 4);
  }
  ctx.putImageData(pixels, 0, 0);
  return canvas;
}

/**
 * Renders an evaluation into `host`.
 * @param {HTMLElement} host @param {Evaluation} result @param {string[]} classNames
 * @param {{images: Uint8Array, labels: Uint8Array}} test
 */
export function showResults(host, result, classNames, test) {
  host.replaceChildren();
  const n = result.predicted.length;
  const summary = document.createElement('p');
  summary.className = 'test-accuracy';
  summary.textContent = `Test accuracy: ${(100 * result.accuracy).toFixed(2)}% on ${n.toLocaleString('en')} images (loss ${result.loss.toFixed(4)}).`;
  host.append(summary, perClassTable(result.confusion, classNames));
  const gallery = document.createElement('div');
  gallery.className = 'gallery';
  gallery.setAttribute('aria-live', 'polite');
  const open = (/** @type {number} */ t, /** @type {number} */ p) => showCell(gallery, result, classNames, test, t, p);
  host.append(confusionTable(result.confusion, classNames, open), gallery);
}

/** @param {number[][]} confusion @param {string[]} classNames */
function perClassTable(confusion, classNames) {
  const table = document.createElement('table');
  table.className = 'per-class';
  table.createCaption().textContent = 'Accuracy per class';
  const head = table.createTHead().insertRow();
  for (const t of ['class', 'correct', 'images', 'accuracy']) head.append(Object.assign(document.createElement('th'), { scope: 'col', textContent: t }));
  const body = table.createTBody();
  confusion.forEach((row, k) => {
    const total = row.reduce((a, b) => a + b, 0);
    const r = body.insertRow();
    r.append(Object.assign(document.createElement('th'), { scope: 'row', textContent: classNames[k] ?? String(k) }));
    r.insertCell().textContent = String(row[k]);
    r.insertCell().textContent = String(total);
    r.insertCell().textContent = total ? `${(100 * row[k] / total).toFixed(1)}%` : '-';
  });
  return table;
}

/**
 * @param {number[][]} confusion @param {string[]} classNames
 * @param {(truth: number, predicted: number) => void} open
 */
function confusionTable(confusion, classNames, open) {
  const table = document.createElement('table');
  table.className = 'confusion';
  table.createCaption().textContent = 'Confusion matrix (rows: true class, columns: predicted; select a cell to see its images)';
  const head = table.createTHead().insertRow();
  head.append(Object.assign(document.createElement('th'), { scope: 'col', textContent: 'true \\ predicted' }));
  classNames.forEach((name) => head.append(Object.assign(document.createElement('th'), { scope: 'col', textContent: name })));
  const body = table.createTBody();
  const max = Math.max(1, ...confusion.flatMap((row, t) => row.filter((_, p) => p !== t)));
  confusion.forEach((row, t) => {
    const r = body.insertRow();
    r.append(Object.assign(document.createElement('th'), { scope: 'row', textContent: classNames[t] ?? String(t) }));
    row.forEach((count, p) => {
      const cell = r.insertCell();
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = String(count);
      button.dataset.truth = String(t);
      button.dataset.predicted = String(p);
      button.setAttribute('aria-label', `${count} ${classNames[t]} images predicted as ${classNames[p]}`);
      button.disabled = count === 0;
      if (t === p) cell.classList.add('diagonal');
      else if (count > 0) cell.style.setProperty('--heat', String(Math.min(1, count / max)));
      button.addEventListener('click', () => open(t, p));
      cell.append(button);
    });
  });
  return table;
}

/**
 * Shows the test images whose true class is `truth` and prediction `predicted`.
 * @param {HTMLElement} gallery @param {Evaluation} result @param {string[]} classNames
 * @param {{images: Uint8Array, labels: Uint8Array}} test @param {number} truth @param {number} predicted
 */
function showCell(gallery, result, classNames, test, truth, predicted) {
  const indices = [];
  for (let i = 0; i < result.predicted.length; i++) {
    if (test.labels[8 + i] === truth && result.predicted[i] === predicted) indices.push(i);
  }
  const title = document.createElement('h4');
  const what = truth === predicted ? 'correctly classified' : `predicted as ${classNames[predicted]}`;
  const shown = Math.min(indices.length, GALLERY_LIMIT);
  title.textContent = `${indices.length} ${classNames[truth]} test images ${what}` +
    (shown < indices.length ? ` (the first ${shown} shown)` : '');
  const strip = document.createElement('div');
  strip.className = 'gallery-images';
  for (const i of indices.slice(0, shown)) {
    const canvas = imageCanvas(test.images, i);
    canvas.title = `test image #${i}`;
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `test image ${i}: ${classNames[truth]}, predicted ${classNames[predicted]}`);
    strip.append(canvas);
  }
  gallery.replaceChildren(title, strip);
}
