//! The scalar conv2d: the CPU contract. Direct convolution, output channel innermost so that
//! the filter row `w[u, v, c, ..]` is read contiguously (HWIO); zeros outside the input are
//! skipped by clamping the tap ranges once per output pixel instead of testing every tap.

use super::zeroed;
use crate::error::Result;
use crate::ops::conv::Conv2dGeometry;

/// Visits every (output pixel, kernel tap inside the input) pair as
/// `(output offset, input offset, filter offset)`: the first element of the pixel's output
/// channels, of the tapped input cell's channels, and of the tap's filter rows.
#[inline(always)]
pub(super) fn for_each_tap(g: &Conv2dGeometry, mut visit: impl FnMut(usize, usize, usize)) {
    let [n_, oh, ow, oc] = g.output_shape();
    for n in 0..n_ {
        for i in 0..oh {
            let rows = taps(i, g.strides[0], g.dilations[0], g.pad_top, g.in_h, g.fh);
            for j in 0..ow {
                let cols = taps(j, g.strides[1], g.dilations[1], g.pad_left, g.in_w, g.fw);
                let o = ((n * oh + i) * ow + j) * oc;
                for u in rows.clone() {
                    let y = i * g.strides[0] + u * g.dilations[0] - g.pad_top;
                    for v in cols.clone() {
                        let xx = j * g.strides[1] + v * g.dilations[1] - g.pad_left;
                        let xi = ((n * g.in_h + y) * g.in_w + xx) * g.in_c;
                        visit(o, xi, (u * g.fw + v) * g.in_per_group() * oc);
                    }
                }
            }
        }
    }
}

/// See [`super::conv2d`]. Per tap and group: each input channel of the group scales its
/// filter row (the group's output channels, contiguous in HWIO) into the accumulators.
pub(super) fn conv2d(g: &Conv2dGeometry, x: &[f32], w: &[f32]) -> Result<Vec<f32>> {
    let (oc, ipg, opg) = (g.out_c, g.in_per_group(), g.out_per_group());
    let mut out = zeroed("conv2d", "output", g.output_shape().iter().product())?;
    for_each_tap(g, |o, xi, wi| {
        for grp in 0..g.groups {
            let acc = &mut out[o + grp * opg..o + (grp + 1) * opg];
            for cl in 0..ipg {
                let xv = x[xi + grp * ipg + cl];
                let row = wi + cl * oc + grp * opg;
                for (a, &wv) in acc.iter_mut().zip(&w[row..row + opg]) {
                    *a += xv * wv;
                }
            }
        }
    });
    Ok(out)
}

/// The kernel taps `u` for output position `i` whose input row `i*s + u*d - pad` lies inside
/// `0..len`.
pub(super) fn taps(
    i: usize,
    s: usize,
    d: usize,
    pad: usize,
    len: usize,
    k: usize,
) -> std::ops::Range<usize> {
    let start = i * s;
    // first u with start + u*d >= pad
    let first = if start >= pad { 0 } else { (pad - start).div_ceil(d) };
    // last u with start + u*d - pad < len, i.e. u*d < len + pad - start
    let limit = len + pad;
    let end = if limit <= start { 0 } else { ((limit - start - 1) / d + 1).min(k) };
    first.min(end)..end
}

#[cfg(test)]
mod tests {
    use super::taps;

    #[test]
    fn taps_clip_to_the_input() {
        // 3-tap kernel, pad 1, input 5: position 0 skips tap 0, position 4 skips tap 2.
        assert_eq!(taps(0, 1, 1, 1, 5, 3), 1..3);
        assert_eq!(taps(2, 1, 1, 1, 5, 3), 0..3);
        assert_eq!(taps(4, 1, 1, 1, 5, 3), 0..2);
        // dilation 2, pad 2: position 0 reads rows -2, 0, 2 -> taps 1..3
        assert_eq!(taps(0, 1, 2, 2, 5, 3), 1..3);
        // a window entirely in the padding yields no taps
        assert_eq!(taps(0, 1, 1, 5, 3, 3), 3..3);
    }
}
