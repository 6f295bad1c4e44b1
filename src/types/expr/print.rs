//! An `Expr` written back as text that `parse` reads as the same
//! expression: how a stack's template keeps, until apply, an expression
//! whose outside values (variables, outputs, lookups) were put in as
//! literals. A literal string is quoted with its `${` written `$${`, so a
//! value put in is never read as an expression.

use std::fmt::{self, Display, Formatter, Write};

use serde_json::Value;

use super::{BinaryOp, Expr, UnaryOp};

/// `value` as an expression's literal.
pub fn literal(value: &Value, f: &mut impl Write) -> fmt::Result {
    match value {
        Value::String(s) => quoted(s, f),
        Value::Array(items) => {
            f.write_char('[')?;
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                literal(v, f)?;
            }
            f.write_char(']')
        }
        Value::Object(m) => {
            f.write_char('{')?;
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    f.write_str(", ")?;
                }
                quoted(k, f)?;
                f.write_str(" = ")?;
                literal(v, f)?;
            }
            f.write_char('}')
        }
        other => write!(f, "{other}"),
    }
}

fn quoted(s: &str, f: &mut impl Write) -> fmt::Result {
    f.write_char('"')?;
    for c in s.replace("${", "$${").chars() {
        match c {
            '"' => f.write_str("\\\"")?,
            '\\' => f.write_str("\\\\")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\r' => f.write_str("\\r")?,
            c => f.write_char(c)?,
        }
    }
    f.write_char('"')
}

fn op(o: BinaryOp) -> &'static str {
    match o {
        BinaryOp::Or => "||",
        BinaryOp::And => "&&",
        BinaryOp::Eq => "==",
        BinaryOp::Ne => "!=",
        BinaryOp::Lt => "<",
        BinaryOp::Le => "<=",
        BinaryOp::Gt => ">",
        BinaryOp::Ge => ">=",
        BinaryOp::Add => "+",
        BinaryOp::Sub => "-",
        BinaryOp::Mul => "*",
        BinaryOp::Div => "/",
        BinaryOp::Rem => "%",
    }
}

fn list(items: &[Expr], f: &mut Formatter<'_>) -> fmt::Result {
    for (i, e) in items.iter().enumerate() {
        if i > 0 {
            f.write_str(", ")?;
        }
        write!(f, "{e}")?;
    }
    Ok(())
}

/// What an attribute, an index or a splat is taken of: an operator's
/// result in parentheses (a module's input put in for `var.x` may be one).
struct Operand<'a>(&'a Expr);

impl Display for Operand<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.0 {
            e @ (Expr::Binary(..) | Expr::Conditional(..) | Expr::Unary(..)) => write!(f, "({e})"),
            e => write!(f, "{e}"),
        }
    }
}

impl Display for Expr {
    /// Operators are put in parentheses, so precedence never changes what
    /// is read back.
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Literal(v) => literal(v, f),
            Expr::Template(parts) => {
                f.write_char('"')?;
                for p in parts {
                    match p {
                        Expr::Literal(Value::String(s)) => {
                            let mut q = String::new();
                            quoted(s, &mut q)?;
                            f.write_str(&q[1..q.len() - 1])?;
                        }
                        other => write!(f, "${{{other}}}")?,
                    }
                }
                f.write_char('"')
            }
            Expr::List(items) => {
                f.write_char('[')?;
                list(items, f)?;
                f.write_char(']')
            }
            Expr::Map(pairs) => {
                f.write_char('{')?;
                for (i, (k, v)) in pairs.iter().enumerate() {
                    if i > 0 {
                        f.write_str(", ")?;
                    }
                    write!(f, "({k}) = {v}")?;
                }
                f.write_char('}')
            }
            Expr::Name(n) => f.write_str(n),
            Expr::Attr(base, name) => write!(f, "{}.{name}", Operand(base)),
            Expr::Index(base, i) => write!(f, "{}[{i}]", Operand(base)),
            Expr::Splat(base, rest) => {
                let rest = rest.to_string();
                write!(f, "{}[*]{rest}", Operand(base))
            }
            Expr::Call(name, args, expand) => {
                write!(f, "{name}(")?;
                list(args, f)?;
                f.write_str(if *expand { "...)" } else { ")" })
            }
            Expr::Unary(UnaryOp::Not, e) => write!(f, "!({e})"),
            Expr::Unary(UnaryOp::Neg, e) => write!(f, "-({e})"),
            Expr::Binary(o, a, b) => write!(f, "({a}) {} ({b})", op(*o)),
            Expr::Conditional(c, a, b) => write!(f, "({c}) ? ({a}) : ({b})"),
            Expr::For(fe) => {
                let (open, close) = if fe.key_expr.is_some() { ('{', '}') } else { ('[', ']') };
                write!(f, "{open}for ")?;
                if let Some(k) = &fe.key {
                    write!(f, "{k}, ")?;
                }
                write!(f, "{} in {} : ", fe.value, fe.collection)?;
                if let Some(k) = &fe.key_expr {
                    write!(f, "({k}) => ")?;
                }
                write!(f, "{}", fe.value_expr)?;
                if let Some(c) = &fe.condition {
                    write!(f, " if {c}")?;
                }
                f.write_char(close)
            }
        }
    }
}

/// A stack's template (the text of a YAML string) for `e`: a whole-value
/// `${e}`, or the template's text with its `${` written `$${`.
pub fn template(e: &Expr) -> String {
    let mut out = String::new();
    match e {
        Expr::Template(parts) => {
            for p in parts {
                match p {
                    Expr::Literal(Value::String(s)) => out.push_str(&s.replace("${", "$${")),
                    other => out.push_str(&format!("${{{other}}}")),
                }
            }
        }
        other => out.push_str(&format!("${{{other}}}")),
    }
    out
}
