//! The chapter's CNN for Fashion-MNIST.

use serde_json::json;

use super::{bare, layer, model};
use crate::graph::ModelSpec;

/// The chapter's Fashion-MNIST CNN (about 92% test accuracy), as written out in
/// `architectures.md`: 28x28x1 input; Conv2D 64 7x7, max pool; 2 x Conv2D 128, max pool;
/// 2 x Conv2D 256, max pool (every conv ReLU, "same"); Flatten; Dense 128 ReLU, Dropout 0.5;
/// Dense 64 ReLU, Dropout 0.5; Dense 10 softmax.
///
/// 1,413,834 parameters; 89,466,496 multiply-adds per image.
pub fn fashion_mnist_cnn() -> ModelSpec {
    let conv = |name: &str, filters: u64, kernel: u64| {
        layer(
            name,
            "Conv2D",
            json!({"filters": filters, "kernel_size": kernel, "padding": "same", "activation": "relu"}),
        )
    };
    let pool = |name: &str| layer(name, "MaxPool2D", json!({"pool_size": 2}));
    let dense = |name: &str, units: u64, activation: &str| {
        layer(name, "Dense", json!({"units": units, "activation": activation}))
    };
    let dropout = |name: &str| layer(name, "Dropout", json!({"rate": 0.5}));
    model(
        "fashion_mnist_cnn",
        &[28, 28, 1],
        vec![],
        vec![
            conv("conv1", 64, 7),
            pool("pool1"),
            conv("conv2", 128, 3),
            conv("conv3", 128, 3),
            pool("pool2"),
            conv("conv4", 256, 3),
            conv("conv5", 256, 3),
            pool("pool3"),
            bare("flatten", "Flatten"),
            dense("dense1", 128, "relu"),
            dropout("dropout1"),
            dense("dense2", 64, "relu"),
            dropout("dropout2"),
            dense("output", 10, "softmax"),
        ],
    )
}
