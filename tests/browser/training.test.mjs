// Training from the page: a small CNN learns a synthetic 10-class data set in the training
// worker while the page's own core runs no convolution, reports progress, can be stopped, and
// the trained weights come back into the model (evaluate agrees); bad IDX bytes are named.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MAKE_DATA } from './fixtures.mjs';
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

test('a small CNN trains in the worker, the page runs no kernel, weights come back', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await page.waitForFunction(() => globalThis.convlab !== undefined);
  await page.evaluate(() => globalThis.convlab.ready);
  await demoDone(page); // the page's own demo convolves on load: let it finish first
  const out = await page.evaluate(async (makeData) => {
    const c = globalThis.convlab;
    const make = eval(makeData);
    const t = make(600, 1);
    const v = make(200, 2);
    const train = c.data.fromIdx(t.images, t.labels, { mean: 0.2, std: 0.3 });
    const validation = c.data.fromIdx(v.images, v.labels, { mean: 0.2, std: 0.3 });
    const model = c.Model.fromSpec({
      format: 'convlab-model', version: 1, input: { shape: [8, 8, 1] },
      layers: [
        { class_name: 'Conv2D', config: { filters: 8, kernel_size: 3, padding: 'same', activation: 'relu' } },
        { class_name: 'MaxPool2D' },
        { class_name: 'Flatten' },
        { class_name: 'Dense', config: { units: 10, activation: 'softmax' } },
      ],
    });
    const before = model.evaluate(validation);
    const callsBefore = c.__kernelCalls();
    const progress = [];
    // The page stays responsive: timers keep firing while the worker trains.
    let ticks = 0;
    const timer = setInterval(() => ticks++, 20);
    const result = await model.fit(train, {
      validation, epochs: 4, batchSize: 20, optimizer: 'adam', learningRate: 0.01, seed: 3,
      onProgress: (p) => progress.push(p),
    });
    clearInterval(timer);
    const callsDuring = c.__kernelCalls() - callsBefore;
    const after = model.evaluate(validation);
    return { before: before.accuracy, after: after.accuracy, history: result.history, progress: progress.length,
      lastLoss: progress[progress.length - 1].loss, firstLoss: progress[0].loss, callsDuring, ticks,
      confusionRows: after.confusion.length };
  }, MAKE_DATA);
  console.log(`validation accuracy ${out.before.toFixed(2)} -> ${out.after.toFixed(2)}, ${out.progress} progress messages, ${out.ticks} timer ticks`);
  assert.equal(out.callsDuring, 0, 'no convolution ran on the page while the model trained');
  assert.ok(out.after > 0.9, `validation accuracy ${out.after}`);
  assert.ok(out.after > out.before + 0.3);
  assert.equal(out.history.length, 4);
  assert.ok(Math.abs(out.history[3].validation.accuracy - out.after) < 1e-9, 'the weights that came back are the trained ones');
  assert.ok(out.progress >= 4 && out.lastLoss < out.firstLoss);
  assert.ok(out.ticks > 0);
  assert.equal(out.confusionRows, 10);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a run can be stopped, and bad data is named', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await page.waitForFunction(() => globalThis.convlab !== undefined);
  await page.evaluate(() => globalThis.convlab.ready);
  const out = await page.evaluate(async (makeData) => {
    const c = globalThis.convlab;
    const t = eval(makeData)(400, 5);
    const train = c.data.fromIdx(t.images, t.labels);
    const model = c.Model.fromSpec(c.zoo.spec('lenet5_modern').layers ? {
      format: 'convlab-model', version: 1, input: { shape: [8, 8, 1] },
      layers: [{ class_name: 'Flatten' }, { class_name: 'Dense', config: { units: 10, activation: 'softmax' } }],
    } : null);
    let seen = 0;
    const result = await model.fit(train, { epochs: 500, batchSize: 10, onProgress: () => { if (++seen === 3) c.training.stop(); } });
    let bad = null;
    try { c.data.fromIdx(new Uint8Array([0x1f, 0x8b, 8, 0, 1, 2]), t.labels, { imagesName: 'shirts.gz' }); } catch (e) { bad = e.message; }
    let truncated = null;
    try { c.data.fromIdx(t.images.slice(0, 100), t.labels, { imagesName: 'train-images' }); } catch (e) { truncated = e.message; }
    return { stopped: result.stopped, epochs: result.history.length, bad, truncated, active: c.training.active() };
  }, MAKE_DATA);
  assert.equal(out.stopped, true);
  assert.ok(out.epochs < 500);
  assert.equal(out.active, false);
  assert.match(out.bad, /shirts\.gz/);
  assert.match(out.truncated, /train-images.*truncated/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('Fashion-MNIST loads from the site and a small CNN reaches 88% on the full test set in one epoch', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await page.waitForFunction(() => globalThis.convlab !== undefined);
  await page.evaluate(() => globalThis.convlab.ready);
  const out = await page.evaluate(async () => {
    const c = globalThis.convlab;
    let t0 = performance.now();
    const fractions = [];
    const d = await c.data.load('fashion_mnist', { onProgress: (f) => fractions.push(f) });
    const loadSeconds = (performance.now() - t0) / 1000;
    const labels = (/** @type {any} */ s, n) => Array.from(s.labels.subarray(8, 8 + n));
    // The small model chosen for speed: 16 and 32 3x3 filters, two max pools, one dense layer.
    const model = c.Model.fromSpec({
      format: 'convlab-model', version: 1, name: 'fashion_small', input: { shape: [28, 28, 1] },
      layers: [
        { class_name: 'Conv2D', config: { filters: 16, kernel_size: 3, padding: 'same', activation: 'relu' } },
        { class_name: 'MaxPool2D' },
        { class_name: 'Conv2D', config: { filters: 32, kernel_size: 3, padding: 'same', activation: 'relu' } },
        { class_name: 'MaxPool2D' },
        { class_name: 'Flatten' },
        { class_name: 'Dense', config: { units: 10, activation: 'softmax' } },
      ],
    });
    t0 = performance.now();
    await model.fit(d.train, { epochs: 1, batchSize: 32, optimizer: 'adam', learningRate: 3e-3, schedule: 'cosine', seed: 1 });
    const fitSeconds = (performance.now() - t0) / 1000;
    const test = model.evaluate(d.test);
    let badName = null;
    try { await c.data.load('cifar10'); } catch (e) { badName = e.message; }
    return { loadSeconds, fitSeconds, accuracy: test.accuracy, sizes: [d.train.length, d.validation.length, d.test.length],
      trainLabels: labels(d.train, 10), testLabels: labels(d.test, 10), lastFraction: fractions[fractions.length - 1],
      classNames: d.classNames.length, badName };
  });
  console.log(`fashion_mnist: loaded in ${out.loadSeconds.toFixed(1)} s; one epoch of the small CNN in ${out.fitSeconds.toFixed(0)} s; test accuracy ${(100 * out.accuracy).toFixed(2)}%`);
  assert.deepEqual(out.sizes, [55000, 5000, 10000]);
  // The well-known first labels of the official files (../shared/data/README.md).
  assert.deepEqual(out.trainLabels, [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
  assert.deepEqual(out.testLabels, [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
  assert.equal(out.lastFraction, 1);
  assert.equal(out.classNames, 10);
  // Seeded and single-threaded: the same 88.51% every run on this code.
  assert.ok(out.accuracy >= 0.88, `test accuracy ${out.accuracy}`);
  assert.match(out.badName, /no data set "cifar10"/);
  assert.deepEqual(errors, []);
  await page.close();
});
