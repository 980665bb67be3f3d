//! The functional ops beyond conv2d: pooling, activations and dense, in the same style
//! (`{shape, data}` tensors, one options object, resolving to `{shape, data, backend, ms}`).
//! They run on the CPU path; their WebGPU kernels are the WebGPU issue's work, so a call that
//! insists on `backend: "webgpu"` is refused with that reason rather than silently moved.

use js_sys::{Array, Float32Array, Reflect};
use wasm_bindgen::prelude::*;

use super::{args, js_error, now_ms, op_result};
use crate::backend::cpu;
use crate::backend::BackendKind;
use crate::error::{Error, Result};
use crate::ops::activation::Activation;
use crate::ops::dense::DenseGeometry;
use crate::ops::pool::{Pool2dGeometry, Pool2dParams};

/// Refuses `backend: "webgpu"` for an op that has no WebGPU kernel yet.
fn cpu_only(op: &str, options: &JsValue) -> Result<()> {
    if args::backend(op, options)? == Some(BackendKind::WebGpu) {
        return Err(Error::invalid(
            op,
            "backend",
            "\"webgpu\" has no kernel for this op yet; it runs on \"cpu\" (omit backend or pass \"cpu\")",
        ));
    }
    Ok(())
}

fn finish(shape: &[usize], data: Vec<f32>, start: f64) -> JsValue {
    op_result(shape, &data, BackendKind::Cpu, now_ms() - start)
}

fn pool(op: &str, x: JsValue, options: JsValue, max: bool) -> Result<JsValue> {
    let options = args::options(op, &options, &["poolSize", "strides", "padding", "backend"])?;
    cpu_only(op, &options)?;
    let pool_size = args::required_pair(op, &options, "poolSize")?;
    let strides = if Reflect::has(&options, &"strides".into()).unwrap_or(false) {
        args::pair(op, &options, "strides")?
    } else {
        pool_size // Keras: strides default to the pool size
    };
    let params = Pool2dParams { pool_size, strides, padding: args::padding(op, &options)? };
    let (shape, data) = args::tensor(op, "x", &x)?;
    let g = Pool2dGeometry::new(op, &shape, &params)?;
    let start = now_ms();
    let y = if max { cpu::max_pool2d(&g, &data)? } else { cpu::avg_pool2d(&g, &data)? };
    Ok(finish(&g.output_shape(), y, start))
}

/// `tf.nn.max_pool2d`: `{poolSize, strides = poolSize, padding = "valid"}`.
#[wasm_bindgen(js_name = maxPool, unchecked_return_type = "Promise<OpResult>")]
pub fn max_pool(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PoolOptions")] options: JsValue,
) -> js_sys::Promise {
    resolve(pool("maxPool", x, options, true))
}

/// `tf.nn.avg_pool2d` (padding cells excluded from each mean, as TensorFlow).
#[wasm_bindgen(js_name = avgPool, unchecked_return_type = "Promise<OpResult>")]
pub fn avg_pool(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PoolOptions")] options: JsValue,
) -> js_sys::Promise {
    resolve(pool("avgPool", x, options, false))
}

fn global(op: &str, x: JsValue, options: JsValue, max: bool) -> Result<JsValue> {
    let options = args::options(op, &options, &["backend"])?;
    cpu_only(op, &options)?;
    let (shape, data) = args::tensor(op, "x", &x)?;
    let [n, h, w, c] = <[usize; 4]>::try_from(shape.as_slice()).map_err(|_| {
        Error::invalid(
            op,
            "x",
            format!("expected rank 4 [batch, height, width, channels] (NHWC), got shape {shape:?}"),
        )
    })?;
    let start = now_ms();
    let y = if max {
        cpu::global_max_pool([n, h, w, c], &data)?
    } else {
        cpu::global_avg_pool([n, h, w, c], &data)?
    };
    Ok(finish(&[n, c], y, start))
}

/// Global average pooling `[n, h, w, c] -> [n, c]`.
#[wasm_bindgen(js_name = globalAvgPool, unchecked_return_type = "Promise<OpResult>")]
pub fn global_avg_pool(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "{backend?: BackendName | \"auto\"} | undefined")]
    options: JsValue,
) -> js_sys::Promise {
    resolve(global("globalAvgPool", x, options, false))
}

/// Global max pooling `[n, h, w, c] -> [n, c]`.
#[wasm_bindgen(js_name = globalMaxPool, unchecked_return_type = "Promise<OpResult>")]
pub fn global_max_pool(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "{backend?: BackendName | \"auto\"} | undefined")]
    options: JsValue,
) -> js_sys::Promise {
    resolve(global("globalMaxPool", x, options, true))
}

fn activation(op: &str, a: Activation, x: JsValue, options: JsValue) -> Result<JsValue> {
    let options = args::options(op, &options, &["backend"])?;
    cpu_only(op, &options)?;
    let (shape, mut data) = args::tensor(op, "x", &x)?;
    let last =
        *shape.last().ok_or_else(|| Error::invalid(op, "x", "shape [] has no axis to work on"))?;
    let start = now_ms();
    crate::backend::cpu::activation_in_place(a, &mut data, last)?;
    Ok(finish(&shape, data, start))
}

macro_rules! activation_fn {
    ($(#[$doc:meta])* $rust:ident, $js:literal, $act:expr) => {
        $(#[$doc])*
        #[wasm_bindgen(js_name = $js, unchecked_return_type = "Promise<OpResult>")]
        pub fn $rust(
            #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
            #[wasm_bindgen(unchecked_param_type = "{backend?: BackendName | \"auto\"} | undefined")] options: JsValue,
        ) -> js_sys::Promise {
            resolve(activation($js, $act, x, options))
        }
    };
}

activation_fn!(
    /// `max(x, 0)`, element-wise.
    relu, "relu", Activation::Relu
);
activation_fn!(
    /// The logistic function, element-wise.
    sigmoid, "sigmoid", Activation::Sigmoid
);
activation_fn!(
    /// Hyperbolic tangent, element-wise.
    tanh, "tanh", Activation::Tanh
);
activation_fn!(
    /// Softmax over the last axis (numerically stable).
    softmax, "softmax", Activation::Softmax
);

fn dense_op(x: JsValue, weights: JsValue, options: JsValue) -> Result<JsValue> {
    const OP: &str = "dense";
    let options = args::options(OP, &options, &["bias", "activation", "backend"])?;
    cpu_only(OP, &options)?;
    let (x_shape, x_data) = args::tensor(OP, "x", &x)?;
    let (w_shape, w_data) = args::tensor(OP, "weights", &weights)?;
    let g = DenseGeometry::new(OP, &x_shape, &w_shape)?;
    let bias = Reflect::get(&options, &"bias".into()).unwrap_or(JsValue::UNDEFINED);
    let bias = if bias.is_undefined() || bias.is_null() {
        None
    } else if bias.is_instance_of::<Float32Array>() || Array::is_array(&bias) {
        let b = Float32Array::new(&bias).to_vec();
        Some(b)
    } else {
        Some(args::tensor(OP, "bias", &bias)?.1)
    };
    let act = match Reflect::get(&options, &"activation".into()).ok().and_then(|v| v.as_string()) {
        Some(name) => Activation::from_name(OP, &name)?,
        None => Activation::Linear,
    };
    let start = now_ms();
    let mut y = cpu::dense(&g, &x_data, &w_data, bias.as_deref())?;
    cpu::activation_in_place(act, &mut y, g.units)?;
    Ok(finish(&[g.batch, g.units], y, start))
}

/// `y = activation(x W + b)`: `x` `[n, in]`, `weights` `[in, units]` (Keras's kernel layout).
#[wasm_bindgen(unchecked_return_type = "Promise<OpResult>")]
pub fn dense(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Tensor")] weights: JsValue,
    #[wasm_bindgen(unchecked_param_type = "DenseOptions | undefined")] options: JsValue,
) -> js_sys::Promise {
    resolve(dense_op(x, weights, options))
}

/// A settled promise: the CPU ops are synchronous, but the API is asynchronous throughout so
/// that ops can move to the GPU or a worker without changing callers.
fn resolve(result: Result<JsValue>) -> js_sys::Promise {
    match result {
        Ok(v) => js_sys::Promise::resolve(&v),
        Err(e) => js_sys::Promise::reject(&js_error(e).into()),
    }
}
