// Screenshots of the main views for the README: `node scripts/screenshots.mjs` (after
// `make build`) writes docs/screenshots/<view>.png from the built site in headless Chromium
// (the CPU path; SCREENSHOT_WEBGPU=1 for SwiftShader's WebGPU).
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, launch, open } from '../tests/browser/harness.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'docs', 'screenshots');
/** Per view: what to wait for before the picture (a selector that appears once it has drawn). */
const VIEWS = [
  ['lesson', '#run-status[data-state="done"]'],
  ['build', '#view-build svg, #view-build canvas'],
  ['train', '#train[data-ready="true"]'],
  ['classify', '#view-classify ol, #view-classify [role="list"], #view-classify canvas'],
  ['inside', '#view-inside canvas'],
];

await fs.mkdir(out, { recursive: true });
const server = await serve();
const browser = await launch({ webgpu: process.env.SCREENSHOT_WEBGPU === '1' });
try {
  for (const [view, ready] of VIEWS) {
    const { page, errors } = await open(browser.context, `${server.url}?view=${view}`);
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.waitForFunction(() => globalThis.convlab !== undefined);
    await page.evaluate(() => globalThis.convlab.ready);
    await page.waitForSelector(ready, { timeout: 120_000 }).catch(() => console.error(`${view}: ${ready} did not appear; taking the picture anyway`));
    await page.waitForTimeout(2500);
    const file = path.join(out, `${view}.png`);
    await page.screenshot({ path: file });
    console.log(`${file}${errors.length ? ` (page errors: ${errors.join('; ')})` : ''}`);
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
}
