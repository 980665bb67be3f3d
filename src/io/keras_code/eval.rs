//! The evaluator: runs the statements of Keras model code over symbolic values (layers,
//! tensors, models) while parsing them, without an intermediate syntax tree.

use std::collections::HashMap;

use serde_json::{Map, Value};

use super::lex::{Tok, Token};
use super::{
    batch, code_fail, keras_class, positional, sequential_json, skipped_key, snake, Names,
    EXPORT_CLASSES,
};
use crate::error::{Error, Result};
use crate::graph::expand::MAX_LAYERS;

mod calls;
mod expr;
mod layers;
mod output;
mod statements;

/// Deepest nesting of expressions, blocks and function calls (no stack overflow on hostile
/// text).
const MAX_DEPTH: usize = 100;
/// Longest list or tuple an expression may build (`[64] * n`).
const MAX_ITEMS: usize = 100_000;

/// A value of the code.
#[derive(Debug, Clone)]
enum V {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    List(Vec<V>),
    Tuple(Vec<V>),
    Dict(Vec<(String, V)>),
    /// A module, class or function reached through imports (`keras.layers.Conv2D`).
    Path(String),
    /// A layer object not yet called.
    Layer(usize),
    /// A symbolic tensor: an input or a layer call's output.
    Tensor(usize),
    Seq(usize),
    Model(usize),
    Func(usize),
    Partial(Box<V>, Vec<V>, Vec<(String, V)>),
    /// `object.name`, for a method call.
    Method(Box<V>, String),
    /// A class defined in the code.
    Custom(String),
    /// What a call that builds nothing returned (described, with its line).
    Opaque(String, usize),
}

impl V {
    fn kind(&self) -> String {
        match self {
            V::None => "None".into(),
            V::Bool(_) => "a boolean".into(),
            V::Int(_) | V::Float(_) => "a number".into(),
            V::Str(_) => "a string".into(),
            V::List(_) => "a list".into(),
            V::Tuple(_) => "a tuple".into(),
            V::Dict(_) => "a dict".into(),
            V::Path(p) => format!("`{p}`"),
            V::Layer(_) => "a layer".into(),
            V::Tensor(_) => "a tensor".into(),
            V::Seq(_) | V::Model(_) => "a model".into(),
            V::Func(_) => "a function".into(),
            V::Partial(..) => "a partial".into(),
            V::Method(_, m) => format!("the method `{m}`"),
            V::Custom(c) => format!("the class `{c}`"),
            V::Opaque(d, l) => format!("`{d}` (line {l}), which builds no layer"),
        }
    }
}

struct LayerObj {
    class: String,
    name: String,
    config: Map<String, Value>,
    line: usize,
    /// `input_shape=` (or `batch_input_shape=`, `input_dim=`) given to it.
    input_shape: Option<Vec<Value>>,
    called: bool,
}

enum Node {
    Input { name: String, shape: Vec<Value> },
    Call { layer: usize, inputs: Vec<usize> },
}

struct Seq {
    name: String,
    input: Option<(String, Vec<Value>)>,
    layers: Vec<usize>,
}

struct Func {
    params: Vec<(String, Option<V>)>,
    body: (usize, usize),
}

enum Flow {
    Next,
    Return(V),
}

/// How a call's arguments are read.
#[derive(Clone, Copy, PartialEq)]
enum Args {
    Eval,
    /// A layer constructor: initializers and the like are skipped unevaluated.
    Layer,
    /// A call that builds nothing: its arguments are skipped.
    Skip,
}

pub(super) struct Eval {
    toks: Vec<Token>,
    pos: usize,
    globals: HashMap<String, V>,
    frames: Vec<HashMap<String, V>>,
    star: bool,
    depth: usize,
    layers: Vec<LayerObj>,
    nodes: Vec<Node>,
    seqs: Vec<Seq>,
    models: Vec<(usize, usize, String)>,
    funcs: Vec<Func>,
    last_model: Option<V>,
    names: Names,
}

type Kwargs = Vec<(String, V)>;

impl Eval {
    pub(super) fn new(toks: Vec<Token>) -> Self {
        Self {
            toks,
            pos: 0,
            globals: HashMap::new(),
            frames: Vec::new(),
            star: false,
            depth: 0,
            layers: Vec::new(),
            nodes: Vec::new(),
            seqs: Vec::new(),
            models: Vec::new(),
            funcs: Vec::new(),
            last_model: None,
            names: Names::default(),
        }
    }

    pub(super) fn run(&mut self) -> Result<()> {
        while !matches!(self.peek(), Tok::End) {
            if let Flow::Return(_) = self.statement()? {
                return Err(self.fail("`return` outside a function"));
            }
        }
        Ok(())
    }

    // ---- tokens ----

    fn peek(&self) -> &Tok {
        &self.toks[self.pos.min(self.toks.len() - 1)].tok
    }

    fn peek_at(&self, k: usize) -> &Tok {
        &self.toks[(self.pos + k).min(self.toks.len() - 1)].tok
    }

    fn line(&self) -> usize {
        self.toks[self.pos.min(self.toks.len() - 1)].line
    }

    /// The current token; always moves on (up to one past the end, where `peek` still gives
    /// `End`), so `self.pos -= 1` always undoes it.
    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        self.pos = (self.pos + 1).min(self.toks.len());
        t
    }

    fn is_op(&self, op: &str) -> bool {
        matches!(self.peek(), Tok::Op(o) if *o == op)
    }

    fn eat_op(&mut self, op: &str) -> bool {
        let found = self.is_op(op);
        if found {
            self.next();
        }
        found
    }

    fn expect_op(&mut self, op: &str) -> Result<()> {
        if self.eat_op(op) {
            return Ok(());
        }
        Err(self.fail(format!("expected '{op}', found {}", self.describe())))
    }

    fn describe(&self) -> String {
        match self.peek() {
            Tok::Name(n) => format!("'{n}'"),
            Tok::Int(i) => i.to_string(),
            Tok::Float(f) => f.to_string(),
            Tok::Str { .. } => "a string".into(),
            Tok::Op(o) => format!("'{o}'"),
            Tok::Newline => "the end of the line".into(),
            Tok::Indent => "an indented line".into(),
            Tok::Dedent => "the end of a block".into(),
            Tok::End => "the end of the text".into(),
        }
    }

    fn fail(&self, detail: impl std::fmt::Display) -> Error {
        code_fail(self.line(), detail)
    }

    fn name(&mut self) -> Result<String> {
        match self.next() {
            Tok::Name(n) => Ok(n),
            _ => {
                self.pos -= 1;
                Err(self.fail(format!("expected a name, found {}", self.describe())))
            }
        }
    }

    fn enter(&mut self) -> Result<()> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.fail(format!("nested more than {MAX_DEPTH} deep")));
        }
        Ok(())
    }

    /// Skips one expression without evaluating it (up to a ',', closing bracket, ':' or the
    /// end of the line at this level).
    fn skip_expr(&mut self) {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                Tok::Op("(" | "[" | "{") => depth += 1,
                Tok::Op(")" | "]" | "}") if depth == 0 => return,
                Tok::Op(")" | "]" | "}") => depth -= 1,
                Tok::Op("," | ":" | "=") if depth == 0 => return,
                Tok::Newline | Tok::End if depth == 0 => return,
                Tok::End => return,
                _ => {}
            }
            self.next();
        }
    }

    /// Skips a block after its ':' (an indented block or the rest of the line).
    fn skip_block(&mut self) -> Result<(usize, usize)> {
        if !matches!(self.peek(), Tok::Newline) {
            let start = self.pos;
            while !matches!(self.peek(), Tok::Newline | Tok::End) {
                self.next();
            }
            let end = self.pos;
            self.next();
            return Ok((start, end));
        }
        self.next();
        if !matches!(self.next(), Tok::Indent) {
            return Err(self.fail("expected an indented block"));
        }
        let start = self.pos;
        let mut depth = 1usize;
        loop {
            match self.next() {
                Tok::Indent => depth += 1,
                Tok::Dedent => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok((start, self.pos - 1));
                    }
                }
                Tok::End => return Ok((start, self.pos)),
                _ => {}
            }
        }
    }

    fn end_statement(&mut self) -> Result<()> {
        match self.peek() {
            Tok::Newline => {
                self.next();
                Ok(())
            }
            Tok::Op(";") => {
                self.next();
                Ok(())
            }
            Tok::End | Tok::Dedent => Ok(()),
            _ => Err(self.fail(format!("unexpected {} here", self.describe()))),
        }
    }
}

/// A layer class reached through a `layers` module, or imported by its bare name.
fn is_layer_path(path: &str) -> bool {
    let mut parts = path.rsplit('.');
    let last = parts.next().unwrap_or_default();
    let module: Vec<&str> = parts.collect();
    last.starts_with(|c: char| c.is_ascii_uppercase())
        && (module.is_empty() || module.contains(&"layers"))
}
