//! The functional ops beyond conv2d: pooling, activations, dense and the normalizations, in the
//! same style (`{shape, data}` tensors, one options object, resolving to `{shape, data,
//! backend, ms}`). Each runs on the requested or active backend through [`super::run_on`]: on
//! WebGPU the inputs are uploaded (a kept one once, then its device copy is reused), the op's
//! kernels run on the device and the result is read back (unless it is kept: then it stays on
//! the device); a device failure finishes the call on the CPU.

use js_sys::Reflect;
use wasm_bindgen::prelude::*;

use super::{args, from_device, js_error, now_ms, op_output, run_on, OpData};
use crate::backend::cpu;
use crate::backend::webgpu::PoolKind;
use crate::backend::BackendKind;
use crate::error::{Error, Result};
use crate::ops::activation::Activation;
use crate::ops::dense::DenseGeometry;
use crate::ops::pool::{Pool2dGeometry, Pool2dParams};

fn finish(
    shape: &[usize],
    data: OpData,
    backend: BackendKind,
    start: f64,
    keep: bool,
) -> Result<JsValue> {
    op_output(shape, data, backend, now_ms() - start, keep)
}

async fn pool(op: &str, x: JsValue, options: JsValue, max: bool) -> Result<JsValue> {
    let options =
        args::options(op, &options, &["poolSize", "strides", "padding", "backend", "keep"])?;
    let keep = args::keep(op, &options)?;
    let requested = args::backend(op, &options)?;
    let pool_size = args::required_pair(op, &options, "poolSize")?;
    let strides = if Reflect::has(&options, &"strides".into()).unwrap_or(false) {
        args::pair(op, &options, "strides")?
    } else {
        pool_size // Keras: strides default to the pool size
    };
    let params = Pool2dParams { pool_size, strides, padding: args::padding(op, &options)? };
    let (shape, data) = args::tensor(op, "x", &x)?;
    let g = Pool2dGeometry::new(op, &shape, &params)?;
    let kind = if max { PoolKind::Max } else { PoolKind::Avg };
    let start = now_ms();
    let (y, ran) = run_on(
        op,
        requested,
        async |gpu| {
            let xt = data.on_device(&gpu, op, "x", &g.input_shape())?;
            from_device(&gpu, gpu.pool2d(kind, &g, &xt).await?, keep).await
        },
        async || {
            let x = data.values(op, "x").await?;
            Ok(OpData::Host(if max { cpu::max_pool2d(&g, x) } else { cpu::avg_pool2d(&g, x) }?))
        },
    )
    .await?;
    finish(&g.output_shape(), y, ran, start, keep)
}

/// `tf.nn.max_pool2d`: `{poolSize, strides = poolSize, padding = "valid"}`.
#[wasm_bindgen(js_name = maxPool, unchecked_return_type = "OpResult")]
pub async fn max_pool(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PoolOptions")] options: JsValue,
) -> std::result::Result<JsValue, JsError> {
    pool("maxPool", x, options, true).await.map_err(js_error)
}

/// `tf.nn.avg_pool2d` (padding cells excluded from each mean, as TensorFlow).
#[wasm_bindgen(js_name = avgPool, unchecked_return_type = "OpResult")]
pub async fn avg_pool(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "PoolOptions")] options: JsValue,
) -> std::result::Result<JsValue, JsError> {
    pool("avgPool", x, options, false).await.map_err(js_error)
}

async fn global(op: &str, x: JsValue, options: JsValue, max: bool) -> Result<JsValue> {
    let options = args::options(op, &options, &["backend", "keep"])?;
    let keep = args::keep(op, &options)?;
    let requested = args::backend(op, &options)?;
    let (shape, data) = args::tensor(op, "x", &x)?;
    let [n, h, w, c] = <[usize; 4]>::try_from(shape.as_slice()).map_err(|_| {
        Error::invalid(
            op,
            "x",
            format!("expected rank 4 [batch, height, width, channels] (NHWC), got shape {shape:?}"),
        )
    })?;
    let kind = if max { PoolKind::Max } else { PoolKind::Avg };
    let start = now_ms();
    let (y, ran) = run_on(
        op,
        requested,
        async |gpu| {
            let xt = data.on_device(&gpu, op, "x", &shape)?;
            from_device(&gpu, gpu.global_pool(kind, &xt).await?, keep).await
        },
        async || {
            let x = data.values(op, "x").await?;
            Ok(OpData::Host(if max {
                cpu::global_max_pool([n, h, w, c], x)
            } else {
                cpu::global_avg_pool([n, h, w, c], x)
            }?))
        },
    )
    .await?;
    finish(&[n, c], y, ran, start, keep)
}

/// Global average pooling `[n, h, w, c] -> [n, c]`.
#[wasm_bindgen(js_name = globalAvgPool, unchecked_return_type = "OpResult")]
pub async fn global_avg_pool(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "{backend?: BackendName | \"auto\"} | undefined")]
    options: JsValue,
) -> std::result::Result<JsValue, JsError> {
    global("globalAvgPool", x, options, false).await.map_err(js_error)
}

/// Global max pooling `[n, h, w, c] -> [n, c]`.
#[wasm_bindgen(js_name = globalMaxPool, unchecked_return_type = "OpResult")]
pub async fn global_max_pool(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "{backend?: BackendName | \"auto\"} | undefined")]
    options: JsValue,
) -> std::result::Result<JsValue, JsError> {
    global("globalMaxPool", x, options, true).await.map_err(js_error)
}

async fn activation(op: &str, a: Activation, x: JsValue, options: JsValue) -> Result<JsValue> {
    let options = args::options(op, &options, &["backend", "keep"])?;
    let keep = args::keep(op, &options)?;
    let requested = args::backend(op, &options)?;
    let (shape, data) = args::tensor(op, "x", &x)?;
    let last =
        *shape.last().ok_or_else(|| Error::invalid(op, "x", "shape [] has no axis to work on"))?;
    let start = now_ms();
    let (y, ran) = run_on(
        op,
        requested,
        async |gpu| {
            let xt = data.on_device(&gpu, op, "x", &shape)?;
            from_device(&gpu, gpu.activation(a, &xt, None).await?, keep).await
        },
        async || {
            let mut y = data.values(op, "x").await?.to_vec();
            cpu::activation_in_place(a, &mut y, last)?;
            Ok(OpData::Host(y))
        },
    )
    .await?;
    finish(&shape, y, ran, start, keep)
}

macro_rules! activation_fn {
    ($(#[$doc:meta])* $rust:ident, $js:literal, $act:expr) => {
        $(#[$doc])*
        #[wasm_bindgen(js_name = $js, unchecked_return_type = "OpResult")]
        pub async fn $rust(
            #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
            #[wasm_bindgen(unchecked_param_type = "{backend?: BackendName | \"auto\"} | undefined")] options: JsValue,
        ) -> std::result::Result<JsValue, JsError> {
            activation($js, $act, x, options).await.map_err(js_error)
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

async fn dense_op(x: JsValue, weights: JsValue, options: JsValue) -> Result<JsValue> {
    const OP: &str = "dense";
    let options = args::options(OP, &options, &["bias", "activation", "backend", "keep"])?;
    let keep = args::keep(OP, &options)?;
    let requested = args::backend(OP, &options)?;
    let (x_shape, x_data) = args::tensor(OP, "x", &x)?;
    let (w_shape, w_data) = args::tensor(OP, "weights", &weights)?;
    let g = DenseGeometry::new(OP, &x_shape, &w_shape)?;
    let bias = args::vector(OP, &options, "bias")?;
    let act = match args::string(OP, &options, "activation")? {
        Some(name) => Activation::from_name(OP, &name)?,
        None => Activation::Linear,
    };
    if let Some(b) = &bias {
        if b.len() != g.units {
            return Err(Error::invalid(
                OP,
                "bias",
                format!("has {} elements, expected {} (one per unit)", b.len(), g.units),
            ));
        }
    }
    let start = now_ms();
    let (y, ran) = run_on(
        OP,
        requested,
        async |gpu| {
            let xt = x_data.on_device(&gpu, OP, "x", &x_shape)?;
            let wt = w_data.on_device(&gpu, OP, "weights", &w_shape)?;
            let bt = match &bias {
                Some(b) => Some(b.on_device(&gpu, OP, "bias", &[b.len()])?),
                None => None,
            };
            from_device(&gpu, gpu.dense(&xt, &wt, bt.as_ref(), act).await?, keep).await
        },
        async || {
            let (x, w) = (x_data.values(OP, "x").await?, w_data.values(OP, "weights").await?);
            let b = match &bias {
                Some(b) => Some(b.values(OP, "bias").await?),
                None => None,
            };
            let mut y = cpu::dense(&g, x, w, b)?;
            cpu::activation_in_place(act, &mut y, g.units)?;
            Ok(OpData::Host(y))
        },
    )
    .await?;
    finish(&[g.batch, g.units], y, ran, start, keep)
}

/// `y = activation(x W + b)`: `x` `[n, in]`, `weights` `[in, units]` (Keras's kernel layout).
#[wasm_bindgen(unchecked_return_type = "OpResult")]
pub async fn dense(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Tensor")] weights: JsValue,
    #[wasm_bindgen(unchecked_param_type = "DenseOptions | undefined")] options: JsValue,
) -> std::result::Result<JsValue, JsError> {
    dense_op(x, weights, options).await.map_err(js_error)
}

async fn depth_max_pool_op(x: JsValue, options: JsValue) -> Result<JsValue> {
    const OP: &str = "depthMaxPool";
    let options = args::options(OP, &options, &["poolSize", "strides", "backend", "keep"])?;
    let keep = args::keep(OP, &options)?;
    let requested = args::backend(OP, &options)?;
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
    let (y, ran) = run_on(
        OP,
        requested,
        async |gpu| {
            let xt = data.on_device(&gpu, OP, "x", &shape)?;
            from_device(&gpu, gpu.depth_max_pool(&xt, k).await?, keep).await
        },
        async || Ok(OpData::Host(cpu::depth_max_pool(data.values(OP, "x").await?, c, k)?)),
    )
    .await?;
    let mut out_shape = shape.clone();
    *out_shape.last_mut().unwrap_or(&mut 0) = c / k;
    finish(&out_shape, y, ran, start, keep)
}

/// Depthwise (channel) max pooling, the seed's `tf.nn.max_pool(ksize=(1,1,1,k), strides=(1,1,1,k))`.
#[wasm_bindgen(js_name = depthMaxPool, unchecked_return_type = "OpResult")]
pub async fn depth_max_pool(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(
        unchecked_param_type = "{poolSize: number, strides?: number, backend?: BackendName | \"auto\"}"
    )]
    options: JsValue,
) -> std::result::Result<JsValue, JsError> {
    depth_max_pool_op(x, options).await.map_err(js_error)
}

async fn batch_norm_op(x: JsValue, options: JsValue) -> Result<JsValue> {
    const OP: &str = "batchNorm";
    let options = args::options(
        OP,
        &options,
        &["mean", "variance", "gamma", "beta", "epsilon", "backend", "keep"],
    )?;
    let keep = args::keep(OP, &options)?;
    let requested = args::backend(OP, &options)?;
    let (shape, data) = args::tensor(OP, "x", &x)?;
    let c = *shape.last().ok_or_else(|| Error::invalid(OP, "x", "shape [] has no channels"))?;
    let required = async |key: &str| {
        args::vector(OP, &options, key)?
            .ok_or_else(|| Error::invalid(OP, key, "is required (one value per channel)"))?
            .into_vec(OP, key)
            .await
    };
    let optional = async |key: &str| match args::vector(OP, &options, key)? {
        Some(v) => v.into_vec(OP, key).await.map(Some),
        None => Ok(None),
    };
    let (mean, variance) = (required("mean").await?, required("variance").await?);
    if let Some((i, v)) = variance.iter().enumerate().find(|(_, v)| v.is_nan() || **v < 0.0) {
        return Err(Error::invalid(
            OP,
            "variance",
            format!("element {i} is {v}; a variance is >= 0"),
        ));
    }
    let gamma = optional("gamma").await?.unwrap_or_else(|| vec![1.0; c]);
    let beta = optional("beta").await?.unwrap_or_else(|| vec![0.0; c]);
    let epsilon = args::optional_number(OP, &options, "epsilon")?.unwrap_or(1e-3);
    crate::ops::norm::BatchNormParams { epsilon, momentum: 0.99 }.validate(OP)?;
    crate::ops::norm::check_channels(
        OP,
        data.len(),
        c,
        &[
            ("gamma", gamma.len()),
            ("beta", beta.len()),
            ("mean", mean.len()),
            ("variance", variance.len()),
        ],
    )?;
    let start = now_ms();
    let (y, ran) = run_on(
        OP,
        requested,
        async |gpu| {
            let xt = data.on_device(&gpu, OP, "x", &shape)?;
            let v = |arg: &str, d: &[f32]| gpu.upload(OP, arg, &[c], d);
            let (g, b) = (v("gamma", &gamma)?, v("beta", &beta)?);
            let (m, var) = (v("mean", &mean)?, v("variance", &variance)?);
            from_device(&gpu, gpu.batch_norm(&xt, &g, &b, &m, &var, epsilon).await?, keep).await
        },
        async || {
            let x = data.values(OP, "x").await?;
            Ok(OpData::Host(cpu::batch_norm(x, c, &gamma, &beta, &mean, &variance, epsilon)?))
        },
    )
    .await?;
    finish(&shape, y, ran, start, keep)
}

/// Batch normalization at inference: `gamma * (x - mean) / sqrt(variance + epsilon) + beta`
/// over the last axis (gamma defaults to 1, beta to 0, epsilon to Keras's 1e-3).
#[wasm_bindgen(js_name = batchNorm, unchecked_return_type = "OpResult")]
pub async fn batch_norm(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "BatchNormOptions")] options: JsValue,
) -> std::result::Result<JsValue, JsError> {
    batch_norm_op(x, options).await.map_err(js_error)
}

async fn lrn_op(x: JsValue, options: JsValue) -> Result<JsValue> {
    const OP: &str = "localResponseNormalization";
    let options =
        args::options(OP, &options, &["depthRadius", "bias", "alpha", "beta", "backend", "keep"])?;
    let keep = args::keep(OP, &options)?;
    let requested = args::backend(OP, &options)?;
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
    p.validate(OP)?;
    let start = now_ms();
    let (y, ran) = run_on(
        OP,
        requested,
        async |gpu| {
            let xt = data.on_device(&gpu, OP, "x", &shape)?;
            from_device(&gpu, gpu.lrn(&xt, &p).await?, keep).await
        },
        async || Ok(OpData::Host(cpu::lrn(data.values(OP, "x").await?, c, &p)?)),
    )
    .await?;
    finish(&shape, y, ran, start, keep)
}

/// `tf.nn.local_response_normalization` over the last axis (the chapter's equation 14-2).
#[wasm_bindgen(js_name = localResponseNormalization, unchecked_return_type = "OpResult")]
pub async fn local_response_normalization(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "LrnOptions | undefined")] options: JsValue,
) -> std::result::Result<JsValue, JsError> {
    lrn_op(x, options).await.map_err(js_error)
}
