//! References between resources: `${TYPE.NAME.ATTR}`, alone or inside a string;
//! `${data.TYPE.NAME.ATTR}` refers to what a lookup found.
//!
//! A stack's attributes are *templates*: their strings may hold references,
//! and `$${` is a literal `${` (as in Terraform). What comes from outside the
//! file (a variable, another stack's output, what a lookup found, what AWS
//! holds) is a *value*: it enters a template escaped (`literal`, `escape`),
//! so that it is never read as a reference, never an edge, never parsed
//! again; a template becomes a value (`value_of`) once it is known, where it
//! leaves for AWS, state, an output or a comparison with what AWS holds.
//!
//! A template that still holds a reference after resolution is not known
//! until apply.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::rc::Rc;

use serde_json::Value;

use super::Address;
use super::InstanceKey;
use super::expr::{self, Expr, Step, Traversal, Val};

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Reference {
    pub address: Address,
    pub attr: String,
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.address, self.attr)
    }
}

/// The expression a stack's string holds, if it holds one (text with no
/// `${...}`, or one that cannot be read, is text: the validator said why).
/// Each string is parsed once per thread: a plan reads the same templates
/// many times (edges, known or not, resolution).
pub fn expression(s: &str) -> Option<Rc<Expr>> {
    if !s.contains("${") {
        return None;
    }
    thread_local! {
        static PARSED: RefCell<HashMap<String, Option<Rc<Expr>>>> = RefCell::new(HashMap::new());
    }
    PARSED.with(|parsed| {
        if let Some(e) = parsed.borrow().get(s) {
            return e.clone();
        }
        let e = expr::template(s).ok().flatten().map(Rc::new);
        parsed.borrow_mut().insert(s.to_string(), e.clone());
        e
    })
}

/// What a chain of names refers to, when it is a resource's or a lookup's
/// attribute, `TYPE.NAME.ATTR`, `data.KIND.NAME.ATTR`, and whether it is
/// only that (`vpc.main.tags.Name` refers to `tags`, and is more).
fn reference_of(t: &Traversal) -> Option<(Reference, bool)> {
    if matches!(t.root.as_str(), "var" | "stack" | "each" | "count") {
        return None;
    }
    // Inside modules: `module.NAME[KEY].` before each.
    let mut module = Vec::new();
    let (mut root, mut at) = (t.root.as_str(), 0);
    while root == "module" {
        let name = t.attr(at)?.to_string();
        at += 1;
        let key = match key_at(t, at) {
            Some(k) => {
                at += 1;
                Some(k?)
            }
            None => None,
        };
        module.push(crate::types::ModuleStep { name, key });
        root = t.attr(at)?;
        at += 1;
    }
    let (mut address, mut at) = match root {
        "data" => (Address::lookup(t.attr(at)?, t.attr(at + 1)?), at + 2),
        ty => (Address::new(ty, t.attr(at)?), at + 1),
    };
    address.module = module;
    // One instance: `TYPE.NAME["KEY"].ATTR`, `TYPE.NAME[0].ATTR`.
    if let Some(k) = key_at(t, at) {
        address.key = Some(k?);
        at += 1;
    }
    let attr = t.attr(at)?.to_string();
    Some((Reference { address, attr }, t.steps.len() == at + 1))
}

/// The instance key a literal index at step `at` names: `None` when the
/// step is no literal index, `Some(None)` when it is not a key.
fn key_at(t: &Traversal, at: usize) -> Option<Option<InstanceKey>> {
    match t.steps.get(at) {
        Some(Step::Index(Expr::Literal(k))) => Some(match k {
            Value::String(s) => Some(InstanceKey::Key(s.clone())),
            n => n.as_u64().map(InstanceKey::Index),
        }),
        _ => None,
    }
}

/// The references an expression holds, in the order written.
pub fn references_in(e: &Expr) -> Vec<Reference> {
    expr::traversals(e).iter().filter_map(reference_of).map(|(r, _)| r).collect()
}

/// Every reference anywhere inside a value.
pub fn references(value: &Value) -> Vec<Reference> {
    let mut out = Vec::new();
    walk(value, &mut |s| {
        if let Some(e) = expression(s) {
            out.extend(references_in(&e));
        }
    });
    out
}

fn walk(value: &Value, f: &mut impl FnMut(&str)) {
    match value {
        Value::String(s) => f(s),
        Value::Array(a) => a.iter().for_each(|v| walk(v, f)),
        Value::Object(o) => o.values().for_each(|v| walk(v, f)),
        _ => {}
    }
}

/// Whether a value is fully known (holds no unresolved reference).
pub fn is_known(value: &Value) -> bool {
    let mut known = true;
    walk(value, &mut |s| {
        if known && expression(s).is_some_and(|e| !references_in(&e).is_empty()) {
            known = false;
        }
    });
    known
}

/// Text from outside put in a template: every `${` written `$${`.
pub fn escape(text: &str) -> String {
    text.replace("${", "$${")
}

/// A value from outside as a template: its strings escaped, so that nothing
/// in it is ever read as a reference.
pub fn literal(value: &Value) -> Value {
    map_strings(value, &|s| escape(s))
}

/// A known template as the value it stands for: every `$${` is a `${`.
pub fn value_of(template: &Value) -> Value {
    map_strings(template, &|s| s.replace("$${", "${"))
}

fn map_strings(value: &Value, f: &dyn Fn(&str) -> String) -> Value {
    match value {
        Value::String(s) if s.contains("${") => Value::String(f(s)),
        Value::Array(a) => Value::Array(a.iter().map(|v| map_strings(v, f)).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), map_strings(v, f))).collect())
        }
        other => other.clone(),
    }
}

/// The key of the one-key object that stands, in a plan as renderers see it
/// (`displayed`), for a value known only after apply; its value is the
/// template.
pub const UNKNOWN: &str = "(known after apply)";

/// A template as a plan shows it: what is known by now as its value, each
/// string still holding a reference as `{UNKNOWN: template}`. Renderers
/// tell the two apart by the marker (`unknown`), never by parsing a value:
/// a value may hold any text, `${` too.
pub fn displayed(template: &Value) -> Value {
    match template {
        Value::String(s) if !is_known(template) => {
            let mut m = serde_json::Map::new();
            m.insert(UNKNOWN.to_string(), Value::String(s.clone()));
            Value::Object(m)
        }
        Value::String(_) => value_of(template),
        Value::Array(a) => Value::Array(a.iter().map(displayed).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), displayed(v))).collect())
        }
        other => other.clone(),
    }
}

/// The template of a displayed value not known yet, if it is one.
pub fn unknown(displayed: &Value) -> Option<&str> {
    match displayed {
        Value::Object(m) if m.len() == 1 => m.get(UNKNOWN).and_then(Value::as_str),
        _ => None,
    }
}

/// Whether a displayed value holds anything not known yet.
pub fn has_unknown(displayed: &Value) -> bool {
    match displayed {
        _ if unknown(displayed).is_some() => true,
        Value::Array(a) => a.iter().any(has_unknown),
        Value::Object(o) => o.values().any(has_unknown),
        _ => false,
    }
}

/// A displayed value as JSON: what is not known yet as its template.
pub fn undisplayed(displayed: &Value) -> Value {
    match displayed {
        _ if unknown(displayed).is_some() => {
            Value::String(unknown(displayed).unwrap_or_default().to_string())
        }
        Value::Array(a) => Value::Array(a.iter().map(undisplayed).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), undisplayed(v))).collect())
        }
        other => other.clone(),
    }
}

/// Evaluates every expression whose references `lookup` all knows; the
/// others are left as written, which marks the value as known only after
/// apply. A string that is one whole expression takes its value whole (a
/// number, a list). `lookup` gives values (what AWS holds, what was
/// resolved before): they enter the expression as literals and the result
/// enters the template escaped, so a value holding `${` is never read as an
/// expression.
pub fn resolve(value: &Value, lookup: &dyn Fn(&Reference) -> Option<Value>) -> Value {
    match value {
        Value::String(s) => match evaluate(s, lookup) {
            Some(Ok(v)) => literal(&v),
            _ => value.clone(),
        },
        Value::Array(a) => Value::Array(a.iter().map(|v| resolve(v, lookup)).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), resolve(v, lookup))).collect())
        }
        other => other.clone(),
    }
}

/// Why some expression of a value cannot be evaluated with what `lookup`
/// knows, if one cannot (a function refused the values it was given); a
/// reference `lookup` does not know is no problem, only not known yet.
pub fn problem(value: &Value, lookup: &dyn Fn(&Reference) -> Option<Value>) -> Option<String> {
    let mut why = None;
    walk(value, &mut |s| {
        if why.is_none()
            && let Some(Err(e)) = evaluate(s, lookup)
        {
            why = Some(e.to_string());
        }
    });
    why
}

/// A string's expression evaluated: `None` when it holds none or a
/// reference `lookup` does not know.
fn evaluate(
    s: &str,
    lookup: &dyn Fn(&Reference) -> Option<Value>,
) -> Option<Result<Value, expr::ExprError>> {
    let e = expression(s)?;
    let mut missing = false;
    let put = expr::rewrite(&e, &mut |x, bound| {
        let t = expr::chain(x)?;
        if bound.contains(&t.root) {
            return None;
        }
        let r = match reference_of(&t)? {
            (r, true) => r,
            // `.Name` of `vpc.main.tags.Name` is read after.
            (_, false) => return None,
        };
        match lookup(&r) {
            Some(v) => Some(Expr::Literal(v)),
            None => {
                missing = true;
                Some(x.clone())
            }
        }
    });
    if missing {
        return None;
    }
    match expr::eval(&put, &expr::NoNames) {
        Ok(Val::Known(v)) => Some(Ok(v)),
        Ok(Val::Unknown) => None,
        Err(e) => Some(Err(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_references_in_expressions() {
        let refs =
            |s: &str| references(&json!(s)).iter().map(|r| r.to_string()).collect::<Vec<_>>();
        assert_eq!(refs("${s3_bucket.logs.arn}/*"), ["s3_bucket.logs.arn"]);
        assert_eq!(refs("${data.target_group.ec2.arn}"), ["data.target_group.ec2.arn"]);
        assert_eq!(
            refs("${cidrsubnet(vpc.main.cidr, 8, 1)}-${upper(subnet.a.id)}"),
            ["vpc.main.cidr", "subnet.a.id"]
        );
        // A name a for-expression binds is no reference; `vpc.main.tags.Name`
        // refers to the attribute `tags`.
        assert_eq!(refs("${[for vpc in var.x : vpc.main.id]}"), Vec::<String>::new());
        assert_eq!(refs("${vpc.main.tags.Name}"), ["vpc.main.tags"]);
        assert_eq!(
            refs("${module.net.subnet.a[\"x\"].id} ${module.s[0].module.t.data.vpc.v.id}"),
            ["module.net.subnet.a[\"x\"].id", "module.s[0].module.t.data.vpc.v.id"]
        );
        assert!(refs("$${literal}").is_empty() && refs("${var.x}").is_empty());
        assert!(refs("${a.b").is_empty(), "not an expression: the validator says why");
    }

    #[test]
    fn a_value_is_never_read_as_a_reference() {
        // A value holding what looks like a reference, put in whole or in
        // part, stays that text: known, no reference, and the value it was.
        let secretive = json!("${launch_template.nodes.user_data}");
        let lookup = |r: &Reference| match r.attr.as_str() {
            "owner" => Some(secretive.clone()),
            _ => None,
        };
        let t =
            resolve(&json!({"a": "${var_like.x.owner}", "b": "by ${var_like.x.owner}"}), &lookup);
        assert!(is_known(&t), "{t}");
        assert!(references(&t).is_empty());
        assert_eq!(
            value_of(&t),
            json!({"a": "${launch_template.nodes.user_data}", "b": "by ${launch_template.nodes.user_data}"})
        );
        // Escaping round-trips, `$${` of a value included.
        for v in ["${a.b.c}", "$${a.b.c}", "x$$${y}", "plain", "$"] {
            assert_eq!(value_of(&literal(&json!(v))), json!(v), "{v}");
            assert!(is_known(&literal(&json!(v))), "{v}");
        }
        // A literal `${` written in the file as `$${` is `${` in the value.
        assert_eq!(
            value_of(&json!("arn:aws:s3:::b/home/$${aws:username}/*")),
            json!("arn:aws:s3:::b/home/${aws:username}/*")
        );
        // What a plan shows: values as they are, the unknown marked.
        let shown = displayed(&json!({"k": "${vpc.main.id}", "v": "$${x.y.z}"}));
        assert_eq!(unknown(&shown["k"]), Some("${vpc.main.id}"));
        assert_eq!(shown["v"], json!("${x.y.z}"));
        assert!(has_unknown(&shown) && !has_unknown(&shown["v"]));
    }

    #[test]
    fn resolves_whole_and_embedded_references() {
        let lookup = |r: &Reference| (r.address.name == "main").then(|| json!("vpc-1"));
        let v = json!({"a": "${vpc.main.id}", "b": "id=${vpc.main.id}", "c": "${vpc.other.id}"});
        let r = resolve(&v, &lookup);
        assert_eq!(r, json!({"a": "vpc-1", "b": "id=vpc-1", "c": "${vpc.other.id}"}));
        assert!(!is_known(&r));
        assert!(is_known(&r["a"]));
    }
}
