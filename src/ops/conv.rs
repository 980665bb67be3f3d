//! 2-D convolution as `tf.nn.conv2d` defines it (the chapter's equation 14-1):
//!
//! `out[n, i, j, k] = sum over u < fh, v < fw, c < cin of
//!     x[n, i*sh + u*dh - pad_top, j*sw + v*dw - pad_left, c] * w[u, v, c, k]`,
//! with zeros outside the input.
//!
//! # Shapes
//! - `x`: `[n, h, w, cin]` (NHWC)
//! - `filters`: `[fh, fw, cin, cout]` (HWIO)
//! - output: `[n, oh, ow, cout]`, sizes from [`crate::tensor::output_extent`].

use crate::error::{Error, Result};
use crate::tensor::{element_count, output_extent, Padding, WindowName};

/// Hyper-parameters of a 2-D convolution, named like the `tf.nn.conv2d` arguments.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dParams {
    /// Step between windows, `[vertical, horizontal]`.
    pub strides: [usize; 2],
    /// Spacing between kernel taps, `[vertical, horizontal]` (1 = dense kernel).
    pub dilations: [usize; 2],
    /// Zero padding.
    pub padding: Padding,
    /// Channel groups: input and output channels are split into `groups` equal parts and part
    /// `g` of the output reads only part `g` of the input (1 = ordinary convolution; as many
    /// groups as input channels = depthwise).
    pub groups: usize,
}

impl Default for Conv2dParams {
    fn default() -> Self {
        Self { strides: [1, 1], dilations: [1, 1], padding: Padding::Valid, groups: 1 }
    }
}

/// A validated convolution: every size the kernels need, checked once.
///
/// Kernels trust these numbers: every index they form from them is in bounds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Conv2dGeometry {
    /// Batch size.
    pub batch: usize,
    /// Input height and width.
    pub in_h: usize,
    /// Input width.
    pub in_w: usize,
    /// Input channels.
    pub in_c: usize,
    /// Filter height.
    pub fh: usize,
    /// Filter width.
    pub fw: usize,
    /// Output channels (number of filters, i.e. feature maps).
    pub out_c: usize,
    /// Output height.
    pub out_h: usize,
    /// Output width.
    pub out_w: usize,
    /// Zero rows above the input.
    pub pad_top: usize,
    /// Zero columns left of the input.
    pub pad_left: usize,
    /// Strides `[vertical, horizontal]`.
    pub strides: [usize; 2],
    /// Dilations `[vertical, horizontal]`.
    pub dilations: [usize; 2],
    /// Channel groups (see [`Conv2dParams::groups`]).
    pub groups: usize,
}

impl Conv2dGeometry {
    /// Validates shapes and parameters and derives the output size.
    ///
    /// Errors name `op`, the argument and the value received: wrong rank, zero sizes, a channel
    /// mismatch, zero strides or dilations, a kernel larger than the padded input, and tensors
    /// past [`crate::tensor::MAX_TENSOR_ELEMENTS`].
    pub fn new(op: &str, x: &[usize], filters: &[usize], params: &Conv2dParams) -> Result<Self> {
        if x.len() != 4 {
            return Err(Error::invalid(
                op,
                "x",
                format!("expected rank 4 [batch, height, width, channels] (NHWC), got shape {x:?}"),
            ));
        }
        if filters.len() != 4 {
            return Err(Error::invalid(
                op,
                "filters",
                format!(
                    "expected rank 4 [height, width, in_channels, out_channels] (HWIO), got \
                     shape {filters:?}"
                ),
            ));
        }
        element_count(op, "x", x)?;
        element_count(op, "filters", filters)?;
        if params.groups == 0
            || !x[3].is_multiple_of(params.groups)
            || !filters[3].is_multiple_of(params.groups)
        {
            return Err(Error::invalid(
                op,
                "groups",
                format!(
                    "{} must be at least 1 and divide both the input channels ({}) and the \
                     filters ({})",
                    params.groups, x[3], filters[3]
                ),
            ));
        }
        if filters[2] * params.groups != x[3] {
            let per_group = if params.groups == 1 {
                String::new()
            } else {
                format!(" per group ({} groups)", params.groups)
            };
            return Err(Error::invalid(
                op,
                "filters",
                format!(
                    "shape {filters:?} expects {} input channels{per_group} but x has {} (shape \
                     {x:?})",
                    filters[2], x[3]
                ),
            ));
        }
        for (name, pair) in [("strides", params.strides), ("dilations", params.dilations)] {
            if pair.contains(&0) {
                return Err(Error::invalid(op, name, format!("{pair:?} must be at least 1")));
            }
        }
        let (rows, cols) = params.padding.per_axis();
        let [sh, sw] = params.strides;
        let [dh, dw] = params.dilations;
        let v = output_extent(op, WindowName::KERNEL, "height", x[1], filters[0], sh, dh, rows)?;
        let h = output_extent(op, WindowName::KERNEL, "width", x[2], filters[1], sw, dw, cols)?;
        let geometry = Self {
            batch: x[0],
            in_h: x[1],
            in_w: x[2],
            in_c: x[3],
            fh: filters[0],
            fw: filters[1],
            out_c: filters[3],
            out_h: v.output,
            out_w: h.output,
            pad_top: v.pad_before,
            pad_left: h.pad_before,
            strides: params.strides,
            dilations: params.dilations,
            groups: params.groups,
        };
        element_count(op, "output", &geometry.output_shape())?;
        Ok(geometry)
    }

    /// `[n, oh, ow, cout]`.
    pub fn output_shape(&self) -> [usize; 4] {
        [self.batch, self.out_h, self.out_w, self.out_c]
    }

    /// `[n, h, w, cin]`.
    pub fn input_shape(&self) -> [usize; 4] {
        [self.batch, self.in_h, self.in_w, self.in_c]
    }

    /// Values of one input image.
    pub fn image_in(&self) -> usize {
        self.in_h * self.in_w * self.in_c
    }

    /// Values of one output image.
    pub fn image_out(&self) -> usize {
        self.out_h * self.out_w * self.out_c
    }

    /// `[fh, fw, cin / groups, cout]`.
    pub fn filter_shape(&self) -> [usize; 4] {
        [self.fh, self.fw, self.in_per_group(), self.out_c]
    }

    /// Input channels each output channel reads.
    pub fn in_per_group(&self) -> usize {
        self.in_c / self.groups
    }

    /// Output channels of each group.
    pub fn out_per_group(&self) -> usize {
        self.out_c / self.groups
    }

    /// A depthwise convolution (`tf.nn.depthwise_conv2d`): filters `[fh, fw, cin, multiplier]`
    /// give `cin * multiplier` outputs, output `c * multiplier + m` reading only input `c`.
    /// Its filter data is, unchanged, that of a convolution with `cin` groups and filters
    /// `[fh, fw, 1, cin * multiplier]`, which is the geometry returned.
    pub fn depthwise(
        op: &str,
        x: &[usize],
        filters: &[usize],
        params: &Conv2dParams,
    ) -> Result<Self> {
        if x.len() != 4 || filters.len() != 4 {
            return Self::new(op, x, filters, params); // the rank errors
        }
        if filters[2] != x[3] {
            return Err(Error::invalid(
                op,
                "filters",
                format!(
                    "depthwise filters {filters:?} expect {} input channels but x has {} (shape \
                     {x:?})",
                    filters[2], x[3]
                ),
            ));
        }
        let out = filters[2]
            .checked_mul(filters[3])
            .ok_or_else(|| Error::limit(op, "filters", format!("shape {filters:?} overflows")))?;
        let grouped = Conv2dParams { groups: x[3], ..*params };
        Self::new(op, x, &[filters[0], filters[1], 1, out], &grouped)
    }

    /// Multiply-adds of the whole convolution (FLOPs are twice this).
    pub fn multiply_adds(&self) -> u64 {
        [self.batch, self.out_h, self.out_w, self.out_c, self.fh, self.fw, self.in_c]
            .iter()
            .map(|&d| d as u64)
            .product()
    }

    /// Trainable parameters of a Conv2D layer with this geometry and a bias per filter
    /// (the chapter: `(fh * fw * cin / groups + 1) * cout`).
    pub fn parameters_with_bias(&self) -> u64 {
        (self.fh as u64 * self.fw as u64 * self.in_per_group() as u64 + 1) * self.out_c as u64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same() -> Conv2dParams {
        Conv2dParams { padding: Padding::Same, ..Default::default() }
    }

    #[test]
    fn the_seeds_memory_example() {
        // The chapter: 200 filters 5x5, stride 1, "same", on 150x100x3: 15,200 parameters and
        // 150*100*200 outputs of 75 multiplications each = 225 million multiplications.
        let g = Conv2dGeometry::new("conv2d", &[1, 150, 100, 3], &[5, 5, 3, 200], &same()).unwrap();
        assert_eq!(g.parameters_with_bias(), 15_200);
        assert_eq!(g.multiply_adds(), 225_000_000);
        assert_eq!(g.output_shape(), [1, 150, 100, 200]);
        // 12 MB of output per instance (32-bit floats).
        assert_eq!(g.output_shape().iter().product::<usize>() * 4, 12_000_000);
    }

    #[test]
    fn bad_shapes_name_the_argument_and_value() {
        let e = Conv2dGeometry::new("conv2d", &[1, 5, 5], &[3, 3, 1, 1], &same()).unwrap_err();
        assert!(e.message().contains("'x'") && e.message().contains("[1, 5, 5]"), "{e}");
        let e = Conv2dGeometry::new("conv2d", &[1, 5, 5, 3], &[3, 3, 2, 1], &same()).unwrap_err();
        assert!(e.message().contains("expects 2 input channels but x has 3"), "{e}");
        let e = Conv2dGeometry::new("conv2d", &[1, 0, 5, 3], &[3, 3, 3, 1], &same()).unwrap_err();
        assert!(e.message().contains("size 0 on axis 1"), "{e}");
        let p = Conv2dParams { strides: [0, 1], ..same() };
        let e = Conv2dGeometry::new("conv2d", &[1, 5, 5, 3], &[3, 3, 3, 1], &p).unwrap_err();
        assert!(e.message().contains("'strides'") && e.message().contains("[0, 1]"), "{e}");
        let huge = [usize::MAX / 2, 4, 4, 4];
        let e = Conv2dGeometry::new("conv2d", &huge, &[3, 3, 4, 1], &same()).unwrap_err();
        assert!(e.message().contains("over the cap"), "{e}");
    }
}
