//! Where sensitive values sit. A value is sensitive by where it comes from (a
//! sensitive variable, another stack's sensitive output, a sensitive
//! attribute such as a launch template's `user_data`), and so is every place
//! it lands: an attribute that takes it, or that references one that holds
//! it, and an output that does. What a place holds is never shown, whatever
//! the value is now (a rotated secret, a placeholder given to `drift`), and
//! nothing is hidden because it happens to contain a sensitive value's text.
//! The marks are JSON pointers into a resource's attributes (`/tags/api`);
//! state records them, so that what reads state alone redacts the same.
//! Pure.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use super::Resource;
use crate::types::Address;
use crate::types::attrs::pointer_token;
use crate::types::reference;

/// Whether the marks cover an attribute, or a part of it.
pub fn covers(marks: &BTreeSet<String>, attr: &str) -> bool {
    let whole = format!("/{attr}");
    marks.iter().any(|m| *m == whole || m.starts_with(&format!("{whole}/")))
}

/// Whether a reference to `attr` of `target` reads a sensitive value.
fn reads_sensitive(target: &Resource, attr: &str) -> bool {
    target.schema.attr(attr).is_some_and(|a| a.sensitive) || covers(&target.sensitive, attr)
}

/// Every string in a value with its pointer below `at`.
fn strings<'a>(value: &'a Value, at: String, out: &mut Vec<(String, &'a str)>) {
    match value {
        Value::String(s) => out.push((at, s)),
        Value::Array(a) => {
            for (i, v) in a.iter().enumerate() {
                strings(v, format!("{at}/{i}"), out);
            }
        }
        Value::Object(o) => {
            for (k, v) in o {
                strings(v, format!("{at}/{}", pointer_token(k)), out);
            }
        }
        _ => {}
    }
}

/// Marks what references a sensitive value as sensitive too, resource by
/// resource and output by output, until nothing more is marked.
pub fn propagate(
    resources: &mut BTreeMap<Address, Resource>,
    outputs: &BTreeMap<String, Value>,
    sensitive_outputs: &mut BTreeSet<String>,
) {
    loop {
        let mut found: Vec<(Address, String)> = Vec::new();
        for (address, r) in resources.iter() {
            let mut places = Vec::new();
            for (k, v) in &r.attrs {
                strings(v, format!("/{k}"), &mut places);
            }
            for (at, s) in places {
                if r.sensitive.contains(&at) {
                    continue;
                }
                let hits = reference::references(&Value::String(s.to_string())).iter().any(|x| {
                    resources.get(&x.address).is_some_and(|t| reads_sensitive(t, &x.attr))
                });
                if hits {
                    found.push((address.clone(), at));
                }
            }
        }
        if found.is_empty() {
            break;
        }
        for (a, at) in found {
            if let Some(r) = resources.get_mut(&a) {
                r.sensitive.insert(at);
            }
        }
    }
    for (name, v) in outputs {
        let hits = reference::references(v)
            .iter()
            .any(|x| resources.get(&x.address).is_some_and(|t| reads_sensitive(t, &x.attr)));
        if hits {
            sensitive_outputs.insert(name.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_place_is_sensitive_by_what_it_holds_and_what_it_references() {
        let text = "stack: s\nregion: ap-northeast-1\nvariables:\n  token: { sensitive: true }\n  port: { type: number, sensitive: true }\n  flag: { type: bool, sensitive: true }\n  short: { sensitive: true }\ntags: { team: platform, key: \"${var.token}\" }\nresources:\n  target_group.a:\n    vpc_id: vpc-1\n    protocol: HTTP\n    port: ${var.port}\n    tags: { owner: \"x-${var.short}-y\", plain: a }\n  launch_template.nodes:\n    user_data: \"boot ${var.token}\"\n  s3_bucket.b:\n    name: b\n    tags: { copy: \"${target_group.a.port}\", boot: \"${launch_template.nodes.user_data}\", fine: \"${target_group.a.arn}\", key: own }\n    versioning: ${var.flag}\noutputs:\n  port: ${target_group.a.port}\n  arn: ${target_group.a.arn}\n  token: ${var.token}\n";
        let mut inputs = crate::stack::Inputs::default();
        for (k, v) in [("token", "tok-secret"), ("port", "8080"), ("flag", "true"), ("short", "a")]
        {
            inputs.values.insert(
                k.into(),
                (crate::stack::vars::Given::Text(v.into()), format!("--var {k}")),
            );
        }
        let (s, _) = crate::stack::parse_with("s.yaml", text, &inputs).unwrap();
        let marks = |a: &str| -> Vec<String> {
            s.resources[&Address::parse(a).unwrap()].sensitive.iter().cloned().collect()
        };
        assert_eq!(marks("target_group.a"), ["/port", "/tags/key", "/tags/owner"]);
        assert_eq!(marks("launch_template.nodes"), ["/tags/key", "/user_data"]);
        // Its own `key` tag is its own; what it copies from a sensitive place
        // is sensitive; an ARN is not.
        assert_eq!(marks("s3_bucket.b"), ["/tags/boot", "/tags/copy", "/versioning"]);
        assert_eq!(s.sensitive_outputs.iter().cloned().collect::<Vec<_>>(), ["port", "token"]);
    }
}
