//! Reading the stack file's expressions, in its YAML tree: each string's
//! `${ ... }` parsed, its names checked (`var.NAME`, `stack.NAME.outputs.KEY`,
//! `data.KIND.NAME.ATTR`, `TYPE.NAME.ATTR`) and its functions (by name and
//! number of arguments); what comes from outside put in as a value, never
//! text read again; what is then known evaluated in place.

use super::context::{Calls, Ctx, Folding, Instances, Outside, Scope, Unknowns, map_scalars};
use super::*;
use crate::stack::diag::did_you_mean;
use crate::types::Address;
use crate::types::InstanceKey;
use crate::types::address::LOOKUP;
use crate::types::expr::{self, Expr, Step, Val, functions};

/// Puts each variable's value in place of `${var.NAME}` throughout a node
/// (no other stack, no lookup).
pub fn substitute(node: &Node, vars: &[Variable], found: &mut Vec<Found>) -> Node {
    let stacks = BTreeMap::new();
    let files = BTreeMap::new();
    let outside =
        Outside { file: "", vars, declared: &[], stacks: &stacks, lookups: None, files: &files };
    let mut folding = Folding::default();
    let (scope, calls) = (Scope::default(), Calls::new());
    let ctx = Ctx {
        outside: &outside,
        instances: &Instances::new(),
        each: None,
        scope: &scope,
        modules: &calls,
    };
    let out = map_scalars(node, &mut |s| scalar(s, &ctx, &mut folding));
    found.append(&mut folding.found);
    out
}

/// The names an expression's first word may be besides a resource type.
const ROOTS: &[&str] = &["var", "data", "stack", "each", "count", "module"];

/// A problem in an expression: where in the string (offset, length, in
/// characters), what, and a hint.
type Problem = ((usize, usize), String, Option<String>);

/// Reads one string's expression: puts what comes from outside in place of
/// its names, checks the rest.
struct Reader<'a> {
    ctx: &'a Ctx<'a>,
    text: &'a str,
    problems: Vec<Problem>,
    sensitive: bool,
    /// Files asked for and not given.
    asked: Vec<String>,
}

pub(super) fn scalar(s: &MarkedScalarNode, ctx: &Ctx, folding: &mut Folding) -> Node {
    let text = s.as_str();
    let e = match expr::template(text) {
        Ok(None) => return Node::Scalar(s.clone()),
        Ok(Some(e)) => e,
        Err(e) => {
            folding.found.push(Found::within(s, e.offset, e.message, e.hint));
            return Node::Scalar(s.clone());
        }
    };
    let mut r = Reader { ctx, text, problems: Vec::new(), sensitive: false, asked: Vec::new() };
    let put = expr::rewrite(&e, &mut |x, bound| r.name(x, bound));
    r.functions(&put);
    folding.asked.extend(r.asked.drain(..));
    if !r.problems.is_empty() {
        for ((at, chars), message, hint) in r.problems {
            let mut f = Found::within(s, at, message, hint);
            f.chars = chars;
            folding.found.push(f);
        }
        return Node::Scalar(s.clone());
    }
    if r.sensitive {
        folding.sensitive.push(*s.span());
    }
    match expr::eval(&put, &Unknowns) {
        Ok(Val::Known(v)) => from_json(&reference::literal(&v), *s.span()),
        Ok(Val::Unknown) => node_of(&expr::simplify(&put), *s.span()),
        Err(e) => {
            // A function's refusal is said at the function.
            let at = e.message.split_once(": ").and_then(|(f, _)| called_at(text, f));
            folding.found.push(Found::within(s, at.unwrap_or(e.offset), e.message, e.hint));
            Node::Scalar(s.clone())
        }
    }
}

impl Reader<'_> {
    /// What to put in place of `x`, if it is a chain of names this reader
    /// knows the value of (or a problem, recorded, and `x` kept); `None` to
    /// look inside it.
    fn name(&mut self, x: &Expr, bound: &[String]) -> Option<Expr> {
        if let Expr::Call(f, args, false) = x
            && matches!(f.as_str(), "file" | "templatefile")
        {
            return Some(self.file(x, f, args, bound));
        }
        if let Expr::Splat(base, rest) = x
            && let Some(all) = self.module_splat(base, rest, bound)
        {
            return Some(all);
        }
        if let Expr::Splat(base, rest) = x
            && let Some(all) = self.splat(base, rest, bound)
        {
            return Some(all);
        }
        let t = expr::chain(x)?;
        if t.root.is_empty() || bound.contains(&t.root) {
            return None;
        }
        let n = t.steps.len();
        let local = t.root == "data" || crate::types::schema(&t.root).is_some();
        let got = match t.root.as_str() {
            "module" => return self.module_output(x, &t, bound),
            "var" if n > 1 => return None,
            "var" => {
                match self.ctx.outside.vars.iter().find(|v| Some(v.name.as_str()) == t.attr(0)) {
                    Some(Variable { unknown: Some(e), sensitive, .. }) => {
                        self.sensitive |= *sensitive;
                        return Some(e.clone());
                    }
                    _ => self.variable(&t),
                }
            }
            "stack" if n > 3 => return None,
            "stack" => self.output(&t),
            "data" if n == 4 && matches!(t.steps[2], Step::Index(_)) => {
                let named = named(&t)?;
                return Some(self.instance(x, &t, &named, bound));
            }
            "data" if n > 3 => return None,
            "data" => self.lookup(&t),
            "each" if n > 1 => return self.each_part(&t, bound),
            "each" | "count" => match self.each(&t) {
                Ok(Some(v)) => return Some(super::context::expr_of_value(&v)),
                other => other,
            },
            ty if crate::types::schema(ty).is_some() => match (n, t.attr(0), t.attr(1)) {
                (2, Some(name), Some(_)) => match self.ctx.instances.get(&(ty.into(), name.into()))
                {
                    Some(Some(_)) => Err((
                        format!("`{ty}.{name}` is many instances (`for_each` or `count`)"),
                        Some(format!(
                            "name one, {ty}.{name}[\"KEY\"].{0} or {ty}.{name}[0].{0}, or all, {ty}.{name}[*].{0}",
                            t.attr(1).unwrap_or("id")
                        )),
                    )),
                    _ => Ok(None),
                },
                (3, Some(_), None) if matches!(t.steps[1], Step::Index(_)) => {
                    let n = named(&t)?;
                    return Some(self.instance(x, &t, &n, bound));
                }
                (n, _, _) if n > 2 => return None,
                (1, Some(name), _) => Err((
                    format!("`{ty}.{name}` is a whole resource: name one of its attributes"),
                    Some(format!("write {ty}.{name}.ATTR, for example {ty}.{name}.id")),
                )),
                _ => Err((
                    format!("`{ty}` needs a resource's name and attribute"),
                    Some(format!("write {ty}.NAME.ATTR, for example {ty}.main.id")),
                )),
            },
            other => {
                let types = crate::types::SCHEMAS.iter().map(|s| s.name);
                let hint =
                    crate::stack::diag::did_you_mean(other, ROOTS.iter().copied().chain(types));
                Err((
                    format!("unknown name `{other}`"),
                    Some(hint.unwrap_or_else(|| {
                        "write var.NAME, TYPE.NAME.ATTR, data.KIND.NAME.ATTR or stack.NAME.outputs.KEY".into()
                    })),
                ))
            }
        };
        match got {
            Ok(Some(v)) => Some(Expr::Literal(v)),
            Ok(None) if local => Some(self.under(x)),
            Ok(None) => Some(x.clone()),
            Err((message, hint)) => {
                self.problems.push((offset_of(self.text, &t), message, hint));
                Some(x.clone())
            }
        }
    }

    /// `each.key`, `each.value`, `count.index`: the instance's.
    fn each(&mut self, t: &expr::Traversal) -> Result<Option<Value>, (String, Option<String>)> {
        let outside = || {
            (
                format!("`{}` is known only inside a resource with `for_each` or `count`", t.root),
                None,
            )
        };
        let each = self.ctx.each.ok_or_else(outside)?;
        let counted = matches!(each.key, InstanceKey::Index(_));
        match (t.root.as_str(), t.attr(0), counted) {
            ("each", Some("key"), false) => Ok(Some(each.key.value())),
            ("each", Some("value"), false) => Ok(Some(each.value.clone())),
            ("count", Some("index"), true) => Ok(Some(each.key.value())),
            ("each", _, true) => Err((
                "`each` is for a resource with `for_each`; this one has `count`".into(),
                Some("write count.index".into()),
            )),
            ("count", _, false) => Err((
                "`count` is for a resource with `count`; this one has `for_each`".into(),
                Some("write each.key or each.value".into()),
            )),
            ("each", _, _) => Err(("`each` has `key` and `value`".into(), None)),
            _ => Err(("`count` has `index`".into(), None)),
        }
    }

    /// `each.value.A.B`: the part of the instance's value it names, as an
    /// expression (what refers to a resource in it stays a reference of
    /// its own); `None` to look inside.
    fn each_part(&mut self, t: &expr::Traversal, bound: &[String]) -> Option<Expr> {
        let each = self.ctx.each.filter(|e| matches!(e.key, InstanceKey::Key(_)))?;
        if t.attr(0) != Some("value") {
            return None;
        }
        let (mut v, mut i) = (&each.value, 1);
        while let Some(x) = t.attr(i).and_then(|a| v.get(a)) {
            (v, i) = (x, i + 1);
        }
        if i == 1 {
            return None;
        }
        let mut e = super::context::expr_of_value(v);
        for step in &t.steps[i..] {
            e = match step {
                Step::Attr(a) => Expr::Attr(Box::new(e), a.clone()),
                Step::Index(x) => Expr::Index(Box::new(e), Box::new(self.read_inside(x, bound))),
            };
        }
        Some(e)
    }

    /// A part of an expression read as the whole is (`name`), inside the
    /// names for-expressions bind around it (`bound`).
    fn read_inside(&mut self, e: &Expr, bound: &[String]) -> Expr {
        expr::rewrite(e, &mut |y, b| {
            let all: Vec<String> = bound.iter().chain(b).cloned().collect();
            self.name(y, &all)
        })
    }

    /// `TYPE.NAME[KEY].ATTR` (or `data.KIND.NAME[KEY].ATTR`): one instance's
    /// attribute, its key known now; a lookup's value once lookups ran.
    fn instance(&mut self, x: &Expr, t: &expr::Traversal, n: &Named, bound: &[String]) -> Expr {
        let Some(Step::Index(i)) = t.steps.get(n.steps) else { return x.clone() };
        let i = self.read_inside(i, bound);
        let at = offset_of(self.text, t);
        let shown = &n.shown;
        let key = match expr::eval(&i, &Unknowns) {
            Ok(Val::Known(Value::String(k))) => InstanceKey::Key(k),
            Ok(Val::Known(v)) if v.as_u64().is_some() => {
                InstanceKey::Index(v.as_u64().unwrap_or(0))
            }
            Ok(Val::Known(v)) => {
                let message = format!("an instance's key is a string or an index, not {v}");
                self.problems.push((at, message, None));
                return x.clone();
            }
            Ok(Val::Unknown) => {
                self.problems.push((
                    at,
                    format!("which instance of `{shown}` must be known at plan"),
                    Some("use a key from variables, literals, each.key or count.index".into()),
                ));
                return x.clone();
            }
            Err(e) => {
                self.problems.push((at, e.message, e.hint));
                return x.clone();
            }
        };
        match self.ctx.instances.get(&(n.ty.clone(), n.name.clone())) {
            Some(Some(keys)) if !keys.iter().any(|(k, _)| *k == key) => {
                let have: Vec<String> = keys.iter().map(|(k, _)| k.to_string()).collect();
                self.problems.push((
                    at,
                    format!("`{shown}` has no instance {key}"),
                    Some(format!("its instances: {}", have.join(", "))),
                ));
            }
            Some(None) => self.problems.push((
                at,
                format!("`{shown}` is one, not many: it has no `for_each` or `count`"),
                Some(format!("write {shown}.ATTR")),
            )),
            _ => {}
        }
        let attr = t.attr(n.steps + 1).unwrap_or_default().to_string();
        if let (Some(kind), Some(found)) = (n.ty.strip_prefix(LOOKUP), self.ctx.outside.lookups) {
            let address = Address { key: Some(key.clone()), ..Address::lookup(kind, &n.name) }
                .under(&self.ctx.scope.path);
            match found.get(&address).and_then(|a| a.get(&attr)) {
                Some(v) => return Expr::Literal(v.clone()),
                None => {
                    let message = format!("unknown lookup attribute `{address}.{attr}`");
                    self.problems.push((at, message, None));
                    return x.clone();
                }
            }
        }
        let one = Expr::Index(Box::new(self.under(&n.base)), Box::new(Expr::Literal(key.value())));
        Expr::Attr(Box::new(one), attr)
    }

    /// `TYPE.NAME[*].REST` (or a lookup's): the list of every instance's, in
    /// key order (one written once is a list of one, as in Terraform).
    fn splat(&mut self, base: &Expr, rest: &Expr, bound: &[String]) -> Option<Expr> {
        let t = expr::chain(base)?;
        let n = named(&t).filter(|n| t.steps.len() == n.steps && !bound.contains(&t.root))?;
        let keys: Vec<Option<InstanceKey>> =
            match self.ctx.instances.get(&(n.ty.clone(), n.name.clone())) {
                Some(Some(keys)) => keys.iter().map(|(k, _)| Some(k.clone())).collect(),
                Some(None) => vec![None],
                None => {
                    let message = format!("reference to undeclared `{}`", n.shown);
                    self.problems.push((offset_of(self.text, &t), message, None));
                    return Some(base.clone());
                }
            };
        let list = splat_list(&n.base, keys, rest);
        Some(self.read_inside(&list, bound))
    }

    /// `file(PATH)` as the file's text; `templatefile(PATH, VARS)` as the
    /// file read as a template, each name in it `VARS["NAME"]`. The path
    /// must be known here; what the file holds comes from `Outside::files`.
    fn file(&mut self, x: &Expr, f: &str, args: &[Expr], bound: &[String]) -> Expr {
        let at = called_at(self.text, f).unwrap_or(0);
        let at = (at, f.chars().count());
        let args: Vec<Expr> = args.iter().map(|a| self.read_inside(a, bound)).collect();
        if let Err(why) = functions::check_arity(f, args.len()) {
            self.problems.push((at, why, None));
            return x.clone();
        }
        let path = match expr::eval(&args[0], &Unknowns) {
            Ok(Val::Known(Value::String(p))) => p,
            _ => {
                let hint = "a path relative to the stack file, from literals or variables";
                self.problems.push((
                    at,
                    format!("the path of `{f}` must be known at validate"),
                    Some(hint.into()),
                ));
                return x.clone();
            }
        };
        let path = super::context::join(&self.ctx.scope.dir, &path);
        let text = match self.ctx.outside.files.get(&path) {
            Some(Ok(text)) => text.clone(),
            Some(Err(why)) => {
                self.problems.push((at, format!("`{f}(\"{path}\")`: {why}"), None));
                return x.clone();
            }
            None => {
                self.asked.push(path.clone());
                self.problems.push((at, format!("`{path}` was not read"), None));
                return x.clone();
            }
        };
        if f == "file" {
            return Expr::Literal(Value::String(text));
        }
        let template = match expr::template(&text) {
            Ok(Some(t)) => t,
            Ok(None) => return Expr::Literal(Value::String(text.replace("$${", "${"))),
            Err(e) => {
                self.problems.push((
                    at,
                    format!("in {path}, at character {}: {}", e.offset, e.message),
                    e.hint,
                ));
                return x.clone();
            }
        };
        // The template's names are the keys of VARS (its for-expressions'
        // own names excepted).
        let vars = args[1].clone();
        expr::rewrite(&template, &mut |y, b| match y {
            Expr::Name(n) if !n.is_empty() && !b.contains(n) => Some(Expr::Index(
                Box::new(vars.clone()),
                Box::new(Expr::Literal(Value::String(n.clone()))),
            )),
            _ => None,
        })
    }

    /// `var.NAME`'s value (`None`: left as it is, its value was refused).
    fn variable(&mut self, t: &expr::Traversal) -> Result<Option<Value>, (String, Option<String>)> {
        let Some(name) = t.attr(0) else {
            return Err(("`var` needs a name".into(), Some("write var.NAME".into())));
        };
        let vars = self.ctx.outside.vars;
        let Some(var) = vars.iter().find(|v| v.name == name) else {
            let known: Vec<&str> = vars.iter().map(|v| v.name.as_str()).collect();
            let hint = crate::stack::diag::did_you_mean(name, known.iter().copied())
                .unwrap_or_else(|| match known.is_empty() {
                    true => "declare it under `variables:`".into(),
                    false => format!("declared: {}", known.join(", ")),
                });
            return Err((format!("unknown variable `{name}`"), Some(hint)));
        };
        match &var.value {
            Some(v) => {
                self.sensitive |= var.sensitive;
                Ok(Some(v.clone()))
            }
            None if var.refused => Ok(None),
            None => Err((
                format!("variable `{name}` has no value"),
                Some(format!(
                    "give it one: --var {name}=VALUE, a --var-file, INFRA_VAR_{name}, or a default in `variables:`"
                )),
            )),
        }
    }

    /// `stack.NAME.outputs.KEY`: another stack's output.
    fn output(&mut self, t: &expr::Traversal) -> Result<Option<Value>, (String, Option<String>)> {
        let steps: Vec<&str> = (0..t.steps.len()).map(|i| t.attr(i).unwrap_or("[..]")).collect();
        let (declared, stacks) = (self.ctx.outside.declared, self.ctx.outside.stacks);
        if let Some((message, hint)) = output_problem(&steps.join("."), declared, stacks) {
            return Err((message, Some(hint)));
        }
        let Some(Ok(p)) = stacks.get(steps[0]) else {
            return Ok(None);
        };
        let (value, secret) = &p.outputs[steps[2]];
        self.sensitive |= *secret;
        Ok(Some(value.clone()))
    }

    /// `data.KIND.NAME.ATTR`: what a lookup found, once lookups ran.
    fn lookup(&mut self, t: &expr::Traversal) -> Result<Option<Value>, (String, Option<String>)> {
        let (Some(kind), Some(name), Some(attr)) = (t.attr(0), t.attr(1), t.attr(2)) else {
            return Err((
                "a lookup's value is written data.KIND.NAME.ATTR".into(),
                Some("for example ${data.vpc.shared.id}".into()),
            ));
        };
        let many = self.ctx.instances.get(&(format!("{LOOKUP}{kind}"), name.to_string()));
        if let Some(Some(_)) = many {
            return Err((
                format!("`data.{kind}.{name}` is many instances (`for_each` or `count`)"),
                Some(format!(
                    "name one, data.{kind}.{name}[\"KEY\"].{attr}, or all, data.{kind}.{name}[*].{attr}"
                )),
            ));
        }
        let Some(found) = self.ctx.outside.lookups else {
            return Ok(None);
        };
        let address = Address::lookup(kind, name).under(&self.ctx.scope.path);
        match found.get(&address).and_then(|a| a.get(attr)) {
            Some(v) => Ok(Some(v.clone())),
            None => Err((
                format!("unknown lookup attribute `{kind}.{name}.{attr}`"),
                Some(format!("data.{kind}.{name} was not looked up, or gives no `{attr}`")),
            )),
        }
    }

    /// `x` (a chain naming one of the file's resources or lookups) as its
    /// whole address: inside the modules the file is read in.
    fn under(&self, x: &Expr) -> Expr {
        let path = &self.ctx.scope.path;
        if path.is_empty() {
            return x.clone();
        }
        match x {
            Expr::Name(root) => Expr::Attr(Box::new(super::context::path_expr(path)), root.clone()),
            Expr::Attr(b, a) => Expr::Attr(Box::new(self.under(b)), a.clone()),
            Expr::Index(b, i) => Expr::Index(Box::new(self.under(b)), i.clone()),
            other => other.clone(),
        }
    }

    /// `module.NAME[*].outputs.KEY`: the list of every instance's output,
    /// in key order.
    fn module_splat(&mut self, base: &Expr, rest: &Expr, bound: &[String]) -> Option<Expr> {
        let t = expr::chain(base).filter(|t| t.root == "module" && t.steps.len() == 1)?;
        let called = self.ctx.modules.get(t.attr(0)?).filter(|c| !c.failed)?;
        let keys = called.instances.iter().map(|(k, _)| k.clone()).collect();
        let list = splat_list(base, keys, rest);
        Some(self.read_inside(&list, bound))
    }

    /// `module.NAME.outputs.KEY` (`module.NAME["K"].outputs.KEY` for one
    /// instance of a module of many) as what the module's output holds;
    /// the steps after it are taken of that. `None` to look inside `x`.
    fn module_output(&mut self, x: &Expr, t: &expr::Traversal, bound: &[String]) -> Option<Expr> {
        let at = offset_of(self.text, t);
        match module_output_of(self.ctx, t, &mut |i| self.read_inside(i, bound)) {
            Err(None) => Some(x.clone()),
            Ok((e, rest, sensitive)) => {
                self.sensitive |= sensitive;
                let mut out = e;
                for step in rest {
                    out = match step {
                        Step::Attr(a) => Expr::Attr(Box::new(out), a),
                        Step::Index(i) => {
                            Expr::Index(Box::new(out), Box::new(self.read_inside(&i, bound)))
                        }
                    };
                }
                Some(out)
            }
            Err(Some((message, hint))) => {
                self.problems.push((at, message, hint));
                Some(x.clone())
            }
        }
    }

    /// Every function called: known by name, given as many arguments as it
    /// takes.
    fn functions(&mut self, e: &Expr) {
        for (name, args, expanded) in expr::calls(e) {
            let at = called_at(self.text, name).unwrap_or(0);
            let at = (at, name.chars().count());
            if !functions::names().any(|f| f == name) {
                let hint = crate::stack::diag::did_you_mean(name, functions::names())
                    .unwrap_or_else(|| "docs/stack-format.md lists the functions".into());
                self.problems.push((at, format!("unknown function `{name}`"), Some(hint)));
            } else if !expanded && let Err(why) = functions::check_arity(name, args) {
                self.problems.push((at, why, None));
            }
        }
    }
}

/// `BASE[*]REST` as the list of `REST` taken of each instance, `BASE[KEY]`
/// (of `BASE` itself for one written once, `None`), in the order given.
fn splat_list(base: &Expr, keys: Vec<Option<InstanceKey>>, rest: &Expr) -> Expr {
    let items = keys.into_iter().map(|k| {
        let mut each = base.clone();
        if let Some(k) = k {
            each = Expr::Index(Box::new(each), Box::new(Expr::Literal(k.value())));
        }
        expr::rewrite(rest, &mut |y, _| (*y == Expr::Name(String::new())).then(|| each.clone()))
    });
    Expr::List(items.collect())
}

/// An expression known only at plan or apply as the stack file would have
/// it written: a list (a splat's, `[a.b.c, d.e.f]`) as a list of its items, a
/// map with known keys as a mapping, each part an expression of its own
/// (what reads a list of references, the network's checks, reads it); a
/// literal as its value; anything else one `${...}`.
fn node_of(e: &Expr, span: Span) -> Node {
    let keys: Option<Vec<String>> = match e {
        Expr::Map(pairs) => pairs
            .iter()
            .map(|(k, _)| match k {
                Expr::Literal(Value::String(k)) => Some(k.clone()),
                _ => None,
            })
            .collect(),
        _ => None,
    };
    match (e, keys) {
        (Expr::Literal(v), _) => from_json(&reference::literal(v), span),
        (Expr::List(items), _) => Node::Sequence(MarkedSequenceNode::new(
            span,
            items.iter().map(|i| node_of(i, span)).collect(),
        )),
        (Expr::Map(pairs), Some(keys)) => Node::Mapping(MarkedMappingNode::new(
            span,
            keys.iter()
                .zip(pairs)
                .map(|(k, (_, v))| (MarkedScalarNode::new(span, k.as_str()), node_of(v, span)))
                .collect(),
        )),
        (other, _) => {
            let mut n = MarkedScalarNode::new(span, expr::template_text(other));
            n.set_coerce(false);
            Node::Scalar(n)
        }
    }
}

/// A resource or a lookup a chain of names starts with: its key in
/// `Instances`, the expression naming it, how many steps after the first
/// name that takes, and how it is written.
struct Named {
    ty: String,
    name: String,
    base: Expr,
    steps: usize,
    shown: String,
}

/// `TYPE.NAME...` or `data.KIND.NAME...`, if `t` starts with one.
fn named(t: &expr::Traversal) -> Option<Named> {
    let attr = |b: Expr, a: &str| Expr::Attr(Box::new(b), a.to_string());
    if t.root == "data" {
        let (kind, name) = (t.attr(0)?, t.attr(1)?);
        return Some(Named {
            ty: format!("{LOOKUP}{kind}"),
            name: name.into(),
            base: attr(attr(Expr::Name("data".into()), kind), name),
            steps: 2,
            shown: format!("data.{kind}.{name}"),
        });
    }
    crate::types::schema(&t.root)?;
    let name = t.attr(0)?;
    Some(Named {
        ty: t.root.clone(),
        name: name.into(),
        base: attr(Expr::Name(t.root.clone()), name),
        steps: 1,
        shown: format!("{}.{name}", t.root),
    })
}

/// Where a call of function `f` is written in a string, in characters (its
/// first occurrence).
fn called_at(text: &str, f: &str) -> Option<usize> {
    text.find(&format!("{f}(")).map(|b| text[..b].chars().count())
}

/// Where a chain of names is written in a string, in characters (its
/// first occurrence; the start when it cannot be found), and how long.
fn offset_of(text: &str, t: &expr::Traversal) -> (usize, usize) {
    let mut needle = t.root.clone();
    for i in 0..t.steps.len() {
        let Some(a) = t.attr(i) else { break };
        if !text.contains(&format!("{needle}.{a}")) {
            break;
        }
        needle = format!("{needle}.{a}");
    }
    match text.find(&needle) {
        Some(b) => (text[..b].chars().count(), needle.chars().count()),
        None => (0, text.chars().count()),
    }
}

/// Why `${stack.INNER}` names no output that can be put in, if it does not.
fn output_problem(
    inner: &str,
    declared: &[String],
    stacks: &BTreeMap<String, Result<Produced, String>>,
) -> Option<(String, String)> {
    let mut parts = inner.splitn(3, '.');
    let (name, kw, key) = (parts.next().unwrap_or(""), parts.next(), parts.next());
    let key = key.filter(|k| !k.is_empty() && kw == Some("outputs"));
    let Some(key) = key else {
        return Some((
            format!("malformed stack reference `${{stack.{inner}}}`"),
            "write ${stack.NAME.outputs.KEY}".to_string(),
        ));
    };
    if !declared.iter().any(|d| d == name) {
        return Some((
            format!("stack `{name}` is not declared under `stacks:`"),
            format!(
                "add `stacks: {{ {name}: {{}} }}` (its state is state/{name}.json) or give its `state:`"
            ),
        ));
    }
    match stacks.get(name) {
        Some(Err(why)) => Some((
            format!("the outputs of stack `{name}` cannot be read: {why}"),
            format!("apply stack {name} first, or point `stacks.{name}.state` at its state"),
        )),
        Some(Ok(p)) if !p.outputs.contains_key(key) => Some((
            format!("stack `{name}` ({}) has no output `{key}`", p.location),
            match p.outputs.is_empty() {
                true => format!(
                    "its state records no outputs: declare them in stack {name}'s file and apply it"
                ),
                false => format!(
                    "its outputs: {}",
                    p.outputs.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            },
        )),
        _ => None,
    }
}

/// A problem with what a chain naming a module says, or `None` when the
/// module was not read (said already).
type Refused = Option<(String, Option<String>)>;

/// What `module.NAME[KEY].outputs.KEY` stands for: the output's expression,
/// the steps written after it, and whether it is sensitive. `read` reads
/// an index written in the chain.
fn module_output_of(
    ctx: &Ctx,
    t: &expr::Traversal,
    read: &mut dyn FnMut(&Expr) -> Expr,
) -> Result<(Expr, Vec<Step>, bool), Refused> {
    let problem = |m: String, h: String| Err(Some((m, Some(h))));
    let Some(name) = t.attr(0) else {
        return problem(
            "`module` needs a module's name".into(),
            "write module.NAME.outputs.KEY".into(),
        );
    };
    let Some(called) = ctx.modules.get(name) else {
        let known: Vec<&str> = ctx.modules.keys().map(String::as_str).collect();
        let hint =
            did_you_mean(name, known.iter().copied()).unwrap_or_else(|| match known.is_empty() {
                true => "declare it under `modules:`".into(),
                false => format!("modules used here: {}", known.join(", ")),
            });
        return problem(format!("unknown module `{name}`"), hint);
    };
    if called.failed {
        return Err(None);
    }
    let mut at = 1;
    let key = match t.steps.get(1) {
        Some(Step::Index(i)) => {
            at = 2;
            match expr::eval(&read(i), &Unknowns) {
                Ok(Val::Known(Value::String(k))) => Some(InstanceKey::Key(k)),
                Ok(Val::Known(v)) if v.as_u64().is_some() => v.as_u64().map(InstanceKey::Index),
                _ => {
                    return problem(
                        format!("which instance of `module.{name}` must be known at plan"),
                        "use a key from variables, literals, each.key or count.index".into(),
                    );
                }
            }
        }
        _ => None,
    };
    let outputs = || match called.outputs.is_empty() {
        true => "it declares no `outputs:`".to_string(),
        false => format!("its outputs: {}", called.outputs.join(", ")),
    };
    match (called.many, &key) {
        (true, None) => {
            return problem(
                format!("`module.{name}` is many instances (`for_each` or `count`)"),
                format!(
                    "name one, module.{name}[\"KEY\"].outputs.KEY, or all, module.{name}[*].outputs.KEY"
                ),
            );
        }
        (false, Some(_)) => {
            return problem(
                format!("`module.{name}` is one, not many: it has no `for_each` or `count`"),
                format!("write module.{name}.outputs.KEY"),
            );
        }
        _ => {}
    }
    let Some((_, made)) = called.instances.iter().find(|(k, _)| *k == key) else {
        let have: Vec<String> = called
            .instances
            .iter()
            .filter_map(|(k, _)| k.as_ref())
            .map(ToString::to_string)
            .collect();
        return problem(
            format!(
                "`module.{name}` has no instance {}",
                key.map(|k| k.to_string()).unwrap_or_default()
            ),
            format!("its instances: {}", have.join(", ")),
        );
    };
    if t.attr(at) != Some("outputs") {
        return problem(
            format!("`module.{name}` gives only its outputs: what it makes is its own"),
            format!("write module.{name}.outputs.KEY; {}", outputs()),
        );
    }
    let Some(out) = t.attr(at + 1) else {
        return problem(format!("name one of the outputs of `module.{name}`"), outputs());
    };
    let Some((e, sensitive)) = made.outputs.get(out) else {
        let hint =
            did_you_mean(out, called.outputs.iter().map(String::as_str)).unwrap_or_else(outputs);
        return problem(format!("module `{name}` has no output `{out}`"), hint);
    };
    Ok((e.clone(), t.steps[at + 2..].to_vec(), *sensitive))
}
