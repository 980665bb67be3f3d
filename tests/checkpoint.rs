//! Checkpoints of a training run: N steps, a checkpoint, a fresh run restored from it and M
//! more steps give bit for bit the weights, optimizer state and epoch sums of an uninterrupted
//! N + M step run (across an epoch's end, with dropout, batch norm and every augmentation);
//! a checkpoint of another model, optimizer, seed, data set, or bytes that are not one, are
//! refused with a message and leave the run as it was.

use std::rc::Rc;

use convlab::graph::Model;
use convlab::nn::weights::{SplitMix64, Weights};
use convlab::train::augment::Augment;
use convlab::train::checkpoint;
use convlab::train::{
    Dataset, Optimizer, OptimizerConfig, OptimizerKind, RunSettings, Schedule, Trainer, TrainingRun,
};

fn model(filters: usize) -> Model {
    Model::from_json(
        &serde_json::json!({
            "format": "convlab-model", "version": 1, "input": {"shape": [8, 8, 1]},
            "layers": [
                {"class_name": "Conv2D", "config": {"filters": filters, "kernel_size": 3, "padding": "same"}},
                {"class_name": "BatchNormalization"},
                {"class_name": "Activation", "config": {"activation": "relu"}},
                {"class_name": "MaxPool2D"},
                {"class_name": "Flatten"},
                {"class_name": "Dropout", "config": {"rate": 0.25}},
                {"class_name": "Dense", "config": {"units": 4, "activation": "softmax"}}
            ]
        })
        .to_string(),
    )
    .unwrap()
}

fn data(n: usize, seed: u64) -> Rc<Dataset> {
    let mut rng = SplitMix64::new(seed);
    let labels: Vec<u32> = (0..n).map(|_| (rng.next_u64() % 4) as u32).collect();
    let pixels = (0..n * 64)
        .map(|i| {
            let k = labels[i / 64] as usize;
            if (i % 64) / 16 == k {
                220
            } else {
                (rng.next_u64() % 60) as u8
            }
        })
        .collect();
    Rc::new(Dataset { pixels, shape: [8, 8, 1], labels, classes: 4, normalization: (0.2, 0.3) })
}

fn run(optimizer: &str, seed: u64, data: &Rc<Dataset>, init_seed: u64) -> TrainingRun {
    let m = model(4);
    let settings = RunSettings {
        batch: 8,
        epochs: 3,
        augment: Augment {
            max_shift: 1,
            flip: true,
            rotation: 10.0,
            zoom: 0.1,
            contrast: 0.2,
            brightness: 0.1,
        },
    };
    let config = OptimizerConfig {
        kind: OptimizerKind::keras(optimizer).unwrap(),
        learning_rate: 0.01,
        schedule: Schedule::Cosine { steps: 3 * (data.len() / 8) as u64, floor: 0.01 },
        weight_decay: 1e-4,
    };
    let trainer = Trainer {
        weights: Weights::init(&m, init_seed).unwrap(),
        model: m,
        optimizer: Optimizer::new(config).unwrap(),
        seed,
    };
    TrainingRun::new(trainer, Rc::clone(data), settings).unwrap()
}

fn bits(w: &Weights) -> Vec<u32> {
    w.values.iter().flatten().flatten().map(|v| v.to_bits()).collect()
}

fn assert_same(a: &TrainingRun, b: &TrainingRun, what: &str) {
    assert_eq!(bits(&a.trainer.weights), bits(&b.trainer.weights), "{what}: weights");
    assert_eq!(a.trainer.optimizer, b.trainer.optimizer, "{what}: optimizer state");
    assert_eq!((a.epoch, a.step_in_epoch), (b.epoch, b.step_in_epoch), "{what}: position");
    assert_eq!(a.sums.loss.to_bits(), b.sums.loss.to_bits(), "{what}: loss sum");
    assert_eq!((a.sums.correct, a.sums.seen), (b.sums.correct, b.sums.seen), "{what}");
}

/// Runs `steps` steps in calls of at most `slice` (a call stops at an epoch's end).
fn advance(r: &mut TrainingRun, steps: usize, slice: usize) {
    let mut left = steps;
    while left > 0 && !r.done() {
        let before = r.trainer.optimizer.step;
        r.run_steps(left.min(slice)).unwrap();
        left -= (r.trainer.optimizer.step - before) as usize;
    }
}

#[test]
fn a_restored_run_continues_bit_for_bit() {
    let d = data(60, 1); // 7 steps per epoch, 4 images left over
    for optimizer in ["nadam", "adam", "nesterov", "rmsprop", "sgd"] {
        for (n, m) in [(5, 6), (7, 3), (0, 4), (10, 11)] {
            let mut whole = run(optimizer, 9, &d, 9);
            advance(&mut whole, n + m, 3);
            let mut first = run(optimizer, 9, &d, 9);
            advance(&mut first, n, 4);
            let bytes = checkpoint::save(&first).unwrap();
            // A fresh run from other initial weights: everything must come from the file.
            let mut resumed = run(optimizer, 9, &d, 1234);
            checkpoint::restore(&mut resumed, &bytes).unwrap();
            assert_same(&first, &resumed, &format!("{optimizer} restored at {n}"));
            advance(&mut resumed, m, 2);
            assert_same(&whole, &resumed, &format!("{optimizer} {n} + {m}"));
        }
    }
}

#[test]
fn a_run_checkpointed_at_its_end_is_done() {
    let d = data(24, 2);
    let mut r = run("adam", 1, &d, 1);
    advance(&mut r, 100, 5);
    assert!(r.done());
    let mut again = run("adam", 1, &d, 1);
    checkpoint::restore(&mut again, &checkpoint::save(&r).unwrap()).unwrap();
    assert!(again.done());
    assert_same(&r, &again, "the end");
}

#[test]
fn other_runs_and_bad_bytes_are_refused_and_change_nothing() {
    let d = data(40, 3);
    let mut r = run("nadam", 5, &d, 5);
    advance(&mut r, 3, 3);
    let good = checkpoint::save(&r).unwrap();
    let message = |target: &mut TrainingRun, bytes: &[u8]| {
        let before = (bits(&target.trainer.weights), target.trainer.optimizer.clone());
        let e = checkpoint::restore(target, bytes).unwrap_err().message().to_string();
        assert_eq!((bits(&target.trainer.weights), target.trainer.optimizer.clone()), before);
        assert!(e.starts_with("checkpoint: "), "{e}");
        e
    };
    let e = message(&mut run("adam", 5, &d, 5), &good);
    assert!(e.contains("optimizer") && e.contains("Adam") && e.contains("Nadam"), "{e}");
    assert!(message(&mut run("nadam", 6, &d, 5), &good).contains("seed 5"));
    assert!(
        message(&mut run("nadam", 5, &data(40, 4), 5), &good).contains("different training set")
    );

    let m = model(6);
    let other = Trainer {
        weights: Weights::init(&m, 1).unwrap(),
        model: m,
        optimizer: r.trainer.optimizer.clone(),
        seed: 5,
    };
    let mut other = TrainingRun::new(other, Rc::clone(&d), r.settings).unwrap();
    assert!(message(&mut other, &good).contains("different model"));

    let mut fresh = run("nadam", 5, &d, 5);
    assert!(message(&mut fresh, b"not a checkpoint at all").contains("not a checkpoint file"));
    assert!(message(&mut fresh, &good[..good.len() - 10]).contains("not a checkpoint file"));
    assert!(message(&mut fresh, &[]).contains("not a checkpoint file"));
    let weights = convlab::io::safetensors::save(&r.trainer.model, &r.trainer.weights).unwrap();
    assert!(message(&mut fresh, &weights).contains("weights file"));
    // A flipped byte in the state's JSON.
    let mut damaged = good.clone();
    let at = damaged.windows(8).position(|w| w == b"\"seed\\\":" || w == b"epoch\\\":").unwrap();
    damaged[at + 1] = b'x';
    let e = message(&mut fresh, &damaged);
    assert!(e.contains("state") || e.contains("not a checkpoint"), "{e}");
    // And the good one still restores.
    checkpoint::restore(&mut fresh, &good).unwrap();
    assert_same(&r, &fresh, "after refusals");
}
