//! Weights files: a model's parameters in the safetensors format (Hugging Face's
//! `safetensors` crate and Python package), which numpy, PyTorch and JAX read without running
//! code from the file (`safetensors.numpy.load_file`).
//!
//! A file is an 8-byte little-endian header length, a JSON header and the raw tensor data. Each
//! parameter is one tensor named `<layer name>/<param name>` (`res2_1/conv1/kernel`,
//! `bn1/moving_variance`), of dtype `F32` (little-endian) and the shape of
//! [`crate::nn::Param::shape`]: Keras's shapes (`[kh, kw, in, out]` kernels, `[in, out]` dense
//! kernels), so that the arrays go to Keras's `layer.set_weights` as they are (but for a partial
//! connection table, whose Keras layer stores only the connected taps; see
//! [`crate::io::keras_export`]). scripts/golden/keras_forward.py loads such a file into the
//! Keras model that convlab's exported code builds.
//! The header's `__metadata__` holds `{"format": "convlab-weights", "version": "1", "spec":
//! <the model spec as compact JSON>}`.
//!
//! [`load`] reads a file against a model: every parameter of the model must be there with dtype
//! `F32` and its shape, and nothing else may be; the error names every tensor that is missing,
//! extra or mismatched. Files up to [`MAX_FILE_BYTES`] are read; arbitrary bytes give an error,
//! never a panic. A partial connection table's absent taps are zeroed on load whatever the
//! file holds, as they are fixed zeros of the model.

use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap};

use safetensors::tensor::{Metadata, SafeTensorError};
use safetensors::{Dtype, SafeTensors, View};

use crate::error::{Error, Result};
use crate::graph::model::MAX_PARAMS;
use crate::graph::Model;
use crate::nn::layer::Layer;
use crate::nn::weights::{mask_connections, Weights};

/// The `format` value of a convlab weights file's metadata.
pub const FORMAT: &str = "convlab-weights";
/// The `version` value of the files this module writes (and the only one it reads).
pub const VERSION: &str = "1";
/// The largest file [`load`] reads: the f32 data of the largest model convlab builds
/// ([`MAX_PARAMS`], 1.2 GB) plus 64 MiB of header.
pub const MAX_FILE_BYTES: u64 = 4 * MAX_PARAMS + (64 << 20);

/// How many problems one error lists before it says how many more there are.
const MAX_LISTED: usize = 8;

/// One parameter's f32 values as a safetensors view (borrowed on little-endian machines).
pub(crate) struct F32View<'a> {
    pub(crate) shape: &'a [usize],
    pub(crate) values: &'a [f32],
}

impl View for F32View<'_> {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        if cfg!(target_endian = "little") {
            Cow::Borrowed(bytemuck::cast_slice(self.values))
        } else {
            Cow::Owned(self.values.iter().flat_map(|v| v.to_le_bytes()).collect())
        }
    }

    fn data_len(&self) -> usize {
        4 * self.values.len()
    }
}

/// The tensor name of parameter `param` of layer `layer`.
pub fn tensor_name(layer: &str, param: &str) -> String {
    format!("{layer}/{param}")
}

/// `model`'s parameters `weights` as a safetensors file (see the module docs).
///
/// Errors when `weights` does not have the model's parameters (a count or length differs).
pub fn save(model: &Model, weights: &Weights) -> Result<Vec<u8>> {
    let nodes = model.nodes();
    if weights.values.len() != nodes.len() {
        return Err(Error::invalid(
            "save weights",
            "weights",
            format!("has {} layers, the model {}", weights.values.len(), nodes.len()),
        ));
    }
    let mut tensors = Vec::new();
    for (node, values) in nodes.iter().zip(&weights.values) {
        if values.len() != node.params.len() {
            return Err(Error::invalid(
                "save weights",
                "weights",
                format!(
                    "layer '{}' has {} parameter tensors, the model's layer {}",
                    node.name,
                    values.len(),
                    node.params.len()
                ),
            ));
        }
        for (p, v) in node.params.iter().zip(values) {
            let want: usize = p.shape.iter().product();
            if v.len() != want {
                return Err(Error::invalid(
                    "save weights",
                    "weights",
                    format!(
                        "layer '{}': {} has {} values, its shape {:?} needs {want}",
                        node.name,
                        p.name,
                        v.len(),
                        p.shape
                    ),
                ));
            }
            tensors.push((tensor_name(&node.name, p.name), F32View { shape: &p.shape, values: v }));
        }
    }
    let metadata = [
        ("format".to_string(), FORMAT.to_string()),
        ("version".to_string(), VERSION.to_string()),
        ("spec".to_string(), model.spec().to_json()),
    ];
    safetensors::serialize(tensors, Some(metadata.into_iter().collect()))
        .map_err(|e| Error::invalid("save weights", "weights", format!("safetensors: {e}")))
}

/// Reads a safetensors file (`bytes`) as the weights of `model` (see the module docs for what
/// is checked). Errors start with `weights file: ` and name the tensors at fault.
pub fn load(model: &Model, bytes: &[u8]) -> Result<Weights> {
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(Error::spec_limit(format!(
            "weights file: {} bytes is over the limit of {MAX_FILE_BYTES} bytes (the f32 \
             weights of a model of {MAX_PARAMS} parameters, convlab's largest, plus the header)",
            bytes.len()
        )));
    }
    let (header_len, meta) = SafeTensors::read_metadata(bytes)
        .map_err(|e| Error::spec(format!("weights file: not a safetensors file: {}", why(&e))))?;
    check_metadata(&meta)?;
    // read_metadata checked that the header and the tensors' data end where the file does.
    let data = bytes.get(8 + header_len..).unwrap_or(&[]);

    let nodes = model.nodes();
    let mut problems = Vec::new();
    let mut expected = BTreeSet::new();
    let mut values = Vec::with_capacity(nodes.len());
    for node in nodes {
        let mut per_node = Vec::with_capacity(node.params.len());
        for p in &node.params {
            let name = tensor_name(&node.name, p.name);
            let read = read_tensor(&meta, data, &name, &p.shape);
            expected.insert(name);
            match read {
                Ok(mut v) => {
                    if let (Layer::Conv2D(c), "kernel") = (&node.layer, p.name) {
                        if let Some(table) = &c.connections {
                            mask_connections(&mut v, &p.shape, table);
                        }
                    }
                    per_node.push(v);
                }
                Err(problem) => {
                    problems.push(problem);
                    per_node.push(Vec::new());
                }
            }
        }
        values.push(per_node);
    }
    let mut extra: Vec<String> =
        meta.offset_keys().into_iter().filter(|n| !expected.contains(n)).collect();
    extra.sort();
    problems.extend(
        extra.iter().map(|n| format!("tensor '{n}' is not a parameter of this model's layers")),
    );
    if !problems.is_empty() {
        let more = problems.len().saturating_sub(MAX_LISTED);
        problems.truncate(MAX_LISTED);
        let mut text = format!("weights file: {}", problems.join("; "));
        if more > 0 {
            text.push_str(&format!("; and {more} more"));
        }
        return Err(Error::spec(text));
    }
    Ok(Weights { values })
}

/// Checks `__metadata__`'s `format` and `version` where the file has them (files written by
/// other tools with the right tensor names may have neither).
fn check_metadata(meta: &Metadata) -> Result<()> {
    let Some(meta) = meta.metadata() else { return Ok(()) };
    let lookup: HashMap<&str, &str> = meta.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    if let Some(&format) = lookup.get("format") {
        if format != FORMAT {
            return Err(Error::spec(format!(
                "weights file: its metadata says format {format:?}, not {FORMAT:?}"
            )));
        }
        if let Some(&version) = lookup.get("version") {
            if version != VERSION {
                return Err(Error::spec(format!(
                    "weights file: version {version:?}; this convlab reads version {VERSION:?}"
                )));
            }
        }
    }
    Ok(())
}

/// Tensor `name` of the file as f32 values of shape `shape`, or what is wrong with it.
fn read_tensor(
    meta: &Metadata,
    data: &[u8],
    name: &str,
    shape: &[usize],
) -> std::result::Result<Vec<f32>, String> {
    let Some(info) = meta.info(name) else {
        return Err(format!("no tensor '{name}' (the model's layer needs {})", shape_text(shape)));
    };
    if info.dtype != Dtype::F32 {
        return Err(format!("tensor '{name}' has dtype {:?}, convlab reads F32", info.dtype));
    }
    if info.shape != shape {
        return Err(format!(
            "tensor '{name}' has shape {}, the model's layer needs {}",
            shape_text(&info.shape),
            shape_text(shape)
        ));
    }
    let (start, end) = info.data_offsets;
    let raw = data
        .get(start..end)
        .ok_or_else(|| format!("tensor '{name}' has data offsets past the end of the file"))?;
    f32s(raw).ok_or_else(|| {
        format!("tensor '{name}' needs {} bytes, more than this process can allocate", raw.len())
    })
}

/// Little-endian f32s (`None` when the memory cannot be had, as in a full wasm32 heap).
fn f32s(raw: &[u8]) -> Option<Vec<f32>> {
    let mut v = Vec::new();
    v.try_reserve_exact(raw.len() / 4).ok()?;
    v.extend(raw.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])));
    Some(v)
}

/// `[3,3,1,32]`.
fn shape_text(shape: &[usize]) -> String {
    let dims: Vec<String> = shape.iter().map(usize::to_string).collect();
    format!("[{}]", dims.join(","))
}

/// A parse error in words.
fn why(e: &SafeTensorError) -> String {
    match e {
        SafeTensorError::HeaderTooSmall => "shorter than its 8-byte header length".into(),
        SafeTensorError::HeaderTooLarge => "its header length is over 100 MB".into(),
        SafeTensorError::InvalidHeaderLength => {
            "its header length runs past the end of the file".into()
        }
        SafeTensorError::MetadataIncompleteBuffer => {
            "its data is not the length its header says (truncated or with trailing bytes)".into()
        }
        other => other.to_string(),
    }
}
