// Training on WebGPU in the worker (SwiftShader in headless Chromium): the same small CNN,
// data, seed and settings as on the CPU path give the same curve up to rounding, the weights
// come back, the page runs no kernel; without an adapter 'webgpu' is refused with the reason
// and 'auto' trains on the CPU path; a bad backend name is refused.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve, launch, open, demoDone } from './harness.mjs';

const server = await serve();
after(async () => { await server.close(); });

/** IDX bytes of n 8x8 images: class k is a bright 2x2 block at one of four places, plus noise. */
const MAKE_DATA = `(n, seed) => {
  let s = seed >>> 0;
  const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const images = new Uint8Array(16 + n * 64);
  const labels = new Uint8Array(8 + n);
  new DataView(images.buffer).setUint32(0, 0x803); new DataView(images.buffer).setUint32(4, n);
  new DataView(images.buffer).setUint32(8, 8); new DataView(images.buffer).setUint32(12, 8);
  new DataView(labels.buffer).setUint32(0, 0x801); new DataView(labels.buffer).setUint32(4, n);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rand() * 4);
    labels[8 + i] = k;
    const [r, c] = [(k >> 1) * 4 + 1, (k & 1) * 4 + 1];
    for (let p = 0; p < 64; p++) images[16 + i * 64 + p] = Math.floor(rand() * 60);
    for (const [dr, dc] of [[0, 0], [0, 1], [1, 0], [1, 1]]) images[16 + i * 64 + (r + dr) * 8 + c + dc] = 255;
  }
  return { images, labels };
}`;

/** Trains the small model on each backend in `backends`; returns what each fit gave. */
const TRAIN = `async (makeData, backends) => {
  const c = globalThis.convlab;
  const make = eval(makeData);
  const t = make(256, 1);
  const v = make(64, 2);
  const train = c.data.fromIdx(t.images, t.labels, { mean: 0.2, std: 0.3, classes: 4 });
  const validation = c.data.fromIdx(v.images, v.labels, { mean: 0.2, std: 0.3, classes: 4 });
  const out = {};
  for (const backend of backends) {
    const model = c.Model.fromSpec({
      format: 'convlab-model', version: 1, input: { shape: [8, 8, 1] },
      layers: [
        { class_name: 'Conv2D', config: { filters: 4, kernel_size: 3, padding: 'same', activation: 'relu' } },
        { class_name: 'BatchNormalization' },
        { class_name: 'MaxPool2D' },
        { class_name: 'Flatten' },
        { class_name: 'Dropout', config: { rate: 0.2 } },
        { class_name: 'Dense', config: { units: 4, activation: 'softmax' } },
      ],
    });
    model.loadWeights(model.saveWeights()); // the same seeded initial weights on both
    const losses = [];
    const calls = c.__kernelCalls();
    try {
      const r = await model.fit(train, { validation, epochs: 2, batchSize: 16, optimizer: 'adam',
        learningRate: 3e-3, seed: 5, maxShift: 1, backend,
        onProgress: (p) => losses.push([p.epoch, p.step, p.loss, p.backend]) });
      out[backend] = { backend: r.backend, history: r.history, losses, pageCalls: c.__kernelCalls() - calls,
        after: model.evaluate(validation) };
    } catch (e) {
      out[backend] = { error: e.message };
    }
  }
  return out;
}`;

test('on WebGPU the worker trains the same curve as on the CPU path', async () => {
  const browser = await launch({ webgpu: true });
  try {
    const { page, errors } = await open(browser.context, server.url);
    await page.waitForFunction(() => globalThis.convlab !== undefined);
    await page.evaluate(() => globalThis.convlab.ready);
    await demoDone(page);
    const out = await page.evaluate(async ([make, train]) => eval(train)(make, ['cpu', 'webgpu', 'nonsense']),
      [MAKE_DATA, TRAIN]);
    const cpu = out.cpu;
    const gpu = out.webgpu;
    assert.equal(cpu.error, undefined, cpu.error);
    assert.equal(gpu.error, undefined, gpu.error);
    assert.equal(cpu.backend, 'cpu');
    assert.equal(gpu.backend, 'webgpu');
    assert.ok(gpu.losses.every((l) => l[3] === 'webgpu'), 'every progress report says webgpu');
    assert.equal(gpu.pageCalls, 0, 'the page ran a kernel while the worker trained');
    // The epoch-end figures: same batches, masks and updates; only rounding differs.
    assert.equal(gpu.history.length, cpu.history.length);
    for (let e = 0; e < cpu.history.length; e++) {
      const [a, b] = [cpu.history[e].validation, gpu.history[e].validation];
      assert.ok(Math.abs(a.loss - b.loss) < 1e-3 * Math.max(1, a.loss), `epoch ${e + 1}: validation loss ${a.loss} vs ${b.loss}`);
    }
    // The weights came back: evaluating them on the page gives the worker's last figure.
    const last = gpu.history.at(-1).validation;
    assert.ok(Math.abs(gpu.after.loss - last.loss) < 1e-4 * Math.max(1, last.loss), `${gpu.after.loss} vs ${last.loss}`);
    assert.ok(gpu.after.accuracy > 0.5, `accuracy after training: ${gpu.after.accuracy}`);
    assert.match(out.nonsense.error, /backend.*"nonsense".*'auto', 'cpu' or 'webgpu'/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('without an adapter, webgpu is refused with the reason and auto trains on the CPU path', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await open(browser.context, server.url);
    await page.waitForFunction(() => globalThis.convlab !== undefined);
    await page.evaluate(() => globalThis.convlab.ready);
    await demoDone(page);
    const out = await page.evaluate(async ([make, train]) => eval(train)(make, ['webgpu', 'auto']),
      [MAKE_DATA, TRAIN]);
    assert.match(out.webgpu.error ?? '', /WebGPU is unavailable in the training worker/);
    assert.equal(out.auto.error, undefined, out.auto.error);
    assert.equal(out.auto.backend, 'cpu');
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('the step schedule halves the rate every stepEvery epochs; bad values are named', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page, errors } = await open(browser.context, server.url);
    await page.waitForFunction(() => globalThis.convlab !== undefined);
    await page.evaluate(() => globalThis.convlab.ready);
    const out = await page.evaluate(async (makeData) => {
      const c = globalThis.convlab;
      const core = await import(new URL('convlab.js', document.baseURI).href);
      const t = eval(makeData)(64, 1);
      const data = c.data.fromIdx(t.images, t.labels, { mean: 0.2, std: 0.3, classes: 4 });
      const model = c.Model.fromSpec({ format: 'convlab-model', version: 1, input: { shape: [8, 8, 1] },
        layers: [{ class_name: 'Flatten' }, { class_name: 'Dense', config: { units: 4, activation: 'softmax' } }] });
      const trainer = new core.Trainer(model, data.dataset, { epochs: 6, batchSize: 16, optimizer: 'sgd',
        learningRate: 0.1, schedule: 'step', stepEvery: 2, stepFactor: 0.5 });
      const rates = [];
      for (let e = 0; e < 6; e++) rates.push(trainer.runSteps(4).learningRate); // 4 steps = 1 epoch
      const caught = (f) => { try { f(); return null; } catch (e) { return e.message; } };
      return {
        rates,
        badFactor: caught(() => new core.Trainer(model, data.dataset, { schedule: 'step', stepFactor: 2 })),
        badName: caught(() => new core.Trainer(model, data.dataset, { schedule: 'linear' })),
      };
    }, MAKE_DATA);
    // The rate after each epoch: epochs 1-2 at 0.1, 3-4 at 0.05, 5-6 at 0.025 (reported for the next step).
    assert.deepEqual(out.rates.map((r) => Math.round(r * 1e4) / 1e4), [0.1, 0.05, 0.05, 0.025, 0.025, 0.0125]);
    assert.match(out.badFactor, /stepFactor.*\(0, 1\]/);
    assert.match(out.badName, /"linear" is not constant, step or cosine/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
