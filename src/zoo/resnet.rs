//! Residual networks (He et al. 2015): ResNet-34, ResNet-152, and SE-ResNet-50 (Hu et al. 2018).
//!
//! As in the chapter's own ResNet-34 code, every conv has no bias and is followed by batch
//! normalization (Keras's defaults: momentum 0.99, epsilon 0.001); activations are separate
//! `Activation` layers so that each comes after its BN.

use serde_json::{json, Value};

use super::{activation, bare, block, layer, model, units};
use crate::graph::{BlockSpec, EntrySpec, ModelSpec};

/// A conv without bias: `kernel` x `kernel`, "same" when larger than 1x1, `strides` if given.
fn conv(name: &str, filters: Value, kernel: u64, strides: Option<Value>) -> EntrySpec {
    let mut config = json!({"filters": filters, "kernel_size": kernel, "use_bias": false});
    if kernel > 1 {
        config["padding"] = json!("same");
    }
    if let Some(s) = strides {
        config["strides"] = s;
    }
    layer(name, "Conv2D", config)
}

fn bn(name: &str) -> EntrySpec {
    bare(name, "BatchNormalization")
}

/// The stem every ResNet shares (the chapter's Figure 14-17): conv 64 7x7/2, BN, ReLU, max
/// pool 3x3/2 "same".
fn stem() -> Vec<EntrySpec> {
    vec![
        conv("conv1", json!(64), 7, Some(json!(2))),
        bn("bn1"),
        activation("relu1", "relu"),
        layer("pool1", "MaxPool2D", json!({"pool_size": 3, "strides": 2, "padding": "same"})),
    ]
}

/// The head: global average pooling, Dense 1,000 softmax.
fn head() -> [EntrySpec; 2] {
    [
        bare("avg_pool", "GlobalAvgPool2D"),
        layer("fc", "Dense", json!({"units": 1000, "activation": "softmax"})),
    ]
}

/// The end of a unit: add the residual branch's output `last` and the skip (`x`, or the
/// projection `skip_bn`), then ReLU.
fn merge(last: &str, skip: &str) -> [EntrySpec; 2] {
    [bare("add", "Add").reading(&[last, skip]), activation("relu", "relu")]
}

/// The projection skip: conv 1x1 stride `$strides` to `filters` maps, BN, reading `x`.
fn projection(filters: &str) -> [EntrySpec; 2] {
    [conv("skip", json!(filters), 1, Some(json!("$strides"))).reading(&["x"]), bn("skip_bn")]
}

/// The chapter's residual unit (Figure 14-17): conv 3x3, BN, ReLU, conv 3x3, BN; add the skip;
/// ReLU. With `project`, the first conv has stride `$strides` and the skip is a 1x1 conv with
/// that stride and BN; otherwise the skip is the identity.
fn residual_unit(project: bool) -> BlockSpec {
    let strides = project.then(|| json!("$strides"));
    let mut layers = vec![
        conv("conv1", json!("$filters"), 3, strides),
        bn("bn1"),
        activation("relu1", "relu"),
        conv("conv2", json!("$filters"), 3, None),
        bn("bn2"),
    ];
    if project {
        layers.extend(projection("$filters"));
        layers.extend(merge("bn2", "skip_bn"));
        block(json!({"filters": null, "strides": 2}), layers)
    } else {
        layers.extend(merge("bn2", "x"));
        block(json!({"filters": null}), layers)
    }
}

/// ResNet-34 as the chapter builds it (Figures 14-17 and 14-18; He et al. 2015, "Deep
/// residual learning for image recognition", Table 1): 224x224x3 input; the stem; residual
/// units: 3 of 64 maps (`res2_1`..`res2_3`), 4 of 128, 6 of 256, 3 of 512, where the first
/// unit of each later stage (`res3_0`, `res4_0`, `res5_0`) has stride 2 and a 1x1 projection
/// skip; global average pooling; Dense 1,000 softmax.
///
/// 21,797,672 trainable parameters (torchvision's `resnet34`, the same layout), plus BN's
/// moving means and variances.
pub fn resnet34() -> ModelSpec {
    let mut layers = stem();
    layers.push(units("res2", "unit", json!({"filters": 64}), 3));
    for (stage, filters, n) in [("res3", 128, 4), ("res4", 256, 6), ("res5", 512, 3)] {
        let args = json!({ "filters": filters });
        layers.push(EntrySpec::block(&format!("{stage}_0"), "unit_proj", args.clone()));
        layers.push(units(stage, "unit", args, n - 1));
    }
    layers.extend(head());
    model(
        "resnet34",
        &[224, 224, 3],
        vec![("unit", residual_unit(false)), ("unit_proj", residual_unit(true))],
        layers,
    )
}

/// A bottleneck unit (the chapter's Figure 14-18, right): conv 1x1 to `$filters` (C/4), BN,
/// ReLU, conv 3x3 `$filters`, BN, ReLU, conv 1x1 to `$out` (C), BN; with `se`, a
/// squeeze-and-excitation block on that branch (global average pooling, Dense `$se` = C/16
/// ReLU, Dense C sigmoid, each map scaled by its weight); add the skip; ReLU. With `project`,
/// the first 1x1 conv has stride `$strides` and the skip is a 1x1 conv with that stride and BN.
///
/// The stride sits on the first 1x1 conv as in He et al.'s original model (and
/// `keras.applications.ResNet152`), not on the 3x3 conv as in torchvision's "v1.5".
fn bottleneck_unit(project: bool, se: bool) -> BlockSpec {
    let strides = project.then(|| json!("$strides"));
    let mut layers = vec![
        conv("conv1", json!("$filters"), 1, strides),
        bn("bn1"),
        activation("relu1", "relu"),
        conv("conv2", json!("$filters"), 3, None),
        bn("bn2"),
        activation("relu2", "relu"),
        conv("conv3", json!("$out"), 1, None),
        bn("bn3"),
    ];
    let mut last = "bn3";
    if se {
        layers.extend([
            bare("squeeze", "GlobalAvgPool2D"),
            layer("fc1", "Dense", json!({"units": "$se", "activation": "relu"})),
            layer("fc2", "Dense", json!({"units": "$out", "activation": "sigmoid"})),
            bare("scale", "SEScale").reading(&["bn3", "fc2"]),
        ]);
        last = "scale";
    }
    let mut params = json!({"filters": null, "out": null});
    if se {
        params["se"] = Value::Null;
    }
    if project {
        layers.extend(projection("$out"));
        layers.extend(merge(last, "skip_bn"));
        params["strides"] = json!(2);
    } else {
        layers.extend(merge(last, "x"));
    }
    block(params, layers)
}

/// A ResNet of bottleneck units: `counts` units in the stages of 256, 512, 1,024 and 2,048
/// maps; the first unit of each stage (`res2_0`, ..., `res5_0`) projects the skip, with stride 1
/// in the first stage and 2 after; `se` adds the SE block to every unit.
fn bottleneck_resnet(name: &str, counts: [u32; 4], se: bool) -> ModelSpec {
    let (unit, unit_proj) = if se {
        ("se_bottleneck", "se_bottleneck_proj")
    } else {
        ("bottleneck", "bottleneck_proj")
    };
    let mut layers = stem();
    for (i, n) in counts.into_iter().enumerate() {
        let out = 256u64 << i;
        let mut args = json!({"filters": out / 4, "out": out});
        if se {
            args["se"] = json!(out / 16);
        }
        let mut first = args.clone();
        if i == 0 {
            first["strides"] = json!(1);
        }
        let stage = format!("res{}", i + 2);
        layers.push(EntrySpec::block(&format!("{stage}_0"), unit_proj, first));
        layers.push(units(&stage, unit, args, n - 1));
    }
    layers.extend(head());
    model(
        name,
        &[224, 224, 3],
        vec![(unit, bottleneck_unit(false, se)), (unit_proj, bottleneck_unit(true, se))],
        layers,
    )
}

/// ResNet-152 as the chapter describes it (Figure 14-18; He et al. 2015, Table 1): the
/// ResNet-34 stem and head around bottleneck units, 3 of 256 maps, 8 of 512, 36 of 1,024 and
/// 3 of 2,048, convs without bias each followed by BN.
///
/// 60,192,808 trainable parameters (torchvision's `resnet152`; keras.applications.ResNet152
/// has 60,419,944 because its convs also have biases) and 11,282,415,616 multiply-adds
/// (counted by Keras in `scripts/golden/keras_zoo_counts.py`).
pub fn resnet152() -> ModelSpec {
    bottleneck_resnet("resnet152", [3, 8, 36, 3], false)
}

/// SE-ResNet-50 (Hu et al. 2018, "Squeeze-and-excitation networks"; `architectures.md`):
/// ResNet-50's bottleneck units (3 of 256 maps, 4 of 512, 6 of 1,024, 3 of 2,048) each with a
/// squeeze-and-excitation block on its residual branch before the add: global average pooling,
/// Dense C/16 ReLU, Dense C sigmoid, and an `SEScale` layer multiplying each feature map by its
/// weight.
///
/// 28,088,024 trainable parameters, the SENet paper's 28.09 M (its Table 7), plus BN's moving
/// statistics.
pub fn se_resnet50() -> ModelSpec {
    bottleneck_resnet("se_resnet50", [3, 4, 6, 3], true)
}
