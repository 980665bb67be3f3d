//! The JavaScript API: the only module that uses `wasm_bindgen`.
//!
//! Functions take plain JS values (`{shape, data}` tensors and one options object), check them
//! with [`args`], run the op on the chosen backend and resolve to `{shape, data, backend, ms}`.
//! Every failure is a rejected promise with an `Error` naming the op, the argument and the
//! value; nothing panics (a panic would poison the wasm instance for every later call).

mod args;
mod ops;
mod state;

use js_sys::{Array, Float32Array, Object, Reflect};
use wasm_bindgen::prelude::*;

use crate::backend::cpu::{self, lanes, CpuKernel};
use crate::backend::webgpu::GpuContext;
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
export interface Conv2dOptions {
  strides?: number | [number, number];
  padding?: Padding;
  dilations?: number | [number, number];
  /** Which backend runs the call; absent or "auto" means the active one. */
  backend?: BackendName | "auto";
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
  bias?: Float32Array | number[] | Tensor;
  /** A Keras activation name: "relu", "softmax", ... */
  activation?: "linear" | "relu" | "relu6" | "leaky_relu" | "elu" | "selu" | "sigmoid" | "tanh" | "softmax";
  backend?: BackendName | "auto";
}
export interface OpResult { shape: number[]; data: Float32Array; backend: BackendName; ms: number; }
export interface AdapterReport { name: string; api: string; software: boolean; }
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
    state::with(|s| {
        match outcome {
            Ok(gpu) => s.gpu = Some(std::rc::Rc::new(gpu)),
            Err(why) => s.drop_gpu(why),
        }
        s.ready = true;
    });
    Ok(backends())
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

/// `tf.nn.conv2d(x, filters, strides, padding, dilations)` on NHWC/HWIO tensors.
#[wasm_bindgen(unchecked_return_type = "OpResult")]
pub async fn conv2d(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Tensor")] filters: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Conv2dOptions | undefined")] options: JsValue,
) -> Result<JsValue, JsError> {
    const OP: &str = "conv2d";
    let options = args::options(OP, &options, &["strides", "padding", "dilations", "backend"])
        .map_err(js_error)?;
    let params = Conv2dParams {
        strides: args::pair(OP, &options, "strides").map_err(js_error)?,
        dilations: args::pair(OP, &options, "dilations").map_err(js_error)?,
        padding: args::padding(OP, &options).map_err(js_error)?,
    };
    let requested = args::backend(OP, &options).map_err(js_error)?;
    let (x_shape, x_data) = args::tensor(OP, "x", &x).map_err(js_error)?;
    let (f_shape, f_data) = args::tensor(OP, "filters", &filters).map_err(js_error)?;
    let g = Conv2dGeometry::new(OP, &x_shape, &f_shape, &params).map_err(js_error)?;

    let gpu = match requested {
        Some(BackendKind::WebGpu) => Some(state::with(|s| s.require_gpu(OP)).map_err(js_error)?),
        Some(BackendKind::Cpu) => None,
        None => state::with(|s| match s.active().0 {
            BackendKind::WebGpu => s.gpu.clone(),
            BackendKind::Cpu => None,
        }),
    };
    let start = now_ms();
    let (data, ran_on) = match gpu {
        Some(gpu) => match gpu.conv2d(&g, &x_data, &f_data).await {
            Ok(data) => (data, BackendKind::WebGpu),
            Err(e) if e.kind() == ErrorKind::Backend => {
                // The device failed underneath us: stop using it, and finish on the CPU unless
                // the caller insisted on WebGPU.
                state::with(|s| s.drop_gpu(format!("dropped after a failure: {}", e.message())));
                if requested == Some(BackendKind::WebGpu) {
                    return Err(js_error(e));
                }
                (
                    cpu::conv2d(&g, &x_data, &f_data, CpuKernel::Auto).map_err(js_error)?,
                    BackendKind::Cpu,
                )
            }
            Err(e) => return Err(js_error(e)),
        },
        None => (
            cpu::conv2d(&g, &x_data, &f_data, CpuKernel::Auto).map_err(js_error)?,
            BackendKind::Cpu,
        ),
    };
    Ok(op_result(&g.output_shape(), &data, ran_on, now_ms() - start))
}

/// `{shape, data, backend, ms}`.
fn op_result(shape: &[usize], data: &[f32], backend: BackendKind, ms: f64) -> JsValue {
    let result = Object::new();
    let dims = Array::new();
    for &d in shape {
        dims.push(&JsValue::from(d as f64));
    }
    set(&result, "shape", dims);
    set(&result, "data", Float32Array::from(data));
    set(&result, "backend", backend.name());
    set(&result, "ms", ms);
    result.into()
}
