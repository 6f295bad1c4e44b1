//! The stack file's JSON Schema (draft 2020-12), for editors and review tools
//! (`infra schema`): generated from the type schemas and the kinds of lookup,
//! never written by hand, so it cannot drift from what `infra validate` takes.
//!
//! It checks the shape: keys, kinds, enums, ranges, required attributes. What
//! needs the whole file (references that resolve, cycles, one listener per
//! port, a subnet inside its VPC) stays with `infra validate`. A `${...}`
//! reference may stand for a whole value of any kind, and a string with
//! references in it goes wherever a string does. Pure.

use serde_json::{Map, Value, json};

use super::validate::META_KEYS;
use crate::types::lookup::{LOOKUPS, LookupSchema};
use crate::types::schema::{Attr, Kind, NameDefault, TypeSchema};
use crate::types::{self};

/// The draft the schema follows.
pub const DRAFT: &str = "https://json-schema.org/draft/2020-12/schema";

/// The schema of a stack file.
pub fn stack_schema() -> Value {
    let mut defs = Map::new();
    defs.insert(
        "reference".into(),
        json!({
            "description": "An expression standing for a whole value of any kind: a reference (${TYPE.NAME.ATTR}, ${var.NAME}, ${stack.NAME.outputs.KEY}, ${data.KIND.NAME.ATTR}, ${each.key}, ${count.index}) or any expression over them, with Terraform's operators and functions (${cidrsubnet(var.cidr, 8, 1)}).",
            "type": "string",
            "pattern": "^\\$\\{.+\\}$",
        }),
    );
    defs.insert(
        "interpolated".into(),
        json!({
            "description": "A string with references in it, such as \"${var.prefix}.0.0/16\".",
            "type": "string",
            "pattern": "\\$\\{[^}]+\\}",
        }),
    );
    defs.insert(
        "tags".into(),
        json!({
            "description": "Tags: a map of strings.",
            "type": "object",
            "additionalProperties": value(&Kind::String),
        }),
    );
    defs.insert("state".into(), state());
    for schema in types::SCHEMAS {
        defs.insert(schema.name.into(), resource(schema));
    }
    for kind in LOOKUPS {
        defs.insert(format!("data.{}", kind.name), lookup(kind));
    }

    let type_names: Vec<&str> = types::SCHEMAS.iter().map(|s| s.name).collect();
    let lookup_names: Vec<&str> = LOOKUPS.iter().map(|k| k.name).collect();
    let mut resources = Map::new();
    for name in &type_names {
        resources
            .insert(format!("^{name}\\.{NAME}$"), json!({ "$ref": format!("#/$defs/{name}") }));
    }
    let mut data = Map::new();
    for name in &lookup_names {
        data.insert(
            format!("^{name}\\.{NAME}$"),
            json!({ "$ref": format!("#/$defs/data.{name}") }),
        );
    }

    let properties = json!({
        "stack": {
            "description": "The stack's name (lowercase letters, digits, single - or _ between them); with --env's environment, its identity: default resource names, the infra:stack tag and the default state file (state/NAME.json, state/NAME.ENV.json) come from it.",
            "type": "string",
            "pattern": "^[a-z0-9]+([-_][a-z0-9]+)*$",
        },
        "region": {
            "description": "The AWS region, such as ap-northeast-1.",
            "type": "string",
            "minLength": 1,
        },
        "state": { "$ref": "#/$defs/state" },
        "tags": {
            "$ref": "#/$defs/tags",
            "description": "Tags every resource carries, beside infra:stack and infra:address.",
        },
        "variables": variables(),
        "environments": environments(),
        "stacks": {
            "description": "Other stacks whose outputs this one reads, as ${stack.NAME.outputs.KEY}: each with where its state is ({} for state/NAME.json).",
            "type": "object",
            "propertyNames": { "pattern": format!("^{NAME}$") },
            "additionalProperties": {
                "type": ["object", "null"],
                "properties": {
                    "state": {
                        "description": "Where its state is: a path, or s3://BUCKET/KEY, written out.",
                        "type": "string",
                        "not": { "pattern": "\\$\\{" },
                    },
                },
                "additionalProperties": false,
            },
        },
        "data": {
            "description": "Lookups: what exists already, found at plan time and never written, as KIND.NAME: what to search by. Used as ${data.KIND.NAME.ATTR}.",
            "type": "object",
            "propertyNames": { "pattern": format!("^({})\\.{NAME}$", lookup_names.join("|")) },
            "patternProperties": data,
        },
        "resources": {
            "description": "The resources, as TYPE.NAME: attributes.",
            "type": "object",
            "propertyNames": { "pattern": format!("^({})\\.{NAME}$", type_names.join("|")) },
            "patternProperties": resources,
        },
        "outputs": outputs(),
        "moved": moved(),
        "modules": modules(),
    });
    json!({
        "$schema": DRAFT,
        "title": "infra stack file",
        "description": "A stack of AWS resources for `infra plan`, `infra apply` and `infra destroy` (docs/stack-format.md).",
        "type": "object",
        "required": ["stack", "region"],
        "properties": properties,
        "additionalProperties": false,
        "$defs": defs,
    })
}

/// `modules:`: each use of a module file.
fn modules() -> Value {
    json!({
        "description": "Modules used: NAME: { source: PATH relative to this file, inputs: { VARIABLE: value } }, with for_each or count and depends_on as a resource takes them. Their outputs are ${module.NAME.outputs.KEY}; what they make is module.NAME.TYPE.NAME.",
        "type": "object",
        "propertyNames": { "pattern": format!("^{NAME}$") },
        "additionalProperties": {
            "type": "object",
            "properties": {
                "source": { "type": "string", "description": "The module file, relative to the file that uses it.", "not": { "pattern": "\\$\\{" } },
                "inputs": { "type": "object", "description": "A value for each of the module's variables." },
                "for_each": { "description": "A map, or a list of strings: one instance of the module per key, module.NAME[\"KEY\"]." },
                "count": { "description": "A whole number: that many instances, module.NAME[INDEX]." },
                "depends_on": { "type": "array", "items": { "type": "string" }, "description": "Addresses (or module.NAME) everything in the module waits for." },
            },
            "required": ["source"],
            "additionalProperties": false,
        },
    })
}

/// `moved:`: each move's two addresses.
fn moved() -> Value {
    json!({
        "description": "Resources that moved to another address in the file (a rename, into a for_each, into a module), or whole modules (module.a to module.b): the plan shows each move and changes nothing in AWS; state is rewritten at apply.",
        "type": "array",
        "items": {
            "type": "object",
            "properties": {
                "from": { "type": "string", "pattern": move_end() },
                "to": { "type": "string", "pattern": move_end() },
            },
            "required": ["from", "to"],
            "additionalProperties": false,
        },
    })
}

/// A move's end: a resource's address, or a whole module's.
fn move_end() -> String {
    format!(
        "^({MODULES}{NAME}\\.{NAME}{INSTANCE}|module\\.{NAME}{INSTANCE}(\\.module\\.{NAME}{INSTANCE})*)$"
    )
}

/// The modules before an address, if any: `module.network.`, `module.svc["web"].`.
const MODULES: &str = "(module\\.[A-Za-z0-9_-]+(\\[([0-9]+|\"([^\"\\\\]|\\\\.)*\")\\])?\\.)*";

/// A resource's or a lookup's name: `main` in `vpc.main`.
const NAME: &str = "[A-Za-z0-9_-]+";

/// An instance's key after an address, if any: `[0]`, `["a"]`.
const INSTANCE: &str = "(\\[([0-9]+|\"([^\"\\\\]|\\\\.)*\")\\])?";

/// One resource type: its attributes, its tags and the keys every resource
/// takes (`depends_on`, `timeouts`, `prevent_destroy`, `ignore_changes`).
fn resource(schema: &TypeSchema) -> Value {
    let mut properties = Map::new();
    let mut required = Vec::new();
    for attr in schema.attrs {
        properties.insert(attr.name.into(), attribute(attr));
        let name_required =
            matches!(schema.name_attr, Some((n, NameDefault::Required)) if n == attr.name);
        if attr.required || name_required {
            required.push(attr.name);
        }
    }
    if schema.taggable {
        properties.insert(
            "tags".into(),
            json!({
                "description": "Its own tags, beside the stack's.",
                "anyOf": [{ "$ref": "#/$defs/tags" }, { "$ref": "#/$defs/reference" }],
            }),
        );
    }
    for meta in META_KEYS.iter().chain(&["for_each", "count"]) {
        properties.insert((*meta).into(), meta_key(meta));
    }
    let mut description = schema.doc.to_string();
    let exports: Vec<&str> = schema.referenceable().collect();
    if !exports.is_empty() {
        description.push_str(&format!(
            " Referenced as ${{{}.NAME.ATTR}}, ATTR one of: {}.",
            schema.name,
            exports.join(", ")
        ));
    }
    json!({
        "description": description,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": false,
    })
}

/// One kind of lookup: what it searches by.
fn lookup(kind: &LookupSchema) -> Value {
    let properties: Map<String, Value> =
        kind.by.iter().map(|a| (a.name.to_string(), attribute(a))).collect();
    let finds = if kind.many {
        format!("every {} that matches (at least one)", kind.noun)
    } else {
        format!("the one {} that matches", kind.noun)
    };
    json!({
        "description": format!(
            "Finds {finds}; every attribute given must match. Gives: {}.",
            kind.exports.join(", ")
        ),
        "type": "object",
        "properties": properties,
        "minProperties": 1,
        "additionalProperties": false,
    })
}

/// `depends_on`, `accept`, `timeouts`, `prevent_destroy` and `ignore_changes`.
fn meta_key(name: &str) -> Value {
    match name {
        "depends_on" => json!({
            "description": "Resources this one waits for beyond its references, as TYPE.NAME (or module.NAME: everything in a module).",
            "type": "array",
            "items": { "type": "string", "pattern": move_end() },
        }),
        "accept" => json!({
            "description": "Lints accepted for this resource, each with why: the lint is silent here (under --strict too) and the plan lists it under Needs attention.",
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "lint": { "enum": crate::types::lint::Lint::names().collect::<Vec<_>>() },
                    "reason": { "type": "string", "minLength": 1 },
                },
                "required": ["lint", "reason"],
                "additionalProperties": false,
            },
        }),
        "for_each" => json!({
            "description": "Makes one instance per key, TYPE.NAME[\"KEY\"]: a map (its keys; each.value is the key's value) or a list of strings (each.value is the key), known at plan. Inside, ${each.key} and ${each.value}.",
            "anyOf": [
                { "type": "object" },
                { "type": "array", "items": { "type": "string" } },
                { "$ref": "#/$defs/reference" },
            ],
        }),
        "count" => json!({
            "description": "Makes this many instances, TYPE.NAME[0], TYPE.NAME[1], ...: a whole number known at plan. Inside, ${count.index}.",
            "anyOf": [{ "type": "integer", "minimum": 0 }, { "$ref": "#/$defs/reference" }],
        }),
        "timeouts" => {
            let duration = json!({ "type": "string", "pattern": "^\\s*[0-9]+\\s*[smh]\\s*$" });
            json!({
                "description": "How long each operation may take, such as 30m, 1h or 900s.",
                "type": "object",
                "properties": { "create": duration, "update": duration, "delete": duration },
                "additionalProperties": false,
            })
        }
        "prevent_destroy" => json!({
            "description": "Refuse any plan that would delete it (docs/state.md).",
            "anyOf": [{ "type": "boolean" }, { "$ref": "#/$defs/reference" }],
        }),
        "ignore_changes" => json!({
            "description": "Attributes set at create and never changed or shown as a change afterwards (Terraform's lifecycle ignore_changes), as ATTR or ATTR.FIELD paths, such as scaling.desired or tags.team; drift still shows them, marked ignored.",
            "type": "array",
            "items": { "type": "string", "pattern": "^[A-Za-z0-9_]+(\\..+)?$" },
        }),
        other => json!({ "description": other }),
    }
}

/// An attribute: its kind, with its description, default and facts.
fn attribute(attr: &Attr) -> Value {
    let mut out = match value(&attr.kind) {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    let mut text = attr.doc.to_string();
    let mut fact = |s: &str| {
        if !text.is_empty() {
            text.push(' ');
        }
        text.push_str(s);
    };
    if !matches!(attr.kind, Kind::Object(_) | Kind::List(_) | Kind::Set(_) | Kind::Map(_)) {
        fact(&format!("{}.", first_upper(&attr.kind.describe())));
    }
    if attr.required {
        fact("Required.");
    }
    if attr.force_new {
        fact("Changing it replaces the resource.");
    }
    if attr.deferred {
        fact("Applied in a step of its own, after the resource exists.");
    }
    if attr.local {
        fact("Kept in state only: no AWS call reads or writes it.");
    }
    if attr.sensitive {
        fact("Never shown in plans.");
    }
    if attr.no_diff {
        fact("Says how a change is applied; never a change itself.");
    }
    if let Some(d) = attr.default.to_json() {
        fact(&format!("Default: {d}."));
        out.insert("default".into(), d);
    }
    out.insert("description".into(), Value::String(text));
    Value::Object(out)
}

fn first_upper(s: &str) -> String {
    let mut c = s.chars();
    c.next().map(|f| f.to_uppercase().chain(c).collect()).unwrap_or_default()
}

/// Where a value of this kind goes: the kind, or a reference standing for it
/// (a string with references in it, where the kind is written as a string).
/// Written as if/then/else rather than anyOf, so that an editor puts an error
/// inside an object where it is, not on the whole object.
fn value(kind: &Kind) -> Value {
    match kind {
        // Any scalar is a string: YAML's `443` and `true` are taken as text.
        Kind::String => shape(kind),
        Kind::Cidr | Kind::Enum(_) | Kind::Ports => json!({
            "if": { "type": "string", "pattern": "\\$\\{" },
            "then": { "$ref": "#/$defs/interpolated" },
            "else": shape(kind),
        }),
        _ => json!({
            "if": { "type": "string" },
            "then": { "$ref": "#/$defs/reference" },
            "else": shape(kind),
        }),
    }
}

/// The shape of a value of this kind, references aside.
fn shape(kind: &Kind) -> Value {
    match kind {
        Kind::String => json!({ "type": ["string", "number", "boolean"] }),
        Kind::Bool => json!({ "type": "boolean" }),
        Kind::Int { min, max } => json!({ "type": "integer", "minimum": min, "maximum": max }),
        Kind::Number => json!({ "type": "number" }),
        Kind::Cidr => json!({
            "type": "string",
            "pattern": "^([0-9]{1,3}\\.){3}[0-9]{1,3}/[0-9]{1,2}$",
        }),
        Kind::Enum(options) => json!({ "enum": options }),
        Kind::Ports => json!({
            "anyOf": [
                { "type": "integer", "minimum": 0, "maximum": 65535 },
                { "type": "string", "pattern": "^\\s*[0-9]{1,5}\\s*(-\\s*[0-9]{1,5}\\s*)?$" },
            ],
        }),
        Kind::List(inner) | Kind::Set(inner) => json!({ "type": "array", "items": value(inner) }),
        Kind::Map(inner) => json!({ "type": "object", "additionalProperties": value(inner) }),
        Kind::Object(attrs) => {
            let properties: Map<String, Value> =
                attrs.iter().map(|a| (a.name.to_string(), attribute(a))).collect();
            let required: Vec<&str> = attrs.iter().filter(|a| a.required).map(|a| a.name).collect();
            json!({
                "type": "object",
                "properties": properties,
                "required": required,
                "additionalProperties": false,
            })
        }
    }
}

/// `state:`: the local backend (the default) or S3.
fn state() -> Value {
    json!({
        "description": "Where the state is kept: { backend: local, path: state/NAME.json } (the default) or { backend: s3, bucket: BUCKET, key: KEY, region: REGION }, locked with a lease (docs/state.md).",
        "type": "object",
        "properties": {
            "backend": { "enum": ["local", "s3"], "default": "local" },
            "path": { "type": "string", "minLength": 1, "description": "The local backend's file." },
            "bucket": { "type": "string", "minLength": 1, "description": "The s3 backend's bucket." },
            "key": { "type": "string", "minLength": 1, "description": "The s3 backend's object key." },
            "region": { "type": "string", "minLength": 1, "description": "The s3 backend's region, when not the stack's." },
        },
        "additionalProperties": false,
        "if": { "properties": { "backend": { "const": "s3" } }, "required": ["backend"] },
        "then": { "required": ["bucket", "key"], "properties": { "path": false } },
        "else": { "properties": { "bucket": false, "key": false, "region": false } },
    })
}

/// `variables:`: each a declaration.
fn variables() -> Value {
    json!({
        "description": "Variables, used as ${var.NAME}: values from the default, INFRA_VAR_NAME, --var-file and --var (the last wins).",
        "type": "object",
        "propertyNames": { "pattern": format!("^{NAME}$") },
        "additionalProperties": {
            "type": ["object", "null"],
            "properties": {
                "type": { "enum": ["string", "number", "bool", "list", "map"], "default": "string" },
                "default": { "description": "Its value when none is given." },
                "description": { "type": "string" },
                "sensitive": { "type": "boolean", "description": "Never shown: plans, outputs and messages read (sensitive)." },
            },
            "additionalProperties": false,
        },
    })
}

/// `environments:`: per environment, an overlay of the top-level keys, merged
/// over the file by `--env` (`~` removes a key).
fn environments() -> Value {
    let overlay = json!({ "type": ["object", "null"] });
    json!({
        "description": "Overlays per environment, merged over the file by --env NAME: mappings merge by key, anything else is replaced, ~ removes a key.",
        "type": "object",
        "propertyNames": { "pattern": format!("^{NAME}$") },
        "additionalProperties": {
            "type": ["object", "null"],
            "properties": {
                "region": { "type": "string" },
                "state": { "anyOf": [{ "$ref": "#/$defs/state" }, { "type": "null" }] },
                "tags": overlay,
                "variables": overlay,
                "resources": {
                    "type": ["object", "null"],
                    "additionalProperties": overlay,
                },
                "outputs": overlay,
            },
            "additionalProperties": false,
        },
    })
}

/// `outputs:`: a string, a list of strings or a map of strings each.
fn outputs() -> Value {
    let text = value(&Kind::String);
    json!({
        "description": "What the stack gives other stacks and `infra output`: NAME: a value, a list or a map, usually references.",
        "type": "object",
        "additionalProperties": {
            "anyOf": [
                text,
                { "type": "array", "items": text },
                { "type": "object", "additionalProperties": text },
            ],
        },
    })
}

#[cfg(test)]
mod tests {
    use super::super::validate::TOP_KEYS;
    use super::*;

    #[test]
    fn covers_every_top_level_key_and_type() {
        let schema = stack_schema();
        let props = schema["properties"].as_object().unwrap();
        let mut keys: Vec<&str> = props.keys().map(String::as_str).collect();
        let mut top: Vec<&str> = TOP_KEYS.to_vec();
        keys.sort_unstable();
        top.sort_unstable();
        assert_eq!(keys, top);
        for t in types::SCHEMAS {
            let def = &schema["$defs"][t.name];
            assert!(!t.doc.is_empty(), "{} has no doc", t.name);
            for a in t.attrs {
                let d = def["properties"][a.name]["description"].as_str().unwrap();
                assert!(!d.is_empty(), "{}.{}", t.name, a.name);
                assert!(!a.doc.is_empty(), "{}.{} has no doc", t.name, a.name);
            }
        }
    }

    #[test]
    fn says_required_defaults_and_enums() {
        let schema = stack_schema();
        let vpc = &schema["$defs"]["vpc"];
        assert_eq!(vpc["required"], json!(["cidr_block"]));
        assert_eq!(vpc["properties"]["enable_dns_support"]["default"], json!(true));
        let lb = &schema["$defs"]["load_balancer"]["properties"]["scheme"];
        assert_eq!(lb["else"]["enum"], json!(["internet-facing", "internal"]));
        let hc = &schema["$defs"]["target_group"]["properties"]["health_check"]["else"];
        assert_eq!(hc["properties"]["interval_seconds"]["default"], json!(30));
        assert_eq!(hc["properties"]["interval_seconds"]["else"]["minimum"], json!(5));
    }
}
