//! Optimizer updates against Keras 3's own: each optimizer (Keras's default hyper-parameters,
//! learning rate 0.01) for six steps on fixed gradients, compared with the weights Keras
//! computed (tests/golden/keras_optimizers.json, written by scripts/golden/keras_optimizers.py).
//! Tolerance 2e-6 absolute on weights of order 1: a few f32 roundings per step, and Keras and
//! convlab order the same operations slightly differently.

use convlab::train::{Optimizer, OptimizerConfig, OptimizerKind, Schedule};

#[test]
fn every_optimizer_matches_keras() {
    let golden: serde_json::Value =
        serde_json::from_str(include_str!("golden/keras_optimizers.json")).unwrap();
    let w0: Vec<f32> = serde_json::from_value(golden["w0"].clone()).unwrap();
    let grads: Vec<Vec<f32>> = serde_json::from_value(golden["grads"].clone()).unwrap();
    let names = ["sgd", "momentum", "nesterov", "rmsprop", "adam", "nadam"];
    for name in names {
        let want: Vec<Vec<f32>> = serde_json::from_value(golden["steps"][name].clone()).unwrap();
        let config = OptimizerConfig {
            kind: OptimizerKind::keras(name).unwrap(),
            learning_rate: 0.01,
            schedule: Schedule::Constant,
            weight_decay: 0.0,
        };
        let mut opt = Optimizer::new(config).unwrap();
        let mut w = w0.clone();
        for (step, (g, want)) in grads.iter().zip(&want).enumerate() {
            let p = opt.begin_step();
            opt.update(0, &p, &mut w, g, true).unwrap();
            for (i, (a, b)) in w.iter().zip(want).enumerate() {
                assert!((a - b).abs() <= 2e-6, "{name} step {}: w[{i}] = {a}, Keras {b}", step + 1);
            }
        }
    }
}

#[test]
fn schedules_and_weight_decay() {
    let cosine = Schedule::Cosine { steps: 100, floor: 0.1 };
    assert_eq!(cosine.factor(0), 1.0);
    assert!((cosine.factor(50) - 0.55).abs() < 1e-6);
    assert!((cosine.factor(100) - 0.1).abs() < 1e-6);
    assert!((cosine.factor(1000) - 0.1).abs() < 1e-6);
    let step = Schedule::Step { every: 10, factor: 0.5 };
    assert_eq!((step.factor(9), step.factor(10), step.factor(25)), (1.0, 0.5, 0.25));
    // Plain SGD with decay 0.1: w -= lr * (g + 0.1 w).
    let config = OptimizerConfig {
        kind: OptimizerKind::keras("sgd").unwrap(),
        learning_rate: 0.5,
        schedule: Schedule::Constant,
        weight_decay: 0.1,
    };
    let mut opt = Optimizer::new(config).unwrap();
    let (mut w, mut b) = (vec![2.0f32], vec![2.0f32]);
    let p = opt.begin_step();
    opt.update(0, &p, &mut w, &[1.0], true).unwrap();
    opt.update(1, &p, &mut b, &[1.0], false).unwrap();
    assert_eq!((w[0], b[0]), (2.0 - 0.5 * (1.0 + 0.2), 1.5));
    let bad = Optimizer::new(OptimizerConfig { learning_rate: f32::NAN, ..config }).unwrap_err();
    assert!(bad.message().contains("learningRate"), "{bad}");
}
