//! conv2d as one matrix multiply (im2col + [`super::gemm`]): row `p` of A is the receptive field
//! of output pixel `p` (its `fh * fw * cin` inputs, zeros where the window hangs over the
//! padding), B is the HWIO filter tensor read as `[fh * fw * cin, cout]`, and C is the NHWC
//! output read as `[n * oh * ow, cout]`. The patches are built four rows at a time straight
//! into the micro-kernel's packed layout, so the full im2col matrix never exists.
//!
//! Packing: the images the rows touch are first copied into a zero-padded buffer, so a window
//! never tests for the border. Within one kernel row `u` (horizontal dilation 1) a receptive
//! field is then `fw * cin` consecutive floats of the padded image, so the four rows of a block
//! are four contiguous runs: the pack loads four floats from each run and transposes the 4 x 4
//! block into the `[k][4]` layout with shuffles. The scalar pack this replaced (a border test
//! per tap, one float at a time) took 14-18% of the seed's and ResNet's layers in Chromium.

use std::ops::Range;

use super::gemm::{gemm, PackedB, MR};
use super::lanes::Lanes;
use super::padded::PaddedImages;
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
    const { assert!(MR == 4, "the pack transposes 4 x 4 blocks") };
    let (k, n) = (g.fh * g.fw * g.in_c, g.out_c);
    let (oh, ow, c) = (g.out_h, g.out_w, g.in_c);
    let first = rows.start * ow; // the first output pixel
    let m = rows.len() * ow;
    let mut out = zeroed("conv2d", "output", m * n)?;
    if m == 0 {
        return Ok(out);
    }
    let packed = PackedB::new("conv2d", w, k, n)?;
    let images = rows.start / oh..(rows.end - 1) / oh + 1;
    let mut padded = PaddedImages::new(g, images.len())?;
    for (slot, n) in images.clone().enumerate() {
        padded.fill(g, x, slot, n);
    }
    // With horizontal dilation 1 a kernel row's taps are adjacent: one run of fw * cin floats
    // per kernel row, else one run of cin per tap.
    let (taps, run) = if g.dilations[1] == 1 { (1, g.fw * c) } else { (g.fw, c) };
    gemm::<V>(m, &packed, None, &mut out, |row0, rows, buf| {
        // Where each row's window starts in the padded buffer; a ragged last block repeats its
        // first row (the gemm stores only the valid rows).
        let starts: [usize; MR] = std::array::from_fn(|r| {
            let p = first + row0 + if r < rows { r } else { 0 };
            let (b, rest) = (p / (oh * ow), p % (oh * ow));
            let (i, j) = (rest / ow, rest % ow);
            padded.offset(b - images.start, i * g.strides[0], j * g.strides[1])
        });
        for u in 0..g.fh {
            for v in 0..taps {
                let shift = padded.offset(0, u * g.dilations[0], v * g.dilations[1]);
                let kk = (u * g.fw + v) * c;
                let sources = starts.map(|s| &padded.data[s + shift..s + shift + run]);
                pack_run::<V>(sources, &mut buf[kk * MR..(kk + run) * MR]);
            }
        }
    });
    Ok(out)
}

/// Interleaves four runs of equal length into `dst` as `dst[t * 4 + r] = runs[r][t]`.
#[inline(always)]
fn pack_run<V: Lanes>(runs: [&[f32]; MR], dst: &mut [f32]) {
    let len = runs[0].len();
    debug_assert!(runs.iter().all(|r| r.len() == len) && dst.len() == len * MR);
    let whole = len - len % 4;
    let mut t = 0;
    while t < whole {
        // SAFETY: t + 4 <= whole <= len, the length of every run; dst holds len * 4 floats,
        // and (t + q) * 4 + 4 <= whole * 4 for q < 4.
        unsafe {
            let block = V::transpose4(std::array::from_fn(|r| V::load(runs[r].as_ptr().add(t))));
            for (q, v) in block.into_iter().enumerate() {
                v.store(dst.as_mut_ptr().add((t + q) * MR));
            }
        }
        t += 4;
    }
    for t in whole..len {
        for r in 0..MR {
            dst[t * MR + r] = runs[r][t];
        }
    }
}
