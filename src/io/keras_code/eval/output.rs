//! The model the code built, written as Keras's JSON.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::{batch, sequential_json, Eval, Node, V};
use crate::error::{Error, Result};

impl Eval {
    /// The model the code built, as Keras's JSON, and the line of each layer.
    pub(in crate::io::keras_code) fn model_json(
        &mut self,
    ) -> Result<(Value, HashMap<String, usize>)> {
        let model = match self.globals.get("model") {
            Some(m @ (V::Seq(_) | V::Model(_))) => Some(m.clone()),
            _ => self.last_model.clone(),
        };
        let model = match model {
            Some(m) => m,
            None => {
                // A script that only defines `def build_model():`.
                let f = self
                    .globals
                    .values()
                    .filter_map(|v| match v {
                        V::Func(f) if self.funcs[*f].params.iter().all(|(_, d)| d.is_some()) => {
                            Some(*f)
                        }
                        _ => None,
                    })
                    .max();
                let line = self.line();
                match f.map(|f| self.invoke(f, Vec::new(), Vec::new(), line)).transpose()? {
                    Some(m @ (V::Seq(_) | V::Model(_))) => m,
                    _ => {
                        return Err(Error::spec(
                            "Keras code: no model: the code builds no keras.Sequential(...) or \
                             keras.Model(...)",
                        ))
                    }
                }
            }
        };
        let lines: HashMap<String, usize> =
            self.layers.iter().map(|l| (l.name.clone(), l.line)).collect();
        let json = match model {
            V::Seq(s) => {
                let seq = &self.seqs[s];
                let Some((iname, shape)) = &seq.input else {
                    return Err(Error::spec(format!(
                        "Keras code: the Sequential model '{}' has no input shape: start it with \
                         keras.Input(shape=...) or give the first layer input_shape=",
                        seq.name
                    )));
                };
                let layers: Vec<(String, String, Map<String, Value>)> = seq
                    .layers
                    .iter()
                    .map(|&l| {
                        let o = &self.layers[l];
                        (o.name.clone(), o.class.clone(), o.config.clone())
                    })
                    .collect();
                sequential_json(&seq.name, (iname, shape), &layers)
            }
            V::Model(m) => self.functional_json(m)?,
            _ => unreachable!("only models are chosen"),
        };
        Ok((json, lines))
    }

    pub(super) fn functional_json(&self, m: usize) -> Result<Value> {
        let (input, output, name) = &self.models[m];
        // Keras keeps the layers between the input and the output.
        let mut keep = vec![false; self.nodes.len()];
        let mut stack = vec![*output];
        while let Some(n) = stack.pop() {
            if std::mem::replace(&mut keep[n], true) {
                continue;
            }
            if let Node::Call { inputs, .. } = &self.nodes[n] {
                stack.extend(inputs);
            }
        }
        let node_name = |n: usize| match &self.nodes[n] {
            Node::Input { name, .. } => name.clone(),
            Node::Call { layer, .. } => self.layers[*layer].name.clone(),
        };
        // Keras's order (`map_graph`): by longest path to the output, the input first; ties
        // by first visit in a depth-first walk from the output through inputs in order.
        let mut depth = vec![0usize; self.nodes.len()];
        for n in (0..self.nodes.len()).rev().filter(|&n| keep[n]) {
            if let Node::Call { inputs, .. } = &self.nodes[n] {
                for &i in inputs {
                    depth[i] = depth[i].max(depth[n] + 1);
                }
            }
        }
        let mut visit = vec![usize::MAX; self.nodes.len()];
        let (mut stack, mut count) = (vec![*output], 0);
        while let Some(n) = stack.pop() {
            if visit[n] != usize::MAX {
                continue;
            }
            visit[n] = count;
            count += 1;
            if let Node::Call { inputs, .. } = &self.nodes[n] {
                stack.extend(inputs.iter().rev());
            }
        }
        let mut order: Vec<usize> = (0..self.nodes.len()).filter(|&n| keep[n]).collect();
        order.sort_by_key(|&n| (std::cmp::Reverse(depth[n]), visit[n]));
        let mut layers = Vec::new();
        for (n, node) in order.into_iter().map(|n| (n, &self.nodes[n])) {
            match node {
                Node::Input { name, shape } => {
                    if n != *input {
                        return Err(Error::spec(format!(
                            "Keras code: the output depends on the input '{name}', which is not \
                             the model's input; convlab models have one input"
                        )));
                    }
                    layers.push(json!({
                        "class_name": "InputLayer", "name": name,
                        "config": {"batch_input_shape": batch(shape), "name": name},
                        "inbound_nodes": [],
                    }));
                }
                Node::Call { layer, inputs } => {
                    let o = &self.layers[*layer];
                    let mut c = o.config.clone();
                    c.insert("name".into(), Value::from(o.name.as_str()));
                    let refs: Vec<Value> =
                        inputs.iter().map(|&i| json!([node_name(i), 0, 0, {}])).collect();
                    layers.push(json!({
                        "class_name": o.class, "name": o.name, "config": c,
                        "inbound_nodes": [refs],
                    }));
                }
            }
        }
        if !keep[*input] {
            return Err(Error::spec("Keras code: the model's output does not depend on its input"));
        }
        Ok(json!({
            "class_name": "Functional",
            "config": {
                "name": name, "layers": layers,
                "input_layers": [[node_name(*input), 0, 0]],
                "output_layers": [[node_name(*output), 0, 0]],
            },
        }))
    }
}
