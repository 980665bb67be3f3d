// The Build view (www/js/editor/): zoo models and their published counts, editing with the
// summary following, the core's messages on invalid layers, add / delete / duplicate /
// connect, undo / redo and back / forward, blocks expanded and collapsed, share links,
// autosave across reloads and the link-or-kept-work question, export / import, the keyboard.
// Each test gets a fresh browser profile (its own IndexedDB).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import { serve, launch, open } from './harness.mjs';

import * as doc from '../../www/js/editor/doc.js';
import { parseField } from '../../www/js/editor/layers.js';
import { layerOfMessage, layerOfSpecMessage } from '../../www/js/editor/graph.js';

let server;
before(async () => { server = await serve(); });

// The spec edits themselves (www/js/editor/doc.js, plain functions): no browser needed.
test('spec edits: default names as the core gives them, insert/delete/duplicate/connect/rename keep the chain', () => {
  const spec = { format: 'convlab-model', version: 1, input: { shape: [8, 8, 1] }, layers: [
    { class_name: 'Conv2D', config: { filters: 4, kernel_size: 3 } },
    { class_name: 'Conv2D', config: { filters: 4, kernel_size: 3 } },
    { class_name: 'MaxPool2D' },
    { name: 'out', class_name: 'Dense', config: { units: 2 } }] };
  assert.deepEqual(doc.entryNames(spec), ['conv2d', 'conv2d_1', 'max_pool2d', 'out']);
  assert.deepEqual(doc.entryInputs(spec), [['input'], ['conv2d'], ['conv2d_1'], ['max_pool2d']]);
  const added = doc.insertLayer(spec, 0, 'BatchNormalization', {});
  assert.equal(added.name, 'batch_normalization');
  assert.deepEqual(doc.entryNames(added.spec), ['conv2d', 'batch_normalization', 'conv2d_1', 'max_pool2d', 'out']);
  assert.deepEqual(doc.entryInputs(added.spec)[2], ['batch_normalization'], 'the next layer reads the new one');
  assert.equal(spec.layers.length, 4, 'the original is untouched');
  const gone = doc.deleteEntry(added.spec, 2);
  assert.deepEqual(doc.entryInputs(gone)[2], ['batch_normalization'], 'the pool reads what conv2d_1 read');
  const dup = doc.duplicateEntry(spec, 3);
  assert.equal(dup.name, 'out_1');
  assert.deepEqual(doc.entryInputs(dup.spec)[4], ['out']);
  const add = doc.insertLayer(spec, 1, 'Add', {});
  const joined = doc.connect(add.spec, 'conv2d', 2);
  assert.deepEqual(doc.entryInputs(joined)[2], ['conv2d_1', 'conv2d'], 'Add gains an input');
  const replaced = doc.connect(spec, 'conv2d', 3);
  assert.deepEqual(doc.entryInputs(replaced)[3], ['conv2d'], 'a Dense replaces its input');
  const renamed = doc.rename(replaced, 0, 'first');
  assert.deepEqual(doc.entryInputs(renamed).slice(1), [['first'], ['conv2d_1'], ['first']]);
  assert.equal(doc.freshName(spec, 'conv2d'), 'conv2d_2');
  const blocks = { ...spec, layers: [...spec.layers, { name: 'u', block: 'b', repeat: 3 }] };
  const indexOf = doc.entryIndexer(blocks);
  for (const name of ['conv2d', 'out', 'u', 'u_2', 'u_3/conv', 'nothing']) assert.equal(indexOf(name), doc.entryOf(blocks, name), name);
  assert.deepEqual([indexOf('u_3'), indexOf('u_4')], [4, -1], 'three copies, no fourth');
});

test('unpacking a repeated block instance: plain layers named copy.layer, readers follow its output', () => {
  const spec = { format: 'convlab-model', version: 1, input: { shape: [8, 8, 4] },
    blocks: { unit: { params: {}, layers: [{ name: 'c', class_name: 'Conv2D', config: { filters: 4, kernel_size: 1 } }, { name: 'a', class_name: 'Add', inputs: ['x', 'c'] }] } },
    layers: [{ name: 'u', block: 'unit', repeat: 2 }, { name: 'g', class_name: 'GlobalAvgPool2D' }] };
  const flat = [
    { name: 'u_1/c', className: 'Conv2D', config: { filters: 4, kernel_size: 1 }, inputs: ['input'], block: 'u_1' },
    { name: 'u_1/a', className: 'Add', config: {}, inputs: ['input', 'u_1/c'], block: 'u_1' },
    { name: 'u_2/c', className: 'Conv2D', config: { filters: 4, kernel_size: 1 }, inputs: ['u_1/a'], block: 'u_2' },
    { name: 'u_2/a', className: 'Add', config: {}, inputs: ['u_1/a', 'u_2/c'], block: 'u_2' },
    { name: 'g', className: 'GlobalAvgPool2D', config: {}, inputs: ['u_2/a'], block: null }];
  const { spec: out, names } = doc.unpack(spec, 0, flat);
  assert.deepEqual(doc.entryNames(out), ['u_1.c', 'u_1.a', 'u_2.c', 'u_2.a', 'g']);
  assert.equal(names.get('u_2/a'), 'u_2.a');
  assert.deepEqual(doc.entryInputs(out), [['input'], ['input', 'u_1.c'], ['u_1.a'], ['u_1.a', 'u_2.c'], ['u_2.a']]);
  assert.equal(out.blocks.unit.layers.length, 2, 'the block stays defined for other instances');
});

test('fields as typed, and the layer a core message names', () => {
  assert.equal(parseField('32'), 32);
  assert.deepEqual(parseField('3, 5'), [3, 5]);
  assert.deepEqual(parseField('[[1, 2], [3, 4]]'), [[1, 2], [3, 4]]);
  assert.equal(parseField('same'), 'same');
  assert.equal(parseField('  '), undefined);
  assert.equal(parseField('abc, 3'), 'abc, 3', 'not numbers: the text, for the core to name');
  assert.equal(layerOfMessage("layer 'res4_3/conv2' (Conv2D): argument 'kernel_size': too big"), 'res4_3/conv2');
  assert.equal(layerOfMessage("layers 'a' -> 'b' -> 'a' form a cycle"), 'a');
  assert.equal(layerOfMessage("layer 'it's' (Dense): units must be positive"), "it's");
  assert.equal(layerOfMessage('model spec: format must be "convlab-model"'), null);
  assert.equal(layerOfMessage("model has more than 300000000 parameters (stored values, reached at layer 'res4_252/conv2'); the limit"), 'res4_252/conv2');
  const spec = { input: { shape: [8, 8, 1] }, layers: [{ class_name: 'Dense' }, { name: 'u', block: 'b', repeat: 'x' }] };
  assert.equal(layerOfSpecMessage('model spec: layers[1].repeat: invalid type: string "x", expected u32', spec), 'u');
});
after(async () => { await server?.close(); });

/** A fresh browser; `fn` gets its context; closed after. */
async function withBrowser(fn) {
  const browser = await launch({ webgpu: false });
  try { return await fn(browser.context); } finally { await browser.close(); }
}

/** Opens the Build view (with `hash`) and waits for the editor. */
async function openBuild(context, hash = '') {
  const { page, errors } = await open(context, `${server.url}?view=build${hash}`);
  await page.waitForSelector('#view-build[data-ready="true"]', { timeout: 120_000 });
  return { page, errors };
}

const params = (page) => page.$eval('#ed-totals', (e) => e.dataset.params);
const settled = (page) => page.evaluate(async () => { await globalThis.__convlabEditor.flush(); return true; });
const laidOut = (page) => page.waitForSelector('.ed[data-layout="done"]', { timeout: 120_000 });
const rowIds = (page) => page.$$eval('#ed-summary tbody tr', (rows) => rows.map((r) => r.dataset.id));

async function openZoo(page, name) {
  await page.selectOption('#ed-zoo', name);
  await page.click('#ed-open');
  await page.waitForFunction((n) => globalThis.__convlabEditor.spec.name === n, name || 'blank');
  await laidOut(page);
}

test('zoo models load with their published parameter counts; the palette has every layer type', async () => {
  await withBrowser(async (context) => {
    const { page, errors } = await openBuild(context);
    const names = await page.evaluate(() => convlab.zoo.names());
    const zooOptions = await page.$$eval('#ed-zoo option', (o) => o.map((x) => x.value));
    assert.deepEqual(zooOptions, ['', ...names], 'blank and every zoo model');
    const types = await page.evaluate(() => convlab.editor.layerTypes());
    assert.equal(types.length, 20);
    assert.deepEqual(await page.$$eval('.ed-palette [data-type]', (b) => b.map((x) => x.dataset.type)), types);
    // Published counts (README's zoo table, checked against published figures and Keras in tests/zoo.rs).
    const published = {
      fashion_mnist_cnn: '1413834', lenet5: '60840', lenet5_modern: '61706', alexnet: '62378344', googlenet: '6998552',
      vgg16: '138357544', resnet34: '21814696', resnet152: '60344232', xception: '22910480', se_resnet50: '28141144', mobilenet_v2: '3538984',
    };
    assert.deepEqual(Object.keys(published).sort(), [...names].sort());
    for (const [name, count] of Object.entries(published)) {
      await openZoo(page, name);
      assert.equal(await params(page), count, name);
      if (name === 'resnet34') {
        assert.match(await page.textContent('#ed-totals'), /21,814,696 \(21,797,672 trainable\)/);
        assert.match(await page.textContent('#ed-totals'), /3,663,761,408/, 'resnet34 multiply-adds');
      }
    }
    await openZoo(page, '');
    assert.equal(await params(page), '0');
    assert.deepEqual(await rowIds(page), ['input'], 'blank is an input layer only');
    assert.deepEqual(errors, []);
  });
});

test('editing a field updates the summary at once; an invalid value keeps its text and marks the layer with the core\'s message', async () => {
  await withBrowser(async (context) => {
    const { page, errors } = await openBuild(context);
    await openZoo(page, 'fashion_mnist_cnn');
    await page.click('.ed-node[data-id="conv1"]');
    assert.equal(await page.inputValue('#ed-f-filters'), '64');
    await page.fill('#ed-f-filters', '32');
    // conv1 7x7x1x32 + 32 = 1,600 (was 3,200); conv2 3x3x32x128 + 128 = 36,992 (was 73,856).
    assert.equal(await params(page), String(1413834 - 1600 - 36864));
    // The other views get the valid model through the store.
    await page.evaluate(async () => { globalThis.__store = await import('./js/store.js'); });
    const shared = await page.waitForFunction(() => {
      const m = globalThis.__store.get().model;
      return m?.origin === 'editor' && m.spec.layers[0].config.filters === 32 ? { name: m.name, weights: m.weights } : null;
    });
    assert.deepEqual(await shared.jsonValue(), { name: 'fashion_mnist_cnn', weights: null });
    await page.fill('#ed-f-kernel_size', '0');
    assert.equal(await page.inputValue('#ed-f-kernel_size'), '0', 'the text stays');
    const node = page.locator('.ed-node[data-id="conv1"]');
    assert.match(await node.getAttribute('class'), /ed-invalid/);
    const message = await node.locator('title').textContent();
    assert.match(message, /^layer 'conv1' \(Conv2D\): .*kernel/);
    assert.equal(await page.textContent('.ed-node[data-id="conv1"] .ed-n-err'), message.length > 60 ? `${message.slice(0, 59)}…` : message);
    assert.equal(await page.getAttribute('#ed-f-kernel_size', 'aria-invalid'), 'true');
    assert.equal(await page.textContent('#ed-insp-problem'), message);
    assert.equal(await params(page), '', 'no totals for an invalid model');
    assert.match(await page.textContent('#ed-totals'), /Not a valid model/);
    await page.fill('#ed-f-kernel_size', '5');
    assert.equal(await page.getAttribute('#ed-f-kernel_size', 'aria-invalid'), null);
    assert.doesNotMatch(await node.getAttribute('class'), /ed-invalid/);
    assert.equal(await params(page), String(1413834 - 1600 - 36864 - 24 * 32), '5x5 instead of 7x7: 24 fewer weights per filter');
    await page.fill('#ed-f-filters', 'many');
    assert.match(await page.locator('.ed-node[data-id="conv1"] title').textContent(), /^layer 'conv1' \(Conv2D\): .*filters/);
    assert.deepEqual(errors, []);
  });
});

test('add, duplicate, delete and connect layers; undo and redo; back and forward walk the same steps', async () => {
  await withBrowser(async (context) => {
    const { page, errors } = await openBuild(context);
    assert.deepEqual(await rowIds(page), ['input']);
    await page.click('.ed-node[data-id="input"]');
    await page.click('#ed-add-Conv2D');
    await page.click('#ed-add-Flatten');
    await page.click('#ed-add-Dense');
    await laidOut(page);
    assert.deepEqual(await rowIds(page), ['input', 'conv2d', 'flatten', 'dense']);
    // 28x28x1 -> conv 3x3 same 32 (320) -> flatten 25,088 -> dense 64 (1,605,696).
    assert.equal(await params(page), String(320 + 25088 * 64 + 64));
    await page.click('.ed-node[data-id="conv2d"]');
    await page.click('#ed-duplicate');
    assert.deepEqual(await rowIds(page), ['input', 'conv2d', 'conv2d_1', 'flatten', 'dense']);
    assert.equal(await params(page), String(320 + (9 * 32 * 32 + 32) + 25088 * 64 + 64), 'the copy reads the original');
    await page.click('.ed-node[data-id="conv2d"]');
    await page.keyboard.press('Delete');
    assert.deepEqual(await rowIds(page), ['input', 'conv2d_1', 'flatten', 'dense']);
    assert.equal(await params(page), String(320 + 25088 * 64 + 64), 'conv2d_1 now reads the input');
    // Add a layer after the input and connect it, by dragging ports, into an Add.
    await page.click('.ed-node[data-id="conv2d_1"]');
    await page.click('#ed-add-Add');
    await page.click('.ed-node[data-id="input"]');
    await page.click('#ed-add-Conv2D');
    await laidOut(page);
    const before = await params(page);
    const port = await page.locator('.ed-node[data-id="conv2d"] .ed-port-out').boundingBox();
    const target = await page.locator('.ed-node[data-id="add"] rect').boundingBox();
    await page.mouse.move(port.x + port.width / 2, port.y + port.height / 2);
    await page.mouse.down();
    await page.mouse.move(target.x + 20, target.y + 20, { steps: 5 });
    await page.mouse.up();
    const spec = await page.evaluate(() => globalThis.__convlabEditor.spec);
    assert.deepEqual(spec.layers.find((l) => l.name === 'add').inputs, ['conv2d_1', 'conv2d'], 'Add gains an input');
    assert.equal(before, '', 'an Add with one input is not valid');
    assert.equal(await page.$eval('.ed', (e) => e.dataset.valid), 'true');
    // The new conv2d went between the input and conv2d_1 (it reads the input, conv2d_1 reads it):
    // 320 + 3x3x32x32 + 32 = 9,248 for conv2d_1, the Add nothing, the dense 25,088 x 64 + 64.
    const flat = await page.evaluate((s) => convlab.editor.expand(s).layers, spec);
    assert.deepEqual(flat.find((l) => l.name === 'conv2d_1').inputs, ['conv2d']);
    assert.deepEqual(flat.find((l) => l.name === 'conv2d').inputs, ['input']);
    assert.equal(await params(page), String(320 + 9248 + 25088 * 64 + 64));
    await laidOut(page);
    assert.equal(await page.locator('.ed-edge').count(), 6, 'input->conv2d, conv2d->conv2d_1, conv2d_1->add, conv2d->add, add->flatten, flatten->dense');
    // A layer type dragged from the palette onto a layer goes after it.
    // (The drag's events, dispatched: Playwright's own drag scrolls the palette under it here.)
    await page.evaluate(() => {
      const dt = new DataTransfer();
      document.querySelector('#ed-add-Dropout').dispatchEvent(new DragEvent('dragstart', { dataTransfer: dt, bubbles: true }));
      const target = document.querySelector('.ed-node[data-id="flatten"] rect');
      for (const type of ['dragover', 'drop']) target.dispatchEvent(new DragEvent(type, { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.waitForFunction(() => globalThis.__convlabEditor.spec.layers.some((l) => l.name === 'dropout'));
    const order = await page.evaluate(() => globalThis.__convlabEditor.spec.layers.map((l) => l.name));
    assert.deepEqual(order.slice(order.indexOf('flatten'), order.indexOf('flatten') + 3), ['flatten', 'dropout', 'dense']);
    // The keyboard way to connect: the inspector's "Reads".
    await page.click('.ed-node[data-id="add"]');
    assert.equal(await page.inputValue('#ed-f-inputs'), 'conv2d_1, conv2d');
    await page.fill('#ed-f-inputs', 'conv2d, nowhere');
    await page.press('#ed-f-inputs', 'Enter');
    assert.match(await page.textContent('#ed-insp-problem'), /No layer named nowhere/);
    await page.fill('#ed-f-inputs', 'conv2d, conv2d_1');
    await page.press('#ed-f-inputs', 'Enter');
    await page.waitForFunction(() => globalThis.__convlabEditor.spec.layers.find((l) => l.name === 'add').inputs.join() === 'conv2d,conv2d_1');
    await page.click('#ed-undo');
    await page.waitForFunction(() => globalThis.__convlabEditor.spec.layers.find((l) => l.name === 'add').inputs.join() === 'conv2d_1,conv2d');
    await page.click('#ed-undo');
    await page.waitForFunction(() => !globalThis.__convlabEditor.spec.layers.some((l) => l.name === 'dropout'));
    // Undo and redo.
    await settled(page);
    const steps = await page.evaluate(() => globalThis.__convlabEditor.timeline.length);
    await page.click('#ed-undo');
    await page.waitForFunction(() => !globalThis.__convlabEditor.spec.layers.find((l) => l.name === 'add').inputs?.includes('conv2d'));
    await page.keyboard.press('Control+Shift+Z');
    await page.waitForFunction(() => globalThis.__convlabEditor.spec.layers.find((l) => l.name === 'add').inputs?.includes('conv2d'));
    assert.equal(await page.evaluate(() => globalThis.__convlabEditor.timeline.length), steps);
    // Back and forward: the same steps.
    await page.goBack();
    await page.waitForFunction(() => !globalThis.__convlabEditor.spec.layers.find((l) => l.name === 'add').inputs?.includes('conv2d'));
    await page.goBack();
    await page.waitForFunction(() => !globalThis.__convlabEditor.spec.layers.some((l) => l.name === 'conv2d'));
    await page.goForward();
    await page.waitForFunction(() => globalThis.__convlabEditor.spec.layers.some((l) => l.name === 'conv2d'));
    await page.keyboard.press('Control+y');
    await page.waitForFunction(() => globalThis.__convlabEditor.spec.layers.find((l) => l.name === 'add').inputs?.includes('conv2d'));
    // The two undone steps (the dropout, the inputs typed) are still ahead, then nothing.
    await page.keyboard.press('Control+y');
    await page.waitForFunction(() => globalThis.__convlabEditor.spec.layers.some((l) => l.name === 'dropout'));
    await page.keyboard.press('Control+y');
    await page.waitForFunction(() => globalThis.__convlabEditor.spec.layers.find((l) => l.name === 'add').inputs.join() === 'conv2d,conv2d_1');
    assert.equal(await page.$eval('#ed-redo', (b) => b.disabled), true);
    assert.deepEqual(errors, []);
  });
});

test('a block instance expands in place and collapses; editing inside unpacks only that instance', async () => {
  await withBrowser(async (context) => {
    const { page, errors } = await openBuild(context);
    await openZoo(page, 'resnet34');
    const collapsed = await rowIds(page);
    assert.ok(collapsed.includes('res2') && !collapsed.includes('res2_1/conv1'));
    await page.click('.ed-node[data-id="res3"]');
    assert.equal(await page.inputValue('#ed-f-repeat'), '3');
    await page.fill('#ed-f-repeat', 'many');
    assert.match(await page.getAttribute('.ed-node[data-id="res3"]', 'class'), /ed-invalid/, 'the message names the entry by position');
    assert.equal(await page.getAttribute('#ed-f-repeat', 'aria-invalid'), 'true');
    await page.fill('#ed-f-repeat', '3');
    assert.equal(await params(page), '21814696');
    await page.click('.ed-node[data-id="res2"]');
    assert.match(await page.textContent('.ed-inspector'), /repeat/);
    await page.keyboard.press('Enter');
    await page.waitForSelector('.ed-group[data-group="res2"]');
    await laidOut(page);
    const open = await rowIds(page);
    assert.ok(open.includes('res2_1/conv1') && open.includes('res2_3/add') && !open.includes('res2'));
    assert.equal(await params(page), '21814696', 'expanding changes nothing');
    const spec = await page.evaluate(() => globalThis.__convlabEditor.spec);
    assert.equal(spec.layers.find((l) => l.name === 'res2').block, 'unit', 'still a block instance in the spec');
    // Editing a layer inside unpacks res2 (all three copies); res3 stays a block.
    await page.click('.ed-node[data-id="res2_2/conv1"]');
    assert.match(await page.textContent('.ed-inspector'), /unpacks res2/);
    await page.fill('#ed-f-filters', '32');
    await page.waitForFunction(() => globalThis.__convlabEditor.spec.layers.some((l) => l.name === 'res2_2.conv1'));
    const after = await page.evaluate(() => globalThis.__convlabEditor.spec);
    assert.equal(after.layers.find((l) => l.name === 'res2_2.conv1').config.filters, 32);
    assert.ok(!after.layers.some((l) => l.name === 'res2'));
    assert.equal(after.layers.find((l) => l.name === 'res3').block, 'unit');
    // 3x3x64x32 + 3x3x32x64 instead of 3x3x64x64 twice; BN of 32 channels (4 x 32 instead of 4 x 64).
    assert.equal(await params(page), String(21814696 - 2 * 36864 + 2 * 18432 - 128));
    await page.click('#ed-undo');
    await page.waitForFunction(() => globalThis.__convlabEditor.spec.layers.some((l) => l.name === 'res2'));
    assert.equal(await params(page), '21814696');
    await page.click('.ed-group[data-group="res2"] .ed-group-label');
    await page.waitForFunction(() => !document.querySelector('.ed-group[data-group="res2"]'));
    assert.deepEqual(await rowIds(page), collapsed);
    assert.deepEqual(errors, []);
  });
});

test('copy link opens the same model in a new page; a reload brings the work back', async () => {
  await withBrowser(async (context) => {
    const { page, errors } = await openBuild(context);
    await openZoo(page, 'lenet5_modern');
    const conv = await page.evaluate(() => globalThis.__convlabEditor.spec.layers.find((l) => l.class_name === 'Conv2D').name);
    await page.click(`.ed-node[data-id="${conv}"]`);
    const field = page.locator('#ed-f-filters');
    await field.fill('8');
    await page.click('#ed-copy-link');
    const link = await page.inputValue('#ed-link');
    assert.match(link, /#model=1\.[A-Za-z0-9_-]+&train=[A-Za-z0-9_-]+$/, 'the training panel\'s settings ride along');
    const train = JSON.parse(Buffer.from(new URL(link).hash.split('&train=')[1], 'base64url').toString());
    assert.equal(train.batchSize, await page.evaluate(() => Number(document.getElementById('tp-batch').value)));
    assert.equal(new URL(page.url()).hash, new URL(link).hash, 'the address bar has it too');
    const summary = await page.textContent('#ed-summary');
    const totals = await page.textContent('#ed-totals');
    await settled(page);
    const fresh = await withBrowser(async (other) => {
      const { page: p2, errors: e2 } = await open(other, link);
      await p2.waitForSelector('#view-build[data-ready="true"]', { timeout: 120_000 });
      const r = { summary: await p2.textContent('#ed-summary'), totals: await p2.textContent('#ed-totals'), asked: await p2.isVisible('#ed-choice'), errors: e2 };
      return r;
    });
    assert.equal(fresh.summary, summary);
    assert.equal(fresh.totals, totals);
    assert.equal(fresh.asked, false, 'no kept work there: nothing to ask');
    assert.deepEqual(fresh.errors, []);
    await page.reload();
    await page.waitForSelector('#view-build[data-ready="true"]', { timeout: 120_000 });
    assert.equal(await page.textContent('#ed-totals'), totals, 'the work is back after a reload');
    assert.equal(await page.isVisible('#ed-choice'), false, 'the link is the kept work: nothing to ask');
    await page.click('#ed-undo');
    await page.waitForFunction((t) => document.querySelector('#ed-totals').textContent !== t, totals);
    assert.deepEqual(errors, []);
  });
});

test('a link meeting kept work asks: beside keeps both, replace is undoable, quota errors are reported', async () => {
  await withBrowser(async (context) => {
    const { page, errors } = await openBuild(context);
    await openZoo(page, 'alexnet');
    await settled(page);
    const linkOf = (name) => page.evaluate((n) => { const m = convlab.Model.fromSpec(convlab.zoo.spec(n)); const u = m.toUrl(); m.free(); return u; }, name);
    const lenetLink = await linkOf('lenet5');
    const { page: p2, errors: e2 } = await openBuild(context, lenetLink);
    assert.equal(await p2.isVisible('#ed-choice'), true);
    assert.match(await p2.textContent('#ed-choice-text'), /lenet5.*alexnet/s);
    assert.equal(await p2.evaluate(() => globalThis.__convlabEditor.spec.name), 'alexnet', 'nothing replaced before the answer');
    await p2.click('#ed-choice-beside');
    await p2.waitForFunction(() => globalThis.__convlabEditor.spec.name === 'lenet5');
    await settled(p2);
    assert.equal(await params(p2), '60840');
    const listed = await p2.$$eval('#ed-saved-list li', (li) => li.map((x) => x.textContent));
    assert.equal(listed.length, 2);
    assert.ok(listed.some((t) => /^alexnet/.test(t)) && listed.some((t) => /^lenet5 \(open now\)/.test(t)), listed.join(' | '));
    // Replace: the link's model becomes a step of the current work.
    const vggLink = await linkOf('googlenet');
    const { page: p3, errors: e3 } = await openBuild(context, vggLink);
    assert.equal(await p3.isVisible('#ed-choice'), true);
    await p3.click('#ed-choice-replace');
    await p3.waitForFunction(() => globalThis.__convlabEditor.spec.name === 'googlenet');
    assert.equal(await params(p3), '6998552');
    await p3.click('#ed-undo');
    await p3.waitForFunction(() => globalThis.__convlabEditor.spec.name === 'lenet5');
    // The old work can be opened again from the list.
    await settled(p3);
    await p3.click('#ed-saved-list li:has-text("alexnet") button:has-text("Open")');
    await p3.waitForFunction(() => globalThis.__convlabEditor.spec.name === 'alexnet');
    // A full quota is said, not swallowed.
    await p3.evaluate(() => {
      IDBObjectStore.prototype.put = function () { throw new DOMException('the quota has been exceeded', 'QuotaExceededError'); };
    });
    await p3.click('.ed-node >> nth=1');
    await p3.click('#ed-add-Dropout');
    await settled(p3);
    assert.match(await p3.textContent('#ed-save-note'), /Autosave failed: the browser's storage quota is full/);
    // A link pasted into the address bar of the open page asks the same question.
    await p3.evaluate((h) => { location.hash = h.slice(1); }, lenetLink);
    await p3.waitForSelector('#ed-choice:not([hidden])');
    await p3.click('#ed-choice-keep');
    assert.equal(await p3.evaluate(() => globalThis.__convlabEditor.spec.name), 'alexnet');
    assert.deepEqual([...errors, ...e2, ...e3], []);
  });
});

test('export and import: the JSON spec and the Keras code round-trip, Keras JSON and the chapter\'s Keras code import, bad files are named', async () => {
  await withBrowser(async (context) => {
    const { page, errors } = await openBuild(context);
    await openZoo(page, 'googlenet');
    await page.click('#ed-files summary');
    const [download] = await Promise.all([page.waitForEvent('download'), page.click('#ed-export-json')]);
    assert.equal(download.suggestedFilename(), 'googlenet.json');
    const text = await fs.readFile(await download.path(), 'utf8');
    const [keras] = await Promise.all([page.waitForEvent('download'), page.click('#ed-export-keras')]);
    const code = await fs.readFile(await keras.path(), 'utf8');
    assert.match(code, /import keras/);
    // The exported Keras code imports back as the same model.
    await openZoo(page, '');
    await page.setInputFiles('#ed-import-file', { name: 'googlenet.py', mimeType: 'text/x-python', buffer: Buffer.from(code) });
    await page.waitForFunction(() => globalThis.__convlabEditor.spec.name === 'googlenet');
    assert.equal(await params(page), '6998552');
    assert.match(await page.textContent('#ed-files-note'), /^Imported googlenet\.py \(Keras code\)/);
    await openZoo(page, '');
    await page.setInputFiles('#ed-import-file', { name: 'googlenet.json', mimeType: 'application/json', buffer: Buffer.from(text) });
    await page.waitForFunction(() => globalThis.__convlabEditor.spec.name === 'googlenet');
    assert.equal(await params(page), '6998552');
    await page.setInputFiles('#ed-import-file', { name: 'broken.json', mimeType: 'application/json', buffer: Buffer.from('{"format": "convlab-model", "version": 1, "input": {"shape": [8, 8, 1]}, "layers": [{"name": "c", "class_name": "Conv2D", "config": {"filters": 3, "kernel_size": 3, "filtres": 3}}]}') });
    await page.waitForFunction(() => /broken\.json/.test(document.querySelector('#ed-files-note').textContent));
    assert.match(await page.textContent('#ed-files-note'), /^broken\.json: layer 'c' \(Conv2D\): .*filtres/);
    assert.equal(await params(page), '6998552', 'nothing changed');
    await page.fill('#ed-import-text', '{not json');
    await page.click('#ed-import-paste');
    assert.match(await page.textContent('#ed-files-note'), /^the pasted text: not JSON/);
    await page.fill('#ed-import-text', 'import keras\nfor f in [8, 16]:\n    pass\n');
    await page.click('#ed-import-paste');
    assert.match(await page.textContent('#ed-files-note'), /^the pasted text: Keras code: line 2: `for` is not supported/);
    assert.equal(await params(page), '6998552', 'nothing changed');
    // The chapter's code for its Fashion-MNIST CNN, pasted as the book prints it.
    await page.fill('#ed-import-text', await fs.readFile(new URL('../golden/keras_code/chapter_fashion.py', import.meta.url), 'utf8'));
    await page.click('#ed-import-paste');
    await page.waitForFunction(() => /Keras code/.test(document.querySelector('#ed-files-note').textContent));
    assert.equal(await params(page), '1413834');
    const kerasJson = JSON.stringify({ class_name: 'Sequential', config: { name: 'seq', layers: [
      { class_name: 'InputLayer', config: { batch_shape: [null, 28, 28, 1], name: 'in' } },
      { class_name: 'Conv2D', config: { name: 'c1', filters: 8, kernel_size: [3, 3], padding: 'valid', activation: 'relu' } },
      { class_name: 'Flatten', config: { name: 'f' } },
      { class_name: 'Dense', config: { name: 'd', units: 10, activation: 'softmax' } }] } });
    await page.fill('#ed-import-text', kerasJson);
    await page.click('#ed-import-paste');
    await page.waitForFunction(() => /Keras/.test(document.querySelector('#ed-files-note').textContent));
    assert.equal(await params(page), String(80 + 26 * 26 * 8 * 10 + 10));
    assert.deepEqual(errors, []);
  });
});

test('the keyboard alone opens a model, moves through layers, adds, duplicates, deletes, undoes and zooms', async () => {
  await withBrowser(async (context) => {
    const { page, errors } = await openBuild(context);
    await page.focus('#ed-zoo');
    await page.selectOption('#ed-zoo', 'fashion_mnist_cnn');
    await page.keyboard.press('Tab');
    assert.equal(await page.evaluate(() => document.activeElement.id), 'ed-open');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => globalThis.__convlabEditor.spec.name === 'fashion_mnist_cnn');
    await laidOut(page);
    await page.focus('.ed-svg');
    const view = () => page.evaluate(() => ({ ...globalThis.__convlabEditor.view.t }));
    const t0 = await view();
    await page.keyboard.press('ArrowDown');
    const t1 = await view();
    assert.equal(t1.y, t0.y - 60, 'arrows pan');
    assert.notEqual(await page.$eval('.ed-stage', (s) => s.style.transform), '', 'by moving the drawn layer');
    await page.keyboard.press('+');
    assert.ok(Math.abs((await view()).k - t1.k * 1.25) < 1e-9, '+ zooms in');
    await page.keyboard.press('-');
    assert.ok(Math.abs((await view()).k - t1.k) < 1e-9, '- zooms out');
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.id), 'input');
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowDown');
    assert.equal(await page.evaluate(() => document.activeElement.dataset.id), 'pool1');
    await page.keyboard.press('Control+d');
    await page.waitForFunction(() => globalThis.__convlabEditor.spec.layers.some((l) => l.name === 'pool1_1'));
    assert.equal(await page.$eval('.ed', (e) => e.dataset.valid), 'true');
    await page.keyboard.press('Control+z');
    await page.waitForFunction(() => !globalThis.__convlabEditor.spec.layers.some((l) => l.name === 'pool1_1'));
    await page.focus('.ed-node[data-id="pool1"]');
    await page.keyboard.press('Delete');
    await page.waitForFunction(() => !globalThis.__convlabEditor.spec.layers.some((l) => l.name === 'pool1'));
    assert.equal(await page.evaluate(() => document.activeElement.dataset.id), 'conv1', 'the selection moves to the layer before');
    // A palette button from the keyboard adds after the selection.
    await page.focus('#ed-add-BatchNormalization');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => globalThis.__convlabEditor.spec.layers[1]?.class_name === 'BatchNormalization');
    await page.keyboard.press('?');
    assert.equal(await page.isVisible('#ed-shortcuts'), true);
    await page.keyboard.press('Escape');
    assert.equal(await page.isVisible('#ed-shortcuts'), false);
    assert.deepEqual(errors, []);
  });
});

test('damaged kept work is named, not fatal: the editor starts blank and lists it', async () => {
  await withBrowser(async (context) => {
    const { page, errors } = await openBuild(context);
    await settled(page);
    await page.evaluate(() => new Promise((resolve, reject) => {
      const r = indexedDB.open('convlab-editor', 1);
      r.onsuccess = () => {
        const tx = r.result.transaction(['works', 'meta'], 'readwrite');
        tx.objectStore('works').put({ id: 'bad', name: 'damaged', savedAt: Date.now(), spec: null, timeline: ['{"seq": "x"}'], cursor: 0 });
        tx.objectStore('meta').put('bad', 'current');
        tx.oncomplete = () => { r.result.close(); resolve(true); };
        tx.onerror = () => reject(tx.error);
      };
    }));
    await page.reload();
    await page.waitForSelector('#view-build[data-ready="true"]', { timeout: 120_000 });
    assert.match(await page.textContent('#ed-status'), /could not be opened \(its undo history is not in the form this editor writes\)/);
    assert.deepEqual(await rowIds(page), ['input']);
    await page.waitForSelector('#ed-saved-list li[data-work="bad"]');
    await page.click('#ed-saved-list li[data-work="bad"] button:has-text("Open")');
    // Opening reads IndexedDB first: wait for the status to say so (it raced under load).
    await page.waitForFunction(() => /damaged could not be opened/.test(document.getElementById('ed-status').textContent), null, { timeout: 30_000 });
    assert.deepEqual(errors, []);
  });
});
