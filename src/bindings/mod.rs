//! The JavaScript API: the only module that uses `wasm_bindgen`.
//!
//! Functions take plain JS values (`{shape, data}` tensors and one options object), check them
//! with [`args`], run the op on the chosen backend and resolve to `{shape, data, backend, ms}`.
//! Every failure is a rejected promise with an `Error` naming the op, the argument and the
//! value; nothing panics (a panic would poison the wasm instance for every later call).

mod args;
mod conv;
mod editor;
mod inside;
mod kept;
mod model;
mod ops;
mod state;
mod training;

use js_sys::{Array, Float32Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::backend::cpu::{self, lanes, CpuKernel};
use std::rc::{Rc, Weak};

use crate::backend::webgpu::{GpuContext, GpuTensor};
use crate::backend::BackendKind;
use crate::error::{Error, ErrorKind};
use crate::ops::conv::{Conv2dGeometry, Conv2dParams};
use state::Choice;

#[wasm_bindgen(typescript_custom_section)]
const TS_TYPES: &str = r#"
/** A dense tensor: NHWC for activations, HWIO for filters. `data.length` equals the product of `shape`. */
export interface Tensor { shape: number[]; data: Float32Array | number[]; }
/** "same" and "valid" as in tf.nn.conv2d, or explicit zeros [[top, bottom], [left, right]]. */
export type Padding = "same" | "valid" | "SAME" | "VALID" | [[number, number], [number, number]];
export type BackendName = "webgpu" | "cpu";
export type ActivationName = "linear" | "relu" | "relu6" | "leaky_relu" | "elu" | "selu" | "sigmoid" | "tanh" | "softmax";
export interface DepthwiseOptions {
  strides?: number | [number, number];
  padding?: Padding;
  dilations?: number | [number, number];
  /** One value per output channel, added after the convolution (a kept tensor stays where it lives). */
  bias?: Float32Array | number[] | Tensor | KeptTensor;
  /** A Keras activation applied last. */
  activation?: ActivationName;
  /** Which backend runs the call; absent or "auto" means the active one. */
  backend?: BackendName | "auto";
}
export interface Conv2dOptions extends DepthwiseOptions {
  /** Channel groups (Keras `groups`): filters are [fh, fw, in / groups, out]. */
  groups?: number;
}
export interface PoolOptions {
  poolSize: number | [number, number];
  /** Defaults to poolSize (Keras). */
  strides?: number | [number, number];
  padding?: Padding;
  backend?: BackendName | "auto";
}
export interface DenseOptions {
  /** One value per unit. */
  bias?: Float32Array | number[] | Tensor | KeptTensor;
  /** A Keras activation name: "relu", "softmax", ... */
  activation?: ActivationName;
  backend?: BackendName | "auto";
}
export interface BatchNormOptions {
  mean: Float32Array | number[];
  variance: Float32Array | number[];
  gamma?: Float32Array | number[];
  beta?: Float32Array | number[];
  /** Default 1e-3 (Keras). */
  epsilon?: number;
  backend?: BackendName | "auto";
}
/** tf.nn.local_response_normalization's parameters; defaults 5, 1, 1, 0.5 as TensorFlow. */
export interface LrnOptions {
  depthRadius?: number;
  bias?: number;
  alpha?: number;
  beta?: number;
  backend?: BackendName | "auto";
}
/**
 * An op's result. `ms` is wall time around the whole call (copies in and out included); `gpuMs`,
 * on WebGPU where the adapter has timestamp queries, the time its kernels took on the GPU.
 */
export interface OpResult { shape: number[]; data: Float32Array; backend: BackendName; ms: number; gpuMs?: number; }
/**
 * A tensor kept in the core (convlab.keep, or an op's result with `keep: true`): ops take it wherever they take a Tensor,
 * without copying its data in. Its values live in the core's memory, on the WebGPU device (an op kept on WebGPU leaves its
 * result there; a kept tensor used on WebGPU is uploaded once), or both; one that lives only on the device is lost with it.
 */
export interface KeptTensor { shape: number[]; kept: number; }
/** An op's result with `keep: true`: kept in the core (on WebGPU: on the device) instead of copied out. */
export interface KeptResult extends KeptTensor { backend: BackendName; ms: number; gpuMs?: number; }
/** `timestampQueries`: whether ops on this device report `gpuMs`. */
export interface AdapterReport { name: string; api: string; software: boolean; timestampQueries: boolean; }
export interface BackendsReport {
  available: BackendName[];
  active: BackendName;
  reason: string;
  choice: BackendName | "auto";
  adapter: AdapterReport | null;
  webgpuProblem: string | null;
  simd128: boolean;
}
export interface InitOptions {
  /** Skip WebGPU entirely (the CPU path only). */
  webgpu?: boolean;
  /** Extra adapter text (GPUAdapterInfo vendor/architecture) for the software-adapter test. */
  adapterHint?: string;
}
"#;

#[wasm_bindgen(start)]
fn start() {
    console_error_panic_hook::set_once();
}

fn js_error(e: Error) -> JsError {
    JsError::new(e.message())
}

/// Sizes as a JS array of numbers (shapes in results).
fn numbers(values: &[usize]) -> Array {
    values.iter().map(|&v| JsValue::from(v as f64)).collect()
}

fn set(object: &Object, key: &str, value: impl Into<JsValue>) {
    // Setting a property on a fresh plain object cannot fail.
    let _ = Reflect::set(object, &JsValue::from_str(key), &value.into());
}

fn now_ms() -> f64 {
    let performance =
        Reflect::get(&js_sys::global(), &"performance".into()).unwrap_or(JsValue::UNDEFINED);
    let now = Reflect::get(&performance, &"now".into())
        .ok()
        .and_then(|f| f.dyn_into::<js_sys::Function>().ok());
    match now {
        Some(f) => f.call0(&performance).ok().and_then(|v| v.as_f64()).unwrap_or(0.0),
        None => js_sys::Date::now(),
    }
}

fn has_navigator_gpu() -> bool {
    let navigator =
        Reflect::get(&js_sys::global(), &"navigator".into()).unwrap_or(JsValue::UNDEFINED);
    navigator.is_object()
        && Reflect::get(&navigator, &"gpu".into()).map(|g| g.is_object()).unwrap_or(false)
}

/// Opens WebGPU (when the browser has it and the self-test passes) and decides the active
/// backend. Resolves to the same report as `backends()`. Calling it again returns the report.
#[wasm_bindgen(js_name = initBackends, unchecked_return_type = "BackendsReport")]
pub async fn init_backends(
    #[wasm_bindgen(unchecked_param_type = "InitOptions | undefined")] options: JsValue,
) -> Result<JsValue, JsError> {
    if state::with(|s| s.ready) {
        return Ok(backends());
    }
    let options =
        args::options("initBackends", &options, &["webgpu", "adapterHint"]).map_err(js_error)?;
    let want_gpu =
        Reflect::get(&options, &"webgpu".into()).ok().and_then(|v| v.as_bool()).unwrap_or(true);
    let hint = Reflect::get(&options, &"adapterHint".into())
        .ok()
        .and_then(|v| v.as_string())
        .unwrap_or_default();
    let outcome = if !want_gpu {
        Err("WebGPU was turned off by the caller".to_string())
    } else if !has_navigator_gpu() {
        Err("no adapter: this browser does not expose WebGPU (navigator.gpu is missing)"
            .to_string())
    } else {
        open_gpu(&hint).await
    };
    let calibration = match &outcome {
        // On a hardware adapter WebGPU is the choice; on a software one it is unclear, so a
        // short calibration measures both and the faster wins.
        Ok(gpu) if gpu.adapter().software => calibrate(gpu).await,
        _ => None,
    };
    state::with(|s| {
        match outcome {
            Ok(gpu) => s.gpu = Some(std::rc::Rc::new(gpu)),
            Err(why) => s.drop_gpu(why),
        }
        s.calibration = calibration;
        s.ready = true;
    });
    Ok(backends())
}

/// The calibration workload: a 3x3 convolution of a 32x32x16 map to 16 channels, "same", with
/// its upload and read-back (what a single op costs from JS).
const CALIBRATION: ([usize; 4], [usize; 4]) = ([1, 32, 32, 16], [3, 3, 16, 16]);

/// Median times (ms) of the calibration convolution on each backend, after one warm-up run
/// each; `None` if either failed (then the software-adapter rule decides).
async fn calibrate(gpu: &GpuContext) -> Option<state::Calibration> {
    let params = Conv2dParams { padding: crate::tensor::Padding::Same, ..Default::default() };
    let g = Conv2dGeometry::new("calibration", &CALIBRATION.0, &CALIBRATION.1, &params).ok()?;
    let x: Vec<f32> =
        (0..g.input_shape().iter().product::<usize>()).map(|i| (i % 7) as f32).collect();
    let w: Vec<f32> =
        (0..g.filter_shape().iter().product::<usize>()).map(|i| (i % 5) as f32).collect();
    let mut cpu_ms = Vec::new();
    let mut gpu_ms = Vec::new();
    for run in 0..4 {
        let t = now_ms();
        cpu::conv2d(&g, &x, &w, CpuKernel::Auto).ok()?;
        let c = now_ms() - t;
        let t = now_ms();
        gpu.conv2d(&g, &x, &w).await.ok()?;
        let d = now_ms() - t;
        if run > 0 {
            cpu_ms.push(c);
            gpu_ms.push(d);
        }
    }
    let median = |mut v: Vec<f64>| {
        v.sort_by(f64::total_cmp);
        v[v.len() / 2]
    };
    Some(state::Calibration { cpu_ms: median(cpu_ms), gpu_ms: median(gpu_ms) })
}

async fn open_gpu(hint: &str) -> Result<GpuContext, String> {
    let gpu = GpuContext::new(hint).await.map_err(|e| e.message().to_string())?;
    gpu.self_test().await.map_err(|e| format!("self-test failed: {}", e.message()))?;
    Ok(gpu)
}

/// `{available, active, reason, choice, adapter, webgpuProblem, simd128}`.
#[wasm_bindgen(unchecked_return_type = "BackendsReport")]
pub fn backends() -> JsValue {
    state::with(|s| {
        let report = Object::new();
        let available = Array::new();
        if s.gpu.is_some() {
            available.push(&"webgpu".into());
        }
        available.push(&"cpu".into());
        let (active, reason) = s.active();
        set(&report, "available", available);
        set(&report, "active", active.name());
        set(&report, "reason", reason);
        let choice = match s.choice {
            Choice::Auto => "auto",
            Choice::Fixed(k) => k.name(),
        };
        set(&report, "choice", choice);
        let adapter = match &s.gpu {
            Some(gpu) => {
                let a = Object::new();
                set(&a, "name", gpu.adapter().name.clone());
                set(&a, "api", gpu.adapter().api.clone());
                set(&a, "software", gpu.adapter().software);
                set(&a, "timestampQueries", gpu.has_timestamps());
                JsValue::from(a)
            }
            None => JsValue::NULL,
        };
        set(&report, "adapter", adapter);
        set(
            &report,
            "webgpuProblem",
            s.gpu_problem.clone().map(JsValue::from).unwrap_or(JsValue::NULL),
        );
        set(&report, "simd128", lanes::IS_SIMD128);
        report.into()
    })
}

/// Destroys the WebGPU device underneath convlab, as a driver reset or a lost GPU would, without
/// telling it: the next op must notice, fall back to the CPU and say why. For tests.
#[doc(hidden)]
#[wasm_bindgen(js_name = __destroyWebGpuDevice)]
pub fn destroy_webgpu_device() -> bool {
    state::with(|s| s.gpu.as_ref().map(|g| g.destroy_underneath()).is_some())
}

/// CPU convolutions (forward and backward) this instance of the core has run. For tests: the
/// page's count must not move while a model trains in the worker.
#[doc(hidden)]
#[wasm_bindgen(js_name = __kernelCalls)]
pub fn kernel_calls() -> f64 {
    cpu::conv_calls() as f64
}

/// `[uploads, readBacks]`: tensors copied to a WebGPU device and back by this instance of the
/// core so far. For tests: a chain of kept ops on WebGPU must move neither.
#[doc(hidden)]
#[wasm_bindgen(js_name = __transfers)]
pub fn transfers() -> Vec<f64> {
    let (up, back) = crate::backend::webgpu::transfer_counts();
    vec![up as f64, back as f64]
}

/// Sets the standing choice: "auto", "webgpu" or "cpu". Choosing "webgpu" where it is
/// unavailable is an error that says why.
#[wasm_bindgen(js_name = setBackend, unchecked_return_type = "BackendsReport")]
pub fn set_backend(
    #[wasm_bindgen(unchecked_param_type = "BackendName | \"auto\"")] choice: JsValue,
) -> Result<JsValue, JsError> {
    let options = Object::new();
    set(&options, "backend", choice);
    let kind = args::backend("setBackend", &options).map_err(js_error)?;
    state::with(|s| {
        if kind == Some(BackendKind::WebGpu) {
            s.require_gpu("setBackend")?;
        }
        s.choice = kind.map_or(Choice::Auto, Choice::Fixed);
        Ok::<_, Error>(())
    })
    .map_err(js_error)?;
    Ok(backends())
}

/// Runs an op on the requested (or active) backend: `on_gpu` with the device when WebGPU is the
/// one, else `on_cpu` (asynchronous: a kept input that lives only on the device is read back
/// first, see [`args::TensorData::values`]). A device failure (lost, out of memory: a [`ErrorKind::Backend`] error)
/// drops WebGPU for the page, records why, and finishes the call on the CPU with the same
/// result, unless the caller insisted on `backend: "webgpu"`, which then rejects.
pub(crate) async fn run_on<T>(
    op: &str,
    requested: Option<BackendKind>,
    on_gpu: impl AsyncFnOnce(std::rc::Rc<GpuContext>) -> Result<T, Error>,
    on_cpu: impl AsyncFnOnce() -> Result<T, Error>,
) -> Result<(T, BackendKind), Error> {
    let gpu = match requested {
        Some(BackendKind::WebGpu) => Some(state::with(|s| s.require_gpu(op))?),
        Some(BackendKind::Cpu) => None,
        None => state::with(|s| match s.active().0 {
            BackendKind::WebGpu => s.gpu.clone(),
            BackendKind::Cpu => None,
        }),
    };
    if let Some(gpu) = gpu {
        gpu.take_gpu_ms(); // start a new count for this call
        match on_gpu(std::rc::Rc::clone(&gpu)).await {
            Ok(v) => {
                let gpu_ms = gpu.take_gpu_ms();
                state::with(|s| s.last_gpu_ms = gpu_ms);
                return Ok((v, BackendKind::WebGpu));
            }
            Err(e) if e.kind() == ErrorKind::Backend => {
                state::with(|s| s.drop_gpu(format!("dropped after a failure: {}", e.message())));
                if requested == Some(BackendKind::WebGpu) {
                    return Err(e);
                }
            }
            Err(e) => return Err(e),
        }
    }
    Ok((on_cpu().await?, BackendKind::Cpu))
}

/// What an op produced: values in CPU memory, or (an op kept on WebGPU) a tensor left on the
/// device, which nothing reads back until asked (see [`kept`]).
pub(crate) enum OpData {
    Host(Vec<f32>),
    Device(GpuTensor, Weak<GpuContext>),
}

/// An op's result on `gpu`: left on the device when it is kept, else read back.
pub(crate) async fn from_device(
    gpu: &Rc<GpuContext>,
    y: GpuTensor,
    keep: bool,
) -> Result<OpData, Error> {
    if keep {
        Ok(OpData::Device(y, Rc::downgrade(gpu)))
    } else {
        Ok(OpData::Host(gpu.read(&y).await?))
    }
}

/// [`op_result`], or with `keep` the result kept in the core: `{shape, kept, backend, ms,
/// gpuMs?}` (on WebGPU it stays on the device, see [`kept`]).
fn op_output(
    shape: &[usize],
    data: OpData,
    backend: BackendKind,
    ms: f64,
    keep: bool,
) -> Result<JsValue, Error> {
    let out = match data {
        OpData::Host(data) if !keep => return Ok(op_result(shape, &data, backend, ms)),
        OpData::Host(data) => kept::keep(shape, data),
        OpData::Device(tensor, gpu) => kept::keep_on_device(shape, tensor, gpu)?,
    };
    let object: &Object = out.unchecked_ref();
    set(object, "backend", backend.name());
    set(object, "ms", ms);
    set_gpu_ms(object, backend);
    Ok(out)
}

/// `gpuMs`: time on the GPU itself (timestamp queries) of the call that just ran, where the
/// adapter has them.
fn set_gpu_ms(result: &Object, backend: BackendKind) {
    if backend == BackendKind::WebGpu {
        if let Some(gpu_ms) = state::with(|s| s.last_gpu_ms.take()) {
            set(result, "gpuMs", gpu_ms);
        }
    }
}

/// `{shape, data, backend, ms}`.
fn op_result(shape: &[usize], data: &[f32], backend: BackendKind, ms: f64) -> JsValue {
    let result = Object::new();
    set(&result, "shape", numbers(shape));
    set(&result, "data", Float32Array::from(data));
    set(&result, "backend", backend.name());
    set(&result, "ms", ms);
    set_gpu_ms(&result, backend);
    result.into()
}

/// Copies `data` into `out` from element `offset` on, or says that `out` is too short.
fn copy_into(op: &str, data: &[f32], out: &Float32Array, offset: u32) -> Result<(), Error> {
    let stop = offset as usize + data.len();
    if stop > out.length() as usize {
        return Err(Error::invalid(
            op,
            "out",
            format!("holds {} elements, {stop} are needed", out.length()),
        ));
    }
    out.subarray(offset, stop as u32).copy_from(data);
    Ok(())
}
