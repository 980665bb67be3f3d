//! Training through whole models on the CPU path: the backward pass through the graph against
//! central finite differences of the loss (every layer type in one model, in training mode:
//! batch statistics, a fixed dropout mask), and a small model that learns.
//! Each op's own backward pass is checked in f64 in tests/gradients.rs; here the question is
//! whether the graph chains them right (fan-out sums, concat splits, fused activations, the
//! loss's entry point).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::models::every_layer_model_smooth;
use convlab::graph::Model;
use convlab::nn::backward::{backward, forward_train, loss};
use convlab::nn::weights::{KernelInit, SplitMix64, Weights};
use convlab::Tensor;

use common::models::random_batch as batch;

fn loss_at(model: &Model, weights: &Weights, x: &Tensor, labels: &[u32]) -> f64 {
    let mut w = weights.clone();
    let tape = forward_train(model, &mut w, x, 5).unwrap();
    loss(model, &tape, labels).unwrap().0.loss as f64
}

/// Compares the analytic gradient of a few entries of every trainable parameter with
/// `(L(p + h) - L(p - h)) / 2h`. The forward passes are f32, so the loss carries rounding of
/// about 1e-7 of itself: h = 1e-3 keeps that below 2e-4 in the slope, and the O(h^2)
/// truncation error is far smaller; tolerance 2e-2 relative + 1e-3 absolute. (At h = 1e-4 the
/// slopes are quantised to 6e-4 steps; at 1e-2 ReLUs and max pools change sides.)
fn check_gradients(model: &Model, weights: &Weights, x: &Tensor, labels: &[u32]) -> usize {
    let mut w = weights.clone();
    let tape = forward_train(model, &mut w, x, 5).unwrap();
    let (_, seed) = loss(model, &tape, labels).unwrap();
    let grads = backward(model, &w, &tape, seed).unwrap();
    let mut rng = SplitMix64::new(3);
    let mut checked = 0;
    let mut failures = Vec::new();
    for (i, node) in model.nodes().iter().enumerate() {
        for (k, p) in node.params.iter().enumerate() {
            if !p.trainable {
                continue;
            }
            let len = weights.values[i][k].len();
            for _ in 0..4.min(len) {
                let e = (rng.next_u64() % len as u64) as usize;
                let analytic = grads.values[i][k][e] as f64;
                // Taps a partial connection table leaves out are fixed zeros: no gradient.
                if analytic == 0.0 && weights.values[i][k][e] == 0.0 && p.count < len as u64 {
                    continue;
                }
                let h = 1e-3f32;
                let mut plus = weights.clone();
                plus.values[i][k][e] += h;
                let mut minus = weights.clone();
                minus.values[i][k][e] -= h;
                let numeric = (loss_at(model, &plus, x, labels)
                    - loss_at(model, &minus, x, labels))
                    / (2.0 * h as f64);
                let tol = 2e-2 * analytic.abs().max(numeric.abs()) + 1e-3;
                if (analytic - numeric).abs() > tol {
                    failures.push(format!(
                        "layer '{}' {}[{e}]: backward gives {analytic:.6}, finite differences {numeric:.6}",
                        node.name, p.name
                    ));
                }
                checked += 1;
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} entries differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
    checked
}

#[test]
fn the_graphs_backward_pass_matches_finite_differences() {
    let model = every_layer_model_smooth();
    let weights = Weights::init_with(&model, 9, KernelInit::He).unwrap();
    let (x, labels) = batch(&model, 4, 1);
    let checked = check_gradients(&model, &weights, &x, &labels);
    assert!(checked > 40, "only {checked} entries checked");
}

#[test]
fn a_softmax_output_and_a_residual_block_get_the_right_gradients() {
    let model = Model::from_json(
        &serde_json::json!({
            "format": "convlab-model", "version": 1, "input": {"shape": [6, 6, 2]},
            "layers": [
                {"name": "c1", "class_name": "Conv2D", "config": {"filters": 3, "kernel_size": 3, "padding": "same", "activation": "relu"}},
                {"name": "c2", "class_name": "Conv2D", "config": {"filters": 3, "kernel_size": 3, "padding": "same"}},
                {"name": "sum", "class_name": "Add", "inputs": ["c1", "c2"]},
                {"name": "bn", "class_name": "BatchNormalization"},
                {"name": "pool", "class_name": "MaxPool2D"},
                {"class_name": "Flatten"},
                {"name": "out", "class_name": "Dense", "config": {"units": 4, "activation": "softmax"}}
            ]
        })
        .to_string(),
    )
    .unwrap();
    let weights = Weights::init(&model, 2).unwrap();
    let (x, labels) = batch(&model, 3, 4);
    assert!(check_gradients(&model, &weights, &x, &labels) > 10);
}

/// The zoo's models at a small input size (the architecture unchanged, the input shrunk to
/// what its strides and 'valid' layers allow), for training tests that must stay quick.
fn small_zoo_model(name: &str) -> Model {
    let mut spec = convlab::zoo::spec(name).unwrap();
    let side = match name {
        "alexnet" => 67,
        "xception" => 71,
        "fashion_mnist_cnn" | "lenet5_modern" => 28,
        "lenet5" => 32,
        _ => 32,
    };
    let channels = spec.input.shape[2];
    spec.input.shape = vec![side, side, channels];
    Model::from_spec(spec).unwrap_or_else(|e| panic!("{name} at {side}x{side}: {e}"))
}

/// "Gradient flow through whole models": five Adam steps on one fixed batch lower its loss,
/// for every zoo model at small size. A broken link anywhere in a graph (a gradient that does
/// not reach a branch, a wrong sign) shows up as a loss that does not fall.
#[test]
fn a_few_steps_lower_the_loss_of_every_zoo_model() {
    use convlab::train::trainer::inference_loss;
    use convlab::train::{Optimizer, OptimizerConfig, OptimizerKind, Schedule, Trainer};
    for &name in convlab::zoo::names() {
        let started = std::time::Instant::now();
        let model = small_zoo_model(name);
        let weights = Weights::init_with(&model, 3, KernelInit::He).unwrap();
        let (x, labels) = batch(&model, 4, 8);
        let config = OptimizerConfig {
            kind: OptimizerKind::keras("adam").unwrap(),
            learning_rate: 1e-3,
            schedule: Schedule::Constant,
            weight_decay: 0.0,
        };
        let mut trainer =
            Trainer { model, weights, optimizer: Optimizer::new(config).unwrap(), seed: 1 };
        // Measured in inference mode: dropout's fresh masks make training-mode losses of one
        // batch jump around (the Fashion-MNIST CNN's two 50% dropouts: 6.6, 10.8, 9.0, 5.9, ...).
        let loss_now = |t: &Trainer| inference_loss(&t.model, &t.weights, &x, &labels).unwrap().0;
        let first = loss_now(&trainer);
        for _ in 0..5 {
            trainer.step(&x, &labels).unwrap();
        }
        let last = loss_now(&trainer);
        println!(
            "{name}: loss {first:.4} -> {last:.4} in 5 steps, {:.1} s",
            started.elapsed().as_secs_f64()
        );
        assert!(last < first, "{name}: loss {first} -> {last}");
    }
}

/// Same seed, data and settings: bit-identical weights (the CPU path has no threads here).
#[test]
fn training_is_deterministic() {
    use convlab::train::{Optimizer, OptimizerConfig, OptimizerKind, Schedule, Trainer};
    let run = || {
        let model = every_layer_model_smooth();
        let config = OptimizerConfig {
            kind: OptimizerKind::keras("nadam").unwrap(),
            learning_rate: 1e-3,
            schedule: Schedule::Cosine { steps: 10, floor: 0.1 },
            weight_decay: 1e-4,
        };
        let weights = Weights::init(&model, 4).unwrap();
        let mut t = Trainer { model, weights, optimizer: Optimizer::new(config).unwrap(), seed: 6 };
        for s in 0..3 {
            let (x, labels) = batch(&t.model, 3, s);
            t.step(&x, &labels).unwrap();
        }
        t.weights
    };
    assert_eq!(run(), run());
}
