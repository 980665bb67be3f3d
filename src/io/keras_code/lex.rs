//! Python's tokens, as far as Keras model code needs them: names, numbers, strings (all
//! quoting forms), operators, and the NEWLINE / INDENT / DEDENT structure of blocks.

/// One token.
#[derive(Debug, Clone, PartialEq)]
pub(super) enum Tok {
    Name(String),
    Int(i64),
    Float(f64),
    /// A string literal's value; `formatted` for an f-string (its braces are not evaluated).
    Str {
        value: String,
        formatted: bool,
    },
    Op(&'static str),
    Newline,
    Indent,
    Dedent,
    End,
}

/// A token and the 1-based line it starts on.
#[derive(Debug, Clone)]
pub(super) struct Token {
    pub tok: Tok,
    pub line: usize,
}

/// Longest first, so `**` wins over `*`.
const OPS: &[&str] = &[
    "**=", "//=", ">>=", "<<=", "...", "**", "//", "==", "!=", "<=", ">=", "->", ":=", "+=", "-=",
    "*=", "/=", "%=", "&=", "|=", "^=", "@=", "<<", ">>", "(", ")", "[", "]", "{", "}", ",", ":",
    "=", ".", "*", "+", "-", "/", "%", "<", ">", "@", ";", "~", "|", "&", "^",
];

/// Splits `text` into tokens. Errors are `line N: what`.
pub(super) fn lex(text: &str) -> Result<Vec<Token>, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out: Vec<Token> = Vec::new();
    let mut indents = vec![0usize];
    let mut depth = 0usize;
    let (mut i, mut line) = (0usize, 1usize);
    let mut at_line_start = true;
    let n = chars.len();
    while i < n {
        if at_line_start && depth == 0 {
            // Measure the indentation; blank and comment-only lines do not count.
            let mut col = 0;
            while i < n && matches!(chars[i], ' ' | '\t' | '\x0c') {
                col = if chars[i] == '\t' { (col / 8 + 1) * 8 } else { col + 1 };
                i += 1;
            }
            if i >= n {
                break;
            }
            if matches!(chars[i], '\n' | '\r' | '#') {
                while i < n && chars[i] != '\n' {
                    i += 1;
                }
                i += 1;
                line += 1;
                continue;
            }
            at_line_start = false;
            let top = *indents.last().unwrap_or(&0);
            if col > top {
                indents.push(col);
                out.push(Token { tok: Tok::Indent, line });
            } else {
                while col < *indents.last().unwrap_or(&0) {
                    indents.pop();
                    out.push(Token { tok: Tok::Dedent, line });
                }
                if col != *indents.last().unwrap_or(&0) {
                    return Err(format!("line {line}: the indentation matches no outer block"));
                }
            }
        }
        let c = chars[i];
        match c {
            '\n' => {
                if depth == 0 && !matches!(out.last().map(|t| &t.tok), Some(Tok::Newline) | None) {
                    out.push(Token { tok: Tok::Newline, line });
                }
                line += 1;
                i += 1;
                // Inside brackets a line break continues the line (no indentation).
                at_line_start = depth == 0;
            }
            ' ' | '\t' | '\r' | '\x0c' => i += 1,
            '#' => {
                while i < n && chars[i] != '\n' {
                    i += 1;
                }
            }
            '\\' if chars.get(i + 1) == Some(&'\n') => {
                i += 2;
                line += 1;
            }
            '\\' if chars.get(i + 1) == Some(&'\r') && chars.get(i + 2) == Some(&'\n') => {
                i += 3;
                line += 1;
            }
            c if c.is_ascii_digit()
                || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit)) =>
            {
                let start = i;
                while i < n
                    && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '.')
                {
                    // An exponent's sign belongs to the number.
                    if matches!(chars[i], 'e' | 'E')
                        && matches!(chars.get(i + 1), Some('+' | '-'))
                        && !chars[start..i].iter().any(|c| matches!(c, 'x' | 'X'))
                    {
                        i += 1;
                    }
                    i += 1;
                }
                let word: String = chars[start..i].iter().filter(|&&c| c != '_').collect();
                out.push(Token { tok: number(&word, line)?, line });
            }
            c if c.is_alphabetic() || c == '_' => {
                let start = i;
                while i < n && (chars[i].is_alphanumeric() || chars[i] == '_') {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let prefix = word.to_ascii_lowercase();
                if matches!(chars.get(i), Some('"' | '\''))
                    && matches!(prefix.as_str(), "r" | "b" | "u" | "f" | "rb" | "br" | "fr" | "rf")
                {
                    let (value, next, lines) = string(&chars, i, prefix.contains('r'), line)?;
                    out.push(Token {
                        tok: Tok::Str { value, formatted: prefix.contains('f') },
                        line,
                    });
                    line += lines;
                    i = next;
                } else {
                    out.push(Token { tok: Tok::Name(word), line });
                }
            }
            '"' | '\'' => {
                let (value, next, lines) = string(&chars, i, false, line)?;
                out.push(Token { tok: Tok::Str { value, formatted: false }, line });
                line += lines;
                i = next;
            }
            _ => {
                let rest: String = chars[i..n.min(i + 3)].iter().collect();
                let op = OPS
                    .iter()
                    .find(|op| rest.starts_with(**op))
                    .ok_or_else(|| format!("line {line}: unexpected character {c:?}"))?;
                match *op {
                    "(" | "[" | "{" => depth += 1,
                    ")" | "]" | "}" => {
                        depth = depth.checked_sub(1).ok_or_else(|| {
                            format!("line {line}: {op} closes nothing that was opened")
                        })?
                    }
                    _ => {}
                }
                out.push(Token { tok: Tok::Op(op), line });
                i += op.len();
            }
        }
    }
    if depth > 0 {
        return Err(format!(
            "line {line}: the text ends inside brackets (a missing ')', ']' or '}}')"
        ));
    }
    if !matches!(out.last().map(|t| &t.tok), Some(Tok::Newline) | None) {
        out.push(Token { tok: Tok::Newline, line });
    }
    for _ in 1..indents.len() {
        out.push(Token { tok: Tok::Dedent, line });
    }
    out.push(Token { tok: Tok::End, line });
    Ok(out)
}

fn number(word: &str, line: usize) -> Result<Tok, String> {
    let bad = || format!("line {line}: {word:?} is not a number convlab reads");
    let lower = word.to_ascii_lowercase();
    if let Some(hex) = lower.strip_prefix("0x") {
        return i64::from_str_radix(hex, 16).map(Tok::Int).map_err(|_| bad());
    }
    if lower.contains(['.', 'e']) {
        return lower.parse::<f64>().ok().filter(|f| f.is_finite()).map(Tok::Float).ok_or_else(bad);
    }
    lower.parse::<i64>().map(Tok::Int).map_err(|_| bad())
}

/// A string literal starting at `chars[start]` (its quote): the value, the index after it and
/// the line breaks inside it.
fn string(
    chars: &[char],
    start: usize,
    raw: bool,
    line: usize,
) -> Result<(String, usize, usize), String> {
    let q = chars[start];
    let triple = chars.get(start + 1) == Some(&q) && chars.get(start + 2) == Some(&q);
    let mut i = start + if triple { 3 } else { 1 };
    let (mut value, mut lines) = (String::new(), 0);
    loop {
        let Some(&c) = chars.get(i) else {
            return Err(format!("line {line}: a string is not closed"));
        };
        if c == q && (!triple || (chars.get(i + 1) == Some(&q) && chars.get(i + 2) == Some(&q))) {
            return Ok((value, i + if triple { 3 } else { 1 }, lines));
        }
        if c == '\n' {
            if !triple {
                return Err(format!("line {line}: a string is not closed on its line"));
            }
            lines += 1;
        }
        if c == '\\' && !raw {
            let e = chars.get(i + 1).copied().unwrap_or('\\');
            let hex = |len: usize| -> Result<char, String> {
                let digits: String = chars.get(i + 2..i + 2 + len).unwrap_or(&[]).iter().collect();
                u32::from_str_radix(&digits, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .filter(|_| digits.len() == len)
                    .ok_or_else(|| format!("line {line}: a bad \\{e} escape in a string"))
            };
            let (ch, used) = match e {
                'n' => (Some('\n'), 2),
                't' => (Some('\t'), 2),
                'r' => (Some('\r'), 2),
                '0' => (Some('\0'), 2),
                '\\' | '\'' | '"' => (Some(e), 2),
                '\n' => {
                    lines += 1;
                    (None, 2)
                }
                'x' => (Some(hex(2)?), 4),
                'u' => (Some(hex(4)?), 6),
                'U' => (Some(hex(8)?), 10),
                _ => (Some('\\'), 1),
            };
            value.extend(ch);
            i += used;
            continue;
        }
        value.push(c);
        i += 1;
    }
}
