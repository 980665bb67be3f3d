// @ts-check
/**
 * The Build view's markup: the toolbar (architecture picker, undo/redo, delete, duplicate,
 * blocks, link, files), the palette, the graph canvas with its zoom buttons, the inspector and
 * summary column, the saved-work list, the link-or-autosave question and the shortcut list.
 * Behaviour lives in editor.js.
 */
import { DESCRIPTIONS } from './layers.js';

/** The keyboard shortcuts, as the help list shows them. */
export const SHORTCUTS = [
  ['Tab, Shift+Tab', 'move between the toolbar, palette, graph, inspector and summary'],
  ['Arrow keys (graph)', 'pan the graph'],
  ['Arrow keys (a layer)', 'select the previous or next layer'],
  ['+ / -, 0', 'zoom in / out, fit the graph to the view'],
  ['Enter (a block)', 'expand or collapse the block'],
  ['Delete or Backspace (the graph)', 'delete the selected layer'],
  ['Ctrl+D', 'duplicate the selected layer (the copy reads it)'],
  ['Ctrl+Z', 'undo'],
  ['Ctrl+Shift+Z, Ctrl+Y', 'redo'],
  ['Alt+Left, Alt+Right', 'the browser\'s back and forward also walk the edit history'],
  ['Enter (a palette button)', 'add that layer after the selected one'],
  ['?', 'show or hide this list'],
  ['Escape', 'close this list or the question above the graph'],
];

/**
 * @param {string} tag @param {Record<string, string>} [attrs] @param {(Node | string)[]} [children]
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, children = []) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  e.append(...children);
  return e;
}

/** @param {string} id @param {string} text @param {Record<string, string>} [attrs] */
const button = (id, text, attrs = {}) => h('button', { type: 'button', id, ...attrs }, [text]);

/**
 * Builds the view inside `host`; returns its parts by role.
 * @param {HTMLElement} host @param {string[]} zooNames @param {string[]} layerTypes
 */
export function render(host, zooNames, layerTypes) {
  const zoo = /** @type {HTMLSelectElement} */ (h('select', { id: 'ed-zoo' }));
  zoo.append(new Option('Blank (an input layer only)', ''), ...zooNames.map((n) => new Option(n, n)));
  const toolbar = h('div', { class: 'ed-toolbar', role: 'toolbar', 'aria-label': 'Model editing' }, [
    h('span', { class: 'ed-tool-group' }, [h('label', { for: 'ed-zoo' }, ['Architecture']), zoo, button('ed-open', 'Open')]),
    h('span', { class: 'ed-tool-group' }, [button('ed-undo', 'Undo', { 'aria-keyshortcuts': 'Control+Z' }), button('ed-redo', 'Redo', { 'aria-keyshortcuts': 'Control+Shift+Z' })]),
    h('span', { class: 'ed-tool-group' }, [button('ed-delete', 'Delete', { 'aria-keyshortcuts': 'Delete' }), button('ed-duplicate', 'Duplicate', { 'aria-keyshortcuts': 'Control+D' })]),
    h('span', { class: 'ed-tool-group' }, [button('ed-expand-all', 'Expand all blocks'), button('ed-collapse-all', 'Collapse all blocks')]),
    h('span', { class: 'ed-tool-group' }, [button('ed-copy-link', 'Copy link'), button('ed-help', 'Shortcuts', { 'aria-expanded': 'false', 'aria-controls': 'ed-shortcuts' })]),
  ]);
  const link = h('input', { id: 'ed-link', type: 'text', readonly: '', 'aria-label': 'Share link of this model and the training settings' });
  link.hidden = true;
  const status = h('p', { id: 'ed-status', class: 'ed-status', role: 'status', 'aria-live': 'polite' });
  const saveNote = h('p', { id: 'ed-save-note', class: 'ed-save-note', 'aria-live': 'polite' });
  const choice = h('div', { id: 'ed-choice', class: 'ed-choice', role: 'alertdialog', 'aria-labelledby': 'ed-choice-h', 'aria-describedby': 'ed-choice-text' }, [
    h('h3', { id: 'ed-choice-h' }, ['This link holds a model, and you have work kept in this browser']),
    h('p', { id: 'ed-choice-text' }),
    button('ed-choice-beside', 'Open the link beside your work'),
    button('ed-choice-replace', 'Replace my work with the link'),
    button('ed-choice-keep', 'Keep my work, ignore the link'),
  ]);
  choice.hidden = true;
  const palette = h('ul', { class: 'ed-palette-list' });
  for (const type of layerTypes) {
    const b = button(`ed-add-${type}`, type, { draggable: 'true', 'data-type': type, title: `Add ${type} after the selected layer: ${DESCRIPTIONS[/** @type {keyof DESCRIPTIONS} */ (type)] ?? ''}` });
    palette.append(h('li', {}, [b]));
  }
  const canvas = h('div', { class: 'ed-canvas', id: 'ed-canvas' }, [
    h('div', { class: 'ed-zoom', role: 'group', 'aria-label': 'Zoom' }, [
      button('ed-zoom-in', '+', { 'aria-label': 'Zoom in' }), button('ed-zoom-out', '−', { 'aria-label': 'Zoom out' }), button('ed-fit', 'Fit', { 'aria-label': 'Fit the graph to the view' }),
    ]),
    h('p', { id: 'ed-layout-note', class: 'ed-layout-note', 'aria-live': 'polite' }),
  ]);
  const inspector = h('section', { class: 'ed-inspector', 'aria-label': 'Inspector' });
  const summary = h('section', { class: 'ed-summary-box', 'aria-label': 'Summary' });
  const files = h('details', { class: 'ed-files', id: 'ed-files' }, [
    h('summary', {}, ['Export and import']),
    h('div', { class: 'ed-files-row' }, [
      button('ed-export-json', 'Download JSON spec'), button('ed-copy-json', 'Copy JSON spec'),
      button('ed-export-keras', 'Download Keras code'), button('ed-copy-keras', 'Copy Keras code'),
    ]),
    h('div', { class: 'ed-files-row' }, [
      h('label', { for: 'ed-import-file' }, ['Import a JSON spec, a Keras model.to_json() file or Keras Python code (.py)']),
      h('input', { id: 'ed-import-file', type: 'file', accept: '.json,.py,application/json,text/plain,text/x-python' }),
    ]),
    h('div', { class: 'ed-files-row' }, [
      h('label', { for: 'ed-import-text' }, ['or paste one']),
      h('textarea', { id: 'ed-import-text', rows: '4', spellcheck: 'false' }),
      button('ed-import-paste', 'Import pasted text'),
    ]),
    h('p', { id: 'ed-files-note', class: 'note', 'aria-live': 'polite' }),
  ]);
  const saved = h('section', { class: 'ed-saved', 'aria-labelledby': 'ed-saved-h' }, [
    h('h3', { id: 'ed-saved-h' }, ['Kept in this browser']),
    h('ul', { id: 'ed-saved-list' }),
  ]);
  const shortcuts = h('section', { id: 'ed-shortcuts', class: 'ed-shortcuts', 'aria-labelledby': 'ed-shortcuts-h' }, [
    h('h3', { id: 'ed-shortcuts-h' }, ['Keyboard shortcuts']),
    h('dl', {}, SHORTCUTS.flatMap(([k, v]) => [h('dt', {}, [k]), h('dd', {}, [v])])),
    h('p', { class: 'note' }, ['A new layer goes after the selected one and reads it; deleting a layer makes its readers read what it read; drag from a layer\'s bottom port onto another layer to connect them (Add, Concatenate and SEScale gain an input, others replace theirs), or type names in the inspector\'s "Reads". Blocks stay blocks in the spec while expanded; editing a layer inside one unpacks that instance into plain layers.']),
  ]);
  shortcuts.hidden = true;
  const root = h('div', { class: 'ed' }, [
    h('h2', { class: 'ed-title' }, ['Build a model']),
    toolbar, status, saveNote, link, choice, shortcuts,
    h('div', { class: 'ed-main' }, [
      h('aside', { class: 'ed-palette', 'aria-labelledby': 'ed-palette-h' }, [h('h3', { id: 'ed-palette-h' }, ['Add a layer']), palette]),
      canvas,
      h('div', { class: 'ed-side' }, [inspector, summary]),
    ]),
    files, saved,
  ]);
  host.append(root);
  return { root, zoo, status, saveNote, link, choice, palette, canvas, inspector, summary, shortcuts };
}
