//! GoogLeNet (Szegedy et al. 2014).

use serde_json::json;

use super::alexnet::lrn_config;
use super::{bare, block, layer, model};
use crate::graph::{EntrySpec, ModelSpec};

/// The six numbers of each inception module (the chapter's Figure 14-14, the paper's Table 1):
/// #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj.
const MODULES: [(&str, [u64; 6]); 9] = [
    ("3a", [64, 96, 128, 16, 32, 32]),
    ("3b", [128, 128, 192, 32, 96, 64]),
    ("4a", [192, 96, 208, 16, 48, 64]),
    ("4b", [160, 112, 224, 24, 64, 64]),
    ("4c", [128, 128, 256, 24, 64, 64]),
    ("4d", [112, 144, 288, 32, 64, 64]),
    ("4e", [256, 160, 320, 32, 128, 128]),
    ("5a", [256, 160, 320, 32, 128, 128]),
    ("5b", [384, 192, 384, 48, 128, 128]),
];

/// Block argument names for the six numbers, in [`MODULES`]' order.
const ARGS: [&str; 6] = ["1x1", "3x3r", "3x3", "5x5r", "5x5", "pool"];

/// GoogLeNet as the chapter's Figure 14-14 draws it (Szegedy et al. 2014, "Going deeper with
/// convolutions"; `architectures.md`): 224x224x3 input; conv 64 7x7/2; max pool 3x3/2; LRN;
/// conv 64 1x1; conv 192 3x3; LRN; max pool 3x3/2; inception 3a, 3b; max pool 3x3/2;
/// inception 4a to 4e; max pool 3x3/2; inception 5a, 5b; global average pooling; dropout 40%;
/// Dense 1,000 softmax. Every conv is ReLU with a bias, every conv and pool "same"; no batch
/// norm and no auxiliary classifiers.
///
/// An inception module (the block `inception`, Figure 14-13) concatenates four branches along
/// depth: a 1x1 conv; a 1x1 conv then a 3x3 conv; a 1x1 conv then a 5x5 conv; a 3x3 max pool
/// (stride 1) then a 1x1 conv. Layers are named as in the Caffe model (`3a/3x3_reduce`, ...).
///
/// The paper does not give its LRN's constants: the LRN layers use AlexNet's (chapter
/// equation 14-2, as in `alexnet`). LRN has no parameters, so the count does not depend
/// on them: 6,998,552 parameters.
pub fn googlenet() -> ModelSpec {
    let conv = |name: &str, filters: &str, kernel: u64| {
        layer(
            name,
            "Conv2D",
            json!({"filters": format!("${filters}"), "kernel_size": kernel, "padding": "same",
                   "activation": "relu"}),
        )
    };
    let inception = block(
        json!({"1x1": null, "3x3r": null, "3x3": null, "5x5r": null, "5x5": null, "pool": null}),
        vec![
            conv("1x1", "1x1", 1),
            conv("3x3_reduce", "3x3r", 1).reading(&["x"]),
            conv("3x3", "3x3", 3),
            conv("5x5_reduce", "5x5r", 1).reading(&["x"]),
            conv("5x5", "5x5", 5),
            layer("pool", "MaxPool2D", json!({"pool_size": 3, "strides": 1, "padding": "same"}))
                .reading(&["x"]),
            conv("pool_proj", "pool", 1),
            bare("output", "Concatenate").reading(&["1x1", "3x3", "5x5", "pool_proj"]),
        ],
    );
    let stem_conv = |name: &str, filters: u64, kernel: u64, strides: u64| {
        layer(
            name,
            "Conv2D",
            json!({"filters": filters, "kernel_size": kernel, "strides": strides,
                   "padding": "same", "activation": "relu"}),
        )
    };
    let pool = |name: &str| {
        layer(name, "MaxPool2D", json!({"pool_size": 3, "strides": 2, "padding": "same"}))
    };
    let mut layers = vec![
        stem_conv("conv1", 64, 7, 2),
        pool("pool1"),
        layer("norm1", "LRN", lrn_config()),
        stem_conv("conv2_reduce", 64, 1, 1),
        stem_conv("conv2", 192, 3, 1),
        layer("norm2", "LRN", lrn_config()),
        pool("pool2"),
    ];
    for (name, numbers) in MODULES {
        match name {
            "4a" => layers.push(pool("pool3")),
            "5a" => layers.push(pool("pool4")),
            _ => {}
        }
        let args: serde_json::Map<String, serde_json::Value> =
            ARGS.iter().zip(numbers).map(|(k, n)| (k.to_string(), n.into())).collect();
        layers.push(EntrySpec::block(name, "inception", args.into()));
    }
    layers.extend([
        bare("avg_pool", "GlobalAvgPool2D"),
        layer("dropout", "Dropout", json!({"rate": 0.4})),
        layer("fc", "Dense", json!({"units": 1000, "activation": "softmax"})),
    ]);
    model("googlenet", &[224, 224, 3], vec![("inception", inception)], layers)
}
