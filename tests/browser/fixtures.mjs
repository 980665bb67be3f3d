// Shared fixtures of the browser tests (strings to eval in the page, since page.evaluate
// takes serialisable arguments).

/** IDX bytes of n 8x8 images: class k is a bright 2x2 block at one of ten places, plus noise. */
export const MAKE_DATA = `(n, seed) => {
  let s = seed >>> 0;
  const rand = () => ((s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32);
  const images = new Uint8Array(16 + n * 64);
  const labels = new Uint8Array(8 + n);
  new DataView(images.buffer).setUint32(0, 0x803); new DataView(images.buffer).setUint32(4, n);
  new DataView(images.buffer).setUint32(8, 8); new DataView(images.buffer).setUint32(12, 8);
  new DataView(labels.buffer).setUint32(0, 0x801); new DataView(labels.buffer).setUint32(4, n);
  for (let i = 0; i < n; i++) {
    const k = Math.floor(rand() * 10);
    labels[8 + i] = k;
    const [r, c] = [Math.floor(k / 4) * 2 + 1, (k % 4) * 2];
    for (let p = 0; p < 64; p++) images[16 + i * 64 + p] = Math.floor(rand() * 60);
    for (const [dr, dc] of [[0, 0], [0, 1], [1, 0], [1, 1]]) images[16 + i * 64 + (r + dr) * 8 + c + dc] = 255;
  }
  return { images, labels };
}`;
