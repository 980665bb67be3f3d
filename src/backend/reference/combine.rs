//! Ops that combine or reshape tensors, forward and backward, in f64: residual add, depth
//! concatenation, per-channel scaling (squeeze-and-excitation), zero padding, depthwise max
//! pooling, LeNet-5's trainable subsampling and dropout with a given mask.

use crate::ops::pool::Pool2dGeometry;

/// `a + b` (same shapes). Its gradient is `dy` for both.
pub fn add(a: &[f64], b: &[f64]) -> Vec<f64> {
    a.iter().zip(b).map(|(x, y)| x + y).collect()
}

/// Concatenation along the last axis of tensors with `channels[i]` channels each and the same
/// number of rows.
pub fn concat(parts: &[&[f64]], channels: &[usize]) -> Vec<f64> {
    let rows = parts[0].len() / channels[0];
    let mut out = Vec::new();
    for r in 0..rows {
        for (p, &c) in parts.iter().zip(channels) {
            out.extend_from_slice(&p[r * c..(r + 1) * c]);
        }
    }
    out
}

/// The gradient of [`concat`]: `dy` split back into the parts.
pub fn concat_backward(dy: &[f64], channels: &[usize]) -> Vec<Vec<f64>> {
    let total: usize = channels.iter().sum();
    let rows = dy.len() / total;
    let mut parts: Vec<Vec<f64>> = channels.iter().map(|&c| Vec::with_capacity(rows * c)).collect();
    for r in 0..rows {
        let mut offset = r * total;
        for (p, &c) in parts.iter_mut().zip(channels) {
            p.extend_from_slice(&dy[offset..offset + c]);
            offset += c;
        }
    }
    parts
}

/// `y[n, p, c] = x[n, p, c] * s[n, c]` for `x` `[n, pixels, c]` and `s` `[n, c]`.
pub fn channel_scale(x: &[f64], s: &[f64], n: usize, c: usize) -> Vec<f64> {
    let pixels = x.len() / (n * c);
    x.iter().enumerate().map(|(i, v)| v * s[(i / (pixels * c)) * c + i % c]).collect()
}

/// Gradients of [`channel_scale`]: `(dx, ds)`.
pub fn channel_scale_backward(
    x: &[f64],
    s: &[f64],
    n: usize,
    c: usize,
    dy: &[f64],
) -> (Vec<f64>, Vec<f64>) {
    let pixels = x.len() / (n * c);
    let mut ds = vec![0.0; n * c];
    let dx = dy
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let k = (i / (pixels * c)) * c + i % c;
            ds[k] += d * x[i];
            d * s[k]
        })
        .collect();
    (dx, ds)
}

/// Zero padding of `x` `[n, h, w, c]` by `[[top, bottom], [left, right]]`.
pub fn zero_pad(x: &[f64], shape: [usize; 4], pads: [[usize; 2]; 2]) -> Vec<f64> {
    let [n_, h, w, c] = shape;
    let (oh, ow) = (h + pads[0][0] + pads[0][1], w + pads[1][0] + pads[1][1]);
    let mut out = vec![0.0; n_ * oh * ow * c];
    for n in 0..n_ {
        for y in 0..h {
            for xx in 0..w {
                for k in 0..c {
                    out[((n * oh + y + pads[0][0]) * ow + xx + pads[1][0]) * c + k] =
                        x[((n * h + y) * w + xx) * c + k];
                }
            }
        }
    }
    out
}

/// The gradient of [`zero_pad`]: the padded gradient cropped back.
pub fn zero_pad_backward(dy: &[f64], shape: [usize; 4], pads: [[usize; 2]; 2]) -> Vec<f64> {
    let [n_, h, w, c] = shape;
    let (oh, ow) = (h + pads[0][0] + pads[0][1], w + pads[1][0] + pads[1][1]);
    let mut dx = Vec::with_capacity(n_ * h * w * c);
    for n in 0..n_ {
        for y in 0..h {
            for xx in 0..w {
                for k in 0..c {
                    dx.push(dy[((n * oh + y + pads[0][0]) * ow + xx + pads[1][0]) * c + k]);
                }
            }
        }
    }
    dx
}

/// Depthwise max pooling (the seed's `tf.nn.max_pool(ksize=(1,1,1,k), strides=(1,1,1,k))`):
/// the maximum of each run of `k` channels, `c / k` outputs per pixel.
pub fn depth_max_pool(x: &[f64], k: usize) -> Vec<f64> {
    x.chunks(k).map(|run| run.iter().cloned().fold(f64::NEG_INFINITY, f64::max)).collect()
}

/// The gradient of [`depth_max_pool`]: to the first maximum of each channel run.
pub fn depth_max_pool_backward(x: &[f64], k: usize, dy: &[f64]) -> Vec<f64> {
    let mut dx = vec![0.0; x.len()];
    for (o, w) in x.chunks(k).enumerate() {
        let mut best = 0;
        for (i, v) in w.iter().enumerate() {
            if *v > w[best] {
                best = i;
            }
        }
        dx[o * k + best] += dy[o];
    }
    dx
}

/// LeNet-5's subsampling: `coeff[c] * avg_pool(x) + bias[c]`.
pub fn subsample(g: &Pool2dGeometry, x: &[f64], coeff: &[f64], bias: &[f64]) -> Vec<f64> {
    let c = g.channels;
    super::avg_pool2d(g, x)
        .iter()
        .enumerate()
        .map(|(i, a)| coeff[i % c] * a + bias[i % c])
        .collect()
}

/// Gradients of [`subsample`]: `(dx, dcoeff, dbias)`.
pub fn subsample_backward(
    g: &Pool2dGeometry,
    x: &[f64],
    coeff: &[f64],
    dy: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let c = g.channels;
    let avg = super::avg_pool2d(g, x);
    let (mut dcoeff, mut dbias) = (vec![0.0; c], vec![0.0; c]);
    for (i, d) in dy.iter().enumerate() {
        dcoeff[i % c] += d * avg[i];
        dbias[i % c] += d;
    }
    let scaled: Vec<f64> = dy.iter().enumerate().map(|(i, d)| d * coeff[i % c]).collect();
    (super::avg_pool2d_backward(g, &scaled), dcoeff, dbias)
}

/// Dropout with a given keep-mask: kept values are scaled by `1 / (1 - rate)`, the others are 0.
/// The same function is its own gradient (applied to `dy`).
pub fn dropout(x: &[f64], keep: &[bool], rate: f64) -> Vec<f64> {
    x.iter().zip(keep).map(|(v, &k)| if k { v / (1.0 - rate) } else { 0.0 }).collect()
}
