//! Where the loops live. Each backend implements the ops of [`crate::ops`] on validated
//! geometries:
//! - `reference`: naive f64 loops, the test oracle (feature `reference`, on in tests);
//! - [`cpu`]: the scalar contract and the SIMD128 fast path;
//! - [`webgpu`]: WGSL compute kernels through `wgpu`.
//!
//! `backend` never imports the layer or graph modules.

pub mod cpu;
#[cfg(any(test, feature = "reference"))]
pub mod reference;
pub mod webgpu;

/// Which backend runs an op.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BackendKind {
    /// The wasm SIMD128 CPU path (natively: the same code with portable lanes).
    Cpu,
    /// WebGPU through wgpu.
    WebGpu,
}

impl BackendKind {
    /// The name used in the JavaScript API and on the page: "cpu" or "webgpu".
    pub fn name(self) -> &'static str {
        match self {
            Self::Cpu => "cpu",
            Self::WebGpu => "webgpu",
        }
    }
}
