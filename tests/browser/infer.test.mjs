// The inference worker: models load and run off the page thread, errors come back as the
// core's message, and latest-wins drops stale live requests.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
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

test('the worker predicts what the page predicts, says what is wrong, and latest() drops stale calls', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await page.waitForFunction(() => globalThis.convlab !== undefined);
  const r = await page.evaluate(async () => {
    const infer = await import('./js/infer.js');
    const convlab = globalThis.convlab;
    await convlab.ready;
    const spec = convlab.zoo.spec('lenet5_modern');
    const model = convlab.Model.fromSpec(spec);
    const weights = model.saveWeights();
    const loaded = await infer.call('load', { key: 'm', spec, weights });
    const n = spec.input.shape.reduce((a, b) => a * b, 1);
    const data = Float32Array.from({ length: n }, (_, i) => Math.sin(i));
    const here = await model.predict({ shape: [1, ...spec.input.shape], data }, { backend: 'cpu' });
    const there = await infer.call('predict', { key: 'm', input: { shape: [1, ...spec.input.shape], data }, backend: 'cpu' });
    let diff = 0;
    for (let i = 0; i < here.data.length; i++) diff = Math.max(diff, Math.abs(here.data[i] - there.data[i]));
    const maps = await infer.call('featureMaps', { key: 'm', input: { shape: [1, ...spec.input.shape], data }, backend: 'cpu' });
    const problems = [];
    for (const [type, args] of [['predict', { key: 'nope', input: { shape: [1], data: new Float32Array(1) } }], ['predict', { key: 'm', input: { shape: [1, 3], data: new Float32Array(3) } }], ['frobnicate', {}]]) {
      try { await infer.call(type, args); problems.push('no error'); } catch (e) { problems.push(e.message); }
    }
    const slow = infer.latest((i) => infer.call('predict', { key: 'm', input: { shape: [1, ...spec.input.shape], data }, backend: 'cpu' }).then(() => i));
    const live = await Promise.all([1, 2, 3, 4].map((i) => slow(i)));
    return { layers: loaded.layers.length, inputShape: loaded.inputShape, diff, maps: Object.keys(maps).length, problems, live, worker: there.backend };
  });
  assert.equal(r.diff, 0, 'the worker runs the same CPU kernels');
  assert.deepEqual(r.inputShape, [28, 28, 1]);
  assert.equal(r.maps, r.layers - 1);
  assert.match(r.problems[0], /no model is loaded under "nope"/);
  assert.match(r.problems[1], /predict/);
  assert.match(r.problems[2], /no "frobnicate" call/);
  assert.deepEqual(r.live, [1, null, null, 4], 'the first runs, the middle ones are dropped, the newest runs');
  assert.deepEqual(errors, []);
  await page.close();
});
