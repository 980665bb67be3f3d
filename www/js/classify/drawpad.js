// @ts-check
/**
 * A drawing pad for the 28x28x1 models (MNIST digits, Fashion-MNIST clothes): dark ink on a
 * light square, drawn with a mouse, a finger or a pen (pointer events); classified as it is
 * drawn, latest-wins, through the same 'mnist' preprocessing a photo gets (grey, inverted
 * because the background is light, centred as MNIST). Clear with the button, or with Delete,
 * Backspace or Escape on the pad.
 */
import * as infer from '../infer.js';
import { el, say, messageOf } from './dom.js';
import { showSteps, showTop, timing } from './answer-view.js';

/** The pad's size in canvas pixels: ten per MNIST pixel. */
const SIZE = 280;
/** A pen about 2.2 MNIST pixels wide: MNIST's strokes are two to three pixels. */
const LINE_WIDTH = 22;

export class DrawPad {
  /**
   * @param {HTMLElement} host
   * @param {{
   *   model: () => Promise<import('./models.js').Classifier | null>,
   *   classify: (source: HTMLCanvasElement, model: import('./models.js').Classifier) => Promise<{answer: import('./models.js').Answer, steps: any[]}>,
   *   goTrain: () => void,
   * }} deps
   */
  constructor(host, deps) {
    this.deps = deps;
    this.canvas = el('canvas', { id: 'cl-pad', width: SIZE, height: SIZE, tabIndex: 0, className: 'cl-pad',
      role: 'img', 'aria-label': 'Drawing pad: draw a digit or a piece of clothing with the mouse, a finger or a pen; Delete clears it' });
    this.ctx = /** @type {CanvasRenderingContext2D} */ (this.canvas.getContext('2d', { willReadFrequently: true }));
    this.clearButton = el('button', { type: 'button', id: 'cl-pad-clear' }, ['Clear the pad']);
    this.note = el('p', { id: 'cl-pad-note', className: 'note', role: 'status' });
    this.trainButton = el('button', { type: 'button', id: 'cl-pad-train', hidden: true }, ['Go to the Train view']);
    this.steps = el('div', { id: 'cl-pad-steps', className: 'cl-steps' });
    this.top = el('ol', { id: 'cl-pad-top', className: 'cl-top', 'aria-label': 'What the model sees in the drawing' });
    this.timing = el('p', { id: 'cl-pad-timing', className: 'note', 'aria-live': 'polite' });
    this.strokes = 0;
    host.append(
      el('h3', { id: 'cl-pad-h' }, ['Draw a digit or a piece of clothing']),
      el('p', { className: 'note' }, ['For a model trained on MNIST or Fashion-MNIST (28x28 grey). Draw large, in the middle.']),
      el('div', { className: 'cl-pad-row' }, [
        el('div', {}, [this.canvas, el('div', { className: 'cl-buttons' }, [this.clearButton, this.trainButton])]),
        el('div', { className: 'cl-pad-out' }, [this.note, this.top, this.timing, this.steps]),
      ]),
    );
    this.latest = infer.latest(() => this.classifyNow());
    this.wire();
    this.clear();
  }

  wire() {
    const c = this.canvas;
    /** @type {{x: number, y: number} | null} */
    let last = null;
    /** @param {PointerEvent} e */
    const at = (e) => {
      const r = c.getBoundingClientRect();
      return { x: (e.clientX - r.left) * (SIZE / r.width), y: (e.clientY - r.top) * (SIZE / r.height) };
    };
    c.addEventListener('pointerdown', (e) => {
      e.preventDefault();
      c.setPointerCapture(e.pointerId);
      last = at(e);
      this.line(last, last);
    });
    c.addEventListener('pointermove', (e) => {
      if (!last) return;
      const p = at(e);
      this.line(last, p);
      last = p;
    });
    const end = () => { if (last) { last = null; this.strokes += 1; this.request(); } };
    c.addEventListener('pointerup', end);
    c.addEventListener('pointercancel', end);
    c.addEventListener('keydown', (e) => {
      if (e.key === 'Delete' || e.key === 'Backspace' || e.key === 'Escape') { e.preventDefault(); this.clear(); }
    });
    this.clearButton.addEventListener('click', () => this.clear());
    this.trainButton.addEventListener('click', () => this.deps.goTrain());
  }

  /** @param {{x: number, y: number}} a @param {{x: number, y: number}} b */
  line(a, b) {
    const ctx = this.ctx;
    ctx.strokeStyle = '#111';
    ctx.lineWidth = LINE_WIDTH;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x + 0.01, b.y);
    ctx.stroke();
    this.inked = true;
    this.request();
  }

  clear() {
    this.ctx.fillStyle = '#fff';
    this.ctx.fillRect(0, 0, SIZE, SIZE);
    this.inked = false;
    this.top.replaceChildren();
    this.steps.replaceChildren();
    this.timing.textContent = '';
  }

  /** Classifies the drawing (latest-wins: strokes while a call runs collapse into one). */
  request() {
    this.latest(undefined).catch((e) => say(this.note, `The drawing could not be classified: ${messageOf(e)}`, true));
  }

  /** Says whether a 28x28x1 model is there; offers the Train view when none is. */
  async refresh() {
    const model = await this.deps.model();
    this.trainButton.hidden = !!model;
    if (!model) say(this.note, 'No digit or clothing model yet: train one on MNIST or Fashion-MNIST in the Train view (a few minutes), then come back.');
    else say(this.note, `Classified by ${model.label}.`);
    return model;
  }

  async classifyNow() {
    if (!this.inked) return null;
    const model = await this.refresh();
    if (!model) return null;
    const { answer, steps } = await this.deps.classify(this.canvas, model);
    showTop(this.top, answer);
    showSteps(this.steps, steps);
    this.timing.textContent = timing(answer);
    this.top.dataset.results = String(Number(this.top.dataset.results ?? 0) + 1);
    return answer;
  }
}
