//! Output-size arithmetic of a sliding window (convolution or pooling) along one axis, with
//! TensorFlow's rules for "same" and "valid" padding.
//!
//! The effective extent of a kernel of size `k` with dilation `d` is `(k - 1) * d + 1`.
//! - "valid": `out = (in - eff) / stride + 1`, and the kernel must fit (`eff <= in`);
//! - "same": `out = ceil(in / stride)`, total pad `max((out - 1) * stride + eff - in, 0)`, of
//!   which `total / 2` goes before and the rest (the odd one) after;
//! - explicit: `out = (in + before + after - eff) / stride + 1`.

use crate::error::{Error, Result};

/// One axis of a window op: output size and the zero padding before and after the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Extent {
    /// Output size along this axis.
    pub output: usize,
    /// Zeros before the input (top or left).
    pub pad_before: usize,
    /// Zeros after the input (bottom or right).
    pub pad_after: usize,
}

/// How the padding is given along one axis.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AxisPadding {
    /// TensorFlow's "same".
    Same,
    /// TensorFlow's "valid".
    Valid,
    /// Explicit zeros before and after.
    Explicit(usize, usize),
}

/// Which window an extent is for, for error messages: the argument that sets it and its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WindowName {
    /// The argument that gives the window's size ("filters", "poolSize").
    pub arg: &'static str,
    /// What to call the window ("dilated kernel", "pool window").
    pub noun: &'static str,
}

impl WindowName {
    /// A convolution's (possibly dilated) kernel, sized by `filters`.
    pub const KERNEL: Self = Self { arg: "filters", noun: "dilated kernel" };
    /// A pooling window, sized by `poolSize`.
    pub const POOL: Self = Self { arg: "poolSize", noun: "pool window" };
}

/// Output extent of a window of `kernel` cells, `stride`, `dilation` over `input` cells.
///
/// `op`, `window` and `axis` ("height" or "width") go into the error message. All sizes must be
/// >= 1; callers validate that first, so zero here is a bug and is still reported as an error.
pub fn output_extent(
    op: &str,
    window: WindowName,
    axis: &str,
    input: usize,
    kernel: usize,
    stride: usize,
    dilation: usize,
    padding: AxisPadding,
) -> Result<Extent> {
    if input == 0 || kernel == 0 || stride == 0 || dilation == 0 {
        return Err(Error::invalid(op, axis, "sizes, strides and dilations must be at least 1"));
    }
    let effective = (kernel - 1)
        .checked_mul(dilation)
        .and_then(|e| e.checked_add(1))
        .ok_or_else(|| Error::invalid(op, axis, "kernel size times dilation overflows"))?;
    match padding {
        AxisPadding::Same => {
            let output = input.div_ceil(stride);
            let needed = (output - 1).saturating_mul(stride).saturating_add(effective);
            let total = needed.saturating_sub(input);
            Ok(Extent { output, pad_before: total / 2, pad_after: total - total / 2 })
        }
        AxisPadding::Valid => {
            explicit(op, window, axis, input, effective, stride, 0, 0, "'valid' padding")
        }
        AxisPadding::Explicit(before, after) => explicit(
            op,
            window,
            axis,
            input,
            effective,
            stride,
            before,
            after,
            "its explicit padding",
        ),
    }
}

fn explicit(
    op: &str,
    window: WindowName,
    axis: &str,
    input: usize,
    effective: usize,
    stride: usize,
    before: usize,
    after: usize,
    how: &str,
) -> Result<Extent> {
    let padded = input
        .checked_add(before)
        .and_then(|p| p.checked_add(after))
        .ok_or_else(|| Error::invalid(op, "padding", format!("{axis} padding overflows")))?;
    if effective > padded {
        return Err(Error::invalid(
            op,
            window.arg,
            format!(
                "the {axis} of the {} ({effective}) is larger than the input's {axis} \
                 ({input}) with {how} ({padded} after padding)",
                window.noun
            ),
        ));
    }
    Ok(Extent { output: (padded - effective) / stride + 1, pad_before: before, pad_after: after })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn same(input: usize, k: usize, s: usize, d: usize) -> Extent {
        output_extent("t", WindowName::KERNEL, "height", input, k, s, d, AxisPadding::Same).unwrap()
    }

    #[test]
    fn same_puts_the_odd_pad_after() {
        // tf.nn.conv2d, 7x7 kernel, stride 1: 3 before, 3 after.
        assert_eq!(same(427, 7, 1, 1), Extent { output: 427, pad_before: 3, pad_after: 3 });
        // in 5, k 2, s 1: total 1, all of it after (TensorFlow puts the extra pad at the end).
        assert_eq!(same(5, 2, 1, 1), Extent { output: 5, pad_before: 0, pad_after: 1 });
        // in 6, k 3, s 2: out 3, needed (3-1)*2+3 = 7, total 1 -> 0 before, 1 after.
        assert_eq!(same(6, 3, 2, 1), Extent { output: 3, pad_before: 0, pad_after: 1 });
        // in 7, k 3, s 2: out 4, needed 9, total 2 -> 1 and 1.
        assert_eq!(same(7, 3, 2, 1), Extent { output: 4, pad_before: 1, pad_after: 1 });
        // dilation 2 makes a 3-tap kernel span 5 cells.
        assert_eq!(same(10, 3, 1, 2), Extent { output: 10, pad_before: 2, pad_after: 2 });
    }

    #[test]
    fn valid_counts_only_windows_that_fit() {
        let e = output_extent("t", WindowName::KERNEL, "width", 150, 5, 1, 1, AxisPadding::Valid)
            .unwrap();
        assert_eq!(e.output, 146);
        let e = output_extent("t", WindowName::KERNEL, "width", 227, 11, 4, 1, AxisPadding::Valid)
            .unwrap();
        assert_eq!(e.output, 55); // AlexNet C1
        let err =
            output_extent("conv2d", WindowName::KERNEL, "width", 7, 9, 1, 1, AxisPadding::Valid)
                .unwrap_err();
        assert!(err.message().contains("larger than the input's width (7)"), "{err}");
    }

    #[test]
    fn explicit_padding_adds_cells() {
        let e = output_extent(
            "t",
            WindowName::KERNEL,
            "height",
            5,
            3,
            2,
            1,
            AxisPadding::Explicit(1, 2),
        )
        .unwrap();
        assert_eq!(e, Extent { output: 3, pad_before: 1, pad_after: 2 });
    }
}
