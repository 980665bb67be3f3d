//! The model specification: validation, shape inference, blocks, the summary, and the
//! messages a malformed spec gets.

use convlab::graph::{summarize, summary_text, Model, SummaryOptions};
use serde_json::json;

fn model(v: serde_json::Value) -> convlab::Result<Model> {
    Model::from_json(&v.to_string())
}

fn error(v: serde_json::Value) -> String {
    match model(v) {
        Ok(_) => panic!("the spec was accepted"),
        Err(e) => e.message().to_string(),
    }
}

fn spec(input: &[u64], layers: serde_json::Value) -> serde_json::Value {
    json!({"format": "convlab-model", "version": 1, "input": {"shape": input}, "layers": layers})
}

/// The seed's memory example (chapter, "Memory requirements"): 200 5x5 filters, stride 1,
/// "same", on 150x100x3: 15,200 parameters, 12 MB of output per instance, 1.2 GB for 100.
#[test]
fn the_seeds_conv_layer_has_15200_parameters_and_12_mb_per_instance() {
    let m = model(spec(
        &[150, 100, 3],
        json!([{"name": "conv", "class_name": "Conv2D",
                "config": {"filters": 200, "kernel_size": 5, "padding": "same"}}]),
    ))
    .unwrap();
    assert_eq!(m.param_count(), 15_200);
    let s = summarize(
        &m,
        SummaryOptions {
            batch: 100,
            optimizer: "sgd".into(),
            optimizer_slots: 0,
            max_buffer_bytes: None,
        },
    )
    .unwrap();
    let conv = &s.layers[1];
    assert_eq!(conv.output_shape, vec![150, 100, 200]);
    assert_eq!(conv.activation_bytes, 12_000_000);
    assert_eq!(conv.batch_activation_bytes, 1_200_000_000);
    // 150 * 100 * 200 outputs, each a weighted sum of 5 * 5 * 3 inputs: 225 million.
    assert_eq!(conv.macs, 225_000_000);
    let text = summary_text(&s);
    assert!(
        text.contains("conv (Conv2D)") && text.contains("15,200") && text.contains("12 MB"),
        "{text}"
    );
}

#[test]
fn a_kernel_larger_than_its_input_is_named_with_the_layer() {
    let e = error(spec(
        &[7, 7, 1],
        json!([{"name": "conv3", "class_name": "Conv2D", "config": {"filters": 4, "kernel_size": 9}}]),
    ));
    assert!(e.starts_with("layer 'conv3' (Conv2D)"), "{e}");
    assert!(
        e.contains("kernel_size") && e.contains("(9) is larger than the input's height (7)"),
        "{e}"
    );
    assert!(e.contains("'valid' padding"), "{e}");
}

#[test]
fn structural_errors_name_the_layers() {
    // A cycle.
    let e = error(spec(
        &[8, 8, 1],
        json!([
            {"name": "a", "class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 1}, "inputs": ["b"]},
            {"name": "b", "class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 1}, "inputs": ["a"]}
        ]),
    ));
    assert!(e.contains("cycle") && e.contains("'a'") && e.contains("'b'"), "{e}");
    // A dangling input.
    let e = error(spec(
        &[8, 8, 1],
        json!([{"name": "a", "class_name": "Flatten", "inputs": ["nope"]}]),
    ));
    assert_eq!(e, "layer 'a' (Flatten): inputs names 'nope', which is not a layer of this model");
    // Shapes that do not add up.
    let e = error(spec(
        &[8, 8, 1],
        json!([
            {"name": "a", "class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 1}},
            {"name": "b", "class_name": "Conv2D", "config": {"filters": 3, "kernel_size": 1}, "inputs": ["input"]},
            {"name": "sum", "class_name": "Add", "inputs": ["a", "b"]}
        ]),
    ));
    assert!(
        e.starts_with("layer 'sum' (Add)") && e.contains("[8, 8, 2]") && e.contains("[8, 8, 3]"),
        "{e}"
    );
    let e = error(spec(
        &[8, 8, 1],
        json!([
            {"name": "a", "class_name": "MaxPool2D"},
            {"name": "cat", "class_name": "Concatenate", "inputs": ["a", "input"]}
        ]),
    ));
    assert!(e.starts_with("layer 'cat' (Concatenate)"), "{e}");
    // Unknown layer types and keys, with what exists.
    let e = error(spec(&[8, 8, 1], json!([{"name": "l", "class_name": "Lambda"}])));
    assert!(e.contains("unknown layer type \"Lambda\"") && e.contains("SeparableConv2D"), "{e}");
    let e = error(spec(
        &[8, 8, 1],
        json!([{"name": "c", "class_name": "Conv2D", "config": {"filters": 2, "kernel_size": 1, "filtres": 3}}]),
    ));
    assert!(e.starts_with("layer 'c' (Conv2D): filtres unknown config key"), "{e}");
    // Absurd sizes, refused before any allocation.
    let e = error(spec(
        &[8, 8, 1],
        json!([{"name": "c", "class_name": "Conv2D", "config": {"filters": 1_000_000_000u64, "kernel_size": 1}}]),
    ));
    assert!(e.contains("filters must be an integer from 1 to"), "{e}");
    let e = error(spec(
        &[224, 224, 3],
        json!([{"class_name": "Flatten"}, {"name": "huge", "class_name": "Dense", "config": {"units": 100_000}}]),
    ));
    assert!(e.contains("more than 300000000 parameters") && e.contains("'huge'"), "{e}");
    let e = error(spec(&[1 << 15, 1 << 15, 3], json!([])));
    assert!(e.contains("input.shape"), "{e}");
    // A partial connection table stores its whole kernel: 65,536 filters reading one map each
    // count 65,536 parameters but store 2^32 values, so they are refused.
    let table: Vec<[u32; 1]> = vec![[0]; 65_536];
    let e = error(spec(
        &[1, 1, 65_536],
        json!([{"name": "wide", "class_name": "Conv2D",
        "config": {"filters": 65_536, "kernel_size": 1, "connections": table}}]),
    ));
    assert!(e.contains("parameters (stored values") && e.contains("'wide'"), "{e}");
    let e = error(spec(
        &[4, 4, 4],
        json!([{"name": "g", "class_name": "Conv2D",
        "config": {"filters": 2, "kernel_size": 1, "groups": 2, "connections": [[0], [1]]}}]),
    ));
    assert!(e.contains("cannot be combined with groups"), "{e}");
    // Duplicate names.
    let e = error(spec(
        &[8, 8, 1],
        json!([{"name": "a", "class_name": "Flatten"}, {"name": "a", "class_name": "Flatten"}]),
    ));
    assert!(e.contains("two layers are named 'a'"), "{e}");
}

#[test]
fn blocks_expand_with_arguments_and_repeat() {
    let m = model(json!({
        "format": "convlab-model", "version": 1, "input": {"shape": [8, 8, 4]},
        "blocks": {"unit": {
            "params": {"filters": null, "k": 3},
            "layers": [
                {"name": "conv", "class_name": "Conv2D", "config": {"filters": "$filters", "kernel_size": "$k", "padding": "same", "activation": "relu"}},
                {"name": "add", "class_name": "Add", "inputs": ["x", "conv"]}
            ]
        }},
        "layers": [
            {"name": "u", "block": "unit", "args": {"filters": 4}, "repeat": 3},
            {"class_name": "GlobalAvgPool2D"},
            {"class_name": "Dense", "config": {"units": 2}}
        ]
    }))
    .unwrap();
    let names: Vec<&str> = m.nodes().iter().map(|n| n.name.as_str()).collect();
    assert_eq!(
        names,
        [
            "input",
            "u_1/conv",
            "u_1/add",
            "u_2/conv",
            "u_2/add",
            "u_3/conv",
            "u_3/add",
            "global_avg_pool2d",
            "dense"
        ]
    );
    assert_eq!(m.nodes()[2].inputs, vec![0, 1]); // u_1/add reads the block input and its conv
    assert_eq!(m.nodes()[4].inputs, vec![2, 3]);
    assert_eq!(m.nodes()[3].block.as_deref(), Some("u_2"));
    assert_eq!(m.param_count(), 3 * (9 * 4 * 4 + 4) + 4 * 2 + 2);
    // A required argument that is missing, and one the block does not take.
    let base = |args: serde_json::Value| {
        json!({"format": "convlab-model", "version": 1, "input": {"shape": [8, 8, 4]},
               "blocks": {"unit": {"params": {"filters": null}, "layers": [{"name": "c", "class_name": "Conv2D", "config": {"filters": "$filters", "kernel_size": 1}}]}},
               "layers": [{"name": "u", "block": "unit", "args": args}]})
    };
    assert!(error(base(json!({}))).contains("needs the argument \"filters\""));
    assert!(error(base(json!({"filters": 2, "stride": 2}))).contains("has no parameter \"stride\""));
    // A block that instantiates itself stops at the nesting limit.
    let e = error(json!({"format": "convlab-model", "version": 1, "input": {"shape": [8, 8, 4]},
        "blocks": {"loop": {"layers": [{"name": "again", "block": "loop"}]}},
        "layers": [{"name": "l", "block": "loop"}]}));
    assert!(e.contains("nest more than"), "{e}");
}

#[test]
fn versions_and_formats_are_checked_first() {
    let e = Model::from_json(r#"{"format": "convlab-model", "version": 7, "input": {"shape": [1]}, "layers": [], "new_field": 1}"#).unwrap_err();
    assert!(e.message().contains("version 7 was written by a newer convlab"), "{e}");
    let e = Model::from_json(r#"{"class_name": "Sequential", "config": {}}"#).unwrap_err();
    assert!(e.message().contains("Keras"), "{e}");
    let e = Model::from_json(r#"{"format": "convlab-model", "version": 1, "input": {"shape": [4]}, "layers": [{"class_name": "Dense", "config": {"units": 2}, "repeat": "x"}]}"#).unwrap_err();
    assert!(e.message().contains("layers[0].repeat"), "{e}");
    assert!(Model::from_json("[[[[").unwrap_err().message().contains("not valid JSON"));
}
