//! MobileNetV2 (Sandler et al. 2018), in torchvision's layout.

use serde_json::{json, Value};

use super::{activation, bare, block, layer, model, units};
use crate::graph::{BlockSpec, EntrySpec, ModelSpec};

/// torchvision's BatchNorm2d: epsilon 1e-5, and momentum 0.1 in PyTorch's convention, which is
/// 0.9 in Keras's (the weight of the old moving average).
fn bn(name: &str) -> EntrySpec {
    layer(name, "BatchNormalization", json!({"epsilon": 1e-5, "momentum": 0.9}))
}

/// A conv without bias: 1x1, or 3x3 with torchvision's symmetric padding of 1 (which, unlike
/// "same", pads a stride-2 conv on an even input on both sides).
fn conv(name: &str, filters: Value, kernel: u64, strides: u64) -> EntrySpec {
    let mut config = json!({"filters": filters, "kernel_size": kernel, "use_bias": false});
    if kernel == 3 {
        config["padding"] = json!([[1, 1], [1, 1]]);
    }
    if strides != 1 {
        config["strides"] = json!(strides);
    }
    layer(name, "Conv2D", config)
}

/// An inverted residual block: with `expand`, a 1x1 conv to `$hidden` maps (t times the input's),
/// BN, ReLU6; a depthwise 3x3 conv (stride `$strides` unless `residual`, padding 1), BN, ReLU6;
/// a linear 1x1 projection to `$out` maps, BN; with `residual` (stride 1 and as many maps out
/// as in), the block's input is added.
fn inverted_residual(expand: bool, residual: bool) -> BlockSpec {
    let mut params = json!({"out": null});
    let mut layers = Vec::new();
    if expand {
        params["hidden"] = Value::Null;
        layers.extend([
            conv("expand", json!("$hidden"), 1, 1),
            bn("expand_bn"),
            activation("expand_relu", "relu6"),
        ]);
    }
    let mut depthwise = json!({"kernel_size": 3, "padding": [[1, 1], [1, 1]], "use_bias": false});
    if !residual && expand {
        params["strides"] = Value::Null;
        depthwise["strides"] = json!("$strides");
    }
    layers.extend([
        layer("depthwise", "DepthwiseConv2D", depthwise),
        bn("depthwise_bn"),
        activation("depthwise_relu", "relu6"),
        conv("project", json!("$out"), 1, 1),
        bn("project_bn"),
    ]);
    if residual {
        layers.push(bare("add", "Add").reading(&["project_bn", "x"]));
    }
    block(params, layers)
}

/// The paper's Table 2 (and torchvision's `inverted_residual_setting`): expansion t, output
/// maps c, blocks n, first stride s.
const SETTING: [(u64, u64, u32, u64); 7] = [
    (1, 16, 1, 1),
    (6, 24, 2, 2),
    (6, 32, 3, 2),
    (6, 64, 4, 2),
    (6, 96, 3, 1),
    (6, 160, 3, 2),
    (6, 320, 1, 1),
];

/// MobileNetV2 with torchvision's layout (`torchvision.models.mobilenet_v2`; Sandler et al.
/// 2018, "MobileNetV2: inverted residuals and linear bottlenecks", Table 2), so that
/// torchvision's pretrained ImageNet weights (`mobilenet_v2-b0353104.pth`, see
/// `shared/data/README.md`) load into it: 224x224x3 input; conv 32 3x3/2, BN, ReLU6; 17
/// inverted residual blocks in 7 stages (t, c, n, s) = (1, 16, 1, 1), (6, 24, 2, 2),
/// (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1); conv 1,280
/// 1x1, BN, ReLU6; global average pooling; dropout 20%; Dense 1,000.
///
/// As in torchvision: convs without bias, BN epsilon 1e-5, ReLU6, explicit symmetric padding
/// `[[1, 1], [1, 1]]` on the 3x3 convs (not "same", which would pad stride-2 convs on the
/// bottom and right only), and the classifier outputs logits (activation "linear"; torchvision
/// applies no softmax).
///
/// Names map to torchvision's modules in order: `conv1`/`bn1` = `features.0`; the blocks
/// `stage1_0`, `stage2_0`, `stage2_1`, `stage3_0`, ... `stage7_0` = `features.1` to
/// `features.17`; `conv_last`/`bn_last` = `features.18`; `classifier` = `classifier.1`.
/// 3,504,872 trainable parameters (torchvision's figure) plus 34,112 BN moving statistics.
pub fn mobilenet_v2() -> ModelSpec {
    let mut layers = vec![conv("conv1", json!(32), 3, 2), bn("bn1"), activation("relu1", "relu6")];
    let mut channels = 32;
    for (i, (t, c, n, s)) in SETTING.into_iter().enumerate() {
        let stage = format!("stage{}", i + 1);
        let first = format!("{stage}_0");
        if t == 1 {
            layers.push(EntrySpec::block(&first, "ir_first", json!({ "out": c })));
        } else {
            let args = json!({"hidden": channels * t, "out": c, "strides": s});
            layers.push(EntrySpec::block(&first, "ir", args));
        }
        if n > 1 {
            layers.push(units(&stage, "ir_add", json!({"hidden": c * t, "out": c}), n - 1));
        }
        channels = c;
    }
    layers.extend([
        conv("conv_last", json!(1280), 1, 1),
        bn("bn_last"),
        activation("relu_last", "relu6"),
        bare("avg_pool", "GlobalAvgPool2D"),
        layer("dropout", "Dropout", json!({"rate": 0.2})),
        layer("classifier", "Dense", json!({"units": 1000, "activation": "linear"})),
    ]);
    model(
        "mobilenet_v2",
        &[224, 224, 3],
        vec![
            ("ir_first", inverted_residual(false, false)),
            ("ir", inverted_residual(true, false)),
            ("ir_add", inverted_residual(true, true)),
        ],
        layers,
    )
}
