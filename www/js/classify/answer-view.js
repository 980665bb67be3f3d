// @ts-check
/**
 * Draws what a classification did: the preprocessing steps (each a canvas from preprocess.js
 * with its name and detail) and the top 5 as a list of labelled bars with percentages (the
 * text is the content; the bar is decoration), with the time per call and the backend.
 */
import { el, percent } from './dom.js';

/**
 * @typedef {{name: string, detail: string, canvas: HTMLCanvasElement}} Step
 * @typedef {import('./models.js').Answer} Answer
 */

/**
 * Replaces the steps shown. Canvases are shown at least 96 px wide, pixelated when small.
 * @param {HTMLElement} host @param {Step[]} steps
 */
export function showSteps(host, steps) {
  host.replaceChildren(...steps.map((s, i) => {
    const canvas = s.canvas;
    canvas.classList.add('cl-step-canvas');
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `${s.name}: ${s.detail}`);
    if (canvas.width < 96) canvas.classList.add('pixelated');
    return el('figure', { className: 'cl-step' }, [
      canvas,
      el('figcaption', {}, [el('strong', {}, [`${i + 1}. ${s.name}`]), el('br'), s.detail]),
    ]);
  }));
}

/**
 * Replaces the list with the answer's top guesses.
 * @param {HTMLOListElement} list @param {Answer} answer
 */
export function showTop(list, answer) {
  list.replaceChildren(...answer.top.map((g) => {
    const bar = el('span', { className: 'cl-bar', 'aria-hidden': 'true' });
    bar.style.width = `${Math.max(0.5, 100 * g.probability).toFixed(1)}%`;
    return el('li', { dataset: { index: String(g.index), probability: String(g.probability) } }, [
      el('span', { className: 'cl-label' }, [g.label]),
      el('span', { className: 'cl-percent' }, [percent(g.probability)]),
      el('span', { className: 'cl-track', 'aria-hidden': 'true' }, [bar]),
    ]);
  }));
}

/** "312 ms on the CPU path" @param {Answer} answer */
export function timing(answer) {
  const where = answer.backend === 'webgpu' ? 'WebGPU' : answer.backend === 'cpu' ? 'the CPU path' : answer.backend;
  return Number.isFinite(answer.ms) ? `${Math.round(answer.ms)} ms per image on ${where}` : `on ${where}`;
}
