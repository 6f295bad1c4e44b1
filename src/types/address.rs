//! `TYPE.NAME`: the stack author's handle on one resource.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `TYPE.NAME`: the stack author's handle on one resource.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub ty: String,
    pub name: String,
}

impl Address {
    pub fn new(ty: &str, name: &str) -> Address {
        Address {
            ty: ty.to_string(),
            name: name.to_string(),
        }
    }

    pub fn parse(s: &str) -> Option<Address> {
        let (ty, name) = s.split_once('.')?;
        let ok = |p: &str| {
            !p.is_empty()
                && p.chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
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
