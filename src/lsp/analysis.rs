//! What the language server knows of a place in a stack file: what it is
//! (hover), what may be written there (completion), where what it names is
//! declared (definition), where it is used (references), the file's symbols,
//! and the fix a "did you mean" offers. From the type schemas, the lookups,
//! the functions and the file's outline; a module's file is read by the
//! caller (`Modules`). Positions are 0-based lines and byte columns. Pure.

use super::outline::{self, Declared, Line};
use crate::types::schema::{Attr, Kind, TypeSchema};
use crate::types::{expr::functions, lookup};

/// A file as the analysis reads it.
pub struct Doc<'a> {
    pub lines: Vec<Line>,
    pub declared: Vec<Declared>,
    raw: Vec<&'a str>,
}

impl<'a> Doc<'a> {
    pub fn new(text: &'a str) -> Doc<'a> {
        let lines = outline::lines(text);
        let declared = outline::declared(&lines);
        Doc { lines, declared, raw: text.split('\n').collect() }
    }

    pub fn line(&self, i: usize) -> &'a str {
        self.raw.get(i).copied().unwrap_or("").trim_end_matches('\r')
    }

    /// Where `section` declares `name`.
    pub fn find(&self, section: &str, name: &str) -> Option<&Declared> {
        self.declared.iter().find(|d| d.section == section && d.name == name)
    }

    /// The value `attr` is written with in the resource `address` (what
    /// follows `attr:` on its line), when it is written on one line.
    pub fn written(&self, address: &str, attr: &str) -> Option<String> {
        let d = self.find("resources", address)?;
        let mut depth = None;
        for i in d.line + 1..self.lines.len() {
            match &self.lines[i].key {
                Some((start, _)) if *start <= d.column => break,
                Some((start, key)) if *depth.get_or_insert(*start) == *start && key == attr => {
                    let v = self.line(i).split_once(':')?.1.trim();
                    return (!v.is_empty()).then(|| v.to_string());
                }
                _ => {}
            }
        }
        None
    }

    fn names_in(&self, section: &str) -> impl Iterator<Item = &str> {
        self.declared.iter().filter(move |d| d.section == section).map(|d| d.name.as_str())
    }

    /// A module's `source:` (the file it is written in), as written.
    pub fn module_source(&self, module: &str) -> Option<String> {
        let d = self.find("modules", module)?;
        // Written in flow style: `network: { source: modules/network.yaml }`.
        if let Some((_, rest)) = self.line(d.line).split_once("source:") {
            let v = rest.trim_start().split([',', '}']).next().unwrap_or("").trim();
            return Some(v.trim_matches(['"', '\'']).to_string());
        }
        for i in d.line + 1..self.lines.len() {
            match &self.lines[i].key {
                Some((start, key)) if *start > d.column && key == "source" => {
                    let v = self.line(i).split_once(':')?.1.trim();
                    return Some(v.trim_matches(['"', '\'']).to_string());
                }
                Some((start, _)) if *start > d.column => {}
                Some(_) => break,
                None => {}
            }
        }
        None
    }
}

/// What a reference names.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    /// `TYPE.NAME` (and the attribute it reads, if any).
    Resource {
        address: String,
        attr: Option<String>,
    },
    Variable(String),
    /// `KIND.NAME`.
    Lookup {
        address: String,
        attr: Option<String>,
    },
    Module {
        name: String,
        output: Option<String>,
    },
    Stack(String),
    Function(String),
    /// `each.key`, `count.index`: the instance's own.
    Instance(String),
}

/// What a traversal (`vpc.main.id`, `var.cidr`) names; `call` when a `(`
/// follows it.
pub fn target(traversal: &str, call: bool) -> Option<Target> {
    let n = outline::names(traversal);
    let at = |i: usize| n.get(i).filter(|s| !s.is_empty()).cloned();
    if call {
        return Some(Target::Function(traversal.to_string()));
    }
    Some(match n.first()?.as_str() {
        "var" => Target::Variable(at(1)?),
        "data" => Target::Lookup { address: format!("{}.{}", at(1)?, at(2)?), attr: at(3) },
        "module" => Target::Module { name: at(1)?, output: at(3) },
        "stack" => Target::Stack(at(1)?),
        "each" | "count" => Target::Instance(traversal.to_string()),
        ty => Target::Resource { address: format!("{ty}.{}", at(1)?), attr: at(2) },
    })
}

/// The reference at a place: its target, and where its text starts and ends.
pub fn reference_at(doc: &Doc, line: usize, column: usize) -> Option<(Target, usize, usize)> {
    let text = doc.line(line);
    let (start, t) = outline::traversal_at(text, column)?;
    let end = start + t.len();
    let call = text[end..].trim_start().starts_with('(');
    Some((target(&t, call)?, start, end))
}

/// What a module file declares under `outputs:` (for completion), given
/// the module's source as written; `None` when it cannot be read.
pub type Modules<'m> = &'m dyn Fn(&str) -> Option<String>;

// ---- hover ---------------------------------------------------------------

/// What the place is, in markdown.
pub fn hover(doc: &Doc, line: usize, column: usize, modules: Modules) -> Option<String> {
    if let Some((t, _, _)) = reference_at(doc, line, column) {
        return hover_target(doc, &t, modules);
    }
    let path = outline::path(&doc.lines, line, column);
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    match p.as_slice() {
        ["resources", address] => {
            let s = schema_of(address)?;
            Some(type_text(s, address))
        }
        ["resources", address, rest @ ..] => {
            let s = schema_of(address)?;
            let attr = nested(s.attrs, rest)?;
            Some(attr_text(attr, rest.join(".").as_str()))
        }
        ["data", address] => {
            let l = lookup::lookup(address.split('.').next()?)?;
            Some(lookup_text(l, address))
        }
        ["data", address, key, ..] => {
            let l = lookup::lookup(address.split('.').next()?)?;
            let a = l.by.iter().find(|a| a.name == *key)?;
            Some(format!("`{key}` (searched by): {}", a.kind.describe()))
        }
        ["variables", name, ..] => hover_target(doc, &Target::Variable(name.to_string()), modules),
        ["modules", name, ..] => {
            hover_target(doc, &Target::Module { name: name.to_string(), output: None }, modules)
        }
        _ => None,
    }
}

fn hover_target(doc: &Doc, t: &Target, modules: Modules) -> Option<String> {
    match t {
        Target::Resource { address, attr } => {
            let s = schema_of(address)?;
            let at = doc
                .find("resources", address)
                .map(|d| format!(", declared on line {}", d.line + 1))
                .unwrap_or_default();
            let head = format!("`{address}`: a `{}`{at}", s.name);
            match attr {
                Some(a) => match s.attr(a) {
                    Some(x) => {
                        let value = doc
                            .written(address, a)
                            .map(|v| format!("\n\nwritten: `{v}`"))
                            .unwrap_or_default();
                        Some(format!("{head}{value}\n\n{}", attr_text(x, a)))
                    }
                    None if s.exports.contains(&a.as_str()) => {
                        Some(format!("{head}\n\n`{a}`: what AWS gives it, known after apply"))
                    }
                    None => Some(head),
                },
                None => Some(format!("{head}\n\n{}", s.doc)),
            }
        }
        Target::Variable(name) => {
            let d = doc.find("variables", name)?;
            let decl = doc.line(d.line).trim();
            Some(format!(
                "variable `{name}`, declared on line {}:\n\n```yaml\n{decl}\n```",
                d.line + 1
            ))
        }
        Target::Lookup { address, attr } => {
            let l = lookup::lookup(address.split('.').next()?)?;
            let mut out = lookup_text(l, address);
            if let Some(a) = attr {
                out.push_str(&format!("\n\n`{a}`: what the lookup found"));
            }
            Some(out)
        }
        Target::Module { name, output } => {
            let source = doc.module_source(name)?;
            let mut out = format!("module `{name}`, from `{source}`");
            if let Some(o) = output {
                let text = modules(&source);
                let line = text.as_deref().and_then(|t| {
                    let m = Doc::new(t);
                    m.find("outputs", o).map(|d| m.line(d.line).trim().to_string())
                });
                out.push_str(&format!("\n\noutput `{o}`"));
                if let Some(l) = line {
                    out.push_str(&format!(":\n\n```yaml\n{l}\n```"));
                }
            }
            Some(out)
        }
        Target::Stack(name) => {
            Some(format!("stack `{name}`'s outputs, read from its state when the stack is planned"))
        }
        Target::Function(name) => {
            let (min, max) = functions::arity(name).or(match name.as_str() {
                "file" => Some((1, Some(1))),
                "templatefile" => Some((2, Some(2))),
                _ => None,
            })?;
            let takes = match max {
                Some(m) if m == min => format!("{min} argument{}", if min == 1 { "" } else { "s" }),
                Some(m) => format!("{min} to {m} arguments"),
                None => format!("at least {min} argument{}", if min == 1 { "" } else { "s" }),
            };
            Some(format!("function `{name}` (Terraform's): takes {takes}"))
        }
        Target::Instance(what) => Some(format!(
            "`{what}`: the instance's own (`each.key`, `each.value` under `for_each`; `count.index` under `count`)"
        )),
    }
}

fn schema_of(address: &str) -> Option<&'static TypeSchema> {
    crate::types::schema(address.split('.').next()?)
}

/// The attribute a path of keys reaches, through nested objects.
fn nested(attrs: &'static [Attr], path: &[&str]) -> Option<&'static Attr> {
    let (first, rest) = path.split_first()?;
    let a = attrs.iter().find(|a| a.name == *first)?;
    if rest.is_empty() {
        return Some(a);
    }
    match &a.kind {
        Kind::Object(fields) => nested(fields, rest),
        Kind::List(Kind::Object(fields)) | Kind::Set(Kind::Object(fields)) => nested(fields, rest),
        _ => Some(a),
    }
}

fn type_text(s: &TypeSchema, address: &str) -> String {
    let required: Vec<String> =
        s.attrs.iter().filter(|a| a.required).map(|a| format!("`{}`", a.name)).collect();
    let mut out = format!("`{address}`: a `{}`\n\n{}", s.name, s.doc);
    if !required.is_empty() {
        out.push_str(&format!("\n\nrequired: {}", required.join(", ")));
    }
    out.push_str(&format!(
        "\n\nexports: {}",
        s.exports.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
    ));
    out
}

fn attr_text(a: &Attr, name: &str) -> String {
    let mut out = format!("`{name}`: {}", a.kind.describe());
    if a.required {
        out.push_str(", required");
    }
    if let Some(d) = a.default_value() {
        out.push_str(&format!(", default `{d}`"));
    }
    out.push_str(match a.force_new {
        true => "\n\nA change replaces the resource.",
        false => "\n\nA change is made in place.",
    });
    if !a.doc.is_empty() {
        out.push_str(&format!("\n\n{}", a.doc));
    }
    out
}

fn lookup_text(l: &lookup::LookupSchema, address: &str) -> String {
    format!(
        "`data.{address}`: a lookup of {} {}, found at plan time and never changed\n\nsearched by: {}\n\nexports: {}",
        if l.many { "every" } else { "one" },
        l.noun,
        l.by.iter().map(|a| format!("`{}`", a.name)).collect::<Vec<_>>().join(", "),
        l.exports.iter().map(|e| format!("`{e}`")).collect::<Vec<_>>().join(", ")
    )
}

// ---- completion ----------------------------------------------------------

/// What a completion offers.
#[derive(Debug, Clone, PartialEq)]
pub struct Item {
    pub label: String,
    pub detail: String,
    /// What sorts it first (required attributes before the others).
    pub sort: String,
    pub kind: ItemKind,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum ItemKind {
    Type,
    Field,
    Value,
    Variable,
    Module,
    Function,
    Keyword,
}

fn item(label: &str, detail: &str, kind: ItemKind) -> Item {
    Item { label: label.to_string(), detail: detail.to_string(), sort: label.to_string(), kind }
}

/// What may be written at a place.
pub fn complete(doc: &Doc, line: usize, column: usize, modules: Modules) -> Vec<Item> {
    let text = doc.line(line);
    let column = column.min(text.len());
    // Inside `${...}`: what a reference may name.
    if outline::interpolations(text).iter().any(|(s, e)| *s <= column && column <= *e) {
        let typed = outline::traversal_at(text, column)
            .map(|(start, t)| t[..column.saturating_sub(start).min(t.len())].to_string())
            .unwrap_or_default();
        return complete_reference(doc, &typed, modules);
    }
    let path = outline::path(&doc.lines, line, column);
    let p: Vec<&str> = path.iter().map(String::as_str).collect();
    let before = &text[..column];
    // After `key: `, a value; else a key.
    let value_of = before.trim_start().trim_start_matches("- ").split_once(": ").map(|(k, _)| k);
    match (p.as_slice(), value_of) {
        (["resources", address, rest @ ..], Some(_)) if !rest.is_empty() => {
            let attr = schema_of(address).and_then(|s| nested(s.attrs, rest));
            match attr.map(|a| &a.kind) {
                Some(Kind::Enum(values)) => {
                    values.iter().map(|v| item(v, "one of its values", ItemKind::Value)).collect()
                }
                Some(Kind::Bool) => ["true", "false"]
                    .iter()
                    .map(|v| item(v, "a boolean", ItemKind::Value))
                    .collect(),
                _ => Vec::new(),
            }
        }
        ([], None) => [
            "stack",
            "region",
            "tags",
            "variables",
            "stacks",
            "modules",
            "data",
            "resources",
            "outputs",
            "state",
            "environments",
        ]
        .iter()
        .map(|k| item(k, "a section of the stack file", ItemKind::Keyword))
        .collect(),
        (["resources"] | ["resources", _], None) if p.len() == 1 => crate::types::SCHEMAS
            .iter()
            .map(|s| Item {
                label: format!("{}.", s.name),
                detail: s.doc.to_string(),
                sort: s.name.to_string(),
                kind: ItemKind::Type,
            })
            .collect(),
        (["resources", address, rest @ ..], None) => {
            let Some(s) = schema_of(address) else { return Vec::new() };
            let fields: &[Attr] = match rest.split_last() {
                None => s.attrs,
                Some((_, _)) => match nested(s.attrs, rest).map(|a| &a.kind) {
                    Some(Kind::Object(f)) => f,
                    Some(Kind::List(Kind::Object(f)) | Kind::Set(Kind::Object(f))) => f,
                    _ => &[],
                },
            };
            let present = keys_under(doc, line, column);
            let mut out: Vec<Item> = fields
                .iter()
                .filter(|a| !present.contains(&a.name.to_string()))
                .map(|a| Item {
                    label: a.name.to_string(),
                    detail: format!(
                        "{}{}",
                        a.kind.describe(),
                        if a.required { ", required" } else { "" }
                    ),
                    sort: format!("{}{}", if a.required { 0 } else { 1 }, a.name),
                    kind: ItemKind::Field,
                })
                .collect();
            if rest.is_empty() {
                for k in ["for_each", "count", "depends_on", "lifecycle"] {
                    if !present.contains(&k.to_string()) {
                        out.push(Item {
                            sort: format!("2{k}"),
                            ..item(k, "meta-argument", ItemKind::Keyword)
                        });
                    }
                }
                if s.taggable && !present.contains(&"tags".to_string()) {
                    out.push(Item {
                        sort: "1tags".into(),
                        ..item("tags", "its own tags", ItemKind::Field)
                    });
                }
            }
            out
        }
        (["data"], None) => lookup::LOOKUPS
            .iter()
            .map(|l| item(&format!("{}.", l.name), l.noun, ItemKind::Type))
            .collect(),
        (["data", address], None) => {
            let Some(l) = address.split('.').next().and_then(lookup::lookup) else {
                return Vec::new();
            };
            l.by.iter().map(|a| item(a.name, &a.kind.describe(), ItemKind::Field)).collect()
        }
        _ => Vec::new(),
    }
}

/// The keys already written beside the place (same depth, same block).
fn keys_under(doc: &Doc, line: usize, column: usize) -> Vec<String> {
    let here = doc.lines.get(line).map(|l| l.start).unwrap_or(column);
    let depth = if doc.lines.get(line).is_some_and(|l| l.blank) { column } else { here };
    let mut out = Vec::new();
    let mut scan = |range: Box<dyn Iterator<Item = usize>>| {
        for i in range {
            match &doc.lines[i].key {
                Some((start, key)) if *start == depth => out.push(key.clone()),
                Some((start, _)) if *start < depth => break,
                _ => {}
            }
        }
    };
    scan(Box::new((0..line).rev()));
    scan(Box::new(line + 1..doc.lines.len()));
    out
}

fn complete_reference(doc: &Doc, typed: &str, modules: Modules) -> Vec<Item> {
    let parts: Vec<&str> = typed.split('.').collect();
    let (done, _partial) = parts.split_at(parts.len().saturating_sub(1));
    let resources: Vec<&str> = doc.names_in("resources").collect();
    match done {
        [] => {
            let mut out: Vec<Item> = ["var", "data", "module", "each", "count", "stack"]
                .iter()
                .map(|k| item(k, "a root of references", ItemKind::Keyword))
                .collect();
            let mut types: Vec<&str> =
                resources.iter().filter_map(|a| a.split('.').next()).collect();
            types.sort();
            types.dedup();
            out.extend(
                types.into_iter().map(|t| item(t, "a resource type of this file", ItemKind::Type)),
            );
            let mut names: Vec<&str> = functions::names().chain(["file", "templatefile"]).collect();
            names.sort();
            names.dedup();
            out.extend(names.into_iter().map(|f| item(f, "function", ItemKind::Function)));
            out
        }
        ["var"] => {
            doc.names_in("variables").map(|v| item(v, "variable", ItemKind::Variable)).collect()
        }
        ["data"] => {
            let mut kinds: Vec<&str> =
                doc.names_in("data").filter_map(|a| a.split('.').next()).collect();
            kinds.sort();
            kinds.dedup();
            kinds.into_iter().map(|k| item(k, "lookup kind", ItemKind::Type)).collect()
        }
        ["data", kind] => doc
            .names_in("data")
            .filter_map(|a| a.strip_prefix(&format!("{kind}.")))
            .map(|n| item(n, "lookup", ItemKind::Variable))
            .collect(),
        ["data", kind, _] => lookup::lookup(kind)
            .map(|l| l.exports.iter().map(|e| item(e, "what it found", ItemKind::Field)).collect())
            .unwrap_or_default(),
        ["module"] => {
            doc.names_in("modules").map(|m| item(m, "module", ItemKind::Module)).collect()
        }
        ["module", _] => vec![item("outputs", "the module's outputs", ItemKind::Keyword)],
        ["module", name, "outputs"] => {
            let Some(text) = doc.module_source(name).and_then(|s| modules(&s)) else {
                return Vec::new();
            };
            let m = Doc::new(&text);
            m.names_in("outputs").map(|o| item(o, "module output", ItemKind::Field)).collect()
        }
        ["each"] => {
            ["key", "value"].iter().map(|k| item(k, "the instance's", ItemKind::Keyword)).collect()
        }
        ["count"] => vec![item("index", "the instance's number", ItemKind::Keyword)],
        [ty] if crate::types::schema(ty).is_some() => resources
            .iter()
            .filter_map(|a| a.strip_prefix(&format!("{ty}.")))
            .map(|n| item(n, ty, ItemKind::Variable))
            .collect(),
        [ty, _] => crate::types::schema(ty)
            .map(|s| {
                s.referenceable()
                    .map(|a| {
                        let what =
                            if s.exports.contains(&a) { "known after apply" } else { "attribute" };
                        item(a, what, ItemKind::Field)
                    })
                    .collect()
            })
            .unwrap_or_default(),
        _ => Vec::new(),
    }
}

// ---- definition and references ------------------------------------------

/// Where a name is declared.
#[derive(Debug, Clone, PartialEq)]
pub enum Place {
    /// In this file: line, column, length.
    Here(usize, usize, usize),
    /// In a module's file (its source as written), at the key that
    /// `section`/`name` gives, or its top.
    Module { source: String, at: Option<(String, String)> },
}

/// Where what the place names is declared.
pub fn definition(doc: &Doc, line: usize, column: usize) -> Option<Place> {
    let here = |section: &str, name: &str| {
        doc.find(section, name).map(|d| Place::Here(d.line, d.column, d.name.len()))
    };
    if let Some((t, _, _)) = reference_at(doc, line, column) {
        return match t {
            Target::Resource { address, .. } => here("resources", &address),
            Target::Variable(v) => here("variables", &v),
            Target::Lookup { address, .. } => here("data", &address),
            Target::Stack(s) => here("stacks", &s),
            Target::Module { name, output } => {
                let source = doc.module_source(&name)?;
                Some(Place::Module { source, at: output.map(|o| ("outputs".to_string(), o)) })
            }
            Target::Function(_) | Target::Instance(_) => None,
        };
    }
    // A module's key, or its `source:`: its file.
    let path = outline::path(&doc.lines, line, column);
    match path.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["modules", name] | ["modules", name, "source"] => {
            Some(Place::Module { source: doc.module_source(name)?, at: None })
        }
        _ => None,
    }
}

/// Every place that names what the place does (its declaration first):
/// line, column, length.
pub fn references(doc: &Doc, line: usize, column: usize) -> Vec<(usize, usize, usize)> {
    let wanted = match reference_at(doc, line, column) {
        Some((t, _, _)) => t,
        None => {
            let path = outline::path(&doc.lines, line, column);
            match path.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
                ["resources", a] => Target::Resource { address: a.to_string(), attr: None },
                ["variables", v] => Target::Variable(v.to_string()),
                ["data", a] => Target::Lookup { address: a.to_string(), attr: None },
                ["modules", m] => Target::Module { name: m.to_string(), output: None },
                _ => return Vec::new(),
            }
        }
    };
    let key = |t: &Target| match t {
        Target::Resource { address, .. } => format!("r:{address}"),
        Target::Variable(v) => format!("v:{v}"),
        Target::Lookup { address, .. } => format!("d:{address}"),
        Target::Module { name, .. } => format!("m:{name}"),
        Target::Stack(s) => format!("s:{s}"),
        Target::Function(f) => format!("f:{f}"),
        Target::Instance(i) => format!("i:{i}"),
    };
    let want = key(&wanted);
    let mut out = Vec::new();
    let decl = match &wanted {
        Target::Resource { address, .. } => doc.find("resources", address),
        Target::Variable(v) => doc.find("variables", v),
        Target::Lookup { address, .. } => doc.find("data", address),
        Target::Module { name, .. } => doc.find("modules", name),
        _ => None,
    };
    if let Some(d) = decl {
        out.push((d.line, d.column, d.name.len()));
    }
    for i in 0..doc.lines.len() {
        let text = doc.line(i);
        for (s, e) in outline::interpolations(text) {
            let mut c = s;
            while c < e {
                match outline::traversal_at(text, c) {
                    Some((start, t)) if !t.is_empty() => {
                        let end = start + t.len();
                        let call = text[end..].trim_start().starts_with('(');
                        if target(&t, call).is_some_and(|x| key(&x) == want) {
                            out.push((i, start, t.len()));
                        }
                        c = end.max(c + 1);
                    }
                    _ => c += 1,
                }
            }
        }
    }
    out.dedup();
    out
}

// ---- symbols and fixes ---------------------------------------------------

/// The file's symbols: each declared key with its section.
pub fn symbols<'d>(doc: &'d Doc) -> &'d [Declared] {
    &doc.declared
}

/// The fix a "did you mean `X`?" offers for the text a diagnostic covers:
/// the byte range (within `covered`) of what to replace, and `X`: of the
/// runs of as many dotted names as `X` has (`kms_key.secret` for
/// `kms_key.secrets`), the one most like `X`.
pub fn did_you_mean_fix(message: &str, covered: &str) -> Option<(usize, usize, String)> {
    let want = message.split("did you mean `").nth(1)?.split('`').next()?.to_string();
    let k = want.split('.').count();
    let name = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
    // Each run of dotted names, as the byte ranges of its names.
    let mut runs: Vec<Vec<(usize, usize)>> = Vec::new();
    let mut run: Vec<(usize, usize)> = Vec::new();
    let mut start: Option<usize> = None;
    for (i, c) in covered.char_indices().chain([(covered.len(), ' ')]) {
        match (name(c), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                run.push((s, i));
                start = None;
                if c != '.' {
                    runs.push(std::mem::take(&mut run));
                }
            }
            (false, None) if c != '.' && !run.is_empty() => runs.push(std::mem::take(&mut run)),
            _ => {}
        }
    }
    let mut best: Option<(f64, usize, usize)> = None;
    for run in runs.iter().filter(|r| r.len() >= k) {
        for w in run.windows(k) {
            let (s, e) = (w[0].0, w[k - 1].1);
            let score = strsim::jaro_winkler(&covered[s..e], &want);
            if best.is_none_or(|b| score > b.0) {
                best = Some((score, s, e));
            }
        }
    }
    let (_, s, e) = best?;
    (covered[s..e] != want).then_some((s, e, want))
}

/// The fix a hint's `set KEY: VALUE` offers on a line that sets `KEY`: the
/// byte range of the value written there, and `VALUE`.
pub fn set_fix(message: &str, line: &str) -> Option<(usize, usize, String)> {
    let set = message.split("set ").nth(1)?;
    let set = set.split([';', '\n']).next()?.trim();
    let (key, value) = set.split_once(": ")?;
    let value = value.trim().trim_end_matches('.').to_string();
    let at = line.find(&format!("{key}:"))? + key.len() + 1;
    let rest = &line[at..];
    let from = at + (rest.len() - rest.trim_start().len());
    let written = line[from..].split([',', '}', '#']).next().unwrap_or("").trim_end();
    (written != value).then(|| (from, from + written.len(), value))
}

#[cfg(test)]
mod tests {
    use super::*;

    const FILE: &str = "stack: s\nregion: ap-northeast-1\nvariables:\n  cidr: { default: 10.0.0.0/16 }\nmodules:\n  network:\n    source: modules/network.yaml\nresources:\n  vpc.main:\n    cidr_block: ${var.cidr}\n  subnet.a:\n    vpc_id: ${vpc.main.id}\n    cidr_block: ${cidrsubnet(var.cidr, 8, 1)}\n    \noutputs:\n  vpc: ${module.network.outputs.vpc_id}\n";

    fn none(_: &str) -> Option<String> {
        Some("module: network\noutputs:\n  vpc_id: ${vpc.main.id}\n  subnets: x\n".into())
    }

    #[test]
    fn hover_says_what_an_attribute_a_reference_and_a_function_are() {
        let doc = Doc::new(FILE);
        let h = hover(&doc, 9, 6, &none).unwrap();
        assert!(h.contains("`cidr_block`") && h.contains("replaces"), "{h}");
        let h = hover(&doc, 11, 17, &none).unwrap();
        assert!(h.contains("`vpc.main`: a `vpc`, declared on line 9"), "{h}");
        let h = hover(&doc, 12, 20, &none).unwrap();
        assert!(h.contains("function `cidrsubnet`") && h.contains("3 arguments"), "{h}");
        let doc2 = Doc::new(
            "stack: s\nresources:\n  vpc.main:\n    cidr_block: 10.0.0.0/16\n  subnet.a:\n    x: ${vpc.main.cidr_block}\n",
        );
        let h = hover(&doc2, 5, 20, &none).unwrap();
        assert!(h.contains("written: `10.0.0.0/16`"), "{h}");
        let h = hover(&doc, 9, 22, &none).unwrap();
        assert!(h.contains("variable `cidr`, declared on line 4"), "{h}");
    }

    #[test]
    fn completion_offers_what_may_be_written_there() {
        let doc = Doc::new(FILE);
        let labels = |items: Vec<Item>| items.into_iter().map(|i| i.label).collect::<Vec<_>>();
        // A new attribute of subnet.a: required first, those written left out.
        let mut items = complete(&doc, 13, 4, &none);
        items.sort_by(|a, b| a.sort.cmp(&b.sort));
        let names = labels(items);
        assert!(!names.contains(&"vpc_id".to_string()), "{names:?}");
        assert!(names.contains(&"availability_zone".to_string()), "{names:?}");
        let typed = "stack: s\nresources:\n  vpc.main: {}\n  subnet.a:\n    vpc_id: ${vpc.\n";
        let doc = Doc::new(typed);
        assert_eq!(labels(complete(&doc, 4, "    vpc_id: ${vpc.".len(), &none)), ["main"]);
        let typed = "stack: s\nmodules:\n  network: { source: m.yaml }\nresources:\n  vpc.main:\n    x: ${module.network.outputs.\n";
        let doc = Doc::new(typed);
        let end = "    x: ${module.network.outputs.".len();
        assert_eq!(labels(complete(&doc, 5, end, &none)), ["vpc_id", "subnets"]);
    }

    #[test]
    fn a_reference_leads_to_its_declaration_and_back() {
        let doc = Doc::new(FILE);
        assert_eq!(definition(&doc, 11, 16), Some(Place::Here(8, 2, 8)));
        assert_eq!(
            definition(&doc, 15, 18),
            Some(Place::Module {
                source: "modules/network.yaml".into(),
                at: Some(("outputs".into(), "vpc_id".into()))
            })
        );
        let refs = references(&doc, 3, 3);
        assert_eq!(refs, [(3, 2, 4), (9, 18, 8), (12, 29, 8)]);
    }

    #[test]
    fn did_you_mean_replaces_the_word_most_like_it() {
        let fix =
            did_you_mean_fix("unknown resource `vpc.mian`\ndid you mean `main`?", "${vpc.mian.id}");
        assert_eq!(fix, Some((6, 10, "main".into())));
        let covered = "${kms_key.secret.arn}";
        let fix = did_you_mean_fix("undeclared\ndid you mean `kms_key.secrets`?", covered);
        assert_eq!(fix, Some((2, 16, "kms_key.secrets".into())));
        let hint = "a hop limit below 2\npods sit one hop behind the node: set http_put_response_hop_limit: 2; or accept it";
        let line = "      http_put_response_hop_limit: 1";
        assert_eq!(set_fix(hint, line), Some((35, 36, "2".into())));
        let flow =
            "    metadata_options: { http_tokens: required, http_put_response_hop_limit: 1 }";
        let (s, e, v) = set_fix(hint, flow).unwrap();
        assert_eq!((&flow[s..e], v.as_str()), ("1", "2"));
    }
}
