//! Losses on the CPU: softmax cross-entropy from logits with integer labels, and mean squared
//! error. Both return the mean loss and its gradient with respect to the prediction.

use super::zeroed;
use crate::error::{Error, Result};

/// Mean softmax cross-entropy of `logits` `[n, classes]` against `labels` (each `< classes`),
/// computed stably as `logsumexp(z) - z[label]` in f64 per row; gradient `(softmax - onehot) / n`.
pub fn softmax_cross_entropy(
    logits: &[f32],
    labels: &[u32],
    classes: usize,
) -> Result<(f32, Vec<f32>)> {
    const OP: &str = "softmaxCrossEntropy";
    if classes == 0 || logits.len() != labels.len() * classes || labels.is_empty() {
        return Err(Error::invalid(
            OP,
            "logits",
            format!(
                "{} logits do not make {} rows of {classes} classes",
                logits.len(),
                labels.len()
            ),
        ));
    }
    if let Some((i, &l)) = labels.iter().enumerate().find(|(_, &l)| l as usize >= classes) {
        return Err(Error::invalid(
            OP,
            "labels",
            format!("label {l} at index {i} is not below the {classes} classes"),
        ));
    }
    let n = labels.len() as f32;
    let mut grad = zeroed(OP, "gradient", logits.len())?;
    let mut loss = 0.0f64;
    for (b, (row, g)) in logits.chunks(classes).zip(grad.chunks_mut(classes)).enumerate() {
        let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
        let mut sum = 0.0f32;
        for (gk, &z) in g.iter_mut().zip(row) {
            *gk = (z - max).exp();
            sum += *gk;
        }
        let label = labels[b] as usize;
        loss += f64::from(max + sum.ln() - row[label]);
        for gk in g.iter_mut() {
            *gk /= sum * n;
        }
        g[label] -= 1.0 / n;
    }
    Ok(((loss / labels.len() as f64) as f32, grad))
}

/// Mean squared error and its gradient `2 (y - t) / len`.
pub fn mean_squared_error(y: &[f32], target: &[f32]) -> Result<(f32, Vec<f32>)> {
    if y.len() != target.len() || y.is_empty() {
        return Err(Error::invalid(
            "meanSquaredError",
            "target",
            format!("has {} elements, the prediction {}", target.len(), y.len()),
        ));
    }
    let len = y.len() as f32;
    let loss = y.iter().zip(target).map(|(a, b)| f64::from((a - b) * (a - b))).sum::<f64>()
        / y.len() as f64;
    Ok((loss as f32, y.iter().zip(target).map(|(a, b)| 2.0 * (a - b) / len).collect()))
}
