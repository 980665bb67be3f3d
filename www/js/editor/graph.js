// @ts-check
/**
 * The graph the editor draws: from the spec, the core's block expansion and summary, which
 * block instances are expanded, and the core's error. A collapsed block instance (all of its
 * repeats) is one node; an expanded one shows its layers, grouped under the instance. Without
 * an expansion (the spec does not expand) every instance shows collapsed.
 *
 * @typedef {import('./doc.js').ModelSpec} ModelSpec
 * @typedef {import('../types').ExpandedSpec} ExpandedSpec
 * @typedef {import('../types').ModelSummary} ModelSummary
 * @typedef {import('../types').LayerSummary} LayerSummary
 * @typedef {{
 *   id: string, label: string, type: string, kind: 'input' | 'layer' | 'block' | 'inner',
 *   entry: number, group: string | null, shape: number[] | null, params: number, macs: number,
 *   bytes: number, error: string | null, layers: string[],
 * }} GraphNode
 *   `entry`: the top-level entry (-1 for the input); `group`: the expanded instance an inner
 *   layer belongs to; `layers`: the full names of the core's layers it stands for.
 * @typedef {{nodes: GraphNode[], edges: [string, string][], byId: Map<string, GraphNode>}} Graph
 */
import { entries, entryNames, entryInputs, entryOf, entryIndexer, inputName, isBlock } from './doc.js';

/**
 * @param {ModelSpec} spec @param {Set<string>} expanded entry names shown expanded
 * @param {{name: string, className: string, inputs: string[], block: string | null}[] | null} flat
 *   the core's layers after block expansion (the summary's or the expansion's), without the input
 * @param {ModelSummary | null} summary
 * @param {{layer: string | null, message: string} | null} error
 * @returns {Graph}
 */
export function buildGraph(spec, expanded, flat, summary, error) {
  const names = entryNames(spec);
  const list = entries(spec);
  /** @type {Map<string, LayerSummary>} */
  const rows = new Map((summary?.layers ?? []).map((l) => [l.name, l]));
  /** @type {GraphNode[]} */
  const nodes = [];
  /** @type {Map<string, string>} core layer name -> node id */
  const owner = new Map();
  const input = inputName(spec);
  nodes.push(node(input, 'Input', 'input', -1, null, [input]));
  owner.set(input, input);
  /** @type {[string, string][]} */
  const edges = [];
  if (flat) {
    /** @type {Map<string, GraphNode>} */
    const copyEntry = new Map();
    const indexOf = entryIndexer(spec);
    for (const l of flat) {
      const i = indexOf(l.block === null ? l.name : l.block);
      const e = list[i];
      const entryName = names[i] ?? l.name;
      if (l.block !== null && e && isBlock(e) && !expanded.has(entryName)) {
        let block = copyEntry.get(entryName);
        if (!block) {
          const reps = Number(e.repeat ?? 1);
          block = node(entryName, `${e.block}${reps > 1 ? ` ×${reps}` : ''}`, 'block', i, null, []);
          copyEntry.set(entryName, block);
          nodes.push(block);
        }
        owner.set(l.name, entryName);
        block.layers.push(l.name);
      } else {
        const inner = l.block !== null;
        nodes.push(node(l.name, l.className, inner ? 'inner' : 'layer', i, inner ? entryName : null, [l.name]));
        owner.set(l.name, l.name);
      }
    }
    for (const l of flat) {
      const to = /** @type {string} */ (owner.get(l.name));
      for (const from of l.inputs) {
        const f = owner.get(from);
        if (f && f !== to) edges.push([f, to]);
      }
    }
  } else {
    const inputs = entryInputs(spec);
    list.forEach((e, i) => {
      nodes.push(node(names[i], isBlock(e) ? `${e.block}${(e.repeat ?? 1) > 1 ? ` ×${e.repeat}` : ''}` : String(e.class_name ?? '?'), isBlock(e) ? 'block' : 'layer', i, null, []));
    });
    const ids = new Set(nodes.map((n) => n.id));
    list.forEach((_, i) => {
      for (const from of inputs[i]) {
        const j = ids.has(from) ? from : names[entryOf(spec, from)];
        if (j !== undefined && ids.has(j)) edges.push([j, names[i]]);
      }
    });
  }
  const byId = new Map(nodes.map((n) => [n.id, n]));
  for (const n of nodes) fillCounts(n, rows);
  markError(spec, byId, owner, error);
  return { nodes, edges: dedupeEdges(edges), byId };
}

/** @param {string} id @param {string} type @param {GraphNode['kind']} kind @param {number} entry @param {string | null} group @param {string[]} layers @returns {GraphNode} */
function node(id, type, kind, entry, group, layers) {
  const label = group ? id.slice(id.indexOf('/') + 1) : id;
  return { id, label, type, kind, entry, group, shape: null, params: 0, macs: 0, bytes: 0, error: null, layers };
}

/** Shapes and counts from the summary: a block node sums its layers, its shape is its last's. */
function fillCounts(/** @type {GraphNode} */ n, /** @type {Map<string, LayerSummary>} */ rows) {
  for (const name of n.layers) {
    const r = rows.get(name);
    if (!r) continue;
    n.params += r.params;
    n.macs += r.macs;
    n.bytes += r.activationBytes;
    n.shape = r.outputShape;
  }
}

/** @param {[string, string][]} edges */
function dedupeEdges(edges) {
  const seen = new Set();
  return edges.filter(([a, b]) => {
    const k = `${a}\u0000${b}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Puts the core's message on the node of the layer it names (a layer inside a collapsed block
 * marks the block).
 * @param {ModelSpec} spec @param {Map<string, GraphNode>} byId @param {Map<string, string>} owner
 * @param {{layer: string | null, message: string} | null} error
 */
function markError(spec, byId, owner, error) {
  if (!error?.layer) return;
  const id = owner.get(error.layer) ?? (byId.has(error.layer) ? error.layer : entryNames(spec)[entryOf(spec, error.layer)]);
  const n = id === undefined ? undefined : byId.get(id);
  if (n) n.error = error.message;
}

/**
 * The layer a core message names: `layer 'conv3' (Conv2D): ...`, `layers 'a' -> 'b' ...`.
 * @param {string} message @returns {string | null}
 */
export function layerOfMessage(message) {
  const m = /^(?:link: )?layers? '(.+?)'(?= \(|:| ->|$)/.exec(message);
  if (m) return m[1];
  const at = /\bat layer '(.+?)'(?=\)|[,;:]|$)/.exec(message);
  return at ? at[1] : null;
}

/**
 * The layer a message names, also by position (`model spec: layers[8].repeat: ...` is the
 * ninth entry).
 * @param {string} message @param {ModelSpec} spec @returns {string | null}
 */
export function layerOfSpecMessage(message, spec) {
  const named = layerOfMessage(message);
  if (named) return named;
  const m = /^model spec: layers\[(\d+)\]/.exec(message);
  return m ? entryNames(spec)[Number(m[1])] ?? null : null;
}
