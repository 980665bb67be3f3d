// @ts-check
/**
 * The training panel's form: reading and writing the settings, the model choices (zoo models
 * with a 28x28x1 input, the small CNN, a model from the link) and the share link's
 * `#model=...&train=...` applied to them. The behaviour lives in train-panel.js.
 */
import api from './core.js';
import * as settingsLib from './train-settings.js';

/** @typedef {import('./train-settings.js').TrainSettings} TrainSettings */

/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id));

const ZOO_FOR_28 = ['fashion_mnist_cnn', 'lenet5_modern'];
export const LINK_CHOICE = 'link';
/** The model choice that stands for the Build view's model. */
export const EDITOR_CHOICE = 'editor';

/** The numeric fields: setting and input id. */
const NUMBERS = /** @type {const} */ ([
  ['learningRate', 'tp-lr'], ['weightDecay', 'tp-decay'], ['batchSize', 'tp-batch'], ['epochs', 'tp-epochs'],
  ['seed', 'tp-seed'], ['maxShift', 'tp-shift'], ['rotation', 'tp-rotation'], ['zoom', 'tp-zoom'],
  ['contrast', 'tp-contrast'], ['brightness', 'tp-brightness'], ['trainImages', 'tp-train-images'], ['holdout', 'tp-holdout'],
]);

/** @returns {TrainSettings} the form's settings (an empty field reads as NaN, which validate names) */
export function readForm() {
  const num = (/** @type {string} */ id) => (input(id).value.trim() === '' ? NaN : Number(input(id).value));
  return /** @type {TrainSettings} */ ({
    data: input('tp-data').value, optimizer: input('tp-optimizer').value, schedule: input('tp-schedule').value,
    flip: input('tp-flip').checked,
    ...Object.fromEntries(NUMBERS.map(([key, id]) => [key, num(id)])),
  });
}

/** @param {TrainSettings} s */
export function writeForm(s) {
  const set = (/** @type {string} */ id, /** @type {any} */ v) => { input(id).value = String(v); };
  set('tp-data', s.data); set('tp-optimizer', s.optimizer); set('tp-schedule', s.schedule);
  for (const [key, id] of NUMBERS) set(id, s[key]);
  input('tp-flip').checked = s.flip;
}

/** The model choices, into `specs` and the select. @param {Record<string, any>} specs */
export function fillModels(specs) {
  const select = /** @type {HTMLSelectElement} */ (document.getElementById('tp-model'));
  specs.fashion_small = settingsLib.SMALL_CNN;
  for (const name of ZOO_FOR_28) {
    if (api.zoo.names().includes(name)) specs[name] = api.zoo.spec(name);
  }
  const labels = { fashion_small: 'Small fast CNN (16 + 32 filters)', fashion_mnist_cnn: 'The chapter\'s Fashion-MNIST CNN (1.4M parameters)', lenet5_modern: 'LeNet-5, modern (ReLU, max pooling, softmax)' };
  select.replaceChildren(...Object.keys(specs).map((k) => new Option(/** @type {any} */ (labels)[k] ?? k, k)));
}

/**
 * Offers (or updates) the Build view's current model as a choice.
 * @param {Record<string, any>} specs @param {string} name @param {object} spec
 */
export function addEditorModel(specs, name, spec) {
  specs[EDITOR_CHOICE] = spec;
  const select = /** @type {HTMLSelectElement} */ (document.getElementById('tp-model'));
  const label = `From the Build view: ${name || 'your model'}`;
  const existing = /** @type {HTMLOptionElement | null} */ (select.querySelector(`option[value="${EDITOR_CHOICE}"]`));
  if (existing) existing.textContent = label;
  else select.append(new Option(label, EDITOR_CHOICE));
}

/** @param {Record<string, any>} specs @param {string} name @param {object} spec */
function addLinkedModel(specs, name, spec) {
  specs[LINK_CHOICE] = spec;
  const select = /** @type {HTMLSelectElement} */ (document.getElementById('tp-model'));
  select.querySelector(`option[value="${LINK_CHOICE}"]`)?.remove();
  select.append(new Option(`From the link: ${name}`, LINK_CHOICE));
}

/**
 * Reads `#model=...&train=...`: preselects the model and the settings; returns what is wrong.
 * Without a link, `kept` (the choice and settings this browser last used) comes back.
 * @param {Record<string, any>} specs @param {{model?: string, settings?: any} | null} [kept]
 * @returns {string[]} problems
 */
export function applyHash(specs, kept = null) {
  const { model, train } = settingsLib.parseHash(location.hash);
  const problems = [];
  // Kept settings come back only with their model (a link's model is gone after a reload).
  const keptHere = !model && kept?.model && specs[kept.model] ? kept : null;
  let choice = keptHere?.model ?? 'fashion_mnist_cnn';
  if (model) {
    try {
      const linked = api.Model.fromUrl(model);
      const spec = linked.spec();
      const canonical = linked.toUrl();
      linked.free();
      const known = Object.keys(specs).find((k) => {
        const m = api.Model.fromSpec(specs[k]);
        const same = m.toUrl() === canonical;
        m.free();
        return same;
      });
      if (known) choice = known;
      else { addLinkedModel(specs, spec.name ?? 'unnamed model', spec); choice = LINK_CHOICE; }
    } catch (e) {
      problems.push(`The link's model could not be read (${/** @type {Error} */ (e).message}).`);
    }
  }
  const specName = /** @type {any} */ (specs[choice])?.name ?? choice;
  let settings = settingsLib.defaults(specName);
  if (train === null && keptHere?.settings) {
    const checked = settingsLib.validate({ ...settings, ...keptHere.settings }, settings);
    if (!checked.problems.length) settings = checked.settings;
  }
  if (train !== null) {
    try {
      const checked = settingsLib.validate(settingsLib.decode(train), settings);
      if (checked.problems.length) throw new Error(checked.problems.join('; '));
      settings = checked.settings;
    } catch (e) {
      problems.push(`The link's training settings (train=) were not used: ${/** @type {Error} */ (e).message}. The defaults apply.`);
    }
  }
  /** @type {HTMLSelectElement} */ (document.getElementById('tp-model')).value = choice;
  writeForm(settings);
  return problems;
}
