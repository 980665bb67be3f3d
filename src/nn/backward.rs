//! Training on the CPU path: a forward pass that keeps what the backward pass needs (every
//! layer's input and output, its pre-activation where it has a fused activation, batch
//! statistics, dropout masks), and the backward pass through the graph in reverse topological
//! order, accumulating the gradient of each layer's output over all its readers.
//!
//! The loss is softmax cross-entropy on integer labels. When the output layer ends in a
//! softmax (fused or an Activation layer), the gradient enters at its logits as
//! `(softmax - onehot) / n` (the stable combined form); a linear output is taken as the logits;
//! LeNet-5's RBF output gives distances, so its logits are their negatives (the nearest centre
//! wins), as the paper's classification rule reads them.

use super::forward::{
    batched, bn_affine, check_input, conv_geometry, depthwise_geometry, layer_core, nhwc,
    pointwise_geometry, pool_geometry, Cache, LayerOut, Training,
};
use super::layer::Layer;
use super::weights::{mask_connections, Weights};
use crate::backend::cpu;
use crate::error::{Error, Result};
use crate::graph::{Model, Node};
use crate::ops::activation::Activation;
use crate::ops::dense::DenseGeometry;
use crate::tensor::{Padding, Tensor};

/// What a training forward pass keeps.
pub struct Tape {
    pub(crate) batch: usize,
    /// Each layer's output (after its activation).
    pub(crate) outputs: Vec<Vec<f32>>,
    /// The pre-activation of layers with a fused activation other than linear.
    pub(crate) pre: Vec<Option<Vec<f32>>>,
    /// What each layer's backward pass needs beyond its inputs and output. An inference tape
    /// (Grad-CAM, [`super::gradcam`]) has no batch statistics: batch norm then differentiates
    /// its inference form, a per-channel affine map with the moving statistics.
    pub(crate) caches: Vec<Cache>,
}

impl Tape {
    /// The output of node `node` in this pass (for tests and inspection).
    pub fn output(&self, node: usize) -> &[f32] {
        &self.outputs[node]
    }

    /// The logits of this pass, where [`logits_at`] says they are.
    pub fn logits(&self, at: LogitsAt) -> Vec<f32> {
        match at {
            LogitsAt::Node(n) | LogitsAt::Output(n) => self.outputs[n].clone(),
            LogitsAt::PreActivation(n) => self.pre[n].clone().unwrap_or_default(),
            LogitsAt::NegatedOutput(n) => self.outputs[n].iter().map(|d| -d).collect(),
        }
    }

    /// A tape holding only the input `x` (node 0), with room for `nodes` layers.
    pub(crate) fn start(batch: usize, nodes: usize, x: &Tensor) -> Self {
        let mut tape = Tape {
            batch,
            outputs: Vec::with_capacity(nodes),
            pre: Vec::with_capacity(nodes),
            caches: Vec::with_capacity(nodes),
        };
        tape.outputs.push(x.data().to_vec());
        tape.pre.push(None);
        tape.caches.push(Cache::None);
        tape
    }

    /// Appends a layer's result: its output after the fused activation and, for layers with
    /// one, the pre-activation the backward pass needs.
    pub(crate) fn push(&mut self, out: LayerOut, last: usize) -> Result<()> {
        if out.activation == Activation::Linear {
            self.outputs.push(out.z);
            self.pre.push(None);
        } else {
            let mut y = out.z.clone();
            cpu::activation_in_place(out.activation, &mut y, last)?;
            self.outputs.push(y);
            self.pre.push(Some(out.z));
        }
        self.caches.push(out.cache);
        Ok(())
    }
}

/// Gradients `grads[node][param]`, in the order of [`crate::graph::Node::params`]; zeros for
/// non-trainable parameters (batch norm's moving statistics).
#[derive(Debug, Clone)]
pub struct Gradients {
    /// Per node, per parameter.
    pub values: Vec<Vec<Vec<f32>>>,
}

/// Loss and accuracy of one batch.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchResult {
    /// Mean softmax cross-entropy.
    pub loss: f32,
    /// Examples whose highest logit is their label.
    pub correct: usize,
}

/// A training-mode forward pass; batch norm's moving statistics in `weights` are updated.
pub fn forward_train(model: &Model, weights: &mut Weights, x: &Tensor, seed: u64) -> Result<Tape> {
    forward_train_shard(model, weights, x, seed, 0)
}

/// [`forward_train`] of a shard of a batch whose first image is image `offset` of the whole
/// batch: dropout keeps what it would keep in the whole batch's pass (batch norm's statistics
/// are the shard's own).
pub fn forward_train_shard(
    model: &Model,
    weights: &mut Weights,
    x: &Tensor,
    seed: u64,
    offset: usize,
) -> Result<Tape> {
    let batch = check_input(model, x.shape())?;
    let nodes = model.nodes();
    let mut tape = Tape::start(batch, nodes.len(), x);
    for (i, node) in nodes.iter().enumerate().skip(1) {
        let inputs: Vec<(&[f32], Vec<usize>)> = node
            .inputs
            .iter()
            .map(|&j| (tape.outputs[j].as_slice(), batched(batch, &nodes[j].output_shape)))
            .collect();
        let params = &mut weights.values[i];
        let out = if let Layer::BatchNormalization { .. } = node.layer {
            let k = params.len() - 2;
            let (mut mean, mut var) = (params[k].clone(), params[k + 1].clone());
            let t = Training { seed, node: i, moving: Some((&mut mean, &mut var)), offset };
            let out = layer_core(node, params, batch, &inputs, Some(t))?;
            params[k] = mean;
            params[k + 1] = var;
            out
        } else {
            layer_core(
                node,
                params,
                batch,
                &inputs,
                Some(Training { seed, node: i, moving: None, offset }),
            )?
        };
        tape.push(out, *node.output_shape.last().unwrap_or(&1))?;
    }
    Ok(tape)
}

/// The activation that ends `node` (fused, or the layer itself for Activation layers).
pub fn ending_activation(node: &Node) -> Activation {
    match &node.layer {
        Layer::Conv2D(c) => c.activation,
        Layer::DepthwiseConv2D(c) | Layer::SeparableConv2D(c) => c.activation,
        Layer::Dense { activation, .. } => *activation,
        Layer::LeNetSubsampling { activation, .. } => *activation,
        Layer::Activation(a) => *a,
        _ => Activation::Linear,
    }
}

/// Where a classifier's logits are, and where the gradient of the loss enters the graph.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogitsAt {
    /// The output of this node (the model's output is an Activation(softmax) layer reading
    /// it); the gradient enters as this node's output gradient.
    Node(usize),
    /// The pre-activation of this node, whose fused activation is the softmax; the gradient
    /// enters there.
    PreActivation(usize),
    /// The output itself (linear logits).
    Output(usize),
    /// LeNet-5's RBF distances, negated.
    NegatedOutput(usize),
}

/// Where `model`'s logits are (see the module docs); an output that is not one vector per
/// instance is refused.
pub fn logits_at(model: &Model) -> Result<LogitsAt> {
    let out = model.output();
    let node = &model.nodes()[out];
    if node.output_shape.len() != 1 {
        return Err(Error::invalid(
            "train",
            "model",
            format!(
                "the output layer '{}' gives {:?} per instance; classification needs [classes]",
                node.name, node.output_shape
            ),
        ));
    }
    let softmax_end = ending_activation(node) == Activation::Softmax;
    Ok(match (&node.layer, softmax_end) {
        (Layer::Activation(_), true) => LogitsAt::Node(node.inputs[0]),
        (_, true) => LogitsAt::PreActivation(out),
        (Layer::Rbf { .. }, _) => LogitsAt::NegatedOutput(out),
        _ => LogitsAt::Output(out),
    })
}

/// Mean softmax cross-entropy of `logits` (`[batch, classes]`) against `labels`, the number
/// right, and d loss / d logits.
pub fn score_logits(
    logits: &[f32],
    labels: &[u32],
    classes: usize,
) -> Result<(BatchResult, Vec<f32>)> {
    if labels.len() * classes != logits.len() {
        return Err(Error::invalid(
            "train",
            "labels",
            format!("{} labels for a batch of {}", labels.len(), logits.len() / classes.max(1)),
        ));
    }
    let (loss, dlogits) = cpu::softmax_cross_entropy(logits, labels, classes)?;
    let correct = logits
        .chunks_exact(classes)
        .zip(labels)
        .filter(|(row, &l)| {
            let best = row.iter().enumerate().fold(0, |b, (i, v)| if *v > row[b] { i } else { b });
            best == l as usize
        })
        .count();
    Ok((BatchResult { loss, correct }, dlogits))
}

/// Softmax cross-entropy of the tape's output against `labels`: the loss, the accuracy, and
/// the gradient that starts the backward pass (see the module docs).
pub fn loss(model: &Model, tape: &Tape, labels: &[u32]) -> Result<(BatchResult, Seed)> {
    let at = logits_at(model)?;
    let classes = *model.nodes()[model.output()].output_shape.last().unwrap_or(&1);
    let (result, dlogits) = score_logits(&tape.logits(at), labels, classes)?;
    Ok((result, seed_at(at, dlogits)))
}

/// The seed of the backward pass from d loss / d logits.
pub fn seed_at(at: LogitsAt, mut dlogits: Vec<f32>) -> Seed {
    match at {
        LogitsAt::Node(node) | LogitsAt::Output(node) => Seed::Node { node, grad: dlogits },
        LogitsAt::PreActivation(node) => Seed::PreActivation { node, grad: dlogits },
        LogitsAt::NegatedOutput(node) => {
            dlogits.iter_mut().for_each(|d| *d = -*d);
            Seed::Node { node, grad: dlogits }
        }
    }
}

/// Where the backward pass starts.
pub enum Seed {
    /// The gradient of a node's output.
    Node {
        /// The node.
        node: usize,
        /// d loss / d output.
        grad: Vec<f32>,
    },
    /// The gradient of a node's pre-activation (its fused softmax already differentiated).
    PreActivation {
        /// The node.
        node: usize,
        /// d loss / d pre-activation.
        grad: Vec<f32>,
    },
}

impl Seed {
    /// Multiplies the starting gradient by `factor` (a shard of `n` images of a batch of
    /// `total` scales by `n / total`, so that the shards' gradients add up to the batch's mean).
    pub fn scale(&mut self, factor: f32) {
        if factor == 1.0 {
            return;
        }
        let (Seed::Node { grad, .. } | Seed::PreActivation { grad, .. }) = self;
        grad.iter_mut().for_each(|g| *g *= factor);
    }
}

impl Gradients {
    /// The trainable parameters' gradients, one after another in node and parameter order
    /// (what a data-parallel shard sends back).
    pub fn trainable_flat(&self, model: &Model) -> Vec<f32> {
        let mut out = Vec::new();
        for (i, node) in model.nodes().iter().enumerate() {
            for (k, p) in node.params.iter().enumerate() {
                if p.trainable {
                    out.extend_from_slice(&self.values[i][k]);
                }
            }
        }
        out
    }

    /// Adds a [`Self::trainable_flat`] vector of the same model to these gradients. Errors
    /// when its length is not the model's trainable parameter count.
    pub fn add_trainable_flat(&mut self, model: &Model, flat: &[f32]) -> Result<()> {
        let slots: Vec<(usize, usize)> = model
            .nodes()
            .iter()
            .enumerate()
            .flat_map(|(i, n)| {
                n.params.iter().enumerate().filter(|(_, p)| p.trainable).map(move |(k, _)| (i, k))
            })
            .collect();
        let expected: usize = slots.iter().map(|&(i, k)| self.values[i][k].len()).sum();
        if flat.len() != expected {
            return Err(Error::invalid(
                "train",
                "gradients",
                format!("a shard sent {} values, the model has {expected} trainable", flat.len()),
            ));
        }
        let mut at = 0;
        for (i, k) in slots {
            let g = &mut self.values[i][k];
            let n = g.len();
            g.iter_mut().zip(&flat[at..at + n]).for_each(|(a, b)| *a += b);
            at += n;
        }
        Ok(())
    }
}

/// The backward pass: gradients of every parameter.
pub fn backward(model: &Model, weights: &Weights, tape: &Tape, seed: Seed) -> Result<Gradients> {
    Ok(backward_until(model, weights, tape, seed, None)?.0)
}

/// The gradient of the seed's quantity with respect to node `stop`'s output (zeros where it
/// does not depend on it): the backward pass run down to that node only (Grad-CAM).
pub fn backward_to(
    model: &Model,
    weights: &Weights,
    tape: &Tape,
    seed: Seed,
    stop: usize,
) -> Result<Vec<f32>> {
    let (_, d) = backward_until(model, weights, tape, seed, Some(stop))?;
    let len = tape.outputs.get(stop).map_or(0, Vec::len);
    Ok(d.unwrap_or_else(|| vec![0.0; len]))
}

/// The backward pass in reverse topological order; with `stop`, it ends when it reaches that
/// node (every reader of a node comes after it, so its gradient is whole by then) and returns
/// it.
fn backward_until(
    model: &Model,
    weights: &Weights,
    tape: &Tape,
    seed: Seed,
    stop: Option<usize>,
) -> Result<(Gradients, Option<Vec<f32>>)> {
    let nodes = model.nodes();
    let batch = tape.batch;
    let mut dout: Vec<Option<Vec<f32>>> = vec![None; nodes.len()];
    let mut dpre_seed: Option<(usize, Vec<f32>)> = None;
    match seed {
        Seed::Node { node, grad } => dout[node] = Some(grad),
        Seed::PreActivation { node, grad } => dpre_seed = Some((node, grad)),
    }
    let mut grads: Vec<Vec<Vec<f32>>> = nodes
        .iter()
        .map(|n| n.params.iter().map(|p| vec![0.0; p.shape.iter().product()]).collect())
        .collect();
    for i in (1..nodes.len()).rev() {
        if stop == Some(i) {
            break;
        }
        let node = &nodes[i];
        let last = *node.output_shape.last().unwrap_or(&1);
        // The gradient of the pre-activation.
        let dz = match dpre_seed.take_if(|(n, _)| *n == i) {
            Some((_, g)) => g,
            None => {
                let Some(dy) = dout[i].take() else { continue };
                match (&tape.pre[i], ending_activation(node)) {
                    (Some(z), a) if !matches!(node.layer, Layer::Activation(_)) => {
                        cpu::activation_backward(a, z, &tape.outputs[i], &dy, last)?
                    }
                    _ => dy,
                }
            }
        };
        let inputs: Vec<(&[f32], Vec<usize>)> = node
            .inputs
            .iter()
            .map(|&j| (tape.outputs[j].as_slice(), batched(batch, &nodes[j].output_shape)))
            .collect();
        let dxs = layer_backward(
            node,
            &weights.values[i],
            &tape.caches[i],
            &tape.outputs[i],
            batch,
            &inputs,
            dz,
            &mut grads[i],
        )?;
        for (&j, dx) in node.inputs.iter().zip(dxs) {
            match &mut dout[j] {
                Some(acc) => acc.iter_mut().zip(&dx).for_each(|(a, d)| *a += d),
                slot @ None => *slot = Some(dx),
            }
        }
    }
    let at_stop = stop.and_then(|s| dout.get_mut(s).and_then(Option::take));
    Ok((Gradients { values: grads }, at_stop))
}

/// One layer's backward pass: the gradient of each input, and its parameters' gradients
/// written into `grads`. `dz` is the gradient of its output before the fused activation
/// (for Activation layers, of its output).
#[allow(clippy::too_many_arguments)]
fn layer_backward(
    node: &Node,
    params: &[Vec<f32>],
    cache: &Cache,
    output: &[f32],
    batch: usize,
    inputs: &[(&[f32], Vec<usize>)],
    dz: Vec<f32>,
    grads: &mut [Vec<f32>],
) -> Result<Vec<Vec<f32>>> {
    let op = node.name.as_str();
    let (x, xs) = (inputs[0].0, inputs[0].1.as_slice());
    let channels = *xs.last().unwrap_or(&1);
    Ok(match &node.layer {
        Layer::Input => vec![],
        Layer::Conv2D(c) => {
            let g = conv_geometry(op, c, xs)?;
            let (dx, mut dw) = cpu::conv2d_backward(&g, x, &params[0], &dz)?;
            if let Some(table) = &c.connections {
                mask_connections(&mut dw, &node.params[0].shape, table);
            }
            grads[0] = dw;
            if c.use_bias {
                grads[1] = cpu::conv2d_backward_bias(&g, &dz)?;
            }
            vec![dx]
        }
        Layer::DepthwiseConv2D(c) | Layer::SeparableConv2D(c) => {
            let g = depthwise_geometry(op, c, xs)?;
            let mut d_mid = dz.clone();
            let mut bias_at = 1;
            if let (Some(filters), Cache::Separable(mid)) = (c.filters, cache) {
                let pg = pointwise_geometry(op, &g, filters)?;
                let (dm, dpw) = cpu::conv2d_backward(&pg, mid, &params[1], &dz)?;
                grads[1] = dpw;
                d_mid = dm;
                bias_at = 2;
                if c.use_bias {
                    grads[bias_at] = cpu::conv2d_backward_bias(&pg, &dz)?;
                }
            } else if c.use_bias {
                grads[bias_at] = cpu::conv2d_backward_bias(&g, &dz)?;
            }
            let (dx, ddw) = cpu::conv2d_backward(&g, x, &params[0], &d_mid)?;
            grads[0] = ddw;
            vec![dx]
        }
        Layer::MaxPool2D(p) => {
            let g = pool_geometry(op, p.pool_size, p.strides, p.padding, xs)?;
            vec![cpu::max_pool2d_backward(&g, x, &dz)?]
        }
        Layer::AvgPool2D(p) => {
            let g = pool_geometry(op, p.pool_size, p.strides, p.padding, xs)?;
            vec![cpu::avg_pool2d_backward(&g, &dz)?]
        }
        Layer::GlobalAvgPool2D => vec![cpu::global_avg_pool_backward(nhwc(xs)?, &dz)?],
        Layer::GlobalMaxPool2D => vec![cpu::global_max_pool_backward(nhwc(xs)?, x, &dz)?],
        Layer::Dense { units, use_bias, .. } => {
            let rows = x.len() / channels.max(1);
            let g = DenseGeometry::new(op, &[rows, channels], &[channels, *units])?;
            let (dx, dw, db) = cpu::dense_backward(&g, x, &params[0], &dz)?;
            grads[0] = dw;
            if *use_bias {
                grads[1] = db;
            }
            vec![dx]
        }
        Layer::Dropout { rate, .. } => match cache {
            Cache::Dropout(keep) => vec![cpu::dropout(&dz, keep, *rate)?],
            _ => vec![dz],
        },
        Layer::Flatten => vec![dz],
        Layer::BatchNormalization { epsilon, center, scale, .. } => {
            let (gamma, _, k) = bn_affine(params, *center, *scale, channels);
            let Cache::BatchNorm { mean, variance } = cache else {
                // An inference tape: y = gamma (x - moving mean) / sqrt(moving var + eps) + beta.
                let (dx, dgamma, dbeta) = batch_norm_inference_backward(
                    x,
                    channels,
                    &gamma,
                    &params[k],
                    &params[k + 1],
                    *epsilon,
                    &dz,
                );
                if *scale {
                    grads[0] = dgamma;
                }
                if *center {
                    grads[usize::from(*scale)] = dbeta;
                }
                return Ok(vec![dx]);
            };
            let (dx, dgamma, dbeta) = cpu::batch_norm_training_backward(
                x, channels, &gamma, mean, variance, *epsilon, &dz,
            )?;
            let mut k = 0;
            if *scale {
                grads[0] = dgamma;
                k = 1;
            }
            if *center {
                grads[k] = dbeta;
            }
            vec![dx]
        }
        Layer::Add => inputs.iter().map(|_| dz.clone()).collect(),
        Layer::Concatenate => {
            let chans: Vec<usize> = inputs.iter().map(|(_, s)| *s.last().unwrap_or(&1)).collect();
            cpu::concat_backward(&dz, &chans)?
        }
        Layer::Activation(a) => vec![cpu::activation_backward(*a, x, output, &dz, channels)?],
        Layer::ZeroPadding2D(p) => vec![cpu::zero_pad_backward(&dz, nhwc(xs)?, *p)?],
        Layer::Lrn(p) => vec![cpu::lrn_backward(x, channels, p, &dz)?],
        Layer::DepthMaxPool2D { pool_size } => {
            vec![cpu::depth_max_pool_backward(x, channels, *pool_size, &dz)?]
        }
        Layer::LeNetSubsampling { pool_size, .. } => {
            let g = pool_geometry(op, *pool_size, *pool_size, Padding::Valid, xs)?;
            let (dx, dcoeff, dbias) = cpu::subsample_backward(&g, x, &params[0], &dz)?;
            grads[0] = dcoeff;
            grads[1] = dbias;
            vec![dx]
        }
        Layer::SeScale => {
            let (dx, ds) = cpu::channel_scale_backward(x, inputs[1].0, batch, channels, &dz)?;
            vec![dx, ds]
        }
        Layer::Rbf { units } => {
            let (dx, dc) = cpu::rbf_backward(x, &params[0], batch, channels, *units, &dz)?;
            grads[0] = dc;
            vec![dx]
        }
    })
}

/// Batch norm's inference form differentiated: `dx`, `dgamma`, `dbeta` of
/// `y = gamma (x - mean) / sqrt(var + eps) + beta` with fixed (moving) statistics.
fn batch_norm_inference_backward(
    x: &[f32],
    channels: usize,
    gamma: &[f32],
    mean: &[f32],
    variance: &[f32],
    epsilon: f32,
    dy: &[f32],
) -> (Vec<f32>, Vec<f32>, Vec<f32>) {
    let inv: Vec<f32> = variance.iter().map(|v| 1.0 / (v + epsilon).sqrt()).collect();
    let mut dx = vec![0.0; dy.len()];
    let (mut dgamma, mut dbeta) = (vec![0.0f64; channels], vec![0.0f64; channels]);
    for (i, (d, &g)) in dx.iter_mut().zip(dy).enumerate() {
        let c = i % channels.max(1);
        *d = g * gamma[c] * inv[c];
        dgamma[c] += f64::from(g * (x[i] - mean[c]) * inv[c]);
        dbeta[c] += f64::from(g);
    }
    let narrow = |v: Vec<f64>| v.into_iter().map(|a| a as f32).collect();
    (dx, narrow(dgamma), narrow(dbeta))
}
