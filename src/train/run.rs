//! A training run: a [`Trainer`] on a data set for some epochs, stepping through each epoch's
//! seeded batch order with augmentation, a bounded number of steps at a time (so that the
//! training worker can report progress and honour pause and stop between calls). Its whole
//! state can be checkpointed and restored ([`super::checkpoint`]); a restored run continues
//! bit for bit as the uninterrupted one would have.
//!
//! Seeds: epoch `e` (from 0) visits the images in the order `shuffled(n, seed ^ (e + 1) *
//! 0x9E3779B9)`; the batch of optimizer step `t` (from 0) is augmented with the seed
//! `seed ^ t * 0xA24BAED4`; the trainer mixes the step into dropout's masks. These are the
//! formulas of examples/train_fashion.rs, so the page and the native run agree.

use std::rc::Rc;

use super::augment::Augment;
use super::data::{shuffled, Dataset};
use super::gpu::GpuTrainer;
use super::trainer::Trainer;
use crate::backend::webgpu::GpuContext;
use crate::error::{Error, Result};
use crate::nn::backward::{BatchResult, Gradients};
use crate::tensor::Tensor;

/// The settings of a run besides the model and its optimizer.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunSettings {
    /// Images per step.
    pub batch: usize,
    /// Epochs to run.
    pub epochs: u64,
    /// Augmentation of each batch.
    pub augment: Augment,
}

/// One worker's part of a data-parallel step (see [`TrainingRun::shards`]).
#[derive(Debug, Clone)]
pub struct Shard {
    /// Its images, augmented and normalised.
    pub x: Tensor,
    /// Their labels.
    pub labels: Vec<u32>,
    /// Images of the batch before its first.
    pub offset: usize,
    /// The whole batch's size.
    pub total: usize,
    /// The step's dropout seed ([`Trainer::step_seed`]).
    pub step_seed: u64,
}

/// The running sums of the current epoch (of the one just finished, at an epoch's end).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct EpochSums {
    /// Sum of the batches' mean losses, each times its batch size.
    pub loss: f64,
    /// Images classified right (before each step's update).
    pub correct: usize,
    /// Images seen.
    pub seen: usize,
}

/// A model's training run on one data set (see the module docs).
#[derive(Debug, Clone)]
pub struct TrainingRun {
    /// The model, its weights and its optimizer.
    pub trainer: Trainer,
    /// The training data.
    pub data: Rc<Dataset>,
    /// Batch size, epochs and augmentation.
    pub settings: RunSettings,
    /// Epochs finished.
    pub epoch: u64,
    /// Steps taken in the current epoch.
    pub step_in_epoch: usize,
    /// This epoch's sums.
    pub sums: EpochSums,
    /// [`Dataset::fingerprint`] of `data`, computed once.
    pub data_fingerprint: u64,
    order: Vec<usize>,
}

/// The batch order of epoch `epoch` (from 0).
pub fn epoch_order(images: usize, seed: u64, epoch: u64) -> Vec<usize> {
    shuffled(images, seed ^ (epoch + 1).wrapping_mul(0x9E37_79B9))
}

/// The augmentation seed of the batch of optimizer step `step` (from 0).
pub fn augment_seed(seed: u64, step: u64) -> u64 {
    seed ^ step.wrapping_mul(0xA24B_AED4)
}

impl TrainingRun {
    /// A run from epoch 0. Errors when the data set is smaller than one batch or an option is
    /// out of range.
    pub fn new(trainer: Trainer, data: Rc<Dataset>, settings: RunSettings) -> Result<Self> {
        settings.augment.validate("augment")?;
        if settings.batch == 0 || data.len() < settings.batch {
            return Err(Error::invalid(
                "train",
                "batchSize",
                format!("{} images are fewer than one batch of {}", data.len(), settings.batch),
            ));
        }
        let data_fingerprint = data.fingerprint();
        Ok(Self {
            trainer,
            data,
            settings,
            epoch: 0,
            step_in_epoch: 0,
            sums: EpochSums::default(),
            data_fingerprint,
            order: Vec::new(),
        })
    }

    /// Full batches per epoch (a last partial batch is left out, as Keras's `drop_remainder`).
    pub fn steps_per_epoch(&self) -> usize {
        self.data.len() / self.settings.batch
    }

    /// Whether every epoch has run.
    pub fn done(&self) -> bool {
        self.epoch >= self.settings.epochs
    }

    /// Moves to epoch `epoch`, step `step_in_epoch` (a restored checkpoint's position), with
    /// the epoch's batch order.
    pub(super) fn seek(&mut self, epoch: u64, step_in_epoch: usize, sums: EpochSums) {
        self.epoch = epoch;
        self.step_in_epoch = step_in_epoch;
        self.sums = sums;
        self.order = if step_in_epoch > 0 {
            epoch_order(self.data.len(), self.trainer.seed, epoch)
        } else {
            Vec::new()
        };
    }

    /// Runs up to `steps` optimisation steps, stopping early at the end of an epoch (so each
    /// epoch's end can be reported) or of the run.
    pub fn run_steps(&mut self, steps: usize) -> Result<()> {
        for _ in 0..steps {
            let Some((x, labels)) = self.next_batch()? else { break };
            let r = self.trainer.step(&x, &labels)?;
            if self.record(r, labels.len()) {
                break;
            }
        }
        Ok(())
    }

    /// [`Self::run_steps`] with each step on the device (`gpu` holds the trainer's state there;
    /// `self.trainer`'s weights and slots are stale until [`GpuTrainer::sync`]).
    pub async fn run_steps_gpu(
        &mut self,
        ctx: &GpuContext,
        gpu: &mut GpuTrainer,
        steps: usize,
    ) -> Result<()> {
        for _ in 0..steps {
            let Some((x, labels)) = self.next_batch()? else { break };
            let r = gpu.step(ctx, &mut self.trainer, &x, &labels).await?;
            if self.record(r, labels.len()) {
                break;
            }
        }
        Ok(())
    }

    /// The next step's batch cut into `shards` contiguous parts (sizes differing by at most
    /// one) for data-parallel training, or `None` when the run is done. Nothing advances
    /// until [`Self::finish_shards`]: shard 0 is the caller's own, the others go to workers,
    /// and each computes [`Trainer::shard_gradients`] with the shard's fields.
    pub fn shards(&mut self, shards: usize) -> Result<Option<Vec<Shard>>> {
        let batch = self.settings.batch;
        if shards == 0 || shards > batch {
            return Err(Error::invalid(
                "train",
                "workers",
                format!("{shards} workers for a batch of {batch}: between 1 and the batch size"),
            ));
        }
        let Some((x, labels)) = self.next_batch()? else { return Ok(None) };
        let step_seed = self.trainer.step_seed();
        let per: usize = x.shape()[1..].iter().product();
        let mut out = Vec::with_capacity(shards);
        for k in 0..shards {
            let (a, b) = (k * batch / shards, (k + 1) * batch / shards);
            let mut shape = x.shape().to_vec();
            shape[0] = b - a;
            out.push(Shard {
                x: Tensor::new("train", "shard", shape, x.data()[a * per..b * per].to_vec())?,
                labels: labels[a..b].to_vec(),
                offset: a,
                total: batch,
                step_seed,
            });
        }
        Ok(Some(out))
    }

    /// Ends a data-parallel step: `grads` are the shards' gradients added up (in shard
    /// order, so a given worker count is deterministic), `results` each shard's loss and
    /// count. Applies the update and counts the step; true when it ended an epoch.
    pub fn finish_shards(
        &mut self,
        results: &[(BatchResult, usize)],
        grads: &Gradients,
    ) -> Result<bool> {
        let n: usize = results.iter().map(|r| r.1).sum();
        if n != self.settings.batch {
            return Err(Error::invalid(
                "train",
                "shards",
                format!("results for {n} images, the batch has {}", self.settings.batch),
            ));
        }
        let loss =
            results.iter().map(|(r, k)| f64::from(r.loss) * *k as f64).sum::<f64>() / n as f64;
        let result =
            BatchResult { loss: loss as f32, correct: results.iter().map(|r| r.0.correct).sum() };
        self.trainer.check_loss(&result)?;
        self.trainer.apply(grads)?;
        Ok(self.record(result, n))
    }

    /// The next step's augmented batch, or `None` when the run is done.
    fn next_batch(&mut self) -> Result<Option<(Tensor, Vec<u32>)>> {
        if self.done() {
            return Ok(None);
        }
        if self.step_in_epoch == 0 {
            self.order = epoch_order(self.data.len(), self.trainer.seed, self.epoch);
            self.sums = EpochSums::default();
        }
        let (s, batch) = (self.step_in_epoch, self.settings.batch);
        let (x, labels) = self.data.batch(&self.order[s * batch..(s + 1) * batch])?;
        let seed = augment_seed(self.trainer.seed, self.trainer.optimizer.step);
        let x = self.settings.augment.apply_normalised(&x, seed, self.data.normalization)?;
        Ok(Some((x, labels)))
    }

    /// Counts a finished step; true when it ended an epoch.
    fn record(&mut self, r: BatchResult, n: usize) -> bool {
        self.sums.loss += r.loss as f64 * n as f64;
        self.sums.correct += r.correct;
        self.sums.seen += n;
        self.step_in_epoch += 1;
        if self.step_in_epoch >= self.steps_per_epoch() {
            self.step_in_epoch = 0;
            self.epoch += 1;
            return true;
        }
        false
    }
}
