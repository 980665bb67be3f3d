//! conv2d backward on the CPU (scalar): the gradient with respect to the input (`dx`), the
//! filters (`dw`) and a bias (`db`). The taps are visited as in the forward scalar kernel, and
//! the innermost loops run over a group's contiguous output channels.

use super::conv2d::for_each_tap;
use super::zeroed;
use crate::error::Result;
use crate::ops::conv::Conv2dGeometry;

/// `dx[n, y, x, c] = sum over the outputs that read (y, x) of dy[n, i, j, k] * w[u, v, c, k]`.
pub(super) fn backward_input(g: &Conv2dGeometry, dy: &[f32], w: &[f32]) -> Result<Vec<f32>> {
    let (oc, ipg, opg) = (g.out_c, g.in_per_group(), g.out_per_group());
    let mut dx = zeroed("conv2d backward", "dx", g.input_shape().iter().product())?;
    for_each_tap(g, |o, xi, wi| {
        for grp in 0..g.groups {
            let d = &dy[o + grp * opg..o + (grp + 1) * opg];
            for cl in 0..ipg {
                let row = wi + cl * oc + grp * opg;
                dx[xi + grp * ipg + cl] +=
                    w[row..row + opg].iter().zip(d).map(|(a, b)| a * b).sum::<f32>();
            }
        }
    });
    Ok(dx)
}

/// `dw[u, v, c, k] = sum over n, i, j of dy[n, i, j, k] * x[n, i*s + u*d - pad, ...]`.
pub(super) fn backward_filter(g: &Conv2dGeometry, x: &[f32], dy: &[f32]) -> Result<Vec<f32>> {
    let (oc, ipg, opg) = (g.out_c, g.in_per_group(), g.out_per_group());
    let mut dw = zeroed("conv2d backward", "dw", g.filter_shape().iter().product())?;
    for_each_tap(g, |o, xi, wi| {
        for grp in 0..g.groups {
            let d = &dy[o + grp * opg..o + (grp + 1) * opg];
            for cl in 0..ipg {
                let xv = x[xi + grp * ipg + cl];
                let row = wi + cl * oc + grp * opg;
                for (acc, &dv) in dw[row..row + opg].iter_mut().zip(d) {
                    *acc += xv * dv;
                }
            }
        }
    });
    Ok(dw)
}

/// `db[k] = sum over n, i, j of dy[n, i, j, k]`.
pub(super) fn backward_bias(g: &Conv2dGeometry, dy: &[f32]) -> Vec<f32> {
    let mut db = vec![0.0; g.out_c];
    for pixel in dy.chunks_exact(g.out_c) {
        for (acc, &d) in db.iter_mut().zip(pixel) {
            *acc += d;
        }
    }
    db
}
