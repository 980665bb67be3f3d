//! Import of a Keras `model.to_json()` architecture into a spec.
//!
//! Reads Sequential and Functional models in Keras 3's format (`inbound_nodes` as
//! `{"args": [keras tensors], "kwargs": {}}`) and in Keras 2's (`[[["name", 0, 0, {}]]]`). The
//! architecture only: weights, initializers, regularizers, constraints and dtypes are dropped
//! (see [`KERAS_IGNORED_KEYS`](crate::nn::layer::KERAS_IGNORED_KEYS)), and the config of each
//! layer is cut to the keys convlab reads that differ from convlab's defaults, so the spec reads
//! like a hand-written one.
//!
//! Besides convlab's own layer types (and Keras's long names such as `MaxPooling2D`), these
//! Keras layers are converted:
//! - `ReLU` (no `max_value`: relu; `max_value` 6: relu6), `Softmax` (last axis), `LeakyReLU`
//!   (slope 0.3, convlab's only one) and `ELU` (alpha 1) become `Activation` layers;
//! - `Identity` is dropped;
//! - `Reshape` to one axis becomes `Flatten` (the size is checked);
//! - `Multiply([x, Reshape((1, 1, C))(s)])`, squeeze-and-excitation as Keras writes it, becomes
//!   `SEScale` reading `[x, s]`;
//! - the custom layers that [`crate::io::keras_export`] writes come back: `ConvlabConv2D` is a
//!   `Conv2D`; `LRN`, `DepthMaxPool2D`, `LeNetSubsampling` and `RBF` carry convlab's names and
//!   config keys.
//!
//! Everything else is refused with a message naming the layer: `Lambda` and other custom layers,
//! nested models, a layer called more than once (shared weights), several inputs or outputs,
//! inputs with unknown (`None`) sizes. A layer frozen in Keras (`trainable: false`) imports as
//! trainable: convlab has no per-layer switch.

use std::collections::HashMap;

use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::graph::expand::MAX_LAYERS;
use crate::graph::spec::{EntrySpec, ModelSpec, MAX_SPEC_BYTES};
use crate::graph::Model;

mod layers;

use layers::{convert, Kind};

/// Call keyword arguments that do not change the architecture.
const IGNORED_KWARGS: &[&str] = &["training", "mask"];

/// Parses a Keras `model.to_json()` text into a convlab spec that [`Model::from_spec`] accepts.
/// Errors start with "Keras import:" and name the layer.
pub fn from_keras_json(text: &str) -> Result<ModelSpec> {
    if text.len() > MAX_SPEC_BYTES {
        return Err(Error::spec_limit(format!(
            "Keras import: {} bytes of JSON, over the limit of {MAX_SPEC_BYTES}",
            text.len()
        )));
    }
    let value: Value =
        serde_json::from_str(text).map_err(|e| fail(format!("not valid JSON: {e}")))?;
    let top = value.as_object().ok_or_else(|| fail("expected a JSON object (model.to_json())"))?;
    let class = top.get("class_name").and_then(Value::as_str).unwrap_or("");
    let config = top.get("config");
    let (name, raws, input, output) = match class {
        "Sequential" => sequential(config)?,
        "Functional" | "Model" => functional(config)?,
        "" => {
            return Err(fail(
                "no \"class_name\" at the top: expected the text of a Keras model.to_json()",
            ))
        }
        other => {
            return Err(fail(format!(
                "the top-level class is {}; expected a Sequential or Functional model",
                short(other)
            )))
        }
    };
    let spec = build_spec(&name, raws, input, output)?;
    Ok(spec)
}

/// The model's input: its name and per-instance shape.
struct Input {
    name: String,
    shape: Vec<u64>,
}

/// One Keras layer after conversion, with the names of the layers it reads.
struct Raw {
    name: String,
    class: String,
    kind: Kind,
    inputs: Vec<String>,
}

type Parsed = (String, Vec<Raw>, Input, Option<String>);

fn sequential(config: Option<&Value>) -> Result<Parsed> {
    // Keras 2.2 wrote the layer list itself as the config.
    let (name, layers) = match config {
        Some(Value::Array(layers)) => (String::new(), layers),
        Some(Value::Object(c)) => (
            c.get("name").and_then(Value::as_str).unwrap_or("").to_string(),
            c.get("layers")
                .and_then(Value::as_array)
                .ok_or_else(|| fail("the Sequential model's config has no \"layers\" list"))?,
        ),
        _ => return Err(fail("the Sequential model has no config")),
    };
    check_count(layers)?;
    let mut input: Option<Input> = None;
    let mut raws = Vec::with_capacity(layers.len());
    let mut prev: Option<String> = None;
    for (i, layer) in layers.iter().enumerate() {
        let (class, cfg) = class_and_config(layer, i)?;
        let lname = layer_name(layer, cfg, i)?;
        if class == "InputLayer" {
            if input.is_some() || !raws.is_empty() {
                return Err(fail(format!(
                    "layer '{}' is an InputLayer after the first layer; a Sequential model has \
                     one input",
                    short(&lname)
                )));
            }
            input = Some(Input { shape: input_shape(&lname, cfg)?, name: lname.clone() });
            prev = Some(lname);
            continue;
        }
        if input.is_none() {
            // Keras 2 (and Keras 3 built from input_shape=) keeps the shape on the first layer.
            let shape = batch_shape(cfg)
                .or_else(|| layer.get("build_config").and_then(|b| b.get("input_shape")))
                .or_else(|| config.and_then(|c| c.get("build_input_shape")))
                .filter(|s| !s.is_null())
                .ok_or_else(|| {
                    fail(
                        "the Sequential model has no input shape (no InputLayer and no \
                         batch_input_shape): build it with keras.Input(shape) first",
                    )
                })?;
            input = Some(Input { name: "input".into(), shape: shape_of(&lname, shape)? });
            prev = Some("input".into());
        }
        let kind = convert(&lname, class, cfg)?;
        let inputs = prev.iter().cloned().collect();
        prev = Some(lname.clone());
        raws.push(Raw { name: lname, class: class.to_string(), kind, inputs });
    }
    let input = input.ok_or_else(|| fail("the Sequential model has no layers"))?;
    Ok((name, raws, input, None))
}

fn functional(config: Option<&Value>) -> Result<Parsed> {
    let c = config.and_then(Value::as_object).ok_or_else(|| fail("the model has no config"))?;
    let name = c.get("name").and_then(Value::as_str).unwrap_or("").to_string();
    let layers = c
        .get("layers")
        .and_then(Value::as_array)
        .ok_or_else(|| fail("the model's config has no \"layers\" list"))?;
    check_count(layers)?;
    let mut input: Option<Input> = None;
    let mut raws = Vec::with_capacity(layers.len());
    for (i, layer) in layers.iter().enumerate() {
        let (class, cfg) = class_and_config(layer, i)?;
        let lname = match layer.get("name").and_then(Value::as_str) {
            Some(n) => clean_name(n, i)?,
            None => layer_name(layer, cfg, i)?,
        };
        if class == "InputLayer" {
            if let Some(first) = &input {
                return Err(fail(format!(
                    "the model has several inputs ('{}' and '{}'); convlab models have one",
                    short(&first.name),
                    short(&lname)
                )));
            }
            input = Some(Input { shape: input_shape(&lname, cfg)?, name: lname });
            continue;
        }
        let kind = convert(&lname, class, cfg)?;
        let inputs = inbound(&lname, layer.get("inbound_nodes"))?;
        raws.push(Raw { name: lname, class: class.to_string(), kind, inputs });
    }
    let input = input.ok_or_else(|| fail("the model has no InputLayer"))?;
    let outputs = tensor_refs(c.get("output_layers"))?;
    let output = match outputs.as_slice() {
        [] => None,
        [one] => Some(clean_name(one, 0)?),
        _ => {
            return Err(fail(format!(
                "the model has {} outputs; convlab models have one",
                outputs.len()
            )))
        }
    };
    Ok((name, raws, input, output))
}

/// Refuses more layers than a convlab model may have, before any work per layer.
fn check_count(layers: &[Value]) -> Result<()> {
    if layers.len() > MAX_LAYERS + 1 {
        return Err(Error::spec_limit(format!(
            "Keras import: {} layers, over convlab's limit of {MAX_LAYERS}",
            layers.len()
        )));
    }
    Ok(())
}

/// `class_name` and `config` of the `i`-th layer.
fn class_and_config(layer: &Value, i: usize) -> Result<(&str, &Map<String, Value>)> {
    let class = layer
        .get("class_name")
        .and_then(Value::as_str)
        .ok_or_else(|| fail(format!("layer {} has no \"class_name\"", i + 1)))?;
    static EMPTY: std::sync::OnceLock<Map<String, Value>> = std::sync::OnceLock::new();
    let config = match layer.get("config") {
        Some(Value::Object(c)) => c,
        None | Some(Value::Null) => EMPTY.get_or_init(Map::new),
        Some(_) => {
            return Err(fail(format!(
                "layer {} ({}) has a config that is not an object",
                i + 1,
                short(class)
            )))
        }
    };
    Ok((class, config))
}

fn layer_name(layer: &Value, config: &Map<String, Value>, i: usize) -> Result<String> {
    match config.get("name").or_else(|| layer.get("name")).and_then(Value::as_str) {
        Some(n) => clean_name(n, i),
        None => Err(fail(format!("layer {} has no name", i + 1))),
    }
}

/// A Keras name as a convlab name: `/` (Keras 2 scopes) becomes `__`, as in the export.
fn clean_name(name: &str, i: usize) -> Result<String> {
    if name.is_empty() {
        return Err(fail(format!("layer {} has an empty name", i + 1)));
    }
    Ok(name.replace('/', "__"))
}

fn batch_shape(config: &Map<String, Value>) -> Option<&Value> {
    ["batch_shape", "batch_input_shape"]
        .iter()
        .find_map(|k| config.get(*k).filter(|v| !v.is_null()))
}

fn input_shape(name: &str, config: &Map<String, Value>) -> Result<Vec<u64>> {
    let shape = batch_shape(config).ok_or_else(|| {
        fail(format!("input '{}' has no batch_shape (or batch_input_shape)", short(name)))
    })?;
    shape_of(name, shape)
}

/// A Keras batch shape `[null, h, w, c]` (or `[null, n]`) without the batch axis.
fn shape_of(name: &str, shape: &Value) -> Result<Vec<u64>> {
    let bad = |why: &str| {
        fail(format!("input '{}' has shape {}: {why}", short(name), crate::nn::config::show(shape)))
    };
    let dims = shape.as_array().ok_or_else(|| bad("expected a list"))?;
    let Some((batch, rest)) = dims.split_first() else { return Err(bad("expected a list")) };
    if !(batch.is_null() || batch.is_u64()) {
        return Err(bad("the first axis must be the batch"));
    }
    if !matches!(rest.len(), 1 | 3) {
        return Err(bad("convlab takes [height, width, channels] or [features] per instance"));
    }
    rest.iter()
        .map(|d| {
            d.as_u64().filter(|&d| d > 0).ok_or_else(|| {
                bad("every size but the batch must be a fixed positive integer (not None)")
            })
        })
        .collect()
}

/// The layers a Keras layer reads, from its `inbound_nodes` (Keras 3 or Keras 2 form).
fn inbound(name: &str, nodes: Option<&Value>) -> Result<Vec<String>> {
    let nodes = match nodes {
        Some(Value::Array(n)) => n,
        _ => return Err(fail(format!("layer '{}' has no inbound_nodes", short(name)))),
    };
    let node = match nodes.as_slice() {
        [one] => one,
        [] => return Err(fail(format!("layer '{}' reads nothing", short(name)))),
        _ => {
            return Err(fail(format!(
                "layer '{}' is called {} times (shared weights); convlab layers are called once",
                short(name),
                nodes.len()
            )))
        }
    };
    let mut refs = Vec::new();
    match node {
        // Keras 3: {"args": [...], "kwargs": {...}}.
        Value::Object(call) => {
            if let Some(kwargs) = call.get("kwargs").and_then(Value::as_object) {
                check_kwargs(name, kwargs)?;
            }
            collect_tensors(name, call.get("args").unwrap_or(&Value::Null), &mut refs, 0)?;
        }
        // Keras 2: [["name", node, tensor, {kwargs}], ...].
        Value::Array(items) => {
            for item in items {
                let parts = item.as_array().ok_or_else(|| bad_ref(name))?;
                if let Some(kwargs) = parts.get(3).and_then(Value::as_object) {
                    check_kwargs(name, kwargs)?;
                }
                refs.push(history(name, parts)?);
            }
        }
        _ => return Err(bad_ref(name)),
    }
    if refs.is_empty() {
        return Err(fail(format!("layer '{}' reads nothing", short(name))));
    }
    refs.iter().enumerate().map(|(i, r)| clean_name(r, i)).collect()
}

fn check_kwargs(name: &str, kwargs: &Map<String, Value>) -> Result<()> {
    match kwargs.keys().find(|k| !IGNORED_KWARGS.contains(&k.as_str())) {
        Some(k) => Err(fail(format!(
            "layer '{}' is called with the argument {}, which convlab does not support",
            short(name),
            short(k)
        ))),
        None => Ok(()),
    }
}

fn collect_tensors(name: &str, v: &Value, out: &mut Vec<String>, depth: usize) -> Result<()> {
    match v {
        Value::Array(items) if depth < 4 => {
            for i in items {
                collect_tensors(name, i, out, depth + 1)?;
            }
            Ok(())
        }
        Value::Object(t)
            if t.get("class_name").and_then(Value::as_str) == Some("__keras_tensor__") =>
        {
            let parts = t
                .get("config")
                .and_then(|c| c.get("keras_history"))
                .and_then(Value::as_array)
                .ok_or_else(|| bad_ref(name))?;
            out.push(history(name, parts)?);
            Ok(())
        }
        _ => Err(fail(format!(
            "layer '{}' is called with an argument that is not a tensor ({}); convlab layers \
             read tensors only",
            short(name),
            crate::nn::config::show(v)
        ))),
    }
}

/// `[layer, node_index, tensor_index, ...]`: the layer's name; only first calls and first
/// outputs exist in convlab.
fn history(name: &str, parts: &[Value]) -> Result<String> {
    let source = parts.first().and_then(Value::as_str).ok_or_else(|| bad_ref(name))?;
    let node = parts.get(1).and_then(Value::as_u64);
    let tensor = parts.get(2).and_then(Value::as_u64);
    if node != Some(0) || tensor != Some(0) {
        return Err(fail(format!(
            "layer '{}' reads output {} of call {} of '{}'; convlab layers are called once and \
             have one output",
            short(name),
            tensor.map_or("?".into(), |t| t.to_string()),
            node.map_or("?".into(), |n| n.to_string()),
            short(source)
        )));
    }
    Ok(source.to_string())
}

fn bad_ref(name: &str) -> Error {
    fail(format!("layer '{}' has a malformed inbound_nodes entry", short(name)))
}

/// `input_layers` / `output_layers`: `["name", 0, 0]` (Keras 3, one) or a list of those.
fn tensor_refs(v: Option<&Value>) -> Result<Vec<String>> {
    let Some(Value::Array(items)) = v else { return Ok(Vec::new()) };
    if items.first().is_some_and(Value::is_string) {
        return Ok(vec![history("output", items)?]);
    }
    items
        .iter()
        .map(|i| history("output", i.as_array().map(Vec::as_slice).unwrap_or(&[])))
        .collect()
}

/// Resolves dropped layers and squeeze-and-excitation, and writes the spec.
fn build_spec(
    name: &str,
    raws: Vec<Raw>,
    input: Input,
    output: Option<String>,
) -> Result<ModelSpec> {
    let index: HashMap<&str, usize> =
        raws.iter().enumerate().map(|(i, r)| (r.name.as_str(), i)).collect();
    // Follows Identity layers back to the layer that produced the tensor.
    let resolve = |start: &str| -> Result<(String, bool)> {
        let mut at = start;
        for _ in 0..=raws.len() {
            match index.get(at).map(|&i| &raws[i]) {
                Some(Raw { kind: Kind::Identity, inputs, .. }) => match inputs.as_slice() {
                    [one] => at = one,
                    _ => {
                        return Err(fail(format!(
                            "layer '{}' (Identity) reads one input",
                            short(at)
                        )))
                    }
                },
                Some(Raw { kind: Kind::SeReshape, .. }) => return Ok((at.to_string(), true)),
                _ => return Ok((at.to_string(), false)),
            }
        }
        Err(fail(format!("layers reading '{}' form a cycle", short(start))))
    };
    let mut entries = Vec::with_capacity(raws.len());
    let mut checks = Vec::new();
    let mut prev = input.name.clone();
    for raw in &raws {
        let mut inputs = Vec::with_capacity(raw.inputs.len());
        let mut reshaped = Vec::new();
        for i in &raw.inputs {
            let (source, is_se) = resolve(i)?;
            if is_se {
                reshaped.push(inputs.len());
            }
            inputs.push(source);
        }
        let (class, config) = match &raw.kind {
            Kind::Identity | Kind::SeReshape => continue,
            Kind::Multiply => {
                if inputs.len() != 2 || reshaped.len() != 1 {
                    return Err(layer_fail(
                        &raw.name,
                        &raw.class,
                        "only Multiply([x, Reshape((1, 1, C))(s)]) (squeeze-and-excitation) can \
                         be imported",
                    ));
                }
                let r = reshaped[0];
                let scale = resolve_through(&raws, &index, &inputs[r], &resolve)?;
                let maps = inputs[1 - r].clone();
                inputs = vec![maps, scale];
                ("SEScale", Map::new())
            }
            Kind::Layer { class, config, flatten_to } => {
                if let Some(&r) = reshaped.first() {
                    return Err(layer_fail(
                        &raw.name,
                        &raw.class,
                        format!(
                            "reads '{}', a Reshape to (1, 1, C); that is imported only as the \
                             second input of a Multiply (squeeze-and-excitation)",
                            short(&inputs[r])
                        ),
                    ));
                }
                if let Some(n) = flatten_to {
                    checks.push((raw.name.clone(), *n));
                }
                (*class, config.clone())
            }
        };
        let mut entry = EntrySpec::layer(&raw.name, class, Value::Object(config));
        if inputs != [prev.as_str()] {
            entry.inputs = Some(inputs);
        }
        prev = raw.name.clone();
        entries.push(entry);
    }
    let mut spec = ModelSpec::new(name, &input.shape, entries);
    spec.input.name = input.name;
    if let Some(out) = output {
        let (out, is_se) = resolve(&out)?;
        if is_se {
            return Err(fail(format!("the output '{}' is a Reshape to (1, 1, C)", short(&out))));
        }
        if out != prev {
            spec.output = Some(out);
        }
    }
    let model = Model::from_spec(spec.clone()).map_err(prefix)?;
    for (layer, n) in checks {
        let got = model.node_index(&layer).map(|i| &model.nodes()[i].output_shape);
        if got.is_some_and(|s| s.as_slice() != [n as usize]) {
            return Err(layer_fail(
                &layer,
                "Reshape",
                format!("reshapes to ({n},) but its input has {:?} values", got),
            ));
        }
    }
    Ok(spec)
}

/// The tensor a `Reshape((1, 1, C))` reads.
fn resolve_through(
    raws: &[Raw],
    index: &HashMap<&str, usize>,
    reshape: &str,
    resolve: &dyn Fn(&str) -> Result<(String, bool)>,
) -> Result<String> {
    let raw = index.get(reshape).map(|&i| &raws[i]).ok_or_else(|| bad_ref(reshape))?;
    match raw.inputs.as_slice() {
        [one] => match resolve(one)? {
            (s, false) => Ok(s),
            (s, true) => Err(layer_fail(
                reshape,
                "Reshape",
                format!("reads '{}', another Reshape", short(&s)),
            )),
        },
        _ => Err(layer_fail(reshape, "Reshape", "reads one input")),
    }
}

fn fail(detail: impl std::fmt::Display) -> Error {
    Error::spec(format!("Keras import: {detail}"))
}

fn layer_fail(name: &str, class: &str, detail: impl std::fmt::Display) -> Error {
    fail(format!("layer '{}' ({}): {detail}", short(name), short(class)))
}

/// Prefixes an error from the spec checks, keeping its kind.
fn prefix(e: Error) -> Error {
    let message = format!("Keras import: {}", e.message());
    match e.kind() {
        ErrorKind::ResourceLimit => Error::spec_limit(message),
        _ => Error::spec(message),
    }
}

/// A name from the input shown in a message, cut short if long.
fn short(s: &str) -> String {
    if s.chars().count() <= 60 {
        return s.to_string();
    }
    let mut t: String = s.chars().take(57).collect();
    t.push_str("...");
    t
}
