//! From YAML text to a validated `Stack`, collecting every problem on the way.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

use marked_yaml::types::MarkedMappingNode;
use marked_yaml::{LoaderOptions, Node, Span};
use serde_json::{Map, Value};

use super::diag::{Diagnostics, Loc, Problem, StackErrors, did_you_mean};
use super::vars::{self, Inputs};
use super::{Lookup, Resource, Stack, StateConfig};
use crate::types;
use crate::types::lookup;
use crate::types::reference::{self, Piece};
use crate::types::schema::{Attr, Kind, NameDefault, parse_ports};
use crate::types::{Address, StackId, Timeouts};

/// Whether a node is YAML's null: `~`, `null` or nothing, unquoted.
fn is_null(node: &Node) -> bool {
    matches!(node, Node::Scalar(s) if s.may_coerce() && matches!(s.as_str(), "~" | "null" | ""))
}

/// Whether `attrs[map]` has key `k`.
fn map_has(attrs: &Map<String, Value>, map: &str, k: &str) -> bool {
    attrs
        .get(map)
        .and_then(Value::as_object)
        .is_some_and(|m| m.contains_key(k))
}

/// Whether a resource's tag `k` is the stack's (the resource sets no other).
fn stack_tag_only(
    attrs: &Map<String, Value>,
    stack_tags: &BTreeMap<String, String>,
    k: &str,
) -> bool {
    attrs
        .get("tags")
        .and_then(|t| t.get(k))
        .and_then(Value::as_str)
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
];
static OUTPUT_LIST: Kind = Kind::List(&Kind::String);
static OUTPUT_MAP: Kind = Kind::Map(&Kind::String);
pub(super) const META_KEYS: &[&str] = &["depends_on", "timeouts", "prevent_destroy"];

pub fn validate(
    file: &str,
    text: &str,
    inputs: &Inputs,
) -> Result<(Stack, Vec<Problem>), StackErrors> {
    let mut v = Validator {
        d: Diagnostics::new(file, text),
        locs: HashMap::new(),
        refs: Vec::new(),
        declared: BTreeSet::new(),
        inputs: inputs.clone(),
        secrets: Vec::new(),
        sensitive_spans: HashSet::new(),
        sensitive: BTreeMap::new(),
        sensitive_variables: BTreeSet::new(),
    };
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
    sensitive_spans: HashSet<(usize, usize)>,
    /// The JSON pointers, by resource, of the attributes a sensitive value
    /// landed in.
    sensitive: BTreeMap<Address, BTreeSet<String>>,
    /// The variables declared sensitive.
    sensitive_variables: BTreeSet<String>,
}

impl Validator {
    fn loc(&self, span: &Span, chars: usize) -> Loc {
        match span.start() {
            Some(m) => self.d.loc(m.line(), m.column(), chars),
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
            Node::Scalar(s) => s
                .span()
                .start()
                .is_some_and(|m| self.sensitive_spans.contains(&(m.line(), m.column()))),
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
            self.sensitive
                .entry(a.clone())
                .or_default()
                .insert(pointer.to_string());
        }
    }

    fn key_loc(&self, key: &marked_yaml::types::MarkedScalarNode) -> Loc {
        self.loc(key.span(), key.as_str().chars().count().max(1))
    }

    fn stack(&mut self, file: &str, text: &str) -> Option<Stack> {
        let only_comments = text
            .lines()
            .all(|l| l.trim().is_empty() || l.trim_start().starts_with('#'));
        if only_comments {
            self.d.error(
                Loc {
                    line: 1,
                    column: 1,
                    ..Loc::default()
                },
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
        let Some(written) = root.as_mapping() else {
            let loc = self.node_loc(&root);
            self.d.error(
                loc,
                "the stack file must be a mapping",
                Some("start with `stack: NAME`".into()),
            );
            return None;
        };
        let top = &self.environment_and_variables(written)?;
        for (k, _) in top.iter() {
            if !TOP_KEYS.contains(&k.as_str()) {
                let loc = self.key_loc(k);
                let hint = did_you_mean(k.as_str(), TOP_KEYS.iter().copied())
                    .or_else(|| Some(format!("top-level keys are {}", TOP_KEYS.join(", "))));
                self.d
                    .error(loc, format!("unknown top-level key `{}`", k.as_str()), hint);
            }
        }
        let top_loc = self.d.loc(1, 1, 0);
        let name = self.required_str(top, "stack", top_loc);
        if let Some((n, loc)) = &name
            && let Some(why) = crate::types::stack_id::name_problem(n)
        {
            self.d.error(
                *loc,
                format!("`{n}` is not a stack name: {why}"),
                Some(NAME_RULE.into()),
            );
        }
        let region = self.required_str(top, "region", top_loc);
        let env = self.inputs.env.clone();
        let mut state = top
            .get_node("state")
            .map(|state| self.state_block(state))
            .unwrap_or_default();
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
        let mut resources = BTreeMap::new();
        match top.get_node("resources") {
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
                    if let Some(r) = self.resource(k, node, &id, &tags) {
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
                    self.d
                        .error(loc, "`outputs` must be a mapping of names to values", None);
                }
            }
        }
        for (address, r) in resources.iter_mut() {
            let mut marks = self.sensitive.remove(address).unwrap_or_default();
            let own_tags =
                |k: &str| map_has(&r.attrs, "tags", k) && !stack_tag_only(&r.attrs, &tags, k);
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
            state,
            file: file.to_string(),
            text: text.to_string(),
            inputs: self.inputs.clone(),
        };
        if !self.d.has_errors() {
            for cycle in crate::stack::graph::cycles(&stack) {
                let first = &stack.resources[&cycle[0]];
                let names: Vec<String> = cycle.iter().map(ToString::to_string).collect();
                self.d.error(
                    first.loc,
                    format!(
                        "dependency cycle: {}",
                        names.join(" -> ") + " -> " + &names[0]
                    ),
                    Some(
                        "break the cycle by removing one of these references or depends_on entries"
                            .into(),
                    ),
                );
            }
        }
        Some(stack)
    }

    /// The file's top level as this run reads it: the environment's overlay
    /// merged over it (`--env`), then every `${var.NAME}` put in its place.
    /// `None` when that failed (the errors are recorded).
    fn environment_and_variables(
        &mut self,
        written: &MarkedMappingNode,
    ) -> Option<MarkedMappingNode> {
        let envs = written.get_node("environments");
        if let Some(e) = envs
            && !matches!(e, Node::Mapping(_))
        {
            let loc = self.node_loc(e);
            self.d.error(
                loc,
                "`environments` must be a mapping of environment names to overlays",
                Some("for example `environments: { production: { variables: { cidr: { default: 10.60.0.0/16 } } } }`".into()),
            );
            return None;
        }
        let envs = envs.and_then(Node::as_mapping);
        if let Some(envs) = envs {
            for (k, v) in envs.iter() {
                if let Some(why) = crate::types::stack_id::name_problem(k.as_str()) {
                    let loc = self.key_loc(k);
                    self.d.error(
                        loc,
                        format!("`{}` is not an environment name: {why}", k.as_str()),
                        Some(NAME_RULE.into()),
                    );
                }
                match v.as_mapping() {
                    Some(o) => {
                        for (key, _) in o.iter() {
                            if !TOP_KEYS.contains(&key.as_str())
                                || matches!(key.as_str(), "stack" | "environments")
                            {
                                let loc = self.key_loc(key);
                                self.d.error(
                                    loc,
                                    format!(
                                        "`{}` cannot be set per environment",
                                        key.as_str()
                                    ),
                                    Some("an environment may set region, state, tags, variables, data, resources and outputs".into()),
                                );
                            }
                        }
                    }
                    None if v.as_scalar().is_some_and(|s| s.as_str().is_empty()) => {}
                    None => {
                        let loc = self.node_loc(v);
                        self.d.error(
                            loc,
                            format!(
                                "environment `{}` must be a mapping of top-level keys",
                                k.as_str()
                            ),
                            None,
                        );
                    }
                }
            }
        }
        if let Some(env) = self.inputs.env.clone() {
            let known: Vec<&str> = envs
                .map(|e| e.keys().map(|k| k.as_str()).collect())
                .unwrap_or_default();
            if envs.and_then(|e| e.get_node(&env)).is_none() {
                let loc = match written.keys().find(|k| k.as_str() == "environments") {
                    Some(k) => self.key_loc(k),
                    None => self.d.loc(1, 1, 0),
                };
                self.d.error(
                    loc,
                    format!("--env {env}: the stack file has no environment `{env}`"),
                    Some(match known.is_empty() {
                        true => "declare it under `environments:`".into(),
                        false => format!("its environments: {}", known.join(", ")),
                    }),
                );
                return None;
            }
        }
        let mut top = vars::for_environment(written, self.inputs.env.as_deref());
        let mut found = Vec::new();
        let variables = vars::declare(top.get_node("variables"), &self.inputs, &mut found);
        self.secrets = vars::secrets(&variables);
        self.sensitive_variables = variables
            .iter()
            .filter(|v| v.sensitive)
            .map(|v| v.name.clone())
            .collect();
        top.remove("variables");
        let declared = self.stacks_block(top.get_node("stacks"));
        top.remove("stacks");
        let mut sensitive = Vec::new();
        let top = vars::substitute_map(&top, &variables, &mut found, &mut sensitive);
        let mut secrets = std::mem::take(&mut self.secrets);
        let top = vars::substitute_outputs(
            &top,
            &declared,
            &self.inputs.stacks,
            &mut secrets,
            &mut found,
            &mut sensitive,
        );
        self.sensitive_spans = sensitive
            .iter()
            .filter_map(|s| s.start().map(|m| (m.line(), m.column())))
            .collect();
        secrets.sort();
        secrets.dedup();
        self.secrets = secrets;
        let top = match &self.inputs.lookups {
            Some(looked_up) => vars::substitute_lookups(&top, looked_up, &mut found),
            None => top,
        };
        for f in found {
            let loc = match f.span.start() {
                Some(_) => self.loc(&f.span, f.chars),
                None => self.d.loc(1, 1, 0),
            };
            self.d.error(loc, f.message, f.hint);
        }
        (!self.d.has_errors()).then_some(top)
    }

    /// The names of the stacks whose outputs this one reads, from `stacks:`
    /// (`NAME: { state: PATH | s3://BUCKET/KEY }`, or `NAME: {}` for
    /// `state/NAME.json`).
    fn stacks_block(&mut self, block: Option<&Node>) -> Vec<String> {
        let Some(block) = block else {
            return Vec::new();
        };
        let Some(map) = self.mapping(
            block,
            "`stacks` must be a mapping of stack names to `{ state: ... }`",
            "for example `stacks: { eks: { state: state/eks.json } }`",
        ) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (k, v) in map.iter() {
            out.push(k.as_str().to_string());
            let empty = v.as_scalar().is_some_and(|s| s.as_str().is_empty());
            let Some(m) = v.as_mapping() else {
                if !empty {
                    let loc = self.node_loc(v);
                    self.d.error(
                        loc,
                        format!(
                            "stack `{}` must be given as `{{ state: ... }}` or `{{}}`",
                            k.as_str()
                        ),
                        None,
                    );
                }
                continue;
            };
            for (key, val) in m.iter() {
                match key.as_str() {
                    "state" if val.as_scalar().is_some_and(|s| !s.as_str().contains("${")) => {}
                    "state" => {
                        let loc = self.node_loc(val);
                        self.d.error(
                            loc,
                            "`state` of a consumed stack is a path or s3://BUCKET/KEY written out",
                            Some("it is read before variables are put in".into()),
                        );
                    }
                    other => {
                        let loc = self.key_loc(key);
                        self.d.error(
                            loc,
                            format!("unknown key `{other}` in stack `{}`", k.as_str()),
                            Some("a consumed stack takes only `state`".into()),
                        );
                    }
                }
            }
        }
        out
    }

    /// The `data:` block: `KIND.NAME` to what to search by, each checked
    /// against its kind of lookup.
    fn data_block(&mut self, block: &Node) -> BTreeMap<Address, Lookup> {
        let mut out = BTreeMap::new();
        let Some(map) = self.mapping(
            block,
            "`data` must be a mapping of `KIND.NAME` to what to look for",
            "for example `data: { target_group.ec2: { name: game-ec2 } }`",
        ) else {
            return out;
        };
        let kinds = || lookup::LOOKUPS.iter().map(|l| l.name);
        for (k, node) in map.iter() {
            let key_loc = self.key_loc(k);
            let Some(written) = Address::parse(k.as_str()).filter(|a| !a.is_lookup()) else {
                self.d.error(
                    key_loc,
                    format!("`{}` is not a lookup address", k.as_str()),
                    Some("lookups are KIND.NAME under `data:`, for example `target_group.ec2`; they are used as ${data.KIND.NAME.ATTR}".into()),
                );
                continue;
            };
            let address = Address::lookup(&written.ty, &written.name);
            self.declared.insert(address.clone());
            let Some(schema) = lookup::lookup(&written.ty) else {
                let hint = did_you_mean(&written.ty, kinds()).unwrap_or_else(|| {
                    format!(
                        "kinds of lookup: {}",
                        kinds().collect::<Vec<_>>().join(", ")
                    )
                });
                self.d.error(
                    key_loc,
                    format!("unknown kind of lookup `{}`", written.ty),
                    Some(hint),
                );
                continue;
            };
            let empty;
            let query = match node {
                Node::Mapping(m) => m,
                Node::Scalar(s) if s.as_str().is_empty() => {
                    empty = MarkedMappingNode::new_empty(*s.span());
                    &empty
                }
                other => {
                    let loc = self.node_loc(other);
                    self.d.error(
                        loc,
                        format!("`{address}` must be a mapping of what to look for"),
                        Some(
                            "for example `{ name: game-ec2 }` or `{ tags: { team: web } }`".into(),
                        ),
                    );
                    continue;
                }
            };
            let Some(query) = self.object(
                query,
                schema.by,
                &[],
                false,
                Some(&address),
                "",
                key_loc,
                &address.to_string(),
            ) else {
                continue;
            };
            for f in (schema.check)(schema, &query) {
                let loc = self.locate(&address, &f.pointer).unwrap_or(key_loc);
                self.d
                    .error(loc, format!("{address}: {}", f.message), f.hint);
            }
            out.insert(
                address.clone(),
                Lookup {
                    address,
                    schema,
                    query,
                    loc: key_loc,
                },
            );
        }
        out
    }

    fn yaml_error(&mut self, e: marked_yaml::LoadError) {
        use marked_yaml::LoadError as E;
        let (marker, message, hint) = match &e {
            E::DuplicateKey(d) => {
                let first = d.prev_key.span().start().map(|m| m.line()).unwrap_or(0);
                (
                    d.key.span().start().copied(),
                    format!("duplicate key `{}`", d.key.as_str()),
                    Some(format!(
                        "it is already defined on line {first}; every address must be unique"
                    )),
                )
            }
            E::ScanError(m, se) => (Some(*m), format!("YAML syntax error: {}", se.info()), None),
            E::TopLevelMustBeMapping(m) => (
                Some(*m),
                "the stack file must be a mapping".into(),
                Some("start with `stack: NAME`".into()),
            ),
            E::UnexpectedAnchor(m) => (Some(*m), "YAML anchors are not supported".into(), None),
            E::UnexpectedTag(m) => (Some(*m), "YAML tags are not supported".into(), None),
            E::MappingKeyMustBeScalar(m) => {
                (Some(*m), "mapping keys must be plain strings".into(), None)
            }
            other => (None, other.to_string(), None),
        };
        let loc = marker.map_or(
            Loc {
                line: 1,
                column: 1,
                ..Loc::default()
            },
            |m| self.d.loc(m.line(), m.column(), 1),
        );
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
                self.d
                    .error(loc, format!("`{key}` must be a non-empty string"), None);
                None
            }
        }
    }

    fn state_block(&mut self, node: &Node) -> StateConfig {
        let example = "for example `state: { backend: s3, bucket: BUCKET, key: stacks/NAME.json }` or `state: { backend: local, path: state/NAME.json }`";
        let Some(m) = node.as_mapping() else {
            let loc = self.node_loc(node);
            self.d
                .error(loc, "`state` must be a mapping", Some(example.into()));
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
                        self.d
                            .error(loc, format!("`{key}` must be a non-empty string"), None);
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
                StateConfig::Local {
                    path: values.get("path").map(|(p, _)| p.clone()),
                }
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
                self.d
                    .error(loc, "`tags` must be a mapping of strings", None);
            }
        }
        out
    }

    fn resource(
        &mut self,
        key: &marked_yaml::types::MarkedScalarNode,
        node: &Node,
        stack: &StackId,
        stack_tags: &BTreeMap<String, String>,
    ) -> Option<Resource> {
        let key_loc = self.key_loc(key);
        let Some(address) = Address::parse(key.as_str()) else {
            self.d.error(
                key_loc,
                format!("`{}` is not a resource address", key.as_str()),
                Some("addresses are TYPE.NAME, for example `vpc.main`".into()),
            );
            return None;
        };
        let Some(schema) = types::schema(&address.ty) else {
            let hint = did_you_mean(&address.ty, types::SCHEMAS.iter().map(|s| s.name))
                .unwrap_or_else(|| {
                    format!(
                        "known types: {}",
                        types::SCHEMAS
                            .iter()
                            .map(|s| s.name)
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                });
            self.d.error(
                key_loc,
                format!("unknown resource type `{}`", address.ty),
                Some(hint),
            );
            return None;
        };
        let empty;
        let map = match node {
            Node::Mapping(m) => m,
            Node::Scalar(s) if s.as_str().is_empty() => {
                empty = marked_yaml::types::MarkedMappingNode::new_empty(*s.span());
                &empty
            }
            other => {
                let loc = self.node_loc(other);
                self.d.error(
                    loc,
                    format!("`{address}` must be a mapping of attributes"),
                    None,
                );
                return None;
            }
        };
        let mut depends_on = BTreeSet::new();
        if let Some(d) = map.get_node("depends_on") {
            depends_on = self.depends_on(d, &address);
        }
        let prevent_destroy = match map.get_node("prevent_destroy") {
            None => false,
            Some(Node::Scalar(s)) if s.as_bool().is_some() => s.as_bool().unwrap_or(false),
            Some(other) => {
                let loc = self.node_loc(other);
                self.d
                    .error(loc, "`prevent_destroy` must be true or false", None);
                false
            }
        };
        let timeouts = match map.get_node("timeouts") {
            Some(t) => self.timeouts(t),
            None => Timeouts::default(),
        };
        let mut attrs = self.object(
            map,
            schema.attrs,
            META_KEYS,
            schema.taggable,
            Some(&address),
            "",
            key_loc,
            &address.to_string(),
        )?;
        let mut named = true;
        if let Some((name_attr, NameDefault::StackAndName(sep))) = schema.name_attr
            && !attrs.contains_key(name_attr)
        {
            let generated = stack.default_name(&address.name, sep);
            attrs.insert(name_attr.to_string(), Value::String(generated));
            named = false;
        }
        if schema.taggable {
            let mut tags: Map<String, Value> = stack_tags
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            if let Some(Value::Object(own)) = attrs.get("tags") {
                tags.extend(own.clone());
            }
            // Whose it is, last: a tag of the file never says otherwise.
            for (k, v) in stack.owner_tags(&address.to_string()) {
                tags.insert(k.into(), Value::String(v));
            }
            attrs.insert("tags".into(), Value::Object(tags));
        }
        if let Some(check) = schema.check {
            for f in check(&attrs) {
                let loc = self.locate(&address, &f.pointer).unwrap_or(key_loc);
                self.d
                    .error(loc, format!("{address}: {}", f.message), f.hint);
            }
        }
        if let Some(lint) = schema.lint {
            for f in lint(&attrs) {
                let loc = self.locate(&address, &f.pointer).unwrap_or(key_loc);
                self.d
                    .warning(loc, format!("{address}: {}", f.message), f.hint);
            }
        }
        Some(Resource {
            address,
            schema,
            attrs,
            named,
            sensitive: BTreeSet::new(),
            depends_on,
            timeouts,
            prevent_destroy,
            loc: key_loc,
        })
    }

    /// The location of a JSON pointer, or of its nearest recorded parent.
    fn locate(&self, address: &Address, pointer: &str) -> Option<Loc> {
        let mut p = pointer.to_string();
        loop {
            if let Some(loc) = self.locs.get(&(address.clone(), p.clone())) {
                return Some(*loc);
            }
            let cut = p.rfind('/')?;
            p.truncate(cut);
        }
    }

    /// `timeouts: { create: 30m, update: 1h, delete: 900s }`, in seconds.
    fn timeouts(&mut self, node: &Node) -> Timeouts {
        let mut out = Timeouts::default();
        let Some(m) = self.mapping(
            node,
            "`timeouts` must be a mapping",
            "for example timeouts: { create: 30m, update: 60m, delete: 15m }",
        ) else {
            return out;
        };
        for (k, v) in m.iter() {
            let secs = v.as_scalar().and_then(|s| parse_duration(s.as_str()));
            match secs {
                _ if !["create", "update", "delete"].contains(&k.as_str()) => {
                    let loc = self.key_loc(k);
                    self.d.error(
                        loc,
                        format!("unknown timeout `{}`", k.as_str()),
                        did_you_mean(k.as_str(), ["create", "update", "delete"]),
                    );
                }
                Some(secs) => {
                    out.set(k.as_str(), secs);
                }
                None => {
                    let loc = self.node_loc(v);
                    self.d.error(
                        loc,
                        "a timeout is a number with a unit: s, m or h",
                        Some("for example 30m, 1h or 90s".into()),
                    );
                }
            }
        }
        out
    }

    fn depends_on(&mut self, node: &Node, own: &Address) -> BTreeSet<Address> {
        let mut out = BTreeSet::new();
        let Some(seq) = node.as_sequence() else {
            let loc = self.node_loc(node);
            self.d.error(
                loc,
                "`depends_on` must be a list of addresses",
                Some("for example `depends_on: [vpc.main]`".into()),
            );
            return out;
        };
        for item in seq.iter() {
            let loc = self.node_loc(item);
            match item.as_scalar().and_then(|s| Address::parse(s.as_str())) {
                Some(a) if a == *own => {
                    self.d
                        .error(loc, format!("`{own}` cannot depend on itself"), None)
                }
                Some(a) => {
                    self.refs.push((
                        loc,
                        Some(own.clone()),
                        reference::Reference {
                            address: a.clone(),
                            attr: String::new(),
                        },
                        "/depends_on".to_string(),
                    ));
                    out.insert(a);
                }
                None => self.d.error(
                    loc,
                    "`depends_on` entries must be addresses (TYPE.NAME)",
                    None,
                ),
            }
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn object(
        &mut self,
        map: &marked_yaml::types::MarkedMappingNode,
        attrs: &'static [Attr],
        meta: &[&str],
        taggable: bool,
        address: Option<&Address>,
        pointer: &str,
        parent_loc: Loc,
        what: &str,
    ) -> Option<Map<String, Value>> {
        let mut out = Map::new();
        let mut ok = true;
        for (k, node) in map.iter() {
            let name = k.as_str();
            // `~` (or `null`, or nothing) is "not set", never the text `~`.
            if meta.contains(&name) || is_null(node) {
                continue;
            }
            let child = format!("{pointer}/{name}");
            if let Some(a) = address {
                let l = self.key_loc(k);
                self.locs.insert((a.clone(), child.clone()), l);
            }
            if name == "tags" && taggable {
                if let Node::Mapping(m) = node {
                    for (k, v) in m.iter() {
                        let at =
                            format!("{child}/{}", crate::types::attrs::pointer_token(k.as_str()));
                        self.mark(v, address, &at);
                    }
                }
                let tags = self.string_map(node);
                out.insert(
                    "tags".into(),
                    Value::Object(
                        tags.into_iter()
                            .map(|(k, v)| (k, Value::String(v)))
                            .collect(),
                    ),
                );
                continue;
            }
            let Some(attr) = attrs.iter().find(|a| a.name == name) else {
                let loc = self.key_loc(k);
                let names = attrs
                    .iter()
                    .map(|a| a.name)
                    .chain(meta.iter().copied())
                    .chain(taggable.then_some("tags"));
                let hint = did_you_mean(name, names.clone()).unwrap_or_else(|| {
                    format!("`{what}` takes: {}", names.collect::<Vec<_>>().join(", "))
                });
                self.d.error(
                    loc,
                    format!("unknown attribute `{name}` in `{what}`"),
                    Some(hint),
                );
                ok = false;
                continue;
            };
            match self.value(node, &attr.kind, address, &child) {
                Some(v) => {
                    out.insert(name.to_string(), v);
                }
                None => ok = false,
            }
        }
        for attr in attrs {
            // A key that was written but invalid has its own error already.
            if out.contains_key(attr.name) || map.get_node(attr.name).is_some_and(|n| !is_null(n)) {
                continue;
            }
            if attr.required {
                self.d.error(
                    parent_loc,
                    format!("`{what}` is missing required attribute `{}`", attr.name),
                    None,
                );
                ok = false;
            } else if let Some(v) = attr.default.to_json() {
                out.insert(attr.name.to_string(), with_defaults(&attr.kind, v));
            }
        }
        ok.then_some(out)
    }

    fn value(
        &mut self,
        node: &Node,
        kind: &'static Kind,
        address: Option<&Address>,
        pointer: &str,
    ) -> Option<Value> {
        let loc = self.node_loc(node);
        if let Some(a) = address {
            self.locs
                .entry((a.clone(), pointer.to_string()))
                .or_insert(loc);
        }
        self.mark(node, address, pointer);
        // A whole-string reference stands for a value of any kind.
        if let Node::Scalar(s) = node {
            let pieces = reference::pieces(s.as_str());
            let mut has_ref = false;
            for p in &pieces {
                match p {
                    Piece::Ref(r) => {
                        has_ref = true;
                        self.refs
                            .push((loc, address.cloned(), r.clone(), pointer.to_string()));
                    }
                    Piece::Malformed(text, _) => {
                        self.d.error(loc, format!("malformed reference `{text}`"), Some("references are written ${TYPE.NAME.ATTR}, for example ${vpc.main.id}".into()));
                        return None;
                    }
                    Piece::Text(_) => {}
                }
            }
            if has_ref {
                if pieces.len() > 1 && !matches!(kind, Kind::String) {
                    self.d.error(loc, "a reference inside a longer string is only allowed where a string is expected", None);
                    return None;
                }
                return Some(Value::String(s.as_str().to_string()));
            }
        }
        match (kind, node) {
            (Kind::String, Node::Scalar(s)) => Some(Value::String(s.as_str().to_string())),
            (Kind::Bool, Node::Scalar(s)) => match s.as_bool() {
                Some(b) => Some(Value::Bool(b)),
                None => {
                    self.d.error(
                        loc,
                        format!("expected true or false, found `{}`", s.as_str()),
                        None,
                    );
                    None
                }
            },
            (Kind::Int { min, max }, Node::Scalar(s)) => match s.as_str().parse::<i64>() {
                Ok(i) if i >= *min && i <= *max => Some(Value::from(i)),
                Ok(i) => {
                    self.d.error(
                        loc,
                        format!("{i} is out of range"),
                        Some(format!("allowed: {min}..{max}")),
                    );
                    None
                }
                Err(_) => {
                    self.d.error(
                        loc,
                        format!("expected a whole number, found `{}`", s.as_str()),
                        None,
                    );
                    None
                }
            },
            (Kind::Number, Node::Scalar(s)) => match s.as_str().parse::<f64>() {
                Ok(n) if n.is_finite() => serde_json::Number::from_f64(n).map(Value::Number),
                _ => {
                    self.d.error(
                        loc,
                        format!("expected a number, found `{}`", s.as_str()),
                        None,
                    );
                    None
                }
            },
            (Kind::Cidr, Node::Scalar(s)) => {
                let text = s.as_str();
                match text.parse::<ipnet::Ipv4Net>() {
                    Ok(net) if net.trunc() == net => Some(Value::String(net.to_string())),
                    Ok(net) => {
                        self.d.error(
                            loc,
                            format!("`{text}` has host bits set"),
                            Some(format!("did you mean `{}`?", net.trunc())),
                        );
                        None
                    }
                    Err(_) => {
                        self.d.error(
                            loc,
                            format!("`{text}` is not a valid IPv4 CIDR block"),
                            Some("write it as ADDRESS/PREFIX, for example 10.0.0.0/16".into()),
                        );
                        None
                    }
                }
            }
            (Kind::Enum(options), Node::Scalar(s)) => {
                if options.contains(&s.as_str()) {
                    Some(Value::String(s.as_str().to_string()))
                } else {
                    let hint = did_you_mean(s.as_str(), options.iter().copied())
                        .unwrap_or_else(|| format!("one of: {}", options.join(", ")));
                    self.d.error(
                        loc,
                        format!("`{}` is not allowed here", s.as_str()),
                        Some(hint),
                    );
                    None
                }
            }
            (Kind::Ports, Node::Scalar(s)) => {
                match parse_ports(s.as_str()) {
                    Ok((a, b)) if a == b => Some(Value::String(a.to_string())),
                    Ok((a, b)) => Some(Value::String(format!("{a}-{b}"))),
                    Err(why) => {
                        self.d.error(loc, format!("invalid port range `{}`: {why}", s.as_str()), Some("write a port (\"443\") or a range (\"30000-32767\"), each 0..65535".into()));
                        None
                    }
                }
            }
            (Kind::List(inner) | Kind::Set(inner), Node::Sequence(seq)) => {
                let mut out = Vec::new();
                let mut ok = true;
                for (i, item) in seq.iter().enumerate() {
                    match self.value(item, inner, address, &format!("{pointer}/{i}")) {
                        Some(v) => out.push(v),
                        None => ok = false,
                    }
                }
                ok.then_some(Value::Array(out))
            }
            (Kind::Map(inner), Node::Mapping(m)) => {
                let mut out = Map::new();
                let mut ok = true;
                for (k, item) in m.iter() {
                    let child = format!(
                        "{pointer}/{}",
                        crate::types::attrs::pointer_token(k.as_str())
                    );
                    match self.value(item, inner, address, &child) {
                        Some(v) => {
                            out.insert(k.as_str().to_string(), v);
                        }
                        None => ok = false,
                    }
                }
                ok.then_some(Value::Object(out))
            }
            (Kind::Object(attrs), Node::Mapping(m)) => {
                let what = pointer.trim_start_matches('/').replace('/', ".");
                self.object(m, attrs, &[], false, address, pointer, loc, &what)
                    .map(Value::Object)
            }
            (kind, _) => {
                self.d
                    .error(loc, format!("expected {}", kind.describe()), None);
                None
            }
        }
    }

    /// Attribute combinations that must differ between resources of one type.
    fn check_unique(&mut self, resources: &BTreeMap<Address, Resource>) {
        for schema in types::SCHEMAS {
            for fields in schema.unique {
                let mut seen: HashMap<String, &Address> = HashMap::new();
                for r in resources.values().filter(|r| r.schema.name == schema.name) {
                    let key: Option<Vec<String>> = fields
                        .iter()
                        .map(|f| r.attrs.get(*f).map(Value::to_string))
                        .collect();
                    let Some(key) = key else { continue };
                    let key = key.join("\u{0}");
                    if let Some(first) = seen.get(&key) {
                        let last = fields.last().expect("a unique set names fields");
                        let loc = self
                            .locate(&r.address, &format!("/{last}"))
                            .unwrap_or(r.loc);
                        self.d.error(
                            loc,
                            format!(
                                "`{}` has the same {} as `{first}`",
                                r.address,
                                fields.join(" and ")
                            ),
                            Some(format!(
                                "two {}s cannot share {}",
                                schema.name,
                                fields.join(" and ")
                            )),
                        );
                    } else {
                        seen.insert(key, &r.address);
                    }
                }
            }
        }
    }

    /// The checks across resources (src/stack/network.rs, src/stack/eks.rs),
    /// and the dependencies they imply added to `depends_on`.
    fn check_network(&mut self, resources: &mut BTreeMap<Address, Resource>) {
        let findings = super::network::check(resources)
            .into_iter()
            .chain(super::eks::check(resources));
        for f in findings {
            let loc = self
                .locate(&f.address, &f.pointer)
                .unwrap_or(resources[&f.address].loc);
            let message = format!("{}: {}", f.address, f.message);
            if f.error {
                self.d.error(loc, message, Some(f.hint));
            } else {
                self.d.warning(loc, message, Some(f.hint));
            }
        }
        let implied = super::network::implied(resources)
            .into_iter()
            .chain(super::eks::implied(resources))
            .collect::<Vec<_>>();
        for (dependent, dependency) in implied {
            if let Some(r) = resources.get_mut(&dependent) {
                r.depends_on.insert(dependency);
            }
        }
    }

    fn check_references(
        &mut self,
        resources: &BTreeMap<Address, Resource>,
        lookups: &BTreeMap<Address, Lookup>,
    ) {
        for (loc, from, r, pointer) in std::mem::take(&mut self.refs) {
            if r.address.is_lookup() {
                self.check_lookup_reference(loc, from.as_ref(), &r, lookups);
                continue;
            }
            if let Some(from) = from.as_ref().filter(|f| f.is_lookup()) {
                self.d.error(
                    loc,
                    format!("{from}: a lookup cannot use `{}`", r.address),
                    Some("lookups are read at plan time, before anything is made: look that up too, or write its value".into()),
                );
                continue;
            }
            let Some(target) = resources.get(&r.address) else {
                if self.declared.contains(&r.address) {
                    // Declared but invalid: its own errors say why.
                    continue;
                }
                if types::schema(&r.address.ty).is_none() && !r.attr.is_empty() {
                    let hint = did_you_mean(&r.address.ty, types::SCHEMAS.iter().map(|s| s.name));
                    self.d.error(
                        loc,
                        format!("reference to unknown resource type `{}`", r.address.ty),
                        hint,
                    );
                } else {
                    let hint = did_you_mean(
                        &r.address.to_string(),
                        resources
                            .keys()
                            .map(|a| a.to_string())
                            .collect::<Vec<_>>()
                            .iter()
                            .map(String::as_str),
                    );
                    self.d.error(
                        loc,
                        format!("reference to undeclared resource `{}`", r.address),
                        hint,
                    );
                }
                continue;
            };
            if r.attr.is_empty() {
                continue;
            }
            // A deferred attribute (a security group's rules) may name its own
            // resource: it is applied after the resource exists.
            let top = pointer
                .trim_start_matches('/')
                .split('/')
                .next()
                .unwrap_or("");
            let deferred = target.schema.attr(top).is_some_and(|x| x.deferred);
            if from.as_ref() == Some(&r.address) && !deferred {
                self.d
                    .error(loc, format!("`{}` refers to itself", r.address), None);
                continue;
            }
            if !target.schema.referenceable().any(|a| a == r.attr) {
                let hint =
                    did_you_mean(&r.attr, target.schema.referenceable()).unwrap_or_else(|| {
                        format!(
                            "`{}` exports: {}",
                            r.address.ty,
                            target.schema.exports.join(", ")
                        )
                    });
                self.d.error(
                    loc,
                    format!("`{}` has no attribute `{}`", r.address, r.attr),
                    Some(hint),
                );
            }
        }
    }
}

impl Validator {
    /// A reference to a lookup: declared under `data:`, and to what it exports.
    fn check_lookup_reference(
        &mut self,
        loc: Loc,
        from: Option<&Address>,
        r: &reference::Reference,
        lookups: &BTreeMap<Address, Lookup>,
    ) {
        let Some(target) = lookups.get(&r.address) else {
            if self.declared.contains(&r.address) {
                return; // declared but invalid: its own errors say why
            }
            let declared: Vec<String> = lookups.keys().map(ToString::to_string).collect();
            let written = r.address.to_string();
            let hint =
                did_you_mean(&written, declared.iter().map(String::as_str)).unwrap_or_else(|| {
                    format!(
                        "declare it under `data:` as `{}.{}`",
                        r.address.lookup_kind().unwrap_or(""),
                        r.address.name
                    )
                });
            self.d.error(
                loc,
                format!("reference to undeclared lookup `{written}`"),
                Some(hint),
            );
            return;
        };
        if r.attr.is_empty() {
            self.d.error(
                loc,
                format!("`depends_on` cannot name the lookup `{}`", r.address),
                Some("a lookup is read before anything is made: nothing waits for it".into()),
            );
            return;
        }
        if from == Some(&r.address) {
            self.d
                .error(loc, format!("`{}` refers to itself", r.address), None);
            return;
        }
        if !target.schema.exports.contains(&r.attr.as_str()) {
            let hint =
                did_you_mean(&r.attr, target.schema.exports.iter().copied()).unwrap_or_else(|| {
                    format!(
                        "a {} lookup gives: {}",
                        target.schema.name,
                        target.schema.exports.join(", ")
                    )
                });
            self.d.error(
                loc,
                format!("`{}` has no attribute `{}`", r.address, r.attr),
                Some(hint),
            );
        }
    }
}

/// A default object gets the defaults of its own fields.
fn with_defaults(kind: &Kind, value: Value) -> Value {
    match (kind, value) {
        (Kind::Object(fields), Value::Object(mut m)) => {
            for f in fields.iter() {
                if !m.contains_key(f.name)
                    && let Some(d) = f.default.to_json()
                {
                    m.insert(f.name.to_string(), with_defaults(&f.kind, d));
                }
            }
            Value::Object(m)
        }
        (_, v) => v,
    }
}

/// `90s`, `30m`, `2h` in seconds; zero is refused.
fn parse_duration(s: &str) -> Option<u64> {
    let s = s.trim();
    let (n, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: u64 = n.parse().ok()?;
    let secs = match unit {
        "s" => n,
        "m" => n.checked_mul(60)?,
        "h" => n.checked_mul(3600)?,
        _ => return None,
    };
    (secs > 0).then_some(secs)
}
