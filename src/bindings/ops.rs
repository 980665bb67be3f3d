//! The functional ops beyond conv2d: pooling, activations and dense, in the same style
//! (`{shape, data}` tensors, one options object, resolving to `{shape, data, backend, ms}`).
//! They run on the CPU path; their WebGPU kernels are the WebGPU issue's work, so a call that
//! insists on `backend: "webgpu"` is refused with that reason rather than silently moved.

use js_sys::Reflect;
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
    let bias = args::vector(OP, &options, "bias")?;
    let act = match args::string(OP, &options, "activation")? {
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

fn depth_max_pool_op(x: JsValue, options: JsValue) -> Result<JsValue> {
    const OP: &str = "depthMaxPool";
    let options = args::options(OP, &options, &["poolSize", "strides", "backend"])?;
    cpu_only(OP, &options)?;
    let k = args::optional_integer(OP, &options, "poolSize", 1)?
        .ok_or_else(|| Error::invalid(OP, "poolSize", "is required (channels per window)"))?;
    if let Some(s) = args::optional_integer(OP, &options, "strides", 1)? {
        if s != k {
            return Err(Error::invalid(
                OP,
                "strides",
                format!("{s} must equal poolSize {k}: depthwise pooling takes disjoint runs of channels (as TensorFlow requires)"),
            ));
        }
    }
    let (shape, data) = args::tensor(OP, "x", &x)?;
    let c = *shape.last().ok_or_else(|| Error::invalid(OP, "x", "shape [] has no channels"))?;
    let start = now_ms();
    let y = cpu::depth_max_pool(&data, c, k)?;
    let mut out_shape = shape.clone();
    *out_shape.last_mut().unwrap_or(&mut 0) = c / k;
    Ok(finish(&out_shape, y, start))
}

/// Depthwise (channel) max pooling, the seed's `tf.nn.max_pool(ksize=(1,1,1,k), strides=(1,1,1,k))`.
#[wasm_bindgen(js_name = depthMaxPool, unchecked_return_type = "Promise<OpResult>")]
pub fn depth_max_pool(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(
        unchecked_param_type = "{poolSize: number, strides?: number, backend?: BackendName | \"auto\"}"
    )]
    options: JsValue,
) -> js_sys::Promise {
    resolve(depth_max_pool_op(x, options))
}

fn batch_norm_op(x: JsValue, options: JsValue) -> Result<JsValue> {
    const OP: &str = "batchNorm";
    let options =
        args::options(OP, &options, &["mean", "variance", "gamma", "beta", "epsilon", "backend"])?;
    cpu_only(OP, &options)?;
    let (shape, data) = args::tensor(OP, "x", &x)?;
    let c = *shape.last().ok_or_else(|| Error::invalid(OP, "x", "shape [] has no channels"))?;
    let required = |key: &str| {
        args::vector(OP, &options, key)?
            .ok_or_else(|| Error::invalid(OP, key, "is required (one value per channel)"))
    };
    let (mean, variance) = (required("mean")?, required("variance")?);
    if let Some((i, v)) = variance.iter().enumerate().find(|(_, v)| v.is_nan() || **v < 0.0) {
        return Err(Error::invalid(
            OP,
            "variance",
            format!("element {i} is {v}; a variance is >= 0"),
        ));
    }
    let gamma = args::vector(OP, &options, "gamma")?.unwrap_or_else(|| vec![1.0; c]);
    let beta = args::vector(OP, &options, "beta")?.unwrap_or_else(|| vec![0.0; c]);
    let epsilon = args::optional_number(OP, &options, "epsilon")?.unwrap_or(1e-3);
    crate::ops::norm::BatchNormParams { epsilon, momentum: 0.99 }.validate(OP)?;
    let start = now_ms();
    let y = cpu::batch_norm(&data, c, &gamma, &beta, &mean, &variance, epsilon)?;
    Ok(finish(&shape, y, start))
}

/// Batch normalization at inference: `gamma * (x - mean) / sqrt(variance + epsilon) + beta`
/// over the last axis (gamma defaults to 1, beta to 0, epsilon to Keras's 1e-3).
#[wasm_bindgen(js_name = batchNorm, unchecked_return_type = "Promise<OpResult>")]
pub fn batch_norm(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "BatchNormOptions")] options: JsValue,
) -> js_sys::Promise {
    resolve(batch_norm_op(x, options))
}

fn lrn_op(x: JsValue, options: JsValue) -> Result<JsValue> {
    const OP: &str = "localResponseNormalization";
    let options =
        args::options(OP, &options, &["depthRadius", "bias", "alpha", "beta", "backend"])?;
    cpu_only(OP, &options)?;
    let (shape, data) = args::tensor(OP, "x", &x)?;
    let c = *shape.last().ok_or_else(|| Error::invalid(OP, "x", "shape [] has no channels"))?;
    let depth_radius = args::optional_integer(OP, &options, "depthRadius", 0)?.unwrap_or(5);
    // tf.nn.local_response_normalization's defaults.
    let p = crate::ops::norm::LrnParams {
        depth_radius,
        bias: args::optional_number(OP, &options, "bias")?.unwrap_or(1.0),
        alpha: args::optional_number(OP, &options, "alpha")?.unwrap_or(1.0),
        beta: args::optional_number(OP, &options, "beta")?.unwrap_or(0.5),
    };
    let start = now_ms();
    let y = cpu::lrn(&data, c, &p)?;
    Ok(finish(&shape, y, start))
}

/// `tf.nn.local_response_normalization` over the last axis (the chapter's equation 14-2).
#[wasm_bindgen(js_name = localResponseNormalization, unchecked_return_type = "Promise<OpResult>")]
pub fn local_response_normalization(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "LrnOptions | undefined")] options: JsValue,
) -> js_sys::Promise {
    resolve(lrn_op(x, options))
}
