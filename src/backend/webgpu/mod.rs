//! The WebGPU backend: WGSL compute kernels through `wgpu`, in the browser (WebGPU) and natively
//! (Vulkan; Mesa's lavapipe in CI).
//!
//! [`GpuContext`] owns the device, the queue, what is known of the adapter, the buffer pool and
//! the pipeline cache (each pipeline compiled on first use, then kept; see [`runtime`]). One
//! launcher `.rs` sits beside each `.wgsl`; shapes travel to the shader in a uniform struct,
//! never as shader text.
//!
//! Failure is an answer, not a panic: every validation error wgpu reports is captured by an
//! error scope and returned as an [`Error`]; a lost device marks the context lost so that the
//! caller can fall back to the CPU path.

mod activation;
mod combine;
mod conv2d;
mod loss;
mod matmul;
mod norm;
mod optimizer;
mod pool;
pub mod runtime;
mod split;

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

pub use conv2d::ConvKernel;
pub use norm::GpuBatchNormTraining;
pub use optimizer::{ParamUpdate, UpdateRule};
pub use pool::PoolKind;
use runtime::{Binding, KernelSpec, PipelineCache, PoolState};
pub use runtime::{GpuTensor, PoolStats};

use crate::backend::cpu::{self, CpuKernel};
use crate::error::{Error, Result};
use crate::ops::conv::{Conv2dGeometry, Conv2dParams};
use crate::tensor::Padding;

/// Tensors copied to the device ([`GpuContext::upload`]) and back ([`GpuContext::read`]) by
/// this instance of the core, on any context: tests check that kept tensors cross neither way
/// between ops.
static UPLOADS: AtomicU64 = AtomicU64::new(0);
static READ_BACKS: AtomicU64 = AtomicU64::new(0);

/// `(uploads, read-backs)` of tensors so far, on every context.
pub fn transfer_counts() -> (u64, u64) {
    (UPLOADS.load(Ordering::Relaxed), READ_BACKS.load(Ordering::Relaxed))
}

/// Passes per submit whose GPU time is measured (the rest of a longer submit is not timed,
/// and its time is then wall time only).
const MAX_TIMED_PASSES: u32 = 64;

/// What the page and `convlab.backends()` say about the adapter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdapterSummary {
    /// The adapter's name or description as the platform reports it.
    pub name: String,
    /// wgpu's graphics backend ("Vulkan", "BrowserWebGpu", ...).
    pub api: String,
    /// True when the adapter is a CPU emulation (SwiftShader, llvmpipe/lavapipe, WARP, or a
    /// browser "fallback adapter").
    pub software: bool,
}

/// Names that mark a software rasteriser posing as a GPU.
const SOFTWARE_ADAPTERS: [&str; 5] = ["swiftshader", "llvmpipe", "lavapipe", "softpipe", "warp"];

impl AdapterSummary {
    fn from_info(info: &wgpu::AdapterInfo, hint: &str) -> Self {
        let text = format!("{} {} {}", info.name, info.driver, hint).to_lowercase();
        let software = info.device_type == wgpu::DeviceType::Cpu
            || SOFTWARE_ADAPTERS.iter().any(|s| text.contains(s));
        let name =
            if info.name.trim().is_empty() { hint.trim().to_string() } else { info.name.clone() };
        Self { name, api: format!("{:?}", info.backend), software }
    }
}

/// An open WebGPU device with its compiled kernels.
pub struct GpuContext {
    device: wgpu::Device,
    queue: wgpu::Queue,
    adapter: AdapterSummary,
    limits: wgpu::Limits,
    pipelines: RefCell<PipelineCache>,
    pool: Rc<RefCell<PoolState>>,
    /// The op being recorded (named in launch-time limit errors).
    current_op: RefCell<String>,
    /// Timestamp queries, when the adapter has them: the query set of the submit being
    /// recorded and the passes recorded into it.
    timestamps: Option<wgpu::QuerySet>,
    passes: std::cell::Cell<u32>,
    /// Whether submits are timed (on by default; a training loop turns it off, since each
    /// timed submit waits for its timestamps).
    timing: std::cell::Cell<bool>,
    /// GPU time (ns) measured by timestamp queries since the last [`Self::take_gpu_ns`].
    gpu_ns: std::cell::Cell<Option<f64>>,
    lost: Arc<Mutex<Option<String>>>,
}

impl GpuContext {
    /// Opens the first adapter the platform offers, with the adapter's own maximum limits.
    ///
    /// `adapter_hint` is extra text about the adapter that the caller knows and wgpu does not
    /// expose (in the browser: `GPUAdapterInfo`'s vendor and architecture); it only feeds the
    /// software-adapter test. Errors say why no device could be had.
    pub async fn new(adapter_hint: &str) -> Result<Self> {
        Self::with_limits(adapter_hint, |_| {}).await
    }

    /// [`Self::new`], with the requested limits adjusted by `adjust` (starting from the
    /// adapter's maxima). Tests lower `max_storage_buffer_binding_size` with it to exercise the
    /// splitting of large tensors on a small device.
    pub async fn with_limits(
        adapter_hint: &str,
        adjust: impl FnOnce(&mut wgpu::Limits),
    ) -> Result<Self> {
        let mut desc = wgpu::InstanceDescriptor::new_without_display_handle();
        desc.backends = wgpu::Backends::BROWSER_WEBGPU | wgpu::Backends::VULKAN;
        let instance = wgpu::Instance::new(desc);
        let adapter = instance
            .request_adapter(&wgpu::RequestAdapterOptions {
                power_preference: wgpu::PowerPreference::HighPerformance,
                force_fallback_adapter: false,
                compatible_surface: None,
                ..Default::default()
            })
            .await
            .map_err(|e| {
                if cfg!(target_arch = "wasm32") {
                    // wgpu's text lists every native backend it was not built with; the user
                    // only needs to know that the browser gave no adapter.
                    Error::backend(
                        "no adapter: the browser exposes WebGPU but offers no adapter (no usable \
                         GPU, or WebGPU is turned off)",
                    )
                } else {
                    Error::backend(format!("no adapter: {e}"))
                }
            })?;
        let summary = AdapterSummary::from_info(&adapter.get_info(), adapter_hint);
        let mut limits = adapter.limits();
        adjust(&mut limits);
        // Timestamp queries time each op on the GPU itself where the adapter allows it.
        let features = adapter.features() & wgpu::Features::TIMESTAMP_QUERY;
        let (device, queue) = adapter
            .request_device(&wgpu::DeviceDescriptor {
                label: Some("convlab"),
                required_features: features,
                required_limits: limits.clone(),
                ..Default::default()
            })
            .await
            .map_err(|e| Error::backend(format!("the WebGPU adapter refused a device: {e}")))?;
        let lost = Arc::new(Mutex::new(None));
        let lost_flag = Arc::clone(&lost);
        device.set_device_lost_callback(move |reason, message| {
            if let Ok(mut slot) = lost_flag.lock() {
                *slot = Some(format!("device lost ({reason:?}): {message}"));
            }
        });
        // Errors outside an error scope would panic natively; every op runs inside one, so
        // anything reaching here is reported and otherwise ignored.
        device.on_uncaptured_error(Arc::new(|e| {
            log(&format!("convlab: uncaptured WebGPU error: {e}"));
        }));
        let timestamps = features.contains(wgpu::Features::TIMESTAMP_QUERY).then(|| {
            device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("convlab timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2 * MAX_TIMED_PASSES,
            })
        });
        Ok(Self {
            device,
            queue,
            adapter: summary,
            limits,
            pipelines: RefCell::new(PipelineCache::default()),
            pool: Rc::new(RefCell::new(PoolState::default())),
            current_op: RefCell::new(String::new()),
            timestamps,
            passes: std::cell::Cell::new(0),
            timing: std::cell::Cell::new(true),
            gpu_ns: std::cell::Cell::new(None),
            lost,
        })
    }

    /// What is known of the adapter.
    pub fn adapter(&self) -> &AdapterSummary {
        &self.adapter
    }

    /// The device's limits (the adapter's maxima, as requested).
    pub fn limits(&self) -> &wgpu::Limits {
        &self.limits
    }

    /// Why the device was lost, once it has been.
    pub fn lost_reason(&self) -> Option<String> {
        self.lost.lock().ok().and_then(|slot| slot.clone())
    }

    /// Destroys the device, as a driver reset would (for fallback tests).
    pub fn destroy(&self) {
        if let Ok(mut slot) = self.lost.lock() {
            slot.get_or_insert_with(|| "device destroyed".to_string());
        }
        self.device.destroy();
    }

    /// Destroys the device without marking the context, as an unexpected loss would.
    #[doc(hidden)]
    pub fn destroy_underneath(&self) {
        self.device.destroy();
    }

    /// Whether the GPU kernels handle this convolution (all of them do, grouped and depthwise
    /// included; kept so that callers can ask before uploading).
    pub fn supports_conv2d(&self, _g: &Conv2dGeometry) -> bool {
        true
    }

    /// `tf.nn.conv2d` on the GPU, from and to CPU memory. See [`crate::backend::cpu::conv2d`]
    /// for shapes.
    pub async fn conv2d(&self, g: &Conv2dGeometry, x: &[f32], filters: &[f32]) -> Result<Vec<f32>> {
        self.check_lost()?;
        let xt = self.upload("conv2d", "x", &g.input_shape(), x)?;
        let wt = self.upload("conv2d", "filters", &g.filter_shape(), filters)?;
        let y = self.conv2d_tensors(g, &xt, &wt).await?;
        self.read(&y).await
    }

    fn check_lost(&self) -> Result<()> {
        match self.lost_reason() {
            Some(reason) => Err(Error::backend(format!("webgpu: {reason}"))),
            None => Ok(()),
        }
    }

    /// A device tensor of `shape` (uninitialised: every kernel writes all of its output). It
    /// may be larger than one binding (up to `maxBufferSize`): every op splits such a tensor
    /// across launches (`split.rs`, matmul's plan).
    pub(crate) fn alloc(&self, op: &str, arg: &str, shape: &[usize]) -> Result<GpuTensor> {
        let len: usize = shape.iter().product();
        if len == 0 {
            return Err(Error::invalid(op, arg, format!("shape {shape:?} has no elements")));
        }
        let bytes = len as u64 * 4;
        self.check_buffer(op, arg, bytes)?;
        let buf = runtime::acquire(&self.device, &self.pool, bytes);
        Ok(runtime::new_tensor(buf, shape))
    }

    /// Copies `data` (of `shape`) into a device tensor.
    pub fn upload(&self, op: &str, arg: &str, shape: &[usize], data: &[f32]) -> Result<GpuTensor> {
        self.check_lost()?;
        let len: usize = shape.iter().product();
        if data.len() != len {
            return Err(Error::invalid(
                op,
                arg,
                format!("data has {} elements but shape {shape:?} needs {len}", data.len()),
            ));
        }
        let t = self.alloc(op, arg, shape)?;
        UPLOADS.fetch_add(1, Ordering::Relaxed);
        self.queue.write_buffer(t.buf.buffer(), 0, bytemuck::cast_slice(data));
        Ok(t)
    }

    /// Copies a device tensor back to the CPU.
    pub async fn read(&self, t: &GpuTensor) -> Result<Vec<f32>> {
        self.check_lost()?;
        READ_BACKS.fetch_add(1, Ordering::Relaxed);
        let bytes = t.len() as u64 * 4;
        let staging = self
            .submit("read", |enc| {
                let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("convlab read-back"),
                    size: bytes,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                enc.copy_buffer_to_buffer(t.buf.buffer(), 0, &staging, 0, bytes);
                Ok(staging)
            })
            .await?;
        self.read_back(&staging).await
    }

    /// Records commands with `record` into one encoder, submits them, and turns any validation
    /// or out-of-memory error of the device into an [`Error`] naming `op`.
    pub(crate) async fn submit<T>(
        &self,
        op: &str,
        record: impl FnOnce(&mut wgpu::CommandEncoder) -> Result<T>,
    ) -> Result<T> {
        self.check_lost()?;
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let mut encoder =
            self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some(op) });
        if let Ok(mut current) = self.current_op.try_borrow_mut() {
            op.clone_into(&mut current);
        }
        self.passes.set(0);
        let recorded = record(&mut encoder);
        let timed = match (&self.timestamps, self.passes.get()) {
            (Some(qs), passes) if passes > 0 && recorded.is_ok() => {
                let bytes = u64::from(2 * passes) * 8;
                let resolve = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("convlab timestamps"),
                    size: bytes,
                    usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                });
                let staging = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("convlab timestamps read-back"),
                    size: bytes,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                encoder.resolve_query_set(qs, 0..2 * passes, &resolve, 0);
                encoder.copy_buffer_to_buffer(&resolve, 0, &staging, 0, bytes);
                Some(staging)
            }
            _ => None,
        };
        if recorded.is_ok() {
            self.queue.submit([encoder.finish()]);
        }
        // The scopes are popped in every case (they are a stack).
        let oom = oom.pop().await;
        let validation = validation.pop().await;
        let value = recorded?;
        if let Some(e) = oom {
            return Err(Error::backend(format!("webgpu: {op} ran out of GPU memory: {e}")));
        }
        if let Some(e) = validation {
            return Err(Error::backend(format!("webgpu: {op} was rejected by the device: {e}")));
        }
        self.check_lost()?;
        if let Some(staging) = timed {
            let ticks: Vec<u64> = self.read_back(&staging).await?;
            let period = f64::from(self.queue.get_timestamp_period());
            let ns: f64 =
                ticks.chunks_exact(2).map(|p| p[1].saturating_sub(p[0]) as f64 * period).sum();
            self.gpu_ns.set(Some(self.gpu_ns.get().unwrap_or(0.0) + ns));
        }
        Ok(value)
    }

    /// GPU time in ms measured by timestamp queries since the last call (None where the
    /// adapter has no timestamp queries or nothing ran), and starts a new count.
    pub fn take_gpu_ms(&self) -> Option<f64> {
        self.gpu_ns.replace(None).map(|ns| ns / 1e6)
    }

    /// Whether this device times its passes with timestamp queries.
    pub fn has_timestamps(&self) -> bool {
        self.timestamps.is_some()
    }

    /// Turns timing of submits (timestamp queries, `take_gpu_ms`) on or off. A timed submit
    /// reads its timestamps back before it returns, so a loop of many small submits (a
    /// training step) runs faster untimed.
    pub fn set_timing(&self, on: bool) {
        self.timing.set(on);
    }

    /// The timestamp slot for the next pass of the submit being recorded, if any is left.
    pub(crate) fn next_timestamp(&self) -> Option<(&wgpu::QuerySet, u32)> {
        if !self.timing.get() {
            return None;
        }
        let qs = self.timestamps.as_ref()?;
        let n = self.passes.get();
        if n >= MAX_TIMED_PASSES {
            return None;
        }
        self.passes.set(n + 1);
        Some((qs, 2 * n))
    }

    /// Records one dispatch of `spec` covering `invocations` invocations (see [`runtime`]),
    /// each tensor bound whole.
    pub(crate) fn launch(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        spec: &KernelSpec,
        params: &[u32],
        inputs: &[&GpuTensor],
        outputs: &[&GpuTensor],
        invocations: u64,
    ) -> Result<()> {
        let inputs: Vec<Binding> = inputs.iter().map(|t| t.whole()).collect();
        let outputs: Vec<Binding> = outputs.iter().map(|t| t.whole()).collect();
        self.launch_bound(encoder, spec, params, &inputs, &outputs, invocations)
    }

    /// [`Self::launch`] with explicit bindings (ranges of tensors). Each is checked against
    /// `maxStorageBufferBindingSize` and the offset alignment before anything is recorded.
    pub(crate) fn launch_bound(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        spec: &KernelSpec,
        params: &[u32],
        inputs: &[Binding],
        outputs: &[Binding],
        invocations: u64,
    ) -> Result<()> {
        let op = self.current_op.try_borrow().map(|s| s.clone()).unwrap_or_default();
        for (i, b) in inputs.iter().chain(outputs).enumerate() {
            let arg = if i < inputs.len() { "input" } else { "output" };
            self.check_binding(&op, arg, b.bytes)?;
            let align = u64::from(self.limits.min_storage_buffer_offset_alignment.max(1));
            if b.offset % align != 0 {
                return Err(Error::backend(format!(
                    "webgpu: {}: a binding offset of {} bytes is not a multiple of {align}",
                    spec.entry, b.offset
                )));
            }
        }
        let count = u32::try_from(invocations).map_err(|_| {
            Error::limit(spec.entry, "x", format!("{invocations} invocations exceed 2^32"))
        })?;
        let grid = runtime::dispatch_size(
            spec.entry,
            invocations,
            self.limits.max_compute_workgroups_per_dimension,
        )?;
        let compiled = self
            .pipelines
            .try_borrow_mut()
            .map_err(|_| Error::backend("webgpu: the pipeline cache is busy"))?
            .get(&self.device, spec);
        runtime::record(
            &self.device,
            &self.queue,
            &compiled,
            spec,
            encoder,
            params,
            inputs,
            outputs,
            count,
            grid,
            self.next_timestamp(),
        );
        Ok(())
    }

    /// The buffer pool's counters: `(reused, created, idle bytes)`.
    pub fn pool_stats(&self) -> PoolStats {
        self.pool.try_borrow().map(|p| p.stats()).unwrap_or_default()
    }

    /// How many pipelines have been compiled (each once).
    pub fn pipelines_compiled(&self) -> usize {
        self.pipelines.try_borrow().map(|p| p.len()).unwrap_or(0)
    }

    /// Runs a small convolution with padding, stride and several channels and compares it with
    /// the CPU contract. An adapter that gets it wrong is not used.
    pub async fn self_test(&self) -> Result<()> {
        let params =
            Conv2dParams { strides: [2, 1], dilations: [1, 2], padding: Padding::Same, groups: 1 };
        let g = Conv2dGeometry::new("self-test", &[2, 7, 6, 3], &[3, 3, 3, 5], &params)?;
        let x: Vec<f32> = (0..2 * 7 * 6 * 3).map(|i| ((i * 37 % 23) as f32 - 11.0) / 7.0).collect();
        let w: Vec<f32> = (0..3 * 3 * 3 * 5).map(|i| ((i * 17 % 13) as f32 - 6.0) / 5.0).collect();
        let want = cpu::conv2d(&g, &x, &w, CpuKernel::Scalar)?;
        let got = self.conv2d(&g, &x, &w).await?;
        let worst = want.iter().zip(&got).map(|(a, b)| (a - b).abs()).fold(0.0f32, f32::max);
        if got.len() != want.len() || worst > 1e-4 {
            return Err(Error::backend(format!(
                "self-test failed: the adapter's conv2d differs from the CPU path by {worst}"
            )));
        }
        Ok(())
    }

    /// Maps a `MAP_READ` buffer and copies its contents out as `T`s (tensor data, timestamps).
    async fn read_back<T: bytemuck::Pod>(&self, staging: &wgpu::Buffer) -> Result<Vec<T>> {
        let slice = staging.slice(..);
        let (tx, rx) = futures_channel::oneshot::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        #[cfg(not(target_arch = "wasm32"))]
        self.device
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| Error::backend(format!("webgpu: waiting for the GPU failed: {e}")))?;
        rx.await
            .map_err(|_| Error::backend("webgpu: the read-back was cancelled"))?
            .map_err(|e| Error::backend(format!("webgpu: mapping the result failed: {e}")))?;
        let view = slice
            .get_mapped_range()
            .map_err(|e| Error::backend(format!("webgpu: reading the result failed: {e}")))?;
        // pod_collect_to_vec copies without assuming the mapping is 4-byte aligned.
        let data = bytemuck::pod_collect_to_vec::<u8, T>(&view);
        drop(view);
        staging.unmap();
        Ok(data)
    }

    /// Checks that a buffer of `bytes` bytes fits the device's `maxBufferSize`.
    fn check_buffer(&self, op: &str, arg: &str, bytes: u64) -> Result<()> {
        let limit = self.limits.max_buffer_size;
        if bytes > limit {
            return Err(Error::limit(
                op,
                arg,
                format!(
                    "needs a {bytes}-byte GPU buffer, {} bytes over this device's maxBufferSize \
                     of {limit}",
                    bytes - limit
                ),
            ));
        }
        Ok(())
    }

    /// The largest storage binding, in bytes.
    pub fn max_binding_bytes(&self) -> u64 {
        self.limits.max_storage_buffer_binding_size.min(self.limits.max_buffer_size)
    }

    /// Checks that a storage binding of `bytes` bytes fits the device's limits.
    fn check_binding(&self, op: &str, arg: &str, bytes: u64) -> Result<()> {
        let max_binding = self.limits.max_storage_buffer_binding_size;
        let max_buffer = self.limits.max_buffer_size;
        let limit = max_binding.min(max_buffer);
        if bytes > limit {
            let which = if max_binding <= max_buffer {
                "maxStorageBufferBindingSize"
            } else {
                "maxBufferSize"
            };
            return Err(Error::limit(
                op,
                arg,
                format!(
                    "needs a {bytes}-byte GPU buffer, {} bytes over this device's {which} of \
                     {limit}",
                    bytes - limit
                ),
            ));
        }
        Ok(())
    }
}

fn log(message: &str) {
    #[cfg(target_arch = "wasm32")]
    web_sys::console::warn_1(&message.into());
    #[cfg(not(target_arch = "wasm32"))]
    eprintln!("{message}");
}
