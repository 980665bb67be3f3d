// @ts-check
/**
 * The training panel: model, data and settings; Train, Pause/Resume, Stop; progress, speed and
 * time left; live curves; the test result with its confusion matrix; weights kept in IndexedDB
 * after every epoch (a reload offers to continue), downloaded and uploaded as safetensors; the
 * settings in the share link (`#model=1.<...>&train=<...>`); the user's own images or IDX files
 * (own-data.js, a stratified hold-out for validation and the test) and an augmentation preview
 * (augment-panel.js). The loop itself runs in the
 * training worker through `model.fit` (core.js), so the page computes no kernel while a model
 * trains. `mount(host)` builds the whole panel inside `host`.
 */
import api, { datasetClassNames } from './core.js';
import * as store from './store.js';
import { render } from './train-view.js';
import * as settingsLib from './train-settings.js';
import { TrainingCharts } from './charts.js';
import { evaluateInWorker, showResults } from './results.js';
import { loadRun, saveRun, loadItem, saveItem } from './persist.js';
import { readSafetensorsSpec } from './weights-file.js';
import { readForm, writeForm, fillModels, applyHash, addEditorModel } from './train-form.js';
import { OwnData } from './own-data.js';
import { AugmentPreview } from './augment-panel.js';
import { firstIdx } from './idx-split.js';
import { showProgress } from './train-progress.js';

/** @typedef {import('./train-settings.js').TrainSettings} TrainSettings */

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id));

const state = {
  /** @type {Record<string, any>} spec per model choice */
  specs: {},
  /** @type {any} the model whose weights the panel holds (trained, restored or uploaded) */
  model: null,
  modelChoice: '',
  /** @type {Record<string, Promise<any>>} */
  data: {},
  /** @type {import('./persist.js').SavedRun | null} */
  saved: null,
  training: false,
  paused: false,
  /** @type {Promise<unknown>} saves in order */
  saving: Promise.resolve(),
};

/** @type {TrainingCharts} */
let charts;
/** @type {OwnData} */
let own;
/** @type {AugmentPreview} */
let preview;

/** @param {string} text @param {boolean} [error] */
function message(text, error = true) {
  const el = $('tp-message');
  el.textContent = text;
  el.hidden = !text;
  el.classList.toggle('error', error && !!text);
}

/** @param {string} text */
const status = (text) => { $('tp-status').textContent = text; };

/** The model choice's defaults (keeping the data set); flips off for digits. */
function onModelChange() {
  const choice = input('tp-model').value;
  const name = /** @type {any} */ (state.specs[choice])?.name ?? choice;
  writeForm(settingsLib.defaults(name, readForm().data));
  onSettingsChange();
}

function onDataChange() {
  const data = input('tp-data').value;
  if (data !== 'fashion_mnist') input('tp-flip').checked = false;
  showDataFields(data);
  onSettingsChange();
}

/** The fields that apply to the data choice: a subset of a built-in set, or a hold-out of one's own. @param {string} data */
function showDataFields(data) {
  const builtIn = settingsLib.BUILT_IN.includes(data);
  for (const id of ['tp-train-images', 'tp-train-images-help']) (/** @type {HTMLElement} */ ($(id).closest('label') ?? $(id))).hidden = !builtIn;
  for (const id of ['tp-holdout', 'tp-holdout-help']) (/** @type {HTMLElement} */ ($(id).closest('label') ?? $(id))).hidden = builtIn;
  own.show(data);
}

/** The preview follows the settings (when they are valid). */
/** The IndexedDB key of the form's last settings. */
const FORM = 'train-form';
let formRestored = false;

function onSettingsChange() {
  const form = readForm();
  // Autosave (after the saved settings were put back, so a reload does not overwrite them).
  if (formRestored) {
    saveItem(FORM, { model: input('tp-model').value, settings: form })
      .catch((e) => message(`The settings could not be kept in this browser: ${e.message}`, false));
  }
  if (!settingsLib.validate(form, form).problems.length) preview?.update(settingsLib.augmentOf(form), form.seed);
}

/** @param {string} name */
function loadData(name) {
  state.data[name] ??= api.data.load(/** @type {any} */ (name), {
    onProgress: (f) => { /** @type {HTMLProgressElement} */ ($('tp-data-progress')).value = f; },
  }).catch((e) => { delete state.data[name]; throw e; });
  return state.data[name];
}

/** @param {any} spec @returns {{height: number, width: number, channels: number}} */
function inputShape(spec) {
  const [height, width, channels = 1] = spec.input?.shape ?? [28, 28, 1];
  return { height, width, channels };
}

/**
 * `spec` with its last Dense layer giving `classes` outputs (the user's data has its own number
 * of classes; the zoo's models end in 10).
 * @param {any} spec @param {number} classes
 */
function specFor(spec, classes) {
  const copy = structuredClone(spec);
  const last = copy.layers?.[copy.layers.length - 1];
  if (last?.class_name === 'Dense' && last.config?.units !== classes) last.config = { ...last.config, units: classes };
  return copy;
}

/**
 * The data of a run: training, validation and test sets with the class names. The user's own
 * data is split per class, and the held-out part serves as validation and as the test.
 * @param {TrainSettings} settings @param {any} spec
 */
async function runData(settings, spec) {
  if (settingsLib.BUILT_IN.includes(settings.data)) {
    status(`Loading ${settingsLib.DATASETS[settings.data]}...`);
    const data = await loadData(settings.data);
    const first = firstIdx(data.train.images, data.train.labels, settings.trainImages);
    const train = first.images === data.train.images ? data.train : api.data.fromIdx(first.images, first.labels, data.train.options);
    return { train, validation: data.validation, test: data.test, classNames: data.classNames };
  }
  showDataFields(settings.data);
  status('Preparing your data...');
  try {
    const split = await own.build(inputShape(spec), settings.holdout);
    return { train: split.train, validation: split.held, test: split.held, classNames: split.classNames };
  } catch (e) {
    own.fail(`Your data could not be used: ${/** @type {Error} */ (e).message}`);
    throw new Error(`your data could not be used: ${/** @type {Error} */ (e).message}`);
  }
}

/** The training set the preview samples (the selected data and model). */
async function previewSource() {
  const form = readForm();
  if (settingsLib.BUILT_IN.includes(form.data)) return (await loadData(form.data)).train;
  const split = await own.build(inputShape(state.specs[input('tp-model').value]), form.holdout);
  return split.train;
}

/** @param {boolean} training */
function setTraining(training) {
  state.training = training;
  state.paused = false;
  /** @type {HTMLButtonElement} */ ($('tp-train')).disabled = training;
  /** @type {HTMLButtonElement} */ ($('tp-continue')).disabled = training;
  /** @type {HTMLButtonElement} */ ($('tp-pause')).disabled = !training;
  /** @type {HTMLButtonElement} */ ($('tp-stop')).disabled = !training;
  $('tp-pause').textContent = 'Pause';
  /** @type {HTMLButtonElement} */ ($('tp-evaluate')).disabled = training || !state.model;
  /** @type {HTMLButtonElement} */ ($('tp-download')).disabled = training || !state.model;
  /** @type {HTMLFieldSetElement[]} */ ([...document.querySelectorAll('#tp-form fieldset')]).forEach((f) => { f.disabled = training; });
  own.setDisabled(training);
  preview.setTraining(training);
}

/**
 * Tells the other views (Classify, Look inside) about the model the panel holds.
 * @param {any} model @param {string[] | null} classNames @param {string} data the data set's name
 * @param {string} detail where it comes from, for people
 */
function publish(model, classNames, data, detail) {
  try {
    const spec = model.spec();
    store.update({ model: { spec, name: spec.name || 'your trained model', weights: model.saveWeights(), classNames, origin: 'trained', data, detail } });
  } catch (e) {
    message(`The trained model could not be handed to the other views: ${/** @type {Error} */ (e).message}`, false);
  }
}

/**
 * Trains `model` (null: a fresh one of the choice's spec, its outputs fitted to the data's
 * classes) for `settings.epochs - startEpoch` epochs, keeping each epoch in IndexedDB; with
 * `resume` (a trainer checkpoint) the worker continues that run where it stood.
 * @param {any} model @param {string} choice @param {TrainSettings} settings
 * @param {number} startEpoch @param {any[]} history @param {Uint8Array | null} [resume]
 */
async function train(model, choice, settings, startEpoch, history, resume = null) {
  const { trainImages, data: dataName, holdout, ...fitSettings } = settings;
  const epochs = settings.epochs - startEpoch;
  const speed = { position: -1, elapsed: 0 };
  setTraining(true);
  message('');
  $('tp-results').replaceChildren();
  try {
    const data = await runData(settings, model ? model.spec() : state.specs[choice]);
    model ??= api.Model.fromSpec(specFor(state.specs[choice], data.classNames.length));
    const trainSet = data.train;
    state.model = model;
    state.modelChoice = choice;
    status(`Training on ${trainSet.length.toLocaleString('en')} images in the worker...`);
    const spec = model.spec();
    let last = { loss: 0, accuracy: 0 };
    const result = await model.fit(trainSet, {
      ...fitSettings, backend: 'auto', workers: 'auto', epochs, validation: data.validation, ...(resume ? { resume } : {}),
      onProgress: (/** @type {any} */ p) => { last = p; showProgress(p, startEpoch, settings, speed, charts); },
      onEpoch: (/** @type {import('./types').EpochReport} */ e) => {
        const epoch = startEpoch + e.epoch;
        const entry = { epoch, elapsed: e.elapsed, train: { loss: last.loss, accuracy: last.accuracy }, validation: e.validation && { loss: e.validation.loss, accuracy: e.validation.accuracy } };
        history.push(entry);
        charts.add(epoch, entry.train, entry.validation);
        const run = { spec, weights: e.weights, checkpoint: e.checkpoint ?? null, settings, modelChoice: choice, history: [...history], epoch, status: /** @type {const} */ ('training'), test: null, savedAt: Date.now(), classNames: data.classNames };
        state.saving = state.saving.then(() => saveRun(run)).catch((err) => message(`The weights could not be kept in this browser: ${err.message}`));
      },
    });
    const at = history.length ? history[history.length - 1].epoch : startEpoch;
    status(result.stopped ? `Stopped at epoch ${at} of ${settings.epochs}.` : `Trained ${settings.epochs} epochs.`);
    await state.saving;
    // The final weights (a stopped run's include the unfinished epoch's steps).
    state.saved = { spec, weights: model.saveWeights(), settings, modelChoice: choice, history: [...history], epoch: at,
      status: result.stopped ? 'stopped' : 'done', test: null, savedAt: Date.now(), classNames: data.classNames };
    setTraining(false);
    publish(model, data.classNames, settings.data, result.stopped ? `just trained, stopped at epoch ${at}` : 'just trained');
    await evaluateTest();
  } catch (e) {
    setTraining(false);
    message(`Training failed: ${/** @type {Error} */ (e).message}`);
    status('Not training.');
  }
}

/** Evaluates the held model on the test set (in a worker), shows the results, keeps them. */
async function evaluateTest() {
  const settings = state.saved?.settings ?? readForm();
  /** @type {HTMLButtonElement} */ ($('tp-evaluate')).disabled = true;
  try {
    const spec = state.model.spec();
    const data = await runData(settings, spec);
    const weights = state.model.saveWeights();
    const result = await evaluateInWorker(spec, weights, data.test, (done, total) => {
      $('tp-status').textContent = `Evaluating on the test set: ${done} of ${total} images...`;
    });
    showResults($('tp-results'), result, data.classNames, data.test);
    status(`Test accuracy ${(100 * result.accuracy).toFixed(2)}%.`);
    const run = state.saved ?? { spec, weights, settings: readForm(), modelChoice: state.modelChoice, history: [], epoch: 0, status: 'uploaded', test: null, savedAt: Date.now() };
    Object.assign(run, { weights, test: { accuracy: result.accuracy, loss: result.loss }, savedAt: Date.now() });
    state.saved = /** @type {any} */ (run);
    await saveRun(/** @type {any} */ (run)).catch((e) => message(`The weights could not be kept in this browser: ${e.message}`));
    showRestoredOffer();
  } catch (e) {
    message(`Evaluation failed: ${/** @type {Error} */ (e).message}`);
  } finally {
    /** @type {HTMLButtonElement} */ ($('tp-evaluate')).disabled = !state.model || state.training;
  }
}

/** Shows what IndexedDB holds, and offers to continue an unfinished run. */
function showRestoredOffer() {
  const run = state.saved;
  const note = $('tp-restored');
  const cont = /** @type {HTMLButtonElement} */ ($('tp-continue'));
  if (!run) { note.hidden = true; cont.hidden = true; return; }
  const when = new Date(run.savedAt).toLocaleString();
  const acc = run.test ? ` at ${(100 * run.test.accuracy).toFixed(2)}% test accuracy` : run.history.length && run.history[run.history.length - 1].validation
    ? ` at ${(100 * run.history[run.history.length - 1].validation.accuracy).toFixed(2)}% validation accuracy` : '';
  const what = run.status === 'uploaded' ? 'uploaded weights' : `trained on ${settingsLib.DATASETS[run.settings.data]}`;
  note.textContent = `Kept in this browser: ${/** @type {any} */ (run.spec).name ?? 'a model'}, ${what}, epoch ${run.epoch} of ${run.settings.epochs}, saved ${when}${acc}.`;
  note.hidden = false;
  const unfinished = run.status !== 'done' && run.status !== 'uploaded' && run.epoch < run.settings.epochs;
  cont.hidden = !unfinished;
  cont.textContent = `Continue training from epoch ${run.epoch}`;
}

/** Restores the model IndexedDB holds (weights and curves). */
async function restore() {
  try {
    state.saved = await loadRun();
  } catch (e) {
    message(`Saved weights could not be read from this browser: ${/** @type {Error} */ (e).message}`, false);
    return;
  }
  const run = state.saved;
  if (!run) return;
  try {
    const model = api.Model.fromSpec(run.spec);
    model.loadWeights(run.weights);
    state.model = model;
    state.modelChoice = run.modelChoice;
    publish(model, run.classNames ?? datasetClassNames(run.settings.data), run.settings.data, `kept in this browser, epoch ${run.epoch}`);
  } catch (e) {
    message(`The model kept in this browser could not be restored: ${/** @type {Error} */ (e).message}`);
    state.saved = null;
    return;
  }
  for (const h of run.history) charts.add(h.epoch, h.train, h.validation);
  showRestoredOffer();
  setTraining(false);
}

function onContinue() {
  const run = state.saved;
  if (!run || state.training) return;
  const model = api.Model.fromSpec(run.spec);
  model.loadWeights(run.weights);
  $('tp-results').replaceChildren();
  if (run.checkpoint) {
    // The trainer's own checkpoint: optimizer slots, schedule and batch order continue exactly.
    train(model, run.modelChoice, run.settings, 0, [...run.history], run.checkpoint);
  } else {
    // Weights only (a core without Trainer.checkpoint): a fresh optimizer state, and the
    // schedule over the remaining epochs, as the worker's Trainer starts at its own epoch 0.
    train(model, run.modelChoice, run.settings, run.epoch, [...run.history]);
  }
}

function onTrain() {
  const choice = input('tp-model').value;
  const spec = state.specs[choice];
  const checked = settingsLib.validate(readForm(), readForm());
  if (checked.problems.length) return message(`Check the settings: ${checked.problems.join('; ')}.`);
  try {
    api.Model.fromSpec(spec).free();
  } catch (e) {
    return message(`The model is not valid: ${/** @type {Error} */ (e).message}`);
  }
  charts.clear();
  $('tp-continue').hidden = true;
  // The model is made once the data is known (its outputs follow the data's classes).
  train(null, choice, checked.settings, 0, []);
}

function onPause() {
  if (!state.training) return;
  state.paused = !state.paused;
  if (state.paused) api.training.pause(); else api.training.resume();
  $('tp-pause').textContent = state.paused ? 'Resume' : 'Pause';
  status(state.paused ? 'Paused.' : 'Resumed.');
}

function onDownload() {
  if (!state.model) return;
  const bytes = state.model.saveWeights();
  const name = `${state.model.spec().name ?? 'model'}.safetensors`;
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([bytes], { type: 'application/octet-stream' }));
  a.download = name;
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

/** A weights file: its spec (metadata) or the selected model; nothing changes unless it loads. */
async function onUpload() {
  const file = input('tp-upload').files?.[0];
  if (!file) return;
  input('tp-upload').value = '';
  try {
    const bytes = new Uint8Array(await file.arrayBuffer());
    const spec = readSafetensorsSpec(bytes) ?? state.specs[input('tp-model').value];
    const model = api.Model.fromSpec(spec);
    model.loadWeights(bytes);
    state.model = model;
    state.modelChoice = input('tp-model').value;
    state.saved = { spec: model.spec(), weights: bytes, settings: readForm(), modelChoice: state.modelChoice, history: [], epoch: 0, status: 'uploaded', test: null, savedAt: Date.now() };
    await saveRun(state.saved).catch((e) => message(`The weights could not be kept in this browser: ${e.message}`));
    message(`Loaded ${file.name}: ${model.spec().name ?? 'a model'}.`, false);
    publish(model, datasetClassNames(state.saved.settings.data), state.saved.settings.data, `loaded from ${file.name}`);
    showRestoredOffer();
    setTraining(false);
  } catch (e) {
    message(`${file.name} was not loaded, and nothing was changed: ${/** @type {Error} */ (e).message}`);
  }
}

function onShare() {
  const spec = state.specs[input('tp-model').value];
  const checked = settingsLib.validate(readForm(), readForm());
  if (checked.problems.length) return message(`No link: check the settings: ${checked.problems.join('; ')}.`);
  try {
    const model = api.Model.fromSpec(spec);
    const hash = settingsLib.shareHash(model.toUrl(), readForm());
    model.free();
    history.replaceState(null, '', hash);
    input('tp-link').value = location.href;
    input('tp-link').select();
  } catch (e) {
    message(`No link: ${/** @type {Error} */ (e).message}`);
  }
}

/** Builds the panel in `host` once the core is ready. @param {HTMLElement} host */
export async function mount(host) {
  render(host);
  charts = new TrainingCharts($('tp-loss-chart'), $('tp-acc-chart'));
  await api.ready;
  own = new OwnData($('tp-own'), onSettingsChange);
  preview = new AugmentPreview(/** @type {HTMLDetailsElement} */ ($('tp-preview-box')), $('tp-preview'), $('tp-preview-note'), previewSource);
  fillModels(state.specs);
  // The choice and settings last used in this browser come back, unless a link brings its own.
  const kept = await loadItem(FORM).catch(() => null);
  const problems = applyHash(state.specs, kept);
  formRestored = true;
  await own.restore();
  if (problems.length) message(problems.join(' '));
  showDataFields(readForm().data);
  onSettingsChange();
  $('tp-model').addEventListener('change', onModelChange);
  $('tp-data').addEventListener('change', onDataChange);
  $('tp-form').addEventListener('input', onSettingsChange);
  $('tp-train').addEventListener('click', onTrain);
  $('tp-pause').addEventListener('click', onPause);
  $('tp-stop').addEventListener('click', () => { api.training.stop(); status('Stopping after this slice of steps...'); });
  $('tp-continue').addEventListener('click', onContinue);
  $('tp-evaluate').addEventListener('click', () => evaluateTest());
  $('tp-download').addEventListener('click', onDownload);
  $('tp-upload').addEventListener('change', onUpload);
  $('tp-share').addEventListener('click', onShare);
  await restore();
  // The Build view's model is one of the choices (kept current as it is edited).
  const offerEditorModel = (/** @type {store.State} */ s) => {
    if (s.model?.origin === 'editor') addEditorModel(state.specs, s.model.name, s.model.spec);
  };
  offerEditorModel(store.get());
  store.subscribe((s, changed) => { if (changed.has('model')) offerEditorModel(s); });
  host.dataset.ready = 'true';
}
