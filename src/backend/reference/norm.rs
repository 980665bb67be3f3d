//! Batch normalization and local response normalization, forward and backward, in f64.
//! `c` is the number of channels (the last axis); every other axis is a "row".

/// Per-channel mean and biased variance over the rows.
pub fn moments(x: &[f64], c: usize) -> (Vec<f64>, Vec<f64>) {
    let rows = (x.len() / c) as f64;
    let mut mean = vec![0.0; c];
    for row in x.chunks(c) {
        for k in 0..c {
            mean[k] += row[k] / rows;
        }
    }
    let mut var = vec![0.0; c];
    for row in x.chunks(c) {
        for k in 0..c {
            var[k] += (row[k] - mean[k]).powi(2) / rows;
        }
    }
    (mean, var)
}

/// `gamma * (x - mean) / sqrt(var + eps) + beta`, per channel.
pub fn batch_norm(
    x: &[f64],
    c: usize,
    gamma: &[f64],
    beta: &[f64],
    mean: &[f64],
    var: &[f64],
    eps: f64,
) -> Vec<f64> {
    x.iter()
        .enumerate()
        .map(|(i, v)| {
            let k = i % c;
            gamma[k] * (v - mean[k]) / (var[k] + eps).sqrt() + beta[k]
        })
        .collect()
}

/// Training-mode batch norm as a function of `x` alone (its statistics depend on `x`).
pub fn batch_norm_training(x: &[f64], c: usize, gamma: &[f64], beta: &[f64], eps: f64) -> Vec<f64> {
    let (mean, var) = moments(x, c);
    batch_norm(x, c, gamma, beta, &mean, &var, eps)
}

/// Gradients of training-mode batch norm: `(dx, dgamma, dbeta)`, with
/// `dx = gamma / (m sqrt(var + eps)) * (m dy - sum dy - xhat sum(dy xhat))`.
pub fn batch_norm_training_backward(
    x: &[f64],
    c: usize,
    gamma: &[f64],
    eps: f64,
    dy: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mean, var) = moments(x, c);
    let m = (x.len() / c) as f64;
    let xhat: Vec<f64> =
        x.iter().enumerate().map(|(i, v)| (v - mean[i % c]) / (var[i % c] + eps).sqrt()).collect();
    let (mut dgamma, mut dbeta) = (vec![0.0; c], vec![0.0; c]);
    for (i, d) in dy.iter().enumerate() {
        dgamma[i % c] += d * xhat[i];
        dbeta[i % c] += d;
    }
    let dx = dy
        .iter()
        .enumerate()
        .map(|(i, d)| {
            let k = i % c;
            gamma[k] / (m * (var[k] + eps).sqrt()) * (m * d - dbeta[k] - xhat[i] * dgamma[k])
        })
        .collect();
    (dx, dgamma, dbeta)
}

/// Gradients of inference-mode batch norm (fixed statistics): `(dx, dgamma, dbeta)`.
pub fn batch_norm_inference_backward(
    x: &[f64],
    c: usize,
    gamma: &[f64],
    mean: &[f64],
    var: &[f64],
    eps: f64,
    dy: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let (mut dgamma, mut dbeta) = (vec![0.0; c], vec![0.0; c]);
    let mut dx = vec![0.0; x.len()];
    for (i, d) in dy.iter().enumerate() {
        let k = i % c;
        let istd = 1.0 / (var[k] + eps).sqrt();
        dgamma[k] += d * (x[i] - mean[k]) * istd;
        dbeta[k] += d;
        dx[i] = d * gamma[k] * istd;
    }
    (dx, dgamma, dbeta)
}

/// The LRN denominator base `bias + alpha * sum of squares over the window`, per element.
fn lrn_scale(x: &[f64], c: usize, r: usize, bias: f64, alpha: f64) -> Vec<f64> {
    let mut s = vec![0.0; x.len()];
    for (row, out) in x.chunks(c).zip(s.chunks_mut(c)) {
        for k in 0..c {
            let lo = k.saturating_sub(r);
            let hi = (k + r).min(c - 1);
            out[k] = bias + alpha * row[lo..=hi].iter().map(|v| v * v).sum::<f64>();
        }
    }
    s
}

/// `tf.nn.local_response_normalization`: `x / (bias + alpha * sum_{window} x^2)^beta`.
pub fn lrn(x: &[f64], c: usize, r: usize, bias: f64, alpha: f64, beta: f64) -> Vec<f64> {
    let s = lrn_scale(x, c, r, bias, alpha);
    x.iter().zip(&s).map(|(v, s)| v * s.powf(-beta)).collect()
}

/// Gradient of LRN: `dx[j] = dy[j] s[j]^-beta - 2 alpha beta x[j] sum over i whose window holds j
/// of dy[i] x[i] s[i]^(-beta - 1)`.
pub fn lrn_backward(
    x: &[f64],
    c: usize,
    r: usize,
    bias: f64,
    alpha: f64,
    beta: f64,
    dy: &[f64],
) -> Vec<f64> {
    let s = lrn_scale(x, c, r, bias, alpha);
    let mut dx = vec![0.0; x.len()];
    for base in (0..x.len()).step_by(c) {
        for j in 0..c {
            let mut cross = 0.0;
            for i in j.saturating_sub(r)..=(j + r).min(c - 1) {
                cross += dy[base + i] * x[base + i] * s[base + i].powf(-beta - 1.0);
            }
            dx[base + j] =
                dy[base + j] * s[base + j].powf(-beta) - 2.0 * alpha * beta * x[base + j] * cross;
        }
    }
    dx
}
