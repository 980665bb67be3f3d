//! Dense layer, forward and backward, in f64.

use crate::ops::dense::DenseGeometry;

/// `y[n, o] = b[o] + sum_i x[n, i] * w[i, o]`.
pub fn dense(g: &DenseGeometry, x: &[f64], w: &[f64], bias: Option<&[f64]>) -> Vec<f64> {
    let mut y = vec![0.0; g.batch * g.units];
    for n in 0..g.batch {
        for o in 0..g.units {
            let mut sum = bias.map_or(0.0, |b| b[o]);
            for i in 0..g.inputs {
                sum += x[n * g.inputs + i] * w[i * g.units + o];
            }
            y[n * g.units + o] = sum;
        }
    }
    y
}

/// `(dx, dw, db)`: `dx = dy W^T`, `dW = x^T dy`, `db = sum over the batch of dy`.
pub fn dense_backward(
    g: &DenseGeometry,
    x: &[f64],
    w: &[f64],
    dy: &[f64],
) -> (Vec<f64>, Vec<f64>, Vec<f64>) {
    let mut dx = vec![0.0; g.batch * g.inputs];
    let mut dw = vec![0.0; g.inputs * g.units];
    let mut db = vec![0.0; g.units];
    for n in 0..g.batch {
        for o in 0..g.units {
            let d = dy[n * g.units + o];
            db[o] += d;
            for i in 0..g.inputs {
                dx[n * g.inputs + i] += d * w[i * g.units + o];
                dw[i * g.units + o] += d * x[n * g.inputs + i];
            }
        }
    }
    (dx, dw, db)
}
