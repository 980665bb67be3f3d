// The training panel with the user's own data, driven as a user would: two classes of generated
// PNGs chosen through the class's file and folder inputs (a corrupt file among them is listed as skipped,
// nothing else is lost), a stratified hold-out, a few epochs in the worker and a confusion matrix
// on the held-out images; IDX files with a wrong magic number are refused naming the file; the
// augmentation preview appears and changes with the rotation; share links carry the
// augmentation settings and a bad value is named.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { forgetKept } from './kept.mjs';
import { serve, launch, open, demoDone } from './harness.mjs';

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

async function openPanel(hash = '') {
  const { page, errors } = await open(browser.context, server.url + '?view=train' + hash);
  await page.waitForSelector('#train[data-ready="true"]', { timeout: 60_000 });
  // Each test starts from the defaults: forget the form and images an earlier test left.
  if (await page.evaluate(forgetKept)) {
    await page.reload();
    await page.waitForSelector('#train[data-ready="true"]', { timeout: 60_000 });
  }
  await demoDone(page);
  return { page, errors };
}

/**
 * PNG files (for setInputFiles) of `n` 20x16 pictures: a bright bar on the left (class 0) or on
 * the right (class 1), with seeded noise, drawn by the page's canvas.
 */
async function pngs(page, k, n, seed) {
  const encoded = await page.evaluate(async ({ k, n, seed }) => {
    let s = seed >>> 0;
    const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
    const out = [];
    for (let i = 0; i < n; i++) {
      const canvas = new OffscreenCanvas(20, 16);
      const ctx = canvas.getContext('2d');
      const image = ctx.createImageData(20, 16);
      for (let p = 0; p < 20 * 16; p++) {
        const x = p % 20;
        const v = Math.min(255, ((k === 0 ? x < 8 : x >= 12) ? 200 : 20) + Math.floor(rand() * 50));
        image.data.set([v, v, v, 255], 4 * p);
      }
      ctx.putImageData(image, 0, 0);
      const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
      out.push(btoa(String.fromCharCode(...bytes)));
    }
    return out;
  }, { k, n, seed });
  return encoded.map((b64, i) => ({ name: `class${k}-${i}.png`, mimeType: 'image/png', buffer: Buffer.from(b64, 'base64') }));
}

/** PNG files of `n` 16x16 colour pictures: reddish (class 0) or bluish (class 1), noisy. */
async function colourPngs(page, k, n, seed) {
  const encoded = await page.evaluate(async ({ k, n, seed }) => {
    let s = seed >>> 0;
    const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
    const out = [];
    for (let i = 0; i < n; i++) {
      const canvas = new OffscreenCanvas(16, 16);
      const ctx = canvas.getContext('2d');
      const image = ctx.createImageData(16, 16);
      for (let p = 0; p < 256; p++) {
        const noise = () => Math.floor(rand() * 60);
        const [r, b] = k === 0 ? [180, 40] : [40, 180];
        image.data.set([r + noise(), 90 + noise(), b + noise(), 255], 4 * p);
      }
      ctx.putImageData(image, 0, 0);
      const bytes = new Uint8Array(await (await canvas.convertToBlob({ type: 'image/png' })).arrayBuffer());
      out.push(btoa(String.fromCharCode(...bytes)));
    }
    return out;
  }, { k, n, seed });
  return encoded.map((b64, i) => ({ name: `colour${k}-${i}.png`, mimeType: 'image/png', buffer: Buffer.from(b64, 'base64') }));
}

/** Drops files on a class's drop zone, as a drag from the desktop would (a synthetic DataTransfer). */
async function dropFiles(page, selector, files) {
  await page.evaluate(({ selector, files }) => {
    const transfer = new DataTransfer();
    for (const f of files) transfer.items.add(new File([Uint8Array.from(atob(f.b64), (c) => c.charCodeAt(0))], f.name, { type: f.mimeType }));
    document.querySelector(selector).dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, { selector, files: files.map((f) => ({ name: f.name, mimeType: f.mimeType, b64: f.buffer.toString('base64') })) });
}

const kernelCalls = (page) => page.evaluate(() => globalThis.convlab.__kernelCalls());

test('your own images: classes from file inputs, skipped files named, a held-out confusion matrix', async () => {
  const { page, errors } = await openPanel();
  await page.selectOption('#tp-model', 'fashion_small');
  await page.selectOption('#tp-data', 'images');
  assert.equal(await page.isVisible('#tp-own-images'), true);
  assert.equal(await page.$$eval('#tp-classes > li', (li) => li.length), 2, 'two classes to start with');
  assert.equal(await page.isVisible('#tp-holdout'), true);
  assert.equal(await page.isVisible('#tp-train-images'), false, 'a subset is for the built-in sets');
  await page.click('#tp-train');
  await page.waitForFunction(() => /Training failed/.test(document.getElementById('tp-message').textContent ?? ''));
  assert.match(await page.textContent('#tp-message'), /your data could not be used: add images to classes "Class 1", "Class 2"/);
  assert.equal(await page.isDisabled('#tp-classes .remove-class'), true, 'at least two classes stay');
  // A third class can be added and removed again.
  await page.click('#tp-add-class');
  assert.equal(await page.$$eval('#tp-classes > li', (li) => li.length), 3);
  await page.click('#tp-classes > li:nth-child(3) .remove-class');
  assert.equal(await page.$$eval('#tp-classes > li', (li) => li.length), 2);

  const ids = await page.$$eval('#tp-classes > li', (li) => li.map((l) => l.dataset.class));
  await page.fill(`#tp-class-${ids[0]}-name`, 'left');
  await page.fill(`#tp-class-${ids[1]}-name`, 'right');
  const corrupt = { name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4]) };
  const left = await pngs(page, 0, 20, 1);
  await page.setInputFiles(`#tp-class-${ids[0]}-files`, left.slice(0, 12));
  await page.setInputFiles(`#tp-class-${ids[0]}-files`, [...left.slice(12), corrupt]); // added to the first twelve
  // The second class as a folder (with a sub-folder), through the folder picker.
  const folder = await fs.mkdtemp(path.join(os.tmpdir(), 'convlab-right-'));
  await fs.mkdir(path.join(folder, 'more'));
  for (const [i, f] of (await pngs(page, 1, 20, 2)).entries()) await fs.writeFile(path.join(folder, i < 10 ? '' : 'more', f.name), f.buffer);
  await page.setInputFiles(`#tp-class-${ids[1]}-folder`, folder); // read from disk when decoded
  assert.equal(await page.textContent(`[data-class="${ids[0]}"] .class-count`), '21 files');
  assert.equal(await page.textContent(`[data-class="${ids[1]}"] .class-count`), '20 files');
  assert.equal(await page.$$eval(`[data-class="${ids[0]}"] .thumbs img`, (i) => i.length), 12);

  await page.fill('#tp-holdout', '25');
  await page.fill('#tp-epochs', '8');
  await page.fill('#tp-batch', '8');
  await page.fill('#tp-lr', '0.01');
  const callsBefore = await kernelCalls(page);
  await page.click('#tp-train');
  await page.waitForSelector('#tp-results table.confusion', { timeout: 120_000 });
  assert.equal(await kernelCalls(page) - callsBefore, 0, 'no convolution ran on the page');
  const summary = await page.textContent('#tp-own-summary');
  assert.match(summary, /^30 images for training, 10 held out for validation and the test \(left: 15 \+ 5, right: 15 \+ 5\); 1 file skipped/);
  const skipped = await page.$$eval('#tp-own-skipped li', (li) => li.map((l) => l.textContent));
  assert.equal(skipped.length, 1);
  assert.match(skipped[0], /broken\.png \(class "left"\): not an image/);
  const heads = await page.$$eval('table.confusion thead th', (th) => th.map((t) => t.textContent));
  assert.deepEqual(heads, ['true \\ predicted', 'left', 'right']);
  const cells = await page.$$eval('table.confusion tbody button', (bs) => bs.map((b) => Number(b.textContent)));
  assert.equal(cells.length, 4);
  assert.deepEqual([cells[0] + cells[1], cells[2] + cells[3]], [5, 5], 'the held-out images, five per class');
  const accuracy = await page.textContent('#tp-results .test-accuracy');
  console.log(`own images: ${accuracy}`);
  assert.match(accuracy, /on 10 images/);
  await fs.rm(folder, { recursive: true, force: true });
  assert.ok(cells[0] + cells[3] >= 8, `the bars are easy to tell apart: ${cells}`);
  // A cell opens its held-out images.
  await page.click('table.confusion button[data-truth="0"][data-predicted="0"]');
  assert.equal(await page.$$eval('.gallery-images canvas', (c) => c.length), cells[0]);
  // The preview samples the user's images too.
  await page.click('#tp-preview-box summary');
  await page.waitForFunction(() => Number(document.getElementById('tp-preview').dataset.version) >= 1, null, { timeout: 30_000 });
  assert.equal(await page.$$eval('#tp-preview canvas', (c) => c.length), 16);

  // IDX files: a wrong magic number is named with the file.
  await page.selectOption('#tp-data', 'idx');
  assert.equal(await page.isVisible('#tp-own-idx'), true);
  await page.setInputFiles('#tp-idx-images', { name: 'holiday-images.idx', mimeType: 'application/octet-stream', buffer: Buffer.from([0, 0, 9, 3, 0, 0, 0, 1, 0, 0, 0, 28, 0, 0, 0, 28]) });
  await page.setInputFiles('#tp-idx-labels', { name: 'holiday-labels.idx', mimeType: 'application/octet-stream', buffer: Buffer.from([0, 0, 8, 1, 0, 0, 0, 1, 0]) });
  await page.click('#tp-train');
  await page.waitForFunction(() => /Training failed/.test(document.getElementById('tp-message').textContent ?? ''));
  assert.match(await page.textContent('#tp-message'), /your data could not be used: .*holiday-images\.idx.*not an IDX file/);
  assert.equal(await page.isDisabled('#tp-train'), false);
  assert.deepEqual(errors, []);
  await page.close();
});

test('colour images for a colour model from a link: dropped files, evaluated in the worker', async () => {
  const spec = {
    format: 'convlab-model', version: 1, name: 'tiny_colour', input: { shape: [12, 12, 3] },
    layers: [
      { class_name: 'Conv2D', config: { filters: 4, kernel_size: 3, padding: 'same', activation: 'relu' } },
      { class_name: 'MaxPool2D' },
      { class_name: 'Flatten' },
      { class_name: 'Dense', config: { units: 10, activation: 'softmax' } },
    ],
  };
  const first = await openPanel();
  const modelPart = await first.page.evaluate((s) => globalThis.convlab.Model.fromSpec(s).toUrl(), spec);
  await first.page.close();
  const train = Buffer.from(JSON.stringify({ data: 'images', epochs: 6, batchSize: 4, learningRate: 0.01, holdout: 20 })).toString('base64url');
  const { page, errors } = await openPanel(`${modelPart}&train=${train}`);
  assert.equal(await page.inputValue('#tp-model'), 'link');
  const ids = await page.$$eval('#tp-classes > li', (li) => li.map((l) => l.dataset.class));
  await page.fill(`#tp-class-${ids[0]}-name`, 'red');
  await page.fill(`#tp-class-${ids[1]}-name`, 'blue');
  await dropFiles(page, `[data-class="${ids[0]}"] .drop-zone`, await colourPngs(page, 0, 10, 3));
  await dropFiles(page, `[data-class="${ids[1]}"] .drop-zone`, await colourPngs(page, 1, 10, 4));
  await page.waitForFunction((id) => document.querySelector(`[data-class="${id}"] .class-count`).textContent === '10 files', ids[1]);
  await page.click('#tp-train');
  await page.waitForSelector('#tp-results table.confusion', { timeout: 120_000 });
  const cells = await page.$$eval('table.confusion tbody button', (bs) => bs.map((b) => Number(b.textContent)));
  assert.equal(cells.length, 4, 'the model\'s outputs follow the two classes');
  assert.deepEqual([cells[0] + cells[1], cells[2] + cells[3]], [2, 2]);
  assert.ok(cells[0] + cells[3] >= 3, `red and blue are easy to tell apart: ${cells}`);
  // The gallery draws the held-out images in colour.
  await page.click('table.confusion button[data-truth="0"][data-predicted="0"]');
  const [r, , b] = await page.$eval('.gallery-images canvas', (c) => [...c.getContext('2d').getImageData(5, 5, 1, 1).data]);
  assert.ok(r > b + 60, `a red image is drawn red: ${r}, ${b}`);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the augmentation preview appears and changes with the rotation', async () => {
  const { page, errors } = await openPanel();
  assert.equal(await page.inputValue('#tp-rotation'), '0');
  await page.click('#tp-preview-box summary');
  await page.waitForFunction(() => Number(document.getElementById('tp-preview').dataset.version) >= 1, null, { timeout: 60_000 });
  const rows = () => page.$$eval('#tp-preview .preview-row', (rs) => rs.map((r) => [...r.querySelectorAll('canvas')].map((c) => c.toDataURL())));
  const [plain, shifted] = await rows();
  assert.equal(plain.length, 8);
  const version = Number(await page.$eval('#tp-preview', (el) => el.dataset.version));
  await page.fill('#tp-rotation', '45');
  await page.waitForFunction((v) => Number(document.getElementById('tp-preview').dataset.version) > v, version, { timeout: 30_000 });
  const [plainAfter, rotated] = await rows();
  assert.deepEqual(plainAfter, plain, 'the images as they are stay');
  assert.ok(rotated.filter((r, i) => r !== shifted[i]).length >= 6, 'the augmented images change with the rotation');
  assert.deepEqual(errors, []);
  await page.close();
});

test('share links carry the augmentation settings; a bad value is named', async () => {
  const first = await openPanel();
  const modelPart = await first.page.evaluate(() => globalThis.convlab.Model.fromSpec(globalThis.convlab.zoo.spec('lenet5_modern')).toUrl());
  await first.page.close();
  const encode = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

  const good = await openPanel(`${modelPart}&train=${encode({ data: 'images', rotation: 15, zoom: 0.1, contrast: 0.2, brightness: 0.05, holdout: 30 })}`);
  assert.equal(await good.page.inputValue('#tp-data'), 'images');
  assert.equal(await good.page.isVisible('#tp-own-images'), true);
  assert.equal(await good.page.inputValue('#tp-rotation'), '15');
  assert.equal(await good.page.inputValue('#tp-zoom'), '0.1');
  assert.equal(await good.page.inputValue('#tp-holdout'), '30');
  await good.page.click('#tp-share');
  const link = await good.page.inputValue('#tp-link');
  const settings = JSON.parse(Buffer.from(link.split('&train=')[1], 'base64url').toString());
  assert.deepEqual([settings.rotation, settings.zoom, settings.contrast, settings.brightness, settings.flip], [15, 0.1, 0.2, 0.05, false]);
  assert.deepEqual(good.errors, []);
  await good.page.close();

  for (const [train, pattern] of [
    [encode({ rotation: 400 }), /rotation must be a number from 0 to 180, got 400/],
    [encode({ zoom: 1 }), /zoom must be a number from 0 to 0\.95, got 1/],
    [encode({ brightness: -0.1, contrast: 'high' }), /brightness must be a number from 0 to 1, got -0.1; contrast must be a number from 0 to 1, got "high"/],
    [encode({ holdout: 90 }), /holdout must be a whole number from 5 to 50/],
  ]) {
    const bad = await openPanel(`${modelPart}&train=${train}`);
    const text = await bad.page.textContent('#tp-message');
    assert.match(text, pattern);
    assert.match(text, /defaults apply/);
    assert.equal(await bad.page.inputValue('#tp-rotation'), '0');
    assert.deepEqual(bad.errors, []);
    await bad.page.close();
  }
});

test('your images and the form\'s settings come back after a reload', async () => {
  const context = (await launch({ webgpu: false })); // a fresh profile: nothing kept yet
  try {
    const first = await open(context.context, `${server.url}?view=train`);
    const page = first.page;
    await page.waitForSelector('#train[data-ready="true"]', { timeout: 60_000 });
    await page.selectOption('#tp-data', 'images');
    await page.fill('#tp-epochs', '7');
    const ids = await page.$$eval('#tp-classes > li', (li) => li.map((l) => l.dataset.class));
    await page.fill(`#tp-class-${ids[0]}-name`, 'left bar');
    await page.fill(`#tp-class-${ids[1]}-name`, 'right bar');
    await page.setInputFiles(`#tp-class-${ids[0]}-files`, await pngs(page, 0, 3, 1));
    await page.setInputFiles(`#tp-class-${ids[1]}-files`, await pngs(page, 1, 5, 2));
    // The autosave writes 200 ms after the last change; wait until all 8 files are kept.
    await page.waitForFunction(() => document.getElementById('tp-own-summary').dataset.keptFiles === '8', null, { timeout: 30_000 });
    await page.reload();
    await page.waitForSelector('#train[data-ready="true"]', { timeout: 60_000 });
    const back = await page.evaluate(() => ({
      data: document.getElementById('tp-data').value,
      epochs: document.getElementById('tp-epochs').value,
      names: [...document.querySelectorAll('#tp-classes .class-name')].map((i) => i.value),
      counts: [...document.querySelectorAll('#tp-classes .class-count')].map((s) => s.textContent),
      thumbs: document.querySelectorAll('#tp-classes .thumbs img').length,
      note: document.getElementById('tp-own-summary').textContent,
    }));
    assert.deepEqual(back, {
      data: 'images', epochs: '7', names: ['left bar', 'right bar'], counts: ['3 files', '5 files'], thumbs: 8,
      note: '8 of your images came back from this browser\'s storage.',
    });
    assert.deepEqual(first.errors, []);
  } finally {
    await context.close();
  }
});
