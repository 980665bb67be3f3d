// The functional ops beyond conv2d (pooling, activations, dense) from the page, against
// independent JavaScript references written from TensorFlow's documented semantics.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve, launch, open } from './harness.mjs';
import { randomTensor } from './reference.mjs';

let server;
let browser;
let page;
before(async () => {
  server = await serve();
  browser = await launch({ webgpu: false });
  ({ page } = await open(browser.context, server.url));
  await page.evaluate(() => globalThis.convlab.ready);
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** Runs convlab[op](...args) in the page; tensors travel as plain arrays. */
async function call(op, ...args) {
  return page.evaluate(async ([op, args]) => {
    const revive = (a) => (a && a.shape && Array.isArray(a.data) ? { shape: a.shape, data: new Float32Array(a.data) } : a);
    try {
      const r = await globalThis.convlab[op](...args.map(revive));
      return { shape: r.shape, data: Array.from(r.data), backend: r.backend };
    } catch (e) {
      return { error: e.message };
    }
  }, [op, args.map((a) => (a && a.data ? { shape: a.shape, data: Array.from(a.data) } : a))]);
}

/** tf.nn.{max,avg}_pool2d: "same" = ceil(in / stride), padding cells excluded. */
function poolRef(x, [ph, pw], [sh, sw], padding, max) {
  const [n, h, w, c] = x.shape;
  let oh, ow, pt = 0, pl = 0;
  if (padding === 'same') {
    oh = Math.ceil(h / sh); ow = Math.ceil(w / sw);
    pt = Math.floor(Math.max((oh - 1) * sh + ph - h, 0) / 2);
    pl = Math.floor(Math.max((ow - 1) * sw + pw - w, 0) / 2);
  } else {
    oh = Math.floor((h - ph) / sh) + 1; ow = Math.floor((w - pw) / sw) + 1;
  }
  const out = [];
  for (let b = 0; b < n; b++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) for (let k = 0; k < c; k++) {
    let acc = max ? -Infinity : 0, count = 0;
    for (let u = 0; u < ph; u++) for (let v = 0; v < pw; v++) {
      const y = i * sh + u - pt, xx = j * sw + v - pl;
      if (y < 0 || xx < 0 || y >= h || xx >= w) continue;
      const val = x.data[((b * h + y) * w + xx) * c + k];
      acc = max ? Math.max(acc, val) : acc + val;
      count++;
    }
    out.push(max ? acc : acc / count);
  }
  return { shape: [n, oh, ow, c], data: out };
}

function close(got, want, tol, what) {
  assert.equal(got.length, want.length, `${what}: length`);
  for (let i = 0; i < want.length; i++) {
    assert.ok(Math.abs(got[i] - want[i]) <= tol * (1 + Math.abs(want[i])), `${what}[${i}]: ${got[i]} vs ${want[i]}`);
  }
}

test('maxPool and avgPool follow tf.nn pooling, "same" padding cells excluded', async () => {
  const x = randomTensor([2, 7, 6, 3], 5);
  for (const [pool, strides, padding] of [[[2, 2], [2, 2], 'valid'], [[3, 3], [2, 2], 'same'], [[3, 2], [1, 3], 'same']]) {
    for (const [op, max] of [['maxPool', true], ['avgPool', false]]) {
      const got = await call(op, x, { poolSize: pool, strides, padding });
      const want = poolRef(x, pool, strides, padding, max);
      assert.deepEqual(got.shape, want.shape, `${op} ${pool} ${padding}`);
      // Max pooling selects values (exact); a mean of <= 9 f32 values: 1e-6 relative.
      close(got.data, want.data, max ? 0 : 1e-6, `${op} ${pool} ${padding}`);
      assert.equal(got.backend, 'cpu');
    }
  }
  // strides default to poolSize, as in Keras.
  const d = await call('maxPool', x, { poolSize: 2 });
  assert.deepEqual(d.shape, [2, 3, 3, 3]);
});

test('global pooling, activations and dense', async () => {
  const x = randomTensor([2, 3, 4, 5], 9);
  const gavg = await call('globalAvgPool', x);
  const gmax = await call('globalMaxPool', x);
  assert.deepEqual(gavg.shape, [2, 5]);
  const at = (b, p, k) => x.data[(b * 12 + p) * 5 + k];
  for (let b = 0; b < 2; b++) for (let k = 0; k < 5; k++) {
    let sum = 0, max = -Infinity;
    for (let p = 0; p < 12; p++) { sum += at(b, p, k); max = Math.max(max, at(b, p, k)); }
    close([gavg.data[b * 5 + k]], [sum / 12], 1e-6, 'globalAvgPool');
    assert.equal(gmax.data[b * 5 + k], max);
  }
  const v = randomTensor([3, 4], 3);
  const big = { shape: [1, 3], data: new Float32Array([1000, 1001, 1002]) };
  close((await call('relu', v)).data, Array.from(v.data, (a) => Math.max(a, 0)), 0, 'relu');
  close((await call('sigmoid', v)).data, Array.from(v.data, (a) => 1 / (1 + Math.exp(-a))), 1e-6, 'sigmoid');
  close((await call('tanh', v)).data, Array.from(v.data, Math.tanh), 1e-6, 'tanh');
  // Softmax is stable: logits around 1000 would overflow exp() without subtracting the max.
  const e = [Math.exp(-2), Math.exp(-1), 1];
  const s = e[0] + e[1] + e[2];
  close((await call('softmax', big)).data, e.map((a) => a / s), 1e-6, 'softmax');

  const xin = randomTensor([3, 7], 1);
  const w = randomTensor([7, 4], 2);
  const bias = [0.5, -0.25, 0, 1];
  const y = await call('dense', xin, w, { bias, activation: 'relu' });
  assert.deepEqual(y.shape, [3, 4]);
  for (let n = 0; n < 3; n++) for (let o = 0; o < 4; o++) {
    let sum = bias[o];
    for (let i = 0; i < 7; i++) sum += xin.data[n * 7 + i] * w.data[i * 4 + o];
    close([y.data[n * 4 + o]], [Math.max(sum, 0)], 1e-6, 'dense');
  }
});

test('bad arguments to the ops reject with the op, the argument and the value', async () => {
  const x = randomTensor([1, 4, 4, 2], 1);
  const cases = [
    [['maxPool', x, {}], /^maxPool: argument 'poolSize': is required/],
    [['maxPool', x, { poolSize: 0 }], /^maxPool: argument 'poolSize': .*got 0/],
    [['avgPool', x, { poolSize: 5, padding: 'valid' }], /^avgPool: argument 'poolSize': the height of the pool window \(5\) is larger than the input's height \(4\)/],
    [['avgPool', x, { poolSize: 2, strides: [1, -1] }], /^avgPool: argument 'strides': .*got \[1,-1\]/],
    [['maxPool', x, { poolSize: 2, backend: 'webgpu' }], /^maxPool: argument 'backend': "webgpu" has no kernel for this op yet/],
    [['globalAvgPool', { shape: [4, 2], data: new Float32Array(8) }], /^globalAvgPool: argument 'x': expected rank 4/],
    [['relu', { shape: [2, 2], data: new Float32Array(3) }], /^relu: argument 'x': data has 3 elements but shape \[2, 2\] needs 4/],
    [['dense', randomTensor([2, 3], 1), randomTensor([4, 2], 2)], /^dense: argument 'weights': shape \[4, 2\] expects 4 input features but x has 3/],
    [['dense', randomTensor([2, 3], 1), randomTensor([3, 2], 2), { activation: 'swish' }], /^dense: argument 'activation': unknown activation "swish"/],
    [['dense', randomTensor([2, 3], 1), randomTensor([3, 2], 2), { bias: [1, 2, 3] }], /^dense: argument 'bias': has 3 elements, expected 2/],
    [['dense', x, randomTensor([3, 2], 2)], /^dense: argument 'x': expected rank 2 .*got shape \[1, 4, 4, 2\]/],
  ];
  for (const [[op, ...args], re] of cases) {
    const r = await call(op, ...args);
    assert.ok(r.error, `${op} should reject`);
    assert.match(r.error, re);
  }
  assert.deepEqual((await call('relu', { shape: [2], data: new Float32Array([-1, 2]) })).data, [0, 2]);
});
