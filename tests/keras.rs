//! Keras interop. Import: the `model.to_json()` texts that Keras 3 wrote
//! (scripts/golden/keras_models.py, tests/golden/keras/) give models with Keras's parameter
//! counts and layer names; hand-written Keras 2 texts and malformed ones; no input panics.
//! Export: the generated Python code, run by Keras 3 (.cache/keras-venv, made by
//! scripts/setup-keras.sh), builds models with convlab's parameter counts and output shapes,
//! and Keras's `to_json()` of them imports back with the same counts; convlab's import of the
//! generated code gives the same spec as Keras's `to_json()` of what the code built.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::BTreeSet;

use common::keras::{root, run_driver};
use convlab::graph::{Model, ModelSpec};
use convlab::io::keras_code::from_keras_code;
use convlab::io::keras_export::to_keras_code;
use convlab::io::keras_import::from_keras_json;
use proptest::prelude::*;
use serde_json::{json, Value};

fn fixture(name: &str) -> String {
    let path = root().join(format!("tests/golden/keras/{name}.json"));
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn counts() -> Value {
    serde_json::from_str(&fixture("counts")).unwrap()
}

fn import(text: &str) -> Model {
    let spec = from_keras_json(text).unwrap_or_else(|e| panic!("import failed: {e}"));
    Model::from_spec(spec).unwrap()
}

fn import_error(text: &str) -> String {
    match from_keras_json(text) {
        Ok(spec) => panic!("imported: {}", spec.to_json()),
        Err(e) => {
            assert!(e.message().starts_with("Keras import: "), "{e}");
            e.message().to_string()
        }
    }
}

fn node<'a>(m: &'a Model, name: &str) -> &'a convlab::graph::Node {
    &m.nodes()[m.node_index(name).unwrap_or_else(|| panic!("no layer {name}"))]
}

// ---------------------------------------------------------------------------------------------
// Import

/// Layers Keras has that the import drops (their readers read their input).
const DROPPED: &[&str] = &["identity", "se_reshape"];

#[test]
fn keras_3_fixtures_import_with_kerass_counts_and_names() {
    let counts = counts();
    let models = counts["models"].as_object().unwrap();
    let mut checked = 0;
    for (name, c) in models.iter().filter(|(n, _)| !n.starts_with("error_")) {
        let m = import(&fixture(name));
        assert_eq!(m.param_count(), c["params"].as_u64().unwrap(), "{name}: params");
        assert_eq!(m.trainable_param_count(), c["trainable"].as_u64().unwrap(), "{name}");
        let ours: BTreeSet<&str> = m.nodes().iter().skip(1).map(|n| n.name.as_str()).collect();
        let theirs: BTreeSet<&str> = c["layers"]
            .as_array()
            .unwrap()
            .iter()
            .filter_map(Value::as_str)
            .filter(|n| *n != m.nodes()[0].name && !DROPPED.contains(n))
            .collect();
        assert_eq!(ours, theirs, "{name}: layer names");
        checked += 1;
    }
    assert_eq!(checked, 4);
}

#[test]
fn the_fashion_cnn_imports_as_a_clean_chain() {
    let spec = from_keras_json(&fixture("fashion_cnn")).unwrap();
    assert_eq!(spec.name, "fashion_mnist_cnn");
    assert_eq!(spec.input.name, "images");
    assert_eq!(spec.input.shape, vec![28, 28, 1]);
    assert!(spec.layers.iter().all(|l| l.inputs.is_none()), "a chain needs no inputs");
    let conv1 = serde_json::to_value(&spec.layers[0]).unwrap();
    assert_eq!(
        conv1,
        json!({"name": "conv1", "class_name": "Conv2D", "config":
               {"filters": 64, "kernel_size": 7, "padding": "same", "activation": "relu"}})
    );
    let pool1 = serde_json::to_value(&spec.layers[1]).unwrap();
    assert_eq!(pool1, json!({"name": "pool1", "class_name": "MaxPool2D"}));
    assert_eq!(serde_json::to_value(&spec.layers[10]).unwrap()["config"], json!({"rate": 0.5}));
}

#[test]
fn keras_layers_convlab_lacks_are_converted() {
    let m = import(&fixture("mobile_blocks"));
    let act = |n: &str| match &node(&m, n).layer {
        convlab::nn::layer::Layer::Activation(a) => a.name(),
        other => panic!("{n}: {other:?}"),
    };
    assert_eq!(act("conv_relu6"), "relu6");
    assert_eq!(act("dw_relu"), "relu");
    assert_eq!(act("sep_leaky"), "leaky_relu");
    assert_eq!(act("softmax"), "softmax");
    let scale = node(&m, "se_scale");
    assert_eq!(scale.layer.class_name(), "SEScale");
    let reads: Vec<&str> = scale.inputs.iter().map(|&i| m.nodes()[i].name.as_str()).collect();
    assert_eq!(reads, ["dw_relu", "se_expand"]);
    assert_eq!(node(&m, "pad").output_shape, vec![33, 33, 3]);

    let m = import(&fixture("dense_misc"));
    assert!(m.node_index("identity").is_none());
    assert_eq!(node(&m, "to_flat").layer.class_name(), "Flatten");
    let conv = m.node_index("conv").unwrap();
    assert_eq!(node(&m, "to_flat").inputs, vec![conv], "Identity is skipped");
    assert_eq!(act_of(&m, "elu"), "elu");
}

fn act_of(m: &Model, n: &str) -> &'static str {
    match &node(m, n).layer {
        convlab::nn::layer::Layer::Activation(a) => a.name(),
        other => panic!("{n}: {other:?}"),
    }
}

#[test]
fn residual_and_inception_keep_their_graph() {
    let spec = from_keras_json(&fixture("residual_inception")).unwrap();
    let m = Model::from_spec(spec).unwrap();
    let reads = |n: &str| -> Vec<String> {
        node(&m, n).inputs.iter().map(|&i| m.nodes()[i].name.clone()).collect()
    };
    assert_eq!(reads("res_add"), ["stem", "res_conv2"]);
    assert_eq!(reads("inc_concat"), ["inc_1x1", "inc_3x3", "inc_5x5", "inc_pool_proj"]);
    assert_eq!(node(&m, "inc_concat").output_shape, vec![32, 32, 32]);
    assert_eq!(m.nodes()[m.output()].name, "logits");
}

#[test]
fn a_lambda_layer_is_named_in_the_error() {
    let e = import_error(&fixture("error_lambda"));
    assert!(
        e.starts_with(
            "Keras import: layer 'lambda_3' has type Lambda, which convlab does not have (it \
             has: Conv2D, "
        ),
        "{e}"
    );
    assert!(e.contains("MaxPooling2D") && e.contains("RBF"), "{e}");
}

#[test]
fn a_nested_model_is_refused_clearly() {
    let e = import_error(&fixture("error_nested"));
    assert!(e.contains("layer 'inner_block' is a nested model (Functional)"), "{e}");
}

/// Keras 2 (tf.keras) wrote the input shape on the first layer as batch_input_shape, the
/// LeakyReLU slope as alpha and inbound nodes as `[[["name", 0, 0, {}]]]`.
#[test]
fn keras_2_formats_import() {
    let sequential = json!({"class_name": "Sequential", "keras_version": "2.13.1", "config": {
    "name": "seq", "layers": [
        {"class_name": "Conv2D", "config": {"name": "conv2d", "trainable": true,
         "batch_input_shape": [null, 28, 28, 1], "dtype": "float32", "filters": 32,
         "kernel_size": [3, 3], "strides": [1, 1], "padding": "valid",
         "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
         "activation": "linear", "use_bias": true,
         "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": null}},
         "bias_initializer": {"class_name": "Zeros", "config": {}},
         "kernel_regularizer": null, "bias_regularizer": null,
         "activity_regularizer": null, "kernel_constraint": null, "bias_constraint": null}},
        {"class_name": "LeakyReLU", "config": {"name": "leaky_re_lu", "trainable": true,
         "dtype": "float32", "alpha": 0.30000001192092896}},
        {"class_name": "BatchNormalization", "config": {"name": "bn", "axis": [3],
         "momentum": 0.99, "epsilon": 0.001, "center": true, "scale": true,
         "fused": null, "renorm": false, "virtual_batch_size": null, "adjustment": null}},
        {"class_name": "Flatten", "config": {"name": "flatten", "data_format": "channels_last"}},
        {"class_name": "Dense", "config": {"name": "dense", "units": 10,
         "activation": "softmax", "use_bias": true}}
    ]}});
    let m = import(&sequential.to_string());
    assert_eq!(m.input_shape(), [28, 28, 1]);
    assert_eq!(m.param_count(), 320 + 4 * 32 + 26 * 26 * 32 * 10 + 10);
    assert_eq!(act_of(&m, "leaky_re_lu"), "leaky_relu");

    let functional = json!({"class_name": "Functional", "config": {"name": "model",
        "layers": [
            {"class_name": "InputLayer", "name": "input_1", "inbound_nodes": [],
             "config": {"batch_input_shape": [null, 8, 8, 3], "dtype": "float32",
                        "sparse": false, "ragged": false, "name": "input_1"}},
            {"class_name": "Conv2D", "name": "conv", "inbound_nodes": [[["input_1", 0, 0, {}]]],
             "config": {"name": "conv", "filters": 3, "kernel_size": [3, 3], "padding": "same"}},
            {"class_name": "Add", "name": "add",
             "inbound_nodes": [[["input_1", 0, 0, {}], ["conv", 0, 0, {}]]],
             "config": {"name": "add", "trainable": true, "dtype": "float32"}},
            {"class_name": "ReLU", "name": "relu", "inbound_nodes": [[["add", 0, 0, {}]]],
             "config": {"name": "relu", "max_value": 6.0, "negative_slope": 0.0,
                        "threshold": 0.0}}
        ],
        "input_layers": [["input_1", 0, 0]], "output_layers": [["relu", 0, 0]]}});
    let m = import(&functional.to_string());
    assert_eq!(m.param_count(), 84);
    assert_eq!(node(&m, "add").inputs, vec![0, 1]);
    assert_eq!(act_of(&m, "relu"), "relu6");
}

/// A minimal Keras 3 Functional model: an input `[8, 8, 4]` and the given layers, each
/// `(class, name, config, inputs)`.
fn functional(layers: &[(&str, &str, Value, &[&str])], outputs: Value) -> String {
    let mut list = vec![json!({"class_name": "InputLayer", "name": "in", "inbound_nodes": [],
        "config": {"batch_shape": [null, 8, 8, 4], "name": "in"}})];
    for (class, name, config, inputs) in layers {
        let tensors: Vec<Value> = inputs
            .iter()
            .map(|i| {
                json!({"class_name": "__keras_tensor__",
                            "config": {"shape": [], "keras_history": [i, 0, 0]}})
            })
            .collect();
        let args = if tensors.len() == 1 { tensors[0].clone() } else { Value::Array(tensors) };
        let mut config = config.clone();
        config["name"] = json!(name);
        list.push(json!({"class_name": class, "name": name, "config": config,
                         "inbound_nodes": [{"args": [args], "kwargs": {}}]}));
    }
    json!({"class_name": "Functional", "config": {"name": "m", "layers": list,
           "input_layers": ["in", 0, 0], "output_layers": outputs}})
    .to_string()
}

#[test]
fn what_convlab_cannot_express_is_refused_with_the_layer_named() {
    let conv = |name: &'static str, input: &'static [&'static str]| {
        ("Conv2D", name, json!({"filters": 4, "kernel_size": 3, "padding": "same"}), input)
    };
    let cases: Vec<(String, &str)> = vec![
        (
            functional(&[("ReLU", "r", json!({"max_value": 3.0}), &["in"])], json!(["r", 0, 0])),
            "layer 'r' (ReLU): only max_value none (relu) or 6 (relu6)",
        ),
        (
            functional(
                &[("Reshape", "rs", json!({"target_shape": [16, 16, 1]}), &["in"])],
                json!(["rs", 0, 0]),
            ),
            "layer 'rs' (Reshape): only a reshape to one axis",
        ),
        (
            functional(
                &[conv("a", &["in"]), ("Multiply", "mul", json!({}), &["in", "a"])],
                json!(["mul", 0, 0]),
            ),
            "layer 'mul' (Multiply): only Multiply([x, Reshape((1, 1, C))(s)])",
        ),
        (
            functional(
                &[("GlobalAveragePooling2D", "gap", json!({"keepdims": true}), &["in"])],
                json!(["gap", 0, 0]),
            ),
            "layer 'gap' (GlobalAveragePooling2D): keepdims true",
        ),
        (
            functional(
                &[("BatchNormalization", "bn", json!({"renorm": true}), &["in"])],
                json!(["bn", 0, 0]),
            ),
            "layer 'bn' (BatchNormalization): renorm true",
        ),
        (
            functional(&[("LeakyReLU", "lr", json!({"negative_slope": 0.2}), &["in"])], json!([])),
            "negative_slope 0.2: convlab's leaky_relu has slope 0.3 only",
        ),
        (
            functional(
                &[conv("a", &["in"]), conv("b", &["in"])],
                json!([["a", 0, 0], ["b", 0, 0]]),
            ),
            "the model has 2 outputs",
        ),
        (
            functional(&[conv("a", &["in"]), conv("b", &["a"])], json!(["a", 1, 0])),
            "reads output 0 of call 1 of 'a'",
        ),
        (
            functional(
                &[("Conv2D", "a", json!({"filters": 4, "kernel_size": 3, "tile": 2}), &["in"])],
                json!([]),
            ),
            "layer 'a' (Conv2D): tile unknown config key",
        ),
        (
            functional(&[conv("a", &["nowhere"])], json!([])),
            "inputs names 'nowhere', which is not a layer",
        ),
        (
            functional(
                &[("Conv2D", "a", json!({"filters": 4, "kernel_size": 30}), &["in"])],
                json!([]),
            ),
            "layer 'a' (Conv2D): argument 'kernel_size': the height of the kernel (30) is larger",
        ),
        ("[1, 2]".into(), "expected a JSON object"),
        ("{\"class_name\": \"Dense\", \"config\": {}}".into(), "the top-level class is Dense"),
        ("not json".into(), "not valid JSON"),
        (
            json!({"class_name": "Sequential", "config": {"layers": [
                {"class_name": "InputLayer", "config": {"batch_shape": [null, null, null, 3],
                                                         "name": "in"}}]}})
            .to_string(),
            "input 'in' has shape [null,null,null,3]: every size but the batch must be a fixed",
        ),
        (
            json!({"class_name": "Sequential", "config": {"layers": [
                {"class_name": "InputLayer",
                 "config": {"batch_shape": [null, 4, 3], "name": "in"}}]}})
            .to_string(),
            "convlab takes [height, width, channels] or [features]",
        ),
        (
            json!({"class_name": "Sequential", "config": {"layers": [
                {"class_name": "Dense", "config": {"name": "d", "units": 3}}]}})
            .to_string(),
            "the Sequential model has no input shape",
        ),
    ];
    for (text, want) in &cases {
        let e = import_error(text);
        assert!(e.contains(want), "wanted {want:?} in: {e}");
    }
    // A layer called twice (shared weights).
    let mut v: Value = serde_json::from_str(&functional(&[conv("a", &["in"])], json!([]))).unwrap();
    let node = v["config"]["layers"][1]["inbound_nodes"][0].clone();
    v["config"]["layers"][1]["inbound_nodes"] = json!([node.clone(), node]);
    assert!(import_error(&v.to_string()).contains("layer 'a' is called 2 times (shared weights)"));
    // Over the size limit, before parsing.
    let big = " ".repeat(convlab::graph::spec::MAX_SPEC_BYTES + 1);
    let e = from_keras_json(&big).unwrap_err();
    assert_eq!(e.kind(), convlab::error::ErrorKind::ResourceLimit);
    // Too many layers, before any work per layer.
    let dense = json!({"class_name": "Identity", "config": {"name": "i"}});
    let many = json!({"class_name": "Sequential", "config": {"layers": vec![dense; 6000]}});
    let e = from_keras_json(&many.to_string()).unwrap_err();
    assert!(e.message().contains("6000 layers, over convlab's limit"), "{e}");
}

#[test]
fn a_reshape_to_one_axis_must_match_its_input() {
    let text = functional(
        &[("Reshape", "flat", json!({"target_shape": [100]}), &["in"])],
        json!(["flat", 0, 0]),
    );
    assert!(import_error(&text).contains("layer 'flat' (Reshape): reshapes to (100,)"));
    let text = functional(
        &[("Reshape", "flat", json!({"target_shape": [256]}), &["in"])],
        json!(["flat", 0, 0]),
    );
    assert_eq!(import(&text).nodes()[1].output_shape, vec![256]);
}

/// Arbitrary JSON: scalars, arrays and objects nested a few levels, with keys a Keras model has.
fn arb_json() -> impl Strategy<Value = Value> {
    let key = prop::sample::select(vec![
        "class_name",
        "config",
        "layers",
        "name",
        "inbound_nodes",
        "args",
        "kwargs",
        "keras_history",
        "batch_shape",
        "filters",
        "kernel_size",
        "units",
        "target_shape",
        "output_layers",
        "padding",
        "activation",
        "__keras_tensor__",
        "Sequential",
        "x",
    ]);
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        (-3i64..40).prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(vec![
            "Conv2D",
            "Dense",
            "InputLayer",
            "Sequential",
            "Functional",
            "Add",
            "Multiply",
            "Reshape",
            "ReLU",
            "same",
            "relu",
            "__keras_tensor__",
            "in",
            "a",
            "",
        ])
        .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ];
    leaf.prop_recursive(6, 96, 8, move |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
            prop::collection::btree_map(key.clone(), inner, 0..6).prop_map(|m| {
                Value::Object(m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
            }),
        ]
    })
}

/// Replaces the value at a pseudo-random path of `v` (walk choices from `picks`).
fn mutate(v: &mut Value, picks: &[usize], replacement: Value) {
    match (picks.split_first(), v) {
        (Some((&p, rest)), Value::Array(a)) if !a.is_empty() => {
            let n = a.len();
            mutate(&mut a[p % n], rest, replacement)
        }
        (Some((&p, rest)), Value::Object(m)) if !m.is_empty() => {
            let n = m.len();
            mutate(m.values_mut().nth(p % n).unwrap(), rest, replacement)
        }
        (_, v) => *v = replacement,
    }
}

fn check_no_panic(text: &str) {
    if let Ok(spec) = from_keras_json(text) {
        Model::from_spec(spec).expect("an imported spec must pass Model::from_spec");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 600, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in ".{0,300}") {
        check_no_panic(&text);
    }

    #[test]
    fn arbitrary_json_never_panics(v in arb_json()) {
        check_no_panic(&v.to_string());
        check_no_panic(&json!({"class_name": "Functional", "config": v}).to_string());
        check_no_panic(&json!({"class_name": "Sequential", "config": {"layers": [v]}}).to_string());
    }

    #[test]
    fn mutated_fixtures_never_panic(
        which in 0usize..4,
        picks in prop::collection::vec(any::<usize>(), 0..10),
        replacement in arb_json(),
    ) {
        let name = ["fashion_cnn", "residual_inception", "mobile_blocks", "dense_misc"][which];
        let mut v: Value = serde_json::from_str(&fixture(name)).unwrap();
        mutate(&mut v, &picks, replacement);
        check_no_panic(&v.to_string());
    }
}

// ---------------------------------------------------------------------------------------------
// Export

fn spec(name: &str, input: &[u64], layers: Value) -> ModelSpec {
    ModelSpec::from_value(json!({"format": "convlab-model", "version": 1, "name": name,
                                 "input": {"shape": input}, "layers": layers}))
    .unwrap()
}

/// Small specs that together use every layer type and option the export translates.
fn handwritten() -> Vec<ModelSpec> {
    let chain = spec(
        "chain_of_everything",
        &[17, 16, 4],
        json!([
            {"name": "pad_conv", "class_name": "Conv2D", "config": {"filters": 8,
             "kernel_size": 3, "padding": [[1, 2], [0, 1]], "activation": "leaky_relu"}},
            {"name": "grouped", "class_name": "Conv2D", "config": {"filters": 8,
             "kernel_size": [3, 1], "padding": "same", "groups": 2, "use_bias": false}},
            {"name": "dilated", "class_name": "Conv2D", "config": {"filters": 8,
             "kernel_size": 3, "strides": 2, "dilation_rate": 2, "padding": "same"}},
            {"name": "dw", "class_name": "DepthwiseConv2D", "config": {"kernel_size": 3,
             "depth_multiplier": 2, "padding": [[1, 1], [1, 1]], "activation": "relu6"}},
            {"name": "sep", "class_name": "SeparableConv2D", "config": {"filters": 6,
             "kernel_size": 3, "padding": "same", "activation": "selu", "use_bias": false}},
            {"name": "bn", "class_name": "BatchNormalization", "config": {"center": false,
             "momentum": 0.9, "epsilon": 1e-5}},
            {"name": "bn_plain", "class_name": "BatchNormalization", "config": {"scale": false}},
            {"name": "elu", "class_name": "Activation", "config": {"activation": "elu"}},
            {"name": "leaky", "class_name": "Activation", "config": {"activation": "leaky_relu"}},
            {"name": "zp", "class_name": "ZeroPadding2D", "config": {"padding": [[1, 0], [2, 1]]}},
            {"name": "max", "class_name": "MaxPool2D", "config": {"pool_size": 3, "strides": 2,
             "padding": [[1, 1], [1, 1]]}},
            {"name": "avg", "class_name": "AvgPool2D", "config": {"pool_size": 2, "strides": 1,
             "padding": "same"}},
            {"name": "avg_valid", "class_name": "AveragePooling2D"},
            {"name": "gmp", "class_name": "GlobalMaxPool2D"},
            {"name": "drop", "class_name": "Dropout", "config": {"rate": 0.3, "seed": 7}},
            {"name": "out", "class_name": "Dense", "config": {"units": 5, "activation": "softmax"}}
        ]),
    );
    let lenet = spec(
        "lenet_like",
        &[32, 32, 1],
        json!([
            {"name": "C1", "class_name": "Conv2D", "config": {"filters": 6, "kernel_size": 5,
             "activation": "tanh"}},
            {"name": "S2", "class_name": "LeNetSubsampling", "config": {"activation": "sigmoid"}},
            {"name": "C3", "class_name": "Conv2D", "config": {"filters": 4, "kernel_size": 5,
             "connections": [[0, 1, 2], [1, 2, 3, 4], [5], [0, 1, 2, 3, 4, 5]]}},
            {"name": "S4", "class_name": "LeNetSubsampling", "config": {"pool_size": 2,
             "activation": "leaky_relu"}},
            {"name": "flat", "class_name": "Flatten"},
            {"name": "F6", "class_name": "Dense", "config": {"units": 12, "activation": "tanh"}},
            {"name": "rbf", "class_name": "RBF", "config": {"units": 10}}
        ]),
    );
    let lrn = spec(
        "lrn_and_depth_pool",
        &[12, 12, 3],
        json!([
            {"name": "conv", "class_name": "Conv2D", "config": {"filters": 12, "kernel_size": 3,
             "padding": "same", "activation": "relu"}},
            {"name": "lrn", "class_name": "LRN", "config": {"depth_radius": 2, "bias": 2.0,
             "alpha": 0.0001, "beta": 0.75}},
            {"name": "depth_pool", "class_name": "DepthMaxPool2D", "config": {"pool_size": 3}},
            {"name": "gap", "class_name": "GlobalAvgPool2D"},
            {"name": "logits", "class_name": "Dense", "config": {"units": 4, "use_bias": false}}
        ]),
    );
    let mut graph = spec(
        "se_residual_graph",
        &[8, 8, 8],
        json!([
            {"name": "unit", "block": "se_unit", "repeat": 2},
            {"name": "unit_1__conv", "class_name": "Conv2D", "inputs": ["input"],
             "config": {"filters": 8, "kernel_size": 1}},
            {"name": "concat", "class_name": "Concatenate",
             "inputs": ["unit", "unit_1__conv", "input"]},
            {"name": "gap", "class_name": "GlobalAvgPool2D"},
            {"name": "out", "class_name": "Dense", "config": {"units": 3}}
        ]),
    );
    graph.blocks.insert(
        "se_unit".into(),
        serde_json::from_value(json!({"layers": [
            {"name": "conv", "class_name": "Conv2D", "config": {"filters": 8, "kernel_size": 3,
             "padding": "same"}},
            {"name": "bn", "class_name": "BatchNormalization"},
            {"name": "squeeze", "class_name": "GlobalAvgPool2D"},
            {"name": "fc1", "class_name": "Dense", "config": {"units": 2, "activation": "relu"}},
            {"name": "fc2", "class_name": "Dense", "config": {"units": 8, "activation": "sigmoid"}},
            {"name": "scale", "class_name": "SEScale", "inputs": ["bn", "fc2"]},
            {"name": "add", "class_name": "Add", "inputs": ["scale", "x"]},
            {"name": "relu", "class_name": "Activation", "config": {"activation": "relu"}}
        ]}))
        .unwrap(),
    );
    let dense = spec(
        "dense_only",
        &[20],
        json!([
            {"name": "a", "class_name": "Dense", "config": {"units": 16, "activation": "relu"}},
            {"name": "bn", "class_name": "BatchNormalization"},
            {"name": "d", "class_name": "Dropout", "config": {"rate": 0.1}},
            {"name": "b", "class_name": "Dense", "config": {"units": 8, "activation": "elu"}},
            {"name": "c", "class_name": "Dense", "config": {"units": 3}}
        ]),
    );
    vec![chain, lenet, lrn, graph, dense]
}

/// A one-layer model run in Keras on `x` with `weights` (Keras's `get_weights()` order, flat),
/// and the output convlab's definition gives.
struct Probe {
    model: Model,
    x: Vec<f64>,
    weights: Vec<Vec<f64>>,
    want: Vec<f64>,
}

/// Numbers for probes: a fixed pseudo-random sequence in [-1, 1).
fn numbers(n: usize, seed: u64) -> Vec<f64> {
    let mut z = seed;
    (0..n)
        .map(|_| {
            z = z.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((z >> 40) as f64 / (1u64 << 24) as f64) * 2.0 - 1.0
        })
        .collect()
}

/// The custom layers computed by Keras against convlab's definitions.
fn probes() -> Vec<Probe> {
    use convlab::backend::reference;
    let one = |name: &str, input: &[u64], layer: Value| {
        Model::from_spec(spec(name, input, json!([layer]))).unwrap()
    };
    let mut out = Vec::new();
    // LRN: tf.nn.local_response_normalization.
    let x = numbers(3 * 4 * 7, 1);
    let want = reference::lrn(&x, 7, 2, 1.5, 0.3, 0.75);
    let model = one(
        "probe_lrn",
        &[3, 4, 7],
        json!({"name": "lrn", "class_name": "LRN",
        "config": {"depth_radius": 2, "bias": 1.5, "alpha": 0.3, "beta": 0.75}}),
    );
    out.push(Probe { model, x, weights: vec![], want });
    // DepthMaxPool2D: runs of consecutive channels.
    let x = numbers(2 * 3 * 6, 2);
    let want = reference::depth_max_pool(&x, 3);
    let model = one(
        "probe_depth_pool",
        &[2, 3, 6],
        json!({"name": "dmp",
        "class_name": "DepthMaxPool2D", "config": {"pool_size": 3}}),
    );
    out.push(Probe { model, x, weights: vec![], want });
    // LeNetSubsampling: tanh(coefficient * mean of each 2x2 window + bias).
    let (x, coeff, bias) = (numbers(4 * 4 * 2, 3), vec![0.5, -2.0], vec![0.25, 0.1]);
    let mut want = Vec::new();
    for (i, j, c) in (0..2).flat_map(|i| (0..2).flat_map(move |j| (0..2).map(move |c| (i, j, c)))) {
        let at = |di: usize, dj: usize| x[((2 * i + di) * 4 + 2 * j + dj) * 2 + c];
        let mean = (at(0, 0) + at(0, 1) + at(1, 0) + at(1, 1)) / 4.0;
        want.push((coeff[c] * mean + bias[c]).tanh());
    }
    let model = one(
        "probe_subsampling",
        &[4, 4, 2],
        json!({"name": "s2",
        "class_name": "LeNetSubsampling", "config": {"activation": "tanh"}}),
    );
    out.push(Probe { model, x, weights: vec![coeff, bias], want });
    // RBF: squared distance to each unit's centre, centres [in, units].
    let (x, centers) = (numbers(5, 4), numbers(5 * 3, 5));
    let want = (0..3).map(|j| (0..5).map(|i| (x[i] - centers[i * 3 + j]).powi(2)).sum()).collect();
    let model = one(
        "probe_rbf",
        &[5],
        json!({"name": "rbf", "class_name": "RBF",
        "config": {"units": 3}}),
    );
    out.push(Probe { model, x, weights: vec![centers], want });
    // Conv2D with connections: filter f reads only maps connections[f]; the stored kernel holds
    // the connected taps, filter by filter.
    let table = [vec![0, 2], vec![1]];
    let (x, taps, bias) = (numbers(5 * 5 * 3, 6), numbers(3 * 3 * 3, 7), vec![0.5, -0.5]);
    let mut want = Vec::new();
    for (i, j, f) in (0..3).flat_map(|i| (0..3).flat_map(move |j| (0..2).map(move |f| (i, j, f)))) {
        let mut acc = bias[f];
        for (di, dj) in (0..3).flat_map(|di| (0..3).map(move |dj| (di, dj))) {
            let t0: usize = table[..f].iter().map(Vec::len).sum();
            for (k, &m) in table[f].iter().enumerate() {
                acc += taps[(di * 3 + dj) * 3 + t0 + k] * x[((i + di) * 5 + j + dj) * 3 + m];
            }
        }
        want.push(acc);
    }
    let model = one(
        "probe_connections",
        &[5, 5, 3],
        json!({"name": "c3", "class_name": "Conv2D",
        "config": {"filters": 2, "kernel_size": 3, "connections": table}}),
    );
    out.push(Probe { model, x, weights: vec![taps, bias], want });
    out
}

#[test]
fn handwritten_specs_use_every_layer_type() {
    let mut classes = BTreeSet::new();
    for s in handwritten() {
        for n in Model::from_spec(s).unwrap().nodes().iter().skip(1) {
            classes.insert(n.layer.class_name());
        }
    }
    let all: BTreeSet<&str> = convlab::nn::layer::CLASS_NAMES.iter().copied().collect();
    assert_eq!(classes, all);
}

#[test]
fn a_chain_is_a_sequential_and_a_graph_the_functional_api() {
    let specs = handwritten();
    let chain = to_keras_code(&Model::from_spec(specs[0].clone()).unwrap());
    assert!(chain.contains("keras.Sequential("), "{chain}");
    assert!(chain.contains("layers.ZeroPadding2D(((1, 2), (0, 1)), name=\"pad_conv__pad\")"));
    assert!(chain.contains("layers.LeakyReLU(negative_slope=0.3, name=\"pad_conv__act\")"));
    assert!(chain.contains("layers.LeakyReLU(negative_slope=0.3, name=\"leaky\")"));
    assert!(chain.contains("ConvlabConv2D(8, (3, 3), strides=(2, 2)"), "{chain}");
    assert!(chain.contains("# Keras pooling has no explicit padding"));
    assert!(!chain.contains("class LRN") && chain.contains("class ConvlabConv2D"));
    let graph = to_keras_code(&Model::from_spec(specs[3].clone()).unwrap());
    assert!(graph.contains("keras.Model(x0, "), "{graph}");
    assert!(graph.contains("name=\"unit_1__conv\")"), "{graph}");
    assert!(graph.contains("name=\"unit_1__conv_2\")"), "a mapped name taken twice: {graph}");
    assert!(graph.contains("layers.Reshape((1, 1, 8), name=\"unit_1__scale__reshape\")"));
    assert!(graph.lines().filter(|l| !l.trim_start().starts_with('#')).all(|l| !l.contains('/')));
}

#[test]
fn names_are_python_string_literals() {
    let s = spec(
        "quote\"back\\slash\nnewline é \u{1F600}",
        &[4],
        json!([{"name": "d\"'\\é", "class_name": "Dense", "config": {"units": 2}}]),
    );
    let code = to_keras_code(&Model::from_spec(s).unwrap());
    assert!(code.contains(r#"name="d\"'\\\xe9")"#), "{code}");
    assert!(code.contains(r#""quote\"back\\slash\nnewline \xe9 \U0001f600""#), "{code}");
    assert!(code.lines().all(|l| l.is_ascii()), "{code}");
}

/// Runs every generated script in one Python process; prints one `RESULT {json}` line each.
const DRIVER: &str = r#"
import contextlib, io, json, os, sys, time, traceback
os.environ.setdefault("KERAS_BACKEND", "jax")
import numpy as np
import keras
from keras.src import backend

# jax compiles its random-number kernels once per weight shape (about half a second each, a
# minute for a zoo model); initial values do not matter here, so numpy draws them.
rng = np.random.default_rng(0)
def _uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    return backend.convert_to_tensor(rng.uniform(minval, maxval, shape).astype(dtype or "float32"))
def _normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    return backend.convert_to_tensor(rng.normal(mean, stddev, shape).astype(dtype or "float32"))
backend.random.uniform = _uniform
backend.random.normal = _normal
backend.random.truncated_normal = _normal

for case in json.load(open(sys.argv[1])):
    start = time.time()
    result = {"name": case["name"]}
    try:
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            namespace = {"__name__": "convlab_export"}
            exec(compile(open(case["path"]).read(), case["path"], "exec"), namespace)
        result["printed"] = out.getvalue()
        model = namespace["model"]
        if case["forward"]:
            x = rng.standard_normal([2] + case["input"]).astype("float32")
            result["output_shape"] = list(model(x, training=False).shape[1:])
        if "x" in case:
            if case["weights"]:
                model.set_weights([np.asarray(w, "float32").reshape(v.shape)
                                   for w, v in zip(case["weights"], model.get_weights())])
            x = np.asarray(case["x"], "float32").reshape([1] + case["input"])
            result["output"] = np.asarray(model(x, training=False)).reshape(-1).tolist()
        result["json"] = model.to_json()
    except Exception:
        result["error"] = traceback.format_exc()
    result["seconds"] = time.time() - start
    print("RESULT", json.dumps(result), flush=True)
    keras.backend.clear_session()
"#;

/// The number printed after `label` on a line of `printed`.
fn printed_count(printed: &str, label: &str) -> Option<u64> {
    printed.lines().find_map(|l| l.strip_prefix(label)?.trim().parse().ok())
}

#[test]
fn exported_code_builds_in_keras_with_our_counts_and_shapes() {
    let dir = std::env::temp_dir().join(format!("convlab-keras-export-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut models: Vec<Model> =
        handwritten().into_iter().map(|s| Model::from_spec(s).unwrap()).collect();
    let small = models.len();
    let probes = probes();
    models.extend(probes.iter().map(|p| p.model.clone()));
    for name in convlab::zoo::names() {
        let spec = convlab::zoo::spec(name).unwrap_or_else(|| panic!("zoo has no {name}"));
        models.push(Model::from_spec(spec).unwrap_or_else(|e| panic!("zoo {name}: {e}")));
    }
    let mut cases = Vec::new();
    for (k, m) in models.iter().enumerate() {
        let path = dir.join(format!("model_{k}.py"));
        std::fs::write(&path, to_keras_code(m)).unwrap();
        // The forward pass runs op by op (slow in jax): small models only.
        let forward = k < small || m.multiply_adds() < 50_000_000;
        let mut case = json!({"name": m.spec().name, "path": path, "forward": forward,
                              "input": m.input_shape()});
        if let Some(p) = k.checked_sub(small).and_then(|i| probes.get(i)) {
            case["x"] = json!(p.x);
            case["weights"] = json!(p.weights);
        }
        cases.push(case);
    }
    let cases_path = dir.join("cases.json");
    std::fs::write(&cases_path, Value::from(cases).to_string()).unwrap();
    let driver = dir.join("driver.py");
    std::fs::write(&driver, DRIVER).unwrap();
    let start = std::time::Instant::now();
    let results = run_driver(&driver, &cases_path, models.len());
    let mut failures = Vec::new();
    for (m, r) in models.iter().zip(&results) {
        let name = &m.spec().name;
        println!("{name}: {:.1} s in Keras", r["seconds"].as_f64().unwrap_or(0.0));
        if let Some(e) = r["error"].as_str() {
            failures.push(format!("{name}: Keras failed:\n{e}"));
            continue;
        }
        let printed = r["printed"].as_str().unwrap_or("");
        let got = (printed_count(printed, "PARAMS"), printed_count(printed, "TRAINABLE"));
        let want = (Some(m.param_count()), Some(m.trainable_param_count()));
        if got != want {
            failures.push(format!("{name}: Keras counts {got:?}, convlab {want:?}"));
        }
        if let Some(shape) = r.get("output_shape") {
            let ours = &m.nodes()[m.output()].output_shape;
            if shape != &json!(ours) {
                failures.push(format!("{name}: Keras output shape {shape}, convlab {ours:?}"));
            }
        }
        if let Some(p) = probes.iter().find(|p| p.model.spec().name == *name) {
            let got: Vec<f64> = r["output"]
                .as_array()
                .map(|a| a.iter().filter_map(Value::as_f64).collect())
                .unwrap_or_default();
            let close = got.len() == p.want.len()
                && got.iter().zip(&p.want).all(|(g, w)| (g - w).abs() <= 1e-4 * (1.0 + w.abs()));
            if !close {
                failures.push(format!("{name}: Keras computed {got:?}, convlab {:?}", p.want));
            }
        }
        // convlab reads the script as Keras built it: the same spec as Keras's JSON of it.
        let keras_json = from_keras_json(r["json"].as_str().unwrap_or(""));
        match (from_keras_code(&to_keras_code(m)), &keras_json) {
            (Ok(code), Ok(json)) if code.to_json() == json.to_json() => {}
            (Ok(code), Ok(json)) => failures.push(format!(
                "{name}: the code import differs from Keras's JSON:\n{}\n{}",
                code.to_json(),
                json.to_json()
            )),
            (Err(e), _) => failures.push(format!("{name}: code import failed: {e}")),
            (_, Err(_)) => {}
        }
        // Keras's own JSON of the model imports back with the same counts.
        match keras_json.and_then(Model::from_spec) {
            Ok(back) if back.param_count() == m.param_count() => {}
            Ok(back) => failures.push(format!(
                "{name}: re-imported with {} parameters, not {}",
                back.param_count(),
                m.param_count()
            )),
            Err(e) => failures.push(format!("{name}: re-import failed: {e}")),
        }
    }
    println!("{} models in Keras in {:.1} s", models.len(), start.elapsed().as_secs_f64());
    let _ = std::fs::remove_dir_all(&dir);
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
