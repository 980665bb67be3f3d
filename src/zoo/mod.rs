//! The chapter's architectures, each a function returning a [`crate::graph::ModelSpec`].
//!
//! Every model is written as the chapter (and `architectures.md`, which restores the chapter's
//! tables and figures) describes it, or, where the chapter points to it, as Keras Applications
//! or torchvision build it; each function's doc names its source. Repeated structure (a
//! residual unit, an inception module, a middle-flow unit, an inverted residual block) is a
//! block defined once and instantiated with its arguments, so that each spec stays small enough
//! for a share link.
//!
//! Naming: layers get short Keras-like names (`conv1`, `bn1`, `pool1`, ...), or the names of
//! the model's reference implementation where it has one (Keras Applications' `block1_conv1`
//! for VGG-16 and Xception, Caffe's `inception_3a` as `3a` for GoogLeNet, the paper's `C1`,
//! `S2`, ... for LeNet-5); a layer inside a block instance is `instance/layer`. In ResNets and
//! MobileNetV2, the units of a stage are block instances named `{stage}_1`, `{stage}_2`, ...,
//! except a first unit that differs from the others (it changes the stride or the number of
//! maps, so its skip is projected or absent), which is `{stage}_0`.
//!
//! [`names`] lists the zoo and [`spec`] returns a model by name; each spec's `name` is its zoo
//! name. Parameters (BN's moving statistics included; trainable in brackets where they differ)
//! and multiply-adds per image, all equal to the counts of the same architectures built in
//! Keras 3 by `scripts/golden/keras_zoo_counts.py`:
//!
//! | name | input | parameters | multiply-adds |
//! |---|---|---|---|
//! | `fashion_mnist_cnn` | 28x28x1 | 1,413,834 | 89,466,496 |
//! | `lenet5` | 32x32x1 | 60,840 | 326,520 |
//! | `lenet5_modern` | 28x28x1 | 61,706 | 416,520 |
//! | `alexnet` | 227x227x3 | 62,378,344 | 1,135,256,096 |
//! | `googlenet` | 224x224x3 | 6,998,552 | 1,582,671,872 |
//! | `vgg16` | 224x224x3 | 138,357,544 | 15,470,264,320 |
//! | `resnet34` | 224x224x3 | 21,814,696 (21,797,672) | 3,663,761,408 |
//! | `resnet152` | 224x224x3 | 60,344,232 (60,192,808) | 11,282,415,616 |
//! | `xception` | 299x299x3 | 22,910,480 (22,855,952) | 8,357,403,496 |
//! | `se_resnet50` | 224x224x3 | 28,141,144 (28,088,024) | 3,860,488,192 |
//! | `mobilenet_v2` | 224x224x3 | 3,538,984 (3,504,872) | 300,774,272 |

use serde_json::{Map, Value};

use crate::graph::{BlockSpec, EntrySpec, ModelSpec};

mod alexnet;
mod fashion;
mod googlenet;
mod lenet;
mod mobilenet;
mod resnet;
mod vgg;
mod xception;

pub use alexnet::alexnet;
pub use fashion::fashion_mnist_cnn;
pub use googlenet::googlenet;
pub use lenet::{lenet5, lenet5_modern};
pub use mobilenet::mobilenet_v2;
pub use resnet::{resnet152, resnet34, se_resnet50};
pub use vgg::vgg16;
pub use xception::xception;

/// The zoo's model names, in the chapter's order.
const NAMES: &[&str] = &[
    "fashion_mnist_cnn",
    "lenet5",
    "lenet5_modern",
    "alexnet",
    "googlenet",
    "vgg16",
    "resnet34",
    "resnet152",
    "xception",
    "se_resnet50",
    "mobilenet_v2",
];

/// The names of the zoo's models (each accepted by [`spec`]).
pub fn names() -> &'static [&'static str] {
    NAMES
}

/// The spec of zoo model `name`, or `None` for a name not in [`names`].
pub fn spec(name: &str) -> Option<ModelSpec> {
    Some(match name {
        "fashion_mnist_cnn" => fashion_mnist_cnn(),
        "lenet5" => lenet5(),
        "lenet5_modern" => lenet5_modern(),
        "alexnet" => alexnet(),
        "googlenet" => googlenet(),
        "vgg16" => vgg16(),
        "resnet34" => resnet34(),
        "resnet152" => resnet152(),
        "xception" => xception(),
        "se_resnet50" => se_resnet50(),
        "mobilenet_v2" => mobilenet_v2(),
        _ => return None,
    })
}

/// A layer entry: `name`, Keras class, config (a JSON object).
fn layer(name: &str, class_name: &str, config: Value) -> EntrySpec {
    EntrySpec::layer(name, class_name, config)
}

/// A layer without config.
fn bare(name: &str, class_name: &str) -> EntrySpec {
    EntrySpec::layer(name, class_name, Value::Null)
}

/// An `Activation` layer.
fn activation(name: &str, function: &str) -> EntrySpec {
    layer(name, "Activation", serde_json::json!({ "activation": function }))
}

/// A block reading one input `x`: `params` (a JSON object of defaults, `null` = required) and
/// its layers.
fn block(params: Value, layers: Vec<EntrySpec>) -> BlockSpec {
    BlockSpec {
        params: match params {
            Value::Object(m) => m,
            _ => Map::new(),
        },
        inputs: None,
        layers,
        output: None,
    }
}

/// `n` chained instances of `block` named `{name}_1` .. `{name}_n` (one instance is named
/// `{name}_1` too, which `repeat` alone would name `{name}`).
fn units(name: &str, block: &str, args: Value, n: u32) -> EntrySpec {
    if n == 1 {
        EntrySpec::block(&format!("{name}_1"), block, args)
    } else {
        EntrySpec::block(name, block, args).repeated(n)
    }
}

/// A spec named `name` with `input_shape`, its blocks and layers.
fn model(
    name: &str,
    input_shape: &[u64],
    blocks: Vec<(&str, BlockSpec)>,
    layers: Vec<EntrySpec>,
) -> ModelSpec {
    let mut spec = ModelSpec::new(name, input_shape, layers);
    spec.blocks = blocks.into_iter().map(|(k, b)| (k.to_string(), b)).collect();
    spec
}
