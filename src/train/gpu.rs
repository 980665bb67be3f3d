//! Training on WebGPU: a [`Trainer`]'s weights and optimizer state on the device, one step at
//! a time ([`GpuTrainer::step`]: forward with a tape, loss, backward, and every parameter's
//! update in one submission), evaluation with the device's forward pass, and [`GpuTrainer::sync`]
//! to bring weights and optimizer state back into the `Trainer` (to save them, checkpoint or
//! continue on the CPU path).
//!
//! The step follows the CPU path's step exactly (same dropout masks, loss function, update
//! formulas and parameter order); results differ only by float rounding (summation order in
//! the kernels, fused multiply-adds). Between steps `trainer.weights` and the optimizer's
//! slots are stale; its step counter and Nadam product are current.

use super::data::Dataset;
use super::trainer::{decays, Evaluation, Tally, Trainer};
use crate::backend::webgpu::{GpuContext, GpuTensor, ParamUpdate};
use crate::error::{Error, Result};
use crate::graph::{Model, Node};
use crate::nn::backward::BatchResult;
use crate::nn::backward_gpu::{backward_gpu, check_trainable_on_gpu, forward_train_gpu, loss_gpu};
use crate::nn::forward_gpu::{forward_gpu, GpuWeights};
use crate::nn::layer::Layer;
use crate::nn::weights::mask_connections;
use crate::tensor::Tensor;

/// A trainer's state on the device.
pub struct GpuTrainer {
    weights: GpuWeights,
    /// Per trainable parameter (optimizer order): the slots the optimizer keeps.
    slots: Vec<[Option<GpuTensor>; 2]>,
    /// Per node: a connection table's kernel mask (LeNet-5's C3).
    masks: Vec<Option<GpuTensor>>,
}

/// Where parameter `k` of `node` lives among the device's forms ([`GpuWeights`]): batch norm
/// always holds gamma, beta, mean, variance there, whichever the layer has.
fn device_index(node: &Node, k: usize) -> usize {
    match node.layer {
        Layer::BatchNormalization { .. } => match node.params[k].name {
            "gamma" => 0,
            "beta" => 1,
            "moving_mean" => 2,
            _ => 3,
        },
        _ => k,
    }
}

impl GpuTrainer {
    /// Uploads the trainer's weights and optimizer state (zeros where it has none yet).
    pub fn new(ctx: &GpuContext, trainer: &Trainer) -> Result<Self> {
        let model = &trainer.model;
        check_trainable_on_gpu(model)?;
        // One untimed submission per kernel: timestamp read-backs would stall every launch.
        ctx.set_timing(false);
        let weights = GpuWeights::upload(ctx, model, &trainer.weights)?;
        let wanted = trainer.optimizer.config.kind.slots();
        let mut slots = Vec::new();
        let mut masks = Vec::with_capacity(model.nodes().len());
        for (i, node) in model.nodes().iter().enumerate() {
            masks.push(match &node.layer {
                Layer::Conv2D(c) if c.connections.is_some() => {
                    let shape = &node.params[0].shape;
                    let mut mask = vec![1.0f32; shape.iter().product()];
                    mask_connections(&mut mask, shape, c.connections.as_deref().unwrap_or(&[]));
                    Some(ctx.upload(&node.name, "connections", shape, &mask)?)
                }
                _ => None,
            });
            for (k, param) in node.params.iter().enumerate() {
                if !param.trainable {
                    continue;
                }
                let index = slots.len();
                let len = trainer.weights.values[i][k].len();
                let kept = trainer.optimizer.slots.get(index);
                let slot = |n: usize, values: Option<&Vec<f32>>| -> Result<Option<GpuTensor>> {
                    if wanted <= n {
                        return Ok(None);
                    }
                    let zeros;
                    let data = match values.filter(|v| v.len() == len) {
                        Some(v) => v.as_slice(),
                        None => {
                            zeros = vec![0.0f32; len];
                            &zeros
                        }
                    };
                    Ok(Some(ctx.upload(&node.name, "optimizer slot", &[len], data)?))
                };
                slots.push([slot(0, kept.map(|s| &s.a))?, slot(1, kept.map(|s| &s.b))?]);
            }
        }
        Ok(Self { weights, slots, masks })
    }

    /// One optimisation step on the batch `x`, `labels`: the batch's loss and correct count
    /// (before the update). A step that fails changes nothing but the optimizer's counters
    /// when it fails after they advanced (in the update itself).
    pub async fn step(
        &mut self,
        ctx: &GpuContext,
        trainer: &mut Trainer,
        x: &Tensor,
        labels: &[u32],
    ) -> Result<BatchResult> {
        let model = &trainer.model;
        let mut tape = forward_train_gpu(ctx, model, &self.weights, x, trainer.step_seed()).await?;
        let (result, seed) = loss_gpu(ctx, model, &tape, labels).await?;
        trainer.check_loss(&result)?;
        let grads = backward_gpu(ctx, model, &self.weights, &self.masks, &tape, seed).await?;
        // Batch norm's moving statistics change only once the step is known to be good.
        tape.commit_moving(&mut self.weights);
        drop(tape);
        let p = trainer.optimizer.begin_step();
        let mut zeros = Vec::new();
        let mut plan = Vec::new();
        for (i, node) in model.nodes().iter().enumerate() {
            for (k, param) in node.params.iter().enumerate() {
                if !param.trainable {
                    continue;
                }
                let rule = trainer.optimizer.rule(&p, decays(param.name));
                if grads.values[i][k].is_none() {
                    // A parameter the loss does not reach: a zero gradient, as on the CPU path.
                    let w = &self.weights.values[i][device_index(node, k)];
                    let zero = vec![0.0; w.len()];
                    zeros.push(((i, k), ctx.upload(&node.name, "gradient", w.shape(), &zero)?));
                }
                plan.push((i, k, rule));
            }
        }
        let mut updates = Vec::with_capacity(plan.len());
        for (index, &(i, k, rule)) in plan.iter().enumerate() {
            let w = &self.weights.values[i][device_index(&model.nodes()[i], k)];
            let g = match &grads.values[i][k] {
                Some(g) => g,
                None => {
                    let zero = zeros.iter().find(|(at, _)| *at == (i, k));
                    &zero.ok_or_else(|| Error::backend("train: a gradient is missing"))?.1
                }
            };
            let [a, b] = &self.slots[index];
            let m = a.as_ref().unwrap_or(w);
            let v = b.as_ref().unwrap_or(m);
            updates.push(ParamUpdate { w, g, m, v, rule });
        }
        ctx.apply_updates(&updates).await?;
        Ok(result)
    }

    /// Copies the device's weights and optimizer slots into `trainer`.
    pub async fn sync(&self, ctx: &GpuContext, trainer: &mut Trainer) -> Result<()> {
        let mut index = 0;
        for (i, node) in trainer.model.nodes().iter().enumerate() {
            for (k, param) in node.params.iter().enumerate() {
                let t = &self.weights.values[i][device_index(node, k)];
                trainer.weights.values[i][k] = ctx.read(t).await?;
                if !param.trainable {
                    continue;
                }
                let optimizer = &mut trainer.optimizer;
                while optimizer.slots.len() <= index {
                    optimizer.slots.push(super::optimizer::Slots { a: Vec::new(), b: Vec::new() });
                }
                let [a, b] = &self.slots[index];
                if let Some(a) = a {
                    optimizer.slots[index].a = ctx.read(a).await?;
                }
                if let Some(b) = b {
                    optimizer.slots[index].b = ctx.read(b).await?;
                }
                index += 1;
            }
        }
        Ok(())
    }

    /// Accuracy, loss and confusion matrix of `data` with the device's weights (inference).
    pub async fn evaluate(
        &self,
        ctx: &GpuContext,
        model: &Model,
        data: &Dataset,
        batch: usize,
    ) -> Result<Evaluation> {
        let mut tally = Tally::new(data.classes);
        let indices: Vec<usize> = (0..data.len()).collect();
        for chunk in indices.chunks(batch.max(1)) {
            let (x, labels) = data.batch(chunk)?;
            let (y, _) = forward_gpu(ctx, model, &self.weights, &x, &[]).await?;
            let (loss, predicted) = super::trainer::score_outputs(model, y.data(), &labels)?;
            tally.add(loss, &labels, &predicted);
        }
        Ok(tally.finish())
    }
}
