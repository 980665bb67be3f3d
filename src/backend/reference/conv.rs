//! Convolution, forward and backward, in f64 (equation 14-1 of the chapter, with dilation and
//! channel groups).

use crate::ops::conv::Conv2dGeometry;

/// The input cell that output `(i, j)` reads through tap `(u, v)`, if it lies inside the input.
fn tap(g: &Conv2dGeometry, i: usize, j: usize, u: usize, v: usize) -> Option<(usize, usize)> {
    let y = (i * g.strides[0] + u * g.dilations[0]) as isize - g.pad_top as isize;
    let x = (j * g.strides[1] + v * g.dilations[1]) as isize - g.pad_left as isize;
    (y >= 0 && x >= 0 && y < g.in_h as isize && x < g.in_w as isize)
        .then_some((y as usize, x as usize))
}

/// Index into x of `[n, y, x, c]`.
fn xi(g: &Conv2dGeometry, n: usize, y: usize, x: usize, c: usize) -> usize {
    ((n * g.in_h + y) * g.in_w + x) * g.in_c + c
}

/// Index into the filters of tap `(u, v)`, the group-local input channel `cl`, output `k`.
fn wi(g: &Conv2dGeometry, u: usize, v: usize, cl: usize, k: usize) -> usize {
    ((u * g.fw + v) * g.in_per_group() + cl) * g.out_c + k
}

/// Every (output, tap, input channel) term of the convolution, as
/// `(output index, x index, filter index)`.
fn terms(g: &Conv2dGeometry, mut visit: impl FnMut(usize, usize, usize)) {
    let [n_, oh, ow, oc] = g.output_shape();
    let (ipg, opg) = (g.in_per_group(), g.out_per_group());
    for n in 0..n_ {
        for i in 0..oh {
            for j in 0..ow {
                for k in 0..oc {
                    let first = (k / opg) * ipg; // the group's first input channel
                    for u in 0..g.fh {
                        for v in 0..g.fw {
                            let Some((y, x)) = tap(g, i, j, u, v) else { continue };
                            for cl in 0..ipg {
                                visit(
                                    ((n * oh + i) * ow + j) * oc + k,
                                    xi(g, n, y, x, first + cl),
                                    wi(g, u, v, cl, k),
                                );
                            }
                        }
                    }
                }
            }
        }
    }
}

/// `tf.nn.conv2d` in f64: `out[n,i,j,k] = sum x[n, i*s+u*d-pad, j*s+v*d-pad, c] * w[u,v,c,k]`
/// over the taps inside the input and the input channels `c` of output `k`'s group.
///
/// # Shapes
/// `x`: `g.input_shape()`, `filters`: `g.filter_shape()`, result: `g.output_shape()`.
pub fn conv2d(g: &Conv2dGeometry, x: &[f64], filters: &[f64]) -> Vec<f64> {
    let mut out = vec![0.0; g.output_shape().iter().product()];
    terms(g, |o, xk, wk| out[o] += x[xk] * filters[wk]);
    out
}

/// Gradient with respect to the input: each term's `dy[o] * w` flows back to the cell it read.
///
/// # Shapes
/// `dy`: `g.output_shape()`, `filters`: `g.filter_shape()`, result: `g.input_shape()`.
pub fn conv2d_backward_input(g: &Conv2dGeometry, dy: &[f64], filters: &[f64]) -> Vec<f64> {
    let mut dx = vec![0.0; g.input_shape().iter().product()];
    terms(g, |o, xk, wk| dx[xk] += dy[o] * filters[wk]);
    dx
}

/// Gradient with respect to the filters: each term's `dy[o] * x` flows to its weight.
///
/// # Shapes
/// `x`: `g.input_shape()`, `dy`: `g.output_shape()`, result: `g.filter_shape()`.
pub fn conv2d_backward_filter(g: &Conv2dGeometry, x: &[f64], dy: &[f64]) -> Vec<f64> {
    let mut dw = vec![0.0; g.filter_shape().iter().product()];
    terms(g, |o, xk, wk| dw[wk] += dy[o] * x[xk]);
    dw
}

/// Gradient with respect to a per-filter bias: `dy` summed over batch, rows and columns.
pub fn conv2d_backward_bias(g: &Conv2dGeometry, dy: &[f64]) -> Vec<f64> {
    let mut db = vec![0.0; g.out_c];
    for (i, d) in dy.iter().enumerate() {
        db[i % g.out_c] += d;
    }
    db
}
