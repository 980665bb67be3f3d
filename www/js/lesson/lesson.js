// @ts-check
/**
 * The lesson's live pictures, below the Figure 14-5 demo: receptive fields, stride and zero
 * padding (receptive.js) and max pooling's translation invariance (pooling.js). Both ask the
 * core for their numbers, so they wait for it.
 */
import * as receptive from './receptive.js';
import * as pooling from './pooling.js';

/** @param {HTMLElement} host */
export async function mount(host) {
  await globalThis.convlab.ready;
  await receptive.mount(host);
  await pooling.mount(host);
  host.dataset.ready = 'true';
}
