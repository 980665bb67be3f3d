// An independent f64 conv2d for the browser tests, written from tf.nn.conv2d's documented
// semantics (not from the core's code): NHWC input, HWIO filters, "same" = ceil(in / stride)
// with the odd pad after, "valid" = only windows that fit.

export function conv2dRef(x, f, { strides = 1, padding = 'valid', dilations = 1 } = {}) {
  const [sh, sw] = Array.isArray(strides) ? strides : [strides, strides];
  const [dh, dw] = Array.isArray(dilations) ? dilations : [dilations, dilations];
  const [n, h, w, c] = x.shape;
  const [fh, fw, , oc] = f.shape;
  const eh = (fh - 1) * dh + 1;
  const ew = (fw - 1) * dw + 1;
  let oh, ow, pt, pl;
  if (typeof padding === 'string') padding = padding.toLowerCase();
  if (padding === 'same') {
    oh = Math.ceil(h / sh); ow = Math.ceil(w / sw);
    pt = Math.floor(Math.max((oh - 1) * sh + eh - h, 0) / 2);
    pl = Math.floor(Math.max((ow - 1) * sw + ew - w, 0) / 2);
  } else if (padding === 'valid') {
    oh = Math.floor((h - eh) / sh) + 1; ow = Math.floor((w - ew) / sw) + 1; pt = 0; pl = 0;
  } else {
    const [[t, b], [l, r]] = padding;
    oh = Math.floor((h + t + b - eh) / sh) + 1; ow = Math.floor((w + l + r - ew) / sw) + 1; pt = t; pl = l;
  }
  const out = new Float64Array(n * oh * ow * oc);
  const abs = new Float64Array(n * oh * ow * oc);
  for (let b = 0; b < n; b++) for (let i = 0; i < oh; i++) for (let j = 0; j < ow; j++) for (let k = 0; k < oc; k++) {
    let s = 0, a = 0;
    for (let u = 0; u < fh; u++) for (let v = 0; v < fw; v++) {
      const y = i * sh + u * dh - pt, xx = j * sw + v * dw - pl;
      if (y < 0 || xx < 0 || y >= h || xx >= w) continue;
      for (let ch = 0; ch < c; ch++) {
        const p = x.data[((b * h + y) * w + xx) * c + ch] * f.data[((u * fw + v) * c + ch) * oc + k];
        s += p; a += Math.abs(p);
      }
    }
    out[((b * oh + i) * ow + j) * oc + k] = s;
    abs[((b * oh + i) * ow + j) * oc + k] = a;
  }
  return { shape: [n, oh, ow, oc], data: out, abs };
}

/** Seeded uniform values in [-1, 1). */
export function randomTensor(shape, seed) {
  let s = seed >>> 0;
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    data[i] = (s / 2 ** 32) * 2 - 1;
  }
  return { shape, data };
}

/**
 * Largest error of `got` against the reference, as a fraction of the f32 summation bound
 * gamma(K+1) * sum|x*w| (Higham 3.1); a value <= 1 is within the bound. K = fh * fw * cin.
 */
export function boundRatio(got, ref, terms) {
  const u = 2 ** -24;
  const gamma = ((terms + 1) * u) / (1 - (terms + 1) * u);
  let worst = 0;
  for (let i = 0; i < ref.data.length; i++) {
    const err = Math.abs(got[i] - ref.data[i]);
    const tol = gamma * ref.abs[i] + 1e-30;
    worst = Math.max(worst, err / tol);
  }
  return worst;
}
