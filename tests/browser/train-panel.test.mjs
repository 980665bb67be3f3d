// The training panel, driven as a user would: pick the small CNN, a subset of Fashion-MNIST and
// settings, train; the charts fill, pause holds the run, the page runs no kernel; the confusion
// matrix opens a cell's images; the downloaded weights evaluate (in the page's own core) to the
// accuracy the panel shows; a reload restores the model and continues an interrupted run; stop
// works; malformed share links and weights files give messages and change nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
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

/** Opens the page and waits for the panel (and the demo's first run, which convolves here). */
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

/** Sets the form: the small CNN on `images` Fashion-MNIST images for `epochs` epochs. */
async function smallRun(page, images, epochs) {
  await page.selectOption('#tp-model', 'fashion_small');
  await page.selectOption('#tp-data', 'fashion_mnist');
  await page.fill('#tp-train-images', String(images));
  await page.fill('#tp-epochs', String(epochs));
  await page.fill('#tp-batch', '32');
}

const points = (page, id) => page.$eval(id, (el) => Number(el.dataset.points ?? 0));
const kernelCalls = (page) => page.evaluate(() => globalThis.convlab.__kernelCalls());

test('the panel trains from the page: curves, pause, no kernel on the page, confusion matrix, weights', async () => {
  const { page, errors } = await openPanel();
  await smallRun(page, 2000, 2);
  const callsBefore = await kernelCalls(page);
  const t0 = Date.now();
  await page.click('#tp-train');
  await page.waitForFunction(() => Number(document.getElementById('tp-loss-chart').dataset.points) >= 2, null, { timeout: 60_000 });
  await page.click('#tp-pause');
  assert.equal(await page.textContent('#tp-pause'), 'Resume');
  await page.waitForTimeout(300); // the slice in flight ends
  const held = await page.$eval('#tp-run-progress', (el) => el.value);
  await page.waitForTimeout(1000);
  assert.equal(await page.$eval('#tp-run-progress', (el) => el.value), held, 'a paused run does not advance');
  await page.click('#tp-pause');
  await page.waitForSelector('#tp-results table.confusion', { timeout: 120_000 });
  console.log(`2 epochs of 2,000 images and the 10,000-image evaluation: ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  assert.equal(await kernelCalls(page) - callsBefore, 0, 'no convolution ran on the page while training and evaluating');
  assert.ok(await points(page, '#tp-loss-chart') >= 4, 'training points and validation points');
  assert.ok(await points(page, '#tp-acc-chart') >= 4);
  // Both cores: the panel trains with workers "auto" (one per core the browser reports).
  assert.match(await page.textContent('#tp-speed'), /^\d+ samples\/s on the CPU path( \(\d workers\))?$/);
  assert.equal(await page.$eval('#tp-run-progress', (el) => el.value), 1);
  // The trained model is handed to the other views (Classify, Look inside) through the store.
  const shared = await page.evaluate(async () => {
    const m = (await import('./js/store.js')).get().model;
    return m && { origin: m.origin, bytes: m.weights?.length ?? 0, classes: m.classNames, input: m.spec.input.shape };
  });
  assert.equal(shared?.origin, 'trained');
  assert.ok(shared.bytes > 1000);
  assert.equal(shared.classes[0], 'T-shirt/top');
  assert.deepEqual(shared.input, [28, 28, 1]);

  const summary = await page.textContent('#tp-results .test-accuracy');
  const shown = Number(summary.match(/([\d.]+)%/)[1]) / 100;
  assert.ok(shown > 0.6, summary);
  const cells = await page.$$eval('table.confusion tbody button', (bs) => bs.map((b) => Number(b.textContent)));
  assert.equal(cells.length, 100);
  assert.equal(cells.reduce((a, b) => a + b, 0), 10000);
  assert.equal(await page.$$eval('table.per-class tbody tr', (rs) => rs.length), 10);
  // The largest off-diagonal cell opens exactly its images.
  let worst = -1;
  cells.forEach((c, i) => { if (Math.floor(i / 10) !== i % 10 && (worst < 0 || c > cells[worst])) worst = i; });
  const [t, p] = [Math.floor(worst / 10), worst % 10];
  await page.click(`table.confusion button[data-truth="${t}"][data-predicted="${p}"]`);
  const title = await page.textContent('.gallery h4');
  assert.match(title, new RegExp(`^${cells[worst]} `));
  assert.equal(await page.$$eval('.gallery-images canvas', (c) => c.length), Math.min(cells[worst], 120));

  // The downloaded file, evaluated by the page's own core, agrees with the panel's worker.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#tp-download')]);
  assert.equal(download.suggestedFilename(), 'fashion_small.safetensors');
  const bytes = [...await fs.readFile(await download.path())];
  const check = await page.evaluate(async (raw) => {
    const c = globalThis.convlab;
    const file = new Uint8Array(raw);
    const n = Number(new DataView(file.buffer).getBigUint64(0, true));
    const meta = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n))).__metadata__;
    const model = c.Model.fromSpec(JSON.parse(meta.spec));
    model.loadWeights(file);
    const d = await c.data.load('fashion_mnist');
    return model.evaluate(d.test).accuracy;
  }, bytes);
  assert.ok(Math.abs(check - shown) < 6e-5, `the core's evaluate says ${check}, the panel ${shown}`);
  assert.deepEqual(errors, []);
  await page.close();

  // A reload restores the model, its curves and its result from IndexedDB.
  const again = await openPanel();
  await again.page.waitForSelector('#tp-restored:not([hidden])');
  const note = await again.page.textContent('#tp-restored');
  assert.match(note, /fashion_small, trained on Fashion-MNIST, epoch 2 of 2/);
  assert.match(note, new RegExp(`${(100 * shown).toFixed(2)}% test accuracy`));
  assert.ok(await points(again.page, '#tp-loss-chart') >= 2);
  assert.equal(await again.page.isHidden('#tp-continue'), true, 'a finished run offers no continuation');
  assert.equal(await again.page.isDisabled('#tp-download'), false);
  assert.deepEqual(again.errors, []);
  await again.page.close();
});

test('a reload during training loses at most the epoch in progress; continue, then stop', async () => {
  const { page, errors } = await openPanel();
  await smallRun(page, 1600, 4);
  await page.click('#tp-train');
  // Epoch 1 is in IndexedDB once its validation point is drawn and saved.
  await page.waitForFunction(() => /epoch 1 of 4|Epoch 2 of 4/.test(document.getElementById('tp-status').textContent ?? ''), null, { timeout: 60_000 });
  await page.waitForFunction(async () => {
    const db = await new Promise((r) => { const q = indexedDB.open('convlab', 1); q.onsuccess = () => r(q.result); });
    const run = await new Promise((r) => { const q = db.transaction('training').objectStore('training').get('current'); q.onsuccess = () => r(q.result); });
    db.close();
    return run?.status === 'training' && run.epoch >= 1;
  }, null, { timeout: 60_000 });
  await page.reload();
  await page.waitForSelector('#train[data-ready="true"]', { timeout: 60_000 });
  await page.waitForSelector('#tp-continue:not([hidden])');
  const label = await page.textContent('#tp-continue');
  const k = Number(label.match(/epoch (\d+)/)[1]);
  assert.ok(k >= 1 && k < 4, label);
  await page.click('#tp-continue');
  await page.waitForFunction((from) => new RegExp(`Epoch ${from + 1} of 4`).test(document.getElementById('tp-status').textContent ?? ''), k, { timeout: 60_000 });
  await page.click('#tp-stop');
  await page.waitForFunction(() => /Stopped at epoch|Trained 4 epochs/.test(document.getElementById('tp-status').textContent ?? '') ||
    document.querySelector('#tp-results table.confusion') !== null, null, { timeout: 60_000 });
  await page.waitForSelector('#tp-results table.confusion', { timeout: 120_000 });
  assert.equal(await page.isDisabled('#tp-train'), false);
  assert.equal(await page.evaluate(() => globalThis.convlab.training.active()), false);
  assert.deepEqual(errors, []);
  await page.close();
});

test('share links carry the settings; malformed ones and bad weights files give messages', async () => {
  const { page, errors } = await openPanel();
  const modelPart = await page.evaluate(() => globalThis.convlab.Model.fromSpec(globalThis.convlab.zoo.spec('lenet5_modern')).toUrl());
  const encode = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  await page.close();

  const good = await openPanel(`${modelPart}&train=${encode({ data: 'mnist', optimizer: 'rmsprop', learningRate: 0.002, epochs: 7, flip: false, seed: 9 })}`);
  assert.equal(await good.page.inputValue('#tp-model'), 'lenet5_modern');
  assert.equal(await good.page.inputValue('#tp-data'), 'mnist');
  assert.equal(await good.page.inputValue('#tp-optimizer'), 'rmsprop');
  assert.equal(await good.page.inputValue('#tp-epochs'), '7');
  assert.equal(await good.page.inputValue('#tp-lr'), '0.002');
  assert.equal(await good.page.isHidden('#tp-message'), true);
  // The panel's own link reads back the same.
  await good.page.click('#tp-share');
  const link = await good.page.inputValue('#tp-link');
  assert.match(link, /#model=1\.[^&]+&train=[A-Za-z0-9_-]+$/);
  assert.deepEqual(good.errors, []);
  await good.page.close();

  for (const [train, pattern] of [
    ['!!!', /train=.*not base64url/],
    [encode({ learningRate: 'fast' }), /learningRate must be a number/],
    [encode({ epochs: 3, optimizer: 'adagrad' }), /optimizer must be one of/],
    [Buffer.from('{"epochs":').toString('base64url'), /not JSON/],
  ]) {
    const bad = await openPanel(`${modelPart}&train=${train}`);
    const text = await bad.page.textContent('#tp-message');
    assert.match(text, pattern);
    assert.match(text, /defaults apply/);
    assert.equal(await bad.page.inputValue('#tp-model'), 'lenet5_modern', 'the model part still applies');
    assert.equal(await bad.page.inputValue('#tp-epochs'), '5', 'lenet5_modern\'s default epochs');
    assert.deepEqual(bad.errors, []);
    await bad.page.close();
  }
  const badModel = await openPanel('#model=1.AAAA&train=x');
  assert.match(await badModel.page.textContent('#tp-message'), /link's model could not be read/);
  assert.deepEqual(badModel.errors, []);
  await badModel.page.close();

  // Bad uploads: named, and whatever the browser keeps is unchanged.
  const up = await openPanel();
  assert.equal(await up.page.inputValue('#tp-model'), 'fashion_mnist_cnn');
  assert.equal(await up.page.isChecked('#tp-flip'), true, 'the chapter\'s recipe flips Fashion-MNIST images');
  assert.equal(await up.page.inputValue('#tp-optimizer'), 'nadam');
  await up.page.selectOption('#tp-data', 'mnist');
  assert.equal(await up.page.isChecked('#tp-flip'), false, 'no flips for digits');
  await up.page.fill('#tp-lr', '');
  await up.page.click('#tp-share');
  assert.match(await up.page.textContent('#tp-message'), /No link: check the settings: learningRate must be a number/);
  const before = await up.page.evaluate(() => document.getElementById('tp-restored').textContent);
  await up.page.setInputFiles('#tp-upload', { name: 'holiday.jpg.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('not a weights file at all') });
  await up.page.waitForFunction(() => /holiday/.test(document.getElementById('tp-message').textContent ?? ''));
  assert.match(await up.page.textContent('#tp-message'), /holiday\.jpg\.safetensors was not loaded, and nothing was changed: it is not a safetensors file/);
  const spec = JSON.stringify(await up.page.evaluate(() => globalThis.convlab.zoo.spec('lenet5_modern')));
  const header = Buffer.from(JSON.stringify({ __metadata__: { format: 'convlab-weights', version: '1', spec } }));
  const length = Buffer.alloc(8);
  length.writeBigUInt64LE(BigInt(header.length));
  await up.page.setInputFiles('#tp-upload', { name: 'empty.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.concat([length, header]) });
  await up.page.waitForFunction(() => /empty\.safetensors/.test(document.getElementById('tp-message').textContent ?? ''));
  assert.match(await up.page.textContent('#tp-message'), /empty\.safetensors was not loaded.*C1/);
  assert.equal(await up.page.evaluate(() => document.getElementById('tp-restored').textContent), before);
  assert.deepEqual(up.errors, []);
  await up.page.close();
});
