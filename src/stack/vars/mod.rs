//! Variables and environments, applied to the stack file's YAML tree before it
//! is validated, so that every later check (kinds, references, the network)
//! sees the values and every error stays located in the file. Pure.
//!
//! - `variables:` declares each variable: `type` (string, number, bool, list,
//!   map; default string), `default`, `description`, `sensitive`.
//! - A value comes, last wins, from the default, `INFRA_VAR_name`, a
//!   `--var-file`, then `--var name=value` (the order Terraform uses).
//! - `${var.name}` alone in a value stands for the typed value (a list, a
//!   number); inside a longer string it is put in as text. `$${var.x}` is a
//!   literal `${var.x}`.
//! - `environments:` holds one overlay per environment: with `--env NAME`, its
//!   top-level keys are merged over the file's (maps by key, so resources by
//!   address; lists replace; `~` removes a key, so a resource can be left out of
//!   one environment).

use std::collections::{BTreeMap, BTreeSet};

use marked_yaml::Node;
use marked_yaml::types::{MarkedMappingNode, MarkedScalarNode, MarkedSequenceNode, Span};
use serde_json::Value;

use crate::types::reference;

mod context;
mod instances;
mod module_inputs;
mod modules;
mod substitute;

pub use context::{Folding, Outside};
pub use modules::fold;
pub use modules::{CALL_KEYS, MODULE_KEYS};
pub use substitute::substitute;

/// The kinds a variable may have.
pub const TYPES: &[&str] = &["string", "number", "bool", "list", "map"];

/// A value given from outside the stack file for a variable.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Given {
    /// From `--var name=value` or `INFRA_VAR_name`: read by the declared type
    /// (a list or map written as JSON or YAML flow, `[a, b]`, `{k: v}`).
    Text(String),
    /// From a var file: typed already.
    Value(Value),
}

/// What the command line and the environment give the stack file: variable
/// values (by name, each with where it came from, for messages) and the
/// environment to plan.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Inputs {
    pub values: BTreeMap<String, (Given, String)>,
    pub env: Option<String>,
    /// The outputs of the stacks the file's `stacks:` block names, as their
    /// states recorded them (read without their locks), by stack; or why they
    /// could not be read.
    pub stacks: BTreeMap<String, Result<Produced, String>>,
    /// What the lookups found, once they have: `${data...}` is put in like a
    /// variable. `None` before (validation alone): a lookup's value is known
    /// only at plan time.
    pub lookups: Option<super::LookedUp>,
    /// What `file(PATH)` and `templatefile(PATH, VARS)` read, by the path
    /// as written (relative to the stack file): its text, or why it could
    /// not be read. Read at the edge (`ops`) for the paths `files_asked`
    /// names; a file's text is an input of a saved plan's digest.
    pub files: BTreeMap<String, Result<String, String>>,
}

/// What another stack's state holds for its outputs, and where it was read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Produced {
    pub location: String,
    /// Each output's value, and whether it is sensitive.
    pub outputs: BTreeMap<String, (Value, bool)>,
}

/// The stacks `stacks:` names, each with the state its `state:` gives (a path,
/// or `s3://BUCKET/KEY`), or `None` for the stack's default state.
pub fn producers(top: &MarkedMappingNode) -> Vec<(String, Option<String>)> {
    let Some(block) = top.get_node("stacks").and_then(Node::as_mapping) else {
        return Vec::new();
    };
    block
        .iter()
        .map(|(k, v)| {
            let given = v
                .as_mapping()
                .and_then(|m| m.get_node("state"))
                .and_then(text)
                .filter(|t| !t.is_empty() && !t.contains("${"))
                .map(str::to_string);
            (k.as_str().to_string(), given)
        })
        .collect()
}

/// The file's top level for one environment (or none): without
/// `environments:`, with that environment's overlay merged when it has one.
pub fn for_environment(written: &MarkedMappingNode, env: Option<&str>) -> MarkedMappingNode {
    let mut top = written.clone();
    top.remove("environments");
    match env.and_then(|e| {
        written
            .get_node("environments")
            .and_then(Node::as_mapping)
            .and_then(|m| m.get_node(e))
            .and_then(Node::as_mapping)
    }) {
        Some(over) => overlay(&top, over),
        None => top,
    }
}

/// A declared variable and its value, once resolved.
#[derive(Debug, Clone)]
pub struct Variable {
    pub name: String,
    pub ty: String,
    pub sensitive: bool,
    pub value: Option<Value>,
    /// A module's input known only at plan or apply (a resource's
    /// attribute in the file that uses the module): the expression put in
    /// place of each use.
    pub unknown: Option<crate::types::expr::Expr>,
    /// Its value was refused (said already): its uses say nothing more.
    pub refused: bool,
}

/// A problem, at a span of the stack file.
pub struct Found {
    pub span: Span,
    /// How many characters into the scalar at `span` it is.
    pub offset: usize,
    pub chars: usize,
    pub message: String,
    pub hint: Option<String>,
}

impl Found {
    fn at(node_span: &Span, chars: usize, message: String, hint: Option<String>) -> Found {
        Found { span: *node_span, offset: 0, chars, message, hint }
    }

    /// A problem `offset` characters into a scalar's text.
    fn within(s: &MarkedScalarNode, offset: usize, message: String, hint: Option<String>) -> Found {
        let rest = s.as_str().chars().count().saturating_sub(offset).max(1);
        Found { span: *s.span(), offset, chars: rest, message, hint }
    }
}

/// A scalar's text, or `None`.
fn text(node: &Node) -> Option<&str> {
    node.as_scalar().map(MarkedScalarNode::as_str)
}

/// The JSON value of a YAML node (scalars as strings, numbers and booleans
/// by their look unless quoted).
pub fn to_json(node: &Node) -> Value {
    match node {
        Node::Scalar(s) => {
            if let Some(b) = s.as_bool() {
                Value::Bool(b)
            } else if let Some(i) = s.as_i64() {
                Value::from(i)
            } else if let Some(f) = s.as_f64().filter(|_| s.may_coerce()) {
                serde_json::Number::from_f64(f)
                    .map_or(Value::String(s.as_str().into()), Value::Number)
            } else if s.may_coerce() && matches!(s.as_str(), "~" | "null" | "") {
                Value::Null
            } else {
                Value::String(s.as_str().to_string())
            }
        }
        Node::Sequence(q) => Value::Array(q.iter().map(to_json).collect()),
        Node::Mapping(m) => {
            Value::Object(m.iter().map(|(k, v)| (k.as_str().to_string(), to_json(v))).collect())
        }
    }
}

/// A YAML node standing for a JSON value, at `span`.
pub(super) fn from_json(value: &Value, span: Span) -> Node {
    match value {
        Value::Array(a) => Node::Sequence(MarkedSequenceNode::new(
            span,
            a.iter().map(|v| from_json(v, span)).collect(),
        )),
        Value::Object(o) => Node::Mapping(MarkedMappingNode::new(
            span,
            o.iter()
                .map(|(k, v)| (MarkedScalarNode::new(span, k.as_str()), from_json(v, span)))
                .collect(),
        )),
        Value::String(s) => {
            let mut n = MarkedScalarNode::new(span, s.as_str());
            n.set_coerce(false);
            Node::Scalar(n)
        }
        Value::Null => Node::Scalar(MarkedScalarNode::new(span, "")),
        other => Node::Scalar(MarkedScalarNode::new(span, other.to_string())),
    }
}

/// Whether a value is of a variable type.
pub(super) fn is_of(ty: &str, v: &Value) -> bool {
    match ty {
        "string" => v.is_string(),
        "number" => v.is_number(),
        "bool" => v.is_boolean(),
        "list" => v.is_array(),
        "map" => v.is_object(),
        _ => false,
    }
}

/// A value given as text, read by the declared type.
fn from_text(ty: &str, text: &str) -> Option<Value> {
    match ty {
        "string" => Some(Value::String(text.to_string())),
        "number" => text.trim().parse::<i64>().map(Value::from).ok().or_else(|| {
            text.trim()
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map(Value::Number)
        }),
        "bool" => match text.trim() {
            "true" => Some(Value::Bool(true)),
            "false" => Some(Value::Bool(false)),
            _ => None,
        },
        _ => marked_yaml::parse_yaml(0, text)
            .ok()
            .map(|n| to_json(&n))
            .filter(|v| is_of(ty, v))
            .or_else(|| {
                // A bare top-level YAML document must be a mapping for
                // marked_yaml; a list is read through one.
                marked_yaml::parse_yaml(0, format!("v: {text}"))
                    .ok()
                    .and_then(|n| n.as_mapping().and_then(|m| m.get_node("v")).map(to_json))
                    .filter(|v| is_of(ty, v))
            }),
    }
}

/// Merges an environment's overlay over the file's top level: maps by key
/// (recursively), anything else replaced, `~` removes the key.
pub fn overlay(base: &MarkedMappingNode, over: &MarkedMappingNode) -> MarkedMappingNode {
    let mut out = base.clone();
    for (k, v) in over.iter() {
        let removes = matches!(v, Node::Scalar(s) if s.may_coerce() && matches!(s.as_str(), "~" | "null" | ""));
        if removes {
            out.remove(k.as_str());
            continue;
        }
        let merged = match (base.get_node(k.as_str()), v) {
            (Some(Node::Mapping(b)), Node::Mapping(o)) => Node::Mapping(overlay(b, o)),
            _ => v.clone(),
        };
        out.insert(k.clone(), merged);
    }
    out
}

/// Reads the `variables:` block and gives each its value. Problems are
/// located at the declaration (or, for a value given from outside, named by
/// where it came from).
pub fn declare(block: Option<&Node>, inputs: &Inputs, found: &mut Vec<Found>) -> Vec<Variable> {
    let mut out = Vec::new();
    let Some(block) = block else {
        for (name, (_, from)) in inputs.values.iter().filter(|(_, (_, f))| !from_environment(f)) {
            found.push(Found::at(
                &Span::new_blank(),
                0,
                format!("{from} sets variable `{name}`, which the stack file does not declare"),
                Some("declare it under `variables:`, or drop the value".into()),
            ));
        }
        return out;
    };
    let Some(map) = block.as_mapping() else {
        found.push(Found::at(
            block.span(),
            1,
            "`variables` must be a mapping of names to declarations".into(),
            Some(
                "for example `variables: { cidr: { type: string, default: 10.0.0.0/16 } }`".into(),
            ),
        ));
        return out;
    };
    for (k, decl) in map.iter() {
        let empty = MarkedMappingNode::new_empty(*k.span());
        let Some(d) = declaration(k, decl, &empty, found) else {
            continue;
        };
        // From the file, then (over it) from outside: what a refused value
        // leaves is a variable whose every use is an error already said.
        let value = file_default(&d, found).and_then(|default| match inputs.values.get(&d.name) {
            Some(given) => given_value(&d, given, found),
            None => Some(default),
        });
        out.push(match value {
            Some(value) => Variable {
                name: d.name,
                ty: d.ty,
                sensitive: d.sensitive,
                value,
                unknown: None,
                refused: false,
            },
            None => Variable::refused(&d.name, &d.ty, d.sensitive),
        });
    }
    for (name, (_, from)) in &inputs.values {
        if !out.iter().any(|v| &v.name == name)
            && map.get_node(name).is_none()
            && !from_environment(from)
        {
            found.push(Found::at(
                block.span(),
                1,
                format!("{from} sets variable `{name}`, which the stack file does not declare"),
                Some(format!(
                    "declared: {}",
                    map.keys().map(|k| k.as_str()).collect::<Vec<_>>().join(", ")
                )),
            ));
        }
    }
    out
}

/// A variable's declaration as the file writes it.
pub(super) struct Declared<'a> {
    pub(super) key: &'a MarkedScalarNode,
    pub(super) name: String,
    pub(super) ty: String,
    pub(super) sensitive: bool,
    pub(super) default: Option<&'a Node>,
}

/// One entry of `variables:`: its name, type and whether it is sensitive;
/// `None` when it cannot declare a variable (the problem is in `found`).
pub(super) fn declaration<'a>(
    k: &'a MarkedScalarNode,
    decl: &'a Node,
    empty: &'a MarkedMappingNode,
    found: &mut Vec<Found>,
) -> Option<Declared<'a>> {
    let name = k.as_str().to_string();
    let chars = name.chars().count().max(1);
    let ident =
        !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if !ident {
        found.push(Found::at(
            k.span(),
            chars,
            format!("`{name}` is not a variable name"),
            Some("use letters, digits, `_` and `-`".into()),
        ));
        return None;
    }
    let d = match decl {
        Node::Mapping(m) => m,
        Node::Scalar(s) if s.as_str().is_empty() => empty,
        other => {
            found.push(Found::at(
                other.span(),
                1,
                format!("variable `{name}` must be declared as a mapping"),
                Some("for example `{ type: string, default: staging }`".into()),
            ));
            return None;
        }
    };
    for (key, _) in d.iter() {
        if !["type", "default", "description", "sensitive"].contains(&key.as_str()) {
            found.push(Found::at(
                key.span(),
                key.as_str().chars().count().max(1),
                format!("unknown key `{}` in variable `{name}`", key.as_str()),
                super::diag::did_you_mean(
                    key.as_str(),
                    ["type", "default", "description", "sensitive"],
                )
                .or_else(|| Some("a variable takes type, default, description, sensitive".into())),
            ));
        }
    }
    let type_node = d.get_node("type");
    let ty = match type_node {
        None => "string".to_string(),
        Some(n) => text(n).unwrap_or("").to_string(),
    };
    if !TYPES.contains(&ty.as_str()) {
        let span = type_node.map_or(*k.span(), |n| *n.span());
        found.push(Found::at(
            &span,
            ty.chars().count().max(1),
            format!("unknown variable type `{ty}`"),
            super::diag::did_you_mean(&ty, TYPES.iter().copied())
                .or_else(|| Some(format!("one of {}", TYPES.join(", ")))),
        ));
        return None;
    }
    let sensitive = d
        .get_node("sensitive")
        .and_then(Node::as_scalar)
        .and_then(MarkedScalarNode::as_bool)
        .unwrap_or(false);
    Some(Declared { key: k, name, ty, sensitive, default: d.get_node("default") })
}

/// The value the file gives a variable (`default:`; `Some(None)` when it
/// gives none); `None` when the default is not of the variable's type.
pub(super) fn file_default(d: &Declared, found: &mut Vec<Found>) -> Option<Option<Value>> {
    let Some(node) = d.default else {
        return Some(None);
    };
    // `default: null` (or `~`), of any type: the variable may be left out,
    // and an attribute set to it is not set (Terraform's optional input).
    if matches!(node, Node::Scalar(s) if s.may_coerce() && matches!(s.as_str(), "~" | "null")) {
        return Some(Some(Value::Null));
    }
    // A quoted or plain scalar default of a string variable stays text.
    let v = match (d.ty.as_str(), node) {
        ("string", Node::Scalar(s)) => Value::String(s.as_str().to_string()),
        _ => to_json(node),
    };
    if !is_of(&d.ty, &v) {
        found.push(Found::at(
            node.span(),
            1,
            format!("the default of variable `{}` is not a {}", d.name, d.ty),
            None,
        ));
        return None;
    }
    Some(Some(v))
}

/// The value given from outside the file (`--var`, `INFRA_VAR_*`, a var
/// file, a saved plan); `None` when it is not of the variable's type.
fn given_value(
    d: &Declared,
    (given, from): &(Given, String),
    found: &mut Vec<Found>,
) -> Option<Option<Value>> {
    let (name, ty) = (&d.name, &d.ty);
    let chars = name.chars().count().max(1);
    let refuse = |found: &mut Vec<Found>, message: String| {
        found.push(Found::at(d.key.span(), chars, message, Some(type_hint(ty))));
        None
    };
    match given {
        Given::Text(t) => match from_text(ty, t) {
            Some(v) => Some(Some(v)),
            None if d.sensitive => {
                refuse(found, format!("{from} gives variable `{name}` a value that is not a {ty}"))
            }
            None => {
                refuse(found, format!("{from} gives variable `{name}` `{t}`, which is not a {ty}"))
            }
        },
        // An unquoted `3` or `true` in a var file is text to a string.
        Given::Value(v @ (Value::Number(_) | Value::Bool(_))) if ty == "string" => {
            Some(Some(Value::String(v.to_string())))
        }
        Given::Value(v) if !is_of(ty, v) => {
            refuse(found, format!("{from} gives variable `{name}` a value that is not a {ty}"))
        }
        Given::Value(v) => Some(Some(v.clone())),
    }
}

impl Variable {
    pub(super) fn refused(name: &str, ty: &str, sensitive: bool) -> Variable {
        Variable {
            name: name.into(),
            ty: ty.into(),
            sensitive,
            value: None,
            unknown: None,
            refused: true,
        }
    }
}

/// Whether a value came from `INFRA_VAR_name`: one the file does not declare
/// is left alone (the environment may serve other stacks too), as Terraform
/// does with `TF_VAR_name`.
fn from_environment(from: &str) -> bool {
    from.starts_with("INFRA_VAR_")
}

pub(super) fn type_hint(ty: &str) -> String {
    match ty {
        "number" => "write a number, for example 3".into(),
        "bool" => "write true or false".into(),
        "list" => "write a list, for example [a, b] or [\"a\", \"b\"]".into(),
        "map" => "write a map, for example {k: v} or {\"k\": \"v\"}".into(),
        _ => "write text".into(),
    }
}

/// The text of sensitive variables' values (their strings): never shown.
pub fn secrets(vars: &[Variable]) -> Vec<String> {
    let mut out = Vec::new();
    for v in vars.iter().filter(|v| v.sensitive) {
        collect(v.value.as_ref(), &mut out);
    }
    out.retain(|s| !s.is_empty());
    out.sort();
    out.dedup();
    out
}

pub(super) fn collect(v: Option<&Value>, out: &mut Vec<String>) {
    match v {
        Some(Value::String(s)) => out.push(s.clone()),
        Some(Value::Array(a)) => a.iter().for_each(|x| collect(Some(x), out)),
        Some(Value::Object(o)) => o.values().for_each(|x| collect(Some(x), out)),
        // A number or a boolean would mask every digit or `true` in sight.
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn var(name: &str, ty: &str, value: Value) -> Variable {
        Variable {
            name: name.into(),
            ty: ty.into(),
            sensitive: false,
            value: Some(value),
            unknown: None,
            refused: false,
        }
    }

    #[test]
    fn text_is_read_by_the_declared_type() {
        assert_eq!(from_text("number", "3"), Some(Value::from(3)));
        assert_eq!(from_text("bool", "true"), Some(Value::Bool(true)));
        assert_eq!(from_text("bool", "yes"), None);
        assert_eq!(from_text("list", "[a, b]"), Some(serde_json::json!(["a", "b"])));
        assert_eq!(from_text("map", r#"{"k": "v"}"#), Some(serde_json::json!({"k": "v"})));
        assert_eq!(from_text("string", "10.0.0.0/16"), Some(Value::from("10.0.0.0/16")));
    }

    #[test]
    fn a_whole_reference_is_the_typed_value_and_a_partial_one_is_text() {
        let vars = [
            var("zones", "list", serde_json::json!(["a", "c"])),
            var("env", "string", Value::from("prod")),
            var("n", "number", Value::from(3)),
        ];
        let doc = marked_yaml::parse_yaml(
            0,
            "a: ${var.zones}\nb: enza-${var.env}-${var.n}\nc: $${var.env}\nd: ${var.n}\n",
        )
        .unwrap();
        let mut found = Vec::new();
        let out = to_json(&substitute(&doc, &vars, &mut found));
        assert!(found.is_empty());
        assert_eq!(
            out,
            serde_json::json!({"a": ["a", "c"], "b": "enza-prod-3", "c": "$${var.env}", "d": 3})
        );
    }

    #[test]
    fn unknown_and_unset_variables_are_found_where_they_are_used() {
        let vars = [Variable {
            name: "cidr".into(),
            ty: "string".into(),
            sensitive: false,
            value: None,
            unknown: None,
            refused: false,
        }];
        let doc = marked_yaml::parse_yaml(0, "a: ${var.cidr}\nb: ${var.nope}\n").unwrap();
        let mut found = Vec::new();
        substitute(&doc, &vars, &mut found);
        let messages: Vec<&str> = found.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(messages, ["variable `cidr` has no value", "unknown variable `nope`"]);
        assert_eq!(found[1].span.start().unwrap().line(), 2);
    }

    #[test]
    fn values_for_undeclared_variables_are_refused_unless_from_the_environment() {
        let block = marked_yaml::parse_yaml(0, "cidr: { default: 10.0.0.0/16 }\n").unwrap();
        let mut inputs = Inputs::default();
        inputs.values.insert("other".into(), (Given::Text("x".into()), "INFRA_VAR_other".into()));
        let mut found = Vec::new();
        let vars = declare(Some(&block), &inputs, &mut found);
        assert!(found.is_empty(), "the environment may serve other stacks");
        assert_eq!(vars[0].value, Some(Value::from("10.0.0.0/16")));
        inputs.values.insert("typo".into(), (Given::Text("x".into()), "--var typo".into()));
        declare(Some(&block), &inputs, &mut found);
        assert_eq!(found.len(), 1);
        assert!(found[0].message.contains("--var typo sets variable `typo`"));
    }

    #[test]
    fn an_overlay_merges_maps_replaces_lists_and_removes_with_null() {
        let base = marked_yaml::parse_yaml(
            0,
            "tags: {a: 1, b: 2}\nlist: [1, 2]\nresources: {x.one: {k: 1}, x.two: {k: 2}}\n",
        )
        .unwrap();
        let over = marked_yaml::parse_yaml(
            0,
            "tags: {b: 3}\nlist: [9]\nresources: {x.one: {k: 5}, x.two: ~}\n",
        )
        .unwrap();
        let merged = overlay(base.as_mapping().unwrap(), over.as_mapping().unwrap());
        assert_eq!(
            to_json(&Node::Mapping(merged)),
            serde_json::json!({"tags": {"a": 1, "b": 3}, "list": [9], "resources": {"x.one": {"k": 5}}})
        );
    }
}
