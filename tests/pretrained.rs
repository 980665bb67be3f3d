//! MobileNetV2 with torchvision's pretrained ImageNet weights (IMAGENET1K_V1), converted by
//! scripts/fetch-pretrained.sh into www/assets/models/mobilenet_v2.safetensors, loaded into the
//! zoo's `mobilenet_v2` spec and run on the seed's photos, on the CPU path and on WebGPU
//! (lavapipe natively).
//!
//! The inputs are torchvision's own preprocessing of china.jpg and flower.jpg, made by Pillow
//! (tests/golden/imagenet/<photo>_224.u8, written by scripts/golden/imagenet_preprocess.py; the
//! browser test checks that www/js/preprocess.js gives the same bytes). The expected answers
//! come from the same script's numpy forward pass in PyTorch's own layout straight from the
//! .pth, so a wrong layout move in the converter, a wrong padding or a wrong layer order shows.
//! The bar: china.jpg is "palace" with a probability in [0.65, 0.75] on both backends.
#![cfg(not(target_arch = "wasm32"))]

use convlab::backend::webgpu::GpuContext;
use convlab::graph::Model;
use convlab::nn::forward::forward_cpu;
use convlab::nn::forward_gpu::{forward_gpu, GpuWeights};
use convlab::nn::weights::Weights;
use convlab::Tensor;
use pollster::block_on;
use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");
const PHOTOS: [&str; 2] = ["china", "flower"];
const MEAN: [f32; 3] = [0.485, 0.456, 0.406];
const STD: [f32; 3] = [0.229, 0.224, 0.225];
const PALACE: usize = 698;
/// The numpy reference runs in float64; convlab in float32 through 52 convolutions.
const PROBABILITY_TOLERANCE: f64 = 2e-4;

fn read(path: &str, what: &str) -> Vec<u8> {
    let full = format!("{ROOT}/{path}");
    std::fs::read(&full).unwrap_or_else(|e| panic!("{full}: {e}: {what}"))
}

fn model_and_weights() -> (Model, Weights) {
    let model = Model::from_spec(convlab::zoo::spec("mobilenet_v2").unwrap()).unwrap();
    let bytes = read(
        "www/assets/models/mobilenet_v2.safetensors",
        "run scripts/fetch-pretrained.sh first (it converts torchvision's MobileNetV2 checkpoint)",
    );
    let weights = convlab::io::safetensors::load(&model, &bytes).unwrap();
    (model, weights)
}

fn class_names() -> Vec<String> {
    let bytes =
        read("www/assets/models/imagenet_classes.json", "run scripts/fetch-pretrained.sh first");
    serde_json::from_slice(&bytes).unwrap()
}

fn reference() -> Value {
    serde_json::from_slice(&read("tests/golden/imagenet/reference.json", "a golden file")).unwrap()
}

/// The photos as torchvision feeds them: Pillow's 224x224 crop, /255, ImageNet mean and std.
fn batch() -> Tensor {
    let mut data = Vec::new();
    for photo in PHOTOS {
        let crop = read(&format!("tests/golden/imagenet/{photo}_224.u8"), "a golden file");
        assert_eq!(crop.len(), 224 * 224 * 3);
        data.extend(
            crop.iter().enumerate().map(|(i, &v)| (v as f32 / 255.0 - MEAN[i % 3]) / STD[i % 3]),
        );
    }
    Tensor::new("test", "x", vec![PHOTOS.len(), 224, 224, 3], data).unwrap()
}

fn softmax(logits: &[f32]) -> Vec<f64> {
    let max = logits.iter().fold(f32::MIN, |m, &v| m.max(v)) as f64;
    let e: Vec<f64> = logits.iter().map(|&v| (v as f64 - max).exp()).collect();
    let sum: f64 = e.iter().sum();
    e.iter().map(|v| v / sum).collect()
}

/// Checks each photo's top-5 (indices, names, probabilities) against the numpy reference and
/// china.jpg against the bar; prints them.
fn check(backend: &str, logits: &Tensor) {
    assert_eq!(logits.shape(), [PHOTOS.len(), 1000]);
    let names = class_names();
    assert_eq!(names.len(), 1000);
    let reference = reference();
    for (i, photo) in PHOTOS.iter().enumerate() {
        let p = softmax(&logits.data()[i * 1000..(i + 1) * 1000]);
        let mut order: Vec<usize> = (0..1000).collect();
        order.sort_by(|&a, &b| p[b].total_cmp(&p[a]));
        let top: Vec<String> =
            order[..5].iter().map(|&k| format!("{} {:.4}", names[k], p[k])).collect();
        println!("{backend} {photo}: {}", top.join(", "));
        let expected = reference["photos"][photo].as_array().unwrap();
        for (rank, (e, &k)) in expected.iter().zip(&order).enumerate() {
            assert_eq!(k as u64, e["index"].as_u64().unwrap(), "{backend} {photo}: rank {rank}");
            assert_eq!(names[k], e["label"].as_str().unwrap(), "{backend} {photo}: name of {k}");
            let want = e["probability"].as_f64().unwrap();
            assert!(
                (p[k] - want).abs() < PROBABILITY_TOLERANCE,
                "{backend} {photo}: {} has probability {}, numpy's forward pass {want}",
                names[k],
                p[k]
            );
        }
    }
    let china = softmax(&logits.data()[..1000]);
    let best = (0..1000).max_by(|&a, &b| china[a].total_cmp(&china[b])).unwrap();
    assert_eq!((best, names[best].as_str()), (PALACE, "palace"), "{backend}: china.jpg's top-1");
    assert!((0.65..=0.75).contains(&china[PALACE]), "{backend}: palace {}", china[PALACE]);
    assert_ne!(order_first(&logits.data()[1000..]), PALACE, "{backend}: flower.jpg is no palace");
}

fn order_first(logits: &[f32]) -> usize {
    (0..logits.len()).max_by(|&a, &b| logits[a].total_cmp(&logits[b])).unwrap()
}

#[test]
fn the_converted_weights_fill_the_zoo_spec() {
    let (model, weights) = model_and_weights();
    let values: usize = weights.values.iter().flatten().map(Vec::len).sum();
    // torchvision's 3,504,872 trainable parameters plus 34,112 BN moving statistics.
    assert_eq!(values, 3_504_872 + 34_112);
    for (node, params) in model.nodes().iter().zip(&weights.values) {
        for (p, v) in node.params.iter().zip(params) {
            assert!(v.iter().all(|x| x.is_finite()), "{}/{}: not finite", node.name, p.name);
            if p.name == "moving_variance" {
                assert!(v.iter().all(|&x| x > 0.0), "{}/{}: a variance <= 0", node.name, p.name);
            }
        }
    }
}

#[test]
fn china_is_a_palace_on_the_cpu_path() {
    let (model, weights) = model_and_weights();
    let (logits, _) = forward_cpu(&model, &weights, &batch(), &[]).unwrap();
    check("cpu", &logits);
}

#[test]
fn china_is_a_palace_on_webgpu() {
    let gpu = block_on(GpuContext::new(""))
        .unwrap_or_else(|e| panic!("{e}: install mesa-vulkan-drivers (lavapipe)"));
    let (model, weights) = model_and_weights();
    let gw = GpuWeights::upload(&gpu, &model, &weights).unwrap();
    let (logits, _) = block_on(forward_gpu(&gpu, &model, &gw, &batch(), &[])).unwrap();
    check("webgpu", &logits);
}
