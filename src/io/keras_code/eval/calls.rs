//! Calls: how arguments are read, what each callee does, user functions.

use std::collections::HashMap;

use serde_json::Value;

use super::{code_fail, is_layer_path, skipped_key, Args, Eval, Flow, Kwargs, EXPORT_CLASSES, V};
use crate::error::Result;
use crate::io::keras_code::lex::Tok;

impl Eval {
    pub(super) fn mode(&self, callee: &V) -> Args {
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

    pub(super) fn call(&mut self, callee: V) -> Result<V> {
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

    pub(super) fn apply(
        &mut self,
        callee: V,
        args: Vec<V>,
        kwargs: Kwargs,
        line: usize,
    ) -> Result<V> {
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

    pub(super) fn invoke(
        &mut self,
        f: usize,
        args: Vec<V>,
        kwargs: Kwargs,
        line: usize,
    ) -> Result<V> {
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
}
