// @ts-check
/**
 * The editor's links, files and kept work: "Copy link", export and import, the list of work
 * kept in this browser, and what happens at start: a `#model=` link, the kept work, or a
 * blank model. A link never silently replaces kept work: when both exist and differ, the user
 * chooses (open the link beside the work, which stays listed; replace it, undoably; or keep it).
 */
import api from '../core.js';
import * as doc from './doc.js';
import * as autosave from './autosave.js';
import { download, copyText, fileBase, shareHash, readImport } from './files.js';
import { parseHash } from '../train-settings.js';
import { h } from './editor-view.js';

/** @typedef {import('./editor.js').Editor} Editor */

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @param {Editor} ed */
export function wireFiles(ed) {
  const note = $('ed-files-note');
  /** @param {string} text @param {boolean} [error] */
  const say = (text, error = false) => { note.textContent = text; note.classList.toggle('error', error); };
  const need = () => {
    if (!ed.model) throw new Error(`the model is not valid: ${ed.error?.message ?? ''}`);
    return ed.model;
  };
  const run = (/** @type {() => Promise<void> | void} */ fn) => async () => {
    try { await fn(); } catch (e) { say(/** @type {Error} */ (e).message, true); }
  };
  const base = () => fileBase(String(ed.spec.name ?? 'model'));
  $('ed-export-json').addEventListener('click', run(() => { download(`${base()}.json`, need().toJson(), 'application/json'); say(`Downloading ${base()}.json.`); }));
  $('ed-export-keras').addEventListener('click', run(() => { download(`${base()}.py`, need().toKerasCode(), 'text/x-python'); say(`Downloading ${base()}.py.`); }));
  $('ed-copy-json').addEventListener('click', run(async () => say(await copyText(need().toJson()) ? 'The JSON spec is on the clipboard.' : 'The browser did not allow the clipboard: use Download instead.', false)));
  $('ed-copy-keras').addEventListener('click', run(async () => say(await copyText(need().toKerasCode()) ? 'The Keras code is on the clipboard.' : 'The browser did not allow the clipboard: use Download instead.', false)));
  const file = /** @type {HTMLInputElement} */ ($('ed-import-file'));
  file.addEventListener('change', run(async () => {
    const f = file.files?.[0];
    if (!f) return;
    file.value = '';
    if (f.size > 4 << 20) throw new Error(`${f.name}: ${f.size} bytes is over the 4 MiB a spec may have`);
    importText(ed, await f.text(), f.name, say);
  }));
  $('ed-import-paste').addEventListener('click', run(() => importText(ed, /** @type {HTMLTextAreaElement} */ ($('ed-import-text')).value, 'the pasted text', say)));
  $('ed-copy-link').addEventListener('click', () => copyLink(ed));
}

/**
 * Imports a spec, Keras JSON or Keras code as an edit (undo returns to the model before).
 * @param {Editor} ed @param {string} text @param {string} source @param {(text: string, error?: boolean) => void} say
 */
function importText(ed, text, source, say) {
  const { spec, kind } = readImport(api, text, source);
  ed.expanded = new Set();
  ed.fitNext = true;
  ed.edit(spec, { select: null });
  const what = { keras: 'a Keras model.to_json()', 'keras-code': 'Keras code', spec: 'a convlab spec' }[kind];
  say(`Imported ${source} (${what}): ${spec.name ?? 'unnamed'}. Undo goes back.`);
}

/** Puts the model and the training settings in the address bar and on the clipboard. @param {Editor} ed */
async function copyLink(ed) {
  const field = /** @type {HTMLInputElement} */ (ed.ui.link);
  if (!ed.model) {
    ed.say(`No link: the model is not valid: ${ed.error?.message ?? ''}`, true);
    return;
  }
  ed.flushHistory();
  clearTimeout(ed.linkTimer);
  const url = new URL(location.href);
  url.hash = shareHash(ed.model);
  history.replaceState(history.state, '', url);
  field.hidden = false;
  field.value = url.href;
  field.select();
  const copied = await copyText(url.href);
  ed.say(copied ? `The link is on the clipboard and in the address bar (${url.href.length} characters).` : 'The link is in the address bar and the field below (the browser did not allow the clipboard).');
}

/** Lists the kept work with Open and Delete buttons. @param {Editor} ed */
export async function showSaved(ed) {
  const list = $('ed-saved-list');
  let works;
  try {
    works = await autosave.listWorks();
  } catch (e) {
    list.replaceChildren(h('li', { class: 'error' }, [`The kept work cannot be read: ${autosave.describe(e)}`]));
    return;
  }
  list.replaceChildren(...works.map((w) => {
    const here = w.id === ed.work.id;
    const open = h('button', { type: 'button', 'data-open': w.id, 'aria-label': `Open ${w.name}, saved ${new Date(w.savedAt).toLocaleString()}` }, ['Open']);
    const del = h('button', { type: 'button', 'data-delete': w.id, 'aria-label': `Delete ${w.name}, saved ${new Date(w.savedAt).toLocaleString()}` }, ['Delete']);
    open.toggleAttribute('disabled', here);
    del.toggleAttribute('disabled', here);
    open.addEventListener('click', async () => {
      try {
        const work = await autosave.loadWork(w.id);
        if (work) { ed.load(work); await ed.autosave({ now: true }); }
      } catch (e) {
        ed.say(`${w.name} could not be opened: ${/** @type {Error} */ (e).message}`, true);
      }
    });
    del.addEventListener('click', async () => { await autosave.deleteWork(w.id); await showSaved(ed); });
    return h('li', { 'data-work': w.id, class: here ? 'ed-here' : '' }, [`${w.name}${here ? ' (open now)' : ''}, saved ${new Date(w.savedAt).toLocaleString()} `, open, ' ', del]);
  }));
}

/** Same model? (compared through the core's canonical link; an invalid one differs). @param {any} a @param {any} b */
function sameSpec(a, b) {
  const link = (/** @type {any} */ s) => {
    try {
      const m = api.Model.fromSpec(s);
      const url = m.toUrl();
      m.free();
      return url;
    } catch {
      return null;
    }
  };
  const la = link(a);
  return la !== null && la === link(b);
}

/**
 * At start: open the link, the kept work, or a blank model; ask when a link meets kept work.
 * @param {Editor} ed
 */
export async function openLinkAtStart(ed) {
  let kept = null;
  try {
    kept = await autosave.loadCurrent();
  } catch (e) {
    ed.ui.saveNote.textContent = `The work kept in this browser cannot be read: ${autosave.describe(e)}`;
    ed.ui.saveNote.classList.add('error');
  }
  const { model } = parseHash(location.hash);
  let linked = null;
  if (model) {
    try {
      const m = api.Model.fromUrl(model);
      linked = m.spec();
      m.free();
    } catch (e) {
      ed.say(`The link's model could not be read: ${/** @type {Error} */ (e).message}`, true);
    }
  }
  const asking = !!(linked && kept && !sameSpec(kept.spec, linked));
  const blank = (await import('./editor.js')).blankSpec();
  let damaged = '';
  try {
    if (kept) ed.load(kept, { keepUrl: asking });
    else ed.load({ id: autosave.newId(), name: String(linked?.name ?? 'blank'), spec: linked ?? blank });
  } catch (e) {
    // A kept record this version cannot read (damaged, or from elsewhere): say so, start blank;
    // the record stays listed (and can be deleted) rather than being overwritten.
    ed.load({ id: autosave.newId(), name: String(linked?.name ?? 'blank'), spec: linked ?? blank });
    damaged = `The work kept in this browser could not be opened (${/** @type {Error} */ (e).message}); it stays listed below.`;
    kept = null;
  }
  if (asking && kept && linked) {
    ask(ed, kept, linked);
    await showSaved(ed);
  } else if (linked && !kept) {
    await ed.autosave({ now: true });
  } else if (!kept) {
    await ed.autosave({ now: true });
  } else {
    await showSaved(ed);
  }
  if (damaged) ed.say(damaged, true);
  else if (linked && ed.ui.choice.hidden) ed.say(`Opened the link's model ${linked.name ?? ''}.`);
}

/**
 * A `#model=` link typed or pasted into the address bar of an open page (not one of this
 * page's own history entries): the same question as at start.
 * @param {Editor} ed
 */
export function onHashChange(ed) {
  if (history.state?.convlabEditor?.session === ed.session) return;
  const { model } = parseHash(location.hash);
  if (!model) return;
  let linked;
  try {
    const m = api.Model.fromUrl(model);
    linked = m.spec();
    m.free();
  } catch (e) {
    ed.say(`The link's model could not be read: ${/** @type {Error} */ (e).message}`, true);
    return;
  }
  if (sameSpec(ed.spec, linked)) return;
  ask(ed, { id: ed.work.id, name: String(ed.spec.name ?? ed.work.name), savedAt: Date.now(), spec: ed.spec, expanded: [], timeline: [], cursor: 0, session: ed.session }, linked);
}

/**
 * The question: open the link beside the kept work, replace it, or keep it.
 * @param {Editor} ed @param {autosave.Work} kept @param {any} linked
 */
function ask(ed, kept, linked) {
  const box = ed.ui.choice;
  $('ed-choice-text').textContent = `The link opens ${linked.name ?? 'a model'}; this browser kept your ${kept.name}, last saved ${new Date(kept.savedAt).toLocaleString()}. Nothing is replaced unless you say so.`;
  box.hidden = false;
  $('ed-choice-beside').focus();
  return new Promise((resolve) => {
    const done = async (/** @type {'beside' | 'replace' | 'keep'} */ how) => {
      box.hidden = true;
      for (const id of ['ed-choice-beside', 'ed-choice-replace', 'ed-choice-keep']) $(id).replaceWith($(id).cloneNode(true));
      if (how === 'beside') {
        ed.load({ id: autosave.newId(), name: String(linked.name ?? 'link'), spec: linked });
        ed.say(`Opened the link's model beside your work: ${kept.name} stays listed under "Kept in this browser".`);
      } else if (how === 'replace') {
        ed.expanded = new Set();
        ed.fitNext = true;
        ed.edit(doc.clone(linked), { select: null });
        ed.say(`Replaced your work with the link's model; Undo brings your ${kept.name} back.`);
      } else {
        ed.say(`Kept your ${kept.name}; the link was not opened.`);
        ed.record(false);
      }
      await ed.autosave({ now: true });
      resolve(how);
    };
    $('ed-choice-beside').addEventListener('click', () => done('beside'), { once: true });
    $('ed-choice-replace').addEventListener('click', () => done('replace'), { once: true });
    $('ed-choice-keep').addEventListener('click', () => done('keep'), { once: true });
  });
}
