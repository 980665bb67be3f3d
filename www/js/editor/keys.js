// @ts-check
/**
 * The editor's keyboard: shortcuts anywhere in the Build view (undo, redo, duplicate, delete,
 * help), and in the graph: arrows pan the background or move the selection between layers,
 * +/- zoom, 0 fits, Enter expands or collapses a block.
 */

/** Fields where typing keys mean text, not shortcuts. @param {EventTarget | null} t */
function typingIn(t) {
  return t instanceof HTMLTextAreaElement || (t instanceof HTMLInputElement && t.type !== 'checkbox' && t.type !== 'file') || t instanceof HTMLSelectElement;
}

/** @param {import('./editor.js').Editor} ed */
export function wireKeys(ed) {
  const root = ed.ui.root;
  // On the document, so that a shortcut still works when focus fell back to the page's body
  // (after a dialog closed, say); only while the Build view is shown.
  document.addEventListener('keydown', (e) => {
    const target = /** @type {Node} */ (e.target);
    if (!root.isConnected || root.offsetParent === null) return;
    if (!(root.contains(target) || target === document.body || target === document.documentElement)) return;
    const ctrl = e.ctrlKey || e.metaKey;
    const key = e.key.toLowerCase();
    const inText = typingIn(e.target);
    if (ctrl && !e.altKey && key === 'z' && !(e.target instanceof HTMLTextAreaElement)) {
      e.preventDefault();
      if (e.shiftKey) ed.redo(); else ed.undo();
      return;
    }
    if (ctrl && !e.altKey && key === 'y' && !(e.target instanceof HTMLTextAreaElement)) {
      e.preventDefault();
      ed.redo();
      return;
    }
    if (ctrl && key === 'd' && !inText) {
      e.preventDefault();
      ed.duplicate();
      return;
    }
    if (inText) return;
    const inGraph = !!(/** @type {Element} */ (e.target).closest?.('.ed-svg')) || e.target === document.body;
    if ((e.key === 'Delete' || e.key === 'Backspace') && !ctrl && inGraph) {
      e.preventDefault();
      ed.remove();
      return;
    }
    if (e.key === '?') { toggleHelp(ed); e.preventDefault(); return; }
    if (e.key === 'Escape') {
      if (!ed.ui.shortcuts.hidden) toggleHelp(ed, false);
      else if (!ed.ui.choice.hidden) /** @type {HTMLElement} */ (document.getElementById('ed-choice-keep')).click();
      return;
    }
    if (/** @type {Element} */ (e.target).closest?.('.ed-svg')) graphKey(ed, e);
  });
  document.getElementById('ed-help')?.addEventListener('click', () => toggleHelp(ed));
}

/** @param {import('./editor.js').Editor} ed @param {boolean} [open] */
function toggleHelp(ed, open) {
  const list = ed.ui.shortcuts;
  list.hidden = open === undefined ? !list.hidden : !open;
  document.getElementById('ed-help')?.setAttribute('aria-expanded', String(!list.hidden));
}

/** Keys in the graph. @param {import('./editor.js').Editor} ed @param {KeyboardEvent} e */
function graphKey(ed, e) {
  const onNode = /** @type {Element} */ (e.target).closest('.ed-node');
  const step = 60;
  const pans = { ArrowLeft: [step, 0], ArrowRight: [-step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
  if (e.key === '+' || e.key === '=') { ed.view.zoomBy(1.25); e.preventDefault(); return; }
  if (e.key === '-' || e.key === '_') { ed.view.zoomBy(0.8); e.preventDefault(); return; }
  if (e.key === '0') { ed.view.fit(); e.preventDefault(); return; }
  if (e.key in pans) {
    e.preventDefault();
    if (onNode && !e.shiftKey) {
      const order = ed.graph.nodes.map((n) => n.id);
      const i = order.indexOf(/** @type {string} */ (onNode.getAttribute('data-id')));
      const next = order[i + (e.key === 'ArrowUp' || e.key === 'ArrowLeft' ? -1 : 1)];
      if (next) ed.select(next, { reveal: true, focus: true });
    } else {
      const [dx, dy] = pans[/** @type {keyof typeof pans} */ (e.key)];
      ed.view.panBy(dx, dy);
    }
    return;
  }
  if ((e.key === 'Enter' || e.key === ' ') && !onNode) {
    e.preventDefault();
    const id = ed.view.selected ?? ed.graph.nodes[0]?.id;
    if (id) ed.select(id, { reveal: true, focus: true });
    return;
  }
  if ((e.key === 'Enter' || e.key === ' ') && onNode) {
    e.preventDefault();
    const id = /** @type {string} */ (onNode.getAttribute('data-id'));
    const n = ed.graph.byId.get(id);
    if (n?.kind === 'block') ed.toggle(id);
    else ed.select(id, { focus: true });
    return;
  }
  if (e.key === 'Home' || e.key === 'End') {
    e.preventDefault();
    const order = ed.graph.nodes;
    const n = e.key === 'Home' ? order[0] : order[order.length - 1];
    if (n) ed.select(n.id, { reveal: true, focus: true });
  }
}
