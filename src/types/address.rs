//! `TYPE.NAME`: the stack author's handle on one resource; `data.TYPE.NAME`
//! on one lookup (what exists already, read at plan time). A resource with
//! `for_each` or `count` is many instances, each `TYPE.NAME["KEY"]` or
//! `TYPE.NAME[INDEX]`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a lookup's address starts with.
pub const LOOKUP: &str = "data.";

/// Which instance of a resource with `for_each` (a key) or `count` (an
/// index) an address is. Indexes sort as numbers, before keys.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InstanceKey {
    Index(u64),
    Key(String),
}

impl fmt::Display for InstanceKey {
    /// As written after the name: `[0]`, `["a"]`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            InstanceKey::Index(i) => write!(f, "[{i}]"),
            InstanceKey::Key(k) => {
                write!(f, "[\"{}\"]", k.replace('\\', "\\\\").replace('"', "\\\""))
            }
        }
    }
}

impl InstanceKey {
    /// The key as a value of the expression language: `each.key`, `count.index`.
    pub fn value(&self) -> serde_json::Value {
        match self {
            InstanceKey::Index(i) => serde_json::Value::from(*i),
            InstanceKey::Key(k) => serde_json::Value::String(k.clone()),
        }
    }

    /// The key as plain text: `0`, `a`.
    pub fn text(&self) -> String {
        match self {
            InstanceKey::Index(i) => i.to_string(),
            InstanceKey::Key(k) => k.clone(),
        }
    }

    /// `[0]` or `["a"]` (escapes `\"` and `\\`) at the start of `s`, and the
    /// rest after it.
    fn parse_prefix(s: &str) -> Option<(InstanceKey, &str)> {
        let inner = s.strip_prefix('[')?;
        if let Some(quoted) = inner.strip_prefix('"') {
            let mut key = String::new();
            let mut chars = quoted.char_indices();
            while let Some((i, c)) = chars.next() {
                match c {
                    '\\' => key.push(chars.next()?.1),
                    '"' => {
                        let rest = quoted[i + 1..].strip_prefix(']')?;
                        return Some((InstanceKey::Key(key), rest));
                    }
                    c => key.push(c),
                }
            }
            return None;
        }
        let (digits, rest) = inner.split_once(']')?;
        let ok = !digits.is_empty() && digits.chars().all(|c| c.is_ascii_digit());
        let i = digits.parse().ok().filter(|_| ok)?;
        Some((InstanceKey::Index(i), rest))
    }
}

/// `TYPE.NAME`: the stack author's handle on one resource (or, with `data.`
/// before it, one lookup); with `key`, one instance of a resource with
/// `for_each` or `count`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub ty: String,
    pub name: String,
    pub key: Option<InstanceKey>,
}

impl Address {
    pub fn new(ty: &str, name: &str) -> Address {
        Address { ty: ty.to_string(), name: name.to_string(), key: None }
    }

    /// One instance of `ty.name`.
    pub fn instance(ty: &str, name: &str, key: InstanceKey) -> Address {
        Address { key: Some(key), ..Address::new(ty, name) }
    }

    /// The address of a lookup: `data.KIND.NAME`.
    pub fn lookup(kind: &str, name: &str) -> Address {
        Address::new(&format!("{LOOKUP}{kind}"), name)
    }

    /// The lookup kind (`target_group`) of a lookup's address.
    pub fn lookup_kind(&self) -> Option<&str> {
        self.ty.strip_prefix(LOOKUP)
    }

    pub fn is_lookup(&self) -> bool {
        self.lookup_kind().is_some()
    }

    /// `TYPE.NAME`, whatever instance this is: what `--target` and `moved`
    /// name for every instance.
    pub fn base(&self) -> Address {
        Address { key: None, ..self.clone() }
    }

    /// The name and key as one word for names made up for AWS: `private`,
    /// `private-a`, `pool-0`.
    pub fn handle(&self) -> String {
        match &self.key {
            Some(k) => format!("{}-{}", self.name, k.text()),
            None => self.name.clone(),
        }
    }

    /// The address as an `infra:address` tag's value: what IAM, ELB and EC2
    /// all take in a tag (letters, digits, spaces and `_.:/=+-@`), so an
    /// instance is `TYPE.NAME/KEY`, any other character of the key as `_`.
    pub fn tag_value(&self) -> String {
        match &self.key {
            None => self.to_string(),
            Some(k) => {
                let key: String = k
                    .text()
                    .chars()
                    .map(|c| match c.is_alphanumeric() || " _.:/=+-@".contains(c) {
                        true => c,
                        false => '_',
                    })
                    .collect();
                format!("{}.{}/{key}", self.ty, self.name)
            }
        }
    }

    pub fn parse(s: &str) -> Option<Address> {
        if let Some(rest) = s.strip_prefix(LOOKUP) {
            let a = Address::parse(rest)?;
            return (!a.is_lookup()).then(|| Address { ty: format!("{LOOKUP}{}", a.ty), ..a });
        }
        let (ty, rest) = s.split_once('.')?;
        let end = rest.find('[').unwrap_or(rest.len());
        let (name, tail) = rest.split_at(end);
        let key = match tail {
            "" => None,
            t => match InstanceKey::parse_prefix(t)? {
                (k, "") => Some(k),
                _ => return None,
            },
        };
        let ok = |p: &str| {
            !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        (ok(ty) && ok(name)).then(|| Address { key, ..Address::new(ty, name) })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.ty, self.name)?;
        match &self.key {
            Some(k) => write!(f, "{k}"),
            None => Ok(()),
        }
    }
}

impl Serialize for Address {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Address {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Address::parse(&s).ok_or_else(|| serde::de::Error::custom(format!("bad address {s:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instances_are_written_and_read_back() {
        for s in [
            "vpc.main",
            "subnet.private[\"a\"]",
            "node.pool[0]",
            "data.vpc.shared",
            "x.y[\"a\\\"b]\"]",
        ] {
            assert_eq!(Address::parse(s).map(|a| a.to_string()), Some(s.to_string()), "{s}");
        }
        for bad in ["vpc", "vpc.main[", "vpc.main[a]", "vpc.main[\"a\"]x", "vpc.main[-1]", "a.b.c"]
        {
            assert_eq!(Address::parse(bad), None, "{bad}");
        }
        let a = Address::parse("subnet.private[\"eu-west-1a\"]").unwrap();
        assert_eq!(a.base().to_string(), "subnet.private");
        assert_eq!(a.handle(), "private-eu-west-1a");
        assert_eq!(a.tag_value(), "subnet.private/eu-west-1a");
        let order = |s: &str| Address::parse(s).unwrap();
        assert!(order("n.p[2]") < order("n.p[10]") && order("n.p") < order("n.p[0]"));
    }
}
