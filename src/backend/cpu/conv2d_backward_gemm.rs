//! conv2d backward as matrix multiplies on the register-blocked [`super::gemm`] (ungrouped
//! convolutions; grouped ones take the scalar path). With P the `n * oh * ow` output pixels,
//! K the `fh * fw * cin` taps of a receptive field and `col(x)` the im2col matrix `[P, K]`:
//!
//! - `dx`: `dcol = dy W^T` (`[P, cout] x [cout, K]`), then each row of `dcol` is added back to
//!   the input cells its receptive field read (col2im). Done in blocks of output pixels so the
//!   `[rows, K]` block stays small.
//! - `dw`: `dW = col(x)^T dy` (`[K, P] x [P, cout]`): the rows of A are the taps, packed on the
//!   fly four taps at a time from `x`, and the multiply runs along P.
//!
//! Same sums as the scalar kernels in another order: the tests hold both to the f32 summation
//! bound of the f64 reference.

use super::gemm::{gemm, PackedB, MR};
use super::lanes::F32x4;
use super::zeroed;
use crate::error::Result;
use crate::ops::conv::Conv2dGeometry;

/// Output pixels per block of the `dx` computation.
const BLOCK: usize = 256;

/// The input cell (flat NHWC index of channel 0) that tap `(u, v)` of output pixel `p` reads,
/// or `None` in the padding.
#[inline(always)]
fn source(g: &Conv2dGeometry, p: usize, u: usize, v: usize) -> Option<usize> {
    let (oh, ow) = (g.out_h, g.out_w);
    let (b, rest) = (p / (oh * ow), p % (oh * ow));
    let (i, j) = (rest / ow, rest % ow);
    let y = (i * g.strides[0] + u * g.dilations[0]).wrapping_sub(g.pad_top);
    let x = (j * g.strides[1] + v * g.dilations[1]).wrapping_sub(g.pad_left);
    (y < g.in_h && x < g.in_w).then(|| ((b * g.in_h + y) * g.in_w + x) * g.in_c)
}

/// `dx` of an ungrouped convolution.
pub(super) fn backward_input(g: &Conv2dGeometry, dy: &[f32], w: &[f32]) -> Result<Vec<f32>> {
    debug_assert_eq!(g.groups, 1);
    let (k, cout, c) = (g.fh * g.fw * g.in_c, g.out_c, g.in_c);
    let pixels = g.batch * g.out_h * g.out_w;
    // W^T: [cout, K] row-major, from W's [K, cout].
    let mut wt = zeroed("conv2d backward", "transposed filters", k * cout)?;
    for t in 0..k {
        for o in 0..cout {
            wt[o * k + t] = w[t * cout + o];
        }
    }
    let packed = PackedB::new("conv2d backward", &wt, cout, k)?;
    drop(wt);
    let mut dx = zeroed("conv2d backward", "dx", g.input_shape().iter().product())?;
    let mut dcol = zeroed("conv2d backward", "dcol", BLOCK.min(pixels) * k)?;
    let mut first = 0;
    while first < pixels {
        let rows = BLOCK.min(pixels - first);
        gemm::<F32x4>(rows, &packed, None, &mut dcol[..rows * k], |row0, n, buf| {
            for r in 0..n {
                let src = &dy[(first + row0 + r) * cout..(first + row0 + r + 1) * cout];
                for (o, &d) in src.iter().enumerate() {
                    buf[o * MR + r] = d;
                }
            }
        });
        for r in 0..rows {
            let row = &dcol[r * k..(r + 1) * k];
            for u in 0..g.fh {
                for v in 0..g.fw {
                    if let Some(at) = source(g, first + r, u, v) {
                        let taps = &row[(u * g.fw + v) * c..(u * g.fw + v + 1) * c];
                        for (cell, &d) in dx[at..at + c].iter_mut().zip(taps) {
                            *cell += d;
                        }
                    }
                }
            }
        }
        first += rows;
    }
    Ok(dx)
}

/// `dw` of an ungrouped convolution.
pub(super) fn backward_filter(g: &Conv2dGeometry, x: &[f32], dy: &[f32]) -> Result<Vec<f32>> {
    debug_assert_eq!(g.groups, 1);
    let (k, cout, c) = (g.fh * g.fw * g.in_c, g.out_c, g.in_c);
    let pixels = g.batch * g.out_h * g.out_w;
    let packed = PackedB::new("conv2d backward", dy, pixels, cout)?;
    let mut dw = zeroed("conv2d backward", "dw", k * cout)?;
    gemm::<F32x4>(k, &packed, None, &mut dw, |row0, rows, buf| {
        for r in 0..rows {
            let tap = row0 + r;
            let (uv, ch) = (tap / c, tap % c);
            let (u, v) = (uv / g.fw, uv % g.fw);
            for p in 0..pixels {
                buf[p * MR + r] = match source(g, p, u, v) {
                    Some(at) => x[at + ch],
                    None => 0.0,
                };
            }
        }
    });
    Ok(dw)
}
