//! Convolution, forward and backward, in f64.

use crate::ops::conv::Conv2dGeometry;

/// `tf.nn.conv2d` in f64 (equation 14-1 of the chapter, with dilation).
///
/// # Shapes
/// `x`: `g.input_shape()`, `filters`: `g.filter_shape()`, result: `g.output_shape()`.
pub fn conv2d(g: &Conv2dGeometry, x: &[f64], filters: &[f64]) -> Vec<f64> {
    let [n_, oh, ow, oc] = g.output_shape();
    let mut out = vec![0.0; n_ * oh * ow * oc];
    for n in 0..n_ {
        for i in 0..oh {
            for j in 0..ow {
                for k in 0..oc {
                    let mut sum = 0.0;
                    for u in 0..g.fh {
                        for v in 0..g.fw {
                            let y = (i * g.strides[0] + u * g.dilations[0]) as isize
                                - g.pad_top as isize;
                            let xx = (j * g.strides[1] + v * g.dilations[1]) as isize
                                - g.pad_left as isize;
                            if y < 0 || xx < 0 || y >= g.in_h as isize || xx >= g.in_w as isize {
                                continue;
                            }
                            for c in 0..g.in_c {
                                let xi =
                                    ((n * g.in_h + y as usize) * g.in_w + xx as usize) * g.in_c + c;
                                let wi = ((u * g.fw + v) * g.in_c + c) * g.out_c + k;
                                sum += x[xi] * filters[wi];
                            }
                        }
                    }
                    out[((n * oh + i) * ow + j) * oc + k] = sum;
                }
            }
        }
    }
    out
}

/// The input cell that output `(i, j)` reads through tap `(u, v)`, if it lies inside the input.
fn tap(g: &Conv2dGeometry, i: usize, j: usize, u: usize, v: usize) -> Option<(usize, usize)> {
    let y = (i * g.strides[0] + u * g.dilations[0]) as isize - g.pad_top as isize;
    let x = (j * g.strides[1] + v * g.dilations[1]) as isize - g.pad_left as isize;
    (y >= 0 && x >= 0 && y < g.in_h as isize && x < g.in_w as isize)
        .then_some((y as usize, x as usize))
}

/// Gradient of the loss with respect to the conv's input: every output's gradient flows back
/// through each tap to the input cell it read, `dx[n, y, x, c] += dy[n, i, j, k] * w[u, v, c, k]`.
///
/// # Shapes
/// `dy`: `g.output_shape()`, `filters`: `g.filter_shape()`, result: `g.input_shape()`.
pub fn conv2d_backward_input(g: &Conv2dGeometry, dy: &[f64], filters: &[f64]) -> Vec<f64> {
    let [n_, oh, ow, oc] = g.output_shape();
    let mut dx = vec![0.0; g.input_shape().iter().product()];
    for n in 0..n_ {
        for i in 0..oh {
            for j in 0..ow {
                for u in 0..g.fh {
                    for v in 0..g.fw {
                        let Some((y, x)) = tap(g, i, j, u, v) else {
                            continue;
                        };
                        for c in 0..g.in_c {
                            for k in 0..oc {
                                dx[((n * g.in_h + y) * g.in_w + x) * g.in_c + c] += dy
                                    [((n * oh + i) * ow + j) * oc + k]
                                    * filters[((u * g.fw + v) * g.in_c + c) * oc + k];
                            }
                        }
                    }
                }
            }
        }
    }
    dx
}

/// Gradient with respect to the filters: `dw[u, v, c, k] = sum over n, i, j of
/// dy[n, i, j, k] * x[n, i*s + u*d - pad, j*s + v*d - pad, c]`.
///
/// # Shapes
/// `x`: `g.input_shape()`, `dy`: `g.output_shape()`, result: `g.filter_shape()`.
pub fn conv2d_backward_filter(g: &Conv2dGeometry, x: &[f64], dy: &[f64]) -> Vec<f64> {
    let [n_, oh, ow, oc] = g.output_shape();
    let mut dw = vec![0.0; g.filter_shape().iter().product()];
    for u in 0..g.fh {
        for v in 0..g.fw {
            for c in 0..g.in_c {
                for k in 0..oc {
                    let mut sum = 0.0;
                    for n in 0..n_ {
                        for i in 0..oh {
                            for j in 0..ow {
                                let Some((y, xx)) = tap(g, i, j, u, v) else {
                                    continue;
                                };
                                sum += dy[((n * oh + i) * ow + j) * oc + k]
                                    * x[((n * g.in_h + y) * g.in_w + xx) * g.in_c + c];
                            }
                        }
                    }
                    dw[((u * g.fw + v) * g.in_c + c) * oc + k] = sum;
                }
            }
        }
    }
    dw
}
