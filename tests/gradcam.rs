//! Grad-CAM (src/nn/gradcam.rs) and the timed pass of the "Look inside" view
//! (src/nn/inspect.rs).
//!
//! - The gradient of a class score with respect to a layer's output is checked against central
//!   finite differences of that score (the layer's output replaced, the rest of the graph run
//!   again), on the smooth every-layer model (LeNet-5's RBF output, batch norm with moving
//!   statistics that are not 0 and 1) and on a softmax classifier.
//! - A model whose class score depends on one region of the image highlights that region.
//! - The bilinear upsampling matches PyTorch's `align_corners=False` on a published example.
//! - The timed pass gives the same outputs as inference, on the CPU path and on WebGPU.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use common::models::every_layer_model_smooth;
use convlab::backend::webgpu::GpuContext;
use convlab::graph::Model;
use convlab::nn::forward::forward_cpu;
use convlab::nn::forward_gpu::GpuWeights;
use convlab::nn::gradcam::{
    class_gradient, class_score, default_layer, grad_cam, resize_bilinear, GradCamOptions,
};
use convlab::nn::inspect::{forward_cpu_timed, forward_gpu_timed};
use convlab::nn::weights::{SplitMix64, Weights};
use convlab::Tensor;
use std::time::Instant;

fn random_input(model: &Model, seed: u64) -> Tensor {
    let mut shape = vec![1];
    shape.extend_from_slice(model.input_shape());
    let mut rng = SplitMix64::new(seed);
    let data = (0..shape.iter().product()).map(|_| rng.symmetric()).collect();
    Tensor::new("test", "x", shape, data).unwrap()
}

/// Moving statistics away from 0 and 1, so the inference form of batch norm is exercised.
fn stir_batch_norm(model: &Model, weights: &mut Weights, seed: u64) {
    let mut rng = SplitMix64::new(seed);
    for (node, values) in model.nodes().iter().zip(&mut weights.values) {
        if node.layer.class_name() == "BatchNormalization" {
            let k = values.len() - 2;
            values[k].iter_mut().for_each(|m| *m = 0.3 * rng.symmetric());
            values[k + 1].iter_mut().for_each(|v| *v = 0.5 + rng.symmetric().abs());
            if k > 0 {
                values[0].iter_mut().for_each(|g| *g = 1.0 + 0.5 * rng.symmetric());
            }
        }
    }
}

/// d score / d A by central differences at `samples` positions of A versus the backward
/// pass. f32 scores are exact to about 1e-7 of themselves; h = 1e-3 keeps that below 2e-4 in
/// the slope (the same reasoning as tests/model_train.rs): tolerance 2e-2 relative + 1e-3.
fn check_layer_gradient(model: &Model, weights: &Weights, layer: &str, class: usize) -> f32 {
    let x = random_input(model, 7);
    let node = model.node_index(layer).unwrap();
    let (tape, _, got_class, grad) = class_gradient(model, weights, &x, Some(class), node).unwrap();
    assert_eq!(got_class, class);
    let a = tape.output(node).to_vec();
    assert_eq!(grad.len(), a.len());
    assert!(grad.iter().any(|g| g.abs() > 1e-4), "{layer}: the gradient is all zero");
    let h = 1e-3f32;
    let mut worst = 0.0f32;
    let step = (a.len() / 40).max(1);
    for i in (0..a.len()).step_by(step) {
        let mut plus = a.clone();
        plus[i] += h;
        let mut minus = a.clone();
        minus[i] -= h;
        let up = class_score(model, weights, &x, class, Some((node, &plus))).unwrap();
        let down = class_score(model, weights, &x, class, Some((node, &minus))).unwrap();
        let numeric = (up - down) / (2.0 * h);
        let tol = 2e-2 * grad[i].abs().max(numeric.abs()) + 1e-3;
        let err = (grad[i] - numeric).abs();
        assert!(err <= tol, "{layer}[{i}]: backward {} vs finite differences {numeric}", grad[i]);
        worst = worst.max(err);
    }
    worst
}

#[test]
fn the_class_score_gradient_matches_finite_differences_on_every_layer_type() {
    let model = every_layer_model_smooth();
    let mut weights = Weights::init(&model, 3).unwrap();
    stir_batch_norm(&model, &mut weights, 11);
    // Before batch norm (its inference backward is on the path), after the separable
    // convolution, and the squeeze-and-excitation's scaled output.
    for (layer, class) in [("dw", 1), ("sep", 3), ("se/scale", 0)] {
        let worst = check_layer_gradient(&model, &weights, layer, class);
        eprintln!("{layer}: worst |backward - finite differences| = {worst:.2e}");
    }
}

fn softmax_classifier() -> Model {
    Model::from_json(
        &serde_json::json!({
            "format": "convlab-model", "version": 1, "name": "softmax_cnn", "input": {"shape": [10, 10, 3]},
            "layers": [
                {"name": "conv1", "class_name": "Conv2D", "config": {"filters": 6, "kernel_size": 3, "activation": "tanh"}},
                {"name": "bn", "class_name": "BatchNormalization"},
                {"name": "conv2", "class_name": "Conv2D", "config": {"filters": 5, "kernel_size": 3, "padding": "same", "activation": "elu"}},
                {"name": "drop", "class_name": "Dropout", "config": {"rate": 0.5}},
                {"name": "gap", "class_name": "GlobalAvgPool2D"},
                {"name": "out", "class_name": "Dense", "config": {"units": 4, "activation": "softmax"}}
            ]
        })
        .to_string(),
    )
    .unwrap()
}

#[test]
fn the_score_is_the_logit_before_softmax_and_dropout_is_off() {
    let model = softmax_classifier();
    let mut weights = Weights::init(&model, 5).unwrap();
    stir_batch_norm(&model, &mut weights, 2);
    check_layer_gradient(&model, &weights, "conv1", 2);
    check_layer_gradient(&model, &weights, "conv2", 0);
    // The logit: the Dense layer's pre-activation, which inference's softmax output hides.
    let x = random_input(&model, 9);
    let probs = forward_cpu(&model, &weights, &x, &[]).unwrap().0;
    let logits: Vec<f32> =
        (0..4).map(|c| class_score(&model, &weights, &x, c, None).unwrap()).collect();
    let max = logits.iter().cloned().fold(f32::MIN, f32::max);
    let sum: f32 = logits.iter().map(|l| (l - max).exp()).sum();
    for (p, l) in probs.data().iter().zip(&logits) {
        assert!(
            (p - (l - max).exp() / sum).abs() < 1e-6,
            "softmax(logits) {logits:?} vs {:?}",
            probs.data()
        );
    }
    assert_eq!(default_layer(&model), model.node_index("drop"), "the last spatial layer");
}

/// Two colour blobs: red in the top-left quadrant, green in the bottom-right. Channel 0 of
/// the features sees red, channel 1 green; class 0 is "how much red", class 1 "how much green".
fn two_region_model() -> (Model, Weights, Tensor) {
    let model = Model::from_json(
        &serde_json::json!({
            "format": "convlab-model", "version": 1, "name": "regions", "input": {"shape": [8, 8, 3]},
            "layers": [
                {"name": "features", "class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 1, "activation": "relu"}},
                {"name": "pool", "class_name": "MaxPool2D", "config": {"pool_size": 2}},
                {"name": "gap", "class_name": "GlobalAvgPool2D"},
                {"name": "logits", "class_name": "Dense", "config": {"units": 2}}
            ]
        })
        .to_string(),
    )
    .unwrap();
    let mut weights = Weights::init(&model, 0).unwrap();
    let f = model.node_index("features").unwrap();
    // [1, 1, 3, 2]: red -> channel 0, green -> channel 1.
    weights.values[f][0] = vec![1.0, 0.0, 0.0, 1.0, 0.0, 0.0];
    let d = model.node_index("logits").unwrap();
    weights.values[d][0] = vec![2.0, 0.0, 0.0, 1.0];
    weights.values[d][1] = vec![0.0, 0.0];
    let mut data = vec![0.0f32; 8 * 8 * 3];
    for y in 0..8 {
        for x in 0..8 {
            if y < 3 && x < 3 {
                data[(y * 8 + x) * 3] = 1.0;
            }
            if y >= 5 && x >= 5 {
                data[(y * 8 + x) * 3 + 1] = 1.0;
            }
        }
    }
    (model, weights, Tensor::new("t", "x", vec![1, 8, 8, 3], data).unwrap())
}

/// Whether the heat map is positive on every pixel of the blob `rows x cols` and zero beyond
/// the blob's pooled cells and the one-pixel halo bilinear upsampling adds around them.
fn heat_on(heat: &[f32], blob: std::ops::Range<usize>, reach: std::ops::Range<usize>) -> bool {
    (0..64).all(|i| {
        let (y, x) = (i / 8, i % 8);
        let on_blob = blob.contains(&y) && blob.contains(&x);
        let within = reach.contains(&y) && reach.contains(&x);
        (!on_blob || heat[i] > 0.0) && (within || heat[i] == 0.0)
    })
}

#[test]
fn a_score_that_depends_on_one_region_highlights_that_region() {
    let (model, weights, x) = two_region_model();
    assert_eq!(default_layer(&model), model.node_index("pool"));
    let red = grad_cam(&model, &weights, &x, GradCamOptions::default()).unwrap();
    assert_eq!(red.class, 0, "red is worth twice as much: class 0 is predicted");
    assert_eq!(red.cam_shape, [4, 4]);
    assert_eq!(red.heatmap_shape, [8, 8]);
    // Class 0's gradient reaches channel 0 only: w = (2 / 16, 0).
    assert!((red.channel_weights[0] - 2.0 / 16.0).abs() < 1e-6, "{:?}", red.channel_weights);
    assert_eq!(red.channel_weights[1], 0.0);
    assert_eq!(red.score, 2.0 * 4.0 / 16.0, "four red pooled cells of 16, times 2");
    assert!(heat_on(&red.heatmap, 0..3, 0..5), "red: {:?}", red.heatmap);
    let green =
        grad_cam(&model, &weights, &x, GradCamOptions { class: Some(1), layer: None }).unwrap();
    assert_eq!(green.class, 1);
    assert!(heat_on(&green.heatmap, 5..8, 3..8), "green: {:?}", green.heatmap);
    // The cam itself: zero outside the blob's pooled cells.
    assert_eq!(green.cam.iter().filter(|v| **v > 0.0).count(), 4, "{:?}", green.cam);
    assert!(green.cam[..8].iter().all(|v| *v == 0.0));
}

#[test]
fn bad_requests_are_named() {
    let (model, weights, x) = two_region_model();
    let err =
        |o: GradCamOptions, x: &Tensor| grad_cam(&model, &weights, x, o).unwrap_err().to_string();
    let e = err(GradCamOptions { class: Some(2), layer: None }, &x);
    assert!(
        e.contains("gradCam") && e.contains("'class'") && e.contains("2 is not a class"),
        "{e}"
    );
    let gap = model.node_index("gap");
    let e = err(GradCamOptions { class: None, layer: gap }, &x);
    assert!(e.contains("'gap'") && e.contains("spatial"), "{e}");
    let two = Tensor::new("t", "x", vec![2, 8, 8, 3], vec![0.0; 2 * 8 * 8 * 3]).unwrap();
    let e = err(GradCamOptions::default(), &two);
    assert!(e.contains("one image at a time"), "{e}");
    let wrong = Tensor::new("t", "x", vec![1, 4, 4, 3], vec![0.0; 48]).unwrap();
    let e = err(GradCamOptions::default(), &wrong);
    assert!(e.contains("not a batch of the model's input"), "{e}");
}

#[test]
fn upsampling_matches_pytorch_align_corners_false() {
    // torch.nn.functional.interpolate(torch.tensor([[[[1., 2.], [3., 4.]]]]), size=(4, 4),
    // mode="bilinear", align_corners=False)
    let got = resize_bilinear(&[1.0, 2.0, 3.0, 4.0], [2, 2], [4, 4]);
    let want =
        [1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0];
    assert_eq!(got, want);
    assert_eq!(resize_bilinear(&[5.0], [1, 1], [3, 2]), vec![5.0; 6]);
}

#[test]
fn the_timed_pass_gives_every_layer_output_as_inference_does() {
    let model = every_layer_model_smooth();
    let weights = Weights::init(&model, 1).unwrap();
    let x = random_input(&model, 4);
    let keep: Vec<usize> = (1..model.nodes().len()).collect();
    let (_, maps) = forward_cpu(&model, &weights, &x, &keep).unwrap();
    let t0 = Instant::now();
    let clock = || t0.elapsed().as_secs_f64() * 1e3;
    let runs = forward_cpu_timed(&model, &weights, &x, &clock).unwrap();
    assert_eq!(runs.len(), model.nodes().len());
    for (run, map) in runs[1..].iter().zip(&maps) {
        assert_eq!(run.output.shape(), map.shape());
        assert_eq!(run.output.data(), map.data(), "the same kernels, bit for bit");
        assert!(run.ms >= 0.0 && run.gpu_ms.is_none());
    }
    let Ok(gpu) = pollster::block_on(GpuContext::new("")) else {
        panic!("no WebGPU adapter: install mesa-vulkan-drivers (lavapipe)");
    };
    let gw = GpuWeights::upload(&gpu, &model, &weights).unwrap();
    let gruns = pollster::block_on(forward_gpu_timed(&gpu, &model, &gw, &x, &clock)).unwrap();
    assert_eq!(gruns.len(), runs.len());
    for ((g, c), node) in gruns.iter().zip(&runs).zip(model.nodes()) {
        let scale = c.output.data().iter().fold(1e-3f32, |m, v| m.max(v.abs()));
        let diff = g
            .output
            .data()
            .iter()
            .zip(c.output.data())
            .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(diff <= 1e-4 * scale, "{}: WebGPU differs by {diff} (scale {scale})", node.name);
        assert!(g.ms > 0.0, "{}: every WebGPU layer waits for its read-back", node.name);
        if gpu.has_timestamps() && node.layer.class_name() == "Conv2D" {
            assert!(g.gpu_ms.is_some(), "{}: timestamps present but no GPU time", node.name);
        }
    }
}
