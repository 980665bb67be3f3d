//! Losses and their gradients, in f64.

/// Softmax cross-entropy from logits `[n, classes]` and integer labels, averaged over the batch:
/// `loss = mean_n (logsumexp(z_n) - z_n[label_n])`, `dz = (softmax(z) - onehot(label)) / n`.
/// Labels must be `< classes` (the callers check).
pub fn softmax_cross_entropy(logits: &[f64], labels: &[usize], classes: usize) -> (f64, Vec<f64>) {
    let n = labels.len();
    let mut loss = 0.0;
    let mut grad = vec![0.0; logits.len()];
    for (b, row) in logits.chunks(classes).enumerate() {
        let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = row.iter().map(|z| (z - max).exp()).sum();
        loss += max + sum.ln() - row[labels[b]];
        for (k, z) in row.iter().enumerate() {
            let p = (z - max).exp() / sum;
            grad[b * classes + k] = (p - if k == labels[b] { 1.0 } else { 0.0 }) / n as f64;
        }
    }
    (loss / n as f64, grad)
}

/// Mean squared error over all elements and its gradient `2 (y - t) / len`.
pub fn mean_squared_error(y: &[f64], target: &[f64]) -> (f64, Vec<f64>) {
    let len = y.len() as f64;
    let loss = y.iter().zip(target).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / len;
    (loss, y.iter().zip(target).map(|(a, b)| 2.0 * (a - b) / len).collect())
}
