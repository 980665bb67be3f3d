//! LeNet-5 (LeCun et al. 1998), as the paper built it and in a modern form.

use serde_json::json;

use super::{bare, layer, model};
use crate::graph::ModelSpec;

/// C3's partial connections (the paper's Table I; `architectures.md`): for each of C3's 16
/// maps, the S2 maps it reads.
const C3_CONNECTIONS: [&[u64]; 16] = [
    &[0, 1, 2],
    &[1, 2, 3],
    &[2, 3, 4],
    &[3, 4, 5],
    &[4, 5, 0],
    &[5, 0, 1],
    &[0, 1, 2, 3],
    &[1, 2, 3, 4],
    &[2, 3, 4, 5],
    &[3, 4, 5, 0],
    &[4, 5, 0, 1],
    &[5, 0, 1, 2],
    &[0, 1, 3, 4],
    &[1, 2, 4, 5],
    &[0, 2, 3, 5],
    &[0, 1, 2, 3, 4, 5],
];

/// LeNet-5 as the paper built it (chapter Table 14-1; LeCun et al. 1998, "Gradient-based
/// learning applied to document recognition"): 32x32x1 input (MNIST zero-padded to 32x32);
/// C1 conv 6 5x5 tanh; S2 subsampling (each map's 2x2 mean times a trainable coefficient plus
/// a trainable bias, then tanh); C3 conv 16 5x5 tanh with the paper's partial connection table;
/// S4 subsampling; C5 conv 120 5x5 tanh; F6 Dense 84 tanh; an RBF output of 10 units (squared
/// distance to each unit's centre, no bias).
///
/// The paper's squashing function is the scaled 1.7159 tanh(2a/3); convlab uses plain tanh.
/// 60,840 parameters.
pub fn lenet5() -> ModelSpec {
    let tanh_conv = |name: &str, filters: u64| {
        layer(name, "Conv2D", json!({"filters": filters, "kernel_size": 5, "activation": "tanh"}))
    };
    let subsampling =
        |name: &str| layer(name, "LeNetSubsampling", json!({"pool_size": 2, "activation": "tanh"}));
    model(
        "lenet5",
        &[32, 32, 1],
        vec![],
        vec![
            tanh_conv("C1", 6),
            subsampling("S2"),
            layer(
                "C3",
                "Conv2D",
                json!({"filters": 16, "kernel_size": 5, "activation": "tanh",
                       "connections": C3_CONNECTIONS}),
            ),
            subsampling("S4"),
            tanh_conv("C5", 120),
            bare("flatten", "Flatten"),
            layer("F6", "Dense", json!({"units": 84, "activation": "tanh"})),
            layer("output", "RBF", json!({"units": 10})),
        ],
    )
}

/// LeNet-5 the way it is built today (the chapter notes cross-entropy is preferred to the RBF
/// output): MNIST's 28x28x1 input zero-padded by 2 to 32x32 in the model (ZeroPadding2D), ReLU
/// instead of tanh, max pooling instead of the trainable subsampling, C3 fully connected to
/// S2, and a Dense 10 softmax output. The layer sizes are the paper's.
///
/// 61,706 parameters (counted by Keras in `scripts/golden/keras_zoo_counts.py`).
pub fn lenet5_modern() -> ModelSpec {
    let conv = |name: &str, filters: u64| {
        layer(name, "Conv2D", json!({"filters": filters, "kernel_size": 5, "activation": "relu"}))
    };
    let pool = |name: &str| layer(name, "MaxPool2D", json!({"pool_size": 2}));
    model(
        "lenet5_modern",
        &[28, 28, 1],
        vec![],
        vec![
            layer("pad", "ZeroPadding2D", json!({"padding": 2})),
            conv("C1", 6),
            pool("S2"),
            conv("C3", 16),
            pool("S4"),
            conv("C5", 120),
            bare("flatten", "Flatten"),
            layer("F6", "Dense", json!({"units": 84, "activation": "relu"})),
            layer("output", "Dense", json!({"units": 10, "activation": "softmax"})),
        ],
    )
}
