//! Images copied into zero-padded buffers, so that convolution windows never test for the
//! border: only the rows and columns some window of the geometry reads. Shared by the tiled
//! direct kernel (one image at a time) and the GEMM's im2col (the images its rows touch).

use super::zeroed;
use crate::error::Result;
use crate::ops::conv::Conv2dGeometry;

/// `slots` padded images, one after another.
pub(super) struct PaddedImages {
    pub(super) data: Vec<f32>,
    pub(super) rows: usize,
    pub(super) cols: usize,
    channels: usize,
}

impl PaddedImages {
    /// Room for `slots` images of `g`'s input, all zero.
    pub(super) fn new(g: &Conv2dGeometry, slots: usize) -> Result<Self> {
        let rows = (g.out_h - 1) * g.strides[0] + (g.fh - 1) * g.dilations[0] + 1;
        let cols = (g.out_w - 1) * g.strides[1] + (g.fw - 1) * g.dilations[1] + 1;
        let data = zeroed("conv2d", "padded input", slots * rows * cols * g.in_c)?;
        Ok(Self { data, rows, cols, channels: g.in_c })
    }

    /// Copies image `n` of `x` into slot `slot`, leaving its padding zero.
    pub(super) fn fill(&mut self, g: &Conv2dGeometry, x: &[f32], slot: usize, n: usize) {
        let c = g.in_c;
        // The input columns that land inside a padded row.
        let count = g.in_w.min(self.cols.saturating_sub(g.pad_left));
        for y in 0..g.in_h {
            let py = y + g.pad_top;
            if py >= self.rows {
                break;
            }
            let src = ((n * g.in_h + y) * g.in_w) * c;
            let dst = self.offset(slot, py, g.pad_left);
            self.data[dst..dst + count * c].copy_from_slice(&x[src..src + count * c]);
        }
    }

    /// The offset of cell `(y, x)` of slot `slot`.
    #[inline(always)]
    pub(super) fn offset(&self, slot: usize, y: usize, x: usize) -> usize {
        ((slot * self.rows + y) * self.cols + x) * self.channels
    }
}
