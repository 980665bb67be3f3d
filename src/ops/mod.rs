//! What each op computes: parameter structs and shape rules, no loops. Backends implement the
//! loops; the geometry structs here are validated once and then trusted by every kernel.

pub mod activation;
pub mod conv;
pub mod dense;
pub mod norm;
pub mod pool;
pub mod reshape;
