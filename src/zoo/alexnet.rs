//! AlexNet (Krizhevsky et al. 2012).

use serde_json::{json, Value};

use super::{bare, layer, model};
use crate::graph::ModelSpec;

/// Local response normalization with AlexNet's values (chapter equation 14-2): r = 2,
/// alpha = 0.00002, beta = 0.75, k = 1, which in TensorFlow's terms (the LRN layer's config
/// keys) is depth_radius = r/2 = 1, bias = k (TensorFlow does not divide alpha by the window).
pub(super) fn lrn_config() -> Value {
    json!({"depth_radius": 1, "bias": 1.0, "alpha": 0.00002, "beta": 0.75})
}

/// AlexNet as the chapter's Table 14-2 lays it out (Krizhevsky, Sutskever and Hinton 2012,
/// "ImageNet classification with deep convolutional neural networks", in one tower): 227x227x3
/// input; C1 conv 96 11x11/4 "valid" ReLU then LRN; S2 max pool 3x3/2; C3 conv 256 5x5 "same"
/// ReLU then LRN; S4 max pool 3x3/2; C5, C6 conv 384 3x3 and C7 conv 256 3x3 ("same", ReLU);
/// S8 max pool 3x3/2; F9 and F10 Dense 4,096 ReLU, each followed by dropout 50%; Dense 1,000
/// softmax.
///
/// Layers are named as in the Caffe model (`conv1` = C1, `pool1` = S2, ..., `fc6` = F9,
/// `fc7` = F10, `fc8` = the output). 62,378,344 parameters.
pub fn alexnet() -> ModelSpec {
    let conv = |name: &str, filters: u64, kernel: u64| {
        layer(
            name,
            "Conv2D",
            json!({"filters": filters, "kernel_size": kernel, "padding": "same",
                   "activation": "relu"}),
        )
    };
    let pool = |name: &str| layer(name, "MaxPool2D", json!({"pool_size": 3, "strides": 2}));
    let dense = |name: &str, units: u64, activation: &str| {
        layer(name, "Dense", json!({"units": units, "activation": activation}))
    };
    let dropout = |name: &str| layer(name, "Dropout", json!({"rate": 0.5}));
    model(
        "alexnet",
        &[227, 227, 3],
        vec![],
        vec![
            layer(
                "conv1",
                "Conv2D",
                json!({"filters": 96, "kernel_size": 11, "strides": 4, "activation": "relu"}),
            ),
            layer("norm1", "LRN", lrn_config()),
            pool("pool1"),
            conv("conv2", 256, 5),
            layer("norm2", "LRN", lrn_config()),
            pool("pool2"),
            conv("conv3", 384, 3),
            conv("conv4", 384, 3),
            conv("conv5", 256, 3),
            pool("pool5"),
            bare("flatten", "Flatten"),
            dense("fc6", 4096, "relu"),
            dropout("drop6"),
            dense("fc7", 4096, "relu"),
            dropout("drop7"),
            dense("fc8", 1000, "softmax"),
        ],
    )
}
