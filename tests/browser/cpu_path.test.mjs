// The page and the JavaScript API in headless Chromium without WebGPU: the CPU (wasm SIMD128)
// path, the reasons the page gives, argument checking, and the demo's controls.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { serve, launch, open, demoDone, DIST } from './harness.mjs';
import { conv2dRef, randomTensor, boundRatio } from './reference.mjs';

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

test('the page loads, runs the demo on the CPU path and says why', async () => {
  const { page, errors } = await open(browser.context, server.url);
  const status = await demoDone(page);
  assert.equal(status.state, 'done', status.text);
  assert.equal(status.backend, 'cpu');
  assert.match(status.text, /\[2,427,640,3\] \* \[7,7,3,2\] -> \[2, 427, 640, 2\]/);
  const report = await page.evaluate(() => globalThis.convlab.backends());
  assert.deepEqual(report.available, ['cpu']);
  assert.equal(report.active, 'cpu');
  assert.equal(report.simd128, true);
  assert.match(report.reason, /WebGPU unavailable: no .*adapter/);
  const header = await page.textContent('#backend-status');
  assert.match(header, /CPU \(wasm SIMD128\): WebGPU unavailable/);
  assert.equal(await page.locator('#feature-maps canvas').count(), 4);
  assert.equal(await page.locator('#backend-choice option[value="webgpu"]').isDisabled(), true);
  assert.deepEqual(errors, []);
  await page.close();
});

test('convlab.conv2d matches tf.nn.conv2d semantics on random problems', async () => {
  const { page } = await open(browser.context, server.url);
  await page.evaluate(() => globalThis.convlab.ready);
  const cases = [
    { x: [1, 9, 8, 3], f: [3, 3, 3, 4], o: { strides: 1, padding: 'same' } },
    { x: [2, 10, 7, 5], f: [4, 2, 5, 3], o: { strides: [2, 3], padding: 'same' } },
    { x: [1, 12, 12, 2], f: [3, 3, 2, 9], o: { strides: 1, padding: 'same', dilations: 2 } },
    { x: [3, 11, 9, 4], f: [5, 3, 4, 6], o: { strides: [1, 2], padding: 'valid' } },
    { x: [1, 6, 7, 1], f: [3, 3, 1, 2], o: { strides: 2, padding: [[1, 2], [0, 3]] } },
    { x: [1, 5, 5, 64], f: [1, 1, 64, 17], o: { padding: 'VALID' } },
    { x: [1, 14, 13, 3], f: [7, 7, 3, 2], o: { strides: 3, padding: 'same', dilations: [1, 2] } },
  ];
  for (const [i, c] of cases.entries()) {
    const x = randomTensor(c.x, 11 + i);
    const f = randomTensor(c.f, 101 + i);
    const got = await page.evaluate(
      async ([x, f, o]) => {
        const r = await globalThis.convlab.conv2d(
          { shape: x.shape, data: new Float32Array(x.data) }, { shape: f.shape, data: new Float32Array(f.data) }, o);
        return { shape: r.shape, data: Array.from(r.data), backend: r.backend, ms: r.ms };
      },
      [{ shape: x.shape, data: Array.from(x.data) }, { shape: f.shape, data: Array.from(f.data) }, c.o],
    );
    const ref = conv2dRef(x, f, c.o);
    assert.deepEqual(got.shape, ref.shape, `case ${i} shape`);
    assert.equal(got.backend, 'cpu');
    assert.ok(got.ms >= 0);
    const ratio = boundRatio(got.data, ref, c.f[0] * c.f[1] * c.f[2]);
    assert.ok(ratio <= 1, `case ${i}: error is ${ratio}x the f32 summation bound`);
  }
  await page.close();
});

test('bad arguments reject with errors that name the argument and the value', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await page.evaluate(() => globalThis.convlab.ready);
  const results = await page.evaluate(async () => {
    const t = (shape, len) => ({ shape, data: new Float32Array(len ?? shape.reduce((a, b) => a * b, 1)) });
    const x = t([1, 4, 4, 1]);
    const f = t([3, 3, 1, 1]);
    const cases = [
      [t([1, 4, 4]), f, {}],
      [t([1, 4, 4, 3]), t([3, 3, 2, 1]), {}],
      [{ shape: [1, 0, 4, 1], data: new Float32Array(0) }, f, {}],
      [{ shape: [1, -4, 4, 1], data: new Float32Array(16) }, f, {}],
      [x, f, { strides: 0 }],
      [x, f, { strides: -1 }],
      [x, f, { strides: NaN }],
      [x, f, { dilations: Infinity }],
      [x, f, { strides: [1, 2, 3] }],
      [t([1, 4, 4, 1], 15), f, {}],
      [{ shape: [65536, 65536, 65536, 1], data: new Float32Array(1) }, f, {}],
      [{ shape: [1, 20000, 20000, 1], data: new Float32Array(1) }, f, {}],
      [x, f, { padding: 'middle' }],
      [x, f, { padding: [[1, 1], [1]] }],
      [x, f, { padding: [[-1, 1], [1, 1]] }],
      [x, f, { stride: 2 }],
      [x, f, { backend: 'tpu' }],
      [42, f, {}],
      [{ shape: [1, 4, 4, 1], data: 'abc' }, f, {}],
      [t([1, 3, 3, 1]), t([5, 5, 1, 1]), { padding: 'valid' }],
      [x, f, { backend: 'webgpu' }],
      [x, f, 'same'],
      [{ shape: [1, 2, 2, 1], data: [0, 1, 'two', 3] }, f, {}],
    ];
    const out = [];
    for (const [a, b, o] of cases) {
      try {
        await globalThis.convlab.conv2d(a, b, o);
        out.push('resolved');
      } catch (e) {
        out.push(`${e instanceof Error ? 'Error' : typeof e}: ${e.message}`);
      }
    }
    const ok = await globalThis.convlab.conv2d(x, f, { padding: 'same' });
    out.push(`after: ${ok.shape}`);
    return out;
  });
  const expected = [
    /^Error: conv2d: argument 'x': expected rank 4 .*got shape \[1, 4, 4\]/,
    /^Error: conv2d: argument 'filters': .*expects 2 input channels but x has 3/,
    /^Error: conv2d: argument 'x\.shape\[1\]': expected an integer >= 1, got 0/,
    /^Error: conv2d: argument 'x\.shape\[1\]': expected an integer >= 1, got -4/,
    /^Error: conv2d: argument 'strides': .*got 0/,
    /^Error: conv2d: argument 'strides': .*got -1/,
    /^Error: conv2d: argument 'strides': .*got NaN/,
    /^Error: conv2d: argument 'dilations': .*got Infinity/,
    /^Error: conv2d: argument 'strides': .*got \[1,2,3\]/,
    /^Error: conv2d: argument 'x': data has 15 elements but shape \[1, 4, 4, 1\] needs 16/,
    /^Error: conv2d: argument 'x': shape \[65536, 65536, 65536, 1\] holds \d+ elements, over the cap/,
    /^Error: conv2d: argument 'x': shape \[1, 20000, 20000, 1\] holds 400000000 elements, over the cap of 268435456/,
    /^Error: conv2d: argument 'padding': .*got "middle"/,
    /^Error: conv2d: argument 'padding': .*got \[\[1,1\],\[1\]\]/,
    /^Error: conv2d: argument 'padding': .*got \[\[-1,1\],\[1,1\]\]/,
    /^Error: conv2d: argument 'options': unknown option "stride"; the options are strides, padding, dilations, groups, bias, activation, backend/,
    /^Error: conv2d: argument 'backend': .*got "tpu"/,
    /^Error: conv2d: argument 'x': expected \{shape, data\}, got 42/,
    /^Error: conv2d: argument 'x': data must be a Float32Array .*got "abc"/,
    /^Error: conv2d: argument 'filters': the height of the dilated kernel \(5\) is larger than the input's height \(3\) with 'valid' padding/,
    /^Error: conv2d: argument 'backend': "webgpu" is not available here: no .*adapter/,
    /^Error: conv2d: argument 'options': expected an object, got "same"/,
    /^Error: conv2d: argument 'x': data\[2\] is "two", not a number/,
  ];
  assert.equal(results.length, expected.length + 1);
  expected.forEach((re, i) => assert.match(results[i], re, `case ${i}`));
  assert.equal(results.at(-1), 'after: 1,4,4,1');
  assert.deepEqual(errors, []);
  await page.close();
});

test('editing a filter cell, the stride and the padding update the maps at once', async () => {
  const { page } = await open(browser.context, server.url);
  await demoDone(page, 1);
  const sum = () => page.evaluate(() => globalThis.convlabDemo.result.data.reduce((a, b) => a + b, 0));
  const before = await sum();
  await page.locator('#filter-grid input').nth(0).fill('5');
  await demoDone(page, 2);
  const afterEdit = await sum();
  assert.notEqual(afterEdit, before);
  const filters = await page.evaluate(() => Array.from(globalThis.convlabDemo.filters.data.slice(0, 6)));
  assert.deepEqual(filters, [5, 0, 5, 0, 5, 0]); // cell (0,0) of filter 0 on all three channels
  await page.selectOption('#stride', '2');
  let status = await demoDone(page, 3);
  assert.match(status.text, /-> \[2, 214, 320, 2\], stride 2, "same"/);
  await page.selectOption('#padding', 'valid');
  status = await demoDone(page, 4);
  assert.match(status.text, /-> \[2, 211, 317, 2\], stride 2, "valid"/);
  // A cell that is not a number is marked and ignored; the maps keep the last good filter.
  await page.locator('#filter-grid input').nth(1).fill('abc');
  assert.equal(await page.locator('#filter-grid input').nth(1).getAttribute('aria-invalid'), 'true');
  await page.click('[data-preset="zero"]');
  status = await demoDone(page, 5);
  assert.match(status.text, /values|conv2d/);
  const zero = await page.evaluate(() => globalThis.convlabDemo.result.data.slice(0, 4000).every((v, i) => i % 2 === 1 || v === 0));
  assert.ok(zero, 'the all-zero preset gives an all-zero map 0');
  await page.close();
});

test('a user image replaces the batch; bad files get a message naming them', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await demoDone(page, 1);
  await page.setInputFiles('#file-input', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  await page.waitForFunction(() => document.getElementById('input-note').textContent.includes('notes.txt'));
  assert.match(await page.textContent('#input-note'), /notes\.txt is not an image/);
  await page.setInputFiles('#file-input', { name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('not a png') });
  await page.waitForFunction(() => document.getElementById('input-note').textContent.includes('broken.png'));
  assert.match(await page.textContent('#input-note'), /broken\.png could not be decoded/);
  const jpg = await fs.readFile(path.join(DIST, 'assets/photos/flower.jpg'));
  await page.setInputFiles('#file-input', { name: 'mine.jpg', mimeType: 'image/jpeg', buffer: jpg });
  const status = await demoDone(page, 2);
  assert.match(status.text, /conv2d \[1,427,640,3\]/);
  assert.equal(await page.locator('#feature-maps canvas').count(), 2);
  await page.click('#reset-images');
  assert.match((await demoDone(page, 3)).text, /conv2d \[2,427,640,3\]/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('?backend=webgpu without an adapter runs on the CPU and says why', async () => {
  const { page } = await open(browser.context, `${server.url}?backend=webgpu`);
  const status = await demoDone(page);
  assert.equal(status.backend, 'cpu');
  assert.match(await page.textContent('#backend-status'), /\?backend=webgpu could not be used: .*not available here/);
  await page.close();
});

test('?backend=cpu is the user\'s choice', async () => {
  const { page } = await open(browser.context, `${server.url}?backend=cpu`);
  await demoDone(page);
  const report = await page.evaluate(() => globalThis.convlab.backends());
  assert.equal(report.choice, 'cpu');
  assert.equal(report.reason, "user's choice");
  await page.close();
});

test('a browser without WebAssembly SIMD gets a clear message, not a blank page', async () => {
  const page = await browser.context.newPage();
  await page.addInitScript(() => {
    const validate = WebAssembly.validate;
    WebAssembly.validate = (bytes) => (bytes.length === 31 ? false : validate(bytes));
  });
  await page.goto(server.url);
  await page.waitForSelector('#fatal:not([hidden])');
  assert.match(await page.textContent('#fatal'), /lacks WebAssembly SIMD/);
  await page.close();
});

test('the site works from a sub-path of a static host', async () => {
  const sub = await serve(DIST, '/some/sub/path/');
  try {
    const { page, errors } = await open(browser.context, sub.url);
    const status = await demoDone(page);
    assert.equal(status.state, 'done', status.text);
    assert.deepEqual(errors, []);
    await page.close();
  } finally {
    await sub.close();
  }
});
