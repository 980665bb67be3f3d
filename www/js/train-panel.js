// @ts-check
/**
 * The training panel: model, data and settings; Train, Pause/Resume, Stop; progress, speed and
 * time left; live curves; the test result with its confusion matrix; weights kept in IndexedDB
 * after every epoch (a reload offers to continue), downloaded and uploaded as safetensors; the
 * settings in the share link (`#model=1.<...>&train=<...>`). The loop itself runs in the
 * training worker through `model.fit` (core.js), so the page computes no kernel while a model
 * trains. `mount(host)` builds the whole panel inside `host`.
 */
import api from './core.js';
import { render } from './train-view.js';
import * as settingsLib from './train-settings.js';
import { TrainingCharts } from './charts.js';
import { evaluateInWorker, showResults } from './results.js';
import { loadRun, saveRun } from './persist.js';
import { readSafetensorsSpec } from './weights-file.js';

/** @typedef {import('./train-settings.js').TrainSettings} TrainSettings */

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));
/** @param {string} id */
const input = (id) => /** @type {HTMLInputElement} */ (document.getElementById(id));

const ZOO_FOR_28 = ['fashion_mnist_cnn', 'lenet5_modern'];
const LINK_CHOICE = 'link';

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

/** @param {string} text @param {boolean} [error] */
function message(text, error = true) {
  const el = $('tp-message');
  el.textContent = text;
  el.hidden = !text;
  el.classList.toggle('error', error && !!text);
}

/** @param {string} text */
function status(text) { $('tp-status').textContent = text; }

/** @returns {TrainSettings} the form's settings */
function readForm() {
  const num = (/** @type {string} */ id) => Number(input(id).value);
  return {
    data: /** @type {TrainSettings['data']} */ (input('tp-data').value),
    optimizer: input('tp-optimizer').value, learningRate: num('tp-lr'),
    schedule: /** @type {TrainSettings['schedule']} */ (input('tp-schedule').value), weightDecay: num('tp-decay'),
    batchSize: num('tp-batch'), epochs: num('tp-epochs'), seed: num('tp-seed'), maxShift: num('tp-shift'),
    flip: input('tp-flip').checked, trainImages: num('tp-train-images'),
  };
}

/** @param {TrainSettings} s */
function writeForm(s) {
  const set = (/** @type {string} */ id, /** @type {any} */ v) => { input(id).value = String(v); };
  set('tp-data', s.data); set('tp-optimizer', s.optimizer); set('tp-lr', s.learningRate);
  set('tp-schedule', s.schedule); set('tp-decay', s.weightDecay); set('tp-batch', s.batchSize);
  set('tp-epochs', s.epochs); set('tp-seed', s.seed); set('tp-shift', s.maxShift);
  set('tp-train-images', s.trainImages);
  input('tp-flip').checked = s.flip;
}

/** The model choices: zoo models with a 28x28x1 input, the small CNN, a linked model. */
function fillModels() {
  const select = /** @type {HTMLSelectElement} */ ($('tp-model'));
  state.specs.fashion_small = settingsLib.SMALL_CNN;
  for (const name of ZOO_FOR_28) {
    if (api.zoo.names().includes(name)) state.specs[name] = api.zoo.spec(name);
  }
  const labels = { fashion_small: 'Small fast CNN (16 + 32 filters)', fashion_mnist_cnn: 'The chapter\'s Fashion-MNIST CNN (1.4M parameters)', lenet5_modern: 'LeNet-5, modern (ReLU, max pooling, softmax)' };
  select.replaceChildren(...Object.keys(state.specs).map((k) => new Option(/** @type {any} */ (labels)[k] ?? k, k)));
}

/** @param {string} name @param {object} spec */
function addLinkedModel(name, spec) {
  state.specs[LINK_CHOICE] = spec;
  const select = /** @type {HTMLSelectElement} */ ($('tp-model'));
  select.querySelector(`option[value="${LINK_CHOICE}"]`)?.remove();
  select.append(new Option(`From the link: ${name}`, LINK_CHOICE));
}

/** Reads `#model=...&train=...`: preselects the model and the settings, or says what is wrong. */
function applyHash() {
  const { model, train } = settingsLib.parseHash(location.hash);
  const problems = [];
  let choice = 'fashion_mnist_cnn';
  if (model) {
    try {
      const linked = api.Model.fromUrl(model);
      const spec = linked.spec();
      const canonical = linked.toUrl();
      linked.free();
      const known = Object.keys(state.specs).find((k) => {
        const m = api.Model.fromSpec(state.specs[k]);
        const same = m.toUrl() === canonical;
        m.free();
        return same;
      });
      if (known) choice = known;
      else { addLinkedModel(spec.name ?? 'unnamed model', spec); choice = LINK_CHOICE; }
    } catch (e) {
      problems.push(`The link's model could not be read (${/** @type {Error} */ (e).message}).`);
    }
  }
  const specName = /** @type {any} */ (state.specs[choice])?.name ?? choice;
  let settings = settingsLib.defaults(specName);
  if (train !== null) {
    try {
      const checked = settingsLib.validate(settingsLib.decode(train), settings);
      if (checked.problems.length) throw new Error(checked.problems.join('; '));
      settings = checked.settings;
    } catch (e) {
      problems.push(`The link's training settings (train=) were not used: ${/** @type {Error} */ (e).message}. The defaults apply.`);
    }
  }
  /** @type {HTMLSelectElement} */ ($('tp-model')).value = choice;
  writeForm(settings);
  if (problems.length) message(problems.join(' '));
}

/** The model choice's defaults (keeping the data set); flips off for digits. */
function onModelChange() {
  const choice = input('tp-model').value;
  const name = /** @type {any} */ (state.specs[choice])?.name ?? choice;
  writeForm(settingsLib.defaults(name, readForm().data));
}

function onDataChange() {
  if (input('tp-data').value === 'mnist') input('tp-flip').checked = false;
}

/** @param {string} name */
function loadData(name) {
  state.data[name] ??= api.data.load(/** @type {any} */ (name), {
    onProgress: (f) => { /** @type {HTMLProgressElement} */ ($('tp-data-progress')).value = f; },
  }).catch((e) => { delete state.data[name]; throw e; });
  return state.data[name];
}

/**
 * The first `n` images of a data set as a new one (0: all of it).
 * @param {any} source @param {number} n
 */
function firstImages(source, n) {
  if (!n || n >= source.length) return source;
  const view = new DataView(source.images.buffer, source.images.byteOffset);
  const per = view.getUint32(8) * view.getUint32(12);
  const images = source.images.slice(0, 16 + n * per);
  const labels = source.labels.slice(0, 8 + n);
  new DataView(images.buffer).setUint32(4, n);
  new DataView(labels.buffer).setUint32(4, n);
  return api.data.fromIdx(images, labels, source.options);
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
}

/** @param {number} seconds */
const duration = (seconds) => (seconds < 90 ? `${Math.round(seconds)} s` : seconds < 5400 ? `${Math.round(seconds / 60)} min` : `${(seconds / 3600).toFixed(1)} h`);

/**
 * Trains `model` for `settings.epochs - startEpoch` epochs, keeping each epoch in IndexedDB;
 * with `resume` (a trainer checkpoint) the worker continues that run where it stood.
 * @param {any} model @param {string} choice @param {TrainSettings} settings
 * @param {number} startEpoch @param {any[]} history @param {Uint8Array | null} [resume]
 */
async function train(model, choice, settings, startEpoch, history, resume = null) {
  const { trainImages, data: dataName, ...fitSettings } = settings;
  const epochs = settings.epochs - startEpoch;
  const speed = { position: -1, elapsed: 0 };
  setTraining(true);
  message('');
  $('tp-results').replaceChildren();
  try {
    status(`Loading ${settingsLib.DATASETS[dataName]}...`);
    const data = await loadData(dataName);
    const trainSet = firstImages(data.train, trainImages);
    state.model = model;
    state.modelChoice = choice;
    status(`Training on ${trainSet.length.toLocaleString('en')} images in the worker...`);
    const spec = model.spec();
    let last = { loss: 0, accuracy: 0 };
    const result = await model.fit(trainSet, {
      ...fitSettings, epochs, validation: data.validation, ...(resume ? { resume } : {}),
      onProgress: (/** @type {any} */ p) => { last = p; onProgress(p, startEpoch, settings, speed); },
      onEpoch: (/** @type {import('./types').EpochReport} */ e) => {
        const epoch = startEpoch + e.epoch;
        const entry = { epoch, elapsed: e.elapsed, train: { loss: last.loss, accuracy: last.accuracy }, validation: e.validation && { loss: e.validation.loss, accuracy: e.validation.accuracy } };
        history.push(entry);
        charts.add(epoch, entry.train, entry.validation);
        const run = { spec, weights: e.weights, checkpoint: e.checkpoint ?? null, settings, modelChoice: choice, history: [...history], epoch, status: /** @type {const} */ ('training'), test: null, savedAt: Date.now() };
        state.saving = state.saving.then(() => saveRun(run)).catch((err) => message(`The weights could not be kept in this browser: ${err.message}`));
      },
    });
    const at = history.length ? history[history.length - 1].epoch : startEpoch;
    status(result.stopped ? `Stopped at epoch ${at} of ${settings.epochs}.` : `Trained ${settings.epochs} epochs.`);
    await state.saving;
    // The final weights (a stopped run's include the unfinished epoch's steps).
    state.saved = { spec, weights: model.saveWeights(), settings, modelChoice: choice, history: [...history], epoch: at,
      status: result.stopped ? 'stopped' : 'done', test: null, savedAt: Date.now() };
    setTraining(false);
    await evaluateTest();
  } catch (e) {
    setTraining(false);
    message(`Training failed: ${/** @type {Error} */ (e).message}`);
    status('Not training.');
  }
}

/**
 * @param {any} p the worker's progress message @param {number} startEpoch
 * @param {TrainSettings} settings @param {{position: number, elapsed: number}} speed where the
 * first message of this call stood (a resumed run's epochs count from its checkpoint's)
 */
function onProgress(p, startEpoch, settings, speed) {
  const inEpoch = p.step === 0 && p.epoch > 0 ? 1 : p.step / p.stepsPerEpoch;
  const doneEpochs = p.step === 0 && p.epoch > 0 ? p.epoch - 1 : p.epoch;
  /** @type {HTMLProgressElement} */ ($('tp-epoch-progress')).value = inEpoch;
  const position = startEpoch + doneEpochs + inEpoch;
  if (speed.position < 0) Object.assign(speed, { position: startEpoch + p.epoch - (p.step === 0 && p.epoch > 0 ? 1 : 0), elapsed: 0 });
  /** @type {HTMLProgressElement} */ ($('tp-run-progress')).value = position / settings.epochs;
  const epochsPerSecond = (position - speed.position) / Math.max(p.elapsed - speed.elapsed, 1e-3);
  $('tp-speed').textContent = `${Math.round(epochsPerSecond * p.stepsPerEpoch * settings.batchSize)} samples/s`;
  $('tp-eta').textContent = epochsPerSecond > 0 ? duration((settings.epochs - position) / epochsPerSecond) : '-';
  charts.add(position, { loss: p.loss, accuracy: p.accuracy }, null);
  status(`Epoch ${startEpoch + doneEpochs + 1} of ${settings.epochs}, step ${p.step || p.stepsPerEpoch} of ${p.stepsPerEpoch}: loss ${p.loss.toFixed(4)}, accuracy ${(100 * p.accuracy).toFixed(1)}%, learning rate ${p.learningRate.toExponential(2)}`);
}

/** Evaluates the held model on the test set (in a worker), shows the results, keeps them. */
async function evaluateTest() {
  const dataName = state.saved?.settings.data ?? readForm().data;
  /** @type {HTMLButtonElement} */ ($('tp-evaluate')).disabled = true;
  try {
    const data = await loadData(dataName);
    const weights = state.model.saveWeights();
    const spec = state.model.spec();
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
  let model;
  try {
    model = api.Model.fromSpec(spec);
  } catch (e) {
    return message(`The model is not valid: ${/** @type {Error} */ (e).message}`);
  }
  charts.clear();
  $('tp-continue').hidden = true;
  train(model, choice, checked.settings, 0, []);
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
  fillModels();
  applyHash();
  $('tp-model').addEventListener('change', onModelChange);
  $('tp-data').addEventListener('change', onDataChange);
  $('tp-train').addEventListener('click', onTrain);
  $('tp-pause').addEventListener('click', onPause);
  $('tp-stop').addEventListener('click', () => { api.training.stop(); status('Stopping after this slice of steps...'); });
  $('tp-continue').addEventListener('click', onContinue);
  $('tp-evaluate').addEventListener('click', () => evaluateTest());
  $('tp-download').addEventListener('click', onDownload);
  $('tp-upload').addEventListener('change', onUpload);
  $('tp-share').addEventListener('click', onShare);
  await restore();
  host.dataset.ready = 'true';
}
