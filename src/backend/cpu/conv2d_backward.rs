//! conv2d backward on the CPU (scalar): the gradient with respect to the input (`dx`) and to the
//! filters (`dw`). Each output pixel's taps are clipped to the input once (as in the forward
//! scalar kernel), and the innermost loops run over contiguous output channels.

use super::conv2d::taps;
use super::zeroed;
use crate::error::Result;
use crate::ops::conv::Conv2dGeometry;

/// `dx[n, y, x, c] = sum over the outputs that read (y, x) of dy[n, i, j, k] * w[u, v, c, k]`.
pub(super) fn backward_input(g: &Conv2dGeometry, dy: &[f32], w: &[f32]) -> Result<Vec<f32>> {
    let [n_, oh, ow, oc] = g.output_shape();
    let mut dx = zeroed("conv2d backward", "dx", g.input_shape().iter().product())?;
    for n in 0..n_ {
        for i in 0..oh {
            let rows = taps(i, g.strides[0], g.dilations[0], g.pad_top, g.in_h, g.fh);
            for j in 0..ow {
                let cols = taps(j, g.strides[1], g.dilations[1], g.pad_left, g.in_w, g.fw);
                let d = &dy[((n * oh + i) * ow + j) * oc..((n * oh + i) * ow + j + 1) * oc];
                for u in rows.clone() {
                    let y = i * g.strides[0] + u * g.dilations[0] - g.pad_top;
                    for v in cols.clone() {
                        let xx = j * g.strides[1] + v * g.dilations[1] - g.pad_left;
                        let xi = ((n * g.in_h + y) * g.in_w + xx) * g.in_c;
                        for c in 0..g.in_c {
                            let wi = ((u * g.fw + v) * g.in_c + c) * oc;
                            dx[xi + c] += w[wi..wi + oc]
                                .iter()
                                .zip(d)
                                .map(|(a, b)| a * b)
                                .sum::<f32>();
                        }
                    }
                }
            }
        }
    }
    Ok(dx)
}

/// `dw[u, v, c, k] = sum over n, i, j of dy[n, i, j, k] * x[n, i*s + u*d - pad, ...]`.
pub(super) fn backward_filter(g: &Conv2dGeometry, x: &[f32], dy: &[f32]) -> Result<Vec<f32>> {
    let [n_, oh, ow, oc] = g.output_shape();
    let mut dw = zeroed("conv2d backward", "dw", g.filter_shape().iter().product())?;
    for n in 0..n_ {
        for i in 0..oh {
            let rows = taps(i, g.strides[0], g.dilations[0], g.pad_top, g.in_h, g.fh);
            for j in 0..ow {
                let cols = taps(j, g.strides[1], g.dilations[1], g.pad_left, g.in_w, g.fw);
                let d = &dy[((n * oh + i) * ow + j) * oc..((n * oh + i) * ow + j + 1) * oc];
                for u in rows.clone() {
                    let y = i * g.strides[0] + u * g.dilations[0] - g.pad_top;
                    for v in cols.clone() {
                        let xx = j * g.strides[1] + v * g.dilations[1] - g.pad_left;
                        let xi = ((n * g.in_h + y) * g.in_w + xx) * g.in_c;
                        for c in 0..g.in_c {
                            let xv = x[xi + c];
                            let wi = ((u * g.fw + v) * g.in_c + c) * oc;
                            for (acc, &dv) in dw[wi..wi + oc].iter_mut().zip(d) {
                                *acc += xv * dv;
                            }
                        }
                    }
                }
            }
        }
    }
    Ok(dw)
}
