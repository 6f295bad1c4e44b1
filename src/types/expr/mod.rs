//! The stack language's expressions, what goes inside `${ ... }` (issue 31):
//! Terraform's syntax, so nothing is learnt twice. `parse` reads one
//! expression into an `Expr` (literals, references, indexing, splat,
//! arithmetic, comparison, logic, the conditional, function calls and
//! for-expressions); `eval.rs` evaluates it against a `Scope`, carrying
//! values known only after apply as `Val::Unknown`; `functions.rs` holds the
//! Terraform-compatible functions. Pure.

pub mod eval;
pub mod functions;
mod parse;
mod print;
mod walk;

pub use eval::{NoNames, Scope, Val, eval, simplify};
pub use parse::{parse, template};
pub use print::{literal, template as template_text};
pub use walk::{Step, Traversal, calls, chain, rewrite, traversals};

/// One expression, as parsed.
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    /// A literal: a string, a number, `true`, `false` or `null`.
    Literal(serde_json::Value),
    /// `"a-${x}"`: the parts' values put in as text.
    Template(Vec<Expr>),
    /// `[a, b]`.
    List(Vec<Expr>),
    /// `{ k = v }` or `{ "k": v }`: keys are expressions (a bare word is its
    /// own name, as in Terraform).
    Map(Vec<(Expr, Expr)>),
    /// A name the scope gives: `var`, `each`, `count`, `vpc`, `data`, a
    /// for-expression's own names.
    Name(String),
    /// `x.name`.
    Attr(Box<Expr>, String),
    /// `x[i]`.
    Index(Box<Expr>, Box<Expr>),
    /// `x[*].rest`: `rest` (built on `Expr::Name("")`, the element) applied to
    /// every element.
    Splat(Box<Expr>, Box<Expr>),
    /// `f(a, b)`; `f(list...)` expands its last argument.
    Call(String, Vec<Expr>, bool),
    Unary(UnaryOp, Box<Expr>),
    Binary(BinaryOp, Box<Expr>, Box<Expr>),
    /// `c ? a : b`.
    Conditional(Box<Expr>, Box<Expr>, Box<Expr>),
    /// `[for k, v in coll : value if cond]` and `{for k, v in coll : key => value if cond}`.
    For(Box<ForExpr>),
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnaryOp {
    Not,
    Neg,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum BinaryOp {
    Or,
    And,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
    Add,
    Sub,
    Mul,
    Div,
    Rem,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ForExpr {
    /// The key's (or index's) name, when two names are given.
    pub key: Option<String>,
    pub value: String,
    pub collection: Expr,
    /// `Some` for a map: the key expression of `key => value`.
    pub key_expr: Option<Expr>,
    pub value_expr: Expr,
    pub condition: Option<Expr>,
}

/// Why an expression cannot be read or evaluated, at a character offset in
/// its text.
#[derive(Debug, Clone, PartialEq)]
pub struct ExprError {
    pub offset: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl ExprError {
    pub fn new(offset: usize, message: impl Into<String>) -> ExprError {
        ExprError { offset, message: message.into(), hint: None }
    }

    pub fn hint(mut self, hint: impl Into<String>) -> ExprError {
        self.hint = Some(hint.into());
        self
    }
}

impl std::fmt::Display for ExprError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
