//! Inference: a model's layers run in topological order on a batch, on the CPU path.
//!
//! Only the layers the requested outputs depend on run, and each intermediate result is freed
//! as soon as its last reader has run (unless the caller asked to keep it, as the feature-map
//! view does), so peak memory is the live frontier of the graph, not every layer at once.
//! Dropout is the identity and batch normalization uses its moving statistics (inference).

use super::layer::Layer;
use super::weights::Weights;
use crate::backend::cpu::{self, CpuKernel};
use crate::error::{Error, Result};
use crate::graph::model::elements;
use crate::graph::{Model, Node};
use crate::ops::activation::Activation;
use crate::ops::conv::{Conv2dGeometry, Conv2dParams};
use crate::ops::dense::DenseGeometry;
use crate::ops::pool::{Pool2dGeometry, Pool2dParams};
use crate::tensor::{Padding, Tensor, MAX_TENSOR_ELEMENTS};

/// The nodes whose values a forward pass to `targets` needs, and how many needed nodes read
/// each one.
pub fn plan(model: &Model, targets: &[usize]) -> (Vec<bool>, Vec<usize>) {
    let nodes = model.nodes();
    let mut needed = vec![false; nodes.len()];
    for &t in targets {
        if t < nodes.len() {
            needed[t] = true;
        }
    }
    for i in (0..nodes.len()).rev() {
        if needed[i] {
            for &j in &nodes[i].inputs {
                needed[j] = true;
            }
        }
    }
    let mut readers = vec![0usize; nodes.len()];
    for (i, n) in nodes.iter().enumerate() {
        if needed[i] {
            for &j in &n.inputs {
                readers[j] += 1;
            }
        }
    }
    (needed, readers)
}

/// Checks that `x` is a batch of the model's input, returning the batch size.
pub fn check_input(model: &Model, shape: &[usize]) -> Result<usize> {
    let want = model.input_shape();
    if shape.len() != want.len() + 1 || shape[1..] != *want || shape[0] == 0 {
        return Err(Error::invalid(
            "predict",
            "x",
            format!(
                "shape {shape:?} is not a batch of the model's input [batch, {}]",
                want.iter().map(usize::to_string).collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    let batch = shape[0];
    // Refused before anything is allocated: the batch's largest layer output must fit the
    // per-tensor cap (a single f32 tensor of 2^28 elements, 1 GiB).
    let largest = model.nodes().iter().max_by_key(|n| elements(&n.output_shape));
    if let Some(node) = largest {
        let per_instance = elements(&node.output_shape).max(1);
        if per_instance.saturating_mul(batch as u64) > MAX_TENSOR_ELEMENTS as u64 {
            return Err(Error::limit(
                "predict",
                "x",
                format!(
                    "a batch of {batch} makes layer '{}' output {} values, over the cap of {} \
                     (1 GiB of f32); use a batch of at most {}",
                    node.name,
                    per_instance.saturating_mul(batch as u64),
                    MAX_TENSOR_ELEMENTS,
                    MAX_TENSOR_ELEMENTS as u64 / per_instance
                ),
            ));
        }
    }
    Ok(batch)
}

/// Runs the model on `x` (`[batch, ...input shape]`) on the CPU. Returns the output and, for
/// each index of `keep`, that layer's output (for feature maps).
pub fn forward_cpu(
    model: &Model,
    weights: &Weights,
    x: &Tensor,
    keep: &[usize],
) -> Result<(Tensor, Vec<Tensor>)> {
    let batch = check_input(model, x.shape())?;
    let nodes = model.nodes();
    let mut targets = keep.to_vec();
    targets.push(model.output());
    let (needed, mut readers) = plan(model, &targets);
    let mut values: Vec<Option<Vec<f32>>> = vec![None; nodes.len()];
    for (i, node) in nodes.iter().enumerate() {
        if !needed[i] {
            continue;
        }
        let y = if i == 0 {
            x.data().to_vec()
        } else {
            let inputs: Vec<(&[f32], Vec<usize>)> = node
                .inputs
                .iter()
                .map(|&j| {
                    (values[j].as_deref().unwrap_or(&[]), batched(batch, &nodes[j].output_shape))
                })
                .collect();
            run_layer(node, &weights.values[i], batch, &inputs)?
        };
        values[i] = Some(y);
        for &j in &node.inputs {
            readers[j] -= 1;
            if readers[j] == 0 && !targets.contains(&j) {
                values[j] = None;
            }
        }
    }
    let take = |i: usize, values: &[Option<Vec<f32>>]| {
        Tensor::new(
            "predict",
            &nodes[i].name,
            batched(batch, &nodes[i].output_shape),
            values[i].clone().unwrap_or_default(),
        )
    };
    let kept = keep.iter().map(|&i| take(i, &values)).collect::<Result<Vec<_>>>()?;
    Ok((take(model.output(), &values)?, kept))
}

/// `[batch, ...shape]`.
pub fn batched(batch: usize, shape: &[usize]) -> Vec<usize> {
    let mut s = Vec::with_capacity(shape.len() + 1);
    s.push(batch);
    s.extend_from_slice(shape);
    s
}

/// `[n, h, w, c]` of a rank-4 shape (the layers that need feature maps get them by shape
/// inference; this only guards the kernels' calls).
pub(crate) fn nhwc(shape: &[usize]) -> Result<[usize; 4]> {
    match shape {
        [n, h, w, c] => Ok([*n, *h, *w, *c]),
        _ => Err(Error::invalid("layer", "x", format!("expected NHWC, got {shape:?}"))),
    }
}

/// What a layer's forward pass leaves for its backward pass (training only).
#[derive(Debug, Clone, Default)]
pub enum Cache {
    /// Nothing beyond the layer's inputs and output.
    #[default]
    None,
    /// Batch norm's batch statistics.
    BatchNorm {
        /// Mean per channel.
        mean: Vec<f32>,
        /// Biased variance per channel.
        variance: Vec<f32>,
    },
    /// Dropout's keep-mask.
    Dropout(Vec<bool>),
    /// A separable convolution's depthwise output (the pointwise step's input).
    Separable(Vec<f32>),
}

/// Training-mode state of a forward pass: batch statistics instead of moving ones (whose
/// moving averages are updated), dropout masks from `seed`.
pub struct Training<'a> {
    /// Seed of this step's dropout masks (each layer mixes in its index).
    pub seed: u64,
    /// Layer index, mixed into the dropout seed.
    pub node: usize,
    /// Batch norm's moving statistics to update: `(moving_mean, moving_variance)`.
    pub moving: Option<(&'a mut [f32], &'a mut [f32])>,
    /// Images of the whole batch before this pass's first (non-zero for a shard of a batch in
    /// data-parallel training: its dropout masks are its slice of the whole batch's).
    pub offset: usize,
}

/// One layer's result before its fused activation: `z`, the activation to apply to it
/// (`Linear` for layers without one) and the cache for the backward pass.
pub struct LayerOut {
    /// The output before the fused activation.
    pub z: Vec<f32>,
    /// The fused activation (Conv2D, the depthwise family, Dense, LeNet subsampling).
    pub activation: Activation,
    /// What the backward pass needs.
    pub cache: Cache,
}

/// One layer on the CPU. `inputs` are the values and batched shapes of what it reads.
fn run_layer(
    node: &Node,
    params: &[Vec<f32>],
    batch: usize,
    inputs: &[(&[f32], Vec<usize>)],
) -> Result<Vec<f32>> {
    let out = layer_core(node, params, batch, inputs, None)?;
    let mut y = out.z;
    if out.activation != Activation::Linear {
        cpu::activation_in_place(out.activation, &mut y, *node.output_shape.last().unwrap_or(&1))?;
    }
    y.shrink_to_fit();
    Ok(y)
}

/// The convolution geometry of a Conv2D layer on input shape `xs`.
pub fn conv_geometry(
    op: &str,
    c: &super::layer::Conv2dConfig,
    xs: &[usize],
) -> Result<Conv2dGeometry> {
    let channels = *xs.last().unwrap_or(&1);
    let p = Conv2dParams {
        strides: c.strides,
        dilations: c.dilation_rate,
        padding: c.padding,
        groups: c.groups,
    };
    Conv2dGeometry::new(
        op,
        xs,
        &[c.kernel_size[0], c.kernel_size[1], channels / c.groups, c.filters],
        &p,
    )
}

/// The depthwise step's geometry (grouped form) of a depthwise or separable layer.
pub fn depthwise_geometry(
    op: &str,
    c: &super::layer::DepthwiseConfig,
    xs: &[usize],
) -> Result<Conv2dGeometry> {
    let channels = *xs.last().unwrap_or(&1);
    let p = Conv2dParams {
        strides: c.strides,
        dilations: c.dilation_rate,
        padding: c.padding,
        groups: 1,
    };
    Conv2dGeometry::depthwise(
        op,
        xs,
        &[c.kernel_size[0], c.kernel_size[1], channels, c.depth_multiplier],
        &p,
    )
}

/// A separable layer's pointwise geometry after the depthwise step `g`.
pub fn pointwise_geometry(op: &str, g: &Conv2dGeometry, filters: usize) -> Result<Conv2dGeometry> {
    let mid = g.output_shape();
    Conv2dGeometry::new(op, &mid, &[1, 1, mid[3], filters], &Conv2dParams::default())
}

/// A pooling layer's geometry.
pub fn pool_geometry(
    op: &str,
    pool_size: [usize; 2],
    strides: [usize; 2],
    padding: Padding,
    xs: &[usize],
) -> Result<Pool2dGeometry> {
    Pool2dGeometry::new(op, xs, &Pool2dParams { pool_size, strides, padding })
}

/// Batch norm's gamma and beta (ones and zeros when the layer has no scale or shift) and the
/// index of its moving mean in `params`.
pub fn bn_affine(
    params: &[Vec<f32>],
    center: bool,
    scale: bool,
    channels: usize,
) -> (Vec<f32>, Vec<f32>, usize) {
    let mut k = 0;
    let gamma = if scale {
        k += 1;
        params[0].clone()
    } else {
        vec![1.0; channels]
    };
    let beta = if center {
        k += 1;
        params[k - 1].clone()
    } else {
        vec![0.0; channels]
    };
    (gamma, beta, k)
}

/// One layer's output before its fused activation, in inference mode (`training` None) or
/// training mode.
pub fn layer_core(
    node: &Node,
    params: &[Vec<f32>],
    batch: usize,
    inputs: &[(&[f32], Vec<usize>)],
    training: Option<Training<'_>>,
) -> Result<LayerOut> {
    let op = node.name.as_str();
    let (x, xs) = (inputs[0].0, inputs[0].1.as_slice());
    let channels = *xs.last().unwrap_or(&1);
    let plain = |z: Vec<f32>| LayerOut { z, activation: Activation::Linear, cache: Cache::None };
    Ok(match &node.layer {
        Layer::Input => plain(x.to_vec()),
        Layer::Conv2D(c) => {
            let g = conv_geometry(op, c, xs)?;
            let mut z = cpu::conv2d(&g, x, &params[0], CpuKernel::Auto)?;
            if c.use_bias {
                cpu::add_bias(&mut z, &params[1])?;
            }
            LayerOut { z, activation: c.activation, cache: Cache::None }
        }
        Layer::DepthwiseConv2D(c) | Layer::SeparableConv2D(c) => {
            let g = depthwise_geometry(op, c, xs)?;
            let mut z = cpu::conv2d(&g, x, &params[0], CpuKernel::Auto)?;
            let mut bias_at = 1;
            let mut cache = Cache::None;
            if let Some(filters) = c.filters {
                let pg = pointwise_geometry(op, &g, filters)?;
                let mid = z;
                z = cpu::conv2d(&pg, &mid, &params[1], CpuKernel::Auto)?;
                if training.is_some() {
                    cache = Cache::Separable(mid);
                }
                bias_at = 2;
            }
            if c.use_bias {
                cpu::add_bias(&mut z, &params[bias_at])?;
            }
            LayerOut { z, activation: c.activation, cache }
        }
        Layer::MaxPool2D(p) | Layer::AvgPool2D(p) => {
            let g = pool_geometry(op, p.pool_size, p.strides, p.padding, xs)?;
            plain(if matches!(node.layer, Layer::MaxPool2D(_)) {
                cpu::max_pool2d(&g, x)?
            } else {
                cpu::avg_pool2d(&g, x)?
            })
        }
        Layer::GlobalAvgPool2D => plain(cpu::global_avg_pool(nhwc(xs)?, x)?),
        Layer::GlobalMaxPool2D => plain(cpu::global_max_pool(nhwc(xs)?, x)?),
        Layer::Dense { units, use_bias, activation } => {
            let rows = x.len() / channels.max(1);
            let g = DenseGeometry::new(op, &[rows, channels], &[channels, *units])?;
            let z = cpu::dense(&g, x, &params[0], use_bias.then(|| params[1].as_slice()))?;
            LayerOut { z, activation: *activation, cache: Cache::None }
        }
        Layer::Dropout { rate, seed } => match training {
            Some(t) => {
                let mixed = seed.unwrap_or(0)
                    ^ t.seed
                    ^ (t.node as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
                let start = t.offset * (x.len() / batch.max(1));
                let keep = cpu::dropout_mask_from(x.len(), *rate, mixed, start)?;
                let z = cpu::dropout(x, &keep, *rate)?;
                LayerOut { z, activation: Activation::Linear, cache: Cache::Dropout(keep) }
            }
            None => plain(x.to_vec()),
        },
        Layer::Flatten => plain(x.to_vec()),
        Layer::BatchNormalization { epsilon, momentum, center, scale } => {
            let (gamma, beta, k) = bn_affine(params, *center, *scale, channels);
            match training {
                Some(Training { moving: Some((mean, var)), .. }) => {
                    let bn = crate::ops::norm::BatchNormParams {
                        epsilon: *epsilon,
                        momentum: *momentum,
                    };
                    let t = cpu::batch_norm_training(x, channels, &gamma, &beta, &bn, mean, var)?;
                    LayerOut {
                        z: t.y,
                        activation: Activation::Linear,
                        cache: Cache::BatchNorm { mean: t.mean, variance: t.variance },
                    }
                }
                _ => plain(cpu::batch_norm(
                    x,
                    channels,
                    &gamma,
                    &beta,
                    &params[k],
                    &params[k + 1],
                    *epsilon,
                )?),
            }
        }
        Layer::Add => {
            let mut z = x.to_vec();
            for (other, _) in &inputs[1..] {
                if other.len() != z.len() {
                    return Err(Error::invalid(op, "inputs", "shapes differ"));
                }
                z.iter_mut().zip(other.iter()).for_each(|(a, b)| *a += b);
            }
            plain(z)
        }
        Layer::Concatenate => {
            let parts: Vec<&[f32]> = inputs.iter().map(|(v, _)| *v).collect();
            let chans: Vec<usize> = inputs.iter().map(|(_, s)| *s.last().unwrap_or(&1)).collect();
            plain(cpu::concat(&parts, &chans)?)
        }
        Layer::Activation(a) => LayerOut { z: x.to_vec(), activation: *a, cache: Cache::None },
        Layer::ZeroPadding2D(p) => plain(cpu::zero_pad(x, nhwc(xs)?, *p)?),
        Layer::Lrn(p) => plain(cpu::lrn(x, channels, p)?),
        Layer::DepthMaxPool2D { pool_size } => plain(cpu::depth_max_pool(x, channels, *pool_size)?),
        Layer::LeNetSubsampling { pool_size, activation } => {
            let g = pool_geometry(op, *pool_size, *pool_size, Padding::Valid, xs)?;
            let z = cpu::subsample(&g, x, &params[0], &params[1])?;
            LayerOut { z, activation: *activation, cache: Cache::None }
        }
        Layer::SeScale => plain(cpu::channel_scale(x, inputs[1].0, batch, channels)?),
        Layer::Rbf { units } => plain(cpu::rbf(x, &params[0], batch, channels, *units)?),
    })
}
