//! Evaluates an `Expr` against a `Scope`. A value known only after apply is
//! `Val::Unknown`: what is built from one is unknown too (a conditional on a
//! known condition takes only its branch), as in Terraform's plan.

use serde_json::{Map, Value};

use super::functions::{self, as_number, type_name};
use super::parse::number;
use super::{BinaryOp, Expr, ExprError, ForExpr, UnaryOp};

/// A value, or one known only after apply.
#[derive(Debug, Clone, PartialEq)]
pub enum Val {
    Known(Value),
    Unknown,
}

/// What names stand for: `var`, `each`, `count`, a resource type, `data`,
/// `stack`.
pub trait Scope {
    fn get(&self, name: &str) -> Option<Val>;
}

/// A scope with a for-expression's names over another.
struct Inner<'a> {
    outer: &'a dyn Scope,
    names: Vec<(String, Value)>,
}

impl Scope for Inner<'_> {
    fn get(&self, name: &str) -> Option<Val> {
        match self.names.iter().rev().find(|(n, _)| n == name) {
            Some((_, v)) => Some(Val::Known(v.clone())),
            None => self.outer.get(name),
        }
    }
}

fn err(message: impl Into<String>) -> ExprError {
    ExprError::new(0, message)
}

/// Evaluates `e` in `scope`.
pub fn eval(e: &Expr, scope: &dyn Scope) -> Result<Val, ExprError> {
    use Val::{Known, Unknown};
    Ok(match e {
        Expr::Literal(v) => Known(v.clone()),
        Expr::Name(n) => scope.get(n).ok_or_else(|| {
            err(format!("`{n}` is not known here"))
                .hint("refer to var.NAME, TYPE.NAME.ATTR, data.KIND.NAME.ATTR, each.key, each.value or count.index")
        })?,
        Expr::List(items) => {
            let mut out = Vec::new();
            for i in items {
                match eval(i, scope)? {
                    Known(v) => out.push(v),
                    Unknown => return Ok(Unknown),
                }
            }
            Known(Value::Array(out))
        }
        Expr::Map(pairs) => {
            let mut out = Map::new();
            for (k, v) in pairs {
                let (Known(k), Known(v)) = (eval(k, scope)?, eval(v, scope)?) else {
                    return Ok(Unknown);
                };
                out.insert(key_text(&k)?, v);
            }
            Known(Value::Object(out))
        }
        Expr::Attr(base, name) => match eval(base, scope)? {
            Known(Value::Object(m)) => match m.get(name) {
                Some(v) => Known(v.clone()),
                None => return Err(err(format!("this object has no attribute `{name}`"))),
            },
            Known(other) => {
                return Err(err(format!(
                    "`.{name}` needs an object, not a {}",
                    type_name(&other)
                )));
            }
            Unknown => Unknown,
        },
        Expr::Index(base, index) => {
            let (Known(b), Known(i)) = (eval(base, scope)?, eval(index, scope)?) else {
                return Ok(Unknown);
            };
            Known(index_value(&b, &i)?)
        }
        Expr::Splat(base, rest) => match eval(base, scope)? {
            Known(b) => {
                let items = match b {
                    Value::Array(items) => items,
                    Value::Null => Vec::new(),
                    one => vec![one],
                };
                let mut out = Vec::new();
                for item in items {
                    let inner = Inner { outer: scope, names: vec![(String::new(), item)] };
                    match eval(rest, &inner)? {
                        Known(v) => out.push(v),
                        Unknown => return Ok(Unknown),
                    }
                }
                Known(Value::Array(out))
            }
            Unknown => Unknown,
        },
        Expr::Call(name, args, expand) => {
            let mut values = Vec::new();
            for a in args {
                match eval(a, scope)? {
                    Known(v) => values.push(v),
                    Unknown => return Ok(Unknown),
                }
            }
            if *expand {
                match values.pop() {
                    Some(Value::Array(rest)) => values.extend(rest),
                    _ => return Err(err("`...` expands a list")),
                }
            }
            Known(functions::call(name, &values)?)
        }
        Expr::Unary(op, inner) => match (op, eval(inner, scope)?) {
            (_, Unknown) => Unknown,
            (UnaryOp::Not, Known(Value::Bool(b))) => Known(Value::Bool(!b)),
            (UnaryOp::Neg, Known(v)) => Known(number(-as_number(&v)?)),
            (UnaryOp::Not, Known(v)) => {
                return Err(err(format!("`!` needs a bool, not a {}", type_name(&v))));
            }
        },
        Expr::Binary(op, a, b) => binary(*op, a, b, scope)?,
        Expr::Conditional(c, yes, no) => match eval(c, scope)? {
            Known(Value::Bool(true)) => eval(yes, scope)?,
            Known(Value::Bool(false)) => eval(no, scope)?,
            Known(v) => {
                return Err(err(format!("a condition must be a bool, not a {}", type_name(&v))));
            }
            Unknown => Unknown,
        },
        Expr::For(f) => for_expr(f, scope)?,
        Expr::Template(parts) => {
            let mut out = String::new();
            for p in parts {
                match eval(p, scope)? {
                    Known(Value::String(s)) => out.push_str(&s),
                    Known(v @ (Value::Number(_) | Value::Bool(_))) => out.push_str(&v.to_string()),
                    Known(v) => {
                        return Err(err(format!(
                            "a {} cannot be put in a string",
                            type_name(&v)
                        ))
                        .hint("join(\",\", list) or jsonencode(value) makes text of it"));
                    }
                    Unknown => return Ok(Unknown),
                }
            }
            Known(Value::String(out))
        }
    })
}

fn key_text(k: &Value) -> Result<String, ExprError> {
    match k {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(err(format!("a map key must be a string, not a {}", type_name(other)))),
    }
}

fn index_value(base: &Value, index: &Value) -> Result<Value, ExprError> {
    match base {
        Value::Array(items) => {
            let i = as_number(index)?;
            if i.fract() != 0.0 || i < 0.0 || i as usize >= items.len() {
                return Err(err(format!(
                    "index {i} is out of range: the list has {} element{}",
                    items.len(),
                    if items.len() == 1 { "" } else { "s" }
                )));
            }
            Ok(items[i as usize].clone())
        }
        Value::Object(m) => {
            let k = key_text(index)?;
            m.get(&k).cloned().ok_or_else(|| {
                let known: Vec<&str> = m.keys().map(String::as_str).collect();
                err(format!("no key \"{k}\" (it has {})", known.join(", ")))
            })
        }
        other => Err(err(format!("a {} cannot be indexed", type_name(other)))),
    }
}

fn binary(op: BinaryOp, a: &Expr, b: &Expr, scope: &dyn Scope) -> Result<Val, ExprError> {
    use Val::{Known, Unknown};
    let left = eval(a, scope)?;
    // `&&` and `||` decide on their left side where they can.
    match (op, &left) {
        (BinaryOp::And, Known(Value::Bool(false))) => return Ok(Known(Value::Bool(false))),
        (BinaryOp::Or, Known(Value::Bool(true))) => return Ok(Known(Value::Bool(true))),
        _ => {}
    }
    let (Known(x), Known(y)) = (left, eval(b, scope)?) else {
        return Ok(Unknown);
    };
    let bool_of = |v: &Value, side: &str| {
        v.as_bool().ok_or_else(|| {
            err(format!(
                "the {side} side of a logical operator must be a bool, not a {}",
                type_name(v)
            ))
        })
    };
    Ok(Known(match op {
        BinaryOp::And => Value::Bool(bool_of(&x, "left")? && bool_of(&y, "right")?),
        BinaryOp::Or => Value::Bool(bool_of(&x, "left")? || bool_of(&y, "right")?),
        BinaryOp::Eq => Value::Bool(x == y || numbers_equal(&x, &y)),
        BinaryOp::Ne => Value::Bool(!(x == y || numbers_equal(&x, &y))),
        BinaryOp::Lt => Value::Bool(as_number(&x)? < as_number(&y)?),
        BinaryOp::Le => Value::Bool(as_number(&x)? <= as_number(&y)?),
        BinaryOp::Gt => Value::Bool(as_number(&x)? > as_number(&y)?),
        BinaryOp::Ge => Value::Bool(as_number(&x)? >= as_number(&y)?),
        BinaryOp::Add => number(as_number(&x)? + as_number(&y)?),
        BinaryOp::Sub => number(as_number(&x)? - as_number(&y)?),
        BinaryOp::Mul => number(as_number(&x)? * as_number(&y)?),
        BinaryOp::Div | BinaryOp::Rem => {
            let d = as_number(&y)?;
            if d == 0.0 {
                return Err(err("division by zero"));
            }
            let n = as_number(&x)?;
            number(if op == BinaryOp::Div { n / d } else { n % d })
        }
    }))
}

fn numbers_equal(a: &Value, b: &Value) -> bool {
    matches!((a, b), (Value::Number(x), Value::Number(y)) if x.as_f64() == y.as_f64())
}

fn for_expr(f: &ForExpr, scope: &dyn Scope) -> Result<Val, ExprError> {
    let Val::Known(coll) = eval(&f.collection, scope)? else {
        return Ok(Val::Unknown);
    };
    let pairs: Vec<(Value, Value)> = match coll {
        Value::Array(items) => {
            items.into_iter().enumerate().map(|(i, v)| (Value::from(i as u64), v)).collect()
        }
        // In lexicographic order of the keys, as Terraform goes over a map.
        Value::Object(m) => {
            functions::sorted(&m).into_iter().map(|(k, v)| (Value::String(k), v)).collect()
        }
        other => {
            return Err(err(format!(
                "a for-expression goes over a list or a map, not a {}",
                type_name(&other)
            )));
        }
    };
    let mut list = Vec::new();
    let mut map = Map::new();
    for (k, v) in pairs {
        let mut names = vec![(f.value.clone(), v)];
        if let Some(key) = &f.key {
            names.push((key.clone(), k));
        }
        let inner = Inner { outer: scope, names };
        if let Some(c) = &f.condition {
            match eval(c, &inner)? {
                Val::Known(Value::Bool(true)) => {}
                Val::Known(Value::Bool(false)) => continue,
                Val::Known(other) => {
                    return Err(err(format!(
                        "a for-expression's `if` must be a bool, not a {}",
                        type_name(&other)
                    )));
                }
                Val::Unknown => return Ok(Val::Unknown),
            }
        }
        let Val::Known(value) = eval(&f.value_expr, &inner)? else {
            return Ok(Val::Unknown);
        };
        match &f.key_expr {
            Some(ke) => {
                let Val::Known(key) = eval(ke, &inner)? else {
                    return Ok(Val::Unknown);
                };
                let key = key_text(&key)?;
                if map.insert(key.clone(), value).is_some() {
                    return Err(err(format!("the key \"{key}\" comes twice"))
                        .hint("keys of a map for-expression must differ"));
                }
            }
            None => list.push(value),
        }
    }
    Ok(Val::Known(if f.key_expr.is_some() { Value::Object(map) } else { Value::Array(list) }))
}

/// `e` with each part that refers to no name put as its value (what a plan
/// shows of an expression known only after apply: `["a", "b"][0]` is
/// `"a"`).
pub fn simplify(e: &Expr) -> Expr {
    super::rewrite(e, &mut |x, _| {
        // A conditional whose condition is known is its branch.
        if let Expr::Conditional(c, yes, no) = x
            && super::traversals(c).is_empty()
            && let Ok(Val::Known(Value::Bool(b))) = eval(c, &NoNames)
        {
            return Some(simplify(if b { yes } else { no }));
        }
        if matches!(x, Expr::Literal(_)) || !super::traversals(x).is_empty() {
            return None;
        }
        match eval(x, &NoNames) {
            Ok(Val::Known(v)) => Some(Expr::Literal(v)),
            _ => None,
        }
    })
}

/// A scope with no names (an expression whose names were all put in).
pub struct NoNames;

impl Scope for NoNames {
    fn get(&self, _: &str) -> Option<Val> {
        None
    }
}
