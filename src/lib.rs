//! convlab: a convolutional-neural-network playground that runs in the browser.
//!
//! The crate is the core: tensors and their shape arithmetic, the kernels on two backends
//! (a wasm SIMD128 CPU path and WebGPU through `wgpu`), and the JavaScript API. It also builds
//! natively so that the kernels are tested with plain `cargo test` (wgpu runs the same WGSL on
//! Mesa's lavapipe Vulkan driver there).
//!
//! Conventions fixed for the whole project: NHWC activations, HWIO filters (`[fh, fw, in, out]`),
//! options structs named like the Keras config keys, one [`Error`] type whose messages name the
//! op, the argument and the value received.
//!
//! Module map (dependencies run one way, down this list):
//! - [`error`]: the one error type.
//! - [`tensor`]: `Tensor`, `Padding`, and the conv/pool output-size arithmetic.
//! - [`ops`]: what each op computes (params structs and shape rules, no loops).
//! - [`backend`]: the f64 reference (feature `reference`), the CPU kernels and the WebGPU kernels.
//! - `bindings` (wasm32 only): the JavaScript API, the only module that uses `wasm_bindgen`.

pub mod backend;
pub mod error;
pub mod graph;
pub mod io;
pub mod nn;
pub mod ops;
pub mod tensor;
pub mod train;
pub mod zoo;

#[cfg(target_arch = "wasm32")]
mod bindings;

pub use error::{Error, Result};
pub use ops::conv::{Conv2dGeometry, Conv2dParams};
pub use tensor::{Padding, Tensor};
