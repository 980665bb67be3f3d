// The "Look inside" view (?view=inside): every layer's feature maps, the first convolution's
// filters, the histogram and per-layer times of a zoo model on a sample photo, checked against
// the core run on the page; Grad-CAM on a model with known weights; bad uploads; and "Check
// backends" on SwiftShader's WebGPU.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { serve, launch, open } from './harness.mjs';
import { createRequire } from 'node:module';

const AXE = createRequire(import.meta.url).resolve('axe-core/axe.min.js');

/** axe-core's violations inside `selector` (every control labelled, contrast, roles...). */
async function axeViolations(page, selector) {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async (sel) => (await globalThis.axe.run(sel)).violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), selector);
}

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

/** Waits until the view has finished `runs` runs; returns its status. */
async function ran(page, runs, timeout = 180_000) {
  await page.waitForFunction((n) => {
    const s = document.getElementById('inside-status');
    return s && Number(s.dataset.runs ?? 0) >= n && s.dataset.state !== 'running';
  }, runs, { timeout });
  return page.evaluate(() => ({
    state: document.getElementById('inside-status').dataset.state,
    text: document.getElementById('inside-status').textContent,
    error: document.getElementById('inside-error').textContent,
  }));
}

/** Waits until the tiles of `id` are drawn for the layer named in the heading. */
async function drawn(page, id, layer) {
  try {
    await page.waitForFunction(([id, layer]) => {
      const h = document.getElementById('inside-layer-h').textContent;
      return h.startsWith(`${layer} (`) && document.getElementById(id).dataset.state === 'done';
    }, [id, layer], { timeout: 60_000 });
  } catch (e) {
    const seen = await page.evaluate((id) => [document.getElementById('inside-layer-h').textContent, document.getElementById(id).dataset.state, document.getElementById(id).textContent.slice(0, 300)], id);
    throw new Error(`${layer}: ${id} not drawn: ${JSON.stringify(seen)}`);
  }
}

test('every layer of a zoo model on a photo: maps, filters, histogram and times match the core', async () => {
  const { page, errors } = await open(browser.context, `${server.url}?view=inside`);
  const status = await ran(page, 1);
  assert.equal(status.state, 'done', status.error);
  const names = await page.evaluate(() => globalThis.convlab.Model.fromSpec(globalThis.convlab.zoo.spec('lenet5_modern')).layerNames());
  const layers = await page.evaluate(() => globalThis.convlabInside.layers.map((l) => ({ name: l.name, shape: l.shape, ms: l.ms, min: l.min, max: l.max, counts: Array.from(l.histogram.counts) })));
  assert.deepEqual(layers.map((l) => l.name), names, 'every layer, the input first');

  // The same pass on the page's own core: every layer's range is the worker's, exactly.
  const truth = await page.evaluate(async () => {
    const m = globalThis.convlab.Model.fromSpec(globalThis.convlab.zoo.spec('lenet5_modern'));
    const maps = await m.featureMaps(globalThis.convlabInside.input, { backend: 'cpu' });
    const out = {};
    for (const [name, t] of Object.entries(maps)) {
      const c = t.shape.length === 4 ? t.shape[3] : 1;
      const ranges = Array.from({ length: c }, (_, k) => {
        let lo = Infinity; let hi = -Infinity;
        for (let i = k; i < t.data.length; i += c) { lo = Math.min(lo, t.data[i]); hi = Math.max(hi, t.data[i]); }
        return [lo, hi];
      });
      out[name] = { min: Math.min(...t.data), max: Math.max(...t.data), len: t.data.length, ranges, shape: t.shape };
    }
    const bytes = m.saveWeights();
    const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
    const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
    const k = header['C1/kernel'];
    const w = new Float32Array(bytes.slice(8 + n + k.data_offsets[0], 8 + n + k.data_offsets[1]).buffer);
    const [fh, fw, ci, co] = k.shape;
    const filters = Array.from({ length: co }, (_, o) => {
      let lo = Infinity; let hi = -Infinity;
      for (let i = o; i < w.length; i += co) { lo = Math.min(lo, w[i]); hi = Math.max(hi, w[i]); }
      return [lo, hi];
    });
    return { maps: out, filters, kernel: [fh, fw, ci, co] };
  });
  for (const l of layers.slice(1)) {
    const t = truth.maps[l.name];
    assert.deepEqual(l.shape, t.shape, l.name);
    assert.equal(l.min, t.min, `${l.name}: min`);
    assert.equal(l.max, t.max, `${l.name}: max`);
    assert.equal(l.counts.reduce((a, b) => a + b, 0), t.len, `${l.name}: the histogram counts every value`);
    assert.ok(l.ms >= 0, `${l.name}: a time`);
  }

  // The layer table: a row per layer with its time and backend.
  const rows = await page.$$eval('#inside-layer-table tbody tr', (trs) => trs.map((tr) => [...tr.children].map((c) => c.textContent)));
  assert.equal(rows.length, names.length);
  for (const r of rows) {
    assert.match(r[3], /^\d+(\.\d+)?(e[-+]\d+)?/, `${r[0]}: time ${r[3]}`);
    assert.equal(r[4], 'CPU');
  }
  assert.match(await page.textContent('#inside-timing'), /9 layers on the CPU path: [\d.]+ ms in the layers/);

  // Every layer's feature maps: one tile per channel (a vector is one tile), the captions the
  // channels' true ranges.
  for (const l of layers.slice(1)) {
    await page.click(`#inside-layer-table .layer-pick:text-is("${l.name}")`);
    await drawn(page, 'inside-maps', l.name);
    const t = truth.maps[l.name];
    const tiles = await page.$$eval('#inside-maps figcaption', (c) => c.map((e) => e.textContent));
    assert.equal(tiles.length, t.shape.length === 4 ? Math.min(64, t.shape[3]) : 1, l.name);
    if (t.shape.length === 4) {
      tiles.forEach((cap, k) => {
        const [lo, hi] = cap.replace(/^\d+: \[/, '').replace(']', '').split(', ').map(Number);
        const [tlo, thi] = t.ranges[k];
        assert.ok(Math.abs(lo - tlo) <= 5e-3 * Math.max(1e-3, Math.abs(tlo)) && Math.abs(hi - thi) <= 5e-3 * Math.max(1e-3, Math.abs(thi)), `${l.name} channel ${k}: ${cap} vs [${tlo}, ${thi}]`);
      });
    }
    assert.equal(await page.getAttribute('#inside-layer-table .layer-pick[aria-pressed="true"]', 'data-layer'), String(names.indexOf(l.name)));
  }

  // The first convolution's filters: one per output channel, with the kernel's true ranges.
  await page.click('#inside-layer-table .layer-pick:text-is("C1")');
  await drawn(page, 'inside-filters', 'C1');
  const filters = await page.$$eval('#inside-filters figure', (fs) => fs.map((f) => ({ caption: f.querySelector('figcaption').textContent, canvases: f.querySelectorAll('canvas').length, w: f.querySelector('canvas').width })));
  assert.equal(filters.length, truth.kernel[3]);
  filters.forEach((f, o) => {
    assert.equal(f.canvases, truth.kernel[2], 'one grey per input channel');
    assert.equal(f.w, truth.kernel[1]);
    const [lo, hi] = f.caption.replace(/^\d+: \[/, '').replace(']', '').split(', ').map(Number);
    assert.ok(Math.abs(lo - truth.filters[o][0]) < 5e-3 && Math.abs(hi - truth.filters[o][1]) < 5e-3, `filter ${o}: ${f.caption} vs ${truth.filters[o]}`);
  });
  // The histogram is drawn (bars in the plot area).
  const ink = await page.evaluate(() => {
    const c = document.getElementById('inside-histogram');
    const d = c.getContext('2d').getImageData(0, 0, c.width, c.height - 16).data;
    let n = 0;
    for (let i = 3; i < d.length; i += 4) if (d[i] > 0) n++;
    return n;
  });
  assert.ok(ink > 500, `the histogram has bars (${ink} pixels)`);
  assert.deepEqual(await axeViolations(page, '#view-inside'), [], 'axe-core finds nothing');
  // A layer without filters hides the filter part.
  await page.click('#inside-layer-table .layer-pick:text-is("S2")');
  await drawn(page, 'inside-maps', 'S2');
  assert.equal(await page.isHidden('#inside-filters-part'), true);
  assert.deepEqual(errors, []);
  await page.close();
});

/** A safetensors file of `model` with some tensors replaced. */
const WITH_WEIGHTS = async (spec, replace) => {
  const m = globalThis.convlab.Model.fromSpec(spec);
  const bytes = m.saveWeights();
  const n = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n)));
  for (const [name, values] of Object.entries(replace)) {
    const [a] = header[name].data_offsets;
    new Float32Array(bytes.buffer, bytes.byteOffset + 8 + n + a, values.length).set(values);
  }
  return bytes;
};

test('Grad-CAM of a model with known weights highlights the region that drives each class; bad files are named', async () => {
  const { page, errors } = await open(browser.context, `${server.url}?view=inside`);
  await ran(page, 1);
  // Red in the top-left corner, green in the bottom-right: class 0 reads red, class 1 green.
  const spec = {
    format: 'convlab-model', version: 1, name: 'regions', input: { shape: [8, 8, 3] },
    layers: [
      { name: 'features', class_name: 'Conv2D', config: { filters: 2, kernel_size: 1, activation: 'relu' } },
      { name: 'pool', class_name: 'MaxPool2D', config: { pool_size: 2 } },
      { name: 'gap', class_name: 'GlobalAvgPool2D' },
      { name: 'logits', class_name: 'Dense', config: { units: 2 } },
    ],
  };
  await page.evaluate(async ([spec, withWeights]) => {
    const make = eval(withWeights);
    const weights = await make(spec, { 'features/kernel': [1, 0, 0, 1, 0, 0], 'logits/kernel': [2, 0, 0, 1], 'logits/bias': [0, 0] });
    const store = await import('./js/store.js');
    store.update({ model: { spec, name: 'regions', weights, classNames: ['red', 'green'], origin: 'trained' } });
  }, [spec, WITH_WEIGHTS.toString()]);
  const png = await page.evaluate(async () => {
    const c = document.createElement('canvas');
    c.width = 64; c.height = 64;
    const ctx = c.getContext('2d');
    ctx.fillStyle = '#000'; ctx.fillRect(0, 0, 64, 64);
    ctx.fillStyle = '#f00'; ctx.fillRect(0, 0, 24, 24);
    ctx.fillStyle = '#0f0'; ctx.fillRect(40, 40, 24, 24);
    return c.toDataURL('image/png').split(',')[1];
  });
  await page.setInputFiles('#inside-file', { name: 'blobs.png', mimeType: 'image/png', buffer: Buffer.from(png, 'base64') });
  await page.selectOption('#inside-model', 'current');
  await page.waitForFunction(() => globalThis.convlabInside.model === 'current' && document.getElementById('inside-status').dataset.state === 'done', null, { timeout: 60_000 });
  assert.equal(await page.inputValue('#inside-image'), 'upload');

  /** Runs Grad-CAM for `cls` ('' = predicted) and reads the overlay at two corners. */
  const explain = async (cls) => {
    await page.selectOption('#inside-cam-class', cls);
    await page.click('#inside-cam-run');
    await page.waitForFunction((c) => document.getElementById('inside-cam-status').dataset.state === 'done' && (c === '' || document.getElementById('inside-cam').dataset.classIndex === c), cls, { timeout: 60_000 });
    return page.evaluate(() => {
      const c = document.getElementById('inside-cam');
      const px = (x, y) => Array.from(c.getContext('2d').getImageData(x, y, 1, 1).data.slice(0, 3));
      return { cls: c.dataset.classIndex, w: c.width, topLeft: px(1, 1), bottomRight: px(6, 6), caption: document.getElementById('inside-cam-cap').textContent, hidden: c.parentElement.hidden };
    });
  };
  const red = await explain('');
  assert.equal(red.cls, '0', 'red is worth twice as much: class 0 is predicted');
  assert.equal(red.hidden, false);
  assert.equal(red.w, 8);
  assert.match(red.caption, /class 0 \(red\), score \(logit\) 0\.5, from layer pool \(4x4 map scaled to 8x8\)/);
  assert.deepEqual(red.bottomRight, [0, 255, 0], 'no heat over the green corner');
  assert.notDeepEqual(red.topLeft, [255, 0, 0], 'heat over the red corner');
  const green = await explain('1');
  assert.equal(green.cls, '1');
  assert.deepEqual(green.topLeft, [255, 0, 0], 'no heat over the red corner');
  assert.notDeepEqual(green.bottomRight, [0, 255, 0], 'heat over the green corner');

  // Bad uploads: named, and the view keeps the last good run.
  const runsBefore = await page.evaluate(() => globalThis.convlabInside.runs);
  await page.setInputFiles('#inside-file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('not a picture') });
  await page.waitForFunction(() => !document.getElementById('inside-error').hidden);
  assert.match(await page.textContent('#inside-error'), /notes\.txt is not an image \(type text\/plain\)/);
  await page.setInputFiles('#inside-file', { name: 'broken.png', mimeType: 'image/png', buffer: Buffer.from('\x89PNG garbage') });
  await page.waitForFunction(() => /broken\.png/.test(document.getElementById('inside-error').textContent));
  assert.match(await page.textContent('#inside-error'), /broken\.png could not be decoded as an image/);
  assert.equal(await page.evaluate(() => globalThis.convlabInside.runs), runsBefore);
  // A model whose input is not an image: named.
  await page.evaluate(async () => {
    const store = await import('./js/store.js');
    const spec = { format: 'convlab-model', version: 1, name: 'vector', input: { shape: [5] }, layers: [{ class_name: 'Dense', config: { units: 2 } }] };
    store.update({ model: { spec, name: 'vector', weights: null, classNames: null, origin: 'editor' } });
  });
  await page.waitForFunction(() => document.getElementById('inside-status').dataset.state === 'error');
  assert.match(await page.textContent('#inside-error'), /models whose input is \[height, width, 1 or 3\]; this model takes \[5\]/);
  assert.deepEqual(errors, []);
  await page.close();
});

test('Check backends on SwiftShader WebGPU lists every layer within the tolerance; without an adapter it says WebGPU is missing', async () => {
  const { page, errors } = await open(browser.context, `${server.url}?view=inside`);
  await ran(page, 1);
  await page.click('#inside-compare-run');
  await page.waitForFunction(() => document.getElementById('inside-compare-status').dataset.state === 'missing', null, { timeout: 60_000 });
  assert.match(await page.textContent('#inside-compare-status'), /WebGPU is missing in this browser: .*only the CPU path can run/);
  assert.deepEqual(errors, []);
  await page.close();

  const gpu = await launch({ webgpu: true });
  try {
    const { page: p, errors: e } = await open(gpu.context, `${server.url}?view=inside`);
    await ran(p, 1);
    await p.selectOption('#inside-backend', 'webgpu');
    await ran(p, 2);
    const backends = await p.$$eval('#inside-layer-table tbody tr td:last-child', (tds) => [...new Set(tds.map((t) => t.textContent))]);
    assert.deepEqual(backends, ['WebGPU'], 'every layer ran on WebGPU');
    assert.match(await p.textContent('#inside-timing'), /on WebGPU \(each layer submitted and read back/);
    await p.click('#inside-compare-run');
    await p.waitForFunction(() => ['ok', 'over', 'error', 'missing'].includes(document.getElementById('inside-compare-status').dataset.state), null, { timeout: 300_000 });
    const text = await p.textContent('#inside-compare-status');
    const rows = await p.$$eval('#inside-compare-table tbody tr', (trs) => trs.map((tr) => ({ name: tr.querySelector('th').textContent, rel: Number(tr.dataset.rel) })));
    const names = await p.evaluate(() => globalThis.convlab.Model.fromSpec(globalThis.convlab.zoo.spec('lenet5_modern')).layerNames());
    assert.deepEqual(rows.map((r) => r.name), names.slice(1), text);
    for (const r of rows) assert.ok(r.rel <= 1e-3, `${r.name}: relative difference ${r.rel}`);
    // Not all identical: the two backends really ran (different summation orders).
    assert.ok(rows.some((r) => r.rel > 0), 'some layer differs in the last bits');
    assert.match(text, /all within the tolerance of 0\.001/);
    assert.deepEqual(e, []);
  } finally {
    await gpu.close();
  }
});

test('wide layers are paged, and a Fashion-MNIST test image feeds a 28x28x1 model', async () => {
  const { page, errors } = await open(browser.context, `${server.url}?view=inside`);
  await ran(page, 1);
  await page.selectOption('#inside-image', 'fashion');
  await ran(page, 2);
  await page.fill('#inside-fashion-index', '3');
  await page.locator('#inside-fashion-index').blur();
  await ran(page, 3);
  await page.selectOption('#inside-model', 'zoo:fashion_mnist_cnn');
  await page.waitForFunction(() => globalThis.convlabInside.model === 'zoo:fashion_mnist_cnn' && document.getElementById('inside-status').dataset.state === 'done', null, { timeout: 120_000 });
  assert.match(await page.textContent('#inside-input-cap'), /^Fashion-MNIST test image 3 as the model sees it: 28x28x1$/);
  // The input is the test file's image 3 over 255, read here independently.
  const same = await page.evaluate(async () => {
    const res = await fetch('./assets/data/fashion-mnist/t10k-images-idx3-ubyte.gz');
    const bytes = new Uint8Array(await new Response(res.body.pipeThrough(new DecompressionStream('gzip'))).arrayBuffer());
    const input = globalThis.convlabInside.input.data;
    let worst = 0;
    for (let i = 0; i < 784; i++) worst = Math.max(worst, Math.abs(input[i] - bytes[16 + 3 * 784 + i] / 255));
    return { worst, n: input.length };
  });
  assert.equal(same.n, 784);
  assert.ok(same.worst < 1e-7, `input vs the file: ${same.worst}`);
  assert.equal(await page.textContent('#inside-cam-class option[value="9"]'), '9: Ankle boot');
  // A 128-channel layer: two pages of 64.
  const wide = await page.evaluate(() => globalThis.convlabInside.layers.find((l) => l.shape.length === 4 && l.shape[3] === 128).name);
  await page.click(`#inside-layer-table .layer-pick:text-is("${wide}")`);
  await drawn(page, 'inside-maps', wide);
  assert.equal(await page.textContent('#inside-maps-page'), 'channels 1 to 64 of 128');
  assert.equal(await page.$$eval('#inside-maps figure', (f) => f.length), 64);
  assert.equal(await page.isDisabled('#inside-maps-prev'), true);
  await page.click('#inside-maps-next');
  await page.waitForFunction(() => document.getElementById('inside-maps-page').textContent === 'channels 65 to 128 of 128' && document.getElementById('inside-maps').dataset.state === 'done');
  const captions = await page.$$eval('#inside-maps figcaption', (c) => c.map((e) => e.textContent));
  assert.equal(captions.length, 64);
  assert.match(captions[0], /^64: \[/);
  assert.match(captions[63], /^127: \[/);
  assert.equal(await page.isDisabled('#inside-maps-next'), true);
  // Its filters: 128 of 3x3 over 64 inputs, 8 shown each, 32 per page.
  await drawn(page, 'inside-filters', wide);
  assert.equal(await page.textContent('#inside-filters-page'), 'filters 1 to 32 of 128');
  assert.match(await page.textContent('#inside-filters-note'), /128 filters of 3x3x64: .*\(the first 8 of 64 shown\)/);
  assert.equal(await page.$$eval('#inside-filters figure:first-child canvas', (c) => c.length), 8);
  assert.deepEqual(errors, []);
  await page.close();
});

test('MobileNetV2 pretrained: predicts the golden class for china.jpg and its Grad-CAM overlay is drawn over the palace', async () => {
  const { page, errors } = await open(browser.context, `${server.url}?view=inside`);
  await ran(page, 1);
  await page.selectOption('#inside-model', 'pretrained:mobilenet_v2');
  await page.waitForFunction(() => globalThis.convlabInside.model === 'pretrained:mobilenet_v2' && document.getElementById('inside-status').dataset.state !== 'running', null, { timeout: 300_000 });
  assert.equal(await page.textContent('#inside-error'), '');
  assert.equal(await page.evaluate(() => globalThis.convlabInside.layers.length), 153);
  // The first convolution reads RGB: its filters are drawn in colour.
  await drawn(page, 'inside-filters', 'conv1');
  assert.match(await page.textContent('#inside-filters-note'), /^32 filters of 3x3 over the 3 input channels, drawn in colour/);
  await page.click('#inside-cam-run');
  await page.waitForFunction(() => ['done', 'error'].includes(document.getElementById('inside-cam-status').dataset.state), null, { timeout: 120_000 });
  const cam = await page.evaluate(() => {
    const r = globalThis.convlabInside.cam;
    const [h, w] = r.heatmapShape;
    let left = 0; let total = 0;
    for (let i = 0; i < h * w; i++) { total += r.heatmap[i]; if (i % w < w / 2) left += r.heatmap[i]; }
    let best = 0;
    r.logits.forEach((v, i) => { if (v > r.logits[best]) best = i; });
    return { cls: r.classIndex, best, layer: r.layer, shape: r.camShape, left: left / total, caption: document.getElementById('inside-cam-cap').textContent, w: document.getElementById('inside-cam').width };
  });
  // tests/golden/imagenet/reference.json (PyTorch): palace, 69%.
  assert.equal(cam.cls, 698);
  assert.equal(cam.best, 698);
  assert.match(cam.caption, /^class 698 \(palace\), score \(logit\) [\d.]+, from layer relu_last \(7x7 map scaled to 224x224\)/);
  assert.equal(cam.w, 224);
  // The palace fills the left half of the centre crop.
  assert.ok(cam.left > 0.6, `share of the heat on the left: ${cam.left}`);
  assert.deepEqual(errors, []);
  await page.close();
});
