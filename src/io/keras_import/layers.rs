//! Conversion of one Keras layer's class and config into a convlab layer (see the parent
//! module's docs for the list).

use serde_json::{Map, Value};

use super::{fail, layer_fail, prefix, short};
use crate::error::{Error, Result};
use crate::nn::layer::{canonical_class, Layer, CLASS_NAMES, KERAS_IGNORED_KEYS};

/// Keras layers the import converts to convlab ones besides convlab's own class names.
const CONVERTED: &[&str] = &[
    "MaxPooling2D",
    "AveragePooling2D",
    "GlobalAveragePooling2D",
    "GlobalMaxPooling2D",
    "ReLU",
    "Softmax",
    "LeakyReLU",
    "ELU",
    "Identity",
    "Reshape (to one axis)",
    "Multiply (squeeze-and-excitation)",
];

/// Keras config keys that convlab does not read, with the values that do not change the
/// architecture (`None`: any value). Another value is refused.
const HARMLESS: &[(&str, Option<Value>)] = &[
    ("renorm", Some(Value::Bool(false))),
    ("renorm_clipping", Some(Value::Null)),
    ("renorm_momentum", None),
    ("virtual_batch_size", Some(Value::Null)),
    ("adjustment", Some(Value::Null)),
    ("fused", None),
    ("batch_input_shape", None),
    ("batch_shape", None),
];

/// What a Keras layer becomes.
pub(super) enum Kind {
    /// A convlab layer: canonical class and cleaned config; `flatten_to` is a Reshape's target
    /// size to check once shapes are known.
    Layer { class: &'static str, config: Map<String, Value>, flatten_to: Option<u64> },
    /// Dropped: its readers read its input.
    Identity,
    /// `Reshape((1, 1, C))`, only allowed as the second input of a `Multiply`.
    SeReshape,
    /// `Multiply`, only allowed as squeeze-and-excitation.
    Multiply,
}

/// Converts one Keras layer (not an InputLayer).
pub(super) fn convert(name: &str, class: &str, config: &Map<String, Value>) -> Result<Kind> {
    if matches!(class, "Sequential" | "Functional" | "Model") || config.contains_key("layers") {
        return Err(fail(format!(
            "layer '{}' is a nested model ({}); convlab imports one flat model: rebuild it \
             with the inner model's layers inline",
            short(name),
            short(class)
        )));
    }
    let activation = |a: &str| -> Kind {
        let mut c = Map::new();
        c.insert("activation".into(), Value::from(a));
        Kind::Layer { class: "Activation", config: c, flatten_to: None }
    };
    let num = |key: &str| config.get(key).and_then(Value::as_f64);
    let near = |x: Option<f64>, y: f64| x.is_some_and(|x| (x - y).abs() < 1e-6);
    Ok(match class {
        "ReLU" => {
            only_keys(name, class, config, &["max_value", "negative_slope", "threshold"])?;
            let plain = near(num("threshold").or(Some(0.0)), 0.0);
            let slope = num("negative_slope").unwrap_or(0.0);
            match config.get("max_value").filter(|v| !v.is_null()) {
                None if plain && slope == 0.0 => activation("relu"),
                None if plain && near(Some(slope), 0.3) => activation("leaky_relu"),
                Some(m) if plain && slope == 0.0 && near(m.as_f64(), 6.0) => activation("relu6"),
                _ => {
                    return Err(layer_fail(
                        name,
                        class,
                        "only max_value none (relu) or 6 (relu6), with threshold 0 and \
                         negative_slope 0, are convlab activations",
                    ))
                }
            }
        }
        "Softmax" => {
            only_keys(name, class, config, &["axis"])?;
            match config.get("axis") {
                None => {}
                Some(a) if matches!(a.as_i64(), Some(-1)) || a == &serde_json::json!([-1]) => {}
                Some(_) => {
                    return Err(layer_fail(name, class, "softmax runs over the last axis only"))
                }
            }
            activation("softmax")
        }
        "LeakyReLU" => {
            only_keys(name, class, config, &["negative_slope", "alpha"])?;
            let slope = num("negative_slope").or_else(|| num("alpha")).unwrap_or(0.3);
            if !near(Some(slope), 0.3) {
                return Err(layer_fail(
                    name,
                    class,
                    format!("negative_slope {slope}: convlab's leaky_relu has slope 0.3 only"),
                ));
            }
            activation("leaky_relu")
        }
        "ELU" => {
            only_keys(name, class, config, &["alpha"])?;
            if !near(num("alpha").or(Some(1.0)), 1.0) {
                return Err(layer_fail(name, class, "convlab's elu has alpha 1 only"));
            }
            activation("elu")
        }
        "Identity" => {
            only_keys(name, class, config, &[])?;
            Kind::Identity
        }
        "Multiply" => {
            only_keys(name, class, config, &[])?;
            Kind::Multiply
        }
        "Reshape" => {
            only_keys(name, class, config, &["target_shape"])?;
            let target = config.get("target_shape").and_then(Value::as_array);
            let dims: Option<Vec<i64>> = target.and_then(|t| t.iter().map(Value::as_i64).collect());
            match dims.as_deref() {
                Some([-1]) => {
                    Kind::Layer { class: "Flatten", config: Map::new(), flatten_to: None }
                }
                Some([n]) if *n > 0 => Kind::Layer {
                    class: "Flatten",
                    config: Map::new(),
                    flatten_to: Some(*n as u64),
                },
                Some([1, 1, c]) if *c > 0 => Kind::SeReshape,
                _ => {
                    return Err(layer_fail(
                        name,
                        class,
                        "only a reshape to one axis (a Flatten) or to (1, 1, C) feeding a \
                         Multiply (squeeze-and-excitation) can be imported",
                    ))
                }
            }
        }
        _ => {
            let canonical = match class {
                "ConvlabConv2D" => "Conv2D",
                other => canonical_class(other).ok_or_else(|| unknown(name, other))?,
            };
            if config.get("keepdims").is_some_and(|k| k == &Value::Bool(true)) {
                return Err(layer_fail(
                    name,
                    class,
                    "keepdims true: convlab's global pooling outputs [channels]; use keepdims \
                     false",
                ));
            }
            Kind::Layer {
                class: canonical,
                config: clean_config(name, canonical, config)?,
                flatten_to: None,
            }
        }
    })
}

fn unknown(name: &str, class: &str) -> Error {
    fail(format!(
        "layer '{}' has type {}, which convlab does not have (it has: {}; and from Keras: {})",
        short(name),
        short(class),
        CLASS_NAMES.join(", "),
        CONVERTED.join(", ")
    ))
}

/// Refuses keys besides `known` and Keras's ignored ones.
fn only_keys(name: &str, class: &str, config: &Map<String, Value>, known: &[&str]) -> Result<()> {
    match config
        .keys()
        .find(|k| !known.contains(&k.as_str()) && !KERAS_IGNORED_KEYS.contains(&k.as_str()))
    {
        Some(k) => Err(layer_fail(name, class, format!("unknown config key {}", short(k)))),
        None => Ok(()),
    }
}

/// Validates a convlab layer's config and keeps only the keys convlab reads whose values differ
/// from its defaults, and a Dropout's rate (pairs like `[3, 3]` written as `3`).
fn clean_config(
    name: &str,
    class: &str,
    config: &Map<String, Value>,
) -> Result<Map<String, Value>> {
    let mut config = config.clone();
    for (key, value) in HARMLESS {
        if let Some(v) = config.get(*key) {
            if value.as_ref().is_some_and(|h| h != v) {
                return Err(layer_fail(
                    name,
                    class,
                    format!("{key} {}: convlab does not have it", crate::nn::config::show(v)),
                ));
            }
            config.remove(*key);
        }
    }
    // Keras 2 may write a one-axis list.
    if let Some(Value::Array(a)) = config.get("axis") {
        if let [one] = a.as_slice() {
            let one = one.clone();
            config.insert("axis".into(), one);
        }
    }
    let layer = Layer::from_config(name, class, &config, KERAS_IGNORED_KEYS).map_err(prefix)?;
    let mut out: Map<String, Value> = config
        .into_iter()
        .filter(|(k, v)| !v.is_null() && !KERAS_IGNORED_KEYS.contains(&k.as_str()))
        .collect();
    for key in ["kernel_size", "strides", "pool_size", "dilation_rate"] {
        if let Some(Value::Array(pair)) = out.get(key) {
            if let [a, b] = pair.as_slice() {
                if a == b {
                    let a = a.clone();
                    out.insert(key.into(), a);
                }
            }
        }
    }
    let same = |m: &Map<String, Value>| {
        Layer::from_config(name, class, m, &[]).ok() == Some(layer.clone())
    };
    let keys: Vec<String> = out.keys().cloned().collect();
    // Keras requires a Dropout's rate: it stays even at convlab's default.
    for key in keys.into_iter().filter(|k| k != "rate") {
        let mut trial = out.clone();
        trial.remove(&key);
        if same(&trial) {
            out = trial;
        }
    }
    if !same(&out) {
        // Not expected: every step above keeps the layer equal.
        return Err(layer_fail(name, class, "config could not be converted"));
    }
    Ok(out)
}
