//! Attribute values: the one map type every layer passes around, access that
//! fails loudly when a key is missing, and comparison under a kind.

use std::collections::{BTreeMap, HashMap};

use serde_json::{Map, Value};

use super::schema::{Kind, TypeSchema};

/// A resource's attributes, in the stack file's words.
pub type Attrs = Map<String, Value>;

/// An attribute a provider needs is missing or of the wrong kind: a defect in a
/// schema or a provider (validation fills in every default), never a user error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("attribute `{key}` is {problem}")]
pub struct AttrError {
    pub key: String,
    pub problem: &'static str,
}

impl AttrError {
    fn new(key: &str, value: Option<&Value>, kind: &'static str) -> AttrError {
        AttrError { key: key.to_string(), problem: if value.is_none() { "missing" } else { kind } }
    }
}

/// Typed access to attributes. The plain accessors fail on a missing key (a typo
/// is an error, not an empty string); the `opt_` ones are for attributes the
/// stack may leave out.
/// Implemented for attribute maps and for JSON values (a nested object; any
/// other value has no fields).
pub trait AttrsExt {
    /// The field's value, if there is one.
    fn field(&self, key: &str) -> Option<&Value>;

    fn str(&self, key: &str) -> Result<&str, AttrError> {
        let v = self.field(key);
        v.and_then(Value::as_str).ok_or_else(|| AttrError::new(key, v, "not a string"))
    }

    fn bool(&self, key: &str) -> Result<bool, AttrError> {
        let v = self.field(key);
        v.and_then(Value::as_bool).ok_or_else(|| AttrError::new(key, v, "not a boolean"))
    }

    fn int(&self, key: &str) -> Result<i64, AttrError> {
        let v = self.field(key);
        v.and_then(Value::as_i64).ok_or_else(|| AttrError::new(key, v, "not a whole number"))
    }

    fn object(&self, key: &str) -> Result<&Attrs, AttrError> {
        let v = self.field(key);
        v.and_then(Value::as_object).ok_or_else(|| AttrError::new(key, v, "not an object"))
    }

    fn opt_str(&self, key: &str) -> Option<&str> {
        self.field(key).and_then(Value::as_str)
    }

    fn opt_int(&self, key: &str) -> Option<i64> {
        self.field(key).and_then(Value::as_i64)
    }

    fn opt_bool(&self, key: &str) -> Option<bool> {
        self.field(key).and_then(Value::as_bool)
    }

    fn opt_object(&self, key: &str) -> Option<&Attrs> {
        self.field(key).and_then(Value::as_object)
    }

    fn opt_list(&self, key: &str) -> Option<&Vec<Value>> {
        self.field(key).and_then(Value::as_array)
    }

    /// A list of strings (subnet ids, path patterns); `None` when unset.
    fn opt_strings(&self, key: &str) -> Option<Vec<String>> {
        self.opt_list(key).map(|a| a.iter().filter_map(Value::as_str).map(str::to_string).collect())
    }

    /// A map of strings (tags, labels); empty when unset.
    fn string_map(&self, key: &str) -> BTreeMap<String, String> {
        self.opt_object(key)
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The `tags` attribute as pairs; empty when unset.
    fn tags(&self) -> Vec<(String, String)> {
        self.string_map("tags").into_iter().collect()
    }
}

impl AttrsExt for Attrs {
    fn field(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }
}

impl AttrsExt for Value {
    fn field(&self, key: &str) -> Option<&Value> {
        self.get(key)
    }
}

/// A JSON object as an attribute map (anything else as an empty one).
pub fn into_map(v: Value) -> Attrs {
    match v {
        Value::Object(m) => m,
        _ => Attrs::new(),
    }
}

/// What a provider read or made, as a plan compares it: the attributes AWS
/// reported (the nulls of what it left out dropped), in the type's canonical
/// form.
pub fn read_back(v: Value, canonical: fn(&mut Attrs)) -> Attrs {
    let mut attrs = into_map(v);
    attrs.retain(|_, v| !v.is_null());
    canonical(&mut attrs);
    attrs
}

/// Whether `after` sets an attribute to another value than `before` has.
pub fn differs(before: &Attrs, after: &Attrs, key: &str) -> bool {
    after.contains_key(key) && before.get(key) != after.get(key)
}

/// `differs`, with lists compared as sets.
pub fn differs_set(before: &Attrs, after: &Attrs, key: &str) -> bool {
    if !differs(before, after, key) {
        return false;
    }
    match (before.get(key), after.get(key)) {
        (Some(Value::Array(b)), Some(Value::Array(a))) => {
            b.len() != a.len() || a.iter().any(|x| !b.contains(x))
        }
        _ => true,
    }
}

/// Tags to set and tag keys to remove to go from `before` to `after`.
pub fn tag_changes(before: &Attrs, after: &Attrs) -> (Vec<(String, String)>, Vec<String>) {
    let old: HashMap<String, String> = before.tags().into_iter().collect();
    let new = after.tags();
    let set = new.iter().filter(|(k, v)| old.get(k) != Some(v)).cloned().collect();
    let remove = old.keys().filter(|k| !new.iter().any(|(n, _)| n == *k)).cloned().collect();
    (set, remove)
}

/// Tags as an attribute value.
pub fn tags_value<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Value {
    Value::Object(
        pairs.into_iter().map(|(k, v)| (k.to_string(), Value::String(v.to_string()))).collect(),
    )
}

/// Equality under the attribute's kind: sets ignore order, and a nested
/// object's null fields count as absent.
pub fn values_equal(kind: Option<&Kind>, a: &Value, b: &Value) -> bool {
    normalize(kind, a) == normalize(kind, b)
}

fn normalize(kind: Option<&Kind>, v: &Value) -> Value {
    match (kind, v) {
        (Some(Kind::Set(inner)), Value::Array(items)) => {
            let mut items: Vec<Value> = items.iter().map(|i| normalize(Some(inner), i)).collect();
            items.sort_by_key(|i| i.to_string());
            items.dedup();
            Value::Array(items)
        }
        (Some(Kind::List(inner)), Value::Array(items)) => {
            Value::Array(items.iter().map(|i| normalize(Some(inner), i)).collect())
        }
        (Some(Kind::Object(attrs)), Value::Object(m)) => Value::Object(
            m.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| {
                    let kind = attrs.iter().find(|a| a.name == k).map(|a| &a.kind);
                    (k.clone(), normalize(kind, v))
                })
                .collect(),
        ),
        _ => v.clone(),
    }
}

/// A key as a token of a JSON pointer (`~` and `/` escaped, RFC 6901): a tag
/// key such as `kubernetes.io/role/elb` is one token.
pub fn pointer_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Puts what `with` makes of it in place of the value at each JSON pointer
/// that attributes hold (a mark of where a sensitive value sits).
pub fn redact_paths<'a>(
    attrs: &mut Attrs,
    marks: impl IntoIterator<Item = &'a String>,
    with: &impl Fn(&Value) -> Value,
) {
    let mut whole = Value::Object(std::mem::take(attrs));
    for m in marks {
        if let Some(v) = whole.pointer_mut(m) {
            *v = with(v);
        }
    }
    *attrs = into_map(whole);
}

/// A value with every object's keys in order: one text for one meaning.
pub fn sorted(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            Value::Object(keys.into_iter().map(|k| (k.clone(), sorted(&m[k]))).collect())
        }
        Value::Array(a) => Value::Array(a.iter().map(sorted).collect()),
        other => other.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_missing_key_is_an_error_not_an_empty_string() {
        let a = into_map(json!({"name": "x", "n": 3, "on": true}));
        assert_eq!(a.str("name"), Ok("x"));
        assert_eq!(a.int("n"), Ok(3));
        assert_eq!(a.bool("on"), Ok(true));
        assert_eq!(a.str("nmae").unwrap_err().to_string(), "attribute `nmae` is missing");
        assert_eq!(a.str("n").unwrap_err().to_string(), "attribute `n` is not a string");
        assert_eq!(a.opt_str("nmae"), None);
    }

    #[test]
    fn an_ignored_path_takes_what_exists_or_nothing() {
        let schema = crate::types::schema("eks_nodegroup").unwrap();
        let path = |s: &str| AttrPath::parse(schema, s).unwrap();
        let seen = into_map(json!({"scaling": {"min": 2, "max": 10, "desired": 7},
            "tags": {"kubernetes.io/role/elb": "1"}}));
        let mut asked = into_map(json!({"scaling": {"min": 1, "max": 10, "desired": 3},
            "tags": {"team": "a", "kubernetes.io/role/elb": "0"}}));
        path("scaling.desired").take(&mut asked, &seen);
        assert_eq!(asked["scaling"], json!({"min": 1, "max": 10, "desired": 7}));
        // A map's key is one segment, dots and all; what does not exist is
        // not asked for.
        let elb = path("tags.kubernetes.io/role/elb");
        assert_eq!(elb.0, ["tags", "kubernetes.io/role/elb"]);
        elb.take(&mut asked, &seen);
        path("tags.team").take(&mut asked, &seen);
        assert_eq!(asked["tags"], json!({"kubernetes.io/role/elb": "1"}));
        assert_eq!(
            AttrPath::parse(schema, "scaling.wanted").unwrap_err(),
            "`scaling` has no field `wanted` (it has min, max, desired)"
        );
        assert_eq!(
            AttrPath::parse(schema, "sizes").unwrap_err(),
            "eks_nodegroup has no attribute `sizes`"
        );
        assert_eq!(
            AttrPath::parse(schema, "instance_types.0").unwrap_err(),
            "`instance_types` holds no fields: ignore it whole"
        );
        assert!(AttrPath::parse(schema, "force_update_version").is_err(), "never diffed");
    }

    #[test]
    fn sets_compare_without_order() {
        let set = Kind::Set(&Kind::String);
        assert!(values_equal(Some(&set), &json!(["a", "b"]), &json!(["b", "a"])));
        let list = Kind::List(&Kind::String);
        assert!(!values_equal(Some(&list), &json!(["a", "b"]), &json!(["b", "a"])));
    }
}

/// A path into a resource's attributes, as `ignore_changes` names one:
/// `scaling.desired`, `tags`, `tags.kubernetes.io/role/elb`. Each segment is
/// a key of the object the one before it holds; a map's key is one segment,
/// dots and all (the validator splits it by the type's schema).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AttrPath(pub Vec<String>);

impl std::fmt::Display for AttrPath {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.join("."))
    }
}

impl AttrPath {
    /// The path `text` (`scaling.desired`, `tags.team`) names in `schema`'s
    /// attributes, split by their kinds (a map's key is one segment, dots and
    /// all); or why it names none.
    pub fn parse(schema: &TypeSchema, text: &str) -> Result<AttrPath, String> {
        static TAGS: Kind = Kind::Map(&Kind::String);
        let (first, mut rest) = match text.split_once('.') {
            Some((a, b)) => (a, Some(b)),
            None => (text, None),
        };
        let mut kind = match schema.attr(first) {
            Some(a) if !a.no_diff && !a.local => &a.kind,
            Some(_) => {
                return Err(format!("`{first}` is never diffed: there is nothing to ignore"));
            }
            None if first == "tags" && schema.taggable => &TAGS,
            None => return Err(format!("{} has no attribute `{first}`", schema.name)),
        };
        let mut segments = vec![first.to_string()];
        while let Some(r) = rest {
            match kind {
                Kind::Map(_) => {
                    segments.push(r.to_string());
                    rest = None;
                }
                Kind::Object(fields) => {
                    let (field, more) = match r.split_once('.') {
                        Some((a, b)) => (a, Some(b)),
                        None => (r, None),
                    };
                    let Some(f) = fields.iter().find(|f| f.name == field) else {
                        let known: Vec<&str> = fields.iter().map(|f| f.name).collect();
                        return Err(format!(
                            "`{}` has no field `{field}` (it has {})",
                            segments.join("."),
                            known.join(", ")
                        ));
                    };
                    segments.push(field.to_string());
                    kind = &f.kind;
                    rest = more;
                }
                _ => {
                    return Err(format!(
                        "`{}` holds no fields: ignore it whole",
                        segments.join(".")
                    ));
                }
            }
        }
        Ok(AttrPath(segments))
    }

    /// The attribute it starts at.
    pub fn attribute(&self) -> &str {
        self.0.first().map_or("", String::as_str)
    }

    /// Puts in `to`, at this path, what `from` holds there, or removes it
    /// where `from` holds nothing: what the stack asks of an ignored
    /// attribute is what exists.
    pub fn take(&self, to: &mut Attrs, from: &Attrs) {
        take_at(to, Some(from), &self.0);
    }
}

fn take_at(to: &mut Attrs, from: Option<&Attrs>, path: &[String]) {
    let [first, rest @ ..] = path else { return };
    let theirs = from.and_then(|f| f.get(first));
    if rest.is_empty() {
        match theirs {
            Some(v) => {
                to.insert(first.clone(), v.clone());
            }
            None => {
                to.remove(first);
            }
        }
        return;
    }
    if let Some(Value::Object(inner)) = to.get_mut(first) {
        take_at(inner, theirs.and_then(Value::as_object), rest);
    }
}
