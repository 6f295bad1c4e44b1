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

use std::fmt;

use serde_json::Value;

use super::Address;

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

/// A piece of a string: literal text or a reference.
#[derive(Debug, PartialEq)]
pub enum Piece<'a> {
    Text(&'a str),
    Ref(Reference),
    /// `${...}` whose inside is not `TYPE.NAME.ATTR`, with a hint why.
    Malformed(&'a str, usize),
}

/// Splits a string into text and references. `$${` is a literal `${`.
pub fn pieces(s: &str) -> Vec<Piece<'_>> {
    let mut out = Vec::new();
    let mut rest = s;
    let mut offset = 0;
    while let Some(start) = rest.find("${") {
        if start > 0 && rest[..start].ends_with('$') {
            out.push(Piece::Text(&rest[..start + 2]));
            offset += start + 2;
            rest = &rest[start + 2..];
            continue;
        }
        if start > 0 {
            out.push(Piece::Text(&rest[..start]));
        }
        let Some(len) = rest[start..].find('}') else {
            out.push(Piece::Malformed(&rest[start..], offset + start));
            return out;
        };
        let inner = &rest[start + 2..start + len];
        match parse_inner(inner) {
            Some(r) => out.push(Piece::Ref(r)),
            None => out.push(Piece::Malformed(&rest[start..start + len + 1], offset + start)),
        }
        offset += start + len + 1;
        rest = &rest[start + len + 1..];
    }
    if !rest.is_empty() {
        out.push(Piece::Text(rest));
    }
    out
}

fn parse_inner(inner: &str) -> Option<Reference> {
    let inner = inner.trim();
    let (lookup, inner) = match inner.strip_prefix(super::address::LOOKUP) {
        Some(rest) => (true, rest),
        None => (false, inner),
    };
    let mut parts = inner.split('.');
    let (ty, name, attr) = (parts.next()?, parts.next()?, parts.next()?);
    let ident = |s: &str| {
        !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    };
    if parts.next().is_some() || !ident(ty) || !ident(name) || !ident(attr) {
        return None;
    }
    Some(Reference {
        address: match lookup {
            true => Address::lookup(ty, name),
            false => Address::new(ty, name),
        },
        attr: attr.to_string(),
    })
}

/// Every reference anywhere inside a value.
pub fn references(value: &Value) -> Vec<Reference> {
    let mut out = Vec::new();
    walk(value, &mut |s| {
        for p in pieces(s) {
            if let Piece::Ref(r) = p {
                out.push(r);
            }
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
        if pieces(s).iter().any(|p| matches!(p, Piece::Ref(_))) {
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

/// Replaces every reference whose value `lookup` knows; others are left in place,
/// which marks the value as known only after apply. A string that is exactly one
/// reference takes the referenced value whole (it may be a number or a list).
/// `lookup` gives values (what AWS holds, what was resolved before); they
/// enter the template escaped, so a referenced value holding `${` is never
/// read as a reference.
pub fn resolve(value: &Value, lookup: &dyn Fn(&Reference) -> Option<Value>) -> Value {
    match value {
        Value::String(s) => resolve_str(s, lookup),
        Value::Array(a) => Value::Array(a.iter().map(|v| resolve(v, lookup)).collect()),
        Value::Object(o) => {
            Value::Object(o.iter().map(|(k, v)| (k.clone(), resolve(v, lookup))).collect())
        }
        other => other.clone(),
    }
}

fn resolve_str(s: &str, lookup: &dyn Fn(&Reference) -> Option<Value>) -> Value {
    let ps = pieces(s);
    if let [Piece::Ref(r)] = ps.as_slice() {
        return lookup(r).map_or_else(|| Value::String(s.to_string()), |v| literal(&v));
    }
    if !ps.iter().any(|p| matches!(p, Piece::Ref(_))) {
        return Value::String(s.to_string());
    }
    let mut out = String::new();
    for p in &ps {
        match p {
            Piece::Text(t) => out.push_str(t),
            Piece::Malformed(t, _) => out.push_str(t),
            Piece::Ref(r) => match lookup(r) {
                Some(Value::String(v)) => out.push_str(&escape(&v)),
                Some(v) if !v.is_null() => out.push_str(&v.to_string()),
                _ => {
                    out.push_str("${");
                    out.push_str(&r.to_string());
                    out.push('}');
                }
            },
        }
    }
    Value::String(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn splits_text_and_references() {
        let p = pieces("${s3_bucket.logs.arn}/*");
        assert_eq!(p.len(), 2);
        assert!(matches!(&p[0], Piece::Ref(r) if r.to_string() == "s3_bucket.logs.arn"));
        assert_eq!(p[1], Piece::Text("/*"));
        assert!(matches!(pieces("${a.b}")[0], Piece::Malformed(..)));
        assert!(matches!(pieces("x ${a.b.c")[1], Piece::Malformed(..)));
        assert!(matches!(
            &pieces("${data.target_group.ec2.arn}")[0],
            Piece::Ref(r) if r.address.lookup_kind() == Some("target_group") && r.attr == "arn"
        ));
        assert!(matches!(pieces("${data.a.b}")[0], Piece::Malformed(..)));
        assert_eq!(pieces("$${literal}"), vec![Piece::Text("$${"), Piece::Text("literal}")]);
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
