//! The training loop's core on the CPU path: one optimisation step on a batch, and evaluation
//! with a confusion matrix. The caller (a native example, the worker of a later change) owns
//! the epochs, the batch order and the checkpoints.
//!
//! Determinism: the same model, weights, optimizer, batches and seed give bit-identical
//! weights (no threads, no unordered sums); dropout masks come from `seed` and the step.

use super::data::Dataset;
use super::optimizer::Optimizer;
use crate::error::{Error, Result};
use crate::graph::Model;
use crate::nn::backward::{backward, forward_train_shard, loss, BatchResult, Gradients};
use crate::nn::forward::forward_cpu;
use crate::nn::weights::Weights;
use crate::tensor::Tensor;

/// A model being trained.
#[derive(Debug, Clone)]
pub struct Trainer {
    /// The model.
    pub model: Model,
    /// Its weights.
    pub weights: Weights,
    /// The optimizer and its state.
    pub optimizer: Optimizer,
    /// Mixed into each step's dropout masks.
    pub seed: u64,
}

/// Accuracy, loss and the confusion matrix of a data set.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Fraction classified right.
    pub accuracy: f64,
    /// Mean softmax cross-entropy.
    pub loss: f64,
    /// `confusion[label][predicted]` counts.
    pub confusion: Vec<Vec<u32>>,
}

/// Parameters that weight decay applies to: kernels and RBF centres, not biases or batch
/// norm's scale and shift.
pub(crate) fn decays(name: &str) -> bool {
    matches!(name, "kernel" | "depthwise_kernel" | "pointwise_kernel" | "centers")
}

impl Trainer {
    /// One step: forward in training mode, loss, backward, update. Returns the batch's loss
    /// and correct count (before the update).
    pub fn step(&mut self, x: &Tensor, labels: &[u32]) -> Result<BatchResult> {
        let (result, grads) = self.shard_gradients(x, labels, self.step_seed(), 0, labels.len())?;
        self.apply(&grads)?;
        Ok(result)
    }

    /// The gradients of one shard of a batch: `x` holds images `offset..offset + n` of a batch
    /// of `total` (dropout drops what it would in the whole batch's pass with `step_seed`, and
    /// the gradients are scaled by `n / total`, so the shards' gradients add up to the batch's
    /// mean). Batch norm uses the shard's statistics and updates the moving ones in
    /// `self.weights` (restored if the shard fails). The whole batch is the shard `(0, n)`.
    pub fn shard_gradients(
        &mut self,
        x: &Tensor,
        labels: &[u32],
        step_seed: u64,
        offset: usize,
        total: usize,
    ) -> Result<(BatchResult, Gradients)> {
        if total == 0 || offset + labels.len() > total {
            return Err(Error::invalid(
                "train",
                "shard",
                format!("images {offset}..{} are not in a batch of {total}", offset + labels.len()),
            ));
        }
        // Batch norm's moving statistics change in the forward pass: a step that fails leaves
        // them as they were.
        let moving: Vec<(usize, usize, Vec<f32>)> = self
            .model
            .nodes()
            .iter()
            .enumerate()
            .flat_map(|(i, n)| {
                n.params.iter().enumerate().filter(|(_, p)| !p.trainable).map(move |(k, _)| (i, k))
            })
            .map(|(i, k)| (i, k, self.weights.values[i][k].clone()))
            .collect();
        let restore = |w: &mut Weights| {
            for (i, k, v) in &moving {
                w.values[*i][*k] = v.clone();
            }
        };
        let attempt = |t: &mut Self| -> Result<(BatchResult, Gradients)> {
            let tape = forward_train_shard(&t.model, &mut t.weights, x, step_seed, offset)?;
            let (result, mut seed) = loss(&t.model, &tape, labels)?;
            t.check_loss(&result)?;
            seed.scale(labels.len() as f32 / total as f32);
            let grads = backward(&t.model, &t.weights, &tape, seed)?;
            Ok((result, grads))
        };
        attempt(self).inspect_err(|_| restore(&mut self.weights))
    }

    /// The optimizer's update with gradients `grads` (one step).
    pub fn apply(&mut self, grads: &Gradients) -> Result<()> {
        let p = self.optimizer.begin_step();
        let mut index = 0;
        for (i, node) in self.model.nodes().iter().enumerate() {
            for (k, param) in node.params.iter().enumerate() {
                if !param.trainable {
                    continue;
                }
                self.optimizer.update(
                    index,
                    &p,
                    &mut self.weights.values[i][k],
                    &grads.values[i][k],
                    decays(param.name),
                )?;
                index += 1;
            }
        }
        Ok(())
    }

    /// The seed of this step's dropout masks (the run's seed and the step number).
    pub fn step_seed(&self) -> u64 {
        self.seed ^ self.optimizer.step.wrapping_mul(0xD1B5_4A32_D192_ED03)
    }

    /// Refuses a step whose loss is not finite (the update would poison the weights).
    pub fn check_loss(&self, result: &BatchResult) -> Result<()> {
        if result.loss.is_finite() {
            return Ok(());
        }
        Err(Error::invalid(
            "train",
            "loss",
            format!(
                "became {} at step {}: lower the learning rate",
                result.loss,
                self.optimizer.step + 1
            ),
        ))
    }

    /// Accuracy, loss and confusion matrix over `data`, in batches of `batch` (inference mode).
    pub fn evaluate(&self, data: &Dataset, batch: usize) -> Result<Evaluation> {
        evaluate(&self.model, &self.weights, data, batch)
    }
}

/// [`Trainer::evaluate`] for any model and weights.
pub fn evaluate(
    model: &Model,
    weights: &Weights,
    data: &Dataset,
    batch: usize,
) -> Result<Evaluation> {
    let mut tally = Tally::new(data.classes);
    let indices: Vec<usize> = (0..data.len()).collect();
    for chunk in indices.chunks(batch.max(1)) {
        let (x, labels) = data.batch(chunk)?;
        let (loss, predicted) = inference_loss(model, weights, &x, &labels)?;
        tally.add(loss, &labels, &predicted);
    }
    Ok(tally.finish())
}

/// Sums of an evaluation over batches.
pub struct Tally {
    classes: usize,
    confusion: Vec<Vec<u32>>,
    total_loss: f64,
    count: usize,
}

impl Tally {
    /// Nothing counted yet.
    pub fn new(classes: usize) -> Self {
        Self { classes, confusion: vec![vec![0u32; classes]; classes], total_loss: 0.0, count: 0 }
    }

    /// Counts a batch: its mean loss, labels and predictions.
    pub fn add(&mut self, mean_loss: f64, labels: &[u32], predicted: &[usize]) {
        self.total_loss += mean_loss * labels.len() as f64;
        self.count += labels.len();
        for (&label, &p) in labels.iter().zip(predicted) {
            if (label as usize) < self.classes && p < self.classes {
                self.confusion[label as usize][p] += 1;
            }
        }
    }

    /// Accuracy, mean loss and the confusion matrix.
    pub fn finish(self) -> Evaluation {
        let correct: u32 = (0..self.classes).map(|k| self.confusion[k][k]).sum();
        let n = self.count.max(1) as f64;
        Evaluation {
            accuracy: correct as f64 / n,
            loss: self.total_loss / n,
            confusion: self.confusion,
        }
    }
}

/// Mean cross-entropy of a batch in inference mode (dropout off, batch norm's moving
/// statistics), and each example's predicted class. The output is read as probabilities when it
/// is a softmax, as logits otherwise (LeNet-5's RBF distances negated).
pub fn inference_loss(
    model: &Model,
    weights: &Weights,
    x: &Tensor,
    labels: &[u32],
) -> Result<(f64, Vec<usize>)> {
    let (y, _) = forward_cpu(model, weights, x, &[])?;
    score_outputs(model, y.data(), labels)
}

/// [`inference_loss`] of outputs already computed (on any backend).
pub fn score_outputs(model: &Model, y: &[f32], labels: &[u32]) -> Result<(f64, Vec<usize>)> {
    let node = &model.nodes()[model.output()];
    let width = *node.output_shape.last().unwrap_or(&1);
    if labels.len() * width != y.len() {
        return Err(Error::invalid(
            "evaluate",
            "labels",
            format!("{} labels for {} outputs of {width}", labels.len(), y.len()),
        ));
    }
    let sign = if matches!(node.layer, crate::nn::Layer::Rbf { .. }) { -1.0f64 } else { 1.0 };
    let softmax = matches!(
        crate::nn::backward::ending_activation(node),
        crate::ops::activation::Activation::Softmax
    );
    let (mut total, mut predicted) = (0.0f64, Vec::with_capacity(labels.len()));
    for (row, &label) in y.chunks_exact(width).zip(labels) {
        let row: Vec<f64> = row.iter().map(|&v| sign * v as f64).collect();
        let best = row.iter().enumerate().fold(0, |b, (i, v)| if *v > row[b] { i } else { b });
        predicted.push(best);
        let p = if softmax {
            row.get(label as usize).copied().unwrap_or(0.0)
        } else {
            let max = row.iter().fold(f64::MIN, |m, &v| m.max(v));
            let z: f64 = row.iter().map(|&v| (v - max).exp()).sum();
            (row.get(label as usize).copied().unwrap_or(f64::MIN) - max).exp() / z
        };
        total -= p.max(1e-30).ln();
    }
    Ok((total / labels.len().max(1) as f64, predicted))
}
