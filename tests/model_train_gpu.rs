//! Training on WebGPU (natively on Mesa's lavapipe) against the CPU path: the same model,
//! weights, batches, seed and optimizer give the same losses and weights step by step, up to
//! float rounding, for a model with every layer type the device trains, every optimizer, and
//! the zoo's models at small size. The CPU path's own correctness (finite differences, Keras
//! parity) is tests/model_train.rs and tests/keras_training.rs; here the question is whether
//! the device's graph backward and update kernel do what the CPU path does.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use convlab::backend::webgpu::GpuContext;
use convlab::graph::Model;
use convlab::nn::weights::{KernelInit, SplitMix64, Weights};
use convlab::train::gpu::GpuTrainer;
use convlab::train::{Optimizer, OptimizerConfig, OptimizerKind, Schedule, Trainer};
use pollster::block_on;

fn gpu() -> GpuContext {
    block_on(GpuContext::new("")).unwrap_or_else(|e| {
        panic!("no WebGPU adapter (install mesa-vulkan-drivers for lavapipe): {e}")
    })
}

use common::models::random_batch as batch;

/// [`common::models::every_layer_model`] with a softmax Dense output instead of LeNet-5's RBF
/// (which trains on the CPU path only).
fn every_layer_model_for_gpu() -> Model {
    let text = serde_json::to_string(common::models::every_layer_model().spec()).unwrap();
    let rbf = r#"{"name":"rbf","class_name":"RBF","config":{"units":5}}"#;
    assert!(text.contains(rbf), "the RBF layer is not in the spec");
    let dense =
        r#"{"name":"out","class_name":"Dense","config":{"units":5,"activation":"softmax"}}"#;
    Model::from_json(&text.replace(rbf, dense)).unwrap()
}

/// A small convolutional model with batch norm, 8x8x2 in, three classes.
fn small_model() -> Model {
    Model::from_json(
        &serde_json::json!({
            "format": "convlab-model", "version": 1, "name": "small", "input": {"shape": [8, 8, 2]},
            "layers": [
                {"name": "conv", "class_name": "Conv2D", "config": {"filters": 4, "kernel_size": 3, "activation": "relu"}},
                {"name": "bn", "class_name": "BatchNormalization"},
                {"name": "flat", "class_name": "Flatten"},
                {"name": "out", "class_name": "Dense", "config": {"units": 3, "activation": "softmax"}}
            ]
        })
        .to_string(),
    )
    .unwrap()
}

fn trainer(model: Model, optimizer: &str, seed: u64) -> Trainer {
    let weights = Weights::init_with(&model, seed, KernelInit::He).unwrap();
    let config = OptimizerConfig {
        kind: OptimizerKind::keras(optimizer).unwrap(),
        learning_rate: 1e-2,
        schedule: Schedule::Cosine { steps: 10, floor: 0.1 },
        weight_decay: 1e-3,
    };
    Trainer { model, weights, optimizer: Optimizer::new(config).unwrap(), seed: 11 }
}

/// Largest difference between `a` and `b` relative to the larger's largest magnitude.
fn relative_diff(a: &[f32], b: &[f32]) -> f64 {
    assert_eq!(a.len(), b.len());
    let scale = a.iter().chain(b).fold(0.0f64, |m, v| m.max(v.abs() as f64)).max(1e-6);
    a.iter().zip(b).fold(0.0f64, |m, (x, y)| m.max((x - y).abs() as f64)) / scale
}

/// Runs `steps` steps of `cpu` on the CPU path and of a copy on the device, on fresh batches;
/// returns the worst loss difference and the worst parameter/slot difference after the run.
fn compare(ctx: &GpuContext, mut cpu: Trainer, steps: usize, n: usize) -> (f64, f64) {
    let mut dev = cpu.clone();
    let mut gpu = GpuTrainer::new(ctx, &dev).unwrap();
    let mut worst_loss = 0.0f64;
    for s in 0..steps {
        let (x, labels) = batch(&cpu.model, n, 100 + s as u64);
        let a = cpu.step(&x, &labels).unwrap();
        let b = block_on(gpu.step(ctx, &mut dev, &x, &labels)).unwrap();
        assert_eq!(a.correct, b.correct, "step {s}: correct counts differ");
        worst_loss =
            worst_loss.max((a.loss - b.loss).abs() as f64 / (a.loss.abs() as f64).max(1e-3));
    }
    block_on(gpu.sync(ctx, &mut dev)).unwrap();
    assert_eq!(cpu.optimizer.step, dev.optimizer.step);
    let mut worst = 0.0f64;
    for (i, node) in cpu.model.nodes().iter().enumerate() {
        for (k, p) in node.params.iter().enumerate() {
            let d = relative_diff(&cpu.weights.values[i][k], &dev.weights.values[i][k]);
            assert!(
                d < 1e-3,
                "layer '{}' {}: weights differ by {d:e} of their scale",
                node.name,
                p.name
            );
            worst = worst.max(d);
        }
    }
    for (s, (a, b)) in cpu.optimizer.slots.iter().zip(&dev.optimizer.slots).enumerate() {
        for (x, y) in [(&a.a, &b.a), (&a.b, &b.b)] {
            if !x.is_empty() {
                let d = relative_diff(x, y);
                assert!(d < 1e-3, "optimizer slot {s} differs by {d:e} of its scale");
                worst = worst.max(d);
            }
        }
    }
    (worst_loss, worst)
}

/// Every layer type the device trains (a connection table, padding, depthwise, batch norm,
/// separable, LRN, squeeze-and-excitation, max/avg pooling, grouped conv, add, concat, depth
/// max pooling, LeNet subsampling, activations, global max pooling, flatten, dropout, dense),
/// Nadam with a cosine schedule and weight decay: three steps agree with the CPU path.
#[test]
fn steps_on_the_device_match_the_cpu_path_for_every_layer_type() {
    let ctx = gpu();
    let (loss, weights) = compare(&ctx, trainer(every_layer_model_for_gpu(), "nadam", 2), 3, 3);
    println!("every layer type: worst loss difference {loss:e}, weights/slots {weights:e}");
    assert!(loss < 1e-4, "losses differ by {loss:e}");
}

/// Each optimizer's update kernel against the CPU loop.
#[test]
fn every_optimizer_updates_as_on_the_cpu_path() {
    let ctx = gpu();
    for name in ["sgd", "momentum", "nesterov", "rmsprop", "adam", "nadam"] {
        let model = small_model();
        let (loss, weights) = compare(&ctx, trainer(model, name, 5), 4, 5);
        println!("{name}: worst loss difference {loss:e}, weights/slots {weights:e}");
        assert!(loss < 1e-4, "{name}: losses differ by {loss:e}");
    }
}

/// The zoo's models whose layers the device trains, at small size, two steps of a batch of
/// four. By default the two that run in seconds on lavapipe; `CONVLAB_ZOO=all` (or a list)
/// runs others. When this was written AlexNet, GoogLeNet and VGG-16 agreed to 2.7e-6 of their
/// weights' scale (VGG-16 taking 6 minutes here); ResNet-34 (at 64x64) and Xception did not:
/// their weights part by 0.2-4% of a tensor's scale after one or two steps. Traced on ResNet-34:
/// the forward passes agree to 1e-5, the last residual stage's gradients to 2e-5, and the
/// parting starts at batch norm's `dbeta`/`dgamma` sums of the first stride-2 unit, which cancel
/// to about 1e-4 of their terms; the device sums them in f32 (a workgroup tree), the CPU path in
/// f64, and a rounding-level input perturbation on the CPU path moves nothing by more than 2e-5.
/// A compensated reduction on the device is the fix (not done).
///
/// ResNets are sized 64x64, not 32x32: at 1x1 with a batch of two, batch norm normalises two
/// values to exactly -1 and 1 and its backward pass amplifies any rounding.
#[test]
fn zoo_models_train_on_the_device_as_on_the_cpu_path() {
    let ctx = gpu();
    let only = std::env::var("CONVLAB_ZOO").ok();
    let default = ["fashion_mnist_cnn", "lenet5_modern"];
    for &name in convlab::zoo::names() {
        let wanted = match only.as_deref() {
            Some("all") => name != "lenet5",
            Some(list) => list.split(',').any(|n| n == name),
            None => default.contains(&name),
        };
        if !wanted {
            continue;
        }
        let mut spec = convlab::zoo::spec(name).unwrap();
        let side = match name {
            "alexnet" => 67,
            "xception" => 71,
            "fashion_mnist_cnn" | "lenet5_modern" => 28,
            "resnet34" | "resnet152" | "se_resnet50" => 64,
            _ => 32,
        };
        let channels = spec.input.shape[2];
        spec.input.shape = vec![side, side, channels];
        let model = Model::from_spec(spec).unwrap();
        let started = std::time::Instant::now();
        // Momentum, not Adam: Adam's first steps move each weight by about the learning rate
        // whatever the size of its gradient, so a gradient that is zero up to rounding moves
        // its weight a full step either way (see tests/keras_training.rs). The update
        // kernels themselves are compared above.
        let (loss, weights) = compare(&ctx, trainer(model, "momentum", 3), 2, 4);
        println!(
            "{name}: worst loss difference {loss:e}, weights/slots {weights:e}, {:.1} s",
            started.elapsed().as_secs_f64()
        );
        assert!(loss < 1e-4, "{name}: losses differ by {loss:e}");
    }
}

/// LeNet-5's RBF output has no device gradient: refused with a message naming the layer.
#[test]
fn an_rbf_output_is_refused_with_a_message() {
    let ctx = gpu();
    let model = Model::from_spec(convlab::zoo::spec("lenet5").unwrap()).unwrap();
    let t = trainer(model, "adam", 1);
    let e = GpuTrainer::new(&ctx, &t).err().expect("lenet5 must be refused");
    assert!(e.to_string().contains("RBF") && e.to_string().contains("CPU path"), "{e}");
}

/// Evaluation with the device's weights agrees with the CPU path's after the weights come back.
#[test]
fn evaluation_on_the_device_matches_the_cpu_path() {
    use convlab::train::data::Dataset;
    let ctx = gpu();
    let mut t = trainer(small_model(), "adam", 4);
    let mut g = GpuTrainer::new(&ctx, &t).unwrap();
    for s in 0..2 {
        let (x, labels) = batch(&t.model, 4, s);
        block_on(g.step(&ctx, &mut t, &x, &labels)).unwrap();
    }
    block_on(g.sync(&ctx, &mut t)).unwrap();
    // 13 images of 8x8x2 as IDX bytes (values 0..255), three classes.
    let n = 13usize;
    let mut rng = SplitMix64::new(9);
    let mut images = vec![0u8, 0, 8, 4];
    for d in [n, 8, 8, 2] {
        images.extend_from_slice(&(d as u32).to_be_bytes());
    }
    images.extend((0..n * 8 * 8 * 2).map(|_| (rng.next_u64() % 256) as u8));
    let mut labels = vec![0u8, 0, 8, 1];
    labels.extend_from_slice(&(n as u32).to_be_bytes());
    labels.extend((0..n).map(|_| (rng.next_u64() % 3) as u8));
    let data = Dataset::from_idx("images", &images, "labels", &labels, 3, (0.5, 0.25)).unwrap();
    let on_cpu = t.evaluate(&data, 4).unwrap();
    let on_gpu = block_on(g.evaluate(&ctx, &t.model, &data, 4)).unwrap();
    assert_eq!(on_cpu.confusion, on_gpu.confusion);
    assert!(
        (on_cpu.loss - on_gpu.loss).abs() < 1e-4 * on_cpu.loss.max(1.0),
        "{on_cpu:?} vs {on_gpu:?}"
    );
}

/// On a device whose storage bindings hold 16 KiB, every activation of a batch of 16 through
/// the every-layer model is over one binding (as VGG-16's are over 128 MiB at batch 32): each
/// op of the step splits by images, rows or elements, the batch reductions accumulate across
/// the chunks, and two steps still match the CPU path.
#[test]
fn steps_split_tensors_larger_than_a_binding() {
    let small =
        block_on(GpuContext::with_limits("", |l| l.max_storage_buffer_binding_size = 16 << 10))
            .unwrap();
    let (loss, weights) = compare(&small, trainer(every_layer_model_for_gpu(), "nadam", 2), 2, 16);
    println!("split by bindings: worst loss difference {loss:e}, weights/slots {weights:e}");
    assert!(loss < 1e-4, "losses differ by {loss:e}");
}
