// The page's views: one tab each, keyboard operable, remembered in ?view= across a reload.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve, launch, open } from './harness.mjs';

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

const visible = (page) => page.$$eval('main > section.view', (els) => els.filter((e) => !e.hidden).map((e) => e.id));

test('tabs switch views, arrow keys move between them, and a reload keeps the view', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await page.waitForFunction(() => globalThis.convlab !== undefined);
  assert.deepEqual(await visible(page), ['view-lesson']);
  await page.click('#tab-view-train');
  assert.deepEqual(await visible(page), ['view-train']);
  assert.equal(new URL(page.url()).searchParams.get('view'), 'train');
  assert.equal(await page.getAttribute('#tab-view-train', 'aria-selected'), 'true');
  await page.focus('#tab-view-train');
  await page.keyboard.press('ArrowRight');
  assert.deepEqual(await visible(page), ['view-classify']);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'tab-view-classify');
  await page.keyboard.press('Home');
  assert.deepEqual(await visible(page), ['view-lesson']);
  await page.keyboard.press('End');
  assert.deepEqual(await visible(page), ['view-inside']);
  await page.reload();
  await page.waitForFunction(() => globalThis.convlab !== undefined);
  assert.deepEqual(await visible(page), ['view-inside']);
  const other = await open(browser.context, `${server.url}?view=nonsense`);
  await other.page.waitForFunction(() => globalThis.convlab !== undefined);
  assert.deepEqual(await visible(other.page), ['view-inside'], 'an unknown ?view= falls back to the last view used');
  assert.deepEqual(errors, []);
  assert.deepEqual(other.errors, []);
  await page.close();
  await other.page.close();
});

test('the Train view offers the Build view\'s model, and keeps its label current', async () => {
  const { page, errors } = await open(browser.context, `${server.url}?view=train`);
  await page.waitForSelector('#train[data-ready="true"]', { timeout: 60_000 });
  const labels = await page.evaluate(async () => {
    const store = await import('./js/store.js');
    const spec = globalThis.convlab.zoo.spec('lenet5_modern');
    const label = () => document.querySelector('#tp-model option[value="editor"]')?.textContent ?? null;
    const before = label();
    store.update({ model: { spec, name: 'my lenet', weights: null, classNames: null, origin: 'editor' } });
    const first = label();
    store.update({ model: { spec, name: 'my lenet 2', weights: null, classNames: null, origin: 'editor' } });
    return { before, first, second: label(), count: document.querySelectorAll('#tp-model option[value="editor"]').length };
  });
  assert.deepEqual(labels, { before: null, first: 'From the Build view: my lenet', second: 'From the Build view: my lenet 2', count: 1 });
  assert.deepEqual(errors, []);
  await page.close();
});

test('every view works when the site is served from a sub-path', async () => {
  const sub = await serve(undefined, '/some/sub/path/');
  try {
    for (const [view, act, ready] of [
      ['build', null, '#view-build svg .ed-node'],
      ['train', null, '#train[data-ready="true"]'],
      ['classify', 'button[data-sample="china.jpg"]', '#cl-top[data-results]'],
      ['inside', null, '#view-inside canvas'],
      ['lesson', null, '#lesson-live[data-ready="true"] #rf-output'],
    ]) {
      const { page, errors } = await open(browser.context, `${sub.url}?view=${view}`);
      await page.waitForFunction(() => globalThis.convlab !== undefined);
      if (act) { await page.waitForSelector(act); await page.click(act); }
      await page.waitForSelector(ready, { timeout: 120_000 });
      if (view === 'classify') assert.match(await page.textContent('#cl-top'), /^palace/);
      assert.deepEqual(errors, [], view);
      await page.close();
    }
  } finally {
    await sub.close();
  }
});
