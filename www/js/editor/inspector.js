// @ts-check
/**
 * The inspector: a form for the selected node, generated from its layer type's fields
 * (layers.js) and whatever else its config holds. Every keystroke goes to the editor, which
 * rebuilds the model through the core; the field keeps what the user typed, and the core's
 * message (if any) is shown under the form and marks the field it names.
 *
 * @typedef {import('./graph.js').GraphNode} GraphNode
 * @typedef {import('./doc.js').Entry} Entry
 * @typedef {{
 *   onField: (node: GraphNode, key: string, value: any) => void,
 *   onRename: (node: GraphNode, name: string) => string | null,
 *   onInputs: (node: GraphNode, names: string[]) => string | null,
 *   onInputShape: (shape: any) => void,
 *   onToggle: (id: string) => void,
 * }} InspectorHandlers
 *   onRename / onInputs return a problem (shown) or null.
 */
import { FIELDS, ACTIVATIONS, DESCRIPTIONS, parseField, showField, canonical } from './layers.js';
import { shapeText } from './graph-view.js';

/** @param {string} tag @param {Record<string, string>} [attrs] @param {string} [text] */
function h(tag, attrs = {}, text = '') {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  if (text) e.textContent = text;
  return e;
}

export class Inspector {
  /** @param {HTMLElement} host @param {InspectorHandlers} handlers */
  constructor(host, handlers) {
    this.host = host;
    this.handlers = handlers;
    /** @type {GraphNode | null} */
    this.node = null;
    /** @type {HTMLElement | null} */
    this.facts = null;
    this.form = /** @type {HTMLFormElement} */ (h('form', { class: 'ed-form', 'aria-labelledby': 'ed-insp-h' }));
    this.form.addEventListener('submit', (e) => e.preventDefault());
    this.problem = h('p', { id: 'ed-insp-problem', class: 'ed-problem', role: 'status', 'aria-live': 'polite' });
    this.problem.hidden = true;
    host.append(h('h3', { id: 'ed-insp-h' }, 'Layer'), this.form, this.problem);
  }

  /**
   * Shows the form of `node` (null: nothing selected).
   * @param {GraphNode | null} node @param {{entry: Entry | null, config: Record<string, any> | null, blockParams: Record<string, any> | null, inputShape: any, inputs: string[] | null}} ctx
   */
  show(node, ctx) {
    this.node = node;
    const title = /** @type {HTMLElement} */ (this.host.querySelector('#ed-insp-h'));
    this.form.replaceChildren();
    if (!node) {
      title.textContent = 'Layer';
      this.form.append(h('p', { class: 'note' }, 'Select a layer in the graph (click it, or Tab to the graph and use the arrow keys).'));
      return;
    }
    title.textContent = node.kind === 'input' ? 'Input' : node.id;
    this.facts = h('p', { class: 'ed-facts', 'aria-live': 'polite' });
    this.form.append(this.facts);
    this.showFacts(node);
    if (node.kind === 'input') {
      this.text('name', 'Name', node.id, (v) => this.handlers.onRename(node, v), 'change');
      this.text('shape', 'Shape (height, width, channels)', showField(ctx.inputShape).replace(/^\[|\]$/g, ''), (v) => { this.handlers.onInputShape(parseField(v)); return null; });
      return;
    }
    if (node.kind === 'inner') {
      this.form.append(h('p', { class: 'note ed-rule' }, `Inside the expanded block instance ${node.group}. Editing a field here unpacks ${node.group} (all of its repeats) into plain layers named ${node.group}.layer; other instances keep using the block, and Undo puts it back.`));
      const b = h('button', { type: 'button', class: 'ed-expand' }, `Collapse ${node.group}`);
      b.addEventListener('click', () => this.handlers.onToggle(/** @type {string} */ (node.group)));
      this.form.append(b);
    }
    if (node.kind !== 'inner') {
      this.text('name', 'Name', node.id, (v) => this.handlers.onRename(node, v), 'change');
      this.text('inputs', 'Reads (layer names, comma-separated)', (ctx.inputs ?? []).join(', '), (v) => this.handlers.onInputs(node, v.split(',').map((s) => s.trim()).filter(Boolean)), 'change');
    }
    if (node.kind === 'block' && ctx.entry) {
      const b = h('button', { type: 'button', class: 'ed-expand' }, 'Expand this block in place');
      b.addEventListener('click', () => this.handlers.onToggle(node.id));
      this.form.append(b);
      this.field({ key: 'repeat', kind: 'int', placeholder: '1' }, ctx.entry.repeat, 'repeat (chained copies)');
      for (const [key, def] of Object.entries(ctx.blockParams ?? {})) {
        this.field({ key, kind: 'json', placeholder: def === null ? 'required' : showField(def) }, ctx.entry.args?.[key]);
      }
      return;
    }
    const cls = canonical(node.type);
    const config = ctx.config ?? {};
    const fields = FIELDS[cls] ?? [];
    if (DESCRIPTIONS[/** @type {keyof DESCRIPTIONS} */ (cls)]) this.form.append(h('p', { class: 'note' }, DESCRIPTIONS[/** @type {keyof DESCRIPTIONS} */ (cls)]));
    for (const f of fields) this.field(f, config[f.key]);
    for (const key of Object.keys(config)) {
      if (!fields.some((f) => f.key === key)) this.field({ key, kind: 'json' }, config[key]);
    }
  }

  /** The node's type, output shape and parameters (kept current while its fields are typed in). @param {GraphNode} node */
  showFacts(node) {
    if (!this.facts) return;
    const text = node.error ? `${node.type} · not valid` : `${node.type} · output ${shapeText(node.shape)}${node.kind === 'input' ? '' : ` · ${node.params.toLocaleString('en-US')} parameters`}`;
    if (this.facts.textContent !== text) this.facts.textContent = text;
  }

  /**
   * One text field that reports on `event`.
   * @param {string} key @param {string} label @param {string} value @param {(v: string) => string | null} report @param {'input' | 'change'} [event]
   */
  text(key, label, value, report, event = 'input') {
    const id = `ed-f-${key}`;
    const input = /** @type {HTMLInputElement} */ (h('input', { id, type: 'text', 'data-key': key, autocomplete: 'off', spellcheck: 'false' }));
    input.value = value;
    input.addEventListener(event, () => {
      const problem = report(input.value);
      this.mark(problem ? key : null, problem);
    });
    const row = h('div', { class: 'ed-field' });
    row.append(h('label', { for: id }, label), input);
    this.form.append(row);
    return input;
  }

  /**
   * A config (or block argument) field of kind `f.kind`.
   * @param {import('./layers.js').Field} f @param {any} value @param {string} [label]
   */
  field(f, value, label = f.key) {
    const id = `ed-f-${f.key}`;
    const row = h('div', { class: 'ed-field' });
    /** @type {HTMLInputElement | HTMLSelectElement} */
    let input;
    if (f.kind === 'activation' || f.kind === 'bool') {
      const select = /** @type {HTMLSelectElement} */ (h('select', { id, 'data-key': f.key }));
      const choices = f.kind === 'bool' ? ['true', 'false'] : ACTIVATIONS;
      select.append(new Option(f.placeholder ? `default (${f.placeholder})` : 'choose', ''), ...choices.map((c) => new Option(c, c)));
      const shown = showField(value);
      if (shown && !choices.includes(shown)) select.append(new Option(shown, shown));
      select.value = shown;
      input = select;
    } else {
      input = /** @type {HTMLInputElement} */ (h('input', { id, type: 'text', 'data-key': f.key, autocomplete: 'off', spellcheck: 'false' }));
      input.value = showField(value);
      if (f.placeholder) input.placeholder = f.placeholder;
    }
    const send = () => {
      const node = this.node;
      if (!node) return;
      let v = parseField(input.value);
      if (f.kind === 'bool' && typeof v === 'string') v = v === 'true';
      this.handlers.onField(node, f.key, v);
    };
    input.addEventListener(input instanceof HTMLSelectElement ? 'change' : 'input', send);
    row.append(h('label', { for: id }, label), input);
    if (f.help) {
      const help = h('span', { class: 'note', id: `${id}-help` }, f.help);
      input.setAttribute('aria-describedby', `${id}-help`);
      row.append(help);
    }
    this.form.append(row);
  }

  /**
   * Shows a problem (the core's message) and marks the field it names, or clears both.
   * @param {string | null} key @param {string | null} message
   */
  mark(key, message) {
    for (const input of this.form.querySelectorAll('[data-key]')) {
      const mine = key !== null && input.getAttribute('data-key') === key;
      if (mine) {
        input.setAttribute('aria-invalid', 'true');
        input.setAttribute('aria-errormessage', 'ed-insp-problem');
      } else {
        input.removeAttribute('aria-invalid');
        input.removeAttribute('aria-errormessage');
      }
    }
    this.problem.textContent = message ?? '';
    this.problem.hidden = !message;
  }

  /**
   * Shows the core's message when it concerns the selected node, marking the field it names.
   * @param {string | null} message @param {string | null} layer the layer the message names
   */
  showCoreProblem(message, layer) {
    const node = this.node;
    if (!node || !message || !layer || !(layer === node.id || node.layers.includes(layer))) {
      this.mark(null, null);
      return;
    }
    const keys = [...this.form.querySelectorAll('[data-key]')].map((e) => /** @type {string} */ (e.getAttribute('data-key')));
    const rest = message.slice(message.indexOf(':') + 1);
    const escape = (/** @type {string} */ k) => k.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    const key = keys.find((k) => rest.includes(`'${k}'`) || new RegExp(`(^|[\\s(.])${escape(k)}\\b`).test(rest)) ?? null;
    this.mark(key, message);
  }

  /** Focuses field `key` again after the form was redrawn, with its caret at the end. @param {string} key */
  refocus(key) {
    const input = /** @type {HTMLInputElement | null} */ (this.form.querySelector(`[data-key="${CSS.escape(key)}"]`));
    input?.focus();
    if (input && 'setSelectionRange' in input && input.type === 'text') input.setSelectionRange(input.value.length, input.value.length);
  }
}
