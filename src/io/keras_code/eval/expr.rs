//! Expressions: arithmetic on numbers, lists and tuples; attributes; literals.

use super::{Eval, MAX_ITEMS, V};
use crate::error::Result;
use crate::io::keras_code::lex::Tok;

impl Eval {
    pub(super) fn expr_list(&mut self) -> Result<V> {
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

    pub(super) fn expr(&mut self) -> Result<V> {
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

    pub(super) fn arith(&mut self) -> Result<V> {
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

    pub(super) fn term(&mut self) -> Result<V> {
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

    pub(super) fn factor(&mut self) -> Result<V> {
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

    pub(super) fn binary(&self, op: &str, a: V, b: V) -> Result<V> {
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

    pub(super) fn primary(&mut self) -> Result<V> {
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

    pub(super) fn atom(&mut self) -> Result<V> {
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
}
