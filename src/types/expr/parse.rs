//! From the text inside `${ ... }` to an `Expr`: a tokenizer and a
//! precedence-climbing parser, with Terraform's operators and precedence
//! (`!` and unary `-`; `*` `/` `%`; `+` `-`; comparisons; `==` `!=`; `&&`;
//! `||`; then `? :`).

use serde_json::Value;

use super::{BinaryOp, Expr, ExprError, ForExpr, UnaryOp};

/// A piece of a string with interpolations: text, or an expression's
/// source and its offset.
#[derive(Debug, Clone, PartialEq)]
enum TPart {
    Lit(String),
    Expr(String, usize),
}

/// Where the `}` that closes an interpolation opened before `from` is:
/// braces counted, strings inside skipped.
fn closing(chars: &[char], from: usize) -> Option<usize> {
    let (mut depth, mut i, mut quoted) = (0usize, from, false);
    while i < chars.len() {
        match (chars[i], quoted) {
            ('\\', true) => i += 1,
            ('"', _) => quoted = !quoted,
            ('{', false) => depth += 1,
            ('}', false) if depth == 0 => return Some(i),
            ('}', false) => depth -= 1,
            _ => {}
        }
        i += 1;
    }
    None
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Num(f64),
    Str(String),
    /// A string with `${...}` in it.
    Template(Vec<TPart>),
    Ident(String),
    /// Punctuation and operators, as written.
    P(&'static str),
}

const PUNCT: &[&str] = &[
    "...", "=>", "==", "!=", "<=", ">=", "&&", "||", "(", ")", "[", "]", "{", "}", ",", ".", ":",
    "?", "=", "+", "-", "*", "/", "%", "<", ">", "!",
];

fn tokens(src: &str) -> Result<Vec<(Tok, usize)>, ExprError> {
    let chars: Vec<char> = src.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        let start = i;
        if c.is_ascii_digit() {
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                // `list[0].x`: a dot after digits followed by a letter ends the number.
                if chars[i] == '.' && !chars.get(i + 1).is_some_and(char::is_ascii_digit) {
                    break;
                }
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            let n = text
                .parse::<f64>()
                .map_err(|_| ExprError::new(start, format!("`{text}` is not a number")))?;
            out.push((Tok::Num(n), start));
            continue;
        }
        if c.is_alphabetic() || c == '_' {
            while i < chars.len() && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '-')) {
                i += 1;
            }
            out.push((Tok::Ident(chars[start..i].iter().collect()), start));
            continue;
        }
        if c == '"' {
            i += 1;
            let mut s = String::new();
            let mut parts: Vec<TPart> = Vec::new();
            loop {
                match chars.get(i) {
                    None => return Err(ExprError::new(start, "a string is not closed")),
                    Some('"') => break,
                    Some('$')
                        if chars.get(i + 1) == Some(&'$') && chars.get(i + 2) == Some(&'{') =>
                    {
                        s.push_str("${");
                        i += 3;
                    }
                    Some('$') if chars.get(i + 1) == Some(&'{') => {
                        let end = closing(&chars, i + 2)
                            .ok_or_else(|| ExprError::new(i, "a `${` in a string is not closed"))?;
                        parts.push(TPart::Lit(std::mem::take(&mut s)));
                        parts.push(TPart::Expr(chars[i + 2..end].iter().collect(), i + 2));
                        i = end + 1;
                    }
                    Some('\\') => {
                        let e = chars.get(i + 1).copied();
                        s.push(match e {
                            Some('n') => '\n',
                            Some('t') => '\t',
                            Some('r') => '\r',
                            Some('"') => '"',
                            Some('\\') => '\\',
                            _ => return Err(ExprError::new(i, "an unknown escape in a string")),
                        });
                        i += 2;
                    }
                    Some(ch) => {
                        s.push(*ch);
                        i += 1;
                    }
                }
            }
            i += 1;
            if parts.is_empty() {
                out.push((Tok::Str(s), start));
            } else {
                parts.push(TPart::Lit(s));
                out.push((Tok::Template(parts), start));
            }
            continue;
        }
        let rest: String = chars[i..chars.len().min(i + 3)].iter().collect();
        let Some(p) = PUNCT.iter().find(|p| rest.starts_with(**p)) else {
            return Err(ExprError::new(start, format!("`{c}` has no meaning here")));
        };
        i += p.chars().count();
        out.push((Tok::P(p), start));
    }
    Ok(out)
}

/// Reads a stack's string as a template: `None` when it holds no `${...}`
/// (it is text, `$${` in it a literal `${`); the expression alone when the
/// whole string is one `${...}` (it keeps its type); else an
/// `Expr::Template` of text and expressions. Offsets count characters of
/// `src`.
pub fn template(src: &str) -> Result<Option<Expr>, ExprError> {
    if !src.contains("${") {
        return Ok(None);
    }
    let chars: Vec<char> = src.chars().collect();
    let (mut parts, mut text, mut i) = (Vec::new(), String::new(), 0);
    while i < chars.len() {
        let next = |k: usize| chars.get(i + k).copied();
        if chars[i] == '$' && next(1) == Some('$') && next(2) == Some('{') {
            text.push_str("${");
            i += 3;
        } else if chars[i] == '$' && next(1) == Some('{') {
            let end = closing(&chars, i + 2).ok_or_else(|| {
                ExprError::new(i, "this `${` is not closed")
                    .hint("an expression is written ${ ... }; write $${ for a literal ${")
            })?;
            let inner: String = chars[i + 2..end].iter().collect();
            let e = parse(&inner).map_err(|e| ExprError { offset: e.offset + i + 2, ..e })?;
            if !text.is_empty() {
                parts.push(Expr::Literal(Value::String(std::mem::take(&mut text))));
            }
            parts.push(e);
            i = end + 1;
        } else {
            text.push(chars[i]);
            i += 1;
        }
    }
    if !text.is_empty() {
        parts.push(Expr::Literal(Value::String(text)));
    }
    Ok(match parts.len() {
        1 if !matches!(parts[0], Expr::Literal(_)) => parts.pop(),
        _ if parts.iter().all(|p| matches!(p, Expr::Literal(_))) => None,
        _ => Some(Expr::Template(parts)),
    })
}

/// Parses one expression (the text inside `${ ... }`).
pub fn parse(src: &str) -> Result<Expr, ExprError> {
    let toks = tokens(src)?;
    let mut p = Parser { toks, at: 0, end: src.chars().count() };
    let e = p.expr()?;
    if let Some((t, off)) = p.toks.get(p.at) {
        return Err(ExprError::new(*off, format!("unexpected {}", said(t)))
            .hint("an expression ends here; join two with an operator or a function"));
    }
    Ok(e)
}

fn said(t: &Tok) -> String {
    match t {
        Tok::Num(n) => format!("number {n}"),
        Tok::Str(s) => format!("string {s:?}"),
        Tok::Template(_) => "a string".to_string(),
        Tok::Ident(s) => format!("`{s}`"),
        Tok::P(p) => format!("`{p}`"),
    }
}

struct Parser {
    toks: Vec<(Tok, usize)>,
    at: usize,
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at).map(|(t, _)| t)
    }

    fn offset(&self) -> usize {
        self.toks.get(self.at).map_or(self.end, |(_, o)| *o)
    }

    fn is(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::P(q)) if *q == p)
    }

    fn is_word(&self, w: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s == w)
    }

    fn eat(&mut self, p: &str) -> bool {
        let yes = self.is(p);
        if yes {
            self.at += 1;
        }
        yes
    }

    fn expect(&mut self, p: &str) -> Result<(), ExprError> {
        if self.eat(p) {
            return Ok(());
        }
        let found = self.peek().map_or("the end".to_string(), said);
        Err(ExprError::new(self.offset(), format!("expected `{p}`, found {found}")))
    }

    fn ident(&mut self) -> Result<String, ExprError> {
        match self.peek().cloned() {
            Some(Tok::Ident(s)) => {
                self.at += 1;
                Ok(s)
            }
            other => Err(ExprError::new(
                self.offset(),
                format!("expected a name, found {}", other.map_or("the end".into(), |t| said(&t))),
            )),
        }
    }

    fn expr(&mut self) -> Result<Expr, ExprError> {
        let cond = self.binary(0)?;
        if !self.eat("?") {
            return Ok(cond);
        }
        let yes = self.expr()?;
        self.expect(":")?;
        let no = self.expr()?;
        Ok(Expr::Conditional(Box::new(cond), Box::new(yes), Box::new(no)))
    }

    fn binary(&mut self, min: u8) -> Result<Expr, ExprError> {
        let mut left = self.unary()?;
        while let Some(Tok::P(p)) = self.peek() {
            let Some((op, prec)) = binary_op(p) else { break };
            if prec < min {
                break;
            }
            self.at += 1;
            let right = self.binary(prec + 1)?;
            left = Expr::Binary(op, Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn unary(&mut self) -> Result<Expr, ExprError> {
        if self.eat("!") {
            return Ok(Expr::Unary(UnaryOp::Not, Box::new(self.unary()?)));
        }
        if self.eat("-") {
            return Ok(Expr::Unary(UnaryOp::Neg, Box::new(self.unary()?)));
        }
        let primary = self.primary()?;
        self.postfix(primary)
    }

    fn postfix(&mut self, mut e: Expr) -> Result<Expr, ExprError> {
        loop {
            if self.eat(".") {
                match self.peek().cloned() {
                    Some(Tok::Num(n)) if n.fract() == 0.0 => {
                        self.at += 1;
                        e = Expr::Index(
                            Box::new(e),
                            Box::new(Expr::Literal(Value::from(n as i64))),
                        );
                    }
                    _ => e = Expr::Attr(Box::new(e), self.ident()?),
                }
            } else if self.is("[") {
                if matches!(self.toks.get(self.at + 1), Some((Tok::P("*"), _))) {
                    self.at += 2;
                    self.expect("]")?;
                    let rest = self.postfix(Expr::Name(String::new()))?;
                    return Ok(Expr::Splat(Box::new(e), Box::new(rest)));
                }
                self.at += 1;
                let i = self.expr()?;
                self.expect("]")?;
                e = Expr::Index(Box::new(e), Box::new(i));
            } else {
                return Ok(e);
            }
        }
    }

    fn primary(&mut self) -> Result<Expr, ExprError> {
        let off = self.offset();
        match self.peek().cloned() {
            Some(Tok::Num(n)) => {
                self.at += 1;
                Ok(Expr::Literal(number(n)))
            }
            Some(Tok::Str(s)) => {
                self.at += 1;
                Ok(Expr::Literal(Value::String(s)))
            }
            Some(Tok::Template(parts)) => {
                self.at += 1;
                let mut out = Vec::new();
                for part in parts {
                    match part {
                        TPart::Lit(s) if s.is_empty() => {}
                        TPart::Lit(s) => out.push(Expr::Literal(Value::String(s))),
                        TPart::Expr(src, at) => out.push(
                            parse(&src).map_err(|e| ExprError { offset: e.offset + at, ..e })?,
                        ),
                    }
                }
                Ok(Expr::Template(out))
            }
            Some(Tok::Ident(w)) => {
                self.at += 1;
                match w.as_str() {
                    "true" => Ok(Expr::Literal(Value::Bool(true))),
                    "false" => Ok(Expr::Literal(Value::Bool(false))),
                    "null" => Ok(Expr::Literal(Value::Null)),
                    _ if self.is("(") => self.call(w),
                    _ => Ok(Expr::Name(w)),
                }
            }
            Some(Tok::P("(")) => {
                self.at += 1;
                let e = self.expr()?;
                self.expect(")")?;
                Ok(e)
            }
            Some(Tok::P("[")) => {
                self.at += 1;
                if self.is_word("for") {
                    return self.for_expr(false);
                }
                let mut items = Vec::new();
                while !self.eat("]") {
                    items.push(self.expr()?);
                    if !self.eat(",") {
                        self.expect("]")?;
                        break;
                    }
                }
                Ok(Expr::List(items))
            }
            Some(Tok::P("{")) => {
                self.at += 1;
                if self.is_word("for") {
                    return self.for_expr(true);
                }
                self.map()
            }
            Some(t) => Err(ExprError::new(off, format!("unexpected {}", said(&t)))),
            None => Err(ExprError::new(off, "an expression is missing here")),
        }
    }

    fn map(&mut self) -> Result<Expr, ExprError> {
        let mut pairs = Vec::new();
        while !self.eat("}") {
            let key = match self.peek().cloned() {
                Some(Tok::Ident(w)) if !self.next_is("(") => {
                    self.at += 1;
                    Expr::Literal(Value::String(w))
                }
                _ => self.expr()?,
            };
            if !self.eat("=") && !self.eat(":") {
                return Err(ExprError::new(self.offset(), "expected `=` or `:` after a map key")
                    .hint("write { key = value } or { \"key\": value }"));
            }
            let value = self.expr()?;
            pairs.push((key, value));
            if !self.eat(",") {
                self.expect("}")?;
                break;
            }
        }
        Ok(Expr::Map(pairs))
    }

    fn next_is(&self, p: &str) -> bool {
        matches!(self.toks.get(self.at + 1), Some((Tok::P(q), _)) if *q == p)
    }

    fn call(&mut self, name: String) -> Result<Expr, ExprError> {
        self.expect("(")?;
        let mut args = Vec::new();
        let mut expand = false;
        while !self.eat(")") {
            args.push(self.expr()?);
            if self.eat("...") {
                expand = true;
                self.expect(")")?;
                break;
            }
            if !self.eat(",") {
                self.expect(")")?;
                break;
            }
        }
        Ok(Expr::Call(name, args, expand))
    }

    fn for_expr(&mut self, map: bool) -> Result<Expr, ExprError> {
        self.at += 1; // `for`
        let first = self.ident()?;
        let (key, value) = if self.eat(",") { (Some(first), self.ident()?) } else { (None, first) };
        if !self.is_word("in") {
            return Err(ExprError::new(self.offset(), "expected `in` in a for-expression"));
        }
        self.at += 1;
        let collection = self.expr()?;
        self.expect(":")?;
        let first = self.expr()?;
        let (key_expr, value_expr) = if map {
            self.expect("=>")?;
            (Some(first), self.expr()?)
        } else {
            (None, first)
        };
        let condition = if self.is_word("if") {
            self.at += 1;
            Some(self.expr()?)
        } else {
            None
        };
        self.expect(if map { "}" } else { "]" })?;
        Ok(Expr::For(Box::new(ForExpr { key, value, collection, key_expr, value_expr, condition })))
    }
}

/// A whole number stays an integer in JSON.
pub(super) fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

fn binary_op(p: &str) -> Option<(BinaryOp, u8)> {
    Some(match p {
        "||" => (BinaryOp::Or, 1),
        "&&" => (BinaryOp::And, 2),
        "==" => (BinaryOp::Eq, 3),
        "!=" => (BinaryOp::Ne, 3),
        "<" => (BinaryOp::Lt, 4),
        "<=" => (BinaryOp::Le, 4),
        ">" => (BinaryOp::Gt, 4),
        ">=" => (BinaryOp::Ge, 4),
        "+" => (BinaryOp::Add, 5),
        "-" => (BinaryOp::Sub, 5),
        "*" => (BinaryOp::Mul, 6),
        "/" => (BinaryOp::Div, 6),
        "%" => (BinaryOp::Rem, 6),
        _ => return None,
    })
}
