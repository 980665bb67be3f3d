//! A fully connected (dense) layer: `y = x W + b`, Keras's kernel layout.
//!
//! # Shapes
//! - `x`: `[n, in]`; `kernel`: `[in, out]`; `bias`: `[out]` (optional); `y`: `[n, out]`.

use crate::error::{Error, Result};
use crate::tensor::element_count;

/// A validated dense layer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DenseGeometry {
    /// Batch size.
    pub batch: usize,
    /// Input features.
    pub inputs: usize,
    /// Output units.
    pub units: usize,
}

impl DenseGeometry {
    /// Checks `x` `[n, in]` against `kernel` `[in, out]`; errors name `op`, the argument, the value.
    pub fn new(op: &str, x: &[usize], kernel: &[usize]) -> Result<Self> {
        if x.len() != 2 {
            return Err(Error::invalid(
                op,
                "x",
                format!("expected rank 2 [batch, features] (flatten first), got shape {x:?}"),
            ));
        }
        if kernel.len() != 2 {
            return Err(Error::invalid(
                op,
                "weights",
                format!("expected rank 2 [inputs, units], got shape {kernel:?}"),
            ));
        }
        element_count(op, "x", x)?;
        element_count(op, "weights", kernel)?;
        if kernel[0] != x[1] {
            return Err(Error::invalid(
                op,
                "weights",
                format!(
                    "shape {kernel:?} expects {} input features but x has {} (shape {x:?})",
                    kernel[0], x[1]
                ),
            ));
        }
        let g = Self { batch: x[0], inputs: x[1], units: kernel[1] };
        element_count(op, "output", &[g.batch, g.units])?;
        Ok(g)
    }

    /// Parameters with a bias: `(in + 1) * out`.
    pub fn parameters_with_bias(&self) -> u64 {
        (self.inputs as u64 + 1) * self.units as u64
    }
}
