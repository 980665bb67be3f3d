//! What the layer-graph editor (www/js/editor/) needs beyond a `Model`: a spec's blocks
//! expanded into named layers with their configs (so an expanded block instance can be drawn,
//! inspected and unpacked into plain layers even while the model's shapes do not check), and
//! the layer types the core knows (the palette lists every one).

use wasm_bindgen::prelude::*;

use super::js_error;
use crate::graph::{expand, ModelSpec};

#[wasm_bindgen(typescript_custom_section)]
const TS_EDITOR: &str = r#"
/** One layer of a spec after block expansion: full name (`instance/layer` inside blocks), config with the block's arguments substituted, the full names it reads, and the top-level block instance it belongs to (a repeated instance's copies are `name_1` ... `name_n`). */
export interface ExpandedLayer { name: string; className: string; config: Record<string, unknown>; inputs: string[]; block: string | null; }
/** A spec's layers after block expansion and the full name of its output layer. */
export interface ExpandedSpec { layers: ExpandedLayer[]; output: string; }
"#;

/// The spec (object or JSON text) with its blocks expanded: `{layers, output}`. Throws the
/// core's message for a spec that does not parse or expand (shapes are not checked here).
#[wasm_bindgen(js_name = expandSpec, unchecked_return_type = "ExpandedSpec")]
pub fn expand_spec(
    #[wasm_bindgen(unchecked_param_type = "ModelSpec | string")] spec: JsValue,
) -> Result<JsValue, JsError> {
    let text = match spec.as_string() {
        Some(text) => text,
        None => js_sys::JSON::stringify(&spec)
            .ok()
            .and_then(|s| s.as_string())
            .filter(|_| spec.is_object())
            .ok_or_else(|| {
                JsError::new("expandSpec: argument 'spec': expected an object or JSON text")
            })?,
    };
    let spec = ModelSpec::from_json(&text).map_err(js_error)?;
    let expanded = expand::expand(&spec).map_err(js_error)?;
    let layers: Vec<serde_json::Value> = expanded
        .layers
        .iter()
        .map(|l| {
            serde_json::json!({
                "name": l.name, "className": l.class_name, "config": l.config,
                "inputs": l.inputs, "block": l.block,
            })
        })
        .collect();
    let out = serde_json::json!({ "layers": layers, "output": expanded.output });
    js_sys::JSON::parse(&out.to_string())
        .map_err(|_| JsError::new("expandSpec: could not hand JSON to JavaScript"))
}

/// Every layer type the core knows (canonical Keras class names), in palette order.
#[wasm_bindgen(js_name = layerTypes)]
pub fn layer_types() -> Vec<String> {
    crate::nn::layer::CLASS_NAMES.iter().map(|s| s.to_string()).collect()
}
