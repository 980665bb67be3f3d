// @ts-check
/**
 * Preprocessing in the inference worker (`infer.use('./classify/prepare-handlers.js')`), so
 * that the page thread never resizes a photo or a camera frame: preprocess.js's `prepare` on an
 * ImageBitmap (OffscreenCanvas here), its step pictures sent back as ImageBitmaps.
 *
 * - `prepare` `{source: ImageBitmap, recipe, inputShape, options}`: `{input, steps: [{name,
 *   detail, bitmap}]}`; the source bitmap is closed.
 */
import { prepare } from '../preprocess.js';

/** @type {Record<string, (ctx: any, args: any) => Promise<any>>} */
export const handlers = {
  async prepare(_ctx, { source, recipe, inputShape, options }) {
    try {
      const prepared = prepare(source, recipe, inputShape, options ?? {});
      const steps = prepared.steps.map((s) => ({
        name: s.name, detail: s.detail,
        bitmap: /** @type {OffscreenCanvas} */ (/** @type {unknown} */ (s.canvas)).transferToImageBitmap(),
      }));
      return { input: prepared.input, steps };
    } finally {
      source?.close?.();
    }
  },
};
