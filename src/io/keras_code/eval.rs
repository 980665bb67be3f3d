//! The evaluator: runs the statements of Keras model code over symbolic values (layers,
//! tensors, models) while parsing them, without an intermediate syntax tree.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::lex::{Tok, Token};
use super::{
    batch, code_fail, keras_class, positional, sequential_json, skipped_key, snake, Names,
    EXPORT_CLASSES,
};
use crate::error::{Error, Result};
use crate::graph::expand::MAX_LAYERS;

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

    fn next(&mut self) -> Tok {
        let t = self.peek().clone();
        if self.pos < self.toks.len() - 1 {
            self.pos += 1;
        }
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

    // ---- statements ----

    fn statement(&mut self) -> Result<Flow> {
        self.enter()?;
        let r = self.statement_inner();
        self.depth -= 1;
        r
    }

    fn statement_inner(&mut self) -> Result<Flow> {
        let word = match self.peek() {
            Tok::Newline | Tok::Indent | Tok::Dedent => {
                if matches!(self.peek(), Tok::Indent) {
                    return Err(self.fail("unexpected indentation"));
                }
                self.next();
                return Ok(Flow::Next);
            }
            Tok::Name(n) => n.clone(),
            Tok::Op("@") => return Err(self.fail("decorators are not supported")),
            _ => String::new(),
        };
        match word.as_str() {
            "import" => self.import()?,
            "from" => self.import_from()?,
            "def" => self.def()?,
            "class" => {
                self.next();
                let name = self.name()?;
                while !self.eat_op(":") {
                    if matches!(self.peek(), Tok::Newline | Tok::End) {
                        return Err(self.fail("expected ':' after the class header"));
                    }
                    self.next();
                }
                self.skip_block()?;
                self.bind(&name, V::Custom(name.clone()));
            }
            "return" => {
                self.next();
                let v = if matches!(self.peek(), Tok::Newline | Tok::End | Tok::Op(";")) {
                    V::None
                } else {
                    self.expr_list()?
                };
                self.end_statement()?;
                return Ok(Flow::Return(v));
            }
            "pass" => {
                self.next();
                self.end_statement()?;
            }
            "if" => return self.if_main(),
            "for" | "while" | "with" | "try" | "lambda" | "global" | "nonlocal" | "del"
            | "async" | "await" | "assert" | "raise" | "yield" | "elif" | "else" | "except"
            | "finally" | "match" => {
                return Err(self.fail(format!(
                    "`{word}` is not supported: convlab reads code that builds the layers one \
                     statement at a time (write the layers out, or import model.to_json())"
                )))
            }
            _ => self.assign_or_expr()?,
        }
        Ok(Flow::Next)
    }

    fn import(&mut self) -> Result<()> {
        self.next();
        loop {
            let path = self.dotted()?;
            if let Some(Tok::Name(_)) = self.eat_name("as") {
                let alias = self.name()?;
                self.bind(&alias, V::Path(path));
            } else {
                let first = path.split('.').next().unwrap_or_default().to_string();
                self.bind(&first.clone(), V::Path(first));
            }
            if !self.eat_op(",") {
                break;
            }
        }
        self.end_statement()
    }

    fn import_from(&mut self) -> Result<()> {
        self.next();
        while self.eat_op(".") {}
        let module = self.dotted()?;
        if self.eat_name("import").is_none() {
            return Err(self.fail("expected `import` after `from ...`"));
        }
        if self.eat_op("*") {
            self.star = true;
            return self.end_statement();
        }
        let paren = self.eat_op("(");
        loop {
            if paren && self.is_op(")") {
                break;
            }
            let name = self.name()?;
            let alias = if self.eat_name("as").is_some() { self.name()? } else { name.clone() };
            self.bind(&alias, V::Path(format!("{module}.{name}")));
            if !self.eat_op(",") {
                break;
            }
        }
        if paren {
            self.expect_op(")")?;
        }
        self.end_statement()
    }

    fn eat_name(&mut self, word: &str) -> Option<Tok> {
        match self.peek() {
            Tok::Name(n) if n == word => Some(self.next()),
            _ => None,
        }
    }

    fn dotted(&mut self) -> Result<String> {
        let mut path = self.name()?;
        while self.eat_op(".") {
            path.push('.');
            path.push_str(&self.name()?);
        }
        Ok(path)
    }

    fn def(&mut self) -> Result<()> {
        self.next();
        let name = self.name()?;
        self.expect_op("(")?;
        let mut params = Vec::new();
        while !self.eat_op(")") {
            if self.is_op("*") || self.is_op("**") || self.is_op("/") {
                return Err(self.fail(format!(
                    "function `{name}`: `*args`, `**kwargs` and `/` parameters are not supported"
                )));
            }
            let p = self.name()?;
            if self.eat_op(":") {
                self.skip_expr();
            }
            let default = if self.eat_op("=") { Some(self.expr()?) } else { None };
            params.push((p, default));
            if !self.eat_op(",") {
                self.expect_op(")")?;
                break;
            }
        }
        if self.eat_op("->") {
            self.skip_expr();
        }
        self.expect_op(":")?;
        let body = self.skip_block()?;
        let id = self.funcs.len();
        self.funcs.push(Func { params, body });
        self.bind(&name, V::Func(id));
        Ok(())
    }

    /// `if __name__ == "__main__":` runs its block; any other condition is refused.
    fn if_main(&mut self) -> Result<Flow> {
        self.next();
        let main = matches!(self.peek(), Tok::Name(n) if n == "__name__")
            && matches!(self.peek_at(1), Tok::Op("=="))
            && matches!(self.peek_at(2), Tok::Str { value, .. } if value == "__main__")
            && matches!(self.peek_at(3), Tok::Op(":"));
        if !main {
            return Err(self.fail(
                "`if` is not supported (only `if __name__ == \"__main__\":`): write the layers \
                 the code builds out",
            ));
        }
        self.pos += 4;
        if !matches!(self.peek(), Tok::Newline) {
            return self.statement();
        }
        self.next();
        if !matches!(self.next(), Tok::Indent) {
            return Err(self.fail("expected an indented block"));
        }
        while !matches!(self.peek(), Tok::Dedent | Tok::End) {
            if let Flow::Return(v) = self.statement()? {
                return Ok(Flow::Return(v));
            }
        }
        self.next();
        if matches!(self.peek(), Tok::Name(n) if n == "else" || n == "elif") {
            return Err(self.fail("`else` is not supported"));
        }
        Ok(Flow::Next)
    }

    fn assign_or_expr(&mut self) -> Result<()> {
        // Targets: everything before a top-level '=' on this line.
        let mut targets: Vec<Vec<String>> = Vec::new();
        loop {
            let (mut k, mut depth, mut eq) = (self.pos, 0usize, None);
            while k < self.toks.len() {
                match &self.toks[k].tok {
                    Tok::Op("(" | "[" | "{") => depth += 1,
                    Tok::Op(")" | "]" | "}") => depth = depth.saturating_sub(1),
                    Tok::Op("=") if depth == 0 => {
                        eq = Some(k);
                        break;
                    }
                    Tok::Op(o)
                        if depth == 0
                            && o.len() >= 2
                            && o.ends_with('=')
                            && !matches!(*o, "==" | "!=" | "<=" | ">=") =>
                    {
                        return Err(code_fail(self.toks[k].line, format!("`{o}` is not supported")))
                    }
                    Tok::Op(";") | Tok::Newline | Tok::End if depth == 0 => break,
                    _ => {}
                }
                k += 1;
            }
            let Some(eq) = eq else { break };
            let mut names = Vec::new();
            while self.pos < eq {
                match self.next() {
                    Tok::Name(n) if matches!(self.peek(), Tok::Op("," | "=" | ")" | "]")) => {
                        names.push(n)
                    }
                    Tok::Op("," | "(" | ")" | "[" | "]") => {}
                    Tok::Name(_) if self.is_op(".") => {
                        // `model.trainable = False` and the like: attributes are not read.
                        self.pos = eq + 1;
                        self.skip_expr();
                        return self.end_statement();
                    }
                    _ => {
                        self.pos -= 1;
                        return Err(self.fail("only names can be assigned to"));
                    }
                }
            }
            self.pos = eq + 1;
            targets.push(names);
        }
        let value = self.expr_list()?;
        for names in targets {
            match names.as_slice() {
                [one] => self.bind(one, value.clone()),
                many => {
                    let items = match &value {
                        V::Tuple(v) | V::List(v) if v.len() == many.len() => v.clone(),
                        other => {
                            return Err(self.fail(format!(
                                "cannot unpack {} into {} names",
                                other.kind(),
                                many.len()
                            )))
                        }
                    };
                    for (n, v) in many.iter().zip(items) {
                        self.bind(n, v);
                    }
                }
            }
        }
        self.end_statement()
    }

    fn bind(&mut self, name: &str, v: V) {
        match self.frames.last_mut() {
            Some(f) => f.insert(name.to_string(), v),
            None => self.globals.insert(name.to_string(), v),
        };
    }

    fn lookup(&self, name: &str) -> Result<V> {
        if let Some(v) = self.frames.last().and_then(|f| f.get(name)) {
            return Ok(v.clone());
        }
        if let Some(v) = self.globals.get(name) {
            return Ok(v.clone());
        }
        match name {
            "print" | "len" | "sum" | "int" | "float" | "str" | "range" => Ok(V::Path(name.into())),
            _ if self.star => Ok(V::Path(name.into())),
            _ => Err(self.fail(format!("the name '{name}' is not defined"))),
        }
    }

    // ---- expressions ----

    fn expr_list(&mut self) -> Result<V> {
        let first = self.expr()?;
        if !self.is_op(",") {
            return Ok(first);
        }
        let mut items = vec![first];
        while self.eat_op(",") {
            if matches!(self.peek(), Tok::Newline | Tok::End | Tok::Op(";" | "=" | ")")) {
                break;
            }
            items.push(self.expr()?);
        }
        Ok(V::Tuple(items))
    }

    fn expr(&mut self) -> Result<V> {
        self.enter()?;
        let r = self.arith();
        self.depth -= 1;
        let v = r?;
        match self.peek() {
            Tok::Name(n)
                if matches!(n.as_str(), "if" | "for" | "and" | "or" | "in" | "is" | "not") =>
            {
                Err(self.fail(format!("`{n}` in an expression is not supported")))
            }
            Tok::Op(
                o @ ("==" | "!=" | "<" | ">" | "<=" | ">=" | "|" | "&" | "^" | "@" | "<<" | ">>"),
            ) => Err(self.fail(format!("the operator `{o}` is not supported"))),
            _ => Ok(v),
        }
    }

    fn arith(&mut self) -> Result<V> {
        let mut v = self.term()?;
        loop {
            let op = match self.peek() {
                Tok::Op(o @ ("+" | "-")) => *o,
                _ => return Ok(v),
            };
            self.next();
            let r = self.term()?;
            v = self.binary(op, v, r)?;
        }
    }

    fn term(&mut self) -> Result<V> {
        let mut v = self.factor()?;
        loop {
            let op = match self.peek() {
                Tok::Op(o @ ("*" | "/" | "//" | "%")) => *o,
                _ => return Ok(v),
            };
            self.next();
            let r = self.factor()?;
            v = self.binary(op, v, r)?;
        }
    }

    fn factor(&mut self) -> Result<V> {
        if self.eat_op("-") {
            self.enter()?;
            let v = self.factor();
            self.depth -= 1;
            return self.binary("-", V::Int(0), v?);
        }
        if self.eat_op("+") {
            self.enter()?;
            let v = self.factor();
            self.depth -= 1;
            return v;
        }
        let base = self.primary()?;
        if self.eat_op("**") {
            self.enter()?;
            let e = self.factor();
            self.depth -= 1;
            return self.binary("**", base, e?);
        }
        Ok(base)
    }

    fn binary(&self, op: &str, a: V, b: V) -> Result<V> {
        let overflow = || self.fail(format!("the number is too large (`{op}`)"));
        let f = |v: &V| match v {
            V::Int(i) => Some(*i as f64),
            V::Float(x) => Some(*x),
            V::Bool(b) => Some(f64::from(u8::from(*b))),
            _ => None,
        };
        let repeat = |items: &[V], n: i64| -> Result<Vec<V>> {
            let n = usize::try_from(n.max(0)).unwrap_or(0);
            if items.len().saturating_mul(n) > MAX_ITEMS {
                return Err(self.fail(format!("a list of more than {MAX_ITEMS} items")));
            }
            Ok(items.iter().cloned().cycle().take(items.len() * n).collect())
        };
        Ok(match (op, &a, &b) {
            ("+", V::Int(x), V::Int(y)) => V::Int(x.checked_add(*y).ok_or_else(overflow)?),
            ("-", V::Int(x), V::Int(y)) => V::Int(x.checked_sub(*y).ok_or_else(overflow)?),
            ("*", V::Int(x), V::Int(y)) => V::Int(x.checked_mul(*y).ok_or_else(overflow)?),
            ("//", V::Int(_), V::Int(0)) | ("%", V::Int(_), V::Int(0)) => {
                return Err(self.fail("division by zero"))
            }
            ("//", V::Int(x), V::Int(y)) => V::Int(x.checked_div_euclid(*y).ok_or_else(overflow)?),
            ("%", V::Int(x), V::Int(y)) => V::Int(x.checked_rem_euclid(*y).ok_or_else(overflow)?),
            ("**", V::Int(x), V::Int(y)) if *y >= 0 => {
                V::Int(u32::try_from(*y).ok().and_then(|y| x.checked_pow(y)).ok_or_else(overflow)?)
            }
            ("+", V::Str(x), V::Str(y)) => V::Str(format!("{x}{y}")),
            ("+", V::List(x), V::List(y)) => {
                V::List(repeat(x, 1)?.into_iter().chain(repeat(y, 1)?).collect())
            }
            ("+", V::Tuple(x), V::Tuple(y)) => {
                V::Tuple(repeat(x, 1)?.into_iter().chain(repeat(y, 1)?).collect())
            }
            ("*", V::List(x), V::Int(n)) | ("*", V::Int(n), V::List(x)) => V::List(repeat(x, *n)?),
            ("*", V::Tuple(x), V::Int(n)) | ("*", V::Int(n), V::Tuple(x)) => {
                V::Tuple(repeat(x, *n)?)
            }
            _ => match (f(&a), f(&b)) {
                (Some(x), Some(y)) => {
                    let r = match op {
                        "+" => x + y,
                        "-" => x - y,
                        "*" => x * y,
                        "/" | "//" | "%" if y == 0.0 => return Err(self.fail("division by zero")),
                        "/" => x / y,
                        "//" => (x / y).floor(),
                        "%" => x.rem_euclid(y),
                        _ => x.powf(y),
                    };
                    if !r.is_finite() {
                        return Err(overflow());
                    }
                    V::Float(r)
                }
                _ => {
                    return Err(self.fail(format!(
                        "`{op}` on {} and {}: convlab reads arithmetic on numbers only (tensors \
                         are combined with layers such as layers.Add())",
                        a.kind(),
                        b.kind()
                    )))
                }
            },
        })
    }

    fn primary(&mut self) -> Result<V> {
        let mut v = self.atom()?;
        loop {
            if self.eat_op(".") {
                let attr = self.name()?;
                v = match v {
                    V::Path(p) => V::Path(format!("{p}.{attr}")),
                    V::Seq(_) | V::Model(_) | V::Layer(_) => V::Method(Box::new(v), attr),
                    V::Tensor(_) => V::Opaque(format!("tensor.{attr}"), self.line()),
                    V::Opaque(d, l) => V::Opaque(format!("{d}.{attr}"), l),
                    other => {
                        return Err(
                            self.fail(format!("{} has no attribute `{attr}` here", other.kind()))
                        )
                    }
                };
            } else if self.is_op("(") {
                v = self.call(v)?;
            } else if self.is_op("[") {
                return Err(self.fail("subscripts (`x[...]`) are not supported"));
            } else {
                return Ok(v);
            }
        }
    }

    fn atom(&mut self) -> Result<V> {
        let line = self.line();
        match self.next() {
            Tok::Int(i) => Ok(V::Int(i)),
            Tok::Float(f) => Ok(V::Float(f)),
            Tok::Str { mut value, formatted } => {
                let mut f = formatted;
                while let Tok::Str { value: more, formatted } = self.peek().clone() {
                    value.push_str(&more);
                    f |= formatted;
                    self.next();
                }
                if f {
                    return Ok(V::Opaque("an f-string".into(), line));
                }
                Ok(V::Str(value))
            }
            Tok::Name(n) => match n.as_str() {
                "None" => Ok(V::None),
                "True" => Ok(V::Bool(true)),
                "False" => Ok(V::Bool(false)),
                "lambda" | "not" | "yield" | "await" => {
                    self.pos -= 1;
                    Err(self.fail(format!("`{n}` is not supported")))
                }
                _ => self.lookup(&n),
            },
            Tok::Op("(") => {
                if self.eat_op(")") {
                    return Ok(V::Tuple(Vec::new()));
                }
                let first = self.expr()?;
                if self.eat_op(")") {
                    return Ok(first);
                }
                let mut items = vec![first];
                while self.eat_op(",") {
                    if self.is_op(")") {
                        break;
                    }
                    items.push(self.expr()?);
                }
                self.expect_op(")")?;
                Ok(V::Tuple(items))
            }
            Tok::Op("[") => {
                let mut items = Vec::new();
                while !self.eat_op("]") {
                    items.push(self.expr()?);
                    if !self.eat_op(",") {
                        self.expect_op("]")?;
                        break;
                    }
                }
                Ok(V::List(items))
            }
            Tok::Op("{") => {
                let mut items = Vec::new();
                while !self.eat_op("}") {
                    let k = match self.expr()? {
                        V::Str(s) => s,
                        other => return Err(self.fail(format!("a dict key is {}", other.kind()))),
                    };
                    self.expect_op(":")?;
                    items.push((k, self.expr()?));
                    if !self.eat_op(",") {
                        self.expect_op("}")?;
                        break;
                    }
                }
                Ok(V::Dict(items))
            }
            _ => {
                self.pos -= 1;
                Err(self.fail(format!("unexpected {}", self.describe())))
            }
        }
    }

    // ---- calls ----

    fn mode(&self, callee: &V) -> Args {
        match callee {
            V::Path(p) => {
                let last = p.rsplit('.').next().unwrap_or_default();
                match last {
                    "Sequential" | "Model" | "Functional" | "Input" | "partial" | "concatenate"
                    | "add" | "multiply" => Args::Eval,
                    _ if is_layer_path(p) => Args::Layer,
                    _ => Args::Skip,
                }
            }
            V::Custom(c) if EXPORT_CLASSES.contains(&c.as_str()) => Args::Layer,
            V::Method(_, m) if matches!(m.as_str(), "add" | "build") => Args::Eval,
            V::Method(..) | V::Opaque(..) => Args::Skip,
            V::Partial(base, ..) => self.mode(base),
            _ => Args::Eval,
        }
    }

    fn call(&mut self, callee: V) -> Result<V> {
        let line = self.line();
        self.expect_op("(")?;
        let mode = self.mode(&callee);
        let (mut args, mut kwargs): (Vec<V>, Kwargs) = (Vec::new(), Vec::new());
        while !self.eat_op(")") {
            if mode == Args::Skip {
                self.skip_expr();
                if self.eat_op("=") {
                    self.skip_expr();
                }
            } else if self.is_op("*") || self.is_op("**") {
                return Err(self.fail("`*args` and `**kwargs` in calls are not supported"));
            } else if matches!(self.peek(), Tok::Name(_)) && matches!(self.peek_at(1), Tok::Op("="))
            {
                let key = self.name()?;
                self.next();
                if mode == Args::Layer && skipped_key(&key) {
                    self.skip_expr();
                } else {
                    let v = self.expr()?;
                    if kwargs.iter().any(|(k, _)| *k == key) {
                        return Err(self.fail(format!("the argument `{key}` is given twice")));
                    }
                    kwargs.push((key, v));
                }
            } else {
                if !kwargs.is_empty() {
                    return Err(self.fail("a positional argument after a keyword argument"));
                }
                args.push(self.expr()?);
            }
            if !self.eat_op(",") {
                self.expect_op(")")?;
                break;
            }
        }
        self.apply(callee, args, kwargs, line)
    }

    fn apply(&mut self, callee: V, args: Vec<V>, kwargs: Kwargs, line: usize) -> Result<V> {
        let fail = |d: String| code_fail(line, d);
        match callee {
            V::Path(p) => {
                let last = p.rsplit('.').next().unwrap_or_default().to_string();
                match last.as_str() {
                    "Sequential" => self.sequential(args, kwargs, line),
                    "Model" | "Functional" => self.functional(args, kwargs, line),
                    "Input" => self.input(args, kwargs, line),
                    "partial" => {
                        let mut it = args.into_iter();
                        let base =
                            it.next().ok_or_else(|| fail("partial() needs a function".into()))?;
                        Ok(V::Partial(Box::new(base), it.collect(), kwargs))
                    }
                    "concatenate" | "add" | "multiply" => {
                        let class = match last.as_str() {
                            "concatenate" => "Concatenate",
                            "add" => "Add",
                            _ => "Multiply",
                        };
                        let mut it = args.into_iter();
                        let inputs = it
                            .next()
                            .ok_or_else(|| fail(format!("{last}() needs a list of tensors")))?;
                        let layer = self.layer(class, it.collect(), kwargs, line)?;
                        self.call_layer(layer, vec![inputs], Vec::new(), line)
                    }
                    _ if is_layer_path(&p) => self.layer(&last, args, kwargs, line),
                    _ => Ok(V::Opaque(format!("{p}(...)"), line)),
                }
            }
            V::Custom(c) if EXPORT_CLASSES.contains(&c.as_str()) => {
                self.layer(&c, args, kwargs, line)
            }
            V::Custom(c) => Err(fail(format!(
                "`{c}` is a class defined in this code; convlab cannot run custom layer code \
                 (write it with Keras layers, or import model.to_json())"
            ))),
            V::Layer(l) => self.call_layer(V::Layer(l), args, kwargs, line),
            V::Partial(base, mut pargs, mut pkw) => {
                pargs.extend(args);
                for (k, v) in kwargs {
                    pkw.retain(|(pk, _)| *pk != k);
                    pkw.push((k, v));
                }
                self.apply(*base, pargs, pkw, line)
            }
            V::Func(f) => self.invoke(f, args, kwargs, line),
            V::Method(obj, m) => match (*obj, m.as_str()) {
                (V::Seq(s), "add") => {
                    let [item] = <[V; 1]>::try_from(args)
                        .map_err(|_| fail("add() takes one layer".into()))?;
                    self.seq_push(s, item, line)?;
                    self.last_model = Some(V::Seq(s));
                    Ok(V::None)
                }
                (V::Seq(s), "build") => {
                    let shape = args.into_iter().next().or_else(|| {
                        kwargs.into_iter().find(|(k, _)| k == "input_shape").map(|(_, v)| v)
                    });
                    if let (Some(shape), None) = (shape, &self.seqs[s].input) {
                        let dims = self.shape_of(&shape, line)?;
                        let dims = dims.get(1..).map(<[Value]>::to_vec).unwrap_or_default();
                        let name = self.names.auto("input_layer");
                        self.seqs[s].input = Some((name, dims));
                    }
                    Ok(V::None)
                }
                (obj, m) => Ok(V::Opaque(format!("{}.{m}(...)", obj.kind()), line)),
            },
            V::Seq(_) | V::Model(_) => Err(fail(
                "a model called as a layer (a nested model): convlab imports one flat model; \
                 write the inner model's layers inline"
                    .into(),
            )),
            V::Opaque(d, _) => Ok(V::Opaque(format!("{d}(...)"), line)),
            other => Err(fail(format!("{} cannot be called", other.kind()))),
        }
    }

    fn invoke(&mut self, f: usize, args: Vec<V>, kwargs: Kwargs, line: usize) -> Result<V> {
        if self.frames.len() >= 32 {
            return Err(code_fail(line, "functions call each other more than 32 deep"));
        }
        let params = self.funcs[f].params.clone();
        if args.len() > params.len() {
            return Err(code_fail(
                line,
                format!("{} arguments for {} parameters", args.len(), params.len()),
            ));
        }
        let mut locals: HashMap<String, V> = HashMap::new();
        for ((p, _), v) in params.iter().zip(args) {
            locals.insert(p.clone(), v);
        }
        for (k, v) in kwargs {
            if !params.iter().any(|(p, _)| *p == k) {
                return Err(code_fail(line, format!("the function has no parameter `{k}`")));
            }
            if locals.insert(k.clone(), v).is_some() {
                return Err(code_fail(line, format!("the argument `{k}` is given twice")));
            }
        }
        for (p, default) in &params {
            if !locals.contains_key(p) {
                let v = default
                    .clone()
                    .ok_or_else(|| code_fail(line, format!("the parameter `{p}` is not given")))?;
                locals.insert(p.clone(), v);
            }
        }
        let (start, end) = self.funcs[f].body;
        let saved = self.pos;
        self.pos = start;
        self.frames.push(locals);
        let mut result = Ok(V::None);
        while self.pos < end && !matches!(self.peek(), Tok::End) {
            match self.statement() {
                Ok(Flow::Next) => {}
                Ok(Flow::Return(v)) => {
                    result = Ok(v);
                    break;
                }
                Err(e) => {
                    result = Err(e);
                    break;
                }
            }
        }
        self.frames.pop();
        self.pos = saved;
        result
    }

    // ---- layers and models ----

    fn layer(&mut self, class: &str, args: Vec<V>, kwargs: Kwargs, line: usize) -> Result<V> {
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
    fn shape_of(&self, v: &V, line: usize) -> Result<Vec<Value>> {
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

    fn json(&self, v: &V, key: &str, line: usize) -> Result<Value> {
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

    fn input(&mut self, args: Vec<V>, kwargs: Kwargs, line: usize) -> Result<V> {
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

    fn call_layer(&mut self, layer: V, args: Vec<V>, kwargs: Kwargs, line: usize) -> Result<V> {
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

    fn sequential(&mut self, args: Vec<V>, kwargs: Kwargs, line: usize) -> Result<V> {
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

    fn seq_push(&mut self, s: usize, item: V, line: usize) -> Result<()> {
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

    fn functional(&mut self, args: Vec<V>, kwargs: Kwargs, line: usize) -> Result<V> {
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

    /// The model the code built, as Keras's JSON, and the line of each layer.
    pub(super) fn model_json(&mut self) -> Result<(Value, HashMap<String, usize>)> {
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

    fn functional_json(&self, m: usize) -> Result<Value> {
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

/// A layer class reached through a `layers` module, or imported by its bare name.
fn is_layer_path(path: &str) -> bool {
    let mut parts = path.rsplit('.');
    let last = parts.next().unwrap_or_default();
    let module: Vec<&str> = parts.collect();
    last.starts_with(|c: char| c.is_ascii_uppercase())
        && (module.is_empty() || module.contains(&"layers"))
}
