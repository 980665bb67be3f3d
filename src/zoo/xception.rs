//! Xception (Chollet 2017).

use serde_json::{json, Value};

use super::{activation, bare, block, layer, model};
use crate::graph::{EntrySpec, ModelSpec};

/// A separable conv 3x3 "same" without bias, to `filters` maps, named `{name}`, then its BN
/// `{name}_bn`.
fn sepconv_bn(name: &str, filters: Value) -> [EntrySpec; 2] {
    [
        layer(
            name,
            "SeparableConv2D",
            json!({"filters": filters, "kernel_size": 3, "padding": "same", "use_bias": false}),
        ),
        bare(&format!("{name}_bn"), "BatchNormalization"),
    ]
}

/// A conv without bias and its BN and ReLU, named as Keras names them (`block1_conv1`,
/// `block1_conv1_bn`, `block1_conv1_act`).
fn conv_bn_relu(name: &str, filters: u64, strides: u64) -> [EntrySpec; 3] {
    [
        layer(
            name,
            "Conv2D",
            json!({"filters": filters, "kernel_size": 3, "strides": strides, "use_bias": false}),
        ),
        bare(&format!("{name}_bn"), "BatchNormalization"),
        activation(&format!("{name}_act"), "relu"),
    ]
}

/// The entry and exit flows' downsampling block: [ReLU,] SepConv `$f1`, BN, ReLU, SepConv
/// `$f2`, BN, max pool 3x3/2 "same", added to a conv 1x1/2 (`$f2` maps) + BN skip. `relu_first`:
/// whether a ReLU comes first (all but the first block).
fn downsampling(relu_first: bool) -> crate::graph::BlockSpec {
    let mut layers = Vec::new();
    if relu_first {
        layers.push(activation("sepconv1_act", "relu"));
    }
    layers.extend(sepconv_bn("sepconv1", json!("$f1")));
    layers.push(activation("sepconv2_act", "relu"));
    layers.extend(sepconv_bn("sepconv2", json!("$f2")));
    layers.extend([
        layer("pool", "MaxPool2D", json!({"pool_size": 3, "strides": 2, "padding": "same"})),
        layer(
            "skip",
            "Conv2D",
            json!({"filters": "$f2", "kernel_size": 1, "strides": 2, "padding": "same",
                   "use_bias": false}),
        )
        .reading(&["x"]),
        bare("skip_bn", "BatchNormalization"),
        bare("add", "Add").reading(&["pool", "skip_bn"]),
    ]);
    block(json!({"f1": null, "f2": null}), layers)
}

/// Xception as Keras Applications builds it (`keras.applications.Xception`; Chollet 2017,
/// "Xception: deep learning with depthwise separable convolutions", Figure 5): 299x299x3
/// input. Entry flow: conv 32 3x3/2 and conv 64 3x3, both "valid", each with BN and ReLU;
/// downsampling blocks of 128 (without the leading ReLU), 256 and 728 maps. Middle flow: 8
/// blocks of three [ReLU, SepConv 728, BN] added to an identity skip. Exit flow: a
/// downsampling block of 728 then 1,024 maps; SepConv 1,536, BN, ReLU; SepConv 2,048, BN,
/// ReLU; global average pooling; Dense 1,000 softmax. Convs and separable convs have no bias.
///
/// Layers are named as Keras names them, with `/` inside blocks (`block2/sepconv1` is
/// Keras's `block2_sepconv1`). 22,910,480 parameters, Keras Applications' figure.
pub fn xception() -> ModelSpec {
    let mut middle = Vec::new();
    for i in 1..=3 {
        middle.push(activation(&format!("sepconv{i}_act"), "relu"));
        middle.extend(sepconv_bn(&format!("sepconv{i}"), json!("$f")));
    }
    middle.push(bare("add", "Add").reading(&["sepconv3_bn", "x"]));
    let middle = block(json!({"f": 728}), middle);

    let mut layers = Vec::new();
    layers.extend(conv_bn_relu("block1_conv1", 32, 2));
    layers.extend(conv_bn_relu("block1_conv2", 64, 1));
    layers.push(EntrySpec::block("block2", "entry", json!({"f1": 128, "f2": 128})));
    layers.push(EntrySpec::block("block3", "downsample", json!({"f1": 256, "f2": 256})));
    layers.push(EntrySpec::block("block4", "downsample", json!({"f1": 728, "f2": 728})));
    for i in 5..=12 {
        layers.push(EntrySpec::block(&format!("block{i}"), "middle", json!({})));
    }
    layers.push(EntrySpec::block("block13", "downsample", json!({"f1": 728, "f2": 1024})));
    for (i, filters) in [(1, 1536), (2, 2048)] {
        let name = format!("block14_sepconv{i}");
        layers.extend(sepconv_bn(&name, json!(filters)));
        layers.push(activation(&format!("{name}_act"), "relu"));
    }
    layers.extend([
        bare("avg_pool", "GlobalAvgPool2D"),
        layer("predictions", "Dense", json!({"units": 1000, "activation": "softmax"})),
    ]);
    model(
        "xception",
        &[299, 299, 3],
        vec![
            ("entry", downsampling(false)),
            ("downsample", downsampling(true)),
            ("middle", middle),
        ],
        layers,
    )
}
