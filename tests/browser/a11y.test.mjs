// Accessibility: an axe-core audit (npm axe-core) of each main view reports no serious or
// critical violation, with WebGPU and without it. Each view is opened with ?view= and audited
// once it has mounted (its section has content and the page is idle).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { serve, launch, open } from './harness.mjs';

const require = createRequire(import.meta.url);
const AXE = require.resolve('axe-core/axe.min.js');
const VIEWS = ['lesson', 'build', 'train', 'classify', 'inside'];

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

/** The serious and critical violations of an axe run over the page, one line each. */
async function audit(page) {
  await page.addScriptTag({ path: AXE });
  const result = await page.evaluate(async () => {
    // @ts-ignore axe is the injected global
    const r = await globalThis.axe.run(document, { resultTypes: ['violations'] });
    return r.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(' ')) }));
  });
  return result.filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.join(', ')})`);
}

for (const view of VIEWS) {
  test(`the ${view} view has no serious or critical axe violation`, async () => {
    const { page, errors } = await open(browser.context, `${server.url}?view=${view}`);
    await page.waitForFunction(() => globalThis.convlab !== undefined);
    await page.evaluate(() => globalThis.convlab.ready);
    await page.waitForFunction((v) => (document.getElementById(`view-${v}`)?.childElementCount ?? 0) > 0, view);
    // Let the view finish its first render (lazy modules, the demo's first run).
    await page.waitForTimeout(1500);
    const problems = await audit(page);
    assert.deepEqual(problems, [], `axe on ?view=${view}`);
    assert.deepEqual(errors, []);
    await page.close();
  });
}
