// @ts-check
/**
 * The training panel's progress line: the epoch and run bars, samples per second, time left,
 * the chart's running point and the status text, from the worker's progress messages.
 */

/** @param {string} id */
const $ = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @param {number} seconds */
const duration = (seconds) => (seconds < 90 ? `${Math.round(seconds)} s` : seconds < 5400 ? `${Math.round(seconds / 60)} min` : `${(seconds / 3600).toFixed(1)} h`);

/**
 * @param {any} p the worker's progress message @param {number} startEpoch
 * @param {import('./train-settings.js').TrainSettings} settings @param {{position: number, elapsed: number}} speed where the
 * first message of this call stood (a resumed run's epochs count from its checkpoint's)
 * @param {import('./charts.js').TrainingCharts} charts
 */
export function showProgress(p, startEpoch, settings, speed, charts) {
  const inEpoch = p.step === 0 && p.epoch > 0 ? 1 : p.step / p.stepsPerEpoch;
  const doneEpochs = p.step === 0 && p.epoch > 0 ? p.epoch - 1 : p.epoch;
  /** @type {HTMLProgressElement} */ ($('tp-epoch-progress')).value = inEpoch;
  const position = startEpoch + doneEpochs + inEpoch;
  if (speed.position < 0) Object.assign(speed, { position: startEpoch + p.epoch - (p.step === 0 && p.epoch > 0 ? 1 : 0), elapsed: 0 });
  /** @type {HTMLProgressElement} */ ($('tp-run-progress')).value = position / settings.epochs;
  const epochsPerSecond = (position - speed.position) / Math.max(p.elapsed - speed.elapsed, 1e-3);
  $('tp-speed').textContent = `${Math.round(epochsPerSecond * p.stepsPerEpoch * settings.batchSize)} samples/s${p.backend === 'webgpu' ? ' on WebGPU' : ` on the CPU path${p.workers > 1 ? ` (${p.workers} workers)` : ''}`}`;
  $('tp-eta').textContent = epochsPerSecond > 0 ? duration((settings.epochs - position) / epochsPerSecond) : '-';
  charts.add(position, { loss: p.loss, accuracy: p.accuracy }, null);
  $('tp-status').textContent = (`Epoch ${startEpoch + doneEpochs + 1} of ${settings.epochs}, step ${p.step || p.stepsPerEpoch} of ${p.stepsPerEpoch}: loss ${p.loss.toFixed(4)}, accuracy ${(100 * p.accuracy).toFixed(1)}%, learning rate ${p.learningRate.toExponential(2)}`);
}
