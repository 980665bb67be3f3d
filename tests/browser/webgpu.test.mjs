// The WebGPU backend in headless Chromium with --enable-unsafe-webgpu (SwiftShader here): it is
// available, the automatic choice explains why it prefers the CPU on a software adapter, and
// forced onto WebGPU the demo's maps equal the CPU path's.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve, launch, open, demoDone } from './harness.mjs';
import { conv2dRef, randomTensor, boundRatio } from './reference.mjs';

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

test('WebGPU is available; on a software adapter the automatic choice is the CPU, with the reason', async () => {
  const { page, errors } = await open(browser.context, server.url);
  const status = await demoDone(page);
  const report = await page.evaluate(() => globalThis.convlab.backends());
  assert.deepEqual(report.available, ['webgpu', 'cpu']);
  assert.equal(report.choice, 'auto');
  assert.ok(report.adapter, 'an adapter is reported');
  if (report.adapter.software) {
    assert.equal(report.active, 'cpu');
    assert.match(report.reason, /^software adapter: /);
    assert.equal(status.backend, 'cpu');
  } else {
    assert.equal(report.active, 'webgpu');
    assert.match(report.reason, /hardware WebGPU adapter/);
  }
  assert.match(await page.textContent('#backend-status'), new RegExp(report.reason.slice(0, 20).replace(/[()]/g, '.')));
  assert.deepEqual(errors, []);
  await page.close();
});

test('forced onto WebGPU, the demo runs there and its maps equal the CPU path\'s', async () => {
  const { page, errors } = await open(browser.context, `${server.url}?backend=webgpu`);
  const status = await demoDone(page);
  assert.equal(status.backend, 'webgpu', status.text);
  const worst = await page.evaluate(async () => {
    const d = globalThis.convlabDemo;
    const cpu = await globalThis.convlab.conv2d(d.input, d.filters, { ...d.options, backend: 'cpu' });
    // All terms are >= 0 (pixels in [0, 1], filters of 0 and 1), so sum|x*w| is the value
    // itself and each backend is within gamma(148) * value of the exact sum: the two differ
    // by at most twice that.
    const gamma = (148 * 2 ** -24) / (1 - 148 * 2 ** -24);
    let ratio = 0;
    for (let i = 0; i < cpu.data.length; i++) {
      const tol = 2 * gamma * Math.abs(cpu.data[i]) + 1e-30;
      ratio = Math.max(ratio, Math.abs(cpu.data[i] - d.result.data[i]) / tol);
    }
    return { ratio, n: cpu.data.length, gpuBackend: d.result.backend };
  });
  assert.equal(worst.gpuBackend, 'webgpu');
  assert.equal(worst.n, 2 * 427 * 640 * 2);
  assert.ok(worst.ratio <= 1, `maps differ by ${worst.ratio}x the summation bound`);
  // Switching the control back to CPU reruns there.
  await page.selectOption('#backend-choice', 'cpu');
  const again = await demoDone(page, 2);
  assert.equal(again.backend, 'cpu');
  assert.match(page.url(), /backend=cpu/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('convlab.conv2d with backend "webgpu" matches the reference', async () => {
  const { page } = await open(browser.context, server.url);
  await page.evaluate(() => globalThis.convlab.ready);
  const cases = [
    { x: [2, 9, 8, 3], f: [3, 3, 3, 5], o: { strides: 1, padding: 'same' } },
    { x: [1, 13, 11, 6], f: [5, 3, 6, 8], o: { strides: [2, 1], padding: 'same', dilations: [1, 2] } },
    { x: [3, 8, 8, 16], f: [1, 1, 16, 7], o: { padding: 'valid', strides: 2 } },
    { x: [1, 7, 9, 2], f: [3, 3, 2, 4], o: { padding: [[2, 0], [1, 1]] } },
  ];
  for (const [i, c] of cases.entries()) {
    const x = randomTensor(c.x, 7 + i);
    const f = randomTensor(c.f, 70 + i);
    const got = await page.evaluate(async ([x, f, o]) => {
      const r = await globalThis.convlab.conv2d(
        { shape: x.shape, data: new Float32Array(x.data) }, { shape: f.shape, data: new Float32Array(f.data) }, { ...o, backend: 'webgpu' });
      return { shape: r.shape, data: Array.from(r.data), backend: r.backend };
    }, [{ shape: x.shape, data: Array.from(x.data) }, { shape: f.shape, data: Array.from(f.data) }, c.o]);
    const ref = conv2dRef(x, f, c.o);
    assert.equal(got.backend, 'webgpu');
    assert.deepEqual(got.shape, ref.shape);
    const ratio = boundRatio(got.data, ref, c.f[0] * c.f[1] * c.f[2]);
    assert.ok(ratio <= 1, `case ${i}: error is ${ratio}x the f32 summation bound`);
  }
  await page.close();
});

test('every op runs on WebGPU in the browser and agrees with the CPU path', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await page.evaluate(() => globalThis.convlab.ready);
  const results = await page.evaluate(async () => {
    const api = globalThis.convlab;
    let seed = 5;
    const t = (shape, scale = 1) => {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let i = 0; i < data.length; i++) {
        seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
        data[i] = ((seed / 2 ** 32) * 2 - 1) * scale;
      }
      return { shape, data };
    };
    const x = t([2, 9, 7, 6], 3);
    const positive = Array.from({ length: 6 }, (_, i) => 0.5 + i / 10);
    const calls = [
      ['conv2d', x, t([3, 3, 6, 5]), { padding: 'same', bias: t([5]).data, activation: 'relu' }],
      ['conv2d', x, t([3, 3, 3, 4]), { groups: 2, strides: 2 }],
      ['conv2d', x, t([1, 1, 6, 9]), {}],
      ['depthwiseConv2d', x, t([3, 3, 6, 2]), { padding: 'same', dilations: 2 }],
      ['separableConv2d', x, t([3, 3, 6, 1]), t([1, 1, 6, 4]), { activation: 'elu' }],
      ['maxPool', x, { poolSize: 3, strides: 2, padding: 'same' }],
      ['avgPool', x, { poolSize: [2, 3], padding: 'same' }],
      ['globalAvgPool', x],
      ['globalMaxPool', x],
      ['depthMaxPool', x, { poolSize: 3 }],
      ['batchNorm', x, { mean: t([6]).data, variance: positive, gamma: t([6]).data, beta: t([6]).data }],
      ['localResponseNormalization', x, { depthRadius: 2, bias: 1, alpha: 0.01, beta: 0.75 }],
      ['relu', x], ['sigmoid', x], ['tanh', x], ['softmax', x],
      ['dense', t([5, 17]), t([17, 40]), { bias: t([40]).data, activation: 'softmax' }],
    ];
    const out = [];
    for (const [op, ...args] of calls) {
      const last = args.length - 1;
      const opts = typeof args[last] === 'object' && !('shape' in args[last]) ? args[last] : null;
      const base = opts ? args.slice(0, last) : args;
      const gpu = await api[op](...base, { ...(opts ?? {}), backend: 'webgpu' });
      const cpu = await api[op](...base, { ...(opts ?? {}), backend: 'cpu' });
      let worst = 0;
      let scale = 1;
      for (let i = 0; i < cpu.data.length; i++) {
        worst = Math.max(worst, Math.abs(gpu.data[i] - cpu.data[i]));
        scale = Math.max(scale, Math.abs(cpu.data[i]));
      }
      out.push({ op, backend: gpu.backend, same: JSON.stringify(gpu.shape) === JSON.stringify(cpu.shape), rel: worst / scale, ms: gpu.ms, gpuMs: gpu.gpuMs, cpuGpuMs: cpu.gpuMs });
    }
    return { out, report: api.backends() };
  });
  for (const r of results.out) {
    assert.equal(r.backend, 'webgpu', `${r.op} ran on ${r.backend}`);
    assert.ok(r.same, `${r.op}: shapes differ`);
    // Sums of up to 54 terms of magnitude <= 3 (f32 both sides) and SwiftShader's exp/pow:
    // 1e-5 of the largest value.
    assert.ok(r.rel <= 1e-5, `${r.op}: WebGPU and CPU differ by ${r.rel} of the scale`);
    assert.ok(r.ms >= 0);
    assert.equal(r.cpuGpuMs, undefined, 'a CPU result has no GPU time');
    if (results.report.adapter.timestampQueries) {
      assert.ok(r.gpuMs > 0 && r.gpuMs <= r.ms + 1, `${r.op}: gpuMs ${r.gpuMs} with ms ${r.ms}`);
    }
  }
  console.log(`timestamp queries: ${results.report.adapter.timestampQueries}; ${results.out.map((r) => `${r.op} ${r.ms.toFixed(1)}/${r.gpuMs?.toFixed(1)}`).join(', ')}`);
  assert.ok(results.report.available.includes('webgpu'), 'no op made convlab drop WebGPU');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a device lost mid-work: the next ops finish on the CPU with the same results, and the page says why', async () => {
  const { page, errors } = await open(browser.context, `${server.url}?backend=webgpu`);
  const first = await demoDone(page);
  assert.equal(first.backend, 'webgpu', first.text);
  const out = await page.evaluate(async () => {
    const api = globalThis.convlab;
    const x = { shape: [1, 6, 6, 3], data: Float32Array.from({ length: 108 }, (_, i) => Math.sin(i)) };
    const before = await api.maxPool(x, { poolSize: 2 });
    const destroyed = await api.__destroyWebGpuDevice();
    const after = await api.maxPool(x, { poolSize: 2 });
    const dense = await api.dense({ shape: [2, 3], data: [1, 2, 3, 4, 5, 6] }, { shape: [3, 1], data: [1, 1, 1] });
    let refused = null;
    try {
      await api.relu(x, { backend: 'webgpu' });
    } catch (e) {
      refused = e.message;
    }
    return { destroyed, before: [before.backend, Array.from(before.data)], after: [after.backend, Array.from(after.data)],
      dense: [dense.backend, Array.from(dense.data)], refused, report: api.backends() };
  });
  assert.equal(out.destroyed, true);
  assert.equal(out.before[0], 'webgpu');
  assert.equal(out.after[0], 'cpu', 'the op after the loss finished on the CPU');
  assert.deepEqual(out.after[1], out.before[1], 'with the same result');
  assert.deepEqual(out.dense, ['cpu', [6, 15]]);
  assert.match(out.refused, /^relu: argument 'backend': "webgpu" is not available here: dropped after a failure/);
  assert.deepEqual(out.report.available, ['cpu']);
  assert.match(out.report.webgpuProblem, /^dropped after a failure: /);
  // The demo reruns on the CPU and the header names the problem.
  await page.selectOption('#stride', '2');
  const again = await demoDone(page, 2);
  assert.equal(again.backend, 'cpu');
  assert.match(await page.getAttribute('#backend-status', 'title'), /WebGPU: dropped after a failure/);
  assert.deepEqual(errors.filter((e) => !/device|destroyed|lost/i.test(e)), []);
  await page.close();
});

test('kept tensors on WebGPU: a kept chain equals the CPU path\'s', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await page.evaluate(() => globalThis.convlab.ready);
  const r = await page.evaluate(async () => {
    const api = globalThis.convlab;
    let seed = 11;
    const t = (shape) => {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let i = 0; i < data.length; i++) { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; data[i] = seed / 2 ** 32 - 0.5; }
      return { shape, data };
    };
    const x = t([1, 8, 8, 3]), f = t([3, 3, 3, 4]), w = t([64, 5]);
    const chain = async (backend, keep) => {
      const [kx, kf, kw] = keep ? [api.keep(x), api.keep(f), api.keep(w)] : [x, f, w];
      const c = await api.conv2d(kx, kf, { padding: 'same', activation: 'relu', backend, keep });
      const p = await api.maxPool(c, { poolSize: 2, backend, keep });
      const flat = keep ? { shape: [1, 64], kept: p.kept } : { shape: [1, 64], data: p.data };
      const d = await api.dense(flat, kw, { backend });
      const backends = [c.backend, p.backend, d.backend];
      if (keep) for (const k of [kx, kf, kw, c, p]) api.dispose(k);
      return { data: Array.from(d.data), backends, kept: 'kept' in c };
    };
    const gpu = await chain('webgpu', true);
    const cpu = await chain('cpu', false);
    let maxDiff = 0;
    for (let i = 0; i < cpu.data.length; i++) maxDiff = Math.max(maxDiff, Math.abs(gpu.data[i] - cpu.data[i]));
    return { gpu: gpu.backends, kept: gpu.kept, maxDiff, left: api.kept().count };
  });
  assert.deepEqual(r.gpu, ['webgpu', 'webgpu', 'webgpu']);
  assert.ok(r.kept, 'conv2d with keep: true answers a kept tensor');
  assert.ok(r.maxDiff < 1e-4, `WebGPU and CPU chains differ by ${r.maxDiff}`);
  assert.equal(r.left, 0);
  assert.deepEqual(errors, []);
});

test('kept tensors stay on the WebGPU device between ops: no upload or read-back until asked', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await page.evaluate(() => globalThis.convlab.ready);
  const r = await page.evaluate(async () => {
    const api = globalThis.convlab;
    const before = api.kept();
    let seed = 23;
    const t = (shape) => {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      for (let i = 0; i < data.length; i++) { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; data[i] = seed / 2 ** 32 - 0.5; }
      return { shape, data };
    };
    const x = t([2, 8, 8, 3]), f = t([3, 3, 3, 4]), b = t([4]), w = t([64, 5]);
    const worst = (a, c) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - c[i])), 0);
    // The CPU path, plain tensors.
    const c0 = await api.conv2d(x, f, { padding: 'same', bias: b.data, activation: 'relu', backend: 'cpu' });
    const p0 = await api.maxPool(c0, { poolSize: 2, backend: 'cpu' });
    const d0 = await api.dense({ shape: [2, 64], data: p0.data }, w, { backend: 'cpu' });
    // The same chain on WebGPU, inputs (the bias too) and intermediates kept.
    const [kx, kf, kb, kw] = [x, f, b, w].map((v) => api.keep(v));
    const chain = async () => {
      const c = await api.conv2d(kx, kf, { padding: 'same', bias: kb, activation: 'relu', backend: 'webgpu', keep: true });
      const p = await api.maxPool(c, { poolSize: 2, backend: 'webgpu', keep: true });
      // The flatten: a handle with another shape on the device copy.
      const d = await api.dense({ shape: [2, 64], kept: p.kept }, kw, { backend: 'webgpu', keep: true });
      return { c, p, d };
    };
    const first = await chain(); // uploads x, f, b and w once
    const t0 = api.__transfers();
    const second = await chain();
    const t1 = api.__transfers();
    const moved = { uploads: t1[0] - t0[0], readBacks: t1[1] - t0[1] };
    // The first read of a device-only result reads it back once; the second finds it cached.
    const rd = await api.read(second.d);
    const rdAgain = await api.read(second.d);
    const t2 = api.__transfers();
    const reads = { uploads: t2[0] - t1[0], readBacks: t2[1] - t1[1] };
    // A device-only result used on the CPU path (read back there), and by the CPU pool.
    const rp = await api.read(first.p);
    const reluCpu = await api.relu({ shape: [8, 64], kept: first.c.kept }, { backend: 'cpu' });
    const reluPlain = await api.relu({ shape: [8, 64], data: c0.data }, { backend: 'cpu' });
    const f2 = t([3, 3, 4, 6]);
    const single = await api.conv2d(c0, f2, { padding: 'same', backend: 'cpu' });
    api.setThreads(2);
    const pooled = await api.conv2d(second.c, f2, { padding: 'same', backend: 'cpu' });
    api.setThreads(1);
    // A device-only result as the input of a WebGPU op reshaped, and a reshape that does not fit.
    const dd = await api.dense({ shape: [2, 64], kept: second.p.kept }, kw, { backend: 'webgpu' });
    const errs = {};
    const expectError = async (name, f) => { try { await f(); errs[name] = 'resolved'; } catch (e) { errs[name] = e.message; } };
    await expectError('reshape', () => api.relu({ shape: [3, 5], kept: second.p.kept }, { backend: 'webgpu' }));
    // Dispose frees both copies; the handle is then refused.
    const kinds = { ...api.kept() };
    for (const k of [kx, kf, kb, kw, first.c, first.p, first.d, second.c, second.p, second.d]) api.dispose(k);
    await expectError('disposed', () => api.maxPool(second.c, { poolSize: 2, backend: 'webgpu' }));
    await expectError('readDisposed', () => api.read(second.d));
    return {
      handle: { keys: Object.keys(second.c).sort().filter((k) => k !== 'gpuMs'), shape: second.c.shape, backend: second.c.backend },
      timestamps: api.backends().adapter.timestampQueries, gpuMs: second.c.gpuMs,
      moved, reads, during: kinds.count - before.count,
      dense: worst(rd.data, d0.data), same: rd.data.every((v, i) => Object.is(v, rdAgain.data[i])),
      pool: worst(rp.data, p0.data), reluCpu: worst(reluCpu.data, reluPlain.data),
      pooled: [pooled.threads, worst(pooled.data, single.data)],
      reshaped: worst(dd.data, d0.data), errs, after: api.kept().count - before.count,
    };
  });
  assert.deepEqual(r.handle, { keys: ['backend', 'kept', 'ms', 'shape'], shape: [2, 8, 8, 4], backend: 'webgpu' });
  if (r.timestamps) assert.ok(r.gpuMs > 0, 'a kept WebGPU result reports gpuMs');
  assert.deepEqual(r.moved, { uploads: 0, readBacks: 0 }, 'a kept chain on WebGPU copies nothing in or out');
  assert.deepEqual(r.reads, { uploads: 0, readBacks: 1 }, 'read reads a device-only tensor back once, then uses the cached copy');
  assert.equal(r.during, 10);
  // Sums of 27 terms of magnitude <= 0.25 in f32 on each side.
  assert.ok(r.dense < 1e-5, `the WebGPU chain differs from the CPU path by ${r.dense}`);
  assert.ok(r.same, 'the second read answers the same values');
  assert.ok(r.pool < 1e-5 && r.reluCpu < 1e-5, `device-only tensors read on the CPU path differ by ${r.pool}, ${r.reluCpu}`);
  assert.equal(r.pooled[0], 2, 'the CPU pool took a device-only kept input');
  assert.ok(r.pooled[1] < 1e-4, `the pool on a device-only input differs by ${r.pooled[1]}`);
  assert.ok(r.reshaped < 1e-5, `a reshaped device handle differs by ${r.reshaped}`);
  assert.match(r.errs.reshape, /^relu: argument 'x': shape \[3, 5\] does not fit the kept tensor's 128 elements \(shape \[2, 4, 4, 4\]\)/);
  assert.match(r.errs.disposed, /^maxPool: argument 'x': kept tensor \d+ was disposed/);
  assert.match(r.errs.readDisposed, /^read: argument 't': kept tensor \d+ was disposed/);
  assert.equal(r.after, 0, 'dispose freed every entry');
  assert.deepEqual(errors, []);
  await page.close();
});

test('a device lost under kept tensors: ones with a CPU copy go on on the CPU, device-only ones reject saying why', async () => {
  const { page, errors } = await open(browser.context, `${server.url}?backend=webgpu`);
  const first = await demoDone(page);
  assert.equal(first.backend, 'webgpu', first.text);
  const r = await page.evaluate(async () => {
    const api = globalThis.convlab;
    const before = api.kept().count;
    const x = { shape: [1, 6, 6, 3], data: Float32Array.from({ length: 108 }, (_, i) => Math.sin(i)) };
    const f = { shape: [3, 3, 3, 2], data: Float32Array.from({ length: 54 }, (_, i) => Math.cos(i)) };
    const kx = api.keep(x), kf = api.keep(f);
    const plain = await api.conv2d(kx, kf, { padding: 'same' }); // on WebGPU: x and f get device copies
    const onlyDevice = await api.conv2d(kx, kf, { padding: 'same', keep: true });
    const both = await api.conv2d(kx, kf, { padding: 'same', keep: true });
    await api.read(both); // now also in CPU memory
    const reluBefore = await api.relu(both);
    const destroyed = await api.__destroyWebGpuDevice();
    const reluAfter = await api.relu(both);
    const convAfter = await api.conv2d(kx, kf, { padding: 'same' });
    const errs = {};
    const expectError = async (name, f) => { try { await f(); errs[name] = 'resolved'; } catch (e) { errs[name] = e.message; } };
    await expectError('op', () => api.maxPool(onlyDevice, { poolSize: 2 }));
    await expectError('read', () => api.read(onlyDevice));
    await expectError('cpu', () => api.relu({ shape: [72], kept: onlyDevice.kept }, { backend: 'cpu' }));
    for (const k of [kx, kf, onlyDevice, both]) api.dispose(k);
    return {
      backends: [plain.backend, onlyDevice.backend, reluBefore.backend, reluAfter.backend, convAfter.backend],
      destroyed, same: Array.from(reluAfter.data).every((v, i) => Math.abs(v - reluBefore.data[i]) < 1e-5),
      conv: Array.from(convAfter.data).every((v, i) => Math.abs(v - plain.data[i]) < 1e-5),
      errs, left: api.kept().count - before, report: api.backends(),
    };
  });
  assert.equal(r.destroyed, true);
  assert.deepEqual(r.backends, ['webgpu', 'webgpu', 'webgpu', 'cpu', 'cpu']);
  assert.ok(r.same, 'a kept tensor with a CPU copy gives the same result on the CPU path');
  assert.ok(r.conv, 'kept inputs with a CPU copy give the same convolution on the CPU path');
  const lost = (op, arg) => new RegExp(`^${op}: argument '${arg}': kept tensor \\d+ lived only on the WebGPU device, which was lost \\(dropped after a failure: .+\\); its values cannot be recovered`);
  assert.match(r.errs.op, lost('maxPool', 'x'));
  assert.match(r.errs.read, lost('read', 't'));
  assert.match(r.errs.cpu, lost('relu', 'x'));
  assert.equal(r.left, 0);
  assert.deepEqual(r.report.available, ['cpu']);
  assert.deepEqual(errors.filter((e) => !/device|destroyed|lost/i.test(e)), []);
  await page.close();
});
