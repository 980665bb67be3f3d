// The user's own images, augmentation previews and checkpoints, in the browser:
// convlab.data.fromImages decodes generated PNGs of two classes (a corrupt and an empty file are
// skipped and named, the rest kept) and a model trains on them in the worker; data.preview shows
// the images as they are and as augmented; a Trainer's checkpoint continues bit for bit (directly
// and through model.fit's `resume`); bad arguments are refused with messages that name them.
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

/** PNG blobs of `n` 20x16 pictures of a class: a bright bar on the left (0) or the right (1). */
const MAKE_PNGS = `async (k, n, seed) => {
  let s = seed >>> 0;
  const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const files = [];
  for (let i = 0; i < n; i++) {
    const canvas = new OffscreenCanvas(20, 16);
    const ctx = canvas.getContext('2d');
    const image = ctx.createImageData(20, 16);
    for (let p = 0; p < 20 * 16; p++) {
      const x = p % 20;
      const bright = (k === 0 ? x < 8 : x >= 12) ? 200 : 20;
      const v = Math.min(255, bright + Math.floor(rand() * 50));
      image.data.set([v, v, v, 255], 4 * p);
    }
    ctx.putImageData(image, 0, 0);
    const blob = await canvas.convertToBlob({ type: 'image/png' });
    files.push(new File([blob], 'class' + k + '-' + i + '.png', { type: 'image/png' }));
  }
  return files;
}`;

const SPEC = {
  format: 'convlab-model', version: 1, input: { shape: [8, 8, 1] },
  layers: [
    { class_name: 'Conv2D', config: { filters: 4, kernel_size: 3, padding: 'same', activation: 'relu' } },
    { class_name: 'BatchNormalization' },
    { class_name: 'MaxPool2D' },
    { class_name: 'Flatten' },
    { class_name: 'Dropout', config: { rate: 0.2 } },
    { class_name: 'Dense', config: { units: 2, activation: 'softmax' } },
  ],
};

async function ready(page) {
  await page.waitForFunction(() => globalThis.convlab !== undefined);
  await page.evaluate(() => globalThis.convlab.ready);
}

/** Runs `fn` in the page and returns the message it throws (or rejects with), else null. */
const CAUGHT = `async (fn) => { try { await fn(); return null; } catch (e) { return e.message; } }`;

test('fromImages keeps the good files, names the bad ones, and a model trains on them', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await ready(page);
  const out = await page.evaluate(async ({ makePngs, spec, caught }) => {
    const c = globalThis.convlab;
    const make = eval(makePngs);
    const catching = eval(caught);
    const left = await make(0, 24, 1);
    const right = await make(1, 24, 2);
    const corrupt = new File([new Uint8Array([0x89, 0x50, 0x4e, 0x47, 1, 2, 3, 4])], 'broken.png', { type: 'image/png' });
    const empty = new File([], 'empty.jpg', { type: 'image/jpeg' });
    const text = new Blob(['not an image at all'], { type: 'text/plain' });
    const data = await c.data.fromImages(
      [{ name: 'left', files: [...left.slice(0, 12), corrupt, ...left.slice(12)] }, { name: 'right', files: [empty, ...right, text] }],
      { height: 8, width: 8, channels: 1 });
    const model = c.Model.fromSpec(spec);
    const before = model.evaluate(data);
    const fit = await model.fit(data, { epochs: 6, batchSize: 8, optimizer: 'adam', learningRate: 0.02, seed: 1, maxShift: 1 });
    const after = model.evaluate(data);
    const colour = await c.data.fromImages(
      [{ name: 'a', files: left.slice(0, 3) }, { name: 'b', files: right.slice(0, 2) }],
      { height: 6, width: 10, channels: 3, mean: 0.5, std: 0.25 });
    // The IDX bytes: grey is [n, h, w] (magic 0x803), colour [n, h, w, 3] (0x804).
    const magic = (/** @type {Uint8Array} */ b) => new DataView(b.buffer, b.byteOffset).getUint32(0);
    const bad = {
      oneClass: await catching(() => c.data.fromImages([{ name: 'a', files: left }], { height: 8, width: 8, channels: 1 })),
      channels: await catching(() => c.data.fromImages([{ name: 'a', files: left }, { name: 'b', files: right }], { height: 8, width: 8, channels: 2 })),
      height: await catching(() => c.data.fromImages([{ name: 'a', files: left }, { name: 'b', files: right }], { height: 0, width: 8, channels: 1 })),
      files: await catching(() => c.data.fromImages([{ name: 'a', files: ['x.png'] }, { name: 'b', files: right }], { height: 8, width: 8, channels: 1 })),
      unknown: await catching(() => c.data.fromImages([{ name: 'a', files: left }, { name: 'b', files: right }], { height: 8, width: 8, channels: 1, size: 3 })),
      allBad: await catching(() => c.data.fromImages([{ name: 'a', files: left }, { name: 'only junk', files: [corrupt] }], { height: 8, width: 8, channels: 1 })),
    };
    const idx = {
      magic: await catching(() => c.data.fromIdx(new Uint8Array([0, 0, 9, 3, 0, 0, 0, 1]), data.labels, { imagesName: 'mine.idx' })),
      truncated: await catching(() => c.data.fromIdx(data.images.slice(0, 40), data.labels, { imagesName: 'cut-images.idx' })),
      counts: await catching(() => {
        const twelve = data.labels.slice(0, 20);
        new DataView(twelve.buffer).setUint32(4, 12);
        return c.data.fromIdx(data.images, twelve, { imagesName: 'i.idx', labelsName: 'short-labels.idx', classes: 2 });
      }),
    };
    return {
      length: data.length, shape: data.imageShape, classNames: data.classNames, counts: data.counts, skipped: data.skipped,
      options: data.options, before: before.accuracy, after: after.accuracy, epochs: fit.history.length,
      colour: { shape: colour.imageShape, length: colour.length, magic: magic(colour.images), grey: magic(data.images), options: colour.options },
      bad, idx,
    };
  }, { makePngs: MAKE_PNGS, spec: SPEC, caught: CAUGHT });
  console.log(`fromImages: ${out.length} images kept, ${out.skipped.length} skipped; accuracy ${out.before.toFixed(2)} -> ${out.after.toFixed(2)}`);
  assert.equal(out.length, 48);
  assert.deepEqual(Array.from(out.shape), [8, 8, 1]);
  assert.deepEqual(out.classNames, ['left', 'right']);
  assert.deepEqual(out.counts, [24, 24]);
  assert.deepEqual(out.skipped.map((s) => s.file), ['broken.png', 'empty.jpg', 'right #26']);
  assert.match(out.skipped[0].reason, /broken\.png.*"left".*not an image/);
  assert.match(out.skipped[1].reason, /empty\.jpg.*empty/);
  assert.ok(out.options.mean > 0.2 && out.options.mean < 0.6 && out.options.std > 0.1, JSON.stringify(out.options));
  assert.equal(out.epochs, 6);
  assert.ok(out.after >= 0.9 && out.after > out.before, `accuracy ${out.before} -> ${out.after}`);
  assert.deepEqual(Array.from(out.colour.shape), [6, 10, 3]);
  assert.equal(out.colour.length, 5);
  assert.equal(out.colour.magic, 0x804);
  assert.equal(out.colour.grey, 0x803);
  assert.equal(out.colour.options.mean, 0.5);
  assert.match(out.bad.oneClass, /'classes'.*2 to 256/);
  assert.match(out.bad.channels, /'channels'.*1 or 3.*2/);
  assert.match(out.bad.height, /'height'/);
  assert.match(out.bad.files, /"a".*File or Blob/);
  assert.match(out.bad.unknown, /unknown option "size"/);
  assert.match(out.bad.allBad, /"only junk" has no usable images.*broken\.png/);
  assert.match(out.idx.magic, /mine\.idx.*not an IDX file/);
  assert.match(out.idx.truncated, /cut-images\.idx.*truncated/);
  assert.match(out.idx.counts, /short-labels\.idx.*has 12 labels but i\.idx has 48 images/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('preview shows the images as they are, and augmented ones differ', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await ready(page);
  const out = await page.evaluate(async ({ makePngs, caught }) => {
    const c = globalThis.convlab;
    const catching = eval(caught);
    const files = await eval(makePngs)(0, 6, 3);
    const data = await c.data.fromImages([{ name: 'a', files: files.slice(0, 3) }, { name: 'b', files: files.slice(3) }],
      { height: 8, width: 8, channels: 1 });
    const plain = await c.data.preview(data, { count: 4 });
    const pixels = Array.from(data.images.subarray(16, 16 + 4 * 64), (v) => v / 255);
    const worst = Math.max(...pixels.map((v, i) => Math.abs(v - plain.data[i])));
    const augment = { rotation: 30, zoom: 0.2, maxShift: 1, flip: true, contrast: 0.3, brightness: 0.2 };
    const a = await c.data.preview(data, { augment, seed: 7, count: 4 });
    const again = await c.data.preview(data, { augment, seed: 7, count: 4 });
    const other = await c.data.preview(data, { augment, seed: 8, count: 4 });
    const differs = (x, y) => x.data.some((v, i) => v !== y.data[i]);
    const inRange = a.data.every((v) => v >= 0 && v <= 1);
    const bad = {
      rotation: await catching(() => c.data.preview(data, { augment: { rotation: 500 } })),
      zoom: await catching(() => c.data.preview(data, { augment: { zoom: 1 } })),
      flip: await catching(() => c.data.preview(data, { augment: { flip: 'yes' } })),
      key: await catching(() => c.data.preview(data, { augment: { rotate: 5 } })),
      count: await catching(() => c.data.preview(data, { count: 7 })),
      option: await catching(() => c.data.preview(data, { seeds: 1 })),
      dataset: await catching(() => c.data.preview({}, {})),
    };
    return { shape: plain.shape, worst, shapeA: a.shape, changed: differs(plain, a), seeded: !differs(a, again),
      otherSeed: differs(a, other), inRange, bad };
  }, { makePngs: MAKE_PNGS, caught: CAUGHT });
  assert.deepEqual(out.shape, [4, 8, 8, 1]);
  assert.ok(out.worst < 1e-5, `the plain preview is the pixels (off by ${out.worst})`);
  assert.deepEqual(out.shapeA, [4, 8, 8, 1]);
  assert.ok(out.changed && out.seeded && out.otherSeed && out.inRange, JSON.stringify(out));
  assert.match(out.bad.rotation, /Dataset\.preview: argument 'rotation': must be 0 to 180/);
  assert.match(out.bad.zoom, /'zoom'/);
  assert.match(out.bad.flip, /'flip': expected true or false/);
  assert.match(out.bad.key, /unknown option "rotate"/);
  assert.match(out.bad.count, /'count'.*0\.\.7.*6 images/);
  assert.match(out.bad.option, /unknown option "seeds"/);
  assert.match(out.bad.dataset, /'dataset'/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('a checkpoint continues a run bit for bit, in a Trainer and through fit', async () => {
  const { page, errors } = await open(browser.context, server.url);
  await ready(page);
  const out = await page.evaluate(async ({ makePngs, spec, caught }) => {
    const c = globalThis.convlab;
    const catching = eval(caught);
    const core = await import(new URL('convlab.js', document.baseURI).href);
    const make = eval(makePngs);
    const data = await c.data.fromImages([{ name: 'l', files: await make(0, 20, 4) }, { name: 'r', files: await make(1, 20, 5) }],
      { height: 8, width: 8, channels: 1 });
    const options = { epochs: 3, batchSize: 8, optimizer: 'nadam', learningRate: 0.01, schedule: 'cosine', seed: 11,
      maxShift: 1, flip: true, rotation: 10, zoom: 0.1, contrast: 0.1, brightness: 0.1 };
    const model = c.Model.fromSpec(spec);
    const initial = model.saveWeights();
    const steps = (/** @type {any} */ t, n) => { let p; while (n > 0) { const s = t.runSteps(0).step; p = t.runSteps(n); n -= ((p.step || p.stepsPerEpoch) - s); if (p.done) break; } return p; };
    // Uninterrupted: 12 steps (an epoch is 5: it crosses two epoch ends).
    const whole = new core.Trainer(model, data.dataset, options);
    steps(whole, 12);
    // 7 steps, a checkpoint, then 5 more in fresh trainers: the resume option and restore().
    const first = new core.Trainer(model, data.dataset, options);
    steps(first, 7);
    const bytes = first.checkpoint();
    const other = c.Model.fromSpec(spec); // other initial weights: all must come from the file
    const resumed = new core.Trainer(other, data.dataset, { ...options, resume: bytes });
    const position = resumed.runSteps(0);
    steps(resumed, 5);
    const restored = new core.Trainer(other, data.dataset, options);
    restored.restore(bytes);
    steps(restored, 5);
    // Two safetensors files hold the same tensors, byte for byte (the JSON header's key order
    // may differ between two saves of the same weights, so whole files are not compared).
    const tensors = (/** @type {Uint8Array} */ file) => {
      const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
      const header = JSON.parse(new TextDecoder().decode(file.subarray(8, 8 + n)));
      delete header.__metadata__;
      return Object.fromEntries(Object.entries(header).map(([k, v]) =>
        [k, file.subarray(8 + n + v.data_offsets[0], 8 + n + v.data_offsets[1])]));
    };
    const same = (/** @type {Uint8Array} */ a, /** @type {Uint8Array} */ b) => {
      const [x, y] = [tensors(a), tensors(b)];
      return Object.keys(x).length === Object.keys(y).length && Object.keys(x).length > 0 &&
        Object.entries(x).every(([k, v]) => y[k] && v.length === y[k].length && v.every((e, i) => e === y[k][i]));
    };
    const wholeWeights = whole.saveWeights();
    const restoredWeights = restored.saveWeights();
    // Through the worker: fit with `resume` runs the remaining epochs of the run.
    const atEpoch = new core.Trainer(model, data.dataset, options);
    steps(atEpoch, 5);
    const full = new core.Trainer(model, data.dataset, options);
    steps(full, 15);
    const fitModel = c.Model.fromSpec(spec);
    const fit = await fitModel.fit(data, { ...options, resume: atEpoch.checkpoint() });
    const bad = {
      bytes: await catching(() => restored.restore(new Uint8Array([1, 2, 3]))),
      optimizer: await catching(() => new core.Trainer(model, data.dataset, { ...options, optimizer: 'adam', resume: bytes })),
      model: await catching(() => new core.Trainer(c.Model.fromSpec({ ...spec, layers: spec.layers.slice(2) }), data.dataset, { ...options, resume: bytes })),
      weights: await catching(() => restored.restore(initial)),
      resume: await catching(() => new core.Trainer(model, data.dataset, { ...options, resume: [1, 2] })),
      rotation: await catching(() => new core.Trainer(model, data.dataset, { rotation: 200 })),
      contrast: await catching(() => new core.Trainer(model, data.dataset, { contrast: 'high' })),
      unknown: await catching(() => new core.Trainer(model, data.dataset, { rotations: 2 })),
    };
    return {
      position: { epoch: position.epoch, step: position.step },
      resumed: same(wholeWeights, resumed.saveWeights()), restored: same(wholeWeights, restoredWeights),
      unchanged: same(restoredWeights, restored.saveWeights()),
      moved: !same(wholeWeights, first.saveWeights()),
      fit: same(full.saveWeights(), fitModel.saveWeights()), fitEpochs: fit.history.map((h) => h.epoch), bad,
    };
  }, { makePngs: MAKE_PNGS, spec: SPEC, caught: CAUGHT });
  assert.deepEqual(out.position, { epoch: 1, step: 2 });
  assert.ok(out.moved, 'the first part alone differs from the whole run');
  assert.ok(out.resumed, 'resume option: bit-identical to the uninterrupted run');
  assert.ok(out.restored, 'restore(): bit-identical to the uninterrupted run');
  assert.ok(out.unchanged, 'refused checkpoints left the trainer as it was');
  assert.ok(out.fit, 'fit with resume: bit-identical to the uninterrupted run');
  assert.equal(out.fitEpochs.at(-1), 3);
  assert.match(out.bad.bytes, /checkpoint: not a checkpoint file/);
  assert.match(out.bad.optimizer, /checkpoint: it was written with the optimizer .*Nadam.*Adam/);
  assert.match(out.bad.model, /checkpoint: it was written for a different model/);
  assert.match(out.bad.weights, /weights file, not a checkpoint/);
  assert.match(out.bad.resume, /'resume': expected a Uint8Array/);
  assert.match(out.bad.rotation, /Trainer: argument 'rotation': must be 0 to 180/);
  assert.match(out.bad.contrast, /'contrast': expected a finite number/);
  assert.match(out.bad.unknown, /unknown option "rotations"/);
  assert.deepEqual(errors, []);
  await page.close();
});
