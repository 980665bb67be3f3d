//! 2-D pooling as `tf.nn.max_pool2d` / `tf.nn.avg_pool2d` define it, and global pooling.
//!
//! - max pooling: the largest value of each window; cells in the padding never win (they are
//!   not zeros, they are absent).
//! - average pooling: the mean of the window's cells that lie inside the input: TensorFlow
//!   excludes padded cells from the count (ONNX's `count_include_pad = 0`).
//! - global pooling: the mean or maximum over all rows and columns, `[n, h, w, c] -> [n, c]`
//!   (Keras's `GlobalAveragePooling2D` / `GlobalMaxPooling2D`).
//!
//! # Shapes
//! - input `[n, h, w, c]` (NHWC); output `[n, oh, ow, c]` with the sizes of
//!   [`crate::tensor::output_extent`] (dilation 1).

use crate::error::{Error, Result};
use crate::tensor::{element_count, output_extent, Padding, WindowName};

/// Hyper-parameters of a pooling layer, named like Keras's `MaxPool2D` config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2dParams {
    /// Window `[height, width]`.
    pub pool_size: [usize; 2],
    /// Step between windows `[vertical, horizontal]`.
    pub strides: [usize; 2],
    /// Zero padding ("same", "valid" or explicit).
    pub padding: Padding,
}

/// A validated pooling: every size the kernels need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pool2dGeometry {
    /// Batch size.
    pub batch: usize,
    /// Input height.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Channels (unchanged by pooling).
    pub channels: usize,
    /// Window height.
    pub ph: usize,
    /// Window width.
    pub pw: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Padding rows above.
    pub pad_top: usize,
    /// Padding columns on the left.
    pub pad_left: usize,
    /// Strides `[vertical, horizontal]`.
    pub strides: [usize; 2],
}

impl Pool2dGeometry {
    /// Validates the input shape and parameters; errors name `op`, the argument and the value.
    pub fn new(op: &str, x: &[usize], params: &Pool2dParams) -> Result<Self> {
        if x.len() != 4 {
            return Err(Error::invalid(
                op,
                "x",
                format!("expected rank 4 [batch, height, width, channels] (NHWC), got shape {x:?}"),
            ));
        }
        element_count(op, "x", x)?;
        for (name, pair) in [("poolSize", params.pool_size), ("strides", params.strides)] {
            if pair.contains(&0) {
                return Err(Error::invalid(op, name, format!("{pair:?} must be at least 1")));
            }
        }
        if let Padding::Explicit { top, bottom, left, right } = params.padding {
            if top >= params.pool_size[0]
                || bottom >= params.pool_size[0]
                || left >= params.pool_size[1]
                || right >= params.pool_size[1]
            {
                // A window made only of padding would have no cells to pool.
                return Err(Error::invalid(
                    op,
                    "padding",
                    format!(
                        "explicit padding [[{top}, {bottom}], [{left}, {right}]] must be smaller \
                         than the pool size {:?} on each side",
                        params.pool_size
                    ),
                ));
            }
        }
        let (rows, cols) = params.padding.per_axis();
        let [ph, pw] = params.pool_size;
        let [sh, sw] = params.strides;
        let v = output_extent(op, WindowName::POOL, "height", x[1], ph, sh, 1, rows)?;
        let h = output_extent(op, WindowName::POOL, "width", x[2], pw, sw, 1, cols)?;
        Ok(Self {
            batch: x[0],
            in_h: x[1],
            in_w: x[2],
            channels: x[3],
            ph: params.pool_size[0],
            pw: params.pool_size[1],
            out_h: v.output,
            out_w: h.output,
            pad_top: v.pad_before,
            pad_left: h.pad_before,
            strides: params.strides,
        })
    }

    /// `[n, h, w, c]`.
    pub fn input_shape(&self) -> [usize; 4] {
        [self.batch, self.in_h, self.in_w, self.channels]
    }

    /// `[n, oh, ow, c]`.
    pub fn output_shape(&self) -> [usize; 4] {
        [self.batch, self.out_h, self.out_w, self.channels]
    }

    /// Values of one input image.
    pub fn image_in(&self) -> usize {
        self.in_h * self.in_w * self.channels
    }

    /// Values of one output image.
    pub fn image_out(&self) -> usize {
        self.out_h * self.out_w * self.channels
    }

    /// The input rows (or columns) that window `i` covers inside the input, along one axis.
    pub fn window(&self, axis: usize, i: usize) -> std::ops::Range<usize> {
        let (pad, size, len) = if axis == 0 {
            (self.pad_top, self.ph, self.in_h)
        } else {
            (self.pad_left, self.pw, self.in_w)
        };
        let start = i * self.strides[axis];
        let lo = start.saturating_sub(pad);
        let hi = (start + size).saturating_sub(pad).min(len);
        lo..hi.max(lo)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(size: usize, stride: usize, padding: Padding) -> Pool2dParams {
        Pool2dParams { pool_size: [size, size], strides: [stride, stride], padding }
    }

    #[test]
    fn windows_clip_to_the_input() {
        // 3x3 "same" stride 2 on 6 wide: out 3, pad total 1 -> 0 before, 1 after.
        let g = Pool2dGeometry::new("maxPool", &[1, 6, 6, 1], &p(3, 2, Padding::Same)).unwrap();
        assert_eq!((g.out_h, g.pad_top), (3, 0));
        assert_eq!(g.window(0, 0), 0..3);
        assert_eq!(g.window(0, 2), 4..6); // the last window hangs over the padding
        let g = Pool2dGeometry::new("maxPool", &[1, 7, 7, 1], &p(3, 2, Padding::Same)).unwrap();
        assert_eq!(g.window(1, 0), 0..2); // pad 1 before
    }

    #[test]
    fn the_chapters_max_pool_example_shape() {
        // Figure 14-8: 2x2, stride 2, "valid".
        let g = Pool2dGeometry::new("maxPool", &[1, 4, 4, 1], &p(2, 2, Padding::Valid)).unwrap();
        assert_eq!(g.output_shape(), [1, 2, 2, 1]);
    }

    #[test]
    fn errors_name_the_argument() {
        let e =
            Pool2dGeometry::new("maxPool", &[1, 2, 2, 1], &p(3, 1, Padding::Valid)).unwrap_err();
        assert!(e.message().starts_with("maxPool: argument 'poolSize':"), "{e}");
        let e =
            Pool2dGeometry::new("avgPool", &[1, 4, 4, 1], &p(2, 0, Padding::Valid)).unwrap_err();
        assert!(e.message().contains("'strides'"), "{e}");
        let pad = Padding::Explicit { top: 2, bottom: 0, left: 0, right: 0 };
        let e = Pool2dGeometry::new("avgPool", &[1, 4, 4, 1], &p(2, 1, pad)).unwrap_err();
        assert!(e.message().contains("smaller than the pool size"), "{e}");
    }
}
