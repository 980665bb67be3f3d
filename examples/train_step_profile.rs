//! Times the parts of one training step of a zoo model on the CPU path (natively):
//! `cargo run --release --example train_step_profile -- fashion_mnist_cnn 32`
use std::time::Instant;

use convlab::graph::Model;
use convlab::nn::backward::{backward, forward_train, loss};
use convlab::nn::weights::{SplitMix64, Weights};
use convlab::Tensor;

fn main() {
    let name = std::env::args().nth(1).unwrap_or_else(|| "fashion_mnist_cnn".into());
    let batch: usize = std::env::args().nth(2).and_then(|b| b.parse().ok()).unwrap_or(32);
    let model = Model::from_spec(convlab::zoo::spec(&name).expect("a zoo name")).unwrap();
    let mut weights = Weights::init(&model, 1).unwrap();
    let mut shape = vec![batch];
    shape.extend_from_slice(model.input_shape());
    let mut rng = SplitMix64::new(2);
    let x = Tensor::new(
        "x",
        "x",
        shape.clone(),
        (0..shape.iter().product()).map(|_| rng.symmetric()).collect(),
    )
    .unwrap();
    let labels: Vec<u32> = (0..batch as u32).map(|i| i % 10).collect();
    for run in 0..3 {
        let t0 = Instant::now();
        let tape = forward_train(&model, &mut weights, &x, 1).unwrap();
        let t1 = Instant::now();
        let (_, seed) = loss(&model, &tape, &labels).unwrap();
        let grads = backward(&model, &weights, &tape, seed).unwrap();
        let t2 = Instant::now();
        let macs = model.multiply_adds() as f64 * batch as f64;
        let (f, b) = ((t1 - t0).as_secs_f64(), (t2 - t1).as_secs_f64());
        println!(
            "run {run}: forward {:.0} ms ({:.1} GFLOP/s), backward {:.0} ms ({:.1} GFLOP/s for 2x the forward work), {:.0} samples/s",
            f * 1e3, 2.0 * macs / f / 1e9, b * 1e3, 4.0 * macs / b / 1e9, batch as f64 / (f + b)
        );
        drop(grads);
    }
}
