//! VGG-16 (Simonyan and Zisserman 2014).

use serde_json::json;

use super::{bare, block, layer, model};
use crate::graph::{EntrySpec, ModelSpec};

/// VGG-16 as Keras Applications builds it (`keras.applications.VGG16`; Simonyan and
/// Zisserman 2014, "Very deep convolutional networks for large-scale image recognition",
/// configuration D): 224x224x3 input; five blocks of 3x3 ReLU "same" convs (2 x 64, 2 x 128,
/// 3 x 256, 3 x 512, 3 x 512), each ending in a 2x2/2 max pool; Flatten; Dense 4,096 ReLU
/// (`fc1`), Dense 4,096 ReLU (`fc2`), Dense 1,000 softmax (`predictions`). No dropout, as in
/// Keras's model.
///
/// The blocks `vgg2` and `vgg3` hold two and three convs; instance `block1`'s layers are
/// `block1/conv1`, `block1/conv2`, `block1/pool` (Keras's `block1_conv1`, ...).
/// 138,357,544 parameters and 15,470,264,320 multiply-adds, Keras Applications' figures.
pub fn vgg16() -> ModelSpec {
    let conv = |name: &str| {
        layer(
            name,
            "Conv2D",
            json!({"filters": "$filters", "kernel_size": 3, "padding": "same", "activation": "relu"}),
        )
    };
    let pool = || layer("pool", "MaxPool2D", json!({"pool_size": 2, "strides": 2}));
    let vgg = |convs: &[&str]| {
        let mut layers: Vec<EntrySpec> = convs.iter().map(|c| conv(c)).collect();
        layers.push(pool());
        block(json!({"filters": null}), layers)
    };
    let dense = |name: &str, units: u64, activation: &str| {
        layer(name, "Dense", json!({"units": units, "activation": activation}))
    };
    let stage = |name: &str, convs: &str, filters: u64| {
        EntrySpec::block(name, convs, json!({ "filters": filters }))
    };
    model(
        "vgg16",
        &[224, 224, 3],
        vec![("vgg2", vgg(&["conv1", "conv2"])), ("vgg3", vgg(&["conv1", "conv2", "conv3"]))],
        vec![
            stage("block1", "vgg2", 64),
            stage("block2", "vgg2", 128),
            stage("block3", "vgg3", 256),
            stage("block4", "vgg3", 512),
            stage("block5", "vgg3", 512),
            bare("flatten", "Flatten"),
            dense("fc1", 4096, "relu"),
            dense("fc2", 4096, "relu"),
            dense("predictions", 1000, "softmax"),
        ],
    )
}
