//! Training: data sets from IDX files with splits and seeded batch orders ([`data`]),
//! augmentation ([`augment`]), optimizers with learning-rate schedules ([`optimizer`]), the
//! step and evaluation of the training loop on the CPU path ([`trainer`]), a run of epochs
//! ([`run`]) and its checkpoints ([`checkpoint`]).

pub mod augment;
pub mod checkpoint;
pub mod data;
pub mod gpu;
pub mod optimizer;
pub mod run;
pub mod trainer;

pub use data::Dataset;
pub use optimizer::{Optimizer, OptimizerConfig, OptimizerKind, Schedule};
pub use run::{RunSettings, Shard, TrainingRun};
pub use trainer::{Evaluation, Trainer};
