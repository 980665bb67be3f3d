//! The convolution family of the JavaScript API: `conv2d` (grouped too), `depthwiseConv2d`,
//! `separableConv2d`, with an optional bias and fused activation, on either backend through
//! [`run_on`]; and the CPU pool's pieces (`conv2dShape`, `conv2dRows`, `conv2dRowsInto`). On
//! WebGPU a chain of convolutions (separable's two) and its epilogue stay on the device, and
//! so does the result when it is kept.

use js_sys::{Float32Array, Object};
use wasm_bindgen::prelude::*;

use super::args::{self, TensorData};
use super::{copy_into, from_device, js_error, now_ms, numbers, op_output, run_on, set, OpData};
use crate::backend::cpu::{self, CpuKernel};
use crate::backend::BackendKind;
use crate::error::Error;
use crate::ops::activation::Activation;
use crate::ops::conv::{Conv2dGeometry, Conv2dParams};

/// One convolution of a chain (separableConv2d has two): its geometry, its filters (and their
/// argument's name) and its optional bias and activation.
struct ConvStage<'a> {
    g: &'a Conv2dGeometry,
    filters: &'a TensorData,
    arg: &'static str,
    epilogue: Option<&'a Epilogue>,
}

/// Validated convolutions, each feeding the next, with their optional bias and activation, on
/// the requested (or active) backend (see [`run_on`]). On the GPU everything stays on the
/// device (the bias and activation as one more kernel) and the result is read back unless it
/// is kept; on the CPU the bias and activation are a pass over the output.
async fn run_convs(
    op: &str,
    x: &TensorData,
    stages: &[ConvStage<'_>],
    requested: Option<BackendKind>,
    keep: bool,
) -> Result<(OpData, BackendKind), Error> {
    let first = stages.first().ok_or_else(|| Error::invalid(op, "filters", "no convolution"))?;
    run_on(
        op,
        requested,
        async |gpu| {
            let mut y = x.on_device(&gpu, op, "x", &first.g.input_shape())?;
            for s in stages {
                let wt = s.filters.on_device(&gpu, op, s.arg, &s.g.filter_shape())?;
                y = gpu.conv2d_tensors(s.g, &y, &wt).await?;
                if let Some((bias, act)) = s.epilogue {
                    let bt = match bias {
                        Some(b) => Some(b.on_device(&gpu, op, "bias", &[b.len()])?),
                        None => None,
                    };
                    y = gpu.activation(*act, &y, bt.as_ref()).await?;
                }
            }
            from_device(&gpu, y, keep).await
        },
        async || {
            let mut y: Option<Vec<f32>> = None;
            for s in stages {
                let input = match &y {
                    Some(v) => v.as_slice(),
                    None => x.values(op, "x").await?,
                };
                let filters = s.filters.values(op, s.arg).await?;
                let mut out = cpu::conv2d(s.g, input, filters, CpuKernel::Auto)?;
                if let Some((bias, act)) = s.epilogue {
                    if let Some(b) = bias {
                        cpu::add_bias(&mut out, b.values(op, "bias").await?)?;
                    }
                    cpu::activation_in_place(*act, &mut out, s.g.out_c)?;
                }
                y = Some(out);
            }
            Ok(OpData::Host(y.unwrap_or_default()))
        },
    )
    .await
}

/// A conv layer's optional bias (one value per output channel) and activation.
type Epilogue = (Option<TensorData>, Activation);

/// The optional `bias` (one per output channel) and `activation` of a conv layer's options.
fn conv_epilogue(op: &str, options: &JsValue, channels: usize) -> Result<Option<Epilogue>, Error> {
    let bias = args::vector(op, options, "bias")?;
    if let Some(b) = &bias {
        if b.len() != channels {
            return Err(Error::invalid(
                op,
                "bias",
                format!("has {} elements, expected one per output channel ({channels})", b.len()),
            ));
        }
    }
    let act = match args::string(op, options, "activation")? {
        Some(name) => Some(Activation::from_name(op, &name)?),
        None => None,
    };
    Ok(match (bias, act) {
        (None, None) => None,
        (bias, act) => Some((bias, act.unwrap_or(Activation::Linear))),
    })
}

fn conv_params(op: &str, options: &JsValue, groups: usize) -> Result<Conv2dParams, Error> {
    Ok(Conv2dParams {
        strides: args::pair(op, options, "strides")?,
        dilations: args::pair(op, options, "dilations")?,
        padding: args::padding(op, options)?,
        groups,
    })
}

/// conv2d's options object, checked, and its hyper-parameters.
fn conv2d_options(options: &JsValue) -> Result<(JsValue, Conv2dParams), Error> {
    const OP: &str = "conv2d";
    let allowed =
        ["strides", "padding", "dilations", "groups", "bias", "activation", "backend", "keep"];
    let options = args::options(OP, options, &allowed)?;
    let groups = args::optional_integer(OP, &options, "groups", 1)?.unwrap_or(1);
    let params = conv_params(OP, &options, groups)?;
    Ok((options, params))
}

/// `tf.nn.conv2d(x, filters, strides, padding, dilations)` on NHWC/HWIO tensors, with Keras's
/// `groups`, an optional per-filter bias and an optional fused activation.
#[wasm_bindgen(unchecked_return_type = "OpResult")]
pub async fn conv2d(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Tensor")] filters: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Conv2dOptions | undefined")] options: JsValue,
) -> Result<JsValue, JsError> {
    conv2d_op(x, filters, options).await.map_err(js_error)
}

async fn conv2d_op(x: JsValue, filters: JsValue, options: JsValue) -> Result<JsValue, Error> {
    const OP: &str = "conv2d";
    let (options, params) = conv2d_options(&options)?;
    conv_family(OP, x, filters, options, |x, f| Conv2dGeometry::new(OP, x, f, &params)).await
}

/// The shared body of conv2d and depthwiseConv2d: read the tensors, build the geometry, run it
/// on a backend, add the bias and the activation.
async fn conv_family(
    op: &str,
    x: JsValue,
    filters: JsValue,
    options: JsValue,
    geometry: impl FnOnce(&[usize], &[usize]) -> Result<Conv2dGeometry, Error>,
) -> Result<JsValue, Error> {
    let requested = args::backend(op, &options)?;
    let (x_shape, x_data) = args::tensor(op, "x", &x)?;
    let (f_shape, f_data) = args::tensor(op, "filters", &filters)?;
    let g = geometry(&x_shape, &f_shape)?;
    let epilogue = conv_epilogue(op, &options, g.out_c)?;
    let keep = args::keep(op, &options)?;
    let start = now_ms();
    let stage = ConvStage { g: &g, filters: &f_data, arg: "filters", epilogue: epilogue.as_ref() };
    let (data, ran_on) = run_convs(op, &x_data, &[stage], requested, keep).await?;
    op_output(&g.output_shape(), data, ran_on, now_ms() - start, keep)
}

/// `tf.nn.depthwise_conv2d`: filters `[fh, fw, in, multiplier]`, `in * multiplier` outputs.
#[wasm_bindgen(js_name = depthwiseConv2d, unchecked_return_type = "OpResult")]
pub async fn depthwise_conv2d(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Tensor")] filters: JsValue,
    #[wasm_bindgen(unchecked_param_type = "DepthwiseOptions | undefined")] options: JsValue,
) -> Result<JsValue, JsError> {
    depthwise_op(x, filters, options).await.map_err(js_error)
}

async fn depthwise_op(x: JsValue, filters: JsValue, options: JsValue) -> Result<JsValue, Error> {
    const OP: &str = "depthwiseConv2d";
    let allowed = ["strides", "padding", "dilations", "bias", "activation", "backend", "keep"];
    let options = args::options(OP, &options, &allowed)?;
    let params = conv_params(OP, &options, 1)?;
    conv_family(OP, x, filters, options, |x, f| Conv2dGeometry::depthwise(OP, x, f, &params)).await
}

/// Xception's separable convolution: a depthwise convolution, then a 1x1 pointwise one
/// (`pointwiseFilters` `[1, 1, in * multiplier, out]`), then the optional bias and activation.
#[wasm_bindgen(js_name = separableConv2d, unchecked_return_type = "OpResult")]
pub async fn separable_conv2d(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Tensor")] depthwise_filters: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Tensor")] pointwise_filters: JsValue,
    #[wasm_bindgen(unchecked_param_type = "DepthwiseOptions | undefined")] options: JsValue,
) -> Result<JsValue, JsError> {
    separable_op(x, depthwise_filters, pointwise_filters, options).await.map_err(js_error)
}

async fn separable_op(
    x: JsValue,
    dw: JsValue,
    pw: JsValue,
    options: JsValue,
) -> Result<JsValue, Error> {
    const OP: &str = "separableConv2d";
    let allowed = ["strides", "padding", "dilations", "bias", "activation", "backend", "keep"];
    let options = args::options(OP, &options, &allowed)?;
    let params = conv_params(OP, &options, 1)?;
    let requested = args::backend(OP, &options)?;
    let (x_shape, x_data) = args::tensor(OP, "x", &x)?;
    let (d_shape, d_data) = args::tensor(OP, "depthwiseFilters", &dw)?;
    let (p_shape, p_data) = args::tensor(OP, "pointwiseFilters", &pw)?;
    let depthwise = Conv2dGeometry::depthwise(OP, &x_shape, &d_shape, &params).map_err(|e| {
        Error::invalid(
            OP,
            "depthwiseFilters",
            e.message().split("': ").nth(1).unwrap_or(e.message()),
        )
    })?;
    if p_shape.len() != 4 || p_shape[0] != 1 || p_shape[1] != 1 || p_shape[2] != depthwise.out_c {
        return Err(Error::invalid(
            OP,
            "pointwiseFilters",
            format!(
                "expected shape [1, 1, {}, out] (in * multiplier inputs), got {p_shape:?}",
                depthwise.out_c
            ),
        ));
    }
    let pointwise =
        Conv2dGeometry::new(OP, &depthwise.output_shape(), &p_shape, &Conv2dParams::default())?;
    let epilogue = conv_epilogue(OP, &options, pointwise.out_c)?;
    let keep = args::keep(OP, &options)?;
    let start = now_ms();
    let stages = [
        ConvStage { g: &depthwise, filters: &d_data, arg: "depthwiseFilters", epilogue: None },
        ConvStage {
            g: &pointwise,
            filters: &p_data,
            arg: "pointwiseFilters",
            epilogue: epilogue.as_ref(),
        },
    ];
    let (data, ran_on) = run_convs(OP, &x_data, &stages, requested, keep).await?;
    op_output(&pointwise.output_shape(), data, ran_on, now_ms() - start, keep)
}

/// The output shape of `conv2d(x, filters, options)` for the given shapes, or the error the
/// call would reject with. Lets callers (the worker pool, the editor) plan without data.
#[wasm_bindgen(js_name = conv2dShape, unchecked_return_type = "number[]")]
pub fn conv2d_shape(
    #[wasm_bindgen(unchecked_param_type = "number[]")] x_shape: JsValue,
    #[wasm_bindgen(unchecked_param_type = "number[]")] filter_shape: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Conv2dOptions | undefined")] options: JsValue,
) -> Result<JsValue, JsError> {
    const OP: &str = "conv2d";
    let shape_of = |arg: &str, v: &JsValue| -> Result<Vec<usize>, Error> {
        let probe = Object::new();
        set(&probe, "shape", v.clone());
        set(&probe, "data", Float32Array::new_with_length(0));
        args::shape(OP, arg, &probe.into())
    };
    let run = || -> Result<JsValue, Error> {
        let allowed =
            ["strides", "padding", "dilations", "groups", "bias", "activation", "backend", "keep"];
        let options = args::options(OP, &options, &allowed)?;
        let groups = args::optional_integer(OP, &options, "groups", 1)?.unwrap_or(1);
        let params = conv_params(OP, &options, groups)?;
        let g = Conv2dGeometry::new(
            OP,
            &shape_of("x", &x_shape)?,
            &shape_of("filters", &filter_shape)?,
            &params,
        )?;
        Ok(numbers(&g.output_shape()).into())
    };
    run().map_err(js_error)
}

/// Output rows `first..end` (of the `n * oh` rows) of `conv2d` on the CPU, with the bias and
/// activation: one share of a convolution split across the pool. Returns
/// `{shape: [rows, ow, cout], data, backend: "cpu", ms}` (with `keep: true`, kept).
#[doc(hidden)]
#[wasm_bindgen(js_name = conv2dRows, unchecked_return_type = "OpResult")]
pub fn conv2d_rows(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Tensor")] filters: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Conv2dOptions | undefined")] options: JsValue,
    first: u32,
    end: u32,
) -> Result<JsValue, JsError> {
    let (g, data, ms) = rows_of_conv2d(&x, &filters, &options, first, end).map_err(js_error)?;
    let keep = args::keep("conv2d", &options).map_err(js_error)?;
    let rows = end.saturating_sub(first) as usize;
    op_output(&[rows, g.out_w, g.out_c], OpData::Host(data), BackendKind::Cpu, ms, keep)
        .map_err(js_error)
}

/// [`conv2d_rows`] written into `out` from element `offset` on (the pool's share of this
/// thread: one copy into the caller's output instead of a new array and a second copy).
/// Returns the milliseconds the core took.
#[doc(hidden)]
#[wasm_bindgen(js_name = conv2dRowsInto)]
pub fn conv2d_rows_into(
    #[wasm_bindgen(unchecked_param_type = "Tensor")] x: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Tensor")] filters: JsValue,
    #[wasm_bindgen(unchecked_param_type = "Conv2dOptions | undefined")] options: JsValue,
    first: u32,
    end: u32,
    out: &Float32Array,
    offset: u32,
) -> Result<f64, JsError> {
    let (_, data, ms) = rows_of_conv2d(&x, &filters, &options, first, end).map_err(js_error)?;
    copy_into("conv2d", &data, out, offset).map_err(js_error)?;
    Ok(ms)
}

/// The shared body of [`conv2d_rows`] and [`conv2d_rows_into`]: the geometry, the rows'
/// values and the core's milliseconds.
fn rows_of_conv2d(
    x: &JsValue,
    filters: &JsValue,
    options: &JsValue,
    first: u32,
    end: u32,
) -> Result<(Conv2dGeometry, Vec<f32>, f64), Error> {
    const OP: &str = "conv2d";
    // `keep` is accepted and left to the caller (the pool keeps the joined result).
    let allowed =
        ["strides", "padding", "dilations", "groups", "bias", "activation", "backend", "keep"];
    let options = args::options(OP, options, &allowed)?;
    let groups = args::optional_integer(OP, &options, "groups", 1)?.unwrap_or(1);
    let params = conv_params(OP, &options, groups)?;
    let (x_shape, x_data) = args::tensor(OP, "x", x)?;
    let (f_shape, f_data) = args::tensor(OP, "filters", filters)?;
    let g = Conv2dGeometry::new(OP, &x_shape, &f_shape, &params)?;
    let start = now_ms();
    let rows = first as usize..end as usize;
    let epilogue = conv_epilogue(OP, &options, g.out_c)?;
    // Synchronous: a kept input that lives only on the device must have been read back first
    // (the pool calls `ensureOnCpu`).
    let (x_data, f_data) = (x_data.host(OP, "x")?, f_data.host(OP, "filters")?);
    let mut data = cpu::conv2d_rows(&g, x_data, f_data, CpuKernel::Auto, rows)?;
    if let Some((bias, act)) = &epilogue {
        if let Some(b) = bias {
            cpu::add_bias(&mut data, b.host(OP, "bias")?)?;
        }
        cpu::activation_in_place(*act, &mut data, g.out_c)?;
    }
    Ok((g, data, now_ms() - start))
}
