//! `TYPE.NAME`: the stack author's handle on one resource; `data.TYPE.NAME`
//! on one lookup (what exists already, read at plan time). A resource with
//! `for_each` or `count` is many instances, each `TYPE.NAME["KEY"]` or
//! `TYPE.NAME[INDEX]`. Inside a module, its uses come first:
//! `module.network.subnet.public["a"]`.

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

/// One use of a module on the way to a resource: `module.NAME`, or
/// `module.NAME["KEY"]` for one instance of a module with `for_each` or
/// `count`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ModuleStep {
    pub name: String,
    pub key: Option<InstanceKey>,
}

impl fmt::Display for ModuleStep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "module.{}", self.name)?;
        match &self.key {
            Some(k) => write!(f, "{k}"),
            None => Ok(()),
        }
    }
}

/// The modules a resource sits in, outermost first (none: the stack's own).
pub type ModulePath = Vec<ModuleStep>;

/// A module path as written: `module.a.module.b["k"]`.
pub fn path_text(path: &[ModuleStep]) -> String {
    path.iter().map(ToString::to_string).collect::<Vec<_>>().join(".")
}

/// `module.NAME[KEY]` steps at the start of `s`, and the rest after their
/// final `.` (or the empty rest when `s` is only steps).
fn parse_steps(mut s: &str) -> Option<(ModulePath, &str)> {
    let mut path = Vec::new();
    while let Some(rest) = s.strip_prefix("module.") {
        let end = rest.find(['.', '[']).unwrap_or(rest.len());
        let (name, mut tail) = rest.split_at(end);
        if !is_word(name) {
            return None;
        }
        let mut key = None;
        if tail.starts_with('[') {
            let (k, after) = InstanceKey::parse_prefix(tail)?;
            key = Some(k);
            tail = after;
        }
        path.push(ModuleStep { name: name.to_string(), key });
        match tail.strip_prefix('.') {
            Some(next) => s = next,
            None if tail.is_empty() => return Some((path, "")),
            None => return None,
        }
    }
    Some((path, s))
}

/// A name of a type, a resource or a module: letters, digits, `_` and `-`.
fn is_word(p: &str) -> bool {
    !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

/// A module path alone, `module.svc["web"]` (what `--target` may name).
pub fn parse_path(s: &str) -> Option<ModulePath> {
    match parse_steps(s)? {
        (path, "") if !path.is_empty() => Some(path),
        _ => None,
    }
}

/// Whether `path` lies within `within`: each step of `within` names the
/// same module, and the same instance when it names one (a step without a
/// key takes in every instance).
pub fn path_within(path: &[ModuleStep], within: &[ModuleStep]) -> bool {
    path.len() >= within.len()
        && path
            .iter()
            .zip(within)
            .all(|(p, w)| p.name == w.name && (w.key.is_none() || p.key == w.key))
}

/// `path` with `from` at its start put as `to`, when it starts so: a last
/// step of `from` without a key takes in every instance of that module,
/// each keeping its key where `to`'s last step names none.
pub fn moved_path(
    path: &[ModuleStep],
    from: &[ModuleStep],
    to: &[ModuleStep],
) -> Option<ModulePath> {
    let n = from.len();
    if n == 0 || path.len() < n || path[..n - 1] != from[..n - 1] {
        return None;
    }
    let (p, f) = (&path[n - 1], &from[n - 1]);
    if p.name != f.name {
        return None;
    }
    let carried = match (&f.key, &p.key) {
        (Some(fk), Some(pk)) if fk == pk => None,
        (Some(_), _) => return None,
        (None, pk) => pk.clone(),
    };
    let mut out = to.to_vec();
    if let Some(last) = out.last_mut()
        && last.key.is_none()
    {
        last.key = carried;
    }
    out.extend(path[n..].iter().cloned());
    Some(out)
}

/// `TYPE.NAME`: the stack author's handle on one resource (or, with `data.`
/// before it, one lookup); with `key`, one instance of a resource with
/// `for_each` or `count`; with `module`, one inside the modules it names
/// (`module.network.subnet.public["a"]`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Address {
    pub module: ModulePath,
    pub ty: String,
    pub name: String,
    pub key: Option<InstanceKey>,
}

impl Address {
    pub fn new(ty: &str, name: &str) -> Address {
        Address { module: Vec::new(), ty: ty.to_string(), name: name.to_string(), key: None }
    }

    /// This address inside the modules of `path` (before its own).
    pub fn under(&self, path: &[ModuleStep]) -> Address {
        let mut module = path.to_vec();
        module.extend(self.module.iter().cloned());
        Address { module, ..self.clone() }
    }

    /// The address as its module writes it: without the modules it sits in.
    pub fn local(&self) -> Address {
        Address { module: Vec::new(), ..self.clone() }
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
    /// `private-a`, `pool-0`; inside a module, its name (and key) before:
    /// `network-private-a`, `svc-web-app`.
    pub fn handle(&self) -> String {
        let mut words: Vec<String> = Vec::new();
        for step in &self.module {
            words.push(step.name.clone());
            words.extend(step.key.as_ref().map(InstanceKey::text));
        }
        words.push(self.name.clone());
        words.extend(self.key.as_ref().map(InstanceKey::text));
        words.join("-")
    }

    /// The address as an `infra:address` tag's value: what IAM, ELB and EC2
    /// all take in a tag (letters, digits, spaces and `_.:/=+-@`), so an
    /// instance is `TYPE.NAME/KEY`, any other character of the key as `_`.
    pub fn tag_value(&self) -> String {
        let key = |k: &InstanceKey| -> String {
            k.text()
                .chars()
                .map(|c| match c.is_alphanumeric() || " _.:/=+-@".contains(c) {
                    true => c,
                    false => '_',
                })
                .collect()
        };
        let mut out = String::new();
        for step in &self.module {
            out.push_str(&format!("module.{}", step.name));
            if let Some(k) = &step.key {
                out.push_str(&format!("/{}", key(k)));
            }
            out.push('.');
        }
        out.push_str(&format!("{}.{}", self.ty, self.name));
        if let Some(k) = &self.key {
            out.push_str(&format!("/{}", key(k)));
        }
        out
    }

    pub fn parse(s: &str) -> Option<Address> {
        let (module, s) = parse_steps(s)?;
        if !module.is_empty() {
            return Address::parse(s)
                .filter(|a| a.module.is_empty())
                .map(|a| Address { module, ..a });
        }
        if let Some(rest) = s.strip_prefix(LOOKUP) {
            let a = Address::parse(rest)?;
            let plain = !a.is_lookup() && a.module.is_empty();
            return plain.then(|| Address { ty: format!("{LOOKUP}{}", a.ty), ..a });
        }
        let (ty, rest) = s.split_once('.')?;
        if ty == "module" {
            return None;
        }
        let end = rest.find('[').unwrap_or(rest.len());
        let (name, tail) = rest.split_at(end);
        let key = match tail {
            "" => None,
            t => match InstanceKey::parse_prefix(t)? {
                (k, "") => Some(k),
                _ => return None,
            },
        };
        (is_word(ty) && is_word(name)).then(|| Address { key, ..Address::new(ty, name) })
    }
}

impl fmt::Display for Address {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for step in &self.module {
            write!(f, "{step}.")?;
        }
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
        for s in [
            "module.network.subnet.public[\"a\"]",
            "module.svc[\"web\"].target_group.app",
            "module.a.module.b[0].data.vpc.shared",
        ] {
            assert_eq!(Address::parse(s).map(|a| a.to_string()), Some(s.to_string()), "{s}");
        }
        for bad in
            ["module.x", "module.x.y", "module.[0].a.b", "data.module.x.a.b", "module.x.module"]
        {
            assert_eq!(Address::parse(bad), None, "{bad}");
        }
        let m = order("module.svc[\"web\"].target_group.app");
        assert_eq!(m.handle(), "svc-web-app");
        assert_eq!(m.tag_value(), "module.svc/web.target_group.app");
        assert_eq!(m.local().to_string(), "target_group.app");
        let path = parse_path("module.svc").unwrap();
        assert!(path_within(&m.module, &path));
        assert!(!path_within(&m.module, &parse_path("module.svc[\"api\"]").unwrap()));
        assert_eq!(parse_path("module.svc[\"web\"].target_group.app"), None);
        let p = |s: &str| parse_path(s).unwrap();
        let moved =
            |a: &str, f: &str, t: &str| moved_path(&p(a), &p(f), &p(t)).map(|x| path_text(&x));
        assert_eq!(moved("module.a", "module.a", "module.b"), Some("module.b".into()));
        assert_eq!(
            moved("module.a[\"k\"]", "module.a", "module.b"),
            Some("module.b[\"k\"]".into())
        );
        assert_eq!(
            moved("module.a", "module.a", "module.b[\"x\"]"),
            Some("module.b[\"x\"]".into())
        );
        assert_eq!(
            moved("module.a.module.c", "module.a", "module.b"),
            Some("module.b.module.c".into())
        );
        assert_eq!(moved("module.ab", "module.a", "module.b"), None);
        assert_eq!(moved("module.a[\"j\"]", "module.a[\"k\"]", "module.b"), None);
        assert!(order("n.p[2]") < order("n.p[10]") && order("n.p") < order("n.p[0]"));
    }
}
