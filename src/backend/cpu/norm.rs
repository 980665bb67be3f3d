//! Batch normalization and local response normalization on the CPU, forward and backward.
//! Per-channel statistics are accumulated in f64 (one pass for the mean, one for the variance),
//! so their error does not grow with the batch; element-wise work stays in f32.

use super::zeroed;
use crate::error::Result;
use crate::ops::norm::{check_channels, BatchNormParams, LrnParams};

/// Per-channel mean and biased variance over every axis but the last.
pub fn moments(x: &[f32], c: usize) -> Result<(Vec<f32>, Vec<f32>)> {
    check_channels("batchNorm", x.len(), c, &[])?;
    let rows = (x.len() / c) as f64;
    let mut mean = vec![0.0f64; c];
    for row in x.chunks_exact(c) {
        for (m, &v) in mean.iter_mut().zip(row) {
            *m += f64::from(v);
        }
    }
    mean.iter_mut().for_each(|m| *m /= rows);
    let mut var = vec![0.0f64; c];
    for row in x.chunks_exact(c) {
        for ((s, &v), m) in var.iter_mut().zip(row).zip(&mean) {
            *s += (f64::from(v) - m).powi(2);
        }
    }
    Ok((mean.iter().map(|&m| m as f32).collect(), var.iter().map(|&s| (s / rows) as f32).collect()))
}

/// `gamma * (x - mean) / sqrt(var + eps) + beta` with the given statistics.
pub fn batch_norm(
    x: &[f32],
    c: usize,
    gamma: &[f32],
    beta: &[f32],
    mean: &[f32],
    var: &[f32],
    eps: f32,
) -> Result<Vec<f32>> {
    check_channels(
        "batchNorm",
        x.len(),
        c,
        &[
            ("gamma", gamma.len()),
            ("beta", beta.len()),
            ("mean", mean.len()),
            ("variance", var.len()),
        ],
    )?;
    let scale: Vec<f32> = gamma.iter().zip(var).map(|(g, v)| g / (v + eps).sqrt()).collect();
    let shift: Vec<f32> = beta.iter().zip(mean).zip(&scale).map(|((b, m), s)| b - m * s).collect();
    let mut y = zeroed("batchNorm", "output", x.len())?;
    for (yr, xr) in y.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
        for k in 0..c {
            yr[k] = xr[k] * scale[k] + shift[k];
        }
    }
    Ok(y)
}

/// What a training step of batch norm returns: the output and the batch statistics it used.
pub struct BatchNormTraining {
    /// The normalised output.
    pub y: Vec<f32>,
    /// The batch mean per channel.
    pub mean: Vec<f32>,
    /// The batch (biased) variance per channel.
    pub variance: Vec<f32>,
}

/// Training-mode batch norm: normalises with the batch's statistics and folds them into the
/// moving averages, `moving = momentum * moving + (1 - momentum) * batch`.
pub fn batch_norm_training(
    x: &[f32],
    c: usize,
    gamma: &[f32],
    beta: &[f32],
    params: &BatchNormParams,
    moving_mean: &mut [f32],
    moving_variance: &mut [f32],
) -> Result<BatchNormTraining> {
    params.validate("batchNorm")?;
    check_channels(
        "batchNorm",
        x.len(),
        c,
        &[("movingMean", moving_mean.len()), ("movingVariance", moving_variance.len())],
    )?;
    let (mean, variance) = moments(x, c)?;
    let y = batch_norm(x, c, gamma, beta, &mean, &variance, params.epsilon)?;
    let m = params.momentum;
    for k in 0..c {
        moving_mean[k] = m * moving_mean[k] + (1.0 - m) * mean[k];
        moving_variance[k] = m * moving_variance[k] + (1.0 - m) * variance[k];
    }
    Ok(BatchNormTraining { y, mean, variance })
}

/// Gradients `(dx, dgamma, dbeta)` of training-mode batch norm, given the batch statistics the
/// forward pass used.
pub fn batch_norm_training_backward(
    x: &[f32],
    c: usize,
    gamma: &[f32],
    mean: &[f32],
    variance: &[f32],
    eps: f32,
    dy: &[f32],
) -> Result<(Vec<f32>, Vec<f32>, Vec<f32>)> {
    check_channels(
        "batchNorm backward",
        x.len(),
        c,
        &[("gamma", gamma.len()), ("mean", mean.len()), ("variance", variance.len())],
    )?;
    check_channels("batchNorm backward", dy.len(), c, &[])?;
    let m = (x.len() / c) as f32;
    let istd: Vec<f32> = variance.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
    let (mut dgamma, mut dbeta) = (vec![0.0f64; c], vec![0.0f64; c]);
    for (xr, dr) in x.chunks_exact(c).zip(dy.chunks_exact(c)) {
        for k in 0..c {
            dgamma[k] += f64::from(dr[k] * (xr[k] - mean[k]) * istd[k]);
            dbeta[k] += f64::from(dr[k]);
        }
    }
    let (dgamma, dbeta): (Vec<f32>, Vec<f32>) =
        (dgamma.iter().map(|&v| v as f32).collect(), dbeta.iter().map(|&v| v as f32).collect());
    let mut dx = zeroed("batchNorm backward", "dx", x.len())?;
    for ((out, xr), dr) in dx.chunks_exact_mut(c).zip(x.chunks_exact(c)).zip(dy.chunks_exact(c)) {
        for k in 0..c {
            let xhat = (xr[k] - mean[k]) * istd[k];
            out[k] = gamma[k] * istd[k] / m * (m * dr[k] - dbeta[k] - xhat * dgamma[k]);
        }
    }
    Ok((dx, dgamma, dbeta))
}

/// `tf.nn.local_response_normalization` over the last axis.
pub fn lrn(x: &[f32], c: usize, p: &LrnParams) -> Result<Vec<f32>> {
    p.validate("localResponseNormalization")?;
    check_channels("localResponseNormalization", x.len(), c, &[])?;
    let mut y = zeroed("localResponseNormalization", "output", x.len())?;
    let mut scale = vec![0.0f32; c];
    for (yr, xr) in y.chunks_exact_mut(c).zip(x.chunks_exact(c)) {
        lrn_scale(xr, p, &mut scale);
        for k in 0..c {
            yr[k] = xr[k] * scale[k].powf(-p.beta);
        }
    }
    Ok(y)
}

/// `bias + alpha * sum of x^2 over [k - r, k + r]`, for one row, with a running window sum.
fn lrn_scale(row: &[f32], p: &LrnParams, out: &mut [f32]) {
    let c = row.len();
    let r = p.depth_radius;
    for k in 0..c {
        let lo = k.saturating_sub(r);
        let hi = (k + r).min(c - 1);
        out[k] = p.bias + p.alpha * row[lo..=hi].iter().map(|v| v * v).sum::<f32>();
    }
}

/// Gradient of LRN (see the reference for the formula).
pub fn lrn_backward(x: &[f32], c: usize, p: &LrnParams, dy: &[f32]) -> Result<Vec<f32>> {
    p.validate("localResponseNormalization")?;
    check_channels("localResponseNormalization backward", x.len(), c, &[])?;
    check_channels("localResponseNormalization backward", dy.len(), c, &[])?;
    let mut dx = zeroed("localResponseNormalization backward", "dx", x.len())?;
    let (mut scale, mut cross) = (vec![0.0f32; c], vec![0.0f32; c]);
    let r = p.depth_radius;
    for ((out, xr), dr) in dx.chunks_exact_mut(c).zip(x.chunks_exact(c)).zip(dy.chunks_exact(c)) {
        lrn_scale(xr, p, &mut scale);
        for i in 0..c {
            cross[i] = dr[i] * xr[i] * scale[i].powf(-p.beta - 1.0);
        }
        for j in 0..c {
            let window: f32 = cross[j.saturating_sub(r)..=(j + r).min(c - 1)].iter().sum();
            out[j] = dr[j] * scale[j].powf(-p.beta) - 2.0 * p.alpha * p.beta * xr[j] * window;
        }
    }
    Ok(dx)
}
