//! Register-tiled direct convolution on four-lane vectors.
//!
//! Algorithm: copy each image into a zero-padded buffer (so the inner loops never test for the
//! border), repack the filters with the output channels rounded up to whole vectors, then for
//! each output row compute tiles of `TX` neighbouring output pixels x `CV` vectors of output
//! channels. Each tile keeps `TX * CV` accumulators in registers; per input channel it loads
//! `CV` filter vectors and broadcasts `TX` input values, i.e. `TX * CV` vector multiply-adds per
//! `TX + CV` loads. Two shapes of tile keep 8 accumulators busy: 4 pixels x 8 channels when
//! there are more than 4 output channels, 8 pixels x 4 channels otherwise (the chapter's demo
//! has 2 feature maps).
//!
//! Inner loops index through raw pointers: every offset is derived from the validated
//! [`Conv2dGeometry`] and the buffer sizes computed here, and checked by `debug_assert!` in tests.

use std::ops::Range;

use super::lanes::Lanes;
use super::padded::PaddedImages;
use super::zeroed;
use crate::error::Result;
use crate::ops::conv::Conv2dGeometry;

/// Output rows `rows` (of the `n * oh` rows of the NHWC output) of the convolution; see
/// [`super::conv2d_rows`].
pub(super) fn conv2d<V: Lanes>(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    rows: Range<usize>,
) -> Result<Vec<f32>> {
    if g.out_c > 4 {
        run::<V, 4, 2>(g, x, w, rows)
    } else {
        run::<V, 8, 1>(g, x, w, rows)
    }
}

fn run<V: Lanes, const TX: usize, const CV: usize>(
    g: &Conv2dGeometry,
    x: &[f32],
    w: &[f32],
    rows: Range<usize>,
) -> Result<Vec<f32>> {
    let [_, oh, ow, oc] = g.output_shape();
    let mut out = zeroed("conv2d", "output", rows.len() * ow * oc)?;
    let (packed, ocp) = super::filters_padded_to(g, w, 4 * CV)?;
    let mut image = PaddedImages::new(g, 1)?;
    let mut filled = None;
    for row in rows.clone() {
        let (n, i) = (row / oh, row % oh);
        if filled != Some(n) {
            image.fill(g, x, 0, n);
            filled = Some(n);
        }
        {
            let local = row - rows.start;
            let row_out = &mut out[local * ow * oc..(local + 1) * ow * oc];
            let mut j = 0;
            while j + TX <= ow {
                row_tiles::<V, TX, CV>(g, &image, &packed, ocp, i, j, row_out);
                j += TX;
            }
            while j < ow {
                row_tiles::<V, 1, CV>(g, &image, &packed, ocp, i, j, row_out);
                j += 1;
            }
        }
    }
    Ok(out)
}

/// All channel tiles of the `T` output pixels `(i, j..j+T)`.
#[inline(always)]
fn row_tiles<V: Lanes, const T: usize, const CV: usize>(
    g: &Conv2dGeometry,
    image: &PaddedImages,
    packed: &[f32],
    ocp: usize,
    i: usize,
    j: usize,
    row_out: &mut [f32],
) {
    let c = g.in_c;
    let oc = g.out_c;
    let step = 4 * CV;
    let mut co = 0;
    while co < oc {
        let mut acc = [[V::zero(); CV]; T];
        // With horizontal dilation 1 the taps v = 0..fw of a row are adjacent in both the padded
        // image and the packed filters, so one run of fw * cin channels replaces fw runs of cin
        // (the demo's 3-channel photos: 21 iterations instead of 7 loops of 3).
        let (taps, run) = if g.dilations[1] == 1 { (1, g.fw * c) } else { (g.fw, c) };
        for u in 0..g.fh {
            let py = i * g.strides[0] + u * g.dilations[0];
            for v in 0..taps {
                let px0 = j * g.strides[1] + v * g.dilations[1];
                let x_base = image.offset(0, py, px0);
                let w_base = ((u * g.fw + v) * c) * ocp + co;
                debug_assert!(x_base + ((T - 1) * g.strides[1]) * c + run <= image.data.len());
                debug_assert!(w_base + (run - 1) * ocp + step <= packed.len());
                // SAFETY: py < image.rows and px0 + (T-1)*stride + (taps of this run) < image.cols
                // by construction of PaddedImage (rows/cols cover every window of the validated
                // geometry), and co + step <= ocp with w_base + (run-1)*ocp + step <= packed.len().
                unsafe {
                    tap::<V, T, CV>(
                        &mut acc,
                        image.data.as_ptr().add(x_base),
                        g.strides[1] * c,
                        packed.as_ptr().add(w_base),
                        ocp,
                        run,
                    );
                }
            }
        }
        store::<V, T, CV>(&acc, row_out, j, co, oc);
        co += step;
    }
}

/// Accumulates `c` consecutive (tap, channel) pairs: one tap's channels, or a whole kernel row's.
///
/// # Safety
/// `x` must be readable at `t * x_step + ci` for `t < T`, `ci < c`; `w` at `ci * w_step + k`
/// for `ci < c`, `k < 4 * CV`.
#[inline(always)]
unsafe fn tap<V: Lanes, const T: usize, const CV: usize>(
    acc: &mut [[V; CV]; T],
    x: *const f32,
    x_step: usize,
    w: *const f32,
    w_step: usize,
    c: usize,
) {
    for ci in 0..c {
        let mut wv = [V::zero(); CV];
        for (k, lane) in wv.iter_mut().enumerate() {
            // SAFETY: see the function's contract.
            *lane = unsafe { V::load(w.add(ci * w_step + 4 * k)) };
        }
        for t in 0..T {
            // SAFETY: see the function's contract.
            let xv = V::splat(unsafe { *x.add(t * x_step + ci) });
            for k in 0..CV {
                acc[t][k] = acc[t][k].mul_add(xv, wv[k]);
            }
        }
    }
}

/// Writes the tile's valid channels (`co..min(co + 4*CV, oc)`) of pixels `j..j+T`.
#[inline(always)]
fn store<V: Lanes, const T: usize, const CV: usize>(
    acc: &[[V; CV]; T],
    row_out: &mut [f32],
    j: usize,
    co: usize,
    oc: usize,
) {
    const { assert!(CV <= 8) };
    let width = (oc - co).min(4 * CV);
    for t in 0..T {
        let mut lanes = [0.0f32; 32];
        for k in 0..CV {
            // SAFETY: lanes holds 32 >= 4 * CV floats (CV <= 8 in every instantiation).
            unsafe { acc[t][k].store(lanes.as_mut_ptr().add(4 * k)) };
        }
        let o = (j + t) * oc + co;
        row_out[o..o + width].copy_from_slice(&lanes[..width]);
    }
}
