//! Inference on WebGPU: the model's weights are uploaded once ([`GpuWeights`]) and every
//! layer's output stays on the device; only the output and the layers the caller keeps (feature
//! maps) are read back. Same plan as [`super::forward`]: only needed layers run, and a device
//! tensor returns to the buffer pool when its last reader has run.
//!
//! Two layers are compositions of existing kernels rather than kernels of their own:
//! - a separable convolution is the depthwise kernel then the 1x1 GEMM;
//! - LeNet-5's RBF output `sum_i (x_i - c_iu)^2` is `x.x - 2 x C + c_u.c_u`: a GEMM with
//!   `-2C` and the centres' squared norms as bias, plus the GEMM of `x * x` with ones (the
//!   squares come from the channel-scale kernel with `x` as its own scale). For LeNet's 84
//!   inputs the cancellation costs about 1e-6 relative to `|x|^2`, inside the parity tolerance.

use super::forward::{
    batched, check_input, conv_geometry, depthwise_geometry, plan, pointwise_geometry,
    pool_geometry,
};
use super::layer::Layer;
use super::weights::Weights;
use crate::backend::webgpu::{GpuContext, GpuTensor, PoolKind};
use crate::error::{Error, Result};
use crate::graph::{Model, Node};
use crate::ops::activation::Activation;
use crate::tensor::{Padding, Tensor};

/// A model's parameters on the device, in the form each layer's kernels take.
pub struct GpuWeights {
    pub(crate) values: Vec<Vec<GpuTensor>>,
}

impl GpuWeights {
    /// Uploads `weights` of `model` (depthwise kernels as grouped `[kh, kw, 1, c*m]`, batch
    /// norm always as gamma, beta, mean, variance, RBF as `-2C`, `|c_u|^2` and ones).
    pub fn upload(ctx: &GpuContext, model: &Model, weights: &Weights) -> Result<Self> {
        let mut values = Vec::with_capacity(model.nodes().len());
        for (node, params) in model.nodes().iter().zip(&weights.values) {
            values.push(upload_node(ctx, node, params)?);
        }
        Ok(Self { values })
    }
}

fn upload_node(ctx: &GpuContext, node: &Node, params: &[Vec<f32>]) -> Result<Vec<GpuTensor>> {
    let op = node.name.as_str();
    let up = |data: &[f32], shape: &[usize]| ctx.upload(op, "weights", shape, data);
    let as_is = |i: usize| up(&params[i], &node.params[i].shape);
    Ok(match &node.layer {
        Layer::DepthwiseConv2D(_) | Layer::SeparableConv2D(_) => {
            let s = &node.params[0].shape;
            let mut out = vec![up(&params[0], &[s[0], s[1], 1, s[2] * s[3]])?];
            for i in 1..params.len() {
                out.push(as_is(i)?);
            }
            out
        }
        Layer::BatchNormalization { center, scale, .. } => {
            let c = node.params.last().map_or(0, |p| p.shape[0]);
            let (ones, zeros) = (vec![1.0f32; c], vec![0.0f32; c]);
            let mut k = 0;
            let mut next = |present: bool, default: &[f32]| {
                if present {
                    k += 1;
                    up(&params[k - 1], &[c])
                } else {
                    up(default, &[c])
                }
            };
            let gamma = next(*scale, &ones)?;
            let beta = next(*center, &zeros)?;
            vec![gamma, beta, up(&params[k], &[c])?, up(&params[k + 1], &[c])?]
        }
        Layer::Rbf { units } => {
            let (inputs, units) = (node.params[0].shape[0], *units);
            let c = &params[0];
            let minus_two: Vec<f32> = c.iter().map(|v| -2.0 * v).collect();
            let mut norms = vec![0.0f32; units];
            for row in c.chunks_exact(units) {
                for (n, v) in norms.iter_mut().zip(row) {
                    *n += v * v;
                }
            }
            vec![
                up(&minus_two, &[inputs, units])?,
                up(&norms, &[units])?,
                up(&vec![1.0; inputs * units], &[inputs, units])?,
            ]
        }
        _ => (0..params.len()).map(as_is).collect::<Result<_>>()?,
    })
}

/// Runs the model on `x` on the device; returns the output and each kept layer's output.
pub async fn forward_gpu(
    ctx: &GpuContext,
    model: &Model,
    weights: &GpuWeights,
    x: &Tensor,
    keep: &[usize],
) -> Result<(Tensor, Vec<Tensor>)> {
    let batch = check_input(model, x.shape())?;
    let nodes = model.nodes();
    let mut targets = keep.to_vec();
    targets.push(model.output());
    let (needed, mut readers) = plan(model, &targets);
    let mut values: Vec<Option<GpuTensor>> = (0..nodes.len()).map(|_| None).collect();
    for (i, node) in nodes.iter().enumerate() {
        if !needed[i] {
            continue;
        }
        let y = if i == 0 {
            ctx.upload("predict", "x", x.shape(), x.data())?
        } else {
            let inputs: Vec<&GpuTensor> = node
                .inputs
                .iter()
                .map(|&j| {
                    values[j]
                        .as_ref()
                        .ok_or_else(|| Error::backend("forward plan: an input was freed early"))
                })
                .collect::<Result<_>>()?;
            run_layer(ctx, node, &weights.values[i], batch, &inputs).await?
        };
        values[i] = Some(y);
        for &j in &node.inputs {
            readers[j] -= 1;
            if readers[j] == 0 && !targets.contains(&j) {
                values[j] = None;
            }
        }
    }
    let mut read = |i: usize| {
        let t = values[i].take();
        async move {
            let t =
                t.ok_or_else(|| Error::invalid("predict", "plan", "an output was not computed"))?;
            let data = ctx.read(&t).await?;
            Tensor::new("predict", &nodes[i].name, batched(batch, &nodes[i].output_shape), data)
        }
    };
    let output = read(model.output()).await?;
    let mut kept: Vec<Tensor> = Vec::with_capacity(keep.len());
    for (n, &k) in keep.iter().enumerate() {
        // A layer asked for twice (or the output) is read back once.
        let earlier = keep[..n].iter().position(|&e| e == k);
        kept.push(match earlier {
            Some(e) => kept[e].clone(),
            None if k == model.output() => output.clone(),
            None => read(k).await?,
        });
    }
    Ok((output, kept))
}

pub(super) async fn run_layer(
    ctx: &GpuContext,
    node: &Node,
    p: &[GpuTensor],
    batch: usize,
    inputs: &[&GpuTensor],
) -> Result<GpuTensor> {
    let op = node.name.as_str();
    let x = inputs[0];
    let xs = x.shape().to_vec();
    let channels = *xs.last().unwrap_or(&1);
    let out_shape = batched(batch, &node.output_shape);
    match &node.layer {
        Layer::Input => ctx.copy_as(op, x, &xs).await,
        Layer::Conv2D(c) => {
            let g = conv_geometry(op, c, &xs)?;
            let y = ctx.conv2d_tensors(&g, x, &p[0]).await?;
            activate(ctx, c.activation, y, c.use_bias.then(|| &p[1])).await
        }
        Layer::DepthwiseConv2D(c) | Layer::SeparableConv2D(c) => {
            let g = depthwise_geometry(op, c, &xs)?;
            let mut y = ctx.conv2d_tensors(&g, x, &p[0]).await?;
            let mut bias_at = 1;
            if let Some(filters) = c.filters {
                let pg = pointwise_geometry(op, &g, filters)?;
                y = ctx.conv2d_tensors(&pg, &y, &p[1]).await?;
                bias_at = 2;
            }
            activate(ctx, c.activation, y, c.use_bias.then(|| &p[bias_at])).await
        }
        Layer::MaxPool2D(pc) | Layer::AvgPool2D(pc) => {
            let g = pool_geometry(op, pc.pool_size, pc.strides, pc.padding, &xs)?;
            let kind = if matches!(node.layer, Layer::MaxPool2D(_)) {
                PoolKind::Max
            } else {
                PoolKind::Avg
            };
            ctx.pool2d(kind, &g, x).await
        }
        Layer::GlobalAvgPool2D => ctx.global_pool(PoolKind::Avg, x).await,
        Layer::GlobalMaxPool2D => ctx.global_pool(PoolKind::Max, x).await,
        Layer::Dense { use_bias, activation, .. } => {
            let rows = x.len() / channels.max(1);
            let flat;
            let x2 = if xs.len() == 2 {
                x
            } else {
                flat = ctx.copy_as(op, x, &[rows, channels]).await?;
                &flat
            };
            let y = ctx.dense(x2, &p[0], use_bias.then(|| &p[1]), *activation).await?;
            y.reshaped(&out_shape)
        }
        Layer::Dropout { .. } | Layer::Flatten => ctx.copy_as(op, x, &out_shape).await,
        Layer::BatchNormalization { epsilon, .. } => {
            ctx.batch_norm(x, &p[0], &p[1], &p[2], &p[3], *epsilon).await
        }
        Layer::Add => {
            let mut y = ctx.add(inputs[0], inputs[1]).await?;
            for other in &inputs[2..] {
                y = ctx.add(&y, other).await?;
            }
            Ok(y)
        }
        Layer::Concatenate => ctx.concat(inputs).await,
        Layer::Activation(a) => ctx.activation(*a, x, None).await,
        Layer::ZeroPadding2D(pads) => ctx.zero_pad(x, *pads).await,
        Layer::Lrn(params) => ctx.lrn(x, params).await,
        Layer::DepthMaxPool2D { pool_size } => ctx.depth_max_pool(x, *pool_size).await,
        Layer::LeNetSubsampling { pool_size, activation } => {
            let g = pool_geometry(op, *pool_size, *pool_size, Padding::Valid, &xs)?;
            let y = ctx.subsample(&g, x, &p[0], &p[1]).await?;
            activate(ctx, *activation, y, None).await
        }
        Layer::SeScale => ctx.channel_scale(x, inputs[1]).await,
        Layer::Rbf { .. } => {
            let cross = ctx.dense(x, &p[0], Some(&p[1]), Activation::Linear).await?;
            let as_rows = ctx.copy_as(op, x, &[batch, 1, channels]).await?;
            let squares = ctx.channel_scale(&as_rows, x).await?.reshaped(&[batch, channels])?;
            let norms = ctx.dense(&squares, &p[2], None, Activation::Linear).await?;
            ctx.add(&cross, &norms).await
        }
    }
}

/// `a(y + bias)`, skipped when it would change nothing.
async fn activate(
    ctx: &GpuContext,
    a: Activation,
    y: GpuTensor,
    bias: Option<&GpuTensor>,
) -> Result<GpuTensor> {
    if a == Activation::Linear && bias.is_none() {
        Ok(y)
    } else {
        ctx.activation(a, &y, bias).await
    }
}
