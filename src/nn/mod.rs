//! Layers: each one's config (read from Keras's config keys), output shape, parameters and
//! multiply-adds ([`layer`]); parameter values and their seeded initialisation ([`weights`]);
//! and inference through a model's layers on the CPU path ([`forward`]) and on WebGPU with
//! every intermediate on the device ([`forward_gpu`]); training's backward passes ([`backward`],
//! [`backward_gpu`]); Grad-CAM ([`gradcam`]) and the Look inside view's timed pass ([`inspect`]).

pub mod backward;
pub mod backward_gpu;
pub mod config;
pub mod forward;
pub mod forward_gpu;
pub mod gradcam;
pub mod inspect;
pub mod layer;
pub mod weights;

pub use layer::{Layer, Param};
pub use weights::Weights;
