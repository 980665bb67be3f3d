//! Data-parallel training on the CPU path (what the training worker does with helper workers):
//! a batch cut into shards, each shard's gradients computed by its own copy of the model, added
//! up in shard order and applied once. One shard is the plain step bit for bit; a given number
//! of shards is deterministic; without batch norm, two or three shards train the curve of one
//! within float rounding (dropout drops the same units: each shard takes its slice of the whole
//! batch's mask); bad shard results are refused and change nothing.

use std::rc::Rc;

use convlab::graph::Model;
use convlab::nn::weights::{SplitMix64, Weights};
use convlab::train::augment::Augment;
use convlab::train::{
    Dataset, Optimizer, OptimizerConfig, OptimizerKind, RunSettings, Schedule, Trainer, TrainingRun,
};

fn model(batch_norm: bool) -> Model {
    let mut layers = vec![
        serde_json::json!({"class_name": "Conv2D", "config": {"filters": 4, "kernel_size": 3, "padding": "same", "activation": "relu"}}),
    ];
    if batch_norm {
        layers.push(serde_json::json!({"class_name": "BatchNormalization"}));
    }
    layers.extend([
        serde_json::json!({"class_name": "MaxPool2D"}),
        serde_json::json!({"class_name": "Flatten"}),
        serde_json::json!({"class_name": "Dropout", "config": {"rate": 0.3}}),
        serde_json::json!({"class_name": "Dense", "config": {"units": 4, "activation": "softmax"}}),
    ]);
    Model::from_json(
        &serde_json::json!({
            "format": "convlab-model", "version": 1, "input": {"shape": [8, 8, 1]}, "layers": layers
        })
        .to_string(),
    )
    .unwrap()
}

fn data(n: usize) -> Rc<Dataset> {
    let mut rng = SplitMix64::new(5);
    let labels: Vec<u32> = (0..n).map(|_| (rng.next_u64() % 4) as u32).collect();
    let pixels = (0..n * 64)
        .map(|i| {
            if (i % 64) / 16 == labels[i / 64] as usize {
                220
            } else {
                (rng.next_u64() % 60) as u8
            }
        })
        .collect();
    Rc::new(Dataset { pixels, shape: [8, 8, 1], labels, classes: 4, normalization: (0.2, 0.3) })
}

fn run(batch_norm: bool) -> TrainingRun {
    let m = model(batch_norm);
    let data = data(60);
    let settings = RunSettings {
        batch: 12,
        epochs: 2,
        augment: Augment { max_shift: 1, flip: true, ..Augment::default() },
    };
    let config = OptimizerConfig {
        kind: OptimizerKind::keras("nadam").unwrap(),
        learning_rate: 0.01,
        schedule: Schedule::Cosine { steps: 10, floor: 0.01 },
        weight_decay: 1e-4,
    };
    let trainer = Trainer {
        weights: Weights::init(&m, 3).unwrap(),
        model: m,
        optimizer: Optimizer::new(config).unwrap(),
        seed: 11,
    };
    TrainingRun::new(trainer, data, settings).unwrap()
}

/// Runs the whole run with `workers` shards per step, each worker a copy of the model that
/// gets the coordinator's weights before every step (as the JS workers do). Returns the batch
/// losses.
fn train_sharded(run: &mut TrainingRun, workers: usize) -> Vec<f32> {
    let mut helpers: Vec<Trainer> = (1..workers).map(|_| run.trainer.clone()).collect();
    let mut losses = Vec::new();
    while let Some(shards) = run.shards(workers).unwrap() {
        let flat = run.trainer.weights.flat();
        let mut results = Vec::new();
        let s0 = &shards[0];
        let (r0, mut grads) = run
            .trainer
            .shard_gradients(&s0.x, &s0.labels, s0.step_seed, s0.offset, s0.total)
            .unwrap();
        results.push((r0, s0.labels.len()));
        for (h, s) in helpers.iter_mut().zip(&shards[1..]) {
            h.weights.set_flat(&flat).unwrap();
            let (r, g) =
                h.shard_gradients(&s.x, &s.labels, s.step_seed, s.offset, s.total).unwrap();
            grads.add_trainable_flat(&h.model, &g.trainable_flat(&h.model)).unwrap();
            results.push((r, s.labels.len()));
        }
        let n: usize = results.iter().map(|r| r.1).sum();
        losses.push(results.iter().map(|(r, k)| r.loss * *k as f32).sum::<f32>() / n as f32);
        run.finish_shards(&results, &grads).unwrap();
    }
    losses
}

fn max_rel(a: &Weights, b: &Weights) -> f32 {
    let (fa, fb) = (a.flat(), b.flat());
    let scale = fa.iter().fold(0f32, |m, v| m.max(v.abs()));
    fa.iter().zip(&fb).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

#[test]
fn one_shard_is_the_plain_step_bit_for_bit() {
    let mut plain = run(true);
    plain.run_steps(1_000).unwrap();
    plain.run_steps(1_000).unwrap();
    assert!(plain.done());
    let mut sharded = run(true);
    train_sharded(&mut sharded, 1);
    assert_eq!(plain.trainer.weights.flat(), sharded.trainer.weights.flat());
    assert_eq!(plain.trainer.optimizer.step, sharded.trainer.optimizer.step);
    assert_eq!(plain.sums, sharded.sums);
}

#[test]
fn a_given_worker_count_is_deterministic() {
    for workers in [2, 3] {
        let (mut a, mut b) = (run(true), run(true));
        let (la, lb) = (train_sharded(&mut a, workers), train_sharded(&mut b, workers));
        assert_eq!(la, lb);
        assert_eq!(a.trainer.weights.flat(), b.trainer.weights.flat(), "{workers} workers");
    }
}

#[test]
fn shards_train_the_curve_of_one_worker_without_batch_norm() {
    let mut one = run(false);
    let l1 = train_sharded(&mut one, 1);
    for workers in [2, 3] {
        let mut many = run(false);
        let ln = train_sharded(&mut many, workers);
        assert_eq!(l1.len(), ln.len());
        // Only the order of float sums differs (per-shard partial sums of dW and the loss), so
        // the curves agree to rounding; a wrong dropout slice or scale would differ by far more.
        for (step, (a, b)) in l1.iter().zip(&ln).enumerate() {
            assert!(
                (a - b).abs() <= 1e-5 * a.abs().max(1.0),
                "{workers} workers, step {step}: {a} vs {b}"
            );
        }
        let rel = max_rel(&one.trainer.weights, &many.trainer.weights);
        assert!(rel < 1e-5, "{workers} workers: weights differ by {rel} of their scale");
        assert_eq!(one.sums.correct, many.sums.correct);
    }
}

#[test]
fn bad_shard_results_are_refused_and_change_nothing() {
    let mut r = run(false);
    let err = r.shards(13).unwrap_err();
    assert!(err.message().contains("13 workers for a batch of 12"), "{}", err.message());
    let shards = r.shards(2).unwrap().unwrap();
    let before = r.trainer.weights.flat();
    let s = &shards[0];
    let (r0, mut grads) =
        r.trainer.shard_gradients(&s.x, &s.labels, s.step_seed, s.offset, s.total).unwrap();
    let err = grads.add_trainable_flat(&r.trainer.model, &[0.0; 3]).unwrap_err();
    assert!(err.message().contains("a shard sent 3 values"), "{}", err.message());
    // Only half the batch reported.
    let err = r.finish_shards(&[(r0, 6)], &grads).unwrap_err();
    assert!(err.message().contains("results for 6 images, the batch has 12"), "{}", err.message());
    assert_eq!(r.trainer.optimizer.step, 0);
    assert_eq!(r.step_in_epoch, 0);
    // Gradients were never applied; batch norm has none here, so the weights are unchanged.
    assert_eq!(before, r.trainer.weights.flat());
    let err = r.trainer.weights.set_flat(&[1.0]).unwrap_err();
    assert!(err.message().contains("1 values for a model of"), "{}", err.message());
    assert_eq!(before, r.trainer.weights.flat());
    let err = r.trainer.shard_gradients(&s.x, &s.labels, s.step_seed, 8, 12).unwrap_err();
    assert!(err.message().contains("images 8..14 are not in a batch of 12"), "{}", err.message());
}
