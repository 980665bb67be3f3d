// @ts-check
/**
 * The training panel's markup: labelled controls, progress bars, status lines (aria-live),
 * chart hosts and the results area. Kept apart from train-panel.js (the behaviour) so that a
 * later page (the playground, issue 7) can host the same panel anywhere. Ids start with `tp-`.
 */
import { OPTIMIZERS, SCHEDULES, DATASETS } from './train-settings.js';

const options = (/** @type {[string, string][]} */ pairs) =>
  pairs.map(([value, label]) => `<option value="${value}">${label}</option>`).join('');

const OPTIMIZER_LABELS = {
  sgd: 'SGD', momentum: 'SGD with momentum 0.9', nesterov: 'SGD with Nesterov momentum',
  adam: 'Adam', nadam: 'Nadam', rmsprop: 'RMSProp',
};

/** @param {HTMLElement} host */
export function render(host) {
  host.innerHTML = `
  <h2 id="tp-h">Train a network <span class="fig">(Fashion-MNIST, MNIST, your own images)</span></h2>
  <p>Pick a model, a data set and settings, then train. The training runs in a Web Worker on the
     CPU path, so this page stays responsive; the curves update as it learns, and the weights are
     kept in this browser after every epoch.</p>
  <p id="tp-restored" class="note" aria-live="polite" hidden></p>
  <p id="tp-message" class="note" role="status" aria-live="assertive" hidden></p>
  <form id="tp-form" class="train-form" novalidate>
    <fieldset>
      <legend>Model and data</legend>
      <label>Model <select id="tp-model"></select></label>
      <label>Data set <select id="tp-data">${options(Object.entries(DATASETS))}</select></label>
      <label>Training images <input id="tp-train-images" type="number" min="0" max="55000" step="100"
        aria-describedby="tp-train-images-help"></label>
      <span id="tp-train-images-help" class="note">0: all 55,000 (the last 5,000 are held out for validation)</span>
      <label>Held out of your data <input id="tp-holdout" type="number" min="5" max="50" step="1"
        aria-describedby="tp-holdout-help"> %</label>
      <span id="tp-holdout-help" class="note">of each class, for validation and the test</span>
    </fieldset>
    <fieldset>
      <legend>Optimisation</legend>
      <label>Optimizer <select id="tp-optimizer">${options(OPTIMIZERS.map((o) => [o, /** @type {any} */ (OPTIMIZER_LABELS)[o]]))}</select></label>
      <label>Learning rate <input id="tp-lr" type="number" min="0.0000001" max="10" step="any"></label>
      <label>Schedule <select id="tp-schedule">${options(SCHEDULES.map((s) => [s, s === 'cosine' ? 'cosine decay to 1%' : s === 'step' ? 'step: halve every third of the run' : s]))}</select></label>
      <label>Weight decay (L2) <input id="tp-decay" type="number" min="0" max="1" step="any"></label>
      <label>Batch size <input id="tp-batch" type="number" min="1" max="1024" step="1"></label>
      <label>Epochs <input id="tp-epochs" type="number" min="1" max="1000" step="1"></label>
      <label>Seed <input id="tp-seed" type="number" min="0" step="1"></label>
    </fieldset>
    <fieldset>
      <legend>Augmentation (seeded, per batch)</legend>
      <label>Random shifts up to <input id="tp-shift" type="number" min="0" max="8" step="1"> pixels</label>
      <label class="check"><input id="tp-flip" type="checkbox"> Horizontal flips (off for digits)</label>
      <label>Rotations up to &plusmn; <input id="tp-rotation" type="number" min="0" max="180" step="any"> degrees</label>
      <label>Zoom up to &plusmn; <input id="tp-zoom" type="number" min="0" max="0.95" step="any"> (fraction)</label>
      <label>Contrast up to &plusmn; <input id="tp-contrast" type="number" min="0" max="1" step="any"></label>
      <label>Brightness up to &plusmn; <input id="tp-brightness" type="number" min="0" max="1" step="any"></label>
      <details id="tp-preview-box" class="augment-preview">
        <summary>Preview augmented training samples</summary>
        <p class="note">Top: the images as they are; below: augmented with these settings and the seed.</p>
        <div id="tp-preview" class="preview-strip" data-version="0" role="img"
          aria-label="Training samples, as they are and augmented"></div>
        <p id="tp-preview-note" class="note" aria-live="polite"></p>
      </details>
    </fieldset>
  </form>
  <section id="tp-own" class="own-data" aria-label="Your own data" hidden></section>
  <div class="train-buttons" role="group" aria-label="Training">
    <button id="tp-train" type="button" class="primary">Train</button>
    <button id="tp-pause" type="button" disabled>Pause</button>
    <button id="tp-stop" type="button" disabled>Stop</button>
    <button id="tp-continue" type="button" hidden>Continue training</button>
    <button id="tp-evaluate" type="button" disabled>Evaluate on the test set</button>
  </div>
  <div class="train-progress">
    <label>Data <progress id="tp-data-progress" max="1" value="0"></progress></label>
    <label>Epoch <progress id="tp-epoch-progress" max="1" value="0"></progress></label>
    <label>Run <progress id="tp-run-progress" max="1" value="0"></progress></label>
    <span>Speed: <output id="tp-speed">-</output></span>
    <span>Time left: <output id="tp-eta">-</output></span>
  </div>
  <p id="tp-status" class="run-status" aria-live="polite">No model trained yet.</p>
  <div class="charts">
    <div id="tp-loss-chart" class="chart" role="img" aria-label="Training and validation loss per epoch"></div>
    <div id="tp-acc-chart" class="chart" role="img" aria-label="Training and validation accuracy per epoch"></div>
  </div>
  <div id="tp-results" class="results"></div>
  <div class="train-files" role="group" aria-label="Weights and share link">
    <button id="tp-download" type="button" disabled>Download weights (.safetensors)</button>
    <label class="file-button">Upload weights<input id="tp-upload" type="file" accept=".safetensors,application/octet-stream"></label>
    <button id="tp-share" type="button">Share link with these settings</button>
    <label class="share">Link <input id="tp-link" type="text" readonly></label>
  </div>`;
}
