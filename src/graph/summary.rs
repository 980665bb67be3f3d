//! A model's summary, like Keras's `model.summary()` and more: per layer the output shape,
//! parameters (trainable and not), multiply-adds and activation memory; totals; and an estimate
//! of training memory for a batch size and optimizer, with a warning and advice when it exceeds
//! what a browser tab can give.
//!
//! Training memory = weights + gradients (one per trainable parameter) + optimizer state
//! (momentum and RMSProp keep one slot per trainable parameter, Adam and Nadam two) + every
//! layer's output for the batch (kept for the backward pass) + the backward pass's working set
//! (two gradients of the largest layer output: the one flowing in and the one going out).
//! Sizes are bytes of f32; "MB" and "GB" are decimal, as the chapter counts them.

use serde::Serialize;

use super::model::{elements, Model};
use crate::error::{Error, Result};

/// wasm32's whole address space: the most memory the CPU path can ever hold.
pub const WASM32_BYTES: u64 = 4 << 30;

/// One row of the summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LayerSummary {
    /// Full name.
    pub name: String,
    /// Canonical class name.
    pub class_name: String,
    /// The top-level block instance it belongs to.
    pub block: Option<String>,
    /// Names of the layers it reads.
    pub inputs: Vec<String>,
    /// Output shape per instance.
    pub output_shape: Vec<usize>,
    /// Parameters (trainable and not).
    pub params: u64,
    /// Trainable parameters.
    pub trainable_params: u64,
    /// Multiply-adds per instance.
    pub macs: u64,
    /// Output bytes per instance.
    pub activation_bytes: u64,
    /// Output bytes for the batch.
    pub batch_activation_bytes: u64,
}

/// The model's totals.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Totals {
    /// Every parameter.
    pub params: u64,
    /// Trainable parameters.
    pub trainable_params: u64,
    /// Batch norm's moving statistics and other fixed values.
    pub non_trainable_params: u64,
    /// Multiply-adds per instance.
    pub macs: u64,
    /// Activation bytes per instance (every layer's output).
    pub activation_bytes: u64,
    /// Activation bytes for the batch.
    pub batch_activation_bytes: u64,
    /// Weight bytes.
    pub weight_bytes: u64,
    /// Gradient bytes.
    pub gradient_bytes: u64,
    /// Optimizer state bytes.
    pub optimizer_bytes: u64,
    /// The backward pass's working set.
    pub backward_bytes: u64,
    /// Everything training needs for the batch.
    pub training_bytes: u64,
}

/// A summary for a batch size and optimizer.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Summary {
    /// The model's name.
    pub name: String,
    /// Batch size the memory figures are for.
    pub batch: u64,
    /// Optimizer the training estimate is for.
    pub optimizer: String,
    /// One row per layer, in topological order.
    pub layers: Vec<LayerSummary>,
    /// Totals.
    pub totals: Totals,
    /// What exceeds what the browser can give, and what to change.
    pub warnings: Vec<String>,
}

/// Options of [`summarize`].
#[derive(Debug, Clone, PartialEq)]
pub struct SummaryOptions {
    /// Batch size (at least 1).
    pub batch: u64,
    /// The optimizer's name, shown in the training estimate.
    pub optimizer: String,
    /// Values of optimizer state per trainable parameter (`train::OptimizerKind::slots`:
    /// 0 for SGD, 1 for momentum and RMSProp, 2 for Adam and Nadam).
    pub optimizer_slots: u64,
    /// The WebGPU device's largest buffer, when one is in use.
    pub max_buffer_bytes: Option<u64>,
}

impl Default for SummaryOptions {
    fn default() -> Self {
        Self { batch: 32, optimizer: "adam".into(), optimizer_slots: 2, max_buffer_bytes: None }
    }
}

/// Summarises `model` for `options`.
pub fn summarize(model: &Model, options: SummaryOptions) -> Result<Summary> {
    let batch = options.batch;
    if batch == 0 || batch > 1 << 20 {
        return Err(Error::invalid(
            "summary",
            "batch",
            format!("must be from 1 to {}, got {batch}", 1 << 20),
        ));
    }
    let nodes = model.nodes();
    let layers: Vec<LayerSummary> = nodes
        .iter()
        .map(|n| {
            let bytes = 4 * elements(&n.output_shape);
            LayerSummary {
                name: n.name.clone(),
                class_name: n.layer.class_name().to_string(),
                block: n.block.clone(),
                inputs: n.inputs.iter().map(|&i| nodes[i].name.clone()).collect(),
                output_shape: n.output_shape.clone(),
                params: n.params.iter().map(|p| p.count).sum(),
                trainable_params: n.params.iter().filter(|p| p.trainable).map(|p| p.count).sum(),
                macs: n.macs,
                activation_bytes: bytes,
                batch_activation_bytes: bytes.saturating_mul(batch),
            }
        })
        .collect();
    let params = model.param_count();
    let trainable = model.trainable_param_count();
    let activation_bytes: u64 = layers.iter().map(|l| l.activation_bytes).sum();
    let largest = layers.iter().map(|l| l.activation_bytes).max().unwrap_or(0);
    let weight_bytes = 4 * params;
    let gradient_bytes = 4 * trainable;
    let optimizer_bytes = 4 * trainable * options.optimizer_slots;
    let batch_activation_bytes = activation_bytes.saturating_mul(batch);
    let backward_bytes = largest.saturating_mul(2).saturating_mul(batch);
    let fixed = weight_bytes + gradient_bytes + optimizer_bytes;
    let training_bytes =
        fixed.saturating_add(batch_activation_bytes).saturating_add(backward_bytes);
    let totals = Totals {
        params,
        trainable_params: trainable,
        non_trainable_params: params - trainable,
        macs: model.multiply_adds(),
        activation_bytes,
        batch_activation_bytes,
        weight_bytes,
        gradient_bytes,
        optimizer_bytes,
        backward_bytes,
        training_bytes,
    };
    let per_instance = activation_bytes + 2 * largest;
    let warnings = warnings(&totals, per_instance, largest, batch, options.max_buffer_bytes);
    Ok(Summary {
        name: model.spec().name.clone(),
        batch,
        optimizer: options.optimizer.clone(),
        layers,
        totals,
        warnings,
    })
}

fn warnings(
    t: &Totals,
    per_instance: u64,
    largest: u64,
    batch: u64,
    max_buffer_bytes: Option<u64>,
) -> Vec<String> {
    let mut out = Vec::new();
    let fixed = t.weight_bytes + t.gradient_bytes + t.optimizer_bytes;
    if t.training_bytes > WASM32_BYTES {
        let fits = WASM32_BYTES.saturating_sub(fixed) / per_instance.max(1);
        let advice = if fits >= 1 {
            format!("a batch of at most {fits} fits")
        } else {
            "not even a batch of 1 fits".to_string()
        };
        out.push(format!(
            "training with a batch of {batch} needs about {} but a browser tab's wasm32 memory is \
             at most 4 GiB ({advice}); use a smaller batch, larger strides or pooling early \
             (smaller feature maps), or fewer layers and filters",
            bytes(t.training_bytes)
        ));
    }
    if let Some(max) = max_buffer_bytes {
        if largest.saturating_mul(batch) > max {
            out.push(format!(
                "the largest layer output for a batch of {batch} is {}, over the WebGPU \
                 device's largest buffer ({}); use a batch of at most {}",
                bytes(largest.saturating_mul(batch)),
                bytes(max),
                (max / largest.max(1)).max(1)
            ));
        }
    }
    out
}

/// Bytes with a decimal unit and up to three significant digits: "12 MB", "1.2 GB".
pub fn bytes(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB"];
    let mut value = n as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < units.len() {
        value /= 1000.0;
        unit += 1;
    }
    let digits = if value >= 100.0 || unit == 0 {
        0
    } else if value >= 10.0 {
        1
    } else {
        2
    };
    let text = format!("{value:.digits$}");
    let text = if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    };
    format!("{text} {}", units[unit])
}

/// An integer with thousands separators: 1,413,834.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// The summary as text, laid out like Keras's.
pub fn summary_text(s: &Summary) -> String {
    let shape = |v: &[usize]| {
        let dims: Vec<String> = v.iter().map(usize::to_string).collect();
        format!("(None, {})", dims.join(", "))
    };
    let rows: Vec<[String; 5]> = s
        .layers
        .iter()
        .map(|l| {
            [
                format!("{} ({})", l.name, l.class_name),
                shape(&l.output_shape),
                grouped(l.params),
                grouped(l.macs),
                bytes(l.activation_bytes),
            ]
        })
        .collect();
    let header = ["Layer (type)", "Output shape", "Param #", "Mult-adds", "Output/inst"];
    let mut width = header.map(str::len);
    for r in &rows {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    let line = |cells: &[String]| {
        let mut out = String::new();
        for (i, (c, w)) in cells.iter().zip(width).enumerate() {
            if i == 0 {
                out.push_str(&format!("{c:<w$}"));
            } else {
                out.push_str(&format!("  {c:>w$}"));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let total_width = width.iter().sum::<usize>() + 2 * (width.len() - 1);
    let t = &s.totals;
    let mut out = format!("Model: \"{}\"\n", s.name);
    out.push_str(&line(&header.map(String::from)));
    out.push_str(&"=".repeat(total_width));
    out.push('\n');
    for r in &rows {
        out.push_str(&line(r));
    }
    out.push_str(&"=".repeat(total_width));
    out.push('\n');
    out.push_str(&format!("Total params: {} ({})\n", grouped(t.params), bytes(t.weight_bytes)));
    out.push_str(&format!("Trainable params: {}\n", grouped(t.trainable_params)));
    out.push_str(&format!("Non-trainable params: {}\n", grouped(t.non_trainable_params)));
    out.push_str(&format!("Multiply-adds per instance: {}\n", grouped(t.macs)));
    out.push_str(&format!(
        "Activation memory: {} per instance, {} for a batch of {}\n",
        bytes(t.activation_bytes),
        bytes(t.batch_activation_bytes),
        s.batch
    ));
    out.push_str(&format!(
        "Training memory (batch {}, {}): {} = weights {} + gradients {} + optimizer {} + \
         activations {} + backward {}\n",
        s.batch,
        s.optimizer,
        bytes(t.training_bytes),
        bytes(t.weight_bytes),
        bytes(t.gradient_bytes),
        bytes(t.optimizer_bytes),
        bytes(t.batch_activation_bytes),
        bytes(t.backward_bytes)
    ));
    for w in &s.warnings {
        out.push_str(&format!("Warning: {w}\n"));
    }
    out
}
