// The Build view's benchmark: ResNet-152 fully expanded in the editor, panned every frame,
// alone and then with an edit every 30 frames, in headless Chromium; prints the 95th-percentile
// frame time (requestAnimationFrame deltas; target under 33 ms) and the cost of an edit.
//   node bench/editor.mjs            (after `trunk build --release`; BENCH_EDITOR_SECONDS=4 per phase)
import { serve, launch, open } from '../tests/browser/harness.mjs';

const seconds = Number(process.env.BENCH_EDITOR_SECONDS ?? 4);
const server = await serve();
const browser = await launch({ webgpu: false });
try {
  const { page, errors } = await open(browser.context, `${server.url}?view=build`);
  await page.waitForSelector('#view-build[data-ready="true"]', { timeout: 120_000 });
  const r = await page.evaluate(async (s) => {
    const { benchEditor } = await import('./js/editor/bench-editor.js');
    return benchEditor(globalThis.__convlabEditor, { seconds: s });
  }, seconds);
  const ms = (/** @type {number} */ x) => `${x.toFixed(1)} ms`;
  console.log(`editor: ${r.model} fully expanded (${r.layers} layers, ${r.nodes} nodes), laid out in ${r.readyMs} ms`);
  console.log(`  frame time, ${r.frames} frames: p50 ${ms(r.p50)}, p95 ${ms(r.p95)} (target < 33 ms), max ${ms(r.max)}`);
  console.log(`    baseline (the same page doing nothing): p95 ${ms(r.idleP95)}, max ${ms(r.idleMax)}`);
  console.log(`    panning alone: p95 ${ms(r.panP95)}, max ${ms(r.panMax)}; panning with an edit every ${r.editEvery} frames: p95 ${ms(r.editingP95)}, max ${ms(r.editingMax)}`);
  console.log(`  ${r.edits} edits: p50 ${ms(r.editP50)}, max ${ms(r.editMax)}; the core's check alone (fromSpec + summary) ${ms(r.checkMs)}`);
  console.log(JSON.stringify(r));
  if (errors.length) console.error(errors.join('\n'));
} finally {
  await browser.close();
  await server.close();
}
