//! Training: optimizers with learning-rate schedules ([`optimizer`]).

pub mod optimizer;

pub use optimizer::{Optimizer, OptimizerConfig, OptimizerKind, Schedule};
