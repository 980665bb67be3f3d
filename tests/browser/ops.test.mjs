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
    [['maxPool', x, { poolSize: 2, backend: 'webgpu' }], /^maxPool: argument 'backend': "webgpu" is not available here/],
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

/** tf.nn.depthwise_conv2d, written from its documentation: output c * multiplier + m reads only channel c. */
function depthwiseRef(x, f, stride, padding) {
  const [n, h, w, c] = x.shape;
  const [fh, fw, , mult] = f.shape;
  const oh = padding === 'same' ? Math.ceil(h / stride) : Math.floor((h - fh) / stride) + 1;
  const ow = padding === 'same' ? Math.ceil(w / stride) : Math.floor((w - fw) / stride) + 1;
  const pt = padding === 'same' ? Math.floor(Math.max((oh - 1) * stride + fh - h, 0) / 2) : 0;
  const pl = padding === 'same' ? Math.floor(Math.max((ow - 1) * stride + fw - w, 0) / 2) : 0;
  const out = [];
  for (let b = 0; b < n; b++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) for (let k = 0; k < c; k++) for (let m = 0; m < mult; m++) {
    let s = 0;
    for (let u = 0; u < fh; u++) for (let v = 0; v < fw; v++) {
      const y = i * stride + u - pt, xx = j * stride + v - pl;
      if (y < 0 || xx < 0 || y >= h || xx >= w) continue;
      s += x.data[((b * h + y) * w + xx) * c + k] * f.data[((u * fw + v) * c + k) * mult + m];
    }
    out.push(s);
  }
  return { shape: [n, oh, ow, c * mult], data: out };
}

test('depthwise, separable and grouped convolutions with bias and activation', async () => {
  const x = randomTensor([2, 6, 5, 3], 21);
  const f = randomTensor([3, 3, 3, 2], 22);
  const dw = await call('depthwiseConv2d', x, f, { strides: 2, padding: 'same' });
  const want = depthwiseRef(x, f, 2, 'same');
  assert.deepEqual(dw.shape, want.shape);
  close(dw.data, want.data, 1e-5, 'depthwiseConv2d');

  // separable = depthwise, then 1x1 pointwise, then bias and relu.
  const pw = randomTensor([1, 1, 6, 4], 23);
  const bias = [0.1, -0.2, 0.3, 0];
  const sep = await call('separableConv2d', x, f, pw, { strides: 2, padding: 'same', bias, activation: 'relu' });
  assert.deepEqual(sep.shape, [2, 3, 3, 4]);
  const pixels = want.data.length / 6;
  for (let p = 0; p < pixels; p++) for (let o = 0; o < 4; o++) {
    let s = bias[o];
    for (let c = 0; c < 6; c++) s += want.data[p * 6 + c] * pw.data[c * 4 + o];
    close([sep.data[p * 4 + o]], [Math.max(s, 0)], 1e-5, 'separableConv2d');
  }

  // groups = 3 with one input channel per group is depthwise with multiplier 2; a grouped
  // conv's filters are [fh, fw, in / groups, out]: the same data as depthwise [fh, fw, in, mult].
  const grouped = await call('conv2d', x, { shape: [3, 3, 1, 6], data: f.data }, { strides: 2, padding: 'same', groups: 3 });
  close(grouped.data, want.data, 1e-5, 'conv2d groups=3');
  const errors = [
    [['conv2d', x, { shape: [3, 3, 1, 6], data: f.data }, { groups: 2 }], /^conv2d: argument 'groups': 2 must be at least 1 and divide both the input channels \(3\)/],
    [['conv2d', x, randomTensor([3, 3, 3, 2], 1), { bias: [1, 2, 3] }], /^conv2d: argument 'bias': has 3 elements, expected one per output channel \(2\)/],
    [['conv2d', x, randomTensor([3, 3, 3, 2], 1), { activation: 'gelu' }], /^conv2d: argument 'activation': unknown activation "gelu"/],
    [['depthwiseConv2d', x, randomTensor([3, 3, 2, 1], 1)], /^depthwiseConv2d: argument 'filters': depthwise filters \[3, 3, 2, 1\] expect 2 input channels but x has 3/],
    [['separableConv2d', x, f, randomTensor([1, 1, 5, 4], 1)], /^separableConv2d: argument 'pointwiseFilters': expected shape \[1, 1, 6, out\]/],
  ];
  for (const [[op, ...args], re] of errors) assert.match((await call(op, ...args)).error ?? 'resolved', re);
});

test('depthMaxPool, batchNorm and localResponseNormalization', async () => {
  // The seed: tf.nn.max_pool(ksize=(1, 1, 1, 3), strides=(1, 1, 1, 3)) on 6 channels.
  const x = randomTensor([1, 2, 2, 6], 31);
  const d = await call('depthMaxPool', x, { poolSize: 3 });
  assert.deepEqual(d.shape, [1, 2, 2, 2]);
  for (let i = 0; i < 8; i++) assert.equal(d.data[i], Math.max(...x.data.slice(i * 3, i * 3 + 3)));
  assert.match((await call('depthMaxPool', x, { poolSize: 4 })).error, /^depthMaxPool: argument 'poolSize': 4 must divide the 6 channels/);
  assert.match((await call('depthMaxPool', x, { poolSize: 3, strides: 2 })).error, /^depthMaxPool: argument 'strides': 2 must equal poolSize 3/);

  const mean = [0.1, -0.2, 0.3, 0, 0.5, 1];
  const variance = [1, 2, 0.5, 0.25, 4, 1];
  const gamma = [1, 0.5, 2, 1, 1, -1];
  const beta = [0, 1, 0, -1, 0, 0.5];
  const bn = await call('batchNorm', x, { mean, variance, gamma, beta, epsilon: 1e-3 });
  close(bn.data, Array.from(x.data, (v, i) => { const k = i % 6; return gamma[k] * (v - mean[k]) / Math.sqrt(variance[k] + 1e-3) + beta[k]; }), 1e-5, 'batchNorm');
  assert.match((await call('batchNorm', x, { mean, variance: [1, 1, -1, 1, 1, 1] })).error, /^batchNorm: argument 'variance': element 2 is -1/);
  assert.match((await call('batchNorm', x, { mean: [0, 0], variance })).error, /^batchNorm: argument 'mean': has 2 elements, expected one per channel \(6\)/);

  // tf.nn.local_response_normalization with AlexNet's values and with TF's defaults.
  for (const o of [{ depthRadius: 1, bias: 1, alpha: 0.00002, beta: 0.75 }, {}, { depthRadius: 0, alpha: 0.5 }]) {
    const r = o.depthRadius ?? 5, k = o.bias ?? 1, a = o.alpha ?? 1, b = o.beta ?? 0.5;
    const got = await call('localResponseNormalization', x, o);
    const want = Array.from(x.data, (v, i) => {
      const c = i % 6, base = i - c;
      let s = 0;
      for (let j = Math.max(0, c - r); j <= Math.min(5, c + r); j++) s += x.data[base + j] ** 2;
      return v / (k + a * s) ** b;
    });
    close(got.data, want, 1e-5, `lrn ${JSON.stringify(o)}`);
  }
  assert.match((await call('localResponseNormalization', x, { bias: 0 })).error, /^localResponseNormalization: argument 'bias': must be > 0/);
});

test('convolutions split across a worker pool equal the single-thread result bit for bit', async () => {
  const results = await page.evaluate(async () => {
    const rnd = (shape, seed) => {
      let s = seed;
      const d = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let i = 0; i < d.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; d[i] = s / 2 ** 32 - 0.5; }
      return { shape, data: d };
    };
    const cases = [
      [[1, 9, 7, 3], [3, 3, 3, 16], { padding: 'same' }],
      [[3, 5, 6, 4], [2, 2, 4, 5], { strides: 2, padding: 'valid', bias: [1, 2, 3, 4, 5], activation: 'relu' }],
      [[2, 11, 4, 2], [5, 3, 2, 3], { padding: [[1, 2], [0, 1]], dilations: [1, 2] }],
      [[1, 1, 8, 2], [1, 1, 2, 9], {}],
    ];
    const out = [];
    for (const [xs, fs, o] of cases) {
      const x = rnd(xs, 1), f = rnd(fs, 2);
      convlab.setThreads(1);
      const one = await convlab.conv2d(x, f, o);
      convlab.setThreads(3);
      const many = await convlab.conv2d(x, f, o);
      out.push({ same: one.data.length === many.data.length && one.data.every((v, i) => Object.is(v, many.data[i])),
        shape: String(one.shape) === String(many.shape), threads: many.threads });
    }
    // Bad arguments reject with the same messages with the pool on, and the next call works.
    const errors = [];
    for (const [x, f] of [[rnd([1, 4, 4], 1), rnd([3, 3, 1, 1], 2)], [{ shape: [1, 4, 4, 1], data: new Float32Array(3) }, rnd([3, 3, 1, 1], 2)]]) {
      try { await convlab.conv2d(x, f, {}); errors.push('resolved'); } catch (e) { errors.push(e.message); }
    }
    const after = await convlab.conv2d(rnd([1, 4, 4, 1], 1), rnd([3, 3, 1, 1], 2), { padding: 'same' });
    let bad;
    try { convlab.setThreads(0); } catch (e) { bad = e.message; }
    convlab.setThreads(1);
    return { out, errors, after: after.shape, bad };
  });
  for (const r of results.out) {
    assert.ok(r.same && r.shape, JSON.stringify(r));
    assert.ok(r.threads >= 1);
  }
  assert.match(results.errors[0], /^conv2d: argument 'x': expected rank 4/);
  assert.match(results.errors[1], /^conv2d: argument 'x': data has 3 elements but shape \[1, 4, 4, 1\] needs 16/);
  assert.deepEqual(results.after, [1, 4, 4, 1]);
  assert.match(results.bad, /^setThreads: argument 'n': expected an integer from 1 to 16, got 0/);
});

test('kept tensors: ops read them without a copy, keep: true keeps results, errors name the op', async () => {
  const r = await page.evaluate(async () => {
    const convlab = globalThis.convlab;
    const rnd = (shape, seed) => {
      const d = new Float32Array(shape.reduce((a, b) => a * b, 1));
      let s = seed;
      for (let i = 0; i < d.length; i++) { s = (Math.imul(s, 1664525) + 1013904223) >>> 0; d[i] = s / 2 ** 32 - 0.5; }
      return { shape, data: d };
    };
    const same = (a, b) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
    const before = convlab.kept();
    const x = rnd([2, 9, 8, 3], 1), f = rnd([3, 3, 3, 16], 2), w = rnd([4 * 4 * 16, 5], 3);
    const opts = { padding: 'same', bias: Array.from({ length: 16 }, (_, i) => i / 10), activation: 'relu' };
    // The plain chain.
    const c = await convlab.conv2d(x, f, opts);
    const p = await convlab.maxPool(c, { poolSize: 2 });
    const d = await convlab.dense({ shape: [2, 256], data: p.data }, w, { activation: 'softmax' });
    // The same chain on kept tensors, every intermediate kept, the flatten a reshape of a handle.
    const kx = convlab.keep(x), kf = convlab.keep(f), kw = convlab.keep(w);
    const kc = await convlab.conv2d(kx, kf, { ...opts, keep: true });
    const kp = await convlab.maxPool(kc, { poolSize: 2, keep: true });
    const kd = await convlab.dense({ shape: [2, 256], kept: kp.kept }, kw, { activation: 'softmax' });
    const out = {
      handle: { keys: Object.keys(kc).sort(), hasData: 'data' in kc, shape: kc.shape, backend: kc.backend },
      conv: same((await convlab.read(kc)).data, c.data),
      pool: same((await convlab.read(kp)).data, p.data),
      dense: same(kd.data, d.data),
      keepAgain: convlab.keep(kx).kept === kx.kept,
      during: convlab.kept(),
    };
    // With the pool on (this thread and two workers), kept inputs and a kept result; the
    // second call finds the workers' copies of the inputs, the third a new input (a kept
    // tensor disposed and its values kept again).
    convlab.setThreads(3);
    const pooled = await convlab.conv2d(kx, kf, { ...opts, keep: true });
    const again = await convlab.conv2d(kx, kf, opts);
    const x2 = rnd([2, 9, 8, 3], 9);
    const kx2 = convlab.keep(x2);
    const third = await convlab.conv2d(kx2, kf, opts);
    convlab.dispose(kx2);
    convlab.setThreads(1);
    const third1 = await convlab.conv2d(x2, f, opts);
    out.pooled = same((await convlab.read(pooled)).data, c.data) && pooled.threads > 1 && same(again.data, c.data)
      && same(third.data, third1.data) && !same(third.data, c.data);
    // Errors name the op, the argument and what was wrong.
    const errors = {};
    const expectError = async (name, f) => { try { await f(); errors[name] = 'resolved'; } catch (e) { errors[name] = e.message; } };
    await expectError('reshape', () => convlab.relu({ shape: [3, 7], kept: kp.kept }));
    await expectError('keepOption', () => convlab.conv2d(kx, kf, { keep: 1 }));
    await expectError('badId', () => convlab.relu({ shape: [1], kept: 'a' }));
    for (const k of [kx, kf, kw, kc, kp, pooled]) out[`disposed${k.kept}`] = convlab.dispose(k);
    out.twice = convlab.dispose(kx);
    await expectError('disposed', () => convlab.maxPool(kc, { poolSize: 2 }));
    await expectError('readDisposed', () => convlab.read(kp));
    out.after = convlab.kept();
    return { out, errors, before };
  });
  const { out, errors, before } = r;
  assert.deepEqual(out.handle, { keys: ['backend', 'kept', 'ms', 'shape'], hasData: false, shape: [2, 9, 8, 16], backend: 'cpu' });
  assert.ok(out.conv && out.pool && out.dense, JSON.stringify(out));
  assert.ok(out.keepAgain);
  assert.equal(out.during.count, before.count + 5);
  assert.equal(out.during.bytes, before.bytes + 4 * (2 * 9 * 8 * 3 + 3 * 3 * 3 * 16 + 256 * 5 + 2 * 9 * 8 * 16 + 2 * 4 * 4 * 16));
  assert.ok(out.pooled, 'the pool with kept tensors equals one thread');
  assert.equal(out.twice, false);
  assert.deepEqual(out.after, before, 'dispose frees every entry');
  assert.match(errors.reshape, /^relu: argument 'x': shape \[3, 7\] does not fit the kept tensor's 512 elements \(shape \[2, 4, 4, 16\]\)/);
  assert.match(errors.keepOption, /^conv2d: argument 'keep': expected true or false, got 1/);
  assert.match(errors.badId, /^relu: argument 'x': kept must be the number convlab.keep gave, got "a"/);
  assert.match(errors.disposed, /^maxPool: argument 'x': kept tensor \d+ was disposed/);
  assert.match(errors.readDisposed, /^read: argument 't': kept tensor \d+ was disposed/);
});
