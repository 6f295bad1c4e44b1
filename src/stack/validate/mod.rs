//! From YAML text to a validated `Stack`, collecting every problem on the way.
//! `mod.rs` holds the validator and the top-level blocks (`stack`, `region`,
//! `state`, `tags`, `resources`, `outputs`); `inputs.rs` variables and
//! environments; `lookups.rs` the `data:` block; `resources.rs` resources and
//! their values; `references.rs` the checks across resources.

mod inputs;
mod lookups;
mod moved;
mod references;
mod resources;

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use marked_yaml::types::MarkedMappingNode;
use marked_yaml::{LoaderOptions, Node, Span};
use serde_json::{Map, Value};

use super::diag::{Diagnostics, Loc, Problem, StackErrors, did_you_mean};
use super::vars::{self, Inputs};
use super::{Lookup, ModuleMoved, Moved, Resource, Stack, StateConfig};
use crate::types;
use crate::types::lookup;
use crate::types::reference;
use crate::types::schema::{Attr, Kind, NameDefault, parse_ports};
use crate::types::{Address, StackId, Timeouts};

/// Whether a node is YAML's null: `~`, `null` or nothing, unquoted.
fn is_null(node: &Node) -> bool {
    matches!(node, Node::Scalar(s) if s.may_coerce() && matches!(s.as_str(), "~" | "null" | ""))
}

/// Whether `attrs[map]` has key `k`.
fn map_has(attrs: &Map<String, Value>, map: &str, k: &str) -> bool {
    attrs.get(map).and_then(Value::as_object).is_some_and(|m| m.contains_key(k))
}

/// Whether a resource's tag `k` is the stack's (the resource sets no other).
fn stack_tag_only(
    attrs: &Map<String, Value>,
    stack_tags: &BTreeMap<String, String>,
    k: &str,
) -> bool {
    attrs.get("tags").and_then(|t| t.get(k)).and_then(Value::as_str)
        == stack_tags.get(k).map(String::as_str)
}

/// What a stack's or an environment's name may be (`stack_id::name_problem`).
const NAME_RULE: &str = "use lowercase letters, digits and single `-` or `_` between them, for example `web` or `eu-prod`";

pub(super) const TOP_KEYS: &[&str] = &[
    "stack",
    "region",
    "state",
    "tags",
    "variables",
    "environments",
    "stacks",
    "data",
    "resources",
    "outputs",
    "moved",
    "modules",
];
static OUTPUT_LIST: Kind = Kind::List(&Kind::String);
static OUTPUT_MAP: Kind = Kind::Map(&Kind::String);
pub(super) const META_KEYS: &[&str] =
    &["depends_on", "timeouts", "prevent_destroy", "ignore_changes", "accept"];

pub fn validate(
    file: &str,
    text: &str,
    inputs: &Inputs,
) -> Result<(Stack, Vec<Problem>), StackErrors> {
    let mut v = Validator::new(file, text, inputs);
    let stack = v.stack(file, text);
    // What a sensitive variable holds never shows, not even in a message.
    let secrets = std::mem::take(&mut v.secrets);
    v.d.scrub(&secrets);
    if v.d.has_errors() {
        return Err(v.d.into_errors());
    }
    let stack = stack.expect("a stack is built whenever no error was found");
    Ok((stack, v.d.problems))
}

/// The files a stack file's `file` and `templatefile` read (their paths as
/// written) that `inputs` does not hold yet: what the edge reads before
/// validating (`Inputs::files`).
pub fn files_asked(file: &str, text: &str, inputs: &Inputs) -> BTreeSet<String> {
    let mut v = Validator::new(file, text, inputs);
    if let Some(root) = v.root(text)
        && let Some(written) = root.as_mapping()
    {
        v.environment_and_variables(written);
    }
    v.files_asked
}

struct Validator {
    d: Diagnostics,
    /// Where each attribute of each resource sits: (address, JSON pointer).
    locs: HashMap<(Address, String), Loc>,
    /// Every reference with where it was written.
    refs: Vec<(Loc, Option<Address>, reference::Reference, String)>,
    /// Every address written in the file, valid or not.
    declared: BTreeSet<Address>,
    /// Variable values and the environment, from outside the file.
    inputs: Inputs,
    /// The values of sensitive variables.
    secrets: Vec<String>,
    /// Where a sensitive value was put in (a sensitive variable, another
    /// stack's sensitive output): the start of each scalar, line and column.
    /// Where the strings whose expressions have a problem start (line,
    /// column): said when they were read, passed over after.
    broken: HashSet<(usize, usize, usize)>,
    /// The files `file` and `templatefile` asked for that `Inputs::files`
    /// does not hold.
    files_asked: BTreeSet<String>,
    sensitive_spans: HashSet<(usize, usize, usize)>,
    /// The module files read, for messages (`Stack::sources`).
    sources: Vec<super::diag::Source>,
    /// The file uses modules (`modules:`).
    uses_modules: bool,
    /// The lints a resource accepted that fired, with its reasons.
    accepted: Vec<super::AcceptedLint>,
    /// Each warning said, by where and what: the index of its problem.
    warned: HashMap<(usize, usize, usize, String), usize>,
    /// The JSON pointers, by resource, of the attributes a sensitive value
    /// landed in.
    sensitive: BTreeMap<Address, BTreeSet<String>>,
    /// The variables declared sensitive.
    sensitive_variables: BTreeSet<String>,
}

impl Validator {
    fn new(file: &str, text: &str, inputs: &Inputs) -> Validator {
        Validator {
            d: Diagnostics::new(file, text),
            locs: HashMap::new(),
            refs: Vec::new(),
            declared: BTreeSet::new(),
            inputs: inputs.clone(),
            secrets: Vec::new(),
            sensitive_spans: HashSet::new(),
            sources: Vec::new(),
            uses_modules: false,
            accepted: Vec::new(),
            warned: HashMap::new(),
            broken: HashSet::new(),
            files_asked: BTreeSet::new(),
            sensitive: BTreeMap::new(),
            sensitive_variables: BTreeSet::new(),
        }
    }

    fn loc(&self, span: &Span, chars: usize) -> Loc {
        match span.start() {
            Some(m) => self.d.loc_in(m.source(), m.line(), m.column(), chars),
            None => Loc::default(),
        }
    }

    fn loc_within(&self, span: &Span, offset: usize, chars: usize) -> Loc {
        match span.start() {
            Some(m) => self.d.loc_within(m.source(), (m.line(), m.column()), offset, chars),
            None => Loc::default(),
        }
    }

    fn node_loc(&self, node: &Node) -> Loc {
        let chars = match node {
            Node::Scalar(s) => s.as_str().chars().count().max(1),
            _ => 1,
        };
        self.loc(node.span(), chars)
    }

    /// A node that must be a mapping; an error at it, with a hint, when not.
    fn mapping<'a>(
        &mut self,
        node: &'a Node,
        message: &str,
        hint: &str,
    ) -> Option<&'a MarkedMappingNode> {
        let m = node.as_mapping();
        if m.is_none() {
            let loc = self.node_loc(node);
            self.d.error(loc, message, Some(hint.into()));
        }
        m
    }

    /// Whether a node holds, anywhere in it, a value put in from a
    /// sensitive variable or output.
    fn holds_sensitive(&self, node: &Node) -> bool {
        match node {
            Node::Scalar(s) => s.span().start().is_some_and(|m| {
                self.sensitive_spans.contains(&(m.source(), m.line(), m.column()))
            }),
            Node::Sequence(q) => q.iter().any(|n| self.holds_sensitive(n)),
            Node::Mapping(m) => m.values().any(|n| self.holds_sensitive(n)),
        }
    }

    /// Marks a resource's attribute path as holding a sensitive value when
    /// the scalar written there took one.
    fn mark(&mut self, node: &Node, address: Option<&Address>, pointer: &str) {
        if let (Node::Scalar(_), Some(a)) = (node, address)
            && self.holds_sensitive(node)
        {
            self.sensitive.entry(a.clone()).or_default().insert(pointer.to_string());
        }
    }

    fn key_loc(&self, key: &marked_yaml::types::MarkedScalarNode) -> Loc {
        self.loc(key.span(), key.as_str().chars().count().max(1))
    }

    fn stack(&mut self, file: &str, text: &str) -> Option<Stack> {
        let root = self.root(text)?;
        let written = root.as_mapping()?;
        let top = &self.environment_and_variables(written)?;
        self.top_keys(top);
        let top_loc = self.d.loc(1, 1, 0);
        let name = self.required_str(top, "stack", top_loc);
        if let Some((n, loc)) = &name
            && let Some(why) = crate::types::stack_id::name_problem(n)
        {
            self.d.error(*loc, format!("`{n}` is not a stack name: {why}"), Some(NAME_RULE.into()));
        }
        let region = self.required_str(top, "region", top_loc);
        let env = self.inputs.env.clone();
        let mut state =
            top.get_node("state").map(|state| self.state_block(state)).unwrap_or_default();
        let tags = match top.get_node("tags") {
            Some(t) => self.string_map(t),
            None => BTreeMap::new(),
        };
        // The stack's own tags that hold a sensitive value: so does every
        // resource's tag of that key, unless it sets the key itself.
        let sensitive_tags: BTreeSet<String> = match top.get_node("tags") {
            Some(Node::Mapping(m)) => m
                .iter()
                .filter(|(_, v)| self.holds_sensitive(v))
                .map(|(k, _)| k.as_str().to_string())
                .collect(),
            _ => BTreeSet::new(),
        };
        let id = StackId::new(
            &name.as_ref().map(|(n, _)| n.clone()).unwrap_or_default(),
            env.as_deref(),
        );
        // An environment's stack is a stack of its own: its identity is the
        // pair, which its state file, its tags and its default names carry,
        // so staging and production (and a stack named `web-prod`) never
        // share a thing.
        if let Some(env) = &env {
            let own_state = written
                .get_node("environments")
                .and_then(Node::as_mapping)
                .and_then(|e| e.get_node(env))
                .and_then(Node::as_mapping)
                .is_some_and(|o| o.get_node("state").is_some());
            if !own_state {
                state = state.for_environment(env);
            }
        }
        let lookups = match top.get_node("data") {
            Some(block) => self.data_block(block),
            None => BTreeMap::new(),
        };
        let mut resources = self.resources_block(top, &id, &tags);
        let (outputs, mut sensitive_outputs) = self.outputs_block(top);
        let (moved, moved_modules) = self.moved_block(top, &resources);
        self.sensitive_marks(&mut resources, &tags, &sensitive_tags);
        super::sensitive::propagate(&mut resources, &outputs, &mut sensitive_outputs);
        self.check_references(&resources, &lookups);
        if !self.d.has_errors()
            && let Err(cycle) = super::lookup_waves(&lookups)
        {
            let names: Vec<String> = cycle.iter().map(ToString::to_string).collect();
            self.d.error(
                lookups[&cycle[0]].loc,
                format!("these lookups use each other: {}", names.join(", ")),
                Some("a lookup may use what an earlier one found, never in a circle".into()),
            );
        }
        self.check_unique(&resources);
        if !self.d.has_errors() {
            self.check_network(&mut resources);
        }
        let stack = Stack {
            name: id.name,
            sensitive_outputs,
            sensitive_variables: self.sensitive_variables.clone(),
            env,
            secrets: self.secrets.clone(),
            region: region.map(|r| r.0).unwrap_or_default(),
            tags,
            resources,
            lookups,
            outputs,
            moved,
            moved_modules,
            state,
            file: file.to_string(),
            text: text.to_string(),
            sources: self.sources.clone(),
            accepted: std::mem::take(&mut self.accepted),
            inputs: self.inputs.clone(),
        };
        self.dependency_cycles(&stack);
        Some(stack)
    }

    /// The file's YAML, a mapping; `None` when it is empty, unreadable or
    /// not a mapping (the error is recorded).
    fn root(&mut self, text: &str) -> Option<Node> {
        let only_comments =
            text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
        if only_comments {
            self.d.error(
                Loc { line: 1, column: 1, ..Loc::default() },
                "the stack file is empty",
                Some("a stack needs at least `stack:`, `region:` and `resources:`".into()),
            );
            return None;
        }
        let options = LoaderOptions::default().error_on_duplicate_keys(true);
        let root = match marked_yaml::parse_yaml_with_options(0, text, options) {
            Ok(root) => root,
            Err(e) => {
                self.yaml_error(e);
                return None;
            }
        };
        if root.as_mapping().is_none() {
            let loc = self.node_loc(&root);
            self.d.error(
                loc,
                "the stack file must be a mapping",
                Some("start with `stack: NAME`".into()),
            );
            return None;
        }
        Some(root)
    }

    /// Every top-level key is one the stack file has.
    fn top_keys(&mut self, top: &MarkedMappingNode) {
        for (k, _) in top.iter() {
            if !TOP_KEYS.contains(&k.as_str()) {
                let loc = self.key_loc(k);
                let hint = did_you_mean(k.as_str(), TOP_KEYS.iter().copied())
                    .or_else(|| Some(format!("top-level keys are {}", TOP_KEYS.join(", "))));
                self.d.error(loc, format!("unknown top-level key `{}`", k.as_str()), hint);
            }
        }
    }

    /// The `resources:` block, each resource validated.
    fn resources_block(
        &mut self,
        top: &MarkedMappingNode,
        id: &StackId,
        tags: &BTreeMap<String, String>,
    ) -> BTreeMap<Address, Resource> {
        let top_loc = self.d.loc(1, 1, 0);
        let mut resources = BTreeMap::new();
        match top.get_node("resources") {
            // What it makes, its modules make (or they were refused).
            None if self.uses_modules => {}
            None => self.d.error(
                top_loc,
                "missing `resources:`",
                Some("declare at least one resource under `resources:`".into()),
            ),
            Some(Node::Mapping(m)) => {
                for (k, node) in m.iter() {
                    if let Some(a) = Address::parse(k.as_str()) {
                        self.declared.insert(a);
                    }
                    if let Some(r) = self.resource(k, node, id, tags) {
                        resources.insert(r.address.clone(), r);
                    }
                }
            }
            Some(other) => {
                let loc = self.node_loc(other);
                self.d.error(
                    loc,
                    "`resources` must be a mapping of `TYPE.NAME` to attributes",
                    None,
                );
            }
        }
        resources
    }

    /// The `outputs:` block: each output's value, and those that hold a
    /// sensitive one.
    fn outputs_block(
        &mut self,
        top: &MarkedMappingNode,
    ) -> (BTreeMap<String, Value>, BTreeSet<String>) {
        let mut outputs = BTreeMap::new();
        let mut sensitive_outputs = BTreeSet::new();
        if let Some(o) = top.get_node("outputs") {
            match o {
                Node::Mapping(m) => {
                    for (k, node) in m.iter() {
                        // An output may be a list or a map (a lookup's ids, a
                        // variable's map) of strings.
                        let kind = match node {
                            Node::Sequence(_) => &OUTPUT_LIST,
                            Node::Mapping(_) => &OUTPUT_MAP,
                            Node::Scalar(_) => &Kind::String,
                        };
                        if self.holds_sensitive(node) {
                            sensitive_outputs.insert(k.as_str().to_string());
                        }
                        if let Some(value) = self.value(node, kind, None, "") {
                            outputs.insert(k.as_str().to_string(), value);
                        }
                    }
                }
                other => {
                    let loc = self.node_loc(other);
                    self.d.error(loc, "`outputs` must be a mapping of names to values", None);
                }
            }
        }
        (outputs, sensitive_outputs)
    }

    /// Where each resource holds a sensitive value: what landed in it, the
    /// stack's sensitive tags it does not set itself, its type's sensitive
    /// attributes.
    fn sensitive_marks(
        &mut self,
        resources: &mut BTreeMap<Address, Resource>,
        tags: &BTreeMap<String, String>,
        sensitive_tags: &BTreeSet<String>,
    ) {
        for (address, r) in resources.iter_mut() {
            let mut marks = self.sensitive.remove(address).unwrap_or_default();
            let own_tags =
                |k: &str| map_has(&r.attrs, "tags", k) && !stack_tag_only(&r.attrs, tags, k);
            if r.schema.taggable {
                for k in sensitive_tags.iter().filter(|k| !own_tags(k)) {
                    marks.insert(format!("/tags/{}", crate::types::attrs::pointer_token(k)));
                }
            }
            for a in r.schema.attrs.iter().filter(|a| a.sensitive) {
                if r.attrs.contains_key(a.name) {
                    marks.insert(format!("/{}", a.name));
                }
            }
            r.sensitive = marks;
        }
    }

    /// Every dependency cycle among the resources, once nothing else is wrong.
    fn dependency_cycles(&mut self, stack: &Stack) {
        if !self.d.has_errors() {
            for cycle in crate::stack::graph::cycles(stack) {
                let first = &stack.resources[&cycle[0]];
                let names: Vec<String> = cycle.iter().map(ToString::to_string).collect();
                self.d.error(
                    first.loc,
                    format!("dependency cycle: {}", names.join(" -> ") + " -> " + &names[0]),
                    Some(
                        "break the cycle by removing one of these references or depends_on entries"
                            .into(),
                    ),
                );
            }
        }
    }

    fn yaml_error(&mut self, e: marked_yaml::LoadError) {
        let (marker, message, hint) =
            super::diag::yaml_problem(&e, "the stack file", "stack: NAME");
        let loc = marker.map_or(Loc { line: 1, column: 1, ..Loc::default() }, |m| {
            self.d.loc(m.line(), m.column(), 1)
        });
        self.d.error(loc, message, hint);
    }

    fn required_str(
        &mut self,
        map: &marked_yaml::types::MarkedMappingNode,
        key: &str,
        parent: Loc,
    ) -> Option<(String, Loc)> {
        match map.get_node(key) {
            None => {
                self.d.error(parent, format!("missing `{key}:`"), None);
                None
            }
            Some(Node::Scalar(s)) if !s.as_str().is_empty() => {
                Some((s.as_str().to_string(), self.key_loc(s)))
            }
            Some(other) => {
                let loc = self.node_loc(other);
                self.d.error(loc, format!("`{key}` must be a non-empty string"), None);
                None
            }
        }
    }

    fn state_block(&mut self, node: &Node) -> StateConfig {
        let example = "for example `state: { backend: s3, bucket: BUCKET, key: stacks/NAME.json }` or `state: { backend: local, path: state/NAME.json }`";
        let Some(m) = node.as_mapping() else {
            let loc = self.node_loc(node);
            self.d.error(loc, "`state` must be a mapping", Some(example.into()));
            return StateConfig::default();
        };
        let mut values: BTreeMap<&str, (String, Loc)> = BTreeMap::new();
        for (k, v) in m.iter() {
            match k.as_str() {
                key @ ("backend" | "path" | "bucket" | "key" | "region") => match v.as_scalar() {
                    Some(s) if !s.as_str().is_empty() => {
                        values.insert(key, (s.as_str().to_string(), self.node_loc(v)));
                    }
                    _ => {
                        let loc = self.node_loc(v);
                        self.d.error(loc, format!("`{key}` must be a non-empty string"), None);
                    }
                },
                other => {
                    let loc = self.key_loc(k);
                    self.d.error(
                        loc,
                        format!("unknown key `{other}` in `state`"),
                        did_you_mean(other, ["backend", "path", "bucket", "key", "region"]),
                    );
                }
            }
        }
        let backend = values.get("backend").map(|(b, l)| (b.as_str(), *l));
        let only = |d: &mut Diagnostics, allowed: &[&str], backend: &str| {
            for (key, (_, loc)) in &values {
                if *key != "backend" && !allowed.contains(key) {
                    d.error(
                        *loc,
                        format!("`{key}` does not apply to the `{backend}` backend"),
                        Some(example.into()),
                    );
                }
            }
        };
        match backend {
            None | Some(("local", _)) => {
                only(&mut self.d, &["path"], "local");
                StateConfig::Local { path: values.get("path").map(|(p, _)| p.clone()) }
            }
            Some(("s3", here)) => {
                only(&mut self.d, &["bucket", "key", "region"], "s3");
                let mut required = |key: &str| match values.get(key) {
                    Some((v, _)) => v.clone(),
                    None => {
                        self.d.error(
                            here,
                            format!("the s3 state backend needs `{key}`"),
                            Some(example.into()),
                        );
                        String::new()
                    }
                };
                let bucket = required("bucket");
                let key = required("key");
                StateConfig::S3 {
                    bucket,
                    key,
                    region: values.get("region").map(|(r, _)| r.clone()),
                }
            }
            Some((other, loc)) => {
                self.d.error(
                    loc,
                    format!("unknown state backend `{other}`"),
                    Some("the backends are `local` (the default) and `s3`".into()),
                );
                StateConfig::default()
            }
        }
    }

    fn string_map(&mut self, node: &Node) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        match node {
            Node::Mapping(m) => {
                for (k, v) in m.iter() {
                    match v {
                        Node::Scalar(s) => {
                            out.insert(k.as_str().to_string(), s.as_str().to_string());
                        }
                        other => {
                            let loc = self.node_loc(other);
                            self.d.error(
                                loc,
                                format!("tag `{}` must be a string", k.as_str()),
                                None,
                            );
                        }
                    }
                }
            }
            other => {
                let loc = self.node_loc(other);
                self.d.error(loc, "`tags` must be a mapping of strings", None);
            }
        }
        out
    }
}
