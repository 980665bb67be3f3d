//! Which backends exist in this page and which one runs a call that names none.
//!
//! The automatic choice prefers WebGPU on a hardware adapter that passed the self-test. On a
//! software emulation (SwiftShader, llvmpipe), where the answer is unclear (measured here such
//! adapters run conv layers 30 to 100 times slower than wasm SIMD128), a short calibration at
//! start-up times one convolution on both and the faster wins; the reason quotes the figures.
//! The user can always pick either backend; the report says which is active and why.

use std::cell::RefCell;
use std::rc::Rc;

use crate::backend::webgpu::GpuContext;
use crate::backend::BackendKind;
use crate::error::{Error, Result};

/// The user's standing choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// Let convlab decide.
    Auto,
    /// Always this backend.
    Fixed(BackendKind),
}

/// The start-up calibration's median times of one convolution (see `calibrate` in the
/// bindings).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Calibration {
    /// On the CPU path.
    pub cpu_ms: f64,
    /// On WebGPU, with the upload and the read-back.
    pub gpu_ms: f64,
}

/// The backends of this page.
pub struct Backends {
    /// The calibration's result, when one ran (software adapters only).
    pub calibration: Option<Calibration>,
    /// GPU time of the last WebGPU call, from timestamp queries, for its result.
    pub last_gpu_ms: Option<f64>,
    /// The WebGPU device, when there is one that passed the self-test and is not lost.
    pub gpu: Option<Rc<GpuContext>>,
    /// Why WebGPU is unavailable (or was dropped), when it is.
    pub gpu_problem: Option<String>,
    /// The standing choice.
    pub choice: Choice,
    /// Set once initialisation has finished.
    pub ready: bool,
}

thread_local! {
    static STATE: RefCell<Backends> = const {
        RefCell::new(Backends {
            calibration: None,
            last_gpu_ms: None,
            gpu: None,
            gpu_problem: None,
            choice: Choice::Auto,
            ready: false,
        })
    };
}

/// Runs `f` with the state borrowed (never across an await).
pub fn with<T>(f: impl FnOnce(&mut Backends) -> T) -> T {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

impl Backends {
    /// The backend a call that names none runs on, and why.
    pub fn active(&self) -> (BackendKind, String) {
        match (self.choice, &self.gpu) {
            (Choice::Fixed(BackendKind::Cpu), _) => (BackendKind::Cpu, "user's choice".into()),
            (Choice::Fixed(BackendKind::WebGpu), Some(_)) => {
                (BackendKind::WebGpu, "user's choice".into())
            }
            (Choice::Fixed(BackendKind::WebGpu), None) => (
                BackendKind::Cpu,
                format!("WebGPU was chosen but is unavailable ({})", self.problem()),
            ),
            (Choice::Auto, None) => {
                (BackendKind::Cpu, format!("WebGPU unavailable: {}", self.problem()))
            }
            (Choice::Auto, Some(gpu)) if gpu.adapter().software => match self.calibration {
                Some(c) => {
                    let measured = format!(
                        "a 3x3 convolution of 32x32x16 took {:.1} ms on the CPU path and {:.1} ms \
                         on WebGPU",
                        c.cpu_ms, c.gpu_ms
                    );
                    if c.gpu_ms < c.cpu_ms {
                        (
                            BackendKind::WebGpu,
                            format!(
                                "software adapter ({}), yet faster in the calibration: {measured}",
                                gpu.adapter().name
                            ),
                        )
                    } else {
                        (
                            BackendKind::Cpu,
                            format!(
                                "software adapter: the only WebGPU adapter ({}) is a CPU \
                                 emulation; calibration: {measured}",
                                gpu.adapter().name
                            ),
                        )
                    }
                }
                None => (
                    BackendKind::Cpu,
                    format!(
                        "software adapter: the only WebGPU adapter ({}) is a CPU emulation, where \
                         conv layers run 30 to 100 times slower than the wasm SIMD128 path",
                        gpu.adapter().name
                    ),
                ),
            },
            (Choice::Auto, Some(gpu)) => (
                BackendKind::WebGpu,
                format!("hardware WebGPU adapter ({}) passed the self-test", gpu.adapter().name),
            ),
        }
    }

    fn problem(&self) -> &str {
        self.gpu_problem.as_deref().unwrap_or("not initialised yet")
    }

    /// The GPU context for an explicit `backend: "webgpu"` request, or an error saying why not.
    pub fn require_gpu(&self, op: &str) -> Result<Rc<GpuContext>> {
        self.gpu.clone().ok_or_else(|| {
            Error::invalid(
                op,
                "backend",
                format!("\"webgpu\" is not available here: {}", self.problem()),
            )
        })
    }

    /// Drops the GPU after a failure (device lost), remembering why.
    pub fn drop_gpu(&mut self, why: String) {
        self.gpu = None;
        self.gpu_problem = Some(why);
    }
}
