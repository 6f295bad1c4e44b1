//! References between resources: `${TYPE.NAME.ATTR}`, alone or inside a string;
//! `${data.TYPE.NAME.ATTR}` refers to what a lookup found.
//!
//! A value that still holds a reference after resolution is not known until apply.

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
            None => out.push(Piece::Malformed(
                &rest[start..start + len + 1],
                offset + start,
            )),
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
        !s.is_empty()
            && s.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
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

/// Replaces every reference whose value `lookup` knows; others are left in place,
/// which marks the value as known only after apply. A string that is exactly one
/// reference takes the referenced value whole (it may be a number or a list).
pub fn resolve(value: &Value, lookup: &dyn Fn(&Reference) -> Option<Value>) -> Value {
    match value {
        Value::String(s) => resolve_str(s, lookup),
        Value::Array(a) => Value::Array(a.iter().map(|v| resolve(v, lookup)).collect()),
        Value::Object(o) => Value::Object(
            o.iter()
                .map(|(k, v)| (k.clone(), resolve(v, lookup)))
                .collect(),
        ),
        other => other.clone(),
    }
}

fn resolve_str(s: &str, lookup: &dyn Fn(&Reference) -> Option<Value>) -> Value {
    let ps = pieces(s);
    if let [Piece::Ref(r)] = ps.as_slice() {
        return lookup(r).unwrap_or_else(|| Value::String(s.to_string()));
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
                Some(Value::String(v)) => out.push_str(&v),
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
        assert_eq!(
            pieces("$${literal}"),
            vec![Piece::Text("$${"), Piece::Text("literal}")]
        );
    }

    #[test]
    fn resolves_whole_and_embedded_references() {
        let lookup = |r: &Reference| (r.address.name == "main").then(|| json!("vpc-1"));
        let v = json!({"a": "${vpc.main.id}", "b": "id=${vpc.main.id}", "c": "${vpc.other.id}"});
        let r = resolve(&v, &lookup);
        assert_eq!(
            r,
            json!({"a": "vpc-1", "b": "id=vpc-1", "c": "${vpc.other.id}"})
        );
        assert!(!is_known(&r));
        assert!(is_known(&r["a"]));
    }
}
