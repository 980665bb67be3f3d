// @ts-check
/**
 * Figure 14-9 made live: max pooling's invariance to small translations. Image A (editable:
 * click or press Enter on a cell), B (A shifted one pixel right) and C (two pixels right) go
 * through a 2x2 max pooling layer with stride 2, computed by the core (`convlab.maxPool`), and
 * each output is compared with A's: the share of output cells that are the same.
 */

const ROWS = 4;
const COLS = 8;
/** Dark cells at even columns: a one-pixel shift stays inside the same pooling windows. */
const START = [
  [1, 0, 1, 0, 1, 0, 1, 0],
  [0, 0, 0, 0, 0, 0, 0, 0],
  [0, 0, 1, 0, 1, 0, 1, 0],
  [0, 0, 0, 0, 0, 0, 0, 0],
];

/** @param {string} tag @param {Record<string, string>} [attrs] @param {string} [text] */
function el(tag, attrs = {}, text = '') {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

/** `image` shifted `by` columns to the right, zeros coming in from the left. @param {number[]} image @param {number} by */
export function shiftRight(image, by) {
  const out = new Array(ROWS * COLS).fill(0);
  for (let r = 0; r < ROWS; r++) for (let c = 0; c + by < COLS; c++) out[r * COLS + c + by] = image[r * COLS + c];
  return out;
}

/** @param {number[]} values @param {number} rows @param {number} cols @param {string} label @param {boolean} editable */
function grid(values, rows, cols, label, editable) {
  const g = el('div', { class: 'pool-grid', role: editable ? 'group' : 'img', 'aria-label': label });
  g.style.gridTemplateColumns = `repeat(${cols}, 1.3rem)`;
  values.forEach((v, i) => {
    const cell = editable
      ? el('button', { type: 'button', class: 'pool-cell', 'aria-pressed': String(v > 0), 'aria-label': `row ${Math.floor(i / cols)}, column ${i % cols}` })
      : el('div', { class: 'pool-cell' });
    cell.dataset.v = String(v);
    cell.dataset.index = String(i);
    g.append(cell);
  });
  return g;
}

/** @param {HTMLElement} host */
export function mount(host) {
  const api = globalThis.convlab;
  const image = START.flat();
  const section = el('section', { class: 'lesson-widget', 'aria-labelledby': 'pool-h' });
  section.append(el('h3', { id: 'pool-h' }, 'Max pooling and small shifts (Figure 14-9)'));
  section.append(el('p', { class: 'note' }, 'Images B and C are image A shifted one and two pixels to the right. Each goes through a max pooling layer with a 2x2 kernel and stride 2 (computed by the core). A and B give the same output: a one-pixel shift that stays inside the pooling windows changes nothing. C\'s output is shifted by one cell, yet most of its cells still match. Dark cells are 1, light cells 0; click a cell of A (or press Enter on it) to change the picture.'));
  const rows = el('div', { id: 'pool-rows', class: 'pool-rows' });
  const error = el('p', { class: 'note error', role: 'alert', hidden: '' });
  section.append(rows, error);
  host.append(section);

  let generation = 0;
  async function draw() {
    const mine = ++generation;
    const images = [image, shiftRight(image, 1), shiftRight(image, 2)];
    let outs;
    try {
      outs = await Promise.all(images.map((im) => api.maxPool({ shape: [1, ROWS, COLS, 1], data: Float32Array.from(im) }, { poolSize: 2, strides: 2, backend: 'cpu' })));
    } catch (e) {
      error.hidden = false;
      error.textContent = `max pooling failed: ${/** @type {Error} */ (e).message}`;
      return;
    }
    if (mine !== generation) return;
    error.hidden = true;
    const a = Array.from(outs[0].data);
    const figures = ['A', 'B', 'C'].map((name, n) => {
      const out = Array.from(outs[n].data);
      const same = out.filter((v, i) => v === a[i]).length;
      const share = Math.round((100 * same) / out.length);
      const row = el('div', { class: 'pool-row' });
      row.dataset.image = name;
      row.dataset.same = String(share);
      const left = el('figure', {});
      left.append(grid(images[n], ROWS, COLS, `image ${name}`, n === 0), el('figcaption', {}, n === 0 ? 'A (click to edit)' : `${name}: A shifted ${n} pixel${n > 1 ? 's' : ''} right`));
      const right = el('figure', {});
      const [, oh, ow] = outs[n].shape;
      right.append(grid(out, oh, ow, `max pooling output of ${name}: ${out.join(' ')}`, false), el('figcaption', {}, `${oh}x${ow} after max pooling`));
      const verdict = el('p', { class: 'pool-verdict' }, n === 0 ? 'the reference' : `${share}% of the cells equal A's output${share === 100 ? ': invariant' : ''}`);
      row.append(left, el('span', { class: 'pool-arrow', 'aria-hidden': 'true' }, '\u2192'), right, verdict);
      return row;
    });
    rows.replaceChildren(...figures);
    rows.querySelector('.pool-grid[role="group"]')?.addEventListener('click', (e) => {
      const cell = /** @type {HTMLElement} */ (e.target).closest('.pool-cell');
      if (!(cell instanceof HTMLElement)) return;
      const i = Number(cell.dataset.index);
      image[i] = image[i] > 0 ? 0 : 1;
      draw().then(() => /** @type {HTMLElement | null} */ (rows.querySelector(`.pool-grid[role="group"] [data-index="${i}"]`))?.focus());
    });
  }
  return draw();
}
