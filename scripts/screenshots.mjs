// Screenshots of the main views for the README: `node scripts/screenshots.mjs` (after
// `make build`) writes docs/screenshots/<view>.png from the built site in headless Chromium
// (the CPU path; SCREENSHOT_WEBGPU=1 for SwiftShader's WebGPU).
import fs from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { serve, launch, open } from '../tests/browser/harness.mjs';

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..');
const out = path.join(root, 'docs', 'screenshots');
/**
 * Per view: what to wait for before the picture (a selector that appears once it has drawn),
 * and what to do first so that the picture shows the view at work.
 * @type {[string, string, ((page: any) => Promise<void>)?][]}
 */
const VIEWS = [
  ['lesson', '#run-status[data-state="done"]'],
  ['build', '#view-build svg', async (page) => {
    await page.waitForSelector('#ed-zoo');
    await page.selectOption('#ed-zoo', 'resnet34');
    await page.click('#ed-open');
    await page.waitForTimeout(3000);
  }],
  ['train', '#train[data-ready="true"]'],
  ['classify', '#cl-top[data-results]', async (page) => {
    await page.waitForSelector('button[data-sample="china.jpg"]');
    await page.click('button[data-sample="china.jpg"]');
  }],
  ['inside', '#view-inside canvas'],
];

await fs.mkdir(out, { recursive: true });
const server = await serve();
const browser = await launch({ webgpu: process.env.SCREENSHOT_WEBGPU === '1' });
try {
  for (const [view, ready, prepare] of VIEWS) {
    const { page, errors } = await open(browser.context, `${server.url}?view=${view}`);
    await page.setViewportSize({ width: 1280, height: 860 });
    await page.waitForFunction(() => globalThis.convlab !== undefined);
    await page.evaluate(() => globalThis.convlab.ready);
    await prepare?.(page);
    await page.waitForSelector(ready, { timeout: 120_000 }).catch(() => console.error(`${view}: ${ready} did not appear; taking the picture anyway`));
    await page.waitForTimeout(2500);
    const file = path.join(out, `${view}.png`);
    // Classify's answer sits below its image: the whole page for it.
    await page.screenshot({ path: file, fullPage: view === 'classify' });
    console.log(`${file}${errors.length ? ` (page errors: ${errors.join('; ')})` : ''}`);
    await page.close();
  }
} finally {
  await browser.close();
  await server.close();
}
