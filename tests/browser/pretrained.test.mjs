// MobileNetV2 with its pretrained ImageNet weights in the page: preprocess.js makes Pillow's
// bytes (tests/golden/imagenet/, written by scripts/golden/imagenet_preprocess.py),
// convlab.pretrained.load + model.classify answer what numpy's forward pass of the .pth answers,
// on the CPU path and on WebGPU (SwiftShader), in the page and in the inference worker; bad
// inputs get messages. Also the 'mnist' recipe centres an off-centre drawn digit.
// Needs scripts/fetch-pretrained.sh to have run before the site was built.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { serve, launch, open } from './harness.mjs';

const golden = (name) => fs.readFileSync(new URL(`../golden/imagenet/${name}`, import.meta.url));
const reference = JSON.parse(golden('reference.json').toString()).photos;
const crops = { china: [...golden('china_224.u8')], flower: [...golden('flower_224.u8')] };

let server;
before(async () => {
  server = await serve();
});
after(async () => {
  await server?.close();
});

/** Opens the page in `browser` and waits for the core. */
async function page(browser) {
  const opened = await open(browser.context, server.url);
  await opened.page.waitForFunction(() => globalThis.convlab !== undefined);
  await opened.page.evaluate(() => globalThis.convlab.ready);
  return opened;
}

/** The top-5 of `got` match numpy's reference for `photo`. */
function matchesReference(got, photo, label) {
  assert.equal(got.length, 5, `${label}: five classes`);
  reference[photo].forEach((want, rank) => {
    assert.equal(got[rank].index, want.index, `${label}: rank ${rank}`);
    assert.equal(got[rank].label, want.label, `${label}: rank ${rank}`);
    assert.ok(Math.abs(got[rank].probability - want.probability) < 2e-4, `${label}: ${want.label} ${got[rank].probability} vs numpy ${want.probability}`);
  });
}

test('CPU path: preprocessing is Pillow\'s, china.jpg is a palace, the worker agrees, bad inputs get messages', { timeout: 300_000 }, async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page: p, errors } = await page(browser);
    const r = await p.evaluate(async (crops) => {
      const { prepare, IMAGENET_MEAN, IMAGENET_STD } = await import('./js/preprocess.js');
      const img = async (name) => { const i = new Image(); i.src = `assets/photos/${name}.jpg`; await i.decode(); return i; };
      const china = await img('china');
      const flower = await img('flower');
      // preprocess.js against Pillow: the crop's bytes and the normalised input.
      const pillow = {};
      for (const [name, image] of [['china', china], ['flower', flower]]) {
        const prepared = prepare(image, 'imagenet', [224, 224, 3]);
        const bytes = prepared.steps.find((s) => s.name === 'centre crop').canvas.getContext('2d').getImageData(0, 0, 224, 224).data;
        let [maxByte, maxInput] = [0, 0];
        for (let i = 0; i < 224 * 224; i++) {
          for (let c = 0; c < 3; c++) {
            const g = crops[name][3 * i + c];
            maxByte = Math.max(maxByte, Math.abs(bytes[4 * i + c] - g));
            maxInput = Math.max(maxInput, Math.abs(prepared.input.data[3 * i + c] - (g / 255 - IMAGENET_MEAN[c]) / IMAGENET_STD[c]));
          }
        }
        pillow[name] = { maxByte, maxInput, shape: prepared.input.shape, steps: prepared.steps.map((s) => s.name) };
      }
      // The same pixels as an ImageData and an ImageBitmap give the same input.
      const canvas = Object.assign(document.createElement('canvas'), { width: china.naturalWidth, height: china.naturalHeight });
      canvas.getContext('2d').drawImage(china, 0, 0);
      const base = prepare(china, 'imagenet', [224, 224, 3]).input.data;
      const same = (/** @type {any} */ src) => prepare(src, 'imagenet', [224, 224, 3]).input.data.every((v, i) => v === base[i]);
      const bitmap = await createImageBitmap(china);
      const sources = { imageData: same(canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height)), bitmap: same(bitmap), canvas: same(canvas) };

      const progress = [];
      const model = await convlab.pretrained.load('mobilenet_v2', { onProgress: (f) => progress.push(f) });
      const t0 = performance.now();
      const fromImage = await model.classify(china, { topK: 5, backend: 'cpu' });
      const ms = performance.now() - t0;
      const fromCanvas = await model.classify(canvas, { backend: 'cpu' });
      const three = await model.classify(china, { topK: 3, backend: 'cpu' });
      const flowerTop = await model.classify(flower, { backend: 'cpu' });

      const infer = await import('./js/infer.js');
      await infer.use('./classify-handlers.js');
      const loaded = await infer.call('loadPretrained', { key: 'mnv2', name: 'mobilenet_v2' });
      const input = prepare(china, 'imagenet', loaded.inputShape).input;
      const worker = await infer.call('classify', { key: 'mnv2', input, topK: 5, backend: 'cpu' });
      const embedding = await infer.call('embed', { key: 'mnv2', input, backend: 'cpu' });

      const problems = {};
      const attempt = async (name, fn) => { try { await fn(); problems[name] = 'no error'; } catch (e) { problems[name] = e.message; } };
      await attempt('empty canvas', () => model.classify(Object.assign(document.createElement('canvas'), { width: 0, height: 0 })));
      await attempt('string', () => model.classify('china.jpg'));
      await attempt('unknown model', () => convlab.pretrained.load('resnet_9000'));
      await attempt('topK 0', () => model.classify(china, { topK: 0 }));
      await attempt('topK 1001', () => model.classify(china, { topK: 1001, backend: 'cpu' }));
      await attempt('unknown option', () => model.classify(china, { top: 3 }));
      await attempt('worker unknown model', () => infer.call('loadPretrained', { key: 'x', name: 'nope' }));
      await attempt('worker bad input', () => infer.call('classify', { key: 'mnv2', input: 'china.jpg' }));
      await attempt('video without a frame', () => model.classify(document.createElement('video')));
      await attempt('elongated', () => model.classify(Object.assign(document.createElement('canvas'), { width: 10000, height: 2 })));
      // A 24-megapixel canvas is scaled down by the browser first (MAX_PIXELS) and still works.
      const big = Object.assign(document.createElement('canvas'), { width: 6000, height: 4000 });
      big.getContext('2d').drawImage(china, 0, 0, 6000, 4000);
      const bigPrepared = prepare(big, 'imagenet', [224, 224, 3]);
      const bigTop = await model.classify(big, { topK: 1, backend: 'cpu' });
      problems.big = [bigPrepared.steps[0].detail, bigTop[0].label];
      let mn = Infinity, mx = -Infinity;
      for (const v of embedding.data) { mn = Math.min(mn, v); mx = Math.max(mx, v); }
      return {
        pillow, sources, progress: [progress.length, progress.at(-1)], ms, fromImage, fromCanvas, three, flowerTop,
        loaded: { classes: loaded.classNames.length, inputShape: loaded.inputShape, recipe: loaded.recipe, licence: loaded.licence },
        worker, embedding: { layer: embedding.layer, shape: embedding.shape, min: mn, max: mx }, problems,
        names: convlab.pretrained.names(), classNames: model.classNames.length,
      };
    }, crops);
    for (const name of ['china', 'flower']) {
      // Chromium and Pillow both decode with libjpeg-turbo; resample.js is Pillow's filter bit for bit.
      assert.equal(r.pillow[name].maxByte, 0, `${name}: the crop's bytes are Pillow's`);
      assert.ok(r.pillow[name].maxInput < 1e-6, `${name}: the normalised input`);
      assert.deepEqual(r.pillow[name].shape, [1, 224, 224, 3]);
      assert.deepEqual(r.pillow[name].steps, ['original', 'resize', 'centre crop', 'normalise']);
    }
    assert.deepEqual(r.sources, { imageData: true, bitmap: true, canvas: true });
    assert.ok(r.progress[0] >= 2 && r.progress[1] === 1, `progress: ${r.progress}`);
    assert.equal(r.fromImage[0].label, 'palace');
    assert.ok(r.fromImage[0].probability >= 0.65 && r.fromImage[0].probability <= 0.75, `palace ${r.fromImage[0].probability}`);
    matchesReference(r.fromImage, 'china', 'page, image');
    matchesReference(r.fromCanvas, 'china', 'page, canvas');
    for (let i = 1; i < 5; i++) assert.ok(r.fromImage[i - 1].probability >= r.fromImage[i].probability, 'sorted');
    assert.deepEqual(r.three, r.fromImage.slice(0, 3), 'topK 3');
    assert.notEqual(r.flowerTop[0].label, 'palace');
    matchesReference(r.flowerTop, 'flower', 'page, flower');
    assert.deepEqual(r.loaded, { classes: 1000, inputShape: [224, 224, 3], recipe: 'imagenet', licence: r.loaded.licence });
    assert.match(r.loaded.licence, /ImageNet/);
    assert.deepEqual(r.worker.top, r.fromImage, 'the worker gives the page\'s answer');
    assert.equal(r.worker.backend, 'cpu');
    assert.ok(r.worker.ms > 0);
    assert.deepEqual(r.embedding.shape, [1, 1280]);
    assert.equal(r.embedding.layer, 'avg_pool');
    assert.ok(r.embedding.min >= 0 && r.embedding.max <= 6 && r.embedding.max > 0.5, `ReLU6 averages: ${r.embedding.min}..${r.embedding.max}`);
    assert.match(r.problems['empty canvas'], /classify: the canvas is 0x0/);
    assert.match(r.problems.string, /classify: argument 'source': expected an ImageData, ImageBitmap, HTMLImageElement, HTMLCanvasElement or HTMLVideoElement, got the string "china.jpg"/);
    assert.match(r.problems['unknown model'], /no pretrained model "resnet_9000"; the pretrained models are mobilenet_v2/);
    assert.match(r.problems['topK 0'], /option 'topK': expected a positive integer, got 0/);
    assert.match(r.problems['topK 1001'], /option 'topK': expected an integer from 1 to 1000/);
    assert.match(r.problems['unknown option'], /unknown option "top"; the options are topK/);
    assert.match(r.problems['worker unknown model'], /no pretrained model "nope"/);
    assert.match(r.problems['worker bad input'], /classify: argument 'input': expected \{shape, data: Float32Array\}/);
    assert.match(r.problems['video without a frame'], /classify: the video has no frame yet/);
    assert.match(r.problems.elongated, /classify: the image is 10000x2, too elongated for the imagenet recipe/);
    assert.deepEqual(r.problems.big, ['2508x1672 (scaled down from 6000x4000)', 'palace']);
    assert.deepEqual(r.names, ['mobilenet_v2']);
    assert.equal(r.classNames, 1000);
    console.log(`cpu: china ${r.fromImage.map((t) => `${t.label} ${t.probability.toFixed(4)}`).join(', ')} (${r.ms.toFixed(0)} ms)`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('a missing or corrupt weights file says to run the fetch script', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page: p, errors } = await page(browser);
    let mode = 404;
    await p.route('**/assets/models/mobilenet_v2.safetensors', (route) => (mode === 404
      ? route.fulfill({ status: 404, body: 'not here' })
      : route.fulfill({ status: 200, contentType: 'application/octet-stream', body: Buffer.from('<html>not weights</html>') })));
    const attempt = () => p.evaluate(() => convlab.pretrained.load('mobilenet_v2').then(() => 'no error', (e) => e.message));
    const missing = await attempt();
    mode = 200;
    const corrupt = await attempt();
    assert.match(missing, /assets\/models\/mobilenet_v2.safetensors is missing from the site \(HTTP 404\): run scripts\/fetch-pretrained.sh/);
    assert.match(corrupt, /does not fit the mobilenet_v2 model \(weights file: .*\): run scripts\/fetch-pretrained.sh again/);
    assert.deepEqual(errors.filter((e) => !/status of 404/.test(e)), []);
  } finally {
    await browser.close();
  }
});

test('WebGPU (SwiftShader): china.jpg is a palace in the page and in the worker', { timeout: 600_000 }, async () => {
  const browser = await launch({ webgpu: true });
  try {
    const { page: p, errors } = await page(browser);
    const r = await p.evaluate(async () => {
      if (!convlab.backends().available.includes('webgpu')) return { skipped: convlab.backends().webgpuProblem };
      const { prepare } = await import('./js/preprocess.js');
      const china = new Image();
      china.src = 'assets/photos/china.jpg';
      await china.decode();
      const model = await convlab.pretrained.load('mobilenet_v2');
      const t0 = performance.now();
      const page = await model.classify(china, { backend: 'webgpu' });
      const ms = performance.now() - t0;
      const stillWebgpu = convlab.backends().available.includes('webgpu');
      const infer = await import('./js/infer.js');
      await infer.use('./classify-handlers.js');
      const loaded = await infer.call('loadPretrained', { key: 'mnv2', name: 'mobilenet_v2' });
      const worker = await infer.call('classify', { key: 'mnv2', input: prepare(china, 'imagenet', loaded.inputShape).input, backend: 'webgpu' });
      return { page, ms, stillWebgpu, worker };
    });
    assert.equal(r.skipped, undefined, `WebGPU is unavailable: ${r.skipped}`);
    assert.ok(r.stillWebgpu, 'WebGPU did not fall back to the CPU');
    matchesReference(r.page, 'china', 'webgpu page');
    assert.equal(r.page[0].label, 'palace');
    assert.ok(r.page[0].probability >= 0.65 && r.page[0].probability <= 0.75);
    assert.equal(r.worker.backend, 'webgpu');
    matchesReference(r.worker.top, 'china', 'webgpu worker');
    console.log(`webgpu: china ${r.page.map((t) => `${t.label} ${t.probability.toFixed(4)}`).join(', ')} (${r.ms.toFixed(0)} ms page, ${r.worker.ms.toFixed(0)} ms worker)`);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});

test('the mnist recipe inverts, crops, fits in 20x20 and centres an off-centre drawn digit by its centre of mass; fashion and plain; a trained 28x28x1 model classifies with it', async () => {
  const browser = await launch({ webgpu: false });
  try {
    const { page: p, errors } = await page(browser);
    const r = await p.evaluate(async () => {
      const { prepare } = await import('./js/preprocess.js');
      /** A "7" drawn near the top-left corner of a 200x160 canvas. */
      const draw = (ink, paper) => {
        const c = Object.assign(document.createElement('canvas'), { width: 200, height: 160 });
        const ctx = c.getContext('2d');
        ctx.fillStyle = paper;
        ctx.fillRect(0, 0, 200, 160);
        ctx.strokeStyle = ink;
        ctx.lineWidth = 8;
        ctx.beginPath();
        ctx.moveTo(20, 20); ctx.lineTo(70, 20); ctx.lineTo(35, 100);
        ctx.stroke();
        return c;
      };
      const summary = (data) => {
        let [sum, sx, sy] = [0, 0, 0];
        let [left, top, right, bottom] = [28, 28, -1, -1];
        for (let y = 0; y < 28; y++) {
          for (let x = 0; x < 28; x++) {
            const v = data[y * 28 + x];
            sum += v; sx += v * (x + 0.5); sy += v * (y + 0.5);
            if (v > 0) { left = Math.min(left, x); right = Math.max(right, x); top = Math.min(top, y); bottom = Math.max(bottom, y); }
          }
        }
        return { cx: sx / sum, cy: sy / sum, left, top, width: right - left + 1, height: bottom - top + 1, max: Math.max(...data), min: Math.min(...data) };
      };
      const dark = prepare(draw('#111', '#f4f4f0'), 'mnist', [28, 28, 1]);
      const light = prepare(draw('#fff', '#000'), 'mnist', [28, 28, 1]);
      let diff = 0;
      for (let i = 0; i < 784; i++) diff = Math.max(diff, Math.abs(dark.input.data[i] - light.input.data[i]));
      const normalised = prepare(draw('#111', '#fff'), 'mnist', [1, 28, 28, 1], { mean: 0.1307, std: 0.3081 });
      let blank = 'no error';
      try { prepare(draw('#fff', '#fff'), 'mnist', [28, 28, 1]); } catch (e) { blank = e.message; }
      const fashion = prepare(draw('#111', '#f4f4f0'), 'fashion', [28, 28, 1]);
      const plain = prepare(draw('#111', '#f4f4f0'), 'plain', [32, 32, 3]);
      // A model trained here (random weights will do): 28x28x1 picks the mnist recipe, the
      // softmax output is used as it is, and class names come from the caller.
      const model = convlab.Model.fromSpec(convlab.zoo.spec('fashion_mnist_cnn'));
      const digit = draw('#111', '#f4f4f0');
      const classified = await model.classify(digit, { topK: 10, backend: 'cpu', classNames: 'abcdefghij'.split('') });
      const direct = await model.predict(prepare(digit, 'mnist', [28, 28, 1]).input, { backend: 'cpu' });
      let wrongNames = 'no error';
      try { await model.classify(digit, { classNames: ['a', 'b'] }); } catch (e) { wrongNames = e.message; }
      return {
        fashion: summary(fashion.input.data), plain: { shape: plain.input.shape, min: Math.min(...plain.input.data), max: Math.max(...plain.input.data), steps: plain.steps.map((s) => s.name) },
        classified, direct: Array.from(direct.data), wrongNames,
        dark: summary(dark.input.data), shape: dark.input.shape, steps: dark.steps.map((s) => `${s.name}: ${s.detail}`),
        diff, normalised: summary(normalised.input.data), blank,
      };
    });
    assert.deepEqual(r.shape, [1, 28, 28, 1]);
    assert.ok(Math.abs(r.dark.cx - 14) <= 0.5 && Math.abs(r.dark.cy - 14) <= 0.5, `centre of mass ${r.dark.cx}, ${r.dark.cy}`);
    assert.equal(Math.max(r.dark.width, r.dark.height), 20, `the ink fits 20x20: ${r.dark.width}x${r.dark.height}`);
    assert.ok(r.dark.width < r.dark.height, 'the aspect ratio is kept (the 7 is taller than wide)');
    assert.equal(r.dark.max, 1);
    assert.equal(r.dark.min, 0);
    assert.match(r.steps[1], /^grey: light background .*inverted/);
    assert.ok(r.diff < 0.05, `dark-on-light and light-on-dark digits give the same input (max diff ${r.diff})`);
    assert.ok(Math.abs(r.normalised.min - (0 - 0.1307) / 0.3081) < 1e-6 && Math.abs(r.normalised.max - (1 - 0.1307) / 0.3081) < 1e-6);
    assert.match(r.blank, /preprocess: no ink to find/);
    assert.equal(Math.max(r.fashion.width, r.fashion.height), 28, 'fashion: the longest side fills the frame');
    assert.deepEqual([r.fashion.left, r.fashion.top], [Math.floor((28 - r.fashion.width) / 2), Math.floor((28 - r.fashion.height) / 2)], 'fashion: the box is centred');
    assert.deepEqual(r.plain.shape, [1, 32, 32, 3]);
    assert.ok(r.plain.min >= 0 && r.plain.max <= 1 && r.plain.max > r.plain.min, 'plain: [0, 1] colour');
    assert.deepEqual(r.plain.steps, ['original', 'crop and resize']);
    assert.equal(r.classified.length, 10);
    const sum = r.classified.reduce((a, t) => a + t.probability, 0);
    assert.ok(Math.abs(sum - 1) < 1e-5, `a softmax output is used as it is (sum ${sum})`);
    for (const t of r.classified) {
      assert.equal(t.probability, r.direct[t.index], 'classify = predict on the mnist recipe\'s input');
      assert.equal(t.label, 'abcdefghij'[t.index]);
    }
    assert.match(r.wrongNames, /classify: option 'classNames': expected 10 strings \(one per output\), got 2 entries/);
    assert.deepEqual(errors, []);
  } finally {
    await browser.close();
  }
});
