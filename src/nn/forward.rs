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

fn nhwc(shape: &[usize]) -> Result<[usize; 4]> {
    match shape {
        [n, h, w, c] => Ok([*n, *h, *w, *c]),
        _ => Err(Error::invalid("predict", "x", format!("expected NHWC, got {shape:?}"))),
    }
}

/// One layer on the CPU. `inputs` are the values and batched shapes of what it reads.
fn run_layer(
    node: &Node,
    params: &[Vec<f32>],
    batch: usize,
    inputs: &[(&[f32], Vec<usize>)],
) -> Result<Vec<f32>> {
    let op = node.name.as_str();
    let (x, xs) = (inputs[0].0, inputs[0].1.as_slice());
    let channels = *xs.last().unwrap_or(&1);
    let out_channels = *node.output_shape.last().unwrap_or(&1);
    let mut y = match &node.layer {
        Layer::Input => x.to_vec(),
        Layer::Conv2D(c) => {
            let p = Conv2dParams {
                strides: c.strides,
                dilations: c.dilation_rate,
                padding: c.padding,
                groups: c.groups,
            };
            let g = Conv2dGeometry::new(
                op,
                xs,
                &[c.kernel_size[0], c.kernel_size[1], channels / c.groups, c.filters],
                &p,
            )?;
            let mut y = cpu::conv2d(&g, x, &params[0], CpuKernel::Auto)?;
            if c.use_bias {
                cpu::add_bias(&mut y, &params[1])?;
            }
            cpu::activation_in_place(c.activation, &mut y, c.filters)?;
            return Ok(y);
        }
        Layer::DepthwiseConv2D(c) | Layer::SeparableConv2D(c) => {
            let p = Conv2dParams {
                strides: c.strides,
                dilations: c.dilation_rate,
                padding: c.padding,
                groups: 1,
            };
            let kernel = [c.kernel_size[0], c.kernel_size[1], channels, c.depth_multiplier];
            let g = Conv2dGeometry::depthwise(op, xs, &kernel, &p)?;
            let mut y = cpu::conv2d(&g, x, &params[0], CpuKernel::Auto)?;
            let mut bias_at = 1;
            if let Some(filters) = c.filters {
                let mid = g.output_shape();
                let pg = Conv2dGeometry::new(
                    op,
                    &mid,
                    &[1, 1, mid[3], filters],
                    &Conv2dParams::default(),
                )?;
                y = cpu::conv2d(&pg, &y, &params[1], CpuKernel::Auto)?;
                bias_at = 2;
            }
            if c.use_bias {
                cpu::add_bias(&mut y, &params[bias_at])?;
            }
            cpu::activation_in_place(c.activation, &mut y, out_channels)?;
            return Ok(y);
        }
        Layer::MaxPool2D(p) | Layer::AvgPool2D(p) => {
            let params =
                Pool2dParams { pool_size: p.pool_size, strides: p.strides, padding: p.padding };
            let g = Pool2dGeometry::new(op, xs, &params)?;
            if matches!(node.layer, Layer::MaxPool2D(_)) {
                cpu::max_pool2d(&g, x)?
            } else {
                cpu::avg_pool2d(&g, x)?
            }
        }
        Layer::GlobalAvgPool2D => cpu::global_avg_pool(nhwc(xs)?, x)?,
        Layer::GlobalMaxPool2D => cpu::global_max_pool(nhwc(xs)?, x)?,
        Layer::Dense { units, use_bias, activation } => {
            let rows = x.len() / channels.max(1);
            let g = DenseGeometry::new(op, &[rows, channels], &[channels, *units])?;
            let mut y = cpu::dense(&g, x, &params[0], use_bias.then(|| params[1].as_slice()))?;
            cpu::activation_in_place(*activation, &mut y, *units)?;
            return Ok(y);
        }
        Layer::Dropout { .. } | Layer::Flatten => x.to_vec(),
        Layer::BatchNormalization { epsilon, center, scale, .. } => {
            let ones = vec![1.0; channels];
            let zeros = vec![0.0; channels];
            let mut k = 0;
            let gamma = if *scale {
                k += 1;
                &params[k - 1]
            } else {
                &ones
            };
            let beta = if *center {
                k += 1;
                &params[k - 1]
            } else {
                &zeros
            };
            cpu::batch_norm(x, channels, gamma, beta, &params[k], &params[k + 1], *epsilon)?
        }
        Layer::Add => {
            let mut y = x.to_vec();
            for (other, _) in &inputs[1..] {
                if other.len() != y.len() {
                    return Err(Error::invalid(op, "inputs", "shapes differ"));
                }
                y.iter_mut().zip(other.iter()).for_each(|(a, b)| *a += b);
            }
            y
        }
        Layer::Concatenate => {
            let parts: Vec<&[f32]> = inputs.iter().map(|(v, _)| *v).collect();
            let chans: Vec<usize> = inputs.iter().map(|(_, s)| *s.last().unwrap_or(&1)).collect();
            cpu::concat(&parts, &chans)?
        }
        Layer::Activation(a) => {
            let mut y = x.to_vec();
            cpu::activation_in_place(*a, &mut y, channels)?;
            y
        }
        Layer::ZeroPadding2D(p) => cpu::zero_pad(x, nhwc(xs)?, *p)?,
        Layer::Lrn(p) => cpu::lrn(x, channels, p)?,
        Layer::DepthMaxPool2D { pool_size } => cpu::depth_max_pool(x, channels, *pool_size)?,
        Layer::LeNetSubsampling { pool_size, activation } => {
            let params_pool = Pool2dParams {
                pool_size: *pool_size,
                strides: *pool_size,
                padding: Padding::Valid,
            };
            let g = Pool2dGeometry::new(op, xs, &params_pool)?;
            let mut y = cpu::subsample(&g, x, &params[0], &params[1])?;
            cpu::activation_in_place(*activation, &mut y, channels)?;
            y
        }
        Layer::SeScale => cpu::channel_scale(x, inputs[1].0, batch, channels)?,
        Layer::Rbf { units } => cpu::rbf(x, &params[0], batch, channels, *units)?,
    };
    y.shrink_to_fit();
    Ok(y)
}
