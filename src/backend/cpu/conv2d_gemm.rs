//! conv2d as one matrix multiply (im2col + [`super::gemm`]): row `p` of A is the receptive field
//! of output pixel `p` (its `fh * fw * cin` inputs, zeros where the window hangs over the
//! padding), B is the HWIO filter tensor read as `[fh * fw * cin, cout]`, and C is the NHWC
//! output read as `[n * oh * ow, cout]`. The patches are built four rows at a time straight
//! into the micro-kernel's packed layout, so the full im2col matrix never exists.

use std::ops::Range;

use super::gemm::{gemm, PackedB, MR};
use super::lanes::Lanes;
use super::zeroed;
use crate::error::Result;
use crate::ops::conv::Conv2dGeometry;

/// Output rows `rows` (of the `n * oh` rows of the NHWC output); see [`super::conv2d_rows`].
/// Ungrouped convolutions only (the caller routes groups elsewhere).
pub(super) fn conv2d<V: Lanes>(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    rows: Range<usize>,
) -> Result<Vec<f32>> {
    debug_assert_eq!(g.groups, 1);
    let (k, n) = (g.fh * g.fw * g.in_c, g.out_c);
    let (oh, ow, c) = (g.out_h, g.out_w, g.in_c);
    let first = rows.start * ow; // the first output pixel
    let m = rows.len() * ow;
    let packed = PackedB::new("conv2d", w, k, n)?;
    let mut out = zeroed("conv2d", "output", m * n)?;
    gemm::<V>(m, &packed, None, &mut out, |row0, rows, buf| {
        for r in 0..rows {
            let p = first + row0 + r;
            let (b, rest) = (p / (oh * ow), p % (oh * ow));
            let (i, j) = (rest / ow, rest % ow);
            for u in 0..g.fh {
                let y = (i * g.strides[0] + u * g.dilations[0]).wrapping_sub(g.pad_top);
                for v in 0..g.fw {
                    let xx = (j * g.strides[1] + v * g.dilations[1]).wrapping_sub(g.pad_left);
                    let dst = (u * g.fw + v) * c;
                    // Wrapped (negative) coordinates are huge, so one comparison per axis
                    // tests both edges.
                    if y < g.in_h && xx < g.in_w {
                        let src = ((b * g.in_h + y) * g.in_w + xx) * c;
                        for (ch, &val) in x[src..src + c].iter().enumerate() {
                            buf[(dst + ch) * MR + r] = val;
                        }
                    } else {
                        for ch in 0..c {
                            buf[(dst + ch) * MR + r] = 0.0;
                        }
                    }
                }
            }
        }
    });
    Ok(out)
}
