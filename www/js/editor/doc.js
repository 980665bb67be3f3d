// @ts-check
/**
 * Edits of a model spec, as pure functions: each takes a spec and returns a new one (the
 * editor keeps every version for undo). The spec's top-level entries are what the user edits:
 * layers and block instances; an entry without `name` gets Keras's default name
 * (`conv2d`, `conv2d_1`), computed here exactly as the core's expansion does, so that edges,
 * selection and the core's error messages all speak of the same names.
 *
 * Rules (the UI states them): a new layer goes right after the selected entry and reads it;
 * deleting an entry makes its readers read what it read; a duplicate goes right after its
 * original and reads it; editing a layer inside a block instance unpacks that instance (all of
 * its repeats) into plain layers named `instance.layer`, and the other instances stay blocks.
 *
 * @typedef {import('../types').ModelSpec} ModelSpec
 * @typedef {{name?: string, class_name?: string, config?: Record<string, any>, block?: string,
 *   args?: Record<string, any>, repeat?: number, inputs?: string[]}} Entry
 * @typedef {import('../types').ExpandedLayer} ExpandedLayer
 */

/** A deep copy of JSON data. @template T @param {T} v @returns {T} */
export const clone = (v) => JSON.parse(JSON.stringify(v));

/** Keras's default-name form of a class name ("MaxPool2D" -> "max_pool2d"), as the core's. */
export function snakeCase(/** @type {string} */ cls) {
  let out = '';
  let prevLower = false;
  for (const ch of cls) {
    const upper = ch >= 'A' && ch <= 'Z';
    if (upper && prevLower) out += '_';
    prevLower = ch >= 'a' && ch <= 'z';
    out += ch.toLowerCase();
  }
  return out;
}

/** The entries of a spec (an absent or malformed list reads as empty). @param {ModelSpec} spec @returns {Entry[]} */
export function entries(spec) {
  return Array.isArray(spec.layers) ? /** @type {Entry[]} */ (spec.layers) : [];
}

/** The input layer's name. @param {ModelSpec} spec */
export function inputName(spec) {
  return spec.input?.name ?? 'input';
}

/** Each top-level entry's name (its own or the default the core gives it). @param {ModelSpec} spec @returns {string[]} */
export function entryNames(spec) {
  /** @type {Map<string, number>} */
  const counters = new Map();
  return entries(spec).map((e) => {
    if (typeof e.name === 'string') return e.name;
    const base = snakeCase(String(e.class_name ?? e.block ?? 'entry'));
    const n = counters.get(base) ?? 0;
    counters.set(base, n + 1);
    return n === 0 ? base : `${base}_${n}`;
  });
}

/** The names each entry reads (explicit, or the previous entry's). @param {ModelSpec} spec @returns {string[][]} */
export function entryInputs(spec) {
  const names = entryNames(spec);
  return entries(spec).map((e, i) => (Array.isArray(e.inputs) ? e.inputs.map(String) : [i === 0 ? inputName(spec) : names[i - 1]]));
}

/** Is entry `e` a block instance? @param {Entry} e */
export const isBlock = (e) => typeof e.block === 'string' && e.class_name === undefined;

/** A name not used by any entry, the input, or a repeated instance's copies. @param {ModelSpec} spec @param {string} base */
export function freshName(spec, base) {
  const taken = new Set([inputName(spec), ...entryNames(spec)]);
  const names = entryNames(spec);
  entries(spec).forEach((e, i) => {
    const n = isBlock(e) ? Number(e.repeat ?? 1) : 1;
    for (let k = 1; n > 1 && k <= Math.min(n, 1000); k++) taken.add(`${names[i]}_${k}`);
  });
  if (!taken.has(base)) return base;
  for (let k = 1; ; k++) if (!taken.has(`${base}_${k}`)) return `${base}_${k}`;
}

/** Which entry a name (top-level, a repeat copy `x_3`, or `x_3/conv`) belongs to. @param {ModelSpec} spec @param {string} name */
export function entryOf(spec, name) {
  const names = entryNames(spec);
  const direct = names.indexOf(name);
  if (direct >= 0) return direct;
  const top = name.split('/')[0];
  const i = names.indexOf(top);
  if (i >= 0) return i;
  return entries(spec).findIndex((e, j) => isBlock(e) && (e.repeat ?? 1) > 1 && new RegExp(`^${escape(names[j])}_\\d+$`).test(top));
}

const escape = (/** @type {string} */ s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * `entryOf` for many names at once: a lookup built once per spec (a repeated instance's copies
 * `x_1` ... `x_n` included), for drawing a 500-layer model without re-reading the spec per layer.
 * @param {ModelSpec} spec @returns {(name: string) => number}
 */
export function entryIndexer(spec) {
  const names = entryNames(spec);
  /** @type {Map<string, number>} */
  const index = new Map();
  entries(spec).forEach((e, i) => {
    const n = isBlock(e) ? Number(e.repeat ?? 1) : 1;
    for (let k = 1; n > 1 && k <= Math.min(n, 1000); k++) if (!index.has(`${names[i]}_${k}`)) index.set(`${names[i]}_${k}`, i);
  });
  names.forEach((n, i) => index.set(n, i));
  return (name) => index.get(name) ?? index.get(name.split('/')[0]) ?? -1;
}

/**
 * Gives every entry its name explicitly and every entry after the first its inputs, where an
 * edit would otherwise change what a default means. Returns a new spec.
 * @param {ModelSpec} spec
 */
function pinned(spec) {
  const out = clone(spec);
  const names = entryNames(spec);
  const inputs = entryInputs(spec);
  entries(out).forEach((e, i) => {
    if (e.name === undefined) e.name = names[i];
    if (e.inputs === undefined) e.inputs = inputs[i];
  });
  return out;
}

/**
 * Drops explicit inputs that say what the default says (the previous entry), so specs stay as
 * short as the user wrote them.
 * @param {ModelSpec} spec
 */
function tidy(spec) {
  const names = entryNames(spec);
  entries(spec).forEach((e, i) => {
    const prev = i === 0 ? inputName(spec) : names[i - 1];
    if (Array.isArray(e.inputs) && e.inputs.length === 1 && e.inputs[0] === prev) delete e.inputs;
  });
  return spec;
}

/**
 * Inserts a new layer right after entry `after` (-1: first), reading it.
 * @param {ModelSpec} spec @param {number} after @param {string} className @param {Record<string, any>} config
 * @returns {{spec: ModelSpec, name: string}}
 */
export function insertLayer(spec, after, className, config) {
  const out = pinned(spec);
  const name = freshName(spec, snakeCase(className));
  const list = entries(out);
  const prev = after < 0 ? inputName(out) : /** @type {string} */ (list[after].name);
  /** @type {Entry} */
  const entry = { name, class_name: className, inputs: [prev] };
  if (Object.keys(config).length) entry.config = clone(config);
  const next = list[after + 1];
  if (next && next.inputs?.length === 1 && next.inputs[0] === prev) next.inputs = [name];
  list.splice(after + 1, 0, entry);
  return { spec: tidy(out), name };
}

/**
 * Removes entry `index`; whatever read it reads what it read (its first input).
 * @param {ModelSpec} spec @param {number} index
 */
export function deleteEntry(spec, index) {
  const out = pinned(spec);
  const list = entries(out);
  const gone = /** @type {string} */ (list[index].name);
  const heir = list[index].inputs?.[0] ?? inputName(out);
  list.splice(index, 1);
  for (const e of list) if (e.inputs) e.inputs = dedupe(e.inputs.map((n) => (n === gone ? heir : n)));
  if (out.output === gone) out.output = heir;
  return tidy(out);
}

/** @param {string[]} names */
const dedupe = (names) => [...new Set(names)];

/**
 * A copy of entry `index` right after it, reading it; returns the copy's name.
 * @param {ModelSpec} spec @param {number} index @returns {{spec: ModelSpec, name: string}}
 */
export function duplicateEntry(spec, index) {
  const out = pinned(spec);
  const list = entries(out);
  const original = list[index];
  const name = freshName(spec, String(original.name).replace(/_\d+$/, '') || 'copy');
  const copy = { ...clone(original), name, inputs: [/** @type {string} */ (original.name)] };
  const next = list[index + 1];
  if (next && next.inputs?.length === 1 && next.inputs[0] === original.name) next.inputs = [name];
  list.splice(index + 1, 0, copy);
  return { spec: tidy(out), name };
}

/** Layer types that read several inputs (a connection adds one; others replace theirs). */
export const MULTI_INPUT = new Set(['Add', 'Concatenate', 'SEScale']);

/**
 * Makes entry `target` read `source` (added for Add/Concatenate/SEScale, else replacing).
 * @param {ModelSpec} spec @param {string} source @param {number} target
 */
export function connect(spec, source, target) {
  const out = pinned(spec);
  const e = entries(out)[target];
  const multi = MULTI_INPUT.has(String(e.class_name));
  e.inputs = multi ? dedupe([...(e.inputs ?? []), source]) : [source];
  return tidy(out);
}

/** Sets entry `index`'s inputs. @param {ModelSpec} spec @param {number} index @param {string[]} inputs */
export function setInputs(spec, index, inputs) {
  const out = pinned(spec);
  entries(out)[index].inputs = inputs;
  return tidy(out);
}

/**
 * Renames entry `index` (or the input, index -1); readers and the output follow.
 * @param {ModelSpec} spec @param {number} index @param {string} name
 */
export function rename(spec, index, name) {
  const out = pinned(spec);
  const old = index < 0 ? inputName(out) : /** @type {string} */ (entries(out)[index].name);
  if (index < 0) out.input = { ...out.input, name };
  else entries(out)[index].name = name;
  for (const e of entries(out)) if (e.inputs) e.inputs = e.inputs.map((n) => (n === old ? name : n));
  if (out.output === old) out.output = name;
  return tidy(out);
}

/**
 * Sets (or, for `undefined`, removes) one key of entry `index`'s config, or of a block
 * instance's args; `repeat` is the instance's own field.
 * @param {ModelSpec} spec @param {number} index @param {string} key @param {any} value
 */
export function setField(spec, index, key, value) {
  const out = clone(spec);
  const e = entries(out)[index];
  if (isBlock(e) && key === 'repeat') {
    if (value === undefined) delete e.repeat;
    else e.repeat = value;
    return out;
  }
  const field = isBlock(e) ? 'args' : 'config';
  const map = { ...(e[field] ?? {}) };
  if (value === undefined) delete map[key];
  else map[key] = value;
  if (Object.keys(map).length) e[field] = map;
  else delete e[field];
  return out;
}

/**
 * Replaces block instance `index` (all of its repeats) by its expanded layers as plain
 * entries, named `copy.layer`.
 * @param {ModelSpec} spec @param {number} index @param {ExpandedLayer[]} flat the core's expansion of `spec`
 * @returns {{spec: ModelSpec, names: Map<string, string>}} the new spec and full name -> new name
 */
export function unpack(spec, index, flat) {
  const out = pinned(spec);
  const list = entries(out);
  const entry = list[index];
  const base = /** @type {string} */ (entry.name);
  const copies = new Set((entry.repeat ?? 1) > 1 ? Array.from({ length: Number(entry.repeat) }, (_, k) => `${base}_${k + 1}`) : [base]);
  const inner = flat.filter((l) => l.block !== null && copies.has(l.block));
  /** @type {Map<string, string>} */
  const names = new Map();
  const taken = new Set([inputName(out), ...list.map((e) => String(e.name))]);
  for (const l of inner) {
    let n = l.name.replace(/\//g, '.');
    while (taken.has(n)) n += '_';
    taken.add(n);
    names.set(l.name, n);
  }
  const rename = (/** @type {string} */ n) => names.get(n) ?? n;
  const plain = inner.map((l) => {
    /** @type {Entry} */
    const e = { name: rename(l.name), class_name: l.className, inputs: l.inputs.map(rename) };
    if (Object.keys(l.config).length) e.config = clone(l.config);
    return e;
  });
  // What read the instance (or one of its copies) now reads the layer that was its output.
  const outputOf = new Map([...copies].map((c) => [c, lastOf(inner, c, flat)]));
  outputOf.set(base, outputOf.get([...copies].at(-1) ?? base) ?? base);
  list.splice(index, 1, ...plain);
  for (const e of list) if (e.inputs) e.inputs = e.inputs.map((n) => rename(outputOf.get(n) ?? n));
  if (out.output && outputOf.has(out.output)) out.output = rename(/** @type {string} */ (outputOf.get(out.output)));
  return { spec: tidy(out), names };
}

/**
 * The full name of the layer a block copy outputs: the layer that the rest of the model reads
 * in its place, i.e. the copy's last layer read from outside it (or its last layer).
 * @param {ExpandedLayer[]} inner @param {string} copy @param {ExpandedLayer[]} flat
 */
function lastOf(inner, copy, flat) {
  const own = inner.filter((l) => l.block === copy).map((l) => l.name);
  const mine = new Set(own);
  const readOutside = flat.filter((l) => !mine.has(l.name)).flatMap((l) => l.inputs).filter((n) => mine.has(n));
  return readOutside.at(-1) ?? own.at(-1) ?? copy;
}
