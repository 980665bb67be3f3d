//! Normalisation layers: batch normalization (Ioffe and Szegedy 2015) and local response
//! normalization (the chapter's equation 14-2, with `tf.nn.local_response_normalization`'s
//! parameters).
//!
//! Batch normalization normalises each channel (the last axis) over every other axis:
//! `y = gamma * (x - mean) / sqrt(var + epsilon) + beta`. In training it uses the batch's mean
//! and (biased) variance and updates the moving averages as Keras does,
//! `moving = momentum * moving + (1 - momentum) * batch`; at inference it uses the moving ones.
//!
//! LRN: `y[c] = x[c] / (bias + alpha * sum over j in [c - r, c + r] of x[j]^2) ^ beta`, the sum
//! clipped to the channels that exist. The chapter's `r` is the window's extent, so in
//! TensorFlow's terms `depth_radius = r / 2` and `bias = k`.

use crate::error::{Error, Result};

/// Batch normalization's hyper-parameters (Keras names).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchNormParams {
    /// Added to the variance before the square root (Keras default 1e-3).
    pub epsilon: f32,
    /// Weight of the old moving average in each update (Keras default 0.99).
    pub momentum: f32,
}

impl Default for BatchNormParams {
    fn default() -> Self {
        Self { epsilon: 1e-3, momentum: 0.99 }
    }
}

impl BatchNormParams {
    /// Checks epsilon > 0 and momentum in [0, 1].
    pub fn validate(&self, op: &str) -> Result<()> {
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return Err(Error::invalid(
                op,
                "epsilon",
                format!("must be a positive number, got {}", self.epsilon),
            ));
        }
        if !(0.0..=1.0).contains(&self.momentum) {
            return Err(Error::invalid(
                op,
                "momentum",
                format!("must be in [0, 1], got {}", self.momentum),
            ));
        }
        Ok(())
    }
}

/// Local response normalization's parameters (`tf.nn.local_response_normalization` names).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LrnParams {
    /// Channels on each side of the centre that enter the sum.
    pub depth_radius: usize,
    /// The additive constant `k`.
    pub bias: f32,
    /// The scale `alpha` (TensorFlow does not divide it by the window size).
    pub alpha: f32,
    /// The exponent `beta`.
    pub beta: f32,
}

impl LrnParams {
    /// AlexNet's values from the chapter: r = 2 (depth_radius 1), alpha 0.00002, beta 0.75,
    /// k = 1.
    pub const ALEXNET: Self = Self { depth_radius: 1, bias: 1.0, alpha: 0.00002, beta: 0.75 };

    /// Checks that the denominator stays positive and finite.
    pub fn validate(&self, op: &str) -> Result<()> {
        for (name, v) in [("bias", self.bias), ("alpha", self.alpha), ("beta", self.beta)] {
            if !v.is_finite() || v < 0.0 {
                return Err(Error::invalid(
                    op,
                    name,
                    format!("must be a finite number >= 0, got {v}"),
                ));
            }
        }
        if self.bias == 0.0 {
            return Err(Error::invalid(
                op,
                "bias",
                "must be > 0, or an all-zero input divides by zero",
            ));
        }
        Ok(())
    }
}

/// Checks that `len` elements are whole rows of `channels` and that per-channel vectors match.
pub fn check_channels(
    op: &str,
    len: usize,
    channels: usize,
    vectors: &[(&str, usize)],
) -> Result<()> {
    if channels == 0 || !len.is_multiple_of(channels) {
        return Err(Error::invalid(
            op,
            "x",
            format!("{len} elements are not whole rows of {channels} channels"),
        ));
    }
    for &(name, n) in vectors {
        if n != channels {
            return Err(Error::invalid(
                op,
                name,
                format!("has {n} elements, expected one per channel ({channels})"),
            ));
        }
    }
    Ok(())
}
