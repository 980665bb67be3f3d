// The Classify view end to end: MobileNetV2 on an uploaded photo, the webcam live (Chromium's
// fake camera), freeze, the page's responsiveness while it runs, the drawing pad with a model
// trained here on MNIST, transfer learning (webcam frames against uploaded photos), the head's
// file and IndexedDB, and the messages for bad files and a refused camera.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { readFileSync } from 'node:fs';
import { serve, launch, open } from './harness.mjs';

const PHOTOS = path.resolve(import.meta.dirname, '../../www/assets/photos');
const FAKE_CAMERA = ['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'];

let server;
let browser;
before(async () => {
  server = await serve();
  browser = await launch({ webgpu: false, extraArgs: FAKE_CAMERA });
});
after(async () => {
  await browser?.close();
  await server?.close();
});

/** Opens the view and waits until MobileNetV2 is loaded in the worker. */
async function openView() {
  const opened = await open(browser.context, `${server.url}?view=classify`);
  await opened.page.waitForFunction(() => {
    const note = document.getElementById('cl-model-note');
    return note && (/MobileNetV2 with/.test(note.textContent) || note.classList.contains('error'));
  }, null, { timeout: 180_000 });
  assert.match(await opened.page.textContent('#cl-model-note'), /1000 classes, input 224x224x3\. Weights: torchvision .*trained on ImageNet/);
  return opened;
}

/** The top-5 list as [{label, probability}]. */
const topOf = (page, list = '#cl-top') => page.$$eval(`${list} li`, (items) => items.map((li) => ({
  label: li.querySelector('.cl-label').textContent, probability: Number(li.dataset.probability), text: li.textContent,
})));
const results = (page, list = '#cl-top') => page.$eval(list, (el) => Number(el.dataset.results ?? 0));

/** The longest gap between animation frames over `ms`. */
const frameGap = (page, ms) => page.evaluate((ms) => new Promise((resolve) => {
  let max = 0;
  let last = performance.now();
  const end = last + ms;
  const frame = (t) => { max = Math.max(max, t - last); last = t; if (t < end) requestAnimationFrame(frame); else resolve(max); };
  requestAnimationFrame(frame);
}), ms);

test('china.jpg through the file input: MobileNetV2 says palace (65-75%), with the preprocessing shown', async () => {
  const { page, errors } = await openView();
  await page.setInputFiles('#cl-file', path.join(PHOTOS, 'china.jpg'));
  await page.waitForFunction(() => Number(document.getElementById('cl-top').dataset.results ?? 0) >= 1, null, { timeout: 120_000 });
  const top = await topOf(page);
  assert.equal(top.length, 5);
  assert.equal(top[0].label, 'palace');
  assert.ok(top[0].probability >= 0.65 && top[0].probability <= 0.75, `palace at ${top[0].probability}`);
  assert.match(top[0].text, /palace\s*\d+\.\d%/, 'the list says the percentage in text');
  for (let i = 1; i < 5; i++) assert.ok(top[i].probability <= top[i - 1].probability);
  const steps = await page.$$eval('#cl-steps figcaption', (els) => els.map((e) => e.textContent));
  assert.deepEqual(steps.map((s) => s.split(/\d+x\d+|short|\//)[0].replace(/^\d+\. /, '').trim()), ['original', 'resize', 'centre crop', 'normalise']);
  assert.match(steps[1], /383x256/);
  assert.match(steps[2], /224x224/);
  assert.match(await page.textContent('#cl-timing'), /MobileNetV2.*\d+ ms per image on (the CPU path|WebGPU)/);
  assert.match(await page.textContent('#cl-announce'), /^china\.jpg: palace, 6\d\.\d%$/);
  // A sample button gives flower.jpg: a different answer, even after the worker was lost
  // (the view loads MobileNetV2 into a fresh one and tries again).
  await page.evaluate(async () => (await import('./js/infer.js')).terminate());
  await page.click('[data-sample="flower.jpg"]');
  await page.waitForFunction(() => Number(document.getElementById('cl-top').dataset.results) >= 2, null, { timeout: 120_000 });
  assert.notEqual((await topOf(page))[0].label, 'palace');
  assert.equal(await page.isHidden('#cl-message'), true);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a file that is not an image, or does not decode, gets a message naming it; the last result stays', async () => {
  const { page, errors } = await openView();
  await page.setInputFiles('#cl-file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('hello') });
  await page.waitForSelector('#cl-message:not([hidden])');
  assert.match(await page.textContent('#cl-message'), /notes\.txt is not an image \(its type is text\/plain\)/);
  await page.setInputFiles('#cl-file', { name: 'broken.jpg', mimeType: 'image/jpeg', buffer: Buffer.from('not really a jpeg') });
  await page.waitForFunction(() => /broken\.jpg/.test(document.getElementById('cl-message').textContent));
  assert.match(await page.textContent('#cl-message'), /broken\.jpg could not be decoded as an image/);
  // A weights file that is not one.
  await page.setInputFiles('#cl-weights', { name: 'model.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from('0123456789abcdef') });
  await page.waitForFunction(() => /model\.safetensors/.test(document.getElementById('cl-model-note').textContent));
  assert.match(await page.textContent('#cl-model-note'), /model\.safetensors could not be used: it is not a safetensors file/);
  assert.equal(await page.inputValue('#cl-model'), 'mobilenet');
  // Paste and drop reach the view too.
  const give = (event) => page.evaluate(async (event) => {
    const blob = await (await fetch('./assets/photos/china.jpg')).blob();
    const data = new DataTransfer();
    data.items.add(new File([blob], 'pasted-china.jpg', { type: 'image/jpeg' }));
    const target = event === 'drop' ? document.getElementById('cl-drop') : document;
    target.dispatchEvent(event === 'drop'
      ? new DragEvent('drop', { dataTransfer: data, bubbles: true, cancelable: true })
      : new ClipboardEvent('paste', { clipboardData: data, bubbles: true, cancelable: true }));
  }, event);
  await give('paste');
  await page.waitForFunction(() => Number(document.getElementById('cl-top').dataset.results ?? 0) >= 1, null, { timeout: 120_000 });
  assert.equal((await topOf(page))[0].label, 'palace');
  assert.equal(await page.getAttribute('#cl-still', 'aria-label'), 'The image being classified: pasted-china.jpg');
  await give('drop');
  await page.waitForFunction(() => Number(document.getElementById('cl-top').dataset.results) >= 2, null, { timeout: 120_000 });
  assert.equal((await topOf(page))[0].label, 'palace');
  assert.deepEqual(errors, []);
  await page.close();
});

test('missing MobileNetV2 weights are named, with what to do', async () => {
  const page = await browser.context.newPage();
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error' && !/404/.test(m.text())) errors.push(m.text()); });
  await page.route('**/mobilenet_v2.safetensors', (route) => route.fulfill({ status: 404, body: 'not here' }));
  await page.goto(`${server.url}?view=classify`);
  await page.waitForSelector('#cl-model-note.error', { timeout: 120_000 });
  assert.match(await page.textContent('#cl-model-note'), /MobileNetV2's pretrained weights are not on this site, so it cannot classify: .*mobilenet_v2\.safetensors.*fetch-pretrained\.sh/);
  await page.setInputFiles('#cl-file', path.join(PHOTOS, 'china.jpg'));
  await page.waitForSelector('#cl-message:not([hidden])', { timeout: 60_000 });
  assert.match(await page.textContent('#cl-message'), /china\.jpg could not be classified: .*mobilenet_v2\.safetensors/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the webcam: live results with their rate, Freeze stops them, the page stays responsive, Stop and leaving the view end the camera', async () => {
  const { page, errors } = await openView();
  await page.click('#cl-cam-start');
  await page.waitForFunction(() => Number(document.getElementById('cl-top').dataset.results ?? 0) >= 3, null, { timeout: 120_000 });
  const gap = await frameGap(page, 3000);
  assert.ok(gap < 150, `the page's frames stay under 150 ms apart while live (longest ${gap.toFixed(0)} ms)`);
  const rate = Number(await page.getAttribute('#cl-rate', 'data-rate'));
  assert.ok(rate > 0.3, `rate ${rate}`);
  assert.match(await page.textContent('#cl-rate'), /Live: \d+\.\d results per second/);
  assert.equal((await topOf(page)).length, 5);
  assert.match(await page.textContent('#cl-steps'), /640x480 camera frame, scaled by the browser to 341x256/);
  const cameras = await page.$$eval('#cl-camera option', (o) => o.map((x) => x.textContent));
  assert.ok(cameras.some((c) => /fake/i.test(c)), `the device picker lists the camera: ${cameras}`);
  // Freeze, by keyboard: no more updates.
  await page.focus('#cl-freeze');
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('#cl-freeze', 'aria-pressed'), 'true');
  await page.waitForTimeout(1500); // a call in flight when frozen is dropped
  const frozenAt = await results(page);
  await page.waitForTimeout(2500);
  assert.equal(await results(page), frozenAt, 'no result while frozen');
  await page.keyboard.press('Enter');
  assert.equal(await page.getAttribute('#cl-freeze', 'aria-pressed'), 'false');
  await page.waitForFunction((n) => Number(document.getElementById('cl-top').dataset.results) > n, frozenAt, { timeout: 60_000 });
  await page.click('#cl-cam-stop');
  assert.equal(await page.evaluate(() => document.getElementById('cl-video').srcObject), null);
  assert.equal(await page.isHidden('#cl-video'), true);
  // Leaving the view stops it too.
  await page.click('#cl-cam-start');
  await page.waitForFunction(() => document.getElementById('cl-video').srcObject !== null);
  const track = await page.evaluateHandle(() => document.getElementById('cl-video').srcObject.getVideoTracks()[0]);
  await page.click('#tab-view-lesson');
  assert.equal(await track.evaluate((t) => t.readyState), 'ended');
  assert.deepEqual(errors, []);
  await page.close();
});

for (const [name, message] of [['NotAllowedError', /Camera permission was denied: allow the camera/], ['NotFoundError', /No camera was found: connect one, or classify a file/]]) {
  test(`a camera that fails with ${name} gets a message saying what to do`, async () => {
    const page = await browser.context.newPage();
    const errors = [];
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
    await page.addInitScript((name) => {
      navigator.mediaDevices.getUserMedia = () => Promise.reject(new DOMException('no', name));
    }, name);
    await page.goto(`${server.url}?view=classify`);
    await page.click('#cl-cam-start');
    await page.waitForSelector('#cl-message:not([hidden])');
    assert.match(await page.textContent('#cl-message'), message);
    assert.equal(await page.isEnabled('#cl-cam-start'), true);
    assert.equal(await page.isEnabled('#cl-freeze'), false);
    assert.deepEqual(errors, []);
    await page.close();
  });
}

test('the drawing pad: no digit model offers the Train view; with an MNIST model trained here, a drawn 1 and 0 are read', async () => {
  const { page, errors } = await openView();
  await page.waitForFunction(() => /No digit or clothing model/.test(document.getElementById('cl-pad-note').textContent));
  assert.equal(await page.isVisible('#cl-pad-train'), true);
  // A small CNN trained on 4,000 MNIST digits for two epochs, published as the shared model.
  await page.evaluate(async () => {
    const c = globalThis.convlab;
    await c.ready;
    const { SMALL_CNN } = await import('./js/train-settings.js');
    const { firstIdx } = await import('./js/idx-split.js');
    const store = await import('./js/store.js');
    const d = await c.data.load('mnist');
    const first = firstIdx(d.train.images, d.train.labels, 4000);
    const train = c.data.fromIdx(first.images, first.labels, d.train.options);
    const model = c.Model.fromSpec(SMALL_CNN);
    await model.fit(train, { epochs: 2, batchSize: 32, optimizer: 'adam', learningRate: 3e-3, seed: 1 });
    store.update({ model: { spec: model.spec(), name: 'digits', weights: model.saveWeights(), classNames: d.classNames, origin: 'trained' } });
  });
  await page.waitForFunction(() => /Classified by your trained model/.test(document.getElementById('cl-pad-note').textContent), null, { timeout: 60_000 });
  assert.equal(await page.isVisible('#cl-pad-train'), false);
  const box = await page.locator('#cl-pad').boundingBox();
  const stroke = async (points) => {
    await page.mouse.move(box.x + points[0][0] * box.width, box.y + points[0][1] * box.height);
    await page.mouse.down();
    for (const [x, y] of points.slice(1)) await page.mouse.move(box.x + x * box.width, box.y + y * box.height, { steps: 4 });
    await page.mouse.up();
  };
  const readPad = async (before) => {
    await page.waitForFunction((n) => Number(document.getElementById('cl-pad-top').dataset.results ?? 0) > n, before, { timeout: 60_000 });
    await page.waitForTimeout(1500); // the last stroke's call, if one was still waiting
    return topOf(page, '#cl-pad-top');
  };
  await stroke([[0.5, 0.15], [0.5, 0.85]]);
  const one = await readPad(0);
  assert.equal(one[0].label, '1', JSON.stringify(one));
  const steps = await page.$$eval('#cl-pad-steps figcaption', (els) => els.map((e) => e.textContent).join(' | '));
  assert.match(steps, /normalise/);
  assert.match(steps, /0\.1307/);
  // Clear by keyboard, then a 0.
  await page.focus('#cl-pad');
  await page.keyboard.press('Delete');
  assert.equal(await page.$$eval('#cl-pad-top li', (l) => l.length), 0);
  const count = await results(page, '#cl-pad-top');
  const ring = Array.from({ length: 25 }, (_, i) => [0.5 + 0.22 * Math.sin((i / 24) * 2 * Math.PI), 0.5 - 0.32 * Math.cos((i / 24) * 2 * Math.PI)]);
  await stroke(ring);
  const zero = await readPad(count);
  assert.equal(zero[0].label, '0', JSON.stringify(zero));
  assert.deepEqual(errors, []);
  await page.close();
});

test('a model the training panel keeps in IndexedDB is offered, with its data set\'s preprocessing', async () => {
  const { page, errors } = await openView();
  await page.evaluate(async () => {
    const c = globalThis.convlab;
    const { SMALL_CNN } = await import('./js/train-settings.js');
    const { saveRun } = await import('./js/persist.js');
    const model = c.Model.fromSpec(SMALL_CNN);
    await model.predict({ shape: [1, 28, 28, 1], data: new Float32Array(784) });
    await saveRun({ spec: model.spec(), weights: model.saveWeights(), settings: { data: 'fashion_mnist', epochs: 3 }, modelChoice: 'fashion_small',
      history: [], epoch: 2, status: 'stopped', test: null, savedAt: Date.now() });
  });
  await page.reload();
  await page.waitForFunction(() => document.querySelector('#cl-model option[value="trained"]')?.hidden === false, null, { timeout: 60_000 });
  assert.equal(await page.textContent('#cl-model option[value="trained"]'), 'Your trained model: fashion_small (kept in this browser, epoch 2)');
  await page.selectOption('#cl-model', 'trained');
  await page.waitForFunction(() => /Fashion-MNIST: its preprocessing/.test(document.getElementById('cl-model-note').textContent), null, { timeout: 60_000 });
  await page.setInputFiles('#cl-file', path.join(PHOTOS, 'flower.jpg'));
  await page.waitForFunction(() => Number(document.getElementById('cl-top').dataset.results ?? 0) >= 1, null, { timeout: 60_000 });
  const labels = (await topOf(page)).map((t) => t.label);
  assert.equal(labels.length, 5);
  const fashion = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];
  assert.ok(labels.every((l) => fashion.includes(l)), labels.join(', '));
  const steps = await page.$$eval('#cl-steps figcaption', (els) => els.map((e) => e.textContent).join(' | '));
  assert.match(steps, /minus 0\.286, over 0\.353/);
  await page.waitForFunction(() => /Classified by your trained model \(fashion_small\)/.test(document.getElementById('cl-pad-note').textContent));
  // The same weights as a file: its spec comes from the metadata, its data set is inferred.
  const bytes = await page.evaluate(async () => Array.from((await (await import('./js/persist.js')).loadRun()).weights));
  await page.evaluate(async () => (await import('./js/persist.js')).clearRun());
  await page.setInputFiles('#cl-weights', { name: 'small.safetensors', mimeType: 'application/octet-stream', buffer: Buffer.from(bytes) });
  await page.waitForFunction(() => /small\.safetensors \(fashion_small\): input 28x28x1, taken to be Fashion-MNIST/.test(document.getElementById('cl-model-note').textContent), null, { timeout: 60_000 });
  assert.equal(await page.inputValue('#cl-model'), 'file');
  await page.waitForFunction(() => Number(document.getElementById('cl-top').dataset.results) >= 2, null, { timeout: 60_000 });
  assert.deepEqual(errors, []);
  await page.close();
});

test('transfer learning: webcam frames against uploaded photos, trained in seconds, live on the webcam, kept across a reload, downloaded and loaded back', async () => {
  const { page, errors } = await openView();
  await page.waitForSelector('.cl-tl-capture');
  // Class 1: hold the capture button on the fake camera's frames.
  const capture = page.locator('.cl-tl-capture').first();
  await capture.hover();
  await page.mouse.down();
  await page.waitForFunction(() => Number(document.getElementById('cl-tl-classes').dataset.images) >= 6, null, { timeout: 60_000 });
  await page.mouse.up();
  await page.waitForTimeout(500);
  const burst = Number(await page.getAttribute('#cl-tl-classes', 'data-images'));
  await page.waitForTimeout(1000);
  assert.equal(Number(await page.getAttribute('#cl-tl-classes', 'data-images')), burst, 'the burst stops when the button is released');
  await page.click('#cl-cam-stop');
  // Class 2: two photos uploaded, and a text file that is skipped with its name.
  await page.locator('.cl-tl-upload').nth(1).setInputFiles([
    ...['china.jpg', 'flower.jpg'].map((name) => ({ name, mimeType: 'image/jpeg', buffer: readFileSync(path.join(PHOTOS, name)) })),
    { name: 'readme.txt', mimeType: 'text/plain', buffer: Buffer.from('x') },
  ]);
  await page.waitForSelector('#cl-tl-message:not([hidden])');
  assert.match(await page.textContent('#cl-tl-message'), /Skipped: readme\.txt is not an image/);
  await page.fill('#cl-tl-name-1', 'camera');
  await page.press('#cl-tl-name-1', 'Tab');
  await page.fill('#cl-tl-name-2', 'photo');
  await page.press('#cl-tl-name-2', 'Tab');
  const images = Number(await page.getAttribute('#cl-tl-classes', 'data-images'));
  const started = Date.now();
  await page.click('#cl-tl-train');
  await page.waitForFunction(() => document.getElementById('cl-tl-status').dataset.accuracy, null, { timeout: 180_000 });
  const status = await page.textContent('#cl-tl-status');
  assert.match(status, new RegExp(`Trained the head on ${images} images in \\d+\\.\\d+ s`));
  assert.equal(Number(await page.getAttribute('#cl-tl-status', 'data-accuracy')), 1);
  assert.ok(Date.now() - started < 120_000);
  assert.equal(await page.inputValue('#cl-model'), 'transfer');
  // The photos read as "photo", the webcam as "camera".
  await page.click('[data-sample="china.jpg"]');
  await page.waitForFunction(() => document.querySelector('#cl-top li .cl-label')?.textContent === 'photo'
    && /china/.test(document.getElementById('cl-still').getAttribute('aria-label')), null, { timeout: 60_000 });
  assert.ok((await topOf(page))[0].probability > 0.9);
  await page.click('#cl-cam-start');
  await page.waitForFunction(() => document.querySelector('#cl-top li .cl-label')?.textContent === 'camera', null, { timeout: 60_000 });
  const live = await topOf(page);
  assert.equal(live.length, 2, 'two classes, two rows');
  assert.ok(live[0].probability > 0.9, JSON.stringify(live));
  await page.click('#cl-cam-stop');
  // The head as a file: its class names travel in the metadata.
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#cl-tl-download')]);
  assert.equal(download.suggestedFilename(), 'transfer-head.safetensors');
  const file = await download.path();
  // A reload keeps the classes, their images and the head.
  await page.waitForFunction(() => document.getElementById('cl-tl-classes').dataset.saved);
  await page.reload();
  await page.waitForFunction(() => document.getElementById('cl-tl-classes')?.dataset.images !== undefined);
  assert.equal(Number(await page.getAttribute('#cl-tl-classes', 'data-images')), images);
  assert.deepEqual(await page.$$eval('.cl-tl-name', (i) => i.map((x) => x.value)), ['camera', 'photo']);
  assert.match(await page.textContent('#cl-tl-status'), /Kept in this browser: a head for camera, photo/);
  // Loaded back through the model picker's file input, the head classifies again.
  await page.setInputFiles('#cl-weights', file);
  await page.waitForFunction(() => /Loaded the head from/.test(document.getElementById('cl-tl-status').textContent), null, { timeout: 120_000 });
  assert.equal(await page.inputValue('#cl-model'), 'transfer');
  await page.click('[data-sample="flower.jpg"]');
  await page.waitForFunction(() => document.querySelector('#cl-top li .cl-label')?.textContent === 'photo', null, { timeout: 60_000 });
  // A third class, filled by holding Space on its capture button, then removed again.
  await page.click('#cl-tl-add');
  assert.equal(await page.$$eval('.cl-tl-class', (l) => l.length), 3);
  await page.focus('.cl-tl-class >> nth=2 >> .cl-tl-capture');
  await page.keyboard.down(' ');
  await page.waitForFunction(() => document.querySelectorAll('.cl-tl-class')[2].querySelectorAll('.cl-thumb').length >= 3, null, { timeout: 60_000 });
  await page.keyboard.up(' ');
  await page.waitForTimeout(500);
  const third = await page.$$eval('.cl-tl-class >> nth=2 >> .cl-thumb', (t) => t.length);
  await page.waitForTimeout(1000);
  assert.equal(await page.$$eval('.cl-tl-class >> nth=2 >> .cl-thumb', (t) => t.length), third, 'capture stops with the key');
  assert.match(await page.textContent('#cl-tl-train'), /the classes changed/);
  await page.click('.cl-tl-class >> nth=2 >> .cl-tl-remove');
  assert.equal(await page.$$eval('.cl-tl-class', (l) => l.length), 2);
  assert.equal(await page.textContent('#cl-tl-train'), 'Train the head');
  assert.equal(await page.isDisabled('.cl-tl-class >> nth=0 >> .cl-tl-remove'), true, 'two classes at least');
  await page.click('#cl-cam-stop');
  // Deleting a thumbnail removes that image.
  await page.click('.cl-tl-class >> nth=1 >> .cl-thumb >> nth=0');
  assert.equal(Number(await page.getAttribute('#cl-tl-classes', 'data-images')), images - 1);
  assert.deepEqual(errors, []);
  await page.close();
});

test('the head\'s training data: embeddings quantised within scale/510, bad input named, two clusters separated by the core\'s Trainer', async () => {
  const { page, errors } = await open(browser.context, `${server.url}?view=classify`);
  await page.waitForFunction(() => globalThis.convlab !== undefined);
  const r = await page.evaluate(async () => {
    const { featureIdx, headSpec } = await import('./js/transfer-handlers.js');
    const infer = await import('./js/infer.js');
    let seed = 7;
    const random = () => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648; };
    const n = 24;
    const dim = 64;
    const features = Float32Array.from({ length: n * dim }, () => 6 * random());
    const labels = Array.from({ length: n }, (_, i) => i % 3);
    const idx = featureIdx(features, labels, dim);
    let worst = 0;
    for (let i = 0; i < features.length; i++) worst = Math.max(worst, Math.abs(idx.images[16 + i] / 255 * idx.scale - features[i]));
    const problems = [];
    const catching = async (f) => { try { await f(); problems.push('no error'); } catch (e) { problems.push(e.message); } };
    await catching(() => featureIdx(Float32Array.of(1, NaN), [0], 2));
    await catching(() => featureIdx(new Float32Array(5), [0, 1], 2));
    await infer.use('./transfer-handlers.js');
    await catching(() => infer.call('trainHead', { headKey: 'h', features: new Float32Array(8), labels: [0, 0], classNames: ['a', 'b'] }));
    await catching(() => infer.call('trainHead', { headKey: 'h', features: new Float32Array(4), labels: [0], classNames: ['only'] }));
    // Two clusters: class 0 bright in the first half of the features, class 1 in the second.
    const m = 40;
    const clusters = new Float32Array(m * dim);
    const clusterLabels = [];
    for (let i = 0; i < m; i++) {
      const label = i % 2;
      clusterLabels.push(label);
      for (let j = 0; j < dim; j++) clusters[i * dim + j] = random() + ((j < dim / 2) === (label === 0) ? 1.5 : 0);
    }
    const trained = await infer.call('trainHead', { headKey: 'clusters', features: clusters, labels: clusterLabels, classNames: ['first', 'second'] });
    return { worst, scale: idx.scale, shape: headSpec(dim, 3).input.shape, problems, accuracy: trained.accuracy, steps: trained.steps, ms: trained.ms, bytes: trained.weights.length };
  });
  assert.ok(r.scale > 5.9 && r.scale <= 6);
  assert.ok(r.worst <= r.scale / 510 + 1e-6, `worst rounding ${r.worst}`);
  assert.deepEqual(r.shape, [1, 64, 1]);
  assert.match(r.problems[0], /not a finite number/);
  assert.match(r.problems[1], /5 feature values are not 2 embeddings of 2/);
  assert.match(r.problems[2], /class "b" has no images/);
  assert.match(r.problems[3], /at least two classes/);
  assert.equal(r.accuracy, 1);
  assert.ok(r.steps >= 199, `${r.steps} steps`);
  assert.ok(r.bytes > 64 * 2 * 4, 'the weights file holds the kernel');
  assert.deepEqual(errors, []);
  await page.close();
});
