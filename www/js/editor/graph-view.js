// @ts-check
/**
 * The layer graph in SVG: nodes and edges at the layout's positions, zoom (wheel, +/-, the
 * buttons) and pan (drag the background, arrow keys), selection (click; arrow keys move it
 * through the layers), drag from a node's output port onto another node to connect them, and
 * layer types dropped from the palette.
 *
 * It stays smooth on big graphs (ResNet-152 expanded: ~520 nodes) by drawing only what is near
 * the screen: panning changes one transform, and the set of drawn nodes is recomputed only
 * when the view leaves the drawn window (the screen plus half a screen each side).
 *
 * @typedef {import('./graph.js').Graph} Graph
 * @typedef {import('./graph.js').GraphNode} GraphNode
 * @typedef {import('./layout.js').Layout} Layout
 * @typedef {{
 *   onSelect: (id: string) => void, onConnect: (from: string, to: string) => void,
 *   onToggle: (id: string) => void, onDropType: (type: string, on: string | null) => void,
 * }} Handlers
 */
import { NODE_W, NODE_H } from './layout.js';

const SVG = 'http://www.w3.org/2000/svg';
/** @param {string} tag @param {Record<string, string | number>} [attrs] @returns {SVGElement} */
function el(tag, attrs = {}) {
  const e = /** @type {SVGElement} */ (document.createElementNS(SVG, tag));
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, String(v));
  return e;
}

/** @param {number[] | null} s */
export const shapeText = (s) => (s ? s.join('×') : '?');
const fmt = new Intl.NumberFormat('en-US');
/** What a node's drawing depends on (besides its position and selection). @param {GraphNode} n */
const signature = (n) => `${n.label}|${n.type}|${n.kind}|${n.shape?.join('x')}|${n.params}|${n.error ?? ''}`;
/** @param {string} s @param {number} n */
const clip = (s, n) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

export class GraphView {
  /** @param {HTMLElement} host @param {Handlers} handlers */
  constructor(host, handlers) {
    this.handlers = handlers;
    // The surface takes the pointer, the wheel and the keyboard; the stage is a composited
    // layer holding the drawing of the window around the screen, so that panning only moves
    // the layer (no repaint) until the screen leaves that window.
    this.surface = document.createElement('div');
    this.surface.className = 'ed-svg';
    this.surface.setAttribute('role', 'group');
    this.surface.setAttribute('aria-label', 'Layer graph: arrow keys pan, + and - zoom, 0 fits, Enter selects a layer');
    this.surface.tabIndex = 0;
    this.stage = document.createElement('div');
    this.stage.className = 'ed-stage';
    this.svg = /** @type {SVGSVGElement} */ (el('svg', { class: 'ed-drawing' }));
    const defs = el('defs');
    const marker = el('marker', { id: 'ed-arrow', viewBox: '0 0 10 10', refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: 'auto-start-reverse' });
    marker.append(el('path', { d: 'M0,0 L10,5 L0,10 z', class: 'ed-arrowhead' }));
    defs.append(marker);
    this.viewport = el('g', { class: 'ed-vp' });
    this.groupLayer = el('g', { class: 'ed-groups' });
    this.edgeLayer = el('g', { class: 'ed-edges' });
    this.nodeLayer = el('g', { class: 'ed-nodes' });
    this.wire = el('line', { class: 'ed-wire', visibility: 'hidden' });
    this.viewport.append(this.groupLayer, this.edgeLayer, this.nodeLayer, this.wire);
    this.svg.append(defs, this.viewport);
    this.stage.append(this.svg);
    this.surface.append(this.stage);
    host.append(this.surface);
    /** @type {Graph} */
    this.graph = { nodes: [], edges: [], byId: new Map() };
    /** @type {Map<string, {x: number, y: number}>} node centres */
    this.pos = new Map();
    /** @type {Map<string, number[]>} laid-out edge polylines by "from\0to" */
    this.lines = new Map();
    /** @type {WeakMap<number[], {x0: number, y0: number, x1: number, y1: number}>} each polyline's box */
    this.edgeBoxes = new WeakMap();
    /** @type {Map<string, SVGElement>} */
    this.nodeEls = new Map();
    /** @type {Map<string, SVGElement>} */
    this.edgeEls = new Map();
    /** @type {string | null} */
    this.selected = null;
    this.t = { x: 0, y: 0, k: 1 };
    /** @type {{x0: number, y0: number, x1: number, y1: number, k: number} | null} the drawn window (graph coordinates) and its scale */
    this.drawn = null;
    this.bounds = { width: 0, height: 0 };
    /** @type {{w: number, h: number} | null} */
    this.box = null;
    this.wirePointer();
  }

  /**
   * Shows `graph`; `layout` (if given) places every node, else new nodes go below what they
   * read until a layout comes.
   * @param {Graph} graph @param {Layout | null} layout
   */
  setGraph(graph, layout) {
    const old = this.graph;
    this.graph = graph;
    if (layout) {
      this.pos = new Map(Object.entries(layout.nodes));
      this.lines = new Map(graph.edges.map(([a, b], i) => [`${a}\u0000${b}`, layout.edges[i] ?? []]));
      this.bounds = { width: layout.width, height: layout.height };
      this.rebuild();
      return;
    }
    for (const n of graph.nodes) if (!this.pos.has(n.id)) this.pos.set(n.id, this.guess(n.id));
    this.update(old);
  }

  /**
   * Redraws only what changed since graph `old` (same positions): nodes whose text or marks
   * changed, the edges if they changed, the block boxes if their members changed. An edit of
   * one field on a 500-layer model so touches a few elements.
   * @param {Graph} old
   */
  update(old) {
    const hadFocus = this.nodeLayer.contains(document.activeElement);
    for (const [id, e] of this.nodeEls) {
      const n = this.graph.byId.get(id);
      if (!n || signature(n) !== e.getAttribute('data-sig')) { e.remove(); this.nodeEls.delete(id); }
    }
    const edgeKey = (/** @type {Graph} */ g) => g.edges.map((e) => e.join('\u0000')).join('\u0001');
    if (edgeKey(old) !== edgeKey(this.graph)) {
      for (const e of this.edgeEls.values()) e.remove();
      this.edgeEls.clear();
    }
    const groupKey = (/** @type {Graph} */ g) => g.nodes.filter((n) => n.group).map((n) => `${n.group}/${n.id}`).join('\u0001');
    if (groupKey(old) !== groupKey(this.graph)) {
      this.groupLayer.replaceChildren();
      this.drawGroups();
    }
    this.cull();
    if (hadFocus && !this.nodeLayer.contains(document.activeElement)) {
      const el = this.selected ? this.nodeEls.get(this.selected) : null;
      if (el) /** @type {any} */ (el).focus({ preventScroll: true });
      else this.surface.focus({ preventScroll: true });
    }
  }

  /** Where a node not yet laid out goes: under the node it reads. @param {string} id */
  guess(id) {
    const from = this.graph.edges.find(([, b]) => b === id)?.[0];
    const p = from ? this.pos.get(from) : null;
    return p ? { x: p.x + NODE_W / 3, y: p.y + NODE_H + 30 } : { x: NODE_W, y: this.bounds.height + NODE_H };
  }

  /** Drops every drawn element and draws again (after a new graph). */
  rebuild() {
    const hadFocus = this.nodeLayer.contains(document.activeElement);
    for (const e of this.nodeEls.values()) e.remove();
    for (const e of this.edgeEls.values()) e.remove();
    this.nodeEls.clear();
    this.edgeEls.clear();
    this.groupLayer.replaceChildren();
    this.drawn = null;
    this.drawGroups();
    this.cull();
    // A redraw must not drop the keyboard user's place: focus goes to the selected node again.
    if (hadFocus) {
      const el = this.selected ? this.nodeEls.get(this.selected) : null;
      if (el) /** @type {any} */ (el).focus({ preventScroll: true });
      else this.surface.focus({ preventScroll: true });
    }
  }

  /** The boxes around expanded block instances, each labelled. */
  drawGroups() {
    /** @type {Map<string, {x0: number, y0: number, x1: number, y1: number}>} */
    const boxes = new Map();
    for (const n of this.graph.nodes) {
      if (!n.group) continue;
      const p = this.pos.get(n.id);
      if (!p) continue;
      const b = boxes.get(n.group) ?? { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
      b.x0 = Math.min(b.x0, p.x - NODE_W / 2); b.x1 = Math.max(b.x1, p.x + NODE_W / 2);
      b.y0 = Math.min(b.y0, p.y - NODE_H / 2); b.y1 = Math.max(b.y1, p.y + NODE_H / 2);
      boxes.set(n.group, b);
    }
    for (const [group, b] of boxes) {
      const g = el('g', { class: 'ed-group', 'data-group': group });
      g.append(el('rect', { x: b.x0 - 10, y: b.y0 - 24, width: b.x1 - b.x0 + 20, height: b.y1 - b.y0 + 34, rx: 10 }));
      const label = el('text', { x: b.x0 - 2, y: b.y0 - 9, class: 'ed-group-label' });
      label.textContent = `${group}: expanded block (click to collapse)`;
      g.append(label);
      this.groupLayer.append(g);
    }
  }

  /**
   * Screen size of the view, kept by a ResizeObserver: reading the layout on every pan would
   * force the browser to lay out the whole page (the summary's 500 rows) in the middle of a frame.
   */
  size() {
    if (!this.box) {
      const r = this.surface.getBoundingClientRect();
      this.box = { w: r.width || 800, h: r.height || 600 };
      new ResizeObserver(([entry]) => {
        const { width, height } = entry.contentRect;
        if (width > 0 && height > 0) this.box = { w: width, h: height };
      }).observe(this.surface);
    }
    return this.box;
  }

  /** Applies the transform; redraws the node set when the screen leaves the drawn window. */
  apply() {
    const { x, y, k } = this.t;
    const { w, h } = this.size();
    const v = { x0: -x / k, y0: -y / k, x1: (w - x) / k, y1: (h - y) / k };
    const d = this.drawn;
    if (!d || d.k !== k || v.x0 < d.x0 || v.y0 < d.y0 || v.x1 > d.x1 || v.y1 > d.y1) this.cull();
    this.place();
  }

  /** Moves the stage so the drawn window sits where the transform puts it (compositor only). */
  place() {
    const d = this.drawn;
    if (!d) return;
    const { x, y, k } = this.t;
    this.stage.style.transform = `translate3d(${(x + d.x0 * k).toFixed(1)}px, ${(y + d.y0 * k).toFixed(1)}px, 0)`;
  }

  /** Draws exactly the nodes and edges within the screen plus half a screen each side. */
  cull() {
    const { x, y, k } = this.t;
    const { w, h } = this.size();
    const mx = w / k / 2;
    const my = h / k / 2;
    const win = { x0: -x / k - mx, y0: -y / k - my, x1: (w - x) / k + mx, y1: (h - y) / k + my, k };
    this.drawn = win;
    this.svg.setAttribute('width', String(Math.ceil((win.x1 - win.x0) * k)));
    this.svg.setAttribute('height', String(Math.ceil((win.y1 - win.y0) * k)));
    this.viewport.setAttribute('transform', `scale(${k}) translate(${-win.x0},${-win.y0})`);
    this.place();
    const inside = (/** @type {number} */ px, /** @type {number} */ py) => px + NODE_W / 2 >= win.x0 && px - NODE_W / 2 <= win.x1 && py + NODE_H / 2 >= win.y0 && py - NODE_H / 2 - 20 <= win.y1;
    const want = new Set();
    for (const n of this.graph.nodes) {
      const p = this.pos.get(n.id);
      if (p && (inside(p.x, p.y) || n.id === this.selected)) want.add(n.id);
    }
    for (const [id, e] of this.nodeEls) if (!want.has(id)) { e.remove(); this.nodeEls.delete(id); }
    for (const id of want) if (!this.nodeEls.has(id)) this.drawNode(/** @type {GraphNode} */ (this.graph.byId.get(id)));
    const wantEdges = new Set();
    for (const [a, b] of this.graph.edges) {
      const key = `${a}\u0000${b}`;
      const pts = this.points(a, b);
      if (!pts) continue;
      let box = this.edgeBoxes.get(pts);
      if (!box) {
        box = { x0: Infinity, y0: Infinity, x1: -Infinity, y1: -Infinity };
        for (let i = 0; i < pts.length; i += 2) {
          box.x0 = Math.min(box.x0, pts[i]); box.x1 = Math.max(box.x1, pts[i]);
          box.y0 = Math.min(box.y0, pts[i + 1]); box.y1 = Math.max(box.y1, pts[i + 1]);
        }
        this.edgeBoxes.set(pts, box);
      }
      if (box.x1 < win.x0 || box.x0 > win.x1 || box.y1 < win.y0 || box.y0 > win.y1) continue;
      wantEdges.add(key);
      if (!this.edgeEls.has(key)) {
        let d = `M${pts[0]},${pts[1]}`;
        for (let i = 2; i < pts.length; i += 2) d += `L${pts[i]},${pts[i + 1]}`;
        const path = el('path', { d, class: 'ed-edge', 'marker-end': 'url(#ed-arrow)' });
        this.edgeLayer.append(path);
        this.edgeEls.set(key, path);
      }
    }
    for (const [key, e] of this.edgeEls) if (!wantEdges.has(key)) { e.remove(); this.edgeEls.delete(key); }
  }

  /** An edge's polyline: the layout's when it has one for both ends, else a straight line. */
  points(/** @type {string} */ a, /** @type {string} */ b) {
    const pa = this.pos.get(a);
    const pb = this.pos.get(b);
    if (!pa || !pb) return null;
    const laid = this.lines.get(`${a}\u0000${b}`);
    if (laid && laid.length >= 4) return laid;
    return [pa.x, pa.y + NODE_H / 2, pb.x, pb.y - NODE_H / 2];
  }

  /** @param {GraphNode} n */
  drawNode(n) {
    const p = /** @type {{x: number, y: number}} */ (this.pos.get(n.id));
    const classes = ['ed-node', `ed-${n.kind}`];
    if (n.error) classes.push('ed-invalid');
    if (n.id === this.selected) classes.push('ed-selected');
    const g = el('g', { class: classes.join(' '), 'data-id': n.id, 'data-sig': signature(n), transform: `translate(${p.x - NODE_W / 2},${p.y - NODE_H / 2})`, role: 'button', tabindex: n.id === this.selected ? 0 : -1 });
    const counts = n.kind === 'input' ? '' : `, ${fmt.format(n.params)} parameters`;
    const extra = n.kind === 'block' ? ', a collapsed block: Enter expands it' : '';
    const name = el('text', { x: 10, y: 18, class: 'ed-n-name' });
    name.textContent = clip(n.label, 24);
    const sub = el('text', { x: 10, y: 36, class: 'ed-n-sub' });
    sub.textContent = clip(`${n.type} · ${shapeText(n.shape)}`, 27);
    // The accessible name starts with the visible text (axe: label-content-name-mismatch), then
    // what the box has no room for.
    const shown = [name.textContent, sub.textContent, ...(n.error ? [clip(n.error, 60)] : [])].join(' ');
    g.setAttribute('aria-label', `${shown}; ${n.id}, ${n.type}, output ${shapeText(n.shape)}${counts}${extra}${n.error ? `, invalid: ${n.error}` : ''}`);
    g.setAttribute('aria-pressed', String(n.id === this.selected));
    g.append(el('rect', { width: NODE_W, height: NODE_H, rx: n.kind === 'block' ? 12 : 6 }));
    // A space between the texts, so that the visible text reads as the name's first words.
    g.append(name, document.createTextNode(' '), sub);
    if (n.kind !== 'input') g.append(el('circle', { class: 'ed-port ed-port-in', cx: NODE_W / 2, cy: 0, r: 5 }));
    g.append(el('circle', { class: 'ed-port ed-port-out', cx: NODE_W / 2, cy: NODE_H, r: 6 }));
    if (n.kind === 'block') {
      const t = el('text', { x: NODE_W - 22, y: 28, class: 'ed-toggle', 'data-toggle': n.id });
      t.textContent = '⊞';
      g.append(t);
    }
    if (n.error) {
      const title = el('title');
      title.textContent = n.error;
      g.append(title);
      const msg = el('text', { x: 0, y: NODE_H + 16, class: 'ed-n-err' });
      msg.textContent = clip(n.error, 60);
      g.append(document.createTextNode(' '), msg);
    }
    this.nodeLayer.append(g);
    this.nodeEls.set(n.id, g);
  }

  /**
   * Selects node `id` (null: none); `reveal` pans it into view; `focus` moves keyboard focus.
   * @param {string | null} id @param {{reveal?: boolean, focus?: boolean}} [options]
   */
  select(id, { reveal = false, focus = false } = {}) {
    const old = this.selected ? this.nodeEls.get(this.selected) : null;
    if (old) { old.classList.remove('ed-selected'); old.setAttribute('tabindex', '-1'); old.setAttribute('aria-pressed', 'false'); }
    this.selected = id;
    if (id && reveal) this.reveal(id);
    if (id && !this.nodeEls.has(id) && this.graph.byId.has(id) && this.pos.has(id)) this.drawNode(/** @type {GraphNode} */ (this.graph.byId.get(id)));
    const now = id ? this.nodeEls.get(id) : null;
    if (now) {
      now.classList.add('ed-selected');
      now.setAttribute('tabindex', '0');
      now.setAttribute('aria-pressed', 'true');
      if (focus) /** @type {any} */ (now).focus({ preventScroll: true });
    }
  }

  /** Pans so node `id` is on screen (centred when it was off). @param {string} id */
  reveal(id) {
    const p = this.pos.get(id);
    if (!p) return;
    const { w, h } = this.size();
    const { x, y, k } = this.t;
    const sx = p.x * k + x;
    const sy = p.y * k + y;
    if (sx < 40 || sx > w - 40 || sy < 40 || sy > h - 40) {
      this.t.x = w / 2 - p.x * k;
      this.t.y = h / 2 - p.y * k;
      this.apply();
    }
  }

  /** @param {number} dx @param {number} dy */
  panBy(dx, dy) {
    this.t.x += dx;
    this.t.y += dy;
    this.apply();
  }

  /** Zooms by `factor` around screen point (cx, cy) (default: the centre). @param {number} factor @param {number} [cx] @param {number} [cy] */
  zoomBy(factor, cx, cy) {
    const { w, h } = this.size();
    const px = cx ?? w / 2;
    const py = cy ?? h / 2;
    const k = Math.min(3, Math.max(0.03, this.t.k * factor));
    const f = k / this.t.k;
    this.t = { x: px - (px - this.t.x) * f, y: py - (py - this.t.y) * f, k };
    this.apply();
  }

  /** Fits the whole graph on screen (at most 1:1). */
  fit() {
    const { w, h } = this.size();
    let x0 = Infinity; let y0 = Infinity; let x1 = -Infinity; let y1 = -Infinity;
    for (const p of this.pos.values()) {
      x0 = Math.min(x0, p.x - NODE_W / 2); x1 = Math.max(x1, p.x + NODE_W / 2);
      y0 = Math.min(y0, p.y - NODE_H / 2); y1 = Math.max(y1, p.y + NODE_H / 2);
    }
    if (!Number.isFinite(x0)) return;
    const k = Math.min(1, Math.max(0.03, Math.min((w - 40) / (x1 - x0), (h - 40) / (y1 - y0))));
    this.t = { k, x: (w - (x1 - x0) * k) / 2 - x0 * k, y: Math.max(20 - y0 * k, (h - (y1 - y0) * k) / 2 - y0 * k) };
    this.apply();
  }

  /** Shows the top of the graph at 1:1 (where a big model is read from). */
  top() {
    const { w } = this.size();
    let x0 = Infinity; let x1 = -Infinity;
    for (const p of this.pos.values()) { x0 = Math.min(x0, p.x - NODE_W / 2); x1 = Math.max(x1, p.x + NODE_W / 2); }
    if (!Number.isFinite(x0)) return;
    this.t = { k: 1, x: w / 2 - (x0 + x1) / 2, y: 10 };
    this.apply();
  }

  /** Screen point -> graph point. @param {number} sx @param {number} sy */
  toGraph(sx, sy) {
    const r = this.surface.getBoundingClientRect();
    return { x: (sx - r.left - this.t.x) / this.t.k, y: (sy - r.top - this.t.y) / this.t.k };
  }

  wirePointer() {
    /** @type {{mode: 'pan' | 'wire', id: number, x: number, y: number, from?: string, moved: boolean} | null} */
    let drag = null;
    this.surface.addEventListener('pointerdown', (e) => {
      if (e.button !== 0) return;
      const target = /** @type {Element} */ (e.target);
      const nodeEl = target.closest('.ed-node');
      if (target.classList.contains('ed-port-out') && nodeEl) {
        drag = { mode: 'wire', id: e.pointerId, x: e.clientX, y: e.clientY, from: /** @type {string} */ (nodeEl.getAttribute('data-id')), moved: false };
        const p = this.pos.get(/** @type {string} */ (drag.from));
        if (p) {
          this.wire.setAttribute('x1', String(p.x)); this.wire.setAttribute('y1', String(p.y + NODE_H / 2));
          this.wire.setAttribute('x2', String(p.x)); this.wire.setAttribute('y2', String(p.y + NODE_H / 2));
          this.wire.setAttribute('visibility', 'visible');
        }
        this.surface.setPointerCapture(e.pointerId);
        e.preventDefault();
      } else if (!nodeEl && !target.closest('.ed-group-label')) {
        drag = { mode: 'pan', id: e.pointerId, x: e.clientX, y: e.clientY, moved: false };
        this.surface.setPointerCapture(e.pointerId);
      }
    });
    this.surface.addEventListener('pointermove', (e) => {
      if (!drag || e.pointerId !== drag.id) return;
      const dx = e.clientX - drag.x;
      const dy = e.clientY - drag.y;
      if (Math.abs(dx) + Math.abs(dy) > 2) drag.moved = true;
      if (drag.mode === 'pan') {
        drag.x = e.clientX; drag.y = e.clientY;
        this.panBy(dx, dy);
      } else {
        const g = this.toGraph(e.clientX, e.clientY);
        this.wire.setAttribute('x2', String(g.x)); this.wire.setAttribute('y2', String(g.y));
      }
    });
    const end = (/** @type {PointerEvent} */ e) => {
      if (!drag || e.pointerId !== drag.id) return;
      const d = drag;
      drag = null;
      this.wire.setAttribute('visibility', 'hidden');
      if (d.mode === 'wire' && d.from) {
        const over = document.elementFromPoint(e.clientX, e.clientY)?.closest('.ed-node');
        const to = over?.getAttribute('data-id');
        if (to && to !== d.from) this.handlers.onConnect(d.from, to);
      } else if (d.mode === 'pan' && !d.moved) {
        this.surface.focus({ preventScroll: true });
      }
    };
    this.surface.addEventListener('pointerup', end);
    this.surface.addEventListener('pointercancel', end);
    this.surface.addEventListener('click', (e) => {
      const target = /** @type {Element} */ (e.target);
      const toggle = target.closest('[data-toggle]');
      if (toggle) { this.handlers.onToggle(/** @type {string} */ (toggle.getAttribute('data-toggle'))); return; }
      const label = target.closest('.ed-group-label');
      if (label) { this.handlers.onToggle(/** @type {string} */ (label.parentElement?.getAttribute('data-group'))); return; }
      const id = target.closest('.ed-node')?.getAttribute('data-id');
      if (id) this.handlers.onSelect(id);
    });
    this.surface.addEventListener('focusin', (e) => {
      const id = /** @type {Element} */ (e.target).closest?.('.ed-node')?.getAttribute('data-id');
      if (id && id !== this.selected) this.handlers.onSelect(id);
    });
    this.surface.addEventListener('dblclick', (e) => {
      const id = /** @type {Element} */ (e.target).closest('.ed-node')?.getAttribute('data-id');
      const n = id ? this.graph.byId.get(id) : null;
      if (n && (n.kind === 'block' || n.group)) this.handlers.onToggle(n.group ?? n.id);
    });
    this.surface.addEventListener('wheel', (e) => {
      e.preventDefault();
      const r = this.surface.getBoundingClientRect();
      this.zoomBy(Math.exp(-e.deltaY * 0.0015), e.clientX - r.left, e.clientY - r.top);
    }, { passive: false });
    this.surface.addEventListener('dragover', (e) => {
      if (e.dataTransfer?.types.includes('application/x-convlab-layer')) { e.preventDefault(); e.dataTransfer.dropEffect = 'copy'; }
    });
    this.surface.addEventListener('drop', (e) => {
      const type = e.dataTransfer?.getData('application/x-convlab-layer');
      if (!type) return;
      e.preventDefault();
      const on = /** @type {Element} */ (e.target).closest('.ed-node')?.getAttribute('data-id') ?? null;
      this.handlers.onDropType(type, on);
    });
  }
}
