//! Small models shared by the model tests.

use convlab::graph::Model;
use convlab::nn::weights::SplitMix64;
use convlab::Tensor;

/// `n` seeded random inputs of `model` (uniform in [-1, 1)) and labels below its class count.
pub fn random_batch(model: &Model, n: usize, seed: u64) -> (Tensor, Vec<u32>) {
    let mut shape = vec![n];
    shape.extend_from_slice(model.input_shape());
    let mut rng = SplitMix64::new(seed);
    let data = (0..shape.iter().product()).map(|_| rng.symmetric()).collect();
    let classes = *model.nodes()[model.output()].output_shape.last().unwrap() as u64;
    let labels = (0..n).map(|_| (rng.next_u64() % classes) as u32).collect();
    (Tensor::new("t", "x", shape, data).unwrap(), labels)
}

/// A model that uses every layer type (and a block), with odd sizes: 12x12x6 input, five
/// classes out of an RBF layer.
pub fn every_layer_model() -> Model {
    Model::from_json(&serde_json::json!({
        "format": "convlab-model", "version": 1, "name": "every_layer", "input": {"shape": [12, 12, 6]},
        "blocks": {"se": {"params": {"c": null, "r": null}, "layers": [
            {"name": "squeeze", "class_name": "GlobalAvgPool2D"},
            {"name": "fc1", "class_name": "Dense", "config": {"units": "$r", "activation": "relu"}},
            {"name": "fc2", "class_name": "Dense", "config": {"units": "$c", "activation": "sigmoid"}},
            {"name": "scale", "class_name": "SEScale", "inputs": ["x", "fc2"]}
        ]}},
        "layers": [
            {"name": "c3", "class_name": "Conv2D", "config": {"filters": 4, "kernel_size": 3, "activation": "tanh",
              "connections": [[0, 1, 2], [1, 2, 3, 4], [5], [0, 1, 2, 3, 4, 5]]}},
            {"name": "pad", "class_name": "ZeroPadding2D", "config": {"padding": [[1, 0], [0, 1]]}},
            {"name": "dw", "class_name": "DepthwiseConv2D", "config": {"kernel_size": 3, "depth_multiplier": 2, "padding": "same", "activation": "relu6"}},
            {"name": "bn", "class_name": "BatchNormalization", "config": {"center": false}},
            {"name": "sep", "class_name": "SeparableConv2D", "config": {"filters": 6, "kernel_size": 3, "strides": 2, "padding": "same", "activation": "elu"}},
            {"name": "lrn", "class_name": "LRN", "config": {"depth_radius": 2, "bias": 1.0, "alpha": 0.001, "beta": 0.75}},
            {"name": "se", "block": "se", "args": {"c": 6, "r": 3}},
            {"name": "branch_a", "class_name": "MaxPool2D", "config": {"pool_size": 3, "strides": 1, "padding": "same"}},
            {"name": "branch_b", "class_name": "AvgPool2D", "config": {"pool_size": 3, "strides": 1, "padding": "same"}, "inputs": ["se"]},
            {"name": "branch_c", "class_name": "Conv2D", "config": {"filters": 6, "kernel_size": 1, "dilation_rate": 1, "groups": 3, "activation": "leaky_relu"}, "inputs": ["se"]},
            {"name": "sum", "class_name": "Add", "inputs": ["branch_a", "branch_b", "branch_c"]},
            {"name": "cat", "class_name": "Concatenate", "inputs": ["sum", "se"]},
            {"name": "dmax", "class_name": "DepthMaxPool2D", "config": {"pool_size": 3}},
            {"name": "sub", "class_name": "LeNetSubsampling", "config": {"pool_size": 2, "activation": "sigmoid"}},
            {"name": "act", "class_name": "Activation", "config": {"activation": "selu"}},
            {"name": "gmax", "class_name": "GlobalMaxPool2D", "inputs": ["dmax"]},
            {"name": "flat", "class_name": "Flatten", "inputs": ["act"]},
            {"name": "both", "class_name": "Concatenate", "inputs": ["flat", "gmax"]},
            {"name": "drop", "class_name": "Dropout", "config": {"rate": 0.3}},
            {"name": "f6", "class_name": "Dense", "config": {"units": 12, "activation": "tanh"}},
            {"name": "rbf", "class_name": "RBF", "config": {"units": 5}}
        ]
    })
    .to_string())
    .unwrap()
}

/// [`every_layer_model`] made smooth for finite differences: max-type pooling becomes
/// average pooling (depth max pooling a window of one channel), and activations with kinks
/// (relu, relu6, leaky_relu, selu) become elu or tanh. A kink crossed by the finite-difference
/// step gives a wrong slope, which says nothing about the backward pass; each max op's own
/// backward pass is checked away from kinks in tests/gradients.rs.
pub fn every_layer_model_smooth() -> Model {
    let mut text = serde_json::to_string(every_layer_model().spec()).unwrap();
    for (from, to) in [
        ("\"relu6\"", "\"elu\""),
        ("\"relu\"", "\"elu\""),
        ("\"leaky_relu\"", "\"tanh\""),
        ("\"selu\"", "\"tanh\""),
        ("\"MaxPool2D\"", "\"AvgPool2D\""),
        ("\"GlobalMaxPool2D\"", "\"GlobalAvgPool2D\""),
        (
            "\"DepthMaxPool2D\",\"config\":{\"pool_size\":3}",
            "\"DepthMaxPool2D\",\"config\":{\"pool_size\":1}",
        ),
    ] {
        assert!(text.contains(from), "{from} not in the spec");
        text = text.replace(from, to);
    }
    Model::from_json(&text).unwrap()
}
