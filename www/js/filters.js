// @ts-check
/**
 * The 7x7 filter editor: two filters, one grid of number inputs for the one being edited, and
 * presets. The seed's filters: `filters[:, 3, :, 0] = 1` (vertical line) and
 * `filters[3, :, :, 1] = 1` (horizontal line), the same for every input channel.
 */
import * as store from './store.js';

export const SIZE = 7;

/** @type {Record<string, (r: number, c: number) => number>} */
export const PRESETS = {
  vertical: (r, c) => (c === 3 ? 1 : 0),
  horizontal: (r, c) => (r === 3 ? 1 : 0),
  diagonal: (r, c) => (r === c ? 1 : 0),
  edge: (r, c) => (r === 3 && c === 3 ? 8 : Math.abs(r - 3) <= 1 && Math.abs(c - 3) <= 1 ? -1 : 0),
  blur: () => 1 / 49,
  zero: () => 0,
};

/** @param {string} name */
export function preset(name) {
  const f = PRESETS[name];
  return Array.from({ length: SIZE * SIZE }, (_, i) => f(Math.floor(i / SIZE), i % SIZE));
}

/**
 * The filters as an HWIO tensor [7, 7, channels, filters.length].
 * @param {number[][]} filters row-major 7x7 each
 * @param {number} channels
 */
export function toTensor(filters, channels) {
  const out = filters.length;
  const data = new Float32Array(SIZE * SIZE * channels * out);
  for (let k = 0; k < out; k++) {
    for (let i = 0; i < SIZE * SIZE; i++) {
      for (let c = 0; c < channels; c++) data[(i * channels + c) * out + k] = filters[k][i];
    }
  }
  return { shape: [SIZE, SIZE, channels, out], data };
}

/** @param {HTMLElement} grid @param {NodeListOf<HTMLElement>} tabs @param {NodeListOf<HTMLElement>} presetButtons */
export function mount(grid, tabs, presetButtons) {
  /** @type {HTMLInputElement[]} */
  const cells = [];
  for (let i = 0; i < SIZE * SIZE; i++) {
    const input = document.createElement('input');
    // Text, not type=number: a number input hides what was typed when it is not a number
    // (value ''), so the cell could not show the user their own partial input as invalid.
    input.type = 'text';
    input.inputMode = 'decimal';
    input.autocomplete = 'off';
    input.spellcheck = false;
    input.setAttribute('aria-label', `row ${Math.floor(i / SIZE) + 1}, column ${(i % SIZE) + 1}`);
    input.dataset.index = String(i);
    input.addEventListener('input', () => {
      const value = Number(input.value);
      const valid = input.value.trim() !== '' && Number.isFinite(value);
      input.classList.toggle('invalid', !valid);
      input.setAttribute('aria-invalid', String(!valid));
      if (!valid) return; // keep the last good value until the cell holds a number
      const s = store.get();
      const filters = s.filters.map((f) => f.slice());
      filters[s.editing][i] = value;
      store.update({ filters });
    });
    grid.appendChild(input);
    cells.push(input);
  }
  tabs.forEach((tab) => tab.addEventListener('click', () => {
    store.update({ editing: Number(tab.dataset.filter) });
  }));
  presetButtons.forEach((button) => button.addEventListener('click', () => {
    const s = store.get();
    const filters = s.filters.map((f) => f.slice());
    filters[s.editing] = preset(button.dataset.preset || 'zero');
    store.update({ filters });
  }));
  store.subscribe((s, changed) => {
    if (!changed.has('filters') && !changed.has('editing')) return;
    tabs.forEach((tab) => {
      const selected = Number(tab.dataset.filter) === s.editing;
      tab.setAttribute('aria-selected', String(selected));
      if (selected) grid.setAttribute('aria-labelledby', tab.id);
    });
    const values = s.filters[s.editing];
    cells.forEach((cell, i) => {
      if (document.activeElement === cell && changed.has('filters') && !changed.has('editing')) return;
      cell.value = String(Math.round(values[i] * 1e4) / 1e4);
      cell.classList.toggle('hot', values[i] !== 0);
      cell.classList.remove('invalid');
    });
  });
}
