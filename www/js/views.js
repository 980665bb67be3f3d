// @ts-check
/**
 * The page's views (Lesson, Build, Train, Classify, Inside): one tab each, one shown at a time.
 * A view's module is mounted the first time the view is shown, so the page starts fast; the
 * chosen view goes into `?view=` (replaceState) so a reload or a link comes back to it.
 *
 * Views register with `register(name, mount)`; `mount(host)` gets the view's <section> and may
 * return a promise (its failure is shown in the section, never thrown at the page).
 */

/** @typedef {'lesson' | 'build' | 'train' | 'classify' | 'inside'} ViewName */

/** @type {ViewName[]} */
export const NAMES = ['lesson', 'build', 'train', 'classify', 'inside'];

/** @type {Map<string, (host: HTMLElement) => unknown>} */
const mounts = new Map();
/** @type {Set<string>} */
const mounted = new Set();
/** @type {Set<(name: ViewName) => void>} */
const listeners = new Set();
let current = /** @type {ViewName | null} */ (null);

/** @param {string} name @param {(host: HTMLElement) => unknown} mount */
export function register(name, mount) {
  mounts.set(name, mount);
  if (current === name) mountOnce(name);
}

/** @param {(name: ViewName) => void} listener */
export function onShow(listener) {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

/** @returns {ViewName | null} */
export function shown() {
  return current;
}

/** @param {string} name */
function section(name) {
  return /** @type {HTMLElement | null} */ (document.getElementById(`view-${name}`));
}

/** @param {string} name */
function mountOnce(name) {
  const host = section(name);
  const mount = mounts.get(name);
  if (!host || !mount || mounted.has(name)) return;
  mounted.add(name);
  Promise.resolve()
    .then(() => mount(host))
    .catch((e) => {
      const p = document.createElement('p');
      p.className = 'note error';
      p.setAttribute('role', 'alert');
      p.textContent = `This view could not start: ${/** @type {Error} */ (e)?.message ?? e}`;
      host.prepend(p);
    });
}

/**
 * Shows one view and hides the others.
 * @param {string} name
 * @param {{focus?: boolean, remember?: boolean}} [options]
 */
export function show(name, { focus = false, remember = true } = {}) {
  const view = /** @type {ViewName} */ (NAMES.includes(/** @type {ViewName} */ (name)) ? name : 'lesson');
  for (const other of NAMES) {
    const el = section(other);
    if (el) el.hidden = other !== view;
    const tab = document.getElementById(`tab-view-${other}`);
    if (tab) {
      tab.setAttribute('aria-selected', String(other === view));
      tab.tabIndex = other === view ? 0 : -1;
    }
  }
  current = view;
  mountOnce(view);
  if (remember) {
    const url = new URL(location.href);
    if (view === 'lesson') url.searchParams.delete('view');
    else url.searchParams.set('view', view);
    history.replaceState(history.state, '', url);
    try { localStorage.setItem('convlab.view', view); } catch { /* storage off: not remembered */ }
  }
  if (focus) document.getElementById(`tab-view-${view}`)?.focus();
  for (const listener of listeners) listener(view);
}

/** The view a fresh page opens: ?view=, a model link opens Build, a head link Classify, else the last one used. */
export function initial() {
  const asked = new URL(location.href).searchParams.get('view');
  if (asked && NAMES.includes(/** @type {ViewName} */ (asked))) return asked;
  if (location.hash.startsWith('#model=')) return 'build';
  if (location.hash.startsWith('#head=')) return 'classify';
  try {
    const last = localStorage.getItem('convlab.view');
    if (last && NAMES.includes(/** @type {ViewName} */ (last))) return last;
  } catch { /* storage off */ }
  return 'lesson';
}

/** Wires the tab bar (click, arrow keys, Home/End) and shows the first view. */
export function start() {
  const bar = document.getElementById('view-tabs');
  bar?.addEventListener('click', (e) => {
    const tab = /** @type {HTMLElement} */ (e.target).closest('[data-view]');
    if (tab instanceof HTMLElement && tab.dataset.view) show(tab.dataset.view);
  });
  bar?.addEventListener('keydown', (e) => {
    const i = NAMES.indexOf(/** @type {ViewName} */ (current));
    const step = { ArrowRight: 1, ArrowLeft: -1, Home: -i, End: NAMES.length - 1 - i }[e.key];
    if (step === undefined) return;
    e.preventDefault();
    show(NAMES[(i + step + NAMES.length) % NAMES.length], { focus: true });
  });
  show(initial(), { remember: false });
}
