//! Activations, forward and backward, in f64, straight from the formulas in
//! [`crate::ops::activation`].

use crate::ops::activation::{Activation, SELU_ALPHA, SELU_SCALE};

fn scalar(a: Activation, x: f64) -> f64 {
    match a {
        Activation::Linear | Activation::Softmax => x,
        Activation::Relu => x.max(0.0),
        Activation::Relu6 => x.clamp(0.0, 6.0),
        Activation::LeakyRelu { alpha } => {
            if x > 0.0 {
                x
            } else {
                alpha as f64 * x
            }
        }
        Activation::Elu { alpha } => {
            if x > 0.0 {
                x
            } else {
                alpha as f64 * (x.exp() - 1.0)
            }
        }
        Activation::Selu => SELU_SCALE * if x > 0.0 { x } else { SELU_ALPHA * (x.exp() - 1.0) },
        Activation::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Activation::Tanh => x.tanh(),
    }
}

fn derivative(a: Activation, x: f64) -> f64 {
    match a {
        Activation::Linear | Activation::Softmax => 1.0,
        Activation::Relu => {
            if x > 0.0 {
                1.0
            } else {
                0.0
            }
        }
        Activation::Relu6 => {
            if x > 0.0 && x < 6.0 {
                1.0
            } else {
                0.0
            }
        }
        Activation::LeakyRelu { alpha } => {
            if x > 0.0 {
                1.0
            } else {
                alpha as f64
            }
        }
        Activation::Elu { alpha } => {
            if x > 0.0 {
                1.0
            } else {
                alpha as f64 * x.exp()
            }
        }
        Activation::Selu => SELU_SCALE * if x > 0.0 { 1.0 } else { SELU_ALPHA * x.exp() },
        Activation::Sigmoid => {
            let s = scalar(a, x);
            s * (1.0 - s)
        }
        Activation::Tanh => 1.0 - x.tanh().powi(2),
    }
}

/// `f(x)`; softmax normalises each run of `last` consecutive values (the last axis).
pub fn activation(a: Activation, x: &[f64], last: usize) -> Vec<f64> {
    if a != Activation::Softmax {
        return x.iter().map(|&v| scalar(a, v)).collect();
    }
    let mut y = Vec::with_capacity(x.len());
    for row in x.chunks(last) {
        let max = row.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let sum: f64 = row.iter().map(|v| (v - max).exp()).sum();
        y.extend(row.iter().map(|v| (v - max).exp() / sum));
    }
    y
}

/// Gradient with respect to `x`, given the upstream gradient `dy`.
pub fn activation_backward(a: Activation, x: &[f64], dy: &[f64], last: usize) -> Vec<f64> {
    if a != Activation::Softmax {
        return x.iter().zip(dy).map(|(&v, &d)| d * derivative(a, v)).collect();
    }
    let y = activation(a, x, last);
    let mut dx = Vec::with_capacity(x.len());
    for (yr, dr) in y.chunks(last).zip(dy.chunks(last)) {
        let dot: f64 = yr.iter().zip(dr).map(|(a, b)| a * b).sum();
        dx.extend(yr.iter().zip(dr).map(|(y, d)| y * (d - dot)));
    }
    dx
}
