// @ts-check
/**
 * Figures 14-3 and 14-4 made live: a small input grid, a kernel, a stride and the padding; the
 * output grid comes from the core (`convlab.conv2d` of an all-ones input with an all-ones
 * kernel, so each output cell's value is how many real input cells its window covers), and
 * hovering or focusing an output cell shows its receptive field on the input, zero padding
 * included. Below it, "same" against "valid": both output sizes by the core's rules.
 *
 * Where the window sits is TensorFlow's rule (README): output cell (i, j) reads input rows
 * i*s - top .. i*s - top + k - 1, with top = floor(total / 2) of the total padding
 * max((out - 1) * s + k - in, 0) (the odd extra row at the bottom); the cell's count from the
 * core checks it.
 */

/** @param {string} tag @param {Record<string, string>} [attrs] @param {string} [text] */
function el(tag, attrs = {}, text = '') {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

/** @param {string} label @param {string} id @param {number[]} values @param {number} value */
function numberSelect(label, id, values, value) {
  const l = el('label', {}, `${label} `);
  const s = /** @type {HTMLSelectElement} */ (el('select', { id }));
  for (const v of values) s.append(new Option(String(v), String(v), false, v === value));
  l.append(s);
  return { label: l, select: s };
}

/** Padding before the data along one axis (TensorFlow's "same": the odd extra goes after). @param {number} size @param {number} out @param {number} k @param {number} s */
export function padBefore(size, out, k, s) {
  return Math.floor(Math.max((out - 1) * s + k - size, 0) / 2);
}

/** @param {HTMLElement} host */
export function mount(host) {
  const api = globalThis.convlab;
  const section = el('section', { class: 'lesson-widget', 'aria-labelledby': 'rf-h' });
  section.append(el('h3', { id: 'rf-h' }, 'Receptive fields and stride (Figures 14-3 and 14-4)'));
  section.append(el('p', { class: 'note' }, 'Each output cell of a convolutional layer looks at a small window of the layer below: its receptive field. Move the pointer over an output cell, or tab to it, to see its window. With "same" padding the input is surrounded by zeros (dashed cells) so that the output keeps the input\'s size divided by the stride; the stride spaces the windows out. Each output cell shows how many real input cells its window covers, as the core computes it (a convolution of ones with ones).'));
  const controls = el('div', { class: 'lesson-controls', role: 'group', 'aria-label': 'Layer settings' });
  const h = numberSelect('Input height', 'rf-h-in', [3, 4, 5, 6, 7, 8, 9], 5);
  const w = numberSelect('Input width', 'rf-w-in', [3, 4, 5, 6, 7, 8, 9], 7);
  const k = numberSelect('Kernel', 'rf-k', [1, 2, 3, 4, 5], 3);
  const s = numberSelect('Stride', 'rf-s', [1, 2, 3], 2);
  const padLabel = el('label', {}, 'Padding ');
  const pad = /** @type {HTMLSelectElement} */ (el('select', { id: 'rf-pad' }));
  pad.append(new Option('same (zero padding)', 'same', true, true), new Option('valid (no padding)', 'valid'));
  padLabel.append(pad);
  controls.append(h.label, w.label, k.label, s.label, padLabel);
  const grids = el('div', { class: 'rf-grids' });
  const inputFig = el('figure', { class: 'rf-figure' });
  const inputGrid = el('div', { id: 'rf-input', class: 'rf-grid', role: 'img', 'aria-label': 'input layer' });
  inputFig.append(inputGrid, el('figcaption', {}, 'input (dashed: zero padding)'));
  const outputFig = el('figure', { class: 'rf-figure' });
  const outputGrid = el('div', { id: 'rf-output', class: 'rf-grid', role: 'group', 'aria-label': 'output layer: one button per cell' });
  const outCap = el('figcaption', { id: 'rf-output-cap' });
  outputFig.append(outputGrid, outCap);
  grids.append(inputFig, outputFig);
  const windowNote = el('p', { id: 'rf-window', class: 'rf-window', 'aria-live': 'polite' });
  const padding = el('section', { class: 'lesson-sub', 'aria-labelledby': 'zp-h' });
  padding.append(el('h4', { id: 'zp-h' }, 'Zero padding: "same" against "valid"'));
  const sizes = el('p', { id: 'zp-sizes' });
  padding.append(sizes);
  const error = el('p', { id: 'rf-error', class: 'note error', role: 'alert', hidden: '' });
  section.append(controls, grids, windowNote, error, padding);
  host.append(section);

  let generation = 0;
  async function draw() {
    const mine = ++generation;
    const [H, W, K, S] = [h, w, k, s].map((c) => Number(c.select.value));
    const padding = /** @type {'same' | 'valid'} */ (pad.value);
    const x = { shape: [1, H, W, 1], data: new Float32Array(H * W).fill(1) };
    const f = { shape: [K, K, 1, 1], data: new Float32Array(K * K).fill(1) };
    /** @param {'same' | 'valid'} p */
    const conv = (p) => api.conv2d(x, f, { strides: S, padding: p, backend: 'cpu' }).then((r) => r, (e) => /** @type {Error} */ (e));
    const [chosen, same, valid] = await Promise.all([conv(padding), conv('same'), conv('valid')]);
    if (mine !== generation) return;
    /** @param {any} r */
    const size = (r) => (r instanceof Error ? `none: ${r.message}` : `${r.shape[1]}x${r.shape[2]}`);
    const sameOut = same instanceof Error ? null : same;
    const top = sameOut ? padBefore(H, sameOut.shape[1], K, S) : 0;
    const left = sameOut ? padBefore(W, sameOut.shape[2], K, S) : 0;
    const bottom = sameOut ? Math.max((sameOut.shape[1] - 1) * S + K - H, 0) - top : 0;
    const right = sameOut ? Math.max((sameOut.shape[2] - 1) * S + K - W, 0) - left : 0;
    sizes.textContent = `A ${H}x${W} input, ${K}x${K} kernel, stride ${S}: "same" gives ${size(same)}` +
      (sameOut ? ` (ceil(${H}/${S}) x ceil(${W}/${S}); zeros added: ${top} above, ${bottom} below, ${left} left, ${right} right)` : '') +
      `; "valid" gives ${size(valid)}${valid instanceof Error ? '' : ` (floor((${H} - ${K}) / ${S}) + 1 x floor((${W} - ${K}) / ${S}) + 1; no zeros, the edges are dropped)`}.`;
    sizes.dataset.same = sameOut ? `${sameOut.shape[1]}x${sameOut.shape[2]}` : '';
    sizes.dataset.valid = valid instanceof Error ? '' : `${valid.shape[1]}x${valid.shape[2]}`;
    if (chosen instanceof Error) {
      error.hidden = false;
      error.textContent = chosen.message;
      outputGrid.replaceChildren();
      inputGrid.replaceChildren();
      return;
    }
    error.hidden = true;
    const [pt, pl] = padding === 'same' ? [top, left] : [0, 0];
    const [pb, pr] = padding === 'same' ? [bottom, right] : [0, 0];
    const rows = H + pt + pb;
    const cols = W + pl + pr;
    inputGrid.style.gridTemplateColumns = `repeat(${cols}, 1.6rem)`;
    /** @type {HTMLElement[]} */
    const cells = [];
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const real = r >= pt && r < pt + H && c >= pl && c < pl + W;
        const cell = el('div', { class: real ? 'rf-cell' : 'rf-cell pad' });
        cell.dataset.r = String(r - pt);
        cell.dataset.c = String(c - pl);
        cells.push(cell);
      }
    }
    inputGrid.replaceChildren(...cells);
    const [, OH, OW] = chosen.shape;
    outputGrid.style.gridTemplateColumns = `repeat(${OW}, 1.6rem)`;
    /** @type {HTMLElement[]} */
    const outs = [];
    for (let i = 0; i < OH; i++) {
      for (let j = 0; j < OW; j++) {
        const count = chosen.data[i * OW + j];
        const b = /** @type {HTMLButtonElement} */ (el('button', { type: 'button', class: 'rf-out', 'aria-label': `output row ${i}, column ${j}: ${count} real input cells` }, String(count)));
        b.dataset.i = String(i);
        b.dataset.j = String(j);
        const show = () => highlight(i, j, count);
        b.addEventListener('mouseenter', show);
        b.addEventListener('focus', show);
        outs.push(b);
      }
    }
    outputGrid.replaceChildren(...outs);
    outCap.textContent = `output ${OH}x${OW} (from the core)`;
    highlight(0, 0, chosen.data[0]);

    /** @param {number} i @param {number} j @param {number} count */
    function highlight(i, j, count) {
      const r0 = i * S - pt;
      const c0 = j * S - pl;
      let real = 0;
      for (const cell of cells) {
        const r = Number(cell.dataset.r);
        const c = Number(cell.dataset.c);
        const inside = r >= r0 && r < r0 + K && c >= c0 && c < c0 + K;
        cell.classList.toggle('in-window', inside);
        if (inside && !cell.classList.contains('pad')) real++;
      }
      for (const b of outs) b.classList.toggle('current', b.dataset.i === String(i) && b.dataset.j === String(j));
      windowNote.textContent = `Output cell (${i}, ${j}) sees input rows ${r0} to ${r0 + K - 1} and columns ${c0} to ${c0 + K - 1}` +
        ` (rows i x ${S} - ${pt}, columns j x ${S} - ${pl}): ${real} real cells${K * K > real ? ` and ${K * K - real} zeros of padding` : ''}; the core counted ${count}.`;
      windowNote.dataset.real = String(real);
      windowNote.dataset.count = String(count);
    }
  }
  for (const c of [h.select, w.select, k.select, s.select, pad]) c.addEventListener('change', () => { draw(); });
  return draw();
}
