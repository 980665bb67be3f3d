// The kernels alone, convlab against TensorFlow.js's wasm backend (one thread each), in one page:
// TensorFlow.js's time for `tf.conv2d` without `data()` (its wasm kernel runs inside the call)
// against the `ms` convlab's conv2d reports (from after its arguments are read to before its
// result is copied out), and each one's wall time with the result copied out. The gap between
// the two columns is what copying a result into a new JS array costs here, for both engines.
// Calls alternate; each figure is the 3rd best of 16 (robust to the shared VM's slow moments).
// Run after `make bench` (which copies TensorFlow.js into dist/vendor): node bench/kernel-only.mjs
import { serve, launch, open } from '../tests/browser/harness.mjs';

const server = await serve();
const browser = await launch({ webgpu: false });
try {
  const { page } = await open(browser.context, `${server.url}bench.html?idle`);
  page.setDefaultTimeout(600_000);
  const rows = await page.evaluate(async () => {
    const script = (/** @type {string} */ src) => new Promise((resolve, reject) => {
      const s = document.createElement('script');
      s.src = src;
      s.onload = resolve;
      s.onerror = () => reject(new Error(`${src} is missing: run make bench first`));
      document.head.append(s);
    });
    await script('vendor/tf-core.min.js');
    await script('vendor/tf-backend-wasm.min.js');
    const tf = /** @type {any} */ (globalThis).tf;
    tf.wasm.setWasmPaths(new URL('vendor/', location.href).href);
    await tf.setBackend('wasm');
    await tf.ready();
    const core = await import(new URL('convlab.js', location.href).href);
    await core.default({ module_or_path: new URL('convlab_bg.wasm', location.href) });
    await core.initBackends({ webgpu: false });
    const tensor = (/** @type {number[]} */ shape, /** @type {number} */ seed) => {
      const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
      let s = seed;
      for (let i = 0; i < data.length; i++) { s = (Math.imul(s, 1103515245) + 12345) >>> 0; data[i] = (s / 2 ** 32 - 0.5) * 0.2; }
      return { shape, data };
    };
    const shapes = [
      ['(a) seed conv 150x100x3, 200 5x5', [1, 150, 100, 3], [5, 5, 3, 200]],
      ['(b) ResNet 3x3 56x56x64 -> 64', [1, 56, 56, 64], [3, 3, 64, 64]],
      ['CNN conv1 64x28x28x1, 64 7x7', [64, 28, 28, 1], [7, 7, 1, 64]],
      ['CNN conv2 64x14x14x64 -> 128', [64, 14, 14, 64], [3, 3, 64, 128]],
      ['CNN conv3 64x14x14x128 -> 128', [64, 14, 14, 128], [3, 3, 128, 128]],
      ['CNN conv4 64x7x7x128 -> 256', [64, 7, 7, 128], [3, 3, 128, 256]],
      ['CNN conv5 64x7x7x256 -> 256', [64, 7, 7, 256], [3, 3, 256, 256]],
    ];
    const out = [];
    for (const [name, xs, fs] of shapes) {
      const x = tensor(/** @type {number[]} */ (xs), 1);
      const f = tensor(/** @type {number[]} */ (fs), 2);
      const [tx, tw] = [tf.tensor(x.data, xs), tf.tensor(f.data, fs)];
      const [kx, kf] = [core.keep(x), core.keep(f)];
      /** @type {Record<string, number[]>} */
      const t = { tfKernel: [], tfWall: [], ourKernel: [], ourWall: [] };
      for (let i = 0; i < 16; i++) {
        let t0 = performance.now();
        const y = tf.conv2d(tx, tw, 1, 'same');
        const t1 = performance.now();
        await y.data();
        t.tfWall.push(performance.now() - t0);
        t.tfKernel.push(t1 - t0);
        y.dispose();
        t0 = performance.now();
        const r = await core.conv2d(kx, kf, { padding: 'same', backend: 'cpu' });
        t.ourWall.push(performance.now() - t0);
        t.ourKernel.push(r.ms);
      }
      const third = (/** @type {number[]} */ a) => a.sort((p, q) => p - q)[2];
      out.push({ name, ...Object.fromEntries(Object.entries(t).map(([k, v]) => [k, third(v)])) });
      tx.dispose();
      tw.dispose();
      core.dispose(kx);
      core.dispose(kf);
    }
    return out;
  });
  console.log(`${'conv2d'.padEnd(34)} ${'tfjs kernel'.padStart(11)} ${'convlab'.padStart(8)} ${'ratio'.padStart(6)}   ${'tfjs wall'.padStart(9)} ${'convlab'.padStart(8)} ${'ratio'.padStart(6)}`);
  for (const r of rows) {
    const cells = [r.tfKernel, r.ourKernel, r.tfKernel / r.ourKernel, r.tfWall, r.ourWall, r.tfWall / r.ourWall];
    console.log(`${r.name.padEnd(34)} ${cells[0].toFixed(2).padStart(11)} ${cells[1].toFixed(2).padStart(8)} ${`${cells[2].toFixed(2)}x`.padStart(6)}   ${cells[3].toFixed(2).padStart(9)} ${cells[4].toFixed(2).padStart(8)} ${`${cells[5].toFixed(2)}x`.padStart(6)}`);
  }
  console.log('(ms, 3rd best of 16 alternating calls; kernel = without copying the result out; ratio > 1: convlab faster)');
} finally {
  await browser.close();
  await server.close();
}
