// Models from JavaScript: the zoo, Model.fromSpec with its errors, summaries, share links
// (copy a link, open it in a fresh page, get the same spec), Keras export, predict and feature
// maps on the CPU path and on WebGPU (SwiftShader), and a device lost in the middle.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve, launch, open } from './harness.mjs';

let server;
let browser;
before(async () => {
  server = await serve();
  browser = await launch({ webgpu: true });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

async function ready(page) {
  await page.waitForFunction(() => globalThis.convlab !== undefined);
  await page.evaluate(() => globalThis.convlab.ready);
}

test('zoo, summary, errors and the share link round trip', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await ready(page);
  const out = await page.evaluate(() => {
    const c = globalThis.convlab;
    const names = c.zoo.names();
    const model = c.Model.fromSpec(c.zoo.spec('fashion_mnist_cnn'));
    const summary = model.summary({ batch: 64, optimizer: 'adam' });
    const text = model.summaryText({ batch: 64 });
    const link = model.toUrl();
    let bad = null;
    try {
      c.Model.fromSpec({ format: 'convlab-model', version: 1, input: { shape: [7, 7, 1] },
        layers: [{ name: 'conv3', class_name: 'Conv2D', config: { filters: 4, kernel_size: 9 } }] });
    } catch (e) { bad = e.message; }
    let badLink = null;
    try { c.Model.fromUrl(link.slice(0, 40)); } catch (e) { badLink = e.message; }
    return { names, totals: summary.totals, rows: summary.layers.length, text, link, bad, badLink,
      keras: model.toKerasCode().slice(0, 2000) };
  });
  assert.ok(out.names.includes('resnet152') && out.names.includes('mobilenet_v2'), out.names.join());
  assert.equal(out.totals.params, 1413834);
  assert.equal(out.totals.macs, 89466496);
  assert.ok(out.totals.trainingBytes > 4 * 3 * 1413834, 'weights, gradients and two Adam slots at least');
  assert.match(out.text, /Total params: 1,413,834/);
  assert.match(out.bad, /^layer 'conv3' \(Conv2D\): argument 'kernel_size': .*larger than the input's height \(7\)/);
  assert.match(out.badLink, /^link: /);
  assert.match(out.keras, /import keras/);
  assert.ok(out.link.length <= 2000, `link of ${out.link.length} characters`);
  // A fresh page opens the link and gets the same spec.
  const other = await open(browser.context, server.url);
  await ready(other.page);
  const same = await other.page.evaluate((link) => {
    const c = globalThis.convlab;
    return JSON.stringify(c.Model.fromUrl(location.origin + '/' + link).spec()) ===
      JSON.stringify(c.zoo.spec('fashion_mnist_cnn'));
  }, out.link);
  assert.ok(same, 'the link gives back the same spec');
  assert.deepEqual(errors, []);
  assert.deepEqual(other.errors, []);
  await page.close();
  await other.page.close();
});

test('the Fashion-MNIST CNN and MobileNetV2 predict on both backends with the same results', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await ready(page);
  const out = await page.evaluate(async () => {
    const c = globalThis.convlab;
    const rows = [];
    for (const name of ['fashion_mnist_cnn', 'mobilenet_v2']) {
      const model = c.Model.fromSpec(c.zoo.spec(name));
      const shape = [1, ...model.spec().input.shape];
      const data = new Float32Array(shape.reduce((a, b) => a * b)).map((_, i) => Math.cos(i * 0.37));
      const cpu = await model.predict({ shape, data }, { backend: 'cpu' });
      const gpu = await model.predict({ shape, data }, { backend: 'webgpu' });
      const scale = Math.max(...cpu.data.map(Math.abs));
      let worst = 0;
      for (let i = 0; i < cpu.data.length; i++) worst = Math.max(worst, Math.abs(cpu.data[i] - gpu.data[i]) / scale);
      rows.push({ name, shape: cpu.shape, gpu: gpu.backend, worst, cpuMs: cpu.ms, gpuMs: gpu.ms });
    }
    return rows;
  });
  for (const r of out) {
    console.log(`${r.name}: cpu ${r.cpuMs.toFixed(0)} ms, webgpu ${r.gpuMs.toFixed(0)} ms, relative difference ${r.worst.toExponential(2)}`);
    assert.equal(r.gpu, 'webgpu');
    assert.ok(r.worst < 1e-3, `${r.name}: WebGPU differs from the CPU by ${r.worst} of the scale`);
  }
  assert.deepEqual(out.map((r) => r.shape), [[1, 10], [1, 1000]]);
  assert.deepEqual(errors, []);
  await page.close();
});

test('predict and feature maps agree on the CPU path and WebGPU, and survive a lost device', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await ready(page);
  const out = await page.evaluate(async () => {
    const c = globalThis.convlab;
    const model = c.Model.fromSpec(c.zoo.spec('lenet5'));
    const data = new Float32Array(2 * 32 * 32).map((_, i) => Math.sin(i) * 0.5);
    const x = { shape: [2, 32, 32, 1], data };
    const cpu = await model.predict(x, { backend: 'cpu' });
    const gpu = await model.predict(x, { backend: 'webgpu' });
    const maps = await model.featureMaps(x, { layers: ['C1', 'S2'], backend: 'cpu' });
    let worst = 0;
    const scale = Math.max(1, ...cpu.data.map(Math.abs));
    for (let i = 0; i < cpu.data.length; i++) worst = Math.max(worst, Math.abs(cpu.data[i] - gpu.data[i]) / scale);
    let badShape = null;
    try { await model.predict({ shape: [1, 28, 28, 1], data: new Float32Array(784) }); } catch (e) { badShape = e.message; }
    await c.__destroyWebGpuDevice();
    const after = await model.predict(x);
    return { cpuShape: cpu.shape, gpuBackend: gpu.backend, worst, mapShapes: Object.fromEntries(Object.entries(maps).map(([k, v]) => [k, v.shape])),
      badShape, afterBackend: after.backend, afterSame: after.data.every((v, i) => v === cpu.data[i]) };
  });
  assert.deepEqual(out.cpuShape, [2, 10]);
  assert.equal(out.gpuBackend, 'webgpu');
  assert.ok(out.worst < 1e-4, `WebGPU differs from the CPU by ${out.worst} of the scale`);
  assert.deepEqual(out.mapShapes, { C1: [2, 28, 28, 6], S2: [2, 14, 14, 6] });
  assert.match(out.badShape, /not a batch of the model's input \[batch, 32, 32, 1\]/);
  assert.equal(out.afterBackend, 'cpu');
  assert.ok(out.afterSame, 'after the device is lost the CPU path gives the same result');
  assert.deepEqual(errors.filter((e) => !/destroyed|lost/i.test(e)), []);
  await page.close();
});
