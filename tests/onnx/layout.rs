//! Moving between ONNX's layouts (NCHW activations, OIHW weights) and convlab's (NHWC, HWIO),
//! and numpy-style broadcasting for the element-wise cases.

/// Moves axis 1 (channels) to the end: `[n, c, rest...] -> [n, rest..., c]`.
pub fn channels_last(data: &[f32], dims: &[usize]) -> Vec<f32> {
    let (n, c) = (dims[0], dims[1]);
    let inner: usize = dims[2..].iter().product();
    let mut out = vec![0.0; data.len()];
    for b in 0..n {
        for k in 0..c {
            for p in 0..inner {
                out[(b * inner + p) * c + k] = data[(b * c + k) * inner + p];
            }
        }
    }
    out
}

/// The inverse of [`channels_last`]: `[n, rest..., c] -> [n, c, rest...]` for NCHW `dims`.
pub fn channels_first(data: &[f32], dims: &[usize]) -> Vec<f32> {
    let (n, c) = (dims[0], dims[1]);
    let inner: usize = dims[2..].iter().product();
    let mut out = vec![0.0; data.len()];
    for b in 0..n {
        for k in 0..c {
            for p in 0..inner {
                out[(b * c + k) * inner + p] = data[(b * inner + p) * c + k];
            }
        }
    }
    out
}

/// ONNX conv weights `[o, i, h, w]` as HWIO `[h, w, i, o]`.
pub fn oihw_to_hwio(data: &[f32], dims: &[usize]) -> Vec<f32> {
    let (o_, i_, h_, w_) = (dims[0], dims[1], dims[2], dims[3]);
    let mut out = vec![0.0; data.len()];
    for o in 0..o_ {
        for i in 0..i_ {
            for h in 0..h_ {
                for w in 0..w_ {
                    out[((h * w_ + w) * i_ + i) * o_ + o] = data[((o * i_ + i) * h_ + h) * w_ + w];
                }
            }
        }
    }
    out
}

/// A matrix `[r, c]` transposed.
pub fn transpose(data: &[f32], r: usize, c: usize) -> Vec<f32> {
    let mut out = vec![0.0; data.len()];
    for i in 0..r {
        for j in 0..c {
            out[j * r + i] = data[i * c + j];
        }
    }
    out
}

/// The numpy broadcast of `dims` to `target` (trailing axes aligned), or None if impossible.
pub fn broadcast(data: &[f32], dims: &[usize], target: &[usize]) -> Option<Vec<f32>> {
    if dims.len() > target.len() {
        return None;
    }
    let pad = target.len() - dims.len();
    let full: Vec<usize> = std::iter::repeat_n(1, pad).chain(dims.iter().copied()).collect();
    if full.iter().zip(target).any(|(&d, &t)| d != 1 && d != t) {
        return None;
    }
    let count: usize = target.iter().product();
    let mut out = Vec::with_capacity(count);
    for flat in 0..count {
        let (mut rem, mut src, mut stride) = (flat, 0, 1);
        for axis in (0..target.len()).rev() {
            let idx = rem % target[axis];
            rem /= target[axis];
            if full[axis] != 1 {
                src += idx * stride;
            }
            stride *= full[axis];
        }
        out.push(data[src]);
    }
    Some(out)
}
