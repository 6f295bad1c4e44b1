//! Going over an `Expr`: the chains of names it refers to (`var.cidr`,
//! `vpc.main.id`, `subnet.private["a"].id`), outside the names a
//! for-expression binds, and `rewrite`, which puts an expression in place of
//! some of its parts (a value for `var.cidr`).

use super::{Expr, ForExpr};

/// One step after a name: `.attr` or `[index]`.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Attr(String),
    Index(Expr),
}

/// A name and the steps after it: `vpc.main.id` is `vpc` then `.main`, `.id`.
#[derive(Debug, Clone, PartialEq)]
pub struct Traversal {
    pub root: String,
    pub steps: Vec<Step>,
}

impl Traversal {
    /// The step at `i` as an attribute's name.
    pub fn attr(&self, i: usize) -> Option<&str> {
        match self.steps.get(i) {
            Some(Step::Attr(a)) => Some(a),
            _ => None,
        }
    }
}

/// `e` as a name followed by steps, if it is one.
pub fn chain(e: &Expr) -> Option<Traversal> {
    match e {
        Expr::Name(n) => Some(Traversal { root: n.clone(), steps: Vec::new() }),
        Expr::Attr(base, a) => {
            let mut t = chain(base)?;
            t.steps.push(Step::Attr(a.clone()));
            Some(t)
        }
        Expr::Index(base, i) => {
            let mut t = chain(base)?;
            t.steps.push(Step::Index((**i).clone()));
            Some(t)
        }
        _ => None,
    }
}

/// Every longest chain of names in `e` whose first name is not one a
/// for-expression binds there (nor a splat's element), in the order
/// written.
pub fn traversals(e: &Expr) -> Vec<Traversal> {
    let mut out = Vec::new();
    collect(e, &mut Vec::new(), &mut out);
    out
}

fn collect(e: &Expr, bound: &mut Vec<String>, out: &mut Vec<Traversal>) {
    if let Some(t) = chain(e) {
        for s in &t.steps {
            if let Step::Index(i) = s {
                collect(i, bound, out);
            }
        }
        if !t.root.is_empty() && !bound.contains(&t.root) {
            out.push(t);
        }
        return;
    }
    match e {
        Expr::For(f) => {
            collect(&f.collection, bound, out);
            let n = bound.len();
            bound.extend(f.key.iter().cloned());
            bound.push(f.value.clone());
            for inner in [f.key_expr.as_ref(), Some(&f.value_expr), f.condition.as_ref()]
                .into_iter()
                .flatten()
            {
                collect(inner, bound, out);
            }
            bound.truncate(n);
        }
        other => children(other).into_iter().for_each(|c| collect(c, bound, out)),
    }
}

fn children(e: &Expr) -> Vec<&Expr> {
    match e {
        Expr::Literal(_) | Expr::Name(_) => Vec::new(),
        Expr::Template(items) | Expr::List(items) | Expr::Call(_, items, _) => {
            items.iter().collect()
        }
        Expr::Map(pairs) => pairs.iter().flat_map(|(k, v)| [k, v]).collect(),
        Expr::Attr(b, _) | Expr::Unary(_, b) => vec![b],
        Expr::Index(a, b) | Expr::Splat(a, b) | Expr::Binary(_, a, b) => vec![a, b],
        Expr::Conditional(a, b, c) => vec![a, b, c],
        Expr::For(f) => {
            let mut v = vec![&f.collection, &f.value_expr];
            v.extend(f.key_expr.iter());
            v.extend(f.condition.iter());
            v
        }
    }
}

/// Every function call in `e`: its name, how many arguments, and whether
/// the last is expanded (`...`).
pub fn calls(e: &Expr) -> Vec<(&str, usize, bool)> {
    let mut out = Vec::new();
    let mut todo = vec![e];
    while let Some(e) = todo.pop() {
        if let Expr::Call(name, args, expand) = e {
            out.push((name.as_str(), args.len(), *expand));
        }
        todo.extend(children(e));
    }
    out
}

/// `e` with `f`'s expression in place of each part it gives one for (the
/// parts of that one are not looked at), going from the outside in; `f`
/// is told the names for-expressions bind there.
pub fn rewrite(e: &Expr, f: &mut dyn FnMut(&Expr, &[String]) -> Option<Expr>) -> Expr {
    go(e, &mut Vec::new(), f)
}

fn go(
    e: &Expr,
    bound: &mut Vec<String>,
    f: &mut dyn FnMut(&Expr, &[String]) -> Option<Expr>,
) -> Expr {
    if let Some(put) = f(e, bound) {
        return put;
    }
    let mut r = |x: &Expr, bound: &mut Vec<String>| go(x, bound, f);
    match e {
        Expr::Literal(_) | Expr::Name(_) => e.clone(),
        Expr::Template(items) => Expr::Template(items.iter().map(|i| r(i, bound)).collect()),
        Expr::List(items) => Expr::List(items.iter().map(|i| r(i, bound)).collect()),
        Expr::Call(n, items, x) => {
            Expr::Call(n.clone(), items.iter().map(|i| r(i, bound)).collect(), *x)
        }
        Expr::Map(pairs) => {
            Expr::Map(pairs.iter().map(|(k, v)| (r(k, bound), r(v, bound))).collect())
        }
        Expr::Attr(b, a) => Expr::Attr(Box::new(r(b, bound)), a.clone()),
        Expr::Unary(o, b) => Expr::Unary(*o, Box::new(r(b, bound))),
        Expr::Index(a, b) => Expr::Index(Box::new(r(a, bound)), Box::new(r(b, bound))),
        Expr::Splat(a, b) => Expr::Splat(Box::new(r(a, bound)), Box::new(r(b, bound))),
        Expr::Binary(o, a, b) => Expr::Binary(*o, Box::new(r(a, bound)), Box::new(r(b, bound))),
        Expr::Conditional(a, b, c) => {
            Expr::Conditional(Box::new(r(a, bound)), Box::new(r(b, bound)), Box::new(r(c, bound)))
        }
        Expr::For(fe) => {
            let collection = r(&fe.collection, bound);
            let n = bound.len();
            bound.extend(fe.key.iter().cloned());
            bound.push(fe.value.clone());
            let out = ForExpr {
                key: fe.key.clone(),
                value: fe.value.clone(),
                collection,
                key_expr: fe.key_expr.as_ref().map(|k| r(k, bound)),
                value_expr: r(&fe.value_expr, bound),
                condition: fe.condition.as_ref().map(|c| r(c, bound)),
            };
            bound.truncate(n);
            Expr::For(Box::new(out))
        }
    }
}
