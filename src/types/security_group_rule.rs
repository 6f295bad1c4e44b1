//! `security_group_rule`: one rule added to a security group the stack does
//! not own (the group EKS makes for a cluster, another stack's group). It is
//! deleted with the stack and never touches the group's other rules. Its id
//! is AWS's rule id (`sgr-…`); a rule cannot change in place, save its
//! description and tags.

use serde_json::{Map, Value};

use super::Attrs;
use super::reference;
use super::schema::{Attr, Finding, Kind, Removal, TypeSchema};
use super::security_group::{exposure_findings, newly_open, rule_check};

pub static SCHEMA: TypeSchema = TypeSchema {
    name: "security_group_rule",
    doc: "One rule added to a security group the stack does not own (the group EKS makes for a cluster, another stack's group); deleted with the stack, never touching the group's other rules.",
    attrs: &[
        Attr::new("security_group_id", Kind::String)
            .doc("The group the rule is added to.")
            .required()
            .force_new(),
        Attr::new("direction", Kind::Enum(&["ingress", "egress"]))
            .doc("ingress (traffic in) or egress (traffic out).")
            .required()
            .force_new(),
        Attr::new("protocol", Kind::Enum(&["tcp", "udp", "icmp", "all"]))
            .doc("tcp, udp, icmp or all.")
            .required()
            .force_new(),
        Attr::new("ports", Kind::Ports)
            .on_removal(Removal::Delete)
            .doc("A port or a range, such as \"8080\" or \"1024-65535\" (tcp and udp).")
            .force_new(),
        Attr::new("cidr", Kind::Cidr)
            .on_removal(Removal::Delete)
            .doc("The address range it admits (or lets out to); or source_security_group.")
            .force_new(),
        Attr::new("ipv6_cidr", Kind::String)
            .on_removal(Removal::Delete)
            .doc("The IPv6 range it admits (or lets out to), such as ::/0; or another source.")
            .force_new(),
        Attr::new("prefix_list_id", Kind::String)
            .on_removal(Removal::Delete)
            .doc("A managed prefix list it admits (or lets out to), such as ${data.managed_prefix_list.s3.id}; or another source.")
            .force_new(),
        Attr::new("source_security_group", Kind::String)
            .on_removal(Removal::Delete)
            .doc("The group it admits (or lets out to); or cidr.")
            .force_new(),
        Attr::new("description", Kind::String)
            .on_removal(Removal::Delete)
            .doc("Its description (changes in place)."),
    ],
    exports: &["id"],
    check: Some(check),
    lint: Some(lint),
    risks: Some(risks),
    id_format: "its sgr-… rule id",
    ..TypeSchema::BASE
};

/// The rule as an inline rule of a `security_group` writes it.
pub fn as_rule(attrs: &Map<String, Value>) -> Value {
    let keys = [
        "protocol",
        "ports",
        "cidr",
        "ipv6_cidr",
        "prefix_list_id",
        "source_security_group",
        "description",
    ];
    Value::Object(
        keys.iter().filter_map(|k| Some((k.to_string(), attrs.get(*k)?.clone()))).collect(),
    )
}

fn check(attrs: &Map<String, Value>) -> Vec<Finding> {
    rule_check(&as_rule(attrs), "", "the rule")
        .into_iter()
        .map(|mut f| {
            if f.pointer.is_empty() {
                f.pointer = "/cidr".into();
            }
            f
        })
        .collect()
}

fn ingress(attrs: &Map<String, Value>) -> bool {
    attrs.get("direction").and_then(Value::as_str) == Some("ingress")
}

/// Open to the internet on anything but HTTP and HTTPS, as a group's own
/// ingress is judged.
fn lint(attrs: &Map<String, Value>) -> Vec<Finding> {
    if !ingress(attrs) || attrs.get("cidr").is_some_and(|c| !reference::is_known(c)) {
        return Vec::new();
    }
    exposure_findings(&[as_rule(attrs)], "")
        .into_iter()
        .map(|mut f| {
            f.pointer = "/cidr".into();
            f
        })
        .collect()
}

fn risks(before: Option<&Attrs>, after: Option<&Attrs>, _updated: bool) -> Vec<String> {
    let rules = |m: Option<&Attrs>| match m {
        Some(m) if ingress(m) => vec![as_rule(m)],
        _ => Vec::new(),
    };
    newly_open(&rules(before), &rules(after))
}
