//! The model specification: validation, shape inference, blocks, the summary, and the
//! messages a malformed spec gets.

use convlab::graph::{summarize, summary_text, Model, Optimizer, SummaryOptions};
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
        SummaryOptions { batch: 100, optimizer: Optimizer::Sgd, max_buffer_bytes: None },
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
