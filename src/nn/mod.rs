//! Layers: each one's config (read from Keras's config keys), output shape, parameters and
//! multiply-adds ([`layer`]); parameter values and their seeded initialisation ([`weights`]);
//! and inference through a model's layers on the CPU path ([`forward`]).

pub mod config;
pub mod forward;
pub mod layer;
pub mod weights;

pub use layer::{Layer, Param};
pub use weights::Weights;
