//! The layers a model is made of: each one's typed config (read from Keras's config keys),
//! output shape, parameters and multiply-adds.
//!
//! Shapes here are per instance, without the batch axis: `[height, width, channels]` for
//! feature maps, `[features]` after flattening.

use serde_json::{Map, Value};

use super::config::{layer_error, Config};
use crate::error::Result;
use crate::ops::activation::Activation;
use crate::ops::norm::LrnParams;
use crate::tensor::{output_extent, Padding, WindowName};

/// Config keys Keras writes that convlab accepts and ignores on import (initializers,
/// regularizers, constraints, dtype, ...): they do not change the architecture.
pub const KERAS_IGNORED_KEYS: &[&str] = &[
    "name",
    "trainable",
    "dtype",
    "data_format",
    "kernel_initializer",
    "bias_initializer",
    "kernel_regularizer",
    "bias_regularizer",
    "activity_regularizer",
    "kernel_constraint",
    "bias_constraint",
    "depthwise_initializer",
    "pointwise_initializer",
    "depthwise_regularizer",
    "pointwise_regularizer",
    "depthwise_constraint",
    "pointwise_constraint",
    "beta_initializer",
    "gamma_initializer",
    "moving_mean_initializer",
    "moving_variance_initializer",
    "beta_regularizer",
    "gamma_regularizer",
    "beta_constraint",
    "gamma_constraint",
    "noise_shape",
    "lora_rank",
    "lora_alpha",
    "synchronized",
    "axis",
    "keepdims",
    "quantization_config",
];

/// A convolution layer's config (Keras `Conv2D`, plus convlab's `connections`).
#[derive(Debug, Clone, PartialEq)]
pub struct Conv2dConfig {
    /// Number of filters (output feature maps).
    pub filters: usize,
    /// Kernel `[height, width]`.
    pub kernel_size: [usize; 2],
    /// Strides.
    pub strides: [usize; 2],
    /// Padding.
    pub padding: Padding,
    /// Dilation rate.
    pub dilation_rate: [usize; 2],
    /// Channel groups.
    pub groups: usize,
    /// Whether each filter has a bias.
    pub use_bias: bool,
    /// Fused activation.
    pub activation: Activation,
    /// LeNet-5's partial connection table: for each filter, the input maps it reads.
    pub connections: Option<Vec<Vec<usize>>>,
}

/// A depthwise (or, with `filters`, separable) convolution's config.
#[derive(Debug, Clone, PartialEq)]
pub struct DepthwiseConfig {
    /// Pointwise filters (separable only).
    pub filters: Option<usize>,
    /// Depthwise kernel `[height, width]`.
    pub kernel_size: [usize; 2],
    /// Strides of the depthwise step.
    pub strides: [usize; 2],
    /// Padding of the depthwise step.
    pub padding: Padding,
    /// Output maps per input channel of the depthwise step.
    pub depth_multiplier: usize,
    /// Dilation rate.
    pub dilation_rate: [usize; 2],
    /// Bias on the output.
    pub use_bias: bool,
    /// Fused activation.
    pub activation: Activation,
}

/// A pooling layer's config.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PoolConfig {
    /// Window.
    pub pool_size: [usize; 2],
    /// Strides (Keras default: the pool size).
    pub strides: [usize; 2],
    /// Padding.
    pub padding: Padding,
}

/// Every layer convlab has.
#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    /// The model's input.
    Input,
    /// 2-D convolution (with groups and LeNet-5's partial connections).
    Conv2D(Conv2dConfig),
    /// Depthwise convolution (`filters` is `None`).
    DepthwiseConv2D(DepthwiseConfig),
    /// Depthwise then 1x1 pointwise convolution, as in Xception.
    SeparableConv2D(DepthwiseConfig),
    /// Max pooling.
    MaxPool2D(PoolConfig),
    /// Average pooling (padding excluded from the mean).
    AvgPool2D(PoolConfig),
    /// Global average pooling `[h, w, c] -> [c]`.
    GlobalAvgPool2D,
    /// Global max pooling `[h, w, c] -> [c]`.
    GlobalMaxPool2D,
    /// Fully connected layer on the last axis.
    Dense {
        /// Output units.
        units: usize,
        /// Bias.
        use_bias: bool,
        /// Fused activation.
        activation: Activation,
    },
    /// Dropout (identity at inference).
    Dropout {
        /// Fraction dropped in training.
        rate: f32,
        /// Mask seed.
        seed: Option<u64>,
    },
    /// Batch normalization over the last axis.
    BatchNormalization {
        /// Moving-average momentum.
        momentum: f32,
        /// Variance epsilon.
        epsilon: f32,
        /// Learn a shift (beta).
        center: bool,
        /// Learn a scale (gamma).
        scale: bool,
    },
    /// Flatten to `[features]`.
    Flatten,
    /// Element-wise sum of same-shaped inputs (residual connections).
    Add,
    /// Concatenation along depth (inception modules).
    Concatenate,
    /// An activation function.
    Activation(Activation),
    /// Zero padding `[[top, bottom], [left, right]]`.
    ZeroPadding2D([[usize; 2]; 2]),
    /// Local response normalization (the chapter's equation 14-2).
    Lrn(LrnParams),
    /// Max pooling across depth (`pool_size` channels into one).
    DepthMaxPool2D {
        /// Channels per window.
        pool_size: usize,
    },
    /// LeNet-5's subsampling: average pooling times a trainable coefficient plus a bias.
    LeNetSubsampling {
        /// Pooling window and stride.
        pool_size: [usize; 2],
        /// Activation after it.
        activation: Activation,
    },
    /// Squeeze-and-excitation scale: feature maps times a per-channel vector.
    SeScale,
    /// LeNet-5's radial-basis output: squared distance to each unit's centre.
    Rbf {
        /// Output units.
        units: usize,
    },
}

/// A parameter tensor of a layer, named as Keras names its weights.
#[derive(Debug, Clone, PartialEq)]
pub struct Param {
    /// "kernel", "bias", "gamma", "moving_mean", ...
    pub name: &'static str,
    /// Shape of the stored tensor.
    pub shape: Vec<usize>,
    /// Trained by gradient descent (false for batch norm's moving statistics).
    pub trainable: bool,
    /// Free parameters in it (less than the element count for a partial connection table,
    /// whose missing connections are fixed zeros).
    pub count: u64,
}

/// Every canonical class name, in the order the palette shows them.
pub const CLASS_NAMES: &[&str] = &[
    "Conv2D",
    "DepthwiseConv2D",
    "SeparableConv2D",
    "MaxPool2D",
    "AvgPool2D",
    "GlobalAvgPool2D",
    "GlobalMaxPool2D",
    "Dense",
    "Dropout",
    "BatchNormalization",
    "Flatten",
    "Add",
    "Concatenate",
    "Activation",
    "ZeroPadding2D",
    "LRN",
    "DepthMaxPool2D",
    "LeNetSubsampling",
    "SEScale",
    "RBF",
];

/// The canonical name of a class, accepting Keras's long names (MaxPooling2D, ...).
pub fn canonical_class(class: &str) -> Option<&'static str> {
    let alias = match class {
        "MaxPooling2D" => "MaxPool2D",
        "AveragePooling2D" => "AvgPool2D",
        "GlobalAveragePooling2D" => "GlobalAvgPool2D",
        "GlobalMaxPooling2D" => "GlobalMaxPool2D",
        "Convolution2D" => "Conv2D",
        "SeparableConvolution2D" => "SeparableConv2D",
        "LocalResponseNormalization" => "LRN",
        other => other,
    };
    CLASS_NAMES.iter().copied().find(|c| *c == alias)
}

impl Layer {
    /// Reads layer `name` of Keras class `class` from its config. `ignored` are keys accepted
    /// and ignored (Keras's initializers on import); any other unknown key is an error.
    pub fn from_config(
        name: &str,
        class: &str,
        config: &Map<String, Value>,
        ignored: &[&str],
    ) -> Result<Self> {
        let canonical = canonical_class(class).ok_or_else(|| {
            layer_error(
                name,
                class,
                "",
                format!(
                    "unknown layer type {class:?}; the layer types are {}",
                    CLASS_NAMES.join(", ")
                ),
            )
        })?;
        let mut c = Config::new(name, canonical, config);
        let layer = match canonical {
            "Conv2D" => Self::Conv2D(Conv2dConfig {
                filters: c.positive("filters")?,
                kernel_size: c
                    .pair("kernel_size")?
                    .ok_or_else(|| c.error("kernel_size", "is required"))?,
                strides: c.pair_or("strides", [1, 1])?,
                padding: c.padding(Padding::Valid)?,
                dilation_rate: c.pair_or("dilation_rate", [1, 1])?,
                groups: c.positive_or("groups", 1)?,
                use_bias: c.boolean("use_bias", true)?,
                activation: c.activation()?,
                connections: c.connections()?,
            }),
            "DepthwiseConv2D" | "SeparableConv2D" => {
                let filters = if canonical == "SeparableConv2D" {
                    Some(c.positive("filters")?)
                } else {
                    None
                };
                let cfg = DepthwiseConfig {
                    filters,
                    kernel_size: c
                        .pair("kernel_size")?
                        .ok_or_else(|| c.error("kernel_size", "is required"))?,
                    strides: c.pair_or("strides", [1, 1])?,
                    padding: c.padding(Padding::Valid)?,
                    depth_multiplier: c.positive_or("depth_multiplier", 1)?,
                    dilation_rate: c.pair_or("dilation_rate", [1, 1])?,
                    use_bias: c.boolean("use_bias", true)?,
                    activation: c.activation()?,
                };
                if filters.is_some() {
                    Self::SeparableConv2D(cfg)
                } else {
                    Self::DepthwiseConv2D(cfg)
                }
            }
            "MaxPool2D" | "AvgPool2D" => {
                let pool_size = c.pair_or("pool_size", [2, 2])?;
                let cfg = PoolConfig {
                    pool_size,
                    strides: c.pair_or("strides", pool_size)?,
                    padding: c.padding(Padding::Valid)?,
                };
                if canonical == "MaxPool2D" {
                    Self::MaxPool2D(cfg)
                } else {
                    Self::AvgPool2D(cfg)
                }
            }
            "GlobalAvgPool2D" => Self::GlobalAvgPool2D,
            "GlobalMaxPool2D" => Self::GlobalMaxPool2D,
            "Dense" => Self::Dense {
                units: c.positive("units")?,
                use_bias: c.boolean("use_bias", true)?,
                activation: c.activation()?,
            },
            "Dropout" => Self::Dropout {
                rate: c.number("rate", 0.5, 0.0..=0.99)? as f32,
                seed: c.seed("seed")?,
            },
            "BatchNormalization" => Self::BatchNormalization {
                momentum: c.number("momentum", 0.99, 0.0..=1.0)? as f32,
                epsilon: c.number("epsilon", 1e-3, 1e-12..=1.0)? as f32,
                center: c.boolean("center", true)?,
                scale: c.boolean("scale", true)?,
            },
            "Flatten" => Self::Flatten,
            "Add" => Self::Add,
            "Concatenate" => Self::Concatenate,
            "Activation" => {
                if !config.contains_key("activation") {
                    return Err(c.error("activation", "is required"));
                }
                Self::Activation(c.activation()?)
            }
            "ZeroPadding2D" => Self::ZeroPadding2D(c.zero_padding()?),
            "LRN" => Self::Lrn(LrnParams {
                // depth_radius 0 (a window of one channel) is legal in TensorFlow.
                depth_radius: c
                    .number("depth_radius", 5.0, 0.0..=1024.0)
                    .and_then(|r| whole(&c, "depth_radius", r))?,
                bias: c.number("bias", 1.0, 1e-12..=1e6)? as f32,
                alpha: c.number("alpha", 1.0, 0.0..=1e6)? as f32,
                beta: c.number("beta", 0.5, 0.0..=1e3)? as f32,
            }),
            "DepthMaxPool2D" => Self::DepthMaxPool2D { pool_size: c.positive("pool_size")? },
            "LeNetSubsampling" => Self::LeNetSubsampling {
                pool_size: c.pair_or("pool_size", [2, 2])?,
                activation: c.activation()?,
            },
            "SEScale" => Self::SeScale,
            "RBF" => Self::Rbf { units: c.positive("units")? },
            _ => unreachable!("every canonical class is handled"),
        };
        if matches!(canonical, "Concatenate")
            && config.get("axis").is_some_and(|a| !is_last_axis(a))
        {
            return Err(layer_error(name, canonical, "axis", "must be -1 or 3 (depth, NHWC)"));
        }
        if matches!(canonical, "BatchNormalization")
            && config.get("axis").is_some_and(|a| !is_last_axis(a))
        {
            return Err(layer_error(name, canonical, "axis", "must be -1 or 3 (channels, NHWC)"));
        }
        if config.get("data_format").and_then(Value::as_str).is_some_and(|f| f != "channels_last") {
            return Err(layer_error(
                name,
                canonical,
                "data_format",
                "must be \"channels_last\" (convlab is NHWC)",
            ));
        }
        c.finish(ignored)?;
        Ok(layer)
    }

    /// The canonical class name.
    pub fn class_name(&self) -> &'static str {
        match self {
            Self::Input => "InputLayer",
            Self::Conv2D(_) => "Conv2D",
            Self::DepthwiseConv2D(_) => "DepthwiseConv2D",
            Self::SeparableConv2D(_) => "SeparableConv2D",
            Self::MaxPool2D(_) => "MaxPool2D",
            Self::AvgPool2D(_) => "AvgPool2D",
            Self::GlobalAvgPool2D => "GlobalAvgPool2D",
            Self::GlobalMaxPool2D => "GlobalMaxPool2D",
            Self::Dense { .. } => "Dense",
            Self::Dropout { .. } => "Dropout",
            Self::BatchNormalization { .. } => "BatchNormalization",
            Self::Flatten => "Flatten",
            Self::Add => "Add",
            Self::Concatenate => "Concatenate",
            Self::Activation(_) => "Activation",
            Self::ZeroPadding2D(_) => "ZeroPadding2D",
            Self::Lrn(_) => "LRN",
            Self::DepthMaxPool2D { .. } => "DepthMaxPool2D",
            Self::LeNetSubsampling { .. } => "LeNetSubsampling",
            Self::SeScale => "SEScale",
            Self::Rbf { .. } => "RBF",
        }
    }

    /// How many inputs the layer reads: `(min, max)`.
    pub fn arity(&self) -> (usize, usize) {
        match self {
            Self::Input => (0, 0),
            Self::Add | Self::Concatenate => (2, 64),
            Self::SeScale => (2, 2),
            _ => (1, 1),
        }
    }
}

fn whole(c: &Config<'_>, key: &str, x: f64) -> Result<usize> {
    if x.fract() != 0.0 {
        return Err(c.error(key, format!("must be a whole number, got {x}")));
    }
    Ok(x as usize)
}

fn is_last_axis(v: &Value) -> bool {
    matches!(v.as_i64(), Some(-1) | Some(3))
}

/// Output shape of `layer` (named `name`) reading `inputs` (per-instance shapes).
pub fn output_shape(name: &str, layer: &Layer, inputs: &[&[usize]]) -> Result<Vec<usize>> {
    let class = layer.class_name();
    let err = |key: &str, detail: String| layer_error(name, class, key, detail);
    let maps = |i: usize| -> Result<[usize; 3]> {
        match inputs[i] {
            [h, w, c] => Ok([*h, *w, *c]),
            other => Err(err(
                "",
                format!(
                    "needs feature maps [height, width, channels] but its input has shape {other:?}"
                ),
            )),
        }
    };
    let window = |arg: &'static str, noun: &'static str| WindowName { arg, noun };
    let extents = |name_key: &'static str,
                   noun: &'static str,
                   hw: [usize; 2],
                   k: [usize; 2],
                   s: [usize; 2],
                   d: [usize; 2],
                   p: Padding|
     -> Result<[usize; 2]> {
        let (ph, pw) = p.per_axis();
        let op = format!("layer '{name}' ({class})");
        let h = output_extent(&op, window(name_key, noun), "height", hw[0], k[0], s[0], d[0], ph)?;
        let w = output_extent(&op, window(name_key, noun), "width", hw[1], k[1], s[1], d[1], pw)?;
        Ok([h.output, w.output])
    };
    Ok(match layer {
        Layer::Input => inputs.first().map(|s| s.to_vec()).unwrap_or_default(),
        Layer::Conv2D(c) => {
            let [h, w, ch] = maps(0)?;
            if c.groups > 1 && (ch % c.groups != 0 || c.filters % c.groups != 0) {
                return Err(err(
                    "groups",
                    format!(
                        "{} must divide both the input channels ({ch}) and the filters ({})",
                        c.groups, c.filters
                    ),
                ));
            }
            if let Some(table) = &c.connections {
                if c.groups > 1 {
                    return Err(err("connections", "cannot be combined with groups (the table already says which maps each filter reads)".into()));
                }
                check_connections(name, table, c.filters, ch)?;
            }
            let [oh, ow] = extents(
                "kernel_size",
                "kernel",
                [h, w],
                c.kernel_size,
                c.strides,
                c.dilation_rate,
                c.padding,
            )?;
            vec![oh, ow, c.filters]
        }
        Layer::DepthwiseConv2D(c) | Layer::SeparableConv2D(c) => {
            let [h, w, ch] = maps(0)?;
            let [oh, ow] = extents(
                "kernel_size",
                "kernel",
                [h, w],
                c.kernel_size,
                c.strides,
                c.dilation_rate,
                c.padding,
            )?;
            vec![oh, ow, c.filters.unwrap_or(ch.saturating_mul(c.depth_multiplier))]
        }
        Layer::MaxPool2D(p) | Layer::AvgPool2D(p) => {
            let [h, w, ch] = maps(0)?;
            let [oh, ow] = extents(
                "pool_size",
                "pool window",
                [h, w],
                p.pool_size,
                p.strides,
                [1, 1],
                p.padding,
            )?;
            vec![oh, ow, ch]
        }
        Layer::LeNetSubsampling { pool_size, .. } => {
            let [h, w, ch] = maps(0)?;
            let [oh, ow] = extents(
                "pool_size",
                "pool window",
                [h, w],
                *pool_size,
                *pool_size,
                [1, 1],
                Padding::Valid,
            )?;
            vec![oh, ow, ch]
        }
        Layer::GlobalAvgPool2D | Layer::GlobalMaxPool2D => vec![maps(0)?[2]],
        Layer::Dense { units, .. } => {
            let mut s = inputs[0].to_vec();
            if let Some(last) = s.last_mut() {
                *last = *units;
            }
            s
        }
        Layer::Rbf { units } => match inputs[0] {
            [_] => vec![*units],
            other => return Err(err("", format!("needs a flat input [features], got {other:?}"))),
        },
        Layer::Flatten => vec![inputs[0].iter().product()],
        Layer::Dropout { .. }
        | Layer::BatchNormalization { .. }
        | Layer::Activation(_)
        | Layer::Lrn(_) => inputs[0].to_vec(),
        Layer::ZeroPadding2D(p) => {
            let [h, w, ch] = maps(0)?;
            vec![h + p[0][0] + p[0][1], w + p[1][0] + p[1][1], ch]
        }
        Layer::DepthMaxPool2D { pool_size } => {
            let [h, w, ch] = maps(0)?;
            if ch % pool_size != 0 {
                return Err(err(
                    "pool_size",
                    format!("{pool_size} does not divide the input's {ch} channels"),
                ));
            }
            vec![h, w, ch / pool_size]
        }
        Layer::Add => {
            for s in &inputs[1..] {
                if *s != inputs[0] {
                    return Err(err(
                        "",
                        format!("inputs must have the same shape, got {:?} and {:?}", inputs[0], s),
                    ));
                }
            }
            inputs[0].to_vec()
        }
        Layer::Concatenate => {
            let first = inputs[0];
            let mut depth = 0usize;
            for s in inputs {
                if s.len() != first.len()
                    || s[..s.len().saturating_sub(1)] != first[..first.len().saturating_sub(1)]
                {
                    return Err(err(
                        "",
                        format!(
                            "inputs must agree on every axis but depth, got {first:?} and {s:?}"
                        ),
                    ));
                }
                depth = depth.saturating_add(*s.last().unwrap_or(&0));
            }
            let mut out = first.to_vec();
            if let Some(last) = out.last_mut() {
                *last = depth;
            }
            out
        }
        Layer::SeScale => {
            let [_, _, ch] = maps(0)?;
            if inputs[1] != [ch] {
                return Err(err(
                    "",
                    format!(
                        "the second input must be one weight per channel [{ch}], got {:?}",
                        inputs[1]
                    ),
                ));
            }
            inputs[0].to_vec()
        }
    })
}

fn check_connections(
    name: &str,
    table: &[Vec<usize>],
    filters: usize,
    channels: usize,
) -> Result<()> {
    let err = |d: String| layer_error(name, "Conv2D", "connections", d);
    if table.len() != filters {
        return Err(err(format!("has {} rows, one per filter is needed ({filters})", table.len())));
    }
    // Which row last listed each input map: duplicates are found in one pass per row.
    let mut last_row = vec![usize::MAX; channels];
    for (k, row) in table.iter().enumerate() {
        if row.is_empty() {
            return Err(err(format!("filter {k} reads no input map")));
        }
        for &c in row {
            if c >= channels {
                return Err(err(format!(
                    "filter {k} reads input map {c}, but the input has {channels} maps"
                )));
            }
            if last_row[c] == k {
                return Err(err(format!("filter {k} lists input map {c} twice")));
            }
            last_row[c] = k;
        }
    }
    Ok(())
}

/// The parameter tensors of `layer` given its first input's shape.
pub fn params(layer: &Layer, input: &[usize]) -> Vec<Param> {
    let channels = input.last().copied().unwrap_or(0);
    let p = |name, shape: Vec<usize>, trainable| {
        let count = shape.iter().fold(1u64, |a, &d| a.saturating_mul(d as u64));
        Param { name, shape, trainable, count }
    };
    let mut out = Vec::new();
    match layer {
        Layer::Conv2D(c) => {
            let [kh, kw] = c.kernel_size;
            let mut kernel = p("kernel", vec![kh, kw, channels / c.groups, c.filters], true);
            if let Some(table) = &c.connections {
                let connected: u64 = table.iter().map(|r| r.len() as u64).sum();
                kernel.count = (kh as u64 * kw as u64).saturating_mul(connected);
            }
            out.push(kernel);
            if c.use_bias {
                out.push(p("bias", vec![c.filters], true));
            }
        }
        Layer::DepthwiseConv2D(c) | Layer::SeparableConv2D(c) => {
            let [kh, kw] = c.kernel_size;
            let mid = channels.saturating_mul(c.depth_multiplier);
            out.push(p("depthwise_kernel", vec![kh, kw, channels, c.depth_multiplier], true));
            if let Some(f) = c.filters {
                out.push(p("pointwise_kernel", vec![1, 1, mid, f], true));
            }
            if c.use_bias {
                out.push(p("bias", vec![c.filters.unwrap_or(mid)], true));
            }
        }
        Layer::Dense { units, use_bias, .. } => {
            out.push(p("kernel", vec![channels, *units], true));
            if *use_bias {
                out.push(p("bias", vec![*units], true));
            }
        }
        Layer::BatchNormalization { center, scale, .. } => {
            if *scale {
                out.push(p("gamma", vec![channels], true));
            }
            if *center {
                out.push(p("beta", vec![channels], true));
            }
            out.push(p("moving_mean", vec![channels], false));
            out.push(p("moving_variance", vec![channels], false));
        }
        Layer::LeNetSubsampling { .. } => {
            out.push(p("coefficient", vec![channels], true));
            out.push(p("bias", vec![channels], true));
        }
        Layer::Rbf { units } => out.push(p("centers", vec![channels, *units], true)),
        _ => {}
    }
    out
}

/// Multiply-adds per instance: those of convolutions and dense layers, the convention of
/// published counts (VGG-16's 15.47 G). Other layers count 0.
pub fn multiply_adds(layer: &Layer, input: &[usize], output: &[usize]) -> u64 {
    let mul = |a: u64, b: u64| a.saturating_mul(b);
    let cells =
        output.iter().take(output.len().saturating_sub(1)).fold(1u64, |a, &d| mul(a, d as u64));
    let channels = input.last().copied().unwrap_or(0) as u64;
    match layer {
        Layer::Conv2D(c) => {
            let taps = mul(c.kernel_size[0] as u64, c.kernel_size[1] as u64);
            let per_cell = match &c.connections {
                Some(t) => mul(taps, t.iter().map(|r| r.len() as u64).sum::<u64>()),
                None => mul(mul(taps, channels / c.groups as u64), c.filters as u64),
            };
            mul(cells, per_cell)
        }
        Layer::DepthwiseConv2D(c) | Layer::SeparableConv2D(c) => {
            let taps = mul(c.kernel_size[0] as u64, c.kernel_size[1] as u64);
            let mid = mul(channels, c.depth_multiplier as u64);
            let pointwise = c.filters.map_or(0, |f| mul(mid, f as u64));
            mul(cells, mul(taps, mid).saturating_add(pointwise))
        }
        Layer::Dense { units, .. } => mul(mul(cells, channels), *units as u64),
        Layer::Rbf { units } => mul(channels, *units as u64),
        _ => 0,
    }
}
