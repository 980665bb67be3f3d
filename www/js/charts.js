// @ts-check
/**
 * Live training curves: loss and accuracy against epochs, training (the running mean of the
 * epoch so far, after each slice of steps) beside validation (at each epoch's end). Drawn by
 * uPlot (MIT, vendored into assets/vendor/ by scripts/vendor.sh), which redraws thousands of
 * points in well under a frame; it is loaded on first use, so the filter demo never waits.
 * Each chart's element carries `data-points` (the number of x values) for the tests.
 */

/** @type {Promise<any> | null} */
let uplotModule = null;
function loadUplot() {
  uplotModule ??= (async () => {
    const css = document.createElement('link');
    css.rel = 'stylesheet';
    css.href = new URL('../assets/vendor/uplot/uPlot.min.css', import.meta.url).href;
    document.head.append(css);
    const mod = await import(new URL('../assets/vendor/uplot/uPlot.esm.js', import.meta.url).href);
    return mod.default;
  })();
  return uplotModule;
}

/**
 * One chart: x (epochs) and two series, training and validation.
 * @param {HTMLElement} host @param {string} title @param {string} unit
 */
async function makeChart(host, title, unit) {
  const UPlot = await loadUplot();
  /** @type {[number[], (number | null)[], (number | null)[]]} */
  const data = [[], [], []];
  const width = Math.max(280, Math.min(520, host.clientWidth || 460));
  const plot = new UPlot({
    title, width, height: 220,
    scales: { x: { time: false } },
    axes: [{ label: 'epoch' }, { label: unit }],
    series: [
      { label: 'epoch', value: (/** @type {any} */ _u, /** @type {number} */ v) => (v == null ? '-' : v.toFixed(2)) },
      { label: 'training', stroke: '#1f6feb', width: 1.5, spanGaps: true },
      { label: 'validation', stroke: '#d1242f', width: 2, spanGaps: true, points: { show: true, size: 6 } },
    ],
  }, data, host);
  return { plot, data };
}

export class TrainingCharts {
  /** @param {HTMLElement} lossHost @param {HTMLElement} accuracyHost */
  constructor(lossHost, accuracyHost) {
    this.hosts = [lossHost, accuracyHost];
    /** @type {Promise<{plot: any, data: [number[], (number | null)[], (number | null)[]]}[]>} */
    this.charts = Promise.all([makeChart(lossHost, 'Loss', 'cross-entropy'), makeChart(accuracyHost, 'Accuracy', 'fraction correct')]);
    this.pending = false;
  }

  /** Removes every point. */
  async clear() {
    for (const c of await this.charts) {
      c.data.forEach((column) => { column.length = 0; });
      c.plot.setData(c.data);
    }
    this.hosts.forEach((h) => { h.dataset.points = '0'; });
  }

  /**
   * Adds a point: `train` and/or `validation` as `{loss, accuracy}` at `x` epochs.
   * @param {number} x @param {{loss: number, accuracy: number} | null} train
   * @param {{loss: number, accuracy: number} | null} validation
   */
  async add(x, train, validation) {
    const [loss, accuracy] = await this.charts;
    for (const [c, key] of /** @type {const} */ ([[loss, 'loss'], [accuracy, 'accuracy']])) {
      const [xs, t, v] = c.data;
      const last = xs.length - 1;
      if (last >= 0 && xs[last] >= x) {
        // The same x (an epoch's end, then its validation): one point with both values.
        if (train) t[last] = train[key];
        if (validation) v[last] = validation[key];
      } else {
        xs.push(x); t.push(train?.[key] ?? null); v.push(validation?.[key] ?? null);
      }
    }
    this.redrawSoon();
  }

  /** Redraws at most once a frame, however often points arrive. */
  redrawSoon() {
    if (this.pending) return;
    this.pending = true;
    requestAnimationFrame(async () => {
      this.pending = false;
      const charts = await this.charts;
      charts.forEach((c, i) => {
        c.plot.setData(c.data);
        this.hosts[i].dataset.points = String(c.data[0].length);
      });
    });
  }
}
