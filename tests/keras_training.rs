//! Training parity with Keras: the same small CNN, the same initial weights and the same batch
//! order, trained for 300 steps with the same optimizer by convlab (`Trainer::step`) and by
//! Keras 3 (jax backend, .cache/keras-venv from scripts/setup-keras.sh; `model.compile(loss=
//! "sparse_categorical_crossentropy")` and one `train_on_batch` per batch, in
//! scripts/golden/keras_training.py), give loss curves that agree.
//!
//! The model, built in Keras by convlab's exported code and given the weights of
//! `Weights::init` through a safetensors file: 12x12x1 -> Conv2D 8 3x3 same relu -> MaxPool2D
//! -> Conv2D 16 3x3 -> BatchNormalization -> ReLU -> Flatten -> Dense 10 softmax.
//! - No Dropout: its masks come from each framework's own random numbers and cannot match.
//! - Batch normalization is in: its training-mode batch statistics and the moving averages it
//!   keeps must agree. Both sides normalise with the biased batch variance and fold the biased
//!   variance into the moving variance (convlab's `cpu::moments`; Keras 3's `ops.moments`, which
//!   is `jnp.var`, ddof 0), with momentum 0.99 and epsilon 1e-3 on both; the moving statistics
//!   implied by the first step are compared directly.
//! - The convolutions have no bias. A bias whose only effect is a shift that batch norm's
//!   mean subtraction removes has a gradient that is zero in exact arithmetic and rounding noise
//!   in f32, with a different sign in each framework; Adam and Nadam divide it by its own size
//!   and turn it into steps of up to the learning rate. Measured with `Conv2D relu -> BN` (the
//!   bias of conv2, one channel of which was active on the whole batch): a gradient of -2e-10
//!   here and +1.3e-10 in Keras, first Nadam steps of -1.9e-4 and +1.3e-4, and Nadam's windowed
//!   losses 1.2e-3 apart by the end (SGD and Adam: 1e-6). conv1's bias is removed the same way
//!   when a channel's pooled maxima are all positive (the valid conv2 then shifts each of its
//!   maps by a constant). That is the optimizer amplifying noise, not a disagreement, so this
//!   model leaves such biases out (as CNNs with batch norm usually do).
//!
//! The data: 512 images of 10 classes (a seeded blocky template per class, shifted by up to a
//! pixel, scaled, plus noise), in batches of 32 in a seeded order (a new permutation every epoch
//! of 16 batches) that both sides read from the same files. Optimizers: SGD with momentum 0.9
//! (learning rate 0.02), Adam and Nadam (2e-3); Keras's other defaults, no weight decay.
//! What is compared, and the tolerances: [`training_curves_agree_with_keras`].
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::path::Path;
use std::time::Instant;

use common::keras::{python, root, run_driver};

use convlab::graph::{Model, ModelSpec};
use convlab::io::keras_export::to_keras_code;
use convlab::io::safetensors::{load, save};
use convlab::nn::weights::{SplitMix64, Weights};
use convlab::train::data::shuffled;
use convlab::train::trainer::inference_loss;
use convlab::train::{Optimizer, OptimizerConfig, OptimizerKind, Schedule, Trainer};
use convlab::Tensor;
use serde_json::{json, Value};

const SIDE: usize = 12;
const CLASSES: usize = 10;
const IMAGES: usize = 512;
const BATCH: usize = 32;
const STEPS: usize = 300;
/// Steps per window of the smoothed curves.
const WINDOW: usize = 25;
/// Half-width of the uniform pixel noise (the templates are in [-1, 1)).
const NOISE: f32 = 1.6;

fn model() -> Model {
    let spec = ModelSpec::from_value(json!({
        "format": "convlab-model", "version": 1, "name": "training_parity",
        "input": {"shape": [SIDE, SIDE, 1]},
        "layers": [
            {"name": "conv1", "class_name": "Conv2D", "config": {"filters": 8,
             "kernel_size": 3, "padding": "same", "use_bias": false, "activation": "relu"}},
            {"name": "pool", "class_name": "MaxPool2D", "config": {"pool_size": 2}},
            {"name": "conv2", "class_name": "Conv2D", "config": {"filters": 16,
             "kernel_size": 3, "use_bias": false}},
            {"name": "bn", "class_name": "BatchNormalization"},
            {"name": "relu", "class_name": "Activation", "config": {"activation": "relu"}},
            {"name": "flat", "class_name": "Flatten"},
            {"name": "out", "class_name": "Dense", "config": {"units": CLASSES,
             "activation": "softmax"}}
        ]
    }))
    .unwrap();
    Model::from_spec(spec).unwrap()
}

/// The data set: `(images [IMAGES, SIDE, SIDE, 1], labels)`. Class `c`'s template is 6x6
/// random values in [-1, 1) drawn 2x2 per value; an image of it is the template moved by -1, 0
/// or 1 pixel on each axis (zeros shifted in), times a gain in [0.7, 1.3), plus noise uniform
/// in [-NOISE, NOISE).
fn data(seed: u64) -> (Vec<f32>, Vec<u32>) {
    let mut rng = SplitMix64::new(seed);
    let half = SIDE / 2;
    let templates: Vec<Vec<f32>> =
        (0..CLASSES).map(|_| (0..half * half).map(|_| rng.symmetric()).collect()).collect();
    let (mut x, mut labels) = (Vec::with_capacity(IMAGES * SIDE * SIDE), Vec::new());
    for _ in 0..IMAGES {
        let c = (rng.next_u64() % CLASSES as u64) as usize;
        let dy = (rng.next_u64() % 3) as isize - 1;
        let dx = (rng.next_u64() % 3) as isize - 1;
        let gain = 1.0 + 0.3 * rng.symmetric();
        for i in 0..SIDE as isize {
            for j in 0..SIDE as isize {
                let (si, sj) = (i - dy, j - dx);
                let inside = (0..SIDE as isize).contains(&si) && (0..SIDE as isize).contains(&sj);
                let t = if inside {
                    templates[c][(si as usize / 2) * half + sj as usize / 2]
                } else {
                    0.0
                };
                x.push(gain * t + NOISE * rng.symmetric());
            }
        }
        labels.push(c as u32);
    }
    (x, labels)
}

/// The example indices of every batch, one after the other: a fresh permutation per epoch.
fn batch_order(seed: u64) -> Vec<u32> {
    let mut order = Vec::with_capacity(STEPS * BATCH);
    let mut epoch = 0;
    while order.len() < STEPS * BATCH {
        order.extend(shuffled(IMAGES, seed + epoch).into_iter().map(|i| i as u32));
        epoch += 1;
    }
    order.truncate(STEPS * BATCH);
    order
}

fn batch(x: &[f32], labels: &[u32], indices: &[u32]) -> (Tensor, Vec<u32>) {
    let per = SIDE * SIDE;
    let mut data = Vec::with_capacity(indices.len() * per);
    for &i in indices {
        data.extend_from_slice(&x[i as usize * per..(i as usize + 1) * per]);
    }
    let labels = indices.iter().map(|&i| labels[i as usize]).collect();
    (Tensor::new("test", "x", vec![indices.len(), SIDE, SIDE, 1], data).unwrap(), labels)
}

/// One optimizer, as each side names it.
struct Run {
    name: &'static str,
    kind: OptimizerKind,
    learning_rate: f32,
    /// The `keras.optimizers` class.
    keras: &'static str,
}

fn runs() -> Vec<Run> {
    vec![
        Run {
            name: "momentum",
            kind: OptimizerKind::keras("momentum").unwrap(),
            learning_rate: 0.02,
            keras: "SGD",
        },
        Run {
            name: "adam",
            kind: OptimizerKind::keras("adam").unwrap(),
            learning_rate: 2e-3,
            keras: "Adam",
        },
        Run {
            name: "nadam",
            kind: OptimizerKind::keras("nadam").unwrap(),
            learning_rate: 2e-3,
            keras: "Nadam",
        },
    ]
}

impl Run {
    /// The Keras optimizer's keyword arguments: the same hyper-parameters.
    fn keras_config(&self) -> Value {
        let lr = self.learning_rate as f64;
        match self.kind {
            OptimizerKind::Sgd { momentum, nesterov } => {
                json!({"learning_rate": lr, "momentum": momentum as f64, "nesterov": nesterov})
            }
            OptimizerKind::Adam { beta_1, beta_2, epsilon }
            | OptimizerKind::Nadam { beta_1, beta_2, epsilon } => json!({"learning_rate": lr,
                "beta_1": beta_1 as f64, "beta_2": beta_2 as f64, "epsilon": epsilon as f64}),
            OptimizerKind::RmsProp { rho, epsilon } => {
                json!({"learning_rate": lr, "rho": rho as f64, "epsilon": epsilon as f64})
            }
        }
    }
}

/// What one side's training gave.
struct Trained {
    losses: Vec<f32>,
    /// Weights after the first step.
    first: Weights,
    /// After the last.
    last: Weights,
}

fn train_convlab(
    model: &Model,
    w0: &Weights,
    run: &Run,
    x: &[f32],
    y: &[u32],
    order: &[u32],
) -> Trained {
    let config = OptimizerConfig {
        kind: run.kind,
        learning_rate: run.learning_rate,
        schedule: Schedule::Constant,
        weight_decay: 0.0,
    };
    let mut t = Trainer {
        model: model.clone(),
        weights: w0.clone(),
        optimizer: Optimizer::new(config).unwrap(),
        seed: 1,
    };
    let mut losses = Vec::with_capacity(STEPS);
    let mut first = None;
    for indices in order.chunks_exact(BATCH) {
        let (xb, yb) = batch(x, y, indices);
        losses.push(t.step(&xb, &yb).unwrap().loss);
        first.get_or_insert_with(|| t.weights.clone());
    }
    Trained { losses, first: first.unwrap(), last: t.weights }
}

fn write_f32(path: &Path, v: &[f32]) {
    std::fs::write(path, v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
}

fn write_u32(path: &Path, v: &[u32]) {
    std::fs::write(path, v.iter().flat_map(|x| x.to_le_bytes()).collect::<Vec<u8>>()).unwrap();
}

/// Runs every optimizer in Keras (one Python process); returns each run's `Trained`.
fn train_keras(
    dir: &Path,
    model: &Model,
    w0: &Weights,
    x: &[f32],
    y: &[u32],
    order: &[u32],
) -> Vec<Trained> {
    let path = |name: &str| dir.join(name);
    std::fs::write(path("model.py"), to_keras_code(model)).unwrap();
    std::fs::write(path("initial.safetensors"), save(model, w0).unwrap()).unwrap();
    write_f32(&path("x"), x);
    write_u32(&path("labels"), y);
    write_u32(&path("order"), order);
    let nodes: Vec<&str> = model.nodes().iter().map(|n| n.name.as_str()).collect();
    let list: Vec<Value> = runs()
        .iter()
        .map(|r| {
            json!({"name": r.name, "optimizer": r.keras, "config": r.keras_config(),
                   "first": path(&format!("{}.first.safetensors", r.name)),
                   "last": path(&format!("{}.last.safetensors", r.name))})
        })
        .collect();
    let case = json!({"code": path("model.py"), "weights": path("initial.safetensors"),
                      "nodes": nodes, "x": path("x"), "x_shape": [IMAGES, SIDE, SIDE, 1],
                      "labels": path("labels"), "order": path("order"), "steps": STEPS,
                      "batch": BATCH, "runs": list});
    std::fs::write(path("case.json"), case.to_string()).unwrap();
    let results = run_driver(
        &root().join("scripts/golden/keras_training.py"),
        &path("case.json"),
        runs().len(),
    );
    let weights = |file: String| {
        let bytes = std::fs::read(path(&file)).unwrap();
        load(model, &bytes).unwrap_or_else(|e| panic!("{file}: {e}"))
    };
    runs()
        .iter()
        .zip(results)
        .map(|(r, v)| {
            if let Some(e) = v["error"].as_str() {
                panic!("Keras failed on {}:\n{e}", r.name);
            }
            println!("keras {}: {:.1} s", r.name, v["seconds"].as_f64().unwrap_or(0.0));
            Trained {
                losses: serde_json::from_value(v["losses"].clone()).unwrap(),
                first: weights(format!("{}.first.safetensors", r.name)),
                last: weights(format!("{}.last.safetensors", r.name)),
            }
        })
        .collect()
}

/// `max |a - b|` and `max |b|` over one tensor.
fn max_diff(a: &[f32], b: &[f32]) -> (f32, f32) {
    let diff = a.iter().zip(b).fold(0.0f32, |m, (x, y)| m.max((x - y).abs()));
    (diff, b.iter().fold(0.0f32, |m, v| m.max(v.abs())))
}

fn window_means(losses: &[f32]) -> Vec<f64> {
    losses
        .chunks(WINDOW)
        .map(|w| w.iter().map(|&l| l as f64).sum::<f64>() / w.len() as f64)
        .collect()
}

/// Batch norm's momentum (the spec's default and Keras's).
const BN_MOMENTUM: f32 = 0.99;

/// Tolerances, with the worst values measured over five sets of seeds (weights, data, order)
/// in brackets.
mod tol {
    /// Loss of each of the first 20 steps, relative: the weights are still those of two f32
    /// computations of the same sums in different orders (1.1e-7 .. 3.9e-7; an unbiased batch
    /// variance in Keras, patched in for a check of this test, makes it 1.4e-3).
    pub const EARLY: f64 = 1e-4;
    /// First step's update with momentum SGD, which is `-lr * gradient`: every parameter's
    /// gradient, relative to the tensor's largest (1.6e-5, conv1's kernel: sums of 4608
    /// terms; 1.1e-3 .. 1.3e-3 with the unbiased variance patched in).
    pub const GRADIENT: f32 = 1e-3;
    /// First step's update with Adam and Nadam, in learning rates. Their first step is about
    /// `lr * g / (|g| + 3e-6)`, whose slope near `g = 0` turns a gradient's last bits into a
    /// visible part of a step: this checks the optimizer's first step, not the gradient again
    /// (1.8e-3, out/kernel).
    pub const ADAPTIVE_STEP: f32 = 0.1;
    /// The batch mean and variance implied by the moving statistics after the first step
    /// (`(moving_1 - 0.99 moving_0) / 0.01`), relative to the largest: 4x under the 2e-3 that
    /// Bessel's correction (512 values per channel) makes (measured 2.0e-3 with it patched
    /// in); 1.0e-6 for the mean, 1.0e-5 for the variance (the moving variance's rounding near
    /// 1, times 100).
    pub const BATCH_STATS: f32 = 5e-4;
    /// Mean loss of each 25-step window, relative, plus an absolute 1e-5. Later steps drift
    /// apart: a ReLU or a max pool whose inputs are within rounding of a tie decides differently
    /// and the two runs then follow slightly different paths, which training neither damps nor
    /// blows up over 300 steps (3.1e-4, Adam; 1.2e-3 with the biases of the module docs).
    pub const WINDOW: f64 = 1e-2;
    /// Final weights, each tensor relative to its largest value (8.1e-3, Adam's conv2 kernel),
    /// for the same reason.
    pub const FINAL_WEIGHTS: f32 = 5e-2;
    /// Final loss over the 512 images in inference mode (convlab's evaluation of both sides'
    /// final weights), relative plus 1e-5 (6.4e-4), and correct answers (0 apart).
    pub const FINAL_LOSS: f64 = 1e-2;
    pub const FINAL_CORRECT: usize = 2;
}

/// Compares one optimizer's runs; prints what it measures and returns the problems.
fn compare(model: &Model, w0: &Weights, run: &Run, ours: &Trained, keras: &Trained) -> Vec<String> {
    let name = run.name;
    let mut problems = Vec::new();
    let rel = |o: f64, k: f64| ((o - k) / o).abs();
    let steps: Vec<f64> =
        ours.losses.iter().zip(&keras.losses).map(|(&o, &k)| rel(o as f64, k as f64)).collect();
    let (early_step, early) =
        steps[..20]
            .iter()
            .enumerate()
            .fold((0, 0.0), |m, (s, &r)| if r > m.1 { (s, r) } else { m });
    println!(
        "{name}: step 1 loss convlab {:.7} keras {:.7} (relative {:.1e}); first 20 steps worst \
         {early:.1e} (step {})",
        ours.losses[0],
        keras.losses[0],
        steps[0],
        early_step + 1
    );
    if early > tol::EARLY {
        problems.push(format!(
            "{name}: step {} loss convlab {} keras {}: relative {early:.2e} over {:.0e} in the \
             first 20 steps",
            early_step + 1,
            ours.losses[early_step],
            keras.losses[early_step],
            tol::EARLY
        ));
    }

    // The first step, tensor by tensor.
    let adaptive = !matches!(run.kind, OptimizerKind::Sgd { .. });
    let (mut worst, mut worst_at) = (0.0f32, String::new());
    for (i, node) in model.nodes().iter().enumerate() {
        for (p, param) in node.params.iter().enumerate() {
            let w = &w0.values[i][p];
            let tensor = format!("{}/{}", node.name, param.name);
            let (d, limit, what) = if param.trainable {
                let step = |t: &Trained| -> Vec<f32> {
                    t.first.values[i][p].iter().zip(w).map(|(a, b)| a - b).collect()
                };
                let (d, scale) = max_diff(&step(keras), &step(ours));
                if adaptive {
                    (d / run.learning_rate, tol::ADAPTIVE_STEP, "learning rates")
                } else {
                    (d / scale.max(f32::MIN_POSITIVE), tol::GRADIENT, "of the largest gradient")
                }
            } else {
                let stat = |t: &Trained| -> Vec<f32> {
                    t.first.values[i][p]
                        .iter()
                        .zip(w)
                        .map(|(m1, m0)| (m1 - BN_MOMENTUM * m0) / (1.0 - BN_MOMENTUM))
                        .collect()
                };
                let (d, scale) = max_diff(&stat(keras), &stat(ours));
                (
                    d / scale.max(f32::MIN_POSITIVE),
                    tol::BATCH_STATS,
                    "of the largest batch statistic",
                )
            };
            if d > limit {
                problems.push(format!(
                    "{name}: first step of {tensor}: convlab and Keras differ by {d:.2e} {what}, \
                     over {limit:.0e}"
                ));
            }
            if param.trainable && d >= worst {
                (worst, worst_at) = (d, tensor.clone());
            }
            if !param.trainable {
                println!("  first step's batch statistics {tensor}: {d:.1e} {what}");
            }
        }
    }
    let unit = if adaptive { "learning rates" } else { "of the largest gradient" };
    println!("  first step's update: worst {worst_at} {worst:.1e} {unit}");

    // The smoothed curves.
    let (wo, wk) = (window_means(&ours.losses), window_means(&keras.losses));
    let mut line = String::new();
    let mut worst_window = 0.0f64;
    for (j, (&o, &k)) in wo.iter().zip(&wk).enumerate() {
        line.push_str(&format!(" {o:.4}/{:.1e}", rel(o, k)));
        worst_window = worst_window.max(rel(o, k));
        if (o - k).abs() > tol::WINDOW * o + 1e-5 {
            problems.push(format!(
                "{name}: steps {}..{}: mean loss convlab {o:.6} keras {k:.6}, over {:.0e} \
                 relative + 1e-5",
                j * WINDOW + 1,
                (j + 1) * WINDOW,
                tol::WINDOW
            ));
        }
    }
    println!("  {WINDOW}-step windows (convlab mean / relative difference):{line}");
    println!(
        "  worst window {worst_window:.1e}; worst single step {:.1e}",
        steps.iter().cloned().fold(0.0, f64::max)
    );

    // The end.
    let (mut worst, mut worst_at) = (0.0f32, String::new());
    for (i, node) in model.nodes().iter().enumerate() {
        for (p, param) in node.params.iter().enumerate() {
            let (d, scale) = max_diff(&keras.last.values[i][p], &ours.last.values[i][p]);
            let r = d / scale.max(f32::MIN_POSITIVE);
            if r >= worst {
                (worst, worst_at) = (r, format!("{}/{}", node.name, param.name));
            }
            if r > tol::FINAL_WEIGHTS {
                problems.push(format!(
                    "{name}: final {}/{}: max |keras - convlab| {d:.3e} is {r:.2e} of its largest \
                     {scale:.3e}, over {:.0e}",
                    node.name,
                    param.name,
                    tol::FINAL_WEIGHTS
                ));
            }
        }
    }
    let (x, y) = data(DATA_SEED);
    let all = Tensor::new("test", "x", vec![IMAGES, SIDE, SIDE, 1], x).unwrap();
    let evaluate = |w: &Weights| {
        let (loss, predicted) = inference_loss(model, w, &all, &y).unwrap();
        (loss, predicted.iter().zip(&y).filter(|(p, l)| **p == **l as usize).count())
    };
    let ((lo, co), (lk, ck)) = (evaluate(&ours.last), evaluate(&keras.last));
    println!(
        "  final weights: worst {worst_at} {worst:.1e} of its largest; inference over the \
         {IMAGES} images: loss convlab {lo:.6} keras {lk:.6} (relative {:.1e}), correct {co} \
         and {ck}",
        rel(lo, lk)
    );
    if (lo - lk).abs() > tol::FINAL_LOSS * lo + 1e-5 || co.abs_diff(ck) > tol::FINAL_CORRECT {
        problems.push(format!(
            "{name}: final weights over the {IMAGES} images: loss convlab {lo} keras {lk}, \
             correct {co} and {ck} (tolerance {:.0e} relative + 1e-5, {} images)",
            tol::FINAL_LOSS,
            tol::FINAL_CORRECT
        ));
    }
    problems
}

const WEIGHTS_SEED: u64 = 11;
const DATA_SEED: u64 = 5;
const ORDER_SEED: u64 = 7;

/// Both frameworks train the model with each optimizer (see the module docs); the first 20
/// steps' losses, the first step's gradients (momentum SGD) or steps (Adam, Nadam) and batch
/// statistics, the 25-step windows of the loss curve, the final weights and the final weights'
/// loss and accuracy must agree within [`tol`]'s tolerances, each with its reason and the value
/// measured. Keras's cross-entropy clips probabilities to [1e-7, 1 - 1e-7] where convlab's
/// works from the logits; the losses here stay far from either end (an example's loss under
/// 1.2e-7 would read 1.2e-7 in Keras).
#[test]
fn training_curves_agree_with_keras() {
    let start = Instant::now();
    python();
    let model = model();
    let w0 = Weights::init(&model, WEIGHTS_SEED).unwrap();
    let (x, y) = data(DATA_SEED);
    let order = batch_order(ORDER_SEED);
    let dir = std::env::temp_dir().join(format!("convlab-keras-training-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let keras_start = Instant::now();
    let keras = train_keras(&dir, &model, &w0, &x, &y, &order);
    println!("keras: {:.1} s in all", keras_start.elapsed().as_secs_f64());

    let mut problems = Vec::new();
    for (run, k) in runs().iter().zip(&keras) {
        let ours_start = Instant::now();
        let ours = train_convlab(&model, &w0, run, &x, &y, &order);
        println!("convlab {}: {:.1} s", run.name, ours_start.elapsed().as_secs_f64());
        problems.extend(compare(&model, &w0, run, &ours, k));
    }
    println!("total {:.1} s", start.elapsed().as_secs_f64());
    if problems.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(problems.is_empty(), "files kept in {}\n{}", dir.display(), problems.join("\n"));
}
