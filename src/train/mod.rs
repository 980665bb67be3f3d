//! Training: data sets from IDX files with splits and seeded batch orders ([`data`]),
//! optimizers with learning-rate schedules ([`optimizer`]), and the step and evaluation of the
//! training loop on the CPU path ([`trainer`]).

pub mod augment;
pub mod data;
pub mod optimizer;
pub mod trainer;

pub use data::Dataset;
pub use optimizer::{Optimizer, OptimizerConfig, OptimizerKind, Schedule};
pub use trainer::{Evaluation, Trainer};
