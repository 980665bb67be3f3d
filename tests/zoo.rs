//! The model zoo: every model builds, round-trips through JSON, fits a short share link, and
//! has the parameter count (and, where published, the multiply-adds) that sources outside
//! convlab give: published figures named beside each assertion, and for every model the
//! counts of the same architecture built independently in Keras 3 by
//! `scripts/golden/keras_zoo_counts.py` (written to `tests/golden/keras_zoo_counts.json`).

use convlab::graph::{Model, ModelSpec};
use convlab::zoo;
use serde_json::Value;

/// The share link must stay well under the 2,000 characters that some browsers and chat
/// programs keep of a URL.
const MAX_LINK_CHARS: usize = 1_500;

fn build(name: &str) -> Model {
    let spec = zoo::spec(name).unwrap_or_else(|| panic!("{name} is not in the zoo"));
    Model::from_spec(spec).unwrap_or_else(|e| panic!("{name}: {}", e.message()))
}

/// Counts from `tests/golden/keras_zoo_counts.json` (Keras 3, not convlab): `(params,
/// trainable params, multiply-adds)`.
fn keras(name: &str) -> (u64, u64, u64) {
    let golden: Value =
        serde_json::from_str(include_str!("golden/keras_zoo_counts.json")).expect("golden JSON");
    let m = &golden["models"][name];
    let get = |k: &str| m[k].as_u64().unwrap_or_else(|| panic!("{name}: no {k} in the golden"));
    (get("params"), get("trainable_params"), get("multiply_adds"))
}

#[test]
fn every_name_gives_a_spec_of_that_name_that_round_trips_and_builds() {
    assert_eq!(zoo::names().len(), 11);
    for &name in zoo::names() {
        let spec = zoo::spec(name).unwrap();
        assert_eq!(spec.name, name);
        let json = spec.to_json();
        let back =
            ModelSpec::from_json(&json).unwrap_or_else(|e| panic!("{name}: {}", e.message()));
        assert_eq!(back, spec, "{name}: the JSON round trip changed the spec");
        let link = convlab::io::url::to_fragment(&spec);
        assert_eq!(convlab::io::url::from_link(&link).unwrap(), spec, "{name}: link round trip");
        let model = Model::from_spec(spec).unwrap_or_else(|e| panic!("{name}: {}", e.message()));
        println!(
            "{name:18} {:4} layers {:>12} params {:>15} multiply-adds  JSON {:5} B  link {:4} chars",
            model.nodes().len() - 1,
            model.param_count(),
            model.multiply_adds(),
            json.len(),
            link.len()
        );
        assert!(link.len() < MAX_LINK_CHARS, "{name}: share link of {} characters", link.len());
    }
    assert!(zoo::spec("resnet50").is_none());
}

#[test]
fn every_model_matches_the_keras_built_counts() {
    for &name in zoo::names() {
        let m = build(name);
        let counts = (m.param_count(), m.trainable_param_count(), m.multiply_adds());
        // scripts/golden/keras_zoo_counts.py: the same architecture built in Keras 3.
        assert_eq!(counts, keras(name), "{name}: (params, trainable, multiply-adds)");
    }
}

#[test]
fn fashion_mnist_cnn_has_the_chapters_counts() {
    let m = build("fashion_mnist_cnn");
    // architectures.md (the chapter's model): 1,413,834 parameters, 89,466,496 multiply-adds.
    assert_eq!(m.param_count(), 1_413_834);
    assert_eq!(m.multiply_adds(), 89_466_496);
    assert_eq!(m.nodes()[m.output()].output_shape, vec![10]);
}

#[test]
fn lenet5_has_60840_parameters() {
    let m = build("lenet5");
    // LeCun et al. 1998 (C1 156, S2 12, C3 1,516, S4 32, C5 48,120, F6 10,164, RBF 840).
    assert_eq!(m.param_count(), 60_840);
    let c3 = &m.nodes()[m.node_index("C3").unwrap()];
    // The paper: C3 has 1,516 trainable parameters (60 connected 5x5 kernels + 16 biases).
    assert_eq!(c3.params.iter().map(|p| p.count).sum::<u64>(), 1_516);
    assert_eq!(c3.output_shape, vec![10, 10, 16]);
    let shapes: Vec<_> = m.nodes().iter().map(|n| n.output_shape.clone()).collect();
    assert_eq!(shapes[m.node_index("C5").unwrap()], vec![1, 1, 120]);
}

#[test]
fn lenet5_modern_matches_keras() {
    let m = build("lenet5_modern");
    // scripts/golden/keras_zoo_counts.py (Keras 3): 61,706 parameters.
    assert_eq!(m.param_count(), keras("lenet5_modern").0);
    assert_eq!(m.nodes()[m.node_index("C1").unwrap()].output_shape, vec![28, 28, 6]);
}

#[test]
fn alexnet_matches_keras() {
    let m = build("alexnet");
    // scripts/golden/keras_zoo_counts.py (Keras 3): 62,378,344 parameters.
    assert_eq!(m.param_count(), keras("alexnet").0);
    // Table 14-2's map sizes.
    for (layer, size) in [("conv1", 55), ("pool1", 27), ("conv2", 27), ("pool2", 13), ("pool5", 6)]
    {
        assert_eq!(m.nodes()[m.node_index(layer).unwrap()].output_shape[0], size, "{layer}");
    }
}

#[test]
fn googlenet_matches_keras() {
    let m = build("googlenet");
    // scripts/golden/keras_zoo_counts.py (Keras 3): 6,998,552 parameters (the paper's
    // "about 7 million" without auxiliary classifiers).
    assert_eq!(m.param_count(), keras("googlenet").0);
    // Figure 14-14's depths: 3a 256, 3b 480, 4e 832, 5b 1024 maps.
    for (layer, shape) in [
        ("3a/output", [28, 28, 256]),
        ("3b/output", [28, 28, 480]),
        ("4e/output", [14, 14, 832]),
        ("5b/output", [7, 7, 1024]),
    ] {
        assert_eq!(m.nodes()[m.node_index(layer).unwrap()].output_shape, shape, "{layer}");
    }
}

#[test]
fn vgg16_has_keras_applications_counts() {
    let m = build("vgg16");
    // Keras Applications VGG16: 138,357,544 parameters.
    assert_eq!(m.param_count(), 138_357_544);
    // VGG-16's published 15.47 G multiply-adds (convs and dense layers, 224x224).
    assert_eq!(m.multiply_adds(), 15_470_264_320);
}

#[test]
fn resnet34_has_torchvisions_trainable_count() {
    let m = build("resnet34");
    // torchvision resnet34 (the same layout): 21,797,672 parameters, all trainable; BN's
    // moving means and variances come on top.
    assert_eq!(m.trainable_param_count(), 21_797_672);
    // scripts/golden/keras_zoo_counts.py (Keras 3): 21,814,696 with BN's statistics.
    assert_eq!(m.param_count(), keras("resnet34").0);
    assert!(m.param_count() > m.trainable_param_count());
}

#[test]
fn resnet152_has_torchvisions_trainable_count() {
    let m = build("resnet152");
    // torchvision resnet152: 60,192,808 parameters (keras.applications.ResNet152's convs also
    // have biases: 60,419,944; the script checks the difference is exactly those biases).
    assert_eq!(m.trainable_param_count(), 60_192_808);
    // scripts/golden/keras_zoo_counts.py (Keras 3): 60,344,232 with BN's statistics.
    assert_eq!(m.param_count(), keras("resnet152").0);
    // keras.applications.ResNet152's multiply-adds (the script checks they equal its own).
    assert_eq!(m.multiply_adds(), keras("resnet152").2);
}

#[test]
fn se_resnet50_matches_keras_and_the_senet_paper() {
    let m = build("se_resnet50");
    let (params, trainable, _) = keras("se_resnet50");
    // scripts/golden/keras_zoo_counts.py (Keras 3): 28,141,144, of which 28,088,024 trainable.
    assert_eq!(m.param_count(), params);
    assert_eq!(m.trainable_param_count(), trainable);
    // Hu et al. 2018, Table 7: SE-ResNet-50 has 28.09 M parameters.
    assert_eq!((m.trainable_param_count() as f64 / 1e4).round() / 100.0, 28.09);
}

#[test]
fn xception_has_keras_applications_count() {
    let m = build("xception");
    // Keras Applications Xception: 22,910,480 parameters (22,855,952 trainable).
    assert_eq!(m.param_count(), 22_910_480);
    assert_eq!(m.trainable_param_count(), 22_855_952);
    // Entry flow's "valid" convs: 299 -> 149 -> 147; the middle flow at 19x19x728.
    assert_eq!(m.nodes()[m.node_index("block1_conv2").unwrap()].output_shape, vec![147, 147, 64]);
    assert_eq!(m.nodes()[m.node_index("block12/add").unwrap()].output_shape, vec![19, 19, 728]);
}

#[test]
fn mobilenet_v2_has_torchvisions_count() {
    let m = build("mobilenet_v2");
    // torchvision mobilenet_v2: 3,504,872 parameters (torch counts no BN statistics).
    assert_eq!(m.trainable_param_count(), 3_504_872);
    // Keras Applications MobileNetV2 (same parameters): 3,538,984 with BN's statistics.
    assert_eq!(m.param_count(), 3_538_984);
    // 17 inverted residual blocks, 10 of them with a residual add; logits out, 7x7 before the
    // pooling as in torchvision.
    let adds = m.nodes().iter().filter(|n| n.name.ends_with("/add")).count();
    assert_eq!(adds, 10);
    assert_eq!(m.nodes()[m.node_index("relu_last").unwrap()].output_shape, vec![7, 7, 1280]);
    assert_eq!(m.nodes()[m.output()].output_shape, vec![1000]);
}
