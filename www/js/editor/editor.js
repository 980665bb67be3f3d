// @ts-check
/**
 * The Build view: the layer-graph editor. The spec is the document; every edit makes a new
 * spec (doc.js), which the core checks at once (Model.fromSpec, summary, block expansion) so
 * the graph, the summary and the marks on invalid layers follow every keystroke.
 *
 * History: every edit is a step of a timeline (undo/redo) and a browser history entry
 * (pushState with the share link when the model is valid), so back/forward walk the same
 * steps; undo and redo go through history.back()/forward() when the entries are this page's.
 * Autosave: every step is written to IndexedDB (autosave.js); a shared link never silently
 * replaces kept work (the user chooses: beside it, or replace). A valid model is published to
 * the other views through the store.
 *
 * @typedef {import('./doc.js').ModelSpec} ModelSpec
 * @typedef {import('./graph.js').Graph} Graph
 * @typedef {import('./graph.js').GraphNode} GraphNode
 * @typedef {{seq: number, spec: ModelSpec, expanded: string[]}} Step
 */
import api from '../core.js';
import * as store from '../store.js';
import * as doc from './doc.js';
import { buildGraph, layerOfSpecMessage } from './graph.js';
import { GraphView } from './graph-view.js';
import { layout } from './layout.js';
import { Inspector } from './inspector.js';
import { SummaryTable } from './summary-table.js';
import { DEFAULTS } from './layers.js';
import { render } from './editor-view.js';
import { wireKeys } from './keys.js';
import { wireFiles, openLinkAtStart, showSaved, onHashChange } from './editor-io.js';
import * as autosave from './autosave.js';
import { parseHash } from '../train-settings.js';

/** @type {WeakMap<Step, string>} */
const stepTexts = new WeakMap();
/** A step as JSON text, made once per step. @param {Step} step */
function stepJson(step) {
  let text = stepTexts.get(step);
  if (text === undefined) {
    text = JSON.stringify({ seq: step.seq, spec: step.spec, expanded: step.expanded });
    stepTexts.set(step, text);
  }
  return text;
}

/** The blank model: an input layer only. @returns {ModelSpec} */
export const blankSpec = () => ({ format: 'convlab-model', version: 1, name: 'blank', input: { shape: [28, 28, 1] }, layers: [] });

export class Editor {
  /** @param {HTMLElement} host */
  constructor(host) {
    this.ui = render(host, api.zoo.names(), api.editor.layerTypes());
    /** @type {ModelSpec} */
    this.spec = blankSpec();
    /** @type {Set<string>} */
    this.expanded = new Set();
    /** @type {Step[]} */
    this.timeline = [];
    this.cursor = -1;
    this.seq = 0;
    this.session = Math.random().toString(36).slice(2, 10);
    /** @type {Set<number>} steps pushed onto this document's history */
    this.pushed = new Set();
    /** @type {{push: boolean, seq: number, keepUrl: boolean}[]} history writes not done yet */
    this.historyQueue = [];
    this.historyTimer = 0;
    this.saveTimer = 0;
    this.work = { id: autosave.newId(), name: 'blank' };
    /** @type {any} */
    this.model = null;
    /** @type {import('../types').ModelSummary | null} */
    this.summary = null;
    /** @type {import('../types').ExpandedSpec | null | undefined} the expansion, once asked for */
    this.expanded_ = undefined;
    /** @type {{layer: string | null, message: string} | null} */
    this.error = null;
    /** @type {Graph} */
    this.graph = { nodes: [], edges: [], byId: new Map() };
    this.layoutKey = '';
    this.tablePending = false;
    /** @type {Promise<void>} */
    this.saving = Promise.resolve();
    /** @type {{key: string, at: number} | null} the field being typed into (one undo step) */
    this.typing = null;
    this.view = new GraphView(this.ui.canvas, {
      onSelect: (id) => this.select(id),
      onConnect: (from, to) => this.connect(from, to),
      onToggle: (id) => this.toggle(id),
      onDropType: (type, on) => this.add(type, on),
    });
    this.inspector = new Inspector(this.ui.inspector, {
      onField: (node, key, value) => this.setField(node, key, value),
      onRename: (node, name) => this.rename(node, name),
      onInputs: (node, names) => this.setInputs(node, names),
      onInputShape: (shape) => this.edit({ ...doc.clone(this.spec), input: { ...this.spec.input, shape } }, { typing: 'input.shape' }),
      onToggle: (id) => this.toggle(id),
    });
    this.table = new SummaryTable(this.ui.summary, { onSelect: (id) => this.select(id, { reveal: true }), onOptions: () => this.refresh() });
    this.wire();
  }

  wire() {
    const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (document.getElementById(id));
    $('ed-open').addEventListener('click', () => this.openZoo(this.ui.zoo.value));
    $('ed-undo').addEventListener('click', () => this.undo());
    $('ed-redo').addEventListener('click', () => this.redo());
    $('ed-delete').addEventListener('click', () => this.remove());
    $('ed-duplicate').addEventListener('click', () => this.duplicate());
    $('ed-expand-all').addEventListener('click', () => this.expandAll(true));
    $('ed-collapse-all').addEventListener('click', () => this.expandAll(false));
    $('ed-zoom-in').addEventListener('click', () => this.view.zoomBy(1.25));
    $('ed-zoom-out').addEventListener('click', () => this.view.zoomBy(0.8));
    $('ed-fit').addEventListener('click', () => this.view.fit());
    this.ui.palette.addEventListener('click', (e) => {
      const type = /** @type {Element} */ (e.target).closest('[data-type]')?.getAttribute('data-type');
      if (type) this.add(type, this.view.selected);
    });
    this.ui.palette.addEventListener('dragstart', (e) => {
      const type = /** @type {Element} */ (e.target).closest('[data-type]')?.getAttribute('data-type');
      if (type && e.dataTransfer) { e.dataTransfer.setData('application/x-convlab-layer', type); e.dataTransfer.effectAllowed = 'copy'; }
    });
    window.addEventListener('popstate', (e) => this.onPopState(e.state));
    window.addEventListener('pagehide', () => { this.flush(); });
    window.addEventListener('hashchange', () => onHashChange(this));
    wireKeys(this);
    wireFiles(this);
  }

  /** Sets a status line (an error in red). @param {string} text @param {boolean} [error] */
  say(text, error = false) {
    this.ui.status.textContent = text;
    this.ui.status.classList.toggle('error', error);
  }

  // ---- checking and drawing ----

  /** Runs the spec through the core: expansion, model, summary, the error and where it is. */
  check() {
    this.model?.free();
    this.model = null;
    this.summary = null;
    this.error = null;
    this.expanded_ = undefined;
    try {
      this.model = api.Model.fromSpec(this.spec);
      this.summary = this.model.summary(this.table.options());
    } catch (e) {
      const message = /** @type {Error} */ (e).message;
      this.error = { layer: layerOfSpecMessage(message, this.spec), message };
    }
  }

  /**
   * The core's expansion of the spec's blocks (configs included), made when first asked for:
   * a valid model's summary already has every layer's name, inputs and block.
   * @returns {import('../types').ExpandedSpec | null}
   */
  get expansion() {
    if (this.expanded_ === undefined) {
      try {
        this.expanded_ = api.editor.expand(this.spec);
      } catch {
        this.expanded_ = null;
      }
    }
    return this.expanded_;
  }

  /** The layers to draw: the summary's (a valid model) or the expansion's. */
  flatLayers() {
    const input = doc.inputName(this.spec);
    if (this.summary) {
      return this.summary.layers.filter((l) => !(l.className === 'InputLayer' && l.name === input));
    }
    return this.expansion?.layers ?? null;
  }

  /** Checks the spec and redraws the graph, summary and inspector. @param {{keepInspector?: boolean}} [options] */
  refresh({ keepInspector = false } = {}) {
    this.check();
    this.graph = buildGraph(this.spec, this.expanded, this.flatLayers(), this.summary, this.error);
    const key = `${this.graph.nodes.map((n) => n.id).join('\u0001')}\u0002${this.graph.edges.map((e) => e.join('\u0000')).join('\u0001')}`;
    const relayout = key !== this.layoutKey;
    this.view.setGraph(this.graph, null);
    if (relayout) this.relayout(key);
    if (this.view.selected && !this.graph.byId.has(this.view.selected)) this.view.select(null);
    this.showTable();
    if (!keepInspector) this.showInspector();
    else {
      const shown = this.inspector.node ? this.graph.byId.get(this.inspector.node.id) : null;
      if (shown) { this.inspector.node = shown; this.inspector.showFacts(shown); }
    }
    this.inspector.showCoreProblem(this.error?.message ?? null, this.error?.layer ?? null);
    if (this.error) this.say(`Not valid: ${this.error.message}`, true);
    else this.say(`${this.spec.name ?? 'model'}: valid, ${this.summary?.totals.params.toLocaleString('en-US')} parameters.`);
    /** @type {HTMLButtonElement} */ (document.getElementById('ed-undo')).disabled = this.cursor <= 0;
    /** @type {HTMLButtonElement} */ (document.getElementById('ed-redo')).disabled = this.cursor >= this.timeline.length - 1;
    this.ui.root.dataset.valid = String(!this.error);
  }

  /**
   * The summary: the totals at once; on a big model (over 200 rows) the rows just after this
   * frame is painted, so that an edit's frame holds the core's check and the graph, not also a
   * pass over every row.
   */
  showTable() {
    const [graph, summary, problem] = [this.graph, this.summary, this.error?.message ?? null];
    if (graph.nodes.length <= 200) {
      this.table.show(graph, summary, problem);
      return;
    }
    this.table.showTotals(summary, problem);
    if (this.tablePending) return;
    this.tablePending = true;
    requestAnimationFrame(() => setTimeout(() => {
      this.tablePending = false;
      this.table.show(this.graph, this.summary, this.error?.message ?? null);
    }, 0));
  }

  /** Lays the graph out in the worker; the view keeps the old positions until it answers. @param {string} key */
  async relayout(key) {
    this.layoutKey = key;
    const first = this.view.pos.size <= 1;
    this.ui.root.dataset.layout = 'pending';
    const note = /** @type {HTMLElement} */ (document.getElementById('ed-layout-note'));
    if (this.graph.nodes.length > 150) note.textContent = `Laying out ${this.graph.nodes.length} layers...`;
    try {
      const graph = this.graph;
      const result = await layout(graph.nodes.map((n) => n.id), graph.edges);
      if (!result || this.graph !== graph) return;
      this.view.setGraph(graph, result);
      if (first || this.fitNext) this.fitOrTop();
      this.fitNext = false;
      if (this.view.selected) this.view.select(this.view.selected, { reveal: true });
      note.textContent = '';
      this.ui.root.dataset.layout = 'done';
    } catch (e) {
      note.textContent = /** @type {Error} */ (e).message;
    }
  }

  /** A small graph is fitted; a big one shows its top at 1:1 (fitting 500 layers makes them dots). */
  fitOrTop() {
    if (this.graph.nodes.length > 60) this.view.top();
    else this.view.fit();
  }

  showInspector() {
    const id = this.view.selected;
    const node = id ? this.graph.byId.get(id) ?? null : null;
    const entry = node && node.entry >= 0 ? doc.entries(this.spec)[node.entry] : null;
    const flat = node?.kind === 'inner' ? this.expansion?.layers.find((l) => l.name === node.id) : null;
    const blockParams = entry && doc.isBlock(entry) ? /** @type {any} */ (this.spec.blocks)?.[/** @type {string} */ (entry.block)]?.params ?? {} : null;
    const inputs = node && node.entry >= 0 ? doc.entryInputs(this.spec)[node.entry] : null;
    this.inspector.show(node, { entry, config: flat ? flat.config : entry?.config ?? null, blockParams, inputShape: this.spec.input?.shape, inputs });
  }

  // ---- the timeline, the browser history, autosave ----

  /**
   * Makes `spec` the current spec as a new step. `typing` names a field being typed into:
   * keystrokes in the same field within 2 s are one step.
   * @param {ModelSpec} spec @param {{typing?: string, select?: string | null, keepInspector?: boolean}} [options]
   */
  edit(spec, { typing, select, keepInspector } = {}) {
    const now = performance.now();
    const same = typing && this.typing && this.typing.key === typing && now - this.typing.at < 2000 && this.cursor === this.timeline.length - 1;
    this.typing = typing ? { key: typing, at: now } : null;
    this.spec = spec;
    const step = { seq: ++this.seq, spec: doc.clone(spec), expanded: [...this.expanded] };
    if (same && this.cursor > 0) {
      this.timeline[this.cursor] = step;
    } else {
      this.timeline = this.timeline.slice(0, this.cursor + 1);
      this.timeline.push(step);
      this.cursor = this.timeline.length - 1;
    }
    if (select !== undefined) this.view.select(select);
    this.refresh({ keepInspector: keepInspector ?? !!typing });
    this.record(!same);
    this.autosave();
    this.publish();
  }

  /**
   * Writes the current step into the browser history (push or replace); `keepUrl` leaves the
   * address as it is (a link the user has not answered yet).
   * @param {boolean} push @param {{keepUrl?: boolean}} [options]
   */
  record(push, { keepUrl = false } = {}) {
    const seq = this.timeline[this.cursor].seq;
    const last = this.historyQueue.at(-1);
    // Writes wait for the frame to end (a history write costs a round trip to the browser);
    // a replace right after a queued write just changes what that write says.
    if (!push && last) Object.assign(last, { seq, keepUrl });
    else this.historyQueue.push({ push, seq, keepUrl });
    if (!this.historyTimer) this.historyTimer = setTimeout(() => this.flushHistory(), 30);
  }

  /** Does the queued history writes now (before anything reads or walks the history). */
  flushHistory() {
    clearTimeout(this.historyTimer);
    this.historyTimer = 0;
    const queue = this.historyQueue;
    this.historyQueue = [];
    for (const { push, seq, keepUrl } of queue) {
      const state = { ...(history.state ?? {}), convlabEditor: { session: this.session, seq } };
      if (push) {
        history.pushState(state, '', location.href);
        this.pushed.add(seq);
      } else {
        // A replaced entry keeps its place: if this page pushed it, it still lines up.
        if (this.pushed.has(history.state?.convlabEditor?.seq)) this.pushed.add(seq);
        history.replaceState(state, '', location.href);
      }
      if (!keepUrl) this.linkLater(seq);
    }
  }

  /**
   * Puts the model's link into the address of history entry `seq` once the edits pause (the
   * link's compression is the slowest part of an edit on a big model; a burst of keystrokes
   * needs it once).
   * @param {number} seq
   */
  linkLater(seq) {
    clearTimeout(this.linkTimer);
    this.linkTimer = setTimeout(() => {
      if (!this.model || history.state?.convlabEditor?.seq !== seq) return;
      const url = new URL(location.href);
      url.hash = this.linkHash();
      if (url.href !== location.href) history.replaceState(history.state, '', url);
    }, 120);
  }

  /** The share hash of the current (valid) model, keeping the address's training settings. */
  linkHash() {
    const train = parseHash(location.hash).train;
    return `${this.model.toUrl()}${train ? `&train=${train}` : ''}`;
  }

  /** Moves to step `index` of the timeline. @param {number} index */
  go(index) {
    if (index < 0 || index >= this.timeline.length) return;
    this.cursor = index;
    this.typing = null;
    const step = this.timeline[index];
    this.spec = doc.clone(step.spec);
    this.expanded = new Set(step.expanded);
    this.refresh();
    this.autosave();
    this.publish();
  }

  /**
   * True when the browser's entry next to this one (back for undo, forward for redo) is this
   * page's step `index`: the current entry is the current step, and the later of the two
   * steps was pushed by this page (so the entries line up with the timeline).
   * @param {number} index
   */
  inHistory(index) {
    this.flushHistory();
    const here = history.state?.convlabEditor;
    const now = this.timeline[this.cursor];
    const later = this.timeline[Math.max(index, this.cursor)];
    return here?.session === this.session && here.seq === now?.seq && !!later && this.pushed.has(later.seq);
  }

  undo() {
    if (this.cursor <= 0) return;
    if (this.inHistory(this.cursor - 1)) { history.back(); return; }
    this.go(this.cursor - 1);
    this.record(false);
  }

  redo() {
    if (this.cursor >= this.timeline.length - 1) return;
    if (this.inHistory(this.cursor + 1)) { history.forward(); return; }
    this.go(this.cursor + 1);
    this.record(false);
  }

  /** Back/forward: the step the entry names. @param {any} state */
  onPopState(state) {
    const mine = state?.convlabEditor;
    if (!mine) return;
    const index = this.timeline.findIndex((s) => s.seq === mine.seq);
    if (index >= 0 && index !== this.cursor) this.go(index);
  }

  /**
   * Writes the work to IndexedDB shortly after the step (a burst of keystrokes is one write),
   * or at once with `now`; in order. Failures are reported, a full quota named.
   * @param {{now?: boolean}} [options] @returns {Promise<void>} the write (with `now`)
   */
  autosave({ now = false } = {}) {
    clearTimeout(this.saveTimer);
    this.saveTimer = 0;
    if (!now) {
      this.saveTimer = setTimeout(() => this.autosave({ now: true }), 150);
      return this.saving;
    }
    const keep = this.timeline.slice(-100);
    const work = {
      ...this.work, name: String(this.spec.name ?? this.work.name), spec: doc.clone(this.spec), expanded: [...this.expanded],
      timeline: keep.map(stepJson), cursor: Math.max(0, this.cursor - (this.timeline.length - keep.length)),
      session: this.session, savedAt: Date.now(),
    };
    this.saving = this.saving.then(async () => {
      try {
        await autosave.saveWork(work);
        this.ui.saveNote.textContent = `Saved in this browser at ${new Date(work.savedAt).toLocaleTimeString()}.`;
        this.ui.saveNote.classList.remove('error');
        this.ui.root.dataset.saved = String(work.savedAt);
      } catch (e) {
        this.ui.saveNote.textContent = `Autosave failed: ${autosave.describe(e)}. Your work is still here; export it to keep it safe.`;
        this.ui.saveNote.classList.add('error');
        this.ui.saveNote.setAttribute('role', 'alert');
      }
      await showSaved(this);
    });
    return this.saving;
  }

  /** Finishes what is pending: history writes and the autosave (tests and page hide use it). */
  flush() {
    this.flushHistory();
    return this.saveTimer ? this.autosave({ now: true }) : this.saving;
  }

  /** Tells the other views about the current model when it is valid (after typing pauses). */
  publish() {
    clearTimeout(this.publishTimer);
    this.publishTimer = setTimeout(() => {
      if (!this.model) return;
      store.update({ model: { spec: doc.clone(this.spec), name: String(this.spec.name ?? 'model'), weights: null, classNames: null, origin: 'editor' } });
    }, 300);
  }

  /**
   * Loads a whole work: its timeline and position (a fresh one from `spec` when it has none).
   * @param {{id: string, name: string, spec: ModelSpec, expanded?: string[], timeline?: string[], cursor?: number, session?: string}} work
   * @param {{keepUrl?: boolean}} [options] keepUrl: leave the address as it is (a link not yet answered)
   */
  load(work, { keepUrl = false } = {}) {
    const steps = (Array.isArray(work.timeline) ? work.timeline : []).map((t) => /** @type {Step} */ (JSON.parse(t)));
    if (steps.some((st) => typeof st?.seq !== 'number' || typeof st.spec !== 'object' || st.spec === null || !Array.isArray(st.expanded))) {
      throw new Error('its undo history is not in the form this editor writes');
    }
    if (!steps.length && (typeof work.spec !== 'object' || work.spec === null)) throw new Error('it holds no spec');
    this.work = { id: String(work.id), name: String(work.name) };
    if (steps.length) {
      this.timeline = steps;
      this.cursor = Math.min(work.cursor ?? steps.length - 1, steps.length - 1);
      this.seq = Math.max(...steps.map((s) => s.seq));
      if (work.session) this.session = work.session;
    } else {
      this.seq += 1;
      this.timeline = [{ seq: this.seq, spec: doc.clone(work.spec), expanded: work.expanded ?? [] }];
      this.cursor = 0;
    }
    const step = this.timeline[this.cursor];
    this.spec = doc.clone(step.spec);
    this.expanded = new Set(step.expanded);
    this.view.select(null);
    this.fitNext = true;
    this.layoutKey = '';
    this.view.pos.clear();
    this.refresh();
    this.record(false, { keepUrl });
  }

  // ---- edits ----

  /** @param {string} name zoo name, '' for blank */
  openZoo(name) {
    const spec = name ? api.zoo.spec(name) : blankSpec();
    this.expanded = new Set();
    this.fitNext = true;
    this.edit(spec, { select: null });
    this.say(`Opened ${name || 'a blank model'}${this.error ? '' : `: ${this.summary?.totals.params.toLocaleString('en-US')} parameters`}. Undo goes back to what you had.`);
  }

  /** @param {string | null} id */
  select(id, { reveal = false, focus = false } = {}) {
    this.view.select(id, { reveal, focus });
    this.showInspector();
    this.inspector.showCoreProblem(this.error?.message ?? null, this.error?.layer ?? null);
    for (const row of this.ui.summary.querySelectorAll('tr.ed-current')) row.classList.remove('ed-current');
    if (id) this.ui.summary.querySelector(`tr[data-id="${CSS.escape(id)}"]`)?.classList.add('ed-current');
  }

  /** The top-level entry a node edits (-1: the input, null: none). */
  entryIndex(/** @type {string | null} */ id) {
    const n = id ? this.graph.byId.get(id) : null;
    return n ? n.entry : null;
  }

  /** Adds a layer of `type` after node `on` (else after the last entry). @param {string} type @param {string | null} on */
  add(type, on) {
    let index = this.entryIndex(on);
    if (index === null) index = doc.entries(this.spec).length - 1;
    const { spec, name } = doc.insertLayer(this.spec, index, type, DEFAULTS[type] ?? {});
    this.edit(spec, { select: name });
    this.view.select(name, { reveal: true });
    this.say(`Added ${name} (${type})${this.error ? `: ${this.error.message}` : '.'}`, !!this.error);
  }

  remove() {
    const id = this.view.selected;
    const index = this.entryIndex(id);
    if (index === null) return this.say('Select a layer to delete.');
    if (index < 0) return this.say('The input layer cannot be deleted (a model starts from it).', true);
    const order = this.graph.nodes.map((n) => n.id);
    const next = order[Math.max(0, order.indexOf(/** @type {string} */ (id)) - 1)] ?? null;
    const name = doc.entryNames(this.spec)[index];
    this.edit(doc.deleteEntry(this.spec, index), { select: next });
    this.select(next, { focus: document.activeElement?.closest?.('.ed-svg') !== null });
    this.say(`Deleted ${name}; what read it now reads what it read.`);
  }

  duplicate() {
    const index = this.entryIndex(this.view.selected);
    if (index === null || index < 0) return this.say('Select a layer (not the input) to duplicate.');
    const { spec, name } = doc.duplicateEntry(this.spec, index);
    this.edit(spec, { select: name });
    this.select(name, { reveal: true });
    this.say(`Duplicated as ${name}, reading the original.`);
  }

  /** @param {string} from @param {string} to */
  connect(from, to) {
    const index = this.entryIndex(to);
    if (index === null || index < 0) return;
    const target = this.graph.byId.get(to);
    if (target?.kind === 'inner') return this.say('Connect to a layer outside expanded blocks (or collapse the block and connect to the block).', true);
    const source = this.graph.byId.get(from);
    const name = source?.kind === 'block' ? from : from;
    this.edit(doc.connect(this.spec, name, index), { select: to });
    this.say(`${to} now reads ${from}${this.error ? `: ${this.error.message}` : '.'}`, !!this.error);
  }

  /** @param {GraphNode} node @param {string} key @param {any} value */
  setField(node, key, value) {
    let index = node.entry;
    let select = node.id;
    let spec = this.spec;
    if (node.kind === 'inner' && this.expansion) {
      const unpacked = doc.unpack(spec, index, this.expansion.layers);
      spec = unpacked.spec;
      select = unpacked.names.get(node.id) ?? node.id;
      index = doc.entryNames(spec).indexOf(select);
      this.expanded.delete(/** @type {string} */ (node.group));
      this.say(`Unpacked ${node.group} into plain layers to edit ${select}.`);
      this.edit(doc.setField(spec, index, key, value), { select });
      this.select(select, { reveal: true });
      this.inspector.refocus(key);
      return;
    }
    this.edit(doc.setField(spec, index, key, value), { typing: `${node.id}.${key}` });
  }

  /** @param {GraphNode} node @param {string} name @returns {string | null} a problem */
  rename(node, name) {
    const n = name.trim();
    if (!n || n.includes('/') || n.length > 200) return 'A name needs 1 to 200 characters and no "/".';
    if (n === node.id) return null;
    if (doc.entryNames(this.spec).includes(n) || doc.inputName(this.spec) === n) return `${n} is taken by another layer.`;
    if (this.expanded.delete(node.id)) this.expanded.add(n);
    this.edit(doc.rename(this.spec, node.entry, n), { select: n });
    this.select(n);
    return null;
  }

  /** @param {GraphNode} node @param {string[]} names @returns {string | null} a problem */
  setInputs(node, names) {
    if (!names.length) return 'A layer reads at least one layer.';
    const known = new Set([doc.inputName(this.spec), ...doc.entryNames(this.spec), ...(this.expansion?.layers.map((l) => l.name) ?? [])]);
    const unknown = names.filter((n) => !known.has(n) && doc.entryOf(this.spec, n) < 0);
    if (unknown.length) return `No layer named ${unknown.join(', ')}.`;
    this.edit(doc.setInputs(this.spec, node.entry, names), { keepInspector: true });
    return null;
  }

  /** Expands or collapses block instance `id` (an entry name). @param {string} id */
  toggle(id) {
    const n = this.graph.byId.get(id);
    const name = n?.group ?? id;
    const entry = doc.entries(this.spec)[doc.entryNames(this.spec).indexOf(name)];
    if (!entry || !doc.isBlock(entry)) return;
    if (this.expanded.has(name)) this.expanded.delete(name);
    else this.expanded.add(name);
    const open = this.expanded.has(name);
    this.edit(doc.clone(this.spec), { select: open ? null : name });
    const first = open ? this.graph.nodes.find((g) => g.group === name)?.id ?? null : name;
    this.select(first, { reveal: true, focus: document.activeElement?.closest?.('.ed-svg') != null });
    this.say(open ? `Expanded ${name} in place; it stays a block in the spec until you edit a layer inside it.` : `Collapsed ${name}.`);
  }

  /** @param {boolean} open */
  expandAll(open) {
    const names = doc.entryNames(this.spec);
    this.expanded = new Set(open ? doc.entries(this.spec).flatMap((e, i) => (doc.isBlock(e) ? [names[i]] : [])) : []);
    this.fitNext = true;
    this.edit(doc.clone(this.spec), { select: null });
  }
}

/** @type {Editor | null} the mounted editor (tests and the benchmark drive it) */
export let current = null;

/** Builds the Build view in `host`. @param {HTMLElement} host */
export async function mount(host) {
  await api.ready;
  const editor = new Editor(host);
  current = editor;
  /** @type {any} */ (globalThis).__convlabEditor = editor;
  await openLinkAtStart(editor);
  host.dataset.ready = 'true';
  return editor;
}
