//! Modules: a file that starts `module: NAME` (no `stack:`, `region:` or
//! `state:`) with `variables:` (its inputs), `data:`, `resources:`,
//! `modules:` and `outputs:`, used from the stack file (or another module)
//! under `modules:`:
//!
//! ```yaml
//! modules:
//!   network: { source: modules/network.yaml, inputs: { cidr_block: 10.40.0.0/16 } }
//! ```
//!
//! A use is read where it is written: its `for_each` or `count`, then its
//! inputs (with `each` of the instance), which become the module's
//! variables; the module's file is then read as the stack file is, each
//! name of one of its resources or lookups put as its whole address
//! (`module.network.vpc.main`), and its resources and lookups join the
//! stack's (`Folding::flat`, spliced in by `splice`). What its outputs hold
//! is put in place of `module.NAME.outputs.KEY`. Sources are read at the
//! edge (`Outside::files`, by their path relative to the stack file's
//! folder); each module file read is a source of its own for messages,
//! with the chain of uses that led to it.

use super::context::{
    Called, Calls, Ctx, Each, Folding, Instances, Made, Outside, Scope, expr_of, holds, join,
    map_scalars, parent,
};
use super::instances::{each_instance, expand, instances, keys_of};
use super::module_inputs::{Input, variables};
use super::substitute::scalar;
use super::*;
use crate::stack::diag::{Source, did_you_mean};
use crate::types::address::{LOOKUP, ModuleStep, path_text};
use crate::types::expr;
use crate::types::{Address, InstanceKey};
use marked_yaml::{LoaderOptions, Marker};

/// The top-level keys of a module file.
pub const MODULE_KEYS: &[&str] =
    &["module", "variables", "data", "resources", "modules", "outputs"];
/// The keys of a use of a module.
pub const CALL_KEYS: &[&str] = &["source", "inputs", "for_each", "count", "depends_on"];

/// Every expression of a mapping's values (keys are never read) with what
/// comes from outside put in, as a value (`expr::literal`), never text read
/// again; one whose inputs are all known becomes its value (a whole `${...}`
/// keeps its type), one that refers to a resource (or a lookup not run yet)
/// stays an expression, known at plan or apply. Each scalar that takes a
/// sensitive value joins `folding.sensitive`.
pub fn fold(m: &MarkedMappingNode, outside: &Outside, folding: &mut Folding) -> MarkedMappingNode {
    let scope = Scope::root(outside.file);
    let top = fold_in(m, outside, &scope, folding);
    splice(top, folding)
}

/// `fold` of one file, the stack file's or a module's (`scope`): its
/// modules read first (each flattened into `folding.flat`), then what is
/// its own.
pub(super) fn fold_in(
    m: &MarkedMappingNode,
    outside: &Outside,
    scope: &Scope,
    folding: &mut Folding,
) -> MarkedMappingNode {
    for name in outside.declared {
        if let Some(Ok(p)) = outside.stacks.get(name) {
            for (value, sensitive) in p.outputs.values() {
                if *sensitive {
                    collect(Some(value), &mut folding.secrets);
                }
            }
        }
    }
    let none = Instances::new();
    let no_calls = Calls::new();
    let ctx = Ctx { outside, instances: &none, each: None, scope, modules: &no_calls };
    // The resources' instances first: what `TYPE.NAME[KEY]` and `[*]` name.
    let mut all = match m.get_node("resources") {
        Some(Node::Mapping(r)) => instances(r, "", &ctx, folding),
        _ => Instances::new(),
    };
    if let Some(Node::Mapping(d)) = m.get_node("data") {
        all.extend(instances(d, LOOKUP, &ctx, folding));
    }
    let ctx = Ctx { instances: &all, ..ctx };
    let calls = calls(m.get_node("modules"), &ctx, folding);
    let ctx = Ctx { modules: &calls, ..ctx };
    let entries = m.iter().filter(|(k, _)| k.as_str() != "modules").map(|(k, v)| {
        let v = match (k.as_str(), v) {
            ("resources", Node::Mapping(r)) => Node::Mapping(expand(r, "", &ctx, folding)),
            ("data", Node::Mapping(d)) => Node::Mapping(expand(d, LOOKUP, &ctx, folding)),
            _ => map_scalars(v, &mut |s| scalar(s, &ctx, folding)),
        };
        (k.clone(), v)
    });
    MarkedMappingNode::new(*m.span(), entries.collect())
}

/// The `modules:` block read: each use after those whose outputs it reads
/// (uses that read each other in a circle are a problem).
pub(super) fn calls(block: Option<&Node>, ctx: &Ctx, folding: &mut Folding) -> Calls {
    let mut out = Calls::new();
    let Some(block) = block else { return out };
    let Some(map) = block.as_mapping() else {
        if !matches!(block, Node::Scalar(s) if s.as_str().is_empty()) {
            folding.found.push(Found::at(
                block.span(),
                1,
                "`modules` must be a mapping of names to uses".into(),
                Some("for example `modules: { network: { source: modules/network.yaml, inputs: { zones: [a, c] } } }`".into()),
            ));
        }
        return out;
    };
    let mut left: Vec<(&MarkedScalarNode, &Node, BTreeSet<String>)> =
        map.iter().map(|(k, v)| (k, v, uses_of(v))).collect();
    while !left.is_empty() {
        let waiting = |u: &String, left: &[(&MarkedScalarNode, &Node, BTreeSet<String>)]| {
            left.iter().any(|(k, _, _)| k.as_str() == u)
        };
        let Some(i) = left.iter().position(|(_, _, uses)| uses.iter().all(|u| !waiting(u, &left)))
        else {
            let names: Vec<&str> = left.iter().map(|(k, _, _)| k.as_str()).collect();
            let k = left[0].0;
            folding.found.push(Found::at(
                k.span(),
                k.as_str().chars().count().max(1),
                format!("these modules use each other's outputs: {}", names.join(", ")),
                Some("a module's inputs may use what another gives, never in a circle".into()),
            ));
            for (k, _, _) in left {
                out.insert(k.as_str().to_string(), Called::failed());
            }
            break;
        };
        let (k, v, _) = left.remove(i);
        let called = call(k, v, &Ctx { modules: &out, ..*ctx }, folding);
        out.insert(k.as_str().to_string(), called);
    }
    out
}

/// The modules a use reads the outputs of (or names in `depends_on`).
fn uses_of(node: &Node) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    map_scalars(node, &mut |s| {
        if let Ok(Some(e)) = expr::template(s.as_str()) {
            for t in expr::traversals(&e).into_iter().filter(|t| t.root == "module") {
                out.extend(t.attr(0).map(str::to_string));
            }
        }
        if let Some(path) = crate::types::address::parse_path(s.as_str()) {
            out.extend(path.first().map(|s| s.name.clone()));
        }
        Node::Scalar(s.clone())
    });
    out
}

/// A problem at `at`; the use it is in is not read.
fn say(folding: &mut Folding, at: &Node, message: String, hint: &str) -> Called {
    let chars = match at {
        Node::Scalar(s) => s.as_str().chars().count().max(1),
        _ => 1,
    };
    let hint = (!hint.is_empty()).then(|| hint.to_string());
    folding.found.push(Found::at(at.span(), chars, message, hint));
    Called::failed()
}

/// A span at the start of source `id`.
fn start_of(id: usize) -> Span {
    Span::new_start(Marker::new(id, 0, 1, 1))
}

/// One use of a module read: its file, its instances, each instance's
/// inputs and then its file.
fn call(k: &MarkedScalarNode, v: &Node, ctx: &Ctx, folding: &mut Folding) -> Called {
    let name = k.as_str();
    let key_node = Node::Scalar(k.clone());
    if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-') || name.is_empty() {
        return say(
            folding,
            &key_node,
            format!("`{name}` is not a module name"),
            "use letters, digits, `_` and `-`",
        );
    }
    let Some(body) = v.as_mapping() else {
        return say(
            folding,
            v,
            format!("module `{name}` must be a mapping with `source:` and `inputs:`"),
            "for example `{ source: modules/network.yaml, inputs: { zones: [a, c] } }`",
        );
    };
    for (key, _) in body.iter().filter(|(key, _)| !CALL_KEYS.contains(&key.as_str())) {
        let hint = did_you_mean(key.as_str(), CALL_KEYS.iter().copied())
            .unwrap_or_else(|| format!("a use of a module takes {}", CALL_KEYS.join(", ")));
        let at = Node::Scalar(key.clone());
        say(folding, &at, format!("unknown key `{}` in module `{name}`", key.as_str()), &hint);
    }
    let source = match body.get_node("source") {
        Some(Node::Scalar(s)) if !s.as_str().trim().is_empty() && !s.as_str().contains("${") => s,
        Some(other) => {
            return say(
                folding,
                other,
                format!("the `source` of module `{name}` is a path written out"),
                "relative to the file that uses it, for example modules/network.yaml; it is read before any expression",
            );
        }
        None => {
            return say(
                folding,
                &key_node,
                format!("module `{name}` needs `source:`"),
                "the path of its file, relative to this one, for example modules/network.yaml",
            );
        }
    };
    let (file, text) = match source_text(name, source, ctx, folding) {
        Ok(read) => read,
        Err(failed) => return failed,
    };
    let Some(opened) = open(k, file, text, ctx, folding) else {
        return Called::failed();
    };
    let repeats: Vec<(&str, &Node)> =
        ["for_each", "count"].iter().filter_map(|r| body.get_node(r).map(|n| (*r, n))).collect();
    let keys = match repeats.as_slice() {
        [] => None,
        [(which, node)] => match keys_of(which, node, ctx, folding) {
            Some(keys) => Some(keys),
            None => return Called::failed(),
        },
        [_, (_, node), ..] => {
            return say(
                folding,
                node,
                format!("module `{name}` has both `for_each` and `count`"),
                "keep one",
            );
        }
    };
    let inputs = match body.get_node("inputs") {
        None => None,
        Some(Node::Mapping(m)) => Some(m),
        Some(Node::Scalar(s)) if s.as_str().is_empty() => None,
        Some(other) => {
            return say(
                folding,
                other,
                format!(
                    "the `inputs` of module `{name}` must be a mapping of its variables to values"
                ),
                "for example `inputs: { cidr_block: 10.40.0.0/16 }`",
            );
        }
    };
    let depends: Vec<Node> = match body.get_node("depends_on") {
        Some(Node::Sequence(q)) => q.iter().flat_map(|i| each_instance(i, ctx)).collect(),
        Some(other) => {
            return say(
                folding,
                other,
                format!("the `depends_on` of module `{name}` is a list of addresses"),
                "for example `depends_on: [vpc.main, module.network]`",
            );
        }
        None => Vec::new(),
    };
    let mut called = Called {
        many: keys.is_some(),
        outputs: match opened.top.get_node("outputs") {
            Some(Node::Mapping(o)) => o.keys().map(|k| k.as_str().to_string()).collect(),
            _ => Vec::new(),
        },
        ..Called::default()
    };
    let instances: Vec<Option<(InstanceKey, Value)>> = match keys {
        None => vec![None],
        Some(keys) => keys.into_iter().map(Some).collect(),
    };
    for instance in instances {
        let key = instance.as_ref().map(|(k, _)| k.clone());
        match one(k, &opened, inputs, &depends, instance, ctx, folding) {
            Some(made) => called.instances.push((key, made)),
            // Said where the use is: what the module would make of it is not.
            None => return Called::failed(),
        }
    }
    called
}

/// The file a use's `source` names (relative to the stack file's folder)
/// and its text; a located problem when it is no local path, uses itself,
/// or was not (or could not be) read.
fn source_text(
    name: &str,
    source: &MarkedScalarNode,
    ctx: &Ctx,
    folding: &mut Folding,
) -> Result<(String, String), Called> {
    let at_source = Node::Scalar(source.clone());
    let src = source.as_str().trim();
    if src.starts_with('/') || src.contains("://") || src.contains("::") {
        return Err(say(
            folding,
            &at_source,
            format!("module `{name}`: `{src}` is not a local path"),
            "a source is a path relative to the file that uses it (no registry, no network): keep the module in the repository",
        ));
    }
    let file = join(&ctx.scope.dir, src);
    if let Some(i) = ctx.scope.files.iter().position(|f| *f == file) {
        let mut chain: Vec<&str> = ctx.scope.files[i..].iter().map(String::as_str).collect();
        chain.push(&file);
        return Err(say(
            folding,
            &at_source,
            format!("module `{name}` uses itself: {}", chain.join(" -> ")),
            "a module may not use itself, directly or through another",
        ));
    }
    match ctx.outside.files.get(&file) {
        Some(Ok(t)) => Ok((file, t.clone())),
        Some(Err(why)) => Err(say(
            folding,
            &at_source,
            format!("module `{name}`: `{src}`: {why}"),
            "check the path, relative to this file",
        )),
        None => {
            folding.asked.insert(file.clone());
            Err(say(folding, &at_source, format!("module `{name}`: `{src}` was not read"), ""))
        }
    }
}

/// A module's file, read for a use.
struct Opened {
    /// Its path relative to the stack file's folder.
    file: String,
    /// Its path as shown.
    shown: String,
    /// The uses that led to it, innermost first.
    uses: Vec<crate::stack::diag::Use>,
    top: MarkedMappingNode,
}

/// The file of use `k` read, a source of its own for messages.
fn open(
    k: &MarkedScalarNode,
    file: String,
    text: String,
    ctx: &Ctx,
    folding: &mut Folding,
) -> Option<Opened> {
    let (line, column) = k.span().start().map_or((1, 1), |m| (m.line(), m.column()));
    let mut uses = vec![crate::stack::diag::Use {
        module: k.as_str().to_string(),
        file: ctx.scope.shown.clone(),
        line,
        column,
    }];
    uses.extend(ctx.scope.uses.iter().cloned());
    let shown = join(&ctx.scope.shown_dir, &file);
    let id = folding.sources.len() + 1;
    folding.sources.push(Source { file: shown.clone(), text: text.clone(), uses: uses.clone() });
    let top = module_file(&text, id, folding)?;
    Some(Opened { file, shown, uses, top })
}

/// One instance of use `k`: its inputs read (with `each` of the instance),
/// the module's file read with them; `None` when an input was refused.
fn one(
    k: &MarkedScalarNode,
    opened: &Opened,
    inputs: Option<&MarkedMappingNode>,
    depends: &[Node],
    instance: Option<(InstanceKey, Value)>,
    ctx: &Ctx,
    folding: &mut Folding,
) -> Option<Made> {
    let each = instance.as_ref().map(|(k, v)| Each { key: k.clone(), value: v.clone() });
    let inner = Ctx { each: each.as_ref(), ..*ctx };
    let mut given = Vec::new();
    for (ik, iv) in inputs.iter().flat_map(|m| m.iter()) {
        let (sensitive, found) = (folding.sensitive.len(), folding.found.len());
        let node = map_scalars(iv, &mut |s| scalar(s, &inner, folding));
        given.push(Input {
            key: ik,
            written: iv,
            node,
            sensitive: folding.sensitive.len() > sensitive,
            broken: folding.found.len() > found,
        });
    }
    let vars = variables(opened.top.get_node("variables"), &given, k, folding);
    if vars.iter().any(|v| v.refused) {
        return None;
    }
    let mut path = ctx.scope.path.clone();
    path.push(ModuleStep { name: k.as_str().to_string(), key: instance.map(|(k, _)| k) });
    let mut files = ctx.scope.files.clone();
    files.push(opened.file.clone());
    let scope = Scope {
        path,
        dir: parent(&opened.file),
        shown_dir: ctx.scope.shown_dir.clone(),
        shown: opened.shown.clone(),
        uses: opened.uses.clone(),
        files,
    };
    let outside = Outside {
        file: ctx.outside.file,
        vars: &vars,
        declared: &[],
        stacks: ctx.outside.stacks,
        lookups: ctx.outside.lookups,
        files: ctx.outside.files,
    };
    let mut own = opened.top.clone();
    own.remove("module");
    own.remove("variables");
    let before = folding.flat.len();
    let folded = fold_in(&own, &outside, &scope, folding);
    Some(flatten(&folded, &scope.path, depends, before, folding))
}

/// A module's file read (source `id`): a mapping that starts `module:`,
/// with only the keys a module has; `None` when it cannot be read (the
/// problems are in `folding`).
fn module_file(text: &str, id: usize, folding: &mut Folding) -> Option<MarkedMappingNode> {
    let only_comments =
        text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
    if only_comments {
        folding.found.push(Found::at(
            &start_of(id),
            0,
            "the module file is empty".into(),
            Some("a module starts `module: NAME`".into()),
        ));
        return None;
    }
    let options = LoaderOptions::default().error_on_duplicate_keys(true);
    let top = match marked_yaml::parse_yaml_with_options(id, text, options) {
        Ok(top) => top,
        Err(e) => {
            let (marker, message, hint) =
                crate::stack::diag::yaml_problem(&e, "a module file", "module: NAME");
            let span = marker.map_or_else(|| start_of(id), Span::new_start);
            folding.found.push(Found::at(&span, 1, message, hint));
            return None;
        }
    };
    let Some(top) = top.as_mapping() else {
        folding.found.push(Found::at(
            top.span(),
            1,
            "a module file must be a mapping".into(),
            Some("start with `module: NAME`".into()),
        ));
        return None;
    };
    let mut ok = true;
    match top.get_node("module") {
        Some(Node::Scalar(s)) if crate::types::stack_id::name_problem(s.as_str()).is_none() => {}
        Some(other) => {
            folding.found.push(Found::at(
                other.span(),
                1,
                "`module` is the module's name".into(),
                Some(
                    "lowercase letters, digits, `-` and `_`, for example `module: network`".into(),
                ),
            ));
            ok = false;
        }
        None => {
            let why = match top.get_node("stack") {
                Some(_) => "this is a stack file: a module has no `stack:`, `region:` or `state:`",
                None => "a module file starts `module: NAME`",
            };
            folding.found.push(Found::at(&start_of(id), 1, why.into(), Some("write `module: NAME` and leave `stack:`, `region:` and `state:` to the stack file that uses it".into())));
            ok = false;
        }
    }
    for (key, _) in top.iter().filter(|(k, _)| !MODULE_KEYS.contains(&k.as_str())) {
        let k = key.as_str();
        let hint = match k {
            "stack" | "region" | "state" | "tags" | "environments" | "stacks" => {
                "a module's resources take the region, state, tags and environment of the stack that uses it; pass what differs as inputs".to_string()
            }
            "moved" => "write `moved:` in the stack file, with whole addresses (module.NAME.TYPE.NAME)".to_string(),
            _ => did_you_mean(k, MODULE_KEYS.iter().copied())
                .unwrap_or_else(|| format!("a module has {}", MODULE_KEYS.join(", "))),
        };
        folding.found.push(Found::at(
            key.span(),
            k.chars().count().max(1),
            format!("a module file has no `{k}`"),
            Some(hint),
        ));
        ok = false;
    }
    ok.then(|| top.clone())
}

/// One instance of a module, read (`folded`): its resources and lookups
/// into `folding.flat` by whole address (each resource of it, in its own
/// modules too, after what the use's `depends_on` names), and what its
/// outputs hold.
fn flatten(
    folded: &MarkedMappingNode,
    path: &[ModuleStep],
    depends: &[Node],
    before: usize,
    folding: &mut Folding,
) -> Made {
    let mut made = Made::default();
    for (data, k, body) in folding.flat[before..].iter_mut() {
        if !*data {
            *body = with_depends(body, depends);
            made.resources.extend(Address::parse(k.as_str()));
        }
    }
    for (data, block) in [(false, "resources"), (true, "data")] {
        match folded.get_node(block) {
            Some(Node::Mapping(m)) => {
                for (k, v) in m.iter() {
                    let whole = format!("{}.{}", path_text(path), k.as_str());
                    let body = match data {
                        true => v.clone(),
                        false => {
                            made.resources.extend(Address::parse(&whole));
                            with_depends(v, depends)
                        }
                    };
                    folding.flat.push((data, MarkedScalarNode::new(*k.span(), whole), body));
                }
            }
            Some(Node::Scalar(s)) if s.as_str().is_empty() => {}
            Some(other) => folding.found.push(Found::at(
                other.span(),
                1,
                format!("`{block}` must be a mapping"),
                None,
            )),
            None => {}
        }
    }
    if let Some(Node::Mapping(o)) = folded.get_node("outputs") {
        for (k, v) in o.iter() {
            let sensitive = holds(v, &folding.sensitive);
            made.outputs.insert(k.as_str().to_string(), (expr_of(v), sensitive));
        }
    }
    made
}

/// A resource's body with `depends` added to its `depends_on`.
fn with_depends(body: &Node, depends: &[Node]) -> Node {
    let Node::Mapping(m) = body else { return body.clone() };
    if depends.is_empty() {
        return body.clone();
    }
    let mut m = m.clone();
    let mut items: Vec<Node> = match m.get_node("depends_on") {
        Some(Node::Sequence(q)) => q.iter().cloned().collect(),
        _ => Vec::new(),
    };
    items.extend(depends.iter().cloned());
    let span = *m.span();
    m.insert(
        MarkedScalarNode::new(span, "depends_on"),
        Node::Sequence(MarkedSequenceNode::new(span, items)),
    );
    Node::Mapping(m)
}

/// The stack file's top level read, with every module's resources and
/// lookups joined to its own.
pub(super) fn splice(mut top: MarkedMappingNode, folding: &mut Folding) -> MarkedMappingNode {
    let flat = std::mem::take(&mut folding.flat);
    for (data, block) in [(false, "resources"), (true, "data")] {
        let entries: Vec<(MarkedScalarNode, Node)> = flat
            .iter()
            .filter(|(d, _, _)| *d == data)
            .map(|(_, k, v)| (k.clone(), v.clone()))
            .collect();
        if entries.is_empty() {
            continue;
        }
        let mut m = match top.get_node(block) {
            Some(Node::Mapping(m)) => m.clone(),
            Some(Node::Scalar(s)) if s.as_str().is_empty() => {
                MarkedMappingNode::new_empty(*s.span())
            }
            None => MarkedMappingNode::new_empty(*top.span()),
            // Not a mapping: said when the block is read.
            Some(_) => continue,
        };
        for (k, v) in entries {
            m.insert(k, v);
        }
        let span = *top.span();
        top.insert(MarkedScalarNode::new(span, block), Node::Mapping(m));
    }
    top
}
