//! What reading a file's expressions works with: what comes from outside
//! (`Outside`), what reading says besides the tree (`Folding`), the
//! instances and the modules a file has (`Instances`, `Calls`), where the
//! file is read (`Scope`), all of it together (`Ctx`); and the ways between
//! a read node, a value and an expression (`expr_of`, `expr_of_value`).

use super::*;
use crate::types::Address;
use crate::types::InstanceKey;
use crate::types::address::{ModulePath, ModuleStep};
use crate::types::expr::{self, Expr, Val};

/// A node with `f` put in place of each of its scalars (keys excepted).
pub(super) fn map_scalars(node: &Node, f: &mut impl FnMut(&MarkedScalarNode) -> Node) -> Node {
    match node {
        Node::Scalar(s) => f(s),
        Node::Sequence(q) => Node::Sequence(MarkedSequenceNode::new(
            *q.span(),
            q.iter().map(|n| map_scalars(n, f)).collect(),
        )),
        Node::Mapping(m) => Node::Mapping(map_mapping(m, f)),
    }
}

fn map_mapping(
    m: &MarkedMappingNode,
    f: &mut impl FnMut(&MarkedScalarNode) -> Node,
) -> MarkedMappingNode {
    MarkedMappingNode::new(
        *m.span(),
        m.iter().map(|(k, v)| (k.clone(), map_scalars(v, f))).collect(),
    )
}

/// What comes from outside the file, for its expressions: the variables,
/// the outputs of the stacks `stacks:` declares, and (once they ran) what
/// the lookups found.
pub struct Outside<'a> {
    /// The stack file as given: what a module file is shown beside.
    pub file: &'a str,
    pub vars: &'a [Variable],
    pub declared: &'a [String],
    pub stacks: &'a BTreeMap<String, Result<Produced, String>>,
    pub lookups: Option<&'a crate::stack::LookedUp>,
    pub files: &'a BTreeMap<String, Result<String, String>>,
}

/// What folding says besides the tree: problems, the spans that came to
/// hold a sensitive value, and the sensitive values read (to redact).
#[derive(Default)]
pub struct Folding {
    pub found: Vec<Found>,
    pub sensitive: Vec<Span>,
    pub secrets: Vec<String>,
    /// The files `file` and `templatefile` asked for (and module sources)
    /// that were not given.
    pub asked: BTreeSet<String>,
    /// The module files read, in the order their uses were: the source of
    /// each span in one is its place here plus one.
    pub sources: Vec<crate::stack::diag::Source>,
    /// Every module's resources (`false`) and lookups (`true`), each key
    /// its whole address, read in its module: what the stack file's
    /// `resources:` and `data:` take in.
    pub flat: Vec<(bool, MarkedScalarNode, Node)>,
}

/// The resources of a file by type and name: `None` for one written once,
/// else the key and `each.value` of each of its instances (`for_each`,
/// `count`).
pub type Instances = BTreeMap<(String, String), Option<Vec<(InstanceKey, Value)>>>;

/// The instance whose body is being read: `each.key` and `each.value`, or
/// `count.index` (an index key).
pub struct Each {
    pub key: InstanceKey,
    pub value: Value,
}

/// What a string's expression is read with.
#[derive(Clone, Copy)]
pub struct Ctx<'a> {
    pub outside: &'a Outside<'a>,
    pub instances: &'a Instances,
    pub each: Option<&'a Each>,
    /// The file being read: the stack file's, or a module's.
    pub scope: &'a Scope,
    /// The modules this file uses, read already.
    pub modules: &'a Calls,
}

/// A scope in which every name left is known only at plan or apply.
pub struct Unknowns;

impl expr::Scope for Unknowns {
    fn get(&self, _: &str) -> Option<Val> {
        Some(Val::Unknown)
    }
}

/// Where a file is read: the stack file (the empty path), or a module's
/// file for one instance of one use of it.
#[derive(Default)]
pub struct Scope {
    /// The modules its resources sit in.
    pub path: ModulePath,
    /// Its folder, relative to the stack file's ("" for the stack file's).
    pub dir: String,
    /// The stack file's folder as given: what a module's file is shown in.
    pub shown_dir: String,
    /// The file as shown in messages.
    pub shown: String,
    /// The uses that led here, innermost first.
    pub uses: Vec<crate::stack::diag::Use>,
    /// The module files read on the way here: none may be used again.
    pub files: Vec<String>,
}

impl Scope {
    /// The stack file's.
    pub fn root(file: &str) -> Scope {
        let shown_dir = file.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default();
        Scope { shown: file.to_string(), shown_dir, ..Scope::default() }
    }
}

/// The modules a file uses, by name.
pub type Calls = BTreeMap<String, Called>;

/// One use of a module, read.
#[derive(Default)]
pub struct Called {
    /// It has `for_each` or `count`.
    pub many: bool,
    /// Each instance (one, keyless, without `for_each` or `count`).
    pub instances: Vec<(Option<InstanceKey>, Made)>,
    /// The outputs its file declares.
    pub outputs: Vec<String>,
    /// It could not be read (said already): its uses say nothing more.
    pub failed: bool,
}

impl Called {
    pub(super) fn failed() -> Called {
        Called { failed: true, ..Called::default() }
    }
}

/// What one instance of a module made.
#[derive(Default)]
pub struct Made {
    /// Each output's expression (whole addresses) and whether it holds a
    /// sensitive value.
    pub outputs: BTreeMap<String, (Expr, bool)>,
    /// Every resource in it, in its modules too.
    pub resources: Vec<Address>,
}

/// `path` (relative to a file in folder `dir`, both relative to the stack
/// file's folder) relative to the stack file's folder, `.` and `..` taken
/// out where they can be.
pub fn join(dir: &str, path: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty() && *p != ".").collect();
    for p in path.split('/') {
        match p {
            "" | "." => {}
            ".." if parts.last().is_some_and(|l| *l != "..") => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// The folder of a path relative to the stack file's.
pub(super) fn parent(path: &str) -> String {
    path.rsplit_once('/').map(|(d, _)| d.to_string()).unwrap_or_default()
}

/// `module.a.module.b["k"]` as an expression.
pub fn path_expr(path: &[ModuleStep]) -> Expr {
    let mut e = Expr::Name("module".into());
    for (i, step) in path.iter().enumerate() {
        if i > 0 {
            e = Expr::Attr(Box::new(e), "module".into());
        }
        e = Expr::Attr(Box::new(e), step.name.clone());
        if let Some(k) = &step.key {
            e = Expr::Index(Box::new(e), Box::new(Expr::Literal(k.value())));
        }
    }
    e
}

/// A node read already (`scalar`) as the expression it stands for.
pub(super) fn expr_of(node: &Node) -> Expr {
    expr_of_value(&to_json(node))
}

/// Whether a scalar of `node` took a sensitive value.
pub(super) fn holds(node: &Node, sensitive: &[Span]) -> bool {
    let mut found = false;
    map_scalars(node, &mut |s| {
        found |= sensitive.iter().any(|x| x.start().is_some() && x.start() == s.span().start());
        Node::Scalar(s.clone())
    });
    found
}

/// A value read already (its strings templates: `$${` a literal `${`, a
/// `${...}` known only at plan) as the expression it stands for: what
/// `each.value` puts in, so that a value of `for_each` that refers to a
/// resource stays a reference.
pub(super) fn expr_of_value(v: &Value) -> Expr {
    match v {
        Value::String(s) => match expr::template(s) {
            Ok(Some(e)) => e,
            _ => Expr::Literal(reference::value_of(v)),
        },
        Value::Array(a) => Expr::List(a.iter().map(expr_of_value).collect()),
        Value::Object(o) => Expr::Map(
            o.iter()
                .map(|(k, v)| (Expr::Literal(Value::String(k.clone())), expr_of_value(v)))
                .collect(),
        ),
        other => Expr::Literal(other.clone()),
    }
}
