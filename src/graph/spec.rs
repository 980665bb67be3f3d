//! The model specification: convlab's versioned JSON format for a model (documented in the
//! README, "Model format").
//!
//! ```json
//! {
//!   "format": "convlab-model", "version": 1, "name": "tiny",
//!   "input": {"shape": [28, 28, 1]},
//!   "blocks": {
//!     "residual_unit": {
//!       "params": {"filters": null, "strides": 1},
//!       "layers": [
//!         {"name": "conv", "class_name": "Conv2D",
//!          "config": {"filters": "$filters", "kernel_size": 3, "strides": "$strides", "padding": "same"}},
//!         {"name": "add", "class_name": "Add", "inputs": ["x", "conv"]}
//!       ]
//!     }
//!   },
//!   "layers": [
//!     {"name": "conv1", "class_name": "Conv2D", "config": {"filters": 8, "kernel_size": 3}},
//!     {"name": "unit", "block": "residual_unit", "args": {"filters": 8}, "repeat": 2},
//!     {"class_name": "Flatten"},
//!     {"class_name": "Dense", "config": {"units": 10, "activation": "softmax"}}
//!   ]
//! }
//! ```
//!
//! - A layer is Keras's `{class_name, config}` plus a `name` and the names of its `inputs`.
//!   Without `inputs` a layer reads the previous entry (a chain); without `name` it gets Keras's
//!   kind of default name (`conv2d`, `conv2d_1`, ...).
//! - A block is defined once under `blocks` and instantiated with `block` + `args`; inside it,
//!   a string `"$param"` anywhere in a config stands for the argument's value, and the block's
//!   `inputs` (default `["x"]`) name what the instance reads. `repeat: n` chains n copies,
//!   named `name_1` .. `name_n`. Layers of an instance are named `instance/layer`.
//! - The model's output is `output`, or else the last entry.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// The `format` value of every spec.
pub const FORMAT: &str = "convlab-model";
/// The version this build writes; it reads every version up to this one.
pub const VERSION: u32 = 1;
/// The largest spec text accepted (JSON bytes), before anything is parsed.
pub const MAX_SPEC_BYTES: usize = 4 << 20;

/// A whole model: input, block definitions, layers (see the module docs).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ModelSpec {
    /// Always [`FORMAT`].
    pub format: String,
    /// The format version the spec was written in.
    pub version: u32,
    /// A name for people (the zoo's model name, or the user's).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// The input layer.
    pub input: InputSpec,
    /// Blocks defined once and instantiated by name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub blocks: BTreeMap<String, BlockSpec>,
    /// The layers and block instances, in order.
    pub layers: Vec<EntrySpec>,
    /// The output layer's name (default: the last entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// The input layer: a name and the per-instance shape `[height, width, channels]` (or
/// `[features]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputSpec {
    /// Name other layers use to read the input (default "input").
    #[serde(default = "default_input_name", skip_serializing_if = "is_default_input_name")]
    pub name: String,
    /// Shape of one instance, without the batch axis.
    pub shape: Vec<u64>,
}

fn default_input_name() -> String {
    "input".to_string()
}

fn is_default_input_name(name: &str) -> bool {
    name == "input"
}

/// A block: layers defined once, instantiated with arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BlockSpec {
    /// Parameter names and defaults (`null`: the argument is required).
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub params: Map<String, Value>,
    /// Names the block's layers use for what the instance reads (default `["x"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<String>>,
    /// The block's layers (and nested block instances).
    pub layers: Vec<EntrySpec>,
    /// The layer whose output is the block's (default: the last).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<String>,
}

/// One entry of a layer list: a layer (`class_name` + `config`) or a block instance
/// (`block` + `args` + `repeat`).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntrySpec {
    /// The layer's (or instance's) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A layer: its Keras class name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub class_name: Option<String>,
    /// A layer: its Keras config keys.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config: Option<Map<String, Value>>,
    /// A block instance: the block's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<String>,
    /// A block instance: its arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Map<String, Value>>,
    /// A block instance: how many chained copies (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repeat: Option<u32>,
    /// Names of the layers this one reads (default: the previous entry).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inputs: Option<Vec<String>>,
}

impl EntrySpec {
    /// A layer entry.
    pub fn layer(name: &str, class_name: &str, config: Value) -> Self {
        Self {
            name: Some(name.to_string()),
            class_name: Some(class_name.to_string()),
            config: match config {
                Value::Object(m) if !m.is_empty() => Some(m),
                _ => None,
            },
            ..Self::default()
        }
    }

    /// A block instance entry.
    pub fn block(name: &str, block: &str, args: Value) -> Self {
        Self {
            name: Some(name.to_string()),
            block: Some(block.to_string()),
            args: match args {
                Value::Object(m) if !m.is_empty() => Some(m),
                _ => None,
            },
            ..Self::default()
        }
    }

    /// This entry reading `inputs`.
    pub fn reading(mut self, inputs: &[&str]) -> Self {
        self.inputs = Some(inputs.iter().map(|s| s.to_string()).collect());
        self
    }

    /// This block instance repeated `n` times.
    pub fn repeated(mut self, n: u32) -> Self {
        self.repeat = Some(n);
        self
    }
}

impl ModelSpec {
    /// A spec of the current version with `input_shape` and `layers`.
    pub fn new(name: &str, input_shape: &[u64], layers: Vec<EntrySpec>) -> Self {
        Self {
            format: FORMAT.to_string(),
            version: VERSION,
            name: name.to_string(),
            input: InputSpec { name: default_input_name(), shape: input_shape.to_vec() },
            blocks: BTreeMap::new(),
            layers,
            output: None,
        }
    }

    /// Parses a spec from JSON text, checking the format and version first so that a spec from
    /// a newer convlab says so instead of failing on a field it does not know.
    pub fn from_json(text: &str) -> Result<Self> {
        if text.len() > MAX_SPEC_BYTES {
            return Err(Error::spec_limit(format!(
                "model spec: {} bytes of JSON, over the limit of {MAX_SPEC_BYTES}",
                text.len()
            )));
        }
        let value: Value = serde_json::from_str(text)
            .map_err(|e| Error::spec(format!("model spec: not valid JSON: {e}")))?;
        Self::from_value(value)
    }

    /// Parses a spec from a JSON value (see [`ModelSpec::from_json`]).
    pub fn from_value(value: Value) -> Result<Self> {
        let Value::Object(map) = &value else {
            return Err(Error::spec("model spec: expected a JSON object"));
        };
        match map.get("format") {
            Some(Value::String(f)) if f == FORMAT => {}
            Some(other) => {
                return Err(Error::spec(format!(
                    "model spec: format is {other}, expected \"{FORMAT}\""
                )))
            }
            None => {
                let hint = if map.contains_key("class_name") {
                    " (this looks like a Keras model.to_json(); import it as Keras JSON)"
                } else {
                    ""
                };
                return Err(Error::spec(format!(
                    "model spec: the \"format\": \"{FORMAT}\" field is missing{hint}"
                )));
            }
        }
        match map.get("version").and_then(Value::as_u64) {
            Some(v) if v >= 1 && v <= VERSION as u64 => {}
            Some(v) if v > VERSION as u64 => {
                return Err(Error::spec(format!(
                    "model spec: version {v} was written by a newer convlab; this one reads \
                     versions 1 to {VERSION}"
                )))
            }
            _ => {
                return Err(Error::spec(format!(
                    "model spec: version must be an integer from 1 to {VERSION}, got {}",
                    map.get("version").map(Value::to_string).unwrap_or_else(|| "nothing".into())
                )))
            }
        }
        serde_path_to_error::deserialize(value).map_err(|e| {
            let path = e.path().to_string();
            Error::spec(format!("model spec: {path}: {}", e.into_inner()))
        })
    }

    /// The spec as compact JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }

    /// The spec as indented JSON (for files people read).
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}
