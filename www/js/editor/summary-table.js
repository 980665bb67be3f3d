// @ts-check
/**
 * The summary beside the graph: one row per node drawn (a collapsed block is one row with its
 * layers' sums), the output shape, parameters, multiply-adds and activation memory per
 * instance; totals with the training memory for the batch and optimizer the user picks.
 * Rows are kept and only their changed cells rewritten, so an edit of a 520-layer model
 * touches a handful of cells.
 *
 * @typedef {import('./graph.js').Graph} Graph
 * @typedef {import('../types').ModelSummary} ModelSummary
 */
import { shapeText } from './graph-view.js';

const fmt = new Intl.NumberFormat('en-US');

/** Bytes in the units people read (KB = 1,000 bytes, as the core's summary text). @param {number} n */
export function bytes(n) {
  if (n >= 1e9) return `${(n / 1e9).toFixed(2)} GB`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(1)} MB`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)} KB`;
  return `${n} B`;
}

/** @param {string} tag @param {Record<string, string>} [attrs] @param {string} [text] */
function h(tag, attrs = {}, text = '') {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

export class SummaryTable {
  /** @param {HTMLElement} host @param {{onSelect: (id: string) => void, onOptions: () => void}} handlers */
  constructor(host, handlers) {
    this.handlers = handlers;
    const controls = h('div', { class: 'ed-sum-controls' });
    this.batch = /** @type {HTMLInputElement} */ (h('input', { id: 'ed-batch', type: 'number', min: '1', max: '65536', value: '32', inputmode: 'numeric' }));
    this.optimizer = /** @type {HTMLSelectElement} */ (h('select', { id: 'ed-optimizer' }));
    for (const o of ['sgd', 'momentum', 'nesterov', 'rmsprop', 'adam', 'nadam']) this.optimizer.append(new Option(o, o));
    this.optimizer.value = 'adam';
    controls.append(h('label', { for: 'ed-batch' }, 'Batch'), this.batch, h('label', { for: 'ed-optimizer' }, 'Optimizer'), this.optimizer);
    this.batch.addEventListener('input', () => handlers.onOptions());
    this.optimizer.addEventListener('change', () => handlers.onOptions());
    this.totals = h('dl', { id: 'ed-totals', class: 'ed-totals' });
    this.warnings = h('ul', { class: 'ed-warnings', 'aria-live': 'polite' });
    const wrap = h('div', { class: 'ed-sum-scroll', tabindex: '0', role: 'region', 'aria-label': 'Summary per layer' });
    this.table = /** @type {HTMLTableElement} */ (h('table', { id: 'ed-summary', class: 'ed-summary' }));
    const head = h('thead');
    const tr = h('tr');
    for (const c of ['Layer', 'Type', 'Output shape', 'Params', 'MACs', 'Memory']) tr.append(h('th', { scope: 'col' }, c));
    head.append(tr);
    this.body = h('tbody');
    const cols = h('colgroup');
    for (const c of ['c-name', 'c-type', 'c-shape', 'c-num', 'c-num', 'c-mem']) cols.append(h('col', { class: c }));
    this.table.append(h('caption', {}, 'Per layer: output shape, parameters, multiply-adds and activation memory (one instance)'), cols, head, this.body);
    wrap.append(this.table);
    host.append(h('h3', {}, 'Summary'), controls, this.totals, this.warnings, wrap);
    /** @type {Map<string, HTMLTableRowElement>} */
    this.rows = new Map();
    /** @type {WeakMap<HTMLTableRowElement, string>} what each row shows */
    this.shown = new WeakMap();
    this.body.addEventListener('click', (e) => {
      const id = /** @type {Element} */ (e.target).closest('button[data-id]')?.getAttribute('data-id');
      if (id) handlers.onSelect(id);
    });
  }

  /** The batch and optimizer the user chose (a bad batch reads as 1, and is marked). */
  options() {
    const b = Number(this.batch.value);
    const ok = Number.isInteger(b) && b >= 1 && b <= 65536;
    if (ok) this.batch.removeAttribute('aria-invalid');
    else this.batch.setAttribute('aria-invalid', 'true');
    return { batch: ok ? b : 1, optimizer: /** @type {any} */ (this.optimizer.value) };
  }

  /**
   * Shows `graph`'s nodes and `summary`'s totals (null: the model does not check; the rows
   * stay, the totals say why).
   * @param {Graph} graph @param {ModelSummary | null} summary @param {string | null} problem
   */
  show(graph, summary, problem) {
    const want = new Set();
    /** @type {HTMLTableRowElement | null} */
    let prev = null;
    for (const n of graph.nodes) {
      want.add(n.id);
      let row = this.rows.get(n.id);
      if (!row) {
        row = /** @type {HTMLTableRowElement} */ (h('tr', { 'data-id': n.id }));
        const cell = h('th', { scope: 'row' });
        cell.append(h('button', { type: 'button', 'data-id': n.id, class: 'ed-rowlink' }, n.kind === 'inner' ? n.id : n.label));
        row.append(cell, h('td'), h('td'), h('td', { class: 'num' }), h('td', { class: 'num' }), h('td', { class: 'num' }));
        this.rows.set(n.id, row);
      }
      const none = n.kind === 'input';
      const shape = summary || n.shape ? shapeText(n.shape) : '?';
      const key = `${n.type}\u0001${shape}\u0001${n.params}\u0001${n.macs}\u0001${n.bytes}\u0001${n.error ?? ''}\u0001${n.kind}`;
      // Only rows whose values changed touch the DOM (a 500-row table, edited per keystroke).
      if (this.shown.get(row) !== key) {
        this.shown.set(row, key);
        const values = [n.type, shape, none ? '' : fmt.format(n.params), none ? '' : fmt.format(n.macs), bytes(n.bytes)];
        const cells = row.cells;
        for (let i = 0; i < 5; i++) set(cells[i + 1], values[i]);
        row.classList.toggle('ed-invalid', !!n.error);
        row.classList.toggle('ed-inner', n.kind === 'inner');
        if (n.error) row.title = n.error; else row.removeAttribute('title');
      }
      /** @type {ChildNode | null} */
      const expected = prev ? prev.nextSibling : this.body.firstChild;
      if (expected !== row) this.body.insertBefore(row, expected);
      prev = row;
    }
    for (const [id, row] of this.rows) if (!want.has(id)) { row.remove(); this.rows.delete(id); }
    this.showTotals(summary, problem);
  }

  /** @param {ModelSummary | null} s @param {string | null} problem */
  showTotals(s, problem) {
    this.totals.replaceChildren();
    this.warnings.replaceChildren();
    if (!s) {
      this.totals.dataset.params = '';
      this.totals.append(h('dt', {}, 'Not a valid model'), h('dd', { class: 'error' }, problem ?? ''));
      return;
    }
    const t = s.totals;
    this.totals.dataset.params = String(t.params);
    this.totals.dataset.macs = String(t.macs);
    this.totals.dataset.trainingBytes = String(t.trainingBytes);
    const pairs = [
      ['Parameters', `${fmt.format(t.params)}${t.nonTrainableParams ? ` (${fmt.format(t.trainableParams)} trainable)` : ''}`],
      ['Multiply-adds per image', fmt.format(t.macs)],
      [`Activations, batch of ${s.batch}`, bytes(t.batchActivationBytes)],
      [`Training memory, batch of ${s.batch} with ${s.optimizer}`, bytes(t.trainingBytes)],
    ];
    for (const [k, v] of pairs) this.totals.append(h('dt', {}, k), h('dd', {}, v));
    for (const w of s.warnings) this.warnings.append(h('li', { class: 'warning' }, w));
  }
}

/** @param {HTMLElement} cell @param {string} text */
function set(cell, text) {
  if (cell.textContent !== text) cell.textContent = text;
}
