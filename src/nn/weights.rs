//! A model's parameter values and their initialisation.
//!
//! Initialisers, seeded, are Keras's defaults with two departures. Kernels are Glorot-uniform
//! (`U(-l, l)`, `l = sqrt(6 / (fan_in + fan_out))`, fans as Keras computes them for conv
//! kernels: receptive field times input or output maps), except (1) He-uniform
//! (`l = sqrt(6 / fan_in)`) where the layer's own activation is ReLU, and (2) a depthwise
//! kernel's fan-in is its receptive field alone, as PyTorch counts it (Keras counts every input
//! channel, which shrinks a random MobileNetV2's signal to 1e-12). Biases and batch norm's beta and moving mean zero, gamma and moving
//! variance one, LeNet-5's subsampling coefficient one, RBF centres uniform in [-1, 1] (the
//! paper fixed them to bitmaps of the digits; any spread does for a playground).
//! LeNet-5's partial connection table zeroes the kernel taps of absent connections.

use crate::error::{Error, Result};
use crate::graph::Model;
use crate::nn::layer::{Layer, Param};
use crate::ops::activation::Activation;

/// SplitMix64: small, fast and the same on every platform (the dropout masks use it too).
#[derive(Debug, Clone)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    /// A generator from `seed`.
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [-1, 1) with 24 bits.
    pub fn symmetric(&mut self) -> f32 {
        ((self.next_u64() >> 40) as f32 / (1u64 << 23) as f32) - 1.0
    }
}

/// Every parameter tensor of a model: `values[node][param]`, in the order of
/// [`crate::graph::Node::params`].
#[derive(Debug, Clone, PartialEq)]
pub struct Weights {
    /// One list per node.
    pub values: Vec<Vec<Vec<f32>>>,
}

impl Weights {
    /// Every value (trainable or not) in node and parameter order: what a data-parallel
    /// trainer sends its shard workers after each step.
    pub fn flat(&self) -> Vec<f32> {
        self.values.iter().flatten().flatten().copied().collect()
    }

    /// Replaces every value from a [`Self::flat`] vector of the same model; errors (changing
    /// nothing) when the length differs.
    pub fn set_flat(&mut self, flat: &[f32]) -> Result<()> {
        let expected: usize = self.values.iter().flatten().map(Vec::len).sum();
        if flat.len() != expected {
            return Err(Error::invalid(
                "setWeights",
                "weights",
                format!("{} values for a model of {expected}", flat.len()),
            ));
        }
        let mut at = 0;
        for v in self.values.iter_mut().flatten() {
            let n = v.len();
            v.copy_from_slice(&flat[at..at + n]);
            at += n;
        }
        Ok(())
    }
}

/// How kernels are initialised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum KernelInit {
    /// Keras's defaults: Glorot-uniform, He-uniform where the layer's own activation is ReLU.
    #[default]
    Keras,
    /// He-uniform everywhere (keeps the signal's scale through deep ReLU networks with batch
    /// norm at its initial statistics, where Glorot shrinks it to 1e-12 in MobileNetV2).
    He,
}

impl Weights {
    /// Initialises every parameter of `model` from `seed` with Keras's defaults (see the
    /// module docs).
    ///
    /// Allocation is fallible: a model too large for this process's memory gets an error
    /// naming how much it needed, not an abort.
    pub fn init(model: &Model, seed: u64) -> Result<Self> {
        Self::init_with(model, seed, KernelInit::Keras)
    }

    /// [`Weights::init`] with a choice of kernel initialiser.
    pub fn init_with(model: &Model, seed: u64, kernels: KernelInit) -> Result<Self> {
        let mut rng = SplitMix64::new(seed);
        let mut values = Vec::with_capacity(model.nodes().len());
        for node in model.nodes() {
            let mut per_node = Vec::with_capacity(node.params.len());
            let relu_after = kernels == KernelInit::He
                || matches!(
                    fused_activation(&node.layer),
                    Some(Activation::Relu | Activation::Relu6)
                );
            for p in &node.params {
                per_node.push(init_param(&node.name, &node.layer, p, relu_after, &mut rng)?);
            }
            values.push(per_node);
        }
        Ok(Self { values })
    }

    /// Replaces one parameter's values (weights loaded from a file), checking the length.
    pub fn set(&mut self, model: &Model, node: usize, param: usize, data: Vec<f32>) -> Result<()> {
        let n = model.nodes().get(node).ok_or_else(|| Error::invalid("weights", "node", node))?;
        let p = n.params.get(param).ok_or_else(|| Error::invalid("weights", "param", param))?;
        let want: usize = p.shape.iter().product();
        if data.len() != want {
            return Err(Error::invalid(
                "weights",
                p.name,
                format!(
                    "layer '{}': {} values for shape {:?} ({want})",
                    n.name,
                    data.len(),
                    p.shape
                ),
            ));
        }
        self.values[node][param] = data;
        Ok(())
    }
}

fn fused_activation(layer: &Layer) -> Option<Activation> {
    match layer {
        Layer::Conv2D(c) => Some(c.activation),
        Layer::DepthwiseConv2D(c) | Layer::SeparableConv2D(c) => Some(c.activation),
        Layer::Dense { activation, .. } => Some(*activation),
        _ => None,
    }
}

fn init_param(
    layer_name: &str,
    layer: &Layer,
    p: &Param,
    relu: bool,
    rng: &mut SplitMix64,
) -> Result<Vec<f32>> {
    let len: usize = p.shape.iter().product();
    let mut v: Vec<f32> = Vec::new();
    v.try_reserve_exact(len).map_err(|_| {
        Error::spec_limit(format!(
            "layer '{layer_name}': cannot allocate {} bytes for its {} {:?}",
            4 * len as u64,
            p.name,
            p.shape
        ))
    })?;
    let fill = match p.name {
        "gamma" | "moving_variance" | "coefficient" => Some(1.0),
        "bias" | "beta" | "moving_mean" => Some(0.0),
        _ => None,
    };
    if let Some(x) = fill {
        v.resize(len, x);
        return Ok(v);
    }
    let limit = match p.name {
        "centers" => 1.0,
        _ => {
            let (fan_in, fan_out) = if p.name == "depthwise_kernel" {
                // Each output reads kh * kw inputs of one channel. Keras counts all input
                // channels here, which shrinks MobileNetV2's signal to 1e-12 at random weights.
                let field = (p.shape[0] * p.shape[1]) as f64;
                (field, field * p.shape[3] as f64)
            } else {
                fans(&p.shape)
            };
            if relu {
                (6.0 / fan_in).sqrt()
            } else {
                (6.0 / (fan_in + fan_out)).sqrt()
            }
        }
    };
    v.extend((0..len).map(|_| rng.symmetric() * limit as f32));
    if let Layer::Conv2D(c) = layer {
        if let Some(table) = &c.connections {
            mask_connections(&mut v, &p.shape, table);
        }
    }
    Ok(v)
}

/// Keras's fans: for a `[kh, kw, in, out]` kernel, `kh * kw * in` and `kh * kw * out`.
fn fans(shape: &[usize]) -> (f64, f64) {
    match shape {
        [a, b] => (*a as f64, *b as f64),
        [kh, kw, i, o] => {
            let field = (*kh * *kw) as f64;
            (field * *i as f64, field * *o as f64)
        }
        _ => (1.0, 1.0),
    }
}

/// Zeroes the taps of a `[kh, kw, in, out]` kernel where filter `out` does not read map `in`.
pub fn mask_connections(kernel: &mut [f32], shape: &[usize], table: &[Vec<usize>]) {
    let (cin, cout) = (shape[2], shape[3]);
    // connected[c * cout + o]: filter o reads map c (one pass over the table).
    let mut connected = vec![false; cin * cout];
    for (o, row) in table.iter().enumerate().take(cout) {
        for &c in row.iter().filter(|&&c| c < cin) {
            connected[c * cout + o] = true;
        }
    }
    for (tap, v) in kernel.iter_mut().enumerate() {
        if !connected[tap % (cin * cout)] {
            *v = 0.0;
        }
    }
}
