// `make bench`: opens dist/bench.html in headless Chromium (WebGPU off: the CPU rows) and
// prints its table: first served plainly (every engine on one thread, convlab also with its
// worker pool), then with cross-origin isolation, where TensorFlow.js and ONNX Runtime Web use
// shared-memory threads. bench/demo-conv2d.mjs then prints the demo's per-backend timings.
import { serve, launch, open } from '../tests/browser/harness.mjs';

// BENCH_MODES=plain,isolated,webgpu (the default) or any of them, for quicker iteration.
const modes = (process.env.BENCH_MODES ?? 'plain,isolated,webgpu').split(',');
for (const isolated of [false, true].filter((i) => modes.includes(i ? 'isolated' : 'plain'))) {
  console.log(isolated ? '\n== cross-origin isolated: the other engines with threads ==' : '== plain static hosting ==');
  await run(isolated, false);
}
if (modes.includes('webgpu')) {
  console.log('\n== WebGPU (this machine: SwiftShader, a CPU emulation): each engine on its WebGPU backend ==');
  await run(false, true);
}

async function run(isolated, webgpu) {
const server = await serve(undefined, '/', { isolated });
const browser = await launch({ webgpu });
try {
  const { page } = await open(browser.context, `${server.url}bench.html${webgpu ? '?webgpu' : ''}`);
  await page.waitForFunction(() => globalThis.benchResults?.done, null, { timeout: 1_800_000 });
  const results = await page.evaluate(() => globalThis.benchResults);
  if (results.error) throw new Error(results.error);
  console.log(`${'workload'.padEnd(42)} ${'engine'.padEnd(32)} median ms   GFLOP/s`);
  for (const r of results.rows) {
    const ms = r.ms === null ? '-' : r.ms.toFixed(2);
    const gf = r.gflops === null ? '-' : r.gflops.toFixed(2);
    console.log(`${r.workload.padEnd(42)} ${r.engine.padEnd(32)} ${ms.padStart(9)} ${gf.padStart(9)}${r.note ? `   (${r.note})` : ''}`);
  }
  const byWorkload = new Map();
  for (const r of results.rows) {
    if (r.ms === null) continue;
    const entry = byWorkload.get(r.workload) ?? {};
    const key = r.engine === 'tfjs webgl' ? 'webgl' : r.engine.startsWith('tfjs') ? 'theirs' : r.engine.startsWith('onnx') ? 'ort'
      : r.engine.includes('workers') ? 'pooled' : 'ours';
    if (webgpu && key === 'pooled') continue;
    entry[key] = r.ms;
    byWorkload.set(r.workload, entry);
  }
  const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}x` : '-');
  if (webgpu) {
    console.log('\nspeed ratios on WebGPU: the other engine\'s time / convlab webgpu\'s time; > 1 means convlab is faster:');
    console.log(`  ${'workload'.padEnd(42)} ${'tfjs webgpu'.padStart(12)} ${'ort webgpu'.padStart(12)} ${'tfjs webgl'.padStart(12)}`);
    for (const [w, { ours, theirs, ort, webgl }] of byWorkload) {
      const cells = [ratio(theirs, ours), ratio(ort, ours), ratio(webgl, ours)];
      console.log(`  ${w.padEnd(42)} ${cells.map((c) => c.padStart(12)).join(' ')}`);
    }
    return;
  }
  console.log('\nspeed ratios: the other engine\'s time / convlab\'s time, with convlab on 1 thread (1t) or');
  console.log('its worker pool (pool); > 1 means convlab is faster:');
  console.log(`  ${'workload'.padEnd(42)} ${'tfjs/1t'.padStart(9)} ${'tfjs/pool'.padStart(9)} ${'ort/1t'.padStart(9)} ${'ort/pool'.padStart(9)}`);
  for (const [w, { ours, theirs, pooled, ort }] of byWorkload) {
    const cells = [ratio(theirs, ours), ratio(theirs, pooled), ratio(ort, ours), ratio(ort, pooled)];
    console.log(`  ${w.padEnd(42)} ${cells.map((c) => c.padStart(9)).join(' ')}`);
  }
} finally {
  await browser.close();
  await server.close();
}
}
