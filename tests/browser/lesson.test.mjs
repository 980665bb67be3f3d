// The lesson's live pictures below the Figure 14-5 demo: receptive fields, stride and zero
// padding (the chapter's 5x7 -> 3x4 example), and max pooling's translation invariance on
// the A/B/C images, both computed by the core.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve, launch, open } from './harness.mjs';
import { createRequire } from 'node:module';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** axe-core's violations inside `selector` (every control labelled, contrast, roles...). */
async function axeViolations(page, selector) {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async (sel) => (await globalThis.axe.run(sel)).violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), selector);
}

let server;
let browser;
before(async () => {
  server = await serve();
  browser = await launch({ webgpu: false });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

const ready = (page) => page.waitForFunction(() => document.getElementById('lesson-live')?.dataset.ready === 'true', null, { timeout: 60_000 });

/** Sets the receptive-field controls and waits for the output grid to be redrawn. */
async function settings(page, { h, w, k, s, pad }) {
  for (const [id, v] of [['rf-h-in', h], ['rf-w-in', w], ['rf-k', k], ['rf-s', s], ['rf-pad', pad]]) {
    await page.selectOption(`#${id}`, String(v));
  }
  await page.waitForFunction(([h, w, k, s]) => document.getElementById('zp-sizes').textContent.startsWith(`A ${h}x${w} input, ${k}x${k} kernel, stride ${s}`), [h, w, k, s]);
}

/** Hovers every output cell; returns [cells, [window real cells, core count]...]. */
async function everyWindow(page) {
  const n = await page.$$eval('#rf-output button', (b) => b.length);
  const seen = [];
  for (let i = 0; i < n; i++) {
    await page.hover(`#rf-output button:nth-child(${i + 1})`);
    seen.push(await page.$eval('#rf-window', (e) => [Number(e.dataset.real), Number(e.dataset.count), document.querySelectorAll('#rf-input .in-window').length]));
  }
  return seen;
}

test('receptive fields: the chapter\'s 5x7 input gives 3x4 with "same" and stride 2, and every window covers what the core counts', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await ready(page);
  assert.equal(await page.$eval('#zp-sizes', (e) => e.dataset.same), '3x4', 'Figure 14-4: a 5x7 input connected to a 3x4 layer');
  assert.equal(await page.$eval('#zp-sizes', (e) => e.dataset.valid), '2x3');
  assert.equal(await page.$$eval('#rf-output button', (b) => b.length), 12);
  // The input is drawn with one ring of zero padding (7x9 cells, 5x7 real).
  assert.equal(await page.$$eval('#rf-input .rf-cell', (c) => c.length), 63);
  assert.equal(await page.$$eval('#rf-input .rf-cell:not(.pad)', (c) => c.length), 35);
  for (const [real, count, window] of await everyWindow(page)) {
    assert.equal(real, count, 'the drawn window covers as many real cells as the core counts');
    assert.equal(window, 9, 'a 3x3 window');
  }
  // The corner cell of the chapter's figure: rows -1..1, columns -1..1, four real cells.
  await page.hover('#rf-output button:nth-child(1)');
  assert.match(await page.textContent('#rf-window'), /Output cell \(0, 0\) sees input rows -1 to 1 and columns -1 to 1 .*: 4 real cells and 5 zeros of padding; the core counted 4\./);

  // An even kernel puts the odd padding row below (TensorFlow's rule) and stride 1 keeps the size.
  for (const config of [{ h: 6, w: 5, k: 4, s: 1, pad: 'same' }, { h: 9, w: 8, k: 5, s: 3, pad: 'same' }, { h: 9, w: 8, k: 2, s: 3, pad: 'valid' }]) {
    await settings(page, config);
    const windows = await everyWindow(page);
    for (const [real, count] of windows) assert.equal(real, count, JSON.stringify(config));
    const out = config.pad === 'same'
      ? [Math.ceil(config.h / config.s), Math.ceil(config.w / config.s)]
      : [Math.floor((config.h - config.k) / config.s) + 1, Math.floor((config.w - config.k) / config.s) + 1];
    assert.equal(windows.length, out[0] * out[1], JSON.stringify(config));
  }
  await settings(page, { h: 6, w: 5, k: 4, s: 1, pad: 'same' });
  assert.match(await page.textContent('#zp-sizes'), /"same" gives 6x5 .*zeros added: 1 above, 2 below, 1 left, 2 right\); "valid" gives 3x2/);

  // Keyboard: tabbing to an output cell shows its window (the pointer out of the way first).
  await page.mouse.move(0, 0);
  await page.waitForTimeout(100);
  await page.focus('#rf-output button:nth-child(3)');
  assert.match(await page.textContent('#rf-window'), /^Output cell \(0, 2\)/);
  await page.keyboard.press('Tab');
  assert.match(await page.textContent('#rf-window'), /^Output cell \(0, 3\)/);

  assert.deepEqual(await axeViolations(page, '#lesson-live'), [], 'axe-core finds nothing');
  // A kernel larger than the input with "valid" padding: the core's message, no grid.
  await settings(page, { h: 3, w: 3, k: 5, s: 1, pad: 'valid' });
  assert.equal(await page.isVisible('#rf-error'), true);
  assert.match(await page.textContent('#rf-error'), /conv2d: .*kernel/i);
  assert.match(await page.textContent('#zp-sizes'), /"same" gives 3x3 .*; "valid" gives none: /);
  assert.deepEqual(errors, []);
  await page.close();
});

test('max pooling: A and B pool the same, C keeps 75%, and editing A by keyboard updates the core\'s outputs', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await ready(page);
  const shares = () => page.$$eval('.pool-row', (r) => r.map((x) => [x.dataset.image, Number(x.dataset.same)]));
  assert.deepEqual(await shares(), [['A', 100], ['B', 100], ['C', 75]]);
  /** The pooled outputs as drawn, and a max pool of the drawn inputs done here. */
  const check = () => page.$$eval('.pool-row', (rows) => rows.map((row) => {
    const [input, output] = row.querySelectorAll('.pool-grid');
    const v = [...input.querySelectorAll('.pool-cell')].map((c) => Number(c.dataset.v));
    const want = [];
    for (let r = 0; r < 4; r += 2) for (let c = 0; c < 8; c += 2) want.push(Math.max(v[r * 8 + c], v[r * 8 + c + 1], v[(r + 1) * 8 + c], v[(r + 1) * 8 + c + 1]));
    return { got: [...output.querySelectorAll('.pool-cell')].map((c) => Number(c.dataset.v)), want };
  }));
  for (const { got, want } of await check()) assert.deepEqual(got, want);
  // Row 2, column 1 of A (an odd column): B's shift now crosses a window edge there.
  await page.focus('.pool-grid[role="group"] [data-index="17"]');
  await page.keyboard.press('Enter');
  await page.waitForFunction(() => document.querySelector('.pool-row[data-image="B"]').dataset.same !== '100');
  assert.deepEqual(await shares(), [['A', 100], ['B', 88], ['C', 75]]);
  for (const { got, want } of await check()) assert.deepEqual(got, want);
  assert.equal(await page.getAttribute('.pool-grid[role="group"] [data-index="17"]', 'aria-pressed'), 'true');
  assert.equal(await page.evaluate(() => document.activeElement?.getAttribute('data-index')), '17', 'focus stays on the edited cell');
  assert.deepEqual(errors, []);
  await page.close();
});
