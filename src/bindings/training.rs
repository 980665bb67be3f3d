//! Training from JavaScript: `Dataset.fromIdx` (IDX bytes, gzip or not) and `Dataset.preview`
//! (augmented samples for display), and `Trainer`, which runs a bounded number of optimisation
//! steps per call so that the caller (the training worker, www/js/train-worker.js) can report
//! progress and honour pause and stop between calls, and which checkpoints and restores its
//! whole state (`checkpoint`, `restore`, the `resume` option). Models gain `saveWeights` /
//! `loadWeights` (safetensors bytes) and `evaluate`.

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Float32Array, Object, Promise, Uint8Array};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::model::{into_js, JsModel};
use super::{args, js_error, set};
use crate::backend::webgpu::GpuContext;
use crate::error::{Error, Result};
use crate::io::safetensors;
use crate::nn::backward::{BatchResult, Gradients};
use crate::nn::Weights;
use crate::train::augment::Augment;
use crate::train::checkpoint;
use crate::train::data::maybe_gunzip;
use crate::train::gpu::GpuTrainer;
use crate::train::trainer::evaluate;
use crate::train::{
    Dataset, Optimizer, OptimizerConfig, OptimizerKind, RunSettings, Schedule, Shard, Trainer,
    TrainingRun,
};

#[wasm_bindgen(typescript_custom_section)]
const TS_TRAINING: &str = r#"
export interface DatasetOptions { classes?: number; mean?: number; std?: number; imagesName?: string; labelsName?: string; }
export interface AugmentOptions {
  /** Largest shift in pixels (0 to 64). */ maxShift?: number;
  /** Mirror left-right at random. */ flip?: boolean;
  /** Largest rotation in degrees, either way (0 to 180). */ rotation?: number;
  /** Largest zoom as a fraction, in and out (0 to below 1). */ zoom?: number;
  /** Largest contrast change (0 to 1). */ contrast?: number;
  /** Largest brightness change, a fraction of the pixel range (0 to 1). */ brightness?: number;
}
export interface TrainerOptions extends AugmentOptions {
  optimizer?: "sgd" | "momentum" | "nesterov" | "rmsprop" | "adam" | "nadam";
  learningRate?: number; schedule?: "constant" | "step" | "cosine"; weightDecay?: number;
  /** The step schedule: multiply the rate by `stepFactor` (default 0.5) every `stepEvery` epochs (default: a third of the run). */
  stepEvery?: number; stepFactor?: number;
  batchSize?: number; epochs?: number; seed?: number;
  /** Bytes from `trainer.checkpoint()`: continue that run (same model, settings and data). */
  resume?: Uint8Array;
  /** Where the steps run (default "cpu"); "webgpu" needs a device from initBackends. */
  backend?: "cpu" | "webgpu";
}
export interface PreviewResult { shape: number[]; data: Float32Array; }
export interface TrainProgress { epoch: number; step: number; stepsPerEpoch: number; epochs: number; loss: number; accuracy: number; samples: number; learningRate: number; done: boolean; }
export interface EvaluationResult { accuracy: number; loss: number; confusion: number[][]; }
/** One worker's part of a data-parallel step (from `trainer.beginShards`). */
export interface ShardTask { x: Float32Array; shape: number[]; labels: Uint32Array; offset: number; total: number; stepSeed: bigint; }
/** A shard's answer (from `ShardWorker.gradients`): the trainable parameters' gradients, flat. */
export interface ShardResult { grads: Float32Array; loss: number; correct: number; count: number; }
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

    /// Images `start..start + count` after augmentation with `options` (seeded by `seed`), as
    /// NHWC floats brought back to pixel values in `[0, 1]` for display.
    #[wasm_bindgen(unchecked_return_type = "PreviewResult")]
    pub fn preview(
        &self,
        #[wasm_bindgen(unchecked_param_type = "number | undefined")] start: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number | undefined")] count: JsValue,
        #[wasm_bindgen(unchecked_param_type = "AugmentOptions | undefined")] options: JsValue,
        #[wasm_bindgen(unchecked_param_type = "number | undefined")] seed: JsValue,
    ) -> std::result::Result<JsValue, JsError> {
        self.augmented_preview(&start, &count, &options, &seed).map_err(js_error)
    }

    fn augmented_preview(
        &self,
        start: &JsValue,
        count: &JsValue,
        options: &JsValue,
        seed: &JsValue,
    ) -> Result<JsValue> {
        const OP: &str = "Dataset.preview";
        let number = |name: &str, v: &JsValue, default: usize| -> Result<usize> {
            let holder = Object::new();
            set(&holder, name, v.clone());
            Ok(args::optional_integer(OP, &holder, name, 0)?.unwrap_or(default))
        };
        let start = number("start", start, 0)?;
        let count = number("count", count, 8)?;
        let seed = number("seed", seed, 0)?;
        let d = &self.inner;
        if count == 0 || count > MAX_PREVIEW || start.saturating_add(count) > d.len() {
            return Err(Error::invalid(
                OP,
                "count",
                format!(
                    "images {start}..{} are not within the {} images (1 to {MAX_PREVIEW} at a time)",
                    start.saturating_add(count),
                    d.len()
                ),
            ));
        }
        let augment = augment_options(OP, &args::options(OP, options, &AUGMENT_KEYS)?)?;
        let indices: Vec<usize> = (start..start + count).collect();
        let (x, _) = d.batch(&indices)?;
        let x = augment.apply_normalised(&x, seed as u64, d.normalization)?;
        let (mean, std) = d.normalization;
        let pixels: Vec<f32> = x.data().iter().map(|&v| (v * std + mean).clamp(0.0, 1.0)).collect();
        let o = Object::new();
        let shape = Array::new();
        for &s in x.shape() {
            shape.push(&JsValue::from(s as f64));
        }
        set(&o, "shape", shape);
        set(&o, "data", Float32Array::from(pixels.as_slice()));
        Ok(o.into())
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

/// The most images one preview shows.
const MAX_PREVIEW: usize = 256;

/// The augmentation options, as `Trainer` and `Dataset.preview` take them.
const AUGMENT_KEYS: [&str; 6] = ["maxShift", "flip", "rotation", "zoom", "contrast", "brightness"];

/// The augmentation options of `options` (other keys are the caller's to check).
fn augment_options(op: &str, options: &JsValue) -> Result<Augment> {
    let max_shift = args::optional_integer(op, options, "maxShift", 0)?.unwrap_or(0);
    if max_shift > 64 {
        return Err(Error::invalid(op, "maxShift", format!("must be 0 to 64, got {max_shift}")));
    }
    let flip = js_sys::Reflect::get(options, &"flip".into()).unwrap_or(JsValue::UNDEFINED);
    let flip = match (flip.is_undefined(), flip.as_bool()) {
        (true, _) => false,
        (false, Some(b)) => b,
        (false, None) => {
            return Err(Error::invalid(
                op,
                "flip",
                format!("expected true or false, got {}", args::describe(&flip)),
            ))
        }
    };
    let number =
        |key: &str| Ok::<f32, Error>(args::optional_number(op, options, key)?.unwrap_or(0.0));
    let augment = Augment {
        max_shift,
        flip,
        rotation: number("rotation")?,
        zoom: number("zoom")?,
        contrast: number("contrast")?,
        brightness: number("brightness")?,
    };
    augment.validate(op)?;
    Ok(augment)
}

/// A training run of one model: settings, weights, optimizer state and the position in the
/// current epoch's (seeded) batch order (see [`TrainingRun`]).
#[wasm_bindgen(js_name = Trainer)]
pub struct JsTrainer {
    inner: Rc<RefCell<TrainerState>>,
}

/// A run and, with `backend: "webgpu"`, its state on the device.
struct TrainerState {
    run: TrainingRun,
    gpu: Option<(Rc<GpuContext>, GpuTrainer)>,
    /// Whether the device has steps the run's weights (and slots) have not seen yet.
    stale: bool,
    /// A data-parallel step begun and not yet finished: shard 0 (this trainer's own) and,
    /// once computed, its result.
    pending: Option<(Shard, Option<(BatchResult, Gradients)>)>,
}

impl TrainerState {
    /// Refuses what needs the weights while the device holds newer ones.
    fn current(&self, op: &str) -> Result<&TrainingRun> {
        if self.stale {
            return Err(Error::invalid(
                op,
                "trainer",
                "the weights are on the GPU: await trainer.sync() first",
            ));
        }
        Ok(&self.run)
    }
}

/// The trainer's state for one call; a call while an asynchronous one holds it is refused.
fn borrow_state(inner: &RefCell<TrainerState>) -> Result<std::cell::RefMut<'_, TrainerState>> {
    inner
        .try_borrow_mut()
        .map_err(|_| Error::invalid("Trainer", "trainer", "busy with another call: await it first"))
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
        "resume",
        "backend",
        "stepEvery",
        "stepFactor",
        "maxShift",
        "flip",
        "rotation",
        "zoom",
        "contrast",
        "brightness",
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
        // `every` in epochs here; the caller turns it into steps (it needs the data).
        Some("step") => {
            let every = args::optional_integer(OP, &options, "stepEvery", 1)?.unwrap_or(0) as u64;
            let factor = args::optional_number(OP, &options, "stepFactor")?.unwrap_or(0.5);
            if !(factor > 0.0 && factor <= 1.0) {
                return Err(Error::invalid(
                    OP,
                    "stepFactor",
                    format!("must be in (0, 1], got {factor}"),
                ));
            }
            Schedule::Step { every, factor }
        }
        Some(other) => {
            return Err(Error::invalid(
                OP,
                "schedule",
                format!("{other:?} is not constant, step or cosine"),
            ))
        }
    };
    let weight_decay = args::optional_number(OP, &options, "weightDecay")?.unwrap_or(0.0);
    if batch > 4096 || epochs > 10_000 {
        return Err(Error::invalid(OP, "options", "batchSize at most 4096, epochs at most 10000"));
    }
    let augment = augment_options(OP, &options)?;
    Ok((
        OptimizerConfig { kind, learning_rate, schedule, weight_decay },
        batch,
        epochs,
        seed,
        augment,
    ))
}

/// The `resume` option: checkpoint bytes, or none.
fn resume_option(options: &JsValue) -> Result<Option<Vec<u8>>> {
    if options.is_undefined() || options.is_null() {
        return Ok(None);
    }
    let value = js_sys::Reflect::get(options, &"resume".into()).unwrap_or(JsValue::UNDEFINED);
    if value.is_undefined() || value.is_null() {
        return Ok(None);
    }
    if !value.is_instance_of::<Uint8Array>() {
        return Err(Error::invalid(
            "Trainer",
            "resume",
            format!(
                "expected a Uint8Array from trainer.checkpoint(), got {}",
                args::describe(&value)
            ),
        ));
    }
    Ok(Some(value.unchecked_into::<Uint8Array>().to_vec()))
}

#[wasm_bindgen(js_class = Trainer)]
impl JsTrainer {
    /// A run for `model` (its current weights, initialised if it has none) on `data`; with
    /// `resume`, continuing from that checkpoint.
    #[wasm_bindgen(constructor)]
    pub fn new(
        model: &JsModel,
        data: &JsDataset,
        #[wasm_bindgen(unchecked_param_type = "TrainerOptions | undefined")] options: JsValue,
    ) -> std::result::Result<JsTrainer, JsError> {
        Self::build(model, data, &options).map_err(js_error)
    }

    fn build(model: &JsModel, data: &JsDataset, options: &JsValue) -> Result<JsTrainer> {
        let (mut config, batch, epochs, seed, augment) = trainer_options(options)?;
        let resume = resume_option(options)?;
        let per_epoch = (data.inner.len() / batch).max(1) as u64;
        match config.schedule {
            Schedule::Cosine { floor, .. } => {
                config.schedule = Schedule::Cosine { steps: epochs * per_epoch, floor };
            }
            // Every `stepEvery` epochs (default: a third of the run), times `stepFactor`.
            Schedule::Step { every, factor } => {
                let every = if every == 0 { (epochs / 3).max(1) } else { every };
                config.schedule = Schedule::Step { every: every * per_epoch, factor };
            }
            Schedule::Constant => {}
        }
        if data.inner.len() < batch {
            return Err(Error::invalid(
                "Trainer",
                "batchSize",
                format!("{} images are fewer than one batch of {batch}", data.inner.len()),
            ));
        }
        let (graph, weights) = model.model_and_weights()?;
        crate::nn::forward::check_input(
            &graph,
            &[batch, data.inner.shape[0], data.inner.shape[1], data.inner.shape[2]],
        )?;
        let trainer = Trainer { model: graph, weights, optimizer: Optimizer::new(config)?, seed };
        let settings = RunSettings { batch, epochs, augment };
        let mut run = TrainingRun::new(trainer, Rc::clone(&data.inner), settings)?;
        if let Some(bytes) = resume {
            checkpoint::restore(&mut run, &bytes)?;
        }
        let gpu = match args::string("Trainer", options, "backend")?.as_deref() {
            None | Some("cpu") => None,
            Some("webgpu") => {
                let ctx = super::state::with(|s| match (&s.gpu, &s.gpu_problem) {
                    (Some(gpu), _) => Ok(Rc::clone(gpu)),
                    (None, problem) => Err(Error::invalid(
                        "Trainer",
                        "backend",
                        format!(
                            "WebGPU is unavailable here ({})",
                            problem.as_deref().unwrap_or("initBackends did not open a device")
                        ),
                    )),
                })?;
                let g = GpuTrainer::new(&ctx, &run.trainer)?;
                Some((ctx, g))
            }
            Some(other) => {
                return Err(Error::invalid(
                    "Trainer",
                    "backend",
                    format!("{other:?} is not \"cpu\" or \"webgpu\""),
                ))
            }
        };
        Ok(JsTrainer {
            inner: Rc::new(RefCell::new(TrainerState { run, gpu, stale: false, pending: None })),
        })
    }

    /// Runs up to `steps` optimisation steps on the trainer's data set, stopping early at the
    /// end of an epoch, and reports the running loss and accuracy of the epoch (of the one just
    /// finished, when the call ended one: then `step` is 0). `runSteps(0)` only reports.
    #[wasm_bindgen(js_name = runSteps, unchecked_return_type = "TrainProgress")]
    pub fn run_steps(&mut self, steps: usize) -> std::result::Result<JsValue, JsError> {
        let mut state = borrow_state(&self.inner).map_err(js_error)?;
        if state.gpu.is_some() && steps > 0 {
            return Err(js_error(Error::invalid(
                "runSteps",
                "backend",
                "this trainer runs on WebGPU: use await trainer.runStepsAsync(steps)",
            )));
        }
        state.run.run_steps(steps).map_err(js_error)?;
        Ok(progress(&state.run))
    }

    // The state stays borrowed across the device's awaits on purpose: every other call
    // takes it with `try_borrow_mut` and is refused as busy instead of interleaving.
    #[allow(clippy::await_holding_refcell_ref)]
    /// `runSteps` for either backend, as a promise (on WebGPU each step waits for the device).
    #[wasm_bindgen(js_name = runStepsAsync, unchecked_return_type = "Promise<TrainProgress>")]
    pub fn run_steps_async(&self, steps: usize) -> Promise {
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move {
            let mut guard = borrow_state(&inner).map_err(into_js)?;
            let state = &mut *guard;
            match &mut state.gpu {
                Some((ctx, g)) => {
                    if steps > 0 {
                        state.stale = true;
                    }
                    state.run.run_steps_gpu(ctx, g, steps).await.map_err(into_js)?
                }
                None => state.run.run_steps(steps).map_err(into_js)?,
            }
            Ok(progress(&state.run))
        })
    }

    // The state stays borrowed across the device's awaits on purpose: every other call
    // takes it with `try_borrow_mut` and is refused as busy instead of interleaving.
    #[allow(clippy::await_holding_refcell_ref)]
    /// Brings the device's weights and optimizer state back (nothing to do on the CPU path);
    /// `saveWeights`, `checkpoint` and `evaluate` need it after WebGPU steps.
    pub fn sync(&self) -> Promise {
        let inner = Rc::clone(&self.inner);
        future_to_promise(async move {
            let mut guard = borrow_state(&inner).map_err(into_js)?;
            let state = &mut *guard;
            if let (Some((ctx, g)), true) = (&state.gpu, state.stale) {
                g.sync(ctx, &mut state.run.trainer).await.map_err(into_js)?;
                state.stale = false;
            }
            Ok(JsValue::UNDEFINED)
        })
    }

    /// The backend the steps run on: "cpu" or "webgpu".
    #[wasm_bindgen(getter)]
    pub fn backend(&self) -> String {
        let on_gpu = self.inner.try_borrow().map(|s| s.gpu.is_some()).unwrap_or(false);
        if on_gpu { "webgpu" } else { "cpu" }.into()
    }

    /// Accuracy, loss and confusion matrix of the current weights on `data`.
    #[wasm_bindgen(unchecked_return_type = "EvaluationResult")]
    pub fn evaluate(&self, data: &JsDataset) -> std::result::Result<JsValue, JsError> {
        let state = borrow_state(&self.inner).map_err(js_error)?;
        let run = state.current("evaluate").map_err(js_error)?;
        evaluation(&run.trainer.model, &run.trainer.weights, &data.inner)
    }

    // The state stays borrowed across the device's awaits on purpose: every other call
    // takes it with `try_borrow_mut` and is refused as busy instead of interleaving.
    #[allow(clippy::await_holding_refcell_ref)]
    /// `evaluate` on the trainer's backend (on WebGPU with the device's weights, no sync
    /// needed).
    #[wasm_bindgen(js_name = evaluateAsync, unchecked_return_type = "Promise<EvaluationResult>")]
    pub fn evaluate_async(&self, data: &JsDataset) -> Promise {
        let inner = Rc::clone(&self.inner);
        let data = Rc::clone(&data.inner);
        future_to_promise(async move {
            let guard = borrow_state(&inner).map_err(into_js)?;
            let e = match &guard.gpu {
                Some((ctx, g)) => {
                    g.evaluate(ctx, &guard.run.trainer.model, &data, 100).await.map_err(into_js)?
                }
                None => {
                    let t = &guard.run.trainer;
                    evaluate(&t.model, &t.weights, &data, 100).map_err(into_js)?
                }
            };
            Ok(evaluation_object(&e))
        })
    }

    /// The current weights as a safetensors file.
    #[wasm_bindgen(js_name = saveWeights)]
    pub fn save_weights(&self) -> std::result::Result<Vec<u8>, JsError> {
        let state = borrow_state(&self.inner).map_err(js_error)?;
        let run = state.current("saveWeights").map_err(js_error)?;
        safetensors::save(&run.trainer.model, &run.trainer.weights).map_err(js_error)
    }

    /// The whole state of the run (weights, optimizer state, step counters, the position in
    /// the epoch and the seeds) as a safetensors file; `restore` or the `resume` option
    /// continues it bit for bit (on the CPU path; on WebGPU up to rounding).
    pub fn checkpoint(&self) -> std::result::Result<Vec<u8>, JsError> {
        let state = borrow_state(&self.inner).map_err(js_error)?;
        checkpoint::save(state.current("checkpoint").map_err(js_error)?).map_err(js_error)
    }

    /// Continues from `trainer.checkpoint()` bytes of a run with the same model, settings and
    /// data; anything else is refused (with what differs) and leaves this trainer as it was.
    pub fn restore(&mut self, bytes: &[u8]) -> std::result::Result<(), JsError> {
        let mut guard = borrow_state(&self.inner).map_err(js_error)?;
        let state = &mut *guard;
        checkpoint::restore(&mut state.run, bytes).map_err(js_error)?;
        if let Some((ctx, g)) = &mut state.gpu {
            *g = GpuTrainer::new(ctx, &state.run.trainer).map_err(js_error)?;
        }
        state.stale = false;
        Ok(())
    }
}

/// A run's position and running figures as a `TrainProgress` object.
/// Data-parallel training on the CPU path: the training worker cuts each batch into shards,
/// posts all but the first to `ShardWorker`s in other workers, computes its own, and adds the
/// gradients up in shard order (bit-identical for a given worker count; see
/// tests/parallel_training.rs).
#[wasm_bindgen(js_class = Trainer)]
impl JsTrainer {
    /// Begins a step of `workers` shards: returns the tasks of shards 1.. (`[]` for one
    /// worker), or `null` when the run is done. Then `ownShard()` and `finishShards(results)`.
    #[wasm_bindgen(js_name = beginShards, unchecked_return_type = "ShardTask[] | null")]
    pub fn begin_shards(&mut self, workers: usize) -> std::result::Result<JsValue, JsError> {
        let mut state = borrow_state(&self.inner).map_err(js_error)?;
        if state.gpu.is_some() {
            return Err(js_error(Error::invalid(
                "beginShards",
                "backend",
                "data-parallel steps are for the CPU path; this trainer runs on WebGPU",
            )));
        }
        let Some(mut shards) = state.run.shards(workers).map_err(js_error)? else {
            state.pending = None;
            return Ok(JsValue::NULL);
        };
        let tasks = Array::new();
        for s in shards.drain(1..) {
            let o = Object::new();
            set(&o, "x", Float32Array::from(s.x.data()));
            let shape = Array::new();
            s.x.shape().iter().for_each(|&d| {
                shape.push(&(d as f64).into());
            });
            set(&o, "shape", shape);
            set(&o, "labels", js_sys::Uint32Array::from(s.labels.as_slice()));
            set(&o, "offset", s.offset as f64);
            set(&o, "total", s.total as f64);
            set(&o, "stepSeed", js_sys::BigInt::from(s.step_seed));
            tasks.push(&o);
        }
        state.pending = shards.pop().map(|own| (own, None));
        Ok(tasks.into())
    }

    /// Computes this trainer's own shard of the step begun by `beginShards` (call it after
    /// posting the other shards, so that the workers compute at the same time).
    #[wasm_bindgen(js_name = ownShard)]
    pub fn own_shard(&mut self) -> std::result::Result<(), JsError> {
        let mut guard = borrow_state(&self.inner).map_err(js_error)?;
        let state = &mut *guard;
        let Some((s, result)) = &mut state.pending else {
            return Err(js_error(Error::invalid(
                "ownShard",
                "step",
                "no step begun: call beginShards first",
            )));
        };
        if result.is_none() {
            *result = Some(
                state
                    .run
                    .trainer
                    .shard_gradients(&s.x, &s.labels, s.step_seed, s.offset, s.total)
                    .map_err(js_error)?,
            );
        }
        Ok(())
    }

    /// Ends the step: adds the other shards' gradients (in order) to this trainer's own,
    /// applies the update and reports progress as `runSteps` does. A result of the wrong
    /// size or count is refused and the step is not taken (it can be begun again).
    #[wasm_bindgen(js_name = finishShards, unchecked_return_type = "TrainProgress")]
    pub fn finish_shards(
        &mut self,
        #[wasm_bindgen(unchecked_param_type = "ShardResult[]")] results: JsValue,
    ) -> std::result::Result<JsValue, JsError> {
        const OP: &str = "finishShards";
        self.own_shard()?;
        let mut guard = borrow_state(&self.inner).map_err(js_error)?;
        let state = &mut *guard;
        let Some((own, Some((r0, grads)))) = state.pending.take() else {
            return Err(js_error(Error::invalid(
                OP,
                "step",
                "no step begun: call beginShards first",
            )));
        };
        let mut grads = grads;
        let mut parts = vec![(r0, own.labels.len())];
        let list: Array = results.dyn_into().map_err(|v| {
            js_error(Error::invalid(
                OP,
                "results",
                format!("expected an array, got {}", args::describe(&v)),
            ))
        })?;
        for (i, item) in list.iter().enumerate() {
            let field = |name: &str| {
                js_sys::Reflect::get(&item, &name.into()).unwrap_or(JsValue::UNDEFINED)
            };
            let g = field("grads");
            if !g.is_instance_of::<Float32Array>() {
                return Err(js_error(Error::invalid(
                    OP,
                    "results",
                    format!("result {i}: grads is not a Float32Array"),
                )));
            }
            let number = |name: &str| -> Result<f64> {
                field(name).as_f64().filter(|v| v.is_finite() || name == "loss").ok_or_else(|| {
                    Error::invalid(OP, "results", format!("result {i}: {name} is not a number"))
                })
            };
            let (loss, correct, count) = (
                number("loss").map_err(js_error)?,
                number("correct").map_err(js_error)?,
                number("count").map_err(js_error)?,
            );
            grads
                .add_trainable_flat(
                    &state.run.trainer.model,
                    &g.unchecked_into::<Float32Array>().to_vec(),
                )
                .map_err(js_error)?;
            parts.push((
                BatchResult { loss: loss as f32, correct: correct as usize },
                count as usize,
            ));
        }
        state.run.finish_shards(&parts, &grads).map_err(js_error)?;
        Ok(progress(&state.run))
    }

    /// Every weight (trainable or not), flat, for the shard workers before each step.
    #[wasm_bindgen(js_name = weightsFlat)]
    pub fn weights_flat(&self) -> std::result::Result<Vec<f32>, JsError> {
        let state = self.inner.try_borrow().map_err(|_| {
            js_error(Error::invalid(
                "weightsFlat",
                "trainer",
                "busy with another call: await it first",
            ))
        })?;
        Ok(state.current("weightsFlat").map_err(js_error)?.trainer.weights.flat())
    }
}

/// A data-parallel shard's worker: a copy of the model that computes one shard's gradients
/// with the weights the trainer sends before each step (see `Trainer.beginShards`).
#[wasm_bindgen(js_name = ShardWorker)]
pub struct JsShardWorker {
    trainer: Trainer,
}

#[wasm_bindgen(js_class = ShardWorker)]
impl JsShardWorker {
    /// A worker for `model`'s architecture (its weights come with `setWeights`).
    #[wasm_bindgen(constructor)]
    pub fn new(model: &JsModel) -> std::result::Result<JsShardWorker, JsError> {
        let (model, weights) = model.model_and_weights().map_err(js_error)?;
        let config = OptimizerConfig {
            // Never stepped: a shard worker only computes gradients.
            kind: OptimizerKind::keras("sgd").map_err(js_error)?,
            learning_rate: 1.0,
            schedule: Schedule::Constant,
            weight_decay: 0.0,
        };
        let optimizer = Optimizer::new(config).map_err(js_error)?;
        Ok(JsShardWorker { trainer: Trainer { model, weights, optimizer, seed: 0 } })
    }

    /// Replaces every weight with `trainer.weightsFlat()`'s values.
    #[wasm_bindgen(js_name = setWeights)]
    pub fn set_weights(&mut self, flat: &[f32]) -> std::result::Result<(), JsError> {
        self.trainer.weights.set_flat(flat).map_err(js_error)
    }

    /// One shard's gradients (a `ShardTask`'s fields): `{grads, loss, correct, count}`.
    #[wasm_bindgen(unchecked_return_type = "ShardResult")]
    pub fn gradients(
        &mut self,
        x: &[f32],
        shape: Vec<usize>,
        labels: &[u32],
        step_seed: u64,
        offset: usize,
        total: usize,
    ) -> std::result::Result<JsValue, JsError> {
        let x = crate::tensor::Tensor::new("ShardWorker.gradients", "x", shape, x.to_vec())
            .map_err(js_error)?;
        let (r, g) =
            self.trainer.shard_gradients(&x, labels, step_seed, offset, total).map_err(js_error)?;
        let o = Object::new();
        set(&o, "grads", Float32Array::from(g.trainable_flat(&self.trainer.model).as_slice()));
        set(&o, "loss", f64::from(r.loss));
        set(&o, "correct", r.correct as f64);
        set(&o, "count", labels.len() as f64);
        Ok(o.into())
    }
}

fn progress(r: &TrainingRun) -> JsValue {
    let o = Object::new();
    let n = r.sums.seen.max(1) as f64;
    set(&o, "epoch", r.epoch as f64);
    set(&o, "step", r.step_in_epoch as f64);
    set(&o, "stepsPerEpoch", r.steps_per_epoch() as f64);
    set(&o, "epochs", r.settings.epochs as f64);
    set(&o, "loss", r.sums.loss / n);
    set(&o, "accuracy", r.sums.correct as f64 / n);
    set(&o, "samples", r.sums.seen as f64);
    set(&o, "learningRate", r.trainer.optimizer.learning_rate());
    set(&o, "done", r.done());
    o.into()
}

/// `{accuracy, loss, confusion}` as a plain object.
pub(super) fn evaluation(
    model: &crate::graph::Model,
    weights: &Weights,
    data: &Dataset,
) -> std::result::Result<JsValue, JsError> {
    let e = evaluate(model, weights, data, 100).map_err(js_error)?;
    Ok(evaluation_object(&e))
}

fn evaluation_object(e: &crate::train::Evaluation) -> JsValue {
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
    o.into()
}
