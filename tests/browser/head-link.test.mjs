// A transfer-learned head shared by link (`?view=classify#head=1.<deflated safetensors>`):
// opened where no head is kept it becomes the head; where one is kept the user chooses (beside
// it, replace it, ignore); bad links are named and change nothing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve, launch, open } from './harness.mjs';

let server;
let browser;
before(async () => {
  server = await serve();
  browser = await launch({ webgpu: false }); // a fresh profile: no head kept yet
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** A link carrying a head with random weights for `classNames` (made by the page's own code). */
async function headLink(page, classNames, { kind = 'transfer-head' } = {}) {
  return page.evaluate(async ({ classNames, kind }) => {
    const { headSpec } = await import('./js/transfer-handlers.js');
    const { withMetadata } = await import('./js/classify/models.js');
    const { headFragment } = await import('./js/classify/head-link.js');
    const model = globalThis.convlab.Model.fromSpec(headSpec(1280, classNames.length));
    const bytes = withMetadata(model.saveWeights(), {
      convlab_kind: kind, backbone: 'mobilenet_v2', class_names: JSON.stringify(classNames), feature_scale: '6',
    });
    model.free();
    return `${location.origin}${location.pathname}?view=classify${await headFragment(bytes)}`;
  }, { classNames, kind });
}

const statusText = (page) => page.textContent('#cl-tl-status');
const topLabel = (page) => page.$eval('#cl-top li .cl-label', (e) => e.textContent);

async function classifySample(page) {
  await page.click('[data-sample="china.jpg"]');
  await page.waitForFunction(() => document.querySelector('#cl-top li .cl-label') && /china/.test(document.getElementById('cl-still').getAttribute('aria-label')), null, { timeout: 120_000 });
  return topLabel(page);
}

test('a head travels in a link: opened with none kept it is the head; with one kept the user chooses beside or replace; bad links are named', async (t) => {
  const { page: maker, errors: makerErrors } = await open(browser.context, `${server.url}?view=lesson`);
  await maker.waitForFunction(() => globalThis.convlab !== undefined);
  const catDog = await headLink(maker, ['cat', 'dog']);
  const leftRight = await headLink(maker, ['left', 'right']);
  assert.ok(catDog.length < 40_000, `${catDog.length} characters`);
  const three = await headLink(maker, ['a', 'b', 'c']);
  const ten = await headLink(maker, [...'abcdefghij']);
  t.diagnostic(`link lengths: 2 classes ${catDog.length}, 3 classes ${three.length}, 10 classes ${ten.length} characters`);

  // No head kept: the link's head becomes the head, is chosen, and leaves the address bar.
  const first = await open(browser.context, catDog);
  await first.page.waitForFunction(() => /Loaded the head from the link: cat, dog/.test(document.getElementById('cl-tl-status')?.textContent ?? ''), null, { timeout: 180_000 });
  assert.equal(await first.page.inputValue('#cl-model'), 'transfer');
  assert.ok(!/head=/.test(await first.page.evaluate(() => location.hash)), 'the head left the address bar');
  assert.ok(['cat', 'dog'].includes(await classifySample(first.page)));
  // It is kept: Copy a link gives a link to the same head.
  await first.page.waitForFunction(() => document.getElementById('cl-tl-classes').dataset.saved);
  await first.page.click('#cl-tl-link');
  // The status comes last (after the field and the clipboard).
  await first.page.waitForFunction(() => /characters; it carries the head/.test(document.getElementById('cl-tl-status').textContent));
  const again = await first.page.inputValue('#cl-tl-link-field');
  assert.match(again, /\?view=classify#head=1\.[A-Za-z0-9_-]+$/);
  assert.match(await statusText(first.page), /characters; it carries the head and its class names, not your images/);
  await first.page.close();

  // A head kept: the link asks. "Use it beside mine" adds a picker entry; the kept head stays.
  const second = await open(browser.context, leftRight);
  await second.page.waitForSelector('#cl-tl-linked:not([hidden])', { timeout: 180_000 });
  assert.match(await second.page.textContent('#cl-tl-linked'), /carries a head for: left, right\. This browser keeps your own head \(cat, dog\)/);
  await second.page.click('#cl-tl-linked-beside');
  assert.equal(await second.page.inputValue('#cl-model'), 'linked');
  assert.ok(['left', 'right'].includes(await classifySample(second.page)));
  assert.match(await second.page.textContent('#cl-model option[value="transfer"]'), /cat, dog/);
  assert.match(await statusText(second.page), /your own head and classes are unchanged/);
  await second.page.close();

  // "Replace mine with it": the link's head becomes the kept one.
  const third = await open(browser.context, leftRight);
  await third.page.waitForSelector('#cl-tl-linked:not([hidden])', { timeout: 180_000 });
  await third.page.click('#cl-tl-linked-replace');
  await third.page.waitForFunction(() => /Loaded the head from the link: left, right/.test(document.getElementById('cl-tl-status').textContent), null, { timeout: 120_000 });
  assert.match(await third.page.textContent('#cl-model option[value="transfer"]'), /left, right/);
  await third.page.close();

  // Bad links: each is named, nothing kept changes.
  const notHead = await headLink(maker, ['a', 'b'], { kind: 'model' });
  const cut = leftRight.slice(0, leftRight.length - 2000);
  for (const [link, want] of [
    [`${server.url}?view=classify#head=1.abc$def`, /not base64url/],
    [`${server.url}?view=classify#head=7.abcdef`, /in format "7", which this convlab does not read/],
    [cut, /does not decompress \(was the link cut or changed\?\)/],
    [notHead, /carries a model's weights, not a transfer head/],
  ]) {
    const bad = await open(browser.context, link);
    await bad.page.waitForSelector('#cl-tl-message:not([hidden])', { timeout: 180_000 });
    const message = await bad.page.textContent('#cl-tl-message');
    assert.match(message, /^The link's head could not be opened: /);
    assert.match(message, want);
    assert.match(message, /Nothing was changed\.$/);
    assert.match(await bad.page.textContent('#cl-model option[value="transfer"]'), /left, right/, 'the kept head stays');
    assert.deepEqual(bad.errors, [], link.slice(0, 120));
    await bad.page.close();
  }
  assert.deepEqual(makerErrors, []);
});
