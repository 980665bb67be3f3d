// `make bench`: opens dist/bench.html in headless Chromium (WebGPU off: the CPU rows) and
// prints its table: first served plainly (every engine on one thread, convlab also with its
// worker pool), then with cross-origin isolation, where TensorFlow.js and ONNX Runtime Web use
// shared-memory threads. bench/demo-conv2d.mjs then prints the demo's per-backend timings.
import { serve, launch, open } from '../tests/browser/harness.mjs';

// BENCH_MODES=plain,isolated,webgpu,train (the default) or any of them, for quicker iteration.
// The training pass takes BENCH_TRAIN_WINDOW (seconds per measurement, default 25),
// BENCH_TRAIN_TFJS (TensorFlow.js backends, default wasm,cpu,webgl,webgpu), BENCH_TRAIN_CONVLAB
// (default cpu,cpu-parallel,webgpu: cpu-parallel is fit with workers "auto") and BENCH_TRAIN_SMALL=0
// (skips the 88% run).
const modes = (process.env.BENCH_MODES ?? 'plain,isolated,webgpu,train').split(',');
for (const isolated of [false, true].filter((i) => modes.includes(i ? 'isolated' : 'plain'))) {
  console.log(isolated ? '\n== cross-origin isolated: the other engines with threads ==' : '== plain static hosting ==');
  await run(isolated, false);
}
if (modes.includes('webgpu')) {
  console.log('\n== WebGPU (this machine: SwiftShader, a CPU emulation): each engine on its WebGPU backend ==');
  await run(false, true);
}
if (modes.includes('train')) {
  console.log('\n== training (Chromium with WebGPU: SwiftShader here): the chapter\'s CNN, batch 64, convlab vs TensorFlow.js ==');
  await runTraining();
}

async function runTraining() {
  const server = await serve();
  const browser = await launch({ webgpu: true });
  try {
    const q = new URLSearchParams({ train: '' });
    for (const [key, env] of [['window', 'BENCH_TRAIN_WINDOW'], ['tfjs', 'BENCH_TRAIN_TFJS'], ['convlab', 'BENCH_TRAIN_CONVLAB'], ['small', 'BENCH_TRAIN_SMALL']]) {
      if (process.env[env] !== undefined) q.set(key, process.env[env]);
    }
    const { page } = await open(browser.context, `${server.url}bench.html?${q}`);
    // Each measurement takes from seconds to minutes: say on stderr what is done so far.
    let seen = 0;
    const t0 = Date.now();
    while (!(await page.evaluate(() => globalThis.benchResults?.done))) {
      if (Date.now() - t0 > 3_600_000) throw new Error('the training pass took more than an hour');
      const rows = await page.evaluate(() => globalThis.benchResults?.training ?? []);
      for (const r of rows.slice(seen)) console.error(`  [${((Date.now() - t0) / 1000).toFixed(0)} s] ${r.engine}: ${r.workload} done`);
      seen = rows.length;
      await new Promise((resolve) => setTimeout(resolve, 2000));
    }
    const results = await page.evaluate(() => globalThis.benchResults);
    if (results.error) throw new Error(results.error);
    printTraining(results.training);
  } finally {
    await browser.close();
    await server.close();
  }
}

/** The training table, row (e) per step against convlab's CPU step, and long tasks per 10 s. */
function printTraining(rows) {
  const fixed = (v, d) => (v === null || v === undefined ? '-' : v.toFixed(d));
  console.log(`${'workload'.padEnd(38)} ${'engine'.padEnd(28)} ${'ms/step'.padStart(9)} ${'samples/s'.padStart(9)} ${'steps'.padStart(5)} ${'s'.padStart(5)}`);
  for (const r of rows) {
    console.log(`${r.workload.padEnd(38)} ${r.engine.padEnd(28)} ${fixed(r.msPerStep, 0).padStart(9)} ${fixed(r.samplesPerSecond, 2).padStart(9)} ${String(r.steps).padStart(5)} ${fixed(r.seconds, 1).padStart(5)}${r.note ? `   (${r.note})` : ''}`);
  }
  const main = rows.filter((r) => r.workload.startsWith('chapter CNN'));
  const cpu = main.find((r) => r.engine.startsWith('convlab cpu'))?.msPerStep;
  const gpu = main.find((r) => r.engine.startsWith('convlab webgpu'))?.msPerStep;
  const ratio = (a, b) => (a && b ? `${(a / b).toFixed(2)}x` : '-');
  console.log('\n(e) one training step, batch 64: the other engine\'s ms per step / convlab\'s; > 1 means convlab is faster');
  console.log('(convlab cpu: one thread, its training worker; convlab webgpu: the same worker on WebGPU):');
  console.log(`  ${'engine'.padEnd(28)} ${'ms/step'.padStart(9)} ${'samples/s'.padStart(9)} ${'vs cpu'.padStart(8)} ${'vs webgpu'.padStart(9)}`);
  for (const r of main.filter((r) => r.engine.startsWith('tfjs'))) {
    console.log(`  ${r.engine.padEnd(28)} ${fixed(r.msPerStep, 0).padStart(9)} ${fixed(r.samplesPerSecond, 2).padStart(9)} ${ratio(r.msPerStep, cpu).padStart(8)} ${ratio(r.msPerStep, gpu).padStart(9)}`);
  }
  console.log('\nmain-thread long tasks (> 50 ms) while each trains, per 10 s of training (whole call: set-up, warm-up, window):');
  console.log(`  ${'workload / engine'.padEnd(60)} ${'count'.padStart(5)} ${'count/10s'.padStart(9)} ${'ms/10s'.padStart(8)} ${'longest ms'.padStart(10)} ${'over s'.padStart(7)}`);
  for (const r of rows.filter((r) => r.longTasks)) {
    const { count, totalMs, maxMs, seconds } = r.longTasks;
    console.log(`  ${`${r.workload} / ${r.engine}`.padEnd(60)} ${String(count).padStart(5)} ${(count * 10 / seconds).toFixed(2).padStart(9)} ${(totalMs * 10 / seconds).toFixed(0).padStart(8)} ${maxMs.toFixed(0).padStart(10)} ${seconds.toFixed(0).padStart(7)}`);
  }
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
  if (!results.rows.some((r) => r.engine.startsWith('tfjs'))) {
    console.log('(no TensorFlow.js rows: dist/vendor/ lacks it; `make bench` copies it there after building)');
  }
  const byWorkload = new Map();
  for (const r of results.rows) {
    if (r.ms === null) continue;
    const entry = byWorkload.get(r.workload) ?? {};
    const key = r.engine === 'tfjs webgl' ? 'webgl' : r.engine.startsWith('tfjs') ? 'theirs' : r.engine.startsWith('onnx') ? 'ort'
      : r.engine.includes('pool') ? 'pooled' : 'ours';
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
