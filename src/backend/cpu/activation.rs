//! Activations on the CPU, forward and backward (formulas in [`crate::ops::activation`]).

use crate::error::{Error, Result};
use crate::ops::activation::{Activation, SELU_ALPHA, SELU_SCALE};

fn check_last(op: &str, len: usize, last: usize) -> Result<()> {
    if last == 0 || !len.is_multiple_of(last) {
        return Err(Error::invalid(
            op,
            "x",
            format!("{len} elements do not split into rows of {last}"),
        ));
    }
    Ok(())
}

/// `f(x)` in place; softmax normalises each run of `last` values (the last axis).
pub fn activation_in_place(a: Activation, x: &mut [f32], last: usize) -> Result<()> {
    check_last(a.name(), x.len(), last)?;
    let (sa, ss) = (SELU_ALPHA as f32, SELU_SCALE as f32);
    match a {
        Activation::Linear => {}
        // A comparison and a select (NaN -> 0, like `max(0.0)`): LLVM makes it SIMD128, where
        // `f32::max` (IEEE maxNum, which wasm's `f32.max` is not) stayed scalar.
        Activation::Relu => x.iter_mut().for_each(|v| *v = if *v > 0.0 { *v } else { 0.0 }),
        Activation::Relu6 => x.iter_mut().for_each(|v| *v = v.clamp(0.0, 6.0)),
        Activation::LeakyRelu { alpha } => {
            x.iter_mut().for_each(|v| *v = if *v > 0.0 { *v } else { alpha * *v })
        }
        Activation::Elu { alpha } => {
            x.iter_mut().for_each(|v| *v = if *v > 0.0 { *v } else { alpha * v.exp_m1() })
        }
        Activation::Selu => {
            x.iter_mut().for_each(|v| *v = ss * if *v > 0.0 { *v } else { sa * v.exp_m1() })
        }
        Activation::Sigmoid => x.iter_mut().for_each(|v| *v = sigmoid(*v)),
        Activation::Tanh => x.iter_mut().for_each(|v| *v = v.tanh()),
        Activation::Softmax => x.chunks_mut(last).for_each(softmax_row),
    }
    Ok(())
}

/// Stable logistic: never evaluates `e^x` for large positive x.
fn sigmoid(v: f32) -> f32 {
    if v >= 0.0 {
        1.0 / (1.0 + (-v).exp())
    } else {
        let e = v.exp();
        e / (1.0 + e)
    }
}

fn softmax_row(row: &mut [f32]) {
    let max = row.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
    let mut sum = 0.0;
    for v in row.iter_mut() {
        *v = (*v - max).exp();
        sum += *v;
    }
    let inv = 1.0 / sum;
    row.iter_mut().for_each(|v| *v *= inv);
}

/// Gradient with respect to `x` given `x`, the forward output `y` and the upstream `dy`.
pub fn activation_backward(
    a: Activation,
    x: &[f32],
    y: &[f32],
    dy: &[f32],
    last: usize,
) -> Result<Vec<f32>> {
    check_last(a.name(), x.len(), last)?;
    if y.len() != x.len() || dy.len() != x.len() {
        return Err(Error::invalid(
            a.name(),
            "dy",
            format!("expected {} elements, got y {} and dy {}", x.len(), y.len(), dy.len()),
        ));
    }
    let (sa, ss) = (SELU_ALPHA as f32, SELU_SCALE as f32);
    let each = |f: &dyn Fn(f32, f32) -> f32| -> Vec<f32> {
        x.iter().zip(y).zip(dy).map(|((&x, &y), &d)| d * f(x, y)).collect()
    };
    Ok(match a {
        Activation::Linear => dy.to_vec(),
        Activation::Relu => each(&|x, _| if x > 0.0 { 1.0 } else { 0.0 }),
        Activation::Relu6 => each(&|x, _| if x > 0.0 && x < 6.0 { 1.0 } else { 0.0 }),
        Activation::LeakyRelu { alpha } => each(&|x, _| if x > 0.0 { 1.0 } else { alpha }),
        // For x <= 0, elu(x) = alpha (e^x - 1), so its derivative alpha e^x = y + alpha.
        Activation::Elu { alpha } => each(&|x, y| if x > 0.0 { 1.0 } else { y + alpha }),
        Activation::Selu => each(&|x, y| if x > 0.0 { ss } else { y + ss * sa }),
        Activation::Sigmoid => each(&|_, y| y * (1.0 - y)),
        Activation::Tanh => each(&|_, y| 1.0 - y * y),
        Activation::Softmax => {
            let mut dx = Vec::with_capacity(x.len());
            for (yr, dr) in y.chunks(last).zip(dy.chunks(last)) {
                let dot: f32 = yr.iter().zip(dr).map(|(a, b)| a * b).sum();
                dx.extend(yr.iter().zip(dr).map(|(y, d)| y * (d - dot)));
            }
            dx
        }
    })
}
