//! Block expansion: a spec's entries (layers and block instances, possibly nested and repeated)
//! become one flat list of named layers, each naming the layers it reads.
//!
//! Every way a spec can grow (nesting, `repeat`) is bounded before the growth happens: nesting
//! depth by [`MAX_BLOCK_DEPTH`], the expanded layer count by [`MAX_LAYERS`], so a hostile link
//! cannot make the core build a billion layers.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::spec::{BlockSpec, EntrySpec, ModelSpec};
use crate::error::{Error, Result};

/// The most layers a model may have once its blocks are expanded (ResNet-152 has about 520).
pub const MAX_LAYERS: usize = 5_000;
/// The deepest nesting of blocks inside blocks.
pub const MAX_BLOCK_DEPTH: usize = 16;
/// The most copies one `repeat` may make.
pub const MAX_REPEAT: u32 = 1_000;
/// The most entries (layers and block-instance copies) expansion may visit: bounds the work of
/// blocks that add no layers (an empty block repeated 1,000 times inside one repeated 1,000
/// times ... would otherwise loop 1000^16 times without ever reaching [`MAX_LAYERS`]).
pub const MAX_EXPANSION_STEPS: usize = 4 * MAX_LAYERS;
/// The most JSON values (numbers, strings, array and object entries) the expanded configs
/// and arguments may hold in all: every copy a repeat makes counts, so a 1 MB config inside a
/// block repeated 1,000 times is refused instead of copied into gigabytes.
pub const MAX_EXPANDED_VALUES: usize = 2_000_000;
/// The longest layer name.
pub const MAX_NAME_LEN: usize = 200;

/// One layer after expansion.
#[derive(Debug, Clone, PartialEq)]
pub struct FlatLayer {
    /// Full name (`instance/layer` inside blocks).
    pub name: String,
    /// Class name as written.
    pub class_name: String,
    /// Config with block arguments substituted.
    pub config: Map<String, Value>,
    /// Full names of the layers it reads.
    pub inputs: Vec<String>,
    /// The top-level block instance it belongs to, if any (the editor collapses by it).
    pub block: Option<String>,
}

/// The flat layer list and the full name of the layer a spec's output refers to.
pub struct Expanded {
    /// Layers in spec order.
    pub layers: Vec<FlatLayer>,
    /// Full name of the output layer.
    pub output: String,
}

struct Scope<'a> {
    /// Prefix of names made in this scope ("" at top level, "unit1/" inside an instance).
    prefix: String,
    /// Block inputs: local name -> full name.
    inputs: HashMap<String, String>,
    /// Arguments of the instance being expanded.
    args: &'a Map<String, Value>,
    /// Top-level instance name, for [`FlatLayer::block`].
    block: Option<String>,
    depth: usize,
}

struct Expander<'a> {
    blocks: &'a BTreeMap<String, BlockSpec>,
    out: Vec<FlatLayer>,
    /// Instance full name -> full name of its output layer.
    aliases: HashMap<String, String>,
    /// Counters for default names.
    counters: HashMap<String, usize>,
    /// Entries visited so far (see [`MAX_EXPANSION_STEPS`]).
    steps: usize,
    /// JSON values copied so far (see [`MAX_EXPANDED_VALUES`]).
    values: usize,
}

/// Expands `spec`'s blocks into one list of layers.
pub fn expand(spec: &ModelSpec) -> Result<Expanded> {
    let mut e = Expander {
        blocks: &spec.blocks,
        out: Vec::new(),
        aliases: HashMap::new(),
        counters: HashMap::new(),
        steps: 0,
        values: 0,
    };
    let empty = Map::new();
    let scope = Scope {
        prefix: String::new(),
        inputs: HashMap::new(),
        args: &empty,
        block: None,
        depth: 0,
    };
    check_name("input", &spec.input.name)?;
    let last = e.entries(&spec.layers, &scope, spec.input.name.clone())?;
    let output = match &spec.output {
        Some(name) => e.resolve(&scope, name),
        None => last,
    };
    Ok(Expanded { layers: e.out, output })
}

impl Expander<'_> {
    /// Expands `entries` in `scope`; `prev` is what the first entry reads by default. Returns
    /// the full name of the last entry's output.
    fn entries(
        &mut self,
        entries: &[EntrySpec],
        scope: &Scope<'_>,
        mut prev: String,
    ) -> Result<String> {
        for entry in entries {
            prev = self.entry(entry, scope, prev)?;
        }
        Ok(prev)
    }

    fn entry(&mut self, entry: &EntrySpec, scope: &Scope<'_>, prev: String) -> Result<String> {
        self.step()?;
        let inputs = match &entry.inputs {
            Some(names) => names.iter().map(|n| self.resolve(scope, n)).collect(),
            None => vec![prev],
        };
        match (&entry.class_name, &entry.block) {
            (Some(class), None) => {
                if entry.args.is_some() || entry.repeat.is_some() {
                    return Err(self.entry_error(
                        entry,
                        scope,
                        "'args' and 'repeat' belong to block instances, not layers",
                    ));
                }
                let name = self.name_for(entry, scope, class)?;
                if let Some(config) = &entry.config {
                    self.copy_budget(config)?;
                }
                let mut config = entry.config.clone().unwrap_or_default();
                substitute_map(&mut config, scope.args, &name)?;
                if self.out.len() >= MAX_LAYERS {
                    return Err(Error::spec_limit(format!(
                        "model spec: more than {MAX_LAYERS} layers once blocks are expanded"
                    )));
                }
                self.out.push(FlatLayer {
                    name: name.clone(),
                    class_name: class.clone(),
                    config,
                    inputs,
                    block: scope.block.clone(),
                });
                Ok(name)
            }
            (None, Some(block)) => {
                if entry.config.is_some() {
                    return Err(self.entry_error(
                        entry,
                        scope,
                        "a block instance takes 'args', not 'config'",
                    ));
                }
                self.instance(entry, block, scope, inputs)
            }
            (Some(_), Some(_)) => Err(self.entry_error(
                entry,
                scope,
                "has both 'class_name' and 'block'; an entry is one or the other",
            )),
            (None, None) => Err(self.entry_error(
                entry,
                scope,
                "needs 'class_name' (a layer) or 'block' (a block instance)",
            )),
        }
    }

    fn instance(
        &mut self,
        entry: &EntrySpec,
        block_name: &str,
        scope: &Scope<'_>,
        inputs: Vec<String>,
    ) -> Result<String> {
        let name = self.name_for(entry, scope, block_name)?;
        let block = self.blocks.get(block_name).ok_or_else(|| {
            let known: Vec<&str> = self.blocks.keys().map(String::as_str).collect();
            Error::spec(format!(
                "layer '{name}': block {block_name:?} is not defined (defined blocks: {})",
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            ))
        })?;
        if scope.depth >= MAX_BLOCK_DEPTH {
            return Err(Error::spec_limit(format!(
                "layer '{name}': blocks nest more than {MAX_BLOCK_DEPTH} deep (a block that \
                 uses itself?)"
            )));
        }
        if let Some(args) = &entry.args {
            self.copy_budget(args)?;
        }
        let mut args = entry.args.clone().unwrap_or_default();
        substitute_map(&mut args, scope.args, &name)?;
        let args = bind_args(&name, block_name, &block.params, &args)?;
        let formal: Vec<String> = block.inputs.clone().unwrap_or_else(|| vec!["x".to_string()]);
        if formal.len() != inputs.len() {
            return Err(Error::spec(format!(
                "layer '{name}': block {block_name:?} reads {} input(s) ({}), the instance gives {}",
                formal.len(),
                formal.join(", "),
                inputs.len()
            )));
        }
        let repeat = entry.repeat.unwrap_or(1);
        if repeat == 0 || repeat > MAX_REPEAT {
            return Err(Error::spec(format!(
                "layer '{name}': repeat must be from 1 to {MAX_REPEAT}, got {repeat}"
            )));
        }
        if repeat > 1 && formal.len() != 1 {
            return Err(Error::spec(format!(
                "layer '{name}': only a block with one input can repeat (each copy reads the last)"
            )));
        }
        let mut current = inputs;
        for i in 1..=repeat {
            self.step()?;
            let copy = if repeat > 1 { format!("{name}_{i}") } else { name.clone() };
            let inner = Scope {
                prefix: format!("{copy}/"),
                inputs: formal.iter().cloned().zip(current.iter().cloned()).collect(),
                args: &args,
                block: scope.block.clone().or_else(|| Some(copy.clone())),
                depth: scope.depth + 1,
            };
            let last = self.entries(&block.layers, &inner, current[0].clone())?;
            let out = match &block.output {
                Some(o) => self.resolve(&inner, o),
                None => last,
            };
            self.aliases.insert(copy, out.clone());
            current = vec![out];
        }
        let out = current.remove(0);
        self.aliases.insert(name, out.clone());
        Ok(out)
    }

    /// Counts the values of `map` against [`MAX_EXPANDED_VALUES`] before it is copied.
    fn copy_budget(&mut self, map: &Map<String, Value>) -> Result<()> {
        self.values =
            self.values.saturating_add(map.values().map(value_count).sum::<usize>() + map.len());
        if self.values > MAX_EXPANDED_VALUES {
            return Err(Error::spec_limit(format!(
                "model spec: the expanded layers' configs hold more than {MAX_EXPANDED_VALUES} \
                 values (a large config inside repeated blocks?)"
            )));
        }
        Ok(())
    }

    fn step(&mut self) -> Result<()> {
        self.steps += 1;
        if self.steps > MAX_EXPANSION_STEPS {
            return Err(Error::spec_limit(format!(
                "model spec: expanding the blocks takes more than {MAX_EXPANSION_STEPS} steps \
                 (nested repeats); a model may have at most {MAX_LAYERS} layers"
            )));
        }
        Ok(())
    }

    /// The full name an entry gets: its own, or a default like Keras's (`conv2d_1`).
    fn name_for(&mut self, entry: &EntrySpec, scope: &Scope<'_>, class: &str) -> Result<String> {
        let local = match &entry.name {
            Some(n) => {
                check_name("name", n)?;
                n.clone()
            }
            None => {
                let base = snake_case(class);
                let key = format!("{}{base}", scope.prefix);
                let n = self.counters.entry(key).or_insert(0);
                let name = if *n == 0 { base } else { format!("{base}_{n}") };
                *n += 1;
                name
            }
        };
        Ok(format!("{}{local}", scope.prefix))
    }

    /// The full name of the layer that local name `name` means in `scope`.
    fn resolve(&self, scope: &Scope<'_>, name: &str) -> String {
        let full = match scope.inputs.get(name) {
            Some(full) => full.clone(),
            None => format!("{}{name}", scope.prefix),
        };
        self.aliases.get(&full).cloned().unwrap_or(full)
    }

    fn entry_error(&self, entry: &EntrySpec, scope: &Scope<'_>, detail: &str) -> Error {
        match &entry.name {
            Some(n) => Error::spec(format!("layer '{}{n}': {detail}", scope.prefix)),
            None => Error::spec(format!(
                "entry {} of {}: {detail}",
                self.out.len() + 1,
                if scope.prefix.is_empty() {
                    "the model".to_string()
                } else {
                    format!("'{}'", scope.prefix.trim_end_matches('/'))
                }
            )),
        }
    }
}

fn check_name(field: &str, name: &str) -> Result<()> {
    if name.is_empty()
        || name.len() > MAX_NAME_LEN
        || name.contains('/')
        || name.chars().any(char::is_control)
    {
        let shown: String = name.chars().take(40).collect();
        return Err(Error::spec(format!(
            "model spec: {field} {shown:?} is not a usable name (1 to {MAX_NAME_LEN} characters, \
             no '/' and no control characters)"
        )));
    }
    Ok(())
}

/// The block's parameters bound to an instance's arguments (defaults filled in).
fn bind_args(
    name: &str,
    block: &str,
    params: &Map<String, Value>,
    args: &Map<String, Value>,
) -> Result<Map<String, Value>> {
    for key in args.keys() {
        if !params.contains_key(key) {
            let known: Vec<&str> = params.keys().map(String::as_str).collect();
            return Err(Error::spec(format!(
                "layer '{name}': block {block:?} has no parameter {key:?} (it takes {})",
                if known.is_empty() { "none".to_string() } else { known.join(", ") }
            )));
        }
    }
    let mut bound = Map::new();
    for (key, default) in params {
        match args.get(key).or(Some(default)).filter(|v| !v.is_null()) {
            Some(v) => {
                bound.insert(key.clone(), v.clone());
            }
            None => {
                return Err(Error::spec(format!(
                    "layer '{name}': block {block:?} needs the argument {key:?}"
                )))
            }
        }
    }
    Ok(bound)
}

/// Replaces every `"$param"` string in `map` (recursively) by the argument's value.
fn substitute_map(
    map: &mut Map<String, Value>,
    args: &Map<String, Value>,
    layer: &str,
) -> Result<()> {
    for v in map.values_mut() {
        substitute(v, args, layer)?;
    }
    Ok(())
}

fn substitute(v: &mut Value, args: &Map<String, Value>, layer: &str) -> Result<()> {
    match v {
        Value::String(s) if s.starts_with('$') => {
            let key = &s[1..];
            *v = args.get(key).cloned().ok_or_else(|| {
                Error::spec(format!(
                    "layer '{layer}': \"${key}\" is not a parameter of the enclosing block"
                ))
            })?;
        }
        Value::Array(items) => {
            for i in items {
                substitute(i, args, layer)?;
            }
        }
        Value::Object(m) => substitute_map(m, args, layer)?,
        _ => {}
    }
    Ok(())
}

/// JSON values in `v`, itself included (arrays and objects count their entries).
fn value_count(v: &Value) -> usize {
    match v {
        Value::Array(items) => 1 + items.iter().map(value_count).sum::<usize>(),
        Value::Object(m) => 1 + m.values().map(value_count).sum::<usize>(),
        _ => 1,
    }
}

/// Keras's default-name form of a class name: "Conv2D" -> "conv2d", "MaxPool2D" -> "max_pool2d".
pub fn snake_case(class: &str) -> String {
    let mut out = String::with_capacity(class.len() + 4);
    let mut prev_lower = false;
    for ch in class.chars() {
        if ch.is_ascii_uppercase() && prev_lower {
            out.push('_');
        }
        prev_lower = ch.is_ascii_lowercase();
        out.push(ch.to_ascii_lowercase());
    }
    out
}
