//! Layers: each one's config (read from Keras's config keys), output shape, parameters and
//! multiply-adds ([`layer`]).

pub mod config;
pub mod layer;

pub use layer::{Layer, Param};
