//! Training on WebGPU: the CPU path's tape and graph backward ([`super::backward`]) with every
//! tensor on the device. The forward pass keeps each layer's output, the pre-activation of
//! layers with a fused activation, batch statistics, dropout masks and a separable
//! convolution's depthwise output; the backward pass visits the layers in reverse order and
//! sums the gradient of each output over its readers, as on the CPU.
//!
//! Only the logits travel to the CPU (a batch x classes read-back per step): the loss, the
//! accuracy and d loss / d logits come from the same function as on the CPU path
//! ([`super::backward::score_logits`]), and the gradient goes back up. Dropout masks are the
//! CPU path's seeded masks, uploaded, so both paths drop the same units.
//!
//! LeNet-5's RBF output is refused here: its device form (`-2C`, `|c|^2`, ones; see
//! [`super::forward_gpu`]) is built for inference and has no gradient kernel. It trains on the
//! CPU path.

use super::backward::{ending_activation, logits_at, score_logits, seed_at, BatchResult, Seed};
use super::forward::{
    batched, check_input, conv_geometry, depthwise_geometry, nhwc, pointwise_geometry,
    pool_geometry,
};
use super::forward_gpu::{run_layer, GpuWeights};
use super::layer::Layer;
use crate::backend::cpu;
use crate::backend::webgpu::{GpuContext, GpuTensor, PoolKind};
use crate::error::{Error, Result};
use crate::graph::{Model, Node};
use crate::ops::activation::Activation;
use crate::ops::norm::BatchNormParams;
use crate::tensor::{Padding, Tensor};

/// Refuses models the device cannot train (see the module docs).
pub fn check_trainable_on_gpu(model: &Model) -> Result<()> {
    match model.nodes().iter().find(|n| matches!(n.layer, Layer::Rbf { .. })) {
        Some(node) => Err(rbf_refused(node)),
        None => Ok(()),
    }
}

fn rbf_refused(node: &Node) -> Error {
    Error::invalid(
        "train",
        "backend",
        format!(
            "layer '{}' (LeNet-5's RBF output) trains on the CPU path only; \
             use backend \"cpu\" for this model",
            node.name
        ),
    )
}

/// What the backward pass needs from one layer's forward pass, beyond its inputs and output.
enum GpuCache {
    None,
    BatchNorm { mean: GpuTensor, variance: GpuTensor },
    Dropout(GpuTensor),
    Separable(GpuTensor),
}

/// A training forward pass on the device.
pub struct GpuTape {
    batch: usize,
    outputs: Vec<GpuTensor>,
    pre: Vec<Option<GpuTensor>>,
    caches: Vec<GpuCache>,
    /// Batch norm's new moving statistics `(node, mean, variance)`, installed by
    /// [`GpuTape::commit_moving`] once the step is known to be good.
    moving: Vec<(usize, GpuTensor, GpuTensor)>,
}

impl GpuTape {
    /// The output of node `node` in this pass (for tests and inspection).
    pub fn output(&self, node: usize) -> Option<&GpuTensor> {
        self.outputs.get(node)
    }

    /// Installs the moving statistics the forward pass computed into `weights`.
    pub fn commit_moving(&mut self, weights: &mut GpuWeights) {
        for (i, mean, variance) in self.moving.drain(..) {
            weights.values[i][2] = mean;
            weights.values[i][3] = variance;
        }
    }
}

/// A training-mode forward pass of `x` (uploaded here). `seed` mixes into dropout masks as on
/// the CPU path.
pub async fn forward_train_gpu(
    ctx: &GpuContext,
    model: &Model,
    weights: &GpuWeights,
    x: &Tensor,
    seed: u64,
) -> Result<GpuTape> {
    let batch = check_input(model, x.shape())?;
    let nodes = model.nodes();
    let mut tape = GpuTape {
        batch,
        outputs: Vec::with_capacity(nodes.len()),
        pre: Vec::with_capacity(nodes.len()),
        caches: Vec::with_capacity(nodes.len()),
        moving: Vec::new(),
    };
    for (i, node) in nodes.iter().enumerate() {
        if i == 0 {
            tape.outputs.push(ctx.upload("train", "x", x.shape(), x.data())?);
            tape.pre.push(None);
            tape.caches.push(GpuCache::None);
            continue;
        }
        let inputs: Vec<&GpuTensor> = node.inputs.iter().map(|&j| &tape.outputs[j]).collect();
        let p = &weights.values[i];
        let (z, activation, cache) = train_layer(ctx, node, p, batch, &inputs, seed, i).await?;
        let (z, activation, cache) = match (z, cache) {
            (Out::Done(y), cache) => {
                tape.outputs.push(y);
                tape.pre.push(None);
                tape.caches.push(cache);
                continue;
            }
            (Out::Bn(t), _) => {
                let t = *t;
                tape.moving.push((i, t.moving_mean, t.moving_variance));
                (
                    t.y,
                    Activation::Linear,
                    GpuCache::BatchNorm { mean: t.mean, variance: t.variance },
                )
            }
            (Out::Pre(z), cache) => (z, activation, cache),
        };
        if activation == Activation::Linear {
            tape.outputs.push(z);
            tape.pre.push(None);
        } else {
            let y = ctx.activation(activation, &z, None).await?;
            tape.outputs.push(y);
            tape.pre.push(Some(z));
        }
        tape.caches.push(cache);
    }
    Ok(tape)
}

/// A layer's result in the training forward pass.
enum Out {
    /// The output (no fused activation to keep apart).
    Done(GpuTensor),
    /// The pre-activation (with bias); the activation is applied by the caller.
    Pre(GpuTensor),
    /// Batch norm's output and statistics.
    Bn(Box<crate::backend::webgpu::GpuBatchNormTraining>),
}

async fn train_layer(
    ctx: &GpuContext,
    node: &Node,
    p: &[GpuTensor],
    batch: usize,
    inputs: &[&GpuTensor],
    seed: u64,
    index: usize,
) -> Result<(Out, Activation, GpuCache)> {
    let op = node.name.as_str();
    let x = inputs[0];
    let xs = x.shape().to_vec();
    Ok(match &node.layer {
        Layer::Conv2D(c) => {
            let g = conv_geometry(op, c, &xs)?;
            let y = ctx.conv2d_tensors(&g, x, &p[0]).await?;
            (
                Out::Pre(with_bias(ctx, y, c.use_bias.then(|| &p[1])).await?),
                c.activation,
                GpuCache::None,
            )
        }
        Layer::DepthwiseConv2D(c) | Layer::SeparableConv2D(c) => {
            let g = depthwise_geometry(op, c, &xs)?;
            let y = ctx.conv2d_tensors(&g, x, &p[0]).await?;
            let (y, cache, bias_at) = match c.filters {
                Some(filters) => {
                    let pg = pointwise_geometry(op, &g, filters)?;
                    let z = ctx.conv2d_tensors(&pg, &y, &p[1]).await?;
                    (z, GpuCache::Separable(y), 2)
                }
                None => (y, GpuCache::None, 1),
            };
            (
                Out::Pre(with_bias(ctx, y, c.use_bias.then(|| &p[bias_at])).await?),
                c.activation,
                cache,
            )
        }
        Layer::Dense { use_bias, activation, .. } => {
            let channels = *xs.last().unwrap_or(&1);
            let rows = x.len() / channels.max(1);
            let x2 = ctx.copy_as(op, x, &[rows, channels]).await?;
            let y = ctx.dense(&x2, &p[0], use_bias.then(|| &p[1]), Activation::Linear).await?;
            (
                Out::Pre(y.reshaped(&batched(batch, &node.output_shape))?),
                *activation,
                GpuCache::None,
            )
        }
        Layer::LeNetSubsampling { pool_size, activation } => {
            let g = pool_geometry(op, *pool_size, *pool_size, Padding::Valid, &xs)?;
            (Out::Pre(ctx.subsample(&g, x, &p[0], &p[1]).await?), *activation, GpuCache::None)
        }
        Layer::Dropout { rate, seed: layer_seed } => {
            let mixed =
                layer_seed.unwrap_or(0) ^ seed ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let keep = cpu::dropout_mask(x.len(), *rate, mixed)?;
            let mask: Vec<f32> = keep.iter().map(|&k| if k { 1.0 } else { 0.0 }).collect();
            let mask = ctx.upload(op, "mask", &xs, &mask)?;
            let y = ctx.dropout(x, &mask, *rate).await?;
            (Out::Done(y), Activation::Linear, GpuCache::Dropout(mask))
        }
        Layer::BatchNormalization { epsilon, momentum, .. } => {
            let bn = BatchNormParams { epsilon: *epsilon, momentum: *momentum };
            let t = ctx.batch_norm_training(x, &p[0], &p[1], &bn, &p[2], &p[3]).await?;
            (Out::Bn(Box::new(t)), Activation::Linear, GpuCache::None)
        }
        Layer::Activation(a) => {
            // Kept as the CPU path keeps it: the output, differentiated from the input.
            (Out::Done(ctx.activation(*a, x, None).await?), Activation::Linear, GpuCache::None)
        }
        Layer::Rbf { .. } => return Err(rbf_refused(node)),
        _ => (
            Out::Done(run_layer(ctx, node, p, batch, inputs).await?),
            Activation::Linear,
            GpuCache::None,
        ),
    })
}

/// `y + bias` (the pre-activation the backward pass needs), or `y` itself without a bias.
async fn with_bias(ctx: &GpuContext, y: GpuTensor, bias: Option<&GpuTensor>) -> Result<GpuTensor> {
    match bias {
        Some(b) => ctx.activation(Activation::Linear, &y, Some(b)).await,
        None => Ok(y),
    }
}

/// The loss of the tape against `labels`, read back as logits; returns the batch's loss and
/// accuracy and the seed of the backward pass on the device.
pub async fn loss_gpu(
    ctx: &GpuContext,
    model: &Model,
    tape: &GpuTape,
    labels: &[u32],
) -> Result<(BatchResult, GpuSeed)> {
    let at = logits_at(model)?;
    let classes = *model.nodes()[model.output()].output_shape.last().unwrap_or(&1);
    let t = match at {
        super::backward::LogitsAt::PreActivation(n) => tape.pre[n].as_ref(),
        super::backward::LogitsAt::Node(n)
        | super::backward::LogitsAt::Output(n)
        | super::backward::LogitsAt::NegatedOutput(n) => Some(&tape.outputs[n]),
    }
    .ok_or_else(|| Error::backend("train: the logits were not kept"))?;
    let mut logits = ctx.read(t).await?;
    if matches!(at, super::backward::LogitsAt::NegatedOutput(_)) {
        logits.iter_mut().for_each(|v| *v = -*v);
    }
    let (result, dlogits) = score_logits(&logits, labels, classes)?;
    let shape = [tape.batch, classes];
    Ok((
        result,
        match seed_at(at, dlogits) {
            Seed::Node { node, grad } => {
                GpuSeed::Node(node, ctx.upload("train", "dlogits", &shape, &grad)?)
            }
            Seed::PreActivation { node, grad } => {
                GpuSeed::PreActivation(node, ctx.upload("train", "dlogits", &shape, &grad)?)
            }
        },
    ))
}

/// [`Seed`] on the device.
pub enum GpuSeed {
    /// The gradient of a node's output.
    Node(usize, GpuTensor),
    /// The gradient of a node's pre-activation.
    PreActivation(usize, GpuTensor),
}

/// Gradients on the device, `[node][param]` in the order of [`Node::params`]; `None` for
/// parameters without a gradient (batch norm's moving statistics).
pub struct GpuGradients {
    /// Per node, per parameter.
    pub values: Vec<Vec<Option<GpuTensor>>>,
}

/// The backward pass on the device. `masks[node]` is a LeNet-5 connection table's mask of
/// the kernel (1 where a filter reads a map), applied to the kernel's gradient.
pub async fn backward_gpu(
    ctx: &GpuContext,
    model: &Model,
    weights: &GpuWeights,
    masks: &[Option<GpuTensor>],
    tape: &GpuTape,
    seed: GpuSeed,
) -> Result<GpuGradients> {
    let nodes = model.nodes();
    let mut dout: Vec<Option<GpuTensor>> = (0..nodes.len()).map(|_| None).collect();
    let mut dpre_seed = None;
    match seed {
        GpuSeed::Node(n, g) => dout[n] = Some(g),
        GpuSeed::PreActivation(n, g) => dpre_seed = Some((n, g)),
    }
    let mut grads: Vec<Vec<Option<GpuTensor>>> =
        nodes.iter().map(|n| n.params.iter().map(|_| None).collect()).collect();
    for i in (1..nodes.len()).rev() {
        let node = &nodes[i];
        let output = &tape.outputs[i];
        let dz = match dpre_seed.take_if(|(n, _)| *n == i) {
            Some((_, g)) => g,
            None => {
                let Some(dy) = dout[i].take() else { continue };
                match (&tape.pre[i], ending_activation(node)) {
                    (Some(z), a) if !matches!(node.layer, Layer::Activation(_)) => {
                        ctx.activation_backward(a, z, output, &dy).await?
                    }
                    _ => dy,
                }
            }
        };
        let inputs: Vec<&GpuTensor> = node.inputs.iter().map(|&j| &tape.outputs[j]).collect();
        let step = LayerStep {
            ctx,
            node,
            p: &weights.values[i],
            mask: masks.get(i).and_then(|m| m.as_ref()),
            cache: &tape.caches[i],
            output,
        };
        let dxs = step.backward(&inputs, dz, &mut grads[i]).await?;
        for (&j, dx) in node.inputs.iter().zip(dxs) {
            dout[j] = Some(match dout[j].take() {
                Some(acc) => ctx.add(&acc, &dx).await?,
                None => dx,
            });
        }
    }
    Ok(GpuGradients { values: grads })
}

struct LayerStep<'a> {
    ctx: &'a GpuContext,
    node: &'a Node,
    p: &'a [GpuTensor],
    mask: Option<&'a GpuTensor>,
    cache: &'a GpuCache,
    output: &'a GpuTensor,
}

impl LayerStep<'_> {
    /// One layer's backward pass (see [`super::backward`]'s `layer_backward`, which this
    /// mirrors): the gradient of each input; parameter gradients go into `grads` (in the
    /// order of the node's parameters, not of the device's forms).
    async fn backward(
        &self,
        inputs: &[&GpuTensor],
        dz: GpuTensor,
        grads: &mut [Option<GpuTensor>],
    ) -> Result<Vec<GpuTensor>> {
        let (ctx, node, p) = (self.ctx, self.node, self.p);
        let op = node.name.as_str();
        let x = inputs[0];
        let xs = x.shape().to_vec();
        let channels = *xs.last().unwrap_or(&1);
        Ok(match &node.layer {
            Layer::Input => vec![],
            Layer::Conv2D(c) => {
                let g = conv_geometry(op, c, &xs)?;
                let (dx, dw) = ctx.conv2d_backward_tensors(&g, x, &p[0], &dz).await?;
                grads[0] = Some(match self.mask {
                    Some(mask) => ctx.dropout(&dw, mask, 0.0).await?,
                    None => dw,
                });
                if c.use_bias {
                    grads[1] = Some(ctx.conv2d_backward_bias(&g, &dz).await?);
                }
                vec![dx]
            }
            Layer::DepthwiseConv2D(c) | Layer::SeparableConv2D(c) => {
                let g = depthwise_geometry(op, c, &xs)?;
                let mut d_mid = None;
                if let (Some(filters), GpuCache::Separable(mid)) = (c.filters, self.cache) {
                    let pg = pointwise_geometry(op, &g, filters)?;
                    let (dm, dpw) = ctx.conv2d_backward_tensors(&pg, mid, &p[1], &dz).await?;
                    grads[1] = Some(dpw);
                    if c.use_bias {
                        grads[2] = Some(ctx.conv2d_backward_bias(&pg, &dz).await?);
                    }
                    d_mid = Some(dm);
                } else if c.use_bias {
                    grads[1] = Some(ctx.conv2d_backward_bias(&g, &dz).await?);
                }
                let d_mid = d_mid.unwrap_or(dz);
                let (dx, ddw) = ctx.conv2d_backward_tensors(&g, x, &p[0], &d_mid).await?;
                // In the device's form of the kernel, [kh, kw, 1, c * m]: the same values in
                // the same order as the layer's [kh, kw, c, m].
                grads[0] = Some(ddw);
                vec![dx]
            }
            Layer::MaxPool2D(pc) | Layer::AvgPool2D(pc) => {
                let g = pool_geometry(op, pc.pool_size, pc.strides, pc.padding, &xs)?;
                let kind = if matches!(node.layer, Layer::MaxPool2D(_)) {
                    PoolKind::Max
                } else {
                    PoolKind::Avg
                };
                vec![ctx.pool2d_backward(kind, &g, x, &dz).await?]
            }
            Layer::GlobalAvgPool2D => vec![ctx.global_pool_backward(PoolKind::Avg, x, &dz).await?],
            Layer::GlobalMaxPool2D => vec![ctx.global_pool_backward(PoolKind::Max, x, &dz).await?],
            Layer::Dense { units, use_bias, .. } => {
                let rows = x.len() / channels.max(1);
                let x2 = ctx.copy_as(op, x, &[rows, channels]).await?;
                let dz = dz.reshaped(&[rows, *units])?;
                let (dx, dw, db) = ctx.dense_backward(&x2, &p[0], &dz).await?;
                grads[0] = Some(dw);
                if *use_bias {
                    grads[1] = Some(db.reshaped(&[*units])?);
                }
                vec![dx.reshaped(&xs)?]
            }
            Layer::Dropout { rate, .. } => match self.cache {
                GpuCache::Dropout(mask) => vec![ctx.dropout(&dz, mask, *rate).await?],
                _ => vec![dz],
            },
            Layer::Flatten => vec![dz.reshaped(&xs)?],
            Layer::BatchNormalization { epsilon, center, scale, .. } => {
                let GpuCache::BatchNorm { mean, variance } = self.cache else {
                    return Err(Error::backend(format!(
                        "layer '{op}': batch statistics missing from the tape"
                    )));
                };
                let (dx, dgamma, dbeta) = ctx
                    .batch_norm_training_backward(x, &p[0], mean, variance, *epsilon, &dz)
                    .await?;
                let mut k = 0;
                if *scale {
                    grads[0] = Some(dgamma);
                    k = 1;
                }
                if *center {
                    grads[k] = Some(dbeta);
                }
                vec![dx]
            }
            Layer::Add => {
                let mut out = Vec::with_capacity(inputs.len());
                for _ in 1..inputs.len() {
                    out.push(ctx.copy_as(op, &dz, dz.shape()).await?);
                }
                out.push(dz);
                out
            }
            Layer::Concatenate => {
                let chans: Vec<usize> =
                    inputs.iter().map(|t| *t.shape().last().unwrap_or(&1)).collect();
                ctx.concat_backward(&dz, &chans).await?
            }
            Layer::Activation(a) => vec![ctx.activation_backward(*a, x, self.output, &dz).await?],
            Layer::ZeroPadding2D(pads) => {
                vec![ctx.zero_pad_backward(&dz, nhwc(&xs)?, *pads).await?]
            }
            Layer::Lrn(params) => vec![ctx.lrn_backward(x, params, &dz).await?],
            Layer::DepthMaxPool2D { pool_size } => {
                vec![ctx.depth_max_pool_backward(x, *pool_size, &dz).await?]
            }
            Layer::LeNetSubsampling { pool_size, .. } => {
                let g = pool_geometry(op, *pool_size, *pool_size, Padding::Valid, &xs)?;
                let (dx, dcoeff, dbias) = ctx.subsample_backward(&g, x, &p[0], &dz).await?;
                grads[0] = Some(dcoeff);
                grads[1] = Some(dbias);
                vec![dx]
            }
            Layer::SeScale => {
                let (dx, ds) = ctx.channel_scale_backward(x, inputs[1], &dz).await?;
                vec![dx, ds.reshaped(inputs[1].shape())?]
            }
            Layer::Rbf { .. } => return Err(rbf_refused(node)),
        })
    }
}
