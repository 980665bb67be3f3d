// Benchmark (a program that prints figures, not a test): the Figure 14-5 demo's conv2d
// ([2, 427, 640, 3] * [7, 7, 3, 2], stride 1, "same") on each backend, in one headless Chromium
// with WebGPU exposed (SwiftShader here). Prints median and min of N runs and the ratio.
//   node bench/demo-conv2d.mjs [runs]   (make bench builds the site first)
import { serve, launch, open, demoDone } from '../tests/browser/harness.mjs';

const runs = Number(process.argv[2] ?? 9);
const server = await serve();
const browser = await launch({ webgpu: true });
try {
  const { page } = await open(browser.context, server.url);
  await demoDone(page);
  const figures = await page.evaluate(async (runs) => {
    const d = globalThis.convlabDemo;
    const out = { report: globalThis.convlab.backends(), rows: [] };
    // CPU first: SwiftShader's worker threads can keep a core busy after a WebGPU run.
    for (const backend of [...out.report.available].reverse()) {
      await globalThis.convlab.conv2d(d.input, d.filters, { ...d.options, backend }); // warm-up
      const ms = [];
      for (let i = 0; i < runs; i++) ms.push((await globalThis.convlab.conv2d(d.input, d.filters, { ...d.options, backend })).ms);
      ms.sort((a, b) => a - b);
      out.rows.push({ backend, median: ms[Math.floor(runs / 2)], min: ms[0] });
    }
    return out;
  }, runs);
  const macs = 2 * 427 * 640 * 2 * 7 * 7 * 3;
  console.log(`adapter: ${figures.report.adapter?.name ?? 'none'} (software: ${figures.report.adapter?.software ?? '-'})`);
  console.log(`demo conv2d [2,427,640,3] * [7,7,3,2], same, stride 1: ${macs / 1e6} M multiply-adds, ${runs} runs`);
  console.log('backend   median ms   min ms   GFLOP/s (median)');
  for (const r of figures.rows) {
    console.log(`${r.backend.padEnd(9)} ${r.median.toFixed(1).padStart(9)} ${r.min.toFixed(1).padStart(8)}   ${((2 * macs) / (r.median * 1e6)).toFixed(2).padStart(8)}`);
  }
  const cpu = figures.rows.find((r) => r.backend === 'cpu');
  const gpu = figures.rows.find((r) => r.backend === 'webgpu');
  if (cpu && gpu) console.log(`webgpu / cpu time ratio: ${(gpu.median / cpu.median).toFixed(1)}x`);
} finally {
  await browser.close();
  await server.close();
}
