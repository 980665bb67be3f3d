//! Layers, inputs and models as the code builds them.

use serde_json::{Map, Value};

use super::{
    code_fail, keras_class, positional, skipped_key, snake, Eval, Kwargs, LayerObj, Node, Seq,
    MAX_LAYERS, V,
};
use crate::error::Result;

impl Eval {
    pub(super) fn layer(
        &mut self,
        class: &str,
        args: Vec<V>,
        kwargs: Kwargs,
        line: usize,
    ) -> Result<V> {
        let fail = |d: String| code_fail(line, d);
        if self.layers.len() > 2 * MAX_LAYERS {
            return Err(fail(format!("more than {} layers", 2 * MAX_LAYERS)));
        }
        let mut pairs: Vec<(String, V)> = Vec::new();
        if !args.is_empty() {
            // A class without a table is one convlab lacks: the import names it.
            let order: Vec<String> = match positional(class) {
                Some(o) => o.iter().map(|k| k.to_string()).collect(),
                None => (1..=args.len()).map(|i| format!("positional argument {i}")).collect(),
            };
            if args.len() > order.len() {
                return Err(fail(format!(
                    "{class} takes at most {} positional arguments ({}), {} given",
                    order.len(),
                    order.join(", "),
                    args.len()
                )));
            }
            pairs.extend(order.into_iter().zip(args));
        }
        for (k, v) in kwargs {
            if pairs.iter().any(|(p, _)| *p == k) {
                return Err(fail(format!("{class}: the argument `{k}` is given twice")));
            }
            pairs.push((k, v));
        }
        let mut name = None;
        let mut input_shape = None;
        let mut config = Map::new();
        for (k, v) in pairs {
            match (k.as_str(), v) {
                (_, V::None) => {}
                ("name", V::Str(s)) => name = Some(s),
                ("name", other) => return Err(fail(format!("{class}: name is {}", other.kind()))),
                ("input_shape", v) => {
                    let mut s = vec![Value::Null];
                    s.extend(self.shape_of(&v, line)?);
                    input_shape = Some(s);
                }
                ("batch_input_shape", v) => input_shape = Some(self.shape_of(&v, line)?),
                ("input_dim", v) => {
                    input_shape = Some(vec![Value::Null, self.json(&v, "input_dim", line)?])
                }
                (k, _) if skipped_key(k) => {}
                // Keras lower-cases the padding mode ("SAME" is "same").
                ("padding", V::Str(p)) => {
                    config.insert("padding".into(), Value::from(p.to_ascii_lowercase()));
                }
                (k, v) => {
                    let j = self.json(&v, k, line)?;
                    config.insert(k.to_string(), j);
                }
            }
        }
        let required: &[&str] = match class {
            "AveragePooling2D" | "AvgPool2D" => &["pool_size"],
            "Dropout" => &["rate"],
            _ => &[],
        };
        if let Some(k) = required.iter().find(|k| !config.contains_key(**k)) {
            return Err(fail(format!("{class} needs `{k}` (Keras has no default for it)")));
        }
        let class = keras_class(class).to_string();
        let name = match name {
            Some(n) => self.names.explicit(&n, line)?,
            None => self.names.auto(&snake(&class)),
        };
        let input_shape = input_shape.map(|s| s.into_iter().skip(1).collect());
        self.layers.push(LayerObj { class, name, config, line, input_shape, called: false });
        Ok(V::Layer(self.layers.len() - 1))
    }

    /// A shape given as a tuple or list of sizes (None allowed: the import names it).
    pub(super) fn shape_of(&self, v: &V, line: usize) -> Result<Vec<Value>> {
        match v {
            V::Tuple(items) | V::List(items) => items
                .iter()
                .map(|d| match d {
                    V::Int(_) | V::None => self.json(d, "shape", line),
                    other => Err(code_fail(line, format!("a shape holds {}", other.kind()))),
                })
                .collect(),
            V::Int(_) => Ok(vec![self.json(v, "shape", line)?]),
            other => Err(code_fail(line, format!("the shape is {}, not a tuple", other.kind()))),
        }
    }

    pub(super) fn json(&self, v: &V, key: &str, line: usize) -> Result<Value> {
        Ok(match v {
            V::None => Value::Null,
            V::Bool(b) => Value::Bool(*b),
            V::Int(i) => Value::from(*i),
            V::Float(f) => Value::from(*f),
            V::Str(s) => Value::from(s.as_str()),
            V::List(items) | V::Tuple(items) => {
                Value::Array(items.iter().map(|i| self.json(i, key, line)).collect::<Result<_>>()?)
            }
            V::Dict(items) => Value::Object(
                items
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), self.json(v, key, line)?)))
                    .collect::<Result<_>>()?,
            ),
            // `activation=keras.activations.relu`, `tf.nn.relu`.
            V::Path(p) => Value::from(p.rsplit('.').next().unwrap_or_default()),
            other => {
                return Err(code_fail(
                    line,
                    format!("the argument `{key}` is {}, which convlab cannot read", other.kind()),
                ))
            }
        })
    }

    pub(super) fn input(&mut self, args: Vec<V>, kwargs: Kwargs, line: usize) -> Result<V> {
        let mut shape = args.into_iter().next().map(|s| self.shape_of(&s, line)).transpose()?;
        let mut name = None;
        for (k, v) in kwargs {
            match (k.as_str(), v) {
                ("shape", v) => shape = Some(self.shape_of(&v, line)?),
                ("batch_shape", v) => {
                    shape = Some(self.shape_of(&v, line)?.into_iter().skip(1).collect())
                }
                ("name", V::Str(s)) => name = Some(s),
                ("batch_size" | "dtype" | "sparse" | "ragged", _) => {}
                (k, _) => {
                    return Err(code_fail(
                        line,
                        format!("Input: the argument `{k}` is not supported"),
                    ))
                }
            }
        }
        let shape = shape.ok_or_else(|| code_fail(line, "Input needs shape=(...)"))?;
        let name = match name {
            Some(n) => self.names.explicit(&n, line)?,
            None => self.names.auto("input_layer"),
        };
        self.nodes.push(Node::Input { name, shape });
        Ok(V::Tensor(self.nodes.len() - 1))
    }

    pub(super) fn call_layer(
        &mut self,
        layer: V,
        args: Vec<V>,
        kwargs: Kwargs,
        line: usize,
    ) -> Result<V> {
        let V::Layer(l) = layer else { return Err(code_fail(line, "not a layer")) };
        if let Some((k, _)) =
            kwargs.iter().find(|(k, _)| !matches!(k.as_str(), "training" | "mask"))
        {
            return Err(code_fail(
                line,
                format!("a layer called with `{k}=`, which convlab does not support"),
            ));
        }
        let [arg] = <[V; 1]>::try_from(args).map_err(|_| {
            code_fail(line, "a layer is called with one tensor or a list of tensors")
        })?;
        let tensors = match arg {
            V::List(items) | V::Tuple(items) => items,
            one => vec![one],
        };
        let mut inputs = Vec::new();
        for t in tensors {
            match t {
                V::Tensor(n) => inputs.push(n),
                other => {
                    return Err(code_fail(
                        line,
                        format!(
                            "layer '{}' is called on {}, not on a tensor",
                            self.layers[l].name,
                            other.kind()
                        ),
                    ))
                }
            }
        }
        let obj = &mut self.layers[l];
        if obj.called {
            return Err(code_fail(
                line,
                format!(
                    "layer '{}' is called twice (shared weights); convlab layers are called once",
                    obj.name
                ),
            ));
        }
        obj.called = true;
        self.nodes.push(Node::Call { layer: l, inputs });
        Ok(V::Tensor(self.nodes.len() - 1))
    }

    pub(super) fn sequential(&mut self, args: Vec<V>, kwargs: Kwargs, line: usize) -> Result<V> {
        let mut list = args.into_iter().next();
        let mut name = None;
        for (k, v) in kwargs {
            match (k.as_str(), v) {
                ("layers", v) => list = Some(v),
                ("name", V::Str(s)) => name = Some(s),
                ("trainable", _) => {}
                (k, _) => {
                    return Err(code_fail(
                        line,
                        format!("Sequential: the argument `{k}` is not supported"),
                    ))
                }
            }
        }
        let name = name.unwrap_or_else(|| self.names.auto("sequential"));
        self.seqs.push(Seq { name, input: None, layers: Vec::new() });
        let s = self.seqs.len() - 1;
        match list {
            None | Some(V::None) => {}
            Some(V::List(items) | V::Tuple(items)) => {
                for item in items {
                    self.seq_push(s, item, line)?;
                }
            }
            Some(other) => {
                return Err(code_fail(
                    line,
                    format!("Sequential takes a list of layers, not {}", other.kind()),
                ))
            }
        }
        self.last_model = Some(V::Seq(s));
        Ok(V::Seq(s))
    }

    pub(super) fn seq_push(&mut self, s: usize, item: V, line: usize) -> Result<()> {
        match item {
            V::Tensor(n) => match &self.nodes[n] {
                Node::Input { name, shape }
                    if self.seqs[s].input.is_none() && self.seqs[s].layers.is_empty() =>
                {
                    self.seqs[s].input = Some((name.clone(), shape.clone()));
                    Ok(())
                }
                _ => Err(code_fail(
                    line,
                    "a Sequential model takes keras.Input first and layers after it",
                )),
            },
            V::Layer(l) if self.layers[l].class == "InputLayer" => {
                if self.seqs[s].input.is_some() || !self.seqs[s].layers.is_empty() {
                    return Err(code_fail(
                        line,
                        "an InputLayer after the first layer of a Sequential model",
                    ));
                }
                let obj = &self.layers[l];
                let shape = match (
                    obj.config.get("shape"),
                    obj.config.get("batch_shape"),
                    &obj.input_shape,
                ) {
                    (Some(Value::Array(a)), _, _) => a.clone(),
                    (_, Some(Value::Array(a)), _) => a.iter().skip(1).cloned().collect(),
                    (_, _, Some(s)) => s.clone(),
                    _ => return Err(code_fail(line, "InputLayer needs shape=(...)")),
                };
                self.seqs[s].input = Some((obj.name.clone(), shape));
                Ok(())
            }
            V::Layer(l) => {
                if self.layers[l].called {
                    return Err(code_fail(
                        line,
                        format!("layer '{}' is used twice", self.layers[l].name),
                    ));
                }
                self.layers[l].called = true;
                if self.seqs[s].input.is_none() && self.seqs[s].layers.is_empty() {
                    if let Some(shape) = self.layers[l].input_shape.clone() {
                        let name = self.names.auto("input_layer");
                        self.seqs[s].input = Some((name, shape));
                    }
                }
                self.seqs[s].layers.push(l);
                Ok(())
            }
            V::Seq(_) | V::Model(_) => Err(code_fail(
                line,
                "a model inside a Sequential (a nested model): convlab imports one flat model; \
                 write the inner model's layers inline",
            )),
            other => Err(code_fail(
                line,
                format!("a Sequential model takes layers, not {}", other.kind()),
            )),
        }
    }

    pub(super) fn functional(&mut self, args: Vec<V>, kwargs: Kwargs, line: usize) -> Result<V> {
        let mut it = args.into_iter();
        let (mut inputs, mut outputs, mut name) = (it.next(), it.next(), None);
        for (k, v) in kwargs {
            match (k.as_str(), v) {
                ("inputs", v) => inputs = Some(v),
                ("outputs", v) => outputs = Some(v),
                ("name", V::Str(s)) => name = Some(s),
                ("trainable", _) => {}
                (k, _) => {
                    return Err(code_fail(
                        line,
                        format!("Model: the argument `{k}` is not supported"),
                    ))
                }
            }
        }
        let one = |v: Option<V>, what: &str| -> Result<usize> {
            match v {
                Some(V::Tensor(n)) => Ok(n),
                Some(V::List(items) | V::Tuple(items)) if items.len() == 1 => match &items[0] {
                    V::Tensor(n) => Ok(*n),
                    other => {
                        Err(code_fail(line, format!("the model's {what} is {}", other.kind())))
                    }
                },
                Some(V::List(items) | V::Tuple(items)) => Err(code_fail(
                    line,
                    format!("the model has {} {what}; convlab models have one", items.len()),
                )),
                Some(other) => {
                    Err(code_fail(line, format!("the model's {what} is {}", other.kind())))
                }
                None => Err(code_fail(line, format!("keras.Model needs {what}"))),
            }
        };
        let (i, o) = (one(inputs, "inputs")?, one(outputs, "outputs")?);
        if !matches!(self.nodes[i], Node::Input { .. }) {
            return Err(code_fail(line, "the model's input is not a keras.Input"));
        }
        let name = name.unwrap_or_else(|| self.names.auto("functional"));
        self.models.push((i, o, name));
        let m = V::Model(self.models.len() - 1);
        self.last_model = Some(m.clone());
        Ok(m)
    }
}
