//! Checkpoints of a training run: everything a run needs to continue as if it had never
//! stopped, in one safetensors file (so numpy and PyTorch can read the weights out of it too).
//!
//! Tensors (all `F32`, Keras's shapes): the parameters as in a weights file,
//! `<layer>/<param>`; the optimizer's state per trainable parameter, `slots/a/<layer>/<param>`
//! (velocity, mean square or first moment) and `slots/b/<layer>/<param>` (second moment), where
//! the optimizer has them. `__metadata__`: `format` = `convlab-checkpoint`, `version` = `1`,
//! `spec` (the model spec as compact JSON) and `state`, a JSON [`State`]: the optimizer's step
//! count and Nadam product (as the bits of the f64), the position in the run (epoch, step in
//! the epoch, the epoch's running sums), the seed (the batch orders, the augmentation and the
//! dropout masks all follow from it and the step counts), and what the run was set up with
//! (optimizer settings, batch size, augmentation, the data set's size and fingerprint), which a
//! restore checks so that a checkpoint continues only the run it came from.
//!
//! [`slot_weights`] and [`restore_slots`] lay the optimizer's state out as [`Weights`], which
//! is also how examples/train_fashion.rs keeps it (as weights files of their own).

use std::collections::{BTreeSet, HashMap};

use safetensors::{Dtype, SafeTensors};
use serde::{Deserialize, Serialize};

use super::optimizer::{Optimizer, Slots};
use super::run::{EpochSums, TrainingRun};
use crate::error::{Error, Result};
use crate::graph::model::MAX_PARAMS;
use crate::graph::Model;
use crate::io::safetensors::F32View;
use crate::nn::weights::Weights;

/// The `format` value of a checkpoint's metadata.
pub const FORMAT: &str = "convlab-checkpoint";
/// The `version` this module writes and reads.
pub const VERSION: &str = "1";
/// The largest checkpoint read: weights and two slots of the largest model, plus headers.
pub const MAX_CHECKPOINT_BYTES: u64 = 3 * 4 * MAX_PARAMS + (64 << 20);

/// The run's position and set-up, as the checkpoint's `state` metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct State {
    /// Optimizer steps taken.
    pub optimizer_step: u64,
    /// Nadam's product of momentum factors, `f64::to_bits`.
    pub nadam_product_bits: u64,
    /// Epochs finished.
    pub epoch: u64,
    /// Steps taken in the current epoch.
    pub step_in_epoch: usize,
    /// The epoch's loss sum, `f64::to_bits`.
    pub loss_sum_bits: u64,
    /// Images classified right this epoch.
    pub correct: usize,
    /// Images seen this epoch.
    pub seen: usize,
    /// The run's seed.
    pub seed: u64,
    /// Batch size.
    pub batch: usize,
    /// Epochs the run was set up for.
    pub epochs: u64,
    /// The optimizer's settings (`Debug` text: exact, as Rust prints floats round-trip).
    pub optimizer: String,
    /// The augmentation (`Debug` text).
    pub augment: String,
    /// Images in the training set.
    pub images: usize,
    /// [`super::Dataset::fingerprint`] of the training set, as 16 hex digits.
    pub data_fingerprint: String,
}

fn error(detail: impl std::fmt::Display) -> Error {
    Error::spec(format!("checkpoint: {detail}"))
}

/// The optimizer's first (`second == false`) or second slot of every trainable parameter, laid
/// out as the model's weights (zeros where a parameter has none: not trainable, or no step yet).
pub fn slot_weights(model: &Model, optimizer: &Optimizer, second: bool) -> Weights {
    let mut values = Vec::with_capacity(model.nodes().len());
    let mut index = 0;
    for node in model.nodes() {
        let mut per = Vec::with_capacity(node.params.len());
        for p in &node.params {
            let len: usize = p.shape.iter().product();
            let slot = if p.trainable {
                index += 1;
                optimizer.slots.get(index - 1).map(|s| if second { &s.b } else { &s.a })
            } else {
                None
            };
            per.push(slot.filter(|s| s.len() == len).cloned().unwrap_or_else(|| vec![0.0; len]));
        }
        values.push(per);
    }
    Weights { values }
}

/// The inverse of [`slot_weights`]: sets the optimizer's slots from the two layouts.
pub fn restore_slots(model: &Model, optimizer: &mut Optimizer, a: &Weights, b: &Weights) {
    optimizer.slots.clear();
    for (i, node) in model.nodes().iter().enumerate() {
        for (k, p) in node.params.iter().enumerate() {
            if p.trainable {
                optimizer
                    .slots
                    .push(Slots { a: a.values[i][k].clone(), b: b.values[i][k].clone() });
            }
        }
    }
}

fn slot_name(which: char, layer: &str, param: &str) -> String {
    format!("slots/{which}/{layer}/{param}")
}

/// What `run` was set up with and where it is.
fn state_of(run: &TrainingRun) -> State {
    let t = &run.trainer;
    State {
        optimizer_step: t.optimizer.step,
        nadam_product_bits: t.optimizer.nadam_product.to_bits(),
        epoch: run.epoch,
        step_in_epoch: run.step_in_epoch,
        loss_sum_bits: run.sums.loss.to_bits(),
        correct: run.sums.correct,
        seen: run.sums.seen,
        seed: t.seed,
        batch: run.settings.batch,
        epochs: run.settings.epochs,
        optimizer: format!("{:?}", t.optimizer.config),
        augment: format!("{:?}", run.settings.augment),
        images: run.data.len(),
        data_fingerprint: format!("{:016x}", run.data_fingerprint),
    }
}

/// The run as checkpoint bytes (see the module docs).
pub fn save(run: &TrainingRun) -> Result<Vec<u8>> {
    let t = &run.trainer;
    let nodes = t.model.nodes();
    if t.weights.values.len() != nodes.len() {
        return Err(error("the weights do not match the model"));
    }
    let mut tensors = Vec::new();
    let mut index = 0;
    for (node, values) in nodes.iter().zip(&t.weights.values) {
        for (k, p) in node.params.iter().enumerate() {
            let v = values.get(k).ok_or_else(|| error("the weights do not match the model"))?;
            tensors.push((
                format!("{}/{}", node.name, p.name),
                F32View { shape: &p.shape, values: v },
            ));
            if !p.trainable {
                continue;
            }
            if let Some(slots) = t.optimizer.slots.get(index) {
                for (which, s) in [('a', &slots.a), ('b', &slots.b)] {
                    if !s.is_empty() {
                        tensors.push((
                            slot_name(which, &node.name, p.name),
                            F32View { shape: &p.shape, values: s },
                        ));
                    }
                }
            }
            index += 1;
        }
    }
    let state = serde_json::to_string(&state_of(run)).map_err(error)?;
    let metadata = [
        ("format".to_string(), FORMAT.to_string()),
        ("version".to_string(), VERSION.to_string()),
        ("spec".to_string(), t.model.spec().to_json()),
        ("state".to_string(), state),
    ];
    safetensors::serialize(tensors, Some(metadata.into_iter().collect())).map_err(error)
}

/// Continues `run` from a checkpoint written by [`save`] for the same model, optimizer
/// settings, seed, batch size, augmentation and data. Nothing changes unless all of it checks
/// out; the error says what differs.
pub fn restore(run: &mut TrainingRun, bytes: &[u8]) -> Result<()> {
    if bytes.len() as u64 > MAX_CHECKPOINT_BYTES {
        return Err(error(format!(
            "{} bytes is over the limit of {MAX_CHECKPOINT_BYTES}",
            bytes.len()
        )));
    }
    let file = SafeTensors::deserialize(bytes)
        .map_err(|e| error(format!("not a checkpoint file (safetensors: {e})")))?;
    let (_, meta) = SafeTensors::read_metadata(bytes).map_err(error)?;
    let meta: HashMap<String, String> =
        meta.metadata().iter().flatten().map(|(k, v)| (k.clone(), v.clone())).collect();
    match meta.get("format").map(String::as_str) {
        Some(FORMAT) => {}
        Some("convlab-weights") => {
            return Err(error(
                "this is a weights file, not a checkpoint (load it with model.loadWeights)",
            ))
        }
        other => return Err(error(format!("its metadata says format {other:?}, not {FORMAT:?}"))),
    }
    if meta.get("version").map(String::as_str) != Some(VERSION) {
        return Err(error(format!(
            "version {:?}; this convlab reads version {VERSION:?}",
            meta.get("version")
        )));
    }
    let model = &run.trainer.model;
    if meta.get("spec") != Some(&model.spec().to_json()) {
        return Err(error(
            "it was written for a different model (its spec differs from this one's)",
        ));
    }
    let saved: State = serde_json::from_str(meta.get("state").map_or("", String::as_str))
        .map_err(|e| error(format!("its state is unreadable ({e})")))?;
    check_state(&saved, &state_of(run))?;

    let read = |name: &str, shape: &[usize]| -> Result<Option<Vec<f32>>> {
        let Ok(view) = file.tensor(name) else { return Ok(None) };
        if view.dtype() != Dtype::F32 || view.shape() != shape {
            return Err(error(format!(
                "tensor '{name}' is {:?} {:?}, the model needs F32 {shape:?}",
                view.dtype(),
                view.shape()
            )));
        }
        let mut v = Vec::new();
        v.try_reserve_exact(view.data().len() / 4).map_err(|_| error("out of memory"))?;
        v.extend(view.data().chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])));
        Ok(Some(v))
    };
    let slots_count = run.trainer.optimizer.config.kind.slots();
    let mut known = BTreeSet::new();
    let mut weights = Vec::with_capacity(model.nodes().len());
    let mut slots = Vec::new();
    for node in model.nodes() {
        let mut per = Vec::with_capacity(node.params.len());
        for p in &node.params {
            let name = format!("{}/{}", node.name, p.name);
            per.push(read(&name, &p.shape)?.ok_or_else(|| error(format!("no tensor '{name}'")))?);
            known.insert(name);
            if !p.trainable || saved.optimizer_step == 0 {
                continue;
            }
            let mut pair = [Vec::new(), Vec::new()];
            for (n, which) in ['a', 'b'].into_iter().enumerate() {
                let name = slot_name(which, &node.name, p.name);
                match read(&name, &p.shape)? {
                    Some(v) => pair[n] = v,
                    None if n < slots_count => {
                        return Err(error(format!("no tensor '{name}' (the optimizer's state)")))
                    }
                    None => {}
                }
                known.insert(name);
            }
            let [a, b] = pair;
            slots.push(Slots { a, b });
        }
        weights.push(per);
    }
    if let Some(extra) = file.names().into_iter().find(|n| !known.contains(*n)) {
        return Err(error(format!("tensor '{extra}' is not part of this model's run")));
    }

    let t = &mut run.trainer;
    t.weights = Weights { values: weights };
    t.optimizer.slots = slots;
    t.optimizer.step = saved.optimizer_step;
    t.optimizer.nadam_product = f64::from_bits(saved.nadam_product_bits);
    let sums = EpochSums {
        loss: f64::from_bits(saved.loss_sum_bits),
        correct: saved.correct,
        seen: saved.seen,
    };
    run.seek(saved.epoch, saved.step_in_epoch, sums);
    Ok(())
}

/// Whether the saved set-up is this run's; else what differs.
fn check_state(saved: &State, now: &State) -> Result<()> {
    let differs = |what: &str, a: &dyn std::fmt::Display, b: &dyn std::fmt::Display| {
        Err(error(format!("it was written with {what} {a}, this run has {b}")))
    };
    if saved.optimizer != now.optimizer {
        return differs("the optimizer", &saved.optimizer, &now.optimizer);
    }
    if saved.seed != now.seed {
        return differs("seed", &saved.seed, &now.seed);
    }
    if saved.batch != now.batch {
        return differs("batch size", &saved.batch, &now.batch);
    }
    if saved.augment != now.augment {
        return differs("augmentation", &saved.augment, &now.augment);
    }
    if saved.images != now.images || saved.data_fingerprint != now.data_fingerprint {
        return Err(error(format!(
            "it was written for a different training set ({} images, fingerprint {}; this \
             run's has {} images, fingerprint {})",
            saved.images, saved.data_fingerprint, now.images, now.data_fingerprint
        )));
    }
    if saved.epoch > now.epochs || (saved.epoch == now.epochs && saved.step_in_epoch > 0) {
        return differs("epochs done", &saved.epoch, &format!("{} epochs in all", now.epochs));
    }
    let per_epoch = now.images / now.batch.max(1);
    if saved.step_in_epoch >= per_epoch.max(1) || saved.seen > per_epoch * now.batch {
        return Err(error(format!(
            "its position (step {} of an epoch of {per_epoch}) is impossible",
            saved.step_in_epoch
        )));
    }
    Ok(())
}
