// @ts-check
/**
 * Live classification: a timer asks for a result `hz` times a second through a latest-wins
 * call (infer.latest), so a slow model never queues frames: while one frame is classified only
 * the newest request waits, and the frame is read when its turn comes. The achieved rate is the
 * number of results in the last few seconds. Freezing stops the updates (the last result stays).
 */
import * as infer from '../infer.js';

/** The window over which the rate is measured, in ms. */
const RATE_WINDOW = 3000;

/**
 * @template R
 */
export class LiveLoop {
  /**
   * @param {() => Promise<R | null>} step classifies the current frame (null: nothing to classify)
   * @param {(result: R, rate: number) => void} show called with each result and the rate (per second)
   * @param {(e: Error) => void} fail called when a step fails (the loop stops)
   * @param {number} [hz] requests per second
   */
  constructor(step, show, fail, hz = 8) {
    this.show = show;
    this.fail = fail;
    this.hz = hz;
    this.frozen = false;
    /** @type {ReturnType<typeof setInterval> | null} */
    this.timer = null;
    /** @type {number[]} times of the recent results */
    this.times = [];
    this.results = 0;
    this.latest = infer.latest(/** @param {number} _tick */ (_tick) => step());
  }

  get running() {
    return this.timer !== null;
  }

  start() {
    if (this.timer) return;
    this.times = [];
    let tick = 0;
    this.timer = setInterval(() => this.request(tick++), 1000 / this.hz);
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.times = [];
  }

  /** @param {boolean} frozen */
  freeze(frozen) {
    this.frozen = frozen;
    this.times = [];
  }

  /** Results per second over the last few seconds (NaN until two results are in). */
  rate() {
    const now = performance.now();
    this.times = this.times.filter((t) => now - t <= RATE_WINDOW);
    if (this.times.length < 2) return NaN;
    return (this.times.length - 1) / ((this.times[this.times.length - 1] - this.times[0]) / 1000);
  }

  /** @param {number} tick */
  async request(tick) {
    if (this.frozen) return;
    try {
      const result = await this.latest(tick);
      if (result === null || this.frozen || !this.running) return;
      this.times.push(performance.now());
      this.results += 1;
      this.show(result, this.rate());
    } catch (e) {
      this.stop();
      this.fail(/** @type {Error} */ (e));
    }
  }
}
