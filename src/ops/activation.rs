//! Activation functions, as Keras names them. Element-wise except softmax, which normalises
//! the last axis. Formulas (and their derivatives, used by the backward kernels):
//!
//! | name | f(x) | f'(x) |
//! |---|---|---|
//! | linear | x | 1 |
//! | relu | max(x, 0) | 1 if x > 0 else 0 |
//! | relu6 | min(max(x, 0), 6) | 1 if 0 < x < 6 else 0 |
//! | leaky_relu | x if x > 0 else alpha x | 1 or alpha |
//! | elu | x if x > 0 else alpha (e^x - 1) | 1 or alpha e^x |
//! | selu | scale * elu(x, alpha) with Klambauer et al.'s constants | scale * elu'(x) |
//! | sigmoid | 1 / (1 + e^-x) | s (1 - s) |
//! | tanh | tanh x | 1 - tanh^2 x |
//! | softmax | e^(x_i - max) / sum_j e^(x_j - max) | dx = y * (dy - sum(dy * y)) |
//!
//! At the kinks (relu at 0, relu6 at 0 and 6) the derivative is taken as 0, as TensorFlow does.

use crate::error::{Error, Result};

/// SELU's alpha (Klambauer et al. 2017, as in Keras).
pub const SELU_ALPHA: f64 = 1.673_263_242_354_377_3;
/// SELU's scale (Klambauer et al. 2017, as in Keras).
pub const SELU_SCALE: f64 = 1.050_700_987_355_480_5;

/// An activation function.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Activation {
    /// Identity (Keras "linear").
    Linear,
    /// max(x, 0).
    Relu,
    /// min(max(x, 0), 6), as in MobileNetV2.
    Relu6,
    /// x for x > 0, `alpha * x` otherwise (Keras's default alpha is 0.3).
    LeakyRelu {
        /// Slope for negative inputs.
        alpha: f32,
    },
    /// x for x > 0, `alpha * (e^x - 1)` otherwise.
    Elu {
        /// Saturation value for negative inputs.
        alpha: f32,
    },
    /// Scaled ELU with fixed constants.
    Selu,
    /// The logistic function.
    Sigmoid,
    /// Hyperbolic tangent.
    Tanh,
    /// Softmax over the last axis (numerically stable: the maximum is subtracted first).
    Softmax,
}

impl Activation {
    /// Parses a Keras activation name ("relu", "leaky_relu", ...). `op` names the caller in
    /// the error.
    pub fn from_name(op: &str, name: &str) -> Result<Self> {
        Ok(match name {
            "linear" | "identity" => Self::Linear,
            "relu" => Self::Relu,
            "relu6" => Self::Relu6,
            "leaky_relu" => Self::LeakyRelu { alpha: 0.3 },
            "elu" => Self::Elu { alpha: 1.0 },
            "selu" => Self::Selu,
            "sigmoid" => Self::Sigmoid,
            "tanh" => Self::Tanh,
            "softmax" => Self::Softmax,
            _ => {
                return Err(Error::invalid(
                    op,
                    "activation",
                    format!(
                        "unknown activation {name:?}; the activations are linear, relu, relu6, \
                         leaky_relu, elu, selu, sigmoid, tanh, softmax"
                    ),
                ))
            }
        })
    }

    /// The Keras name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Linear => "linear",
            Self::Relu => "relu",
            Self::Relu6 => "relu6",
            Self::LeakyRelu { .. } => "leaky_relu",
            Self::Elu { .. } => "elu",
            Self::Selu => "selu",
            Self::Sigmoid => "sigmoid",
            Self::Tanh => "tanh",
            Self::Softmax => "softmax",
        }
    }
}
