//! Training from JavaScript: `Dataset.fromIdx` (IDX bytes, gzip or not), and `Trainer`, which
//! runs a bounded number of optimisation steps per call so that the caller (the training
//! worker, www/js/train-worker.js) can report progress and honour pause and stop between calls.
//! Models gain `saveWeights` / `loadWeights` (safetensors bytes) and `evaluate`.

use std::rc::Rc;

use js_sys::{Array, Object};
use wasm_bindgen::prelude::*;

use super::model::JsModel;
use super::{args, js_error, set};
use crate::error::{Error, Result};
use crate::io::safetensors;
use crate::nn::Weights;
use crate::train::augment::Augment;
use crate::train::data::{maybe_gunzip, shuffled};
use crate::train::trainer::evaluate;
use crate::train::{Dataset, Optimizer, OptimizerConfig, OptimizerKind, Schedule, Trainer};

#[wasm_bindgen(typescript_custom_section)]
const TS_TRAINING: &str = r#"
export interface DatasetOptions { classes?: number; mean?: number; std?: number; imagesName?: string; labelsName?: string; }
export interface TrainerOptions {
  optimizer?: "sgd" | "momentum" | "nesterov" | "rmsprop" | "adam" | "nadam";
  learningRate?: number; schedule?: "constant" | "cosine"; weightDecay?: number;
  batchSize?: number; epochs?: number; seed?: number; maxShift?: number; flip?: boolean;
}
export interface TrainProgress { epoch: number; step: number; stepsPerEpoch: number; epochs: number; loss: number; accuracy: number; samples: number; learningRate: number; done: boolean; }
export interface EvaluationResult { accuracy: number; loss: number; confusion: number[][]; }
"#;

/// A labelled image set (bytes; normalised per batch).
#[wasm_bindgen(js_name = Dataset)]
pub struct JsDataset {
    pub(super) inner: Rc<Dataset>,
}

#[wasm_bindgen(js_class = Dataset)]
impl JsDataset {
    /// Images and labels from IDX files (gzip-compressed or not). Errors name the file.
    #[wasm_bindgen(js_name = fromIdx)]
    pub fn from_idx(
        images: &[u8],
        labels: &[u8],
        #[wasm_bindgen(unchecked_param_type = "DatasetOptions | undefined")] options: JsValue,
    ) -> std::result::Result<JsDataset, JsError> {
        Self::read(images, labels, &options).map_err(js_error)
    }

    fn read(images: &[u8], labels: &[u8], options: &JsValue) -> Result<JsDataset> {
        const OP: &str = "Dataset.fromIdx";
        let options =
            args::options(OP, options, &["classes", "mean", "std", "imagesName", "labelsName"])?;
        let classes = args::optional_integer(OP, &options, "classes", 2)?.unwrap_or(10);
        let mean = args::optional_number(OP, &options, "mean")?.unwrap_or(0.0);
        let std = args::optional_number(OP, &options, "std")?.unwrap_or(1.0);
        if std <= 0.0 {
            return Err(Error::invalid(OP, "std", format!("must be positive, got {std}")));
        }
        let images_name =
            args::string(OP, &options, "imagesName")?.unwrap_or_else(|| "images".into());
        let labels_name =
            args::string(OP, &options, "labelsName")?.unwrap_or_else(|| "labels".into());
        let images = maybe_gunzip(&images_name, images)?;
        let labels = maybe_gunzip(&labels_name, labels)?;
        let data =
            Dataset::from_idx(&images_name, &images, &labels_name, &labels, classes, (mean, std))?;
        Ok(JsDataset { inner: Rc::new(data) })
    }

    /// Number of images.
    #[wasm_bindgen(getter)]
    pub fn length(&self) -> usize {
        self.inner.len()
    }

    /// `[height, width, channels]` of one image.
    #[wasm_bindgen(getter, js_name = imageShape)]
    pub fn image_shape(&self) -> Vec<usize> {
        self.inner.shape.to_vec()
    }

    /// `[first, last n]`: the chapter holds out the last 5,000 training images for validation.
    #[wasm_bindgen(js_name = splitLast, unchecked_return_type = "[Dataset, Dataset]")]
    pub fn split_last(&self, n: usize) -> std::result::Result<Array, JsError> {
        let (a, b) = self.inner.split_last(n).map_err(js_error)?;
        let out = Array::new();
        out.push(&JsDataset { inner: Rc::new(a) }.into());
        out.push(&JsDataset { inner: Rc::new(b) }.into());
        Ok(out)
    }
}

/// A training run of one model: settings, weights, optimizer state and the position in the
/// current epoch's (seeded) batch order.
#[wasm_bindgen(js_name = Trainer)]
pub struct JsTrainer {
    trainer: Trainer,
    data: Rc<Dataset>,
    batch: usize,
    epochs: u64,
    epoch: u64,
    step_in_epoch: usize,
    order: Vec<usize>,
    augment: Augment,
    sums: (f64, usize, usize),
}

/// The options; a cosine schedule's length is filled in by the caller (it needs the data).
fn trainer_options(options: &JsValue) -> Result<(OptimizerConfig, usize, u64, u64, Augment)> {
    const OP: &str = "Trainer";
    let allowed = [
        "optimizer",
        "learningRate",
        "schedule",
        "weightDecay",
        "batchSize",
        "epochs",
        "seed",
        "maxShift",
        "flip",
    ];
    let options = args::options(OP, options, &allowed)?;
    let kind = OptimizerKind::keras(
        &args::string(OP, &options, "optimizer")?.unwrap_or_else(|| "adam".into()),
    )?;
    let learning_rate = args::optional_number(OP, &options, "learningRate")?.unwrap_or(1e-3);
    let batch = args::optional_integer(OP, &options, "batchSize", 1)?.unwrap_or(32);
    let epochs = args::optional_integer(OP, &options, "epochs", 1)?.unwrap_or(1) as u64;
    let seed = args::optional_integer(OP, &options, "seed", 0)?.unwrap_or(0) as u64;
    let schedule = match args::string(OP, &options, "schedule")?.as_deref() {
        None | Some("constant") => Schedule::Constant,
        Some("cosine") => Schedule::Cosine { steps: 1, floor: 0.01 },
        Some(other) => {
            return Err(Error::invalid(
                OP,
                "schedule",
                format!("{other:?} is not constant or cosine"),
            ))
        }
    };
    let weight_decay = args::optional_number(OP, &options, "weightDecay")?.unwrap_or(0.0);
    let max_shift = args::optional_integer(OP, &options, "maxShift", 0)?.unwrap_or(0);
    let flip = js_sys::Reflect::get(&options, &"flip".into())
        .ok()
        .and_then(|v| v.as_bool())
        .unwrap_or(false);
    if batch > 4096 || epochs > 10_000 || max_shift > 64 {
        return Err(Error::invalid(
            OP,
            "options",
            "batchSize at most 4096, epochs at most 10000, maxShift at most 64",
        ));
    }
    Ok((
        OptimizerConfig { kind, learning_rate, schedule, weight_decay },
        batch,
        epochs,
        seed,
        Augment { max_shift, flip },
    ))
}

#[wasm_bindgen(js_class = Trainer)]
impl JsTrainer {
    /// A run for `model` (its current weights, initialised if it has none) on `data`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        model: &JsModel,
        data: &JsDataset,
        #[wasm_bindgen(unchecked_param_type = "TrainerOptions | undefined")] options: JsValue,
    ) -> std::result::Result<JsTrainer, JsError> {
        let (mut config, batch, epochs, seed, augment) =
            trainer_options(&options).map_err(js_error)?;
        if let Schedule::Cosine { floor, .. } = config.schedule {
            let steps = epochs * (data.inner.len() / batch).max(1) as u64;
            config.schedule = Schedule::Cosine { steps, floor };
        }
        if data.inner.len() < batch {
            return Err(JsError::new(&format!(
                "Trainer: {} images are fewer than one batch of {batch}",
                data.inner.len()
            )));
        }
        let (graph, weights) = model.model_and_weights().map_err(js_error)?;
        crate::nn::forward::check_input(
            &graph,
            &[batch, data.inner.shape[0], data.inner.shape[1], data.inner.shape[2]],
        )
        .map_err(js_error)?;
        let trainer = Trainer {
            model: graph,
            weights,
            optimizer: Optimizer::new(config).map_err(js_error)?,
            seed,
        };
        Ok(JsTrainer {
            trainer,
            data: Rc::clone(&data.inner),
            batch,
            epochs,
            epoch: 0,
            step_in_epoch: 0,
            order: Vec::new(),
            augment,
            sums: (0.0, 0, 0),
        })
    }

    /// Runs up to `steps` optimisation steps on the trainer's data set, stopping early at the
    /// end of an epoch, and reports the running loss and accuracy of the epoch (of the one just
    /// finished, when the call ended one: then `step` is 0).
    #[wasm_bindgen(js_name = runSteps, unchecked_return_type = "TrainProgress")]
    pub fn run_steps(&mut self, steps: usize) -> std::result::Result<JsValue, JsError> {
        let d = Rc::clone(&self.data);
        let per_epoch = d.len() / self.batch;
        for _ in 0..steps {
            if self.epoch >= self.epochs {
                break;
            }
            if self.step_in_epoch == 0 {
                self.order = shuffled(
                    d.len(),
                    self.trainer.seed ^ (self.epoch + 1).wrapping_mul(0x9E37_79B9),
                );
                self.sums = (0.0, 0, 0);
            }
            let s = self.step_in_epoch;
            let (x, labels) =
                d.batch(&self.order[s * self.batch..(s + 1) * self.batch]).map_err(js_error)?;
            let fill = -d.normalization.0 / d.normalization.1;
            let x = self
                .augment
                .apply(
                    &x,
                    self.trainer.seed ^ self.trainer.optimizer.step.wrapping_mul(0xA24B_AED4),
                    fill,
                )
                .map_err(js_error)?;
            let r = self.trainer.step(&x, &labels).map_err(js_error)?;
            self.sums.0 += r.loss as f64 * labels.len() as f64;
            self.sums.1 += r.correct;
            self.sums.2 += labels.len();
            self.step_in_epoch += 1;
            if self.step_in_epoch >= per_epoch {
                self.step_in_epoch = 0;
                self.epoch += 1;
                break; // a call never crosses an epoch's end, so each end gets its report
            }
        }
        let o = Object::new();
        let n = self.sums.2.max(1) as f64;
        set(&o, "epoch", self.epoch as f64);
        set(&o, "step", self.step_in_epoch as f64);
        set(&o, "stepsPerEpoch", per_epoch as f64);
        set(&o, "epochs", self.epochs as f64);
        set(&o, "loss", self.sums.0 / n);
        set(&o, "accuracy", self.sums.1 as f64 / n);
        set(&o, "samples", self.sums.2 as f64);
        set(&o, "learningRate", self.trainer.optimizer.learning_rate());
        set(&o, "done", self.epoch >= self.epochs);
        Ok(o.into())
    }

    /// Accuracy, loss and confusion matrix of the current weights on `data`.
    #[wasm_bindgen(unchecked_return_type = "EvaluationResult")]
    pub fn evaluate(&self, data: &JsDataset) -> std::result::Result<JsValue, JsError> {
        evaluation(&self.trainer.model, &self.trainer.weights, &data.inner)
    }

    /// The current weights as a safetensors file.
    #[wasm_bindgen(js_name = saveWeights)]
    pub fn save_weights(&self) -> std::result::Result<Vec<u8>, JsError> {
        safetensors::save(&self.trainer.model, &self.trainer.weights).map_err(js_error)
    }
}

/// `{accuracy, loss, confusion}` as a plain object.
pub(super) fn evaluation(
    model: &crate::graph::Model,
    weights: &Weights,
    data: &Dataset,
) -> std::result::Result<JsValue, JsError> {
    let e = evaluate(model, weights, data, 100).map_err(js_error)?;
    let o = Object::new();
    set(&o, "accuracy", e.accuracy);
    set(&o, "loss", e.loss);
    let rows = Array::new();
    for row in &e.confusion {
        let r = Array::new();
        for &v in row {
            r.push(&JsValue::from(v));
        }
        rows.push(&r);
    }
    set(&o, "confusion", rows);
    Ok(o.into())
}
