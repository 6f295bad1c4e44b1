//! The stack file: YAML with locations in, a validated typed `Stack` out.
//!
//! Parsing keeps every location (marked-yaml); validation checks the whole file
//! against the resource schemas and reports every problem at once.

pub mod diag;
pub mod policy;
pub mod reference;
pub mod schema;
mod validate;

pub use validate::parse_ports;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use diag::{Loc, StackErrors};
pub use reference::Reference;
pub use schema::TypeSchema;

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

/// One declared resource, validated: defaults filled in, tags merged.
#[derive(Debug, Clone)]
pub struct Resource {
    pub address: Address,
    pub schema: &'static TypeSchema,
    /// Desired attributes; strings may still hold `${...}` references.
    pub attrs: Map<String, Value>,
    /// Edges added by hand with `depends_on`.
    pub depends_on: BTreeSet<Address>,
    /// `timeouts:` in seconds, by phase (`create`, `update`, `delete`).
    pub timeouts: BTreeMap<String, u64>,
    /// `prevent_destroy: true`: any plan that would delete or replace it fails.
    pub prevent_destroy: bool,
    /// Where the resource's key sits in the file.
    pub loc: Loc,
}

impl Resource {
    /// Resources this one references from its non-deferred attributes.
    pub fn main_references(&self) -> BTreeSet<Address> {
        self.refs_where(|deferred| !deferred)
    }

    /// Resources this one references from its deferred attributes (security group rules).
    pub fn deferred_references(&self) -> BTreeSet<Address> {
        self.refs_where(|deferred| deferred)
    }

    fn refs_where(&self, keep: impl Fn(bool) -> bool) -> BTreeSet<Address> {
        self.attrs
            .iter()
            .filter(|(k, _)| keep(self.schema.attr(k).is_some_and(|a| a.deferred)))
            .flat_map(|(_, v)| reference::references(v))
            .map(|r| r.address)
            .filter(|a| *a != self.address)
            .collect()
    }

    /// Everything this resource needs to exist first.
    pub fn dependencies(&self) -> BTreeSet<Address> {
        let mut all = self.main_references();
        all.extend(self.deferred_references());
        all.extend(self.depends_on.iter().cloned());
        all
    }
}

/// Where a stack's state lives: the `state:` block of the stack file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StateConfig {
    /// A local file; `state/<stack>.json` unless `path` is given.
    Local { path: Option<String> },
    /// An object in S3, with its lock beside it at `<key>.lock`.
    S3 {
        bucket: String,
        key: String,
        region: Option<String>,
    },
}

impl Default for StateConfig {
    fn default() -> StateConfig {
        StateConfig::Local { path: None }
    }
}

/// A validated stack file.
#[derive(Debug, Clone)]
pub struct Stack {
    pub name: String,
    pub region: String,
    pub tags: BTreeMap<String, String>,
    pub resources: BTreeMap<Address, Resource>,
    pub outputs: BTreeMap<String, Value>,
    /// `state:`: where the state lives.
    pub state: StateConfig,
    /// The file as given (for messages) and its text.
    pub file: String,
    pub text: String,
}

/// Why a stack could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error("cannot read stack file {file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error(transparent)]
    Invalid(#[from] StackErrors),
}

/// Reads and validates a stack file; warnings come back beside the stack.
pub fn load(path: &Path) -> Result<(Stack, Vec<diag::Problem>), LoadError> {
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| LoadError::Read {
        file: file.clone(),
        source,
    })?;
    Ok(parse(&file, &text)?)
}

/// Validates stack text. Pure: no file system, no network.
pub fn parse(file: &str, text: &str) -> Result<(Stack, Vec<diag::Problem>), StackErrors> {
    validate::validate(file, text)
}
