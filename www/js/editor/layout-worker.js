// @ts-check
/**
 * The layout worker: runs dagre's layered layout (Sugiyama: ranks, crossing reduction,
 * coordinates) off the page's thread, so a big graph (ResNet-152 expanded, ~520 layers)
 * never stalls a frame. In: `{id, nodes: [{id, width, height}], edges: [[from, to]]}`; out:
 * `{id, nodes: {id: {x, y}}, edges: [[x, y, ...]], width, height}` (centres; edge polylines
 * in the order given) or `{id, error}`.
 */
/** @type {Promise<any>} */
const dagre = import(new URL('../../assets/vendor/dagre/dagre.esm.js', import.meta.url).href).then((m) => m.default ?? m);

self.onmessage = async (/** @type {MessageEvent} */ e) => {
  const { id, nodes, edges, options } = e.data;
  try {
    const lib = await dagre;
    const g = new lib.graphlib.Graph({ multigraph: false });
    g.setGraph({ rankdir: 'TB', nodesep: 24, ranksep: 36, edgesep: 12, marginx: 20, marginy: 20, ...options });
    g.setDefaultEdgeLabel(() => ({}));
    for (const n of nodes) g.setNode(n.id, { width: n.width, height: n.height });
    for (const [a, b] of edges) g.setEdge(a, b);
    lib.layout(g);
    /** @type {Record<string, {x: number, y: number}>} */
    const at = {};
    for (const n of nodes) {
      const p = g.node(n.id);
      at[n.id] = { x: p.x, y: p.y };
    }
    const lines = edges.map((/** @type {[string, string]} */ [a, b]) => g.edge(a, b)?.points?.flatMap((/** @type {{x: number, y: number}} */ p) => [p.x, p.y]) ?? []);
    const graph = g.graph();
    self.postMessage({ id, nodes: at, edges: lines, width: graph.width ?? 0, height: graph.height ?? 0 });
  } catch (err) {
    self.postMessage({ id, error: err instanceof Error ? err.message : String(err) });
  }
};
