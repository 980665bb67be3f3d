//! Import of Keras Python code: the script that builds a model, read without running Python.
//!
//! [`from_keras_code`] evaluates the part of Python that model-building code uses and writes
//! what it built as the `model.to_json()` text Keras would write, which
//! [`from_keras_json`](crate::io::keras_import::from_keras_json) then converts (so every layer
//! rule, default and message of that import applies). It reads:
//! - `import` / `from ... import` (any module path: `keras`, `tensorflow.keras`, `tf.keras`;
//!   a layer is any capitalised name reached through a `layers` module or imported by name);
//! - `keras.Sequential([...])`, `model.add(...)`, `model.build(shape)`, the Functional API
//!   (`x = keras.Input(shape=...)`, `y = layers.Conv2D(...)(x)`, `keras.Model(inputs, outputs)`),
//!   `layers.add / concatenate / multiply([...])`, `input_shape=` on a first layer;
//! - layer arguments by position or keyword (Keras 3's parameter order), numbers, strings,
//!   tuples, lists, dicts, arithmetic on numbers, activations given as functions
//!   (`activation=keras.activations.relu`); initializers, regularizers and constraints are not
//!   evaluated (they do not change the architecture);
//! - `functools.partial` (the chapter's `DefaultConv2D = partial(keras.layers.Conv2D, ...)`),
//!   functions with parameters and defaults (`def residual_block(x, filters, strides=1):`),
//!   `return`, `if __name__ == "__main__":`, and the custom layers convlab's own export writes
//!   (their class bodies are skipped: convlab knows them by name).
//!
//! Calls that build nothing (`model.compile(...)`, `print(...)`, `tf.random.set_seed(...)`,
//! `keras.optimizers.Adam(...)`) are skipped; using their result as a layer's input or argument
//! is an error. Loops, conditions other than `__main__`, lambdas, comprehensions, operators on
//! tensors and other custom layer classes are refused with their line named. The model is the
//! one assigned to `model` at the end, else the last one built, else the one that the last
//! function without required parameters returns.

use std::collections::{HashMap, HashSet};

use serde_json::{json, Map, Value};

use crate::error::{Error, Result};
use crate::graph::spec::{ModelSpec, MAX_SPEC_BYTES};
use crate::io::keras_import::from_keras_json;
use crate::nn::layer::KERAS_IGNORED_KEYS;

mod eval;
mod lex;

/// Parses Keras Python code that builds a model into a convlab spec. Errors start with
/// "Keras code:" and name the line.
pub fn from_keras_code(text: &str) -> Result<ModelSpec> {
    if text.len() > MAX_SPEC_BYTES {
        return Err(Error::spec_limit(format!(
            "Keras code: {} bytes, over the limit of {MAX_SPEC_BYTES}",
            text.len()
        )));
    }
    let tokens = lex::lex(text).map_err(|m| Error::spec(format!("Keras code: {m}")))?;
    let mut ev = eval::Eval::new(tokens);
    ev.run()?;
    let (json, lines) = ev.model_json()?;
    from_keras_json(&json.to_string()).map_err(|e| locate(e, &lines))
}

/// Adds the line of the layer an import error names (`layer 'conv2d_3' ...`).
fn locate(e: Error, lines: &HashMap<String, usize>) -> Error {
    let msg = e.message().to_string();
    let found = msg.split('\'').skip(1).step_by(2).find_map(|name| lines.get(name));
    match found {
        Some(line) => {
            Error::spec(format!("{} (line {line} of the code)", msg.trim_end_matches('.')))
        }
        None => e,
    }
}

/// Keras 3's parameter order for positional arguments, per class.
fn positional(class: &str) -> Option<&'static [&'static str]> {
    const CONV: &[&str] = &[
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "data_format",
        "dilation_rate",
        "groups",
        "activation",
        "use_bias",
    ];
    const SEPARABLE: &[&str] = &[
        "filters",
        "kernel_size",
        "strides",
        "padding",
        "data_format",
        "dilation_rate",
        "depth_multiplier",
        "activation",
        "use_bias",
    ];
    const DEPTHWISE: &[&str] = &[
        "kernel_size",
        "strides",
        "padding",
        "depth_multiplier",
        "data_format",
        "dilation_rate",
        "activation",
        "use_bias",
    ];
    const POOL: &[&str] = &["pool_size", "strides", "padding", "data_format"];
    const GLOBAL: &[&str] = &["data_format", "keepdims"];
    Some(match class {
        "Conv2D" | "Convolution2D" | "ConvlabConv2D" => CONV,
        "SeparableConv2D" | "SeparableConvolution2D" => SEPARABLE,
        "DepthwiseConv2D" => DEPTHWISE,
        "Dense" => &["units", "activation", "use_bias"],
        "MaxPooling2D" | "MaxPool2D" | "AveragePooling2D" | "AvgPool2D" => POOL,
        "GlobalAveragePooling2D" | "GlobalAvgPool2D" | "GlobalMaxPooling2D" | "GlobalMaxPool2D" => {
            GLOBAL
        }
        "Dropout" => &["rate", "noise_shape", "seed"],
        "Activation" => &["activation"],
        "BatchNormalization" => &["axis", "momentum", "epsilon", "center", "scale"],
        "Flatten" => &["data_format"],
        "ZeroPadding2D" => &["padding", "data_format"],
        "Concatenate" => &["axis"],
        "Reshape" => &["target_shape"],
        "ReLU" => &["max_value", "negative_slope", "threshold"],
        "LeakyReLU" => &["negative_slope"],
        "ELU" => &["alpha"],
        "Softmax" => &["axis"],
        "Add" | "Multiply" | "Identity" => &[],
        "LRN" => &["depth_radius", "bias", "alpha", "beta"],
        "DepthMaxPool2D" => &["pool_size"],
        "LeNetSubsampling" => &["pool_size", "activation"],
        "RBF" => &["units"],
        "InputLayer" => &["shape", "batch_size", "dtype", "sparse", "batch_shape", "name"],
        _ => return None,
    })
}

/// Custom layer classes that convlab's export writes into its scripts (known by name).
const EXPORT_CLASSES: &[&str] =
    &["LRN", "DepthMaxPool2D", "LeNetSubsampling", "RBF", "ConvlabConv2D"];

/// Keyword arguments a layer call may take that do not change the architecture.
const SKIPPED_KEYS: &[&str] = &["batch_size"];

/// Is `key` one whose value is never evaluated (initializers, regularizers, ...)?
fn skipped_key(key: &str) -> bool {
    !matches!(key, "name" | "data_format")
        && (KERAS_IGNORED_KEYS.contains(&key) || SKIPPED_KEYS.contains(&key))
}

/// The Keras class behind an alias (`MaxPool2D` is `MaxPooling2D`): what Keras names and
/// writes.
fn keras_class(class: &str) -> &str {
    match class {
        "MaxPool2D" => "MaxPooling2D",
        "AvgPool2D" => "AveragePooling2D",
        "GlobalAvgPool2D" => "GlobalAveragePooling2D",
        "GlobalMaxPool2D" => "GlobalMaxPooling2D",
        "Convolution2D" => "Conv2D",
        "SeparableConvolution2D" => "SeparableConv2D",
        other => other,
    }
}

/// Keras's automatic layer name prefix: `MaxPooling2D` -> `max_pooling2d`, `ReLU` -> `re_lu`.
fn snake(class: &str) -> String {
    let c: Vec<char> = class.chars().collect();
    // First `(.)([A-Z][a-z]+)` -> `\1_\2`, then `([a-z])([A-Z])` -> `\1_\2` (Keras's two rules).
    let mut first = String::new();
    for i in 0..c.len() {
        if i > 0 && c[i].is_ascii_uppercase() && c.get(i + 1).is_some_and(char::is_ascii_lowercase)
        {
            first.push('_');
        }
        first.push(c[i]);
    }
    let f: Vec<char> = first.chars().collect();
    let mut out = String::new();
    for i in 0..f.len() {
        if i > 0 && f[i].is_ascii_uppercase() && f[i - 1].is_ascii_lowercase() {
            out.push('_');
        }
        out.push(f[i].to_ascii_lowercase());
    }
    out.replace("__", "_")
}

/// Unique names: explicit ones as given, automatic ones Keras-style (`conv2d`, `conv2d_1`).
#[derive(Default)]
struct Names {
    used: HashSet<String>,
    counters: HashMap<String, usize>,
}

impl Names {
    fn auto(&mut self, prefix: &str) -> String {
        loop {
            let k = self.counters.entry(prefix.to_string()).or_insert(0);
            let name = if *k == 0 { prefix.to_string() } else { format!("{prefix}_{k}") };
            *k += 1;
            if self.used.insert(name.clone()) {
                return name;
            }
        }
    }

    fn explicit(&mut self, name: &str, line: usize) -> Result<String> {
        if !self.used.insert(name.to_string()) {
            return Err(code_fail(line, format!("the name '{name}' is given to two layers")));
        }
        Ok(name.to_string())
    }
}

fn code_fail(line: usize, detail: impl std::fmt::Display) -> Error {
    Error::spec(format!("Keras code: line {line}: {detail}"))
}

/// The JSON of a model the code built: a Sequential in Keras 3's form, a Functional in
/// Keras 2's (`inbound_nodes` as `[[["name", 0, 0, {}]]]`).
fn sequential_json(
    name: &str,
    input: (&str, &[Value]),
    layers: &[(String, String, Map<String, Value>)],
) -> Value {
    let mut list = vec![json!({
        "class_name": "InputLayer",
        "config": {"batch_shape": batch(input.1), "name": input.0},
    })];
    for (lname, class, config) in layers {
        let mut c = config.clone();
        c.insert("name".into(), Value::from(lname.as_str()));
        list.push(json!({"class_name": class, "config": c}));
    }
    json!({"class_name": "Sequential", "config": {"name": name, "layers": list}})
}

fn batch(shape: &[Value]) -> Value {
    let mut b = vec![Value::Null];
    b.extend(shape.iter().cloned());
    Value::Array(b)
}
