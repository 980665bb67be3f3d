//! Grad-CAM (Selvaraju et al., 2017, "Grad-CAM: Visual Explanations from Deep Networks via
//! Gradient-based Localization"): which pixels drove a prediction.
//!
//! For class `c` with score `y_c` (the logit before softmax) and a spatial layer's output
//! `A` (`[h, w, K]`), each channel's weight is the spatial mean of the gradient,
//! `w_k = mean_ij d y_c / d A_ijk`, and the map is `ReLU(sum_k w_k A_k)`, upsampled
//! bilinearly (half-pixel centres, as `tf.image.resize` and PyTorch's
//! `align_corners=False`) to the input's height and width.
//!
//! The gradient comes from [`super::backward`]'s machinery: an inference-mode tape (moving
//! batch statistics, dropout off) and the graph's backward pass, stopped at the chosen layer.
//! CPU path only.

use super::backward::{backward_to, logits_at, seed_at, LogitsAt, Tape};
use super::forward::{batched, check_input, layer_core, plan, Cache, LayerOut, Training};
use super::layer::Layer;
use super::weights::Weights;
use crate::error::{Error, Result};
use crate::graph::Model;
use crate::ops::activation::Activation;
use crate::tensor::Tensor;

const OP: &str = "gradCam";

/// What to explain: a class (default: the predicted one) at a layer (default:
/// [`default_layer`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct GradCamOptions {
    /// The class whose score is explained.
    pub class: Option<usize>,
    /// The node whose output `A` is weighted.
    pub layer: Option<usize>,
}

/// A Grad-CAM map and what went into it.
#[derive(Debug, Clone)]
pub struct GradCam {
    /// The node whose output was weighted.
    pub layer: usize,
    /// The class explained.
    pub class: usize,
    /// Its score (the logit).
    pub score: f32,
    /// Every class's logit.
    pub logits: Vec<f32>,
    /// `w_k`, one per channel of the layer.
    pub channel_weights: Vec<f32>,
    /// `[h, w]` of the layer.
    pub cam_shape: [usize; 2],
    /// `ReLU(sum_k w_k A_k)`, `h * w` values.
    pub cam: Vec<f32>,
    /// `[H, W]` of the input.
    pub heatmap_shape: [usize; 2],
    /// The map upsampled to the input, `H * W` values.
    pub heatmap: Vec<f32>,
}

/// An inference-mode pass that keeps what the backward pass needs. With `replace`, node
/// `replace.0`'s output is taken as given instead of computed (for finite differences with
/// respect to a layer's output).
pub fn inference_tape(
    model: &Model,
    weights: &Weights,
    x: &Tensor,
    replace: Option<(usize, &[f32])>,
) -> Result<Tape> {
    let batch = check_input(model, x.shape())?;
    let nodes = model.nodes();
    let mut tape = Tape::start(batch, nodes.len(), x);
    // A layer's output taken as given: linear, nothing cached.
    let given =
        |v: &[f32]| LayerOut { z: v.to_vec(), activation: Activation::Linear, cache: Cache::None };
    if let Some((0, v)) = replace {
        tape.outputs[0] = v.to_vec();
    }
    for (i, node) in nodes.iter().enumerate().skip(1) {
        let last = *node.output_shape.last().unwrap_or(&1);
        if let Some((_, v)) = replace.filter(|(r, _)| *r == i) {
            tape.push(given(v), last)?;
            continue;
        }
        let inputs: Vec<(&[f32], Vec<usize>)> = node
            .inputs
            .iter()
            .map(|&j| (tape.outputs[j].as_slice(), batched(batch, &nodes[j].output_shape)))
            .collect();
        // "Training" without moving statistics is inference for batch norm; it only makes a
        // separable convolution keep its depthwise output. Dropout stays off.
        let keep = (!matches!(node.layer, Layer::Dropout { .. })).then_some(Training {
            seed: 0,
            node: i,
            moving: None,
            offset: 0,
        });
        let out = layer_core(node, &weights.values[i], batch, &inputs, keep)?;
        tape.push(out, last)?;
    }
    Ok(tape)
}

/// The last layer with a spatial output (`[h, w, c]`, more than one position) that the
/// model's output depends on: the usual choice of Grad-CAM, the last convolutional features.
pub fn default_layer(model: &Model) -> Option<usize> {
    let (needed, _) = plan(model, &[model.output()]);
    model.nodes().iter().enumerate().skip(1).rev().find_map(|(i, n)| {
        (needed[i] && n.output_shape.len() == 3 && n.output_shape[0] * n.output_shape[1] > 1)
            .then_some(i)
    })
}

/// Checks the batch (one image), the layer (spatial) and the class (one of the outputs).
fn check(model: &Model, x: &Tensor, options: GradCamOptions) -> Result<(usize, LogitsAt)> {
    if x.shape().first() != Some(&1) {
        return Err(Error::invalid(
            OP,
            "x",
            format!("explains one image at a time; got a batch of shape {:?}", x.shape()),
        ));
    }
    check_input(model, x.shape())?;
    let at = logits_at(model)?;
    let layer = match options.layer {
        Some(l) => l,
        None => default_layer(model).ok_or_else(|| {
            Error::invalid(OP, "layer", "the model has no layer with a spatial output to explain")
        })?,
    };
    let node = model
        .nodes()
        .get(layer)
        .ok_or_else(|| Error::invalid(OP, "layer", format!("no layer {layer}")))?;
    if node.output_shape.len() != 3 || layer == 0 {
        return Err(Error::invalid(
            OP,
            "layer",
            format!(
                "'{}' gives {:?} per image; Grad-CAM needs a layer after the input with a \
                 spatial output [height, width, channels]",
                node.name, node.output_shape
            ),
        ));
    }
    Ok((layer, at))
}

/// The score of `class` (its logit) for one image, optionally with node `replace.0`'s output
/// replaced (finite differences).
pub fn class_score(
    model: &Model,
    weights: &Weights,
    x: &Tensor,
    class: usize,
    replace: Option<(usize, &[f32])>,
) -> Result<f32> {
    let tape = inference_tape(model, weights, x, replace)?;
    let scores = tape.logits(logits_at(model)?);
    scores.get(class).copied().ok_or_else(|| class_error(class, scores.len()))
}

fn class_error(class: usize, classes: usize) -> Error {
    Error::invalid(
        OP,
        "class",
        format!(
            "{class} is not a class of this model (it has {classes}: 0 to {})",
            classes.max(1) - 1
        ),
    )
}

/// The gradient of `class`'s score with respect to node `layer`'s output for one image, with
/// the tape it came from and the logits.
pub fn class_gradient(
    model: &Model,
    weights: &Weights,
    x: &Tensor,
    class: Option<usize>,
    layer: usize,
) -> Result<(Tape, Vec<f32>, usize, Vec<f32>)> {
    let tape = inference_tape(model, weights, x, None)?;
    let at = logits_at(model)?;
    let scores = tape.logits(at);
    let class = match class {
        Some(c) if c >= scores.len() => return Err(class_error(c, scores.len())),
        Some(c) => c,
        None => scores.iter().enumerate().fold(0, |b, (i, v)| if *v > scores[b] { i } else { b }),
    };
    let mut onehot = vec![0.0; scores.len()];
    onehot[class] = 1.0;
    // seed_at starts the backward pass at the logits; it negates for LeNet-5's RBF output,
    // whose logits are the negated distances.
    let grad = backward_to(model, weights, &tape, seed_at(at, onehot), layer)?;
    Ok((tape, scores, class, grad))
}

/// Grad-CAM of one image (see the module docs).
pub fn grad_cam(
    model: &Model,
    weights: &Weights,
    x: &Tensor,
    options: GradCamOptions,
) -> Result<GradCam> {
    let (layer, _) = check(model, x, options)?;
    let (tape, logits, class, grad) = class_gradient(model, weights, x, options.class, layer)?;
    let shape = &model.nodes()[layer].output_shape;
    let (h, w, k) = (shape[0], shape[1], shape[2]);
    let a = tape.output(layer);
    let mut channel_weights = vec![0.0f64; k];
    for (i, g) in grad.iter().enumerate() {
        channel_weights[i % k] += f64::from(*g);
    }
    let channel_weights: Vec<f32> =
        channel_weights.iter().map(|s| (s / (h * w) as f64) as f32).collect();
    let cam: Vec<f32> = a
        .chunks_exact(k)
        .map(|row| row.iter().zip(&channel_weights).map(|(v, wk)| v * wk).sum::<f32>().max(0.0))
        .collect();
    let input = model.input_shape();
    let (ih, iw) = (input.first().copied().unwrap_or(1), input.get(1).copied().unwrap_or(1));
    let heatmap = resize_bilinear(&cam, [h, w], [ih, iw]);
    Ok(GradCam {
        layer,
        class,
        score: logits[class],
        logits,
        channel_weights,
        cam_shape: [h, w],
        cam,
        heatmap_shape: [ih, iw],
        heatmap,
    })
}

/// Bilinear resize of one `[h, w]` map with half-pixel centres (`tf.image.resize`,
/// PyTorch's `interpolate(mode="bilinear", align_corners=False)`): output pixel `i` samples
/// the input at `(i + 0.5) * in / out - 0.5`, clamped to the edge.
pub fn resize_bilinear(src: &[f32], from: [usize; 2], to: [usize; 2]) -> Vec<f32> {
    let [h, w] = from;
    let [oh, ow] = to;
    if h == 0 || w == 0 || src.len() < h * w {
        return vec![0.0; oh * ow];
    }
    let axis = |o: usize, n: usize, out: usize| {
        let s = ((o as f64 + 0.5) * n as f64 / out as f64 - 0.5).clamp(0.0, (n - 1) as f64);
        let lo = s.floor() as usize;
        (lo, (lo + 1).min(n - 1), (s - lo as f64) as f32)
    };
    let cols: Vec<_> = (0..ow).map(|j| axis(j, w, ow)).collect();
    let mut out = Vec::with_capacity(oh * ow);
    for i in 0..oh {
        let (y0, y1, fy) = axis(i, h, oh);
        for &(x0, x1, fx) in &cols {
            let top = src[y0 * w + x0] * (1.0 - fx) + src[y0 * w + x1] * fx;
            let bottom = src[y1 * w + x0] * (1.0 - fx) + src[y1 * w + x1] * fx;
            out.push(top * (1.0 - fy) + bottom * fy);
        }
    }
    out
}
