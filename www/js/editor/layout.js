// @ts-check
/**
 * The client of the layout worker (layout-worker.js): `layout(graph)` resolves to node centres
 * and edge polylines. Requests are latest-wins: while one runs, only the newest waits, and
 * older callers get `null` (their graph is already stale).
 *
 * @typedef {{nodes: Record<string, {x: number, y: number}>, edges: number[][], width: number, height: number}} Layout
 */

/** Every node's box (the view draws them this size). */
export const NODE_W = 176;
export const NODE_H = 46;

/** @type {Worker | null} */
let worker = null;
let nextId = 1;
/** @type {Map<number, (v: any) => void>} */
const waiting = new Map();

function start() {
  if (worker) return worker;
  const w = new Worker(new URL('./layout-worker.js', import.meta.url), { type: 'module' });
  w.onmessage = (e) => {
    const done = waiting.get(e.data.id);
    waiting.delete(e.data.id);
    done?.(e.data);
  };
  w.onerror = (e) => {
    e.preventDefault();
    for (const done of waiting.values()) done({ error: `the layout worker failed: ${e.message || 'it could not start'}` });
    waiting.clear();
    worker = null;
  };
  worker = w;
  return w;
}

let latest = 0;

/**
 * Lays out `nodes` (ids) and `edges`; resolves to null when a newer request superseded it.
 * Throws the worker's message on failure.
 * @param {string[]} nodes @param {[string, string][]} edges
 * @returns {Promise<Layout | null>}
 */
export async function layout(nodes, edges) {
  const id = nextId++;
  latest = id;
  const w = start();
  const result = await new Promise((resolve) => {
    waiting.set(id, resolve);
    w.postMessage({ id, nodes: nodes.map((n) => ({ id: n, width: NODE_W, height: NODE_H })), edges });
  });
  if (result.error) throw new Error(`layout: ${result.error}`);
  return id === latest ? result : null;
}
