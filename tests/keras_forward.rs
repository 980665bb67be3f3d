//! Weights files and whole-model numeric parity with Keras.
//!
//! Weights files (`convlab::io::safetensors`): a round trip gives the same weights, the header
//! names each tensor `<layer>/<param>` with Keras's shapes and carries the spec, loading into
//! a different model names every missing, extra or mismatched tensor, a partial connection
//! table's absent taps are zeroed on load, and no bytes (random, truncated, mutated) panic.
//!
//! Parity: small hand-written models that together use every layer type and option, and zoo
//! models at full size, run on a batch of 2 by convlab's CPU path and by Keras 3 (jax backend,
//! .cache/keras-venv from scripts/setup-keras.sh) built from convlab's exported code
//! (`to_keras_code`) with convlab's weights (`safetensors::save`, loaded by
//! scripts/golden/keras_forward.py). Every parameter is random (biases, batch norm's
//! statistics, gamma and beta included) so that each one matters. The outputs must agree to
//! `max |keras - convlab| <= tol * max |convlab|`, and so must every layer's output (a
//! saturated softmax or a ReLU can hide a wrong layer from the output alone); a failure names
//! the first layers that differ, with the worst element of each.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::path::{Path, PathBuf};
use std::time::Instant;

use common::keras::{root, run_driver};

use convlab::graph::{Model, ModelSpec};
use convlab::io::keras_export::to_keras_code;
use convlab::io::safetensors::{load, save, MAX_FILE_BYTES};
use convlab::nn::forward::forward_cpu;
use convlab::nn::layer::Layer;
use convlab::nn::weights::{KernelInit, SplitMix64, Weights};
use convlab::Tensor;
use proptest::prelude::*;
use serde_json::{json, Value};

fn spec(name: &str, input: &[u64], layers: Value) -> ModelSpec {
    ModelSpec::from_value(json!({"format": "convlab-model", "version": 1, "name": name,
                                 "input": {"shape": input}, "layers": layers}))
    .unwrap()
}

fn model(s: ModelSpec) -> Model {
    let name = s.name.clone();
    Model::from_spec(s).unwrap_or_else(|e| panic!("{name}: {e}"))
}

// ---------------------------------------------------------------------------------------------
// Models

/// Small models that together use every layer type, and every option of each that Keras
/// computes the same way as convlab.
///
/// Left out: explicit padding of a pooling layer, which Keras lacks (the export pads zeros
/// first, which a max pool near the border sees and an average pool counts, while convlab's
/// skip padded cells), and depthwise convolutions with both strides and dilation above 1, which
/// Keras refuses.
fn handwritten() -> Vec<ModelSpec> {
    let convs = spec(
        "convs",
        &[33, 29, 6],
        json!([
            {"name": "pad_conv", "class_name": "Conv2D", "config": {"filters": 8,
             "kernel_size": 3, "padding": [[1, 2], [0, 1]], "activation": "leaky_relu"}},
            {"name": "strided_dilated", "class_name": "Conv2D", "config": {"filters": 8,
             "kernel_size": 3, "strides": 2, "dilation_rate": 2, "padding": "same",
             "groups": 2, "activation": "relu"}},
            {"name": "grouped", "class_name": "Conv2D", "config": {"filters": 8,
             "kernel_size": [3, 1], "padding": "same", "groups": 4, "use_bias": false,
             "activation": "relu6"}},
            {"name": "dilated", "class_name": "Conv2D", "config": {"filters": 10,
             "kernel_size": [3, 2], "dilation_rate": [2, 3], "padding": "same",
             "activation": "tanh"}},
            {"name": "strided", "class_name": "Conv2D", "config": {"filters": 12,
             "kernel_size": 3, "strides": 2, "padding": "same", "activation": "selu"}},
            {"name": "strided_valid", "class_name": "Conv2D", "config": {"filters": 7,
             "kernel_size": [2, 3], "strides": [1, 2], "activation": "elu"}},
            {"name": "pixel_softmax", "class_name": "Conv2D", "config": {"filters": 5,
             "kernel_size": 1, "activation": "softmax"}},
            {"name": "sig", "class_name": "Conv2D", "config": {"filters": 4,
             "kernel_size": 3, "activation": "sigmoid"}},
            {"name": "flat", "class_name": "Flatten"},
            {"name": "out", "class_name": "Dense", "config": {"units": 5}}
        ]),
    );
    let depthwise = spec(
        "depthwise",
        &[16, 15, 4],
        json!([
            {"name": "dw", "class_name": "DepthwiseConv2D", "config": {"kernel_size": 3,
             "depth_multiplier": 2, "padding": [[1, 1], [2, 0]], "activation": "relu6"}},
            {"name": "dw_strided", "class_name": "DepthwiseConv2D", "config": {"kernel_size": 3,
             "strides": 2, "padding": "same", "use_bias": false}},
            {"name": "dw_dilated", "class_name": "DepthwiseConv2D", "config": {"kernel_size": 3,
             "dilation_rate": 2, "padding": "same", "depth_multiplier": 3,
             "activation": "leaky_relu"}},
            {"name": "sep", "class_name": "SeparableConv2D", "config": {"filters": 6,
             "kernel_size": 3, "padding": "same", "depth_multiplier": 2, "activation": "selu"}},
            {"name": "sep_strided", "class_name": "SeparableConv2D", "config": {"filters": 5,
             "kernel_size": [3, 2], "strides": 2, "use_bias": false}},
            {"name": "gap", "class_name": "GlobalAvgPool2D"},
            {"name": "out", "class_name": "Dense", "config": {"units": 4, "activation": "softmax"}}
        ]),
    );
    let pools = spec(
        "pools",
        &[15, 14, 3],
        json!([
            {"name": "conv", "class_name": "Conv2D", "config": {"filters": 6, "kernel_size": 3,
             "padding": "same"}},
            {"name": "max_same", "class_name": "MaxPool2D", "config": {"pool_size": 3,
             "strides": 2, "padding": "same"}},
            {"name": "avg_same", "class_name": "AvgPool2D", "config": {"pool_size": 3,
             "strides": 1, "padding": "same"}},
            {"name": "avg_same_strided", "class_name": "AveragePooling2D",
             "config": {"pool_size": [2, 3], "strides": 2, "padding": "same"}},
            {"name": "max_valid", "class_name": "MaxPooling2D", "config": {"pool_size": 2,
             "strides": 1}},
            {"name": "avg_valid", "class_name": "AvgPool2D", "config": {"pool_size": [2, 1]}},
            {"name": "gmp", "class_name": "GlobalMaxPool2D"},
            {"name": "out", "class_name": "Dense", "config": {"units": 3, "activation": "sigmoid"}}
        ]),
    );
    let norms = spec(
        "norms",
        &[10, 11, 4],
        json!([
            {"name": "conv", "class_name": "Conv2D", "config": {"filters": 12, "kernel_size": 3,
             "padding": "same"}},
            {"name": "bn", "class_name": "BatchNormalization"},
            {"name": "bn_unscaled", "class_name": "BatchNormalization",
             "config": {"scale": false, "epsilon": 1e-5, "momentum": 0.9}},
            {"name": "bn_uncentered", "class_name": "BatchNormalization",
             "config": {"center": false, "epsilon": 0.01}},
            {"name": "bn_bare", "class_name": "BatchNormalization",
             "config": {"center": false, "scale": false}},
            {"name": "relu", "class_name": "Activation", "config": {"activation": "relu"}},
            {"name": "lrn", "class_name": "LRN", "config": {"depth_radius": 2, "bias": 2.0,
             "alpha": 0.05, "beta": 0.75}},
            {"name": "depth_pool", "class_name": "DepthMaxPool2D", "config": {"pool_size": 3}},
            {"name": "zp", "class_name": "ZeroPadding2D", "config": {"padding": [[1, 0], [2, 1]]}},
            {"name": "sub", "class_name": "LeNetSubsampling", "config": {"activation": "tanh"}},
            {"name": "flat", "class_name": "Flatten"},
            {"name": "fc", "class_name": "Dense", "config": {"units": 16, "activation": "relu"}},
            {"name": "bn_flat", "class_name": "BatchNormalization"},
            {"name": "drop", "class_name": "Dropout", "config": {"rate": 0.5, "seed": 3}},
            {"name": "leaky", "class_name": "Activation", "config": {"activation": "leaky_relu"}},
            {"name": "out", "class_name": "Dense", "config": {"units": 3, "activation": "softmax"}}
        ]),
    );
    let lenet = spec(
        "lenet_like",
        &[32, 32, 1],
        json!([
            {"name": "C1", "class_name": "Conv2D", "config": {"filters": 6, "kernel_size": 5,
             "activation": "tanh"}},
            {"name": "S2", "class_name": "LeNetSubsampling", "config": {"activation": "sigmoid"}},
            {"name": "C3", "class_name": "Conv2D", "config": {"filters": 4, "kernel_size": 5,
             "activation": "leaky_relu",
             "connections": [[0, 1, 2], [1, 2, 3, 4], [5], [0, 1, 2, 3, 4, 5]]}},
            {"name": "C3b", "class_name": "Conv2D", "config": {"filters": 3, "kernel_size": 3,
             "padding": "same", "use_bias": false, "connections": [[3, 0], [1], [2, 1]]}},
            {"name": "S4", "class_name": "LeNetSubsampling", "config": {"pool_size": 2}},
            {"name": "flat", "class_name": "Flatten"},
            {"name": "F6", "class_name": "Dense", "config": {"units": 12, "activation": "tanh"}},
            {"name": "rbf", "class_name": "RBF", "config": {"units": 10}}
        ]),
    );
    let mut graph = spec(
        "se_residual_graph",
        &[9, 8, 8],
        json!([
            {"name": "unit", "block": "se_unit", "repeat": 2},
            {"name": "unit_1__conv", "class_name": "Conv2D", "inputs": ["input"],
             "config": {"filters": 8, "kernel_size": 1}},
            {"name": "add3", "class_name": "Add", "inputs": ["unit", "unit_1__conv", "input"]},
            {"name": "concat", "class_name": "Concatenate",
             "inputs": ["unit", "add3", "unit_1__conv"]},
            {"name": "gap", "class_name": "GlobalAvgPool2D"},
            {"name": "logits", "class_name": "Dense", "config": {"units": 3}},
            {"name": "probs", "class_name": "Activation", "config": {"activation": "softmax"}}
        ]),
    );
    graph.blocks.insert(
        "se_unit".into(),
        serde_json::from_value(json!({"layers": [
            {"name": "conv", "class_name": "Conv2D", "config": {"filters": 8, "kernel_size": 3,
             "padding": "same", "use_bias": false}},
            {"name": "bn", "class_name": "BatchNormalization"},
            {"name": "squeeze", "class_name": "GlobalAvgPool2D"},
            {"name": "fc1", "class_name": "Dense", "config": {"units": 2, "activation": "relu"}},
            {"name": "fc2", "class_name": "Dense", "config": {"units": 8, "activation": "sigmoid"}},
            {"name": "scale", "class_name": "SEScale", "inputs": ["bn", "fc2"]},
            {"name": "add", "class_name": "Add", "inputs": ["scale", "x"]},
            {"name": "relu", "class_name": "Activation", "config": {"activation": "relu"}}
        ]}))
        .unwrap(),
    );
    let dense = spec(
        "dense_only",
        &[20],
        json!([
            {"name": "a", "class_name": "Dense", "config": {"units": 16, "activation": "relu"}},
            {"name": "bn", "class_name": "BatchNormalization"},
            {"name": "d", "class_name": "Dropout", "config": {"rate": 0.1}},
            {"name": "b", "class_name": "Dense", "config": {"units": 8, "activation": "elu"}},
            {"name": "sig", "class_name": "Activation", "config": {"activation": "sigmoid"}},
            {"name": "c", "class_name": "Dense", "config": {"units": 6, "use_bias": false}},
            {"name": "t", "class_name": "Activation", "config": {"activation": "tanh"}},
            {"name": "s", "class_name": "Activation", "config": {"activation": "selu"}},
            {"name": "r6", "class_name": "Activation", "config": {"activation": "relu6"}},
            {"name": "e", "class_name": "Activation", "config": {"activation": "elu"}},
            {"name": "lin", "class_name": "Activation", "config": {"activation": "linear"}},
            {"name": "out", "class_name": "Dense", "config": {"units": 3, "activation": "softmax"}}
        ]),
    );
    vec![convs, depthwise, pools, norms, lenet, graph, dense]
}

/// The zoo models checked at full size, and their tolerances (see
/// [`keras_computes_what_convlab_computes`]).
const ZOO: &[(&str, f32)] = &[
    ("lenet5", 1e-5),
    ("lenet5_modern", 1e-5),
    ("fashion_mnist_cnn", 1e-5),
    ("resnet34", 1e-4),
    ("mobilenet_v2", 1e-3),
];

/// Weights from `seed`: He-uniform kernels, and every other parameter random so that it
/// matters: biases, beta and moving means in [-0.2, 0.2), gamma, moving variances and LeNet
/// subsampling coefficients in [0.5, 1.5).
fn random_weights(model: &Model, seed: u64) -> Weights {
    let mut w = Weights::init_with(model, seed, KernelInit::He).unwrap();
    let mut rng = SplitMix64::new(seed ^ 0x5eed);
    for (node, values) in model.nodes().iter().zip(&mut w.values) {
        for (p, v) in node.params.iter().zip(values.iter_mut()) {
            let (centre, spread) = match p.name {
                "bias" | "beta" | "moving_mean" => (0.0, 0.2),
                "gamma" | "moving_variance" | "coefficient" => (1.0, 0.5),
                _ => continue,
            };
            v.iter_mut().for_each(|x| *x = centre + spread * rng.symmetric());
        }
    }
    w
}

fn random_input(model: &Model, batch: usize, seed: u64) -> Tensor {
    let mut shape = vec![batch];
    shape.extend_from_slice(model.input_shape());
    let mut rng = SplitMix64::new(seed);
    let data = (0..shape.iter().product()).map(|_| rng.symmetric()).collect();
    Tensor::new("test", "x", shape, data).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Weights files

fn header(bytes: &[u8]) -> Value {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    serde_json::from_slice(&bytes[8..8 + n]).unwrap()
}

#[test]
fn a_weights_file_round_trips_with_named_tensors_and_the_spec() {
    for s in handwritten() {
        let m = model(s);
        let w = random_weights(&m, 7);
        let bytes = save(&m, &w).unwrap();
        assert_eq!(load(&m, &bytes).unwrap(), w, "{}", m.spec().name);
        let h = header(&bytes);
        let meta = &h["__metadata__"];
        assert_eq!(meta["format"], "convlab-weights");
        assert_eq!(meta["version"], "1");
        assert_eq!(meta["spec"].as_str().unwrap(), m.spec().to_json());
        let tensors = h.as_object().unwrap().len() - 1;
        assert_eq!(tensors, m.nodes().iter().map(|n| n.params.len()).sum::<usize>());
        for node in m.nodes() {
            for p in &node.params {
                let t = &h[format!("{}/{}", node.name, p.name)];
                assert_eq!(t["dtype"], "F32");
                assert_eq!(t["shape"], json!(p.shape), "{}/{}", node.name, p.name);
            }
        }
    }
    let m = model(handwritten().swap_remove(5));
    let h = header(&save(&m, &Weights::init(&m, 1).unwrap()).unwrap());
    assert_eq!(h["unit_2/bn/moving_variance"]["shape"], json!([8]));
    assert_eq!(h["unit_1/conv/kernel"]["shape"], json!([3, 3, 8, 8]));
}

/// A 3x3 convolution, batch norm and `dense` dense layers `out1`, `out2`, ... of 2 units.
fn conv_model(filters: u64, dense: usize) -> Model {
    let mut layers = vec![
        json!({"name": "conv1", "class_name": "Conv2D",
               "config": {"filters": filters, "kernel_size": 3}}),
        json!({"name": "bn", "class_name": "BatchNormalization"}),
    ];
    for k in 1..=dense {
        layers.push(json!({"name": format!("out{k}"), "class_name": "Dense",
                           "config": {"units": 2}}));
    }
    model(spec("small", &[8, 8, 1], Value::from(layers)))
}

fn load_error(m: &Model, bytes: &[u8]) -> String {
    match load(m, bytes) {
        Ok(_) => panic!("loaded"),
        Err(e) => e.message().to_string(),
    }
}

#[test]
fn loading_names_every_missing_extra_and_mismatched_tensor() {
    let (m32, m64) = (conv_model(32, 0), conv_model(64, 2));
    let bytes = save(&m32, &Weights::init(&m32, 1).unwrap()).unwrap();
    let e = load_error(&m64, &bytes);
    assert!(e.starts_with("weights file: "), "{e}");
    assert!(
        e.contains(
            "tensor 'conv1/kernel' has shape [3,3,1,32], the model's layer needs [3,3,1,64]"
        ),
        "{e}"
    );
    assert!(e.contains("tensor 'conv1/bias' has shape [32], the model's layer needs [64]"), "{e}");
    assert!(e.contains("tensor 'bn/gamma' has shape [32]"), "{e}");
    assert!(e.contains("no tensor 'out1/kernel' (the model's layer needs [64,2])"), "{e}");
    assert!(e.contains("no tensor 'out1/bias'"), "{e}");
    assert!(e.ends_with("; and 2 more"), "out2's two tensors are counted, not listed: {e}");

    let m32_dense = conv_model(32, 1);
    let bytes = save(&m32_dense, &Weights::init(&m32_dense, 1).unwrap()).unwrap();
    let e = load_error(&m32, &bytes);
    assert_eq!(
        e,
        "weights file: tensor 'out1/bias' is not a parameter of this model's layers; tensor \
         'out1/kernel' is not a parameter of this model's layers"
    );

    // Another dtype, written by another tool without convlab's metadata.
    let kernel = vec![0u8; 2 * 9 * 32];
    let view =
        safetensors::tensor::TensorView::new(safetensors::Dtype::F16, vec![3, 3, 1, 32], &kernel)
            .unwrap();
    let bytes = safetensors::serialize([("conv1/kernel", view)], None).unwrap();
    let e = load_error(&m32, &bytes);
    assert!(e.starts_with("weights file: tensor 'conv1/kernel' has dtype F16, convlab reads F32"));

    // Metadata of another format or version.
    let w = Weights::init(&m32, 1).unwrap();
    let mut h = header(&save(&m32, &w).unwrap());
    h["__metadata__"]["version"] = json!("2");
    let e = load_error(&m32, &rewrite_header(&save(&m32, &w).unwrap(), &h));
    assert_eq!(e, "weights file: version \"2\"; this convlab reads version \"1\"");
    h["__metadata__"]["format"] = json!("pytorch");
    let e = load_error(&m32, &rewrite_header(&save(&m32, &w).unwrap(), &h));
    assert_eq!(e, "weights file: its metadata says format \"pytorch\", not \"convlab-weights\"");
    // Without metadata, the tensors alone decide.
    h.as_object_mut().unwrap().remove("__metadata__");
    let bytes = rewrite_header(&save(&m32, &w).unwrap(), &h);
    assert_eq!(load(&m32, &bytes).unwrap(), w);
}

/// `bytes` with its header replaced by `h` (the data unchanged).
fn rewrite_header(bytes: &[u8], h: &Value) -> Vec<u8> {
    let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
    let text = h.to_string();
    let mut out = (text.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(text.as_bytes());
    out.extend_from_slice(&bytes[8 + n..]);
    out
}

#[test]
fn save_refuses_weights_of_another_model() {
    let (m32, m64) = (conv_model(32, 0), conv_model(64, 0));
    let e = save(&m64, &Weights::init(&m32, 1).unwrap()).unwrap_err();
    assert!(e.message().contains("layer 'conv1': kernel has 288 values"), "{e}");
    let e = save(&conv_model(32, 1), &Weights::init(&m32, 1).unwrap()).unwrap_err();
    assert!(e.message().contains("has 3 layers, the model 4"), "{e}");
}

#[test]
fn the_absent_taps_of_a_connection_table_are_zeroed_on_load() {
    let m = model(handwritten().swap_remove(4));
    let c3 = m.node_index("C3").unwrap();
    let mut w = random_weights(&m, 3);
    let masked = w.values[c3][0].clone();
    assert!(masked.contains(&0.0));
    w.values[c3][0].iter_mut().for_each(|x| *x = if *x == 0.0 { 9.0 } else { *x });
    let back = load(&m, &save(&m, &w).unwrap()).unwrap();
    assert_eq!(back.values[c3][0], masked);
}

#[test]
fn a_file_over_the_size_cap_is_refused_before_it_is_read() {
    let m = conv_model(32, 0);
    // Zeroed pages are not touched: the test does not need the memory.
    let big = vec![0u8; MAX_FILE_BYTES as usize + 1];
    let e = load(&m, &big).unwrap_err();
    assert_eq!(e.kind(), convlab::error::ErrorKind::ResourceLimit);
    let want = format!("weights file: {} bytes is over the limit of {MAX_FILE_BYTES}", big.len());
    assert!(e.message().starts_with(&want), "{e}");
}

#[test]
fn truncated_files_are_refused_with_a_message() {
    let m = conv_model(4, 0);
    let bytes = save(&m, &Weights::init(&m, 1).unwrap()).unwrap();
    for n in 0..bytes.len() {
        let e = load_error(&m, &bytes[..n]);
        assert!(e.starts_with("weights file: not a safetensors file: "), "{n}: {e}");
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert!(load_error(&m, &longer).contains("trailing bytes"));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..600)) {
        let m = conv_model(4, 0);
        let _ = load(&m, &bytes);
        // A plausible header length in front of random bytes reaches the JSON parser.
        let mut framed = (bytes.len() as u64).to_le_bytes().to_vec();
        framed.extend_from_slice(&bytes);
        let _ = load(&m, &framed);
    }

    #[test]
    fn mutated_files_never_panic(
        edits in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6),
        cut in any::<prop::sample::Index>(),
    ) {
        let m = conv_model(4, 1);
        let mut bytes = save(&m, &Weights::init(&m, 1).unwrap()).unwrap();
        for (at, b) in &edits {
            let i = at.index(bytes.len());
            bytes[i] = *b;
        }
        let _ = load(&m, &bytes);
        let n = cut.index(bytes.len());
        prop_assert!(load(&m, &bytes[..n]).is_err());
    }

    #[test]
    fn mutated_headers_never_panic(
        key in prop::sample::select(vec!["dtype", "shape", "data_offsets"]),
        value in prop_oneof![
            Just(json!("F64")), Just(json!("X")), Just(json!([])), Just(json!([1, 2])),
            Just(json!([u64::MAX, 2])), Just(json!([0, u64::MAX])), Just(json!([4, 0])),
            Just(json!(null)), Just(json!(-1)), Just(json!([[1]])),
        ],
        tensor in 0usize..4,
    ) {
        let m = conv_model(4, 1);
        let bytes = save(&m, &Weights::init(&m, 1).unwrap()).unwrap();
        let mut h = header(&bytes);
        let names = ["conv1/kernel", "conv1/bias", "bn/gamma", "out1/kernel"];
        h[names[tensor]][key] = value;
        let _ = load(&m, &rewrite_header(&bytes, &h));
    }
}

// ---------------------------------------------------------------------------------------------
// Parity with Keras

/// One model run by both.
struct Case {
    model: Model,
    weights: Weights,
    x: Tensor,
    /// Every layer's output but the input's, in node order (the model's output among them).
    ours: Vec<Tensor>,
    /// `max |keras - convlab| <= tol * max |convlab|`, for each layer's output.
    tol: f32,
}

impl Case {
    fn new(model: Model, seed: u64, tol: f32) -> Self {
        let weights = random_weights(&model, seed);
        let x = random_input(&model, 2, seed + 1);
        let all: Vec<usize> = (1..model.nodes().len()).collect();
        let (_, ours) = forward_cpu(&model, &weights, &x, &all).unwrap();
        Self { model, weights, x, ours, tol }
    }

    fn name(&self) -> &str {
        &self.model.spec().name
    }

    /// The name of the layer whose output is `self.ours[k]`.
    fn layer(&self, k: usize) -> &str {
        &self.model.nodes()[k + 1].name
    }
}

fn write_f32(path: &Path, v: &[f32]) {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

fn read_f32(path: &Path) -> Vec<f32> {
    let bytes = std::fs::read(path).unwrap_or_default();
    bytes.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
}

/// How Keras's values of one tensor compare with convlab's.
struct Diff {
    /// `max |keras - convlab|` (infinite if either has a NaN).
    max_diff: f32,
    /// `max |convlab|`.
    scale: f32,
    /// Where the difference is largest, and both values there.
    at: (usize, f32, f32),
}

impl Diff {
    /// `None` when the lengths differ.
    fn new(keras: &[f32], ours: &[f32]) -> Option<Self> {
        if keras.len() != ours.len() {
            return None;
        }
        let mut d = Self { max_diff: 0.0, scale: 0.0, at: (0, 0.0, 0.0) };
        for (i, (&k, &o)) in keras.iter().zip(ours).enumerate() {
            let diff = if k.is_nan() || o.is_nan() { f32::INFINITY } else { (k - o).abs() };
            if diff > d.max_diff || i == 0 {
                d.max_diff = diff;
                d.at = (i, k, o);
            }
            d.scale = d.scale.max(o.abs());
        }
        Some(d)
    }

    fn ratio(&self) -> f32 {
        if self.max_diff == 0.0 {
            0.0
        } else {
            self.max_diff / self.scale
        }
    }

    fn within(&self, tol: f32) -> bool {
        self.max_diff == 0.0 || self.max_diff <= tol * self.scale
    }
}

/// Writes each case's code, weights and input under `dir`, runs them in one Python process
/// (scripts/golden/keras_forward.py) with every layer's output written too, and returns its
/// `RESULT` objects.
fn run_keras(dir: &Path, cases: &[Case]) -> Vec<Value> {
    let mut list = Vec::new();
    for (k, c) in cases.iter().enumerate() {
        let path = |ext: &str| dir.join(format!("model_{k}.{ext}"));
        std::fs::write(path("py"), to_keras_code(&c.model)).unwrap();
        std::fs::write(path("safetensors"), save(&c.model, &c.weights).unwrap()).unwrap();
        write_f32(&path("x"), c.x.data());
        let nodes: Vec<&str> = c.model.nodes().iter().map(|n| n.name.as_str()).collect();
        let probe: Vec<(&str, PathBuf, PathBuf)> = (0..c.ours.len())
            .map(|j| (c.layer(j), path(&format!("layer_{j}")), path(&format!("ours_{j}"))))
            .collect();
        list.push(json!({"name": c.name(), "code": path("py"), "weights": path("safetensors"),
                         "nodes": nodes, "x": path("x"), "x_shape": c.x.shape(),
                         "out": path("out"), "probe": probe}));
    }
    let cases_path = dir.join("cases.json");
    std::fs::write(&cases_path, Value::from(list).to_string()).unwrap();
    run_driver(&root().join("scripts/golden/keras_forward.py"), &cases_path, cases.len())
}

/// Compares case `k`'s output and every layer's; returns the problems (the first few layers
/// that differ, in topological order) and prints the worst errors.
fn compare(dir: &Path, k: usize, c: &Case, r: &Value) -> Vec<String> {
    let name = c.name();
    if let Some(e) = r["error"].as_str() {
        return vec![format!("{name}: Keras failed:\n{e}")];
    }
    let mut problems = Vec::new();
    if let Some(unused) = r.get("unused") {
        problems.push(format!("{name}: tensors no Keras variable took: {unused}"));
    }
    let missing: Vec<&str> =
        r["missing"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    if !missing.is_empty() {
        problems.push(format!("{name}: layers Keras's model lacks: {missing:?}"));
    }
    let output = &c.ours[c.model.output() - 1];
    if r["shape"] != json!(output.shape()) {
        problems.push(format!(
            "{name}: Keras output shape {}, convlab {:?}",
            r["shape"],
            output.shape()
        ));
        return problems;
    }
    let out = Diff::new(&read_f32(&dir.join(format!("model_{k}.out"))), output.data()).unwrap();
    let (mut worst_layer, mut worst) = ("", 0.0f32);
    for (j, ours) in c.ours.iter().enumerate() {
        let layer = c.layer(j);
        if missing.contains(&layer) {
            continue;
        }
        let theirs = read_f32(&dir.join(format!("model_{k}.layer_{j}")));
        let Some(d) = Diff::new(&theirs, ours.data()) else {
            problems.push(format!(
                "{name}: layer '{layer}': Keras gave {} values, convlab {:?}",
                theirs.len(),
                ours.shape()
            ));
            continue;
        };
        if d.ratio() > worst || worst_layer.is_empty() {
            (worst_layer, worst) = (layer, d.ratio());
        }
        if !d.within(c.tol) && problems.len() < 4 {
            let (i, kv, ov) = d.at;
            problems.push(format!(
                "{name}: layer '{layer}' {:?} ({}): max |keras - convlab| {:.3e} is {:.3e} of \
                 max |convlab| {:.3e}, over the tolerance {:.0e}; worst at flat index {i}: \
                 keras {kv}, convlab {ov}",
                ours.shape(),
                c.model.nodes()[j + 1].layer.class_name(),
                d.max_diff,
                d.ratio(),
                d.scale,
                c.tol
            ));
        }
    }
    if !problems.is_empty() {
        // For scripts/golden/keras_forward.py --f64, which compares both with float64.
        for (j, ours) in c.ours.iter().enumerate() {
            write_f32(&dir.join(format!("model_{k}.ours_{j}")), ours.data());
        }
        problems.push(format!(
            "{name}: to see which side is closer to float64: KERAS_BACKEND=jax \
             .cache/keras-venv/bin/python scripts/golden/keras_forward.py {} --f64 {k}",
            dir.join("cases.json").display()
        ));
    }
    println!(
        "{name:>18}: output max |keras - convlab| {:.2e} of max |convlab| {:.2e} (ratio {:.2e}); \
         worst of {} layers '{worst_layer}' {worst:.2e}; tol {:.0e}; {:.1} s in Keras",
        out.max_diff,
        out.scale,
        out.ratio(),
        c.ours.len(),
        c.tol,
        r["seconds"].as_f64().unwrap_or(0.0)
    );
    problems
}

#[test]
fn handwritten_models_use_every_layer_type() {
    let mut classes = std::collections::BTreeSet::new();
    for s in handwritten() {
        for n in model(s).nodes().iter().skip(1) {
            classes.insert(n.layer.class_name());
        }
    }
    let all: std::collections::BTreeSet<&str> =
        convlab::nn::layer::CLASS_NAMES.iter().copied().collect();
    assert_eq!(classes, all);
    let partial = handwritten().into_iter().map(model).any(|m| {
        m.nodes().iter().any(|n| matches!(&n.layer, Layer::Conv2D(c) if c.connections.is_some()))
    });
    assert!(partial);
}

/// Tolerances, relative to each layer's largest magnitude. Everything is f32 on both sides and
/// only the order of the sums differs (im2col/GEMM blocking and SIMD lanes in convlab, XLA's
/// convolution and reduction orders in jax), so the error is a few ulps per layer, grown by
/// the depth and the width of the sums. Measured worst layer (ratio), and the tolerance:
/// - the hand-written models, LeNet-5 (both) and the Fashion-MNIST CNN: at most 1.8e-6 (the
///   Fashion CNN's output), tolerance 1e-5;
/// - ResNet-34: 4.2e-6 (`res4_5/bn2`), tolerance 1e-4 (its softmax output saturates to one-hot
///   with random statistics, so its layers are what the test checks);
/// - MobileNetV2: 2.4e-4 (`stage7_0/depthwise_relu`), tolerance 1e-3. Its errors grow along 52
///   convolutions with batch norm (random statistics scale some channels by 2), and late
///   ReLU6 outputs are clipped to 6 while their inputs reach 30 to 50, which makes the same
///   absolute error a larger ratio there. Against Keras in float64 (`keras_forward.py --f64`)
///   both sides err alike: Keras's float32 by 2.4e-4 at that layer, convlab's by 1.9e-4; at
///   `relu_last` 1.6e-4 and 2.4e-4. So the difference is rounding, not a wrong layer.
#[test]
fn keras_computes_what_convlab_computes() {
    let start = Instant::now();
    let mut cases: Vec<Case> = handwritten()
        .into_iter()
        .enumerate()
        .map(|(k, s)| Case::new(model(s), 100 + k as u64, 1e-5))
        .collect();
    for (k, (name, tol)) in ZOO.iter().enumerate() {
        let s = convlab::zoo::spec(name).unwrap_or_else(|| panic!("zoo has no {name}"));
        cases.push(Case::new(model(s), 200 + k as u64, *tol));
    }
    println!("convlab: {} models in {:.1} s", cases.len(), start.elapsed().as_secs_f64());

    let dir = std::env::temp_dir().join(format!("convlab-keras-forward-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let keras_start = Instant::now();
    let results = run_keras(&dir, &cases);
    println!("keras: {} models in {:.1} s", cases.len(), keras_start.elapsed().as_secs_f64());
    let mut failures = Vec::new();
    for (k, (c, r)) in cases.iter().zip(&results).enumerate() {
        failures.extend(compare(&dir, k, c, r));
    }
    println!("total {:.1} s", start.elapsed().as_secs_f64());
    if failures.is_empty() {
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(failures.is_empty(), "files kept in {}\n{}", dir.display(), failures.join("\n"));
}
