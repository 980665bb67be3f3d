//! Inference through whole models: a model with every layer type, and every zoo architecture
//! at full size (batch 1), on the CPU path and on WebGPU (lavapipe natively), compared with
//! each other. Each kernel is checked against the f64 reference and ONNX data elsewhere; here
//! the question is whether the graph runs them in the right order with the right weights.
//! Tolerance: 1e-3 of the largest output magnitude, because errors of 1e-6 per op compound
//! through up to 150 layers (measured worst case is printed).
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::models::every_layer_model;
use convlab::backend::webgpu::GpuContext;
use convlab::graph::Model;
use convlab::nn::forward::forward_cpu;
use convlab::nn::forward_gpu::{forward_gpu, GpuWeights};
use convlab::nn::weights::{KernelInit, SplitMix64, Weights};
use convlab::Tensor;
use pollster::block_on;

fn random_input(model: &Model, batch: usize, seed: u64) -> Tensor {
    let mut shape = vec![batch];
    shape.extend_from_slice(model.input_shape());
    let len = shape.iter().product();
    let mut rng = SplitMix64::new(seed);
    Tensor::new("test", "x", shape, (0..len).map(|_| rng.symmetric()).collect()).unwrap()
}

fn context() -> GpuContext {
    block_on(GpuContext::new("")).unwrap_or_else(|e| panic!("{e}: install mesa-vulkan-drivers"))
}

/// Largest |a - b| relative to the largest |b| (random weights shrink some models' outputs to
/// 1e-12, so no floor of 1).
fn relative_error(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(f32::MIN_POSITIVE, |m, v| m.max(v.abs()));
    a.iter().zip(b).fold(0.0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

#[test]
fn every_layer_type_runs_and_the_backends_agree() {
    let model = every_layer_model();
    let weights = Weights::init(&model, 7).unwrap();
    let x = random_input(&model, 3, 11);
    let keep: Vec<usize> = (1..model.nodes().len()).collect();
    let (y, maps) = forward_cpu(&model, &weights, &x, &keep).unwrap();
    assert_eq!(y.shape(), [3, 5]);
    assert!(y.data().iter().all(|v| v.is_finite() && *v >= 0.0), "RBF distances: {:?}", y.data());
    for (node, map) in keep.iter().map(|&i| &model.nodes()[i]).zip(&maps) {
        assert_eq!(map.shape()[1..], node.output_shape[..], "{}", node.name);
    }
    let gpu = context();
    let gw = GpuWeights::upload(&gpu, &model, &weights).unwrap();
    let (gy, gmaps) = block_on(forward_gpu(&gpu, &model, &gw, &x, &keep)).unwrap();
    for ((node, c), g) in keep.iter().map(|&i| &model.nodes()[i]).zip(&maps).zip(&gmaps) {
        let e = relative_error(g.data(), c.data());
        assert!(e < 1e-4, "{}: WebGPU differs from the CPU by {e} of the scale", node.name);
    }
    assert!(relative_error(gy.data(), y.data()) < 1e-4);
}

/// Inference on a device whose storage bindings hold 16 KiB: a batch of 40 puts most layers'
/// output over one binding, each op splits it, and every layer still agrees with the CPU.
#[test]
fn inference_splits_tensors_larger_than_a_binding() {
    let model = every_layer_model();
    let weights = Weights::init(&model, 7).unwrap();
    let x = random_input(&model, 40, 12);
    let keep: Vec<usize> = (1..model.nodes().len()).collect();
    let (y, maps) = forward_cpu(&model, &weights, &x, &keep).unwrap();
    let small =
        block_on(GpuContext::with_limits("", |l| l.max_storage_buffer_binding_size = 16 << 10))
            .unwrap();
    let gw = GpuWeights::upload(&small, &model, &weights).unwrap();
    let (gy, gmaps) = block_on(forward_gpu(&small, &model, &gw, &x, &keep)).unwrap();
    let mut split = 0;
    for ((node, c), g) in keep.iter().map(|&i| &model.nodes()[i]).zip(&maps).zip(&gmaps) {
        split += usize::from(c.data().len() * 4 > 16 << 10);
        let e = relative_error(g.data(), c.data());
        assert!(e < 1e-4, "{}: split WebGPU differs from the CPU by {e} of the scale", node.name);
    }
    assert!(split >= 10, "only {split} layer outputs were over a binding");
    assert!(relative_error(gy.data(), y.data()) < 1e-4);
}

#[test]
fn a_wrong_input_shape_is_refused() {
    let model = every_layer_model();
    let weights = Weights::init(&model, 7).unwrap();
    let x = Tensor::new("t", "x", vec![1, 12, 12, 5], vec![0.0; 720]).unwrap();
    let e = forward_cpu(&model, &weights, &x, &[]).unwrap_err();
    assert!(e.message().contains("not a batch of the model's input [batch, 12, 12, 6]"), "{e}");
    // A batch whose largest layer output passes the tensor cap is refused before allocating
    // (checked on the shape alone: no 1 GiB input is built here).
    let e = convlab::nn::forward::check_input(&model, &[1 << 22, 12, 12, 6]).unwrap_err();
    assert!(e.message().contains("use a batch of at most"), "{e}");
}
/// Every zoo model, full size, batch 1, on both backends (about 6 minutes here, VGG-16 on
/// lavapipe 2.5 of them): the issue asks for every architecture on both backends natively.
#[test]
fn every_zoo_model_runs_forward_on_both_backends() {
    let gpu = context();
    // CONVLAB_ZOO=name,name runs only those (for local work; make test runs all).
    let only = std::env::var("CONVLAB_ZOO").unwrap_or_default();
    for &name in convlab::zoo::names() {
        if !only.is_empty() && !only.split(',').any(|n| n == name) {
            continue;
        }
        let started = std::time::Instant::now();
        let model = Model::from_spec(convlab::zoo::spec(name).unwrap()).unwrap();
        let weights = Weights::init_with(&model, 1, KernelInit::He).unwrap();
        let x = random_input(&model, 1, 2);
        // The layer feeding the output too: a softmax output alone hides errors in its logits.
        let before = model.nodes()[model.output()].inputs[0];
        let (y, kept) = forward_cpu(&model, &weights, &x, &[before]).unwrap();
        let cpu_s = started.elapsed().as_secs_f64();
        let gw = GpuWeights::upload(&gpu, &model, &weights).unwrap();
        let (gy, gkept) = block_on(forward_gpu(&gpu, &model, &gw, &x, &[before])).unwrap();
        let e = relative_error(gy.data(), y.data())
            .max(relative_error(gkept[0].data(), kept[0].data()));
        let spread = |v: &[f32]| {
            let mean = v.iter().sum::<f32>() / v.len() as f32;
            (v.iter().map(|a| (a - mean) * (a - mean)).sum::<f32>() / v.len() as f32).sqrt()
        };
        println!(
            "{name}: output {:?}, cpu {cpu_s:.1} s, total {:.1} s, webgpu vs cpu {e:.2e}, spread of \
             the last two layers {:.2e} {:.2e}",
            y.shape(),
            started.elapsed().as_secs_f64(),
            spread(kept[0].data()),
            spread(y.data())
        );
        assert_eq!(y.shape()[1..], model.nodes()[model.output()].output_shape[..]);
        assert!(y.data().iter().all(|v| v.is_finite()), "{name}: non-finite output");
        assert!(spread(kept[0].data()) > 0.0 && spread(y.data()) > 0.0, "{name}: constant output");
        assert!(e < 1e-3, "{name}: WebGPU differs from the CPU by {e} of the scale");
    }
}
