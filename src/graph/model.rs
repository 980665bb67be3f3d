//! A validated model: the spec's layers as a directed acyclic graph in topological order, with
//! every shape inferred and every parameter counted, before any weight is allocated.

use std::collections::HashMap;

use super::expand::{expand, FlatLayer};
use super::spec::ModelSpec;
use crate::error::{Error, Result};
use crate::nn::layer::{self, Layer, Param};
use crate::tensor::MAX_TENSOR_ELEMENTS;

/// The most parameters a model may have: 300 M (1.2 GB of f32; VGG-16 has 138 M).
pub const MAX_PARAMS: u64 = 300_000_000;
/// The most activation memory one instance may need, summed over every layer's output: 4 GiB,
/// wasm32's whole address space.
pub const MAX_ACTIVATION_BYTES: u64 = 4 << 30;

/// One layer of a validated model.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    /// Full name (`instance/layer` inside blocks).
    pub name: String,
    /// The layer and its config.
    pub layer: Layer,
    /// Indices (into [`Model::nodes`]) of the nodes it reads; always smaller than its own.
    pub inputs: Vec<usize>,
    /// Output shape per instance.
    pub output_shape: Vec<usize>,
    /// Parameter tensors.
    pub params: Vec<Param>,
    /// Multiply-adds per instance.
    pub macs: u64,
    /// The top-level block instance it belongs to.
    pub block: Option<String>,
}

/// A validated, shape-inferred model.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    spec: ModelSpec,
    nodes: Vec<Node>,
    output: usize,
}

impl Model {
    /// Validates `spec` and infers every shape. Errors name the layer and the field.
    pub fn from_spec(spec: ModelSpec) -> Result<Self> {
        let input_shape = check_input(&spec.input.shape)?;
        let expanded = expand(&spec)?;
        let mut flat = Vec::with_capacity(expanded.layers.len() + 1);
        flat.push(FlatLayer {
            name: spec.input.name.clone(),
            class_name: "InputLayer".into(),
            config: Default::default(),
            inputs: Vec::new(),
            block: None,
        });
        flat.extend(expanded.layers);
        let index = name_index(&flat)?;
        let reads = resolve_inputs(&flat, &index)?;
        let order = topological_order(&flat, &reads)?;
        let mut position = vec![0usize; flat.len()];
        for (p, &i) in order.iter().enumerate() {
            position[i] = p;
        }
        let mut nodes: Vec<Node> = Vec::with_capacity(flat.len());
        let (mut params, mut stored, mut activations) = (0u64, 0u64, 0u64);
        for &i in &order {
            let f = &flat[i];
            let layer = if i == 0 {
                Layer::Input
            } else {
                Layer::from_config(&f.name, &f.class_name, &f.config, &[])?
            };
            let inputs: Vec<usize> = reads[i].iter().map(|&r| position[r]).collect();
            let node = build_node(f, layer, inputs, &nodes, &input_shape)?;
            params = params.saturating_add(node.params.iter().map(|p| p.count).sum::<u64>());
            // What is allocated: a partial connection table stores its whole kernel.
            stored =
                stored.saturating_add(node.params.iter().map(|p| elements(&p.shape)).sum::<u64>());
            if params > MAX_PARAMS || stored > MAX_PARAMS {
                return Err(Error::spec_limit(format!(
                    "model has more than {MAX_PARAMS} parameters (stored values, reached at layer \
                     '{}'); the limit keeps the weights within what a browser tab can hold",
                    f.name
                )));
            }
            activations = activations.saturating_add(4 * elements(&node.output_shape));
            if activations > MAX_ACTIVATION_BYTES {
                return Err(Error::spec_limit(format!(
                    "one instance needs more than {} GiB of activations (reached at layer '{}'); \
                     use smaller inputs, larger strides or fewer filters",
                    MAX_ACTIVATION_BYTES >> 30,
                    f.name
                )));
            }
            nodes.push(node);
        }
        let output = *index.get(&expanded.output).ok_or_else(|| {
            Error::spec(format!(
                "model spec: output names '{}', which is not a layer of this model",
                expanded.output
            ))
        })?;
        Ok(Self { spec, nodes, output: position[output] })
    }

    /// Parses and validates a JSON spec.
    pub fn from_json(text: &str) -> Result<Self> {
        Self::from_spec(ModelSpec::from_json(text)?)
    }

    /// The spec this model was built from.
    pub fn spec(&self) -> &ModelSpec {
        &self.spec
    }

    /// The layers in topological order (the input first).
    pub fn nodes(&self) -> &[Node] {
        &self.nodes
    }

    /// Index of the output node.
    pub fn output(&self) -> usize {
        self.output
    }

    /// The per-instance input shape.
    pub fn input_shape(&self) -> &[usize] {
        &self.nodes[0].output_shape
    }

    /// The node named `name`.
    pub fn node_index(&self, name: &str) -> Option<usize> {
        self.nodes.iter().position(|n| n.name == name)
    }

    /// Total parameters (trainable and not).
    pub fn param_count(&self) -> u64 {
        self.nodes.iter().flat_map(|n| &n.params).map(|p| p.count).sum()
    }

    /// Trainable parameters.
    pub fn trainable_param_count(&self) -> u64 {
        self.nodes.iter().flat_map(|n| &n.params).filter(|p| p.trainable).map(|p| p.count).sum()
    }

    /// Multiply-adds per instance (convolutions and dense layers).
    pub fn multiply_adds(&self) -> u64 {
        self.nodes.iter().map(|n| n.macs).sum()
    }
}

fn check_input(shape: &[u64]) -> Result<Vec<usize>> {
    if !matches!(shape.len(), 1 | 3) {
        return Err(Error::spec(format!(
            "model spec: input.shape must be [height, width, channels] or [features], got {shape:?}"
        )));
    }
    let mut total: u64 = 1;
    for &d in shape {
        total = total.saturating_mul(d);
        if d == 0 || total > MAX_TENSOR_ELEMENTS as u64 {
            return Err(Error::spec_limit(format!(
                "model spec: input.shape {shape:?} must have sizes of at least 1 and at most \
                 {MAX_TENSOR_ELEMENTS} elements in all"
            )));
        }
    }
    Ok(shape.iter().map(|&d| d as usize).collect())
}

fn name_index(flat: &[FlatLayer]) -> Result<HashMap<String, usize>> {
    let mut index = HashMap::with_capacity(flat.len());
    for (i, f) in flat.iter().enumerate() {
        if index.insert(f.name.clone(), i).is_some() {
            return Err(Error::spec(format!(
                "model spec: two layers are named '{}'; names must be unique",
                f.name
            )));
        }
    }
    Ok(index)
}

fn resolve_inputs(flat: &[FlatLayer], index: &HashMap<String, usize>) -> Result<Vec<Vec<usize>>> {
    flat.iter()
        .map(|f| {
            f.inputs
                .iter()
                .map(|name| match index.get(name) {
                    Some(&i) if i == index[&f.name] => Err(Error::spec(format!(
                        "layer '{}' ({}): reads itself",
                        f.name, f.class_name
                    ))),
                    Some(&i) => Ok(i),
                    None => Err(Error::spec(format!(
                        "layer '{}' ({}): inputs names '{name}', which is not a layer of this model",
                        f.name, f.class_name
                    ))),
                })
                .collect()
        })
        .collect()
}

/// Kahn's algorithm, keeping spec order among ready layers; a cycle is named layer by layer.
fn topological_order(flat: &[FlatLayer], reads: &[Vec<usize>]) -> Result<Vec<usize>> {
    let n = flat.len();
    let mut pending: Vec<usize> = reads.iter().map(Vec::len).collect();
    let mut readers: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, r) in reads.iter().enumerate() {
        for &j in r {
            readers[j].push(i);
        }
    }
    let mut ready: std::collections::BTreeSet<usize> =
        (0..n).filter(|&i| pending[i] == 0).collect();
    let mut order = Vec::with_capacity(n);
    while let Some(i) = ready.pop_first() {
        order.push(i);
        for &r in &readers[i] {
            pending[r] -= 1;
            if pending[r] == 0 {
                ready.insert(r);
            }
        }
    }
    if order.len() == n {
        return Ok(order);
    }
    // Walk back from an unfinished layer along unfinished inputs until a layer repeats.
    let mut seen = vec![usize::MAX; n];
    let mut path = Vec::new();
    let mut at = (0..n).find(|&i| pending[i] > 0).unwrap_or(0);
    while seen[at] == usize::MAX {
        seen[at] = path.len();
        path.push(at);
        at = reads[at].iter().copied().find(|&j| pending[j] > 0).unwrap_or(at);
    }
    let cycle: Vec<String> =
        path[seen[at]..].iter().rev().map(|&i| format!("'{}'", flat[i].name)).collect();
    Err(Error::spec(format!(
        "model spec: layers {} -> {} form a cycle; a model must be acyclic",
        cycle.join(" -> "),
        cycle[0]
    )))
}

fn build_node(
    f: &FlatLayer,
    layer: Layer,
    inputs: Vec<usize>,
    nodes: &[Node],
    input_shape: &[usize],
) -> Result<Node> {
    let (min, max) = layer.arity();
    if inputs.len() < min || inputs.len() > max {
        let want = if min == max { format!("{min}") } else { format!("{min} to {max}") };
        return Err(Error::spec(format!(
            "layer '{}' ({}): reads {want} input(s), got {}",
            f.name,
            layer.class_name(),
            inputs.len()
        )));
    }
    let shapes: Vec<&[usize]> = inputs.iter().map(|&i| nodes[i].output_shape.as_slice()).collect();
    let output_shape = if matches!(layer, Layer::Input) {
        input_shape.to_vec()
    } else {
        layer::output_shape(&f.name, &layer, &shapes)?
    };
    if output_shape.contains(&0) || elements(&output_shape) > MAX_TENSOR_ELEMENTS as u64 {
        return Err(Error::spec_limit(format!(
            "layer '{}' ({}): output shape {output_shape:?} is empty or over {MAX_TENSOR_ELEMENTS} \
             elements per instance",
            f.name,
            layer.class_name()
        )));
    }
    let first: &[usize] = shapes.first().copied().unwrap_or(&[]);
    let params = layer::params(&layer, first);
    let macs = layer::multiply_adds(&layer, first, &output_shape);
    Ok(Node {
        name: f.name.clone(),
        layer,
        inputs,
        output_shape,
        params,
        macs,
        block: f.block.clone(),
    })
}

/// Elements of a shape as u64 (saturating).
pub fn elements(shape: &[usize]) -> u64 {
    shape.iter().fold(1u64, |a, &d| a.saturating_mul(d as u64))
}
