//! A diagnostic forward pass for the "Look inside" view: every layer's output and the time
//! each layer took on the backend that ran it.
//!
//! On the CPU path a layer's time is the wall time of its kernel calls (and its fused
//! activation). On WebGPU each layer is submitted and then its output read back before the
//! next one starts (submit-and-wait per layer), so a layer's wall time includes its read-back;
//! where the adapter has timestamp queries, the time its kernels took on the GPU is given too
//! (the context's existing per-submit timestamps, taken after each layer). A normal inference
//! pass ([`super::forward`], [`super::forward_gpu`]) does neither.

use super::forward::{batched, check_input, layer_core};
use super::forward_gpu::{run_layer, GpuWeights};
use super::weights::Weights;
use crate::backend::cpu;
use crate::backend::webgpu::{GpuContext, GpuTensor};
use crate::error::{Error, Result};
use crate::graph::Model;
use crate::ops::activation::Activation;
use crate::tensor::Tensor;

const OP: &str = "inspect";

/// One layer's output and time.
#[derive(Debug, Clone)]
pub struct LayerRun {
    /// The output (`[batch, ...]`).
    pub output: Tensor,
    /// Wall time in ms (on WebGPU, up to its output being read back).
    pub ms: f64,
    /// Time on the GPU in ms (timestamp queries), where the adapter has them.
    pub gpu_ms: Option<f64>,
}

/// Runs every layer on the CPU path, timing each with `clock` (ms). Entry 0 is the input.
pub fn forward_cpu_timed(
    model: &Model,
    weights: &Weights,
    x: &Tensor,
    clock: &dyn Fn() -> f64,
) -> Result<Vec<LayerRun>> {
    let batch = check_input(model, x.shape())?;
    let nodes = model.nodes();
    let mut runs: Vec<LayerRun> = Vec::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        let start = clock();
        let y = if i == 0 {
            x.data().to_vec()
        } else {
            let inputs: Vec<(&[f32], Vec<usize>)> = node
                .inputs
                .iter()
                .map(|&j| (runs[j].output.data(), batched(batch, &nodes[j].output_shape)))
                .collect();
            let out = layer_core(node, &weights.values[i], batch, &inputs, None)?;
            let mut y = out.z;
            if out.activation != Activation::Linear {
                let last = *node.output_shape.last().unwrap_or(&1);
                cpu::activation_in_place(out.activation, &mut y, last)?;
            }
            y
        };
        let ms = clock() - start;
        let output = Tensor::new(OP, &node.name, batched(batch, &node.output_shape), y)?;
        runs.push(LayerRun { output, ms, gpu_ms: None });
    }
    Ok(runs)
}

/// Runs every layer on WebGPU, one submit-and-read-back at a time (see the module docs).
pub async fn forward_gpu_timed(
    ctx: &GpuContext,
    model: &Model,
    weights: &GpuWeights,
    x: &Tensor,
    clock: &dyn Fn() -> f64,
) -> Result<Vec<LayerRun>> {
    let batch = check_input(model, x.shape())?;
    let nodes = model.nodes();
    let mut readers = vec![0usize; nodes.len()];
    for n in nodes {
        for &j in &n.inputs {
            readers[j] += 1;
        }
    }
    let mut values: Vec<Option<GpuTensor>> = (0..nodes.len()).map(|_| None).collect();
    let mut runs = Vec::with_capacity(nodes.len());
    for (i, node) in nodes.iter().enumerate() {
        let start = clock();
        ctx.take_gpu_ms();
        let y = if i == 0 {
            ctx.upload(OP, "x", x.shape(), x.data())?
        } else {
            let inputs: Vec<&GpuTensor> = node
                .inputs
                .iter()
                .map(|&j| {
                    values[j]
                        .as_ref()
                        .ok_or_else(|| Error::backend("inspect: an input was freed early"))
                })
                .collect::<Result<_>>()?;
            run_layer(ctx, node, &weights.values[i], batch, &inputs).await?
        };
        let gpu_ms = ctx.take_gpu_ms();
        let data = ctx.read(&y).await?;
        let ms = clock() - start;
        values[i] = Some(y);
        for &j in &node.inputs {
            readers[j] -= 1;
            if readers[j] == 0 {
                values[j] = None;
            }
        }
        let output = Tensor::new(OP, &node.name, batched(batch, &node.output_shape), data)?;
        runs.push(LayerRun { output, ms, gpu_ms });
    }
    Ok(runs)
}
