// @ts-check
/**
 * The editor's benchmark (bench/editor.mjs drives it in headless Chromium): ResNet-152 fully
 * expanded (515 layers), then the view pans every frame (down the graph and side to side, so
 * the drawn window moves on): first alone, then with an edit every `editEvery` frames (conv1's
 * filters, alternately 64 and 48: the core checks the whole model, the summary and the graph
 * are redrawn, as when a user types a value). Reports requestAnimationFrame deltas: the 95th
 * percentile over both phases is the figure (target: under 33 ms), each phase's, and how long
 * an edit and the core's check take; and the same page's frames with nothing to do (the
 * machine's baseline: a loaded machine misses frames on its own).
 */

/** @param {number[]} xs @param {number} p */
const percentile = (xs, p) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const frame = () => new Promise((r) => requestAnimationFrame(r));

/**
 * @param {import('./editor.js').Editor} ed
 * @param {{seconds?: number, editEvery?: number, model?: string}} [options] `seconds` for each
 *   phase: panning alone, then panning with an edit every `editEvery` frames
 */
export async function benchEditor(ed, { seconds = 4, editEvery = 30, model = 'resnet152' } = {}) {
  const t0 = performance.now();
  ed.openZoo(model);
  ed.expandAll(true);
  while (ed.ui.root.dataset.layout !== 'done') await frame();
  const ready = performance.now() - t0;
  await ed.flush();
  const checks = [];
  for (let i = 0; i < 5; i++) {
    const t = performance.now();
    ed.check();
    checks.push(performance.now() - t);
  }
  ed.view.top();
  const conv = ed.graph.byId.get('conv1');
  if (!conv) throw new Error(`bench: ${model} has no conv1`);
  ed.select('conv1');
  /** @type {number[]} */
  const edits = [];
  let n = 0;
  /** Frame deltas while panning, with an edit every `every` frames (0: none; -1: not even panning, the machine's baseline). @param {number} every */
  const phase = async (every) => {
    /** @type {number[]} */
    const deltas = [];
    let last = /** @type {number} */ (await frame());
    const end = last + seconds * 1000;
    for (;;) {
      const now = /** @type {number} */ (await frame());
      deltas.push(now - last);
      last = now;
      if (now > end) return deltas;
      if (every < 0) continue;
      n += 1;
      ed.view.panBy(Math.sin(n / 20) * 12, -9);
      if (every > 0 && n % every === 0) {
        const t = performance.now();
        ed.setField(conv, 'filters', n % (2 * every) === 0 ? 64 : 48);
        edits.push(performance.now() - t);
      }
    }
  };
  const idle = await phase(-1);
  const pan = await phase(0);
  ed.view.top();
  const editing = await phase(editEvery);
  const all = [...pan, ...editing];
  const ms = (/** @type {number} */ x) => Math.round(x * 10) / 10;
  return {
    model, layers: ed.summary?.layers.length ?? 0, nodes: ed.graph.nodes.length, readyMs: Math.round(ready), editEvery,
    frames: all.length, p50: ms(percentile(all, 50)), p95: ms(percentile(all, 95)), max: ms(Math.max(...all)),
    idleP95: ms(percentile(idle, 95)), idleMax: ms(Math.max(...idle)), panP95: ms(percentile(pan, 95)), panMax: ms(Math.max(...pan)), editingP95: ms(percentile(editing, 95)), editingMax: ms(Math.max(...editing)),
    edits: edits.length, editP50: ms(percentile(edits, 50)), editMax: ms(Math.max(...edits)), checkMs: ms(percentile(checks, 50)),
  };
}
