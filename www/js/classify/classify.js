// @ts-check
/**
 * The Classify view: pick a model (MobileNetV2 pretrained, your trained model, a weights file,
 * your own classes), give it an image (a file picked, dropped or pasted, a sample photo, the
 * webcam live a few times a second, or a drawing), and see the preprocessing that matches the
 * model's input and the top 5 with probabilities. Every model runs in the inference worker, so
 * the page stays responsive. Transfer learning (transfer.js) trains a head on MobileNetV2 from
 * a few images per class. `mount(host)` builds the view inside its section.
 */
import * as views from '../views.js';
import * as store from '../store.js';
import { el, say, messageOf, percent } from './dom.js';
import { normalise, pretrained } from './models.js';
import { ModelPicker } from './picker.js';
import { SAMPLES, decode, loadSample, wireImageInputs } from './sources.js';
import { Camera } from './camera.js';
import { LiveLoop } from './live.js';
import { showSteps, showTop, timing } from './answer-view.js';
import { DrawPad } from './drawpad.js';
import { prepareOffThread } from './prepare-off.js';
import { Transfer } from './transfer.js';
import * as infer from '../infer.js';

/** @typedef {import('./models.js').Classifier} Classifier */
/** @typedef {import('./models.js').Answer} Answer */

/**
 * Preprocesses `source` for `model` and classifies it in the worker. A live frame for the
 * imagenet recipe is first scaled by the browser to the short side the recipe resizes to
 * (the exact, Pillow-like resize of a whole frame costs more than the model).
 * @param {ImageBitmapSource} source @param {Classifier} model @param {boolean} [live]
 */
export async function classifySource(source, model, live = false) {
  const n = model.normalisation;
  const short = live && model.recipe === 'imagenet' ? Math.round((Math.min(model.inputShape[0], model.inputShape[1]) * 256) / 224) : 0;
  const prepared = await prepareOffThread(source, model.recipe, model.inputShape, n && n !== 'own' ? { mean: n.mean, std: n.std } : {}, short);
  const input = { shape: prepared.input.shape, data: n === 'own' ? normalise(prepared.input.data, n) : prepared.input.data };
  const answer = await model.run(input);
  return { answer, steps: prepared.steps };
}

/** The normalisation line under the steps. @param {Classifier} model */
function normalisationNote(model) {
  const n = model.normalisation;
  if (n === 'own') return 'Then each pixel is normalised by the image\'s own mean and standard deviation.';
  return '';
}

/** @param {HTMLElement} host */
export async function mount(host) {
  host.classList.add('classify');
  const modelPart = el('section', { className: 'cl-model', 'aria-labelledby': 'cl-model-h' }, [el('h2', { id: 'cl-model-h' }, ['Classify images'])]);
  const fileInput = el('input', { type: 'file', id: 'cl-file', accept: 'image/*' });
  const zone = el('div', { id: 'cl-drop', className: 'drop' }, [
    'Drop an image here, paste one, or ', el('label', { className: 'file-button' }, ['choose a file', fileInput]),
  ]);
  const sampleButtons = SAMPLES.map((s) => el('button', { type: 'button', dataset: { sample: s.name } }, [`Sample: ${s.name}`]));
  const cameraSelect = el('select', { id: 'cl-camera' }, [el('option', { value: '' }, ['Default camera'])]);
  const startButton = el('button', { type: 'button', id: 'cl-cam-start' }, ['Start camera']);
  const stopButton = el('button', { type: 'button', id: 'cl-cam-stop', disabled: true }, ['Stop camera']);
  const freezeButton = el('button', { type: 'button', id: 'cl-freeze', disabled: true, 'aria-pressed': 'false' }, ['Freeze']);
  const video = el('video', { id: 'cl-video', playsInline: true, muted: true, hidden: true, 'aria-label': 'Camera picture' });
  const still = el('canvas', { id: 'cl-still', hidden: true, role: 'img', 'aria-label': 'The image being classified' });
  const message = el('p', { id: 'cl-message', className: 'note', role: 'alert', hidden: true });
  const steps = el('div', { id: 'cl-steps', className: 'cl-steps' });
  const normNote = el('p', { id: 'cl-norm', className: 'note' });
  const top = el('ol', { id: 'cl-top', className: 'cl-top', 'aria-label': 'Top 5 classes' });
  const timingLine = el('p', { id: 'cl-timing', className: 'note', 'aria-live': 'off' });
  const rateLine = el('p', { id: 'cl-rate', className: 'note' });
  // Screen readers hear a still image's answer once (the live list would be too chatty).
  const announce = el('p', { id: 'cl-announce', className: 'visually-hidden', role: 'status' });
  host.append(
    modelPart,
    el('section', { className: 'cl-input', 'aria-labelledby': 'cl-input-h' }, [
      el('h3', { id: 'cl-input-h' }, ['Image']),
      zone,
      el('div', { className: 'cl-buttons' }, sampleButtons),
      el('div', { className: 'cl-camera', role: 'group', 'aria-label': 'Webcam' }, [
        el('label', { for: 'cl-camera' }, ['Camera ']), cameraSelect, startButton, freezeButton, stopButton,
      ]),
      message,
      el('div', { className: 'cl-picture' }, [video, still]),
    ]),
    el('section', { className: 'cl-output', 'aria-labelledby': 'cl-output-h' }, [
      el('h3', { id: 'cl-output-h' }, ['What the model sees, and what it says']),
      el('div', { className: 'cl-output-row' }, [
        el('div', {}, [el('h4', {}, ['Preprocessing']), steps, normNote]),
        el('div', {}, [el('h4', { id: 'cl-top-h' }, ['Top 5']), top, timingLine, rateLine, announce]),
      ]),
    ]),
  );
  const padPart = el('section', { className: 'cl-pad-part', 'aria-labelledby': 'cl-pad-h' });
  const transferPart = el('section', { className: 'cl-transfer', 'aria-labelledby': 'cl-tl-h' });
  host.append(padPart, transferPart);

  const camera = new Camera(video);
  /** @type {{kind: 'still', name: string, bitmap: ImageBitmap} | {kind: 'camera'} | null} */
  let source = null;

  /** @param {{answer: Answer, steps: any[]}} r @param {Classifier} model */
  const show = (r, model) => {
    showSteps(steps, r.steps);
    normNote.textContent = normalisationNote(model);
    showTop(top, r.answer);
    top.dataset.results = String(Number(top.dataset.results ?? 0) + 1);
    timingLine.textContent = `${model.label}: ${timing(r.answer)}.`;
  };

  const picker = new ModelPicker(modelPart, {
    onChange: () => { if (source?.kind === 'still') classifyStill(); },
    onHeadFile: (read, name) => transfer.loadHeadFile(read, name),
  });

  const runStill = infer.latest(async (/** @type {ImageBitmap} */ bitmap) => {
    const model = await picker.current();
    const r = await classifySource(bitmap, model);
    return { r, model };
  });
  async function classifyStill() {
    if (source?.kind !== 'still') return;
    const { name, bitmap } = source;
    timingLine.textContent = `Classifying ${name}...`;
    try {
      const done = await runStill(bitmap);
      if (done && source?.kind === 'still' && source.bitmap === bitmap) {
        show(done.r, done.model);
        say(message, '');
        const best = done.r.answer.top[0];
        announce.textContent = best ? `${name}: ${best.label}, ${percent(best.probability)}` : '';
      }
    } catch (e) {
      if (source?.kind !== 'still' || source.bitmap !== bitmap) return; // an older image's call
      timingLine.textContent = '';
      say(message, `${name} could not be classified: ${messageOf(e)}`, true);
    }
  }

  /** @param {{name: string, bitmap: ImageBitmap}} s */
  function useStill(s) {
    stopCamera();
    // The previous bitmap is left to the garbage collector: a call may still be copying it.
    source = { kind: 'still', ...s };
    // Shown at most 1024 px wide or high (the model gets the whole bitmap).
    const scale = Math.min(1, 1024 / Math.max(s.bitmap.width, s.bitmap.height));
    still.width = Math.max(1, Math.round(s.bitmap.width * scale));
    still.height = Math.max(1, Math.round(s.bitmap.height * scale));
    /** @type {CanvasRenderingContext2D} */ (still.getContext('2d')).drawImage(s.bitmap, 0, 0, still.width, still.height);
    still.setAttribute('aria-label', `The image being classified: ${s.name}`);
    still.hidden = false;
    rateLine.textContent = '';
    classifyStill();
  }

  /** @param {Blob} file */
  async function takeFile(file) {
    try {
      useStill(await decode(file));
    } catch (e) {
      say(message, messageOf(e), true);
    }
  }

  wireImageInputs({ zone, input: fileInput, active: () => views.shown() === 'classify', take: takeFile });
  sampleButtons.forEach((b, i) => b.addEventListener('click', async () => {
    try { useStill(await loadSample(SAMPLES[i])); } catch (e) { say(message, messageOf(e), true); }
  }));

  // The webcam: live classification, a rate, a freeze.
  const live = new LiveLoop(async () => {
    if (!camera.ready()) return null;
    const model = await picker.current();
    const r = await classifySource(video, model, true);
    return { r, model };
  }, ({ r, model }, rate) => {
    show(r, model);
    rateLine.textContent = Number.isNaN(rate) ? 'Live: measuring the rate...' : `Live: ${rate.toFixed(1)} results per second.`;
    if (!Number.isNaN(rate)) rateLine.dataset.rate = String(rate);
  }, (e) => {
    say(message, `Live classification stopped: ${messageOf(e)}`, true);
    stopCamera();
  });

  async function fillCameras() {
    const chosen = cameraSelect.value || camera.deviceId();
    const cams = await camera.devices().catch(() => []);
    cameraSelect.replaceChildren(el('option', { value: '' }, ['Default camera']),
      ...cams.map((c) => el('option', { value: c.deviceId }, [c.label])));
    if (cams.some((c) => c.deviceId === chosen)) cameraSelect.value = chosen;
  }

  async function startCamera() {
    say(message, '');
    startButton.disabled = true;
    try {
      await camera.start(cameraSelect.value || undefined);
    } catch (e) {
      startButton.disabled = false;
      say(message, messageOf(e), true);
      return;
    }
    source = { kind: 'camera' };
    still.hidden = true;
    video.hidden = false;
    stopButton.disabled = false;
    freezeButton.disabled = false;
    setFrozen(false);
    await fillCameras();
    live.start();
    rateLine.textContent = 'Live: waiting for the first result...';
  }

  function stopCamera() {
    live.stop();
    camera.stop();
    video.hidden = true;
    startButton.disabled = false;
    stopButton.disabled = true;
    freezeButton.disabled = true;
    setFrozen(false);
    if (source?.kind === 'camera') { source = null; rateLine.textContent = 'Camera stopped.'; }
  }

  /** @param {boolean} frozen */
  function setFrozen(frozen) {
    live.freeze(frozen);
    freezeButton.setAttribute('aria-pressed', String(frozen));
    if (frozen) { video.pause(); rateLine.textContent = 'Frozen: the last result stays until you unfreeze.'; }
    else if (camera.running) video.play().catch(() => {});
  }

  startButton.addEventListener('click', startCamera);
  stopButton.addEventListener('click', stopCamera);
  freezeButton.addEventListener('click', () => setFrozen(freezeButton.getAttribute('aria-pressed') !== 'true'));
  cameraSelect.addEventListener('change', () => { if (camera.running) startCamera(); });
  if (!Camera.supported()) {
    startButton.disabled = true;
    say(message, 'This browser gives this page no camera access (it needs https or localhost); files, samples and drawings still work.');
  }
  fillCameras();
  navigator.mediaDevices?.addEventListener?.('devicechange', () => { fillCameras(); });

  const pad = new DrawPad(padPart, {
    model: () => picker.padModel(),
    classify: classifySource,
    goTrain: () => views.show('train', { focus: true }),
  });

  const transfer = new Transfer(transferPart, {
    camera,
    startCamera,
    backbone: () => pretrained(),
    offer: (value, text, loader) => picker.offer(value, text, loader),
    choose: (value) => picker.choose(value),
  });

  views.onShow((name) => {
    if (name !== 'classify') { stopCamera(); return; }
    picker.refreshTrained().then(() => pad.refresh());
  });
  store.subscribe((_s, changed) => { if (changed.has('model')) picker.refreshTrained().then(() => pad.refresh()); });
  await picker.refreshTrained();
  pad.refresh();
  picker.current().catch(() => {});
  await transfer.restore();
  // A link that carries a transfer head (`#head=1....`), now or pasted into this tab later.
  await transfer.openLink();
  window.addEventListener('hashchange', () => { transfer.openLink(); });
}
