//! Naive f64 loops for every op: the oracle every fast kernel is tested against.
//!
//! Written for obviousness, not speed: one loop per index of the defining formula, zeros
//! outside the input decided by an explicit bounds test. Compiled in tests and behind the
//! `reference` cargo feature so that integration tests in `tests/` can use it.

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
