// Data-parallel training on the CPU path: fit({workers}) cuts each batch over shard workers
// (each its own core instance) and adds their gradients up in order. The same run twice with
// the same worker count is bit-identical; without batch norm two workers train the curve of one
// to float rounding; bad worker counts are named.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { MAKE_DATA } from './fixtures.mjs';
import { serve, launch, open } from './harness.mjs';

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

test('fit with workers: deterministic per count, the one-worker curve without batch norm, bad counts named', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await page.waitForFunction(() => globalThis.convlab !== undefined);
  await page.evaluate(() => globalThis.convlab.ready);
  const out = await page.evaluate(async (makeData) => {
    const c = globalThis.convlab;
    const make = eval(makeData);
    const t = make(480, 1);
    const v = make(200, 2);
    const train = c.data.fromIdx(t.images, t.labels, { mean: 0.2, std: 0.3 });
    const validation = c.data.fromIdx(v.images, v.labels, { mean: 0.2, std: 0.3 });
    const spec = (bn) => ({
      format: 'convlab-model', version: 1, input: { shape: [8, 8, 1] },
      layers: [
        { class_name: 'Conv2D', config: { filters: 8, kernel_size: 3, padding: 'same', activation: 'relu' } },
        ...(bn ? [{ class_name: 'BatchNormalization' }] : []),
        { class_name: 'MaxPool2D' },
        { class_name: 'Flatten' },
        { class_name: 'Dropout', config: { rate: 0.3 } },
        { class_name: 'Dense', config: { units: 10, activation: 'softmax' } },
      ],
    });
    const fit = async (bn, workers) => {
      const model = c.Model.fromSpec(spec(bn));
      const seen = new Set();
      const result = await model.fit(train, {
        validation, epochs: 2, batchSize: 24, optimizer: 'nadam', learningRate: 0.01, seed: 5, maxShift: 1,
        workers, onProgress: (p) => seen.add(p.workers),
      });
      // The weights, through what they compute (a weights file's metadata order is not stable).
      const x = Float32Array.from({ length: 4 * 64 }, (_, i) => Math.sin(i));
      const weights = Array.from((await model.predict({ shape: [4, 8, 8, 1], data: x }, { backend: 'cpu' })).data);
      model.free();
      return { losses: result.history.map((h) => h.validation.loss), acc: result.history.at(-1).validation.accuracy, weights, seen: [...seen] };
    };
    const bnA = await fit(true, 2);
    const bnB = await fit(true, 2);
    const one = await fit(false, 1);
    const two = await fit(false, 2);
    const three = await fit(false, 3);
    const problems = [];
    for (const workers of [0, 2.5, 'many', 25, 17]) {
      try { await fit(false, workers); problems.push('no error'); } catch (e) { problems.push(e.message); }
    }
    return { bnA, bnB, one, two, three, problems };
  }, MAKE_DATA);
  assert.deepEqual(out.bnA.seen, [2], 'progress says two workers');
  assert.deepEqual(out.bnA.losses, out.bnB.losses, 'the same worker count gives the same curve');
  assert.ok(out.bnA.weights.every((b, i) => b === out.bnB.weights[i]), 'and the same weights, bit for bit');
  for (const other of [out.two, out.three]) {
    other.losses.forEach((l, i) => assert.ok(Math.abs(l - out.one.losses[i]) < 1e-4, `epoch ${i}: ${l} vs ${out.one.losses[i]}`));
  }
  assert.ok(out.one.acc > 0.9, `accuracy ${out.one.acc}`);
  assert.match(out.problems[0], /option 'workers': 0 is not 'auto' or a whole number from 1 to 16/);
  assert.match(out.problems[1], /option 'workers': 2.5/);
  assert.match(out.problems[2], /option 'workers': "many"/);
  assert.match(out.problems[3], /option 'workers': 25/);
  assert.match(out.problems[4], /17 workers|option 'workers': 17/);
  assert.deepEqual(errors, []);
  await page.close();
});
