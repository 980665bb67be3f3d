//! Statements: imports, `def`, `class` (skipped), `return`, `if __name__ == "__main__":`,
//! assignments and expression statements; names and scopes.

use super::{code_fail, Eval, Flow, Func, V};
use crate::error::Result;
use crate::io::keras_code::lex::Tok;

impl Eval {
    pub(super) fn statement(&mut self) -> Result<Flow> {
        self.enter()?;
        let r = self.statement_inner();
        self.depth -= 1;
        r
    }

    pub(super) fn statement_inner(&mut self) -> Result<Flow> {
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

    pub(super) fn import(&mut self) -> Result<()> {
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

    pub(super) fn import_from(&mut self) -> Result<()> {
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

    pub(super) fn eat_name(&mut self, word: &str) -> Option<Tok> {
        match self.peek() {
            Tok::Name(n) if n == word => Some(self.next()),
            _ => None,
        }
    }

    pub(super) fn dotted(&mut self) -> Result<String> {
        let mut path = self.name()?;
        while self.eat_op(".") {
            path.push('.');
            path.push_str(&self.name()?);
        }
        Ok(path)
    }

    pub(super) fn def(&mut self) -> Result<()> {
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
    pub(super) fn if_main(&mut self) -> Result<Flow> {
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

    pub(super) fn assign_or_expr(&mut self) -> Result<()> {
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

    pub(super) fn bind(&mut self, name: &str, v: V) {
        match self.frames.last_mut() {
            Some(f) => f.insert(name.to_string(), v),
            None => self.globals.insert(name.to_string(), v),
        };
    }

    pub(super) fn lookup(&self, name: &str) -> Result<V> {
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
}
