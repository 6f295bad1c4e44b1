//! `TYPE.NAME`: the stack author's handle on one resource; `data.TYPE.NAME`
//! on one lookup (what exists already, read at plan time).

use std::fmt;

use serde::{Deserialize, Serialize};

/// What a lookup's address starts with.
pub const LOOKUP: &str = "data.";

/// `TYPE.NAME`: the stack author's handle on one resource (or, with `data.`
/// before it, one lookup).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub ty: String,
    pub name: String,
}

impl Address {
    pub fn new(ty: &str, name: &str) -> Address {
        Address { ty: ty.to_string(), name: name.to_string() }
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

    pub fn parse(s: &str) -> Option<Address> {
        if let Some(rest) = s.strip_prefix(LOOKUP) {
            let a = Address::parse(rest)?;
            return (!a.is_lookup()).then(|| Address::lookup(&a.ty, &a.name));
        }
        let (ty, name) = s.split_once('.')?;
        let ok = |p: &str| {
            !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
        };
        (ok(ty) && ok(name)).then(|| Address::new(ty, name))
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.ty, self.name)
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
